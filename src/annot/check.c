/*
 * The checks of annotations against themselves and the pixels
 * (docs/findings.md, "Annotations"). Boxes are judged in 0..1 of their
 * image's frame (the COCO size claimed, else the decoded size) so COCO
 * and YOLO share every threshold:
 *   - box_degenerate: width or height <= 0 (or a polygon of area 0);
 *   - box_not_normalized: a YOLO value outside 0..1;
 *   - box_mostly_outside: under half the box's area inside the image;
 *   - box_outside_image: otherwise past an edge by more than 1 pixel;
 *   - duplicate_box: the same class and IoU >= 0.95 in one image.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "annot/check.h"
#include "core/core.h"

#define MOSTLY_OUTSIDE 0.5
#define DUP_IOU 0.95
#define EDGE_PX 1.0

double ia_annot_iou(const double a[4], const double b[4])
{
    double ix = fmin(a[0] + a[2], b[0] + b[2]) - fmax(a[0], b[0]);
    double iy = fmin(a[1] + a[3], b[1] + b[3]) - fmax(a[1], b[1]);
    if (ix <= 0 || iy <= 0 || a[2] <= 0 || a[3] <= 0 || b[2] <= 0 ||
        b[3] <= 0)
        return 0.0;
    double inter = ix * iy;
    return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/* The box over 0..1 of the frame; 0 when the frame is unknown. */
static int normalise(const annot_set *s, const annot_image *im,
                     const annot_box *b, double n[4])
{
    if (s->normalised) {
        memcpy(n, b->b, sizeof b->b);
        return 1;
    }
    if (im->fw <= 0 || im->fh <= 0)
        return 0;
    n[0] = b->b[0] / im->fw, n[2] = b->b[2] / im->fw;
    n[1] = b->b[1] / im->fh, n[3] = b->b[3] / im->fh;
    return 1;
}

/* What names a box in a finding: its source, line or id, class. */
static void box_name(const annot_set *s, const annot_box *b, char *out,
                     size_t cap)
{
    const char *cat = annot_category_name(s, b->category);
    if (s->kind == IA_ANNOT_YOLO)
        ia_bprintf(out, cap, "%s line %ld (class %lld%s%s)",
                   s->images[b->image].label_path, b->line,
                   (long long)b->category, cat ? " " : "", cat ? cat : "");
    else
        ia_bprintf(out, cap, "%s annotation %lld (%s)", s->source,
                   (long long)b->ext_id, cat ? cat : "unknown category");
}

static int box_issue(annot_set *s, const annot_box *b, const char *code,
                     int sev, const char *what)
{
    char name[300];
    const annot_image *im = &s->images[b->image];
    box_name(s, b, name, sizeof name);
    return annot_issue_add(s, code, sev, im->file_id ? NULL : im->name,
                           im->file_id, "%s: %s", name, what);
}

static int yolo_values_ok(const annot_box *b)
{
    double cx = b->b[0] + b->b[2] / 2, cy = b->b[1] + b->b[3] / 2;
    double v[4] = {cx, cy, b->b[2], b->b[3]};
    for (int i = 0; i < 4; i++)
        if (v[i] < 0.0 || v[i] > 1.0)
            return 0;
    return 1;
}

static int check_geometry(annot_set *s, const annot_box *b)
{
    const annot_image *im = &s->images[b->image];
    char what[200];
    double n[4];
    if (b->b[2] <= 0 || b->b[3] <= 0 || (b->polygons && b->seg_area == 0)) {
        ia_bprintf(what, sizeof what, "zero or negative area (w %g, h %g%s)",
                   b->b[2], b->b[3], b->polygons && b->seg_area == 0
                                         ? ", polygon area 0" : "");
        return box_issue(s, b, "box_degenerate", IA_SEV_ERROR, what);
    }
    if (s->kind == IA_ANNOT_YOLO && !yolo_values_ok(b)) {
        ia_bprintf(what, sizeof what, "values outside 0..1 (cx %g, cy %g, "
                   "w %g, h %g): pixels written where YOLO wants fractions?",
                   b->b[0] + b->b[2] / 2, b->b[1] + b->b[3] / 2, b->b[2],
                   b->b[3]);
        return box_issue(s, b, "box_not_normalized", IA_SEV_ERROR, what);
    }
    if (!normalise(s, im, b, n) || im->fw <= 0)
        return IA_OK;
    double ix = fmin(n[0] + n[2], 1.0) - fmax(n[0], 0.0);
    double iy = fmin(n[1] + n[3], 1.0) - fmax(n[1], 0.0);
    double inside = ix > 0 && iy > 0 ? ix * iy / (n[2] * n[3]) : 0.0;
    if (inside < MOSTLY_OUTSIDE) {
        ia_bprintf(what, sizeof what, "%.0f%% of the box lies inside the "
                   "%gx%g image", inside * 100, im->fw, im->fh);
        return box_issue(s, b, "box_mostly_outside", IA_SEV_ERROR, what);
    }
    double ex = EDGE_PX / im->fw, ey = EDGE_PX / im->fh;
    if (n[0] < -ex || n[1] < -ey || n[0] + n[2] > 1 + ex ||
        n[1] + n[3] > 1 + ey) {
        ia_bprintf(what, sizeof what, "past the edge of the %gx%g image "
                   "(%.0f%% inside)", im->fw, im->fh, inside * 100);
        return box_issue(s, b, "box_outside_image", IA_SEV_WARNING, what);
    }
    return IA_OK;
}

static int check_class(annot_set *s, const annot_box *b)
{
    char what[120];
    if (s->kind != IA_ANNOT_YOLO || s->nc < 0 || b->category < s->nc)
        return IA_OK;
    ia_bprintf(what, sizeof what, "class id %lld, but data.yaml has nc %lld",
               (long long)b->category, s->nc);
    return box_issue(s, b, "yolo_class_out_of_range", IA_SEV_ERROR, what);
}

static int cmp_x(const void *a, const void *b, void *arg)
{
    const annot_box *v = arg;
    double x = v[*(const size_t *)a].b[0], y = v[*(const size_t *)b].b[0];
    return (x > y) - (x < y);
}

/* Pairs of one class with IoU >= 0.95: a sweep over boxes sorted by
 * left edge, so a crowded image is not quadratic in practice. */
static int check_duplicates(annot_set *s, const annot_image *im, size_t *idx)
{
    const annot_box *v = s->boxes + im->first;
    int rc = IA_OK;
    for (size_t i = 0; i < im->nboxes; i++)
        idx[i] = i;
    ia_qsort_r(idx, im->nboxes, sizeof *idx, cmp_x, s->boxes + im->first);
    for (size_t i = 0; rc == IA_OK && i < im->nboxes; i++) {
        const annot_box *a = &v[idx[i]];
        for (size_t j = i + 1; rc == IA_OK && j < im->nboxes; j++) {
            const annot_box *b = &v[idx[j]];
            if (b->b[0] >= a->b[0] + a->b[2])
                break;
            double iou = ia_annot_iou(a->b, b->b);
            if (a->category != b->category || iou < DUP_IOU)
                continue;
            char what[160], other[300];
            box_name(s, a, other, sizeof other);
            ia_bprintf(what, sizeof what, "IoU %.3f with %.120s", iou,
                       other);
            rc = box_issue(s, b, "duplicate_box", IA_SEV_WARNING, what);
        }
    }
    return rc;
}

/* COCO's width and height against the decoded size; an EXIF orientation
 * of 5 to 8 swaps them, which explains a transposed claim. */
static int check_size(annot_set *s, const annot_image *im,
                      const annot_file *a)
{
    if (s->kind != IA_ANNOT_COCO || !a || !a->status_ok || im->width <= 0 ||
        im->height <= 0 || (im->width == a->width && im->height == a->height))
        return IA_OK;
    int swapped = im->width == a->height && im->height == a->width;
    if (swapped && a->orientation >= 5 && a->orientation <= 8)
        return annot_issue_add(s, "annot_size_rotated", IA_SEV_WARNING, NULL,
                               a->file_id, "%s says %lldx%lld, the pixels "
                               "are %lldx%lld: EXIF orientation %d explains "
                               "it, boxes are on the rotated view a loader "
                               "that ignores EXIF does not see", s->source,
                               (long long)im->width, (long long)im->height,
                               (long long)a->width, (long long)a->height,
                               a->orientation);
    return annot_issue_add(s, "annot_size_mismatch", IA_SEV_ERROR, NULL,
                           a->file_id, "%s says %lldx%lld, the decoded "
                           "image is %lldx%lld%s", s->source,
                           (long long)im->width, (long long)im->height,
                           (long long)a->width, (long long)a->height,
                           swapped ? " (transposed, and no EXIF orientation "
                                     "explains it)" : "");
}

static int split_index(const char *split)
{
    if (!split)
        return -1;
    return strcmp(split, "train") == 0 ? 0 : strcmp(split, "val") == 0 ? 1
           : strcmp(split, "test") == 0 ? 2 : -1;
}

static int check_image(annot_set *s, const annot_files *f, size_t i,
                       size_t *idx)
{
    annot_image *im = &s->images[i];
    int rc = IA_OK;
    int sp = split_index(im->split);
    for (size_t k = 0; rc == IA_OK && k < im->nboxes; k++) {
        const annot_box *b = &s->boxes[im->first + k];
        annot_category *c = annot_category_get(s, b->category);
        if (c && sp >= 0)
            c->boxes[sp]++;
        rc = check_geometry(s, b);
        if (rc == IA_OK)
            rc = check_class(s, b);
    }
    if (rc == IA_OK)
        rc = check_duplicates(s, im, idx);
    const annot_file *a = im->file_index >= 0 ? &f->v[im->file_index]
                                              : NULL;
    if (rc == IA_OK)
        rc = check_size(s, im, a);
    return rc;
}

/* Label files that exist but hold no box, in a split that has boxes
 * elsewhere: a labeller's export that lost its rows, or background
 * images by intent (a warning, not an error). */
static int check_empty_labels(annot_set *s)
{
    int has[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < s->nimages; i++)
        if (s->images[i].nboxes)
            has[split_index(s->images[i].split) + 1] = 1;
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < s->nimages; i++) {
        const annot_image *im = &s->images[i];
        if (!im->label_path || im->nboxes ||
            !has[split_index(im->split) + 1])
            continue;
        rc = annot_issue_add(s, "empty_label_file", IA_SEV_WARNING, NULL,
                             im->file_id, "%s holds no box, while its split "
                             "(%s) has boxes", im->label_path,
                             im->split ? im->split : "none");
    }
    return rc;
}

int annot_check_set(annot_set *s, const annot_files *f)
{
    size_t most = 0;
    for (size_t i = 0; i < s->nimages; i++)
        most = s->images[i].nboxes > most ? s->images[i].nboxes : most;
    size_t *idx = malloc((most ? most : 1) * sizeof *idx);
    if (!idx)
        return IA_ERR_NOMEM;
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < s->nimages; i++)
        rc = check_image(s, f, i, idx);
    free(idx);
    if (rc == IA_OK && s->kind == IA_ANNOT_YOLO)
        rc = check_empty_labels(s);
    return rc;
}
