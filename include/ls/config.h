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
 *   targets: [wait, aha, check, think, hmm, let, actually, however, so, therefore]
 *   surface_forms:                     # the cross product case × leading_space
 *     case: [lower, capitalized, upper]
 *     leading_space: [true, false]
 *   top_k: 5                           # 0..64
 *   batch_tokens: 8192                 # >= 1, token budget of one batch
 *   max_tokens: 4096                   # >= 1, longest prompt+answer
 *   on_long_record: skip               # skip | truncate
 *   on_bad_record: fail                # fail | skip
 *   device: auto                       # auto | cpu | cuda
 *   tp: 1                              # tensor-parallel size, >= 1
 *   seed: 0
 *   bootstrap: 1000                    # bootstrap resamples, 0 = none
 *
 * Relative paths (data, output, models[].path) are resolved against the
 * folder of the config file; paths given on the command line are used as
 * given (relative to the working directory). Errors name file:line:column.
 */
#ifndef LS_CONFIG_H
#define LS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ls/backend.h"
#include "ls/common.h"

typedef enum { LS_DEVICE_AUTO = 0, LS_DEVICE_CPU, LS_DEVICE_CUDA } LsDevice;
typedef enum { LS_LONG_SKIP = 0, LS_LONG_TRUNCATE } LsOnLong;
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

typedef struct {
    char *source;    /* the config file's path as given (or the name given to ls_runcfg_parse) */
    char *yaml_text; /* the raw YAML text, NUL-terminated; stored in the output file */
    size_t yaml_len;

    char *data;          /* JSONL path, resolved */
    char *output;        /* HDF5 path, resolved */
    char *template_text; /* prompt template: [prefix{query}...]{answer} */
    LsModelSpec *models;
    size_t n_models;
    char **targets;
    size_t n_targets;
    LsSurfaceForm forms[LS_MAX_FORMS]; /* in canonical order: case, then space before no space */
    size_t n_forms;

    int top_k;
    size_t batch_tokens;
    size_t max_tokens;
    LsOnLong on_long_record;
    LsOnBad on_bad_record;
    LsDevice device;
    LsPrecision precision;
    int tp;
    uint64_t seed;
    int bootstrap;

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

/* Applies one command-line override. key is the option name with or without
 * the leading "--", '-' and '_' interchangeable: data, out|output, template,
 * models (comma list selecting a subset by name, in the order given), targets
 * (comma list), limit, resume, quiet, device, tp, top-k, batch-tokens,
 * max-tokens, on-long-record, on-bad-record, seed, bootstrap. value is NULL
 * for the flags resume and quiet (or "true"/"false"). */
int ls_runcfg_override(LsRunConfig *cfg, const char *key, const char *value, LsError *e);

/* Final check after the overrides: data, output and at least one model set. */
int ls_runcfg_validate(const LsRunConfig *cfg, LsError *e);

/* Whether the option key takes no value (resume, quiet); -1 if unknown. */
int ls_runcfg_option_is_flag(const char *key);

/* Option table for usage texts: name (CLI spelling) and one-line help. */
typedef struct {
    const char *name;
    const char *help;
} LsRunCfgOption;
const LsRunCfgOption *ls_runcfg_options(size_t *n);

/* The settings that decide the file's content (not where it goes, nor how
 * many threads), as JSON (heap): stored in the file as
 * run_config_effective and compared by --resume. */
char *ls_runcfg_effective_json(const LsRunConfig *cfg);

/* Names for messages and the output file. */
const char *ls_device_name(LsDevice d);
const char *ls_case_name(LsCase c);

#endif
