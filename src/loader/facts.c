/*
 * What a loader reads differently from imgaudit's decoders, taken from
 * the bytes at scan time, when they are at hand (docs/loaders.md).
 *
 * imgaudit decodes PNG with libpng, as OpenCV and TensorFlow do; Pillow
 * has a PNG reader of its own (PngImagePlugin.py, 9.4), stricter in some
 * places and laxer in others, so a PNG's verdict does not say what Pillow
 * does with it. This file follows Pillow's reader where it departs:
 *
 * - every chunk before the first IDAT has its CRC checked (ChunkStream.crc,
 *   called by _open): a wrong one raises, where libpng only warns about an
 *   ancillary chunk ("crc");
 * - zTXt, compressed iTXt and iCCP are inflated with a 1 MiB cap
 *   (_safe_zlib_decompress): more raises ValueError ("text_1mib"); text
 *   over 64 MiB in all raises too (check_text_memory, "text_64mib"),
 *   before or after the image data;
 * - the image data is the run of consecutive IDAT chunks from the first,
 *   inflated until the image's bytes are there: IDAT CRCs, unknown
 *   chunks, a missing IEND and whatever follows the last row are never
 *   looked at. For a PNG libpng refused, "intact" says Pillow still gets
 *   every row.
 *
 * Cost: a PNG's text chunks are inflated once, at most 1 MiB each and
 * 65 MiB in all; the image data only for a PNG libpng refused, and only
 * up to the image's size (at most 256 MiB of rows): a hostile file
 * cannot make this work more than decoding it did.
 *
 * For a file without an image signature imgaudit knows, the formats
 * Pillow (and for PNM OpenCV) open by their first bytes: PNM, ICO, TGA.
 *
 * For a BMP, what TensorFlow's own BMP reader (DecodeBmpV2,
 * decode_image_op.cc) makes of the header, which it reads more naively
 * than any library: the fields at fixed offsets, bits per pixel 8/24/32
 * only, a file of exactly header + rows, no palette, no compression.
 */
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "imgaudit.h"
#include "loader/profile.h"

#define TEXT_CHUNK_MAX ((size_t)1 << 20)    /* MAX_TEXT_CHUNK = SAFEBLOCK */
#define TEXT_MEMORY_MAX ((uint64_t)64 << 20) /* MAX_TEXT_MEMORY */
#define INTACT_RAW_MAX ((uint64_t)256 << 20)
#define DEFLATE_RATIO_MAX 1032              /* deflate's largest ratio */

static void add_fact(ia_file_result *res, const char *fact)
{
    size_t n = strlen(res->loader_facts);
    if (ld_has_fact(res->loader_facts, fact))
        return;
    ia_bprintf(res->loader_facts + n, sizeof res->loader_facts - n, "%s%s",
               n ? ";" : "", fact);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- inflating ---------------------------------------------------------- */

/* Consumes what inflate writes: 0 to go on, 1 to stop. */
typedef int (*sink_fn)(void *ctx, const uint8_t *out, size_t n);

/* Inflates in into sink; *end set when the stream ended. Z_OK, or the
 * zlib error. */
static int inflate_into(z_stream *z, const uint8_t *in, size_t n,
                        sink_fn sink, void *ctx, int *stop)
{
    uint8_t out[16384];
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)n;
    while (!*stop) {
        z->next_out = out;
        z->avail_out = sizeof out;
        int rc = inflate(z, Z_NO_FLUSH);
        size_t got = sizeof out - z->avail_out;
        if (got && sink(ctx, out, got))
            *stop = 1;
        if (rc == Z_STREAM_END)
            return Z_STREAM_END;
        if (rc == Z_BUF_ERROR || (rc == Z_OK && z->avail_in == 0 && got == 0))
            return Z_OK;       /* needs more input */
        if (rc != Z_OK)
            return rc;
    }
    return Z_OK;
}

static int count_sink(void *ctx, const uint8_t *out, size_t n)
{
    size_t *total = ctx;
    (void)out;
    *total += n;
    return *total > TEXT_CHUNK_MAX;
}

/* What zlib data inflates to, counted up to just past the 1 MiB cap; a
 * stream zlib rejects counts what came out before (Pillow then keeps an
 * empty text: zlib.error is caught). */
static size_t inflated_size(const uint8_t *p, size_t n)
{
    z_stream z;
    size_t total = 0;
    int stop = 0;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return 0;
    (void)inflate_into(&z, p, n, count_sink, &total, &stop);
    inflateEnd(&z);
    return total;
}

/* ---- the chunks, as Pillow reads them --------------------------------- */

typedef struct png_walk {
    const uint8_t *buf;
    size_t len;
    int crc, text1;
    uint64_t text;          /* check_text_memory's count */
    size_t first_idat;      /* offset of the first IDAT chunk; 0: none */
    int have_ihdr;
    uint32_t w, h;
    int depth, color, interlace;
} png_walk;

/* The text after a chunk's keyword: n bytes at *p after the first NUL,
 * 0 when there is no NUL (Pillow then takes the whole as the key). */
static size_t after_key(const uint8_t **p, size_t n, int *key)
{
    const uint8_t *nul = memchr(*p, 0, n);
    *key = nul && nul != *p;
    if (!nul)
        return 0;
    size_t k = (size_t)(nul - *p) + 1;
    *p += k;
    return n - k;
}

/* iTXt: key NUL flag method lang NUL keyword NUL text. */
static void itxt(png_walk *w, const uint8_t *p, size_t n)
{
    int key;
    n = after_key(&p, n, &key);
    if (n < 2)
        return;
    int compressed = p[0], method = p[1];
    p += 2;
    n -= 2;
    for (int i = 0; i < 2; i++) {
        const uint8_t *nul = memchr(p, 0, n);
        if (!nul)
            return;
        n -= (size_t)(nul - p) + 1;
        p = nul + 1;
    }
    if (compressed && method != 0)
        return;
    size_t len = compressed ? inflated_size(p, n) : n;
    if (len > TEXT_CHUNK_MAX)
        w->text1 = 1;
    else if (key)
        w->text += len;
}

static void text_chunk(png_walk *w, const uint8_t *type, const uint8_t *p,
                       size_t n)
{
    int key;
    if (memcmp(type, "tEXt", 4) == 0) {
        size_t v = after_key(&p, n, &key);
        w->text += key ? v : 0;
    } else if (memcmp(type, "zTXt", 4) == 0 || memcmp(type, "iCCP", 4) == 0) {
        size_t v = after_key(&p, n, &key);
        if (v < 1 || p[0] != 0)
            return;     /* another method: a SyntaxError, not ours */
        size_t len = inflated_size(p + 1, v - 1);
        if (len > TEXT_CHUNK_MAX)
            w->text1 = 1;
        else if (key && type[0] == 'z')
            w->text += len;
    } else if (memcmp(type, "iTXt", 4) == 0) {
        itxt(w, p, n);
    }
}

static void ihdr(png_walk *w, const uint8_t *p, uint32_t n)
{
    if (n < 13)
        return;
    w->have_ihdr = 1;
    w->w = be32(p);
    w->h = be32(p + 4);
    w->depth = p[8];
    w->color = p[9];
    w->interlace = p[12];
}

/* One pass over the chunk records, never past the buffer. */
static void walk_chunks(png_walk *w)
{
    size_t pos = 8;
    while (w->len - pos >= 8) {
        uint32_t n = be32(w->buf + pos);
        const uint8_t *type = w->buf + pos + 4, *data = type + 4;
        if (n > 0x7fffffffu || (size_t)n + 12 > w->len - pos)
            break;
        if (memcmp(type, "IEND", 4) == 0)
            break;
        if (memcmp(type, "IDAT", 4) == 0 && !w->first_idat)
            w->first_idat = pos;
        if (!w->first_idat &&
            crc32(crc32(0, type, 4), data, n) != be32(data + n))
            w->crc = 1;
        if (memcmp(type, "IHDR", 4) == 0 && !w->have_ihdr)
            ihdr(w, data, n);
        if (!w->text1 && w->text <= TEXT_MEMORY_MAX)
            text_chunk(w, type, data, n);
        pos += (size_t)n + 12;
    }
}

/* ---- the image data, as Pillow inflates it ---------------------------- */

static const int adam7[7][4] = {
    {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2},
};

static int channels_of(int color)
{
    switch (color) {
    case 0: return 1;
    case 2: return 3;
    case 3: return 1;
    case 4: return 2;
    case 6: return 4;
    default: return 0;
    }
}

/* Where in the rows inflated output is: each row opens with its filter
 * type, which must be 0-4 (Pillow's unfilter stops on another). */
typedef struct rows {
    uint64_t bits;          /* bits per pixel */
    uint32_t w, h;
    int pass, passes;
    uint64_t row_bytes;     /* of the current pass, filter byte included */
    uint64_t rows_left;     /* in the current pass */
    uint64_t at;            /* offset in the current row */
    int done, bad;
} rows;

static void next_pass(rows *r)
{
    for (; r->pass < r->passes; r->pass++) {
        const int *a = r->passes == 7 ? adam7[r->pass]
                                      : (const int[4]){0, 0, 1, 1};
        uint64_t pw = r->w > (uint32_t)a[0]
                          ? ((uint64_t)r->w - a[0] + a[2] - 1) / a[2] : 0;
        uint64_t ph = r->h > (uint32_t)a[1]
                          ? ((uint64_t)r->h - a[1] + a[3] - 1) / a[3] : 0;
        if (pw && ph) {
            r->row_bytes = 1 + (pw * r->bits + 7) / 8;
            r->rows_left = ph;
            r->at = 0;
            return;
        }
    }
    r->done = 1;
}

static uint64_t raw_size(const rows *r0)
{
    rows r = *r0;
    uint64_t total = 0;
    for (next_pass(&r); !r.done; r.pass++, next_pass(&r))
        total += r.row_bytes * r.rows_left;
    return total;
}

static int rows_sink(void *ctx, const uint8_t *out, size_t n)
{
    rows *r = ctx;
    size_t i = 0;
    while (i < n && !r->done) {
        if (r->at == 0 && out[i] > 4) {
            r->bad = 1;
            return 1;
        }
        uint64_t take = r->row_bytes - r->at;
        if (take > n - i)
            take = n - i;
        i += (size_t)take;
        r->at += take;
        if (r->at == r->row_bytes) {
            r->at = 0;
            if (--r->rows_left == 0) {
                r->pass++;
                next_pass(r);
            }
        }
    }
    return r->done;
}

/* Feeds the consecutive IDAT chunks from the first one (a cut chunk with
 * what the file holds of it) until every row came out. */
static int idat_rows(const png_walk *w, rows *r)
{
    z_stream z;
    int stop = 0, rc = Z_OK;
    size_t pos = w->first_idat;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return 0;
    while (!stop && rc == Z_OK && w->len - pos >= 8 &&
           memcmp(w->buf + pos + 4, "IDAT", 4) == 0) {
        size_t n = be32(w->buf + pos);
        size_t have = w->len - pos - 8;
        rc = inflate_into(&z, w->buf + pos + 8, n < have ? n : have,
                          rows_sink, r, &stop);
        if (n >= have || have - n < 4)
            break;      /* the file ends in this chunk or its CRC */
        pos += n + 12;
    }
    inflateEnd(&z);
    return r->done && !r->bad;
}

static int pillow_intact(const png_walk *w)
{
    int ch = channels_of(w->color), d = w->depth;
    if (!w->have_ihdr || !w->first_idat || !ch || !w->w || !w->h ||
        !(d == 1 || d == 2 || d == 4 || d == 8 || d == 16))
        return 0;
    rows r;
    memset(&r, 0, sizeof r);
    r.bits = (uint64_t)ch * (uint64_t)w->depth;
    r.w = w->w;
    r.h = w->h;
    r.passes = w->interlace ? 7 : 1;
    uint64_t raw = raw_size(&r);
    if (raw > INTACT_RAW_MAX ||
        raw / DEFLATE_RATIO_MAX > w->len - w->first_idat)
        return 0;
    next_pass(&r);
    return idat_rows(w, &r);
}

static void png_facts(const uint8_t *buf, size_t len, ia_file_result *res)
{
    png_walk w;
    memset(&w, 0, sizeof w);
    w.buf = buf;
    w.len = len;
    if (len < 8)
        return;
    walk_chunks(&w);
    if (w.crc)
        add_fact(res, LD_FACT_CRC);
    if (w.text1)
        add_fact(res, LD_FACT_TEXT1);
    if (w.text > TEXT_MEMORY_MAX)
        add_fact(res, LD_FACT_TEXT64);
    if (res->status != IA_ST_OK && res->status != IA_ST_TOO_LARGE &&
        pillow_intact(&w))
        add_fact(res, LD_FACT_INTACT);
}

/* ---- formats imgaudit does not know ----------------------------------- */

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

/* TgaImagePlugin._open: the header fields it validates (no magic). */
static int tga_header(const uint8_t *p, size_t len)
{
    if (len < 18)
        return 0;
    unsigned w = p[12] | (unsigned)p[13] << 8, h = p[14] | (unsigned)p[15] << 8;
    int type = p[2], depth = p[16];
    return p[1] <= 1 && w && h &&
           (depth == 1 || depth == 8 || depth == 16 || depth == 24 ||
            depth == 32) &&
           (type == 1 || type == 2 || type == 3 || type == 9 || type == 10 ||
            type == 11);
}

static void other_facts(const uint8_t *p, size_t len, ia_file_result *res)
{
    if (len >= 3 && p[0] == 'P' && p[1] >= '1' && p[1] <= '6' &&
        is_space(p[2]))
        add_fact(res, LD_FACT_PNM);
    else if (len >= 6 && memcmp(p, "\0\0\1\0", 4) == 0 && (p[4] || p[5]))
        add_fact(res, LD_FACT_ICO);
    else if (tga_header(p, len))
        add_fact(res, LD_FACT_TGA);
}

/* ---- BMP, as TensorFlow reads it ----------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* DecodeBmpV2's refusals: "Incomplete bmp content" under 32 bytes, then
 * channels = bpp / 8 in {1, 3, 4}, width > 0, height != 0, header size
 * >= 0, width x |height| < INT32_MAX / 8, and the exact size. */
static void bmp_layout(const uint8_t *p, uint64_t size, ia_file_result *res)
{
    int32_t header = (int32_t)le32(p + 10), w = (int32_t)le32(p + 18);
    int32_t h = (int32_t)le32(p + 22);
    int ch = (p[28] | p[29] << 8) / 8;
    if (ch != 1 && ch != 3 && ch != 4) {
        add_fact(res, LD_FACT_BMP_BPP);
        return;
    }
    uint64_t ah = h < 0 ? (uint64_t)-(int64_t)h : (uint64_t)h;
    if (w <= 0 || h == 0 || header < 0 ||
        (uint64_t)w * ah >= (uint64_t)(INT32_MAX / 8)) {
        add_fact(res, LD_FACT_BMP_DIMS);
        return;
    }
    uint64_t row = ((uint64_t)ch * (uint64_t)w + 3) / 4 * 4;
    if (size != (uint64_t)header + row * ah)
        add_fact(res, LD_FACT_BMP_SIZE);
}

/* What TF decodes wrongly without a word: compressed data read as raw
 * rows (BI_BITFIELDS only with the masks it assumes, BGR(A) bytes), and
 * an 8-bit palette that is not the grey ramp (TF returns the indices). */
static void bmp_pixels(const uint8_t *p, size_t len, ia_file_result *res)
{
    uint32_t dib = le32(p + 14), comp = len >= 34 ? le32(p + 30) : 0;
    int bpp = p[28] | p[29] << 8;
    if (comp == 3 && bpp == 32 && dib >= 40 && len >= 66)
        comp = le32(p + 54) == 0xff0000u && le32(p + 58) == 0xff00u &&
               le32(p + 62) == 0xffu ? 0 : 3;
    if (comp != 0)
        add_fact(res, LD_FACT_BMP_CODED);
    if (bpp / 8 != 1)
        return;
    uint32_t used = dib >= 40 && len >= 50 ? le32(p + 46) : 0;
    uint64_t n = used && used < 256 ? used : 256, at = 14 + (uint64_t)dib;
    if (dib < 40 || at + 4 * n > len) {
        add_fact(res, LD_FACT_BMP_PALETTE);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = p + at + 4 * i;
        if (e[0] != i || e[1] != i || e[2] != i) {
            add_fact(res, LD_FACT_BMP_PALETTE);
            return;
        }
    }
}

static void bmp_facts(const uint8_t *p, size_t len, ia_file_result *res)
{
    add_fact(res, LD_FACT_BMP);
    if (len < 32 || p[0] != 'B' || p[1] != 'M') {
        add_fact(res, LD_FACT_BMP_DIMS);
        return;
    }
    bmp_layout(p, res->size > 0 ? (uint64_t)res->size : len, res);
    bmp_pixels(p, len, res);
}

void ia_loader_facts(const uint8_t *buf, size_t len, ia_file_result *res)
{
    res->loader_facts[0] = '\0';
    if (!buf)
        return;
    if (res->format == IA_FMT_PNG)
        png_facts(buf, len, res);
    else if (res->format == IA_FMT_BMP)
        bmp_facts(buf, len, res);
    else if (res->status == IA_ST_NOT_IMAGE)
        other_facts(buf, len, res);
}
