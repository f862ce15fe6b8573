/*
 * Benchmark of the per-pixel measurements (src/measure) against the JPEG
 * decode they follow. A pool of 64 JPEGs of random sizes (each side
 * drawn from LO..HI; smooth gradients with texture and noise, quality 90,
 * 4:2:0, as cameras and exporters write them) is decoded by the scan's
 * JPEG decoder:
 *
 *   decode            rows discarded: the decode ceiling of these images
 *   decode+measure    rows into ia_measure (statistics and hashes), as a
 *                     scan does
 *   hashes, stats,    the measurements alone, on rows decoded beforehand:
 *   both              the hasher (pixel hash, phash, dhash) with luma made
 *                     by ia_luma_row, the statistics (luma, channels,
 *                     histogram, Laplacian), and ia_measure's sink
 *
 * Each figure is the thread CPU time of the best of five rounds of COUNT
 * images (the machine is shared; CPU time and the minimum are the least
 * disturbed), in microseconds per image and nanoseconds per pixel, and
 * the ratio decode / (decode+measure): how close the measured decode
 * comes to the bare one. SHA-256, reads and the DB, which a scan adds,
 * are not here (bench/run.sh measures the whole scan).
 *
 * Usage: measure_bench [LO HI [COUNT]]   (default 64 96 4000)
 *        measure_bench --files COUNT FILE...
 *
 * --files: the pool is up to 64 given JPEG files instead (real photos:
 * their textures, not the synthetic ones, decide how the histogram and
 * the decoder behave).
 *
 * IA_BENCH_KERNEL=LEVEL: the "hashes" figure with that horizontal
 * Lanczos kernel (ia_hasher_kernel: 2 AVX2, 3 AVX512-VNNI, 4 AVX-VNNI,
 * 5 AVX-512 blocks of rows)
 * instead of the CPU's best, to compare kernels on one machine.
 * IA_BENCH_STATS=LEVEL: the "stats" figure with that statistics kernel
 * (ia_stats_kernel: 0 portable, 2 AVX2, 3 AVX-512).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>

#include "imgaudit.h"
#include "decode/decode.h"
#include "measure/hash.h"
#include "measure/measure.h"
#include "measure/stats.h"

#define POOL 64
#define ROUNDS 5

typedef struct image {
    uint32_t w, h;
    unsigned char *jpg;     /* the encoded file */
    unsigned long len;
    uint8_t *rgb;           /* its decoded rows, w * 3 bytes each */
} image;

static uint64_t state = 7;

static uint32_t rng(void)
{
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(state >> 33);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Smooth light, a coarse texture and a little noise in each channel. */
static void paint(uint8_t *rgb, uint32_t w, uint32_t h)
{
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            int base = (int)(x * 160 / w + y * 60 / h) + 20;
            int tex = (int)(((x / 5) ^ (y / 7)) & 15) * 3;
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = clamp8(base + tex + (int)(rng() % 9) - 4);
            p[1] = clamp8(base * 3 / 4 + tex + (int)(rng() % 9) - 4);
            p[2] = clamp8(255 - base + (int)(rng() % 9) - 4);
        }
}

static int encode(image *im)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    uint8_t *rgb = malloc((size_t)im->w * im->h * 3);
    if (!rgb)
        return -1;
    paint(rgb, im->w, im->h);
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &im->jpg, &im->len);
    c.image_width = im->w;
    c.image_height = im->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = rgb + (size_t)c.next_scanline * im->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(rgb);
    return 0;
}

/* ---- sinks ---------------------------------------------------------------- */

static int discard_begin(void *ctx, uint32_t w, uint32_t h, int ch, int bd)
{
    (void)ctx, (void)w, (void)h, (void)ch, (void)bd;
    return 0;
}

static void discard_row(void *ctx, const uint8_t *row)
{
    (void)ctx, (void)row;
}

typedef struct keep {
    image *im;
    uint32_t y;
} keep;

static int keep_begin(void *ctx, uint32_t w, uint32_t h, int ch, int bd)
{
    keep *k = ctx;
    (void)bd;
    if (ch != 3 || w != k->im->w || h != k->im->h)
        return IA_ERR_ARG;
    k->im->rgb = malloc((size_t)w * h * 3);
    k->y = 0;
    return k->im->rgb ? 0 : IA_ERR_NOMEM;
}

static void keep_row(void *ctx, const uint8_t *row)
{
    keep *k = ctx;
    memcpy(k->im->rgb + (size_t)k->y++ * k->im->w * 3, row,
           (size_t)k->im->w * 3);
}

/* ---- the runs ------------------------------------------------------------- */

typedef struct bench {
    image pool[POOL];
    int pool_n;
    int count;
    uint64_t pixels;        /* of one round */
    ia_jpeg_decoder *dec;
    ia_measure *m;
    ia_hasher *hasher;
    ia_stats *stats;
    ia_file_result *res;
    uint8_t *luma;
} bench;

enum { DECODE, DECODE_MEASURE, HASHES, STATS, BOTH, KINDS };
static const char *const kind_name[KINDS] = {
    "decode", "decode+measure", "hashes", "stats", "both"};

static void decode_one(bench *b, const image *im, const ia_rowsink *sink)
{
    ia_limits lim;
    ia_limits_defaults(&lim, 0);
    ia_result_reset(b->res);
    if (ia_decode_jpeg(b->dec, im->jpg, im->len, &lim, sink, b->res) !=
            IA_OK ||
        b->res->status != IA_ST_OK) {
        fprintf(stderr, "measure_bench: a pool JPEG did not decode\n");
        exit(1);
    }
}

static void hashes_one(bench *b, const image *im)
{
    ia_hashes out;
    ia_hasher_begin(b->hasher, im->w, im->h, 3, 8);
    for (uint32_t y = 0; y < im->h; y++) {
        const uint8_t *row = im->rgb + (size_t)y * im->w * 3;
        ia_luma_row(row, im->w, 3, b->luma);
        ia_hasher_row(b->hasher, row, b->luma);
    }
    ia_hasher_end(b->hasher, &out);
}

static void stats_one(bench *b, const image *im)
{
    ia_pixel_stats out;
    ia_stats_begin(b->stats, im->w, im->h, 3);
    for (uint32_t y = 0; y < im->h; y++)
        ia_stats_row_fused(b->stats, im->rgb + (size_t)y * im->w * 3,
                           b->luma);
    ia_stats_end(b->stats, &out);
}

static void both_one(bench *b, const image *im)
{
    ia_rowsink sink;
    ia_measure_sink(b->m, &sink);
    sink.begin(sink.ctx, im->w, im->h, 3, 8);
    for (uint32_t y = 0; y < im->h; y++)
        sink.row(sink.ctx, im->rgb + (size_t)y * im->w * 3);
    ia_result_reset(b->res);
    ia_measure_finish(b->m, b->res);
}

static double round_of(bench *b, int kind)
{
    ia_rowsink discard = {NULL, discard_begin, discard_row}, measure;
    double t = cpu_now();
    for (int i = 0; i < b->count; i++) {
        const image *im = &b->pool[i % b->pool_n];
        switch (kind) {
        case DECODE: decode_one(b, im, &discard); break;
        case DECODE_MEASURE:
            ia_measure_sink(b->m, &measure);
            decode_one(b, im, &measure);
            ia_measure_finish(b->m, b->res);
            break;
        case HASHES: hashes_one(b, im); break;
        case STATS: stats_one(b, im); break;
        default: both_one(b, im); break;
        }
    }
    return cpu_now() - t;
}

/* im->jpg from the file at path, im->w and im->h from its header. */
static int load(image *im, const char *path)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    FILE *f = fopen(path, "rb");
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0 || !(im->jpg = malloc((size_t)n)) ||
        fread(im->jpg, 1, (size_t)n, f) != (size_t)n) {
        if (f)
            fclose(f);
        fprintf(stderr, "measure_bench: cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    im->len = (unsigned long)n;
    d.err = jpeg_std_error(&err);   /* a bad file exits here, as it should */
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, im->jpg, im->len);
    jpeg_read_header(&d, TRUE);
    im->w = d.image_width;
    im->h = d.image_height;
    jpeg_destroy_decompress(&d);
    return 0;
}

/* The pool: pool_n JPEGs, synthetic (files NULL) or the given files. */
static int setup(bench *b, uint32_t lo, uint32_t hi, char **files)
{
    uint32_t maxw = 0;
    if (ia_jpeg_decoder_new(&b->dec) != 0 || ia_measure_new(&b->m) != 0 ||
        ia_hasher_new(&b->hasher) != 0 || ia_stats_new(&b->stats) != 0 ||
        !(b->res = malloc(sizeof *b->res)))
        return -1;
    const char *level = getenv("IA_BENCH_KERNEL");
    if (level && ia_hasher_kernel(b->hasher, atoi(level)) != 0) {
        fprintf(stderr, "measure_bench: this CPU has no kernel %s\n", level);
        return -1;
    }
    level = getenv("IA_BENCH_STATS");
    if (level && ia_stats_kernel(b->stats, atoi(level)) != 0) {
        fprintf(stderr, "measure_bench: this CPU has no statistics kernel %s\n",
                level);
        return -1;
    }
    for (int i = 0; i < b->pool_n; i++) {
        image *im = &b->pool[i];
        if (files) {
            if (load(im, files[i]) != 0)
                return -1;
        } else {
            im->w = lo + rng() % (hi - lo + 1);
            im->h = lo + rng() % (hi - lo + 1);
            if (encode(im) != 0)
                return -1;
        }
        maxw = im->w > maxw ? im->w : maxw;
        keep k = {im, 0};
        ia_rowsink sink = {&k, keep_begin, keep_row};
        decode_one(b, im, &sink);
    }
    for (int i = 0; i < b->count; i++)
        b->pixels += (uint64_t)b->pool[i % b->pool_n].w *
                     b->pool[i % b->pool_n].h;
    b->luma = malloc(maxw);
    return b->luma ? 0 : -1;
}

int main(int argc, char **argv)
{
    bench b;
    int from_files = argc > 3 && strcmp(argv[1], "--files") == 0;
    uint32_t lo = argc > 2 && !from_files ? (uint32_t)atoi(argv[1]) : 64;
    uint32_t hi = argc > 2 && !from_files ? (uint32_t)atoi(argv[2]) : 96;
    memset(&b, 0, sizeof b);
    b.pool_n = from_files ? (argc - 3 < POOL ? argc - 3 : POOL) : POOL;
    b.count = from_files ? atoi(argv[2]) : argc > 3 ? atoi(argv[3]) : 4000;
    if (lo < 1 || hi < lo || hi > 8192 || b.count < 1) {
        fprintf(stderr, "usage: measure_bench [LO HI [COUNT]]\n"
                        "       measure_bench --files COUNT FILE...\n");
        return 2;
    }
    if (setup(&b, lo, hi, from_files ? argv + 3 : NULL) != 0) {
        fprintf(stderr, "measure_bench: out of memory\n");
        return 1;
    }
    double best[KINDS];
    for (int k = 0; k < KINDS; k++)
        best[k] = 1e300;
    /* rounds of every kind in turn: a disturbance spreads over all */
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < KINDS; k++) {
            double t = round_of(&b, k);
            best[k] = t < best[k] ? t : best[k];
        }
    if (from_files)
        printf("measure_bench: %d JPEGs (%d files), %.2f MP a round, best of "
               "%d rounds (thread CPU time)\n",
               b.count, b.pool_n, (double)b.pixels / 1e6, ROUNDS);
    else
        printf("measure_bench: %d JPEGs of %u..%u px a side, %.2f MP a "
               "round, best of %d rounds (thread CPU time)\n",
               b.count, lo, hi, (double)b.pixels / 1e6, ROUNDS);
    for (int k = 0; k < KINDS; k++)
        printf("  %-15s %9.2f us/image %7.2f ns/px\n", kind_name[k],
               best[k] * 1e6 / b.count, best[k] * 1e9 / (double)b.pixels);
    printf("  ratio decode / (decode+measure): %.2f\n",
           best[DECODE] / best[DECODE_MEASURE]);
    for (int i = 0; i < b.pool_n; i++) {
        free(b.pool[i].jpg);
        free(b.pool[i].rgb);
    }
    ia_jpeg_decoder_free(b.dec);
    ia_measure_free(b.m);
    ia_hasher_free(b.hasher);
    ia_stats_free(b.stats);
    free(b.res);
    free(b.luma);
    return 0;
}
