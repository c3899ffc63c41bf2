/* config.c — the YAML run config → LsRunConfig (DESIGN §4 src/config/).
 *
 * Two passes over the text, both driven by one libcyaml schema:
 *
 * 1. A libyaml event walk (precheck) that follows the schema and rejects
 *    unknown keys, duplicate keys, lists where a value is expected (and the
 *    reverse) and NUL bytes in scalars, each with the exact line and column
 *    of the offending key or value; it records where every key and list
 *    entry sits (the location index) so that the checks of pass 2 can name
 *    lines too. libcyaml's own messages for these cases point at the line of
 *    the previous value, not the key, hence this pass.
 * 2. libcyaml loads the document into a raw struct (strings, lists,
 *    mappings, strict enums). Its error log (with line and column) is
 *    captured into the LsError, never printed. Integers and booleans are
 *    loaded as strings and converted here, because libcyaml 1.3.1 accepts
 *    "3.5" and "3x" as the integer 3 and any word ("maybe") as true.
 *
 * The raw struct is then validated, defaulted and copied into LsRunConfig,
 * which owns plain heap memory (free with ls_runcfg_free).
 */
#define _POSIX_C_SOURCE 200809L
#include "ls/config.h"

#include <cyaml/cyaml.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ls/data.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a run config is a few hundred bytes */
#define DEFAULT_TEMPLATE "Query: {query}\nAnswer: {answer}"

static const char *const DEFAULT_TARGETS[] = {"wait", "aha",      "check",   "think", "hmm",
                                              "let",  "actually", "however", "so",    "therefore"};

/* ---- raw struct and schema --------------------------------------------------- */

typedef struct {
    char *name;
    char *path;
} RawModel;

typedef struct {
    char **cases; /* "lower" | "capitalized" | "upper" */
    unsigned cases_count;
    char **spaces; /* "true" | "false" */
    unsigned spaces_count;
} RawForms;

typedef struct {
    char *data;
    char *output;
    char *tmpl;
    RawModel *models;
    unsigned models_count;
    char **targets;
    unsigned targets_count;
    RawForms *forms;
    char *top_k, *batch_tokens, *max_tokens, *tp, *seed, *bootstrap;
    int on_long_record, on_bad_record, device;
} RawConfig;

static const cyaml_strval_t LONG_STRINGS[] = {{"skip", LS_LONG_SKIP}, {"truncate", LS_LONG_TRUNCATE}};
static const cyaml_strval_t BAD_STRINGS[] = {{"fail", LS_BAD_FAIL}, {"skip", LS_BAD_SKIP}};
static const cyaml_strval_t DEVICE_STRINGS[] = {
    {"auto", LS_DEVICE_AUTO}, {"cpu", LS_DEVICE_CPU}, {"cuda", LS_DEVICE_CUDA}};

#define STR_FIELD(key, member)                                                                               \
    CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, RawConfig, member, 0,              \
                           CYAML_UNLIMITED)

static const cyaml_schema_value_t STRING_ENTRY = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t MODEL_FIELDS[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, RawModel, name, 0, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("path", CYAML_FLAG_POINTER, RawModel, path, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t MODEL_ENTRY = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, RawModel, MODEL_FIELDS),
};

static const cyaml_schema_field_t FORMS_FIELDS[] = {
    CYAML_FIELD_SEQUENCE_COUNT("case", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, RawForms, cases, cases_count,
                               &STRING_ENTRY, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE_COUNT("leading_space", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, RawForms, spaces,
                               spaces_count, &STRING_ENTRY, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t CONFIG_FIELDS[] = {
    STR_FIELD("data", data),
    STR_FIELD("output", output),
    STR_FIELD("template", tmpl),
    CYAML_FIELD_SEQUENCE("models", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, RawConfig, models, &MODEL_ENTRY,
                         0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE("targets", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, RawConfig, targets,
                         &STRING_ENTRY, 0, CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING_PTR("surface_forms", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, RawConfig, forms,
                            FORMS_FIELDS),
    STR_FIELD("top_k", top_k),
    STR_FIELD("batch_tokens", batch_tokens),
    STR_FIELD("max_tokens", max_tokens),
    CYAML_FIELD_ENUM("on_long_record", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT, RawConfig, on_long_record,
                     LONG_STRINGS, CYAML_ARRAY_LEN(LONG_STRINGS)),
    CYAML_FIELD_ENUM("on_bad_record", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT, RawConfig, on_bad_record,
                     BAD_STRINGS, CYAML_ARRAY_LEN(BAD_STRINGS)),
    CYAML_FIELD_ENUM("device", CYAML_FLAG_OPTIONAL | CYAML_FLAG_STRICT, RawConfig, device, DEVICE_STRINGS,
                     CYAML_ARRAY_LEN(DEVICE_STRINGS)),
    STR_FIELD("tp", tp),
    STR_FIELD("seed", seed),
    STR_FIELD("bootstrap", bootstrap),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t CONFIG_SCHEMA = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, RawConfig, CONFIG_FIELDS),
};

/* ---- location index ---------------------------------------------------------- */

typedef struct {
    char *path; /* "top_k", "models[1].name", "surface_forms.case[0]" */
    size_t line, col;
} Loc;

typedef struct {
    const char *name; /* for messages */
    LsError *e;
    Loc *locs;
    size_t n_locs, cap_locs;
} Ctx;

static void loc_add(Ctx *c, const char *path, const yaml_mark_t *m) {
    if (c->n_locs == c->cap_locs) {
        c->cap_locs = c->cap_locs ? 2 * c->cap_locs : 32;
        c->locs = ls_realloc(c->locs, c->cap_locs * sizeof *c->locs);
    }
    c->locs[c->n_locs++] = (Loc){ls_strdup(path), m->line + 1, m->column + 1};
}

static const Loc *loc_find(const Ctx *c, const char *path) {
    for (size_t i = 0; i < c->n_locs; i++)
        if (!strcmp(c->locs[i].path, path)) return &c->locs[i];
    return NULL;
}

static void ctx_free(Ctx *c) {
    for (size_t i = 0; i < c->n_locs; i++)
        free(c->locs[i].path);
    free(c->locs);
    c->locs = NULL;
    c->n_locs = c->cap_locs = 0;
}

/* "name:line:col: path: message", the location taken from the index. */
__attribute__((format(printf, 3, 4))) static int fail_at(Ctx *c, const char *path, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const Loc *l = loc_find(c, path);
    if (l) return ls_fail(c->e, "%s:%zu:%zu: %s: %s", c->name, l->line, l->col, path, msg);
    return ls_fail(c->e, "%s: %s: %s", c->name, path, msg);
}

/* ---- pass 1: libyaml walk --------------------------------------------------- */

typedef struct {
    Ctx *c;
    yaml_parser_t parser;
} Pre;

static const char *event_kind(const yaml_event_t *ev) {
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return "a single value";
    case YAML_SEQUENCE_START_EVENT:
        return "a list";
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_ALIAS_EVENT:
        return "an alias";
    default:
        return "nothing";
    }
}

static int pre_next(Pre *p, yaml_event_t *ev) {
    if (yaml_parser_parse(&p->parser, ev)) return LS_OK;
    const yaml_parser_t *y = &p->parser;
    const char *problem = y->problem ? y->problem : "syntax error";
    if (y->context)
        return ls_fail(p->c->e, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)", p->c->name,
                       y->problem_mark.line + 1, y->problem_mark.column + 1, problem, y->context,
                       y->context_mark.line + 1);
    return ls_fail(p->c->e, "%s:%zu:%zu: YAML syntax error: %s", p->c->name, y->problem_mark.line + 1,
                   y->problem_mark.column + 1, problem);
}

static int pre_node(Pre *p, const cyaml_schema_value_t *sv, yaml_event_t *ev, const char *path);

/* Lists the keys a mapping accepts into buf, for "unknown key" messages. */
static void known_keys(const cyaml_schema_field_t *f, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (; f->key; f++) {
        int k = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", f->key);
        if (k < 0 || (size_t)k >= cap - n) break;
        n += (size_t)k;
    }
}

static int pre_mapping(Pre *p, const cyaml_schema_field_t *fields, const char *path) {
    size_t first_line[64] = {0}; /* where each field was first seen (0 = not yet) */
    for (;;) {
        yaml_event_t key;
        if (pre_next(p, &key)) return LS_ERR;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            return LS_OK;
        }
        if (key.type != YAML_SCALAR_EVENT) {
            int rc = ls_fail(p->c->e, "%s:%zu:%zu: %s%skeys must be plain words, not %s", p->c->name,
                             key.start_mark.line + 1, key.start_mark.column + 1, path, *path ? ": " : "",
                             event_kind(&key));
            yaml_event_delete(&key);
            return rc;
        }
        const char *k = (const char *)key.data.scalar.value;
        size_t idx = 0;
        while (fields[idx].key &&
               (strlen(fields[idx].key) != key.data.scalar.length || strcmp(fields[idx].key, k)))
            idx++;
        if (!fields[idx].key) {
            char known[512];
            known_keys(fields, known, sizeof known);
            int rc = ls_fail(p->c->e, "%s:%zu:%zu: unknown key '%.64s'%s%s (known keys: %s)", p->c->name,
                             key.start_mark.line + 1, key.start_mark.column + 1, k, *path ? " in " : "", path,
                             known);
            yaml_event_delete(&key);
            return rc;
        }
        if (idx < 64 && first_line[idx]) {
            int rc =
                ls_fail(p->c->e, "%s:%zu:%zu: duplicate key '%s' (first given at line %zu)", p->c->name,
                        key.start_mark.line + 1, key.start_mark.column + 1, fields[idx].key, first_line[idx]);
            yaml_event_delete(&key);
            return rc;
        }
        if (idx < 64) first_line[idx] = key.start_mark.line + 1;
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", fields[idx].key);
        loc_add(p->c, sub, &key.start_mark);
        yaml_event_delete(&key);

        yaml_event_t val;
        if (pre_next(p, &val)) return LS_ERR;
        if (pre_node(p, &fields[idx].value, &val, sub)) return LS_ERR;
    }
}

static int pre_sequence(Pre *p, const cyaml_schema_value_t *entry, const char *path) {
    for (size_t i = 0;; i++) {
        yaml_event_t ev;
        if (pre_next(p, &ev)) return LS_ERR;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return LS_OK;
        }
        char sub[256];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        loc_add(p->c, sub, &ev.start_mark);
        if (pre_node(p, entry, &ev, sub)) return LS_ERR;
    }
}

/* Checks one node whose first event is *ev (consumed here) against sv. */
static int pre_node(Pre *p, const cyaml_schema_value_t *sv, yaml_event_t *ev, const char *path) {
    const char *want = NULL;
    yaml_event_type_t need = YAML_SCALAR_EVENT;
    if (sv->type == CYAML_MAPPING) {
        need = YAML_MAPPING_START_EVENT;
        want = "a mapping";
    } else if (sv->type == CYAML_SEQUENCE || sv->type == CYAML_SEQUENCE_FIXED) {
        need = YAML_SEQUENCE_START_EVENT;
        want = "a list";
    } else {
        want = "a single value";
    }
    yaml_mark_t at = ev->start_mark;
    yaml_event_type_t got = ev->type;
    if (got == YAML_ALIAS_EVENT) { /* libcyaml resolves aliases and checks their content */
        yaml_event_delete(ev);
        return LS_OK;
    }
    if (got != need) {
        int rc = ls_fail(p->c->e, "%s:%zu:%zu: %s%smust be %s, not %s", p->c->name, at.line + 1,
                         at.column + 1, path, *path ? " " : "", want, event_kind(ev));
        yaml_event_delete(ev);
        return rc;
    }
    if (got == YAML_SCALAR_EVENT && memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
        yaml_event_delete(ev);
        return ls_fail(p->c->e, "%s:%zu:%zu: %s: NUL character in value", p->c->name, at.line + 1,
                       at.column + 1, path);
    }
    yaml_event_delete(ev);
    if (got == YAML_MAPPING_START_EVENT) return pre_mapping(p, sv->mapping.fields, path);
    if (got == YAML_SEQUENCE_START_EVENT) return pre_sequence(p, sv->sequence.entry, path);
    return LS_OK;
}

/* Walks the whole stream; *empty is set when it holds no document. */
static int precheck(Ctx *c, const char *text, size_t len, int *empty) {
    Pre p = {.c = c};
    *empty = 0;
    if (!yaml_parser_initialize(&p.parser)) return ls_fail(c->e, "%s: cannot initialise libyaml", c->name);
    yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
    int rc = LS_ERR, docs = 0;
    yaml_event_t ev;
    for (;;) {
        if (pre_next(&p, &ev)) goto out;
        yaml_event_type_t t = ev.type;
        yaml_mark_t at = ev.start_mark;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT) break;
        if (t != YAML_DOCUMENT_START_EVENT) continue;
        if (++docs > 1) {
            ls_fail(c->e, "%s:%zu:%zu: more than one YAML document; a run config is one mapping", c->name,
                    at.line + 1, at.column + 1);
            goto out;
        }
        if (pre_next(&p, &ev)) goto out;
        if (pre_node(&p, &CONFIG_SCHEMA, &ev, "")) goto out;
    }
    *empty = docs == 0;
    rc = LS_OK;
out:
    yaml_parser_delete(&p.parser);
    return rc;
}

/* ---- pass 2: libcyaml with a captured log ------------------------------------ */

typedef struct {
    char buf[2048];
    size_t len;
} LogCapture;

static void log_capture(cyaml_log_t level, void *ctx, const char *fmt, va_list args) {
    LogCapture *lc = ctx;
    if (level < CYAML_LOG_ERROR || lc->len >= sizeof lc->buf - 1) return;
    int k = vsnprintf(lc->buf + lc->len, sizeof lc->buf - lc->len, fmt, args);
    if (k > 0) lc->len += (size_t)k < sizeof lc->buf - lc->len ? (size_t)k : sizeof lc->buf - 1 - lc->len;
}

/* Turns libcyaml's log ("Load: Invalid ENUM value: gpu\nLoad: Backtrace:\n
 * in mapping field 'device' (line: 2, column: 9)\n") into one message. */
static int fail_cyaml(Ctx *c, cyaml_err_t err, const LogCapture *lc) {
    char msg[256] = "";
    const char *s = lc->buf;
    if (!strncmp(s, "Load: ", 6)) s += 6;
    size_t n = strcspn(s, "\n");
    if (n >= sizeof msg) n = sizeof msg - 1;
    memcpy(msg, s, n);
    msg[n] = '\0';
    if (!msg[0]) snprintf(msg, sizeof msg, "%s", cyaml_strerror(err));

    char field[64] = "", extra[192] = "";
    const char *f = strstr(lc->buf, "in mapping field '");
    if (f) sscanf(f + 18, "%63[^']", field);
    for (const cyaml_schema_field_t *sf = CONFIG_FIELDS; sf->key && field[0]; sf++) {
        if (strcmp(sf->key, field) || sf->value.type != CYAML_ENUM) continue;
        size_t m = (size_t)snprintf(extra, sizeof extra, " (expected one of");
        for (uint32_t i = 0; i < sf->value.enumeration.count && m < sizeof extra; i++)
            m += (size_t)snprintf(extra + m, sizeof extra - m, "%s %s", i ? "," : "",
                                  sf->value.enumeration.strings[i].str);
        if (m < sizeof extra) snprintf(extra + m, sizeof extra - m, ")");
    }
    unsigned line = 0, col = 0;
    const char *l = strstr(lc->buf, "(line: ");
    if (l && sscanf(l, "(line: %u, column: %u)", &line, &col) == 2)
        return ls_fail(c->e, "%s:%u:%u: %s%s%s%s", c->name, line, col, field, field[0] ? ": " : "", msg,
                       extra);
    return ls_fail(c->e, "%s: %s%s%s%s", c->name, field, field[0] ? ": " : "", msg, extra);
}

/* ---- scalar conversion ------------------------------------------------------- */

/* Strict decimal integer: optional '-', digits, nothing else. */
static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    const char *p = s;
    if (*p == '-') p++;
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

/* YAML 1.2 core-schema booleans only. */
static int parse_bool(const char *s, bool *out) {
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

typedef struct {
    const char *key; /* YAML key; CLI spelling is the same with '-' for '_' */
    int64_t lo, hi;
} IntRange;

static const IntRange INT_RANGES[] = {
    {"top_k", 0, LS_MAX_TOP_K}, {"batch_tokens", 1, INT32_MAX}, {"max_tokens", 1, INT32_MAX},
    {"tp", 1, 65536},           {"bootstrap", 0, 100000000},    {"limit", 0, INT64_MAX},
};

static const IntRange *int_range(const char *key) {
    for (size_t i = 0; i < LS_ARRAY_LEN(INT_RANGES); i++)
        if (!strcmp(INT_RANGES[i].key, key)) return &INT_RANGES[i];
    return NULL;
}

/* Stores the integer value of text for key into cfg; message without location in msg. */
static int set_int(LsRunConfig *cfg, const char *key, const char *text, char *msg, size_t cap) {
    if (!strcmp(key, "seed")) {
        if (parse_u64(text, &cfg->seed)) {
            snprintf(msg, cap, "expected an integer 0..%llu, got '%.64s'", (unsigned long long)UINT64_MAX,
                     text);
            return LS_ERR;
        }
        return LS_OK;
    }
    const IntRange *r = int_range(key);
    int64_t v;
    if (!r) return LS_ERR;
    if (parse_i64(text, r->lo, r->hi, &v)) {
        snprintf(msg, cap, "expected an integer %lld..%lld, got '%.64s'", (long long)r->lo, (long long)r->hi,
                 text);
        return LS_ERR;
    }
    if (!strcmp(key, "top_k"))
        cfg->top_k = (int)v;
    else if (!strcmp(key, "batch_tokens"))
        cfg->batch_tokens = (size_t)v;
    else if (!strcmp(key, "max_tokens"))
        cfg->max_tokens = (size_t)v;
    else if (!strcmp(key, "tp"))
        cfg->tp = (int)v;
    else if (!strcmp(key, "bootstrap"))
        cfg->bootstrap = (int)v;
    else if (!strcmp(key, "limit"))
        cfg->limit = (size_t)v;
    return LS_OK;
}

/* ---- validation helpers ------------------------------------------------------ */

static int model_name_ok(const char *s) {
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

static char *resolve_path(const char *base_dir, const char *p) {
    if (!base_dir || !*base_dir || p[0] == '/') return ls_strdup(p);
    return ls_path_join(base_dir, p);
}

static void set_default_forms(LsRunConfig *cfg) {
    cfg->n_forms = 0;
    for (int c = 0; c < 3; c++)
        for (int sp = 1; sp >= 0; sp--)
            cfg->forms[cfg->n_forms++] = (LsSurfaceForm){(LsCase)c, sp != 0};
}

static void set_defaults(LsRunConfig *cfg) {
    cfg->template_text = ls_strdup(DEFAULT_TEMPLATE);
    cfg->n_targets = LS_ARRAY_LEN(DEFAULT_TARGETS);
    cfg->targets = ls_calloc(cfg->n_targets, sizeof *cfg->targets);
    for (size_t i = 0; i < cfg->n_targets; i++)
        cfg->targets[i] = ls_strdup(DEFAULT_TARGETS[i]);
    set_default_forms(cfg);
    cfg->top_k = 5;
    cfg->batch_tokens = 8192;
    cfg->max_tokens = 4096;
    cfg->on_long_record = LS_LONG_SKIP;
    cfg->on_bad_record = LS_BAD_FAIL;
    cfg->device = LS_DEVICE_AUTO;
    cfg->tp = 1;
    cfg->seed = 0;
    cfg->bootstrap = 1000;
}

static void free_strings(char **v, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Checks a list of target words: valid and unique. path is for messages
 * (NULL = command line); on error returns the index of the bad entry. */
static int targets_check(char **t, size_t n, char *msg, size_t cap, size_t *bad) {
    if (n == 0) {
        snprintf(msg, cap, "the list of target words is empty");
        *bad = 0;
        return LS_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        *bad = i;
        if (!target_ok(t[i])) {
            snprintf(msg, cap, "target word '%.64s' must be non-empty without spaces or control characters",
                     t[i]);
            return LS_ERR;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t[i], t[j])) {
                snprintf(msg, cap, "target word '%.64s' is listed twice", t[i]);
                return LS_ERR;
            }
    }
    return LS_OK;
}

/* Raw → cfg. Every message names the key's line through the index. */
static int convert(Ctx *c, const RawConfig *r, const char *base_dir, LsRunConfig *cfg) {
    char msg[512];
    char path[96];
    if (r && r->data) {
        if (!*r->data) return fail_at(c, "data", "empty path");
        cfg->data = resolve_path(base_dir, r->data);
    }
    if (r && r->output) {
        if (!*r->output) return fail_at(c, "output", "empty path");
        cfg->output = resolve_path(base_dir, r->output);
    }
    if (r && r->tmpl) {
        LsError te;
        if (ls_template_check(r->tmpl, &te)) return fail_at(c, "template", "%s", te.msg);
        free(cfg->template_text);
        cfg->template_text = ls_strdup(r->tmpl);
    }

    /* models: required, non-empty, names unique and well-formed */
    if (!r || !loc_find(c, "models"))
        return ls_fail(c->e, "%s: missing required key 'models' (a list of {name, path})", c->name);
    if (r->models_count == 0) return fail_at(c, "models", "the list is empty; name at least one model");
    cfg->models = ls_calloc(r->models_count, sizeof *cfg->models);
    for (unsigned i = 0; i < r->models_count; i++) {
        const RawModel *m = &r->models[i];
        snprintf(path, sizeof path, "models[%u].name", i);
        if (!model_name_ok(m->name))
            return fail_at(c, path, "model name '%.64s' must be non-empty and use only A-Z a-z 0-9 _ . -",
                           m->name);
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(r->models[j].name, m->name)) {
                snprintf(msg, sizeof msg, "models[%u]", j);
                const Loc *first = loc_find(c, msg);
                return fail_at(c, path, "duplicate model name '%s' (also models[%u], line %zu)", m->name, j,
                               first ? first->line : 0);
            }
        snprintf(path, sizeof path, "models[%u].path", i);
        if (!*m->path) return fail_at(c, path, "empty path");
        cfg->models[i].name = ls_strdup(m->name);
        cfg->models[i].path = resolve_path(base_dir, m->path);
        cfg->n_models = i + 1;
    }

    if (r->targets || loc_find(c, "targets")) {
        size_t bad;
        if (targets_check(r->targets, r->targets_count, msg, sizeof msg, &bad)) {
            snprintf(path, sizeof path, r->targets_count ? "targets[%zu]" : "targets", bad);
            return fail_at(c, path, "%s", msg);
        }
        free_strings(cfg->targets, cfg->n_targets);
        cfg->n_targets = r->targets_count;
        cfg->targets = ls_calloc(cfg->n_targets, sizeof *cfg->targets);
        for (size_t i = 0; i < cfg->n_targets; i++)
            cfg->targets[i] = ls_strdup(r->targets[i]);
    }

    if (r->forms) {
        unsigned case_mask = 0, space_mask = 0; /* space_mask bit 1 = with space, bit 0 = without */
        /* an empty list loads as NULL: tell "absent" from "[]" by the location index */
        if (!loc_find(c, "surface_forms.case"))
            case_mask = 7;
        else if (r->forms->cases_count == 0)
            return fail_at(c, "surface_forms.case", "empty list; give some of lower, capitalized, upper");
        for (unsigned i = 0; r->forms->cases && i < r->forms->cases_count; i++) {
            const char *s = r->forms->cases[i];
            unsigned bit = !strcmp(s, "lower")         ? 1
                           : !strcmp(s, "capitalized") ? 2
                           : !strcmp(s, "upper")       ? 4
                                                       : 0;
            snprintf(path, sizeof path, "surface_forms.case[%u]", i);
            if (!bit) return fail_at(c, path, "'%.64s' is not one of lower, capitalized, upper", s);
            if (case_mask & bit) return fail_at(c, path, "'%s' is listed twice", s);
            case_mask |= bit;
        }
        if (!loc_find(c, "surface_forms.leading_space"))
            space_mask = 3;
        else if (r->forms->spaces_count == 0)
            return fail_at(c, "surface_forms.leading_space", "empty list; give true, false or both");
        for (unsigned i = 0; r->forms->spaces && i < r->forms->spaces_count; i++) {
            bool b;
            snprintf(path, sizeof path, "surface_forms.leading_space[%u]", i);
            if (parse_bool(r->forms->spaces[i], &b))
                return fail_at(c, path, "expected true or false, got '%.64s'", r->forms->spaces[i]);
            unsigned bit = b ? 2 : 1;
            if (space_mask & bit) return fail_at(c, path, "'%s' is listed twice", b ? "true" : "false");
            space_mask |= bit;
        }
        cfg->n_forms = 0;
        for (int k = 0; k < 3; k++)
            for (int sp = 1; sp >= 0; sp--)
                if ((case_mask >> k & 1) && (space_mask >> sp & 1))
                    cfg->forms[cfg->n_forms++] = (LsSurfaceForm){(LsCase)k, sp != 0};
    }

    const struct {
        const char *key;
        const char *text;
    } ints[] = {
        {"top_k", r->top_k}, {"batch_tokens", r->batch_tokens}, {"max_tokens", r->max_tokens}, {"tp", r->tp},
        {"seed", r->seed},   {"bootstrap", r->bootstrap}};
    for (size_t i = 0; i < LS_ARRAY_LEN(ints); i++)
        if (ints[i].text && set_int(cfg, ints[i].key, ints[i].text, msg, sizeof msg))
            return fail_at(c, ints[i].key, "%s", msg);

    cfg->on_long_record = (LsOnLong)r->on_long_record;
    cfg->on_bad_record = (LsOnBad)r->on_bad_record;
    cfg->device = (LsDevice)r->device;
    return LS_OK;
}

/* ---- public ------------------------------------------------------------------ */

int ls_runcfg_parse(LsRunConfig *cfg, const char *text, size_t len, const char *name, const char *base_dir,
                    LsError *e) {
    memset(cfg, 0, sizeof *cfg);
    Ctx c = {.name = name ? name : "<config>", .e = e};
    cfg->source = ls_strdup(c.name);
    cfg->yaml_text = ls_malloc(len + 1);
    memcpy(cfg->yaml_text, text, len);
    cfg->yaml_text[len] = '\0';
    cfg->yaml_len = len;
    set_defaults(cfg);

    int empty = 0;
    RawConfig *raw = NULL;
    cyaml_config_t ycfg = {.log_fn = log_capture, .mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR};
    LogCapture lc = {.len = 0};
    ycfg.log_ctx = &lc;
    lc.buf[0] = '\0';

    if (precheck(&c, text, len, &empty)) goto fail;
    if (!empty) {
        cyaml_err_t err =
            cyaml_load_data((const uint8_t *)text, len, &ycfg, &CONFIG_SCHEMA, (void **)&raw, NULL);
        if (err != CYAML_OK) {
            fail_cyaml(&c, err, &lc);
            goto fail;
        }
    }
    if (convert(&c, raw, base_dir, cfg)) goto fail;
    if (raw) cyaml_free(&ycfg, &CONFIG_SCHEMA, raw, 0);
    ctx_free(&c);
    return LS_OK;
fail:
    if (raw) cyaml_free(&ycfg, &CONFIG_SCHEMA, raw, 0);
    ctx_free(&c);
    ls_runcfg_free(cfg);
    return LS_ERR;
}

int ls_runcfg_load(LsRunConfig *cfg, const char *path, LsError *e) {
    memset(cfg, 0, sizeof *cfg);
    char *text;
    size_t len;
    if (ls_read_file(path, CONFIG_MAX_BYTES, &text, &len, e)) return LS_ERR;
    /* base dir = the config file's folder ("" when it has none: paths stay relative to the cwd) */
    char *dir = ls_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    int rc = ls_runcfg_parse(cfg, text, len, path, dir, e);
    free(dir);
    free(text);
    return rc;
}

void ls_runcfg_free(LsRunConfig *cfg) {
    if (!cfg) return;
    free(cfg->source);
    free(cfg->yaml_text);
    free(cfg->data);
    free(cfg->output);
    free(cfg->template_text);
    for (size_t i = 0; i < cfg->n_models; i++) {
        free(cfg->models[i].name);
        free(cfg->models[i].path);
    }
    free(cfg->models);
    free_strings(cfg->targets, cfg->n_targets);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- command-line overrides ------------------------------------------------- */

static const LsRunCfgOption OPTIONS[] = {
    {"data", "JSONL records (overrides `data:`)"},
    {"out", "HDF5 output file (overrides `output:`)"},
    {"template", "prompt template with {query} and a final {answer}"},
    {"models", "comma-separated model names: run only these, in this order"},
    {"targets", "comma-separated target words"},
    {"limit", "use only the first N valid records (0 = all)"},
    {"resume", "continue an interrupted run from its output file"},
    {"quiet", "log only warnings and errors"},
    {"device", "auto | cpu | cuda"},
    {"tp", "tensor-parallel size (ranks per model replica)"},
    {"top-k", "top-k tokens stored per position (0..64)"},
    {"batch-tokens", "token budget of one batch"},
    {"max-tokens", "longest prompt+answer in tokens"},
    {"on-long-record", "skip | truncate records longer than max-tokens"},
    {"on-bad-record", "fail | skip malformed JSONL records"},
    {"seed", "random seed (bootstrap)"},
    {"bootstrap", "bootstrap resamples for confidence intervals (0 = none)"},
};

const LsRunCfgOption *ls_runcfg_options(size_t *n) {
    *n = LS_ARRAY_LEN(OPTIONS);
    return OPTIONS;
}

/* "--top-k" / "top_k" → "top_k"; "out" → "output". */
static void canon_key(const char *key, char *out, size_t cap) {
    while (*key == '-')
        key++;
    size_t i = 0;
    for (; key[i] && i + 1 < cap; i++)
        out[i] = key[i] == '-' ? '_' : key[i];
    out[i] = '\0';
    if (!strcmp(out, "out")) snprintf(out, cap, "output");
}

int ls_runcfg_option_is_flag(const char *key) {
    char k[64];
    canon_key(key, k, sizeof k);
    if (!strcmp(k, "resume") || !strcmp(k, "quiet")) return 1;
    if (!strcmp(k, "output")) return 0;
    for (size_t i = 0; i < LS_ARRAY_LEN(OPTIONS); i++) {
        char o[64];
        canon_key(OPTIONS[i].name, o, sizeof o);
        if (!strcmp(o, k)) return 0;
    }
    return -1;
}

/* Splits a comma list into heap strings (empty items kept, so they can be reported). */
static char **split_commas(const char *s, size_t *n) {
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

static int override_models(LsRunConfig *cfg, const char *value, LsError *e) {
    size_t n;
    char **names = split_commas(value, &n);
    LsModelSpec *sel = ls_calloc(n, sizeof *sel);
    char *taken = ls_calloc(cfg->n_models ? cfg->n_models : 1, 1);
    int rc = LS_OK;
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        size_t j = 0;
        while (j < cfg->n_models && strcmp(cfg->models[j].name, names[i]))
            j++;
        if (j == cfg->n_models) {
            char known[512];
            size_t m = 0;
            known[0] = '\0';
            for (size_t q = 0; q < cfg->n_models && m < sizeof known; q++)
                m +=
                    (size_t)snprintf(known + m, sizeof known - m, "%s%s", q ? ", " : "", cfg->models[q].name);
            rc = ls_fail(e, "--models: no model named '%.64s' in %s (known: %s)", names[i], cfg->source,
                         known);
        } else if (taken[j]) {
            rc = ls_fail(e, "--models: model '%s' is named twice", names[i]);
        } else {
            taken[j] = 1;
            sel[i] = cfg->models[j];
        }
    }
    if (rc == LS_OK) {
        for (size_t j = 0; j < cfg->n_models; j++)
            if (!taken[j]) {
                free(cfg->models[j].name);
                free(cfg->models[j].path);
            }
        free(cfg->models);
        cfg->models = sel;
        cfg->n_models = n;
    } else {
        free(sel);
    }
    free(taken);
    free_strings(names, n);
    return rc;
}

int ls_runcfg_override(LsRunConfig *cfg, const char *key, const char *value, LsError *e) {
    char k[64], msg[512];
    canon_key(key, k, sizeof k);
    int flag = ls_runcfg_option_is_flag(key);
    if (flag < 0) return ls_fail(e, "unknown option '--%s'", key[0] == '-' ? key + strspn(key, "-") : key);
    if (flag) {
        bool b = true;
        if (value && parse_bool(value, &b))
            return ls_fail(e, "--%s: expected true or false, got '%.64s'", k, value);
        if (!strcmp(k, "resume"))
            cfg->resume = b;
        else
            cfg->quiet = b;
        return LS_OK;
    }
    const char *opt = key + strspn(key, "-");
    if (!value) return ls_fail(e, "--%s needs a value", opt);

    if (!strcmp(k, "data") || !strcmp(k, "output")) {
        if (!*value) return ls_fail(e, "--%s: empty path", opt);
        char **dst = !strcmp(k, "data") ? &cfg->data : &cfg->output;
        free(*dst);
        *dst = ls_strdup(value);
        return LS_OK;
    }
    if (!strcmp(k, "template")) {
        LsError te;
        if (ls_template_check(value, &te)) return ls_fail(e, "--template: %s", te.msg);
        free(cfg->template_text);
        cfg->template_text = ls_strdup(value);
        return LS_OK;
    }
    if (!strcmp(k, "models")) return override_models(cfg, value, e);
    if (!strcmp(k, "targets")) {
        size_t n, bad;
        char **t = split_commas(value, &n);
        if (targets_check(t, n, msg, sizeof msg, &bad)) {
            free_strings(t, n);
            return ls_fail(e, "--targets: %s", msg);
        }
        free_strings(cfg->targets, cfg->n_targets);
        cfg->targets = t;
        cfg->n_targets = n;
        return LS_OK;
    }
    const struct {
        const char *key;
        const cyaml_strval_t *v;
        size_t n;
        int *dst;
    } enums[] = {
        {"device", DEVICE_STRINGS, LS_ARRAY_LEN(DEVICE_STRINGS), (int *)&cfg->device},
        {"on_long_record", LONG_STRINGS, LS_ARRAY_LEN(LONG_STRINGS), (int *)&cfg->on_long_record},
        {"on_bad_record", BAD_STRINGS, LS_ARRAY_LEN(BAD_STRINGS), (int *)&cfg->on_bad_record},
    };
    for (size_t i = 0; i < LS_ARRAY_LEN(enums); i++) {
        if (strcmp(k, enums[i].key)) continue;
        size_t m = 0;
        msg[0] = '\0';
        for (size_t j = 0; j < enums[i].n; j++) {
            if (!strcmp(value, enums[i].v[j].str)) {
                *enums[i].dst = (int)enums[i].v[j].val;
                return LS_OK;
            }
            m += (size_t)snprintf(msg + m, sizeof msg - m, "%s%s", j ? ", " : "", enums[i].v[j].str);
        }
        return ls_fail(e, "--%s: '%.64s' is not one of %s", opt, value, msg);
    }
    if (set_int(cfg, k, value, msg, sizeof msg)) return ls_fail(e, "--%s: %s", opt, msg);
    return LS_OK;
}

int ls_runcfg_validate(const LsRunConfig *cfg, LsError *e) {
    if (!cfg->data)
        return ls_fail(e, "%s: no data file: set 'data:' in the config or pass --data", cfg->source);
    if (!cfg->output)
        return ls_fail(e, "%s: no output file: set 'output:' in the config or pass --out", cfg->source);
    if (cfg->n_models == 0) return ls_fail(e, "%s: no models to run", cfg->source);
    return LS_OK;
}

/* The settings that decide the file's content (not where it goes, nor how
 * many threads): stored in the file and compared by --resume. */
char *ls_runcfg_effective_json(const LsRunConfig *c) {
    json_t *o = json_object();
    json_object_set_new(o, "data", json_string(c->data));
    json_object_set_new(o, "template", json_string(c->template_text));
    json_t *ms = json_array();
    for (size_t i = 0; i < c->n_models; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "name", json_string(c->models[i].name));
        json_object_set_new(m, "path", json_string(c->models[i].path));
        json_array_append_new(ms, m);
    }
    json_object_set_new(o, "models", ms);
    json_t *tg = json_array();
    for (size_t i = 0; i < c->n_targets; i++)
        json_array_append_new(tg, json_string(c->targets[i]));
    json_object_set_new(o, "targets", tg);
    json_t *sf = json_array();
    for (size_t i = 0; i < c->n_forms; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s%s", c->forms[i].leading_space ? "space+" : "",
                 ls_case_name(c->forms[i].letter_case));
        json_array_append_new(sf, json_string(buf));
    }
    json_object_set_new(o, "surface_forms", sf);
    json_object_set_new(o, "top_k", json_integer(c->top_k));
    json_object_set_new(o, "batch_tokens", json_integer((json_int_t)c->batch_tokens));
    json_object_set_new(o, "max_tokens", json_integer((json_int_t)c->max_tokens));
    json_object_set_new(o, "on_long_record",
                        json_string(c->on_long_record == LS_LONG_SKIP ? "skip" : "truncate"));
    json_object_set_new(o, "on_bad_record", json_string(c->on_bad_record == LS_BAD_SKIP ? "skip" : "fail"));
    json_object_set_new(o, "device", json_string(ls_device_name(c->device)));
    json_object_set_new(o, "precision", json_string(ls_precision_name(c->precision)));
    json_object_set_new(o, "tp", json_integer(c->tp));
    json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(o, "bootstrap", json_integer(c->bootstrap));
    json_object_set_new(o, "limit", json_integer((json_int_t)c->limit));
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

const char *ls_device_name(LsDevice d) {
    return d == LS_DEVICE_CPU ? "cpu" : d == LS_DEVICE_CUDA ? "cuda" : "auto";
}

const char *ls_case_name(LsCase c) {
    return c == LS_CASE_CAPITALIZED ? "capitalized" : c == LS_CASE_UPPER ? "upper" : "lower";
}
