/*
 * Deleting a scan (imgaudit scans --delete): one DELETE of its scan row;
 * every table's rows follow it through ON DELETE CASCADE (db.c), in one
 * transaction, so an interruption leaves the scan whole or gone. A scan
 * whose rows others read (an unchanged rescan's same_as) is refused: its
 * rows are theirs too. Reclaiming the space (VACUUM) is the caller's
 * next step, outside the transaction (ia_store_vacuum).
 */
#include <sqlite3.h>

#include "store/db.h"
#include "store/store.h"

/* The scans reading scan_id's rows: how many, and their ids ("3, 7"). */
static int sharers_of(ia_db *db, int64_t scan_id, int64_t *n, char *list,
                      size_t cap)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (sqlite3_prepare_v2(db->conn, "SELECT count(*), group_concat(id, ', ')"
                           " FROM scan WHERE same_as = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "listing the scans sharing rows");
    sqlite3_bind_int64(st, 1, scan_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 1);
        *n = sqlite3_column_int64(st, 0);
        ia_strlcpy(list, t ? (const char *)t : "", cap);
    } else {
        ret = ia_store_sqlfail(db, "listing the scans sharing rows");
    }
    sqlite3_finalize(st);
    return ret;
}

static int delete_row(ia_db *db, int64_t scan_id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->conn, "DELETE FROM scan WHERE id = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "deleting a scan");
    sqlite3_bind_int64(st, 1, scan_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? IA_OK : ia_store_sqlfail(db, "deleting a scan");
}

int ia_store_scan_delete(ia_db *db, int64_t scan_id)
{
    char list[256];
    int64_t n = 0;
    int ret = ia_store_need_writer(db);
    if (ret == IA_OK)
        ret = sharers_of(db, scan_id, &n, list, sizeof list);
    if (ret != IA_OK)
        return ret;
    if (n > 0)
        return ia_store_fail(db, IA_ERR_ARG, "scan %lld: its rows are read "
                             "by scan%s %s (unchanged rescans of it): delete "
                             "%s first", (long long)scan_id, n > 1 ? "s" : "",
                             list, n > 1 ? "those" : "that one");
    ret = ia_store_exec(db, "BEGIN IMMEDIATE", "deleting a scan");
    if (ret != IA_OK)
        return ret;
    ret = delete_row(db, scan_id);
    if (ret == IA_OK)
        return ia_store_exec(db, "COMMIT", "deleting a scan");
    sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

int ia_store_vacuum(ia_db *db)
{
    int ret = ia_store_exec(db, "VACUUM", "reclaiming space (VACUUM)");
    if (ret == IA_OK)
        ret = ia_store_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)",
                            "reclaiming space (checkpoint)");
    return ret;
}

static int file_bytes(ia_db *db, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->conn, "SELECT (SELECT page_count FROM "
                           "pragma_page_count) * (SELECT page_size FROM "
                           "pragma_page_size)", -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "measuring the DB");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? IA_OK : ia_store_sqlfail(db, "measuring the DB");
}

int ia_scan_delete(ia_db *db, const char *scan_ref, uint64_t *before,
                   uint64_t *after)
{
    int64_t id = 0;
    uint64_t b = 0, a = 0;
    if (!db || !scan_ref)
        return IA_ERR_ARG;
    int ret = ia_store_resolve_scan(db, scan_ref, &id);
    if (ret == IA_OK)
        ret = file_bytes(db, &b);
    if (ret == IA_OK)
        ret = ia_store_scan_delete(db, id);
    if (ret == IA_OK)
        ret = ia_store_vacuum(db);
    if (ret == IA_OK)
        ret = file_bytes(db, &a);
    if (ret == IA_OK && before)
        *before = b;
    if (ret == IA_OK && after)
        *after = a;
    return ret;
}
