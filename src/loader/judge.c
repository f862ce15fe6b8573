/*
 * What a profile does with one file: a pure function of the profile and
 * of what the scan stored about the file (its format, status, message,
 * geometry and loader facts). The rules, per library, are the tables of
 * docs/loaders.md; each names its source there.
 *
 * Only what is established becomes a claim: a format the loader opens
 * and imgaudit does not decode (JPEG 2000, ICO, or any format of a build
 * without its decoder), or damage whose effect on that loader nobody has
 * read in its source or tried, is IA_LD_UNKNOWN.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "imgaudit.h"
#include "loader/profile.h"

#define TWO_29 (1ULL << 29)

static int is(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static void set(ia_loader_verdict *v, int outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set(ia_loader_verdict *v, int outcome, const char *fmt, ...)
{
    va_list ap;
    v->outcome = outcome;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
}

/* width x height, 0 when unknown. */
static unsigned long long pixels_of(const ia_loader_row *r)
{
    if (r->width <= 0 || r->height <= 0)
        return 0;
    return (unsigned long long)r->width * (unsigned long long)r->height;
}

/* How libjpeg ended on a corrupt JPEG, from the status message jpeg.c
 * wrote ("fatal error: ..." or "decoder warning: ... (JWRN_x, code n)"). */
enum { JC_OTHER, JC_FATAL, JC_EXTRANEOUS, JC_DAMAGE };

static int jpeg_corruption(const char *message)
{
    if (strncmp(message, "fatal error:", 12) == 0)
        return JC_FATAL;
    if (strncmp(message, "decoder warning:", 16) != 0)
        return JC_OTHER;
    return strstr(message, "(JWRN_EXTRANEOUS_DATA,") ? JC_EXTRANEOUS
                                                     : JC_DAMAGE;
}

/* A JPEG that only lacks its end marker: every row came out. */
static int jpeg_all_rows(const ia_loader_row *r)
{
    return r->rows_total > 0 && r->rows_decoded == r->rows_total;
}

/* A corrupt JPEG, the same in the three libraries: they all run
 * libjpeg(-turbo), and none turns its corrupt-data warnings into errors. */
static void jpeg_corrupt(const ia_loader_row *r, ia_loader_verdict *v,
                         const char *lib)
{
    switch (jpeg_corruption(r->message)) {
    case JC_FATAL:
        set(v, IA_LD_FAILS, "%s fails: libjpeg stops with a fatal error "
            "(%.80s)", lib, r->message + 13);
        break;
    case JC_EXTRANEOUS:
        set(v, IA_LD_DECODES, "only stray bytes between markers: intact");
        break;
    case JC_DAMAGE:
        set(v, IA_LD_DAMAGED, "%s returns damaged pixels without an error: "
            "libjpeg only warns (%.80s)", lib, r->message + 17);
        break;
    default:
        set(v, IA_LD_UNKNOWN, "not established for this damage");
    }
}

/* ---- Pillow: Image.open(path).convert("RGB") ------------------------- */

static void pillow_png(const ia_loader_row *r, ia_loader_verdict *v)
{
    if (ld_has_fact(r->facts, LD_FACT_CRC))
        set(v, IA_LD_FAILS, "Pillow raises UnidentifiedImageError: a chunk "
            "before the image data has a wrong CRC, which Pillow checks and "
            "libpng only warns about");
    else if (ld_has_fact(r->facts, LD_FACT_TEXT1))
        set(v, IA_LD_FAILS, "Pillow raises ValueError (Decompressed Data Too "
            "Large): a zTXt, iTXt or iCCP chunk inflates past 1 MiB");
    else if (ld_has_fact(r->facts, LD_FACT_TEXT64))
        set(v, IA_LD_FAILS, "Pillow raises ValueError: its text chunks hold "
            "more than 64 MiB in all");
    else if (!is(r->status, "ok") && !ld_has_fact(r->facts, LD_FACT_INTACT))
        set(v, IA_LD_FAILS, "Pillow raises OSError (%s): %s",
            is(r->status, "truncated") ? "image file is truncated"
                                       : "broken data stream",
            r->message);
    else if (r->bit_depth == 16 && is(r->color_space, "gray"))
        set(v, IA_LD_DAMAGED, "Pillow opens 16-bit grayscale in mode I and "
            "convert(\"RGB\") clips every value above 255: the image turns "
            "almost white");
    else
        set(v, IA_LD_DECODES, "%s", is(r->status, "ok") ? "decodes" :
            "Pillow reads every row (it checks no IDAT CRC, skips unknown "
            "chunks, needs no IEND)");
}

static void pillow_jpeg(const ia_loader_row *r, ia_loader_verdict *v)
{
    if (is(r->status, "ok"))
        set(v, IA_LD_DECODES, "decodes");
    else if (is(r->status, "truncated") && jpeg_all_rows(r) &&
             r->progressive != 1)
        set(v, IA_LD_DECODES, "every row is there, only the end marker is "
            "missing: intact");
    else if (is(r->status, "truncated"))
        set(v, IA_LD_FAILS, "Pillow raises OSError: image file is truncated "
            "(%s)", r->message);
    else if (is(r->status, "corrupt"))
        jpeg_corrupt(r, v, "Pillow");
    else
        set(v, IA_LD_UNKNOWN, "not established");
}

/* Formats a loader has no reader for: it fails on them even where
 * imgaudit decodes them (docs/loaders.md). NULL-terminated. */
static const char *const pillow_lacks[] = {"heif", "avif", "jxl", NULL};
static const char *const tf_lacks[] = {"tiff", "heif", "avif", "jp2",
                                       "pnm", "tga", NULL};
static const char *const opencv_lacks[] = {"gif", "heif", "avif", "jxl",
                                           "tga", NULL};

static int no_reader(const ia_loader_row *r, const char *const *lacks)
{
    for (; *lacks; lacks++)
        if (is(r->format, *lacks))
            return 1;
    return 0;
}

static void pillow_other(const ia_loader_row *r, ia_loader_verdict *v)
{
    static const char *const opens[] = {"gif", "webp", "bmp", "tiff", "jp2"};
    for (size_t i = 0; i < IA_ARRAY_LEN(opens); i++)
        if (is(r->format, opens[i])) {
            set(v, IA_LD_UNKNOWN, "Pillow opens %s, which imgaudit does "
                "not decode", r->format);
            return;
        }
    set(v, IA_LD_FAILS, "Pillow 9.4 raises UnidentifiedImageError: it has "
        "no %s decoder", r->format);
}

/* A truncated GIF whose first frame came out whole (gif.c counts its
 * rows): a loader that reads only the first frame never reaches the cut. */
static int gif_first_whole(const ia_loader_row *r)
{
    return is(r->format, "gif") && is(r->status, "truncated") &&
           r->rows_total > 0 && r->rows_decoded >= r->rows_total;
}

/* The other formats imgaudit decodes (WebP, GIF, TIFF, BMP, PNM): Pillow
 * raises on any damage to their data, and clips grey samples of more
 * than 8 bits (mode I;16, I or F) to 0..255 in convert("RGB"). A GIF is
 * read up to the end of its first frame (GifImagePlugin seeks only frame
 * 0 on open and convert() loads only it). */
static void pillow_decoded(const ia_loader_row *r, ia_loader_verdict *v)
{
    if (gif_first_whole(r))
        set(v, IA_LD_DECODES, "the first frame is whole and Pillow reads "
            "only it: the cut after it is never reached");
    else if (is(r->status, "truncated") || is(r->status, "corrupt"))
        set(v, IA_LD_FAILS, "Pillow raises OSError (%s): %s",
            is(r->status, "truncated") ? "image file is truncated"
                                       : "broken data stream",
            r->message);
    else if (r->bit_depth > 8 && is(r->color_space, "gray"))
        set(v, IA_LD_DAMAGED, "Pillow opens %lld-bit grey samples in mode "
            "I;16, I or F and convert(\"RGB\") clips every value above "
            "255", (long long)r->bit_depth);
    else
        set(v, is(r->status, "ok") ? IA_LD_DECODES : IA_LD_UNKNOWN,
            "%s", is(r->status, "ok") ? "decodes" : "not established");
}

static void pillow_judge(const ia_loader_row *r, ia_loader_verdict *v)
{
    unsigned long long px = pixels_of(r);
    if (is(r->status, "empty"))
        set(v, IA_LD_FAILS, "Pillow raises UnidentifiedImageError: the file "
            "is empty");
    else if (is(r->status, "unreadable"))
        set(v, IA_LD_FAILS, "opening it raises OSError (%s)", r->message);
    else if (px > 2 * LD_PILLOW_MAX_PIXELS)
        set(v, IA_LD_FAILS, "Pillow raises DecompressionBombError: %lld x "
            "%lld = %llu pixels is over twice Image.MAX_IMAGE_PIXELS "
            "(%llu)", (long long)r->width, (long long)r->height, px,
            2 * LD_PILLOW_MAX_PIXELS);
    else if (is(r->status, "not_image") && *r->facts)
        set(v, IA_LD_UNKNOWN, "Pillow opens it (%s), a format imgaudit "
            "does not decode", r->facts);
    else if (is(r->status, "not_image"))
        set(v, IA_LD_FAILS, "Pillow raises UnidentifiedImageError: no "
            "format it knows");
    else if (is(r->status, "unsupported") || no_reader(r, pillow_lacks))
        pillow_other(r, v);
    else if (is(r->status, "too_large"))
        set(v, IA_LD_UNKNOWN, "over imgaudit's limits, not Pillow's");
    else if (is(r->format, "png"))
        pillow_png(r, v);
    else if (is(r->format, "jpeg"))
        pillow_jpeg(r, v);
    else
        pillow_decoded(r, v);
}

/* ---- TensorFlow: tf.io.decode_image(channels=3) ----------------------- */

static void tf_too_large(const ia_loader_row *r, ia_loader_verdict *v)
{
    unsigned long long px = pixels_of(r);
    long long c = r->channels > 0 ? r->channels : 3;
    if (is(r->format, "jpeg") && px * (unsigned long long)c >= TWO_29)
        set(v, IA_LD_FAILS, "decode_image raises: %llu pixels x %lld "
            "components is 2^29 or more (Image too large)", px, c);
    else if (is(r->format, "png") &&
             (px >= TWO_29 || r->width >= (1LL << 27) ||
              r->height >= (1LL << 27)))
        set(v, IA_LD_FAILS, "decode_image raises: PNG size too large for "
            "int (%llu pixels)", px);
}

static void tf_unknown_format(const ia_loader_row *r, ia_loader_verdict *v)
{
    static const char *const reads[] = {"gif", "bmp", "webp", "jxl"};
    for (size_t i = 0; i < IA_ARRAY_LEN(reads); i++)
        if (is(r->format, reads[i])) {
            set(v, IA_LD_UNKNOWN, "decode_image reads %s, which imgaudit "
                "does not decode", r->format);
            return;
        }
    set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: Unknown "
        "image file format (it reads JPEG, PNG, GIF, BMP, WebP)");
}

/* DecodeBmpV2, TF's own reader: the facts say how it takes the header
 * (facts.c); a scan without them predates that reading. */
static void tf_bmp(const ia_loader_row *r, ia_loader_verdict *v)
{
    const char *f = r->facts;
    if (!ld_has_fact(f, LD_FACT_BMP))
        set(v, IA_LD_UNKNOWN, "not established: this scan did not read the "
            "BMP header as TensorFlow does (rescan)");
    else if (ld_has_fact(f, LD_FACT_BMP_BPP))
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: only "
            "8-, 24- and 32-bit BMPs (Number of channels inherent in the "
            "image must be 1, 3 or 4)");
    else if (ld_has_fact(f, LD_FACT_BMP_DIMS))
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: a "
            "header field it refuses (short header, width <= 0, height 0 "
            "or over 2^28 pixels)");
    else if (ld_has_fact(f, LD_FACT_BMP_SIZE))
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError (Input "
            "size should match header_size + row_size * abs_height): the "
            "file is not exactly its header and rows%s",
            is(r->status, "truncated") ? " (it is cut short)" : "");
    else if (ld_has_fact(f, LD_FACT_BMP_CODED))
        set(v, IA_LD_DAMAGED, "decode_image ignores the compression field "
            "and its bit masks and reads the data as raw BGR(A) rows: wrong "
            "pixels without an error");
    else if (ld_has_fact(f, LD_FACT_BMP_PALETTE))
        set(v, IA_LD_DAMAGED, "decode_image ignores the palette of an 8-bit "
            "BMP and returns the indices as grey levels: wrong pixels "
            "without an error");
    else
        set(v, IA_LD_DECODES, "%s", is(r->status, "ok") ? "decodes" :
            "TF's own reader needs only its header fields and exactly "
            "header + rows, which this file has: it decodes the bytes");
}

/* gif_io.cc with giflib 5.2: DGifSlurp's failure is only logged unless
 * no frame was read or the data ended inside an LZW code stream's end
 * (D_GIF_ERR_EOF_TOO_SOON); a file that ends gives D_GIF_ERR_READ_FAILED
 * and the first frame's raster as far as it was read. */
static void tf_gif(const ia_loader_row *r, ia_loader_verdict *v)
{
    if (is(r->status, "ok"))
        set(v, IA_LD_DECODES, "decodes (the first frame: "
            "expand_animations=False)");
    else if (!is(r->status, "truncated"))
        set(v, IA_LD_UNKNOWN, "not established for this damage");
    else if (r->rows_total <= 0)
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: the "
            "file ends before the first frame's pixels");
    else if (r->rows_decoded >= r->rows_total)
        set(v, IA_LD_DECODES, "the first frame is whole: decode_image logs "
            "giflib's read error and returns it");
    else
        set(v, IA_LD_DAMAGED, "decode_image only logs giflib's read error "
            "and returns the first frame, its pixels past the cut never "
            "written (%s)", r->message);
}

/* DecodeWebP (TF releases that read WebP; older ones raise Unknown image
 * file format on every WebP): channels=3 refuses alpha and animation. */
static void tf_webp(const ia_loader_row *r, ia_loader_verdict *v)
{
    if (is(r->status, "truncated") || is(r->status, "corrupt"))
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: "
            "libwebp refuses the damaged data (%s)", r->message);
    else if (r->animated == 1)
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: WebP "
            "Animation must be 4 channel RGBA (channels=3)");
    else if (r->channels == 4)
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError: a "
            "WebP with alpha and channels=3 (Number of channels requested "
            "does not match input)");
    else if (is(r->status, "ok"))
        set(v, IA_LD_DECODES, "decodes (TF releases with WebP support; "
            "older ones raise Unknown image file format)");
    else
        set(v, IA_LD_UNKNOWN, "not established");
}

/* The formats TF decodes other than JPEG and PNG: 1 when judged. */
static int tf_other(const ia_loader_row *r, ia_loader_verdict *v)
{
    if (is(r->format, "bmp"))
        tf_bmp(r, v);
    else if (is(r->format, "gif"))
        tf_gif(r, v);
    else if (is(r->format, "webp"))
        tf_webp(r, v);
    else
        return 0;
    return 1;
}

static void tf_judge(const ia_loader_row *r, ia_loader_verdict *v)
{
    v->outcome = -1;
    if (is(r->status, "unreadable")) {
        set(v, IA_LD_FAILS, "tf.io.read_file raises (%s)", r->message);
        return;
    }
    if (is(r->status, "empty") || is(r->status, "not_image") ||
        is(r->status, "unsupported") || no_reader(r, tf_lacks)) {
        tf_unknown_format(r, v);
        return;
    }
    tf_too_large(r, v);
    if (v->outcome >= 0)
        return;
    if (is(r->status, "too_large"))
        set(v, IA_LD_UNKNOWN, "over imgaudit's limits, not TensorFlow's");
    else if (tf_other(r, v))
        return;
    else if (is(r->status, "ok"))
        set(v, IA_LD_DECODES, "decodes");
    else if (is(r->format, "png"))
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError "
            "(Invalid PNG data): its libpng refuses the file (%s)",
            r->message);
    else if (is(r->format, "jpeg") && is(r->status, "truncated"))
        set(v, IA_LD_FAILS, "decode_image raises InvalidArgumentError "
            "(jpeg::Uncompress failed): it refuses any truncation, even a "
            "missing end marker");
    else if (is(r->format, "jpeg") && is(r->status, "corrupt"))
        jpeg_corrupt(r, v, "decode_image");
    else
        set(v, IA_LD_UNKNOWN, "not established");
}

/* ---- OpenCV: cv2.imread(path) ----------------------------------------- */

static void opencv_judge(const ia_loader_row *r, ia_loader_verdict *v)
{
    static const char *const reads[] = {"webp", "tiff", "bmp", "jp2"};
    unsigned long long px = pixels_of(r);
    if (is(r->status, "empty") || is(r->status, "unreadable") ||
        (is(r->status, "not_image") && !ld_has_fact(r->facts, LD_FACT_PNM))) {
        set(v, IA_LD_FAILS, "cv2.imread returns None: %s", r->message);
        return;
    }
    if (px > (1ULL << 30) || r->width > (1LL << 20) ||
        r->height > (1LL << 20)) {
        set(v, IA_LD_FAILS, "cv2.imread returns None: %llu pixels is over "
            "its limit of 2^30 (or a side over 2^20)", px);
        return;
    }
    if (is(r->status, "not_image") || is(r->status, "too_large")) {
        set(v, IA_LD_UNKNOWN, "OpenCV reads it; imgaudit does not decode "
            "it");
        return;
    }
    if (r->float_samples || (r->animated == 1 && is(r->format, "webp"))) {
        set(v, IA_LD_FAILS, "cv2.imread returns None: OpenCV 4.6 reads "
            "no %s", r->float_samples ? "float TIFF" : "animated WebP");
        return;
    }
    if (is(r->status, "unsupported") || no_reader(r, opencv_lacks)) {
        for (size_t i = 0; i < IA_ARRAY_LEN(reads); i++)
            if (is(r->format, reads[i])) {
                set(v, IA_LD_UNKNOWN, "OpenCV reads %s, which imgaudit does "
                    "not decode", r->format);
                return;
            }
        set(v, IA_LD_FAILS, "cv2.imread returns None: OpenCV 4.6 reads no "
            "%s", r->format);
    } else if (is(r->status, "ok")) {
        set(v, IA_LD_DECODES, "decodes");
    } else if (is(r->format, "png")) {
        set(v, IA_LD_FAILS, "cv2.imread returns None: libpng refuses the "
            "file (%s)", r->message);
    } else if (is(r->format, "jpeg") && is(r->status, "truncated")) {
        if (r->rows_total <= 0)
            set(v, IA_LD_FAILS, "cv2.imread returns None: the file ends in "
                "its headers");
        else if (jpeg_all_rows(r))
            set(v, IA_LD_DECODES, "every row is there: intact");
        else
            set(v, IA_LD_DAMAGED, "cv2.imread returns the image with the "
                "missing rows grey, only a warning on stderr (%s)",
                r->message);
    } else if (is(r->format, "jpeg") && is(r->status, "corrupt")) {
        jpeg_corrupt(r, v, "cv2.imread");
        if (v->outcome == IA_LD_FAILS)
            set(v, IA_LD_FAILS, "cv2.imread returns None: libjpeg stops "
                "with a fatal error (%.80s)", r->message + 13);
    } else if (is(r->status, "truncated") || is(r->status, "corrupt")) {
        set(v, IA_LD_FAILS, "cv2.imread returns None: its %s reader "
            "stops on the damage (%s)", r->format, r->message);
    } else {
        set(v, IA_LD_UNKNOWN, "not established");
    }
}

/* ---- the profile ----------------------------------------------------- */

static void listing(const ld_profile *p, const ia_loader_row *r,
                    ia_loader_verdict *v)
{
    if (r->outside_class || !*r->label)
        set(v, IA_LD_OUTSIDE, "not in a class folder");
    else if (!ia_loader_is_class((int)(p - ld_profile_of(0)), r->label))
        set(v, IA_LD_SKIPS, "%s skips the folder '%.60s': a hidden folder "
            "is not a class", p->loader, r->label);
    else if (!ld_lists_name(p, r->path))
        set(v, IA_LD_SKIPS, "%s never lists it: it lists only %s",
            p->loader, p->exts_text);
}

static int sideways(const ia_loader_row *r)
{
    return r->exif_orientation >= 2 && r->exif_orientation <= 8;
}

void ia_loader_judge(int id, const ia_loader_row *r, ia_loader_verdict *v)
{
    const ld_profile *p = ld_profile_of(id);
    v->outcome = -1;
    v->sideways = 0;
    v->why[0] = '\0';
    listing(p, r, v);
    if (v->outcome >= 0)
        return;
    switch (p->decoder) {
    case DEC_PILLOW:
        pillow_judge(r, v);
        break;
    case DEC_TF:
        tf_judge(r, v);
        break;
    default:
        opencv_judge(r, v);
        break;
    }
    v->sideways = v->outcome == IA_LD_DECODES && !p->applies_exif &&
                  sideways(r);
}
