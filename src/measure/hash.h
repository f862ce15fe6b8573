/*
 * Content hashes streamed row by row: pixel_hash (XXH3-128 over a header
 * and the 8-bit pixels) and imagehash's phash and dhash (Pillow Lanczos
 * resampling of the luma rows to 32x32 and 9x8, in Pillow's fixed point).
 * Memory O(width).
 */
#ifndef IA_HASH_H
#define IA_HASH_H

#include <stdint.h>

#include "core/core.h"

typedef struct ia_hasher ia_hasher;
/* Lanczos coefficient tables that hashers on several threads share: each
 * (side, output size) is built once for all of them, and the cache's
 * budget (16 MiB, least recently used first) bounds them together. */
typedef struct ia_hash_tables ia_hash_tables;

int ia_hasher_new(ia_hasher **out);     /* 0 or IA_ERR_NOMEM */
void ia_hasher_free(ia_hasher *h);
int ia_hash_tables_new(ia_hash_tables **out);   /* 0 or IA_ERR_NOMEM */
/* After every hasher that shares t was freed. */
void ia_hash_tables_free(ia_hash_tables *t);
/* h takes its tables from t (which must outlive it) instead of a cache
 * of its own; any thread may use its hashers at once. */
void ia_hasher_share(ia_hasher *h, ia_hash_tables *t);
/* bit_depth: of the file (recorded in the pixel_hash header). */
int ia_hasher_begin(ia_hasher *h, uint32_t width, uint32_t height,
                    int channels, int bit_depth);
void ia_hasher_row(ia_hasher *h, const uint8_t *row, const uint8_t *luma);
/* Where the next row's luma (width bytes) may be written so that
 * ia_hasher_row need not copy it: a row of the blocks of sixteen rows the
 * level-5 kernel keeps, unchanged until 32 more rows arrived; NULL
 * when the hasher keeps no rows. */
uint8_t *ia_hasher_luma_slot(ia_hasher *h);
void ia_hasher_end(ia_hasher *h, ia_hashes *out);
/* For tests and diagnostics: after ia_hasher_end, the Lanczos-resized luma
 * of that image, row-major: 32x32 (phash) or, when dhash is non-zero,
 * 9 wide x 8 high. Valid until the next ia_hasher_begin. */
const uint8_t *ia_hasher_resized(const ia_hasher *h, int dhash);
/* For tests: whether the image begun last goes through the kernel's
 * blocks of sixteen rows (level 5; not for rows over 8,192 pixels, whose
 * buffers would cost too much). */
int ia_hasher_blocks(const ia_hasher *h);
/* For tests: sets the horizontal resampling kernel (0 scalar, 1 SSE2,
 * 2 AVX2, 3 AVX512-VNNI, 4 AVX-VNNI, 5 AVX2 with blocks of sixteen rows
 * on AVX-512 where both resizes keep columns; 3 and 4 are the same
 * kernel, encoded for either extension; by default 5, else the highest of
 * 0..2 the CPU has: the VNNI kernels measured no faster, hash.c
 * ia_hasher_new).
 * Results never depend on it. Returns 0, or -1 when the CPU lacks that
 * level. */
int ia_hasher_kernel(ia_hasher *h, int level);


#endif
