/*
 * The in-memory annotation set (model.h): flat growing arrays, so a
 * source of millions of boxes costs a few allocations, and one free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annot/model.h"
#include "core/core.h"

void annot_set_free(annot_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nimages; i++) {
        free(s->images[i].name);
        free(s->images[i].label_path);
    }
    for (size_t i = 0; i < s->ncats; i++)
        free(s->cats[i].name);
    for (size_t i = 0; i < s->nissues; i++)
        free(s->issues[i].path);
    free(s->images);
    free(s->boxes);
    free(s->cats);
    free(s->issues);
    free(s->source);
    free(s->split);
    memset(s, 0, sizeof *s);
}

int annot_add_image(annot_set *s, const char *name, annot_image **out)
{
    annot_image *g = ia_grow(s->images, &s->cap_images, s->nimages + 1,
                             sizeof *g, 64);
    if (!g)
        return IA_ERR_NOMEM;
    s->images = g;
    annot_image *im = &g[s->nimages];
    memset(im, 0, sizeof *im);
    im->file_index = -1;
    im->name = ia_strdup(name ? name : "");
    if (!im->name)
        return IA_ERR_NOMEM;
    s->nimages++;
    *out = im;
    return IA_OK;
}

int annot_add_box(annot_set *s, const annot_box *b)
{
    if (s->nboxes >= IA_ANNOT_MAX_BOXES)
        return IA_ERR_NOMEM;
    annot_box *g = ia_grow(s->boxes, &s->cap_boxes, s->nboxes + 1,
                           sizeof *g, 256);
    if (!g)
        return IA_ERR_NOMEM;
    s->boxes = g;
    g[s->nboxes++] = *b;
    return IA_OK;
}

int annot_add_category(annot_set *s, int64_t id, const char *name)
{
    annot_category *g = ia_grow(s->cats, &s->cap_cats, s->ncats + 1,
                                sizeof *g, 16);
    if (!g)
        return IA_ERR_NOMEM;
    s->cats = g;
    memset(&g[s->ncats], 0, sizeof *g);
    g[s->ncats].id = id;
    g[s->ncats].name = ia_strdup(name ? name : "");
    if (!g[s->ncats].name)
        return IA_ERR_NOMEM;
    s->ncats++;
    return IA_OK;
}

int annot_issue_add(annot_set *s, const char *code, int severity,
                    const char *path, int64_t file_id, const char *fmt, ...)
{
    annot_issue *g = ia_grow(s->issues, &s->cap_issues, s->nissues + 1,
                             sizeof *g, 16);
    if (!g)
        return IA_ERR_NOMEM;
    s->issues = g;
    annot_issue *is = &g[s->nissues];
    memset(is, 0, sizeof *is);
    is->code = code;
    is->severity = severity;
    is->file_id = file_id;
    if (path && !(is->path = ia_strdup(path)))
        return IA_ERR_NOMEM;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->detail, sizeof is->detail, fmt, ap);
    va_end(ap);
    s->nissues++;
    return IA_OK;
}

static int cmp_box(const void *a, const void *b)
{
    const annot_box *x = a, *y = b;
    if (x->image != y->image)
        return x->image < y->image ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

void annot_index_boxes(annot_set *s)
{
    if (s->nboxes > 1)
        qsort(s->boxes, s->nboxes, sizeof *s->boxes, cmp_box);
    for (size_t i = 0; i < s->nimages; i++)
        s->images[i].first = s->images[i].nboxes = 0;
    for (size_t i = 0; i < s->nboxes; i++) {
        annot_image *im = &s->images[s->boxes[i].image];
        if (im->nboxes++ == 0)
            im->first = i;
    }
}

static int cmp_cat(const void *a, const void *b)
{
    int64_t x = ((const annot_category *)a)->id;
    int64_t y = ((const annot_category *)b)->id;
    return (x > y) - (x < y);
}

void annot_sort_categories(annot_set *s)
{
    if (s->ncats > 1)
        qsort(s->cats, s->ncats, sizeof *s->cats, cmp_cat);
}

/* A binary search: a set may hold 100000 classes and 50 million boxes. */
annot_category *annot_category_get(const annot_set *s, int64_t id)
{
    size_t lo = 0, hi = s->ncats;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->cats[mid].id == id)
            return &s->cats[mid];
        if (s->cats[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *annot_category_name(const annot_set *s, int64_t id)
{
    const annot_category *c = annot_category_get(s, id);
    return c ? c->name : NULL;
}
