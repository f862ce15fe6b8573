/*
 * Unit tests of compare (src/compare*.c, src/compare/policy.c) on small scans
 * written through the store API: the policy file (every error names its
 * key), scan references, file matching (each kind of change, duplicate
 * contents paired in path order, pixel-only matches), class renumbering,
 * pixel drift thresholds, incomplete scans, --fail-on, output formats,
 * and a baseline that stays byte-identical. The JSON output is read back
 * with jansson.
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
#include <jansson.h>

#include "imgaudit.h"
#include "policy/policy.h"
#include "store/store.h"
#include "core/core.h"

static char tmpdir[64];

static int group_setup(void **state)
{
    (void)state;
    ia_strlcpy(tmpdir, "/tmp/ia_test_compare_XXXXXX", sizeof tmpdir);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    char path[256];
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

static void tpath(char *out, size_t cap, const char *name)
{
    ia_bprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- building scans -------------------------------------------------- */

typedef struct tfile {
    const char *path;     /* SPLIT/LABEL/name */
    int content;          /* bytes: equal numbers, equal SHA-256 */
    int pixels;           /* decoded pixels (0: same as content) */
    int mean;             /* channel mean, 0-255 (0: 128) */
    int status;           /* ia_status */
} tfile;

static void fill(const tfile *t, ia_entry *e, ia_file_result *r,
                 char *split, char *label)
{
    const char *a = strchr(t->path, '/'), *b = a ? strchr(a + 1, '/') : NULL;
    memset(e, 0, sizeof *e);
    e->relpath = (char *)(uintptr_t)t->path;
    if (b) {
        memcpy(split, t->path, (size_t)(a - t->path));
        split[a - t->path] = '\0';
        memcpy(label, a + 1, (size_t)(b - a - 1));
        label[b - a - 1] = '\0';
        e->split = split;
        e->split_canonical = ia_split_canonical(split);
        e->label = label;
    }
    ia_result_reset(r);
    r->size = 1000 + t->content;
    r->have_sha256 = 1;
    memset(r->sha256, 0, sizeof r->sha256);
    memcpy(r->sha256, &t->content, sizeof t->content);
    r->format = IA_FMT_JPEG;
    r->status = t->status;
    r->width = 40;
    r->height = 30;
    r->channels = 3;
    r->color_space = "ycbcr";
    r->jpeg_quality = 90;
    if (t->status != IA_ST_OK)
        return;
    int px = t->pixels ? t->pixels : t->content;
    double mean = t->mean ? t->mean : 128;
    r->have_measures = 1;
    r->stats.pixels = 1200;
    for (int c = 0; c < 3; c++) {
        r->stats.sum[c] = (uint64_t)(mean * 1200);
        r->stats.sumsq[c] = (uint64_t)((mean * mean + 100) * 1200);
    }
    r->stats.brightness = mean;
    r->stats.contrast = 10;
    r->stats.entropy = 5;
    r->stats.sharpness = 100;
    r->stats.alpha_used = -1;
    memset(r->hashes.pixel_hash, 0, sizeof r->hashes.pixel_hash);
    memcpy(r->hashes.pixel_hash, &px, sizeof px);
}

/* Writes a scan named name into the DB file; complete unless told. */
static void make_scan(const char *db_name, const char *name,
                      const tfile *files, size_t n, int complete)
{
    char db_path[256], split[64], label[64];
    ia_db *db = NULL;
    int64_t id = 0;
    static ia_file_result r;
    ia_entry e;
    ia_scan_meta m;
    memset(&m, 0, sizeof m);
    m.name = name;
    m.root = "/data";
    m.layout = "splits";
    m.started_at = "2026-01-01T00:00:00Z";
    tpath(db_path, sizeof db_path, db_name);
    assert_int_equal(ia_db_open(db_path, IA_DB_CREATE, &db), IA_OK);
    assert_int_equal(ia_store_scan_begin(db, &m, &id), IA_OK);
    for (size_t i = 0; i < n; i++) {
        fill(&files[i], &e, &r, split, label);
        assert_int_equal(ia_store_file(db, id, &e, &r, NULL), IA_OK);
    }
    assert_int_equal(ia_store_scan_finish(db, id, complete,
                                          "2026-01-01T00:01:00Z"), IA_OK);
    ia_db_close(db);
}

/* Runs a comparison and returns its JSON document (opt may be NULL). */
static json_t *compare_json(const char *base, const char *new_,
                            const ia_compare_options *opt, int *fail)
{
    ia_compare *c = NULL;
    ia_compare_summary sum;
    char *buf = NULL;
    size_t len = 0;
    int rc = ia_compare_open(base, new_, opt, &c);
    if (rc != IA_OK)
        print_error("compare: %s\n", ia_compare_errmsg(c));
    assert_int_equal(rc, IA_OK);
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    assert_int_equal(ia_compare_write(c, IA_FORMAT_JSON, mem), IA_OK);
    fclose(mem);
    ia_compare_get_summary(c, &sum);
    if (fail)
        *fail = sum.fail;
    ia_compare_close(c);
    json_error_t err;
    json_t *doc = json_loads(buf, 0, &err);
    free(buf);
    assert_non_null(doc);
    return doc;
}

static json_int_t count_of(json_t *doc, const char *kind)
{
    return json_integer_value(
        json_object_get(json_object_get(json_object_get(doc, "files"), kind),
                        "count"));
}

/* Findings with this code (and split, unless NULL). */
static size_t nfindings(json_t *doc, const char *code, const char *split,
                        json_t **first)
{
    size_t i, n = 0;
    json_t *f;
    json_array_foreach(json_object_get(doc, "findings"), i, f) {
        const char *fs = json_string_value(json_object_get(f, "split"));
        if (strcmp(json_string_value(json_object_get(f, "code")), code) != 0)
            continue;
        if (split && (!fs || strcmp(fs, split) != 0))
            continue;
        if (!n++ && first)
            *first = f;
    }
    return n;
}

/* ---- policy ---------------------------------------------------------- */

static void test_codes(void **state)
{
    (void)state;
    for (int i = 0; i < IA_CC_COUNT; i++)
        assert_int_equal(ia_cc_parse(ia_cc_name(i)), i);
    assert_int_equal(ia_cc_parse("nonsense"), -1);
    ia_policy p;
    ia_policy_defaults(&p);
    assert_true(p.ks_statistic == 0.05 && p.ks_p_value == 0.001);
    assert_int_equal(p.severity[IA_CC_LABEL_REMOVED], IA_SEV_ERROR);
    assert_int_equal(p.severity[IA_CC_ADDED], IA_SEV_INFO);
    assert_int_equal(p.severity[IA_CC_PIXEL_DRIFT], IA_POLICY_AUTO);
    /* automatic health severities: at least a warning */
    assert_int_equal(ia_policy_health_severity(&p, "cmyk", 0), 1);
    assert_int_equal(ia_policy_health_severity(&p, "truncated", 2), 2);
}

static void test_policy_load(void **state)
{
    (void)state;
    char path[256], err[512];
    ia_policy p;
    tpath(path, sizeof path, "policy.json");
    write_text(path, "{\"version\": 1,"
                     " \"thresholds\": {\"ks_statistic\": 0.2,"
                     "  \"ks_min_images\": 50, \"pixel_mean_error\": 40},"
                     " \"severity\": {\"added\": \"error\","
                     "  \"renamed\": \"off\", \"health_regression\": "
                     "\"info\"},"
                     " \"health\": {\"cmyk\": \"error\", \"dark\": \"off\"}}");
    ia_policy_defaults(&p);
    assert_int_equal(ia_policy_load(&p, path, err, sizeof err), IA_OK);
    assert_true(p.ks_statistic == 0.2 && p.pixel_mean_error == 40.0);
    assert_int_equal(p.ks_min_images, 50);
    assert_true(p.ks_p_value == 0.001);   /* untouched */
    assert_int_equal(p.severity[IA_CC_ADDED], IA_SEV_ERROR);
    assert_int_equal(p.severity[IA_CC_RENAMED], IA_POLICY_OFF);
    assert_int_equal(ia_policy_health_severity(&p, "cmyk", 1), 2);
    assert_int_equal(ia_policy_health_severity(&p, "dark", 1), -1);
    assert_int_equal(ia_policy_health_severity(&p, "truncated", 2), 0);
    ia_policy_free(&p);
}

static void test_policy_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"[1]", "must be a JSON object"},
        {"{\"thresholds\": {\"ks_statistc\": 1}}", "ks_statistc"},
        {"{\"thresholds\": {\"ks_statistic\": \"0.1\"}}", "ks_statistic"},
        {"{\"thresholds\": {\"ks_statistic\": 1.5}}", "[0, 1]"},
        {"{\"thresholds\": {\"ks_p_value\": 0}}", "(0, 1]"},
        {"{\"thresholds\": {\"pixel_min_images\": 2.5}}", "whole number"},
        {"{\"thresholds\": {\"pixel_min_images\": 0}}", "whole number"},
        {"{\"thresholds\": {\"pixel_mean_warning\": -1}}", ">= 0"},
        {"{\"thresholds\": {\"pixel_std_warning\": 30}}", "exceeds"},
        {"{\"severity\": {\"label_removd\": \"error\"}}", "label_removd"},
        {"{\"severity\": {\"added\": \"fatal\"}}", "added"},
        {"{\"severity\": {\"added\": 2}}", "added"},
        {"{\"health\": []}", "health"},
        {"{\"health\": {\"cmyk\": \"loud\"}}", "cmyk"},
        {"{\"version\": 2}", "version"},
        {"{\"thresholds\": 3}", "thresholds"},
        {"{\"colour\": 1}", "colour"},
        {"{\"version\": 1, \"version\": 1}", "duplicate"},
        {"{\"thresholds\": {", "line 1"},
    };
    char path[256], err[512];
    tpath(path, sizeof path, "bad.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ia_policy p;
        ia_policy_defaults(&p);
        write_text(path, cases[i].text);
        err[0] = '\0';
        assert_int_equal(ia_policy_load(&p, path, err, sizeof err),
                         IA_ERR_ARG);
        if (!strstr(err, cases[i].needle)) {
            print_error("case %zu: '%s' lacks '%s'\n", i, err,
                        cases[i].needle);
            fail();
        }
        ia_policy_free(&p);
    }
    ia_policy p;
    ia_policy_defaults(&p);
    tpath(path, sizeof path, "no-such-policy.json");
    assert_int_equal(ia_policy_load(&p, path, err, sizeof err), IA_ERR_ARG);
    assert_non_null(strstr(err, "no-such-policy.json"));
}

/* ---- matching -------------------------------------------------------- */

static const tfile base_files[] = {
    {"train/a/1.jpg", 1, 0, 0, IA_ST_OK},
    {"train/a/2.jpg", 2, 0, 0, IA_ST_OK},
    {"train/a/3.jpg", 3, 0, 0, IA_ST_OK},
    {"train/a/4.jpg", 4, 0, 0, IA_ST_OK},
    {"train/a/5.jpg", 5, 0, 0, IA_ST_OK},
    {"train/a/6.jpg", 6, 0, 0, IA_ST_OK},
    {"train/a/7.jpg", 7, 0, 0, IA_ST_OK},
    {"train/c/9.jpg", 9, 0, 0, IA_ST_OK},
    {"train/c/10.jpg", 9, 0, 0, IA_ST_OK},
    {"train/d/11.jpg", 11, 0, 0, IA_ST_OK},
    {"train/d/12.jpg", 12, 0, 0, IA_ST_OK},
    {"test/a/20.jpg", 20, 0, 0, IA_ST_OK},
};
static const tfile new_files[] = {
    {"train/a/1.jpg", 1, 0, 0, IA_ST_OK},           /* unchanged */
    {"train/a/2.jpg", 22, 2, 0, IA_ST_OK},          /* encoding only */
    {"train/a/3.jpg", 33, 0, 0, IA_ST_OK},          /* pixels changed */
    {"train/a/4b.jpg", 4, 0, 0, IA_ST_OK},          /* renamed */
    {"test/a/5.jpg", 5, 0, 0, IA_ST_OK},            /* moved */
    {"train/b/6.jpg", 6, 0, 0, IA_ST_OK},           /* relabeled */
    {"train/b/8.jpg", 8, 0, 0, IA_ST_OK},           /* added */
    {"train/c/9x.jpg", 9, 0, 0, IA_ST_OK},          /* renamed twins */
    {"train/c/10x.jpg", 9, 0, 0, IA_ST_OK},
    {"train/d/11r.jpg", 111, 11, 0, IA_ST_OK},      /* re-encoded rename */
    {"train/d/12.jpg", 112, 0, 0, IA_ST_TRUNCATED}, /* now truncated */
    {"test/a/20.jpg", 20, 0, 0, IA_ST_OK},
};

static json_t *find_pair(json_t *arr, const char *base_path)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "base_path")),
                   base_path) == 0)
            return x;
    }
    return NULL;
}

static void test_matching(void **state)
{
    (void)state;
    char b[256], n[256];
    make_scan("m-base.db", "base", base_files,
              sizeof base_files / sizeof *base_files, 1);
    make_scan("m-new.db", "new", new_files,
              sizeof new_files / sizeof *new_files, 1);
    tpath(b, sizeof b, "m-base.db");
    tpath(n, sizeof n, "m-new.db");
    int fail = -1;
    json_t *doc = compare_json(b, n, NULL, &fail);
    json_t *files = json_object_get(doc, "files");
    assert_int_equal(json_integer_value(json_object_get(files, "unchanged")),
                     2);
    assert_int_equal(count_of(doc, "modified"), 3);
    assert_int_equal(count_of(doc, "renamed"), 4);
    assert_int_equal(count_of(doc, "moved"), 1);
    assert_int_equal(count_of(doc, "relabeled"), 1);
    assert_int_equal(count_of(doc, "added"), 1);
    assert_int_equal(count_of(doc, "removed"), 1);
    json_t *mod = json_object_get(files, "modified");
    assert_int_equal(json_integer_value(json_object_get(mod,
                                                        "encoding_only")), 1);
    assert_int_equal(json_integer_value(json_object_get(mod,
                                                        "pixels_changed")), 1);
    assert_int_equal(json_integer_value(json_object_get(mod,
                                                        "pixels_unknown")), 1);
    /* twins pair in path order: 10 -> 10x, 9 -> 9x */
    json_t *ren = json_object_get(json_object_get(files, "renamed"), "files");
    json_t *p = find_pair(ren, "train/c/10.jpg");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "path")),
                        "train/c/10x.jpg");
    p = find_pair(ren, "train/d/11.jpg");
    assert_non_null(p);
    assert_true(json_is_true(json_object_get(p, "recoded")));
    json_t *mv = json_object_get(json_object_get(files, "moved"), "files");
    p = find_pair(mv, "train/a/5.jpg");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "split")),
                        "test");
    /* label b is new in train and sorts before c and d: they shift */
    json_t *f = NULL;
    assert_int_equal(nfindings(doc, "label_added", "train", NULL), 1);
    assert_int_equal(nfindings(doc, "class_renumbered", "train", &f), 1);
    assert_non_null(strstr(json_string_value(json_object_get(f, "detail")),
                           "c 1→2"));
    assert_int_equal(nfindings(doc, "health_regression", NULL, &f), 1);
    assert_string_equal(json_string_value(json_object_get(f, "metric")),
                        "truncated");
    assert_string_equal(json_string_value(json_object_get(f, "severity")),
                        "error");
    assert_int_equal(fail, 1);
    assert_string_equal(json_string_value(json_object_get(doc, "verdict")),
                        "fail");
    json_decref(doc);
}

/* A label appended at the end of the class list renumbers nothing. */
static void test_no_renumber_at_end(void **state)
{
    (void)state;
    static const tfile b[] = {{"train/a/1.jpg", 1, 0, 0, 0},
                              {"train/b/2.jpg", 2, 0, 0, 0}};
    static const tfile n[] = {{"train/a/1.jpg", 1, 0, 0, 0},
                              {"train/b/2.jpg", 2, 0, 0, 0},
                              {"train/z/3.jpg", 3, 0, 0, 0}};
    char pb[256], pn[256];
    make_scan("e-base.db", "base", b, 2, 1);
    make_scan("e-new.db", "new", n, 3, 1);
    tpath(pb, sizeof pb, "e-base.db");
    tpath(pn, sizeof pn, "e-new.db");
    json_t *doc = compare_json(pb, pn, NULL, NULL);
    assert_int_equal(nfindings(doc, "label_added", "train", NULL), 1);
    assert_int_equal(nfindings(doc, "class_renumbered", NULL, NULL), 0);
    json_t *idx = json_object_get(json_object_get(json_object_get(
        json_object_get(doc, "labels"), "train"), "class_index"), "new");
    assert_int_equal(json_array_size(idx), 3);
    assert_string_equal(json_string_value(json_array_get(idx, 2)), "z");
    json_decref(doc);
}

/* ---- pixels, fail-on, incomplete ------------------------------------- */

static void pixel_case(const char *tag, int new_mean, const char *want_sev)
{
    tfile b[6], n[6];
    char names[6][32], pb[256], pn[256], dbb[64], dbn[64];
    for (int i = 0; i < 6; i++) {
        ia_bprintf(names[i], sizeof names[i], "train/a/%d.jpg", i);
        b[i] = (tfile){names[i], i + 1, 0, 100, IA_ST_OK};
        n[i] = (tfile){names[i], i + 101, 0, new_mean, IA_ST_OK};
    }
    ia_bprintf(dbb, sizeof dbb, "p%s-base.db", tag);
    ia_bprintf(dbn, sizeof dbn, "p%s-new.db", tag);
    make_scan(dbb, "base", b, 6, 1);
    make_scan(dbn, "new", n, 6, 1);
    tpath(pb, sizeof pb, dbb);
    tpath(pn, sizeof pn, dbn);
    json_t *doc = compare_json(pb, pn, NULL, NULL);
    json_t *f = NULL;
    /* the split and its one label: the same drift twice */
    size_t k = nfindings(doc, "pixel_drift", "train", &f);
    if (!want_sev) {
        assert_int_equal(k, 0);
    } else {
        assert_int_equal(k, 2);
        assert_string_equal(json_string_value(json_object_get(f, "severity")),
                            want_sev);
    }
    json_decref(doc);
}

static void test_pixel_thresholds(void **state)
{
    (void)state;
    pixel_case("a", 109, NULL);        /* 9 < 10 */
    pixel_case("b", 110, "warning");   /* 10 */
    pixel_case("c", 75, "error");      /* -25 */
}

static void test_fail_on_and_incomplete(void **state)
{
    (void)state;
    static const tfile b[] = {{"train/a/1.jpg", 1, 0, 0, 0},
                              {"train/a/2.jpg", 2, 0, 0, 0}};
    static const tfile n[] = {{"train/a/1.jpg", 1, 0, 0, 0},
                              {"test/a/2.jpg", 2, 0, 0, 0}};
    char pb[256], pn[256];
    make_scan("f-base.db", "base", b, 2, 1);
    make_scan("f-new.db", "new", n, 2, 1);
    tpath(pb, sizeof pb, "f-base.db");
    tpath(pn, sizeof pn, "f-new.db");
    ia_compare_options opt = {0};
    int fail = -1;
    /* moved (warning) and split_added (warning): no error */
    json_t *doc = compare_json(pb, pn, &opt, &fail);
    assert_int_equal(nfindings(doc, "moved", NULL, NULL), 1);
    assert_int_equal(fail, 0);
    json_decref(doc);
    opt.fail_on = IA_FAIL_ON_WARNING;
    doc = compare_json(pb, pn, &opt, &fail);
    assert_int_equal(fail, 1);
    json_decref(doc);
    opt.fail_on = 7;
    ia_compare *c = NULL;
    assert_int_equal(ia_compare_open(pb, pn, &opt, &c), IA_ERR_ARG);
    ia_compare_close(c);

    make_scan("f-part.db", "part", n, 1, 0);
    tpath(pn, sizeof pn, "f-part.db");
    opt.fail_on = IA_FAIL_ON_ERROR;
    doc = compare_json(pb, pn, &opt, &fail);
    assert_int_equal(nfindings(doc, "scan_incomplete", NULL, NULL), 1);
    assert_int_equal(fail, 1);
    json_decref(doc);
}

/* ---- references, formats, read-only ---------------------------------- */

static void expect_open(const char *base, const char *new_, const char *db,
                        int want)
{
    ia_compare *c = NULL;
    ia_compare_options opt = {0};
    opt.db = db;
    int rc = ia_compare_open(base, new_, &opt, &c);
    if (rc != want)
        print_error("%s vs %s: %d (%s)\n", base, new_, rc,
                    ia_compare_errmsg(c));
    assert_int_equal(rc, want);
    if (want != IA_OK)
        assert_true(ia_compare_errmsg(c)[0] != '\0');
    ia_compare_close(c);
}

static void test_references(void **state)
{
    (void)state;
    static const tfile one[] = {{"train/a/1.jpg", 1, 0, 0, 0}};
    char db[256], ref1[300], ref2[300], missing[256];
    make_scan("r.db", "first", one, 1, 1);
    make_scan("r.db", "second", one, 1, 1);
    tpath(db, sizeof db, "r.db");
    tpath(missing, sizeof missing, "missing.db");
    ia_bprintf(ref1, sizeof ref1, "%s:first", db);
    ia_bprintf(ref2, sizeof ref2, "%s:2", db);
    expect_open(db, db, NULL, IA_OK);
    expect_open(ref1, ref2, NULL, IA_OK);
    expect_open("first", "second", db, IA_OK);
    expect_open("1", ref2, db, IA_OK);
    expect_open(missing, db, NULL, IA_ERR_NOT_FOUND);
    ia_bprintf(ref1, sizeof ref1, "%s:first", missing);
    expect_open(ref1, db, NULL, IA_ERR_NOT_FOUND);
    ia_bprintf(ref1, sizeof ref1, "%s:third", db);
    expect_open(ref1, db, NULL, IA_ERR_NOT_FOUND);
    expect_open("first", db, missing, IA_ERR_NOT_FOUND);
    expect_open("", db, NULL, IA_ERR_ARG);
    /* not a database */
    char junk[256];
    tpath(junk, sizeof junk, "junk.db");
    write_text(junk, "not sqlite at all, not at all, not at all......");
    expect_open(junk, db, NULL, IA_ERR_NOT_DB);

    /* one file, two scans of equal content: nothing changed */
    ia_bprintf(ref1, sizeof ref1, "%s:first", db);
    json_t *doc = compare_json(ref1, db, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "findings")), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(doc, "new"), "id")), 2);
    json_decref(doc);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void test_formats_and_readonly(void **state)
{
    (void)state;
    char b[256], n[256], *buf = NULL;
    size_t len = 0, l0, l1;
    tpath(b, sizeof b, "m-base.db");
    tpath(n, sizeof n, "m-new.db");
    unsigned char *before = slurp(b, &l0);
    ia_compare *c = NULL;
    assert_int_equal(ia_compare_open(b, n, NULL, &c), IA_OK);
    assert_int_equal(ia_compare_write(c, IA_FORMAT_CSV, stdout), IA_ERR_ARG);
    FILE *mem = open_memstream(&buf, &len);
    assert_int_equal(ia_compare_write(c, IA_FORMAT_TEXT, mem), IA_OK);
    fclose(mem);
    /* ranked, errors first; the verdict is the last line */
    const char *err = strstr(buf, "  error "), *info = strstr(buf, "  info ");
    assert_true(err && info && err < info);
    assert_non_null(strstr(buf, "\nverdict: FAIL: "));
    assert_int_equal(buf[len - 1], '\n');
    assert_null(strstr(strstr(buf, "\nverdict: ") + 1, "\n\n"));
    free(buf);
    buf = NULL;
    mem = open_memstream(&buf, &len);
    assert_int_equal(ia_compare_write(c, IA_FORMAT_MD, mem), IA_OK);
    fclose(mem);
    assert_true(strncmp(buf, "# imgaudit compare\n", 19) == 0);
    assert_non_null(strstr(buf, "| error | class_renumbered |"));
    free(buf);
    ia_compare_close(c);
    unsigned char *after = slurp(b, &l1);
    assert_int_equal(l0, l1);
    assert_memory_equal(before, after, l0);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_policy_load),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_no_renumber_at_end),
        cmocka_unit_test(test_pixel_thresholds),
        cmocka_unit_test(test_fail_on_and_incomplete),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_formats_and_readonly),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
