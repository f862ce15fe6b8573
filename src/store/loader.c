/*
 * The SQL of the loader profiles (docs/loaders.md) and of the lens every
 * reader sees findings through.
 *
 * - The loader analysis (src/loader/) reads the facts of each file row
 *   and the empty class folders the walk noted, judges them for every
 *   profile in memory, and writes back its findings (finding.loader set)
 *   and each profile's class index per split (loader_class). Running it
 *   again replaces what an earlier run wrote.
 * - The lens is two temp tables behind the view shown_finding (db.c):
 *   which profiles' findings to show and each code's severity under a
 *   policy. Temp tables belong to the connection, so a read-only handle
 *   sets them as freely as a writer.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/core.h"
#include "store/col.h"
#include "store/db.h"
#include "store/range.h"
#include "store/store.h"

/* ---- the lens ---------------------------------------------------------- */

static int exec_text(ia_db *db, sqlite3_stmt *st, const char *a, int b)
{
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b >= -1)
        sqlite3_bind_int(st, 2, b);
    return ia_store_step_done(db, st, "setting the findings view");
}

int ia_store_set_lens(ia_db *db, const char *const *loaders, size_t n,
                      const ia_lens_sev *sev, size_t nsev)
{
    sqlite3_stmt *ld = NULL, *sv = NULL;
    int ret = ia_store_exec(db, "DELETE FROM temp.lens_loader;"
                            "DELETE FROM temp.lens_severity",
                            "setting the findings view");
    if (ret != IA_OK)
        return ret;
    if (sqlite3_prepare_v2(db->conn, "INSERT OR IGNORE INTO"
                           " temp.lens_loader(name) VALUES (?1)", -1, &ld,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db->conn, "INSERT OR REPLACE INTO"
                           " temp.lens_severity(code, severity)"
                           " VALUES (?1, ?2)", -1, &sv, NULL) != SQLITE_OK)
        ret = ia_store_sqlfail(db, "setting the findings view");
    for (size_t i = 0; ret == IA_OK && i < n; i++)
        ret = exec_text(db, ld, loaders[i], -2);
    for (size_t i = 0; ret == IA_OK && i < nsev; i++) {
        int s = sev[i].severity;
        ret = exec_text(db, sv, sev[i].code,
                        s < IA_SEV_INFO ? -1 : s > IA_SEV_ERROR ? 2 : s);
    }
    sqlite3_finalize(ld);
    sqlite3_finalize(sv);
    return ret;
}

/* ---- what the analysis reads ------------------------------------------- */

#define ROWS_COLS                                                            \
    "SELECT id, path, coalesce(split, ''), coalesce(label, ''),"             \
    " outside_class, format, status, message, width, height, channels,"      \
    " bit_depth, color_space, rows_decoded, rows_total, progressive,"        \
    " exif_orientation, loader_facts, animated,"                             \
    " EXISTS (SELECT 1 FROM finding g WHERE g.file_id = file.id"             \
    "  AND g.code = 'float_samples')"                                        \
    " FROM file WHERE "
/* Every row of the scan, in rowid order over the scan's id range: left to
 * itself the planner reads "scan_id = ?1" through one of the indexes on
 * scan_id and sorts by id (as for the hash rows, store/groups.c). */
#define ROWS_ALL                                                             \
    ROWS_COLS "+scan_id = ?1 AND id BETWEEN" IA_SCAN_ID_RANGE("file")        \
    " ORDER BY id"
#define ROWS_ORDER " ORDER BY coalesce(split, ''), coalesce(label, ''), id"

static int64_t opt_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL
               ? -1 : sqlite3_column_int64(st, i);
}

static void read_row(sqlite3_stmt *st, ia_loader_row *r)
{
    r->file_id = sqlite3_column_int64(st, 0);
    r->path = ia_col_str(st, 1);
    r->split = ia_col_str(st, 2);
    r->label = ia_col_str(st, 3);
    r->outside_class = sqlite3_column_int64(st, 4) != 0;
    r->format = ia_col_str(st, 5);
    r->status = ia_col_str(st, 6);
    r->message = ia_col_str(st, 7);
    r->width = opt_int(st, 8);
    r->height = opt_int(st, 9);
    r->channels = opt_int(st, 10);
    r->bit_depth = opt_int(st, 11);
    r->color_space = ia_col_str(st, 12);
    r->rows_decoded = opt_int(st, 13);
    r->rows_total = opt_int(st, 14);
    r->progressive = opt_int(st, 15);
    r->exif_orientation = opt_int(st, 16);
    r->facts = ia_col_str(st, 17);
    r->animated = opt_int(st, 18);
    r->float_samples = sqlite3_column_int64(st, 19) != 0;
}

static int step_rows(ia_db *db, sqlite3_stmt *st, ia_loader_row_cb cb,
                     void *user, int notes)
{
    ia_loader_row r;
    int rc = SQLITE_DONE, ret = IA_OK;
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (notes) {
            memset(&r, 0, sizeof r);
            r.path = ia_col_str(st, 0);
            r.split = r.label = r.format = r.status = r.message = "";
            r.color_space = r.facts = "";
        } else {
            read_row(st, &r);
        }
        ret = cb(user, &r);
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the files for the loaders");
    return ret;
}

int ia_store_loader_rows(ia_db *db, int64_t scan_id, int notes,
                         ia_loader_row_cb cb, void *user)
{
    sqlite3_stmt *st = NULL;
    const char *sql = notes ? "SELECT path FROM finding WHERE scan_id = ?1"
                              " AND code = 'empty_class'"
                              " AND file_id IS NULL ORDER BY path"
                            : ROWS_ALL;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "reading the files for the loaders");
    sqlite3_bind_int64(st, 1, scan_id);
    int ret = step_rows(db, st, cb, user, notes);
    sqlite3_finalize(st);
    return ret;
}

/* The noted ids go into a temp table so that one query returns their
 * rows in the order of the full pass (split, label, id), sorting only
 * them. */
static int note_ids(ia_db *db, const int64_t *ids, size_t n)
{
    sqlite3_stmt *st = NULL;
    int ret = ia_store_exec(db, "CREATE TEMP TABLE IF NOT EXISTS"
                            " loader_noted(id INTEGER PRIMARY KEY);"
                            "DELETE FROM temp.loader_noted",
                            "reading the files for the loaders");
    if (ret == IA_OK &&
        sqlite3_prepare_v2(db->conn, "INSERT OR IGNORE INTO"
                           " temp.loader_noted(id) VALUES (?1)", -1, &st,
                           NULL) != SQLITE_OK)
        ret = ia_store_sqlfail(db, "reading the files for the loaders");
    for (size_t i = 0; ret == IA_OK && i < n; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        ret = ia_store_step_done(db, st, "reading the files for the loaders");
    }
    sqlite3_finalize(st);
    return ret;
}

int ia_store_loader_rows_by_id(ia_db *db, int64_t scan_id,
                               const int64_t *ids, size_t n,
                               ia_loader_row_cb cb, void *user)
{
    sqlite3_stmt *st = NULL;
    if (n == 0)
        return IA_OK;
    int ret = note_ids(db, ids, n);
    if (ret != IA_OK)
        return ret;
    if (sqlite3_prepare_v2(db->conn, ROWS_COLS "scan_id = ?1 AND id IN"
                           " (SELECT id FROM temp.loader_noted)" ROWS_ORDER,
                           -1, &st,
                           NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "reading the files for the loaders");
    sqlite3_bind_int64(st, 1, scan_id);
    ret = step_rows(db, st, cb, user, 0);
    sqlite3_finalize(st);
    if (ret == IA_OK)
        ret = ia_store_exec(db, "DELETE FROM temp.loader_noted",
                            "reading the files for the loaders");
    return ret;
}

/* ---- what it writes ------------------------------------------------------ */

int ia_store_loader_clear(ia_db *db, int64_t scan_id)
{
    sqlite3_stmt *st = NULL;
    static const char *const sql[] = {
        "DELETE FROM finding WHERE scan_id = ?1 AND loader IS NOT NULL",
        "DELETE FROM loader_class WHERE scan_id = ?1",
    };
    int ret = ia_store_need_writer(db);
    if (ret == IA_OK)
        ret = ia_store_batch_begin(db);
    for (size_t i = 0; ret == IA_OK && i < IA_ARRAY_LEN(sql); i++) {
        if (sqlite3_prepare_v2(db->conn, sql[i], -1, &st, NULL) != SQLITE_OK)
            return ia_store_sqlfail(db, "clearing the loader analysis");
        sqlite3_bind_int64(st, 1, scan_id);
        ret = ia_store_step_done(db, st, "clearing the loader analysis");
        sqlite3_finalize(st);
    }
    return ret;
}

int ia_store_loader_class(ia_db *db, int64_t scan_id, const char *loader,
                          const char *split, const char *label, int64_t idx,
                          uint64_t listed)
{
    sqlite3_stmt *st = NULL;
    int ret = ia_store_batch_begin(db);
    if (ret != IA_OK)
        return ret;
    if (sqlite3_prepare_v2(db->conn, "INSERT INTO loader_class(scan_id,"
                           " loader, split, label, idx, listed)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &st,
                           NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "storing a class index");
    sqlite3_bind_int64(st, 1, scan_id);
    sqlite3_bind_text(st, 2, loader, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, split ? split : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, idx);
    sqlite3_bind_int64(st, 6, listed > INT64_MAX ? INT64_MAX
                                                 : (int64_t)listed);
    ret = ia_store_step_done(db, st, "storing a class index");
    sqlite3_finalize(st);
    return ret;
}

/* ---- reading the class tables back ----------------------------------- */

int ia_q_loader_classes(ia_db *db, int64_t scan_id, ia_q_loader_class_cb cb,
                        void *user)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_DONE, ret = IA_OK;
    if (ia_store_schema_version(db) < IA_SCHEMA_LOADERS)
        return IA_OK;
    if (sqlite3_prepare_v2(db->conn, "SELECT loader, split, label, idx,"
                           " listed FROM loader_class WHERE scan_id = ?1"
                           " AND (NOT EXISTS (SELECT 1 FROM temp.lens_loader)"
                           " OR loader IN (SELECT name FROM temp.lens_loader))"
                           " ORDER BY loader, split, idx, label", -1, &st,
                           NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "reading the class indices");
    sqlite3_bind_int64(st, 1, ia_store_rows_scan(db, scan_id));
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ia_q_loader_class c;
        c.loader = ia_col_str(st, 0);
        c.split = ia_col_str(st, 1);
        c.label = ia_col_str(st, 2);
        c.idx = ia_col_nonneg(st, 3);
        c.listed = ia_col_count(st, 4);
        ret = cb(user, &c);
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the class indices");
    sqlite3_finalize(st);
    return ret;
}

int ia_q_lens_loaders(ia_db *db, ia_q_name_cb cb, void *user)
{
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_DONE, ret = IA_OK;
    if (sqlite3_prepare_v2(db->conn, "SELECT name FROM temp.lens_loader"
                           " WHERE name <> '' ORDER BY name", -1, &st,
                           NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "reading the findings view");
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ret = cb(user, ia_col_str(st, 0));
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the findings view");
    sqlite3_finalize(st);
    return ret;
}
