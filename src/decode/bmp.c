/*
 * BMP (Windows and OS/2 bitmaps), decoded here: the format is a header
 * and uncompressed rows (or RLE8/RLE4), no library needed.
 *
 * What a loader sees follows Pillow 9.4's BmpImagePlugin: 1/4/8-bit
 * palettes (BGRX entries, BGR for OS/2 1.x), indices past the palette
 * black; 16-bit pixels as 5-5-5 (or the bit fields' masks, each scaled
 * as v * 255 / max); 24-bit BGR; 32-bit BGRX, RGBA only when bit fields
 * name an alpha mask; rows bottom-up unless the height is negative. A
 * palette of greys only is pushed as L (Pillow's "L"/"1" modes; the
 * values are those convert("RGB") gives).
 *
 * Rows are read straight from the file in memory, bottom-up or not, so
 * uncompressed bitmaps need no image buffer; RLE bitmaps are expanded
 * into an index buffer justified by the file's bytes and reserved from
 * the scan's budget. Pixel data that ends early is truncated (rows
 * present of total); an RLE stream that runs past the image is corrupt.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/codec.h"
#include "imgaudit.h"

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3,
       BI_ALPHABITFIELDS = 6 };

typedef struct bmp_info {
    uint32_t w, h, offset, dib, compression;
    int top_down, bpp, pal_n, gray;
    uint32_t mask[4];          /* R, G, B, A for 16/32-bit */
    uint8_t pal[256][3];
    size_t stride;
} bmp_info;

typedef struct bmp_dec {
    ia_codec c;
    bmp_info b;
    uint8_t *row;
    size_t row_cap;
} bmp_dec;

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return le16(p) | le16(p + 2) << 16;
}

static int palette(bmp_dec *d, const uint8_t *buf, size_t len, size_t at,
                   uint32_t used)
{
    bmp_info *b = &d->b;
    size_t entry = b->dib == 12 ? 3 : 4;
    uint32_t n = used && used < 256u ? used : 1u << b->bpp;
    if (n > 256)
        n = 256;
    b->gray = 1;
    memset(b->pal, 0, sizeof b->pal);
    for (uint32_t i = 0; i < n; i++, at += entry) {
        if (at > len || len - at < 3)
            return -1;
        b->pal[i][0] = buf[at + 2];
        b->pal[i][1] = buf[at + 1];
        b->pal[i][2] = buf[at];
        b->gray &= b->pal[i][0] == b->pal[i][1] && b->pal[i][1] == b->pal[i][2];
    }
    b->pal_n = (int)n;
    return 0;
}

/* Default masks (5-5-5, 8-8-8 without alpha) or the header's. */
static void masks(bmp_info *b, const uint8_t *buf, size_t len)
{
    static const uint32_t m16[4] = {0x7C00, 0x3E0, 0x1F, 0};
    static const uint32_t m32[4] = {0xFF0000, 0xFF00, 0xFF, 0};
    memcpy(b->mask, b->bpp == 16 ? m16 : m32, sizeof b->mask);
    int fields = b->compression == BI_BITFIELDS ||
                 b->compression == BI_ALPHABITFIELDS;
    if (!fields)
        return;
    /* in the header (v2+) or right after a 40-byte one */
    int n = b->compression == BI_ALPHABITFIELDS || b->dib >= 56 ? 4 : 3;
    if (len < 54 + 4 * (size_t)n)
        return;
    for (int i = 0; i < n; i++)
        b->mask[i] = le32(buf + 54 + 4 * i);
    if (n == 3)
        b->mask[3] = 0;
}

/* 0, or -1 with the status set. */
static int parse(bmp_dec *d, const uint8_t *buf, size_t len)
{
    bmp_info *b = &d->b;
    ia_codec *c = &d->c;
    memset(b, 0, sizeof *b);
    if (len < 26) {
        ia_codec_truncated(c, "BMP");
        return -1;
    }
    b->offset = le32(buf + 10);
    b->dib = le32(buf + 14);
    int32_t h;
    if (b->dib == 12) {
        b->w = le16(buf + 18);
        h = (int32_t)le16(buf + 20);
        b->bpp = (int)le16(buf + 24);
    } else {
        if (len < 54) {
            ia_codec_truncated(c, "BMP");
            return -1;
        }
        b->w = le32(buf + 18);
        h = (int32_t)le32(buf + 22);
        b->bpp = (int)le16(buf + 28);
        b->compression = le32(buf + 30);
    }
    b->top_down = h < 0;
    b->h = h < 0 ? (uint32_t)0 - (uint32_t)h : (uint32_t)h;
    c->res->bit_depth = b->bpp <= 8 ? b->bpp : 8;
    if (b->bpp <= 8 && palette(d, buf, len, 14 + (size_t)b->dib,
                               b->dib >= 40 ? le32(buf + 46) : 0) != 0) {
        ia_codec_truncated(c, "BMP");
        return -1;
    }
    if (b->bpp == 16 || b->bpp == 32)
        masks(b, buf, len);
    return 0;
}

static const char *layout_problem(const bmp_info *b)
{
    int pal = b->bpp == 1 || b->bpp == 4 || b->bpp == 8;
    if (!pal && b->bpp != 16 && b->bpp != 24 && b->bpp != 32)
        return "bits per pixel";
    if (b->compression == BI_RLE8 && b->bpp != 8)
        return "RLE8 with other than 8 bits per pixel";
    if (b->compression == BI_RLE4 && b->bpp != 4)
        return "RLE4 with other than 4 bits per pixel";
    if (b->compression > BI_BITFIELDS && b->compression != BI_ALPHABITFIELDS)
        return "compression (JPEG or PNG inside a BMP)";
    if ((b->compression == BI_RLE8 || b->compression == BI_RLE4) &&
        b->top_down)
        return "top-down RLE";
    return NULL;
}

static void record_facts(bmp_dec *d)
{
    bmp_info *b = &d->b;
    ia_file_result *res = d->c.res;
    res->channels = b->bpp <= 8 ? 1 : b->bpp == 32 && b->mask[3] ? 4 : 3;
    res->palette = b->bpp <= 8;
    res->color_space = b->bpp <= 8 ? "palette" : res->channels == 4 ? "rgba"
                                                                    : "rgb";
    if (b->bpp <= 8 && b->gray)
        ia_codec_gray(&d->c, "BMP with a grey palette");
    if (res->channels == 4)
        ia_codec_alpha(&d->c, "alpha bit field");
}

/* Channel value under mask, scaled to 8 bits. */
static uint8_t field(uint32_t v, uint32_t mask)
{
    if (!mask)
        return 0;
    int shift = __builtin_ctz(mask);
    uint32_t max = mask >> shift;
    return (uint8_t)(((v & mask) >> shift) * 255u / max);
}

static int out_channels(const bmp_info *b)
{
    if (b->bpp <= 8)
        return b->gray ? 1 : 3;
    return b->bpp == 32 && b->mask[3] ? 4 : 3;
}

static void index_row(const bmp_info *b, const uint8_t *idx, uint8_t *o,
                      int unpacked)
{
    for (uint32_t x = 0; x < b->w; x++) {
        unsigned i;
        if (unpacked)
            i = idx[x];
        else {
            size_t bit = (size_t)x * (size_t)b->bpp;
            i = (idx[bit / 8] >> (8 - b->bpp - bit % 8)) &
                ((1u << b->bpp) - 1);
        }
        if (b->gray)
            *o++ = b->pal[i][0];
        else {
            memcpy(o, b->pal[i], 3);
            o += 3;
        }
    }
}

static void convert_row(const bmp_info *b, const uint8_t *in, uint8_t *o)
{
    if (b->bpp <= 8) {
        index_row(b, in, o, 0);
        return;
    }
    if (b->bpp == 24) {
        ia_bgr_to_rgb(in, o, b->w);
        return;
    }
    int ch = out_channels(b);
    for (uint32_t x = 0; x < b->w; x++, o += ch) {
        uint32_t v = b->bpp == 16 ? le16(in + 2 * (size_t)x)
                                  : le32(in + 4 * (size_t)x);
        for (int k = 0; k < ch; k++)
            o[k] = field(v, b->mask[k]);
    }
}

static int ensure_row(bmp_dec *d, size_t need)
{
    if (need <= d->row_cap)
        return 0;
    uint8_t *p = realloc(d->row, need);
    if (!p)
        return -1;
    d->row = p;
    d->row_cap = need;
    return 0;
}

/* Uncompressed: every row read in place. */
static void push_plain(bmp_dec *d)
{
    bmp_info *b = &d->b;
    ia_codec *c = &d->c;
    size_t have = c->len > b->offset ? c->len - b->offset : 0;
    uint32_t rows = have / b->stride < b->h ? (uint32_t)(have / b->stride)
                                            : b->h;
    if (rows < b->h) {
        c->res->rows_decoded = (int32_t)rows;
        ia_codec_truncated(c, "BMP");
        return;
    }
    for (uint32_t y = 0; y < b->h; y++) {
        uint32_t r = b->top_down ? y : b->h - 1 - y;
        convert_row(b, c->buf + b->offset + (size_t)r * b->stride, d->row);
        ia_codec_row(c, d->row);
    }
    ia_codec_ok(c);
}

/* Expands RLE8/RLE4 into c->pixels (one index a byte, bottom-up rows);
 * 0 at the end of the bitmap, 1 when the data ran out, -1 when a run
 * leaves the image. */
static int expand_rle(bmp_dec *d)
{
    bmp_info *b = &d->b;
    const uint8_t *p = d->c.buf + b->offset, *end = d->c.buf + d->c.len;
    uint32_t x = 0, y = 0;
    int four = b->compression == BI_RLE4;
    while (y < b->h) {
        if (end - p < 2)
            return 1;
        unsigned n = p[0], v = p[1];
        p += 2;
        if (n > 0) { /* a run of n pixels */
            if (x + n > b->w)
                return -1;
            for (unsigned i = 0; i < n; i++, x++)
                d->c.pixels[(size_t)y * b->w + x] =
                    (uint8_t)(four ? (i & 1 ? v & 15 : v >> 4) : v);
        } else if (v == 0) {
            x = 0, y++;
        } else if (v == 1) {
            return 0;
        } else if (v == 2) {
            if (end - p < 2)
                return 1;
            x += p[0], y += p[1];
            p += 2;
            if (x > b->w || y > b->h)
                return -1;
        } else { /* v literal pixels, padded to 16 bits */
            size_t bytes = four ? (v + 1) / 2 : v;
            if (x + v > b->w)
                return -1;
            if ((size_t)(end - p) < bytes)
                return 1;
            for (unsigned i = 0; i < v; i++, x++)
                d->c.pixels[(size_t)y * b->w + x] =
                    (uint8_t)(four ? (i & 1 ? p[i / 2] & 15 : p[i / 2] >> 4)
                                   : p[i]);
            p += bytes + (bytes & 1);
        }
    }
    return 0;
}

static int push_rle(bmp_dec *d)
{
    bmp_info *b = &d->b;
    ia_codec *c = &d->c;
    uint64_t area = (uint64_t)b->w * b->h;
    int rc = ia_codec_buffer(c, "BMP RLE buffer", area, IA_CODEC_PIXEL_RATIO,
                             1);
    if (rc != 0)
        return rc;
    memset(c->pixels, 0, (size_t)area);
    rc = expand_rle(d);
    if (rc == 1) {
        ia_codec_truncated(c, "BMP RLE");
        return 0;
    }
    if (rc < 0) {
        ia_codec_corrupt(c, "BMP RLE run outside the image");
        return 0;
    }
    for (uint32_t y = 0; y < b->h; y++) {
        index_row(b, c->pixels + (size_t)(b->h - 1 - y) * b->w, d->row, 1);
        ia_codec_row(c, d->row);
    }
    ia_codec_ok(c);
    return 0;
}

static int bmp_decode(void *state, const uint8_t *buf, size_t len,
                      const ia_limits *lim, const ia_rowsink *sink,
                      ia_file_result *res)
{
    bmp_dec *d = state;
    ia_codec *c = &d->c;
    int rc = 0;
    if (ia_codec_start(c, buf, len, lim, sink, res))
        return IA_OK;
    if (parse(d, buf, len) != 0)
        goto out;
    bmp_info *b = &d->b;
    record_facts(d);
    const char *why = layout_problem(b);
    if (why) {
        ia_result_status(res, IA_ST_UNSUPPORTED,
                         "BMP that Pillow cannot read either: %s (%d bits, "
                         "compression %lu)", why, b->bpp,
                         (unsigned long)b->compression);
        goto out;
    }
    if (ia_codec_size(c, b->w, b->h) != 0)
        goto out;
    b->stride = ((size_t)b->w * (size_t)b->bpp + 31) / 32 * 4;
    if (ensure_row(d, (size_t)b->w * 4) != 0) {
        rc = -2;
        goto out;
    }
    if (ia_codec_begin(c, b->w, b->h, out_channels(b), res->bit_depth) != 0)
        goto out;
    if (b->compression == BI_RLE8 || b->compression == BI_RLE4)
        rc = push_rle(d);
    else
        push_plain(d);
out:
    ia_codec_end(c);
    return rc == -2 ? IA_ERR_NOMEM : IA_OK;
}

static int bmp_create(void **state)
{
    *state = calloc(1, sizeof(bmp_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void bmp_destroy(void *state)
{
    bmp_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    free(d->row);
    free(d);
}

const ia_decoder_ops ia_bmp_ops = {
    IA_FMT_BMP, "imgaudit", bmp_create, bmp_decode, bmp_destroy,
};
