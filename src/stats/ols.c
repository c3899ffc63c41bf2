/* ols.c — least squares with cluster-robust standard errors (statsmodels'
 * cov_type="cluster" with its default corrections) and the per-cluster terms
 * of the wild cluster sign-flip test (see ls/stats.h). */
#include "ls/common.h"
#include "ls/stats.h"
#include "stats_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXK LS_STATS_OLS_MAXK

/* Least squares of y on the columns of X (row-major [n, k]) except column
 * `skip` (k: none) by Householder QR. beta: [k'] (k' = columns used),
 * rinv: [k' * k'] R^-1 (upper, row-major), resid: [n] y - X beta.
 * Returns LS_STAT_ZERO_VARIANCE when a column is (numerically) in the span
 * of the ones before it. */
static LsStatReason qr_fit(const double *X, size_t n, size_t k, size_t skip, const double *y, double *beta,
                           double *rinv, double *resid) {
    size_t kk = 0, col[MAXK];
    for (size_t j = 0; j < k; j++)
        if (j != skip) col[kk++] = j;
    double *A = ls_malloc((n * kk + 1) * sizeof *A), *qy = ls_malloc((n ? n : 1) * sizeof *qy);
    for (size_t j = 0; j < kk; j++)
        for (size_t i = 0; i < n; i++)
            A[j * n + i] = X[i * k + col[j]];
    memcpy(qy, y, n * sizeof *qy);
    double rmax = 0.0;
    LsStatReason reason = LS_STAT_OK;
    for (size_t j = 0; j < kk; j++) {
        double *a = A + j * n, norm = 0.0;
        for (size_t i = j; i < n; i++)
            norm = hypot(norm, a[i]);
        double alpha = a[j] > 0 ? -norm : norm; /* R_jj */
        if (fabs(alpha) > rmax) rmax = fabs(alpha);
        if (!(fabs(alpha) > 1e-10 * rmax)) {
            reason = LS_STAT_ZERO_VARIANCE;
            break;
        }
        /* v = a - alpha e_j, H = I - 2 v v' / v'v */
        a[j] -= alpha;
        double vv = 0.0;
        for (size_t i = j; i < n; i++)
            vv += a[i] * a[i];
        for (size_t m = j + 1; m <= kk; m++) {
            double *b = m < kk ? A + m * n : qy, dot = 0.0;
            for (size_t i = j; i < n; i++)
                dot += a[i] * b[i];
            double f = 2.0 * dot / vv;
            for (size_t i = j; i < n; i++)
                b[i] -= f * a[i];
        }
        a[j] = alpha; /* the diagonal of R; below it, v is no longer needed */
    }
    if (reason == LS_STAT_OK) {
        /* R[r][c] = A[c * n + r] for r <= c; rinv by back substitution */
        memset(rinv, 0, kk * kk * sizeof *rinv);
        for (size_t c = kk; c-- > 0;) {
            rinv[c * kk + c] = 1.0 / A[c * n + c];
            for (size_t r = c; r-- > 0;) {
                double s = 0.0;
                for (size_t m = r + 1; m <= c; m++)
                    s += A[m * n + r] * rinv[m * kk + c];
                rinv[r * kk + c] = -s / A[r * n + r];
            }
        }
        for (size_t r = 0; r < kk; r++) {
            double s = 0.0;
            for (size_t c = r; c < kk; c++)
                s += rinv[r * kk + c] * qy[c];
            beta[r] = s;
        }
        for (size_t i = 0; i < n; i++) {
            double f = 0.0;
            for (size_t j = 0; j < kk; j++)
                f += X[i * k + col[j]] * beta[j];
            resid[i] = y[i] - f;
        }
    }
    free(A);
    free(qy);
    return reason;
}

/* bread = R^-1 R^-T = (X'X)^-1. */
static void bread_of(const double *rinv, size_t k, double *bread) {
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0.0;
            for (size_t m = (a > b ? a : b); m < k; m++)
                s += rinv[a * k + m] * rinv[b * k + m];
            bread[a * k + b] = s;
        }
}

/* flip_w[c k + j] = sum over cluster c of h_i e_i, h = X bread[:, j], e the
 * residuals of the fit without column j. */
static LsStatReason flip_weights(const double *X, const double *y, const size_t *cl, size_t n, size_t k,
                                 size_t G, const double *bread, double *flip_w) {
    double beta[MAXK], rinv[MAXK * MAXK];
    double *e = ls_malloc((n ? n : 1) * sizeof *e);
    memset(flip_w, 0, G * k * sizeof *flip_w);
    LsStatReason reason = LS_STAT_OK;
    for (size_t j = 0; j < k && reason == LS_STAT_OK; j++) {
        reason = qr_fit(X, n, k, j, y, beta, rinv, e);
        for (size_t i = 0; i < n && reason == LS_STAT_OK; i++) {
            double h = 0.0;
            for (size_t m = 0; m < k; m++)
                h += X[i * k + m] * bread[m * k + j];
            flip_w[cl[i] * k + j] += h * e[i];
        }
    }
    free(e);
    return reason;
}

LsStatOls ls_stats_ols_cluster(const double *X, const double *y, const size_t *cl, size_t n, size_t k,
                               size_t G, double *flip_w) {
    LsStatOls r;
    memset(&r, 0, sizeof r);
    r.n = n, r.k = k, r.G = G;
    for (size_t j = 0; j < MAXK; j++)
        r.beta[j] = r.se[j] = r.z[j] = r.p[j] = NAN;
    if (k == 0 || k > MAXK || (n > 0 && (!X || !y || !cl))) {
        r.reason = LS_STAT_BAD_ARG;
        return r;
    }
    if (n <= k || G < 2) {
        r.reason = LS_STAT_TOO_FEW;
        return r;
    }
    if (ls_stats__any_nonfinite(X, n * k) || ls_stats__any_nonfinite(y, n)) {
        r.reason = LS_STAT_NAN_INPUT;
        return r;
    }
    double beta[MAXK], rinv[MAXK * MAXK], bread[MAXK * MAXK];
    double *u = ls_malloc(n * sizeof *u), *score = ls_calloc(G * k, sizeof *score);
    r.reason = qr_fit(X, n, k, k, y, beta, rinv, u);
    if (r.reason == LS_STAT_OK) {
        bread_of(rinv, k, bread);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < k; j++)
                score[cl[i] * k + j] += X[i * k + j] * u[i];
        double meat[MAXK * MAXK] = {0}, tmp[MAXK * MAXK];
        for (size_t c = 0; c < G; c++)
            for (size_t a = 0; a < k; a++)
                for (size_t b = 0; b < k; b++)
                    meat[a * k + b] += score[c * k + a] * score[c * k + b];
        double f = (double)G / (double)(G - 1) * (double)(n - 1) / (double)(n - k);
        for (size_t a = 0; a < k; a++) /* tmp = bread meat */
            for (size_t b = 0; b < k; b++) {
                double s = 0.0;
                for (size_t m = 0; m < k; m++)
                    s += bread[a * k + m] * meat[m * k + b];
                tmp[a * k + b] = s;
            }
        for (size_t j = 0; j < k; j++) {
            double v = 0.0; /* (tmp bread)_jj */
            for (size_t m = 0; m < k; m++)
                v += tmp[j * k + m] * bread[m * k + j];
            r.beta[j] = beta[j];
            r.se[j] = sqrt(f * v);
            r.z[j] = beta[j] / r.se[j];
            r.p[j] = r.se[j] > 0 ? ls_stats__clip01(2.0 * ls_stats__normal_sf(fabs(r.z[j]))) : NAN;
        }
        if (flip_w) r.reason = flip_weights(X, y, cl, n, k, G, bread, flip_w);
    }
    if (r.reason != LS_STAT_OK)
        for (size_t j = 0; j < MAXK; j++)
            r.beta[j] = r.se[j] = r.z[j] = r.p[j] = NAN;
    free(u);
    free(score);
    return r;
}

/* ---- cluster-bootstrap BCa of coefficients -------------------------------- */

/* Solves A b = r for ny right-hand sides by Cholesky; A: the packed upper
 * triangle (a <= b, row by row) of the k x k normal matrix, r: [k * ny]
 * (X'y of response y at r[j * ny + y]), b: [ny * k]. Returns 0 and NaN in b
 * when a pivot is <= 1e-10 of its diagonal entry (X'X singular). */
static int chol_solve(const double *P, const double *r, size_t k, size_t ny, double *b) {
    double L[MAXK][MAXK] = {{0}};
    size_t q = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i; j < k; j++)
            L[j][i] = P[q++]; /* lower triangle of A */
    for (size_t j = 0; j < k; j++) {
        double d = L[j][j], diag = d;
        for (size_t m = 0; m < j; m++)
            d -= L[j][m] * L[j][m];
        if (!(d > 1e-10 * diag)) {
            for (size_t i = 0; i < ny * k; i++)
                b[i] = NAN;
            return 0;
        }
        L[j][j] = sqrt(d);
        for (size_t i = j + 1; i < k; i++) {
            double s = L[i][j];
            for (size_t m = 0; m < j; m++)
                s -= L[i][m] * L[j][m];
            L[i][j] = s / L[j][j];
        }
    }
    for (size_t y = 0; y < ny; y++) {
        double z[MAXK];
        for (size_t i = 0; i < k; i++) {
            double s = r[i * ny + y];
            for (size_t m = 0; m < i; m++)
                s -= L[i][m] * z[m];
            z[i] = s / L[i][i];
        }
        for (size_t i = k; i-- > 0;) {
            double s = z[i];
            for (size_t m = i + 1; m < k; m++)
                s -= L[m][i] * b[y * k + m];
            b[y * k + i] = s / L[i][i];
        }
    }
    return 1;
}

void ls_stats_ols_cluster_bca(const double *X, const double *Y, size_t ny, const size_t *cl, size_t n,
                              size_t k, size_t G, const size_t *coef, size_t nc, size_t B, uint64_t key,
                              double level, double *est, LsStatInterval *ci) {
    for (size_t i = 0; i < ny * nc; i++) {
        est[i] = NAN;
        ci[i] = (LsStatInterval){NAN, NAN, NAN, NAN, LS_STAT_TOO_FEW};
    }
    if (k == 0 || k > MAXK || n <= k || G < 2 || ny == 0) return;
    size_t P = k * (k + 1) / 2, C = P + k * ny;
    double mean[MAXK] = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 1; j < k; j++)
            mean[j] += X[i * k + j];
    for (size_t j = 1; j < k; j++)
        mean[j] /= (double)n;
    int *bad = ls_calloc(ny, sizeof *bad);
    for (size_t i = 0; i < n * ny; i++)
        if (!isfinite(Y[i])) bad[i % ny] = 1;
    /* per cluster: X_c'X_c (packed upper) and X_c'Y_c, centred columns */
    double *Mx = ls_calloc(G * C + 1, sizeof *Mx);
    for (size_t i = 0; i < n; i++) {
        double x[MAXK], *row = Mx + cl[i] * C;
        x[0] = 1.0;
        for (size_t j = 1; j < k; j++)
            x[j] = X[i * k + j] - mean[j];
        size_t q = 0;
        for (size_t a = 0; a < k; a++)
            for (size_t b = a; b < k; b++)
                row[q++] += x[a] * x[b];
        for (size_t a = 0; a < k; a++)
            for (size_t y = 0; y < ny; y++)
                row[P + a * ny + y] += bad[y] ? 0.0 : x[a] * Y[i * ny + y];
    }
    double *tot = ls_calloc(C, sizeof *tot), *beta = ls_malloc(ny * k * sizeof *beta);
    for (size_t c = 0; c < G; c++)
        for (size_t j = 0; j < C; j++)
            tot[j] += Mx[c * C + j];
    int ok = chol_solve(tot, tot + P, k, ny, beta);
    for (size_t y = 0; y < ny; y++)
        for (size_t q = 0; q < nc; q++) {
            est[y * nc + q] = bad[y] ? NAN : beta[y * k + coef[q]];
            ci[y * nc + q].reason = bad[y] ? LS_STAT_NAN_INPUT : ok ? LS_STAT_TOO_FEW : LS_STAT_ZERO_VARIANCE;
        }
    if (!ok || B == 0) {
        free(bad);
        free(Mx);
        free(tot);
        free(beta);
        return;
    }
    double *out = ls_malloc(B * C * sizeof *out);
    ls_stats__resample_sums(Mx, G, C, B, key, out);
    /* each resample's and each jackknife fit: theta[(y nc + q) * B + b], jack[(y nc + q) * G + c] */
    double *theta = ls_malloc(ny * nc * B * sizeof *theta), *jack = ls_malloc(ny * nc * G * sizeof *jack);
#pragma omp parallel
    {
        double *bb = ls_malloc(ny * k * sizeof *bb), *loo = ls_malloc(C * sizeof *loo);
#pragma omp for schedule(static)
        for (size_t b = 0; b < B; b++) {
            chol_solve(out + b * C, out + b * C + P, k, ny, bb);
            for (size_t y = 0; y < ny; y++)
                for (size_t q = 0; q < nc; q++)
                    theta[(y * nc + q) * B + b] = bb[y * k + coef[q]];
        }
#pragma omp for schedule(static)
        for (size_t c = 0; c < G; c++) {
            for (size_t j = 0; j < C; j++)
                loo[j] = tot[j] - Mx[c * C + j];
            chol_solve(loo, loo + P, k, ny, bb);
            for (size_t y = 0; y < ny; y++)
                for (size_t q = 0; q < nc; q++)
                    jack[(y * nc + q) * G + c] = bb[y * k + coef[q]];
        }
        free(bb);
        free(loo);
    }
    for (size_t y = 0; y < ny; y++)
        for (size_t q = 0; q < nc; q++) {
            if (bad[y]) continue;
            double *t = theta + (y * nc + q) * B;
            size_t nb = 0; /* a resample with a singular X'X has no estimate */
            for (size_t b = 0; b < B; b++)
                if (!isnan(t[b])) t[nb++] = t[b];
            ci[y * nc + q] = ls_stats_bca(est[y * nc + q], t, nb, jack + (y * nc + q) * G, G, level);
        }
    free(theta);
    free(jack);
    free(out);
    free(bad);
    free(Mx);
    free(tot);
    free(beta);
}
