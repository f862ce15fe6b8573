/*
 * Storing what ia_annot_run read and found: each set's source,
 * categories, images and boxes (schema 7), then its issues as findings
 * of the analysis stage.
 */
#include <math.h>
#include <string.h>

#include "annot/check.h"
#include "core/core.h"

static void box_row(const annot_set *s, const annot_image *im,
                    const annot_box *b, int64_t image_id,
                    ia_annot_box_row *r)
{
    memset(r, 0, sizeof *r);
    r->image_id = image_id;
    r->category_id = b->category;
    r->category = annot_category_name(s, b->category);
    r->seg_area = b->seg_area;
    r->polygons = b->polygons;
    r->iscrowd = b->iscrowd;
    int known = im->fw > 0 && im->fh > 0;
    double f[4] = {im->fw, im->fh, im->fw, im->fh};
    for (int k = 0; k < 4; k++) {
        double v = b->b[k];
        if (s->normalised) {
            r->norm[k] = v;
            r->px[k] = known ? v * f[k] : (double)NAN;
        } else {
            r->px[k] = v;
            r->norm[k] = known ? v / f[k] : (double)NAN;
        }
    }
}

static int save_images(ia_annot_writer *w, const annot_set *s,
                       int64_t source_id)
{
    int rc = IA_OK;
    for (size_t i = 0; rc == IA_OK && i < s->nimages; i++) {
        const annot_image *im = &s->images[i];
        ia_annot_image_row r = {
            .source_id = source_id, .file_id = im->file_id,
            .name = im->name, .has_coco_id = s->kind == IA_ANNOT_COCO,
            .coco_id = im->ext_id, .split = im->split,
            .width = im->width, .height = im->height,
            .label_file = im->label_path,
        };
        int64_t image_id;
        rc = ia_store_annot_image(w, &r, &image_id);
        for (size_t k = 0; rc == IA_OK && k < im->nboxes; k++) {
            ia_annot_box_row b;
            box_row(s, im, &s->boxes[im->first + k], image_id, &b);
            rc = ia_store_annot_box(w, &b);
        }
    }
    return rc;
}

static int save_set(ia_annot_writer *w, const annot_set *s)
{
    int64_t source_id;
    int rc = ia_store_annot_source(w, s->kind == IA_ANNOT_COCO ? "coco"
                                                              : "yolo",
                                   s->source, s->split, &source_id);
    for (size_t i = 0; rc == IA_OK && i < s->ncats; i++)
        rc = ia_store_annot_category(w, source_id, s->cats[i].id,
                                     s->cats[i].name);
    if (rc == IA_OK)
        rc = save_images(w, s, source_id);
    return rc;
}

/* A finding on a file carries the file's path, as the walk's do. */
static int save_issue(ia_db *db, int64_t scan_id, const annot_issue *is)
{
    char path[4096];
    const char *p = is->path;
    if (is->file_id > 0 && !p) {
        int rc = ia_store_file_path(db, is->file_id, path, sizeof path);
        if (rc != IA_OK)
            return rc;
        p = path;
    }
    return ia_store_finding(db, scan_id, is->file_id, p, is->code,
                            is->severity, is->detail);
}

int annot_store(ia_db *db, int64_t scan_id, const annot_set *sets,
                size_t nsets)
{
    ia_annot_writer *w = NULL;
    int rc = ia_store_annot_begin(db, scan_id, &w);
    for (size_t i = 0; rc == IA_OK && i < nsets; i++)
        rc = save_set(w, &sets[i]);
    ia_store_annot_end(w);
    for (size_t i = 0; rc == IA_OK && i < nsets; i++)
        for (size_t k = 0; rc == IA_OK && k < sets[i].nissues; k++)
            rc = save_issue(db, scan_id, &sets[i].issues[k]);
    return rc;
}
