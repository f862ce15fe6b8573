/*
 * dup_eval: measures how well phash/dhash radii separate copies of a photo
 * from different photos, on real images, to choose the near-duplicate
 * defaults (docs/duplicates.md).
 *
 *   dup_eval DIR [-j N] [--limit N] [--labels CSV] [--pairs CSV]
 *                [--pair-max D] [--hashes CSV]
 *
 * Every JPEG/PNG under DIR (sorted paths) is decoded with imgaudit's own
 * decoders and hashed by its own measure sink (the pipeline of a scan).
 * From the decoded pixels it makes known copies, each encoded to bytes and
 * decoded + hashed again exactly as a scan would see the file:
 *
 *   positives   JPEG re-encode at quality 30, 50, 90; resize to 1/2 and to
 *               3/4 (area average, then JPEG q90); PNG re-save; crop 2%
 *               (centred) and 5% (left and top), JPEG q90; brightness +10
 *               levels, JPEG q90; the original bytes with an EXIF segment
 *               inserted (pixels untouched)
 *   negatives   horizontal mirror (JPEG q90); every pair of distinct real
 *               photos (different pixel_hash), all n(n-1)/2 by brute force
 *
 * Pairs of real photos are negatives unless the labels CSV (columns
 * a,b,same, paths relative to DIR; same, judged by eye: 1 the same photo,
 * 2 the same object in another photo, 0 different) says otherwise: same
 * photos count as positives, same objects are shown apart and left out of
 * precision and recall (no hash radius separates them from different
 * objects on the same background). --pairs writes every real pair with
 * phash or dhash distance <= --pair-max (default 12) for labelling;
 * --hashes writes the hashes of every image and copy.
 *
 * Output: the phash and dhash distance distribution of each kind of pair,
 * then recall, false positives and precision for each (phash radius,
 * dhash radius), a pair counting as a match when both distances are within
 * their radius (analyze.c's rule). Precision depends on the mix: here
 * about nine positives per photo against all n(n-1)/2 real pairs.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jpeglib.h>
#include <png.h>

#include "decode/decode.h"
#include "measure/hash.h"
#include "imgaudit.h"
#include "measure/measure.h"
#include "core/core.h"

enum {
    V_ORIG, V_Q30, V_Q50, V_Q90, V_HALF, V_3Q, V_PNG, V_CROP2, V_CROP5,
    V_BRIGHT, V_EXIF, V_MIRROR, NV
};
static const char *const VNAME[NV] = {
    "original", "jpeg q30", "jpeg q50", "jpeg q90", "resize 1/2",
    "resize 3/4", "png re-save", "crop 2%", "crop 5%", "bright +10",
    "exif only", "mirror"};
#define NPOS_FIRST V_Q30
#define NPOS_LAST V_EXIF   /* positives: V_Q30 .. V_EXIF */
#define MAXD 65

typedef struct img {
    uint32_t w, h;
    uint8_t *p;         /* RGB */
} img;

typedef struct photo {
    char *path;         /* relative to DIR */
    int ok[NV];
    uint8_t pixel_hash[NV][16];
    uint64_t phash[NV], dhash[NV];
} photo;

typedef struct worker {
    ia_jpeg_decoder *jd;
    ia_png_decoder *pd;
    ia_measure *m;
    img cap;            /* the decoded original */
    size_t cap_size;
    uint32_t rows;
} worker;

typedef struct job {
    const char *root;
    photo *ph;
    size_t n;
    atomic_size_t next;
} job;

/* ---- files ----------------------------------------------------------- */

typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

static int strv_add(strv *s, const char *x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x)))
        return -1;
    s->n++;
    return 0;
}

static int image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".jpeg") == 0 ||
                   strcasecmp(dot, ".png") == 0);
}

static int list_dir(const char *root, const char *rel, strv *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096], full[8192];
        int ls = snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "",
                          e->d_name);
        int lf = snprintf(full, sizeof full, "%s/%s", root, sub);
        struct stat st;
        if (ls < 0 || (size_t)ls >= sizeof sub || lf < 0 ||
            (size_t)lf >= sizeof full || stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = list_dir(root, sub, out);
        else if (S_ISREG(st.st_mode) && image_name(e->d_name))
            rc = strv_add(out, sub);
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_all(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *p = malloc(cap);
    while (p) {
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *q = realloc(p, cap *= 2);
        if (!q) {
            free(p);
            p = NULL;
        } else {
            p = q;
        }
    }
    fclose(f);
    if (!p)
        return -1;
    *out = p;
    *len = n;
    return 0;
}

/* ---- encoders -------------------------------------------------------- */

static int encode_jpeg(const img *im, int quality, uint8_t **out,
                       size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *mem = NULL;
    unsigned long mlen = 0;
    c.err = jpeg_std_error(&err);   /* errors exit: fine for a benchmark */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &mlen);
    c.image_width = im->w;
    c.image_height = im->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = im->p + (size_t)c.next_scanline * im->w * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = mem;
    *len = mlen;
    return 0;
}

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
} membuf;

static void png_write_cb(png_structp png, png_bytep data, size_t n)
{
    membuf *b = png_get_io_ptr(png);
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            png_error(png, "out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void png_flush_cb(png_structp png)
{
    (void)png;
}

static int encode_png(const img *im, uint8_t **out, size_t *len)
{
    membuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(b.p);
        return -1;
    }
    png_set_write_fn(png, &b, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, im->w, im->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_write_info(png, info);
    for (uint32_t y = 0; y < im->h; y++)
        png_write_row(png, im->p + (size_t)y * im->w * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = b.p;
    *len = b.n;
    return 0;
}

/* The original bytes with an APP1 EXIF segment (IFD0: Orientation 1, the
 * no-op value) right after SOI: another file, the same pixels. */
static int insert_exif(const uint8_t *jpg, size_t n, uint8_t **out,
                       size_t *len)
{
    static const uint8_t app1[] = {
        0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,
        'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,      /* TIFF header */
        0x01, 0x00,                                        /* 1 entry */
        0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,    /* 0x0112 SHORT */
        0x01, 0x00, 0x00, 0x00,                            /* = 1 */
        0x00, 0x00, 0x00, 0x00};                           /* next IFD */
    if (n < 2 || jpg[0] != 0xFF || jpg[1] != 0xD8)
        return -1;
    uint8_t *p = malloc(n + sizeof app1);
    if (!p)
        return -1;
    memcpy(p, jpg, 2);
    memcpy(p + 2, app1, sizeof app1);
    memcpy(p + 2 + sizeof app1, jpg + 2, n - 2);
    *out = p;
    *len = n + sizeof app1;
    return 0;
}

/* ---- pixel transforms (RGB) ------------------------------------------ */

static int img_alloc(img *im, uint32_t w, uint32_t h)
{
    im->w = w;
    im->h = h;
    im->p = malloc((size_t)w * h * 3);
    return im->p ? 0 : -1;
}

/* Area-average resampling along one axis (each output sample is the mean
 * of the input span it covers, with fractional end weights). */
static void area_1d(const uint8_t *src, size_t sstride, uint32_t sn,
                    uint8_t *dst, size_t dstride, uint32_t dn)
{
    double scale = (double)sn / dn;
    for (uint32_t o = 0; o < dn; o++) {
        double a = o * scale, b = a + scale, sum[3] = {0, 0, 0};
        for (uint32_t i = (uint32_t)a; i < sn && i < b; i++) {
            double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
            for (int c = 0; c < 3; c++)
                sum[c] += (hi - lo) * src[i * sstride + (size_t)c];
        }
        for (int c = 0; c < 3; c++)
            dst[o * dstride + (size_t)c] = (uint8_t)(sum[c] / scale + 0.5);
    }
}

static int resize(const img *s, uint32_t w, uint32_t h, img *d)
{
    img t;
    if (img_alloc(&t, w, s->h) || img_alloc(d, w, h)) {
        free(t.p);
        return -1;
    }
    for (uint32_t y = 0; y < s->h; y++)
        area_1d(s->p + (size_t)y * s->w * 3, 3, s->w,
                t.p + (size_t)y * w * 3, 3, w);
    for (uint32_t x = 0; x < w; x++)
        area_1d(t.p + (size_t)x * 3, (size_t)w * 3, s->h,
                d->p + (size_t)x * 3, (size_t)w * 3, h);
    free(t.p);
    return 0;
}

static int crop(const img *s, uint32_t x0, uint32_t y0, uint32_t w,
                uint32_t h, img *d)
{
    if (img_alloc(d, w, h))
        return -1;
    for (uint32_t y = 0; y < h; y++)
        memcpy(d->p + (size_t)y * w * 3,
               s->p + ((size_t)(y + y0) * s->w + x0) * 3, (size_t)w * 3);
    return 0;
}

static int brighten(const img *s, int delta, img *d)
{
    if (img_alloc(d, s->w, s->h))
        return -1;
    for (size_t i = 0; i < (size_t)s->w * s->h * 3; i++) {
        int v = s->p[i] + delta;
        d->p[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    return 0;
}

static int mirror(const img *s, img *d)
{
    if (img_alloc(d, s->w, s->h))
        return -1;
    for (uint32_t y = 0; y < s->h; y++)
        for (uint32_t x = 0; x < s->w; x++)
            memcpy(d->p + ((size_t)y * s->w + x) * 3,
                   s->p + ((size_t)y * s->w + (s->w - 1 - x)) * 3, 3);
    return 0;
}

/* ---- decode + hash, as a scan does ------------------------------------ */

/* Makes room for the RGB copy of a w x h image. */
static int capture_begin(worker *k, uint32_t w, uint32_t h)
{
    size_t need = (size_t)w * h * 3;
    if (need > k->cap_size) {
        uint8_t *p = realloc(k->cap.p, need);
        if (!p)
            return IA_ERR_NOMEM;
        k->cap.p = p;
        k->cap_size = need;
    }
    k->cap.w = w;
    k->cap.h = h;
    k->rows = 0;
    return IA_OK;
}

/* Captures the rows as RGB and forwards them to the measure sink. */
typedef struct tee {
    worker *k;
    ia_rowsink m;
    int channels;
} tee;

static int tee_begin_cb(void *ctx, uint32_t w, uint32_t h, int channels,
                        int bit_depth)
{
    tee *t = ctx;
    t->channels = channels;
    int rc = capture_begin(t->k, w, h);
    return rc ? rc : t->m.begin(t->m.ctx, w, h, channels, bit_depth);
}

static void tee_row_cb(void *ctx, const uint8_t *row)
{
    tee *t = ctx;
    worker *k = t->k;
    if (k->rows < k->cap.h) {
        uint8_t *d = k->cap.p + (size_t)k->rows * k->cap.w * 3;
        for (uint32_t x = 0; x < k->cap.w; x++) {
            const uint8_t *s = row + (size_t)x * (size_t)t->channels;
            int gray = t->channels < 3;
            d[3 * x] = s[0];
            d[3 * x + 1] = gray ? s[0] : s[1];
            d[3 * x + 2] = gray ? s[0] : s[2];
        }
        k->rows++;
    }
    t->m.row(t->m.ctx, row);
}

/* Decodes bytes with imgaudit's decoder and measure sink; capture: also
 * keep the RGB pixels in k->cap. 0 when the image decoded ok. */
static int hash_bytes(worker *k, const uint8_t *b, size_t n, int capture,
                      photo *ph, int v)
{
    ia_file_result *r = malloc(sizeof *r);  /* large for a thread stack */
    if (!r)
        return -1;
    ia_result_reset(r);
    ia_limits lim = {0};
    ia_limits_defaults(&lim, 0);
    tee t = {.k = k};
    ia_rowsink sink;
    ia_measure_sink(k->m, &t.m);
    sink = t.m;
    if (capture) {
        sink.ctx = &t;
        sink.begin = tee_begin_cb;
        sink.row = tee_row_cb;
    }
    int fmt = ia_sniff(b, n);
    int rc = fmt == IA_FMT_JPEG ? ia_decode_jpeg(k->jd, b, n, &lim, &sink, r)
           : fmt == IA_FMT_PNG ? ia_decode_png(k->pd, b, n, &lim, &sink, r)
                               : -1;
    if (rc == 0 && r->status == IA_ST_OK) {
        ia_measure_finish(k->m, r);
        if (r->have_measures) {
            ph->ok[v] = 1;
            ph->phash[v] = r->hashes.phash;
            ph->dhash[v] = r->hashes.dhash;
            memcpy(ph->pixel_hash[v], r->hashes.pixel_hash, 16);
        }
    }
    free(r);
    return ph->ok[v] ? 0 : -1;
}

static void hash_jpeg(worker *k, const img *im, int q, photo *ph, int v)
{
    uint8_t *b = NULL;
    size_t n = 0;
    if (encode_jpeg(im, q, &b, &n) == 0)
        hash_bytes(k, b, n, 0, ph, v);
    free(b);
}

static void hash_png(worker *k, const img *im, photo *ph, int v)
{
    uint8_t *b = NULL;
    size_t n = 0;
    if (encode_png(im, &b, &n) == 0)
        hash_bytes(k, b, n, 0, ph, v);
    free(b);
}

static uint32_t pct(uint32_t x, int percent)
{
    return (uint32_t)(((uint64_t)x * (uint64_t)percent + 50) / 100);
}

static void variants(worker *k, const uint8_t *bytes, size_t n, photo *ph)
{
    img o = k->cap, t = {0};
    hash_jpeg(k, &o, 30, ph, V_Q30);
    hash_jpeg(k, &o, 50, ph, V_Q50);
    hash_jpeg(k, &o, 90, ph, V_Q90);
    hash_png(k, &o, ph, V_PNG);
    if (resize(&o, o.w / 2, o.h / 2, &t) == 0)
        hash_jpeg(k, &t, 90, ph, V_HALF);
    free(t.p);
    if (resize(&o, pct(o.w, 75), pct(o.h, 75), &t) == 0)
        hash_jpeg(k, &t, 90, ph, V_3Q);
    free(t.p);
    uint32_t cw = pct(o.w, 2), chh = pct(o.h, 2);
    if (crop(&o, cw / 2, chh / 2, o.w - cw, o.h - chh, &t) == 0)
        hash_jpeg(k, &t, 90, ph, V_CROP2);
    free(t.p);
    cw = pct(o.w, 5);
    chh = pct(o.h, 5);
    if (crop(&o, cw, chh, o.w - cw, o.h - chh, &t) == 0)
        hash_jpeg(k, &t, 90, ph, V_CROP5);
    free(t.p);
    if (brighten(&o, 10, &t) == 0)
        hash_jpeg(k, &t, 90, ph, V_BRIGHT);
    free(t.p);
    if (mirror(&o, &t) == 0)
        hash_jpeg(k, &t, 90, ph, V_MIRROR);
    free(t.p);
    uint8_t *e = NULL;
    size_t en = 0;
    if (insert_exif(bytes, n, &e, &en) == 0)
        hash_bytes(k, e, en, 0, ph, V_EXIF);
    free(e);
}

static void *work(void *arg)
{
    job *j = arg;
    worker k = {0};
    if (ia_jpeg_decoder_new(&k.jd) || ia_png_decoder_new(&k.pd) ||
        ia_measure_new(&k.m))
        goto out;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            break;
        photo *ph = &j->ph[i];
        char path[4096];
        uint8_t *b = NULL;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/%s", j->root, ph->path);
        if (read_all(path, &b, &n) == 0 &&
            hash_bytes(&k, b, n, 1, ph, V_ORIG) == 0 &&
            k.rows == k.cap.h && k.cap.w >= 8 && k.cap.h >= 8)
            variants(&k, b, n, ph);
        free(b);
    }
out:
    ia_jpeg_decoder_free(k.jd);
    ia_png_decoder_free(k.pd);
    ia_measure_free(k.m);
    free(k.cap.p);
    return NULL;
}

/* ---- labels ---------------------------------------------------------- */

typedef struct label {
    size_t a, b;        /* photo indexes, a < b */
    int same;           /* 0 different, 1 same photo, 2 same object */
} label;

typedef struct labels {
    label *v;
    size_t n, cap;
} labels;

static long find_photo(const photo *ph, size_t n, const char *path)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ph[mid].path, path);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int load_labels(const char *file, const photo *ph, size_t n,
                       labels *out)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return -1;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *a = line, *b = strchr(a, ','), *s = b ? strchr(b + 1, ',') : 0;
        if (!s || line[0] == '#')
            continue;
        *b++ = 0;
        *s++ = 0;
        long ia = find_photo(ph, n, a), ib = find_photo(ph, n, b);
        if (ia < 0 || ib < 0 || *s < '0' || *s > '2')
            continue;   /* header, or a photo outside --limit */
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            label *v = realloc(out->v, cap * sizeof *v);
            if (!v)
                break;
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n++] = (label){(size_t)(ia < ib ? ia : ib),
                                   (size_t)(ia < ib ? ib : ia), *s - '0'};
    }
    fclose(f);
    return 0;
}

static int label_of(const labels *l, size_t a, size_t b)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].a == a && l->v[i].b == b)
            return l->v[i].same;
    return -1;
}

/* ---- statistics ------------------------------------------------------ */

/* Joint histograms of (phash distance, dhash distance). */
enum { H_NATURAL, H_NATSAME, H_NATOBJ, H_VAR0 };
#define NH (H_VAR0 + NV)

typedef struct hist {
    uint64_t c[MAXD][MAXD];
    uint64_t total;
} hist;

static void add(hist *h, uint64_t a1, uint64_t a2, uint64_t b1, uint64_t b2)
{
    h->c[ia_hamming64(a1, b1)][ia_hamming64(a2, b2)]++;
    h->total++;
}

static uint64_t within(const hist *h, int rp, int rd)
{
    uint64_t s = 0;
    for (int p = 0; p <= rp; p++)
        for (int d = 0; d <= rd; d++)
            s += h->c[p][d];
    return s;
}

static uint64_t marginal(const hist *h, int axis, int d)
{
    uint64_t s = 0;
    for (int x = 0; x < MAXD; x++)
        s += axis ? h->c[x][d] : h->c[d][x];
    return s;
}

static void natural_pairs(const photo *ph, size_t n, const labels *lb,
                          hist *hs, FILE *pairs, int pair_max)
{
    for (size_t i = 0; i < n; i++) {
        if (!ph[i].ok[V_ORIG])
            continue;
        for (size_t j = i + 1; j < n; j++) {
            if (!ph[j].ok[V_ORIG] ||
                memcmp(ph[i].pixel_hash[V_ORIG], ph[j].pixel_hash[V_ORIG],
                       16) == 0)
                continue;
            int dp = ia_hamming64(ph[i].phash[V_ORIG], ph[j].phash[V_ORIG]);
            int dd = ia_hamming64(ph[i].dhash[V_ORIG], ph[j].dhash[V_ORIG]);
            int same = (dp <= pair_max || dd <= pair_max) ?
                       label_of(lb, i, j) : -1;
            add(&hs[same == 1 ? H_NATSAME : same == 2 ? H_NATOBJ
                                                      : H_NATURAL],
                ph[i].phash[V_ORIG],
                ph[i].dhash[V_ORIG], ph[j].phash[V_ORIG],
                ph[j].dhash[V_ORIG]);
            if (pairs && (dp <= pair_max || dd <= pair_max))
                fprintf(pairs, "%s,%s,%d,%d,%d\n", ph[i].path, ph[j].path,
                        dp, dd, same);
        }
    }
}

static void copy_pairs(const photo *ph, size_t n, hist *hs)
{
    for (size_t i = 0; i < n; i++)
        for (int v = V_ORIG + 1; v < NV; v++)
            if (ph[i].ok[V_ORIG] && ph[i].ok[v])
                add(&hs[H_VAR0 + v], ph[i].phash[V_ORIG],
                    ph[i].dhash[V_ORIG], ph[i].phash[v], ph[i].dhash[v]);
}

/* ---- printing -------------------------------------------------------- */

#define SHOW_D 16

static void print_dist(const hist *hs, int axis)
{
    printf("\n%s distance: cumulative %% of pairs within d (copies), pairs "
           "at exactly d (real pairs)\n%-22s", axis ? "dhash" : "phash",
           "pairs");
    for (int d = 0; d <= SHOW_D; d++)
        printf(" %5d", d);
    printf("  %7s\n", "total");
    for (int v = V_ORIG + 1; v < NV; v++) {
        const hist *h = &hs[H_VAR0 + v];
        uint64_t cum = 0;
        printf("%-22s", VNAME[v]);
        for (int d = 0; d <= SHOW_D; d++) {
            cum += marginal(h, axis, d);
            printf(" %5.1f", h->total ? 100.0 * (double)cum /
                   (double)h->total : 0.0);
        }
        printf("  %7llu\n", (unsigned long long)h->total);
    }
    const char *nn[3] = {"real, same photo", "real, same object",
                         "real, different"};
    const hist *nh[3] = {&hs[H_NATSAME], &hs[H_NATOBJ], &hs[H_NATURAL]};
    for (int k = 0; k < 3; k++) {
        printf("%-22s", nn[k]);
        for (int d = 0; d <= SHOW_D; d++)
            printf(" %5llu", (unsigned long long)marginal(nh[k], axis, d));
        printf("  %7llu\n", (unsigned long long)nh[k]->total);
    }
}

static const int RP[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12};
static const int RD[] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 64};
#define NRP ((int)(sizeof RP / sizeof RP[0]))
#define NRD ((int)(sizeof RD / sizeof RD[0]))

typedef struct score {
    uint64_t tp, pos, fp_nat, fp_mirror;
} score;

static score score_at(const hist *hs, int rp, int rd)
{
    score s = {0};
    for (int v = NPOS_FIRST; v <= NPOS_LAST; v++) {
        s.tp += within(&hs[H_VAR0 + v], rp, rd);
        s.pos += hs[H_VAR0 + v].total;
    }
    s.tp += within(&hs[H_NATSAME], rp, rd);
    s.pos += hs[H_NATSAME].total;
    s.fp_nat = within(&hs[H_NATURAL], rp, rd);
    s.fp_mirror = within(&hs[H_VAR0 + V_MIRROR], rp, rd);
    return s;
}

static void print_grid(const hist *hs, const char *title, int what)
{
    printf("\n%s (rows: phash radius; columns: dhash radius, 64 = any)\n"
           "%6s", title, "p\\d");
    for (int b = 0; b < NRD; b++)
        printf(" %8d", RD[b]);
    printf("\n");
    for (int a = 0; a < NRP; a++) {
        printf("%6d", RP[a]);
        for (int b = 0; b < NRD; b++) {
            score s = score_at(hs, RP[a], RD[b]);
            double fp = (double)(s.fp_nat + s.fp_mirror);
            if (what == 0)
                printf(" %8.2f", s.pos ? 100.0 * (double)s.tp /
                       (double)s.pos : 0.0);
            else if (what == 1)
                printf(" %8llu", (unsigned long long)s.fp_nat);
            else if (what == 2)
                printf(" %8llu", (unsigned long long)s.fp_mirror);
            else
                printf(" %8.3f", s.tp ? 100.0 * (double)s.tp /
                       ((double)s.tp + fp) : 0.0);
        }
        printf("\n");
    }
}

static const int COMBO[][2] = {{2, 4}, {4, 6}, {4, 8}, {4, 10}, {4, 12},
                               {6, 8}, {6, 10}, {8, 10}, {8, 64}};
#define NCOMBO ((int)(sizeof COMBO / sizeof COMBO[0]))

static void pct_row(const char *name, const hist *const *h, int nh)
{
    printf("%-22s", name);
    for (int c = 0; c < NCOMBO; c++) {
        uint64_t w = 0, t = 0;
        for (int k = 0; k < nh; k++) {
            w += within(h[k], COMBO[c][0], COMBO[c][1]);
            t += h[k]->total;
        }
        printf(" %7.2f", t ? 100.0 * (double)w / (double)t : 0.0);
    }
    printf("\n");
}

static void count_row(const char *name, const hist *h)
{
    printf("%-22s", name);
    for (int c = 0; c < NCOMBO; c++)
        printf(" %7llu", (unsigned long long)within(h, COMBO[c][0],
                                                    COMBO[c][1]));
    printf("\n");
}

/* Recall per kind of copy, overall and without the 5% crops (beyond
 * what any radius separates from different photos), then the false
 * positives and the precision, at a few (phash, dhash) radii. */
static void print_per_variant(const hist *hs)
{
    const hist *all[NV + 1], *most[NV + 1];
    int na = 0, nm = 0;
    printf("\nrecall %% per kind of pair at phash/dhash radii (64: any)\n"
           "%-22s", "pairs");
    for (int c = 0; c < NCOMBO; c++)
        printf("   %2d/%-2d", COMBO[c][0], COMBO[c][1]);
    printf("\n");
    for (int v = NPOS_FIRST; v <= NPOS_LAST; v++) {
        const hist *h = &hs[H_VAR0 + v];
        pct_row(VNAME[v], &h, 1);
        all[na++] = h;
        if (v != V_CROP5)
            most[nm++] = h;
    }
    const hist *same = &hs[H_NATSAME], *obj = &hs[H_NATOBJ];
    pct_row("real, same photo", &same, 1);
    all[na++] = most[nm++] = same;
    pct_row("all positives", all, na);
    pct_row("all but crop 5%", most, nm);
    pct_row("real, same object", &obj, 1);
    printf("false positives (pairs):\n");
    count_row("real, different", &hs[H_NATURAL]);
    count_row("mirror", &hs[H_VAR0 + V_MIRROR]);
    printf("%-22s", "precision %");
    for (int c = 0; c < NCOMBO; c++) {
        score sc = score_at(hs, COMBO[c][0], COMBO[c][1]);
        double fp = (double)(sc.fp_nat + sc.fp_mirror);
        printf(" %7.3f", sc.tp ? 100.0 * (double)sc.tp /
               ((double)sc.tp + fp) : 0.0);
    }
    printf("\n");
}

static void write_hashes(FILE *f, const photo *ph, size_t n)
{
    fprintf(f, "path,variant,phash,dhash\n");
    for (size_t i = 0; i < n; i++)
        for (int v = 0; v < NV; v++)
            if (ph[i].ok[v])
                fprintf(f, "%s,%s,%016llx,%016llx\n", ph[i].path, VNAME[v],
                        (unsigned long long)ph[i].phash[v],
                        (unsigned long long)ph[i].dhash[v]);
}

/* ---- main ------------------------------------------------------------ */

typedef struct args {
    const char *root, *labels, *pairs, *hashes;
    size_t limit;
    unsigned threads;
    int pair_max;
} args;

static int parse(int argc, char **argv, args *a)
{
    *a = (args){.threads = 2, .pair_max = 12};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "-j") == 0 && v)
            a->threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(o, "--limit") == 0 && v)
            a->limit = strtoull(argv[++i], NULL, 10);
        else if (strcmp(o, "--labels") == 0 && v)
            a->labels = argv[++i];
        else if (strcmp(o, "--pairs") == 0 && v)
            a->pairs = argv[++i];
        else if (strcmp(o, "--hashes") == 0 && v)
            a->hashes = argv[++i];
        else if (strcmp(o, "--pair-max") == 0 && v)
            a->pair_max = (int)strtol(argv[++i], NULL, 10);
        else if (o[0] != '-' && !a->root)
            a->root = o;
        else
            return -1;
    }
    if (!a->threads || a->threads > 64)
        a->threads = 2;
    return a->root ? 0 : -1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void report(const args *a, const photo *ph, size_t n)
{
    labels lb = {0};
    hist *hs = calloc(NH, sizeof *hs);
    if (!hs)
        return;
    if (a->labels && load_labels(a->labels, ph, n, &lb) != 0)
        fprintf(stderr, "dup_eval: cannot read %s\n", a->labels);
    FILE *pairs = a->pairs ? fopen(a->pairs, "w") : NULL;
    if (pairs)
        fprintf(pairs, "a,b,phash_distance,dhash_distance,same\n");
    natural_pairs(ph, n, &lb, hs, pairs, a->pair_max);
    if (pairs)
        fclose(pairs);
    copy_pairs(ph, n, hs);
    printf("labelled real pairs: %zu\n", lb.n);
    print_dist(hs, 0);
    print_dist(hs, 1);
    print_grid(hs, "recall % (copies and real same-photo pairs)", 0);
    print_grid(hs, "false positives among real pairs of different photos",
               1);
    print_grid(hs, "false positives among mirror pairs", 2);
    print_grid(hs, "precision %", 3);
    print_per_variant(hs);
    free(lb.v);
    free(hs);
}

int main(int argc, char **argv)
{
    args a;
    strv files = {0};
    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: dup_eval DIR [-j N] [--limit N] "
                "[--labels CSV] [--pairs CSV] [--pair-max D] "
                "[--hashes CSV]\n");
        return 2;
    }
    if (list_dir(a.root, "", &files) != 0 || files.n == 0) {
        fprintf(stderr, "dup_eval: no images under %s\n", a.root);
        return 1;
    }
    qsort(files.v, files.n, sizeof *files.v, cmp_str);
    size_t n = a.limit && a.limit < files.n ? a.limit : files.n;
    photo *ph = calloc(n, sizeof *ph);
    pthread_t th[64];
    if (!ph)
        return 1;
    for (size_t i = 0; i < n; i++)
        ph[i].path = files.v[i];
    job j = {.root = a.root, .ph = ph, .n = n};
    atomic_init(&j.next, 0);
    double t0 = now();
    for (unsigned t = 0; t < a.threads; t++)
        pthread_create(&th[t], NULL, work, &j);
    for (unsigned t = 0; t < a.threads; t++)
        pthread_join(th[t], NULL);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += ph[i].ok[V_ORIG];
    printf("dup_eval: %zu images (%zu decoded) under %s, %u threads, "
           "%.1f s\n", n, ok, a.root, a.threads, now() - t0);
    report(&a, ph, n);
    if (a.hashes) {
        FILE *f = fopen(a.hashes, "w");
        if (f) {
            write_hashes(f, ph, n);
            fclose(f);
        }
    }
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    free(ph);
    return 0;
}
