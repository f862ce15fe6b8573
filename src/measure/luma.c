/*
 * Pillow's "L" conversion, shared by statistics and hashes so each row's
 * luma is computed once. Integer math identical to Pillow's ImagingConvert
 * (rgb2l): L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16. This is the
 * portable reference; the scan's hot path computes luma inside the fused
 * statistics kernel (stats.c).
 */
#include <string.h>

#include "measure/stats.h"

void ia_luma_row(const uint8_t *row, uint32_t width, int channels,
                 uint8_t *luma)
{
    if (channels == 1) {
        memcpy(luma, row, width);
        return;
    }
    if (channels == 2) {
        for (uint32_t x = 0; x < width; x++)
            luma[x] = row[(size_t)x * (size_t)channels];
        return;
    }
    for (uint32_t x = 0; x < width; x++) {
        const uint8_t *p = row + (size_t)x * (size_t)channels;
        luma[x] = (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] +
                             0x8000u) >> 16);
    }
}
