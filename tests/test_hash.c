/*
 * Tests of the content hashes: pixel_hash framing, the streaming Lanczos
 * resampler against a whole-image two-pass oracle written here after
 * Pillow's ImagingResampleInner, hand-checkable resizes, phash's DCT and
 * median against a direct formula, the bit order, the uniform floor, and
 * the real dataset against reference hashes computed with imagehash 4.3 on
 * Pillow 9.4 (IA_TEST_QUICK=1 limits that loop to 100 images, for
 * valgrind).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <xxhash.h>

#include "measure/hash.h"
#include "imgaudit.h"
#include "measure/stats.h"

#define DATASET_ROOT IA_SOURCE_ROOT "/../shared/datasets"
#define QUICK_LIMIT 100

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64: deterministic pixels for every run */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint8_t *random_plane(uint32_t w, uint32_t h, uint64_t seed)
{
    uint8_t *p = malloc((size_t)w * h);
    assert_non_null(p);
    for (size_t i = 0; i < (size_t)w * h; i++)
        p[i] = (uint8_t)(rng_next(&seed) >> 32);
    return p;
}

/* Hashes a gray (1-channel) image given as a plane. */
static void hash_gray(ia_hasher *h, const uint8_t *pix, uint32_t w,
                      uint32_t hgt, ia_hashes *out)
{
    assert_int_equal(ia_hasher_begin(h, w, hgt, 1, 8), 0);
    for (uint32_t y = 0; y < hgt; y++)
        ia_hasher_row(h, pix + (size_t)y * w, pix + (size_t)y * w);
    ia_hasher_end(h, out);
}

/* The hasher's calls of libm's sin(), counted through the linker's
 * --wrap=sin (tests/meson.build): it calls sin() only to build Lanczos
 * coefficient tables, two per tap. */
#ifdef IA_WRAP_SIN
double __real_sin(double x);
double __wrap_sin(double x);
static unsigned long sin_calls;   /* atomic: hashers on threads call it */

double __wrap_sin(double x)
{
    __atomic_fetch_add(&sin_calls, 1, __ATOMIC_RELAXED);
    return __real_sin(x);
}
#endif

static int setup(void **state)
{
    ia_hasher *h = NULL;
    if (ia_hasher_new(&h) != 0)
        return -1;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    ia_hasher_free(*state);
    return 0;
}

/* ---- pixel_hash ------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_pixel_hash_known_answer(void **state)
{
    ia_hasher *h = *state;
    const uint8_t rgb[2][6] = {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}};
    uint8_t buf[24 + 12];
    uint8_t luma[2];
    ia_hashes out;
    XXH128_canonical_t c;

    memcpy(buf, "IAPX", 4);
    put32(buf + 4, 1);
    put32(buf + 8, 2);
    put32(buf + 12, 2);
    put32(buf + 16, 3);
    put32(buf + 20, 8);
    memcpy(buf + 24, rgb, sizeof rgb);
    XXH128_canonicalFromHash(&c, XXH3_128bits(buf, sizeof buf));

    assert_int_equal(ia_hasher_begin(h, 2, 2, 3, 8), 0);
    for (int y = 0; y < 2; y++) {
        ia_luma_row(rgb[y], 2, 3, luma);
        ia_hasher_row(h, rgb[y], luma);
    }
    ia_hasher_end(h, &out);
    assert_memory_equal(out.pixel_hash, c.digest, 16);
    /* pinned: the framing of version 1 never changes (docs/hashes.md) */
    static const uint8_t pinned[16] = {
        0xb2, 0x71, 0xc1, 0xef, 0x1a, 0x53, 0xc9, 0xa8,
        0xea, 0xf2, 0x92, 0x9c, 0x20, 0x2e, 0xe1, 0x0d,
    };
    assert_memory_equal(out.pixel_hash, pinned, 16);
}

/* pixel_hash over images whose rows the hasher gathers before XXH3 sees
 * them (short rows, across many 8 KiB batches), passes straight through
 * (long rows), and at the switch between the two: always XXH3 of the
 * header and all rows in one piece. */
static void test_pixel_hash_row_batches(void **state)
{
    ia_hasher *h = *state;
    static const uint32_t widths[] = {1, 7, 85, 170, 171, 682, 2048, 3000};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        uint32_t w = widths[wi], rows = 40;
        size_t rb = (size_t)w * 3, n = 24 + rb * rows;
        uint8_t *buf = malloc(n), *luma = malloc(w);
        assert_non_null(buf);
        assert_non_null(luma);
        memcpy(buf, "IAPX", 4);
        put32(buf + 4, 1);
        put32(buf + 8, w);
        put32(buf + 12, rows);
        put32(buf + 16, 3);
        put32(buf + 20, 8);
        for (size_t i = 24; i < n; i++)
            buf[i] = (uint8_t)(i * 2654435761u >> 13);
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits(buf, n));
        assert_int_equal(ia_hasher_begin(h, w, rows, 3, 8), 0);
        for (uint32_t y = 0; y < rows; y++) {
            const uint8_t *row = buf + 24 + rb * y;
            ia_luma_row(row, w, 3, luma);
            ia_hasher_row(h, row, luma);
        }
        ia_hashes out;
        ia_hasher_end(h, &out);
        assert_memory_equal(out.pixel_hash, c.digest, 16);
        free(buf);
        free(luma);
    }
}

static void test_pixel_hash_same_and_changed(void **state)
{
    ia_hasher *h = *state;
    uint8_t *pix = random_plane(40, 30, 7);
    ia_hashes a, b, c;

    hash_gray(h, pix, 40, 30, &a);
    hash_gray(h, pix, 40, 30, &b);
    assert_memory_equal(a.pixel_hash, b.pixel_hash, 16);
    assert_true(a.phash == b.phash && a.dhash == b.dhash);
    pix[17 * 40 + 23] ^= 1;
    hash_gray(h, pix, 40, 30, &c);
    assert_memory_not_equal(a.pixel_hash, c.pixel_hash, 16);
    free(pix);
}

static void test_pixel_hash_header_shape(void **state)
{
    ia_hasher *h = *state;
    uint8_t pix[16];
    ia_hashes a, b, c;

    for (int i = 0; i < 16; i++)
        pix[i] = (uint8_t)(i * 13);
    hash_gray(h, pix, 2, 8, &a);
    hash_gray(h, pix, 4, 4, &b);
    assert_memory_not_equal(a.pixel_hash, b.pixel_hash, 16);
    /* the file's bit depth is part of the header too */
    assert_int_equal(ia_hasher_begin(h, 4, 4, 1, 16), 0);
    for (int y = 0; y < 4; y++)
        ia_hasher_row(h, pix + 4 * y, pix + 4 * y);
    ia_hasher_end(h, &c);
    assert_memory_not_equal(b.pixel_hash, c.pixel_hash, 16);
    assert_true(b.phash == c.phash && b.dhash == c.dhash);
}

static void test_begin_rejects(void **state)
{
    ia_hasher *h = *state;
    assert_int_equal(ia_hasher_begin(h, 0, 5, 3, 8), IA_ERR_ARG);
    assert_int_equal(ia_hasher_begin(h, 5, 0, 3, 8), IA_ERR_ARG);
    assert_int_equal(ia_hasher_begin(h, 5, 5, 0, 8), IA_ERR_ARG);
    assert_int_equal(ia_hasher_begin(h, 5, 5, 5, 8), IA_ERR_ARG);
}

/* ---- resampler oracle: Pillow's two passes over a whole image ---------- */

static double o_sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double o_lanczos(double x)
{
    if (-3.0 <= x && x < 3.0)
        return o_sinc(x) * o_sinc(x / 3);
    return 0.0;
}

/* precompute_coeffs + normalize_coeffs_8bpc, as in Resample.c. */
static int o_coeffs(int in_size, int out_size, int **boundsp, int32_t **kkp)
{
    double scale = (double)(float)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 3.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *kk = calloc((size_t)out_size * ksize, sizeof *kk);
    int32_t *fk = calloc((size_t)out_size * ksize, sizeof *fk);
    int *bounds = calloc((size_t)out_size * 2, sizeof *bounds);

    assert_true(kk && fk && bounds);
    for (int xx = 0; xx < out_size; xx++) {
        double center = 0.0 + (xx + 0.5) * scale, ww = 0.0;
        double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax;
        if (xmin < 0)
            xmin = 0;
        xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        double *k = &kk[xx * ksize];
        for (int x = 0; x < xmax; x++) {
            double w = o_lanczos((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < xmax; x++)
            if (ww != 0.0)
                k[x] /= ww;
        bounds[xx * 2] = xmin;
        bounds[xx * 2 + 1] = xmax;
    }
    for (int i = 0; i < out_size * ksize; i++)
        fk[i] = kk[i] < 0 ? (int32_t)(-0.5 + kk[i] * (1 << 22))
                          : (int32_t)(0.5 + kk[i] * (1 << 22));
    free(kk);
    *boundsp = bounds;
    *kkp = fk;
    return ksize;
}

static uint8_t o_clip8(int64_t v)
{
    v >>= 22;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* ImagingResampleInner: horizontal pass over the rows the vertical pass
 * uses, then the vertical pass; each skipped when its size is unchanged. */
static void o_resize(const uint8_t *src, int w, int h, int ow, int oh,
                     uint8_t *dst)
{
    int *bv, *bh = NULL;
    int32_t *kv, *khz = NULL;
    int kszv = o_coeffs(h, oh, &bv, &kv), kszh = 0;
    int first = bv[0], last = bv[oh * 2 - 2] + bv[oh * 2 - 1];
    const uint8_t *in = src;
    int in_w = w;
    uint8_t *tmp = NULL;

    if (ow != w) {
        kszh = o_coeffs(w, ow, &bh, &khz);
        tmp = malloc((size_t)ow * (last - first));
        assert_non_null(tmp);
        for (int y = 0; y < last - first; y++)
            for (int xx = 0; xx < ow; xx++) {
                int64_t ss = 1 << 21;
                for (int x = 0; x < bh[xx * 2 + 1]; x++)
                    ss += (int64_t)src[(size_t)(y + first) * w + x +
                                       bh[xx * 2]] * khz[xx * kszh + x];
                tmp[(size_t)y * ow + xx] = o_clip8(ss);
            }
        for (int i = 0; i < oh; i++)
            bv[i * 2] -= first;
        in = tmp;
        in_w = ow;
    }
    if (oh != h) {
        for (int yy = 0; yy < oh; yy++)
            for (int xx = 0; xx < in_w; xx++) {
                int64_t ss = 1 << 21;
                for (int y = 0; y < bv[yy * 2 + 1]; y++)
                    ss += (int64_t)in[(size_t)(y + bv[yy * 2]) * in_w + xx] *
                          kv[yy * kszv + y];
                dst[yy * ow + xx] = o_clip8(ss);
            }
    } else {
        memcpy(dst, in, (size_t)ow * oh);
    }
    free(tmp);
    free(bv);
    free(kv);
    free(bh);
    free(khz);
}

/* A smoothed random plane (so the resizes see neighbours alike, as in
 * photos) and what the oracle resizes it to. */
static uint8_t *oracle_case(uint32_t w, uint32_t hh, uint64_t seed,
                            uint8_t want_p[32 * 32], uint8_t want_d[9 * 8])
{
    uint8_t *pix = random_plane(w, hh, seed);
    for (size_t j = 1; j < (size_t)w * hh; j++)
        pix[j] = (uint8_t)((pix[j] + 3 * pix[j - 1]) / 4);
    o_resize(pix, (int)w, (int)hh, 32, 32, want_p);
    o_resize(pix, (int)w, (int)hh, 9, 8, want_d);
    return pix;
}

/* The streamed resize of a random (lightly smoothed) plane equals the
 * oracle's, for both output sizes. */
static void check_oracle(ia_hasher *h, uint32_t w, uint32_t hh, uint64_t seed)
{
    uint8_t want_p[32 * 32], want_d[9 * 8];
    uint8_t *pix = oracle_case(w, hh, seed, want_p, want_d);
    ia_hashes out;

    hash_gray(h, pix, w, hh, &out);
    assert_memory_equal(ia_hasher_resized(h, 0), want_p, sizeof want_p);
    assert_memory_equal(ia_hasher_resized(h, 1), want_d, sizeof want_d);
    free(pix);
}

/* Every kernel (scalar, SSE2, AVX2, AVX-512-VNNI, AVX-VNNI where the CPU
 * has them) against the oracle, over downscales, upscales, unchanged axes,
 * rows too narrow for the SIMD layout (5, 2, 1 wide), and sizes seen
 * before (cached tables: the last three reuse a width, a height, and
 * both). */
static void test_resize_matches_oracle(void **state)
{
    static const struct { uint32_t w, h; } sizes[] = {
        {1, 1}, {2, 3}, {5, 3}, {9, 8}, {9, 40}, {40, 8}, {31, 33},
        {32, 32}, {32, 100}, {100, 32}, {64, 1}, {1, 64}, {33, 31},
        {300, 7}, {7, 300}, {400, 711}, {711, 400}, {1000, 999},
        {17, 5}, {48, 2}, {400, 300}, {31, 711}, {400, 711},
        /* the SIMD kernels' vertical pass by columns ends at 8192 rows */
        {40, 8192}, {40, 8193}, {32, 8192}, {9, 8193},
        /* past BLOCK_MAX_WIDTH the level-5 kernel takes rows one by one */
        {8193, 40},
        /* the level-5 kernel runs on 32 rows at once, or on the last 16
         * or fewer alone: every way a height ends around them */
        {40, 17}, {40, 31}, {40, 33}, {40, 47}, {40, 48}, {40, 49},
        {40, 63}, {40, 64}, {40, 65}, {700, 95},
    };
    ia_hasher *h = *state;
    int kernels = 0;

    for (int level = 0; level <= 5; level++) {
        if (ia_hasher_kernel(h, level) != 0) {
            printf("# resize kernel level %d: not on this CPU, skipped\n",
                   level);
            continue;
        }
        kernels++;
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            check_oracle(h, sizes[i].w, sizes[i].h, 1000 + i);
    }
    assert_true(kernels >= 1);
    assert_int_equal(ia_hasher_kernel(h, 6), -1);
    for (int level = 5; ia_hasher_kernel(h, level) != 0; level--)
        continue;
}

/* An image whose rows stop early (a truncated file) is resized as if
 * the missing rows were black, as the streamed sums leave them out,
 * whichever kernel runs and whether the stop falls inside the rows
 * staged for the column pass or on their boundary. */
static void test_truncated_rows(void **state)
{
    static const uint32_t stops[] = {0, 1, 15, 16, 17, 31, 32, 33, 45,
                                     48, 64};
    const uint32_t w = 70, hh = 90;
    ia_hasher *h = *state;

    for (int level = 0; level <= 5; level++) {
        if (ia_hasher_kernel(h, level) != 0)
            continue;
        for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
            uint8_t *pix = random_plane(w, hh, 500 + i);
            uint8_t want_p[32 * 32], want_d[9 * 8];
            ia_hashes out;
            assert_int_equal(ia_hasher_begin(h, w, hh, 1, 8), 0);
            for (uint32_t y = 0; y < stops[i]; y++)
                ia_hasher_row(h, pix + (size_t)y * w, pix + (size_t)y * w);
            ia_hasher_end(h, &out);
            memset(pix + (size_t)stops[i] * w, 0, (size_t)(hh - stops[i]) * w);
            o_resize(pix, (int)w, (int)hh, 32, 32, want_p);
            o_resize(pix, (int)w, (int)hh, 9, 8, want_d);
            assert_memory_equal(ia_hasher_resized(h, 0), want_p,
                                sizeof want_p);
            assert_memory_equal(ia_hasher_resized(h, 1), want_d,
                                sizeof want_d);
            free(pix);
        }
    }
    for (int level = 5; ia_hasher_kernel(h, level) != 0; level--)
        continue;
}

/* The level-5 kernel takes rows in blocks up to 8,192 pixels wide (its
 * buffers cost 160 bytes per pixel of width) and only where both resizes
 * run both passes by kept columns; results are the same either way
 * (test_resize_matches_oracle), so this checks the choice itself. */
static void test_block_choice(void **state)
{
    static const struct { uint32_t w, h; int blocks; } cases[] = {
        {400, 300, 1}, {8192, 40, 1}, {8193, 40, 0}, {100000, 2, 0},
        {32, 100, 0},     /* phash's width: no horizontal pass */
        {40, 8193, 0},    /* too tall to keep columns */
    };
    ia_hasher *h = *state;
    if (ia_hasher_kernel(h, 5) != 0) {
        printf("# resize kernel level 5: not on this CPU, skipped\n");
        return;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ia_hashes out;
        assert_int_equal(ia_hasher_begin(h, cases[i].w, cases[i].h, 1, 8), 0);
        if (ia_hasher_blocks(h) != cases[i].blocks)
            fail_msg("%ux%u: blocks %d, want %d", cases[i].w, cases[i].h,
                     ia_hasher_blocks(h), cases[i].blocks);
        ia_hasher_end(h, &out);
    }
    ia_hashes out;
    assert_int_equal(ia_hasher_kernel(h, 2), 0);
    assert_int_equal(ia_hasher_begin(h, 400, 300, 1, 8), 0);
    assert_int_equal(ia_hasher_blocks(h), 0);
    ia_hasher_end(h, &out);
    for (int level = 5; ia_hasher_kernel(h, level) != 0; level--)
        continue;
}

/* Past VTAB_MAX_TAPS (2^18 vertical coefficients per output size, about
 * 6 * height) the vertical coefficients are recomputed per row. */
static void test_tall_image(void **state)
{
    check_oracle(*state, 2, 60000, 77);
    check_oracle(*state, 3, 60000, 78);
}

/* sin() calls while hashing a random w x hh plane (the plane's own
 * making calls none). */
static unsigned long sins_to_hash(ia_hasher *h, uint32_t w, uint32_t hh,
                                  uint64_t seed)
{
#ifdef IA_WRAP_SIN
    uint8_t *pix = random_plane(w, hh, seed);
    ia_hashes out;
    unsigned long before = sin_calls;
    hash_gray(h, pix, w, hh, &out);
    free(pix);
    return sin_calls - before;
#else
    (void)h, (void)w, (void)hh, (void)seed;
    skip();
    return 0;
#endif
}

/* A dataset of many distinct sizes builds each table once: 300 images of
 * 300 distinct widths and heights (up to 332 pixels, well within the
 * cache's budget) cost no sin() the second and third time round, and
 * still equal the oracle. */
static void test_every_size_cached(void **state)
{
    ia_hasher *h = *state;
    unsigned long first = 0, again = 0;

    for (int round = 0; round < 3; round++)
        for (uint32_t i = 0; i < 300; i++) {
            unsigned long n = sins_to_hash(h, 33 + i, 332 - i, i);
            *(round == 0 ? &first : &again) += n;
        }
    assert_true(first > 0);
    assert_int_equal(again, 0);
    check_oracle(h, 33, 332, 5);
    check_oracle(h, 200, 165, 6);
}

/* Past the budget the least recently used tables go and are built again
 * when needed, with the same results; an image whose own tables are over
 * the budget keeps them while it is hashed. */
static void test_cache_budget(void **state)
{
    ia_hasher *h = *state;

    /* about 200 KB of horizontal tables each (less in the byte layout of
     * the VNNI kernels), 40 MB or more in all: well past the 16 MB budget
     * whichever kernel this CPU runs */
    for (uint32_t i = 0; i < 200; i++)
        check_oracle(h, 3000 + 7 * i, 40, 100 + i);
    assert_true(sins_to_hash(h, 3000, 40, 1) > 0);
    check_oracle(h, 3000, 40, 7);
    /* 2 x 14.4 MB of horizontal tables for one image (2 x 10.8 MB in the
     * byte layout): over the budget alone */
    check_oracle(h, 600000, 2, 8);
    check_oracle(h, 3007, 40, 9);
}

/* ---- tables shared by hashers (ia_hash_tables) ------------------------ */

/* Hashers sharing tables build each one once between them: what one
 * hashed costs the other no sin(), with the same results. */
static void test_shared_tables(void **state)
{
    (void)state;
    ia_hash_tables *t = NULL;
    ia_hasher *a = NULL, *b = NULL;
    assert_int_equal(ia_hash_tables_new(&t), 0);
    assert_int_equal(ia_hasher_new(&a), 0);
    assert_int_equal(ia_hasher_new(&b), 0);
    ia_hasher_share(a, t);
    ia_hasher_share(b, t);
    /* widths 50..167 and heights 261..300: every image new to both */
    for (uint32_t i = 0; i < 40; i++)
        assert_true(sins_to_hash(a, 50 + 3 * i, 300 - i, i) > 0);
    for (uint32_t i = 0; i < 40; i++)
        assert_int_equal(sins_to_hash(b, 50 + 3 * i, 300 - i, i), 0);
    check_oracle(b, 53, 299, 3);
    check_oracle(a, 167, 261, 4);
    ia_hasher_free(a);
    ia_hasher_free(b);
    ia_hash_tables_free(t);
}

/* A table a hasher is hashing an image with stays in the shared cache
 * while another pushes it far past its budget (else the first would read
 * freed coefficients, and the table would be built again after); it may
 * go once that image is done. */
static void test_shared_tables_pinned(void **state)
{
    (void)state;
    const uint32_t w = 2000, hh = 40;
    uint8_t want_p[32 * 32], want_d[9 * 8];
    uint8_t *pix = oracle_case(w, hh, 11, want_p, want_d);
    ia_hash_tables *t = NULL;
    ia_hasher *a = NULL, *b = NULL;
    ia_hashes out;
    assert_int_equal(ia_hash_tables_new(&t), 0);
    assert_int_equal(ia_hasher_new(&a), 0);
    assert_int_equal(ia_hasher_new(&b), 0);
    ia_hasher_share(a, t);
    ia_hasher_share(b, t);
    assert_int_equal(ia_hasher_begin(a, w, hh, 1, 8), 0);
    for (uint32_t y = 0; y < hh / 2; y++)
        ia_hasher_row(a, pix + (size_t)y * w, pix + (size_t)y * w);
    /* 40 MB of tables or more (test_cache_budget), oldest first out */
    for (uint32_t i = 0; i < 200; i++)
        check_oracle(b, 3000 + 7 * i, 40, 100 + i);
    for (uint32_t y = hh / 2; y < hh; y++)
        ia_hasher_row(a, pix + (size_t)y * w, pix + (size_t)y * w);
    ia_hasher_end(a, &out);
    assert_memory_equal(ia_hasher_resized(a, 0), want_p, sizeof want_p);
    assert_memory_equal(ia_hasher_resized(a, 1), want_d, sizeof want_d);
    /* still cached (newer than 16 MB of b's); now unpinned */
    assert_int_equal(sins_to_hash(b, w, hh, 12), 0);
    free(pix);
    ia_hasher_free(a);
    ia_hasher_free(b);
    ia_hash_tables_free(t);
}

/* Hashers on threads of their own, one shared cache: sizes small and
 * large (past the budget together, so tables are built, found and
 * evicted under each other), in opposite orders; each result equal to a
 * lone hasher's. Run under ThreadSanitizer by scripts/ci-extra.sh. */
#define SHARE_SIZES 48
#define SHARE_THREADS 3

typedef struct share_job {
    ia_hasher *h;
    int reverse;
    ia_hashes got[SHARE_SIZES];
    int rc;
} share_job;

static void share_size(size_t i, uint32_t *w, uint32_t *hh)
{
    *w = i % 3 == 0 ? 3000 + 7 * (uint32_t)i : 40 + 11 * (uint32_t)i;
    *hh = 30 + (uint32_t)(i * 13 % 200);
}

/* No cmocka asserts off the main thread: failures go to rc. */
static int hash_plane(ia_hasher *h, size_t i, ia_hashes *out)
{
    uint32_t w, hh;
    share_size(i, &w, &hh);
    uint64_t seed = 1000 + i;
    uint8_t *p = malloc((size_t)w * hh);
    if (!p)
        return -1;
    for (size_t j = 0; j < (size_t)w * hh; j++)
        p[j] = (uint8_t)(rng_next(&seed) >> 32);
    int rc = ia_hasher_begin(h, w, hh, 1, 8);
    for (uint32_t y = 0; rc == 0 && y < hh; y++)
        ia_hasher_row(h, p + (size_t)y * w, p + (size_t)y * w);
    if (rc == 0)
        ia_hasher_end(h, out);
    free(p);
    return rc;
}

static void *share_run(void *arg)
{
    share_job *j = arg;
    for (size_t k = 0; k < SHARE_SIZES && j->rc == 0; k++) {
        size_t i = j->reverse ? SHARE_SIZES - 1 - k : k;
        j->rc = hash_plane(j->h, i, &j->got[i]);
    }
    return NULL;
}

static void test_shared_tables_threads(void **state)
{
    ia_hasher *lone = *state;
    static ia_hashes want[SHARE_SIZES];
    static share_job jobs[SHARE_THREADS];
    pthread_t tid[SHARE_THREADS];
    ia_hash_tables *t = NULL;

    for (size_t i = 0; i < SHARE_SIZES; i++)
        assert_int_equal(hash_plane(lone, i, &want[i]), 0);
    assert_int_equal(ia_hash_tables_new(&t), 0);
    for (int k = 0; k < SHARE_THREADS; k++) {
        memset(&jobs[k], 0, sizeof jobs[k]);
        assert_int_equal(ia_hasher_new(&jobs[k].h), 0);
        ia_hasher_share(jobs[k].h, t);
        jobs[k].reverse = k % 2;
        assert_int_equal(pthread_create(&tid[k], NULL, share_run, &jobs[k]),
                         0);
    }
    for (int k = 0; k < SHARE_THREADS; k++) {
        assert_int_equal(pthread_join(tid[k], NULL), 0);
        assert_int_equal(jobs[k].rc, 0);
        for (size_t i = 0; i < SHARE_SIZES; i++) {
            assert_memory_equal(jobs[k].got[i].pixel_hash,
                                want[i].pixel_hash, 16);
            assert_true(jobs[k].got[i].phash == want[i].phash);
            assert_true(jobs[k].got[i].dhash == want[i].dhash);
            assert_int_equal(jobs[k].got[i].uniform, want[i].uniform);
        }
        ia_hasher_free(jobs[k].h);
    }
    ia_hash_tables_free(t);
}

/* ---- hand-checkable resizes ------------------------------------------- */

static void test_constant_image(void **state)
{
    static const struct { uint32_t w, h; uint8_t v; } cases[] = {
        {100, 70, 77}, {1, 1, 200}, {3, 500, 255}, {4000, 3, 1}, {50, 50, 0},
    };
    ia_hasher *h = *state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = (size_t)cases[i].w * cases[i].h;
        uint8_t *pix = malloc(n);
        ia_hashes out;
        assert_non_null(pix);
        memset(pix, cases[i].v, n);
        hash_gray(h, pix, cases[i].w, cases[i].h, &out);
        const uint8_t *p = ia_hasher_resized(h, 0);
        const uint8_t *d = ia_hasher_resized(h, 1);
        for (int j = 0; j < 32 * 32; j++)
            assert_int_equal(p[j], cases[i].v);
        for (int j = 0; j < 9 * 8; j++)
            assert_int_equal(d[j], cases[i].v);
        assert_int_equal(out.dhash, 0);
        assert_int_equal(out.uniform, 1);
        free(pix);
    }
}

static void test_32x32_is_untouched(void **state)
{
    ia_hasher *h = *state;
    uint8_t *pix = random_plane(32, 32, 99);
    ia_hashes out;

    hash_gray(h, pix, 32, 32, &out);
    assert_memory_equal(ia_hasher_resized(h, 0), pix, 32 * 32);
    assert_int_equal(out.uniform, 0);
    free(pix);
}

/* 64x1 ramp v(x) = 2x: halving the width with a symmetric filter keeps a
 * linear function, so interior outputs (windows not cut by an edge) are
 * v at the output center 2xx + 1 in pixel units: 4xx + 1. The single row
 * is upscaled to 32 with one tap of weight 1.0. */
static void test_gradient_64x1(void **state)
{
    ia_hasher *h = *state;
    uint8_t pix[64];
    ia_hashes out;

    for (int x = 0; x < 64; x++)
        pix[x] = (uint8_t)(2 * x);
    hash_gray(h, pix, 64, 1, &out);
    const uint8_t *p = ia_hasher_resized(h, 0);
    for (int xx = 3; xx <= 28; xx++)
        assert_int_equal(p[xx], 4 * xx + 1);
    for (int y = 1; y < 32; y++)
        assert_memory_equal(p + 32 * y, p, 32);
    /* a rising ramp: every right neighbour brighter */
    assert_true(out.dhash == UINT64_MAX);
    assert_int_equal(out.uniform, 0);
}

/* ---- phash and dhash definitions --------------------------------------- */

/* imagehash's dhash on a 9x8 input (no resize): row 0 rising, rows 1-7
 * falling except the last pair of row 7: first array element = top bit. */
static void test_dhash_bit_order(void **state)
{
    ia_hasher *h = *state;
    uint8_t pix[8][9];
    ia_hashes out;

    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 9; c++)
            pix[r][c] = (uint8_t)(r == 0 ? 10 * c : 200 - 10 * c);
    pix[7][8] = 255;
    hash_gray(h, &pix[0][0], 9, 8, &out);
    assert_memory_equal(ia_hasher_resized(h, 1), pix, sizeof pix);
    assert_true(out.dhash == 0xff00000000000001ull);
    /* equal neighbours are not "greater" */
    memset(pix, 9, sizeof pix);
    pix[0][1] = 10;
    hash_gray(h, &pix[0][0], 9, 8, &out);
    assert_true(out.dhash == 0x8000000000000000ull);
}

static int cmp_ld(const void *a, const void *b)
{
    long double x = *(const long double *)a, y = *(const long double *)b;
    return (x > y) - (x < y);
}

/* The direct 2-D DCT-II of scipy (unnormalized, y_k = 2 sum x_n
 * cos(pi k (2n+1) / 2N) on each axis), in long double, then numpy's
 * median (mean of the two middle values) and imagehash's bit order. */
static uint64_t direct_phash(const uint8_t *pix)
{
    long double d[64], s[64];
    uint64_t bits = 0;

    for (int k = 0; k < 8; k++)
        for (int l = 0; l < 8; l++) {
            long double acc = 0;
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    acc += pix[r * 32 + c] *
                           cosl((long double)(M_PI * k * (2 * r + 1)) / 64.0L) *
                           cosl((long double)(M_PI * l * (2 * c + 1)) / 64.0L);
            d[k * 8 + l] = 4 * acc;
        }
    memcpy(s, d, sizeof s);
    qsort(s, 64, sizeof s[0], cmp_ld);
    long double med = (s[31] + s[32]) / 2;
    for (int i = 0; i < 64; i++)
        bits = bits << 1 | (d[i] > med);
    return bits;
}

static void test_phash_direct_dct(void **state)
{
    ia_hasher *h = *state;

    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint8_t *pix = random_plane(32, 32, seed * 7919);
        ia_hashes out;
        /* smooth some images so low frequencies dominate */
        if (seed % 2)
            for (int j = 1; j < 32 * 32; j++)
                pix[j] = (uint8_t)((pix[j] + 7 * pix[j - 1]) / 8);
        hash_gray(h, pix, 32, 32, &out);
        assert_true(out.phash == direct_phash(pix));
        /* 64 distinct values: exactly 32 above the median */
        assert_int_equal(__builtin_popcountll(out.phash), 32);
        free(pix);
    }
}

/* A 32x32 image, bright top half over a dark bottom half, plus a little
 * noise so that no coefficient is exactly zero. The column DCT of a step
 * is positive for k = 1 and 5, negative for k = 3 and 7, and the 8x8 block
 * is otherwise noise around zero, so the median is near zero. Hand-check
 * of the bit order (element k*8+l is bit 63 - (k*8+l)): D[0][0] is bit
 * 63, D[1][0] bit 55, D[3][0] bit 39, D[5][0] bit 23, D[7][0] bit 7. */
static void test_phash_bit_order(void **state)
{
    ia_hasher *h = *state;
    uint8_t pix[32 * 32];
    ia_hashes out;
    uint64_t seed = 11;

    for (int r = 0; r < 32; r++)
        for (int c = 0; c < 32; c++)
            pix[r * 32 + c] = (uint8_t)((r < 16 ? 200 : 40) +
                                        (rng_next(&seed) >> 61));
    hash_gray(h, pix, 32, 32, &out);
    assert_true(out.phash == direct_phash(pix));
    assert_int_equal(out.phash >> 63 & 1, 1);
    assert_int_equal(out.phash >> 55 & 1, 1);
    assert_int_equal(out.phash >> 39 & 1, 0);
    assert_int_equal(out.phash >> 23 & 1, 1);
    assert_int_equal(out.phash >> 7 & 1, 0);
}

static void test_uniform_floor(void **state)
{
    ia_hasher *h = *state;
    uint8_t pix[64 * 64];
    ia_hashes out;
    uint64_t seed = 5;

    /* +-1 noise around 100 survives the resize as variance < 1 */
    for (size_t i = 0; i < sizeof pix; i++)
        pix[i] = (uint8_t)(100 + (rng_next(&seed) >> 63));
    hash_gray(h, pix, 64, 64, &out);
    assert_int_equal(out.uniform, 1);
    /* a faint but visible edge (4 levels) is content */
    for (size_t i = 0; i < sizeof pix; i++)
        pix[i] = (uint8_t)((i % 64) < 32 ? 100 : 104);
    hash_gray(h, pix, 64, 64, &out);
    assert_int_equal(out.uniform, 0);
}

/* ---- the real dataset --------------------------------------------------- */

struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
};

static void jerr_exit(j_common_ptr cinfo)
{
    struct jerr *e = (struct jerr *)(void *)cinfo->err;
    longjmp(e->jb, 1);
}

static void jerr_silent(j_common_ptr cinfo, int level)
{
    (void)cinfo;
    (void)level;
}

/* Decodes a JPEG as Pillow does (ISLOW, fancy upsampling, RGB) and
 * streams the rows through luma and the hasher. 0 on success. */
static int hash_jpeg(ia_hasher *h, const char *path, ia_hashes *out)
{
    struct jpeg_decompress_struct cinfo;
    struct jerr err;
    FILE *f = fopen(path, "rb");
    uint8_t *volatile row = NULL;
    uint8_t *volatile luma = NULL;
    volatile int rc = -1;

    if (!f)
        return -1;
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jerr_exit;
    err.pub.emit_message = jerr_silent;
    if (setjmp(err.jb))
        goto out;
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    row = malloc((size_t)cinfo.output_width * 3);
    luma = malloc(cinfo.output_width);
    if (!row || !luma)
        goto out;
    if (ia_hasher_begin(h, cinfo.output_width, cinfo.output_height, 3, 8))
        goto out;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rp = row;
        jpeg_read_scanlines(&cinfo, &rp, 1);
        ia_luma_row(row, cinfo.output_width, 3, luma);
        ia_hasher_row(h, row, luma);
    }
    jpeg_finish_decompress(&cinfo);
    ia_hasher_end(h, out);
    rc = 0;
out:
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    free(row);
    free(luma);
    return rc;
}

/* Splits a CSV line without quotes in place; returns the field count. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        fields[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

static void test_dataset(void **state)
{
    ia_hasher *h = *state;
    const char *csv = DATASET_ROOT "/clothing-small-reference/files.csv";
    const char *quick = getenv("IA_TEST_QUICK");
    long limit = quick && strcmp(quick, "1") == 0 ? QUICK_LIMIT : -1;
    char line[4096], path[4096];
    long n = 0, p_exact = 0, d_exact = 0, uniform = 0, shown = 0;
    int p_worst = 0, d_worst = 0;
    FILE *f = fopen(csv, "r");

    if (!f) {
        printf("SKIP dataset: %s not found\n", csv);
        skip();
    }
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) && (limit < 0 || n < limit)) {
        char *fld[16];
        ia_hashes out;
        assert_int_equal(split_csv(line, fld, 16), 15);
        snprintf(path, sizeof path, "%s/clothing-small/%s", DATASET_ROOT,
                 fld[0]);
        assert_int_equal(hash_jpeg(h, path, &out), 0);
        uint64_t pref = strtoull(fld[7], NULL, 16);
        uint64_t dref = strtoull(fld[8], NULL, 16);
        int pd = ia_hamming64(out.phash, pref);
        int dd = ia_hamming64(out.dhash, dref);
        n++;
        p_exact += pd == 0;
        d_exact += dd == 0;
        uniform += out.uniform != 0;
        p_worst = pd > p_worst ? pd : p_worst;
        d_worst = dd > d_worst ? dd : d_worst;
        if ((pd || dd) && shown++ < 10)
            printf("mismatch %s: phash %016llx/%s (%d) dhash %016llx/%s "
                   "(%d)\n", fld[0], (unsigned long long)out.phash, fld[7],
                   pd, (unsigned long long)out.dhash, fld[8], dd);
    }
    fclose(f);
    printf("dataset: %ld images%s; phash exact %ld, dhash exact %ld, "
           "max Hamming phash %d dhash %d, uniform %ld\n", n,
           limit > 0 ? " (IA_TEST_QUICK)" : "", p_exact, d_exact, p_worst,
           d_worst, uniform);
    assert_true(n > 0);
    assert_true(p_exact * 100 >= n * 99);
    assert_true(d_exact * 100 >= n * 99);
    assert_true(p_worst <= 2);
    assert_true(d_worst <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pixel_hash_known_answer),
        cmocka_unit_test(test_pixel_hash_row_batches),
        cmocka_unit_test(test_pixel_hash_same_and_changed),
        cmocka_unit_test(test_pixel_hash_header_shape),
        cmocka_unit_test(test_begin_rejects),
        cmocka_unit_test(test_resize_matches_oracle),
        cmocka_unit_test(test_truncated_rows),
        cmocka_unit_test(test_tall_image),
        cmocka_unit_test(test_block_choice),
        cmocka_unit_test(test_every_size_cached),
        cmocka_unit_test(test_cache_budget),
        cmocka_unit_test(test_shared_tables),
        cmocka_unit_test(test_shared_tables_pinned),
        cmocka_unit_test(test_shared_tables_threads),
        cmocka_unit_test(test_constant_image),
        cmocka_unit_test(test_32x32_is_untouched),
        cmocka_unit_test(test_gradient_64x1),
        cmocka_unit_test(test_dhash_bit_order),
        cmocka_unit_test(test_phash_direct_dct),
        cmocka_unit_test(test_phash_bit_order),
        cmocka_unit_test(test_uniform_floor),
        cmocka_unit_test(test_dataset),
    };
    /* IA_TEST_FILTER: a cmocka name pattern (ci-extra's TSan run) */
    const char *filter = getenv("IA_TEST_FILTER");
    if (filter)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, setup, teardown);
}
