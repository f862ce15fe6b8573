/*
 * The read side of the store (store/store.h): every query a report or an
 * export needs, streamed row by row to a callback, so that report and
 * export code never see SQLite and memory never grows with the number of
 * files. Queries run once per report, so they are prepared per call.
 *
 * Pixel sums per split are accumulated in 128-bit integers, exactly;
 * report code turns them into means and stds (ia_sums_mean_std).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/col.h"
#include "core/core.h"

/* ---- helpers --------------------------------------------------------- */

static int prepare(ia_db *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, st, NULL) !=
        SQLITE_OK) {
        *st = NULL;
        return ia_store_sqlfail(db, "preparing a query");
    }
    return IA_OK;
}

/* Steps st to its end, handing each row to row(); stops at the first
 * non-zero return. */
typedef int (*row_fn)(ia_db *db, sqlite3_stmt *st, void *ctx);

static int run(ia_db *db, sqlite3_stmt *st, row_fn row, void *ctx)
{
    int rc, ret = IA_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((ret = row(db, st, ctx)) != IA_OK)
            return ret;
    if (rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the database");
    return ret;
}

/* Prepares sql, binds id as ?1, runs it and finalizes. */
static int query_raw(ia_db *db, const char *sql, int64_t id, row_fn row,
                     void *ctx)
{
    sqlite3_stmt *st = NULL;
    int ret = prepare(db, sql, &st);
    if (ret != IA_OK)
        return ret;
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, id);
    ret = run(db, st, row, ctx);
    sqlite3_finalize(st);
    return ret;
}

/* The same over the rows a scan reads (ia_store_rows_scan). */
static int query(ia_db *db, const char *sql, int64_t scan_id, row_fn row,
                 void *ctx)
{
    return query_raw(db, sql, ia_store_rows_scan(db, scan_id), row, ctx);
}

/* ---- scans ----------------------------------------------------------- */

/* The totals of an incomplete scan are counted from its rows: a scan
 * killed (SIGKILL, power loss) never stored them, and one still running
 * shows what it has committed so far. A complete scan's are stored
 * (ia_store_scan_finish; an unchanged rescan's are its reused scan's). */
#define LIVE_TOTAL(col, expr, where) \
    " CASE WHEN complete THEN " col " ELSE (SELECT " expr " FROM file f" \
    " WHERE f.scan_id = scan.id" where ") END"
#define SCAN_SELECT \
    "SELECT id, name, root, layout, options, tool_version, started_at," \
    " finished_at, complete," \
    LIVE_TOTAL("files", "count(*)", "") "," \
    LIVE_TOTAL("decoded", "count(*)", " AND f.status = 'ok'") "," \
    LIVE_TOTAL("bytes", "coalesce(sum(f.size), 0)", "") "," \
    LIVE_TOTAL("pixels", "coalesce(sum(f.width * f.height), 0)", \
               " AND f.status = 'ok'")
#define SCAN_COLUMNS SCAN_SELECT " FROM scan"

typedef struct scan_ctx {
    ia_q_scan_cb cb;
    void *user;
    int rows;
} scan_ctx;

static int scan_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    scan_ctx *c = ctx;
    ia_q_scan s;
    (void)db;
    s.id = sqlite3_column_int64(st, 0);
    s.name = ia_col_str(st, 1);
    s.root = ia_col_str(st, 2);
    s.layout = ia_col_str(st, 3);
    s.options = ia_col_str(st, 4);
    s.tool_version = ia_col_str(st, 5);
    s.started_at = ia_col_str(st, 6);
    s.finished_at = ia_col_text(st, 7);
    s.complete = sqlite3_column_int64(st, 8) != 0;
    s.files = ia_col_nonneg(st, 9);
    s.decoded = ia_col_nonneg(st, 10);
    s.bytes = ia_col_nonneg(st, 11);
    s.pixels = ia_col_nonneg(st, 12);
    s.same_as = s.sharers = s.own_rows = 0;
    if (sqlite3_column_count(st) > 13) {
        s.same_as = ia_col_nonneg(st, 13);
        s.sharers = ia_col_nonneg(st, 14);
        s.own_rows = ia_col_nonneg(st, 15);
    }
    c->rows++;
    return c->cb(c->user, &s);
}

int ia_q_scan_get(ia_db *db, int64_t scan_id, ia_q_scan_cb cb, void *user)
{
    scan_ctx c = {cb, user, 0};
    int ret = query_raw(db, SCAN_COLUMNS " WHERE id = ?1", scan_id,
                        scan_row, &c);
    if (ret == IA_OK && c.rows == 0)
        ret = ia_store_fail(db, IA_ERR_NOT_FOUND, "no scan with id %lld",
                            (long long)scan_id);
    return ret;
}

/* The list also says who shares rows and how many rows each scan owns
 * (two counts over the scan_id indexes: the listing only). */
#define SCAN_LIST_COLUMNS \
    SCAN_SELECT ", coalesce(same_as, 0)," \
    " (SELECT count(*) FROM scan s2 WHERE s2.same_as = scan.id)," \
    " (SELECT count(*) FROM file f WHERE f.scan_id = scan.id) +" \
    " (SELECT count(*) FROM finding g WHERE g.scan_id = scan.id)"

int ia_q_scan_list(ia_db *db, ia_q_scan_cb cb, void *user)
{
    scan_ctx c = {cb, user, 0};
    return query_raw(db, SCAN_LIST_COLUMNS " FROM scan ORDER BY id", 0,
                     scan_row, &c);
}

static int usage_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    int64_t *v = ctx;
    (void)db;
    v[0] = ia_col_nonneg(st, 0);
    v[1] = ia_col_nonneg(st, 1);
    return IA_OK;
}

int ia_q_db_usage(ia_db *db, int64_t *bytes, int64_t *rows)
{
    int64_t v[2] = {0, 0};
    int ret = query_raw(db, "SELECT ((SELECT page_count FROM pragma_page_count)"
                        " - (SELECT freelist_count FROM pragma_freelist_count))"
                        " * (SELECT page_size FROM pragma_page_size),"
                        " (SELECT count(*) FROM file) +"
                        " (SELECT count(*) FROM finding)",
                        0, usage_row, v);
    *bytes = v[0];
    *rows = v[1];
    return ret;
}

/* ---- counts ---------------------------------------------------------- */

static int status_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    uint64_t *counts = ctx;
    int s = ia_status_parse(ia_col_text(st, 0));
    (void)db;
    if (s >= 0)
        counts[s] += ia_col_count(st, 1);
    return IA_OK;
}

int ia_q_status_counts(ia_db *db, int64_t scan_id,
                       uint64_t counts[IA_ST_COUNT])
{
    uint64_t c[IA_ST_COUNT] = {0};
    int ret = query(db, "SELECT status, count(*) FROM file"
                    " WHERE scan_id = ?1 GROUP BY status",
                    scan_id, status_row, c);
    if (ret == IA_OK)
        memcpy(counts, c, sizeof c);
    return ret;
}

static int severity_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    uint64_t *counts = ctx;
    (void)db;
    counts[ia_col_severity(st, 0)] += ia_col_count(st, 1);
    return IA_OK;
}

int ia_q_severity_counts(ia_db *db, int64_t scan_id, uint64_t counts[3])
{
    uint64_t c[3] = {0, 0, 0};
    int ret = query(db, "SELECT severity, count(*) FROM shown_finding"
                    " WHERE scan_id = ?1 GROUP BY severity",
                    scan_id, severity_row, c);
    if (ret == IA_OK)
        memcpy(counts, c, sizeof c);
    return ret;
}

int ia_scan_resolve(ia_db *db, const char *scan_ref, int64_t *scan_id)
{
    int64_t id = 0;
    if (!db || !scan_id)
        return IA_ERR_ARG;
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    if (ret == IA_OK)
        *scan_id = id;
    return ret;
}

/* ---- splits and labels ----------------------------------------------- */

/* Rows arrive ordered by split; a split is handed on when the next one
 * starts. The current split's name lives in a buffer reused across
 * splits, grown geometrically. */
typedef struct split_ctx {
    ia_q_split_cb cb;
    void *user;
    int open;
    char *name;
    size_t cap;
    char canonical[16];
    int have_canonical;
    ia_q_split cur;
} split_ctx;

static int split_flush(split_ctx *c)
{
    if (!c->open)
        return IA_OK;
    c->open = 0;
    c->cur.split = c->name;
    c->cur.canonical = c->have_canonical ? c->canonical : NULL;
    return c->cb(c->user, &c->cur);
}

static int split_start(ia_db *db, split_ctx *c, const char *name)
{
    size_t len = strlen(name);
    if (len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 64;
        while (cap < len + 1)
            cap *= 2;
        char *p = realloc(c->name, cap);
        if (!p)
            return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
        c->name = p;
        c->cap = cap;
    }
    memcpy(c->name, name, len + 1);
    memset(&c->cur, 0, sizeof c->cur);
    c->have_canonical = 0;
    c->open = 1;
    return IA_OK;
}

static void split_add_sums(split_ctx *c, sqlite3_stmt *st)
{
    if (sqlite3_column_type(st, 4) == SQLITE_NULL)
        return;
    ia_sums *s = &c->cur.sums;
    s->images++;
    s->n += ia_col_count(st, 4);
    for (int ch = 0; ch < 3; ch++) {
        s->sum[ch] += ia_col_count(st, 5 + ch);
        s->sumsq[ch] += ia_col_count(st, 8 + ch);
    }
}

static int split_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    split_ctx *c = ctx;
    const char *name = ia_col_str(st, 0);
    int ret = IA_OK;
    if (!c->open || strcmp(name, c->name) != 0) {
        if ((ret = split_flush(c)) != IA_OK ||
            (ret = split_start(db, c, name)) != IA_OK)
            return ret;
    }
    const char *canonical = ia_col_text(st, 1);
    if (canonical && !c->have_canonical) {
        ia_strlcpy(c->canonical, canonical, sizeof c->canonical);
        c->have_canonical = 1;
    }
    c->cur.files++;
    c->cur.labelled += sqlite3_column_int64(st, 3) != 0;
    if (sqlite3_column_int64(st, 2)) {
        c->cur.images++;
        split_add_sums(c, st);
    }
    return IA_OK;
}

int ia_q_splits(ia_db *db, int64_t scan_id, ia_q_split_cb cb, void *user)
{
    split_ctx c;
    memset(&c, 0, sizeof c);
    c.cb = cb;
    c.user = user;
    /* NULL and '' both mean "no split" and sort next to each other;
     * ORDER BY split can walk the (scan_id, split, label) index. */
    int ret = query(db, "SELECT coalesce(split, ''), split_canonical,"
                    " status = 'ok', label IS NOT NULL,"
                    " pixels, sum_r, sum_g, sum_b,"
                    " sumsq_r, sumsq_g, sumsq_b"
                    " FROM file WHERE scan_id = ?1 ORDER BY split",
                    scan_id, split_row, &c);
    if (ret == IA_OK)
        ret = split_flush(&c);
    free(c.name);
    return ret;
}

typedef struct label_ctx {
    ia_q_label_cb cb;
    void *user;
} label_ctx;

static int label_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    label_ctx *c = ctx;
    ia_q_label l;
    (void)db;
    l.split = ia_col_str(st, 0);
    l.label = ia_col_str(st, 1);
    l.files = ia_col_count(st, 2);
    l.images = ia_col_count(st, 3);
    return c->cb(c->user, &l);
}

int ia_q_labels(ia_db *db, int64_t scan_id, int by_label, ia_q_label_cb cb,
                void *user)
{
    label_ctx c = {cb, user};
    return query(db, by_label ?
                 "SELECT coalesce(split, '') AS s, label, count(*),"
                 " sum(status = 'ok') FROM file"
                 " WHERE scan_id = ?1 AND label IS NOT NULL"
                 " GROUP BY s, label ORDER BY label, s" :
                 "SELECT coalesce(split, '') AS s, label, count(*),"
                 " sum(status = 'ok') FROM file"
                 " WHERE scan_id = ?1 AND label IS NOT NULL"
                 " GROUP BY s, label ORDER BY s, label",
                 scan_id, label_row, &c);
}

/* ---- findings -------------------------------------------------------- */

typedef struct finding_ctx {
    ia_q_finding_cb cb;
    void *user;
} finding_ctx;

static int finding_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    finding_ctx *c = ctx;
    ia_q_finding f;
    (void)db;
    f.code = ia_col_str(st, 0);
    f.severity = ia_col_severity(st, 1);
    f.path = ia_col_text(st, 2);
    f.detail = ia_col_text(st, 3);
    f.loader = ia_col_text(st, 4);
    f.group_id = sqlite3_column_int64(st, 5);
    return c->cb(c->user, &f);
}

int ia_q_findings(ia_db *db, int64_t scan_id, const char *code,
                  int severity, uint64_t limit, ia_q_finding_cb cb,
                  void *user)
{
    finding_ctx c = {cb, user};
    sqlite3_stmt *st = NULL;
    int ret = prepare(db, "SELECT code, severity, path, detail, loader,"
                      " group_id FROM shown_finding"
                      " WHERE scan_id = ?1 AND (?2 IS NULL OR code = ?2)"
                      " AND (?3 < 0 OR severity = ?3)"
                      " ORDER BY severity DESC, code, path, id LIMIT ?4",
                      &st);
    if (ret != IA_OK)
        return ret;
    sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id));
    if (code)
        sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, severity);
    sqlite3_bind_int64(st, 4, limit && limit < INT64_MAX ? (int64_t)limit
                                                        : -1);
    ret = run(db, st, finding_row, &c);
    sqlite3_finalize(st);
    return ret;
}

/* ---- duplicate groups and leaks -------------------------------------- */

typedef struct member_ctx {
    ia_q_member_cb cb;
    void *user;
} member_ctx;

static int member_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    member_ctx *c = ctx;
    ia_q_member m;
    (void)db;
    m.group_id = sqlite3_column_int64(st, 0);
    m.kind = ia_col_kind(st, 1);
    m.position = ia_col_int(st, 2);
    m.distance = ia_col_int(st, 3);
    m.path = ia_col_str(st, 4);
    m.split = ia_col_text(st, 5);
    m.label = ia_col_text(st, 6);
    return c->cb(c->user, &m);
}

int ia_q_group_members(ia_db *db, int64_t scan_id, ia_q_member_cb cb,
                       void *user)
{
    member_ctx c = {cb, user};
    return query(db,
                 "SELECT g.id, g.kind, m.position, m.distance, f.path,"
                 " f.split, f.label FROM dup_group g"
                 " JOIN dup_member m ON m.group_id = g.id"
                 " JOIN file f ON f.id = m.file_id WHERE g.scan_id = ?1"
                 " ORDER BY CASE g.kind WHEN 'exact' THEN 0"
                 " WHEN 'pixel' THEN 1 ELSE 2 END, g.id, m.position",
                 scan_id, member_row, &c);
}

typedef struct leak_ctx {
    ia_q_leak_cb cb;
    void *user;
} leak_ctx;

static int leak_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    leak_ctx *c = ctx;
    ia_q_leak l;
    (void)db;
    l.kind = ia_col_kind(st, 0);
    l.a = ia_col_str(st, 1);
    l.b = ia_col_str(st, 2);
    l.a_split = ia_col_text(st, 3);
    l.b_split = ia_col_text(st, 4);
    l.distance = ia_col_int(st, 5);
    return c->cb(c->user, &l);
}

int ia_q_leaks(ia_db *db, int64_t scan_id, ia_q_leak_cb cb, void *user)
{
    leak_ctx c = {cb, user};
    return query(db,
                 "SELECT l.kind, a.path, b.path, a.split, b.split, l.distance"
                 " FROM leak l JOIN file a ON a.id = l.a_file_id"
                 " JOIN file b ON b.id = l.b_file_id WHERE l.scan_id = ?1"
                 " ORDER BY CASE l.kind WHEN 'exact' THEN 0"
                 " WHEN 'pixel' THEN 1 ELSE 2 END, b.path, a.path",
                 scan_id, leak_row, &c);
}

typedef struct partner_ctx {
    ia_q_partner_cb cb;
    void *user;
} partner_ctx;

static int partner_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    partner_ctx *c = ctx;
    ia_q_partner p;
    (void)db;
    p.path = ia_col_str(st, 0);
    p.split = ia_col_text(st, 1);
    p.label = ia_col_text(st, 2);
    p.position = ia_col_int(st, 3);
    return c->cb(c->user, &p);
}

int ia_q_partners(ia_db *db, int64_t group_id, const char *path,
                  ia_q_partner_cb cb, void *user)
{
    partner_ctx c = {cb, user};
    sqlite3_stmt *st = NULL;
    int ret = prepare(db, "SELECT f.path, f.split, f.label, m.position"
                      " FROM dup_member m JOIN file f ON f.id = m.file_id"
                      " WHERE m.group_id = ?1 AND f.path <> ?2"
                      " ORDER BY m.position", &st);
    if (ret != IA_OK)
        return ret;
    sqlite3_bind_int64(st, 1, group_id);
    sqlite3_bind_text(st, 2, path ? path : "", -1, SQLITE_STATIC);
    ret = run(db, st, partner_row, &c);
    sqlite3_finalize(st);
    return ret;
}

/* ---- file rows ------------------------------------------------------- */

/* SQL for each ia_qf column, in enum order. */
static const char *const qf_sql[IA_QF_COUNT] = {
    [IA_QF_PATH] = "f.path",
    [IA_QF_SPLIT] = "f.split",
    [IA_QF_SPLIT_CANONICAL] = "f.split_canonical",
    [IA_QF_LABEL] = "f.label",
    [IA_QF_OUTSIDE_CLASS] = "f.outside_class",
    [IA_QF_SIZE] = "f.size",
    [IA_QF_MTIME_NS] = "f.mtime_ns",
    [IA_QF_SHA256] = "f.sha256",
    [IA_QF_FORMAT] = "f.format",
    [IA_QF_EXT_FORMAT] = "f.ext_format",
    [IA_QF_STATUS] = "f.status",
    [IA_QF_MESSAGE] = "f.message",
    [IA_QF_WIDTH] = "f.width",
    [IA_QF_HEIGHT] = "f.height",
    [IA_QF_CHANNELS] = "f.channels",
    [IA_QF_BIT_DEPTH] = "f.bit_depth",
    [IA_QF_COLOR_SPACE] = "f.color_space",
    [IA_QF_ROWS_DECODED] = "f.rows_decoded",
    [IA_QF_ROWS_TOTAL] = "f.rows_total",
    [IA_QF_PROGRESSIVE] = "f.progressive",
    [IA_QF_SUBSAMPLING] = "f.subsampling",
    [IA_QF_JPEG_QUALITY] = "f.jpeg_quality",
    [IA_QF_EXIF_ORIENTATION] = "f.exif_orientation",
    [IA_QF_ICC] = "f.icc",
    [IA_QF_INTERLACED] = "f.interlaced",
    [IA_QF_PALETTE] = "f.palette",
    [IA_QF_HAS_ALPHA] = "f.has_alpha",
    [IA_QF_ANIMATED] = "f.animated",
    [IA_QF_FRAMES] = "f.frames",
    [IA_QF_PIXELS] = "f.pixels",
    [IA_QF_SUM_R] = "f.sum_r",
    [IA_QF_SUM_G] = "f.sum_g",
    [IA_QF_SUM_B] = "f.sum_b",
    [IA_QF_SUMSQ_R] = "f.sumsq_r",
    [IA_QF_SUMSQ_G] = "f.sumsq_g",
    [IA_QF_SUMSQ_B] = "f.sumsq_b",
    [IA_QF_MIN_R] = "f.min_r",
    [IA_QF_MIN_G] = "f.min_g",
    [IA_QF_MIN_B] = "f.min_b",
    [IA_QF_MAX_R] = "f.max_r",
    [IA_QF_MAX_G] = "f.max_g",
    [IA_QF_MAX_B] = "f.max_b",
    [IA_QF_BRIGHTNESS] = "f.brightness",
    [IA_QF_CONTRAST] = "f.contrast",
    [IA_QF_ENTROPY] = "f.entropy",
    [IA_QF_SHARPNESS] = "f.sharpness",
    [IA_QF_FRAC_BLACK] = "f.frac_black",
    [IA_QF_FRAC_WHITE] = "f.frac_white",
    [IA_QF_IS_CONSTANT] = "f.is_constant",
    [IA_QF_ALPHA_USED] = "f.alpha_used",
    [IA_QF_PIXEL_HASH] = "f.pixel_hash",
    [IA_QF_PHASH] = "f.phash",
    [IA_QF_DHASH] = "f.dhash",
    [IA_QF_HASH_UNIFORM] = "f.hash_uniform",
    /* Codes in the order they were found. */
    [IA_QF_FINDINGS] = "(SELECT group_concat(code, ';') FROM"
                       " (SELECT code FROM shown_finding g WHERE g.file_id = f.id"
                       "  ORDER BY g.id))",
    [IA_QF_LOADER_FACTS] = "f.loader_facts",
    [IA_QF_GROUPS] = "(SELECT group_concat(group_id, ',') FROM"
                     " (SELECT DISTINCT group_id FROM shown_finding g"
                     "  WHERE g.file_id = f.id AND g.group_id IS NOT NULL"
                     "  AND g.code IN ('split_leak', 'label_conflict')"
                     "  ORDER BY group_id))",
    [IA_QF_PARTNERS] = "(SELECT group_concat(path, char(31)) FROM"
                       " (SELECT DISTINCT o.path FROM shown_finding g"
                       "  JOIN dup_member m ON m.group_id = g.group_id"
                       "  JOIN file o ON o.id = m.file_id"
                       "  WHERE g.file_id = f.id AND o.id <> f.id"
                       "  AND g.code IN ('split_leak', 'label_conflict')"
                       "  ORDER BY o.path))",
    /* The same findings with their detail, one line each (a newline in
     * a detail becomes a space, so lines and findings stay one to one). */
    [IA_QF_FINDING_DETAILS] =
        "(SELECT group_concat(code || ': ' || replace(coalesce(detail, ''),"
        " char(10), ' '), char(10)) FROM"
        " (SELECT code, detail FROM shown_finding g WHERE g.file_id = f.id"
        "  ORDER BY g.id))",
};

/* Before migration 6 these columns do not exist. */
static const char *qf_column(const ia_db *db, int i)
{
    if (ia_store_schema_version(db) < IA_SCHEMA_LOADERS &&
        (i == IA_QF_LOADER_FACTS || i == IA_QF_GROUPS ||
         i == IA_QF_PARTNERS))
        return "NULL";
    return qf_sql[i];
}

typedef struct file_ctx {
    ia_q_file_cb cb;
    void *user;
    ia_q_file row;
} file_ctx;

static void read_value(sqlite3_stmt *st, int i, ia_qval *v)
{
    memset(v, 0, sizeof *v);
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        v->type = IA_QV_INT;
        v->i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT:
        v->type = IA_QV_REAL;
        v->d = sqlite3_column_double(st, i);
        break;
    case SQLITE_TEXT:
        v->type = IA_QV_TEXT;
        v->s = ia_col_str(st, i);
        v->len = (size_t)sqlite3_column_bytes(st, i);
        break;
    case SQLITE_BLOB:
        v->type = IA_QV_BLOB;
        v->blob = sqlite3_column_blob(st, i);
        v->len = (size_t)sqlite3_column_bytes(st, i);
        break;
    default:
        v->type = IA_QV_NULL;
        break;
    }
}

static int file_row(ia_db *db, sqlite3_stmt *st, void *ctx)
{
    file_ctx *c = ctx;
    (void)db;
    for (int i = 0; i < IA_QF_COUNT; i++)
        read_value(st, i, &c->row.v[i]);
    return c->cb(c->user, &c->row);
}

/* Appends s at *at; the caller sized dst for everything appended. */
static void append(char *dst, size_t *at, const char *s)
{
    size_t n = strlen(s);
    memcpy(dst + *at, s, n + 1);
    *at += n;
}

int ia_q_files(ia_db *db, int64_t scan_id, int problems_only,
               ia_q_file_cb cb, void *user)
{
    static const char head[] = "SELECT ";
    static const char tail_all[] =
        " FROM file f WHERE f.scan_id = ?1 ORDER BY f.path";
    static const char tail_problems[] =
        " FROM file f WHERE f.scan_id = ?1 AND (f.status <> 'ok' OR"
        " EXISTS (SELECT 1 FROM shown_finding g WHERE g.file_id = f.id"
        " AND g.severity >= 1)) ORDER BY f.path";
    size_t len = sizeof head + sizeof tail_problems;
    for (int i = 0; i < IA_QF_COUNT; i++)
        len += strlen(qf_sql[i]) + 2;
    file_ctx *c = malloc(sizeof *c);
    char *sql = malloc(len);
    int ret = IA_ERR_NOMEM;
    if (!c || !sql) {
        ia_store_fail(db, ret, "out of memory");
        goto out;
    }
    /* The select list is built from qf_sql so that column i is always
     * enum value i. */
    size_t at = 0;
    append(sql, &at, head);
    for (int i = 0; i < IA_QF_COUNT; i++) {
        if (i)
            append(sql, &at, ", ");
        append(sql, &at, qf_column(db, i));
    }
    append(sql, &at, problems_only ? tail_problems : tail_all);
    assert(at < len);
    c->cb = cb;
    c->user = user;
    ret = query(db, sql, scan_id, file_row, c);
out:
    free(sql);
    free(c);
    return ret;
}
