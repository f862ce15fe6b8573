/*
 * Tests of the reports and the export: synthetic rows go into a DB
 * through the store, the JSON report is parsed back with jansson and
 * checked value by value (channel means and stds against a two-pass
 * computation over the pixels themselves), CSV is parsed back with libcsv
 * and JSONL line by line; text and Markdown are checked for their
 * content; reading never changes the DB file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <csv.h>
#include <jansson.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

static char tmpdir[64];
static char db_path[128];

/* ---- the synthetic dataset ------------------------------------------- */

typedef struct pix {
    int v[3];
} pix;

typedef struct tfile {
    const char *path, *split, *label;
    int status;
    int npix;
    pix px[4];
    const char *finding;   /* code of an extra finding, or NULL */
    int severity;
} tfile;

/* Scan "ds": two splits, a stray file at the root. */
static const tfile ds_files[] = {
    {"train/cat/a.png", "train", "cat", IA_ST_OK, 4,
     {{{10, 20, 30}}, {{40, 50, 60}}, {{70, 80, 90}}, {{100, 110, 120}}},
     NULL, 0},
    {"train/cat/b.png", "train", "cat", IA_ST_OK, 2,
     {{{255, 0, 0}}, {{0, 255, 0}}}, "odd_size", IA_SEV_WARNING},
    {"train/dog/c.jpg", "train", "dog", IA_ST_OK, 1, {{{1, 2, 3}}},
     "odd_size", IA_SEV_WARNING},
    {"train/dog/d.jpg", "train", "dog", IA_ST_TRUNCATED, 0, {{{0}}}, NULL, 0},
    {"val/cat/e.jpg", "val", "cat", IA_ST_OK, 3,
     {{{200, 200, 200}}, {{201, 201, 201}}, {{0, 0, 0}}},
     "grayscale", IA_SEV_INFO},
    {"README.txt", NULL, NULL, IA_ST_NOT_IMAGE, 0, {{{0}}}, NULL, 0},
};

static void fill_result(const tfile *t, ia_file_result *r)
{
    ia_result_reset(r);
    r->size = 100 + t->npix;
    r->mtime_ns = 1;
    r->have_sha256 = 1;
    memset(r->sha256, 0xab, sizeof r->sha256);
    r->format = strstr(t->path, ".png") ? IA_FMT_PNG : IA_FMT_JPEG;
    r->ext_format = r->format;
    if (t->status != IA_ST_OK) {
        ia_result_status(r, t->status, "broken %s", t->path);
        return;
    }
    r->width = t->npix;
    r->height = 1;
    r->channels = 3;
    r->bit_depth = 8;
    r->jpeg_quality = r->format == IA_FMT_JPEG ? 85 : -1;
    r->have_measures = 1;
    r->stats.pixels = (uint64_t)t->npix;
    for (int i = 0; i < t->npix; i++)
        for (int c = 0; c < 3; c++) {
            uint64_t v = (uint64_t)t->px[i].v[c];
            r->stats.sum[c] += v;
            r->stats.sumsq[c] += v * v;
        }
    r->stats.brightness = 0.1;
    r->stats.alpha_used = -1;
    r->hashes.phash = 0x8000000000000001ULL;
    r->hashes.dhash = 0x00000000000000ffULL;
    if (t->finding)
        ia_result_add(r, t->finding, t->severity, "%s detail", t->finding);
}

static void store_file(ia_db *db, int64_t scan, const char *path,
                       const char *split, const char *label,
                       const ia_file_result *r)
{
    char p[256], s[64], l[64];
    ia_entry e;
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
    int rc = ia_store_file(db, scan, &e, r, NULL);
    if (rc != IA_OK)
        fail_msg("store %s: %s", path, ia_db_errmsg(db));
}

static int64_t begin(ia_db *db, const char *name)
{
    ia_scan_meta m = {name, "/data/ds", "splits", "{}", "0.1.0",
                      "2026-01-02T03:04:05Z", 0, 0};
    int64_t id = 0;
    assert_int_equal(ia_store_scan_begin(db, &m, &id), IA_OK);
    return id;
}

static void finish(ia_db *db, int64_t scan)
{
    assert_int_equal(ia_store_scan_finish(db, scan, 1, "2026-01-02T03:05:00Z"),
                     IA_OK);
}

/* Scans: 1 "ds", 2 "precise" (huge sums), 3 "many" (8 warnings of one
 * code), 4 "csv" (hostile paths), 5 "flat" (no splits). */
static int group_setup(void **state)
{
    ia_db *db = NULL;
    ia_file_result r;
    char name[64];
    (void)state;
    ia_strlcpy(tmpdir, "/tmp/ia_test_report_XXXXXX", sizeof tmpdir);
    if (!mkdtemp(tmpdir))
        return -1;
    ia_bprintf(db_path, sizeof db_path, "%s/r.db", tmpdir);
    if (ia_db_open(db_path, IA_DB_CREATE, &db) != IA_OK)
        return -1;

    int64_t scan = begin(db, "ds");
    for (size_t i = 0; i < IA_ARRAY_LEN(ds_files); i++) {
        fill_result(&ds_files[i], &r);
        store_file(db, scan, ds_files[i].path, ds_files[i].split,
                   ds_files[i].label, &r);
    }
    finish(db, scan);

    /* One image of 1e8 pixels: all 200 but one 201, in every channel.
     * std = sqrt(N - 1) / N exactly; naive doubles lose it. */
    scan = begin(db, "precise");
    ia_result_reset(&r);
    r.format = IA_FMT_PNG;
    r.width = 10000;
    r.height = 10000;
    r.have_measures = 1;
    r.stats.pixels = 100000000ULL;
    for (int c = 0; c < 3; c++) {
        r.stats.sum[c] = 200ULL * 100000000ULL + 1;
        r.stats.sumsq[c] = 40000ULL * 100000000ULL + 401;
    }
    store_file(db, scan, "big.png", "train", "x", &r);
    finish(db, scan);

    scan = begin(db, "many");
    for (int i = 0; i < 8; i++) {
        ia_result_reset(&r);
        r.format = IA_FMT_PNG;
        ia_result_add(&r, "blank", IA_SEV_WARNING, "constant image");
        ia_bprintf(name, sizeof name, "b%d\x1b[2J.png", i);
        store_file(db, scan, name, NULL, "l", &r);
    }
    finish(db, scan);

    scan = begin(db, "csv");
    fill_result(&ds_files[0], &r);
    ia_result_add(&r, "extension_mismatch", IA_SEV_WARNING, "x");
    store_file(db, scan, "dir/we \"quote\", comma\nnewline.jpg", "train",
               "a,b", &r);
    fill_result(&ds_files[3], &r);
    store_file(db, scan, "plain.jpg", "train", "a,b", &r);
    fill_result(&ds_files[2], &r);
    r.nfindings = 0;
    store_file(db, scan, "clean\xff.jpg", "train", "a,b", &r);
    finish(db, scan);

    scan = begin(db, "flat");
    fill_result(&ds_files[0], &r);
    store_file(db, scan, "cat/a.png", NULL, "cat", &r);
    finish(db, scan);

    ia_db_close(db);
    return 0;
}

static int group_teardown(void **state)
{
    char p[256];
    (void)state;
    unlink(db_path);
    ia_bprintf(p, sizeof p, "%s/out.txt", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return 0;
}

/* ---- helpers --------------------------------------------------------- */

static ia_db *open_ro(void)
{
    ia_db *db = NULL;
    if (ia_db_open(db_path, IA_DB_READONLY, &db) != IA_OK)
        fail_msg("open: %s", ia_db_errmsg(db));
    return db;
}

/* Renders a report or an export into a malloc'd string. */
static char *render(const char *ref, ia_format fmt, int export_problems)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    ia_db *db = open_ro();
    int rc = export_problems >= 0
                 ? ia_export(db, ref, fmt, export_problems, f)
                 : ia_report(db, ref, fmt, f);
    if (rc != IA_OK)
        fail_msg("render %s: %s", ref, ia_db_errmsg(db));
    ia_db_close(db);
    fclose(f);
    return buf;
}

static json_t *report_json(const char *ref)
{
    json_error_t err;
    char *text = render(ref, IA_FORMAT_JSON, -1);
    json_t *root = json_loads(text, 0, &err);
    if (!root)
        fail_msg("JSON: %s at line %d", err.text, err.line);
    free(text);
    return root;
}

static json_int_t jint(json_t *o, const char *path0, const char *path1)
{
    json_t *v = json_object_get(o, path0);
    if (path1)
        v = json_object_get(v, path1);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void assert_close(double got, double want, double rel)
{
    double tol = rel * fabs(want);
    if (!(fabs(got - want) <= (tol > 1e-300 ? tol : 1e-300)))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* Two-pass mean and population std over the pixels of the given ok
 * files: the oracle for the exact-sum method. */
static void oracle(const char *split, double mean[3], double std[3])
{
    for (int c = 0; c < 3; c++) {
        double s = 0, n = 0, ss = 0;
        for (size_t i = 0; i < IA_ARRAY_LEN(ds_files); i++) {
            const tfile *t = &ds_files[i];
            if (t->status == IA_ST_OK && t->split &&
                strcmp(t->split, split) == 0)
                for (int p = 0; p < t->npix; p++, n++)
                    s += t->px[p].v[c];
        }
        mean[c] = s / n;
        for (size_t i = 0; i < IA_ARRAY_LEN(ds_files); i++) {
            const tfile *t = &ds_files[i];
            if (t->status == IA_ST_OK && t->split &&
                strcmp(t->split, split) == 0)
                for (int p = 0; p < t->npix; p++)
                    ss += (t->px[p].v[c] - mean[c]) * (t->px[p].v[c] - mean[c]);
        }
        std[c] = sqrt(ss / n);
    }
}

/* ---- JSON ------------------------------------------------------------ */

static void test_json_header_and_counts(void **state)
{
    (void)state;
    json_t *root = report_json("ds");
    const char *keys[] = {"tool", "scan", "status_counts", "splits",
                          "findings", "finding_counts", "duplicate_groups",
                          "leaks", "loaders",
                          "loader_classes", "summary", "verdict"};
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(root, key, v) {
        assert_true(i < IA_ARRAY_LEN(keys));
        assert_string_equal(key, keys[i++]);
    }
    assert_int_equal(i, IA_ARRAY_LEN(keys));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(root, "tool"), "name")),
                        "imgaudit");
    json_t *scan = json_object_get(root, "scan");
    assert_string_equal(json_string_value(json_object_get(scan, "name")),
                        "ds");
    assert_string_equal(json_string_value(json_object_get(scan, "root")),
                        "/data/ds");
    assert_string_equal(json_string_value(json_object_get(scan,
                                                          "finished_at")),
                        "2026-01-02T03:05:00Z");
    assert_true(json_is_true(json_object_get(scan, "complete")));
    assert_int_equal(jint(scan, "files", NULL), 6);
    assert_int_equal(jint(scan, "decoded", NULL), 4);
    assert_int_equal(jint(scan, "bytes", NULL), 600 + 4 + 2 + 1 + 3);
    assert_true(json_real_value(json_object_get(scan, "megapixels")) ==
                10 / 1e6);

    /* Every status, zeros included. */
    static const struct {
        const char *status;
        int n;
    } counts[] = {
        {"ok", 4}, {"truncated", 1}, {"corrupt", 0}, {"unsupported", 0},
        {"not_image", 1}, {"empty", 0}, {"unreadable", 0}, {"too_large", 0},
    };
    json_t *sc = json_object_get(root, "status_counts");
    assert_int_equal(json_object_size(sc), IA_ST_COUNT);
    for (i = 0; i < IA_ARRAY_LEN(counts); i++)
        assert_int_equal(jint(sc, counts[i].status, NULL), counts[i].n);

    assert_int_equal(json_array_size(json_object_get(root,
                                                     "duplicate_groups")), 0);
    assert_int_equal(json_array_size(json_object_get(root, "leaks")), 0);
    assert_int_equal(jint(root, "summary", "errors"), 2);
    assert_int_equal(jint(root, "summary", "warnings"), 4);
    assert_int_equal(jint(root, "summary", "infos"), 0);
    /* counted apart: the dataset-level grayscale finding is no file */
    assert_int_equal(jint(root, "summary", "files_with_errors"), 2);
    assert_int_equal(jint(root, "summary", "files_with_warnings"), 3);
    assert_int_equal(jint(root, "summary", "files_with_infos"), 0);
    assert_int_equal(jint(root, "summary", "dataset_level_errors"), 0);
    assert_int_equal(jint(root, "summary", "dataset_level_warnings"), 1);
    assert_int_equal(jint(root, "summary", "dataset_level_infos"), 0);
    /* errors fail the default threshold, as compare's verdict */
    assert_string_equal(json_string_value(json_object_get(root, "verdict")),
                        "fail");
    json_decref(root);
}

static void test_json_findings_order(void **state)
{
    static const struct {
        const char *code, *severity, *path, *detail;
    } want[] = {
        {"not_image", "error", "README.txt", "broken README.txt"},
        {"truncated", "error", "train/dog/d.jpg", "broken train/dog/d.jpg"},
        {"grayscale", "warning", NULL, "1 of 4 images are grayscale"},
        {"grayscale", "warning", "val/cat/e.jpg", "grayscale detail"},
        {"odd_size", "warning", "train/cat/b.png", "odd_size detail"},
        {"odd_size", "warning", "train/dog/c.jpg", "odd_size detail"},
    };
    (void)state;
    json_t *root = report_json("1");
    json_t *f = json_object_get(root, "findings");
    assert_int_equal(json_array_size(f), IA_ARRAY_LEN(want));
    for (size_t i = 0; i < IA_ARRAY_LEN(want); i++) {
        json_t *o = json_array_get(f, i);
        assert_int_equal(json_object_size(o), 4);
        assert_string_equal(json_string_value(json_object_get(o, "code")),
                            want[i].code);
        assert_string_equal(json_string_value(json_object_get(o,
                                                              "severity")),
                            want[i].severity);
        if (want[i].path)
            assert_string_equal(json_string_value(json_object_get(o, "path")),
                                want[i].path);
        else
            assert_true(json_is_null(json_object_get(o, "path")));
        assert_string_equal(json_string_value(json_object_get(o, "detail")),
                            want[i].detail);
    }
    json_decref(root);
}

/* finding_counts: per (severity, code), files and dataset-level apart. */
static void test_json_finding_counts(void **state)
{
    static const struct {
        const char *code, *severity;
        int files, dataset, findings;
    } want[] = {
        {"not_image", "error", 1, 0, 1},
        {"truncated", "error", 1, 0, 1},
        {"grayscale", "warning", 1, 1, 2},
        {"odd_size", "warning", 2, 0, 2},
    };
    (void)state;
    json_t *root = report_json("ds");
    json_t *a = json_object_get(root, "finding_counts");
    assert_int_equal(json_array_size(a), IA_ARRAY_LEN(want));
    for (size_t i = 0; i < IA_ARRAY_LEN(want); i++) {
        json_t *o = json_array_get(a, i);
        assert_string_equal(json_string_value(json_object_get(o, "code")),
                            want[i].code);
        assert_string_equal(json_string_value(json_object_get(o,
                                                              "severity")),
                            want[i].severity);
        assert_int_equal(jint(o, "files", NULL), want[i].files);
        assert_int_equal(jint(o, "dataset_level", NULL), want[i].dataset);
        assert_int_equal(jint(o, "findings", NULL), want[i].findings);
    }
    json_decref(root);
}

static void test_json_splits(void **state)
{
    double mean[3], std[3];
    (void)state;
    json_t *root = report_json(NULL);   /* latest complete: "flat" */
    json_t *splits = json_object_get(root, "splits");
    assert_int_equal(json_object_size(splits), 1);

    json_t *none = json_object_get(splits, "");
    assert_true(json_is_null(json_object_get(none, "canonical")));
    assert_int_equal(jint(none, "images", NULL), 1);
    assert_int_equal(jint(none, "labels", "cat"), 1);
    json_decref(root);

    /* The README at the root of "ds" makes no "" split of its own. */
    root = report_json("ds");
    splits = json_object_get(root, "splits");
    assert_int_equal(json_object_size(splits), 2);
    assert_null(json_object_get(splits, ""));

    static const char *const names[] = {"train", "val"};
    static const int images[] = {3, 1};
    for (size_t s = 0; s < 2; s++) {
        json_t *o = json_object_get(splits, names[s]);
        assert_string_equal(json_string_value(json_object_get(o,
                                                              "canonical")),
                            names[s]);
        assert_int_equal(jint(o, "images", NULL), images[s]);
        oracle(names[s], mean, std);
        json_t *m = json_object_get(o, "channel_mean");
        json_t *d = json_object_get(o, "channel_std");
        assert_int_equal(json_array_size(m), 3);
        assert_int_equal(json_array_size(d), 3);
        for (size_t c = 0; c < 3; c++) {
            assert_close(json_real_value(json_array_get(m, c)), mean[c],
                         1e-12);
            assert_close(json_real_value(json_array_get(d, c)), std[c],
                         1e-12);
        }
    }
    /* Labels count decoded images: dog's truncated file does not count. */
    json_t *train = json_object_get(splits, "train");
    assert_int_equal(jint(train, "labels", "cat"), 2);
    assert_int_equal(jint(train, "labels", "dog"), 1);
    assert_int_equal(json_object_size(json_object_get(train, "labels")), 2);
    assert_int_equal(jint(json_object_get(splits, "val"), "labels", "cat"),
                     1);
    json_decref(root);
}

static void test_json_exact_std(void **state)
{
    (void)state;
    json_t *root = report_json("precise");
    json_t *train = json_object_get(json_object_get(root, "splits"), "train");
    const double n = 1e8;
    for (size_t c = 0; c < 3; c++) {
        double m = json_real_value(json_array_get(
            json_object_get(train, "channel_mean"), c));
        double s = json_real_value(json_array_get(
            json_object_get(train, "channel_std"), c));
        assert_close(m, 200.0 + 1.0 / n, 1e-15);
        assert_close(s, sqrt(n - 1) / n, 1e-12);
    }
    json_decref(root);
}

/* ---- text and Markdown ----------------------------------------------- */

static void test_text_report(void **state)
{
    (void)state;
    char *t = render("ds", IA_FORMAT_TEXT, -1);
    static const char *const want[] = {
        "scan 'ds'", "/data/ds", "6 (4 decoded)", "truncated 1",
        "2026-01-02T03:04:05Z to 2026-01-02T03:05:00Z (55 s)",
        "errors\n", "  not_image: 1 file, 0 dataset-level\n"
        "    README.txt: broken README.txt\n",
        "train/dog/d.jpg", "warnings\n", "  grayscale: 1 file, 1 "
        "dataset-level\n    (dataset): 1 of 4 images are grayscale",
        "  odd_size: 2 files, 0 dataset-level\n",
        "train/cat/b.png: odd_size detail", "labels",
        "summary: files with errors: 2, with warnings: 3, with info: 0; "
        "dataset-level findings: 0 errors, 1 warning, 0 info",
    };
    for (size_t i = 0; i < IA_ARRAY_LEN(want); i++)
        if (!strstr(t, want[i]))
            fail_msg("text report lacks '%s':\n%s", want[i], t);
    /* Errors come before warnings, which come before the labels. */
    assert_true(strstr(t, "errors\n") < strstr(t, "warnings\n"));
    assert_true(strstr(t, "warnings\n") < strstr(t, "labels"));
    free(t);

    t = render("many", IA_FORMAT_TEXT, -1);
    assert_non_null(strstr(t, "blank: 8 files, 0 dataset-level"));
    assert_non_null(strstr(t, "... and 3 more findings"));
    /* The escape sequence in the file names is defused. */
    assert_null(strchr(t, '\x1b'));
    assert_non_null(strstr(t, "b0?[2J.png"));
    free(t);
}

static void test_md_report(void **state)
{
    (void)state;
    char *t = render("ds", IA_FORMAT_MD, -1);
    static const char *const want[] = {
        "## imgaudit report: ds", "**Verdict: fail** (files with errors: 2, "
        "with warnings: 3, with info: 0; dataset-level findings: 0 errors, "
        "1 warning, 0 info)", "| truncated | 1 |",
        "| severity | code | files | dataset-level | example |",
        "| error | not\\_image | 1 | 0 | `README.txt`: broken "
        "README.txt |", "| warning | grayscale | 1 | 1 | 1 of 4 images "
        "are grayscale |",
        "| label | train | val |", "| cat | 2 | 1 |", "| dog | 1 | 0 |",
        "| **total** | 3 | 1 |",
    };
    for (size_t i = 0; i < IA_ARRAY_LEN(want); i++)
        if (!strstr(t, want[i]))
            fail_msg("markdown report lacks '%s':\n%s", want[i], t);
    free(t);
    t = render("flat", IA_FORMAT_MD, -1);
    assert_non_null(strstr(t, "**Verdict: pass**"));
    free(t);
}

static void test_bad_formats(void **state)
{
    (void)state;
    ia_db *db = open_ro();
    /* html is a report format since issue 6 (tests/test_html.c). */
    assert_int_equal(ia_report(db, "ds", (ia_format)99, stdout), IA_ERR_ARG);
    assert_int_equal(ia_report(db, "ds", IA_FORMAT_CSV, stdout), IA_ERR_ARG);
    assert_int_equal(ia_export(db, "ds", IA_FORMAT_JSON, 0, stdout),
                     IA_ERR_ARG);
    assert_int_equal(ia_report(db, "nope", IA_FORMAT_JSON, stdout),
                     IA_ERR_NOT_FOUND);
    assert_int_equal(ia_export(db, "nope", IA_FORMAT_CSV, 0, stdout),
                     IA_ERR_NOT_FOUND);
    ia_db_close(db);
}

/* A full output device is an IA_ERR_IO, not a silent truncation. */
static void test_write_error(void **state)
{
    static const struct {
        ia_format fmt;
        int export_;
    } cases[] = {
        {IA_FORMAT_JSON, 0}, {IA_FORMAT_TEXT, 0}, {IA_FORMAT_MD, 0},
        {IA_FORMAT_CSV, 1}, {IA_FORMAT_JSONL, 1},
    };
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        FILE *f = fopen("/dev/full", "w");
        if (!f)
            skip();
        ia_db *db = open_ro();
        int rc = cases[i].export_ ? ia_export(db, "ds", cases[i].fmt, 0, f)
                                  : ia_report(db, "ds", cases[i].fmt, f);
        assert_int_equal(rc, IA_ERR_IO);
        assert_non_null(strstr(ia_db_errmsg(db), "cannot write"));
        ia_db_close(db);
        fclose(f);
    }
    ia_db *db = open_ro();
    FILE *f = fopen("/dev/full", "w");
    assert_int_equal(ia_list_scans(db, f), IA_ERR_IO);
    fclose(f);
    ia_db_close(db);
}

static void test_list_scans(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    (void)state;
    FILE *f = open_memstream(&buf, &len);
    ia_db *db = open_ro();
    assert_int_equal(ia_list_scans(db, f), IA_OK);
    ia_db_close(db);
    fclose(f);
    static const char *const want[] = {
        "id  name     complete", "     1  ds       yes", "precise", "many",
        ("     5  flat     yes                1           1  own         "
         "         0.0 MB  2026-01-02T03:04:05Z  /data/ds\n"),
    };
    for (size_t i = 0; i < IA_ARRAY_LEN(want); i++)
        if (!strstr(buf, want[i]))
            fail_msg("scan list lacks '%s':\n%s", want[i], buf);
    free(buf);
}

/* ---- export ---------------------------------------------------------- */

#define MAX_FIELDS 96
#define MAX_ROWS 8

typedef struct csv_table {
    char *cell[MAX_ROWS][MAX_FIELDS];
    int isnull[MAX_ROWS][MAX_FIELDS];
    int nfields[MAX_ROWS];
    int row, col;
} csv_table;

static void on_field(void *s, size_t len, void *data)
{
    csv_table *t = data;
    assert_true(t->row < MAX_ROWS && t->col < MAX_FIELDS);
    t->isnull[t->row][t->col] = s == NULL;
    t->cell[t->row][t->col] = strndup(s ? s : "", len);
    t->col++;
}

static void on_row(int c, void *data)
{
    csv_table *t = data;
    (void)c;
    t->nfields[t->row++] = t->col;
    t->col = 0;
}

static int column(const csv_table *t, const char *name)
{
    for (int i = 0; i < t->nfields[0]; i++)
        if (strcmp(t->cell[0][i], name) == 0)
            return i;
    fail_msg("no column %s", name);
    return -1;
}

static void csv_table_free(csv_table *t)
{
    for (int r = 0; r < MAX_ROWS; r++)
        for (int c = 0; c < MAX_FIELDS; c++)
            free(t->cell[r][c]);
}

static void test_csv_round_trip(void **state)
{
    struct csv_parser p;
    static csv_table t;
    (void)state;
    memset(&t, 0, sizeof t);
    char *text = render("csv", IA_FORMAT_CSV, 0);
    assert_int_equal(csv_init(&p, CSV_STRICT | CSV_EMPTY_IS_NULL), 0);
    size_t n = strlen(text);
    assert_int_equal(csv_parse(&p, text, n, on_field, on_row, &t), n);
    assert_int_equal(csv_fini(&p, on_field, on_row, &t), 0);
    csv_free(&p);
    free(text);

    assert_int_equal(t.row, 4);   /* header and three files */
    for (int r = 1; r < t.row; r++)
        assert_int_equal(t.nfields[r], t.nfields[0]);
    static const char *const first[] = {
        "path", "split", "split_canonical", "label", "format", "status",
        "width", "height", "channels", "bytes", "sha256", "pixel_hash",
        "phash", "dhash", "channel_mean_r", "channel_mean_g",
        "channel_mean_b", "channel_std_r", "channel_std_g", "channel_std_b",
        "brightness", "contrast", "sharpness", "entropy", "jpeg_quality",
        "findings",
    };
    for (size_t i = 0; i < IA_ARRAY_LEN(first); i++)
        assert_string_equal(t.cell[0][i], first[i]);
    column(&t, "message");
    column(&t, "mtime_ns");
    column(&t, "exif_orientation");
    column(&t, "rows_decoded");
    column(&t, "ext_format");
    column(&t, "frames");

    /* Rows in path order (bytes): "clean\xff" < "dir/..." < "plain". */
    int path = column(&t, "path");
    assert_string_equal(t.cell[1][path], "clean\xff.jpg");
    assert_string_equal(t.cell[2][path],
                        "dir/we \"quote\", comma\nnewline.jpg");
    assert_string_equal(t.cell[3][path], "plain.jpg");
    assert_string_equal(t.cell[2][column(&t, "label")], "a,b");
    assert_string_equal(t.cell[2][column(&t, "phash")], "8000000000000001");
    assert_string_equal(t.cell[2][column(&t, "dhash")], "00000000000000ff");
    assert_string_equal(t.cell[2][column(&t, "sha256")],
                        "abababababababababababababababababababababababababab"
                        "abababababab");
    assert_string_equal(t.cell[2][column(&t, "findings")],
                        "extension_mismatch");
    assert_string_equal(t.cell[2][column(&t, "channel_mean_r")], "55");
    /* std of 10, 40, 70, 100 = sqrt(1125) */
    assert_close(strtod(t.cell[2][column(&t, "channel_std_g")], NULL),
                 sqrt(1125.0), 1e-15);
    assert_string_equal(t.cell[2][column(&t, "brightness")], "0.1");
    assert_string_equal(t.cell[2][column(&t, "width")], "4");
    /* NULLs are empty unquoted fields; empty findings too. */
    assert_true(t.isnull[3][column(&t, "width")]);
    assert_true(t.isnull[3][column(&t, "channel_mean_r")]);
    assert_true(t.isnull[2][column(&t, "exif_orientation")]);
    assert_string_equal(t.cell[3][column(&t, "status")], "truncated");
    assert_string_equal(t.cell[3][column(&t, "findings")], "truncated");
    assert_true(t.isnull[1][column(&t, "findings")]);
    csv_table_free(&t);
}

static void test_jsonl(void **state)
{
    json_error_t err;
    (void)state;
    char *text = render("csv", IA_FORMAT_JSONL, 0);
    static const char *const paths[] = {
        "clean\xef\xbf\xbd.jpg", "dir/we \"quote\", comma\nnewline.jpg",
        "plain.jpg",
    };
    char *line = text;
    for (size_t i = 0; i < IA_ARRAY_LEN(paths); i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        json_t *o = json_loads(line, 0, &err);
        if (!o)
            fail_msg("line %zu: %s", i, err.text);
        assert_string_equal(json_string_value(json_object_get(o, "path")),
                            paths[i]);
        json_t *findings = json_object_get(o, "findings");
        assert_true(json_is_array(findings));
        json_t *mean = json_object_get(o, "channel_mean");
        if (i == 1) {
            assert_int_equal(json_array_size(findings), 1);
            assert_string_equal(json_string_value(json_array_get(findings,
                                                                 0)),
                                "extension_mismatch");
            assert_int_equal(json_array_size(mean), 3);
            assert_true(json_real_value(json_array_get(mean, 2)) == 75.0);
            assert_string_equal(json_string_value(json_object_get(o,
                                                                  "phash")),
                                "8000000000000001");
            assert_int_equal(json_integer_value(json_object_get(o, "width")),
                             4);
            assert_true(json_is_null(json_object_get(o, "exif_orientation")));
        }
        if (i == 2) {
            assert_true(json_is_null(mean));
            assert_true(json_is_null(json_object_get(o, "phash")));
        }
        if (i == 0)
            assert_int_equal(json_array_size(findings), 0);
        json_decref(o);
        line = nl + 1;
    }
    assert_string_equal(line, "");
    free(text);

    /* Problems only: the file with a warning, the truncated one. */
    text = render("csv", IA_FORMAT_JSONL, 1);
    size_t lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    assert_null(strstr(text, "clean"));
    assert_non_null(strstr(text, "plain.jpg"));
    free(text);
}

/* Reports and exports read a baseline without changing a byte of it. */
static void test_readonly_bytes_identical(void **state)
{
    static unsigned char before[1 << 20], after[1 << 20];
    static const ia_format fmts[] = {IA_FORMAT_JSON, IA_FORMAT_TEXT,
                                     IA_FORMAT_MD};
    (void)state;
    FILE *f = fopen(db_path, "rb");
    assert_non_null(f);
    size_t n = fread(before, 1, sizeof before, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof before);
    for (size_t i = 0; i < IA_ARRAY_LEN(fmts); i++)
        free(render("ds", fmts[i], -1));
    free(render("ds", IA_FORMAT_CSV, 0));
    free(render("ds", IA_FORMAT_JSONL, 1));
    f = fopen(db_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(after, 1, sizeof after, f), n);
    fclose(f);
    assert_memory_equal(before, after, n);
}

/* ---- against an independent oracle ----------------------------------- */

#define REF_DIR IA_SOURCE_ROOT "/../shared/datasets/clothing-small-reference"

/* Rows of the reference files.csv, stored as scan results. */
typedef struct ref_loader {
    ia_db *db;
    int64_t scan;
    char field[16][160];
    int col, row;
    ia_file_result r;
} ref_loader;

static void ref_field(void *s, size_t len, void *data)
{
    ref_loader *l = data;
    if (l->col < 16) {
        size_t n = len < sizeof l->field[0] - 1 ? len : sizeof l->field[0] - 1;
        memcpy(l->field[l->col], s, n);
        l->field[l->col][n] = '\0';
    }
    l->col++;
}

static void ref_row(int term, void *data)
{
    ref_loader *l = data;
    (void)term;
    assert_int_equal(l->col, 15);
    l->col = 0;
    if (l->row++ == 0)
        return;   /* header */
    ia_file_result *r = &l->r;
    ia_result_reset(r);
    r->format = IA_FMT_JPEG;
    r->width = (int32_t)strtol(l->field[4], NULL, 10);
    r->height = (int32_t)strtol(l->field[5], NULL, 10);
    r->have_measures = 1;
    r->stats.pixels = (uint64_t)r->width * (uint64_t)r->height;
    for (int c = 0; c < 3; c++) {
        r->stats.sum[c] = strtoull(l->field[9 + c], NULL, 10);
        r->stats.sumsq[c] = strtoull(l->field[12 + c], NULL, 10);
    }
    store_file(l->db, l->scan, l->field[0], l->field[1], l->field[2], r);
}

/* The split statistics of the JSON report against the values Pillow and
 * numpy computed (clothing-small-reference/stats.json), from the same
 * per-image sums: tests the aggregation, not the decoder. */
static void test_reference_split_stats(void **state)
{
    static char buf[1 << 20];
    static ref_loader l;
    char path[256];
    struct csv_parser p;
    json_error_t err;
    (void)state;
    FILE *f = fopen(REF_DIR "/files.csv", "rb");
    json_t *ref = json_load_file(REF_DIR "/stats.json", 0, &err);
    if (!f || !ref) {
        fprintf(stderr, "skip: reference data not found in %s\n", REF_DIR);
        if (f)
            fclose(f);
        json_decref(ref);
        skip();
    }
    ia_bprintf(path, sizeof path, "%s/ref.db", tmpdir);
    memset(&l, 0, sizeof l);
    assert_int_equal(ia_db_open(path, IA_DB_CREATE, &l.db), IA_OK);
    l.scan = begin(l.db, "reference");
    assert_int_equal(csv_init(&p, CSV_STRICT), 0);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        assert_int_equal(csv_parse(&p, buf, n, ref_field, ref_row, &l), n);
    assert_int_equal(csv_fini(&p, ref_field, ref_row, &l), 0);
    csv_free(&p);
    fclose(f);
    finish(l.db, l.scan);
    assert_true(l.row > 3000);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(ia_report(l.db, "reference", IA_FORMAT_JSON, out),
                     IA_OK);
    fclose(out);
    ia_db_close(l.db);
    unlink(path);
    json_t *got = json_loads(text, 0, &err);
    free(text);
    assert_non_null(got);

    json_t *want_splits = json_object_get(ref, "splits");
    json_t *got_splits = json_object_get(got, "splits");
    assert_int_equal(json_object_size(got_splits),
                     json_object_size(want_splits));
    const char *name;
    json_t *want;
    json_object_foreach(want_splits, name, want) {
        json_t *g = json_object_get(got_splits, name);
        assert_non_null(g);
        assert_int_equal(jint(g, "images", NULL), jint(want, "images", NULL));
        assert_true(json_equal(json_object_get(g, "labels"),
                               json_object_get(want, "labels")));
        for (size_t c = 0; c < 3; c++) {
            assert_close(json_real_value(json_array_get(
                             json_object_get(g, "channel_mean"), c)),
                         json_real_value(json_array_get(
                             json_object_get(want, "channel_mean"), c)),
                         1e-12);
            assert_close(json_real_value(json_array_get(
                             json_object_get(g, "channel_std"), c)),
                         json_real_value(json_array_get(
                             json_object_get(want, "channel_std"), c)),
                         1e-12);
        }
    }
    json_decref(got);
    json_decref(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_header_and_counts),
        cmocka_unit_test(test_json_finding_counts),
        cmocka_unit_test(test_json_findings_order),
        cmocka_unit_test(test_json_splits),
        cmocka_unit_test(test_json_exact_std),
        cmocka_unit_test(test_text_report),
        cmocka_unit_test(test_md_report),
        cmocka_unit_test(test_bad_formats),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_list_scans),
        cmocka_unit_test(test_csv_round_trip),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_readonly_bytes_identical),
        cmocka_unit_test(test_reference_split_stats),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
