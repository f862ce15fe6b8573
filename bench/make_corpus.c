/*
 * make_corpus: a large dataset of small images cut from real photos, for
 * the benchmark (docs/performance.md).
 *
 * Every JPEG under SRC (e.g. clothing-small, laid out SPLIT/CLASS/file)
 * is decoded once and cut into a grid of tiles (about the same size for
 * every tile of a photo) or, with --mixed, into tiles of mixed sizes:
 * each a crop of the photo (a quarter to all of the largest crop of its
 * aspect, anywhere in it) resized by area averaging (or bilinear
 * interpolation where it grows) to a width drawn log-uniformly from
 * MIXED_MIN to MIXED_MAX pixels and a height of that width times an
 * aspect drawn log-uniformly from 1/2 to 2, clamped to the same range:
 * every octave of sizes equally likely, as crops and thumbnails come,
 * so a dataset has hundreds of distinct widths and heights. Each tile is
 * written as a JPEG (quality 70-95) or, one in four, a PNG, under
 * OUT/{train,val,test}/CLASS/ (class of the source photo, split 80/10/10
 * by tile). Then a known number of planted problems, recorded in
 * OUT.planted.csv beside OUT (not inside, where a scan would see it):
 *   copy    - the bytes of a tile copied into another split (an exact
 *             duplicate and a split leak);
 *   reencode - a tile decoded and saved again as a JPEG of another
 *             quality in the same split (a near duplicate).
 * Everything a tile gets (size, format, quality, split, planted or not)
 * comes from a hash of its photo and tile number, so the corpus is the
 * same whatever the thread count. Photos are shared among threads through
 * an atomic counter.
 *
 * Usage: make_corpus SRC OUT [--count N] [--copies N] [--reencodes N]
 *                    [--mixed] [-j N]
 * Defaults: 100000 tiles, 1000 copies, 1000 re-encodings, online CPUs.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#define MAX_THREADS 64
/* --mixed: the range of each side, in pixels. */
#define MIXED_MIN 32
#define MIXED_MAX 512

typedef struct photo {
    char *path;
    char *label;
} photo;

typedef struct plan {
    const char *out;
    photo *photos;
    size_t nphotos;
    size_t per_photo;      /* tiles cut from each photo */
    size_t count;          /* tiles wanted in all */
    size_t copies, reencodes;
    int mixed;             /* tiles of mixed sizes instead of a grid */
    atomic_size_t next;
    atomic_size_t written, planted_copies, planted_reencodes, failed;
    pthread_mutex_t log_lock;
    FILE *log;             /* OUT.planted.csv */
} plan;

static const char *const splits[3] = {"train", "val", "test"};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- listing the source photos ------------------------------------------ */

static int add_photo(plan *p, size_t *cap, const char *path,
                     const char *label)
{
    if (p->nphotos == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        photo *np = realloc(p->photos, nc * sizeof *np);
        if (!np)
            return -1;
        p->photos = np;
        *cap = nc;
    }
    photo *ph = &p->photos[p->nphotos++];
    ph->path = strdup(path);
    ph->label = strdup(label);
    return ph->path && ph->label ? 0 : -1;
}

static int has_jpeg_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0);
}

/* label: the name of the folder holding the file. */
static int walk(plan *p, size_t *cap, const char *dir, const char *label)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = walk(p, cap, path, de->d_name);
        else if (S_ISREG(st.st_mode) && has_jpeg_ext(de->d_name))
            rc = add_photo(p, cap, path, label ? label : "unlabelled");
    }
    closedir(d);
    return rc;
}

static int cmp_photo(const void *a, const void *b)
{
    return strcmp(((const photo *)a)->path, ((const photo *)b)->path);
}

/* ---- decoding and encoding ------------------------------------------------- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void on_jpeg_error(j_common_ptr ci)
{
    longjmp(((jerr *)ci->err)->jb, 1);
}

static void quiet(j_common_ptr ci, int level)
{
    (void)ci;
    (void)level;
}

/* The photo as RGB; NULL when it cannot be decoded. */
static uint8_t *decode_rgb(const char *path, uint32_t *w, uint32_t *h)
{
    struct jpeg_decompress_struct ci;
    jerr je;
    uint8_t *volatile img = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = on_jpeg_error;
    je.pub.emit_message = quiet;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        fclose(f);
        free(img);
        return NULL;
    }
    jpeg_create_decompress(&ci);
    jpeg_stdio_src(&ci, f);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    size_t stride = (size_t)ci.output_width * 3;
    img = malloc(stride * ci.output_height);
    if (!img)
        longjmp(je.jb, 1);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = img + stride * ci.output_scanline;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    *w = ci.output_width;
    *h = ci.output_height;
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    fclose(f);
    return img;
}

static int write_jpeg(const char *path, const uint8_t *pix, uint32_t w,
                      uint32_t h, size_t stride, int quality)
{
    struct jpeg_compress_struct ci;
    jerr je;
    FILE *volatile f = fopen(path, "wb");
    if (!f)
        return -1;
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = on_jpeg_error;
    if (setjmp(je.jb)) {
        jpeg_destroy_compress(&ci);
        fclose(f);
        return -1;
    }
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < h) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(pix + stride * ci.next_scanline);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f) == 0 ? 0 : -1;
}

static void png_fail(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int write_png(const char *path, const uint8_t *pix, uint32_t w,
                     uint32_t h, size_t stride)
{
    FILE *volatile f = fopen(path, "wb");
    if (!f)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              png_fail, png_quiet);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_compression_level(png, 3);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (uint32_t y = 0; y < h; y++)
        png_write_row(png, (png_const_bytep)(pix + stride * y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 ? 0 : -1;
}

static int copy_file(const char *from, const char *to)
{
    char buf[65536];
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    int rc = in && out ? 0 : -1;
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* ---- the tiles ------------------------------------------------------------ */

static void log_planted(plan *p, const char *kind, const char *orig,
                        const char *planted)
{
    pthread_mutex_lock(&p->log_lock);
    fprintf(p->log, "%s,%s,%s\n", kind, orig + strlen(p->out) + 1,
            planted + strlen(p->out) + 1);
    pthread_mutex_unlock(&p->log_lock);
}

/* A tile's pixels: h rows of w RGB pixels, stride bytes apart. */
typedef struct tile {
    const uint8_t *pix;
    uint32_t w, h;
    size_t stride;
} tile;

/* Tile t of photo i, drawn by r: written, and maybe planted again. */
static void emit_tile(plan *p, size_t i, size_t t, uint64_t r,
                      const tile *tl)
{
    int split = r % 10 < 8 ? 0 : r % 10 < 9 ? 1 : 2;
    int png = (r >> 8) % 4 == 0;
    int quality = 70 + (int)((r >> 16) % 26);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s/p%05zu_t%02zu.%s", p->out,
             splits[split], p->photos[i].label, i, t, png ? "png" : "jpg");
    int rc = png ? write_png(path, tl->pix, tl->w, tl->h, tl->stride)
                 : write_jpeg(path, tl->pix, tl->w, tl->h, tl->stride,
                              quality);
    if (rc != 0) {
        atomic_fetch_add(&p->failed, 1);
        return;
    }
    atomic_fetch_add(&p->written, 1);
    /* planted problems: each tile is planted with probability n / count,
     * decided by its hash, so the totals are close to what was asked and
     * recorded exactly */
    uint64_t q = mix(r ^ 0x5bd1e995u) % p->count;
    char other[4096];
    if (q < p->copies) {
        int to = (split + 1 + (int)(r >> 32) % 2) % 3;
        snprintf(other, sizeof other, "%s/%s/%s/copy_p%05zu_t%02zu.%s",
                 p->out, splits[to], p->photos[i].label, i, t,
                 png ? "png" : "jpg");
        if (copy_file(path, other) == 0) {
            atomic_fetch_add(&p->planted_copies, 1);
            log_planted(p, "copy", path, other);
        }
    } else if (q < p->copies + p->reencodes) {
        int q2 = quality > 80 ? quality - 10 : quality + 10;
        snprintf(other, sizeof other, "%s/%s/%s/reenc_p%05zu_t%02zu.jpg",
                 p->out, splits[split], p->photos[i].label, i, t);
        if (write_jpeg(other, tl->pix, tl->w, tl->h, tl->stride, q2) == 0) {
            atomic_fetch_add(&p->planted_reencodes, 1);
            log_planted(p, "reencode", path, other);
        }
    }
}

/* Cell t of a cols x rows grid over the photo. */
static void grid_tile(plan *p, size_t i, size_t t, const uint8_t *img,
                      uint32_t w, uint32_t h, size_t cols, size_t rows)
{
    uint32_t cw = w / (uint32_t)cols, chh = h / (uint32_t)rows;
    uint32_t x0 = (uint32_t)(t % cols) * cw, y0 = (uint32_t)(t / cols) * chh;
    tile tl = {img + ((size_t)y0 * w + x0) * 3, cw, chh, (size_t)w * 3};
    emit_tile(p, i, t, mix(i * 1000003u + t), &tl);
}

/* The source samples output o draws on along an axis of n_in samples
 * resized to n_out, and their weights (wt holds n_in / n_out + 2): the
 * mean of those its footprint covers when shrinking, linear
 * interpolation when growing. Returns how many, from *first. */
static uint32_t axis_taps(uint32_t n_in, uint32_t n_out, uint32_t o,
                          uint32_t *first, float *wt)
{
    double s = (double)n_in / n_out;
    if (n_in >= n_out) {
        uint32_t lo = (uint32_t)(o * s), hi = (uint32_t)((o + 1) * s);
        hi = hi <= lo ? lo + 1 : hi > n_in ? n_in : hi;
        for (uint32_t k = 0; k < hi - lo; k++)
            wt[k] = 1.0f / (float)(hi - lo);
        *first = lo;
        return hi - lo;
    }
    double c = (o + 0.5) * s - 0.5;
    uint32_t lo = c <= 0 ? 0 : (uint32_t)c;
    if (lo + 1 >= n_in) {
        *first = n_in - 1;
        wt[0] = 1.0f;
        return 1;
    }
    wt[1] = (float)(c <= 0 ? 0 : c - lo);
    wt[0] = 1.0f - wt[1];
    *first = lo;
    return 2;
}

/* src resized to dw x dh (RGB, rows of dw * 3 bytes in dst), one axis
 * after the other. -1 when out of memory. */
static int resize(const tile *src, uint8_t *dst, uint32_t dw, uint32_t dh)
{
    uint32_t most = (src->w > src->h ? src->w : src->h) / MIXED_MIN + 2;
    float *tmp = malloc((size_t)src->h * dw * 3 * sizeof *tmp);
    float *wt = malloc(most * sizeof *wt);
    uint32_t first, n;
    if (!tmp || !wt) {
        free(tmp);
        free(wt);
        return -1;
    }
    for (uint32_t x = 0; x < dw; x++) {
        n = axis_taps(src->w, dw, x, &first, wt);
        for (uint32_t y = 0; y < src->h; y++)
            for (int c = 0; c < 3; c++) {
                const uint8_t *row = src->pix + src->stride * y;
                float v = 0;
                for (uint32_t k = 0; k < n; k++)
                    v += wt[k] * row[(first + k) * 3 + c];
                tmp[((size_t)y * dw + x) * 3 + c] = v;
            }
    }
    for (uint32_t y = 0; y < dh; y++) {
        n = axis_taps(src->h, dh, y, &first, wt);
        for (size_t j = 0; j < (size_t)dw * 3; j++) {
            float v = 0.5f;
            for (uint32_t k = 0; k < n; k++)
                v += wt[k] * tmp[(size_t)(first + k) * dw * 3 + j];
            dst[(size_t)y * dw * 3 + j] = v >= 255 ? 255 : (uint8_t)v;
        }
    }
    free(tmp);
    free(wt);
    return 0;
}

/* A uniform draw in [0, 1) from 16 bits of r. */
static double unit(uint64_t r, int shift)
{
    return (double)((r >> shift) & 0xffff) / 65536.0;
}

/* Tile t of photo i at a size of its own (--mixed): a crop of the photo
 * resized, both drawn from the tile's hash. */
static void mixed_tile(plan *p, size_t i, size_t t, const uint8_t *img,
                       uint32_t w, uint32_t h)
{
    uint64_t r = mix(i * 1000003u + t), d = mix(r ^ 0x2545f4914f6cdd1dULL);
    double side =
        MIXED_MIN * pow((MIXED_MAX + 1.0) / MIXED_MIN, unit(d, 0));
    double aspect = pow(2.0, 2 * unit(d, 16) - 1);
    uint32_t dw = (uint32_t)side, dh = (uint32_t)(side * aspect);
    dh = dh < MIXED_MIN ? MIXED_MIN : dh > MIXED_MAX ? MIXED_MAX : dh;
    /* the largest crop of the tile's aspect, scaled by 1/4 to 1 */
    double cw = (double)w, ch = cw * dh / dw;
    if (ch > h) {
        ch = h;
        cw = ch * dw / dh;
    }
    double f = 0.25 + 0.75 * unit(d, 32);
    uint32_t sw = (uint32_t)(cw * f), sh = (uint32_t)(ch * f);
    sw = sw < 1 ? 1 : sw;
    sh = sh < 1 ? 1 : sh;
    uint32_t x0 = (uint32_t)((w - sw) * unit(d, 48));
    uint32_t y0 = (uint32_t)((h - sh) * unit(r, 48));
    tile crop = {img + ((size_t)y0 * w + x0) * 3, sw, sh, (size_t)w * 3};
    uint8_t *pix = malloc((size_t)dw * dh * 3);
    if (!pix || resize(&crop, pix, dw, dh) != 0) {
        free(pix);
        atomic_fetch_add(&p->failed, 1);
        return;
    }
    tile tl = {pix, dw, dh, (size_t)dw * 3};
    emit_tile(p, i, t, r, &tl);
    free(pix);
}

static void one_photo(plan *p, size_t i)
{
    uint32_t w = 0, h = 0;
    uint8_t *img = decode_rgb(p->photos[i].path, &w, &h);
    if (!img)
        return;
    size_t n = p->per_photo;
    /* a grid of about n cells with the photo's aspect */
    size_t cols = (size_t)ceil(sqrt((double)n * w / h));
    if (cols < 1)
        cols = 1;
    size_t rows = (n + cols - 1) / cols;
    for (size_t t = 0; t < n && i * p->per_photo + t < p->count; t++) {
        if (p->mixed)
            mixed_tile(p, i, t, img, w, h);
        else if (w / cols >= 8 && h / rows >= 8)
            grid_tile(p, i, t, img, w, h, cols, rows);
    }
    free(img);
}

static void *run(void *arg)
{
    plan *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->nphotos)
            break;
        one_photo(p, i);
    }
    return NULL;
}

static int make_dirs(plan *p)
{
    char path[4096];
    if (mkdir(p->out, 0777) != 0 && errno != EEXIST)
        return -1;
    for (int s = 0; s < 3; s++) {
        snprintf(path, sizeof path, "%s/%s", p->out, splits[s]);
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return -1;
        for (size_t i = 0; i < p->nphotos; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", p->out, splits[s],
                     p->photos[i].label);
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    plan p;
    memset(&p, 0, sizeof p);
    const char *src = NULL;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    p.count = 100000;
    p.copies = 1000;
    p.reencodes = 1000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            p.count = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--copies") == 0 && i + 1 < argc)
            p.copies = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reencodes") == 0 && i + 1 < argc)
            p.reencodes = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--mixed") == 0)
            p.mixed = 1;
        else if (strcmp(argv[i], "-j") == 0 && i + 1 < argc)
            jobs = strtol(argv[++i], NULL, 10);
        else if (!src)
            src = argv[i];
        else
            p.out = argv[i];
    }
    if (!src || !p.out || p.count == 0 || jobs < 1 || jobs > MAX_THREADS ||
        p.copies + p.reencodes > p.count) {
        fprintf(stderr, "usage: make_corpus SRC OUT [--count N] "
                        "[--copies N] [--reencodes N] [--mixed] [-j N]\n");
        return 2;
    }
    double t0 = now();
    size_t cap = 0;
    if (walk(&p, &cap, src, NULL) != 0 || p.nphotos == 0) {
        fprintf(stderr, "make_corpus: no JPEG photos under %s\n", src);
        return 1;
    }
    qsort(p.photos, p.nphotos, sizeof *p.photos, cmp_photo);
    p.per_photo = (p.count + p.nphotos - 1) / p.nphotos;
    char logpath[4096];
    snprintf(logpath, sizeof logpath, "%s.planted.csv", p.out);
    if (make_dirs(&p) != 0 || !(p.log = fopen(logpath, "w"))) {
        fprintf(stderr, "make_corpus: cannot write under %s\n", p.out);
        return 1;
    }
    fprintf(p.log, "kind,original,planted\n");
    pthread_mutex_init(&p.log_lock, NULL);
    pthread_t tid[MAX_THREADS];
    long started = 0;
    for (long t = 1; t < jobs; t++, started++)
        if (pthread_create(&tid[t], NULL, run, &p) != 0)
            break;
    run(&p);
    for (long t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    fclose(p.log);
    size_t files = atomic_load(&p.written) + atomic_load(&p.planted_copies) +
                   atomic_load(&p.planted_reencodes);
    printf("make_corpus: %zu tiles from %zu photos, %zu planted copies, "
           "%zu planted re-encodings, %zu files in %s (%zu failed), "
           "%.1f s; planted list in %s\n",
           atomic_load(&p.written), p.nphotos, atomic_load(&p.planted_copies),
           atomic_load(&p.planted_reencodes), files, p.out,
           atomic_load(&p.failed), now() - t0, logpath);
    for (size_t i = 0; i < p.nphotos; i++) {
        free(p.photos[i].path);
        free(p.photos[i].label);
    }
    free(p.photos);
    return atomic_load(&p.failed) ? 1 : 0;
}
