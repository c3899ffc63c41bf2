/* stats_internal.h — helpers shared by the files of src/stats/ (not installed). */
#ifndef LS_STATS_INTERNAL_H
#define LS_STATS_INTERNAL_H

#include "ls/stats.h"

#include <stddef.h>

/* An LsStatTest with every numeric field NaN and the given reason. */
LsStatTest ls_stats__fail(LsStatReason reason);

/* 1 if x[0..n) holds a NaN (any_nonfinite: also ±inf). */
int ls_stats__any_nan(const double *x, size_t n);
int ls_stats__any_nonfinite(const double *x, size_t n);

/* Neumaier-compensated sum of x[0..n). */
double ls_stats__sum(const double *x, size_t n);
/* Mean and sum of squared deviations from it (two passes, compensated). */
void ls_stats__mean_ss(const double *x, size_t n, double *mean, double *ss);

/* Distribution tails from GSL, with GSL's error handler off for the call
 * (underflow returns 0 instead of aborting).
 *   normal_sf(z)   = P(Z > z)                       (scipy.special.ndtr(-z))
 *   t_two_sided(t) = 2 P(T_df > |t|)                 (gsl_sf_beta_inc(df/2, 1/2, df/(df+t^2)))
 *   chisq_sf(x)    = P(X^2_df > x)                   (gsl_cdf_chisq_Q) */
double ls_stats__normal_sf(double z);
double ls_stats__t_two_sided(double t, double df);
double ls_stats__chisq_sf(double x, double df);

static inline double ls_stats__clip01(double p) {
    return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

/* The percentile bootstrap interval of LS_STATS_CI_LEVEL from n estimates
 * (sorted in place): numpy.percentile(v, [2.5, 97.5]), linear interpolation. */
void ls_stats__percentile_ci(double *v, size_t n, double *lo, double *hi);

/* Weighted column sums of B cluster resamples: out[b * C + k] = sum_c t_bc
 * Mx[c * C + k] over c in increasing order, t_bc = how often resample b drew
 * cluster c (draw j of resample b: ls_stats_rng_below(ls_stats_rng(key,
 * b G + j), G)). Mx: [G * C], out: [B * C]. Threaded (OpenMP over blocks of
 * resamples); each resample depends on (key, b) only, so out is the same for
 * any thread count. */
void ls_stats__resample_sums(const double *Mx, size_t G, size_t C, size_t B, uint64_t key, double *out);

#endif
