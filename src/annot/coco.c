/*
 * COCO JSON (images, annotations, categories) read with jansson into an
 * annot_set. The file is hostile: its size is checked before jansson
 * sees it (IA_ANNOT_MAX_JSON_BYTES; jansson's own depth limit bounds the
 * nesting), every field is type-checked, and what is wrong becomes a
 * finding on the file (annot_invalid, annot_unknown_image,
 * annot_unknown_category), never a failed scan.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "annot/model.h"
#include "core/core.h"

/* Findings of one kind per file at most: a file of a million broken
 * annotations says so in one line after these. */
#define PER_FILE_MAX 1000

typedef struct image_ref {
    int64_t id;
    size_t idx;
} image_ref;

typedef struct coco_ctx {
    annot_set *s;
    image_ref *ids;     /* images by COCO id */
    size_t nbad, nunknown_img, nunknown_cat;
    char first_bad[120];
} coco_ctx;

static int invalid(annot_set *s, const char *what)
{
    return annot_issue_add(s, "annot_invalid", IA_SEV_ERROR, s->source, 0,
                           "%s", what);
}

/* Counts a malformed entry: which array, which index, what it lacks. */
static void bad_entry(coco_ctx *c, const char *array, size_t i,
                      const char *lacks)
{
    if (c->nbad++ == 0)
        snprintf(c->first_bad, sizeof c->first_bad, "%s[%zu] lacks %s",
                 array, i, lacks);
}

static int get_int(const json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 1;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
        fabs(json_real_value(v)) < 9e15) {
        *out = (int64_t)json_real_value(v);
        return 1;
    }
    return 0;
}

static int load_images(coco_ctx *c, const json_t *arr)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        int64_t id;
        const char *name = json_string_value(json_object_get(o, "file_name"));
        if (!json_is_object(o) || !get_int(o, "id", &id) || !name || !*name) {
            bad_entry(c, "images", i, "an integer id or a file_name");
            continue;
        }
        annot_image *im;
        if (annot_add_image(c->s, name, &im) != IA_OK)
            return IA_ERR_NOMEM;
        im->ext_id = id;
        int64_t w = 0, h = 0;
        im->width = get_int(o, "width", &w) && w > 0 ? w : 0;
        im->height = get_int(o, "height", &h) && h > 0 ? h : 0;
    }
    return IA_OK;
}

static int cmp_ref(const void *a, const void *b)
{
    const image_ref *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Images by id; a repeated id is the file's fault, the first one wins. */
static int index_images(coco_ctx *c)
{
    annot_set *s = c->s;
    if (s->nimages == 0)
        return IA_OK;
    c->ids = calloc(s->nimages, sizeof *c->ids);
    if (!c->ids)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < s->nimages; i++)
        c->ids[i] = (image_ref){s->images[i].ext_id, i};
    qsort(c->ids, s->nimages, sizeof *c->ids, cmp_ref);
    for (size_t i = 1; i < s->nimages; i++)
        if (c->ids[i].id == c->ids[i - 1].id)
            return annot_issue_add(s, "annot_invalid", IA_SEV_ERROR,
                                   s->source, 0,
                                   "image id %lld given to two images (%s)",
                                   (long long)c->ids[i].id,
                                   s->images[c->ids[i].idx].name);
    return IA_OK;
}

static long image_of(const coco_ctx *c, int64_t id)
{
    size_t lo = 0, hi = c->s->nimages;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ids[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->s->nimages && c->ids[lo].id == id)
        return (long)c->ids[lo].idx;
    return -1;
}

static int load_categories(coco_ctx *c, const json_t *arr)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        int64_t id;
        const char *name = json_string_value(json_object_get(o, "name"));
        if (!json_is_object(o) || !get_int(o, "id", &id) || !name) {
            bad_entry(c, "categories", i, "an integer id or a name");
            continue;
        }
        if (annot_add_category(c->s, id, name) != IA_OK)
            return IA_ERR_NOMEM;
    }
    annot_sort_categories(c->s);
    return IA_OK;
}

static int read_bbox(const json_t *o, double b[4])
{
    json_t *bb = json_object_get(o, "bbox");
    if (!json_is_array(bb) || json_array_size(bb) != 4)
        return 0;
    for (size_t k = 0; k < 4; k++) {
        json_t *v = json_array_get(bb, k);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return 0;
        b[k] = json_number_value(v);
    }
    return 1;
}

/* Polygons as a list of lists; RLE (an object) has none. */
static void read_segmentation(const json_t *o, annot_box *b)
{
    json_t *seg = json_object_get(o, "segmentation");
    json_t *area = json_object_get(o, "area");
    b->polygons = json_is_array(seg) ? (int)json_array_size(seg) : 0;
    b->seg_area = json_is_number(area) && isfinite(json_number_value(area))
                      ? json_number_value(area) : -1.0;
    b->iscrowd = json_is_true(json_object_get(o, "iscrowd")) ||
                 json_integer_value(json_object_get(o, "iscrowd")) == 1;
}

/* An annotation naming an id its file lacks ("image", "category"). */
static int unknown(coco_ctx *c, size_t *count, const char *code,
                   const char *what, long long ann, long long id)
{
    if ((*count)++ >= PER_FILE_MAX)
        return IA_OK;
    return annot_issue_add(c->s, code, IA_SEV_ERROR, c->s->source, 0,
                           "annotation %lld: %s_id %lld is not in %s", ann,
                           what, id, strcmp(what, "image") == 0
                                         ? "images" : "categories");
}

static int load_annotation(coco_ctx *c, const json_t *o, size_t i)
{
    int64_t id = (int64_t)i, img, cat;
    annot_box b = {.line = (long)i};
    if (!json_is_object(o) || !get_int(o, "image_id", &img) ||
        !get_int(o, "category_id", &cat) || !read_bbox(o, b.b)) {
        bad_entry(c, "annotations", i, "an image_id, a category_id or a "
                  "bbox of 4 numbers");
        return IA_OK;
    }
    get_int(o, "id", &id);
    b.ext_id = id;
    b.category = cat;
    read_segmentation(o, &b);
    long im = image_of(c, img);
    if (im < 0)
        return unknown(c, &c->nunknown_img, "annot_unknown_image", "image",
                       (long long)id, (long long)img);
    if (!annot_category_name(c->s, cat)) {
        int rc = unknown(c, &c->nunknown_cat, "annot_unknown_category",
                         "category", (long long)id, (long long)cat);
        if (rc != IA_OK)
            return rc;
    }
    b.image = (size_t)im;
    return annot_add_box(c->s, &b);
}

static int summarise(coco_ctx *c)
{
    int rc = IA_OK;
    if (c->nbad)
        rc = annot_issue_add(c->s, "annot_invalid", IA_SEV_ERROR,
                             c->s->source, 0, "%zu malformed entries, "
                             "skipped; the first: %s", c->nbad, c->first_bad);
    if (rc == IA_OK && c->nunknown_img > PER_FILE_MAX)
        rc = annot_issue_add(c->s, "annot_unknown_image", IA_SEV_ERROR,
                             c->s->source, 0, "%zu annotations in all name "
                             "an image id not in images", c->nunknown_img);
    if (rc == IA_OK && c->nunknown_cat > PER_FILE_MAX)
        rc = annot_issue_add(c->s, "annot_unknown_category", IA_SEV_ERROR,
                             c->s->source, 0, "%zu annotations in all name "
                             "a category id not in categories",
                             c->nunknown_cat);
    return rc;
}

static int load_root(annot_set *s, const json_t *root)
{
    json_t *images = json_object_get(root, "images");
    json_t *anns = json_object_get(root, "annotations");
    json_t *cats = json_object_get(root, "categories");
    if (!json_is_array(images) || !json_is_array(anns) ||
        !json_is_array(cats))
        return invalid(s, "not COCO: the top level needs the arrays images, "
                          "annotations and categories");
    coco_ctx c = {.s = s};
    int rc = load_images(&c, images);
    if (rc == IA_OK)
        rc = index_images(&c);
    if (rc == IA_OK)
        rc = load_categories(&c, cats);
    size_t i;
    json_t *o;
    json_array_foreach(anns, i, o) {
        if (rc != IA_OK)
            break;
        rc = load_annotation(&c, o, i);
    }
    if (rc == IA_OK)
        rc = summarise(&c);
    free(c.ids);
    annot_index_boxes(s);
    return rc;
}

int annot_coco_load(const char *path, annot_set *s)
{
    struct stat st;
    char msg[300];
    s->kind = IA_ANNOT_COCO;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, sizeof msg, "cannot read: %s",
                 errno ? strerror(errno) : "not a regular file");
        return invalid(s, msg);
    }
    if ((uint64_t)st.st_size > IA_ANNOT_MAX_JSON_BYTES) {
        snprintf(msg, sizeof msg, "%lld bytes, over the limit of %u MiB: "
                 "not read", (long long)st.st_size,
                 IA_ANNOT_MAX_JSON_BYTES >> 20);
        return invalid(s, msg);
    }
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        snprintf(msg, sizeof msg, "not valid JSON: %.160s (line %d)",
                 err.text, err.line);
        return invalid(s, msg);
    }
    int rc = json_is_object(root) ? load_root(s, root)
                                  : invalid(s, "not COCO: not a JSON object");
    json_decref(root);
    return rc;
}
