/*
 * mkvariant: builds the datasets of compare's failure-story test
 * (tests/integration/test_compare.py) with libjpeg alone, since CI has no
 * Pillow.
 *
 *   mkvariant synth DIR [PER_CLASS_TRAIN]
 *       a synthetic JPEG dataset DIR/SPLIT/CLASS/CLASS_NNNN.jpg: splits
 *       train, val and test, 5 classes, by default 400 train, 60 val and
 *       60 test images per class, 32-56 px, quality 90; every image
 *       distinct; a fixed seed, so byte-identical on every run
 *   mkvariant darken FACTOR FILE...   pixel values divided by FACTOR
 *   mkvariant cmyk FILE...            re-encoded as Adobe CMYK (inverted
 *                                     inks, as Photoshop writes it)
 *   mkvariant quality Q FILE...       re-encoded at JPEG quality Q
 *
 * darken and cmyk keep the file's own quantization tables, so only what
 * the test means to change changes (the quality estimate stays put). Each
 * FILE is rewritten through a temporary name and renamed. Exit 0, or 1
 * with a message on the first failure.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

static void jerr_quiet(j_common_ptr c)
{
    (void)c;
}

typedef struct image {
    int w, h;
    uint8_t *px;   /* RGB */
    int have_tables;
    unsigned tables[2][DCTSIZE2];
} image;

/* ---- reading and writing --------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.mkvariant-tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return -1;
    }
    return 0;
}

static int decode_run(struct jpeg_decompress_struct *d, jerr *e,
                      const uint8_t *buf, size_t len, image *im)
{
    if (setjmp(e->jb))
        return -1;
    jpeg_create_decompress(d);
    jpeg_mem_src(d, buf, (unsigned long)len);
    jpeg_read_header(d, TRUE);
    for (int t = 0; t < 2; t++)
        if (d->quant_tbl_ptrs[t]) {
            for (int k = 0; k < DCTSIZE2; k++)
                im->tables[t][k] = d->quant_tbl_ptrs[t]->quantval[k];
            im->have_tables |= 1 << t;
        }
    /* CMYK sources are left alone: the test never plants on them. */
    if (d->jpeg_color_space == JCS_CMYK || d->jpeg_color_space == JCS_YCCK)
        return -1;
    d->out_color_space = JCS_RGB;
    jpeg_start_decompress(d);
    im->w = (int)d->output_width;
    im->h = (int)d->output_height;
    im->px = malloc((size_t)im->w * (size_t)im->h * 3);
    if (!im->px)
        return -1;
    while (d->output_scanline < d->output_height) {
        JSAMPROW row = im->px + (size_t)d->output_scanline * (size_t)im->w * 3;
        jpeg_read_scanlines(d, &row, 1);
    }
    jpeg_finish_decompress(d);
    return 0;
}

static int decode(const char *path, image *im, char *why, size_t cap)
{
    struct jpeg_decompress_struct d;
    jerr e;
    size_t len = 0;
    uint8_t *buf = read_file(path, &len);
    memset(im, 0, sizeof *im);
    if (!buf) {
        snprintf(why, cap, "cannot read");
        return -1;
    }
    memset(&d, 0, sizeof d);
    e.msg[0] = '\0';
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.output_message = jerr_quiet;
    int rc = decode_run(&d, &e, buf, len, im);
    if (rc != 0)
        snprintf(why, cap, "cannot decode%s%s", e.msg[0] ? ": " : "", e.msg);
    jpeg_destroy_decompress(&d);
    free(buf);
    return rc;
}

typedef struct enc_opts {
    int quality;     /* 0: the image's own tables */
    int cmyk;
} enc_opts;

static int encode_run(struct jpeg_compress_struct *c, jerr *e,
                      const image *im, const enc_opts *o, uint8_t *row,
                      unsigned char **mem, unsigned long *len)
{
    if (setjmp(e->jb))
        return -1;
    jpeg_create_compress(c);
    jpeg_mem_dest(c, mem, len);
    c->image_width = (JDIMENSION)im->w;
    c->image_height = (JDIMENSION)im->h;
    c->input_components = o->cmyk ? 4 : 3;
    c->in_color_space = o->cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(c);
    if (o->quality) {
        jpeg_set_quality(c, o->quality, TRUE);
    } else {
        for (int t = 0; t < 2; t++)
            if (im->have_tables & (1 << t))
                jpeg_add_quant_table(c, t, im->tables[t], 100, TRUE);
    }
    jpeg_start_compress(c, TRUE);
    for (int y = 0; y < im->h; y++) {
        const uint8_t *src = im->px + (size_t)y * (size_t)im->w * 3;
        JSAMPROW rp = row;
        if (o->cmyk) {
            /* Inverted inks (Adobe): C' = R, M' = G, Y' = B, K' = 255
             * encodes exactly this RGB image. */
            for (int x = 0; x < im->w; x++) {
                memcpy(row + 4 * x, src + 3 * x, 3);
                row[4 * x + 3] = 255;
            }
        } else {
            memcpy(row, src, (size_t)im->w * 3);
        }
        jpeg_write_scanlines(c, &rp, 1);
    }
    jpeg_finish_compress(c);
    return 0;
}

static int encode(const char *path, const image *im, const enc_opts *o,
                  char *why, size_t cap)
{
    struct jpeg_compress_struct c;
    jerr e;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    uint8_t *row = malloc((size_t)im->w * 4);
    int rc = -1;
    memset(&c, 0, sizeof c);
    e.msg[0] = '\0';
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.output_message = jerr_quiet;
    if (row && encode_run(&c, &e, im, o, row, &mem, &len) == 0)
        rc = write_file(path, mem, len);
    if (rc != 0)
        snprintf(why, cap, "cannot encode or write%s%s", e.msg[0] ? ": " : "",
                 e.msg);
    jpeg_destroy_compress(&c);
    free(mem);
    free(row);
    return rc;
}

/* ---- the edits ------------------------------------------------------- */

static int edit(int argc, char **argv, int first, int factor,
                const enc_opts *o)
{
    char why[JMSG_LENGTH_MAX + 64];
    for (int i = first; i < argc; i++) {
        image im;
        if (decode(argv[i], &im, why, sizeof why) != 0) {
            fprintf(stderr, "mkvariant: %s: %s\n", argv[i], why);
            return 1;
        }
        if (factor > 1)
            for (size_t k = 0; k < (size_t)im.w * (size_t)im.h * 3; k++)
                im.px[k] = (uint8_t)(im.px[k] / factor);
        int rc = encode(argv[i], &im, o, why, sizeof why);
        free(im.px);
        if (rc != 0) {
            fprintf(stderr, "mkvariant: %s: %s\n", argv[i], why);
            return 1;
        }
    }
    return 0;
}

/* ---- the synthetic dataset ------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int rng_range(int lo, int hi)
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static const char *const classes[] = {"ant", "bee", "cow", "dog", "eel"};
/* Each class has its own palette, so classes differ in colour as real
 * ones do. */
static const uint8_t class_rgb[5][3] = {
    {150, 90, 60}, {220, 190, 60}, {90, 150, 80}, {160, 140, 120},
    {60, 110, 170},
};

/* A gradient in the class colour, a few rectangles and noise. */
static void paint(image *im, int cls)
{
    const uint8_t *base = class_rgb[cls];
    int gx = rng_range(-40, 40), gy = rng_range(-40, 40);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            for (int k = 0; k < 3; k++)
                im->px[((size_t)y * (size_t)im->w + (size_t)x) * 3 +
                       (size_t)k] =
                    clamp8(base[k] + gx * x / im->w + gy * y / im->h);
    int n = rng_range(2, 5);
    for (int i = 0; i < n; i++) {
        int x0 = rng_range(0, im->w - 4), y0 = rng_range(0, im->h - 4);
        int x1 = rng_range(x0 + 2, im->w), y1 = rng_range(y0 + 2, im->h);
        uint8_t c[3];
        for (int k = 0; k < 3; k++)
            c[k] = clamp8(base[k] + rng_range(-90, 90));
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                memcpy(im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3, c,
                       3);
    }
    for (size_t k = 0; k < (size_t)im->w * (size_t)im->h * 3; k++)
        im->px[k] = clamp8(im->px[k] + rng_range(-12, 12));
}

static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    struct stat st;
    mkdir(buf, 0755);
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode);
}

static int synth(const char *dir, int train)
{
    static const struct {
        const char *name;
        int count;
    } splits[] = {{"train", 0}, {"val", 60}, {"test", 60}};
    enc_opts o = {90, 0};
    char path[4096], why[JMSG_LENGTH_MAX + 64];
    for (size_t s = 0; s < 3; s++)
        for (int cls = 0; cls < 5; cls++) {
            int count = s == 0 ? train : splits[s].count;
            snprintf(path, sizeof path, "%s/%s/%s", dir, splits[s].name,
                     classes[cls]);
            if (!make_dirs(path)) {
                fprintf(stderr, "mkvariant: cannot create %s\n", path);
                return 1;
            }
            for (int i = 0; i < count; i++) {
                image im;
                memset(&im, 0, sizeof im);
                im.w = rng_range(32, 56);
                im.h = rng_range(32, 56);
                im.px = malloc((size_t)im.w * (size_t)im.h * 3);
                if (!im.px)
                    return 1;
                paint(&im, cls);
                snprintf(path, sizeof path, "%s/%s/%s/%s_%04d.jpg", dir,
                         splits[s].name, classes[cls], classes[cls], i);
                int rc = encode(path, &im, &o, why, sizeof why);
                free(im.px);
                if (rc != 0) {
                    fprintf(stderr, "mkvariant: %s: %s\n", path, why);
                    return 1;
                }
            }
        }
    return 0;
}

/* A whole decimal number in [lo, hi], else -1. */
static long number(const char *s, long lo, long hi)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return end && end != s && !*end && v >= lo && v <= hi ? v : -1;
}

static int usage(void)
{
    fputs("usage: mkvariant synth DIR [PER_CLASS_TRAIN]\n"
          "       mkvariant darken FACTOR FILE...\n"
          "       mkvariant cmyk FILE...\n"
          "       mkvariant quality Q FILE...\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *op = argv[1];
    if (strcmp(op, "synth") == 0) {
        long train = argc > 3 ? number(argv[3], 1, 99999) : 400;
        return train > 0 ? synth(argv[2], (int)train) : usage();
    }
    if (strcmp(op, "cmyk") == 0) {
        enc_opts o = {0, 1};
        return edit(argc, argv, 2, 1, &o);
    }
    int n = (int)number(argv[2], 1, 100);
    if (argc < 4 || n < 1)
        return usage();
    if (strcmp(op, "darken") == 0) {
        enc_opts o = {0, 0};
        return edit(argc, argv, 3, n, &o);
    }
    if (strcmp(op, "quality") == 0) {
        enc_opts o = {n, 0};
        return edit(argc, argv, 3, 1, &o);
    }
    return usage();
}
