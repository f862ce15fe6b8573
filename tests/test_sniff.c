/*
 * Sniffing: byte prefixes to formats, file names to the format their
 * extension promises. Both tables include near misses that must not match.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/core.h"
#include "decode/decode.h"

typedef struct {
    const char *what;
    const char *bytes;
    size_t len;
    int fmt;
} magic_case;

#define M(what, s, fmt) {what, s, sizeof(s) - 1, fmt}

/* A BMP header: "BM", file size, reserved, pixel offset, DIB size. */
#define BMP_HDR(dib) "BM\x46\0\0\0\0\0\0\0\x36\0\0\0" dib "\0\0\0"

static const magic_case magic_cases[] = {
    M("jpeg jfif", "\xFF\xD8\xFF\xE0\0\x10JFIF\0", IA_FMT_JPEG),
    M("jpeg exif", "\xFF\xD8\xFF\xE1", IA_FMT_JPEG),
    M("jpeg 3 bytes", "\xFF\xD8\xFF", IA_FMT_JPEG),
    M("jpeg soi only", "\xFF\xD8", IA_FMT_UNKNOWN),
    M("png", "\x89PNG\r\n\x1A\n\0\0\0\rIHDR", IA_FMT_PNG),
    M("png mangled by text mode", "\x89PNG\n\x1A\n", IA_FMT_UNKNOWN),
    M("gif87a", "GIF87a\x01\0", IA_FMT_GIF),
    M("gif89a", "GIF89a", IA_FMT_GIF),
    M("gif88a", "GIF88a", IA_FMT_UNKNOWN),
    M("webp", "RIFF\x24\0\0\0WEBPVP8 ", IA_FMT_WEBP),
    M("riff wave", "RIFF\x24\0\0\0WAVEfmt ", IA_FMT_UNKNOWN),
    M("riff short", "RIFF\x24\0\0\0WEB", IA_FMT_UNKNOWN),
    M("bmp v3", BMP_HDR("\x28"), IA_FMT_BMP),
    M("bmp os2", BMP_HDR("\x0C"), IA_FMT_BMP),
    M("bmp v5", BMP_HDR("\x7C"), IA_FMT_BMP),
    M("bm text", "BM is not a bitmap header", IA_FMT_UNKNOWN),
    M("tiff le", "II*\0\x08\0\0\0", IA_FMT_TIFF),
    M("tiff be", "MM\0*\0\0\0\x08", IA_FMT_TIFF),
    M("bigtiff le", "II+\0\x08\0\0\0", IA_FMT_TIFF),
    M("bigtiff be", "MM\0+\0\x08\0\0", IA_FMT_TIFF),
    M("heic", "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", IA_FMT_HEIF),
    M("heix", "\0\0\0\x10" "ftypheix\0\0\0\0", IA_FMT_HEIF),
    M("mif1 only", "\0\0\0\x14" "ftypmif1\0\0\0\0mif1", IA_FMT_HEIF),
    M("avif", "\0\0\0\x1C" "ftypavif\0\0\0\0avifmif1miaf", IA_FMT_AVIF),
    M("avis", "\0\0\0\x10" "ftypavis\0\0\0\0", IA_FMT_AVIF),
    M("avif as compat brand", "\0\0\0\x18" "ftypmif1\0\0\0\0mif1avif",
      IA_FMT_AVIF),
    M("mp4", "\0\0\0\x18" "ftypisom\0\0\x02\0isomiso2", IA_FMT_UNKNOWN),
    M("avif brand past box end", "\0\0\0\x10" "ftypisom\0\0\0\0avif",
      IA_FMT_UNKNOWN),
    M("jxl codestream", "\xFF\x0A\xFA\x7F", IA_FMT_JXL),
    M("jxl container", "\0\0\0\x0CJXL \r\n\x87\n\0\0\0\x14", IA_FMT_JXL),
    M("jp2", "\0\0\0\x0CjP  \r\n\x87\n\0\0\0\x14" "ftypjp2 ", IA_FMT_JP2),
    M("j2k codestream", "\xFF\x4F\xFF\x51\0\x2F", IA_FMT_JP2),
    M("text", "hello, world", IA_FMT_UNKNOWN),
    M("html", "<!DOCTYPE html>", IA_FMT_UNKNOWN),
    M("zip", "PK\x03\x04", IA_FMT_UNKNOWN),
    M("empty", "", IA_FMT_UNKNOWN),
};

static void test_magic(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof magic_cases / sizeof magic_cases[0]; i++) {
        const magic_case *c = &magic_cases[i];
        int got = ia_sniff((const uint8_t *)c->bytes, c->len);
        if (got != c->fmt)
            fail_msg("%s: got %s, want %s", c->what, ia_fmt_name(got),
                     ia_fmt_name(c->fmt));
    }
}

/* Every prefix of a signature shorter than the signature is unknown, and
 * reading never goes past len (checked by ASan/valgrind on a heap copy). */
static void test_short_prefixes(void **state)
{
    (void)state;
    static const char png[] = "\x89PNG\r\n\x1A\n";
    for (size_t n = 0; n < sizeof png - 1; n++) {
        uint8_t *copy = test_malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            copy[i] = (uint8_t)png[i];
        assert_int_equal(ia_sniff(copy, n), IA_FMT_UNKNOWN);
        test_free(copy);
    }
    assert_int_equal(ia_sniff(NULL, 0), IA_FMT_UNKNOWN);
}

typedef struct {
    const char *path;
    int fmt;
} ext_case;

static const ext_case ext_cases[] = {
    {"a.jpg", IA_FMT_JPEG},
    {"dir/b.JPG", IA_FMT_JPEG},
    {"c.jpeg", IA_FMT_JPEG},
    {"d.JpE", IA_FMT_JPEG},
    {"e.jfif", IA_FMT_JPEG},
    {"f.png", IA_FMT_PNG},
    {"g.GIF", IA_FMT_GIF},
    {"h.webp", IA_FMT_WEBP},
    {"i.bmp", IA_FMT_BMP},
    {"j.dib", IA_FMT_BMP},
    {"k.tif", IA_FMT_TIFF},
    {"l.TIFF", IA_FMT_TIFF},
    {"m.heic", IA_FMT_HEIF},
    {"n.heif", IA_FMT_HEIF},
    {"o.avif", IA_FMT_AVIF},
    {"p.jxl", IA_FMT_JXL},
    {"q.jp2", IA_FMT_JP2},
    {"r.j2k", IA_FMT_JP2},
    {"s.jpx", IA_FMT_JP2},
    {"archive.tar.png", IA_FMT_PNG},
    {"noext", IA_FMT_UNKNOWN},
    {"notes.txt", IA_FMT_UNKNOWN},
    {"x.jpgx", IA_FMT_UNKNOWN},
    {"x.jp", IA_FMT_UNKNOWN},
    {"trailing.", IA_FMT_UNKNOWN},
    {".png", IA_FMT_UNKNOWN},
    {"dir.png/file", IA_FMT_UNKNOWN},
    {"dir.d/.hidden", IA_FMT_UNKNOWN},
    {"", IA_FMT_UNKNOWN},
};

static void test_extensions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        int got = ia_ext_format(ext_cases[i].path);
        if (got != ext_cases[i].fmt)
            fail_msg("%s: got %s, want %s", ext_cases[i].path,
                     ia_fmt_name(got), ia_fmt_name(ext_cases[i].fmt));
    }
    assert_int_equal(ia_ext_format(NULL), IA_FMT_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magic),
        cmocka_unit_test(test_short_prefixes),
        cmocka_unit_test(test_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
