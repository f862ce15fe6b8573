/*
 * What the decoders share (codec.h): the start and end of a file, the
 * pixel limit, whole-image buffers justified and budgeted, the rows, the
 * verdict messages, the header findings and Pillow's conversions. Each
 * decoder file is then its library's calls and its format's facts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CODEC_X86 1
#endif

#include "decode/codec.h"
#include "imgaudit.h"

/* A buffer larger than this is released after the file. */
#define KEEP_BUFFER_BYTES ((size_t)64 << 20)

int ia_codec_start(ia_codec *c, const uint8_t *buf, size_t len,
                   const ia_limits *lim, const ia_rowsink *sink,
                   ia_file_result *res)
{
    c->lim = *lim;
    ia_limits_defaults(&c->lim, lim->max_pixels);
    c->sink = sink;
    c->res = res;
    c->buf = buf;
    c->len = len;
    c->warnings = 0;
    c->reserved = 0;
    c->sink_failed = 0;
    res->progressive = -1;
    res->jpeg_quality = -1;
    res->subsampling = NULL;
    res->exif_orientation = -1;
    res->icc = 0;
    res->interlaced = 0;
    res->palette = 0;
    res->has_alpha = 0;
    res->animated = 0;
    res->frames = 1;
    res->rows_decoded = res->rows_total = -1;
    if (len > 0)
        return 0;
    ia_result_status(res, IA_ST_EMPTY, "empty file");
    return 1;
}

void ia_codec_end(ia_codec *c)
{
    if (c->reserved && c->lim.gate)
        c->lim.gate->release(c->lim.gate->ctx, c->reserved);
    c->reserved = 0;
    if (c->cap > KEEP_BUFFER_BYTES) {
        free(c->pixels);
        c->pixels = NULL;
        c->cap = 0;
    }
}

void ia_codec_free(ia_codec *c)
{
    free(c->pixels);
    c->pixels = NULL;
    c->cap = 0;
}

int ia_codec_size(ia_codec *c, uint64_t width, uint64_t height)
{
    ia_file_result *res = c->res;
    res->width = width > INT32_MAX ? INT32_MAX : (int32_t)width;
    res->height = height > INT32_MAX ? INT32_MAX : (int32_t)height;
    if (width == 0 || height == 0) {
        ia_result_status(res, IA_ST_CORRUPT, "image of %llu x %llu pixels",
                         (unsigned long long)width,
                         (unsigned long long)height);
        return -1;
    }
    res->rows_total = res->height;
    res->rows_decoded = 0;
    /* both below 2^32 in every format: the product fits */
    if (width <= UINT32_MAX && height <= UINT32_MAX &&
        width * height <= c->lim.max_pixels)
        return 0;
    ia_result_status(res, IA_ST_TOO_LARGE,
                     "%llu x %llu pixels exceeds the limit of %llu pixels",
                     (unsigned long long)width, (unsigned long long)height,
                     (unsigned long long)c->lim.max_pixels);
    return -1;
}

int ia_codec_grow(ia_codec *c, size_t need)
{
    if (need <= c->cap)
        return 0;
    free(c->pixels);
    c->pixels = malloc(need);
    c->cap = c->pixels ? need : 0;
    return c->pixels ? 0 : -1;
}

int ia_codec_buffer(ia_codec *c, const char *what, uint64_t need,
                    unsigned ratio, int keep)
{
    const ia_memgate *gate = c->lim.gate;
    unsigned long long mb = (unsigned long long)(need >> 20);
    if (ia_buffer_unjustified(need, c->len, ratio)) {
        ia_result_status(c->res, IA_ST_TOO_LARGE,
                         "%s of %llu MB is more than %u times the file's "
                         "%zu bytes", what, mb, ratio, c->len);
        return -1;
    }
    if (need > SIZE_MAX || (gate && gate->reserve(gate->ctx, need) != 0)) {
        ia_result_status(c->res, IA_ST_TOO_LARGE,
                         "%s of %llu MB is over the scan's memory budget of "
                         "%llu MB", what, mb,
                         gate ? (unsigned long long)(gate->total >> 20) : 0);
        return -1;
    }
    c->reserved += gate ? need : 0;
    if (keep && ia_codec_grow(c, (size_t)need) != 0)
        return -2;
    return 0;
}

int ia_codec_begin(ia_codec *c, uint32_t width, uint32_t height,
                   int channels, int bit_depth)
{
    if (c->sink->begin(c->sink->ctx, width, height, channels, bit_depth) ==
        0)
        return 0;
    c->sink_failed = 1;
    ia_result_status(c->res, IA_ST_CORRUPT, "measure failed");
    return -1;
}

void ia_codec_row(ia_codec *c, const uint8_t *row)
{
    c->sink->row(c->sink->ctx, row);
    c->res->rows_decoded++;
}

void ia_codec_truncated(ia_codec *c, const char *fmt_name)
{
    ia_file_result *res = c->res;
    if (res->rows_total < 0)
        ia_result_status(res, IA_ST_TRUNCATED,
                         "%s data ends in the headers", fmt_name);
    else
        ia_result_status(res, IA_ST_TRUNCATED,
                         "%s data ends after %d of %d rows", fmt_name,
                         res->rows_decoded, res->rows_total);
}

void ia_codec_corrupt(ia_codec *c, const char *msg)
{
    ia_file_result *res = c->res;
    if (res->rows_total < 0)
        ia_result_status(res, IA_ST_CORRUPT, "%s", msg);
    else
        ia_result_status(res, IA_ST_CORRUPT, "%s (after %d of %d rows)", msg,
                         res->rows_decoded, res->rows_total);
}

void ia_codec_ok(ia_codec *c)
{
    ia_result_status(c->res, IA_ST_OK, "%s", "");
}

void ia_codec_warning(ia_codec *c, const char *fmt, ...)
{
    char text[IA_DETAIL_MAX];
    if (c->warnings >= c->lim.max_warnings) {
        c->res->findings_dropped++;
        return;
    }
    c->warnings++;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ia_result_add(c->res, "decoder_warning", IA_SEV_INFO, "%s",
                  n < 0 ? "" : text);
}

void ia_codec_gray(ia_codec *c, const char *what)
{
    ia_result_add(c->res, "grayscale", IA_SEV_INFO, "%s", what);
}

void ia_codec_alpha(ia_codec *c, const char *what)
{
    c->res->has_alpha = 1;
    ia_result_add(c->res, "alpha", IA_SEV_INFO, "%s", what);
}

void ia_codec_high_depth(ia_codec *c, int bits, const char *how)
{
    ia_result_add(c->res, "high_bit_depth", IA_SEV_INFO,
                  "%d-bit samples, %s", bits, how);
}

const char *ia_orientation_text(int o)
{
    static const char *const text[9] = {
        "", "nothing",
        "mirrored left-right",
        "rotated 180 degrees",
        "mirrored top-bottom",
        "mirrored left-right and rotated 270 degrees clockwise",
        "rotated 90 degrees clockwise",
        "mirrored left-right and rotated 90 degrees clockwise",
        "rotated 270 degrees clockwise",
    };
    return o >= 0 && o <= 8 ? text[o] : "";
}

void ia_codec_orientation(ia_codec *c, int orientation)
{
    c->res->exif_orientation = orientation;
    if (orientation > 1)
        ia_result_add(c->res, "exif_rotated", IA_SEV_INFO,
                      "EXIF orientation %d: display needs the stored pixels "
                      "%s; loaders that ignore EXIF see them as stored",
                      orientation, ia_orientation_text(orientation));
}

void ia_codec_frames(ia_codec *c, const char *kind, uint32_t frames,
                     const char *note)
{
    ia_file_result *res = c->res;
    res->frames = frames > INT32_MAX ? INT32_MAX : (int32_t)frames;
    if (frames <= 1)
        return;
    res->animated = 1;
    ia_result_add(res, "animated", IA_SEV_INFO, "%s, %lu frames%s", kind,
                  (unsigned long)frames, note ? note : "");
}

uint64_t ia_codec_frame_work(const ia_codec *c)
{
    uint64_t by_bytes = (uint64_t)c->len * IA_FRAME_WORK_RATIO;
    return by_bytes > IA_FRAME_WORK_FLOOR ? by_bytes : IA_FRAME_WORK_FLOOR;
}

static uint8_t muldiv255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128u;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static uint8_t clip8(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

void ia_cmyk_to_rgb(const uint8_t *in, uint8_t *out, size_t n)
{
    for (size_t x = 0; x < n; x++) {
        const uint8_t *p = in + 4 * x;
        int nk = 255 - p[3];
        uint8_t r = clip8(nk - muldiv255(p[0], (unsigned)nk));
        uint8_t g = clip8(nk - muldiv255(p[1], (unsigned)nk));
        uint8_t b = clip8(nk - muldiv255(p[2], (unsigned)nk));
        out[3 * x] = r;
        out[3 * x + 1] = g;
        out[3 * x + 2] = b;
    }
}

static unsigned tiff16(const uint8_t *p, int le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8
              : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t tiff32(const uint8_t *p, int le)
{
    return le ? (uint32_t)tiff16(p + 2, 1) << 16 | tiff16(p, 1)
              : (uint32_t)tiff16(p, 0) << 16 | tiff16(p + 2, 0);
}

int ia_tiff_exif_orientation(const uint8_t *p, size_t n)
{
    if (n < 8 || (memcmp(p, "II", 2) != 0 && memcmp(p, "MM", 2) != 0))
        return -1;
    int le = p[0] == 'I';
    if (tiff16(p + 2, le) != 42)
        return -1;
    uint32_t ifd = tiff32(p + 4, le);
    if (ifd > n || n - ifd < 2)
        return -1;
    unsigned count = tiff16(p + ifd, le);
    size_t e = (size_t)ifd + 2;
    for (unsigned i = 0; i < count && n - e >= 12; i++, e += 12) {
        if (tiff16(p + e, le) != 0x0112)
            continue;
        unsigned v = tiff16(p + e + 8, le);
        if (tiff16(p + e + 2, le) != 3 || v < 1 || v > 8)
            return -1;
        return (int)v;
    }
    return -1;
}

void ia_codec_lib_missing(const ia_dynlib *lib, ia_file_result *res)
{
    ia_result_status(res, IA_ST_UNSUPPORTED, "%s image (not decoded: %s)",
                     ia_fmt_name(res->format),
                     lib->why[0] ? lib->why : "its library is not loaded");
}

/* A 24-bit row's BGR pixels as RGB from x on. */
static void bgr_tail(const uint8_t *in, uint8_t *o, uint32_t x, uint32_t w)
{
    for (; x < w; x++) {
        o[3 * (size_t)x] = in[3 * (size_t)x + 2];
        o[3 * (size_t)x + 1] = in[3 * (size_t)x + 1];
        o[3 * (size_t)x + 2] = in[3 * (size_t)x];
    }
}

#ifdef CODEC_X86
/* Four pixels a step with one pshufb: 16 bytes in and out from pixel x,
 * of which the last 4 are the next step's (written again by it), so the
 * steps stop 6 pixels before the row's end (no byte past either row is
 * read or written) and bgr_tail does the rest.
 * The per-pixel byte loop, which gcc does not vectorize, was 15 % of a
 * scan of 24-bit BMP photos (and of its decode ceiling); TGA's is the
 * same. */
__attribute__((target("ssse3"))) static void
bgr_row_ssse3(const uint8_t *in, uint8_t *o, uint32_t w)
{
    const __m128i swap = _mm_setr_epi8(2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9,
                                       12, 13, 14, 15);
    uint32_t x = 0;
    for (; x + 6 <= w; x += 4) {
        __m128i v = _mm_loadu_si128(
            (const __m128i *)(const void *)(in + 3 * (size_t)x));
        _mm_storeu_si128((__m128i *)(void *)(o + 3 * (size_t)x),
                         _mm_shuffle_epi8(v, swap));
    }
    bgr_tail(in, o, x, w);
}
#endif

void ia_bgr_to_rgb(const uint8_t *in, uint8_t *o, uint32_t w)
{
#ifdef CODEC_X86
    if (__builtin_cpu_supports("ssse3")) {
        bgr_row_ssse3(in, o, w);
        return;
    }
#endif
    bgr_tail(in, o, 0, w);
}
