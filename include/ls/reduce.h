/* ls/reduce.h — the rank-0 reducer (DESIGN §7, issue #8): reads the
 * per-model datasets of a finished output file back, computes descriptives
 * and tests per model x target word x group, and writes them to /summary of
 * the same file with serial HDF5. The tables, their columns, the unit of
 * analysis and the Benjamini–Hochberg families are described in
 * docs/hdf5-layout.md (## /summary).
 *
 * Called on one rank only, after the parallel writers closed the file: the
 * result depends on the file alone, never on the world size. Re-running it
 * replaces /summary. While /summary is being rewritten the root attribute
 * `complete` is 0 (a crash leaves a file that says it is incomplete); the
 * value it had before is restored at the end.
 */
#ifndef LS_REDUCE_H
#define LS_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/stats.h"

/* Reason codes of /summary: the LsStatReason values, then the reducer's own. */
#define LS_REDUCE_NO_FORMS ((int)LS_STAT_REASON_COUNT) /* the word has no single-token form in a model */
#define LS_REDUCE_REASON_COUNT (LS_REDUCE_NO_FORMS + 1)

/* Groups of samples, the `group` column of /summary/groups. */
enum {
    LS_GROUP_LEVEL1 = 0, /* .. LS_GROUP_LEVEL1 + 4 = level 5 */
    LS_GROUP_CORRECT = 5,
    LS_GROUP_INCORRECT,
    LS_GROUP_UNKNOWN,
    LS_GROUP_ALL,
    LS_GROUP_COUNT
};

/* Variables tested (the `variable` column): the unit of analysis. */
enum {
    LS_VAR_PROPENSITY = 0, /* per sample: mean over its answer positions of the word's propensity */
    LS_VAR_OCC_PROB = 1,   /* per occurrence: probability of the occurrence (aligned ones) */
    LS_VAR_COUNT
};

/* Resamples of the primary tests: cluster-bootstrap BCa intervals and random
 * sign flips (docs/statistics.md). */
#define LS_REDUCE_DEFAULT_RESAMPLES 10000
/* Primary results on fewer clusters are reported but never listed as
 * significant (the `eligible` column). */
#define LS_REDUCE_MIN_CLUSTERS 10

/* The primary tests (the `test` column of /summary/primary): one BH family. */
enum {
    LS_PRIMARY_PAIR_EFFECT = 0, /* mean over samples of d = log propensity_b - log propensity_a */
    LS_PRIMARY_LEVEL_TREND,     /* slope of d per difficulty level (adjusted for correctness, log length) */
    LS_PRIMARY_CORRECTNESS,     /* correct - incorrect difference of d (adjusted for level, log length) */
    LS_PRIMARY_COUNT
};
/* How a primary interval was made (the `ci_method` column). */
enum { LS_CI_NONE = 0, LS_CI_BCA = 1, LS_CI_WALD = 2 /* files before the regression bootstrap */ };

typedef struct {
    size_t bootstrap; /* resamples per descriptive CI of /summary/groups, model_pairs (0: none), when
                         bootstrap_given */
    size_t resamples; /* resamples of the primary tests (BCa, random sign flips); default 10000 */
    uint64_t seed; /* base seed; a CI's seed is seed + 16 * row + k (docs/hdf5-layout.md); when seed_given */
    int bootstrap_given;  /* 0: the file's root attribute `bootstrap` (what the run was configured with) */
    int seed_given;       /* 0: the file's root attribute `seed` */
    int allow_incomplete; /* reduce a file where some /models/<m>/done[i] are 0 (those samples are left out)
                           */
    int verbose;          /* progress lines through ls_log0 */
} LsReduceOptions;

/* Defaults: bootstrap and seed from the file, LS_REDUCE_DEFAULT_RESAMPLES, strict, quiet. */
LsReduceOptions ls_reduce_defaults(void);

/* Reads path, computes every table and (re)writes /summary. Errors name the
 * file and the dataset (another schema version, missing dataset, wrong shape
 * or type, a row that points outside the file, samples not done without
 * allow_incomplete). */
int ls_reduce_file(const char *path, const LsReduceOptions *opt, LsError *e);

/* The root attribute `complete` (0 when missing); checks the schema version. */
int ls_reduce_read_complete(const char *path, int *complete, LsError *e);

/* Names of the int8 codes stored in /summary (also stored in the file as
 * /summary/reason_names, group_names, variable_names, method_names). */
const char *ls_reduce_reason_name(int reason);
const char *ls_reduce_group_name(int group);
const char *ls_reduce_variable_name(int variable);

/* ---- the /summary tables as C structs (one row each) ---------------------- */

/* /summary/groups: per model x word x group. */
typedef struct {
    int16_t model, word;
    int8_t group;
    int64_t n_samples, answer_tokens, occurrences, occurrences_aligned;
    double per_1k, share_containing;
    double logprob_mean, logprob_median, logprob_sd, logprob_ci_lo, logprob_ci_hi;
    int8_t logprob_reason;
    double prob_mean, prob_median, prob_sd, prob_ci_lo, prob_ci_hi;
    int8_t prob_reason;
    double propensity_mean; /* pooled over every answer position of the group */
    int64_t propensity_n;   /* samples with at least one answer position */
    double propensity_sample_mean, propensity_sample_median, propensity_sample_sd, propensity_ci_lo,
        propensity_ci_hi;
    int8_t propensity_reason;
    double entropy_occ_mean, entropy_occ_ci_lo, entropy_occ_ci_hi;
    int8_t entropy_occ_reason;
    double entropy_all_mean; /* pooled over every answer position of the group */
} LsSumGroup;

/* /summary/correctness: correct vs incorrect, per model x word x variable. */
typedef struct {
    int16_t model, word;
    int8_t variable;
    int64_t n_correct, n_incorrect;
    double mean_correct, mean_incorrect;
    double welch_t, welch_df, welch_p, welch_q;
    int8_t welch_reason;
    double mwu_u, mwu_p, mwu_q;
    int8_t mwu_method, mwu_reason;
    double rank_biserial, cohen_d;
    int8_t cohen_d_reason;
} LsSumCorrect;

/* /summary/levels: across difficulty levels 1–5, per model x word x variable. */
typedef struct {
    int16_t model, word;
    int8_t variable;
    int64_t n;
    int64_t n_by_level[5];
    double mean_by_level[5];
    double spearman_rho, spearman_p, spearman_q;
    int8_t spearman_reason;
    double kruskal_h, kruskal_df, kruskal_p, kruskal_q;
    int8_t kruskal_reason;
    int8_t kruskal_method; /* asymptotic (chi-square), exact or permutation (a level of <= 20 values) */
} LsSumLevel;

/* /summary/model_pairs: paired comparison of two models on the same samples
 * (per-sample propensity), per model pair x word. */
typedef struct {
    int16_t model_a, model_b, word;
    int64_t n_pairs;
    double mean_a, mean_b;
    double diff_mean, diff_median, diff_sd, diff_ci_lo, diff_ci_hi;
    int8_t diff_reason;
    double wilcoxon_w, wilcoxon_p, wilcoxon_q;
    int8_t wilcoxon_method, wilcoxon_reason;
    double wilcoxon_r;
} LsSumPair;

/* /summary/primary: per model pair x word x primary test; every number on
 * the log scale (nats) with its exp() ratio beside it. */
typedef struct {
    int16_t model_a, model_b, word;
    int8_t test;             /* LS_PRIMARY_* */
    int64_t n;               /* samples */
    int64_t n_clusters;      /* clusters (problems, or samples) */
    double estimate, se;     /* mean d (pair effect) or the regression coefficient; cluster-robust se */
    double ci_lo, ci_hi;     /* 95% interval of estimate */
    int8_t ci_method;        /* LS_CI_*: BCa (cluster bootstrap), or none when it is degenerate */
    double wald_lo, wald_hi; /* estimate -+ 1.96 se (cluster-robust Wald interval) */
    double ratio, ratio_lo, ratio_hi; /* exp(estimate), exp(ci_lo), exp(ci_hi) */
    double geomean_a, geomean_b;      /* geometric mean propensity of a and b over the test's samples */
    double z, p_wald;                 /* estimate / se, normal two-sided p (statsmodels' cluster default) */
    double p;                         /* the primary p: sign-flip test (exact or random flips) */
    int8_t p_method;                  /* exact / permutation (method_names) */
    int64_t p_resamples;              /* sign vectors the p counts (2^G or B) */
    double q;                         /* BH over every primary p of the file */
    int8_t reason;
    int8_t eligible; /* reason ok and n_clusters >= min_clusters: may enter the significant list */
} LsSumPrimary;

/* /summary/length_policy: per group (the `group` codes of /summary/groups),
 * how many records were run, skipped (too long, bad), truncated and scored in
 * windows (on_long_record). */
typedef struct {
    int8_t group;
    int64_t kept, skipped;       /* skipped: -1 where the file does not say the skipped records' group */
    double rate;                 /* skipped / (kept + skipped); NaN when unknown */
    int64_t truncated, windowed; /* samples kept but cut or scored in windows; -1 when unknown */
    double truncated_rate, windowed_rate; /* of kept + skipped; NaN when unknown */
} LsSumLength;

/* Everything inspect needs, read back from a file. */
typedef struct {
    char **models, **words; /* from the root attributes */
    size_t n_models, n_words;
    LsSumGroup *groups;
    LsSumCorrect *correct;
    LsSumLevel *levels;
    LsSumPair *pairs;
    LsSumPrimary *primary;
    LsSumLength *length;
    size_t n_groups, n_correct, n_levels, n_pairs, n_primary, n_length;
    int64_t length_warning; /* 1 when skip rates differ across levels or correctness (docs/statistics.md) */
    int64_t bootstrap, seed, n_samples, samples_left_out, resamples, min_clusters;
} LsSummary;

/* The column list of each table (the writer, the reader and inspect --json
 * share it): name, offset in the row struct, kind. */
/* LS_F_S32: a NUL-padded UTF-8 string of 32 bytes (char[32]). */
typedef enum { LS_F_I8, LS_F_I16, LS_F_I64, LS_F_F64, LS_F_I64x5, LS_F_F64x5, LS_F_S32 } LsFieldKind;

typedef struct {
    const char *name;
    size_t offset;
    LsFieldKind kind;
} LsField;

typedef struct {
    const char *name; /* dataset name under /summary */
    const LsField *fields;
    size_t n_fields;
    size_t row_size;
} LsTable;

extern const LsTable LS_TABLE_GROUPS, LS_TABLE_CORRECT, LS_TABLE_LEVELS, LS_TABLE_PAIRS, LS_TABLE_PRIMARY,
    LS_TABLE_LENGTH;

/* Name of a primary test code ("pair_effect", "level_trend", "correctness"). */
const char *ls_reduce_primary_name(int test);

/* Name of a *_method code ("none", "asymptotic", "exact", "permutation"). */
const char *ls_reduce_method_name(int method);

/* Reads /summary (written by ls_reduce_file) and the root attributes. */
int ls_summary_read(const char *path, LsSummary *s, LsError *e);
void ls_summary_free(LsSummary *s);

#endif
