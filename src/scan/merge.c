/*
 * ia_merge: shard scans into one scan (docs/scale-out.md).
 *
 *   1. Open every shard DB read-only and read its latest sharded scan.
 *   2. Check they belong together: same root, layout, options JSON, N and
 *      tool version (this tool's: the merged scan is then exactly what
 *      this version's single scan gives), each K at most once. Refuse,
 *      before writing anything, when a K is missing or its scan did not
 *      finish, unless allow_partial.
 *   3. Copy the shards' file rows and walk findings into a new scan, in
 *      the walk order of the whole tree (store/merge.c).
 *   4. Run the same dataset-wide steps a scan runs after its walk
 *      (ia_analyze_scan, then ia_store_scan_finish): duplicate groups,
 *      leaks, label conflicts, mode mix and totals are computed over all
 *      files, never stitched from the shards' partial ones.
 *
 * A partial merge is marked incomplete and carries one shard_missing
 * finding (error) per shard missing or unfinished, so no report of it
 * can pass for a full audit. A merge that fails half way deletes its
 * scan again: nothing is lost, the shards hold every row. One killed half
 * way (SIGKILL, a power cut) cannot, so the next run of the same merge
 * deletes that unfinished scan before it begins its own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/analyze.h"
#include "loader/loader.h"
#include "core/core.h"
#include "imgaudit.h"
#include "store/store.h"

typedef struct shard_in {
    const char *path;
    ia_db *db;
    ia_shard_scan s;
    int usable;            /* opened, and holds a sharded scan */
} shard_in;

typedef struct merge_ctx {
    ia_db *db;
    const ia_merge_options *opt;
    shard_in *in;
    size_t nin;
    const shard_in *ref;   /* the first usable shard */
    const shard_in **byk;  /* [ref->s.n]: the shard of each K, or NULL */
    int complete;
} merge_ctx;

static void note(const merge_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(const merge_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!c->opt->note)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n >= 0)
        c->opt->note(c->opt->user, msg);
}

/* A shard file that cannot be used: a refusal, or with allow_partial a
 * note (its K then shows up as missing). */
static int unusable(merge_ctx *c, shard_in *in, const char *why)
{
    if (!c->opt->allow_partial)
        return ia_store_fail(c->db, IA_ERR_SHARDS, "%s: %s", in->path, why);
    note(c, "%s: %s: left out", in->path, why);
    return IA_OK;
}

static int open_one(merge_ctx *c, shard_in *in)
{
    struct stat st;
    if (stat(in->path, &st) != 0)
        return unusable(c, in, "no such file");
    int rc = ia_db_open(in->path, IA_DB_READONLY, &in->db);
    if (rc == IA_OK)
        rc = ia_store_shard_scan(in->db, &in->s);
    if (rc == IA_ERR_NOMEM)
        return ia_store_fail(c->db, rc, "out of memory");
    if (rc != IA_OK)
        return unusable(c, in, in->db ? ia_db_errmsg(in->db)
                                      : ia_strerror(rc));
    in->usable = 1;
    return IA_OK;
}

/* The first field in which b differs from a, or NULL. */
static const char *differs(const ia_shard_scan *a, const ia_shard_scan *b,
                           const char **va, const char **vb)
{
    static const char *const names[] = {"root", "layout", "options",
                                        "tool version"};
    const char *x[] = {a->root, a->layout, a->options, a->tool_version};
    const char *y[] = {b->root, b->layout, b->options, b->tool_version};
    for (size_t i = 0; i < IA_ARRAY_LEN(names); i++)
        if (strcmp(x[i], y[i]) != 0) {
            *va = x[i];
            *vb = y[i];
            return names[i];
        }
    return NULL;
}

static int check_one(merge_ctx *c, const shard_in *in)
{
    const ia_shard_scan *r = &c->ref->s, *s = &in->s;
    const char *va = NULL, *vb = NULL;
    const char *field = differs(r, s, &va, &vb);
    if (field)
        return ia_store_fail(c->db, IA_ERR_SHARDS, "%s and %s are not shards "
                             "of one scan: %s '%s' vs '%s'", c->ref->path,
                             in->path, field, va, vb);
    if (s->n != r->n)
        return ia_store_fail(c->db, IA_ERR_SHARDS, "%s and %s are not shards "
                             "of one scan: shard %u/%u vs %u/%u",
                             c->ref->path, in->path, r->k, r->n, s->k, s->n);
    if (c->byk[s->k])
        return ia_store_fail(c->db, IA_ERR_SHARDS, "shard %u/%u given twice: "
                             "%s and %s", s->k, s->n, c->byk[s->k]->path,
                             in->path);
    c->byk[s->k] = in;
    return IA_OK;
}

static int check_set(merge_ctx *c)
{
    for (size_t i = 0; i < c->nin && !c->ref; i++)
        if (c->in[i].usable)
            c->ref = &c->in[i];
    if (!c->ref)
        return ia_store_fail(c->db, IA_ERR_SHARDS, "no usable shard");
    if (strcmp(c->ref->s.tool_version, IMGAUDIT_VERSION) != 0)
        return ia_store_fail(c->db, IA_ERR_SHARDS, "%s was made by imgaudit "
                             "%s; this is %s: merge with the version that "
                             "scanned", c->ref->path, c->ref->s.tool_version,
                             IMGAUDIT_VERSION);
    c->byk = calloc(c->ref->s.n, sizeof *c->byk);
    if (!c->byk)
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    int rc = IA_OK;
    for (size_t i = 0; i < c->nin && rc == IA_OK; i++)
        if (c->in[i].usable)
            rc = check_one(c, &c->in[i]);
    return rc;
}

/* Appends "shard K/N ..." for every K missing or unfinished to msg. */
static unsigned list_gaps(const merge_ctx *c, char *msg, size_t cap)
{
    unsigned n = c->ref->s.n, gaps = 0;
    size_t len = strlen(msg);
    for (unsigned k = 0; k < n; k++) {
        const shard_in *in = c->byk[k];
        if (in && in->s.complete)
            continue;
        if (++gaps > 8)
            continue;
        if (in)
            ia_bprintf(msg + len, cap - len, "%sshard %u/%u (%s) did not "
                       "finish", gaps > 1 ? "; " : "", k, n, in->path);
        else
            ia_bprintf(msg + len, cap - len, "%sshard %u/%u is missing",
                       gaps > 1 ? "; " : "", k, n);
        len = strlen(msg);
    }
    if (gaps > 8)
        ia_bprintf(msg + len, cap - len, "; and %u more", gaps - 8);
    return gaps;
}

static int check_gaps(merge_ctx *c)
{
    char msg[768] = "";
    unsigned gaps = list_gaps(c, msg, sizeof msg);
    c->complete = gaps == 0;
    if (gaps && !c->opt->allow_partial)
        return ia_store_fail(c->db, IA_ERR_SHARDS, "%s: refusing to merge an "
                             "incomplete set (--allow-partial merges the "
                             "shards present)", msg);
    for (unsigned k = 0; gaps && k < c->ref->s.n; k++) {
        const shard_in *in = c->byk[k];
        if (!in)
            note(c, "shard %u/%u is missing: its files are left out", k,
                 c->ref->s.n);
        else if (!in->s.complete)
            note(c, "shard %u/%u (%s) did not finish: merging the %lld "
                 "files it stored", k, c->ref->s.n, in->path,
                 (long long)in->s.files);
    }
    return IA_OK;
}

static int begin_merged(merge_ctx *c, int64_t *scan_id)
{
    const ia_shard_scan *r = &c->ref->s;
    const char *started = r->started_at;
    for (unsigned k = 0; k < r->n; k++)
        if (c->byk[k] && strcmp(c->byk[k]->s.started_at, started) < 0)
            started = c->byk[k]->s.started_at;
    ia_scan_meta meta = {
        .name = c->opt->name && *c->opt->name ? c->opt->name : r->name,
        .root = r->root, .layout = r->layout, .options_json = r->options,
        .tool_version = r->tool_version, .started_at = started,
    };
    int64_t removed = 0;
    int rc = ia_store_merge_orphans(c->db, &meta, &removed);
    if (rc == IA_OK && removed > 0)
        note(c, "removed %lld unfinished scan(s) left by a killed run of "
             "this merge", (long long)removed);
    return rc == IA_OK ? ia_store_scan_begin(c->db, &meta, scan_id) : rc;
}

static int copy_rows(merge_ctx *c, int64_t scan_id, unsigned *merged)
{
    unsigned n = c->ref->s.n, m = 0;
    uint64_t files = 0;
    ia_merge_src *src = calloc(n, sizeof *src);
    if (!src)
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    for (unsigned k = 0; k < n; k++)
        if (c->byk[k])
            src[m++] = (ia_merge_src){c->byk[k]->db, c->byk[k]->s.scan_id,
                                      c->byk[k]->path};
    int rc = ia_store_merge_rows(c->db, scan_id, src, m,
                                 strcmp(c->ref->s.layout, "manifest") == 0,
                                 &files);
    free(src);
    *merged = m;
    return rc;
}

/* One shard_missing finding (error, dataset level) per gap. */
static int gap_findings(merge_ctx *c, int64_t scan_id)
{
    char detail[IA_DETAIL_MAX];
    unsigned n = c->ref->s.n;
    int rc = IA_OK;
    for (unsigned k = 0; k < n && rc == IA_OK; k++) {
        const shard_in *in = c->byk[k];
        if (in && in->s.complete)
            continue;
        if (in)
            ia_bprintf(detail, sizeof detail, "shard %u/%u did not finish: "
                       "only the %lld files it stored are in this scan", k,
                       n, (long long)in->s.files);
        else
            ia_bprintf(detail, sizeof detail, "shard %u/%u is missing: "
                       "none of its files are in this scan", k, n);
        rc = ia_store_finding(c->db, scan_id, 0, NULL, "shard_missing",
                              IA_SEV_ERROR, detail);
    }
    return rc;
}

static int run_merge(merge_ctx *c, ia_merge_summary *out)
{
    int64_t scan_id = 0;
    unsigned merged = 0;
    char finished[32];
    unsigned jobs = c->opt->jobs ? c->opt->jobs : ia_cpu_count();
    int rc = begin_merged(c, &scan_id);
    if (rc != IA_OK)
        return rc;
    rc = copy_rows(c, scan_id, &merged);
    if (rc == IA_OK)
        rc = ia_analyze_scan(c->db, scan_id, jobs);
    if (rc == IA_OK)
        rc = gap_findings(c, scan_id);
    ia_utc_now(finished);
    if (rc == IA_OK)
        rc = ia_store_scan_finish(c->db, scan_id, c->complete, finished);
    /* All or nothing: the shards still hold every row. Should even the
     * delete fail, the scan stays marked incomplete, as it was begun. */
    if (rc != IA_OK) {
        ia_store_merge_discard(c->db, scan_id);
        return rc;
    }
    /* the summary counts what the shards' reports would show */
    char err[256];
    rc = ia_loader_lens_for(c->db, c->ref->s.options, NULL, NULL, err,
                            sizeof err);
    if (rc == IA_OK)
        rc = ia_store_scan_totals(c->db, scan_id, &out->scan);
    out->shard_n = c->ref->s.n;
    out->merged = merged;
    out->complete = c->complete;
    return rc;
}

int ia_merge(ia_db *db, const char *const *paths, size_t npaths,
             const ia_merge_options *opt, ia_merge_summary *out)
{
    static const ia_merge_options defaults;
    ia_merge_summary sum;
    merge_ctx c = {.db = db, .opt = opt ? opt : &defaults, .nin = npaths};
    int rc = IA_OK;
    if (!db)
        return IA_ERR_ARG;
    if (!paths || npaths == 0)
        return ia_store_fail(db, IA_ERR_ARG, "no shard databases given");
    memset(&sum, 0, sizeof sum);
    double t0 = ia_now();
    c.in = calloc(npaths, sizeof *c.in);
    if (!c.in)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < npaths && rc == IA_OK; i++) {
        c.in[i].path = paths[i];
        rc = open_one(&c, &c.in[i]);
    }
    if (rc == IA_OK)
        rc = check_set(&c);
    if (rc == IA_OK)
        rc = check_gaps(&c);
    if (rc == IA_OK)
        rc = run_merge(&c, &sum);
    for (size_t i = 0; i < npaths; i++) {
        ia_shard_scan_release(&c.in[i].s);
        ia_db_close(c.in[i].db);
    }
    free(c.in);
    free(c.byk);
    if (rc == IA_OK && out) {
        sum.scan.seconds = ia_now() - t0;
        *out = sum;
    }
    return rc;
}
