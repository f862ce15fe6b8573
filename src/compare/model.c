/*
 * The comparison's data model (model.h): the string arena and interning,
 * errors, iteration over matched files, and the findings and drift lists
 * that the analysis fills and the writers read. It calls nothing else of
 * the module.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare/model.h"
#include "policy/policy.h"
#include "core/core.h"

/* ---- errors, arena, interning ---------------------------------------- */

int ia_cmp_fail(ia_compare *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    if (n < 0)
        c->errmsg[0] = '\0';
    return err;
}


struct cmp_block {
    cmp_block *next;
    size_t used, cap;
    char data[];
};

#define BLOCK_SIZE ((size_t)1 << 16)

static char *arena_alloc(ia_compare *c, size_t n)
{
    cmp_block *b = c->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
        if (cap > SIZE_MAX - sizeof *b)
            return NULL;
        cmp_block *nb = malloc(sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* A big string gets its own block behind the current one, so the
         * current block's free space is not wasted. */
        if (b && n > BLOCK_SIZE) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            c->blocks = nb;
        }
        b = nb;
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

const char *ia_cmp_strdup(ia_compare *c, const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s) + 1;
    char *p = arena_alloc(c, len);
    if (p)
        memcpy(p, s, len);
    return p;
}

const char *ia_cmp_strndup(ia_compare *c, const char *s, size_t n)
{
    char *p = n < SIZE_MAX ? arena_alloc(c, n + 1) : NULL;
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static int intern_grow(ia_compare *c)
{
    size_t cap = c->intern_cap ? c->intern_cap * 2 : 256;
    const char **t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < c->intern_cap; i++) {
        const char *s = c->intern[i];
        if (!s)
            continue;
        size_t j = (size_t)fnv1a(s) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = s;
    }
    free(c->intern);
    c->intern = t;
    c->intern_cap = cap;
    return 0;
}

const char *ia_cmp_intern(ia_compare *c, const char *s)
{
    if (!s)
        return NULL;
    if (c->intern_n * 2 >= c->intern_cap && intern_grow(c) != 0)
        return NULL;
    size_t j = (size_t)fnv1a(s) & (c->intern_cap - 1);
    while (c->intern[j]) {
        if (strcmp(c->intern[j], s) == 0)
            return c->intern[j];
        j = (j + 1) & (c->intern_cap - 1);
    }
    const char *p = ia_cmp_strdup(c, s);
    if (p) {
        c->intern[j] = p;
        c->intern_n++;
    }
    return p;
}

void ia_cmp_strings_free(ia_compare *c)
{
    free(c->intern);
    c->intern = NULL;
    while (c->blocks) {
        cmp_block *next = c->blocks->next;
        free(c->blocks);
        c->blocks = next;
    }
}

int ia_cmp_nomem(ia_compare *c)
{
    return ia_cmp_fail(c, IA_ERR_NOMEM, "out of memory comparing scans");
}

int ia_cmp_each(ia_compare *c, int kind, ia_cmp_file_fn fn, void *user)
{
    const cmp_scan *s = &c->scan[kind == CMP_REMOVED ? 0 : 1];
    const cmp_scan *o = &c->scan[kind == CMP_REMOVED ? 1 : 0];
    for (size_t i = 0; i < s->n; i++) {
        const cmp_file *f = &s->files[i];
        if (f->kind != kind)
            continue;
        int ret = fn(c, f, f->other ? &o->files[f->other - 1] : NULL, user);
        if (ret != IA_OK)
            return ret;
    }
    return IA_OK;
}


const char *ia_cmp_kind_name(int kind)
{
    static const char *const names[CMP_KIND_COUNT] = {
        "unchanged", "modified", "renamed", "moved", "relabeled", "removed",
        "added",
    };
    return kind >= 0 && kind < CMP_KIND_COUNT ? names[kind] : "unknown";
}

const char *ia_cmp_split_name(const char *split)
{
    return split && *split ? split : "(no split)";
}

const char *ia_cmp_s(uint64_t n)
{
    return n == 1 ? "" : "s";
}

static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

static int same(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* "ok -> truncated (detail), " when the status changed. */
static void status_reason(const cmp_file *f, const cmp_file *o,
                          const char *arrow, char *buf, size_t size)
{
    if (same(o->status, f->status))
        buf[0] = '\0';
    else if (f->status_detail)
        ia_bprintf(buf, size, "%s%s%s (%s), ", or_dash(o->status), arrow,
                   or_dash(f->status), f->status_detail);
    else
        ia_bprintf(buf, size, "%s%s%s, ", or_dash(o->status), arrow,
                   or_dash(f->status));
}

void ia_cmp_mod_reason(const cmp_file *f, const cmp_file *o,
                       const char *arrow, char *buf, size_t size)
{
    char status[320], part[4][96] = {{0}};
    buf[0] = '\0';
    if (!o)
        return;
    status_reason(f, o, arrow, status, sizeof status);
    if (!same(o->color_space, f->color_space))
        ia_bprintf(part[0], sizeof part[0], "%s%s%s, ",
                   or_dash(o->color_space), arrow, or_dash(f->color_space));
    if (!same(o->format, f->format))
        ia_bprintf(part[1], sizeof part[1], "%s%s%s, ", or_dash(o->format),
                   arrow, or_dash(f->format));
    if (o->width != f->width || o->height != f->height)
        ia_bprintf(part[2], sizeof part[2], "%lldx%lld%s%lldx%lld, ",
                   (long long)o->width, (long long)o->height, arrow,
                   (long long)f->width, (long long)f->height);
    if (o->quality != f->quality && o->quality >= 0 && f->quality >= 0)
        ia_bprintf(part[3], sizeof part[3], "quality %lld%s%lld, ",
                   (long long)o->quality, arrow, (long long)f->quality);
    /* A new status says it all: "not decodable" would be wrong for a
     * truncated file, whose top rows decode. */
    const char *pixels = status[0] ? ""
                         : !o->have_pix || !f->have_pix
                             ? "not decodable on one side"
                         : memcmp(o->pix, f->pix, sizeof o->pix)
                             ? "pixels changed" : "encoding only";
    ia_bprintf(buf, size, "%s%s%s%s%s%s", status, part[0], part[1],
               part[2], part[3], pixels);
    size_t n = strlen(buf);
    if (n >= 2 && strcmp(buf + n - 2, ", ") == 0)
        buf[n - 2] = '\0';
}

int ia_cmp_is_ok(const cmp_file *f)
{
    return strcmp(f->status, "ok") == 0;
}

int ia_cmp_is_image(const cmp_file *f)
{
    return strcmp(f->format, "unknown") != 0;
}

/* ---- findings and drift entries -------------------------------------- */

int ia_cmp_sev(const ia_compare *c, int code, int auto_sev)
{
    int s = c->policy.severity[code];
    return s == IA_POLICY_AUTO ? auto_sev : s;
}

int ia_cmp_add_finding(ia_compare *c, int code, int sev, const char *split,
                       const char *label, const char *metric,
                       double magnitude, cmp_finding **out, const char *fmt,
                       ...)
{
    va_list ap;
    if (out)
        *out = NULL;
    if (sev < IA_SEV_INFO)
        return IA_OK;
    if (c->nfindings == c->capfindings) {
        size_t cap = c->capfindings ? c->capfindings * 2 : 32;
        cmp_finding *p = realloc(c->findings, cap * sizeof *p);
        if (!p)
            return ia_cmp_nomem(c);
        c->findings = p;
        c->capfindings = cap;
    }
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *detail = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!detail)
        return ia_cmp_nomem(c);
    va_start(ap, fmt);
    vsnprintf(detail, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cmp_finding *f = &c->findings[c->nfindings];
    memset(f, 0, sizeof *f);
    f->code = code;
    f->severity = sev > IA_SEV_ERROR ? IA_SEV_ERROR : sev;
    f->split = split;
    f->label = label;
    f->metric = metric;
    f->detail = detail;
    f->magnitude = magnitude;
    f->seq = c->nfindings++;
    if (out)
        *out = f;
    return IA_OK;
}

void ia_cmp_add_example(cmp_finding *f, const char *path)
{
    if (f && path && f->nexamples < IA_CMP_EXAMPLES_MAX)
        f->examples[f->nexamples++] = path;
}

int ia_cmp_add_drift(ia_compare *c, int code, const char *split,
                     const char *label, const char *metric, json_t *base,
                     json_t *new_, double statistic, double p_value,
                     int severity)
{
    if (!base || !new_) {
        json_decref(base);
        json_decref(new_);
        return ia_cmp_nomem(c);
    }
    if (c->ndrift == c->capdrift) {
        size_t cap = c->capdrift ? c->capdrift * 2 : 64;
        cmp_drift *p = realloc(c->drift, cap * sizeof *p);
        if (!p) {
            json_decref(base);
            json_decref(new_);
            return ia_cmp_nomem(c);
        }
        c->drift = p;
        c->capdrift = cap;
    }
    cmp_drift *d = &c->drift[c->ndrift++];
    d->code = code;
    d->split = split;
    d->label = label;
    d->metric = metric;
    d->base = base;
    d->new_ = new_;
    d->statistic = statistic;
    d->p_value = p_value;
    d->severity = severity;
    return IA_OK;
}

