/*
 * HTML sections that read the DB and draw with html.c, shared by the scan
 * report (one scan) and the compare report (two scans, base and new):
 * label distributions per split and the histograms of the decoded images.
 * Both take one or two scans and draw one series per scan, so compare
 * gets its side-by-side bars and overlaid histograms from the same code
 * as the scan report.
 *
 * Labels: the (split, label, images) rows of every scan go into one
 * array, are sorted and merged, then drawn split by split. Memory is
 * O(splits x labels), which a dataset's class list bounds.
 *
 * Histograms: one streamed pass over the decoded files of each scan fills
 * fixed bins (the same bins for every scan, so two scans overlay); no
 * per-file memory.
 *
 * Files shown as thumbnails: each is described as the scan saw it (the
 * scan's root and options, the file's size and SHA-256 looked up by path
 * with one prepared statement), so thumb.c opens it by the same rules and
 * shows it only while it is the one scanned.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "html/html.h"
#include "store/store.h"
#include "core/core.h"

/* ---- files shown as thumbnails ---------------------------------------- */

struct ia_html_files {
    ia_db *db;
    char *root;
    int follow, allow_outside;
    ia_q_idents *idents;
};

/* A true boolean of the scan's options JSON (absent or unreadable: 0,
 * the strict reading). */
static int option_on(const char *options, const char *key)
{
    json_t *o = options ? json_loads(options, 0, NULL) : NULL;
    int on = json_is_true(json_object_get(o, key));
    json_decref(o);
    return on;
}

static int files_scan_cb(void *user, const ia_q_scan *s)
{
    ia_html_files *f = user;
    f->root = ia_strdup(s->root ? s->root : "");
    f->follow = option_on(s->options, "follow_symlinks");
    f->allow_outside = option_on(s->options, "allow_outside");
    return f->root ? IA_OK : ia_store_fail(f->db, IA_ERR_NOMEM,
                                           "out of memory");
}

int ia_html_files_open(ia_db *db, int64_t scan_id, ia_html_files **out)
{
    ia_html_files *f = calloc(1, sizeof *f);
    if (!f)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    f->db = db;
    int ret = ia_q_scan_get(db, scan_id, files_scan_cb, f);
    if (ret == IA_OK)
        ret = ia_q_idents_open(db, scan_id, &f->idents);
    if (ret != IA_OK) {
        ia_html_files_free(f);
        return ret;
    }
    *out = f;
    return IA_OK;
}

int ia_html_files_add(ia_html_files *f, ia_html_shots *s, ia_thumbset *set,
                      const char *path, const char *note)
{
    ia_q_ident id;
    int ret = ia_q_ident_get(f->idents, path, &id);
    if (ret != IA_OK)
        return ret;
    ia_thumb_src src = {.root = f->root, .path = path, .follow = f->follow,
                        .allow_outside = f->allow_outside, .size = id.size,
                        .have_sha256 = id.have_sha256};
    memcpy(src.sha256, id.sha256, sizeof src.sha256);
    if (ia_html_shots_add(s, set, &src, note) != IA_OK)
        return ia_store_fail(f->db, IA_ERR_NOMEM, "out of memory");
    return IA_OK;
}

void ia_html_files_free(ia_html_files *f)
{
    if (!f)
        return;
    free(f->root);
    ia_q_idents_free(f->idents);
    free(f);
}

/* ---- labels ---------------------------------------------------------- */

typedef struct lrow {
    char *split;
    char *label;
    uint64_t v[2];
} lrow;

typedef struct lrows {
    lrow *r;
    size_t n, cap;
    size_t series;      /* the scan being loaded */
    ia_db *db;
} lrows;

static void lrows_free(lrows *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->r[i].split);
        free(l->r[i].label);
    }
    free(l->r);
}

static int lrow_add(void *user, const ia_q_label *q)
{
    lrows *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        lrow *p = realloc(l->r, cap * sizeof *p);
        if (!p)
            return ia_store_fail(l->db, IA_ERR_NOMEM, "out of memory");
        l->r = p;
        l->cap = cap;
    }
    lrow *r = &l->r[l->n];
    memset(r, 0, sizeof *r);
    r->split = strdup(q->split ? q->split : "");
    r->label = strdup(q->label);
    if (!r->split || !r->label) {
        free(r->split);
        free(r->label);
        return ia_store_fail(l->db, IA_ERR_NOMEM, "out of memory");
    }
    r->v[l->series] = q->images;
    l->n++;
    return IA_OK;
}

static int lrow_cmp(const void *a, const void *b)
{
    const lrow *x = a, *y = b;
    int c = strcmp(x->split, y->split);
    return c ? c : strcmp(x->label, y->label);
}

/* Sorts and merges rows of the same (split, label) from both scans. */
static void lrows_merge(lrows *l)
{
    size_t w = 0;
    if (l->n == 0)
        return;
    ia_qsort(l->r, l->n, sizeof *l->r, lrow_cmp);
    for (size_t i = 1; i < l->n; i++) {
        if (lrow_cmp(&l->r[w], &l->r[i]) == 0) {
            l->r[w].v[0] += l->r[i].v[0];
            l->r[w].v[1] += l->r[i].v[1];
            free(l->r[i].split);
            free(l->r[i].label);
        } else {
            l->r[++w] = l->r[i];
        }
    }
    l->n = w + 1;
}

/* One chart for rows [from, to) of one split. */
static int split_chart(FILE *out, const ia_html_scans *s, const lrow *rows,
                       size_t count)
{
    size_t bars = count > IA_HTML_MAX_LABELS ? IA_HTML_MAX_LABELS : count;
    size_t shown = bars < count ? bars - 1 : bars;   /* one for the rest */
    const char **names = calloc(bars, sizeof *names);
    uint64_t *vals = calloc(bars * 2, sizeof *vals);
    char rest[64], title[256];
    uint64_t total[2] = {0, 0};
    if (!names || !vals) {
        free(names);
        free(vals);
        return ia_store_fail(s->db[0], IA_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        size_t b = i < shown ? i : shown;
        for (size_t k = 0; k < 2; k++) {
            vals[k * bars + b] += rows[i].v[k];
            total[k] += rows[i].v[k];
        }
        if (i < shown)
            names[i] = rows[i].label;
    }
    if (shown < bars) {
        ia_bprintf(rest, sizeof rest, "(%zu more labels)", count - shown);
        names[shown] = rest;
    }
    ia_html_series series[2];
    for (size_t k = 0; k < s->n && k < 2; k++) {
        series[k].name = s->names[k];
        series[k].values = vals + k * bars;
    }
    const char *split = *rows[0].split ? rows[0].split : "(no split)";
    if (s->n > 1)
        ia_bprintf(title, sizeof title, "%s: %llu / %llu images", split,
                   (unsigned long long)total[0],
                   (unsigned long long)total[1]);
    else
        ia_bprintf(title, sizeof title, "%s: %llu images", split,
                   (unsigned long long)total[0]);
    ia_html_chart c = {title, names, bars, series, s->n, s->n > 1, NULL,
                       NULL};
    ia_html_bar_chart(out, &c);
    free(names);
    free(vals);
    return IA_OK;
}

int ia_html_label_charts(FILE *out, const ia_html_scans *s)
{
    lrows l;
    int ret = IA_OK;
    memset(&l, 0, sizeof l);
    for (size_t k = 0; k < s->n && k < 2 && ret == IA_OK; k++) {
        l.series = k;
        l.db = s->db[k];
        ret = ia_q_labels(s->db[k], s->scan[k], 0, lrow_add, &l);
    }
    if (ret != IA_OK)
        goto out;
    lrows_merge(&l);
    if (l.n == 0) {
        ia_html_para(out, "No labelled files: the dataset has no class "
                          "folders and no manifest labels.");
        goto out;
    }
    size_t splits = 0, i = 0;
    ia_html_charts_begin(out);
    while (i < l.n && ret == IA_OK) {
        size_t j = i + 1;
        while (j < l.n && strcmp(l.r[j].split, l.r[i].split) == 0)
            j++;
        if (splits++ < IA_HTML_MAX_SPLITS)
            ret = split_chart(out, s, l.r + i, j - i);
        i = j;
    }
    ia_html_charts_end(out);
    if (splits > IA_HTML_MAX_SPLITS)
        ia_html_more(out, splits - IA_HTML_MAX_SPLITS,
                     "splits (see the JSON report)");
out:
    lrows_free(&l);
    return ret;
}

/* ---- histograms ------------------------------------------------------ */

#define BRIGHT_BINS 32
#define LOG_STEPS 4                 /* bins per doubling */
#define LOG_BINS (64 * LOG_STEPS)
#define QUALITY_BINS 20

typedef struct hists {
    uint64_t bright[BRIGHT_BINS];
    uint64_t pixels[LOG_BINS];
    uint64_t bytes[LOG_BINS];
    uint64_t quality[QUALITY_BINS];
    uint64_t n_bright, n_pixels, n_bytes, n_quality;
} hists;

/* floor(LOG_STEPS * log2(v)) for v >= 1: four bins per doubling, fine
 * enough to show a dataset's usual sizes as more than one bar. */
static int log2_bin(uint64_t v)
{
    int i = (int)floor(log2((double)v) * LOG_STEPS);
    return i < 0 ? 0 : i >= LOG_BINS ? LOG_BINS - 1 : i;
}

static int hist_add(void *user, const ia_q_measure *m)
{
    hists *h = user;
    if (m->has_brightness) {
        double b = m->brightness;
        int i = b <= 0 ? 0 : b >= 255 ? BRIGHT_BINS - 1 : (int)(b / 8);
        h->bright[i < BRIGHT_BINS ? i : BRIGHT_BINS - 1]++;
        h->n_bright++;
    }
    if (m->width > 0 && m->height > 0) {
        h->pixels[log2_bin((uint64_t)m->width * (uint64_t)m->height)]++;
        h->n_pixels++;
    }
    if (m->bytes > 0) {
        h->bytes[log2_bin((uint64_t)m->bytes)]++;
        h->n_bytes++;
    }
    if (m->jpeg_quality >= 1 && m->jpeg_quality <= 100) {
        h->quality[(m->jpeg_quality - 1) / 5]++;
        h->n_quality++;
    }
    return IA_OK;
}

/* The lower edge of log bin i, short: "362", "1.02K", "131K", "16.8M". */
static void edge_name(char *buf, size_t cap, int i)
{
    static const char units[] = "KMGTPE";
    double v = exp2((double)i / LOG_STEPS);
    int u = -1;
    while (v >= 999.5 && u < 5) {
        v /= 1000;
        u++;
    }
    if (u < 0)
        ia_bprintf(buf, cap, "%.0f", floor(v));
    else
        ia_bprintf(buf, cap, "%.3g%c", v, units[u]);
}

typedef char bin_name[24];

/* Bin names: ranges for tooltips, lower edges for the axis. */
typedef struct bins {
    bin_name range[LOG_BINS];
    bin_name edge[LOG_BINS];
} bins;

/* Draws one histogram over bins [lo, hi] of each scan's array at off. */
static int draw(FILE *out, const ia_html_scans *s, const hists *h,
                size_t off, size_t lo, size_t hi, const bins *names,
                const char *title, const char *axis)
{
    const char **np = calloc(2 * (hi - lo + 1), sizeof *np);
    const char **tp = np + (hi - lo + 1);
    if (!np)
        return ia_store_fail(s->db[0], IA_ERR_NOMEM, "out of memory");
    ia_html_series series[2];
    for (size_t i = lo; i <= hi; i++) {
        np[i - lo] = names->range[i];
        tp[i - lo] = names->edge[i];
    }
    for (size_t k = 0; k < s->n && k < 2; k++) {
        series[k].name = s->names[k];
        series[k].values = (const uint64_t *)((const char *)&h[k] + off) +
                           lo;
    }
    ia_html_chart c = {title, np, hi - lo + 1, series, s->n, s->n > 1,
                       axis, tp};
    ia_html_histogram(out, &c);
    free(np);
    return IA_OK;
}

/* The range of non-empty bins over every scan; 0 when all are empty. */
static int used_range(const ia_html_scans *s, const hists *h, size_t off,
                      size_t nbins, size_t *lo, size_t *hi)
{
    int any = 0;
    for (size_t k = 0; k < s->n && k < 2; k++) {
        const uint64_t *v = (const uint64_t *)((const char *)&h[k] + off);
        for (size_t i = 0; i < nbins; i++)
            if (v[i]) {
                if (!any || i < *lo)
                    *lo = i;
                if (!any || i > *hi)
                    *hi = i;
                any = 1;
            }
    }
    return any;
}

int ia_html_measure_charts(FILE *out, const ia_html_scans *s)
{
    hists *h = calloc(2, sizeof *h);
    bins *names = calloc(1, sizeof *names);
    int ret = IA_OK;
    size_t lo = 0, hi = 0;
    if (!h || !names) {
        ret = ia_store_fail(s->db[0], IA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < s->n && k < 2 && ret == IA_OK; k++)
        ret = ia_q_measures(s->db[k], s->scan[k], hist_add, &h[k]);
    if (ret != IA_OK)
        goto out;
    if (!used_range(s, h, offsetof(hists, pixels), LOG_BINS, &lo, &hi)) {
        ia_html_para(out, "No decoded images.");
        goto out;
    }
    ia_html_charts_begin(out);
    for (int i = 0; i < BRIGHT_BINS; i++) {
        ia_bprintf(names->range[i], sizeof names->range[i],
                   "%d\xE2\x80\x93%d", i * 8, i * 8 + 7);
        ia_bprintf(names->edge[i], sizeof names->edge[i], "%d", i * 8);
    }
    ret = draw(out, s, h, offsetof(hists, bright), 0, BRIGHT_BINS - 1,
               names, "Brightness",
               "mean luma of the image (0\xE2\x80\x93" "255)");
    for (int i = 0; i < LOG_BINS; i++) {
        char b[12];
        edge_name(names->edge[i], sizeof names->edge[i], i);
        edge_name(b, sizeof b, i + 1);
        ia_bprintf(names->range[i], sizeof names->range[i],
                   "%s\xE2\x80\x93%s", names->edge[i], b);
    }
    if (ret == IA_OK)
        ret = draw(out, s, h, offsetof(hists, pixels), lo, hi, names,
                   "Image size", "pixels (width \xC3\x97 height), log scale");
    if (ret == IA_OK &&
        used_range(s, h, offsetof(hists, bytes), LOG_BINS, &lo, &hi))
        ret = draw(out, s, h, offsetof(hists, bytes), lo, hi, names,
                   "File size", "bytes, log scale");
    if (ret == IA_OK &&
        used_range(s, h, offsetof(hists, quality), QUALITY_BINS, &lo,
                   &hi)) {
        for (int i = 0; i < QUALITY_BINS; i++) {
            ia_bprintf(names->range[i], sizeof names->range[i],
                       "%d\xE2\x80\x93%d", i * 5 + 1, i * 5 + 5);
            ia_bprintf(names->edge[i], sizeof names->edge[i], "%d",
                       i * 5 + 1);
        }
        ret = draw(out, s, h, offsetof(hists, quality), 0, QUALITY_BINS - 1,
                   names, "JPEG quality",
                   "estimated quality (1\xE2\x80\x93" "100)");
    }
    ia_html_charts_end(out);
out:
    free(h);
    free(names);
    return ret;
}
