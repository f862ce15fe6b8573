/*
 * Thumbnails (html/html.h): decode with as little work as the output needs,
 * box-downscale while the rows stream out, re-encode as a small JPEG.
 *
 * JPEG: libjpeg-turbo can scale in the inverse DCT (scale_num/8): we ask
 * for the smallest scale whose output is still at least the thumbnail's
 * size on both axes, so a 4000x3000 photo is decoded at 500x375 for a
 * 128-pixel thumbnail, with the fast integer DCT and no fancy upsampling
 * (a thumbnail needs no bit-exactness; the scan's statistics do, and they
 * come from decode/jpeg.c). CMYK is converted as decode/jpeg.c does.
 *
 * PNG: libpng row by row, 16-bit reduced to the high byte, palettes and
 * tRNS expanded, alpha composited over white. An interlaced PNG is read
 * without libpng's interlace handling (which needs the whole image): its
 * rows arrive pass by pass as seven small sub-images, and the last
 * non-empty pass (every other row, all columns) is the source of the
 * thumbnail; the scaler maps it onto the full image's aspect. Memory is
 * O(width) in every case.
 *
 * The scaler (box) maps each thumbnail pixel to a band of source rows and
 * columns and averages them exactly in integers; a band is at least one
 * row or column wide, so it also stretches a sub-image when needed.
 *
 * Errors: libjpeg and libpng report fatal errors through callbacks that
 * must not return; ours longjmp back into guarded_*(), the only functions
 * that call setjmp. Everything that changes between setjmp and longjmp
 * lives in the thumber's file state, never in automatic variables. Rows
 * already decoded when a file turns out corrupt are kept; the rest of the
 * thumbnail is gray and the status says so (partial). Warnings and
 * progressive scans are capped as in decode/jpeg.c.
 *
 * The file: opened beneath the scan's root by the scan's symlink rule
 * (ia_open_beneath), refused before any decoding when its size is not the
 * scanned one. The decoders read it through a stdio stream of our own
 * (fopencookie) that hashes every byte it hands them; after decoding the
 * rest of the file is read through it too, and the thumbnail is encoded
 * only when the SHA-256 of the whole is the scanned one. So the pixels
 * shown come from exactly the bytes hashed, even if the file is rewritten
 * while the report runs (no check-then-read window).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <openssl/evp.h>
#include <png.h>

#include "imgaudit.h"
#include "core/core.h"
#include "html/html.h"

/* A source row wider than this is refused (too_large): the row buffer
 * would otherwise follow an attacker's PNG width. JPEG's own limit. */
#define THUMB_MAX_WIDTH 65535u
#define GRAY_FILL 128

static const char *const status_names[IA_THUMB_STATUS_COUNT] = {
    [IA_THUMB_OK] = "ok",
    [IA_THUMB_PARTIAL] = "partly decoded",
    [IA_THUMB_MISSING] = "file missing",
    [IA_THUMB_UNREADABLE] = "unreadable",
    [IA_THUMB_FORMAT] = "not JPEG or PNG",
    [IA_THUMB_TOO_LARGE] = "too large",
    [IA_THUMB_UNDECODABLE] = "cannot decode",
    [IA_THUMB_SKIPPED] = "not shown",
    [IA_THUMB_CHANGED] = "changed since the scan",
    [IA_THUMB_SYMLINK] = "now a symlink",
    [IA_THUMB_VIA_SYMLINK] = "path goes through a symlink",
    [IA_THUMB_OUTSIDE] = "outside the root",
    [IA_THUMB_UNVERIFIED] = "not read by the scan",
};

const char *ia_thumb_status_name(int status)
{
    if (status < 0 || status >= IA_THUMB_STATUS_COUNT)
        return "unknown";
    return status_names[status];
}

/* ---- the box scaler -------------------------------------------------- */

typedef struct box {
    uint32_t sw, sh, tw, th;
    int ch;                 /* 1 or 3 */
    uint32_t *col_a;        /* tw + 1 band starts in source columns */
    uint64_t *acc;          /* tw * ch sums of the current band */
    uint8_t *out;           /* tw * th * ch: the thumbnail */
    uint32_t y;             /* source rows pushed */
    uint32_t ty;            /* current thumbnail row */
} box;

/* Start of band i of n over len source units; band i is
 * [start(i), max(start(i) + 1, start(i + 1))). */
static uint32_t band_start(uint32_t i, uint32_t n, uint32_t len)
{
    return (uint32_t)((uint64_t)i * len / n);
}

static uint32_t band_end(uint32_t i, uint32_t n, uint32_t len)
{
    uint32_t a = band_start(i, n, len), b = band_start(i + 1, n, len);
    return b > a ? b : a + 1;
}

/* Sizes the buffers; the caller's struct keeps them across files. */
static int box_begin(box *b, uint32_t sw, uint32_t sh, uint32_t tw,
                     uint32_t th, int ch, size_t *col_cap, size_t *acc_cap,
                     size_t *out_cap)
{
    size_t out_len;
    if (ia_mul3_size(tw, th, (size_t)ch, &out_len) != 0)
        return IA_ERR_NOMEM;
    if (tw + 1 > *col_cap) {
        uint32_t *p = realloc(b->col_a, (tw + 1) * sizeof *p);
        if (!p)
            return IA_ERR_NOMEM;
        b->col_a = p;
        *col_cap = tw + 1;
    }
    if ((size_t)tw * (size_t)ch > *acc_cap) {
        uint64_t *p = realloc(b->acc, (size_t)tw * (size_t)ch * sizeof *p);
        if (!p)
            return IA_ERR_NOMEM;
        b->acc = p;
        *acc_cap = (size_t)tw * (size_t)ch;
    }
    if (out_len > *out_cap) {
        uint8_t *p = realloc(b->out, out_len);
        if (!p)
            return IA_ERR_NOMEM;
        b->out = p;
        *out_cap = out_len;
    }
    b->sw = sw, b->sh = sh, b->tw = tw, b->th = th, b->ch = ch;
    b->y = b->ty = 0;
    for (uint32_t i = 0; i <= tw; i++)
        b->col_a[i] = band_start(i, tw, sw);
    memset(b->acc, 0, (size_t)tw * (size_t)ch * sizeof *b->acc);
    return IA_OK;
}

static void box_accumulate(box *b, const uint8_t *row)
{
    int ch = b->ch;
    for (uint32_t tx = 0; tx < b->tw; tx++) {
        uint32_t x0 = b->col_a[tx], x1 = band_end(tx, b->tw, b->sw);
        uint64_t *a = b->acc + (size_t)tx * (size_t)ch;
        for (uint32_t x = x0; x < x1; x++)
            for (int c = 0; c < ch; c++)
                a[c] += row[(size_t)x * (size_t)ch + (size_t)c];
    }
}

static void box_flush(box *b)
{
    uint64_t rows = band_end(b->ty, b->th, b->sh) -
                    band_start(b->ty, b->th, b->sh);
    uint8_t *o = b->out + (size_t)b->ty * b->tw * (size_t)b->ch;
    for (uint32_t tx = 0; tx < b->tw; tx++) {
        uint64_t n = rows * (band_end(tx, b->tw, b->sw) - b->col_a[tx]);
        for (int c = 0; c < b->ch; c++) {
            size_t i = (size_t)tx * (size_t)b->ch + (size_t)c;
            o[i] = (uint8_t)((b->acc[i] + n / 2) / n);
            b->acc[i] = 0;
        }
    }
    b->ty++;
}

/* One source row (sw pixels of ch bytes), top to bottom. */
static void box_push(box *b, const uint8_t *row)
{
    uint32_t y = b->y++;
    while (b->ty < b->th && band_start(b->ty, b->th, b->sh) <= y) {
        box_accumulate(b, row);
        if (y + 1 < band_end(b->ty, b->th, b->sh))
            break;
        box_flush(b);
    }
}

/* ---- the thumber ----------------------------------------------------- */

/* The stream's cookie: the descriptor and the digest of what was read. */
typedef struct hashed {
    int fd;
    EVP_MD_CTX *ctx;        /* the thumber's */
    uint64_t bytes;
    int failed;             /* a digest call failed */
} hashed;

/* Everything about the file at hand; reset per file. */
typedef struct file_state {
    FILE *fp;               /* reads through in */
    hashed in;
    int status;
    int nomem;
    int png_created;
    int jpeg_created;
    int cmyk;
    unsigned warnings;
    size_t eof_fill;        /* zero bytes supplied past the end (PNG) */
    uint32_t w, h;          /* the image */
    uint32_t sw, sh;        /* the rows that reach the scaler */
    int src_pass;           /* interlaced PNG: the pass used; else -1 */
    int in_ch;              /* bytes per decoded pixel */
    int ch;                 /* channels into the scaler (1 or 3) */
    png_structp png;
    png_infop info;
    uint8_t *enc;           /* libjpeg's output buffer (malloc'd) */
    unsigned long enc_len;
} file_state;

struct ia_thumber {
    ia_thumb_opts opt;
    EVP_MD *md;             /* SHA-256, fetched once */
    EVP_MD_CTX *ctx;
    struct jpeg_decompress_struct d;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    uint8_t *row;
    size_t row_cap;
    box box;
    size_t col_cap, acc_cap, out_cap;
    file_state f;
};

int ia_thumber_new(const ia_thumb_opts *opt, ia_thumber **out)
{
    ia_thumber *t = calloc(1, sizeof *t);
    if (!t)
        return IA_ERR_NOMEM;
    if (opt)
        t->opt = *opt;
    if (!t->opt.max_side)
        t->opt.max_side = IA_THUMB_DEFAULT_SIDE;
    if (t->opt.quality <= 0 || t->opt.quality > 100)
        t->opt.quality = IA_THUMB_DEFAULT_QUALITY;
    if (!t->opt.max_pixels)
        t->opt.max_pixels = IA_DEFAULT_MAX_PIXELS;
    if (!t->opt.max_file_bytes)
        t->opt.max_file_bytes = IA_DEFAULT_MAX_FILE_BYTES;
    t->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    t->ctx = EVP_MD_CTX_new();
    if (!t->md || !t->ctx) {
        ia_thumber_free(t);
        return IA_ERR_NOMEM;
    }
    *out = t;
    return IA_OK;
}

void ia_thumber_free(ia_thumber *t)
{
    if (!t)
        return;
    EVP_MD_CTX_free(t->ctx);
    EVP_MD_free(t->md);
    free(t->row);
    free(t->box.col_a);
    free(t->box.acc);
    free(t->box.out);
    free(t);
}

static int grow_row(ia_thumber *t, size_t len)
{
    if (len <= t->row_cap)
        return 0;
    uint8_t *p = realloc(t->row, len);
    if (!p)
        return -1;
    t->row = p;
    t->row_cap = len;
    return 0;
}

/* The thumbnail's size for a w x h image: the longer side max_side, the
 * aspect kept, never enlarged. */
static void target_size(const ia_thumber *t, uint32_t w, uint32_t h,
                        uint32_t *tw, uint32_t *th)
{
    uint32_t side = t->opt.max_side, m = w > h ? w : h;
    if (m <= side) {
        *tw = w, *th = h;
        return;
    }
    uint64_t a = ((uint64_t)w * side + m / 2) / m;
    uint64_t b = ((uint64_t)h * side + m / 2) / m;
    *tw = a ? (uint32_t)a : 1;
    *th = b ? (uint32_t)b : 1;
}

static int start_box(ia_thumber *t)
{
    uint32_t tw, th;
    size_t len;
    target_size(t, t->f.w, t->f.h, &tw, &th);
    if (ia_mul3_size(t->f.sw, (size_t)t->f.in_ch, 1, &len) != 0 ||
        grow_row(t, len) != 0 ||
        box_begin(&t->box, t->f.sw, t->f.sh, tw, th, t->f.ch, &t->col_cap,
                  &t->acc_cap, &t->out_cap) != IA_OK) {
        t->f.nomem = 1;
        return -1;
    }
    return 0;
}

/* Fills the rows the decoder did not deliver with gray. */
static void finish_box(ia_thumber *t)
{
    if (t->box.y < t->box.sh) {
        memset(t->row, GRAY_FILL, (size_t)t->box.sw * (size_t)t->box.ch);
        while (t->box.y < t->box.sh)
            box_push(&t->box, t->row);
    }
}

static unsigned muldiv255(unsigned a, unsigned b)
{
    unsigned v = a * b + 128;
    return (v + (v >> 8)) >> 8;
}

/* As decode/jpeg.c: Adobe-inverted CMYK to RGB, in place. */
static void cmyk_to_rgb(uint8_t *row, uint32_t width)
{
    for (uint32_t x = 0; x < width; x++) {
        const uint8_t *in = row + 4 * (size_t)x;
        unsigned c = in[0], m = in[1], y = in[2], k = in[3];
        uint8_t *out = row + 3 * (size_t)x;
        out[0] = (uint8_t)(k - muldiv255(255u - c, k));
        out[1] = (uint8_t)(k - muldiv255(255u - m, k));
        out[2] = (uint8_t)(k - muldiv255(255u - y, k));
    }
}

/* Gray+alpha or RGBA composited over white, in place, to ch channels. */
static void flatten_alpha(uint8_t *row, uint32_t width, int ch)
{
    for (uint32_t x = 0; x < width; x++) {
        const uint8_t *in = row + (size_t)x * (size_t)(ch + 1);
        unsigned a = in[ch];
        uint8_t *out = row + (size_t)x * (size_t)ch;
        for (int c = 0; c < ch; c++)
            out[c] = (uint8_t)(muldiv255(in[c], a) +
                               muldiv255(255u, 255u - a));
    }
}

/* ---- libjpeg callbacks (decoder and encoder) ------------------------- */

static void jpeg_fatal(j_common_ptr ci)
{
    ia_thumber *t = ci->client_data;
    longjmp(t->jump, 1);
}

static void jpeg_message(j_common_ptr ci, int level)
{
    ia_thumber *t = ci->client_data;
    if (level < 0 && ++t->f.warnings > IA_THUMB_MAX_WARNINGS)
        longjmp(t->jump, 1);
}

static void jpeg_output(j_common_ptr ci)
{
    (void)ci;   /* the library never prints */
}

static void jpeg_progress(j_common_ptr ci)
{
    ia_thumber *t = ci->client_data;
    if (ci->is_decompressor &&
        ((j_decompress_ptr)ci)->input_scan_number > IA_THUMB_MAX_SCANS)
        longjmp(t->jump, 1);
}

static void jpeg_setup_errors(ia_thumber *t)
{
    jpeg_std_error(&t->jerr);
    t->jerr.error_exit = jpeg_fatal;
    t->jerr.emit_message = jpeg_message;
    t->jerr.output_message = jpeg_output;
    t->progress.progress_monitor = jpeg_progress;
}

/* ---- JPEG ------------------------------------------------------------ */

/* Smallest M/8 with both scaled sides still at least the target's. */
static unsigned jpeg_scale(const ia_thumber *t, uint32_t w, uint32_t h)
{
    uint32_t tw, th;
    target_size(t, w, h, &tw, &th);
    for (unsigned m = 1; m < 8; m++)
        if (((uint64_t)w * m + 7) / 8 >= tw &&
            ((uint64_t)h * m + 7) / 8 >= th)
            return m;
    return 8;
}

/* Reads the header and picks the output; 0 to go on. */
static int jpeg_setup(ia_thumber *t)
{
    struct jpeg_decompress_struct *d = &t->d;
    jpeg_read_header(d, TRUE);
    t->f.w = d->image_width, t->f.h = d->image_height;
    if ((uint64_t)t->f.w * t->f.h > t->opt.max_pixels) {
        t->f.status = IA_THUMB_TOO_LARGE;
        return -1;
    }
    switch (d->num_components) {
    case 1: d->out_color_space = JCS_GRAYSCALE; t->f.ch = 1; break;
    case 3: d->out_color_space = JCS_RGB; t->f.ch = 3; break;
    case 4: d->out_color_space = JCS_CMYK; t->f.ch = 3; t->f.cmyk = 1; break;
    default:
        t->f.status = IA_THUMB_UNDECODABLE;
        return -1;
    }
    d->scale_num = jpeg_scale(t, t->f.w, t->f.h);
    d->scale_denom = 8;
    d->dct_method = JDCT_IFAST;
    d->do_fancy_upsampling = FALSE;
    d->do_block_smoothing = FALSE;
    jpeg_calc_output_dimensions(d);
    t->f.sw = d->output_width, t->f.sh = d->output_height;
    t->f.in_ch = d->output_components;
    return 0;
}

static void guarded_jpeg(ia_thumber *t)
{
    struct jpeg_decompress_struct *d = &t->d;
    if (setjmp(t->jump)) {
        if (t->box.y > 0 && t->f.status == IA_THUMB_UNDECODABLE)
            t->f.status = IA_THUMB_PARTIAL;
        return;
    }
    t->f.status = IA_THUMB_UNDECODABLE;
    d->err = &t->jerr;
    d->client_data = t;
    jpeg_create_decompress(d);
    t->f.jpeg_created = 1;
    d->progress = &t->progress;
    jpeg_stdio_src(d, t->f.fp);
    if (jpeg_setup(t) != 0)
        return;
    jpeg_start_decompress(d);
    if (start_box(t) != 0)
        return;
    while (d->output_scanline < d->output_height) {
        JSAMPROW rows[1] = {t->row};
        if (jpeg_read_scanlines(d, rows, 1) != 1)
            break;
        if (t->f.cmyk)
            cmyk_to_rgb(t->row, t->f.sw);
        box_push(&t->box, t->row);
    }
    t->f.status = t->box.y == t->box.sh ? IA_THUMB_OK : IA_THUMB_PARTIAL;
}

static void decode_jpeg_file(ia_thumber *t)
{
    jpeg_setup_errors(t);
    guarded_jpeg(t);
    if (t->f.jpeg_created)
        jpeg_destroy_decompress(&t->d);
    t->f.jpeg_created = 0;
}

/* ---- PNG ------------------------------------------------------------- */

static void png_fatal(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

/* Reads from the file; past its end, supplies zeros (at most
 * PNG_EOF_FILL bytes) instead of failing at once. libpng reads IDAT in
 * 8 KB pieces and would otherwise drop the rows that a truncated file
 * still holds; the zeros make inflate fail right after the real data,
 * which ends the thumbnail as partial. */
#define PNG_EOF_FILL 65536u

static void png_read_cb(png_structp png, png_bytep data, size_t len)
{
    ia_thumber *t = png_get_io_ptr(png);
    size_t n = fread(data, 1, len, t->f.fp);
    if (n == len)
        return;
    if (ferror(t->f.fp) || t->f.eof_fill + (len - n) > PNG_EOF_FILL)
        png_error(png, "read error");
    memset(data + n, 0, len - n);
    t->f.eof_fill += len - n;
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
    ia_thumber *t = png_get_error_ptr(png);
    (void)msg;
    if (++t->f.warnings > IA_THUMB_MAX_WARNINGS)
        png_longjmp(png, 1);
}

static int png_setup(ia_thumber *t)
{
    png_structp png = t->f.png;
    png_infop info = t->f.info;
    png_read_info(png, info);
    t->f.w = png_get_image_width(png, info);
    t->f.h = png_get_image_height(png, info);
    if ((uint64_t)t->f.w * t->f.h > t->opt.max_pixels) {
        t->f.status = IA_THUMB_TOO_LARGE;
        return -1;
    }
    png_set_expand(png);
    png_set_strip_16(png);
    png_read_update_info(png, info);
    /* Full width: the passes before the source one may be wider. */
    if (grow_row(t, png_get_rowbytes(png, info)) != 0) {
        t->f.nomem = 1;
        return -1;
    }
    t->f.in_ch = png_get_channels(png, info);
    t->f.ch = t->f.in_ch >= 3 ? 3 : 1;
    t->f.sw = t->f.w, t->f.sh = t->f.h;
    t->f.src_pass = -1;
    if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) {
        /* The last non-empty Adam7 pass is the source (pass 0 never is
         * empty: it holds the top-left pixel). */
        int p = 6;
        while (p > 0 && !(PNG_PASS_COLS(t->f.w, p) &&
                          PNG_PASS_ROWS(t->f.h, p)))
            p--;
        t->f.src_pass = p;
        t->f.sw = PNG_PASS_COLS(t->f.w, p);
        t->f.sh = PNG_PASS_ROWS(t->f.h, p);
    }
    return 0;
}

/* Reads (and drops) the rows of the passes before the source one; libpng
 * itself skips empty passes. */
static void png_skip_passes(ia_thumber *t)
{
    for (int p = 0; p < t->f.src_pass; p++) {
        uint32_t cols = PNG_PASS_COLS(t->f.w, p);
        uint32_t rows = PNG_PASS_ROWS(t->f.h, p);
        for (uint32_t y = 0; cols && y < rows; y++)
            png_read_row(t->f.png, t->row, NULL);
    }
}

static void guarded_png(ia_thumber *t)
{
    t->f.status = IA_THUMB_UNDECODABLE;
    /* png_create_* longjmps nowhere: it returns NULL on failure. */
    t->f.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, t, png_fatal,
                                      png_warning_cb);
    if (!t->f.png || !(t->f.info = png_create_info_struct(t->f.png))) {
        t->f.nomem = 1;
        return;
    }
    t->f.png_created = 1;
    if (setjmp(png_jmpbuf(t->f.png))) {
        if (t->box.y > 0 && t->f.status == IA_THUMB_UNDECODABLE)
            t->f.status = IA_THUMB_PARTIAL;
        return;
    }
    png_set_user_limits(t->f.png, THUMB_MAX_WIDTH, 0x7fffffffu);
    png_set_chunk_malloc_max(t->f.png, 8u << 20);
    png_set_chunk_cache_max(t->f.png, 1000);
    png_set_read_fn(t->f.png, t, png_read_cb);
    if (png_setup(t) != 0 || start_box(t) != 0)
        return;
    png_skip_passes(t);
    for (uint32_t y = 0; y < t->f.sh; y++) {
        png_read_row(t->f.png, t->row, NULL);
        if (t->f.in_ch == 2 || t->f.in_ch == 4)
            flatten_alpha(t->row, t->f.sw, t->f.ch);
        box_push(&t->box, t->row);
    }
    t->f.status = IA_THUMB_OK;
}

static void decode_png_file(ia_thumber *t)
{
    guarded_png(t);
    if (t->f.png_created)
        png_destroy_read_struct(&t->f.png, &t->f.info, NULL);
    else if (t->f.png)
        png_destroy_read_struct(&t->f.png, NULL, NULL);
    t->f.png = NULL;
    t->f.info = NULL;
    t->f.png_created = 0;
}

/* ---- encoding -------------------------------------------------------- */

static void guarded_encode(ia_thumber *t)
{
    struct jpeg_compress_struct *c = &t->c;
    if (setjmp(t->jump))
        return;
    c->err = &t->jerr;
    c->client_data = t;
    jpeg_create_compress(c);
    t->f.jpeg_created = 1;
    /* libjpeg-turbo mallocs (and grows) the buffer; it is ours after. */
    jpeg_mem_dest(c, &t->f.enc, &t->f.enc_len);
    c->image_width = t->box.tw;
    c->image_height = t->box.th;
    c->input_components = t->box.ch;
    c->in_color_space = t->box.ch == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, t->opt.quality, TRUE);
    c->optimize_coding = TRUE;
    jpeg_start_compress(c, TRUE);
    while (c->next_scanline < c->image_height) {
        JSAMPROW rows[1] = {t->box.out + (size_t)c->next_scanline *
                                         t->box.tw * (size_t)t->box.ch};
        jpeg_write_scanlines(c, rows, 1);
    }
    jpeg_finish_compress(c);
    t->f.jpeg_created = 2;   /* finished */
}

/* 0 when out holds the encoded thumbnail. */
static int encode(ia_thumber *t, ia_thumb *out)
{
    jpeg_setup_errors(t);
    t->f.enc = NULL;
    t->f.enc_len = 0;
    guarded_encode(t);
    int ok = t->f.jpeg_created == 2;
    if (t->f.jpeg_created)
        jpeg_destroy_compress(&t->c);
    t->f.jpeg_created = 0;
    if (!ok) {
        free(t->f.enc);
        t->f.enc = NULL;
        t->f.nomem = 1;   /* encoding our own buffer fails only so */
        return -1;
    }
    out->status = t->f.status;
    out->width = t->box.tw;
    out->height = t->box.th;
    out->jpeg = t->f.enc;
    out->len = t->f.enc_len;
    t->f.enc = NULL;
    return 0;
}

/* ---- one file -------------------------------------------------------- */

static ssize_t hashed_read(void *cookie, char *buf, size_t size)
{
    hashed *h = cookie;
    ssize_t n;
    do
        n = read(h->fd, buf, size);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        h->bytes += (uint64_t)n;
        if (EVP_DigestUpdate(h->ctx, buf, (size_t)n) != 1)
            h->failed = 1;
    }
    return n;
}

static int hashed_close(void *cookie)
{
    hashed *h = cookie;
    return close(h->fd);
}

/* The status of a file that could not be opened with errno err. */
static int open_status(int err)
{
    switch (err) {
    case ENOENT:
    case ENOTDIR:
        return IA_THUMB_MISSING;
    case ELOOP:
        return IA_THUMB_SYMLINK;
    case EXDEV:
        return IA_THUMB_VIA_SYMLINK;
    default:
        return IA_THUMB_UNREADABLE;
    }
}

/* The file src names, opened as the scan opened it; -1 with the status
 * set when it cannot be. O_NONBLOCK: a FIFO put where an image was must
 * not hang the report in open(); it is refused after as not a regular
 * file. */
static int open_src(ia_thumber *t, const ia_thumb_src *src)
{
    int rootfd = AT_FDCWD, fd, err;
    if ((src->path[0] == '/' && !src->allow_outside) ||
        (!src->follow && ia_path_climbs(src->path))) {
        t->f.status = IA_THUMB_OUTSIDE;
        return -1;
    }
    if (src->path[0] != '/' &&
        (rootfd = open(src->root && *src->root ? src->root : ".",
                       O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
        t->f.status = open_status(errno);
        return -1;
    }
    fd = ia_open_beneath(rootfd, src->path, O_RDONLY | O_NONBLOCK |
                         O_NOCTTY | O_CLOEXEC, src->follow);
    err = errno;
    if (rootfd >= 0)
        close(rootfd);
    if (fd < 0)
        t->f.status = open_status(err);
    return fd;
}

/* What the file's kind and size say before a byte is read: 0 to go on,
 * else its status. */
static int check_stat(const ia_thumber *t, const ia_thumb_src *src, int fd)
{
    struct stat st;
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || flags < 0 ||
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        return IA_THUMB_UNREADABLE;
    if (!src->have_sha256)
        return IA_THUMB_UNVERIFIED;
    if ((int64_t)st.st_size != src->size)
        return IA_THUMB_CHANGED;
    if ((uint64_t)st.st_size > t->opt.max_file_bytes)
        return IA_THUMB_TOO_LARGE;
    return 0;
}

/* JPEG or PNG by the first bytes (read aside, not through the stream);
 * 0 with *is_png, else the status. */
static int check_format(int fd, int *is_png)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a,
                                       0x1a, 0x0a};
    uint8_t head[8];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (n < 0)
        return IA_THUMB_UNREADABLE;
    *is_png = n == 8 && memcmp(head, png_sig, 8) == 0;
    if (!*is_png && !(n >= 3 && head[0] == 0xff && head[1] == 0xd8 &&
                      head[2] == 0xff))
        return IA_THUMB_FORMAT;
    return 0;
}

/* Opens the file and, when it may be decoded, the hashing stream the
 * decoders read (t->f.fp); 0 to decode. */
static int open_file(ia_thumber *t, const ia_thumb_src *src, int *is_png)
{
    cookie_io_functions_t io = {.read = hashed_read, .close = hashed_close};
    int fd = open_src(t, src);
    if (fd < 0)
        return -1;
    int status = check_stat(t, src, fd);
    if (status == 0)
        status = check_format(fd, is_png);
    if (status != 0) {
        t->f.status = status;
        close(fd);
        return -1;
    }
    t->f.in.fd = fd;
    t->f.in.ctx = t->ctx;
    if (EVP_DigestInit_ex2(t->ctx, t->md, NULL) != 1 ||
        !(t->f.fp = fopencookie(&t->f.in, "rb", io))) {
        close(fd);
        t->f.nomem = 1;
        return -1;
    }
    return 0;
}

/* After decoding: reads the rest of the file through the stream. 0 when
 * the whole is the file scanned, else the status to show instead. */
static int check_bytes(ia_thumber *t, const ia_thumb_src *src)
{
    uint8_t buf[8192], md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    while (fread(buf, 1, sizeof buf, t->f.fp) == sizeof buf)
        ;
    if (ferror(t->f.fp))
        return IA_THUMB_UNREADABLE;
    if (t->f.in.failed || EVP_DigestFinal_ex(t->ctx, md, &len) != 1 ||
        len != 32 || t->f.in.bytes != (uint64_t)src->size ||
        memcmp(md, src->sha256, 32) != 0)
        return IA_THUMB_CHANGED;
    return 0;
}

int ia_thumb_make(ia_thumber *t, const ia_thumb_src *src, ia_thumb *out)
{
    int is_png = 0;
    memset(&t->f, 0, sizeof t->f);
    memset(out, 0, sizeof *out);
    t->box.y = t->box.sh = 0;
    if (open_file(t, src, &is_png) == 0) {
        if (is_png)
            decode_png_file(t);
        else
            decode_jpeg_file(t);
        if (t->f.status == IA_THUMB_OK || t->f.status == IA_THUMB_PARTIAL) {
            int bad = check_bytes(t, src);
            if (bad)
                t->f.status = bad;
        }
    }
    if (t->f.fp)
        fclose(t->f.fp);
    t->f.fp = NULL;
    if (!t->f.nomem && (t->f.status == IA_THUMB_OK ||
                        t->f.status == IA_THUMB_PARTIAL)) {
        finish_box(t);
        encode(t, out);
    }
    if (t->f.nomem) {
        memset(out, 0, sizeof *out);
        return IA_ERR_NOMEM;
    }
    if (!out->jpeg)
        out->status = t->f.status;
    return IA_OK;
}

/* ---- the set --------------------------------------------------------- */

typedef struct item {
    char *root, *path;      /* copies, src points at them */
    ia_thumb_src src;
    ia_thumb thumb;
    int made;
} item;

struct ia_thumbset {
    ia_thumb_opts opt;
    size_t max;
    item *items;
    size_t n, cap;
    long *slots;            /* open addressing: index into items, or -1 */
    size_t nslots;          /* a power of two, > 2 * max */
    size_t bytes;           /* JPEG bytes made so far */
    size_t max_bytes;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

int ia_thumbset_new(const ia_thumb_opts *opt, size_t max_items,
                    ia_thumbset **out)
{
    ia_thumbset *s = calloc(1, sizeof *s);
    if (!s)
        return IA_ERR_NOMEM;
    if (opt)
        s->opt = *opt;
    s->max = max_items ? max_items : IA_THUMBSET_DEFAULT_MAX;
    s->max_bytes = s->opt.max_set_bytes ? s->opt.max_set_bytes
                                        : IA_THUMBSET_MAX_BYTES;
    s->nslots = 16;
    while (s->nslots <= 2 * s->max)
        s->nslots *= 2;
    s->slots = malloc(s->nslots * sizeof *s->slots);
    if (!s->slots) {
        free(s);
        return IA_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->nslots; i++)
        s->slots[i] = -1;
    *out = s;
    return IA_OK;
}

void ia_thumbset_free(ia_thumbset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].root);
        free(s->items[i].path);
        free(s->items[i].thumb.jpeg);
    }
    free(s->items);
    free(s->slots);
    free(s);
}

/* The same file seen the same way. */
static int same_src(const ia_thumb_src *a, const ia_thumb_src *b)
{
    return strcmp(a->path, b->path) == 0 &&
           strcmp(a->root, b->root ? b->root : "") == 0 &&
           a->follow == b->follow && a->allow_outside == b->allow_outside &&
           a->size == b->size && a->have_sha256 == b->have_sha256 &&
           memcmp(a->sha256, b->sha256, sizeof a->sha256) == 0;
}

/* it->src: a copy of src. IA_OK or IA_ERR_NOMEM. */
static int copy_src(item *it, const ia_thumb_src *src)
{
    it->root = strdup(src->root ? src->root : "");
    it->path = strdup(src->path);
    if (!it->root || !it->path) {
        free(it->root);
        free(it->path);
        return IA_ERR_NOMEM;
    }
    it->src = *src;
    it->src.root = it->root;
    it->src.path = it->path;
    return IA_OK;
}

int ia_thumbset_add(ia_thumbset *s, const ia_thumb_src *src, long *id)
{
    size_t mask = s->nslots - 1, i = (size_t)hash_str(src->path) & mask;
    while (s->slots[i] >= 0) {
        if (same_src(&s->items[s->slots[i]].src, src)) {
            *id = s->slots[i];
            return IA_OK;
        }
        i = (i + 1) & mask;
    }
    if (s->n >= s->max) {
        *id = -1;
        return IA_OK;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        item *p = realloc(s->items, cap * sizeof *p);
        if (!p)
            return IA_ERR_NOMEM;
        s->items = p;
        s->cap = cap;
    }
    item *it = &s->items[s->n];
    memset(it, 0, sizeof *it);
    if (copy_src(it, src) != IA_OK)
        return IA_ERR_NOMEM;
    it->thumb.status = IA_THUMB_SKIPPED;
    s->slots[i] = (long)s->n;
    *id = (long)s->n++;
    return IA_OK;
}

size_t ia_thumbset_count(const ia_thumbset *s)
{
    return s->n;
}

int ia_thumbset_make(ia_thumbset *s, ia_thumb_progress_fn progress,
                     void *user, volatile sig_atomic_t *cancel)
{
    ia_thumber *t = NULL;
    int ret = ia_thumber_new(&s->opt, &t);
    int full = 0;
    for (size_t i = 0; ret == IA_OK && i < s->n; i++) {
        if (cancel && *cancel)
            break;
        item *it = &s->items[i];
        if (!it->made && !full) {
            ret = ia_thumb_make(t, &it->src, &it->thumb);
            it->made = ret == IA_OK;
            if (it->thumb.len > s->max_bytes - s->bytes) {
                /* Over budget: this one and the rest are not shown. */
                free(it->thumb.jpeg);
                memset(&it->thumb, 0, sizeof it->thumb);
                it->thumb.status = IA_THUMB_SKIPPED;
                full = 1;
            } else {
                s->bytes += it->thumb.len;
            }
        }
        if (progress)
            progress(user, i + 1, s->n);
    }
    ia_thumber_free(t);
    return ret;
}

const ia_thumb *ia_thumbset_get(const ia_thumbset *s, long id)
{
    if (!s || id < 0 || (size_t)id >= s->n)
        return NULL;
    return &s->items[id].thumb;
}
