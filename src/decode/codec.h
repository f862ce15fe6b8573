/*
 * Private to the decode module: each decoder's table row (table.c), and
 * what the decoders share so that each one is only its library's calls:
 * the facts a decoder that is not JPEG sets to "n/a", the pixel-limit
 * verdict, whole-image buffers justified by the file's bytes and reserved
 * from the scan's budget, the truncated/corrupt messages, warnings capped
 * per file, the header findings and Pillow's conversions (CMYK, 16-bit,
 * float) that every format applies the same way.
 */
#ifndef IA_DECODE_CODEC_H
#define IA_DECODE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "decode/decode.h"

extern const ia_decoder_ops ia_jpeg_ops;
extern const ia_decoder_ops ia_png_ops;
extern const ia_decoder_ops ia_webp_ops;
extern const ia_decoder_ops ia_gif_ops;
extern const ia_decoder_ops ia_tiff_ops;
extern const ia_decoder_ops ia_bmp_ops;
extern const ia_decoder_ops ia_pnm_ops;
extern const ia_decoder_ops ia_tga_ops;
extern const ia_decoder_ops ia_avif_ops;
extern const ia_decoder_ops ia_heif_ops;
extern const ia_decoder_ops ia_jxl_ops;

/* A file's decode, as every decoder but JPEG's and PNG's runs it: the
 * caller's limits with defaults, the sink, the result, the warnings kept
 * so far and a buffer reused across files. */
typedef struct ia_codec {
    ia_limits lim;
    const ia_rowsink *sink;
    ia_file_result *res;
    const uint8_t *buf;
    size_t len;
    unsigned warnings;
    uint8_t *pixels;          /* reused across files */
    size_t cap;
    uint64_t reserved;        /* from lim.gate for this file */
    int sink_failed;
} ia_codec;

/* Starts a file: limits defaulted, the JPEG/PNG-only facts n/a, frames 1.
 * Returns 1 (status empty set) for an empty file, else 0. */
int ia_codec_start(ia_codec *c, const uint8_t *buf, size_t len,
                   const ia_limits *lim, const ia_rowsink *sink,
                   ia_file_result *res);
/* Ends a file: releases what was reserved; a buffer over 64 MB is freed
 * so one huge image does not pin a worker's memory. */
void ia_codec_end(ia_codec *c);
/* Frees the reused buffer (the decoder's destroy). */
void ia_codec_free(ia_codec *c);

/* Records the size (and rows_total = height) and says whether width x
 * height is within max_pixels; when not, sets too_large and returns -1. */
int ia_codec_size(ia_codec *c, uint64_t width, uint64_t height);
/* A buffer of need bytes for the file: refused (too_large, -1) when more
 * than ratio times the file's bytes justify, or more than the scan's
 * whole budget; else reserved from the budget and, when keep, allocated
 * as c->pixels (-2 when malloc fails: a tool failure). what names it in
 * the message ("WebP image buffer"). */
int ia_codec_buffer(ia_codec *c, const char *what, uint64_t need,
                    unsigned ratio, int keep);

/* c->pixels of at least need bytes (contents not kept); -1 when malloc
 * fails. Reserve from the budget first (ia_codec_buffer). */
int ia_codec_grow(ia_codec *c, size_t need);

/* The sink's begin; -1 (status corrupt "measure failed") when refused. */
int ia_codec_begin(ia_codec *c, uint32_t width, uint32_t height,
                   int channels, int bit_depth);
/* Pushes one row and counts it in rows_decoded. */
void ia_codec_row(ia_codec *c, const uint8_t *row);

/* Verdicts with the rows decoded so far, as JPEG's and PNG's read. */
void ia_codec_truncated(ia_codec *c, const char *fmt_name);
void ia_codec_corrupt(ia_codec *c, const char *msg);
void ia_codec_ok(ia_codec *c);
/* An info finding decoder_warning, at most lim.max_warnings per file. */
void ia_codec_warning(ia_codec *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The header findings every format shares, from res: grayscale, alpha,
 * high_bit_depth (how the samples were reduced), cmyk, float_samples,
 * exif_rotated. */
void ia_codec_gray(ia_codec *c, const char *what);
void ia_codec_alpha(ia_codec *c, const char *what);
void ia_codec_high_depth(ia_codec *c, int bits, const char *how);
void ia_codec_orientation(ia_codec *c, int orientation);
/* The animated finding and res->animated/frames, for frames > 1. */
void ia_codec_frames(ia_codec *c, const char *kind, uint32_t frames,
                     const char *note);

/* What the frames of an animation after the first may cost in pixels
 * (decode.h IA_FRAME_WORK_*). */
uint64_t ia_codec_frame_work(const ia_codec *c);

/* Pillow 9.4 Convert.c cmyk2rgb on plain (not inverted) CMYK:
 * nk = 255 - K, R = CLIP8(nk - MULDIV255(C, nk)), ... n pixels, out may
 * alias in (RGB never passes the CMYK it comes from). */
void ia_cmyk_to_rgb(const uint8_t *in, uint8_t *out, size_t n);

/* w pixels of BGR (BMP's and TGA's 24-bit order) as RGB; in and out do
 * not overlap. */
void ia_bgr_to_rgb(const uint8_t *in, uint8_t *out, uint32_t w);

/* EXIF orientation (1-8) of a bare TIFF stream ("II*\0..."), IFD0's tag
 * 0x0112; -1 when absent or malformed. */
int ia_tiff_exif_orientation(const uint8_t *p, size_t n);
/* What display does to the stored pixels for an EXIF orientation. */
const char *ia_orientation_text(int orientation);

/* ---- libraries opened at first use (core.h, ia_dynlib) ---------------- */

/* The file's status when its decoder's library is failed: unsupported,
 * "AVIF image (not decoded: ...)". */
void ia_codec_lib_missing(const ia_dynlib *lib, ia_file_result *res);

#endif
