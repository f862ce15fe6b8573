/*
 * What changed between two matched scans (docs/compare.md), as drift
 * measures (every one, with its numbers) and findings (the measures that
 * cross a policy threshold, plus the file-level changes). This file owns
 * the findings and drift lists, the file-level changes (one summary
 * finding per kind, with what changed inside the modified files), the
 * health comparison (every status and finding count; health_regression
 * where a rate rose), incomplete scans, and the final ranking; the
 * per-split measures are in compare/splits.c.
 *
 * Findings are ranked last: severity, then the code's rank (policy.h),
 * then magnitude, then the order found.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compare/analysis.h"
#include "compare/model.h"
#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

/* NaN as a double: NAN alone is a float and would be promoted. */
#define DNAN ((double)NAN)

/* ---- small tallies of (from, to) transitions ------------------------- */

typedef struct trans {
    const char *from, *to;   /* interned (or static) strings */
    uint64_t n;
} trans;

typedef struct tally {
    trans *t;
    size_t n, cap;
} tally;

static int tally_add(tally *t, const char *from, const char *to)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->t[i].from == from && t->t[i].to == to) {
            t->t[i].n++;
            return 0;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        trans *p = realloc(t->t, cap * sizeof *p);
        if (!p)
            return -1;
        t->t = p;
        t->cap = cap;
    }
    t->t[t->n++] = (trans){from, to, 1};
    return 0;
}

static int trans_cmp(const void *pa, const void *pb)
{
    const trans *a = pa, *b = pb;
    if (a->n != b->n)
        return a->n < b->n ? 1 : -1;
    int d = strcmp(a->from ? a->from : "", b->from ? b->from : "");
    return d ? d : strcmp(a->to ? a->to : "", b->to ? b->to : "");
}

/* "; <what> a→b 12, c→d 3" for the largest transitions. */
static void tally_text(tally *t, const char *what, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    if (!t->n)
        return;
    ia_qsort(t->t, t->n, sizeof *t->t, trans_cmp);
    ia_bprintf(buf + len, cap - len, "; %s", what);
    for (size_t i = 0; i < t->n && i < 4; i++) {
        len = strlen(buf);
        ia_bprintf(buf + len, cap - len, "%s %s→%s %llu", i ? "," : "",
                   t->t[i].from ? t->t[i].from : "none",
                   t->t[i].to ? t->t[i].to : "none",
                   (unsigned long long)t->t[i].n);
    }
    if (t->n > 4) {
        len = strlen(buf);
        ia_bprintf(buf + len, cap - len, ", ...");
    }
}

static json_t *tally_json(const tally *t)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < t->n; i++) {
        json_t *o = json_object();
        if (!o || json_object_set_new(o, "from", ia_json_text(t->t[i].from)) ||
            json_object_set_new(o, "to", ia_json_text(t->t[i].to)) ||
            json_object_set_new(o, "files",
                                json_integer((json_int_t)t->t[i].n)) ||
            json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ---- medians --------------------------------------------------------- */

static int dcmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Median of v[0..n) (sorted in place); NaN when n is 0. */
static double median(double *v, size_t n)
{
    if (!n)
        return DNAN;
    ia_qsort(v, n, sizeof *v, dcmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A shift of one measure over pairs: files, and values before and after. */
typedef struct shift {
    double *base, *new_;
    size_t n, cap;
} shift;

static int shift_add(shift *s, double b, double n)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        double *pb = realloc(s->base, cap * sizeof *pb);
        if (!pb)
            return -1;
        s->base = pb;
        double *pn = realloc(s->new_, cap * sizeof *pn);
        if (!pn)
            return -1;
        s->new_ = pn;
        s->cap = cap;
    }
    s->base[s->n] = b;
    s->new_[s->n++] = n;
    return 0;
}

static void shift_free(shift *s)
{
    free(s->base);
    free(s->new_);
}

static json_t *shift_json(shift *s)
{
    double mb = median(s->base, s->n), mn = median(s->new_, s->n);
    return json_pack("{s:I,s:o,s:o}", "files", (json_int_t)s->n,
                     "base_median", ia_json_real(mb), "new_median",
                     ia_json_real(mn));
}

/* "; <what> in N (median a → b)" */
static void shift_text(shift *s, const char *what, int decimals,
                       char *buf, size_t cap)
{
    char a[32], b[32];
    size_t len = strlen(buf);
    if (!s->n)
        return;
    ia_bprintf(a, sizeof a, "%.*f", decimals, median(s->base, s->n));
    ia_bprintf(b, sizeof b, "%.*f", decimals, median(s->new_, s->n));
    ia_bprintf(buf + len, cap - len, "; %s in %llu (median %s → %s)", what,
               (unsigned long long)s->n, a, b);
}

/* ---- file-level changes ---------------------------------------------- */

typedef struct modctx {
    tally status, color, format;
    shift q_down, q_up, darker, brighter;
    uint64_t resized;
    double level;   /* brightness change that counts */
} modctx;

static int mod_cb(ia_compare *c, const cmp_file *n, const cmp_file *b,
                  void *user)
{
    modctx *m = user;
    int bad = 0;
    (void)c;
    if (b->status != n->status)
        bad |= tally_add(&m->status, b->status, n->status);
    if (b->color_space != n->color_space)
        bad |= tally_add(&m->color, b->color_space, n->color_space);
    if (b->format != n->format)
        bad |= tally_add(&m->format, b->format, n->format);
    if (b->quality >= 0 && n->quality >= 0 && b->quality != n->quality)
        bad |= shift_add(n->quality < b->quality ? &m->q_down : &m->q_up,
                         (double)b->quality, (double)n->quality);
    if (!isnan(b->brightness) && !isnan(n->brightness) &&
        fabs(n->brightness - b->brightness) >= m->level)
        bad |= shift_add(n->brightness < b->brightness ? &m->darker
                                                       : &m->brighter,
                         b->brightness, n->brightness);
    if (b->width >= 0 && n->width >= 0 &&
        (b->width != n->width || b->height != n->height))
        m->resized++;
    return bad ? IA_ERR_NOMEM : IA_OK;
}

static int examples_cb(ia_compare *c, const cmp_file *f,
                       const cmp_file *other, void *user)
{
    cmp_finding *fd = user;
    (void)c;
    (void)other;
    if (fd->nexamples >= (int)IA_ARRAY_LEN(fd->examples))
        return 1;   /* enough: stop early */
    ia_cmp_add_example(fd, f->path);
    return IA_OK;
}

static int add_examples(ia_compare *c, cmp_finding *f, int kind)
{
    if (!f)
        return IA_OK;
    int ret = ia_cmp_each(c, kind, examples_cb, f);
    return ret == 1 ? IA_OK : ret;
}

static int modified_finding(ia_compare *c)
{
    modctx m;
    char buf[1024];
    cmp_finding *f;
    memset(&m, 0, sizeof m);
    m.level = c->policy.pixel_mean_warning;
    int ret = ia_cmp_each(c, CMP_MODIFIED, mod_cb, &m);
    json_t *o = NULL;
    if (ret != IA_OK) {
        ret = ia_cmp_nomem(c);
        goto out;
    }
    o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}",
                  "status", tally_json(&m.status),
                  "color_space", tally_json(&m.color),
                  "format", tally_json(&m.format),
                  "quality_lowered", shift_json(&m.q_down),
                  "quality_raised", shift_json(&m.q_up),
                  "darker", shift_json(&m.darker),
                  "brighter", shift_json(&m.brighter),
                  "resized", (json_int_t)m.resized);
    if (!o) {
        ret = ia_cmp_nomem(c);
        goto out;
    }
    c->modified_summary = o;
    if (!c->kinds[CMP_MODIFIED])
        goto out;
    ia_bprintf(buf, sizeof buf, "%llu file%s changed in place: pixels "
               "changed in %llu, encoding only in %llu, not decodable on "
               "one side %llu",
               (unsigned long long)c->kinds[CMP_MODIFIED],
               ia_cmp_s(c->kinds[CMP_MODIFIED]),
               (unsigned long long)c->pixels_changed,
               (unsigned long long)c->encoding_only,
               (unsigned long long)c->pixels_unknown);
    tally_text(&m.status, "status", buf, sizeof buf);
    tally_text(&m.color, "colour mode", buf, sizeof buf);
    tally_text(&m.format, "format", buf, sizeof buf);
    shift_text(&m.q_down, "JPEG quality lowered", 0, buf, sizeof buf);
    shift_text(&m.q_up, "JPEG quality raised", 0, buf, sizeof buf);
    shift_text(&m.darker, "darker", 1, buf, sizeof buf);
    shift_text(&m.brighter, "brighter", 1, buf, sizeof buf);
    if (m.resized) {
        size_t len = strlen(buf);
        ia_bprintf(buf + len, sizeof buf - len, "; resized %llu",
                   (unsigned long long)m.resized);
    }
    ret = ia_cmp_add_finding(
        c, IA_CC_MODIFIED, ia_cmp_sev(c, IA_CC_MODIFIED, IA_SEV_INFO), NULL,
        NULL, NULL, (double)c->kinds[CMP_MODIFIED], &f, "%s", buf);
    if (ret == IA_OK)
        ret = add_examples(c, f, CMP_MODIFIED);
out:
    free(m.status.t);
    free(m.color.t);
    free(m.format.t);
    shift_free(&m.q_down);
    shift_free(&m.q_up);
    shift_free(&m.darker);
    shift_free(&m.brighter);
    return ret;
}

/* Per-split counts of one kind ("train 20, test 3"). */
typedef struct split_count_ctx {
    tally t;
    int moved;   /* tally from->to splits (moved) or labels (relabeled) */
    int labels;
    uint64_t recoded;   /* content matches by pixels only */
} split_count_ctx;

static int split_count_cb(ia_compare *c, const cmp_file *f,
                          const cmp_file *other, void *user)
{
    split_count_ctx *s = user;
    (void)c;
    s->recoded += f->recoded;
    if (s->moved)
        return tally_add(&s->t, other->split, f->split) ? IA_ERR_NOMEM
                                                        : IA_OK;
    if (s->labels)
        return tally_add(&s->t, other->label, f->label) ? IA_ERR_NOMEM
                                                        : IA_OK;
    return tally_add(&s->t, f->split, f->split) ? IA_ERR_NOMEM : IA_OK;
}

/* "train 20, test 3" from a tally of (split, split). */
static void split_text(tally *t, char *buf, size_t cap)
{
    if (t->n > 1)
        ia_qsort(t->t, t->n, sizeof *t->t, trans_cmp);
    for (size_t i = 0; i < t->n && i < 6; i++) {
        size_t len = strlen(buf);
        ia_bprintf(buf + len, cap - len, "%s%s %llu", i ? ", " : "",
                   ia_cmp_split_name(t->t[i].from),
                   (unsigned long long)t->t[i].n);
    }
}

static int sha_cmp(const void *pa, const void *pb)
{
    const cmp_file *a = *(const cmp_file *const *)pa;
    const cmp_file *b = *(const cmp_file *const *)pb;
    return memcmp(a->sha, b->sha, sizeof a->sha);
}

/* Added files whose bytes equal a file of another split of the new
 * version: copies that leak across splits. In a run of equal bytes that
 * spans two splits, every member has a twin in another split. */
static uint64_t added_cross_copies(ia_compare *c, int *oom)
{
    const cmp_scan *s = &c->scan[1];
    size_t m = 0;
    uint64_t copies = 0;
    const cmp_file **v = malloc((s->n ? s->n : 1) * sizeof *v);
    *oom = v == NULL;
    if (!v)
        return 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->files[i].have_sha)
            v[m++] = &s->files[i];
    ia_qsort(v, m, sizeof *v, sha_cmp);
    for (size_t i = 0, j; i < m; i = j) {
        int mixed = 0;
        for (j = i + 1; j < m && sha_cmp(&v[i], &v[j]) == 0; j++)
            mixed |= v[j]->split != v[i]->split;
        for (size_t k = i; mixed && k < j; k++)
            copies += v[k]->kind == CMP_ADDED;
    }
    free(v);
    return copies;
}

static int kind_finding(ia_compare *c, int code, int kind)
{
    char buf[1024];
    cmp_finding *f;
    split_count_ctx s;
    uint64_t n = c->kinds[kind];
    int sev = ia_cmp_sev(c, code, IA_SEV_INFO);
    if (!n || sev == IA_POLICY_OFF)
        return IA_OK;
    memset(&s, 0, sizeof s);
    s.moved = kind == CMP_MOVED;
    s.labels = kind == CMP_RELABELED;
    int ret = ia_cmp_each(c, kind, split_count_cb, &s);
    if (ret != IA_OK) {
        free(s.t.t);
        return ia_cmp_nomem(c);
    }
    static const char *const verbs[CMP_KIND_COUNT] = {
        [CMP_RENAMED] = "renamed (same content, same split and label)",
        [CMP_MOVED] = "moved to another split",
        [CMP_RELABELED] = "relabeled (same content, other label)",
        [CMP_REMOVED] = "removed",
        [CMP_ADDED] = "added",
    };
    ia_bprintf(buf, sizeof buf, "%llu file%s %s", (unsigned long long)n,
               ia_cmp_s(n), verbs[kind]);
    if (kind == CMP_MOVED || kind == CMP_RELABELED) {
        tally_text(&s.t, kind == CMP_MOVED ? "splits" : "labels", buf,
                   sizeof buf);
    } else {
        size_t len = strlen(buf);
        ia_bprintf(buf + len, sizeof buf - len, ": ");
        split_text(&s.t, buf, sizeof buf);
    }
    free(s.t.t);
    if (kind == CMP_ADDED) {
        int oom;
        uint64_t copies = added_cross_copies(c, &oom);
        if (oom)
            return ia_cmp_nomem(c);
        if (copies) {
            size_t len = strlen(buf);
            ia_bprintf(buf + len, sizeof buf - len, "; %llu of them are byte "
                       "copies of files in another split",
                       (unsigned long long)copies);
        }
    }
    if (s.recoded) {
        size_t len = strlen(buf);
        ia_bprintf(buf + len, sizeof buf - len, "; %llu of them matched by "
                   "their pixels only (re-encoded)",
                   (unsigned long long)s.recoded);
    }
    ret = ia_cmp_add_finding(c, code, sev, NULL, NULL, NULL, (double)n, &f,
                             "%s", buf);
    if (ret == IA_OK)
        ret = add_examples(c, f, kind);
    return ret;
}

static int file_findings(ia_compare *c)
{
    int ret = kind_finding(c, IA_CC_REMOVED, CMP_REMOVED);
    if (ret == IA_OK)
        ret = kind_finding(c, IA_CC_ADDED, CMP_ADDED);
    if (ret == IA_OK)
        ret = modified_finding(c);
    if (ret == IA_OK)
        ret = kind_finding(c, IA_CC_MOVED, CMP_MOVED);
    if (ret == IA_OK)
        ret = kind_finding(c, IA_CC_RELABELED, CMP_RELABELED);
    if (ret == IA_OK)
        ret = kind_finding(c, IA_CC_RENAMED, CMP_RENAMED);
    return ret;
}

/* ---- health ---------------------------------------------------------- */

typedef struct health_ctx {
    ia_compare *c;
    const char **base;   /* sorted paths of the baseline's findings */
    size_t nbase, cap;
    cmp_finding *f;
} health_ctx;

static int base_path_cb(void *user, const char *path)
{
    health_ctx *h = user;
    if (h->nbase == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        const char **p = realloc(h->base, cap * sizeof *p);
        if (!p)
            return IA_ERR_NOMEM;
        h->base = p;
        h->cap = cap;
    }
    if (!(h->base[h->nbase] = ia_cmp_strdup(h->c, path)))
        return IA_ERR_NOMEM;
    h->nbase++;
    return IA_OK;
}

static int str_cmp(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int new_path_cb(void *user, const char *path)
{
    health_ctx *h = user;
    /* bsearch's array must not be NULL, even with no elements. */
    if (h->nbase && bsearch(&path, h->base, h->nbase, sizeof *h->base,
                            str_cmp))
        return IA_OK;
    const char *p = ia_cmp_strdup(h->c, path);
    if (!p)
        return IA_ERR_NOMEM;
    ia_cmp_add_example(h->f, p);
    return h->f->nexamples >= IA_CMP_EXAMPLES_MAX ? 1 : IA_OK;
}

/* Examples of a regressed finding code: new paths with the code that did
 * not have it in the baseline. */
static int code_examples(ia_compare *c, const char *code, cmp_finding *f)
{
    health_ctx h = {c, NULL, 0, 0, f};
    int ret = ia_qc_code_paths(c->scan[0].db, c->scan[0].id, code,
                               base_path_cb, &h);
    if (ret == IA_OK)
        ret = ia_qc_code_paths(c->scan[1].db, c->scan[1].id, code,
                               new_path_cb, &h);
    free(h.base);
    if (ret == 1)
        ret = IA_OK;
    if (ret == IA_ERR_NOMEM)
        return ia_cmp_nomem(c);
    if (ret != IA_OK && !c->errmsg[0])
        ia_cmp_fail(c, ret, "%s", ia_db_errmsg(c->scan[1].db));
    return ret;
}

/* Examples of a regressed status: new files with it whose baseline twin
 * had another status (or that are new). */
static void status_examples(ia_compare *c, const char *status,
                            cmp_finding *f)
{
    const cmp_scan *s = &c->scan[1];
    for (size_t i = 0; i < s->n && f->nexamples < IA_CMP_EXAMPLES_MAX; i++) {
        const cmp_file *x = &s->files[i];
        if (strcmp(x->status, status) != 0)
            continue;
        if (!x->other ||
            strcmp(c->scan[0].files[x->other - 1].status, status) != 0)
            ia_cmp_add_example(f, x->path);
    }
}

static double rate(uint64_t n, size_t total)
{
    return total ? (double)n / (double)total : 0.0;
}

/* Judges one count; adds the drift entry and, when it rose, the finding.
 * status: the status name when the count is of files with that status. */
static int health_item(ia_compare *c, const char *code, uint64_t b,
                       uint64_t n, int auto_sev, int is_status,
                       const char *unit)
{
    size_t tb = c->scan[0].n, tn = c->scan[1].n;
    double rb = rate(b, tb), rn = rate(n, tn);
    int up = n > b && rn > rb + c->policy.health_rate;
    int sev = up ? ia_policy_health_severity(&c->policy, code, auto_sev)
                 : IA_POLICY_OFF;
    cmp_finding *f = NULL;
    int ret = ia_cmp_add_drift(c, IA_CC_HEALTH_REGRESSION, NULL, NULL, code,
                               json_integer((json_int_t)b),
                               json_integer((json_int_t)n), rn - rb, DNAN,
                               sev >= IA_SEV_INFO ? sev : -1);
    if (ret != IA_OK || sev < IA_SEV_INFO)
        return ret;
    if (strcmp(unit, "files") == 0)
        ret = ia_cmp_add_finding(
            c, IA_CC_HEALTH_REGRESSION, sev, NULL, NULL, code, rn - rb, &f,
            "%s: %llu → %llu file%s (%.2f%% → %.2f%% of all "
            "files)",
            code, (unsigned long long)b, (unsigned long long)n, ia_cmp_s(n),
            100.0 * rb, 100.0 * rn);
    else   /* dataset-level findings: a count, not a share of files */
        ret = ia_cmp_add_finding(
            c, IA_CC_HEALTH_REGRESSION, sev, NULL, NULL, code, rn - rb, &f,
            "%s: %llu → %llu dataset-level "
            "findings",
            code, (unsigned long long)b, (unsigned long long)n);
    if (ret != IA_OK || !f)
        return ret;
    if (is_status) {
        status_examples(c, code, f);
        return IA_OK;
    }
    return code_examples(c, code, f);
}

static json_t *code_counts(const cmp_code *k)
{
    return json_pack("{s:I,s:I}", "files", (json_int_t)(k ? k->files : 0),
                     "dataset", (json_int_t)(k ? k->other : 0));
}

static int health_codes(ia_compare *c, json_t *obj)
{
    const cmp_scan *b = &c->scan[0], *n = &c->scan[1];
    size_t i = 0, j = 0;
    int ret = IA_OK;
    while (ret == IA_OK && (i < b->ncodes || j < n->ncodes)) {
        const cmp_code *kb = i < b->ncodes ? &b->codes[i] : NULL;
        const cmp_code *kn = j < n->ncodes ? &n->codes[j] : NULL;
        int d = !kb ? 1 : !kn ? -1 : strcmp(kb->code, kn->code);
        if (d > 0)
            kb = NULL;
        if (d < 0)
            kn = NULL;
        i += kb != NULL;
        j += kn != NULL;
        const char *code = kb ? kb->code : kn->code;
        /* codes come from the DBs: ia_json_set makes a key of any bytes */
        if (ia_json_set(obj, code,
                        json_pack("{s:o,s:o}", "base", code_counts(kb),
                                  "new", code_counts(kn))))
            return ia_cmp_nomem(c);
        /* A status finding is judged as the status itself. */
        if (ia_status_parse(code) >= 0)
            continue;
        uint64_t fb = kb ? kb->files : 0, fn = kn ? kn->files : 0;
        int files = fb || fn;
        ret = health_item(c, code, files ? fb : (kb ? kb->other : 0),
                          files ? fn : (kn ? kn->other : 0),
                          kn ? kn->max_severity : IA_SEV_WARNING, 0,
                          files ? "files" : "findings");
    }
    return ret;
}

static int health(ia_compare *c)
{
    json_t *st = json_object(), *fd = json_object();
    c->health = json_pack("{s:{s:I,s:I},s:o,s:o}", "files", "base",
                          (json_int_t)c->scan[0].n, "new",
                          (json_int_t)c->scan[1].n, "status", st,
                          "findings", fd);
    if (!c->health)
        return ia_cmp_nomem(c);
    int ret = IA_OK;
    for (int s = 0; s < IA_ST_COUNT && ret == IA_OK; s++) {
        uint64_t b = c->scan[0].status[s], n = c->scan[1].status[s];
        if (json_object_set_new(st, ia_status_name(s),
                                json_pack("{s:I,s:I}", "base", (json_int_t)b,
                                          "new", (json_int_t)n)))
            return ia_cmp_nomem(c);
        if (s != IA_ST_OK)
            ret = health_item(c, ia_status_name(s), b, n,
                              ia_status_severity(s), 1, "files");
    }
    if (ret == IA_OK)
        ret = health_codes(c, fd);
    return ret;
}

/* ---- putting it together --------------------------------------------- */

static int incomplete(ia_compare *c)
{
    int ret = IA_OK;
    for (int i = 0; i < 2 && ret == IA_OK; i++) {
        const cmp_scan *s = &c->scan[i];
        if (!s->complete)
            ret = ia_cmp_add_finding(
                c, IA_CC_SCAN_INCOMPLETE,
                ia_cmp_sev(c, IA_CC_SCAN_INCOMPLETE, 2), NULL, NULL,
                i ? "new" : "base", 0.0, NULL,
                "the %s scan '%s' (id %lld) is incomplete: it "
                "was interrupted or failed, so files it never "
                "reached count as %s",
                i ? "new" : "baseline", s->name, (long long)s->id,
                i ? "removed" : "added");
    }
    return ret;
}

static int finding_cmp(const void *pa, const void *pb)
{
    const cmp_finding *a = pa, *b = pb;
    if (a->severity != b->severity)
        return b->severity - a->severity;
    if (a->code != b->code)
        return a->code - b->code;
    if (a->magnitude != b->magnitude)
        return a->magnitude < b->magnitude ? 1 : -1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

int ia_cmp_analyze(ia_compare *c)
{
    int ret = incomplete(c);
    if (ret == IA_OK)
        ret = health(c);
    if (ret == IA_OK)
        ret = ia_cmp_splits(c);
    if (ret == IA_OK)
        ret = ia_cmp_annotations(c);
    if (ret == IA_OK)
        ret = file_findings(c);
    if (ret != IA_OK)
        return ret;
    if (c->nfindings > 1)
        ia_qsort(c->findings, c->nfindings, sizeof *c->findings, finding_cmp);
    int floor = c->opt.fail_on == IA_FAIL_ON_WARNING ? IA_SEV_WARNING
                : c->opt.fail_on == IA_FAIL_ON_NEVER ? IA_SEV_ERROR + 1
                                                     : IA_SEV_ERROR;
    memset(c->sev, 0, sizeof c->sev);
    c->fail = 0;
    for (size_t i = 0; i < c->nfindings; i++) {
        c->sev[c->findings[i].severity]++;
        c->fail |= c->findings[i].severity >= floor;
    }
    return IA_OK;
}
