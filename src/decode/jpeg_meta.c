/*
 * JPEG metadata that libjpeg does not interpret for us: the quality a
 * libjpeg-family encoder was asked for, recovered from the luminance
 * quantization table, and the EXIF orientation (through libexif).
 *
 * Quality: libjpeg's jpeg_set_quality() scales the Annex K luminance table
 * (jcparam.c std_luminance_quant_tbl) by jpeg_quality_scaling(q):
 * scale = q < 50 ? 5000 / q : 200 - 2q, entry = (base * scale + 50) / 100
 * clamped to 1..255 (1..32767 when the encoder did not force baseline).
 * Encoders that call jpeg_set_quality() with the default tables (Pillow,
 * OpenCV, ImageMagick, cjpeg) produce exactly one of these 100 tables, so
 * an exact match gives the quality back. Near misses come from encoders
 * that round differently; we accept the closest q when the sum of absolute
 * differences over the 64 entries is at most 64 (QUALITY_MAX_SAD), i.e.
 * an average error of at most one quantization step per entry. Tables of
 * other families (Photoshop, mozjpeg's default tables, custom tables)
 * differ by far more and give -1: an unknown quality, not a wrong one.
 */
#include <string.h>

#include <libexif/exif-data.h>

#include "decode/decode.h"

#define QUALITY_MAX_SAD 64

/* Annex K table K.1, natural (row-major) order, as in jcparam.c. */
static const uint16_t std_luminance[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
};

static long scaled_entry(uint16_t base, int q, long max)
{
    long scale = q < 50 ? 5000L / q : 200L - 2L * q;
    long v = ((long)base * scale + 50L) / 100L;
    if (v < 1)
        v = 1;
    if (v > max)
        v = max;
    return v;
}

/* The entry of the largest base: the one that tells qualities apart
 * best, so a q that cannot match fails on it at once. */
#define PROBE 53

/* The first q whose table t equals, or 0. The full search below returns
 * that q too (an exact match is the first with the smallest sum), at
 * some 20,000 instructions a file; encoders that call jpeg_set_quality()
 * hit this path, at a hundred divisions and one full compare. */
static int exact_quality(const uint16_t t[64], long max)
{
    for (int q = 1; q <= 100; q++) {
        if (scaled_entry(std_luminance[PROBE], q, max) != t[PROBE])
            continue;
        int i = 0;
        while (i < 64 && scaled_entry(std_luminance[i], q, max) == t[i])
            i++;
        if (i == 64)
            return q;
    }
    return 0;
}

int ia_jpeg_quality_estimate(const uint16_t table[64])
{
    if (!table)
        return -1;
    long max = 255;
    for (int i = 0; i < 64; i++)
        if (table[i] > 255)
            max = 32767;
    int exact = exact_quality(table, max);
    if (exact)
        return exact;
    int best_q = -1;
    long best_sad = -1;
    for (int q = 1; q <= 100; q++) {
        /* A q stops counting once it can no longer matter: past the
         * accepted distance, or not below the best so far (the first q
         * with the smallest sum wins). Sums only grow, so the answer is
         * that of the full search at a fraction of its cost. */
        long limit = best_sad < 0 || best_sad > QUALITY_MAX_SAD
                         ? QUALITY_MAX_SAD : best_sad - 1;
        long sad = 0;
        for (int i = 0; i < 64 && sad <= limit; i++) {
            long d = (long)table[i] - scaled_entry(std_luminance[i], q, max);
            sad += d < 0 ? -d : d;
        }
        if (sad == 0)
            return q;
        if (sad <= limit) {
            best_sad = sad;
            best_q = q;
        }
    }
    return best_q;
}

/* Orientation lives in IFD0; IFD1 describes the thumbnail and may carry
 * its own, which does not apply to the main image. */
int ia_exif_orientation(const uint8_t *app1, size_t len)
{
    static const uint8_t header[6] = {'E', 'x', 'i', 'f', 0, 0};
    int orientation = -1;
    ExifData *ed = NULL;
    ExifEntry *e;

    if (!app1 || len < sizeof header || len > 0xFFFFFFFFu ||
        memcmp(app1, header, sizeof header) != 0)
        goto out;
    ed = exif_data_new();
    if (!ed)
        goto out;
    /* Skip libexif's "fix to the specification" pass: it adds missing
     * mandatory tags, work we do not need to read one value. */
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, app1, (unsigned int)len);
    e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (!e || e->format != EXIF_FORMAT_SHORT || e->components < 1 ||
        !e->data || e->size < 2)
        goto out;
    ExifShort v = exif_get_short(e->data, exif_data_get_byte_order(ed));
    if (v >= 1 && v <= 8)
        orientation = v;
out:
    if (ed)
        exif_data_unref(ed);
    return orientation;
}
