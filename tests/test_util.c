/*
 * Core helpers: overflow checks, hex forms, names of codes, split names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "imgaudit.h"

static void test_mul(void **st)
{
    (void)st;
    size_t r = 7;
    assert_int_equal(ia_mul_size(60000, 60000, &r), 0);
    assert_true(r == 3600000000u);
    r = 7;
    assert_int_equal(ia_mul_size(SIZE_MAX / 2 + 1, 2, &r), -1);
    assert_true(r == 7); /* untouched on failure */
    assert_int_equal(ia_mul3_size(65536, 65536, 4, &r), 0);
    assert_int_equal(ia_mul3_size(SIZE_MAX / 3, 2, 2, &r), -1);
}

static void test_grow(void **st)
{
    (void)st;
    size_t cap = 0;
    int *v = ia_grow(NULL, &cap, 5, sizeof *v, 4);
    assert_non_null(v);
    assert_int_equal(cap, 8); /* 4 doubled until it holds 5 */
    v[7] = 7;
    int *same = ia_grow(v, &cap, 8, sizeof *v, 4);
    assert_ptr_equal(same, v); /* already big enough */
    v = ia_grow(v, &cap, 9, sizeof *v, 4);
    assert_non_null(v);
    assert_int_equal(cap, 16);
    assert_int_equal(v[7], 7);
    size_t before = cap;
    assert_null(ia_grow(v, &cap, SIZE_MAX / 2, sizeof *v, 4));
    assert_int_equal(cap, before); /* untouched on failure */
    free(v);
}

static void test_hex(void **st)
{
    (void)st;
    char h[17];
    ia_hex64(0xf88ac2f1833f1f24ULL, h);
    assert_string_equal(h, "f88ac2f1833f1f24");
    ia_hex64(1, h);
    assert_string_equal(h, "0000000000000001");
    uint8_t b[3] = {0x00, 0xab, 0xff};
    char hb[7];
    ia_hex(b, 3, hb);
    assert_string_equal(hb, "00abff");
}

/* The reference: a stable sort by (value, input position). */
typedef struct tagged {
    double v;
    size_t i;
} tagged;

static int cmp_tagged(const void *a, const void *b)
{
    const tagged *x = a, *y = b;
    int c = (x->v > y->v) - (x->v < y->v);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One value of a mix that covers what a radix sort may get wrong: both
 * zeros, signs, ties, infinities, subnormals, wide and narrow ranges. */
static double mixed_value(uint64_t *s)
{
    uint64_t r = rng_next(s);
    switch (r % 8) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return (double)(int)(r >> 40 & 15) - 7.5;       /* ties */
    case 3: return (r >> 20 & 1) ? HUGE_VAL : -HUGE_VAL;
    case 4: return 5e-324 * (double)(r >> 50);               /* subnormal */
    case 5: return ((double)(r >> 11) / 9007199254740992.0) * 255.0;
    case 6: return -((double)(r >> 11)) * 1e300 / 9007199254740992.0;
    default: return (double)(r >> 11) / 9007199254740992.0 - 0.5;
    }
}

static void test_sort_doubles(void **st)
{
    (void)st;
    uint64_t s = 88172645463325252ULL;
    static const size_t sizes[] = {0, 1, 2, 3, 63, 64, 65, 1000, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        double *v = malloc((n ? n : 1) * sizeof *v);
        tagged *ref = malloc((n ? n : 1) * sizeof *ref);
        assert_non_null(v);
        assert_non_null(ref);
        for (size_t i = 0; i < n; i++) {
            v[i] = mixed_value(&s);
            ref[i] = (tagged){v[i], i};
        }
        qsort(ref, n, sizeof *ref, cmp_tagged);
        ia_sort_doubles(v, n);
        for (size_t i = 0; i < n; i++)
            assert_memory_equal(&v[i], &ref[i].v, sizeof v[i]);
        free(v);
        free(ref);
    }
}

/* What s becomes through ia_fput_clean (md 0), ia_fput_md (md 1) or
 * ia_fput_md_code (md 2). */
static char *sanitized(const char *s, int md)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (md == 2)
        ia_fput_md_code(f, s);
    else if (md)
        ia_fput_md(f, s);
    else
        ia_fput_clean(f, s);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* Two, three and four byte characters, printable: kept as they are. */
#define UTF8_OK "caf\xc3\xa9 \xe7\x8c\xab \xf0\x9f\x90\x88"

/* The one sanitiser of terminal text and the one Markdown escaper: no
 * byte that drives a terminal (C0, DEL, C1 raw or UTF-8 encoded, bytes
 * that are not UTF-8) and no markup gets through. */
static void test_sanitize(void **st)
{
    static const struct {
        const char *in, *text, *md;
    } cases[] = {
        {"cat_001.jpg", "cat_001.jpg", "cat\\_001.jpg"},
        {"\x1b[2J\x1b]0;pwned\x07", "?[2J?]0;pwned?", "?\\[2J?\\]0;pwned?"},
        {"a\nb\rc\td\x7f", "a?b?c?d?", "a?b?c?d?"},
        {"\xc2\x9b" "31m \x9b" "31m", "?31m ?31m", "?31m ?31m"},
        {UTF8_OK, UTF8_OK, UTF8_OK},
        {"\xc0\xaf \xed\xa0\x80 \xff", "?? ??? ?", "?? ??? ?"},
        {"\xc2\xa0nbsp", "\xc2\xa0nbsp", "\xc2\xa0nbsp"},
        {"<b onmouseover=x>|`*[]#!~\\", "<b onmouseover=x>|`*[]#!~\\",
         "\\<b onmouseover=x\\>\\|\\`\\*\\[\\]\\#\\!\\~\\\\"},
        {"- item", "- item", "\\- item"},
        {"+=", "+=", "\\+="},
        {"12. x 3.4", "12. x 3.4", "12\\. x 3.4"},
        {"7) x", "7) x", "7\\) x"},
        {"x-1. 2", "x-1. 2", "x-1. 2"},
        {"", "", ""},
    };
    (void)st;
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        for (int md = 0; md < 2; md++) {
            char *got = sanitized(cases[i].in, md);
            const char *want = md ? cases[i].md : cases[i].text;
            if (strcmp(got, want) != 0)
                fail_msg("case %zu (%s): got '%s', want '%s'", i,
                         md ? "md" : "text", got, want);
            free(got);
        }
    }
    char *none = sanitized(NULL, 0);
    assert_string_equal(none, "");
    free(none);
}

/* Paths in Markdown are code spans: no link, no markup, no control
 * character; a fence longer than any backtick run inside; '|' escaped for
 * a table cell. */
static void test_md_code(void **st)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"train/cat/x.jpg", "`train/cat/x.jpg`"},
        {"a`b", "``a`b``"},
        {"`a``", "``` `a`` ```"},
        {"[x](http://e)", "`[x](http://e)`"},
        {"a|b", "`a\\|b`"},
        {"\x1b[2J\n", "`?[2J?`"},
        {"", "``"},
    };
    (void)st;
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        char *got = sanitized(cases[i].in, 2);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
        free(got);
    }
}

static void test_codes(void **st)
{
    (void)st;
    for (int s = 0; s < IA_ST_COUNT; s++)
        assert_int_equal(ia_status_parse(ia_status_name(s)), s);
    assert_string_equal(ia_status_name(IA_ST_TOO_LARGE), "too_large");
    assert_int_equal(ia_status_severity(IA_ST_OK), -1);
    assert_int_equal(ia_status_severity(IA_ST_UNSUPPORTED), IA_SEV_WARNING);
    assert_int_equal(ia_status_severity(IA_ST_CORRUPT), IA_SEV_ERROR);
    assert_int_equal(ia_severity_parse("warning"), IA_SEV_WARNING);
    assert_int_equal(ia_severity_parse("bogus"), -1);
    assert_string_equal(ia_fmt_name(IA_FMT_PNG), "png");
    assert_string_equal(ia_fmt_name(999), "unknown");
    assert_string_equal(ia_strerror(IA_ERR_DB_VERSION),
                        "database written by a newer imgaudit");
    assert_string_equal(ia_strerror(12345), "unknown error");
}

static void test_split_names(void **st)
{
    (void)st;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"train", "train"}, {"Training", "train"}, {"VAL", "val"},
        {"valid", "val"}, {"validation", "val"}, {"dev", "val"},
        {"test", "test"}, {"Testing", "test"}, {"cats", NULL},
        {"trains", NULL}, {"", NULL},
    };
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        const char *got = ia_split_canonical(cases[i].in);
        if (cases[i].out)
            assert_string_equal(got, cases[i].out);
        else
            assert_null(got);
    }
}

static void test_result_cap(void **st)
{
    (void)st;
    ia_file_result r;
    ia_result_reset(&r);
    assert_int_equal(r.width, -1);
    for (int i = 0; i < IA_MAX_FILE_FINDINGS + 5; i++)
        ia_result_add(&r, "decoder_warning", IA_SEV_INFO, "warning %d", i);
    assert_int_equal(r.nfindings, IA_MAX_FILE_FINDINGS);
    assert_int_equal(r.findings_dropped, 5);
    assert_string_equal(r.findings[3].detail, "warning 3");
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ia_result_status(&r, IA_ST_CORRUPT, "%s", big);
    assert_int_equal(strlen(r.message), IA_MESSAGE_MAX - 1);
}

/* Archive names by extension, any case, after a character of the
 * component; and folders so named on a path. */
static void test_archive_names(void **state)
{
    (void)state;
    static const char *const yes[] = {"a.tar", "b.TAR.GZ", "c.tgz",
                                      "d.tar.zst", "e.tar.zstd", "f.tzst",
                                      "g.Zip", "x/y.tar"};
    static const char *const no[] = {".tar", "x/.zip", "a.tar.bz2", "a.rar",
                                     "tar", "a.tarx", "a.zip/"};
    for (size_t i = 0; i < IA_ARRAY_LEN(yes); i++)
        assert_true(ia_archive_name(yes[i]));
    for (size_t i = 0; i < IA_ARRAY_LEN(no); i++)
        assert_false(ia_archive_name(no[i]));
    assert_true(ia_archive_name_n("a.tar.gz", 5));
    assert_false(ia_archive_name_n("a.tar.gz", 7));
    assert_true(ia_archive_folder("a.tar/m.jpg"));
    assert_true(ia_archive_folder("train/cat/S.ZIP/sub/m.jpg"));
    assert_false(ia_archive_folder("train/cat/a.tar"));
    assert_false(ia_archive_folder("train/a.tarx/m.jpg"));
    assert_false(ia_archive_folder("m.jpg"));
    assert_false(ia_archive_folder(""));
    assert_false(ia_archive_folder(NULL));
}

/* A small deterministic generator for the sort test (xorshift). */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int cmp_strs(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* n strings of one shape into arena: the shapes a folder's names take
 * (shared prefixes, numbers, equal names, bytes above 127, empty), and
 * inputs a quicksort finds hard (sorted, reversed, all equal). */
static void make_strings(int shape, size_t n, uint64_t *seed, char *arena,
                         char **v)
{
    static const char pre[][12] = {"copy_p00", "p00", "", "\xff\xfe",
                                   "img_0000"};
    for (size_t i = 0; i < n; i++) {
        char *p = arena + i * 48;
        uint64_t r = next_rand(seed);
        switch (shape) {
        case 0:     /* random bytes 1..255, random lengths 0..30 */
            for (size_t k = 0, len = r % 31; k < len; k++)
                p[k] = (char)(1 + next_rand(seed) % 255);
            p[r % 31] = '\0';
            break;
        case 1:     /* prefixes and numbers, some equal */
            snprintf(p, 48, "%s%05u_t%02u.jpg", pre[r % 5],
                     (unsigned)(r >> 8) % 700, (unsigned)(r >> 24) % 40);
            break;
        case 2:     /* sorted */
            snprintf(p, 48, "n%08zu", i);
            break;
        case 3:     /* reversed */
            snprintf(p, 48, "n%08zu", n - i);
            break;
        case 4:     /* all equal */
            snprintf(p, 48, "same.jpg");
            break;
        default:    /* two letters: long equal runs */
            snprintf(p, 48, "%c%c", 'a' + (int)(r % 2), 'a' + (int)(r >> 9) % 2);
            break;
        }
        v[i] = p;
    }
}

/* ia_sort_strings gives qsort-with-strcmp's order on every shape and
 * size, around the insertion threshold and far past it. */
static void test_sort_strings(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 15, 16, 17, 100, 5000};
    uint64_t seed = 0x9e3779b97f4a7c15u;
    char *arena = malloc(5000 * 48);
    char **got = malloc(5000 * sizeof *got), **want = malloc(5000 * sizeof *want);
    (void)state;
    assert_non_null(arena);
    assert_non_null(got);
    assert_non_null(want);
    for (int shape = 0; shape < 6; shape++) {
        for (size_t k = 0; k < IA_ARRAY_LEN(sizes); k++) {
            size_t n = sizes[k];
            make_strings(shape, n, &seed, arena, got);
            memcpy(want, got, n * sizeof *want);
            ia_qsort(want, n, sizeof *want, cmp_strs);
            ia_sort_strings(got, n);
            for (size_t i = 0; i < n; i++)
                assert_string_equal(got[i], want[i]);
        }
    }
    ia_sort_strings(NULL, 0);
    free(arena);
    free(got);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mul),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_sort_doubles),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_md_code),
        cmocka_unit_test(test_codes),
        cmocka_unit_test(test_split_names),
        cmocka_unit_test(test_result_cap),
        cmocka_unit_test(test_archive_names),
        cmocka_unit_test(test_sort_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
