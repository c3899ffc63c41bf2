/* ls/pair_reduce.h — the reducer's views of a model pair (issue 19, points 2
 * and 3), from the per-position pair outputs (ls/divergence.h): pure C, no
 * HDF5, no MPI; checked against numpy/scipy (tests/stats/make_pair_reduce_fixtures.py).
 *
 * Token shift: over the answer positions, the tokens whose log-prob of being
 * the actual next token moved most between the two models: per token id the
 * count, the number of samples it occurs in, the mean dlogprob and a cluster
 * bootstrap interval with the sample as the unit (samples drawn with
 * replacement, every position of a drawn sample counted once per draw).
 *
 * Divergence where it matters: per sample, the mean of a divergence (kl_ab,
 * js, ...) at the positions that begin an occurrence of a target word and the
 * `before` positions preceding each, and the mean at the other answer
 * positions; then, over the samples of a group (level, correctness), the
 * paired difference near - other with the sample as the unit. */
#ifndef LS_PAIR_REDUCE_H
#define LS_PAIR_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/stats.h"

typedef struct {
    int32_t token;   /* the actual next token */
    size_t count;    /* positions where it is the next token */
    size_t nsamples; /* samples with at least one such position */
    double mean;     /* mean of dlogprob = log p_b - log p_a over those positions */
    double ci_lo;    /* cluster-bootstrap 95% percentile interval of the mean; NaN when */
    double ci_hi;    /* n_boot == 0 or the token occurs in fewer than 2 samples */
} LsTokenShift;

/* n positions: token [n] the actual next token, dlp [n] its dlogprob (NaN
 * positions are skipped), sample [n] the sample index in [0, nsamples).
 * Rows for the tokens with count >= min_count, by mean descending (ties:
 * lower id first), in *rows (ls_malloc'ed, *nrows of them).
 * Bootstrap: gsl_rng_mt19937 seeded with seed (gsl_rng_set); each of the
 * n_boot resamples draws nsamples sample indices with gsl_rng_uniform_int;
 * a token's resampled mean is sum_s w_s S_ts / sum_s w_s C_ts (w_s the times
 * sample s was drawn, S_ts and C_ts its sum and count of the token's dlogprob,
 * summed in position order), taken over the resamples that contain it; the
 * interval is numpy.percentile(means, [2.5, 97.5]). LS_ERR on a token or
 * sample index out of range. */
int ls_token_shift(const int32_t *token, const float *dlp, const int32_t *sample, size_t n, size_t nsamples,
                   size_t min_count, size_t n_boot, uint64_t seed, LsTokenShift **rows, size_t *nrows,
                   LsError *e);

/* Per sample s (positions [seq_off[s], seq_off[s+1])): near[s] the mean of
 * div over the answer positions (answer[p] != 0, div[p] not NaN) that are an
 * occurrence start (occ[p] != 0) or one of the `before` positions preceding
 * an occurrence start of the same sample, other[s] the mean over the
 * remaining answer positions; NaN where there are none. */
void ls_occurrence_means(const float *div, const uint8_t *answer, const uint8_t *occ, const int32_t *seq_off,
                         int nseq, int before, double *near, double *other);

typedef struct {
    size_t n;          /* samples of the group with both means defined */
    double mean_near;  /* mean over those samples of near */
    double mean_other; /* ... of other */
    LsStatDesc diff;   /* near - other per sample: mean, median, sd, bootstrap CI (ls_stats_paired_diff) */
    LsStatTest test;   /* Wilcoxon signed-rank of near vs other (ls_stats_wilcoxon) */
} LsOccContrast;

/* The contrast over the samples with in_group[s] != 0 (NULL: all). */
LsOccContrast ls_occurrence_contrast(const double *near, const double *other, const uint8_t *in_group,
                                     size_t nseq, size_t n_boot, uint64_t seed);

#endif
