/*
 * Duplicate groups, split leaks and label conflicts.
 *
 * Three kinds of group, each a connected component:
 *   exact  - equal SHA-256 of the bytes;
 *   pixel  - equal pixel_hash (same decoded pixels), counted only when the
 *            group holds at least two different files' bytes (otherwise it
 *            is just an exact group);
 *   near   - phash within the phash radius AND dhash within the dhash
 *            radius, joined by union-find, counted only when the component
 *            holds at least two different pixel contents. Images marked
 *            uniform (blank frames) never join near groups.
 * Members are ordered by split (train, val, test, others) then walk order;
 * the first is the anchor, so the anchor is a training copy whenever the
 * group has one. Each other member gets: a duplicate finding when it
 * shares a split with the first member of its split; a split_leak (and a
 * leak row) when its split differs from the anchor's; a label_conflict
 * when its label differs from the anchor's. A leak and a conflict are
 * named on both sides: the anchor gets the same finding about that
 * member, so the training copy to remove carries one too. Every finding
 * names its group (finding.group_id). A pair already reported by a
 * stricter kind (a pixel pair with equal bytes, a near pair with equal
 * pixels) gets nothing more. Exact and pixel leaks and conflicts are
 * errors, near ones too within the same-photo radius (analyze.h), else
 * warnings.
 * Last, one dataset-level split_leak per (split, anchor split) counts the
 * leaking images of that split, each under the strictest kind it leaks by.
 * The radii and the reasons for them: docs/duplicates.md.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/stats.h"
#include "core/core.h"
#include "analyze/nearindex.h"
#include "loader/loader.h"
#include "store/store.h"

/* One leaking file of one group, kept for the per-split summary. */
typedef struct leak_rec {
    uint32_t from, to;  /* split of the leaking file, split of the anchor */
    size_t file;        /* row of the leaking file */
    int rank;           /* 0 exact, 1 pixel, 2 same photo, 3 near */
} leak_rec;

typedef struct dup_ctx {
    ia_db *db;
    int64_t scan_id;
    ia_hash_rows h;
    int phash_radius, dhash_radius;
    unsigned threads;
    /* scratch for one group */
    int64_t *ids;
    int *dist;
    size_t *members;
    size_t cap;
    /* every leak, for the summary */
    leak_rec *leaks;
    size_t nleaks, leaks_cap;
} dup_ctx;

typedef struct kind_info {
    const char *kind;
    const char *dup_code;
    int leak_severity;
    int rank;           /* strictest first */
} kind_info;

#define NKINDS 4    /* exact, pixel, same photo, near */
static const kind_info EXACT = {"exact", "exact_duplicate", IA_SEV_ERROR, 0};
static const kind_info PIXEL = {"pixel", "pixel_duplicate", IA_SEV_ERROR, 1};
static const kind_info NEAR = {"near", "near_duplicate", IA_SEV_WARNING, 3};

static const char *name_of(char **names, uint32_t idx)
{
    return idx ? names[idx - 1] : NULL;
}

static int reserve(dup_ctx *c, size_t n)
{
    if (n <= c->cap)
        return IA_OK;
    size_t cap = c->cap ? c->cap : 64;
    while (cap < n)
        cap *= 2;
    int64_t *ids = realloc(c->ids, cap * sizeof *ids);
    if (ids)
        c->ids = ids;
    int *dist = realloc(c->dist, cap * sizeof *dist);
    if (dist)
        c->dist = dist;
    size_t *mem = realloc(c->members, cap * sizeof *mem);
    if (mem)
        c->members = mem;
    if (!ids || !dist || !mem)
        return IA_ERR_NOMEM;
    c->cap = cap;
    return IA_OK;
}

static int member_distance(const dup_ctx *c, const kind_info *k, size_t a,
                           size_t b)
{
    if (k != &NEAR)
        return 0;
    return ia_hamming64(c->h.rows[a].phash, c->h.rows[b].phash);
}

/* What a leak's detail tells each side: the copy in the earlier split
 * (train before val before test) is the one to remove. */
static const char *leak_advice(const dup_ctx *c, size_t m, size_t other)
{
    int rm = c->h.rows[m].split_rank, ro = c->h.rows[other].split_rank;
    if (rm == ro)
        return "";
    return rm < ro ? ": remove this copy" : ": keep this one, remove the "
                                           "other copy";
}

/* A finding on member m about its partner other in group gid. */
static int finding(dup_ctx *c, size_t m, const char *code, int sev,
                   size_t other, const kind_info *k, int d, int64_t gid)
{
    char other_path[1024], path[1024], detail[1400];
    int rc = ia_store_file_path(c->db, c->h.rows[other].file_id, other_path,
                                sizeof other_path);
    if (rc == IA_OK)
        rc = ia_store_file_path(c->db, c->h.rows[m].file_id, path,
                                sizeof path);
    if (rc != IA_OK)
        return rc;
    const ia_hash_row *a = &c->h.rows[other], *b = &c->h.rows[m];
    if (strcmp(code, "label_conflict") == 0)
        ia_bprintf(detail, sizeof detail,
                   "%s copy of %s: labelled '%s' here, '%s' there "
                   "(distance %d)", k->kind, other_path,
                   name_of(c->h.labels, b->label),
                   name_of(c->h.labels, a->label), d);
    else if (strcmp(code, "split_leak") == 0)
        ia_bprintf(detail, sizeof detail,
                   "%s copy of %s: in split '%s' and '%s' (distance %d)%s",
                   k->kind, other_path, name_of(c->h.splits, b->split),
                   name_of(c->h.splits, a->split), d,
                   leak_advice(c, m, other));
    else
        ia_bprintf(detail, sizeof detail, "%s copy of %s (distance %d)",
                   k->kind, other_path, d);
    return ia_store_finding_about(c->db, c->scan_id, c->h.rows[m].file_id,
                                  path, code, sev, detail, NULL, gid);
}

/* Exact and pixel copies are certain; a near copy is the same photo
 * within the same-photo radius (analyze.h), else a likely one. */
static int pair_severity(const dup_ctx *c, const kind_info *k, size_t a,
                         size_t b)
{
    if (k != &NEAR)
        return k->leak_severity;
    const ia_hash_row *x = &c->h.rows[a], *y = &c->h.rows[b];
    return ia_hamming64(x->phash, y->phash) <= IA_SAME_PHOTO_PHASH_RADIUS &&
                   ia_hamming64(x->dhash, y->dhash) <= c->dhash_radius
               ? IA_SEV_ERROR : IA_SEV_WARNING;
}

/* A leak or a conflict is named on both sides: each file carries it, with
 * its partner and the group. */
static int both_sides(dup_ctx *c, const char *code, const kind_info *k,
                      size_t anchor, size_t m, int64_t gid)
{
    int sev = pair_severity(c, k, anchor, m);
    int d = member_distance(c, k, anchor, m);
    int rc = finding(c, m, code, sev, anchor, k, d, gid);
    if (rc == IA_OK)
        rc = finding(c, anchor, code, sev, m, k, d, gid);
    return rc;
}

/* The first member of m's split, among members[0 .. i). */
static size_t first_in_split(const dup_ctx *c, size_t i)
{
    uint32_t s = c->h.rows[c->members[i]].split;
    for (size_t k = 0; k < i; k++)
        if (c->h.rows[c->members[k]].split == s)
            return c->members[k];
    return c->members[i];
}

/* A pixel (near) pair whose two files also have equal bytes (pixels) is
 * already reported by the stricter kind. */
static int redundant(const dup_ctx *c, const kind_info *k, size_t a, size_t b)
{
    const ia_hash_row *x = &c->h.rows[a], *y = &c->h.rows[b];
    if (k == &PIXEL)
        return memcmp(x->sha256, y->sha256, 32) == 0;
    if (k == &NEAR)
        return memcmp(x->pixel_hash, y->pixel_hash, 16) == 0;
    return 0;
}

static int note_leak(dup_ctx *c, const kind_info *k, size_t anchor,
                     size_t m, int sev)
{
    if (c->nleaks == c->leaks_cap) {
        size_t cap = c->leaks_cap ? c->leaks_cap * 2 : 64;
        leak_rec *v = realloc(c->leaks, cap * sizeof *v);
        if (!v)
            return IA_ERR_NOMEM;
        c->leaks = v;
        c->leaks_cap = cap;
    }
    /* a near copy within the same-photo radius counts apart */
    int rank = k == &NEAR && sev == IA_SEV_ERROR ? 2 : k->rank;
    c->leaks[c->nleaks++] = (leak_rec){c->h.rows[m].split,
                                       c->h.rows[anchor].split, m, rank};
    return IA_OK;
}

static int group_findings(dup_ctx *c, const kind_info *k, size_t n,
                          int64_t gid)
{
    size_t anchor = c->members[0];
    const ia_hash_row *a = &c->h.rows[anchor];
    int rc = IA_OK;
    for (size_t i = 1; i < n && rc == IA_OK; i++) {
        size_t m = c->members[i];
        const ia_hash_row *r = &c->h.rows[m];
        size_t first = first_in_split(c, i);
        if (first != m && !redundant(c, k, first, m))
            rc = finding(c, m, k->dup_code, IA_SEV_WARNING, first, k,
                         member_distance(c, k, first, m), gid);
        if (redundant(c, k, anchor, m))
            continue;
        if (rc == IA_OK && r->split != a->split) {
            int d = member_distance(c, k, anchor, m);
            rc = ia_store_leak(c->db, c->scan_id, gid, k->kind, a->file_id,
                               r->file_id, d);
            if (rc == IA_OK)
                rc = note_leak(c, k, anchor, m,
                               pair_severity(c, k, anchor, m));
            if (rc == IA_OK)
                rc = both_sides(c, "split_leak", k, anchor, m, gid);
        }
        if (rc == IA_OK && r->label != a->label && r->label && a->label)
            rc = both_sides(c, "label_conflict", k, anchor, m, gid);
    }
    return rc;
}

static int cmp_member(const void *pa, const void *pb, void *arg)
{
    const ia_hash_rows *h = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int ra = h->rows[a].split_rank, rb = h->rows[b].split_rank;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return (a > b) - (a < b);
}

/* Members in split order (train, val, test, others), then walk order: the
 * anchor is the training copy. */
static int emit_group(dup_ctx *c, const kind_info *k, size_t n)
{
    int64_t gid = 0;
    ia_qsort_r(c->members, n, sizeof *c->members, cmp_member, &c->h);
    for (size_t i = 0; i < n; i++) {
        c->ids[i] = c->h.rows[c->members[i]].file_id;
        c->dist[i] = member_distance(c, k, c->members[0], c->members[i]);
    }
    int rc = ia_store_group(c->db, c->scan_id, k->kind, c->ids, c->dist, n,
                            &gid);
    return rc == IA_OK ? group_findings(c, k, n, gid) : rc;
}

/* ---- exact and pixel groups: sort indexes by key, then runs ---------- */

/* What is sorted: the key's first 8 bytes as a big-endian integer (so
 * integer order is memcmp order) beside the row. Comparisons then stay in
 * this compact array; the rows (88 bytes each, a million of them at a
 * million files) are only read on a tie of the prefixes. */
typedef struct sort_key {
    uint64_t prefix;
    size_t row;
} sort_key;

typedef struct sort_ref {
    const ia_hash_rows *h;
    int pixel;
} sort_ref;

static const uint8_t *key_of(const ia_hash_row *r, int pixel)
{
    return pixel ? r->pixel_hash : r->sha256;
}

static uint64_t prefix_of(const uint8_t *k)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | k[i];
    return v;
}

/* Key order, then walk order: the order the index sort gave before. */
static int cmp_idx(const void *pa, const void *pb, void *arg)
{
    const sort_ref *s = arg;
    const sort_key *x = pa, *y = pb;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    int d = memcmp(key_of(&s->h->rows[x->row], s->pixel),
                   key_of(&s->h->rows[y->row], s->pixel), s->pixel ? 16 : 32);
    if (d)
        return d;
    return (x->row > y->row) - (x->row < y->row);
}

static int same_key(const ia_hash_row *x, const ia_hash_row *y, int pixel)
{
    return pixel ? memcmp(x->pixel_hash, y->pixel_hash, 16) == 0
                 : memcmp(x->sha256, y->sha256, 32) == 0;
}

/* A pixel group whose members all have the same bytes adds nothing. */
static int distinct_bytes(const dup_ctx *c, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (memcmp(c->h.rows[c->members[i]].sha256,
                   c->h.rows[c->members[0]].sha256, 32) != 0)
            return 1;
    return 0;
}

static int key_groups(dup_ctx *c, int pixel)
{
    size_t n = 0;
    sort_key *idx = malloc((c->h.n ? c->h.n : 1) * sizeof *idx);
    if (!idx)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < c->h.n; i++)
        if (pixel ? c->h.rows[i].have_pixel && c->h.rows[i].status_ok
                  : c->h.rows[i].have_sha)
            idx[n++] = (sort_key){prefix_of(key_of(&c->h.rows[i], pixel)),
                                  i};
    sort_ref ref = {&c->h, pixel};
    ia_qsort_r(idx, n, sizeof *idx, cmp_idx, &ref);
    int rc = IA_OK;
    for (size_t i = 0; i < n && rc == IA_OK;) {
        size_t j = i + 1;
        while (j < n && idx[j].prefix == idx[i].prefix &&
               same_key(&c->h.rows[idx[i].row], &c->h.rows[idx[j].row],
                        pixel))
            j++;
        if (j - i >= 2 && (rc = reserve(c, j - i)) == IA_OK) {
            for (size_t m = i; m < j; m++)
                c->members[m - i] = idx[m].row;
            if (!pixel || distinct_bytes(c, j - i))
                rc = emit_group(c, pixel ? &PIXEL : &EXACT, j - i);
        }
        i = j;
    }
    free(idx);
    return rc;
}

/* ---- near groups: multi-index search + union-find -------------------- */

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* The root is always the smaller index, so a component's root is its
 * first member in walk order. */
static void uf_union(size_t *parent, size_t a, size_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

static int near_candidate(const ia_hash_row *r)
{
    return r->status_ok && r->have_phash && !r->uniform;
}

static int near_pairs(dup_ctx *c, const size_t *cand, size_t n,
                      size_t *parent)
{
    uint64_t *ph = malloc((n ? n : 1) * sizeof *ph);
    ia_near_pair *pairs = NULL;
    size_t np = 0;
    if (!ph)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ph[i] = c->h.rows[cand[i]].phash;
    int rc = ia_near_pairs(ph, n, c->phash_radius, c->threads, &pairs, &np);
    for (size_t k = 0; rc == IA_OK && k < np; k++) {
        const ia_hash_row *a = &c->h.rows[cand[pairs[k].i]];
        const ia_hash_row *b = &c->h.rows[cand[pairs[k].j]];
        if (ia_hamming64(a->dhash, b->dhash) <= c->dhash_radius)
            uf_union(parent, cand[pairs[k].i], cand[pairs[k].j]);
    }
    free(pairs);
    free(ph);
    return rc;
}

static int distinct_pixels(const dup_ctx *c, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (memcmp(c->h.rows[c->members[i]].pixel_hash,
                   c->h.rows[c->members[0]].pixel_hash, 16) != 0)
            return 1;
    return 0;
}

/* Components in walk order of their roots; members in walk order. The
 * members of every component of two or more are bucketed in one pass
 * (start[] by root, a counting sort), not looked for from each root on:
 * that was a pass over the rest of the scan per component. */
static int emit_components(dup_ctx *c, size_t *parent)
{
    size_t n = c->h.n;
    size_t *start = calloc(n + 1, sizeof *start);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    int rc = start && order ? IA_OK : IA_ERR_NOMEM;
    for (size_t i = 0; rc == IA_OK && i < n; i++) {
        parent[i] = uf_find(parent, i);     /* every row points at its root */
        start[parent[i] + 1]++;
    }
    for (size_t r = 0; rc == IA_OK && r < n; r++)
        start[r + 1] += start[r];
    /* start[r] is now where root r's members go */
    for (size_t i = 0; rc == IA_OK && i < n; i++)
        order[start[parent[i]]++] = i;
    /* each start[r] moved to the end of r's run: runs are [start[r-1],
     * start[r]) for r > 0 and [0, start[0]) for r = 0 */
    for (size_t root = 0; rc == IA_OK && root < n; root++) {
        size_t b = root ? start[root - 1] : 0, m = start[root] - b;
        if (m < 2 || (rc = reserve(c, m)) != IA_OK)
            continue;
        memcpy(c->members, order + b, m * sizeof *order);
        if (distinct_pixels(c, m))
            rc = emit_group(c, &NEAR, m);
    }
    free(start);
    free(order);
    return rc;
}

static int near_groups(dup_ctx *c)
{
    size_t n = c->h.n, nc = 0;
    size_t *parent = malloc((n ? n : 1) * sizeof *parent);
    size_t *cand = malloc((n ? n : 1) * sizeof *cand);
    int rc = parent && cand ? IA_OK : IA_ERR_NOMEM;
    for (size_t i = 0; rc == IA_OK && i < n; i++) {
        parent[i] = i;
        if (near_candidate(&c->h.rows[i]))
            cand[nc++] = i;
    }
    if (rc == IA_OK)
        rc = near_pairs(c, cand, nc, parent);
    if (rc == IA_OK)
        rc = emit_components(c, parent);
    free(parent);
    free(cand);
    return rc;
}

/* ---- per split pair summary of the leaks ----------------------------- */

/* Splits in canonical order (train, val, test, others), then by name. */
static int cmp_split(const ia_hash_rows *h, const int *rank, uint32_t a,
                     uint32_t b)
{
    if (rank[a] != rank[b])
        return rank[a] < rank[b] ? -1 : 1;
    if (a == b || !a || !b)
        return (a > b) - (a < b);
    return strcmp(h->splits[a - 1], h->splits[b - 1]);
}

typedef struct leak_order {
    const ia_hash_rows *h;
    const int *rank;
} leak_order;

static int cmp_leak(const void *pa, const void *pb, void *arg)
{
    const leak_order *o = arg;
    const leak_rec *x = pa, *y = pb;
    int d = cmp_split(o->h, o->rank, x->from, y->from);
    if (!d)
        d = cmp_split(o->h, o->rank, x->to, y->to);
    if (!d)
        d = (x->file > y->file) - (x->file < y->file);
    return d ? d : (x->rank > y->rank) - (x->rank < y->rank);
}

static const char *split_name(const dup_ctx *c, uint32_t s)
{
    const char *n = name_of(c->h.splits, s);
    return n ? n : "(no split)";
}

/* One dataset-level split_leak per (split, anchor split): "12 of 372 test
 * images also appear in train (exact 3, pixel 1, same photo 2, near 6)",
 * each leaking image counted once, under the strictest kind of its leaks;
 * an error when an exact, pixel or same-photo copy leaks, else a
 * warning. */
static int leak_pair_finding(dup_ctx *c, const leak_rec *v, size_t n)
{
    uint64_t per_kind[NKINDS] = {0}, files = 0, images = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i].file != v[i - 1].file) {
            per_kind[v[i].rank]++;
            files++;
        }
    for (size_t i = 0; i < c->h.n; i++)
        images += c->h.rows[i].status_ok && c->h.rows[i].split == v[0].from;
    char detail[512];
    ia_bprintf(detail, sizeof detail, "%llu of %llu %s images also appear "
               "in %s (exact %llu, pixel %llu, same photo %llu, near %llu)",
               (unsigned long long)files, (unsigned long long)images,
               split_name(c, v[0].from), split_name(c, v[0].to),
               (unsigned long long)per_kind[0],
               (unsigned long long)per_kind[1],
               (unsigned long long)per_kind[2],
               (unsigned long long)per_kind[3]);
    int sev = per_kind[0] + per_kind[1] + per_kind[2] ? IA_SEV_ERROR
                                                      : IA_SEV_WARNING;
    return ia_store_finding(c->db, c->scan_id, 0, NULL, "split_leak", sev,
                            detail);
}

static int leak_summary(dup_ctx *c)
{
    if (c->nleaks == 0)
        return IA_OK;
    size_t nranks = c->h.nsplits + 1;
    int *rank = malloc(nranks * sizeof *rank);
    if (!rank)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < nranks; i++)
        rank[i] = 3;
    for (size_t i = 0; i < c->h.n; i++)
        rank[c->h.rows[i].split] = c->h.rows[i].split_rank;
    leak_order o = {&c->h, rank};
    ia_qsort_r(c->leaks, c->nleaks, sizeof *c->leaks, cmp_leak, &o);
    int rc = IA_OK;
    for (size_t i = 0; i < c->nleaks && rc == IA_OK;) {
        size_t j = i + 1;
        while (j < c->nleaks && c->leaks[j].from == c->leaks[i].from &&
               c->leaks[j].to == c->leaks[i].to)
            j++;
        rc = leak_pair_finding(c, c->leaks + i, j - i);
        i = j;
    }
    free(rank);
    return rc;
}

int ia_analyze_duplicates(ia_db *db, int64_t scan_id,
                          const ia_dup_options *opt)
{
    dup_ctx c = {.db = db, .scan_id = scan_id,
                 .phash_radius = IA_NEAR_PHASH_RADIUS,
                 .dhash_radius = IA_NEAR_DHASH_RADIUS, .threads = 1};
    if (opt && opt->phash_radius >= 0)
        c.phash_radius = opt->phash_radius;
    if (opt && opt->dhash_radius >= 0)
        c.dhash_radius = opt->dhash_radius;
    if (opt && opt->threads)
        c.threads = opt->threads;
    int rc = ia_store_load_hash_rows(db, scan_id, &c.h);
    if (rc == IA_OK)
        rc = key_groups(&c, 0);
    if (rc == IA_OK)
        rc = key_groups(&c, 1);
    if (rc == IA_OK)
        rc = near_groups(&c);
    if (rc == IA_OK)
        rc = leak_summary(&c);
    ia_hash_rows_free(&c.h);
    free(c.leaks);
    free(c.ids);
    free(c.dist);
    free(c.members);
    return rc;
}

/* The reading ahead of ia_analyze_scan: the loaders' and (up to
 * STATS_AHEAD_MAX_FILES) the statistics' passes over every file row
 * (about half of the analysis of 100,000 files) on a read-only handle
 * of their own. Their snapshot is what the scan committed; the steps
 * that run meanwhile write groups and findings of other codes than the
 * rows read here carry, and commit nothing before the scan ends, so the
 * rows read are those the steps would read in turn. Whatever it fails
 * to read (NULL), the writing thread reads itself. */
typedef struct reader {
    char *path;
    int64_t scan_id;
    pthread_t tid;
    ia_stats_input *stats;
    ia_loader_tally *tally;
} reader;

/* The statistics' rows (about 140 bytes per image) are read ahead only
 * for scans of up to this many files: read ahead, they are held while
 * the duplicates step holds its own (about 190 bytes per file), so past
 * it they are read after, and the analysis' peak memory stays that of
 * the duplicates step (215 MB at a million files, docs/performance.md).
 * The loaders' tally holds 8 bytes per file with a finding. */
#define STATS_AHEAD_MAX_FILES 250000u

static void *reader_run(void *arg)
{
    reader *r = arg;
    ia_db *ro = NULL;
    uint64_t st[IA_ST_COUNT], files = 0;
    if (ia_db_open(r->path, 0, &ro) == IA_OK &&
        ia_loader_tally_read(ro, r->scan_id, &r->tally) == IA_OK &&
        ia_q_status_counts(ro, r->scan_id, st) == IA_OK) {
        for (int i = 0; i < IA_ST_COUNT; i++)
            files += st[i];
        if (files <= STATS_AHEAD_MAX_FILES)
            ia_analyze_stats_read(ro, r->scan_id, &r->stats);
    }
    ia_db_close(ro);
    return NULL;
}

/* 1 when the reader runs; 0 when it cannot, r then empty. */
static int reader_start(ia_db *db, reader *r, int64_t scan_id)
{
    const char *path = ia_store_reader_path(db);
    memset(r, 0, sizeof *r);
    r->scan_id = scan_id;
    if (!path || !(r->path = strdup(path)))
        return 0;
    if (pthread_create(&r->tid, NULL, reader_run, r) != 0) {
        free(r->path);
        r->path = NULL;
        return 0;
    }
    return 1;
}

static void reader_join(reader *r)
{
    pthread_join(r->tid, NULL);
    free(r->path);
    r->path = NULL;
}

int ia_analyze_scan(ia_db *db, int64_t scan_id, unsigned threads)
{
    ia_dup_options dup = {.phash_radius = -1, .dhash_radius = -1,
                          .threads = threads};
    reader rd;
    int ahead = threads > 1 ? reader_start(db, &rd, scan_id)
                            : (memset(&rd, 0, sizeof rd), 0);
    /* the caller committed: the steps write in one transaction, as they
     * did in the caller's */
    int rc = ahead ? ia_store_batch_open(db) : IA_OK;
    if (rc == IA_OK)
        rc = ia_analyze_duplicates(db, scan_id, &dup);
    if (rc == IA_OK)
        rc = ia_analyze_samples(db, scan_id);
    if (ahead)
        reader_join(&rd);
    if (rc == IA_OK)
        rc = ia_analyze_stats_finish(db, scan_id, rd.stats);
    else
        ia_stats_input_free(rd.stats);
    if (rc == IA_OK)
        rc = ia_loader_finish(db, scan_id, rd.tally);
    else
        ia_loader_tally_free(rd.tally);
    return rc;
}
