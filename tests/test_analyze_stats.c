/*
 * Tests of the dataset statistics (analyze/stats.c, store/stats.c): file
 * rows with chosen measures are stored directly (no decoding), the
 * analysis runs, and the stat tables and findings are checked with SQL
 * against answers worked out by hand in the comments: exact group sums
 * past 2^63, quantiles and fences, every quality flag on both sides of
 * its threshold, label balance, the class index, and re-running.
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
#include <sqlite3.h>

#include "analyze/stats.h"
#include "store/store.h"
#include "core/core.h"

static char tmpdir[64];
static int dbseq;

static int group_setup(void **state)
{
    (void)state;
    ia_strlcpy(tmpdir, "/tmp/ia_test_stats_XXXXXX", sizeof tmpdir);
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    char path[128];
    (void)state;
    for (int i = 0; i < dbseq; i++) {
        ia_bprintf(path, sizeof path, "%s/%d.db", tmpdir, i);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

/* ---- building a scan ------------------------------------------------- */

typedef struct t {
    ia_db *db;
    int64_t scan;
} t;

static void t_open(t *x)
{
    char path[128];
    ia_bprintf(path, sizeof path, "%s/%d.db", tmpdir, dbseq++);
    x->db = NULL;
    if (ia_db_open(path, IA_DB_CREATE, &x->db) != IA_OK)
        fail_msg("open %s: %s", path, ia_db_errmsg(x->db));
    ia_scan_meta m = {"s", "/data", "splits", "{}", "0.1.0",
                      "2026-01-02T03:04:05Z", 0, 0};
    assert_int_equal(ia_store_scan_begin(x->db, &m, &x->scan), IA_OK);
}

static void t_close(t *x)
{
    ia_db_close(x->db);
}

/* The measures of one image. Pixels are two levels per channel, mid - dev
 * and mid + dev on half the pixels each (pixels even), so a channel's
 * mean is mid and its std is dev exactly. */
typedef struct shot {
    int w, h;
    int mid, dev;
    double brightness, contrast, sharpness, entropy;
    int64_t size;
    int quality;
} shot;

static const shot NORMAL = {64, 64, 100, 50, 100, 50, 250, 7, 5000, 90};

static void fill(ia_file_result *r, const shot *s)
{
    ia_result_reset(r);
    r->size = s->size;
    r->format = IA_FMT_JPEG;
    r->status = IA_ST_OK;
    r->width = s->w;
    r->height = s->h;
    r->channels = 3;
    r->bit_depth = 8;
    r->jpeg_quality = s->quality;
    r->has_alpha = 0;
    r->have_measures = 1;
    uint64_t p = (uint64_t)s->w * (uint64_t)s->h;
    uint64_t lo = (uint64_t)(s->mid - s->dev), hi = (uint64_t)(s->mid +
                                                                 s->dev);
    r->stats.pixels = p;
    for (int c = 0; c < 3; c++) {
        r->stats.sum[c] = p / 2 * (lo + hi);
        r->stats.sumsq[c] = p / 2 * (lo * lo + hi * hi);
        r->stats.min[c] = (uint8_t)lo;
        r->stats.max[c] = (uint8_t)hi;
    }
    r->stats.brightness = s->brightness;
    r->stats.contrast = s->contrast;
    r->stats.sharpness = s->sharpness;
    r->stats.entropy = s->entropy;
    r->stats.constant = s->dev == 0;
    r->stats.alpha_used = -1;
}

static int64_t add_file(t *x, const char *path, const char *split,
                        const char *label, const ia_file_result *r)
{
    char p[256], sp[64], lb[64];
    ia_entry e;
    int64_t id = 0;
    memset(&e, 0, sizeof e);
    ia_strlcpy(p, path, sizeof p);
    e.relpath = e.fullpath = p;
    if (split) {
        ia_strlcpy(sp, split, sizeof sp);
        e.split = sp;
        e.split_canonical = ia_split_canonical(split);
    }
    if (label) {
        ia_strlcpy(lb, label, sizeof lb);
        e.label = lb;
    }
    if (ia_store_file(x->db, x->scan, &e, r, &id) != IA_OK)
        fail_msg("store %s: %s", path, ia_db_errmsg(x->db));
    return id;
}

static void add(t *x, const char *path, const char *split, const char *label,
                const shot *s)
{
    ia_file_result r;
    fill(&r, s);
    add_file(x, path, split, label, &r);
}

static void add_broken(t *x, const char *path, const char *split,
                       const char *label)
{
    ia_file_result r;
    ia_result_reset(&r);
    r.size = 10;
    r.format = IA_FMT_JPEG;
    r.status = IA_ST_CORRUPT;
    add_file(x, path, split, label, &r);
}

static void analyze(t *x)
{
    if (ia_analyze_stats(x->db, x->scan) != IA_OK)
        fail_msg("analysis: %s", ia_db_errmsg(x->db));
    assert_int_equal(ia_store_scan_finish(x->db, x->scan, 1,
                                          "2026-01-02T03:04:06Z"), IA_OK);
}

/* ---- reading results with SQL ---------------------------------------- */

static sqlite3_stmt *q(t *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static sqlite3_stmt *q(t *x, const char *fmt, ...)
{
    char sql[1024];
    sqlite3_stmt *st = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (sqlite3_prepare_v2(ia_store_sqlite(x->db), sql, -1, &st, NULL) !=
        SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(ia_store_sqlite(x->db)));
    return st;
}

static int64_t q_int(t *x, const char *sql)
{
    sqlite3_stmt *st = q(x, "%s", sql);
    int64_t v = -999;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static double q_real(t *x, const char *sql)
{
    sqlite3_stmt *st = q(x, "%s", sql);
    double v = -999;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL
                ? -12345
                : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void q_text(t *x, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *st = q(x, "%s", sql);
    ia_strlcpy(out, "(no row)", cap);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        ia_strlcpy(out, s ? (const char *)s : "(null)", cap);
    }
    sqlite3_finalize(st);
}

/* The ';'-joined paths (or details when path is NULL) of the findings
 * with a code, in path order. */
static void findings_of(t *x, const char *code, char *out, size_t cap)
{
    char sql[256];
    ia_bprintf(sql, sizeof sql, "SELECT coalesce(group_concat(p, ';'), '')"
               " FROM (SELECT coalesce(path, detail) AS p FROM finding"
               " WHERE code = '%s' ORDER BY path IS NOT NULL, path, id)",
               code);
    q_text(x, sql, out, cap);
}

static void assert_close(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g", got, want);
}

/* ---- numbers --------------------------------------------------------- */

static void test_quantile(void **state)
{
    /* numpy.percentile([1, 2, 3, 4], [0, 25, 50, 75, 100]):
     * 1, 1.75, 2.5, 3.25, 4 (h = 3p: 0.75 -> 1 + 0.75 * 1). */
    const double v[] = {1, 2, 3, 4};
    (void)state;
    assert_close(ia_quantile(v, 4, 0), 1, 0);
    assert_close(ia_quantile(v, 4, 0.25), 1.75, 0);
    assert_close(ia_quantile(v, 4, 0.5), 2.5, 0);
    assert_close(ia_quantile(v, 4, 0.75), 3.25, 0);
    assert_close(ia_quantile(v, 4, 1), 4, 0);
    assert_close(ia_quantile(v, 1, 0.5), 1, 0);
}

static void test_fences(void **state)
{
    double lo, hi;
    (void)state;
    /* 0..9: q1 = 2.25, q3 = 6.75, IQR 4.5; k 1.5: 2.25 - 6.75 = -4.5 and
     * 6.75 + 6.75 = 13.5 (wider than the margin). */
    const double v[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ia_fences(v, 10, 1.5, 1, &lo, &hi);
    assert_close(lo, -4.5, 0);
    assert_close(hi, 13.5, 0);
    /* IQR 0: the margin keeps the fences 1 away from the quartiles. */
    const double same[] = {5, 5, 5, 5, 5};
    ia_fences(same, 5, 3, 1, &lo, &hi);
    assert_close(lo, 4, 0);
    assert_close(hi, 6, 0);
}

/* ---- aggregates ------------------------------------------------------ */

static void test_aggregates(void **state)
{
    t x;
    (void)state;
    t_open(&x);
    /* Two one-colour images, black and white, 10x10: the group's mean and
     * std are both 127.5 in every channel (half the pixels at 0, half at
     * 255). */
    shot black = {10, 10, 0, 0, 0, 0, 0, 0, 100, -1};
    shot white = {10, 10, 255, 0, 255, 0, 0, 0, 300, -1};
    add(&x, "train/bw/black.png", "train", "bw", &black);
    add(&x, "train/bw/white.png", "train", "bw", &white);
    add_broken(&x, "train/bw/broken.jpg", "train", "bw");
    /* Sums past 2^63: 2 images of 10^14 pixels at 255: sumsq per image
     * 6.5025e18 (fits int64), together 13005000000000000000 > 2^63. */
    shot huge = {10000000, 10000000, 255, 0, 255, 0, 0, 0, 1, -1};
    add(&x, "val/h/1.png", "val", "h", &huge);
    add(&x, "val/h/2.png", "val", "h", &huge);
    analyze(&x);
    char s[64];
    /* The scan row: every file, the decoded images, bytes of all files. */
    assert_int_equal(q_int(&x, "SELECT files FROM stat_group WHERE split IS"
                           " NULL AND label IS NULL"), 5);
    assert_int_equal(q_int(&x, "SELECT images FROM stat_group WHERE split"
                           " IS NULL"), 4);
    assert_int_equal(q_int(&x, "SELECT bytes FROM stat_group WHERE split IS"
                           " NULL"), 100 + 300 + 10 + 1 + 1);
    assert_close(q_real(&x, "SELECT mean_g FROM stat_group WHERE split ="
                        " 'train' AND label IS NULL"), 127.5, 0);
    assert_close(q_real(&x, "SELECT std_b FROM stat_group WHERE split ="
                        " 'train' AND label = 'bw'"), 127.5, 0);
    assert_int_equal(q_int(&x, "SELECT pixels FROM stat_group WHERE split ="
                           " 'train' AND label IS NULL"), 200);
    q_text(&x, "SELECT sum_r FROM stat_group WHERE split = 'train'"
           " AND label IS NULL", s, sizeof s);
    assert_string_equal(s, "25500");
    q_text(&x, "SELECT sumsq_r FROM stat_group WHERE split = 'val'"
           " AND label IS NULL", s, sizeof s);
    assert_string_equal(s, "13005000000000000000");
    /* ... plus the white image's 100 * 255^2 = 6502500. */
    q_text(&x, "SELECT sumsq_b FROM stat_group WHERE split IS NULL", s,
           sizeof s);
    assert_string_equal(s, "13005000000006502500");
    q_text(&x, "SELECT sum_b FROM stat_group WHERE split IS NULL", s,
           sizeof s);
    assert_string_equal(s, "51000000000025500");
    assert_close(q_real(&x, "SELECT std_r FROM stat_group WHERE split ="
                        " 'val' AND label IS NULL"), 0, 0);
    /* Shares: train has 2 of 4 images; bw is all of train. */
    assert_close(q_real(&x, "SELECT share FROM stat_group WHERE split ="
                        " 'train' AND label IS NULL"), 0.5, 0);
    assert_close(q_real(&x, "SELECT share FROM stat_group WHERE split ="
                        " 'train' AND label = 'bw'"), 1, 0);
    /* Metric summaries: file size over the decoded images of train. */
    assert_close(q_real(&x, "SELECT median FROM stat_metric WHERE split ="
                        " 'train' AND label IS NULL AND metric = 'bytes'"),
                 200, 0);
    assert_int_equal(q_int(&x, "SELECT n FROM stat_metric WHERE split IS"
                           " NULL AND metric = 'jpeg_quality'"), 0);
    /* Fewer than 20 images: no fences. */
    assert_close(q_real(&x, "SELECT fence_low FROM stat_metric WHERE split"
                        " IS NULL AND metric = 'side'"), -12345, 0);
    /* One-colour images are blank; none of them dark or bright too. */
    findings_of(&x, "blank", s, sizeof s);
    assert_non_null(strstr(s, "4 of 4 images are blank"));
    findings_of(&x, "dark", s, sizeof s);
    assert_string_equal(s, "");
    t_close(&x);
}

static void test_empty_scan(void **state)
{
    t x;
    (void)state;
    t_open(&x);
    analyze(&x);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM stat_group"), 1);
    assert_int_equal(q_int(&x, "SELECT images FROM stat_group"), 0);
    assert_close(q_real(&x, "SELECT mean_r FROM stat_group"), -12345, 0);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM stat_metric"),
                     IA_M_COUNT);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM finding"), 0);
    t_close(&x);
}

/* ---- absolute flags -------------------------------------------------- */

static void test_absolute_flags(void **state)
{
    t x;
    char s[1024];
    (void)state;
    t_open(&x);
    shot a = NORMAL;
    /* blank: std 0 and 0.5 (two levels 0 and 1) are blank, 1.5 is not. */
    a.dev = 0;
    add(&x, "c/blank0.png", NULL, "c", &a);
    a.mid = 1, a.dev = 1;   /* levels 0 and 2: std 1, not blank */
    add(&x, "c/std1.png", NULL, "c", &a);
    a = NORMAL;
    /* dark and bright on both sides of 25 and 230. */
    a.brightness = 24.9;
    add(&x, "c/dark.png", NULL, "c", &a);
    a.brightness = 25;
    add(&x, "c/notdark.png", NULL, "c", &a);
    a.brightness = 230.1;
    add(&x, "c/bright.png", NULL, "c", &a);
    a.brightness = 230;
    add(&x, "c/notbright.png", NULL, "c", &a);
    /* A blank black image is blank, not dark. */
    a = NORMAL;
    a.mid = 0, a.dev = 0, a.brightness = 0;
    add(&x, "c/black.png", NULL, "c", &a);
    /* Relative flags need 20 images: an extreme one passes here. */
    a = NORMAL;
    a.w = 4096, a.h = 2, a.sharpness = 0.001, a.entropy = 0.1;
    add(&x, "c/extreme.png", NULL, "c", &a);
    analyze(&x);
    findings_of(&x, "blank", s, sizeof s);
    assert_string_equal(s, "2 of 8 images are blank (every channel's "
                        "standard deviation below 1);c/black.png;"
                        "c/blank0.png");
    findings_of(&x, "dark", s, sizeof s);
    assert_string_equal(s, "1 of 8 images are dark (mean luma below 25);"
                        "c/dark.png");
    findings_of(&x, "bright", s, sizeof s);
    assert_string_equal(s, "1 of 8 images are bright (mean luma above "
                        "230);c/bright.png");
    q_text(&x, "SELECT detail FROM finding WHERE path = 'c/dark.png'", s,
           sizeof s);
    assert_string_equal(s, "mean luma 24.9 (below 25)");
    q_text(&x, "SELECT detail FROM finding WHERE path = 'c/black.png'", s,
           sizeof s);
    assert_string_equal(s, "one colour: largest channel standard deviation "
                        "0.00 (below 1), mean colour (0, 0, 0)");
    assert_int_equal(q_int(&x, "SELECT count(*) FROM finding WHERE code IN"
                           " ('blurry', 'odd_size', 'odd_aspect',"
                           " 'low_information')"), 0);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM finding WHERE"
                           " severity <> 1"), 0);
    t_close(&x);
}

/* ---- relative flags -------------------------------------------------- */

static void test_relative_flags(void **state)
{
    t x;
    char s[2048], name[64];
    (void)state;
    t_open(&x);
    /* 36 ordinary images: 64x64 (side 64, elongation 1), entropy 7 bits,
     * relative sharpness 250 / 50^2 = 0.1. Every quartile sits on them,
     * so IQR = 0 and the margins set the fences:
     *   side: log2 64 = 6 -> [5, 7] -> 32 to 128 px;
     *   elongation: log2 1 = 0 -> above 1 -> width/height outside 1/2-2;
     *   entropy: min(7 - 1, 4) = 4 bits;
     *   relative sharpness: log2 0.1 - 1 -> below 0.05. */
    for (int i = 0; i < 36; i++) {
        ia_bprintf(name, sizeof name, "d/n%02d.png", i);
        add(&x, name, NULL, "d", &NORMAL);
    }
    shot a = NORMAL;
    a.w = a.h = 16;     /* side 16 < 32: odd_size */
    add(&x, "d/tiny.png", NULL, "d", &a);
    a.w = a.h = 40;     /* 40 >= 32: fine */
    add(&x, "d/small.png", NULL, "d", &a);
    a.w = a.h = 130;    /* 130 > 128: odd_size */
    add(&x, "d/big.png", NULL, "d", &a);
    a.w = 256, a.h = 8; /* width/height 32: odd_aspect; side 45: fine */
    add(&x, "d/strip.png", NULL, "d", &a);
    a.w = 90, a.h = 46; /* 1.96: fine */
    add(&x, "d/wide.png", NULL, "d", &a);
    a = NORMAL;
    a.entropy = 3.5;    /* below 4: low_information */
    add(&x, "d/lowinfo.png", NULL, "d", &a);
    a.entropy = 4.5;    /* far below the others but above 4 bits: fine */
    add(&x, "d/simple.png", NULL, "d", &a);
    a = NORMAL;
    a.sharpness = 100;  /* 0.04 < 0.05: blurry */
    add(&x, "d/blurred.png", NULL, "d", &a);
    a.sharpness = 150;  /* 0.06: fine */
    add(&x, "d/soft.png", NULL, "d", &a);
    analyze(&x);
    findings_of(&x, "odd_size", s, sizeof s);
    assert_string_equal(s, "2 of 45 images have an odd size (geometric-mean"
                        " side outside 32-128 px; median 64);d/big.png;"
                        "d/tiny.png");
    findings_of(&x, "odd_aspect", s, sizeof s);
    assert_string_equal(s, "1 of 45 images have an odd aspect ratio (width"
                        "/height outside 0.5-2);d/strip.png");
    findings_of(&x, "low_information", s, sizeof s);
    assert_string_equal(s, "1 of 45 images have low information (luma "
                        "entropy below 4.00 bits; median 7.00);"
                        "d/lowinfo.png");
    findings_of(&x, "blurry", s, sizeof s);
    assert_string_equal(s, "1 of 45 images are blurry (relative sharpness "
                        "below 0.05; median 0.1);d/blurred.png");
    q_text(&x, "SELECT detail FROM finding WHERE path = 'd/tiny.png'", s,
           sizeof s);
    assert_string_equal(s, "16x16: geometric-mean side 16 px, outside the "
                        "dataset's fences 32-128 px (median 64)");
    /* The fences, stored in each metric's own units. */
    assert_close(q_real(&x, "SELECT fence_low FROM stat_metric WHERE split"
                        " IS NULL AND metric = 'side'"), 32, 1e-12);
    assert_close(q_real(&x, "SELECT fence_high FROM stat_metric WHERE"
                        " split IS NULL AND metric = 'side'"), 128, 1e-12);
    assert_close(q_real(&x, "SELECT fence_high FROM stat_metric WHERE"
                        " split IS NULL AND metric = 'aspect'"), 2, 1e-12);
    assert_close(q_real(&x, "SELECT fence_low FROM stat_metric WHERE split"
                        " IS NULL AND metric = 'aspect'"), 0.5, 1e-12);
    assert_close(q_real(&x, "SELECT fence_low FROM stat_metric WHERE split"
                        " IS NULL AND metric = 'entropy'"), 4, 0);
    assert_close(q_real(&x, "SELECT fence_low FROM stat_metric WHERE split"
                        " IS NULL AND metric = 'sharpness_rel'"), 0.05,
                 1e-15);
    assert_close(q_real(&x, "SELECT fence_low FROM stat_metric WHERE split"
                        " = '' AND metric = 'side'"), -12345, 0);
    /* The metric summary of a group: 45 sides, min 16, max 130. */
    assert_close(q_real(&x, "SELECT min FROM stat_metric WHERE split = ''"
                        " AND label = 'd' AND metric = 'side'"), 16, 0);
    assert_close(q_real(&x, "SELECT max FROM stat_metric WHERE split = ''"
                        " AND label = 'd' AND metric = 'side'"), 130, 0);
    assert_int_equal(q_int(&x, "SELECT n FROM stat_metric WHERE split IS"
                           " NULL AND metric = 'width'"), 45);
    t_close(&x);
}

/* A dataset whose images all carry little information (digits, masks):
 * the fence follows the data, so only the one far below is flagged. */
static void test_lowinfo_relative(void **state)
{
    t x;
    char s[1024], name[64];
    (void)state;
    t_open(&x);
    shot a = NORMAL;
    a.entropy = 2;
    for (int i = 0; i < 24; i++) {
        ia_bprintf(name, sizeof name, "m/%02d.png", i);
        add(&x, name, NULL, "m", &a);
    }
    a.entropy = 1.5;    /* fence min(2 - 1, 4) = 1: fine */
    add(&x, "m/lower.png", NULL, "m", &a);
    a.entropy = 0.5;    /* below 1: low_information */
    add(&x, "m/empty.png", NULL, "m", &a);
    analyze(&x);
    findings_of(&x, "low_information", s, sizeof s);
    assert_string_equal(s, "1 of 26 images have low information (luma "
                        "entropy below 1.00 bits; median 2.00);m/empty.png");
    t_close(&x);
}

/* ---- label balance --------------------------------------------------- */

static void fill_label(t *x, const char *split, const char *label, int n)
{
    char name[128];
    for (int i = 0; i < n; i++) {
        ia_bprintf(name, sizeof name, "%s/%s/%03d.png", split, label, i);
        add(x, name, split, label, &NORMAL);
    }
}

static void test_label_balance(void **state)
{
    t x;
    char s[2048];
    (void)state;
    t_open(&x);
    /* train: a 100, b 5, c 20; val: a 10, c 10; test: a 10, b 10, c 10,
     * and a folder z holding only a broken file. */
    fill_label(&x, "test", "a", 10);
    fill_label(&x, "test", "b", 10);
    fill_label(&x, "test", "c", 10);
    add_broken(&x, "test/z/broken.jpg", "test", "z");
    fill_label(&x, "train", "a", 100);
    fill_label(&x, "train", "b", 5);
    fill_label(&x, "train", "c", 20);
    fill_label(&x, "val", "a", 10);
    fill_label(&x, "val", "c", 10);
    analyze(&x);
    /* b is missing from val; the loader numbers c 2 in test, 1 in val. */
    findings_of(&x, "class_missing", s, sizeof s);
    assert_string_equal(s, "label 'b' has no images in split 'val' (test: "
                        "10, train: 5); a folder loader numbers the classes"
                        " differently: 'c' is class 2 in 'test' but 1 in "
                        "'val' (4 and 2 classes)");
    /* b in train: 5 < 10 while a has 100. */
    findings_of(&x, "tiny_class", s, sizeof s);
    assert_string_equal(s, "label 'b' has 5 images in split 'train' (fewer "
                        "than 10)");
    /* train: 100 / 5 = 20 > 10; entropy of (100, 5, 20) / log2 3. */
    double n = 125, h = 0;
    const double cnt[] = {100, 5, 20};
    for (int i = 0; i < 3; i++)
        h -= cnt[i] / n * log2(cnt[i] / n);
    h /= log2(3);
    char want[512];
    ia_bprintf(want, sizeof want, "split 'train': largest label 'a' has 100"
               " images, smallest 'b' 5 (ratio 20.0, above 10); 3 labels,"
               " normalized label entropy %.3f", h);
    findings_of(&x, "class_imbalance", s, sizeof s);
    assert_string_equal(s, want);
    assert_close(q_real(&x, "SELECT label_entropy FROM stat_group WHERE"
                        " split = 'train' AND label IS NULL"), h, 1e-15);
    assert_close(q_real(&x, "SELECT imbalance FROM stat_group WHERE split ="
                        " 'train' AND label IS NULL"), 20, 0);
    assert_int_equal(q_int(&x, "SELECT labels FROM stat_group WHERE split ="
                           " 'test' AND label IS NULL"), 3);
    assert_close(q_real(&x, "SELECT label_entropy FROM stat_group WHERE"
                        " split = 'test' AND label IS NULL"), 1, 1e-15);
    assert_close(q_real(&x, "SELECT share FROM stat_group WHERE split ="
                        " 'train' AND label IS NULL"), 125.0 / 175.0, 1e-15);
    /* The scan row pools the splits: a 120, b 15, c 40. */
    assert_close(q_real(&x, "SELECT imbalance FROM stat_group WHERE split"
                        " IS NULL"), 8, 0);
    /* Class indices: folders in byte order, z included (its folder
     * exists), b absent from val. */
    q_text(&x, "SELECT group_concat(split || ':' || label || '=' || idx,"
           " ' ') FROM (SELECT * FROM class_index ORDER BY split, idx)", s,
           sizeof s);
    assert_string_equal(s, "test:a=0 test:b=1 test:c=2 test:z=3 train:a=0 "
                        "train:b=1 train:c=2 val:a=0 val:c=1");
    t_close(&x);
}

/* One split, or every class small: no label findings. */
static void test_label_quiet(void **state)
{
    t x;
    (void)state;
    t_open(&x);
    fill_label(&x, "train", "a", 3);
    fill_label(&x, "train", "b", 9);
    analyze(&x);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM finding"), 0);
    assert_close(q_real(&x, "SELECT imbalance FROM stat_group WHERE split ="
                        " 'train' AND label IS NULL"), 3, 0);
    t_close(&x);
}

/* ---- running again, reading back ------------------------------------- */

typedef struct collect {
    char text[2048];
} collect;

static int group_cb(void *user, const ia_q_stat_group *g)
{
    collect *c = user;
    size_t n = strlen(c->text);
    ia_bprintf(c->text + n, sizeof c->text - n, "%s/%s:%llu ",
               g->split ? g->split : "*", g->label ? g->label : "*",
               (unsigned long long)g->images);
    return IA_OK;
}

static int class_cb(void *user, const ia_q_class *k)
{
    collect *c = user;
    size_t n = strlen(c->text);
    ia_bprintf(c->text + n, sizeof c->text - n, "%s:%s=%lld ", k->split,
               k->label, (long long)k->idx);
    return IA_OK;
}

static void test_rerun_and_read_back(void **state)
{
    t x;
    collect c = {""};
    double *v = NULL;
    size_t n = 0;
    (void)state;
    t_open(&x);
    shot a = NORMAL;
    fill_label(&x, "train", "b", 2);
    a.w = 32;
    add(&x, "train/a/1.png", "train", "a", &a);
    a.w = 16, a.brightness = 10;
    add(&x, "val/a/1.png", "val", "a", &a);
    assert_int_equal(ia_analyze_stats(x.db, x.scan), IA_OK);
    int64_t groups = q_int(&x, "SELECT count(*) FROM stat_group");
    int64_t metrics = q_int(&x, "SELECT count(*) FROM stat_metric");
    int64_t findings = q_int(&x, "SELECT count(*) FROM finding");
    /* A second run replaces the first. */
    analyze(&x);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM stat_group"), groups);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM stat_metric"), metrics);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM finding"), findings);
    assert_int_equal(groups, 6);
    assert_int_equal(metrics, 6 * IA_M_COUNT);
    assert_int_equal(q_int(&x, "SELECT count(*) FROM finding WHERE code ="
                           " 'dark'"), 2);
    assert_int_equal(ia_q_stat_groups(x.db, x.scan, group_cb, &c), IA_OK);
    assert_string_equal(c.text, "*/*:4 train/*:3 train/a:1 train/b:2 "
                        "val/*:1 val/a:1 ");
    c.text[0] = '\0';
    assert_int_equal(ia_q_class_index(x.db, x.scan, class_cb, &c), IA_OK);
    assert_string_equal(c.text, "train:a=0 train:b=1 val:a=0 ");
    /* Widths of train, sorted: 32, 64, 64. */
    assert_int_equal(ia_q_metric_values(x.db, x.scan, "train", NULL,
                                        IA_M_WIDTH, &v, &n), IA_OK);
    assert_int_equal(n, 3);
    assert_close(v[0], 32, 0);
    assert_close(v[2], 64, 0);
    free(v);
    assert_int_equal(ia_q_metric_values(x.db, x.scan, NULL, "a",
                                        IA_M_ASPECT, &v, &n), IA_OK);
    assert_int_equal(n, 2);
    assert_close(v[0], 0.25, 0);
    assert_close(v[1], 0.5, 0);
    free(v);
    assert_int_equal(ia_q_metric_values(x.db, x.scan, "none", NULL,
                                        IA_M_WIDTH, &v, &n), IA_OK);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(ia_q_metric_values(x.db, x.scan, NULL, NULL, 99, &v,
                                        &n), IA_ERR_ARG);
    assert_int_equal(ia_metric_parse("sharpness_rel"), IA_M_SHARPNESS_REL);
    assert_int_equal(ia_metric_parse("nope"), -1);
    t_close(&x);
}

/* On a read-only handle the analysis fails cleanly, writing nothing. */
static void test_readonly_fails(void **state)
{
    t x;
    char path[128];
    (void)state;
    t_open(&x);
    ia_bprintf(path, sizeof path, "%s/%d.db", tmpdir, dbseq - 1);
    fill_label(&x, "train", "a", 3);
    analyze(&x);
    t_close(&x);
    ia_db *db = NULL;
    assert_int_equal(ia_db_open(path, IA_DB_READONLY, &db), IA_OK);
    assert_int_equal(ia_analyze_stats(db, 1), IA_ERR_DB);
    assert_non_null(strstr(ia_db_errmsg(db), "readonly"));
    ia_db_close(db);
    assert_int_equal(ia_analyze_stats(NULL, 1), IA_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantile),
        cmocka_unit_test(test_fences),
        cmocka_unit_test(test_aggregates),
        cmocka_unit_test(test_empty_scan),
        cmocka_unit_test(test_absolute_flags),
        cmocka_unit_test(test_relative_flags),
        cmocka_unit_test(test_lowinfo_relative),
        cmocka_unit_test(test_label_balance),
        cmocka_unit_test(test_label_quiet),
        cmocka_unit_test(test_rerun_and_read_back),
        cmocka_unit_test(test_readonly_fails),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
