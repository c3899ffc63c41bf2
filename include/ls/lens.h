/* ls/lens.h — the logit lens: the final norm and the head applied to the
 * residual stream after the embeddings and after every layer, at chosen rows
 * of a batch, giving per row and depth the log-prob of a given token and the
 * entropy of the distribution (nats).
 *
 * Capture: ls_lens_tap points the decoder at the rows; ls_forward_batch then
 * copies those rows of the residual stream (after the embeddings, scaled as
 * the model scales them, and after each of the L layers) into host memory,
 * [L + 1, n, d]. With no tap set the decoder does nothing extra.
 * Evaluation: ls_lens_eval runs model.norm and the head on them, through the
 * backend's head_partials over this rank's canonical vocabulary slices (the
 * head statistics' scheme, ls/forward.h), and merges the softmax partials in
 * slice order, so tp = 1, 2, 4 give the same bits on the CPU. Gemma's final
 * logit soft-capping applies as in the head. Depth L equals the model's own
 * prediction (transformers' last hidden state is already normed; the lens
 * norms the earlier ones). */
#ifndef LS_LENS_H
#define LS_LENS_H

#include <stdint.h>

#include "ls/forward.h"
#include "ls/targets.h"

typedef struct LsLensTap {
    int n;         /* rows tapped */
    int depths;    /* L + 1 */
    size_t d;      /* hidden size */
    int32_t *rows; /* [n] batch rows (row t predicts token t + 1) */
    float *resid;  /* [depths, n, d] host copies filled by ls_forward_batch */
} LsLensTap;

/* Sizes tap for n rows of f's model, copies rows, and attaches it to f
 * (f->lens); n = 0 detaches. Rows must lie inside the next batch. */
void ls_lens_tap(LsForward *f, LsLensTap *tap, const int32_t *rows, int n);
void ls_lens_tap_free(LsForward *f, LsLensTap *tap);

/* For the rows tapped in the last batch: lp [n, depths] the log-prob of
 * tok[i] (NaN where tok[i] < 0) and ent [n, depths] the entropy. Every TP
 * rank calls it; all get the result. */
int ls_lens_eval(LsForward *f, const LsLensTap *tap, const int32_t *tok, float *lp, float *ent, LsError *e);

/* Whether occurrence o has a lens value: aligned, at sample position p >= 1
 * (row p - 1 predicts its first token). Others get NaN rows in a run's file. */
static inline int ls_lens_has_value(const LsOccurrence *o) {
    return o->aligned && o->position >= 1;
}

/* The lens rows of a packed batch at the aligned occurrences of the target
 * words (found from the token ids alone, before the forward pass): sample s
 * of the batch has tokens [seq_off[s], seq_off[s+1]), its answer from sample
 * position answer_start[s], and id sample_id[s]. For every aligned
 * occurrence at sample position p >= 1 (sample by sample, each in the order
 * ls_find_occurrences gives):
 * rows[i] = seq_off[s] + p - 1 (the row that predicts it), want[i] = its
 * first token, occ[i] its LsOccurrence (logprob NaN). All three arrays
 * ls_malloc'ed (never NULL), *n of them. */
void ls_lens_occurrence_rows(const LsTargetSet *ts, const LsTokenizer *tok, const int32_t *ids,
                             const int32_t *seq_off, int nseq, const int32_t *answer_start,
                             const int64_t *sample_id, int32_t **rows, int32_t **want, LsOccurrence **occ,
                             size_t *n);

#endif
