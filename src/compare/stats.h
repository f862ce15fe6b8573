/*
 * The statistics behind `imgaudit compare` (docs/compare.md): the
 * two-sample Kolmogorov-Smirnov test, the chi-square test of homogeneity
 * and the total variation distance. Pure functions of their arguments,
 * no allocation except inside ia_ks_2samp's exact path (one column of
 * doubles); checked against scipy 1.10 in tests/test_compare_stats.c.
 */
#ifndef IA_COMPARE_STATS_H
#define IA_COMPARE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Above this sample size (either sample) the KS p-value is asymptotic,
 * as scipy.stats.ks_2samp(method='auto') decides (its MAX_AUTO_N). */
#define IA_KS_MAX_EXACT_N 10000

typedef struct ia_ks_result {
    double statistic;   /* D = max |F1 - F2| over the pooled values */
    double p_value;     /* two-sided */
    int exact;          /* 1: exact null distribution; 0: asymptotic */
} ia_ks_result;

/* Two-sided two-sample KS test of a[0..na) and b[0..nb), both sorted
 * ascending and free of NaN, na, nb >= 1. The statistic handles ties as
 * scipy does (ECDFs compared right after each pooled value). p-value as
 * scipy.stats.ks_2samp(a, b, method='auto'): exact when max(na, nb) <=
 * IA_KS_MAX_EXACT_N, else ia_kstwo_sf(D, round(na nb / (na + nb))).
 * Returns 0, or -1 on bad arguments or out of memory (*out untouched). */
int ia_ks_2samp(const double *a, size_t na, const double *b, size_t nb,
                ia_ks_result *out);

/* P(D_{m,n} >= h / lcm(m, n)) under the null, exactly: the share of
 * lattice paths from (0,0) to (m,n) that touch |x/m - y/n| >= h/lcm.
 * m, n <= 2^31. NaN when out of memory. */
double ia_ks_exact_sf(uint64_t m, uint64_t n, uint64_t h);

/* scipy.stats.kstwo.sf(x, n): the survival function of the one-sample
 * two-sided KS statistic D_n, with the algorithm choice of Simard and
 * L'Ecuyer (2011) that scipy follows. */
double ia_kstwo_sf(double x, uint64_t n);

/* scipy.special.smirnov(n, x): P(D_n^+ >= x), the one-sided statistic,
 * by the Birnbaum-Tingey sum in extended precision. */
double ia_smirnov_sf(uint64_t n, double x);

/* scipy.special.gammaincc(a, x): the regularized upper incomplete gamma
 * function Q(a, x), a > 0, x >= 0. NaN for bad arguments. */
double ia_gamma_q(double a, double x);

/* scipy.stats.chi2.sf(x, df) = Q(df / 2, x / 2). */
double ia_chi2_sf(double x, double df);

typedef struct ia_chi2_result {
    double statistic;
    double p_value;   /* 1 when df is 0 */
    int df;           /* (rows - 1) (columns - 1) over non-empty columns */
} ia_chi2_result;

/* Chi-square test of homogeneity of the 2 x k table (a; b) of counts, as
 * scipy.stats.chi2_contingency(table, correction=False): categories empty
 * in both rows are dropped first. Returns 0, or -1 when a row sums to 0
 * (no test possible; *out untouched). */
int ia_chi2_homogeneity(const uint64_t *a, const uint64_t *b, size_t k,
                        ia_chi2_result *out);

/* Total variation distance between the distributions of two count
 * vectors: 0.5 * sum |a_i / A - b_i / B|. 0 when both are empty, 1 when
 * exactly one is. */
double ia_tvd(const uint64_t *a, const uint64_t *b, size_t k);

#endif
