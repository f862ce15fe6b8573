/*
 * The loader module's two pure parts: the facts taken from a file's bytes
 * (facts.c; here the BMP header as TensorFlow's DecodeBmpV2 reads it) and
 * what a profile does with one file row (judge.c). The real loaders check
 * the same claims on real files in tests/loaders/test_loaders.py; these
 * cases pin the edges a fixture tree does not reach (negative heights,
 * size fields near TF's limits, masks, older scans without the facts).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "core/core.h"
#include "imgaudit.h"
#include "loader/loader.h"

/* ---- BMP facts ------------------------------------------------------------ */

#define BMP_MAX 2048

typedef struct bmp {
    uint8_t b[BMP_MAX];
    size_t len;
} bmp;

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A BITMAPINFOHEADER BMP of w x h at bpp with a palette of npal entries
 * (entry i = grey i) and rows of TF's row size, nothing after them. */
static void make_bmp(bmp *m, int32_t w, int32_t h, int bpp, int npal)
{
    uint32_t hdr = 54 + 4 * (uint32_t)npal;
    uint32_t row = ((uint32_t)(bpp / 8) * (uint32_t)w + 3) / 4 * 4;
    uint32_t ah = (uint32_t)(h < 0 ? -h : h);
    memset(m->b, 0, sizeof m->b);
    m->b[0] = 'B';
    m->b[1] = 'M';
    m->len = hdr + row * ah;
    assert_true(m->len <= BMP_MAX);
    put32(m->b + 2, (uint32_t)m->len);
    put32(m->b + 10, hdr);
    put32(m->b + 14, 40);
    put32(m->b + 18, (uint32_t)w);
    put32(m->b + 22, (uint32_t)h);
    m->b[26] = 1;
    m->b[28] = (uint8_t)bpp;
    put32(m->b + 46, (uint32_t)npal);
    for (int i = 0; i < npal; i++)
        memset(m->b + 54 + 4 * i, i, 3);
}

static const char *facts_of(const bmp *m, size_t size)
{
    static ia_file_result res;
    ia_result_reset(&res);
    res.format = IA_FMT_BMP;
    res.status = IA_ST_OK;
    res.size = (int64_t)size;
    ia_loader_facts(m->b, m->len < size ? m->len : size, &res);
    return res.loader_facts;
}

static void bmp_exact_sizes(void **state)
{
    bmp m;
    (void)state;
    make_bmp(&m, 3, 2, 24, 0);     /* rows of 9 bytes padded to 12 */
    assert_string_equal(facts_of(&m, m.len), "bmp");
    make_bmp(&m, 3, -2, 24, 0);    /* top-down: |height| counts */
    assert_string_equal(facts_of(&m, m.len), "bmp");
    make_bmp(&m, 5, 3, 32, 0);
    assert_string_equal(facts_of(&m, m.len), "bmp");
}

static void bmp_size_mismatch(void **state)
{
    bmp m;
    (void)state;
    make_bmp(&m, 3, 2, 24, 0);
    m.len += 2;                     /* two bytes of padding after the rows */
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_size");
    make_bmp(&m, 3, 2, 24, 0);
    assert_string_equal(facts_of(&m, m.len - 1), "bmp;bmp_size");
}

static void bmp_refused_fields(void **state)
{
    bmp m;
    (void)state;
    make_bmp(&m, 3, 2, 16, 0);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_bpp");
    make_bmp(&m, 3, 2, 4, 16);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_bpp");
    make_bmp(&m, 3, 2, 24, 0);
    put32(m.b + 18, 0);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_dims");
    put32(m.b + 18, (uint32_t)-3);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_dims");
    put32(m.b + 18, 3);
    put32(m.b + 22, 0);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_dims");
    /* width x |height| must stay under INT32_MAX / 8 = 268435455 */
    put32(m.b + 18, 16384);
    put32(m.b + 22, 16384);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_dims");
    put32(m.b + 22, 16383);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_size");
    m.len = 31;                     /* "Incomplete bmp content" */
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_dims");
}

static void bmp_palettes(void **state)
{
    bmp m;
    (void)state;
    make_bmp(&m, 4, 2, 8, 256);
    assert_string_equal(facts_of(&m, m.len), "bmp");
    make_bmp(&m, 4, 2, 8, 16);      /* a short grey ramp: indices < 16 */
    assert_string_equal(facts_of(&m, m.len), "bmp");
    make_bmp(&m, 4, 2, 8, 256);
    m.b[54 + 4 * 200 + 2] = 0;      /* entry 200 is not grey 200 */
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_palette");
}

static void bmp_coded(void **state)
{
    bmp m;
    (void)state;
    make_bmp(&m, 4, 2, 8, 256);
    put32(m.b + 30, 1);             /* RLE8, read by TF as raw rows */
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_coded");
    make_bmp(&m, 3, 2, 32, 0);
    m.len += 12;                    /* room for the masks, sizes kept */
    memmove(m.b + 66, m.b + 54, m.len - 66);
    put32(m.b + 10, 66);
    put32(m.b + 30, 3);
    put32(m.b + 54, 0xff0000u);
    put32(m.b + 58, 0xff00u);
    put32(m.b + 62, 0xffu);
    assert_string_equal(facts_of(&m, m.len), "bmp");
    put32(m.b + 54, 0xffu);         /* RGB order: TF still reads BGR */
    put32(m.b + 62, 0xff0000u);
    assert_string_equal(facts_of(&m, m.len), "bmp;bmp_coded");
}

/* ---- judging one row -------------------------------------------------- */

/* A file cat/x.FORMAT of 64 x 48 RGB, rows as given. */
static ia_loader_row row_of(const char *format, const char *status,
                            int64_t decoded, int64_t total)
{
    static const char *const paths[][2] = {
        {"gif", "cat/x.gif"}, {"webp", "cat/x.webp"}, {"bmp", "cat/x.bmp"},
        {"png", "cat/x.png"},
    };
    ia_loader_row r;
    memset(&r, 0, sizeof r);
    r.path = "cat/x";
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (strcmp(paths[i][0], format) == 0)
            r.path = paths[i][1];
    r.file_id = 1;
    r.split = "";
    r.label = "cat";
    r.format = format;
    r.status = status;
    r.message = "data ends";
    r.color_space = "rgb";
    r.facts = "";
    r.width = 64;
    r.height = 48;
    r.channels = 3;
    r.bit_depth = 8;
    r.rows_decoded = decoded;
    r.rows_total = total;
    r.progressive = r.exif_orientation = r.animated = -1;
    return r;
}

static int outcome(const char *profile, const ia_loader_row *r)
{
    ia_loader_verdict v;
    ia_loader_judge(ia_loader_parse(profile), r, &v);
    return v.outcome;
}

static void judge_gif_truncation(void **state)
{
    (void)state;
    ia_loader_row whole = row_of("gif", "truncated", 48, 48);
    ia_loader_row cut = row_of("gif", "truncated", 10, 48);
    ia_loader_row header = row_of("gif", "truncated", 0, -1);
    /* only the first frame is read: a cut after it is never reached */
    assert_int_equal(outcome("pillow", &whole), IA_LD_DECODES);
    assert_int_equal(outcome("tf-data", &whole), IA_LD_DECODES);
    assert_int_equal(outcome("pillow", &cut), IA_LD_FAILS);
    /* gif_io.cc logs giflib's read error and returns the raster */
    assert_int_equal(outcome("tf-data", &cut), IA_LD_DAMAGED);
    assert_int_equal(outcome("tf-data", &header), IA_LD_FAILS);
    assert_int_equal(outcome("keras", &cut), IA_LD_DAMAGED);
}

static void judge_tf_webp(void **state)
{
    (void)state;
    ia_loader_row rgb = row_of("webp", "ok", 48, 48);
    ia_loader_row alpha = rgb, anim = rgb;
    ia_loader_row cut = row_of("webp", "truncated", 0, 48);
    alpha.channels = 4;
    anim.animated = 1;
    assert_int_equal(outcome("tf-data", &rgb), IA_LD_DECODES);
    assert_int_equal(outcome("tf-data", &alpha), IA_LD_FAILS);
    assert_int_equal(outcome("pillow", &alpha), IA_LD_DECODES);
    assert_int_equal(outcome("tf-data", &anim), IA_LD_FAILS);
    assert_int_equal(outcome("tf-data", &cut), IA_LD_FAILS);
}

static void judge_tf_bmp(void **state)
{
    (void)state;
    ia_loader_row r = row_of("bmp", "ok", 48, 48);
    /* a scan made before the BMP facts existed: no claim */
    assert_int_equal(outcome("tf-data", &r), IA_LD_UNKNOWN);
    r.facts = "bmp";
    assert_int_equal(outcome("tf-data", &r), IA_LD_DECODES);
    r.facts = "bmp;bmp_size";
    assert_int_equal(outcome("tf-data", &r), IA_LD_FAILS);
    assert_int_equal(outcome("pillow", &r), IA_LD_DECODES);
    r.facts = "bmp;bmp_palette";
    assert_int_equal(outcome("tf-data", &r), IA_LD_DAMAGED);
    r.facts = "bmp;bmp_bpp;bmp_coded";   /* the refusal comes first */
    assert_int_equal(outcome("tf-data", &r), IA_LD_FAILS);
}

static void judge_listing_and_bombs(void **state)
{
    (void)state;
    ia_loader_row r = row_of("webp", "ok", 48, 48);
    assert_int_equal(outcome("keras", &r), IA_LD_SKIPS);
    assert_int_equal(outcome("torchvision", &r), IA_LD_DECODES);
    r.label = "";
    assert_int_equal(outcome("torchvision", &r), IA_LD_OUTSIDE);
    ia_loader_row big = row_of("png", "ok", 10000, 10000);
    big.width = 20000;
    big.height = 10000;   /* 2e8 pixels: over twice Pillow's 89478485 */
    assert_int_equal(outcome("pillow", &big), IA_LD_FAILS);
    assert_int_equal(outcome("tf-data", &big), IA_LD_DECODES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bmp_exact_sizes),
        cmocka_unit_test(bmp_size_mismatch),
        cmocka_unit_test(bmp_refused_fields),
        cmocka_unit_test(bmp_palettes),
        cmocka_unit_test(bmp_coded),
        cmocka_unit_test(judge_gif_truncation),
        cmocka_unit_test(judge_tf_webp),
        cmocka_unit_test(judge_tf_bmp),
        cmocka_unit_test(judge_listing_and_bombs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
