/*
 * Default limits for untrusted input. A zero field means "the default",
 * never "unlimited" (STYLE.md).
 */
#include "decode/decode.h"
#include "imgaudit.h"

void ia_limits_defaults(ia_limits *lim, uint64_t max_pixels)
{
    lim->max_pixels = max_pixels ? max_pixels : IA_DEFAULT_MAX_PIXELS;
    if (!lim->max_scans)
        lim->max_scans = IA_DEFAULT_MAX_SCANS;
    if (!lim->max_warnings)
        lim->max_warnings = IA_DEFAULT_MAX_WARNINGS;
    if (!lim->max_chunk_bytes)
        lim->max_chunk_bytes = IA_DEFAULT_MAX_CHUNK_BYTES;
    if (!lim->max_frames)
        lim->max_frames = IA_DEFAULT_MAX_FRAMES;
}

int ia_buffer_unjustified(uint64_t need, size_t len, unsigned ratio)
{
    /* divided, not multiplied: no overflow whatever the claim */
    return need > IA_BUFFER_FLOOR && need / ratio > (uint64_t)len;
}
