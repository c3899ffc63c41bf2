/* stats.c — reason codes, GSL distribution tails, descriptives with a
 * bootstrap CI, Welch's t, Cohen's d, Benjamini–Hochberg (see ls/stats.h). */
#include "ls/stats.h"
#include "ls/common.h"
#include "stats_internal.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------- */

/* Name of a reason code, for logs and the output file's attributes. */
const char *ls_stats_reason_name(LsStatReason r) {
    static const char *const names[LS_STAT_REASON_COUNT] = {
        [LS_STAT_OK] = "ok",
        [LS_STAT_TOO_FEW] = "too_few",
        [LS_STAT_ALL_TIED] = "all_tied",
        [LS_STAT_ZERO_VARIANCE] = "zero_variance",
        [LS_STAT_NAN_INPUT] = "nan_input",
        [LS_STAT_BAD_ARG] = "bad_arg",
    };
    if ((int)r < 0 || r >= LS_STAT_REASON_COUNT) return "unknown";
    return names[r];
}

/* Name of a p-value method. */
const char *ls_stats_method_name(LsStatMethod m) {
    switch (m) {
    case LS_STAT_METHOD_NONE:
        return "none";
    case LS_STAT_METHOD_ASYMPTOTIC:
        return "asymptotic";
    case LS_STAT_METHOD_EXACT:
        return "exact";
    case LS_STAT_METHOD_PERMUTATION:
        return "permutation";
    }
    return "unknown";
}

/* ---- shared helpers ------------------------------------------------------ */

/* A result with every numeric field NaN and the given reason. */
LsStatTest ls_stats__fail(LsStatReason reason) {
    LsStatTest r = {NAN, NAN, NAN, NAN, LS_STAT_METHOD_NONE, reason};
    return r;
}

/* 1 if any x[i] is NaN. */
int ls_stats__any_nan(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) return 1;
    return 0;
}

/* 1 if any x[i] is NaN or ±inf. */
int ls_stats__any_nonfinite(const double *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 1;
    return 0;
}

/* Neumaier summation: at least as accurate as numpy's pairwise sum, so results
 * agree with numpy to well under the fixtures' 1e-9 tolerance. */
double ls_stats__sum(const double *x, size_t n) {
    double s = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = s + x[i];
        if (fabs(s) >= fabs(x[i]))
            c += (s - t) + x[i];
        else
            c += (x[i] - t) + s;
        s = t;
    }
    return s + c;
}

/* Mean, then the sum of squared deviations from it (numpy.var's two-pass
 * algorithm: var(ddof) = ss / (n - ddof)). Constant input gives mean = x[0]
 * and ss = 0 exactly (sum / n can round away from x[0], which would make ss a
 * rounding residue of ~1e-33 and t or d a fake finite number; numpy has that
 * residue, so this differs from scipy there by design). */
void ls_stats__mean_ss(const double *x, size_t n, double *mean, double *ss) {
    size_t k = 1;
    while (k < n && x[k] == x[0])
        k++;
    if (n > 0 && k == n) {
        *mean = x[0];
        *ss = 0.0;
        return;
    }
    double m = ls_stats__sum(x, n) / (double)n;
    double s = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (x[i] - m) * (x[i] - m);
        double t = s + d;
        c += (s >= d) ? (s - t) + d : (d - t) + s;
        s = t;
    }
    *mean = m;
    *ss = s + c;
}

/* P(Z > z) for standard normal Z = scipy.special.ndtr(-z). */
double ls_stats__normal_sf(double z) {
    if (isnan(z)) return NAN;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double p = gsl_cdf_ugaussian_Q(z);
    gsl_set_error_handler(old);
    return p;
}

/* Two-sided Student-t tail 2 P(T_df > |t|) = I_{df/(df+t^2)}(df/2, 1/2), the
 * regularized incomplete beta from GSL. Accurate to ~1e-13 relative against
 * scipy.stats.t.sf over df in [1, 1e4]; gsl_cdf_tdist_Q is not (its df > 30
 * Cornish–Fisher branch is off by up to 3e-7 relative in the tails). */
double ls_stats__t_two_sided(double t, double df) {
    if (isnan(t) || isnan(df) || df <= 0) return NAN;
    if (isinf(t)) return 0.0;
    double x = df / (df + t * t);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double p = gsl_sf_beta_inc(0.5 * df, 0.5, x);
    gsl_set_error_handler(old);
    return ls_stats__clip01(p);
}

/* Upper chi-square tail P(X > x) with df degrees of freedom (chi2.sf). */
double ls_stats__chisq_sf(double x, double df) {
    if (isnan(x) || isnan(df) || df <= 0) return NAN;
    if (x <= 0) return 1.0;
    if (isinf(x)) return 0.0;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double p = gsl_cdf_chisq_Q(x, df);
    gsl_set_error_handler(old);
    return ls_stats__clip01(p);
}

/* ---- descriptives -------------------------------------------------------- */

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* numpy.percentile(v, q) with the default 'linear' method on sorted v[0..n). */
static double percentile_sorted(const double *v, size_t n, double q) {
    double h = (double)(n - 1) * q / 100.0;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return v[n - 1];
    double frac = h - (double)lo;
    return v[lo] + frac * (v[lo + 1] - v[lo]);
}

/* Percentile bootstrap CI of the mean (see ls_stats_describe); needs n >= 1. */
static void bootstrap_mean_ci(const double *x, size_t n, size_t n_boot, uint64_t seed, double *lo,
                              double *hi) {
    *lo = *hi = NAN;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) return;
    if (n - 1 > gsl_rng_max(rng) - gsl_rng_min(rng)) { /* gsl_rng_uniform_int's limit */
        gsl_rng_free(rng);
        return;
    }
    gsl_rng_set(rng, (unsigned long)seed);
    double *means = ls_malloc(n_boot * sizeof *means);
    for (size_t b = 0; b < n_boot; b++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += x[gsl_rng_uniform_int(rng, (unsigned long)n)];
        means[b] = s / (double)n;
    }
    gsl_rng_free(rng);
    qsort(means, n_boot, sizeof *means, cmp_double);
    double tail = 100.0 * (1.0 - LS_STATS_CI_LEVEL) / 2.0;
    *lo = percentile_sorted(means, n_boot, tail);
    *hi = percentile_sorted(means, n_boot, 100.0 - tail);
    free(means);
}

/* numpy.mean / numpy.median / numpy.std(ddof=1) plus a seeded percentile
 * bootstrap CI of the mean (see ls/stats.h). */
LsStatDesc ls_stats_describe(const double *x, size_t n, size_t n_boot, uint64_t seed) {
    LsStatDesc d = {n, NAN, NAN, NAN, NAN, NAN, LS_STAT_OK};
    if (n > 0 && !x) {
        d.reason = LS_STAT_BAD_ARG;
        return d;
    }
    if (n == 0) {
        d.reason = LS_STAT_TOO_FEW;
        return d;
    }
    if (ls_stats__any_nonfinite(x, n)) {
        d.reason = LS_STAT_NAN_INPUT;
        return d;
    }
    double mean, ss;
    ls_stats__mean_ss(x, n, &mean, &ss);
    d.mean = mean;
    double *s = ls_malloc(n * sizeof *s);
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    d.median = (n % 2) ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
    free(s);
    if (n < 2) {
        d.reason = LS_STAT_TOO_FEW;
        return d;
    }
    d.sd = sqrt(ss / (double)(n - 1));
    if (n_boot > 0) bootstrap_mean_ci(x, n, n_boot, seed, &d.ci_lo, &d.ci_hi);
    return d;
}

/* Descriptives of the per-pair differences x[i] - y[i] (see ls/stats.h). */
LsStatDesc ls_stats_paired_diff(const double *x, const double *y, size_t n, size_t n_boot, uint64_t seed) {
    if (n > 0 && (!x || !y)) {
        LsStatDesc d = {n, NAN, NAN, NAN, NAN, NAN, LS_STAT_BAD_ARG};
        return d;
    }
    double *diff = ls_malloc((n ? n : 1) * sizeof *diff);
    for (size_t i = 0; i < n; i++)
        diff[i] = x[i] - y[i];
    LsStatDesc d = ls_stats_describe(diff, n, n_boot, seed);
    free(diff);
    return d;
}

/* ---- two-sample moment tests -------------------------------------------- */

/* scipy.stats.ttest_ind(a, b, equal_var=False), two-sided (see ls/stats.h). */
LsStatTest ls_stats_welch(const double *a, size_t na, const double *b, size_t nb) {
    if ((na > 0 && !a) || (nb > 0 && !b)) return ls_stats__fail(LS_STAT_BAD_ARG);
    if (na < 2 || nb < 2) return ls_stats__fail(LS_STAT_TOO_FEW);
    if (ls_stats__any_nonfinite(a, na) || ls_stats__any_nonfinite(b, nb))
        return ls_stats__fail(LS_STAT_NAN_INPUT);
    double ma, ssa, mb, ssb;
    ls_stats__mean_ss(a, na, &ma, &ssa);
    ls_stats__mean_ss(b, nb, &mb, &ssb);
    double n1 = (double)na, n2 = (double)nb;
    double vn1 = ssa / (n1 - 1) / n1, vn2 = ssb / (n2 - 1) / n2;
    if (vn1 + vn2 == 0.0) return ls_stats__fail(LS_STAT_ZERO_VARIANCE);
    LsStatTest r;
    r.df = (vn1 + vn2) * (vn1 + vn2) / (vn1 * vn1 / (n1 - 1) + vn2 * vn2 / (n2 - 1));
    r.statistic = (ma - mb) / sqrt(vn1 + vn2);
    r.p = ls_stats__t_two_sided(r.statistic, r.df);
    r.effect = ma - mb;
    r.method = LS_STAT_METHOD_ASYMPTOTIC;
    r.reason = LS_STAT_OK;
    return r;
}

/* Cohen's d with the ddof=1 pooled standard deviation (see ls/stats.h). */
LsStatTest ls_stats_cohen_d(const double *a, size_t na, const double *b, size_t nb) {
    if ((na > 0 && !a) || (nb > 0 && !b)) return ls_stats__fail(LS_STAT_BAD_ARG);
    if (na == 0 || nb == 0 || na + nb < 3) return ls_stats__fail(LS_STAT_TOO_FEW);
    if (ls_stats__any_nonfinite(a, na) || ls_stats__any_nonfinite(b, nb))
        return ls_stats__fail(LS_STAT_NAN_INPUT);
    double ma, ssa, mb, ssb;
    ls_stats__mean_ss(a, na, &ma, &ssa);
    ls_stats__mean_ss(b, nb, &mb, &ssb);
    double sp = sqrt((ssa + ssb) / (double)(na + nb - 2));
    if (sp == 0.0) return ls_stats__fail(LS_STAT_ZERO_VARIANCE);
    LsStatTest r = ls_stats__fail(LS_STAT_OK);
    r.statistic = (ma - mb) / sp;
    r.effect = r.statistic;
    return r;
}

/* ---- multiple testing ---------------------------------------------------- */

typedef struct {
    double p;
    size_t i;
} PIdx;

static int cmp_pidx(const void *pa, const void *pb) {
    const PIdx *a = pa, *b = pb;
    if (a->p != b->p) return (a->p > b->p) - (a->p < b->p);
    return (a->i > b->i) - (a->i < b->i);
}

/* scipy.stats.false_discovery_control(p, method='bh'), NaN entries left out
 * of the family (see ls/stats.h). */
LsStatReason ls_stats_bh(const double *p, size_t m, double *q) {
    if (m > 0 && (!p || !q)) return LS_STAT_BAD_ARG;
    for (size_t i = 0; i < m; i++)
        if (!isnan(p[i]) && !(p[i] >= 0.0 && p[i] <= 1.0)) return LS_STAT_BAD_ARG;
    PIdx *s = ls_malloc((m ? m : 1) * sizeof *s);
    size_t k = 0; /* family size: the non-NaN p-values */
    for (size_t i = 0; i < m; i++)
        if (!isnan(p[i])) s[k++] = (PIdx){p[i], i};
    if (q != p)
        for (size_t i = 0; i < m; i++)
            q[i] = p[i]; /* NaN stay NaN; k <= 1 returns p */
    if (k > 1) {
        qsort(s, k, sizeof *s, cmp_pidx);
        /* q_(i) = p_(i) * (k / i), then the running minimum from the largest. */
        double run = INFINITY;
        for (size_t j = k; j-- > 0;) {
            double v = s[j].p * ((double)k / (double)(j + 1));
            if (v < run) run = v;
            s[j].p = run;
        }
        for (size_t j = 0; j < k; j++)
            q[s[j].i] = ls_stats__clip01(s[j].p);
    }
    free(s);
    return LS_STAT_OK;
}

void ls_stats__percentile_ci(double *v, size_t n, double *lo, double *hi) {
    *lo = *hi = NAN;
    if (n == 0) return;
    qsort(v, n, sizeof *v, cmp_double);
    double tail = 100.0 * (1.0 - LS_STATS_CI_LEVEL) / 2.0;
    *lo = percentile_sorted(v, n, tail);
    *hi = percentile_sorted(v, n, 100.0 - tail);
}
