/*
 * Content hashes streamed row by row: pixel_hash (XXH3-128 over a header
 * and the 8-bit pixels) and imagehash's phash and dhash (Pillow Lanczos
 * resampling of the luma rows to 32x32 and 9x8, in Pillow's fixed point).
 * Memory O(width).
 */
#ifndef IA_HASH_H
#define IA_HASH_H

#include <stdint.h>

#include "result.h"

typedef struct ia_hasher ia_hasher;

int ia_hasher_new(ia_hasher **out);     /* 0 or IA_ERR_NOMEM */
void ia_hasher_free(ia_hasher *h);
/* bit_depth: of the file (recorded in the pixel_hash header). */
int ia_hasher_begin(ia_hasher *h, uint32_t width, uint32_t height,
                    int channels, int bit_depth);
void ia_hasher_row(ia_hasher *h, const uint8_t *row, const uint8_t *luma);
void ia_hasher_end(ia_hasher *h, ia_hashes *out);

/* Hamming distance of two 64-bit hashes. */
static inline int ia_hamming64(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}

#endif
