/*
 * Tests of the HTML building blocks and the thumbnails: escaping (table
 * driven, hostile names, invalid UTF-8), base64 against RFC 4648's
 * vectors, a page with every block checked for balanced tags, alt text
 * and no external reference, and thumbnails of JPEG and PNG files written
 * here with libjpeg and libpng (sizes, colors after scaling, alpha,
 * 16-bit, CMYK, interlacing, truncation, files that are not images),
 * decoded back with libjpeg.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <openssl/evp.h>
#include <png.h>

#include "html/html.h"
#include "core/core.h"

static char tmpdir[64];

/* ---- capturing output ------------------------------------------------ */

typedef struct capture {
    FILE *f;
    char *buf;
    size_t len;
} capture;

static void cap_open(capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
}

/* Closes the stream; c->buf holds the text (free it). */
static char *cap_close(capture *c)
{
    assert_int_equal(fclose(c->f), 0);
    return c->buf;
}

/* ---- escaping -------------------------------------------------------- */

static const struct {
    const char *in, *out;
} escapes[] = {
    {"plain/path.jpg", "plain/path.jpg"},
    {"<img src=x onerror=alert(1)>.jpg",
     "&lt;img src=x onerror=alert(1)&gt;.jpg"},
    {"a&b\"c'd", "a&amp;b&quot;c&#39;d"},
    {"&amp;", "&amp;amp;"},
    {"tab\tnew\nline", "tab\tnew\nline"},
    {"bell\a esc\x1b del\x7f", "bell\xEF\xBF\xBD esc\xEF\xBF\xBD "
                               "del\xEF\xBF\xBD"},
    {"caf\xC3\xA9 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xF0\x9F\x98\x80"},
    {"bad\xFF" "byte", "bad\xEF\xBF\xBD" "byte"},
    {"overlong\xC0\xAF", "overlong\xEF\xBF\xBD\xEF\xBF\xBD"},
    {"surrogate\xED\xA0\x80", "surrogate\xEF\xBF\xBD\xEF\xBF\xBD"
                              "\xEF\xBF\xBD"},
    {"cut\xE2\x82", "cut\xEF\xBF\xBD\xEF\xBF\xBD"},
    {"\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
                         "\xEF\xBF\xBD"},
    {"", ""},
};

static void test_escape(void **state)
{
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(escapes); i++) {
        capture c;
        cap_open(&c);
        ia_html_text(c.f, escapes[i].in);
        char *s = cap_close(&c);
        if (strcmp(s, escapes[i].out) != 0)
            fail_msg("escape case %zu: got '%s', want '%s'", i, s,
                     escapes[i].out);
        free(s);
    }
    capture c;
    cap_open(&c);
    ia_html_text(c.f, NULL);
    char *s = cap_close(&c);
    assert_string_equal(s, "");
    free(s);
}

static void test_cut(void **state)
{
    static const struct {
        const char *in;
        size_t max;
        const char *out;
    } cases[] = {
        {"abcdef", 3, "abc\xE2\x80\xA6"},
        {"abc", 3, "abc"},
        {"\xC3\xA9\xC3\xA9\xC3\xA9x", 2, "\xC3\xA9\xC3\xA9\xE2\x80\xA6"},
        {"<<<<", 2, "&lt;&lt;\xE2\x80\xA6"},
    };
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        capture c;
        cap_open(&c);
        ia_html_text_cut(c.f, cases[i].in, cases[i].max);
        char *s = cap_close(&c);
        assert_string_equal(s, cases[i].out);
        free(s);
    }
}

static void test_base64(void **state)
{
    /* RFC 4648, section 10. */
    static const char *const vec[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(vec); i++) {
        capture c;
        cap_open(&c);
        ia_html_base64(c.f, (const uint8_t *)vec[i][0], strlen(vec[i][0]));
        char *s = cap_close(&c);
        assert_string_equal(s, vec[i][1]);
        free(s);
    }
    static const uint8_t bin[] = {0xfb, 0xff, 0xbf, 0x00};
    capture c;
    cap_open(&c);
    ia_html_base64(c.f, bin, sizeof bin);
    char *s = cap_close(&c);
    assert_string_equal(s, "+/+/AA==");
    free(s);
}

static void test_count(void **state)
{
    static const struct {
        uint64_t n;
        const char *out;
    } cases[] = {
        {0, "0"}, {999, "999"}, {1000, "1\xE2\x80\x89" "000"},
        {1234567, "1\xE2\x80\x89" "234\xE2\x80\x89" "567"},
    };
    (void)state;
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++) {
        capture c;
        cap_open(&c);
        ia_html_count(c.f, cases[i].n);
        char *s = cap_close(&c);
        assert_string_equal(s, cases[i].out);
        free(s);
    }
}

/* ---- structure of a page --------------------------------------------- */

static int is_void(const char *name, size_t len)
{
    static const char *const voids[] = {"meta", "img", "br", "hr", "input",
                                        "link"};
    for (size_t i = 0; i < IA_ARRAY_LEN(voids); i++)
        if (strlen(voids[i]) == len && memcmp(voids[i], name, len) == 0)
            return 1;
    return 0;
}

/* Checks that tags nest and close; every <img> has a non-empty alt and a
 * data: source; no script, and no src/href but data: and #fragments.
 * Returns a description of the first problem, or NULL. */
static const char *check_structure(const char *html)
{
    static char why[160];
    const char *stack[256];
    size_t lens[256], depth = 0;
    if (strstr(html, "<script") || strstr(html, "url("))
        return "script or url() present";
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        if (p[1] == '!')
            continue;   /* doctype */
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789");
        const char *end = strchr(p, '>');
        if (!len || !end)
            return "malformed tag";
        int self_closing = end[-1] == '/';
        if (len == 3 && memcmp(name, "img", 3) == 0) {
            const char *alt = strstr(p, " alt=\"");
            if (!alt || alt > end || alt[6] == '"')
                return "img without alt";
            const char *src = strstr(p, " src=\"");
            if (!src || src > end || strncmp(src + 6, "data:image/", 11))
                return "img without a data: source";
        }
        const char *href = strstr(p, " href=\"");
        if (href && href < end && href[7] != '#')
            return "href that is not a fragment";
        if (closing) {
            if (!depth || lens[depth - 1] != len ||
                memcmp(stack[depth - 1], name, len) != 0) {
                ia_bprintf(why, sizeof why, "unbalanced </%.*s>", (int)len,
                           name);
                return why;
            }
            depth--;
        } else if (!self_closing && !is_void(name, len)) {
            if (depth == IA_ARRAY_LEN(stack))
                return "too deep";
            stack[depth] = name;
            lens[depth++] = len;
        }
    }
    return depth ? "unclosed tags at the end" : NULL;
}

static const char hostile[] = "<img src=x onerror=alert(1)>.jpg";

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void path_in_tmp(char *buf, size_t cap, const char *name)
{
    ia_bprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* name in the temporary folder as a scan reading it now would have
 * stored it (size and SHA-256 of its bytes; a file that cannot be read
 * gets size -1 and a zero digest, which no thumbnail gets past). */
static ia_thumb_src src_of(const char *name)
{
    ia_thumb_src s = {.root = tmpdir, .path = name, .size = -1,
                      .have_sha256 = 1};
    char p[256];
    if (name[0] == '/')
        ia_bprintf(p, sizeof p, "%s", name);
    else
        path_in_tmp(p, sizeof p, name);
    FILE *f = fopen(p, "rb");
    uint8_t buf[4096];
    size_t n;
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    for (s.size = 0; f && (n = fread(buf, 1, sizeof buf, f)) > 0;
         s.size += (int64_t)n)
        EVP_DigestUpdate(ctx, buf, n);
    if (!f || ferror(f))
        s.size = -1;
    else
        assert_int_equal(EVP_DigestFinal_ex(ctx, s.sha256, &len), 1);
    EVP_MD_CTX_free(ctx);
    if (f)
        fclose(f);
    return s;
}

/* The thumbnail of name in the temporary folder, checked against its
 * bytes as they are now. */
static void make_thumb(ia_thumber *t, const char *name, ia_thumb *th)
{
    ia_thumb_src s = src_of(name);
    assert_int_equal(ia_thumb_make(t, &s, th), IA_OK);
}

/* ---- writing test images --------------------------------------------- */

typedef void (*pixel_fn)(uint32_t x, uint32_t y, uint8_t *px, int ch);

static void px_solid(uint32_t x, uint32_t y, uint8_t *px, int ch)
{
    static const uint8_t rgb[4] = {200, 40, 90, 255};
    (void)x;
    (void)y;
    for (int c = 0; c < ch; c++)
        px[c] = rgb[c];
}

static void px_halves(uint32_t x, uint32_t y, uint8_t *px, int ch)
{
    (void)y;
    for (int c = 0; c < ch; c++)
        px[c] = x < 128 ? 0 : 255;
}

/* Dark noise (values 0-63) that deflate cannot shrink much, so half of
 * the file holds about half of the rows. */
static void px_noise(uint32_t x, uint32_t y, uint8_t *px, int ch)
{
    uint32_t v = (x * 2654435761u) ^ (y * 2246822519u);
    v ^= v >> 13;
    v *= 3266489917u;
    v ^= v >> 16;
    for (int c = 0; c < ch; c++)
        px[c] = (uint8_t)((v >> (8 * c)) & 63);
}

static void write_jpeg(const char *path, uint32_t w, uint32_t h, int ch,
                       J_COLOR_SPACE cs, pixel_fn fn)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    FILE *f = fopen(path, "wb");
    uint8_t *row = malloc((size_t)w * (size_t)ch);
    assert_non_null(f);
    assert_non_null(row);
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = w;
    c.image_height = h;
    c.input_components = ch;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++)
            fn(x, y, row + (size_t)x * (size_t)ch, ch);
        JSAMPROW r[1] = {row};
        jpeg_write_scanlines(&c, r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
    free(row);
}

/* color_type as libpng's; bit_depth 8 or 16 (16: each sample v*257). */
static void write_png(const char *path, uint32_t w, uint32_t h,
                      int color_type, int bit_depth, int interlace,
                      pixel_fn fn)
{
    int ch = color_type == PNG_COLOR_TYPE_GRAY ? 1
             : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
             : color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
    size_t bps = (size_t)bit_depth / 8;
    FILE *f = fopen(path, "wb");
    uint8_t *px = malloc((size_t)ch);
    uint8_t *row = malloc((size_t)w * (size_t)ch * bps);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
                                              NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(f);
    assert_non_null(row);
    assert_non_null(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, bit_depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++) {
                fn(x, y, px, ch);
                for (int c = 0; c < ch; c++) {
                    size_t i = ((size_t)x * (size_t)ch + (size_t)c) * bps;
                    row[i] = px[c];
                    if (bps == 2)
                        row[i + 1] = px[c];
                }
            }
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(row);
    free(px);
}

/* Decodes a thumbnail's JPEG; *w, *h, *ch set; returns malloc'd pixels. */
static uint8_t *decode(const ia_thumb *t, uint32_t *w, uint32_t *h, int *ch)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, t->jpeg, (unsigned long)t->len);
    assert_int_equal(jpeg_read_header(&d, TRUE), JPEG_HEADER_OK);
    jpeg_start_decompress(&d);
    *w = d.output_width;
    *h = d.output_height;
    *ch = d.output_components;
    size_t stride = (size_t)*w * (size_t)*ch;
    uint8_t *px = malloc(stride * *h);
    assert_non_null(px);
    while (d.output_scanline < d.output_height) {
        JSAMPROW r[1] = {px + stride * d.output_scanline};
        jpeg_read_scanlines(&d, r, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return px;
}

/* Mean of channel c over the thumbnail's column band [x0, x1). */
static double mean_at(const uint8_t *px, uint32_t w, uint32_t h, int ch,
                      int c, uint32_t x0, uint32_t x1)
{
    double s = 0;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = x0; x < x1; x++)
            s += px[((size_t)y * w + x) * (size_t)ch + (size_t)c];
    return s / ((double)h * (x1 - x0));
}

/* ---- thumbnails ------------------------------------------------------ */

typedef struct tcase {
    const char *name;
    int status;
    unsigned w, h;
    int ch;               /* channels of the thumbnail JPEG */
    int rgb[3];           /* expected mean color, -1: not checked */
} tcase;

static void check_thumb(ia_thumber *t, const tcase *tc)
{
    ia_thumb th;
    make_thumb(t, tc->name, &th);
    if (th.status != tc->status)
        fail_msg("%s: status %s, want %s", tc->name,
                 ia_thumb_status_name(th.status),
                 ia_thumb_status_name(tc->status));
    if (tc->status != IA_THUMB_OK && tc->status != IA_THUMB_PARTIAL) {
        assert_null(th.jpeg);
        return;
    }
    assert_non_null(th.jpeg);
    uint32_t w, h;
    int ch;
    uint8_t *px = decode(&th, &w, &h, &ch);
    if (w != tc->w || h != tc->h || th.width != w || th.height != h ||
        ch != tc->ch)
        fail_msg("%s: %ux%u x%d, want %ux%u x%d", tc->name, w, h, ch,
                 tc->w, tc->h, tc->ch);
    for (int c = 0; c < ch && tc->rgb[0] >= 0; c++) {
        double m = mean_at(px, w, h, ch, c, 0, w);
        if (m < tc->rgb[c] - 3 || m > tc->rgb[c] + 3)
            fail_msg("%s: channel %d mean %.1f, want %d", tc->name, c, m,
                     tc->rgb[c]);
    }
    free(px);
    free(th.jpeg);
}

static void make_images(void)
{
    char p[128];
    path_in_tmp(p, sizeof p, "rgb.jpg");
    write_jpeg(p, 1000, 500, 3, JCS_RGB, px_solid);
    path_in_tmp(p, sizeof p, "gray.jpg");
    write_jpeg(p, 300, 300, 1, JCS_GRAYSCALE, px_solid);
    path_in_tmp(p, sizeof p, "small.jpg");
    write_jpeg(p, 40, 30, 3, JCS_RGB, px_solid);
    path_in_tmp(p, sizeof p, "tall.jpg");
    write_jpeg(p, 16, 2000, 3, JCS_RGB, px_solid);
    path_in_tmp(p, sizeof p, "cmyk.jpg");
    write_jpeg(p, 64, 64, 4, JCS_CMYK, px_solid);
    path_in_tmp(p, sizeof p, "rgb16.png");
    write_png(p, 500, 250, PNG_COLOR_TYPE_RGB, 16, 0, px_solid);
    path_in_tmp(p, sizeof p, "rgba_adam7.png");
    write_png(p, 500, 250, PNG_COLOR_TYPE_RGBA, 8, 1, px_solid);
    path_in_tmp(p, sizeof p, "gray_adam7_small.png");
    write_png(p, 100, 100, PNG_COLOR_TYPE_GRAY, 8, 1, px_solid);
    path_in_tmp(p, sizeof p, "adam7_1x1.png");
    write_png(p, 1, 1, PNG_COLOR_TYPE_RGB, 8, 1, px_solid);
    path_in_tmp(p, sizeof p, "adam7_3x1.png");
    write_png(p, 3, 1, PNG_COLOR_TYPE_RGB, 8, 1, px_solid);
    path_in_tmp(p, sizeof p, "halves.png");
    write_png(p, 256, 128, PNG_COLOR_TYPE_GRAY, 8, 0, px_halves);
    path_in_tmp(p, sizeof p, "noise.png");
    write_png(p, 512, 512, PNG_COLOR_TYPE_GRAY, 8, 0, px_noise);
    path_in_tmp(p, sizeof p, "ga.png");
    write_png(p, 10, 10, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, px_solid);
    /* Truncated copies: half of each file. */
    static const char *const cut[][2] = {{"rgb.jpg", "cut.jpg"},
                                         {"noise.png", "cut.png"}};
    for (size_t i = 0; i < IA_ARRAY_LEN(cut); i++) {
        char src[128];
        struct stat st;
        path_in_tmp(src, sizeof src, cut[i][0]);
        assert_int_equal(stat(src, &st), 0);
        FILE *f = fopen(src, "rb");
        size_t half = (size_t)st.st_size / 2;
        uint8_t *buf = malloc(half);
        assert_int_equal(fread(buf, 1, half, f), half);
        fclose(f);
        path_in_tmp(p, sizeof p, cut[i][1]);
        write_file(p, buf, half);
        free(buf);
    }
    path_in_tmp(p, sizeof p, "text.jpg");
    write_file(p, "hello, not an image\n", 20);
    path_in_tmp(p, sizeof p, "empty.png");
    write_file(p, "", 0);
    path_in_tmp(p, sizeof p, "header_only.png");
    write_file(p, "\x89PNG\r\n\x1a\n", 8);
    path_in_tmp(p, sizeof p, "folder.jpg");
    assert_int_equal(mkdir(p, 0755), 0);
    path_in_tmp(p, sizeof p, hostile);
    write_jpeg(p, 64, 48, 3, JCS_RGB, px_solid);
}

static void test_thumbs(void **state)
{
    /* The solid color is (200, 40, 90); gray images keep its first
     * value; RGBA/GA alpha is 255 in px_solid, so no blending shows. */
    static const tcase cases[] = {
        {"rgb.jpg", IA_THUMB_OK, 128, 64, 3, {200, 40, 90}},
        {"gray.jpg", IA_THUMB_OK, 128, 128, 1, {200, -1, -1}},
        {"small.jpg", IA_THUMB_OK, 40, 30, 3, {200, 40, 90}},
        {"tall.jpg", IA_THUMB_OK, 1, 128, 3, {-1, -1, -1}},
        /* Adobe-inverted CMYK: k * c / 255 with c=200, k=255. */
        {"cmyk.jpg", IA_THUMB_OK, 64, 64, 3, {200, 40, 90}},
        {"rgb16.png", IA_THUMB_OK, 128, 64, 3, {200, 40, 90}},
        {"rgba_adam7.png", IA_THUMB_OK, 128, 64, 3, {200, 40, 90}},
        {"gray_adam7_small.png", IA_THUMB_OK, 100, 100, 1, {200, -1, -1}},
        {"adam7_1x1.png", IA_THUMB_OK, 1, 1, 3, {200, 40, 90}},
        {"adam7_3x1.png", IA_THUMB_OK, 3, 1, 3, {200, 40, 90}},
        /* gray 200 at alpha 40 over white: 200 * 40 / 255 + 215 */
        {"ga.png", IA_THUMB_OK, 10, 10, 1, {246, -1, -1}},
        {"cut.jpg", IA_THUMB_OK, 128, 64, 3, {-1, -1, -1}},
        {"cut.png", IA_THUMB_PARTIAL, 128, 128, 1, {-1, -1, -1}},
        {"text.jpg", IA_THUMB_FORMAT, 0, 0, 0, {0}},
        {"empty.png", IA_THUMB_FORMAT, 0, 0, 0, {0}},
        {"header_only.png", IA_THUMB_UNDECODABLE, 0, 0, 0, {0}},
        {"folder.jpg", IA_THUMB_UNREADABLE, 0, 0, 0, {0}},
        {"no/such/file.jpg", IA_THUMB_MISSING, 0, 0, 0, {0}},
        {hostile, IA_THUMB_OK, 64, 48, 3, {200, 40, 90}},
    };
    ia_thumber *t = NULL;
    (void)state;
    assert_int_equal(ia_thumber_new(NULL, &t), IA_OK);
    for (size_t i = 0; i < IA_ARRAY_LEN(cases); i++)
        check_thumb(t, &cases[i]);
    ia_thumber_free(t);
}

/* The box filter: a sharp black|white edge stays where it was. */
static void test_box_filter(void **state)
{
    ia_thumber *t = NULL;
    ia_thumb th;
    uint32_t w, h;
    int ch;
    (void)state;
    assert_int_equal(ia_thumber_new(NULL, &t), IA_OK);
    make_thumb(t, "halves.png", &th);
    assert_int_equal(th.status, IA_THUMB_OK);
    uint8_t *px = decode(&th, &w, &h, &ch);
    assert_int_equal(w, 128);
    assert_int_equal(h, 64);
    assert_true(mean_at(px, w, h, ch, 0, 0, 56) < 4);
    assert_true(mean_at(px, w, h, ch, 0, 72, 128) > 251);
    free(px);
    free(th.jpeg);
    /* The truncated copy keeps its decoded top rows; the rest is gray. */
    make_thumb(t, "cut.png", &th);
    assert_int_equal(th.status, IA_THUMB_PARTIAL);
    px = decode(&th, &w, &h, &ch);
    assert_int_equal(h, 128);
    double top = 0, bottom = 0;
    for (uint32_t x = 0; x < w; x++) {
        top += px[x];
        bottom += px[(size_t)(h - 1) * w + x];
    }
    top /= w;
    bottom /= w;
    if (top < 26 || top > 38 || bottom < 125 || bottom > 131)
        fail_msg("cut.png: top row mean %.1f (want ~31.5), bottom %.1f "
                 "(want 128)", top, bottom);
    free(px);
    free(th.jpeg);
    ia_thumber_free(t);
}

static void test_limits(void **state)
{
    ia_thumb_opts o = {64, 50, 1000, 0, 0};
    ia_thumber *t = NULL;
    ia_thumb th;
    (void)state;
    assert_int_equal(ia_thumber_new(&o, &t), IA_OK);
    make_thumb(t, "rgb.jpg", &th);
    assert_int_equal(th.status, IA_THUMB_TOO_LARGE);
    assert_null(th.jpeg);
    make_thumb(t, "small.jpg", &th);   /* 1200 pixels */
    assert_int_equal(th.status, IA_THUMB_TOO_LARGE);
    make_thumb(t, "ga.png", &th);      /* 100 pixels */
    assert_int_equal(th.status, IA_THUMB_OK);
    free(th.jpeg);
    ia_thumber_free(t);
    ia_thumb_opts small = {64, 0, 0, 0, 0};
    assert_int_equal(ia_thumber_new(&small, &t), IA_OK);
    make_thumb(t, "rgb.jpg", &th);
    assert_int_equal(th.width, 64);
    assert_int_equal(th.height, 32);
    free(th.jpeg);
    ia_thumber_free(t);
}

typedef struct progress_log {
    uint64_t calls, last_done, total;
} progress_log;

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    progress_log *l = user;
    assert_int_equal(done, l->last_done + 1);
    l->calls++;
    l->last_done = done;
    l->total = total;
}

static void test_thumbset(void **state)
{
    ia_thumbset *s = NULL;
    ia_thumb_src a = src_of("rgb.jpg"), b = src_of("no-such.jpg");
    ia_thumb_src c = src_of("gray.jpg");
    long ia, ib, ia2, ic;
    progress_log log = {0, 0, 0};
    (void)state;
    assert_int_equal(ia_thumbset_new(NULL, 2, &s), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &a, &ia), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &b, &ib), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &a, &ia2), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &c, &ic), IA_OK);
    assert_int_equal(ia, 0);
    assert_int_equal(ib, 1);
    assert_int_equal(ia2, 0);   /* the same file once */
    assert_int_equal(ic, -1);   /* full */
    assert_int_equal(ia_thumbset_count(s), 2);
    assert_int_equal(ia_thumbset_get(s, 0)->status, IA_THUMB_SKIPPED);
    assert_null(ia_thumbset_get(s, -1));
    assert_null(ia_thumbset_get(s, 2));
    assert_int_equal(ia_thumbset_make(s, on_progress, &log, NULL), IA_OK);
    assert_int_equal(log.calls, 2);
    assert_int_equal(log.total, 2);
    assert_int_equal(ia_thumbset_get(s, 0)->status, IA_THUMB_OK);
    assert_int_equal(ia_thumbset_get(s, 1)->status, IA_THUMB_MISSING);
    ia_thumbset_free(s);

    /* A budget of one thumbnail: the second and what follows are not
     * made (the order added is the order of priority). */
    ia_thumb_opts tight = {0, 0, 0, 0, 0};
    ia_thumb one;
    ia_thumber *t = NULL;
    assert_int_equal(ia_thumber_new(NULL, &t), IA_OK);
    assert_int_equal(ia_thumb_make(t, &a, &one), IA_OK);
    ia_thumber_free(t);
    tight.max_set_bytes = one.len + 10;
    free(one.jpeg);
    assert_int_equal(ia_thumbset_new(&tight, 0, &s), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &a, &ia), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &c, &ic), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &b, &ib), IA_OK);
    assert_int_equal(ia_thumbset_make(s, NULL, NULL, NULL), IA_OK);
    assert_int_equal(ia_thumbset_get(s, ia)->status, IA_THUMB_OK);
    assert_int_equal(ia_thumbset_get(s, ic)->status, IA_THUMB_SKIPPED);
    assert_null(ia_thumbset_get(s, ic)->jpeg);
    assert_int_equal(ia_thumbset_get(s, ib)->status, IA_THUMB_SKIPPED);
    ia_thumbset_free(s);

    /* Cancelled before the start: nothing is made. */
    volatile sig_atomic_t cancel = 1;
    assert_int_equal(ia_thumbset_new(NULL, 0, &s), IA_OK);
    assert_int_equal(ia_thumbset_add(s, &a, &ia), IA_OK);
    assert_int_equal(ia_thumbset_make(s, NULL, NULL, &cancel), IA_OK);
    assert_int_equal(ia_thumbset_get(s, ia)->status, IA_THUMB_SKIPPED);
    ia_thumbset_free(s);
    ia_thumbset_free(NULL);
}

static void expect_status(ia_thumber *t, const ia_thumb_src *s, int want)
{
    ia_thumb th;
    assert_int_equal(ia_thumb_make(t, s, &th), IA_OK);
    if (th.status != want)
        fail_msg("%s: status %s, want %s", s->path,
                 ia_thumb_status_name(th.status),
                 ia_thumb_status_name(want));
    assert_true((th.jpeg != NULL) == (want == IA_THUMB_OK));
    free(th.jpeg);
}

/* A file is shown only as its scan saw it: beneath the scan's root, by
 * its symlink rule, holding the bytes scanned (docs/security.md). */
static void test_thumb_checks(void **state)
{
    ia_thumber *t = NULL;
    char p[256], q[256];
    (void)state;
    assert_int_equal(ia_thumber_new(NULL, &t), IA_OK);
    ia_thumb_src s = src_of("rgb.jpg");
    expect_status(t, &s, IA_THUMB_OK);
    s.size++;
    expect_status(t, &s, IA_THUMB_CHANGED);
    s.size--;
    s.sha256[17] ^= 1;      /* same size, other bytes: decoded, then refused */
    expect_status(t, &s, IA_THUMB_CHANGED);
    s.sha256[17] ^= 1;
    s.have_sha256 = 0;
    expect_status(t, &s, IA_THUMB_UNVERIFIED);

    /* a symlink, as the file or as a folder on the way */
    path_in_tmp(p, sizeof p, "link.jpg");
    assert_int_equal(symlink("rgb.jpg", p), 0);
    path_in_tmp(p, sizeof p, "linkdir");
    assert_int_equal(symlink(".", p), 0);
    const char *links[] = {"link.jpg", "linkdir/rgb.jpg"};
    const int refused[] = {IA_THUMB_SYMLINK, IA_THUMB_VIA_SYMLINK};
    for (int i = 0; i < 2; i++) {
        s = src_of(links[i]);
        expect_status(t, &s, refused[i]);
        s.follow = 1;       /* the scan followed them */
        expect_status(t, &s, IA_THUMB_OK);
    }

    /* out of the root: an absolute path unless the scan allowed it, ".." */
    path_in_tmp(q, sizeof q, "rgb.jpg");
    s = src_of(q);
    expect_status(t, &s, IA_THUMB_OUTSIDE);
    s.allow_outside = 1;
    expect_status(t, &s, IA_THUMB_OK);
    ia_bprintf(p, sizeof p, "../%s/rgb.jpg", strrchr(tmpdir, '/') + 1);
    s = src_of(p);
    expect_status(t, &s, IA_THUMB_OUTSIDE);
    ia_thumber_free(t);
}

/* The same file gives the same bytes: reports are reproducible. */
static void test_deterministic(void **state)
{
    ia_thumber *t = NULL;
    ia_thumb x, y;
    (void)state;
    assert_int_equal(ia_thumber_new(NULL, &t), IA_OK);
    make_thumb(t, "rgba_adam7.png", &x);
    make_thumb(t, "rgba_adam7.png", &y);
    assert_int_equal(x.len, y.len);
    assert_memory_equal(x.jpeg, y.jpeg, x.len);
    free(x.jpeg);
    free(y.jpeg);
    ia_thumber_free(t);
}

/* ---- a whole page ---------------------------------------------------- */

static void test_page(void **state)
{
    static const char *const labels[] = {"cat", hostile, "dog"};
    static const uint64_t a[] = {10, 3, 0}, b[] = {12, 0, 5};
    static const ia_html_series two[] = {{"base", a}, {"new <b>", b}};
    static const char *const ids[] = {"one"};
    static const char *const titles[] = {"One & two"};
    ia_html_meta meta[] = {{"root", "/data/<x>"}, {"files", "3"}};
    ia_thumbset *set = NULL;
    ia_thumb_src jpg = src_of(hostile), missing = src_of("gone.jpg");
    long id_ok, id_missing;
    capture c;
    (void)state;
    assert_int_equal(ia_thumbset_new(NULL, 0, &set), IA_OK);
    assert_int_equal(ia_thumbset_add(set, &jpg, &id_ok), IA_OK);
    assert_int_equal(ia_thumbset_add(set, &missing, &id_missing), IA_OK);
    assert_int_equal(ia_thumbset_make(set, NULL, NULL, NULL), IA_OK);

    cap_open(&c);
    ia_html_page_begin(c.f, hostile);
    ia_html_header(c.f, "imgaudit report", hostile, meta, 2);
    ia_html_nav(c.f, ids, titles, 1);
    ia_html_verdict(c.f, IA_HTML_FAIL, "Fail", hostile);
    ia_html_notice(c.f, IA_HTML_WARN, hostile);
    ia_html_section_begin(c.f, "one", hostile);
    ia_html_cards_begin(c.f);
    ia_html_card(c.f, hostile, 12345, IA_HTML_WARN);
    ia_html_card_text(c.f, "MB", hostile, IA_HTML_PASS);
    ia_html_cards_end(c.f);
    ia_html_severity(c.f, 2);
    ia_html_subhead(c.f, hostile);
    ia_html_para(c.f, hostile);
    ia_html_chart bars = {hostile, labels, 3, two, 2, 1, NULL, NULL};
    ia_html_chart hist = {"h", labels, 3, two, 1, 0, hostile, NULL};
    ia_html_charts_begin(c.f);
    ia_html_bar_chart(c.f, &bars);
    ia_html_histogram(c.f, &hist);
    ia_html_charts_end(c.f);
    ia_html_gallery_begin(c.f);
    ia_html_figure(c.f, set, id_ok, hostile, hostile);
    ia_html_figure(c.f, set, id_missing, "gone.jpg", NULL);
    ia_html_figure(c.f, set, -1, "not shown.jpg", NULL);
    ia_html_figure(c.f, NULL, 0, "no set.jpg", NULL);
    ia_html_gallery_end(c.f);
    ia_html_group_begin(c.f, hostile);
    ia_html_figure(c.f, set, id_ok, "a.jpg", "train / cat");
    ia_html_group_end(c.f);
    ia_html_more(c.f, 0, "files");
    ia_html_more(c.f, 1234, hostile);
    ia_html_section_end(c.f);
    ia_html_page_end(c.f, hostile);
    char *html = cap_close(&c);

    const char *why = check_structure(html);
    if (why)
        fail_msg("structure: %s", why);
    /* The hostile name never appears raw, always escaped. */
    assert_null(strstr(html, "<img src=x"));
    assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;.jpg"));
    assert_non_null(strstr(html, "Content-Security-Policy"));
    assert_non_null(strstr(html, "<div class=\"ph\">file missing</div>"));
    assert_non_null(strstr(html, "<div class=\"ph\">not shown</div>"));
    assert_non_null(strstr(html, "alt=\"thumbnail of &lt;img src=x"));
    assert_non_null(strstr(html, "and 1\xE2\x80\x89" "234 more &lt;img"));
    assert_null(strstr(html, "and 0 more"));
    /* Two series: percent of each series' total, e.g. cat 10/13. */
    assert_non_null(strstr(html, "76.9%"));
    assert_non_null(strstr(html, "70.6%"));
    free(html);
    ia_thumbset_free(set);
}

/* ---- setup ----------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    ia_strlcpy(tmpdir, "/tmp/ia_test_html_XXXXXX", sizeof tmpdir);
    if (!mkdtemp(tmpdir))
        return -1;
    make_images();
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    ia_bprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_thumbs),
        cmocka_unit_test(test_box_filter),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_thumbset),
        cmocka_unit_test(test_thumb_checks),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
