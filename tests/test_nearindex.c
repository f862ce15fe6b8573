/*
 * Multi-index hashing must return exactly the pairs brute force returns:
 * property tests on random hashes (few pairs), clustered hashes (many
 * pairs at every distance up to and beyond the radius) and duplicates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "imgaudit.h"
#include "analyze/nearindex.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: a fixed sequence, so failures reproduce */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t flip_bits(uint64_t h, int k)
{
    for (int i = 0; i < k; i++)
        h ^= 1ULL << (rng() % 64);
    return h;
}

static void check_equal(const uint64_t *h, size_t n, int radius,
                        unsigned threads)
{
    ia_near_pair *a = NULL, *b = NULL, *c = NULL;
    size_t na = 0, nb = 0, nc = 0;
    /* the index whatever n, the entry point (pair by pair for a small
     * n), and brute force: the same pairs in the same order */
    assert_int_equal(ia_near_pairs_index(h, n, radius, threads, &a, &na),
                     IA_OK);
    assert_int_equal(ia_near_pairs_brute(h, n, radius, &b, &nb), IA_OK);
    assert_int_equal(ia_near_pairs(h, n, radius, threads, &c, &nc), IA_OK);
    assert_int_equal(na, nb);
    assert_int_equal(nc, nb);
    for (size_t k = 0; k < na; k++) {
        assert_int_equal(a[k].i, b[k].i);
        assert_int_equal(a[k].j, b[k].j);
        assert_int_equal(a[k].distance, b[k].distance);
        assert_int_equal(c[k].i, b[k].i);
        assert_int_equal(c[k].j, b[k].j);
        assert_int_equal(c[k].distance, b[k].distance);
    }
    free(a);
    free(b);
    free(c);
}

static void test_random(void **st)
{
    (void)st;
    rng_state = 1;
    size_t n = 3000;
    uint64_t *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++)
        h[i] = rng();
    for (int r = 0; r <= 16; r += 4)
        check_equal(h, n, r, 1);
    free(h);
}

/* Sets on both sides of the size where the entry point changes method. */
static void test_sizes(void **st)
{
    (void)st;
    rng_state = 3;
    static const size_t sizes[] = {1, 2, 100, 2999, 3000, 3001, 3300};
    uint64_t *h = malloc(3300 * sizeof *h);
    for (size_t i = 0; i < 3300; i++)
        h[i] = i % 7 ? flip_bits(h[i - i % 7], (int)(rng() % 9)) : rng();
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        check_equal(h, sizes[k], 6, 2);
    free(h);
}

static void test_clustered(void **st)
{
    (void)st;
    rng_state = 7;
    size_t n = 4000;
    uint64_t *h = malloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) {
        if (i % 20 == 0)
            h[i] = rng();
        else /* cluster members at 0..14 bits from their centre */
            h[i] = flip_bits(h[i - i % 20], (int)(rng() % 15));
    }
    static const int radii[] = {0, 1, 3, 4, 5, 7, 8, 10, 11, 12, 15};
    for (size_t k = 0; k < sizeof radii / sizeof radii[0]; k++) {
        check_equal(h, n, radii[k], 1);
        check_equal(h, n, radii[k], 3);
    }
    free(h);
}

static void test_duplicates_and_edges(void **st)
{
    (void)st;
    uint64_t h[] = {0, 0, 0, ~0ULL, ~0ULL, 1, 3, 0x8000000000000000ULL};
    size_t n = sizeof h / sizeof h[0];
    for (int r = 0; r <= 64; r += 8)
        check_equal(h, n, r, 2);
    ia_near_pair *p = NULL;
    size_t np = 99;
    assert_int_equal(ia_near_pairs(h, 0, 8, 1, &p, &np), IA_OK);
    assert_int_equal(np, 0);
    free(p);
    np = 99;
    assert_int_equal(ia_near_pairs_index(h, 0, 8, 1, &p, &np), IA_OK);
    assert_int_equal(np, 0);
    free(p);
    assert_int_equal(ia_near_pairs(h, n, 65, 1, &p, &np), IA_ERR_ARG);
    assert_int_equal(ia_near_pairs_index(h, n, 65, 1, &p, &np), IA_ERR_ARG);
    assert_int_equal(ia_near_pairs(h, n, -1, 1, &p, &np), IA_ERR_ARG);
    assert_int_equal(ia_near_pairs(h, n, 0, 1, &p, &np), IA_OK);
    /* three zeros and two all-ones: 3 + 1 exact pairs */
    assert_int_equal(np, 4);
    assert_int_equal(p[0].i, 0);
    assert_int_equal(p[0].j, 1);
    assert_int_equal(p[0].distance, 0);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_clustered),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_duplicates_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
