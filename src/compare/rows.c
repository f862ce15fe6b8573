/*
 * rows: a comparison's findings, changed files and drift measures as rows
 * of ia_value (include/imgaudit.h, "Results as rows"), for the Python
 * package's Comparison. Read from the model only (model.h), like the
 * writers; the keys are those of `compare --format json`
 * (docs/compare.md). A drift measure's base and new values keep their
 * JSON shape (a count, [R, G, B], {n, mean, median}, {category: files}),
 * so they are handed out as JSON text.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare/model.h"

#define T IA_VALUE_TEXT
static const ia_column finding_columns[] = {
    {"code", T}, {"severity", T}, {"split", T}, {"label", T},
    {"metric", T}, {"detail", T}, {"examples", IA_VALUE_TEXTS},
};
static const ia_column change_columns[] = {
    {"kind", T}, {"base_path", T}, {"path", T}, {"base_split", T},
    {"split", T}, {"base_label", T}, {"label", T},
    {"recoded", IA_VALUE_INT}, {"pixels_changed", IA_VALUE_INT},
    {"status_detail", T},
};
static const ia_column drift_columns[] = {
    {"code", T}, {"split", T}, {"label", T}, {"metric", T},
    {"base", IA_VALUE_JSON}, {"new", IA_VALUE_JSON},
    {"statistic", IA_VALUE_REAL}, {"p_value", IA_VALUE_REAL},
    {"severity", T},
};
#undef T
#define NCOLS_MAX IA_ARRAY_LEN(change_columns)

int ia_compare_columns(int table, const ia_column **cols, size_t *n)
{
    static const struct {
        const ia_column *cols;
        size_t n;
    } tables[] = {
        [IA_CMP_ROWS_FINDINGS] = {finding_columns,
                                  IA_ARRAY_LEN(finding_columns)},
        [IA_CMP_ROWS_CHANGES] = {change_columns, IA_ARRAY_LEN(change_columns)},
        [IA_CMP_ROWS_DRIFT] = {drift_columns, IA_ARRAY_LEN(drift_columns)},
    };
    if (!cols || !n || table < 0 || (size_t)table >= IA_ARRAY_LEN(tables))
        return IA_ERR_ARG;
    *cols = tables[table].cols;
    *n = tables[table].n;
    return IA_OK;
}

typedef struct cctx {
    ia_row_fn fn;
    void *user;
    ia_value row[NCOLS_MAX];
} cctx;

static ia_value v_text(const char *s)
{
    ia_value v = {.type = s ? IA_VALUE_TEXT : IA_VALUE_NULL, .s = s};
    return v;
}

static ia_value v_real(double d)
{
    ia_value v = {.type = isfinite(d) ? IA_VALUE_REAL : IA_VALUE_NULL,
                  .d = d};
    return v;
}

static ia_value v_flag(int known, int set)
{
    ia_value v = {.type = known ? IA_VALUE_INT : IA_VALUE_NULL,
                  .i = set != 0};
    return v;
}

static const char *severity_or_null(int sev)
{
    return sev >= IA_SEV_INFO ? ia_severity_name(sev) : NULL;
}

static int finding_rows(ia_compare *c, cctx *x)
{
    int ret = IA_OK;
    for (size_t i = 0; i < c->nfindings && ret == IA_OK; i++) {
        const cmp_finding *f = &c->findings[i];
        x->row[0] = v_text(ia_cc_name(f->code));
        x->row[1] = v_text(ia_severity_name(f->severity));
        x->row[2] = v_text(f->split);
        x->row[3] = v_text(f->label);
        x->row[4] = v_text(f->metric);
        x->row[5] = v_text(f->detail);
        x->row[6] = (ia_value){.type = IA_VALUE_TEXTS, .texts = f->examples,
                               .n = (size_t)f->nexamples};
        ret = x->fn(x->user, x->row);
    }
    return ret;
}

/* One changed file: f is the new side's (the base's for removed), o its
 * match in the other scan (NULL for added and removed). */
static int change_cb(ia_compare *c, const cmp_file *f, const cmp_file *o,
                     void *user)
{
    cctx *x = user;
    int kind = f->kind;
    const cmp_file *base = kind == CMP_REMOVED ? f : o;
    const cmp_file *new_ = kind == CMP_REMOVED ? NULL : f;
    (void)c;
    x->row[0] = v_text(ia_cmp_kind_name(kind));
    x->row[1] = v_text(base ? base->path : NULL);
    x->row[2] = v_text(new_ ? new_->path : NULL);
    x->row[3] = v_text(base ? base->split_name : NULL);
    x->row[4] = v_text(new_ ? new_->split_name : NULL);
    x->row[5] = v_text(base ? base->label : NULL);
    x->row[6] = v_text(new_ ? new_->label : NULL);
    x->row[7] = v_flag(base && new_, f->recoded);
    x->row[8] = v_flag(base && new_ && base->have_pix && new_->have_pix,
                       base && new_ &&
                       memcmp(base->pix, new_->pix, sizeof base->pix) != 0);
    x->row[9] = v_text(new_ ? new_->status_detail : NULL);
    return x->fn(x->user, x->row);
}

static int change_rows(ia_compare *c, cctx *x)
{
    /* The order of the JSON's files section. */
    static const int kinds[] = {CMP_ADDED, CMP_REMOVED, CMP_MODIFIED,
                                CMP_MOVED, CMP_RELABELED, CMP_RENAMED};
    int ret = IA_OK;
    for (size_t k = 0; k < IA_ARRAY_LEN(kinds) && ret == IA_OK; k++)
        ret = ia_cmp_each(c, kinds[k], change_cb, x);
    return ret;
}

/* A drift value as JSON text in *s (malloc'd; NULL for null). */
static int json_text(ia_compare *c, const json_t *j, char **s, ia_value *v)
{
    *s = NULL;
    *v = v_text(NULL);
    if (!j || json_is_null(j))
        return IA_OK;
    if (!(*s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)))
        return ia_cmp_nomem(c);
    *v = (ia_value){.type = IA_VALUE_JSON, .s = *s};
    return IA_OK;
}

static int drift_rows(ia_compare *c, cctx *x)
{
    int ret = IA_OK;
    for (size_t i = 0; i < c->ndrift && ret == IA_OK; i++) {
        const cmp_drift *d = &c->drift[i];
        char *base, *new_;
        x->row[0] = v_text(ia_cc_name(d->code));
        x->row[1] = v_text(d->split);
        x->row[2] = v_text(d->label);
        x->row[3] = v_text(d->metric);
        ret = json_text(c, d->base, &base, &x->row[4]);
        if (ret == IA_OK)
            ret = json_text(c, d->new_, &new_, &x->row[5]);
        else
            new_ = NULL;
        x->row[6] = v_real(d->statistic);
        x->row[7] = v_real(d->p_value);
        x->row[8] = v_text(severity_or_null(d->severity));
        if (ret == IA_OK)
            ret = x->fn(x->user, x->row);
        free(base);
        free(new_);
    }
    return ret;
}

int ia_compare_rows(ia_compare *c, int table, ia_row_fn fn, void *user)
{
    cctx x = {.fn = fn, .user = user};
    if (!c || !fn)
        return IA_ERR_ARG;
    switch (table) {
    case IA_CMP_ROWS_FINDINGS:
        return finding_rows(c, &x);
    case IA_CMP_ROWS_CHANGES:
        return change_rows(c, &x);
    case IA_CMP_ROWS_DRIFT:
        return drift_rows(c, &x);
    default:
        return ia_cmp_fail(c, IA_ERR_ARG, "no such table: %d", table);
    }
}
