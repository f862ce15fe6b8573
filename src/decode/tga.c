/*
 * Truevision TGA, decoded here: an 18-byte header, an optional colour
 * map, then pixels raw or run-length encoded.
 *
 * What a loader sees follows Pillow 9.4's TgaImagePlugin: types 1/9
 * (colour-mapped, 8-bit indices, 15/16/24/32-bit map entries, entries
 * before the map's first index black), 2/10 (16-bit BGR 5-5-5 scaled as
 * v * 255 / 31, 24-bit BGR, 32-bit BGRA), 3/11 (8-bit grey, 16-bit grey
 * + alpha, 1-bit); rows bottom-up unless the descriptor says top-down,
 * mirrored when it says right-to-left. A colour map's alpha is dropped,
 * as convert("RGB") drops it.
 *
 * TGA has no signature: sniff.c accepts a header only when every field
 * is one Pillow accepts. Raw top-down images stream from the file in
 * memory; bottom-up or RLE images are first expanded into a buffer
 * justified by the file's bytes and reserved from the scan's budget.
 * Data that ends early is truncated.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/codec.h"
#include "imgaudit.h"

typedef struct tga_dec {
    ia_codec c;
    uint8_t *row;
    size_t row_cap;
    uint32_t w, h;
    int type, depth, bpp, top_down, mirror, out_ch;
    uint8_t (*cmap)[3];
    size_t cmap_n, data;          /* entries; offset of the pixels */
} tga_dec;

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static void bgr15(uint32_t v, uint8_t *o)
{
    o[0] = (uint8_t)(((v >> 10) & 31) * 255 / 31);
    o[1] = (uint8_t)(((v >> 5) & 31) * 255 / 31);
    o[2] = (uint8_t)((v & 31) * 255 / 31);
}

/* The colour map: 0, or -1 when the file ends inside it. */
static int read_cmap(tga_dec *d, const uint8_t *h)
{
    uint32_t first = le16(h + 3), n = le16(h + 5), bits = h[7];
    size_t entry = (bits + 7) / 8, at = 18 + (size_t)h[0];
    d->cmap_n = 0;
    d->data = at + (h[1] ? (size_t)n * entry : 0);
    if (!h[1])
        return 0;
    if (d->data > d->c.len)
        return -1;
    d->cmap_n = first + n > 256 ? 256 : first + n;
    memset(d->cmap, 0, 256 * 3);
    for (uint32_t i = first; i < d->cmap_n; i++) {
        const uint8_t *p = d->c.buf + at + (size_t)(i - first) * entry;
        if (bits == 15 || bits == 16) {
            bgr15(le16(p), d->cmap[i]);
        } else if (bits >= 24) {
            d->cmap[i][0] = p[2];
            d->cmap[i][1] = p[1];
            d->cmap[i][2] = p[0];
        }
    }
    return 0;
}

static void record_facts(tga_dec *d)
{
    ia_file_result *res = d->c.res;
    int base = d->type & 7;
    res->bit_depth = base == 3 && d->depth == 1 ? 1 : 8;
    res->palette = base == 1;
    d->out_ch = base == 3 ? (d->depth == 16 ? 2 : 1)
                          : base == 2 && d->depth == 32 ? 4 : 3;
    res->channels = base == 1 ? 1 : d->out_ch;
    res->color_space = base == 1 ? "palette" : base == 3
                       ? (d->out_ch == 2 ? "gray_alpha" : "gray")
                       : d->out_ch == 4 ? "rgba" : "rgb";
    if (base == 3)
        ia_codec_gray(&d->c, "grey TGA");
    if (d->out_ch == 2 || d->out_ch == 4)
        ia_codec_alpha(&d->c, "alpha channel");
}

/* One pixel of the file's encoding to the pushed channels. */
static void pixel(const tga_dec *d, const uint8_t *p, uint8_t *o)
{
    switch (d->type & 7) {
    case 1:
        memcpy(o, d->cmap[p[0]], 3);
        break;
    case 3:
        o[0] = p[0];
        if (d->depth == 16)
            o[1] = p[1];
        break;
    default:
        if (d->depth == 16) {
            bgr15(le16(p), o);
        } else {
            o[0] = p[2];
            o[1] = p[1];
            o[2] = p[0];
            if (d->depth == 32)
                o[3] = p[3];
        }
    }
}

/* A row of the file's pixels (bpp bytes each, or bits for 1-bit). The
 * common photo layouts, 24-bit BGR and 8-bit grey left to right, a row
 * at once: the pixel loop was a third of a TGA photo scan. */
static void convert_row(const tga_dec *d, const uint8_t *in, uint8_t *o)
{
    if (!d->mirror && (d->type & 7) == 2 && d->depth == 24) {
        ia_bgr_to_rgb(in, o, d->w);
        return;
    }
    if (!d->mirror && (d->type & 7) == 3 && d->depth == 8) {
        memcpy(o, in, d->w);
        return;
    }
    for (uint32_t x = 0; x < d->w; x++) {
        uint32_t sx = d->mirror ? d->w - 1 - x : x;
        uint8_t *px = o + (size_t)x * (size_t)d->out_ch;
        if (d->depth == 1)
            px[0] = (in[sx / 8] >> (7 - sx % 8)) & 1 ? 255 : 0;
        else
            pixel(d, in + (size_t)sx * (size_t)d->bpp, px);
    }
}

/* RLE packets into c->pixels in file order; 0 done, 1 data ran out. */
static int expand_rle(tga_dec *d, size_t total)
{
    const uint8_t *p = d->c.buf + d->data, *end = d->c.buf + d->c.len;
    size_t bpp = (size_t)d->bpp, out = 0;
    while (out < total) {
        if (p >= end)
            return 1;
        size_t n = (size_t)(*p & 0x7F) + 1;
        int run = *p++ & 0x80;
        if (n > (total - out) / bpp)
            n = (total - out) / bpp;
        size_t bytes = run ? bpp : n * bpp;
        if ((size_t)(end - p) < bytes)
            return 1;
        for (size_t i = 0; i < n; i++)
            memcpy(d->c.pixels + out + i * bpp, run ? p : p + i * bpp, bpp);
        p += bytes;
        out += n * bpp;
    }
    return 0;
}

/* The rows, from the file or a buffer: 0, -2 out of memory. */
static int push_rows(tga_dec *d)
{
    ia_codec *c = &d->c;
    size_t stride = d->depth == 1 ? ((size_t)d->w + 7) / 8
                                  : (size_t)d->w * (size_t)d->bpp;
    const uint8_t *src = c->buf + d->data;
    size_t total = stride * d->h;
    if (d->type & 8) {
        int rc = ia_codec_buffer(c, "TGA RLE buffer", total,
                                 IA_CODEC_PIXEL_RATIO, 1);
        if (rc != 0)
            return rc == -2 ? -2 : 0;
        if (expand_rle(d, total) != 0) {
            ia_codec_truncated(c, "TGA RLE");
            return 0;
        }
        src = c->pixels;
    } else if (d->data > c->len || c->len - d->data < total) {
        size_t have = d->data > c->len ? 0 : c->len - d->data;
        c->res->rows_decoded = (int32_t)(have / stride);
        ia_codec_truncated(c, "TGA");
        return 0;
    }
    for (uint32_t y = 0; y < d->h; y++) {
        uint32_t r = d->top_down ? y : d->h - 1 - y;
        convert_row(d, src + (size_t)r * stride, d->row);
        ia_codec_row(c, d->row);
    }
    ia_codec_ok(c);
    return 0;
}

static int tga_decode(void *state, const uint8_t *buf, size_t len,
                      const ia_limits *lim, const ia_rowsink *sink,
                      ia_file_result *res)
{
    tga_dec *d = state;
    ia_codec *c = &d->c;
    int rc = 0;
    if (ia_codec_start(c, buf, len, lim, sink, res))
        return IA_OK;
    if (len < 18) {
        ia_codec_truncated(c, "TGA");
        goto out;
    }
    d->type = buf[2];
    d->depth = buf[16];
    d->bpp = (d->depth + 7) / 8;
    d->w = le16(buf + 12);
    d->h = le16(buf + 14);
    d->top_down = (buf[17] & 0x20) != 0;
    d->mirror = (buf[17] & 0x10) != 0;
    record_facts(d);
    if (read_cmap(d, buf) != 0) {
        ia_codec_truncated(c, "TGA");
        goto out;
    }
    if (ia_codec_size(c, d->w, d->h) != 0)
        goto out;
    if (!d->row || d->row_cap < (size_t)d->w * 4) {
        uint8_t *p = realloc(d->row, (size_t)d->w * 4);
        if (!p) {
            rc = -2;
            goto out;
        }
        d->row = p;
        d->row_cap = (size_t)d->w * 4;
    }
    if (ia_codec_begin(c, d->w, d->h, d->out_ch, res->bit_depth) == 0)
        rc = push_rows(d);
out:
    ia_codec_end(c);
    return rc == -2 ? IA_ERR_NOMEM : IA_OK;
}

static int tga_create(void **state)
{
    tga_dec *d = calloc(1, sizeof *d);
    if (!d)
        return IA_ERR_NOMEM;
    d->cmap = calloc(256, sizeof *d->cmap);
    if (!d->cmap) {
        free(d);
        return IA_ERR_NOMEM;
    }
    *state = d;
    return IA_OK;
}

static void tga_destroy(void *state)
{
    tga_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    free(d->cmap);
    free(d->row);
    free(d);
}

const ia_decoder_ops ia_tga_ops = {
    IA_FMT_TGA, "imgaudit", tga_create, tga_decode, tga_destroy,
};
