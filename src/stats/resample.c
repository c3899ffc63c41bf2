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

/* The k-th smallest of v[0..n) (k < n), reordering v: quickselect, median of
 * three pivots. Leaves v[k] in its sorted place, smaller before, larger after. */
static double select_kth(double *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double piv = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv)
                i++;
            while (v[j] > piv)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j], v[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* The linear (type 7) quantile of v[0..n) at probability q in [0, 1], as
 * sorting would give it, without sorting (v is reordered). */
static double quantile_select(double *v, size_t n, double q) {
    double h = (double)(n - 1) * q;
    if (!(h >= 0.0)) return NAN;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1) return select_kth(v, n, n - 1);
    double a = select_kth(v, n, lo), b = v[lo + 1];
    for (size_t i = lo + 2; i < n; i++) /* the next smallest: the minimum of what lies above */
        b = v[i] < b ? v[i] : b;
    return a + (h - (double)lo) * (b - a);
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
    r.lo = quantile_select(theta_b, B, a1);
    r.hi = quantile_select(theta_b, B, a2);
    return r;
}

/* ---- weighted cluster sums of resamples ----------------------------------- */

/* Resamples are drawn LANES at a time: lane l counts in times[l G + c] how
 * often cluster c was drawn by resample b0 + l (bytes: a lane's table stays
 * in cache while it is drawn). The table is then walked in tiles of CT
 * clusters: a tile's counts are turned cluster-major into doubles (CT x
 * LANES, in L1), and each pair of columns keeps its 2 x LANES running sums
 * in eight 4-wide registers while the tile's clusters pass in increasing
 * order. Every sum still adds times x value cluster by cluster, one fused
 * multiply-add each: the same numbers, bit for bit, as one resample at a
 * time, with one pass over the column table per LANES resamples. A block
 * where a count would pass 255 (about never for G > 255, impossible below)
 * is redone one resample at a time with wide counts. */
enum { LANES = 16, CT = 64 };
/* 4 doubles; only static functions take or return them, so builds without
 * AVX (the sanitizer build) pass them differently without any ABI at stake. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double V4 __attribute__((vector_size(32)));

/* Resample b alone (times: G doubles). */
static void sums_one(const double *Mx, size_t G, size_t C, uint64_t key, size_t b, double *times,
                     double *out) {
    memset(times, 0, G * sizeof *times);
    for (size_t j = 0; j < G; j++)
        times[ls_stats_rng_below(ls_stats_rng(key, (uint64_t)(b * G + j)), G)] += 1.0;
    for (size_t k = 0; k < C; k++) {
        double acc = 0.0;
        for (size_t c = 0; c < G; c++)
            acc = fma(times[c], Mx[c * C + k], acc);
        out[b * C + k] = acc;
    }
}

static inline V4 v4_fma(V4 a, V4 b, V4 c) {
#if defined(__FMA__)
    return __builtin_ia32_vfmaddpd256(a, b, c);
#else
    return (V4){fma(a[0], b[0], c[0]), fma(a[1], b[1], c[1]), fma(a[2], b[2], c[2]), fma(a[3], b[3], c[3])};
#endif
}

static inline V4 v4_splat(double x) {
    return (V4){x, x, x, x};
}

/* The first 32-byte boundary in mem (allocate 32 bytes more than needed). */
static V4 *v4_align(char *mem) {
    return (V4 *)(void *)(mem + (32 - (uintptr_t)mem % 32) % 32);
}

/* Per-thread buffers of sums_block, 32-byte aligned. */
typedef struct {
    uint8_t *times; /* LANES x G counts */
    V4 *tt;         /* CT x LANES counts of a tile, as doubles */
    V4 *acc;        /* C x LANES running sums */
    char *mem;
} Block;

/* Columns k, k + 1 (ncol 2) or k alone (ncol 1) over clusters [c0, c0 + cn);
 * Mt: the table column-major (Mt[k G + c]). */
static inline void tile_cols(const double *Mt, size_t G, size_t c0, size_t cn, const V4 *tt, V4 *acc,
                             size_t k, int ncol) {
    V4 *a = acc + 4 * k;
    if (ncol == 2) {
        V4 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], b0 = a[4], b1 = a[5], b2 = a[6], b3 = a[7];
        for (size_t i = 0; i < cn; i++) {
            const V4 *t = tt + 4 * i;
            V4 s = v4_splat(Mt[k * G + c0 + i]), u = v4_splat(Mt[(k + 1) * G + c0 + i]);
            a0 = v4_fma(t[0], s, a0), a1 = v4_fma(t[1], s, a1), a2 = v4_fma(t[2], s, a2),
            a3 = v4_fma(t[3], s, a3);
            b0 = v4_fma(t[0], u, b0), b1 = v4_fma(t[1], u, b1), b2 = v4_fma(t[2], u, b2),
            b3 = v4_fma(t[3], u, b3);
        }
        a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3, a[4] = b0, a[5] = b1, a[6] = b2, a[7] = b3;
    } else {
        V4 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
        for (size_t i = 0; i < cn; i++) {
            const V4 *t = tt + 4 * i;
            V4 s = v4_splat(Mt[k * G + c0 + i]);
            a0 = v4_fma(t[0], s, a0), a1 = v4_fma(t[1], s, a1), a2 = v4_fma(t[2], s, a2),
            a3 = v4_fma(t[3], s, a3);
        }
        a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
    }
}

/* Resamples b0 .. b0 + LANES - 1 (those below B); 1 when a count overflowed. */
static int sums_block(const double *Mt, size_t G, size_t C, size_t B, uint64_t key, size_t b0, Block *bl,
                      double *out) {
    size_t nl = B - b0 < LANES ? B - b0 : LANES;
    unsigned wrapped = 0;
    uint8_t *times = bl->times;
    memset(times, 0, G * LANES * sizeof *times);
    for (size_t l = 0; l < nl; l++) {
        uint64_t base = (uint64_t)((b0 + l) * G);
        uint8_t *tl = times + l * G;
        for (size_t j = 0; j < G; j++)
            wrapped |= ++tl[ls_stats_rng_below(ls_stats_rng(key, base + j), G)] == 0;
    }
    if (wrapped) return 1;
    memset(bl->acc, 0, C * LANES * sizeof(double));
    double *tt = (double *)bl->tt;
    for (size_t c0 = 0; c0 < G; c0 += CT) {
        size_t cn = G - c0 < CT ? G - c0 : CT;
        for (size_t l = 0; l < LANES; l++)
            for (size_t i = 0; i < cn; i++)
                tt[i * LANES + l] = (double)times[l * G + c0 + i];
        size_t k = 0;
        for (; k + 2 <= C; k += 2)
            tile_cols(Mt, G, c0, cn, bl->tt, bl->acc, k, 2);
        if (k < C) tile_cols(Mt, G, c0, cn, bl->tt, bl->acc, k, 1);
    }
    const double *ad = (const double *)bl->acc;
    for (size_t l = 0; l < nl; l++)
        for (size_t k = 0; k < C; k++)
            out[(b0 + l) * C + k] = ad[k * LANES + l];
    return 0;
}

void ls_stats__resample_sums(const double *Mx, size_t G, size_t C, size_t B, uint64_t key, double *out) {
    if (!G || !C || !B) return;
    size_t blocks = (B + LANES - 1) / LANES;
    double *Mt = ls_malloc(G * C * sizeof *Mt);
    for (size_t c = 0; c < G; c++)
        for (size_t k = 0; k < C; k++)
            Mt[k * G + c] = Mx[c * C + k];
#pragma omp parallel
    {
        Block bl;
        size_t nv = (CT + C) * LANES / 4; /* V4s of tt and acc */
        bl.mem = ls_malloc(nv * sizeof(V4) + 32 + G * LANES);
        bl.tt = v4_align(bl.mem);
        bl.acc = bl.tt + CT * LANES / 4;
        bl.times = (uint8_t *)(bl.acc + C * LANES / 4);
        double *wide = NULL;
#pragma omp for schedule(dynamic, 1)
        for (size_t q = 0; q < blocks; q++) {
            if (!sums_block(Mt, G, C, B, key, q * LANES, &bl, out)) continue;
            if (!wide) wide = ls_malloc(G * sizeof *wide);
            for (size_t b = q * LANES; b < B && b < (q + 1) * LANES; b++)
                sums_one(Mx, G, C, key, b, wide, out);
        }
        free(bl.mem);
        free(wide);
    }
    free(Mt);
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
    uint8_t *ok = ls_malloc(R + 1); /* an estimate and two clusters with a positive denominator */
    for (size_t r = 0; r < R; r++) {
        double d = tot[den[r]];
        est[r] = d > 0 ? tot[num[r]] / d : NAN;
        ci[r] = (LsStatInterval){NAN, NAN, NAN, NAN, LS_STAT_TOO_FEW};
        size_t holding = 0;
        for (size_t c = 0; c < G && holding < 2; c++)
            holding += Mx[c * C + den[r]] > 0;
        ok[r] = holding >= 2 && !isnan(est[r]);
        need += ok[r];
    }
    if (G < 2 || B == 0 || need == 0) {
        free(ok);
        free(tot);
        return;
    }
    double *out = ls_malloc(B * C * sizeof *out), *tb = ls_malloc(B * sizeof *tb),
           *jk = ls_malloc(G * sizeof *jk);
    ls_stats__resample_sums(Mx, G, C, B, key, out);
    for (size_t r = 0; r < R; r++) {
        if (!ok[r]) continue;
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
    free(ok);
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

/* Random: FL = 64 sign vectors at a time, one lane each. Resample b's signs
 * are the bits of rng(key, b W + q) (W words of 64 clusters: bit j of word q
 * negates cluster 64 q + j); a block's 64 words of cluster group q are
 * transposed so that mask[j] holds cluster 64 q + j's sign in every lane.
 * Each lane's statistic is the sum of +-w over the clusters in increasing
 * order, from 0 (the reference's order); the lanes' K x FL sums stay in L1
 * while the clusters stream past once per 64 resamples. */
enum { FL = 64 };

/* The 64 x 64 bit matrix m (row r = m[r], bit c) transposed in place. */
static void bits_transpose64(uint64_t *m) {
    uint64_t mask = 0x00000000FFFFFFFFull;
    for (unsigned j = 32; j; j >>= 1, mask ^= mask << j)
        for (unsigned r = 0; r < 64; r = (r + j + 1) & ~j) {
            uint64_t t = ((m[r] >> j) ^ m[r + j]) & mask;
            m[r] ^= t << j;
            m[r + j] ^= t;
        }
}

static void signflip_random(const double *w, size_t G, size_t K, size_t B, uint64_t key, const double *obs,
                            const double *gam, double *le, double *ge) {
    size_t words = (G + 63) / 64, blocks = (B + FL - 1) / FL;
    V4 sign16[16]; /* the signs of 4 lanes from a nibble of their mask: bit set = negated */
    for (unsigned m = 0; m < 16; m++)
        for (int l = 0; l < 4; l++)
            sign16[m][l] = (m >> l) & 1u ? -1.0 : 1.0;
#pragma omp parallel
    {
        char *mem = ls_malloc(K * FL * sizeof(double) + 32);
        V4 *acc = v4_align(mem); /* [K][FL / 4] */
        double *l = ls_calloc(2 * K, sizeof *l), *g = l + K;
        uint64_t mask[64];
#pragma omp for schedule(dynamic, 1)
        for (size_t q0 = 0; q0 < blocks; q0++) {
            size_t b0 = q0 * FL, nl = B - b0 < FL ? B - b0 : FL;
            memset(acc, 0, K * FL * sizeof(double));
            for (size_t q = 0; q < words; q++) {
                size_t nc = G - 64 * q < 64 ? G - 64 * q : 64;
                for (size_t r = 0; r < FL; r++)
                    mask[r] = r < nl ? ls_stats_rng(key, (uint64_t)((b0 + r) * words + q)) : 0;
                bits_transpose64(mask); /* mask[j]: bit r = resample b0 + r negates cluster 64 q + j */
                for (size_t j = 0; j < nc; j++) {
                    const double *wc = w + (64 * q + j) * K;
                    V4 s[FL / 4];
                    for (size_t v = 0; v < FL / 4; v++)
                        s[v] = sign16[(mask[j] >> (4 * v)) & 15u];
                    for (size_t k = 0; k < K; k++) {
                        V4 x = v4_splat(wc[k]), *a = acc + k * (FL / 4);
                        for (size_t v = 0; v < FL / 4; v++)
                            a[v] = v4_fma(s[v], x, a[v]); /* +-w exactly, then one rounding: a + (+-w) */
                    }
                }
            }
            const double *ad = (const double *)acc;
            for (size_t r = 0; r < nl; r++)
                for (size_t k = 0; k < K; k++) {
                    double t = ad[k * FL + r];
                    l[k] += t <= obs[k] + gam[k];
                    g[k] += t >= obs[k] - gam[k];
                }
        }
#pragma omp critical
        for (size_t k = 0; k < K; k++) {
            le[k] += l[k];
            ge[k] += g[k];
        }
        free(mem);
        free(l);
    }
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
