/*
 * ia_scan: the pipeline of DESIGN.md. The calling thread walks, hands
 * entries to the ordered pool and stores finished results in walk order,
 * so it is the one thread that owns the SQLite connection and -j 1 and
 * -j N write identical rows. Workers only run ia_scan_file.
 */
#include <assert.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "analyze/analyze.h"
#include "annot/annot.h"
#include "loader/loader.h"
#include "policy/policy.h"
#include "scan/budget.h"
#include "scan/count.h"
#include "imgaudit.h"
#include "core/core.h"
#include "scan/pool.h"
#include "scan/file.h"
#include "shard/shard.h"
#include "store/store.h"
#include "walk/walk.h"

/* Entries per pool slot, at most. A slot is handed between threads with
 * a mutex and a condition variable; for datasets of small images that
 * handoff, once per file, cost as much as a decode at -j 2
 * (docs/performance.md), so the walk fills a slot with several entries:
 * as many as make about JOB_PIXELS decoded pixels, judged from the files
 * stored so far, so that slots of large images stay small and keep every
 * worker busy to the end. Only the scheduling changes: results are stored
 * in walk order whatever the batch. */
#define JOB_FILES 32
#define JOB_PIXELS 4e6
/* The bytes of archive members the walk may have handed on and not seen
 * stored yet, per worker (at least 64 MiB): a member's bytes travel with
 * its entry (walk/walk.h), so slots of large members would otherwise hold
 * JOB_FILES x slots of them. Past it the walk waits for the oldest slot. */
#define HELD_PER_WORKER ((uint64_t)32 << 20)
#define HELD_MIN ((uint64_t)64 << 20)

typedef struct item {
    ia_entry *entry;
    int rc;
    int skipped;            /* not scanned: the scan was cancelled first */
    ia_file_result res;
} item;

/* A pool slot: as many items as a slot may hold (job_bytes), so the
 * pool, which zeroes each slot it hands out, clears only those: at -j 1
 * one, not JOB_FILES (a 110 KB memset per file, 8 % of a small image's
 * scan). */
typedef struct job {
    int n;
    item it[];
} job;

/* Items per slot: -j 1 stores each file before the next (tune_batch). */
static int job_files(unsigned threads)
{
    return threads ? JOB_FILES : 1;
}

static size_t job_bytes(unsigned threads)
{
    return offsetof(job, it) + (size_t)job_files(threads) * sizeof(item);
}

typedef struct scan_ctx {
    ia_db *db;
    const ia_scan_options *opt;
    ia_file_config cfg;
    int64_t scan_id;
    ia_progress progress;
    double t0;
    ia_reuse *reuse;        /* --reuse: the other scan's index */
    ia_resume *resume;      /* --resume: the files already stored */
    ia_budget *budget;      /* decoder memory shared by the workers */
    ia_hash_tables *tables; /* Lanczos tables shared by the workers */
    ia_follow *follow;      /* an unchanged rescan so far (store/store.h) */
    ia_follow *followed;    /* the follower once it stopped: freed last */
    ia_annot_plan *annot;   /* --coco, --yolo: NULL without */
    double avg_pixels;      /* running mean of decoded pixels per file */
    int batch;              /* entries per slot, 1 .. JOB_FILES */
    int cut;                /* an entry was skipped: store nothing after */
    int taken;              /* the reused scan's rows were taken whole */
    unsigned threads;       /* worker threads (0: inline, -j 1) */
    unsigned loaders;       /* the profiles shown (loader/loader.h) */
    ia_policy policy;       /* --policy: the severities shown */
    uint64_t held, held_cap;    /* member bytes in slots (HELD_PER_WORKER) */
    const char *name_from;  /* what the scan's default name is made from */
    ia_counter *counter;    /* counting ahead for the progress line */
    uint64_t resumed;       /* files --resume found stored already */
} scan_ctx;

static int worker_new(void *shared, void **state)
{
    scan_ctx *ctx = shared;
    ia_worker *w = NULL;
    int rc = ia_worker_new(&w, ctx->tables);
    *state = w;
    return rc;
}

static void worker_free(void *state)
{
    ia_worker_free(state);
}

/* The flag is set by a signal handler and read by workers and the writer:
 * an atomic load keeps that a defined (and ThreadSanitizer-clean) read. */
static int cancelled(const ia_scan_options *opt)
{
    return opt->cancel && __atomic_load_n(opt->cancel, __ATOMIC_RELAXED);
}

/* A cancelled scan stops between files, even inside a slot: the file in
 * flight is finished, the rest of the slot is left (collect_one then
 * stores a prefix of the walk, as one file per slot would). */
static void worker_run(void *shared, void *state, void *slot)
{
    const scan_ctx *ctx = shared;
    job *j = slot;
    for (int i = 0; i < j->n; i++) {
        if (cancelled(ctx->opt)) {
            j->it[i].skipped = 1;
            continue;
        }
        j->it[i].rc = ia_scan_file(state, &ctx->cfg, j->it[i].entry,
                                   &j->it[i].res);
    }
}

typedef struct note_kind {
    int kind;
    const char *code;
    int severity;
} note_kind;

/* Entries that are not files become findings about their path: *out
 * set, 1; 0 for a file row. */
static int note_of(const ia_entry *e, note_kind *out)
{
    static const note_kind notes[] = {
        {IA_ENT_SYMLINK_SKIPPED, "symlink", IA_SEV_INFO},
        {IA_ENT_SYMLINK_LOOP, "symlink_loop", IA_SEV_WARNING},
        {IA_ENT_SYMLINK_BROKEN, "broken_symlink", IA_SEV_WARNING},
        {IA_ENT_DIR_UNREADABLE, "unreadable", IA_SEV_ERROR},
        {IA_ENT_JUNK_DIR, "junk_folder", IA_SEV_WARNING},
        {IA_ENT_EMPTY_CLASS, "empty_class", IA_SEV_WARNING},
        {IA_ENT_OUTSIDE_ROOT, "outside_root", IA_SEV_ERROR},
        {IA_ENT_MANIFEST_ROW, "manifest_row", IA_SEV_ERROR},
    };
    if (e->kind == IA_ENT_NOTE && e->note_code) {
        *out = (note_kind){e->kind, e->note_code, e->note_severity};
        return 1;
    }
    for (size_t i = 0; i < IA_ARRAY_LEN(notes); i++)
        if (notes[i].kind == e->kind) {
            *out = notes[i];
            return 1;
        }
    return 0;
}

static int is_file_row(const ia_entry *e)
{
    return e->kind == IA_ENT_FILE || e->kind == IA_ENT_SPECIAL ||
           e->kind == IA_ENT_MISSING;
}

static int store_note(scan_ctx *ctx, const ia_entry *e)
{
    note_kind n;
    if (!note_of(e, &n))
        return IA_OK;
    if (n.severity == IA_SEV_ERROR)
        ctx->progress.errors++;
    else if (n.severity == IA_SEV_WARNING)
        ctx->progress.warnings++;
    return ia_store_note(ctx->db, ctx->scan_id, e->relpath, n.code,
                         n.severity, e->detail);
}

/* An unchanged rescan: *same when the item repeats the reused scan, so
 * there is nothing to store. A file that failed never repeats; one taken
 * over is compared by what it would bind; one read or decoded here is
 * compared as stored (a trial row, removed again). */
static int follow_item(scan_ctx *ctx, const item *j, int *same)
{
    *same = 0;
    if (is_file_row(j->entry)) {
        int rc;
        if (j->rc == IA_OK && j->res.reuse_id == 0) {
            rc = ia_follow_stored(ctx->follow, j->entry, &j->res, same);
        } else {
            rc = ia_follow_file(ctx->follow, j->entry,
                                j->rc == IA_OK ? &j->res : NULL, same);
        }
        if (rc == IA_OK && *same)
            ctx->progress.files_done++;
        return rc;
    }
    note_kind n;
    if (!note_of(j->entry, &n)) {
        *same = 1;          /* stored by neither */
        return IA_OK;
    }
    return ia_follow_note(ctx->follow, j->entry, n.code, n.severity, same);
}

/* Sizes the next slots after the files seen so far (see JOB_FILES).
 * Without threads (-j 1) there is no handoff to save: one file per slot,
 * so results are stored as soon as a file is done. */
static void tune_batch(scan_ctx *ctx, const ia_file_result *r)
{
    if (ctx->threads == 0)
        return;
    double px = r->width > 0 && r->height > 0
                    ? (double)r->width * (double)r->height : 0.0;
    ctx->avg_pixels += (px - ctx->avg_pixels) / 16.0;
    double n = JOB_PIXELS / (ctx->avg_pixels > 1.0 ? ctx->avg_pixels : 1.0);
    ctx->batch = n >= JOB_FILES ? JOB_FILES : n < 1.0 ? 1 : (int)n;
}

/* The follower stopped (its prefix stored); it is kept until the end of
 * the scan, when the written DB may be in no transaction to detach the
 * reused one from. */
static void stop_following(scan_ctx *ctx)
{
    ctx->followed = ctx->follow;
    ctx->follow = NULL;
}

static void report_progress(scan_ctx *ctx)
{
    if (ctx->opt->progress) {
        uint64_t total = ia_counter_total(ctx->counter);
        ctx->progress.files_total = total > ctx->resumed
                                        ? total - ctx->resumed : 0;
        ctx->progress.seconds = ia_now() - ctx->t0;
        ctx->opt->progress(ctx->opt->user, &ctx->progress);
    }
}

static int store_item(scan_ctx *ctx, item *j)
{
    int rc = j->rc, same = 0;
    tune_batch(ctx, &j->res);
    if (ctx->follow) {
        int rc2 = follow_item(ctx, j, &same);
        if (rc2 != IA_OK || same) {
            report_progress(ctx);
            return rc2;
        }
        /* the runs followed are stored: this item goes next */
        if (!ia_follow_active(ctx->follow))
            stop_following(ctx);
    }
    if (rc != IA_OK)
        return ia_store_fail(ctx->db, rc, "%s: %s", j->entry->relpath,
                             ia_strerror(rc));
    if (is_file_row(j->entry)) {
        int64_t file_id;
        if (j->res.reuse_id > 0)
            rc = ia_store_reused_file(ctx->db, ctx->reuse, ctx->scan_id,
                                      j->entry, &j->res, &file_id);
        else
            rc = ia_store_file(ctx->db, ctx->scan_id, j->entry, &j->res,
                               &file_id);
        for (int i = 0; i < j->res.nfindings; i++) {
            if (j->res.findings[i].severity == IA_SEV_ERROR)
                ctx->progress.errors++;
            else if (j->res.findings[i].severity == IA_SEV_WARNING)
                ctx->progress.warnings++;
        }
        ctx->progress.files_done++;
    } else {
        rc = store_note(ctx, j->entry);
    }
    report_progress(ctx);
    return rc;
}

static int collect_one(scan_ctx *ctx, ia_pool *pool)
{
    job *j = ia_pool_collect(pool);
    int rc = IA_OK;
    if (!j)
        return IA_OK;
    for (int i = 0; i < j->n; i++) {
        /* after the first entry a cancelled worker skipped, nothing more
         * is stored, so what is stored stays a prefix of the walk */
        ctx->cut |= j->it[i].skipped;
        int rc2 = ctx->cut ? IA_OK : store_item(ctx, &j->it[i]);
        /* after a failed write nothing more is stored either: the scan
         * keeps a prefix of the walk and the error is reported */
        ctx->cut |= rc2 != IA_OK;
        if (rc == IA_OK)
            rc = rc2;
        if (j->it[i].entry->member)
            ctx->held -= j->it[i].entry->member->len;
        ia_entry_free(j->it[i].entry);
        j->it[i].entry = NULL;
    }
    ia_pool_release(pool);
    return rc;
}

/* Entries of other shards are skipped: files and notes alike belong to
 * the shard of their path, or inside an archive to its archive's, so
 * merged shards hold each entry once. */
static int in_shard(const ia_scan_options *opt, const ia_entry *e)
{
    const char *unit = e->archive ? e->archive : e->relpath;
    return opt->shard_n <= 1 ||
           ia_shard_of(unit, opt->shard_n) == opt->shard_k;
}

/* What the count ahead counts: the files this scan will store. Called
 * from the counting thread: reads only the options, which never change. */
static int counted(void *user, const ia_entry *e)
{
    const scan_ctx *ctx = user;
    return is_file_row(e) && in_shard(ctx->opt, e);
}

/* The walk opens no archive of another shard (walk.h). */
static int other_shard(void *user, const char *relpath)
{
    const scan_ctx *ctx = user;
    return ctx->opt->shard_n > 1 &&
           ia_shard_of(relpath, ctx->opt->shard_n) != ctx->opt->shard_k;
}

/* A sample's images, for the WebDataset conventions (walk.h). */
static int image_name(const char *name)
{
    return ia_ext_format(name) != IA_FMT_UNKNOWN;
}

/* Puts e in the slot being filled; its bytes, if it carries any, count
 * until it is stored. */
static void put(scan_ctx *ctx, job *j, ia_entry *e)
{
    assert(j->n < job_files(ctx->threads));
    j->it[j->n++].entry = e;
    if (e->member)
        ctx->held += e->member->len;
}

/* Before the walk hands on bytes past the cap, the oldest slots are
 * stored (*j, the slot being filled, submitted first). */
static int make_room(scan_ctx *ctx, ia_pool *pool, job **j,
                     const ia_entry *e)
{
    uint64_t bytes = e->member ? e->member->len : 0;
    int rc = IA_OK;
    while (rc == IA_OK && bytes && ctx->held + bytes > ctx->held_cap) {
        if (*j) {
            ia_pool_submit(pool);
            *j = NULL;
        } else if (ia_pool_pending(pool) > 0) {
            rc = collect_one(ctx, pool);
        } else {
            break;
        }
    }
    return rc;
}

/* --resume: a file row the interrupted run already stored is kept (when
 * its size and mtime are unchanged) and not scanned again. */
static int already_stored(scan_ctx *ctx, const ia_entry *e, int *skip)
{
    struct stat st;
    int64_t size = -1, mtime = -1;
    *skip = 0;
    if (!ctx->resume || (e->kind != IA_ENT_FILE &&
                         e->kind != IA_ENT_SPECIAL &&
                         e->kind != IA_ENT_MISSING))
        return IA_OK;
    if (e->member) {
        /* an archive member: as its header says */
        size = e->size;
        mtime = e->mtime_ns;
    } else if (e->kind == IA_ENT_FILE &&
        ia_stat_beneath(ctx->cfg.rootfd, e->relpath,
                        ctx->opt->follow_symlinks, &st) == 0 &&
        S_ISREG(st.st_mode)) {
        size = (int64_t)st.st_size;
        mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 +
                (int64_t)st.st_mtim.tv_nsec;
    }
    int rc = ia_resume_skip(ctx->db, ctx->resume, e->relpath, size, mtime,
                            skip);
    if (rc == IA_OK && *skip)
        ctx->progress.files_done++;
    return rc;
}

/* An unchanged rescan with --trust-mtime: while the walk repeats the
 * reused scan, this thread decides from the walk's own lstat, before
 * anything is handed to a worker: an unchanged file costs no handoff and
 * no second stat. *done: e was followed (and freed). Otherwise, with
 * ctx->follow still set, e needs a worker's look (a file whose size or
 * mtime changed, say: run_walk has it scanned at once); with ctx->follow
 * cleared, the follower stored its prefix and e goes the usual way. */
static int follow_unread(scan_ctx *ctx, ia_entry *e, int *done)
{
    note_kind n;
    int same = 0, rc;
    *done = 0;
    if (is_file_row(e)) {
        rc = ia_follow_stat(ctx->follow, e, &same);
        if (rc != IA_OK || !same)
            return rc;
    } else if (note_of(e, &n)) {
        rc = ia_follow_note(ctx->follow, e, n.code, n.severity, &same);
    } else {
        rc = IA_OK, same = 1;       /* stored by neither */
    }
    if (rc != IA_OK)
        return rc;
    if (!same) {
        if (!ia_follow_active(ctx->follow))
            stop_following(ctx);
        return IA_OK;
    }
    if (is_file_row(e))
        ctx->progress.files_done++;
    report_progress(ctx);
    ia_entry_free(e);
    *done = 1;
    return IA_OK;
}

/* Scans e and stores (or follows) it before the walk goes on: while
 * following, events are compared in walk order, and nothing else is in
 * flight. */
static int scan_now(scan_ctx *ctx, ia_pool *pool, ia_entry *e)
{
    int rc = IA_OK;
    job *j;
    while (!(j = ia_pool_acquire(pool)) && rc == IA_OK)
        rc = collect_one(ctx, pool);
    if (!j) {
        ia_entry_free(e);
        return rc;
    }
    put(ctx, j, e);
    ia_pool_submit(pool);
    while (rc == IA_OK && ia_pool_pending(pool) > 0)
        rc = collect_one(ctx, pool);
    return rc;
}

/* Walk and store until the walk ends, a tool error, or cancellation. */
static int run_walk(scan_ctx *ctx, ia_walker *walker, ia_pool *pool)
{
    int rc = IA_OK;
    job *j = NULL;      /* the slot being filled */
    while (rc == IA_OK) {
        if (cancelled(ctx->opt)) {
            rc = IA_ERR_INTERRUPTED;
            break;
        }
        ia_entry *e = NULL;
        int more = ia_walk_next(walker, &e);
        if (more < 0) {
            rc = ia_store_fail(ctx->db, -more, "walk: %s",
                               ia_strerror(-more));
            break;
        }
        if (more == 0)
            break;
        int claimed = 0;
        if (ctx->annot && e->kind == IA_ENT_FILE)
            rc = ia_annot_claim(ctx->annot, e->relpath, &claimed);
        if (!in_shard(ctx->opt, e) || claimed || rc != IA_OK) {
            ia_entry_free(e);
            continue;
        }
        ctx->progress.files_seen++;
        int skip = 0;
        rc = already_stored(ctx, e, &skip);
        if (rc != IA_OK || skip) {
            ctx->resumed += skip != 0;
            ia_entry_free(e);
            continue;
        }
        /* following starts with the walk and ends at its first change,
         * so nothing is in flight while it lasts */
        if (ctx->follow && ctx->opt->trust_mtime) {
            rc = follow_unread(ctx, e, &skip);
            /* what is not followed here goes to a worker: it needs the
             * index from now on */
            if (rc == IA_OK && !skip)
                rc = ia_reuse_load(ctx->db, ctx->reuse);
            if (rc != IA_OK || skip) {
                if (rc != IA_OK)
                    ia_entry_free(e);
                continue;
            }
            if (ctx->follow) {
                rc = scan_now(ctx, pool, e);
                continue;
            }
        }
        rc = make_room(ctx, pool, &j, e);
        while (rc == IA_OK && !j && !(j = ia_pool_acquire(pool)))
            rc = collect_one(ctx, pool);
        if (rc != IA_OK) {
            ia_entry_free(e);
            break;
        }
        put(ctx, j, e);
        if (j->n >= ctx->batch) {
            ia_pool_submit(pool);
            j = NULL;
        }
    }
    if (j)
        ia_pool_submit(pool);
    /* Finish and store what is in flight even when stopping early: work
     * done is never thrown away. */
    while (ia_pool_pending(pool) > 0) {
        int rc2 = collect_one(ctx, pool);
        if (rc == IA_OK)
            rc = rc2;
    }
    return rc;
}

/* The profiles shown and the policy's severities, as the reports read
 * them back (report/lens.c): "loaders": ["pillow"], "policy": {code:
 * severity name or "off"}. */
static int add_lens(json_t *o, const scan_ctx *ctx)
{
    json_t *names = json_array(), *pol = NULL;
    int bad = names == NULL;
    for (int i = 0; i < IA_LOADER_COUNT; i++)
        if (ctx->loaders & (1u << i))
            bad |= json_array_append_new(names,
                                         json_string(ia_loader_name(i)));
    bad |= json_object_set_new(o, "loaders", names);
    if (ctx->policy.ncodes && !(pol = json_object()))
        return -1;
    for (size_t i = 0; pol && i < ctx->policy.ncodes; i++) {
        int sev = ctx->policy.codes[i].severity;
        bad |= json_object_set_new(pol, ctx->policy.codes[i].code,
                                   json_string(sev < 0 ? "off"
                                               : ia_severity_name(sev)));
    }
    if (pol)
        bad |= json_object_set_new(o, "policy", pol);
    return bad ? -1 : 0;
}

/* Sets key to the n strings of v; 0, or -1 (o then freed) when out of
 * memory. Nothing when n is 0. */
static int set_strings(json_t **o, const char *key, const char *const *v,
                       size_t n)
{
    json_t *a = *o && n ? json_array() : NULL;
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    if (*o && n && (!a || json_object_set_new(*o, key, a))) {
        json_decref(*o);
        *o = NULL;
    }
    return *o ? 0 : -1;
}

/* The annotations (--coco, --yolo): what --resume must be given again. */
static void set_annotations(json_t **o, const ia_scan_options *opt)
{
    if (set_strings(o, "coco", opt->coco, opt->ncoco) != 0 || !opt->yolo)
        return;
    if (json_object_set_new(*o, "yolo", opt->yolo_yaml
                                            ? json_string(opt->yolo_yaml)
                                            : json_true())) {
        json_decref(*o);
        *o = NULL;
    }
}

/* The archive, exclude and annotation options appear only when given, so
 * a scan without them has the options of a scan made before they
 * existed. */
static char *options_json(const scan_ctx *ctx)
{
    const ia_scan_options *opt = ctx->opt;
    const ia_file_config *cfg = &ctx->cfg;
    json_t *o = json_pack("{s:I,s:I,s:b,s:s?,s:b,s:s*}",
                          "max_pixels", (json_int_t)cfg->limits.max_pixels,
                          "max_file_bytes", (json_int_t)cfg->max_file_bytes,
                          "follow_symlinks", cfg->follow_symlinks,
                          "manifest", opt->manifest,
                          "allow_outside", opt->allow_outside ? 1 : 0,
                          "label_field", opt->label_field);
    if (o && opt->max_members &&
        json_object_set_new(o, "max_members",
                            json_integer((json_int_t)opt->max_members))) {
        json_decref(o);
        o = NULL;
    }
    set_strings(&o, "exclude", opt->exclude, opt->nexclude);
    if (o)
        set_annotations(&o, opt);
    char *s = o && add_lens(o, ctx) == 0
                  ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return s;
}

/* --name, or the base name of the root folder (or archive). */
static void scan_name(const ia_scan_options *opt, const char *root,
                      char *out, size_t cap)
{
    char buf[PATH_MAX];
    if (opt->name && *opt->name) {
        ia_strlcpy(out, opt->name, cap);
        return;
    }
    ia_strlcpy(buf, root, sizeof buf);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    ia_strlcpy(out, basename(buf), cap);
}

static int begin_scan(scan_ctx *ctx, ia_walker *walker, const char *root_abs)
{
    char name[256], started[32];
    const ia_scan_options *opt = ctx->opt;
    scan_name(opt, ctx->name_from, name, sizeof name);
    ia_utc_now(started);
    char *options = options_json(ctx);
    if (!options)
        return ia_store_fail(ctx->db, IA_ERR_NOMEM, "out of memory");
    ia_scan_meta meta = {
        .name = name, .root = root_abs, .layout = ia_walk_layout(walker),
        .options_json = options, .tool_version = IMGAUDIT_VERSION,
        .started_at = started,
        .shard_k = opt->shard_k, .shard_n = opt->shard_n,
    };
    int rc = opt->resume
                 ? ia_resume_open(ctx->db, name, root_abs, options,
                                  opt->shard_k, opt->shard_n, &ctx->scan_id,
                                  &ctx->resume)
                 : ia_store_scan_begin(ctx->db, &meta, &ctx->scan_id);
    if (rc == IA_OK && !opt->resume && ctx->reuse)
        rc = ia_follow_begin(ctx->db, ctx->reuse, &meta, ctx->scan_id,
                             &ctx->follow);
    /* A first scan into a DB builds its file indexes at the end, one
     * sorted pass each (docs/performance.md, "Per-file fixed costs"). */
    if (rc == IA_OK && !opt->resume && !ctx->reuse)
        rc = ia_store_defer_file_indexes(ctx->db);
    free(options);
    return rc;
}

/* Worker threads: -j N, else one per online CPU. */
static unsigned scan_jobs(const ia_scan_options *opt)
{
    return opt->jobs ? opt->jobs : ia_cpu_count();
}

static int run_scan(scan_ctx *ctx, ia_walker *walker, const char *root_abs)
{
    ia_pool *pool = NULL;
    unsigned jobs = scan_jobs(ctx->opt);
    static const ia_pool_ops ops = {worker_new, worker_free, worker_run};
    int rc = begin_scan(ctx, walker, root_abs);
    /* An unchanged rescan trusting mtimes may never need the index of
     * the reused files: run_walk loads it when it first does. */
    if (rc == IA_OK && ctx->reuse && !(ctx->follow && ctx->opt->trust_mtime))
        rc = ia_reuse_load(ctx->db, ctx->reuse);
    if (rc != IA_OK)
        return rc;
    /* -j 1 runs inline: no thread, no locks. Slots: enough to keep every
     * worker busy while the writer commits. */
    ctx->threads = jobs > 1 ? jobs : 0;
    ctx->held_cap = HELD_PER_WORKER * jobs > HELD_MIN ? HELD_PER_WORKER * jobs
                                                      : HELD_MIN;
    rc = ia_budget_new(ctx->opt->max_memory, ctx->cfg.limits.max_pixels,
                       &ctx->budget);
    if (rc == IA_OK)
        rc = ia_hash_tables_new(&ctx->tables);
    if (rc == IA_OK) {
        ctx->cfg.limits.gate = ia_budget_gate(ctx->budget);
        rc = ia_pool_create(ctx->threads, job_bytes(ctx->threads),
                            (size_t)jobs * 8, &ops, ctx, &pool);
    }
    if (rc != IA_OK) {
        ia_hash_tables_free(ctx->tables);
        ia_budget_free(ctx->budget);
        return ia_store_fail(ctx->db, rc, "cannot start workers: %s",
                             ia_strerror(rc));
    }
    rc = run_walk(ctx, walker, pool);
    ia_pool_free(pool);   /* the workers and their hashers first */
    ia_hash_tables_free(ctx->tables);
    ia_budget_free(ctx->budget);
    char finished[32];
    ia_utc_now(finished);
    if (ctx->follow) {
        /* the walk repeated the reused scan: its rows and analysis hold */
        int rc2 = ia_follow_end(ctx->follow, rc == IA_OK && !ctx->cut,
                                finished, &ctx->taken);
        stop_following(ctx);
        if (rc == IA_OK)
            rc = rc2;
    }
    if (rc == IA_OK && ctx->taken)
        return IA_OK;
    if (rc == IA_OK && ctx->resume)
        rc = ia_resume_prune(ctx->db, ctx->resume);
    if (rc == IA_OK)
        rc = ia_store_restore_file_indexes(ctx->db);
    /* committed, the rows can be read by the analysis's helper thread */
    if (rc == IA_OK && jobs > 1)
        rc = ia_store_batch_close(ctx->db);
    if (rc == IA_OK)
        rc = ia_analyze_scan(ctx->db, ctx->scan_id, jobs);
    if (rc == IA_OK && ctx->annot)
        rc = ia_annot_run(ctx->db, ctx->scan_id, ctx->cfg.rootfd,
                          ctx->annot);
    ia_utc_now(finished);
    int rc2 = ia_store_scan_finish(ctx->db, ctx->scan_id, rc == IA_OK,
                                   finished);
    return rc != IA_OK ? rc : rc2;
}

/* The root as stored and walked: a folder, its absolute path; one
 * archive, its folder (archive gets its name there); a stream, "-".
 * IA_OK, or IA_ERR_ARG with err set: nothing here needs a DB, so the
 * CLI checks a command line before it creates one (ia_scan_check). */
static int root_of(const ia_scan_options *opt, char root_abs[PATH_MAX],
                   char *archive, size_t cap, char *err, size_t errcap)
{
    struct stat st;
    int stream = strcmp(opt->root, "-") == 0;
    const char *name = opt->name && *opt->name ? opt->name : "stdin";
    archive[0] = '\0';
    if (stream && (name[0] == '/' || ia_path_climbs(name)))
        return ia_bprintf(err, errcap, "the name of a stream is the path "
                          "of its archive in the scan: '%s' must be "
                          "relative, without '..'", name), IA_ERR_ARG;
    if (stream) {
        ia_strlcpy(root_abs, "-", PATH_MAX);
        ia_strlcpy(archive, name, cap);
    } else if (!realpath(opt->root, root_abs) || stat(root_abs, &st) != 0) {
        return ia_bprintf(err, errcap, "%s: no such folder or archive",
                          opt->root), IA_ERR_ARG;
    } else if (S_ISDIR(st.st_mode)) {
        return IA_OK;
    } else if (!S_ISREG(st.st_mode) || !ia_walk_is_archive(root_abs)) {
        return ia_bprintf(err, errcap, "%s: not a folder or an archive "
                          "(.tar, .tar.gz, .tgz, .tar.zst, .zip)",
                          opt->root), IA_ERR_ARG;
    } else {
        char *slash = strrchr(root_abs, '/');
        ia_strlcpy(archive, slash + 1, cap);
        slash[slash == root_abs] = '\0';
    }
    if (opt->manifest)
        return ia_bprintf(err, errcap, "a manifest lists files of a folder, "
                          "not of '%s'", opt->root), IA_ERR_ARG;
    return IA_OK;
}

int ia_scan_check(const ia_scan_options *opt, char *err, size_t errcap)
{
    char root_abs[PATH_MAX], archive[PATH_MAX];
    unsigned loaders;
    ia_policy p;
    if (!opt || !opt->root)
        return ia_bprintf(err, errcap, "no root folder given"), IA_ERR_ARG;
    int rc = root_of(opt, root_abs, archive, sizeof archive, err, errcap);
    if (rc == IA_OK)
        rc = ia_loader_parse_list(opt->loaders ? opt->loaders
                                               : IA_LOADER_DEFAULT,
                                  &loaders, err, errcap);
    ia_policy_defaults(&p);
    if (rc == IA_OK && opt->policy)
        rc = ia_policy_load(&p, opt->policy, err, errcap);
    ia_policy_free(&p);
    return rc;
}

static int resolve_root(ia_db *db, const ia_scan_options *opt,
                        char root_abs[PATH_MAX], char *archive, size_t cap)
{
    char err[PATH_MAX + 128];
    int rc = root_of(opt, root_abs, archive, cap, err, sizeof err);
    return rc == IA_OK ? IA_OK : ia_store_fail(db, rc, "%s", err);
}

/* --loader and --policy, checked before anything is written. */
static int parse_lens(ia_db *db, scan_ctx *ctx)
{
    char err[512];
    const ia_scan_options *opt = ctx->opt;
    int rc = ia_loader_parse_list(opt->loaders ? opt->loaders
                                               : IA_LOADER_DEFAULT,
                                  &ctx->loaders, err, sizeof err);
    if (rc == IA_OK && opt->policy)
        rc = ia_policy_load(&ctx->policy, opt->policy, err, sizeof err);
    return rc == IA_OK ? IA_OK : ia_store_fail(db, rc, "%s", err);
}

/* The summary counts findings as the scan's reports will show them. */
static int summarize(ia_db *db, scan_ctx *ctx, ia_scan_summary *out)
{
    ia_scan_summary sum;
    int rc = ia_loader_set_lens(db, ctx->loaders, &ctx->policy);
    if (rc == IA_OK)
        rc = ia_store_scan_totals(db, ctx->scan_id, &sum);
    if (rc != IA_OK)
        return rc;
    sum.scan_id = ctx->scan_id;
    sum.seconds = ia_now() - ctx->t0;
    sum.unchanged = ctx->taken;
    int64_t rows = ia_store_rows_scan(db, ctx->scan_id);
    sum.same_as = rows != ctx->scan_id ? rows : 0;
    if (out)
        *out = sum;
    return IA_OK;
}

static int scan_with(scan_ctx *pctx, ia_scan_summary *out)
{
    ia_db *db = pctx->db;
    const ia_scan_options *opt = pctx->opt;
    char err[512] = "";
    char root_abs[PATH_MAX], archive[PATH_MAX];
    ia_walker *walker = NULL;
    if (!db || !opt || !opt->root)
        return db ? ia_store_fail(db, IA_ERR_ARG, "no root folder given")
                  : IA_ERR_ARG;
    if (opt->shard_n > IA_SHARD_MAX || (opt->shard_n > 0 &&
                                        opt->shard_k >= opt->shard_n))
        return ia_store_fail(db, IA_ERR_ARG, "invalid shard %u/%u",
                             opt->shard_k, opt->shard_n);
    int rc = resolve_root(db, opt, root_abs, archive, sizeof archive);
    if (rc != IA_OK)
        return rc;
    int stream = strcmp(root_abs, "-") == 0;
    scan_ctx ctx = *pctx;
    ctx.name_from = archive[0] ? archive : root_abs;
    ia_limits_defaults(&ctx.cfg.limits, opt->max_pixels);
    ctx.cfg.max_file_bytes =
        opt->max_file_bytes ? opt->max_file_bytes : IA_DEFAULT_MAX_FILE_BYTES;
    ctx.cfg.follow_symlinks = opt->follow_symlinks;
    ia_walk_options wo = {
        .root = stream ? NULL : root_abs, .manifest = opt->manifest,
        .follow_symlinks = opt->follow_symlinks,
        .allow_outside = opt->allow_outside,
        .archive = archive[0] && !stream ? archive : NULL,
        .stream = stream, .stream_fd = opt->stream_fd,
        .stream_name = stream ? archive : NULL,
        .label_field = opt->label_field, .max_members = opt->max_members,
        .max_member_bytes = ctx.cfg.max_file_bytes,
        .is_image = image_name, .keep = ia_file_keep,
        .skip_archive = other_shard, .user = &ctx,
        .exclude = opt->exclude, .nexclude = opt->nexclude,
        /* a CPU to spare: more than one worker (run_scan) */
        .stat_ahead = scan_jobs(opt) > 1,
    };
    if (opt->trust_mtime && !opt->reuse_db)
        return ia_store_fail(db, IA_ERR_ARG, "trusting mtimes needs a DB to "
                             "reuse");
    if ((opt->ncoco || opt->yolo) &&
        (opt->reuse_db || opt->shard_n > 1 || stream || archive[0]))
        return ia_store_fail(db, IA_ERR_ARG, "annotations (--coco, --yolo) "
                             "need a folder, and cannot be combined with "
                             "--reuse or --shard");
    if (opt->ncoco || opt->yolo) {
        rc = ia_annot_plan_new(root_abs, opt->coco, opt->ncoco, opt->yolo,
                               opt->yolo_yaml, &ctx.annot, err, sizeof err);
        if (rc != IA_OK)
            return ia_store_fail(db, rc, "%s", rc == IA_ERR_NOMEM
                                 ? "out of memory" : err);
    }
    if (opt->reuse_db) {
        char name[256];
        scan_name(opt, ctx.name_from, name, sizeof name);
        ia_reuse_params rp = {.name = name,
                              .max_pixels = ctx.cfg.limits.max_pixels,
                              .max_file_bytes = ctx.cfg.max_file_bytes,
                              .follow_symlinks = opt->follow_symlinks};
        rc = ia_reuse_open(db, opt->reuse_db, &rp, &ctx.reuse);
        if (rc != IA_OK)
            return rc;          /* no plan: annotations refuse reuse */
        ctx.cfg.reuse = ctx.reuse;
        ctx.cfg.trust_mtime = opt->trust_mtime;
    }
    rc = ia_walk_open(&wo, &walker, err, sizeof err);
    if (rc != IA_OK) {
        ia_reuse_free(ctx.reuse);
        ia_annot_plan_free(ctx.annot);
        return ia_store_fail(db, rc, "%s", err);
    }
    ctx.cfg.rootfd = ia_walk_rootfd(walker);
    /* Only a progress line wants the total; a failed start costs it. */
    if (opt->progress && !stream && !wo.archive)
        (void)ia_counter_start(&wo, counted, &ctx, &ctx.counter);
    rc = run_scan(&ctx, walker, root_abs);
    ia_counter_stop(ctx.counter);
    ia_walk_close(walker);
    ia_follow_free(ctx.follow);     /* its cursors are on the reused DB */
    ia_follow_free(ctx.followed);
    ia_reuse_free(ctx.reuse);
    ia_resume_free(ctx.resume);
    ia_annot_plan_free(ctx.annot);
    if (rc == IA_OK || rc == IA_ERR_INTERRUPTED) {
        int rc2 = summarize(db, &ctx, out);
        if (rc2 != IA_OK)
            return rc2;
    }
    return rc;
}

int ia_scan(ia_db *db, const ia_scan_options *opt, ia_scan_summary *out)
{
    scan_ctx ctx = {.db = db, .opt = opt, .t0 = ia_now(), .batch = 1};
    ia_policy_defaults(&ctx.policy);
    if (!db || !opt || !opt->root)
        return db ? ia_store_fail(db, IA_ERR_ARG, "no root folder given")
                  : IA_ERR_ARG;
    int rc = parse_lens(db, &ctx);
    if (rc == IA_OK)
        rc = scan_with(&ctx, out);
    ia_policy_free(&ctx.policy);
    return rc;
}
