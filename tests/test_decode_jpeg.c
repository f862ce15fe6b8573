/*
 * Tests of the JPEG decoder. Every JPEG is written in memory here with
 * libjpeg's compressor (jpeg_mem_dest) from samples generated in the test;
 * expected values come from those samples (block-uniform images at
 * quality 100 survive the round trip exactly), from the quality the
 * encoder was given, from the CMYK formula worked out by hand, or from
 * Pillow's reference sums for the real dataset; never from the decoder's
 * own output. Damaged files are made by editing the encoded bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "core/core.h"
#include "count_gate.h"
#include "decode/decode.h"
#include "imgaudit.h"

/* ---- Synthetic images --------------------------------------------------- */

enum pattern {
    PAT_NOISY,   /* smooth gradients plus noise: realistic entropy */
    PAT_BLOCKS,  /* each 8x8 block one colour: exact at quality 100 */
};

typedef struct enc_opts {
    int w, h, comps;
    J_COLOR_SPACE in_cs;     /* JCS_RGB, JCS_GRAYSCALE, JCS_CMYK, ... */
    J_COLOR_SPACE jpeg_cs;   /* JCS_UNKNOWN: libjpeg's default for in_cs */
    int quality;
    int progressive;
    int sampling_444;
    int restart_rows;
    int jfif_major;          /* 0: libjpeg's default (1) */
    int no_tables;           /* abbreviated image: no DQT, no DHT */
    enum pattern pat;
    const uint8_t *app1;
    size_t app1_len;
    const uint8_t *app2;
    size_t app2_len;
} enc_opts;

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 24;
}

/* Sample (x, y, channel) of the block pattern: a hash of the block. */
static uint8_t block_sample(int x, int y, int c)
{
    unsigned b = (unsigned)(x / 8) * 131u + (unsigned)(y / 8) * 71u +
                 (unsigned)c * 53u;
    return (uint8_t)((b * 2654435761u) >> 24);
}

static void fill_row(const enc_opts *o, int y, uint8_t *row, uint32_t *seed)
{
    for (int x = 0; x < o->w; x++)
        for (int c = 0; c < o->comps; c++) {
            uint8_t v;
            if (o->pat == PAT_BLOCKS) {
                v = block_sample(x, y, c);
            } else {
                int g = (x * 255 / o->w + y * 255 / o->h + c * 60) % 256;
                int n = (int)lcg(seed) % 48 - 24;
                int s = g + n;
                v = (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
            }
            row[(size_t)x * (size_t)o->comps + (size_t)c] = v;
        }
}

static void set_sampling_444(struct jpeg_compress_struct *c)
{
    for (int i = 0; i < c->num_components; i++)
        c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
}

/* Encodes with libjpeg; the caller frees *out with free(). */
static void encode(const enc_opts *o, uint8_t **out, size_t *out_len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    uint32_t seed = 12345;

    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &mem_len);
    c.image_width = (JDIMENSION)o->w;
    c.image_height = (JDIMENSION)o->h;
    c.input_components = o->comps;
    c.in_color_space = o->in_cs;
    jpeg_set_defaults(&c);
    if (o->jpeg_cs != JCS_UNKNOWN)
        jpeg_set_colorspace(&c, o->jpeg_cs);
    jpeg_set_quality(&c, o->quality, TRUE);
    if (o->sampling_444)
        set_sampling_444(&c);
    if (o->progressive)
        jpeg_simple_progression(&c);
    c.restart_in_rows = o->restart_rows;
    if (o->jfif_major)
        c.JFIF_major_version = (UINT8)o->jfif_major;
    if (o->no_tables)
        jpeg_suppress_tables(&c, TRUE);
    jpeg_start_compress(&c, !o->no_tables);
    if (o->app1)
        jpeg_write_marker(&c, JPEG_APP0 + 1, o->app1, (unsigned)o->app1_len);
    if (o->app2)
        jpeg_write_marker(&c, JPEG_APP0 + 2, o->app2, (unsigned)o->app2_len);
    uint8_t *row = malloc((size_t)o->w * (size_t)o->comps);
    assert_non_null(row);
    while (c.next_scanline < c.image_height) {
        fill_row(o, (int)c.next_scanline, row, &seed);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *out = mem;
    *out_len = mem_len;
}

static enc_opts rgb_opts(int w, int h, int quality)
{
    enc_opts o = {0};
    o.w = w;
    o.h = h;
    o.comps = 3;
    o.in_cs = JCS_RGB;
    o.jpeg_cs = JCS_UNKNOWN;
    o.quality = quality;
    o.pat = PAT_NOISY;
    return o;
}

/* ---- Marker surgery ----------------------------------------------------- */

/* Offset of the first marker FF code, walking the segments from SOI; or
 * 0. For SOS the walk stops there (entropy data follows). */
static size_t find_marker(const uint8_t *p, size_t n, int code)
{
    size_t pos = 2;
    while (pos + 4 <= n && p[pos] == 0xFF) {
        if (p[pos + 1] == code)
            return pos;
        if (p[pos + 1] == 0xDA)
            return 0;
        pos += 2 + ((size_t)p[pos + 2] << 8 | p[pos + 3]);
    }
    return 0;
}

static size_t find_sof(const uint8_t *p, size_t n)
{
    size_t pos = find_marker(p, n, 0xC0);
    return pos ? pos : find_marker(p, n, 0xC2);
}

static size_t entropy_start(const uint8_t *p, size_t n)
{
    size_t pos = find_marker(p, n, 0xDA);
    assert_true(pos > 0);
    return pos + 2 + ((size_t)p[pos + 2] << 8 | p[pos + 3]);
}

static void set_sof_size(uint8_t *p, size_t n, unsigned w, unsigned h)
{
    size_t sof = find_sof(p, n);
    assert_true(sof > 0);
    p[sof + 5] = (uint8_t)(h >> 8);
    p[sof + 6] = (uint8_t)h;
    p[sof + 7] = (uint8_t)(w >> 8);
    p[sof + 8] = (uint8_t)w;
}

/* ---- Test sink ---------------------------------------------------------- */

typedef struct test_sink {
    int begins;
    uint32_t w, h;
    int channels, bit_depth;
    int fail_begin;
    uint32_t rows;
    uint64_t sum[3];
    uint8_t *image;          /* optional copy of every row */
    size_t image_cap;
} test_sink;

static int sink_begin(void *ctx, uint32_t w, uint32_t h, int channels,
                      int bit_depth)
{
    test_sink *s = ctx;
    s->begins++;
    s->w = w;
    s->h = h;
    s->channels = channels;
    s->bit_depth = bit_depth;
    return s->fail_begin;
}

static void sink_row(void *ctx, const uint8_t *row)
{
    test_sink *s = ctx;
    size_t n = (size_t)s->w * (size_t)s->channels;
    assert_true(s->rows < s->h);
    for (size_t i = 0; i < n; i++)
        s->sum[s->channels == 1 ? 0 : i % 3] += row[i];
    if (s->image && (s->rows + 1) * n <= s->image_cap)
        memcpy(s->image + s->rows * n, row, n);
    s->rows++;
}

typedef struct decoded {
    ia_file_result res;
    test_sink sink;
} decoded;

static ia_jpeg_decoder *g_dec; /* one per test run, as a worker has */

static void decode_lim(const uint8_t *buf, size_t len, const ia_limits *lim,
                       decoded *out)
{
    ia_limits l = lim ? *lim : (ia_limits){0};
    ia_limits_defaults(&l, l.max_pixels);
    ia_rowsink sink = {&out->sink, sink_begin, sink_row};
    ia_result_reset(&out->res);
    assert_int_equal(ia_decode_jpeg(g_dec, buf, len, &l, &sink, &out->res),
                     IA_OK);
    /* Invariants every decode keeps. */
    assert_true(out->sink.begins <= 1);
    if (out->res.status == IA_ST_OK) {
        assert_int_equal(out->sink.begins, 1);
        assert_int_equal(out->sink.rows, (uint32_t)out->res.height);
        assert_int_equal(out->res.rows_decoded, out->res.rows_total);
        assert_string_equal(out->res.message, "");
    } else {
        assert_true(out->res.message[0] != '\0');
    }
}

static void decode(const uint8_t *buf, size_t len, decoded *out)
{
    memset(out, 0, sizeof *out);
    decode_lim(buf, len, NULL, out);
}

static const ia_finding_rec *finding(const ia_file_result *r, const char *c)
{
    for (int i = 0; i < r->nfindings; i++)
        if (strcmp(r->findings[i].code, c) == 0)
            return &r->findings[i];
    return NULL;
}

/* The finding, failing the test when absent (never NULL). */
static const ia_finding_rec *need_finding(const ia_file_result *r,
                                          const char *c)
{
    static const ia_finding_rec none = {"", -1, ""};
    const ia_finding_rec *f = finding(r, c);
    if (!f)
        fail_msg("no finding %s", c);
    return f ? f : &none;
}

static int setup(void **state)
{
    (void)state;
    return ia_jpeg_decoder_new(&g_dec);
}

static int teardown(void **state)
{
    (void)state;
    ia_jpeg_decoder_free(g_dec);
    g_dec = NULL;
    return 0;
}

/* ---- Quality ------------------------------------------------------------ */

static void test_quality_of_encoded_files(void **state)
{
    (void)state;
    static const int qualities[] = {10, 30, 50, 75, 90, 95, 100};
    for (size_t i = 0; i < sizeof qualities / sizeof qualities[0]; i++) {
        enc_opts o = rgb_opts(64, 48, qualities[i]);
        uint8_t *jpg;
        size_t n;
        decoded d;
        encode(&o, &jpg, &n);
        decode(jpg, n, &d);
        assert_int_equal(d.res.status, IA_ST_OK);
        if (d.res.jpeg_quality != qualities[i])
            fail_msg("quality %d estimated as %d", qualities[i],
                     d.res.jpeg_quality);
        free(jpg);
    }
}

/* libjpeg's scaling, written out from jcparam.c for the table tests. */
static const uint16_t k1[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
};

static void scaled_table(int q, uint16_t t[64])
{
    long scale = q < 50 ? 5000 / q : 200 - 2 * q;
    for (int i = 0; i < 64; i++) {
        long v = (k1[i] * scale + 50) / 100;
        t[i] = (uint16_t)(v < 1 ? 1 : v > 255 ? 255 : v);
    }
}

static void test_quality_tables(void **state)
{
    (void)state;
    uint16_t t[64];
    for (int q = 1; q <= 100; q++) {
        scaled_table(q, t);
        assert_int_equal(ia_jpeg_quality_estimate(t), q);
    }
    /* Rounding down instead of to nearest: still quality 80. */
    for (int i = 0; i < 64; i++)
        t[i] = (uint16_t)(k1[i] * 40 / 100 ? k1[i] * 40 / 100 : 1);
    assert_int_equal(ia_jpeg_quality_estimate(t), 80);
    /* A flat table is nothing like K.1 scaled. */
    for (int i = 0; i < 64; i++)
        t[i] = 40;
    assert_int_equal(ia_jpeg_quality_estimate(t), -1);
    assert_int_equal(ia_jpeg_quality_estimate(NULL), -1);
}

/* The search as specified (jpeg_meta.c): the first q with the smallest
 * sum of absolute differences, if that sum is at most 64; written plainly
 * (every q, every entry) to check the shortcuts against. */
static int quality_reference(const uint16_t t[64])
{
    long max = 255, best = 65;
    int best_q = -1;
    for (int i = 0; i < 64; i++)
        if (t[i] > 255)
            max = 32767;
    for (int q = 1; q <= 100; q++) {
        long scale = q < 50 ? 5000 / q : 200 - 2 * q, sad = 0;
        for (int i = 0; i < 64; i++) {
            long v = (k1[i] * scale + 50) / 100;
            v = v < 1 ? 1 : v > max ? max : v;
            sad += labs((long)t[i] - v);
        }
        if (sad < best) {
            best = sad;
            best_q = q;
        }
    }
    return best_q;
}

/* Exact tables (baseline and 16-bit), the same nudged by a few steps
 * here and there, and random tables: the estimate is the reference's. */
static void test_quality_matches_search(void **state)
{
    (void)state;
    uint16_t t[64];
    uint32_t seed = 12345;
    for (int q = 1; q <= 100; q++) {
        for (int wide = 0; wide < 2; wide++) {
            long scale = q < 50 ? 5000 / q : 200 - 2 * q;
            for (int i = 0; i < 64; i++) {
                long v = (k1[i] * scale + 50) / 100;
                t[i] = (uint16_t)(v < 1 ? 1 : v > (wide ? 32767 : 255) ? 255
                                                                        : v);
                if (wide && v > 255)
                    t[i] = (uint16_t)v;
            }
            assert_int_equal(ia_jpeg_quality_estimate(t),
                             quality_reference(t));
            for (int round = 0; round < 20; round++) {
                uint16_t u[64];
                memcpy(u, t, sizeof u);
                for (int k = 0; k < 1 + round % 8; k++) {
                    seed = seed * 1103515245u + 12345u;
                    int i = (int)(seed >> 16) % 64;
                    int d = (int)((seed >> 8) % 5) - 2;
                    u[i] = (uint16_t)(u[i] + d < 1 ? 1 : u[i] + d);
                }
                assert_int_equal(ia_jpeg_quality_estimate(u),
                                 quality_reference(u));
            }
        }
    }
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 64; i++) {
            seed = seed * 1103515245u + 12345u;
            t[i] = (uint16_t)(1 + (seed >> 16) % (round % 2 ? 255 : 40));
        }
        assert_int_equal(ia_jpeg_quality_estimate(t), quality_reference(t));
    }
}

/* ---- Colour layouts ----------------------------------------------------- */

/* An RGB-coded JPEG (Adobe transform 0, no YCbCr) of uniform 8x8 blocks at
 * quality 100 decodes to exactly the samples written. */
static void test_rgb_exact(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(40, 24, 100);
    o.pat = PAT_BLOCKS;
    o.jpeg_cs = JCS_RGB;
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    memset(&d, 0, sizeof d);
    d.sink.image_cap = 40 * 24 * 3;
    d.sink.image = malloc(d.sink.image_cap);
    assert_non_null(d.sink.image);
    decode_lim(jpg, n, NULL, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_string_equal(d.res.color_space, "rgb");
    assert_int_equal(d.res.channels, 3);
    assert_int_equal(d.sink.channels, 3);
    assert_int_equal(d.sink.bit_depth, 8);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 40; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(d.sink.image[((size_t)y * 40 + (size_t)x) * 3 +
                                              (size_t)c],
                                 block_sample(x, y, c));
    assert_null(finding(&d.res, "cmyk"));
    assert_null(finding(&d.res, "grayscale"));
    free(d.sink.image);
    free(jpg);
}

static void test_baseline_facts(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(33, 17, 85);
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_int_equal(d.res.width, 33);
    assert_int_equal(d.res.height, 17);
    assert_int_equal(d.res.channels, 3);
    assert_int_equal(d.res.bit_depth, 8);
    assert_string_equal(d.res.color_space, "ycbcr");
    assert_string_equal(d.res.subsampling, "4:2:0");
    assert_int_equal(d.res.progressive, 0);
    assert_int_equal(d.res.interlaced, 0);
    assert_int_equal(d.res.jpeg_quality, 85);
    assert_int_equal(d.res.exif_orientation, -1);
    assert_int_equal(d.res.icc, 0);
    assert_int_equal(d.res.has_alpha, 0);
    assert_int_equal(d.res.animated, 0);
    assert_int_equal(d.res.palette, -1);
    assert_int_equal(d.res.rows_total, 17);
    assert_int_equal(d.sink.w, 33);
    assert_int_equal(d.sink.h, 17);
    assert_int_equal(d.res.nfindings, 0);
    free(jpg);

    o.sampling_444 = 1;
    encode(&o, &jpg, &n);
    decode(jpg, n, &d);
    assert_string_equal(d.res.subsampling, "4:4:4");
    free(jpg);
}

/* Progressive coding rearranges the same quantized coefficients, so the
 * pixels equal the baseline file's. */
static void test_progressive(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(96, 64, 85);
    uint8_t *base, *prog;
    size_t nb, np;
    decoded a, b;
    encode(&o, &base, &nb);
    o.progressive = 1;
    encode(&o, &prog, &np);
    decode(base, nb, &a);
    decode(prog, np, &b);
    assert_int_equal(b.res.status, IA_ST_OK);
    assert_int_equal(b.res.progressive, 1);
    assert_int_equal(b.res.interlaced, 1);
    assert_int_equal(b.sink.rows, 64);
    for (int c = 0; c < 3; c++)
        assert_true(a.sink.sum[c] == b.sink.sum[c]);
    assert_int_equal(b.res.jpeg_quality, 85);
    free(base);
    free(prog);
}

static void test_grayscale(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(24, 16, 100);
    o.comps = 1;
    o.in_cs = JCS_GRAYSCALE;
    o.pat = PAT_BLOCKS;
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    memset(&d, 0, sizeof d);
    d.sink.image_cap = 24 * 16;
    d.sink.image = malloc(d.sink.image_cap);
    assert_non_null(d.sink.image);
    decode_lim(jpg, n, NULL, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_int_equal(d.res.channels, 1);
    assert_int_equal(d.sink.channels, 1);
    assert_string_equal(d.res.color_space, "gray");
    assert_null(d.res.subsampling);
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 24; x++)
            assert_int_equal(d.sink.image[(size_t)y * 24 + (size_t)x],
                             block_sample(x, y, 0));
    const ia_finding_rec *f = need_finding(&d.res, "grayscale");
    assert_int_equal(f->severity, IA_SEV_INFO);
    free(d.sink.image);
    free(jpg);
}

/* Four 8x8 quadrants of one CMYK colour each; quality 100 keeps them. */
static const uint8_t cmyk_quad[4][4] = {
    {30, 100, 200, 60}, {0, 0, 0, 0}, {255, 255, 255, 255}, {128, 64, 32, 200},
};
/* By hand from Pillow's path (decode/jpeg.c, cmyk_row_to_rgb):
 * R = k - MULDIV255(255 - c, k), MULDIV255(a, b) = (t = a*b + 128,
 * ((t >> 8) + t) >> 8). (30,100,200,60): t = 225*60+128 = 13628 ->
 * (53 + 13628) >> 8 = 53, R = 7; 155*60+128 = 9428 -> 36, G = 24;
 * 55*60+128 = 3428 -> 13, B = 47. (128,64,32,200): 127*200+128 = 25528
 * -> (99 + 25528) >> 8 = 100, R = 100; 191*200+128 -> 150, G = 50;
 * 223*200+128 -> 175, B = 25. k = 0 gives black, as Pillow's inverted
 * convention reads k = 0 as full ink; (255,...,255) gives white. */
static const uint8_t cmyk_rgb[4][3] = {
    {7, 24, 47}, {0, 0, 0}, {255, 255, 255}, {100, 50, 25},
};

static void encode_cmyk(J_COLOR_SPACE jpeg_cs, uint8_t **jpg, size_t *n)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    uint8_t row[16 * 4];
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = 16;
    c.image_height = 16;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c); /* CMYK: writes an Adobe APP14 marker */
    jpeg_set_colorspace(&c, jpeg_cs);
    jpeg_set_quality(&c, 100, TRUE);
    set_sampling_444(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < 16) {
        int qy = c.next_scanline < 8 ? 0 : 2;
        for (int x = 0; x < 16; x++)
            memcpy(row + 4 * x, cmyk_quad[qy + (x >= 8)], 4);
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *jpg = mem;
    *n = len;
}

static void check_cmyk(J_COLOR_SPACE jpeg_cs, const char *name, int tol)
{
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode_cmyk(jpeg_cs, &jpg, &n);
    assert_true(find_marker(jpg, n, 0xEE) > 0); /* Adobe APP14 */
    memset(&d, 0, sizeof d);
    d.sink.image_cap = 16 * 16 * 3;
    d.sink.image = malloc(d.sink.image_cap);
    assert_non_null(d.sink.image);
    decode_lim(jpg, n, NULL, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_string_equal(d.res.color_space, name);
    assert_int_equal(d.res.channels, 4);
    assert_int_equal(d.sink.channels, 3);
    for (int q = 0; q < 4; q++) {
        int x = (q & 1) ? 12 : 3, y = (q & 2) ? 12 : 3;
        const uint8_t *px = d.sink.image + ((size_t)y * 16 + (size_t)x) * 3;
        for (int c = 0; c < 3; c++) {
            int diff = px[c] - cmyk_rgb[q][c];
            if (diff < -tol || diff > tol)
                fail_msg("%s quadrant %d channel %d: got %d, want %d", name,
                         q, c, px[c], cmyk_rgb[q][c]);
        }
    }
    const ia_finding_rec *f = need_finding(&d.res, "cmyk");
    assert_int_equal(f->severity, IA_SEV_INFO);
    free(d.sink.image);
    free(jpg);
}

static void test_cmyk(void **state)
{
    (void)state;
    check_cmyk(JCS_CMYK, "cmyk", 0);
    /* YCCK adds a lossy colour transform: within 2 levels. */
    check_cmyk(JCS_YCCK, "ycck", 2);
}

/* Two components: libjpeg can, Pillow cannot ("cannot handle 2-layer"). */
static void test_two_components(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(16, 16, 90);
    o.comps = 2;
    o.in_cs = JCS_UNKNOWN;
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_int_equal(d.sink.begins, 0);
    assert_non_null(strstr(d.res.message, "2 color components"));
    free(jpg);
}

/* ---- Metadata ----------------------------------------------------------- */

/* "Exif\0\0", then TIFF: II, 42, IFD0 at 8 with one entry (tag 0x0112,
 * SHORT, count 1, value), next IFD 0. */
static size_t make_exif(uint8_t *p, int big_endian, int tag, int value)
{
    static const uint8_t le[] = {
        'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
        1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
    };
    memcpy(p, le, sizeof le);
    p[16] = (uint8_t)tag;
    p[17] = (uint8_t)(tag >> 8);
    p[24] = (uint8_t)value;
    if (big_endian) {
        static const uint8_t be_hdr[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1};
        memcpy(p + 6, be_hdr, sizeof be_hdr);
        p[16] = (uint8_t)(tag >> 8);
        p[17] = (uint8_t)tag;
        p[18] = 0;
        p[19] = 3;
        p[20] = p[21] = p[22] = 0;
        p[23] = 1;
        p[24] = 0;
        p[25] = (uint8_t)value;
    }
    return sizeof le;
}

static void test_exif_orientation(void **state)
{
    (void)state;
    uint8_t exif[64];
    size_t n = make_exif(exif, 0, 0x0112, 6);
    enc_opts o = rgb_opts(32, 16, 90);
    o.app1 = exif;
    o.app1_len = n;
    uint8_t *jpg;
    size_t len;
    decoded d;
    encode(&o, &jpg, &len);
    decode(jpg, len, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_int_equal(d.res.exif_orientation, 6);
    const ia_finding_rec *f = need_finding(&d.res, "exif_rotated");
    assert_int_equal(f->severity, IA_SEV_INFO);
    assert_non_null(strstr(f->detail, "orientation 6"));
    assert_non_null(strstr(f->detail, "90 degrees clockwise"));
    /* Pixels are stored unrotated: width stays 32. */
    assert_int_equal(d.sink.w, 32);
    free(jpg);

    make_exif(exif, 0, 0x0112, 1);
    encode(&o, &jpg, &len);
    decode(jpg, len, &d);
    assert_int_equal(d.res.exif_orientation, 1);
    assert_null(finding(&d.res, "exif_rotated"));
    free(jpg);
}

static void test_exif_parser(void **state)
{
    (void)state;
    uint8_t exif[64];
    size_t n = make_exif(exif, 0, 0x0112, 6);
    assert_int_equal(ia_exif_orientation(exif, n), 6);
    n = make_exif(exif, 1, 0x0112, 3);
    assert_int_equal(ia_exif_orientation(exif, n), 3);
    n = make_exif(exif, 0, 0x0112, 9); /* out of range */
    assert_int_equal(ia_exif_orientation(exif, n), -1);
    n = make_exif(exif, 0, 0x010F, 6); /* Make, not Orientation */
    assert_int_equal(ia_exif_orientation(exif, n), -1);
    n = make_exif(exif, 0, 0x0112, 6);
    assert_int_equal(ia_exif_orientation(exif, 10), -1); /* cut short */
    exif[0] = 'X';
    assert_int_equal(ia_exif_orientation(exif, n), -1);
    assert_int_equal(ia_exif_orientation(NULL, 0), -1);
}

static void test_icc_flag(void **state)
{
    (void)state;
    static const uint8_t icc[] = "ICC_PROFILE\0\x01\x01not really a profile";
    enc_opts o = rgb_opts(16, 16, 90);
    o.app2 = icc;
    o.app2_len = sizeof icc - 1;
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_int_equal(d.res.icc, 1);
    free(jpg);

    static const uint8_t fpxr[] = "FPXR\0\0\0\0";
    o.app2 = fpxr;
    o.app2_len = sizeof fpxr - 1;
    encode(&o, &jpg, &n);
    decode(jpg, n, &d);
    assert_int_equal(d.res.icc, 0);
    free(jpg);
}

/* ---- Damage ------------------------------------------------------------- */

static void test_truncated(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(320, 240, 90);
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);

    decode(jpg, n / 2, &d);
    assert_int_equal(d.res.status, IA_ST_TRUNCATED);
    assert_int_equal(d.res.rows_total, 240);
    assert_true(d.res.rows_decoded > 0);
    assert_true(d.res.rows_decoded < 240);
    assert_non_null(strstr(d.res.message, "premature end of JPEG data after"));
    /* libjpeg fills the missing part; every row still reaches the sink. */
    assert_int_equal(d.sink.rows, 240);
    int half = d.res.rows_decoded;

    decode(jpg, n * 95 / 100, &d);
    assert_int_equal(d.res.status, IA_ST_TRUNCATED);
    assert_true(d.res.rows_decoded > half);
    assert_true(d.res.rows_decoded <= 240);

    /* Only the EOI marker missing: every row is there, yet bytes are. */
    decode(jpg, n - 2, &d);
    assert_int_equal(d.res.status, IA_ST_TRUNCATED);
    assert_int_equal(d.res.rows_decoded, 240);
    assert_non_null(strstr(d.res.message, "after all 240 rows"));
    free(jpg);
}

static void test_truncated_progressive(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(160, 120, 90);
    o.progressive = 1;
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    decode(jpg, n / 2, &d);
    assert_int_equal(d.res.status, IA_ST_TRUNCATED);
    /* All scans are read before the first row comes out. */
    assert_int_equal(d.res.rows_decoded, 0);
    assert_int_equal(d.sink.rows, 120);
    free(jpg);
}

/* Cut inside a large APP1 segment: the data ends before the image does,
 * and libjpeg's "no image" error on the fake EOI is part of that. */
static void test_truncated_in_header(void **state)
{
    (void)state;
    static uint8_t big[4000];
    size_t n0 = make_exif(big, 0, 0x0112, 6);
    (void)n0;
    enc_opts o = rgb_opts(16, 16, 90);
    o.app1 = big;
    o.app1_len = sizeof big;
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    decode(jpg, 1000, &d);
    assert_int_equal(d.res.status, IA_ST_TRUNCATED);
    assert_int_equal(d.sink.begins, 0);
    assert_non_null(strstr(d.res.message, "premature end"));
    free(jpg);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(128, 96, 90);
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    size_t start = entropy_start(jpg, n);
    size_t at = start + (n - start) * 2 / 5;
    for (size_t i = at; i < at + 32; i++)
        jpg[i] = (uint8_t)~jpg[i];
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_true(strstr(d.res.message, "decoder warning: ") ||
                strstr(d.res.message, "fatal error: "));
    assert_true(strstr(d.res.message, "(JWRN_") ||
                strstr(d.res.message, "(JERR_"));
    free(jpg);
}

/* Restart markers renumbered: each restart finds the wrong RSTn. */
static void make_bad_restarts(uint8_t **jpg, size_t *n, int *count)
{
    enc_opts o = rgb_opts(64, 128, 90);
    o.restart_rows = 1;
    encode(&o, jpg, n);
    *count = 0;
    for (size_t i = entropy_start(*jpg, *n); i + 1 < *n; i++)
        if ((*jpg)[i] == 0xFF && (*jpg)[i + 1] >= 0xD0 &&
            (*jpg)[i + 1] <= 0xD7) {
            (*jpg)[i + 1] = (uint8_t)(0xD0 + (((*jpg)[i + 1] - 0xD0 + 4) & 7));
            (*count)++;
        }
}

static void test_warnings_cap(void **state)
{
    (void)state;
    uint8_t *jpg;
    size_t n;
    int restarts;
    decoded d;
    make_bad_restarts(&jpg, &n, &restarts);
    assert_int_equal(restarts, 7); /* 128 rows, MCU rows of 16 */

    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "decoder warning: "));
    assert_non_null(strstr(d.res.message, "JWRN_MUST_RESYNC"));

    ia_limits lim = {0};
    lim.max_warnings = 3;
    memset(&d, 0, sizeof d);
    decode_lim(jpg, n, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "too many warnings"));
    assert_true(d.sink.rows < 128); /* stopped early */
    free(jpg);
}

static void test_scans_cap(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(48, 48, 80);
    o.progressive = 1; /* jpeg_simple_progression: 10 scans for YCbCr */
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    ia_limits lim = {0};
    lim.max_scans = 10;
    memset(&d, 0, sizeof d);
    decode_lim(jpg, n, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_OK);

    lim.max_scans = 9;
    memset(&d, 0, sizeof d);
    decode_lim(jpg, n, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_string_equal(d.res.message,
                        "too many progressive scans: more than 9");
    free(jpg);
}

static void test_too_large(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(64, 64, 90);
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);

    ia_limits lim = {0};
    lim.max_pixels = 64 * 64;
    memset(&d, 0, sizeof d);
    decode_lim(jpg, n, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    lim.max_pixels = 64 * 64 - 1;
    memset(&d, 0, sizeof d);
    decode_lim(jpg, n, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_TOO_LARGE);
    assert_int_equal(d.sink.begins, 0);

    /* 60000 x 60000 = 3.6e9 pixels, over the default 178956970. */
    set_sof_size(jpg, n, 60000, 60000);
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_TOO_LARGE);
    assert_int_equal(d.res.width, 60000);
    assert_int_equal(d.res.height, 60000);
    assert_int_equal(d.sink.begins, 0);
    assert_int_equal(d.sink.rows, 0);
    assert_non_null(strstr(d.res.message, "60000 x 60000"));
    free(jpg);
}

/* The coefficient buffer of a progressive file is reserved before the
 * decode and released after it; a baseline file streams and reserves
 * nothing; a buffer the file's bytes cannot justify, or the gate refuses,
 * makes the file too_large before any row. */
static void test_coefficient_budget(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(64, 64, 90);
    o.sampling_444 = 1;
    uint8_t *base, *prog;
    size_t nb, np;
    decoded d;
    count_gate g = {0};
    ia_memgate gate = count_gate_of(&g, 1u << 20);
    ia_limits lim = {0};
    lim.gate = &gate;
    encode(&o, &base, &nb);
    o.progressive = 1;
    encode(&o, &prog, &np);

    memset(&d, 0, sizeof d);
    decode_lim(base, nb, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_int_equal(g.reserves, 0);

    memset(&d, 0, sizeof d);
    decode_lim(prog, np, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    assert_int_equal(g.reserves, 1);
    assert_int_equal(g.reserved, 3 * 8 * 8 * 128); /* 3 x 64 blocks */
    assert_int_equal(g.releases, 1);
    assert_int_equal(g.released, g.reserved);

    g.refuse = 1;
    memset(&d, 0, sizeof d);
    decode_lim(prog, np, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_TOO_LARGE);
    assert_string_equal(d.res.message,
                        "progressive JPEG of 64 x 64: its 0 MB coefficient "
                        "buffer is over the scan's memory budget of 1 MB");
    assert_int_equal(d.sink.begins, 0);
    assert_int_equal(g.releases, 1);

    /* 13000 x 13000 at 4:4:4: 1625^2 blocks x 3 x 128 bytes = 967 MB,
     * over 1024 x the file's few KB: refused before the gate is asked. */
    g.refuse = 0;
    g.reserves = 0;
    set_sof_size(prog, np, 13000, 13000);
    memset(&d, 0, sizeof d);
    decode_lim(prog, np, &lim, &d);
    assert_int_equal(d.res.status, IA_ST_TOO_LARGE);
    char want[160];
    snprintf(want, sizeof want, "progressive JPEG of 13000 x 13000: its 967 "
             "MB coefficient buffer is more than 1024 times the file's %zu "
             "bytes", np);
    assert_string_equal(d.res.message, want);
    assert_int_equal(g.reserves, 0);
    assert_int_equal(d.sink.begins, 0);
    free(base);
    free(prog);
}

static void test_zero_height(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(16, 16, 90);
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    set_sof_size(jpg, n, 16, 0);
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "fatal error: "));
    assert_non_null(strstr(d.res.message, "JERR_EMPTY_IMAGE"));
    assert_int_equal(d.sink.begins, 0);
    free(jpg);
}

static void test_garbage_after_soi(void **state)
{
    (void)state;
    uint8_t buf[2048];
    uint32_t seed = 7;
    decoded d;
    buf[0] = 0xFF;
    buf[1] = 0xD8;
    for (size_t i = 2; i < sizeof buf; i++)
        buf[i] = (uint8_t)lcg(&seed);
    decode(buf, sizeof buf, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_int_equal(d.sink.begins, 0);

    /* Garbage without a single 0xFF: libjpeg reads to the end looking for
     * a marker; the bytes it discarded were real, so not a truncation. */
    for (size_t i = 2; i < sizeof buf; i++)
        buf[i] = (uint8_t)"garbage!"[i % 8];
    decode(buf, sizeof buf, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "JWRN_EXTRANEOUS_DATA"));
}

static void test_not_jpeg(void **state)
{
    (void)state;
    static const uint8_t png[] = "\x89PNG\r\n\x1A\n\0\0\0\rIHDR";
    decoded d;
    decode(png, sizeof png - 1, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "JERR_NO_SOI"));
    decode(png, 0, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "JERR_INPUT_EMPTY"));
}

static void test_benign_warning(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(16, 16, 90);
    o.jfif_major = 2; /* "unknown JFIF revision number 2.01" */
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    decode(jpg, n, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    const ia_finding_rec *f = need_finding(&d.res, "decoder_warning");
    assert_int_equal(f->severity, IA_SEV_INFO);
    assert_non_null(strstr(f->detail, "JWRN_JFIF_MAJOR"));
    free(jpg);
}

static void test_measure_failed(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(16, 16, 90);
    uint8_t *jpg;
    size_t n;
    decoded d;
    encode(&o, &jpg, &n);
    memset(&d, 0, sizeof d);
    d.sink.fail_begin = 1;
    decode_lim(jpg, n, NULL, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_string_equal(d.res.message, "measure failed");
    assert_int_equal(d.sink.rows, 0);
    free(jpg);
}

/* One decoder across good and broken files: no state leaks between. */
static void test_reuse(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(200, 100, 75);
    uint8_t *jpg, *big;
    size_t n, nb;
    decoded first, d;
    encode(&o, &jpg, &n);
    o = rgb_opts(1000, 20, 75);
    encode(&o, &big, &nb);
    decode(jpg, n, &first);
    for (int round = 0; round < 3; round++) {
        decode(jpg, 100, &d);
        assert_int_not_equal(d.res.status, IA_ST_OK);
        decode(big, nb, &d);
        assert_int_equal(d.res.status, IA_ST_OK);
        decode(jpg, n, &d);
        assert_int_equal(d.res.status, IA_ST_OK);
        assert_int_equal(d.res.nfindings, 0);
        for (int c = 0; c < 3; c++)
            assert_true(d.sink.sum[c] == first.sink.sum[c]);
    }
    free(jpg);
    free(big);
}

/* libjpeg keeps tables across images in one decompress object (for
 * abbreviated streams). A file without tables must fail on its own, not
 * borrow the previous file's: the verdict may not depend on which file a
 * worker decoded before. */
static void test_abbreviated_after_full(void **state)
{
    (void)state;
    enc_opts o = rgb_opts(32, 32, 75);
    uint8_t *full, *abbr;
    size_t nf, na;
    decoded d;
    encode(&o, &full, &nf);
    o.no_tables = 1;
    encode(&o, &abbr, &na);
    assert_int_equal(find_marker(abbr, na, 0xDB), 0); /* no DQT */
    decode(full, nf, &d);
    assert_int_equal(d.res.status, IA_ST_OK);
    decode(abbr, na, &d);
    assert_int_equal(d.res.status, IA_ST_CORRUPT);
    assert_non_null(strstr(d.res.message, "JERR_NO_QUANT_TABLE"));
    free(full);
    free(abbr);
}

/* ---- Real photos against Pillow's reference ----------------------------- */

#define DATASET IA_SOURCE_ROOT "/../shared/datasets/clothing-small"
#define REFERENCE \
    IA_SOURCE_ROOT "/../shared/datasets/clothing-small-reference/files.csv"

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *q = realloc(p, cap * 2);
        if (!q) {
            free(p);
            p = NULL;
            break;
        }
        p = q;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return p;
}

/* Splits a CSV line without quoting (the reference has none) in place. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    p = fields[n - 1];
    p[strcspn(p, "\r\n")] = '\0';
    return n;
}

static void check_photo(char **f)
{
    char path[1024];
    size_t len = 0;
    decoded d;
    snprintf(path, sizeof path, "%s/%s", DATASET, f[0]);
    uint8_t *buf = read_all(path, &len);
    if (!buf) {
        fail_msg("cannot read %s", path);
        return;
    }
    decode(buf, len, &d);
    free(buf);
    if (d.res.status != IA_ST_OK)
        fail_msg("%s: %s", f[0], d.res.message);
    assert_int_equal(d.res.nfindings, 0);
    assert_int_equal(d.res.width, strtol(f[4], NULL, 10));
    assert_int_equal(d.res.height, strtol(f[5], NULL, 10));
    for (int c = 0; c < 3; c++)
        if (d.sink.sum[c] != strtoull(f[9 + c], NULL, 10))
            fail_msg("%s: channel %d sum %llu, Pillow %s", f[0], c,
                     (unsigned long long)d.sink.sum[c], f[9 + c]);
}

static void test_real_photos(void **state)
{
    (void)state;
    FILE *csv = fopen(REFERENCE, "r");
    if (!csv) {
        print_message("SKIP: dataset reference %s not found\n", REFERENCE);
        skip();
    }
    char line[1024];
    int row = 0, checked = 0;
    while (fgets(line, sizeof line, csv)) {
        char *f[16];
        /* Header, then every 400th photo: ten across the three splits. */
        if (row++ == 0 || (row - 2) % 400 != 0)
            continue;
        if (split_csv(line, f, 16) < 12 || strcmp(f[3], "RGB") != 0)
            continue;
        check_photo(f);
        checked++;
    }
    fclose(csv);
    assert_true(checked >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quality_of_encoded_files),
        cmocka_unit_test(test_quality_tables),
        cmocka_unit_test(test_quality_matches_search),
        cmocka_unit_test(test_rgb_exact),
        cmocka_unit_test(test_baseline_facts),
        cmocka_unit_test(test_progressive),
        cmocka_unit_test(test_grayscale),
        cmocka_unit_test(test_cmyk),
        cmocka_unit_test(test_two_components),
        cmocka_unit_test(test_exif_orientation),
        cmocka_unit_test(test_exif_parser),
        cmocka_unit_test(test_icc_flag),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_truncated_progressive),
        cmocka_unit_test(test_truncated_in_header),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_warnings_cap),
        cmocka_unit_test(test_scans_cap),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_coefficient_budget),
        cmocka_unit_test(test_zero_height),
        cmocka_unit_test(test_garbage_after_soi),
        cmocka_unit_test(test_not_jpeg),
        cmocka_unit_test(test_benign_warning),
        cmocka_unit_test(test_measure_failed),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_abbreviated_after_full),
        cmocka_unit_test(test_real_photos),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
