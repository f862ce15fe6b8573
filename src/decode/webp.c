/*
 * WebP through libwebp (still images, incrementally) and libwebpdemux
 * (the container's facts, and animations through WebPAnimDecoder).
 *
 * What a loader sees: Pillow 9.4 opens every WebP through WebPAnimDecoder
 * in MODE_RGBA and keeps "RGBA" when the file has the alpha flag, else
 * drops the fourth byte ("RGBX" read as "RGB"); the first frame of an
 * animation is the canvas after that frame, composited on transparent
 * black. A still image decoded by WebPIDecoder into RGB or RGBA gives the
 * same bytes (the same libwebp decode with its default fancy upsampling),
 * and tells how many rows a truncated file holds.
 *
 * Verdicts: an incomplete container or a still image whose data ends is
 * truncated (rows decoded of total); any other libwebp failure is
 * corrupt with its status. Every frame of an animation is decoded, up to
 * lim.max_frames and a pixel budget justified by the file's size
 * (ia_codec_frame_work); frames past either are counted, not decoded, and
 * said so in a decoder_warning.
 *
 * Memory: the still image's buffer (width x height x 3 or 4) and the
 * animation decoder's two canvases (8 bytes a pixel) are justified by the
 * file's bytes and reserved from the scan's budget before libwebp sees
 * the data; the size limit is checked on the container's canvas first.
 */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "decode/codec.h"
#include "imgaudit.h"

typedef struct webp_dec {
    ia_codec c;
    uint8_t *row;              /* one RGB row of an animation's frame */
    size_t row_cap;
} webp_dec;

static const char *status_text(VP8StatusCode st)
{
    switch (st) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "data ends";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    default: return "ok";
    }
}

/* EXIF orientation of the EXIF chunk: a bare TIFF stream, or one behind
 * the "Exif\0\0" that some writers copy from JPEG's APP1. */
static void note_exif(ia_codec *c, WebPDemuxer *dmx)
{
    WebPChunkIterator it;
    if (!WebPDemuxGetChunk(dmx, "EXIF", 1, &it))
        return;
    const uint8_t *p = it.chunk.bytes;
    size_t n = it.chunk.size;
    if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
        p += 6;
        n -= 6;
    }
    int o = ia_tiff_exif_orientation(p, n);
    if (o > 0)
        ia_codec_orientation(c, o);
    WebPDemuxReleaseChunkIterator(&it);
}

/* Header facts from the container: size, alpha, ICC, frames. 0 to go on. */
static int record_header(ia_codec *c, WebPDemuxer *dmx,
                         const WebPBitstreamFeatures *feat, int *channels)
{
    ia_file_result *res = c->res;
    uint32_t flags = WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS);
    int alpha = (flags & ALPHA_FLAG) || feat->has_alpha;
    *channels = alpha ? 4 : 3;
    res->channels = *channels;
    res->bit_depth = 8;
    res->color_space = alpha ? "rgba" : "rgb";
    res->icc = (flags & ICCP_FLAG) != 0;
    if (alpha)
        ia_codec_alpha(c, "alpha channel");
    note_exif(c, dmx);
    if (feat->has_animation)
        ia_codec_frames(c, "animated WebP",
                        WebPDemuxGetI(dmx, WEBP_FF_FRAME_COUNT), NULL);
    return ia_codec_size(c, WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH),
                         WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT));
}

static int push_image(ia_codec *c, const uint8_t *px, size_t stride,
                      int channels)
{
    ia_file_result *res = c->res;
    if (ia_codec_begin(c, (uint32_t)res->width, (uint32_t)res->height,
                       channels, 8) != 0)
        return -1;
    for (int32_t y = 0; y < res->height; y++)
        ia_codec_row(c, px + (size_t)y * stride);
    return 0;
}

static int decode_still(webp_dec *d, int channels)
{
    ia_codec *c = &d->c;
    uint32_t w = (uint32_t)c->res->width, h = (uint32_t)c->res->height;
    size_t stride = (size_t)w * (size_t)channels;
    int rc = ia_codec_buffer(c, "WebP image buffer", (uint64_t)stride * h,
                             IA_CODEC_PIXEL_RATIO, 1);
    if (rc != 0)
        return rc == -2 ? IA_ERR_NOMEM : IA_OK;
    WebPDecBuffer out;
    if (!WebPInitDecBuffer(&out))
        return IA_ERR_NOMEM;
    out.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    out.is_external_memory = 1;
    out.u.RGBA.rgba = c->pixels;
    out.u.RGBA.stride = (int)stride;
    out.u.RGBA.size = stride * h;
    WebPIDecoder *idec = WebPINewDecoder(&out);
    if (!idec)
        return IA_ERR_NOMEM;
    VP8StatusCode st = WebPIUpdate(idec, c->buf, c->len);
    int last_y = 0, ow = 0, oh = 0, ostride = 0;
    WebPIDecGetRGB(idec, &last_y, &ow, &oh, &ostride);
    WebPIDelete(idec);
    c->res->rows_decoded = last_y > 0 ? last_y : 0;
    if (st == VP8_STATUS_OUT_OF_MEMORY)
        return IA_ERR_NOMEM;
    if (st == VP8_STATUS_SUSPENDED || st == VP8_STATUS_NOT_ENOUGH_DATA)
        ia_codec_truncated(c, "WebP");
    else if (st != VP8_STATUS_OK)
        ia_codec_corrupt(c, status_text(st));
    else if ((uint32_t)ow != w || (uint32_t)oh != h)
        ia_codec_corrupt(c, "image size differs from the canvas");
    else {
        c->res->rows_decoded = 0;
        if (push_image(c, c->pixels, stride, channels) == 0)
            ia_codec_ok(c);
    }
    return IA_OK;
}

static int ensure_row(webp_dec *d, size_t need)
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

/* The first frame's canvas, RGBA from libwebp, as Pillow keeps it. */
static int push_canvas(webp_dec *d, const uint8_t *rgba, int channels)
{
    ia_codec *c = &d->c;
    uint32_t w = (uint32_t)c->res->width, h = (uint32_t)c->res->height;
    if (channels == 4)
        return push_image(c, rgba, (size_t)w * 4, 4);
    if (ensure_row(d, (size_t)w * 3) != 0)
        return -2;
    if (ia_codec_begin(c, w, h, 3, 8) != 0)
        return -1;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *in = rgba + (size_t)y * w * 4;
        for (uint32_t x = 0; x < w; x++)
            memcpy(d->row + 3 * (size_t)x, in + 4 * (size_t)x, 3);
        ia_codec_row(c, d->row);
    }
    return 0;
}

/* Frames after the first: decoded for their integrity, within limits. */
static void check_frames(ia_codec *c, WebPAnimDecoder *anim, uint32_t n)
{
    uint64_t canvas = (uint64_t)c->res->width * (uint64_t)c->res->height;
    uint64_t work = canvas, budget = ia_codec_frame_work(c);
    uint32_t k = 2;
    for (; k <= n; k++) {
        uint8_t *px;
        int ts;
        if (k > c->lim.max_frames || work + canvas > budget)
            break;
        work += canvas;
        if (!WebPAnimDecoderGetNext(anim, &px, &ts)) {
            char msg[96];
            ia_bprintf(msg, sizeof msg,
                       "animated WebP: frame %lu of %lu does not decode",
                       (unsigned long)k, (unsigned long)n);
            ia_result_status(c->res, IA_ST_CORRUPT, "%s", msg);
            return;
        }
    }
    if (k <= n)
        ia_codec_warning(c, "frames %lu to %lu of the animation not decoded "
                         "(limit of %u frames, or of %llu pixels for a file "
                         "of %zu bytes)", (unsigned long)k, (unsigned long)n,
                         c->lim.max_frames, (unsigned long long)budget,
                         c->len);
    ia_codec_ok(c);
}

static int decode_anim(webp_dec *d, int channels, uint32_t frames)
{
    ia_codec *c = &d->c;
    uint64_t canvas = (uint64_t)c->res->width * (uint64_t)c->res->height;
    int rc = ia_codec_buffer(c, "animated WebP canvases", canvas * 8,
                             IA_CODEC_PIXEL_RATIO, 0);
    if (rc != 0)
        return IA_OK;
    WebPAnimDecoderOptions opt;
    if (!WebPAnimDecoderOptionsInit(&opt))
        return IA_ERR_NOMEM;
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    WebPData data = {c->buf, c->len};
    WebPAnimDecoder *anim = WebPAnimDecoderNew(&data, &opt);
    if (!anim) {
        ia_codec_corrupt(c, "animated WebP: libwebp cannot read its frames");
        return IA_OK;
    }
    uint8_t *px;
    int ts;
    rc = IA_OK;
    if (!WebPAnimDecoderGetNext(anim, &px, &ts)) {
        ia_codec_corrupt(c, "animated WebP: the first frame does not decode");
    } else {
        int pushed = push_canvas(d, px, channels);
        if (pushed == -2)
            rc = IA_ERR_NOMEM;
        else if (pushed == 0)
            check_frames(c, anim, frames);
    }
    WebPAnimDecoderDelete(anim);
    return rc;
}

/* A container that ends early: how far its frames got. */
static void truncated_container(ia_codec *c, WebPDemuxer *dmx)
{
    WebPIterator it;
    unsigned complete = 0;
    if (WebPDemuxGetFrame(dmx, 1, &it)) {
        do
            complete += it.complete != 0;
        while (WebPDemuxNextFrame(&it));
        WebPDemuxReleaseIterator(&it);
    }
    if (c->res->animated == 1)
        ia_result_status(c->res, IA_ST_TRUNCATED,
                         "animated WebP data ends after %u complete frames",
                         complete);
    else
        ia_codec_truncated(c, "WebP");
}

static int webp_decode(void *state, const uint8_t *buf, size_t len,
                       const ia_limits *lim, const ia_rowsink *sink,
                       ia_file_result *res)
{
    webp_dec *d = state;
    ia_codec *c = &d->c;
    WebPBitstreamFeatures feat;
    WebPDemuxer *dmx = NULL;
    WebPDemuxState dstate = WEBP_DEMUX_PARSE_ERROR;
    int rc = IA_OK, channels = 3;
    if (ia_codec_start(c, buf, len, lim, sink, res))
        return IA_OK;
    VP8StatusCode st = WebPGetFeatures(buf, len, &feat);
    WebPData data = {buf, len};
    if (st == VP8_STATUS_OK)
        dmx = WebPDemuxPartial(&data, &dstate);
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        ia_codec_truncated(c, "WebP");
    else if (st != VP8_STATUS_OK)
        ia_codec_corrupt(c, status_text(st));
    else if (!dmx || dstate < WEBP_DEMUX_PARSED_HEADER)
        ia_codec_corrupt(c, "invalid WebP container");
    else if (record_header(c, dmx, &feat, &channels) != 0)
        ; /* too large, or no pixels: the status is set */
    else if (dstate != WEBP_DEMUX_DONE && feat.has_animation)
        truncated_container(c, dmx);
    else if (feat.has_animation)
        rc = decode_anim(d, channels, WebPDemuxGetI(dmx, WEBP_FF_FRAME_COUNT));
    else
        rc = decode_still(d, channels);
    WebPDemuxDelete(dmx);
    ia_codec_end(c);
    return rc;
}

static int webp_create(void **state)
{
    *state = calloc(1, sizeof(webp_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void webp_destroy(void *state)
{
    webp_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    free(d->row);
    free(d);
}

const ia_decoder_ops ia_webp_ops = {
    IA_FMT_WEBP, "libwebp", webp_create, webp_decode, webp_destroy,
};
