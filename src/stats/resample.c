/* resample.c — counter-based random numbers, cluster indices, the BCa
 * interval, cluster-bootstrap BCa of ratio means and the sign-flip test
 * (see ls/stats.h and docs/statistics.md). */
#include "ls/common.h"
#include "ls/stats.h"
#include "stats_internal.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers and cluster ids ------------------------------------ */

uint64_t ls_stats_rng(uint64_t key, uint64_t ctr) {
    uint64_t z = key + (ctr + 1u) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct {
    int64_t id;
    size_t i;
} IdIdx;

static int cmp_ididx(const void *pa, const void *pb) {
    const IdIdx *a = pa, *b = pb;
    if (a->id != b->id) return (a->id > b->id) - (a->id < b->id);
    return (a->i > b->i) - (a->i < b->i);
}

size_t ls_stats_cluster_index(const int64_t *id, size_t n, size_t *idx) {
    IdIdx *s = ls_malloc((n ? n : 1) * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = (IdIdx){id[i], i};
    qsort(s, n, sizeof *s, cmp_ididx);
    size_t G = 0;
    for (size_t j = 0; j < n; j++) {
        if (j > 0 && s[j].id != s[j - 1].id) G++;
        idx[s[j].i] = G;
    }
    free(s);
    return n ? G + 1 : 0;
}

/* ---- BCa ------------------------------------------------------------------ */

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Linear (type 7) quantile of sorted v[0..n) at probability q in [0, 1]. */
static double quantile_sorted(const double *v, size_t n, double q) {
    double h = (double)(n - 1) * q;
    if (!(h >= 0.0)) return NAN;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

static double ndtri(double p) {
    if (p <= 0.0) return -INFINITY;
    if (p >= 1.0) return INFINITY;
    return gsl_cdf_ugaussian_Pinv(p);
}

LsStatInterval ls_stats_bca(double theta_hat, double *theta_b, size_t B, const double *theta_jack, size_t nj,
                            double level) {
    LsStatInterval r = {NAN, NAN, NAN, NAN, LS_STAT_OK};
    if (B == 0 || nj < 2) {
        r.reason = LS_STAT_TOO_FEW;
        return r;
    }
    if (isnan(theta_hat) || ls_stats__any_nan(theta_b, B) || ls_stats__any_nan(theta_jack, nj)) {
        r.reason = LS_STAT_NAN_INPUT;
        return r;
    }
    size_t below = 0, at_or_below = 0;
    double tie = 1e-12 * fabs(theta_hat);
    for (size_t b = 0; b < B; b++) {
        if (fabs(theta_b[b] - theta_hat) <= tie)
            theta_b[b] = theta_hat; /* same clusters, another sum order */
        below += theta_b[b] < theta_hat;
        at_or_below += theta_b[b] <= theta_hat;
    }
    r.z0 = ndtri((double)(below + at_or_below) / (2.0 * (double)B));
    double mean = ls_stats__sum(theta_jack, nj) / (double)nj;
    double s2 = 0.0, s3 = 0.0;
    for (size_t i = 0; i < nj; i++) {
        double u = mean - theta_jack[i];
        s2 += u * u;
        s3 += u * u * u;
    }
    r.accel = s3 / (6.0 * pow(s2, 1.5));
    /* a jackknife constant up to rounding (every value equal) has no acceleration */
    int flat = sqrt(s2 / (double)nj) <= 1e-12 * fabs(mean);
    if (flat || !isfinite(r.z0) || !isfinite(r.accel)) {
        r.reason = LS_STAT_ALL_TIED;
        return r;
    }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double z = gsl_cdf_ugaussian_Pinv((1.0 - level) / 2.0);
    double n1 = r.z0 + z, n2 = r.z0 - z;
    double a1 = gsl_cdf_ugaussian_P(r.z0 + n1 / (1.0 - r.accel * n1));
    double a2 = gsl_cdf_ugaussian_P(r.z0 + n2 / (1.0 - r.accel * n2));
    gsl_set_error_handler(old);
    qsort(theta_b, B, sizeof *theta_b, cmp_double);
    r.lo = quantile_sorted(theta_b, B, a1);
    r.hi = quantile_sorted(theta_b, B, a2);
    return r;
}

/* ---- weighted cluster sums of resamples ----------------------------------- */

/* Resamples are drawn LANES at a time: lane l counts in times[l G + c] how
 * often cluster c was drawn by resample b0 + l (bytes: a lane's table stays
 * in cache while it is drawn), then every column's LANES running sums walk
 * the clusters in increasing order: the same numbers, bit for bit, as one
 * resample at a time, but LANES x C independent chains the CPU overlaps and
 * one pass over the column table per LANES resamples. A block where a count
 * would pass 255 (about never for G > 255, impossible below) is redone one
 * resample at a time with wide counts. */
enum { LANES = 16 };

/* Resample b alone (times: G doubles). */
static void sums_one(const double *Mx, size_t G, size_t C, uint64_t key, size_t b, double *times,
                     double *out) {
    memset(times, 0, G * sizeof *times);
    for (size_t j = 0; j < G; j++)
        times[ls_stats_rng_below(ls_stats_rng(key, (uint64_t)(b * G + j)), G)] += 1.0;
    for (size_t k = 0; k < C; k++) {
        double acc = 0.0;
        for (size_t c = 0; c < G; c++)
            acc += times[c] * Mx[c * C + k];
        out[b * C + k] = acc;
    }
}

/* Resamples b0 .. b0 + LANES - 1 (those below B); 1 when a count overflowed. */
static int sums_block(const double *Mx, size_t G, size_t C, size_t B, uint64_t key, size_t b0, uint8_t *times,
                      double *acc, double *out) {
    size_t nl = B - b0 < LANES ? B - b0 : LANES;
    unsigned wrapped = 0;
    memset(times, 0, G * LANES * sizeof *times);
    for (size_t l = 0; l < nl; l++) {
        uint64_t base = (uint64_t)((b0 + l) * G);
        uint8_t *tl = times + l * G;
        for (size_t j = 0; j < G; j++)
            wrapped |= ++tl[ls_stats_rng_below(ls_stats_rng(key, base + j), G)] == 0;
    }
    if (wrapped) return 1;
    memset(acc, 0, C * LANES * sizeof *acc);
    for (size_t c = 0; c < G; c++) {
        double t[LANES];
        for (size_t l = 0; l < LANES; l++)
            t[l] = (double)times[l * G + c];
        const double *row = Mx + c * C;
        for (size_t k = 0; k < C; k++) {
            double s = row[k], *a = acc + k * LANES;
            for (size_t l = 0; l < LANES; l++)
                a[l] += t[l] * s;
        }
    }
    for (size_t l = 0; l < nl; l++)
        for (size_t k = 0; k < C; k++)
            out[(b0 + l) * C + k] = acc[k * LANES + l];
    return 0;
}

void ls_stats__resample_sums(const double *Mx, size_t G, size_t C, size_t B, uint64_t key, double *out) {
    if (!G || !C || !B) return;
    size_t blocks = (B + LANES - 1) / LANES;
#pragma omp parallel
    {
        uint8_t *times = ls_malloc(G * LANES * sizeof *times);
        double *acc = ls_malloc(C * LANES * sizeof *acc), *wide = NULL;
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < blocks; q++) {
            if (!sums_block(Mx, G, C, B, key, q * LANES, times, acc, out)) continue;
            if (!wide) wide = ls_malloc(G * sizeof *wide);
            for (size_t b = q * LANES; b < B && b < (q + 1) * LANES; b++)
                sums_one(Mx, G, C, key, b, wide, out);
        }
        free(times);
        free(acc);
        free(wide);
    }
}

/* ---- cluster bootstrap of ratio means ------------------------------------- */

void ls_stats_cluster_bca_ratio(const double *Mx, size_t G, size_t C, const size_t *num, const size_t *den,
                                size_t R, size_t B, uint64_t key, double level, double *est,
                                LsStatInterval *ci) {
    double *tot = ls_calloc(C + 1, sizeof *tot);
    for (size_t c = 0; c < G; c++)
        for (size_t k = 0; k < C; k++)
            tot[k] += Mx[c * C + k];
    size_t need = 0;
    for (size_t r = 0; r < R; r++) {
        double d = tot[den[r]];
        est[r] = d > 0 ? tot[num[r]] / d : NAN;
        ci[r] = (LsStatInterval){NAN, NAN, NAN, NAN, LS_STAT_TOO_FEW};
        size_t holding = 0; /* clusters with a positive denominator */
        for (size_t c = 0; c < G && holding < 2; c++)
            holding += Mx[c * C + den[r]] > 0;
        need += holding >= 2 && !isnan(est[r]);
    }
    if (G < 2 || B == 0 || need == 0) {
        free(tot);
        return;
    }
    double *out = ls_malloc(B * C * sizeof *out), *tb = ls_malloc(B * sizeof *tb),
           *jk = ls_malloc(G * sizeof *jk);
    ls_stats__resample_sums(Mx, G, C, B, key, out);
    for (size_t r = 0; r < R; r++) {
        size_t holding = 0;
        for (size_t c = 0; c < G && holding < 2; c++)
            holding += Mx[c * C + den[r]] > 0;
        if (isnan(est[r]) || holding < 2) continue;
        size_t nb = 0; /* a resample that drew no cluster holding a value has no estimate */
        for (size_t b = 0; b < B; b++) {
            double d = out[b * C + den[r]];
            if (d > 0) tb[nb++] = out[b * C + num[r]] / d;
        }
        for (size_t c = 0; c < G; c++)
            jk[c] = (tot[num[r]] - Mx[c * C + num[r]]) / (tot[den[r]] - Mx[c * C + den[r]]);
        ci[r] = ls_stats_bca(est[r], tb, nb, jk, G, level);
    }
    free(out);
    free(tb);
    free(jk);
    free(tot);
}

void ls_stats_cluster_bca(const double *sum, const double *cnt, size_t G, size_t K, size_t B, uint64_t key,
                          double level, double *est, LsStatInterval *ci) {
    size_t C = K + 1;
    double *Mx = ls_malloc((G * C + 1) * sizeof *Mx);
    size_t *num = ls_malloc((K + 1) * sizeof *num), *den = ls_malloc((K + 1) * sizeof *den);
    for (size_t c = 0; c < G; c++) {
        memcpy(Mx + c * C, sum + c * K, K * sizeof *Mx);
        Mx[c * C + K] = cnt[c];
    }
    for (size_t k = 0; k < K; k++)
        num[k] = k, den[k] = K;
    ls_stats_cluster_bca_ratio(Mx, G, C, num, den, K, B, key, level, est, ci);
    free(Mx);
    free(num);
    free(den);
}

/* ---- sign-flip test ---------------------------------------------------------- */

/* Exact: every sign vector, in Gray-code order (one flip per step). */
static void signflip_exact(const double *w, size_t G, size_t K, const double *obs, const double *gam,
                           double *le, double *ge) {
    double *t = ls_malloc(K * sizeof *t);
    memcpy(t, obs, K * sizeof *t);
    uint64_t n = (uint64_t)1 << G, state = 0;
    for (uint64_t s = 0; s < n; s++) {
        if (s > 0) {
            size_t c = (size_t)__builtin_ctzll(s); /* Gray code: bit c changes */
            state ^= (uint64_t)1 << c;
            double sign = (state >> c) & 1u ? -2.0 : 2.0; /* +w -> -w subtracts 2w */
            for (size_t k = 0; k < K; k++)
                t[k] += sign * w[c * K + k];
            if (s % 64 == 0) /* no drift: recompute from the signs now and then */
                for (size_t k = 0; k < K; k++) {
                    t[k] = 0.0;
                    for (size_t j = 0; j < G; j++)
                        t[k] += ((state >> j) & 1u ? -1.0 : 1.0) * w[j * K + k];
                }
        }
        for (size_t k = 0; k < K; k++) {
            le[k] += t[k] <= obs[k] + gam[k];
            ge[k] += t[k] >= obs[k] - gam[k];
        }
    }
    free(t);
}

enum { PREFETCH = 6 }; /* blocks of 4 clusters ahead */

/* Random: T* = T - 2 (sum of the negated clusters' w), the negated sum read
 * from tables of the 16 subset sums of each block of 4 clusters. */
static void signflip_random(const double *w, size_t G, size_t K, size_t B, uint64_t key, const double *obs,
                            const double *gam, double *le, double *ge) {
    size_t nb = (G + 3) / 4, words = (G + 63) / 64; /* 64 signs per random number */
    double *tab = ls_calloc(nb * 16 * K, sizeof *tab);
    for (size_t j = 0; j < nb; j++)
        for (unsigned m = 1; m < 16; m++) {
            unsigned low = m & (~m + 1u), i = (unsigned)__builtin_ctz(m);
            double *t = tab + (j * 16 + m) * K, *prev = tab + (j * 16 + (m ^ low)) * K;
            size_t c = 4 * j + i;
            for (size_t k = 0; k < K; k++)
                t[k] = prev[k] + (c < G ? w[c * K + k] : 0.0);
        }
#pragma omp parallel
    {
        double *neg = ls_malloc(K * sizeof *neg), *l = ls_calloc(2 * K, sizeof *l), *g = l + K;
#pragma omp for schedule(static)
        for (size_t b = 0; b < B; b++) {
            memset(neg, 0, K * sizeof *neg);
            for (size_t q = 0; q < words; q++) {
                uint64_t bits = ls_stats_rng(key, (uint64_t)(b * words + q));
                if (G - 64 * q < 64) bits &= ((uint64_t)1 << (G - 64 * q)) - 1u;
                for (size_t j = 16 * q; bits; j++, bits >>= 4) {
                    unsigned m = (unsigned)(bits & 15u), ahead = (unsigned)((bits >> 4 * PREFETCH) & 15u);
                    if (ahead) { /* the table is far larger than the cache: ask for that row early */
                        const double *r = tab + ((j + PREFETCH) * 16 + ahead) * K;
                        __builtin_prefetch(r);
                        __builtin_prefetch(r + K - 1);
                    }
                    if (!m) continue;
                    const double *t = tab + (j * 16 + m) * K;
                    for (size_t k = 0; k < K; k++)
                        neg[k] += t[k];
                }
            }
            for (size_t k = 0; k < K; k++) {
                double t = obs[k] - 2.0 * neg[k];
                l[k] += t <= obs[k] + gam[k];
                g[k] += t >= obs[k] - gam[k];
            }
        }
#pragma omp critical
        for (size_t k = 0; k < K; k++) {
            le[k] += l[k];
            ge[k] += g[k];
        }
        free(neg);
        free(l);
    }
    free(tab);
}

void ls_stats_signflip(const double *w, size_t G, size_t K, size_t B, uint64_t key, LsStatTest *out) {
    double *obs = ls_calloc(4 * (K ? K : 1), sizeof *obs), *gam = obs + K, *le = gam + K, *ge = le + K;
    int *bad = ls_calloc(K ? K : 1, sizeof *bad);
    for (size_t k = 0; k < K; k++) {
        int nonzero = 0;
        for (size_t c = 0; c < G; c++) {
            double v = w[c * K + k];
            if (!isfinite(v)) bad[k] = LS_STAT_NAN_INPUT;
            nonzero |= v != 0.0;
        }
        if (!bad[k] && !nonzero) bad[k] = LS_STAT_ALL_TIED;
        if (G == 0) bad[k] = LS_STAT_TOO_FEW;
        for (size_t c = 0; c < G && !bad[k]; c++)
            obs[k] += w[c * K + k]; /* in the order the resamples add */
        gam[k] = fabs(100.0 * DBL_EPSILON * obs[k]);
    }
    int exact = G <= LS_STATS_EXACT_CLUSTERS;
    double n = exact ? ldexp(1.0, (int)G) : (double)B;
    if (G > 0 && (exact || B > 0)) {
        if (exact)
            signflip_exact(w, G, K, obs, gam, le, ge);
        else
            signflip_random(w, G, K, B, key, obs, gam, le, ge);
    }
    double adj = exact ? 0.0 : 1.0; /* the observed vector counts once (scipy's adjustment) */
    for (size_t k = 0; k < K; k++) {
        if (bad[k] || (!exact && B == 0)) {
            out[k] = ls_stats__fail(bad[k] ? (LsStatReason)bad[k] : LS_STAT_TOO_FEW);
            continue;
        }
        double pl = (le[k] + adj) / (n + adj), pg = (ge[k] + adj) / (n + adj);
        out[k] = ls_stats__fail(LS_STAT_OK);
        out[k].statistic = obs[k];
        out[k].p = ls_stats__clip01(2.0 * (pl < pg ? pl : pg));
        out[k].df = n;
        out[k].method = exact ? LS_STAT_METHOD_EXACT : LS_STAT_METHOD_PERMUTATION;
    }
    free(bad);
    free(obs);
}
