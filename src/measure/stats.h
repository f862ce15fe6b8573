/*
 * Per-image pixel statistics, streamed row by row: exact integer channel
 * sums, luma (Pillow's L) moments, histogram entropy, Laplacian variance.
 * Memory O(width): the Laplacian keeps three luma rows.
 */
#ifndef IA_STATS_H
#define IA_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct ia_stats ia_stats;

int ia_stats_new(ia_stats **out);       /* 0 or IA_ERR_NOMEM */
void ia_stats_free(ia_stats *s);
/* Starts an image; channels 1-4 as in decode.h. 0, IA_ERR_NOMEM, or
 * IA_ERR_ARG for channels outside 1-4. */
int ia_stats_begin(ia_stats *s, uint32_t width, uint32_t height, int channels);
/* Feeds one row; luma is that row's Pillow L values (width bytes), computed
 * once by the caller and shared with the hashes. */
void ia_stats_row(ia_stats *s, const uint8_t *row, const uint8_t *luma);
/* The same in one pass over the row: computes the row's luma into luma
 * (width bytes) while gathering the channel statistics, then feeds the
 * histogram and the Laplacian. Equals ia_luma_row then ia_stats_row. Rows
 * past the height, or after a failed begin, are ignored (luma untouched). */
void ia_stats_row_fused(ia_stats *s, const uint8_t *row, uint8_t *luma);
/* The same, with the luma written where the Laplacian keeps its rows (a
 * row of its ring that no longer counts) when it keeps them, else into
 * scratch (width bytes), saving a copy of every row: returns where the
 * luma is, valid until the next row of this image. Rows it ignores
 * return scratch untouched. */
const uint8_t *ia_stats_row_kept(ia_stats *s, const uint8_t *row,
                                 uint8_t *scratch);
/* The same as ia_stats_row_fused, with no copy at all: the caller keeps
 * the luma written into luma unchanged until two more rows of the image
 * were fed (the Laplacian reads it until then). */
void ia_stats_row_held(ia_stats *s, const uint8_t *row, uint8_t *luma);
/* For tests: caps the row kernel at level (0 portable C, 2 AVX2; by
 * default the best the CPU has). Results never depend on it. Returns 0,
 * or -1 when the CPU lacks that level. */
int ia_stats_kernel(ia_stats *s, int level);
/* For tests: fold the 32-bit histogram tables into their 64-bit totals
 * after at most n pixels (default 2^31, before a bin can wrap; n >= 1).
 * Results never depend on it. */
void ia_stats_hist_fold(ia_stats *s, uint64_t n);
/* Finishes the image; out fully written. */
void ia_stats_end(ia_stats *s, ia_pixel_stats *out);

/* Pillow's L: (19595 R + 38470 G + 7471 B + 0x8000) >> 16 for a row of
 * width pixels with channels 1-4 (gray copies, alpha ignored). */
void ia_luma_row(const uint8_t *row, uint32_t width, int channels,
                 uint8_t *luma);

#endif
