/* cmd_inspect.c — `logits-study inspect FILE`: a terminal report of an output
 * file (run metadata, per-model tables by level and correctness, model
 * comparisons, the differences significant after FDR), or the same as JSON. */
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "inspect_pairs.h"
#include "ls/h5io.h"
#include "ls/reduce.h"
#include "ls/reduce_pairs.h"

static const char *USAGE =
    "usage: logits-study inspect FILE [--model M] [--word W] [--alpha A] [--json]\n"
    "\n"
    "Prints what the output file FILE holds: the run metadata, the primary tests\n"
    "(per model pair and word: pair effect, level trend, correctness, each with its\n"
    "n, interval, p and BH q over the file) and those significant (q < A, default\n"
    "0.05, enough clusters), then the descriptive tables per model and word. Reads /summary\n"
    "(written by the run, or by `logits-study reduce FILE`).\n"
    "\n"
    "  --model M   only model M (repeatable)\n"
    "  --word W    only target word W (repeatable)\n"
    "  --alpha A   FDR level for the significant list (default 0.05)\n"
    "  --json      one JSON object on stdout instead of tables (NaN is null)\n";

typedef struct {
    const char **models, **words;
    int n_models, n_words;
    double alpha;
    int json;
} Filter;

static int name_in(const char *name, const char **list, int n) {
    if (n == 0) return 1;
    for (int i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return 1;
    return 0;
}

static int want_model(const LsSummary *s, const Filter *f, int m) {
    return name_in(s->models[m], f->models, f->n_models);
}

static int want_word(const LsSummary *s, const Filter *f, int w) {
    return name_in(s->words[w], f->words, f->n_words);
}

/* ---- metadata: the root attributes ---------------------------------------- */

/* One attribute as JSON (lists as arrays); NULL for a kind inspect does not show. */
static json_t *attr_json(hid_t obj, const char *name, LsError *e) {
    LsH5Kind kind;
    if (ls_h5_attr_kind(obj, name, &kind, e)) return NULL;
    json_t *v = NULL;
    int64_t i;
    double d;
    char *str, **strs;
    size_t n;
    if (kind == LS_H5_KIND_INT && !ls_h5_attr_get_i64(obj, name, &i, e)) {
        v = json_integer((json_int_t)i);
    } else if (kind == LS_H5_KIND_FLOAT && !ls_h5_attr_get_f64(obj, name, &d, e)) {
        v = json_real(d);
    } else if (kind == LS_H5_KIND_STR && !ls_h5_attr_get_str(obj, name, &str, e)) {
        v = json_string(str);
        free(str);
    } else if (kind == LS_H5_KIND_STRS && !ls_h5_attr_get_strs(obj, name, &strs, &n, e)) {
        v = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(v, json_string(strs[k]));
        ls_h5_strs_free(strs, n);
    }
    return v;
}

static herr_t meta_attr(hid_t loc, const char *name, const H5A_info_t *info, void *obj) {
    (void)info;
    LsError e;
    json_t *v = attr_json(loc, name, &e);
    if (v) json_object_set_new(obj, name, v);
    return 0;
}

/* The root attributes as a JSON object (the file was opened and checked by ls_summary_read). */
static json_t *read_meta(const char *path, LsError *e) {
    hid_t f = ls_h5_file_open(path, 0, e);
    if (f < 0) return NULL;
    json_t *o = json_object();
    hsize_t idx = 0;
    if (LS_H5_CHECK(H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, &idx, meta_attr, o), f, NULL, e)) {
        json_decref(o);
        o = NULL;
    }
    H5Fclose(f);
    return o;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *num(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* One row of a table as a JSON object: codes as names, model/word indices as names. */
static json_t *row_json(const LsSummary *s, const LsTable *t, const void *row) {
    json_t *o = json_object();
    const char *base = row;
    for (size_t k = 0; k < t->n_fields; k++) {
        const LsField *fl = &t->fields[k];
        const char *p = base + fl->offset, *nm = fl->name;
        switch (fl->kind) {
        case LS_F_I8: {
            int8_t v;
            memcpy(&v, p, 1);
            if (!strcmp(nm, "ci_method"))
                json_object_set_new(o, nm,
                                    json_string(v == LS_CI_BCA    ? "bca"
                                                : v == LS_CI_WALD ? "wald"
                                                                  : "none"));
            else if (!strcmp(nm, "test"))
                json_object_set_new(o, nm, json_string(ls_reduce_primary_name(v)));
            else if (!strcmp(nm, "reason"))
                json_object_set_new(o, nm, json_string(ls_reduce_reason_name(v)));
            else if (ends_with(nm, "_reason"))
                json_object_set_new(o, nm, json_string(ls_reduce_reason_name(v)));
            else if (ends_with(nm, "_method"))
                json_object_set_new(o, nm, json_string(ls_reduce_method_name(v)));
            else if (!strcmp(nm, "group"))
                json_object_set_new(o, nm, json_string(ls_reduce_group_name(v)));
            else if (!strcmp(nm, "variable"))
                json_object_set_new(o, nm, json_string(ls_reduce_variable_name(v)));
            else if (!strcmp(nm, "metric"))
                json_object_set_new(o, nm, json_string(ls_pairs_metric_name(v)));
            else
                json_object_set_new(o, nm, json_integer(v));
            break;
        }
        case LS_F_I16: {
            int16_t v;
            memcpy(&v, p, 2);
            if (!strcmp(nm, "word"))
                json_object_set_new(o, nm, json_string(s->words[v]));
            else if (!strcmp(nm, "depth"))
                json_object_set_new(o, nm, json_integer(v));
            else
                json_object_set_new(o, nm, json_string(s->models[v]));
            break;
        }
        case LS_F_I64: {
            int64_t v;
            memcpy(&v, p, 8);
            json_object_set_new(o, nm, json_integer((json_int_t)v));
            break;
        }
        case LS_F_F64: {
            double v;
            memcpy(&v, p, 8);
            json_object_set_new(o, nm, num(v));
            break;
        }
        case LS_F_I64x5:
        case LS_F_F64x5: {
            json_t *a = json_array();
            for (int i = 0; i < 5; i++) {
                if (fl->kind == LS_F_I64x5) {
                    int64_t v;
                    memcpy(&v, p + 8 * i, 8);
                    json_array_append_new(a, json_integer((json_int_t)v));
                } else {
                    double v;
                    memcpy(&v, p + 8 * i, 8);
                    json_array_append_new(a, num(v));
                }
            }
            json_object_set_new(o, nm, a);
            break;
        }
        case LS_F_S32: {
            char t[33];
            memcpy(t, p, 32);
            t[32] = 0;
            json_t *v = json_string(t);
            json_object_set_new(o, nm, v ? v : json_null());
            break;
        }
        }
    }
    return o;
}

/* /summary/pairs as {"<a>__<b>": {"model_a", "model_b", "token_shift": [...], ...}} (filtered by model,
 * word). */
static json_t *pairs_json(const LsSummary *s, const LsPairsSummary *ps, const Filter *f) {
    json_t *o = json_object();
    for (size_t i = 0; i < ps->n_pairs; i++) {
        const LsPairSummary *p = &ps->pairs[i];
        if (!want_model(s, f, p->a) && !want_model(s, f, p->b)) continue;
        json_t *g = json_object(), *ts = json_array(), *od = json_array(), *ws = json_array();
        json_object_set_new(g, "model_a", json_string(s->models[p->a]));
        json_object_set_new(g, "model_b", json_string(s->models[p->b]));
        json_object_set_new(g, "before", json_integer((json_int_t)p->before));
        for (size_t r = 0; r < p->n_shift; r++)
            json_array_append_new(ts, row_json(s, &LS_TABLE_TOKEN_SHIFT, &p->shift[r]));
        for (size_t r = 0; r < p->n_occ; r++)
            json_array_append_new(od, row_json(s, &LS_TABLE_OCC_DIV, &p->occ[r]));
        for (size_t r = 0; r < p->n_word; r++)
            if (want_word(s, f, p->word[r].word))
                json_array_append_new(ws, row_json(s, &LS_TABLE_WORD_SHIFT, &p->word[r]));
        json_object_set_new(g, "token_shift", ts);
        json_object_set_new(g, "occurrence_divergence", od);
        json_object_set_new(g, "word_shift", ws);
        json_object_set_new(o, p->name, g);
    }
    return o;
}

/* /summary/lens as {"<m>": {"depths", "settle_depth": {word: d}, "rows": [...]}}. */
static json_t *lens_json(const LsSummary *s, const LsPairsSummary *ps, const Filter *f) {
    json_t *o = json_object();
    for (size_t i = 0; i < ps->n_lens; i++) {
        const LsLensSummary *l = &ps->lens[i];
        if (!want_model(s, f, l->model)) continue;
        json_t *g = json_object(), *rows = json_array(), *settle = json_object();
        json_object_set_new(g, "depths", json_integer((json_int_t)l->depths));
        for (size_t r = 0; r < l->n; r++)
            if (want_word(s, f, l->rows[r].word))
                json_array_append_new(rows, row_json(s, &LS_TABLE_LENS, &l->rows[r]));
        for (size_t w = 0; w < s->n_words; w++)
            if (want_word(s, f, (int)w)) {
                int d = ls_lens_settle_depth(l->rows, l->n, (int)w);
                json_object_set_new(settle, s->words[w], d < 0 ? json_null() : json_integer(d));
            }
        json_object_set_new(g, "settle_depth", settle);
        json_object_set_new(g, "rows", rows);
        json_object_set_new(o, s->models[l->model], g);
    }
    return o;
}

/* ---- the significant list -------------------------------------------------- */

typedef struct {
    char text[256];
    double q;
} Sig;

typedef struct {
    Sig *v;
    size_t n, cap;
} SigList;

static void sig_add(SigList *l, double q, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sig_add(SigList *l, double q, const char *fmt, ...) {
    if (l->n == l->cap) l->v = ls_realloc(l->v, (l->cap = l->cap ? 2 * l->cap : 16) * sizeof *l->v);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->v[l->n].text, sizeof l->v[l->n].text, fmt, ap);
    va_end(ap);
    l->v[l->n++].q = q;
}

static int cmp_sig(const void *a, const void *b) {
    double x = ((const Sig *)a)->q, y = ((const Sig *)b)->q;
    return (x > y) - (x < y);
}

static int want_pair(const LsSummary *s, const Filter *f, int a, int b, int w) {
    return (want_model(s, f, a) || want_model(s, f, b)) && want_word(s, f, w);
}

/* "b/a ratio 1.23 [1.10, 1.40]" or "per level ×1.05 [...]" for one primary row. */
static void primary_text(const LsSummary *s, const LsSumPrimary *r, char *buf, size_t n) {
    static const char *const what[LS_PRIMARY_COUNT] = {"pair effect   b/a", "level trend   per level",
                                                       "correctness   correct/incorrect"};
    char ab[96];
    snprintf(ab, sizeof ab, "%s vs %s", s->models[r->model_b], s->models[r->model_a]);
    int len = snprintf(buf, n, "%-22s %-10s %-32s", ab, s->words[r->word],
                       r->test < LS_PRIMARY_COUNT ? what[r->test] : "?");
    if (len < 0 || (size_t)len >= n) return;
    if (r->reason)
        snprintf(buf + len, n - (size_t)len, " (%s)  n = %lld (%lld clusters)",
                 ls_reduce_reason_name(r->reason), (long long)r->n, (long long)r->n_clusters);
    else
        snprintf(buf + len, n - (size_t)len,
                 " x%.4g [%.4g, %.4g] (%s)  n = %lld (%lld clusters)  p = %.3g (%s, %lld)  q = %.3g%s",
                 r->ratio, r->ratio_lo, r->ratio_hi,
                 r->ci_method == LS_CI_BCA    ? "BCa"
                 : r->ci_method == LS_CI_WALD ? "Wald"
                                              : "no CI",
                 (long long)r->n, (long long)r->n_clusters, r->p, ls_reduce_method_name(r->p_method),
                 (long long)r->p_resamples, r->q, r->eligible ? "" : "  [below min n]");
}

/* Only the primary tests enter the list (one BH family), and only those on at
 * least min_clusters clusters (`eligible`). */
static void collect_sig(const LsSummary *s, const Filter *f, SigList *l) {
    char buf[256];
    for (size_t i = 0; i < s->n_primary; i++) {
        const LsSumPrimary *r = &s->primary[i];
        if (!want_pair(s, f, r->model_a, r->model_b, r->word) || !r->eligible || !(r->q < f->alpha)) continue;
        primary_text(s, r, buf, sizeof buf);
        sig_add(l, r->q, "%s", buf);
    }
    if (l->n > 1) qsort(l->v, l->n, sizeof *l->v, cmp_sig);
}

/* Records run, skipped, truncated and windowed per group, with the warning
 * when the rates differ. */
static void print_length(const LsSummary *s) {
    if (!s->n_length) return;
    printf("\n== long and bad records per group (skipped: too long or bad; truncated; scored in windows)\n");
    for (size_t i = 0; i < s->n_length; i++) {
        const LsSumLength *r = &s->length[i];
        if (r->skipped < 0)
            printf("  %-9s run %6lld  skipped ?  (the file does not record their group)",
                   ls_reduce_group_name(r->group), (long long)r->kept);
        else
            printf("  %-9s run %6lld  skipped %6lld  rate %.3f", ls_reduce_group_name(r->group),
                   (long long)r->kept, (long long)r->skipped, r->rate);
        if (r->truncated >= 0)
            printf("  truncated %6lld (%.3f)  windowed %6lld (%.3f)", (long long)r->truncated,
                   r->truncated_rate, (long long)r->windowed, r->windowed_rate);
        printf("\n");
    }
    if (s->length_warning == 1)
        printf("  WARNING: skip, truncation or window rates differ across levels or correctness: long "
               "answers are "
               "treated unevenly, so the group comparisons may be biased (docs/statistics.md)\n");
}

static void print_primary(const LsSummary *s, const Filter *f) {
    char buf[256];
    printf("\n== primary tests: d = log propensity(b) - log propensity(a) per sample; ratios = exp(effect)\n"
           "   95%% intervals; p: sign-flip test over clusters; q: BH over all %zu primary tests;\n"
           "   fewer than %lld clusters: never significant (docs/statistics.md)\n",
           s->n_primary, (long long)s->min_clusters);
    for (size_t i = 0; i < s->n_primary; i++) {
        const LsSumPrimary *r = &s->primary[i];
        if (!want_pair(s, f, r->model_a, r->model_b, r->word)) continue;
        primary_text(s, r, buf, sizeof buf);
        printf("  %s\n", buf);
    }
}

/* ---- text ------------------------------------------------------------------ */

/* A number in a fixed-width cell; NaN as "-". */
static const char *cell(char *buf, size_t n, const char *fmt, double x) {
    if (isnan(x))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, x);
    return buf;
}

static const char *ci(char *buf, size_t n, double m, double lo, double hi) {
    if (isnan(m))
        snprintf(buf, n, "-");
    else if (isnan(lo))
        snprintf(buf, n, "%.4g", m);
    else
        snprintf(buf, n, "%.4g [%.4g, %.4g]", m, lo, hi);
    return buf;
}

/* A test's p and q, or the reason when it has none. */
static const char *pq(char *buf, size_t n, double stat, double p, double q, int reason) {
    if (reason)
        snprintf(buf, n, "(%s)", ls_reduce_reason_name(reason));
    else
        snprintf(buf, n, "%-9.4g p=%-9.3g q=%-9.3g", stat, p, q);
    return buf;
}

static void print_meta(const char *path, json_t *meta, const LsSummary *s) {
    printf("== %s\n", path);
    static const char *const keys[] = {"complete", "tool_version", "git_commit", "created", "world_size",
                                       "tp_size",  "dp_size",      "data_path",  "models",  "target_words"};
    for (size_t i = 0; i < LS_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(meta, keys[i]);
        if (!v) continue;
        if (json_is_string(v)) {
            printf("  %-14s %s\n", keys[i], json_string_value(v));
        } else if (json_is_array(v)) {
            printf("  %-14s", keys[i]);
            for (size_t k = 0; k < json_array_size(v); k++)
                printf("%s%s", k ? ", " : " ", json_string_value(json_array_get(v, k)));
            printf("\n");
        } else if (json_is_integer(v))
            printf("  %-14s %lld\n", keys[i], (long long)json_integer_value(v));
    }
    printf("  %-14s %lld (%lld left out: not done)\n", "samples", (long long)s->n_samples,
           (long long)s->samples_left_out);
    printf("  %-14s B = %lld, seed %lld (descriptive: cluster-bootstrap BCa CIs of the groups)\n",
           "bootstrap", (long long)s->bootstrap, (long long)s->seed);
    printf("  %-14s B = %lld (primary: cluster-bootstrap BCa, random sign flips)\n", "resamples",
           (long long)s->resamples);
    json_t *c = json_object_get(meta, "complete");
    if (c && json_integer_value(c) != 1)
        printf("  WARNING: the file is marked incomplete (complete = %lld): a killed or running job\n",
               (long long)json_integer_value(c));
}

static void print_model(const LsSummary *s, const Filter *f, int m) {
    char b1[64], b2[64], b3[64], b4[64], b5[64], b6[64];
    printf("\n== model %s\n", s->models[m]);
    for (size_t w = 0; w < s->n_words; w++) {
        if (!want_word(s, f, (int)w)) continue;
        printf("\n-- %s / \"%s\"\n", s->models[m], s->words[w]);
        printf("  %-9s %6s %9s %6s %7s %6s  %-32s %-36s %7s %7s\n", "group", "n", "ans_tok", "occ", "per_1k",
               "share", "P(occurrence) mean [95% CI]", "propensity/sample mean [95% CI]", "H@occ", "H@all");
        for (size_t i = 0; i < s->n_groups; i++) {
            const LsSumGroup *r = &s->groups[i];
            if (r->model != m || (size_t)r->word != w) continue;
            printf("  %-9s %6lld %9lld %6lld %7s %6s  %-32s %-36s %7s %7s\n", ls_reduce_group_name(r->group),
                   (long long)r->n_samples, (long long)r->answer_tokens, (long long)r->occurrences,
                   cell(b1, sizeof b1, "%.3f", r->per_1k), cell(b2, sizeof b2, "%.3f", r->share_containing),
                   ci(b3, sizeof b3, r->prob_mean, r->prob_ci_lo, r->prob_ci_hi),
                   r->propensity_reason == LS_REDUCE_NO_FORMS ? "(no single-token form)"
                                                              : ci(b4, sizeof b4, r->propensity_sample_mean,
                                                                   r->propensity_ci_lo, r->propensity_ci_hi),
                   cell(b5, sizeof b5, "%.3f", r->entropy_occ_mean),
                   cell(b6, sizeof b6, "%.3f", r->entropy_all_mean));
        }
    }
    printf("\n-- %s: correct vs incorrect (a = correct, b = incorrect)\n", s->models[m]);
    printf("  %-10s %-15s %6s %6s %10s %10s  %-40s %-40s %7s %7s\n", "word", "variable", "n_a", "n_b",
           "mean_a", "mean_b", "Welch t", "Mann-Whitney U", "r_rb", "d");
    for (size_t i = 0; i < s->n_correct; i++) {
        const LsSumCorrect *r = &s->correct[i];
        if (r->model != m || !want_word(s, f, r->word)) continue;
        char p1[96], p2[96];
        printf("  %-10s %-15s %6lld %6lld %10s %10s  %-40s %-40s %7s %7s\n", s->words[r->word],
               ls_reduce_variable_name(r->variable), (long long)r->n_correct, (long long)r->n_incorrect,
               cell(b1, sizeof b1, "%.4g", r->mean_correct), cell(b2, sizeof b2, "%.4g", r->mean_incorrect),
               pq(p1, sizeof p1, r->welch_t, r->welch_p, r->welch_q, r->welch_reason),
               pq(p2, sizeof p2, r->mwu_u, r->mwu_p, r->mwu_q, r->mwu_reason),
               cell(b3, sizeof b3, "%.3f", r->rank_biserial), cell(b4, sizeof b4, "%.3f", r->cohen_d));
    }
    printf("\n-- %s: across levels 1-5\n", s->models[m]);
    printf("  %-10s %-15s %6s  %-40s %-40s  %s\n", "word", "variable", "n", "Spearman rho",
           "Kruskal-Wallis H", "mean by level 1..5");
    for (size_t i = 0; i < s->n_levels; i++) {
        const LsSumLevel *r = &s->levels[i];
        if (r->model != m || !want_word(s, f, r->word)) continue;
        char p1[96], p2[96], means[160] = "";
        size_t used = 0;
        for (int L = 0; L < 5; L++)
            used += (size_t)snprintf(means + used, sizeof means - used, "%s%s", L ? " " : "",
                                     cell(b1, sizeof b1, "%.3g", r->mean_by_level[L]));
        printf("  %-10s %-15s %6lld  %-40s %-40s  %s\n", s->words[r->word],
               ls_reduce_variable_name(r->variable), (long long)r->n,
               pq(p1, sizeof p1, r->spearman_rho, r->spearman_p, r->spearman_q, r->spearman_reason),
               pq(p2, sizeof p2, r->kruskal_h, r->kruskal_p, r->kruskal_q, r->kruskal_reason), means);
    }
}

static void print_pairs(const LsSummary *s, const Filter *f) {
    if (!s->n_pairs) return;
    char b1[64], b2[64], b3[64], b4[64];
    printf("\n== model comparisons (paired, per-sample propensity; diff = a - b)\n");
    printf("  %-24s %-10s %6s %10s %10s  %-34s %-40s %7s\n", "a vs b", "word", "n", "mean_a", "mean_b",
           "diff mean [95% CI]", "Wilcoxon W", "r");
    for (size_t i = 0; i < s->n_pairs; i++) {
        const LsSumPair *r = &s->pairs[i];
        if (!(want_model(s, f, r->model_a) || want_model(s, f, r->model_b)) || !want_word(s, f, r->word))
            continue;
        char ab[128], p1[96];
        snprintf(ab, sizeof ab, "%s vs %s", s->models[r->model_a], s->models[r->model_b]);
        printf("  %-24s %-10s %6lld %10s %10s  %-34s %-40s %7s\n", ab, s->words[r->word],
               (long long)r->n_pairs, cell(b1, sizeof b1, "%.4g", r->mean_a),
               cell(b2, sizeof b2, "%.4g", r->mean_b),
               ci(b3, sizeof b3, r->diff_mean, r->diff_ci_lo, r->diff_ci_hi),
               pq(p1, sizeof p1, r->wilcoxon_w, r->wilcoxon_p, r->wilcoxon_q, r->wilcoxon_reason),
               cell(b4, sizeof b4, "%.3f", r->wilcoxon_r));
    }
}

static int report(const char *path, const LsSummary *s, const LsPairsSummary *ps, const Filter *f) {
    LsError e;
    json_t *meta = read_meta(path, &e);
    if (!meta) {
        fprintf(stderr, "logits-study inspect: %s\n", e.msg);
        return 1;
    }
    SigList sig = {0};
    collect_sig(s, f, &sig);
    if (f->json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "metadata", meta);
        json_object_set_new(o, "alpha", json_real(f->alpha));
        json_t *tabs[4] = {json_array(), json_array(), json_array(), json_array()}, *prim = json_array();
        for (size_t i = 0; i < s->n_primary; i++)
            if (want_pair(s, f, s->primary[i].model_a, s->primary[i].model_b, s->primary[i].word))
                json_array_append_new(prim, row_json(s, &LS_TABLE_PRIMARY, &s->primary[i]));
        json_object_set_new(o, "primary", prim);
        json_t *lenj = json_array();
        for (size_t i = 0; i < s->n_length; i++)
            json_array_append_new(lenj, row_json(s, &LS_TABLE_LENGTH, &s->length[i]));
        json_object_set_new(o, "length_policy", lenj);
        json_object_set_new(o, "length_policy_warning", json_boolean(s->length_warning == 1));
        for (size_t i = 0; i < s->n_groups; i++)
            if (want_model(s, f, s->groups[i].model) && want_word(s, f, s->groups[i].word))
                json_array_append_new(tabs[0], row_json(s, &LS_TABLE_GROUPS, &s->groups[i]));
        for (size_t i = 0; i < s->n_correct; i++)
            if (want_model(s, f, s->correct[i].model) && want_word(s, f, s->correct[i].word))
                json_array_append_new(tabs[1], row_json(s, &LS_TABLE_CORRECT, &s->correct[i]));
        for (size_t i = 0; i < s->n_levels; i++)
            if (want_model(s, f, s->levels[i].model) && want_word(s, f, s->levels[i].word))
                json_array_append_new(tabs[2], row_json(s, &LS_TABLE_LEVELS, &s->levels[i]));
        for (size_t i = 0; i < s->n_pairs; i++)
            if ((want_model(s, f, s->pairs[i].model_a) || want_model(s, f, s->pairs[i].model_b)) &&
                want_word(s, f, s->pairs[i].word))
                json_array_append_new(tabs[3], row_json(s, &LS_TABLE_PAIRS, &s->pairs[i]));
        json_object_set_new(o, "groups", tabs[0]);
        json_object_set_new(o, "correctness", tabs[1]);
        json_object_set_new(o, "levels", tabs[2]);
        json_object_set_new(o, "model_pairs", tabs[3]);
        json_t *sj = json_array();
        for (size_t i = 0; i < sig.n; i++)
            json_array_append_new(sj, json_string(sig.v[i].text));
        json_object_set_new(o, "significant", sj);
        json_object_set_new(o, "pairs", pairs_json(s, ps, f));
        json_object_set_new(o, "lens", lens_json(s, ps, f));
        char *txt = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        puts(txt ? txt : "{}");
        free(txt);
        json_decref(o);
    } else {
        print_meta(path, meta, s);
        json_decref(meta);
        print_length(s);
        print_primary(s, f);
        printf("\n== primary results significant after Benjamini-Hochberg (q < %g, one family)\n", f->alpha);
        if (!sig.n) printf("  none\n");
        for (size_t i = 0; i < sig.n; i++)
            printf("  %s\n", sig.v[i].text);
        ls_inspect_pairs_text(s, ps, f->models, f->n_models, f->words, f->n_words);
        printf("\n== descriptive tables (tests below are secondary: not corrected across the file)\n");
        for (size_t m = 0; m < s->n_models; m++)
            if (want_model(s, f, (int)m)) print_model(s, f, (int)m);
        print_pairs(s, f);
    }
    free(sig.v);
    return 0;
}

int ls_cmd_inspect(int argc, char **argv) {
    const char *path = NULL;
    const char **models = ls_calloc((size_t)argc, sizeof *models),
               **words = ls_calloc((size_t)argc, sizeof *words);
    Filter f = {models, words, 0, 0, 0.05, 0};
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            free(models);
            free(words);
            return 0;
        } else if (!strcmp(a, "--model") && has) {
            models[f.n_models++] = argv[++i];
        } else if (!strcmp(a, "--word") && has) {
            words[f.n_words++] = argv[++i];
        } else if (!strcmp(a, "--alpha") && has) {
            char *end;
            f.alpha = strtod(argv[++i], &end);
            if (*end || !(f.alpha > 0 && f.alpha < 1)) {
                fprintf(stderr, "logits-study inspect: --alpha '%s': expected a number in (0, 1)\n", argv[i]);
                rc = 2;
            }
        } else if (!strcmp(a, "--json")) {
            f.json = 1;
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "logits-study inspect: unexpected argument '%s'\n%s", a, USAGE);
            rc = 2;
        } else {
            path = a;
        }
    }
    if (!rc && !path) {
        fprintf(stderr, "logits-study inspect: FILE is required\n%s", USAGE);
        rc = 2;
    }
    LsSummary s;
    LsError e = {{0}};
    if (!rc && ls_summary_read(path, &s, &e)) {
        fprintf(stderr, "logits-study inspect: %s\n", e.msg);
        rc = 1;
    }
    if (!rc) {
        for (int i = 0; i < f.n_models && !rc; i++)
            if (!name_in(models[i], (const char **)s.models, (int)s.n_models)) {
                fprintf(stderr,
                        "logits-study inspect: --model %s: not a model of this file (models:", models[i]);
                for (size_t k = 0; k < s.n_models; k++)
                    fprintf(stderr, " %s", s.models[k]);
                fprintf(stderr, ")\n");
                rc = 2;
            }
        for (int i = 0; i < f.n_words && !rc; i++)
            if (!name_in(words[i], (const char **)s.words, (int)s.n_words)) {
                fprintf(stderr, "logits-study inspect: --word %s is not one of the file's target words\n",
                        words[i]);
                rc = 2;
            }
        LsPairsSummary ps = {0};
        hid_t h = rc ? H5I_INVALID_HID : ls_h5_file_open(path, 0, &e);
        if (!rc && (h < 0 || ls_pairs_summary_read(h, path, s.models, s.n_models, &ps, &e))) {
            fprintf(stderr, "logits-study inspect: %s\n", e.msg);
            rc = 1;
        }
        if (h >= 0) H5Fclose(h);
        if (!rc) rc = report(path, &s, &ps, &f);
        ls_pairs_summary_free(&ps);
        ls_summary_free(&s);
    }
    free(models);
    free(words);
    return rc;
}
