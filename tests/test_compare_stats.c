/*
 * The statistics of compare (src/compare/stats.c) against scipy 1.10.1:
 * every expected value below was computed by
 * tests/reference/compare_stats_reference.py with Debian 12's
 * python3-scipy 1.10.1 / numpy 1.24.2 (scipy.stats.ks_2samp with
 * method='auto', scipy.stats.kstwo.sf, scipy.special.smirnov,
 * scipy.special.gammaincc, scipy.stats.chi2_contingency with
 * correction=False) and pasted here. The samples are generated here by
 * the same formulas as in that script. Total variation distances are
 * checked against fractions worked out by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare/stats.h"

#define PHI 0.6180339887498949
#define PLASTIC 0.7548776662466927

/* |got - want| <= rel |want|, or both below 1e-300 (subnormal results
 * differ in their last digits between extended and double-double
 * arithmetic). */
static void assert_close(double got, double want, double rel, const char *what)
{
    if (fabs(want) < 1e-300 && fabs(got) < 1e-300)
        return;
    if (!(fabs(got - want) <= rel * fabs(want))) {
        print_error("%s: got %.17g, want %.17g (rel %.3g)\n", what, got, want,
                    fabs(want) > 0 ? fabs(got - want) / fabs(want) : got);
        fail();
    }
}

static double *sample(const char *kind, size_t n, int seed, double shift)
{
    double *v = malloc(n * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) {
        double t = (double)((long)i + seed);
        if (strcmp(kind, "frac") == 0) {
            v[i] = fmod(t * PHI, 1.0) + shift;
        } else if (strcmp(kind, "sq") == 0) {
            double f = fmod(t * PHI, 1.0);
            v[i] = f * f + shift;
        } else {
            v[i] = floor(fmod(t * PLASTIC, 1.0) * 10) + shift;
        }
    }
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct ks_case {
    const char *ka;
    size_t na;
    int sa;
    double shifta;
    const char *kb;
    size_t nb;
    int sb;
    double shiftb;
    double statistic, p_value;
} ks_case;

static const ks_case ks_cases[] = {
    {"frac", 5, 1, 0.0, "frac", 6, 2, 0.3, 0.4666666666666667, 0.474025974025974},
    {"frac", 50, 1, 0.0, "frac", 50, 7, 0.1, 0.14, 0.7166468440414822},
    {"int", 100, 1, 0.0, "int", 100, 3, 0.0, 0.01, 1.0},
    {"frac", 300, 1, 0.0, "frac", 500, 4, 0.05, 0.05466666666666667, 0.6117479773266916},
    {"frac", 1000, 1, 0.0, "frac", 1200, 9, 0.0, 0.002, 1.0},
    {"int", 95, 1, 0.0, "int", 130, 5, 1.0, 0.11578947368421053, 0.4147206018619768},
    {"frac", 12000, 1, 0.0, "frac", 11000, 2, 0.02, 0.020257575757575697, 0.017759649864754964},
    {"frac", 12000, 1, 0.0, "frac", 11000, 2, 0.005, 0.005189393939393883, 0.9976375547723576},
    {"frac", 20000, 1, 0.0, "frac", 60, 3, 0.1, 0.12156666666666666, 0.3121164610523054},
    {"frac", 15000, 1, 0.0, "frac", 15000, 2, 0.0003, 0.00040000000000006697, 1.0},
    {"frac", 10000, 1, 0.0, "frac", 10000, 5, 0.01, 0.0103, 0.6637453476707832},
    {"frac", 10000, 1, 0.0, "frac", 9999, 5, 0.01, 0.010313781378137814, 0.6571949752877916},
    {"int", 3000, 1, 0.0, "int", 2900, 2, 0.0, 0.000367816091954023, 1.0},
    {"frac", 300, 1, 0.0, "frac", 500, 4, 0.3, 0.30533333333333335, 6.404126866323635e-16},
    {"frac", 40, 1, 0.0, "frac", 40, 2, 0.25, 0.275, 0.09707484379785862},
    {"sq", 800, 1, 0.0, "frac", 700, 2, 0.0, 0.25089285714285714, 3.97606852913263e-21},
    {"sq", 900, 1, 0.0, "sq", 1000, 2, 0.04, 0.2, 4.6935332239811617e-17},
    {"sq", 11000, 1, 0.0, "frac", 12000, 2, 0.0, 0.25009848484848485, 9.057503e-317},
    {"frac", 12000, 1, 0.0, "frac", 11000, 2, 0.012, 0.012181818181818183, 0.3590957764274546},
    {"int", 20000, 1, 0.0, "int", 15000, 2, 0.0, 0.00013333333333331865, 1.0},
    {"int", 3, 1, 0.0, "frac", 1, 2, 0.0, 1.0, 0.5},
};

static void test_ks_2samp(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ks_cases / sizeof ks_cases[0]; i++) {
        const ks_case *c = &ks_cases[i];
        double *a = sample(c->ka, c->na, c->sa, c->shifta);
        double *b = sample(c->kb, c->nb, c->sb, c->shiftb);
        qsort(a, c->na, sizeof *a, cmp_double);
        qsort(b, c->nb, sizeof *b, cmp_double);
        ia_ks_result r;
        char what[96];
        assert_int_equal(ia_ks_2samp(a, c->na, b, c->nb, &r), 0);
        snprintf(what, sizeof what, "ks case %zu (%zu vs %zu) statistic", i,
                 c->na, c->nb);
        assert_close(r.statistic, c->statistic, 1e-12, what);
        snprintf(what, sizeof what, "ks case %zu (%zu vs %zu) p-value", i,
                 c->na, c->nb);
        assert_close(r.p_value, c->p_value, 1e-9, what);
        assert_int_equal(r.exact, c->na <= IA_KS_MAX_EXACT_N &&
                                      c->nb <= IA_KS_MAX_EXACT_N);
        /* symmetric in its samples */
        ia_ks_result s;
        assert_int_equal(ia_ks_2samp(b, c->nb, a, c->na, &s), 0);
        assert_close(s.p_value, r.p_value, 1e-12, what);
        free(a);
        free(b);
    }
}

static void test_ks_bad_args(void **state)
{
    (void)state;
    double a[2] = {1, 2};
    ia_ks_result r = {-1, -1, -1};
    assert_int_equal(ia_ks_2samp(a, 0, a, 2, &r), -1);
    assert_int_equal(ia_ks_2samp(a, 2, NULL, 2, &r), -1);
    assert_true(r.statistic == -1);
    /* identical samples: D = 0, p = 1 */
    assert_int_equal(ia_ks_2samp(a, 2, a, 2, &r), 0);
    assert_true(r.statistic == 0.0 && r.p_value == 1.0);
}

static const struct {
    double x;
    uint64_t n;
    double sf;
} kstwo_cases[] = {
    {0.04, 10, 1.0},
    {0.08, 10, 0.9999978058034054},
    {0.07, 10, 0.9999999619492741},
    {0.96, 20, 2.199023255552039e-28},
    {0.7, 500, 4.2709883022831154e-246},
    {0.05, 100, 0.9532159710635725},
    {0.15, 100, 0.019839242125643017},
    {0.25, 100, 5.408871776434847e-06},
    {0.01, 5000, 0.6954557253913853},
    {0.003, 5000, 0.9999999999740126},
    {0.03, 5000, 0.00024159234422666817},
    {0.002, 200000, 0.39995085369038097},
    {0.0005, 1500, 1.0},
    {0.3, 1000, 2.590715705736845e-80},
    {0.02, 60000, 2.8010920013358118e-21},
};

static void test_kstwo_sf(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof kstwo_cases / sizeof kstwo_cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "kstwo.sf(%g, %llu)", kstwo_cases[i].x,
                 (unsigned long long)kstwo_cases[i].n);
        assert_close(ia_kstwo_sf(kstwo_cases[i].x, kstwo_cases[i].n),
                     kstwo_cases[i].sf, 1e-9, what);
    }
}

static const struct {
    uint64_t n;
    double x, sf;
} smirnov_cases[] = {
    {10, 0.3, 0.1354635556},
    {1000, 0.05, 0.006506037390545166},
    {50000, 0.01, 4.509024405921801e-05},
    {7, 0.9, 9.999999999999985e-08},
};

static void test_smirnov(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof smirnov_cases / sizeof smirnov_cases[0];
         i++) {
        char what[64];
        snprintf(what, sizeof what, "smirnov(%llu, %g)",
                 (unsigned long long)smirnov_cases[i].n, smirnov_cases[i].x);
        assert_close(ia_smirnov_sf(smirnov_cases[i].n, smirnov_cases[i].x),
                     smirnov_cases[i].sf, 1e-9, what);
    }
}

static const struct {
    double a, x, q;
} gamma_cases[] = {
    {0.5, 0.1, 0.6547208460185768},
    {1.0, 2.0, 0.1353352832366127},
    {4.5, 3.2, 0.6993125708664081},
    {4.5, 12.0, 0.004301310843500872},
    {50.0, 40.0, 0.9296649333406051},
    {50.0, 80.0, 0.0001307839765914092},
    {500.0, 520.0, 0.18469114909874365},
    {1.5, 30.0, 5.878230727906921e-13},
    {4.5, 200.0, 1.3699125019662825e-80},
};

static void test_gamma_q(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof gamma_cases / sizeof gamma_cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "gammaincc(%g, %g)", gamma_cases[i].a,
                 gamma_cases[i].x);
        assert_close(ia_gamma_q(gamma_cases[i].a, gamma_cases[i].x),
                     gamma_cases[i].q, 1e-10, what);
    }
    assert_true(isnan(ia_gamma_q(0.0, 1.0)));
    assert_true(isnan(ia_gamma_q(1.0, -1.0)));
    assert_true(ia_gamma_q(2.0, 0.0) == 1.0);
}

static const uint64_t chi2_tables[][2][10] = {
    {{10, 20, 30}, {15, 25, 20}},
    {{100, 0, 50}, {90, 10, 60}},
    {{5, 0}, {0, 5}},
    {{241, 123, 455, 184, 468, 290, 198, 202, 112, 795},
     {241, 0, 455, 184, 468, 290, 198, 202, 112, 795}},
    {{40, 40, 40}, {41, 39, 40}},
};
static const size_t chi2_k[] = {3, 3, 2, 10, 3};
static const struct {
    double statistic, p_value;
    int df;
} chi2_want[] = {
    {3.5555555555555554, 0.16901331540606607, 2},
    {11.124401913875598, 0.003840314721804063, 2},
    {10.0, 0.001565402258002549, 1},
    {120.53438722294655, 1.038623854182724e-21, 9},
    {0.025003906860446942, 0.9875758713314422, 2},
};

static void test_chi2(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof chi2_k / sizeof chi2_k[0]; i++) {
        ia_chi2_result r;
        char what[32];
        snprintf(what, sizeof what, "chi2 table %zu", i);
        assert_int_equal(ia_chi2_homogeneity(chi2_tables[i][0],
                                             chi2_tables[i][1], chi2_k[i],
                                             &r), 0);
        assert_int_equal(r.df, chi2_want[i].df);
        assert_close(r.statistic, chi2_want[i].statistic, 1e-12, what);
        assert_close(r.p_value, chi2_want[i].p_value, 1e-9, what);
    }
    /* empty categories are dropped; one category left: df 0, p 1 */
    const uint64_t a[3] = {0, 7, 0}, b[3] = {0, 9, 0}, z[3] = {0, 0, 0};
    ia_chi2_result r;
    assert_int_equal(ia_chi2_homogeneity(a, b, 3, &r), 0);
    assert_int_equal(r.df, 0);
    assert_true(r.statistic == 0.0 && r.p_value == 1.0);
    assert_int_equal(ia_chi2_homogeneity(a, z, 3, &r), -1);
}

static void test_tvd(void **state)
{
    (void)state;
    const uint64_t a[3] = {1, 1, 2}, b[3] = {2, 1, 1}, c[3] = {2, 2, 4};
    const uint64_t z[3] = {0, 0, 0}, d[3] = {0, 0, 5};
    /* 0.5 (|1/4 - 2/4| + 0 + |2/4 - 1/4|) = 1/4 */
    assert_true(fabs(ia_tvd(a, b, 3) - 0.25) < 1e-15);
    assert_true(ia_tvd(a, c, 3) == 0.0);   /* same shares */
    assert_true(ia_tvd(z, z, 3) == 0.0);
    assert_true(ia_tvd(a, z, 3) == 1.0);
    /* 0.5 (1/4 + 1/4 + |1/2 - 1|) = 1/2 */
    assert_true(fabs(ia_tvd(a, d, 3) - 0.5) < 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ks_2samp),
        cmocka_unit_test(test_ks_bad_args),
        cmocka_unit_test(test_kstwo_sf),
        cmocka_unit_test(test_smirnov),
        cmocka_unit_test(test_gamma_q),
        cmocka_unit_test(test_chi2),
        cmocka_unit_test(test_tvd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
