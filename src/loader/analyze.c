/*
 * After the walk: every profile judges every file of the scan and numbers
 * the classes of every split, as the loader would (docs/loaders.md).
 *
 * Two passes, since a skip's severity depends on its class: the first
 * reads every file row (in id order) and tallies, per
 * (split, class folder) group, the files each profile lists, noting the
 * ids of the files some profile has something to say about; the class
 * tables and the class-level findings follow from the tally; the second
 * pass reads back only the noted files, by split, label and id, and
 * stores their findings. (Reading every row twice was most of this step's
 * time at a million files: docs/performance.md.) Memory is one record
 * per class folder and 8 bytes per noted file. Every finding names its
 * profile (finding.loader, and its detail opens with the name), since a
 * report may show several.
 *
 * Severities follow the damage (docs/findings.md): a loader that raises
 * stops training (loader_fails, error); damaged pixels reach the model
 * unseen (loader_damaged, error); a skipped file is lost data (warning),
 * and an error when its class is left with nothing listed: the class then
 * vanishes from training or, for torchvision, the dataset raises.
 */
#include <stdlib.h>
#include <string.h>

#include "imgaudit.h"
#include "loader/profile.h"

typedef struct group {
    char *split, *label;
    uint64_t files;
    uint64_t listed[IA_LOADER_COUNT];
    int64_t idx[IA_LOADER_COUNT];   /* -1: not a class for the profile */
} group;

typedef struct lctx {
    ia_db *db;
    int64_t scan_id;
    group *g;
    size_t n, cap;
    char **bare;        /* splits with files outside any class folder */
    size_t nbare, bare_cap;
    int64_t *noted;     /* files with a finding to store, in id order */
    size_t nnoted, noted_cap;
    size_t last;        /* the group pass 1 found last */
} lctx;

#define MAX_NAMED 5     /* classes named in one detail */

/* ---- the groups --------------------------------------------------------- */

static int cmp_group(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    int d = strcmp(a->split, b->split);
    return d ? d : strcmp(a->label, b->label);
}

static group *add_group(lctx *c, const char *split, const char *label)
{
    group *v = ia_grow(c->g, &c->cap, c->n + 1, sizeof *v, 16);
    if (!v)
        return NULL;
    c->g = v;
    group *g = &v[c->n];
    memset(g, 0, sizeof *g);
    g->split = ia_strdup(split);
    g->label = ia_strdup(label);
    if (!g->split || !g->label) {
        free(g->split);
        free(g->label);
        return NULL;
    }
    c->n++;
    return g;
}

typedef struct gkey {
    const char *split, *label;
} gkey;

static int cmp_key(const void *pk, const void *pg)
{
    const gkey *k = pk;
    const group *g = pg;
    int d = strcmp(k->split, g->split);
    return d ? d : strcmp(k->label, g->label);
}

static group *find_group(const lctx *c, const char *split, const char *label)
{
    gkey key = {split, label};
    /* no groups yet: c->g is NULL, which bsearch may not be given */
    return c->n ? bsearch(&key, c->g, c->n, sizeof *c->g, cmp_key) : NULL;
}

/* A split with files outside any class folder; the list is kept sorted
 * and without repeats (rows come in id order, not by split). */
static int note_bare(lctx *c, const char *split)
{
    size_t lo = 0, hi = c->nbare;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(split, c->bare[mid]);
        if (d == 0)
            return IA_OK;
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    char **v = ia_grow(c->bare, &c->bare_cap, c->nbare + 1, sizeof *v, 4);
    if (!v)
        return IA_ERR_NOMEM;
    c->bare = v;
    char *copy = ia_strdup(split);
    if (!copy)
        return IA_ERR_NOMEM;
    memmove(&v[lo + 1], &v[lo], (c->nbare - lo) * sizeof *v);
    v[lo] = copy;
    c->nbare++;
    return IA_OK;
}

/* Whether file_findings would store anything for this verdict. */
static int says_something(const ia_loader_verdict *v)
{
    return v->outcome == IA_LD_SKIPS || v->outcome == IA_LD_FAILS ||
           v->outcome == IA_LD_DAMAGED || v->sideways;
}

static int note_file(lctx *c, int64_t file_id)
{
    int64_t *v = ia_grow(c->noted, &c->noted_cap, c->nnoted + 1, sizeof *v,
                         256);
    if (!v)
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    c->noted = v;
    c->noted[c->nnoted++] = file_id;
    return IA_OK;
}

/* The group of (split, label), made if new. Rows come in id order, which
 * is mostly folder by folder, so the last group found is tried first; the
 * groups are kept sorted (cmp_group) for the lookups. */
static group *group_of(lctx *c, const char *split, const char *label)
{
    gkey key = {split, label};
    if (c->last < c->n && cmp_key(&key, &c->g[c->last]) == 0)
        return &c->g[c->last];
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = cmp_key(&key, &c->g[mid]);
        if (d == 0)
            return &c->g[c->last = mid];
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (!add_group(c, split, label))
        return NULL;
    group made = c->g[c->n - 1];
    memmove(&c->g[lo + 1], &c->g[lo], (c->n - 1 - lo) * sizeof *c->g);
    c->g[lo] = made;
    return &c->g[c->last = lo];
}

/* Pass 1: every row, in id order (no sort of a million rows). */
static int tally_row(void *user, const ia_loader_row *r)
{
    lctx *c = user;
    ia_loader_verdict v;
    group *g = NULL;
    int noted = 0;
    if (r->outside_class || !*r->label) {
        if (note_bare(c, r->split) != IA_OK)
            return IA_ERR_NOMEM;
    } else if (!(g = group_of(c, r->split, r->label))) {
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    }
    if (g)
        g->files++;
    for (int p = 0; p < IA_LOADER_COUNT; p++) {
        ia_loader_judge(p, r, &v);
        if (g)
            g->listed[p] += v.outcome != IA_LD_SKIPS;
        noted |= says_something(&v);
    }
    return noted ? note_file(c, r->file_id) : IA_OK;
}

/* An empty class folder the walk noted: "split/label" or "label". */
static int tally_empty(void *user, const ia_loader_row *r)
{
    lctx *c = user;
    const char *slash = strchr(r->path, '/');
    char split[256] = "";
    if (slash && (size_t)(slash - r->path) < sizeof split)
        memcpy(split, r->path, (size_t)(slash - r->path));
    if (slash && strchr(slash + 1, '/'))
        return IA_OK;
    if (!add_group(c, split, slash ? slash + 1 : r->path))
        return ia_store_fail(c->db, IA_ERR_NOMEM, "out of memory");
    return IA_OK;
}

/* ---- class tables --------------------------------------------------------- */

static int split_rank(const char *split)
{
    const char *canon = ia_split_canonical(split);
    if (!canon)
        return 3;
    return !strcmp(canon, "train") ? 0 : !strcmp(canon, "val") ? 1 : 2;
}

/* The split named in details: "split 'test'", or "the dataset". */
static void split_words(const char *split, char *out, size_t cap)
{
    if (*split)
        ia_bprintf(out, cap, "split '%.60s'", split);
    else
        ia_bprintf(out, cap, "the dataset");
}

static int finding(lctx *c, int p, int64_t file_id, const char *path,
                   const char *code, int sev, const char *detail)
{
    char text[IA_DETAIL_MAX * 2];
    ia_bprintf(text, sizeof text, "%s: %s", ia_loader_name(p), detail);
    return ia_store_finding_about(c->db, c->scan_id, file_id, path, code,
                                  sev, text, ia_loader_name(p), 0);
}

/* Names of up to MAX_NAMED classes of the run [a, b) that pick() keeps. */
static size_t name_classes(const lctx *c, size_t a, size_t b, int p,
                           int (*pick)(const group *, int), char *out,
                           size_t cap)
{
    size_t n = 0, at = 0;
    out[0] = '\0';
    for (size_t i = a; i < b; i++) {
        if (c->g[i].idx[p] < 0 || !pick(&c->g[i], p))
            continue;
        if (n++ < MAX_NAMED && at < cap) {
            ia_bprintf(out + at, cap - at, "%s'%.40s'", at ? ", " : "",
                       c->g[i].label);
            at = strlen(out);
        }
    }
    if (n > MAX_NAMED && at < cap)
        ia_bprintf(out + at, cap - at, " and %zu more", n - MAX_NAMED);
    return n;
}

static int nothing_listed(const group *g, int p)
{
    return g->listed[p] == 0;
}

static int all_skipped(const group *g, int p)
{
    return g->files > 0 && g->listed[p] == 0;
}

/* torchvision: ImageFolder(split) raises before training when a class has
 * no file it lists (folder.py 97-102). The others keep such a class with
 * no sample: one finding says which classes lost every file. */
static int class_findings(lctx *c, size_t a, size_t b, int p)
{
    const ld_profile *prof = ld_profile_of(p);
    char names[400], where[80], detail[700];
    split_words(c->g[a].split, where, sizeof where);
    if (prof->empty_raises) {
        if (!name_classes(c, a, b, p, nothing_listed, names, sizeof names))
            return IA_OK;
        ia_bprintf(detail, sizeof detail, "ImageFolder on %s raises "
                   "FileNotFoundError before training: Found no valid file "
                   "for the classes %s (it lists only %s)", where, names,
                   prof->exts_text);
        return finding(c, p, 0, NULL, "loader_fails", IA_SEV_ERROR, detail);
    }
    size_t n = name_classes(c, a, b, p, all_skipped, names, sizeof names);
    if (!n)
        return IA_OK;
    ia_bprintf(detail, sizeof detail, "%zu class%s of %s keep%s an index "
               "but no sample: %s never lists a file of %s (it lists only "
               "%s)", n, n == 1 ? "" : "es", where, n == 1 ? "s" : "",
               prof->loader, names, prof->exts_text);
    return finding(c, p, 0, NULL, "loader_skips", IA_SEV_ERROR, detail);
}

/* One split: the run [a, b) of groups, numbered per profile in byte
 * order (Python's sorted() on the folder names, for valid UTF-8). */
static int number_split(lctx *c, size_t a, size_t b)
{
    int ret = IA_OK;
    for (int p = 0; p < IA_LOADER_COUNT && ret == IA_OK; p++) {
        int64_t next = 0;
        for (size_t i = a; i < b && ret == IA_OK; i++) {
            group *g = &c->g[i];
            g->idx[p] = ia_loader_is_class(p, g->label) ? next++ : -1;
            if (g->idx[p] >= 0)
                ret = ia_store_loader_class(c->db, c->scan_id,
                                            ia_loader_name(p), g->split,
                                            g->label, g->idx[p],
                                            g->listed[p]);
        }
        if (ret == IA_OK)
            ret = class_findings(c, a, b, p);
    }
    return ret;
}

/* torchvision: a split of loose files and no class folder at all raises
 * (folder.py 41-42). */
static int bare_splits(lctx *c)
{
    char where[80], detail[200];
    int ret = IA_OK;
    for (size_t i = 0; i < c->nbare && ret == IA_OK; i++) {
        const char *split = c->bare[i];
        size_t at = 0;
        while (at < c->n && strcmp(c->g[at].split, split) < 0)
            at++;
        if (at < c->n && !strcmp(c->g[at].split, split))
            continue;
        split_words(split, where, sizeof where);
        ia_bprintf(detail, sizeof detail, "ImageFolder on %s raises "
                   "FileNotFoundError: Couldn't find any class folder", where);
        ret = finding(c, IA_LOADER_TORCHVISION, 0, NULL, "loader_fails",
                      IA_SEV_ERROR, detail);
    }
    return ret;
}

/* ---- class_renumbered --------------------------------------------------- */

typedef struct run {
    size_t a, b;
} run;

/* A split's run of groups that holds a class of profile p. */
static int has_class(const lctx *c, const run *r, int p)
{
    for (size_t i = r->a; i < r->b; i++)
        if (c->g[i].idx[p] >= 0)
            return 1;
    return 0;
}

static int renumbered(lctx *c, const run *ref, const run *s, int p)
{
    char list[500] = "", detail[800];
    size_t n = 0, at = 0;
    for (size_t i = s->a; i < s->b; i++) {
        const group *g = &c->g[i], *o;
        if (g->idx[p] < 0 || !(o = find_group(c, c->g[ref->a].split,
                                              g->label)) ||
            o->idx[p] < 0 || o->idx[p] == g->idx[p])
            continue;
        if (n++ < 3 && at < sizeof list) {
            ia_bprintf(list + at, sizeof list - at, "%s'%.40s' is %lld here, "
                       "%lld there", at ? "; " : "", g->label,
                       (long long)g->idx[p], (long long)o->idx[p]);
            at = strlen(list);
        }
    }
    if (!n)
        return IA_OK;
    ia_bprintf(detail, sizeof detail, "split '%.60s' numbers %zu class%s "
               "differently from '%.60s' (%s%s): a model trained on one "
               "split's indices mislabels them in the other",
               c->g[s->a].split, n, n == 1 ? "" : "es", c->g[ref->a].split,
               list, n > 3 ? "; ..." : "");
    return finding(c, p, 0, NULL, "class_renumbered", IA_SEV_ERROR, detail);
}

/* Each split against the first in train, val, test order that has a
 * class: a class folder missing, added or hidden in one split shifts
 * every later index there. */
static int renumbering(lctx *c, const run *runs, size_t nruns)
{
    int ret = IA_OK;
    for (int p = 0; p < IA_LOADER_COUNT && ret == IA_OK; p++) {
        const run *ref = NULL;
        for (size_t i = 0; i < nruns; i++) {
            if (!has_class(c, &runs[i], p))
                continue;
            int d = ref ? split_rank(c->g[runs[i].a].split) -
                              split_rank(c->g[ref->a].split) : -1;
            if (!ref || d < 0)
                ref = &runs[i];
        }
        for (size_t i = 0; ref && i < nruns && ret == IA_OK; i++)
            if (&runs[i] != ref && has_class(c, &runs[i], p))
                ret = renumbered(c, ref, &runs[i], p);
    }
    return ret;
}

static int number_all(lctx *c)
{
    run *runs = malloc((c->n ? c->n : 1) * sizeof *runs);
    size_t nruns = 0;
    int ret = runs ? IA_OK : ia_store_fail(c->db, IA_ERR_NOMEM,
                                           "out of memory");
    for (size_t a = 0; ret == IA_OK && a < c->n;) {
        size_t b = a + 1;
        while (b < c->n && !strcmp(c->g[b].split, c->g[a].split))
            b++;
        runs[nruns++] = (run){a, b};
        ret = number_split(c, a, b);
        a = b;
    }
    if (ret == IA_OK)
        ret = renumbering(c, runs, nruns);
    if (ret == IA_OK)
        ret = bare_splits(c);
    free(runs);
    return ret;
}

/* ---- pass 2: the files ---------------------------------------------------- */

static int file_findings(lctx *c, const ia_loader_row *r, int p,
                         const group *g)
{
    ia_loader_verdict v;
    char detail[IA_DETAIL_MAX + 80];
    ia_loader_judge(p, r, &v);
    int ret = IA_OK;
    if (v.outcome == IA_LD_SKIPS) {
        int lost = g && g->idx[p] >= 0 && g->listed[p] == 0;
        ia_bprintf(detail, sizeof detail, "%s%s", v.why,
                   lost ? "; its class is left with no file listed" : "");
        ret = finding(c, p, r->file_id, r->path, "loader_skips",
                      lost ? IA_SEV_ERROR : IA_SEV_WARNING, detail);
    } else if (v.outcome == IA_LD_FAILS || v.outcome == IA_LD_DAMAGED) {
        ret = finding(c, p, r->file_id, r->path,
                      v.outcome == IA_LD_FAILS ? "loader_fails"
                                               : "loader_damaged",
                      IA_SEV_ERROR, v.why);
    }
    if (ret == IA_OK && v.sideways) {
        ia_bprintf(detail, sizeof detail, "EXIF orientation %lld is not "
                   "applied: the model sees the photo as stored, not as a "
                   "viewer shows it", (long long)r->exif_orientation);
        ret = finding(c, p, r->file_id, r->path, "loader_orientation",
                      IA_SEV_WARNING, detail);
    }
    return ret;
}

static int emit_row(void *user, const ia_loader_row *r)
{
    lctx *c = user;
    const group *g = find_group(c, r->split, r->label);
    int ret = IA_OK;
    for (int p = 0; p < IA_LOADER_COUNT && ret == IA_OK; p++)
        ret = file_findings(c, r, p, g);
    return ret;
}

/* The lctx of a tally: its groups and noted files. */
struct ia_loader_tally {
    lctx c;
};

static void lctx_release(lctx *c)
{
    free(c->noted);
    for (size_t i = 0; i < c->n; i++) {
        free(c->g[i].split);
        free(c->g[i].label);
    }
    for (size_t i = 0; i < c->nbare; i++)
        free(c->bare[i]);
    free(c->bare);
    free(c->g);
}

void ia_loader_tally_free(ia_loader_tally *t)
{
    if (!t)
        return;
    lctx_release(&t->c);
    free(t);
}

/* Pass 1 over the files (ia_store_loader_rows' order): reads and judges
 * every file, writes nothing. */
int ia_loader_tally_read(ia_db *db, int64_t scan_id, ia_loader_tally **out)
{
    ia_loader_tally *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return ia_store_fail(db, IA_ERR_NOMEM, "out of memory");
    t->c.db = db;
    t->c.scan_id = scan_id;
    int ret = ia_store_loader_rows(db, scan_id, 0, tally_row, &t->c);
    if (ret != IA_OK) {
        ia_loader_tally_free(t);
        return ret;
    }
    *out = t;
    return IA_OK;
}

int ia_loader_finish(ia_db *db, int64_t scan_id, ia_loader_tally *t)
{
    int ret = IA_OK;
    if (!t)
        ret = ia_loader_tally_read(db, scan_id, &t);
    if (ret != IA_OK)
        return ret;
    lctx *c = &t->c;
    c->db = db;     /* its messages and writes go to the writing handle */
    /* The files' pass reads file rows and the walk's float_samples
     * findings, none of which the clearing (loader findings and
     * classes) touches, so it may come first. */
    ret = ia_store_loader_clear(db, scan_id);
    if (ret == IA_OK)
        ret = ia_store_loader_rows(db, scan_id, 1, tally_empty, c);
    if (ret == IA_OK) {
        ia_qsort(c->g, c->n, sizeof *c->g, cmp_group);
        ret = number_all(c);
    }
    if (ret == IA_OK)
        ret = ia_store_loader_rows_by_id(db, scan_id, c->noted, c->nnoted,
                                         emit_row, c);
    ia_loader_tally_free(t);
    return ret;
}

int ia_loader_analyze(ia_db *db, int64_t scan_id)
{
    return ia_loader_finish(db, scan_id, NULL);
}
