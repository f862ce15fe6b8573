/*
 * Benchmark of the near-duplicate index: one million 64-bit hashes (random
 * plus planted clusters of near copies), all pairs within the radius with
 * multi-index hashing on 1 and 2 threads, and brute force on a smaller set
 * for comparison (and to check both agree there).
 *
 * Usage: near_index [N] [RADIUS] [BRUTE_N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "imgaudit.h"
#include "analyze/nearindex.h"

static uint64_t state = 42;

static uint64_t rng(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 1% of the hashes are near copies (1-6 bits flipped) of another. */
static uint64_t *make(size_t n)
{
    uint64_t *h = malloc(n * sizeof *h);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        h[i] = rng();
        if (i > 0 && rng() % 100 == 0) {
            h[i] = h[rng() % i];
            for (int k = (int)(rng() % 6) + 1; k > 0; k--)
                h[i] ^= 1ULL << (rng() % 64);
        }
    }
    return h;
}

static double timed(const uint64_t *h, size_t n, int r, unsigned threads,
                    size_t *np)
{
    ia_near_pair *p = NULL;
    double t0 = now();
    int rc = threads ? ia_near_pairs_index(h, n, r, threads, &p, np)
                     : ia_near_pairs_brute(h, n, r, &p, np);
    double t = now() - t0;
    free(p);
    return rc == IA_OK ? t : -1.0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int r = argc > 2 ? atoi(argv[2]) : 10;
    size_t nb = argc > 3 ? strtoull(argv[3], NULL, 10) : 50000;
    uint64_t *h = make(n);
    if (!h)
        return 1;
    size_t np1, np2, npb, npm;
    double t1 = timed(h, n, r, 1, &np1);
    double t2 = timed(h, n, r, 2, &np2);
    double tb = timed(h, nb < n ? nb : n, r, 0, &npb);
    double tm = timed(h, nb < n ? nb : n, r, 1, &npm);
    printf("near_index: n=%zu radius=%d\n", n, r);
    printf("  multi-index, 1 thread : %8.3f s  %zu pairs\n", t1, np1);
    printf("  multi-index, 2 threads: %8.3f s  %zu pairs\n", t2, np2);
    printf("  brute force n=%zu     : %8.3f s  %zu pairs "
           "(multi-index on the same: %.3f s, %zu pairs)\n",
           nb, tb, npb, tm, npm);
    printf("  brute force extrapolated to n=%zu: %.0f s\n", n,
           tb * ((double)n / (double)nb) * ((double)n / (double)nb));
    free(h);
    return (np1 == np2 && npb == npm) ? 0 : 1;
}
