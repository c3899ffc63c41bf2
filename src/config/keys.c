/* keys.c — the run config's keys, once (ls/config.h LsRunCfgKey): the table,
 * the text → value conversion every source of a value goes through (YAML,
 * command line, defaults), and the effective config (JSON) stored in the
 * file and compared by --resume. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "ls/data.h"

static const char *const DEVICES[] = {"auto", "cpu", "cuda", NULL};        /* LsDevice */
static const char *const PRECISIONS[] = {"fp32", "bf16", NULL};            /* LsPrecision */
static const char *const ON_LONG[] = {"skip", "truncate", "window", NULL}; /* LsOnLong */
static const char *const ON_BAD[] = {"fail", "skip", NULL};                /* LsOnBad */
static const char *const CASES[] = {"lower", "capitalized", "upper"};      /* LsCase */

#define F(field) offsetof(LsRunConfig, field)

static const LsRunCfgKey KEYS[] = {
    /* key, flag, type, lo, hi, choices, default, help, identity, field */
    {"data", "data", LS_CFG_PATH, 0, 0, NULL, NULL, "JSONL records", true, F(data)},
    {"output", "out", LS_CFG_PATH, 0, 0, NULL, NULL, "HDF5 output file", false, F(output)},
    {"template", "template", LS_CFG_TEMPLATE, 0, 0, NULL, "Query: {query}\nAnswer: {answer}",
     "prompt template with {query} and a final {answer}", true, F(template_text)},
    {"models", "models", LS_CFG_MODELS, 0, 0, NULL, NULL,
     "comma-separated model names: run only these, in this order", true, F(models)},
    {"pairs", "pairs", LS_CFG_PAIRS, 0, 0, NULL, NULL,
     "model pairs compared per position, a:b,c:d or none (default: consecutive models that share a "
     "vocabulary)",
     true, F(pairs)},
    {"targets", "targets", LS_CFG_TARGETS, 0, 0, NULL,
     "wait,aha,check,think,hmm,let,actually,however,so,therefore", "comma-separated target words", true,
     F(targets)},
    {"surface_forms", NULL, LS_CFG_FORMS, 0, 0, NULL, NULL,
     "case: [lower, capitalized, upper] x leading_space: [true, false] (default: all six)", true, F(forms)},
    {NULL, "limit", LS_CFG_SIZE, 0, INT64_MAX, NULL, "0", "use only the first N valid records (0 = all)",
     true, F(limit)},
    {NULL, "resume", LS_CFG_FLAG, 0, 0, NULL, "false", "continue an interrupted run from its output file",
     false, F(resume)},
    {NULL, "quiet", LS_CFG_FLAG, 0, 0, NULL, "false", "log only warnings and errors", false, F(quiet)},
    {"device", "device", LS_CFG_ENUM, 0, 0, DEVICES, "auto", "where to compute", true, F(device)},
    {"precision", "precision", LS_CFG_ENUM, 0, 0, PRECISIONS, "fp32",
     "compute precision (recorded per model; --resume must match)", true, F(precision)},
    {"tp", "tp", LS_CFG_INT, 1, 65536, NULL, "1", "tensor-parallel size (ranks per model replica)", true,
     F(tp)},
    {"top_k", "top-k", LS_CFG_INT, 0, LS_MAX_TOP_K, NULL, "5", "top-k tokens stored per position", true,
     F(top_k)},
    {"batch_tokens", "batch-tokens", LS_CFG_SIZE, 1, INT32_MAX, NULL, "8192", "token budget of one batch",
     true, F(batch_tokens)},
    {"max_tokens", "max-tokens", LS_CFG_SIZE, 1, INT32_MAX, NULL, "4096", "longest prompt+answer in tokens",
     true, F(max_tokens)},
    {"on_long_record", "on-long-record", LS_CFG_ENUM, 0, 0, ON_LONG, "window",
     "records longer than max-tokens or a model's context: skip, truncate, or score in overlapping windows",
     true, F(on_long_record)},
    {"min_context", "min-context", LS_CFG_SIZE, 1, INT32_MAX, NULL, "512",
     "on-long-record window: least context of every windowed position (below the window)", true,
     F(min_context)},
    {"on_bad_record", "on-bad-record", LS_CFG_ENUM, 0, 0, ON_BAD, "fail", "malformed JSONL records", true,
     F(on_bad_record)},
    {"seed", "seed", LS_CFG_U64, 0, 0, NULL, "0",
     "base seed of the bootstrap (stored in the file for reduce)", true, F(seed)},
    {"bootstrap", "bootstrap", LS_CFG_INT, 0, 100000000, NULL, "10000",
     "bootstrap resamples for confidence intervals (0 = none)", true, F(bootstrap)},
    {"lens", "lens", LS_CFG_FLAG, 0, 0, NULL, "true",
     "the logit lens at every aligned occurrence (lens_logprob, lens_entropy per depth)", true, F(lens)},
};

const LsRunCfgKey *ls_runcfg_keys(size_t *n) {
    *n = LS_ARRAY_LEN(KEYS);
    return KEYS;
}

const LsRunCfgKey *cfg_key_by_yaml(const char *name, size_t len) {
    for (size_t i = 0; i < LS_ARRAY_LEN(KEYS); i++)
        if (KEYS[i].key && strlen(KEYS[i].key) == len && !memcmp(KEYS[i].key, name, len)) return &KEYS[i];
    return NULL;
}

/* '-' and '_' are the same in option names. */
static int opt_eq(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))) return 0;
    return *a == *b;
}

const LsRunCfgKey *cfg_key_by_flag(const char *opt) {
    while (*opt == '-')
        opt++;
    for (size_t i = 0; i < LS_ARRAY_LEN(KEYS); i++)
        if ((KEYS[i].flag && opt_eq(KEYS[i].flag, opt)) || (KEYS[i].key && opt_eq(KEYS[i].key, opt)))
            return &KEYS[i];
    return NULL;
}

#define FIELD(cfg, k, T) ((T *)((char *)(cfg) + (k)->offset))

/* Strict decimal integer: optional '-', digits, nothing else. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    const char *p = s + (*s == '-');
    if (!*p) return -1;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!*s) return -1;
    for (const char *q = s; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

int cfg_parse_bool(const char *s, bool *out) {
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
        *out = true;
        return 0;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
        *out = false;
        return 0;
    }
    return -1;
}

void ls_runcfg_choices(const LsRunCfgKey *k, char *buf, size_t cap) {
    size_t m = 0;
    buf[0] = '\0';
    for (size_t j = 0; k->choices && k->choices[j] && m < cap; j++)
        m += (size_t)snprintf(buf + m, cap - m, "%s%s", j ? ", " : "", k->choices[j]);
}

int cfg_set_scalar(const LsRunCfgKey *k, LsRunConfig *cfg, const char *text, char *msg, size_t cap) {
    int64_t v;
    switch (k->type) {
    case LS_CFG_PATH:
    case LS_CFG_TEMPLATE: {
        LsError te;
        if (k->type == LS_CFG_PATH && !*text) return snprintf(msg, cap, "empty path"), LS_ERR;
        if (k->type == LS_CFG_TEMPLATE && ls_template_check(text, &te))
            return snprintf(msg, cap, "%s", te.msg), LS_ERR;
        char **dst = FIELD(cfg, k, char *);
        free(*dst);
        *dst = ls_strdup(text);
        return LS_OK;
    }
    case LS_CFG_INT:
    case LS_CFG_SIZE:
        if (parse_i64(text, k->lo, k->hi, &v))
            return snprintf(msg, cap, "expected an integer %lld..%lld, got '%.64s'", (long long)k->lo,
                            (long long)k->hi, text),
                   LS_ERR;
        if (k->type == LS_CFG_INT)
            *FIELD(cfg, k, int) = (int)v;
        else
            *FIELD(cfg, k, size_t) = (size_t)v;
        return LS_OK;
    case LS_CFG_U64:
        if (parse_u64(text, FIELD(cfg, k, uint64_t)))
            return snprintf(msg, cap, "expected an integer 0..%llu, got '%.64s'",
                            (unsigned long long)UINT64_MAX, text),
                   LS_ERR;
        return LS_OK;
    case LS_CFG_ENUM: {
        for (int j = 0; k->choices[j]; j++)
            if (!strcmp(text, k->choices[j])) {
                *FIELD(cfg, k, int) = j;
                return LS_OK;
            }
        char list[256];
        ls_runcfg_choices(k, list, sizeof list);
        return snprintf(msg, cap, "'%.64s' is not one of %s", text, list), LS_ERR;
    }
    case LS_CFG_FLAG:
        if (cfg_parse_bool(text, FIELD(cfg, k, bool)))
            return snprintf(msg, cap, "expected true or false, got '%.64s'", text), LS_ERR;
        return LS_OK;
    default:
        return snprintf(msg, cap, "not a single value"), LS_ERR;
    }
}

void cfg_set_forms(LsRunConfig *cfg, unsigned case_mask, unsigned space_mask) {
    cfg->n_forms = 0;
    for (int c = 0; c < 3; c++)
        for (int sp = 1; sp >= 0; sp--)
            if ((case_mask >> c & 1) && (space_mask >> sp & 1))
                cfg->forms[cfg->n_forms++] = (LsSurfaceForm){(LsCase)c, sp != 0};
}

void cfg_set_defaults(LsRunConfig *cfg) {
    char msg[256];
    for (size_t i = 0; i < LS_ARRAY_LEN(KEYS); i++) {
        const LsRunCfgKey *k = &KEYS[i];
        if (k->type == LS_CFG_TARGETS)
            cfg->targets = cfg_split_commas(k->def, &cfg->n_targets);
        else if (k->type == LS_CFG_FORMS)
            cfg_set_forms(cfg, 7, 3);
        else if (k->def && k->type != LS_CFG_MODELS)
            (void)cfg_set_scalar(k, cfg, k->def, msg, sizeof msg); /* the table's defaults are valid */
    }
}

void cfg_free_strings(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

char **cfg_split_commas(const char *s, size_t *n) {
    size_t cnt = 1;
    for (const char *p = s; *p; p++)
        cnt += *p == ',';
    char **v = ls_calloc(cnt, sizeof *v);
    for (size_t i = 0; i < cnt; i++) {
        size_t k = strcspn(s, ",");
        v[i] = ls_malloc(k + 1);
        memcpy(v[i], s, k);
        v[i][k] = '\0';
        s += k + (s[k] == ',');
    }
    *n = cnt;
    return v;
}

int cfg_model_name_ok(const char *s) {
    if (!*s) return 0;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

/* A target word: non-empty, no ASCII whitespace or control characters. */
static int target_ok(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f) return 0;
    return 1;
}

int cfg_targets_check(char *const *t, size_t n, char *msg, size_t cap, size_t *bad) {
    *bad = 0;
    if (n == 0) return snprintf(msg, cap, "the list of target words is empty"), LS_ERR;
    for (size_t i = 0; i < n; i++) {
        *bad = i;
        if (!target_ok(t[i]))
            return snprintf(msg, cap,
                            "target word '%.64s' must be non-empty without spaces or control characters",
                            t[i]),
                   LS_ERR;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t[i], t[j]))
                return snprintf(msg, cap, "target word '%.64s' is listed twice", t[i]), LS_ERR;
    }
    return LS_OK;
}

/* ---- the effective config ---------------------------------------------------- */

static json_t *key_json(const LsRunCfgKey *k, const LsRunConfig *c) {
    json_t *a;
    switch (k->type) {
    case LS_CFG_PATH:
    case LS_CFG_TEMPLATE: {
        const char *v = *FIELD(c, k, char *const);
        return v ? json_string(v) : json_null();
    }
    case LS_CFG_INT:
        return json_integer(*FIELD(c, k, const int));
    case LS_CFG_SIZE:
        return json_integer((json_int_t)*FIELD(c, k, const size_t));
    case LS_CFG_U64:
        return json_integer((json_int_t)*FIELD(c, k, const uint64_t));
    case LS_CFG_ENUM:
        return json_string(k->choices[*FIELD(c, k, const int)]);
    case LS_CFG_FLAG:
        return json_boolean(*FIELD(c, k, const bool));
    case LS_CFG_MODELS:
        a = json_array();
        for (size_t i = 0; i < c->n_models; i++)
            json_array_append_new(
                a, json_pack("{s:s, s:s}", "name", c->models[i].name, "path", c->models[i].path));
        return a;
    case LS_CFG_PAIRS:
        if (!c->pairs_set) return json_string("consecutive");
        a = json_array();
        for (size_t i = 0; i < c->n_pairs; i++)
            json_array_append_new(a, json_pack("[s, s]", c->pairs[i].a, c->pairs[i].b));
        return a;
    case LS_CFG_TARGETS:
        a = json_array();
        for (size_t i = 0; i < c->n_targets; i++)
            json_array_append_new(a, json_string(c->targets[i]));
        return a;
    case LS_CFG_FORMS:
        a = json_array();
        for (size_t i = 0; i < c->n_forms; i++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s%s", c->forms[i].leading_space ? "space+" : "",
                     ls_case_name(c->forms[i].letter_case));
            json_array_append_new(a, json_string(buf));
        }
        return a;
    }
    return json_null();
}

char *ls_runcfg_effective_json(const LsRunConfig *c) {
    json_t *o = json_object();
    for (size_t i = 0; i < LS_ARRAY_LEN(KEYS); i++)
        if (KEYS[i].identity)
            json_object_set_new(o, KEYS[i].key ? KEYS[i].key : KEYS[i].flag, key_json(&KEYS[i], c));
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

const char *ls_device_name(LsDevice d) {
    return DEVICES[d >= LS_DEVICE_AUTO && d <= LS_DEVICE_CUDA ? d : 0];
}

const char *ls_case_name(LsCase c) {
    return CASES[c >= LS_CASE_LOWER && c <= LS_CASE_UPPER ? c : 0];
}
