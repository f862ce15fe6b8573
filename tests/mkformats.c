/*
 * mkformats: writes the fixtures of the formats besides JPEG and PNG
 * (issue 15) from code, byte for byte the same on every run, with the
 * formats' own encoders (libwebp and libwebpmux, giflib, libtiff) and by
 * hand (BMP, PNM, TGA: a header and rows), plus the JPEG and PNG copies
 * that the duplicate and leak checks compare them with.
 *
 *   mkformats OUTDIR
 *
 * tests/formats.csv holds the verdict imgaudit must give each file; the
 * integration test (tests/integration/test_formats.py) regenerates the
 * tree, compares it with the committed fixtures/formats, scans it and
 * checks every verdict, the duplicate groups and leaks, and the pixels
 * against Pillow's. AVIF, HEIF and JPEG XL files are not made here (their
 * encoders are not deterministic across versions): a few tiny ones are
 * committed in fixtures/formats/codecs (fixtures/README.md).
 *
 * The images are drawn from fixed seeds. "scene" has at most 216 colours
 * (a 6-level cube), so the same pixels can be saved as GIF too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>
#include <webp/encode.h>
#include <webp/mux.h>

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static int buf_add(buf *b, const void *d, size_t n)
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

static int put_le(buf *b, uint32_t v, int bytes)
{
    uint8_t x[4];
    for (int i = 0; i < bytes; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return buf_add(b, x, (size_t)bytes);
}

/* ---- Images ------------------------------------------------------------- */

enum { W = 96, H = 72 };

/* RGB(A), W x H. */
typedef struct image {
    int ch;
    uint8_t px[W * H * 4];
} image;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Gradients, an ellipse and bars; quantised to a 6-level cube when
 * cube (216 colours), smooth otherwise. */
static void draw(image *im, uint64_t seed, int cube, int ch)
{
    uint64_t r = mix(seed);
    int cx = 20 + (int)(r % 50), cy = 15 + (int)((r >> 8) % 40);
    im->ch = ch;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int v[4] = {x * 255 / (W - 1), y * 255 / (H - 1),
                        (x + y) * 255 / (W + H - 2), 255};
            int dx = x - cx, dy = y - cy;
            if (dx * dx * 4 + dy * dy * 9 < 900) {
                v[0] = 230 - v[0] / 4;
                v[1] = 40 + (int)(r >> 16) % 60;
                v[2] = 60;
            }
            if ((x / 12) % 3 == 0 && y > 50) {
                v[0] = v[1] = v[2] = 20;
            }
            if (ch == 4)
                v[3] = x < 8 ? 0 : x < 16 ? 128 : 255;
            uint8_t *o = im->px + ((size_t)y * W + (size_t)x) * (size_t)ch;
            for (int k = 0; k < ch; k++)
                o[k] = (uint8_t)(cube && k < 3 ? (v[k] + 25) / 51 * 51 : v[k]);
        }
}

static uint8_t luma(const uint8_t *p)
{
    return (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] +
                      0x8000u) >> 16);
}

static void scene(image *im)
{
    draw(im, 1, 1, 3);
}

/* ---- PNG and JPEG (the copies compared with) --------------------------- */

static int encode_png(const image *im, buf *out)
{
    png_image p;
    memset(&p, 0, sizeof p);
    p.version = PNG_IMAGE_VERSION;
    p.width = W;
    p.height = H;
    p.format = im->ch == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    if (!png_image_write_get_memory_size(p, n, 0, im->px, 0, NULL))
        return -1;
    out->p = malloc(n);
    if (!out->p)
        return -1;
    out->cap = n;
    if (!png_image_write_to_memory(&p, out->p, &n, 0, im->px, 0, NULL))
        return -1;
    out->n = n;
    return 0;
}

static int encode_jpeg(const image *im, int quality, buf *out)
{
    static uint8_t row_copy[W * 3]; /* libjpeg takes rows as non-const */
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *mem = NULL;
    unsigned long n = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &n);
    c.image_width = W;
    c.image_height = H;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < H) {
        memcpy(row_copy, im->px + (size_t)c.next_scanline * W * 3, W * 3);
        JSAMPROW row = row_copy;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    int rc = buf_add(out, mem, n);
    free(mem);
    return rc;
}

/* The pixels libjpeg gives back (for copies of a JPEG). */
static int decode_jpeg(const buf *in, image *im)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, in->p, (unsigned long)in->n);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    im->ch = 3;
    while (d.output_scanline < H) {
        JSAMPROW row = im->px + (size_t)d.output_scanline * W * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return 0;
}

/* ---- WebP ------------------------------------------------------------- */

static int webp_out(uint8_t *data, size_t n, buf *out)
{
    int rc = n ? buf_add(out, data, n) : -1;
    WebPFree(data);
    return rc;
}

static int webp_lossless(const image *im, buf *out)
{
    uint8_t *data = NULL;
    size_t n = im->ch == 4
                   ? WebPEncodeLosslessRGBA(im->px, W, H, W * 4, &data)
                   : WebPEncodeLosslessRGB(im->px, W, H, W * 3, &data);
    return webp_out(data, n, out);
}

static int webp_lossy(const image *im, int q, buf *out)
{
    uint8_t *data = NULL;
    size_t n = WebPEncodeRGB(im->px, W, H, W * 3, (float)q, &data);
    return webp_out(data, n, out);
}

/* Three frames: the scene, then two others drawn from other seeds. */
static int webp_animated(buf *out)
{
    WebPAnimEncoderOptions opt;
    WebPConfig cfg;
    WebPPicture pic;
    WebPData data = {NULL, 0};
    static image im;
    int rc = -1;
    if (!WebPAnimEncoderOptionsInit(&opt) || !WebPConfigInit(&cfg) ||
        !WebPPictureInit(&pic))
        return -1;
    cfg.lossless = 1;
    WebPAnimEncoder *enc = WebPAnimEncoderNew(W, H, &opt);
    pic.width = W;
    pic.height = H;
    pic.use_argb = 1;
    for (int f = 0; enc && f < 3; f++) {
        draw(&im, 1 + (uint64_t)f * 7, 1, 3);
        if (!WebPPictureImportRGB(&pic, im.px, W * 3) ||
            !WebPAnimEncoderAdd(enc, &pic, f * 100, &cfg))
            goto out;
    }
    if (enc && WebPAnimEncoderAdd(enc, NULL, 300, NULL) &&
        WebPAnimEncoderAssemble(enc, &data))
        rc = buf_add(out, data.bytes, data.size);
out:
    WebPDataClear(&data);
    WebPPictureFree(&pic);
    WebPAnimEncoderDelete(enc);
    return rc;
}

/* ---- GIF -------------------------------------------------------------- */

static int gif_write(GifFileType *g, const GifByteType *d, int n)
{
    return buf_add(g->UserData, d, (size_t)n) == 0 ? n : 0;
}

static uint8_t cube_index(const uint8_t *p)
{
    return (uint8_t)(p[0] / 51 * 36 + p[1] / 51 * 6 + p[2] / 51);
}

static ColorMapObject *cube_map(void)
{
    ColorMapObject *m = GifMakeMapObject(256, NULL);
    for (int i = 0; m && i < 256; i++) {
        int k = i < 216 ? i : 0;
        m->Colors[i].Red = (GifByteType)(k / 36 * 51);
        m->Colors[i].Green = (GifByteType)(k / 6 % 6 * 51);
        m->Colors[i].Blue = (GifByteType)(k % 6 * 51);
    }
    return m;
}

static int gif_frame(GifFileType *g, const image *im, int interlace,
                     int trns)
{
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    GifByteType line[W], ext[4];
    GraphicsControlBlock gcb = {0, false, 10, trns};
    size_t n = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, (int)n, ext) != GIF_OK ||
        EGifPutImageDesc(g, 0, 0, W, H, interlace, NULL) != GIF_OK)
        return -1;
    for (int p = 0; p < (interlace ? 4 : 1); p++)
        for (int y = interlace ? start[p] : 0; y < H;
             y += interlace ? step[p] : 1) {
            for (int x = 0; x < W; x++)
                line[x] = cube_index(im->px + ((size_t)y * W + x) * 3);
            if (EGifPutLine(g, line, W) != GIF_OK)
                return -1;
        }
    return 0;
}

/* frames images from seeds 1, 8, 15, ...; trns: transparency index. */
static int encode_gif(buf *out, int frames, int interlace, int trns)
{
    static image im;
    int err = 0, rc = -1;
    GifFileType *g = EGifOpen(out, gif_write, &err);
    ColorMapObject *map = cube_map();
    if (!g || !map)
        goto out;
    EGifSetGifVersion(g, true);
    if (EGifPutScreenDesc(g, W, H, 8, 0, map) != GIF_OK)
        goto out;
    rc = 0;
    for (int f = 0; rc == 0 && f < frames; f++) {
        draw(&im, 1 + (uint64_t)f * 7, 1, 3);
        rc = gif_frame(g, &im, interlace, trns);
    }
out:
    GifFreeMapObject(map);
    if (g && EGifCloseFile(g, &err) != GIF_OK)
        rc = -1;
    return rc;
}

/* ---- TIFF (libtiff writes a file; its bytes are read back) ------------ */

typedef struct tiff_job {
    int bps, spp, photo, fmt, compression, tiled, planar, pages, extra;
    const image *im;
} tiff_job;

static uint16_t colormap[3][256];

static void sample_row(const tiff_job *j, int y, int plane, uint8_t *row)
{
    const image *im = j->im;
    for (int x = 0; x < W; x++) {
        const uint8_t *p = im->px + ((size_t)y * W + x) * (size_t)im->ch;
        uint8_t v[5] = {p[0], p[1], p[2], im->ch == 4 ? p[3] : 255, 0};
        if (j->photo == PHOTOMETRIC_SEPARATED) {
            v[3] = (uint8_t)(255 - (v[0] > v[1] ? (v[0] > v[2] ? v[0] : v[2])
                                                : (v[1] > v[2] ? v[1] : v[2])));
            for (int k = 0; k < 3; k++)
                v[k] = (uint8_t)(255 - v[k] - v[3] > 0 ? 255 - v[k] - v[3]
                                                       : 0);
        } else if (j->photo == PHOTOMETRIC_PALETTE) {
            v[0] = cube_index(p);
        } else if (j->spp <= 2 && j->photo != PHOTOMETRIC_RGB) {
            v[1] = v[3];
            v[0] = luma(p);
        }
        for (int k = 0; k < j->spp; k++) {
            if (plane >= 0 && k != plane)
                continue;
            size_t i = plane >= 0 ? (size_t)x : (size_t)x * j->spp + k;
            if (j->fmt == SAMPLEFORMAT_IEEEFP) {
                float f = (float)v[k] / 2.5f + 0.25f;
                memcpy(row + 4 * i, &f, 4);
            } else if (j->bps == 16) {
                uint16_t s = (uint16_t)(v[k] * 16 + (x & 15));
                memcpy(row + 2 * i, &s, 2);
            } else if (j->bps == 1) {
                if (i % 8 == 0)
                    row[i / 8] = 0;
                row[i / 8] |= (uint8_t)((v[k] >= 128) << (7 - i % 8));
            } else {
                row[i] = v[k];
            }
        }
    }
}

static int tiff_page(TIFF *t, const tiff_job *j)
{
    uint16_t extra[1] = {(uint16_t)j->extra};
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, H);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, j->bps);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, j->spp);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, j->photo);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, j->fmt);
    TIFFSetField(t, TIFFTAG_COMPRESSION, j->compression);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, j->planar);
    if (j->extra >= 0)
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, extra);
    if (j->photo == PHOTOMETRIC_PALETTE)
        TIFFSetField(t, TIFFTAG_COLORMAP, colormap[0], colormap[1],
                     colormap[2]);
    if (j->tiled) {
        TIFFSetField(t, TIFFTAG_TILEWIDTH, 32);
        TIFFSetField(t, TIFFTAG_TILELENGTH, 32);
    } else {
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    }
    static uint8_t row[W * 5 * 4], tile[32 * 32 * 5 * 4];
    if (j->tiled) {
        size_t bpp = (size_t)j->spp * (size_t)j->bps / 8;
        for (int ty = 0; ty < H; ty += 32)
            for (int tx = 0; tx < W; tx += 32) {
                memset(tile, 0, sizeof tile);
                for (int y = ty; y < ty + 32 && y < H; y++) {
                    sample_row(j, y, -1, row);
                    size_t n = (size_t)(W - tx < 32 ? W - tx : 32) * bpp;
                    memcpy(tile + (size_t)(y - ty) * 32 * bpp,
                           row + (size_t)tx * bpp, n);
                }
                if (TIFFWriteTile(t, tile, (uint32_t)tx, (uint32_t)ty, 0,
                                  0) < 0)
                    return -1;
            }
        return TIFFWriteDirectory(t) ? 0 : -1;
    }
    int planes = j->planar == PLANARCONFIG_SEPARATE ? j->spp : 1;
    for (int p = 0; p < planes; p++)
        for (int y = 0; y < H; y++) {
            sample_row(j, y, planes > 1 ? p : -1, row);
            if (TIFFWriteScanline(t, row, (uint32_t)y, (uint16_t)p) < 0)
                return -1;
        }
    return TIFFWriteDirectory(t) ? 0 : -1;
}

static int read_back(const char *path, buf *out)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[8192];
    size_t n;
    int rc = f ? 0 : -1;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_add(out, chunk, n) != 0)
            rc = -1;
    if (f)
        fclose(f);
    return rc;
}

static int encode_tiff(const tiff_job *j, buf *out)
{
    char path[] = "/tmp/mkformats-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    for (int i = 0; i < 256; i++) {
        int k = i < 216 ? i : 0;
        colormap[0][i] = (uint16_t)(k / 36 * 51 * 257);
        colormap[1][i] = (uint16_t)(k / 6 % 6 * 51 * 257);
        colormap[2][i] = (uint16_t)(k % 6 * 51 * 257);
    }
    TIFF *t = TIFFOpen(path, "w");
    int rc = t ? 0 : -1;
    for (int p = 0; t && rc == 0 && p < (j->pages ? j->pages : 1); p++)
        rc = tiff_page(t, j);
    if (t)
        TIFFClose(t);
    if (rc == 0)
        rc = read_back(path, out);
    unlink(path);
    return rc;
}

/* ---- BMP, PNM, TGA by hand -------------------------------------------- */

/* bpp 24 or 32 (BGRA bit fields when alpha), or 8 with the cube palette
 * (RLE8 when rle); bottom-up unless top_down. */
static int encode_bmp(const image *im, int bpp, int rle, int top_down,
                      buf *out)
{
    buf px = {0};
    size_t stride = ((size_t)W * (size_t)bpp + 31) / 32 * 4;
    int fields = bpp == 32;
    uint32_t head = fields ? 108 : 40, pal = bpp == 8 ? 256 * 4 : 0;
    for (int r = 0; r < H; r++) {
        int y = top_down ? r : H - 1 - r;
        uint8_t row[W * 4 + 4] = {0};
        for (int x = 0; x < W; x++) {
            const uint8_t *p = im->px + ((size_t)y * W + x) * (size_t)im->ch;
            if (bpp == 8) {
                row[x] = cube_index(p);
                continue;
            }
            uint8_t *o = row + (size_t)x * (size_t)(bpp / 8);
            o[0] = p[2], o[1] = p[1], o[2] = p[0];
            if (bpp == 32)
                o[3] = im->ch == 4 ? p[3] : 255;
        }
        if (!rle) {
            if (buf_add(&px, row, stride))
                return -1;
            continue;
        }
        for (int x = 0; x < W;) { /* runs of equal indices */
            int n = 1;
            while (x + n < W && n < 255 && row[x + n] == row[x])
                n++;
            uint8_t run[2] = {(uint8_t)n, row[x]};
            if (buf_add(&px, run, 2))
                return -1;
            x += n;
        }
        uint8_t eol[2] = {0, (uint8_t)(r == H - 1 ? 1 : 0)};
        if (buf_add(&px, eol, 2))
            return -1;
    }
    uint32_t off = 14 + head + pal;
    int rc = buf_add(out, "BM", 2) || put_le(out, off + (uint32_t)px.n, 4) ||
             put_le(out, 0, 4) || put_le(out, off, 4) ||
             put_le(out, head, 4) || put_le(out, W, 4) ||
             put_le(out, top_down ? (uint32_t)-H : H, 4) ||
             put_le(out, 1, 2) || put_le(out, (uint32_t)bpp, 2) ||
             put_le(out, rle ? 1 : fields ? 3 : 0, 4) ||
             put_le(out, (uint32_t)px.n, 4) || put_le(out, 2835, 4) ||
             put_le(out, 2835, 4) || put_le(out, bpp == 8 ? 256 : 0, 4) ||
             put_le(out, 0, 4);
    if (!rc && fields) { /* v4: masks, colour space, endpoints, gammas */
        rc = put_le(out, 0xFF0000, 4) || put_le(out, 0xFF00, 4) ||
             put_le(out, 0xFF, 4) || put_le(out, 0xFF000000u, 4) ||
             put_le(out, 0x73524742, 4);
        for (int i = 0; !rc && i < 12; i++)
            rc = put_le(out, 0, 4);
    }
    for (int i = 0; !rc && bpp == 8 && i < 256; i++) {
        int k = i < 216 ? i : 0;
        uint8_t e[4] = {(uint8_t)(k % 6 * 51), (uint8_t)(k / 6 % 6 * 51),
                        (uint8_t)(k / 36 * 51), 0};
        rc = buf_add(out, e, 4);
    }
    rc = rc || buf_add(out, px.p, px.n);
    free(px.p);
    return rc ? -1 : 0;
}

/* kind 1-6; maxval for P2/P3/P5/P6. */
static int encode_pnm(const image *im, int kind, unsigned maxval, buf *out)
{
    char head[64];
    int gray = kind == 2 || kind == 5, bits = kind == 1 || kind == 4;
    int n = bits ? snprintf(head, sizeof head, "P%d\n%d %d\n", kind, W, H)
                 : snprintf(head, sizeof head, "P%d\n# imgaudit\n%d %d\n%u\n",
                            kind, W, H, maxval);
    if (buf_add(out, head, (size_t)n))
        return -1;
    for (int y = 0; y < H; y++) {
        uint8_t packed[W / 8 + 1] = {0};
        for (int x = 0; x < W; x++) {
            const uint8_t *p = im->px + ((size_t)y * W + x) * 3;
            uint8_t v[3] = {p[0], p[1], p[2]};
            if (gray || bits)
                v[0] = luma(p);
            for (int k = 0; k < (gray || bits ? 1 : 3); k++) {
                unsigned s = bits ? v[k] < 128u : v[k] * maxval / 255u;
                char t[8];
                if (kind == 4) {
                    packed[x / 8] |= (uint8_t)(s << (7 - x % 8));
                } else if (kind <= 3) {
                    int m = snprintf(t, sizeof t, kind == 1 ? "%u" : "%u ",
                                     s);
                    if (buf_add(out, t, (size_t)m))
                        return -1;
                } else if (maxval > 255) {
                    uint8_t be[2] = {(uint8_t)(s >> 8), (uint8_t)s};
                    if (buf_add(out, be, 2))
                        return -1;
                } else {
                    uint8_t b = (uint8_t)s;
                    if (buf_add(out, &b, 1))
                        return -1;
                }
            }
        }
        if (kind == 4 && buf_add(out, packed, (W + 7) / 8))
            return -1;
        if (kind <= 3 && buf_add(out, "\n", 1))
            return -1;
    }
    return 0;
}

/* type 2 (BGR/BGRA), 3 (grey), +8 for RLE; top-down when top. */
static int encode_tga(const image *im, int type, int top, buf *out)
{
    int gray = (type & 7) == 3, depth = gray ? 8 : im->ch * 8;
    uint8_t h[18] = {0};
    h[2] = (uint8_t)type;
    h[12] = W, h[14] = H;
    h[16] = (uint8_t)depth;
    h[17] = (uint8_t)((top ? 0x20 : 0) | (im->ch == 4 ? 8 : 0));
    if (buf_add(out, h, sizeof h))
        return -1;
    size_t bpp = (size_t)depth / 8;
    for (int r = 0; r < H; r++) {
        int y = top ? r : H - 1 - r;
        uint8_t row[W * 4];
        for (int x = 0; x < W; x++) {
            const uint8_t *p = im->px + ((size_t)y * W + x) * (size_t)im->ch;
            uint8_t *o = row + (size_t)x * bpp;
            if (gray) {
                o[0] = luma(p);
                continue;
            }
            o[0] = p[2], o[1] = p[1], o[2] = p[0];
            if (bpp == 4)
                o[3] = p[3];
        }
        if (!(type & 8)) {
            if (buf_add(out, row, W * bpp))
                return -1;
            continue;
        }
        for (int x = 0; x < W;) { /* RLE packets within the row */
            int n = 1;
            while (x + n < W && n < 128 &&
                   memcmp(row + (size_t)(x + n) * bpp, row + (size_t)x * bpp,
                          bpp) == 0)
                n++;
            uint8_t hd = (uint8_t)(0x80 | (n - 1));
            if (buf_add(out, &hd, 1) ||
                buf_add(out, row + (size_t)x * bpp, bpp))
                return -1;
            x += n;
        }
    }
    return 0;
}

/* ---- The fixtures ------------------------------------------------------ */

static image g_im;

static int cut(buf *b, unsigned percent)
{
    b->n = b->n * percent / 100;
    return 0;
}

/* XORs n bytes from offset at (from the end when negative). */
static int damage(buf *b, long at, size_t n)
{
    size_t off = at < 0 ? b->n - (size_t)(-at) : (size_t)at;
    for (size_t i = 0; i < n && off + i < b->n; i++)
        b->p[off + i] ^= 0xA5;
    return 0;
}

static const image *scene_im(void)
{
    scene(&g_im);
    return &g_im;
}

static const image *smooth_im(uint64_t seed)
{
    draw(&g_im, seed, 0, 3);
    return &g_im;
}

static const image *rgba_im(void)
{
    draw(&g_im, 3, 0, 4);
    return &g_im;
}

#define TIFF_RGB8 8, 3, PHOTOMETRIC_RGB, SAMPLEFORMAT_UINT

static int tiff(buf *o, int bps, int spp, int photo, int fmt, int comp,
                int tiled, int planar, int pages, int extra,
                const image *im)
{
    tiff_job j = {bps, spp, photo, fmt, comp, tiled, planar, pages, extra,
                  im};
    return encode_tiff(&j, o);
}

/* The same pixels in every lossless format (pixel_duplicate group). */
static int same_png(buf *o) { return encode_png(scene_im(), o); }
static int same_webp(buf *o) { return webp_lossless(scene_im(), o); }
static int same_gif(buf *o) { return encode_gif(o, 1, 0, -1); }
static int same_bmp(buf *o) { return encode_bmp(scene_im(), 24, 0, 0, o); }
static int same_ppm(buf *o) { return encode_pnm(scene_im(), 6, 255, o); }
static int same_tga(buf *o) { return encode_tga(scene_im(), 2, 0, o); }
static int same_tif(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1,
                -1, scene_im());
}

/* WebP */
static int webp_lossy_fx(buf *o) { return webp_lossy(smooth_im(5), 75, o); }
static int webp_alpha(buf *o) { return webp_lossless(rgba_im(), o); }
static int webp_anim(buf *o) { return webp_animated(o); }
static int webp_trunc(buf *o)
{
    return webp_lossy(smooth_im(6), 90, o) || cut(o, 60);
}
static int webp_corrupt(buf *o)
{
    return webp_lossless(smooth_im(7), o) || damage(o, 30, 40);
}

/* GIF */
static int gif_trns(buf *o) { return encode_gif(o, 1, 0, 0); }
static int gif_anim(buf *o) { return encode_gif(o, 3, 0, -1); }
static int gif_interlaced(buf *o) { return encode_gif(o, 1, 1, -1); }
static int gif_trunc(buf *o) { return encode_gif(o, 1, 0, -1) || cut(o, 50); }
static int gif_corrupt(buf *o)
{
    /* codes past the table: the LZW data right after the code size */
    return encode_gif(o, 1, 0, -1) || damage(o, 13 + 768 + 8 + 10 + 2, 6);
}

/* TIFF */
static int tif_lzw(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_LZW, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(8));
}
static int tif_tiled(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_ADOBE_DEFLATE, 1,
                PLANARCONFIG_CONTIG, 1, -1, smooth_im(9));
}
static int tif_planar(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_NONE, 0, PLANARCONFIG_SEPARATE, 1,
                -1, smooth_im(10));
}
static int tif_gray16(buf *o)
{
    return tiff(o, 16, 1, PHOTOMETRIC_MINISBLACK, SAMPLEFORMAT_UINT,
                COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(11));
}
static int tif_rgb16(buf *o)
{
    return tiff(o, 16, 3, PHOTOMETRIC_RGB, SAMPLEFORMAT_UINT,
                COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(12));
}
static int tif_float(buf *o)
{
    return tiff(o, 32, 1, PHOTOMETRIC_MINISBLACK, SAMPLEFORMAT_IEEEFP,
                COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(13));
}
static int tif_palette(buf *o)
{
    return tiff(o, 8, 1, PHOTOMETRIC_PALETTE, SAMPLEFORMAT_UINT,
                COMPRESSION_PACKBITS, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(14));
}
static int tif_cmyk(buf *o)
{
    return tiff(o, 8, 4, PHOTOMETRIC_SEPARATED, SAMPLEFORMAT_UINT,
                COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(15));
}
static int tif_rgba(buf *o)
{
    return tiff(o, 8, 4, PHOTOMETRIC_RGB, SAMPLEFORMAT_UINT,
                COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1,
                EXTRASAMPLE_UNASSALPHA, rgba_im());
}
static int tif_bilevel(buf *o)
{
    return tiff(o, 1, 1, PHOTOMETRIC_MINISWHITE, SAMPLEFORMAT_UINT,
                COMPRESSION_CCITTFAX4, 0, PLANARCONFIG_CONTIG, 1, -1,
                smooth_im(16));
}
static int tif_pages(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_LZW, 0, PLANARCONFIG_CONTIG, 3, -1,
                smooth_im(17));
}
static int tif_trunc(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_NONE, 0, PLANARCONFIG_CONTIG, 1,
                -1, smooth_im(18)) || cut(o, 50);
}
static int tif_corrupt(buf *o)
{
    return tiff(o, TIFF_RGB8, COMPRESSION_ADOBE_DEFLATE, 0,
                PLANARCONFIG_CONTIG, 1, -1, smooth_im(19)) ||
           damage(o, 8, 16);
}

/* BMP */
static int bmp_pal(buf *o) { return encode_bmp(scene_im(), 8, 0, 0, o); }
static int bmp_rle(buf *o) { return encode_bmp(scene_im(), 8, 1, 0, o); }
static int bmp_alpha(buf *o) { return encode_bmp(rgba_im(), 32, 0, 0, o); }
static int bmp_top(buf *o) { return encode_bmp(smooth_im(20), 24, 0, 1, o); }
static int bmp_trunc(buf *o)
{
    return encode_bmp(smooth_im(21), 24, 0, 0, o) || cut(o, 70);
}
static int bmp_corrupt(buf *o)
{
    /* an RLE8 run longer than the row */
    return encode_bmp(scene_im(), 8, 1, 0, o) ||
           (o->p[14 + 40 + 1024] = 250, o->p[14 + 40 + 1024 + 2] = 250, 0);
}

/* PNM */
static int pgm(buf *o) { return encode_pnm(smooth_im(22), 5, 255, o); }
static int pbm(buf *o) { return encode_pnm(smooth_im(23), 4, 1, o); }
static int plain_ppm(buf *o) { return encode_pnm(smooth_im(24), 3, 100, o); }
static int plain_pgm(buf *o) { return encode_pnm(smooth_im(25), 2, 15, o); }
static int plain_pbm(buf *o) { return encode_pnm(smooth_im(26), 1, 1, o); }
static int pgm16(buf *o) { return encode_pnm(smooth_im(27), 5, 4095, o); }
static int ppm16(buf *o) { return encode_pnm(smooth_im(28), 6, 65535, o); }
/* binary with a maxval under 255: each byte through pnm.c's table */
static int ppm100(buf *o) { return encode_pnm(smooth_im(60), 6, 100, o); }
static int pgm31(buf *o) { return encode_pnm(smooth_im(61), 5, 31, o); }
static int pnm_trunc(buf *o)
{
    return encode_pnm(smooth_im(29), 6, 255, o) || cut(o, 50);
}
static int pnm_corrupt(buf *o)
{
    /* a plain value over maxval */
    if (encode_pnm(smooth_im(30), 2, 15, o))
        return -1;
    memcpy(o->p + o->n - 3, "99", 2);
    return 0;
}

/* TGA */
static int tga_rle(buf *o) { return encode_tga(smooth_im(31), 10, 0, o); }
static int tga_gray(buf *o) { return encode_tga(smooth_im(32), 3, 1, o); }
static int tga_alpha(buf *o) { return encode_tga(rgba_im(), 2, 0, o); }
static int tga_trunc(buf *o)
{
    return encode_tga(smooth_im(33), 2, 0, o) || cut(o, 40);
}

/* JPEG: 12 bits per sample (SOF1, precision 12; the data is 8-bit, but
 * the decoder stops at the frame header). */
static int jpeg12(buf *o)
{
    if (encode_jpeg(smooth_im(34), 90, o))
        return -1;
    for (size_t i = 2; i + 4 < o->n; i++)
        if (o->p[i] == 0xFF && o->p[i + 1] == 0xC0) {
            o->p[i + 1] = 0xC1;
            o->p[i + 4] = 12;
            return 0;
        }
    return -1;
}

/* A WebP named .png. */
static int webp_named_png(buf *o) { return webp_lossy(smooth_im(35), 80, o); }

/* Leaks: a train JPEG; in test, a lossless WebP of its decoded pixels (a
 * pixel leak) and a lossy one (a near leak). */
static int leak_jpeg(buf *o) { return encode_jpeg(smooth_im(36), 90, o); }
static int leak_copy(buf *o)
{
    static image im;
    buf j = {0};
    int rc = leak_jpeg(&j) || decode_jpeg(&j, &im) || webp_lossless(&im, o);
    free(j.p);
    return rc;
}
static int leak_lossy(buf *o)
{
    static image im;
    buf j = {0};
    int rc = leak_jpeg(&j) || decode_jpeg(&j, &im) || webp_lossy(&im, 80, o);
    free(j.p);
    return rc;
}

typedef struct fixture {
    const char *path;
    int (*make)(buf *out);
} fixture;

static const fixture fixtures[] = {
    {"train/same/scene.png", same_png},
    {"train/same/scene.webp", same_webp},
    {"train/same/scene.gif", same_gif},
    {"train/same/scene.tif", same_tif},
    {"train/same/scene.bmp", same_bmp},
    {"train/same/scene.ppm", same_ppm},
    {"train/same/scene.tga", same_tga},
    {"train/webp/lossy.webp", webp_lossy_fx},
    {"train/webp/alpha.webp", webp_alpha},
    {"train/webp/animated.webp", webp_anim},
    {"test/webp/truncated.webp", webp_trunc},
    {"test/webp/corrupt.webp", webp_corrupt},
    {"train/gif/transparent.gif", gif_trns},
    {"train/gif/animated.gif", gif_anim},
    {"train/gif/interlaced.gif", gif_interlaced},
    {"test/gif/truncated.gif", gif_trunc},
    {"test/gif/corrupt.gif", gif_corrupt},
    {"train/tiff/lzw.tif", tif_lzw},
    {"train/tiff/tiled_deflate.tif", tif_tiled},
    {"train/tiff/planar.tif", tif_planar},
    {"train/tiff/gray16.tif", tif_gray16},
    {"train/tiff/rgb16.tif", tif_rgb16},
    {"train/tiff/float32.tif", tif_float},
    {"train/tiff/palette.tif", tif_palette},
    {"train/tiff/cmyk.tif", tif_cmyk},
    {"train/tiff/rgba.tif", tif_rgba},
    {"train/tiff/bilevel_g4.tif", tif_bilevel},
    {"train/tiff/three_pages.tif", tif_pages},
    {"test/tiff/truncated.tif", tif_trunc},
    {"test/tiff/corrupt.tif", tif_corrupt},
    {"train/bmp/palette8.bmp", bmp_pal},
    {"train/bmp/rle8.bmp", bmp_rle},
    {"train/bmp/bgra32.bmp", bmp_alpha},
    {"train/bmp/top_down.bmp", bmp_top},
    {"test/bmp/truncated.bmp", bmp_trunc},
    {"test/bmp/corrupt_rle.bmp", bmp_corrupt},
    {"train/pnm/gray.pgm", pgm},
    {"train/pnm/bitmap.pbm", pbm},
    {"train/pnm/plain.ppm", plain_ppm},
    {"train/pnm/plain.pgm", plain_pgm},
    {"train/pnm/plain.pbm", plain_pbm},
    {"train/pnm/deep4095.pgm", pgm16},
    {"train/pnm/deep65535.ppm", ppm16},
    {"train/pnm/binary100.ppm", ppm100},
    {"train/pnm/binary31.pgm", pgm31},
    {"test/pnm/truncated.ppm", pnm_trunc},
    {"test/pnm/corrupt_plain.pgm", pnm_corrupt},
    {"train/tga/rle.tga", tga_rle},
    {"train/tga/gray_top_down.tga", tga_gray},
    {"train/tga/bgra.tga", tga_alpha},
    {"test/tga/truncated.tga", tga_trunc},
    {"test/jpeg/precision12.jpg", jpeg12},
    {"test/other/webp_named.png", webp_named_png},
    {"train/leak/photo.jpg", leak_jpeg},
    {"test/leak/photo_copy.webp", leak_copy},
    {"test/leak/photo_lossy.webp", leak_lossy},
};

static int write_file(const char *dir, const char *rel, const buf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        int rc = mkdir(path, 0755), err = errno;
        *s = '/';
        if (rc != 0 && err != EEXIST)
            return -1;
    }
    FILE *f = fopen(path, "wb");
    int rc = f && fwrite(b->p, 1, b->n, f) == b->n ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    return rc;
}

int main(int argc, char **argv)
{
    int failed = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: mkformats OUTDIR\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        buf b = {0};
        if (fixtures[i].make(&b) != 0 || b.n == 0 ||
            write_file(argv[1], fixtures[i].path, &b) != 0) {
            fprintf(stderr, "mkformats: cannot make %s\n", fixtures[i].path);
            failed++;
        } else {
            printf("%-36s %6zu B\n", fixtures[i].path, b.n);
        }
        free(b.p);
    }
    return failed ? 1 : 0;
}
