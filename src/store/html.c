/*
 * The SQL behind store/store.h: what the HTML reports read beyond the
 * common report queries (store/query.c). Histograms are binned by the
 * caller from one streamed pass over the decoded files, so no SQL math
 * functions (optional in SQLite builds) are needed and memory stays
 * constant; galleries ask only for the first few files of a code.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/col.h"

typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

/* Runs a prepared statement to its end, row by row; finalizes it. */
static int run(ia_db *db, sqlite3_stmt *st, row_fn row, void *ctx)
{
    int rc, ret = IA_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = row(st, ctx)) != IA_OK)
            break;
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the database");
    sqlite3_finalize(st);
    return ret;
}

static int prepare(ia_db *db, const char *sql, int64_t scan_id,
                   sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, st, NULL) !=
        SQLITE_OK) {
        *st = NULL;
        return ia_store_sqlfail(db, "preparing a query");
    }
    sqlite3_bind_int64(*st, 1, ia_store_rows_scan(db, scan_id));
    return IA_OK;
}

/* ---- measures -------------------------------------------------------- */

typedef struct measure_ctx {
    ia_q_measure_cb cb;
    void *user;
} measure_ctx;

static int measure_row(sqlite3_stmt *st, void *ctx)
{
    measure_ctx *c = ctx;
    ia_q_measure m;
    m.split = ia_col_str(st, 0);
    m.format = ia_col_text(st, 1);
    m.has_brightness = sqlite3_column_type(st, 2) != SQLITE_NULL;
    m.brightness = sqlite3_column_double(st, 2);
    m.width = sqlite3_column_int64(st, 3);
    m.height = sqlite3_column_int64(st, 4);
    m.bytes = sqlite3_column_int64(st, 5);
    m.jpeg_quality = sqlite3_column_type(st, 6) == SQLITE_NULL
                         ? -1 : ia_col_int(st, 6);
    if (m.jpeg_quality < 1 || m.jpeg_quality > 100)
        m.jpeg_quality = -1;
    if (!m.format)
        m.format = "unknown";
    return c->cb(c->user, &m);
}

int ia_q_measures(ia_db *db, int64_t scan_id, ia_q_measure_cb cb,
                  void *user)
{
    measure_ctx c = {cb, user};
    sqlite3_stmt *st = NULL;
    int ret = prepare(db, "SELECT coalesce(split, ''), format, brightness,"
                      " coalesce(width, 0), coalesce(height, 0),"
                      " coalesce(size, 0), jpeg_quality FROM file"
                      " WHERE scan_id = ?1 AND status = 'ok' ORDER BY path",
                      scan_id, &st);
    return ret == IA_OK ? run(db, st, measure_row, &c) : ret;
}

/* ---- findings about files -------------------------------------------- */

/* Files are counted by path: a finding about a path that is no stored
 * file (a symlink loop, a junk folder, an archive's bad member name) is
 * about something in the tree the reader can look at, named like a
 * file, and shown with its path; a dataset-level finding has no path
 * (docs/schema.md, table finding; docs/reports.md, "Counting"). */

typedef struct code_ctx {
    ia_q_code_files_cb cb;
    void *user;
} code_ctx;

static int code_row(sqlite3_stmt *st, void *ctx)
{
    code_ctx *c = ctx;
    ia_q_code_files q;
    q.code = ia_col_str(st, 0);
    q.severity = ia_col_severity(st, 1);
    q.findings = ia_col_count(st, 2);
    q.files = ia_col_count(st, 3);
    q.dataset = ia_col_count(st, 4);
    return c->cb(c->user, &q);
}

int ia_q_code_file_counts(ia_db *db, int64_t scan_id, ia_q_code_files_cb cb,
                          void *user)
{
    code_ctx c = {cb, user};
    sqlite3_stmt *st = NULL;
    int ret = prepare(db, "SELECT code, severity, count(*),"
                      " count(DISTINCT path), count(*) - count(path)"
                      " FROM shown_finding WHERE scan_id = ?1"
                      " GROUP BY severity, code ORDER BY severity DESC, code",
                      scan_id, &st);
    return ret == IA_OK ? run(db, st, code_row, &c) : ret;
}

typedef struct sev_ctx {
    uint64_t *counts, *files, *dataset;
} sev_ctx;

static int sev_row(sqlite3_stmt *st, void *ctx)
{
    sev_ctx *c = ctx;
    int s = ia_col_severity(st, 0);
    c->counts[s] += ia_col_count(st, 1);
    c->files[s] += ia_col_count(st, 2);
    c->dataset[s] += ia_col_count(st, 3);
    return IA_OK;
}

int ia_q_severity_files(ia_db *db, int64_t scan_id, uint64_t counts[3],
                        uint64_t files[3], uint64_t dataset[3])
{
    sev_ctx c = {counts, files, dataset};
    sqlite3_stmt *st = NULL;
    memset(counts, 0, 3 * sizeof *counts);
    memset(files, 0, 3 * sizeof *files);
    memset(dataset, 0, 3 * sizeof *dataset);
    int ret = prepare(db, "SELECT severity, count(*), count(DISTINCT path),"
                      " count(*) - count(path) FROM shown_finding"
                      " WHERE scan_id = ?1 GROUP BY severity",
                      scan_id, &st);
    return ret == IA_OK ? run(db, st, sev_row, &c) : ret;
}

typedef struct flagged_ctx {
    ia_q_flagged_cb cb;
    void *user;
} flagged_ctx;

static int flagged_row(sqlite3_stmt *st, void *ctx)
{
    flagged_ctx *c = ctx;
    ia_q_flagged f;
    f.path = ia_col_text(st, 0);
    f.split = ia_col_text(st, 1);
    f.label = ia_col_text(st, 2);
    f.detail = ia_col_text(st, 3);
    if (!f.path)
        return IA_OK;
    return c->cb(c->user, &f);
}

int ia_q_flagged_files(ia_db *db, int64_t scan_id, const char *code,
                       int severity, uint64_t limit, ia_q_flagged_cb cb,
                       void *user)
{
    flagged_ctx c = {cb, user};
    sqlite3_stmt *st = NULL;
    int ret = prepare(db, "SELECT f.path, f.split, f.label, g.detail"
                      " FROM shown_finding g JOIN file f ON f.id = g.file_id"
                      " WHERE g.scan_id = ?1 AND g.code = ?2"
                      " AND g.severity = ?3 ORDER BY f.path, g.id LIMIT ?4",
                      scan_id, &st);
    if (ret != IA_OK)
        return ret;
    sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, severity);
    sqlite3_bind_int64(st, 4, limit && limit < INT64_MAX ? (int64_t)limit
                                                        : -1);
    return run(db, st, flagged_row, &c);
}

/* ---- what thumbnails check a file against ----------------------------- */

struct ia_q_idents {
    ia_db *db;
    sqlite3_stmt *st;
};

int ia_q_idents_open(ia_db *db, int64_t scan_id, ia_q_idents **out)
{
    ia_q_idents *q = calloc(1, sizeof *q);
    if (!q)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    q->db = db;
    int ret = prepare(db, "SELECT size, sha256 FROM file"
                      " WHERE scan_id = ?1 AND path = ?2", scan_id, &q->st);
    if (ret != IA_OK) {
        free(q);
        return ret;
    }
    *out = q;
    return IA_OK;
}

int ia_q_ident_get(ia_q_idents *q, const char *path, ia_q_ident *out)
{
    memset(out, 0, sizeof *out);
    out->size = -1;
    sqlite3_bind_text(q->st, 2, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q->st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(q->st, 0) == SQLITE_INTEGER)
            out->size = sqlite3_column_int64(q->st, 0);
        const void *sha = sqlite3_column_blob(q->st, 1);
        if (sha && sqlite3_column_bytes(q->st, 1) == 32) {
            memcpy(out->sha256, sha, 32);
            out->have_sha256 = 1;
        }
    }
    sqlite3_reset(q->st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ia_store_sqlfail(q->db, "reading the database");
    return IA_OK;
}

void ia_q_idents_free(ia_q_idents *q)
{
    if (!q)
        return;
    sqlite3_finalize(q->st);
    free(q);
}
