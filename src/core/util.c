/*
 * Helpers every module shares. ia_mul_size is the one place where a size
 * derived from input is multiplied: callers never write w * h * c.
 * ia_fput_clean and ia_fput_md are the one place where a string from a
 * dataset or a DB is made safe for a terminal or a Markdown page.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imgaudit.h"
#include "core/core.h"

int ia_mul_size(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return -1;
    *out = r;
    return 0;
}

int ia_mul3_size(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    if (ia_mul_size(a, b, &ab) != 0)
        return -1;
    return ia_mul_size(ab, c, out);
}

void ia_bprintf(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (cap == 0)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        dst[0] = '\0';
}

void ia_strlcpy(char *dst, const char *src, size_t cap)
{
    if (cap == 0)
        return;
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

char *ia_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

double ia_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ia_utc_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ia_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

void ia_hex64(uint64_t v, char out[17])
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    ia_hex(b, 8, out);
}

/* ---- text for terminals and Markdown -------------------------------- */

size_t ia_utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4 || (p[1] & 0xC0) != 0x80)
        return 0;
    if (c < 0xE0)
        return 2;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) ||
        (p[2] & 0xC0) != 0x80)
        return 0;
    if (c < 0xF0)
        return 3;
    if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return (p[3] & 0xC0) == 0x80 ? 4 : 0;
}

/* Bytes of the character at p (non-empty); *ok 0 when it must be shown
 * as '?'. A terminal acts on C0 and DEL, on C1 (CSI is U+009B) when
 * UTF-8 encoded, and, in a Latin-1 locale, on raw 0x80-0x9F: a byte
 * that is not UTF-8 is never written. */
static size_t text_char(const unsigned char *p, int *ok)
{
    size_t n = ia_utf8_len(p);
    *ok = !(n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
            (n == 2 && p[0] == 0xC2 && p[1] < 0xA0));
    return n ? n : 1;
}

void ia_fput_clean(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        int ok;
        size_t n = text_char(p, &ok);
        if (ok)
            fwrite(p, 1, n, out);
        else
            fputc('?', out);
        p += n;
    }
}

/* The offset of the character that would make s, at the start of a
 * line, a list item ("- x", "+ x", "1. x", "2) x") or a setext heading
 * underline ("="); SIZE_MAX when there is none. */
static size_t md_marker(const char *s)
{
    size_t i = 0;
    if (*s == '-' || *s == '+' || *s == '=')
        return 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++;
    return i > 0 && (s[i] == '.' || s[i] == ')') ? i : SIZE_MAX;
}

void ia_fput_md(FILE *out, const char *s)
{
    const unsigned char *start = (const unsigned char *)s, *p = start;
    size_t marker = s ? md_marker(s) : SIZE_MAX;
    while (p && *p) {
        int ok;
        size_t n = text_char(p, &ok);
        if (!ok)
            fputc('?', out);
        else if (n == 1 && (strchr("\\`*_[]<>|#!~", *p) ||
                            (size_t)(p - start) == marker))
            fprintf(out, "\\%c", *p);
        else
            fwrite(p, 1, n, out);
        p += n;
    }
}

/* The longest run of backticks in s. */
static size_t max_backticks(const char *s)
{
    size_t best = 0, run = 0;
    for (; s && *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        best = run > best ? run : best;
    }
    return best;
}

void ia_fput_md_code(FILE *out, const char *s)
{
    size_t fence = max_backticks(s) + 1;
    int pad = s && (*s == '`' || (*s && s[strlen(s) - 1] == '`'));
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < fence; i++)
        fputc('`', out);
    if (pad)
        fputc(' ', out);
    while (p && *p) {
        int ok;
        size_t n = text_char(p, &ok);
        if (!ok)
            fputc('?', out);
        else if (*p == '|')
            fputs("\\|", out);
        else
            fwrite(p, 1, n, out);
        p += n;
    }
    if (pad)
        fputc(' ', out);
    for (size_t i = 0; i < fence; i++)
        fputc('`', out);
}

int ia_strcaseeq(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
        if (x == 0)
            return 1;
    }
}

/* Case-insensitive ASCII equality of n bytes (b lower case). */
static int caseeq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (x != (unsigned char)b[i])
            return 0;
    }
    return 1;
}

int ia_archive_name_n(const char *name, size_t n)
{
    static const struct {
        char s[10];
        size_t n;
    } ext[] = {{".tar", 4}, {".tar.gz", 7}, {".tgz", 4}, {".tar.zst", 8},
               {".tar.zstd", 9}, {".tzst", 5}, {".zip", 4}};
    /* the last byte first: most names end in none of r, z, t, d, p */
    unsigned char last = n ? (unsigned char)name[n - 1] | 0x20 : 0;
    if (last != 'r' && last != 'z' && last != 't' && last != 'd' &&
        last != 'p')
        return 0;
    for (size_t i = 0; i < IA_ARRAY_LEN(ext); i++) {
        size_t k = ext[i].n;
        if (n > k && name[n - k - 1] != '/' &&
            caseeq_n(name + n - k, ext[i].s, k))
            return 1;
    }
    return 0;
}

int ia_archive_name(const char *name)
{
    return ia_archive_name_n(name, strlen(name));
}

int ia_archive_folder(const char *path)
{
    for (const char *p = path ? strchr(path, '/') : NULL; p;
         p = strchr(p + 1, '/'))
        if (ia_archive_name_n(path, (size_t)(p - path)))
            return 1;
    return 0;
}

unsigned ia_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

void *ia_grow(void *buf, size_t *cap, size_t need, size_t elem,
              size_t min_cap)
{
    size_t c = *cap ? *cap : (min_cap ? min_cap : 1);
    size_t bytes;
    if (need <= *cap)
        return buf;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return NULL;
        c *= 2;
    }
    if (ia_mul_size(c, elem, &bytes) != 0)
        return NULL;
    void *nb = realloc(buf, bytes);
    if (!nb)
        return NULL;
    *cap = c;
    return nb;
}

/* ---- sorting doubles ------------------------------------------------- */

/* An unsigned key in the doubles' order; both zeros map to +0.0's. */
static uint64_t double_key(double x)
{
    uint64_t u;
    if (x == 0.0)
        x = 0.0;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | (UINT64_C(1) << 63);
}

static double key_double(uint64_t k)
{
    uint64_t u = k >> 63 ? k & ~(UINT64_C(1) << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6      /* 6 x 11 bits cover 64 */

/* Stable LSD radix sort of keys, using tmp; the sorted keys end in *out
 * (keys or tmp). Passes whose digit is the same in every key are skipped:
 * most keys of one metric share their high bits. */
static void radix_keys(uint64_t *keys, uint64_t *tmp, size_t n,
                       uint64_t **out)
{
    size_t count[RADIX_PASSES][RADIX_SIZE];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < RADIX_PASSES; p++)
            count[p][(keys[i] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
    uint64_t *src = keys, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        size_t *c = count[p], sum = 0;
        if (c[(src[0] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)] == n)
            continue;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t k = c[d];
            c[d] = sum;
            sum += k;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++] =
                src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    *out = src;
}

/* Stable insertion sort: short arrays, and the fallback without memory. */
static void insertion_doubles(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static int cmp_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void swap_str(char **v, size_t i, size_t j)
{
    char *t = v[i];
    v[i] = v[j];
    v[j] = t;
}

/* Strings that share their first d bytes, by insertion (short groups). */
static void insertion_from(char **v, size_t n, size_t d)
{
    for (size_t i = 1; i < n; i++) {
        char *x = v[i];
        size_t j = i;
        for (; j > 0 && strcmp(v[j - 1] + d, x + d) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Strings sharing their first d bytes; budget: the partitions into a
 * lower or upper part left before qsort takes over (a step into the
 * equal part consumes a byte of every string in it instead). Recurses
 * into the two smaller parts of each partition and loops on the
 * largest. */
static void mkqsort(char **v, size_t n, size_t d, unsigned budget)
{
    while (n > 1) {
        if (n < 16) {
            insertion_from(v, n, d);
            return;
        }
        if (budget == 0) {
            qsort(v, n, sizeof *v, cmp_str);
            return;
        }
        swap_str(v, 0, n / 2);
        unsigned char p = (unsigned char)v[0][d];
        size_t lt = 0, i = 0, gt = n;
        while (i < gt) {    /* [0,lt) < p, [lt,i) == p, [gt,n) > p */
            unsigned char c = (unsigned char)v[i][d];
            if (c < p)
                swap_str(v, lt++, i++);
            else if (c > p)
                swap_str(v, i, --gt);
            else
                i++;
        }
        /* the equal part goes one byte deeper (unless at the end: all
         * equal), at the same budget; the others spend one */
        size_t nl = lt, ne = p ? gt - lt : 0, ng = n - gt;
        if (ne >= nl && ne >= ng) {      /* loop on the equal part */
            mkqsort(v, nl, d, budget - 1);
            mkqsort(v + gt, ng, d, budget - 1);
            v += lt, n = ne, d++;
        } else if (nl >= ng) {           /* ... on the lower part */
            mkqsort(v + lt, ne, d + 1, budget);
            mkqsort(v + gt, ng, d, budget - 1);
            n = nl, budget--;
        } else {                         /* ... on the upper part */
            mkqsort(v, nl, d, budget - 1);
            mkqsort(v + lt, ne, d + 1, budget);
            v += gt, n = ng, budget--;
        }
    }
}

void ia_sort_strings(char **v, size_t n)
{
    unsigned budget = 8;
    for (size_t k = n; k > 1; k >>= 1)
        budget += 2;
    if (n > 1)
        mkqsort(v, n, 0, budget);
}

void ia_sort_doubles(double *v, size_t n)
{
    uint64_t *keys = NULL, *sorted;
    size_t bytes;
    if (n < 2)
        return;
    if (n < 64) {
        insertion_doubles(v, n);
        return;
    }
    if (ia_mul_size(n, 2 * sizeof *keys, &bytes) != 0 ||
        !(keys = malloc(bytes))) {
        qsort(v, n, sizeof *v, cmp_doubles);
        return;
    }
    for (size_t i = 0; i < n; i++)
        keys[i] = double_key(v[i]);
    radix_keys(keys, keys + n, n, &sorted);
    /* Equal keys are equal values but for the zeros' signs, which the
     * keys lose: the input's zeros go back, in their order, where the
     * zeros landed, as a stable sort would place them. */
    uint64_t *spare = sorted == keys ? keys + n : keys;
    size_t nz = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] == 0.0)
            spare[nz++] = signbit(v[i]) != 0;
    for (size_t i = 0; i < n; i++)
        v[i] = key_double(sorted[i]);
    for (size_t i = 0, z = 0; i < n && z < nz; i++)
        if (v[i] == 0.0)
            v[i] = spare[z++] ? -0.0 : 0.0;
    free(keys);
}
