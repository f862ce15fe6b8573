/*
 * The JSON document of `imgaudit compare --format json` (docs/compare.md):
 * tool, base, new, files, health, labels, drift, findings, summary,
 * verdict, in that order. File lists are complete here (the text output
 * caps them). Every string from a dataset goes through ia_json_text, since
 * file names need not be UTF-8.
 */
#include <math.h>
#include <string.h>

#include "compare/model.h"
#include "compare/writers.h"
#include "report/report.h"

static int nomem(ia_compare *c)
{
    return ia_cmp_fail(c, IA_ERR_NOMEM, "out of memory building the JSON "
                       "comparison");
}

static json_t *opt_int(int64_t v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *scan_json(const cmp_scan *s)
{
    return json_pack("{s:o,s:I,s:o,s:o,s:o,s:o,s:b,s:I,s:I}",
                     "db", ia_json_text(s->db_path), "id", (json_int_t)s->id,
                     "name", ia_json_text(s->name),
                     "root", ia_json_text(s->root),
                     "started_at", ia_json_text(s->started_at),
                     "finished_at", ia_json_text(s->finished_at),
                     "complete", s->complete,
                     "files", (json_int_t)s->n,
                     "decoded", (json_int_t)s->status[IA_ST_OK]);
}

/* The facts of one side of a modified file. */
static json_t *facts(const cmp_file *f)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                     "status", ia_json_text(f->status),
                     "format", ia_json_text(f->format),
                     "color_space", ia_json_text(f->color_space),
                     "width", opt_int(f->width), "height", opt_int(f->height),
                     "jpeg_quality", opt_int(f->quality),
                     "bytes", opt_int(f->size),
                     "brightness", ia_json_real(f->brightness));
}

static json_t *pixels_changed(const cmp_file *b, const cmp_file *n)
{
    if (!b->have_pix || !n->have_pix)
        return json_null();
    return json_boolean(memcmp(b->pix, n->pix, sizeof b->pix) != 0);
}

typedef struct list_ctx {
    json_t *arr;
    int kind;
} list_ctx;

static int item_cb(ia_compare *c, const cmp_file *f, const cmp_file *o,
                   void *user)
{
    list_ctx *l = user;
    json_t *v;
    char reason[512];
    (void)c;
    switch (l->kind) {
    case CMP_ADDED:
    case CMP_REMOVED:
        v = ia_json_text(f->path);
        break;
    case CMP_MODIFIED:
        ia_cmp_mod_reason(f, o, " \xE2\x86\x92 ", reason, sizeof reason);
        v = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "path",
                      ia_json_text(f->path),
                      "pixels_changed", pixels_changed(o, f),
                      "base", facts(o), "new", facts(f),
                      "status_detail", ia_json_text(f->status_detail),
                      "reason", ia_json_text(reason));
        break;
    case CMP_RENAMED:
        v = json_pack("{s:o,s:o,s:b}", "base_path", ia_json_text(o->path),
                      "path", ia_json_text(f->path), "recoded", f->recoded);
        break;
    default:   /* moved, relabeled */
        v = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
                      "base_path", ia_json_text(o->path),
                      "path", ia_json_text(f->path),
                      "base_split", ia_json_text(o->split_name),
                      "split", ia_json_text(f->split_name),
                      "base_label", ia_json_text(o->label),
                      "label", ia_json_text(f->label),
                      "recoded", f->recoded);
        break;
    }
    return json_array_append_new(l->arr, v) ? IA_ERR_NOMEM : IA_OK;
}

static json_t *kind_json(ia_compare *c, int kind)
{
    list_ctx l = {json_array(), kind};
    const char *key = kind == CMP_ADDED || kind == CMP_REMOVED ? "paths"
                                                                : "files";
    if (!l.arr || ia_cmp_each(c, kind, item_cb, &l) != IA_OK) {
        json_decref(l.arr);
        return NULL;
    }
    json_t *o = json_pack("{s:I}", "count", (json_int_t)c->kinds[kind]);
    if (o && kind == CMP_MODIFIED &&
        (json_object_set_new(o, "pixels_changed",
                             json_integer((json_int_t)c->pixels_changed)) ||
         json_object_set_new(o, "encoding_only",
                             json_integer((json_int_t)c->encoding_only)) ||
         json_object_set_new(o, "pixels_unknown",
                             json_integer((json_int_t)c->pixels_unknown)) ||
         json_object_set(o, "summary", c->modified_summary))) {
        json_decref(o);
        o = NULL;
    }
    if (!o || json_object_set_new(o, key, l.arr)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *files_json(ia_compare *c)
{
    return json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o}",
                     "base", (json_int_t)c->scan[0].n,
                     "new", (json_int_t)c->scan[1].n,
                     "unchanged", (json_int_t)c->kinds[CMP_UNCHANGED],
                     "added", kind_json(c, CMP_ADDED),
                     "removed", kind_json(c, CMP_REMOVED),
                     "modified", kind_json(c, CMP_MODIFIED),
                     "moved", kind_json(c, CMP_MOVED),
                     "relabeled", kind_json(c, CMP_RELABELED),
                     "renamed", kind_json(c, CMP_RENAMED));
}

static json_t *severity_json(int sev)
{
    return sev >= IA_SEV_INFO ? json_string(ia_severity_name(sev))
                              : json_null();
}

static json_t *split_json(const char *split)
{
    return split ? ia_json_text(split) : json_null();
}

static json_t *drift_json(const ia_compare *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->ndrift; i++) {
        const cmp_drift *d = &c->drift[i];
        json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:O,s:O,s:o,s:o,s:o}",
                              "code", ia_cc_name(d->code),
                              "split", split_json(d->split),
                              "label", ia_json_text(d->label),
                              "metric", ia_json_text(d->metric),
                              "base", d->base, "new", d->new_,
                              "statistic", ia_json_real(d->statistic),
                              "p_value", ia_json_real(d->p_value),
                              "severity", severity_json(d->severity));
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *findings_json(const ia_compare *c)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < c->nfindings; i++) {
        const cmp_finding *f = &c->findings[i];
        json_t *ex = json_array();
        for (int k = 0; ex && k < f->nexamples; k++)
            if (json_array_append_new(ex, ia_json_text(f->examples[k]))) {
                json_decref(ex);
                ex = NULL;
            }
        json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}",
                              "code", ia_cc_name(f->code),
                              "severity", ia_severity_name(f->severity),
                              "split", split_json(f->split),
                              "label", ia_json_text(f->label),
                              "metric", ia_json_text(f->metric),
                              "detail", ia_json_text(f->detail),
                              "examples", ex);
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static const char *fail_on_name(int fail_on)
{
    return fail_on == IA_FAIL_ON_WARNING ? "warning"
           : fail_on == IA_FAIL_ON_NEVER ? "never" : "error";
}

int ia_cmp_write_json(ia_compare *c, FILE *out)
{
    json_t *root = json_pack(
        "{s:{s:s,s:s},s:o,s:o,s:o,s:O,s:O,s:o,s:o,s:{s:I,s:I,s:I,s:s},s:s}",
        "tool", "name", "imgaudit", "version", IMGAUDIT_VERSION,
        "base", scan_json(&c->scan[0]), "new", scan_json(&c->scan[1]),
        "files", files_json(c), "health", c->health, "labels", c->labels,
        "drift", drift_json(c), "findings", findings_json(c),
        "summary", "errors", (json_int_t)c->sev[IA_SEV_ERROR],
        "warnings", (json_int_t)c->sev[IA_SEV_WARNING],
        "infos", (json_int_t)c->sev[IA_SEV_INFO],
        "fail_on", fail_on_name(c->opt.fail_on),
        "verdict", c->fail ? "fail" : "pass");
    if (!root)
        return nomem(c);
    int ret = IA_OK;
    if (json_dumpf(root, out, JSON_INDENT(2)) != 0 || fputc('\n', out) == EOF)
        ret = ia_cmp_fail(c, IA_ERR_IO, "cannot write the comparison");
    json_decref(root);
    if (ret == IA_OK && (fflush(out) != 0 || ferror(out)))
        ret = ia_cmp_fail(c, IA_ERR_IO, "cannot write the comparison");
    return ret;
}
