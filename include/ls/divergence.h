/* ls/divergence.h — where two models part ways: per-position divergence
 * between the predictive distributions of two models that share a vocabulary,
 * exact over the full vocabulary and never holding [T, V] logits.
 *
 * Both models have run the same packed batch (ls_forward_batch on each), so
 * fa->h and fb->h hold their final hidden states. The logits of a chunk of
 * rows are computed for this rank's vocabulary slice (the same canonical
 * slices as the head statistics, ls/forward.h), and two passes run over them:
 *   1. softmax partials (max, sum-exp) per canonical slice, the argmax and
 *      the logit of the actual next token; exchanged over the TP group and
 *      merged in slice order -> log Z_a, log Z_b, top-1 ids, log-probs;
 *   2. with log Z known, per canonical slice in double precision:
 *        kl_ab = sum_v p_a (log p_a - log p_b)
 *        kl_ba = sum_v p_b (log p_b - log p_a)
 *        js    = 1/2 sum_v [p_a (log p_a - log m) + p_b (log p_b - log m)],
 *                m = (p_a + p_b) / 2
 *      exchanged and added in slice order.
 * The slices and their order do not depend on tp, so tp = 1, 2, 4 give the
 * same bits on the CPU backend. Position p holds the divergence of the
 * distributions predicted for token p (from the logits at p - 1); position 0
 * of every sequence has none (NaN, top1_agree -1). */
#ifndef LS_DIVERGENCE_H
#define LS_DIVERGENCE_H

#include <stdint.h>

#include "ls/forward.h"
#include "ls/tokenizer.h"

typedef struct {
    size_t T;
    float *kl_ab;       /* [T] KL(p_a || p_b), nats */
    float *kl_ba;       /* [T] KL(p_b || p_a), nats */
    float *js;          /* [T] Jensen-Shannon divergence, nats (<= log 2) */
    int8_t *top1_agree; /* [T] 1 when both models' most probable tokens agree, 0 if not, -1 at position 0 */
    float *dlogprob;    /* [T] log p_b(token p) - log p_a(token p) */
} LsPairStats;

void ls_pairstats_alloc(LsPairStats *s, size_t T);
void ls_pairstats_free(LsPairStats *s);

/* LS_OK when the two forward passes can be compared position by position:
 * same vocabulary size, same tensor-parallel split (rank, size, canonical
 * vocabulary slices). The message names both models otherwise. */
int ls_pair_check(const LsForward *fa, const LsForward *fb, LsError *e);

/* Fills out (sized for T = seq_off[nseq]) for the batch both forward passes
 * have just run. Every TP rank calls it; all get the result. */
int ls_metrics_pair(LsForward *fa, LsForward *fb, const int32_t *ids, const int32_t *seq_off, int nseq,
                    LsPairStats *out, LsError *e);

/* One pair of a study's models (indices into its model list), compared a -> b. */
typedef struct {
    int a, b;
} LsModelPair;

/* The pairs of a study: spec [n_spec] as configured, or spec NULL for the
 * default, every model with the next one ((0, 1), (1, 2), ...). Each pair must
 * name two different models in [0, n) and share the vocabulary: the same
 * vocab_size and, where both have a tokenizer (toks[i] may be NULL), the same
 * token for every id (ls_tokenizer_first_difference). A configured pair that
 * does not is refused: the message names both models and the first id where
 * they differ. A default pair that does not is left out; when skipped is not
 * NULL, skipped->msg says which and why ("; "-separated, empty when none was
 * left out). *out is ls_malloc'ed (never NULL). */
int ls_pairs_resolve(const char *const *names, const LsTokenizer *const *toks, const int32_t *vocab, int n,
                     const LsModelPair *spec, int n_spec, LsModelPair **out, int *n_out, LsError *skipped,
                     LsError *e);

#endif
