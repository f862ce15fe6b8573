/*
 * mkdups: writes the duplicate fixtures, a tiny ImageFolder dataset
 * (train|val|test x cat|dog) whose every duplicate, leak and label
 * conflict is planted, from code: libjpeg (compress and decompress API)
 * and libpng only, a fixed-seed PRNG, the same files on every run.
 *
 *   mkdups OUTDIR
 *
 * Scenes look photographic enough for perceptual hashes to behave as on
 * photos: a smooth random background (low-frequency cosines and a
 * gradient), soft-edged ellipses and rectangles at random places and
 * colours, a striped patch, and sensor-like noise. Random placement makes
 * each scene asymmetric, so its mirror image is a different picture to
 * phash. The copies are made as tools make them: JPEG re-encoding, an
 * area-average resize, a crop, a PNG of the decoded JPEG pixels (equal
 * pixels, other bytes), an EXIF segment spliced into the JPEG bytes.
 *
 * The expected groups, leaks and conflicts are asserted by
 * tests/integration/test_duplicates.py; the list of files and what each
 * is for is in docs/duplicates.md ("Test fixtures").
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>

#define W 192
#define H 144

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_in(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

typedef struct img {
    int w, h;
    uint8_t *p;         /* RGB */
} img;

static void img_new(img *im, int w, int h)
{
    im->w = w;
    im->h = h;
    im->p = calloc((size_t)w * (size_t)h, 3);
    if (!im->p) {
        fprintf(stderr, "mkdups: out of memory\n");
        exit(1);
    }
}

static uint8_t clamp8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* ---- scenes ---------------------------------------------------------- */

typedef struct shape {
    double cx, cy, rx, ry, angle, soft;
    double col[3];
    int rect;
} shape;

/* Coverage of (x, y) by a shape: 1 inside, 0 outside, a smooth ramp of
 * width `soft` pixels across the edge (anti-aliased, like a photo). */
static double coverage(const shape *s, double x, double y)
{
    double dx = x - s->cx, dy = y - s->cy;
    double u = dx * cos(s->angle) + dy * sin(s->angle);
    double v = -dx * sin(s->angle) + dy * cos(s->angle);
    double d;
    if (s->rect) {
        double ex = fabs(u) - s->rx, ey = fabs(v) - s->ry;
        d = ex > ey ? ex : ey;
    } else {
        d = (sqrt((u * u) / (s->rx * s->rx) + (v * v) / (s->ry * s->ry)) -
             1.0) * (s->rx < s->ry ? s->rx : s->ry);
    }
    double t = 0.5 - d / s->soft;
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

static void background(rng *r, img *im)
{
    double base[3], grad[3][2], amp[2][3], fx[2], fy[2], ph[2];
    for (int c = 0; c < 3; c++) {
        base[c] = rng_in(r, 60, 190);
        grad[c][0] = rng_in(r, -60, 60);
        grad[c][1] = rng_in(r, -60, 60);
    }
    for (int k = 0; k < 2; k++) {
        fx[k] = rng_in(r, 0.5, 2.5);
        fy[k] = rng_in(r, 0.5, 2.5);
        ph[k] = rng_in(r, 0, 6.283);
        for (int c = 0; c < 3; c++)
            amp[k][c] = rng_in(r, -35, 35);
    }
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            double u = (double)x / im->w, v = (double)y / im->h;
            for (int c = 0; c < 3; c++) {
                double val = base[c] + grad[c][0] * (u - 0.5) +
                             grad[c][1] * (v - 0.5);
                for (int k = 0; k < 2; k++)
                    val += amp[k][c] *
                           cos(6.283 * (fx[k] * u + fy[k] * v) + ph[k]);
                im->p[((size_t)y * im->w + x) * 3 + c] = clamp8(val);
            }
        }
}

static void draw_shape(img *im, const shape *s)
{
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            double a = coverage(s, x + 0.5, y + 0.5);
            if (a <= 0)
                continue;
            uint8_t *p = im->p + ((size_t)y * im->w + x) * 3;
            /* shading across the shape, as light falls on an object */
            double shade = 1.0 + 0.25 * ((x - s->cx) / (s->rx + 1));
            for (int c = 0; c < 3; c++)
                p[c] = clamp8((1 - a) * p[c] + a * s->col[c] * shade);
        }
}

/* A striped patch: texture, the high frequencies a photo has. */
static void stripes(rng *r, img *im)
{
    int x0 = (int)rng_in(r, 0, im->w * 0.6), y0 = (int)rng_in(r, 0, im->h * 0.6);
    int w = (int)rng_in(r, im->w * 0.15, im->w * 0.35);
    int h = (int)rng_in(r, im->h * 0.15, im->h * 0.35);
    double period = rng_in(r, 3, 8), amp = rng_in(r, 20, 50);
    for (int y = y0; y < y0 + h && y < im->h; y++)
        for (int x = x0; x < x0 + w && x < im->w; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t *p = im->p + ((size_t)y * im->w + x) * 3 + c;
                *p = clamp8(*p + amp * sin(6.283 * (x + 0.5 * y) / period));
            }
}

static void scene(img *im, int w, int h, uint64_t seed)
{
    rng r = {seed * 0x1000193ULL + 7};
    img_new(im, w, h);
    background(&r, im);
    int n = 4 + (int)(rng_next(&r) % 4);
    for (int i = 0; i < n; i++) {
        shape s = {
            .cx = rng_in(&r, 0.1, 0.9) * w, .cy = rng_in(&r, 0.1, 0.9) * h,
            .rx = rng_in(&r, 0.06, 0.25) * w, .ry = rng_in(&r, 0.06, 0.3) * h,
            .angle = rng_in(&r, 0, 3.1416), .soft = rng_in(&r, 1.0, 3.0),
            .rect = (int)(rng_next(&r) % 2)};
        for (int c = 0; c < 3; c++)
            s.col[c] = rng_in(&r, 10, 245);
        draw_shape(im, &s);
    }
    stripes(&r, im);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
        im->p[i] = clamp8(im->p[i] + rng_in(&r, -4, 4));
}

/* ---- copies ---------------------------------------------------------- */

/* Area average along one axis: each output sample is the mean of the
 * input span it covers (fractional end weights). */
static void area_1d(const uint8_t *src, size_t sstride, int sn, uint8_t *dst,
                    size_t dstride, int dn)
{
    double scale = (double)sn / dn;
    for (int o = 0; o < dn; o++) {
        double a = o * scale, b = a + scale, sum[3] = {0, 0, 0};
        for (int i = (int)a; i < sn && i < b; i++) {
            double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
            for (int c = 0; c < 3; c++)
                sum[c] += (hi - lo) * src[(size_t)i * sstride + c];
        }
        for (int c = 0; c < 3; c++)
            dst[(size_t)o * dstride + c] = clamp8(sum[c] / scale);
    }
}

static void resize(const img *s, int w, int h, img *d)
{
    img t;
    img_new(&t, w, s->h);
    img_new(d, w, h);
    for (int y = 0; y < s->h; y++)
        area_1d(s->p + (size_t)y * s->w * 3, 3, s->w,
                t.p + (size_t)y * w * 3, 3, w);
    for (int x = 0; x < w; x++)
        area_1d(t.p + (size_t)x * 3, (size_t)w * 3, s->h,
                d->p + (size_t)x * 3, (size_t)w * 3, h);
    free(t.p);
}

static void crop(const img *s, int x0, int y0, int w, int h, img *d)
{
    img_new(d, w, h);
    for (int y = 0; y < h; y++)
        memcpy(d->p + (size_t)y * w * 3,
               s->p + ((size_t)(y + y0) * s->w + x0) * 3, (size_t)w * 3);
}

static void mirror(const img *s, img *d)
{
    img_new(d, s->w, s->h);
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++)
            memcpy(d->p + ((size_t)y * s->w + x) * 3,
                   s->p + ((size_t)y * s->w + (s->w - 1 - x)) * 3, 3);
}

static void fill(img *im, int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    img_new(im, w, h);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        im->p[3 * i] = r;
        im->p[3 * i + 1] = g;
        im->p[3 * i + 2] = b;
    }
}

/* ---- files ----------------------------------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void die(const char *what, const char *path)
{
    fprintf(stderr, "mkdups: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static void full_path(const char *root, const char *rel, char *out,
                      size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "mkdups: path too long: %s\n", rel);
        exit(1);
    }
    /* mkdir -p of the parents */
    for (char *p = out + strlen(root) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(out, 0755) != 0 && errno != EEXIST)
                die("cannot create", out);
            *p = '/';
        }
}

static void write_bytes(const char *root, const char *rel, const bytes *b)
{
    char path[4096];
    full_path(root, rel, path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->p, 1, b->n, f) != b->n || fclose(f) != 0)
        die("cannot write", path);
    printf("%s\n", rel);
}

static bytes jpeg_bytes(const img *im, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);   /* errors exit: a generator may */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = (JDIMENSION)im->w;
    c.image_height = (JDIMENSION)im->h;
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
    return (bytes){mem, len};
}

/* The pixels libjpeg decodes from b with its defaults (islow DCT, fancy
 * upsampling, RGB out): what imgaudit's decoder and Pillow see. */
static void jpeg_decode(const bytes *b, img *out)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, b->p, (unsigned long)b->n);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    img_new(out, (int)d.output_width, (int)d.output_height);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = out->p + (size_t)d.output_scanline * out->w * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
}

static void write_png(const char *root, const char *rel, const img *im)
{
    char path[4096];
    full_path(root, rel, path, sizeof path);
    FILE *f = fopen(path, "wb");
    if (!f)
        die("cannot write", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "mkdups: libpng failed on %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++)
        png_write_row(png, im->p + (size_t)y * im->w * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0)
        die("cannot write", path);
    printf("%s\n", rel);
}

static void write_jpeg(const char *root, const char *rel, const img *im,
                       int quality)
{
    bytes b = jpeg_bytes(im, quality);
    write_bytes(root, rel, &b);
    free(b.p);
}

/* The JPEG bytes with an APP1 EXIF segment (IFD0: Orientation 1, the
 * no-op value, and an ImageDescription) after SOI: other bytes, the same
 * pixels. */
static bytes with_exif(const bytes *jpg)
{
    static const uint8_t app1[] = {
        0xFF, 0xE1, 0x00, 0x3E, 'E', 'x', 'i', 'f', 0, 0,
        'I', 'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,      /* TIFF header */
        0x02, 0x00,                                        /* 2 entries */
        0x0E, 0x01, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00,    /* 0x010E ASCII */
        0x26, 0x00, 0x00, 0x00,                            /* at 38 */
        0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,    /* 0x0112 SHORT */
        0x01, 0x00, 0x00, 0x00,                            /* = 1 */
        0x00, 0x00, 0x00, 0x00,                            /* next IFD */
        'e', 'x', 'i', 'f', ' ', 'o', 'n', 'l', 'y', ' ',  /* 16 bytes */
        'c', 'h', 'a', 'n', 'g', 0};
    bytes out = {malloc(jpg->n + sizeof app1), jpg->n + sizeof app1};
    if (!out.p) {
        fprintf(stderr, "mkdups: out of memory\n");
        exit(1);
    }
    memcpy(out.p, jpg->p, 2);
    memcpy(out.p + 2, app1, sizeof app1);
    memcpy(out.p + 2 + sizeof app1, jpg->p + 2, jpg->n - 2);
    return out;
}

/* ---- the dataset ----------------------------------------------------- */

/* A scene written as JPEG q90 at rel; its pixels in *pixels (when
 * pixels is not NULL) and its bytes in *b (when b is not NULL). */
static void base(const char *root, const char *rel, uint64_t seed,
                 img *pixels, bytes *b)
{
    img s;
    scene(&s, W, H, seed);
    bytes j = jpeg_bytes(&s, 90);
    write_bytes(root, rel, &j);
    if (pixels)
        *pixels = s;
    else
        free(s.p);
    if (b)
        *b = j;
    else
        free(j.p);
}

/* Copies of one scene, each with its base: near (re-encoded, resized,
 * cropped), pixel (PNG of the decoded pixels, EXIF spliced in), none
 * (mirror). */
static void copies(const char *root)
{
    img s, t;
    bytes b;
    base(root, "train/cat/q_base.jpg", 1, &s, NULL);
    write_jpeg(root, "train/cat/q_base_q50.jpg", &s, 50);     /* near */
    free(s.p);
    base(root, "train/cat/half_base.jpg", 2, &s, NULL);
    resize(&s, W / 2, H / 2, &t);
    write_jpeg(root, "train/cat/half_base_half.jpg", &t, 90); /* near */
    free(s.p);
    free(t.p);
    base(root, "train/cat/png_base.jpg", 3, NULL, &b);
    jpeg_decode(&b, &t);
    write_png(root, "train/cat/png_base.png", &t);            /* pixel */
    free(t.p);
    free(b.p);
    base(root, "train/cat/exif_base.jpg", 4, NULL, &b);
    bytes e = with_exif(&b);
    write_bytes(root, "train/cat/exif_base_exif.jpg", &e);    /* pixel */
    free(e.p);
    free(b.p);
    base(root, "train/dog/crop_base.jpg", 5, &s, NULL);
    int cw = W * 2 / 100, ch = H * 2 / 100;
    crop(&s, cw / 2, ch / 2, W - cw, H - ch, &t);
    write_jpeg(root, "train/dog/crop_base_crop2.jpg", &t, 90);  /* near */
    free(s.p);
    free(t.p);
    base(root, "train/dog/mirror_base.jpg", 6, &s, NULL);
    mirror(&s, &t);
    write_jpeg(root, "train/dog/mirror_base_mirror.jpg", &t, 90); /* nothing */
    free(s.p);
    free(t.p);
    base(root, "train/dog/exact_base.jpg", 7, NULL, &b);
    write_bytes(root, "train/dog/exact_base_copy.jpg", &b);   /* exact */
    free(b.p);
}

/* Leaks from train into val and test, and label conflicts. */
static void leaks_and_conflicts(const char *root)
{
    img s, t;
    bytes b;
    base(root, "train/cat/leak_exact.jpg", 8, NULL, &b);
    write_bytes(root, "test/cat/leak_exact.jpg", &b);         /* exact leak */
    free(b.p);
    base(root, "train/dog/leak_pixel.jpg", 9, NULL, &b);
    jpeg_decode(&b, &t);
    write_png(root, "test/dog/leak_pixel.png", &t);           /* pixel leak */
    free(t.p);
    free(b.p);
    base(root, "train/dog/leak_near.jpg", 10, &s, NULL);
    write_jpeg(root, "val/dog/leak_near_q60.jpg", &s, 60);    /* near leak */
    free(s.p);
    base(root, "train/cat/leak_crop.jpg", 13, &s, NULL);
    /* a 3% crop: phash distance 4, near but beyond the same-photo radius
     * (src/analyze/analyze.h), so a warning where the others are errors */
    int cw = W * 3 / 100, ch = H * 3 / 100;
    crop(&s, cw / 2, ch / 2, W - cw, H - ch, &t);
    write_jpeg(root, "val/cat/leak_crop.jpg", &t, 90);        /* near leak */
    free(s.p);
    free(t.p);
    base(root, "train/cat/conflict_exact.jpg", 11, NULL, &b);
    write_bytes(root, "train/dog/conflict_exact.jpg", &b);    /* exact, 2 labels */
    free(b.p);
    base(root, "train/cat/conflict_near.jpg", 12, &s, NULL);
    write_jpeg(root, "train/dog/conflict_near_q75.jpg", &s, 75); /* near, 2 labels */
    free(s.p);
}

/* Unrelated scenes in every split and class: in no group. */
static void unrelated(const char *root)
{
    static const char *const dirs[] = {"train/cat", "train/dog", "val/cat",
                                       "val/dog", "test/cat", "test/dog"};
    uint64_t seed = 100;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++)
        for (int i = 0; i < 3; i++) {
            char rel[256];
            snprintf(rel, sizeof rel, "%s/other_%02d.jpg", dirs[d],
                     (int)(seed - 100));
            base(root, rel, seed++, NULL, NULL);
        }
}

/* Blank frames: flat images of different sizes and levels, several with
 * equal phash; uniform, so in no near group. Two byte-equal copies of one
 * make an exact group. */
static void blanks(const char *root)
{
    static const struct {
        const char *rel;
        int w, h;
        uint8_t r, g, b;
    } v[] = {
        {"train/cat/blank_gray_64x64.png", 64, 64, 128, 128, 128},
        {"train/cat/blank_gray_80x60.png", 80, 60, 128, 128, 128},
        {"train/dog/blank_gray_65x64.png", 65, 64, 128, 128, 128},
        {"val/cat/blank_gray_32x32.png", 32, 32, 127, 127, 127},
        {"test/cat/blank_gray_48x40.png", 48, 40, 129, 129, 129},
        {"train/dog/blank_black_50x50.png", 50, 50, 0, 0, 0},
        {"test/dog/blank_black_60x40.png", 60, 40, 0, 0, 0},
        {"train/cat/blank_white_40x40.png", 40, 40, 255, 255, 255},
        {"val/dog/blank_red_40x30.png", 40, 30, 200, 10, 10},
    };
    img im;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        fill(&im, v[i].w, v[i].h, v[i].r, v[i].g, v[i].b);
        write_png(root, v[i].rel, &im);
        free(im.p);
    }
    fill(&im, 50, 50, 0, 0, 0);
    write_png(root, "train/dog/blank_black_50x50_copy.png", &im);  /* exact */
    free(im.p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkdups OUTDIR\n");
        return 2;
    }
    const char *root = argv[1];
    if (mkdir(root, 0755) != 0 && errno != EEXIST)
        die("cannot create", root);
    copies(root);
    leaks_and_conflicts(root);
    unrelated(root);
    blanks(root);
    return 0;
}
