/*
 * The SQL of annotations (schema 8, docs/annotations.md): the scan's
 * files as the annotation audit matches them, the duplicate groups it
 * compares annotations across, the writer of sources, categories,
 * images and boxes, and the balance the reports show. The writer's rows
 * join the scan's open transaction; ia_store_scan_finish commits them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/col.h"
#include "store/db.h"
#include "store/store.h"

static int prepare(ia_db *db, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db->conn, sql, -1, st, NULL) != SQLITE_OK)
        return ia_store_fail(db, IA_ERR_DB, "annotations: %s",
                             sqlite3_errmsg(db->conn));
    return IA_OK;
}

/* Runs sql with ?1 bound to the scan whose rows scan_id reads, handing
 * each row to row(). */
static int each_row(ia_db *db, const char *sql, int64_t scan_id,
                    int (*row)(sqlite3_stmt *, void *), void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(db, sql, &st);
    if (rc != IA_OK)
        return rc;
    sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id));
    int s;
    while (rc == IA_OK && (s = sqlite3_step(st)) == SQLITE_ROW)
        rc = row(st, ctx);
    if (rc == IA_OK && s != SQLITE_DONE)
        rc = ia_store_fail(db, IA_ERR_DB, "annotations: %s",
                           sqlite3_errmsg(db->conn));
    sqlite3_finalize(st);
    return rc;
}

typedef struct file_ctx {
    ia_annot_file_cb cb;
    void *user;
} file_ctx;

static int file_row(sqlite3_stmt *st, void *ctx)
{
    const file_ctx *c = ctx;
    ia_annot_file f = {
        .file_id = sqlite3_column_int64(st, 0),
        .path = ia_col_str(st, 1), .split = ia_col_text(st, 2),
        .status_ok = sqlite3_column_int(st, 3),
        .width = ia_col_nonneg(st, 4), .height = ia_col_nonneg(st, 5),
        .orientation = ia_col_int(st, 6),
    };
    return c->cb(c->user, &f);
}

int ia_store_annot_files(ia_db *db, int64_t scan_id, ia_annot_file_cb cb,
                         void *user)
{
    file_ctx c = {cb, user};
    return each_row(db, "SELECT id, path, split_canonical, status = 'ok',"
                    " width, height, exif_orientation FROM file"
                    " WHERE scan_id = ?1 AND format <> 'unknown'"
                    " ORDER BY path", scan_id, file_row, &c);
}

typedef struct member_ctx {
    ia_dup_member_cb cb;
    void *user;
} member_ctx;

static int member_row(sqlite3_stmt *st, void *ctx)
{
    const member_ctx *c = ctx;
    return c->cb(c->user, sqlite3_column_int64(st, 0), ia_col_kind(st, 1),
                 sqlite3_column_int64(st, 2));
}

int ia_store_dup_members(ia_db *db, int64_t scan_id, ia_dup_member_cb cb,
                         void *user)
{
    member_ctx c = {cb, user};
    return each_row(db, "SELECT g.id, g.kind, m.file_id FROM dup_group g"
                    " JOIN dup_member m ON m.group_id = g.id"
                    " WHERE g.scan_id = ?1 ORDER BY g.id, m.position",
                    scan_id, member_row, &c);
}

/* ---- the writer ------------------------------------------------------ */

enum { W_SOURCE, W_CATEGORY, W_IMAGE, W_BOX, W_COUNT };

struct ia_annot_writer {
    ia_db *db;
    int64_t scan_id;
    sqlite3_stmt *st[W_COUNT];
};

static const char *const writer_sql[W_COUNT] = {
    "INSERT INTO annot_source(scan_id, kind, path, split)"
    " VALUES (?1, ?2, ?3, ?4)",
    "INSERT OR IGNORE INTO annot_category(source_id, category_id, name)"
    " VALUES (?1, ?2, ?3)",
    "INSERT INTO annot_image(source_id, file_id, name, coco_id, split,"
    " width, height, label_file) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "INSERT INTO annot_box(image_id, category_id, category, x, y, w, h,"
    " nx, ny, nw, nh, seg_area, polygons, iscrowd)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
};

void ia_store_annot_end(ia_annot_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    free(w);
}

int ia_store_annot_begin(ia_db *db, int64_t scan_id, ia_annot_writer **out)
{
    int rc = ia_store_need_writer(db);
    if (rc != IA_OK)
        return rc;
    ia_annot_writer *w = calloc(1, sizeof *w);
    if (!w)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    w->db = db;
    w->scan_id = scan_id;
    rc = ia_store_batch_begin(db);
    for (int i = 0; rc == IA_OK && i < W_COUNT; i++)
        rc = prepare(db, writer_sql[i], &w->st[i]);
    if (rc != IA_OK) {
        ia_store_annot_end(w);
        return rc;
    }
    *out = w;
    return IA_OK;
}

static int run(ia_annot_writer *w, int which, int64_t *id)
{
    sqlite3_stmt *st = w->st[which];
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (s != SQLITE_DONE)
        return ia_store_fail(w->db, IA_ERR_DB, "storing annotations: %s",
                             sqlite3_errmsg(w->db->conn));
    if (id)
        *id = sqlite3_last_insert_rowid(w->db->conn);
    return IA_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* NULL for NaN (an unknown size), and for ids and sizes <= 0. */
static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

static void bind_pos(sqlite3_stmt *st, int i, int64_t v)
{
    if (v > 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

int ia_store_annot_source(ia_annot_writer *w, const char *kind,
                          const char *path, const char *split,
                          int64_t *source_id)
{
    sqlite3_stmt *st = w->st[W_SOURCE];
    sqlite3_bind_int64(st, 1, w->scan_id);
    bind_text(st, 2, kind);
    bind_text(st, 3, path);
    bind_text(st, 4, split);
    return run(w, W_SOURCE, source_id);
}

int ia_store_annot_category(ia_annot_writer *w, int64_t source_id,
                            int64_t category_id, const char *name)
{
    sqlite3_stmt *st = w->st[W_CATEGORY];
    sqlite3_bind_int64(st, 1, source_id);
    sqlite3_bind_int64(st, 2, category_id);
    bind_text(st, 3, name ? name : "");
    return run(w, W_CATEGORY, NULL);
}

int ia_store_annot_image(ia_annot_writer *w, const ia_annot_image_row *r,
                         int64_t *image_id)
{
    sqlite3_stmt *st = w->st[W_IMAGE];
    sqlite3_bind_int64(st, 1, r->source_id);
    bind_pos(st, 2, r->file_id);
    bind_text(st, 3, r->name);
    if (r->has_coco_id)
        sqlite3_bind_int64(st, 4, r->coco_id);
    bind_text(st, 5, r->split);
    bind_pos(st, 6, r->width);
    bind_pos(st, 7, r->height);
    bind_text(st, 8, r->label_file);
    return run(w, W_IMAGE, image_id);
}

int ia_store_annot_box(ia_annot_writer *w, const ia_annot_box_row *b)
{
    sqlite3_stmt *st = w->st[W_BOX];
    sqlite3_bind_int64(st, 1, b->image_id);
    sqlite3_bind_int64(st, 2, b->category_id);
    bind_text(st, 3, b->category);
    for (int i = 0; i < 4; i++) {
        bind_real(st, 4 + i, b->px[i]);
        bind_real(st, 8 + i, b->norm[i]);
    }
    bind_real(st, 12, b->seg_area < 0 ? (double)NAN : b->seg_area);
    sqlite3_bind_int(st, 13, b->polygons);
    sqlite3_bind_int(st, 14, b->iscrowd);
    return run(w, W_BOX, NULL);
}

/* ---- the balance the reports show ------------------------------------ */

typedef struct balance_ctx {
    ia_q_annot_cb cb;
    void *user;
} balance_ctx;

static int balance_row(sqlite3_stmt *st, void *ctx)
{
    const balance_ctx *c = ctx;
    ia_q_annot r = {
        .split = ia_col_str(st, 0), .category = ia_col_str(st, 1),
        .images = ia_col_count(st, 2), .boxes = ia_col_count(st, 3),
        .small = ia_col_count(st, 4), .medium = ia_col_count(st, 5),
        .large = ia_col_count(st, 6), .max_per_image = ia_col_count(st, 7),
    };
    return c->cb(c->user, &r);
}

/* COCO's size classes: box area in pixels below 32^2, below 96^2, above;
 * a box of unknown pixel size is in none. */
int ia_q_annot_balance(ia_db *db, int64_t scan_id, int per_category,
                       ia_q_annot_cb cb, void *user)
{
    balance_ctx c = {cb, user};
    if (db->schema < 7)
        return IA_OK;       /* written before annotations were stored */
    return each_row(db, per_category
        ? "SELECT coalesce(i.split, ''), coalesce(b.category, ''),"
          " count(DISTINCT i.id), count(*),"
          " sum(b.w * b.h < 1024), sum(b.w * b.h >= 1024"
          " AND b.w * b.h < 9216), sum(b.w * b.h >= 9216), 0"
          " FROM annot_box b JOIN annot_image i ON i.id = b.image_id"
          " JOIN annot_source s ON s.id = i.source_id WHERE s.scan_id = ?1"
          " GROUP BY 1, 2 ORDER BY 1, 2"
        : "SELECT coalesce(i.split, ''), '', count(*), sum(coalesce(n, 0)),"
          " 0, 0, 0, max(coalesce(n, 0)) FROM annot_image i"
          " JOIN annot_source s ON s.id = i.source_id"
          " LEFT JOIN (SELECT image_id, count(*) AS n FROM annot_box"
          "  GROUP BY image_id) b ON b.image_id = i.id"
          " WHERE s.scan_id = ?1 AND i.file_id IS NOT NULL"
          " GROUP BY 1 ORDER BY 1", scan_id, balance_row, &c);
}

/* ---- flagged boxes for the HTML report ------------------------------- */

typedef struct flagged_ctx {
    ia_q_annot_flagged_cb cb;
    void *user;
} flagged_ctx;

static int flagged_row(sqlite3_stmt *st, void *ctx)
{
    const flagged_ctx *c = ctx;
    return c->cb(c->user, sqlite3_column_int64(st, 0), ia_col_str(st, 1),
                 ia_col_str(st, 2));
}

int ia_q_annot_flagged(ia_db *db, int64_t scan_id, int limit,
                       ia_q_annot_flagged_cb cb, void *user)
{
    flagged_ctx c = {cb, user};
    char sql[600];
    if (db->schema < 7)
        return IA_OK;
    ia_bprintf(sql, sizeof sql, "SELECT f.id, f.path,"
               " group_concat(DISTINCT fi.code) FROM finding fi"
               " JOIN file f ON f.id = fi.file_id WHERE fi.scan_id = ?1"
               " AND fi.code IN ('box_mostly_outside', 'box_outside_image',"
               " 'duplicate_box', 'box_degenerate', 'annot_size_mismatch',"
               " 'annot_size_rotated', 'yolo_class_out_of_range',"
               " 'annot_conflict') GROUP BY f.id ORDER BY f.path LIMIT %d",
               limit);
    return each_row(db, sql, scan_id, flagged_row, &c);
}

typedef struct boxes_ctx {
    ia_q_annot_box_cb cb;
    void *user;
} boxes_ctx;

static int box_row(sqlite3_stmt *st, void *ctx)
{
    const boxes_ctx *c = ctx;
    double b[4];
    for (int k = 0; k < 4; k++)
        b[k] = ia_col_real(st, k);
    return c->cb(c->user, b);
}

int ia_q_annot_boxes(ia_db *db, int64_t scan_id, int64_t file_id,
                     ia_q_annot_box_cb cb, void *user)
{
    boxes_ctx c = {cb, user};
    char sql[400];
    if (db->schema < 7)
        return IA_OK;
    ia_bprintf(sql, sizeof sql, "SELECT b.nx, b.ny, b.nw, b.nh"
               " FROM annot_box b JOIN annot_image i ON i.id = b.image_id"
               " JOIN annot_source s ON s.id = i.source_id"
               " WHERE s.scan_id = ?1 AND i.file_id = %lld ORDER BY b.id",
               (long long)file_id);
    return each_row(db, sql, scan_id, box_row, &c);
}
