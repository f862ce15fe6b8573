/*
 * Tests of unchanged rescans (store/store.h): a scan that repeats the
 * reused scan of its own DB shares its rows; one that departs from it
 * stores the prefix it followed, in order, with each finding pointed at
 * the copied row; what cannot share (another DB file, other options) is
 * never followed. Rows are checked with sqlite3 directly.
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
#include "store/store.h"
#include "core/core.h"

#define NFILES 5
#define OPTIONS "{\"follow_symlinks\":false,\"max_file_bytes\":200," \
                "\"max_pixels\":100}"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    ia_strlcpy(tmpdir, "/tmp/ia_test_follow_XXXXXX", sizeof tmpdir);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char path[512];
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    (void)state;
    while (d && (de = readdir(d)) != NULL) {
        ia_bprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
        if (de->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
    return 0;
}

/* ---- the reused scan ------------------------------------------------- */

/* File i of the dataset: cat/0.jpg .. cat/4.jpg, as the walk gives it. */
static void entry_of(int i, char *path, size_t cap, char *label,
                     ia_entry *e)
{
    memset(e, 0, sizeof *e);
    ia_bprintf(path, cap, "cat/%d.jpg", i);
    ia_strlcpy(label, "cat", 8);
    e->kind = IA_ENT_FILE;
    e->relpath = e->fullpath = path;
    e->label = label;
    e->have_stat = 1;
    e->size = 1000 + i;
    e->mtime_ns = 5000000000LL + i;
}

/* File i as the workers saw it: decoded (reuse_id 0) or taken over. */
static void result_of(int i, int64_t reuse_id, ia_file_result *r)
{
    ia_result_reset(r);
    r->size = 1000 + i;
    r->mtime_ns = 5000000000LL + i;
    r->have_sha256 = 1;
    memset(r->sha256, 'a' + i, sizeof r->sha256);
    r->format = r->ext_format = IA_FMT_JPEG;
    r->width = r->height = 8;
    r->channels = 3;
    r->bit_depth = 8;
    r->reuse_id = reuse_id;
    if (i == 1 && reuse_id == 0)
        ia_result_add(r, "grayscale", IA_SEV_INFO, "one channel");
}

static ia_scan_meta meta_of(const char *options)
{
    ia_scan_meta m = {.name = "cats", .root = "/data/cats",
                      .layout = "folders", .options_json = options,
                      .tool_version = IMGAUDIT_VERSION,
                      .started_at = "2026-01-01T00:00:00Z"};
    return m;
}

/* A DB whose scan 1 holds the five files, the grayscale finding of file
 * 1 and a note after file 2. */
static ia_db *make_db(const char *path)
{
    ia_db *db = NULL;
    ia_scan_meta m = meta_of(OPTIONS);
    int64_t scan = 0, id = 0;
    char p[64], l[8];
    ia_entry e;
    ia_file_result r;
    unlink(path);
    assert_int_equal(ia_db_open(path, IA_DB_CREATE, &db), IA_OK);
    assert_int_equal(ia_store_scan_begin(db, &m, &scan), IA_OK);
    for (int i = 0; i < NFILES; i++) {
        entry_of(i, p, sizeof p, l, &e);
        result_of(i, 0, &r);
        assert_int_equal(ia_store_file(db, scan, &e, &r, &id), IA_OK);
        if (i == 2)
            assert_int_equal(ia_store_note(db, scan, "cat/link", "symlink",
                                           IA_SEV_INFO, "not followed"),
                             IA_OK);
    }
    assert_int_equal(ia_store_scan_finish(db, scan, 1, "2026-01-01T00:01Z"),
                     IA_OK);
    return db;
}

typedef struct rescan {
    ia_db *db;
    ia_reuse *reuse;
    ia_follow *follow;
    int64_t scan;
    char path[256];
} rescan;

/* Scan 2 of the DB at name, reusing reuse_name, made with options; or,
 * when name begins with "new", scan 1 of a new DB. */
static void rescan_begin(rescan *t, const char *name, const char *reuse_name,
                         const char *options)
{
    char reuse_path[256];
    ia_reuse_params p = {.max_pixels = 100, .max_file_bytes = 200};
    ia_scan_meta m = meta_of(options);
    memset(t, 0, sizeof *t);
    ia_bprintf(t->path, sizeof t->path, "%s/%s", tmpdir, name);
    ia_bprintf(reuse_path, sizeof reuse_path, "%s/%s", tmpdir, reuse_name);
    int fresh = strncmp(name, "new", 3) == 0;
    if (fresh) {
        unlink(t->path);
        assert_int_equal(ia_db_open(t->path, IA_DB_CREATE, &t->db), IA_OK);
    } else {
        t->db = make_db(t->path);
    }
    if (strcmp(name, reuse_name) != 0)
        ia_db_close(make_db(reuse_path));
    assert_int_equal(ia_reuse_open(t->db, reuse_path, &p, &t->reuse), IA_OK);
    assert_int_equal(ia_store_scan_begin(t->db, &m, &t->scan), IA_OK);
    assert_int_equal(t->scan, fresh ? 1 : 2);
    assert_int_equal(ia_follow_begin(t->db, t->reuse, &m, t->scan,
                                     &t->follow), IA_OK);
}

static void rescan_end(rescan *t)
{
    ia_follow_free(t->follow);
    ia_reuse_free(t->reuse);
    ia_db_close(t->db);
}

/* Follows file i as a takeover of its reused row; returns *same. */
static int follow_file(rescan *t, int i)
{
    char p[64], l[8];
    ia_entry e;
    ia_file_result r;
    int same = -1;
    entry_of(i, p, sizeof p, l, &e);
    result_of(i, i + 1, &r);
    assert_int_equal(ia_follow_file(t->follow, &e, &r, &same), IA_OK);
    return same;
}

static int follow_note(rescan *t, const char *detail)
{
    ia_entry e;
    char p[16] = "cat/link";
    int same = -1;
    memset(&e, 0, sizeof e);
    e.kind = IA_ENT_SYMLINK_SKIPPED;
    e.relpath = e.fullpath = p;
    ia_strlcpy(e.detail, detail, sizeof e.detail);
    assert_int_equal(ia_follow_note(t->follow, &e, "symlink", IA_SEV_INFO,
                                    &same), IA_OK);
    return same;
}

/* ---- tests ------------------------------------------------------------ */

static void test_unchanged_shares(void **state)
{
    rescan t;
    int fin = -1;
    (void)state;
    rescan_begin(&t, "same.db", "same.db", OPTIONS);
    assert_non_null(t.follow);
    for (int i = 0; i < NFILES; i++) {
        assert_int_equal(follow_file(&t, i), 1);
        if (i == 2)
            assert_int_equal(follow_note(&t, "not followed"), 1);
    }
    assert_int_equal(ia_follow_count(t.follow), NFILES);
    assert_int_equal(ia_follow_end(t.follow, 1, "2026-01-02Z", &fin), IA_OK);
    assert_int_equal(fin, 1);
    assert_int_equal(ia_store_rows_scan(t.db, t.scan), 1);
    assert_int_equal(ia_store_rows_scan(t.db, 1), 1);
    rescan_end(&t);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"), NFILES);
    assert_int_equal(sql_int(t.path, "SELECT same_as FROM scan WHERE id = 2"),
                     1);
    assert_int_equal(sql_int(t.path, "SELECT files FROM scan WHERE id = 2"),
                     NFILES);
    assert_int_equal(sql_int(t.path, "SELECT complete FROM scan WHERE id = 2"),
                     1);
}

/* A change at file 3: files 0-2, the grayscale finding and the note are
 * stored as scan 2's own rows, in order; file 3 is the caller's to store. */
static void test_change_stores_prefix(void **state)
{
    rescan t;
    char p[64], l[8];
    ia_entry e;
    ia_file_result r;
    int same = -1;
    int fin = -1;
    (void)state;
    rescan_begin(&t, "prefix.db", "prefix.db", OPTIONS);
    for (int i = 0; i < 3; i++)
        assert_int_equal(follow_file(&t, i), 1);
    assert_int_equal(follow_note(&t, "not followed"), 1);
    entry_of(3, p, sizeof p, l, &e);
    result_of(3, 4, &r);
    r.mtime_ns++;   /* touched since */
    assert_int_equal(ia_follow_file(t.follow, &e, &r, &same), IA_OK);
    assert_int_equal(same, 0);
    assert_int_equal(ia_follow_end(t.follow, 1, "2026-01-02Z", &fin), IA_OK);
    assert_int_equal(fin, 0);
    rescan_end(&t);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"
                                     " WHERE scan_id = 2"), 3);
    assert_int_equal(sql_int(t.path, "SELECT group_concat(path, ',') = "
                                     "'cat/0.jpg,cat/1.jpg,cat/2.jpg' FROM"
                                     " (SELECT path FROM file WHERE"
                                     " scan_id = 2 ORDER BY id)"), 1);
    /* the finding points at scan 2's copy of cat/1.jpg */
    assert_int_equal(sql_int(t.path, "SELECT f.path = 'cat/1.jpg' AND"
                                     " f.scan_id = 2 FROM finding g JOIN"
                                     " file f ON f.id = g.file_id WHERE"
                                     " g.scan_id = 2 AND g.code ="
                                     " 'grayscale'"), 1);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding WHERE"
                                     " scan_id = 2 AND file_id IS NULL AND"
                                     " code = 'symlink'"), 1);
    /* the note was written after file 2's findings, as the walk made it */
    assert_int_equal(sql_int(t.path, "SELECT (SELECT id FROM finding WHERE"
                                     " scan_id = 2 AND code = 'symlink') >"
                                     " (SELECT id FROM finding WHERE"
                                     " scan_id = 2 AND code = 'grayscale')"),
                     1);
}

static void test_other_note_diverges(void **state)
{
    rescan t;
    int fin = -1;
    (void)state;
    rescan_begin(&t, "note.db", "note.db", OPTIONS);
    for (int i = 0; i < 3; i++)
        assert_int_equal(follow_file(&t, i), 1);
    assert_int_equal(follow_note(&t, "another target"), 0);
    assert_int_equal(ia_follow_end(t.follow, 1, "2026-01-02Z", &fin), IA_OK);
    assert_int_equal(fin, 0);
    rescan_end(&t);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"
                                     " WHERE scan_id = 2"), 3);
}

/* The walk ended early (a file removed, or an interrupted scan): what
 * was followed is stored, nothing is shared. */
static void test_short_walk_stores_prefix(void **state)
{
    int fin = -1;
    (void)state;
    for (int complete = 0; complete <= 1; complete++) {
        rescan t;
        rescan_begin(&t, "short.db", "short.db", OPTIONS);
        assert_int_equal(follow_file(&t, 0), 1);
        assert_int_equal(follow_file(&t, 1), 1);
        assert_int_equal(ia_follow_end(t.follow, complete, "2026-01-02Z",
                                       &fin), IA_OK);
        assert_int_equal(fin, 0);
        rescan_end(&t);
        assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"
                                         " WHERE scan_id = 2"), 2);
    }
}

/* --trust-mtime: the walk's stat follows; a changed size decides nothing
 * (the file is then read, and compared as read). */
static void test_stat(void **state)
{
    rescan t;
    char p[64], l[8];
    ia_entry e;
    int same = -1;
    (void)state;
    rescan_begin(&t, "stat.db", "stat.db", OPTIONS);
    entry_of(0, p, sizeof p, l, &e);
    assert_int_equal(ia_follow_stat(t.follow, &e, &same), IA_OK);
    assert_int_equal(same, 1);
    entry_of(1, p, sizeof p, l, &e);
    e.size++;
    assert_int_equal(ia_follow_stat(t.follow, &e, &same), IA_OK);
    assert_int_equal(same, 0);
    e.have_stat = 0;
    assert_int_equal(ia_follow_stat(t.follow, &e, &same), IA_OK);
    assert_int_equal(same, 0);
    assert_int_equal(follow_file(&t, 1), 1);    /* still following */
    assert_int_equal(ia_follow_count(t.follow), 2);
    rescan_end(&t);
}

/* Changes inside the tree are followed around: a removed file's row is
 * dropped, an added file is the caller's, the runs between are copied in
 * order, and the scan then has its own rows. */
static void test_follow_around(void **state)
{
    rescan t;
    char p[64], l[8];
    ia_entry e;
    ia_file_result r;
    int same = -1, fin = -1;
    int64_t id = 0;
    (void)state;
    rescan_begin(&t, "around.db", "around.db", OPTIONS);
    assert_int_equal(follow_file(&t, 0), 1);
    assert_int_equal(follow_file(&t, 1), 1);
    /* cat/2.jpg is gone: cat/3.jpg follows after its row is dropped */
    assert_int_equal(follow_file(&t, 3), 1);
    assert_int_equal(follow_note(&t, "not followed"), 1);
    /* cat/3b.jpg is new: the runs so far are stored, then the caller's */
    entry_of(3, p, sizeof p, l, &e);
    ia_strlcpy(p, "cat/3b.jpg", sizeof p);
    result_of(3, 0, &r);
    assert_int_equal(ia_follow_file(t.follow, &e, NULL, &same), IA_OK);
    assert_int_equal(same, 0);
    assert_true(ia_follow_active(t.follow));
    assert_int_equal(ia_store_file(t.db, t.scan, &e, &r, &id), IA_OK);
    assert_int_equal(follow_file(&t, 4), 1);
    assert_int_equal(ia_follow_count(t.follow), 4);
    assert_int_equal(ia_follow_end(t.follow, 1, "2026-01-02Z", &fin), IA_OK);
    assert_int_equal(fin, 0);
    rescan_end(&t);
    assert_int_equal(sql_int(t.path, "SELECT group_concat(path, ',') = "
                                     "'cat/0.jpg,cat/1.jpg,cat/3.jpg,"
                                     "cat/3b.jpg,cat/4.jpg' FROM (SELECT path"
                                     " FROM file WHERE scan_id = 2"
                                     " ORDER BY id)"), 1);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding g JOIN"
                                     " file f ON f.id = g.file_id WHERE"
                                     " g.scan_id = 2 AND f.scan_id = 2 AND"
                                     " f.path = 'cat/1.jpg'"), 1);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding WHERE"
                                     " scan_id = 2 AND code = 'symlink'"), 1);
}

/* A tree that changed much is not followed around: past 64 changes, when
 * they are more than one file in 16 followed, following stops for good. */
static void test_too_different(void **state)
{
    rescan t;
    char p[64], l[8];
    ia_entry e;
    int same = -1;
    (void)state;
    rescan_begin(&t, "many.db", "many.db", OPTIONS);
    entry_of(0, p, sizeof p, l, &e);
    for (int i = 0; i < 64 && ia_follow_active(t.follow); i++) {
        ia_bprintf(p, sizeof p, "a/%03d.jpg", i);   /* added, before cat/ */
        assert_int_equal(ia_follow_file(t.follow, &e, NULL, &same), IA_OK);
        assert_int_equal(same, 0);
    }
    assert_true(ia_follow_active(t.follow));
    ia_strlcpy(p, "a/999.jpg", sizeof p);
    assert_int_equal(ia_follow_file(t.follow, &e, NULL, &same), IA_OK);
    assert_false(ia_follow_active(t.follow));
    rescan_end(&t);
}

/* A file read here is compared as a trial row, removed again. */
static void test_trial_rows(void **state)
{
    rescan t;
    char p[64], l[8];
    ia_entry e;
    ia_file_result r;
    int same = -1;
    (void)state;
    rescan_begin(&t, "trial.db", "trial.db", OPTIONS);
    for (int i = 0; i < 2; i++) {
        entry_of(i, p, sizeof p, l, &e);
        result_of(i, 0, &r);
        assert_int_equal(ia_follow_stored(t.follow, &e, &r, &same), IA_OK);
        assert_int_equal(same, 1);
    }
    assert_int_equal(follow_file(&t, 2), 1);
    assert_int_equal(follow_note(&t, "not followed"), 1);
    entry_of(3, p, sizeof p, l, &e);
    result_of(3, 0, &r);
    r.width = 9;    /* another decode result */
    assert_int_equal(ia_follow_stored(t.follow, &e, &r, &same), IA_OK);
    assert_int_equal(same, 0);
    rescan_end(&t);
    /* the trial rows are gone; the prefix (three files) is stored */
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"
                                     " WHERE scan_id = 2"), 3);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"
                                     " WHERE scan_id = 2 AND width = 9"), 0);
}

/* From another DB: a new DB gets the reused one's tables whole, ids and
 * all; a DB that holds other scans gets the rows copied (and the scan
 * then runs its analysis). */
static void test_other_db(void **state)
{
    rescan t;
    int fin = -1;
    (void)state;
    for (int fresh = 1; fresh >= 0; fresh--) {
        rescan_begin(&t, fresh ? "new.db" : "target.db", "base.db", OPTIONS);
        assert_non_null(t.follow);
        for (int i = 0; i < NFILES; i++) {
            assert_int_equal(follow_file(&t, i), 1);
            if (i == 2)
                assert_int_equal(follow_note(&t, "not followed"), 1);
        }
        assert_int_equal(ia_follow_end(t.follow, 1, "2026-01-02Z", &fin),
                         IA_OK);
        assert_int_equal(fin, fresh);
        rescan_end(&t);
        assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file WHERE"
                                         " scan_id = (SELECT max(id) FROM"
                                         " scan)"), NFILES);
        assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding"
                                         " WHERE scan_id = (SELECT max(id)"
                                         " FROM scan) AND stage = 'walk'"),
                         2);
    }
    /* the whole copy kept the dataset-level finding and the totals */
    ia_bprintf(t.path, sizeof t.path, "%s/new.db", tmpdir);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding"
                                     " WHERE stage = 'analysis'"), 1);
    assert_int_equal(sql_int(t.path, "SELECT files * 10 + complete FROM scan"
                                     " WHERE id = 1"), NFILES * 10 + 1);
    assert_int_equal(sql_int(t.path, "SELECT same_as IS NULL FROM scan"), 1);
}

/* Into a new DB, the whole copy made meanwhile is given up at the first
 * difference: only the prefix is stored, and the written DB is usable. */
static void test_other_db_change(void **state)
{
    rescan t;
    char p[64], l[8];
    ia_entry e;
    ia_file_result r;
    int same = -1, fin = -1;
    int64_t id = 0;
    (void)state;
    rescan_begin(&t, "new2.db", "base2.db", OPTIONS);
    for (int i = 0; i < 3; i++)
        assert_int_equal(follow_file(&t, i), 1);
    /* a file read here (a trial row) first takes the connection back */
    entry_of(3, p, sizeof p, l, &e);
    result_of(3, 0, &r);
    r.height = 9;
    assert_int_equal(ia_follow_stored(t.follow, &e, &r, &same), IA_OK);
    assert_int_equal(same, 0);
    assert_int_equal(ia_follow_end(t.follow, 1, "2026-01-02Z", &fin), IA_OK);
    assert_int_equal(fin, 0);
    /* the connection writes as before: foreign keys on, in a batch */
    assert_int_equal(ia_store_file(t.db, t.scan, &e, &r, &id), IA_OK);
    assert_int_equal(ia_store_scan_finish(t.db, t.scan, 1, "2026-01-02Z"),
                     IA_OK);
    rescan_end(&t);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM file"), 4);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding WHERE"
                                     " code = 'symlink'"), 0);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM finding WHERE"
                                     " code = 'grayscale' AND file_id IS"
                                     " NOT NULL"), 1);
    assert_int_equal(sql_int(t.path, "SELECT count(*) FROM"
                                     " pragma_foreign_key_check"), 0);
}

/* Following needs the same options. */
static void test_not_followed(void **state)
{
    rescan t;
    (void)state;
    rescan_begin(&t, "opts.db", "opts.db",
                 "{\"follow_symlinks\":false,\"max_file_bytes\":200,"
                 "\"manifest\":\"labels.csv\",\"max_pixels\":100}");
    assert_null(t.follow);
    rescan_end(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_shares),
        cmocka_unit_test(test_change_stores_prefix),
        cmocka_unit_test(test_other_note_diverges),
        cmocka_unit_test(test_short_walk_stores_prefix),
        cmocka_unit_test(test_stat),
        cmocka_unit_test(test_follow_around),
        cmocka_unit_test(test_too_different),
        cmocka_unit_test(test_trial_rows),
        cmocka_unit_test(test_other_db),
        cmocka_unit_test(test_other_db_change),
        cmocka_unit_test(test_not_followed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
