/*
 * The decode module's interface: the format of a file from its magic
 * bytes (sniff.c), and the decoders that turn a file in memory into rows
 * pushed to a row sink (core.h), with the limits that bound what a file
 * may cost (limits.c, jpeg.c, png.c).
 */
#ifndef IA_DECODE_H
#define IA_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/*
 * Decoders: turn a file in memory into rows of 8-bit pixels pushed to a
 * sink, and fill the header facts, status and findings of the result.
 * Decoders know nothing of files, SQLite or statistics. Each decoder keeps
 * per-worker state (libjpeg/libpng structs are made per file, but buffers
 * are reused) created once per worker.
 *
 * Rows: interleaved 8-bit, channels 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA).
 * CMYK/YCCK JPEGs are converted to RGB as Pillow's convert("RGB") does;
 * 16-bit PNG samples are reduced to their high byte; palettes expanded,
 * tRNS turned into alpha, gray below 8 bits scaled to 8 bits.
 */

/* Memory shared by the workers of a scan (docs/security.md). A decoder
 * that needs a whole-image buffer reserves its size before allocating it
 * and releases it after the file, so N workers together never hold more
 * than the budget. reserve may wait for other workers' releases; it
 * refuses (non-zero, nothing reserved) only a request larger than the
 * whole budget, so whether a file is refused never depends on timing. */
typedef struct ia_memgate {
    void *ctx;
    int (*reserve)(void *ctx, uint64_t bytes);
    void (*release)(void *ctx, uint64_t bytes);
    uint64_t total;          /* the budget, for messages */
} ia_memgate;

typedef struct ia_limits {
    uint64_t max_pixels;     /* width*height above: too_large, no allocation */
    unsigned max_scans;      /* progressive JPEG scans above: corrupt */
    unsigned max_warnings;   /* decoder warnings kept per file */
    size_t max_chunk_bytes;  /* PNG ancillary chunk memory */
    unsigned max_frames;     /* GIF/WebP frames decoded, TIFF pages counted */
    const ia_memgate *gate;  /* NULL: no budget shared with other workers */
} ia_limits;

#define IA_DEFAULT_MAX_SCANS 256
#define IA_DEFAULT_MAX_WARNINGS 20
#define IA_DEFAULT_MAX_CHUNK_BYTES (8u << 20)
#define IA_DEFAULT_MAX_FRAMES 1024
/* The frames of an animation after the first are decoded (for their
 * integrity only) while their pixels add up to at most IA_FRAME_WORK_RATIO
 * per byte of the file, or IA_FRAME_WORK_FLOOR when that is more: a frame
 * header may claim a full canvas for a few bytes (docs/security.md). */
#define IA_FRAME_WORK_FLOOR ((uint64_t)256 << 20)
#define IA_FRAME_WORK_RATIO 1024u
/* Whole-image buffers of the codecs that decode a whole image at once
 * (WebP, AVIF, HEIF, JPEG XL, a TIFF strip or a GIF canvas): justified by
 * the file's bytes as for JPEG (ia_buffer_unjustified). */
#define IA_CODEC_PIXEL_RATIO 1024u

/* What a file's bytes justify (docs/security.md). A whole-image buffer
 * (a multi-scan JPEG's coefficients, an interlaced PNG's pixels) larger
 * than both IA_BUFFER_FLOOR and its ratio times the file's size is
 * refused as too_large before it is allocated: a Huffman-coded JPEG needs
 * at least one bit per 8x8 block and component, so a complete one never
 * has more than 1024 coefficient bytes (128 per block) per file byte;
 * deflate expands at most ~1032 times, but real interlaced images stay
 * far below 256 (both measured in security.md). */
#define IA_BUFFER_FLOOR ((uint64_t)64 << 20)
#define IA_JPEG_COEF_RATIO 1024u
#define IA_PNG_PIXEL_RATIO 256u
/* The scans of a multi-scan JPEG may together pass over at most this many
 * times its coefficient buffer (each scan counted for the components it
 * holds), or IA_SCAN_WORK_FLOOR bytes when that is more; libjpeg's own
 * progression passes 4.7 to 6 times. */
#define IA_SCAN_PASSES 16u
#define IA_SCAN_WORK_FLOOR ((uint64_t)4 << 30)

/* Whether a buffer of need bytes is more than ratio times len justify. */
int ia_buffer_unjustified(uint64_t need, size_t len, unsigned ratio);

/* Fills zero fields of *lim with the defaults. */
void ia_limits_defaults(ia_limits *lim, uint64_t max_pixels);

/*
 * The decoder table: one row per format this build decodes, keyed by the
 * sniffed format. The worker (scan/file.c), the fuzz target and the
 * decode ceiling in bench/ drive every decoder through it and name no
 * format; a new decoder is one file and one row (table.c).
 *
 * create makes the per-worker state (buffers reused across files);
 * decode decodes buf fully, pushing 8-bit rows to sink, and sets
 * res->status (ok, truncated, corrupt, too_large, unsupported, empty), the
 * header facts and findings; it returns 0, or IA_ERR_NOMEM when the tool
 * itself ran out of memory. destroy accepts NULL.
 */
typedef struct ia_decoder_ops {
    int format;              /* ia_fmt */
    const char *library;     /* "libwebp", ... */
    int (*create)(void **state);
    int (*decode)(void *state, const uint8_t *buf, size_t len,
                  const ia_limits *lim, const ia_rowsink *sink,
                  ia_file_result *res);
    void (*destroy)(void *state);
} ia_decoder_ops;

/* The decoders of this build, *n of them, in ia_fmt order. */
const ia_decoder_ops *const *ia_decoders(size_t *n);
/* The decoder of a format; NULL when this build has none. */
const ia_decoder_ops *ia_decoder_find(int format);
/* Why a format without a decoder is not decoded ("built without
 * libavif", "no decoder for jp2"); "" when it has one. */
const char *ia_decoder_missing(int format);

/* One state per format, made at first use: what a worker holds. */
typedef struct ia_decoder_set ia_decoder_set;
int ia_decoder_set_new(ia_decoder_set **out);   /* 0 or IA_ERR_NOMEM */
void ia_decoder_set_free(ia_decoder_set *s);
/* Decodes with the format's decoder (ia_decoder_find must be non-NULL):
 * 0, IA_ERR_NOMEM, or IA_ERR_ARG for a format without a decoder. */
int ia_decoder_set_decode(ia_decoder_set *s, int format, const uint8_t *buf,
                          size_t len, const ia_limits *lim,
                          const ia_rowsink *sink, ia_file_result *res);

typedef struct ia_jpeg_decoder ia_jpeg_decoder;
int ia_jpeg_decoder_new(ia_jpeg_decoder **out);   /* 0 or IA_ERR_NOMEM */
void ia_jpeg_decoder_free(ia_jpeg_decoder *d);
/* Decodes buf fully. Sets res->status (ok, truncated, corrupt, too_large)
 * and header fields; adds findings (cmyk, exif_rotated, ...). Returns 0, or
 * IA_ERR_NOMEM when the tool itself ran out of memory. */
int ia_decode_jpeg(ia_jpeg_decoder *d, const uint8_t *buf, size_t len,
                   const ia_limits *lim, const ia_rowsink *sink,
                   ia_file_result *res);

typedef struct ia_png_decoder ia_png_decoder;
int ia_png_decoder_new(ia_png_decoder **out);
void ia_png_decoder_free(ia_png_decoder *d);
int ia_decode_png(ia_png_decoder *d, const uint8_t *buf, size_t len,
                  const ia_limits *lim, const ia_rowsink *sink,
                  ia_file_result *res);

/* JPEG quality (1-100) libjpeg's scaling of the standard luminance table
 * would give for this table (natural order); -1 when no good match. */
int ia_jpeg_quality_estimate(const uint16_t table[64]);
/* EXIF orientation (1-8) from an APP1 payload starting "Exif\0\0";
 * -1 when absent or unreadable. */
int ia_exif_orientation(const uint8_t *app1, size_t len);

/*
 * Format from magic bytes, never from the extension; and what format a
 * file name's extension promises, for extension_mismatch.
 */

/* ia_fmt of the bytes; IA_FMT_UNKNOWN when no known signature. */
int ia_sniff(const uint8_t *buf, size_t len);
/* ia_fmt that the extension of path promises (case-insensitive);
 * IA_FMT_UNKNOWN when the extension names no image format. */
int ia_ext_format(const char *path);

#endif
