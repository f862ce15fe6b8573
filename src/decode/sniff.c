/*
 * Format sniffing. The format of a file comes from its first bytes, never
 * from its name: a PNG saved as .jpg is still a PNG (and earns an
 * extension_mismatch finding elsewhere). Fixed signatures live in one
 * table; the two formats whose signature is a structure rather than a
 * byte string (BMP's header, ISO BMFF's 'ftyp' box with its brand list)
 * get a small predicate each. The extension map is a second table.
 */
#include <string.h>

#include "core/core.h"
#include "decode/decode.h"

/* A byte string at an offset, optionally a second one (RIFF....WEBP). */
typedef struct sig {
    int fmt;
    size_t off, len;
    const char *bytes;
    size_t off2, len2;
    const char *bytes2;
} sig;

#define S1(f, o, s) {f, o, sizeof(s) - 1, s, 0, 0, NULL}
#define S2(f, o, s, o2, s2) {f, o, sizeof(s) - 1, s, o2, sizeof(s2) - 1, s2}

static const sig signatures[] = {
    S1(IA_FMT_JPEG, 0, "\xFF\xD8\xFF"),
    S1(IA_FMT_PNG, 0, "\x89PNG\r\n\x1A\n"),
    S1(IA_FMT_GIF, 0, "GIF87a"),
    S1(IA_FMT_GIF, 0, "GIF89a"),
    S2(IA_FMT_WEBP, 0, "RIFF", 8, "WEBP"),
    S1(IA_FMT_TIFF, 0, "II*\0"),
    S1(IA_FMT_TIFF, 0, "MM\0*"),
    S1(IA_FMT_TIFF, 0, "II+\0\x08\0"),   /* BigTIFF, 8-byte offsets */
    S1(IA_FMT_TIFF, 0, "MM\0+\0\x08"),
    S1(IA_FMT_JXL, 0, "\xFF\x0A"),       /* bare codestream */
    S1(IA_FMT_JXL, 0, "\0\0\0\x0CJXL \r\n\x87\n"),
    S1(IA_FMT_JP2, 0, "\0\0\0\x0CjP  \r\n\x87\n"),
    S1(IA_FMT_JP2, 0, "\xFF\x4F\xFF\x51"), /* J2K codestream: SOC + SIZ */
};

static int match_at(const uint8_t *buf, size_t len, size_t off,
                    const char *bytes, size_t n)
{
    return off <= len && n <= len - off && memcmp(buf + off, bytes, n) == 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 |
           p[0];
}

/* "BM" alone is two ASCII letters; require a known DIB header size too
 * (OS/2 1.x 12, BITMAPINFOHEADER 40, its v2/v3 extensions 52/56, OS/2 2.x
 * 64, v4 108, v5 124). */
static int is_bmp(const uint8_t *buf, size_t len)
{
    static const uint32_t dib_sizes[] = {12, 40, 52, 56, 64, 108, 124};
    if (len < 18 || buf[0] != 'B' || buf[1] != 'M')
        return 0;
    uint32_t dib = le32(buf + 14);
    for (size_t i = 0; i < IA_ARRAY_LEN(dib_sizes); i++)
        if (dib == dib_sizes[i])
            return 1;
    return 0;
}

static int brand_fmt(const uint8_t *b)
{
    static const char *const avif[] = {"avif", "avis"};
    static const char *const heif[] = {"heic", "heix", "hevc", "hevx", "heim",
                                       "heis", "hevm", "hevs", "mif1", "msf1"};
    for (size_t i = 0; i < IA_ARRAY_LEN(avif); i++)
        if (memcmp(b, avif[i], 4) == 0)
            return IA_FMT_AVIF;
    for (size_t i = 0; i < IA_ARRAY_LEN(heif); i++)
        if (memcmp(b, heif[i], 4) == 0)
            return IA_FMT_HEIF;
    return IA_FMT_UNKNOWN;
}

/* ISO BMFF: size, 'ftyp', major brand (8), minor version (12), compatible
 * brands (16...). An AVIF brand anywhere wins (AVIF files often carry
 * major brand mif1); otherwise any HEIF brand makes it HEIF. Plain MP4
 * ('isom', 'mp41') is neither. */
static int sniff_bmff(const uint8_t *buf, size_t len)
{
    if (len < 12 || memcmp(buf + 4, "ftyp", 4) != 0)
        return IA_FMT_UNKNOWN;
    size_t box = be32(buf);
    if (box < 12)
        return IA_FMT_UNKNOWN;
    size_t end = box < len ? box : len;
    int fmt = brand_fmt(buf + 8);
    for (size_t off = 16; fmt != IA_FMT_AVIF && off + 4 <= end; off += 4) {
        int f = brand_fmt(buf + off);
        if (f != IA_FMT_UNKNOWN)
            fmt = f;
    }
    return fmt;
}

/* Netpbm: "P1".."P6" and whitespace (P7, PAM, is not read by Pillow). */
static int is_pnm(const uint8_t *buf, size_t len)
{
    return len >= 3 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '6' &&
           (buf[2] == ' ' || buf[2] == '\t' || buf[2] == '\n' ||
            buf[2] == '\r' || buf[2] == '#');
}

/* TGA has no signature: an 18-byte header whose every field is one
 * Pillow's TgaImagePlugin reads (colour map type 0/1, an image type with
 * a pixel depth it maps, a map entry size for colour-mapped images, a
 * non-zero size, no interleaving bits). Text never matches: its byte 1
 * would have to be 0 or 1. */
static int is_tga(const uint8_t *buf, size_t len)
{
    static const uint8_t kinds[][2] = {
        {1, 8}, {3, 1}, {3, 8}, {3, 16}, {2, 16}, {2, 24}, {2, 32},
    };
    if (len < 18 || buf[1] > 1 || (buf[2] & ~8u) == 0 || buf[17] & 0xC0)
        return 0;
    if ((buf[12] | buf[13]) == 0 || (buf[14] | buf[15]) == 0)
        return 0;
    int type = buf[2] & 7, depth = buf[16];
    if ((type == 1) != (buf[1] == 1))
        return 0;
    if (buf[1] == 1 && buf[7] != 15 && buf[7] != 16 && buf[7] != 24 &&
        buf[7] != 32)
        return 0;
    if (buf[1] == 0 && (buf[3] | buf[4] | buf[5] | buf[6] | buf[7]) != 0)
        return 0;
    for (size_t i = 0; i < IA_ARRAY_LEN(kinds); i++)
        if (kinds[i][0] == type && kinds[i][1] == depth && buf[2] <= 11)
            return 1;
    return 0;
}

int ia_sniff(const uint8_t *buf, size_t len)
{
    if (!buf)
        return IA_FMT_UNKNOWN;
    for (size_t i = 0; i < IA_ARRAY_LEN(signatures); i++) {
        const sig *s = &signatures[i];
        if (match_at(buf, len, s->off, s->bytes, s->len) &&
            (s->len2 == 0 || match_at(buf, len, s->off2, s->bytes2, s->len2)))
            return s->fmt;
    }
    if (is_bmp(buf, len))
        return IA_FMT_BMP;
    if (is_pnm(buf, len))
        return IA_FMT_PNM;
    int fmt = sniff_bmff(buf, len);
    if (fmt == IA_FMT_UNKNOWN && is_tga(buf, len))
        fmt = IA_FMT_TGA;
    return fmt;
}

static const struct {
    const char *ext;
    int fmt;
} extensions[] = {
    {"jpg", IA_FMT_JPEG},  {"jpeg", IA_FMT_JPEG}, {"jpe", IA_FMT_JPEG},
    {"jfif", IA_FMT_JPEG}, {"png", IA_FMT_PNG},   {"gif", IA_FMT_GIF},
    {"webp", IA_FMT_WEBP}, {"bmp", IA_FMT_BMP},   {"dib", IA_FMT_BMP},
    {"tif", IA_FMT_TIFF},  {"tiff", IA_FMT_TIFF}, {"heic", IA_FMT_HEIF},
    {"heif", IA_FMT_HEIF}, {"avif", IA_FMT_AVIF}, {"jxl", IA_FMT_JXL},
    {"jp2", IA_FMT_JP2},   {"j2k", IA_FMT_JP2},   {"jpx", IA_FMT_JP2},
    {"pbm", IA_FMT_PNM},   {"pgm", IA_FMT_PNM},   {"ppm", IA_FMT_PNM},
    {"pnm", IA_FMT_PNM},   {"tga", IA_FMT_TGA},   {"icb", IA_FMT_TGA},
    {"vda", IA_FMT_TGA},   {"vst", IA_FMT_TGA},   {"hif", IA_FMT_HEIF},
};

int ia_ext_format(const char *path)
{
    if (!path)
        return IA_FMT_UNKNOWN;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    /* ".png" alone is a hidden file named png, not an extension. */
    if (!dot || dot == base)
        return IA_FMT_UNKNOWN;
    for (size_t i = 0; i < IA_ARRAY_LEN(extensions); i++)
        if (ia_strcaseeq(dot + 1, extensions[i].ext))
            return extensions[i].fmt;
    return IA_FMT_UNKNOWN;
}
