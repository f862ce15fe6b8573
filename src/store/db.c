/*
 * The connection behind an ia_db handle, owned by one thread (the scan's
 * writer): opening and identifying a DB, the schema, its migrations and
 * the check that it was not altered, statements cached per connection,
 * transactions, errors and scan references. The writes are in write.c,
 * the reads in query.c and the other store files; all build on this file
 * and it calls none of them.
 *
 * Why it is shaped this way:
 *   - Writers use WAL with synchronous=NORMAL and batch files into large
 *     explicit transactions (IA_STORE_BATCH files each): a scan writes
 *     thousands of rows a second and must not fsync per row.
 *   - At close a writer checkpoints and switches back to journal_mode
 *     DELETE, so the DB is one self-contained file that a read-only handle
 *     can open even in a folder it cannot write to (no -wal/-shm needed).
 *   - Read-only handles are opened with SQLITE_OPEN_READONLY and never run
 *     a statement that writes: a baseline stays byte-identical.
 *   - Migrations are an append-only array (schema.c) indexed by PRAGMA
 *     user_version, applied in one BEGIN IMMEDIATE transaction;
 *     application_id marks the file as ours, so another program's SQLite
 *     file is refused, not "migrated".
 *   - Statements are prepared lazily once per connection and finalized at
 *     close; every step is checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/core.h"
#include "store/col.h"
#include "store/db.h"
#include "store/lock.h"
#include "store/schema.h"

#define SCHEMA_LATEST IA_SCHEMA_LATEST



static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT_SCAN] =
        "INSERT INTO scan(name, root, layout, options, tool_version,"
        " started_at, shard_k, shard_n) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_INSERT_FILE] =
        "INSERT INTO file(scan_id, path, split, split_canonical, label,"
        " outside_class, size, mtime_ns, sha256, format, ext_format, status,"
        " message, width, height, channels, bit_depth, color_space,"
        " rows_decoded, rows_total, progressive, subsampling, jpeg_quality,"
        " exif_orientation, icc, interlaced, palette, has_alpha, animated,"
        " frames, pixels, sum_r, sum_g, sum_b, sumsq_r, sumsq_g, sumsq_b,"
        " min_r, min_g, min_b, max_r, max_g, max_b, brightness, contrast,"
        " entropy, sharpness, frac_black, frac_white, is_constant,"
        " alpha_used, pixel_hash, phash, dhash, hash_uniform, archive,"
        " loader_facts)"
        " VALUES ("
        "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
        "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_INSERT_FINDING] =
        "INSERT INTO finding(scan_id, file_id, path, code, severity, detail,"
        " stage, loader, group_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_COUNT_DECODED] =
        "SELECT count(*) FROM file WHERE scan_id = ? AND status = 'ok'",
    /* Over decoded files only, as the "of N decoded" it is judged
     * against: a too_large gray PNG has its grayscale finding too. */
    [ST_COUNT_CODE] =
        "SELECT count(DISTINCT g.file_id) FROM finding g"
        " JOIN file f ON f.id = g.file_id"
        " WHERE g.scan_id = ?1 AND g.code = ?2 AND f.status = 'ok'",
    [ST_SET_CODE_SEVERITY] =
        "UPDATE finding SET severity = ?"
        " WHERE scan_id = ? AND code = ? AND file_id IS NOT NULL",
    [ST_DELETE_DATASET_CODE] =
        "DELETE FROM finding"
        " WHERE scan_id = ? AND code = ? AND file_id IS NULL",
    /* One pass over the scan's rows for all four (four subqueries read
     * them up to four times: 0.09 s against 0.06 s on 100,000 files). */
    [ST_UPDATE_TOTALS] =
        "UPDATE scan SET (files, decoded, bytes, pixels) ="
        " (SELECT count(*), count(CASE WHEN status = 'ok' THEN 1 END),"
        "  coalesce(sum(size), 0),"
        "  coalesce(sum(CASE WHEN status = 'ok' THEN width * height END), 0)"
        "  FROM file WHERE scan_id = ?1),"
        " finished_at = ?2, complete = ?3"
        " WHERE id = ?1",
    [ST_SCAN_TOTALS] =
        "SELECT files, decoded, bytes, pixels FROM scan WHERE id = ?",
    [ST_RESOLVE_ID] = "SELECT id FROM scan WHERE id = ?",
    [ST_RESOLVE_NAME] =
        "SELECT id FROM scan WHERE name = ? ORDER BY id DESC LIMIT 1",
    [ST_RESOLVE_LATEST] =
        "SELECT id FROM scan ORDER BY complete DESC, id DESC LIMIT 1",
    [ST_ROWS_OF] = "SELECT coalesce(same_as, id) FROM scan WHERE id = ?",
    [ST_SHARE] =
        "UPDATE scan SET same_as = o.id, files = o.files,"
        " decoded = o.decoded, bytes = o.bytes, pixels = o.pixels,"
        " finished_at = ?3, complete = 1"
        " FROM (SELECT id, files, decoded, bytes, pixels FROM scan"
        "       WHERE id = ?2 AND same_as IS NULL AND complete = 1) AS o"
        " WHERE scan.id = ?1",
};


/* ---- errors ---------------------------------------------------------- */

int ia_store_fail(ia_db *db, int err, const char *fmt, ...)
{
    if (!db)
        return err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(db->errmsg, sizeof db->errmsg, fmt, ap);
    va_end(ap);
    if (n < 0)
        db->errmsg[0] = '\0';
    return err;
}

int ia_store_sqlfail(ia_db *db, const char *what)
{
    const char *msg = db->conn ? sqlite3_errmsg(db->conn) : "no connection";
    return ia_store_fail(db, IA_ERR_DB, "%s: %s", what, msg);
}

const char *ia_db_errmsg(const ia_db *db)
{
    return db ? db->errmsg : "";
}

struct sqlite3 *ia_store_sqlite(ia_db *db)
{
    return db->conn;
}

int ia_store_schema_latest(void)
{
    return SCHEMA_LATEST;
}

int ia_store_schema_version(const ia_db *db)
{
    return db->schema;
}

/* ---- statement helpers ----------------------------------------------- */

sqlite3_stmt *ia_store_stmt(ia_db *db, enum stmt_id id)
{
    if (!db->stmt[id] &&
        sqlite3_prepare_v3(db->conn, stmt_sql[id], -1,
                           SQLITE_PREPARE_PERSISTENT, &db->stmt[id],
                           NULL) != SQLITE_OK) {
        ia_store_sqlfail(db, "preparing a statement");
        db->stmt[id] = NULL;
    }
    return db->stmt[id];
}

void ia_store_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Binds parameters left to right; the first failure sticks in rc. */
int ia_store_step_done(ia_db *db, sqlite3_stmt *st, const char *what)
{
    int ret = IA_OK;
    if (sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(db, what);
    ia_store_stmt_done(st);
    return ret;
}

/* Steps a statement that returns one integer; *found says whether a row
 * came back (NULL: a missing row is an error). */
int ia_store_step_int(ia_db *db, sqlite3_stmt *st, const char *what,
                    int64_t *out, int *found)
{
    int ret = IA_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        if (found)
            *found = 1;
    } else if (rc == SQLITE_DONE && found) {
        *found = 0;
    } else {
        ret = ia_store_sqlfail(db, what);
    }
    ia_store_stmt_done(st);
    return ret;
}

int ia_store_exec(ia_db *db, const char *sql, const char *what)
{
    if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, what);
    return IA_OK;
}

/* Reads a PRAGMA that returns one integer. */
static int pragma_int(ia_db *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_ERR_DB;
    if (sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL) != SQLITE_OK) {
        ia_store_sqlfail(db, "reading the database header");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        ia_store_sqlfail(db, "reading the database header");
        goto out;
    }
    *out = sqlite3_column_int64(st, 0);
    ret = IA_OK;
out:
    sqlite3_finalize(st);
    return ret;
}

/* ---- transactions ---------------------------------------------------- */

int ia_store_batch_begin(ia_db *db)
{
    if (!sqlite3_get_autocommit(db->conn))
        return IA_OK;
    db->batch = 0;
    return ia_store_exec(db, "BEGIN IMMEDIATE", "starting a transaction");
}

int ia_store_batch_commit(ia_db *db)
{
    int ret = IA_OK;
    if (!sqlite3_get_autocommit(db->conn))
        ret = ia_store_exec(db, "COMMIT", "committing");
    db->batch = 0;
    return ret;
}

/* Rolls the open batch back after a failure; keeps the failure's message.
 * SQLite may already have rolled back (full disk), hence the check. */
void ia_store_batch_abort(ia_db *db)
{
    if (!sqlite3_get_autocommit(db->conn))
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    db->batch = 0;
}

/* For the other writers of file rows (store/reuse.c): the same batches. */
int ia_store_batch_open(ia_db *db)
{
    int ret = ia_store_need_writer(db);
    return ret == IA_OK ? ia_store_batch_begin(db) : ret;
}

int ia_store_batch_close(ia_db *db)
{
    return ia_store_batch_commit(db);
}

int ia_store_batch_done(ia_db *db, int ok)
{
    if (!ok) {
        ia_store_batch_abort(db);
        return IA_OK;
    }
    return ++db->batch >= IA_STORE_BATCH ? ia_store_batch_commit(db) : IA_OK;
}

/* ---- open, identify, migrate, close ---------------------------------- */

static int open_fail(ia_db *db, const char *path, const char *what)
{
    int code = db->conn ? sqlite3_errcode(db->conn) & 0xff : SQLITE_ERROR;
    if (code == SQLITE_NOTADB)
        return ia_store_fail(db, IA_ERR_NOT_DB,
                             "'%s' is not an SQLite database", path);
    return ia_store_fail(db, IA_ERR_DB, "%s '%s': %s", what, path,
                         db->conn ? sqlite3_errmsg(db->conn)
                                  : "out of memory");
}

/* Checks that path holds an imgaudit DB (or, for a writer, an empty one)
 * that this tool can read; sets db->schema. */
static int identify(ia_db *db, const char *path)
{
    int64_t app = 0, version = 0, objects = 0;
    if (pragma_int(db, "PRAGMA application_id", &app) != IA_OK ||
        pragma_int(db, "PRAGMA user_version", &version) != IA_OK ||
        pragma_int(db, "SELECT count(*) FROM sqlite_master", &objects) !=
            IA_OK)
        return open_fail(db, path, "cannot read");
    if (app == 0 && version == 0 && objects == 0) {
        if (!db->writable)
            return ia_store_fail(db, IA_ERR_NOT_DB,
                                 "'%s' is empty, not an imgaudit database",
                                 path);
        db->schema = 0;
        return IA_OK;
    }
    if (app != IA_STORE_APPLICATION_ID)
        return ia_store_fail(db, IA_ERR_NOT_DB,
                             "'%s' is an SQLite database but not an "
                             "imgaudit database", path);
    if (version > SCHEMA_LATEST)
        return ia_store_fail(db, IA_ERR_DB_VERSION,
                             "'%s' was written by a newer imgaudit (schema "
                             "%lld, this tool knows %d)", path,
                             (long long)version, SCHEMA_LATEST);
    /* Marked ours but at schema 0 (made by hand, as the tests do): a
     * writer migrates it, a reader has nothing to read. */
    if (version < 1 && !db->writable)
        return ia_store_fail(db, IA_ERR_NOT_DB,
                             "'%s' has no imgaudit schema", path);
    db->schema = (int)version;
    return IA_OK;
}

/* ---- the schema check -------------------------------------------------- */

/* Whether column i of the DB's row holds the text want (NULL: SQL NULL),
 * of that type and those bytes. */
static int same_col(sqlite3_stmt *have, int i, const char *want)
{
    int type = sqlite3_column_type(have, i);
    if (!want)
        return type == SQLITE_NULL;
    const void *p = sqlite3_column_blob(have, i);
    size_t n = strlen(want);
    return type == SQLITE_TEXT && (size_t)sqlite3_column_bytes(have, i) == n &&
           (n == 0 || memcmp(p, want, n) == 0);
}

const char *const ia_file_index_name[FILE_INDEX_COUNT] = {
    "file_sha256", "file_status", "file_split_label"};
/* As in the first migration, where they were made. */
const char *const ia_file_index_sql[FILE_INDEX_COUNT] = {
    "CREATE INDEX file_sha256 ON file(scan_id, sha256)",
    "CREATE INDEX file_status ON file(scan_id, status)",
    "CREATE INDEX file_split_label ON file(scan_id, split, label)"};

/* Whether the expected row want is one of the file table's indexes a
 * first scan builds at its end (ia_store_defer_file_indexes): a scan
 * killed before that leaves them missing, which costs speed, never a
 * result; the next writer rebuilds them. */
static int deferred_index(const ia_schema_row *want)
{
    if (strcmp(want->type, "index") != 0)
        return 0;
    for (int i = 0; i < FILE_INDEX_COUNT; i++)
        if (strcmp(want->name, ia_file_index_name[i]) == 0)
            return 1;
    return 0;
}

/* The first difference between the DB's schema rows (have, stepped from
 * its start) and the expected ones (both sorted by type and name), in
 * why (whylen bytes); 0 when there is none, -1 when the DB's rows cannot
 * be read. Sets db->file_indexes_missing. */
static int schema_diff(ia_db *db, sqlite3_stmt *have,
                       const ia_schema_row *want, size_t nwant, char *why,
                       size_t whylen)
{
    size_t w = 0;
    int h = sqlite3_step(have), d;
    db->file_indexes_missing = 0;
    for (;;) {
        if (h != SQLITE_ROW && h != SQLITE_DONE)
            return -1;
        if (h == SQLITE_DONE && w == nwant)
            return 0;
        if (h == SQLITE_DONE || w == nwant)
            d = h == SQLITE_DONE ? 1 : -1;
        else if (!(d = strcmp(ia_col_str(have, 0), want[w].type)))
            d = strcmp(ia_col_str(have, 1), want[w].name);
        if (d > 0 && deferred_index(&want[w])) {
            db->file_indexes_missing = 1;
            w++;
            continue;
        }
        if (d == 0 && same_col(have, 2, want[w].tbl_name) &&
            same_col(have, 3, want[w].sql)) {
            h = sqlite3_step(have);
            w++;
            continue;
        }
        ia_bprintf(why, whylen, "%s %s %s",
                   d > 0 ? want[w].type : ia_col_str(have, 0),
                   d > 0 ? want[w].name : ia_col_str(have, 1),
                   d < 0 ? "is not imgaudit's"
                   : d > 0 ? "is missing" : "differs from imgaudit's");
        return 1;
    }
}

/* Compares the DB's schema with the rows expected at version: first the
 * ones the build wrote (schema_gen.c), then, when they differ, the ones
 * the SQLite linked now writes (another version of SQLite may write a
 * table altered by a migration in other words), which alone decide. */
static int compare_schema(ia_db *db, const char *path, int64_t version)
{
    sqlite3_stmt *have = NULL;
    ia_schema_row *now = NULL;
    size_t nnow = 0;
    char why[256] = "";
    int diff = -1;
    if (sqlite3_prepare_v2(db->conn, IA_SCHEMA_ROWS_SQL, -1, &have, NULL) ==
        SQLITE_OK)
        diff = schema_diff(db, have, ia_schema_built[version],
                           ia_schema_built_n[version], why, sizeof why);
    if (diff > 0) {
        sqlite3_reset(have);
        char err[256] = "";
        if (ia_schema_rows_now((int)version, &now, &nnow, err, sizeof err) !=
            SQLITE_OK) {
            sqlite3_finalize(have);
            return ia_store_fail(db, IA_ERR_DB, "building the expected "
                                 "schema: %s", err);
        }
        diff = schema_diff(db, have, now, nnow, why, sizeof why);
        free(now);
    }
    sqlite3_finalize(have);
    if (diff < 0)
        return open_fail(db, path, "cannot read the schema of");
    if (diff > 0)
        return ia_store_fail(db, IA_ERR_DB, "'%s': the DB schema was "
                             "altered: %s", path, why);
    return IA_OK;
}

/* Refuses a DB whose schema is not exactly the one its user_version
 * promises (docs/security.md): PRAGMA writable_schema can drop a NOT
 * NULL or a CHECK, retype a column or add a trigger or a view, and every
 * query of this tool trusts the schema. Version and schema are read in
 * one transaction, so a writer migrating meanwhile is seen whole or not
 * at all. */
static int check_schema(ia_db *db, const char *path)
{
    int64_t version = 0;
    int ret = ia_store_exec(db, "BEGIN", "reading the schema");
    if (ret == IA_OK)
        ret = pragma_int(db, "PRAGMA user_version", &version);
    if (ret == IA_OK && (version < 1 || version > SCHEMA_LATEST))
        ret = ia_store_fail(db, IA_ERR_DB, "'%s' changed while being "
                            "opened", path);
    if (ret == IA_OK)
        ret = compare_schema(db, path, version);
    if (!sqlite3_get_autocommit(db->conn))
        sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL);
    if (ret == IA_OK)
        db->schema = (int)version;
    return ret;
}

static int migrate(ia_db *db, const char *path)
{
    char sql[96];
    int ret = IA_ERR_DB;
    int64_t version = 0;
    if (db->schema == SCHEMA_LATEST)
        return IA_OK;
    if (ia_store_exec(db, "BEGIN IMMEDIATE", "starting the migration") != IA_OK)
        return IA_ERR_DB;
    /* Another process may have migrated between identify() and here. */
    if (pragma_int(db, "PRAGMA user_version", &version) != IA_OK)
        goto out;
    for (int64_t v = version; v < SCHEMA_LATEST; v++) {
        if (sqlite3_exec(db->conn, ia_schema_migrations[v], NULL, NULL,
                         NULL) != SQLITE_OK) {
            ia_store_fail(db, IA_ERR_DB, "migrating '%s' to schema %lld: %s",
                          path, (long long)(v + 1),
                          sqlite3_errmsg(db->conn));
            goto out;
        }
    }
    ia_bprintf(sql, sizeof sql, "PRAGMA user_version = %d; "
               "PRAGMA application_id = %d", SCHEMA_LATEST,
               IA_STORE_APPLICATION_ID);
    if (ia_store_exec(db, sql, "migrating") != IA_OK ||
        ia_store_exec(db, "COMMIT", "committing the migration") != IA_OK)
        goto out;
    db->schema = SCHEMA_LATEST;
    ret = IA_OK;
out:
    if (ret != IA_OK && !sqlite3_get_autocommit(db->conn))
        sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
    return ret;
}

/* The view every reader of findings goes through: the stored findings
 * with a policy's severities (lens_severity; -1 hides a code) and only
 * the loader profiles asked for (lens_loader; empty: all). store/lens.c
 * fills the two tables. Temp objects, so that a read-only handle has
 * them too and the DB file never does; a DB from before migration 7 has
 * no loader findings and no groups on its findings. temp_store stays
 * SQLite's default (a temp file, created only when pages spill): these
 * tables are a few rows and never spill, while MEMORY would also keep
 * every large sort in memory (the statistics' sort of a million rows:
 * 100 MB of RSS, docs/performance.md). */
static int create_lens(ia_db *db)
{
    char sql[1400];
    int v7 = db->schema >= IA_SCHEMA_LOADERS;
    ia_bprintf(sql, sizeof sql,
               "CREATE TEMP TABLE lens_loader(name TEXT PRIMARY KEY)"
               " WITHOUT ROWID;"
               "CREATE TEMP TABLE lens_severity(code TEXT PRIMARY KEY,"
               " severity INTEGER NOT NULL) WITHOUT ROWID;"
               "CREATE TEMP VIEW shown_finding AS SELECT g.id AS id,"
               " g.scan_id AS scan_id, g.file_id AS file_id, g.path AS path,"
               " g.code AS code, coalesce(s.severity, g.severity)"
               " AS severity, g.detail AS detail, %s AS loader,"
               " %s AS group_id FROM main.finding g"
               " LEFT JOIN lens_severity s ON s.code = g.code"
               " WHERE coalesce(s.severity, 0) >= 0%s",
               v7 ? "g.loader" : "NULL", v7 ? "g.group_id" : "NULL",
               v7 ? " AND (g.loader IS NULL OR NOT EXISTS"
                    " (SELECT 1 FROM lens_loader)"
                    " OR g.loader IN (SELECT name FROM lens_loader))"
                  : "");
    return ia_store_exec(db, sql, "preparing the findings view");
}

static int configure_writer(ia_db *db)
{
    int64_t ignored;
    /* journal_mode answers with a row, so it is read, not exec'd. */
    if (pragma_int(db, "PRAGMA journal_mode = WAL", &ignored) != IA_OK)
        return IA_ERR_DB;
    return ia_store_exec(db, "PRAGMA synchronous = NORMAL", "configuring");
}

/* A writer takes the DB's writer lock before it touches the file, so a
 * second writer is turned away (IA_ERR_BUSY) having written nothing, and
 * notes whether the file exists: one this open creates is removed again
 * if the open fails (discard_new). Holding the lock, no other imgaudit
 * can create the file in between. */
static int lock_writer(ia_db *db, const char *path)
{
    char why[512];
    struct stat st;
    int rc = ia_dblock_take(path, &db->lock, why, sizeof why);
    if (rc != IA_OK)
        return ia_store_fail(db, rc, "%s", why);
    db->created = lstat(path, &st) != 0 && errno == ENOENT;
    return IA_OK;
}

/* Creating a new DB failed (a full disk, say): the files this open made
 * go, so no empty DB is left behind. The message stays. */
static void discard_new(ia_db *db, const char *path)
{
    static const char *const sidecars[] = {"", "-wal", "-shm", "-journal"};
    size_t cap = strlen(path) + sizeof "-journal";
    char *name = malloc(cap);
    sqlite3_close_v2(db->conn);
    db->conn = NULL;
    for (size_t i = 0; name && i < IA_ARRAY_LEN(sidecars); i++) {
        ia_bprintf(name, cap, "%s%s", path, sidecars[i]);
        unlink(name);
    }
    free(name);
}

/* At a writer's open, after a first scan that never built them. Best
 * effort: if even that fails (a full disk), the open goes on without them,
 * so that a writer can still free space (scans --delete); the next scan's
 * finish tries again. */
static void rebuild_file_indexes(ia_db *db)
{
    if (ia_store_restore_file_indexes(db) == IA_OK &&
        ia_store_batch_commit(db) == IA_OK)
        return;
    ia_store_batch_abort(db);
    db->file_indexes_missing = 1;
}

int ia_store_same_file(ia_db *db, const char *path)
{
    struct stat a, b;
    const char *name = db && db->conn ? sqlite3_db_filename(db->conn, "main")
                                      : NULL;
    return name && *name && stat(name, &a) == 0 && stat(path, &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* ia_db_open; checked: a writer open on the same file, whose open
 * checked the schema (and migrated it), and whose lock keeps it so. */
static int open_db(const char *path, int flags, int checked, ia_db **out)
{
    int ret = IA_ERR_DB;
    if (!out)
        return IA_ERR_ARG;
    *out = NULL;
    ia_db *db = calloc(1, sizeof *db);
    if (!db)
        return IA_ERR_NOMEM;
    db->lock.fd = -1;
    if (!path || !*path) {
        ret = ia_store_fail(db, IA_ERR_ARG, "no database path given");
        goto out;
    }
    db->writable = (flags & IA_DB_CREATE) != 0;
    if (db->writable && (ret = lock_writer(db, path)) != IA_OK)
        goto out;
    /* NOMUTEX: a handle is used by one thread at a time, so SQLite's
     * per-call connection mutex is pure cost (a few percent of a
     * reusing rescan). */
    int oflags = (db->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                               : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->conn, oflags, NULL) != SQLITE_OK) {
        ret = open_fail(db, path, "cannot open");
        goto out;
    }
    /* Writers never wait for each other here (the writer lock); this
     * covers a reader's short moments (a WAL checkpoint, the switch back
     * to journal_mode DELETE at a writer's close). */
    sqlite3_busy_timeout(db->conn, 5000);
    ret = identify(db, path);
    if (ret == IA_OK && db->schema >= 1 && !checked)
        ret = check_schema(db, path);
    if (ret != IA_OK)
        goto out;
    ret = ia_store_exec(db, "PRAGMA foreign_keys = ON", "configuring");
    if (ret == IA_OK && db->writable)
        ret = configure_writer(db);
    if (ret == IA_OK && db->writable)
        ret = migrate(db, path);
    if (ret == IA_OK && db->writable && db->file_indexes_missing)
        rebuild_file_indexes(db);
    if (ret == IA_OK)
        ret = create_lens(db);
    if (ret == IA_OK) {
        db->ready = 1;
        db->errmsg[0] = '\0';
    }
out:
    if (ret != IA_OK && db->created)
        discard_new(db, path);
    *out = db;
    return ret;
}

int ia_db_open(const char *path, int flags, ia_db **out)
{
    return open_db(path, flags, 0, out);
}

int ia_store_open_reader(ia_db *writer, const char *path, ia_db **out)
{
    int checked = writer && writer->writable && writer->ready &&
                  writer->schema == SCHEMA_LATEST &&
                  ia_store_same_file(writer, path);
    return open_db(path, IA_DB_READONLY, checked, out);
}

void ia_db_close(ia_db *db)
{
    if (!db)
        return;
    if (db->conn) {
        /* A scan stopped without ia_store_scan_finish keeps what it has
         * stored: its scan row stays incomplete. */
        if (!sqlite3_get_autocommit(db->conn) &&
            sqlite3_exec(db->conn, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
        for (int i = 0; i < ST_COUNT; i++)
            sqlite3_finalize(db->stmt[i]);
        if (db->writable && db->ready) {
            /* Best effort: another connection may hold the DB; then it
             * stays in WAL mode and SQLite cleans up after the last one. */
            sqlite3_busy_timeout(db->conn, 500);
            sqlite3_exec(db->conn, "PRAGMA wal_checkpoint(TRUNCATE);"
                         "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
        }
        sqlite3_close_v2(db->conn);
    }
    /* After the close: the next writer finds the DB closed. */
    ia_dblock_release(&db->lock);
    free(db);
}

/* ---- the deferred file indexes --------------------------------------- */

static int drop_file_indexes(ia_db *db)
{
    char sql[96];
    int ret = IA_OK;
    for (int i = 0; i < FILE_INDEX_COUNT && ret == IA_OK; i++) {
        ia_bprintf(sql, sizeof sql, "DROP INDEX IF EXISTS %s",
                   ia_file_index_name[i]);
        ret = ia_store_exec(db, sql, "deferring the file indexes");
    }
    return ret;
}

int ia_store_defer_file_indexes(ia_db *db)
{
    int64_t any = 1;
    sqlite3_stmt *st = NULL;
    int ret = ia_store_need_writer(db);
    if (ret != IA_OK)
        return ret;
    if (sqlite3_prepare_v2(db->conn, "SELECT EXISTS (SELECT 1 FROM file)",
                           -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "looking at the file table");
    ret = ia_store_step_int(db, st, "looking at the file table", &any, NULL);
    sqlite3_finalize(st);
    if (ret != IA_OK || any)
        return ret;
    ret = ia_store_batch_begin(db);
    if (ret == IA_OK)
        ret = drop_file_indexes(db);
    if (ret == IA_OK)
        db->file_indexes_missing = 1;
    return ret;
}

/* All three again, in schema order, also when only some are missing: in
 * one transaction, so a DB has all of them or none. */
int ia_store_restore_file_indexes(ia_db *db)
{
    if (!db->file_indexes_missing)
        return IA_OK;
    int ret = ia_store_need_writer(db);
    if (ret == IA_OK)
        ret = ia_store_batch_begin(db);
    if (ret == IA_OK)
        ret = drop_file_indexes(db);
    for (int i = 0; i < FILE_INDEX_COUNT && ret == IA_OK; i++)
        ret = ia_store_exec(db, ia_file_index_sql[i],
                            "building the file indexes");
    if (ret == IA_OK)
        db->file_indexes_missing = 0;
    return ret;
}

/* ---- a second reader ---------------------------------------------------- */

const char *ia_store_reader_path(ia_db *db)
{
    sqlite3_stmt *st = NULL;
    int wal = 0;

    if (!db || !db->conn || !sqlite3_get_autocommit(db->conn))
        return NULL;
    /* In WAL mode a reader neither waits for this handle's writes nor
     * makes them wait; in the rollback journal it would. */
    if (sqlite3_prepare_v2(db->conn, "PRAGMA main.journal_mode", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        wal = m && strcmp(m, "wal") == 0;
    }
    sqlite3_finalize(st);
    const char *path = sqlite3_db_filename(db->conn, "main");
    return wal && path && *path ? path : NULL;
}

/* ---- writes ---------------------------------------------------------- */

int ia_store_need_writer(ia_db *db)
{
    if (!db->writable)
        return ia_store_fail(db, IA_ERR_DB,
                             "the database was opened read-only");
    return IA_OK;
}

/* ---- unchanged rescans ------------------------------------------------ */

int64_t ia_store_rows_scan(ia_db *db, int64_t scan_id)
{
    int64_t rows = scan_id;
    int found = 0;
    if (db->schema < 5)
        return scan_id;     /* written before scans could share rows */
    sqlite3_stmt *st = ia_store_stmt(db, ST_ROWS_OF);
    if (!st)
        return scan_id;
    sqlite3_bind_int64(st, 1, scan_id);
    if (ia_store_step_int(db, st, "looking up the scan", &rows, &found) != IA_OK ||
        !found)
        rows = scan_id;
    return rows;
}

/* ---- resolving scan references --------------------------------------- */

/* A reference made only of digits is an id when such a scan exists. */
static int parse_id(const char *ref, int64_t *id)
{
    int64_t v = 0;
    if (!*ref)
        return -1;
    for (const char *p = ref; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, *p - '0', &v))
            return -1;
    }
    *id = v;
    return 0;
}

static int resolve_one(ia_db *db, enum stmt_id which, const char *text,
                       int64_t id, int64_t *out, int *found)
{
    sqlite3_stmt *st = ia_store_stmt(db, which);
    if (!st)
        return IA_ERR_DB;
    if (which == ST_RESOLVE_ID)
        sqlite3_bind_int64(st, 1, id);
    else if (which == ST_RESOLVE_NAME)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    return ia_store_step_int(db, st, "looking up the scan", out, found);
}

int ia_store_resolve_scan(ia_db *db, const char *ref, int64_t *scan_id)
{
    int64_t id = 0, found_id = 0;
    int found = 0;
    int ret;
    if (!ref || !*ref) {
        ret = resolve_one(db, ST_RESOLVE_LATEST, NULL, 0, &found_id, &found);
        if (ret == IA_OK && !found)
            ret = ia_store_fail(db, IA_ERR_NOT_FOUND,
                                "the database holds no scan");
    } else {
        ret = IA_OK;
        if (parse_id(ref, &id) == 0)
            ret = resolve_one(db, ST_RESOLVE_ID, NULL, id, &found_id,
                              &found);
        if (ret == IA_OK && !found)
            ret = resolve_one(db, ST_RESOLVE_NAME, ref, 0, &found_id,
                              &found);
        if (ret == IA_OK && !found)
            ret = ia_store_fail(db, IA_ERR_NOT_FOUND,
                                "no scan named '%s'", ref);
    }
    if (ret == IA_OK)
        *scan_id = found_id;
    return ret;
}
