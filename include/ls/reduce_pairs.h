/* ls/reduce_pairs.h — the reducer's tables of model pairs and of the logit
 * lens (issue 19; docs/pairs.md, docs/hdf5-layout.md "/summary/pairs",
 * "/summary/lens"), from the per-position pair datasets /pairs/<a>__<b>/... and
 * the lens datasets /models/<m>/lens_*. Descriptive: none of these p-values
 * enters the primary BH family.
 *
 *   /summary/pairs/<a>__<b>/token_shift            tokens whose log-prob moved most (a -> b)
 *   /summary/pairs/<a>__<b>/occurrence_divergence  divergence near target-word occurrences vs elsewhere
 *   /summary/pairs/<a>__<b>/word_shift             dlogprob at each word's occurrence starts
 *   /summary/lens/<m>                              lens log-prob per word x depth
 *
 * Written by ls_reduce_file (reduce.c calls ls_reduce_pairs after the other
 * tables); read back by inspect through ls_pairs_summary_read. */
#ifndef LS_REDUCE_PAIRS_H
#define LS_REDUCE_PAIRS_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/reduce.h"

/* Token-shift rows kept: tokens with at least LS_PAIRS_MIN_COUNT answer
 * positions; of those the LS_PAIRS_TOP highest and LS_PAIRS_TOP lowest means
 * (all of them when there are at most 2 * LS_PAIRS_TOP). */
#define LS_PAIRS_MIN_COUNT 10
#define LS_PAIRS_TOP 100
/* Positions before an occurrence start counted as "near" it (attribute `before`). */
#define LS_PAIRS_BEFORE 3
/* Bytes of the decoded token text column (NUL-padded, cut at a UTF-8 boundary). */
#define LS_TOKEN_TEXT_LEN 32
/* occurrence_divergence: level 1-5 or 0 (all); correct 1, 0 or -1 (all); metric 0 kl_ab, 1 kl_ba, 2 js. */
#define LS_PAIRS_METRICS 3
#define LS_PAIRS_LEVELS 6  /* 0 (all), 1..5 */
#define LS_PAIRS_CORRECT 3 /* -1 (all), 1, 0 */
#define LS_PAIRS_OCC_ROWS (LS_PAIRS_LEVELS * LS_PAIRS_CORRECT * LS_PAIRS_METRICS)
/* Offsets of the bootstrap seeds of these tables from the reducer's seed
 * (docs/statistics.md): pair k (in /summary/pairs order) uses
 * seed + LS_PAIRS_SEED_OFFSET * (k + 1) + r, r = 0 token shift, 1 + row of
 * occurrence_divergence, 1000 + word of word_shift (a cluster-bootstrap key);
 * model m's lens rows use seed + LS_LENS_SEED_OFFSET * (m + 1) + row. */
#define LS_PAIRS_SEED_OFFSET 1000003u
#define LS_LENS_SEED_OFFSET 2000003u
/* A p-value that underflows (asymptotic Wilcoxon, |z| > 38) is stored as this (an upper bound). */
#define LS_PAIRS_P_FLOOR 2.2250738585072014e-308

const char *ls_pairs_metric_name(int metric); /* "kl_ab", "kl_ba", "js" */

typedef struct {
    int64_t token, count;
    int64_t nsamples; /* units (problems where /samples/problem_id clusters exist, else samples) holding it */
    double mean, ci_lo, ci_hi;
    char text[LS_TOKEN_TEXT_LEN]; /* decoded with model a's tokenizer; "" when it could not be loaded */
} LsSumTokenShift;

typedef struct {
    int8_t level, correct, metric;
    int64_t n; /* samples with both means defined */
    double mean_near, mean_other;
    double diff_mean, diff_median, diff_sd, diff_ci_lo, diff_ci_hi;
    int8_t diff_reason;
    double wilcoxon_w, wilcoxon_p;
    int8_t wilcoxon_method, wilcoxon_reason;
    double wilcoxon_r;
} LsSumOccDiv;

typedef struct {
    int16_t word;
    int64_t n_occurrences, n_samples, n_clusters;
    double mean, ci_lo, ci_hi; /* mean dlogprob at the aligned occurrence starts; cluster-bootstrap BCa */
    int8_t reason;
    int64_t primary_row; /* row of /summary/primary holding this pair's pair_effect for the word; -1 */
} LsSumWordShift;

typedef struct {
    int16_t word, depth;
    int64_t n_occurrences, n_samples, n_clusters;
    double logprob_mean, logprob_ci_lo, logprob_ci_hi;
    int8_t logprob_reason;
    double entropy_mean;
} LsSumLens;

extern const LsTable LS_TABLE_TOKEN_SHIFT, LS_TABLE_OCC_DIV, LS_TABLE_WORD_SHIFT, LS_TABLE_LENS;

/* What the reducer has already read (reduce.c's input). */
typedef struct {
    hid_t f;
    const char *file;
    size_t N, n_models, W;
    char *const *models;
    const int8_t *level, *correct;
    const int64_t *problem; /* [N] cluster id (problem_id, or -(i + 1)) */
    const uint8_t *used;    /* [N] done in every model */
    const LsSumPrimary *primary;
    size_t n_primary;
} LsPairsInput;

/* Writes /summary/pairs and /summary/lens into the (open, writable) file for
 * every pair /pairs/<a>__<b> (a, b models of the file, in models order) with
 * attribute complete = 1, and every model with lens_logprob. Nothing is
 * written when there is none. Errors name the file and the dataset. */
int ls_reduce_pairs(const LsPairsInput *in, const LsReduceOptions *opt, LsError *e);

/* Within this many nats of the last depth's mean lens log-prob, a word counts as "decided". */
#define LS_LENS_SETTLE_NATS 1.0
/* The first depth of `word` among rows [n] (any order) whose logprob_mean is within
 * LS_LENS_SETTLE_NATS of the mean at the deepest depth with a mean; -1 when the word has none. */
int ls_lens_settle_depth(const LsSumLens *rows, size_t n, int word);

/* A token's decoded text s [n bytes] into out: at most LS_TOKEN_TEXT_LEN - 1 bytes, cut before a UTF-8
 * continuation byte so that no character is split, NUL-padded. */
void ls_token_text_fit(const char *s, size_t n, char out[LS_TOKEN_TEXT_LEN]);

/* Read back for inspect. */
typedef struct {
    char *name; /* "<a>__<b>" */
    int a, b;   /* model indices */
    LsSumTokenShift *shift;
    LsSumOccDiv *occ;
    LsSumWordShift *word;
    size_t n_shift, n_occ, n_word;
    int64_t before, min_count;
} LsPairSummary;

typedef struct {
    int model;
    LsSumLens *rows;
    size_t n;
    int64_t depths;
} LsLensSummary;

typedef struct {
    LsPairSummary *pairs;
    size_t n_pairs;
    LsLensSummary *lens;
    size_t n_lens;
} LsPairsSummary;

/* Reads /summary/pairs and /summary/lens (empty when absent). models: the root attribute. */
int ls_pairs_summary_read(hid_t f, const char *file, char *const *models, size_t n_models, LsPairsSummary *s,
                          LsError *e);
void ls_pairs_summary_free(LsPairsSummary *s);

#endif
