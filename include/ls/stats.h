/* ls/stats.h — statistics core of the rank-0 reducer (DESIGN §7).
 *
 * Pure C: no HDF5, no MPI. Every test matches one scipy.stats function
 * (checked against tests/stats/fixtures.json, written by
 * tests/stats/make_stats_fixtures.py with scipy 1.17.1) and its default,
 * two-sided convention. Distributions come from GSL.
 *
 * Results are plain structs. A result whose reason is not LS_STAT_OK holds NaN
 * in every numeric field (except LsStatDesc, which keeps the fields that are
 * still defined, e.g. the mean of one value). scipy returns NaN in most of
 * those cases; where scipy returns a number or raises instead, the function's
 * comment says so ("differs from scipy").
 *
 * Inputs are double arrays with their lengths; scratch is allocated inside
 * (ls_malloc: out-of-memory aborts). Rank-based tests sort, O(n log n); exact
 * null distributions are built only in the small-sample cases scipy uses them.
 * NaN anywhere in an input gives LS_STAT_NAN_INPUT (scipy's nan_policy=
 * 'propagate' gives NaN too). ±inf is a valid value for the rank-based tests
 * and LS_STAT_NAN_INPUT for the moment-based ones (mean, sd, t, d).
 *
 * GSL distribution calls run with GSL's error handler switched off for their
 * duration (an underflowing tail returns 0 instead of aborting); the handler is
 * process-global, so these functions are not thread-safe with respect to other
 * threads calling GSL at the same time.
 */
#ifndef LS_STATS_H
#define LS_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Why a statistic is NaN. Names (ls_stats_reason_name) are the lower-case
 * suffixes: "ok", "too_few", ... */
typedef enum {
    LS_STAT_OK = 0,
    LS_STAT_TOO_FEW,       /* too few observations (empty group, n < 2, n < 3 for Spearman) */
    LS_STAT_ALL_TIED,      /* every value tied / constant input / every paired difference zero */
    LS_STAT_ZERO_VARIANCE, /* the variance in a denominator is zero */
    LS_STAT_NAN_INPUT,     /* NaN in the input (also ±inf for moment-based statistics) */
    LS_STAT_BAD_ARG,       /* NULL array with n > 0, p-value outside [0, 1], fewer than 2 groups */
    LS_STAT_REASON_COUNT
} LsStatReason;

/* How the p-value was obtained. */
typedef enum {
    LS_STAT_METHOD_NONE = 0,    /* no p-value (effect sizes, degenerate input) */
    LS_STAT_METHOD_ASYMPTOTIC,  /* normal / t / chi-square distribution */
    LS_STAT_METHOD_EXACT,       /* exact null distribution of the rank statistic */
    LS_STAT_METHOD_PERMUTATION, /* exact enumeration of all sign flips (scipy's PermutationMethod) */
} LsStatMethod;

/* The result of one test. Which fields are used is documented per function;
 * unused fields are NaN. */
typedef struct {
    double statistic; /* the statistic scipy reports */
    double p;         /* p-value (two-sided unless stated) */
    double df;        /* degrees of freedom, where the test has them */
    double effect;    /* effect size that goes with the test, where defined */
    LsStatMethod method;
    LsStatReason reason;
} LsStatTest;

/* Descriptive statistics of one sample. */
typedef struct {
    size_t n;
    double mean;   /* arithmetic mean (compensated sum) */
    double median; /* numpy.median: mean of the two middle values for even n */
    double sd;     /* numpy.std(ddof=1); NaN for n < 2 */
    double ci_lo;  /* percentile-bootstrap 95% CI of the mean; NaN when n_boot == 0 or n < 2 */
    double ci_hi;
    LsStatReason reason; /* TOO_FEW for n < 2 (mean/median still set when n == 1) */
} LsStatDesc;

#define LS_STATS_CI_LEVEL 0.95

/* Name of a reason code ("ok", "too_few", "all_tied", "zero_variance",
 * "nan_input", "bad_arg"); "unknown" for out-of-range values. */
const char *ls_stats_reason_name(LsStatReason r);
/* Name of a method ("none", "asymptotic", "exact", "permutation"). */
const char *ls_stats_method_name(LsStatMethod m);

/* Matches scipy.stats.rankdata(x, method='average'): ranks 1..n, ties get the
 * mean of the ranks they span. x: [n], ranks: [n] (output). If tie_term is
 * non-NULL it receives sum(t^3 - t) over tie groups of size t (scipy's tie
 * correction term); returns the number of tie groups of size > 1. x must not
 * contain NaN (NaN compares unordered; callers check first). */
size_t ls_stats_rankdata(const double *x, size_t n, double *ranks, double *tie_term);

/* n, mean, median, sd (ddof=1) as numpy computes them, and a percentile
 * bootstrap 95% CI of the mean: n_boot resamples of size n drawn with
 * replacement by gsl_rng_mt19937 seeded with `seed` (gsl_rng_set: seed 0
 * means GSL's default 4357), CI = numpy.percentile(means, [2.5, 97.5]) with
 * linear interpolation. Deterministic for a given (x, n_boot, seed). Cost
 * O(n log n + n_boot * n). x: [n]. */
LsStatDesc ls_stats_describe(const double *x, size_t n, size_t n_boot, uint64_t seed);

/* Per-pair difference d = x - y, described by ls_stats_describe (mean
 * difference, median, sd, bootstrap CI of the mean difference). x, y: [n]. */
LsStatDesc ls_stats_paired_diff(const double *x, const double *y, size_t n, size_t n_boot, uint64_t seed);

/* Welch's t-test = scipy.stats.ttest_ind(a, b, equal_var=False), two-sided.
 * statistic = t = (mean(a) - mean(b)) / sqrt(va/na + vb/nb) with ddof=1
 * variances; df = Welch–Satterthwaite; p = 2 P(T_df > |t|), computed as
 * gsl_sf_beta_inc(df/2, 1/2, df/(df + t^2)) (GSL's gsl_cdf_tdist_Q uses a
 * Cornish–Fisher approximation for df > 30 that is off by up to 3e-7
 * relative in the tails). effect = mean(a) - mean(b).
 * Degenerate: na < 2 or nb < 2 -> TOO_FEW (scipy: NaN); both variances zero
 * (each sample constant; tested exactly, not as numpy's rounding residue)
 * -> ZERO_VARIANCE (differs from scipy: t = ±inf, p = 0 when the means
 * differ; NaN when they are equal); NaN/inf -> NAN_INPUT. */
LsStatTest ls_stats_welch(const double *a, size_t na, const double *b, size_t nb);

/* Cohen's d for two independent groups: (mean(a) - mean(b)) / s_pooled with
 * s_pooled^2 = (SS_a + SS_b) / (na + nb - 2), i.e. ddof=1 pooled variance.
 * No scipy function; the fixture computes it with numpy. statistic = d.
 * Degenerate: na == 0, nb == 0 or na + nb < 3 -> TOO_FEW; s_pooled == 0 ->
 * ZERO_VARIANCE; NaN/inf -> NAN_INPUT. */
LsStatTest ls_stats_cohen_d(const double *a, size_t na, const double *b, size_t nb);

/* Mann–Whitney U = scipy.stats.mannwhitneyu(a, b, alternative='two-sided',
 * method='auto', use_continuity=True). statistic = U1 = R_a - na(na+1)/2 (U of
 * the first sample; U2 = na nb - U1), average ranks for ties.
 * method 'auto' as in scipy 1.17: exact when min(na, nb) <= 8 (either sample,
 * not both) and there are no ties in the pooled sample, else asymptotic.
 * Exact: p = 2 P(U <= na nb - max(U1, U2)) from the exact null distribution
 * (the Gaussian binomial coefficient, which scipy builds with Löffler's
 * recurrence; built here in O(min(na,nb) * na nb / 2) in long double),
 * clipped to 1. Asymptotic: z = (max(U1,U2) - na nb/2 - 0.5) / s with the tie
 * corrected s = sqrt(na nb/12 ((N+1) - sum(t^3-t)/(N(N-1)))), p = 2 Q(z)
 * clipped to 1. When the exact table would exceed LS_STATS_MWU_EXACT_MAX
 * entries (min(n) <= 8 with max(n) in the millions; scipy would take hours)
 * the asymptotic p is used (differs from scipy; method says which).
 * effect = rank-biserial r = 2 U1/(na nb) - 1 in [-1, 1]: positive when
 * values of a tend to be larger than values of b (r = P(a>b) - P(a<b)).
 * Degenerate: na == 0 or nb == 0 -> TOO_FEW (scipy raises); every value tied
 * -> ALL_TIED (differs from scipy: U1 = na nb/2, p = 1); NaN -> NAN_INPUT. */
#define LS_STATS_MWU_EXACT_MAX ((size_t)1 << 23)
LsStatTest ls_stats_mannwhitneyu(const double *a, size_t na, const double *b, size_t nb);

/* Spearman rank correlation = scipy.stats.spearmanr(x, y), two-sided.
 * statistic = rho = Pearson correlation of the average ranks; df = n - 2.
 * n <= LS_STATS_SPEARMAN_EXACT_N: exact p over all n! permutations of y
 * (= scipy.stats.permutation_test, permutation_type='pairings',
 * n_resamples=inf; rho = ±1 at n = 4 gives 1/12), method EXACT. Larger n:
 * t = rho sqrt(df / ((1+rho)(1-rho))), p = 2 P(T_df > |t|) (spearmanr's p),
 * method ASYMPTOTIC; for |rho| = 1 (t infinite) p = 2/n!, the exact p of a
 * perfect ranking without ties, never 0. x, y: [n].
 * Degenerate: n < 3 -> TOO_FEW (scipy: NaN for n < 2; for n == 2 it returns
 * rho = ±1 with p = NaN — differs); x or y constant -> ALL_TIED (scipy: NaN);
 * NaN -> NAN_INPUT (scipy: NaN). */
LsStatTest ls_stats_spearman(const double *x, const double *y, size_t n);

/* Kruskal–Wallis H = scipy.stats.kruskal(*groups). statistic = H with the tie
 * correction H / (1 - sum(t^3-t)/(N^3-N)); df = k - 1; p = Q_chi2(H; k-1)
 * (upper tail). groups: k pointers, sizes: [k].
 * Degenerate: k < 2 -> BAD_ARG (scipy raises); an empty group -> TOO_FEW
 * (scipy: NaN; drop empty groups first to test the others); every value tied
 * -> ALL_TIED (scipy: NaN); NaN -> NAN_INPUT. */
LsStatTest ls_stats_kruskal(const double *const *groups, const size_t *sizes, size_t k);

/* Kruskal–Wallis at small n: when some group holds at most
 * LS_STATS_KRUSKAL_SMALL values (and N <= LS_STATS_KRUSKAL_PERM_MAXN), p is a
 * permutation p of H over assignments of the pooled values to groups of the
 * same sizes (H* >= H - 100 eps |H|, scipy.stats.permutation_test's
 * tolerance, alternative 'greater'): exact over every distinct assignment
 * (method EXACT, = permutation_test(permutation_type='independent',
 * n_resamples=inf)) when there are at most LS_STATS_KRUSKAL_EXACT_MAX of
 * them, else B random permutations (method PERMUTATION, p = (1 + #{H* >= H})
 * / (1 + B), never 0; permutation b: a Fisher–Yates pass over the first
 * N - n_max value indices, draw i = i + ls_stats_rng_below(ls_stats_rng(key,
 * b N + i), N - i); the groups other than the first largest take consecutive
 * runs in group order). Otherwise (every group larger, a larger N, or B == 0
 * without an exact count) it is ls_stats_kruskal (chi-square, ASYMPTOTIC).
 * statistic = H, df = k - 1 either way. Threaded over permutations; the
 * result does not depend on the thread count. */
#define LS_STATS_KRUSKAL_SMALL 20
#define LS_STATS_KRUSKAL_PERM_MAXN 5000
#define LS_STATS_KRUSKAL_EXACT_MAX 100000
LsStatTest ls_stats_kruskal_perm(const double *const *groups, const size_t *sizes, size_t k, size_t B,
                                 uint64_t key);

/* Paired Wilcoxon signed-rank test = scipy.stats.wilcoxon(x, y) with its
 * defaults (zero_method='wilcox', correction=False, alternative='two-sided',
 * method='auto'), scipy 1.17 rules: d = x - y, zero differences are dropped
 * (count = number of nonzero d), |d| ranked with average ranks.
 *   n > 50 (n counts the zeros too)        -> asymptotic
 *   no ties among |d| and no zeros        -> exact (2 min(P(R+ <= r), P(R+ >= r)), clipped to 1)
 *   ties or zeros, n <= 13                -> exact enumeration of all 2^n sign flips
 *                                            (scipy's permutation_test, exact at 2^13 <= 9999)
 *   ties or zeros, 14 <= n <= 50          -> asymptotic
 * asymptotic: z = (R+ - count(count+1)/4) / se, se^2 = (count(count+1)(2count+1)
 * - sum(t^3-t)/2) / 24, p = 2 Q(|z|), no continuity correction.
 * statistic = min(R+, R-) (scipy's two-sided statistic); df = count (pairs
 * used); effect = matched-pairs rank-biserial (R+ - R-) / (R+ + R-), positive
 * when x tends to exceed y. x, y: [n].
 * Degenerate: n == 0 -> TOO_FEW (scipy: NaN); every difference zero ->
 * ALL_TIED (differs from scipy: statistic 0 with p = 1 for n <= 13, p = NaN
 * for larger n, ValueError for n == 1); NaN -> NAN_INPUT. */
LsStatTest ls_stats_wilcoxon(const double *x, const double *y, size_t n);

/* Benjamini–Hochberg adjusted p-values =
 * scipy.stats.false_discovery_control(p, method='bh'): sort, q_(i) = p_(i) m/i,
 * cumulative minimum from the largest, clip to [0, 1], original order.
 * p, q: [m] (q may alias p). NaN entries are left out of the family (m counts
 * the non-NaN ones) and stay NaN in q (differs from scipy, which raises).
 * With m <= 1, q = p (as scipy). Returns BAD_ARG (q untouched) if a p-value is
 * outside [0, 1] or an array is NULL with m > 0, else OK. */
LsStatReason ls_stats_bh(const double *p, size_t m, double *q);

/* ---- clusters, resampling, BCa, sign flips, cluster-robust OLS (issue 15) ----
 * The unit of every test is a cluster: a sample, or all samples of one problem
 * (`problem_id`). Resampling is counter-based, so a resample's draws depend on
 * (key, resample index) only: threads (OpenMP) split the resamples and the
 * result is the same for any thread count. docs/statistics.md describes each
 * statistic and its reference implementation. */

/* Number of clusters up to which a sign-flip test enumerates all 2^G flips
 * (exact p); above it B random flips are drawn (Monte Carlo p). */
#define LS_STATS_EXACT_CLUSTERS 20
/* Sample size up to which Spearman's p is exact (all n! permutations). */
#define LS_STATS_SPEARMAN_EXACT_N 9

/* Random 64-bit number number ctr of stream key: SplitMix64's output function
 * of the state key + (ctr + 1) * 0x9E3779B97F4A7C15 (mod 2^64). */
uint64_t ls_stats_rng(uint64_t key, uint64_t ctr);
/* floor(r * n / 2^64): an index in [0, n) (bias <= n / 2^64). */
static inline size_t ls_stats_rng_below(uint64_t r, size_t n) {
    return (size_t)(((unsigned __int128)r * (unsigned __int128)n) >> 64);
}

/* Maps cluster ids id[0..n) to dense indices idx[i] in [0, G) in increasing
 * id order; returns G. */
size_t ls_stats_cluster_index(const int64_t *id, size_t n, size_t *idx);

/* An interval with what it was made from. */
typedef struct {
    double lo, hi;
    double z0, accel; /* BCa bias correction and acceleration */
    LsStatReason reason;
} LsStatInterval;

/* BCa interval (Efron & Tibshirani 14.3, 15.4), as scipy.stats.bootstrap
 * (method='BCa') computes it from the bootstrap distribution theta_b[0..B)
 * and the jackknife values theta_jack[0..nj): z0 = ndtri((#{theta_b <
 * theta_hat} + #{theta_b <= theta_hat}) / 2B), a = sum(u^3) / (6 (sum u^2)^1.5)
 * with u = mean(theta_jack) - theta_jack, alpha_{1,2} = ndtr(z0 + (z0 +- z) /
 * (1 - a (z0 +- z))), z = ndtri((1 - level) / 2), interval = the linear
 * (type 7) quantiles of theta_b at alpha_1, alpha_2. theta_b is sorted in
 * place, and values within 1e-12 relative of theta_hat are set to it first
 * (a resample of the same clusters summed in another order is a tie). Degenerate: B == 0 or nj < 2 ->
 * TOO_FEW; NaN anywhere -> NAN_INPUT; jackknife constant up to rounding (sd <= 1e-12 |mean|) or theta_hat
 * outside the bootstrap distribution (z0 or a not finite) -> ALL_TIED (scipy: NaN with a
 * DegenerateDataWarning). */
LsStatInterval ls_stats_bca(double theta_hat, double *theta_b, size_t B, const double *theta_jack, size_t nj,
                            double level);

/* K ratio means over G clusters, theta_k = sum_c sum[c K + k] / sum_c cnt[c]
 * (a sample-weighted mean when cluster c holds cnt[c] values with those sums),
 * with BCa intervals from B resamples of whole clusters (the same resamples
 * for every k: resample b draws cluster ls_stats_rng_below(ls_stats_rng(key,
 * b G + j), G) for j in [0, G)) and the leave-one-cluster-out jackknife.
 * est[k] = theta_k, ci[k] its interval (TOO_FEW when G < 2 or B == 0, NaN
 * estimate when the denominator is 0). A resample's estimate is
 * sum_c times_c sum_c / sum_c times_c cnt_c, times_c = how often c was drawn.
 * Threaded over resamples. sum: [G * K], cnt: [G]. */
void ls_stats_cluster_bca(const double *sum, const double *cnt, size_t G, size_t K, size_t B, uint64_t key,
                          double level, double *est, LsStatInterval *ci);

/* R ratio means over G clusters with their BCa intervals from B resamples
 * of all G clusters (the same resamples for every ratio; resample b draws
 * cluster ls_stats_rng_below(ls_stats_rng(key, b G + j), G) for j in [0, G)).
 * Mx: [G * C], cluster c's column totals; ratio r is theta_r = sum_c
 * Mx[c C + num[r]] / sum_c Mx[c C + den[r]] (denominators are counts >= 0).
 * A resample's estimate is sum_c t_c Mx[c, num] / sum_c t_c Mx[c, den],
 * t_c = how often c was drawn, each sum in increasing c; a resample whose
 * denominator is 0 (it drew no cluster holding a value) has no estimate and
 * is left out (BCa over the rest). The jackknife leaves out one of the G
 * clusters at a time. est[r] NaN when the total denominator is 0; ci[r]
 * TOO_FEW when fewer than 2 clusters hold values, G < 2 or B == 0.
 * Threaded over resamples; the result does not depend on the thread count. */
void ls_stats_cluster_bca_ratio(const double *Mx, size_t G, size_t C, const size_t *num, const size_t *den,
                                size_t R, size_t B, uint64_t key, double level, double *est,
                                LsStatInterval *ci);

/* Sign-flip test of K sums T_k = sum_c w[c K + k] (H0: each cluster's w is
 * symmetric about 0): G <= LS_STATS_EXACT_CLUSTERS enumerates every sign
 * vector (method EXACT, p = as scipy.stats.permutation_test(n_resamples=inf)),
 * else B random sign vectors (cluster c of flip b is negated when bit c % 64
 * of ls_stats_rng(key, b ceil(G/64) + c/64) is 1; method PERMUTATION, p counts the observed T
 * once, so p >= 1/(B+1)). p = min(1, 2 min(P(T* <= T), P(T* >= T))) with
 * scipy's tolerance 100 eps |T| (permutation_test's two-sided p).
 * out[k]: statistic = T_k, p, df = number of sign vectors, method, reason
 * (TOO_FEW for G == 0, ALL_TIED when every w is 0, NAN_INPUT). Threaded. */
void ls_stats_signflip(const double *w, size_t G, size_t K, size_t B, uint64_t key, LsStatTest *out);

/* Least squares with cluster-robust (sandwich) standard errors, as
 * statsmodels OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": g}) with
 * its defaults use_correction=True, df_correction=True, use_t=False:
 * cov = G/(G-1) (n-1)/(n-k) (X'X)^-1 (sum_c X_c'u_c u_c'X_c) (X'X)^-1, z = beta/se,
 * p = 2 Q(|z|) (normal). Householder QR. X: [n, k] row-major, k <= LS_STATS_OLS_MAXK;
 * cl: dense cluster indices [n] in [0, G).
 * flip_w: optional [G * k]; when non-NULL, flip_w[c k + j] = the cluster-c
 * term of coefficient j computed on the residuals of the fit without column
 * j (the restricted model), so that sum_c flip_w[c k + j] = beta_j: the
 * input of ls_stats_signflip for the wild cluster sign-flip test of beta_j = 0.
 * Degenerate: n <= k or G < 2 -> TOO_FEW; a column constant or collinear
 * with the others (|R_jj| <= 1e-10 max |R_ii|) -> ZERO_VARIANCE; NaN/inf ->
 * NAN_INPUT. */
#define LS_STATS_OLS_MAXK 8
typedef struct {
    size_t n, k, G;
    double beta[LS_STATS_OLS_MAXK], se[LS_STATS_OLS_MAXK], z[LS_STATS_OLS_MAXK], p[LS_STATS_OLS_MAXK];
    LsStatReason reason;
} LsStatOls;
LsStatOls ls_stats_ols_cluster(const double *X, const double *y, const size_t *cl, size_t n, size_t k,
                               size_t G, double *flip_w);

/* Cluster-bootstrap BCa intervals of OLS coefficients: B resamples of the
 * G clusters (drawn as in ls_stats_cluster_bca_ratio), each refitted by least
 * squares on the rows of the drawn clusters (a cluster drawn t times enters t
 * times), and the leave-one-cluster-out jackknife for the acceleration.
 * X: [n, k] row-major whose first column is the intercept (the others are
 * centred before the cross products, which leaves the slopes unchanged and
 * keeps the normal equations well conditioned); Y: [n, ny], ny responses
 * sharing X (a word each; a response whose values are not finite gives
 * NAN_INPUT); cl: dense cluster indices [n] in [0, G); coef: [nc] the
 * coefficients wanted (< k). The fit solves the normal equations sum_c
 * X_c'X_c b = sum_c X_c'y_c by Cholesky; a resample whose X'X is singular
 * (a pivot <= 1e-10 of its diagonal entry: e.g. every drawn answer correct)
 * has no estimate and is left out. est[y nc + q]: the full-data coefficient
 * (the same solve), ci[y nc + q] its interval (TOO_FEW for G < 2, B == 0 or
 * n <= k; ZERO_VARIANCE when the full X'X is singular). Threaded; the result
 * does not depend on the thread count. */
void ls_stats_ols_cluster_bca(const double *X, const double *Y, size_t ny, const size_t *cl, size_t n,
                              size_t k, size_t G, const size_t *coef, size_t nc, size_t B, uint64_t key,
                              double level, double *est, LsStatInterval *ci);

#endif
