/*
 * The SQL side of the dataset statistics (store/store.h): the file rows
 * the analysis reads, the stat tables it writes, and the reads that
 * reports and compare make of them. Kept apart from store/db.c and
 * store/write.c, which own the connection, the schema and the per-file
 * writes.
 *
 * Why it is shaped this way:
 *   - The analysis runs after the walk, inside the scan's last open
 *     transaction, under a savepoint: a failure rolls back everything this
 *     run wrote and leaves the files stored by the walk untouched.
 *   - File rows are read in (split, label, id) order so that each group of
 *     the analysis arrives contiguous and its sums can be streamed; the
 *     ORDER BY uses coalesce(..., '') because NULL and '' both mean "none".
 *   - Channel sums are written as decimal text: over a large group the sum
 *     of squares passes 2^63 (about 1.4e14 pixels), and SQLite integers
 *     are 64-bit.
 *   - Per-image metrics are defined once (ia_metric_of) and used both by
 *     the analysis and by ia_q_metric_values, so the distributions a
 *     compare tests are exactly those the analysis summarised.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/col.h"
#include "core/core.h"

/* NAN is a float; the explicit cast keeps -Wdouble-promotion quiet. */
#define DNAN ((double)NAN)

/* ---- metrics --------------------------------------------------------- */

static const char *const metric_names[IA_M_COUNT] = {
    [IA_M_WIDTH] = "width",
    [IA_M_HEIGHT] = "height",
    [IA_M_ASPECT] = "aspect",
    [IA_M_SIDE] = "side",
    [IA_M_BYTES] = "bytes",
    [IA_M_BRIGHTNESS] = "brightness",
    [IA_M_CONTRAST] = "contrast",
    [IA_M_SHARPNESS] = "sharpness",
    [IA_M_SHARPNESS_REL] = "sharpness_rel",
    [IA_M_ENTROPY] = "entropy",
    [IA_M_JPEG_QUALITY] = "jpeg_quality",
};

const char *ia_metric_name(int m)
{
    return m >= 0 && m < IA_M_COUNT ? metric_names[m] : NULL;
}

int ia_metric_parse(const char *name)
{
    for (int m = 0; name && m < IA_M_COUNT; m++)
        if (strcmp(metric_names[m], name) == 0)
            return m;
    return -1;
}

double ia_metric_of(const ia_stat_row *r, int m)
{
    if (!r->measured || r->width <= 0 || r->height <= 0)
        return DNAN;
    double w = (double)r->width, h = (double)r->height;
    switch (m) {
    case IA_M_WIDTH: return w;
    case IA_M_HEIGHT: return h;
    case IA_M_ASPECT: return w / h;
    case IA_M_SIDE: return sqrt(w * h);
    case IA_M_BYTES: return r->size >= 0 ? (double)r->size : DNAN;
    case IA_M_BRIGHTNESS: return r->brightness;
    case IA_M_CONTRAST: return r->contrast;
    case IA_M_SHARPNESS:
        /* The Laplacian needs a 3x3 neighbourhood: undefined below. */
        return r->width >= 3 && r->height >= 3 ? r->sharpness : DNAN;
    case IA_M_SHARPNESS_REL:
        return r->width >= 3 && r->height >= 3 && r->contrast > 0
                   ? r->sharpness / (r->contrast * r->contrast)
                   : DNAN;
    case IA_M_ENTROPY: return r->entropy;
    case IA_M_JPEG_QUALITY:
        return r->jpeg_quality >= 0 ? (double)r->jpeg_quality : DNAN;
    default: return DNAN;
    }
}

/* ---- reading the file rows ------------------------------------------- */

#define ROW_COLUMNS \
    "SELECT id, coalesce(split, ''), coalesce(label, '')," \
    " status = 'ok' AND pixels IS NOT NULL AND sum_r IS NOT NULL," \
    " coalesce(size, -1), width, height, pixels," \
    " sum_r, sum_g, sum_b, sumsq_r, sumsq_g, sumsq_b," \
    " brightness, contrast, sharpness, entropy, coalesce(jpeg_quality, -1)" \
    " FROM file WHERE scan_id = ?1"

static void read_stat_row(sqlite3_stmt *st, ia_stat_row *r)
{
    memset(r, 0, sizeof *r);
    r->file_id = sqlite3_column_int64(st, 0);
    r->split = (const char *)sqlite3_column_text(st, 1);
    r->label = (const char *)sqlite3_column_text(st, 2);
    r->measured = sqlite3_column_int(st, 3) != 0;
    r->size = sqlite3_column_int64(st, 4);
    r->jpeg_quality = -1;
    if (!r->split)
        r->split = "";
    if (!r->label)
        r->label = "";
    if (!r->measured)
        return;
    r->width = sqlite3_column_int64(st, 5);
    r->height = sqlite3_column_int64(st, 6);
    r->pixels = ia_col_count(st, 7);
    for (int c = 0; c < 3; c++) {
        r->sum[c] = ia_col_count(st, 8 + c);
        r->sumsq[c] = ia_col_count(st, 11 + c);
    }
    r->brightness = sqlite3_column_double(st, 14);
    r->contrast = sqlite3_column_double(st, 15);
    r->sharpness = sqlite3_column_double(st, 16);
    r->entropy = sqlite3_column_double(st, 17);
    r->jpeg_quality = sqlite3_column_int64(st, 18);
}

/* Runs a prepared statement to its end, one callback per row. */
static int run_rows(ia_db *db, sqlite3_stmt *st, ia_stat_row_cb cb,
                    void *user, const char *what)
{
    int rc, ret = IA_OK;
    ia_stat_row r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_stat_row(st, &r);
        if ((ret = cb(user, &r)) != IA_OK)
            return ret;
    }
    if (rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, what);
    return ret;
}

int ia_store_stat_rows(ia_db *db, int64_t scan_id, ia_stat_row_cb cb,
                       void *user)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ia_store_sqlite(db), ROW_COLUMNS
                           " ORDER BY coalesce(split, ''),"
                           " coalesce(label, ''), id", -1, &st, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(db, "reading files for statistics");
    sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id));
    int ret = run_rows(db, st, cb, user, "reading files for statistics");
    sqlite3_finalize(st);
    return ret;
}

/* ---- writing --------------------------------------------------------- */

enum wstmt { W_GROUP, W_METRIC, W_CLASS, W_PATH, W_COUNT };

static const char *const wstmt_sql[W_COUNT] = {
    [W_GROUP] =
        ("INSERT INTO stat_group(scan_id, split, label, files, images, bytes,"
         " pixels, sum_r, sum_g, sum_b, sumsq_r, sumsq_g, sumsq_b, mean_r,"
         " mean_g, mean_b, std_r, std_g, std_b, labels, imbalance,"
         " label_entropy, share) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
         "?,?,?,?,?,?)"),
    [W_METRIC] =
        ("INSERT INTO stat_metric(scan_id, split, label, metric, n, mean, std,"
         " min, q1, median, q3, max, fence_low, fence_high)"
         " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
    [W_CLASS] =
        ("INSERT INTO class_index(scan_id, split, label, idx)"
         " VALUES (?, ?, ?, ?)"),
    [W_PATH] = "SELECT path FROM file WHERE id = ?1 AND scan_id = ?2",
};

struct ia_stat_writer {
    ia_db *db;
    int64_t scan_id;
    int savepoint;      /* the savepoint is open */
    sqlite3_stmt *st[W_COUNT];
};

static int wexec(ia_stat_writer *w, const char *sql, const char *what)
{
    if (sqlite3_exec(ia_store_sqlite(w->db), sql, NULL, NULL, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(w->db, what);
    return IA_OK;
}

/* Deletes the scan's rows of one table, or its findings with one code. */
static int delete_old(ia_stat_writer *w, const char *sql, const char *code)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(w->db), sql, -1, &st, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(w->db, "clearing old statistics");
    sqlite3_bind_int64(st, 1, w->scan_id);
    if (code)
        sqlite3_bind_text(st, 2, code, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(w->db, "clearing old statistics");
    sqlite3_finalize(st);
    return ret;
}

static int clear_old(ia_stat_writer *w, const char *const *codes,
                     size_t ncodes)
{
    static const char *const tables[] = {
        "DELETE FROM stat_group WHERE scan_id = ?1",
        "DELETE FROM stat_metric WHERE scan_id = ?1",
        "DELETE FROM class_index WHERE scan_id = ?1",
    };
    int ret = IA_OK;
    for (size_t i = 0; i < IA_ARRAY_LEN(tables) && ret == IA_OK; i++)
        ret = delete_old(w, tables[i], NULL);
    for (size_t i = 0; i < ncodes && ret == IA_OK; i++)
        ret = delete_old(w, "DELETE FROM finding WHERE scan_id = ?1"
                         " AND code = ?2", codes[i]);
    return ret;
}

static void writer_free(ia_stat_writer *w)
{
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    free(w);
}

int ia_store_stats_begin(ia_db *db, int64_t scan_id,
                         const char *const *codes, size_t ncodes,
                         ia_stat_writer **out)
{
    sqlite3 *conn = ia_store_sqlite(db);
    if (ia_store_schema_version(db) < IA_SCHEMA_STATS)
        return ia_store_fail(db, IA_ERR_DB, "the database has no "
                             "statistics tables (schema %d)",
                             ia_store_schema_version(db));
    ia_stat_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    w->db = db;
    w->scan_id = scan_id;
    /* The analysis belongs to the scan's last transaction: join the open
     * one, or open it as store/db.c would (IMMEDIATE: we will write). */
    int ret = IA_OK;
    if (sqlite3_get_autocommit(conn))
        ret = wexec(w, "BEGIN IMMEDIATE", "starting a transaction");
    if (ret == IA_OK)
        ret = wexec(w, "SAVEPOINT ia_stats", "starting the statistics");
    if (ret == IA_OK)
        w->savepoint = 1;
    for (int i = 0; i < W_COUNT && ret == IA_OK; i++)
        if (sqlite3_prepare_v3(conn, wstmt_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) !=
            SQLITE_OK)
            ret = ia_store_sqlfail(db, "preparing the statistics");
    if (ret == IA_OK)
        ret = clear_old(w, codes, ncodes);
    if (ret != IA_OK) {
        ia_store_stats_end(w, 0);
        return ret;
    }
    *out = w;
    return IA_OK;
}

int ia_store_stats_end(ia_stat_writer *w, int ok)
{
    int ret = IA_OK;
    if (!w)
        return IA_OK;
    sqlite3 *conn = ia_store_sqlite(w->db);
    for (int i = 0; i < W_COUNT; i++) {
        sqlite3_finalize(w->st[i]);
        w->st[i] = NULL;
    }
    if (w->savepoint && ok) {
        ret = wexec(w, "RELEASE ia_stats", "finishing the statistics");
    } else if (w->savepoint && !sqlite3_get_autocommit(conn)) {
        /* After a failed finding insert store/write.c has already rolled the
         * whole batch back; then there is no savepoint left to undo. */
        sqlite3_exec(conn, "ROLLBACK TO ia_stats; RELEASE ia_stats", NULL,
                     NULL, NULL);
    }
    writer_free(w);
    return ret;
}

/* Decimal text of a 128-bit unsigned integer into buf (40 digits fit). */
static const char *u128_text(ia_u128 v, char buf[48])
{
    char *p = buf + 47;
    *p = '\0';
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    return p;
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
             : sqlite3_bind_null(st, i);
}

static int bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
    return isfinite(v) ? sqlite3_bind_double(st, i, v)
                       : sqlite3_bind_null(st, i);
}

static int step_insert(ia_stat_writer *w, sqlite3_stmt *st, int bind_rc,
                       const char *what)
{
    int ret = IA_OK;
    if (bind_rc != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(w->db, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

int ia_store_stat_group(ia_stat_writer *w, const ia_stat_group *g)
{
    sqlite3_stmt *st = w->st[W_GROUP];
    char buf[48];
    int rc = sqlite3_bind_int64(st, 1, w->scan_id);
    rc |= bind_text_or_null(st, 2, g->split);
    rc |= bind_text_or_null(st, 3, g->label);
    rc |= sqlite3_bind_int64(st, 4, (int64_t)g->files);
    rc |= sqlite3_bind_int64(st, 5, (int64_t)g->images);
    rc |= sqlite3_bind_int64(st, 6, (int64_t)g->bytes);
    rc |= sqlite3_bind_int64(st, 7, (int64_t)g->sums.n);
    for (int c = 0; c < 3; c++) {
        rc |= sqlite3_bind_text(st, 8 + c, u128_text(g->sums.sum[c], buf),
                                -1, SQLITE_TRANSIENT);
        rc |= sqlite3_bind_text(st, 11 + c,
                                u128_text(g->sums.sumsq[c], buf), -1,
                                SQLITE_TRANSIENT);
    }
    for (int c = 0; c < 3; c++) {
        rc |= bind_real_or_null(st, 14 + c, g->have_moments ? g->mean[c]
                                                            : DNAN);
        rc |= bind_real_or_null(st, 17 + c, g->have_moments ? g->std[c]
                                                            : DNAN);
    }
    if (g->labels >= 0)
        rc |= sqlite3_bind_int64(st, 20, g->labels);
    rc |= bind_real_or_null(st, 21, g->imbalance);
    rc |= bind_real_or_null(st, 22, g->label_entropy);
    rc |= bind_real_or_null(st, 23, g->share);
    return step_insert(w, st, rc, "storing a statistics group");
}

int ia_store_stat_metric(ia_stat_writer *w, const ia_stat_metric *m)
{
    sqlite3_stmt *st = w->st[W_METRIC];
    const double v[] = {m->mean, m->std, m->min, m->q1, m->median, m->q3,
                        m->max, m->fence_low, m->fence_high};
    int rc = sqlite3_bind_int64(st, 1, w->scan_id);
    rc |= bind_text_or_null(st, 2, m->split);
    rc |= bind_text_or_null(st, 3, m->label);
    rc |= sqlite3_bind_text(st, 4, m->metric, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(st, 5, (int64_t)m->n);
    for (size_t i = 0; i < IA_ARRAY_LEN(v); i++)
        rc |= bind_real_or_null(st, 6 + (int)i, v[i]);
    return step_insert(w, st, rc, "storing a metric summary");
}

int ia_store_class_index(ia_stat_writer *w, const char *split,
                         const char *label, int64_t idx)
{
    sqlite3_stmt *st = w->st[W_CLASS];
    int rc = sqlite3_bind_int64(st, 1, w->scan_id);
    rc |= sqlite3_bind_text(st, 2, split, -1, SQLITE_TRANSIENT);
    rc |= sqlite3_bind_text(st, 3, label, -1, SQLITE_TRANSIENT);
    rc |= sqlite3_bind_int64(st, 4, idx);
    return step_insert(w, st, rc, "storing the class index");
}

int ia_store_stat_finding(ia_stat_writer *w, int64_t file_id,
                          const char *code, int severity, const char *detail)
{
    char *path = NULL;
    int ret = IA_OK;
    if (file_id > 0) {
        sqlite3_stmt *st = w->st[W_PATH];
        sqlite3_bind_int64(st, 1, file_id);
        sqlite3_bind_int64(st, 2, w->scan_id);
        if (sqlite3_step(st) == SQLITE_ROW)
            path = ia_strdup((const char *)sqlite3_column_text(st, 0));
        else
            ret = ia_store_sqlfail(w->db, "looking up a path");
        sqlite3_reset(st);
        if (ret == IA_OK && !path)
            ret = ia_store_fail(w->db, IA_ERR_NOMEM, "out of memory");
    }
    if (ret == IA_OK)
        ret = ia_store_finding(w->db, w->scan_id, file_id, path, code,
                               severity, detail);
    free(path);
    return ret;
}

/* ---- reading back ---------------------------------------------------- */

int ia_store_has_stats(const ia_db *db)
{
    return ia_store_schema_version(db) >= IA_SCHEMA_STATS;
}

static int prepare_scan(ia_db *db, const char *sql, int64_t scan_id,
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

static void read_group(sqlite3_stmt *st, ia_q_stat_group *g)
{
    memset(g, 0, sizeof *g);
    g->split = (const char *)sqlite3_column_text(st, 0);
    g->label = (const char *)sqlite3_column_text(st, 1);
    g->files = ia_col_count(st, 2);
    g->images = ia_col_count(st, 3);
    g->bytes = ia_col_count(st, 4);
    g->pixels = ia_col_count(st, 5);
    g->have_moments = sqlite3_column_type(st, 6) != SQLITE_NULL;
    for (int c = 0; c < 3; c++) {
        g->mean[c] = ia_col_real(st, 6 + c);
        g->std[c] = ia_col_real(st, 9 + c);
    }
    g->labels = sqlite3_column_type(st, 12) == SQLITE_NULL
                    ? -1
                    : sqlite3_column_int64(st, 12);
    g->imbalance = ia_col_real(st, 13);
    g->label_entropy = ia_col_real(st, 14);
    g->share = ia_col_real(st, 15);
}

int ia_q_stat_groups(ia_db *db, int64_t scan_id, ia_q_stat_group_cb cb,
                     void *user)
{
    sqlite3_stmt *st = NULL;
    if (!ia_store_has_stats(db))
        return IA_OK;
    /* NULL sorts first: the scan row, then each split before its labels. */
    int ret = prepare_scan(db,
        "SELECT split, label, files, images, bytes, pixels, mean_r, mean_g,"
        " mean_b, std_r, std_g, std_b, labels, imbalance, label_entropy,"
        " share FROM stat_group WHERE scan_id = ?1 ORDER BY split, label",
        scan_id, &st);
    int rc;
    ia_q_stat_group g;
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_group(st, &g);
        ret = cb(user, &g);
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the statistics");
    sqlite3_finalize(st);
    return ret;
}

int ia_q_class_index(ia_db *db, int64_t scan_id, ia_q_class_cb cb,
                     void *user)
{
    sqlite3_stmt *st = NULL;
    if (!ia_store_has_stats(db))
        return IA_OK;
    int ret = prepare_scan(db, "SELECT split, label, idx FROM class_index"
                           " WHERE scan_id = ?1 ORDER BY split, idx",
                           scan_id, &st);
    int rc;
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ia_q_class c = {ia_col_str(st, 0), ia_col_str(st, 1),
                        sqlite3_column_int64(st, 2)};
        ret = cb(user, &c);
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the class index");
    sqlite3_finalize(st);
    return ret;
}

typedef struct values_ctx {
    ia_db *db;
    int metric;
    double *v;
    size_t n, cap;
} values_ctx;

static int value_cb(void *user, const ia_stat_row *r)
{
    values_ctx *c = user;
    double x = ia_metric_of(r, c->metric);
    if (!isfinite(x))
        return IA_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024, bytes;
        if (ia_mul_size(cap, sizeof *c->v, &bytes) != 0)
            return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
        double *nv = realloc(c->v, bytes);
        if (!nv)
            return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = x;
    return IA_OK;
}

int ia_q_metric_values(ia_db *db, int64_t scan_id, const char *split,
                       const char *label, int m, double **vals, size_t *n)
{
    sqlite3_stmt *st = NULL;
    values_ctx c = {db, m, NULL, 0, 0};
    if (!ia_metric_name(m))
        return ia_store_fail(db, IA_ERR_ARG, "no metric %d", m);
    int ret = prepare_scan(db, ROW_COLUMNS " AND status = 'ok'"
                           " AND (?2 IS NULL OR coalesce(split, '') = ?2)"
                           " AND (?3 IS NULL OR coalesce(label, '') = ?3)",
                           scan_id, &st);
    if (ret != IA_OK)
        return ret;
    if (split)
        sqlite3_bind_text(st, 2, split, -1, SQLITE_STATIC);
    if (label)
        sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
    ret = run_rows(db, st, value_cb, &c, "reading metric values");
    sqlite3_finalize(st);
    if (ret != IA_OK) {
        free(c.v);
        return ret;
    }
    ia_sort_doubles(c.v, c.n);
    *vals = c.v;
    *n = c.n;
    return IA_OK;
}
