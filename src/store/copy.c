/*
 * Set copies of reused rows (store/copy.h).
 *
 * Why it is shaped this way:
 *   - Columns are listed by name from the written DB's own schema, so a
 *     column a later migration adds is carried without touching this
 *     file; the same list is used on both sides of each statement (the
 *     reused DB has the same schema version: store/reuse.c checks it).
 *   - One statement per table, not one per row: SQLite walks the reused
 *     rows in id order and appends them, which is what makes a rescan
 *     that departs late from the reused scan cheap.
 *   - A whole-DB copy (ia_copy_job_*) is "INSERT INTO t SELECT * FROM
 *     reused.t" into empty tables with foreign keys off: the form for
 *     which SQLite copies records and index entries without decoding them.
 *     It applies when the written DB is new and the reused one holds just
 *     that scan, the usual "one DB per run" setup; ids are kept. It is
 *     made speculatively, on a thread, while the walk checks that nothing
 *     changed (the walk never touches the written connection meanwhile):
 *     the two take about as long, and a walk that finds a change rolls
 *     back an uncommitted transaction on a new DB, which is cheap.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/col.h"
#include "store/copy.h"
#include "core/core.h"

/* The strings up to NULL, concatenated into a malloc'd text. Only our own
 * table, column and schema names go into SQL this way. */
static char *cat(const char *first, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *))
        n += strlen(s);
    va_end(ap);
    char *out = malloc(n + 1), *p = out;
    if (!out)
        return NULL;
    va_start(ap, first);
    for (const char *s = first; s; s = va_arg(ap, const char *)) {
        size_t k = strlen(s);
        memcpy(p, s, k);
        p += k;
    }
    va_end(ap);
    *p = '\0';
    return out;
}

/* The columns of table but the ids, path and skip (NULL: none), quoted and
 * comma-separated, in the order group_concat gives: each statement uses
 * one list on both of its sides. */
static char *columns(ia_db *db, const char *table, const char *skip)
{
    sqlite3_stmt *st = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT group_concat('\"' || name || '\"', ', ')"
                           " FROM pragma_table_info(?1) WHERE name NOT IN"
                           " ('id', 'scan_id', 'file_id', 'path', ?2)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, skip ? skip : "", -1, SQLITE_STATIC) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        out = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

/* Runs sql (taken, NULL: out of memory) with ?1..?4 bound to v[0..3] as
 * far as it has parameters; *row gets its first column when it returns
 * one (row may be NULL). */
static int run(ia_db *db, char *sql, const int64_t v[4], int64_t *row,
               const char *what)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (!sql)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, &st, NULL) !=
        SQLITE_OK) {
        ret = ia_store_sqlfail(db, what);
    } else {
        int np = sqlite3_bind_parameter_count(st);
        for (int i = 0; i < np && i < 4; i++)
            sqlite3_bind_int64(st, i + 1, v[i]);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && row)
            *row = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE)
            ret = ia_store_sqlfail(db, what);
    }
    sqlite3_finalize(st);
    free(sql);
    return ret;
}

static int exec(ia_db *db, const char *sql, const char *what)
{
    if (sqlite3_exec(ia_store_sqlite(db), sql, NULL, NULL, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, what);
    return IA_OK;
}

/* ---- attaching ---------------------------------------------------------- */

int ia_copy_attach(ia_db *db, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *uri = malloc(3 * n + 16), *p = uri;
    if (!uri)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    /* a URI, for mode=ro: the three characters a URI path gives a
     * meaning to are escaped */
    memcpy(p, "file:", 5);
    p += 5;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch == '%' || ch == '?' || ch == '#') {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        } else {
            *p++ = (char)ch;
        }
    }
    memcpy(p, "?mode=ro", 9);
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(db), "ATTACH DATABASE ?1 AS reused",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "attaching the reused database");
    sqlite3_finalize(st);
    free(uri);
    return ret;
}

void ia_copy_detach(ia_db *db)
{
    sqlite3_exec(ia_store_sqlite(db), "DETACH DATABASE reused", NULL, NULL,
                 NULL);
}

/* ---- the prefix --------------------------------------------------------- */

int ia_copy_prepare_runs(ia_db *db, const char *schema, sqlite3_stmt **files,
                         sqlite3_stmt **finds)
{
    char *fc = columns(db, "file", NULL), *gc = columns(db, "finding", NULL);
    /* a file row's path is its own column, hence "path, " */
    char *fsql = fc ? cat("INSERT INTO main.file(scan_id, path, ", fc,
                          ") SELECT ?1, path, ", fc, " FROM ", schema,
                          ".file WHERE id BETWEEN ?3 AND ?4"
                          " AND +scan_id = ?2 ORDER BY id", NULL)
                    : NULL;
    char *gsql = gc ? cat("INSERT INTO main.finding(scan_id, file_id, path, ",
                          gc, ") SELECT ?1, (SELECT n.id FROM ", schema,
                          ".file o JOIN main.file n ON n.path = o.path"
                          " WHERE o.id = g.file_id AND n.scan_id = ?1),"
                          " g.path, ", gc, " FROM ", schema, ".finding g"
                          " WHERE g.id BETWEEN ?3 AND ?4 AND +g.scan_id = ?2"
                          " AND g.stage = 'walk' ORDER BY g.id", NULL)
                    : NULL;
    int ret = IA_OK;
    if (!fsql || !gsql)
        ret = ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    else if (sqlite3_prepare_v3(ia_store_sqlite(db), fsql, -1,
                                SQLITE_PREPARE_PERSISTENT, files, NULL) !=
                 SQLITE_OK ||
             sqlite3_prepare_v3(ia_store_sqlite(db), gsql, -1,
                                SQLITE_PREPARE_PERSISTENT, finds, NULL) !=
                 SQLITE_OK)
        ret = ia_store_sqlfail(db, "copying the reused rows");
    free(fsql);
    free(gsql);
    free(fc);
    free(gc);
    return ret;
}

/* ---- trial rows ------------------------------------------------------ */

int ia_copy_prepare_compare(ia_db *db, const char *schema, sqlite3_stmt **same,
                            sqlite3_stmt **drop)
{
    char *fc = columns(db, "file", NULL);
    char *gc = columns(db, "finding", "severity");
    char *sql = fc && gc
        ? cat("SELECT NOT EXISTS (SELECT path, ", fc, " FROM main.file"
              " WHERE id = ?1 EXCEPT SELECT path, ", fc, " FROM ", schema,
              ".file WHERE id = ?2) AND NOT EXISTS (SELECT row_number()"
              " OVER (ORDER BY id), path, ", gc, " FROM main.finding"
              " WHERE file_id = ?1 AND stage = 'walk' EXCEPT SELECT"
              " row_number() OVER (ORDER BY id), path, ", gc, " FROM ",
              schema, ".finding WHERE file_id = ?2 AND stage = 'walk')"
              " AND (SELECT count(*) FROM main.finding WHERE file_id = ?1"
              " AND stage = 'walk') = (SELECT count(*) FROM ", schema,
              ".finding WHERE file_id = ?2 AND stage = 'walk')", NULL)
        : NULL;
    int ret = IA_OK;
    if (!sql)
        ret = ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    else if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, same, NULL) !=
                 SQLITE_OK ||
             sqlite3_prepare_v2(ia_store_sqlite(db),
                                "DELETE FROM main.file WHERE id = ?1", -1,
                                drop, NULL) != SQLITE_OK)
        ret = ia_store_sqlfail(db, "comparing with the reused scan");
    free(sql);
    free(fc);
    free(gc);
    return ret;
}

/* ---- a whole DB ------------------------------------------------------ */

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_free(names *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
}

/* The tables of the written DB but scan: those holding a scan's rows. */
static int row_tables(ia_db *db, names *t)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK, rc;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT name FROM main.sqlite_master"
                           " WHERE type = 'table' AND name <> 'scan'"
                           " AND name NOT LIKE 'sqlite%' ORDER BY name", -1,
                           &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "reading the schema");
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char **v = ia_grow(t->v, &t->cap, t->n + 1, sizeof *v, 16);
        char *name = strdup(ia_col_str(st, 0));
        if (!v || !name) {
            free(name);
            ret = ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
            break;
        }
        t->v = v;
        t->v[t->n++] = name;
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the schema");
    sqlite3_finalize(st);
    return ret;
}

/* Whether the written DB holds only scan and no rows, and the reused DB
 * only a complete scan of that id with rows of its own. */
static int copy_all_applies(ia_db *db, int64_t scan, const names *t)
{
    const int64_t v[4] = {scan, 0, 0, 0};
    int64_t ok = 0;
    if (run(db, cat("SELECT (SELECT count(*) FROM main.scan) = 1"
                    " AND (SELECT count(*) FROM reused.scan) = 1"
                    " AND EXISTS (SELECT 1 FROM reused.scan WHERE id = ?1"
                    " AND complete = 1 AND same_as IS NULL)", NULL),
            v, &ok, "comparing the databases") != IA_OK || !ok)
        return 0;
    for (size_t i = 0; i < t->n && ok; i++)
        if (run(db, cat("SELECT NOT EXISTS (SELECT 1 FROM main.\"",
                        t->v[i], "\")", NULL),
                v, &ok, "comparing the databases") != IA_OK)
            return 0;
    return ok != 0;
}

/* On the copy's thread: the handle's message is the caller's meanwhile,
 * so a failure is kept in msg, for ia_copy_job_finish to report. */
static int copy_tables(ia_db *db, const names *t, char *msg, size_t cap)
{
    for (size_t i = 0; i < t->n; i++) {
        char *err = NULL;
        char *sql = cat("INSERT INTO main.\"", t->v[i],
                        "\" SELECT * FROM reused.\"", t->v[i], "\"", NULL);
        int rc = sql ? sqlite3_exec(ia_store_sqlite(db), sql, NULL, NULL, &err)
                     : SQLITE_NOMEM;
        free(sql);
        if (rc != SQLITE_OK) {
            ia_bprintf(msg, cap, "copying the reused rows: %s",
                       err ? err : sqlite3_errstr(rc));
            sqlite3_free(err);
            return rc == SQLITE_NOMEM ? IA_ERR_NOMEM : IA_ERR_DB;
        }
    }
    return IA_OK;
}

/* The totals of the reused scan, and scan completed. */
static int copy_totals(ia_db *db, int64_t scan, const char *finished_at)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "UPDATE main.scan SET files = o.files,"
                           " decoded = o.decoded, bytes = o.bytes,"
                           " pixels = o.pixels, finished_at = ?2,"
                           " complete = 1 FROM reused.scan AS o"
                           " WHERE o.id = ?1 AND scan.id = ?1", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, scan) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, finished_at, -1, SQLITE_STATIC) !=
            SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "storing the scan totals");
    sqlite3_finalize(st);
    return ret;
}

struct ia_copy_job {
    ia_db *db;
    int64_t scan;
    names tables;
    pthread_t thread;
    int started;    /* the thread runs (or ran) */
    int ret;        /* the thread's result */
    char msg[512];  /* and its message */
};

static void *copy_thread(void *arg)
{
    ia_copy_job *j = arg;
    j->ret = copy_tables(j->db, &j->tables, j->msg, sizeof j->msg);
    return NULL;
}

/* Puts the connection back as the writer keeps it (store/db.c). */
static int restore(ia_db *db)
{
    sqlite3_exec(ia_store_sqlite(db), "PRAGMA main.journal_mode = WAL", NULL,
                 NULL, NULL);
    return exec(db, "PRAGMA foreign_keys = ON", "configuring");
}

int ia_copy_job_start(ia_db *db, int64_t scan, ia_copy_job **out)
{
    *out = NULL;
    /* foreign keys can only be switched outside a transaction */
    if (!sqlite3_get_autocommit(ia_store_sqlite(db)))
        return IA_OK;
    ia_copy_job *j = calloc(1, sizeof *j);
    if (!j)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    j->db = db;
    j->scan = scan;
    int ret = row_tables(db, &j->tables);
    if (ret == IA_OK)
        ret = exec(db, "PRAGMA foreign_keys = OFF", "configuring");
    /* A rollback journal for this one transaction: into an empty DB it
     * journals almost nothing, where WAL would write every page twice
     * (the log, then the checkpoint). Only this connection has the file
     * open, else the switch is refused and WAL stays: no harm. */
    if (ret == IA_OK)
        sqlite3_exec(ia_store_sqlite(db),
                     "PRAGMA main.journal_mode = DELETE", NULL, NULL, NULL);
    if (ret == IA_OK)
        ret = exec(db, "BEGIN IMMEDIATE", "starting a transaction");
    if (ret == IA_OK && copy_all_applies(db, scan, &j->tables) &&
        pthread_create(&j->thread, NULL, copy_thread, j) == 0) {
        j->started = 1;
        *out = j;
        return IA_OK;
    }
    if (!sqlite3_get_autocommit(ia_store_sqlite(db)))
        sqlite3_exec(ia_store_sqlite(db), "ROLLBACK", NULL, NULL, NULL);
    int ret2 = restore(db);
    names_free(&j->tables);
    free(j);
    return ret != IA_OK ? ret : ret2;
}

int ia_copy_job_finish(ia_copy_job *j, int keep, const char *finished_at,
                       int *done)
{
    ia_db *db = j->db;
    int ret = IA_OK;
    *done = 0;
    /* given up: stop the copy at once (SQLite allows this call from
     * another thread; the interrupt dies with the copy's statement) */
    if (j->started && !keep)
        sqlite3_interrupt(ia_store_sqlite(db));
    if (j->started)
        pthread_join(j->thread, NULL);
    ret = j->ret;
    if (keep && ret != IA_OK)
        ia_store_fail(db, ret, "%s", j->msg);
    if (keep && ret == IA_OK)
        ret = copy_totals(db, j->scan, finished_at);
    if (keep && ret == IA_OK)
        ret = exec(db, "COMMIT", "committing");
    *done = keep && ret == IA_OK;
    if (!*done && !sqlite3_get_autocommit(ia_store_sqlite(db)))
        sqlite3_exec(ia_store_sqlite(db), "ROLLBACK", NULL, NULL, NULL);
    int ret2 = restore(db);
    names_free(&j->tables);
    free(j);
    /* a copy given up is no failure: the rows are stored the usual way */
    if (!keep)
        return ret2;
    return ret != IA_OK ? ret : ret2;
}
