/*
 * HEIC/HEIF through libheif (built when meson finds it: -Dheif=auto).
 *
 * What a loader sees follows pillow-heif, the loader that opens HEIC for
 * Pillow: the primary image, its rotations and mirrors applied (libheif's
 * default, as pillow-heif's), converted by libheif to 8-bit interleaved
 * RGB, or RGBA when it has an alpha channel. Other top-level images (a
 * burst, a collection) are counted in `frames`, not decoded.
 *
 * Verdicts: libheif's "end of data" is truncated, any other error corrupt
 * with its message (unsupported when libheif has no HEVC/AV1 decoder
 * plugin). Limits: the size after transformations is checked against
 * max_pixels before decoding (libheif's own limit is on a side), and the
 * decode's memory (planes and the interleaved output, about 10 bytes a
 * pixel) is justified by the file's bytes and reserved from the scan's
 * budget. libheif is opened at the first HEIF file a worker decodes
 * (codec.h).
 */
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "decode/codec.h"
#include "imgaudit.h"

#define HEIF_BYTES_PER_PIXEL 10u

#define HEIF_FUNCS(X)                                                        \
    X(heif_context_alloc) X(heif_context_free)                               \
    X(heif_context_get_number_of_top_level_images)                           \
    X(heif_context_get_primary_image_handle)                                 \
    X(heif_context_read_from_memory_without_copy) X(heif_decode_image)       \
    X(heif_decoding_options_alloc) X(heif_decoding_options_free)             \
    X(heif_image_get_height) X(heif_image_get_plane_readonly)                \
    X(heif_image_get_width) X(heif_image_handle_get_height)                  \
    X(heif_image_handle_get_luma_bits_per_pixel)                             \
    X(heif_image_handle_get_width) X(heif_image_handle_has_alpha_channel)    \
    X(heif_image_handle_release) X(heif_image_release)

typedef struct heif_api {
    IA_LIB_FIELDS(HEIF_FUNCS)
} heif_api;

typedef struct heif_dec {
    ia_codec c;
    ia_dynlib lib;
    heif_api api;
} heif_dec;

/* libheif's functions through the worker's table */
#define HEIF(f) (d->api.f)

/* Whether libheif is open, opening it at the first file. */
IA_LIB_READY_FN(heif_ready, heif_dec, HEIF_FUNCS, IA_HEIF_SONAME)

static void fail(ia_codec *c, struct heif_error err, const char *when)
{
    char msg[200];
    if (err.code == heif_error_Invalid_input &&
        err.subcode == heif_suberror_End_of_data) {
        ia_codec_truncated(c, "HEIF");
        return;
    }
    if (err.code == heif_error_Unsupported_feature ||
        err.code == heif_error_Unsupported_filetype) {
        ia_result_status(c->res, IA_ST_UNSUPPORTED, "libheif, %s: %s", when,
                         err.message ? err.message : "");
        return;
    }
    ia_bprintf(msg, sizeof msg, "libheif, %s: %s", when,
               err.message ? err.message : "");
    ia_codec_corrupt(c, msg);
}

static void record_facts(heif_dec *d, struct heif_context *ctx,
                         const struct heif_image_handle *h)
{
    ia_codec *c = &d->c;
    ia_file_result *res = c->res;
    int alpha = HEIF(heif_image_handle_has_alpha_channel)(h) ? 1 : 0;
    int bits = HEIF(heif_image_handle_get_luma_bits_per_pixel)(h);
    int n = HEIF(heif_context_get_number_of_top_level_images)(ctx);
    res->channels = 3 + alpha;
    res->bit_depth = bits > 0 ? bits : 8;
    res->color_space = alpha ? "rgba" : "rgb";
    res->frames = n > 0 ? n : 1;
    if (alpha)
        ia_codec_alpha(c, "alpha channel");
    if (bits > 8)
        ia_codec_high_depth(c, bits, "reduced to 8 bits by libheif");
}

/* The primary image, decoded and pushed; -2 out of memory. */
static int push_image(heif_dec *d, struct heif_image_handle *h)
{
    ia_codec *c = &d->c;
    int alpha = HEIF(heif_image_handle_has_alpha_channel)(h) ? 1 : 0;
    struct heif_decoding_options *opt = HEIF(heif_decoding_options_alloc)();
    struct heif_image *img = NULL;
    if (!opt)
        return -2;
    opt->convert_hdr_to_8bit = 1;
    struct heif_error err = HEIF(heif_decode_image)(
        h, &img, heif_colorspace_RGB,
        alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
        opt);
    HEIF(heif_decoding_options_free)(opt);
    if (err.code != heif_error_Ok) {
        /* Even libheif's "memory allocation error" is the file's: the
         * pixels it may need were admitted by the budget above, so what
         * it failed to get was asked for by a hostile header (a fuzzed
         * .heic claims tiles or a grid larger than its image). A finding,
         * never a tool failure. */
        fail(c, err, "decoding");
        return -1;
    }
    int stride = 0;
    const uint8_t *px = HEIF(heif_image_get_plane_readonly)(
        img, heif_channel_interleaved, &stride);
    int w = HEIF(heif_image_get_width)(img, heif_channel_interleaved);
    int hh = HEIF(heif_image_get_height)(img, heif_channel_interleaved);
    int rc = -1;
    if (!px || w != c->res->width || hh != c->res->height)
        ia_codec_corrupt(c, "libheif: decoded image differs from its header");
    else if (ia_codec_begin(c, (uint32_t)w, (uint32_t)hh, 3 + alpha, 8) == 0) {
        for (int y = 0; y < hh; y++)
            ia_codec_row(c, px + (size_t)y * (size_t)stride);
        ia_codec_ok(c);
        rc = 0;
    }
    HEIF(heif_image_release)(img);
    return rc;
}

static int decode_file(heif_dec *d, struct heif_context *ctx)
{
    ia_codec *c = &d->c;
    struct heif_image_handle *h = NULL;
    struct heif_error err = HEIF(heif_context_read_from_memory_without_copy)(
        ctx, c->buf, c->len, NULL);
    if (err.code == heif_error_Ok)
        err = HEIF(heif_context_get_primary_image_handle)(ctx, &h);
    if (err.code != heif_error_Ok) {
        fail(c, err, "reading the header");
        return 0;
    }
    record_facts(d, ctx, h);
    int rc = 0;
    uint64_t w = (uint64_t)HEIF(heif_image_handle_get_width)(h);
    uint64_t hh = (uint64_t)HEIF(heif_image_handle_get_height)(h);
    if (ia_codec_size(c, w, hh) == 0 &&
        ia_codec_buffer(c, "HEIF decode buffers", w * hh * HEIF_BYTES_PER_PIXEL,
                        IA_CODEC_PIXEL_RATIO, 0) == 0)
        rc = push_image(d, h);
    HEIF(heif_image_handle_release)(h);
    return rc;
}

static int heif_decode(void *state, const uint8_t *buf, size_t len,
                       const ia_limits *lim, const ia_rowsink *sink,
                       ia_file_result *res)
{
    heif_dec *d = state;
    if (!heif_ready(d)) {
        ia_codec_lib_missing(&d->lib, res);
        return IA_OK;
    }
    if (ia_codec_start(&d->c, buf, len, lim, sink, res))
        return IA_OK;
    struct heif_context *ctx = HEIF(heif_context_alloc)();
    if (!ctx)
        return IA_ERR_NOMEM;
    int rc = decode_file(d, ctx);
    HEIF(heif_context_free)(ctx);
    ia_codec_end(&d->c);
    return rc == -2 ? IA_ERR_NOMEM : IA_OK;
}

static int heif_create(void **state)
{
    *state = calloc(1, sizeof(heif_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void heif_destroy(void *state)
{
    heif_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    ia_dynlib_close(&d->lib);
    free(d);
}

const ia_decoder_ops ia_heif_ops = {
    IA_FMT_HEIF, "libheif", heif_create, heif_decode, heif_destroy,
};
