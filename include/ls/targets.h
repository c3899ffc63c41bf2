/* ls/targets.h — the study's target words: their surface forms resolved
 * through one model's tokenizer, and their occurrences in answers.
 *
 * A word's surface forms are the configured cases (lower, Capitalized, UPPER)
 * with and without a leading space (" wait", "Wait", ...). A form that is one
 * token becomes a column of the per-position target log-prob table; every
 * form, one token or several, is used to score occurrences by the chain rule.
 */
#ifndef LS_TARGETS_H
#define LS_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/config.h"
#include "ls/tokenizer.h"

#define LS_FORM_MAX_BYTES 64

typedef struct {
    int word; /* index into the word list */
    LsSurfaceForm sf;
    char text[LS_FORM_MAX_BYTES]; /* e.g. " Wait" */
    int32_t *ids;                 /* its tokenization (no special tokens) */
    int n_ids;
    int column; /* column in target_logprob, -1 if several tokens */
} LsForm;

typedef struct {
    char **words; /* borrowed from the config */
    size_t n_words;
    LsForm *forms; /* [n_words * n_sf], word-major */
    size_t n_forms;
    int32_t *col_ids; /* [n_cols] token id of each single-token column */
    int *col_form;    /* [n_cols] form index of each column */
    size_t n_cols;
} LsTargetSet;

/* Resolves every word x surface form with tok. Errors: an empty word, a word
 * with characters other than letters, a form longer than LS_FORM_MAX_BYTES. */
int ls_targets_resolve(LsTargetSet *ts, LsTokenizer *tok, char **words, size_t n_words,
                       const LsSurfaceForm *sf, size_t n_sf, LsError *e);
void ls_targets_free(LsTargetSet *ts);

/* One occurrence of a target word in an answer. */
typedef struct {
    int64_t sample;
    int32_t position;   /* first token of the occurrence, within the sample */
    int16_t word, form; /* indices into words / forms */
    int16_t n_tokens;
    float logprob;      /* chain-rule sum of the tokens' log-probs (NaN if unaligned) */
    int32_t rank_first; /* 1-based rank of the first token (0 if unaligned) */
    int8_t aligned;     /* 0 when a word boundary falls inside a token */
} LsOccurrence;

/* Finds the occurrences of the target words in one sample's answer.
 * The answer is the text its tokens decode to: ans_ids [n] at sample
 * positions answer_start .. answer_start + n - 1. A match is a case variant
 * of a word (as configured) with no letter or digit on either side; with a
 * space before it and space forms configured, it is the space form when a
 * token starts at that space. It is aligned when tokens start at its first
 * byte (or that space) and end at its last byte; then its log-prob is the sum
 * of logprob[p] (sample positions) over its tokens. Appends to *occ.
 * logprob and rank may be NULL (occurrences found before the forward pass,
 * e.g. for the logit lens): then logprob is NaN and rank_first 0. */
void ls_find_occurrences(const LsTargetSet *ts, const LsTokenizer *tok, int64_t sample,
                         const int32_t *ans_ids, size_t n, int32_t answer_start, const float *logprob,
                         const int32_t *rank, LsOccurrence **occ, size_t *n_occ, size_t *cap);

#endif
