/*
 * Small helpers shared by every module: overflow-checked size products,
 * bounded string formatting, monotonic time.
 */
#ifndef IA_UTIL_H
#define IA_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define IA_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* *out = a * b; returns 0 on success, -1 on overflow (*out untouched). */
int ia_mul_size(size_t a, size_t b, size_t *out);
/* *out = a * b * c, same convention. */
int ia_mul3_size(size_t a, size_t b, size_t c, size_t *out);

/* snprintf into a fixed buffer, always terminated, truncation allowed. */
void ia_bprintf(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies src (may be NULL: empty) into dst, always terminated. */
void ia_strlcpy(char *dst, const char *src, size_t cap);
/* strdup that returns NULL for NULL. */
char *ia_strdup(const char *s);

/* Seconds from a monotonic clock. */
double ia_now(void);
/* Current UTC time as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" (thread-safe). */
void ia_utc_now(char out[32]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void ia_hex(const uint8_t *bytes, size_t n, char *out);
/* 16 hex digits, most significant first, as imagehash's str() prints. */
void ia_hex64(uint64_t v, char out[17]);

/* Length of the valid UTF-8 sequence at p (NUL-terminated), 0 when it is
 * invalid: overlongs, surrogates and code points past U+10FFFF are
 * invalid, as in jansson. */
size_t ia_utf8_len(const unsigned char *p);

/* Writes s (NULL: nothing) as Markdown text, safe in a table cell, a
 * link text or a list item: what ia_fput_clean replaces is replaced, the
 * characters that start markup or end a cell (\ ` * _ [ ] < > | # ! ~)
 * are backslash-escaped, and so is what would make s, at the start of a
 * line, a list item or a heading underline (a leading - + =, the . or )
 * after leading digits). The one Markdown escaper of the report and
 * compare writers (docs/security.md). */
void ia_fput_md(FILE *out, const char *s);

/* Case-insensitive ASCII compare. */
int ia_strcaseeq(const char *a, const char *b);

/* qsort that accepts an empty, possibly NULL array: C requires a valid
 * base even for n == 0 and UBSan enforces it, while empty sets are
 * everyday input here (a scan without leaks, a split without labels). */
static inline void ia_qsort(void *base, size_t n, size_t size,
                            int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static inline void ia_qsort_r(void *base, size_t n, size_t size,
                              int (*cmp)(const void *, const void *, void *),
                              void *arg)
{
    if (n > 1)
        qsort_r(base, n, size, cmp, arg);
}

/* Sorts n doubles (finite or infinite, no NaN) ascending, stably: what a
 * stable sort comparing (x > y) - (x < y) gives, -0.0 and 0.0 included
 * in their input order. A radix sort, linear in n: quantiles of every
 * metric at every level were the dataset analysis' largest cost. */
void ia_sort_doubles(double *v, size_t n);

/* Returns buf grown to hold at least `need` elements of `elem` bytes
 * (capacity doubling from min_cap, *cap updated), or NULL when out of
 * memory or on overflow, leaving buf and *cap as they were. */
void *ia_grow(void *buf, size_t *cap, size_t need, size_t elem,
              size_t min_cap);

/* Number of online CPUs, at least 1. */
unsigned ia_cpu_count(void);

#endif
