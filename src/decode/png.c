/*
 * PNG decoder on libpng 1.6, reading from the file already in memory.
 *
 * - libpng reports fatal errors by longjmp. The one setjmp lives in
 *   png_guarded(); everything that may longjmp runs below it, and every
 *   piece of state that must survive a longjmp (row counters, flags,
 *   messages) lives in the decoder struct, never in a local.
 * - Classification: our read callback running out of bytes means the file
 *   was cut (truncated); any other fatal libpng error (CRC error in a
 *   critical chunk, zlib errors, "Not enough image data") is corruption.
 *   libpng downgrades some image-data problems to warnings once every row
 *   has been read ("Too much image data", a bad Adler-32): a warning raised
 *   while libpng sits in an IDAT chunk therefore also means corrupt. Other
 *   warnings concern ancillary chunks and become info findings, capped at
 *   lim->max_warnings.
 * - Limits: width*height is checked against lim->max_pixels right after
 *   png_read_info(), before libpng allocates its row buffers. Ancillary
 *   chunks over lim->max_chunk_bytes are skipped unread (see
 *   skip_oversized); decompressed text and ICC data are capped by
 *   png_set_chunk_malloc_max().
 * - Memory: non-interlaced images stream through one row buffer; Adam7
 *   images need every pass before a row is final, so they are decoded into
 *   a whole-image buffer (bounded by max_pixels). The buffer belongs to the
 *   decoder and is reused across files. Its size must be justified by the
 *   file's bytes (IA_PNG_PIXEL_RATIO, decode.h) and is reserved from the
 *   scan's memory budget (lim->gate) for as long as the file is decoded.
 * - APNG: libpng (as packaged) may not know acTL, so we walk the chunk list
 *   ourselves before libpng runs; up to the first IDAT the walk also notes
 *   iCCP and the eXIf orientation, and everywhere oversized chunks.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "decode/codec.h"
#include "decode/decode.h"
#include "imgaudit.h"
#include "core/core.h"

/* Ancillary chunks libpng keeps per file (text, unknown, sPLT). */
#define PNG_CHUNK_CACHE_MAX 128
/* A buffer larger than this is released after the file, so one huge
 * interlaced image does not pin its memory in a worker for the whole scan. */
#define PNG_KEEP_BUFFER_BYTES ((size_t)64 << 20)
/* Compressed bytes libpng asks for at a time (its default is 8 KiB): a
 * truncated file loses at most this much before the cut, so rows_decoded
 * stays close to what the file holds; the extra inflate calls cost nothing
 * measurable. */
#ifndef PNG_READ_BYTES
#define PNG_READ_BYTES 1024
#endif
#define PNG_SIG_BYTES 8
#define CHUNK_IDAT 0x49444154u /* "IDAT" */
/* Distinct oversized chunk types skipped by name; past this, every
 * ancillary chunk is skipped. */
#define PNG_SKIP_TYPES_MAX 8
/* Compressed IDAT bytes libpng may read after the last row. It inflates
 * whatever follows just to report "Too much image data", and deflate
 * expands up to ~1000x: 1 MB of IDAT tail would cost a second of CPU, a
 * hostile 1 GB file a quarter of an hour. A sound file has only the zlib
 * trailer (and perhaps an empty IDAT) left. The last row is known from a
 * user transform, which libpng calls for each row once it is inflated and
 * before it looks for the end of the stream. */
#define PNG_TAIL_MAX ((size_t)64 << 10)

struct ia_png_decoder {
    /* Reused across files. */
    uint8_t *pixels;   /* one row, or the whole image when interlaced */
    size_t cap;
    /* Per file. */
    png_structp png;
    png_infop info;
    const uint8_t *buf;
    size_t len, pos;
    ia_limits lim;     /* the caller's, zero fields defaulted */
    const ia_rowsink *sink;
    ia_file_result *res;
    int eof;           /* the read callback ran out of bytes */
    int lib_oom;       /* a libpng allocation failed */
    int own_oom;       /* our pixel buffer could not be allocated */
    int too_large;
    uint64_t reserved; /* from lim.gate, released after the file */
    int sink_failed;
    int data_error;    /* an image-data problem libpng only warned about */
    uint64_t rows_expected; /* rows libpng inflates (all passes) */
    uint64_t rows_seen;
    int rows_done;     /* every row inflated: what IDAT data remains is tail */
    size_t tail;       /* bytes read for IDAT since rows_done */
    unsigned warnings;
    int pass, passes;
    png_byte skip[PNG_SKIP_TYPES_MAX * 5];  /* "tEXt\0" entries */
    int nskip, skip_all;
    char errmsg[IA_MESSAGE_MAX];
    char datamsg[IA_MESSAGE_MAX];
};

int ia_png_decoder_new(ia_png_decoder **out)
{
    ia_png_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return IA_ERR_NOMEM;
    *out = d;
    return 0;
}

void ia_png_decoder_free(ia_png_decoder *d)
{
    if (!d)
        return;
    free(d->pixels);
    free(d);
}

/* ---- Chunk walk (before libpng) ---------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* APNG frames: acTL's num_frames is only a claim (2^31 - 1 costs four
 * bytes); each frame has its own fcTL chunk, and those are counted. */
typedef struct apng_count {
    int actl;              /* an acTL came before the first IDAT */
    int finding;           /* index of its animated finding, or -1 */
    uint32_t claimed;      /* its num_frames */
    uint32_t fctl;         /* fcTL chunks in the whole file */
} apng_count;

/* After the walk: frames stores the frames the file holds, and the
 * animated finding (added at the acTL, so it is kept before any
 * warnings) says how many; a claim that differs is named too, since
 * loaders that trust it (Pillow's n_frames) fail on the missing ones. */
static void note_frames(ia_file_result *res, const apng_count *a)
{
    if (!a->actl)
        return;
    res->frames = a->fctl > INT32_MAX ? INT32_MAX : (int32_t)a->fctl;
    if (a->finding < 0)
        return;
    char *detail = res->findings[a->finding].detail;
    size_t cap = sizeof res->findings[a->finding].detail;
    if (a->claimed == a->fctl)
        ia_bprintf(detail, cap, "APNG, %lu frames", (unsigned long)a->fctl);
    else
        ia_bprintf(detail, cap, "APNG, %lu frames (its acTL claims %lu)",
                   (unsigned long)a->fctl, (unsigned long)a->claimed);
}

static void note_chunk(ia_file_result *res, apng_count *a,
                       const uint8_t *type, const uint8_t *data, uint32_t n)
{
    if (memcmp(type, "acTL", 4) == 0 && n >= 8 && !a->actl) {
        a->actl = 1;
        a->claimed = be32(data);
        res->animated = 1;
        a->finding = res->nfindings < IA_MAX_FILE_FINDINGS ? res->nfindings
                                                            : -1;
        ia_result_add(res, "animated", IA_SEV_INFO, "APNG");
    } else if (memcmp(type, "iCCP", 4) == 0) {
        res->icc = 1;
    } else if (memcmp(type, "eXIf", 4) == 0) {
        res->exif_orientation = ia_tiff_exif_orientation(data, n);
    }
}

static void add_warning(ia_png_decoder *d, const char *msg)
{
    if (d->warnings < d->lim.max_warnings) {
        d->warnings++;
        ia_result_add(d->res, "decoder_warning", IA_SEV_INFO, "%s", msg);
    } else {
        d->res->findings_dropped++;
    }
}

/* libpng 1.6.39 only warns about a chunk over png_set_chunk_malloc_max and
 * then allocates its full length (up to 2 GiB, even when the file is far
 * shorter), so oversized ancillary chunk types are handed to libpng as
 * "never keep": it then skips them without allocating. */
static void skip_oversized(ia_png_decoder *d, const uint8_t *type, uint32_t n)
{
    char msg[96];
    ia_bprintf(msg, sizeof msg, "%.4s chunk of %lu bytes skipped (limit %zu)",
               (const char *)type, (unsigned long)n, d->lim.max_chunk_bytes);
    add_warning(d, msg);
    for (int i = 0; i < d->nskip; i++)
        if (memcmp(d->skip + 5 * i, type, 4) == 0)
            return;
    if (d->nskip == PNG_SKIP_TYPES_MAX) {
        d->skip_all = 1;
        return;
    }
    memcpy(d->skip + 5 * d->nskip, type, 4);
    d->skip[5 * d->nskip + 4] = 0;
    d->nskip++;
}

/* Walks the length/type/data/CRC records, never past the buffer: notes
 * acTL, iCCP and eXIf before the first IDAT, fcTL and oversized ancillary
 * chunks anywhere. Damage is left for libpng to report. */
static void scan_chunks(ia_png_decoder *d)
{
    const uint8_t *buf = d->buf;
    size_t len = d->len, pos = PNG_SIG_BYTES;
    int before_idat = 1;
    apng_count apng = {0, -1, 0, 0};
    if (len < PNG_SIG_BYTES || png_sig_cmp(buf, 0, PNG_SIG_BYTES) != 0)
        return;
    while (len - pos >= 8) {
        uint32_t n = be32(buf + pos);
        const uint8_t *type = buf + pos + 4;
        if (n > PNG_UINT_31_MAX)
            break;
        if ((type[0] & 0x20) && n > d->lim.max_chunk_bytes)
            skip_oversized(d, type, n);
        if ((size_t)n + 12 > len - pos)
            break;
        if (memcmp(type, "IDAT", 4) == 0)
            before_idat = 0;
        else if (memcmp(type, "fcTL", 4) == 0)
            apng.fctl++;
        else if (before_idat)
            note_chunk(d->res, &apng, type, buf + pos + 8, n);
        pos += (size_t)n + 12;
    }
    note_frames(d->res, &apng);
}

/* ---- libpng callbacks --------------------------------------------------- */

static void png_read_cb(png_structp png, png_bytep out, size_t n)
{
    ia_png_decoder *d = png_get_io_ptr(png);
    if (n > d->len - d->pos) {
        d->eof = 1;
        png_error(png, "unexpected end of file");
    }
    if (d->rows_done && png_get_io_chunk_type(png) == CHUNK_IDAT) {
        d->tail += n;
        if (d->tail > PNG_TAIL_MAX)
            png_error(png, "IDAT: too much image data after the last row "
                           "(not inflated)");
    }
    memcpy(out, d->buf + d->pos, n);
    d->pos += n;
}

static void png_error_cb(png_structp png, png_const_charp msg)
{
    ia_png_decoder *d = png_get_error_ptr(png);
    ia_strlcpy(d->errmsg, msg, sizeof d->errmsg);
    png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    ia_png_decoder *d = png_get_error_ptr(png);
    if (png_get_io_chunk_type(png) == CHUNK_IDAT ||
        strncmp(msg, "IDAT", 4) == 0) {
        if (!d->data_error)
            ia_strlcpy(d->datamsg, msg, sizeof d->datamsg);
        d->data_error = 1;
        return;
    }
    /* Already reported by skip_oversized(), with the chunk's name. */
    if ((d->nskip || d->skip_all) &&
        strstr(msg, "chunk data is too large"))
        return;
    add_warning(d, msg);
}

static png_voidp png_malloc_cb(png_structp png, png_alloc_size_t n)
{
    ia_png_decoder *d = png_get_mem_ptr(png);
    void *p = malloc(n);
    if (!p)
        d->lib_oom = 1;
    return p;
}

static void png_free_cb(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

/* ---- Decoding (runs under png_guarded) --------------------------------- */

/* Grows the pixel buffer geometrically; contents are not kept. */
static int reserve(ia_png_decoder *d, size_t need)
{
    if (need <= d->cap)
        return 0;
    size_t cap = d->cap + d->cap / 2;
    if (cap < need)
        cap = need;
    free(d->pixels);
    d->pixels = malloc(cap);
    if (!d->pixels && cap > need) {
        cap = need;
        d->pixels = malloc(cap);
    }
    d->cap = d->pixels ? cap : 0;
    return d->pixels ? 0 : -1;
}

static void record_header(ia_png_decoder *d)
{
    ia_file_result *res = d->res;
    png_uint_32 w, h;
    int bd, ct, il;
    png_get_IHDR(d->png, d->info, &w, &h, &bd, &ct, &il, NULL, NULL);
    int trns = png_get_valid(d->png, d->info, PNG_INFO_tRNS) != 0;
    static const struct { int ct, channels; const char *name; } kinds[] = {
        {PNG_COLOR_TYPE_GRAY, 1, "gray"},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 2, "gray_alpha"},
        {PNG_COLOR_TYPE_RGB, 3, "rgb"},
        {PNG_COLOR_TYPE_RGB_ALPHA, 4, "rgba"},
        {PNG_COLOR_TYPE_PALETTE, 3, "palette"},
    };
    for (size_t i = 0; i < IA_ARRAY_LEN(kinds); i++) {
        if (kinds[i].ct != ct)
            continue;
        res->channels = kinds[i].channels;
        res->color_space = kinds[i].name;
    }
    if (ct == PNG_COLOR_TYPE_PALETTE && trns)
        res->channels = 4;
    res->width = (int32_t)w;   /* libpng caps both at 2^31-1 */
    res->height = (int32_t)h;
    res->bit_depth = bd;
    res->interlaced = il != PNG_INTERLACE_NONE;
    res->palette = ct == PNG_COLOR_TYPE_PALETTE;
    res->has_alpha = (ct & PNG_COLOR_MASK_ALPHA) != 0 || trns;

    if ((ct & PNG_COLOR_MASK_COLOR) == 0)
        ia_result_add(res, "grayscale", IA_SEV_INFO, "%s, %d-bit",
                      res->color_space, bd);
    if (res->has_alpha)
        ia_result_add(res, "alpha", IA_SEV_INFO, "%s",
                      trns ? "tRNS transparency" : "alpha channel");
    if (bd == 16)
        ia_result_add(res, "high_bit_depth", IA_SEV_INFO,
                      "16-bit samples, reduced to their high byte");
}

static int check_size(ia_png_decoder *d)
{
    uint32_t w = png_get_image_width(d->png, d->info);
    uint32_t h = png_get_image_height(d->png, d->info);
    size_t px;
    if (ia_mul_size(w, h, &px) == 0 && px <= d->lim.max_pixels)
        return 0;
    d->too_large = 1;
    ia_result_status(d->res, IA_ST_TOO_LARGE,
                     "%lux%lu = %llu pixels is over the limit of %llu",
                     (unsigned long)w, (unsigned long)h,
                     (unsigned long long)w * h,
                     (unsigned long long)d->lim.max_pixels);
    return -1;
}

/* An interlaced image's whole-image buffer of need bytes: refused when
 * the file's bytes cannot justify it or the scan's budget cannot hold
 * it, else reserved from that budget. */
static int budget_image(ia_png_decoder *d, size_t need)
{
    const ia_memgate *gate = d->lim.gate;
    unsigned long long mb = (unsigned long long)(need >> 20);
    if (ia_buffer_unjustified(need, d->len, IA_PNG_PIXEL_RATIO)) {
        d->too_large = 1;
        ia_result_status(d->res, IA_ST_TOO_LARGE,
                         "interlaced PNG of %d x %d: its %llu MB image buffer "
                         "is more than %u times the file's %zu bytes",
                         d->res->width, d->res->height, mb,
                         IA_PNG_PIXEL_RATIO, d->len);
        return -1;
    }
    if (gate && gate->reserve(gate->ctx, need) != 0) {
        d->too_large = 1;
        ia_result_status(d->res, IA_ST_TOO_LARGE,
                         "interlaced PNG of %d x %d: its %llu MB image buffer "
                         "is over the scan's memory budget of %llu MB",
                         d->res->width, d->res->height, mb,
                         (unsigned long long)(gate->total >> 20));
        return -1;
    }
    d->reserved = gate ? need : 0;
    return 0;
}

/* The user transform: changes nothing, counts rows (see PNG_TAIL_MAX). */
static void png_row_cb(png_structp png, png_row_infop info, png_bytep row)
{
    ia_png_decoder *d = png_get_io_ptr(png);
    (void)info;
    (void)row;
    if (++d->rows_seen == d->rows_expected)
        d->rows_done = 1;
}

static void expect_rows(ia_png_decoder *d, uint32_t w, uint32_t h)
{
    d->rows_expected = 0;
    if (d->passes <= 1) {
        d->rows_expected = h;
        return;
    }
    for (int p = 0; p < 7; p++)
        if (PNG_PASS_COLS(w, p) > 0)
            d->rows_expected += PNG_PASS_ROWS(h, p);
}

/* 8-bit rows with 1-4 channels, no gamma (DESIGN.md: what loaders see). */
static void set_transforms(ia_png_decoder *d)
{
    int ct = png_get_color_type(d->png, d->info);
    int bd = png_get_bit_depth(d->png, d->info);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(d->png);
    if (png_get_valid(d->png, d->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(d->png);
    if (ct == PNG_COLOR_TYPE_GRAY && bd < 8)
        png_set_expand_gray_1_2_4_to_8(d->png);
    if (bd == 16)
        png_set_strip_16(d->png);
    d->passes = png_set_interlace_handling(d->png);
    expect_rows(d, png_get_image_width(d->png, d->info),
                png_get_image_height(d->png, d->info));
    png_set_read_user_transform_fn(d->png, png_row_cb);
    png_read_update_info(d->png, d->info);
}

static void read_streaming(ia_png_decoder *d, uint32_t h)
{
    for (uint32_t y = 0; y < h; y++) {
        png_read_row(d->png, d->pixels, NULL);
        d->sink->row(d->sink->ctx, d->pixels);
        d->res->rows_decoded++;
    }
}

/* Adam7: every pass writes its pixels into the whole image; rows are final
 * only after the last pass. */
static void read_interlaced(ia_png_decoder *d, uint32_t h, size_t rowbytes)
{
    for (d->pass = 0; d->pass < d->passes; d->pass++)
        for (uint32_t y = 0; y < h; y++)
            png_read_row(d->png, d->pixels + (size_t)y * rowbytes, NULL);
    for (uint32_t y = 0; y < h; y++) {
        d->sink->row(d->sink->ctx, d->pixels + (size_t)y * rowbytes);
        d->res->rows_decoded++;
    }
}

static void decode_body(ia_png_decoder *d)
{
    png_set_read_fn(d->png, d, png_read_cb);
    png_set_user_limits(d->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_chunk_cache_max(d->png, PNG_CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(d->png, d->lim.max_chunk_bytes);
    png_set_benign_errors(d->png, 1);
    png_set_compression_buffer_size(d->png, PNG_READ_BYTES);
    if (d->skip_all)
        png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    else if (d->nskip)
        png_set_keep_unknown_chunks(d->png, PNG_HANDLE_CHUNK_NEVER, d->skip,
                                    d->nskip);

    png_read_info(d->png, d->info);
    record_header(d);
    if (check_size(d) != 0)
        return;
    set_transforms(d);

    uint32_t w = png_get_image_width(d->png, d->info);
    uint32_t h = png_get_image_height(d->png, d->info);
    int channels = png_get_channels(d->png, d->info);
    size_t rowbytes = png_get_rowbytes(d->png, d->info);
    assert(rowbytes == (size_t)w * (size_t)channels);
    size_t need = rowbytes;
    if (d->passes > 1 && ia_mul_size(rowbytes, h, &need) != 0) {
        d->own_oom = 1;   /* unreachable below max_pixels */
        return;
    }
    if (d->passes > 1 && budget_image(d, need) != 0)
        return;
    if (reserve(d, need) != 0) {
        d->own_oom = 1;
        return;
    }
    d->res->rows_total = (int32_t)h;
    d->res->rows_decoded = 0;
    int file_depth = d->res->bit_depth;
    if (d->sink->begin(d->sink->ctx, w, h, channels, file_depth) != 0) {
        d->sink_failed = 1;
        return;
    }
    if (d->passes > 1)
        read_interlaced(d, h, rowbytes);
    else
        read_streaming(d, h);
    png_read_end(d->png, d->info);
}

/* The only setjmp: 0 when decode_body returned, -1 after png_error. */
static int png_guarded(ia_png_decoder *d)
{
    if (setjmp(png_jmpbuf(d->png)))
        return -1;
    decode_body(d);
    return 0;
}

/* ---- Verdict ------------------------------------------------------------ */

static void set_truncated(ia_png_decoder *d)
{
    ia_file_result *res = d->res;
    if (res->rows_total < 0)
        ia_result_status(res, IA_ST_TRUNCATED,
                         "truncated before the image data");
    else if (d->passes > 1 && res->rows_decoded < res->rows_total)
        ia_result_status(res, IA_ST_TRUNCATED,
                         "truncated after %d of %d rows (interlaced, "
                         "in pass %d of %d)", res->rows_decoded,
                         res->rows_total, d->pass + 1, d->passes);
    else
        ia_result_status(res, IA_ST_TRUNCATED,
                         "truncated after %d of %d rows", res->rows_decoded,
                         res->rows_total);
}

static void set_corrupt(ia_png_decoder *d, const char *msg)
{
    ia_file_result *res = d->res;
    if (res->rows_total < 0)
        ia_result_status(res, IA_ST_CORRUPT, "%s", msg);
    else
        ia_result_status(res, IA_ST_CORRUPT, "%s (after %d of %d rows)", msg,
                         res->rows_decoded, res->rows_total);
}

/* Maps how decoding ended to a status; returns IA_ERR_NOMEM or 0. */
static int verdict(ia_png_decoder *d, int failed)
{
    if (d->own_oom || (failed && d->lib_oom)) {
        ia_strlcpy(d->res->message, "out of memory", sizeof d->res->message);
        return IA_ERR_NOMEM;   /* a tool failure: no verdict on the file */
    }
    if (d->too_large)
        return 0;
    if (d->data_error)
        set_corrupt(d, d->datamsg);
    else if (failed && d->eof)
        set_truncated(d);
    else if (failed)
        set_corrupt(d, d->errmsg);
    else if (d->sink_failed)
        ia_result_status(d->res, IA_ST_CORRUPT, "measure failed");
    else
        ia_result_status(d->res, IA_ST_OK, "%s", "");
    return 0;
}

static void start_file(ia_png_decoder *d, const uint8_t *buf, size_t len,
                       const ia_limits *lim, const ia_rowsink *sink,
                       ia_file_result *res)
{
    d->png = NULL;
    d->info = NULL;
    d->buf = buf;
    d->len = len;
    d->pos = 0;
    d->lim = *lim;
    ia_limits_defaults(&d->lim, lim->max_pixels);
    d->sink = sink;
    d->res = res;
    d->eof = d->lib_oom = d->own_oom = d->too_large = 0;
    d->reserved = 0;
    d->sink_failed = d->data_error = 0;
    d->rows_expected = d->rows_seen = 0;
    d->rows_done = 0;
    d->tail = 0;
    d->warnings = 0;
    d->nskip = d->skip_all = 0;
    d->pass = 0;
    d->passes = 1;
    d->errmsg[0] = d->datamsg[0] = '\0';

    res->progressive = -1;
    res->jpeg_quality = -1;
    res->subsampling = NULL;
    res->exif_orientation = -1;
    res->icc = 0;
    res->animated = 0;
    res->frames = 1;
    res->rows_decoded = res->rows_total = -1;
}

int ia_decode_png(ia_png_decoder *d, const uint8_t *buf, size_t len,
                  const ia_limits *lim, const ia_rowsink *sink,
                  ia_file_result *res)
{
    int rc = IA_ERR_NOMEM;
    start_file(d, buf, len, lim, sink, res);
    if (len == 0) {
        ia_result_status(res, IA_ST_EMPTY, "empty file");
        rc = 0;
        goto out;
    }
    scan_chunks(d);
    d->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, d, png_error_cb,
                                      png_warning_cb, d, png_malloc_cb,
                                      png_free_cb);
    if (!d->png)
        goto out;
    d->info = png_create_info_struct(d->png);
    if (!d->info)
        goto out;
    rc = verdict(d, png_guarded(d));
out:
    png_destroy_read_struct(&d->png, &d->info, NULL);
    d->png = NULL;
    d->info = NULL;
    if (d->cap > PNG_KEEP_BUFFER_BYTES) {
        free(d->pixels);
        d->pixels = NULL;
        d->cap = 0;
    }
    if (d->reserved)
        d->lim.gate->release(d->lim.gate->ctx, d->reserved);
    d->reserved = 0;
    return rc;
}

/* ---- Table row ---------------------------------------------------------- */

static int op_create(void **state)
{
    ia_png_decoder *d = NULL;
    int rc = ia_png_decoder_new(&d);
    *state = d;
    return rc;
}

static int op_decode(void *state, const uint8_t *buf, size_t len,
                     const ia_limits *lim, const ia_rowsink *sink,
                     ia_file_result *res)
{
    return ia_decode_png(state, buf, len, lim, sink, res);
}

static void op_destroy(void *state)
{
    ia_png_decoder_free(state);
}

const ia_decoder_ops ia_png_ops = {
    IA_FMT_PNG, "libpng", op_create, op_decode, op_destroy,
};
