/*
 * Fuzz target: hostile databases (docs/security.md, "Hostile databases").
 * A valid DB is made once from the fixtures (scan "a" of fixtures/sample
 * as shard 0/1, scan "b" of fixtures/cases), copied for every input and
 * changed by a small program the input spells; then every command that
 * reads a DB runs on the copy through the library: the scan list, report
 * in all four formats for each scan, export as CSV and JSONL (all files
 * and problems only), compare against the intact DB and against itself
 * in all formats, merge into a new DB, a scan reusing it (with or
 * without trust in mtimes), a resumed scan writing into it and a rescan
 * into it that follows its scan (store/follow.c).
 *
 * The program first lifts every NOT NULL and CHECK through PRAGMA
 * writable_schema, so that NULLs and other values the schema forbids can
 * be stored, then runs its operations (set a column of a row to NULL, an
 * integer, a real, text or a blob; delete a row; point a row's id column
 * somewhere else; swap two schema texts), then puts the schema back
 * unless the input keeps it altered: rows that break an intact schema
 * are what the readers' own checks face (store/col.h); an altered schema
 * is what ia_db_open refuses.
 *
 * Besides crashes, leaks and sanitizer reports, the checks are the
 * readers' contract: a failure comes with a message, and text and
 * Markdown output holds only valid UTF-8 without control characters but
 * the newline (nothing a terminal would act on).
 *
 * Input: byte 0 holds flags (FLAG_*); then operations, each an opcode
 * byte and its operands, until the input ends (missing bytes read 0) or
 * MAX_OPS have run. The seeds (tests/fuzz/corpus/db) are written by
 * tests/fuzz/mkcorpus_db.py, which spells the language out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fuzz.h"
#include "imgaudit.h"
#include "core/core.h"

#define SAMPLE IA_SOURCE_ROOT "/fixtures/sample"
#define CASES IA_SOURCE_ROOT "/fixtures/cases"
#define MAX_TABLES 16
#define MAX_COLS 64
#define MAX_OPS 64         /* per input: the time of an input stays bounded */

enum {
    FLAG_KEEP_ALTERED = 1,  /* leave the schema without its constraints */
    FLAG_MERGE = 2,
    FLAG_REUSE = 4,
    FLAG_TRUST_MTIME = 8,
    FLAG_RESUME = 16,
    FLAG_FOLLOW = 32,       /* rescan into the DB, reusing (following) it */
};

enum { OP_SET, OP_DELETE, OP_RELINK, OP_SWAP_SCHEMA, OP_COUNT };

typedef struct table {
    char *name, *sql;           /* the intact CREATE TABLE */
    char *key;                  /* "rowid", or the primary key columns */
    char *cols[MAX_COLS];
    int ncols;
} table;

/* Per-process state, made once (libFuzzer calls the target many times). */
static struct {
    char dir[64];
    char pristine[96], db[96], out[96], scan[96];
    uint8_t *bytes;             /* the pristine DB */
    size_t len;
    table t[MAX_TABLES];
    int ntables;
} S;

typedef struct input {
    const uint8_t *p;
    size_t n, at;
} input;

static unsigned u8(input *in)
{
    return in->at < in->n ? in->p[in->at++] : 0;
}

static uint64_t u64(input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | u8(in);
    return v;
}

/* ---- setup ------------------------------------------------------------- */

static void remove_db(const char *path)
{
    static const char *const side[] = {"", "-journal", "-wal", "-shm"};
    char name[128];
    for (size_t i = 0; i < IA_ARRAY_LEN(side); i++) {
        ia_bprintf(name, sizeof name, "%s%s", path, side[i]);
        unlink(name);
    }
}

void ia_fuzz_cleanup(void)
{
    if (S.dir[0]) {
        remove_db(S.pristine);
        remove_db(S.db);
        remove_db(S.out);
        remove_db(S.scan);
        rmdir(S.dir);
    }
    for (int i = 0; i < S.ntables; i++) {
        free(S.t[i].name);
        free(S.t[i].sql);
        free(S.t[i].key);
        for (int c = 0; c < S.t[i].ncols; c++)
            free(S.t[i].cols[c]);
    }
    free(S.bytes);
    memset(&S, 0, sizeof S);
}

static void scan_into(ia_db *db, const char *root, const char *name,
                      unsigned shard_n)
{
    ia_scan_options o = {.root = root, .name = name, .jobs = 1,
                         .shard_n = shard_n};
    ia_scan_summary sum;
    FUZZ_CHECK(ia_scan(db, &o, &sum) == IA_OK);
}

/* Scan "a" gets a root that does not exist: its HTML reports then show
 * placeholders instead of making thumbnails, which would cost most of
 * each run. Scan "b" keeps its root, for the resumed scan. */
static void unroot_first_scan(void)
{
    sqlite3 *c = NULL;
    FUZZ_CHECK(sqlite3_open_v2(S.pristine, &c, SQLITE_OPEN_READWRITE, NULL) ==
               SQLITE_OK);
    FUZZ_CHECK(sqlite3_exec(c, "UPDATE scan SET root = root || '/-gone-'"
                            " WHERE name = 'a'", NULL, NULL, NULL) ==
               SQLITE_OK);
    sqlite3_close(c);
}

static char *column_text(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    char *d = strdup(s ? s : "");
    FUZZ_CHECK(d != NULL);
    return d;
}

/* The columns of t and how a row of it is named. */
static void load_columns(sqlite3 *c, table *t)
{
    sqlite3_stmt *st = NULL;
    char sql[256];
    ia_bprintf(sql, sizeof sql, "SELECT name, pk FROM pragma_table_info('%s')"
               " ORDER BY cid", t->name);
    FUZZ_CHECK(sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK);
    int without_rowid = strstr(t->sql, "WITHOUT ROWID") != NULL;
    char key[256] = "";
    while (sqlite3_step(st) == SQLITE_ROW && t->ncols < MAX_COLS) {
        t->cols[t->ncols++] = column_text(st, 0);
        if (without_rowid && sqlite3_column_int(st, 1) > 0)
            ia_bprintf(key + strlen(key), sizeof key - strlen(key), "%s%s",
                       key[0] ? ", " : "", t->cols[t->ncols - 1]);
    }
    sqlite3_finalize(st);
    t->key = strdup(without_rowid ? key : "rowid");
    FUZZ_CHECK(t->key != NULL);
}

static void load_tables(void)
{
    sqlite3 *c = NULL;
    sqlite3_stmt *st = NULL;
    FUZZ_CHECK(sqlite3_open_v2(S.pristine, &c, SQLITE_OPEN_READONLY, NULL) ==
               SQLITE_OK);
    FUZZ_CHECK(sqlite3_prepare_v2(c, "SELECT name, sql FROM sqlite_master"
                                  " WHERE type = 'table' ORDER BY name", -1,
                                  &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && S.ntables < MAX_TABLES) {
        table *t = &S.t[S.ntables++];
        t->name = column_text(st, 0);
        t->sql = column_text(st, 1);
    }
    sqlite3_finalize(st);
    for (int i = 0; i < S.ntables; i++)
        load_columns(c, &S.t[i]);
    sqlite3_close(c);
}

static void read_pristine(void)
{
    FILE *f = fopen(S.pristine, "rb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    FUZZ_CHECK(n > 0 && fseek(f, 0, SEEK_SET) == 0);
    S.len = (size_t)n;
    FUZZ_CHECK((S.bytes = malloc(S.len)) != NULL);
    FUZZ_CHECK(fread(S.bytes, 1, S.len, f) == S.len);
    fclose(f);
}

static void setup(void)
{
    ia_db *db = NULL;
    if (S.dir[0])
        return;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    ia_bprintf(S.dir, sizeof S.dir, "%s/ia-fuzz-db-XXXXXX", tmp);
    FUZZ_CHECK(mkdtemp(S.dir) != NULL);
    ia_bprintf(S.pristine, sizeof S.pristine, "%s/pristine.db", S.dir);
    ia_bprintf(S.db, sizeof S.db, "%s/hostile.db", S.dir);
    ia_bprintf(S.out, sizeof S.out, "%s/merged.db", S.dir);
    ia_bprintf(S.scan, sizeof S.scan, "%s/reusing.db", S.dir);
    FUZZ_CHECK(ia_db_open(S.pristine, IA_DB_CREATE, &db) == IA_OK);
    scan_into(db, SAMPLE, "a", 1);
    scan_into(db, CASES, "b", 0);
    ia_db_close(db);
    unroot_first_scan();
    load_tables();
    read_pristine();
    /* libFuzzer never calls ia_fuzz_cleanup; it does exit() normally. */
    atexit(ia_fuzz_cleanup);
}

/* ---- the mutation ------------------------------------------------------ */

static sqlite3 *open_rw(const char *path)
{
    sqlite3 *c = NULL;
    FUZZ_CHECK(sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE, NULL) ==
               SQLITE_OK);
    sqlite3_exec(c, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                 "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
    return c;
}

/* Each table's CREATE text: without its constraints (relax) or intact.
 * Through writable_schema, so every statement runs on a fresh connection. */
static void set_schema(int relax)
{
    static const char relaxed[] =
        "UPDATE sqlite_master SET sql = replace(replace(replace(?1,"
        " ' NOT NULL', ''), ' CHECK (kind IN (''exact'', ''pixel'',"
        " ''near''))', ''), ' CHECK (stage IN (''walk'', ''analysis''))',"
        " '') WHERE type = 'table' AND name = ?2";
    static const char intact[] =
        "UPDATE sqlite_master SET sql = ?1 WHERE type = 'table' AND name = ?2";
    sqlite3 *c = open_rw(S.db);
    sqlite3_stmt *st = NULL;
    sqlite3_exec(c, "PRAGMA writable_schema = ON", NULL, NULL, NULL);
    int rc = sqlite3_prepare_v2(c, relax ? relaxed : intact, -1, &st, NULL);
    FUZZ_CHECK(rc == SQLITE_OK);
    for (int i = 0; i < S.ntables; i++) {
        sqlite3_bind_text(st, 1, S.t[i].sql, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, S.t[i].name, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(c);
}

static const char *const words[] = {
    "", "ok", "jpeg", "png", "unknown", "truncated", "corrupt", "exact",
    "pixel", "near", "walk", "analysis", "train", "val", "test",
    "split_leak", "exact_duplicate", "label_conflict", "0.1.0", "a", "b",
    "{}", "splits", "folders", "brightness", "2026-01-01T00:00:00Z",
};

/* Binds parameter i to a value the input picks. */
static void bind_value(sqlite3_stmt *st, int i, input *in)
{
    uint8_t buf[48];
    size_t len;
    double d;
    uint64_t v;
    switch (u8(in) % 9) {
    case 0: sqlite3_bind_null(st, i); break;
    case 1: sqlite3_bind_int64(st, i, (int8_t)u8(in)); break;
    case 2: sqlite3_bind_int64(st, i, (int64_t)u64(in)); break;
    case 3: sqlite3_bind_int64(st, i, u8(in) & 1 ? INT64_MAX : INT64_MIN);
        break;
    case 4:
        v = u64(in);
        memcpy(&d, &v, sizeof d);
        sqlite3_bind_double(st, i, d);
        break;
    case 5: case 6: case 7:
        len = u8(in) % sizeof buf;
        for (size_t k = 0; k < len; k++)
            buf[k] = (uint8_t)u8(in);
        if (u8(in) & 1)
            sqlite3_bind_blob(st, i, buf, (int)len, SQLITE_TRANSIENT);
        else    /* text of any bytes: NULs, ESC, invalid UTF-8 */
            sqlite3_bind_text(st, i, (const char *)buf, (int)len,
                              SQLITE_TRANSIENT);
        break;
    default:
        sqlite3_bind_text(st, i, words[u8(in) % IA_ARRAY_LEN(words)], -1,
                          SQLITE_STATIC);
    }
}

/* Runs sql with ?1 a value (when it has one) and ?2 a row offset; errors
 * (a UNIQUE clash, a column the table lacks) are part of the game. */
static void run_op(sqlite3 *c, const char *sql, input *in, int valued)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    if (valued)
        bind_value(st, 1, in);
    sqlite3_bind_int(st, 2, (int)u8(in));
    sqlite3_step(st);
    sqlite3_finalize(st);
}

static void op_row(sqlite3 *c, int op, input *in)
{
    char sql[512];
    const table *t = &S.t[u8(in) % (unsigned)S.ntables];
    const char *col = t->cols[u8(in) % (unsigned)t->ncols];
    if (op == OP_DELETE)
        ia_bprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE (%s) IN"
                   " (SELECT %s FROM \"%s\" LIMIT 1 OFFSET ?2)", t->name,
                   t->key, t->key, t->name);
    else
        ia_bprintf(sql, sizeof sql, "UPDATE \"%s\" SET \"%s\" = ?1"
                   " WHERE (%s) IN (SELECT %s FROM \"%s\" LIMIT 1 OFFSET ?2)",
                   t->name, col, t->key, t->key, t->name);
    run_op(c, sql, in, op == OP_SET);
}

/* Points an id column at another row (of any scan) or at none. */
static void op_relink(sqlite3 *c, input *in)
{
    static const char *const links[][2] = {
        {"finding", "file_id"}, {"finding", "scan_id"}, {"file", "scan_id"},
        {"dup_member", "file_id"}, {"dup_member", "group_id"},
        {"leak", "a_file_id"}, {"leak", "b_file_id"}, {"leak", "group_id"},
        {"scan", "same_as"}, {"stat_group", "scan_id"},
        {"class_index", "scan_id"}, {"dup_group", "scan_id"},
    };
    char sql[512];
    size_t k = u8(in) % IA_ARRAY_LEN(links);
    ia_bprintf(sql, sizeof sql, "UPDATE \"%s\" SET \"%s\" = ?1 WHERE rowid ="
               " (SELECT rowid FROM \"%s\" LIMIT 1 OFFSET ?2)", links[k][0],
               links[k][1], links[k][0]);
    if (strcmp(links[k][0], "dup_member") == 0)
        ia_bprintf(sql, sizeof sql, "UPDATE dup_member SET \"%s\" = ?1"
                   " WHERE (group_id, position) IN (SELECT group_id, position"
                   " FROM dup_member LIMIT 1 OFFSET ?2)", links[k][1]);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    unsigned hi = u8(in);
    sqlite3_bind_int64(st, 1, (int64_t)(hi << 8 | u8(in)));
    sqlite3_bind_int(st, 2, (int)u8(in));
    sqlite3_step(st);
    sqlite3_finalize(st);
}

/* One schema object takes another's text: a schema SQLite may not even
 * parse, which the open must report, not trip over. */
static void op_swap_schema(sqlite3 *c, input *in)
{
    sqlite3_stmt *st = NULL;
    sqlite3_exec(c, "PRAGMA writable_schema = ON", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(c, "UPDATE sqlite_master SET sql = (SELECT sql"
                           " FROM sqlite_master LIMIT 1 OFFSET ?1) WHERE"
                           " rowid = (SELECT rowid FROM sqlite_master"
                           " LIMIT 1 OFFSET ?2)", -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int(st, 1, (int)(u8(in) % 48));
    sqlite3_bind_int(st, 2, (int)(u8(in) % 48));
    sqlite3_step(st);
    sqlite3_finalize(st);
    sqlite3_exec(c, "PRAGMA writable_schema = OFF", NULL, NULL, NULL);
}

static void write_copy(void)
{
    remove_db(S.db);
    int fd = open(S.db, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    for (size_t at = 0; at < S.len;) {
        ssize_t k = write(fd, S.bytes + at, S.len - at);
        if (k < 0 && errno == EINTR)
            continue;
        FUZZ_CHECK(k > 0);
        at += (size_t)k;
    }
    FUZZ_CHECK(close(fd) == 0);
}

/* The hostile copy: constraints lifted, the operations, the schema put
 * back unless kept altered. A swapped schema stays: that is its point. */
static void mutate(input *in, unsigned flags)
{
    write_copy();
    set_schema(1);
    sqlite3 *c = open_rw(S.db);
    int swapped = 0;
    for (int n = 0; n < MAX_OPS && in->at < in->n; n++) {
        int op = (int)(u8(in) % OP_COUNT);
        if (op == OP_RELINK) {
            op_relink(c, in);
        } else if (op == OP_SWAP_SCHEMA) {
            op_swap_schema(c, in);
            swapped = 1;
        } else {
            op_row(c, op, in);
        }
    }
    sqlite3_close(c);
    if (!(flags & FLAG_KEEP_ALTERED) && !swapped)
        set_schema(0);
}

/* ---- running the readers ------------------------------------------------- */

/* The code point of the UTF-8 sequence at p (at most left bytes), and its
 * length; 0 when the sequence is not UTF-8 (truncated, overlong, a
 * surrogate, past U+10FFFF). Written from RFC 3629 here rather than taken
 * from src/, so that the check does not share the code it checks. */
static size_t utf8_char(const unsigned char *p, size_t left, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2
             : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || n > left)
        return 0;
    uint32_t c = n == 1 ? p[0] : p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

/* Text that reaches a terminal: valid UTF-8, no control character but the
 * newline (C0, DEL, C1: U+009B is CSI). */
static void check_terminal_text(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;
    for (size_t i = 0; i < len;) {
        uint32_t c = 0;
        size_t n = utf8_char(p + i, len - i, &c);
        FUZZ_CHECK(n > 0);
        FUZZ_CHECK(c == '\n' || (c >= 0x20 && !(c >= 0x7F && c <= 0x9F)));
        i += n;
    }
}

/* A stream for one output: checked (text, md) or thrown away. */
typedef struct sink {
    FILE *f;
    char *buf;
    size_t len;
    int check;
} sink;

static FILE *sink_open(sink *s, int check)
{
    memset(s, 0, sizeof *s);
    s->check = check;
    s->f = check ? open_memstream(&s->buf, &s->len) : fopen("/dev/null", "w");
    FUZZ_CHECK(s->f != NULL);
    return s->f;
}

static void sink_close(sink *s)
{
    fclose(s->f);
    if (s->check)
        check_terminal_text(s->buf, s->len);
    free(s->buf);
}

static void db_reports(ia_db *db)
{
    static const char *const refs[] = {NULL, "a", "1"};
    sink s;
    int rc = ia_list_scans(db, sink_open(&s, 1));
    sink_close(&s);
    FUZZ_CHECK(rc == IA_OK || ia_db_errmsg(db)[0]);
    for (size_t r = 0; r < IA_ARRAY_LEN(refs); r++)
        for (int fmt = IA_FORMAT_TEXT; fmt <= IA_FORMAT_HTML; fmt++) {
            int terminal = fmt == IA_FORMAT_TEXT || fmt == IA_FORMAT_MD;
            rc = ia_report(db, refs[r], (ia_format)fmt,
                           sink_open(&s, terminal));
            sink_close(&s);
            FUZZ_CHECK(rc == IA_OK || ia_db_errmsg(db)[0]);
        }
    for (int problems = 0; problems < 2; problems++)
        for (int fmt = IA_FORMAT_CSV; fmt <= IA_FORMAT_JSONL; fmt++) {
            rc = ia_export(db, NULL, (ia_format)fmt, problems,
                           sink_open(&s, 0));
            sink_close(&s);
            FUZZ_CHECK(rc == IA_OK || ia_db_errmsg(db)[0]);
        }
}

static void compare(const char *base, const char *new_)
{
    ia_compare_options o = {.fail_on = IA_FAIL_ON_NEVER};
    ia_compare *c = NULL;
    sink s;
    int rc = ia_compare_open(base, new_, &o, &c);
    FUZZ_CHECK(c != NULL);
    FUZZ_CHECK(rc == IA_OK || ia_compare_errmsg(c)[0]);
    for (int fmt = IA_FORMAT_TEXT; rc == IA_OK && fmt <= IA_FORMAT_HTML;
         fmt++) {
        int terminal = fmt == IA_FORMAT_TEXT || fmt == IA_FORMAT_MD;
        int w = ia_compare_write(c, (ia_format)fmt, sink_open(&s, terminal));
        sink_close(&s);
        FUZZ_CHECK(w == IA_OK || ia_compare_errmsg(c)[0]);
    }
    ia_compare_close(c);
}

static void merge(void)
{
    ia_db *out = NULL;
    ia_merge_options o = {.jobs = 1, .allow_partial = 1};
    ia_merge_summary sum;
    const char *paths[] = {S.db};
    remove_db(S.out);
    FUZZ_CHECK(ia_db_open(S.out, IA_DB_CREATE, &out) == IA_OK);
    int rc = ia_merge(out, paths, 1, &o, &sum);
    FUZZ_CHECK(rc == IA_OK || ia_db_errmsg(out)[0]);
    ia_db_close(out);
}

/* A scan of fixtures/cases into path that reuses the hostile DB (which
 * may be path itself: the scan then follows it), or (resume) resumes its
 * scan "b" in it. */
static void scan_with(const char *path, unsigned flags, int resume)
{
    ia_db *db = NULL;
    ia_scan_options o = {.root = CASES, .name = "b", .jobs = 1,
                         .reuse_db = resume ? NULL : S.db,
                         .trust_mtime = (flags & FLAG_TRUST_MTIME) != 0,
                         .resume = resume};
    ia_scan_summary sum;
    if (strcmp(path, S.db) != 0)
        remove_db(path);
    int rc = ia_db_open(path, IA_DB_CREATE, &db);
    if (rc == IA_OK)
        rc = ia_scan(db, &o, &sum);
    FUZZ_CHECK(rc == IA_OK || (db && ia_db_errmsg(db)[0]));
    ia_db_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size, 0};
    ia_db *db = NULL;
    setup();
    unsigned flags = u8(&in);
    mutate(&in, flags);
    int rc = ia_db_open(S.db, IA_DB_READONLY, &db);
    FUZZ_CHECK(rc == IA_OK || (db && ia_db_errmsg(db)[0]));
    if (rc == IA_OK)
        db_reports(db);
    ia_db_close(db);
    compare(S.db, S.pristine);
    compare(S.db, S.db);
    if (flags & FLAG_MERGE)
        merge();
    if (flags & FLAG_REUSE)
        scan_with(S.scan, flags, 0);
    if (flags & FLAG_RESUME)
        scan_with(S.db, flags, 1);
    if (flags & FLAG_FOLLOW)
        scan_with(S.db, flags, 0);
    return 0;
}
