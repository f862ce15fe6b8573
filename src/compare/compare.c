/*
 * `imgaudit compare`: the handle, scan references, loading and matching.
 *
 *   - References: "FILE" (an existing file: its latest complete scan),
 *     "FILE:NAME", or a scan name/id in opt->db. An existing file always
 *     wins, so a DB named like a scan is still read as a file.
 *   - Every DB is opened with ia_db_open(IA_DB_READONLY): read-only, never
 *     migrated, no statement that writes. The same file named twice is
 *     opened once.
 *   - Each scan's file rows are loaded once, in path order (the order of
 *     the UNIQUE(scan_id, path) index), into an array; strings of both
 *     scans are interned in one table, so a split or label compares by
 *     pointer.
 *   - Matching is O(n log n): a merge on path; then the files left on both
 *     sides are sorted by SHA-256 and merged (renamed, moved, relabeled);
 *     then the rest by pixel hash (the same, re-encoded); the rest is
 *     removed or added. Within equal keys, files pair in path order, so
 *     the result never depends on anything but the two scans.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compare/model.h"
#include "compare/analysis.h"
#include "loader/loader.h"
#include "store/store.h"
#include "core/core.h"

#define CMP_DEFAULT_DB "imgaudit.db"

/* ---- scan references ------------------------------------------------- */

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

typedef struct ref {
    const char *file;   /* arena */
    const char *scan;   /* arena; NULL: latest complete */
} ref;

static int parse_ref(ia_compare *c, const char *text, ref *out)
{
    const char *colon = strrchr(text, ':');
    if (!*text)
        return ia_cmp_fail(c, IA_ERR_ARG, "an empty scan reference");
    if (is_file(text)) {
        out->file = ia_cmp_strdup(c, text);
        out->scan = NULL;
        return out->file ? IA_OK : ia_cmp_nomem(c);
    }
    if (colon && colon != text) {
        size_t n = (size_t)(colon - text);
        const char *file = ia_cmp_strndup(c, text, n);
        if (!file)
            return ia_cmp_nomem(c);
        if (is_file(file)) {
            out->file = file;
            out->scan = colon[1] ? ia_cmp_strdup(c, colon + 1) : NULL;
            return colon[1] && !out->scan ? ia_cmp_nomem(c) : IA_OK;
        }
        if (ends_with(file, ".db"))
            return ia_cmp_fail(c, IA_ERR_NOT_FOUND,
                               "'%s': no such database file", file);
    }
    if (ends_with(text, ".db"))
        return ia_cmp_fail(c, IA_ERR_NOT_FOUND,
                           "'%s': no such database file", text);
    out->file = ia_cmp_strdup(c, c->opt.db ? c->opt.db : CMP_DEFAULT_DB);
    out->scan = ia_cmp_strdup(c, text);
    if (!out->file || !out->scan)
        return ia_cmp_nomem(c);
    if (!is_file(out->file))
        return ia_cmp_fail(c, IA_ERR_NOT_FOUND, "'%s' is not a database "
                           "file, and the database '%s' (--db) does not "
                           "exist", text, out->file);
    return IA_OK;
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Opens the DB of side i (reusing side 0's when it is the same file) and
 * resolves its scan. */
static int open_side(ia_compare *c, int i, const ref *r)
{
    ia_db *db = NULL;
    int ret;
    if (i == 1 && same_file(r->file, c->scan[0].db_path)) {
        db = c->dbs[0];
    } else {
        ret = ia_db_open(r->file, IA_DB_READONLY, &db);
        c->dbs[i] = db;
        if (ret != IA_OK)
            return ia_cmp_fail(c, ret, "%s", db ? ia_db_errmsg(db)
                                                : ia_strerror(ret));
    }
    c->scan[i].db = db;
    c->scan[i].db_path = r->file;
    ret = ia_store_resolve_scan(db, r->scan, &c->scan[i].id);
    if (ret != IA_OK)
        return ia_cmp_fail(c, ret, "%s: %s", r->file, ia_db_errmsg(db));
    return IA_OK;
}

/* ---- loading --------------------------------------------------------- */

typedef struct load_ctx {
    ia_compare *c;
    cmp_scan *s;
} load_ctx;

static int header_cb(void *user, const ia_q_scan *q)
{
    load_ctx *l = user;
    cmp_scan *s = l->s;
    s->name = ia_cmp_strdup(l->c, q->name);
    s->root = ia_cmp_strdup(l->c, q->root);
    s->started_at = ia_cmp_strdup(l->c, q->started_at);
    s->finished_at = ia_cmp_strdup(l->c, q->finished_at);
    s->complete = q->complete;
    if (!s->name || !s->root || !s->started_at ||
        (q->finished_at && !s->finished_at))
        return ia_cmp_nomem(l->c);
    return IA_OK;
}

static const char *split_key(const ia_qc_file *f)
{
    if (f->split_canonical)
        return f->split_canonical;
    return f->split ? f->split : "";
}

static int file_cb(void *user, const ia_qc_file *q)
{
    load_ctx *l = user;
    ia_compare *c = l->c;
    cmp_scan *s = l->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024, bytes;
        if (ia_mul_size(cap, sizeof *s->files, &bytes) != 0)
            return ia_cmp_nomem(c);
        cmp_file *p = realloc(s->files, bytes);
        if (!p)
            return ia_cmp_nomem(c);
        s->files = p;
        s->cap = cap;
    }
    if (s->n >= UINT32_MAX - 1)
        return ia_cmp_fail(c, IA_ERR_ARG, "too many files to compare");
    cmp_file *f = &s->files[s->n];
    memset(f, 0, sizeof *f);
    f->path = ia_cmp_strdup(c, q->path);
    f->split = ia_cmp_intern(c, split_key(q));
    f->split_name = ia_cmp_intern(c, q->split);
    f->label = ia_cmp_intern(c, q->label);
    f->format = ia_cmp_intern(c, q->format);
    f->status = ia_cmp_intern(c, q->status);
    f->color_space = ia_cmp_intern(c, q->color_space);
    if (!f->path || !f->split || !f->format || !f->status ||
        (q->split && !f->split_name) || (q->label && !f->label) ||
        (q->color_space && !f->color_space))
        return ia_cmp_nomem(c);
    f->size = q->size;
    f->width = q->width;
    f->height = q->height;
    f->quality = q->jpeg_quality;
    f->brightness = q->brightness;
    f->contrast = q->contrast;
    f->sharpness = q->sharpness;
    f->entropy = q->entropy;
    f->pixels = q->pixels;
    memcpy(f->sum, q->sum, sizeof f->sum);
    memcpy(f->sumsq, q->sumsq, sizeof f->sumsq);
    if ((f->have_sha = q->sha256 != NULL))
        memcpy(f->sha, q->sha256, sizeof f->sha);
    if ((f->have_pix = q->pixel_hash != NULL))
        memcpy(f->pix, q->pixel_hash, sizeof f->pix);
    int st = ia_status_parse(q->status);
    if (st >= 0)
        s->status[st]++;
    s->n++;
    return IA_OK;
}

static int code_cb(void *user, const ia_qc_code *q)
{
    load_ctx *l = user;
    cmp_scan *s = l->s;
    if (s->ncodes == s->capcodes) {
        size_t cap = s->capcodes ? s->capcodes * 2 : 32;
        cmp_code *p = realloc(s->codes, cap * sizeof *p);
        if (!p)
            return ia_cmp_nomem(l->c);
        s->codes = p;
        s->capcodes = cap;
    }
    cmp_code *k = &s->codes[s->ncodes];
    if (!(k->code = ia_cmp_intern(l->c, q->code)))
        return ia_cmp_nomem(l->c);
    k->files = q->files;
    k->other = q->other;
    k->max_severity = q->max_severity;
    s->ncodes++;
    return IA_OK;
}

static int load_side(ia_compare *c, int i)
{
    cmp_scan *s = &c->scan[i];
    ia_db *db = s->db;
    load_ctx l = {c, s};
    int ret = ia_q_scan_get(db, s->id, header_cb, &l);
    if (ret == IA_OK)
        ret = ia_qc_files(db, s->id, file_cb, &l);
    if (ret == IA_OK)
        ret = ia_qc_codes(db, s->id, code_cb, &l);
    /* A failure in a callback has its message on c already; one in SQL
     * has it on the handle. */
    if (ret != IA_OK && !c->errmsg[0])
        ia_cmp_fail(c, ret, "%s: %s", s->db_path, ia_db_errmsg(db));
    return ret;
}

/* Both scans are read through the same loader profiles (--loader, else
 * those the new scan was made with), at their stored severities: the
 * compare's own policy grades what changed. */
static int options_cb(void *user, const ia_q_scan *q)
{
    char **out = user;
    *out = ia_strdup(q->options);
    return *out ? IA_OK : IA_ERR_NOMEM;
}

static int set_lenses(ia_compare *c)
{
    char err[512] = "", *opts = NULL;
    ia_policy stored;
    ia_policy_defaults(&stored);
    int ret = ia_q_scan_get(c->scan[1].db, c->scan[1].id, options_cb, &opts);
    for (int i = 0; i < 2 && ret == IA_OK; i++)
        ret = ia_loader_lens_for(c->scan[i].db, opts, c->opt.loaders,
                                 &stored, err, sizeof err);
    free(opts);
    if (ret != IA_OK)
        return ia_cmp_fail(c, ret, "%s", err[0] ? err
                           : ia_db_errmsg(c->scan[1].db));
    return IA_OK;
}

/* ---- matching -------------------------------------------------------- */

static void pair(ia_compare *c, size_t bi, size_t ni, int by_content,
                 int recoded)
{
    cmp_file *b = &c->scan[0].files[bi], *n = &c->scan[1].files[ni];
    int kind;
    if (!by_content)
        kind = b->have_sha && n->have_sha &&
                       memcmp(b->sha, n->sha, sizeof b->sha) == 0
                   ? CMP_UNCHANGED : CMP_MODIFIED;
    else
        kind = CMP_RENAMED;
    /* A path match keeps split and label unless a manifest changed them;
     * a content match names what else changed. */
    if (kind != CMP_MODIFIED) {
        if (b->split != n->split)
            kind = CMP_MOVED;
        else if (b->label != n->label)
            kind = CMP_RELABELED;
    }
    b->kind = n->kind = (uint8_t)kind;
    b->other = (uint32_t)ni + 1;
    n->other = (uint32_t)bi + 1;
    b->recoded = n->recoded = (uint8_t)recoded;
}

static void match_paths(ia_compare *c)
{
    const cmp_scan *b = &c->scan[0], *n = &c->scan[1];
    size_t i = 0, j = 0;
    while (i < b->n && j < n->n) {
        int d = strcmp(b->files[i].path, n->files[j].path);
        if (d < 0)
            i++;
        else if (d > 0)
            j++;
        else
            pair(c, i++, j++, 0, 0);
    }
}

typedef struct keyed {
    const uint8_t *key;
    uint32_t idx;
} keyed;

static int keyed_cmp16(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int d = memcmp(a->key, b->key, 16);
    return d ? d : (a->idx > b->idx) - (a->idx < b->idx);
}

static int keyed_cmp32(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int d = memcmp(a->key, b->key, 32);
    return d ? d : (a->idx > b->idx) - (a->idx < b->idx);
}

/* The unmatched files of one side that have the key, sorted by key. */
static keyed *unmatched_keys(const cmp_scan *s, int by_pixels, size_t *count)
{
    keyed *k = malloc((s->n ? s->n : 1) * sizeof *k);
    size_t m = 0;
    if (!k)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const cmp_file *f = &s->files[i];
        if (f->other || !(by_pixels ? f->have_pix : f->have_sha))
            continue;
        k[m].key = by_pixels ? f->pix : f->sha;
        k[m++].idx = (uint32_t)i;
    }
    ia_qsort(k, m, sizeof *k, by_pixels ? keyed_cmp16 : keyed_cmp32);
    *count = m;
    return k;
}

/* Pairs unmatched files with equal keys, in path order within a key. */
static int match_content(ia_compare *c, int by_pixels)
{
    size_t nb = 0, nn = 0, len = by_pixels ? 16 : 32;
    keyed *kb = unmatched_keys(&c->scan[0], by_pixels, &nb);
    keyed *kn = unmatched_keys(&c->scan[1], by_pixels, &nn);
    int ret = IA_OK;
    if (!kb || !kn) {
        ret = ia_cmp_nomem(c);
        goto out;
    }
    for (size_t i = 0, j = 0; i < nb && j < nn;) {
        int d = memcmp(kb[i].key, kn[j].key, len);
        if (d < 0)
            i++;
        else if (d > 0)
            j++;
        else
            pair(c, kb[i++].idx, kn[j++].idx, 1, by_pixels);
    }
out:
    free(kb);
    free(kn);
    return ret;
}

static void count_kinds(ia_compare *c)
{
    memset(c->kinds, 0, sizeof c->kinds);
    for (size_t i = 0; i < c->scan[0].n; i++) {
        cmp_file *f = &c->scan[0].files[i];
        if (!f->other)
            f->kind = CMP_REMOVED;
    }
    for (size_t i = 0; i < c->scan[1].n; i++) {
        cmp_file *f = &c->scan[1].files[i];
        if (!f->other)
            f->kind = CMP_ADDED;
        c->kinds[f->kind]++;
        if (f->kind == CMP_MODIFIED) {
            const cmp_file *b = &c->scan[0].files[f->other - 1];
            if (!b->have_pix || !f->have_pix)
                c->pixels_unknown++;
            else if (memcmp(b->pix, f->pix, sizeof b->pix) == 0)
                c->encoding_only++;
            else
                c->pixels_changed++;
        }
    }
    for (size_t i = 0; i < c->scan[0].n; i++)
        c->kinds[CMP_REMOVED] += c->scan[0].files[i].kind == CMP_REMOVED;
}

/* ---- why a modified file stopped decoding ---------------------------- */

/* The rows of ia_qc_status_details come in path order, as the new scan's
 * files: one merge sets the detail of each modified file whose status
 * changed ("ok -> truncated" gains "after 14 of 72 rows"). */
typedef struct detail_ctx {
    ia_compare *c;
    size_t next;
} detail_ctx;

static int detail_cb(void *user, const char *path, const char *detail)
{
    detail_ctx *d = user;
    cmp_scan *s = &d->c->scan[1];
    while (d->next < s->n && strcmp(s->files[d->next].path, path) < 0)
        d->next++;
    if (d->next == s->n || strcmp(s->files[d->next].path, path) != 0)
        return IA_OK;
    cmp_file *f = &s->files[d->next];
    if (f->kind != CMP_MODIFIED ||
        d->c->scan[0].files[f->other - 1].status == f->status)   /* interned */
        return IA_OK;
    f->status_detail = ia_cmp_strdup(d->c, detail);
    return f->status_detail ? IA_OK : ia_cmp_nomem(d->c);
}

static int status_details(ia_compare *c)
{
    detail_ctx d = {c, 0};
    if (!c->kinds[CMP_MODIFIED])
        return IA_OK;
    int ret = ia_qc_status_details(c->scan[1].db, c->scan[1].id, detail_cb,
                                   &d);
    if (ret != IA_OK && !c->errmsg[0])
        ia_cmp_fail(c, ret, "%s: %s", c->scan[1].db_path,
                    ia_db_errmsg(c->scan[1].db));
    return ret;
}

static int match(ia_compare *c)
{
    match_paths(c);
    int ret = match_content(c, 0);
    if (ret == IA_OK)
        ret = match_content(c, 1);
    if (ret == IA_OK)
        count_kinds(c);
    if (ret == IA_OK)
        ret = status_details(c);
    return ret;
}

/* ---- the handle ------------------------------------------------------ */

static int check_options(ia_compare *c, const ia_compare_options *opt)
{
    if (opt)
        c->opt = *opt;
    if (c->opt.fail_on < IA_FAIL_ON_ERROR || c->opt.fail_on > IA_FAIL_ON_NEVER)
        return ia_cmp_fail(c, IA_ERR_ARG, "fail_on must be one of "
                           "IA_FAIL_ON_ERROR, _WARNING or _NEVER");
    if (!c->opt.text_examples)
        c->opt.text_examples = 3;
    if (c->opt.text_examples > IA_CMP_EXAMPLES_MAX)
        c->opt.text_examples = IA_CMP_EXAMPLES_MAX;
    if (!c->opt.text_list)
        c->opt.text_list = 10;
    ia_policy_defaults(&c->policy);
    if (c->opt.policy) {
        char err[512];
        int ret = ia_policy_load(&c->policy, c->opt.policy, err, sizeof err);
        if (ret != IA_OK)
            return ia_cmp_fail(c, ret, "%s", err);
    }
    return IA_OK;
}

int ia_compare_open(const char *base_ref, const char *new_ref,
                    const ia_compare_options *opt, ia_compare **out)
{
    ref rb, rn;
    if (!out)
        return IA_ERR_ARG;
    *out = NULL;
    ia_compare *c = calloc(1, sizeof *c);
    if (!c)
        return IA_ERR_NOMEM;
    *out = c;
    if (!base_ref || !new_ref)
        return ia_cmp_fail(c, IA_ERR_ARG, "two scan references are needed");
    int ret = check_options(c, opt);
    if (ret == IA_OK)
        ret = parse_ref(c, base_ref, &rb);
    if (ret == IA_OK)
        ret = parse_ref(c, new_ref, &rn);
    if (ret == IA_OK)
        ret = open_side(c, 0, &rb);
    if (ret == IA_OK)
        ret = open_side(c, 1, &rn);
    if (ret == IA_OK)
        ret = set_lenses(c);
    for (int i = 0; i < 2 && ret == IA_OK; i++)
        ret = load_side(c, i);
    if (ret == IA_OK)
        ret = match(c);
    if (ret == IA_OK)
        ret = ia_cmp_analyze(c);
    if (ret == IA_OK)
        c->errmsg[0] = '\0';
    return ret;
}

void ia_compare_get_summary(const ia_compare *c, ia_compare_summary *out)
{
    if (!c || !out)
        return;
    out->errors = c->sev[IA_SEV_ERROR];
    out->warnings = c->sev[IA_SEV_WARNING];
    out->infos = c->sev[IA_SEV_INFO];
    out->fail = c->fail;
}

const char *ia_compare_errmsg(const ia_compare *c)
{
    return c ? c->errmsg : "";
}

void ia_compare_close(ia_compare *c)
{
    if (!c)
        return;
    for (int i = 0; i < 2; i++) {
        free(c->scan[i].files);
        free(c->scan[i].codes);
    }
    ia_db_close(c->dbs[0]);
    ia_db_close(c->dbs[1]);
    for (size_t i = 0; i < c->nfindings; i++)
        free(c->findings[i].detail);
    free(c->findings);
    for (size_t i = 0; i < c->ndrift; i++) {
        json_decref(c->drift[i].base);
        json_decref(c->drift[i].new_);
    }
    free(c->drift);
    json_decref(c->health);
    json_decref(c->labels);
    json_decref(c->modified_summary);
    ia_policy_free(&c->policy);
    ia_cmp_strings_free(c);
    free(c);
}
