/*
 * The JSON report (docs/json.md): one document built with jansson from
 * the store's queries, then dumped once. Keys are in the documented order
 * (jansson keeps insertion order). Every string from the dataset goes
 * through ia_json_text, because file names need not be UTF-8 and jansson
 * refuses invalid UTF-8.
 *
 * Failures while building (out of memory) are collected in an int and
 * checked at the end of each section rather than after every call: a
 * jansson setter given NULL fails cleanly and frees what it was given.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"
#include "core/core.h"

/* ---- helpers shared with export.c ------------------------------------ */

/* std = sqrt(N*SS - S^2) / N has no cancellation: N*SS - S^2 is computed
 * exactly in 128-bit integers, and only the square root is rounded. */
int ia_sums_mean_std(const ia_sums *s, double mean[3], double std[3])
{
    if (s->n == 0)
        return -1;
    long double n = (long double)s->n;
    for (int c = 0; c < 3; c++) {
        ia_u128 nss, ss2;
        long double var_n2;   /* N^2 * variance */
        mean[c] = (double)((long double)s->sum[c] / n);
        if (!__builtin_mul_overflow(s->n, s->sumsq[c], &nss) &&
            !__builtin_mul_overflow(s->sum[c], s->sum[c], &ss2)) {
            var_n2 = nss > ss2 ? (long double)(nss - ss2) : 0.0L;
        } else {
            /* Beyond 2^128: cannot happen below ~7e16 pixels, but stay
             * finite and close rather than wrong. */
            long double m = (long double)s->sum[c] / n;
            long double v = (long double)s->sumsq[c] / n - m * m;
            var_n2 = v > 0 ? v * n * n : 0.0L;
        }
        std[c] = (double)(sqrtl(var_n2) / n);
    }
    return 0;
}


/* s as valid UTF-8: s itself, or a malloc'd copy in *tofree. NULL when
 * out of memory. The copy is made only for invalid names, which are
 * rare, so the common path allocates nothing. */
static const char *utf8_clean(const char *s, char **tofree)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), cap;
    size_t i = 0, n;
    *tofree = NULL;
    while (i < len && (n = ia_utf8_len(p + i)) != 0)
        i += n;
    if (i == len)
        return s;
    if (ia_mul_size(len, 3, &cap) != 0 || cap == SIZE_MAX)
        return NULL;
    char *out = malloc(cap + 1), *o = out;
    if (!out)
        return NULL;
    for (i = 0; i < len;) {
        n = ia_utf8_len(p + i);
        if (n) {
            memcpy(o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    *tofree = out;
    return out;
}

json_t *ia_json_text(const char *s)
{
    char *tofree;
    if (!s)
        return json_null();
    const char *clean = utf8_clean(s, &tofree);
    json_t *v = clean ? json_string(clean) : NULL;
    free(tofree);
    return v;
}

json_t *ia_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int ia_json_set(json_t *obj, const char *key, json_t *v)
{
    char *tofree;
    const char *clean = utf8_clean(key, &tofree);
    int rc = -1;
    if (clean)
        rc = json_object_set_new(obj, clean, v);
    else
        json_decref(v);
    free(tofree);
    return rc;
}

int ia_report_flush(ia_db *db, FILE *out, const char *what)
{
    errno = 0;
    if (fflush(out) != 0 || ferror(out))
        return ia_store_fail(db, IA_ERR_IO, "cannot write the %s: %s", what,
                             errno ? strerror(errno) : "write error");
    return IA_OK;
}

/* Stray files at the root of a split layout (README, LICENSE) are not a
 * split of their own; a stray image or labelled file is shown. */
int ia_report_split_shown(const ia_q_split *s, uint64_t named_splits)
{
    return *s->split || s->images || s->labelled || !named_splits;
}

static int nomem(ia_db *db)
{
    return ia_store_fail(db, IA_ERR_NOMEM, "out of memory building the "
                         "JSON report");
}

/* ---- sections -------------------------------------------------------- */

typedef struct jctx {
    ia_db *db;
    json_t *root;
    json_t *splits;
    json_t *findings;
    json_t *codes;           /* finding_counts */
    json_t *groups;
    json_t *leaks;
    json_t *classes;
    uint64_t named_splits;   /* splits other than "" */
    int complete;
    int fail_on;
} jctx;

static int scan_cb(void *user, const ia_q_scan *s)
{
    jctx *c = user;
    json_t *o = json_object();
    int bad = o == NULL;
    bad |= json_object_set_new(o, "name", ia_json_text(s->name));
    bad |= json_object_set_new(o, "root", ia_json_text(s->root));
    bad |= json_object_set_new(o, "started_at", ia_json_text(s->started_at));
    bad |= json_object_set_new(o, "finished_at",
                               ia_json_text(s->finished_at));
    bad |= json_object_set_new(o, "complete", json_boolean(s->complete));
    bad |= json_object_set_new(o, "files", json_integer(s->files));
    bad |= json_object_set_new(o, "decoded", json_integer(s->decoded));
    bad |= json_object_set_new(o, "bytes", json_integer(s->bytes));
    bad |= json_object_set_new(o, "megapixels",
                               json_real((double)s->pixels / 1e6));
    bad |= json_object_set_new(c->root, "scan", o);
    return bad ? nomem(c->db) : IA_OK;
}

static int add_status_counts(jctx *c, int64_t scan_id)
{
    uint64_t counts[IA_ST_COUNT];
    int ret = ia_q_status_counts(c->db, scan_id, counts);
    if (ret != IA_OK)
        return ret;
    json_t *o = json_object();
    int bad = o == NULL;
    for (int s = 0; s < IA_ST_COUNT; s++)
        bad |= json_object_set_new(o, ia_status_name(s),
                                   json_integer((json_int_t)counts[s]));
    bad |= json_object_set_new(c->root, "status_counts", o);
    return bad ? nomem(c->db) : IA_OK;
}

static json_t *triple(const double v[3])
{
    json_t *a = json_array();
    int bad = a == NULL;
    for (int i = 0; i < 3; i++)
        bad |= json_array_append_new(a, ia_json_real(v[i]));
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static int count_split_cb(void *user, const ia_q_split *s)
{
    jctx *c = user;
    c->named_splits += *s->split != '\0';
    return IA_OK;
}

static int split_cb(void *user, const ia_q_split *s)
{
    jctx *c = user;
    double mean[3], std[3];
    if (!ia_report_split_shown(s, c->named_splits))
        return IA_OK;
    json_t *o = json_object();
    int bad = o == NULL;
    int have = ia_sums_mean_std(&s->sums, mean, std) == 0;
    bad |= json_object_set_new(o, "canonical", ia_json_text(s->canonical));
    bad |= json_object_set_new(o, "images",
                               json_integer((json_int_t)s->images));
    bad |= json_object_set_new(o, "labels", json_object());
    bad |= json_object_set_new(o, "channel_mean",
                               have ? triple(mean) : json_null());
    bad |= json_object_set_new(o, "channel_std",
                               have ? triple(std) : json_null());
    bad |= ia_json_set(c->splits, s->split, o);
    return bad ? nomem(c->db) : IA_OK;
}

static int label_cb(void *user, const ia_q_label *l)
{
    jctx *c = user;
    char *tofree;
    const char *key = utf8_clean(l->split, &tofree);
    json_t *split = key ? json_object_get(c->splits, key) : NULL;
    json_t *labels = split ? json_object_get(split, "labels") : NULL;
    free(tofree);
    /* Every labelled file lies in a split the split query returned. */
    if (!labels)
        return key ? IA_OK : nomem(c->db);
    int bad = ia_json_set(labels, l->label,
                          json_integer((json_int_t)l->images));
    return bad ? nomem(c->db) : IA_OK;
}

static int partner_cb(void *user, const ia_q_partner *p)
{
    return json_array_append_new(user, ia_json_text(p->path)) ? IA_ERR_NOMEM
                                                              : IA_OK;
}

/* A leak's or conflict's group and the paths of the group's other
 * members: what to remove and what to keep. */
static int add_partners(jctx *c, json_t *o, const ia_q_finding *f)
{
    json_t *paths = json_array();
    if (!paths || json_object_set_new(o, "group", json_integer(f->group_id)) ||
        json_object_set_new(o, "partners", paths))
        return nomem(c->db);
    int ret = ia_q_partners(c->db, f->group_id, f->path, partner_cb, paths);
    return ret == IA_ERR_NOMEM ? nomem(c->db) : ret;
}

static int finding_cb(void *user, const ia_q_finding *f)
{
    jctx *c = user;
    json_t *o = json_object();
    int bad = o == NULL;
    bad |= json_object_set_new(o, "code", ia_json_text(f->code));
    bad |= json_object_set_new(o, "severity",
                               json_string(ia_severity_name(f->severity)));
    bad |= json_object_set_new(o, "path", ia_json_text(f->path));
    bad |= json_object_set_new(o, "detail", ia_json_text(f->detail));
    if (f->loader)
        bad |= json_object_set_new(o, "loader", ia_json_text(f->loader));
    bad |= json_array_append_new(c->findings, o);
    if (bad)
        return nomem(c->db);
    if (f->group_id > 0 && f->path)
        return add_partners(c, o, f);
    return IA_OK;
}

/* finding_counts: per (severity, code), files and dataset-level findings
 * apart (docs/reports.md, "Counting"), as the other reports count them. */
static int code_count_cb(void *user, const ia_q_code_files *q)
{
    jctx *c = user;
    json_t *o = json_pack("{s:o,s:s,s:I,s:I,s:I}", "code",
                          ia_json_text(q->code), "severity",
                          ia_severity_name(q->severity),
                          "files", (json_int_t)q->files,
                          "dataset_level", (json_int_t)q->dataset,
                          "findings", (json_int_t)q->findings);
    return !o || json_array_append_new(c->codes, o) ? nomem(c->db) : IA_OK;
}

/* loader_classes: {profile: {split: {label: {"index", "listed"}}}}, the
 * class table each shown profile builds ("" for no split). */
static json_t *child(json_t *parent, const char *key)
{
    char *tofree;
    const char *k = utf8_clean(key, &tofree);
    json_t *o = k ? json_object_get(parent, k) : NULL;
    if (k && !o && (o = json_object()) && json_object_set_new(parent, k, o))
        o = NULL;
    free(tofree);
    return o;
}

static int class_cb(void *user, const ia_q_loader_class *q)
{
    jctx *c = user;
    json_t *split = child(child(c->classes, q->loader), q->split);
    json_t *o = json_object();
    int bad = !split || !o;
    bad |= json_object_set_new(o, "index", json_integer(q->idx));
    bad |= json_object_set_new(o, "listed",
                               json_integer((json_int_t)q->listed));
    bad |= ia_json_set(split, q->label, o);
    return bad ? nomem(c->db) : IA_OK;
}

static int lens_name_cb(void *user, const char *name)
{
    return json_array_append_new(user, ia_json_text(name)) ? IA_ERR_NOMEM
                                                            : IA_OK;
}

static int add_loaders(jctx *c, int64_t scan_id)
{
    json_t *names = json_array();
    if (!names || json_object_set_new(c->root, "loaders", names) ||
        json_object_set_new(c->root, "loader_classes",
                            c->classes = json_object()))
        return nomem(c->db);
    int ret = ia_q_lens_loaders(c->db, lens_name_cb, names);
    if (ret == IA_ERR_NOMEM)
        return nomem(c->db);
    return ret == IA_OK ? ia_q_loader_classes(c->db, scan_id, class_cb, c)
                        : ret;
}

/* Group members arrive grouped; a new group_id starts a new object. */
typedef struct group_acc {
    jctx *c;
    json_t *groups;
    int64_t current;
    json_t *paths, *splits, *labels;
} group_acc;

static int add_unique(json_t *arr, const char *s)
{
    if (!s)
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return 0;
    return json_array_append_new(arr, ia_json_text(s));
}

static int member_cb(void *user, const ia_q_member *m)
{
    group_acc *g = user;
    int bad = 0;
    if (m->position == 0 || m->group_id != g->current) {
        json_t *o = json_object();
        g->current = m->group_id;
        g->paths = json_array();
        g->splits = json_array();
        g->labels = json_array();
        bad |= o == NULL;
        bad |= json_object_set_new(o, "id", json_integer(m->group_id));
        bad |= json_object_set_new(o, "kind", json_string(m->kind));
        bad |= json_object_set_new(o, "paths", g->paths);
        bad |= json_object_set_new(o, "distances", json_array());
        bad |= json_object_set_new(o, "splits", g->splits);
        bad |= json_object_set_new(o, "labels", g->labels);
        bad |= json_array_append_new(g->groups, o);
    }
    json_t *o = json_array_get(g->groups, json_array_size(g->groups) - 1);
    bad |= json_array_append_new(g->paths, ia_json_text(m->path));
    bad |= json_array_append_new(json_object_get(o, "distances"),
                                 json_integer(m->distance));
    bad |= add_unique(g->splits, m->split);
    bad |= add_unique(g->labels, m->label);
    return bad ? nomem(g->c->db) : IA_OK;
}

static int leak_cb(void *user, const ia_q_leak *l)
{
    jctx *c = user;
    json_t *o = json_object();
    int bad = o == NULL;
    bad |= json_object_set_new(o, "kind", json_string(l->kind));
    bad |= json_object_set_new(o, "a", ia_json_text(l->a));
    bad |= json_object_set_new(o, "b", ia_json_text(l->b));
    bad |= json_object_set_new(o, "a_split", ia_json_text(l->a_split));
    bad |= json_object_set_new(o, "b_split", ia_json_text(l->b_split));
    bad |= json_object_set_new(o, "distance", json_integer(l->distance));
    bad |= json_array_append_new(c->leaks, o);
    return bad ? nomem(c->db) : IA_OK;
}

static int add_groups(jctx *c, int64_t scan_id)
{
    group_acc g = {.c = c, .groups = c->groups, .current = -1};
    int ret = ia_q_group_members(c->db, scan_id, member_cb, &g);
    if (ret == IA_OK)
        ret = ia_q_leaks(c->db, scan_id, leak_cb, c);
    return ret;
}

/* "errors", "warnings", "infos" with prefix ("files_with_errors"...). */
static int add_triple(json_t *o, const char *prefix, const uint64_t n[3])
{
    static const char *const keys[3] = {"infos", "warnings", "errors"};
    char k[48];
    int bad = 0;
    for (int s = IA_SEV_ERROR; s >= IA_SEV_INFO; s--) {
        ia_bprintf(k, sizeof k, "%s%s", prefix, keys[s]);
        bad |= json_object_set_new(o, k, json_integer((json_int_t)n[s]));
    }
    return bad;
}

/* Findings per severity (what --fail-on tests), then the same counted
 * apart (docs/reports.md, "Counting"): distinct files with a finding of
 * it, and dataset-level findings of it. */
static int add_summary(jctx *c, int64_t scan_id)
{
    uint64_t sev[3], files[3], dataset[3];
    int ret = ia_q_severity_files(c->db, scan_id, sev, files, dataset);
    if (ret != IA_OK)
        return ret;
    json_t *o = json_object();
    int bad = o == NULL;
    bad |= add_triple(o, "", sev);
    bad |= add_triple(o, "files_with_", files);
    bad |= add_triple(o, "dataset_level_", dataset);
    bad |= json_object_set_new(c->root, "summary", o);
    /* as compare's: "fail" or "pass"; an incomplete scan never passes */
    bad |= json_object_set_new(c->root, "verdict", json_string(
        ia_report_fails(sev, c->complete, c->fail_on) ? "fail" : "pass"));
    return bad ? nomem(c->db) : IA_OK;
}

static int add_tool(jctx *c)
{
    json_t *o = json_object();
    int bad = o == NULL;
    bad |= json_object_set_new(o, "name", json_string("imgaudit"));
    bad |= json_object_set_new(o, "version", json_string(IMGAUDIT_VERSION));
    bad |= json_object_set_new(c->root, "tool", o);
    return bad ? nomem(c->db) : IA_OK;
}

/* ---- annotations (the balance of report/annot.c, as JSON) ------------ */

typedef struct annot_jctx {
    json_t *splits;
    int bad;
} annot_jctx;

static json_t *annot_split_obj(annot_jctx *c, const char *split)
{
    json_t *o = json_object_get(c->splits, split);
    if (!o) {
        o = json_pack("{s:o}", "categories", json_object());
        c->bad |= !o || ia_json_set(c->splits, split, o);
    }
    return c->bad ? NULL : o;
}

static int annot_json_split(void *user, const ia_q_annot *r)
{
    annot_jctx *c = user;
    json_t *o = annot_split_obj(c, r->split);
    if (!o)
        return IA_ERR_NOMEM;
    c->bad |= json_object_set_new(o, "images", json_integer(
                                  (json_int_t)r->images)) ||
              json_object_set_new(o, "boxes", json_integer(
                                  (json_int_t)r->boxes)) ||
              json_object_set_new(o, "max_boxes_per_image", json_integer(
                                  (json_int_t)r->max_per_image));
    return c->bad ? IA_ERR_NOMEM : IA_OK;
}

static int annot_json_category(void *user, const ia_q_annot *r)
{
    annot_jctx *c = user;
    json_t *o = annot_split_obj(c, r->split);
    json_t *v = json_pack("{s:I,s:I,s:I,s:I,s:I}",
                          "images", (json_int_t)r->images,
                          "boxes", (json_int_t)r->boxes,
                          "small", (json_int_t)r->small,
                          "medium", (json_int_t)r->medium,
                          "large", (json_int_t)r->large);
    if (!o || !v) {
        json_decref(v);
        return IA_ERR_NOMEM;
    }
    c->bad |= ia_json_set(json_object_get(o, "categories"), r->category, v);
    return c->bad ? IA_ERR_NOMEM : IA_OK;
}

int ia_report_annot_json(ia_db *db, int64_t scan_id, json_t *root)
{
    annot_jctx c = {json_object(), 0};
    if (!c.splits)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    int rc = ia_q_annot_balance(db, scan_id, 0, annot_json_split, &c);
    if (rc == IA_OK)
        rc = ia_q_annot_balance(db, scan_id, 1, annot_json_category, &c);
    if (rc == IA_OK && json_object_size(c.splits) > 0) {
        json_t *a = json_pack("{s:o}", "splits", c.splits);
        c.splits = NULL;
        if (!a || json_object_set_new(root, "annotations", a))
            rc = IA_ERR_NOMEM;
    }
    json_decref(c.splits);
    if (rc == IA_ERR_NOMEM)
        rc = ia_store_fail(db, rc, "out of memory");
    return rc;
}

/* The sections in documented order; the objects that later queries fill
 * are attached first and filled in place. */
static int build(jctx *c, int64_t scan_id)
{
    int ret = add_tool(c);
    if (ret == IA_OK)
        ret = ia_q_scan_get(c->db, scan_id, scan_cb, c);
    if (ret == IA_OK)
        ret = add_status_counts(c, scan_id);
    if (ret == IA_OK &&
        (json_object_set_new(c->root, "splits", c->splits = json_object()) ||
         json_object_set_new(c->root, "findings",
                             c->findings = json_array()) ||
         json_object_set_new(c->root, "finding_counts",
                             c->codes = json_array()) ||
         json_object_set_new(c->root, "duplicate_groups",
                             c->groups = json_array()) ||
         json_object_set_new(c->root, "leaks", c->leaks = json_array())))
        ret = nomem(c->db);
    if (ret == IA_OK)
        ret = ia_q_splits(c->db, scan_id, count_split_cb, c);
    if (ret == IA_OK)
        ret = ia_q_splits(c->db, scan_id, split_cb, c);
    if (ret == IA_OK)
        ret = ia_q_labels(c->db, scan_id, 0, label_cb, c);
    if (ret == IA_OK)
        ret = ia_q_findings(c->db, scan_id, NULL, -1, 0, finding_cb, c);
    if (ret == IA_OK)
        ret = ia_q_code_file_counts(c->db, scan_id, code_count_cb, c);
    if (ret == IA_OK)
        ret = add_groups(c, scan_id);
    if (ret == IA_OK)
        ret = add_loaders(c, scan_id);
    if (ret == IA_OK)
        ret = ia_report_complete(c->db, scan_id, &c->complete);
    if (ret == IA_OK)
        ret = ia_report_annot_json(c->db, scan_id, c->root);
    if (ret == IA_OK)
        ret = add_summary(c, scan_id);
    return ret;
}

int ia_report_json(ia_db *db, int64_t scan_id, FILE *out, int fail_on)
{
    jctx c = {.db = db, .root = json_object(), .fail_on = fail_on};
    int ret = c.root ? build(&c, scan_id) : nomem(db);
    if (ret == IA_OK &&
        (json_dumpf(c.root, out, JSON_INDENT(2)) != 0 ||
         fputc('\n', out) == EOF))
        ret = ia_store_fail(db, IA_ERR_IO, "cannot write the report");
    if (ret == IA_OK)
        ret = ia_report_flush(db, out, "report");
    json_decref(c.root);
    return ret;
}
