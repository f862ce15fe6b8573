/*
 * The SQL of the archive members' sample analysis (store/store.h): the
 * file rows read from archives, streamed in id (walk) order. Only their
 * id, path and archive: the analysis (analyze/samples.c) keeps a hash of
 * each sample key, not the rows.
 */
#include <sqlite3.h>

#include "store/store.h"
#include "store/col.h"
#include "core/core.h"

int ia_store_member_rows(ia_db *db, int64_t scan_id, ia_member_row_cb cb,
                         void *user)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT id, path, archive FROM file"
                           " WHERE scan_id = ?1 AND archive IS NOT NULL"
                           " ORDER BY id", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id)) !=
            SQLITE_OK) {
        sqlite3_finalize(st);
        return ia_store_sqlfail(db, "reading archive members");
    }
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ia_member_row r = {sqlite3_column_int64(st, 0), ia_col_str(st, 1),
                           ia_col_str(st, 2)};
        ret = cb(user, &r);
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading archive members");
    sqlite3_finalize(st);
    return ret;
}
