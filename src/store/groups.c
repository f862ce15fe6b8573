/*
 * The SQL side of the dataset-wide duplicate analysis: loading the compact
 * hash index of a scan (no paths: they are looked up only for the files
 * that get a finding) and writing groups, members and leak pairs. Kept
 * apart from store/db.c and store/write.c, which own the connection and the
 * per-file writes.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/range.h"
#include "store/store.h"
#include "core/core.h"

/* Interns split or label strings; index 0 means NULL. last is the index
 * of the last string found: rows come in walk order, so a folder's files
 * share it, and a dataset of a thousand classes is not a thousand
 * comparisons a row. */
typedef struct names {
    char **v;
    size_t n, cap, last;
} names;

static int intern(names *t, const unsigned char *s, uint32_t *out)
{
    if (!s) {
        *out = 0;
        return IA_OK;
    }
    if (t->last < t->n && strcmp(t->v[t->last], (const char *)s) == 0) {
        *out = (uint32_t)t->last + 1;
        return IA_OK;
    }
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i], (const char *)s) == 0) {
            *out = (uint32_t)i + 1;
            t->last = i;
            return IA_OK;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **nv = realloc(t->v, cap * sizeof *nv);
        if (!nv)
            return IA_ERR_NOMEM;
        t->v = nv;
        t->cap = cap;
    }
    if (!(t->v[t->n] = strdup((const char *)s)))
        return IA_ERR_NOMEM;
    t->last = t->n;
    *out = (uint32_t)++t->n;
    return IA_OK;
}

static void copy_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t len,
                      uint8_t *have)
{
    const void *b = sqlite3_column_blob(st, col);
    *have = b && (size_t)sqlite3_column_bytes(st, col) == len;
    if (*have)
        memcpy(dst, b, len);
}

static int read_row(sqlite3_stmt *st, ia_hash_rows *out, names *sp,
                    names *lb)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 1024;
        ia_hash_row *nr = realloc(out->rows, cap * sizeof *nr);
        if (!nr)
            return IA_ERR_NOMEM;
        out->rows = nr;
        out->cap = cap;
    }
    ia_hash_row *r = &out->rows[out->n];
    memset(r, 0, sizeof *r);
    r->file_id = sqlite3_column_int64(st, 0);
    int rc = intern(sp, sqlite3_column_text(st, 1), &r->split);
    if (rc == IA_OK)
        rc = intern(lb, sqlite3_column_text(st, 2), &r->label);
    if (rc != IA_OK)
        return rc;
    r->status_ok = sqlite3_column_int(st, 3) != 0;
    copy_blob(st, 4, r->sha256, 32, &r->have_sha);
    copy_blob(st, 5, r->pixel_hash, 16, &r->have_pixel);
    r->have_phash = sqlite3_column_type(st, 6) != SQLITE_NULL &&
                    sqlite3_column_type(st, 7) != SQLITE_NULL;
    r->phash = (uint64_t)sqlite3_column_int64(st, 6);
    r->dhash = (uint64_t)sqlite3_column_int64(st, 7);
    r->uniform = sqlite3_column_int(st, 8) != 0;
    r->split_rank = (uint8_t)sqlite3_column_int(st, 9); /* 0-3: the CASE */
    out->n++;
    return IA_OK;
}

/* The rows are read in rowid order over the scan's id range: left to
 * itself the planner took the (scan_id, sha256) index for "sha256 IS NOT
 * NULL", i.e. one random row lookup per file and a sort by id, 23 s
 * instead of 1 s for a million files (docs/performance.md). */
int ia_store_load_hash_rows(ia_db *db, int64_t scan_id, ia_hash_rows *out)
{
    static const char sql[] =
        "SELECT id, split, label, status = 'ok', sha256, pixel_hash, phash,"
        " dhash, coalesce(hash_uniform, 0), CASE split_canonical"
        " WHEN 'train' THEN 0 WHEN 'val' THEN 1 WHEN 'test' THEN 2 ELSE 3 END"
        " FROM file"
        " WHERE +scan_id = ?1 AND format <> 'unknown' AND sha256 IS NOT NULL"
        " AND id BETWEEN" IA_SCAN_ID_RANGE("file")
        " ORDER BY id";
    sqlite3_stmt *st = NULL;
    names sp = {0}, lb = {0};
    int rc = IA_OK;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, &st, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(db, "loading hashes");
    sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id));
    int step;
    while (rc == IA_OK && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = read_row(st, out, &sp, &lb);
    if (rc == IA_OK && step != SQLITE_DONE)
        rc = ia_store_sqlfail(db, "loading hashes");
    sqlite3_finalize(st);
    out->splits = sp.v;
    out->nsplits = sp.n;
    out->labels = lb.v;
    out->nlabels = lb.n;
    if (rc != IA_OK)
        ia_hash_rows_free(out);
    return rc;
}

void ia_hash_rows_free(ia_hash_rows *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->nsplits; i++)
        free(h->splits[i]);
    for (size_t i = 0; i < h->nlabels; i++)
        free(h->labels[i]);
    free(h->splits);
    free(h->labels);
    free(h->rows);
    memset(h, 0, sizeof *h);
}

int ia_store_file_path(ia_db *db, int64_t file_id, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int rc = IA_ERR_DB;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT path FROM file WHERE id = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "looking up a path");
    sqlite3_bind_int64(st, 1, file_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        ia_strlcpy(buf, (const char *)sqlite3_column_text(st, 0), cap);
        rc = IA_OK;
    } else {
        rc = ia_store_sqlfail(db, "looking up a path");
    }
    sqlite3_finalize(st);
    return rc;
}

static int exec_bound(ia_db *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? IA_OK
                                              : ia_store_sqlfail(db, what);
    sqlite3_finalize(st);
    return rc;
}

int ia_store_group(ia_db *db, int64_t scan_id, const char *kind,
                   const int64_t *file_ids, const int *distance, size_t n,
                   int64_t *group_id)
{
    sqlite3 *c = ia_store_sqlite(db);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, "INSERT INTO dup_group(scan_id, kind, size)"
                              " VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(db, "storing a duplicate group");
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
    int rc = exec_bound(db, st, "storing a duplicate group");
    if (rc != IA_OK)
        return rc;
    *group_id = sqlite3_last_insert_rowid(c);
    if (sqlite3_prepare_v2(c, "INSERT INTO dup_member(group_id, file_id,"
                              " position, distance) VALUES (?1, ?2, ?3, ?4)",
                           -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "storing a group member");
    for (size_t i = 0; i < n && rc == IA_OK; i++) {
        sqlite3_bind_int64(st, 1, *group_id);
        sqlite3_bind_int64(st, 2, file_ids[i]);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
        sqlite3_bind_int(st, 4, distance[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ia_store_sqlfail(db, "storing a group member");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int ia_store_leak(ia_db *db, int64_t scan_id, int64_t group_id,
                  const char *kind, int64_t a, int64_t b, int distance)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "INSERT INTO leak(scan_id, group_id, kind, a_file_id,"
                           " b_file_id, distance) VALUES (?1,?2,?3,?4,?5,?6)",
                           -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "storing a leak");
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_int64(st, 2, group_id);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, a);
    sqlite3_bind_int64(st, 5, b);
    sqlite3_bind_int(st, 6, distance);
    return exec_bound(db, st, "storing a leak");
}
