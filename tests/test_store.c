/*
 * Tests of the findings store: schema and migrations, refusal of foreign,
 * newer and corrupt files, read-only handles that never write, batching,
 * the mode-mix rule, scan resolution and clean failure on a full disk.
 * Rows are checked with sqlite3 directly, not through the store's reads.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "sql_check.h"
#include "store/db.h"
#include "store/range.h"
#include "store/schema.h"
#include "store/store.h"
#include "core/core.h"

static char tmpdir[64];

/* ---- fixtures -------------------------------------------------------- */

static void remove_tree(const char *dir)
{
    char path[512];
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        ia_bprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            chmod(path, 0700);
            remove_tree(path);
        } else {
            unlink(path);
        }
    }
    closedir(d);
    rmdir(dir);
}

static int group_setup(void **state)
{
    (void)state;
    ia_strlcpy(tmpdir, "/tmp/ia_test_store_XXXXXX", sizeof tmpdir);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    remove_tree(tmpdir);
    return 0;
}

static void tpath(char *out, size_t cap, const char *name)
{
    ia_bprintf(out, cap, "%s/%s", tmpdir, name);
}

/* First column of the first row as text, copied into out. */
static void sql_text(const char *db, const char *sql, char *out, size_t cap)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    ia_strlcpy(out, t ? (const char *)t : "(null)", cap);
    sqlite3_finalize(st);
    sqlite3_close(c);
}

static void sql_exec_rw(const char *db, const char *sql)
{
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open(db, &c), SQLITE_OK);
    assert_int_equal(sqlite3_exec(c, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(c);
}

static size_t read_all(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    assert_true(n < cap);
    fclose(f);
    return n;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static ia_db *open_ok(const char *path, int flags)
{
    ia_db *db = NULL;
    int rc = ia_db_open(path, flags, &db);
    if (rc != IA_OK)
        fail_msg("open %s: %s", path, ia_db_errmsg(db));
    return db;
}

static int64_t begin_scan(ia_db *db, const char *name)
{
    ia_scan_meta m = {name, "/data/root", "splits", "{\"max_pixels\":1}",
                      "0.1.0", "2026-01-02T03:04:05Z", 0, 0};
    int64_t id = 0;
    assert_int_equal(ia_store_scan_begin(db, &m, &id), IA_OK);
    assert_true(id > 0);
    return id;
}

/* An ok 10x20 RGB JPEG with measures. */
static void ok_result(ia_file_result *r)
{
    ia_result_reset(r);
    r->size = 1000;
    r->mtime_ns = 1700000000123456789LL;
    r->have_sha256 = 1;
    for (int i = 0; i < 32; i++)
        r->sha256[i] = (uint8_t)i;
    r->format = IA_FMT_JPEG;
    r->ext_format = IA_FMT_JPEG;
    r->status = IA_ST_OK;
    r->width = 10;
    r->height = 20;
    r->channels = 3;
    r->bit_depth = 8;
    r->color_space = "ycbcr";
    r->rows_decoded = r->rows_total = 20;
    r->progressive = 0;
    r->subsampling = "4:2:0";
    r->jpeg_quality = 90;
    r->icc = 0;
    r->interlaced = 0;
    r->has_alpha = 0;
    r->animated = 0;
    r->have_measures = 1;
    r->stats.pixels = 200;
    for (int c = 0; c < 3; c++) {
        r->stats.sum[c] = 200u * (uint64_t)(100 + c);
        r->stats.sumsq[c] = 200u * (uint64_t)(100 + c) * (uint64_t)(100 + c);
        r->stats.min[c] = (uint8_t)(100 + c);
        r->stats.max[c] = (uint8_t)(100 + c);
    }
    r->stats.brightness = 101.5;
    r->stats.contrast = 0.25;
    r->stats.entropy = 1.5;
    r->stats.sharpness = 3.0;
    r->stats.alpha_used = -1;
    for (int i = 0; i < 16; i++)
        r->hashes.pixel_hash[i] = (uint8_t)(0xf0 + i);
    r->hashes.phash = 0xfedcba9876543210ULL;
    r->hashes.dhash = 0x0123456789abcdefULL;
}

static int64_t store(ia_db *db, int64_t scan, const char *path,
                     const char *split, const char *label,
                     const ia_file_result *r)
{
    char p[256], s[64], l[64];
    ia_entry e;
    int64_t id = 0;
    memset(&e, 0, sizeof e);
    ia_strlcpy(p, path, sizeof p);
    e.relpath = e.fullpath = p;
    if (split) {
        ia_strlcpy(s, split, sizeof s);
        e.split = s;
        e.split_canonical = ia_split_canonical(split);
    }
    if (label) {
        ia_strlcpy(l, label, sizeof l);
        e.label = l;
    }
    int rc = ia_store_file(db, scan, &e, r, &id);
    if (rc != IA_OK)
        fail_msg("store %s: %s", path, ia_db_errmsg(db));
    assert_true(id > 0);
    return id;
}

/* ---- schema ---------------------------------------------------------- */

/* IA_SCAN_ID_RANGE (store/range.h) gives exactly each scan's smallest and
 * largest id, by the table's first and last rows where they are the
 * scan's and by the index pass where not: scans whose rows interleave (a
 * resumed scan), a scan in the middle, a scan with no rows, an empty
 * table. Checked against plain min()/max(). */
static void test_scan_id_range(void **state)
{
    (void)state;
    static const int owner[] = {1, 1, 2, 2, 1, 3, 3, 2, 4, 4};
    /* the bounds are row ids, so the rows in range end at them; and the
     * scan's rows in range are all of them */
    static const char range_sql[] =
        "SELECT min(id), max(id), count(CASE WHEN scan_id = ?1 THEN 1 END)"
        " FROM file WHERE id BETWEEN" IA_SCAN_ID_RANGE("file");
    static const char plain_sql[] =
        "SELECT (SELECT min(id) FROM file WHERE scan_id = ?1),"
        " (SELECT max(id) FROM file WHERE scan_id = ?1),"
        " (SELECT count(*) FROM file WHERE scan_id = ?1)";
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE file (id INTEGER "
                                  "PRIMARY KEY, scan_id INTEGER NOT NULL);"
                                  "CREATE INDEX file_scan_x ON file(scan_id,"
                                  " id)", NULL, NULL, NULL), SQLITE_OK);
    for (int fill = 0; fill < 2; fill++) {
        if (fill)
            for (size_t i = 0; i < sizeof owner / sizeof *owner; i++) {
                char sql[96];
                snprintf(sql, sizeof sql, "INSERT INTO file VALUES "
                         "(%zu, %d)", 10 + 3 * i, owner[i]);
                assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
                                 SQLITE_OK);
            }
        for (int scan = 0; scan <= 5; scan++) {
            sqlite3_stmt *a = NULL, *b = NULL;
            assert_int_equal(sqlite3_prepare_v2(db, range_sql, -1, &a, NULL),
                             SQLITE_OK);
            assert_int_equal(sqlite3_prepare_v2(db, plain_sql, -1, &b, NULL),
                             SQLITE_OK);
            sqlite3_bind_int(a, 1, scan);
            sqlite3_bind_int(b, 1, scan);
            assert_int_equal(sqlite3_step(a), SQLITE_ROW);
            assert_int_equal(sqlite3_step(b), SQLITE_ROW);
            for (int c = 0; c < 3; c++) {
                assert_int_equal(sqlite3_column_type(a, c),
                                 sqlite3_column_type(b, c));
                assert_int_equal(sqlite3_column_int64(a, c),
                                 sqlite3_column_int64(b, c));
            }
            /* the scans with rows have them, the others none */
            assert_int_equal(sqlite3_column_type(b, 0) == SQLITE_NULL,
                             !fill || scan == 0 || scan == 5);
            sqlite3_finalize(a);
            sqlite3_finalize(b);
        }
    }
    sqlite3_close(db);
}

static void test_create_schema(void **state)
{
    char db_path[256], wal[300], shm[300], q[128];
    unsigned char head[100];
    (void)state;
    tpath(db_path, sizeof db_path, "create.db");
    ia_db *db = open_ok(db_path, IA_DB_CREATE);
    ia_db_close(db);

    ia_bprintf(q, sizeof q, "PRAGMA user_version");
    assert_int_equal(sql_int(db_path, q), ia_store_schema_latest());
    assert_true(ia_store_schema_latest() >= 1);
    assert_int_equal(sql_int(db_path, "PRAGMA application_id"),
                     IA_STORE_APPLICATION_ID);
    assert_int_equal(sql_int(db_path, "SELECT count(*) FROM "
                             "pragma_table_info('scan')"), 16);
    /* 58 file columns: schema 6 added archive, schema 7 loader_facts */
    assert_int_equal(sql_int(db_path, "SELECT count(*) FROM "
                             "pragma_table_info('file')"), 58);
    assert_int_equal(sql_int(db_path, "SELECT count(*) FROM "
                             "pragma_table_info('finding')"), 10);
    assert_int_equal(sql_int(db_path, "SELECT count(*) FROM sqlite_master "
                             "WHERE type = 'index' AND name IN ("
                             "'file_sha256', 'file_status', 'finding_code',"
                             " 'finding_file')"), 4);
    /* One self-contained file in rollback-journal mode: header bytes 18
     * and 19 are 1 (2 would be WAL), and no -wal or -shm is left. */
    FILE *f = fopen(db_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    assert_int_equal(head[18], 1);
    assert_int_equal(head[19], 1);
    ia_bprintf(wal, sizeof wal, "%s-wal", db_path);
    ia_bprintf(shm, sizeof shm, "%s-shm", db_path);
    assert_false(exists(wal));
    assert_false(exists(shm));

    /* Reopening for writing keeps the schema (no second migration). */
    db = open_ok(db_path, IA_DB_CREATE);
    assert_int_equal(ia_store_schema_version(db), ia_store_schema_latest());
    ia_db_close(db);
    db = open_ok(db_path, IA_DB_READONLY);
    assert_int_equal(ia_store_schema_version(db), ia_store_schema_latest());
    ia_db_close(db);
}

/* The rows the build wrote (schema_gen) are the ones the SQLite linked
 * writes, at every version: else every open would take the slow path,
 * and a difference in the generator's quoting would go unseen. */
static void test_schema_built_rows(void **state)
{
    (void)state;
    assert_null(ia_schema_built[0]);
    for (int v = 1; v <= IA_SCHEMA_LATEST; v++) {
        ia_schema_row *now;
        size_t n;
        char err[128] = "";
        assert_int_equal(ia_schema_rows_now(v, &now, &n, err, sizeof err),
                         SQLITE_OK);
        assert_int_equal(n, ia_schema_built_n[v]);
        assert_true(n >= 3);
        for (size_t i = 0; i < n; i++) {
            const ia_schema_row *b = &ia_schema_built[v][i];
            assert_string_equal(b->type, now[i].type);
            assert_string_equal(b->name, now[i].name);
            assert_string_equal(b->tbl_name, now[i].tbl_name);
            if (now[i].sql)
                assert_string_equal(b->sql, now[i].sql);
            else
                assert_null(b->sql);
        }
        free(now);
    }
    char err[128] = "";
    ia_schema_row *none = (ia_schema_row *)&err;
    size_t n = 7;
    assert_int_not_equal(ia_schema_rows_now(IA_SCHEMA_LATEST + 1, &none, &n,
                                            err, sizeof err), SQLITE_OK);
    assert_null(none);
    assert_int_equal(n, 0);
    assert_true(err[0] != '\0');
}

/* The scan table's CREATE text in the DB at path, from into to, through
 * PRAGMA writable_schema. */
static void scan_text(const char *path, const char *from, const char *to)
{
    char *sql = sqlite3_mprintf("PRAGMA writable_schema = ON;"
                                "UPDATE sqlite_master SET sql = replace(sql,"
                                " %Q, %Q) WHERE name = 'scan'", from, to);
    assert_non_null(sql);
    sql_exec_rw(path, sql);
    sqlite3_free(sql);
}

/* A table whose CREATE text differs by one space from imgaudit's is
 * refused, naming it, by a reader and a writer (the built rows differ,
 * and so do the ones SQLite writes now); one whose deferred file index
 * is missing is not. */
static void test_schema_text_altered(void **state)
{
    char db_path[256];
    (void)state;
    tpath(db_path, sizeof db_path, "altered_text.db");
    ia_db_close(open_ok(db_path, IA_DB_CREATE));
    sql_exec_rw(db_path, "DROP INDEX file_status");
    scan_text(db_path, "CREATE TABLE scan (", "CREATE TABLE  scan (");
    int flags[2] = {IA_DB_READONLY, IA_DB_CREATE};
    for (int i = 0; i < 2; i++) {
        ia_db *db = NULL;
        assert_int_equal(ia_db_open(db_path, flags[i], &db), IA_ERR_DB);
        assert_non_null(strstr(ia_db_errmsg(db), "table scan differs"));
        ia_db_close(db);
    }
    /* the scan table put back: only the deferred index is missing */
    scan_text(db_path, "CREATE TABLE  scan (", "CREATE TABLE scan (");
    ia_db_close(open_ok(db_path, IA_DB_READONLY));
}

static void test_newer_version_refused(void **state)
{
    char db_path[256], sql[64], want[96];
    static const int flags[] = {IA_DB_READONLY, IA_DB_CREATE};
    const int newer = ia_store_schema_latest() + 6;
    (void)state;
    tpath(db_path, sizeof db_path, "newer.db");
    ia_db_close(open_ok(db_path, IA_DB_CREATE));
    ia_bprintf(sql, sizeof sql, "PRAGMA user_version = %d", newer);
    sql_exec_rw(db_path, sql);
    ia_bprintf(want, sizeof want, "written by a newer imgaudit (schema %d,"
               " this tool knows %d)", newer, ia_store_schema_latest());
    for (size_t i = 0; i < IA_ARRAY_LEN(flags); i++) {
        ia_db *db = NULL;
        assert_int_equal(ia_db_open(db_path, flags[i], &db),
                         IA_ERR_DB_VERSION);
        assert_non_null(db);
        assert_non_null(strstr(ia_db_errmsg(db), want));
        ia_db_close(db);
    }
    assert_int_equal(sql_int(db_path, "PRAGMA user_version"), newer);
}

/* A file that is not ours is refused and left untouched, even by a
 * writer. */
static void test_not_a_db_refused(void **state)
{
    static const struct {
        const char *name;
        const char *content;   /* NULL: an SQLite DB of another program */
        int flags;
        int expect;
    } cases[] = {
        {"text_ro.db", "hello, I am a CSV file\n1,2,3\n", IA_DB_READONLY,
         IA_ERR_NOT_DB},
        {"text_rw.db", "hello, I am a CSV file\n1,2,3\n", IA_DB_CREATE,
         IA_ERR_NOT_DB},
        {"empty_ro.db", "", IA_DB_READONLY, IA_ERR_NOT_DB},
        {"other_ro.db", NULL, IA_DB_READONLY, IA_ERR_NOT_DB},
        {"other_rw.db", NULL, IA_DB_CREATE, IA_ERR_NOT_DB},
    };
    static unsigned char before[1 << 20], after[1 << 20];
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        char path[256];
        ia_db *db = NULL;
        tpath(path, sizeof path, cases[i].name);
        if (cases[i].content)
            write_bytes(path, cases[i].content, strlen(cases[i].content));
        else
            sql_exec_rw(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
        size_t n = read_all(path, before, sizeof before);
        assert_int_equal(ia_db_open(path, cases[i].flags, &db),
                         cases[i].expect);
        assert_non_null(db);
        assert_non_null(strstr(ia_db_errmsg(db), "database"));
        ia_db_close(db);
        assert_int_equal(read_all(path, after, sizeof after), n);
        assert_memory_equal(before, after, n);
    }
}

static void test_missing_file_readonly(void **state)
{
    char path[256];
    ia_db *db = NULL;
    (void)state;
    tpath(path, sizeof path, "does_not_exist.db");
    assert_int_equal(ia_db_open(path, IA_DB_READONLY, &db), IA_ERR_DB);
    assert_non_null(strstr(ia_db_errmsg(db), "cannot open"));
    ia_db_close(db);
    assert_false(exists(path));
}

static void test_corrupt_db(void **state)
{
    char path[256];
    static unsigned char buf[1 << 20];
    ia_file_result r;
    int64_t id = 0;
    (void)state;
    tpath(path, sizeof path, "corrupt.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "c");
    ok_result(&r);
    store(db, scan, "a.jpg", NULL, "cat", &r);
    assert_int_equal(ia_store_scan_finish(db, scan, 1, "2026-01-02T03:04:06Z"),
                     IA_OK);
    ia_db_close(db);
    /* Keep the header page, garble every other page. The schema may
     * spill past page 1, so the damage shows when the DB is opened or at
     * the first query: either way a database error, never a crash. */
    size_t n = read_all(path, buf, sizeof buf);
    assert_true(n > 4096);
    memset(buf + 4096, 0xA5, n - 4096);
    write_bytes(path, buf, n);
    int rc = ia_db_open(path, IA_DB_READONLY, &db);
    if (rc == IA_OK)
        rc = ia_store_resolve_scan(db, NULL, &id);
    assert_int_equal(rc, IA_ERR_DB);
    assert_non_null(strstr(ia_db_errmsg(db), "malformed"));
    ia_db_close(db);
    /* A garbled header: not a database at all. */
    memset(buf, 0x5A, 100);
    write_bytes(path, buf, n);
    assert_int_equal(ia_db_open(path, IA_DB_READONLY, &db), IA_ERR_NOT_DB);
    ia_db_close(db);
}

/* A failing migration rolls back: nothing of it remains. */
static void test_migration_rolls_back(void **state)
{
    char path[256], sql[160];
    ia_db *db = NULL;
    (void)state;
    tpath(path, sizeof path, "migfail.db");
    /* Marked ours at schema 0, but a table in the way of migration 1. */
    ia_bprintf(sql, sizeof sql, "PRAGMA application_id = %d;"
               "CREATE TABLE finding(x); ", IA_STORE_APPLICATION_ID);
    sql_exec_rw(path, sql);
    assert_int_equal(ia_db_open(path, IA_DB_CREATE, &db), IA_ERR_DB);
    assert_non_null(strstr(ia_db_errmsg(db), "migrating"));
    assert_non_null(strstr(ia_db_errmsg(db), "schema 1"));
    ia_db_close(db);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), 0);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master "
                             "WHERE name IN ('scan', 'file')"), 0);
    /* Once the obstacle is gone, the same file migrates. */
    sql_exec_rw(path, "DROP TABLE finding");
    db = open_ok(path, IA_DB_CREATE);
    ia_db_close(db);
    assert_int_equal(sql_int(path, "PRAGMA user_version"),
                     ia_store_schema_latest());
}

/* ---- writing --------------------------------------------------------- */

/* Per severity in one pass: findings, distinct files with one, and
 * dataset-level ones; counts and files differ when a file has two. */
static void test_severity_files(void **state)
{
    char path[256];
    ia_file_result r;
    uint64_t sev[3], files[3], dataset[3], counts[3] = {0, 0, 0};
    (void)state;
    tpath(path, sizeof path, "sevfiles.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "sev");
    ok_result(&r);
    ia_result_add(&r, "extension_mismatch", IA_SEV_WARNING, "png in .jpg");
    ia_result_add(&r, "blurry", IA_SEV_WARNING, "blurry");
    ia_result_add(&r, "trailing_data", IA_SEV_INFO, "12 bytes");
    store(db, scan, "a.jpg", NULL, NULL, &r);
    assert_int_equal(ia_store_finding(db, scan, 0, NULL, "class_imbalance",
                                      IA_SEV_WARNING, "dataset"), IA_OK);
    assert_int_equal(ia_store_scan_finish(db, scan, 1,
                                          "2026-01-02T03:04:09Z"), IA_OK);
    assert_int_equal(ia_q_severity_files(db, scan, sev, files, dataset),
                     IA_OK);
    assert_int_equal(ia_q_severity_counts(db, scan, counts), IA_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sev[i], counts[i]);
    assert_int_equal(sev[IA_SEV_WARNING], 3);
    assert_int_equal(files[IA_SEV_WARNING], 1);
    assert_int_equal(dataset[IA_SEV_WARNING], 1);
    assert_int_equal(sev[IA_SEV_INFO], 1);
    assert_int_equal(files[IA_SEV_INFO], 1);
    assert_int_equal(dataset[IA_SEV_INFO], 0);
    assert_int_equal(sev[IA_SEV_ERROR] + files[IA_SEV_ERROR], 0);
    ia_db_close(db);
}

static void test_store_rows(void **state)
{
    char path[256], text[512];
    ia_file_result r;
    (void)state;
    tpath(path, sizeof path, "rows.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "rows");

    ok_result(&r);
    ia_result_add(&r, "extension_mismatch", IA_SEV_WARNING, "png in .jpg");
    int64_t f1 = store(db, scan, "train/cat/a.jpg", "train", "cat", &r);

    /* A truncated file without its status finding: the store adds it. */
    ok_result(&r);
    r.have_measures = 0;
    r.width = -1;
    r.jpeg_quality = -1;
    r.ext_format = IA_FMT_UNKNOWN;
    ia_result_status(&r, IA_ST_TRUNCATED, "premature end of data");
    int64_t f2 = store(db, scan, "train/cat/b.jpg", "train", "cat", &r);

    /* A corrupt file that already carries its finding: not doubled. */
    ia_result_reset(&r);
    r.size = 7;
    r.width = 30;   /* its header's size: not pixels of the scan's totals */
    r.height = 40;
    ia_result_status(&r, IA_ST_CORRUPT, "bad huffman");
    ia_result_add(&r, "corrupt", IA_SEV_ERROR, "bad huffman table");
    store(db, scan, "x.jpg", NULL, NULL, &r);

    assert_int_equal(ia_store_finding(db, scan, 0, "loop", "symlink_loop",
                                      IA_SEV_WARNING, "loops"), IA_OK);
    assert_int_equal(ia_store_scan_finish(db, scan, 1,
                                          "2026-01-02T03:04:09Z"), IA_OK);

    ia_scan_summary sum;
    assert_int_equal(ia_store_scan_totals(db, scan, &sum), IA_OK);
    assert_int_equal(sum.scan_id, scan);
    assert_int_equal(sum.files, 3);
    assert_int_equal(sum.decoded, 1);
    assert_int_equal(sum.bytes, 2007);
    /* decoded files' pixels only: 10 x 20, not the truncated one's */
    assert_true(sum.megapixels == (double)200 / 1e6);
    assert_int_equal(sum.errors, 2);
    assert_int_equal(sum.warnings, 2);
    assert_int_equal(sum.infos, 0);
    /* by path: the symlink loop is no stored file, but not the dataset */
    assert_int_equal(sum.files_with_errors, 2);
    assert_int_equal(sum.files_with_warnings, 2);
    assert_int_equal(sum.files_with_infos, 0);
    assert_int_equal(sum.dataset_errors + sum.dataset_warnings +
                     sum.dataset_infos, 0);
    assert_true(sum.megapixels == 200 / 1e6);
    uint64_t sev[3] = {0, 0, 0};
    assert_int_equal(ia_q_severity_counts(db, scan, sev), IA_OK);
    assert_int_equal(sev[IA_SEV_ERROR], 2);
    assert_int_equal(sev[IA_SEV_WARNING], 2);
    ia_db_close(db);

    assert_int_equal(sql_int(path, "SELECT complete FROM scan"), 1);
    assert_int_equal(sql_int(path, "SELECT files FROM scan"), 3);
    assert_int_equal(sql_int(path, "SELECT decoded FROM scan"), 1);
    assert_int_equal(sql_int(path, "SELECT bytes FROM scan"), 2007);
    assert_int_equal(sql_int(path, "SELECT pixels FROM scan"), 200);
    sql_text(path, "SELECT finished_at FROM scan", text, sizeof text);
    assert_string_equal(text, "2026-01-02T03:04:09Z");
    sql_text(path, "SELECT options || layout || tool_version FROM scan",
             text, sizeof text);
    assert_string_equal(text, "{\"max_pixels\":1}splits0.1.0");

    /* The ok file, column by column. */
    sql_text(path, "SELECT path || '|' || split || '|' || split_canonical"
             " || '|' || label || '|' || format || '|' || ext_format || '|'"
             " || status || '|' || color_space || '|' || subsampling"
             " || '|' || hex(sha256) || '|' || hex(pixel_hash)"
             " FROM file WHERE path = 'train/cat/a.jpg'", text, sizeof text);
    assert_string_equal(text, "train/cat/a.jpg|train|train|cat|jpeg|jpeg|ok|"
                        "ycbcr|4:2:0|000102030405060708090A0B0C0D0E0F10111213"
                        "1415161718191A1B1C1D1E1F|F0F1F2F3F4F5F6F7F8F9FAFBFC"
                        "FDFEFF");
    assert_int_equal(sql_int(path, "SELECT mtime_ns FROM file WHERE id = 1"),
                     1700000000123456789LL);
    assert_int_equal(sql_int(path, "SELECT sum_g FROM file WHERE id = 1"),
                     200 * 101);
    assert_int_equal(sql_int(path, "SELECT sumsq_b FROM file WHERE id = 1"),
                     200 * 102 * 102);
    assert_int_equal(sql_int(path, "SELECT max_b FROM file WHERE id = 1"),
                     102);
    assert_int_equal(sql_int(path, "SELECT phash FROM file WHERE id = 1"),
                     (int64_t)0xfedcba9876543210ULL);
    assert_int_equal(sql_int(path, "SELECT dhash FROM file WHERE id = 1"),
                     0x0123456789abcdefLL);
    assert_int_equal(sql_int(path, "SELECT brightness * 10 FROM file"
                             " WHERE id = 1"), 1015);
    assert_int_equal(sql_int(path, "SELECT alpha_used IS NULL AND "
                             "exif_orientation IS NULL AND palette IS NULL"
                             " AND frames IS NULL FROM file WHERE id = 1"), 1);
    /* -1 values and missing measures are NULL. */
    assert_int_equal(sql_int(path, "SELECT width IS NULL AND height = 20 AND"
                             " jpeg_quality IS NULL AND ext_format IS NULL"
                             " AND pixels IS NULL AND pixel_hash IS NULL AND"
                             " phash IS NULL AND brightness IS NULL"
                             " FROM file WHERE path = 'train/cat/b.jpg'"), 1);
    sql_text(path, "SELECT message FROM file WHERE path = 'train/cat/b.jpg'",
             text, sizeof text);
    assert_string_equal(text, "premature end of data");
    assert_int_equal(sql_int(path, "SELECT split IS NULL AND label IS NULL"
                             " AND sha256 IS NULL AND format = 'unknown'"
                             " FROM file WHERE path = 'x.jpg'"), 1);

    /* Findings carry their file's id and path. */
    assert_int_equal(sql_int(path, "SELECT count(*) FROM finding"), 4);
    ia_bprintf(text, sizeof text, "SELECT file_id FROM finding WHERE code ="
               " 'extension_mismatch' AND path = 'train/cat/a.jpg'"
               " AND severity = 1 AND detail = 'png in .jpg'");
    assert_int_equal(sql_int(path, text), f1);
    ia_bprintf(text, sizeof text, "SELECT file_id FROM finding WHERE code ="
               " 'truncated' AND severity = 2 AND path = 'train/cat/b.jpg'"
               " AND detail = 'premature end of data'");
    assert_int_equal(sql_int(path, text), f2);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM finding WHERE"
                             " code = 'corrupt'"), 1);
    assert_int_equal(sql_int(path, "SELECT file_id IS NULL FROM finding"
                             " WHERE code = 'symlink_loop' AND path = 'loop'"),
                     1);
}

/* The scan row is committed at begin; files are committed in batches of
 * IA_STORE_BATCH; a scan closed without finish stays incomplete. */
static void test_batches_and_interruption(void **state)
{
    char path[256], name[64];
    ia_file_result r;
    (void)state;
    tpath(path, sizeof path, "batch.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "batch");
    assert_int_equal(sql_int(path, "SELECT count(*) FROM scan"), 1);
    ok_result(&r);
    for (int i = 0; i < IA_STORE_BATCH + 5; i++) {
        ia_bprintf(name, sizeof name, "f%05d.jpg", i);
        store(db, scan, name, NULL, NULL, &r);
        if (i == IA_STORE_BATCH - 2)
            assert_int_equal(sql_int(path, "SELECT count(*) FROM file"), 0);
    }
    /* Another connection sees the first batch only. */
    assert_int_equal(sql_int(path, "SELECT count(*) FROM file"),
                     IA_STORE_BATCH);
    ia_db_close(db);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM file"),
                     IA_STORE_BATCH + 5);
    assert_int_equal(sql_int(path, "SELECT complete FROM scan"), 0);
    assert_int_equal(sql_int(path, "SELECT finished_at IS NULL FROM scan"),
                     1);
}

/* A second reader (analyze.c's read-ahead) is offered the DB's path only
 * while nothing is uncommitted: not inside a batch, again after
 * ia_store_batch_close, and then it reads every row stored. */
static void test_reader_path(void **state)
{
    char path[256], name[64];
    ia_file_result r;
    (void)state;
    tpath(path, sizeof path, "reader.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    const char *p = ia_store_reader_path(db);
    assert_non_null(p);
    assert_string_equal(p, path);
    int64_t scan = begin_scan(db, "reader");
    ok_result(&r);
    for (int i = 0; i < 7; i++) {
        ia_bprintf(name, sizeof name, "f%d.jpg", i);
        store(db, scan, name, NULL, NULL, &r);
    }
    assert_null(ia_store_reader_path(db));
    assert_int_equal(sql_int(path, "SELECT count(*) FROM file"), 0);
    assert_int_equal(ia_store_batch_close(db), IA_OK);
    assert_non_null(ia_store_reader_path(db));
    assert_int_equal(sql_int(path, "SELECT count(*) FROM file"), 7);
    assert_int_equal(ia_store_batch_close(db), IA_OK);  /* nothing open */
    ia_db_close(db);
}

/* A reader of the file a writer has open skips the schema check the
 * writer's open made (shown by a schema changed behind both: the plain
 * read-only open refuses it, the writer's reader does not); any other
 * file is checked as ia_db_open checks it. */
static void test_open_reader(void **state)
{
    char path[256], other[256];
    ia_db *r = NULL;
    (void)state;
    tpath(path, sizeof path, "openreader.db");
    tpath(other, sizeof other, "openreader2.db");
    ia_db_close(open_ok(other, IA_DB_CREATE));
    ia_db *w = open_ok(path, IA_DB_CREATE);
    assert_true(ia_store_same_file(w, path));
    assert_false(ia_store_same_file(w, other));
    sql_exec_rw(path, "CREATE TABLE extra(x)");
    sql_exec_rw(other, "CREATE TABLE extra(x)");
    assert_int_equal(ia_db_open(path, IA_DB_READONLY, &r), IA_ERR_DB);
    ia_db_close(r);
    assert_int_equal(ia_store_open_reader(w, path, &r), IA_OK);
    ia_db_close(r);
    assert_int_equal(ia_store_open_reader(w, other, &r), IA_ERR_DB);
    ia_db_close(r);
    assert_int_equal(ia_store_open_reader(NULL, path, &r), IA_ERR_DB);
    ia_db_close(r);
    ia_db_close(w);
}

/* A first scan builds the file table's indexes after its rows: deferred
 * only while the table is empty, rebuilt in schema order by the finish,
 * and by a writer's open after a scan that never finished. */
static const char *const INDEX_ORDER =
    "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
    " WHERE type = 'index' AND tbl_name = 'file' ORDER BY rowid)";

static void index_order(const char *path, char *out, size_t cap)
{
    sql_text(path, INDEX_ORDER, out, cap);
}

#define ALL_FILE_INDEXES \
    "sqlite_autoindex_file_1,file_sha256,file_status,file_split_label"

static void test_deferred_file_indexes(void **state)
{
    char path[256], order[256];
    ia_file_result r;
    (void)state;
    tpath(path, sizeof path, "deferred.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "first");
    assert_int_equal(ia_store_defer_file_indexes(db), IA_OK);
    ok_result(&r);
    store(db, scan, "a.jpg", "train", "cat", &r);
    assert_int_equal(ia_store_batch_commit(db), IA_OK);
    index_order(path, order, sizeof order);
    assert_string_equal(order, "sqlite_autoindex_file_1");
    assert_int_equal(ia_store_scan_finish(db, scan, 1, "2026-01-02T03:04:06Z"),
                     IA_OK);
    index_order(path, order, sizeof order);
    assert_string_equal(order, ALL_FILE_INDEXES);
    /* a DB with rows keeps its indexes */
    scan = begin_scan(db, "second");
    assert_int_equal(ia_store_defer_file_indexes(db), IA_OK);
    assert_int_equal(ia_store_batch_commit(db), IA_OK);
    index_order(path, order, sizeof order);
    assert_string_equal(order, ALL_FILE_INDEXES);
    ia_db_close(db);

    /* a first scan that never finished: readers take the DB as it is, the
     * next writer builds the indexes again, in order */
    tpath(path, sizeof path, "killed.db");
    db = open_ok(path, IA_DB_CREATE);
    scan = begin_scan(db, "killed");
    assert_int_equal(ia_store_defer_file_indexes(db), IA_OK);
    store(db, scan, "a.jpg", "train", "cat", &r);
    ia_db_close(db);
    index_order(path, order, sizeof order);
    assert_string_equal(order, "sqlite_autoindex_file_1");
    db = open_ok(path, IA_DB_READONLY);
    ia_db_close(db);
    index_order(path, order, sizeof order);
    assert_string_equal(order, "sqlite_autoindex_file_1");
    db = open_ok(path, IA_DB_CREATE);
    ia_db_close(db);
    index_order(path, order, sizeof order);
    assert_string_equal(order, ALL_FILE_INDEXES);
}

/* ---- mode mix -------------------------------------------------------- */

static void test_mode_mix(void **state)
{
    static const struct {
        int gray;          /* files with a grayscale finding, of 3 */
        int severity;      /* expected */
        const char *detail;
    } cases[] = {
        {1, IA_SEV_WARNING, "1 of 3 images are grayscale"},
        {2, IA_SEV_INFO, "2 of 3 images are grayscale"},
        {3, IA_SEV_INFO, "3 of 3 images are grayscale"},
        {0, -1, NULL},
    };
    (void)state;
    for (size_t k = 0; k < IA_ARRAY_LEN(cases); k++) {
        char path[256], name[32], sql[256], text[128];
        ia_file_result r;
        ia_bprintf(name, sizeof name, "mix%zu.db", k);
        tpath(path, sizeof path, name);
        ia_db *db = open_ok(path, IA_DB_CREATE);
        int64_t scan = begin_scan(db, "mix");
        for (int i = 0; i < 3; i++) {
            ok_result(&r);
            if (i < cases[k].gray)
                ia_result_add(&r, "grayscale", IA_SEV_INFO, "1 channel");
            ia_bprintf(name, sizeof name, "img%d.png", i);
            store(db, scan, name, NULL, "a", &r);
        }
        /* A file that is not ok does not count among the decoded. */
        ia_result_reset(&r);
        ia_result_status(&r, IA_ST_EMPTY, "0 bytes");
        store(db, scan, "zero.png", NULL, "a", &r);
        /* Finishing twice changes nothing. */
        assert_int_equal(ia_store_scan_finish(db, scan, 1, "t"), IA_OK);
        assert_int_equal(ia_store_scan_finish(db, scan, 1, "t"), IA_OK);
        ia_db_close(db);
        assert_int_equal(sql_int(path, "SELECT count(*) FROM finding WHERE "
                                 "code = 'grayscale' AND file_id IS NOT NULL"),
                         cases[k].gray);
        assert_int_equal(sql_int(path, "SELECT count(*) FROM finding WHERE "
                                 "code = 'grayscale' AND file_id IS NULL"),
                         cases[k].gray ? 1 : 0);
        if (!cases[k].gray)
            continue;
        ia_bprintf(sql, sizeof sql, "SELECT count(*) FROM finding WHERE code"
                   " = 'grayscale' AND severity = %d", cases[k].severity);
        assert_int_equal(sql_int(path, sql), cases[k].gray + 1);
        sql_text(path, "SELECT detail FROM finding WHERE code = 'grayscale'"
                 " AND file_id IS NULL AND path IS NULL", text, sizeof text);
        assert_string_equal(text, cases[k].detail);
    }
}

/* ---- resolving ------------------------------------------------------- */

static void test_resolve_scan(void **state)
{
    static const struct {
        const char *ref;
        int expect;
        int64_t id;
    } cases[] = {
        {NULL, IA_OK, 2},       /* latest complete */
        {"", IA_OK, 2},
        {"1", IA_OK, 1},
        {"2", IA_OK, 2},
        {"a", IA_OK, 3},        /* latest with that name, complete or not */
        {"b", IA_OK, 2},
        {"77", IA_OK, 4},       /* no id 77: the scan named "77" */
        {"zzz", IA_ERR_NOT_FOUND, 0},
        {"99999999999999999999", IA_ERR_NOT_FOUND, 0},
    };
    char path[256];
    int64_t id = -1;
    (void)state;
    tpath(path, sizeof path, "resolve.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    assert_int_equal(ia_store_resolve_scan(db, NULL, &id), IA_ERR_NOT_FOUND);
    assert_int_equal(id, -1);
    assert_int_equal(begin_scan(db, "a"), 1);
    /* No complete scan yet: the latest one. */
    assert_int_equal(ia_store_resolve_scan(db, NULL, &id), IA_OK);
    assert_int_equal(id, 1);
    assert_int_equal(ia_store_scan_finish(db, 1, 1, "t"), IA_OK);
    assert_int_equal(begin_scan(db, "b"), 2);
    assert_int_equal(ia_store_scan_finish(db, 2, 1, "t"), IA_OK);
    assert_int_equal(begin_scan(db, "a"), 3);
    assert_int_equal(begin_scan(db, "77"), 4);
    ia_db_close(db);
    db = open_ok(path, IA_DB_READONLY);
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        id = -1;
        assert_int_equal(ia_store_resolve_scan(db, cases[i].ref, &id),
                         cases[i].expect);
        if (cases[i].expect == IA_OK)
            assert_int_equal(id, cases[i].id);
        else
            assert_non_null(strstr(ia_db_errmsg(db), "no scan named"));
    }
    ia_db_close(db);
}

/* ---- read-only handles ----------------------------------------------- */

static void make_small_db(const char *path)
{
    ia_file_result r;
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "small");
    ok_result(&r);
    ia_result_add(&r, "grayscale", IA_SEV_INFO, "gray");
    store(db, scan, "a.png", NULL, "x", &r);
    assert_int_equal(ia_store_scan_finish(db, scan, 1, "t"), IA_OK);
    ia_db_close(db);
}

static void test_readonly_never_writes(void **state)
{
    char path[256];
    static unsigned char before[1 << 20], after[1 << 20];
    struct stat st1, st2;
    ia_scan_summary sum;
    int64_t id = 0;
    uint64_t sev[3];
    (void)state;
    tpath(path, sizeof path, "ro.db");
    make_small_db(path);
    size_t n = read_all(path, before, sizeof before);
    assert_int_equal(stat(path, &st1), 0);
    ia_db *db = open_ok(path, IA_DB_READONLY);
    assert_int_equal(ia_store_resolve_scan(db, "small", &id), IA_OK);
    assert_int_equal(ia_store_scan_totals(db, id, &sum), IA_OK);
    assert_int_equal(ia_q_severity_counts(db, id, sev), IA_OK);
    /* Writes on a read-only handle fail cleanly. */
    ia_scan_meta m = {"x", "/", "folders", "{}", "0", "t", 0, 0};
    assert_int_equal(ia_store_scan_begin(db, &m, &id), IA_ERR_DB);
    assert_non_null(strstr(ia_db_errmsg(db), "read-only"));
    assert_int_equal(ia_store_scan_finish(db, 1, 1, "t"), IA_ERR_DB);
    ia_db_close(db);
    assert_int_equal(read_all(path, after, sizeof after), n);
    assert_memory_equal(before, after, n);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
    assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
}

static int count_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n++;
    closedir(d);
    return n;
}

/* A DB in a folder the reader cannot write to opens and reads, and no
 * file (-wal, -shm, -journal) appears beside it. As root the folder is
 * writable anyway, so the listing is what proves it. */
static void test_readonly_folder(void **state)
{
    char dir[256], path[300];
    int64_t id = 0;
    ia_scan_summary sum;
    (void)state;
    tpath(dir, sizeof dir, "rodir");
    assert_int_equal(mkdir(dir, 0700), 0);
    ia_bprintf(path, sizeof path, "%s/data.db", dir);
    make_small_db(path);
    assert_int_equal(count_entries(dir), 3);
    assert_int_equal(chmod(dir, 0555), 0);
    ia_db *db = open_ok(path, IA_DB_READONLY);
    assert_int_equal(ia_store_resolve_scan(db, NULL, &id), IA_OK);
    assert_int_equal(ia_store_scan_totals(db, id, &sum), IA_OK);
    assert_int_equal(sum.files, 1);
    assert_int_equal(count_entries(dir), 3);
    ia_db_close(db);
    assert_int_equal(count_entries(dir), 3);
    assert_int_equal(chmod(dir, 0700), 0);
}

/* One writer at a time: a second writable handle, even in the same
 * process, is refused at once (IA_ERR_BUSY, naming the holder's pid) and
 * writes nothing; a reader opens and reads meanwhile; the lock file goes
 * with the holder, and the next writer gets in. */
static void test_one_writer(void **state)
{
    char path[256], lock[280], pid[32];
    int64_t id = 0;
    ia_db *b = NULL;
    (void)state;
    tpath(path, sizeof path, "writers.db");
    ia_bprintf(lock, sizeof lock, "%s.lock", path);
    make_small_db(path);
    assert_false(exists(lock));
    ia_db *a = open_ok(path, IA_DB_CREATE);
    assert_true(exists(lock));
    assert_int_equal(ia_db_open(path, IA_DB_CREATE, &b), IA_ERR_BUSY);
    ia_bprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
    assert_non_null(strstr(ia_db_errmsg(b), pid));
    ia_db_close(b);
    assert_true(exists(lock));
    ia_db *r = open_ok(path, IA_DB_READONLY);
    assert_int_equal(ia_store_resolve_scan(r, NULL, &id), IA_OK);
    ia_db_close(r);
    ia_db_close(a);
    assert_false(exists(lock));
    b = open_ok(path, IA_DB_CREATE);
    ia_db_close(b);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM scan"), 1);
}

/* ---- failures -------------------------------------------------------- */

/* A full disk (simulated with max_page_count) gives a clean IA_ERR_DB,
 * and the DB stays consistent: the scan row, committed at begin, remains
 * incomplete, and the half-written batch is gone. */
static void test_full_disk(void **state)
{
    char path[256], name[64], sql[96];
    ia_file_result r;
    int rc = IA_OK, stored = 0;
    (void)state;
    tpath(path, sizeof path, "full.db");
    ia_db *db = open_ok(path, IA_DB_CREATE);
    int64_t scan = begin_scan(db, "full");
    /* as a first scan does: its indexes are built again at the finish,
     * after the rollback of the batch that filled the disk */
    assert_int_equal(ia_store_defer_file_indexes(db), IA_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(ia_store_sqlite(db),
                                        "PRAGMA page_count", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int pages = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    ia_bprintf(sql, sizeof sql, "PRAGMA max_page_count = %d", pages + 4);
    assert_int_equal(sqlite3_exec(ia_store_sqlite(db), sql, NULL, NULL,
                                  NULL), SQLITE_OK);
    ok_result(&r);
    memset(r.message, 'm', sizeof r.message - 1);
    for (int i = 0; i < 1000 && rc == IA_OK; i++) {
        ia_entry e;
        memset(&e, 0, sizeof e);
        ia_bprintf(name, sizeof name, "file%04d.jpg", i);
        e.relpath = e.fullpath = name;
        rc = ia_store_file(db, scan, &e, &r, NULL);
        stored += rc == IA_OK;
    }
    assert_int_equal(rc, IA_ERR_DB);
    assert_true(stored > 0);
    assert_non_null(strstr(ia_db_errmsg(db), "full"));
    /* The rollback freed the batch's pages: the handle is still usable
     * and the caller can record the scan as incomplete. */
    assert_int_equal(ia_store_scan_finish(db, scan, 0, "t"), IA_OK);
    ia_db_close(db);
    char ok[16];
    sql_text(path, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    assert_int_equal(sql_int(path, "SELECT count(*) FROM scan WHERE"
                             " complete = 0"), 1);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM file"), 0);
    /* all four are there, and a writer's open keeps them */
    db = open_ok(path, IA_DB_CREATE);
    ia_db_close(db);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
                             " WHERE type = 'index' AND tbl_name = 'file'"),
                     4);
}

static void test_bad_arguments(void **state)
{
    char path[256];
    ia_db *db = NULL;
    ia_file_result r;
    ia_entry e;
    (void)state;
    assert_int_equal(ia_db_open(NULL, IA_DB_CREATE, &db), IA_ERR_ARG);
    ia_db_close(db);
    assert_string_equal(ia_db_errmsg(NULL), "");
    ia_db_close(NULL);
    tpath(path, sizeof path, "args.db");
    db = open_ok(path, IA_DB_CREATE);
    ia_scan_meta m = {NULL, "/", "folders", "{}", "0", "t", 0, 0};
    assert_int_equal(ia_store_scan_begin(db, &m, NULL), IA_ERR_ARG);
    memset(&e, 0, sizeof e);
    ia_result_reset(&r);
    assert_int_equal(ia_store_file(db, 1, &e, &r, NULL), IA_ERR_ARG);
    /* A file of a scan that does not exist breaks the foreign key. */
    char name[] = "orphan.jpg";
    e.relpath = name;
    assert_int_equal(ia_store_file(db, 42, &e, &r, NULL), IA_ERR_DB);
    assert_non_null(strstr(ia_db_errmsg(db), "FOREIGN KEY"));
    assert_int_equal(ia_store_scan_finish(db, 42, 1, "t"), IA_ERR_NOT_FOUND);
    ia_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_schema),
        cmocka_unit_test(test_schema_built_rows),
        cmocka_unit_test(test_schema_text_altered),
        cmocka_unit_test(test_severity_files),
        cmocka_unit_test(test_deferred_file_indexes),
        cmocka_unit_test(test_reader_path),
        cmocka_unit_test(test_open_reader),
        cmocka_unit_test(test_newer_version_refused),
        cmocka_unit_test(test_not_a_db_refused),
        cmocka_unit_test(test_missing_file_readonly),
        cmocka_unit_test(test_corrupt_db),
        cmocka_unit_test(test_migration_rolls_back),
        cmocka_unit_test(test_store_rows),
        cmocka_unit_test(test_batches_and_interruption),
        cmocka_unit_test(test_mode_mix),
        cmocka_unit_test(test_resolve_scan),
        cmocka_unit_test(test_readonly_never_writes),
        cmocka_unit_test(test_readonly_folder),
        cmocka_unit_test(test_one_writer),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_scan_id_range),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
