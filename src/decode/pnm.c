/*
 * Netpbm: PBM, PGM and PPM, binary (P4-P6) and plain ASCII (P1-P3),
 * decoded here row by row from the file in memory.
 *
 * What a loader sees follows Pillow 9.4's PpmImagePlugin: bitmaps 0/255
 * with 1 black; maxval 255 as stored; any other maxval up to 255 scaled
 * as round(v / maxval * 255) (Python's round: half to even); grey with a
 * maxval over 255 becomes Pillow's 32-bit "I" mode, round(v / maxval *
 * 65535), which convert("L") clips to 0..255; colour with a maxval over
 * 255 is scaled to 255 and clipped. A plain file's value over maxval is
 * an error in Pillow: corrupt here. Data that ends early is truncated
 * (rows complete of total).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/codec.h"
#include "imgaudit.h"

typedef struct pnm_dec {
    ia_codec c;
    uint8_t *row;
    size_t row_cap;
    size_t pos;
    int kind;                  /* 1..6 */
    uint32_t w, h, maxval;
    int ch;                    /* 1 or 3 */
    uint8_t map[256];          /* maxval <= 255: value to 8 bits */
} pnm_dec;

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Skips whitespace and comments (from # to the end of the line). */
static void skip_space(pnm_dec *d)
{
    const uint8_t *b = d->c.buf;
    while (d->pos < d->c.len) {
        if (b[d->pos] == '#') {
            while (d->pos < d->c.len && b[d->pos] != '\n' && b[d->pos] != '\r')
                d->pos++;
        } else if (is_space(b[d->pos])) {
            d->pos++;
        } else {
            break;
        }
    }
}

/* A decimal number: 0, -1 at the end of the data, -2 not a number or
 * over limit. */
static int number(pnm_dec *d, uint32_t limit, uint32_t *out)
{
    const uint8_t *b = d->c.buf;
    uint64_t v = 0;
    size_t start;
    skip_space(d);
    start = d->pos;
    while (d->pos < d->c.len && b[d->pos] >= '0' && b[d->pos] <= '9') {
        v = v * 10 + (uint64_t)(b[d->pos++] - '0');
        if (v > limit)
            return -2;
    }
    if (d->pos == start)
        return d->pos >= d->c.len ? -1 : -2;
    *out = (uint32_t)v;
    return 0;
}

/* Pillow: round(v / maxval * out_max) in doubles, half to even. */
static unsigned scale(uint32_t v, uint32_t maxval, unsigned out_max)
{
    double q = nearbyint((double)v / (double)maxval * (double)out_max);
    return q > out_max ? out_max : (unsigned)q;
}

static uint8_t to8(const pnm_dec *d, uint32_t v)
{
    if (d->maxval <= 255)
        return v <= d->maxval ? d->map[v] : 255;
    unsigned s = scale(v, d->maxval, d->ch == 1 ? 65535u : 255u);
    return (uint8_t)(s > 255 ? 255 : s);
}

/* 0 header read; -1 status set. */
static int header(pnm_dec *d)
{
    ia_codec *c = &d->c;
    const uint8_t *b = c->buf;
    d->kind = b[1] - '0';
    d->pos = 2;
    d->ch = d->kind == 3 || d->kind == 6 ? 3 : 1;
    d->maxval = 1;
    int rc = number(d, UINT32_MAX, &d->w);
    if (rc == 0)
        rc = number(d, UINT32_MAX, &d->h);
    if (rc == 0 && d->kind != 1 && d->kind != 4)
        rc = number(d, 65535, &d->maxval);
    if (rc == -1) {
        ia_codec_truncated(c, "PNM");
        return -1;
    }
    if (rc != 0 || d->maxval == 0) {
        ia_codec_corrupt(c, "PNM header: size or maxval is not a number "
                            "from 1 to 65535");
        return -1;
    }
    d->pos++; /* the single whitespace before binary data */
    /* every byte value: a binary sample over maxval reads as 255 (to8),
     * so a row of bytes converts through the table alone */
    for (uint32_t v = 0; v < 256; v++)
        d->map[v] = v > d->maxval ? 255
                    : (uint8_t)(d->maxval == 255 ? v
                                                 : scale(v, d->maxval, 255));
    return 0;
}

static void record_facts(pnm_dec *d)
{
    ia_file_result *res = d->c.res;
    int bits = d->kind == 1 || d->kind == 4 ? 1 : d->maxval > 255 ? 16 : 8;
    res->channels = d->ch;
    res->bit_depth = bits;
    res->color_space = d->ch == 3 ? "rgb" : "gray";
    if (d->ch == 1)
        ia_codec_gray(&d->c, bits == 1 ? "PBM bitmap" : "PGM grey map");
    if (bits == 16)
        ia_codec_high_depth(&d->c, 16, d->ch == 1
                            ? "scaled to 16 bits then clipped to 0..255 as "
                              "Pillow's I to L does"
                            : "scaled to 8 bits");
}

/* A binary row's samples as 8 bits; the common files (P5/P6 bytes) in
 * one loop over the table, not a branch per sample: the sample loop was
 * nearly all of a PPM photo's decode (2 ms for 400x533, eight times BMP's
 * row copy). */
static void binary_samples(const pnm_dec *d, const uint8_t *p, uint8_t *o,
                           size_t n)
{
    if (d->kind == 4) {
        for (size_t i = 0; i < n; i++)
            o[i] = (p[i / 8] >> (7 - i % 8)) & 1 ? 0 : 255;
    } else if (d->maxval > 255) {
        for (size_t i = 0; i < n; i++)
            o[i] = to8(d, (uint32_t)p[2 * i] << 8 | p[2 * i + 1]);
    } else {
        for (size_t i = 0; i < n; i++)
            o[i] = d->map[p[i]];
    }
}

/* Binary rows: -1 truncated at row y. A maxval-255 row of bytes is its
 * own pixels: pushed from the file's buffer, not copied. */
static int binary_row(pnm_dec *d, const uint8_t **row)
{
    ia_codec *c = &d->c;
    size_t n = (size_t)d->w * (size_t)d->ch;
    size_t bytes = d->kind == 4 ? ((size_t)d->w + 7) / 8
                                : n * (d->maxval > 255 ? 2u : 1u);
    if (d->pos > c->len || c->len - d->pos < bytes)
        return -1;
    const uint8_t *p = c->buf + d->pos;
    d->pos += bytes;
    if (d->kind != 4 && d->maxval == 255) {
        *row = p;
        return 0;
    }
    binary_samples(d, p, d->row, n);
    *row = d->row;
    return 0;
}

/* Plain rows: -1 truncated, -2 a value that is no number or over
 * maxval. P1 digits may touch each other. */
static int plain_row(pnm_dec *d, uint8_t *o)
{
    size_t n = (size_t)d->w * (size_t)d->ch;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        if (d->kind == 1) {
            skip_space(d);
            if (d->pos >= d->c.len)
                return -1;
            int ch = d->c.buf[d->pos++];
            if (ch != '0' && ch != '1')
                return -2;
            o[i] = ch == '1' ? 0 : 255;
            continue;
        }
        int rc = number(d, d->maxval, &v);
        if (rc != 0)
            return rc;
        o[i] = to8(d, v);
    }
    return 0;
}

static void read_rows(pnm_dec *d)
{
    ia_codec *c = &d->c;
    int plain = d->kind <= 3;
    if (!plain)
        d->pos = d->pos > c->len ? c->len : d->pos;
    else
        d->pos--; /* plain data may start right after the last number */
    for (uint32_t y = 0; y < d->h; y++) {
        const uint8_t *row = d->row;
        int rc = plain ? plain_row(d, d->row) : binary_row(d, &row);
        if (rc == -1) {
            ia_codec_truncated(c, "PNM");
            return;
        }
        if (rc == -2) {
            ia_codec_corrupt(c, "plain PNM value is not a number up to "
                                "maxval");
            return;
        }
        ia_codec_row(c, row);
    }
    ia_codec_ok(c);
}

static int pnm_decode(void *state, const uint8_t *buf, size_t len,
                      const ia_limits *lim, const ia_rowsink *sink,
                      ia_file_result *res)
{
    pnm_dec *d = state;
    ia_codec *c = &d->c;
    int rc = IA_OK;
    if (ia_codec_start(c, buf, len, lim, sink, res))
        return IA_OK;
    if (len < 3) {
        ia_codec_truncated(c, "PNM");
        goto out;
    }
    if (header(d) != 0)
        goto out;
    record_facts(d);
    if (ia_codec_size(c, d->w, d->h) != 0)
        goto out;
    size_t need = (size_t)d->w * 3;
    if (need > d->row_cap) {
        uint8_t *p = realloc(d->row, need);
        if (!p) {
            rc = IA_ERR_NOMEM;
            goto out;
        }
        d->row = p;
        d->row_cap = need;
    }
    if (ia_codec_begin(c, d->w, d->h, d->ch, res->bit_depth) == 0)
        read_rows(d);
out:
    ia_codec_end(c);
    return rc;
}

static int pnm_create(void **state)
{
    *state = calloc(1, sizeof(pnm_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void pnm_destroy(void *state)
{
    pnm_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    free(d->row);
    free(d);
}

const ia_decoder_ops ia_pnm_ops = {
    IA_FMT_PNM, "imgaudit", pnm_create, pnm_decode, pnm_destroy,
};
