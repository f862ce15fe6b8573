/*
 * Compare, per split (docs/compare.md): labels (distribution, TVD,
 * chi-square, label_drift, labels added and removed, the class index and
 * class_renumbered), pixel statistics per split and per split x label
 * (pixel_drift), KS tests of the per-image distributions (brightness ...
 * jpeg_quality), and the format and colour-mode mix (format_drift).
 *
 * Both scans are viewed through arrays of pointers sorted by (split,
 * label, path); splits are walked in byte order of their key and labels
 * in byte order within a split, which is Python's sorted() order on UTF-8
 * names and so torchvision ImageFolder's class index. Because strings are
 * interned, a split or label compares by pointer within a run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare/model.h"
#include "compare/analysis.h"
#include "compare/stats.h"
#include "report/report.h"
#include "core/core.h"

/* NaN as a double: NAN alone is a float and would be promoted. */
#define DNAN ((double)NAN)

static int dcmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* ---- examples: the matched files that changed most ------------------- */

typedef struct topk {
    const char *path[3];
    double d[3];
    int n;
} topk;

static void topk_add(topk *t, const char *path, double d)
{
    int i = t->n < 3 ? t->n++ : 3;
    if (i == 3) {
        if (!(d > t->d[2]))
            return;
        i = 2;
    }
    while (i > 0 && d > t->d[i - 1]) {
        t->d[i] = t->d[i - 1];
        t->path[i] = t->path[i - 1];
        i--;
    }
    t->d[i] = d;
    t->path[i] = path;
}

static void topk_examples(const topk *t, cmp_finding *f)
{
    for (int i = 0; i < t->n; i++)
        ia_cmp_add_example(f, t->path[i]);
}

/* ---- per split: views ------------------------------------------------ */

typedef struct view {
    const cmp_file **v;
    size_t n;
} view;

static int nullstr_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int order_cmp(const void *pa, const void *pb)
{
    const cmp_file *a = *(const cmp_file *const *)pa;
    const cmp_file *b = *(const cmp_file *const *)pb;
    int d = a->split == b->split ? 0 : strcmp(a->split, b->split);
    if (!d && a->label != b->label)
        d = nullstr_cmp(a->label, b->label);
    return d ? d : strcmp(a->path, b->path);
}

static int view_make(const cmp_scan *s, view *out)
{
    out->n = s->n;
    out->v = malloc((s->n ? s->n : 1) * sizeof *out->v);
    if (!out->v)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        out->v[i] = &s->files[i];
    ia_qsort(out->v, s->n, sizeof *out->v, order_cmp);
    return 0;
}

typedef struct range {
    size_t lo, hi;
} range;

/* One label of one split in both versions: the files of each side. */
typedef struct cell {
    const char *label;
    range b, n;
    uint64_t cb, cn;   /* image files (the label distribution) */
} cell;

typedef struct split_ctx {
    const char *split;
    const view *vb, *vn;
    range b, n;
    cell *cells;
    size_t ncells;
} split_ctx;

static uint64_t count_images(const view *v, range r)
{
    uint64_t k = 0;
    for (size_t i = r.lo; i < r.hi; i++)
        k += ia_cmp_is_image(v->v[i]);
    return k;
}

/* The end of the run of files starting at i with the same label. */
static size_t label_end(const view *v, size_t i, size_t hi)
{
    size_t j = i + 1;
    while (j < hi && v->v[j]->label == v->v[i]->label)
        j++;
    return j;
}

static int make_cells(split_ctx *s)
{
    size_t i = s->b.lo, j = s->n.lo, cap = 16;
    s->cells = malloc(cap * sizeof *s->cells);
    if (!s->cells)
        return -1;
    while (i < s->b.hi || j < s->n.hi) {
        const char *lb = i < s->b.hi ? s->vb->v[i]->label : NULL;
        const char *ln = j < s->n.hi ? s->vn->v[j]->label : NULL;
        int d = i >= s->b.hi ? 1 : j >= s->n.hi ? -1 : nullstr_cmp(lb, ln);
        cell k = {d <= 0 ? lb : ln, {i, i}, {j, j}, 0, 0};
        if (d <= 0)
            k.b.hi = i = label_end(s->vb, i, s->b.hi);
        if (d >= 0)
            k.n.hi = j = label_end(s->vn, j, s->n.hi);
        k.cb = count_images(s->vb, k.b);
        k.cn = count_images(s->vn, k.n);
        if (s->ncells == cap) {
            cell *p = realloc(s->cells, 2 * cap * sizeof *p);
            if (!p)
                return -1;
            s->cells = p;
            cap *= 2;
        }
        s->cells[s->ncells++] = k;
    }
    return 0;
}

/* ---- per split: labels ----------------------------------------------- */

static json_t *label_counts(const split_ctx *s, int side)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < s->ncells; i++) {
        const cell *k = &s->cells[i];
        range r = side ? k->n : k->b;
        if (k->label && r.hi > r.lo &&
            ia_json_set(o, k->label,
                        json_integer((json_int_t)(side ? k->cn : k->cb)))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* The class index of one side: its labels in byte order. */
static json_t *class_index(const split_ctx *s, int side)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->ncells; i++) {
        const cell *k = &s->cells[i];
        range r = side ? k->n : k->b;
        if (k->label && r.hi > r.lo &&
            json_array_append_new(a, ia_json_text(k->label))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static void first_paths(const view *v, range r, cmp_finding *f)
{
    for (size_t i = r.lo; i < r.hi && f && f->nexamples < 3; i++)
        ia_cmp_add_example(f, v->v[i]->path);
}

/* Labels present on one side only. */
static int label_presence(ia_compare *c, const split_ctx *s)
{
    const char *sp = s->split;
    int ret = IA_OK;
    for (size_t i = 0; i < s->ncells && ret == IA_OK; i++) {
        const cell *k = &s->cells[i];
        cmp_finding *f = NULL;
        if (!k->label)
            continue;
        if (k->n.hi == k->n.lo) {
            ret = ia_cmp_add_finding(
                c, IA_CC_LABEL_REMOVED, ia_cmp_sev(c, IA_CC_LABEL_REMOVED, 2),
                sp, k->label, NULL, (double)(k->b.hi - k->b.lo), &f,
                "%s: label '%s' removed: %zu file%s in the "
                "baseline, none now",
                ia_cmp_split_name(sp), k->label, k->b.hi - k->b.lo,
                ia_cmp_s(k->b.hi - k->b.lo));
            first_paths(s->vb, k->b, f);
        } else if (k->b.hi == k->b.lo) {
            ret = ia_cmp_add_finding(
                c, IA_CC_LABEL_ADDED, ia_cmp_sev(c, IA_CC_LABEL_ADDED, 1), sp,
                k->label, NULL, (double)(k->n.hi - k->n.lo), &f,
                "%s: label '%s' is new: %zu file%s", ia_cmp_split_name(sp),
                k->label, k->n.hi - k->n.lo, ia_cmp_s(k->n.hi - k->n.lo));
            first_paths(s->vn, k->n, f);
        }
    }
    return ret;
}

/* class_renumbered: a label present in both versions whose index (its
 * position among the split's labels in byte order) differs. */
static int renumbering(ia_compare *c, const split_ctx *s)
{
    size_t ib = 0, in = 0, shared = 0, shifted = 0, added = 0, removed = 0;
    char list[512] = "";
    for (size_t i = 0; i < s->ncells; i++) {
        const cell *k = &s->cells[i];
        int hb = k->b.hi > k->b.lo, hn = k->n.hi > k->n.lo;
        if (!k->label)
            continue;
        if (hb && hn) {
            shared++;
            if (ib != in && shifted++ < 4) {
                size_t len = strlen(list);
                ia_bprintf(list + len, sizeof list - len, "%s%s %zu→%zu",
                           len ? ", " : "", k->label, ib, in);
            }
        }
        added += !hb && hn;
        removed += hb && !hn;
        ib += hb;
        in += hn;
    }
    if (!shifted)
        return IA_OK;
    return ia_cmp_add_finding(
        c, IA_CC_CLASS_RENUMBERED, ia_cmp_sev(c, IA_CC_CLASS_RENUMBERED, 2),
        s->split, NULL, "class_index", (double)shifted, NULL,
        "%s: class indices shift for %zu of %zu shared "
        "classes (%s%s) after %zu label(s) removed and %zu "
        "added: a model trained on the baseline's indices "
        "mislabels them",
        ia_cmp_split_name(s->split), shifted, shared, list,
        shifted > 4 ? ", ..." : "", removed, added);
}

/* The label section of a split; judge: also the findings (not for a
 * split present on one side only, which is one finding by itself). */
static int labels(ia_compare *c, const split_ctx *s, int judge)
{
    size_t k = s->ncells;
    uint64_t *cb = calloc(k ? k : 1, sizeof *cb);
    uint64_t *cn = calloc(k ? k : 1, sizeof *cn);
    uint64_t tb = 0, tn = 0;
    ia_chi2_result chi = {0.0, DNAN, 0};
    int ret = IA_OK, worst = -1;
    if (!cb || !cn) {
        ret = ia_cmp_nomem(c);
        goto out;
    }
    for (size_t i = 0; i < k; i++)
        if (s->cells[i].label) {
            tb += cb[i] = s->cells[i].cb;
            tn += cn[i] = s->cells[i].cn;
        }
    double tvd = ia_tvd(cb, cn, k);
    int have_chi = ia_chi2_homogeneity(cb, cn, k, &chi) == 0;
    if (judge)
        ret = label_presence(c, s);
    if (ret == IA_OK && judge)
        ret = renumbering(c, s);
    for (size_t i = 0; i < k && ret == IA_OK && judge; i++) {
        const cell *x = &s->cells[i];
        if (!x->label || !tb || !tn)
            continue;
        double pb = (double)cb[i] / (double)tb,
               pn = (double)cn[i] / (double)tn;
        int judged = x->b.hi > x->b.lo && x->n.hi > x->n.lo;
        int drift = judged && have_chi &&
                    fabs(pn - pb) >= c->policy.label_share &&
                    chi.p_value < c->policy.label_p_value;
        int sev = drift ? ia_cmp_sev(c, IA_CC_LABEL_DRIFT, 1) : -1;
        ret = ia_cmp_add_drift(c, IA_CC_LABEL_DRIFT, s->split, x->label,
                               "share", ia_json_real(pb), ia_json_real(pn),
                               pn - pb, have_chi ? chi.p_value : DNAN, sev);
        if (ret == IA_OK && sev >= IA_SEV_INFO) {
            worst = sev > worst ? sev : worst;
            ret = ia_cmp_add_finding(
                c, IA_CC_LABEL_DRIFT, sev, s->split, x->label, "share",
                fabs(pn - pb), NULL,
                "%s/%s: share of the split %.1f%% → %.1f%% "
                "(%+.1f points; %llu → %llu files); label "
                "distribution TVD %.3f, chi-square %.1f, df "
                "%d, p = %.2g",
                ia_cmp_split_name(s->split), x->label, 100 * pb, 100 * pn,
                100 * (pn - pb), (unsigned long long)cb[i],
                (unsigned long long)cn[i], tvd, chi.statistic, chi.df,
                chi.p_value);
        }
    }
    if (ret == IA_OK)
        ret = ia_cmp_add_drift(c, IA_CC_LABEL_DRIFT, s->split, NULL,
                               "label_distribution", label_counts(s, 0),
                               label_counts(s, 1), tvd,
                               have_chi ? chi.p_value : DNAN, worst);
    if (ret == IA_OK) {
        json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:I,s:o,s:{s:o,s:o}}",
                              "base", label_counts(s, 0),
                              "new", label_counts(s, 1),
                              "tvd", ia_json_real(tvd),
                              "chi2", have_chi ? ia_json_real(chi.statistic)
                                               : json_null(),
                              "df", (json_int_t)chi.df,
                              "p_value", have_chi ? ia_json_real(chi.p_value)
                                                  : json_null(),
                              "class_index", "base", class_index(s, 0),
                              "new", class_index(s, 1));
        if (!o || ia_json_set(c->labels, s->split, o))
            ret = ia_cmp_nomem(c);
    }
out:
    free(cb);
    free(cn);
    return ret;
}

/* ---- per split and label: pixel statistics --------------------------- */

static void sums_of(const view *v, range r, ia_sums *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = r.lo; i < r.hi; i++) {
        const cmp_file *f = v->v[i];
        if (f->pixels < 0 || !ia_cmp_is_ok(f))
            continue;
        s->images++;
        s->n += (ia_u128)f->pixels;
        for (int ch = 0; ch < 3; ch++) {
            s->sum[ch] += (ia_u128)f->sum[ch];
            s->sumsq[ch] += (ia_u128)f->sumsq[ch];
        }
    }
}

static json_t *triple(const double v[3])
{
    return json_pack("[o,o,o]", ia_json_real(v[0]), ia_json_real(v[1]),
                     ia_json_real(v[2]));
}

static double max_abs_change(const double a[3], const double b[3], int *ch)
{
    double best = 0.0;
    *ch = 0;
    for (int i = 0; i < 3; i++)
        if (fabs(b[i] - a[i]) > fabs(best)) {
            best = b[i] - a[i];
            *ch = i;
        }
    return best;
}

/* Examples of a pixel change: the matched images of the range whose
 * brightness moved most. */
static void brightness_examples(ia_compare *c, const view *vn, range r,
                                cmp_finding *f)
{
    topk t = {{NULL}, {0}, 0};
    for (size_t i = r.lo; i < r.hi; i++) {
        const cmp_file *n = vn->v[i];
        if (!n->other || isnan(n->brightness))
            continue;
        const cmp_file *b = &c->scan[0].files[n->other - 1];
        if (!isnan(b->brightness) && n->brightness != b->brightness)
            topk_add(&t, n->path, fabs(n->brightness - b->brightness));
    }
    topk_examples(&t, f);
}

static int pixel_cell(ia_compare *c, const split_ctx *s, const char *label,
                      range rb, range rn)
{
    ia_sums sb, sn;
    double mb[3], db[3], mn[3], dn[3];
    const ia_policy *p = &c->policy;
    int chm, chs;
    sums_of(s->vb, rb, &sb);
    sums_of(s->vn, rn, &sn);
    if (ia_sums_mean_std(&sb, mb, db) != 0 ||
        ia_sums_mean_std(&sn, mn, dn) != 0)
        return IA_OK;   /* no decoded image on one side: nothing to say */
    double dm = max_abs_change(mb, mn, &chm),
           ds = max_abs_change(db, dn, &chs);
    int judged = sb.images >= p->pixel_min_images &&
                 sn.images >= p->pixel_min_images;
    int lm = !judged ? -1 : fabs(dm) >= p->pixel_mean_error ? 2
                          : fabs(dm) >= p->pixel_mean_warning ? 1 : -1;
    int ls = !judged ? -1 : fabs(ds) >= p->pixel_std_error ? 2
                          : fabs(ds) >= p->pixel_std_warning ? 1 : -1;
    int level = lm > ls ? lm : ls;
    int sev = level >= 0 ? ia_cmp_sev(c, IA_CC_PIXEL_DRIFT, level) : -1;
    int ret =
        ia_cmp_add_drift(c, IA_CC_PIXEL_DRIFT, s->split, label, "channel_mean",
                         triple(mb), triple(mn), dm, DNAN, lm >= 0 ? sev : -1);
    if (ret == IA_OK)
        ret = ia_cmp_add_drift(c, IA_CC_PIXEL_DRIFT, s->split, label,
                               "channel_std", triple(db), triple(dn), ds, DNAN,
                               ls >= 0 ? sev : -1);
    if (ret != IA_OK || sev < IA_SEV_INFO)
        return ret;
    static const char rgb[3] = {'R', 'G', 'B'};
    cmp_finding *f;
    ret = ia_cmp_add_finding(
        c, IA_CC_PIXEL_DRIFT, sev, s->split, label, "channel_mean",
        fmax(fabs(dm), fabs(ds)), &f,
        "%s%s%s: channel mean (R, G, B) %.1f, %.1f, %.1f → "
        "%.1f, %.1f, %.1f (largest change %c %+.1f); std "
        "%.1f, %.1f, %.1f → %.1f, %.1f, %.1f (largest change "
        "%c %+.1f); %llu → %llu images",
        ia_cmp_split_name(s->split), label ? "/" : "", label ? label : "",
        mb[0], mb[1], mb[2], mn[0], mn[1], mn[2], rgb[chm], dm, db[0], db[1],
        db[2], dn[0], dn[1], dn[2], rgb[chs], ds,
        (unsigned long long)sb.images, (unsigned long long)sn.images);
    if (ret == IA_OK)
        brightness_examples(c, s->vn, rn, f);
    return ret;
}

static int pixels(ia_compare *c, const split_ctx *s)
{
    int ret = pixel_cell(c, s, NULL, s->b, s->n);
    for (size_t i = 0; i < s->ncells && ret == IA_OK; i++)
        if (s->cells[i].label)
            ret = pixel_cell(c, s, s->cells[i].label, s->cells[i].b,
                             s->cells[i].n);
    return ret;
}

/* ---- per split: per-image distributions ------------------------------ */

enum metric {
    M_BRIGHTNESS, M_CONTRAST, M_SHARPNESS, M_INFORMATION, M_WIDTH,
    M_HEIGHT, M_ASPECT, M_BYTES, M_QUALITY, M_COUNT
};

static const struct {
    const char *name;    /* drift metric */
    int code;            /* ia_cc */
    const char *what;    /* for the detail */
    int decimals;        /* of its values in details */
} metrics[M_COUNT] = {
    [M_BRIGHTNESS] = {"brightness", IA_CC_BRIGHTNESS_DRIFT,
                      "brightness (mean luma)", 1},
    [M_CONTRAST] = {"contrast", IA_CC_CONTRAST_DRIFT,
                    "contrast (std of luma)", 1},
    [M_SHARPNESS] = {"sharpness", IA_CC_SHARPNESS_DRIFT,
                     "sharpness (Laplacian variance)", 0},
    [M_INFORMATION] = {"information", IA_CC_INFORMATION_DRIFT,
                       "information (luma entropy, bits)", 2},
    [M_WIDTH] = {"width", IA_CC_WIDTH_DRIFT, "width", 0},
    [M_HEIGHT] = {"height", IA_CC_HEIGHT_DRIFT, "height", 0},
    [M_ASPECT] = {"aspect", IA_CC_ASPECT_DRIFT, "aspect ratio (w/h)", 3},
    [M_BYTES] = {"bytes", IA_CC_SIZE_DRIFT, "file size (bytes)", 0},
    [M_QUALITY] = {"jpeg_quality", IA_CC_QUALITY_DRIFT, "JPEG quality",
                   0},
};

/* The value of a metric for one file; NaN when it has none (pixel
 * measures need a decoded image, quality a JPEG header, size an image
 * file). */
static double metric_value(const cmp_file *f, int m)
{
    int ok = ia_cmp_is_ok(f), dims = ok && f->width > 0 && f->height > 0;
    switch (m) {
    case M_BRIGHTNESS: return ok ? f->brightness : DNAN;
    case M_CONTRAST: return ok ? f->contrast : DNAN;
    case M_SHARPNESS: return ok ? f->sharpness : DNAN;
    case M_INFORMATION: return ok ? f->entropy : DNAN;
    case M_WIDTH: return dims ? (double)f->width : DNAN;
    case M_HEIGHT: return dims ? (double)f->height : DNAN;
    case M_ASPECT: return dims ? (double)f->width / (double)f->height : DNAN;
    case M_BYTES:
        return ia_cmp_is_image(f) && f->size >= 0 ? (double)f->size : DNAN;
    default: return f->quality >= 0 ? (double)f->quality : DNAN;
    }
}

static size_t collect(const view *v, range r, int m, double *out)
{
    size_t k = 0;
    for (size_t i = r.lo; i < r.hi; i++) {
        double x = metric_value(v->v[i], m);
        if (!isnan(x))
            out[k++] = x;
    }
    ia_qsort(out, k, sizeof *out, dcmp);
    return k;
}

static double mean_of(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double)n : DNAN;
}

static double median_sorted(const double *v, size_t n)
{
    if (!n)
        return DNAN;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static json_t *dist_json(const double *v, size_t n)
{
    return json_pack("{s:I,s:o,s:o}", "n", (json_int_t)n, "mean",
                     ia_json_real(mean_of(v, n)), "median",
                     ia_json_real(median_sorted(v, n)));
}

/* Examples of a distribution change: matched files whose value moved
 * most. */
static void metric_examples(ia_compare *c, const view *vn, range r, int m,
                            cmp_finding *f)
{
    topk t = {{NULL}, {0}, 0};
    for (size_t i = r.lo; i < r.hi; i++) {
        const cmp_file *n = vn->v[i];
        if (!n->other)
            continue;
        double a = metric_value(&c->scan[0].files[n->other - 1], m);
        double b = metric_value(n, m);
        if (!isnan(a) && !isnan(b) && a != b)
            topk_add(&t, n->path, fabs(b - a));
    }
    topk_examples(&t, f);
}

static int ks_metric(ia_compare *c, const split_ctx *s, int m, double *xb,
                     double *xn)
{
    const ia_policy *p = &c->policy;
    size_t nb = collect(s->vb, s->b, m, xb), nn = collect(s->vn, s->n, m, xn);
    ia_ks_result r;
    if (!nb || !nn)
        return IA_OK;
    if (ia_ks_2samp(xb, nb, xn, nn, &r) != 0)
        return ia_cmp_nomem(c);
    int judged = nb >= p->ks_min_images && nn >= p->ks_min_images;
    int hit = judged && r.statistic >= p->ks_statistic &&
              r.p_value < p->ks_p_value;
    int sev = hit ? ia_cmp_sev(c, metrics[m].code, 1) : -1;
    int ret = ia_cmp_add_drift(c, metrics[m].code, s->split, NULL,
                               metrics[m].name, dist_json(xb, nb),
                               dist_json(xn, nn), r.statistic, r.p_value, sev);
    if (ret != IA_OK || sev < IA_SEV_INFO)
        return ret;
    char mb[32], mn[32], ab[32], an[32];
    int dp = metrics[m].decimals;
    ia_bprintf(mb, sizeof mb, "%.*f", dp, median_sorted(xb, nb));
    ia_bprintf(mn, sizeof mn, "%.*f", dp, median_sorted(xn, nn));
    ia_bprintf(ab, sizeof ab, "%.*f", dp + 1, mean_of(xb, nb));
    ia_bprintf(an, sizeof an, "%.*f", dp + 1, mean_of(xn, nn));
    cmp_finding *f;
    ret = ia_cmp_add_finding(
        c, metrics[m].code, sev, s->split, NULL, metrics[m].name, r.statistic,
        &f,
        "%s: %s distribution changed: KS D = %.3f, p = %.2g "
        "(%s); median %s → %s, mean %s → %s; %zu → %zu "
        "images",
        ia_cmp_split_name(s->split), metrics[m].what, r.statistic, r.p_value,
        r.exact ? "exact" : "asymptotic", mb, mn, ab, an, nb, nn);
    if (ret == IA_OK)
        metric_examples(c, s->vn, s->n, m, f);
    return ret;
}

static int distributions(ia_compare *c, const split_ctx *s)
{
    size_t nb = s->b.hi - s->b.lo, nn = s->n.hi - s->n.lo;
    double *xb = malloc((nb ? nb : 1) * sizeof *xb);
    double *xn = malloc((nn ? nn : 1) * sizeof *xn);
    int ret = xb && xn ? IA_OK : ia_cmp_nomem(c);
    for (int m = 0; m < M_COUNT && ret == IA_OK; m++)
        ret = ks_metric(c, s, m, xb, xn);
    free(xb);
    free(xn);
    return ret;
}

/* ---- per split: format and colour-mode mix --------------------------- */

typedef struct category {
    const char *name;
    uint64_t b, n;
} category;

static const char *category_of(const cmp_file *f, int colour)
{
    if (colour)
        return f->color_space;
    return ia_cmp_is_image(f) ? f->format : NULL;
}

static int tally_categories(const view *v, range r, int colour, int side,
                            category *cat, size_t *ncat, size_t cap)
{
    for (size_t i = r.lo; i < r.hi; i++) {
        const char *name = category_of(v->v[i], colour);
        size_t k = 0;
        if (!name)
            continue;
        while (k < *ncat && cat[k].name != name)
            k++;
        if (k == *ncat) {
            if (k == cap)
                return -1;
            cat[(*ncat)++] = (category){name, 0, 0};
        }
        if (side)
            cat[k].n++;
        else
            cat[k].b++;
    }
    return 0;
}

static int cat_cmp(const void *pa, const void *pb)
{
    return strcmp(((const category *)pa)->name, ((const category *)pb)->name);
}

static json_t *cat_json(const category *cat, size_t n, int side)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        uint64_t v = side ? cat[i].n : cat[i].b;
        if (v && ia_json_set(o, cat[i].name, json_integer((json_int_t)v))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Examples of a mix change: files of a new category, else files whose
 * category changed. */
static void mix_examples(ia_compare *c, const split_ctx *s, int colour,
                         const category *cat, size_t ncat, cmp_finding *f)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = s->n.lo; i < s->n.hi && f->nexamples < 3; i++) {
            const cmp_file *n = s->vn->v[i];
            const char *name = category_of(n, colour);
            if (!name)
                continue;
            if (pass == 0) {
                for (size_t k = 0; k < ncat; k++)
                    if (cat[k].name == name && !cat[k].b)
                        ia_cmp_add_example(f, n->path);
            } else if (n->other &&
                       category_of(&c->scan[0].files[n->other - 1],
                                   colour) != name) {
                ia_cmp_add_example(f, n->path);
            }
        }
}

static int mix(ia_compare *c, const split_ctx *s, int colour)
{
    enum { MAX_CATEGORIES = 64 };
    category cat[MAX_CATEGORIES];
    size_t ncat = 0;
    char buf[512] = "";
    if (tally_categories(s->vb, s->b, colour, 0, cat, &ncat, MAX_CATEGORIES) ||
        tally_categories(s->vn, s->n, colour, 1, cat, &ncat, MAX_CATEGORIES))
        return ia_cmp_fail(c, IA_ERR_DB, "more than %d formats or colour "
                           "modes in one split", MAX_CATEGORIES);
    if (!ncat)
        return IA_OK;
    ia_qsort(cat, ncat, sizeof *cat, cat_cmp);
    uint64_t tb = 0, tn = 0, cb[MAX_CATEGORIES], cn[MAX_CATEGORIES];
    size_t fresh = 0;
    for (size_t k = 0; k < ncat; k++) {
        tb += cb[k] = cat[k].b;
        tn += cn[k] = cat[k].n;
    }
    double tvd = ia_tvd(cb, cn, ncat);
    for (size_t k = 0; k < ncat && tb && tn; k++) {
        size_t len = strlen(buf);
        if (!cat[k].b && cat[k].n) {
            fresh++;
            ia_bprintf(buf + len, sizeof buf - len, "; new %s: %llu file%s "
                       "(%.1f%%)", cat[k].name, (unsigned long long)cat[k].n,
                       ia_cmp_s(cat[k].n),
                       100.0 * (double)cat[k].n / (double)tn);
        } else if (cat[k].b && !cat[k].n) {
            ia_bprintf(buf + len, sizeof buf - len, "; gone %s: %llu file%s",
                       cat[k].name, (unsigned long long)cat[k].b,
                       ia_cmp_s(cat[k].b));
        } else if (cat[k].b != cat[k].n || tb != tn) {
            ia_bprintf(buf + len, sizeof buf - len, "; %s %.1f%% → %.1f%%",
                       cat[k].name, 100.0 * (double)cat[k].b / (double)tb,
                       100.0 * (double)cat[k].n / (double)tn);
        }
    }
    int hit = tb && tn && (tvd >= c->policy.format_tvd || fresh);
    int sev = hit ? ia_cmp_sev(c, IA_CC_FORMAT_DRIFT, 1) : -1;
    const char *metric = colour ? "color_space" : "format";
    int ret = ia_cmp_add_drift(c, IA_CC_FORMAT_DRIFT, s->split, NULL, metric,
                               cat_json(cat, ncat, 0), cat_json(cat, ncat, 1),
                               tvd, DNAN, sev);
    if (ret != IA_OK || sev < IA_SEV_INFO)
        return ret;
    cmp_finding *f;
    ret = ia_cmp_add_finding(c, IA_CC_FORMAT_DRIFT, sev, s->split, NULL,
                             metric, tvd + (double)fresh, &f,
                             "%s: %s mix changed: TVD "
                             "%.3f%s",
                             ia_cmp_split_name(s->split),
                             colour ? "colour mode" : "format", tvd, buf);
    if (ret == IA_OK)
        mix_examples(c, s, colour, cat, ncat, f);
    return ret;
}

/* ---- walking the splits ---------------------------------------------- */

/* split_removed / split_added, for a split that holds labelled images
 * (files loose at the root, outside any split and class, are only
 * removed or added files: a loader never sees them). */
static int split_presence(ia_compare *c, const split_ctx *s)
{
    cmp_finding *f = NULL;
    int removed = s->n.hi == s->n.lo;
    const view *v = removed ? s->vb : s->vn;
    range r = removed ? s->b : s->n;
    int code = removed ? IA_CC_SPLIT_REMOVED : IA_CC_SPLIT_ADDED;
    size_t labelled = 0;
    for (size_t i = r.lo; i < r.hi; i++)
        labelled += v->v[i]->label && ia_cmp_is_image(v->v[i]);
    if (!labelled)
        return IA_OK;
    int ret = ia_cmp_add_finding(
        c, code, ia_cmp_sev(c, code, removed ? 2 : 1), s->split, NULL, NULL,
        (double)(r.hi - r.lo), &f,
        removed ? "split %s removed: %zu file%s in the "
                  "baseline, none now"
                : "split %s is new: %zu file%s",
        ia_cmp_split_name(s->split), r.hi - r.lo, ia_cmp_s(r.hi - r.lo));
    first_paths(v, r, f);
    return ret;
}

static int one_split(ia_compare *c, split_ctx *s)
{
    if (make_cells(s) != 0)
        return ia_cmp_nomem(c);
    int one_sided = s->b.hi == s->b.lo || s->n.hi == s->n.lo;
    int ret = labels(c, s, !one_sided);
    if (ret == IA_OK && one_sided)
        return split_presence(c, s);
    if (ret == IA_OK)
        ret = pixels(c, s);
    if (ret == IA_OK)
        ret = distributions(c, s);
    if (ret == IA_OK)
        ret = mix(c, s, 0);
    if (ret == IA_OK)
        ret = mix(c, s, 1);
    return ret;
}

static size_t split_end(const view *v, size_t i, const char *split)
{
    while (i < v->n && v->v[i]->split == split)
        i++;
    return i;
}

int ia_cmp_splits(ia_compare *c)
{
    view vb = {NULL, 0}, vn = {NULL, 0};
    int ret = IA_OK;
    if (!(c->labels = json_object()) || view_make(&c->scan[0], &vb) != 0 ||
        view_make(&c->scan[1], &vn) != 0) {
        ret = ia_cmp_nomem(c);
        goto out;
    }
    size_t i = 0, j = 0;
    while (ret == IA_OK && (i < vb.n || j < vn.n)) {
        const char *sb = i < vb.n ? vb.v[i]->split : NULL;
        const char *sn = j < vn.n ? vn.v[j]->split : NULL;
        const char *key = !sb ? sn : !sn ? sb : strcmp(sb, sn) <= 0 ? sb : sn;
        split_ctx s = {key, &vb, &vn, {i, split_end(&vb, i, key)},
                       {j, split_end(&vn, j, key)}, NULL, 0};
        ret = one_split(c, &s);
        free(s.cells);
        i = s.b.hi;
        j = s.n.hi;
    }
out:
    free(vb.v);
    free(vn.v);
    return ret;
}

