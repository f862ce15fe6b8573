/*
 * mkfixtures: writes the test fixtures from code, byte for byte the same on
 * every run, with libjpeg (compress API), libpng (writer) and zlib only, so
 * no fixture depends on an external tool or a checked-in binary nobody can
 * regenerate.
 *
 *   mkfixtures OUTDIR           the fixture tree (tests/fixtures.csv holds
 *                               the verdict imgaudit must give each file)
 *   mkfixtures --sample OUTDIR  the bundled sample dataset (fixtures/sample)
 *   mkfixtures --verify OUTDIR  re-checks an existing fixture tree
 *
 * Every JPEG and PNG written is decoded again here with libjpeg/libpng
 * directly (an oracle independent of imgaudit's decoders): a fixture meant
 * to be truncated must end in libjpeg's "premature end" warning, a corrupt
 * one must draw a corrupt-data warning and no end-of-file warning, a good
 * one must decode with no warning at all, and header facts (components,
 * progressive, Adobe marker, EXIF orientation, bit depth, alpha, Adam7,
 * acTL) must be what the fixture claims. A fixture that drifts from its
 * purpose (e.g. after a library update) fails the generator loudly instead
 * of silently weakening the tests.
 *
 * Images are drawn from a fixed-seed PRNG (splitmix64), never from time or
 * addresses. Sizes are small constants, so size products cannot overflow.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <zlib.h>

/* ---- PRNG and byte buffers ------------------------------------------- */

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

/* Uniform in [lo, hi]. */
static int rng_range(rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static int buf_append(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
    return 0;
}

static void buf_free(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* ---- Images and drawing ---------------------------------------------- */

/* 8-bit interleaved pixels, 1 to 4 channels. */
typedef struct image {
    int w, h, ch;
    uint8_t *px;
} image;

static int image_new(image *im, int w, int h, int ch)
{
    im->w = w;
    im->h = h;
    im->ch = ch;
    im->px = calloc((size_t)w * (size_t)h, (size_t)ch);
    return im->px ? 0 : -1;
}

static void image_free(image *im)
{
    free(im->px);
    im->px = NULL;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Pillow's convert("L"), the luma the project's docs use. */
static uint8_t luma(const uint8_t *rgb)
{
    return (uint8_t)((19595u * rgb[0] + 38470u * rgb[1] + 7471u * rgb[2] +
                      0x8000u) >> 16);
}

static void set_px(image *im, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= im->w || y >= im->h)
        return;
    memcpy(im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3, c, 3);
}

static void paint_gradient(image *im, const uint8_t a[3], const uint8_t b[3],
                           int vertical)
{
    int span = (vertical ? im->h : im->w) - 1;
    for (int y = 0; y < im->h; y++) {
        for (int x = 0; x < im->w; x++) {
            int t = vertical ? y : x;
            uint8_t c[3];
            for (int k = 0; k < 3; k++)
                c[k] = (uint8_t)((a[k] * (span - t) + b[k] * t) / span);
            set_px(im, x, y, c);
        }
    }
}

static void paint_rect(image *im, int x0, int y0, int x1, int y1,
                       const uint8_t c[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            set_px(im, x, y, c);
}

static void paint_ellipse(image *im, int cx, int cy, int rx, int ry,
                          const uint8_t c[3])
{
    if (rx < 1 || ry < 1)
        return;
    long rr = (long)rx * rx * ry * ry;
    for (int y = cy - ry; y <= cy + ry; y++) {
        for (int x = cx - rx; x <= cx + rx; x++) {
            long dx = x - cx, dy = y - cy;
            if (dx * dx * ry * ry + dy * dy * rx * rx <= rr)
                set_px(im, x, y, c);
        }
    }
}

static long edge(int ax, int ay, int bx, int by, int px, int py)
{
    return (long)(bx - ax) * (py - ay) - (long)(by - ay) * (px - ax);
}

static void paint_triangle(image *im, const int v[6], const uint8_t c[3])
{
    for (int y = 0; y < im->h; y++) {
        for (int x = 0; x < im->w; x++) {
            long e0 = edge(v[0], v[1], v[2], v[3], x, y);
            long e1 = edge(v[2], v[3], v[4], v[5], x, y);
            long e2 = edge(v[4], v[5], v[0], v[1], x, y);
            if ((e0 >= 0 && e1 >= 0 && e2 >= 0) ||
                (e0 <= 0 && e1 <= 0 && e2 <= 0))
                set_px(im, x, y, c);
        }
    }
}

static void paint_noise(image *im, rng *r, int amp)
{
    size_t n = (size_t)im->w * (size_t)im->h * 3;
    for (size_t i = 0; i < n; i++)
        im->px[i] = clamp8(im->px[i] + rng_range(r, -amp, amp));
}

static void random_color(rng *r, uint8_t c[3])
{
    for (int k = 0; k < 3; k++)
        c[k] = (uint8_t)rng_range(r, 20, 235);
}

/* A gradient, a few random shapes and some noise: varied enough that no two
 * seeds look alike to a perceptual hash. */
static void scene_abstract(image *im, uint64_t seed, int noise)
{
    rng r = {seed * 7919u + 1};
    uint8_t a[3], b[3], c[3];
    random_color(&r, a);
    random_color(&r, b);
    paint_gradient(im, a, b, rng_range(&r, 0, 1));
    int shapes = rng_range(&r, 3, 5);
    for (int i = 0; i < shapes; i++) {
        random_color(&r, c);
        int x = rng_range(&r, 0, im->w - 1), y = rng_range(&r, 0, im->h - 1);
        int rx = rng_range(&r, im->w / 10 + 1, im->w / 3);
        int ry = rng_range(&r, im->h / 10 + 1, im->h / 3);
        int kind = rng_range(&r, 0, 2);
        if (kind == 0) {
            paint_ellipse(im, x, y, rx, ry, c);
        } else if (kind == 1) {
            paint_rect(im, x - rx, y - ry, x + rx, y + ry, c);
        } else {
            int v[6] = {x, y - ry, x - rx, y + ry, x + rx, y + ry};
            paint_triangle(im, v, c);
        }
    }
    paint_noise(im, &r, noise);
}

/* ---- JPEG writer ----------------------------------------------------- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c)
{
    longjmp(((jerr *)(void *)c->err)->jb, 1);
}

static void jerr_quiet(j_common_ptr c)
{
    (void)c;
}

typedef struct jpeg_opts {
    int quality;
    int progressive;
    J_COLOR_SPACE space;      /* JCS_RGB, JCS_GRAYSCALE or JCS_CMYK */
    const uint8_t *app1;      /* EXIF payload, or NULL */
    size_t app1_len;
    int no_jfif;
} jpeg_opts;

/* One input row in the target space. CMYK is written the way Photoshop
 * does (Adobe marker, inverted inks), which Pillow and libvips undo. */
static void jpeg_row(const image *im, int y, J_COLOR_SPACE space,
                     uint8_t *row)
{
    const uint8_t *src = im->px + (size_t)y * (size_t)im->w * 3;
    for (int x = 0; x < im->w; x++, src += 3) {
        if (space == JCS_GRAYSCALE) {
            row[x] = luma(src);
        } else if (space == JCS_CMYK) {
            memcpy(row + 4 * x, src, 3);
            row[4 * x + 3] = 255;
        } else {
            memcpy(row + 3 * x, src, 3);
        }
    }
}

static void jpeg_body(struct jpeg_compress_struct *c, const image *im,
                      const jpeg_opts *o, uint8_t *row)
{
    c->image_width = (JDIMENSION)im->w;
    c->image_height = (JDIMENSION)im->h;
    c->in_color_space = o->space;
    c->input_components = o->space == JCS_GRAYSCALE ? 1
                          : o->space == JCS_CMYK    ? 4
                                                    : 3;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, o->quality, TRUE);
    if (o->progressive)
        jpeg_simple_progression(c);
    if (o->no_jfif)
        c->write_JFIF_header = FALSE;
    jpeg_start_compress(c, TRUE);
    if (o->app1)
        jpeg_write_marker(c, JPEG_APP0 + 1, o->app1,
                          (unsigned)o->app1_len);
    for (int y = 0; y < im->h; y++) {
        JSAMPROW rp = row;
        jpeg_row(im, y, o->space, row);
        jpeg_write_scanlines(c, &rp, 1);
    }
    jpeg_finish_compress(c);
}

static int jpeg_run(struct jpeg_compress_struct *c, jerr *e, const image *im,
                    const jpeg_opts *o, uint8_t *row, unsigned char **mem,
                    unsigned long *memlen)
{
    if (setjmp(e->jb))
        return -1;
    jpeg_create_compress(c);
    jpeg_mem_dest(c, mem, memlen);
    jpeg_body(c, im, o, row);
    return 0;
}

static int encode_jpeg(const image *im, const jpeg_opts *o, buf *out)
{
    struct jpeg_compress_struct c;
    jerr e;
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    int rc = -1;
    uint8_t *row = malloc((size_t)im->w * 4);

    memset(&c, 0, sizeof c);
    if (!row)
        goto out;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.output_message = jerr_quiet;
    if (jpeg_run(&c, &e, im, o, row, &mem, &memlen) != 0)
        goto out;
    rc = buf_append(out, mem, memlen);
out:
    jpeg_destroy_compress(&c);
    free(mem);
    free(row);
    return rc;
}

/* A scene of the given seed as a JPEG. */
static int jpeg_scene(buf *out, int w, int h, uint64_t seed, int noise,
                      const jpeg_opts *o)
{
    image im;
    if (image_new(&im, w, h, 3) != 0)
        return -1;
    scene_abstract(&im, seed, noise);
    int rc = encode_jpeg(&im, o, out);
    image_free(&im);
    return rc;
}

/* ---- PNG writer ------------------------------------------------------ */

typedef struct png_job {
    const uint8_t *px;   /* rows already in the file's sample layout */
    int w, h;
    int color_type, bit_depth, interlace;
    const png_color *pal;
    int npal;
    buf *out;
    png_bytep *rows;
} png_job;

static void png_write_cb(png_structp p, png_bytep d, size_t n)
{
    if (buf_append(png_get_io_ptr(p), d, n) != 0)
        png_error(p, "out of memory");
}

static void png_flush_cb(png_structp p)
{
    (void)p;
}

static size_t png_rowbytes_of(const png_job *j)
{
    int ch = j->color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4
             : j->color_type == PNG_COLOR_TYPE_RGB     ? 3
                                                       : 1;
    return (size_t)j->w * (size_t)ch * (size_t)(j->bit_depth / 8);
}

static void png_body(png_structp p, png_infop info, const png_job *j)
{
    png_set_write_fn(p, j->out, png_write_cb, png_flush_cb);
    png_set_IHDR(p, info, (png_uint_32)j->w, (png_uint_32)j->h,
                 j->bit_depth, j->color_type,
                 j->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (j->pal)
        png_set_PLTE(p, info, j->pal, j->npal);
    png_set_compression_level(p, 9);
    png_write_info(p, info);
    png_write_image(p, j->rows);
    png_write_end(p, info);
}

static int png_run(png_structp p, png_infop info, const png_job *j)
{
    if (setjmp(png_jmpbuf(p)))
        return -1;
    png_body(p, info, j);
    return 0;
}

static int encode_png(const png_job *job)
{
    png_job j = *job;
    png_structp p = NULL;
    png_infop info = NULL;
    size_t rb = png_rowbytes_of(&j);
    int rc = -1;

    j.rows = malloc(sizeof *j.rows * (size_t)j.h);
    if (!j.rows)
        goto out;
    for (int y = 0; y < j.h; y++)
        j.rows[y] = (png_bytep)(uintptr_t)(j.px + rb * (size_t)y);
    p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!p)
        goto out;
    info = png_create_info_struct(p);
    if (!info)
        goto out;
    rc = png_run(p, info, &j);
out:
    png_destroy_write_struct(&p, &info);
    free(j.rows);
    return rc;
}

/* Converts an RGB image to the sample layout of a PNG color type and bit
 * depth (gray: luma; 16-bit: the 8-bit value as high byte and a pattern in
 * the low byte, so the file really carries 16 bits). */
static uint8_t *png_samples(const image *im, int color_type, int bit_depth)
{
    int ch = color_type == PNG_COLOR_TYPE_GRAY ? 1 : 3;
    int bps = bit_depth / 8;
    uint8_t *d = malloc((size_t)im->w * (size_t)im->h * (size_t)(ch * bps));
    if (!d)
        return NULL;
    uint8_t *o = d;
    for (int y = 0; y < im->h; y++) {
        for (int x = 0; x < im->w; x++) {
            const uint8_t *s = im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
            uint8_t v[3] = {s[0], s[1], s[2]};
            if (ch == 1)
                v[0] = luma(s);
            for (int k = 0; k < ch; k++) {
                *o++ = v[k];
                if (bps == 2)
                    *o++ = (uint8_t)(x * 31 + y * 17 + k * 7);
            }
        }
    }
    return d;
}

/* A scene of the given seed as a gray, RGB or 16-bit RGB PNG. */
static int png_scene(buf *out, int w, int h, uint64_t seed, int noise,
                     int color_type, int bit_depth, int interlace)
{
    image im;
    uint8_t *px = NULL;
    int rc = -1;
    if (image_new(&im, w, h, 3) != 0)
        return -1;
    scene_abstract(&im, seed, noise);
    px = png_samples(&im, color_type, bit_depth);
    if (px) {
        png_job j = {px, w, h, color_type, bit_depth, interlace, NULL, 0,
                     out, NULL};
        rc = encode_png(&j);
    }
    free(px);
    image_free(&im);
    return rc;
}

/* ---- PNG chunk surgery ----------------------------------------------- */

typedef struct chunk {
    size_t off;          /* of the length field */
    uint32_t len;
    const uint8_t *type;
    const uint8_t *data;
} chunk;

/* The chunk at *pos (starting after the signature); advances *pos. */
static int png_next_chunk(const buf *b, size_t *pos, chunk *c)
{
    if (*pos < 8)
        *pos = 8;
    if (b->n - *pos < 12)
        return 0;
    c->off = *pos;
    c->len = get_be32(b->p + *pos);
    if (c->len > b->n - *pos - 12)
        return 0;
    c->type = b->p + *pos + 4;
    c->data = b->p + *pos + 8;
    *pos += 12 + (size_t)c->len;
    return 1;
}

static int png_find_chunk(const buf *b, const char *type, chunk *c)
{
    size_t pos = 8;
    while (png_next_chunk(b, &pos, c))
        if (memcmp(c->type, type, 4) == 0)
            return 1;
    return 0;
}

static int put_chunk(buf *out, const char *type, const uint8_t *data,
                     uint32_t len)
{
    uint8_t hdr[8], crc[4];
    put_be32(hdr, len);
    memcpy(hdr + 4, type, 4);
    uLong c = crc32(0L, hdr + 4, 4);
    if (len)
        c = crc32(c, data, len);
    put_be32(crc, (uint32_t)c);
    if (buf_append(out, hdr, 8) || buf_append(out, data, len) ||
        buf_append(out, crc, 4))
        return -1;
    return 0;
}

/* Recomputes the CRC of a chunk edited in place. */
static void fix_crc(buf *b, const chunk *c)
{
    uLong v = crc32(0L, b->p + c->off + 4, 4 + c->len);
    put_be32(b->p + c->off + 8 + c->len, (uint32_t)v);
}

/* ---- JPEG fixtures --------------------------------------------------- */

static int fx_jpeg_baseline(buf *out)
{
    jpeg_opts o = {75, 0, JCS_RGB, NULL, 0, 0};
    return jpeg_scene(out, 64, 48, 1, 6, &o);
}

static int fx_jpeg_progressive(buf *out)
{
    jpeg_opts o = {80, 1, JCS_RGB, NULL, 0, 0};
    return jpeg_scene(out, 64, 48, 2, 6, &o);
}

static int fx_jpeg_gray(buf *out)
{
    jpeg_opts o = {80, 0, JCS_GRAYSCALE, NULL, 0, 0};
    return jpeg_scene(out, 48, 32, 3, 6, &o);
}

static int fx_jpeg_cmyk(buf *out)
{
    jpeg_opts o = {80, 0, JCS_CMYK, NULL, 0, 0};
    return jpeg_scene(out, 48, 32, 4, 6, &o);
}

/* A minimal big-endian EXIF block: IFD0 with one entry, Orientation = 6
 * (the camera was turned 90 degrees clockwise; viewers rotate). */
static const uint8_t exif_orientation6[] = {
    'E', 'x', 'i', 'f', 0, 0,
    'M', 'M', 0, 42, 0, 0, 0, 8,         /* TIFF header, IFD0 at 8 */
    0, 1,                                /* one entry */
    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, /* 0x0112 SHORT x1 = 6 */
    0, 0, 0, 0,                          /* no next IFD */
};

static int fx_jpeg_exif6(buf *out)
{
    jpeg_opts o = {80, 0, JCS_RGB, exif_orientation6,
                   sizeof exif_orientation6, 1};
    return jpeg_scene(out, 64, 48, 5, 6, &o);
}

static int fx_jpeg_q30(buf *out)
{
    jpeg_opts o = {30, 0, JCS_RGB, NULL, 0, 0};
    return jpeg_scene(out, 64, 48, 6, 6, &o);
}

static int fx_jpeg_q95(buf *out)
{
    jpeg_opts o = {95, 0, JCS_RGB, NULL, 0, 0};
    return jpeg_scene(out, 64, 48, 6, 6, &o);
}

static int fx_jpeg_special_name(buf *out)
{
    jpeg_opts o = {80, 0, JCS_RGB, NULL, 0, 0};
    return jpeg_scene(out, 48, 32, 9, 6, &o);
}

/* The source of the truncated and corrupt JPEGs: noisy, so most of the file
 * is entropy-coded data and a cut at 50% lands well inside it. */
static int jpeg_victim(buf *out, uint64_t seed)
{
    jpeg_opts o = {85, 0, JCS_RGB, NULL, 0, 0};
    return jpeg_scene(out, 96, 64, seed, 24, &o);
}

static int fx_jpeg_trunc(buf *out, unsigned percent)
{
    if (jpeg_victim(out, 7) != 0)
        return -1;
    out->n = out->n * percent / 100;
    return 0;
}

static int fx_jpeg_trunc50(buf *out)
{
    return fx_jpeg_trunc(out, 50);
}

static int fx_jpeg_trunc95(buf *out)
{
    return fx_jpeg_trunc(out, 95);
}

/* Offset of the first entropy-coded byte (after the SOS segment), or 0. */
static size_t jpeg_scan_start(const buf *b)
{
    size_t pos = 2;
    while (pos + 4 <= b->n && b->p[pos] == 0xFF) {
        unsigned marker = b->p[pos + 1];
        size_t seglen = (size_t)b->p[pos + 2] << 8 | b->p[pos + 3];
        pos += 2 + seglen;
        if (marker == 0xDA)
            return pos;
    }
    return 0;
}

/* Bit rot in the entropy-coded data: six bytes in the middle of the scan
 * become FF 00 FF 00 FF 00, i.e. 24 one-bits after unstuffing. No JPEG
 * Huffman table has an all-ones code, so libjpeg is certain to warn "bad
 * Huffman code" (a corrupt-data warning), while the file still ends with
 * its EOI so nothing looks truncated. */
static int fx_jpeg_corrupt(buf *out)
{
    static const uint8_t ones[6] = {0xFF, 0, 0xFF, 0, 0xFF, 0};
    if (jpeg_victim(out, 8) != 0)
        return -1;
    size_t start = jpeg_scan_start(out);
    if (start == 0 || out->n < start + 64)
        return -1;
    size_t pos = start + (out->n - 2 - start) * 2 / 5;
    while (out->p[pos - 1] == 0xFF)
        pos++;
    memcpy(out->p + pos, ones, sizeof ones);
    return 0;
}

/* ---- PNG fixtures ---------------------------------------------------- */

static int fx_png_rgb8(buf *out)
{
    return png_scene(out, 48, 32, 10, 4, PNG_COLOR_TYPE_RGB, 8, 0);
}

static int fx_png_rgb16(buf *out)
{
    return png_scene(out, 32, 24, 11, 4, PNG_COLOR_TYPE_RGB, 16, 0);
}

static int fx_png_gray8(buf *out)
{
    return png_scene(out, 48, 32, 12, 4, PNG_COLOR_TYPE_GRAY, 8, 0);
}

static int fx_png_adam7(buf *out)
{
    return png_scene(out, 48, 32, 14, 4, PNG_COLOR_TYPE_RGB, 8, 1);
}

static int fx_png_wrong_ext(buf *out)
{
    return png_scene(out, 40, 30, 20, 4, PNG_COLOR_TYPE_RGB, 8, 0);
}

/* Sixteen colors in diagonal stripes and squares: a true palette image. */
static int fx_png_palette(buf *out)
{
    png_color pal[16];
    uint8_t idx[48 * 32];
    for (int i = 0; i < 16; i++) {
        pal[i].red = (png_byte)(i * 16);
        pal[i].green = (png_byte)(255 - i * 13);
        pal[i].blue = (png_byte)((i * 97) & 0xFF);
    }
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 48; x++)
            idx[y * 48 + x] = (uint8_t)(((x + y) / 4 + (x / 12) * 3) % 16);
    png_job j = {idx, 48, 32, PNG_COLOR_TYPE_PALETTE, 8, 0, pal, 16, out,
                 NULL};
    return encode_png(&j);
}

/* RGBA whose alpha falls from opaque at the centre to fully transparent
 * in the corners. */
static int fx_png_rgba(buf *out)
{
    image im;
    uint8_t *px = NULL;
    int rc = -1;
    if (image_new(&im, 48, 32, 3) != 0)
        return -1;
    scene_abstract(&im, 13, 4);
    px = malloc(48 * 32 * 4);
    if (px) {
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 48; x++) {
                uint8_t *d = px + (y * 48 + x) * 4;
                int dx = x - 24, dy = (y - 16) * 3 / 2;
                memcpy(d, im.px + (y * 48 + x) * 3, 3);
                d[3] = clamp8(255 - (dx * dx + dy * dy) * 255 / 1100);
            }
        }
        png_job j = {px, 48, 32, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, NULL, 0,
                     out, NULL};
        rc = encode_png(&j);
    }
    free(px);
    image_free(&im);
    return rc;
}

static void fctl_data(uint8_t d[26], uint32_t seq, uint32_t w, uint32_t h)
{
    memset(d, 0, 26);
    put_be32(d, seq);
    put_be32(d + 4, w);
    put_be32(d + 8, h);
    put_be16(d + 20, 1);   /* delay 1/2 s */
    put_be16(d + 22, 2);
}

/* Copies every chunk of src from *pos up to (not including) the first
 * chunk of type stop. */
static int copy_chunks_until(buf *out, const buf *src, size_t *pos,
                             const char *stop)
{
    chunk c;
    size_t p = *pos;
    while (png_next_chunk(src, &p, &c) && memcmp(c.type, stop, 4) != 0) {
        if (buf_append(out, src->p + c.off, 12 + (size_t)c.len) != 0)
            return -1;
        *pos = p;
    }
    return 0;
}

/* Frame 2's IDAT data as fdAT chunks (sequence number first). */
static int put_fdat(buf *out, const buf *frame2, uint32_t *seq)
{
    chunk c;
    size_t p = 8;
    buf d = {0};
    int rc = 0;
    while (rc == 0 && png_next_chunk(frame2, &p, &c)) {
        if (memcmp(c.type, "IDAT", 4) != 0)
            continue;
        uint8_t s[4];
        put_be32(s, (*seq)++);
        d.n = 0;
        rc = buf_append(&d, s, 4) || buf_append(&d, c.data, c.len) ||
             put_chunk(out, "fdAT", d.p, (uint32_t)d.n);
    }
    buf_free(&d);
    return rc ? -1 : 0;
}

/* An APNG of two frames, made from two ordinary PNGs: acTL and the first
 * fcTL go before IDAT (so the default image is frame 1), frame 2 follows
 * as fcTL + fdAT. Every CRC is computed, so libpng sees a valid PNG with
 * unknown ancillary chunks. */
static int fx_png_apng(buf *out)
{
    buf f1 = {0}, f2 = {0};
    uint8_t actl[8], fctl[26];
    uint32_t seq = 0;
    size_t pos = 8;
    int rc = -1;
    if (png_scene(&f1, 32, 24, 15, 4, PNG_COLOR_TYPE_RGB, 8, 0) ||
        png_scene(&f2, 32, 24, 16, 4, PNG_COLOR_TYPE_RGB, 8, 0))
        goto out;
    put_be32(actl, 2);     /* frames */
    put_be32(actl + 4, 0); /* loop forever */
    if (buf_append(out, f1.p, 8) || copy_chunks_until(out, &f1, &pos, "IDAT"))
        goto out;
    fctl_data(fctl, seq++, 32, 24);
    if (put_chunk(out, "acTL", actl, 8) || put_chunk(out, "fcTL", fctl, 26) ||
        copy_chunks_until(out, &f1, &pos, "IEND"))
        goto out;
    fctl_data(fctl, seq++, 32, 24);
    if (put_chunk(out, "fcTL", fctl, 26) || put_fdat(out, &f2, &seq) ||
        put_chunk(out, "IEND", NULL, 0))
        goto out;
    rc = 0;
out:
    buf_free(&f1);
    buf_free(&f2);
    return rc;
}

static int fx_png_bad_crc(buf *out)
{
    chunk c;
    if (png_scene(out, 48, 32, 17, 4, PNG_COLOR_TYPE_RGB, 8, 0) ||
        !png_find_chunk(out, "IDAT", &c))
        return -1;
    out->p[c.off + 8 + c.len + 3] ^= 0x5A;
    return 0;
}

/* The first deflate block header gets BTYPE = 11 (reserved), which zlib
 * rejects as "invalid block type"; the chunk CRC is recomputed so only
 * the zlib layer is wrong. */
static int fx_png_bad_zlib(buf *out)
{
    chunk c;
    if (png_scene(out, 48, 32, 18, 4, PNG_COLOR_TYPE_RGB, 8, 0) ||
        !png_find_chunk(out, "IDAT", &c) || c.len < 8)
        return -1;
    out->p[c.off + 8 + 2] |= 0x06;
    fix_crc(out, &c);
    return 0;
}

static int fx_png_truncated(buf *out)
{
    chunk c;
    if (png_scene(out, 64, 48, 19, 24, PNG_COLOR_TYPE_RGB, 8, 0) ||
        !png_find_chunk(out, "IDAT", &c))
        return -1;
    out->n = c.off + 8 + c.len / 2;
    return 0;
}

/* A valid little PNG whose IHDR claims 60000 x 60000 RGB (3.6 gigapixels):
 * a decompression bomb in spirit, refused from the header. */
static int fx_png_too_large(buf *out)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A,
                                   '\n'};
    uint8_t ihdr[13] = {0};
    uint8_t row[64] = {0};
    uint8_t z[128];
    uLongf zlen = sizeof z;
    put_be32(ihdr, 60000);
    put_be32(ihdr + 4, 60000);
    ihdr[8] = 8;
    ihdr[9] = 2;
    if (compress2(z, &zlen, row, sizeof row, 9) != Z_OK)
        return -1;
    if (buf_append(out, sig, 8) || put_chunk(out, "IHDR", ihdr, 13) ||
        put_chunk(out, "IDAT", z, (uint32_t)zlen) ||
        put_chunk(out, "IEND", NULL, 0))
        return -1;
    return 0;
}

/* ---- Other files ----------------------------------------------------- */

static int fx_empty(buf *out)
{
    (void)out;
    return 0;
}

static int fx_notes(buf *out)
{
    static const char text[] =
        "Labeling notes\n"
        "- cat vs dog: ambiguous images go to the review folder\n"
        "- do not train on anything in here; this is not a picture\n";
    return buf_append(out, text, sizeof text - 1);
}

/* The classic 1x1 GIF89a. */
static int fx_gif(buf *out)
{
    static const uint8_t gif[] = {
        'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0xFF, 0xFF,
        0xFF, 0, 0, 0, 0x21, 0xF9, 4, 1, 0, 0, 0, 0, 0x2C, 0, 0, 0, 0, 1, 0,
        1, 0, 0, 2, 2, 0x44, 1, 0, 0x3B};
    return buf_append(out, gif, sizeof gif);
}

/* A 4x4 lossless WebP (cwebp -lossless output, checked with webpinfo). */
static int fx_webp(buf *out)
{
    static const uint8_t webp[] = {
        0x52, 0x49, 0x46, 0x46, 0x1e, 0x00, 0x00, 0x00, 0x57, 0x45,
        0x42, 0x50, 0x56, 0x50, 0x38, 0x4c, 0x11, 0x00, 0x00, 0x00,
        0x2f, 0x03, 0xc0, 0x00, 0x00, 0x07, 0x50, 0xa8, 0x22, 0x17,
        0xa5, 0xff, 0x81, 0x88, 0xe8, 0x7f, 0x00, 0x00};
    return buf_append(out, webp, sizeof webp);
}

/* An 8x6 24-bit BMP (bottom-up rows padded to 4 bytes). */
static int fx_bmp(buf *out)
{
    enum { W = 8, H = 6, STRIDE = 24, DATA = STRIDE * H };
    uint8_t h[54] = {'B', 'M'};
    uint8_t px[DATA];
    uint32_t le[][2] = {{2, 54 + DATA}, {10, 54}, {14, 40}, {18, W},
                        {22, H}, {34, DATA}, {38, 2835}, {42, 2835}};
    for (size_t i = 0; i < sizeof le / sizeof le[0]; i++)
        for (int k = 0; k < 4; k++)
            h[le[i][0] + (uint32_t)k] = (uint8_t)(le[i][1] >> (8 * k));
    h[26] = 1;  /* planes */
    h[28] = 24; /* bits per pixel */
    for (int i = 0; i < DATA; i++)
        px[i] = (uint8_t)(i * 37 + 11);
    return buf_append(out, h, sizeof h) || buf_append(out, px, sizeof px);
}

/* ---- The oracle: libjpeg / libpng straight ---------------------------- */

enum oracle {
    OR_NONE = 0,      /* not JPEG or PNG: nothing to decode */
    OR_CLEAN,         /* full decode, no warning */
    OR_JPEG_EOF,      /* JWRN_JPEG_EOF (premature end of file) */
    OR_JPEG_CORRUPT,  /* a corrupt-data warning, no JWRN_JPEG_EOF */
    OR_ERROR,         /* a fatal error (PNG: message contains `msg`) */
    OR_HUGE,          /* header readable, width*height > 178956970 */
};

/* Header facts the oracle checks (bit set: must hold; clear: must not). */
enum {
    F_GRAY = 1 << 0,
    F_CMYK_ADOBE = 1 << 1,
    F_PROGRESSIVE = 1 << 2,
    F_EXIF6 = 1 << 3,
    F_ALPHA = 1 << 4,      /* PNG: some pixel has alpha < 255 */
    F_16BIT = 1 << 5,
    F_ADAM7 = 1 << 6,
    F_PALETTE = 1 << 7,
    F_ACTL = 1 << 8,
};

/* The oracle decodes whole images in memory; fixtures are far smaller. */
#define ORACLE_MAX_SIDE 256

typedef struct verdict {
    int outcome;          /* enum oracle */
    unsigned flags;
    unsigned warnings;
    char msg[JMSG_LENGTH_MAX + 64]; /* the error, or the first warning */
    unsigned long width, height;
} verdict;

typedef struct jcheck {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    verdict *v;
    int saw_eof;
} jcheck;

static void jcheck_emit(j_common_ptr c, int level)
{
    jcheck *j = (jcheck *)(void *)c->err;
    if (level >= 0)
        return;
    if (j->v->warnings++ == 0)
        c->err->format_message(c, j->v->msg);
    if (c->err->msg_code == JWRN_JPEG_EOF)
        j->saw_eof = 1;
}

/* Orientation from the saved APP1, for the fixtures this file writes
 * (big-endian TIFF, the tag in IFD0). */
static int exif_is_orientation6(const jpeg_saved_marker_ptr m)
{
    if (m->data_length < 26 || memcmp(m->data, "Exif\0\0MM", 8) != 0)
        return 0;
    const uint8_t *t = m->data + 6;
    uint32_t ifd = get_be32(t + 4);
    if (ifd + 14 > m->data_length - 6)
        return 0;
    unsigned n = (unsigned)t[ifd] << 8 | t[ifd + 1];
    for (unsigned i = 0; i < n && ifd + 2 + 12 * (i + 1) <= m->data_length - 6;
         i++) {
        const uint8_t *e = t + ifd + 2 + 12 * i;
        if (e[0] == 0x01 && e[1] == 0x12)
            return e[8] == 0 && e[9] == 6;
    }
    return 0;
}

static void jpeg_flags(j_decompress_ptr d, verdict *v)
{
    if (d->num_components == 1)
        v->flags |= F_GRAY;
    if (d->jpeg_color_space == JCS_CMYK && d->saw_Adobe_marker)
        v->flags |= F_CMYK_ADOBE;
    if (d->progressive_mode)
        v->flags |= F_PROGRESSIVE;
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && exif_is_orientation6(m))
            v->flags |= F_EXIF6;
    v->width = d->image_width;
    v->height = d->image_height;
}

static int jpeg_check_body(j_decompress_ptr d, const buf *b, verdict *v,
                           JSAMPROW row)
{
    jpeg_mem_src(d, b->p, (unsigned long)b->n);
    jpeg_save_markers(d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(d, TRUE);
    jpeg_flags(d, v);
    jpeg_start_decompress(d);
    while (d->output_scanline < d->output_height)
        jpeg_read_scanlines(d, &row, 1);
    jpeg_finish_decompress(d);
    return 0;
}

static int jpeg_check_run(j_decompress_ptr d, jcheck *e, const buf *b,
                          verdict *v, JSAMPROW row)
{
    if (setjmp(e->jb))
        return -1;
    jpeg_create_decompress(d);
    return jpeg_check_body(d, b, v, row);
}

static void jcheck_exit(j_common_ptr c)
{
    jcheck *j = (jcheck *)(void *)c->err;
    c->err->format_message(c, j->v->msg);
    longjmp(j->jb, 1);
}

static void oracle_jpeg(const buf *b, verdict *v)
{
    struct jpeg_decompress_struct d;
    jcheck e;
    JSAMPLE row[4 * ORACLE_MAX_SIDE];

    memset(&d, 0, sizeof d);
    memset(&e, 0, sizeof e);
    e.v = v;
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jcheck_exit;
    e.pub.emit_message = jcheck_emit;
    if (jpeg_check_run(&d, &e, b, v, row) != 0)
        v->outcome = OR_ERROR; /* a fatal libjpeg error: never wanted */
    else if (e.saw_eof)
        v->outcome = OR_JPEG_EOF;
    else if (v->warnings)
        v->outcome = OR_JPEG_CORRUPT;
    else
        v->outcome = OR_CLEAN;
    jpeg_destroy_decompress(&d);
}

typedef struct mem_reader {
    const buf *b;
    size_t pos;
} mem_reader;

static void pcheck_read(png_structp p, png_bytep d, size_t n)
{
    mem_reader *r = png_get_io_ptr(p);
    if (r->b->n - r->pos < n)
        png_error(p, "read past end of data");
    memcpy(d, r->b->p + r->pos, n);
    r->pos += n;
}

static void pcheck_error(png_structp p, png_const_charp msg)
{
    verdict *v = png_get_error_ptr(p);
    snprintf(v->msg, sizeof v->msg, "%s", msg);
    png_longjmp(p, 1);
}

static void pcheck_warn(png_structp p, png_const_charp msg)
{
    verdict *v = png_get_error_ptr(p);
    if (v->warnings++ == 0)
        snprintf(v->msg, sizeof v->msg, "warning: %s", msg);
}

/* Decodes every row (all Adam7 passes combined) as 8-bit RGBA and notes
 * whether any pixel is less than opaque. */
static void png_decode_rows(png_structp p, png_infop info, verdict *v,
                            png_bytep *rows, uint8_t *px)
{
    png_uint_32 w = png_get_image_width(p, info);
    png_uint_32 h = png_get_image_height(p, info);

    png_set_expand(p);
    png_set_strip_16(p);
    png_set_gray_to_rgb(p);
    png_set_add_alpha(p, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(p);
    png_read_update_info(p, info);
    if (w > ORACLE_MAX_SIDE || h > ORACLE_MAX_SIDE)
        png_error(p, "fixture too large for the oracle");
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * 4;
    png_read_image(p, rows);
    for (size_t i = 0; i < (size_t)w * h; i++)
        if (px[4 * i + 3] != 0xFF)
            v->flags |= F_ALPHA;
    png_read_end(p, NULL);
}

static int png_check_run(png_structp p, png_infop info, mem_reader *r, verdict *v,
                         png_bytep *rows, uint8_t *px)
{
    if (setjmp(png_jmpbuf(p)))
        return -1;
    png_set_read_fn(p, r, pcheck_read);
    png_read_info(p, info);
    v->width = png_get_image_width(p, info);
    v->height = png_get_image_height(p, info);
    if (png_get_bit_depth(p, info) == 16)
        v->flags |= F_16BIT;
    if (png_get_color_type(p, info) == PNG_COLOR_TYPE_GRAY)
        v->flags |= F_GRAY;
    if (png_get_color_type(p, info) == PNG_COLOR_TYPE_PALETTE)
        v->flags |= F_PALETTE;
    if (png_get_interlace_type(p, info) == PNG_INTERLACE_ADAM7)
        v->flags |= F_ADAM7;
    if ((uint64_t)v->width * v->height > 178956970u) {
        v->outcome = OR_HUGE;
        return 0;
    }
    png_decode_rows(p, info, v, rows, px);
    v->outcome = v->warnings ? OR_ERROR : OR_CLEAN;
    return 0;
}

static void oracle_png(const buf *b, verdict *v)
{
    mem_reader r = {b, 0};
    chunk c;
    png_bytep *rows = malloc(sizeof *rows * ORACLE_MAX_SIDE);
    uint8_t *px = malloc((size_t)ORACLE_MAX_SIDE * ORACLE_MAX_SIDE * 4);
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, v,
                                           pcheck_error, pcheck_warn);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    v->outcome = OR_ERROR;
    if (png_find_chunk(b, "acTL", &c))
        v->flags |= F_ACTL;
    if (p && info && rows && px) {
        if (png_check_run(p, info, &r, v, rows, px) != 0)
            v->outcome = OR_ERROR;
    } else {
        snprintf(v->msg, sizeof v->msg, "out of memory");
    }
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    free(px);
}

static void oracle(const buf *b, verdict *v)
{
    memset(v, 0, sizeof *v);
    if (b->n >= 3 && b->p[0] == 0xFF && b->p[1] == 0xD8 && b->p[2] == 0xFF)
        oracle_jpeg(b, v);
    else if (b->n >= 8 && memcmp(b->p, "\x89PNG\r\n\x1a\n", 8) == 0)
        oracle_png(b, v);
    else
        v->outcome = OR_NONE;
}

static const char *outcome_name(int o)
{
    static const char *const names[] = {"not decoded", "clean",
                                        "jpeg premature end",
                                        "jpeg corrupt data", "error",
                                        "huge header"};
    return names[o];
}

/* ---- The fixture table ----------------------------------------------- */

typedef struct fixture {
    const char *path;
    int (*make)(buf *out);
    int expect;          /* enum oracle */
    unsigned flags;      /* exact F_* set */
    const char *msg;     /* OR_ERROR: substring of libpng's message */
} fixture;

#define SPECIAL_NAME "with space 'quote\" \xc3\xa9.jpg"

static const fixture fixtures[] = {
    {"train/jpeg/baseline_rgb.jpg", fx_jpeg_baseline, OR_CLEAN, 0, NULL},
    {"train/jpeg/progressive.jpg", fx_jpeg_progressive, OR_CLEAN,
     F_PROGRESSIVE, NULL},
    {"train/jpeg/grayscale.jpg", fx_jpeg_gray, OR_CLEAN, F_GRAY, NULL},
    {"train/jpeg/cmyk_adobe.jpg", fx_jpeg_cmyk, OR_CLEAN, F_CMYK_ADOBE, NULL},
    {"train/jpeg/exif_orientation6.jpg", fx_jpeg_exif6, OR_CLEAN, F_EXIF6,
     NULL},
    {"train/jpeg/quality30.jpg", fx_jpeg_q30, OR_CLEAN, 0, NULL},
    {"train/jpeg/quality95.jpg", fx_jpeg_q95, OR_CLEAN, 0, NULL},
    {"train/png/rgb8.png", fx_png_rgb8, OR_CLEAN, 0, NULL},
    {"train/png/rgb16.png", fx_png_rgb16, OR_CLEAN, F_16BIT, NULL},
    {"train/png/gray8.png", fx_png_gray8, OR_CLEAN, F_GRAY, NULL},
    {"train/png/palette.png", fx_png_palette, OR_CLEAN, F_PALETTE, NULL},
    {"train/png/rgba_alpha.png", fx_png_rgba, OR_CLEAN, F_ALPHA, NULL},
    {"train/png/adam7_interlaced.png", fx_png_adam7, OR_CLEAN, F_ADAM7, NULL},
    {"train/png/apng_2frames.png", fx_png_apng, OR_CLEAN, F_ACTL, NULL},
    {"train/other/gif89a.gif", fx_gif, OR_NONE, 0, NULL},
    {"train/other/lossless.webp", fx_webp, OR_NONE, 0, NULL},
    {"train/other/rgb24.bmp", fx_bmp, OR_NONE, 0, NULL},
    {"test/jpeg/truncated_50pct.jpg", fx_jpeg_trunc50, OR_JPEG_EOF, 0, NULL},
    {"test/jpeg/truncated_95pct.jpg", fx_jpeg_trunc95, OR_JPEG_EOF, 0, NULL},
    {"test/jpeg/corrupt_entropy.jpg", fx_jpeg_corrupt, OR_JPEG_CORRUPT, 0,
     NULL},
    {"test/jpeg/" SPECIAL_NAME, fx_jpeg_special_name, OR_CLEAN, 0, NULL},
    {"test/png/bad_idat_crc.png", fx_png_bad_crc, OR_ERROR, 0,
     "CRC error"},
    {"test/png/bad_zlib_data.png", fx_png_bad_zlib, OR_ERROR, 0,
     "invalid block type"},
    {"test/png/truncated_in_idat.png", fx_png_truncated, OR_ERROR, 0,
     "read past end"},
    {"test/png/too_large_60000x60000.png", fx_png_too_large, OR_HUGE, 0,
     NULL},
    {"test/other/empty.jpg", fx_empty, OR_NONE, 0, NULL},
    {"test/other/notes.jpg", fx_notes, OR_NONE, 0, NULL},
    {"test/other/wrong_ext.jpg", fx_png_wrong_ext, OR_CLEAN, 0, NULL},
};

/* ---- Files ----------------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* mkdir -p of every parent folder of path. */
static int make_parents(char *path)
{
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        int rc = mkdir(path, 0755);
        int err = errno;
        *s = '/';
        if (rc != 0 && err != EEXIST)
            return -1;
    }
    return 0;
}

static int write_file(const char *dir, const char *rel, const buf *b)
{
    char *path = path_join(dir, rel);
    FILE *f = NULL;
    int rc = -1;
    if (!path || make_parents(path) != 0)
        goto out;
    f = fopen(path, "wb");
    if (!f)
        goto out;
    if (b->n && fwrite(b->p, 1, b->n, f) != b->n)
        goto out;
    rc = 0;
out:
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "mkfixtures: cannot write %s/%s: %s\n", dir, rel,
                strerror(errno));
    free(path);
    return rc;
}

static int read_file(const char *dir, const char *rel, buf *b)
{
    char *path = path_join(dir, rel);
    FILE *f = path ? fopen(path, "rb") : NULL;
    uint8_t chunk_buf[8192];
    size_t n;
    int rc = -1;
    if (!f)
        goto out;
    while ((n = fread(chunk_buf, 1, sizeof chunk_buf, f)) > 0)
        if (buf_append(b, chunk_buf, n) != 0)
            goto out;
    rc = ferror(f) ? -1 : 0;
out:
    if (f)
        fclose(f);
    if (rc != 0)
        fprintf(stderr, "mkfixtures: cannot read %s/%s\n", dir, rel);
    free(path);
    return rc;
}

/* Checks one file against its expected oracle outcome; prints one line. */
static int check(const char *rel, const buf *b, int expect, unsigned flags,
                 const char *msg)
{
    verdict v;
    oracle(b, &v);
    int ok = v.outcome == expect && v.flags == flags &&
             (!msg || strstr(v.msg, msg) != NULL);
    printf("%-4s %-36s %5zu B %5lux%-5lu %s%s%s (flags %#x, %u warnings)\n",
           ok ? "ok" : "FAIL", rel, b->n, v.width, v.height,
           outcome_name(v.outcome), v.msg[0] ? ": " : "", v.msg, v.flags,
           v.warnings);
    if (!ok)
        fprintf(stderr, "mkfixtures: %s: want %s flags %#x%s%s\n", rel,
                outcome_name(expect), flags, msg ? " message " : "",
                msg ? msg : "");
    return ok ? 0 : -1;
}

static int make_fixtures(const char *dir)
{
    int failed = 0;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const fixture *fx = &fixtures[i];
        buf b = {0};
        if (fx->make(&b) != 0 || write_file(dir, fx->path, &b) != 0) {
            fprintf(stderr, "mkfixtures: cannot make %s\n", fx->path);
            failed++;
        } else if (check(fx->path, &b, fx->expect, fx->flags, fx->msg)) {
            failed++;
        }
        buf_free(&b);
    }
    return failed ? -1 : 0;
}

static int verify_fixtures(const char *dir)
{
    int failed = 0;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const fixture *fx = &fixtures[i];
        buf b = {0};
        if (read_file(dir, fx->path, &b) != 0 ||
            check(fx->path, &b, fx->expect, fx->flags, fx->msg) != 0)
            failed++;
        buf_free(&b);
    }
    return failed ? -1 : 0;
}

/* ---- The sample dataset ---------------------------------------------- */

/* Draws a cartoon cat, dog or bird: a background for the class (indoor
 * wall and floor, lawn, sky with a branch), a body, a head and the class's
 * features, each placed, sized, colored and mirrored at random. Crude, but
 * the classes differ in color statistics and shape, as real ones do. */
typedef struct pose {
    int cx, cy, s;       /* body centre and size unit (pixels) */
    int dir;             /* +1 facing right, -1 left */
} pose;

static void jitter(rng *r, const uint8_t base[3], int amp, uint8_t out[3])
{
    for (int k = 0; k < 3; k++)
        out[k] = clamp8(base[k] + rng_range(r, -amp, amp));
}

/* Background things (clouds, bushes, furniture, toys): without them two
 * pictures of one class share their whole layout and look like near
 * duplicates to a perceptual hash, which real photos rarely do. */
static void paint_clutter(image *im, rng *r)
{
    int n = rng_range(r, 2, 4);
    for (int i = 0; i < n; i++) {
        uint8_t c[3];
        int x = rng_range(r, 0, im->w - 1), y = rng_range(r, 0, im->h - 1);
        int rx = rng_range(r, im->w / 16 + 1, im->w / 5);
        int ry = rng_range(r, im->h / 16 + 1, im->h / 5);
        random_color(r, c);
        if (rng_range(r, 0, 1))
            paint_ellipse(im, x, y, rx, ry, c);
        else
            paint_rect(im, x - rx, y - ry, x + rx, y + ry, c);
    }
}

static void draw_cat(image *im, rng *r, const pose *p)
{
    static const uint8_t wall[3] = {200, 180, 150}, floor_[3] = {120, 90, 60};
    static const uint8_t furs[3][3] = {{220, 130, 40}, {90, 90, 95},
                                       {30, 28, 30}};
    uint8_t a[3], b[3], fur[3], eye[3] = {60, 200, 60}, dark[3] = {10, 10, 10};
    jitter(r, wall, 30, a);
    jitter(r, floor_, 20, b);
    paint_gradient(im, a, a, 1);
    paint_rect(im, 0, im->h * rng_range(r, 55, 85) / 100, im->w, im->h, b);
    paint_clutter(im, r);
    jitter(r, furs[rng_range(r, 0, 2)], 15, fur);
    int hx = p->cx + p->dir * p->s * 2, hy = p->cy - p->s;
    paint_ellipse(im, p->cx - p->dir * p->s * 2, p->cy - p->s, p->s / 3 + 1,
                  p->s * 3 / 2, fur); /* tail */
    paint_ellipse(im, p->cx, p->cy, p->s * 2, p->s, fur);
    int ear1[6] = {hx - p->s, hy - p->s / 2, hx - p->s / 2, hy - p->s * 2,
                   hx, hy - p->s / 2};
    int ear2[6] = {hx, hy - p->s / 2, hx + p->s / 2, hy - p->s * 2,
                   hx + p->s, hy - p->s / 2};
    paint_triangle(im, ear1, fur);
    paint_triangle(im, ear2, fur);
    paint_ellipse(im, hx, hy, p->s, p->s * 9 / 10, fur);
    paint_ellipse(im, hx - p->s / 3, hy - p->s / 5, p->s / 5 + 1, p->s / 4 + 1,
                  eye);
    paint_ellipse(im, hx + p->s / 3, hy - p->s / 5, p->s / 5 + 1, p->s / 4 + 1,
                  eye);
    paint_ellipse(im, hx - p->s / 3, hy - p->s / 5, 1, p->s / 5 + 1, dark);
    paint_ellipse(im, hx + p->s / 3, hy - p->s / 5, 1, p->s / 5 + 1, dark);
}

static void draw_dog(image *im, rng *r, const pose *p)
{
    static const uint8_t sky[3] = {150, 190, 230}, grass[3] = {70, 140, 50};
    static const uint8_t coats[3][3] = {{140, 90, 50}, {230, 210, 170},
                                        {60, 45, 35}};
    uint8_t a[3], b[3], coat[3], ear[3], dark[3] = {15, 10, 10};
    jitter(r, sky, 20, a);
    jitter(r, grass, 20, b);
    paint_gradient(im, a, b, 1);
    paint_rect(im, 0, im->h * rng_range(r, 35, 70) / 100, im->w, im->h, b);
    paint_clutter(im, r);
    jitter(r, coats[rng_range(r, 0, 2)], 15, coat);
    for (int k = 0; k < 3; k++)
        ear[k] = (uint8_t)(coat[k] * 2 / 3);
    int hx = p->cx + p->dir * p->s * 2, hy = p->cy - p->s;
    for (int leg = -1; leg <= 1; leg += 2)
        paint_rect(im, p->cx + leg * p->s - p->s / 4, p->cy,
                   p->cx + leg * p->s + p->s / 4, p->cy + p->s * 2, coat);
    paint_ellipse(im, p->cx, p->cy, p->s * 2, p->s, coat);
    paint_ellipse(im, hx, hy, p->s, p->s, coat);
    paint_ellipse(im, hx - p->dir * p->s, hy + p->s / 3, p->s / 3 + 1,
                  p->s * 4 / 5, ear);
    paint_ellipse(im, hx + p->dir * p->s * 4 / 5, hy + p->s / 5, p->s / 2,
                  p->s / 3 + 1, coat); /* muzzle */
    paint_ellipse(im, hx + p->dir * p->s * 5 / 4, hy + p->s / 6, p->s / 6 + 1,
                  p->s / 6 + 1, dark);
    paint_ellipse(im, hx + p->dir * p->s / 4, hy - p->s / 3, p->s / 7 + 1,
                  p->s / 7 + 1, dark);
}

static void draw_bird(image *im, rng *r, const pose *p)
{
    static const uint8_t sky_top[3] = {60, 120, 210}, sky_low[3] = {190, 220,
                                                                    245};
    static const uint8_t plumes[3][3] = {{210, 40, 40}, {240, 200, 30},
                                         {40, 90, 200}};
    static const uint8_t bark[3] = {100, 70, 40}, beak[3] = {250, 150, 20};
    uint8_t a[3], b[3], plume[3], wing[3], dark[3] = {5, 5, 5};
    jitter(r, sky_top, 20, a);
    jitter(r, sky_low, 10, b);
    paint_gradient(im, a, b, 1);
    paint_clutter(im, r);
    int by = p->cy + p->s;
    paint_rect(im, 0, by, im->w, by + p->s / 2 + 2, bark);
    jitter(r, plumes[rng_range(r, 0, 2)], 20, plume);
    for (int k = 0; k < 3; k++)
        wing[k] = (uint8_t)(plume[k] / 2);
    int hx = p->cx + p->dir * p->s, hy = p->cy - p->s * 2 / 3;
    paint_ellipse(im, p->cx, p->cy, p->s * 3 / 2, p->s, plume);
    paint_ellipse(im, p->cx - p->dir * p->s / 4, p->cy, p->s, p->s / 2 + 1,
                  wing);
    paint_ellipse(im, hx, hy, p->s * 2 / 3 + 1, p->s * 2 / 3 + 1, plume);
    int bk[6] = {hx + p->dir * p->s / 2, hy - p->s / 5,
                 hx + p->dir * p->s * 3 / 2, hy,
                 hx + p->dir * p->s / 2, hy + p->s / 5};
    paint_triangle(im, bk, beak);
    paint_ellipse(im, hx + p->dir * p->s / 5, hy - p->s / 6, p->s / 7 + 1,
                  p->s / 7 + 1, dark);
}

enum { CAT, DOG, BIRD };

static void draw_animal(image *im, int cls, uint64_t seed)
{
    rng r = {seed * 104729u + 23};
    pose p;
    p.s = im->h * rng_range(&r, 11, 21) / 100;
    p.dir = rng_range(&r, 0, 1) ? 1 : -1;
    p.cx = im->w / 2 + rng_range(&r, -im->w / 5, im->w / 5);
    p.cy = im->h / 2 + rng_range(&r, -im->h / 8, im->h / 6);
    if (cls == CAT)
        draw_cat(im, &r, &p);
    else if (cls == DOG)
        draw_dog(im, &r, &p);
    else
        draw_bird(im, &r, &p);
    paint_noise(im, &r, 5);
}

static const char *const class_names[] = {"cat", "dog", "bird"};

/* What is planted where; everything else is a plain RGB JPEG. */
enum plant {
    PL_NONE,
    PL_TRUNCATED,  /* cut at 60% */
    PL_GRAY,       /* grayscale JPEG among RGB ones */
    PL_PNG,        /* PNG bytes under a .jpg name */
};

typedef struct sample_plant {
    int cls, index;
    enum plant what;
} sample_plant;

static const sample_plant plants[] = {
    {DOG, 7, PL_TRUNCATED},
    {BIRD, 12, PL_GRAY},
    {CAT, 15, PL_PNG},
};

static enum plant plant_of(int cls, int index)
{
    for (size_t i = 0; i < sizeof plants / sizeof plants[0]; i++)
        if (plants[i].cls == cls && plants[i].index == index)
            return plants[i].what;
    return PL_NONE;
}

/* Encodes sample image (cls, index) as its plant says. */
static int sample_image(int cls, int index, buf *out, int *expect)
{
    static const int sizes[][2] = {{64, 48}, {96, 72}, {128, 96}, {160, 120}};
    rng r = {(uint64_t)(cls * 1000 + index)};
    const int *sz = sizes[rng_range(&r, 0, 3)];
    enum plant what = plant_of(cls, index);
    jpeg_opts o = {rng_range(&r, 80, 92), 0,
                   what == PL_GRAY ? JCS_GRAYSCALE : JCS_RGB, NULL, 0, 0};
    image im;
    int rc = -1;
    uint8_t *px = NULL;

    *expect = what == PL_TRUNCATED ? OR_JPEG_EOF : OR_CLEAN;
    if (image_new(&im, sz[0], sz[1], 3) != 0)
        return -1;
    draw_animal(&im, cls, (uint64_t)(cls * 1000 + index));
    if (what == PL_PNG) {
        px = png_samples(&im, PNG_COLOR_TYPE_RGB, 8);
        png_job j = {px, im.w, im.h, PNG_COLOR_TYPE_RGB, 8, 0, NULL, 0, out,
                     NULL};
        rc = px ? encode_png(&j) : -1;
    } else {
        rc = encode_jpeg(&im, &o, out);
        if (rc == 0 && what == PL_TRUNCATED)
            out->n = out->n * 60 / 100;
    }
    free(px);
    image_free(&im);
    return rc;
}

/* train: 001-020, val: 021-025, test: 026-030 of each class. */
static const struct {
    const char *split;
    int first, last;
} sample_splits[] = {{"train", 1, 20}, {"val", 21, 25}, {"test", 26, 30}};

static int write_sample_image(const char *dir, int cls, int split, int index)
{
    char rel[128];
    buf b = {0};
    int expect, rc = -1;
    snprintf(rel, sizeof rel, "%s/%s/%s_%03d.jpg", sample_splits[split].split,
             class_names[cls], class_names[cls], index);
    if (sample_image(cls, index, &b, &expect) == 0 &&
        write_file(dir, rel, &b) == 0)
        rc = check(rel, &b, expect, plant_of(cls, index) == PL_GRAY ? F_GRAY
                                                                   : 0, NULL);
    buf_free(&b);
    return rc;
}

/* Files a Mac leaves behind: a .DS_Store ("Bud1" header) and an
 * AppleDouble "._" resource fork (magic 00 05 16 07). */
static int write_mac_junk(const char *dir)
{
    uint8_t ds[512] = {0, 0, 0, 1, 'B', 'u', 'd', '1', 0, 0, 0x10, 0};
    uint8_t ad[82] = {0, 5, 0x16, 7, 0, 2, 0, 0, 'M', 'a', 'c', ' ', 'O',
                      'S', ' ', 'X', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
                      0, 1, 0, 0, 0, 9, 0, 0, 0, 0x32, 0, 0, 0, 0x20};
    buf b1 = {ds, sizeof ds, sizeof ds}, b2 = {ad, sizeof ad, sizeof ad};
    memcpy(ad + 50, "TEXTttxt", 8);
    return write_file(dir, "train/dog/.DS_Store", &b1) ||
           write_file(dir, "train/bird/._bird_003.jpg", &b2);
}

/* The leak: a training image copied byte for byte into test. */
static int write_leak(const char *dir)
{
    buf b = {0};
    int rc = read_file(dir, "train/cat/cat_004.jpg", &b) ||
             write_file(dir, "test/cat/cat_030.jpg", &b);
    buf_free(&b);
    return rc;
}

static int make_sample(const char *dir)
{
    int failed = 0;
    for (int cls = 0; cls < 3; cls++)
        for (int s = 0; s < 3; s++)
            for (int i = sample_splits[s].first; i <= sample_splits[s].last;
                 i++)
                if (!(cls == CAT && i == 30) &&
                    write_sample_image(dir, cls, s, i) != 0)
                    failed++;
    if (write_leak(dir) != 0 || write_mac_junk(dir) != 0)
        failed++;
    return failed ? -1 : 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: mkfixtures [--sample | --verify] OUTDIR\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *mode = argc == 3 ? argv[1] : "";
    const char *dir = argv[argc - 1];
    int rc;
    if ((argc != 2 && argc != 3) || dir[0] == '-' ||
        (argc == 3 && strcmp(mode, "--sample") != 0 &&
         strcmp(mode, "--verify") != 0))
        return usage();
    if (strcmp(mode, "--verify") == 0)
        return verify_fixtures(dir) == 0 ? 0 : 1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkfixtures: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    rc = strcmp(mode, "--sample") == 0 ? make_sample(dir) : make_fixtures(dir);
    return rc == 0 ? 0 : 1;
}
