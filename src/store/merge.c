/*
 * The SQL half of merge (store/store.h): reading a shard's scan row, and
 * copying the shards' file rows and per-file findings into one scan.
 *
 * Why it is shaped this way:
 *   - The dataset-wide analysis visits files in file id order and takes
 *     the first file of a group in that order as its anchor, so the merged
 *     ids must follow the walk of the whole tree. Each shard stored its
 *     files in the same walk, filtered, so each shard's rows in id order
 *     are already sorted by walk order: a k-way merge (a heap of one
 *     cursor per shard) restores the whole walk while streaming, with
 *     memory O(shards) and no temporary copy of the rows. The merge checks
 *     that the output is strictly increasing, which catches both a path
 *     stored by two shards and a shard not in walk order (another
 *     partition or walk), instead of producing a silently different scan.
 *   - Every shard has its own read-only connection (SQLITE_OPEN_READONLY
 *     through ia_db_open), not an ATTACH: SQLite attaches at most 10
 *     databases by default, and a read-only open can never write to a
 *     shard.
 *   - Columns are copied by name, as sqlite3_values, from the output DB's
 *     own table definitions (the shards have the same schema, checked in
 *     ia_store_shard_scan), so a column added to file or finding by a
 *     later migration is carried without touching this file.
 *   - Only findings with stage 'walk' are copied (migration 3): what the
 *     analysis added (duplicates, leaks, mode-mix and other dataset-level
 *     findings) was judged on a part of the data and is recomputed over
 *     the whole by the caller. Per-file findings keep their relative
 *     order; their severities that depend on the dataset (the mode mix)
 *     are decided again by ia_store_scan_finish.
 *   - Rows are committed every IA_STORE_BATCH files, as a scan does; on
 *     a failure merge.c deletes the half-merged scan (the shards still
 *     hold every row), so a merge is all or nothing.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"
#include "shard/shard.h"
#include "core/core.h"

/* ---- a growable string for SQL text and the last path ---------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t len)
{
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
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_add(sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

static void sb_set(sbuf *b, const char *s)
{
    b->n = 0;
    sb_add(b, s);
}

static char *dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    return strdup(s ? (const char *)s : "");
}

/* ---- the shard's scan row -------------------------------------------- */

void ia_shard_scan_release(ia_shard_scan *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->root);
    free(s->layout);
    free(s->options);
    free(s->tool_version);
    free(s->started_at);
    memset(s, 0, sizeof *s);
}

static int read_shard_row(sqlite3_stmt *st, ia_shard_scan *s)
{
    s->scan_id = sqlite3_column_int64(st, 0);
    s->name = dup_col(st, 1);
    s->root = dup_col(st, 2);
    s->layout = dup_col(st, 3);
    s->options = dup_col(st, 4);
    s->tool_version = dup_col(st, 5);
    s->started_at = dup_col(st, 6);
    s->complete = sqlite3_column_int(st, 7) != 0;
    int64_t k = sqlite3_column_int64(st, 8), n = sqlite3_column_int64(st, 9);
    s->files = sqlite3_column_int64(st, 10);
    if (!s->name || !s->root || !s->layout || !s->options ||
        !s->tool_version || !s->started_at)
        return IA_ERR_NOMEM;
    if (n < 1 || n > IA_SHARD_MAX || k < 0 || k >= n)
        return IA_ERR_DB;
    s->k = (unsigned)k;
    s->n = (unsigned)n;
    return IA_OK;
}

int ia_store_shard_scan(ia_db *shard, ia_shard_scan *out)
{
    static const char sql[] =
        "SELECT id, name, root, layout, options, tool_version, started_at,"
        " complete, shard_k, shard_n,"
        " (SELECT count(*) FROM file"
        "  WHERE file.scan_id = coalesce(scan.same_as, scan.id))"
        " FROM scan WHERE shard_n IS NOT NULL ORDER BY id DESC LIMIT 1";
    ia_shard_scan s;
    sqlite3_stmt *st = NULL;
    int ret = IA_ERR_DB;
    memset(&s, 0, sizeof s);
    if (ia_store_schema_version(shard) != ia_store_schema_latest())
        return ia_store_fail(shard, IA_ERR_DB_VERSION, "its schema is "
                             "version %d, this imgaudit writes %d: scan the "
                             "shard again with this version",
                             ia_store_schema_version(shard),
                             ia_store_schema_latest());
    if (sqlite3_prepare_v2(ia_store_sqlite(shard), sql, -1, &st, NULL) !=
        SQLITE_OK) {
        ret = ia_store_sqlfail(shard, "reading the shard's scan");
        goto out;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        ret = ia_store_fail(shard, IA_ERR_NOT_FOUND, "it holds no scan made "
                            "with --shard K/N");
        goto out;
    }
    if (rc != SQLITE_ROW) {
        ret = ia_store_sqlfail(shard, "reading the shard's scan");
        goto out;
    }
    ret = read_shard_row(st, &s);
    if (ret == IA_ERR_DB)
        ia_store_fail(shard, ret, "its scan row has an invalid shard");
    else if (ret != IA_OK)
        ia_store_fail(shard, ret, "out of memory");
out:
    sqlite3_finalize(st);
    if (ret == IA_OK)
        *out = s;
    else
        ia_shard_scan_release(&s);
    return ret;
}

/* ---- column lists ----------------------------------------------------- */

/* The columns of table in db's main schema, minus skip[], as a quoted,
 * comma-separated list; *count columns; cols[0] and cols[1] the indexes
 * of "path" and "archive" among them (-1 when absent). */
static int column_list(ia_db *db, const char *table, const char *const *skip,
                       sbuf *out, int *count, int cols[2])
{
    sqlite3_stmt *st = NULL;
    int ret = IA_ERR_DB, rc;
    *count = 0;
    cols[0] = cols[1] = -1;
    if (sqlite3_prepare_v2(ia_store_sqlite(db),
                           "SELECT name FROM pragma_table_info(?1)"
                           " ORDER BY cid", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC) != SQLITE_OK) {
        ret = ia_store_sqlfail(db, "reading the schema");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int skipped = !name;
        for (size_t i = 0; skip[i] && !skipped; i++)
            skipped = strcmp(name, skip[i]) == 0;
        if (skipped)
            continue;
        if (strcmp(name, "path") == 0)
            cols[0] = *count;
        if (strcmp(name, "archive") == 0)
            cols[1] = *count;
        sb_add(out, *count ? ", \"" : "\"");
        sb_add(out, name);   /* our own column names: no quote inside */
        sb_add(out, "\"");
        ++*count;
    }
    if (rc != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "reading the schema");
    else if (out->oom)
        ret = ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    else
        ret = IA_OK;
out:
    sqlite3_finalize(st);
    return ret;
}

/* "?3, ?4, ..." for n columns after `first` fixed parameters. */
static void placeholders(sbuf *b, int first, int n)
{
    char num[24];
    for (int i = 0; i < n; i++) {
        ia_bprintf(num, sizeof num, "%s?%d", i ? ", " : "", first + i + 1);
        sb_add(b, num);
    }
}

/* ---- the merge state ------------------------------------------------- */

typedef struct stream {
    const ia_merge_src *src;
    sqlite3_stmt *files;   /* id, <file columns> in id order */
    sqlite3_stmt *finds;   /* file_id, <finding columns> in file_id order */
    sqlite3_stmt *notes;   /* NULL, <finding columns>, no file row */
    int file_row, find_row;
} stream;

typedef struct merger {
    ia_db *db;
    int64_t scan_id;
    int manifest_order;
    int nfile, nfind;      /* copied columns */
    int path_col;          /* in the files cursor (after id) */
    int archive_col;       /* likewise; -1: the schema has none */
    sqlite3_stmt *ins_file, *ins_find;
    stream *s;
    size_t ns;
    size_t *heap;          /* indexes into s, by current path */
    size_t nheap;
    sbuf last;             /* the last place copied (path or archive) */
    const char *last_label;
    const stream *last_stream;
    int last_member;       /* it was an archive's member */
    int have_last;
    uint64_t files;
} merger;

static const char *cur_path(const merger *m, size_t i)
{
    const char *p =
        (const char *)sqlite3_column_text(m->s[i].files, m->path_col + 1);
    return p ? p : "";
}

/* The archive of the shard's current row, or NULL. */
static const char *cur_archive(const merger *m, size_t i)
{
    if (m->archive_col < 0)
        return NULL;
    return (const char *)sqlite3_column_text(m->s[i].files,
                                             m->archive_col + 1);
}

/* Where the current row stands in the walk: its path, or an archive
 * member its archive's (members keep the archive's own order, and one
 * archive is one shard's). */
static const char *cur_place(const merger *m, size_t i)
{
    const char *a = cur_archive(m, i);
    return a ? a : cur_path(m, i);
}

static int path_cmp(const merger *m, const char *a, const char *b)
{
    return m->manifest_order ? strcmp(a, b) : ia_walk_path_cmp(a, b);
}

/* Heap order: path, then shard position (so equal paths pop in a fixed
 * order and the second one is named in the error). */
static int heap_less(const merger *m, size_t a, size_t b)
{
    int c = path_cmp(m, cur_place(m, a), cur_place(m, b));
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(merger *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        if (l < m->nheap && heap_less(m, m->heap[l], m->heap[best]))
            best = l;
        if (r < m->nheap && heap_less(m, m->heap[r], m->heap[best]))
            best = r;
        if (best == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* Steps a shard cursor: *row 1 on a row, 0 at the end. */
static int advance(merger *m, const stream *s, sqlite3_stmt *st, int *row)
{
    int rc = sqlite3_step(st);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return IA_OK;
    return ia_store_fail(m->db, IA_ERR_DB, "reading %s: %s", s->src->label,
                         sqlite3_errmsg(ia_store_sqlite(s->src->db)));
}

static int prepare_src(merger *m, stream *s, const char *sql,
                       sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(ia_store_sqlite(s->src->db), sql, -1, st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_int64(*st, 1,
                           ia_store_rows_scan(s->src->db, s->src->scan_id)) !=
            SQLITE_OK)
        return ia_store_fail(m->db, IA_ERR_DB, "reading %s: %s",
                             s->src->label,
                             sqlite3_errmsg(ia_store_sqlite(s->src->db)));
    return IA_OK;
}

static int prepare_main(merger *m, const char *sql, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(ia_store_sqlite(m->db), sql, -1, st, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(m->db, "preparing the merge");
    return IA_OK;
}

/* Builds the statements: one insert per table on the output, three
 * cursors per shard. */
static int prepare_all(merger *m)
{
    static const char *const file_skip[] = {"id", "scan_id", NULL};
    static const char *const find_skip[] = {"id", "scan_id", "file_id",
                                            NULL};
    sbuf fcols = {0}, gcols = {0}, sql = {0};
    int cols[2], ignored[2], ret = column_list(m->db, "file", file_skip,
                                               &fcols, &m->nfile, cols);
    m->path_col = cols[0];
    m->archive_col = cols[1];
    if (ret == IA_OK)
        ret = column_list(m->db, "finding", find_skip, &gcols, &m->nfind,
                          ignored);
    if (ret == IA_OK && m->path_col < 0)
        ret = ia_store_fail(m->db, IA_ERR_DB, "table file has no path");
    if (ret != IA_OK)
        goto out;
    sb_set(&sql, "INSERT INTO file(scan_id, ");
    sb_add(&sql, fcols.p);
    sb_add(&sql, ") VALUES (?1, ");
    placeholders(&sql, 1, m->nfile);
    sb_add(&sql, ")");
    if (!sql.oom && (ret = prepare_main(m, sql.p, &m->ins_file)) != IA_OK)
        goto out;
    sb_set(&sql, "INSERT INTO finding(scan_id, file_id, ");
    sb_add(&sql, gcols.p);
    sb_add(&sql, ") VALUES (?1, ?2, ");
    placeholders(&sql, 2, m->nfind);
    sb_add(&sql, ")");
    if (!sql.oom && (ret = prepare_main(m, sql.p, &m->ins_find)) != IA_OK)
        goto out;
    for (size_t i = 0; i < m->ns && ret == IA_OK && !sql.oom; i++) {
        /* "+scan_id": no index on scan_id, so the table is read in id
         * order without a sort. */
        sb_set(&sql, "SELECT id, ");
        sb_add(&sql, fcols.p);
        sb_add(&sql, " FROM file WHERE +scan_id = ?1 ORDER BY id");
        if (!sql.oom)
            ret = prepare_src(m, &m->s[i], sql.p, &m->s[i].files);
        sb_set(&sql, "SELECT file_id, ");
        sb_add(&sql, gcols.p);
        sb_add(&sql, " FROM finding WHERE scan_id = ?1 AND stage = 'walk'"
                     " AND file_id IS NOT NULL ORDER BY file_id, id");
        if (ret == IA_OK && !sql.oom)
            ret = prepare_src(m, &m->s[i], sql.p, &m->s[i].finds);
        sb_set(&sql, "SELECT NULL, ");
        sb_add(&sql, gcols.p);
        sb_add(&sql, " FROM finding WHERE scan_id = ?1 AND stage = 'walk'"
                     " AND file_id IS NULL ORDER BY id");
        if (ret == IA_OK && !sql.oom)
            ret = prepare_src(m, &m->s[i], sql.p, &m->s[i].notes);
    }
    if (ret == IA_OK && sql.oom)
        ret = ia_store_fail(m->db, IA_ERR_NOMEM, "out of memory");
out:
    free(fcols.p);
    free(gcols.p);
    free(sql.p);
    return ret;
}

/* ---- copying --------------------------------------------------------- */

/* Inserts the current row of a finding cursor (file_id in column 0 is
 * replaced by file_id here; 0: none). */
static int copy_finding(merger *m, sqlite3_stmt *cur, int64_t file_id)
{
    sqlite3_stmt *ins = m->ins_find;
    int rc = sqlite3_bind_int64(ins, 1, m->scan_id);
    if (rc == SQLITE_OK)
        rc = file_id > 0 ? sqlite3_bind_int64(ins, 2, file_id)
                         : sqlite3_bind_null(ins, 2);
    for (int c = 0; c < m->nfind && rc == SQLITE_OK; c++)
        rc = sqlite3_bind_value(ins, c + 3, sqlite3_column_value(cur, c + 1));
    if (rc == SQLITE_OK)
        rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? IA_OK
                             : ia_store_sqlfail(m->db, "copying a finding");
}

/* The findings of the shard's file src_id, now new_id. Both cursors run
 * in file id order, so this is a merge join. */
static int copy_file_findings(merger *m, stream *s, int64_t src_id,
                              int64_t new_id)
{
    int ret = IA_OK;
    while (ret == IA_OK && s->find_row) {
        int64_t fid = sqlite3_column_int64(s->finds, 0);
        if (fid > src_id)
            break;
        /* fid < src_id would be a finding of a file of another scan:
         * impossible while the foreign keys hold, and skipped. */
        if (fid == src_id)
            ret = copy_finding(m, s->finds, new_id);
        if (ret == IA_OK)
            ret = advance(m, s, s->finds, &s->find_row);
    }
    return ret;
}

/* The output must be strictly increasing in walk order, but for the
 * members of one archive, which follow each other from one shard. */
static int check_order(merger *m, const stream *s, const char *path,
                       int member)
{
    if (m->have_last) {
        int c = path_cmp(m, m->last.p, path);
        if (c == 0 && member && m->last_member && m->last_stream == s)
            return IA_OK;
        if (c == 0)
            return ia_store_fail(m->db, IA_ERR_SHARDS, "'%s' is in two "
                                 "shards (%s and %s): they do not partition "
                                 "one tree", path, m->last_label,
                                 s->src->label);
        if (c > 0)
            return ia_store_fail(m->db, IA_ERR_SHARDS, "%s: '%s' follows "
                                 "'%s', against the walk order (written by "
                                 "another version of imgaudit?)",
                                 s->src->label, path, m->last.p);
    }
    sb_set(&m->last, path);
    if (m->last.oom)
        return ia_store_fail(m->db, IA_ERR_NOMEM, "out of memory");
    m->last_label = s->src->label;
    m->last_stream = s;
    m->last_member = member;
    m->have_last = 1;
    return IA_OK;
}

static int copy_file(merger *m, stream *s)
{
    sqlite3_stmt *ins = m->ins_file, *cur = s->files;
    size_t i = (size_t)(s - m->s);
    int ret = check_order(m, s, cur_place(m, i), cur_archive(m, i) != NULL);
    if (ret != IA_OK)
        return ret;
    int rc = sqlite3_bind_int64(ins, 1, m->scan_id);
    for (int c = 0; c < m->nfile && rc == SQLITE_OK; c++)
        rc = sqlite3_bind_value(ins, c + 2, sqlite3_column_value(cur, c + 1));
    if (rc == SQLITE_OK)
        rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE)
        return ia_store_sqlfail(m->db, "copying a file row");
    int64_t new_id = sqlite3_last_insert_rowid(ia_store_sqlite(m->db));
    m->files++;
    return copy_file_findings(m, s, sqlite3_column_int64(cur, 0), new_id);
}

static int exec_main(merger *m, const char *sql)
{
    if (sqlite3_exec(ia_store_sqlite(m->db), sql, NULL, NULL, NULL) !=
        SQLITE_OK)
        return ia_store_sqlfail(m->db, "merging");
    return IA_OK;
}

/* Starts every cursor and fills the heap. */
static int start(merger *m)
{
    int ret = IA_OK;
    for (size_t i = 0; i < m->ns && ret == IA_OK; i++) {
        ret = advance(m, &m->s[i], m->s[i].files, &m->s[i].file_row);
        if (ret == IA_OK)
            ret = advance(m, &m->s[i], m->s[i].finds, &m->s[i].find_row);
        if (ret == IA_OK && m->s[i].file_row)
            m->heap[m->nheap++] = i;
    }
    for (size_t i = m->nheap; i-- > 0;)
        sift_down(m, i);
    return ret;
}

static int merge_files(merger *m)
{
    int ret = start(m);
    while (ret == IA_OK && m->nheap > 0) {
        stream *s = &m->s[m->heap[0]];
        ret = copy_file(m, s);
        if (ret == IA_OK)
            ret = advance(m, s, s->files, &s->file_row);
        if (ret != IA_OK)
            break;
        if (!s->file_row)
            m->heap[0] = m->heap[--m->nheap];
        sift_down(m, 0);
        if (m->files % IA_STORE_BATCH == 0)
            ret = exec_main(m, "COMMIT; BEGIN IMMEDIATE");
    }
    return ret;
}

/* Notes about paths that are not files, shard by shard, in stored order
 * (reports order findings by code and path, so only the order of notes
 * on one path matters, and one path is in one shard). */
static int merge_notes(merger *m)
{
    int ret = IA_OK;
    for (size_t i = 0; i < m->ns && ret == IA_OK; i++) {
        int row = 0;
        ret = advance(m, &m->s[i], m->s[i].notes, &row);
        while (ret == IA_OK && row) {
            ret = copy_finding(m, m->s[i].notes, 0);
            if (ret == IA_OK)
                ret = advance(m, &m->s[i], m->s[i].notes, &row);
        }
    }
    return ret;
}

static void merger_release(merger *m)
{
    for (size_t i = 0; m->s && i < m->ns; i++) {
        sqlite3_finalize(m->s[i].files);
        sqlite3_finalize(m->s[i].finds);
        sqlite3_finalize(m->s[i].notes);
    }
    sqlite3_finalize(m->ins_file);
    sqlite3_finalize(m->ins_find);
    free(m->s);
    free(m->heap);
    free(m->last.p);
}

/* A scan a merge begins is identified by what it is made of: the shard
 * set's root, layout, options, tool version and earliest started_at; it
 * is not a shard itself. Unfinished (finished_at NULL) it can only be
 * what a killed run left, since the caller holds the writer lock. */
int ia_store_merge_orphans(ia_db *db, const ia_scan_meta *m, int64_t *removed)
{
    static const char sql[] =
        "DELETE FROM scan WHERE complete = 0 AND finished_at IS NULL"
        " AND shard_n IS NULL AND root = ?1 AND layout = ?2"
        " AND options = ?3 AND tool_version = ?4 AND started_at = ?5";
    sqlite3 *conn = ia_store_sqlite(db);
    sqlite3_stmt *st = NULL;
    const char *const vals[] = {m->root, m->layout, m->options_json,
                                m->tool_version, m->started_at};
    int ret = IA_OK;
    *removed = 0;
    if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK)
        return ia_store_sqlfail(db, "removing an unfinished merge");
    for (int i = 0; i < 5; i++)
        sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_STATIC);
    /* foreign_keys is on: the scan's rows in every table go with it. */
    if (sqlite3_step(st) != SQLITE_DONE)
        ret = ia_store_sqlfail(db, "removing an unfinished merge");
    else
        *removed = sqlite3_changes64(conn);
    sqlite3_finalize(st);
    return ret;
}

int ia_store_merge_discard(ia_db *db, int64_t scan_id)
{
    sqlite3 *conn = ia_store_sqlite(db);
    sqlite3_stmt *st = NULL;
    int ret = IA_ERR_DB;
    if (!sqlite3_get_autocommit(conn))
        sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
    /* foreign_keys is on: the scan's rows in every table go with it. */
    if (sqlite3_prepare_v2(conn, "DELETE FROM scan WHERE id = ?1", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_bind_int64(st, 1, scan_id) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_DONE)
        ret = IA_OK;
    sqlite3_finalize(st);
    return ret;
}

int ia_store_merge_rows(ia_db *db, int64_t scan_id, const ia_merge_src *src,
                        size_t nsrc, int manifest_order, uint64_t *files)
{
    merger m = {.db = db, .scan_id = scan_id,
                .manifest_order = manifest_order, .ns = nsrc};
    int ret = IA_ERR_NOMEM;
    m.s = calloc(nsrc ? nsrc : 1, sizeof *m.s);
    m.heap = calloc(nsrc ? nsrc : 1, sizeof *m.heap);
    if (!m.s || !m.heap) {
        ia_store_fail(db, ret, "out of memory");
        goto out;
    }
    ret = IA_OK;
    for (size_t i = 0; i < nsrc && ret == IA_OK; i++) {
        m.s[i].src = &src[i];
        /* Cursors read each shard once, in order: a small cache will do,
         * and hundreds of shards stay within memory. */
        if (sqlite3_exec(ia_store_sqlite(src[i].db),
                         "PRAGMA cache_size = -512", NULL, NULL, NULL) !=
            SQLITE_OK)
            ret = ia_store_fail(db, IA_ERR_DB, "reading %s: %s",
                                src[i].label,
                                sqlite3_errmsg(ia_store_sqlite(src[i].db)));
    }
    if (ret == IA_OK)
        ret = prepare_all(&m);
    if (ret == IA_OK)
        ret = exec_main(&m, "BEGIN IMMEDIATE");
    if (ret == IA_OK)
        ret = merge_files(&m);
    if (ret == IA_OK)
        ret = merge_notes(&m);
    if (ret == IA_OK)
        ret = exec_main(&m, "COMMIT");
    if (ret != IA_OK && !sqlite3_get_autocommit(ia_store_sqlite(db)))
        sqlite3_exec(ia_store_sqlite(db), "ROLLBACK", NULL, NULL, NULL);
out:
    if (ret == IA_OK && files)
        *files = m.files;
    merger_release(&m);
    return ret;
}
