/*
 * Tests of the PNG decoder. Every image is written in memory with libpng's
 * writer from raw samples; the expected 8-bit rows are computed here from
 * those samples by the rules of DESIGN.md (16-bit: high byte; gray below 8
 * bits scaled by 255/(2^n-1); palette expanded; tRNS as alpha), never from
 * the decoder's own output. Damaged files are made by editing chunks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "core/core.h"
#include "count_gate.h"
#include "decode/decode.h"
#include "imgaudit.h"

/* ---- Growable byte buffer and chunk editing ----------------------------- */

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static void mb_put(membuf *m, const void *src, size_t n)
{
    if (m->n + n > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        while (cap < m->n + n)
            cap *= 2;
        m->p = realloc(m->p, cap);
        assert_non_null(m->p);
        m->cap = cap;
    }
    memcpy(m->p + m->n, src, n);
    m->n += n;
}

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Offset of the nth (0-based) chunk of this type, or 0. */
static size_t find_chunk(const membuf *m, const char *type, int nth)
{
    size_t pos = 8;
    while (pos + 12 <= m->n) {
        uint32_t len = get32(m->p + pos);
        if (memcmp(m->p + pos + 4, type, 4) == 0 && nth-- == 0)
            return pos;
        pos += 12 + (size_t)len;
    }
    return 0;
}

static void fix_crc(membuf *m, size_t chunk)
{
    uint32_t len = get32(m->p + chunk);
    put32(m->p + chunk + 8 + len, crc32_of(m->p + chunk + 4, 4 + (size_t)len));
}

/* Inserts a chunk (with a correct CRC) at byte offset at. */
static void insert_chunk(membuf *m, size_t at, const char *type,
                         const uint8_t *data, uint32_t n)
{
    membuf out = {0};
    uint8_t hdr[8];
    put32(hdr, n);
    memcpy(hdr + 4, type, 4);
    mb_put(&out, m->p, at);
    size_t chunk = out.n;
    mb_put(&out, hdr, 8);
    if (n)
        mb_put(&out, data, n);
    mb_put(&out, "\0\0\0\0", 4);
    mb_put(&out, m->p + at, m->n - at);
    fix_crc(&out, chunk);
    free(m->p);
    *m = out;
}

/* ---- Writing PNGs ------------------------------------------------------- */

typedef struct png_spec {
    uint32_t w, h;
    int bit_depth, color_type, interlace;
    int level;          /* zlib level; -1: libpng default */
    size_t idat_bytes;  /* IDAT chunk size; 0: libpng default */
    int trns;           /* palette: alpha per entry; gray/rgb: a key color */
    int text;           /* add a tEXt chunk before IDAT */
    int exif;           /* add an eXIf chunk with orientation 6 */
} png_spec;

static const png_color palette4[4] = {
    {10, 20, 30}, {200, 100, 50}, {0, 255, 128}, {255, 255, 255}};
static const png_byte palette_alpha[4] = {0, 64, 255, 128};

static int spec_channels(const png_spec *s)
{
    switch (s->color_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* palette index */
    }
}

/* The raw sample (full bit depth) at x, y, channel c: a pattern that
 * varies in both directions and, at 16 bits, in both bytes. */
static unsigned sample(const png_spec *s, uint32_t x, uint32_t y, int c)
{
    unsigned v = x * 7u + y * 13u + (unsigned)c * 71u + (x * y) % 5u;
    if (s->color_type == PNG_COLOR_TYPE_PALETTE)
        return (x + y) % 4u;
    if (s->bit_depth == 16)
        return (v * 2579u) & 0xffffu;
    return v & ((1u << s->bit_depth) - 1u);
}

static void pack_row(const png_spec *s, uint32_t y, uint8_t *row)
{
    int ch = spec_channels(s);
    size_t nsamples = (size_t)s->w * (size_t)ch;
    int bd = s->bit_depth;
    if (bd < 8)
        memset(row, 0, (nsamples * (size_t)bd + 7) / 8);
    for (size_t i = 0; i < nsamples; i++) {
        uint32_t x = (uint32_t)(i / (size_t)ch);
        unsigned v = sample(s, x, y, (int)(i % (size_t)ch));
        if (bd == 16) {
            row[2 * i] = (uint8_t)(v >> 8);
            row[2 * i + 1] = (uint8_t)v;
        } else if (bd == 8) {
            row[i] = (uint8_t)v;
        } else {
            size_t bit = i * (size_t)bd;
            row[bit / 8] |= (uint8_t)(v << (8 - bd - (int)(bit % 8)));
        }
    }
}

static void mb_write_cb(png_structp png, png_bytep data, size_t n)
{
    mb_put(png_get_io_ptr(png), data, n);
}

static void mb_flush_cb(png_structp png)
{
    (void)png;
}

/* An eXIf payload: big-endian TIFF, IFD0 with Orientation = 6. */
static const uint8_t exif_orient6[] = {
    'M', 'M', 0, 42, 0, 0, 0, 8,
    0, 1,
    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0,
    0, 0, 0, 0};

static void set_metadata(png_structp png, png_infop info, const png_spec *s)
{
    if (s->color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_PLTE(png, info, palette4, 4);
    if (s->trns && s->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_tRNS(png, info, palette_alpha, 4, NULL);
    } else if (s->trns) {
        png_color_16 key = {0, 0, 0, 0, 0};
        key.gray = (png_uint_16)sample(s, 0, 0, 0);
        key.red = (png_uint_16)sample(s, 0, 0, 0);
        key.green = (png_uint_16)sample(s, 0, 0, 1);
        key.blue = (png_uint_16)sample(s, 0, 0, 2);
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    if (s->text) {
        png_text t = {0};
        t.compression = PNG_TEXT_COMPRESSION_NONE;
        t.key = (png_charp)(uintptr_t)"Comment";
        t.text = (png_charp)(uintptr_t)"made by test_decode_png";
        png_set_text(png, info, &t, 1);
    }
    if (s->exif)
        png_set_eXIf_1(png, info, sizeof exif_orient6,
                       (png_bytep)(uintptr_t)exif_orient6);
}

static int write_guarded(png_structp png, png_infop info, const png_spec *s,
                         png_bytepp rows)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_IHDR(png, info, s->w, s->h, s->bit_depth, s->color_type,
                 s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    set_metadata(png, info, s);
    if (s->level >= 0) {
        png_set_compression_level(png, s->level);
        png_set_filter(png, 0, PNG_FILTER_NONE);
    }
    if (s->idat_bytes)
        png_set_compression_buffer_size(png, s->idat_bytes);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);   /* with info, 1.6.39 writes eXIf twice */
    return 0;
}

static membuf build_png(const png_spec *s)
{
    membuf m = {0};
    size_t rowbytes = ((size_t)s->w * (size_t)spec_channels(s) *
                       (size_t)s->bit_depth + 7) / 8;
    uint8_t *pixels = malloc(rowbytes * s->h);
    png_bytepp rows = malloc(sizeof *rows * s->h);
    assert_non_null(pixels);
    assert_non_null(rows);
    for (uint32_t y = 0; y < s->h; y++) {
        rows[y] = pixels + (size_t)y * rowbytes;
        pack_row(s, y, rows[y]);
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    png_set_write_fn(png, &m, mb_write_cb, mb_flush_cb);
    int rc = write_guarded(png, info, s, rows);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(pixels);
    assert_int_equal(rc, 0);
    return m;
}

/* ---- Expected output ---------------------------------------------------- */

static int has_trns_alpha(const png_spec *s)
{
    return s->trns || (s->color_type & PNG_COLOR_MASK_ALPHA);
}

/* Channels of the decoded rows. */
static int out_channels(const png_spec *s)
{
    int gray = (s->color_type & PNG_COLOR_MASK_COLOR) == 0;
    return (gray ? 1 : 3) + (has_trns_alpha(s) ? 1 : 0);
}

static uint8_t to8(const png_spec *s, unsigned v)
{
    if (s->bit_depth == 16)
        return (uint8_t)(v >> 8);
    return (uint8_t)(v * 255u / ((1u << s->bit_depth) - 1u));
}

static void expected_pixel(const png_spec *s, uint32_t x, uint32_t y,
                           uint8_t *out)
{
    int ch = spec_channels(s);
    if (s->color_type == PNG_COLOR_TYPE_PALETTE) {
        unsigned i = sample(s, x, y, 0);
        out[0] = palette4[i].red;
        out[1] = palette4[i].green;
        out[2] = palette4[i].blue;
        if (s->trns)
            out[3] = palette_alpha[i];
        return;
    }
    int key = s->trns != 0;
    for (int c = 0; c < ch; c++) {
        out[c] = to8(s, sample(s, x, y, c));
        if (sample(s, x, y, c) != sample(s, 0, 0, c))
            key = 0;
    }
    if (s->trns)
        out[ch] = key ? 0 : 255;
}

/* ---- A sink that keeps everything --------------------------------------- */

typedef struct test_sink {
    int begin_calls, fail_begin;
    uint32_t w, h;
    int channels, bit_depth;
    uint32_t rows;
    uint8_t *pixels;
} test_sink;

static int sink_begin(void *ctx, uint32_t w, uint32_t h, int channels,
                      int bit_depth)
{
    test_sink *t = ctx;
    t->begin_calls++;
    t->w = w;
    t->h = h;
    t->channels = channels;
    t->bit_depth = bit_depth;
    free(t->pixels);
    t->pixels = calloc((size_t)w * h * (size_t)channels + 1, 1);
    assert_non_null(t->pixels);
    return t->fail_begin;
}

static void sink_row(void *ctx, const uint8_t *row)
{
    test_sink *t = ctx;
    assert_true(t->rows < t->h);
    size_t n = (size_t)t->w * (size_t)t->channels;
    memcpy(t->pixels + n * t->rows, row, n);
    t->rows++;
}

typedef struct run {
    ia_file_result res;
    test_sink sink;
    int rc;
} run;

static void decode_with(ia_png_decoder *d, const uint8_t *buf, size_t len,
                        const ia_limits *lim, run *r)
{
    ia_rowsink sink = {&r->sink, sink_begin, sink_row};
    ia_result_reset(&r->res);
    r->rc = ia_decode_png(d, buf, len, lim, &sink, &r->res);
}

static void decode(const uint8_t *buf, size_t len, run *r)
{
    ia_png_decoder *d = NULL;
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 0);
    assert_int_equal(ia_png_decoder_new(&d), 0);
    memset(r, 0, sizeof *r);
    decode_with(d, buf, len, &lim, r);
    ia_png_decoder_free(d);
}

static void run_free(run *r)
{
    free(r->sink.pixels);
    r->sink.pixels = NULL;
}

static const ia_finding_rec *finding(const ia_file_result *res,
                                     const char *code)
{
    for (int i = 0; i < res->nfindings; i++)
        if (strcmp(res->findings[i].code, code) == 0)
            return &res->findings[i];
    return NULL;
}

/* The finding with this code; fails the test when absent. */
static const ia_finding_rec *need_finding(const ia_file_result *res,
                                          const char *code)
{
    const ia_finding_rec *f = finding(res, code);
    if (!f) {
        fail_msg("no finding \"%s\"", code);
        abort();   /* not reached: fail_msg() leaves the test */
    }
    return f;
}

static int count_findings(const ia_file_result *res, const char *code)
{
    int n = 0;
    for (int i = 0; i < res->nfindings; i++)
        n += strcmp(res->findings[i].code, code) == 0;
    return n;
}

/* Asserts that the first nrows rows in the sink equal the expected ones. */
static void assert_rows(const png_spec *s, const test_sink *t, uint32_t nrows)
{
    int ch = out_channels(s);
    assert_int_equal(t->channels, ch);
    for (uint32_t y = 0; y < nrows; y++)
        for (uint32_t x = 0; x < s->w; x++) {
            uint8_t want[4];
            expected_pixel(s, x, y, want);
            const uint8_t *got =
                t->pixels + ((size_t)y * s->w + x) * (size_t)ch;
            for (int c = 0; c < ch; c++)
                if (got[c] != want[c])
                    fail_msg("pixel (%u,%u) channel %d: got %u, want %u",
                             x, y, c, got[c], want[c]);
        }
}

/* ---- Well-formed images (table) ----------------------------------------- */

typedef struct good_case {
    const char *name;
    png_spec spec;
    int file_channels;
    const char *color_space;
    int gray, alpha, high;
} good_case;

#define G PNG_COLOR_TYPE_GRAY
#define GA PNG_COLOR_TYPE_GRAY_ALPHA
#define RGB PNG_COLOR_TYPE_RGB
#define RGBA PNG_COLOR_TYPE_RGB_ALPHA
#define PAL PNG_COLOR_TYPE_PALETTE
#define A7 PNG_INTERLACE_ADAM7

static const good_case good_cases[] = {
    {"rgb8", {17, 9, 8, RGB, 0, -1, 0, 0, 0, 0}, 3, "rgb", 0, 0, 0},
    {"rgb16", {17, 9, 16, RGB, 0, -1, 0, 0, 0, 0}, 3, "rgb", 0, 0, 1},
    {"gray1", {19, 5, 1, G, 0, -1, 0, 0, 0, 0}, 1, "gray", 1, 0, 0},
    {"gray2", {19, 5, 2, G, 0, -1, 0, 0, 0, 0}, 1, "gray", 1, 0, 0},
    {"gray4", {19, 5, 4, G, 0, -1, 0, 0, 0, 0}, 1, "gray", 1, 0, 0},
    {"gray8", {19, 5, 8, G, 0, -1, 0, 0, 0, 0}, 1, "gray", 1, 0, 0},
    {"gray16", {19, 5, 16, G, 0, -1, 0, 0, 0, 0}, 1, "gray", 1, 0, 1},
    {"gray8_trns", {19, 5, 8, G, 0, -1, 0, 1, 0, 0}, 1, "gray", 1, 1, 0},
    {"palette8", {11, 7, 8, PAL, 0, -1, 0, 0, 0, 0}, 3, "palette", 0, 0, 0},
    {"palette2", {11, 7, 2, PAL, 0, -1, 0, 0, 0, 0}, 3, "palette", 0, 0, 0},
    {"palette_trns", {11, 7, 8, PAL, 0, -1, 0, 1, 0, 0}, 4, "palette", 0, 1, 0},
    {"rgba8", {10, 6, 8, RGBA, 0, -1, 0, 0, 0, 0}, 4, "rgba", 0, 1, 0},
    {"rgba16", {10, 6, 16, RGBA, 0, -1, 0, 0, 0, 0}, 4, "rgba", 0, 1, 1},
    {"rgb8_trns", {10, 6, 8, RGB, 0, -1, 0, 1, 0, 0}, 3, "rgb", 0, 1, 0},
    {"gray_alpha8", {10, 6, 8, GA, 0, -1, 0, 0, 0, 0}, 2, "gray_alpha",
     1, 1, 0},
    {"adam7_rgb8", {13, 11, 8, RGB, A7, -1, 0, 0, 0, 0}, 3, "rgb", 0, 0, 0},
    {"adam7_gray1", {13, 11, 1, G, A7, -1, 0, 0, 0, 0}, 1, "gray", 1, 0, 0},
    {"adam7_1x1", {1, 1, 8, RGBA, A7, -1, 0, 0, 0, 0}, 4, "rgba", 0, 1, 0},
    {"adam7_3x2", {3, 2, 16, GA, A7, -1, 0, 0, 0, 0}, 2, "gray_alpha", 1, 1, 1},
    {"multi_idat", {40, 30, 8, RGB, 0, 0, 64, 0, 1, 1}, 3, "rgb", 0, 0, 0},
};

static void check_good(const good_case *gc)
{
    const png_spec *s = &gc->spec;
    membuf m = build_png(s);
    run r;
    decode(m.p, m.n, &r);
    const ia_file_result *res = &r.res;
    if (res->status != IA_ST_OK)
        fail_msg("%s: status %d (%s)", gc->name, res->status, res->message);
    assert_int_equal(r.rc, 0);
    assert_int_equal(res->width, s->w);
    assert_int_equal(res->height, s->h);
    assert_int_equal(res->channels, gc->file_channels);
    assert_int_equal(res->bit_depth, s->bit_depth);
    assert_string_equal(res->color_space, gc->color_space);
    assert_int_equal(res->interlaced, s->interlace == A7);
    assert_int_equal(res->palette, s->color_type == PAL);
    assert_int_equal(res->has_alpha, gc->alpha);
    assert_int_equal(res->animated, 0);
    assert_int_equal(res->frames, 1);
    assert_int_equal(res->icc, 0);
    assert_int_equal(res->exif_orientation, s->exif ? 6 : -1);
    assert_int_equal(res->progressive, -1);
    assert_int_equal(res->jpeg_quality, -1);
    assert_null(res->subsampling);
    assert_int_equal(res->rows_decoded, s->h);
    assert_int_equal(res->rows_total, s->h);
    assert_int_equal(finding(res, "grayscale") != NULL, gc->gray);
    assert_int_equal(finding(res, "alpha") != NULL, gc->alpha);
    assert_int_equal(finding(res, "high_bit_depth") != NULL, gc->high);
    assert_null(finding(res, "animated"));
    if (finding(res, "decoder_warning"))
        fail_msg("%s: warning %s", gc->name,
                 finding(res, "decoder_warning")->detail);
    for (int i = 0; i < res->nfindings; i++)
        assert_int_equal(res->findings[i].severity, IA_SEV_INFO);
    assert_int_equal(r.sink.begin_calls, 1);
    assert_int_equal(r.sink.w, s->w);
    assert_int_equal(r.sink.h, s->h);
    assert_int_equal(r.sink.bit_depth, s->bit_depth);
    assert_int_equal(r.sink.rows, s->h);
    assert_rows(s, &r.sink, s->h);
    run_free(&r);
    free(m.p);
}

static void test_good_images(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++)
        check_good(&good_cases[i]);
}

/* Spot checks of the scaling rules, independent of expected_pixel(). */
static void test_known_values(void **state)
{
    (void)state;
    png_spec s1 = {19, 5, 1, G, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s1);
    run r;
    decode(m.p, m.n, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    /* sample(0,0)=0, sample(1,0)=7&1=1: 1-bit 1 becomes 255 */
    assert_int_equal(r.sink.pixels[0], 0);
    assert_int_equal(r.sink.pixels[1], 255);
    run_free(&r);
    free(m.p);

    png_spec s2 = {4, 1, 2, G, 0, -1, 0, 0, 0, 0};
    m = build_png(&s2);
    decode(m.p, m.n, &r);
    /* samples 0, 7&3=3, 14&3=2, 21&3=1 -> 0, 255, 170, 85 */
    assert_int_equal(r.sink.pixels[1], 255);
    assert_int_equal(r.sink.pixels[2], 170);
    assert_int_equal(r.sink.pixels[3], 85);
    run_free(&r);
    free(m.p);

    png_spec s16 = {2, 1, 16, RGB, 0, -1, 0, 0, 0, 0};
    m = build_png(&s16);
    decode(m.p, m.n, &r);
    /* x=1 red: v=7, 7*2579=18053=0x4685: high byte 0x46 */
    assert_int_equal(r.sink.pixels[3], 0x46);
    run_free(&r);
    free(m.p);
}

static void test_interlaced_equals_plain(void **state)
{
    (void)state;
    png_spec plain = {29, 23, 8, RGBA, 0, -1, 0, 0, 0, 0};
    png_spec adam7 = plain;
    adam7.interlace = A7;
    membuf a = build_png(&plain), b = build_png(&adam7);
    run ra, rb;
    decode(a.p, a.n, &ra);
    decode(b.p, b.n, &rb);
    assert_int_equal(ra.res.status, IA_ST_OK);
    assert_int_equal(rb.res.status, IA_ST_OK);
    assert_int_equal(rb.res.interlaced, 1);
    assert_memory_equal(ra.sink.pixels, rb.sink.pixels, 29 * 23 * 4);
    run_free(&ra);
    run_free(&rb);
    free(a.p);
    free(b.p);
}

/* An interlaced image's whole-image buffer is reserved from the gate for
 * the decode; a plain one streams; a buffer the gate refuses, or that the
 * file's bytes cannot justify, makes the file too_large before a row. */
static void test_interlaced_budget(void **state)
{
    (void)state;
    png_spec plain = {29, 23, 8, RGBA, 0, -1, 0, 0, 0, 0};
    png_spec adam7 = plain;
    adam7.interlace = A7;
    membuf a = build_png(&plain), b = build_png(&adam7);
    count_gate g = {0};
    ia_memgate gate = count_gate_of(&g, 1u << 20);
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 0);
    lim.gate = &gate;
    ia_png_decoder *d = NULL;
    assert_int_equal(ia_png_decoder_new(&d), 0);
    run r;
    memset(&r, 0, sizeof r);
    decode_with(d, a.p, a.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_int_equal(g.reserves, 0);
    run_free(&r);
    memset(&r, 0, sizeof r);
    decode_with(d, b.p, b.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_int_equal(g.reserves, 1);
    assert_int_equal(g.reserved, 29 * 23 * 4);
    assert_int_equal(g.releases, 1);
    assert_int_equal(g.released, g.reserved);

    g.refuse = 1;
    run_free(&r);
    memset(&r, 0, sizeof r);
    decode_with(d, b.p, b.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_TOO_LARGE);
    assert_string_equal(r.res.message, "interlaced PNG of 29 x 23: its 0 MB "
                        "image buffer is over the scan's memory budget of "
                        "1 MB");
    assert_int_equal(r.sink.begin_calls, 0);
    assert_int_equal(g.releases, 1);

    /* 13000 x 13000 RGBA: 644 MB, over 256 x the file's few hundred
     * bytes: refused before the gate is asked. */
    g.refuse = 0;
    g.reserves = 0;
    size_t ihdr = find_chunk(&b, "IHDR", 0);
    put32(b.p + ihdr + 8, 13000);
    put32(b.p + ihdr + 12, 13000);
    fix_crc(&b, ihdr);
    run_free(&r);
    memset(&r, 0, sizeof r);
    decode_with(d, b.p, b.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_TOO_LARGE);
    char want[160];
    snprintf(want, sizeof want, "interlaced PNG of 13000 x 13000: its 644 MB "
             "image buffer is more than 256 times the file's %zu bytes", b.n);
    assert_string_equal(r.res.message, want);
    assert_int_equal(g.reserves, 0);
    assert_int_equal(r.sink.begin_calls, 0);
    ia_png_decoder_free(d);
    run_free(&r);
    free(a.p);
    free(b.p);
}

/* One decoder across files of growing and shrinking sizes. */
static void test_decoder_reuse(void **state)
{
    (void)state;
    static const png_spec specs[] = {
        {5, 5, 8, RGB, A7, -1, 0, 0, 0, 0},
        {300, 7, 8, RGBA, 0, -1, 0, 0, 0, 0},
        {64, 80, 16, RGB, A7, -1, 0, 0, 0, 0},
        {3, 3, 1, G, 0, -1, 0, 0, 0, 0},
    };
    ia_png_decoder *d = NULL;
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 0);
    assert_int_equal(ia_png_decoder_new(&d), 0);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
            membuf m = build_png(&specs[i]);
            run r;
            memset(&r, 0, sizeof r);
            decode_with(d, m.p, m.n, &lim, &r);
            assert_int_equal(r.res.status, IA_ST_OK);
            assert_rows(&specs[i], &r.sink, specs[i].h);
            run_free(&r);
            free(m.p);
        }
    ia_png_decoder_free(d);
}

/* ---- Metadata ----------------------------------------------------------- */

/* An 8x8 APNG whose acTL claims `claimed` frames and that holds `frames`
 * fcTL chunks: the first before IDAT (the default image is frame 1), the
 * rest after it. Only the chunk walk reads them; libpng skips both. */
static membuf apng_of(const png_spec *s, uint32_t claimed, int frames)
{
    membuf m = build_png(s);
    uint8_t actl[8], fctl[26] = {0};
    put32(actl, claimed);   /* num_frames */
    put32(actl + 4, 0);     /* num_plays: forever */
    put32(fctl + 4, 8);     /* width */
    put32(fctl + 8, 8);     /* height */
    for (int i = frames - 1; i >= 1; i--) {
        put32(fctl, (uint32_t)(2 * i - 1));     /* sequence number */
        insert_chunk(&m, find_chunk(&m, "IEND", 0), "fcTL", fctl, 26);
    }
    size_t idat = find_chunk(&m, "IDAT", 0);
    assert_true(idat > 0);
    if (frames > 0)
        insert_chunk(&m, idat, "fcTL", fctl, 26);
    insert_chunk(&m, find_chunk(&m, frames > 0 ? "fcTL" : "IDAT", 0),
                 "acTL", actl, 8);
    return m;
}

static void test_apng(void **state)
{
    (void)state;
    png_spec s = {8, 8, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = apng_of(&s, 3, 3);
    run r;
    decode(m.p, m.n, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_int_equal(r.res.animated, 1);
    assert_int_equal(r.res.frames, 3);
    const ia_finding_rec *f = need_finding(&r.res, "animated");
    assert_int_equal(f->severity, IA_SEV_INFO);
    assert_string_equal(f->detail, "APNG, 3 frames");
    assert_rows(&s, &r.sink, 8);
    run_free(&r);
    free(m.p);
}

/* acTL's num_frames is a claim: frames stores the fcTL chunks present,
 * and the finding names the claim that differs. */
static void test_apng_lying_actl(void **state)
{
    (void)state;
    static const struct {
        uint32_t claimed;
        int frames;
        const char *detail;
    } cases[] = {
        {2147483647u, 2, "APNG, 2 frames (its acTL claims 2147483647)"},
        {4294967295u, 1, "APNG, 1 frames (its acTL claims 4294967295)"},
        {5, 0, "APNG, 0 frames (its acTL claims 5)"},
        {1, 3, "APNG, 3 frames (its acTL claims 1)"},
    };
    png_spec s = {8, 8, 8, RGB, 0, -1, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        membuf m = apng_of(&s, cases[i].claimed, cases[i].frames);
        run r;
        decode(m.p, m.n, &r);
        assert_int_equal(r.res.status, IA_ST_OK);
        assert_int_equal(r.res.animated, 1);
        assert_int_equal(r.res.frames, cases[i].frames);
        assert_string_equal(need_finding(&r.res, "animated")->detail,
                            cases[i].detail);
        run_free(&r);
        free(m.p);
    }
}

static void test_iccp_present(void **state)
{
    (void)state;
    png_spec s = {4, 4, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    size_t idat = find_chunk(&m, "IDAT", 0);
    /* A profile name and a zlib stream that is not one: libpng drops the
     * chunk with a warning; the chunk is still present. */
    static const uint8_t iccp[] = {'x', 0, 0, 0x12, 0x34, 0x56};
    insert_chunk(&m, idat, "iCCP", iccp, sizeof iccp);
    run r;
    decode(m.p, m.n, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_int_equal(r.res.icc, 1);
    const ia_finding_rec *f = need_finding(&r.res, "decoder_warning");
    assert_non_null(strstr(f->detail, "iCCP"));
    run_free(&r);
    free(m.p);
}

static void test_text_crc_is_warning(void **state)
{
    (void)state;
    png_spec s = {6, 6, 8, G, 0, -1, 0, 0, 1, 0};
    membuf m = build_png(&s);
    size_t text = find_chunk(&m, "tEXt", 0);
    assert_true(text > 0);
    m.p[text + 8 + get32(m.p + text)] ^= 0xff;   /* CRC byte */
    run r;
    decode(m.p, m.n, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    const ia_finding_rec *f = need_finding(&r.res, "decoder_warning");
    assert_int_equal(f->severity, IA_SEV_INFO);
    assert_string_equal(f->detail, "tEXt: CRC error");
    assert_rows(&s, &r.sink, 6);
    run_free(&r);
    free(m.p);
}

static void test_warning_cap(void **state)
{
    (void)state;
    png_spec s = {6, 6, 8, G, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    static const uint8_t txt[] = {'k', 0, 'v'};
    for (int i = 0; i < 5; i++) {
        size_t idat = find_chunk(&m, "IDAT", 0);
        insert_chunk(&m, idat, "tEXt", txt, sizeof txt);
        m.p[idat + 8 + sizeof txt] ^= 1;   /* break its CRC */
    }
    ia_png_decoder *d = NULL;
    ia_limits lim = {0};
    lim.max_warnings = 2;
    ia_limits_defaults(&lim, 0);
    assert_int_equal(ia_png_decoder_new(&d), 0);
    run r;
    memset(&r, 0, sizeof r);
    decode_with(d, m.p, m.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_int_equal(count_findings(&r.res, "decoder_warning"), 2);
    assert_int_equal(r.res.findings_dropped, 3);
    run_free(&r);
    ia_png_decoder_free(d);
    free(m.p);
}

/* ---- Truncation --------------------------------------------------------- */

static const png_spec big_plain = {64, 64, 8, RGB, 0, 0, 0, 0, 0, 0};

/* min_rows: the rows the bytes before the cut hold, less what libpng
 * reads ahead (1 KiB of compressed data); -1 to expect every row. */
static void check_truncated(const png_spec *s, const membuf *m, size_t cut,
                            int32_t min_rows)
{
    run r;
    decode(m->p, cut, &r);
    assert_int_equal(r.rc, 0);
    if (r.res.status != IA_ST_TRUNCATED)
        fail_msg("cut at %zu of %zu: status %d (%s)", cut, m->n,
                 r.res.status, r.res.message);
    assert_int_equal(r.res.rows_total, s->h);
    if (min_rows < 0) {
        assert_int_equal(r.res.rows_decoded, s->h);
    } else {
        assert_true(r.res.rows_decoded < (int32_t)s->h);
        if (r.res.rows_decoded < min_rows)
            fail_msg("cut at %zu: %d rows, want at least %d", cut,
                     r.res.rows_decoded, min_rows);
    }
    assert_int_equal(r.sink.rows, r.res.rows_decoded);
    char want[80];
    snprintf(want, sizeof want, "truncated after %d of %u rows",
             r.res.rows_decoded, s->h);
    assert_non_null(strstr(r.res.message, want));
    if (s->interlace != A7)
        assert_rows(s, &r.sink, r.sink.rows);
    run_free(&r);
}

static void test_truncated_half(void **state)
{
    (void)state;
    membuf m = build_png(&big_plain);
    /* Stored deflate: 193 bytes a row (filter byte + 64 RGB pixels). */
    size_t cut = m.n / 2;
    check_truncated(&big_plain, &m, cut, (int32_t)((cut - 1024) / 193) - 1);
    free(m.p);
}

static void test_truncated_mid_idat(void **state)
{
    (void)state;
    png_spec s = {64, 64, 8, RGB, 0, 0, 4096, 0, 0, 0};
    membuf m = build_png(&s);
    size_t idat = find_chunk(&m, "IDAT", 1);   /* the second IDAT */
    assert_true(idat > 0);
    /* The first IDAT holds a 2-byte zlib header, a 5-byte stored block
     * header and then rows of 193 bytes. */
    size_t half = get32(m.p + idat) / 2;
    check_truncated(&s, &m, idat + 8 + half,
                    (int32_t)((4096 - 7 + half - 1024) / 193) - 1);
    check_truncated(&s, &m, idat, (4096 - 7) / 193);   /* chunk boundary */
    free(m.p);
}

static void test_truncated_interlaced(void **state)
{
    (void)state;
    png_spec s = big_plain;
    s.interlace = A7;
    membuf m = build_png(&s);
    check_truncated(&s, &m, m.n * 3 / 4, 0);
    run r;
    decode(m.p, m.n * 3 / 4, &r);
    assert_non_null(strstr(r.res.message, "interlaced, in pass"));
    run_free(&r);
    free(m.p);
}

static void test_truncated_after_idat(void **state)
{
    (void)state;
    membuf m = build_png(&big_plain);
    check_truncated(&big_plain, &m, m.n - 6, -1);   /* inside IEND */
    free(m.p);
}

static void test_short_and_garbage(void **state)
{
    (void)state;
    static const uint8_t sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const char garbage[] = "this is not a PNG file at all, really";
    run r;
    decode(sig, 5, &r);
    assert_int_equal(r.res.status, IA_ST_TRUNCATED);
    assert_string_equal(r.res.message, "truncated before the image data");
    decode(sig, 8, &r);
    assert_int_equal(r.res.status, IA_ST_TRUNCATED);
    decode((const uint8_t *)garbage, sizeof garbage, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.status, IA_ST_CORRUPT);
    assert_string_equal(r.res.message, "Not a PNG file");
    assert_int_equal(r.sink.begin_calls, 0);
    decode(sig, 0, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.status, IA_ST_EMPTY);
    assert_int_equal(r.sink.begin_calls, 0);
}

/* ---- Corruption --------------------------------------------------------- */

static void expect_corrupt(const membuf *m, const char *needle)
{
    run r;
    decode(m->p, m->n, &r);
    assert_int_equal(r.rc, 0);
    if (r.res.status != IA_ST_CORRUPT || !strstr(r.res.message, needle))
        fail_msg("status %d, message \"%s\", want corrupt with \"%s\"",
                 r.res.status, r.res.message, needle);
    run_free(&r);
}

/* Stored deflate blocks and small IDATs: a flipped pixel byte is invisible
 * to zlib until the end, so the IDAT CRC is what catches it. */
static void test_idat_crc_error(void **state)
{
    (void)state;
    png_spec s = {32, 32, 8, RGB, 0, 0, 256, 0, 0, 0};
    membuf m = build_png(&s);
    size_t idat = find_chunk(&m, "IDAT", 0);
    assert_true(get32(m.p + idat) > 100);
    m.p[idat + 8 + 100] ^= 0x01;
    expect_corrupt(&m, "IDAT: CRC error");
    free(m.p);
}

static void test_zlib_header_error(void **state)
{
    (void)state;
    membuf m = build_png(&big_plain);
    size_t idat = find_chunk(&m, "IDAT", 0);
    m.p[idat + 8] ^= 0x01;   /* CMF byte: the header check fails */
    fix_crc(&m, idat);
    expect_corrupt(&m, "IDAT: incorrect header check");
    free(m.p);
}

static void test_zlib_data_check(void **state)
{
    (void)state;
    png_spec s = {20, 20, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    size_t idat = find_chunk(&m, "IDAT", 0);
    assert_int_equal(find_chunk(&m, "IDAT", 1), 0);
    m.p[idat + 8 + get32(m.p + idat) - 1] ^= 0x01;   /* Adler-32 */
    fix_crc(&m, idat);
    expect_corrupt(&m, "incorrect data check");
    free(m.p);
}

static void test_zlib_stream_cut_short(void **state)
{
    (void)state;
    png_spec s = {20, 20, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    size_t idat = find_chunk(&m, "IDAT", 0);
    uint32_t n = get32(m.p + idat);
    uint32_t keep = n / 2;
    /* Keep half of the zlib stream, then IEND follows at once. */
    memmove(m.p + idat + 8 + keep, m.p + idat + 8 + n, m.n - (idat + 8 + n));
    m.n -= n - keep;
    put32(m.p + idat, keep);
    fix_crc(&m, idat);
    expect_corrupt(&m, "Not enough image data");
    free(m.p);
}

/* Compressed data after the last row, and nothing else wrong: libpng
 * warns, and libpng, Pillow and OpenCV all read the image intact
 * (docs/loaders.md), so it is ok with a trailing_data info finding. */
static void expect_trailing(const membuf *m, const char *needle, int rows)
{
    run r;
    decode(m->p, m->n, &r);
    assert_int_equal(r.rc, 0);
    if (r.res.status != IA_ST_OK)
        fail_msg("status %d, message \"%s\", want ok", r.res.status,
                 r.res.message);
    assert_int_equal(r.res.rows_decoded, rows);
    assert_true(r.sink.rows == (uint32_t)rows);
    int found = 0;
    for (int i = 0; i < r.res.nfindings; i++)
        if (!strcmp(r.res.findings[i].code, "trailing_data")) {
            found = 1;
            assert_int_equal(r.res.findings[i].severity, IA_SEV_INFO);
            assert_non_null(strstr(r.res.findings[i].detail, needle));
        }
    assert_true(found);
    run_free(&r);
}

/* A stream for more rows than IHDR declares. */
static void test_too_much_image_data(void **state)
{
    (void)state;
    png_spec s = {20, 20, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    put32(m.p + 8 + 8 + 4, 10);   /* IHDR height */
    fix_crc(&m, 8);
    expect_trailing(&m, "Too much image data", 10);
    free(m.p);
}

/* Bytes after the end of the zlib stream, in the same IDAT chunk. */
static void test_bytes_after_zlib_end(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0x78, 0x9c, 0x03, 0x00};
    png_spec s = {20, 20, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    size_t idat = find_chunk(&m, "IDAT", 0);
    assert_int_equal(find_chunk(&m, "IDAT", 1), 0);
    uint32_t n = get32(m.p + idat);
    size_t at = idat + 8 + n, tail = m.n - at;
    mb_put(&m, junk, sizeof junk);          /* grow by 4 bytes */
    memmove(m.p + at + sizeof junk, m.p + at, tail);
    memcpy(m.p + at, junk, sizeof junk);
    put32(m.p + idat, n + (uint32_t)sizeof junk);
    fix_crc(&m, idat);
    expect_trailing(&m, "Extra compressed data", 20);
    free(m.p);
}

static void test_bad_ihdr(void **state)
{
    (void)state;
    png_spec s = {4, 4, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    m.p[8 + 8 + 9] = 5;   /* color type 5 does not exist */
    fix_crc(&m, 8);
    expect_corrupt(&m, "");
    m.p[8 + 8 + 9] = 2;   /* back to RGB, now with a wrong CRC */
    expect_corrupt(&m, "IHDR: CRC error");
    free(m.p);
}

/* ---- Limits and the sink ------------------------------------------------ */

static void test_too_large(void **state)
{
    (void)state;
    png_spec s = {8, 8, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    put32(m.p + 16, 60000);
    put32(m.p + 20, 60000);
    fix_crc(&m, 8);
    run r;
    decode(m.p, m.n, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.status, IA_ST_TOO_LARGE);
    assert_int_equal(r.res.width, 60000);
    assert_int_equal(r.res.height, 60000);
    assert_non_null(strstr(r.res.message, "60000x60000"));
    assert_int_equal(r.sink.begin_calls, 0);
    free(m.p);

    /* The limit comes from lim->max_pixels: 16x16 is over 255. */
    png_spec t = {16, 16, 8, G, 0, -1, 0, 0, 0, 0};
    m = build_png(&t);
    ia_png_decoder *d = NULL;
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 255);
    assert_int_equal(ia_png_decoder_new(&d), 0);
    memset(&r, 0, sizeof r);
    decode_with(d, m.p, m.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_TOO_LARGE);
    assert_int_equal(r.sink.begin_calls, 0);
    lim.max_pixels = 256;
    decode_with(d, m.p, m.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    run_free(&r);
    ia_png_decoder_free(d);
    free(m.p);
}

/* Ancillary chunks over lim->max_chunk_bytes are skipped with a warning;
 * one that claims 2 GiB in a short file must not be allocated. */
static void test_chunk_limit(void **state)
{
    (void)state;
    png_spec s = {4, 4, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    uint8_t *text = calloc(5000, 1);
    assert_non_null(text);
    memcpy(text, "Comment", 8);
    memset(text + 8, 'a', 5000 - 8);
    insert_chunk(&m, find_chunk(&m, "IDAT", 0), "tEXt", text, 5000);
    free(text);
    ia_png_decoder *d = NULL;
    ia_limits lim = {0};
    assert_int_equal(ia_png_decoder_new(&d), 0);
    run r;
    memset(&r, 0, sizeof r);
    decode_with(d, m.p, m.n, &lim, &r);   /* zero limits: the defaults */
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_null(finding(&r.res, "decoder_warning"));
    run_free(&r);

    memset(&r, 0, sizeof r);
    lim.max_chunk_bytes = 4096;
    decode_with(d, m.p, m.n, &lim, &r);
    assert_int_equal(r.res.status, IA_ST_OK);
    assert_int_equal(count_findings(&r.res, "decoder_warning"), 1);
    assert_string_equal(need_finding(&r.res, "decoder_warning")->detail,
                        "tEXt chunk of 5000 bytes skipped (limit 4096)");
    assert_rows(&s, &r.sink, 4);
    run_free(&r);

    /* The same chunk claiming 0x7fff0000 bytes, the file cut inside it. */
    size_t at = find_chunk(&m, "tEXt", 0);
    put32(m.p + at, 0x7fff0000u);
    memset(&r, 0, sizeof r);
    decode_with(d, m.p, m.n, &lim, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.status, IA_ST_TRUNCATED);
    assert_int_equal(r.sink.begin_calls, 0);
    ia_png_decoder_free(d);
    free(m.p);
}

static void test_sink_refuses(void **state)
{
    (void)state;
    png_spec s = {8, 8, 8, RGB, 0, -1, 0, 0, 0, 0};
    membuf m = build_png(&s);
    ia_png_decoder *d = NULL;
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 0);
    assert_int_equal(ia_png_decoder_new(&d), 0);
    run r;
    memset(&r, 0, sizeof r);
    r.sink.fail_begin = 1;
    decode_with(d, m.p, m.n, &lim, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.res.status, IA_ST_CORRUPT);
    assert_string_equal(r.res.message, "measure failed");
    assert_int_equal(r.sink.rows, 0);
    run_free(&r);
    ia_png_decoder_free(d);
    free(m.p);
}

static void test_free_null(void **state)
{
    (void)state;
    ia_png_decoder_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_images),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_interlaced_equals_plain),
        cmocka_unit_test(test_decoder_reuse),
        cmocka_unit_test(test_apng),
        cmocka_unit_test(test_apng_lying_actl),
        cmocka_unit_test(test_iccp_present),
        cmocka_unit_test(test_text_crc_is_warning),
        cmocka_unit_test(test_warning_cap),
        cmocka_unit_test(test_truncated_half),
        cmocka_unit_test(test_truncated_mid_idat),
        cmocka_unit_test(test_truncated_interlaced),
        cmocka_unit_test(test_truncated_after_idat),
        cmocka_unit_test(test_short_and_garbage),
        cmocka_unit_test(test_idat_crc_error),
        cmocka_unit_test(test_zlib_header_error),
        cmocka_unit_test(test_zlib_data_check),
        cmocka_unit_test(test_zlib_stream_cut_short),
        cmocka_unit_test(test_too_much_image_data),
        cmocka_unit_test(test_bytes_after_zlib_end),
        cmocka_unit_test(test_bad_ihdr),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_chunk_limit),
        cmocka_unit_test(test_sink_refuses),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_interlaced_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
