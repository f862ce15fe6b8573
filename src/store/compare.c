/*
 * The SQL behind `imgaudit compare` (store/store.h). Compare loads each
 * scan's file rows once, in path order, and does the matching and the
 * statistics in memory (sorting and merging, O(n log n)); the only other
 * reads are per-code finding counts and, for a regressed code, its paths.
 *
 * Both databases are opened by ia_db_open(IA_DB_READONLY), which opens
 * them with SQLITE_OPEN_READONLY and never migrates: no statement here
 * writes, so a baseline stays byte-identical. Two files are read through
 * two handles rather than ATTACH, so each is identified and
 * version-checked on its own, and neither connection could write even by
 * mistake.
 */
#include <math.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/col.h"

static const uint8_t *col_blob(sqlite3_stmt *st, int i, int len)
{
    if (sqlite3_column_type(st, i) != SQLITE_BLOB)
        return NULL;
    const void *p = sqlite3_column_blob(st, i);
    return p && sqlite3_column_bytes(st, i) == len ? p : NULL;
}

/* Prepares sql, binds the scan id as ?1 and text as ?2 (when non-NULL),
 * hands each row to row() and finalizes. */
typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

static int run(ia_db *db, const char *sql, int64_t scan_id, const char *text,
               row_fn row, void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc, ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, &st, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(db, "preparing a comparison query");
    if (sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id)) !=
            SQLITE_OK ||
        (text && sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC) !=
                     SQLITE_OK)) {
        ret = ia_store_sqlfail(db, "binding a comparison query");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = row(st, ctx)) != IA_OK)
            goto out;
    if (rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the database");
out:
    sqlite3_finalize(st);
    return ret;
}

/* ---- files ----------------------------------------------------------- */

typedef struct file_ctx {
    ia_db *db;
    ia_qc_file_cb cb;
    void *user;
} file_ctx;

static int file_row(sqlite3_stmt *st, void *ctx)
{
    file_ctx *c = ctx;
    ia_qc_file f;
    f.path = ia_col_text(st, 0);
    f.split = ia_col_text(st, 1);
    f.split_canonical = ia_col_text(st, 2);
    f.label = ia_col_text(st, 3);
    f.format = ia_col_text(st, 4);
    f.status = ia_col_text(st, 5);
    f.color_space = ia_col_text(st, 6);
    f.size = ia_col_opt(st, 7);
    f.width = ia_col_opt(st, 8);
    f.height = ia_col_opt(st, 9);
    f.jpeg_quality = ia_col_opt(st, 10);
    f.brightness = ia_col_real(st, 11);
    f.contrast = ia_col_real(st, 12);
    f.sharpness = ia_col_real(st, 13);
    f.entropy = ia_col_real(st, 14);
    f.pixels = ia_col_opt(st, 15);
    for (int ch = 0; ch < 3; ch++) {
        f.sum[ch] = ia_col_opt(st, 16 + ch);
        f.sumsq[ch] = ia_col_opt(st, 19 + ch);
        if (f.sum[ch] < 0 || f.sumsq[ch] < 0)
            f.pixels = -1;
    }
    f.sha256 = col_blob(st, 22, 32);
    f.pixel_hash = col_blob(st, 23, 16);
    if (!f.path || !f.format || !f.status)   /* NOT NULL columns */
        return ia_store_fail(c->db, IA_ERR_DB, "a file row without path, "
                             "format or status");
    return c->cb(c->user, &f);
}

int ia_qc_files(ia_db *db, int64_t scan_id, ia_qc_file_cb cb, void *user)
{
    file_ctx c = {db, cb, user};
    return run(db,
               "SELECT path, split, split_canonical, label, format, status,"
               " color_space, size, width, height, jpeg_quality,"
               " brightness, contrast, sharpness, entropy, pixels,"
               " sum_r, sum_g, sum_b, sumsq_r, sumsq_g, sumsq_b,"
               " sha256, pixel_hash"
               " FROM file WHERE scan_id = ?1 ORDER BY path",
               scan_id, NULL, file_row, &c);
}

/* ---- findings -------------------------------------------------------- */

typedef struct code_ctx {
    ia_qc_code_cb cb;
    void *user;
} code_ctx;

static int code_row(sqlite3_stmt *st, void *ctx)
{
    code_ctx *c = ctx;
    ia_qc_code q;
    q.code = ia_col_text(st, 0);
    q.files = ia_col_count(st, 1);
    q.other = ia_col_count(st, 2);
    q.max_severity = ia_col_severity(st, 3);
    return q.code ? c->cb(c->user, &q) : IA_OK;
}

int ia_qc_codes(ia_db *db, int64_t scan_id, ia_qc_code_cb cb, void *user)
{
    code_ctx c = {cb, user};
    return run(db,
               "SELECT code, count(DISTINCT file_id),"
               " count(*) - count(file_id), max(severity)"
               " FROM shown_finding WHERE scan_id = ?1"
               " GROUP BY code ORDER BY code",
               scan_id, NULL, code_row, &c);
}

typedef struct path_ctx {
    ia_qc_path_cb cb;
    void *user;
} path_ctx;

static int path_row(sqlite3_stmt *st, void *ctx)
{
    path_ctx *c = ctx;
    const char *p = ia_col_text(st, 0);
    return p ? c->cb(c->user, p) : IA_OK;
}

typedef struct detail_ctx {
    ia_qc_detail_cb cb;
    void *user;
} detail_ctx;

static int detail_row(sqlite3_stmt *st, void *ctx)
{
    detail_ctx *c = ctx;
    const char *p = ia_col_text(st, 0), *d = ia_col_text(st, 1);
    return p && d ? c->cb(c->user, p, d) : IA_OK;
}

int ia_qc_status_details(ia_db *db, int64_t scan_id, ia_qc_detail_cb cb,
                         void *user)
{
    detail_ctx c = {cb, user};
    /* The file's own index gives path order; its findings by file_id. */
    return run(db,
               "SELECT f.path, (SELECT g.detail FROM finding g"
               " WHERE g.file_id = f.id AND g.code = f.status"
               " AND g.detail IS NOT NULL ORDER BY g.id LIMIT 1)"
               " FROM file f WHERE f.scan_id = ?1 AND f.status <> 'ok'"
               " ORDER BY f.path",
               scan_id, NULL, detail_row, &c);
}

int ia_qc_code_paths(ia_db *db, int64_t scan_id, const char *code,
                     ia_qc_path_cb cb, void *user)
{
    path_ctx c = {cb, user};
    return run(db,
               "SELECT DISTINCT path FROM shown_finding"
               " WHERE scan_id = ?1 AND code = ?2 AND file_id IS NOT NULL"
               " ORDER BY path",
               scan_id, code, path_row, &c);
}
