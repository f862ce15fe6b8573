/*
 * make_formats: the other-formats corpus of bench/run.sh (issue 15). The
 * first COUNT JPEGs under SRC (sorted paths) are decoded with libjpeg and
 * written again as
 *
 *   OUT/webp/NNNNN.webp   lossy WebP, quality 80 (web-scraped sets)
 *   OUT/tiff/NNNNN.tif    RGB TIFF, LZW, 16 rows a strip
 *   OUT/gif/NNNNN.gif     GIF, 256 colours (giflib's median cut)
 *   OUT/bmp/NNNNN.bmp     24-bit BMP, bottom-up
 *
 * so the scan and the decode ceiling can be compared per format on the
 * same photographs. Usage: make_formats SRC OUT [--count N] (default
 * 1000).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <tiffio.h>
#include <webp/encode.h>

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static int has_jpeg_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".jpg") == 0 || strcmp(dot, ".jpeg") == 0);
}

static void walk(const char *dir, list *out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            walk(path, out);
        } else if (S_ISREG(st.st_mode) && has_jpeg_ext(de->d_name)) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 1024;
                out->v = realloc(out->v, out->cap * sizeof *out->v);
                if (!out->v)
                    exit(1);
            }
            out->v[out->n++] = strdup(path);
        }
    }
    if (d)
        closedir(d);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* RGB pixels of a JPEG; NULL when it does not decode cleanly enough. */
static uint8_t *load(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    if (!f)
        return NULL;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_stdio_src(&d, f);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    *w = (int)d.output_width;
    *h = (int)d.output_height;
    uint8_t *px = malloc((size_t)*w * (size_t)*h * 3);
    while (px && d.output_scanline < d.output_height) {
        JSAMPROW row = px + (size_t)d.output_scanline * (size_t)*w * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    fclose(f);
    return px;
}

static int save(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(p, 1, n, f) == n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    return rc;
}

static int write_webp(const char *path, const uint8_t *px, int w, int h)
{
    uint8_t *out = NULL;
    size_t n = WebPEncodeRGB(px, w, h, w * 3, 80.0f, &out);
    int rc = n ? save(path, out, n) : -1;
    WebPFree(out);
    return rc;
}

static int write_tiff(const char *path, const uint8_t *px, int w, int h)
{
    TIFF *t = TIFFOpen(path, "w");
    int rc = t ? 0 : -1;
    if (!t)
        return -1;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    for (int y = 0; rc == 0 && y < h; y++)
        if (TIFFWriteScanline(t, (void *)(uintptr_t)(px + (size_t)y * w * 3),
                              (uint32_t)y, 0) < 0)
            rc = -1;
    TIFFClose(t);
    return rc;
}

static int gif_out(GifFileType *g, const GifByteType *d, int n)
{
    return fwrite(d, 1, (size_t)n, g->UserData) == (size_t)n ? n : 0;
}

static int write_gif(const char *path, const uint8_t *px, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    uint8_t *plane = malloc(n * 4);
    GifColorType colors[256];
    ColorMapObject *map = NULL;
    GifFileType *g = NULL;
    int size = 256, err = 0, rc = -1;
    FILE *f = fopen(path, "wb");
    if (!plane || !f)
        goto out;
    for (size_t i = 0; i < n; i++) {
        plane[i] = px[3 * i];
        plane[n + i] = px[3 * i + 1];
        plane[2 * n + i] = px[3 * i + 2];
    }
    if (GifQuantizeBuffer((unsigned)w, (unsigned)h, &size, plane, plane + n,
                          plane + 2 * n, plane + 3 * n, colors) != GIF_OK)
        goto out;
    map = GifMakeMapObject(256, colors);
    g = EGifOpen(f, gif_out, &err);
    rc = g && map && EGifPutScreenDesc(g, w, h, 8, 0, map) == GIF_OK &&
                 EGifPutImageDesc(g, 0, 0, w, h, false, NULL) == GIF_OK
             ? 0 : -1;
    for (int y = 0; rc == 0 && y < h; y++)
        if (EGifPutLine(g, plane + 3 * n + (size_t)y * w, w) != GIF_OK)
            rc = -1;
out:
    if (g && EGifCloseFile(g, &err) != GIF_OK) /* frees g, not f */
        rc = -1;
    GifFreeMapObject(map);
    if (f && fclose(f) != 0)
        rc = -1;
    free(plane);
    return rc;
}

static void put(uint8_t *p, uint32_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int write_bmp(const char *path, const uint8_t *px, int w, int h)
{
    size_t stride = ((size_t)w * 3 + 3) / 4 * 4, n = stride * (size_t)h;
    uint8_t *b = calloc(1, 54 + n);
    if (!b)
        return -1;
    b[0] = 'B', b[1] = 'M';
    put(b + 2, (uint32_t)(54 + n), 4);
    put(b + 10, 54, 4);
    put(b + 14, 40, 4);
    put(b + 18, (uint32_t)w, 4);
    put(b + 22, (uint32_t)h, 4);
    put(b + 26, 1, 2);
    put(b + 28, 24, 2);
    put(b + 34, (uint32_t)n, 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = px + ((size_t)(h - 1 - y) * w + x) * 3;
            uint8_t *o = b + 54 + (size_t)y * stride + (size_t)x * 3;
            o[0] = p[2], o[1] = p[1], o[2] = p[0];
        }
    int rc = save(path, b, 54 + n);
    free(b);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *dir, *ext;
        int (*write)(const char *, const uint8_t *, int, int);
    } kinds[] = {{"webp", "webp", write_webp}, {"tiff", "tif", write_tiff},
                 {"gif", "gif", write_gif}, {"bmp", "bmp", write_bmp}};
    size_t count = 1000;
    if (argc == 5 && strcmp(argv[3], "--count") == 0)
        count = strtoul(argv[4], NULL, 10);
    else if (argc != 3) {
        fprintf(stderr, "usage: make_formats SRC OUT [--count N]\n");
        return 2;
    }
    list src = {0};
    walk(argv[1], &src);
    qsort(src.v, src.n, sizeof *src.v, cmp);
    char path[4096];
    mkdir(argv[2], 0755);
    for (size_t k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], kinds[k].dir);
        mkdir(path, 0755);
    }
    size_t made = 0;
    for (size_t i = 0; i < src.n && made < count; i++) {
        int w, h;
        uint8_t *px = load(src.v[i], &w, &h);
        if (!px)
            continue;
        for (size_t k = 0; k < 4; k++) {
            snprintf(path, sizeof path, "%s/%s/%05zu.%s", argv[2],
                     kinds[k].dir, made, kinds[k].ext);
            if (kinds[k].write(path, px, w, h) != 0)
                fprintf(stderr, "make_formats: cannot write %s\n", path);
        }
        free(px);
        made++;
    }
    printf("make_formats: %zu images in 4 formats in %s\n", made, argv[2]);
    for (size_t i = 0; i < src.n; i++)
        free(src.v[i]);
    free(src.v);
    return 0;
}
