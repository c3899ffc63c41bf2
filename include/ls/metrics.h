/* ls/metrics.h — per-position statistics of the predictive distribution,
 * computed over chunks of positions x the vocabulary (never [T, V] at once),
 * merged across tensor-parallel ranks without gathering logits.
 *
 * Position p of a sequence holds the distribution predicted for token p, i.e.
 * computed from the logits at p - 1 (transformers' logits[:, p-1]). Position 0
 * of every sequence has no predictive distribution: NaN / id -1. */
#ifndef LS_METRICS_H
#define LS_METRICS_H

#include <stdint.h>

#include "ls/forward.h"

typedef struct {
    size_t T;         /* positions (tokens of the batch) */
    int K;            /* top-k width */
    int ntgt;         /* number of target token ids */
    float *logprob;   /* [T] log P(token p | < p) */
    float *entropy;   /* [T] nats */
    int32_t *rank;    /* [T] 1-based rank of token p in its distribution (0 at position 0) */
    int32_t *top_ids; /* [T, K] best first */
    float *top_lp;    /* [T, K] */
    float *target_lp; /* [T, ntgt] log P(target | < p) */
} LsPosStats;

void ls_posstats_alloc(LsPosStats *s, size_t T, int K, int ntgt);
void ls_posstats_free(LsPosStats *s);

/* Computes the statistics for the batch whose final hidden states are in
 * f->h (after ls_forward_batch). Every TP rank calls it; all get the result. */
int ls_metrics_head(LsForward *f, const int32_t *ids, const int32_t *seq_off, int nseq,
                    const int32_t *targets, int ntgt, int K, LsPosStats *out, LsError *e);

/* Rows per chunk of the head statistics ([R, V_local] logits near 64 MiB). */
size_t ls_metrics_chunk_rows(size_t V_local);

/* Merges per-rank softmax partials (see LsSoftmaxPartial) into log-sum-exp
 * and entropy. */
void ls_softmax_merge(const LsSoftmaxPartial *parts, int nparts, double *lse, double *entropy);

#endif
