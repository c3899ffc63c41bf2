/* rank.c — rank-based tests: rankdata, Mann–Whitney U, Spearman ρ,
 * Kruskal–Wallis H, Wilcoxon signed-rank (see ls/stats.h for conventions). */
#include "ls/common.h"
#include "ls/stats.h"
#include "stats_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double v;
    size_t i;
} VIdx;

static int cmp_vidx(const void *pa, const void *pb) {
    const VIdx *a = pa, *b = pb;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* scipy.stats.rankdata(x, method='average') plus scipy's tie term
 * sum(t^3 - t); returns the number of tie groups with t > 1. */
size_t ls_stats_rankdata(const double *x, size_t n, double *ranks, double *tie_term) {
    VIdx *s = ls_malloc((n ? n : 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (VIdx){x[i], i};
    qsort(s, n, sizeof *s, cmp_vidx);
    double tt = 0.0;
    size_t groups = 0;
    for (size_t lo = 0; lo < n;) {
        size_t hi = lo + 1;
        while (hi < n && s[hi].v == s[lo].v)
            hi++; /* -0.0 == 0.0: one tie group, as numpy */
        double t = (double)(hi - lo);
        double r = (double)(lo + 1) + (t - 1.0) / 2.0; /* mean of ranks lo+1 .. hi */
        for (size_t j = lo; j < hi; j++)
            ranks[s[j].i] = r;
        if (hi - lo > 1) {
            tt += t * t * t - t;
            groups++;
        }
        lo = hi;
    }
    free(s);
    if (tie_term) *tie_term = tt;
    return groups;
}

/* ---- Mann–Whitney U -------------------------------------------------------- */

/* P(U <= k) under H0 for samples of sizes m <= n without ties: the
 * coefficients of the Gaussian binomial [m+n choose m]_q (the number of
 * arrangements with U = u), built factor by factor as
 * [n+i choose i]_q = [n+i-1 choose i-1]_q (1 - q^(n+i)) / (1 - q^i), truncated
 * at q^k. Same distribution as scipy's _MWU (Löffler's recurrence) in
 * O(m k) instead of O(k^2). Counts exceed 2^64 quickly, hence long double. */
static double mwu_exact_cdf(size_t m, size_t n, size_t k) {
    long double *c = ls_calloc(k + 1, sizeof *c);
    c[0] = 1.0L;
    for (size_t i = 1; i <= m; i++) {
        size_t sh = n + i;
        for (size_t u = k; u >= sh && u <= k; u--)
            c[u] -= c[u - sh]; /* * (1 - q^(n+i)) */
        for (size_t u = i; u <= k; u++)
            c[u] += c[u - i]; /* / (1 - q^i) */
    }
    long double total = 1.0L; /* binom(m+n, m), exact while it fits the mantissa */
    for (size_t i = 1; i <= m; i++)
        total = total * (long double)(n + i) / (long double)i;
    long double s = 0.0L;
    for (size_t u = 0; u <= k; u++)
        s += c[u];
    free(c);
    return (double)(s / total);
}

/* scipy.stats.mannwhitneyu(a, b, alternative='two-sided', method='auto')
 * (see ls/stats.h). */
LsStatTest ls_stats_mannwhitneyu(const double *a, size_t na, const double *b, size_t nb) {
    if ((na > 0 && !a) || (nb > 0 && !b)) return ls_stats__fail(LS_STAT_BAD_ARG);
    if (na == 0 || nb == 0) return ls_stats__fail(LS_STAT_TOO_FEW);
    if (ls_stats__any_nan(a, na) || ls_stats__any_nan(b, nb)) return ls_stats__fail(LS_STAT_NAN_INPUT);
    size_t N = na + nb;
    double *xy = ls_malloc(N * sizeof *xy), *r = ls_malloc(N * sizeof *r);
    memcpy(xy, a, na * sizeof *xy);
    memcpy(xy + na, b, nb * sizeof *xy);
    double tie;
    size_t groups = ls_stats_rankdata(xy, N, r, &tie);
    double R1 = ls_stats__sum(r, na);
    free(xy);
    free(r);
    double n1 = (double)na, n2 = (double)nb, nn = (double)N;
    if (groups == 1 && tie == nn * nn * nn - nn) return ls_stats__fail(LS_STAT_ALL_TIED);

    LsStatTest res = ls_stats__fail(LS_STAT_OK);
    double U1 = R1 - n1 * (n1 + 1.0) / 2.0;
    double U2 = n1 * n2 - U1;
    double U = U1 > U2 ? U1 : U2; /* two-sided: the larger U's upper tail, doubled */
    res.statistic = U1;
    res.effect = 2.0 * U1 / (n1 * n2) - 1.0;

    size_t m = na < nb ? na : nb, n = na < nb ? nb : na;
    if (m <= 8 && groups == 0) {
        /* No ties: U is an integer; P(U' >= U) = P(U' <= mn - U) by symmetry. */
        size_t kc = (size_t)llround(n1 * n2 - U);
        if (kc + 1 <= LS_STATS_MWU_EXACT_MAX) {
            res.p = ls_stats__clip01(2.0 * mwu_exact_cdf(m, n, kc));
            res.method = LS_STAT_METHOD_EXACT;
            return res;
        }
    }
    double mu = n1 * n2 / 2.0;
    double s = sqrt(n1 * n2 / 12.0 * ((nn + 1.0) - tie / (nn * (nn - 1.0))));
    double z = (U - mu - 0.5) / s; /* continuity correction toward the mean */
    res.p = ls_stats__clip01(2.0 * ls_stats__normal_sf(z));
    res.method = LS_STAT_METHOD_ASYMPTOTIC;
    return res;
}

/* ---- Spearman ρ ---------------------------------------------------------------- */

/* 1 if x[0..n) are all equal (n >= 1). */
static int all_equal(const double *x, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}

/* Exact two-sided p of Spearman's rho for n <= LS_STATS_SPEARMAN_EXACT_N:
 * every permutation of the y ranks (Heap's algorithm), the statistic
 * sum (rx - m)(ry - m) (rho up to a constant factor), p as
 * scipy.stats.permutation_test(permutation_type='pairings',
 * n_resamples=inf): min(1, 2 min(P(T* <= T), P(T* >= T))) with tolerance
 * 100 eps |T|. */
static double spearman_exact_p(const double *rx, const double *ry, size_t n, double obs) {
    double m = ((double)n + 1.0) / 2.0, dx[LS_STATS_SPEARMAN_EXACT_N], dy[LS_STATS_SPEARMAN_EXACT_N];
    size_t c[LS_STATS_SPEARMAN_EXACT_N] = {0};
    for (size_t i = 0; i < n; i++)
        dx[i] = rx[i] - m, dy[i] = ry[i] - m;
    double gam = fabs(100.0 * 2.220446049250313e-16 * obs), le = 0.0, ge = 0.0, total = 0.0;
    for (size_t i = 0;;) {
        double t = 0.0;
        for (size_t j = 0; j < n; j++)
            t += dx[j] * dy[j];
        le += t <= obs + gam;
        ge += t >= obs - gam;
        total += 1.0;
        /* next permutation of dy (Heap) */
        while (i < n && c[i] >= i)
            c[i++] = 0;
        if (i >= n) break;
        size_t j = (i % 2) ? c[i] : 0;
        double tmp = dy[j];
        dy[j] = dy[i], dy[i] = tmp;
        c[i]++;
        i = 1;
    }
    double p = 2.0 * (le < ge ? le : ge) / total;
    return p > 1.0 ? 1.0 : p;
}

/* scipy.stats.spearmanr(x, y), two-sided t-distribution p (see ls/stats.h). */
LsStatTest ls_stats_spearman(const double *x, const double *y, size_t n) {
    if (n > 0 && (!x || !y)) return ls_stats__fail(LS_STAT_BAD_ARG);
    if (n < 3) return ls_stats__fail(LS_STAT_TOO_FEW);
    if (ls_stats__any_nan(x, n) || ls_stats__any_nan(y, n)) return ls_stats__fail(LS_STAT_NAN_INPUT);
    if (all_equal(x, n) || all_equal(y, n)) return ls_stats__fail(LS_STAT_ALL_TIED);
    double *rx = ls_malloc(n * sizeof *rx), *ry = ls_malloc(n * sizeof *ry);
    ls_stats_rankdata(x, n, rx, NULL);
    ls_stats_rankdata(y, n, ry, NULL);
    /* numpy.corrcoef: covariance of centred ranks over the two standard deviations. */
    double mean = ((double)n + 1.0) / 2.0; /* mean of average ranks, exactly */
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; i++) {
        double dx = rx[i] - mean, dy = ry[i] - mean;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    double dn = (double)(n - 1);
    double rho = (sxy / dn) / sqrt(sxx / dn) / sqrt(syy / dn);
    if (rho > 1.0) rho = 1.0;
    if (rho < -1.0) rho = -1.0;
    LsStatTest res = ls_stats__fail(LS_STAT_OK);
    res.statistic = rho;
    res.df = (double)(n - 2);
    if (n <= LS_STATS_SPEARMAN_EXACT_N) {
        res.p = spearman_exact_p(rx, ry, n, sxy);
        res.method = LS_STAT_METHOD_EXACT;
        free(rx);
        free(ry);
        return res;
    }
    free(rx);
    free(ry);
    if (fabs(rho) == 1.0) {
        /* t = ±inf: the exact p of a perfect ranking without ties, 2 / n! (never 0 for n <= 170) */
        res.p = ls_stats__clip01(2.0 * exp(-lgamma((double)n + 1.0)));
    } else {
        double q = res.df / ((rho + 1.0) * (1.0 - rho));
        double t = rho * sqrt(q > 0.0 ? q : 0.0);
        res.p = ls_stats__t_two_sided(t, res.df);
    }
    res.method = LS_STAT_METHOD_ASYMPTOTIC;
    return res;
}

/* ---- Kruskal–Wallis H ------------------------------------------------------------ */

/* scipy.stats.kruskal(*groups), tie-corrected, chi-square k-1 (see ls/stats.h). */
LsStatTest ls_stats_kruskal(const double *const *groups, const size_t *sizes, size_t k) {
    if (k < 2 || !groups || !sizes) return ls_stats__fail(LS_STAT_BAD_ARG);
    size_t N = 0;
    for (size_t g = 0; g < k; g++) {
        if (sizes[g] > 0 && !groups[g]) return ls_stats__fail(LS_STAT_BAD_ARG);
        if (ls_add_size(N, sizes[g], &N)) return ls_stats__fail(LS_STAT_BAD_ARG);
    }
    for (size_t g = 0; g < k; g++)
        if (sizes[g] == 0) return ls_stats__fail(LS_STAT_TOO_FEW);
    for (size_t g = 0; g < k; g++)
        if (ls_stats__any_nan(groups[g], sizes[g])) return ls_stats__fail(LS_STAT_NAN_INPUT);
    double *all = ls_malloc(N * sizeof *all), *r = ls_malloc(N * sizeof *r);
    for (size_t g = 0, off = 0; g < k; off += sizes[g], g++)
        memcpy(all + off, groups[g], sizes[g] * sizeof *all);
    double tie;
    ls_stats_rankdata(all, N, r, &tie);
    double nn = (double)N;
    double ties = 1.0 - tie / (nn * nn * nn - nn);
    double ssbn = 0.0;
    for (size_t g = 0, off = 0; g < k; off += sizes[g], g++) {
        double rs = ls_stats__sum(r + off, sizes[g]);
        ssbn += rs * rs / (double)sizes[g];
    }
    free(all);
    free(r);
    if (ties == 0.0) return ls_stats__fail(LS_STAT_ALL_TIED);
    LsStatTest res = ls_stats__fail(LS_STAT_OK);
    double h = 12.0 / (nn * (nn + 1.0)) * ssbn - 3.0 * (nn + 1.0);
    res.statistic = h / ties;
    res.df = (double)(k - 1);
    res.p = ls_stats__chisq_sf(res.statistic, res.df);
    res.method = LS_STAT_METHOD_ASYMPTOTIC;
    return res;
}

/* ---- Kruskal–Wallis: permutation p at small n ------------------------------------------ */

/* H from the groups' rank sums rs (half-integers, exact): the formula of
 * ls_stats_kruskal, so an assignment with the same rank sums gives the same
 * H bit for bit. */
static double kw_h(const double *rs, const size_t *sz, size_t k, double nn, double ties) {
    double ssbn = 0.0;
    for (size_t g = 0; g < k; g++)
        ssbn += rs[g] * rs[g] / (double)sz[g];
    return (12.0 / (nn * (nn + 1.0)) * ssbn - 3.0 * (nn + 1.0)) / ties;
}

typedef struct {
    const double *r;
    const size_t *sz;
    size_t k;
    double nn, ties, thr, *rs;
    uint64_t ge, total;
} KwEnum;

/* Every distinct assignment of the values avail[0..na) to groups g..k-1. */
static void kw_enum(KwEnum *s, size_t g, const size_t *avail, size_t na) {
    if (g == s->k - 1) {
        double t = 0.0;
        for (size_t i = 0; i < na; i++)
            t += s->r[avail[i]];
        s->rs[g] = t;
        s->total++;
        s->ge += kw_h(s->rs, s->sz, s->k, s->nn, s->ties) >= s->thr;
        return;
    }
    size_t m = s->sz[g], *idx = ls_malloc((m ? m : 1) * sizeof *idx);
    size_t *rest = ls_malloc((na ? na : 1) * sizeof *rest);
    for (size_t j = 0; j < m; j++)
        idx[j] = j;
    for (;;) {
        double t = 0.0;
        size_t nr = 0, q = 0;
        for (size_t i = 0; i < na; i++) {
            if (q < m && idx[q] == i) {
                t += s->r[avail[i]];
                q++;
            } else {
                rest[nr++] = avail[i];
            }
        }
        s->rs[g] = t;
        kw_enum(s, g + 1, rest, nr);
        size_t j = m; /* next combination in lexicographic order */
        while (j > 0 && idx[j - 1] == na - m + j - 1)
            j--;
        if (j == 0) break;
        idx[j - 1]++;
        for (size_t i = j; i < m; i++)
            idx[i] = idx[i - 1] + 1;
    }
    free(idx);
    free(rest);
}

LsStatTest ls_stats_kruskal_perm(const double *const *groups, const size_t *sizes, size_t k, size_t B,
                                 uint64_t key) {
    LsStatTest res = ls_stats_kruskal(groups, sizes, k);
    if (res.reason != LS_STAT_OK) return res;
    size_t N = 0, small = 0, gmax = 0;
    for (size_t g = 0; g < k; g++) {
        N += sizes[g];
        small |= sizes[g] <= LS_STATS_KRUSKAL_SMALL;
        if (sizes[g] > sizes[gmax]) gmax = g;
    }
    if (!small || N > LS_STATS_KRUSKAL_PERM_MAXN) return res;
    double lm = lgamma((double)N + 1.0); /* log of the number of distinct assignments */
    for (size_t g = 0; g < k; g++)
        lm -= lgamma((double)sizes[g] + 1.0);
    int exact = lm <= log((double)LS_STATS_KRUSKAL_EXACT_MAX) + 1e-9;
    if (!exact && B == 0) return res;
    double *all = ls_malloc(N * sizeof *all), *r = ls_malloc(N * sizeof *r), *rs = ls_malloc(k * sizeof *rs);
    for (size_t g = 0, off = 0; g < k; off += sizes[g], g++)
        memcpy(all + off, groups[g], sizes[g] * sizeof *all);
    double tie, nn = (double)N;
    ls_stats_rankdata(all, N, r, &tie);
    double ties = 1.0 - tie / (nn * nn * nn - nn);
    for (size_t g = 0, off = 0; g < k; off += sizes[g], g++) {
        rs[g] = 0.0;
        for (size_t i = 0; i < sizes[g]; i++)
            rs[g] += r[off + i];
    }
    double h = kw_h(rs, sizes, k, nn, ties);
    double thr = h - fabs(100.0 * DBL_EPSILON * h); /* scipy's permutation_test tolerance */
    res.statistic = h;
    if (exact) {
        size_t *avail = ls_malloc(N * sizeof *avail);
        for (size_t i = 0; i < N; i++)
            avail[i] = i;
        KwEnum s = {r, sizes, k, nn, ties, thr, rs, 0, 0};
        kw_enum(&s, 0, avail, N);
        free(avail);
        res.p = (double)s.ge / (double)s.total;
        res.method = LS_STAT_METHOD_EXACT;
    } else {
        /* Monte Carlo: permutation b shuffles the value indices by a Fisher-Yates pass over the first
         * N - n_max places (draw i: i + below(rng(key, b N + i), N - i)); the groups other than the first
         * largest take consecutive runs of them in group order, the largest the rest. */
        size_t m = N - sizes[gmax];
        double total = nn * (nn + 1.0) / 2.0;
        uint64_t ge = 0;
#pragma omp parallel reduction(+ : ge)
        {
            size_t *a = ls_malloc(N * sizeof *a);
            double *ps = ls_malloc(k * sizeof *ps);
#pragma omp for schedule(static)
            for (size_t b = 0; b < B; b++) {
                for (size_t i = 0; i < N; i++)
                    a[i] = i;
                for (size_t i = 0; i < m; i++) {
                    size_t j = i + ls_stats_rng_below(ls_stats_rng(key, (uint64_t)(b * N + i)), N - i),
                           t = a[i];
                    a[i] = a[j], a[j] = t;
                }
                double other = 0.0;
                for (size_t g = 0, pos = 0; g < k; g++) {
                    if (g == gmax) continue;
                    double t = 0.0;
                    for (size_t q = 0; q < sizes[g]; q++)
                        t += r[a[pos++]];
                    ps[g] = t;
                    other += t;
                }
                ps[gmax] = total - other;
                ge += kw_h(ps, sizes, k, nn, ties) >= thr;
            }
            free(a);
            free(ps);
        }
        res.p = (1.0 + (double)ge) / (1.0 + (double)B);
        res.method = LS_STAT_METHOD_PERMUTATION;
    }
    free(all);
    free(r);
    free(rs);
    return res;
}

/* ---- Wilcoxon signed-rank ------------------------------------------------------------ */

/* Counts of the sign-flip null distribution of the (integer) weight sum:
 * c[s] = number of subsets of w[0..n) summing to s, s = 0..sum(w). */
static uint64_t *subset_sum_counts(const long *w, size_t n, size_t *total) {
    size_t T = 0;
    for (size_t i = 0; i < n; i++)
        T += (size_t)w[i];
    uint64_t *c = ls_calloc(T + 1, sizeof *c);
    c[0] = 1;
    size_t reach = 0;
    for (size_t i = 0; i < n; i++) {
        size_t wi = (size_t)w[i];
        reach += wi;
        for (size_t s = reach; s >= wi && s <= reach; s--)
            c[s] += c[s - wi];
    }
    *total = T;
    return c;
}

/* Two-sided p = 2 min(P(S <= obs), P(S >= obs)) over all 2^n sign patterns,
 * clipped to 1. w: [n] positive integer weights (ranks, or doubled average
 * ranks); obs: the observed weight sum of the positive differences. n <= 50
 * so every count is exact in uint64 and in double. */
static double signflip_p(const long *w, size_t n, size_t obs) {
    size_t T;
    uint64_t *c = subset_sum_counts(w, n, &T);
    uint64_t le = 0, ge = 0;
    for (size_t s = 0; s <= T; s++) {
        if (s <= obs) le += c[s];
        if (s >= obs) ge += c[s];
    }
    free(c);
    double tail = (double)(le < ge ? le : ge);
    return ls_stats__clip01(2.0 * ldexp(tail, -(int)n));
}

/* scipy.stats.wilcoxon(x, y) with default settings (see ls/stats.h). */
LsStatTest ls_stats_wilcoxon(const double *x, const double *y, size_t n) {
    if (n > 0 && (!x || !y)) return ls_stats__fail(LS_STAT_BAD_ARG);
    if (n == 0) return ls_stats__fail(LS_STAT_TOO_FEW);
    if (ls_stats__any_nan(x, n) || ls_stats__any_nan(y, n)) return ls_stats__fail(LS_STAT_NAN_INPUT);
    double *d = ls_malloc(n * sizeof *d), *ad = ls_malloc(n * sizeof *ad), *r = ls_malloc(n * sizeof *r);
    size_t count = 0; /* nonzero differences (zero_method='wilcox' drops zeros) */
    for (size_t i = 0; i < n; i++) {
        double di = x[i] - y[i];
        if (isnan(di)) { /* inf - inf */
            free(d), free(ad), free(r);
            return ls_stats__fail(LS_STAT_NAN_INPUT);
        }
        if (di != 0.0) {
            d[count] = di;
            ad[count] = fabs(di);
            count++;
        }
    }
    if (count == 0) {
        free(d), free(ad), free(r);
        return ls_stats__fail(LS_STAT_ALL_TIED);
    }
    double tie;
    size_t groups = ls_stats_rankdata(ad, count, r, &tie);
    double r_plus = 0.0, r_minus = 0.0;
    for (size_t i = 0; i < count; i++) {
        if (d[i] > 0)
            r_plus += r[i];
        else
            r_minus += r[i];
    }
    LsStatTest res = ls_stats__fail(LS_STAT_OK);
    res.statistic = r_plus < r_minus ? r_plus : r_minus;
    res.df = (double)count;
    res.effect = (r_plus - r_minus) / (r_plus + r_minus);
    size_t n_zero = n - count;
    if ((groups > 0 || n_zero > 0) && n <= 13) {
        /* scipy: PermutationMethod(); all 2^n sign flips (8192 <= 9999 resamples)
         * so the test is exact. Average ranks are half-integers: use 2 r. Zero
         * differences flip to themselves and scale both counts by 2^n_zero. */
        long w[13];
        for (size_t i = 0; i < count; i++)
            w[i] = lround(2.0 * r[i]);
        res.p = signflip_p(w, count, (size_t)llround(2.0 * r_plus));
        res.method = LS_STAT_METHOD_PERMUTATION;
    } else if (n <= 50 && groups == 0 && n_zero == 0) {
        long w[50];
        for (size_t i = 0; i < count; i++)
            w[i] = lround(r[i]);
        res.p = signflip_p(w, count, (size_t)llround(r_plus));
        res.method = LS_STAT_METHOD_EXACT;
    } else {
        double c = (double)count;
        double mn = c * (c + 1.0) * 0.25;
        double se = sqrt((c * (c + 1.0) * (2.0 * c + 1.0) - tie / 2.0) / 24.0);
        double z = (r_plus - mn) / se;
        res.p = ls_stats__clip01(2.0 * ls_stats__normal_sf(fabs(z)));
        res.method = LS_STAT_METHOD_ASYMPTOTIC;
    }
    free(d), free(ad), free(r);
    return res;
}
