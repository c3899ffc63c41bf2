/* ls/config.h — the run config: a YAML file parsed into LsRunConfig, with
 * command-line overrides.
 *
 * YAML keys (all optional except `models`; unknown keys are an error):
 *
 *   data: demo.jsonl                   # JSONL records (see ls/data.h)
 *   output: ../results/demo.h5         # HDF5 output file
 *   template: "Query: {query}\nAnswer: {answer}"
 *   models:                            # non-empty; names unique, [A-Za-z0-9_.-]+
 *     - {name: baseline, path: ../build/demo-models/baseline}
 *   pairs: [[base, sft], [sft, rl]]    # model pairs compared position by position (/pairs); none or []
 *                                      # for no pairs; default: consecutive models sharing a vocabulary
 *   targets: [wait, aha, check, think, hmm, let, actually, however, so, therefore]
 *   surface_forms:                     # the cross product case × leading_space
 *     case: [lower, capitalized, upper]
 *     leading_space: [true, false]
 *   top_k: 5                           # 0..64
 *   batch_tokens: 8192                 # >= 1, token budget of one batch
 *   max_tokens: 4096                   # >= 1, longest prompt+answer
 *   on_long_record: window             # skip | truncate | window (records longer than max_tokens or
 *                                      # a model's context)
 *   min_context: 512                   # window: least context of every windowed position
 *   on_bad_record: fail                # fail | skip
 *   device: auto                       # auto | cpu | cuda
 *   precision: fp32                    # fp32 | bf16 (recorded per model; --resume must match)
 *   tp: 1                              # tensor-parallel size, >= 1
 *   seed: 0
 *   bootstrap: 10000                   # bootstrap resamples, 0 = none
 *
 * Relative paths (data, output, models[].path) are resolved against the
 * folder of the config file; paths given on the command line are used as
 * given (relative to the working directory). Errors name file:line:column.
 * The keys, their defaults and ranges come from one table (ls_runcfg_keys).
 */
#ifndef LS_CONFIG_H
#define LS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls/backend.h"
#include "ls/common.h"

typedef enum { LS_DEVICE_AUTO = 0, LS_DEVICE_CPU, LS_DEVICE_CUDA } LsDevice;
typedef enum { LS_LONG_SKIP = 0, LS_LONG_TRUNCATE, LS_LONG_WINDOW } LsOnLong;
typedef enum { LS_BAD_FAIL = 0, LS_BAD_SKIP } LsOnBad;
typedef enum { LS_CASE_LOWER = 0, LS_CASE_CAPITALIZED, LS_CASE_UPPER } LsCase;

/* One surface form of a target word: `wait`, ` wait`, `Wait`, ` WAIT`, ... */
typedef struct {
    LsCase letter_case;
    bool leading_space;
} LsSurfaceForm;

#define LS_MAX_FORMS 6
#define LS_MAX_TOP_K 64

typedef struct {
    char *name; /* [A-Za-z0-9_.-]+, unique within the run */
    char *path; /* checkpoint folder (config.json, *.safetensors, tokenizer.json) */
} LsModelSpec;

/* One configured pair of models, compared a -> b (/pairs/<a>__<b>). */
typedef struct {
    char *a, *b;
    size_t line; /* 1-based line in the config file; 0 when given on the command line */
} LsPairSpec;

typedef struct {
    char *source;    /* the config file's path as given (or the name given to ls_runcfg_parse) */
    char *yaml_text; /* the raw YAML text, NUL-terminated; stored in the output file */
    size_t yaml_len;

    char *data;          /* JSONL path, resolved */
    char *output;        /* HDF5 path, resolved */
    char *template_text; /* prompt template: [prefix{query}...]{answer} */
    LsModelSpec *models;
    size_t n_models;
    LsPairSpec *pairs; /* pairs_set: these (n_pairs 0 = none); else consecutive models (ls/divergence.h) */
    size_t n_pairs;
    bool pairs_set;
    char **targets;
    size_t n_targets;
    LsSurfaceForm forms[LS_MAX_FORMS]; /* in canonical order: case, then space before no space */
    size_t n_forms;

    int top_k;
    size_t batch_tokens;
    size_t max_tokens;
    LsOnLong on_long_record;
    size_t min_context; /* window: least context of every windowed position */
    LsOnBad on_bad_record;
    LsDevice device;
    LsPrecision precision;
    int tp;
    uint64_t seed;
    int bootstrap;
    bool lens; /* the logit lens at the occurrences (/models/<m>/lens_logprob, lens_entropy) */

    /* Command line only. */
    size_t limit; /* use the first `limit` valid records; 0 = all */
    bool resume;
    bool quiet;
} LsRunConfig;

/* Loads and validates the YAML file at path. On error cfg is left empty (safe
 * to ls_runcfg_free) and e names path:line:column. */
int ls_runcfg_load(LsRunConfig *cfg, const char *path, LsError *e);

/* Same from memory: `name` is used in messages, relative paths are resolved
 * against base_dir (NULL or "" = leave them as written). */
int ls_runcfg_parse(LsRunConfig *cfg, const char *text, size_t len, const char *name, const char *base_dir,
                    LsError *e);

void ls_runcfg_free(LsRunConfig *cfg);

/* ---- the key table ------------------------------------------------------------
 * Every key of the run config, once: its YAML key, command-line flag, type,
 * range or choices, default, help and whether it is part of the resume
 * identity. Parsing, command-line overrides, `run --help`, the stored
 * effective config and the --resume comparison are all derived from it. */
typedef enum {
    LS_CFG_PATH,     /* char *: a file path (YAML: resolved against the config's folder) */
    LS_CFG_TEMPLATE, /* char *: the prompt template (ls_template_check) */
    LS_CFG_INT,      /* int in [lo, hi] */
    LS_CFG_SIZE,     /* size_t in [lo, hi] */
    LS_CFG_U64,      /* uint64_t, any */
    LS_CFG_ENUM,     /* int: index into choices */
    LS_CFG_FLAG,     /* bool; on the command line without a value: --KEY true, --no-KEY false */
    LS_CFG_MODELS,   /* the models list (command line: a subset by name) */
    LS_CFG_TARGETS,  /* list of target words (command line: comma-separated) */
    LS_CFG_FORMS,    /* surface_forms: {case: [...], leading_space: [...]} */
    LS_CFG_PAIRS,    /* pairs: [[a, b], ...] or none (command line: a:b,c:d or none) */
} LsRunCfgType;

typedef struct {
    const char *key;  /* YAML key, also the name in run_config_effective; NULL: command line only */
    const char *flag; /* command-line option without "--"; NULL: YAML only */
    LsRunCfgType type;
    int64_t lo, hi;             /* LS_CFG_INT / LS_CFG_SIZE range */
    const char *const *choices; /* LS_CFG_ENUM names (NULL-terminated), index = value */
    const char *def;            /* default as the text a user would write; NULL: none */
    const char *help;           /* one line for `run --help` */
    bool identity;              /* part of the resume identity (a --resume must match it) */
    size_t offset;              /* the field of LsRunConfig */
} LsRunCfgKey;

/* The table, in `--help` order. */
const LsRunCfgKey *ls_runcfg_keys(size_t *n);
/* "a, b, c": an enum key's choices. */
void ls_runcfg_choices(const LsRunCfgKey *k, char *buf, size_t cap);

/* Applies one command-line override. key is the option name with or without
 * the leading "--", '-' and '_' interchangeable (a key's flag or its YAML
 * name). models selects a subset by name, in the order given; targets is a
 * comma list; value is NULL for the flags resume and quiet (or
 * "true"/"false"). */
int ls_runcfg_override(LsRunConfig *cfg, const char *key, const char *value, LsError *e);

/* Final check after the overrides: data, output and at least one model set. */
int ls_runcfg_validate(const LsRunConfig *cfg, LsError *e);

/* Whether the option key takes no value (resume, quiet); -1 if unknown. */
int ls_runcfg_option_is_flag(const char *key);

/* The settings that decide the file's content (not where it goes, nor how
 * many threads), as JSON (heap): stored in the file as
 * run_config_effective and compared by --resume. */
char *ls_runcfg_effective_json(const LsRunConfig *cfg);

/* Names for messages and the output file. */
const char *ls_device_name(LsDevice d);
const char *ls_case_name(LsCase c);

#endif
