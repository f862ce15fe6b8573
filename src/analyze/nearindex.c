/*
 * Multi-index hashing. The 64 bits are cut into 4 bands of 16 bits. If
 * two hashes differ in at most r bits, some band differs in at most
 * s = floor(r / 4) bits (pigeonhole). So for each hash and each band we
 * enumerate the 16-bit values within s of its band value, look them up in
 * that band's table (a counting sort: bucket offsets for all 65536
 * values), and check the full distance of each candidate. A pair is
 * reported only from the first band in which it is within s, so each pair
 * appears once without a hash set. Work per query is about
 * 4 x C(16, <=s) x n / 65536 candidates: sub-quadratic for the radii we
 * use (s <= 2), and independent of how the pairs cluster except through
 * the number of true neighbours.
 *
 * The search runs bucket by bucket rather than hash by hash (scan_band):
 * per hash it made about 550 lookups at random places in tables of
 * megabytes, bound by memory latency; by bucket, each probed bucket serves
 * every hash of the bucket that probes it, and consecutive values probe
 * nearby memory (measured in docs/performance.md). Same candidates, same
 * pairs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "imgaudit.h"
#include "analyze/nearindex.h"
#include "core/core.h"

#define BANDS 4
#define BAND_VALUES 65536u

typedef struct band_table {
    uint32_t *offsets;  /* BAND_VALUES + 1 */
    uint32_t *ids;      /* n, grouped by band value */
    uint64_t *vals;     /* the hashes in the same order: candidates are
                           checked on sequential memory, not by chasing ids */
} band_table;

typedef struct pair_vec {
    ia_near_pair *v;
    size_t n, cap;
} pair_vec;

typedef struct search {
    const uint64_t *h;
    size_t n;
    int radius;
    int sub_radius;
    band_table bands[BANDS];
    uint16_t *probes;       /* the 16-bit masks of weight <= sub_radius */
    size_t nprobes;
} search;

typedef struct part {
    const search *s;
    size_t begin, end;      /* band values [begin, end) */
    pair_vec out;
    int rc;
} part;

static inline unsigned band_of(uint64_t h, int b)
{
    return (unsigned)(h >> (16 * b)) & 0xffffu;
}

static int push(pair_vec *pv, uint32_t i, uint32_t j, uint32_t d)
{
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? pv->cap * 2 : 256;
        ia_near_pair *nv = realloc(pv->v, cap * sizeof *nv);
        if (!nv)
            return IA_ERR_NOMEM;
        pv->v = nv;
        pv->cap = cap;
    }
    pv->v[pv->n++] = (ia_near_pair){i, j, d};
    return IA_OK;
}

static int build_band(const uint64_t *h, size_t n, int b, band_table *t)
{
    t->offsets = calloc(BAND_VALUES + 1, sizeof *t->offsets);
    t->ids = malloc((n ? n : 1) * sizeof *t->ids);
    t->vals = malloc((n ? n : 1) * sizeof *t->vals);
    if (!t->offsets || !t->ids || !t->vals)
        return IA_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        t->offsets[band_of(h[i], b) + 1]++;
    for (size_t v = 0; v < BAND_VALUES; v++)
        t->offsets[v + 1] += t->offsets[v];
    uint32_t *fill = malloc(BAND_VALUES * sizeof *fill);
    if (!fill)
        return IA_ERR_NOMEM;
    memcpy(fill, t->offsets, BAND_VALUES * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        uint32_t at = fill[band_of(h[i], b)]++;
        t->ids[at] = (uint32_t)i;
        t->vals[at] = h[i];
    }
    free(fill);
    return IA_OK;
}

/* All 16-bit masks with at most r bits set, lightest first. */
static int make_probes(int r, search *s)
{
    s->probes = malloc(BAND_VALUES * sizeof *s->probes);
    if (!s->probes)
        return IA_ERR_NOMEM;
    s->nprobes = 0;
    for (int w = 0; w <= r && w <= 16; w++)
        for (unsigned m = 0; m < BAND_VALUES; m++)
            if (__builtin_popcount(m) == w)
                s->probes[s->nprobes++] = (uint16_t)m;
    return IA_OK;
}

/* Was pair (a, b) already reportable from a band before b? */
static int found_earlier(uint64_t a, uint64_t b, int band, int sub_radius)
{
    for (int k = 0; k < band; k++)
        if (__builtin_popcount(band_of(a, k) ^ band_of(b, k)) <= sub_radius)
            return 1;
    return 0;
}

/* Built twice, with the popcnt instruction and for the baseline, which
 * has none (its __builtin_popcountll is a libgcc call); the loader picks
 * one for this CPU. Same results. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("popcnt", "default")))
#endif
/* Band b for the band values [vlo, vhi): every hash i whose band value is
 * v is checked against the bucket of each probe v ^ p, as a query for i
 * would, but bucket by bucket: the hashes of one bucket share all their
 * probes, so each probed bucket is fetched once for all of them, and the
 * probes of neighbouring values fall in neighbouring memory. The same
 * (i, band, probe, j) candidates as one query per hash, hence the same
 * pairs; they are sorted at the end. */
static int scan_band(const search *s, int b, unsigned vlo, unsigned vhi,
                     pair_vec *out)
{
    const band_table *t = &s->bands[b];
    for (unsigned v = vlo; v < vhi; v++) {
        uint32_t a0 = t->offsets[v], a1 = t->offsets[v + 1];
        if (a0 == a1)
            continue;
        for (size_t p = 0; p < s->nprobes; p++) {
            unsigned key = v ^ s->probes[p];
            uint32_t b0 = t->offsets[key], b1 = t->offsets[key + 1];
            for (uint32_t x = a0; x < a1; x++) {
                uint64_t hi = t->vals[x];
                uint32_t i = t->ids[x];
                for (uint32_t k = b0; k < b1; k++) {
                    int d = __builtin_popcountll(hi ^ t->vals[k]);
                    uint32_t j = t->ids[k];
                    if (d > s->radius || j <= i ||
                        found_earlier(hi, t->vals[k], b, s->sub_radius))
                        continue;
                    if (push(out, i, j, (uint32_t)d) != IA_OK)
                        return IA_ERR_NOMEM;
                }
            }
        }
    }
    return IA_OK;
}

static void *run_part(void *arg)
{
    part *p = arg;
    for (int b = 0; b < BANDS && p->rc == IA_OK; b++)
        p->rc = scan_band(p->s, b, (unsigned)p->begin, (unsigned)p->end,
                          &p->out);
    return NULL;
}

static int cmp_pair(const void *a, const void *b)
{
    const ia_near_pair *x = a, *y = b;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

static void free_search(search *s)
{
    for (int b = 0; b < BANDS; b++) {
        free(s->bands[b].offsets);
        free(s->bands[b].ids);
        free(s->bands[b].vals);
    }
    free(s->probes);
}

/* Threads take equal ranges of band values: hashes spread evenly over
 * them, so the work does too. */
static int run_parts(const search *s, unsigned threads, part *parts)
{
    pthread_t tid[64];
    unsigned started = 0;
    int rc = IA_OK;
    for (unsigned t = 0; t < threads; t++) {
        parts[t] = (part){.s = s, .begin = (size_t)BAND_VALUES * t / threads,
                          .end = (size_t)BAND_VALUES * (t + 1) / threads};
    }
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, run_part, &parts[t]) != 0) {
            rc = IA_ERR_THREAD;
            break;
        }
        started++;
    }
    run_part(&parts[0]);
    for (unsigned t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    for (unsigned t = 0; t < threads && rc == IA_OK; t++)
        rc = parts[t].rc;
    return rc;
}

static int concat(part *parts, unsigned threads, ia_near_pair **pairs,
                  size_t *npairs)
{
    size_t total = 0;
    for (unsigned t = 0; t < threads; t++)
        total += parts[t].out.n;
    ia_near_pair *all = malloc((total ? total : 1) * sizeof *all);
    if (!all)
        return IA_ERR_NOMEM;
    size_t at = 0;
    for (unsigned t = 0; t < threads; t++) {
        if (parts[t].out.n)
            memcpy(all + at, parts[t].out.v, parts[t].out.n * sizeof *all);
        at += parts[t].out.n;
    }
    ia_qsort(all, total, sizeof *all, cmp_pair);
    *pairs = all;
    *npairs = total;
    return IA_OK;
}

int ia_near_pairs_index(const uint64_t *hashes, size_t n, int radius,
                        unsigned threads, ia_near_pair **pairs,
                        size_t *npairs)
{
    if (radius < 0 || radius > 64 || n > UINT32_MAX)
        return IA_ERR_ARG;
    if (threads == 0)
        threads = 1;
    if (threads > 64)
        threads = 64;
    search s = {.h = hashes, .n = n, .radius = radius,
                .sub_radius = radius / BANDS};
    part parts[64];
    memset(parts, 0, sizeof parts);
    int rc = make_probes(s.sub_radius, &s);
    for (int b = 0; b < BANDS && rc == IA_OK; b++)
        rc = build_band(hashes, n, b, &s.bands[b]);
    if (rc == IA_OK)
        rc = run_parts(&s, threads, parts);
    if (rc == IA_OK)
        rc = concat(parts, threads, pairs, npairs);
    for (unsigned t = 0; t < threads; t++)
        free(parts[t].out.v);
    free_search(&s);
    return rc;
}

/* Every pair of the n hashes within radius into pv, in (i, j) order. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    defined(__linux__) && !defined(__SANITIZE_THREAD__)
__attribute__((target_clones("popcnt", "default")))
#endif
static int brute_pairs(const uint64_t *hashes, size_t n, int radius,
                       pair_vec *pv)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int d = __builtin_popcountll(hashes[i] ^ hashes[j]);
            if (d <= radius &&
                push(pv, (uint32_t)i, (uint32_t)j, (uint32_t)d) != IA_OK)
                return IA_ERR_NOMEM;
        }
    return IA_OK;
}

int ia_near_pairs_brute(const uint64_t *hashes, size_t n, int radius,
                        ia_near_pair **pairs, size_t *npairs)
{
    pair_vec pv = {0};
    if (radius < 0 || radius > 64 || n > UINT32_MAX)
        return IA_ERR_ARG;
    if (brute_pairs(hashes, n, radius, &pv) != IA_OK ||
        (!pv.v && !(pv.v = malloc(sizeof *pv.v)))) {
        free(pv.v);
        return IA_ERR_NOMEM;
    }
    *pairs = pv.v;
    *npairs = pv.n;
    return IA_OK;
}

/* Up to this many hashes, comparing every pair (with popcnt, about half
 * a nanosecond a pair) costs less than the index's fixed work: four
 * tables of 65,537 bucket offsets (2 MB written, page faults and all),
 * the probe list, a thread. bench/near_index N 4 on the Zen 5 VM: the
 * index 5-7 ms on one thread and 2-4 ms on two for any N up to 3,000;
 * brute force under 0.5 ms at 1,000, 1 ms at 2,000, 2 ms at 3,000
 * (docs/performance.md, Speed work 18). The same pairs in the same
 * order either way. */
#define NEAR_BRUTE_MAX 3000

int ia_near_pairs(const uint64_t *hashes, size_t n, int radius,
                  unsigned threads, ia_near_pair **pairs, size_t *npairs)
{
    if (n <= NEAR_BRUTE_MAX)
        return ia_near_pairs_brute(hashes, n, radius, pairs, npairs);
    return ia_near_pairs_index(hashes, n, radius, threads, pairs, npairs);
}
