/*
 * Tests of the shard partition and the walk order (shard.h):
 *   - the hash against values printed by xxhsum -H3 0.8.1 (an independent
 *     build of xxHash) for paths of every XXH3 length class: the partition
 *     is a contract between processes and versions, so it is pinned;
 *   - "K/N" parsing, table-driven;
 *   - how evenly 100 000 dataset-like paths spread over N shards, and that
 *     every path is in exactly one shard whatever else is in the tree;
 *   - ia_walk_path_cmp against the real walker (folder layout) and the
 *     manifest walker, whose orders merge relies on.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "imgaudit.h"
#include "shard/shard.h"
#include "walk/walk.h"

/* ---- hash vectors ------------------------------------------------------- */

static void repeat(char *out, size_t cap, const char *unit, int times,
                   const char *tail)
{
    size_t n = 0;
    for (int i = 0; i < times; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s", unit);
    snprintf(out + n, cap - n, "%s", tail);
}

static void test_hash_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        uint64_t hash;
    } v[] = {
        {"", 0x2d06800538d394c2ULL},
        {"a", 0xe6c632b61e964e1fULL},
        {"train/cat/cat_001.jpg", 0xcea9084fc4cc49e6ULL},
        {"train/bird/bird_012.jpg", 0x32638646898cfbe3ULL},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_true(ia_shard_hash(v[i].path) == v[i].hash);
        assert_int_equal(ia_shard_of(v[i].path, 4), v[i].hash % 4);
        assert_int_equal(ia_shard_of(v[i].path, 1000), v[i].hash % 1000);
    }
    assert_true(ia_shard_hash(NULL) == 0x2d06800538d394c2ULL);
    /* 100, 185 and 324 bytes: XXH3's 17-128, 129-240 and long paths. */
    char buf[400];
    repeat(buf, sizeof buf, "d/", 50, "");
    assert_true(ia_shard_hash(buf) == 0x96e3c8933271e60aULL);
    repeat(buf, sizeof buf, "ab/", 60, "x.png");
    assert_true(ia_shard_hash(buf) == 0x5e6eacc2dddc2e5cULL);
    repeat(buf, sizeof buf, "folder/", 45, "image.jpg");
    assert_int_equal(strlen(buf), 324);
    assert_true(ia_shard_hash(buf) == 0x03812c3e9f316601ULL);
    /* One shard: everything in it, whatever the hash. */
    assert_int_equal(ia_shard_of("a", 1), 0);
    assert_int_equal(ia_shard_of("a", 0), 0);
}

/* ---- K/N ---------------------------------------------------------------- */

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
        unsigned k, n;
    } cases[] = {
        {"0/1", 1, 0, 1},       {"3/4", 1, 3, 4},
        {"0/4", 1, 0, 4},       {"999/1000", 1, 999, 1000},
        {"07/8", 1, 7, 8},      {"4/4", 0, 0, 0},
        {"1/0", 0, 0, 0},       {"0/0", 0, 0, 0},
        {"-1/4", 0, 0, 0},      {"+1/4", 0, 0, 0},
        {" 1/4", 0, 0, 0},      {"1/4 ", 0, 0, 0},
        {"1 /4", 0, 0, 0},      {"1/4/5", 0, 0, 0},
        {"a/b", 0, 0, 0},       {"1", 0, 0, 0},
        {"/4", 0, 0, 0},        {"1/", 0, 0, 0},
        {"", 0, 0, 0},          {"0/1001", 0, 0, 0},
        {"1000/1000", 0, 0, 0}, {"99999999999999999999/4", 0, 0, 0},
        {"1/99999999999999999999", 0, 0, 0}, {"0x1/4", 0, 0, 0},
        {"1,4", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned k = 77, n = 77;
        int rc = ia_shard_parse(cases[i].s, &k, &n);
        if (cases[i].ok) {
            assert_int_equal(rc, IA_OK);
            assert_int_equal(k, cases[i].k);
            assert_int_equal(n, cases[i].n);
        } else {
            if (rc != IA_ERR_ARG)
                fail_msg("'%s' accepted", cases[i].s);
            assert_int_equal(k, 77);   /* untouched on failure */
            assert_int_equal(n, 77);
        }
    }
    assert_int_equal(ia_shard_parse(NULL, NULL, NULL), IA_ERR_ARG);
}

/* ---- distribution ------------------------------------------------------- */

/* 100 000 paths shaped like a dataset's: few folders, numbered files. The
 * count of each shard is binomial; 6 standard deviations is a bound no
 * uniform hash misses, while a poor one (e.g. a sum of bytes) does. */
static void test_distribution(void **state)
{
    (void)state;
    static const unsigned ns[] = {2, 3, 4, 7, 16, 100};
    enum { PATHS = 100000 };
    char path[64];
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        unsigned n = ns[t], count[100] = {0};
        for (int i = 0; i < PATHS; i++) {
            snprintf(path, sizeof path, "%s/class_%02d/img_%06d.jpg",
                     i % 10 < 8 ? "train" : "test", i % 37, i);
            unsigned k = ia_shard_of(path, n);
            assert_true(k < n);
            count[k]++;
        }
        double mean = (double)PATHS / n, var = mean * (1.0 - 1.0 / n);
        for (unsigned k = 0; k < n; k++) {
            double d = (double)count[k] - mean;
            if (d * d > 36 * var)
                fail_msg("N=%u: shard %u has %u paths, expected %.0f "
                         "(variance %.0f)", n, k, count[k], mean, var);
        }
    }
}

/* A file's shard depends on its path only: the same path lands in the
 * same shard whatever was added around it, and in exactly one shard. */
static void test_stability(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "train/cat/1.jpg", "train/cat/2.jpg", "val/dog/x y.png",
        "test/bird/\xc3\xa9t\xc3\xa9.jpg", "README.md", "",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (unsigned n = 1; n <= 64; n++) {
            unsigned k = ia_shard_of(paths[i], n), owners = 0;
            char copy[64];
            snprintf(copy, sizeof copy, "%s", paths[i]);
            assert_int_equal(ia_shard_of(copy, n), k);
            for (unsigned j = 0; j < n; j++)
                owners += ia_shard_of(paths[i], n) == j;
            assert_int_equal(owners, 1);
        }
    }
}

/* ---- walk order --------------------------------------------------------- */

static void test_cmp_table(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        int sign;
    } cases[] = {
        {"a", "a", 0},
        {"a", "a/b", -1},            /* a folder before its contents */
        {"a/b", "a.b", -1},          /* '.' < '/' bytewise, not here */
        {"a/z", "a-b", -1},
        {"a b/x", "a/x", 1},
        {"a/b/c", "a/b", 1},
        {"a/b/c", "a/bc", -1},
        {"", "a", -1},
        {"z", "\xc3\xa9", -1},       /* bytes compare unsigned */
        {"a/\xc3\xa9", "a/z", 1},
        {"cat/x.jpg", "cat.v2/a.jpg", -1},
        {"train/cat/9.jpg", "train/cat/10.jpg", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int c = ia_walk_path_cmp(cases[i].a, cases[i].b);
        int r = ia_walk_path_cmp(cases[i].b, cases[i].a);
        int s = (c > 0) - (c < 0);
        if (s != cases[i].sign || -((r > 0) - (r < 0)) != cases[i].sign)
            fail_msg("cmp('%s', '%s') = %d, want sign %d", cases[i].a,
                     cases[i].b, c, cases[i].sign);
    }
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void put(const char *root, const char *rel, const char *data)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *s = strchr(p + strlen(root) + 1, '/'); s;
         s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) != 0)
            assert_int_equal(errno, EEXIST);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(data, f);
    assert_int_equal(fclose(f), 0);
}

/* Names that sort differently bytewise and component-wise: merge puts
 * shards back together with ia_walk_path_cmp, so it must agree with the
 * walk on every pair of consecutive entries. */
static const char *const tricky[] = {
    "train/cat/1.jpg", "train/cat.v2/1.jpg", "train/cat-v3/1.jpg",
    "train/cat v4/1.jpg", "train/cat/sub/2.jpg", "train/cat/sub.x/3.jpg",
    "train/cat/sub-y/4.jpg", "train/cat/sub0.jpg", "train/ca/5.jpg",
    "train/cat!/6.jpg", "train/\xc3\xa9t\xc3\xa9/7.jpg", "train/Z/8.jpg",
    "test/cat/1.jpg", "test.old/cat/1.jpg", "test-b/x.jpg", "a.jpg",
    "train/cat/__MACOSX/._1.jpg", "train/cat/.hidden.jpg",
};

static void test_cmp_matches_walk(void **state)
{
    (void)state;
    char root[] = "/tmp/ia_test_shard_XXXXXX";
    assert_non_null(mkdtemp(root));
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++)
        put(root, tricky[i], "x");
    ia_walk_options wo = {.root = root};
    ia_walker *w = NULL;
    char err[256];
    assert_int_equal(ia_walk_open(&wo, &w, err, sizeof err), IA_OK);
    ia_entry *e = NULL, *prev = NULL;
    size_t files = 0;
    int more;
    while ((more = ia_walk_next(w, &e)) == 1) {
        if (prev && ia_walk_path_cmp(prev->relpath, e->relpath) >= 0)
            fail_msg("walk gives '%s' then '%s'", prev->relpath, e->relpath);
        files += e->kind == IA_ENT_FILE;
        ia_entry_free(prev);
        prev = e;
    }
    assert_int_equal(more, 0);
    assert_int_equal(files, sizeof tricky / sizeof tricky[0]);
    ia_entry_free(prev);
    ia_walk_close(w);

    /* A manifest is walked in byte order of its paths: merge uses strcmp
     * for the manifest layout. */
    char csv[4096] = "path,label\n";
    for (size_t i = sizeof tricky / sizeof tricky[0]; i-- > 0;) {
        strcat(csv, tricky[i]);
        strcat(csv, ",x\n");
    }
    put(root, "list.csv", csv);
    char mpath[128];
    snprintf(mpath, sizeof mpath, "%s/list.csv", root);
    wo.manifest = mpath;
    assert_int_equal(ia_walk_open(&wo, &w, err, sizeof err), IA_OK);
    prev = NULL;
    files = 0;
    while ((more = ia_walk_next(w, &e)) == 1) {
        if (prev && strcmp(prev->relpath, e->relpath) >= 0)
            fail_msg("manifest gives '%s' then '%s'", prev->relpath,
                     e->relpath);
        files++;
        ia_entry_free(prev);
        prev = e;
    }
    assert_int_equal(more, 0);
    assert_int_equal(files, sizeof tricky / sizeof tricky[0]);
    ia_entry_free(prev);
    ia_walk_close(w);
    assert_int_equal(nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_vectors),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_distribution),
        cmocka_unit_test(test_stability),
        cmocka_unit_test(test_cmp_table),
        cmocka_unit_test(test_cmp_matches_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
