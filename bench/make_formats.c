/*
 * make_formats: the other-formats corpus of bench/run.sh (issue 15). The
 * first COUNT JPEGs under SRC (sorted paths) are decoded with libjpeg and
 * written again as
 *
 *   OUT/webp/NNNNN.webp   lossy WebP, quality 80 (web-scraped sets)
 *   OUT/tiff/NNNNN.tif    RGB TIFF, LZW, 16 rows a strip
 *   OUT/gif/NNNNN.gif     GIF, 256 colours (giflib's median cut)
 *   OUT/bmp/NNNNN.bmp     24-bit BMP, bottom-up
 *   OUT/pnm/NNNNN.ppm     binary PPM (P6), maxval 255
 *   OUT/tga/NNNNN.tga     uncompressed 24-bit TGA, bottom-up (type 2)
 *   OUT/avif/NNNNN.avif   AVIF, 8-bit 4:2:0, libavif's default encoder
 *                         (aom), speed 8, quantizer 20-30
 *   OUT/heic/NNNNN.heic   HEIC, libheif with x265, quality 75
 *   OUT/jxl/NNNNN.jxl     JPEG XL, lossy, distance 1.0, effort 7 (cjxl's
 *                         defaults)
 *
 * (the last three when the build found libavif, libheif and libjxl), so
 * the scan and the decode ceiling can be compared per format on the same
 * photographs. Usage: make_formats SRC OUT [--count N] [--only K,K...]
 * (default 1000 images, every kind); a kind whose folder exists already
 * is left as it is, so a corpus made before a kind was added gains just
 * that one.
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
#ifdef MF_AVIF
#include <avif/avif.h>
#endif
#ifdef MF_HEIF
#include <libheif/heif.h>
#endif
#ifdef MF_JXL
#include <jxl/encode.h>
#endif

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

static int write_pnm(const char *path, const uint8_t *px, int w, int h)
{
    char head[64];
    int hn = snprintf(head, sizeof head, "P6\n%d %d\n255\n", w, h);
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *b = malloc((size_t)hn + n);
    if (!b)
        return -1;
    memcpy(b, head, (size_t)hn);
    memcpy(b + hn, px, n);
    int rc = save(path, b, (size_t)hn + n);
    free(b);
    return rc;
}

static int write_tga(const char *path, const uint8_t *px, int w, int h)
{
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *b = calloc(1, 18 + n);
    if (!b)
        return -1;
    b[2] = 2;                       /* uncompressed true colour */
    put(b + 12, (uint32_t)w, 2);
    put(b + 14, (uint32_t)h, 2);
    b[16] = 24;
    b[17] = 0;                      /* bottom-up, no alpha bits */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = px + ((size_t)(h - 1 - y) * w + x) * 3;
            uint8_t *o = b + 18 + ((size_t)y * w + x) * 3;
            o[0] = p[2], o[1] = p[1], o[2] = p[0];
        }
    int rc = save(path, b, 18 + n);
    free(b);
    return rc;
}

#ifdef MF_AVIF
static int write_avif(const char *path, const uint8_t *px, int w, int h)
{
    avifImage *im = avifImageCreate((uint32_t)w, (uint32_t)h, 8,
                                    AVIF_PIXEL_FORMAT_YUV420);
    avifEncoder *enc = avifEncoderCreate();
    avifRWData out = AVIF_DATA_EMPTY;
    avifRGBImage rgb;
    int rc = -1;
    if (!im || !enc)
        goto done;
    avifRGBImageSetDefaults(&rgb, im);
    rgb.format = AVIF_RGB_FORMAT_RGB;
    rgb.pixels = (uint8_t *)(uintptr_t)px;
    rgb.rowBytes = (uint32_t)w * 3;
    enc->speed = 8;
    enc->minQuantizer = 20;
    enc->maxQuantizer = 30;
    if (avifImageRGBToYUV(im, &rgb) == AVIF_RESULT_OK &&
        avifEncoderWrite(enc, im, &out) == AVIF_RESULT_OK)
        rc = save(path, out.data, out.size);
done:
    avifRWDataFree(&out);
    if (enc)
        avifEncoderDestroy(enc);
    if (im)
        avifImageDestroy(im);
    return rc;
}
#endif

#ifdef MF_HEIF
static int write_heif(const char *path, const uint8_t *px, int w, int h)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image *im = NULL;
    int rc = -1, stride = 0;
    if (!ctx ||
        heif_context_get_encoder_for_format(ctx, heif_compression_HEVC,
                                            &enc).code != heif_error_Ok ||
        heif_encoder_set_lossy_quality(enc, 75).code != heif_error_Ok ||
        heif_image_create(w, h, heif_colorspace_RGB,
                          heif_chroma_interleaved_RGB, &im).code !=
            heif_error_Ok ||
        heif_image_add_plane(im, heif_channel_interleaved, w, h, 8).code !=
            heif_error_Ok)
        goto done;
    uint8_t *plane = heif_image_get_plane(im, heif_channel_interleaved,
                                          &stride);
    for (int y = 0; plane && y < h; y++)
        memcpy(plane + (size_t)y * (size_t)stride, px + (size_t)y * w * 3,
               (size_t)w * 3);
    if (plane &&
        heif_context_encode_image(ctx, im, enc, NULL, NULL).code ==
            heif_error_Ok &&
        heif_context_write_to_file(ctx, path).code == heif_error_Ok)
        rc = 0;
done:
    if (im)
        heif_image_release(im);
    if (enc)
        heif_encoder_release(enc);
    if (ctx)
        heif_context_free(ctx);
    return rc;
}
#endif

#ifdef MF_JXL
static int write_jxl(const char *path, const uint8_t *px, int w, int h)
{
    JxlEncoder *enc = JxlEncoderCreate(NULL);
    JxlBasicInfo info;
    JxlColorEncoding ce;
    JxlPixelFormat pf = {3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
    size_t cap = 1 << 16, used = 0;
    uint8_t *out = malloc(cap);
    int rc = -1;
    if (!enc || !out)
        goto done;
    JxlEncoderInitBasicInfo(&info);
    info.xsize = (uint32_t)w;
    info.ysize = (uint32_t)h;
    info.bits_per_sample = 8;
    info.num_color_channels = 3;
    info.uses_original_profile = JXL_FALSE;
    JxlColorEncodingSetToSRGB(&ce, JXL_FALSE);
    JxlEncoderFrameSettings *fs = JxlEncoderFrameSettingsCreate(enc, NULL);
    if (JxlEncoderSetBasicInfo(enc, &info) != JXL_ENC_SUCCESS ||
        JxlEncoderSetColorEncoding(enc, &ce) != JXL_ENC_SUCCESS || !fs ||
        JxlEncoderSetFrameDistance(fs, 1.0f) != JXL_ENC_SUCCESS ||
        JxlEncoderFrameSettingsSetOption(fs, JXL_ENC_FRAME_SETTING_EFFORT,
                                         7) != JXL_ENC_SUCCESS ||
        JxlEncoderAddImageFrame(fs, &pf, px, (size_t)w * (size_t)h * 3) !=
            JXL_ENC_SUCCESS)
        goto done;
    JxlEncoderCloseInput(enc);
    for (;;) {
        uint8_t *next = out + used;
        size_t avail = cap - used;
        JxlEncoderStatus st = JxlEncoderProcessOutput(enc, &next, &avail);
        used = (size_t)(next - out);
        if (st == JXL_ENC_SUCCESS) {
            rc = save(path, out, used);
            break;
        }
        if (st != JXL_ENC_NEED_MORE_OUTPUT)
            break;
        uint8_t *bigger = realloc(out, cap * 2);
        if (!bigger)
            break;
        out = bigger;
        cap *= 2;
    }
done:
    free(out);
    if (enc)
        JxlEncoderDestroy(enc);
    return rc;
}
#endif

typedef struct kind {
    const char *dir, *ext;
    int (*write)(const char *, const uint8_t *, int, int);
    int on;
} kind;

/* Marks the kinds of a comma-separated list; 0 when one is unknown. */
static int choose(kind *k, size_t n, const char *names)
{
    for (size_t i = 0; i < n; i++)
        k[i].on = 0;
    while (*names) {
        size_t len = strcspn(names, ","), i;
        for (i = 0; i < n; i++)
            if (strlen(k[i].dir) == len && !strncmp(k[i].dir, names, len))
                break;
        if (i == n)
            return 0;
        k[i].on = 1;
        names += len + (names[len] == ',');
    }
    return 1;
}

int main(int argc, char **argv)
{
    kind kinds[] = {
        {"webp", "webp", write_webp, 1}, {"tiff", "tif", write_tiff, 1},
        {"gif", "gif", write_gif, 1},    {"bmp", "bmp", write_bmp, 1},
        {"pnm", "ppm", write_pnm, 1},    {"tga", "tga", write_tga, 1},
#ifdef MF_AVIF
        {"avif", "avif", write_avif, 1},
#endif
#ifdef MF_HEIF
        {"heic", "heic", write_heif, 1},
#endif
#ifdef MF_JXL
        {"jxl", "jxl", write_jxl, 1},
#endif
    };
    size_t nk = sizeof kinds / sizeof kinds[0], count = 1000;
    const char *src_dir = NULL, *out_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            if (!choose(kinds, nk, argv[++i])) {
                fprintf(stderr, "make_formats: unknown or unbuilt kind in "
                        "'%s'\n", argv[i]);
                return 2;
            }
        } else if (!src_dir)
            src_dir = argv[i];
        else if (!out_dir)
            out_dir = argv[i];
        else
            src_dir = NULL, i = argc;
    }
    if (!src_dir || !out_dir) {
        fprintf(stderr, "usage: make_formats SRC OUT [--count N] "
                "[--only K,K...]\n");
        return 2;
    }
    list src = {0};
    walk(src_dir, &src);
    qsort(src.v, src.n, sizeof *src.v, cmp);
    char path[4096], done[4096];
    struct stat st;
    size_t todo = 0;
    mkdir(out_dir, 0755);
    for (size_t k = 0; k < nk; k++) {
        snprintf(path, sizeof path, "%s/%s", out_dir, kinds[k].dir);
        if (kinds[k].on && stat(path, &st) == 0) {
            printf("make_formats: %s exists, left as it is\n", path);
            kinds[k].on = 0;
        }
        /* written under .KIND.part, renamed when whole: a run cut short
         * leaves no folder that looks finished */
        snprintf(path, sizeof path, "%s/.%s.part", out_dir, kinds[k].dir);
        if (kinds[k].on && (mkdir(path, 0755) == 0 || errno == EEXIST))
            todo++;
        else
            kinds[k].on = 0;
    }
    if (!todo)
        return 0;
    size_t made = 0;
    for (size_t i = 0; i < src.n && made < count; i++) {
        int w, h;
        uint8_t *px = load(src.v[i], &w, &h);
        if (!px)
            continue;
        for (size_t k = 0; k < nk; k++) {
            if (!kinds[k].on)
                continue;
            snprintf(path, sizeof path, "%s/.%s.part/%05zu.%s", out_dir,
                     kinds[k].dir, made, kinds[k].ext);
            if (kinds[k].write(path, px, w, h) != 0)
                fprintf(stderr, "make_formats: cannot write %s\n", path);
        }
        free(px);
        made++;
    }
    for (size_t k = 0; k < nk; k++) {
        if (!kinds[k].on)
            continue;
        snprintf(path, sizeof path, "%s/.%s.part", out_dir, kinds[k].dir);
        snprintf(done, sizeof done, "%s/%s", out_dir, kinds[k].dir);
        if (rename(path, done) != 0)
            fprintf(stderr, "make_formats: cannot rename %s: %s\n", path,
                    strerror(errno));
    }
    printf("make_formats: %zu images into %s\n", made, out_dir);
    for (size_t i = 0; i < src.n; i++)
        free(src.v[i]);
    free(src.v);
    return 0;
}
