/*
 * Following the reused scan during a rescan (store/store.h).
 *
 * Why it is shaped this way:
 *   - Two cursors, not an index in memory: the walk and the reused rows
 *     are in the same order, so one forward step per event compares them,
 *     and memory stays flat whatever the number of files.
 *   - A file row repeats the reused one when every column the new scan
 *     would bind itself is equal (path, split, label, size, mtime,
 *     SHA-256), and the rest is copied anyway: a takeover copies the
 *     reused decode results (store/store.h). The file's 'walk' findings
 *     are written right after it, so they stand together at the findings
 *     cursor; notes stand between files, compared field by field.
 *   - Only the order within each table is observable (ids), so a run of
 *     rows followed is stored as two set copies (store/copy.h): its files,
 *     then its findings, each file finding pointed at the copied row of
 *     the same path. A change (a file changed, added or removed; walk
 *     order is path order, so the cursor tells which) stores the run so
 *     far, and following resumes after it.
 *   - The end of a complete repeat depends on where the reused rows are:
 *     in the same DB they are shared (scan.same_as), in another they are
 *     copied whole when both DBs hold just that scan, else the runs are
 *     copied and the analysis runs as after any change.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/col.h"
#include "store/range.h"
#include "store/copy.h"
#include "store/store.h"
#include "core/core.h"

struct ia_follow {
    ia_db *db;                  /* the DB written */
    int64_t scan_id;            /* the new scan */
    int64_t rows_id;            /* the rows the reused scan reads */
    sqlite3 *src;               /* the reused snapshot */
    int same_file;              /* the reused DB is the one written */
    int attached;               /* else it is attached as "reused" */
    ia_copy_job *copy;          /* a whole copy made meanwhile, or NULL */
    sqlite3_stmt *files, *finds;
    sqlite3_stmt *count_finds;  /* a file's 'walk' findings */
    sqlite3_stmt *copy_files, *copy_finds;  /* on the written DB: runs */
    sqlite3_stmt *same_rows;    /* on the written DB: a trial row equal? */
    sqlite3_stmt *drop_row;     /* ... and removed again */
    sqlite3_stmt *get_archive;  /* a row's archive by id (row_archive) */
    int64_t archive_of;         /* the row get_archive stands on, or 0 */
    int archive_col;            /* the file cursor reads the archive */
    int lookup_failed;          /* a get_archive lookup failed */
    int have_file, have_find;   /* the cursor stands on a row */
    /* the runs followed since the last store: reused ids lo..hi (lo 0:
     * none), consecutive at their cursor */
    int64_t file_lo, file_hi, find_lo, find_hi;
    uint64_t count;             /* files followed */
    uint64_t diffs;             /* files changed, added or removed */
    int ordered;                /* walk order is path order (no manifest) */
    int active;
};

/* file cursor columns */
enum { F_ID, F_PATH, F_SPLIT, F_CANON, F_LABEL, F_OUTSIDE, F_SIZE, F_MTIME,
       F_SHA, F_ARCHIVE };
/* finding cursor columns */
enum { G_ID, G_FILE, G_PATH, G_CODE, G_SEV, G_DETAIL };

static int settle(ia_follow *f);

static int src_fail(ia_follow *f, const char *what)
{
    return ia_store_fail(f->db, IA_ERR_DB, "%s: %s", what,
                         sqlite3_errmsg(f->src));
}

static int step(ia_follow *f, sqlite3_stmt *st, int *have)
{
    int rc = sqlite3_step(st);
    *have = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? IA_OK : src_fail(f, "reading the reused scan");
}

static int can_share(const ia_reuse_scan *i, const ia_scan_meta *m)
{
    int shard_same = m->shard_n == 0
                         ? i->shard_n < 0
                         : i->shard_n == (int64_t)m->shard_n &&
                               i->shard_k == (int64_t)m->shard_k;
    return i->scan_id > 0 && i->complete && shard_same &&
           strcmp(i->options, m->options_json) == 0 &&
           strcmp(i->layout, m->layout) == 0;
}

int ia_follow_begin(ia_db *db, const ia_reuse *r, const ia_scan_meta *m,
                    int64_t scan_id, ia_follow **out)
{
    /* Walked in rowid order between the scan's first and last ids, not
     * through a (scan_id, ...) index and a sort of all its rows. The
     * archive column only where a member may have no archive-named
     * folder on its path (row_archive). */
#define FILES_SQL(archive)                                                   \
    "SELECT id, path, split, split_canonical, label, outside_class,"         \
    " size, mtime_ns, sha256, " archive " FROM file"                         \
    " WHERE id BETWEEN" IA_SCAN_ID_RANGE("file")                             \
    " AND +scan_id = ?1 ORDER BY id"
    static const char files_sql[] = FILES_SQL("archive");
    static const char narrow_sql[] = FILES_SQL("NULL");
    static const char finds_sql[] =
        "SELECT id, file_id, path, code, severity, detail FROM finding"
        " WHERE id BETWEEN" IA_SCAN_ID_RANGE("finding")
        " AND +scan_id = ?1 AND stage = 'walk' ORDER BY id";
    static const char count_sql[] =
        "SELECT count(*) FROM finding WHERE file_id = ?1 AND stage = 'walk'";
    const ia_reuse_scan *i = r ? ia_reuse_scan_info(r) : NULL;
    *out = NULL;
    if (!i || !can_share(i, m))
        return IA_OK;
    ia_follow *f = calloc(1, sizeof *f);
    if (!f)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    f->db = db;
    f->scan_id = scan_id;
    f->rows_id = i->rows_id;
    f->src = ia_store_sqlite(i->src);
    f->same_file = i->same_file;
    f->ordered = strcmp(m->layout, "manifest") != 0;
    /* one archive at the root, or a stream: members under any name */
    f->archive_col = strcmp(m->layout, "archive") == 0;
    f->active = 1;
    int ret = IA_OK;
    /* Another DB: its rows are copied from it attached (outside a
     * transaction only; else there is nothing to follow for). */
    if (!f->same_file) {
        const char *path = sqlite3_db_filename(f->src, "main");
        if (!path || !*path ||
            !sqlite3_get_autocommit(ia_store_sqlite(db)) ||
            ia_copy_attach(db, path) != IA_OK) {
            ia_follow_free(f);
            return IA_OK;
        }
        f->attached = 1;
    }
    if (sqlite3_prepare_v2(f->src, f->archive_col ? files_sql : narrow_sql,
                           -1, &f->files, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(f->src, finds_sql, -1, &f->finds, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(f->src, count_sql, -1, &f->count_finds, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_int64(f->files, 1, f->rows_id) != SQLITE_OK ||
        sqlite3_bind_int64(f->finds, 1, f->rows_id) != SQLITE_OK)
        ret = src_fail(f, "reading the reused scan");
    if (ret == IA_OK)
        ret = step(f, f->files, &f->have_file);
    if (ret == IA_OK)
        ret = step(f, f->finds, &f->have_find);
    /* the whole copy, if it applies, is made while the walk goes on */
    if (ret == IA_OK && f->attached)
        ret = ia_copy_job_start(db, scan_id, &f->copy);
    if (ret != IA_OK) {
        ia_follow_free(f);
        return ret;
    }
    *out = f;
    return IA_OK;
}

void ia_follow_free(ia_follow *f)
{
    if (!f)
        return;
    sqlite3_finalize(f->files);
    sqlite3_finalize(f->finds);
    sqlite3_finalize(f->count_finds);
    sqlite3_finalize(f->copy_files);
    sqlite3_finalize(f->copy_finds);
    sqlite3_finalize(f->same_rows);
    sqlite3_finalize(f->drop_row);
    sqlite3_finalize(f->get_archive);
    settle(f);
    if (f->attached)
        ia_copy_detach(f->db);
    free(f);
}

uint64_t ia_follow_count(const ia_follow *f)
{
    return f ? f->count : 0;
}

/* ---- storing the runs -------------------------------------------------- */

/* Where the reused rows are, for the copies made on the written DB. */
static const char *schema(const ia_follow *f)
{
    return f->same_file ? "main" : "reused";
}

/* The written connection is the copy job's until it is given up (or
 * kept, at a complete repeat). */
static int settle(ia_follow *f)
{
    int done;
    ia_copy_job *j = f->copy;
    f->copy = NULL;
    return j ? ia_copy_job_finish(j, 0, NULL, &done) : IA_OK;
}

static int copy_run(ia_follow *f, sqlite3_stmt *st, int64_t lo, int64_t hi)
{
    int ret = IA_OK;
    if (lo <= 0)
        return IA_OK;
    if (sqlite3_bind_int64(st, 1, f->scan_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, f->rows_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, lo) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, hi) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(f->db, "copying the reused rows");
    sqlite3_reset(st);
    return ret;
}

/* The files and 'walk' findings followed since the last store, as the
 * scan would have stored them one by one. */
static int store_runs(ia_follow *f)
{
    int ret = settle(f);
    if (ret != IA_OK || (f->file_lo == 0 && f->find_lo == 0))
        return ret;
    if (!f->copy_files)
        ret = ia_copy_prepare_runs(f->db, schema(f), &f->copy_files,
                                   &f->copy_finds);
    if (ret == IA_OK)
        ret = ia_store_batch_open(f->db);
    if (ret == IA_OK) {
        ret = copy_run(f, f->copy_files, f->file_lo, f->file_hi);
        if (ret == IA_OK)
            ret = copy_run(f, f->copy_finds, f->find_lo, f->find_hi);
        int ret2 = ia_store_batch_done(f->db, ret == IA_OK);
        if (ret == IA_OK)
            ret = ret2;
    }
    f->file_lo = f->file_hi = f->find_lo = f->find_hi = 0;
    return ret;
}

/* The walk left the reused scan for good: store what was followed, stop. */
static int diverge(ia_follow *f, int *same)
{
    *same = 0;
    f->active = 0;
    return store_runs(f);
}

/* ---- comparing --------------------------------------------------------- */

/* NULL and "" are equal: a finding's empty detail is stored as NULL. */
static int str_eq(const char *t, const char *s)
{
    if (!t || !*t || !s || !*s)
        return (!t || !*t) && (!s || !*s);
    return strcmp(t, s) == 0;
}

static int text_eq(sqlite3_stmt *st, int col, const char *s)
{
    return str_eq((const char *)sqlite3_column_text(st, col), s);
}

/* The archive of the file row the cursor stands on: NULL for a file of a
 * folder walk. The cursor of a folder walk's scan does not read the
 * column: the 57th of the row, it makes SQLite parse the whole record
 * header, about 1,100 of the 3,200 instructions a row costs (an
 * unchanged rescan of 100,000 files: about 30 ms of the walking
 * thread). A member of an archive such a walk found has its archive's
 * relpath, an archive's name, as a folder on its path: only rows with
 * such a folder are looked up (path: the row's). A failed lookup is
 * noted (lookup_failed): the row then repeats nothing. */
static const char *row_archive(ia_follow *f, const char *path)
{
    static const char sql[] = "SELECT archive FROM file WHERE id = ?1";
    sqlite3_stmt *st = f->files;
    if (f->archive_col)
        return ia_col_text(st, F_ARCHIVE);
    if (!ia_archive_folder(path))
        return NULL;
    int64_t id = sqlite3_column_int64(st, F_ID);
    if (id == f->archive_of)
        return ia_col_text(f->get_archive, 0);
    f->archive_of = 0;
    if (!f->get_archive &&
        sqlite3_prepare_v2(f->src, sql, -1, &f->get_archive, NULL) !=
            SQLITE_OK) {
        f->lookup_failed = 1;
        return NULL;
    }
    sqlite3_reset(f->get_archive);
    if (sqlite3_bind_int64(f->get_archive, 1, id) != SQLITE_OK ||
        sqlite3_step(f->get_archive) != SQLITE_ROW) {
        f->lookup_failed = 1;
        return NULL;
    }
    f->archive_of = id;
    return ia_col_text(f->get_archive, 0);
}

static int int_eq(sqlite3_stmt *st, int col, int64_t v)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return v < 0;
    return v >= 0 && sqlite3_column_int64(st, col) == v;
}

/* Whether the file row the cursor stands on (id) has its 'walk' findings,
 * if any, next at the findings cursor. A file's findings are written
 * right after it, before any later file's: when the next finding belongs
 * to a later file, this one has none. Only behind a note is it unknown,
 * and counted. */
static int findings_next(const ia_follow *f, int64_t id)
{
    sqlite3_stmt *g = f->finds, *c = f->count_finds;
    if (!f->have_find)
        return 1;
    if (sqlite3_column_type(g, G_FILE) != SQLITE_NULL)
        return sqlite3_column_int64(g, G_FILE) >= id;
    int none = sqlite3_bind_int64(c, 1, id) == SQLITE_OK &&
               sqlite3_step(c) == SQLITE_ROW &&
               sqlite3_column_int64(c, 0) == 0;
    sqlite3_reset(c);
    return none;
}

/* The columns the walk gives a file row: path, place, size and mtime. */
static int walk_repeats(ia_follow *f, const ia_entry *e, int64_t size,
                        int64_t mtime_ns)
{
    sqlite3_stmt *st = f->files;
    return f->have_file && text_eq(st, F_PATH, e->relpath) &&
           text_eq(st, F_SPLIT, e->split) &&
           text_eq(st, F_CANON, e->split_canonical) &&
           text_eq(st, F_LABEL, e->label) &&
           /* the row's path is e's */
           str_eq(row_archive(f, e->relpath), e->archive) &&
           !f->lookup_failed &&
           sqlite3_column_int(st, F_OUTSIDE) == (e->outside_class ? 1 : 0) &&
           int_eq(st, F_SIZE, size) && int_eq(st, F_MTIME, mtime_ns) &&
           findings_next(f, sqlite3_column_int64(st, F_ID));
}

static int file_repeats(ia_follow *f, const ia_entry *e,
                        const ia_file_result *res)
{
    sqlite3_stmt *st = f->files;
    if (!res || res->reuse_id <= 0 || !res->have_sha256 || !f->have_file)
        return 0;
    if (sqlite3_column_bytes(st, F_SHA) != 32 ||
        memcmp(sqlite3_column_blob(st, F_SHA), res->sha256, 32) != 0)
        return 0;
    return walk_repeats(f, e, res->size, res->mtime_ns);
}

/* Past the cursor's file row and its findings; keep: they join the runs
 * (the row was repeated), else they are dropped (removed or changed). */
static int pass_row(ia_follow *f, int keep)
{
    int64_t id = sqlite3_column_int64(f->files, F_ID);
    if (keep) {
        f->file_lo = f->file_lo ? f->file_lo : id;
        f->file_hi = id;
    }
    int ret = step(f, f->files, &f->have_file);
    while (ret == IA_OK && f->have_find &&
           sqlite3_column_type(f->finds, G_FILE) != SQLITE_NULL &&
           sqlite3_column_int64(f->finds, G_FILE) == id) {
        int64_t g = sqlite3_column_int64(f->finds, G_ID);
        if (keep) {
            f->find_lo = f->find_lo ? f->find_lo : g;
            f->find_hi = g;
        }
        ret = step(f, f->finds, &f->have_find);
    }
    return ret;
}

static int advance(ia_follow *f, int *same)
{
    f->count++;
    *same = 1;
    return pass_row(f, 1);
}

/* ---- changes ------------------------------------------------------------- */

/* Walk order: depth first, each folder's names sorted bytewise, i.e. the
 * paths compared name by name. */
static int walk_cmp(const char *a, const char *b)
{
    for (;;) {
        size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
        size_t n = na < nb ? na : nb;
        int c = memcmp(a, b, n);
        if (c != 0)
            return c;
        if (na != nb)
            return na < nb ? -1 : 1;
        if (!a[na] || !b[nb])
            return (a[na] != 0) - (b[nb] != 0);
        a += na + 1;
        b += nb + 1;
    }
}

/* A few changes in a large tree are followed around; a tree that changed
 * much is scanned the usual way (every change costs a store of the runs
 * and, with --trust-mtime, a file scanned on its own). */
static int too_different(const ia_follow *f)
{
    return !f->ordered || (f->diffs >= 64 && f->diffs * 16 > f->count);
}

/* Drops the reused row the cursor stands on (its file is gone, or
 * changed): the runs so far are stored first, for the order. Gives up
 * following when that cannot be done. */
static int drop_row(ia_follow *f, int *same)
{
    int64_t id = sqlite3_column_int64(f->files, F_ID);
    if (too_different(f) || !findings_next(f, id))
        return diverge(f, same);
    f->diffs++;
    int ret = store_runs(f);
    return ret == IA_OK ? pass_row(f, 0) : ret;
}

/* Where the cursor's row stands in the walk: its path, or inside an
 * archive its archive's (members keep the archive's own order). */
static const char *row_unit(ia_follow *f)
{
    const char *path = ia_col_str(f->files, F_PATH);
    const char *archive = row_archive(f, path);
    return archive ? archive : path;
}

/* The reused rows before e in walk order: files removed since. */
static int drop_removed(ia_follow *f, const ia_entry *e, int *same)
{
    const char *unit = e->archive ? e->archive : e->relpath;
    int ret = IA_OK;
    while (ret == IA_OK && f->active && f->have_file &&
           walk_cmp(row_unit(f), unit) < 0)
        ret = drop_row(f, same);
    return ret;
}

/* e is not the reused scan's next file: added, or changed (its old row
 * is dropped). The runs so far are stored: e is the caller's to store
 * next, and following goes on after it. */
static int differ(ia_follow *f, const ia_entry *e, int *same)
{
    *same = 0;
    if (!f->active || too_different(f))
        return diverge(f, same);
    if (f->have_file && text_eq(f->files, F_PATH, e->relpath))
        return drop_row(f, same);
    f->diffs++;
    return store_runs(f);
}

/* a row without a SHA-256 was not read (unreadable, too big to read):
 * whether it can be read now, no mtime tells */
static int stat_repeats(ia_follow *f, const ia_entry *e)
{
    return e->have_stat && f->have_file &&
           sqlite3_column_bytes(f->files, F_SHA) == 32 &&
           walk_repeats(f, e, e->size, e->mtime_ns);
}

int ia_follow_stat(ia_follow *f, const ia_entry *e, int *same)
{
    *same = 0;
    if (!f->active)
        return IA_OK;
    if (stat_repeats(f, e))
        return advance(f, same);
    int ret = drop_removed(f, e, same);
    if (ret == IA_OK && f->active && stat_repeats(f, e))
        return advance(f, same);
    return ret;
}

int ia_follow_file(ia_follow *f, const ia_entry *e, const ia_file_result *res,
                   int *same)
{
    *same = 0;
    if (f->active && file_repeats(f, e, res))
        return advance(f, same);
    int ret = f->active ? drop_removed(f, e, same) : IA_OK;
    if (ret == IA_OK && f->active && file_repeats(f, e, res))
        return advance(f, same);
    return ret == IA_OK ? differ(f, e, same) : ret;
}

/* Whether trial row id equals the reused row the cursor stands on; the
 * trial row is removed either way (its findings go with it). */
static int trial_repeats(ia_follow *f, int64_t id, int *same)
{
    int ret = f->same_rows ? IA_OK
                           : ia_copy_prepare_compare(f->db, schema(f),
                                                     &f->same_rows,
                                                     &f->drop_row);
    int64_t old = f->have_file ? sqlite3_column_int64(f->files, F_ID) : 0;
    *same = 0;
    if (ret == IA_OK && old > 0) {
        sqlite3_stmt *st = f->same_rows;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, old);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *same = sqlite3_column_int(st, 0) && findings_next(f, old);
        else
            ret = ia_store_sqlfail(f->db, "comparing with the reused scan");
        sqlite3_reset(st);
    }
    if (ret == IA_OK) {
        sqlite3_bind_int64(f->drop_row, 1, id);
        if (sqlite3_step(f->drop_row) != SQLITE_DONE)
            ret = ia_store_sqlfail(f->db, "comparing with the reused scan");
        sqlite3_reset(f->drop_row);
    }
    return ret;
}

int ia_follow_stored(ia_follow *f, const ia_entry *e,
                     const ia_file_result *res, int *same)
{
    int64_t id = 0;
    *same = 0;
    if (!f->active)
        return IA_OK;
    /* the rows removed before it go first: the trial row is compared
     * with the row of its path, if any */
    int ret = drop_removed(f, e, same);
    if (ret == IA_OK && f->active)
        ret = settle(f);
    if (ret == IA_OK && f->active)
        ret = ia_store_file(f->db, f->scan_id, e, res, &id);
    if (ret == IA_OK && f->active)
        ret = trial_repeats(f, id, same);
    if (ret != IA_OK)
        return ret;
    return *same ? advance(f, same) : differ(f, e, same);
}

int ia_follow_note(ia_follow *f, const ia_entry *e, const char *code,
                   int severity, int *same)
{
    sqlite3_stmt *st = f->finds;
    if (!f->active || !f->have_find ||
        sqlite3_column_type(st, G_FILE) != SQLITE_NULL ||
        !text_eq(st, G_PATH, e->relpath) || !text_eq(st, G_CODE, code) ||
        sqlite3_column_int(st, G_SEV) != severity ||
        !text_eq(st, G_DETAIL, e->detail))
        return diverge(f, same);
    f->find_lo = f->find_lo ? f->find_lo : sqlite3_column_int64(st, G_ID);
    f->find_hi = sqlite3_column_int64(st, G_ID);
    *same = 1;
    return step(f, st, &f->have_find);
}

int ia_follow_active(const ia_follow *f)
{
    return f && f->active;
}

int ia_follow_end(ia_follow *f, int walk_complete, const char *finished_at,
                  int *finished)
{
    int same;
    *finished = 0;
    if (!f->active)
        return IA_OK;
    /* rows left at the cursors are files and notes gone since */
    if (!walk_complete || f->have_file || f->have_find || f->diffs)
        return diverge(f, &same);
    f->active = 0;
    if (f->same_file) {
        int ret = ia_store_scan_share(f->db, f->scan_id, f->rows_id,
                                      finished_at);
        *finished = ret == IA_OK;
        return ret;
    }
    ia_copy_job *j = f->copy;
    f->copy = NULL;
    int ret = j ? ia_copy_job_finish(j, 1, finished_at, finished) : IA_OK;
    return ret == IA_OK && !*finished ? store_runs(f) : ret;
}
