/*
 * Dataset statistics, quality flags and label balance (issue 4; the
 * definitions are in docs/statistics.md, the thresholds and their reasons
 * in docs/findings.md).
 *
 * One pass over the stored file rows, in (split, label, id) order, builds
 * the groups (one per split x label, contiguous) with exact 128-bit
 * channel sums, and a compact record per decoded image with its metrics.
 * Everything else works on those arrays:
 *   - aggregates per scan, split and split x label: sums of the groups;
 *   - metric summaries: each range of images copied, sorted, quantiles
 *     read off (exact order statistics, no sketches: a few seconds per
 *     million images);
 *   - fences over the whole scan, then one finding per flagged image and
 *     one dataset-level finding per code that fired, with the fences;
 *   - label balance and the class index per split.
 * Output never depends on thread timing: the input order is fixed and
 * nothing here runs in parallel.
 *
 * Why the relative metrics are on a log scale: size, elongation and
 * sharpness are products of factors (resolution, zoom, focus) and spread
 * over orders of magnitude; a factor of 2 should weigh the same at 100
 * and at 1000 px. Entropy is in bits, a log scale already.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/stats.h"
#include "core/core.h"
#include "store/store.h"

#define DNAN ((double)NAN)
#define DETAIL_CAP 1024

/* Codes this analysis writes; an earlier run's findings with these codes
 * are replaced. */
static const char *const codes[] = {
    "blank", "dark", "bright", "low_information", "blurry", "odd_size",
    "odd_aspect", "class_missing", "tiny_class", "class_imbalance",
};

enum flag { F_BLANK, F_DARK, F_BRIGHT, F_LOWINFO, F_BLURRY, F_ODD_SIZE,
            F_ODD_ASPECT, F_COUNT };

/* One decoded image. */
typedef struct img {
    int64_t file_id;
    double v[IA_M_COUNT];
    double std_max;         /* largest channel standard deviation */
    uint8_t color[3];       /* mean colour, rounded */
    uint8_t blank;
} img;

/* One split x label group: its files and its images' range in imgs. */
typedef struct group {
    char *split, *label;
    uint64_t files, images, bytes;
    ia_sums sums;
    size_t i0, i1;
} group;

/* A split: a range of groups (and so of images). */
typedef struct split {
    const char *name;
    size_t g0, g1;
} split;

/* A fence over the scan, on the log2 (or bits) scale of its metric. */
typedef struct fence {
    int on;                 /* enough images to judge */
    double lo, hi;          /* -inf / +inf for a side that never flags */
    double median;
} fence;

typedef struct actx {
    ia_db *db;
    int64_t scan_id;
    ia_stat_writer *w;
    group *g;
    size_t ng, gcap;
    img *im;
    size_t ni, icap;
    split *sp;
    size_t nsp;
    double *scratch;
    fence size, aspect, info, blur;
    uint64_t fired[F_COUNT];
} actx;

static int nomem(ia_db *db)
{
    return ia_store_fail(db, IA_ERR_NOMEM, "out of memory computing "
                         "statistics");
}

/* p (n elements of size sz, capacity *cap) with room for one more: p
 * itself, or a larger copy (capacity doubled); NULL when out of memory,
 * p then untouched. */
static void *grown(void *p, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : 256, bytes;
    if (ncap < *cap || ia_mul_size(ncap, sz, &bytes) != 0)
        return NULL;
    void *np = realloc(p, bytes);
    if (np)
        *cap = ncap;
    return np;
}

/* ---- numbers --------------------------------------------------------- */

double ia_quantile(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)h;
    if (lo >= n - 1)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

void ia_fences(const double *sorted, size_t n, double k, double margin,
               double *lo, double *hi)
{
    double q1 = ia_quantile(sorted, n, 0.25);
    double q3 = ia_quantile(sorted, n, 0.75);
    double iqr = q3 - q1;
    *lo = fmin(q1 - k * iqr, q1 - margin);
    *hi = fmax(q3 + k * iqr, q3 + margin);
}

/* Exact mean and population std per channel from 128-bit sums: the
 * numerator N*SS - S^2 is an exact integer, rounded once. */
static int moments(const ia_sums *s, double mean[3], double std[3])
{
    if (s->n == 0)
        return 0;
    long double n = (long double)s->n;
    for (int c = 0; c < 3; c++) {
        ia_u128 nss, ss2;
        long double num;
        mean[c] = (double)((long double)s->sum[c] / n);
        if (!__builtin_mul_overflow(s->n, s->sumsq[c], &nss) &&
            !__builtin_mul_overflow(s->sum[c], s->sum[c], &ss2)) {
            num = nss > ss2 ? (long double)(nss - ss2) : 0.0L;
        } else {
            long double m = (long double)s->sum[c] / n;
            long double v = (long double)s->sumsq[c] / n - m * m;
            num = v > 0 ? v * n * n : 0.0L;
        }
        std[c] = (double)(sqrtl(num) / n);
    }
    return 1;
}

static void sums_add(ia_sums *to, const ia_sums *from)
{
    to->images += from->images;
    to->n += from->n;
    for (int c = 0; c < 3; c++) {
        to->sum[c] += from->sum[c];
        to->sumsq[c] += from->sumsq[c];
    }
}

/* ---- loading --------------------------------------------------------- */

static int new_group(actx *c, const ia_stat_row *r)
{
    group *ng = grown(c->g, &c->gcap, c->ng, sizeof *c->g);
    if (!ng)
        return nomem(c->db);
    c->g = ng;
    group *g = &c->g[c->ng];
    memset(g, 0, sizeof *g);
    g->split = strdup(r->split);
    g->label = strdup(r->label);
    c->ng++;            /* counted before the check: freed either way */
    if (!g->split || !g->label)
        return nomem(c->db);
    g->i0 = g->i1 = c->ni;
    return IA_OK;
}

static void fill_img(img *m, const ia_stat_row *r)
{
    memset(m, 0, sizeof *m);
    m->file_id = r->file_id;
    for (int k = 0; k < IA_M_COUNT; k++)
        m->v[k] = ia_metric_of(r, k);
    ia_sums one = {.images = 1, .n = r->pixels};
    double mean[3], std[3];
    for (int ch = 0; ch < 3; ch++) {
        one.sum[ch] = r->sum[ch];
        one.sumsq[ch] = r->sumsq[ch];
    }
    if (!moments(&one, mean, std))
        return;
    for (int ch = 0; ch < 3; ch++) {
        m->std_max = fmax(m->std_max, std[ch]);
        m->color[ch] = (uint8_t)lround(fmin(fmax(mean[ch], 0.0), 255.0));
    }
    m->blank = m->std_max < IA_BLANK_STD;
}

static int row_cb(void *user, const ia_stat_row *r)
{
    actx *c = user;
    group *g = c->ng ? &c->g[c->ng - 1] : NULL;
    int ret;
    if (!g || strcmp(g->split, r->split) != 0 ||
        strcmp(g->label, r->label) != 0) {
        if ((ret = new_group(c, r)) != IA_OK)
            return ret;
        g = &c->g[c->ng - 1];
    }
    g->files++;
    if (r->size > 0)
        g->bytes += (uint64_t)r->size;
    if (!r->measured || r->pixels == 0)
        return IA_OK;
    img *nm = grown(c->im, &c->icap, c->ni, sizeof *c->im);
    if (!nm)
        return nomem(c->db);
    c->im = nm;
    fill_img(&c->im[c->ni++], r);
    g->i1 = c->ni;
    g->images++;
    g->sums.images++;
    g->sums.n += r->pixels;
    for (int ch = 0; ch < 3; ch++) {
        g->sums.sum[ch] += r->sum[ch];
        g->sums.sumsq[ch] += r->sumsq[ch];
    }
    return IA_OK;
}

/* Groups arrive split-major: consecutive groups of one split form it. */
static int find_splits(actx *c)
{
    size_t cap = 0;
    for (size_t i = 0; i < c->ng; i++) {
        if (c->nsp && strcmp(c->sp[c->nsp - 1].name, c->g[i].split) == 0) {
            c->sp[c->nsp - 1].g1 = i + 1;
            continue;
        }
        split *ns = grown(c->sp, &cap, c->nsp, sizeof *c->sp);
        if (!ns)
            return nomem(c->db);
        c->sp = ns;
        c->sp[c->nsp++] = (split){c->g[i].split, i, i + 1};
    }
    return IA_OK;
}

static int load(actx *c)
{
    int ret = ia_store_stat_rows(c->db, c->scan_id, row_cb, c);
    if (ret == IA_OK)
        ret = find_splits(c);
    size_t bytes;
    if (ret == IA_OK && c->ni &&
        (ia_mul_size(c->ni, sizeof *c->scratch, &bytes) != 0 ||
         !(c->scratch = malloc(bytes))))
        ret = nomem(c->db);
    return ret;
}

/* ---- metric summaries ------------------------------------------------ */

/* Finite values of metric k over images [i0, i1) into scratch, sorted. */
static size_t gather(actx *c, size_t i0, size_t i1, int k)
{
    size_t n = 0;
    for (size_t i = i0; i < i1; i++)
        if (isfinite(c->im[i].v[k]))
            c->scratch[n++] = c->im[i].v[k];
    ia_sort_doubles(c->scratch, n);
    return n;
}

static void summarize(const double *v, size_t n, ia_stat_metric *m)
{
    double sum = 0, ss = 0;
    m->n = n;
    m->mean = m->std = m->min = m->q1 = m->median = m->q3 = m->max = DNAN;
    m->fence_low = m->fence_high = DNAN;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    m->mean = sum / (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - m->mean) * (v[i] - m->mean);
    m->std = sqrt(ss / (double)n);
    m->min = v[0];
    m->max = v[n - 1];
    m->q1 = ia_quantile(v, n, 0.25);
    m->median = ia_quantile(v, n, 0.5);
    m->q3 = ia_quantile(v, n, 0.75);
}

/* The scan-level fences in the units of each metric's stat_metric row. */
static void scan_fences(const actx *c, int k, ia_stat_metric *m)
{
    if (k == IA_M_SIDE && c->size.on) {
        m->fence_low = exp2(c->size.lo);
        m->fence_high = exp2(c->size.hi);
    } else if (k == IA_M_ASPECT && c->aspect.on) {
        m->fence_low = exp2(-c->aspect.hi);
        m->fence_high = exp2(c->aspect.hi);
    } else if (k == IA_M_ENTROPY && c->info.on) {
        m->fence_low = c->info.lo;
    } else if (k == IA_M_SHARPNESS_REL && c->blur.on) {
        m->fence_low = exp2(c->blur.lo);
    }
}

static int write_metrics(actx *c, const char *sp, const char *lb,
                         size_t i0, size_t i1, int scan_level)
{
    int ret = IA_OK;
    for (int k = 0; k < IA_M_COUNT && ret == IA_OK; k++) {
        ia_stat_metric m = {.split = sp, .label = lb,
                            .metric = ia_metric_name(k)};
        summarize(c->scratch, gather(c, i0, i1, k), &m);
        if (scan_level)
            scan_fences(c, k, &m);
        ret = ia_store_stat_metric(c->w, &m);
    }
    return ret;
}

static int all_metrics(actx *c)
{
    int ret = write_metrics(c, NULL, NULL, 0, c->ni, 1);
    for (size_t s = 0; s < c->nsp && ret == IA_OK; s++) {
        const split *p = &c->sp[s];
        ret = write_metrics(c, p->name, NULL, c->g[p->g0].i0,
                            c->g[p->g1 - 1].i1, 0);
        for (size_t i = p->g0; i < p->g1 && ret == IA_OK; i++)
            ret = write_metrics(c, p->name, c->g[i].label, c->g[i].i0,
                                c->g[i].i1, 0);
    }
    return ret;
}

/* ---- fences ---------------------------------------------------------- */

enum side { LOW = 1, HIGH = 2 };

/* The value an image is judged by for fence kind f: log2 side, log2
 * elongation, entropy bits, log2 relative sharpness; NaN when it takes
 * no part (blank images say nothing about information or focus). */
static double judged(const img *m, int f)
{
    switch (f) {
    case F_ODD_SIZE:
        return log2(m->v[IA_M_SIDE]);
    case F_ODD_ASPECT:
        return fabs(log2(m->v[IA_M_ASPECT]));
    case F_LOWINFO:
        return m->blank ? DNAN : m->v[IA_M_ENTROPY];
    case F_BLURRY:
        return m->blank || !(m->v[IA_M_SHARPNESS_REL] > 0)
                   ? DNAN
                   : log2(m->v[IA_M_SHARPNESS_REL]);
    default:
        return DNAN;
    }
}

static void make_fence(actx *c, int f, double k, int sides, fence *out)
{
    size_t n = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < c->ni; i++) {
        double v = judged(&c->im[i], f);
        if (isfinite(v))
            c->scratch[n++] = v;
    }
    if (n < IA_FENCE_MIN_IMAGES)
        return;
    ia_sort_doubles(c->scratch, n);
    ia_fences(c->scratch, n, k, IA_FENCE_MARGIN, &out->lo, &out->hi);
    if (!(sides & LOW))
        out->lo = -HUGE_VAL;
    if (!(sides & HIGH))
        out->hi = HUGE_VAL;
    out->median = ia_quantile(c->scratch, n, 0.5);
    out->on = 1;
}

static void all_fences(actx *c)
{
    if (!c->ni)
        return;
    make_fence(c, F_ODD_SIZE, IA_FENCE_K_FAR, LOW | HIGH, &c->size);
    make_fence(c, F_ODD_ASPECT, IA_FENCE_K_FAR, HIGH, &c->aspect);
    make_fence(c, F_LOWINFO, IA_FENCE_K_FAR, LOW, &c->info);
    make_fence(c, F_BLURRY, IA_FENCE_K_BLUR, LOW, &c->blur);
    /* Information is judged against the dataset and in absolute terms:
     * simpler than the rest of a photo dataset is not yet "no content". */
    if (c->info.on)
        c->info.lo = fmin(c->info.lo, IA_LOWINFO_BITS);
}

/* ---- quality flags --------------------------------------------------- */

static const char *const flag_code[F_COUNT] = {
    "blank", "dark", "bright", "low_information", "blurry", "odd_size",
    "odd_aspect",
};

static int outside(const fence *f, double v)
{
    return f->on && isfinite(v) && (v < f->lo || v > f->hi);
}

/* Which flags image m raises; a blank image raises only blank and the
 * geometric flags, the others being consequences of it. */
static unsigned flags_of(const actx *c, const img *m)
{
    unsigned f = 0;
    if (m->blank) {
        f |= 1u << F_BLANK;
    } else {
        double luma = m->v[IA_M_BRIGHTNESS];
        f |= (unsigned)(luma < IA_DARK_LUMA) << F_DARK;
        f |= (unsigned)(luma > IA_BRIGHT_LUMA) << F_BRIGHT;
        f |= (unsigned)outside(&c->info, judged(m, F_LOWINFO)) << F_LOWINFO;
        f |= (unsigned)outside(&c->blur, judged(m, F_BLURRY)) << F_BLURRY;
    }
    f |= (unsigned)outside(&c->size, judged(m, F_ODD_SIZE)) << F_ODD_SIZE;
    f |= (unsigned)outside(&c->aspect, judged(m, F_ODD_ASPECT))
         << F_ODD_ASPECT;
    return f;
}

static void flag_detail(const actx *c, const img *m, int f, char *d,
                        size_t cap)
{
    const double *v = m->v;
    switch (f) {
    case F_BLANK:
        ia_bprintf(d, cap, "%s: largest channel standard deviation %.2f "
                   "(below %.0f), mean colour (%d, %d, %d)",
                   m->std_max == 0 ? "one colour" : "nearly one colour",
                   m->std_max, IA_BLANK_STD, m->color[0], m->color[1],
                   m->color[2]);
        break;
    case F_DARK:
    case F_BRIGHT:
        ia_bprintf(d, cap, "mean luma %.1f (%s %.0f)", v[IA_M_BRIGHTNESS],
                   f == F_DARK ? "below" : "above",
                   f == F_DARK ? IA_DARK_LUMA : IA_BRIGHT_LUMA);
        break;
    case F_LOWINFO:
        ia_bprintf(d, cap, "luma entropy %.2f bits (below %.2f: the "
                   "dataset's lower fence, at most %.0f; median %.2f)",
                   v[IA_M_ENTROPY], c->info.lo, IA_LOWINFO_BITS,
                   c->info.median);
        break;
    case F_BLURRY:
        ia_bprintf(d, cap, "relative sharpness %.3g (Laplacian variance "
                   "%.3g / luma variance %.3g), below the dataset's lower "
                   "fence %.3g (median %.3g)", v[IA_M_SHARPNESS_REL],
                   v[IA_M_SHARPNESS], v[IA_M_CONTRAST] * v[IA_M_CONTRAST],
                   exp2(c->blur.lo), exp2(c->blur.median));
        break;
    case F_ODD_SIZE:
        ia_bprintf(d, cap, "%.0fx%.0f: geometric-mean side %.0f px, outside "
                   "the dataset's fences %.0f-%.0f px (median %.0f)",
                   v[IA_M_WIDTH], v[IA_M_HEIGHT], v[IA_M_SIDE],
                   exp2(c->size.lo), exp2(c->size.hi), exp2(c->size.median));
        break;
    default:
        ia_bprintf(d, cap, "%.0fx%.0f: width/height %.3g, outside the "
                   "dataset's fences %.3g-%.3g", v[IA_M_WIDTH],
                   v[IA_M_HEIGHT], v[IA_M_ASPECT], exp2(-c->aspect.hi),
                   exp2(c->aspect.hi));
        break;
    }
}

static int flag_images(actx *c)
{
    char d[DETAIL_CAP];
    int ret = IA_OK;
    for (size_t i = 0; i < c->ni && ret == IA_OK; i++) {
        unsigned f = flags_of(c, &c->im[i]);
        for (int k = 0; k < F_COUNT && ret == IA_OK; k++) {
            if (!(f & (1u << k)))
                continue;
            c->fired[k]++;
            flag_detail(c, &c->im[i], k, d, sizeof d);
            ret = ia_store_stat_finding(c->w, c->im[i].file_id,
                                        flag_code[k], IA_SEV_WARNING, d);
        }
    }
    return ret;
}

/* The rule of flag k in words, with the fences, for the summary. */
static void flag_rule(const actx *c, int k, char *d, size_t cap)
{
    switch (k) {
    case F_BLANK:
        ia_bprintf(d, cap, "are blank (every channel's standard deviation "
                   "below %.0f)", IA_BLANK_STD);
        break;
    case F_DARK:
        ia_bprintf(d, cap, "are dark (mean luma below %.0f)", IA_DARK_LUMA);
        break;
    case F_BRIGHT:
        ia_bprintf(d, cap, "are bright (mean luma above %.0f)",
                   IA_BRIGHT_LUMA);
        break;
    case F_LOWINFO:
        ia_bprintf(d, cap, "have low information (luma entropy below %.2f "
                   "bits; median %.2f)", c->info.lo, c->info.median);
        break;
    case F_BLURRY:
        ia_bprintf(d, cap, "are blurry (relative sharpness below %.3g; "
                   "median %.3g)", exp2(c->blur.lo), exp2(c->blur.median));
        break;
    case F_ODD_SIZE:
        ia_bprintf(d, cap, "have an odd size (geometric-mean side outside "
                   "%.0f-%.0f px; median %.0f)", exp2(c->size.lo),
                   exp2(c->size.hi), exp2(c->size.median));
        break;
    default:
        ia_bprintf(d, cap, "have an odd aspect ratio (width/height outside "
                   "%.3g-%.3g)", exp2(-c->aspect.hi), exp2(c->aspect.hi));
        break;
    }
}

static int flag_summaries(actx *c)
{
    char rule[400], d[DETAIL_CAP];
    int ret = IA_OK;
    for (int k = 0; k < F_COUNT && ret == IA_OK; k++) {
        if (!c->fired[k])
            continue;
        flag_rule(c, k, rule, sizeof rule);
        ia_bprintf(d, sizeof d, "%llu of %llu images %s",
                   (unsigned long long)c->fired[k],
                   (unsigned long long)c->ni, rule);
        ret = ia_store_stat_finding(c->w, 0, flag_code[k], IA_SEV_WARNING,
                                    d);
    }
    return ret;
}

/* ---- label balance --------------------------------------------------- */

/* Balance over counts[0..n): labels with an image, largest / smallest,
 * entropy normalised by log2 of the number of labels (NaN under 2). */
typedef struct balance {
    int64_t labels;
    double imbalance, entropy;
    size_t imax, imin;
    uint64_t total;
} balance;

static void balance_of(const uint64_t *counts, size_t n, balance *b)
{
    uint64_t hi = 0, lo = UINT64_MAX;
    memset(b, 0, sizeof *b);
    b->imbalance = b->entropy = DNAN;
    for (size_t i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        b->labels++;
        b->total += counts[i];
        if (counts[i] > hi) {
            hi = counts[i];
            b->imax = i;
        }
        if (counts[i] < lo) {
            lo = counts[i];
            b->imin = i;
        }
    }
    if (b->labels == 0)
        return;
    b->imbalance = (double)hi / (double)lo;
    if (b->labels < 2)
        return;
    double h = 0;
    for (size_t i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        double p = (double)counts[i] / (double)b->total;
        h -= p * log2(p);
    }
    b->entropy = h / log2((double)b->labels);
}

/* Image counts of the labelled groups of split s (scratch of the caller). */
static size_t split_counts(const actx *c, const split *s, uint64_t *counts)
{
    size_t n = 0;
    for (size_t i = s->g0; i < s->g1; i++)
        if (*c->g[i].label)
            counts[n++] = c->g[i].images;
    return n;
}

/* First labelled group of split s (groups with label "" sort first). */
static size_t first_labelled(const actx *c, const split *s)
{
    size_t i = s->g0;
    while (i < s->g1 && !*c->g[i].label)
        i++;
    return i;
}

/* ---- labels across splits -------------------------------------------- */

/* A label of the scan with its images over every split. */
typedef struct label_total {
    const char *name;
    uint64_t images;
} label_total;

static int cmp_label_total(const void *a, const void *b)
{
    return strcmp(((const label_total *)a)->name,
                  ((const label_total *)b)->name);
}

/* The distinct labels of the scan (labelled groups merged by name), in
 * byte order; *out malloc'd. */
static int label_totals(actx *c, label_total **out, size_t *nout)
{
    label_total *t = NULL;
    size_t n = 0, bytes;
    if (c->ng && (ia_mul_size(c->ng, sizeof *t, &bytes) != 0 ||
                  !(t = malloc(bytes))))
        return nomem(c->db);
    for (size_t i = 0; i < c->ng; i++)
        if (*c->g[i].label)
            t[n++] = (label_total){c->g[i].label, c->g[i].images};
    if (n > 1)
        ia_qsort(t, n, sizeof *t, cmp_label_total);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && strcmp(t[m - 1].name, t[i].name) == 0)
            t[m - 1].images += t[i].images;
        else
            t[m++] = t[i];
    }
    *out = t;
    *nout = m;
    return IA_OK;
}

/* The group of label in split s, or SIZE_MAX (binary search: the
 * labelled groups of a split are in byte order). */
static size_t find_label(const actx *c, const split *s, const char *label)
{
    size_t lo = first_labelled(c, s), hi = s->g1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(c->g[mid].label, label);
        if (d == 0)
            return mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/* ---- stat_group rows ------------------------------------------------- */

static void group_row(const char *sp, const char *lb, const ia_sums *s,
                      uint64_t files, uint64_t bytes, ia_stat_group *out)
{
    memset(out, 0, sizeof *out);
    out->split = sp;
    out->label = lb;
    out->files = files;
    out->images = s->images;
    out->bytes = bytes;
    out->sums = *s;
    out->have_moments = moments(s, out->mean, out->std);
    out->labels = -1;
    out->imbalance = out->label_entropy = out->share = DNAN;
}

static double share_of(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : DNAN;
}

/* Totals of groups [g0, g1). */
static void range_totals(const actx *c, size_t g0, size_t g1, ia_sums *s,
                         uint64_t *files, uint64_t *bytes)
{
    memset(s, 0, sizeof *s);
    *files = *bytes = 0;
    for (size_t i = g0; i < g1; i++) {
        sums_add(s, &c->g[i].sums);
        *files += c->g[i].files;
        *bytes += c->g[i].bytes;
    }
}

static int write_scan_group(actx *c, uint64_t *counts, uint64_t *scan_images)
{
    ia_sums s;
    uint64_t files, bytes;
    ia_stat_group row;
    label_total *t = NULL;
    size_t nt = 0;
    balance b;
    int ret = label_totals(c, &t, &nt);
    if (ret != IA_OK)
        return ret;
    for (size_t i = 0; i < nt; i++)
        counts[i] = t[i].images;
    balance_of(counts, nt, &b);
    free(t);
    range_totals(c, 0, c->ng, &s, &files, &bytes);
    group_row(NULL, NULL, &s, files, bytes, &row);
    row.labels = b.labels;
    row.imbalance = b.imbalance;
    row.label_entropy = b.entropy;
    row.share = share_of(s.images, s.images);
    *scan_images = s.images;
    return ia_store_stat_group(c->w, &row);
}

static int write_split_groups(actx *c, const split *p, uint64_t *counts,
                              uint64_t scan_images)
{
    ia_sums s;
    uint64_t files, bytes;
    ia_stat_group row;
    balance b;
    balance_of(counts, split_counts(c, p, counts), &b);
    range_totals(c, p->g0, p->g1, &s, &files, &bytes);
    group_row(p->name, NULL, &s, files, bytes, &row);
    row.labels = b.labels;
    row.imbalance = b.imbalance;
    row.label_entropy = b.entropy;
    row.share = share_of(s.images, scan_images);
    int ret = ia_store_stat_group(c->w, &row);
    for (size_t i = p->g0; i < p->g1 && ret == IA_OK; i++) {
        const group *g = &c->g[i];
        group_row(p->name, g->label, &g->sums, g->files, g->bytes, &row);
        row.share = share_of(g->images, s.images);
        ret = ia_store_stat_group(c->w, &row);
    }
    return ret;
}

/* counts: scratch of c->ng entries. */
static int all_groups(actx *c, uint64_t *counts)
{
    uint64_t scan_images = 0;
    int ret = write_scan_group(c, counts, &scan_images);
    for (size_t s = 0; s < c->nsp && ret == IA_OK; s++)
        ret = write_split_groups(c, &c->sp[s], counts, scan_images);
    return ret;
}

/* ---- class index and label findings ---------------------------------- */

static const char *split_name(const char *s)
{
    return *s ? s : "(no split)";
}

/* What a folder loader numbers: the labelled groups of each split (a
 * group exists only when the folder holds files), in byte order. */
static int write_class_index(actx *c)
{
    int ret = IA_OK;
    for (size_t s = 0; s < c->nsp && ret == IA_OK; s++) {
        const split *p = &c->sp[s];
        int64_t idx = 0;
        for (size_t i = first_labelled(c, p); i < p->g1 && ret == IA_OK;
             i++)
            ret = ia_store_class_index(c->w, p->name, c->g[i].label, idx++);
    }
    return ret;
}

static int has_labelled_images(const actx *c, const split *s)
{
    for (size_t i = first_labelled(c, s); i < s->g1; i++)
        if (c->g[i].images)
            return 1;
    return 0;
}

/* Into d, how class numbering of split s differs from that of split r,
 * where a missing label is present: the first label numbered differently
 * and the class counts ("" when nothing differs). */
static void renumbering(const actx *c, const split *s, const split *r,
                        char *d, size_t cap)
{
    size_t fs = first_labelled(c, s), fr = first_labelled(c, r);
    size_t ns = s->g1 - fs, nr = r->g1 - fr;
    d[0] = '\0';
    for (size_t i = fr; i < r->g1; i++) {
        size_t j = find_label(c, s, c->g[i].label);
        if (j == SIZE_MAX || j - fs == i - fr)
            continue;
        ia_bprintf(d, cap, "; a folder loader numbers the classes "
                   "differently: '%s' is class %zu in '%s' but %zu in '%s'"
                   " (%zu and %zu classes)", c->g[i].label, i - fr,
                   split_name(r->name), j - fs, split_name(s->name), nr, ns);
        return;
    }
    if (ns != nr)
        ia_bprintf(d, cap, "; '%s' has %zu classes, '%s' %zu",
                   split_name(r->name), nr, split_name(s->name), ns);
}

/* "train: 123, test: 12": where label has images. Returns the first such
 * split. */
static const split *where_present(const actx *c, const char *label, char *d,
                                  size_t cap)
{
    const split *first = NULL;
    size_t used = 0;
    d[0] = '\0';
    for (size_t s = 0; s < c->nsp; s++) {
        size_t j = find_label(c, &c->sp[s], label);
        if (j == SIZE_MAX || !c->g[j].images)
            continue;
        if (!first)
            first = &c->sp[s];
        ia_bprintf(d + used, cap - used, "%s%s: %llu", used ? ", " : "",
                   split_name(c->sp[s].name),
                   (unsigned long long)c->g[j].images);
        used = strlen(d);
    }
    return first;
}

/* The renumbering note of split s against reference split r, computed
 * once per pair: with many labels missing from one split (disjoint
 * identities in a face dataset) it is the same for all of them. */
static const char *note_for(actx *c, const split *s, const split *r,
                            char **notes)
{
    size_t k = (size_t)(r - c->sp);
    if (!notes[k]) {
        if (!(notes[k] = malloc(DETAIL_CAP)))
            return NULL;
        renumbering(c, s, r, notes[k], DETAIL_CAP);
    }
    return notes[k];
}

static int missing_in(actx *c, const split *p, const label_total *t,
                      size_t nt, char **notes)
{
    char d[DETAIL_CAP], where[512];
    int ret = IA_OK;
    for (size_t k = 0; k < nt && ret == IA_OK; k++) {
        size_t j = find_label(c, p, t[k].name);
        if (!t[k].images || (j != SIZE_MAX && c->g[j].images))
            continue;
        const split *ref = where_present(c, t[k].name, where, sizeof where);
        const char *note = ref ? note_for(c, p, ref, notes) : "";
        if (!note)
            return nomem(c->db);
        ia_bprintf(d, sizeof d, "label '%s' has no images in split '%s' "
                   "(%s)%s", t[k].name, split_name(p->name), where, note);
        /* an error: the class cannot be learnt or scored there, and a
         * folder loader renumbers every later class of that split */
        ret = ia_store_stat_finding(c->w, 0, "class_missing",
                                    IA_SEV_ERROR, d);
    }
    return ret;
}

static int class_missing(actx *c, const label_total *t, size_t nt)
{
    size_t labelled = 0;
    int ret = IA_OK;
    for (size_t s = 0; s < c->nsp; s++)
        labelled += (size_t)has_labelled_images(c, &c->sp[s]);
    if (labelled < 2)
        return IA_OK;
    char **notes = calloc(c->nsp, sizeof *notes);
    if (!notes)
        return nomem(c->db);
    for (size_t s = 0; s < c->nsp && ret == IA_OK; s++) {
        if (has_labelled_images(c, &c->sp[s]))
            ret = missing_in(c, &c->sp[s], t, nt, notes);
        for (size_t k = 0; k < c->nsp; k++) {
            free(notes[k]);
            notes[k] = NULL;
        }
    }
    free(notes);
    return ret;
}

/* A class is tiny when it is small both absolutely and next to the
 * split's largest: a toy dataset whose every class is small says so
 * plainly enough without one warning per class. */
static int tiny_classes(actx *c, const split *p)
{
    char d[DETAIL_CAP];
    uint64_t largest = 0;
    int ret = IA_OK;
    for (size_t i = first_labelled(c, p); i < p->g1; i++)
        if (c->g[i].images > largest)
            largest = c->g[i].images;
    if (largest < IA_TINY_CLASS)
        return IA_OK;
    for (size_t i = first_labelled(c, p); i < p->g1 && ret == IA_OK; i++) {
        const group *g = &c->g[i];
        if (g->images == 0 || g->images >= IA_TINY_CLASS)
            continue;
        ia_bprintf(d, sizeof d, "label '%s' has %llu image%s in split '%s'"
                   " (fewer than %d)", g->label,
                   (unsigned long long)g->images, g->images == 1 ? "" : "s",
                   split_name(p->name), IA_TINY_CLASS);
        ret = ia_store_stat_finding(c->w, 0, "tiny_class", IA_SEV_WARNING,
                                    d);
    }
    return ret;
}

static int imbalance(actx *c, const split *p, uint64_t *counts)
{
    char d[DETAIL_CAP];
    balance b;
    size_t f = first_labelled(c, p);
    balance_of(counts, split_counts(c, p, counts), &b);
    if (b.labels < 2 || !(b.imbalance > IA_IMBALANCE_RATIO))
        return IA_OK;
    const group *big = &c->g[f + b.imax], *small = &c->g[f + b.imin];
    ia_bprintf(d, sizeof d, "split '%s': largest label '%s' has %llu images,"
               " smallest '%s' %llu (ratio %.1f, above %.0f); %lld labels,"
               " normalized label entropy %.3f", split_name(p->name),
               big->label, (unsigned long long)big->images, small->label,
               (unsigned long long)small->images, b.imbalance,
               IA_IMBALANCE_RATIO, (long long)b.labels, b.entropy);
    return ia_store_stat_finding(c->w, 0, "class_imbalance", IA_SEV_WARNING,
                                 d);
}

static int label_findings(actx *c, uint64_t *counts)
{
    label_total *t = NULL;
    size_t nt = 0;
    int ret = label_totals(c, &t, &nt);
    if (ret == IA_OK)
        ret = class_missing(c, t, nt);
    free(t);
    for (size_t s = 0; s < c->nsp && ret == IA_OK; s++)
        ret = tiny_classes(c, &c->sp[s]);
    for (size_t s = 0; s < c->nsp && ret == IA_OK; s++)
        ret = imbalance(c, &c->sp[s], counts);
    return ret;
}

/* ---- the analysis ---------------------------------------------------- */

static void actx_release(actx *c)
{
    for (size_t i = 0; i < c->ng; i++) {
        free(c->g[i].split);
        free(c->g[i].label);
    }
    free(c->g);
    free(c->im);
    free(c->sp);
    free(c->scratch);
}

/* Everything after load: the summaries, flags and findings, written. */
static int write_all(actx *c)
{
    uint64_t *counts = NULL;
    int ret = IA_OK;
    if (c->ng && !(counts = calloc(c->ng, sizeof *counts)))
        ret = nomem(c->db);
    if (ret == IA_OK)
        ret = ia_store_stats_begin(c->db, c->scan_id, codes,
                                   IA_ARRAY_LEN(codes), &c->w);
    if (ret != IA_OK)
        goto out;
    all_fences(c);
    ret = all_groups(c, counts);
    if (ret == IA_OK)
        ret = all_metrics(c);
    if (ret == IA_OK)
        ret = write_class_index(c);
    if (ret == IA_OK)
        ret = flag_images(c);
    if (ret == IA_OK)
        ret = flag_summaries(c);
    if (ret == IA_OK)
        ret = label_findings(c, counts);
    int ret2 = ia_store_stats_end(c->w, ret == IA_OK);
    if (ret == IA_OK)
        ret = ret2;
out:
    free(counts);
    return ret;
}

/* What load read, kept between the two steps. */
struct ia_stats_input {
    actx c;
};

void ia_stats_input_free(ia_stats_input *in)
{
    if (!in)
        return;
    actx_release(&in->c);
    free(in);
}

int ia_analyze_stats_read(ia_db *db, int64_t scan_id, ia_stats_input **out)
{
    ia_stats_input *in = calloc(1, sizeof *in);
    *out = NULL;
    if (!in)
        return nomem(db);
    in->c.db = db;
    in->c.scan_id = scan_id;
    int ret = load(&in->c);
    if (ret != IA_OK) {
        ia_stats_input_free(in);
        return ret;
    }
    *out = in;
    return IA_OK;
}

int ia_analyze_stats_finish(ia_db *db, int64_t scan_id, ia_stats_input *in)
{
    int ret = IA_OK;
    if (!in)
        ret = ia_analyze_stats_read(db, scan_id, &in);
    if (ret != IA_OK)
        return ret;
    in->c.db = db;  /* its messages and writes go to the writing handle */
    ret = write_all(&in->c);
    ia_stats_input_free(in);
    return ret;
}

int ia_analyze_stats(ia_db *db, int64_t scan_id)
{
    if (!db)
        return IA_ERR_ARG;
    return ia_analyze_stats_finish(db, scan_id, NULL);
}
