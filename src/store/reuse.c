/*
 * The SQL half of incremental rescans and resumed scans (store/store.h).
 *
 * Why it is shaped this way:
 *   - The reused DB gets its own read-only connection (ia_db_open with
 *     IA_DB_READONLY), never an ATTACH: a read-only open cannot modify
 *     it, and it also works when it is the very DB being written (WAL
 *     lets the reader see the committed old scan while the writer adds
 *     the new one).
 *   - The index is loaded once, before the walk, into two sorted arrays
 *     (by SHA-256, by path) that workers search without locks. It holds
 *     only the files a hit can take over: decoded formats with a
 *     SHA-256, and at most IA_MAX_FILE_FINDINGS - 2 per-file findings
 *     besides extension_mismatch, so that the findings a full decode
 *     would keep under the per-file cap are exactly the ones copied.
 *   - Results equal a full scan's: decode results are a function of the
 *     bytes and the decode options (checked equal, with the tool version
 *     and schema); what depends on the path (split, label, the
 *     extension, extension_mismatch) comes from this walk; the other
 *     per-file findings (stage 'walk') are copied in their order; their
 *     dataset-dependent severities (the mode mix) and everything the
 *     analysis adds (stage 'analysis') are decided again by this scan.
 *   - Columns are copied by name as sqlite3_values, from the written DB's
 *     own table definitions, so a column a later migration adds to file
 *     is carried without touching this file.
 *   - Resume works in the written DB: the tables other than file and
 *     finding that carry a scan_id hold what the dataset-wide analysis
 *     wrote (groups, leaks, statistics), which is recomputed, so they are
 *     cleared for the scan, with its 'analysis' findings and its notes
 *     (the walk stores those again).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/core.h"
#include "store/store.h"
#include "store/col.h"

/* Columns of file the new scan binds itself: the walk's and the read's. */
static const char *const own_cols[] = {
    "id", "scan_id", "path", "split", "split_canonical", "label",
    "outside_class", "size", "mtime_ns", "sha256", "ext_format", "archive",
    NULL,
};
#define OWN_BOUND 11   /* own_cols minus id, as parameters ?1..?11 */

static const char *const find_skip[] = {"id", "scan_id", "file_id", "path",
                                        NULL};

typedef struct sha_ent {
    uint8_t sha[32];
    int64_t id;
} sha_ent;

typedef struct stat_ent {
    size_t path;            /* offset into paths */
    int64_t size, mtime;
    int64_t id;
    uint8_t sha[32];
    int format;
} stat_ent;

struct ia_reuse {
    ia_db *src;
    int64_t scan_id;
    ia_reuse_scan info;     /* what an unchanged rescan checks */
    char *path;             /* the reused DB, for messages */
    int loaded;             /* the index below is built */
    sha_ent *sha;
    size_t nsha;
    stat_ent *st;
    size_t nst, st_cap;
    char *paths;
    size_t paths_len, paths_cap;
    /* prepared on first use, on src and on the written DB */
    ia_db *target;
    sqlite3_stmt *get_file, *get_finds, *ins_file, *ins_find, *ins_own;
    int nfile, nfind;
};

/* ---- small helpers ----------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t len = strlen(s);
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len + 1);
    b->n += len;
}

static int listed(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(name, list[i]) == 0)
            return 1;
    return 0;
}

/* The columns of table in db, minus skip[], quoted and comma-separated;
 * *count of them. */
static int column_list(ia_db *db, const char *table, const char *const *skip,
                       sbuf *out, int *count)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK, rc;
    *count = 0;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT name FROM pragma_table_info(?1)"
                           " ORDER BY cid", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(st);
        return ia_store_sqlfail(db, "reading the schema");
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || listed(name, skip))
            continue;
        sb_add(out, *count ? ", \"" : "\"");
        sb_add(out, name);  /* our own column names: no quote inside */
        sb_add(out, "\"");
        ++*count;
    }
    if (rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the schema");
    else if (out->oom)
        ret = ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    sqlite3_finalize(st);
    return ret;
}

static void placeholders(sbuf *b, int first, int n)
{
    char num[24];
    for (int i = 0; i < n; i++) {
        ia_bprintf(num, sizeof num, "%s?%d", i ? ", " : "", first + i + 1);
        sb_add(b, num);
    }
}

static int prepare(ia_db *db, const sbuf *sql, sqlite3_stmt **st,
                   const char *what)
{
    if (sql->oom)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    if (sqlite3_prepare_v3(ia_store_sqlite(db), sql->p, -1,
                           SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, what);
    return IA_OK;
}

/* ---- opening and indexing ---------------------------------------------- */

static int fmt_of(const unsigned char *name)
{
    for (int f = 0; f < IA_FMT_COUNT; f++)
        if (name && strcmp((const char *)name, ia_fmt_name(f)) == 0)
            return f;
    return IA_FMT_UNKNOWN;
}

/* Columns 6.. of pick_scan's row: what ia_follow_begin compares. */
static int keep_info(ia_reuse *r, sqlite3_stmt *st)
{
    ia_reuse_scan *i = &r->info;
    const char *options = (const char *)sqlite3_column_text(st, 7);
    const char *layout = (const char *)sqlite3_column_text(st, 8);
    i->scan_id = r->scan_id;
    i->complete = sqlite3_column_int(st, 6) != 0;
    i->options = strdup(options ? options : "");
    i->layout = strdup(layout ? layout : "");
    i->shard_k = ia_col_opt(st, 9);
    i->shard_n = ia_col_opt(st, 10);
    i->rows_id = sqlite3_column_int64(st, 11);
    return i->options && i->layout ? IA_OK : IA_ERR_NOMEM;
}

/* Picks the scan and checks that its results are ours to reuse. */
static int pick_scan(ia_db *target, ia_reuse *r, const char *path,
                     const ia_reuse_params *p)
{
    static const char sql[] =
        "SELECT id, tool_version, json_extract(options, '$.max_pixels'),"
        " json_extract(options, '$.max_file_bytes'),"
        " coalesce(json_extract(options, '$.follow_symlinks'), 0), name,"
        " complete, options, layout, shard_k, shard_n,"
        " coalesce(same_as, id)"
        " FROM scan ORDER BY complete AND name = ?1 DESC, complete DESC,"
        " id DESC LIMIT 1";
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (ia_store_schema_version(r->src) != ia_store_schema_latest())
        return ia_store_fail(target, IA_ERR_ARG, "--reuse %s: its schema is "
                             "version %d, this imgaudit writes %d", path,
                             ia_store_schema_version(r->src),
                             ia_store_schema_latest());
    if (sqlite3_prepare_v2(ia_store_sqlite(r->src), sql, -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_text(st, 1, p->name ? p->name : "", -1,
                          SQLITE_STATIC) != SQLITE_OK) {
        ret = ia_store_fail(target, IA_ERR_DB, "--reuse %s: %s", path,
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
        goto out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        goto out;  /* nothing to reuse yet (a first scan into this DB) */
    if (rc != SQLITE_ROW) {
        ret = ia_store_fail(target, IA_ERR_DB, "--reuse %s: %s", path,
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
        goto out;
    }
    r->scan_id = sqlite3_column_int64(st, 0);
    if ((ret = keep_info(r, st)) != IA_OK) {
        ia_store_fail(target, ret, "out of memory");
        goto out;
    }
    const char *version = (const char *)sqlite3_column_text(st, 1);
    const char *name = (const char *)sqlite3_column_text(st, 5);
    if (!version || strcmp(version, IMGAUDIT_VERSION) != 0)
        ret = ia_store_fail(target, IA_ERR_ARG, "--reuse %s: scan '%s' was "
                            "made by imgaudit %s, this is %s", path,
                            name ? name : "", version ? version : "?",
                            IMGAUDIT_VERSION);
    else if ((uint64_t)sqlite3_column_int64(st, 2) != p->max_pixels ||
             (uint64_t)sqlite3_column_int64(st, 3) != p->max_file_bytes ||
             (sqlite3_column_int(st, 4) != 0) != (p->follow_symlinks != 0))
        ret = ia_store_fail(target, IA_ERR_ARG, "--reuse %s: scan '%s' was "
                            "made with other --max-pixels, file size or "
                            "--follow-symlinks settings; its results do not "
                            "apply", path, name ? name : "");
out:
    sqlite3_finalize(st);
    return ret;
}

/* Appends a path with its NUL to a string arena; *off is where it went.
 * Offsets, not pointers, because the arena moves as it grows. */
static int arena_add(char **arena, size_t *len, size_t *cap,
                     const char *path, size_t *off)
{
    size_t n = strlen(path) + 1;
    char *a = ia_grow(*arena, cap, *len + n, 1, 65536);
    if (!a)
        return IA_ERR_NOMEM;
    *arena = a;
    memcpy(a + *len, path, n);
    *off = *len;
    *len += n;
    return IA_OK;
}

static int add_stat(ia_reuse *r, sqlite3_stmt *st)
{
    const char *path = (const char *)sqlite3_column_text(st, 1);
    const void *sha = sqlite3_column_blob(st, 4);
    /* length(sha256) = 32 in SQL counts characters, not bytes */
    if (!path || !sha || sqlite3_column_bytes(st, 4) != 32)
        return IA_OK;
    stat_ent *v = ia_grow(r->st, &r->st_cap, r->nst + 1, sizeof *v, 1024);
    if (!v)
        return IA_ERR_NOMEM;
    r->st = v;
    stat_ent *s = &r->st[r->nst];
    if (arena_add(&r->paths, &r->paths_len, &r->paths_cap, path,
                  &s->path) != IA_OK)
        return IA_ERR_NOMEM;
    r->nst++;
    s->id = sqlite3_column_int64(st, 0);
    s->size = ia_col_opt(st, 2);
    s->mtime = ia_col_opt(st, 3);
    memcpy(s->sha, sha, 32);
    s->format = fmt_of(sqlite3_column_text(st, 5));
    return IA_OK;
}

static int cmp_stat(const void *a, const void *b, void *arg)
{
    const char *paths = arg;
    return strcmp(paths + ((const stat_ent *)a)->path,
                  paths + ((const stat_ent *)b)->path);
}

static int cmp_sha(const void *a, const void *b)
{
    const sha_ent *x = a, *y = b;
    int c = memcmp(x->sha, y->sha, 32);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* The two sorted arrays; for equal bytes the first file row stands. */
static int build_sha(ia_reuse *r)
{
    r->sha = malloc((r->nst ? r->nst : 1) * sizeof *r->sha);
    if (!r->sha)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < r->nst; i++) {
        memcpy(r->sha[i].sha, r->st[i].sha, 32);
        r->sha[i].id = r->st[i].id;
    }
    ia_qsort(r->sha, r->nst, sizeof *r->sha, cmp_sha);
    size_t n = 0;
    for (size_t i = 0; i < r->nst; i++)
        if (n == 0 || memcmp(r->sha[n - 1].sha, r->sha[i].sha, 32) != 0)
            r->sha[n++] = r->sha[i];
    r->nsha = n;
    /* load_index reads them in path order already, from the (scan_id,
     * path) index: sort only if SQLite chose otherwise */
    for (size_t i = 1; i < r->nst; i++)
        if (cmp_stat(&r->st[i - 1], &r->st[i], r->paths) > 0) {
            ia_qsort_r(r->st, r->nst, sizeof *r->st, cmp_stat, r->paths);
            break;
        }
    return IA_OK;
}

static int load_index(ia_db *target, ia_reuse *r, const char *path)
{
    char sql[640];
    sqlite3_stmt *st = NULL;
    int ret = IA_OK, rc;
    ia_bprintf(sql, sizeof sql,
               "SELECT f.id, f.path, f.size, f.mtime_ns, f.sha256, f.format"
               " FROM file f WHERE f.scan_id = ?1"
               " AND f.format <> 'unknown' AND f.status <> 'unsupported'"
               " AND length(f.sha256) = 32"
               " AND f.id NOT IN (SELECT file_id FROM finding"
               "  WHERE scan_id = ?1 AND file_id IS NOT NULL"
               "  AND stage = 'walk' AND code <> 'extension_mismatch'"
               "  GROUP BY file_id HAVING count(*) > %d) ORDER BY f.path",
               IA_MAX_FILE_FINDINGS - 2);
    if (sqlite3_prepare_v2(ia_store_sqlite(r->src), sql, -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_int64(st, 1, r->info.rows_id) != SQLITE_OK) {
        ret = ia_store_fail(target, IA_ERR_DB, "--reuse %s: %s", path,
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
        goto out;
    }
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ret = add_stat(r, st);
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_fail(target, IA_ERR_DB, "--reuse %s: %s", path,
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
    if (ret == IA_OK)
        ret = build_sha(r);
    if (ret == IA_ERR_NOMEM)
        ia_store_fail(target, ret, "out of memory");
out:
    sqlite3_finalize(st);
    return ret;
}

/* Whether path is the file target has open: only then can a new scan
 * share the reused scan's rows. The same inode, not the same name. */
int ia_reuse_open(ia_db *target, const char *path, const ia_reuse_params *p,
                  ia_reuse **out)
{
    ia_reuse *r = calloc(1, sizeof *r);
    int ret;
    if (!r)
        return ia_store_fail(target, IA_ERR_NOMEM, "out of memory");
    ret = ia_store_open_reader(target, path, &r->src);
    if (ret != IA_OK)
        ia_store_fail(target, ret, "--reuse %s", ia_db_errmsg(r->src));
    /* The rows read follow the walk, spread over the file table, its
     * indexes and the findings: a 64 MiB page cache (a cap, allocated as
     * used) keeps them from being read again. The file is also mapped
     * (up to 1 GiB of address space, not memory): pages are then read in
     * place instead of copied into malloc'd cache pages, 15 % of an
     * unchanged --trust-mtime rescan of 100,000 files (0.54 -> 0.46 s,
     * docs/performance.md). The connection only reads, inside one read
     * transaction, so a checkpoint cannot shrink the file under it. */
    if (ret == IA_OK)
        sqlite3_exec(ia_store_sqlite(r->src), "PRAGMA cache_size = -65536;"
                     "PRAGMA mmap_size = 1073741824",
                     NULL, NULL, NULL);
    /* One read transaction for the whole scan: the rows read stay those
     * of one snapshot, and each lookup skips taking the lock anew (a
     * tenth of a reusing rescan's time otherwise). */
    if (ret == IA_OK &&
        sqlite3_exec(ia_store_sqlite(r->src), "BEGIN", NULL, NULL, NULL) !=
            SQLITE_OK)
        ret = ia_store_fail(target, IA_ERR_DB, "--reuse %s: %s", path,
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
    if (ret == IA_OK)
        ret = pick_scan(target, r, path, p);
    if (ret == IA_OK) {
        r->info.src = r->src;
        r->info.same_file = ia_store_same_file(target, path);
    }
    if (ret == IA_OK && !(r->path = strdup(path)))
        ret = ia_store_fail(target, IA_ERR_NOMEM, "out of memory");
    if (ret != IA_OK) {
        ia_reuse_free(r);
        return ret;
    }
    *out = r;
    return IA_OK;
}

int ia_reuse_load(ia_db *target, ia_reuse *r)
{
    if (r->loaded)
        return IA_OK;
    r->loaded = 1;
    return r->scan_id > 0 ? load_index(target, r, r->path) : build_sha(r);
}

void ia_reuse_free(ia_reuse *r)
{
    if (!r)
        return;
    sqlite3_finalize(r->get_file);
    sqlite3_finalize(r->get_finds);
    sqlite3_finalize(r->ins_file);
    sqlite3_finalize(r->ins_find);
    sqlite3_finalize(r->ins_own);
    if (r->src && ia_store_sqlite(r->src) &&
        !sqlite3_get_autocommit(ia_store_sqlite(r->src)))
        sqlite3_exec(ia_store_sqlite(r->src), "ROLLBACK", NULL, NULL, NULL);
    ia_db_close(r->src);
    free(r->path);
    free(r->info.options);
    free(r->info.layout);
    free(r->sha);
    free(r->st);
    free(r->paths);
    free(r);
}

size_t ia_reuse_count(const ia_reuse *r)
{
    return r ? r->nst : 0;
}

const ia_reuse_scan *ia_reuse_scan_info(const ia_reuse *r)
{
    return &r->info;
}

/* ---- lookups (worker threads) ------------------------------------------ */

int ia_reuse_by_sha(const ia_reuse *r, const uint8_t sha256[32],
                    int64_t *file_id)
{
    size_t lo = 0, hi = r->nsha;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(r->sha[mid].sha, sha256, 32);
        if (c == 0) {
            *file_id = r->sha[mid].id;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int ia_reuse_by_stat(const ia_reuse *r, const char *relpath, int64_t size,
                     int64_t mtime_ns, ia_reuse_hit *hit)
{
    size_t lo = 0, hi = r->nst;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const stat_ent *s = &r->st[mid];
        int c = strcmp(r->paths + s->path, relpath);
        if (c == 0) {
            if (s->size != size || s->mtime != mtime_ns)
                return 0;
            hit->file_id = s->id;
            memcpy(hit->sha256, s->sha, 32);
            hit->format = s->format;
            return 1;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* ---- copying (writer thread) ------------------------------------------- */

static int prepare_copy(ia_db *db, ia_reuse *r)
{
    sbuf cols = {0}, fcols = {0}, sql = {0};
    int ret = column_list(db, "file", own_cols, &cols, &r->nfile);
    if (ret == IA_OK)
        ret = column_list(db, "finding", find_skip, &fcols, &r->nfind);
    if (ret != IA_OK)
        goto out;
    sb_add(&sql, "SELECT ");
    sb_add(&sql, cols.p);
    sb_add(&sql, " FROM file WHERE id = ?1");
    if ((ret = prepare(r->src, &sql, &r->get_file, "reading a reused file")) !=
        IA_OK) {
        ia_store_fail(db, IA_ERR_DB, "%s", ia_db_errmsg(r->src));
        goto out;
    }
    sql.n = 0;
    sb_add(&sql, "SELECT ");
    sb_add(&sql, fcols.p);
    sb_add(&sql, " FROM finding WHERE file_id = ?1 AND stage = 'walk'"
                 " AND code <> 'extension_mismatch' ORDER BY id");
    if ((ret = prepare(r->src, &sql, &r->get_finds,
                       "reading reused findings")) != IA_OK) {
        ia_store_fail(db, IA_ERR_DB, "%s", ia_db_errmsg(r->src));
        goto out;
    }
    sql.n = 0;
    sb_add(&sql, "INSERT INTO file(scan_id, path, split, split_canonical,"
                 " label, outside_class, size, mtime_ns, sha256, ext_format,"
                 " archive, ");
    sb_add(&sql, cols.p);
    sb_add(&sql, ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ");
    placeholders(&sql, OWN_BOUND, r->nfile);
    sb_add(&sql, ")");
    if ((ret = prepare(db, &sql, &r->ins_file, "storing a file")) != IA_OK)
        goto out;
    sql.n = 0;
    sb_add(&sql, "INSERT INTO finding(scan_id, file_id, path, ");
    sb_add(&sql, fcols.p);
    sb_add(&sql, ") VALUES (?1, ?2, ?3, ");
    placeholders(&sql, 3, r->nfind);
    sb_add(&sql, ")");
    if ((ret = prepare(db, &sql, &r->ins_find, "storing a finding")) != IA_OK)
        goto out;
    sql.n = 0;
    sb_add(&sql, "INSERT INTO finding(scan_id, file_id, path, code, severity,"
                 " detail, stage) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'walk')");
    ret = prepare(db, &sql, &r->ins_own, "storing a finding");
    if (ret == IA_OK)
        r->target = db;
out:
    free(cols.p);
    free(fcols.p);
    free(sql.p);
    return ret;
}

static int step_insert(ia_db *db, sqlite3_stmt *st, int bind_rc,
                       const char *what)
{
    int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : bind_rc;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? IA_OK : ia_store_sqlfail(db, what);
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
             : sqlite3_bind_null(st, i);
}

static int bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

/* The file row: the walk's and the read's columns bound here, the rest
 * copied from the current row of get_file. */
static int insert_file(ia_db *db, ia_reuse *r, int64_t scan_id,
                       const ia_entry *e, const ia_file_result *res)
{
    sqlite3_stmt *st = r->ins_file;
    int rc = sqlite3_bind_int64(st, 1, scan_id);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 2, e->relpath);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 3, e->split);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 4, e->split_canonical);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 5, e->label);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 6, e->outside_class ? 1 : 0);
    if (rc == SQLITE_OK)
        rc = bind_opt(st, 7, res->size);
    if (rc == SQLITE_OK)
        rc = bind_opt(st, 8, res->mtime_ns);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 9, res->sha256, 32, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = bind_text(st, 10, res->ext_format == IA_FMT_UNKNOWN
                                   ? NULL : ia_fmt_name(res->ext_format));
    if (rc == SQLITE_OK)
        rc = bind_text(st, 11, e->archive);
    for (int c = 0; c < r->nfile && rc == SQLITE_OK; c++)
        rc = sqlite3_bind_value(st, OWN_BOUND + 1 + c,
                                sqlite3_column_value(r->get_file, c));
    return step_insert(db, st, rc, "storing a file");
}

/* The worker's own findings (extension_mismatch), then the reused file's
 * other per-file findings in their order: the order a decode makes. */
static int insert_findings(ia_db *db, ia_reuse *r, int64_t scan_id,
                           int64_t file_id, const ia_entry *e,
                           const ia_file_result *res)
{
    int ret = IA_OK, rc;
    for (int i = 0; i < res->nfindings && ret == IA_OK; i++) {
        const ia_finding_rec *f = &res->findings[i];
        sqlite3_stmt *st = r->ins_own;
        rc = sqlite3_bind_int64(st, 1, scan_id);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(st, 2, file_id);
        if (rc == SQLITE_OK)
            rc = bind_text(st, 3, e->relpath);
        if (rc == SQLITE_OK)
            rc = bind_text(st, 4, f->code);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int(st, 5, f->severity);
        if (rc == SQLITE_OK)
            rc = bind_text(st, 6, f->detail[0] ? f->detail : NULL);
        ret = step_insert(db, st, rc, "storing a finding");
    }
    sqlite3_stmt *cur = r->get_finds;
    if (ret == IA_OK &&
        sqlite3_bind_int64(cur, 1, res->reuse_id) != SQLITE_OK)
        ret = ia_store_fail(db, IA_ERR_DB, "reading reused findings: %s",
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
    while (ret == IA_OK && (rc = sqlite3_step(cur)) == SQLITE_ROW) {
        sqlite3_stmt *st = r->ins_find;
        int b = sqlite3_bind_int64(st, 1, scan_id);
        if (b == SQLITE_OK)
            b = sqlite3_bind_int64(st, 2, file_id);
        if (b == SQLITE_OK)
            b = bind_text(st, 3, e->relpath);
        for (int c = 0; c < r->nfind && b == SQLITE_OK; c++)
            b = sqlite3_bind_value(st, 4 + c, sqlite3_column_value(cur, c));
        ret = step_insert(db, st, b, "storing a finding");
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_fail(db, IA_ERR_DB, "reading reused findings: %s",
                            sqlite3_errmsg(ia_store_sqlite(r->src)));
    sqlite3_reset(cur);
    return ret;
}

int ia_store_reused_file(ia_db *db, ia_reuse *r, int64_t scan_id,
                         const ia_entry *e, const ia_file_result *res,
                         int64_t *file_id)
{
    int ret = IA_OK;
    int64_t id = 0;
    if (!res->have_sha256 || res->reuse_id <= 0)
        return ia_store_fail(db, IA_ERR_ARG, "%s: nothing to reuse",
                             e->relpath);
    if (r->target != db && (ret = prepare_copy(db, r)) != IA_OK)
        return ret;
    ret = ia_store_batch_open(db);
    if (ret != IA_OK)
        return ret;
    sqlite3_stmt *cur = r->get_file;
    int rc = sqlite3_bind_int64(cur, 1, res->reuse_id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(cur);
    if (rc != SQLITE_ROW)
        ret = ia_store_fail(db, IA_ERR_DB, "reading reused file %lld: %s",
                            (long long)res->reuse_id,
                            rc == SQLITE_DONE
                                ? "gone"
                                : sqlite3_errmsg(ia_store_sqlite(r->src)));
    if (ret == IA_OK)
        ret = insert_file(db, r, scan_id, e, res);
    sqlite3_reset(cur);
    if (ret == IA_OK) {
        id = sqlite3_last_insert_rowid(ia_store_sqlite(db));
        ret = insert_findings(db, r, scan_id, id, e, res);
    }
    int ret2 = ia_store_batch_done(db, ret == IA_OK);
    if (ret == IA_OK)
        ret = ret2;
    if (ret == IA_OK && file_id)
        *file_id = id;
    return ret;
}

/* ---- resume ------------------------------------------------------------ */

typedef struct done_ent {
    size_t path;
    int64_t id, size, mtime;
    int seen;
} done_ent;

struct ia_resume {
    int64_t scan_id;
    done_ent *v;
    size_t n, cap;
    char *paths;
    size_t paths_len, paths_cap;
};

static int exec_bound(ia_db *db, const char *sql, int64_t id,
                      const char *what)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(db, what);
    sqlite3_finalize(st);
    return ret;
}

static int find_scan(ia_db *db, const char *name, const char *root,
                     const char *options_json, unsigned shard_k,
                     unsigned shard_n, int64_t *scan_id)
{
    static const char sql[] =
        "SELECT id, complete, root, options, coalesce(shard_k, -1),"
        " coalesce(shard_n, 0), tool_version"
        " FROM scan WHERE name = ?1 ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *st = NULL;
    int ret = IA_OK;
    if (sqlite3_prepare_v2(ia_store_sqlite(db), sql, -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(st);
        return ia_store_sqlfail(db, "finding the scan to resume");
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        ret = ia_store_fail(db, IA_ERR_NOT_FOUND,
                            "--resume: no scan named '%s'", name);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        ret = ia_store_sqlfail(db, "finding the scan to resume");
        goto out;
    }
    const char *r = (const char *)sqlite3_column_text(st, 2);
    const char *o = (const char *)sqlite3_column_text(st, 3);
    const char *v = (const char *)sqlite3_column_text(st, 6);
    unsigned k = shard_n > 0 ? shard_k : (unsigned)-1;
    if (sqlite3_column_int(st, 1))
        ret = ia_store_fail(db, IA_ERR_ARG, "--resume: scan '%s' is "
                            "complete, nothing to resume", name);
    else if (!r || strcmp(r, root) != 0)
        ret = ia_store_fail(db, IA_ERR_ARG, "--resume: scan '%s' is of %s,"
                            " not %s", name, r ? r : "?", root);
    else if (!o || strcmp(o, options_json) != 0 ||
             (unsigned)sqlite3_column_int64(st, 4) != k ||
             (unsigned)sqlite3_column_int64(st, 5) != shard_n)
        ret = ia_store_fail(db, IA_ERR_ARG, "--resume: scan '%s' was started "
                            "with other options (%s): give the same ones",
                            name, o ? o : "?");
    else if (!v || strcmp(v, IMGAUDIT_VERSION) != 0)
        ret = ia_store_fail(db, IA_ERR_ARG, "--resume: scan '%s' was started "
                            "by imgaudit %s, this is %s", name, v ? v : "?",
                            IMGAUDIT_VERSION);
    else
        *scan_id = sqlite3_column_int64(st, 0);
out:
    sqlite3_finalize(st);
    return ret;
}

/* Whatever the analysis of an earlier attempt wrote, and the notes. */
static int clear_leftovers(ia_db *db, int64_t scan_id)
{
    sqlite3_stmt *st = NULL;
    int ret = exec_bound(db, "DELETE FROM finding WHERE scan_id = ?1 AND"
                             " (stage = 'analysis' OR file_id IS NULL)",
                         scan_id, "clearing the scan's analysis");
    if (ret != IA_OK)
        return ret;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT m.name FROM sqlite_master m"
                           " WHERE m.type = 'table'"
                           " AND m.name NOT IN ('scan', 'file', 'finding')"
                           " AND EXISTS (SELECT 1 FROM pragma_table_info(m.name)"
                           "  WHERE name = 'scan_id') ORDER BY m.name",
                           -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "clearing the scan's analysis");
    int rc;
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char sql[256];
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!t || strchr(t, '"'))
            continue;
        ia_bprintf(sql, sizeof sql, "DELETE FROM \"%s\" WHERE scan_id = ?1",
                   t);
        ret = exec_bound(db, sql, scan_id, "clearing the scan's analysis");
    }
    if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "clearing the scan's analysis");
    sqlite3_finalize(st);
    return ret;
}

static int add_done(ia_resume *rs, sqlite3_stmt *st)
{
    const char *path = (const char *)sqlite3_column_text(st, 1);
    if (!path)
        return IA_OK;
    done_ent *v = ia_grow(rs->v, &rs->cap, rs->n + 1, sizeof *v, 1024);
    if (!v)
        return IA_ERR_NOMEM;
    rs->v = v;
    done_ent *d = &rs->v[rs->n];
    if (arena_add(&rs->paths, &rs->paths_len, &rs->paths_cap, path,
                  &d->path) != IA_OK)
        return IA_ERR_NOMEM;
    rs->n++;
    d->id = sqlite3_column_int64(st, 0);
    d->size = ia_col_opt(st, 2);
    d->mtime = ia_col_opt(st, 3);
    d->seen = 0;
    return IA_OK;
}

static int cmp_done(const void *a, const void *b, void *arg)
{
    const char *paths = arg;
    return strcmp(paths + ((const done_ent *)a)->path,
                  paths + ((const done_ent *)b)->path);
}

static int load_done(ia_db *db, ia_resume *rs)
{
    sqlite3_stmt *st = NULL;
    int ret = IA_OK, rc;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT id, path, size, mtime_ns FROM file"
                           " WHERE scan_id = ?1", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, rs->scan_id) != SQLITE_OK) {
        sqlite3_finalize(st);
        return ia_store_sqlfail(db, "reading the stored files");
    }
    while (ret == IA_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ret = add_done(rs, st);
    if (ret == IA_ERR_NOMEM)
        ia_store_fail(db, ret, "out of memory");
    else if (ret == IA_OK && rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the stored files");
    sqlite3_finalize(st);
    if (ret == IA_OK)
        ia_qsort_r(rs->v, rs->n, sizeof *rs->v, cmp_done, rs->paths);
    return ret;
}

int ia_resume_open(ia_db *db, const char *name, const char *root,
                   const char *options_json, unsigned shard_k,
                   unsigned shard_n, int64_t *scan_id, ia_resume **out)
{
    ia_resume *rs = calloc(1, sizeof *rs);
    if (!rs)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    int ret = find_scan(db, name, root, options_json, shard_k, shard_n,
                        &rs->scan_id);
    if (ret == IA_OK)
        ret = ia_store_batch_open(db);
    if (ret == IA_OK)
        ret = clear_leftovers(db, rs->scan_id);
    if (ret == IA_OK)
        ret = exec_bound(db, "UPDATE scan SET finished_at = NULL"
                             " WHERE id = ?1", rs->scan_id,
                         "reopening the scan");
    if (ret == IA_OK)
        ret = load_done(db, rs);
    ia_store_batch_done(db, ret == IA_OK);
    if (ret != IA_OK) {
        ia_resume_free(rs);
        return ret;
    }
    *scan_id = rs->scan_id;
    *out = rs;
    return IA_OK;
}

int ia_resume_skip(ia_db *db, ia_resume *rs, const char *relpath,
                   int64_t size, int64_t mtime_ns, int *skip)
{
    size_t lo = 0, hi = rs->n;
    *skip = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        done_ent *d = &rs->v[mid];
        int c = strcmp(rs->paths + d->path, relpath);
        if (c == 0) {
            if (d->seen)
                return IA_OK;
            d->seen = 1;
            if (d->size == size && d->mtime == mtime_ns) {
                *skip = 1;
                return IA_OK;
            }
            /* changed since: scanned again, stored anew */
            int ret = ia_store_batch_open(db);
            if (ret == IA_OK)
                ret = exec_bound(db, "DELETE FROM file WHERE id = ?1", d->id,
                                 "replacing a changed file");
            return ia_store_batch_done(db, ret == IA_OK) == IA_OK ? ret
                                                                 : IA_ERR_DB;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return IA_OK;
}

int ia_resume_prune(ia_db *db, ia_resume *rs)
{
    int ret = ia_store_batch_open(db);
    for (size_t i = 0; i < rs->n && ret == IA_OK; i++)
        if (!rs->v[i].seen)
            ret = exec_bound(db, "DELETE FROM file WHERE id = ?1", rs->v[i].id,
                             "removing a file gone since");
    int ret2 = ia_store_batch_done(db, ret == IA_OK);
    return ret != IA_OK ? ret : ret2;
}

size_t ia_resume_count(const ia_resume *rs)
{
    return rs ? rs->n : 0;
}

void ia_resume_free(ia_resume *rs)
{
    if (!rs)
        return;
    free(rs->v);
    free(rs->paths);
    free(rs);
}
