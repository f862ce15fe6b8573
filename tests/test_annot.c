/*
 * Tests of the annotation parsers (src/annot/):
 *   - the YOLO line parser, table-driven: boxes, polygons (bounds and
 *     shoelace area), blanks, and every malformed shape it must refuse
 *     (nan, inf, hex, huge exponents, a fractional or negative class, odd
 *     or too few values, an over-long line);
 *   - IoU;
 *   - the COCO reader on small files: images, boxes sorted by image,
 *     unknown image and category ids, malformed entries, duplicate image
 *     ids, not JSON, not COCO;
 *   - data.yaml: names as a list and as a map, nc, malformed YAML.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "annot/annot.h"
#include "annot/model.h"
#include "core/core.h"

static int parse(const char *s, ia_yolo_line *l)
{
    char why[128];
    return ia_yolo_parse_line(s, strlen(s), l, why, sizeof why);
}

static void test_yolo_box(void **state)
{
    (void)state;
    ia_yolo_line l;
    assert_int_equal(parse("3 0.5 0.25 0.1 0.2", &l), IA_YOLO_OK);
    assert_int_equal(l.cls, 3);
    assert_true(l.cx == 0.5 && l.cy == 0.25 && l.w == 0.1 && l.h == 0.2);
    assert_int_equal(l.points, 0);
    assert_int_equal(parse("  0\t1 1 1 1\r", &l), IA_YOLO_OK);
    assert_int_equal(parse("7 20 20 10 10", &l), IA_YOLO_OK);  /* range is
                                                    check.c's business */
    assert_true(l.cx == 20.0);
}

static void test_yolo_polygon(void **state)
{
    (void)state;
    ia_yolo_line l;
    /* a right triangle of legs 0.4 and 0.2: area 0.04 */
    assert_int_equal(parse("1 0.1 0.1 0.5 0.1 0.1 0.3", &l), IA_YOLO_OK);
    assert_int_equal(l.points, 3);
    assert_true(fabs(l.poly_area - 0.04) < 1e-12);
    assert_true(fabs(l.cx - 0.3) < 1e-12 && fabs(l.cy - 0.2) < 1e-12);
    assert_true(fabs(l.w - 0.4) < 1e-12 && fabs(l.h - 0.2) < 1e-12);
    /* the unit square, clockwise: the area is never negative */
    assert_int_equal(parse("0 0 0 0 1 1 1 1 0", &l), IA_YOLO_OK);
    assert_true(fabs(l.poly_area - 1.0) < 1e-12);
    /* far from the origin: no area lost to cancellation (found by
     * fuzz_yolo), never more than the bounding box */
    assert_int_equal(parse("0 1e8 1e8 100000000.5 1e8 1e8 100000000.25",
                           &l), IA_YOLO_OK);
    assert_true(fabs(l.poly_area - 0.0625) < 1e-6);
    assert_true(l.poly_area <= l.w * l.h);
}

static void test_yolo_blank_and_bad(void **state)
{
    (void)state;
    ia_yolo_line l;
    static const char *const bad[] = {
        "a 0.5 0.5 0.1 0.1", "0 nan 0.5 0.1 0.1", "0 inf 0.5 0.1 0.1",
        "0 0x1p-2 0.5 0.1 0.1", "0 1e999 0.5 0.1 0.1", "1.5 0 0 1 1",
        "-1 0 0 1 1", "0 0.5 0.5 0.1", "0 0.5 0.5 0.1 0.1 0.2",
        "0", "0 0.1 0.1 0.2 0.2 0.3", "0 0.5 0.5 0.1 0.1x",
        "0 0.5\x01 0.5 0.1 0.1", "99999999999999999999 0 0 1 1",
        "0 1e10 0 0 1 1 1", "0 -2e9 0.5 0.1 0.1",
    };
    assert_int_equal(parse("", &l), IA_YOLO_BLANK);
    assert_int_equal(parse(" \t\r", &l), IA_YOLO_BLANK);
    for (size_t i = 0; i < IA_ARRAY_LEN(bad); i++) {
        char why[128] = "";
        int r = ia_yolo_parse_line(bad[i], strlen(bad[i]), &l, why,
                                   sizeof why);
        if (r != IA_YOLO_BAD)
            fail_msg("accepted: %s", bad[i]);
        assert_true(why[0] != '\0');
    }
    /* no NUL needed: the length bounds the line */
    assert_int_equal(ia_yolo_parse_line("0 0.5 0.5 0.1 0.1 9", 17, &l, NULL,
                                        0), IA_YOLO_OK);
    size_t n = IA_ANNOT_MAX_LINE + 10;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '0';
    assert_int_equal(ia_yolo_parse_line(big, n, &l, NULL, 0), IA_YOLO_BAD);
    free(big);
}

static void test_iou(void **state)
{
    (void)state;
    double a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 10, 10}, c[4] = {20, 20, 1, 1};
    double z[4] = {0, 0, 0, 10};
    assert_true(fabs(ia_annot_iou(a, a) - 1.0) < 1e-12);
    assert_true(fabs(ia_annot_iou(a, b) - 50.0 / 150.0) < 1e-12);
    assert_true(ia_annot_iou(a, c) == 0.0);
    assert_true(ia_annot_iou(a, z) == 0.0);
}

static char tmpdir[64];

static const char *write_tmp(const char *name, const char *text)
{
    static char path[128];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/ia-test-annot-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static int has_issue(const annot_set *s, const char *code, const char *sub)
{
    for (size_t i = 0; i < s->nissues; i++)
        if (strcmp(s->issues[i].code, code) == 0 &&
            (!sub || strstr(s->issues[i].detail, sub)))
            return 1;
    return 0;
}

static void coco(const char *text, annot_set *s)
{
    memset(s, 0, sizeof *s);
    s->source = ia_strdup("x.json");
    assert_int_equal(annot_coco_load(write_tmp("x.json", text), s), IA_OK);
}

static void test_coco_good(void **state)
{
    (void)state;
    annot_set s;
    coco("{\"images\": [{\"id\": 7, \"file_name\": \"a.jpg\", \"width\": 40,"
         " \"height\": 30}, {\"id\": 2, \"file_name\": \"b.jpg\"}],"
         " \"categories\": [{\"id\": 5, \"name\": \"dog\"},"
         " {\"id\": 1, \"name\": \"cat\"}],"
         " \"annotations\": ["
         " {\"id\": 10, \"image_id\": 2, \"category_id\": 1,"
         "  \"bbox\": [1, 2, 3, 4], \"area\": 12, \"iscrowd\": 0,"
         "  \"segmentation\": [[1, 2, 4, 2, 4, 6], [0, 0, 1, 1, 0, 1]]},"
         " {\"id\": 11, \"image_id\": 7, \"category_id\": 5,"
         "  \"bbox\": [0, 0, 40, 30], \"iscrowd\": 1,"
         "  \"segmentation\": {\"counts\": [1], \"size\": [30, 40]}}]}", &s);
    assert_int_equal(s.nissues, 0);
    assert_int_equal(s.nimages, 2);
    assert_int_equal(s.images[0].width, 40);
    assert_int_equal(s.images[1].width, 0);
    assert_int_equal(s.nboxes, 2);
    /* sorted by image: a.jpg (index 0) first */
    assert_int_equal(s.images[0].nboxes, 1);
    assert_int_equal(s.boxes[s.images[0].first].ext_id, 11);
    assert_int_equal(s.boxes[s.images[0].first].iscrowd, 1);
    const annot_box *b = &s.boxes[s.images[1].first];
    assert_int_equal(b->polygons, 2);
    assert_true(b->seg_area == 12.0 && b->b[3] == 4.0);
    assert_string_equal(annot_category_name(&s, 5), "dog");
    assert_null(annot_category_name(&s, 3));
    annot_set_free(&s);
}

static void test_coco_faults(void **state)
{
    (void)state;
    annot_set s;
    coco("{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"},"
         " {\"id\": \"x\"}],"
         " \"categories\": [{\"id\": 1, \"name\": \"cat\"}],"
         " \"annotations\": ["
         " {\"id\": 1, \"image_id\": 9, \"category_id\": 1,"
         "  \"bbox\": [1, 2, 3, 4]},"
         " {\"id\": 2, \"image_id\": 1, \"category_id\": 4,"
         "  \"bbox\": [1, 2, 3, 4]},"
         " {\"id\": 3, \"image_id\": 1, \"category_id\": 1,"
         "  \"bbox\": [1, 2, 3]}]}", &s);
    assert_true(has_issue(&s, "annot_unknown_image", "image_id 9"));
    assert_true(has_issue(&s, "annot_unknown_category", "category_id 4"));
    assert_true(has_issue(&s, "annot_invalid", "2 malformed entries"));
    assert_int_equal(s.nboxes, 1);      /* the unknown category is kept */
    annot_set_free(&s);
    coco("{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"},"
         " {\"id\": 1, \"file_name\": \"b.jpg\"}], \"categories\": [],"
         " \"annotations\": []}", &s);
    assert_true(has_issue(&s, "annot_invalid", "image id 1 given to two"));
    annot_set_free(&s);
    coco("{\"images\": [", &s);
    assert_true(has_issue(&s, "annot_invalid", "not valid JSON"));
    annot_set_free(&s);
    coco("{\"images\": {}}", &s);
    assert_true(has_issue(&s, "annot_invalid", "not COCO"));
    annot_set_free(&s);
    coco("{\"a\": 1, \"a\": 2}", &s);
    assert_true(has_issue(&s, "annot_invalid", "not valid JSON"));
    annot_set_free(&s);
}

static void yaml(const char *text, annot_set *s)
{
    memset(s, 0, sizeof *s);
    s->source = ia_strdup("data.yaml");
    assert_int_equal(annot_yaml_load(write_tmp("data.yaml", text), s), IA_OK);
}

static void test_yaml(void **state)
{
    (void)state;
    annot_set s;
    yaml("train: images/train\nnames: [cat, dog, 'bird']\n", &s);
    assert_int_equal(s.nissues, 0);
    assert_int_equal(s.nc, 3);
    assert_string_equal(annot_category_name(&s, 2), "bird");
    annot_set_free(&s);
    yaml("nc: 5\nnames:\n  1: dog\n  0: cat\n", &s);
    assert_int_equal(s.nissues, 0);
    assert_int_equal(s.nc, 5);
    assert_string_equal(annot_category_name(&s, 1), "dog");
    annot_set_free(&s);
    yaml("names: [a, b\n", &s);
    assert_true(has_issue(&s, "annot_invalid", "not valid YAML"));
    annot_set_free(&s);
    yaml("- just\n- a list\n", &s);
    assert_true(has_issue(&s, "annot_invalid", "no top-level mapping"));
    annot_set_free(&s);
    yaml("names: {x: cat}\n", &s);
    assert_true(has_issue(&s, "annot_invalid", "names:"));
    annot_set_free(&s);
    /* an alias is a node like any other: never expanded */
    yaml("a: &x [1, 2]\nnames: *x\nnc: -3\n", &s);
    assert_true(has_issue(&s, "annot_invalid", "nc:"));
    annot_set_free(&s);
}

static int cleanup(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof p, "%s/x.json", tmpdir);
    unlink(p);
    snprintf(p, sizeof p, "%s/data.yaml", tmpdir);
    unlink(p);
    if (tmpdir[0])
        rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yolo_box),
        cmocka_unit_test(test_yolo_polygon),
        cmocka_unit_test(test_yolo_blank_and_bad),
        cmocka_unit_test(test_iou),
        cmocka_unit_test(test_coco_good),
        cmocka_unit_test(test_coco_faults),
        cmocka_unit_test(test_yaml),
    };
    return cmocka_run_group_tests(tests, NULL, cleanup);
}
