/* config.c — the YAML run config → LsRunConfig (DESIGN §4 src/config/), and
 * the command-line overrides.
 *
 * One parse: libyaml loads the document as a node tree in which every node
 * keeps its line and column, and one walk over it, driven by the key table
 * (keys.c), checks shapes (a list where a value is expected, unknown and
 * duplicate keys, NUL bytes), converts each value through the same function
 * the command line and the defaults use, and names file:line:column in every
 * message. LsRunConfig owns plain heap memory (free with ls_runcfg_free). */
#define _POSIX_C_SOURCE 200809L
#include "ls/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_internal.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a run config is a few hundred bytes */

typedef struct {
    const char *name; /* for messages */
    const char *base_dir;
    LsError *e;
    yaml_document_t doc;
    LsRunConfig *cfg;
} Reader;

/* "name:line:col: msg" at node n. */
__attribute__((format(printf, 3, 4))) static int fail_at(Reader *r, const yaml_node_t *n, const char *fmt,
                                                         ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ls_fail(r->e, "%s:%zu:%zu: %s", r->name, n->start_mark.line + 1, n->start_mark.column + 1, msg);
}

static const char *node_kind(const yaml_node_t *n) {
    return n->type == YAML_SCALAR_NODE     ? "a single value"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
           : n->type == YAML_MAPPING_NODE  ? "a mapping"
                                           : "nothing";
}

/* Checks that node n at path has type t. */
static int want(Reader *r, const yaml_node_t *n, yaml_node_type_t t, const char *path) {
    const char *w = t == YAML_SCALAR_NODE     ? "a single value"
                    : t == YAML_SEQUENCE_NODE ? "a list"
                                              : "a mapping";
    if (n->type != t) return fail_at(r, n, "%s%smust be %s, not %s", path, *path ? " " : "", w, node_kind(n));
    if (t == YAML_SCALAR_NODE && memchr(n->data.scalar.value, 0, n->data.scalar.length))
        return fail_at(r, n, "%s: NUL character in value", path);
    return LS_OK;
}

static const char *text(const yaml_node_t *n) {
    return (const char *)n->data.scalar.value;
}

static yaml_node_t *node(Reader *r, int id) {
    return yaml_document_get_node(&r->doc, id);
}

/* The pairs of mapping m, each key checked: a scalar, one of `known`
 * (count n), not given twice. at[i] is the pair of known[i], or NULL. */
static int read_mapping(Reader *r, const yaml_node_t *m, const char *path, const char *const *known, size_t n,
                        const yaml_node_pair_t **at) {
    for (size_t i = 0; i < n; i++)
        at[i] = NULL;
    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(r, p->key);
        if (k->type != YAML_SCALAR_NODE)
            return fail_at(r, k, "%s%skeys must be plain words, not %s", path, *path ? ": " : "",
                           node_kind(k));
        size_t i = 0;
        while (i < n && (strlen(known[i]) != k->data.scalar.length || strcmp(known[i], text(k))))
            i++;
        if (i == n) {
            char list[512];
            size_t used = 0;
            list[0] = '\0';
            for (size_t j = 0; j < n && used < sizeof list; j++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", j ? ", " : "", known[j]);
            return fail_at(r, k, "unknown key '%.64s'%s%s (known keys: %s)", text(k), *path ? " in " : "",
                           path, list);
        }
        if (at[i])
            return fail_at(r, k, "duplicate key '%s' (first given at line %zu)", known[i],
                           node(r, at[i]->key)->start_mark.line + 1);
        at[i] = p;
    }
    return LS_OK;
}

/* ---- the values of the keys -------------------------------------------------- */

static char *resolve_path(const char *base_dir, const char *p) {
    if (!base_dir || !*base_dir || p[0] == '/') return ls_strdup(p);
    return ls_path_join(base_dir, p);
}

static int read_scalar(Reader *r, const LsRunCfgKey *k, const yaml_node_t *key, const yaml_node_t *v) {
    if (want(r, v, YAML_SCALAR_NODE, k->key)) return LS_ERR;
    char msg[512];
    char *val = k->type == LS_CFG_PATH && *text(v) ? resolve_path(r->base_dir, text(v)) : ls_strdup(text(v));
    int rc = cfg_set_scalar(k, r->cfg, val, msg, sizeof msg);
    free(val);
    /* a value that is not one of the choices is shown where it is; other errors at the key */
    if (rc) return fail_at(r, k->type == LS_CFG_ENUM ? v : key, "%s: %s", k->key, msg);
    return LS_OK;
}

static int read_models(Reader *r, const yaml_node_t *key, const yaml_node_t *v) {
    LsRunConfig *cfg = r->cfg;
    if (want(r, v, YAML_SEQUENCE_NODE, "models")) return LS_ERR;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0) return fail_at(r, key, "models: the list is empty; name at least one model");
    static const char *const FIELDS[] = {"name", "path"};
    cfg->models = ls_calloc(n, sizeof *cfg->models);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *m = node(r, v->data.sequence.items.start[i]);
        const yaml_node_pair_t *at[2];
        char path[96];
        snprintf(path, sizeof path, "models[%zu]", i);
        if (want(r, m, YAML_MAPPING_NODE, path) || read_mapping(r, m, path, FIELDS, 2, at)) return LS_ERR;
        const yaml_node_t *val[2], *kn[2];
        for (int f = 0; f < 2; f++) {
            if (!at[f])
                return fail_at(r, m, "%s: missing key '%s' (each model needs name and path)", path,
                               FIELDS[f]);
            kn[f] = node(r, at[f]->key);
            val[f] = node(r, at[f]->value);
            snprintf(path, sizeof path, "models[%zu].%s", i, FIELDS[f]);
            if (want(r, val[f], YAML_SCALAR_NODE, path)) return LS_ERR;
        }
        const char *name = text(val[0]), *p = text(val[1]);
        if (!cfg_model_name_ok(name))
            return fail_at(
                r, kn[0],
                "models[%zu].name: model name '%.64s' must be non-empty and use only A-Z a-z 0-9 _ . -", i,
                name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->models[j].name, name))
                return fail_at(r, kn[0],
                               "models[%zu].name: duplicate model name '%s' (also models[%zu], line %zu)", i,
                               name, j, node(r, v->data.sequence.items.start[j])->start_mark.line + 1);
        if (!*p) return fail_at(r, kn[1], "models[%zu].path: empty path", i);
        cfg->models[i].name = ls_strdup(name);
        cfg->models[i].path = resolve_path(r->base_dir, p);
        cfg->n_models = i + 1;
    }
    return LS_OK;
}

/* The scalars of list v (at path) as strings owned by the document. */
static int read_words(Reader *r, const yaml_node_t *v, const char *path, char ***out, size_t *n) {
    if (want(r, v, YAML_SEQUENCE_NODE, path)) return LS_ERR;
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    *out = ls_calloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        const yaml_node_t *w = node(r, v->data.sequence.items.start[i]);
        char sub[96];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (want(r, w, YAML_SCALAR_NODE, sub)) return LS_ERR;
        (*out)[i] = (char *)w->data.scalar.value;
    }
    return LS_OK;
}

static int read_targets(Reader *r, const yaml_node_t *key, const yaml_node_t *v) {
    char **words = NULL, msg[512];
    size_t n = 0, bad;
    int rc = read_words(r, v, "targets", &words, &n);
    if (rc == LS_OK && cfg_targets_check(words, n, msg, sizeof msg, &bad)) {
        if (n == 0)
            rc = fail_at(r, key, "targets: %s", msg);
        else
            rc = fail_at(r, node(r, v->data.sequence.items.start[bad]), "targets[%zu]: %s", bad, msg);
    }
    if (rc == LS_OK) {
        cfg_free_strings(r->cfg->targets, r->cfg->n_targets);
        r->cfg->n_targets = n;
        r->cfg->targets = ls_calloc(n, sizeof *r->cfg->targets);
        for (size_t i = 0; i < n; i++)
            r->cfg->targets[i] = ls_strdup(words[i]);
    }
    free(words);
    return rc;
}

/* One list of surface_forms (case or leading_space) → a bit mask. */
static int read_form_list(Reader *r, const yaml_node_pair_t *p, int is_case, unsigned *mask) {
    const char *path = is_case ? "surface_forms.case" : "surface_forms.leading_space";
    *mask = is_case ? 7 : 3; /* absent: all */
    if (!p) return LS_OK;
    char **v = NULL;
    size_t n = 0;
    const yaml_node_t *list = node(r, p->value);
    int rc = read_words(r, list, path, &v, &n);
    if (rc == LS_OK && n == 0)
        rc = fail_at(r, node(r, p->key), "%s: empty list; give %s", path,
                     is_case ? "some of lower, capitalized, upper" : "true, false or both");
    *mask = 0;
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        const yaml_node_t *w = node(r, list->data.sequence.items.start[i]);
        unsigned bit = 0;
        bool b;
        if (is_case)
            bit = !strcmp(v[i], "lower")         ? 1
                  : !strcmp(v[i], "capitalized") ? 2
                  : !strcmp(v[i], "upper")       ? 4
                                                 : 0;
        else if (cfg_parse_bool(v[i], &b) == 0)
            bit = b ? 2 : 1;
        if (!bit && is_case)
            rc = fail_at(r, w, "%s[%zu]: '%.64s' is not one of lower, capitalized, upper", path, i, v[i]);
        else if (!bit)
            rc = fail_at(r, w, "%s[%zu]: expected true or false, got '%.64s'", path, i, v[i]);
        else if (*mask & bit)
            rc = fail_at(r, w, "%s[%zu]: '%s' is listed twice", path, i, v[i]);
        *mask |= bit;
    }
    free(v);
    return rc;
}

static int read_forms(Reader *r, const yaml_node_t *v) {
    static const char *const FIELDS[] = {"case", "leading_space"};
    const yaml_node_pair_t *at[2];
    unsigned cases, spaces;
    if (want(r, v, YAML_MAPPING_NODE, "surface_forms") ||
        read_mapping(r, v, "surface_forms", FIELDS, 2, at) || read_form_list(r, at[0], 1, &cases) ||
        read_form_list(r, at[1], 0, &spaces))
        return LS_ERR;
    cfg_set_forms(r->cfg, cases, spaces);
    return LS_OK;
}

static void free_pairs(LsRunConfig *cfg) {
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        free(cfg->pairs[i].a);
        free(cfg->pairs[i].b);
    }
    free(cfg->pairs);
    cfg->pairs = NULL;
    cfg->n_pairs = 0;
    cfg->pairs_set = false;
}

/* A pair's names: valid, different, and the pair not given before. */
static int pair_check(const LsRunConfig *cfg, size_t i, const char *a, const char *b, char *msg, size_t cap) {
    if (!cfg_model_name_ok(a) || !cfg_model_name_ok(b))
        return snprintf(msg, cap, "pair %zu: '%.64s', '%.64s' are not two model names", i + 1, a, b), LS_ERR;
    if (!strcmp(a, b))
        return snprintf(msg, cap, "pair %zu compares model '%s' with itself", i + 1, a), LS_ERR;
    for (size_t j = 0; j < i; j++)
        if (!strcmp(cfg->pairs[j].a, a) && !strcmp(cfg->pairs[j].b, b))
            return snprintf(msg, cap, "pair %zu: %s, %s is listed twice", i + 1, a, b), LS_ERR;
    return LS_OK;
}

static void add_pair(LsRunConfig *cfg, const char *a, const char *b, size_t line) {
    cfg->pairs[cfg->n_pairs++] = (LsPairSpec){ls_strdup(a), ls_strdup(b), line};
}

/* pairs: none, [] or a list of two-name lists. */
static int read_pairs(Reader *r, const yaml_node_t *key, const yaml_node_t *v) {
    LsRunConfig *cfg = r->cfg;
    free_pairs(cfg);
    cfg->pairs_set = true;
    if (v->type == YAML_SCALAR_NODE && !strcmp(text(v), "none")) return LS_OK;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail_at(r, v, "pairs: must be none or a list of [model_a, model_b] lists, not %s",
                       v->type == YAML_SCALAR_NODE ? "a single value" : node_kind(v));
    (void)key;
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    cfg->pairs = ls_calloc(n ? n : 1, sizeof *cfg->pairs);
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *p = node(r, v->data.sequence.items.start[i]);
        char path[64], msg[512], **w = NULL;
        size_t nw = 0;
        snprintf(path, sizeof path, "pairs[%zu]", i);
        int rc = read_words(r, p, path, &w, &nw);
        if (rc == LS_OK && nw != 2)
            rc = fail_at(r, p, "%s: a pair is two model names, [model_a, model_b]; got %zu", path, nw);
        if (rc == LS_OK && pair_check(cfg, i, w[0], w[1], msg, sizeof msg))
            rc = fail_at(r, p, "pairs: %s", msg);
        if (rc == LS_OK) add_pair(cfg, w[0], w[1], p->start_mark.line + 1);
        free(w);
        if (rc) return rc;
    }
    return LS_OK;
}

/* Every configured pair names models of the run. */
/* The index of the model called name, or n_models. */
static size_t cfg_model_index(const LsRunConfig *cfg, const char *name) {
    size_t k = 0;
    while (k < cfg->n_models && strcmp(cfg->models[k].name, name))
        k++;
    return k;
}

/* The models' names, comma-separated, into known[512] (for messages). */
static void cfg_model_names(const LsRunConfig *cfg, char known[512]) {
    size_t m = 0;
    known[0] = '\0';
    for (size_t q = 0; q < cfg->n_models && m < 512; q++)
        m += (size_t)snprintf(known + m, 512 - m, "%s%s", q ? ", " : "", cfg->models[q].name);
}

static int pairs_check_models(const LsRunConfig *cfg, LsError *e) {
    for (size_t i = 0; i < cfg->n_pairs; i++) {
        const LsPairSpec *p = &cfg->pairs[i];
        const char *names[2] = {p->a, p->b};
        for (int s = 0; s < 2; s++) {
            if (cfg_model_index(cfg, names[s]) < cfg->n_models) continue;
            char known[512];
            cfg_model_names(cfg, known);
            if (p->line)
                return ls_fail(e, "%s:%zu: pairs: no model named '%s' among the models run (%s)", cfg->source,
                               p->line, names[s], known);
            return ls_fail(e, "--pairs: no model named '%s' among the models run (%s)", names[s], known);
        }
    }
    return LS_OK;
}

static int read_key(Reader *r, const LsRunCfgKey *k, const yaml_node_pair_t *p) {
    const yaml_node_t *key = node(r, p->key), *v = node(r, p->value);
    switch (k->type) {
    case LS_CFG_MODELS:
        return read_models(r, key, v);
    case LS_CFG_TARGETS:
        return read_targets(r, key, v);
    case LS_CFG_FORMS:
        return read_forms(r, v);
    case LS_CFG_PAIRS:
        return read_pairs(r, key, v);
    default:
        return read_scalar(r, k, key, v);
    }
}

/* The top-level mapping: every key of the table that YAML may set. */
static int read_document(Reader *r) {
    yaml_node_t *root = yaml_document_get_root_node(&r->doc);
    if (!root) return ls_fail(r->e, "%s: missing required key 'models' (a list of {name, path})", r->name);
    size_t nk;
    const LsRunCfgKey *keys = ls_runcfg_keys(&nk);
    const char *names[32];
    size_t n = 0, models = 0;
    for (size_t i = 0; i < nk && n < LS_ARRAY_LEN(names); i++)
        if (keys[i].key) {
            if (keys[i].type == LS_CFG_MODELS) models = n;
            names[n++] = keys[i].key;
        }
    const yaml_node_pair_t *at[32];
    if (want(r, root, YAML_MAPPING_NODE, "") || read_mapping(r, root, "", names, n, at)) return LS_ERR;
    /* in the order written, so the first error in the file is the one reported */
    for (const yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node(r, p->key);
        if (read_key(r, cfg_key_by_yaml(text(k), k->data.scalar.length), p)) return LS_ERR;
    }
    if (!at[models])
        return ls_fail(r->e, "%s: missing required key 'models' (a list of {name, path})", r->name);
    return pairs_check_models(r->cfg, r->e);
}

static int syntax_error(Reader *r, const yaml_parser_t *y) {
    const char *problem = y->problem ? y->problem : "syntax error";
    if (y->context)
        return ls_fail(r->e, "%s:%zu:%zu: YAML syntax error: %s (%s at line %zu)", r->name,
                       y->problem_mark.line + 1, y->problem_mark.column + 1, problem, y->context,
                       y->context_mark.line + 1);
    return ls_fail(r->e, "%s:%zu:%zu: YAML syntax error: %s", r->name, y->problem_mark.line + 1,
                   y->problem_mark.column + 1, problem);
}

/* Loads the one document of the text; a second one is an error. */
static int load_document(Reader *r, const char *txt, size_t len) {
    yaml_parser_t y;
    if (!yaml_parser_initialize(&y)) return ls_fail(r->e, "%s: cannot initialise libyaml", r->name);
    yaml_parser_set_input_string(&y, (const unsigned char *)txt, len);
    int rc = LS_OK;
    if (!yaml_parser_load(&y, &r->doc)) {
        rc = syntax_error(r, &y);
        yaml_parser_delete(&y);
        return rc;
    }
    if (yaml_document_get_root_node(&r->doc)) {
        yaml_document_t second;
        if (!yaml_parser_load(&y, &second)) {
            rc = syntax_error(r, &y);
        } else {
            if (yaml_document_get_root_node(&second))
                rc = ls_fail(r->e, "%s:%zu:%zu: more than one YAML document; a run config is one mapping",
                             r->name, second.start_mark.line + 1, second.start_mark.column + 1);
            yaml_document_delete(&second);
        }
    }
    yaml_parser_delete(&y);
    if (rc) yaml_document_delete(&r->doc);
    return rc;
}

/* ---- public ------------------------------------------------------------------ */

int ls_runcfg_parse(LsRunConfig *cfg, const char *txt, size_t len, const char *name, const char *base_dir,
                    LsError *e) {
    memset(cfg, 0, sizeof *cfg);
    Reader r = {.name = name ? name : "<config>", .base_dir = base_dir, .e = e, .cfg = cfg};
    cfg->source = ls_strdup(r.name);
    cfg->yaml_text = ls_malloc(len + 1);
    memcpy(cfg->yaml_text, txt, len);
    cfg->yaml_text[len] = '\0';
    cfg->yaml_len = len;
    cfg_set_defaults(cfg);
    if (load_document(&r, txt, len)) {
        ls_runcfg_free(cfg);
        return LS_ERR;
    }
    int rc = read_document(&r);
    yaml_document_delete(&r.doc);
    if (rc) ls_runcfg_free(cfg);
    return rc;
}

int ls_runcfg_load(LsRunConfig *cfg, const char *path, LsError *e) {
    memset(cfg, 0, sizeof *cfg);
    char *txt;
    size_t len;
    if (ls_read_file(path, CONFIG_MAX_BYTES, &txt, &len, e)) return LS_ERR;
    /* base dir = the config file's folder ("" when it has none: paths stay relative to the cwd) */
    char *dir = ls_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    int rc = ls_runcfg_parse(cfg, txt, len, path, dir, e);
    free(dir);
    free(txt);
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
    cfg_free_strings(cfg->targets, cfg->n_targets);
    free_pairs(cfg);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- command-line overrides ------------------------------------------------- */

/* --no-KEY: a flag key set to false (NULL when key is not that). */
static const LsRunCfgKey *negated_flag(const char *key) {
    const char *opt = key + strspn(key, "-");
    if (strncmp(opt, "no-", 3) != 0 && strncmp(opt, "no_", 3) != 0) return NULL;
    const LsRunCfgKey *k = cfg_key_by_flag(opt + 3);
    return k && k->flag && k->type == LS_CFG_FLAG ? k : NULL;
}

int ls_runcfg_option_is_flag(const char *key) {
    if (!cfg_key_by_flag(key) && negated_flag(key)) return 1;
    const LsRunCfgKey *k = cfg_key_by_flag(key);
    if (!k || (!k->flag && k->type == LS_CFG_FORMS)) return -1;
    return k->type == LS_CFG_FLAG;
}

static int override_models(LsRunConfig *cfg, const char *value, LsError *e) {
    size_t n;
    char **names = cfg_split_commas(value, &n);
    LsModelSpec *sel = ls_calloc(n, sizeof *sel);
    char *taken = ls_calloc(cfg->n_models ? cfg->n_models : 1, 1);
    int rc = LS_OK;
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        size_t j = cfg_model_index(cfg, names[i]);
        if (j == cfg->n_models) {
            char known[512];
            cfg_model_names(cfg, known);
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
    cfg_free_strings(names, n);
    return rc;
}

static int override_targets(LsRunConfig *cfg, const char *value, LsError *e) {
    size_t n, bad;
    char msg[512], **t = cfg_split_commas(value, &n);
    if (cfg_targets_check(t, n, msg, sizeof msg, &bad)) {
        cfg_free_strings(t, n);
        return ls_fail(e, "--targets: %s", msg);
    }
    cfg_free_strings(cfg->targets, cfg->n_targets);
    cfg->targets = t;
    cfg->n_targets = n;
    return LS_OK;
}

/* --pairs a:b,c:d or none. */
static int override_pairs(LsRunConfig *cfg, const char *value, LsError *e) {
    size_t n_items;
    char **items = cfg_split_commas(value, &n_items), msg[512];
    free_pairs(cfg);
    cfg->pairs_set = true;
    int rc = LS_OK;
    size_t n = n_items == 1 && !strcmp(items[0], "none") ? 0 : n_items;
    cfg->pairs = ls_calloc(n ? n : 1, sizeof *cfg->pairs);
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        char *colon = strchr(items[i], ':');
        if (!colon || strchr(colon + 1, ':')) {
            rc = ls_fail(e, "--pairs: '%.64s' is not a pair model_a:model_b (or none)", items[i]);
            break;
        }
        *colon = '\0';
        if (pair_check(cfg, i, items[i], colon + 1, msg, sizeof msg))
            rc = ls_fail(e, "--pairs: %s", msg);
        else
            add_pair(cfg, items[i], colon + 1, 0);
    }
    cfg_free_strings(items, n_items);
    if (rc) free_pairs(cfg);
    return rc;
}

int ls_runcfg_override(LsRunConfig *cfg, const char *key, const char *value, LsError *e) {
    const char *opt = key + strspn(key, "-");
    const LsRunCfgKey *k = cfg_key_by_flag(key), *no = k ? NULL : negated_flag(key);
    if (no) {
        if (value) return ls_fail(e, "--%s takes no value", opt);
        k = no;
        value = "false";
    }
    if (!k || ls_runcfg_option_is_flag(key) < 0) return ls_fail(e, "unknown option '--%s'", opt);
    if (k->type == LS_CFG_FLAG && !value) value = "true";
    if (!value) return ls_fail(e, "--%s needs a value", opt);
    if (k->type == LS_CFG_MODELS) return override_models(cfg, value, e);
    if (k->type == LS_CFG_TARGETS) return override_targets(cfg, value, e);
    if (k->type == LS_CFG_PAIRS) return override_pairs(cfg, value, e);
    char msg[512];
    if (cfg_set_scalar(k, cfg, value, msg, sizeof msg)) return ls_fail(e, "--%s: %s", opt, msg);
    return LS_OK;
}

int ls_runcfg_validate(const LsRunConfig *cfg, LsError *e) {
    if (!cfg->data)
        return ls_fail(e, "%s: no data file: set 'data:' in the config or pass --data", cfg->source);
    if (!cfg->output)
        return ls_fail(e, "%s: no output file: set 'output:' in the config or pass --out", cfg->source);
    if (cfg->n_models == 0) return ls_fail(e, "%s: no models to run", cfg->source);
    return pairs_check_models(cfg, e);
}
