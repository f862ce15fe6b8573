/*
 * JPEG XL through libjxl (built when meson finds it: -Djxl=auto).
 *
 * What a loader sees follows pillow-jxl-plugin and libjxl's defaults: the
 * first frame, its orientation applied (libjxl's default), as 8-bit
 * samples: grey (L, LA) or RGB (RGBA) as the image's colour channels and
 * alpha say. An animation is `animated`; its first frame is decoded.
 *
 * Verdicts: the decoder asking for more input once the input is closed is
 * truncated; JXL_DEC_ERROR is corrupt (libjxl 0.7 gives no message).
 * Limits: the size from the basic info is checked against max_pixels
 * before libjxl allocates the image, and the output buffer plus libjxl's
 * float planes (about 16 bytes a pixel) are justified by the file's
 * bytes and reserved from the scan's budget. libjxl runs single-threaded
 * (no parallel runner): the scan's workers are the parallelism. libjxl
 * is opened at the first JPEG XL file a worker decodes (codec.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jxl/decode.h>

#include "decode/codec.h"
#include "imgaudit.h"

#define JXL_BYTES_PER_PIXEL 16u

#define JXL_FUNCS(X)                                                         \
    X(JxlDecoderCreate) X(JxlDecoderDestroy) X(JxlDecoderGetBasicInfo)       \
    X(JxlDecoderImageOutBufferSize) X(JxlDecoderProcessInput)                \
    X(JxlDecoderSetImageOutBuffer) X(JxlDecoderSetInput)                     \
    X(JxlDecoderSubscribeEvents)

typedef struct jxl_api {
    IA_LIB_FIELDS(JXL_FUNCS)
} jxl_api;

typedef struct jxl_dec {
    ia_codec c;
    JxlPixelFormat fmt;
    int channels;
    ia_dynlib lib;
    jxl_api api;
} jxl_dec;

/* libjxl's functions through the worker's table */
#define JXL(f) (d->api.f)

/* Whether libjxl is open, opening it at the first file. */
IA_LIB_READY_FN(jxl_ready, jxl_dec, JXL_FUNCS, IA_JXL_SONAME)

static int on_basic_info(jxl_dec *d, JxlDecoder *dec)
{
    ia_codec *c = &d->c;
    ia_file_result *res = c->res;
    JxlBasicInfo info;
    if (JXL(JxlDecoderGetBasicInfo)(dec, &info) != JXL_DEC_SUCCESS) {
        ia_codec_corrupt(c, "libjxl: no basic info");
        return -1;
    }
    int alpha = info.alpha_bits > 0;
    d->channels = (int)info.num_color_channels + alpha;
    res->channels = d->channels;
    res->bit_depth = (int32_t)info.bits_per_sample;
    res->color_space = info.num_color_channels == 1
                           ? (alpha ? "gray_alpha" : "gray")
                           : (alpha ? "rgba" : "rgb");
    if (info.num_color_channels == 1)
        ia_codec_gray(c, "grey JPEG XL");
    if (alpha)
        ia_codec_alpha(c, "alpha channel");
    if (info.bits_per_sample > 8)
        ia_codec_high_depth(c, (int)info.bits_per_sample,
                            "converted to 8 bits by libjxl");
    if (info.have_animation)
        ia_result_add(res, "animated", IA_SEV_INFO,
                      "animated JPEG XL (frames not counted)");
    res->animated = info.have_animation ? 1 : 0;
    d->fmt = (JxlPixelFormat){(uint32_t)d->channels, JXL_TYPE_UINT8,
                              JXL_NATIVE_ENDIAN, 0};
    if (ia_codec_size(c, info.xsize, info.ysize) != 0)
        return -1;
    uint64_t px = (uint64_t)info.xsize * info.ysize;
    return ia_codec_buffer(c, "JPEG XL decode buffers",
                           px * JXL_BYTES_PER_PIXEL, IA_CODEC_PIXEL_RATIO,
                           0) != 0 ? -1 : 0;
}

static int on_need_buffer(jxl_dec *d, JxlDecoder *dec)
{
    size_t need = 0;
    if (JXL(JxlDecoderImageOutBufferSize)(dec, &d->fmt, &need) !=
        JXL_DEC_SUCCESS) {
        ia_codec_corrupt(&d->c, "libjxl: no output buffer size");
        return -1;
    }
    if (ia_codec_grow(&d->c, need) != 0)
        return -2;
    if (JXL(JxlDecoderSetImageOutBuffer)(dec, &d->fmt, d->c.pixels, need) !=
        JXL_DEC_SUCCESS) {
        ia_codec_corrupt(&d->c, "libjxl refused the output buffer");
        return -1;
    }
    return 0;
}

static int on_full_image(jxl_dec *d)
{
    ia_codec *c = &d->c;
    uint32_t w = (uint32_t)c->res->width, h = (uint32_t)c->res->height;
    size_t stride = (size_t)w * (size_t)d->channels;
    if (ia_codec_begin(c, w, h, d->channels, 8) != 0)
        return -1;
    for (uint32_t y = 0; y < h; y++)
        ia_codec_row(c, c->pixels + (size_t)y * stride);
    ia_codec_ok(c);
    return 0;
}

/* Runs libjxl's event loop to the first frame: 0, or -2 out of memory. */
static int run(jxl_dec *d, JxlDecoder *dec)
{
    ia_codec *c = &d->c;
    if (JXL(JxlDecoderSubscribeEvents)(dec, JXL_DEC_BASIC_INFO |
                                                JXL_DEC_FULL_IMAGE) !=
            JXL_DEC_SUCCESS ||
        JXL(JxlDecoderSetInput)(dec, c->buf, c->len) != JXL_DEC_SUCCESS)
        return -2;
    /* The input is left open: a file that ends early then asks for more
     * (truncated) instead of failing as an error would. */
    for (;;) {
        int rc = 0;
        switch (JXL(JxlDecoderProcessInput)(dec)) {
        case JXL_DEC_BASIC_INFO:
            rc = on_basic_info(d, dec);
            break;
        case JXL_DEC_NEED_IMAGE_OUT_BUFFER:
            rc = on_need_buffer(d, dec);
            break;
        case JXL_DEC_FULL_IMAGE:
            on_full_image(d);
            return 0;
        case JXL_DEC_NEED_MORE_INPUT:
            ia_codec_truncated(c, "JPEG XL");
            return 0;
        case JXL_DEC_SUCCESS:
            ia_codec_corrupt(c, "JPEG XL without an image");
            return 0;
        default:
            ia_codec_corrupt(c, "libjxl: decoding error");
            return 0;
        }
        if (rc != 0)
            return rc == -2 ? -2 : 0;
    }
}

static int jxl_decode(void *state, const uint8_t *buf, size_t len,
                      const ia_limits *lim, const ia_rowsink *sink,
                      ia_file_result *res)
{
    jxl_dec *d = state;
    if (!jxl_ready(d)) {
        ia_codec_lib_missing(&d->lib, res);
        return IA_OK;
    }
    if (ia_codec_start(&d->c, buf, len, lim, sink, res))
        return IA_OK;
    JxlDecoder *dec = JXL(JxlDecoderCreate)(NULL);
    if (!dec)
        return IA_ERR_NOMEM;
    int rc = run(d, dec);
    JXL(JxlDecoderDestroy)(dec);
    ia_codec_end(&d->c);
    return rc == -2 ? IA_ERR_NOMEM : IA_OK;
}

static int jxl_create(void **state)
{
    *state = calloc(1, sizeof(jxl_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void jxl_destroy(void *state)
{
    jxl_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    ia_dynlib_close(&d->lib);
    free(d);
}

const ia_decoder_ops ia_jxl_ops = {
    IA_FMT_JXL, "libjxl", jxl_create, jxl_decode, jxl_destroy,
};
