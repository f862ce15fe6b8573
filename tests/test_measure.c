/*
 * The fused row path of the measurements (ia_stats_row_fused, the AVX2
 * and AVX-512 kernels, ia_measure's sink) against the portable one it replaces:
 * results must be identical bit for bit, whatever the kernel.
 *
 *   - Luma: every one of the 2^24 RGB triples through each kernel, against
 *     Pillow's formula.
 *   - Statistics: random images of every channel count over widths that
 *     cover whole 32- and 64-pixel blocks, tails of every length and rows
 *     narrower than one block, through ia_luma_row + ia_stats_row at
 *     kernel 0 and ia_stats_row_fused, ia_stats_row_kept and
 *     ia_stats_row_held at every kernel: equal ia_pixel_stats and luma.
 *   - Chunking: rows long enough to flush the AVX2 kernels' 32-bit lanes
 *     (more than 16384 RGB blocks, 2048 Laplacian blocks) with the values
 *     that fill them fastest, against exact sums.
 *   - ia_measure's sink equals the stats and hasher fed by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "measure/hash.h"
#include "measure/measure.h"
#include "measure/stats.h"

static uint64_t rng_state = 7;

static uint32_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (uint32_t)(z ^ (z >> 31));
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* Kernel levels this CPU runs (0 always; 1 is none, 2 AVX2, 3 AVX-512
 * with VBMI and VNNI), saying once which it cannot. */
static int levels(int *out)
{
    static int said;
    int n = 0;
    ia_stats *s = NULL;
    assert_int_equal(ia_stats_new(&s), 0);
    for (int level = 0; level <= 3; level++) {
        if (ia_stats_kernel(s, level) == 0)
            out[n++] = level;
        else if (level != 1 && !said)
            printf("# statistics kernel level %d: not on this CPU, "
                   "skipped\n", level);
    }
    said = 1;
    assert_int_equal(ia_stats_kernel(s, 4), -1);
    ia_stats_free(s);
    return n;
}

static void test_luma_all_triples(void **state)
{
    (void)state;
    const uint32_t w = 4096, h = 4096;
    uint8_t *row = xmalloc((size_t)w * 3), *luma = xmalloc(w);
    int lv[4], nl = levels(lv);
    for (int k = 0; k < nl; k++) {
        ia_stats *s = NULL;
        assert_int_equal(ia_stats_new(&s), 0);
        assert_int_equal(ia_stats_kernel(s, lv[k]), 0);
        assert_int_equal(ia_stats_begin(s, w, h, 3), 0);
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++) {
                uint32_t v = y * w + x;  /* every 24-bit value once */
                row[3 * x] = (uint8_t)(v >> 16);
                row[3 * x + 1] = (uint8_t)(v >> 8);
                row[3 * x + 2] = (uint8_t)v;
            }
            ia_stats_row_fused(s, row, luma);
            for (uint32_t x = 0; x < w; x++) {
                const uint8_t *p = row + 3 * x;
                uint8_t want = (uint8_t)((19595u * p[0] + 38470u * p[1] +
                                          7471u * p[2] + 0x8000u) >> 16);
                if (luma[x] != want)
                    fail_msg("kernel %d: L(%u,%u,%u) = %u, want %u", lv[k],
                             p[0], p[1], p[2], luma[x], want);
            }
        }
        ia_stats_free(s);
    }
    free(row);
    free(luma);
}

/* Field by field: the struct has padding. */
static int stats_equal(const ia_pixel_stats *a, const ia_pixel_stats *b)
{
    int eq = a->pixels == b->pixels && a->constant == b->constant &&
             a->alpha_used == b->alpha_used &&
             memcmp(&a->brightness, &b->brightness, sizeof(double)) == 0 &&
             memcmp(&a->contrast, &b->contrast, sizeof(double)) == 0 &&
             memcmp(&a->entropy, &b->entropy, sizeof(double)) == 0 &&
             memcmp(&a->sharpness, &b->sharpness, sizeof(double)) == 0 &&
             memcmp(&a->frac_black, &b->frac_black, sizeof(double)) == 0 &&
             memcmp(&a->frac_white, &b->frac_white, sizeof(double)) == 0;
    for (int c = 0; c < 3; c++)
        eq = eq && a->sum[c] == b->sum[c] && a->sumsq[c] == b->sumsq[c] &&
             a->min[c] == b->min[c] && a->max[c] == b->max[c];
    return eq;
}

/* Statistics of img through the portable two-call path. */
static void reference(const uint8_t *img, uint32_t w, uint32_t h, int ch,
                      ia_pixel_stats *out, uint8_t *lumas)
{
    ia_stats *s = NULL;
    assert_int_equal(ia_stats_new(&s), 0);
    assert_int_equal(ia_stats_kernel(s, 0), 0);
    assert_int_equal(ia_stats_begin(s, w, h, ch), 0);
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = img + (size_t)y * w * ch;
        ia_luma_row(row, w, ch, lumas + (size_t)y * w);
        ia_stats_row(s, row, lumas + (size_t)y * w);
    }
    ia_stats_end(s, out);
    ia_stats_free(s);
}

/* Through ia_stats_row_fused (mode 0), ia_stats_row_kept (1: the luma
 * it points at copied into lumas) or ia_stats_row_held (2: into lumas,
 * whose rows stay). */
static void fused_as(const uint8_t *img, uint32_t w, uint32_t h, int ch,
                     int level, ia_pixel_stats *out, uint8_t *lumas, int mode)
{
    ia_stats *s = NULL;
    uint8_t *scratch = xmalloc(w);
    assert_int_equal(ia_stats_new(&s), 0);
    assert_int_equal(ia_stats_kernel(s, level), 0);
    assert_int_equal(ia_stats_begin(s, w, h, ch), 0);
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *row = img + (size_t)y * w * ch;
        if (mode != 1) {
            (mode ? ia_stats_row_held : ia_stats_row_fused)(
                s, row, lumas + (size_t)y * w);
            continue;
        }
        const uint8_t *l = ia_stats_row_kept(s, row, scratch);
        /* the ring when the Laplacian keeps rows, else the scratch */
        assert_true((l == scratch) == (w < 3 || h < 3));
        memcpy(lumas + (size_t)y * w, l, w);
    }
    /* past the height: ignored, the scratch returned */
    assert_ptr_equal(ia_stats_row_kept(s, img, scratch), scratch);
    ia_stats_end(s, out);
    ia_stats_free(s);
    free(scratch);
}

static void fused(const uint8_t *img, uint32_t w, uint32_t h, int ch,
                  int level, ia_pixel_stats *out, uint8_t *lumas)
{
    fused_as(img, w, h, ch, level, out, lumas, 0);
}

static void fill(uint8_t *img, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: img[i] = (uint8_t)rnd(); break;               /* noise */
        case 1: img[i] = (uint8_t)(rnd() % 3 ? 255 : 0); break; /* extremes */
        default: img[i] = (uint8_t)(128 + rnd() % 5); break;  /* flat */
        }
    }
}

static void test_kernels_agree(void **state)
{
    (void)state;
    static const uint32_t widths[] = {1,  2,  3,  5,   15,  16,  17,
                                      31, 32, 33, 47,  63,  64,  65,
                                      95, 96, 97, 127, 128, 129, 200, 1001};
    int lv[4], nl = levels(lv);
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        for (int ch = 1; ch <= 4; ch++) {
            for (int kind = 0; kind < 3; kind++) {
                uint32_t w = widths[wi], h = 1 + rnd() % 6;
                size_t n = (size_t)w * h * (size_t)ch;
                uint8_t *img = xmalloc(n);
                uint8_t *l0 = xmalloc((size_t)w * h), *l1 = xmalloc((size_t)w * h);
                ia_pixel_stats want, got;
                fill(img, n, kind);
                reference(img, w, h, ch, &want, l0);
                for (int k = 0; k < 3 * nl; k++) {
                    static const char *const how[3] = {"", " (kept)",
                                                       " (held)"};
                    memset(&got, 0xAB, sizeof got);
                    memset(l1, 0xCD, (size_t)w * h);
                    fused_as(img, w, h, ch, lv[k / 3], &got, l1, k % 3);
                    if (!stats_equal(&want, &got) ||
                        memcmp(l0, l1, (size_t)w * h) != 0)
                        fail_msg("kernel %d%s, %ux%u, %d channels, kind %d:"
                                 " results differ", lv[k / 3], how[k % 3],
                                 w, h, ch, kind);
                }
                free(img);
                free(l0);
                free(l1);
            }
        }
    }
}

/* The RGB image img through the reference (its statistics into want)
 * and the fused path at every kernel: the same statistics and luma. */
static void rgb_levels_agree(const uint8_t *img, uint32_t w, uint32_t h,
                             ia_pixel_stats *want)
{
    uint8_t *l0 = xmalloc((size_t)w * h), *l1 = xmalloc((size_t)w * h);
    ia_pixel_stats got;
    int lv[4], nl = levels(lv);
    reference(img, w, h, 3, want, l0);
    for (int k = 0; k < nl; k++) {
        fused(img, w, h, 3, lv[k], &got, l1);
        assert_true(stats_equal(want, &got));
        assert_memory_equal(l0, l1, (size_t)w * h);
    }
    free(l0);
    free(l1);
}

/* 600000 white RGB pixels per row: the square lanes of the RGB kernel
 * take 4 * 255^2 per block, so without the flush every 16384 blocks they
 * would wrap; a checkerboard drives the Laplacian to |r| = 1020. */
static void test_chunk_flush(void **state)
{
    (void)state;
    const uint32_t w = 600000, h = 3;
    uint8_t *img = xmalloc((size_t)w * h * 3);
    ia_pixel_stats want;
    memset(img, 255, (size_t)w * 3);  /* row 0 white */
    for (uint32_t y = 1; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            memset(img + ((size_t)y * w + x) * 3, (x + y) % 2 ? 255 : 0, 3);
    rgb_levels_agree(img, w, h, &want);
    uint64_t white = w + (uint64_t)w;  /* row 0 and half of rows 1, 2 */
    assert_int_equal(want.sum[0], white * 255);
    assert_int_equal(want.sumsq[1], white * 255 * 255);
    free(img);
}

/* The RGB kernels carry their vector sums from row to row: 9,000 white
 * rows of 96 pixels are 27,000 blocks of 32 pixels and 18,000 steps of
 * 64 (a whole one and a masked one a row), past the 16,384 after which a
 * square lane would wrap, in rows far shorter than a chunk. */
static void test_chunk_flush_across_rows(void **state)
{
    (void)state;
    const uint32_t w = 96, h = 9000;
    uint8_t *img = xmalloc((size_t)w * h * 3);
    ia_pixel_stats want;
    memset(img, 255, (size_t)w * h * 3);
    rgb_levels_agree(img, w, h, &want);
    assert_int_equal(want.sumsq[2], (uint64_t)w * h * 255 * 255);
    free(img);
}

/* The histogram folded into its 64-bit totals every few rows (every
 * 2^31 pixels in use) gives the same statistics. */
static void test_hist_fold(void **state)
{
    (void)state;
    const uint32_t w = 77, h = 50;
    uint8_t *img = xmalloc((size_t)w * h * 3), *l1 = xmalloc((size_t)w * h);
    ia_pixel_stats want, got;
    for (int kind = 0; kind < 3; kind++) {
        fill(img, (size_t)w * h * 3, kind);
        reference(img, w, h, 3, &want, l1);
        static const uint64_t every[] = {1, 77, 100, 1000};
        for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
            ia_stats *s = NULL;
            assert_int_equal(ia_stats_new(&s), 0);
            ia_stats_hist_fold(s, every[i]);
            assert_int_equal(ia_stats_begin(s, w, h, 3), 0);
            for (uint32_t y = 0; y < h; y++)
                ia_stats_row_fused(s, img + (size_t)y * w * 3,
                                   l1 + (size_t)y * w);
            ia_stats_end(s, &got);
            assert_true(stats_equal(&want, &got));
            ia_stats_free(s);
        }
    }
    free(img);
    free(l1);
}

/* One ia_stats through images in turn (as a worker uses it), some after
 * an image left unfinished: nothing of an image, carried sums included,
 * reaches the next one. */
static void test_images_in_turn(void **state)
{
    (void)state;
    static const uint32_t dims[][2] = {{96, 40}, {33, 7}, {200, 3}, {64, 64},
                                       {31, 5}, {1001, 2}};
    int lv[4], nl = levels(lv);
    for (int k = 0; k < nl; k++) {
        ia_stats *s = NULL;
        assert_int_equal(ia_stats_new(&s), 0);
        assert_int_equal(ia_stats_kernel(s, lv[k]), 0);
        for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
            uint32_t w = dims[i][0], h = dims[i][1];
            size_t n = (size_t)w * h * 3;
            uint8_t *img = xmalloc(n), *l0 = xmalloc((size_t)w * h),
                    *l1 = xmalloc((size_t)w * h);
            ia_pixel_stats want, got;
            fill(img, n, (int)i % 3);
            reference(img, w, h, 3, &want, l0);
            if (i % 2) {
                /* a decode that stops before ia_stats_end */
                assert_int_equal(ia_stats_begin(s, w, h, 3), 0);
                ia_stats_row_fused(s, img, l1);
            }
            assert_int_equal(ia_stats_begin(s, w, h, 3), 0);
            for (uint32_t y = 0; y < h; y++)
                ia_stats_row_fused(s, img + (size_t)y * w * 3,
                                   l1 + (size_t)y * w);
            ia_stats_end(s, &got);
            if (!stats_equal(&want, &got))
                fail_msg("kernel %d, image %zu: results differ", lv[k], i);
            free(img);
            free(l0);
            free(l1);
        }
        ia_stats_free(s);
    }
}

/* ia_measure's sink is the stats and the hasher fed the same rows, one
 * sink for images of several sizes in turn: rows too few for the
 * Laplacian, block boundaries of the hasher's sixteen rows (where the
 * sink computes luma into the hasher's rows and the Laplacian reads it
 * there), a last short block. */
static void test_measure_sink(void **state)
{
    (void)state;
    static const uint32_t sizes[][2] = {{77, 45}, {2, 2}, {3, 3}, {40, 16},
                                        {1000, 48}, {5, 33}, {77, 45}};
    ia_measure *m = NULL;
    assert_int_equal(ia_measure_new(&m), 0);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const uint32_t w = sizes[k][0], h = sizes[k][1];
        for (int ch = 1; ch <= 4; ch++) {
            uint8_t *img = xmalloc((size_t)w * h * ch), *luma = xmalloc(w);
            fill(img, (size_t)w * h * ch, (int)(k % 3));
            ia_rowsink sink;
            ia_file_result res;
            memset(&res, 0, sizeof res);
            ia_measure_sink(m, &sink);
            assert_int_equal(sink.begin(sink.ctx, w, h, ch, 8), 0);
            for (uint32_t y = 0; y < h; y++)
                sink.row(sink.ctx, img + (size_t)y * w * ch);
            ia_measure_finish(m, &res);
            assert_true(res.have_measures);

            ia_stats *s = NULL;
            ia_hasher *hh = NULL;
            ia_pixel_stats ps;
            ia_hashes hs;
            assert_int_equal(ia_stats_new(&s), 0);
            assert_int_equal(ia_hasher_new(&hh), 0);
            assert_int_equal(ia_stats_kernel(s, 0), 0);
            assert_int_equal(ia_hasher_kernel(hh, 0), 0);
            assert_int_equal(ia_stats_begin(s, w, h, ch), 0);
            assert_int_equal(ia_hasher_begin(hh, w, h, ch, 8), 0);
            assert_null(ia_hasher_luma_slot(hh));  /* the row kernel */
            for (uint32_t y = 0; y < h; y++) {
                const uint8_t *row = img + (size_t)y * w * ch;
                ia_luma_row(row, w, ch, luma);
                ia_stats_row(s, row, luma);
                ia_hasher_row(hh, row, luma);
            }
            ia_stats_end(s, &ps);
            ia_hasher_end(hh, &hs);
            if (!stats_equal(&ps, &res.stats) ||
                memcmp(&hs, &res.hashes, sizeof hs) != 0)
                fail_msg("%ux%u, %d channels: the sink differs", w, h, ch);
            ia_stats_free(s);
            ia_hasher_free(hh);
            free(img);
            free(luma);
        }
    }
    ia_measure_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luma_all_triples),
        cmocka_unit_test(test_kernels_agree),
        cmocka_unit_test(test_chunk_flush_across_rows),
        cmocka_unit_test(test_images_in_turn),
        cmocka_unit_test(test_hist_fold),
        cmocka_unit_test(test_chunk_flush),
        cmocka_unit_test(test_measure_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
