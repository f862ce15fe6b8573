/*
 * The annotation section of the reports (docs/annotations.md): per split
 * the annotated images, their boxes and boxes per image, then per split
 * and category the images, boxes and COCO's small/medium/large counts.
 * Text and Markdown share one writer (the JSON's "annotations" object is
 * in json.c, beside the helpers it uses). A scan without annotations has
 * no section.
 */
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

typedef struct actx {
    FILE *out;
    int md;
    int rows;
} actx;

static void cell(const actx *c, const char *s, int width)
{
    if (c->md) {
        fputs("| ", c->out);
        ia_fput_md(c->out, s);
        fputc(' ', c->out);
        return;
    }
    fputs("  ", c->out);
    ia_fput_clean(c->out, s);
    for (size_t n = strlen(s); n < (size_t)width; n++)
        fputc(' ', c->out);
}

static void head(actx *c, const char *title, const char *cols)
{
    if (c->md)
        fprintf(c->out, "\n### %s\n\n%s\n", title, cols);
    else
        fprintf(c->out, "\n%s\n", title);
}

static int split_row(void *user, const ia_q_annot *r)
{
    actx *c = user;
    if (c->rows++ == 0)
        head(c, "Annotations per split",
             "| split | images | boxes | boxes per image | most on one |\n"
             "| --- | --- | --- | --- | --- |");
    cell(c, *r->split ? r->split : "(none)", 8);
    fprintf(c->out, c->md ? "| %llu | %llu | %.2f | %llu |\n"
                          : "  %6llu images  %7llu boxes  %6.2f per image"
                            "  (most %llu)\n",
            (unsigned long long)r->images, (unsigned long long)r->boxes,
            r->images ? (double)r->boxes / (double)r->images : 0.0,
            (unsigned long long)r->max_per_image);
    return IA_OK;
}

static int category_row(void *user, const ia_q_annot *r)
{
    actx *c = user;
    if (c->rows++ == 0) {
        head(c, "Boxes per split and category",
             "| split | category | images | boxes | small | medium | large "
             "|\n| --- | --- | --- | --- | --- | --- | --- |");
        if (!c->md) {
            cell(c, "split", 8);
            cell(c, "category", 20);
            fputs("  images    boxes   small  medium   large\n", c->out);
        }
    }
    cell(c, *r->split ? r->split : "(none)", 8);
    cell(c, *r->category ? r->category : "(unknown)", 20);
    fprintf(c->out, c->md ? "| %llu | %llu | %llu | %llu | %llu |\n"
                          : "%8llu %8llu %7llu %7llu %7llu\n",
            (unsigned long long)r->images, (unsigned long long)r->boxes,
            (unsigned long long)r->small, (unsigned long long)r->medium,
            (unsigned long long)r->large);
    return IA_OK;
}

int ia_report_annot_section(ia_db *db, int64_t scan_id, FILE *out, int md)
{
    actx c = {out, md, 0};
    int rc = ia_q_annot_balance(db, scan_id, 0, split_row, &c);
    c.rows = 0;
    if (rc == IA_OK)
        rc = ia_q_annot_balance(db, scan_id, 1, category_row, &c);
    return rc;
}
