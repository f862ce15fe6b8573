/*
 * Format from magic bytes, never from the extension; and what format a
 * file name's extension promises, for extension_mismatch.
 */
#ifndef IA_SNIFF_H
#define IA_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/* ia_fmt of the bytes; IA_FMT_UNKNOWN when no known signature. */
int ia_sniff(const uint8_t *buf, size_t len);
/* ia_fmt that the extension of path promises (case-insensitive);
 * IA_FMT_UNKNOWN when the extension names no image format. */
int ia_ext_format(const char *path);

#endif
