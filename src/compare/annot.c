/*
 * Annotation drift between two scans made with --coco or --yolo
 * (docs/compare.md, "Annotations"), split by split, with the gates of
 * label drift:
 *   - category_removed (error) / category_added (warning): boxes of a
 *     category in a split on one side only;
 *   - category_drift (warning): a category's share of the split's boxes
 *     moved by label_share while the chi-square p of the split's box
 *     counts per category is below label_p_value;
 *   - box_size_drift (warning): the split's small/medium/large mix
 *     (COCO's size classes) with TVD >= label_share and chi-square p
 *     below label_p_value;
 *   - box_count_drift (warning): boxes per annotated image changed by
 *     at least 25 % of the baseline's mean.
 * Nothing when either scan has no annotations.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare/analysis.h"
#include "compare/stats.h"

#define BOX_COUNT_CHANGE 0.25

typedef struct arow {
    const char *split, *category;       /* interned */
    uint64_t boxes[2], size[2][3];      /* [side] */
    uint64_t images[2];                 /* split rows: annotated images */
} arow;

typedef struct actx {
    ia_compare *c;
    arow *v;
    size_t n, cap;
    int side, per_category;
    int err;
} actx;

static arow *find_row(actx *a, const char *split, const char *cat)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].split == split && a->v[i].category == cat)
            return &a->v[i];
    arow *g = ia_grow(a->v, &a->cap, a->n + 1, sizeof *g, 16);
    if (!g)
        return NULL;
    a->v = g;
    memset(&g[a->n], 0, sizeof *g);
    g[a->n].split = split, g[a->n].category = cat;
    return &g[a->n++];
}

static int on_row(void *user, const ia_q_annot *r)
{
    actx *a = user;
    const char *sp = ia_cmp_intern(a->c, r->split);
    const char *cat = ia_cmp_intern(a->c, a->per_category ? r->category
                                                          : "");
    arow *x = sp && cat ? find_row(a, sp, cat) : NULL;
    if (!x)
        return ia_cmp_nomem(a->c);
    x->boxes[a->side] += r->boxes;
    x->images[a->side] += r->images;
    x->size[a->side][0] += r->small;
    x->size[a->side][1] += r->medium;
    x->size[a->side][2] += r->large;
    return IA_OK;
}

static int load(actx *a, int per_category)
{
    a->per_category = per_category;
    for (a->side = 0; a->side < 2; a->side++) {
        cmp_scan *s = &a->c->scan[a->side];
        int rc = ia_q_annot_balance(s->db, s->id, per_category, on_row, a);
        if (rc != IA_OK)
            return rc;
    }
    return IA_OK;
}

static int presence(ia_compare *c, const arow *x)
{
    if (x->boxes[0] && !x->boxes[1])
        return ia_cmp_add_finding(
            c, IA_CC_CATEGORY_REMOVED, ia_cmp_sev(c, IA_CC_CATEGORY_REMOVED, 2),
            x->split, x->category, "boxes", (double)x->boxes[0], NULL,
            "%s: category '%s' removed: %llu box%s in the baseline, none "
            "now", ia_cmp_split_name(x->split), x->category,
            (unsigned long long)x->boxes[0], x->boxes[0] == 1 ? "" : "es");
    if (!x->boxes[0] && x->boxes[1])
        return ia_cmp_add_finding(
            c, IA_CC_CATEGORY_ADDED, ia_cmp_sev(c, IA_CC_CATEGORY_ADDED, 1),
            x->split, x->category, "boxes", (double)x->boxes[1], NULL,
            "%s: category '%s' is new: %llu box%s",
            ia_cmp_split_name(x->split), x->category,
            (unsigned long long)x->boxes[1], x->boxes[1] == 1 ? "" : "es");
    return IA_OK;
}

/* The categories of one split: presence, then shares under chi-square. */
static int split_categories(ia_compare *c, const actx *a, const char *sp)
{
    size_t k = 0;
    uint64_t *cb = calloc(a->n ? a->n : 1, sizeof *cb);
    uint64_t *cn = calloc(a->n ? a->n : 1, sizeof *cn);
    const arow **rows = calloc(a->n ? a->n : 1, sizeof *rows);
    uint64_t tb = 0, tn = 0;
    int ret = cb && cn && rows ? IA_OK : ia_cmp_nomem(c);
    for (size_t i = 0; ret == IA_OK && i < a->n; i++) {
        if (a->v[i].split != sp)
            continue;
        ret = presence(c, &a->v[i]);
        rows[k] = &a->v[i];
        tb += cb[k] = a->v[i].boxes[0];
        tn += cn[k++] = a->v[i].boxes[1];
    }
    ia_chi2_result chi = {0.0, (double)NAN, 0};
    int have = ret == IA_OK && tb && tn &&
               ia_chi2_homogeneity(cb, cn, k, &chi) == 0;
    for (size_t i = 0; have && ret == IA_OK && i < k; i++) {
        double pb = (double)cb[i] / (double)tb, pn = (double)cn[i] /
                                                    (double)tn;
        if (!cb[i] || !cn[i] || fabs(pn - pb) < c->policy.label_share ||
            !(chi.p_value < c->policy.label_p_value))
            continue;
        ret = ia_cmp_add_finding(
            c, IA_CC_CATEGORY_DRIFT, ia_cmp_sev(c, IA_CC_CATEGORY_DRIFT, 1),
            sp, rows[i]->category, "box_share", fabs(pn - pb), NULL,
            "%s/%s: share of the split's boxes %.1f%% → %.1f%% (%llu → %llu "
            "boxes); chi-square %.1f, df %d, p = %.2g",
            ia_cmp_split_name(sp), rows[i]->category, 100 * pb, 100 * pn,
            (unsigned long long)cb[i], (unsigned long long)cn[i],
            chi.statistic, chi.df, chi.p_value);
    }
    free(cb);
    free(cn);
    free(rows);
    return ret;
}

static int split_sizes(ia_compare *c, const arow *x)
{
    ia_chi2_result chi = {0.0, (double)NAN, 0};
    double tvd = ia_tvd(x->size[0], x->size[1], 3);
    if (ia_chi2_homogeneity(x->size[0], x->size[1], 3, &chi) != 0 ||
        tvd < c->policy.label_share || !(chi.p_value <
                                         c->policy.label_p_value))
        return IA_OK;
    return ia_cmp_add_finding(
        c, IA_CC_BOX_SIZE_DRIFT, ia_cmp_sev(c, IA_CC_BOX_SIZE_DRIFT, 1),
        x->split, NULL, "box_size", tvd, NULL,
        "%s: box sizes small/medium/large %llu/%llu/%llu → %llu/%llu/%llu; "
        "TVD %.3f, chi-square %.1f, p = %.2g", ia_cmp_split_name(x->split),
        (unsigned long long)x->size[0][0], (unsigned long long)x->size[0][1],
        (unsigned long long)x->size[0][2], (unsigned long long)x->size[1][0],
        (unsigned long long)x->size[1][1], (unsigned long long)x->size[1][2],
        tvd, chi.statistic, chi.p_value);
}

static int split_counts(ia_compare *c, const arow *x)
{
    if (!x->images[0] || !x->images[1])
        return IA_OK;
    double mb = (double)x->boxes[0] / (double)x->images[0];
    double mn = (double)x->boxes[1] / (double)x->images[1];
    if (mb <= 0 || fabs(mn - mb) < BOX_COUNT_CHANGE * mb)
        return IA_OK;
    return ia_cmp_add_finding(
        c, IA_CC_BOX_COUNT_DRIFT, ia_cmp_sev(c, IA_CC_BOX_COUNT_DRIFT, 1),
        x->split, NULL, "boxes_per_image", fabs(mn - mb) / mb, NULL,
        "%s: boxes per annotated image %.2f → %.2f (%+.0f%%)",
        ia_cmp_split_name(x->split), mb, mn, 100 * (mn - mb) / mb);
}

static int has_any(const actx *a, int side)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].boxes[side] || a->v[i].images[side])
            return 1;
    return 0;
}

int ia_cmp_annotations(ia_compare *c)
{
    actx cats = {.c = c}, splits = {.c = c};
    int ret = load(&cats, 1);
    if (ret == IA_OK)
        ret = load(&splits, 0);
    int both = has_any(&splits, 0) && has_any(&splits, 1);
    for (size_t i = 0; both && ret == IA_OK && i < splits.n; i++) {
        ret = split_categories(c, &cats, splits.v[i].split);
        if (ret == IA_OK) {
            /* sizes come from the per-category rows */
            arow sum = {.split = splits.v[i].split};
            for (size_t k = 0; k < cats.n; k++)
                for (int s = 0; s < 2 && cats.v[k].split == sum.split; s++)
                    for (int z = 0; z < 3; z++)
                        sum.size[s][z] += cats.v[k].size[s][z];
            ret = split_sizes(c, &sum);
        }
        if (ret == IA_OK)
            ret = split_counts(c, &splits.v[i]);
    }
    free(cats.v);
    free(splits.v);
    return ret;
}
