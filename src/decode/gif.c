/*
 * GIF through giflib's low-level reader (DGifGetRecordType, DGifGetLine),
 * reading from the file in memory: every frame's LZW data is decoded, the
 * first frame into a canvas that is measured.
 *
 * What a loader sees (Pillow 9.4, GifImagePlugin): the canvas is the
 * logical screen, grown to hold the first frame; it starts filled with the
 * frame's transparency index when it has one, else index 0; the first
 * frame is drawn at its offset (interlaced rows in their place); the
 * colours come from the frame's local palette, else the global one;
 * convert("RGB") maps indices through that palette (past its end: black).
 * A palette that is the identity grey ramp makes Pillow drop it (mode L),
 * which maps to the same grey values. Rows are RGB, or RGBA with alpha 0
 * at the transparency index (as PNG's tRNS is pushed); a file without any
 * palette pushes L (LA), the indices themselves, as Pillow shows them.
 *
 * Verdicts: our read callback running out of bytes means truncated (rows
 * of the first frame decoded, or the frame that was cut); any other giflib
 * error (an LZW code out of range, a missing image descriptor) is corrupt
 * with giflib's message. Frames after the first are decoded row by row
 * into one scratch row, up to lim.max_frames frames and a pixel budget
 * justified by the file's size; past either their LZW data is skipped
 * unread (DGifGetCodeNext) and only counted.
 *
 * Memory: the canvas (one byte a pixel, width x height within
 * max_pixels) is justified by the file's bytes and reserved from the
 * scan's budget; giflib itself keeps a small record per frame (bounded
 * by the file's size).
 */
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "decode/codec.h"
#include "imgaudit.h"

typedef struct gif_dec {
    ia_codec c;
    size_t pos;
    int eof;                   /* the read callback ran out of bytes */
    uint8_t *row;              /* one row of indices, then its pixels */
    size_t row_cap;
    /* the first frame's view */
    uint32_t cw, ch;           /* canvas */
    int trns;                  /* transparency index, -1 none */
    uint8_t pal[256][3];
    int pal_n;                 /* entries, 0: no palette (indices as L) */
    uint32_t frames;
    uint64_t work;             /* pixels of the frames after the first */
    uint32_t skipped_from;     /* first frame not decoded, 0: none */
} gif_dec;

static int gif_read(GifFileType *gif, GifByteType *out, int n)
{
    gif_dec *d = gif->UserData;
    size_t left = d->c.len - d->pos;
    size_t k = n < 0 ? 0 : (size_t)n;
    if (k > left) {
        d->eof = 1;
        k = left;
    }
    memcpy(out, d->c.buf + d->pos, k);
    d->pos += k;
    return (int)k;
}

static int ensure_row(gif_dec *d, size_t need)
{
    if (need <= d->row_cap)
        return 0;
    uint8_t *p = realloc(d->row, need);
    if (!p)
        return -1;
    d->row = p;
    d->row_cap = need;
    return 0;
}

/* The failure of a giflib call: truncated when our reader ran dry. */
static void fail(gif_dec *d, int err, const char *where)
{
    if (d->eof) {
        if (d->frames <= 1 && d->c.res->rows_total >= 0 &&
            d->c.res->rows_decoded < d->c.res->rows_total)
            ia_codec_truncated(&d->c, "GIF");
        else
            ia_result_status(d->c.res, IA_ST_TRUNCATED,
                             "GIF data ends in %s %lu", where,
                             (unsigned long)(d->frames ? d->frames : 1));
        return;
    }
    char msg[160];
    ia_bprintf(msg, sizeof msg, "%s (giflib, in %s %lu)", GifErrorString(err),
               where, (unsigned long)(d->frames ? d->frames : 1));
    ia_codec_corrupt(&d->c, msg);
}

/* Pillow drops a palette that is the identity grey ramp. */
static void take_palette(gif_dec *d, const ColorMapObject *map)
{
    int gray = 1;
    d->pal_n = 0;
    if (!map || map->ColorCount <= 0)
        return;
    d->pal_n = map->ColorCount > 256 ? 256 : map->ColorCount;
    memset(d->pal, 0, sizeof d->pal);
    for (int i = 0; i < d->pal_n; i++) {
        const GifColorType *e = &map->Colors[i];
        d->pal[i][0] = e->Red;
        d->pal[i][1] = e->Green;
        d->pal[i][2] = e->Blue;
        gray &= e->Red == i && e->Green == i && e->Blue == i;
    }
    if (gray)
        d->pal_n = 0;
}

static void read_gce(gif_dec *d, const GifByteType *ext)
{
    GraphicsControlBlock gcb;
    if (d->frames == 0 && ext[0] >= 4 &&
        DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK)
        d->trns = gcb.TransparentColor;
}

static int read_extension(gif_dec *d, GifFileType *gif)
{
    int code;
    GifByteType *ext = NULL;
    if (DGifGetExtension(gif, &code, &ext) != GIF_OK)
        return -1;
    if (code == GRAPHICS_EXT_FUNC_CODE && ext)
        read_gce(d, ext);
    while (ext)
        if (DGifGetExtensionNext(gif, &ext) != GIF_OK)
            return -1;
    return 0;
}

/* Header facts from the screen descriptor and the first frame's. */
static int first_frame_facts(gif_dec *d, GifFileType *gif)
{
    ia_codec *c = &d->c;
    ia_file_result *res = c->res;
    const GifImageDesc *im = &gif->Image;
    d->cw = (uint32_t)gif->SWidth;
    d->ch = (uint32_t)gif->SHeight;
    if ((uint32_t)(im->Left + im->Width) > d->cw)
        d->cw = (uint32_t)(im->Left + im->Width);
    if ((uint32_t)(im->Top + im->Height) > d->ch)
        d->ch = (uint32_t)(im->Top + im->Height);
    take_palette(d, im->ColorMap ? im->ColorMap : gif->SColorMap);
    if (d->trns >= 0 && d->pal_n && d->trns >= d->pal_n)
        d->trns = -1; /* Pillow: an index past the palette is dropped */
    int ch = d->pal_n ? 3 : 1;
    res->channels = ch + (d->trns >= 0);
    res->bit_depth = 8;
    res->palette = d->pal_n > 0;
    res->color_space = d->pal_n ? "palette" : "gray";
    res->interlaced = im->Interlace ? 1 : 0;
    if (!d->pal_n)
        ia_codec_gray(c, "GIF without a colour palette (grey levels)");
    if (d->trns >= 0)
        ia_codec_alpha(c, "GIF transparency index");
    return ia_codec_size(c, d->cw, d->ch);
}

/* The canvas rows to the sink, through the palette. */
static int push_canvas(gif_dec *d)
{
    ia_codec *c = &d->c;
    int base = d->pal_n ? 3 : 1, alpha = d->trns >= 0;
    int chans = base + alpha;
    if (ensure_row(d, (size_t)d->cw * 4) != 0)
        return -2;
    if (ia_codec_begin(c, d->cw, d->ch, chans, 8) != 0)
        return -1;
    for (uint32_t y = 0; y < d->ch; y++) {
        const uint8_t *idx = c->pixels + (size_t)y * d->cw;
        uint8_t *o = d->row;
        for (uint32_t x = 0; x < d->cw; x++) {
            unsigned i = idx[x];
            if (base == 3) {
                memcpy(o, d->pal[i], 3); /* past pal_n: zeroed, black */
                o += 3;
            } else {
                *o++ = (uint8_t)i;
            }
            if (alpha)
                *o++ = (int)i == d->trns ? 0 : 255;
        }
        ia_codec_row(c, d->row);
    }
    return 0;
}

/* Reads the first frame's rows into the canvas at its offset. */
static int read_first(gif_dec *d, GifFileType *gif)
{
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    const GifImageDesc *im = &gif->Image;
    ia_codec *c = &d->c;
    uint64_t area = (uint64_t)d->cw * d->ch;
    int rc = ia_codec_buffer(c, "GIF canvas", area, IA_CODEC_PIXEL_RATIO, 1);
    if (rc != 0)
        return rc;
    memset(c->pixels, d->trns >= 0 ? d->trns : 0, (size_t)area);
    int passes = im->Interlace ? 4 : 1;
    for (int p = 0; p < passes; p++) {
        int y0 = passes == 1 ? 0 : start[p], dy = passes == 1 ? 1 : step[p];
        for (int y = y0; y < im->Height; y += dy) {
            uint8_t *dst = c->pixels + (size_t)(im->Top + y) * d->cw +
                           (size_t)im->Left;
            if (DGifGetLine(gif, dst, im->Width) != GIF_OK)
                return -3;
            c->res->rows_decoded++;
        }
    }
    c->res->rows_decoded = 0;
    return push_canvas(d);
}

/* A later frame: decoded row by row, or skipped past the limits. */
static int read_later(gif_dec *d, GifFileType *gif)
{
    const GifImageDesc *im = &gif->Image;
    uint64_t area = (uint64_t)im->Width * (uint64_t)im->Height;
    if (d->skipped_from == 0 && (d->frames > d->c.lim.max_frames ||
                                 d->work + area > ia_codec_frame_work(&d->c)))
        d->skipped_from = d->frames;
    if (d->skipped_from) {
        int size;
        GifByteType *block = NULL;
        if (DGifGetCode(gif, &size, &block) != GIF_OK)
            return -3;
        while (block)
            if (DGifGetCodeNext(gif, &block) != GIF_OK)
                return -3;
        return 0;
    }
    d->work += area;
    if (ensure_row(d, (size_t)im->Width) != 0)
        return -2;
    for (int y = 0; y < im->Height; y++)
        if (DGifGetLine(gif, d->row, im->Width) != GIF_OK)
            return -3;
    return 0;
}

/* -1: status set; -2: out of memory; -3: giflib failed; 1: done. */
static int read_image(gif_dec *d, GifFileType *gif)
{
    if (DGifGetImageDesc(gif) != GIF_OK)
        return -3;
    const GifImageDesc *im = &gif->Image;
    d->frames++;
    if (im->Width <= 0 || im->Height <= 0) {
        ia_codec_corrupt(&d->c, "GIF frame without pixels");
        return -1;
    }
    if (d->frames > 1)
        return read_later(d, gif);
    if (first_frame_facts(d, gif) != 0)
        return -1;
    return read_first(d, gif);
}

static void finish(gif_dec *d)
{
    ia_codec *c = &d->c;
    ia_codec_frames(c, "animated GIF", d->frames, NULL);
    if (d->skipped_from)
        ia_codec_warning(c, "frames %lu to %lu not decoded (limit of %u "
                         "frames, or of %llu pixels for a file of %zu "
                         "bytes)", (unsigned long)d->skipped_from,
                         (unsigned long)d->frames, c->lim.max_frames,
                         (unsigned long long)ia_codec_frame_work(c), c->len);
    ia_codec_ok(c);
}

/* The record loop; returns IA_OK or IA_ERR_NOMEM, with the status set. */
static int read_records(gif_dec *d, GifFileType *gif)
{
    for (;;) {
        GifRecordType type;
        int rc = 0;
        if (DGifGetRecordType(gif, &type) != GIF_OK) {
            fail(d, gif->Error, d->frames ? "the records after frame"
                                          : "the records before frame");
            return IA_OK;
        }
        if (type == TERMINATE_RECORD_TYPE)
            break;
        if (type == IMAGE_DESC_RECORD_TYPE)
            rc = read_image(d, gif);
        else if (type == EXTENSION_RECORD_TYPE && read_extension(d, gif))
            rc = -3;
        if (rc == -2)
            return IA_ERR_NOMEM;
        if (rc == -3)
            fail(d, gif->Error, "frame");
        if (rc < 0)
            return IA_OK;
    }
    if (d->frames == 0)
        ia_codec_corrupt(&d->c, "GIF without any image");
    else
        finish(d);
    return IA_OK;
}

static int gif_decode(void *state, const uint8_t *buf, size_t len,
                      const ia_limits *lim, const ia_rowsink *sink,
                      ia_file_result *res)
{
    gif_dec *d = state;
    int err = 0, rc = IA_OK;
    if (ia_codec_start(&d->c, buf, len, lim, sink, res))
        return IA_OK;
    d->pos = 0;
    d->eof = 0;
    d->trns = -1;
    d->pal_n = 0;
    d->frames = 0;
    d->work = 0;
    d->skipped_from = 0;
    GifFileType *gif = DGifOpen(d, gif_read, &err);
    if (!gif) {
        if (err == D_GIF_ERR_NOT_ENOUGH_MEM)
            rc = IA_ERR_NOMEM;
        else
            fail(d, err, "the screen descriptor of frame");
    } else {
        rc = read_records(d, gif);
        DGifCloseFile(gif, &err);
    }
    ia_codec_end(&d->c);
    return rc;
}

static int gif_create(void **state)
{
    *state = calloc(1, sizeof(gif_dec));
    return *state ? IA_OK : IA_ERR_NOMEM;
}

static void gif_destroy(void *state)
{
    gif_dec *d = state;
    if (!d)
        return;
    ia_codec_free(&d->c);
    free(d->row);
    free(d);
}

const ia_decoder_ops ia_gif_ops = {
    IA_FMT_GIF, "giflib", gif_create, gif_decode, gif_destroy,
};
