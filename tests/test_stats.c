/*
 * Tests for stats.c. Three kinds of oracle, none of them stats.c itself:
 *   - hand-computed answers for small images (table below, derivations in
 *     the comments);
 *   - a naive whole-image reference (double loops over a full buffer) for
 *     random images, wide enough to cross every 32-bit chunk boundary;
 *   - the real dataset: JPEGs decoded here with plain libjpeg the way
 *     Pillow does (JDCT_ISLOW, fancy upsampling, JCS_RGB), checked against
 *     sums computed by Pillow/numpy (clothing-small-reference).
 * IA_TEST_QUICK=1 limits the dataset part to 100 files (valgrind runs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <jpeglib.h>

#include "imgaudit.h"
#include "measure/stats.h"
#include "core/core.h"

#define DATASETS IA_SOURCE_ROOT "/../shared/datasets"

/* ---- helpers ------------------------------------------------------------ */

static uint8_t *xmalloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Streams a whole interleaved image through ia_stats, luma per row from
 * ia_luma_row as the real caller does. */
static void run_stats(ia_stats *s, const uint8_t *img, uint32_t w, uint32_t h,
                      int ch, ia_pixel_stats *out)
{
    uint8_t *luma = xmalloc(w);
    size_t stride = (size_t)w * (size_t)ch;
    assert_int_equal(ia_stats_begin(s, w, h, ch), 0);
    for (uint32_t y = 0; y < h; y++) {
        ia_luma_row(img + y * stride, w, ch, luma);
        ia_stats_row(s, img + y * stride, luma);
    }
    ia_stats_end(s, out);
    free(luma);
}

static void stats_of(const uint8_t *img, uint32_t w, uint32_t h, int ch,
                     ia_pixel_stats *out)
{
    ia_stats *s = NULL;
    assert_int_equal(ia_stats_new(&s), 0);
    run_stats(s, img, w, h, ch, out);
    ia_stats_free(s);
}

static void put(uint8_t *img, uint32_t w, int ch, uint32_t x, uint32_t y,
                const uint8_t rgba[4])
{
    uint8_t *p = img + ((size_t)y * w + x) * (size_t)ch;
    switch (ch) {
    case 1: p[0] = rgba[0]; break;
    case 2: p[0] = rgba[0]; p[1] = rgba[3]; break;
    case 3: memcpy(p, rgba, 3); break;
    default: memcpy(p, rgba, 4); break;
    }
}

static int near(double got, double want, double rel)
{
    double tol = rel * (fabs(want) > 1.0 ? fabs(want) : 1.0);
    return fabs(got - want) <= tol;
}

/* Compares every field; names the case and field on failure. */
static void expect_stats(const char *name, const ia_pixel_stats *g,
                         const ia_pixel_stats *e, double rel)
{
    int bad = 0;
#define U(f)                                                                 \
    if (g->f != e->f) {                                                      \
        print_error("%s: %s = %llu, want %llu\n", name, #f,                  \
                    (unsigned long long)g->f, (unsigned long long)e->f);     \
        bad = 1;                                                             \
    }
#define D(f)                                                                 \
    if (!near(g->f, e->f, rel)) {                                            \
        print_error("%s: %s = %.17g, want %.17g\n", name, #f, g->f, e->f);   \
        bad = 1;                                                             \
    }
    U(pixels)
    for (int c = 0; c < 3; c++) {
        U(sum[c]) U(sumsq[c]) U(min[c]) U(max[c])
    }
    D(brightness) D(contrast) D(entropy) D(sharpness) D(frac_black)
    D(frac_white)
    if (g->constant != e->constant || g->alpha_used != e->alpha_used) {
        print_error("%s: constant %d alpha_used %d, want %d %d\n", name,
                    g->constant, g->alpha_used, e->constant, e->alpha_used);
        bad = 1;
    }
#undef U
#undef D
    if (bad)
        fail_msg("case %s", name);
}

/* ---- hand-computed cases ----------------------------------------------- */

/* Fills an image; ch is the row layout (gray patterns write r==g==b). */
typedef void fill_fn(uint8_t *img, uint32_t w, uint32_t h, int ch);

static void fill_value(uint8_t *img, uint32_t w, uint32_t h, int ch,
                       const uint8_t rgba[4])
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            put(img, w, ch, x, y, rgba);
}

static void fill_const77(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_value(img, w, h, ch, (const uint8_t[4]){77, 77, 77, 255});
}

static void fill_const_rgb(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_value(img, w, h, ch, (const uint8_t[4]){10, 200, 30, 255});
}

static void fill_white(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_value(img, w, h, ch, (const uint8_t[4]){255, 255, 255, 255});
}

static void fill_halves(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t v = x < w / 2 ? 0 : 255;
            put(img, w, ch, x, y, (const uint8_t[4]){v, v, v, 255});
        }
}

static void fill_gradient(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t v = (uint8_t)x;
            put(img, w, ch, x, y, (const uint8_t[4]){v, v, v, 255});
        }
}

static void fill_checker(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t v = (x + y) % 2 ? 255 : 0;
            put(img, w, ch, x, y, (const uint8_t[4]){v, v, v, 255});
        }
}

static void fill_opaque(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_value(img, w, h, ch, (const uint8_t[4]){1, 2, 3, 255});
}

static void fill_one_254(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_opaque(img, w, h, ch);
    put(img, w, ch, w - 1, h - 1, (const uint8_t[4]){1, 2, 3, 254});
}

static void fill_gray_opaque(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_value(img, w, h, ch, (const uint8_t[4]){9, 9, 9, 255});
}

static void fill_gray_one_clear(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_gray_opaque(img, w, h, ch);
    put(img, w, ch, 0, 0, (const uint8_t[4]){9, 9, 9, 0});
}

static void fill_one_pixel(uint8_t *img, uint32_t w, uint32_t h, int ch)
{
    fill_value(img, w, h, ch, (const uint8_t[4]){5, 6, 7, 255});
}

typedef struct hand_case {
    const char *name;
    uint32_t w, h;
    int ch;
    fill_fn *fill;
    ia_pixel_stats want;
} hand_case;

#define RGB3(a, b, c) {a, b, c}
#define SAME3(v) {v, v, v}

/*
 * Derivations (L is Pillow's (19595 R + 38470 G + 7471 B + 0x8000) >> 16):
 * - (10,200,30): (195950 + 7694000 + 224130 + 32768) >> 16 = 8146848 >> 16
 *   = 124; (1,2,3): 151716 >> 16 = 2; (5,6,7): 413860 >> 16 = 6.
 * - halves 4x4 (left two columns 0, right two 255): interior pixels are
 *   x in {1,2}, y in {1,2}. At x=1 (value 0): up 0 + down 0 + left 0 +
 *   right 255 - 4*0 = 255. At x=2 (255): 255 + 255 + 0 + 255 - 1020 =
 *   -255. Two of each: mean 0, variance 255^2 = 65025.
 * - gradient 0..255: every row sums to 255*256/2 = 32640 and its squares
 *   to 255*256*511/6 = 5559680; each value appears h times, so the L
 *   histogram is uniform: entropy log2(256) = 8, std^2 = (256^2-1)/12 =
 *   5461.25. The Laplacian of a linear ramp is 0: vertical terms cancel
 *   (a[x] + c[x] - 2b[x] = 0) and so do horizontal ones
 *   ((x-1) + (x+1) - 2x = 0).
 * - checkerboard (L = 255 where x+y is odd): every interior pixel's four
 *   neighbours have the other colour, so r = 4*other - 4*self = +1020 on
 *   black and -1020 on white, r^2 = 1040400 everywhere.
 *   8x6: interior 6x4 = 24 pixels, 12 of each parity: mean 0, variance
 *   1040400. 5x5: interior 3x3 = 9 pixels, x+y even (black, +1020) at
 *   (1,1),(1,3),(2,2),(3,1),(3,3) = 5, odd 4: sum 1020, mean 1020/9,
 *   variance 1040400 - 1040400/81 = 1040400*80/81. Its L: 12 white of 25
 *   (p = 12/25), mean 255*12/25 = 122.4, variance 255^2 p (1-p) =
 *   65025*156/625 = 16230.24. The wide 70002x3 board has 35001 white
 *   pixels per row (105003 in all, sum 105003*255 = 26775765, squares
 *   105003*65025 = 6827820075) and one interior row of 70000 pixels,
 *   35000 of each parity: variance 1040400. That row's squares
 *   (70000 * 1040400) exceed 2^32 even per 16-pixel lane (4375 * 1040400
 *   = 4551750000), so it only comes out right if rows are chunked.
 * - all-white 70001x3 RGB: a row's sum of squares per channel is
 *   70001 * 65025 = 4551815025 > 2^32. All-white 270001x2 RGBA: 67500
 *   blocks of 4 pixels per row, so even one byte lane gets
 *   67500 * 65025 > 2^32: the 32-bit partials must be flushed per chunk.
 *   Sums: 255 * 540002 = 137700510, squares 65025 * 540002 = 35113630050.
 */
static double checker5_entropy(void)
{
    double p = 12.0 / 25.0, q = 13.0 / 25.0;
    return -(p * log2(p) + q * log2(q));
}

static const hand_case hand_cases[] = {
    {"constant gray", 5, 4, 1, fill_const77,
     {.pixels = 20, .sum = SAME3(1540), .sumsq = SAME3(118580),
      .min = SAME3(77), .max = SAME3(77), .brightness = 77,
      .constant = 1, .alpha_used = -1}},
    {"constant rgb", 6, 5, 3, fill_const_rgb,
     {.pixels = 30, .sum = RGB3(300, 6000, 900),
      .sumsq = RGB3(3000, 1200000, 27000), .min = RGB3(10, 200, 30),
      .max = RGB3(10, 200, 30), .brightness = 124, .constant = 1,
      .alpha_used = -1}},
    {"two colour gray", 4, 4, 1, fill_halves,
     {.pixels = 16, .sum = SAME3(2040), .sumsq = SAME3(520200),
      .min = SAME3(0), .max = SAME3(255), .brightness = 127.5,
      .contrast = 127.5, .entropy = 1, .sharpness = 65025,
      .frac_black = 0.5, .frac_white = 0.5, .alpha_used = -1}},
    {"two colour rgb", 4, 4, 3, fill_halves,
     {.pixels = 16, .sum = SAME3(2040), .sumsq = SAME3(520200),
      .min = SAME3(0), .max = SAME3(255), .brightness = 127.5,
      .contrast = 127.5, .entropy = 1, .sharpness = 65025,
      .frac_black = 0.5, .frac_white = 0.5, .alpha_used = -1}},
    {"gradient gray", 256, 3, 1, fill_gradient,
     {.pixels = 768, .sum = SAME3(3 * 32640), .sumsq = SAME3(3 * 5559680),
      .min = SAME3(0), .max = SAME3(255), .brightness = 127.5,
      .contrast = 73.90027063549903, /* sqrt(5461.25) */
      .entropy = 8, .frac_black = 1.0 / 256, .frac_white = 1.0 / 256,
      .alpha_used = -1}},
    {"gradient rgb", 256, 3, 3, fill_gradient,
     {.pixels = 768, .sum = SAME3(3 * 32640), .sumsq = SAME3(3 * 5559680),
      .min = SAME3(0), .max = SAME3(255), .brightness = 127.5,
      .contrast = 73.90027063549903, .entropy = 8,
      .frac_black = 1.0 / 256, .frac_white = 1.0 / 256, .alpha_used = -1}},
    {"checkerboard 8x6", 8, 6, 1, fill_checker,
     {.pixels = 48, .sum = SAME3(6120), .sumsq = SAME3(1560600),
      .min = SAME3(0), .max = SAME3(255), .brightness = 127.5,
      .contrast = 127.5, .entropy = 1, .sharpness = 1040400,
      .frac_black = 0.5, .frac_white = 0.5, .alpha_used = -1}},
    {"checkerboard 5x5", 5, 5, 1, fill_checker,
     {.pixels = 25, .sum = SAME3(3060), .sumsq = SAME3(780300),
      .min = SAME3(0), .max = SAME3(255), .brightness = 122.4,
      .contrast = 127.39795916732733, /* sqrt(16230.24) */
      .entropy = -1 /* checker5_entropy() */,
      .sharpness = 1040400.0 * 80.0 / 81.0, .frac_black = 13.0 / 25,
      .frac_white = 12.0 / 25, .alpha_used = -1}},
    {"checkerboard wide", 70002, 3, 1, fill_checker,
     {.pixels = 210006, .sum = SAME3(26775765),
      .sumsq = SAME3(6827820075ull), .min = SAME3(0), .max = SAME3(255),
      .brightness = 127.5, .contrast = 127.5, .entropy = 1,
      .sharpness = 1040400, .frac_black = 0.5, .frac_white = 0.5,
      .alpha_used = -1}},
    {"white wide", 70001, 3, 3, fill_white,
     {.pixels = 210003, .sum = SAME3(53550765),
      .sumsq = SAME3(13655445075ull), .min = SAME3(255), .max = SAME3(255),
      .brightness = 255, .frac_white = 1, .constant = 1, .alpha_used = -1}},
    {"white wide rgba", 270001, 2, 4, fill_white,
     {.pixels = 540002, .sum = SAME3(137700510),
      .sumsq = SAME3(35113630050ull), .min = SAME3(255), .max = SAME3(255),
      .brightness = 255, .frac_white = 1, .constant = 1, .alpha_used = 0}},
    {"rgba opaque", 3, 2, 4, fill_opaque,
     {.pixels = 6, .sum = RGB3(6, 12, 18), .sumsq = RGB3(6, 24, 54),
      .min = RGB3(1, 2, 3), .max = RGB3(1, 2, 3), .brightness = 2,
      .constant = 1, .alpha_used = 0}},
    {"rgba one 254", 3, 2, 4, fill_one_254,
     {.pixels = 6, .sum = RGB3(6, 12, 18), .sumsq = RGB3(6, 24, 54),
      .min = RGB3(1, 2, 3), .max = RGB3(1, 2, 3), .brightness = 2,
      .constant = 0, .alpha_used = 1}},
    {"la opaque", 3, 2, 2, fill_gray_opaque,
     {.pixels = 6, .sum = SAME3(54), .sumsq = SAME3(486), .min = SAME3(9),
      .max = SAME3(9), .brightness = 9, .constant = 1, .alpha_used = 0}},
    {"la one clear", 3, 2, 2, fill_gray_one_clear,
     {.pixels = 6, .sum = SAME3(54), .sumsq = SAME3(486), .min = SAME3(9),
      .max = SAME3(9), .brightness = 9, .constant = 0, .alpha_used = 1}},
    {"1x1 rgb", 1, 1, 3, fill_one_pixel,
     {.pixels = 1, .sum = RGB3(5, 6, 7), .sumsq = RGB3(25, 36, 49),
      .min = RGB3(5, 6, 7), .max = RGB3(5, 6, 7), .brightness = 6,
      .constant = 1, .alpha_used = -1}},
};

static void test_hand_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(hand_cases); i++) {
        const hand_case *hc = &hand_cases[i];
        size_t n = (size_t)hc->w * hc->h * (size_t)hc->ch;
        uint8_t *img = xmalloc(n);
        hc->fill(img, hc->w, hc->h, hc->ch);
        ia_pixel_stats got, want = hc->want;
        if (want.entropy < 0)
            want.entropy = checker5_entropy();
        stats_of(img, hc->w, hc->h, hc->ch, &got);
        /* Hand values are exact or correctly rounded: near-exact check. */
        expect_stats(hc->name, &got, &want, 1e-13);
        free(img);
    }
}

/* ---- naive reference --------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static uint8_t naive_luma(const uint8_t *p, int ch)
{
    if (ch <= 2)
        return p[0];
    return (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] +
                      32768u) >> 16);
}

static int naive_laplacian(const uint8_t *L, uint32_t w, uint32_t x,
                           uint32_t y)
{
    size_t i = (size_t)y * w + x;
    return L[i - w] + L[i + w] + L[i - 1] + L[i + 1] - 4 * L[i];
}

/* Whole-image double loops; two-pass doubles for the moments. */
static void naive_stats(const uint8_t *img, uint32_t w, uint32_t h, int ch,
                        ia_pixel_stats *o)
{
    memset(o, 0, sizeof(*o));
    size_t n = (size_t)w * h;
    uint8_t *L = xmalloc(n);
    uint64_t hist[256] = {0};
    int gray = ch <= 2, has_alpha = ch == 2 || ch == 4;
    uint8_t amin = 255, amax = 0;
    for (int c = 0; c < 3; c++) {
        o->min[c] = 255;
        o->max[c] = 0;
    }
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *p = img + ((size_t)y * w + x) * (size_t)ch;
            for (int c = 0; c < 3; c++) {
                uint8_t v = p[gray ? 0 : c];
                o->sum[c] += v;
                o->sumsq[c] += (uint64_t)v * v;
                if (v < o->min[c]) o->min[c] = v;
                if (v > o->max[c]) o->max[c] = v;
            }
            if (has_alpha) {
                uint8_t a = p[ch - 1];
                if (a < amin) amin = a;
                if (a > amax) amax = a;
            }
            L[(size_t)y * w + x] = naive_luma(p, ch);
            hist[L[(size_t)y * w + x]]++;
        }
    o->pixels = n;
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++)
        mean += L[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += (L[i] - mean) * (L[i] - mean);
    o->brightness = mean;
    o->contrast = sqrt(var / (double)n);
    for (int v = 0; v < 256; v++)
        if (hist[v]) {
            double p = (double)hist[v] / (double)n;
            o->entropy -= p * log2(p);
        }
    o->frac_black = (double)hist[0] / (double)n;
    o->frac_white = (double)hist[255] / (double)n;
    o->constant = 1;
    for (int c = 0; c < 3; c++)
        o->constant &= o->min[c] == o->max[c];
    if (has_alpha)
        o->constant &= amin == amax;
    o->alpha_used = has_alpha ? amin < 255 : -1;
    if (w >= 3 && h >= 3) {
        double cnt = (double)(w - 2) * (h - 2), lm = 0, lv = 0;
        for (uint32_t y = 1; y + 1 < h; y++)
            for (uint32_t x = 1; x + 1 < w; x++)
                lm += naive_laplacian(L, w, x, y);
        lm /= cnt;
        for (uint32_t y = 1; y + 1 < h; y++)
            for (uint32_t x = 1; x + 1 < w; x++) {
                double r = naive_laplacian(L, w, x, y);
                lv += (r - lm) * (r - lm);
            }
        o->sharpness = lv / cnt;
    }
    free(L);
}

typedef struct rand_case {
    uint32_t w, h;
    int ch;
    int levels; /* values drawn from 0..levels-1 (small: ties, black) */
} rand_case;

static const rand_case rand_cases[] = {
    {70001, 4, 3, 256}, {70001, 3, 4, 256}, {65536, 3, 1, 256},
    {4099, 5, 1, 256},  {257, 129, 2, 256}, {300, 200, 3, 2},
    {2, 10, 3, 256},    {10, 2, 1, 256},    {1, 1, 4, 256},
    {3, 3, 3, 256},     {1, 50, 1, 256},    {50, 1, 4, 256},
};

static void fill_random(uint8_t *img, size_t n, int levels, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(rng_next(rng) % (uint64_t)levels);
        img[i] = levels == 2 ? (uint8_t)(v * 255) : v;
    }
}

static void test_random_vs_naive(void **state)
{
    (void)state;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    ia_stats *s = NULL;
    assert_int_equal(ia_stats_new(&s), 0);
    /* One ia_stats for all cases: reuse across sizes must not leak state. */
    for (size_t i = 0; i < IA_ARRAY_LEN(rand_cases); i++) {
        const rand_case *rc = &rand_cases[i];
        size_t n = (size_t)rc->w * rc->h * (size_t)rc->ch;
        uint8_t *img = xmalloc(n);
        fill_random(img, n, rc->levels, &rng);
        ia_pixel_stats got, want;
        run_stats(s, img, rc->w, rc->h, rc->ch, &got);
        naive_stats(img, rc->w, rc->h, rc->ch, &want);
        char name[64];
        ia_bprintf(name, sizeof(name), "random %ux%u ch%d", rc->w, rc->h,
                   rc->ch);
        expect_stats(name, &got, &want, 1e-9);
        if (rc->w < 3 || rc->h < 3)
            assert_true(got.sharpness == 0.0);
        free(img);
    }
    ia_stats_free(s);
}

static void test_gray_in_three_channels(void **state)
{
    (void)state;
    uint64_t rng = 42;
    const uint32_t w = 37, h = 11;
    uint8_t *la = xmalloc((size_t)w * h * 2);
    uint8_t *l = xmalloc((size_t)w * h);
    uint8_t *rgb = xmalloc((size_t)w * h * 3);
    fill_random(la, (size_t)w * h * 2, 256, &rng);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        l[i] = la[2 * i];
        memset(rgb + 3 * i, l[i], 3);
    }
    ia_pixel_stats g1, g2, g3;
    stats_of(l, w, h, 1, &g1);
    stats_of(la, w, h, 2, &g2);
    stats_of(rgb, w, h, 3, &g3);
    assert_true(g1.sum[0] == g1.sum[1] && g1.sum[1] == g1.sum[2]);
    assert_true(g1.sumsq[0] == g1.sumsq[1] && g1.sumsq[1] == g1.sumsq[2]);
    /* Same as convert("RGB"): gray, gray+alpha and r=g=b agree (alpha
     * ignored in the sums). */
    for (int c = 0; c < 3; c++) {
        assert_int_equal(g1.sum[c], g3.sum[c]);
        assert_int_equal(g2.sum[c], g3.sum[c]);
        assert_int_equal(g1.sumsq[c], g3.sumsq[c]);
        assert_int_equal(g2.sumsq[c], g3.sumsq[c]);
        assert_int_equal(g1.min[c], g3.min[c]);
        assert_int_equal(g1.max[c], g3.max[c]);
    }
    assert_true(g1.sharpness == g3.sharpness && g2.sharpness == g3.sharpness);
    assert_int_equal(g1.alpha_used, -1);
    assert_int_equal(g2.alpha_used, 1);
    free(la);
    free(l);
    free(rgb);
}

/* Rows past the height are ignored; fewer rows count what was fed; a bad
 * channel count is refused and leaves an empty result. */
static void test_row_accounting(void **state)
{
    (void)state;
    uint8_t row[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, luma[4];
    ia_stats *s = NULL;
    ia_pixel_stats o;
    assert_int_equal(ia_stats_new(&s), 0);
    ia_luma_row(row, 4, 3, luma);
    assert_int_equal(ia_stats_begin(s, 4, 2, 3), 0);
    for (int i = 0; i < 5; i++)
        ia_stats_row(s, row, luma);
    ia_stats_end(s, &o);
    assert_int_equal(o.pixels, 8);
    assert_int_equal(o.sum[0], 2 * (1 + 4 + 7 + 10));
    assert_int_equal(ia_stats_begin(s, 4, 9, 3), 0);
    ia_stats_row(s, row, luma);
    ia_stats_end(s, &o);
    assert_int_equal(o.pixels, 4);
    assert_int_equal(ia_stats_begin(s, 4, 2, 5), IA_ERR_ARG);
    ia_stats_row(s, row, luma);
    ia_stats_end(s, &o);
    assert_int_equal(o.pixels, 0);
    assert_int_equal(o.alpha_used, -1);
    ia_stats_free(s);
    ia_stats_free(NULL);
}

/* ---- real data: clothing-small against Pillow's sums -------------------- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr cinfo)
{
    jerr *e = (jerr *)(void *)cinfo->err;
    longjmp(e->jb, 1);
}

static void jerr_quiet(j_common_ptr cinfo)
{
    (void)cinfo;
}

typedef struct decoder {
    struct jpeg_decompress_struct cinfo;
    jerr err;
    uint8_t *row, *luma;
    size_t cap;
} decoder;

static int grow(decoder *d, size_t need)
{
    if (need <= d->cap)
        return 0;
    size_t cap = d->cap * 2 > need ? d->cap * 2 : need;
    uint8_t *r = realloc(d->row, cap), *l;
    if (!r)
        return -1;
    d->row = r;
    l = realloc(d->luma, cap);
    if (!l)
        return -1;
    d->luma = l;
    d->cap = cap;
    return 0;
}

/* Decodes fp as Pillow 9.4 does and streams it into s. 0 on success. */
static int decode_into(decoder *d, FILE *fp, ia_stats *s)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    if (setjmp(d->err.jb)) {
        jpeg_abort_decompress(ci);
        return -1;
    }
    jpeg_stdio_src(ci, fp);
    jpeg_read_header(ci, TRUE);
    ci->out_color_space = JCS_RGB;
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    jpeg_start_decompress(ci);
    if (ci->output_components != 3 ||
        grow(d, (size_t)ci->output_width * 3) != 0 ||
        ia_stats_begin(s, ci->output_width, ci->output_height, 3) != 0) {
        jpeg_abort_decompress(ci);
        return -1;
    }
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW rows[1] = {d->row};
        jpeg_read_scanlines(ci, rows, 1);
        ia_luma_row(d->row, ci->output_width, 3, d->luma);
        ia_stats_row(s, d->row, d->luma);
    }
    jpeg_finish_decompress(ci);
    return 0;
}

#define MAX_SPLITS 8
#define MAX_LABELS 32

typedef struct split_acc {
    char name[32];
    uint64_t images, pixels, sum[3], sumsq[3];
    int nlabels;
    char label[MAX_LABELS][32];
    uint64_t label_n[MAX_LABELS];
} split_acc;

typedef struct totals {
    int nsplits;
    split_acc split[MAX_SPLITS];
} totals;

static split_acc *find_split(totals *t, const char *name)
{
    for (int i = 0; i < t->nsplits; i++)
        if (strcmp(t->split[i].name, name) == 0)
            return &t->split[i];
    assert_true(t->nsplits < MAX_SPLITS);
    split_acc *a = &t->split[t->nsplits++];
    memset(a, 0, sizeof(*a));
    ia_strlcpy(a->name, name, sizeof(a->name));
    return a;
}

static void count_label(split_acc *a, const char *label)
{
    for (int i = 0; i < a->nlabels; i++)
        if (strcmp(a->label[i], label) == 0) {
            a->label_n[i]++;
            return;
        }
    assert_true(a->nlabels < MAX_LABELS);
    ia_strlcpy(a->label[a->nlabels], label, sizeof(a->label[0]));
    a->label_n[a->nlabels++] = 1;
}

/* Splits a CSV line without quoting (the reference has none) in place. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = line;
        char *comma = strchr(line, ',');
        if (!comma)
            break;
        *comma = '\0';
        line = comma + 1;
    }
    return n;
}

static uint64_t parse_u64(const char *s)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    assert_true(end != s && *end == '\0');
    return v;
}

/* Counts *.jpg files below dirfd (consumes dirfd). */
static uint64_t count_jpegs(int dirfd)
{
    uint64_t n = 0;
    DIR *dir = fdopendir(dirfd);
    assert_non_null(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(de->d_name);
        int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY);
        if (sub >= 0)
            n += count_jpegs(sub);
        else if (len > 4 && strcmp(de->d_name + len - 4, ".jpg") == 0)
            n++;
    }
    closedir(dir);
    return n;
}

/* Checks one split against stats.json; returns the number of mismatches. */
static int check_split(const split_acc *a, json_t *js)
{
    int bad = 0;
#define EQ(what, got, want)                                                  \
    if ((uint64_t)(got) != (uint64_t)(want)) {                               \
        print_error("split %s: %s = %llu, want %llu\n", a->name, what,       \
                    (unsigned long long)(got), (unsigned long long)(want));  \
        bad++;                                                               \
    }
    EQ("images", a->images, json_integer_value(json_object_get(js, "images")))
    EQ("pixels", a->pixels, json_integer_value(json_object_get(js, "pixels")))
    json_t *labels = json_object_get(js, "labels");
    EQ("label count", a->nlabels, json_object_size(labels))
    for (int i = 0; i < a->nlabels; i++) {
        json_t *v = json_object_get(labels, a->label[i]);
        EQ(a->label[i], a->label_n[i], v ? json_integer_value(v) : -1)
    }
    for (int c = 0; c < 3; c++) {
        json_t *s = json_array_get(json_object_get(js, "channel_sum"), c);
        json_t *q = json_array_get(json_object_get(js, "channel_sumsq"), c);
        assert_true(json_is_integer(s) && json_is_integer(q));
        EQ("channel_sum", a->sum[c], json_integer_value(s))
        EQ("channel_sumsq", a->sumsq[c], json_integer_value(q))
        double n = (double)a->pixels, mean = (double)a->sum[c] / n;
        __extension__ typedef unsigned __int128 u128;
        u128 num = (u128)a->pixels * a->sumsq[c] - (u128)a->sum[c] * a->sum[c];
        double sd = sqrt((double)num / (n * n));
        double jm = json_real_value(
            json_array_get(json_object_get(js, "channel_mean"), c));
        double jsd = json_real_value(
            json_array_get(json_object_get(js, "channel_std"), c));
        if (!near(mean, jm, 1e-6) || !near(sd, jsd, 1e-6)) {
            print_error("split %s: mean/std %.17g %.17g, want %.17g %.17g\n",
                        a->name, mean, sd, jm, jsd);
            bad++;
        }
    }
#undef EQ
    return bad;
}

static void test_clothing_small(void **state)
{
    (void)state;
    const char *ref = DATASETS "/clothing-small-reference";
    FILE *csv = fopen(DATASETS "/clothing-small-reference/files.csv", "r");
    if (!csv) {
        print_message("SKIP real-data test: %s not found\n", ref);
        skip();
    }
    const char *q = getenv("IA_TEST_QUICK");
    int quick = q && strcmp(q, "1") == 0;
    uint64_t limit = quick ? 100 : UINT64_MAX;
    json_error_t jerror;
    json_t *root = json_load_file(
        DATASETS "/clothing-small-reference/stats.json", 0, &jerror);
    assert_non_null(root);
    totals *t = calloc(1, sizeof(*t));
    decoder *d = calloc(1, sizeof(*d));
    ia_stats *s = NULL;
    assert_non_null(t);
    assert_non_null(d);
    assert_int_equal(ia_stats_new(&s), 0);
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = jerr_exit;
    d->err.pub.output_message = jerr_quiet;
    jpeg_create_decompress(&d->cinfo);

    char line[1024], path[4096];
    char *f[16];
    assert_non_null(fgets(line, sizeof(line), csv));
    assert_int_equal(split_fields(line, f, 16), 15);
    assert_string_equal(f[9], "sum_r");
    assert_string_equal(f[14], "sumsq_b");
    uint64_t files = 0, mismatches = 0, mpx = 0;
    double t0 = ia_now();
    while (files < limit && fgets(line, sizeof(line), csv)) {
        assert_int_equal(split_fields(line, f, 16), 15);
        ia_bprintf(path, sizeof(path), "%s/clothing-small/%s", DATASETS, f[0]);
        FILE *fp = fopen(path, "rb");
        ia_pixel_stats o;
        int ok = fp && decode_into(d, fp, s) == 0;
        if (fp)
            fclose(fp);
        if (ok) {
            ia_stats_end(s, &o);
            ok = o.pixels == parse_u64(f[4]) * parse_u64(f[5]);
            for (int c = 0; c < 3; c++)
                ok &= o.sum[c] == parse_u64(f[9 + c]) &&
                      o.sumsq[c] == parse_u64(f[12 + c]);
        }
        if (!ok) {
            if (mismatches < 10)
                print_error("mismatch: %s\n", f[0]);
            mismatches++;
            files++;
            continue;
        }
        split_acc *a = find_split(t, f[1]);
        a->images++;
        a->pixels += o.pixels;
        for (int c = 0; c < 3; c++) {
            a->sum[c] += o.sum[c];
            a->sumsq[c] += o.sumsq[c];
        }
        count_label(a, f[2]);
        mpx += o.pixels;
        files++;
    }
    double secs = ia_now() - t0;
    print_message("real data: %llu files, %.1f Mpx decoded and measured in "
                  "%.2f s\n", (unsigned long long)files, (double)mpx / 1e6,
                  secs);
    assert_int_equal(mismatches, 0);

    if (quick) {
        print_message("IA_TEST_QUICK=1: per-split totals not checked\n");
    } else {
        int dfd = open(DATASETS "/clothing-small", O_RDONLY | O_DIRECTORY);
        assert_true(dfd >= 0);
        assert_int_equal(count_jpegs(dfd), files);
        json_t *splits = json_object_get(root, "splits");
        assert_int_equal(json_object_size(splits), t->nsplits);
        int bad = 0;
        for (int i = 0; i < t->nsplits; i++) {
            json_t *js = json_object_get(splits, t->split[i].name);
            assert_non_null(js);
            bad += check_split(&t->split[i], js);
        }
        assert_int_equal(bad, 0);
    }

    jpeg_destroy_decompress(&d->cinfo);
    free(d->row);
    free(d->luma);
    free(d);
    free(t);
    ia_stats_free(s);
    json_decref(root);
    fclose(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_cases),
        cmocka_unit_test(test_random_vs_naive),
        cmocka_unit_test(test_gray_in_three_channels),
        cmocka_unit_test(test_row_accounting),
        cmocka_unit_test(test_clothing_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
