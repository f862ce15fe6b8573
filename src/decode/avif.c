/*
 * AVIF through libavif (built when meson finds it: -Davif=auto).
 *
 * What a loader sees follows pillow-avif-plugin, the loader that opens
 * AVIF for Pillow: the first image, libavif's default YUV to RGB
 * conversion (avifRGBImageSetDefaults, automatic chroma upsampling) to
 * 8-bit RGB, or RGBA when the image has an alpha plane; rotations and
 * mirrors (irot/imir) are not applied. An image sequence is `animated`
 * with its frame count; only the first frame is decoded.
 *
 * Verdicts: AVIF_RESULT_TRUNCATED_DATA is truncated, any other failure
 * corrupt with libavif's message (unsupported when libavif has no AV1
 * decoder). Limits: libavif's own imageSizeLimit is set to max_pixels
 * and its imageCountLimit to max_frames; the size is checked again from
 * the parsed header before anything is decoded, and the decode's memory
 * (the RGB buffer and about 6 bytes a pixel of YUV planes) is justified
 * by the file's bytes and reserved from the scan's budget. libavif is
 * opened at the first AVIF file a worker decodes (codec.h).
 */
#include <stdlib.h>
#include <string.h>

#include <avif/avif.h>

#include "decode/codec.h"
#include "imgaudit.h"

/* Bytes a pixel a decode may hold: 16-bit YUVA planes and the RGBA
 * output. */
#define AVIF_BYTES_PER_PIXEL 12u

#define AVIF_FUNCS(X)                                                        \
    X(avifDecoderCreate) X(avifDecoderDestroy) X(avifDecoderNextImage)       \
    X(avifDecoderParse) X(avifDecoderSetIOMemory) X(avifImageYUVToRGB)       \
    X(avifRGBImageSetDefaults) X(avifResultToString)

typedef struct avif_api {
    IA_LIB_FIELDS(AVIF_FUNCS)
} avif_api;

typedef struct avif_dec {
    ia_codec c;
    ia_dynlib lib;
    avif_api api;
} avif_dec;

/* libavif's functions through the worker's table */
#define AVIF(f) (d->api.f)

/* Whether libavif is open, opening it at the first file. */
IA_LIB_READY_FN(avif_ready, avif_dec, AVIF_FUNCS, IA_AVIF_SONAME)

/* Whether a top-level ISO BMFF box runs past the end of the file: libavif
 * reading from memory then reports a parse failure, not truncated data. */
static int box_cut(const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= 8) {
        uint64_t size = (uint64_t)p[off] << 24 | (uint64_t)p[off + 1] << 16 |
                        (uint64_t)p[off + 2] << 8 | p[off + 3];
        if (size == 1 && len - off >= 16) {
            size = 0;
            for (int i = 8; i < 16; i++)
                size = size << 8 | p[off + (size_t)i];
        }
        if (size == 0)
            return 0; /* to the end of the file */
        if (size < 8)
            return 0; /* malformed: not a cut */
        if (size > len - off)
            return 1;
        off += (size_t)size;
    }
    return off < len;
}

static void fail(avif_dec *d, avifResult r, const char *when)
{
    ia_codec *c = &d->c;
    char msg[160];
    if (r == AVIF_RESULT_TRUNCATED_DATA ||
        (r == AVIF_RESULT_BMFF_PARSE_FAILED && box_cut(c->buf, c->len))) {
        ia_codec_truncated(c, "AVIF");
        return;
    }
    if (r == AVIF_RESULT_NO_CODEC_AVAILABLE) {
        ia_result_status(c->res, IA_ST_UNSUPPORTED,
                         "AVIF: libavif has no AV1 decoder");
        return;
    }
    ia_bprintf(msg, sizeof msg, "libavif, %s: %s", when,
               AVIF(avifResultToString)(r));
    ia_codec_corrupt(c, msg);
}

/* The EXIF payload: a TIFF stream, after the 4-byte offset of the
 * Exif item when libavif left it there. */
static void note_exif(ia_codec *c, const avifRWData *exif)
{
    for (size_t skip = 0; skip <= 10 && skip + 8 <= exif->size; skip++) {
        int o = ia_tiff_exif_orientation(exif->data + skip,
                                         exif->size - skip);
        if (o > 0) {
            ia_codec_orientation(c, o);
            return;
        }
    }
}

static void record_facts(avif_dec *d, const avifDecoder *dec)
{
    ia_codec *c = &d->c;
    const avifImage *im = dec->image;
    ia_file_result *res = c->res;
    int alpha = dec->alphaPresent ? 1 : 0;
    int gray = im->yuvFormat == AVIF_PIXEL_FORMAT_YUV400;
    res->channels = (gray ? 1 : 3) + alpha;
    res->bit_depth = (int32_t)im->depth;
    res->color_space = alpha ? "rgba" : "rgb";
    res->icc = im->icc.size > 0;
    if (gray)
        ia_codec_gray(c, "monochrome AVIF (4:0:0)");
    if (alpha)
        ia_codec_alpha(c, "alpha plane");
    if (im->depth > 8)
        ia_codec_high_depth(c, (int)im->depth, "scaled to 8 bits by libavif");
    if (im->exif.size > 0)
        note_exif(c, &im->exif);
    if (dec->imageCount > 1)
        ia_codec_frames(c, "AVIF image sequence", (uint32_t)dec->imageCount,
                        NULL);
}

/* The first image to RGB(A) rows; -2 out of memory. */
static int push_image(avif_dec *d, avifDecoder *dec)
{
    ia_codec *c = &d->c;
    avifImage *im = dec->image;
    avifRGBImage rgb;
    AVIF(avifRGBImageSetDefaults)(&rgb, im);
    rgb.depth = 8;
    rgb.format = dec->alphaPresent ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    int ch = dec->alphaPresent ? 4 : 3;
    size_t stride = (size_t)im->width * (size_t)ch;
    if (ia_codec_grow(c, stride * im->height) != 0)
        return -2;
    rgb.pixels = c->pixels;
    rgb.rowBytes = (uint32_t)stride;
    avifResult r = AVIF(avifImageYUVToRGB)(im, &rgb);
    if (r != AVIF_RESULT_OK) {
        fail(d, r, "converting to RGB");
        return -1;
    }
    if (ia_codec_begin(c, im->width, im->height, ch, (int)im->depth) != 0)
        return -1;
    for (uint32_t y = 0; y < im->height; y++)
        ia_codec_row(c, c->pixels + (size_t)y * stride);
    ia_codec_ok(c);
    return 0;
}

static int decode_file(avif_dec *d, avifDecoder *dec)
{
    ia_codec *c = &d->c;
    dec->maxThreads = 1;
    dec->imageSizeLimit = c->lim.max_pixels > UINT32_MAX
                              ? UINT32_MAX : (uint32_t)c->lim.max_pixels;
    dec->imageCountLimit = c->lim.max_frames;
    avifResult r = AVIF(avifDecoderSetIOMemory)(dec, c->buf, c->len);
    if (r == AVIF_RESULT_OK)
        r = AVIF(avifDecoderParse)(dec);
    if (r != AVIF_RESULT_OK) {
        fail(d, r, "reading the header");
        return 0;
    }
    record_facts(d, dec);
    if (ia_codec_size(c, dec->image->width, dec->image->height) != 0)
        return 0;
    uint64_t px = (uint64_t)dec->image->width * dec->image->height;
    if (ia_codec_buffer(c, "AVIF decode buffers", px * AVIF_BYTES_PER_PIXEL,
                        IA_CODEC_PIXEL_RATIO, 0) != 0)
        return 0;
    r = AVIF(avifDecoderNextImage)(dec);
    if (r != AVIF_RESULT_OK) {
        fail(d, r, "decoding the first image");
        return 0;
    }
    return push_image(d, dec) == -2 ? -2 : 0;
}

static int avif_decode(void *state, const uint8_t *buf, size_t len,
                       const ia_limits *lim, const ia_rowsink *sink,
                       ia_file_result *res)
{
    avif_dec *d = state;
    int rc = 0;
    if (!avif_ready(d)) {
        ia_codec_lib_missing(&d->lib, res);
        return IA_OK;
    }
    if (ia_codec_start(&d->c, buf, len, lim, sink, res))
        return IA_OK;
    avifDecoder *dec = AVIF(avifDecoderCreate)();
    if (!dec)
        return IA_ERR_NOMEM;
    rc = decode_file(d, dec);
    AVIF(avifDecoderDestroy)(dec);
    ia_codec_end(&d->c);
    return rc == -2 ? IA_ERR_NOMEM : IA_OK;
}

static int avif_create(void **state)
{
    *state = calloc(1, sizeof(avif_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void avif_destroy(void *state)
{
    avif_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    ia_dynlib_close(&d->lib);
    free(d);
}

const ia_decoder_ops ia_avif_ops = {
    IA_FMT_AVIF, "libavif", avif_create, avif_decode, avif_destroy,
};
