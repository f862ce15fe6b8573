/*
 * decode_ceiling: the speed limit a scan is measured against.
 *
 * Reads every regular file under DIR once into a reused buffer, computes
 * the SHA-256 of its bytes (OpenSSL EVP, digest fetched once, context
 * reused per thread) and, when its magic bytes say JPEG or PNG, decodes
 * every row with the libraries and settings the scan uses (libjpeg-turbo:
 * JDCT_ISLOW, fancy upsampling, RGB or gray output, CMYK left as CMYK;
 * libpng: palette and tRNS expanded, gray below 8 bits expanded, 16 bits
 * stripped, interlace handling, the same 1 KiB compressed read size), with
 * the same number of threads. Every other format the scan decodes (WebP,
 * GIF, TIFF, BMP, ...) goes through the scan's own decoder table
 * (src/decode/decode.h) with a row sink that discards the rows: the same
 * libraries and settings, without the statistics and hashes. Nothing else: no statistics, no hashes of
 * pixels, no database. A scan cannot be faster than this, so
 * scan time / ceiling time says how much the scan's own work costs.
 *
 * Files are handed to threads through an atomic counter, in sorted path
 * order like the scan's walk. Output: one line of key=value pairs (files,
 * decoded, bytes, megapixels, seconds, files_per_s, mp_per_s,
 * peak_rss_kb), parsed by bench/run.sh.
 *
 * Usage: decode_ceiling DIR [-j N]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <openssl/evp.h>
#include <png.h>

#include "core/core.h"
#include "decode/decode.h"
#include "imgaudit.h"

#define MAX_THREADS 64

typedef struct paths {
    char **v;
    size_t n, cap;
} paths;

typedef struct shared {
    const paths *files;
    atomic_size_t next;
} shared;

typedef struct worker {
    shared *sh;
    pthread_t tid;
    EVP_MD *md;
    EVP_MD_CTX *ctx;
    uint8_t *buf;
    size_t cap;
    uint8_t *row;
    size_t row_cap;
    void *row_mem;
    ia_decoder_set *decoders;  /* formats other than JPEG and PNG */
    ia_file_result *res;
    /* results */
    uint64_t files, decoded, bytes, pixels, failed;
    uint8_t digest_xor[32];  /* keeps the digests from being optimised out */
} worker;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int push_path(paths *p, const char *s)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        char **nv = realloc(p->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n] = strdup(s);
    return p->v[p->n++] ? 0 : -1;
}

/* Every regular file below dir (symlinks not followed, as the scan's
 * default). */
static int list_files(const char *dir, paths *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = -1;
            break;
        }
        snprintf(p, len, "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc = list_files(p, out);
            else if (S_ISREG(st.st_mode))
                rc = push_path(out, p);
        }
        free(p);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(worker *w, const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    size_t need = (size_t)st.st_size + 1;
    if (need > w->cap) {
        size_t cap = w->cap ? w->cap : 1u << 20;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            close(fd);
            return -1;
        }
        w->buf = nb;
        w->cap = cap;
    }
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, w->buf + n, w->cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n == w->cap)
            break;
    }
    close(fd);
    *len = n;
    return 0;
}

/* The row buffer is placed as src/decode/jpeg.c places it, 8 bytes into
 * a 64-byte aligned block: libjpeg-turbo writes an aligned row with
 * non-temporal stores, a different (slower) path. */
static int ensure_row(worker *w, size_t need)
{
    void *p = NULL;
    if (need <= w->row_cap)
        return 0;
    if (posix_memalign(&p, 64, need + 64) != 0)
        return -1;
    free(w->row_mem);
    w->row_mem = p;
    w->row = (uint8_t *)p + 8;
    w->row_cap = need;
    return 0;
}

/* ---- JPEG ---------------------------------------------------------------- */

typedef struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr_mgr;

static void jpeg_fatal(j_common_ptr ci)
{
    longjmp(((jerr_mgr *)ci->err)->jb, 1);
}

static void jpeg_quiet(j_common_ptr ci, int level)
{
    (void)ci;
    (void)level;
}

static uint64_t decode_jpeg(worker *w, const uint8_t *buf, size_t len)
{
    struct jpeg_decompress_struct ci;
    jerr_mgr jerr;
    volatile uint64_t pixels = 0;
    ci.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_fatal;
    jerr.pub.emit_message = jpeg_quiet;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&ci);
        w->failed++;
        return pixels;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = ci.num_components == 1 ? JCS_GRAYSCALE
                         : ci.num_components == 4 ? JCS_CMYK : JCS_RGB;
    ci.dct_method = JDCT_ISLOW;
    ci.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&ci);
    if (ensure_row(w, (size_t)ci.output_width * ci.output_components) != 0)
        longjmp(jerr.jb, 1);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW rows[1] = {w->row};
        if (jpeg_read_scanlines(&ci, rows, 1) != 1)
            break;
    }
    pixels = (uint64_t)ci.output_width * ci.output_height;
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return pixels;
}

/* ---- PNG ----------------------------------------------------------------- */

typedef struct png_src {
    const uint8_t *buf;
    size_t len, pos;
} png_src;

static void png_read_cb(png_structp png, png_bytep out, size_t n)
{
    png_src *s = png_get_io_ptr(png);
    if (n > s->len - s->pos)
        png_error(png, "unexpected end of file");
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
}

static void png_quiet(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static uint64_t decode_png(worker *w, const uint8_t *buf, size_t len)
{
    png_src src = {buf, len, 0};
    volatile uint64_t pixels = 0;
    uint8_t *volatile image = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL,
                                             NULL, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, NULL);
        w->failed++;
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(image);
        w->failed++;
        return pixels;
    }
    png_set_read_fn(png, &src, png_read_cb);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_benign_errors(png, 1);
    png_set_compression_buffer_size(png, 1024);
    png_read_info(png, info);
    int ct = png_get_color_type(png, info);
    int bd = png_get_bit_depth(png, info);
    if (ct == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (ct == PNG_COLOR_TYPE_GRAY && bd < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (bd == 16)
        png_set_strip_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    uint32_t h = png_get_image_height(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (passes > 1) {
        image = malloc(rowbytes * h);
        if (!image)
            png_error(png, "out of memory");
        for (int p = 0; p < passes; p++)
            for (uint32_t y = 0; y < h; y++)
                png_read_row(png, image + (size_t)y * rowbytes, NULL);
    } else {
        if (ensure_row(w, rowbytes) != 0)
            png_error(png, "out of memory");
        for (uint32_t y = 0; y < h; y++)
            png_read_row(png, w->row, NULL);
    }
    pixels = (uint64_t)png_get_image_width(png, info) * h;
    png_read_end(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    free(image);
    return pixels;
}

/* ---- every other format: the scan's decoder table ----------------------- */

static int discard_begin(void *ctx, uint32_t w, uint32_t h, int ch, int bd)
{
    (void)ctx, (void)w, (void)h, (void)ch, (void)bd;
    return 0;
}

static void discard_row(void *ctx, const uint8_t *row)
{
    (void)ctx, (void)row;
}

static uint64_t decode_table(worker *w, int fmt, const uint8_t *buf,
                             size_t len)
{
    ia_rowsink sink = {NULL, discard_begin, discard_row};
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 0);
    if ((!w->decoders && ia_decoder_set_new(&w->decoders) != IA_OK) ||
        (!w->res && !(w->res = malloc(sizeof *w->res)))) {
        w->failed++;
        return 0;
    }
    ia_result_reset(w->res);
    if (ia_decoder_set_decode(w->decoders, fmt, buf, len, &lim, &sink,
                              w->res) != IA_OK ||
        w->res->status != IA_ST_OK) {
        w->failed++;
        return 0;
    }
    return (uint64_t)w->res->width * (uint64_t)w->res->height;
}

/* ---- the loop ------------------------------------------------------------ */

static void one_file(worker *w, const char *path)
{
    size_t len = 0;
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (read_file(w, path, &len) != 0)
        return;
    w->files++;
    w->bytes += len;
    if (EVP_DigestInit_ex2(w->ctx, w->md, NULL) == 1 &&
        EVP_DigestUpdate(w->ctx, w->buf, len) == 1 &&
        EVP_DigestFinal_ex(w->ctx, md, &mdlen) == 1)
        for (int i = 0; i < 32; i++)
            w->digest_xor[i] ^= md[i];
    uint64_t px = 0;
    int fmt = ia_sniff(w->buf, len);
    if (len >= 3 && w->buf[0] == 0xFF && w->buf[1] == 0xD8 &&
        w->buf[2] == 0xFF)
        px = decode_jpeg(w, w->buf, len);
    else if (len >= 8 && memcmp(w->buf, "\x89PNG\r\n\x1a\n", 8) == 0)
        px = decode_png(w, w->buf, len);
    else if (ia_decoder_find(fmt))
        px = decode_table(w, fmt, w->buf, len);
    if (px) {
        w->decoded++;
        w->pixels += px;
    }
}

static void *run(void *arg)
{
    worker *w = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&w->sh->next, 1);
        if (i >= w->sh->files->n)
            break;
        one_file(w, w->sh->files->v[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            jobs = strtol(argv[++i], NULL, 10);
        else if (strncmp(argv[i], "-j", 2) == 0 && argv[i][2])
            jobs = strtol(argv[i] + 2, NULL, 10);
        else
            dir = argv[i];
    }
    if (!dir || jobs < 1 || jobs > MAX_THREADS) {
        fprintf(stderr, "usage: decode_ceiling DIR [-j N]\n");
        return 2;
    }
    double t0 = now();
    paths files = {0};
    if (list_files(dir, &files) != 0) {
        fprintf(stderr, "decode_ceiling: out of memory\n");
        return 1;
    }
    qsort(files.v, files.n, sizeof *files.v, cmp_str);
    shared sh = {.files = &files};
    atomic_init(&sh.next, 0);
    worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    int rc = 0;
    for (long t = 0; t < jobs; t++) {
        w[t].sh = &sh;
        w[t].md = EVP_MD_fetch(NULL, "SHA256", NULL);
        w[t].ctx = EVP_MD_CTX_new();
        if (!w[t].md || !w[t].ctx)
            rc = 1;
    }
    for (long t = 1; rc == 0 && t < jobs; t++)
        if (pthread_create(&w[t].tid, NULL, run, &w[t]) != 0)
            rc = 1;
    if (rc == 0) {
        run(&w[0]);
        for (long t = 1; t < jobs; t++)
            pthread_join(w[t].tid, NULL);
    }
    double secs = now() - t0;
    uint64_t nf = 0, nd = 0, nb = 0, np = 0, nfail = 0;
    uint8_t x = 0;
    for (long t = 0; t < jobs; t++) {
        nf += w[t].files;
        nd += w[t].decoded;
        nb += w[t].bytes;
        np += w[t].pixels;
        nfail += w[t].failed;
        x ^= w[t].digest_xor[0];
        EVP_MD_CTX_free(w[t].ctx);
        EVP_MD_free(w[t].md);
        free(w[t].buf);
        free(w[t].row_mem);
        ia_decoder_set_free(w[t].decoders);
        free(w[t].res);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("files=%llu decoded=%llu failed=%llu bytes=%llu megapixels=%.1f "
           "seconds=%.3f files_per_s=%.0f mp_per_s=%.1f peak_rss_kb=%ld "
           "jobs=%ld digest_xor=%02x\n",
           (unsigned long long)nf, (unsigned long long)nd,
           (unsigned long long)nfail, (unsigned long long)nb,
           (double)np / 1e6, secs, secs > 0 ? (double)nf / secs : 0.0,
           secs > 0 ? (double)np / 1e6 / secs : 0.0, ru.ru_maxrss, jobs, x);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    return rc;
}
