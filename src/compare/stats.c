/*
 * Two-sample Kolmogorov-Smirnov, chi-square homogeneity and total
 * variation distance, for `imgaudit compare`.
 *
 * The KS test follows scipy.stats.ks_2samp(method='auto') (scipy 1.10),
 * so a user who checks a number with scipy gets the same one:
 *   - statistic: ECDFs compared after each pooled value, ties included;
 *     computed as the exact integer |i n - j m| and only then divided;
 *   - max(m, n) <= 10000: the exact null distribution. Equal sizes use
 *     the alternating binomial sum in Horner form; unequal sizes count
 *     lattice paths with the recursion of Viehmann (arXiv:2102.08037),
 *     which carries the probability of having left the band, so every
 *     value stays in [0, 1] and nothing overflows;
 *   - otherwise: kstwo.sf(D, round(mn / (m + n))), the exact
 *     distribution of the one-sample statistic, computed with the
 *     algorithm choice of Simard and L'Ecuyer (2011): Ruben-Gambino
 *     closed forms at the ends, 2 * Smirnov's one-sided tail where the
 *     two tails cannot both be crossed (or nearly so), the Durbin matrix
 *     (Marsaglia, Tsang and Wang 2003) for small n d, and the Pelz-Good
 *     expansion elsewhere. Where scipy uses Pomeranz's recursion (n <=
 *     140) we use the Durbin matrix: both are exact, so they agree to
 *     rounding.
 * The chi-square p-value is the regularized upper incomplete gamma
 * function: a series below a + 1, Lentz's continued fraction above.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare/stats.h"

#define IA_PI 3.14159265358979323846

/* ---- Kolmogorov-Smirnov: the statistic ------------------------------ */

static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* max over the pooled values of |i n - j m|, where i of the m values of a
 * and j of the n of b are <= the value; *fi, *fj the counts where it is
 * reached first. */
static uint64_t ks_max_diff(const double *a, size_t m, const double *b,
                            size_t n, size_t *fi, size_t *fj)
{
    size_t i = 0, j = 0;
    uint64_t best = 0;
    *fi = *fj = 0;
    while (i < m || j < n) {
        double v = (j >= n || (i < m && a[i] <= b[j])) ? a[i] : b[j];
        while (i < m && a[i] <= v)
            i++;
        while (j < n && b[j] <= v)
            j++;
        uint64_t x = (uint64_t)i * n, y = (uint64_t)j * m;
        uint64_t d = x > y ? x - y : y - x;
        if (d > best) {
            best = d;
            *fi = i;
            *fj = j;
        }
    }
    return best;
}

/* ---- Kolmogorov-Smirnov: the exact two-sample distribution ---------- */

/* 2 sum_{k>=1} (-1)^(k-1) C(2n, n - kh) / C(2n, n), nested as
 * a1 (1 - a2 (1 - a3 (...))) with a_k the ratio of consecutive terms. */
static double ks_exact_square(uint64_t n, uint64_t h)
{
    double p = 0.0;
    for (uint64_t k = n / h + 1; k >= 1; k--) {
        double r = 1.0;
        uint64_t base = (k - 1) * h;   /* the previous term's offset */
        for (uint64_t j = 0; j < h; j++) {
            if (base + j >= n) {
                r = 0.0;
                break;
            }
            r = r * (double)(n - base - j) / (double)(n + base + j + 1);
        }
        p = r * (1.0 - p);
    }
    return 2.0 * p;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* A(i, j): the probability that a uniformly drawn path from (0,0) to
 * (i, j) has left the band |i ng - j mg| < h; 1 outside the band;
 * A(i, j) = (i A(i-1, j) + j A(i, j-1)) / (i + j) inside, since i/(i+j)
 * of those paths arrive from the left. One column is kept. */
static double ks_exact_paths(uint64_t m, uint64_t n, uint64_t g, uint64_t h)
{
    if (m < n) {
        uint64_t t = m;
        m = n;
        n = t;
    }
    int64_t mg = (int64_t)(m / g), ng = (int64_t)(n / g), hh = (int64_t)h;
    double *a = malloc(((size_t)n + 1) * sizeof *a);
    double p = (double)NAN;
    if (!a)
        return (double)NAN;
    for (uint64_t j = 0; j <= n; j++)
        a[j] = (int64_t)j * mg < hh ? 0.0 : 1.0;
    int64_t prev_lo = 0;
    for (int64_t i = 1; i <= (int64_t)m; i++) {
        int64_t lo = floor_div(ng * i - hh, mg) + 1;
        int64_t hi = floor_div(ng * i + hh - 1, mg);   /* mg j < ng i + h */
        if (lo < 0)
            lo = 0;
        if (hi > (int64_t)n)
            hi = (int64_t)n;
        if (lo > (int64_t)n || hi < lo) {
            p = 1.0;
            goto out;
        }
        for (int64_t j = prev_lo; j < lo; j++)
            a[j] = 1.0;
        for (int64_t j = lo; j <= hi; j++) {
            double left = (double)i * a[j];
            double below = j > 0 ? (double)j * a[j - 1] : 0.0;
            a[j] = (left + below) / (double)(i + j);
        }
        prev_lo = lo;
    }
    p = a[n];
out:
    free(a);
    return p;
}

double ia_ks_exact_sf(uint64_t m, uint64_t n, uint64_t h)
{
    if (m == 0 || n == 0 || m > (1ULL << 31) || n > (1ULL << 31))
        return (double)NAN;
    if (h == 0)
        return 1.0;
    uint64_t g = gcd_u64(m, n);
    if (h >= (m / g) * n)
        h = (m / g) * n;
    if (m == n)
        return ks_exact_square(n, h);
    return ks_exact_paths(m, n, g, h);
}

/* ---- the one-sample distribution (asymptotic two-sample path) ------- */

static double clip01(double p)
{
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

double ia_smirnov_sf(uint64_t n, double x)
{
    if (n == 0 || isnan(x))
        return (double)NAN;
    if (x <= 0.0)
        return 1.0;
    if (x >= 1.0)
        return 0.0;
    if (n == 1)
        return x;
    long double nn = (long double)n, xx = (long double)x;
    long double lgn = lgammal(nn + 1.0L), sum = 0.0L;
    uint64_t last = (uint64_t)floorl(nn * (1.0L - xx));
    for (uint64_t j = 0; j <= last && j <= n; j++) {
        long double jj = (long double)j;
        long double lo = 1.0L - xx - jj / nn, hi = xx + jj / nn;
        if (lo <= 0.0L)
            continue;
        long double lt = lgn - lgammal(jj + 1.0L) - lgammal(nn - jj + 1.0L) +
                         (nn - jj) * logl(lo) + (jj - 1.0L) * logl(hi);
        sum += expl(lt);
    }
    return clip01((double)(xx * sum));
}

/* Powers of two scaled out of the Durbin matrix to keep it in range. */
#define SCALE_BIG 0x1p128
#define SCALE_SMALL 0x1p-128

static void mat_mul(const double *x, const double *y, double *out, int m)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            double s = 0.0;
            for (int k = 0; k < m; k++)
                s += x[i * m + k] * y[k * m + j];
            out[i * m + j] = s;
        }
}

/* P(D_n <= d) by the Durbin matrix: with k = ceil(n d), h = k - n d and
 * the (2k-1)-square matrix H of Marsaglia, Tsang and Wang,
 * P = n!/n^n (H^n)[k-1][k-1]; powers of 2 are scaled out on the way and
 * put back at the end. NaN when out of memory. */
static double kolmogorov_durbin_cdf(uint64_t n, double d)
{
    double nd = (double)n * d;
    if (d >= 1.0)
        return 1.0;
    if (nd <= 0.5)
        return 0.0;
    int k = (int)ceil(nd), m = 2 * k - 1;
    double h = k - nd;
    size_t mm = (size_t)m * (size_t)m;
    double *H = calloc(mm * 3 + (size_t)m + 1, sizeof *H);
    if (!H)
        return (double)NAN;
    double *P = H + mm, *T = H + 2 * mm, *fact = H + 3 * mm;
    fact[0] = 1.0;   /* fact[i] = 1/i! */
    for (int i = 1; i <= m; i++)
        fact[i] = fact[i - 1] / (double)i;
    for (int i = 0; i < m; i++)
        for (int j = 0; j <= i + 1 && j < m; j++)
            H[i * m + j] = fact[i - j + 1];
    for (int i = 0; i < m; i++) {
        double v = (1.0 - pow(h, i + 1)) * fact[i + 1];
        H[i * m] = v;
        H[(m - 1) * m + (m - 1 - i)] = v;
    }
    double tt = pow(fmax(2.0 * h - 1.0, 0.0), m) - 2.0 * pow(h, m);
    H[(m - 1) * m] = (1.0 + tt) * fact[m];
    for (int i = 0; i < m; i++)
        P[i * m + i] = 1.0;
    long pe = 0, he = 0;   /* binary exponents scaled out of P and H */
    for (uint64_t e = n; e > 0; e >>= 1) {
        if (e & 1) {
            mat_mul(P, H, T, m);
            memcpy(P, T, mm * sizeof *P);
            pe += he;
        }
        mat_mul(H, H, T, m);
        memcpy(H, T, mm * sizeof *H);
        he *= 2;
        if (fabs(H[(k - 1) * m + (k - 1)]) > SCALE_BIG) {
            for (size_t i = 0; i < mm; i++)
                H[i] *= SCALE_SMALL;
            he += 128;
        }
    }
    double p = P[(k - 1) * m + (k - 1)];
    for (uint64_t i = 1; i <= n; i++) {
        p = (double)i * p / (double)n;
        if (fabs(p) < SCALE_SMALL) {
            p *= SCALE_BIG;
            pe -= 128;
        }
    }
    free(H);
    return clip01(ldexp(p, (int)pe));
}

/* P(D_n <= x) by the Pelz-Good expansion in 1/sqrt(n) (Pelz and Good
 * 1976, as in Simard and L'Ecuyer 2011, section 2.3). */
static double kolmogorov_pelz_good_cdf(uint64_t n, double x)
{
    const double pi2 = IA_PI * IA_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
    const double sqrt2pi = sqrt(2.0 * IA_PI);
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    double z = sqrt((double)n) * x, z2 = z * z, z3 = z2 * z, z4 = z2 * z2;
    double z6 = z4 * z2, z7 = z6 * z, z8 = z4 * z4, z10 = z8 * z2;
    double qlog = -pi2 / 8.0 / z2;
    if (qlog < -708.0)
        return 0.0;
    double q = exp(qlog);
    double k1a = -z2, k1b = pi2 / 4.0;
    double k2a = 6.0 * z6 + 2.0 * z4;
    double k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    double k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    double k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    double k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    double k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    double k3a = -30.0 * z6 - 90.0 * z8;
    double K[4] = {0, 0, 0, 0};
    int maxk = (int)ceil(16.0 * z / IA_PI);
    /* sums over odd m = 2k - 1 of c(m) q^(m^2), in Horner form in q^8k */
    for (int k = maxk; k >= 1; k--) {
        double mo = 2.0 * k - 1.0, m2 = mo * mo, m4 = m2 * m2, m6 = m4 * m2;
        double qp = pow(q, 8.0 * k);
        double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                       k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (int t = 0; t < 4; t++)
            K[t] = K[t] * qp + c[t];
    }
    double div[4] = {z, 6.0 * z4, 72.0 * z7, 6480.0 * z10};
    for (int t = 0; t < 4; t++)
        K[t] = K[t] * q * sqrt2pi / div[t];
    /* sums over all k of the terms in q'^(k^2), q' = exp(-pi^2 / 2z^2) */
    double q2 = exp(-pi2 / 2.0 / z2), s2 = 0.0, s3 = 0.0;
    double sqrt3z = sqrt(3.0) * z;
    for (int k = maxk; k >= 1; k--) {
        double kk = (double)k * k, qk = pow(q2, kk), kpi = IA_PI * k;
        s2 += kk * qk;
        s3 += (sqrt3z + kpi) * (sqrt3z - kpi) * kk * qk;
    }
    K[2] += s2 * pi2 * sqrt2pi / (-36.0 * z3);
    K[3] += s3 * pi2 * sqrt2pi / (216.0 * z6);
    double sum = 0.0, rn = sqrt((double)n);
    for (int t = 0; t < 4; t++)
        sum += K[t] / pow(rn, t);
    return sum;
}

/* n!/n^n (2t - 1)^n: P(D_n <= x) for 1/2n <= x <= 1/n (Ruben-Gambino). */
static double kolmogorov_low_cdf(uint64_t n, double t)
{
    if (n <= 140) {
        double p = 1.0;
        for (uint64_t i = 1; i <= n; i++)
            p *= (double)i / (double)n * (2.0 * t - 1.0);
        return p;
    }
    long double nn = (long double)n;
    return (double)expl(lgammal(nn + 1.0L) - nn * logl(nn) +
                        nn * logl(2.0L * (long double)t - 1.0L));
}

double ia_kstwo_sf(double x, uint64_t n)
{
    if (n == 0 || isnan(x))
        return (double)NAN;
    if (x >= 1.0)
        return 0.0;
    if (x <= 0.0)
        return 1.0;
    double t = (double)n * x, nx2 = t * x;
    if (t <= 1.0) {
        if (t <= 0.5)
            return 1.0;
        return clip01(1.0 - kolmogorov_low_cdf(n, t));
    }
    if (t >= (double)n - 1.0)
        return clip01(2.0 * pow(1.0 - x, (double)n));
    if (x >= 0.5)
        return clip01(2.0 * ia_smirnov_sf(n, x));
    if (n <= 140) {
        if (nx2 <= 4.0)
            return clip01(1.0 - kolmogorov_durbin_cdf(n, x));
        return clip01(2.0 * ia_smirnov_sf(n, x));
    }
    if (nx2 >= 370.0)
        return 0.0;
    if (nx2 >= 2.2)
        return clip01(2.0 * ia_smirnov_sf(n, x));
    double cdf;
    if (nx2 >= 18.0)
        cdf = 1.0;
    else if (n <= 100000 && (double)n * pow(x, 1.5) <= 1.4)
        cdf = kolmogorov_durbin_cdf(n, x);
    else
        cdf = kolmogorov_pelz_good_cdf(n, x);
    return clip01(1.0 - cdf);
}

int ia_ks_2samp(const double *a, size_t na, const double *b, size_t nb,
                ia_ks_result *out)
{
    size_t fi, fj;
    if (!a || !b || !out || na == 0 || nb == 0 || na > (1ULL << 31) ||
        nb > (1ULL << 31))
        return -1;
    uint64_t diff = ks_max_diff(a, na, b, nb, &fi, &fj);
    ia_ks_result r;
    /* As scipy: the difference of the two ECDF values in doubles. */
    r.statistic = fabs((double)fi / (double)na - (double)fj / (double)nb);
    if (na <= IA_KS_MAX_EXACT_N && nb <= IA_KS_MAX_EXACT_N) {
        uint64_t g = gcd_u64(na, nb), h = diff / g;
        uint64_t lcm = (na / g) * nb;
        r.statistic = (double)h / (double)lcm;
        r.p_value = ia_ks_exact_sf(na, nb, h);
        r.exact = 1;
        if (isnan(r.p_value))
            return -1;
    } else {
        double m = (double)(na > nb ? na : nb),
               n = (double)(na > nb ? nb : na);
        double en = nearbyint(m * n / (m + n));   /* half to even, as numpy */
        r.p_value = ia_kstwo_sf(r.statistic, (uint64_t)(en < 1.0 ? 1.0 : en));
        r.exact = 0;
        if (isnan(r.p_value))
            return -1;
    }
    r.p_value = clip01(r.p_value);
    *out = r;
    return 0;
}

/* ---- chi-square ------------------------------------------------------ */

/* P(a, x) by its power series; valid and fast for x < a + 1. */
static double gamma_p_series(double a, double x)
{
    double ap = a, del = 1.0 / a, sum = del;
    for (int i = 0; i < 100000; i++) {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * 1e-17)
            break;
    }
    return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by its continued fraction (modified Lentz); for x >= a + 1. */
static double gamma_q_fraction(double a, double x)
{
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny)
            d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16)
            break;
    }
    return exp(-x + a * log(x) - lgamma(a)) * h;
}

double ia_gamma_q(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0.0 || x < 0.0)
        return (double)NAN;
    if (x == 0.0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    if (x < a + 1.0)
        return clip01(1.0 - gamma_p_series(a, x));
    return clip01(gamma_q_fraction(a, x));
}

double ia_chi2_sf(double x, double df)
{
    if (df <= 0.0)
        return (double)NAN;
    if (x <= 0.0)
        return 1.0;
    return ia_gamma_q(df / 2.0, x / 2.0);
}

int ia_chi2_homogeneity(const uint64_t *a, const uint64_t *b, size_t k,
                        ia_chi2_result *out)
{
    double ra = 0.0, rb = 0.0;
    size_t cols = 0;
    for (size_t i = 0; i < k; i++) {
        ra += (double)a[i];
        rb += (double)b[i];
        cols += a[i] + b[i] > 0;
    }
    if (ra == 0.0 || rb == 0.0)
        return -1;
    double n = ra + rb, stat = 0.0;
    for (size_t i = 0; i < k; i++) {
        double c = (double)a[i] + (double)b[i];
        if (c == 0.0)
            continue;
        double ea = ra * c / n, eb = rb * c / n;
        double da = (double)a[i] - ea, db = (double)b[i] - eb;
        stat += da * da / ea + db * db / eb;
    }
    ia_chi2_result r;
    r.df = cols > 1 ? (int)(cols - 1) : 0;
    r.statistic = r.df ? stat : 0.0;
    r.p_value = r.df ? ia_chi2_sf(stat, r.df) : 1.0;
    *out = r;
    return 0;
}

double ia_tvd(const uint64_t *a, const uint64_t *b, size_t k)
{
    double ra = 0.0, rb = 0.0, s = 0.0;
    for (size_t i = 0; i < k; i++) {
        ra += (double)a[i];
        rb += (double)b[i];
    }
    if (ra == 0.0 && rb == 0.0)
        return 0.0;
    if (ra == 0.0 || rb == 0.0)
        return 1.0;
    for (size_t i = 0; i < k; i++)
        s += fabs((double)a[i] / ra - (double)b[i] / rb);
    return 0.5 * s;
}
