/*
 * The CSV manifest (--manifest FILE.csv, DESIGN.md "Layouts"): a header
 * naming at least `path` and `label` (any order, case-insensitive, extra
 * columns ignored), optionally `split`; one file per row.
 *
 * - Parsed with libcsv, fed in 4 KiB slices from 64 KiB reads. Options:
 *   not CSV_STRICT, and no character counts as a space, so a field reads
 *   as Python's csv module (what pandas and most manifest writers use)
 *   reads it: quoted fields may hold commas, quotes and newlines, a stray
 *   quote in an unquoted field is kept, leading and trailing spaces are
 *   kept (a file name may start with one). A leading UTF-8 BOM is dropped.
 * - Field length is bounded (IA_MANIFEST_FIELD_MAX): libcsv has no limit
 *   of its own, so after each slice a field that grew past it is cut back
 *   in the parser's own (public) buffer; the row becomes a MANIFEST_ROW.
 *   At most one slice past the limit is ever buffered.
 * - The rows must be returned sorted by path, so all are kept: one record
 *   per row (offsets into one string arena, no allocation per row); the
 *   number of rows is bounded by memory only.
 * - Paths are resolved lexically ("." and ".." folded, no realpath: a
 *   listed file may not exist) against the CSV's folder, then made
 *   relative to the root. Both the spelling given and realpath() of the
 *   root and of the CSV's folder are tried, so symlinked spellings of
 *   either still match. Not under the root: OUTSIDE_ROOT, or, with
 *   allow_outside, the absolute path as relpath and fullpath.
 * - A row shorter than the header, with a cut field, an empty path or a
 *   NUL byte is a MANIFEST_ROW (with its line number); the second and
 *   later rows naming the same file are MANIFEST_ROW "listed twice". An
 *   empty label means no label (outside_class = 1), an empty split none.
 * - Files are lstat'ed when returned, as the walk does (ia_walk_classify):
 *   missing -> MISSING, FIFO -> SPECIAL, symlinks per follow_symlinks, a
 *   folder -> MANIFEST_ROW. The lstat is made in the file's folder, opened
 *   beneath the root (core/core.h): the text of a path under the
 *   root says nothing of a symlinked folder on it, which without
 *   follow_symlinks makes the row a SYMLINK_SKIPPED naming that folder,
 *   as the walk would have stopped there. (The reader opens the file
 *   beneath the root again: what changes in between is refused there.)
 */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgaudit.h"
#include "walk/source.h"
#include "core/core.h"

#define NONE SIZE_MAX
#define READ_CHUNK ((size_t)64 * 1024)
#define PARSE_SLICE ((size_t)4096)
/* libcsv's parser state "a quote was seen inside a quoted field" (csv.c);
 * its buffer then ends with that quote, which libcsv later drops. */
#define LIBCSV_FIELD_MIGHT_HAVE_ENDED 3

enum { COL_PATH, COL_LABEL, COL_SPLIT, NCOLS };
static const char *const col_names[NCOLS] = {"path", "label", "split"};

enum { ROW_OK, ROW_OUTSIDE, ROW_SHORT, ROW_LONG, ROW_EMPTY_PATH, ROW_NUL };

typedef struct mrow {
    size_t path;           /* arena offsets; NONE: absent */
    size_t label, split;
    const char *key;       /* path, or "" (set once the arena is final) */
    uint64_t line;
    unsigned char problem; /* ROW_* */
    unsigned char outside; /* path is absolute, outside the root */
    unsigned char missing; /* ROW_SHORT: the COL_* absent */
} mrow;

typedef struct ia_manifest ia_manifest;

struct ia_manifest {
    char *root;            /* root prefix: fullpath = root + "/" + rel */
    int rootfd;            /* the root, borrowed from the walker */
    int follow;
    char *arena;
    size_t arena_len, arena_cap;
    mrow *rows;
    size_t nrows, rows_cap;
    size_t next;
    char *dir;             /* the folder of the row at hand (scratch) */
    size_t dir_cap;
    const char *run_key;   /* duplicate detection over sorted rows */
    uint64_t run_line;
};

typedef struct parse {
    ia_manifest *m;
    int allow_outside;
    char *roots[2];        /* root: lexical absolute, realpath */
    char *dirs[2];         /* the CSV's folder, same two forms */
    size_t col[NCOLS];
    int header_done, header_bad;
    size_t field;          /* index of the field in its row */
    int row_started, prev_term;
    uint64_t line, row_line, cut_lines;
    int field_long, row_long;
    char *rowbuf;
    size_t rowbuf_len, rowbuf_cap;
    size_t off[NCOLS], len[NCOLS];
    int have[NCOLS];
    char *cand, *norm;     /* path resolution scratch */
    size_t cand_cap, norm_cap;
    int err;               /* IA_ERR_NOMEM once out of memory */
} parse;

/* ---- paths -------------------------------------------------------------- */

/* Folds "", "." and ".." components of the absolute path s into out (at
 * least strlen(s) + 2 bytes): "/a/b" or "/". */
static void normalize(const char *s, char *out)
{
    size_t n = 0;
    while (*s) {
        const char *c;
        size_t cl;
        while (*s == '/')
            s++;
        c = s;
        while (*s && *s != '/')
            s++;
        cl = (size_t)(s - c);
        if (cl == 0 || (cl == 1 && c[0] == '.'))
            continue;
        if (cl == 2 && c[0] == '.' && c[1] == '.') {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
            continue;
        }
        out[n++] = '/';
        memcpy(out + n, c, cl);
        n += cl;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
}

/* The lexical absolute form of path (relative to the current folder). */
static char *abs_lexical(const char *path)
{
    char *cwd = NULL, *joined = NULL, *out = NULL;
    size_t n;
    if (path[0] != '/') {
        cwd = getcwd(NULL, 0);
        if (!cwd)
            goto out;
        joined = ia_walk_fullpath(cwd, path);
        if (!joined)
            goto out;
        path = joined;
    }
    n = strlen(path);
    out = n < SIZE_MAX - 2 ? malloc(n + 2) : NULL;
    if (out)
        normalize(path, out);
out:
    free(cwd);
    free(joined);
    return out;
}

/* relpath of the normalized absolute path cand under root, or NULL. */
static const char *under(const char *cand, const char *root)
{
    size_t rl = strlen(root);
    if (rl == 1) /* "/" */
        return cand + 1;
    if (strncmp(cand, root, rl) != 0 || (cand[rl] != '/' && cand[rl] != '\0'))
        return NULL;
    return cand[rl] ? cand + rl + 1 : cand + rl;
}

/* Forms both the lexical and the real absolute path of dir; the real one
 * falls back to the lexical one when realpath fails. */
static int two_forms(const char *dir, char *forms[2])
{
    forms[0] = abs_lexical(dir);
    forms[1] = realpath(dir, NULL);
    if (!forms[1] && forms[0])
        forms[1] = ia_strdup(forms[0]);
    return forms[0] && forms[1] ? 0 : IA_ERR_NOMEM;
}

/* ---- rows --------------------------------------------------------------- */

static size_t arena_add(parse *p, const char *s, size_t len)
{
    ia_manifest *m = p->m;
    size_t at = m->arena_len, need;
    if (__builtin_add_overflow(at, len, &need) ||
        __builtin_add_overflow(need, 1, &need) ||
        ia_walk_grow((void **)&m->arena, &m->arena_cap, need, 1) != 0) {
        p->err = IA_ERR_NOMEM;
        return NONE;
    }
    memcpy(m->arena + at, s, len);
    m->arena[at + len] = '\0';
    m->arena_len = need;
    return at;
}

/* base + "/" + path, normalized into p->norm. */
static int build_candidate(parse *p, const char *base, const char *path,
                           size_t len)
{
    size_t bl = base ? strlen(base) : 0, n;
    if (__builtin_add_overflow(bl, len, &n) ||
        __builtin_add_overflow(n, 3, &n) ||
        ia_walk_grow((void **)&p->cand, &p->cand_cap, n, 1) != 0 ||
        ia_walk_grow((void **)&p->norm, &p->norm_cap, n, 1) != 0)
        return IA_ERR_NOMEM;
    if (bl)
        memcpy(p->cand, base, bl);
    p->cand[bl] = '/';
    memcpy(p->cand + bl + 1, path, len);
    p->cand[bl + 1 + len] = '\0';
    normalize(p->cand, p->norm);
    return 0;
}

/* Sets r->path (relative to the root, or absolute with r->outside). */
static void resolve(parse *p, const char *path, size_t len, mrow *r)
{
    int absolute = path[0] == '/';
    for (int d = 0; d < (absolute ? 1 : 2); d++) {
        if (build_candidate(p, absolute ? NULL : p->dirs[d], path, len)) {
            p->err = IA_ERR_NOMEM;
            return;
        }
        for (int k = 0; k < 2; k++) {
            const char *rel = under(p->norm, p->roots[k]);
            if (rel) {
                r->path = arena_add(p, rel, strlen(rel));
                return;
            }
        }
    }
    if (!absolute && build_candidate(p, p->dirs[0], path, len)) {
        p->err = IA_ERR_NOMEM;
        return;
    }
    r->outside = 1;
    r->problem = p->allow_outside ? ROW_OK : ROW_OUTSIDE;
    r->path = arena_add(p, p->norm, strlen(p->norm));
}

static int row_problem(const parse *p, mrow *r)
{
    for (int k = 0; k < NCOLS; k++)
        if (p->col[k] != NONE && !p->have[k]) {
            r->missing = (unsigned char)k;
            return ROW_SHORT;
        }
    if (p->row_long)
        return ROW_LONG;
    if (p->len[COL_PATH] == 0)
        return ROW_EMPTY_PATH;
    for (int k = 0; k < NCOLS; k++)
        if (p->have[k] && memchr(p->rowbuf + p->off[k], 0, p->len[k]))
            return ROW_NUL;
    return ROW_OK;
}

static void add_row(parse *p)
{
    ia_manifest *m = p->m;
    mrow r = {NONE, NONE, NONE, NULL, p->row_line, ROW_OK, 0, 0};
    r.problem = (unsigned char)row_problem(p, &r);
    if (r.problem == ROW_OK) {
        resolve(p, p->rowbuf + p->off[COL_PATH], p->len[COL_PATH], &r);
        if (p->len[COL_LABEL])
            r.label = arena_add(p, p->rowbuf + p->off[COL_LABEL],
                                p->len[COL_LABEL]);
        if (p->have[COL_SPLIT] && p->len[COL_SPLIT])
            r.split = arena_add(p, p->rowbuf + p->off[COL_SPLIT],
                                p->len[COL_SPLIT]);
    }
    if (p->err)
        return;
    if (ia_walk_grow((void **)&m->rows, &m->rows_cap, m->nrows + 1,
                     sizeof *m->rows) != 0) {
        p->err = IA_ERR_NOMEM;
        return;
    }
    m->rows[m->nrows++] = r;
}

/* ---- libcsv callbacks ------------------------------------------------------ */

static uint64_t count_newlines(const void *s, size_t len)
{
    const char *c = s, *end = c + len;
    uint64_t n = 0;
    while (c < end && (c = memchr(c, '\n', (size_t)(end - c))) != NULL) {
        n++;
        c++;
    }
    return n;
}

static int header_name_is(const char *s, size_t len, const char *name)
{
    size_t nl = strlen(name);
    char buf[8];
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len != nl || nl >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return ia_strcaseeq(buf, name);
}

static void data_field(parse *p, const char *s, size_t len, size_t idx)
{
    for (int k = 0; k < NCOLS; k++) {
        if (p->col[k] != idx)
            continue;
        p->have[k] = 1;
        if (p->field_long) {
            p->row_long = 1;
            return;
        }
        if (ia_walk_grow((void **)&p->rowbuf, &p->rowbuf_cap,
                         p->rowbuf_len + len + 1, 1) != 0) {
            p->err = IA_ERR_NOMEM;
            return;
        }
        if (len)
            memcpy(p->rowbuf + p->rowbuf_len, s, len);
        p->off[k] = p->rowbuf_len;
        p->len[k] = len;
        p->rowbuf_len += len;
    }
}

static void on_field(void *s, size_t len, void *data)
{
    parse *p = data;
    size_t idx = p->field++;
    if (p->err)
        return;
    if (!p->row_started) {
        p->row_started = 1;
        p->row_line = p->line;
    }
    p->line += count_newlines(s, len) + p->cut_lines;
    p->cut_lines = 0;
    if (!p->header_done) {
        for (int k = 0; k < NCOLS; k++)
            if (p->col[k] == NONE && !p->field_long &&
                header_name_is(s, len, col_names[k]))
                p->col[k] = idx;
    } else {
        data_field(p, s, len, idx);
    }
    p->field_long = 0;
}

static void on_row(int c, void *data)
{
    parse *p = data;
    if (p->err)
        return;
    if (p->row_started) {
        if (p->header_done) {
            add_row(p);
        } else {
            p->header_done = 1;
            p->header_bad = p->col[COL_PATH] == NONE ||
                            p->col[COL_LABEL] == NONE;
        }
    }
    /* \r\n ends one line: the \n arrives as an empty row of its own */
    if (c == '\r' || (c == '\n' && (p->row_started || p->prev_term != '\r')))
        p->line++;
    p->prev_term = c;
    p->row_started = 0;
    p->field = 0;
    p->row_long = 0;
    p->rowbuf_len = 0;
    memset(p->have, 0, sizeof p->have);
    memset(p->len, 0, sizeof p->len);
}

static int never_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* ---- reading -------------------------------------------------------------- */

/* Cuts back a field that grew past the limit (see the top comment). */
static void cut_long_field(parse *p, struct csv_parser *csv)
{
    size_t keep;
    if (csv->entry_pos <= IA_MANIFEST_FIELD_MAX)
        return;
    keep = csv->pstate == LIBCSV_FIELD_MIGHT_HAVE_ENDED ? 1 : 0;
    p->cut_lines += count_newlines(csv->entry_buf, csv->entry_pos - keep);
    if (keep)
        csv->entry_buf[0] = csv->entry_buf[csv->entry_pos - 1];
    csv->entry_pos = keep;
    csv->spaces = 0;
    p->field_long = 1;
}

static void feed(parse *p, struct csv_parser *csv, const char *s, size_t len)
{
    while (len && !p->err && !p->header_bad) {
        size_t n = len < PARSE_SLICE ? len : PARSE_SLICE;
        if (csv_parse(csv, s, n, on_field, on_row, p) != n) {
            p->err = IA_ERR_NOMEM; /* the only failure when not strict */
            return;
        }
        cut_long_field(p, csv);
        s += n;
        len -= n;
    }
}

static int read_csv(parse *p, FILE *fp, const char *path, char *err,
                    size_t errcap)
{
    struct csv_parser csv;
    char *buf = malloc(READ_CHUNK);
    int rc = IA_ERR_NOMEM, first = 1;
    size_t n;
    if (!buf || csv_init(&csv, CSV_REPALL_NL) != 0) {
        free(buf);
        return IA_ERR_NOMEM;
    }
    csv_set_space_func(&csv, never_space);
    csv_set_blk_size(&csv, PARSE_SLICE);
    while (!p->err && !p->header_bad && (n = fread(buf, 1, READ_CHUNK, fp))) {
        size_t skip = first && n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
        first = 0;
        feed(p, &csv, buf + skip, n - skip);
    }
    if (!p->err && !p->header_bad && ferror(fp)) {
        ia_bprintf(err, errcap, "cannot read manifest '%s'", path);
        rc = IA_ERR_MANIFEST;
        goto out;
    }
    if (!p->err && !p->header_bad)
        csv_fini(&csv, on_field, on_row, p);
    rc = p->err;
out:
    csv_free(&csv);
    free(buf);
    return rc;
}

static int cmp_rows(const void *a, const void *b)
{
    const mrow *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int check_header(const parse *p, const char *path, char *err,
                        size_t errcap)
{
    if (!p->header_done) {
        ia_bprintf(err, errcap, "manifest '%s' has no header row "
                   "(need path and label columns)", path);
        return IA_ERR_MANIFEST;
    }
    if (p->header_bad) {
        ia_bprintf(err, errcap, "manifest '%s': the header names no '%s' "
                   "column (need path and label)", path,
                   p->col[COL_PATH] == NONE ? "path" : "label");
        return IA_ERR_MANIFEST;
    }
    return 0;
}

/* The folder holding the CSV, as a path ("." when none is given). */
static char *csv_folder(const char *csv_path)
{
    const char *slash = strrchr(csv_path, '/');
    char *d;
    if (!slash)
        return ia_strdup(".");
    if (slash == csv_path)
        return ia_strdup("/");
    d = malloc((size_t)(slash - csv_path) + 1);
    if (d) {
        memcpy(d, csv_path, (size_t)(slash - csv_path));
        d[slash - csv_path] = '\0';
    }
    return d;
}

static int setup_paths(parse *p, const char *csv_path, const char *root)
{
    char *dir = csv_folder(csv_path);
    int rc = IA_ERR_NOMEM;
    if (!dir)
        return rc;
    if (two_forms(root[0] ? root : "/", p->roots) == 0 &&
        two_forms(dir, p->dirs) == 0)
        rc = 0;
    free(dir);
    return rc;
}

static void parse_release(parse *p)
{
    for (int k = 0; k < 2; k++) {
        free(p->roots[k]);
        free(p->dirs[k]);
    }
    free(p->rowbuf);
    free(p->cand);
    free(p->norm);
}

static void manifest_close(void *self)
{
    ia_manifest *m = self;
    if (!m)
        return;
    free(m->root);
    free(m->arena);
    free(m->rows);
    free(m->dir);
    free(m);
}

static const char *manifest_layout(const void *self)
{
    (void)self;
    return "manifest";
}

static int manifest_next(void *self, ia_entry **out);

static const ia_source_ops manifest_ops = {
    manifest_next, manifest_layout, manifest_close,
};

int ia_manifest_open(const char *csv_path, const char *root_prefix,
                     int rootfd, int follow_symlinks, int allow_outside,
                     ia_source *out, char *err, size_t errcap)
{
    parse p;
    FILE *fp = NULL;
    ia_manifest *m = calloc(1, sizeof *m);
    int rc = IA_ERR_NOMEM;
    memset(&p, 0, sizeof p);
    for (int k = 0; k < NCOLS; k++)
        p.col[k] = NONE;
    p.line = 1;
    p.m = m;
    p.allow_outside = allow_outside;
    if (!m || !(m->root = ia_strdup(root_prefix)) ||
        setup_paths(&p, csv_path, root_prefix) != 0)
        goto out;
    m->rootfd = rootfd;
    m->follow = follow_symlinks;
    fp = fopen(csv_path, "rb");
    if (!fp) {
        char why[96];
        ia_walk_errstr(errno, why, sizeof why);
        ia_bprintf(err, errcap, "cannot open manifest '%s': %s", csv_path,
                   why);
        rc = IA_ERR_MANIFEST;
        goto out;
    }
    rc = read_csv(&p, fp, csv_path, err, errcap);
    if (rc == 0)
        rc = check_header(&p, csv_path, err, errcap);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < m->nrows; i++)
        m->rows[i].key = m->rows[i].path == NONE ? "" : m->arena + m->rows[i].path;
    if (m->nrows)
        ia_qsort(m->rows, m->nrows, sizeof *m->rows, cmp_rows);
    out->ops = &manifest_ops;
    out->self = m;
    m = NULL;
out:
    if (fp)
        fclose(fp);
    parse_release(&p);
    manifest_close(m);
    return rc;
}

/* ---- entries ---------------------------------------------------------------- */

static const char *row_str(const ia_manifest *m, size_t off)
{
    return off == NONE ? NULL : m->arena + off;
}

/* The folder of the relative path key, opened beneath the root (the root
 * itself for a name at the top), copied into m->dir; *name: the file's
 * name in it ("." for the empty key, the root itself). -1 with errno when
 * it cannot be opened (EXDEV, ELOOP: a symlink on the way); -2 when out
 * of memory. */
static int open_folder(ia_manifest *m, const char *key, const char **name)
{
    const char *slash = strrchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : 0;
    *name = slash ? slash + 1 : *key ? key : ".";
    if (!slash)
        return m->rootfd;
    if (ia_walk_grow((void **)&m->dir, &m->dir_cap, n + 1, 1) != 0)
        return -2;
    memcpy(m->dir, key, n);
    m->dir[n] = '\0';
    return ia_open_beneath(m->rootfd, m->dir, O_PATH | O_DIRECTORY |
                           O_CLOEXEC, m->follow);
}

/* m->dir goes through a symlink: the detail names the first one. */
static void through_link(ia_manifest *m, const mrow *r, ia_entry *e)
{
    struct stat st;
    for (char *c = m->dir;; c++) {
        char was = *c;
        if (was != '/' && was != '\0')
            continue;
        *c = '\0';
        int link = fstatat(m->rootfd, m->dir, &st,
                           AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        if (link || !was)
            break;
        *c = was;
    }
    e->kind = IA_ENT_SYMLINK_SKIPPED;
    ia_bprintf(e->detail, sizeof e->detail, "line %" PRIu64 ": goes "
               "through the symlink '%s' (not followed without "
               "--follow-symlinks)", r->line, m->dir);
}

/* Kind and detail of a row that names a file. 0 or IA_ERR_NOMEM. */
static int classify_row(ia_manifest *m, const mrow *r, ia_entry *e)
{
    struct stat st;
    char why[96];
    const char *name = e->fullpath;
    int is_dir, via_link, rc, dirfd = AT_FDCWD;
    if (m->run_key && !strcmp(m->run_key, r->key)) {
        e->kind = IA_ENT_MANIFEST_ROW;
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": listed twice (first at line %" PRIu64
                   ")", r->line, m->run_line);
        return 0;
    }
    m->run_key = r->key;
    m->run_line = r->line;
    if (r->problem == ROW_OUTSIDE) {
        e->kind = IA_ENT_OUTSIDE_ROOT;
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": path is outside the root", r->line);
        return 0;
    }
    if (!r->outside && (dirfd = open_folder(m, r->key, &name)) == -2)
        return IA_ERR_NOMEM;
    if (dirfd == -1 && !m->follow && (errno == EXDEV || errno == ELOOP)) {
        through_link(m, r, e);
        return 0;
    }
    rc = dirfd == -1 ? errno
                     : ia_walk_classify(dirfd, name, m->follow, e, &st,
                                        &is_dir, &via_link);
    if (dirfd >= 0 && dirfd != m->rootfd)
        close(dirfd);
    if (rc == ENOENT || rc == ENOTDIR) {
        e->kind = IA_ENT_MISSING;
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": no such file", r->line);
    } else if (rc != 0) {
        e->kind = IA_ENT_FILE;
        ia_walk_errstr(rc, why, sizeof why);
        ia_bprintf(e->detail, sizeof e->detail, "lstat failed: %s", why);
    } else if (is_dir) {
        e->kind = IA_ENT_MANIFEST_ROW;
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": names a folder, not a file", r->line);
    }
    return 0;
}

static void bad_row_detail(const mrow *r, ia_entry *e)
{
    e->kind = IA_ENT_MANIFEST_ROW;
    switch (r->problem) {
    case ROW_SHORT:
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": no '%s' field (fewer fields than the "
                   "header)", r->line, col_names[r->missing]);
        break;
    case ROW_LONG:
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": a field is longer than %zu bytes",
                   r->line, IA_MANIFEST_FIELD_MAX);
        break;
    case ROW_EMPTY_PATH:
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": empty path", r->line);
        break;
    default:
        ia_bprintf(e->detail, sizeof e->detail,
                   "line %" PRIu64 ": a field contains a NUL byte", r->line);
        break;
    }
}

static int manifest_next(void *self, ia_entry **out)
{
    ia_manifest *m = self;
    const mrow *r;
    ia_entry *e;
    const char *split, *label;
    if (m->next == m->nrows)
        return 0;
    r = &m->rows[m->next];
    split = row_str(m, r->split);
    label = row_str(m, r->label);
    e = calloc(1, sizeof *e);
    if (!e)
        return -IA_ERR_NOMEM;
    e->relpath = ia_strdup(r->key);
    if (r->path == NONE || r->outside)
        e->fullpath = ia_strdup(r->key);
    else
        e->fullpath = ia_walk_fullpath(m->root, r->key);
    e->split = ia_strdup(split);
    e->label = ia_strdup(label);
    if (!e->relpath || !e->fullpath || (split && !e->split) ||
        (label && !e->label)) {
        ia_entry_free(e);
        return -IA_ERR_NOMEM;
    }
    e->split_canonical = ia_split_canonical(split);
    e->outside_class = label == NULL;
    if (r->path == NONE) {
        bad_row_detail(r, e);
    } else if (classify_row(m, r, e) != 0) {
        ia_entry_free(e);
        return -IA_ERR_NOMEM;
    }
    m->next++;
    *out = e;
    return 1;
}

