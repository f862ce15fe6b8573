/*
 * Content hashes of one image, fed row by row as the decoder emits them.
 *
 * pixel_hash: XXH3-128 over a 24-byte header ("IAPX", then version,
 * width, height, channels, bit depth as little-endian uint32) and every
 * row's width*channels bytes; the streaming state lives in the hasher.
 *
 * phash and dhash reproduce imagehash 4.3 on Pillow 9.4 bit for bit:
 * luma (Pillow's L, given by the caller) is resized with LANCZOS to 32x32
 * and 9x8 exactly as libImaging/Resample.c does for 8-bit images
 * (precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc
 * then ImagingResampleVertical_8bpc, both in fixed point with
 * PRECISION_BITS = 22). The horizontal pass runs on each row as it
 * arrives (its output is clipped to 8 bits, as Pillow stores it in an
 * intermediate image). The vertical pass is the same fixed-point sums
 * down each column of that intermediate image, with the coefficients
 * Pillow computes for the same sizes on either axis: with a SIMD kernel,
 * images up to COLS_MAX_ROWS tall keep the intermediate image by columns
 * (out_w * height bytes) and run the horizontal kernel down each column
 * at the end; otherwise each row adds its contribution to the output
 * rows whose window covers it, as its sums are integer sums whose order
 * does not matter. Either way the result equals Pillow's.
 * Sums are kept modulo 2^32 (unsigned, no overflow UB): Pillow's own sums
 * fit an int, so the residue identifies them.
 *
 * Cost: the horizontal pass is about 12 multiply-adds per pixel, the bulk
 * of the work, so it has SSE2 and AVX2 kernels (pmaddwd on coefficients
 * split into two 16-bit halves, windows zero-padded to 16 taps) chosen
 * once per hasher; the scalar kernel is the reference, and a test runs
 * every kernel against a whole-image oracle. The AVX2 kernel reads rows
 * widened to 16 bits once per row and, when both resizes keep columns,
 * takes rows two at a time (an even row waits for the next), so each
 * coefficient load serves two rows; the columns at the end go in pairs
 * too. The AVX2 kernel reduces
 * eight outputs at once and clips them on the vector; the vertical pass
 * by columns runs the same kernel (the streamed one, for the scalar
 * kernel and tall images, is built for AVX2 and the baseline with
 * target_clones: its 32-bit multiplies bound it); XXH3 runs through
 * libxxhash's run-time dispatch. Per image, the DCT runs its sums in the
 * same order as the plain loops (so the same doubles) and the median is
 * found by selection, not a sort. A row kernel at AVX-512 width and a
 * VNNI one (vpdpbusd on coefficients split into three signed bytes, 32
 * taps a step) were measured and gained nothing over AVX2: a row
 * kernel's time goes to reducing each output's lanes as much as to its
 * multiplies (docs/performance.md). Where the CPU has AVX-512 with VNNI
 * and VBMI2, the horizontal pass of both resizes instead takes sixteen
 * rows at once with a row in each lane, two such blocks a run (block_run,
 * kernel level 5), which needs no reduction and writes the kept columns
 * directly.
 *
 * Coefficient tables are built once per (axis, input size, output size)
 * and kept in a cache that holds every size a dataset has, up to
 * TABLE_BUDGET bytes (least recently used tables go first past it): a
 * hasher's own, or one the workers of a scan share (ia_hash_tables), so
 * a table is built once per scan and the cache's memory does not grow
 * with the number of threads. Building one costs two sin() per tap,
 * about 12 per input pixel of the side, which for a small image is
 * several times its decode, so a dataset of many distinct sizes must not
 * rebuild them per image. A table is built in scratch buffers, then
 * frozen into one allocation of exactly what its kernel reads (the SIMD
 * layout or Pillow's plain coefficients), so the cache holds every side
 * up to about 540 pixels.
 * Horizontal tables are about 6 * width coefficients per output size;
 * vertical ones (about 6 * height) are tabulated up to VTAB_MAX_TAPS and,
 * for taller images, recomputed per row from each window's center and
 * weight sum by the same double-precision expression Pillow uses, hence
 * the same value.
 */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>
#if defined(__x86_64__) && defined(__GNUC__)
/* libxxhash's entry points that pick SSE2, AVX2 or AVX-512 at run time
 * (the plain ones are built for the baseline); XXH3 is defined by its
 * specification, so the digest is the same whichever runs. */
#include <xxh_x86dispatch.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define HASH_X86 1
#endif

#include "measure/hash.h"
#include "imgaudit.h"
#include "core/core.h"

/* Pillow Resample.c: 8 bits of result, 2 for overflow, in an int. */
#define PRECISION_BITS (32 - 8 - 2)
#define HALF (1u << (PRECISION_BITS - 1))
#define LANCZOS_SUPPORT 3.0
/* The SIMD kernels split each coefficient k = kh * 2^11 + kl so both
 * halves fit the 16-bit multiplies of pmaddwd. */
#define SPLIT_BITS 11
/* SIMD windows are widened with zero coefficients to a multiple of this
 * many taps, so the kernels need no scalar tail: 16 for the pmaddwd
 * kernels, 32 for the vpdpbusd one (LAYOUT_BYTES). */
#define SIMD_TAPS 16
#define BYTE_TAPS 32

/* How a hasher's horizontal tables are laid out for its kernel. */
enum {
    LAYOUT_PLAIN = 0,   /* Pillow's int32 coefficients (scalar kernel) */
    LAYOUT_SPLIT = 1,   /* kh, kl: int16 halves (SSE2, AVX2) */
    LAYOUT_BYTES = 2    /* kb: three signed base-256 digits (VNNI) */
};

#define RS_MAX 32         /* largest output side: phash's 32x32 */
#define PHASH_SIZE 32     /* imagehash: hash_size 8 * highfreq_factor 4 */
#define HASH_SIDE 8
#define DHASH_W 9
#define DHASH_H 8
#define PIXEL_HASH_VERSION 1u
#define HEADER_BYTES 24
/* The bytes of coefficient tables a cache keeps (one for all the workers
 * of a scan): every width and height from 1 to about 540 pixels fit
 * together, for both hashes and both axes. */
#define TABLE_BUDGET ((size_t)16 << 20)
#define CACHE_BUCKETS 1024     /* power of two */
/* Vertical coefficients are tabulated up to this many (1 MB); taller
 * images recompute each when its row arrives, so memory stays bounded by
 * the width whatever the height. */
#define VTAB_MAX_TAPS ((size_t)1 << 18)
/* Images up to this many rows tall keep each horizontal output column
 * (out_w * height bytes: 320 KB for both hashes at the limit) so the
 * vertical pass runs as the horizontal kernel over columns; taller ones
 * add each row into the sums as it arrives. */
#define COLS_MAX_ROWS 8192u
#define COL_STAGE 16u
/* Rows per block of the level-5 kernel (block_run): one per 32-bit lane
 * of a 512-bit vector. The kernel runs on two blocks at once
 * (BLOCK_GATHER rows), so that each coefficient it loads serves both.
 * Its buffers take 160 bytes per pixel of width (blk 32, the pairs 128),
 * so rows wider than BLOCK_MAX_WIDTH (1.3 MB) take the row kernel
 * instead: a narrow file of very wide rows must not cost much memory. */
#define BLOCK_ROWS 16u
#define BLOCK_GATHER (2 * BLOCK_ROWS)
#define BLOCK_MAX_WIDTH 8192u

/* One output sample of Pillow's precompute_coeffs along one axis. */
typedef struct rs_window {
    double center;
    double ww;        /* sum of the raw filter taps (the normalizer) */
    int64_t xmin;     /* first input index */
    int64_t n;        /* number of taps (Pillow's xmax after xmax -= xmin) */
} rs_window;

/* One axis of the resize for one input size, cached: the windows and
 * Pillow's fixed-point coefficients (out * ksize, unless recompute), or
 * for the horizontal SIMD kernels (simd_ok) only their split halves
 * (out * kstride) over windows widened to [sx, sx + steps * taps). The
 * arrays live
 * in the same allocation as the struct. */
typedef struct rs_table rs_table;
struct rs_table {
    rs_table *chain;        /* next in its cache bucket */
    rs_table *newer, *older;  /* the cache's recency list */
    unsigned pins;          /* hashers hashing an image with it: kept */
    size_t bytes;           /* of the allocation */
    uint32_t in_size, out_size;
    int horizontal;
    int for_layout;         /* the layout of the hashers that asked for it */
    double scale, support;
    double ss;              /* 1 / filterscale */
    size_t ksize;           /* Pillow's ksize: ceil(support) * 2 + 1 */
    rs_window *win;         /* out_size; NULL when simd_ok */
    int32_t *k;             /* NULL when simd_ok or recompute */
    int recompute;          /* too many to tabulate: see coeff_at */
    int simd_ok;
    int layout;             /* LAYOUT_SPLIT or LAYOUT_BYTES, when simd_ok */
    int16_t *kh, *kl;       /* out_size * kstride, LAYOUT_SPLIT */
    int8_t *kb;             /* out_size * 3 * kstride, LAYOUT_BYTES: the
                             * digits d0, d1, d2 of each output in turn */
    size_t kstride;
    uint32_t *sx;           /* out_size, when simd_ok */
    uint32_t steps;         /* kernel steps per window, when simd_ok */
};

/* Tables by (input size, output size, axis, layout), with the most
 * recently used first in a list. */
typedef struct rs_cache {
    rs_table *bucket[CACHE_BUCKETS];
    rs_table *newest, *oldest;
    size_t bytes;
} rs_cache;

/* A cache and the lock its hashers hold while they look up an image's
 * tables (once per image; tables are built outside it). */
struct ia_hash_tables {
    pthread_mutex_t lock;
    rs_cache cache;
};

/* Tables one image's two resizes hold at most: per resize, the
 * horizontal one and the vertical one, which may be asked for in the
 * column layout first and then, when that does not fit, as rows. */
#define PINS_MAX 6

/* Where tables are built before they are frozen into the cache: grown
 * to the largest table built, reused. */
typedef struct rs_scratch {
    double *taps;           /* raw taps of one window (ksize doubles) */
    size_t taps_cap;
    int32_t *k;
    size_t k_cap;
    int16_t *kh, *kl;
    size_t kh_cap, kl_cap;
    int8_t *kb;
    size_t kb_cap;
} rs_scratch;

/* A Lanczos resize of a streamed 8-bit plane to out_w x out_h. The
 * vertical pass either keeps the horizontal pass's output by columns
 * (cols: col holds out_w columns of in_h bytes) and runs the horizontal
 * kernel down each column at the end, or adds each row into acc. */
typedef struct resampler {
    uint32_t out_w, out_h;
    uint32_t in_h;
    int need_h, need_v;     /* ImagingResampleInner skips unchanged axes */
    int cols;
    const rs_table *tx, *ty;  /* this image's; ty in the kernel's layout
                               * when cols */
    uint8_t *col;
    size_t col_cap;
    uint8_t stage[COL_STAGE][RS_MAX];   /* rows not yet in col */
    uint32_t staged_y0;
    uint32_t first;         /* first output row whose window is not past */
    uint8_t hrow[RS_MAX];   /* horizontal pass output of the current row */
    uint32_t acc[RS_MAX * RS_MAX];   /* vertical sums, modulo 2^32 */
    uint8_t pix[RS_MAX * RS_MAX];
} resampler;

/* A horizontal kernel: luma is the row (or column) of bytes, wide the
 * same widened to 16 bits when the hasher's kernel takes it (wide_in),
 * else NULL. */
typedef void (*hrow_fn)(const rs_table *t, const uint8_t *luma,
                        const int16_t *wide, uint8_t *out);
/* The same for two widened rows (or columns) at once. */
typedef void (*hrow2_fn)(const rs_table *t, const int16_t *a,
                         const int16_t *b, uint8_t *oa, uint8_t *ob);

/* Rows shorter than XXH_DIRECT bytes are gathered XXH_STAGE at a time
 * before XXH3 sees them: fed row by row, XXH3's streaming state copies
 * each short row into its own 256-byte buffer, and on small images that
 * bookkeeping cost more than the hashing. Longer rows go straight
 * through: XXH3 copies at most the last 255 bytes of each, where
 * gathering would copy all of it. */
#define XXH_STAGE 8192u
#define XXH_DIRECT 512u

struct ia_hasher {
    XXH3_state_t *xxh;
    size_t xstaged;         /* bytes in xstage */
    uint8_t xstage[XXH_STAGE];
    uint32_t width, height;
    uint32_t y;             /* rows received */
    size_t row_bytes;
    int active;             /* between a successful begin and end */
    hrow_fn hrow;           /* horizontal kernel for this CPU */
    int wide_in;            /* hrow reads the row widened to 16 bits */
    hrow2_fn hrow2;         /* its two-row form, when wide_in */
    int16_t *wide;          /* that row (or column), widened once */
    size_t wide_cap;
    /* pairs: rows go to both resizes two at a time through hrow2 (see
     * ia_hasher_row); an even row waits, widened, in pend_wide. */
    int pairs;
    int16_t *pend_wide;
    size_t pend_wide_cap;
    int pending;
    /* blocks (kernel level 5, see block_run): rows go to both resizes
     * thirty-two at a time, kept as bytes in blk (BLOCK_GATHER rows of
     * blk_stride); tr holds them transposed, a block's pairs after the
     * other's. */
    int block_ok;           /* the kernel can */
    int block;              /* this image does */
    uint8_t *blk;
    size_t blk_cap;
    uint32_t blk_stride;
    uint8_t *tr;            /* not aligned; block_run aligns it */
    size_t tr_cap;
    int layout;             /* of the horizontal tables hrow reads */
    resampler ph;           /* 32x32 for phash */
    resampler dh;           /* 9x8 for dhash */
    ia_hash_tables *tables;    /* its own, or shared (ia_hasher_share) */
    int own_tables;
    rs_table *pinned[PINS_MAX];  /* the current image's tables */
    unsigned npinned;
    rs_scratch scratch;
    double dct_cos[HASH_SIDE][PHASH_SIZE]; /* cos(pi k (2n+1) / 2N) */
    double dct_cos_t[PHASH_SIZE][HASH_SIDE];  /* the same, transposed */
};

/* Pillow Resample.c sinc_filter and lanczos_filter (support 3). */
static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double lanczos(double x)
{
    if (-3.0 <= x && x < 3.0)
        return sinc(x) * sinc(x / 3);
    return 0.0;
}

/* Raw filter tap of input index x for a window, as precompute_coeffs
 * evaluates it: filter((x + xmin - center + 0.5) * ss). */
static double raw_tap(const rs_window *w, double ss, int64_t x)
{
    return lanczos(((double)x - w->center + 0.5) * ss);
}

/* precompute_coeffs' normalization (k /= ww when ww != 0), then
 * normalize_coeffs_8bpc's rounding to fixed point. */
static int32_t fixed_coeff(double k, double ww)
{
    if (ww != 0.0)
        k /= ww;
    if (k < 0)
        return (int32_t)(-0.5 + k * (1 << PRECISION_BITS));
    return (int32_t)(0.5 + k * (1 << PRECISION_BITS));
}

/* Pillow's clip8 (in >> PRECISION_BITS clamped to 0..255) of an int sum
 * kept modulo 2^32: Pillow's sums fit an int, so the residue names it. */
static uint8_t clip8_u32(uint32_t u)
{
    if (u >= 0x80000000u)
        return 0;
    u >>= PRECISION_BITS;
    return u > 255 ? 255 : (uint8_t)u;
}

/* Grows the array whose pointer is at pp (any object pointer type, moved
 * with memcpy so no type is aliased) to hold need elements of elem bytes,
 * geometrically. On failure the array is unchanged. */
static int grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 64, bytes;
    void *p, *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (ia_mul_size(n, elem, &bytes) != 0)
        return IA_ERR_NOMEM;
    memcpy(&p, pp, sizeof p);
    q = realloc(p, bytes);
    if (!q)
        return IA_ERR_NOMEM;
    memcpy(pp, &q, sizeof q);
    *cap = n;
    return 0;
}

/* The scalar constants of Pillow's precompute_coeffs for box
 * (0, in_size): the box reaches Pillow as floats, hence the float
 * conversion of in_size. */
static void table_params(rs_table *t, uint32_t in_size, uint32_t out_size)
{
    double filterscale;

    t->in_size = in_size;
    t->out_size = out_size;
    t->scale = (double)(float)in_size / out_size;
    filterscale = t->scale < 1.0 ? 1.0 : t->scale;
    t->support = LANCZOS_SUPPORT * filterscale;
    t->ss = 1.0 / filterscale;
    t->ksize = (size_t)ceil(t->support) * 2 + 1;
}

/* The rest of precompute_coeffs: each output's window and weight sum,
 * and unless t->recompute normalize_coeffs_8bpc's fixed-point
 * coefficients (tmp holds ksize doubles). Window bounds are clamped
 * before conversion to integers, which equals Pillow's truncate-then-clamp
 * and cannot overflow. */
static void table_windows(rs_table *t, double *tmp)
{
    for (uint32_t xx = 0; xx < t->out_size; xx++) {
        rs_window *w = &t->win[xx];
        double lo, hi;
        w->center = (xx + 0.5) * t->scale;
        lo = w->center - t->support + 0.5;
        hi = w->center + t->support + 0.5;
        w->xmin = lo <= 0.0 ? 0 : (int64_t)lo;
        w->n = (hi >= (double)t->in_size ? (int64_t)t->in_size
                                         : (int64_t)hi) - w->xmin;
        w->ww = 0.0;
        for (int64_t x = 0; x < w->n; x++) {
            double v = raw_tap(w, t->ss, w->xmin + x);
            if (!t->recompute)
                tmp[x] = v;
            w->ww += v;
        }
        if (t->recompute)
            continue;
        for (int64_t x = 0; x < w->n; x++)
            t->k[xx * t->ksize + (size_t)x] = fixed_coeff(tmp[x], w->ww);
    }
}

/* The coefficient of input index x in output xx's window. */
static int32_t coeff_at(const rs_table *t, uint32_t xx, int64_t x)
{
    const rs_window *w = &t->win[xx];
    if (!t->recompute)
        return t->k[xx * t->ksize + (size_t)(x - w->xmin)];
    return fixed_coeff(raw_tap(w, t->ss, x), w->ww);
}

/* k = kh * 2^11 + kl with 0 <= kl < 2^11; 0 when kh overflows int16. */
static int split_coeff(int32_t k, int16_t *kh, int16_t *kl)
{
    int32_t lo = (int32_t)((uint32_t)k & ((1u << SPLIT_BITS) - 1));
    int32_t hi = (k - lo) / (1 << SPLIT_BITS);

    *kl = (int16_t)lo;
    if (hi < INT16_MIN || hi > INT16_MAX)
        return 0;
    *kh = (int16_t)hi;
    return 1;
}

/* k = d2 * 2^16 + d1 * 2^8 + d0 with each digit in -128..127 (balanced
 * base 256, for vpdpbusd's signed bytes); 0 when d2 overflows. Pillow's
 * coefficients are below 2^22 in magnitude, so they always split. */
static int split_bytes(int32_t k, int8_t *d0, int8_t *d1, int8_t *d2)
{
    int32_t lo = (int32_t)(((uint32_t)k + 128u) & 255u) - 128;
    int32_t r = (k - lo) / 256;
    int32_t mid = (int32_t)(((uint32_t)r + 128u) & 255u) - 128;
    int32_t hi = (r - mid) / 256;

    if (hi < -128 || hi > 127)
        return 0;
    *d0 = (int8_t)lo;
    *d1 = (int8_t)mid;
    *d2 = (int8_t)hi;
    return 1;
}

/* Output xx's coefficients in its kernel's layout: the widened window
 * zeroed, the window's taps from off on (off: how far it was widened
 * leftwards). 0 when a coefficient does not split. */
static int simd_coeffs(rs_table *t, uint32_t xx, int64_t off)
{
    const int32_t *k = t->k + xx * t->ksize;
    int64_t n = t->win[xx].n;

    if (t->layout == LAYOUT_BYTES) {
        int8_t *d = t->kb + xx * 3 * t->kstride + off;
        memset(d - off, 0, 3 * t->kstride);
        for (int64_t x = 0; x < n; x++)
            if (!split_bytes(k[x], &d[x], &d[x + (int64_t)t->kstride],
                             &d[x + 2 * (int64_t)t->kstride]))
                return 0;
        return 1;
    }
    int16_t *kh = t->kh + xx * t->kstride + off;
    int16_t *kl = t->kl + xx * t->kstride + off;
    memset(kh - off, 0, t->kstride * sizeof *kh);
    memset(kl - off, 0, t->kstride * sizeof *kl);
    for (int64_t x = 0; x < n; x++)
        if (!split_coeff(k[x], &kh[x], &kl[x]))
            return 0;
    return 1;
}

/* The SIMD layout: each window widened with zero coefficients to a
 * multiple of the kernel's taps per step, rightwards while it stays in
 * the row, then leftwards; the sum is unchanged. 0 when a row is too
 * narrow for that or a coefficient does not split (the scalar kernel then
 * runs). */
static int simd_layout(rs_table *t)
{
    int64_t taps = t->layout == LAYOUT_BYTES ? BYTE_TAPS : SIMD_TAPS;
    int64_t nmax = 0;

    /* Every window widened to the same count (the widest one's): windows
     * differ by a tap, so on small images the loop count changed from
     * one output to the next (16 or 32 taps) and was mispredicted; one
     * count for all (and kernels specialized on it) cut the hashes of
     * 64-96 px tiles from 28.6 to 23.9 us an image, for a few more
     * multiplies by zero. */
    for (uint32_t xx = 0; xx < t->out_size; xx++)
        nmax = t->win[xx].n > nmax ? t->win[xx].n : nmax;
    int64_t np = (nmax + taps - 1) / taps * taps;
    if (np > (int64_t)t->in_size)
        return 0;
    t->steps = (uint32_t)(np / taps);
    for (uint32_t xx = 0; xx < t->out_size; xx++) {
        const rs_window *w = &t->win[xx];
        t->sx[xx] = w->xmin + np <= (int64_t)t->in_size
                        ? (uint32_t)w->xmin
                        : t->in_size - (uint32_t)np;
        if (!simd_coeffs(t, xx, w->xmin - t->sx[xx]))
            return 0;
    }
    return 1;
}

/* a + b into *out, or IA_ERR_NOMEM when it overflows. */
static int add_size(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return IA_ERR_NOMEM;
    *out = a + b;
    return 0;
}

/* The coefficient rows the SIMD kernels load start on cache lines (the
 * table is allocated so aligned, and the row stride is a multiple of 32
 * bytes): a 32-byte load that straddles two lines costs twice. */
#define TABLE_ALIGN 64u

/* Reserves n elements of elem bytes at *off in a block being laid out;
 * arrays are laid out from the widest element type down, so each stays
 * aligned; with line, from the next multiple of TABLE_ALIGN. */
static int reserve(size_t *off, size_t n, size_t elem, size_t *at, int line)
{
    size_t bytes;
    if (line && add_size(*off, TABLE_ALIGN - 1, off) != 0)
        return IA_ERR_NOMEM;
    if (line)
        *off -= *off % TABLE_ALIGN;
    *at = *off;
    if (ia_mul_size(n, elem, &bytes) != 0)
        return IA_ERR_NOMEM;
    return add_size(*off, bytes, off);
}

/* The built table b (in scratch) frozen into one allocation holding the
 * struct and the arrays its kernel reads. */
static int table_freeze(const rs_table *b, rs_table **out)
{
    size_t off = sizeof *b, at_win = 0, at_sx = 0, at_k = 0;
    size_t at_kh = 0, at_kl = 0, at_kb = 0, kn = 0;
    int rc = 0;
    rs_table *t;

    if (b->simd_ok) {
        rc = ia_mul_size(b->out_size, b->kstride, &kn);
        if (rc == 0)
            rc = reserve(&off, b->out_size, sizeof *b->sx, &at_sx, 0);
        if (rc == 0 && b->layout == LAYOUT_SPLIT)
            rc = reserve(&off, kn, sizeof *b->kh, &at_kh, 1);
        if (rc == 0 && b->layout == LAYOUT_SPLIT)
            rc = reserve(&off, kn, sizeof *b->kl, &at_kl, 1);
        if (rc == 0 && b->layout == LAYOUT_BYTES)
            rc = reserve(&off, kn * 3, sizeof *b->kb, &at_kb, 1);
    } else {
        kn = b->recompute ? 0 : b->out_size * b->ksize;
        rc = reserve(&off, b->out_size, sizeof *b->win, &at_win, 0);
        if (rc == 0)
            rc = reserve(&off, kn, sizeof *b->k, &at_k, 0);
    }
    if (rc == 0 && add_size(off, TABLE_ALIGN - 1, &off) != 0)
        rc = IA_ERR_NOMEM;
    off -= off % TABLE_ALIGN;   /* aligned_alloc takes whole multiples */
    if (rc != 0 || !(t = aligned_alloc(TABLE_ALIGN, off)))
        return IA_ERR_NOMEM;
    *t = *b;
    t->bytes = off;
    t->win = b->simd_ok ? NULL : (rs_window *)(void *)((char *)t + at_win);
    t->k = b->simd_ok || b->recompute ? NULL
                                      : (int32_t *)(void *)((char *)t + at_k);
    t->sx = b->simd_ok ? (uint32_t *)(void *)((char *)t + at_sx) : NULL;
    t->kh = t->kl = NULL;
    t->kb = NULL;
    if (b->simd_ok && b->layout == LAYOUT_SPLIT) {
        t->kh = (int16_t *)(void *)((char *)t + at_kh);
        t->kl = (int16_t *)(void *)((char *)t + at_kl);
    } else if (b->simd_ok) {
        t->kb = (int8_t *)(void *)((char *)t + at_kb);
    }
    if (t->win)
        memcpy(t->win, b->win, b->out_size * sizeof *b->win);
    if (t->k)
        memcpy(t->k, b->k, kn * sizeof *b->k);
    if (t->sx)
        memcpy(t->sx, b->sx, b->out_size * sizeof *b->sx);
    if (t->kh) {
        memcpy(t->kh, b->kh, kn * sizeof *b->kh);
        memcpy(t->kl, b->kl, kn * sizeof *b->kl);
    }
    if (t->kb)
        memcpy(t->kb, b->kb, kn * 3 * sizeof *b->kb);
    *out = t;
    return 0;
}

/* The SIMD layout of b into scratch, when the hasher's kernel is SIMD;
 * b->simd_ok says whether it fits. */
static int table_simd(ia_hasher *h, rs_table *b, uint32_t *sx)
{
    rs_scratch *s = &h->scratch;
    size_t need;
    int rc;

    size_t taps = h->layout == LAYOUT_BYTES ? BYTE_TAPS : SIMD_TAPS;

    b->layout = h->layout;
    b->kstride = (b->ksize + taps - 1) / taps * taps;
    if (ia_mul_size(b->out_size, b->kstride, &need) != 0)
        return IA_ERR_NOMEM;
    if (b->layout == LAYOUT_BYTES) {
        rc = ia_mul_size(need, 3, &need) != 0
                 ? IA_ERR_NOMEM
                 : grow(&s->kb, &s->kb_cap, need, sizeof *s->kb);
    } else {
        rc = grow(&s->kh, &s->kh_cap, need, sizeof *s->kh);
        if (rc == 0)
            rc = grow(&s->kl, &s->kl_cap, need, sizeof *s->kl);
    }
    if (rc != 0)
        return rc;
    b->kh = s->kh;
    b->kl = s->kl;
    b->kb = s->kb;
    b->sx = sx;
    b->simd_ok = simd_layout(b);
    return 0;
}

/* Builds the table for in_size -> out_size in scratch and freezes it:
 * horizontal tables in the SIMD layout when the kernel is SIMD and they
 * fit it, vertical ones past VTAB_MAX_TAPS recomputed per row. */
static int table_build(ia_hasher *h, uint32_t in_size, uint32_t out_size,
                       int horizontal, rs_table **out)
{
    rs_scratch *s = &h->scratch;
    rs_window win[RS_MAX];
    uint32_t sx[RS_MAX];
    rs_table b;
    size_t need;
    int rc = 0;

    assert(out_size <= RS_MAX);
    memset(&b, 0, sizeof b);
    table_params(&b, in_size, out_size);
    b.horizontal = horizontal;
    b.win = win;
    if (ia_mul_size(out_size, b.ksize, &need) != 0)
        return IA_ERR_NOMEM;
    b.recompute = !horizontal && need > VTAB_MAX_TAPS;
    if (!b.recompute) {
        rc = grow(&s->k, &s->k_cap, need, sizeof *s->k);
        if (rc == 0)
            rc = grow(&s->taps, &s->taps_cap, b.ksize, sizeof *s->taps);
        b.k = s->k;
    }
    if (rc != 0)
        return rc;
    table_windows(&b, s->taps);
    if (horizontal && h->layout != LAYOUT_PLAIN)
        rc = table_simd(h, &b, sx);
    return rc != 0 ? rc : table_freeze(&b, out);
}

/* ---- the cache of tables ---------------------------------------------- */

static rs_table **cache_bucket(rs_cache *c, uint32_t in_size,
                               uint32_t out_size, int horizontal)
{
    uint32_t x = (in_size * 64u + out_size * 2u + (uint32_t)horizontal) *
                 0x9e3779b1u;
    return &c->bucket[(x >> 16) & (CACHE_BUCKETS - 1)];
}

static rs_table *cache_find(rs_cache *c, uint32_t in_size, uint32_t out_size,
                            int horizontal, int layout)
{
    rs_table *t = *cache_bucket(c, in_size, out_size, horizontal);
    while (t && !(t->in_size == in_size && t->out_size == out_size &&
                  t->horizontal == horizontal && t->for_layout == layout))
        t = t->chain;
    return t;
}

static void cache_unlink(rs_cache *c, rs_table *t)
{
    if (t->newer)
        t->newer->older = t->older;
    else
        c->newest = t->older;
    if (t->older)
        t->older->newer = t->newer;
    else
        c->oldest = t->newer;
}

static void cache_push(rs_cache *c, rs_table *t)
{
    t->newer = NULL;
    t->older = c->newest;
    if (c->newest)
        c->newest->newer = t;
    else
        c->oldest = t;
    c->newest = t;
}

static void cache_evict(rs_cache *c, rs_table *t)
{
    rs_table **p = cache_bucket(c, t->in_size, t->out_size, t->horizontal);

    while (*p != t)
        p = &(*p)->chain;
    *p = t->chain;
    cache_unlink(c, t);
    c->bytes -= t->bytes;
    free(t);
}

/* Makes room for bytes more within TABLE_BUDGET, least recently used
 * first, sparing the tables some hasher is hashing an image with: with
 * those alone over the budget, the cache holds just them. */
static void cache_make_room(rs_cache *c, size_t bytes)
{
    rs_table *t = c->oldest;
    while (t && c->bytes + bytes > TABLE_BUDGET) {
        rs_table *next = t->newer;
        if (t->pins == 0)
            cache_evict(c, t);
        t = next;
    }
}

static void cache_clear(rs_cache *c)
{
    while (c->oldest)
        cache_evict(c, c->oldest);
}

int ia_hash_tables_new(ia_hash_tables **out)
{
    ia_hash_tables *t = calloc(1, sizeof *t);
    if (!t)
        return IA_ERR_NOMEM;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return IA_ERR_NOMEM;
    }
    *out = t;
    return 0;
}

void ia_hash_tables_free(ia_hash_tables *t)
{
    if (!t)
        return;
    cache_clear(&t->cache);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* The current image's tables may go now (h's cache lock held). */
static void tables_unpin_locked(ia_hasher *h)
{
    for (unsigned i = 0; i < h->npinned; i++)
        h->pinned[i]->pins--;
    h->npinned = 0;
}

static void tables_unpin(ia_hasher *h)
{
    if (!h->npinned)
        return;
    pthread_mutex_lock(&h->tables->lock);
    tables_unpin_locked(h);
    pthread_mutex_unlock(&h->tables->lock);
}

/* t in the cache as the most recently used, kept for h's current image. */
static void table_pin(ia_hasher *h, rs_table *t)
{
    cache_unlink(&h->tables->cache, t);
    cache_push(&h->tables->cache, t);
    t->pins++;
    h->pinned[h->npinned++] = t;
}

/* The table for in_size -> out_size on that axis, built on first use;
 * kept for the rest of the current image. Called with the cache's lock
 * held (ia_hasher_begin takes it once for all of an image's tables) and
 * returns with it held; a table is built with the lock released, so the
 * other workers go on meanwhile; of two that build the same table at
 * once, the second finds the first's in the cache and drops its own. */
static int table_get(ia_hasher *h, uint32_t in_size, uint32_t out_size,
                     int horizontal, const rs_table **out)
{
    ia_hash_tables *s = h->tables;
    rs_table *t, *built = NULL;

    assert(h->npinned < PINS_MAX);
    t = cache_find(&s->cache, in_size, out_size, horizontal, h->layout);
    if (!t) {
        pthread_mutex_unlock(&s->lock);
        int rc = table_build(h, in_size, out_size, horizontal, &built);
        pthread_mutex_lock(&s->lock);
        if (rc != 0)
            return rc;
        built->for_layout = h->layout;
        t = cache_find(&s->cache, in_size, out_size, horizontal, h->layout);
        if (!t) {
            cache_make_room(&s->cache, built->bytes);
            rs_table **head = cache_bucket(&s->cache, in_size, out_size,
                                           horizontal);
            built->chain = *head;
            *head = built;
            cache_push(&s->cache, built);   /* table_pin moves it again */
            s->cache.bytes += built->bytes;
            t = built;
            built = NULL;
        }
    }
    table_pin(h, t);
    free(built);
    *out = t;
    return 0;
}

/* r's tables for a width x height image (the cache's lock held, see
 * table_get) and its accumulators cleared. */
static int resampler_begin(ia_hasher *h, resampler *r, uint32_t width,
                           uint32_t height)
{
    int rc = 0;

    /* ImagingResampleInner: a pass runs only when its size changes. */
    r->need_h = width != r->out_w;
    r->need_v = height != r->out_h;
    r->in_h = height;
    r->cols = 0;
    if (r->need_h)
        rc = table_get(h, width, r->out_w, 1, &r->tx);
    if (rc == 0 && r->need_v && h->layout != LAYOUT_PLAIN &&
        height <= COLS_MAX_ROWS) {
        /* Pillow's coefficients depend only on the sizes, not the axis:
         * the vertical table is the horizontal one of in = height */
        rc = table_get(h, height, r->out_h, 1, &r->ty);
        r->cols = rc == 0 && r->ty->simd_ok;
        if (r->cols)
            rc = grow(&r->col, &r->col_cap, (size_t)r->out_w * height, 1);
        if (rc != 0)
            r->cols = 0;
    }
    if (rc == 0 && r->need_v && !r->cols)
        rc = table_get(h, height, r->out_h, 0, &r->ty);
    if (rc != 0)
        return rc;
    r->first = 0;
    for (size_t i = 0; i < (size_t)r->out_w * r->out_h; i++)
        r->acc[i] = HALF;
    memset(r->pix, 0, sizeof r->pix);
    return 0;
}

/* ImagingResampleHorizontal_8bpc for one row. Sums are kept modulo 2^32,
 * see clip8_u32. */
static void hrow_scalar(const rs_table *t, const uint8_t *luma,
                        const int16_t *wide, uint8_t *out)
{
    (void)wide;
    for (uint32_t xx = 0; xx < t->out_size; xx++) {
        const rs_window *w = &t->win[xx];
        const int32_t *k = t->k + (size_t)xx * t->ksize;
        const uint8_t *src = luma + w->xmin;
        uint32_t ss0 = HALF;
        for (int64_t x = 0; x < w->n; x++)
            ss0 += src[x] * (uint32_t)k[x];
        out[xx] = clip8_u32(ss0);
    }
}

#ifdef HASH_X86
static uint32_t hsum_epi32(__m128i v)
{
    v = _mm_add_epi32(v, _mm_srli_si128(v, 8));
    v = _mm_add_epi32(v, _mm_srli_si128(v, 4));
    return (uint32_t)_mm_cvtsi128_si32(v);
}

/* The same on the widened windows, 8 taps at a time: pixels widened to
 * 16 bits, pmaddwd with both halves of the coefficients, recombined as
 * sh * 2^11 + sl (mod 2^32). */
static void hrow_sse2(const rs_table *t, const uint8_t *luma,
                      const int16_t *wide, uint8_t *out)
{
    const __m128i zero = _mm_setzero_si128();

    (void)wide;
    for (uint32_t xx = 0; xx < t->out_size; xx++) {
        const uint8_t *src = luma + t->sx[xx];
        const int16_t *kh = t->kh + xx * t->kstride;
        const int16_t *kl = t->kl + xx * t->kstride;
        __m128i sh = zero, sl = zero;
        for (uint32_t x = 0; x < t->steps * SIMD_TAPS; x += 8) {
            __m128i v = _mm_unpacklo_epi8(
                _mm_loadl_epi64((const __m128i *)(const void *)(src + x)),
                zero);
            sh = _mm_add_epi32(sh, _mm_madd_epi16(v, _mm_loadu_si128(
                     (const __m128i *)(const void *)(kh + x))));
            sl = _mm_add_epi32(sl, _mm_madd_epi16(v, _mm_loadu_si128(
                     (const __m128i *)(const void *)(kl + x))));
        }
        out[xx] = clip8_u32(HALF + (hsum_epi32(sh) << SPLIT_BITS) +
                            hsum_epi32(sl));
    }
}

/* The row widened to 16 bits, once for all the windows that read it
 * (each pixel is in about six windows of each resize) instead of a
 * vpmovzxbw per 16 taps in every window. Alone this measured no faster
 * (llvm-mca's 1.5 cycles for that vpmovzxbw is pessimistic for this
 * Zen 3); it is what lets the two-row loop below load each row's taps
 * with one plain load. */
__attribute__((target("avx2"))) static void
widen_avx2(const uint8_t *src, int16_t *dst, uint32_t n)
{
    uint32_t x = 0;
    for (; x + 16 <= n; x += 16)
        _mm256_storeu_si256((__m256i *)(void *)(dst + x),
                            _mm256_cvtepu8_epi16(_mm_loadu_si128(
                                (const __m128i *)(const void *)(src + x))));
    for (; x < n; x++)
        dst[x] = src[x];
}

/* One output of the AVX2 kernel, still spread over eight 32-bit lanes:
 * sh * 2^11 + sl lane by lane, which sums to the same residue. */
__attribute__((target("avx2"))) static inline
__attribute__((always_inline)) __m256i
hwin_avx2(const rs_table *t, const int16_t *wide, uint32_t xx, uint32_t steps)
{
    const int16_t *src = wide + t->sx[xx];
    const int16_t *kh = t->kh + xx * t->kstride;
    const int16_t *kl = t->kl + xx * t->kstride;
    __m256i sh = _mm256_setzero_si256(), sl = _mm256_setzero_si256();
    for (uint32_t x = 0; x < steps * 16; x += 16) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(src + x));
        sh = _mm256_add_epi32(sh, _mm256_madd_epi16(v, _mm256_loadu_si256(
                 (const __m256i *)(const void *)(kh + x))));
        sl = _mm256_add_epi32(sl, _mm256_madd_epi16(v, _mm256_loadu_si256(
                 (const __m256i *)(const void *)(kl + x))));
    }
    return _mm256_add_epi32(_mm256_slli_epi32(sh, SPLIT_BITS), sl);
}

/* The same, 16 taps at a time. Outputs are reduced eight at once (a tree
 * of phaddd), and clip8 is done on the vector: an arithmetic shift makes
 * the sums Pillow's int would call negative negative, and the two
 * saturating packs clamp to 0..255, exactly clip8_u32. */
__attribute__((target("avx2"))) static inline void
store8_avx2(const __m256i v[8], uint8_t *out)
{
    const __m256i half = _mm256_set1_epi32((int)HALF);
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]),
                                  _mm256_hadd_epi32(v[2], v[3]));
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]),
                                  _mm256_hadd_epi32(v[6], v[7]));
    __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                                   _mm256_permute2x128_si256(a, b, 0x31));
    sum = _mm256_srai_epi32(_mm256_add_epi32(sum, half), PRECISION_BITS);
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(sum),
                                 _mm256_extracti128_si256(sum, 1));
    _mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(w, w));
}

/* One output spread over eight lanes, reduced and clipped. */
__attribute__((target("avx2"))) static inline uint8_t
store1_avx2(__m256i v)
{
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(v),
                               _mm256_extracti128_si256(v, 1));
    return clip8_u32(HALF + hsum_epi32(s4));
}

__attribute__((target("avx2"))) static inline
__attribute__((always_inline)) void
hrow_avx2_n(const rs_table *t, const int16_t *wide, uint8_t *out,
            uint32_t steps)
{
    uint32_t xx = 0;
    for (; xx + 8 <= t->out_size; xx += 8) {
        __m256i v[8];
        for (uint32_t i = 0; i < 8; i++)
            v[i] = hwin_avx2(t, wide, xx + i, steps);
        store8_avx2(v, out + xx);
    }
    for (; xx < t->out_size; xx++)
        out[xx] = store1_avx2(hwin_avx2(t, wide, xx, steps));
}

/* Specialized for the short windows of small images (a constant count
 * unrolls the loop); longer ones take the general loop. */
__attribute__((target("avx2"))) static void
hrow_avx2(const rs_table *t, const uint8_t *luma, const int16_t *wide,
          uint8_t *out)
{
    (void)luma;
    switch (t->steps) {
    case 1: hrow_avx2_n(t, wide, out, 1); break;
    case 2: hrow_avx2_n(t, wide, out, 2); break;
    case 3: hrow_avx2_n(t, wide, out, 3); break;
    case 4: hrow_avx2_n(t, wide, out, 4); break;
    default: hrow_avx2_n(t, wide, out, t->steps); break;
    }
}

/* Two widened rows (or columns) through the same window: each
 * coefficient is loaded once for both, and two independent pairs of sums
 * are in flight. The loop is written out because gcc 12 compiles the same
 * intrinsics with a register copy of each of the four sums per step (and
 * recomputed addresses): 20 instructions a step instead of 15, and the
 * hashes of 400x533 photos 177 against 156 us (min of 15 rounds of 100;
 * the single-row loop: 190). Same sums as hwin_avx2, row by row. */
__attribute__((target("avx2"))) static inline
__attribute__((always_inline)) void
hwin2_avx2(const rs_table *t, const int16_t *a, const int16_t *b,
           uint32_t xx, uint32_t steps, __m256i *ra, __m256i *rb)
{
    const int16_t *pa = a + t->sx[xx], *pb = b + t->sx[xx];
    const int16_t *kh = t->kh + xx * t->kstride;
    const int16_t *kl = t->kl + xx * t->kstride;
    __m256i sha = _mm256_setzero_si256(), sla = sha, shb = sha, slb = sha;
    size_t end = (size_t)steps * 32;
    __asm__("xor %%eax, %%eax\n\t"
            "1:\n\t"
            "vmovdqu (%[kh],%%rax), %%ymm12\n\t"
            "vmovdqu (%[kl],%%rax), %%ymm13\n\t"
            "vmovdqu (%[pa],%%rax), %%ymm14\n\t"
            "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"
            "vpaddd %%ymm15, %[sha], %[sha]\n\t"
            "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"
            "vpaddd %%ymm14, %[sla], %[sla]\n\t"
            "vmovdqu (%[pb],%%rax), %%ymm14\n\t"
            "vpmaddwd %%ymm12, %%ymm14, %%ymm15\n\t"
            "vpaddd %%ymm15, %[shb], %[shb]\n\t"
            "vpmaddwd %%ymm13, %%ymm14, %%ymm14\n\t"
            "vpaddd %%ymm14, %[slb], %[slb]\n\t"
            "add $32, %%rax\n\t"
            "cmp %[end], %%rax\n\t"
            "jb 1b\n\t"
            : [sha] "+x"(sha), [sla] "+x"(sla), [shb] "+x"(shb), [slb] "+x"(slb)
            : [kh] "r"(kh), [kl] "r"(kl), [pa] "r"(pa), [pb] "r"(pb),
              [end] "r"(end)
            : "rax", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
    *ra = _mm256_add_epi32(_mm256_slli_epi32(sha, SPLIT_BITS), sla);
    *rb = _mm256_add_epi32(_mm256_slli_epi32(shb, SPLIT_BITS), slb);
}

/* a and b are widened rows (or columns). */
__attribute__((target("avx2"))) static void
hrow2_avx2(const rs_table *t, const int16_t *a, const int16_t *b,
           uint8_t *oa, uint8_t *ob)
{
    uint32_t xx = 0;
    for (; xx + 8 <= t->out_size; xx += 8) {
        __m256i va[8], vb[8];
        for (uint32_t i = 0; i < 8; i++)
            hwin2_avx2(t, a, b, xx + i, t->steps, &va[i], &vb[i]);
        store8_avx2(va, oa + xx);
        store8_avx2(vb, ob + xx);
    }
    for (; xx < t->out_size; xx++) {
        __m256i va, vb;
        hwin2_avx2(t, a, b, xx, t->steps, &va, &vb);
        oa[xx] = store1_avx2(va);
        ob[xx] = store1_avx2(vb);
    }
}

/* ---- Blocks of sixteen rows, AVX-512 (kernel level 5) -------------------
 *
 * The row kernels above spend much of their time outside the multiplies:
 * every output of every row is a window summed across vector lanes and
 * reduced. Here a lane is a row instead. Sixteen rows are transposed so
 * that one 512-bit vector holds, for each of the sixteen rows, a pair of
 * neighbouring pixels as 16-bit values; vpdpwssd multiplies the sixteen
 * pairs by one broadcast pair of coefficient halves (the split tables of
 * LAYOUT_SPLIT, read two at a time) and adds them into sixteen 32-bit
 * sums, so an output's window is a run of such instructions with no
 * reduction, and its sixteen results are the sixteen bytes its column
 * gets (r->col), with no staging either. A window starting at an odd
 * pixel reads the odd pairs (x, x + 1 for odd x), made from the even ones
 * by a funnel shift (vpshrdd). Same integer sums as the other kernels,
 * in another order, modulo 2^32. Two blocks (32 rows) are gathered
 * before the kernel runs, so that each coefficient pair, broadcast into
 * a register once, serves both (block_outputs2); a last block of sixteen
 * rows or fewer runs alone (block_outputs). */
#define IA_AVX512 __attribute__((target( \
    "avx2,avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi2")))

/* 16 x 16 32-bit elements transposed: r[i] element k becomes f[k]
 * element i (unpacks of 32 then 64 bits within 128-bit lanes, then a
 * 4 x 4 transpose of the lanes). */
IA_AVX512 static inline __attribute__((always_inline)) void
transpose16x32(const __m512i r[16], __m512i *f)
{
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* u[4g + m], lane L: rows 4g..4g+3 of element 4L + m */
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int m = 0; m < 4; m++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0x44);
        __m512i v1 = _mm512_shuffle_i32x4(u[m], u[4 + m], 0xee);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + m], u[12 + m], 0xee);
        f[m] = _mm512_shuffle_i32x4(v0, v2, 0x88);
        f[4 + m] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
        f[8 + m] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        f[12 + m] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
    }
}

/* The block's rows (stride bytes apart, zero past the width up to
 * stride, a multiple of 32) as pairs: e[j] lane i = pixels 2j, 2j + 1 of
 * row i; o[j] = pixels 2j + 1, 2j + 2 (j < stride / 2 - 1). */
IA_AVX512 static void block_pairs(const uint8_t *blk, uint32_t stride,
                                  __m512i *e, __m512i *o)
{
    for (uint32_t x0 = 0; x0 < stride; x0 += 32) {
        __m512i r[16];
        for (uint32_t i = 0; i < BLOCK_ROWS; i++)
            r[i] = _mm512_cvtepu8_epi16(_mm256_loadu_si256(
                (const __m256i *)(const void *)(blk + i * stride + x0)));
        transpose16x32(r, e + x0 / 2);
    }
    for (uint32_t j = 0; j + 1 < stride / 2; j++)
        o[j] = _mm512_shrdi_epi32(e[j], e[j + 1], 16);
}

/* Output xx's window over a block's pairs (e, or o where it starts at
 * an odd pixel): its first and past-the-last pair, in steps of four, and
 * its coefficient halves. */
typedef struct block_win {
    const __m512i *p, *end;
    const int16_t *kh, *kl;
} block_win;

IA_AVX512 static inline block_win block_window(const rs_table *t,
                                               uint32_t xx,
                                               const __m512i *e,
                                               const __m512i *o)
{
    block_win w;
    w.p = (t->sx[xx] & 1 ? o : e) + t->sx[xx] / 2;
    w.end = w.p + t->steps * (SIMD_TAPS / 2);
    w.kh = t->kh + xx * t->kstride;
    w.kl = t->kl + xx * t->kstride;
    return w;
}

/* One output's sixteen sums, made of its halves' (h, l), stored as
 * bytes to col: the rows keep says. */
IA_AVX512 static inline __attribute__((always_inline)) void
block_store(__m512i h, __m512i l, uint8_t *col, __mmask16 keep)
{
    __m512i sum = _mm512_add_epi32(_mm512_slli_epi32(h, SPLIT_BITS),
                                   _mm512_add_epi32(l, _mm512_set1_epi32(
                                                           (int)HALF)));
    /* clip8_u32: negative as Pillow's int is 0, past 255 is 255 */
    sum = _mm512_max_epi32(_mm512_srai_epi32(sum, PRECISION_BITS),
                           _mm512_setzero_si512());
    _mm_mask_storeu_epi8(col, keep, _mm512_cvtusepi32_epi8(sum));
}

/* Every output of table t for the block's rows, the first n of them
 * (keep) stored to column xx of col at row y0. Four sums each for the
 * halves keep eight multiply-adds in flight; each coefficient pair is
 * broadcast from memory by the multiply-add itself ({1to16}). The loop
 * is written out: gcc 12 compiles the intrinsics with a register copy
 * of every sum each step and a separate broadcast per pair. */
IA_AVX512 static void block_outputs(const rs_table *t, const __m512i *e,
                                    const __m512i *o, uint8_t *col,
                                    uint32_t in_h, uint32_t y0,
                                    __mmask16 keep)
{
    for (uint32_t xx = 0; xx < t->out_size; xx++) {
        block_win w = block_window(t, xx, e, o);
        const __m512i *p = w.p;
        const int16_t *kh = w.kh, *kl = w.kl;
        __m512i h0 = _mm512_setzero_si512(), h1 = h0, h2 = h0, h3 = h0;
        __m512i l0 = h0, l1 = h0, l2 = h0, l3 = h0;
        __asm__("1:\n\t"
                "vmovdqa64 (%[p]), %%zmm16\n\t"
                "vpdpwssd (%[kh])%{1to16%}, %%zmm16, %[h0]\n\t"
                "vpdpwssd (%[kl])%{1to16%}, %%zmm16, %[l0]\n\t"
                "vmovdqa64 64(%[p]), %%zmm17\n\t"
                "vpdpwssd 4(%[kh])%{1to16%}, %%zmm17, %[h1]\n\t"
                "vpdpwssd 4(%[kl])%{1to16%}, %%zmm17, %[l1]\n\t"
                "vmovdqa64 128(%[p]), %%zmm18\n\t"
                "vpdpwssd 8(%[kh])%{1to16%}, %%zmm18, %[h2]\n\t"
                "vpdpwssd 8(%[kl])%{1to16%}, %%zmm18, %[l2]\n\t"
                "vmovdqa64 192(%[p]), %%zmm19\n\t"
                "vpdpwssd 12(%[kh])%{1to16%}, %%zmm19, %[h3]\n\t"
                "vpdpwssd 12(%[kl])%{1to16%}, %%zmm19, %[l3]\n\t"
                "add $256, %[p]\n\t"
                "add $16, %[kh]\n\t"
                "add $16, %[kl]\n\t"
                "cmp %[end], %[p]\n\t"
                "jb 1b\n\t"
                : [h0] "+v"(h0), [h1] "+v"(h1), [h2] "+v"(h2), [h3] "+v"(h3),
                  [l0] "+v"(l0), [l1] "+v"(l1), [l2] "+v"(l2), [l3] "+v"(l3),
                  [p] "+r"(p), [kh] "+r"(kh), [kl] "+r"(kl)
                : [end] "r"(w.end)
                : "xmm16", "xmm17", "xmm18", "xmm19", "cc", "memory");
        block_store(_mm512_add_epi32(_mm512_add_epi32(h0, h1),
                                     _mm512_add_epi32(h2, h3)),
                    _mm512_add_epi32(_mm512_add_epi32(l0, l1),
                                     _mm512_add_epi32(l2, l3)),
                    col + (size_t)xx * in_h + y0, keep);
    }
}

/* block_outputs for two blocks at once: the pairs of the second are
 * apart bytes after the first's (its e and o both), its rows are y0 + 16
 * on, and keep2 says which of them to store. Each coefficient pair is
 * broadcast once into a register for both blocks: the single-block loop
 * reloads it for every multiply, and those loads, not the multiplies,
 * bound its speed on Zen 5 (a microbenchmark: 1.35 multiply-adds a cycle
 * with the broadcasts from memory, 2 from registers). */
IA_AVX512 static void block_outputs2(const rs_table *t, const __m512i *e,
                                     const __m512i *o, ptrdiff_t apart,
                                     uint8_t *col, uint32_t in_h,
                                     uint32_t y0, __mmask16 keep2)
{
    for (uint32_t xx = 0; xx < t->out_size; xx++) {
        block_win w = block_window(t, xx, e, o);
        const __m512i *p = w.p;
        const int16_t *kh = w.kh, *kl = w.kl;
        /* two sums of each kind (pairs 0, 2 and 1, 3), so that each
         * multiply-add waits for the one two before it */
        __m512i h0 = _mm512_setzero_si512(), h1 = h0, l0 = h0, l1 = h0;
        __m512i g0 = h0, g1 = h0, m0 = h0, m1 = h0;
#define PAIR2(j, h, l, g, m, a, b, c, d)                                    \
        "vpbroadcastd " #j "*4(%[kh]), %%zmm" #c "\n\t"                     \
        "vpbroadcastd " #j "*4(%[kl]), %%zmm" #d "\n\t"                     \
        "vmovdqa64 " #j "*64(%[p]), %%zmm" #a "\n\t"                        \
        "vmovdqa64 " #j "*64(%[p],%[apart]), %%zmm" #b "\n\t"               \
        "vpdpwssd %%zmm" #c ", %%zmm" #a ", %[" #h "]\n\t"                  \
        "vpdpwssd %%zmm" #d ", %%zmm" #a ", %[" #l "]\n\t"                  \
        "vpdpwssd %%zmm" #c ", %%zmm" #b ", %[" #g "]\n\t"                  \
        "vpdpwssd %%zmm" #d ", %%zmm" #b ", %[" #m "]\n\t"
        __asm__("1:\n\t"
                PAIR2(0, h0, l0, g0, m0, 16, 17, 18, 19)
                PAIR2(1, h1, l1, g1, m1, 20, 21, 22, 23)
                PAIR2(2, h0, l0, g0, m0, 24, 25, 26, 27)
                PAIR2(3, h1, l1, g1, m1, 28, 29, 30, 31)
                "add $256, %[p]\n\t"
                "add $16, %[kh]\n\t"
                "add $16, %[kl]\n\t"
                "cmp %[end], %[p]\n\t"
                "jb 1b\n\t"
                : [h0] "+v"(h0), [h1] "+v"(h1), [l0] "+v"(l0), [l1] "+v"(l1),
                  [g0] "+v"(g0), [g1] "+v"(g1), [m0] "+v"(m0), [m1] "+v"(m1),
                  [p] "+r"(p), [kh] "+r"(kh), [kl] "+r"(kl)
                : [end] "r"(w.end), [apart] "r"(apart)
                : "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
                  "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
                  "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory");
#undef PAIR2
        uint8_t *c = col + (size_t)xx * in_h + y0;
        block_store(_mm512_add_epi32(h0, h1), _mm512_add_epi32(l0, l1), c,
                    (__mmask16)0xffff);
        block_store(_mm512_add_epi32(g0, g1), _mm512_add_epi32(m0, m1),
                    c + BLOCK_ROWS, keep2);
    }
}

/* The n rows gathered (the rest zero), from row y0, through both
 * resizes' horizontal pass into their kept columns: one block when they
 * fit in one, else both at once. */
IA_AVX512 static void block_run(ia_hasher *h, uint32_t y0, uint32_t n)
{
    uintptr_t a = ((uintptr_t)h->tr + 63) & ~(uintptr_t)63;
    uint32_t half = h->blk_stride / 2;
    __m512i *e = (__m512i *)(void *)a, *o = e + half;
    __m512i *e2 = o + half, *o2 = e2 + half;
    block_pairs(h->blk, h->blk_stride, e, o);
    if (n <= BLOCK_ROWS) {
        __mmask16 keep = (__mmask16)((1u << n) - 1);
        block_outputs(h->ph.tx, e, o, h->ph.col, h->ph.in_h, y0, keep);
        block_outputs(h->dh.tx, e, o, h->dh.col, h->dh.in_h, y0, keep);
        return;
    }
    __mmask16 keep2 = (__mmask16)((1u << (n - BLOCK_ROWS)) - 1);
    ptrdiff_t apart = (e2 - e) * (ptrdiff_t)sizeof *e;
    block_pairs(h->blk + (size_t)BLOCK_ROWS * h->blk_stride, h->blk_stride,
                e2, o2);
    block_outputs2(h->ph.tx, e, o, apart, h->ph.col, h->ph.in_h, y0, keep2);
    block_outputs2(h->dh.tx, e, o, apart, h->dh.col, h->dh.in_h, y0, keep2);
}
#undef IA_AVX512

/* The VNNI kernels (LAYOUT_BYTES): vpdpbusd multiplies 32 unsigned pixel
 * bytes by 32 signed coefficient digits and adds each group of four
 * products into a 32-bit lane, so the row needs no widening and each step
 * of 32 taps is one load and three instructions (the AVX2 kernel: four
 * loads and widenings, four multiplies, four adds). The three digit sums
 * recombine as s0 + s1 * 2^8 + s2 * 2^16 modulo 2^32, Pillow's sum. Built
 * twice: the VEX form (AVX-VNNI) and the EVEX one (AVX512-VNNI with VL),
 * which CPUs have one or the other or both of. */
#define HROW_VNNI(name, tgt, dpbusd)                                        \
    __attribute__((target(tgt))) static inline __m256i name##_win(          \
        const rs_table *t, const uint8_t *luma, uint32_t xx)                \
    {                                                                       \
        const uint8_t *src = luma + t->sx[xx];                              \
        const int8_t *d = t->kb + (size_t)xx * 3 * t->kstride;              \
        const size_t st = t->kstride;                                       \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0;              \
        for (size_t x = 0; x < t->steps * BYTE_TAPS; x += BYTE_TAPS) {      \
            __m256i v = _mm256_loadu_si256(                                 \
                (const __m256i *)(const void *)(src + x));                  \
            s0 = dpbusd(s0, v, _mm256_loadu_si256(                          \
                (const __m256i *)(const void *)(d + x)));                   \
            s1 = dpbusd(s1, v, _mm256_loadu_si256(                          \
                (const __m256i *)(const void *)(d + st + x)));              \
            s2 = dpbusd(s2, v, _mm256_loadu_si256(                          \
                (const __m256i *)(const void *)(d + 2 * st + x)));          \
        }                                                                   \
        return _mm256_add_epi32(                                            \
            s0, _mm256_add_epi32(_mm256_slli_epi32(s1, 8),                  \
                                 _mm256_slli_epi32(s2, 16)));               \
    }                                                                       \
    __attribute__((target(tgt))) static void name(                          \
        const rs_table *t, const uint8_t *luma, const int16_t *wide,        \
        uint8_t *out)                                                       \
    {                                                                       \
        uint32_t xx = 0;                                                    \
        (void)wide;                                                         \
        for (; xx + 8 <= t->out_size; xx += 8) {                            \
            __m256i v[8];                                                   \
            for (uint32_t i = 0; i < 8; i++)                                \
                v[i] = name##_win(t, luma, xx + i);                         \
            store8_avx2(v, out + xx);                                       \
        }                                                                   \
        for (; xx < t->out_size; xx++)                                      \
            out[xx] = store1_avx2(name##_win(t, luma, xx));                 \
    }

HROW_VNNI(hrow_avxvnni, "avx2,avxvnni", _mm256_dpbusd_avx_epi32)
HROW_VNNI(hrow_avx512vnni, "avx2,avx512vnni,avx512vl", _mm256_dpbusd_epi32)
#endif

/* Row y's share of ImagingResampleVertical_8bpc: adds coefficient * value
 * to every output row whose window holds y. out_w is a constant at each
 * call, so the inner loop is unrolled and vectorized. */
static inline void vertical_add(resampler *r, uint32_t y,
                                const uint8_t *restrict hv, uint32_t out_w)
{
    for (uint32_t yy = r->first; yy < r->out_h; yy++) {
        if (r->ty->win[yy].xmin > (int64_t)y)
            break;
        uint32_t k = (uint32_t)coeff_at(r->ty, yy, y);
        uint32_t *restrict acc = r->acc + (size_t)yy * out_w;
        for (uint32_t xx = 0; xx < out_w; xx++)
            acc[xx] += hv[xx] * k;
    }
}

/* The staged rows [y0, y0 + n) written down the columns, COL_STAGE
 * bytes per column at a time: storing each row's outputs straight into
 * the columns cost a store to a different cache line per output. */
#ifdef HASH_X86
/* The 16 x 16 bytes at column c0 of the stage transposed into t: four
 * rounds of interleaving register k with k + 8 (each round rotates the
 * bits of (register, byte) left by one; four rotate by four, which swaps
 * row and column). t[c] is column c0 + c, rows in order. */
static void transpose16(const resampler *r, uint32_t c0, __m128i t[16])
{
    __m128i a[16], b[16];
    for (int i = 0; i < 16; i++)
        a[i] = _mm_loadu_si128((const __m128i *)(const void *)(r->stage[i] +
                                                               c0));
    for (int round = 0; round < 4; round++) {
        for (int k = 0; k < 8; k++) {
            b[2 * k] = _mm_unpacklo_epi8(a[k], a[k + 8]);
            b[2 * k + 1] = _mm_unpackhi_epi8(a[k], a[k + 8]);
        }
        memcpy(a, b, sizeof a);
    }
    memcpy(t, a, sizeof a);
}

/* A full stage down the columns, 16 columns at a time (out_w is 9 or
 * 32; the stage is RS_MAX wide, so the loads stay inside it). */
static void col_flush16(resampler *r)
{
    _Static_assert(COL_STAGE == 16 && RS_MAX % 16 == 0,
                   "col_flush16 moves 16 x 16 blocks");
    uint8_t *col = r->col + r->staged_y0;
    __m128i t[16];

    for (uint32_t c0 = 0; c0 < r->out_w; c0 += 16) {
        transpose16(r, c0, t);
        for (uint32_t c = 0; c < 16 && c0 + c < r->out_w; c++)
            _mm_storeu_si128((__m128i *)(void *)(col + (size_t)(c0 + c) *
                                                           r->in_h),
                             t[c]);
    }
}
#endif

static void col_flush(resampler *r, uint32_t n)
{
    uint32_t y0 = r->staged_y0, out_w = r->out_w;
    uint8_t *restrict col = r->col;

#ifdef HASH_X86
    if (n == COL_STAGE) {
        col_flush16(r);
        return;
    }
#endif
    for (uint32_t xx = 0; xx < out_w; xx++) {
        uint8_t run[COL_STAGE];
        for (uint32_t i = 0; i < COL_STAGE; i++)
            run[i] = r->stage[i][xx];
        if (n == COL_STAGE)   /* a fixed size: no call */
            memcpy(col + (size_t)xx * r->in_h + y0, run, COL_STAGE);
        else
            memcpy(col + (size_t)xx * r->in_h + y0, run, n);
    }
}

/* The horizontal pass of one row (or column) through table t: the
 * hasher's kernel, or the scalar one for tables it cannot take. */
static void hpass(const ia_hasher *h, const rs_table *t, const uint8_t *luma,
                  const int16_t *wide, uint8_t *out)
{
    if (t->simd_ok)
        h->hrow(t, luma, wide, out);
    else
        hrow_scalar(t, luma, NULL, out);
}

/* n bytes widened into dst (h->wide or h->pend_wide, grown at
 * ia_hasher_begin for the rows and the kept columns) for a kernel that
 * reads them so; NULL otherwise. */
static const int16_t *widen(const ia_hasher *h, const uint8_t *src,
                            uint32_t n, int16_t *dst)
{
#ifdef HASH_X86
    if (h->wide_in) {
        widen_avx2(src, dst, n);
        return dst;
    }
#endif
    (void)src, (void)n, (void)dst;
    return NULL;
}

/* Row y's horizontal output, staged for the columns. */
static void resampler_col_row(const ia_hasher *h, resampler *r, uint32_t y,
                              const uint8_t *luma, const int16_t *wide)
{
    uint32_t i = y % COL_STAGE;

    if (i == 0)
        r->staged_y0 = y;
    if (r->need_h)
        hpass(h, r->tx, luma, wide, r->stage[i]);
    else
        memcpy(r->stage[i], luma, r->out_w);
    if (i == COL_STAGE - 1)
        col_flush(r, COL_STAGE);
}

/* ImagingResampleVertical_8bpc by columns: for each output column, the
 * same fixed-point sums as a horizontal pass over that column, so the
 * horizontal kernel computes them. Rows never received count as zeros,
 * as they add nothing to the streamed sums. */
static void resampler_col_end(const ia_hasher *h, resampler *r,
                              uint32_t rows)
{
    uint8_t out[RS_MAX], out2[RS_MAX];

    if (rows % COL_STAGE && !h->block)   /* blocks write col directly */
        col_flush(r, rows % COL_STAGE);
    for (uint32_t xx = 0; xx < r->out_w && rows < r->in_h; xx++)
        memset(r->col + (size_t)xx * r->in_h + rows, 0, r->in_h - rows);
    uint32_t step;
    for (uint32_t xx = 0; xx < r->out_w; xx += step) {
        const uint8_t *c = r->col + (size_t)xx * r->in_h;
        step = h->hrow2 && xx + 1 < r->out_w ? 2 : 1;
        if (step == 2)   /* columns in pairs too */
            h->hrow2(r->ty, widen(h, c, r->in_h, h->wide),
                     widen(h, c + r->in_h, r->in_h, h->pend_wide), out,
                     out2);
        else
            h->hrow(r->ty, c, widen(h, c, r->in_h, h->wide), out);
        for (uint32_t yy = 0; yy < r->out_h; yy++) {
            r->pix[(size_t)yy * r->out_w + xx] = out[yy];
            if (step == 2)
                r->pix[(size_t)yy * r->out_w + xx + 1] = out2[yy];
        }
    }
}

/* Built for AVX2 and the baseline (gcc's target_clones picks one when the
 * program loads): vertical_add's 32-bit multiplies need pmulld, which
 * the baseline lacks. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("avx2", "default")))
#endif
static void resampler_row(const ia_hasher *h, resampler *r, uint32_t y,
                          const uint8_t *luma, const int16_t *wide)
{
    const uint8_t *hv = luma;

    if (r->cols) {
        resampler_col_row(h, r, y, luma, wide);
        return;
    }
    if (r->need_v) {
        /* Windows only move forward; rows no window holds cost nothing. */
        const rs_window *win = r->ty->win;
        while (r->first < r->out_h &&
               win[r->first].xmin + win[r->first].n <= (int64_t)y)
            r->first++;
        if (r->first == r->out_h || win[r->first].xmin > (int64_t)y)
            return;
    }
    if (r->need_h) {
        hpass(h, r->tx, luma, wide, r->hrow);
        hv = r->hrow;
    }
    if (!r->need_v) {
        if (y < r->out_h)
            memcpy(r->pix + (size_t)y * r->out_w, hv, r->out_w);
    } else if (r->out_w == PHASH_SIZE) {
        vertical_add(r, y, hv, PHASH_SIZE);
    } else {
        vertical_add(r, y, hv, DHASH_W);
    }
}

/* Whether r takes rows in pairs: both passes run, the horizontal one in
 * the SIMD layout, the vertical one by kept columns. */
static int pairs_ok(const resampler *r)
{
    return r->need_h && r->tx->simd_ok && r->cols;
}

/* Rows y0 (even) and y0 + 1, widened, through the two-row kernel into
 * the stage (COL_STAGE is even, so both land in the same one). */
static void resampler_row2(const ia_hasher *h, resampler *r, uint32_t y0,
                           const int16_t *aw, const int16_t *bw)
{
    _Static_assert(COL_STAGE % 2 == 0, "row pairs share a stage");
    uint32_t i = y0 % COL_STAGE;

    if (i == 0)
        r->staged_y0 = y0;
    h->hrow2(r->tx, aw, bw, r->stage[i], r->stage[i + 1]);
    if (i + 2 == COL_STAGE)
        col_flush(r, COL_STAGE);
}

static void resampler_end(const ia_hasher *h, resampler *r, uint32_t rows)
{
    if (r->cols) {
        resampler_col_end(h, r, rows);
        return;
    }
    if (!r->need_v)
        return;
    for (size_t i = 0; i < (size_t)r->out_w * r->out_h; i++)
        r->pix[i] = clip8_u32(r->acc[i]);
}

/* scipy.fftpack.dct type II, unnormalized, along axis 0 then axis 1,
 * keeping only the top-left 8x8: y_k = 2 sum_n x_n cos(pi k (2n+1) / 2N).
 * Each sum adds its terms in n order from 0.0, as the plain loops would;
 * the loops run across the independent sums (c, then l) innermost so they
 * vectorize, which changes no operation of any one sum. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__) && !defined(__SANITIZE_THREAD__)
/* AVX2 without FMA: multiplies and adds stay separate, as in the
 * baseline build, so the doubles are the same. */
__attribute__((target_clones("avx2", "default")))
#endif
static void phash_dct(const ia_hasher *h, const uint8_t *pix,
                      double out[HASH_SIDE * HASH_SIDE])
{
    double cols[HASH_SIDE][PHASH_SIZE];
    double px[PHASH_SIZE];

    for (int k = 0; k < HASH_SIDE; k++)
        for (int c = 0; c < PHASH_SIZE; c++)
            cols[k][c] = 0.0;
    for (int n = 0; n < PHASH_SIZE; n++) {
        for (int c = 0; c < PHASH_SIZE; c++)
            px[c] = pix[n * PHASH_SIZE + c];
        for (int k = 0; k < HASH_SIDE; k++) {
            double w = h->dct_cos[k][n];
            for (int c = 0; c < PHASH_SIZE; c++)
                cols[k][c] += px[c] * w;
        }
    }
    for (int k = 0; k < HASH_SIDE; k++) {
        double acc[HASH_SIDE] = {0.0};
        for (int n = 0; n < PHASH_SIZE; n++) {
            double v = 2.0 * cols[k][n];
            for (int l = 0; l < HASH_SIDE; l++)
                acc[l] += v * h->dct_cos_t[n][l];
        }
        for (int l = 0; l < HASH_SIDE; l++)
            out[k * HASH_SIDE + l] = 2.0 * acc[l];
    }
}

/* The k-th smallest of v[0..n) (k < n), by quickselect; v is reordered.
 * The value is the same whatever the algorithm, so numpy's sort-based
 * median is matched exactly. */
static double select_kth(double *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* numpy.median of 64 values: the mean of the two middle ones. */
static double median64(const double v[HASH_SIDE * HASH_SIDE])
{
    double s[HASH_SIDE * HASH_SIDE];
    memcpy(s, v, sizeof s);
    double a = select_kth(s, HASH_SIDE * HASH_SIDE, 31);
    /* after selecting the 32nd, s[32..63] hold the values above it */
    double b = s[32];
    for (int i = 33; i < HASH_SIDE * HASH_SIDE; i++)
        b = s[i] < b ? s[i] : b;
    return (a + b) / 2;
}

static uint64_t phash_bits(const ia_hasher *h)
{
    double d[HASH_SIDE * HASH_SIDE];
    uint64_t bits = 0;

    phash_dct(h, h->ph.pix, d);
    double med = median64(d);
    /* imagehash's str(): row-major, first element most significant. */
    for (size_t i = 0; i < IA_ARRAY_LEN(d); i++)
        bits = bits << 1 | (d[i] > med);
    return bits;
}

static uint64_t dhash_bits(const uint8_t *pix)
{
    uint64_t bits = 0;
    for (int r = 0; r < DHASH_H; r++) {
        const uint8_t *p = pix + r * DHASH_W;
        for (int c = 0; c < DHASH_W - 1; c++)
            bits = bits << 1 | (p[c + 1] > p[c]);
    }
    return bits;
}

/* Population variance of the 32x32 luma below 1.0 (docs/hashes.md),
 * decided exactly in integers: n * sumsq - sum^2 < n^2. */
static int too_uniform(const uint8_t *pix)
{
    const uint64_t n = PHASH_SIZE * PHASH_SIZE;
    uint64_t sum = 0, sumsq = 0;
    for (uint64_t i = 0; i < n; i++) {
        sum += pix[i];
        sumsq += (uint64_t)pix[i] * pix[i];
    }
    return n * sumsq - sum * sum < n * n;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int ia_hasher_new(ia_hasher **out)
{
    int rc = IA_ERR_NOMEM;
    ia_hasher *h = calloc(1, sizeof *h);

    if (!h)
        goto out;
    h->xxh = XXH3_createState();
    if (!h->xxh || ia_hash_tables_new(&h->tables) != 0)
        goto out;
    h->own_tables = 1;
    /* AVX2 with blocks of rows on AVX-512 (level 5), else AVX2, else
     * SSE2, else scalar (level 0 always runs). Not the VNNI row kernels
     * (3, 4): on a Zen 5 they were no faster
     * on photos (bench/measure_bench hashes 262.8 vs 262.2 us an image)
     * and 18 % slower on 64-96 px tiles (17.0 vs 14.4 us), where their
     * 32-tap steps pad short windows and the AVX2 kernel takes rows in
     * pairs. */
    for (int level = 5; ia_hasher_kernel(h, level) != 0;
         level = level > 2 ? 2 : level - 1)
        continue;
    h->ph.out_w = h->ph.out_h = PHASH_SIZE;
    h->dh.out_w = DHASH_W;
    h->dh.out_h = DHASH_H;
    for (int k = 0; k < HASH_SIDE; k++)
        for (int n = 0; n < PHASH_SIZE; n++)
            h->dct_cos[k][n] = h->dct_cos_t[n][k] =
                cos(M_PI * k * (2 * n + 1) / (2 * PHASH_SIZE));
    *out = h;
    h = NULL;
    rc = 0;
out:
    ia_hasher_free(h);
    return rc;
}

void ia_hasher_free(ia_hasher *h)
{
    if (!h)
        return;
    if (h->xxh)
        XXH3_freeState(h->xxh);
    tables_unpin(h);
    if (h->own_tables)
        ia_hash_tables_free(h->tables);
    free(h->scratch.taps);
    free(h->scratch.k);
    free(h->scratch.kh);
    free(h->scratch.kl);
    free(h->scratch.kb);
    free(h->ph.col);
    free(h->dh.col);
    free(h->wide);
    free(h->pend_wide);
    free(h->blk);
    free(h->tr);
    free(h);
}

void ia_hasher_share(ia_hasher *h, ia_hash_tables *t)
{
    tables_unpin(h);
    if (h->own_tables)
        ia_hash_tables_free(h->tables);
    h->tables = t;
    h->own_tables = 0;
}

/* The block buffers for rows of width bytes: blk zeroed (the padding
 * past the width stays so), tr for each block's two pair arrays of
 * blk_stride / 2 vectors each, plus room to align them. */
static int block_begin(ia_hasher *h, uint32_t width)
{
    size_t stride = ((size_t)width + 31) / 32 * 32, blk, tr;
    if (stride > UINT32_MAX || ia_mul_size(stride, BLOCK_GATHER, &blk) != 0 ||
        ia_mul_size(stride, 128, &tr) != 0 || add_size(tr, 64, &tr) != 0 ||
        grow(&h->blk, &h->blk_cap, blk, 1) != 0 ||
        grow(&h->tr, &h->tr_cap, tr, 1) != 0)
        return IA_ERR_NOMEM;
    h->blk_stride = (uint32_t)stride;
    memset(h->blk, 0, blk);
    return 0;
}

int ia_hasher_begin(ia_hasher *h, uint32_t width, uint32_t height,
                    int channels, int bit_depth)
{
    int rc = IA_ERR_ARG;
    uint8_t hdr[HEADER_BYTES];

    h->active = 0;
    if (width == 0 || height == 0 || channels < 1 || channels > 4 ||
        bit_depth < 0)
        goto out;
    if (ia_mul_size(width, (size_t)channels, &h->row_bytes) != 0)
        goto out;
    /* One lock for the image's tables (a few look-ups): the last
     * image's may go now. */
    pthread_mutex_lock(&h->tables->lock);
    tables_unpin_locked(h);
    rc = resampler_begin(h, &h->ph, width, height);
    if (rc == 0)
        rc = resampler_begin(h, &h->dh, width, height);
    pthread_mutex_unlock(&h->tables->lock);
    if (rc == 0 && h->wide_in) {   /* rows, and columns when kept */
        size_t n = height > width && height <= COLS_MAX_ROWS ? height : width;
        rc = grow(&h->wide, &h->wide_cap, n, sizeof *h->wide);
        if (rc == 0)
            rc = grow(&h->pend_wide, &h->pend_wide_cap, n,
                      sizeof *h->pend_wide);
    }
    if (rc != 0)
        goto out;
    memcpy(hdr, "IAPX", 4);
    put_le32(hdr + 4, PIXEL_HASH_VERSION);
    put_le32(hdr + 8, width);
    put_le32(hdr + 12, height);
    put_le32(hdr + 16, (uint32_t)channels);
    put_le32(hdr + 20, (uint32_t)bit_depth);
    XXH3_128bits_reset(h->xxh);
    memcpy(h->xstage, hdr, sizeof hdr);
    h->xstaged = sizeof hdr;
    h->width = width;
    h->height = height;
    h->y = 0;
    h->pending = 0;
    h->pairs = h->hrow2 && pairs_ok(&h->ph) && pairs_ok(&h->dh);
    h->block = 0;
    if (h->pairs && h->block_ok && width <= BLOCK_MAX_WIDTH) {
        rc = block_begin(h, width);
        if (rc != 0)
            goto out;
        h->block = 1;
        h->pairs = 0;
    }
    h->active = 1;
out:
    return rc;
}

static void xxh_flush(ia_hasher *h)
{
    if (h->xstaged)
        XXH3_128bits_update(h->xxh, h->xstage, h->xstaged);
    h->xstaged = 0;
}

/* The row into the pixel hash: XXH3's streaming result does not depend
 * on how its input is cut. */
static void xxh_row(ia_hasher *h, const uint8_t *row)
{
    size_t n = h->row_bytes;
    if (n >= XXH_DIRECT) {
        xxh_flush(h);
        XXH3_128bits_update(h->xxh, row, n);
        return;
    }
    if (h->xstaged + n > XXH_STAGE)
        xxh_flush(h);
    memcpy(h->xstage + h->xstaged, row, n);
    h->xstaged += n;
}

uint8_t *ia_hasher_luma_slot(ia_hasher *h)
{
#ifdef HASH_X86
    if (h->active && h->block && h->y < h->height)
        return h->blk + (size_t)(h->y % BLOCK_GATHER) * h->blk_stride;
#endif
    (void)h;
    return NULL;
}

void ia_hasher_row(ia_hasher *h, const uint8_t *row, const uint8_t *luma)
{
    if (!h->active || h->y >= h->height)
        return;
    xxh_row(h, row);
#ifdef HASH_X86
    if (h->block) {
        uint32_t i = h->y % BLOCK_GATHER;
        uint8_t *slot = h->blk + (size_t)i * h->blk_stride;
        if (luma != slot)
            memcpy(slot, luma, h->width);
        if (i == BLOCK_GATHER - 1)
            block_run(h, h->y - i, BLOCK_GATHER);
        h->y++;
        return;
    }
#endif
    if (h->pending) {
        const int16_t *wide = widen(h, luma, h->width, h->wide);
        resampler_row2(h, &h->ph, h->y - 1, h->pend_wide, wide);
        resampler_row2(h, &h->dh, h->y - 1, h->pend_wide, wide);
        h->pending = 0;
    } else if (h->pairs && h->y + 1 < h->height) {
        widen(h, luma, h->width, h->pend_wide);
        h->pending = 1;
    } else {
        /* one widening serves both resizes */
        const int16_t *wide = widen(h, luma, h->width, h->wide);
        resampler_row(h, &h->ph, h->y, luma, wide);
        resampler_row(h, &h->dh, h->y, luma, wide);
    }
    h->y++;
}

void ia_hasher_end(ia_hasher *h, ia_hashes *out)
{
    XXH128_canonical_t canon;

    memset(out, 0, sizeof *out);
    if (!h->active) {
        out->uniform = 1;
        return;
    }
    xxh_flush(h);
    XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(h->xxh));
    memcpy(out->pixel_hash, canon.digest, sizeof out->pixel_hash);
#ifdef HASH_X86
    uint32_t left = h->y % BLOCK_GATHER;
    if (h->block && left) {   /* the rows of a last, short gathering */
        memset(h->blk + (size_t)left * h->blk_stride, 0,
               (size_t)(BLOCK_GATHER - left) * h->blk_stride);
        block_run(h, h->y - left, left);
    }
#endif
    if (h->pending) {   /* the stream stopped after an even row; with
                         * pairs the kernel reads only the widened row */
        resampler_row(h, &h->ph, h->y - 1, NULL, h->pend_wide);
        resampler_row(h, &h->dh, h->y - 1, NULL, h->pend_wide);
        h->pending = 0;
    }
    resampler_end(h, &h->ph, h->y);
    resampler_end(h, &h->dh, h->y);
    out->phash = phash_bits(h);
    out->dhash = dhash_bits(h->dh.pix);
    out->uniform = too_uniform(h->ph.pix);
    h->active = 0;
}

const uint8_t *ia_hasher_resized(const ia_hasher *h, int dhash)
{
    return dhash ? h->dh.pix : h->ph.pix;
}

int ia_hasher_blocks(const ia_hasher *h)
{
    return h->block;
}

#ifdef HASH_X86
/* AVX-VNNI: CPUID leaf 7 subleaf 1, EAX bit 4 (Intel SDM vol. 2A, CPUID).
 * Asked of the CPU directly: clang before 15 has no "avxvnni" for
 * __builtin_cpu_supports. The OS's saving of the YMM state, which it
 * needs too, is part of the "avx2" check made with it. */
static int has_avxvnni(void)
{
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 4 & 1u);
}
#endif

/* The kernel's tables have their own layout (a key of the cache): a
 * hasher's own cache starts over. */
static void set_kernel(ia_hasher *h, hrow_fn fn, int layout)
{
    tables_unpin(h);
    if (h->own_tables)
        cache_clear(&h->tables->cache);
    h->hrow = fn;
    h->wide_in = 0;
    h->hrow2 = NULL;
    h->block_ok = 0;
    h->layout = layout;
}

int ia_hasher_kernel(ia_hasher *h, int level)
{
    switch (level) {
    case 0:
        set_kernel(h, hrow_scalar, LAYOUT_PLAIN);
        return 0;
#ifdef HASH_X86
    case 1:
        set_kernel(h, hrow_sse2, LAYOUT_SPLIT);
        return 0;
    case 2:
        if (!__builtin_cpu_supports("avx2"))
            return -1;
        set_kernel(h, hrow_avx2, LAYOUT_SPLIT);
        h->wide_in = 1;
        h->hrow2 = hrow2_avx2;
        return 0;
    case 3:   /* the same kernel as 4, EVEX-encoded */
        if (!__builtin_cpu_supports("avx2") ||
            !__builtin_cpu_supports("avx512vnni") ||
            !__builtin_cpu_supports("avx512vl"))
            return -1;
        set_kernel(h, hrow_avx512vnni, LAYOUT_BYTES);
        return 0;
    case 4:
        if (!__builtin_cpu_supports("avx2") || !has_avxvnni())
            return -1;
        set_kernel(h, hrow_avxvnni, LAYOUT_BYTES);
        return 0;
    case 5:   /* level 2, with rows in blocks where both resizes allow */
        if (!__builtin_cpu_supports("avx512bw") ||
            !__builtin_cpu_supports("avx512vl") ||
            !__builtin_cpu_supports("avx512vnni") ||
            !__builtin_cpu_supports("avx512vbmi2") ||
            ia_hasher_kernel(h, 2) != 0)
            return -1;
        h->block_ok = 1;
        return 0;
#endif
    default:
        return -1;
    }
}
