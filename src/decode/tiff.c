/*
 * TIFF through libtiff, from memory (TIFFClientOpenExt with per-handle
 * error and warning handlers: libtiff's global handlers are never set).
 *
 * The first page (IFD) is decoded and measured; the others are counted
 * (multi_page), up to lim.max_frames, not decoded: a loader reads page 1.
 * Strips (contiguous or one plane per sample) and contiguous tiles are
 * read one strip, or one row of tiles, at a time into a buffer that is
 * justified by the file's bytes and reserved from the scan's budget; a
 * strip whose bytes lie past the end of the file makes the verdict
 * truncated (rows decoded before it), any libtiff error corrupt with its
 * message. libtiff's own allocations are capped at the same size
 * (TIFFOpenOptionsSetMaxSingleMemAlloc).
 *
 * What a loader sees follows Pillow 9.4 (TiffImagePlugin's OPEN_INFO,
 * then convert("RGB") / convert("L")):
 *  - 1/2/4/8-bit grey scaled to 8 bits, MinIsWhite inverted (8 bits and
 *    less, as Pillow's "1;I"/"L;I" raw modes; 16-bit is not inverted);
 *  - 16-bit and 32-bit integer grey (Pillow's I;16 / I modes) clipped to
 *    0..255, NOT scaled: convert("L") of I;16 is min(v, 255);
 *  - 32-bit float grey (mode F) truncated toward zero and clipped;
 *  - 16-bit RGB(A)/CMYK reduced to the high byte (RGB;16L etc.);
 *  - palette through the colour map's high bytes; CMYK through Pillow's
 *    cmyk2rgb; associated alpha un-premultiplied as Pillow's "RGBa";
 *    an extra sample of unspecified meaning dropped (RGBX), a fourth
 *    sample without ExtraSamples taken as alpha;
 *  - JPEG-compressed YCbCr converted to RGB by libjpeg (JPEGCOLORMODE).
 * Other layouts (LAB, YCbCr without JPEG, float RGB, separate planes of
 * sub-byte samples or in tiles) are `unsupported` with the layout named.
 * Orientation is recorded (exif_rotated), not applied, as Pillow does.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "decode/codec.h"
#include "imgaudit.h"

/* libtiff's functions, opened at the first TIFF when the build knows its
 * soname (core.h: about 3 ms at every start when linked), else linked. */
#define TIFF_FUNCS(X)                                                        \
    X(TIFFClientOpenExt) X(TIFFClose) X(TIFFComputeTile) X(TIFFGetField)     \
    X(TIFFGetFieldDefaulted) X(TIFFGetStrileByteCount)                       \
    X(TIFFGetStrileOffset) X(TIFFIsTiled) X(TIFFNumberOfStrips)              \
    X(TIFFOpenOptionsAlloc) X(TIFFOpenOptionsFree)                           \
    X(TIFFOpenOptionsSetErrorHandlerExtR)                                    \
    X(TIFFOpenOptionsSetMaxSingleMemAlloc)                                   \
    X(TIFFOpenOptionsSetWarningHandlerExtR) X(TIFFReadDirectory)             \
    X(TIFFReadEncodedStrip) X(TIFFReadEncodedTile) X(TIFFScanlineSize)       \
    X(TIFFSetField) X(TIFFStripSize) X(TIFFTileRowSize) X(TIFFTileSize)

typedef struct tiff_api {
    IA_LIB_FIELDS(TIFF_FUNCS)
} tiff_api;

enum kind { K_GRAY, K_RGB, K_PALETTE, K_CMYK };

typedef struct layout {
    uint32_t w, h;
    uint16_t bps, spp, fmt, photo, planar, extra_n;
    int kind;                  /* enum kind */
    int alpha;                 /* 0 none, 1 associated, 2 unassociated */
    int color_n;               /* colour samples before the extras */
    int out_ch;                /* channels pushed */
    int tiled;
    uint16_t *cmap[3];
} layout;

typedef struct tiff_dec {
    ia_codec c;
    size_t pos;
    char error[IA_MESSAGE_MAX];
    int errors;
    uint8_t *out;              /* one pushed row */
    uint8_t *raw;              /* one contiguous raw row (separate planes) */
    size_t out_cap, raw_cap;
    layout L;
    ia_dynlib lib;
    tiff_api api;
} tiff_dec;

/* libtiff's functions through the worker's table */
#define T(f) (d->api.f)

/* Whether libtiff is ready, opening it at the first file. */
#ifdef IA_TIFF_SONAME
IA_LIB_READY_FN(tiff_ready, tiff_dec, TIFF_FUNCS, IA_TIFF_SONAME)
#else
IA_LIB_LINKED_FN(tiff_ready, tiff_dec, TIFF_FUNCS)
#endif

/* ---- I/O from memory ---------------------------------------------------- */

static tmsize_t t_read(thandle_t h, void *dst, tmsize_t n)
{
    tiff_dec *d = h;
    size_t left = d->c.len - d->pos, k = (size_t)n;
    if (n < 0)
        return -1;
    if (k > left)
        k = left;
    memcpy(dst, d->c.buf + d->pos, k);
    d->pos += k;
    return (tmsize_t)k;
}

static tmsize_t t_write(thandle_t h, void *src, tmsize_t n)
{
    (void)h;
    (void)src;
    (void)n;
    return -1;
}

static toff_t t_seek(thandle_t h, toff_t off, int whence)
{
    tiff_dec *d = h;
    uint64_t base = whence == SEEK_CUR ? d->pos
                  : whence == SEEK_END ? d->c.len : 0;
    if (off > UINT64_MAX - base)
        return (toff_t)-1;
    uint64_t to = base + off;
    d->pos = to > d->c.len ? d->c.len : (size_t)to;
    return to;
}

static int t_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t t_size(thandle_t h)
{
    return ((tiff_dec *)h)->c.len;
}

static int t_map(thandle_t h, void **base, toff_t *size)
{
    tiff_dec *d = h;
    *base = (void *)(uintptr_t)d->c.buf; /* read-only mapping: mode "rm" */
    *size = d->c.len;
    return 1;
}

static void t_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h;
    (void)base;
    (void)size;
}

/* libtiff's handlers: fmt and ap come from libtiff, as a printf pair. */
__attribute__((format(printf, 4, 0)))
static int on_error(TIFF *tif, void *user, const char *module,
                    const char *fmt, va_list ap)
{
    tiff_dec *d = user;
    (void)tif;
    if (d->errors++ == 0) {
        char text[IA_MESSAGE_MAX];
        vsnprintf(text, sizeof text, fmt, ap);
        ia_bprintf(d->error, sizeof d->error, "%s: %s", module ? module : "",
                   text);
    }
    return 1;
}

__attribute__((format(printf, 4, 0)))
static int on_warning(TIFF *tif, void *user, const char *module,
                      const char *fmt, va_list ap)
{
    tiff_dec *d = user;
    char text[160];
    (void)tif;
    (void)module;
    vsnprintf(text, sizeof text, fmt, ap);
    ia_codec_warning(&d->c, "libtiff: %s", text);
    return 1;
}

/* ---- Layout: what Pillow would make of the first page ------------------ */

static const char *photo_name(uint16_t p)
{
    switch (p) {
    case PHOTOMETRIC_MINISWHITE: return "gray (min-is-white)";
    case PHOTOMETRIC_MINISBLACK: return "gray";
    case PHOTOMETRIC_RGB: return "rgb";
    case PHOTOMETRIC_PALETTE: return "palette";
    case PHOTOMETRIC_SEPARATED: return "cmyk";
    case PHOTOMETRIC_YCBCR: return "ycbcr";
    case PHOTOMETRIC_CIELAB: return "lab";
    default: return "other";
    }
}

static int read_fields(tiff_dec *d, TIFF *tif)
{
    layout *L = &d->L;
    uint16_t *extra = NULL, comp = 1, inkset = INKSET_CMYK;
    memset(L, 0, sizeof *L);
    T(TIFFGetField)(tif, TIFFTAG_IMAGEWIDTH, &L->w);
    T(TIFFGetField)(tif, TIFFTAG_IMAGELENGTH, &L->h);
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_BITSPERSAMPLE, &L->bps);
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_SAMPLESPERPIXEL, &L->spp);
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_SAMPLEFORMAT, &L->fmt);
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_PLANARCONFIG, &L->planar);
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_COMPRESSION, &comp);
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_INKSET, &inkset);
    if (!T(TIFFGetField)(tif, TIFFTAG_PHOTOMETRIC, &L->photo))
        L->photo = L->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    if (T(TIFFGetField)(tif, TIFFTAG_EXTRASAMPLES, &L->extra_n, &extra) &&
        L->extra_n > 0 && extra)
        L->alpha = extra[0] == EXTRASAMPLE_ASSOCALPHA   ? 1
                   : extra[0] == EXTRASAMPLE_UNASSALPHA ? 2 : 0;
    L->tiled = T(TIFFIsTiled)(tif);
    if (L->photo == PHOTOMETRIC_YCBCR && comp == COMPRESSION_JPEG &&
        T(TIFFSetField)(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
        L->photo = PHOTOMETRIC_RGB;  /* libjpeg converts; tags say YCbCr */
    if (L->photo == PHOTOMETRIC_SEPARATED && inkset != INKSET_CMYK)
        L->photo = 0xFFFF;
    return (int)comp;
}

/* 0 when the page is one Pillow converts as described above. */
static const char *unsupported_layout(tiff_dec *d, TIFF *tif)
{
    layout *L = &d->L;
    int uint = L->fmt == SAMPLEFORMAT_UINT || L->fmt == SAMPLEFORMAT_INT;
    int flt = L->fmt == SAMPLEFORMAT_IEEEFP;
    switch (L->photo) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
        L->kind = K_GRAY;
        L->color_n = 1;
        if (flt && L->bps != 32)
            return "float samples of other than 32 bits";
        if (!flt && !uint)
            return "sample format";
        if (!flt && L->bps != 1 && L->bps != 2 && L->bps != 4 &&
            L->bps != 8 && L->bps != 16 && L->bps != 32)
            return "bits per sample";
        break;
    case PHOTOMETRIC_RGB:
    case PHOTOMETRIC_SEPARATED:
        L->kind = L->photo == PHOTOMETRIC_RGB ? K_RGB : K_CMYK;
        L->color_n = L->kind == K_RGB ? 3 : 4;
        if (L->fmt != SAMPLEFORMAT_UINT || (L->bps != 8 && L->bps != 16))
            return "samples (only 8- and 16-bit unsigned colour)";
        break;
    case PHOTOMETRIC_PALETTE:
        L->kind = K_PALETTE;
        L->color_n = 1;
        if (L->fmt != SAMPLEFORMAT_UINT || L->bps > 8 ||
            !T(TIFFGetField)(tif, TIFFTAG_COLORMAP, &L->cmap[0], &L->cmap[1],
                          &L->cmap[2]))
            return "palette (no colour map, or over 8 bits)";
        break;
    default:
        return "photometric interpretation";
    }
    if (L->spp < L->color_n)
        return "samples per pixel";
    if (L->spp == 4 && L->kind == K_RGB && L->extra_n == 0)
        L->alpha = 2;  /* Pillow reads RGBA without ExtraSamples */
    if (L->kind == K_CMYK || L->kind == K_PALETTE)
        L->alpha = 0;
    if (L->spp == L->color_n)
        L->alpha = 0;
    if (L->planar == PLANARCONFIG_SEPARATE && (L->bps < 8 || L->tiled))
        return "separate planes of sub-byte samples or in tiles";
    L->out_ch = (L->kind == K_GRAY ? 1 : 3) + (L->alpha != 0);
    return NULL;
}

/* ---- Samples to 8-bit pixels -------------------------------------------- */

static unsigned sample(const uint8_t *raw, const layout *L, size_t i)
{
    switch (L->bps) {
    case 8:
        return raw[i];
    case 16: {
        uint16_t v;
        memcpy(&v, raw + 2 * i, 2);
        return v;
    }
    case 32: {
        uint32_t v;
        memcpy(&v, raw + 4 * i, 4);
        return v;
    }
    default: {
        size_t bit = i * L->bps;
        unsigned byte = raw[bit / 8];
        return (byte >> (8 - L->bps - bit % 8)) & ((1u << L->bps) - 1);
    }
    }
}

/* Pillow's grey: sub-byte scaled, 8-bit as is, I;16 and I clipped, F
 * truncated and clipped; MinIsWhite inverted up to 8 bits. */
static uint8_t gray8(const uint8_t *raw, const layout *L, size_t i)
{
    if (L->fmt == SAMPLEFORMAT_IEEEFP) {
        float f;
        memcpy(&f, raw + 4 * i, 4);
        return !(f > 0) ? 0 : f >= 255 ? 255 : (uint8_t)f;
    }
    unsigned v = sample(raw, L, i);
    long s = v;
    if (L->fmt == SAMPLEFORMAT_INT && L->bps == 16)
        s = (int16_t)v;
    else if (L->fmt == SAMPLEFORMAT_INT && L->bps == 32)
        s = (int32_t)v;
    if (L->bps > 8)
        return s < 0 ? 0 : s > 255 ? 255 : (uint8_t)s;
    uint8_t g = (uint8_t)(v * 255u / ((1u << L->bps) - 1));
    return L->photo == PHOTOMETRIC_MINISWHITE ? (uint8_t)(255 - g) : g;
}

static uint8_t high8(const uint8_t *raw, const layout *L, size_t i)
{
    unsigned v = sample(raw, L, i);
    return (uint8_t)(L->bps == 16 ? v >> 8 : v);
}

/* Pillow's unpack "RGBa": colour * 255 / alpha, clipped; 0 when alpha 0. */
static void unpremultiply(uint8_t *px, int colors)
{
    unsigned a = px[colors];
    for (int k = 0; k < colors; k++) {
        unsigned v = a ? px[k] * 255u / a : 0;
        px[k] = (uint8_t)(v > 255 ? 255 : v);
    }
}

static void convert_row(const layout *L, const uint8_t *raw, uint8_t *out)
{
    for (uint32_t x = 0; x < L->w; x++) {
        size_t s = (size_t)x * L->spp;
        uint8_t *o = out + (size_t)x * (size_t)L->out_ch;
        uint8_t cmyk[4];
        switch (L->kind) {
        case K_GRAY:
            o[0] = gray8(raw, L, s);
            break;
        case K_PALETTE: {
            unsigned i = sample(raw, L, s);
            for (int k = 0; k < 3; k++)
                o[k] = (uint8_t)(L->cmap[k][i] >> 8);
            break;
        }
        case K_RGB:
            for (int k = 0; k < 3; k++)
                o[k] = high8(raw, L, s + (size_t)k);
            break;
        default:
            for (int k = 0; k < 4; k++)
                cmyk[k] = high8(raw, L, s + (size_t)k);
            ia_cmyk_to_rgb(cmyk, o, 1);
        }
        if (!L->alpha)
            continue;
        int colors = L->out_ch - 1;
        o[colors] = high8(raw, L, s + (size_t)L->color_n);
        if (L->alpha == 1)
            unpremultiply(o, colors);
    }
}

/* ---- Reading ------------------------------------------------------------ */

static int ensure(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    uint8_t *q = realloc(*p, need);
    if (!q)
        return -1;
    *p = q;
    *cap = need;
    return 0;
}

/* Whether strile's bytes lie within the file. */
static int strile_present(tiff_dec *d, TIFF *tif, uint32_t strile)
{
    uint64_t off = T(TIFFGetStrileOffset)(tif, strile);
    uint64_t n = T(TIFFGetStrileByteCount)(tif, strile);
    return off <= d->c.len && n <= d->c.len - off;
}

static void push_band(tiff_dec *d, const uint8_t *band, size_t stride,
                      uint32_t rows)
{
    for (uint32_t r = 0; r < rows; r++) {
        convert_row(&d->L, band + (size_t)r * stride, d->out);
        ia_codec_row(&d->c, d->out);
    }
}

/* Interleaves row r of the planes (each stride bytes a row) into raw. */
static void interleave(tiff_dec *d, size_t plane_bytes, size_t stride,
                       uint32_t r)
{
    const layout *L = &d->L;
    size_t bytes = L->bps / 8u;
    for (uint32_t x = 0; x < L->w; x++)
        for (uint16_t p = 0; p < L->spp; p++)
            memcpy(d->raw + ((size_t)x * L->spp + p) * bytes,
                   d->c.pixels + p * plane_bytes + (size_t)r * stride +
                       (size_t)x * bytes,
                   bytes);
}

/* -1 status set (truncated or corrupt), 0 all rows pushed. */
static int read_strips(tiff_dec *d, TIFF *tif)
{
    layout *L = &d->L;
    uint32_t rps = L->h;
    T(TIFFGetFieldDefaulted)(tif, TIFFTAG_ROWSPERSTRIP, &rps);
    if (rps == 0 || rps > L->h)
        rps = L->h;
    int planes = L->planar == PLANARCONFIG_SEPARATE ? L->spp : 1;
    size_t strip = (size_t)T(TIFFStripSize)(tif);
    size_t stride = (size_t)T(TIFFScanlineSize)(tif);
    uint32_t per_plane = T(TIFFNumberOfStrips)(tif) / (uint32_t)planes;
    for (uint32_t s = 0, y = 0; y < L->h; s++, y += rps) {
        uint32_t rows = L->h - y < rps ? L->h - y : rps;
        for (int p = 0; p < planes; p++) {
            uint32_t id = s + (uint32_t)p * per_plane;
            if (s >= per_plane || !strile_present(d, tif, id)) {
                ia_codec_truncated(&d->c, "TIFF");
                return -1;
            }
            if (T(TIFFReadEncodedStrip)(tif, id, d->c.pixels + p * strip,
                                     (tmsize_t)strip) < 0) {
                ia_codec_corrupt(&d->c, d->errors ? d->error
                                                  : "strip does not decode");
                return -1;
            }
        }
        if (planes == 1) {
            push_band(d, d->c.pixels, stride, rows);
            continue;
        }
        for (uint32_t r = 0; r < rows; r++) {
            interleave(d, strip, stride, r);
            convert_row(L, d->raw, d->out);
            ia_codec_row(&d->c, d->out);
        }
    }
    return 0;
}

/* One row of tiles at a time, copied into a band of full rows. */
static int read_tiles(tiff_dec *d, TIFF *tif, size_t band_stride,
                      uint8_t *band)
{
    layout *L = &d->L;
    uint32_t tw = 0, th = 0;
    T(TIFFGetField)(tif, TIFFTAG_TILEWIDTH, &tw);
    T(TIFFGetField)(tif, TIFFTAG_TILELENGTH, &th);
    size_t tile = (size_t)T(TIFFTileSize)(tif);
    size_t trow = (size_t)T(TIFFTileRowSize)(tif);
    for (uint32_t y = 0; y < L->h; y += th) {
        uint32_t rows = L->h - y < th ? L->h - y : th;
        for (uint32_t x = 0; x < L->w; x += tw) {
            uint32_t id = T(TIFFComputeTile)(tif, x, y, 0, 0);
            if (!strile_present(d, tif, id)) {
                ia_codec_truncated(&d->c, "TIFF");
                return -1;
            }
            if (T(TIFFReadEncodedTile)(tif, id, d->c.pixels, (tmsize_t)tile) <
                0) {
                ia_codec_corrupt(&d->c, d->errors ? d->error
                                                  : "tile does not decode");
                return -1;
            }
            /* the part of the tile inside the image, row by row */
            size_t col = (size_t)x * L->spp * L->bps / 8;
            size_t n = band_stride - col < trow ? band_stride - col : trow;
            for (uint32_t r = 0; r < rows; r++)
                memcpy(band + (size_t)r * band_stride + col,
                       d->c.pixels + (size_t)r * trow, n);
        }
        push_band(d, band, band_stride, rows);
    }
    return 0;
}

/* Buffers for the page: strips (one per plane) or one tile and a band of
 * tile rows; 0, -1 status set, -2 out of memory. */
static int decode_page(tiff_dec *d, TIFF *tif)
{
    layout *L = &d->L;
    size_t stride = (size_t)T(TIFFScanlineSize)(tif);
    uint64_t need;
    uint32_t th = 0;
    if (L->tiled) {
        T(TIFFGetField)(tif, TIFFTAG_TILELENGTH, &th);
        need = (uint64_t)T(TIFFTileSize)(tif) + (uint64_t)stride * th;
    } else {
        int planes = L->planar == PLANARCONFIG_SEPARATE ? L->spp : 1;
        need = (uint64_t)T(TIFFStripSize)(tif) * (uint64_t)planes;
    }
    if (need == 0 || stride == 0) {
        ia_codec_corrupt(&d->c, d->errors ? d->error : "invalid strip layout");
        return -1;
    }
    int rc = ia_codec_buffer(&d->c, "TIFF strip buffer", need,
                             IA_CODEC_PIXEL_RATIO, 1);
    if (rc != 0)
        return rc;
    size_t raw = (size_t)L->w * L->spp * (L->bps / 8u ? L->bps / 8u : 1u);
    if (ensure(&d->out, &d->out_cap, (size_t)L->w * 4) != 0 ||
        ensure(&d->raw, &d->raw_cap, raw) != 0)
        return -2;
    if (ia_codec_begin(&d->c, L->w, L->h, L->out_ch, L->bps) != 0)
        return -1;
    if (L->tiled)
        return read_tiles(d, tif, stride,
                          d->c.pixels + (size_t)T(TIFFTileSize)(tif));
    return read_strips(d, tif);
}

/* ---- Facts -------------------------------------------------------------- */

static void record_facts(tiff_dec *d, TIFF *tif)
{
    layout *L = &d->L;
    ia_codec *c = &d->c;
    ia_file_result *res = c->res;
    uint16_t orient = 0;
    uint32_t icc_n = 0;
    void *icc = NULL;
    res->channels = L->spp;
    res->bit_depth = L->bps;
    res->palette = L->photo == PHOTOMETRIC_PALETTE;
    res->color_space = L->photo == PHOTOMETRIC_SEPARATED ? "cmyk"
                       : L->photo == PHOTOMETRIC_PALETTE ? "palette"
                       : L->photo == PHOTOMETRIC_RGB
                           ? (L->alpha ? "rgba" : "rgb")
                       : L->photo <= PHOTOMETRIC_MINISBLACK
                           ? (L->alpha ? "gray_alpha" : "gray")
                           : photo_name(L->photo);
    res->icc = T(TIFFGetField)(tif, TIFFTAG_ICCPROFILE, &icc_n, &icc) ? 1 : 0;
    if (L->photo <= PHOTOMETRIC_MINISBLACK)
        ia_codec_gray(c, L->photo == PHOTOMETRIC_MINISWHITE
                             ? "grey TIFF (min-is-white)" : "grey TIFF");
    if (L->photo == PHOTOMETRIC_SEPARATED)
        ia_result_add(res, "cmyk", IA_SEV_INFO,
                      "CMYK TIFF, converted to RGB as Pillow does");
    if (L->alpha)
        ia_codec_alpha(c, L->alpha == 1 ? "associated alpha"
                                        : "unassociated alpha");
    if (L->fmt == SAMPLEFORMAT_IEEEFP)
        ia_result_add(res, "float_samples", IA_SEV_INFO,
                      "%u-bit floating-point samples: loaders truncate them "
                      "to 0..255 (Pillow's F to L)", L->bps);
    else if (L->bps > 8)
        ia_codec_high_depth(c, L->bps,
                            L->kind == K_GRAY
                                ? "clipped to 0..255 as Pillow's I;16 "
                                  "to L does (not scaled)"
                                : "reduced to their high byte");
    if (T(TIFFGetField)(tif, TIFFTAG_ORIENTATION, &orient) && orient >= 1 &&
        orient <= 8)
        ia_codec_orientation(c, orient);
}

static void count_pages(tiff_dec *d, TIFF *tif)
{
    unsigned n = 1;
    while (n <= d->c.lim.max_frames && T(TIFFReadDirectory)(tif))
        n++;
    if (n <= 1)
        return;
    d->c.res->frames = (int32_t)n;
    if (n > d->c.lim.max_frames)
        ia_result_add(d->c.res, "multi_page", IA_SEV_INFO,
                      "more than %u pages (not counted further); loaders "
                      "read the first", d->c.lim.max_frames);
    else
        ia_result_add(d->c.res, "multi_page", IA_SEV_INFO,
                      "%u pages; loaders read the first", n);
}

/* The first page's verdict; -2 out of memory. */
static int decode_first(tiff_dec *d, TIFF *tif)
{
    ia_codec *c = &d->c;
    int comp = read_fields(d, tif);
    (void)comp;
    record_facts(d, tif);
    if (ia_codec_size(c, d->L.w, d->L.h) != 0)
        return 0;
    const char *why = unsupported_layout(d, tif);
    if (why) {
        ia_result_status(c->res, IA_ST_UNSUPPORTED,
                         "TIFF layout no common loader reads: %s (%s, %u x "
                         "%u-bit samples)", why, photo_name(d->L.photo),
                         d->L.spp, d->L.bps);
        return 0;
    }
    int rc = decode_page(d, tif);
    if (rc == -2)
        return -2;
    if (rc == 0) {
        count_pages(d, tif);
        ia_codec_ok(c);
    }
    return 0;
}

static int tiff_decode(void *state, const uint8_t *buf, size_t len,
                       const ia_limits *lim, const ia_rowsink *sink,
                       ia_file_result *res)
{
    tiff_dec *d = state;
    int rc = IA_OK;
    if (!tiff_ready(d)) {
        ia_codec_lib_missing(&d->lib, res);
        return IA_OK;
    }
    if (ia_codec_start(&d->c, buf, len, lim, sink, res))
        return IA_OK;
    d->pos = 0;
    d->errors = 0;
    d->error[0] = '\0';
    TIFFOpenOptions *opts = T(TIFFOpenOptionsAlloc)();
    if (!opts)
        return IA_ERR_NOMEM;
    T(TIFFOpenOptionsSetErrorHandlerExtR)(opts, on_error, d);
    T(TIFFOpenOptionsSetWarningHandlerExtR)(opts, on_warning, d);
    uint64_t cap = d->c.lim.max_pixels * 8u;
    T(TIFFOpenOptionsSetMaxSingleMemAlloc)(opts, (tmsize_t)cap);
    TIFF *tif = T(TIFFClientOpenExt)("tiff", "rm", d, t_read, t_write, t_seek,
                                  t_close, t_size, t_map, t_unmap, opts);
    T(TIFFOpenOptionsFree)(opts);
    if (!tif) {
        if (d->pos >= len || len < 16)
            ia_codec_truncated(&d->c, "TIFF");
        else
            ia_codec_corrupt(&d->c, d->errors ? d->error
                                              : "libtiff cannot open it");
    } else {
        if (decode_first(d, tif) == -2)
            rc = IA_ERR_NOMEM;
        T(TIFFClose)(tif);
    }
    ia_codec_end(&d->c);
    return rc;
}

static int tiff_create(void **state)
{
    *state = calloc(1, sizeof(tiff_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void tiff_destroy(void *state)
{
    tiff_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    ia_dynlib_close(&d->lib);
    free(d->out);
    free(d->raw);
    free(d);
}

const ia_decoder_ops ia_tiff_ops = {
    IA_FMT_TIFF, "libtiff", tiff_create, tiff_decode, tiff_destroy,
};
