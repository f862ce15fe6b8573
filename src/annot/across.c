/*
 * Checks across sources and the scan's files (check.h):
 *   - unannotated_image: an image file of a split some COCO file covers
 *     (every split when one gives none), or under a YOLO images/ folder,
 *     that no source names;
 *   - annot_conflict: one file, or two files of a duplicate group (exact,
 *     pixel or near), annotated with different boxes: compared by a
 *     signature of (class name, box to 0.001 of the frame) multisets;
 *   - category_missing_from_split: a category with boxes in one split and
 *     none in another split that has boxes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "annot/check.h"
#include "core/core.h"

typedef struct sig {
    int64_t file_id;
    uint64_t hash;
    size_t boxes;
    const annot_set *set;
} sig;

typedef struct across {
    ia_db *db;
    annot_set *out;         /* where issues go */
    sig *v;
    size_t n, cap;
    int64_t group;          /* the duplicate group being read */
    const sig *first;       /* its first annotated member */
    int err;
} across;

static int covers(const annot_set *sets, size_t nsets, const annot_file *a)
{
    for (size_t i = 0; i < nsets; i++) {
        if (sets[i].kind != IA_ANNOT_COCO)
            continue;
        if (!sets[i].split || (a->split && strcmp(sets[i].split,
                                                  a->split) == 0))
            return 1;
    }
    return 0;
}

static int in_images_folder(const char *path)
{
    return strncmp(path, "images/", 7) == 0 || strstr(path, "/images/");
}

static int check_unannotated(annot_set *out, const annot_set *sets,
                             size_t nsets, const annot_files *f)
{
    int yolo = 0, rc = IA_OK;
    for (size_t i = 0; i < nsets; i++)
        yolo |= sets[i].kind == IA_ANNOT_YOLO;
    for (size_t i = 0; rc == IA_OK && i < f->n; i++) {
        const annot_file *a = &f->v[i];
        if (a->annotated || !(covers(sets, nsets, a) ||
                              (yolo && in_images_folder(a->path))))
            continue;
        rc = annot_issue_add(out, "unannotated_image", IA_SEV_WARNING, NULL,
                             a->file_id, "no annotation names this image "
                             "(split %s)", a->split ? a->split : "none");
    }
    return rc;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t box_hash(const annot_set *s, const annot_box *b,
                         const double n[4])
{
    const char *name = annot_category_name(s, b->category);
    uint64_t h = 1469598103934665603ULL;
    for (const char *c = name ? name : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    for (int k = 0; k < 4; k++)
        h = mix(h ^ (uint64_t)(int64_t)llround(n[k] * 1000.0));
    return h;
}

/* Order-free: the sum of the boxes' hashes. NaN-free frames only. */
static int image_sig(const annot_set *s, const annot_image *im, sig *out)
{
    uint64_t h = 0;
    if (!s->normalised && (im->fw <= 0 || im->fh <= 0))
        return 0;
    for (size_t k = 0; k < im->nboxes; k++) {
        const annot_box *b = &s->boxes[im->first + k];
        double n[4];
        if (s->normalised) {
            memcpy(n, b->b, sizeof n);
        } else {
            n[0] = b->b[0] / im->fw, n[2] = b->b[2] / im->fw;
            n[1] = b->b[1] / im->fh, n[3] = b->b[3] / im->fh;
        }
        h += box_hash(s, b, n);
    }
    *out = (sig){im->file_id, h, im->nboxes, s};
    return 1;
}

static int cmp_sig(const void *a, const void *b)
{
    const sig *x = a, *y = b;
    return (x->file_id > y->file_id) - (x->file_id < y->file_id);
}

static int collect(across *c, const annot_set *sets, size_t nsets)
{
    for (size_t i = 0; i < nsets; i++)
        for (size_t j = 0; j < sets[i].nimages; j++) {
            const annot_image *im = &sets[i].images[j];
            sig one;
            if (!im->file_id || (sets[i].kind == IA_ANNOT_YOLO &&
                                 !im->label_path) ||
                !image_sig(&sets[i], im, &one))
                continue;
            sig *g = ia_grow(c->v, &c->cap, c->n + 1, sizeof *g, 256);
            if (!g)
                return IA_ERR_NOMEM;
            c->v = g;
            g[c->n++] = one;
        }
    if (c->n > 1)
        qsort(c->v, c->n, sizeof *c->v, cmp_sig);
    return IA_OK;
}

static int conflict(across *c, const sig *a, const sig *b, const char *how)
{
    return annot_issue_add(c->out, "annot_conflict", IA_SEV_WARNING, NULL,
                           b->file_id, "%s: %zu boxes in %s, %zu boxes "
                           "(or other ones) in %s", how, b->boxes,
                           b->set->source, a->boxes, a->set->source);
}

static const sig *find_sig(const across *c, int64_t file_id)
{
    sig key = {.file_id = file_id};
    sig *hit = c->n ? bsearch(&key, c->v, c->n, sizeof *c->v, cmp_sig)
                    : NULL;
    while (hit && hit > c->v && hit[-1].file_id == file_id)
        hit--;
    return hit;
}

static int on_member(void *user, int64_t group, const char *kind,
                     int64_t file_id)
{
    across *c = user;
    if (group != c->group)
        c->group = group, c->first = NULL;
    const sig *s = find_sig(c, file_id);
    if (!s)
        return IA_OK;
    if (!c->first) {
        c->first = s;
        return IA_OK;
    }
    if (s->hash == c->first->hash && s->boxes == c->first->boxes)
        return IA_OK;
    char how[80];
    ia_bprintf(how, sizeof how, "the same image (%s duplicate) annotated "
               "differently", kind);
    int rc = conflict(c, c->first, s, how);
    if (rc != IA_OK)
        c->err = rc;
    return rc;
}

static int check_conflicts(across *c, int64_t scan_id)
{
    int rc = IA_OK;
    for (size_t i = 1; rc == IA_OK && i < c->n; i++)
        if (c->v[i].file_id == c->v[i - 1].file_id &&
            (c->v[i].hash != c->v[i - 1].hash ||
             c->v[i].boxes != c->v[i - 1].boxes))
            rc = conflict(c, &c->v[i - 1], &c->v[i],
                          "annotated differently in two places");
    if (rc == IA_OK)
        rc = ia_store_dup_members(c->db, scan_id, on_member, c);
    return c->err ? c->err : rc;
}

typedef struct cat_count {
    const char *name;
    uint64_t boxes[3];
} cat_count;

static int cmp_cat_name(const void *a, const void *b)
{
    return strcmp(((const cat_count *)a)->name, ((const cat_count *)b)->name);
}

static int missing_in(annot_set *out, const cat_count *c, const int *has)
{
    static const char *const names[] = {"train", "val", "test"};
    int rc = IA_OK;
    for (int k = 0; rc == IA_OK && k < 3; k++) {
        if (!has[k] || c->boxes[k])
            continue;
        int o = c->boxes[0] ? 0 : c->boxes[1] ? 1 : 2;
        rc = annot_issue_add(out, "category_missing_from_split",
                             IA_SEV_WARNING, NULL, 0, "category '%s' has %llu "
                             "boxes in %s, none in %s", c->name,
                             (unsigned long long)c->boxes[o], names[o],
                             names[k]);
    }
    return rc;
}

static int check_missing_categories(annot_set *out, const annot_set *sets,
                                    size_t nsets)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < nsets; i++)
        n += sets[i].ncats;
    cat_count *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < nsets; i++)
        for (size_t j = 0; j < sets[i].ncats; j++) {
            v[k].name = sets[i].cats[j].name;
            memcpy(v[k++].boxes, sets[i].cats[j].boxes, sizeof v->boxes);
        }
    qsort(v, n, sizeof *v, cmp_cat_name);
    size_t m = 0;               /* merged by name */
    int has[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (m && strcmp(v[m - 1].name, v[i].name) == 0) {
            for (int s = 0; s < 3; s++)
                v[m - 1].boxes[s] += v[i].boxes[s];
        } else {
            v[m++] = v[i];
        }
        for (int s = 0; s < 3; s++)
            has[s] |= v[i].boxes[s] > 0;
    }
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < m; i++)
        if (v[i].boxes[0] + v[i].boxes[1] + v[i].boxes[2] > 0)
            rc = missing_in(out, &v[i], has);
    free(v);
    return rc;
}

int annot_check_across(ia_db *db, int64_t scan_id, annot_set *sets,
                       size_t nsets, const annot_files *f)
{
    across c = {.db = db, .out = &sets[0], .group = -1};
    int rc = check_unannotated(&sets[0], sets, nsets, f);
    if (rc == IA_OK)
        rc = collect(&c, sets, nsets);
    if (rc == IA_OK)
        rc = check_conflicts(&c, scan_id);
    if (rc == IA_OK)
        rc = check_missing_categories(&sets[0], sets, nsets);
    free(c.v);
    return rc;
}
