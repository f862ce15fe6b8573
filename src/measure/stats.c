/*
 * Per-image pixel statistics, fed row by row as the decoder emits them.
 *
 * Exactness: every statistic comes from integer sums; doubles appear only
 * in the final divisions of ia_stats_end. Per row, channel sums are kept in
 * 32-bit partials over chunks short enough never to overflow, then added to
 * the 64-bit totals, so the hot loops stay 32-bit wide (twice the lanes).
 *
 * Luma (Pillow's L, computed once per row by the caller) feeds a 256-bin
 * histogram, from which brightness, contrast, entropy and the black/white
 * fractions all follow at the end: the per-pixel work for those five
 * statistics is one increment.
 *
 * Sharpness is the population variance of the 3x3 Laplacian
 * [[0,1,0],[1,-4,1],[0,1,0]] of L over the interior pixels only
 * (x in 1..w-2, y in 1..h-2; 0 when w < 3 or h < 3), from exact integer
 * sums of the response and its square. A ring of three luma rows keeps
 * memory O(width). How it compares with common tools:
 *   - OpenCV's cv2.Laplacian(gray, cv2.CV_64F).var() uses the same kernel
 *     (ksize=1) but also evaluates the border pixels with
 *     BORDER_REFLECT_101, so its value differs from ours by the border
 *     rows and columns; on large images the difference is small, on tiny
 *     ones it can dominate. Ours is interior-only by design: no invented
 *     pixels, and the value is exact.
 *   - CleanVision's blurriness is a different measure (it mixes the
 *     maximum edge strength with the gray std and a resized image), so the
 *     numbers are not comparable; thresholds are ours, documented in docs/.
 *
 * Hot loops are plain C, branch-free (conditional expressions that gcc
 * turns into min/max), over fixed-size blocks of byte lanes so that gcc's
 * vectoriser takes them at -O2 (-fopt-info-vec-optimized lists them);
 * nothing is allocated per row, and the ring grows geometrically across
 * images.
 *
 * The fused path (ia_stats_row_fused, what measure.c calls): luma and the
 * channel statistics come out of one pass over the row. On CPUs with AVX2
 * (checked once, at ia_stats_new) RGB rows, nearly every photo, go
 * through an explicit kernel that gathers the channels of 32 pixels with
 * pshufb, sums with psadbw, squares with pmaddwd into 32-bit lanes
 * flushed before they can wrap, and makes luma with pmaddwd, exactly
 * Pillow's integer formula; the row's last partial block is its last 32
 * pixels with the ones already counted masked out. Where the CPU has
 * AVX-512 with VBMI and VNNI (Zen 5's vector units are 512 bits wide), the
 * same kernel runs at 64 pixels a step ("AVX-512" below). The Laplacian
 * has an AVX2 and an AVX-512 loop too, the gray and channel loops are
 * built for AVX2 and the baseline (target_clones). Every kernel gives
 * the same integers: the portable one is the reference, and
 * tests/test_measure.c checks each against it (all 2^24 RGB values for
 * luma). docs/performance.md has the measurements.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define STATS_X86 1
#endif

#include "imgaudit.h"
#include "measure/stats.h"
#include "core/core.h"

/* 65536 * 255^2 = 4,261,478,400 < 2^32: the sum of squares of 65536 8-bit
 * samples fits in uint32. Each byte lane takes one sample per block, so a
 * chunk is 65536 blocks. */
#define CHAN_CHUNK 65536u
/* Byte lanes per block: 16 (one SSE vector) for 1, 2 and 4 channels, 48
 * (16 RGB pixels) for 3. */
#define MAX_LANES 48
/* |response| <= 4 * 255 = 1020, square <= 1,040,400;
 * 4096 * 1,040,400 = 4,261,478,400 < 2^32: a lane takes one response per
 * block, so a chunk is 4096 blocks. */
#define LAP_CHUNK 4096u
#define LAP_LANES 16
/* Independent histogram tables break the store-to-load dependency when
 * neighbouring pixels fall into the same bin (flat backgrounds). Eight
 * 32-bit tables fed from one 64-bit load per eight pixels take the place
 * of four 64-bit ones fed byte by byte (about 15% faster on photos, in
 * the same 8 KiB); they are folded into 64-bit totals before any bin can
 * reach 2^32 (HIST_FOLD pixels). */
#define HIST_WAYS 8
#define HIST_FOLD ((uint64_t)1 << 31)

/* Loops that gain from wider vectors are built twice, for AVX2 and the
 * baseline, and the loader picks one for this CPU (gcc's target_clones;
 * an ifunc, so none under the sanitizers' static builds of some
 * toolchains, nor under ThreadSanitizer, whose instrumented resolver runs
 * before its runtime exists). Same source, same integer results. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__) && !defined(__SANITIZE_THREAD__)
#define IA_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define IA_CLONES
#endif

/* The lane loops below touch distinct locals per iteration; gcc cannot
 * prove the input bytes do not alias them and, at -O2, will not add a
 * runtime check, so tell it. */
#if defined(__GNUC__) && !defined(__clang__)
#define IA_IVDEP _Pragma("GCC ivdep")
#else
#define IA_IVDEP
#endif

typedef struct chan_acc {
    uint64_t sum;
    uint64_t sumsq;
    uint8_t min;
    uint8_t max;
} chan_acc;

struct ia_stats {
    uint32_t width;
    uint32_t height;
    int channels;
    uint32_t rows;          /* rows fed so far */
    int ready;              /* begin succeeded */
    chan_acc chan[4];       /* per channel in row order; alpha is the last */
    uint32_t hist[HIST_WAYS][256];
    uint64_t hist_total[256];   /* folded from hist */
    uint64_t hist_pending;      /* pixels in hist since the last fold */
    uint64_t hist_fold_at;      /* HIST_FOLD, or less for tests */
    int64_t lap_sum;
    uint64_t lap_sumsq;
    uint64_t lap_n;
    uint8_t *ring;          /* three luma rows, then a scratch row */
    size_t ring_cap;
    /* y-2, y-1, y: rows of ring, or rows the caller holds for us
     * (ia_stats_row_held) */
    const uint8_t *line[3];
    uint8_t *scratch;       /* luma the kernel makes for ia_stats_row */
    /* luma and channel statistics of one row (see ia_stats_kernel) */
    void (*kernel)(struct ia_stats *s, const uint8_t *row, uint8_t *luma);
    int level;              /* of kernel: the Laplacian's loop follows it */
    /* The SIMD RGB kernel's vector sums, carried from row to row (as
     * bytes: the struct is not 64-byte aligned) and folded into chan
     * every RGB_CHUNK blocks and at the end: folding them at every row
     * end was two thirds of that kernel's work on 85-pixel rows. Twelve
     * vectors of 32 bytes (AVX2) or 64 (AVX-512). */
    uint8_t rgb_state[12 * 64];
    uint32_t rgb_blocks;    /* blocks in rgb_state's square lanes */
    int rgb_live;           /* rgb_state holds this image's rows: the
                               level of the kernel that wrote it, or 0 */
};

int ia_stats_new(ia_stats **out)
{
    ia_stats *s = calloc(1, sizeof(*s));
    if (!s)
        return IA_ERR_NOMEM;
    /* the best kernel this CPU runs; level 0 always does */
    for (int level = 3; ia_stats_kernel(s, level) != 0; level--)
        continue;
    s->hist_fold_at = HIST_FOLD;
    *out = s;
    return 0;
}

void ia_stats_free(ia_stats *s)
{
    if (!s)
        return;
    free(s->ring);
    free(s);
}

static int ring_reserve(ia_stats *s, size_t need)
{
    if (need <= s->ring_cap)
        return 0;
    size_t cap = s->ring_cap * 2;
    if (cap < need)
        cap = need;
    uint8_t *p = realloc(s->ring, cap);
    if (!p)
        return IA_ERR_NOMEM;
    s->ring = p;
    s->ring_cap = cap;
    return 0;
}

int ia_stats_begin(ia_stats *s, uint32_t width, uint32_t height, int channels)
{
    int rc = IA_ERR_ARG;
    s->ready = 0;
    if (channels < 1 || channels > 4)
        goto out;
    rc = IA_ERR_NOMEM;
    size_t need = 0;
    if (ia_mul_size(4, width, &need) != 0 || ring_reserve(s, need) != 0)
        goto out;
    for (int i = 0; i < 3; i++)
        s->line[i] = NULL;
    s->scratch = s->ring + (size_t)3 * width;
    s->width = width;
    s->height = height;
    s->channels = channels;
    s->rows = 0;
    for (int c = 0; c < 4; c++)
        s->chan[c] = (chan_acc){.sum = 0, .sumsq = 0, .min = 255, .max = 0};
    memset(s->hist, 0, sizeof(s->hist));
    memset(s->hist_total, 0, sizeof(s->hist_total));
    s->hist_pending = 0;
    s->lap_sum = 0;
    s->lap_sumsq = 0;
    s->lap_n = 0;
    s->rgb_live = 0;
    s->rgb_blocks = 0;
    s->ready = 1;
    rc = 0;
out:
    return rc;
}

/* Sum, sum of squares, min and max of every channel of npix interleaved
 * pixels of ch channels (acc[0..ch-1]). The bytes are walked contiguously
 * in blocks of 16 or 48 bytes (whole 16-byte vectors and whole pixels),
 * one accumulator per byte lane; lane j always holds channel j % ch, so
 * the lanes fold into the channels after the loop. This avoids strided
 * gathers (slow without SSSE3 shuffles), and the fixed inner trip count
 * lets gcc vectorise even at -O2, whose very-cheap cost model refuses
 * loops that need a scalar epilogue (measured: 2.5x the strided loop).
 * Inlined with a constant ch so each layout gets its own loop. */
static inline __attribute__((always_inline)) void
chan_run(const uint8_t *p, uint32_t npix, uint32_t ch, chan_acc *acc)
{
    const uint32_t lanes = ch == 3 ? 48 : 16;
    const uint32_t per_block = lanes / ch;
    uint32_t nblocks = npix / per_block;
    for (uint32_t b0 = 0; b0 < nblocks; b0 += CHAN_CHUNK) {
        uint32_t m = nblocks - b0 < CHAN_CHUNK ? nblocks - b0 : CHAN_CHUNK;
        const uint8_t *q = p + (size_t)b0 * lanes;
        uint32_t sum[MAX_LANES] = {0}, sq[MAX_LANES] = {0};
        uint8_t mn[MAX_LANES], mx[MAX_LANES];
        memset(mn, 255, sizeof(mn));
        memset(mx, 0, sizeof(mx));
        for (uint32_t b = 0; b < m; b++, q += lanes) {
            IA_IVDEP
            for (uint32_t j = 0; j < lanes; j++) {
                uint32_t v = q[j];
                sum[j] += v;
                sq[j] += v * v;
                mn[j] = (uint8_t)(v < mn[j] ? v : mn[j]);
                mx[j] = (uint8_t)(v > mx[j] ? v : mx[j]);
            }
        }
        for (uint32_t j = 0; j < lanes; j++) {
            chan_acc *a = &acc[j % ch];
            a->sum += sum[j];
            a->sumsq += sq[j];
            a->min = mn[j] < a->min ? mn[j] : a->min;
            a->max = mx[j] > a->max ? mx[j] : a->max;
        }
    }
    /* The last pixels that do not fill a block. */
    const uint8_t *t = p + (size_t)nblocks * lanes;
    uint32_t tail = (npix - nblocks * per_block) * ch;
    for (uint32_t i = 0; i < tail; i++) {
        chan_acc *a = &acc[i % ch];
        uint8_t v = t[i];
        a->sum += v;
        a->sumsq += (uint32_t)v * v;
        a->min = v < a->min ? v : a->min;
        a->max = v > a->max ? v : a->max;
    }
}

#ifdef STATS_X86
/* Pixels per AVX2 iteration of the RGB kernel, and iterations per chunk:
 * a 32-bit square lane takes four squares per iteration, 4 * 255^2 *
 * 16384 < 2^32. */
#define RGB_BLOCK 32u
#define RGB_CHUNK 16384u

/* pshufb masks gathering one channel of 16 RGB pixels (48 bytes in three
 * 16-byte vectors) into one vector: index 0x80 writes zero. */
#define Z (char)0x80
static const char rgb_mask[3][3][16] = {
    {{0, 3, 6, 9, 12, 15, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z},
     {Z, Z, Z, Z, Z, Z, 2, 5, 8, 11, 14, Z, Z, Z, Z, Z},
     {Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 1, 4, 7, 10, 13}},
    {{1, 4, 7, 10, 13, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z},
     {Z, Z, Z, Z, Z, 0, 3, 6, 9, 12, 15, Z, Z, Z, Z, Z},
     {Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 2, 5, 8, 11, 14}},
    {{2, 5, 8, 11, 14, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z},
     {Z, Z, Z, Z, Z, 1, 4, 7, 10, 13, Z, Z, Z, Z, Z, Z},
     {Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, 0, 3, 6, 9, 12, 15}},
};
#undef Z

/* Pillow's L of 8 pixels per 32-bit half-lane pair: rg holds (R, G) and
 * bk (B, 2) as 16-bit pairs. pmaddwd multiplies signed 16-bit values, so
 * G's weight 38470 enters as 38470 - 65536 and the missing 65536 G is
 * added back from rg's high halves: the sum is exact in 32 bits. */
__attribute__((target("avx2"))) static inline __m256i
luma8_avx2(__m256i rg, __m256i bk)
{
    const __m256i w_rg = _mm256_set1_epi32((int)(19595u | (38470u << 16)));
    const __m256i w_bk = _mm256_set1_epi32((int)(7471u | (16384u << 16)));
    const __m256i g_hi = _mm256_set1_epi32((int)0xffff0000u);
    __m256i v = _mm256_add_epi32(_mm256_madd_epi16(rg, w_rg),
                                 _mm256_madd_epi16(bk, w_bk));
    v = _mm256_add_epi32(v, _mm256_and_si256(rg, g_hi));
    return _mm256_srli_epi32(v, 16);
}

/* One channel of 32 pixels (two groups of 16, one per 128-bit lane). */
__attribute__((target("avx2"))) static inline __m256i
gather_avx2(__m256i x0, __m256i x1, __m256i x2, int c)
{
    __m256i m0 = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(const void *)rgb_mask[c][0]));
    __m256i m1 = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(const void *)rgb_mask[c][1]));
    __m256i m2 = _mm256_broadcastsi128_si256(
        _mm_loadu_si128((const __m128i *)(const void *)rgb_mask[c][2]));
    return _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(x0, m0),
                                           _mm256_shuffle_epi8(x1, m1)),
                           _mm256_shuffle_epi8(x2, m2));
}

__attribute__((target("avx2"))) static inline __m256i
load2_avx2(const uint8_t *lo, const uint8_t *hi)
{
    return _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(const void *)hi),
                            _mm_loadu_si128((const __m128i *)(const void *)lo));
}

__attribute__((target("avx2"))) static inline uint64_t
hsum_epi64_avx2(__m256i v)
{
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(v),
                              _mm256_extracti128_si256(v, 1));
    return (uint64_t)_mm_cvtsi128_si64(s) +
           (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
}

__attribute__((target("avx2"))) static inline uint64_t
hsum_epi32_avx2(__m256i v)
{
    /* widen to 64 bits first: eight lanes of up to 2^32 - 1 */
    const __m256i zero = _mm256_setzero_si256();
    return hsum_epi64_avx2(_mm256_add_epi64(_mm256_unpacklo_epi32(v, zero),
                                            _mm256_unpackhi_epi32(v, zero)));
}

__attribute__((target("avx2"))) static inline uint8_t
hmin_epu8_avx2(__m256i v)
{
    __m128i m = _mm_min_epu8(_mm256_castsi256_si128(v),
                             _mm256_extracti128_si256(v, 1));
    m = _mm_min_epu8(m, _mm_srli_si128(m, 8));
    m = _mm_min_epu8(m, _mm_srli_si128(m, 4));
    m = _mm_min_epu8(m, _mm_srli_si128(m, 2));
    m = _mm_min_epu8(m, _mm_srli_si128(m, 1));
    return (uint8_t)_mm_cvtsi128_si32(m);
}

__attribute__((target("avx2"))) static inline uint8_t
hmax_epu8_avx2(__m256i v)
{
    __m128i m = _mm_max_epu8(_mm256_castsi256_si128(v),
                             _mm256_extracti128_si256(v, 1));
    m = _mm_max_epu8(m, _mm_srli_si128(m, 8));
    m = _mm_max_epu8(m, _mm_srli_si128(m, 4));
    m = _mm_max_epu8(m, _mm_srli_si128(m, 2));
    m = _mm_max_epu8(m, _mm_srli_si128(m, 1));
    return (uint8_t)_mm_cvtsi128_si32(m);
}

/* The running sums of the RGB kernel: psadbw sums in 64-bit lanes,
 * pmaddwd squares in 32-bit lanes (flushed into acc every RGB_CHUNK
 * blocks), bytewise min and max. */
typedef struct rgb_acc {
    __m256i sum[3], sq[3], mn[3], mx[3];
} rgb_acc;

/* One block of 32 pixels at q: luma to o (32 bytes), statistics into a.
 * With keep (tail blocks), only the pixels whose bytes are 0xff in keep
 * count in the statistics; luma is written for all 32. */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void rgb_step(const uint8_t *q, uint8_t *o, rgb_acc *a, const __m256i *keep)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i two = _mm256_set1_epi16(2);
    __m256i x0 = load2_avx2(q, q + 48);
    __m256i x1 = load2_avx2(q + 16, q + 64);
    __m256i x2 = load2_avx2(q + 32, q + 80);
    __m256i lo[3], hi[3];
    /* Unrolled, the channels' sums stay nearer registers: gcc 12 kept
     * the loop and every sum in memory, and the statistics of 400x533
     * photos took 202-208 instead of 193-194 us (min of 5 rounds). */
#pragma GCC unroll 3
    for (int c = 0; c < 3; c++) {
        __m256i ch = gather_avx2(x0, x1, x2, c);
        lo[c] = _mm256_unpacklo_epi8(ch, zero);
        hi[c] = _mm256_unpackhi_epi8(ch, zero);
        __m256i v = ch, vlo = lo[c], vhi = hi[c], vmin = ch;
        if (keep) {
            /* dropped pixels: 0 for sums and max, 255 for min */
            v = _mm256_and_si256(ch, *keep);
            vmin = _mm256_or_si256(ch, _mm256_andnot_si256(
                                           *keep, _mm256_set1_epi8(-1)));
            vlo = _mm256_unpacklo_epi8(v, zero);
            vhi = _mm256_unpackhi_epi8(v, zero);
        }
        a->sum[c] = _mm256_add_epi64(a->sum[c], _mm256_sad_epu8(v, zero));
        a->mn[c] = _mm256_min_epu8(a->mn[c], vmin);
        a->mx[c] = _mm256_max_epu8(a->mx[c], v);
        a->sq[c] = _mm256_add_epi32(a->sq[c], _mm256_add_epi32(
                       _mm256_madd_epi16(vlo, vlo),
                       _mm256_madd_epi16(vhi, vhi)));
    }
    __m256i l0 = _mm256_packus_epi32(
        luma8_avx2(_mm256_unpacklo_epi16(lo[0], lo[1]),
                   _mm256_unpacklo_epi16(lo[2], two)),
        luma8_avx2(_mm256_unpackhi_epi16(lo[0], lo[1]),
                   _mm256_unpackhi_epi16(lo[2], two)));
    __m256i l1 = _mm256_packus_epi32(
        luma8_avx2(_mm256_unpacklo_epi16(hi[0], hi[1]),
                   _mm256_unpacklo_epi16(hi[2], two)),
        luma8_avx2(_mm256_unpackhi_epi16(hi[0], hi[1]),
                   _mm256_unpackhi_epi16(hi[2], two)));
    __m256i l8 = _mm256_packus_epi16(l0, l1);
    _mm_storeu_si128((__m128i *)(void *)o, _mm256_castsi256_si128(l8));
    _mm_storeu_si128((__m128i *)(void *)(o + 16),
                     _mm256_extracti128_si256(l8, 1));
}

/* The sums into acc, and the sum lanes zeroed. */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void rgb_flush(rgb_acc *a, chan_acc *acc)
{
    for (int c = 0; c < 3; c++) {
        acc[c].sum += hsum_epi64_avx2(a->sum[c]);
        acc[c].sumsq += hsum_epi32_avx2(a->sq[c]);
        a->sum[c] = a->sq[c] = _mm256_setzero_si256();
    }
}

/* The carried state in and out of s (see ia_stats.rgb_state); a fresh
 * one at an image's first row. Row i of rgb_state is sum[i] for i < 3,
 * then sq, mn and mx in turn. */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void rgb_load(const ia_stats *s, rgb_acc *a)
{
    const __m256i *st = (const __m256i *)(const void *)s->rgb_state;
    for (int c = 0; c < 3; c++) {
        if (!s->rgb_live) {
            a->sum[c] = a->sq[c] = a->mx[c] = _mm256_setzero_si256();
            a->mn[c] = _mm256_set1_epi8((char)0xff);
            continue;
        }
        a->sum[c] = _mm256_loadu_si256(st + c);
        a->sq[c] = _mm256_loadu_si256(st + 3 + c);
        a->mn[c] = _mm256_loadu_si256(st + 6 + c);
        a->mx[c] = _mm256_loadu_si256(st + 9 + c);
    }
}

__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void rgb_store(ia_stats *s, const rgb_acc *a)
{
    __m256i *st = (__m256i *)(void *)s->rgb_state;
    for (int c = 0; c < 3; c++) {
        _mm256_storeu_si256(st + c, a->sum[c]);
        _mm256_storeu_si256(st + 3 + c, a->sq[c]);
        _mm256_storeu_si256(st + 6 + c, a->mn[c]);
        _mm256_storeu_si256(st + 9 + c, a->mx[c]);
    }
    s->rgb_live = 2;
}

/* The carried state folded into s->chan at the image's end. */
__attribute__((target("avx2"))) static void rgb_finish_avx2(ia_stats *s)
{
    rgb_acc a;
    if (s->rgb_live != 2)
        return;
    rgb_load(s, &a);
    rgb_flush(&a, s->chan);
    for (int c = 0; c < 3; c++) {
        uint8_t mn = hmin_epu8_avx2(a.mn[c]), mx = hmax_epu8_avx2(a.mx[c]);
        s->chan[c].min = mn < s->chan[c].min ? mn : s->chan[c].min;
        s->chan[c].max = mx > s->chan[c].max ? mx : s->chan[c].max;
    }
    s->rgb_live = 0;
    s->rgb_blocks = 0;
}

/* One block into a; the sums folded into s->chan before a 32-bit square
 * lane could wrap (*blocks counts the blocks in them). */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void rgb_block(ia_stats *s, rgb_acc *a, uint32_t *blocks, const uint8_t *q,
               uint8_t *o, const __m256i *keep)
{
    rgb_step(q, o, a, keep);
    if (++*blocks == RGB_CHUNK) {
        rgb_flush(a, s->chan);
        *blocks = 0;
    }
}

/* Luma and channel statistics of a row of width >= 32 RGB pixels in one
 * pass: the three channels are gathered with pshufb, summed with psadbw,
 * squared with pmaddwd, min/maxed bytewise, and combined into luma with
 * pmaddwd; luma is packed back to bytes in pixel order. The last partial
 * block is the row's last 32 pixels, with the ones already counted masked
 * out of the statistics (their luma is written again, the same). */
__attribute__((target("avx2"))) static void
rgb_row_avx2(ia_stats *s, const uint8_t *p, uint8_t *luma)
{
    rgb_acc a;
    uint32_t width = s->width;
    uint32_t nblk = width / RGB_BLOCK, tail = width % RGB_BLOCK;
    uint32_t blocks = s->rgb_blocks;
    rgb_load(s, &a);
    for (uint32_t b = 0; b < nblk; b++)
        rgb_block(s, &a, &blocks, p + (size_t)b * (RGB_BLOCK * 3),
                  luma + (size_t)b * RGB_BLOCK, NULL);
    if (tail) {
        /* byte i of a channel vector is pixel i % 16 of group i / 16 */
        static const int8_t idx[32] = {
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
            16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
        __m256i keep = _mm256_cmpgt_epi8(
            _mm256_loadu_si256((const __m256i *)(const void *)idx),
            _mm256_set1_epi8((char)(RGB_BLOCK - tail - 1)));
        size_t first = (size_t)width - RGB_BLOCK;
        rgb_block(s, &a, &blocks, p + first * 3, luma + first, &keep);
    }
    rgb_store(s, &a);
    s->rgb_blocks = blocks;
}

/* ---- AVX-512: 64 pixels a step ------------------------------------------
 *
 * The AVX2 kernels above at twice the width, for CPUs whose vector units
 * are 512 bits wide (Zen 5, Intel since Ice Lake): a channel of 64 RGB
 * pixels is gathered from the block's 192 bytes by two byte permutes
 * (vpermt2b over the first 128, vpermb over the last 64 where the index
 * passes 127), squares and luma's weights are multiply-adds that
 * accumulate (vpdpwssd), and a row's last partial block is read, counted
 * and written under a lane mask, so any width goes through it. Same
 * integers as the portable kernel (tests/test_measure.c runs both). */
#define STATS_AVX512 1
#define IA_AVX512 \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))
#define RGB512_BLOCK 64u

typedef struct rgb512_acc {
    __m512i sum[3], sq[3], mn[3], mx[3];
} rgb512_acc;

/* Byte i of a channel vector is pixel i: source byte 3 i + c. */
static const uint8_t rgb512_idx[64] = {
    0,   3,   6,   9,   12,  15,  18,  21,  24,  27,  30,  33,  36,
    39,  42,  45,  48,  51,  54,  57,  60,  63,  66,  69,  72,  75,
    78,  81,  84,  87,  90,  93,  96,  99,  102, 105, 108, 111, 114,
    117, 120, 123, 126, 129, 132, 135, 138, 141, 144, 147, 150, 153,
    156, 159, 162, 165, 168, 171, 174, 177, 180, 183, 186, 189};

/* Channel c of the 64 pixels in x0..x2: bytes below 128 through
 * vpermt2b, the rest (pixels 43 on for R and G, 42 on for B) from x2,
 * whose vpermb reads the index's low 6 bits, 3 i + c - 128. */
IA_AVX512 static inline __m512i
gather_avx512(__m512i x0, __m512i x1, __m512i x2, int c)
{
    __m512i idx = _mm512_add_epi8(_mm512_loadu_si512(rgb512_idx),
                                  _mm512_set1_epi8((char)c));
    __mmask64 high = ~(__mmask64)0 << (c == 2 ? 42 : 43);
    __m512i t = _mm512_permutex2var_epi8(x0, idx, x1);
    return _mm512_mask_permutexvar_epi8(t, high, idx, x2);
}

/* Pillow's L of 16 pixels from (R, G) and (B, 2) 16-bit pairs, as
 * luma8_avx2: G's weight enters as 38470 - 65536 and 65536 G is added
 * back from rg's high halves. */
IA_AVX512 static inline __m512i luma16_avx512(__m512i rg, __m512i bk)
{
    const __m512i w_rg = _mm512_set1_epi32((int)(19595u | (38470u << 16)));
    const __m512i w_bk = _mm512_set1_epi32((int)(7471u | (16384u << 16)));
    __m512i v = _mm512_and_si512(rg, _mm512_set1_epi32((int)0xffff0000u));
    v = _mm512_dpwssd_epi32(v, rg, w_rg);
    v = _mm512_dpwssd_epi32(v, bk, w_bk);
    return _mm512_srli_epi32(v, 16);
}

/* Luma of the 64 pixels whose channels, widened, are lo[c] and hi[c]
 * (bytes 0-7 and 8-15 of each 128-bit lane), packed back in pixel order. */
IA_AVX512 static inline __m512i
luma64_avx512(const __m512i *lo, const __m512i *hi)
{
    const __m512i two = _mm512_set1_epi16(2);
    __m512i l0 = _mm512_packus_epi32(
        luma16_avx512(_mm512_unpacklo_epi16(lo[0], lo[1]),
                      _mm512_unpacklo_epi16(lo[2], two)),
        luma16_avx512(_mm512_unpackhi_epi16(lo[0], lo[1]),
                      _mm512_unpackhi_epi16(lo[2], two)));
    __m512i l1 = _mm512_packus_epi32(
        luma16_avx512(_mm512_unpacklo_epi16(hi[0], hi[1]),
                      _mm512_unpacklo_epi16(hi[2], two)),
        luma16_avx512(_mm512_unpackhi_epi16(hi[0], hi[1]),
                      _mm512_unpackhi_epi16(hi[2], two)));
    return _mm512_packus_epi16(l0, l1);
}

/* The 64 pixels in x0..x2: luma to o, statistics into a; only the
 * pixels in keep (their bytes loaded, the others zero) are written and
 * counted. */
IA_AVX512 static inline __attribute__((always_inline)) void
rgb512_step(__m512i x0, __m512i x1, __m512i x2, uint8_t *o, rgb512_acc *a,
            __mmask64 keep)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i lo[3], hi[3];
#pragma GCC unroll 3
    for (int c = 0; c < 3; c++) {
        /* pixels not kept are 0: nothing to sums and max; 255 for min */
        __m512i ch = gather_avx512(x0, x1, x2, c);
        lo[c] = _mm512_unpacklo_epi8(ch, zero);
        hi[c] = _mm512_unpackhi_epi8(ch, zero);
        a->sum[c] = _mm512_add_epi64(a->sum[c], _mm512_sad_epu8(ch, zero));
        a->mn[c] = _mm512_min_epu8(
            a->mn[c], _mm512_mask_mov_epi8(_mm512_set1_epi8(-1), keep, ch));
        a->mx[c] = _mm512_max_epu8(a->mx[c], ch);
        a->sq[c] = _mm512_dpwssd_epi32(a->sq[c], lo[c], lo[c]);
        a->sq[c] = _mm512_dpwssd_epi32(a->sq[c], hi[c], hi[c]);
    }
    _mm512_mask_storeu_epi8(o, keep, luma64_avx512(lo, hi));
}

/* The first n < 64 pixels at q through rgb512_step: neither the bytes
 * past them read nor the luma past them written. */
IA_AVX512 static void rgb512_tail(const uint8_t *q, uint8_t *o,
                                  rgb512_acc *a, uint32_t n)
{
    __m512i x[3];
    uint32_t bytes = 3 * n;
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t left = bytes > 64 * i ? bytes - 64 * i : 0;
        __mmask64 m = left >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << left) - 1;
        x[i] = _mm512_maskz_loadu_epi8(m, q + 64 * i);
    }
    rgb512_step(x[0], x[1], x[2], o, a, ((__mmask64)1 << n) - 1);
}

/* The sums into acc, and the sum lanes zeroed. */
IA_AVX512 static inline __attribute__((always_inline)) void
rgb512_flush(rgb512_acc *a, chan_acc *acc)
{
    for (int c = 0; c < 3; c++) {
        __m512i sq = a->sq[c];
        acc[c].sum += (uint64_t)_mm512_reduce_add_epi64(a->sum[c]);
        acc[c].sumsq += (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(
            _mm512_cvtepu32_epi64(_mm512_castsi512_si256(sq)),
            _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(sq, 1))));
        a->sum[c] = a->sq[c] = _mm512_setzero_si512();
    }
}

/* The carried state in and out of s, as rgb_load and rgb_store. */
IA_AVX512 static inline __attribute__((always_inline)) void
rgb512_load(const ia_stats *s, rgb512_acc *a)
{
    const uint8_t *st = s->rgb_state;
    for (int c = 0; c < 3; c++) {
        if (s->rgb_live != 3) {
            a->sum[c] = a->sq[c] = a->mx[c] = _mm512_setzero_si512();
            a->mn[c] = _mm512_set1_epi8(-1);
            continue;
        }
        a->sum[c] = _mm512_loadu_si512(st + 64 * c);
        a->sq[c] = _mm512_loadu_si512(st + 64 * (3 + c));
        a->mn[c] = _mm512_loadu_si512(st + 64 * (6 + c));
        a->mx[c] = _mm512_loadu_si512(st + 64 * (9 + c));
    }
}

IA_AVX512 static inline __attribute__((always_inline)) void
rgb512_store(ia_stats *s, const rgb512_acc *a)
{
    uint8_t *st = s->rgb_state;
    for (int c = 0; c < 3; c++) {
        _mm512_storeu_si512(st + 64 * c, a->sum[c]);
        _mm512_storeu_si512(st + 64 * (3 + c), a->sq[c]);
        _mm512_storeu_si512(st + 64 * (6 + c), a->mn[c]);
        _mm512_storeu_si512(st + 64 * (9 + c), a->mx[c]);
    }
    s->rgb_live = 3;
}

IA_AVX512 static void rgb_finish_avx512(ia_stats *s)
{
    rgb512_acc a;
    if (s->rgb_live != 3)
        return;
    rgb512_load(s, &a);
    rgb512_flush(&a, s->chan);
    for (int c = 0; c < 3; c++) {
        __m256i mn = _mm256_min_epu8(_mm512_castsi512_si256(a.mn[c]),
                                     _mm512_extracti64x4_epi64(a.mn[c], 1));
        __m256i mx = _mm256_max_epu8(_mm512_castsi512_si256(a.mx[c]),
                                     _mm512_extracti64x4_epi64(a.mx[c], 1));
        uint8_t lo = hmin_epu8_avx2(mn), hi = hmax_epu8_avx2(mx);
        s->chan[c].min = lo < s->chan[c].min ? lo : s->chan[c].min;
        s->chan[c].max = hi > s->chan[c].max ? hi : s->chan[c].max;
    }
    s->rgb_live = 0;
    s->rgb_blocks = 0;
}

/* Luma and channel statistics of an RGB row of any width, 64 pixels a
 * step, the last partial step masked. */
IA_AVX512 static void rgb_row_avx512(ia_stats *s, const uint8_t *p,
                                     uint8_t *luma)
{
    rgb512_acc a;
    uint32_t blocks = s->rgb_blocks, x = 0, w = s->width;
    rgb512_load(s, &a);
    for (; x < w; x += RGB512_BLOCK) {
        const uint8_t *q = p + (size_t)x * 3;
        if (w - x < RGB512_BLOCK)
            rgb512_tail(q, luma + x, &a, w - x);
        else
            rgb512_step(_mm512_loadu_si512(q), _mm512_loadu_si512(q + 64),
                        _mm512_loadu_si512(q + 128), luma + x, &a,
                        ~(__mmask64)0);
        if (++blocks == RGB_CHUNK) {
            rgb512_flush(&a, s->chan);
            blocks = 0;
        }
    }
    rgb512_store(s, &a);
    s->rgb_blocks = blocks;
}

#endif

IA_CLONES static void channel_row(ia_stats *s, const uint8_t *row)
{
    /* Alpha lanes are summed too (free in the vector loop) and ignored. */
    switch (s->channels) {
    case 1: chan_run(row, s->width, 1, s->chan); break;
    case 2: chan_run(row, s->width, 2, s->chan); break;
    case 3: chan_run(row, s->width, 3, s->chan); break;
    default: chan_run(row, s->width, 4, s->chan); break;
    }
}

/* hist folded into hist_total and cleared. */
static void hist_fold(ia_stats *s)
{
    for (int v = 0; v < 256; v++)
        for (int k = 0; k < HIST_WAYS; k++)
            s->hist_total[v] += s->hist[k][v];
    memset(s->hist, 0, sizeof(s->hist));
    s->hist_pending = 0;
}

/* Eight pixels per step from one load, each into its own table. */
static void hist_row(ia_stats *s, const uint8_t *luma)
{
    _Static_assert(HIST_WAYS == 8, "hist_row is unrolled for 8 ways");
    uint32_t w = s->width, x = 0;
    if (s->hist_pending + w > s->hist_fold_at)
        hist_fold(s);
    s->hist_pending += w;
    for (; x + 8 <= w; x += 8) {
        uint64_t q;
        memcpy(&q, luma + x, 8);   /* byte order: any, all tables sum */
        s->hist[0][q & 255]++;
        s->hist[1][(q >> 8) & 255]++;
        s->hist[2][(q >> 16) & 255]++;
        s->hist[3][(q >> 24) & 255]++;
        s->hist[4][(q >> 32) & 255]++;
        s->hist[5][(q >> 40) & 255]++;
        s->hist[6][(q >> 48) & 255]++;
        s->hist[7][q >> 56]++;
    }
    for (; x < w; x++)
        s->hist[x % HIST_WAYS][luma[x]]++;
}

/* Laplacian responses of row b (between a above and c below), interior
 * columns only. Same lane scheme as chan_run: LAP_LANES accumulators, a
 * fixed inner trip count, a scalar tail. */
IA_CLONES static void laplacian_row(ia_stats *s, const uint8_t *a,
                                    const uint8_t *b, const uint8_t *c)
{
    uint32_t n = s->width - 2;  /* interior columns 1..w-2 */
    const uint8_t *up = a + 1, *down = c + 1, *mid = b + 1;
    const uint8_t *left = b, *right = b + 2;
    uint32_t nblocks = n / LAP_LANES;
    for (uint32_t b0 = 0; b0 < nblocks; b0 += LAP_CHUNK) {
        uint32_t m = nblocks - b0 < LAP_CHUNK ? nblocks - b0 : LAP_CHUNK;
        int32_t sum[LAP_LANES] = {0};
        uint32_t sq[LAP_LANES] = {0};
        for (uint32_t k = b0; k < b0 + m; k++) {
            size_t o = (size_t)k * LAP_LANES;
            IA_IVDEP
            for (uint32_t j = 0; j < LAP_LANES; j++) {
                int32_t r = up[o + j] + down[o + j] + left[o + j] +
                            right[o + j] - 4 * mid[o + j];
                sum[j] += r;
                sq[j] += (uint32_t)(r * r);
            }
        }
        for (uint32_t j = 0; j < LAP_LANES; j++) {
            s->lap_sum += sum[j];
            s->lap_sumsq += sq[j];
        }
    }
    for (uint32_t x = nblocks * LAP_LANES; x < n; x++) {
        int32_t r = up[x] + down[x] + left[x] + right[x] - 4 * mid[x];
        s->lap_sum += r;
        s->lap_sumsq += (uint32_t)(r * r);
    }
    s->lap_n += n;
}

#ifdef STATS_X86
/* Iterations (16 responses each) per chunk of the AVX2 Laplacian: a
 * 32-bit square lane takes two squares per iteration,
 * 2048 * 2 * 1020^2 < 2^32. */
#define LAP_AVX2_CHUNK 2048u

__attribute__((target("avx2"))) static inline __m256i
widen16_avx2(const uint8_t *p)
{
    return _mm256_cvtepu8_epi16(
        _mm_loadu_si128((const __m128i *)(const void *)p));
}

/* laplacian_row with explicit AVX2: 16 responses per iteration in 16-bit
 * lanes (|r| <= 1020), summed and squared with pmaddwd into 32-bit lanes
 * flushed every LAP_AVX2_CHUNK iterations; the same sums exactly. */
__attribute__((target("avx2"))) static void
laplacian_row_avx2(ia_stats *s, const uint8_t *a, const uint8_t *b,
                   const uint8_t *c)
{
    const __m256i ones = _mm256_set1_epi16(1);
    uint32_t n = s->width - 2, nblk = n / 16;
    for (uint32_t b0 = 0; b0 < nblk; b0 += LAP_AVX2_CHUNK) {
        uint32_t m = nblk - b0 < LAP_AVX2_CHUNK ? nblk - b0 : LAP_AVX2_CHUNK;
        __m256i sum = _mm256_setzero_si256(), sq = _mm256_setzero_si256();
        for (uint32_t k = b0; k < b0 + m; k++) {
            size_t o = (size_t)k * 16;
            __m256i r = _mm256_add_epi16(
                _mm256_add_epi16(widen16_avx2(a + 1 + o),
                                 widen16_avx2(c + 1 + o)),
                _mm256_add_epi16(widen16_avx2(b + o), widen16_avx2(b + 2 + o)));
            r = _mm256_sub_epi16(r, _mm256_slli_epi16(widen16_avx2(b + 1 + o),
                                                      2));
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(r, ones));
            sq = _mm256_add_epi32(sq, _mm256_madd_epi16(r, r));
        }
        /* sum lanes are signed, square lanes unsigned: widen accordingly */
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum),
                                   _mm256_extracti128_si256(sum, 1));
        int32_t sl[4];
        _mm_storeu_si128((__m128i *)(void *)sl, s4);
        s->lap_sum += (int64_t)sl[0] + sl[1] + sl[2] + sl[3];
        s->lap_sumsq += hsum_epi32_avx2(sq);
    }
    for (uint32_t x = nblk * 16; x < n; x++) {
        int32_t r = a[x + 1] + c[x + 1] + b[x] + b[x + 2] - 4 * b[x + 1];
        s->lap_sum += r;
        s->lap_sumsq += (uint32_t)(r * r);
    }
    s->lap_n += n;
}

/* 32-bit square lanes of the Laplacian take two squares an iteration
 * here too (vpdpwssd adds a pair), so LAP_AVX2_CHUNK iterations are safe;
 * the sum lanes (|sum| <= 2 * 1020 * 2048 each) fit an int32 even added
 * across all 16. */
IA_AVX512 static inline __m512i widen32_avx512(const uint8_t *p, __mmask32 m)
{
    return _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(m, p));
}

/* laplacian_row_avx2 with 32 responses a step; the last partial step
 * loads its pixels under a mask, and the lanes past the row read zeros
 * everywhere, so their response is 0 and adds nothing. */
IA_AVX512 static void laplacian_row_avx512(ia_stats *s, const uint8_t *a,
                                           const uint8_t *b, const uint8_t *c)
{
    const __m512i ones = _mm512_set1_epi16(1);
    const uint32_t chunk = 32 * LAP_AVX2_CHUNK;   /* responses */
    uint32_t n = s->width - 2;
    for (uint32_t x0 = 0; x0 < n; x0 += chunk) {
        uint32_t end = n - x0 < chunk ? n : x0 + chunk;
        __m512i sum = _mm512_setzero_si512(), sq = _mm512_setzero_si512();
        for (uint32_t o = x0; o < end; o += 32) {
            __mmask32 m = end - o >= 32 ? ~(__mmask32)0
                                        : ((__mmask32)1 << (end - o)) - 1;
            __m512i r = _mm512_add_epi16(
                _mm512_add_epi16(widen32_avx512(a + 1 + o, m),
                                 widen32_avx512(c + 1 + o, m)),
                _mm512_add_epi16(widen32_avx512(b + o, m),
                                 widen32_avx512(b + 2 + o, m)));
            r = _mm512_sub_epi16(
                r, _mm512_slli_epi16(widen32_avx512(b + 1 + o, m), 2));
            sum = _mm512_dpwssd_epi32(sum, r, ones);
            sq = _mm512_dpwssd_epi32(sq, r, r);
        }
        s->lap_sum += _mm512_reduce_add_epi32(sum);
        s->lap_sumsq += (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(
            _mm512_cvtepu32_epi64(_mm512_castsi512_si256(sq)),
            _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(sq, 1))));
    }
    s->lap_n += n;
}
#endif

/* Whether the Laplacian keeps luma rows (it has an interior). */
static int keeps_rows(const ia_stats *s)
{
    return s->width >= 3 && s->height >= 3;
}

/* A row of the ring that line[1] and line[2] (the rows the next one is
 * compared with) do not point at: of three, one is always free. */
static uint8_t *ring_free(const ia_stats *s)
{
    uint8_t *r = s->ring;
    for (int i = 0; i < 2; i++, r += s->width)
        if (r != s->line[1] && r != s->line[2])
            break;
    return r;
}

/* luma becomes the newest row; held: the caller keeps it unchanged for
 * two more rows (else it is copied into the ring, unless it is in the
 * ring's free row already, as ia_stats_row_kept writes it). */
static void ring_push(ia_stats *s, const uint8_t *luma, int held)
{
    if (!held) {
        uint8_t *r = ring_free(s);
        if (luma != r)
            memcpy(r, luma, s->width);
        luma = r;
    }
    s->line[0] = s->line[1];
    s->line[1] = s->line[2];
    s->line[2] = luma;
    if (s->rows < 2)
        return;
#ifdef STATS_AVX512
    if (s->level == 3) {
        laplacian_row_avx512(s, s->line[0], s->line[1], s->line[2]);
        return;
    }
#endif
#ifdef STATS_X86
    if (s->level == 2) {
        laplacian_row_avx2(s, s->line[0], s->line[1], s->line[2]);
        return;
    }
#endif
    laplacian_row(s, s->line[0], s->line[1], s->line[2]);
}

/* ---- the row kernels ---------------------------------------------------- */

static void kernel_portable(ia_stats *s, const uint8_t *row, uint8_t *luma)
{
    channel_row(s, row);
    ia_luma_row(row, s->width, s->channels, luma);
}

#ifdef STATS_X86
/* RGB rows of 32 pixels or more through the AVX2 kernel; other layouts
 * are cheap already (gray: luma is a copy). */
static void kernel_avx2(ia_stats *s, const uint8_t *row, uint8_t *luma)
{
    if (s->channels == 3 && s->width >= RGB_BLOCK)
        rgb_row_avx2(s, row, luma);
    else
        kernel_portable(s, row, luma);
}
#endif

#ifdef STATS_AVX512
/* RGB rows of any width through the AVX-512 kernel. */
static void kernel_avx512(ia_stats *s, const uint8_t *row, uint8_t *luma)
{
    if (s->channels == 3)
        rgb_row_avx512(s, row, luma);
    else
        kernel_portable(s, row, luma);
}
#endif

/* The carried state of whichever SIMD kernel wrote it, into s->chan. */
static void rgb_finish(ia_stats *s)
{
#ifdef STATS_AVX512
    rgb_finish_avx512(s);
#endif
#ifdef STATS_X86
    rgb_finish_avx2(s);
#endif
    (void)s;
}

void ia_stats_hist_fold(ia_stats *s, uint64_t n)
{
    s->hist_fold_at = n ? n : 1;
}

int ia_stats_kernel(ia_stats *s, int level)
{
    switch (level) {
    case 0:
        s->kernel = kernel_portable;
        break;
#ifdef STATS_X86
    case 2:
        if (!__builtin_cpu_supports("avx2"))
            return -1;
        s->kernel = kernel_avx2;
        break;
#endif
#ifdef STATS_AVX512
    case 3:
        /* libgcc sets these only when the OS saves the zmm state too */
        if (!__builtin_cpu_supports("avx512bw") ||
            !__builtin_cpu_supports("avx512vl") ||
            !__builtin_cpu_supports("avx512vbmi") ||
            !__builtin_cpu_supports("avx512vnni"))
            return -1;
        s->kernel = kernel_avx512;
        break;
#endif
    default:
        return -1;
    }
    s->level = level;
    return 0;
}

/* What follows the kernel: histogram and Laplacian over the luma row
 * (held: as in ring_push). */
static void luma_row(ia_stats *s, const uint8_t *luma, int held)
{
    hist_row(s, luma);
    if (keeps_rows(s))
        ring_push(s, luma, held);
    s->rows++;
}

void ia_stats_row(ia_stats *s, const uint8_t *row, const uint8_t *luma)
{
    /* Rows past the announced height (a misbehaving caller) are ignored
     * rather than overrunning the accounting. */
    if (!s->ready || s->rows >= s->height)
        return;
    /* The same kernel as the fused path, so tests of this entry point
     * check it; the luma it makes is not used here. */
    s->kernel(s, row, s->scratch);
    luma_row(s, luma, 0);
}

void ia_stats_row_fused(ia_stats *s, const uint8_t *row, uint8_t *luma)
{
    if (!s->ready || s->rows >= s->height)
        return;
    s->kernel(s, row, luma);
    luma_row(s, luma, 0);
}

const uint8_t *ia_stats_row_kept(ia_stats *s, const uint8_t *row,
                                 uint8_t *scratch)
{
    if (!s->ready || s->rows >= s->height)
        return scratch;
    uint8_t *luma = keeps_rows(s) ? ring_free(s) : scratch;
    s->kernel(s, row, luma);
    luma_row(s, luma, 0);
    return luma;
}

void ia_stats_row_held(ia_stats *s, const uint8_t *row, uint8_t *luma)
{
    if (!s->ready || s->rows >= s->height)
        return;
    s->kernel(s, row, luma);
    luma_row(s, luma, 1);
}

/* Population variance from exact sums: (n*Q - S^2) / n^2. The numerator
 * is formed in 128 bits so it is exact (and never negative) before the one
 * rounding to double. */
static double exact_variance(uint64_t n, int64_t sum, uint64_t sumsq)
{
    __extension__ typedef unsigned __int128 u128;
    if (n == 0)
        return 0.0;
    uint64_t mag = sum < 0 ? (uint64_t)0 - (uint64_t)sum : (uint64_t)sum;
    u128 num = (u128)n * sumsq - (u128)mag * mag;
    double dn = (double)n;
    return (double)num / (dn * dn);
}

static void luma_stats(const ia_stats *s, uint64_t n, ia_pixel_stats *o)
{
    uint64_t hist[256], sum = 0, sumsq = 0;
    for (int v = 0; v < 256; v++) {
        hist[v] = s->hist_total[v];
        for (int k = 0; k < HIST_WAYS; k++)
            hist[v] += s->hist[k][v];
        sum += hist[v] * (uint64_t)v;
        sumsq += hist[v] * (uint64_t)(v * v);
    }
    double dn = (double)n;
    double h = 0.0;
    for (int v = 0; v < 256; v++) {
        if (hist[v] == 0)
            continue;
        double p = (double)hist[v] / dn;
        h -= p * log2(p);
    }
    o->brightness = (double)sum / dn;
    o->contrast = sqrt(exact_variance(n, (int64_t)sum, sumsq));
    o->entropy = h > 0.0 ? h : 0.0;
    o->frac_black = (double)hist[0] / dn;
    o->frac_white = (double)hist[255] / dn;
}

void ia_stats_end(ia_stats *s, ia_pixel_stats *out)
{
    ia_pixel_stats o;
    memset(&o, 0, sizeof(o));
    int has_alpha = s->ready && (s->channels == 2 || s->channels == 4);
    o.alpha_used = has_alpha ? 0 : -1;
    /* Pixels actually fed: equals width * height after a complete decode. */
    uint64_t n = s->ready ? (uint64_t)s->width * s->rows : 0;
    if (n == 0)
        goto out;
    o.pixels = n;
    rgb_finish(s);
    int gray = s->channels <= 2;
    for (int c = 0; c < 3; c++) {
        /* convert("RGB") copies gray into all three channels */
        const chan_acc *a = &s->chan[gray ? 0 : c];
        o.sum[c] = a->sum;
        o.sumsq[c] = a->sumsq;
        o.min[c] = a->min;
        o.max[c] = a->max;
    }
    o.constant = 1;
    for (int c = 0; c < 3; c++)
        o.constant &= o.min[c] == o.max[c];
    if (has_alpha) {
        const chan_acc *alpha = &s->chan[s->channels - 1];
        o.constant &= alpha->min == alpha->max;
        o.alpha_used = alpha->min < 255;
    }
    luma_stats(s, n, &o);
    o.sharpness = exact_variance(s->lap_n, s->lap_sum, s->lap_sumsq);
out:
    *out = o;
}
