/*
 * For the store's unit tests: reads a value back with sqlite3 directly,
 * on a connection of its own, not through the store's reads. Include
 * after <cmocka.h> and <sqlite3.h>.
 */
#ifndef IA_TEST_SQL_CHECK_H
#define IA_TEST_SQL_CHECK_H

#include <stdint.h>

/* The first column of the first row of sql as an integer (-999 when
 * there is no row); a failing query fails the test. */
static inline int64_t sql_int(const char *db, const char *sql)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -999;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    int rc = sqlite3_step(st);
    assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(c);
    return v;
}

#endif
