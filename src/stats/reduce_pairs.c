/* reduce_pairs.c — /summary/pairs and /summary/lens (ls/reduce_pairs.h,
 * docs/pairs.md, docs/statistics.md "Model pairs and the logit lens"): the
 * token shift, divergence near occurrences vs elsewhere and the word shift of
 * every complete pair of the file, and the lens log-prob per word and depth of
 * every model with lens datasets. Serial HDF5 on rank 0, inputs validated as
 * in reduce.c (every length, offset and index). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/h5io.h"
#include "ls/h5out.h"
#include "ls/pair_reduce.h"
#include "ls/reduce_pairs.h"
#include "ls/stats.h"
#include "ls/targets.h"
#include "ls/tokenizer.h"
#include "summary_schema.h"

#define FLD(T, f, k)                                                                                         \
    { #f, offsetof(T, f), k }

static const LsField SHIFT_FIELDS[] = {
    FLD(LsSumTokenShift, token, LS_F_I64),    FLD(LsSumTokenShift, count, LS_F_I64),
    FLD(LsSumTokenShift, nsamples, LS_F_I64), FLD(LsSumTokenShift, mean, LS_F_F64),
    FLD(LsSumTokenShift, ci_lo, LS_F_F64),    FLD(LsSumTokenShift, ci_hi, LS_F_F64),
    FLD(LsSumTokenShift, text, LS_F_S32),
};

static const LsField OCC_FIELDS[] = {
    FLD(LsSumOccDiv, level, LS_F_I8),           FLD(LsSumOccDiv, correct, LS_F_I8),
    FLD(LsSumOccDiv, metric, LS_F_I8),          FLD(LsSumOccDiv, n, LS_F_I64),
    FLD(LsSumOccDiv, mean_near, LS_F_F64),      FLD(LsSumOccDiv, mean_other, LS_F_F64),
    FLD(LsSumOccDiv, diff_mean, LS_F_F64),      FLD(LsSumOccDiv, diff_median, LS_F_F64),
    FLD(LsSumOccDiv, diff_sd, LS_F_F64),        FLD(LsSumOccDiv, diff_ci_lo, LS_F_F64),
    FLD(LsSumOccDiv, diff_ci_hi, LS_F_F64),     FLD(LsSumOccDiv, diff_reason, LS_F_I8),
    FLD(LsSumOccDiv, wilcoxon_w, LS_F_F64),     FLD(LsSumOccDiv, wilcoxon_p, LS_F_F64),
    FLD(LsSumOccDiv, wilcoxon_method, LS_F_I8), FLD(LsSumOccDiv, wilcoxon_reason, LS_F_I8),
    FLD(LsSumOccDiv, wilcoxon_r, LS_F_F64),
};

static const LsField WORD_FIELDS[] = {
    FLD(LsSumWordShift, word, LS_F_I16),        FLD(LsSumWordShift, n_occurrences, LS_F_I64),
    FLD(LsSumWordShift, n_samples, LS_F_I64),   FLD(LsSumWordShift, n_clusters, LS_F_I64),
    FLD(LsSumWordShift, mean, LS_F_F64),        FLD(LsSumWordShift, ci_lo, LS_F_F64),
    FLD(LsSumWordShift, ci_hi, LS_F_F64),       FLD(LsSumWordShift, reason, LS_F_I8),
    FLD(LsSumWordShift, primary_row, LS_F_I64),
};

static const LsField LENS_FIELDS[] = {
    FLD(LsSumLens, word, LS_F_I16),          FLD(LsSumLens, depth, LS_F_I16),
    FLD(LsSumLens, n_occurrences, LS_F_I64), FLD(LsSumLens, n_samples, LS_F_I64),
    FLD(LsSumLens, n_clusters, LS_F_I64),    FLD(LsSumLens, logprob_mean, LS_F_F64),
    FLD(LsSumLens, logprob_ci_lo, LS_F_F64), FLD(LsSumLens, logprob_ci_hi, LS_F_F64),
    FLD(LsSumLens, logprob_reason, LS_F_I8), FLD(LsSumLens, entropy_mean, LS_F_F64),
};

#define TABLE(var, nm, T, F) const LsTable var = {nm, F, sizeof F / sizeof F[0], sizeof(T)}
TABLE(LS_TABLE_TOKEN_SHIFT, "token_shift", LsSumTokenShift, SHIFT_FIELDS);
TABLE(LS_TABLE_OCC_DIV, "occurrence_divergence", LsSumOccDiv, OCC_FIELDS);
TABLE(LS_TABLE_WORD_SHIFT, "word_shift", LsSumWordShift, WORD_FIELDS);
TABLE(LS_TABLE_LENS, "lens", LsSumLens, LENS_FIELDS);

static const char *const METRICS[LS_PAIRS_METRICS] = {"kl_ab", "kl_ba", "js"};

const char *ls_pairs_metric_name(int metric) {
    return metric >= 0 && metric < LS_PAIRS_METRICS ? METRICS[metric] : "unknown";
}

/* ---- reading ----------------------------------------------------------------- */

/* A whole 1-D dataset of length n (LS_H5_ANY: any; *len gets it) of class cls as mem_type. */
static int read_vec(hid_t f, const char *file, const char *path, uint64_t n, H5T_class_t cls, hid_t mem_type,
                    void **out, uint64_t *len, LsError *e) {
    *out = NULL;
    uint64_t dims[1];
    hid_t ds = ls_h5_dataset_open_shape(f, path, 1, n == LS_H5_ANY ? NULL : &n, dims, e);
    if (ds < 0) return ls_fail_prefix(e, "%s", file);
    void *buf = ls_malloc((size_t)dims[0] * H5Tget_size(mem_type) + 1);
    int rc = ls_h5_dataset_check_class(ds, cls, e) || ls_h5_dataset_read_all(ds, mem_type, buf, e);
    H5Dclose(ds);
    if (rc) {
        free(buf);
        return ls_fail_prefix(e, "%s", file);
    }
    *out = buf;
    if (len) *len = dims[0];
    return LS_OK;
}

static int read_occurrences(hid_t f, const char *file, const char *model, LsOccurrence **occ, size_t *n,
                            LsError *e) {
    char path[1400];
    snprintf(path, sizeof path, "/models/%s/occurrences", model);
    uint64_t dims[1];
    hid_t ds = ls_h5_dataset_open_shape(f, path, 1, NULL, dims, e);
    if (ds < 0) return ls_fail_prefix(e, "%s", file);
    *n = (size_t)dims[0];
    *occ = ls_malloc((*n ? *n : 1) * sizeof **occ);
    hid_t ot = ls_h5_occurrence_type();
    int rc = ls_h5_dataset_read_all(ds, ot, *occ, e);
    H5Tclose(ot);
    H5Dclose(ds);
    if (rc) {
        free(*occ);
        *occ = NULL;
        return ls_fail_prefix(e, "%s: %s", file, path);
    }
    return LS_OK;
}

static int attr_i64_or(hid_t obj, const char *name, int64_t dflt, int64_t *v, LsError *e) {
    int has = 0;
    *v = dflt;
    if (ls_h5_attr_has(obj, name, &has, e)) return LS_ERR;
    return has ? ls_h5_attr_get_i64(obj, name, v, e) : LS_OK;
}

static int link_exists(hid_t f, const char *path) {
    int ex = 0;
    LsError e;
    return !ls_h5_link_exists(f, path, &ex, &e) && ex;
}

/* ---- one pair ------------------------------------------------------------------ */

typedef struct {
    const LsPairsInput *in;
    const LsReduceOptions *opt;
    size_t a, b, k; /* models, pair index */
    size_t T;
    int64_t *off;   /* [N+1] model a */
    int32_t *start; /* [N] */
    uint8_t *unit;  /* [N] sample used: done everywhere and in the pair */
    size_t *cl;     /* [N] dense cluster index of unit samples */
    size_t G;
    LsOccurrence *occ;
    size_t n_occ;
} Pair;

static uint64_t pair_seed(const Pair *p, uint64_t r) {
    return p->opt->seed + LS_PAIRS_SEED_OFFSET * (uint64_t)(p->k + 1) + r;
}

static void pair_free(Pair *p) {
    free(p->off);
    free(p->start);
    free(p->unit);
    free(p->cl);
    free(p->occ);
}

void ls_token_text_fit(const char *s, size_t n, char out[LS_TOKEN_TEXT_LEN]) {
    memset(out, 0, LS_TOKEN_TEXT_LEN);
    if (n > LS_TOKEN_TEXT_LEN - 1) {
        n = LS_TOKEN_TEXT_LEN - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
}

/* The text of a token: its decoded UTF-8 (empty without a tokenizer). */
static void token_text(const LsTokenizer *tok, int32_t id, char *out) {
    memset(out, 0, LS_TOKEN_TEXT_LEN);
    char *s = NULL;
    size_t n = 0;
    if (!tok || ls_tokenizer_decode(tok, &id, 1, &s, &n) || !s) return;
    ls_token_text_fit(s, n, out);
    free(s);
}

static int read_f32(const Pair *p, const char *pair, const char *leaf, float **out, LsError *e) {
    char path[1400];
    snprintf(path, sizeof path, "/pairs/%s/%s", pair, leaf);
    return read_vec(p->in->f, p->in->file, path, p->T, H5T_FLOAT, H5T_NATIVE_FLOAT, (void **)out, NULL, e);
}

/* Token shift over the answer positions of the unit samples; the unit of the
 * bootstrap is the cluster. The bootstrap draws depend on the number of
 * clusters and the seed alone, so the intervals of the kept rows are computed
 * on their positions only. */
static int token_shift(const Pair *p, const float *dlp, const int32_t *tokens, const LsTokenizer *tok,
                       LsSumTokenShift **out, size_t *nout, LsError *e) {
    const LsPairsInput *in = p->in;
    size_t n = 0;
    for (size_t i = 0; i < in->N; i++)
        if (p->unit[i]) n += (size_t)(p->off[i + 1] - p->off[i] - p->start[i]);
    int32_t *tk = ls_malloc((n ? n : 1) * sizeof *tk), *sm = ls_malloc((n ? n : 1) * sizeof *sm);
    float *d = ls_malloc((n ? n : 1) * sizeof *d);
    size_t j = 0;
    for (size_t i = 0; i < in->N; i++) {
        if (!p->unit[i]) continue;
        for (int64_t q = p->off[i] + p->start[i]; q < p->off[i + 1]; q++, j++)
            tk[j] = tokens[q], d[j] = dlp[q], sm[j] = (int32_t)p->cl[i];
    }
    LsTokenShift *all = NULL, *kept = NULL;
    size_t nall = 0, nkept = 0;
    int rc = ls_token_shift(tk, d, sm, n, p->G, LS_PAIRS_MIN_COUNT, 0, 0, &all, &nall, e);
    if (!rc) {
        /* the top and bottom LS_PAIRS_TOP tokens by mean */
        int32_t maxid = 0;
        for (size_t r = 0; r < nall; r++)
            maxid = all[r].token > maxid ? all[r].token : maxid;
        uint8_t *keep = ls_calloc((size_t)maxid + 1, 1);
        for (size_t r = 0; r < nall; r++)
            if (nall <= 2 * LS_PAIRS_TOP || r < LS_PAIRS_TOP || r >= nall - LS_PAIRS_TOP)
                keep[all[r].token] = 1;
        size_t m = 0;
        for (size_t q = 0; q < n; q++)
            if (tk[q] <= maxid && keep[tk[q]]) tk[m] = tk[q], d[m] = d[q], sm[m++] = sm[q];
        free(keep);
        rc = ls_token_shift(tk, d, sm, m, p->G, LS_PAIRS_MIN_COUNT, p->opt->bootstrap, pair_seed(p, 0), &kept,
                            &nkept, e);
    }
    if (!rc) {
        *out = ls_calloc(nkept ? nkept : 1, sizeof **out);
        for (size_t r = 0; r < nkept; r++) {
            LsSumTokenShift *o = &(*out)[r];
            o->token = kept[r].token, o->count = (int64_t)kept[r].count,
            o->nsamples = (int64_t)kept[r].nsamples;
            o->mean = kept[r].mean, o->ci_lo = kept[r].ci_lo, o->ci_hi = kept[r].ci_hi;
            token_text(tok, kept[r].token, o->text);
        }
        *nout = nkept;
    }
    free(all);
    free(kept);
    free(tk);
    free(sm);
    free(d);
    return rc;
}

/* Divergence near occurrence starts vs elsewhere: rows metric x level (all, 1..5) x correct (all, 1, 0). */
static int occurrence_divergence(const Pair *p, const char *pair, LsSumOccDiv *rows, LsError *e) {
    const LsPairsInput *in = p->in;
    size_t N = in->N;
    uint8_t *answer = ls_calloc(p->T + 1, 1), *occ = ls_calloc(p->T + 1, 1);
    for (size_t i = 0; i < N; i++)
        for (int64_t q = p->off[i] + p->start[i]; q < p->off[i + 1]; q++)
            answer[q] = 1;
    for (size_t r = 0; r < p->n_occ; r++)
        occ[p->off[p->occ[r].sample] + p->occ[r].position] = 1;
    double *near = ls_malloc((N + 1) * sizeof *near), *other = ls_malloc((N + 1) * sizeof *other);
    uint8_t *grp = ls_malloc(N + 1);
    int rc = LS_OK;
    static const int correct_codes[LS_PAIRS_CORRECT] = {-1, 1, 0};
    for (int mt = 0; mt < LS_PAIRS_METRICS && !rc; mt++) {
        float *div = NULL;
        if ((rc = read_f32(p, pair, METRICS[mt], &div, e))) break;
        for (size_t i = 0; i < N; i++) {
            near[i] = other[i] = NAN;
            if (!p->unit[i]) continue;
            int32_t so[2] = {0, (int32_t)(p->off[i + 1] - p->off[i])};
            ls_occurrence_means(div + p->off[i], answer + p->off[i], occ + p->off[i], so, 1, LS_PAIRS_BEFORE,
                                &near[i], &other[i]);
        }
        free(div);
        for (int L = 0; L < LS_PAIRS_LEVELS; L++)
            for (int c = 0; c < LS_PAIRS_CORRECT; c++) {
                size_t r = ((size_t)mt * LS_PAIRS_LEVELS + (size_t)L) * LS_PAIRS_CORRECT + (size_t)c;
                int cc = correct_codes[c];
                for (size_t i = 0; i < N; i++)
                    grp[i] = p->unit[i] && (L == 0 || in->level[i] == L) && (cc < 0 || in->correct[i] == cc);
                LsOccContrast o =
                    ls_occurrence_contrast(near, other, grp, N, p->opt->bootstrap, pair_seed(p, 1 + r));
                LsSumOccDiv *row = &rows[r];
                row->level = (int8_t)L, row->correct = (int8_t)cc, row->metric = (int8_t)mt;
                row->n = (int64_t)o.n, row->mean_near = o.mean_near, row->mean_other = o.mean_other;
                row->diff_mean = o.diff.mean, row->diff_median = o.diff.median, row->diff_sd = o.diff.sd;
                row->diff_ci_lo = o.diff.ci_lo, row->diff_ci_hi = o.diff.ci_hi;
                row->diff_reason = (int8_t)o.diff.reason;
                row->wilcoxon_w = o.test.statistic, row->wilcoxon_p = o.test.p;
                if (o.test.p == 0.0) row->wilcoxon_p = LS_PAIRS_P_FLOOR;
                row->wilcoxon_method = (int8_t)o.test.method, row->wilcoxon_reason = (int8_t)o.test.reason;
                row->wilcoxon_r = o.test.effect;
            }
    }
    free(answer);
    free(occ);
    free(near);
    free(other);
    free(grp);
    return rc;
}

/* BCa interval of a ratio mean over the clusters with cnt > 0 (compacted in place, increasing cluster
 * order), as reduce.c's descriptive intervals. */
static LsStatInterval ratio_bca(double *sum, double *cnt, size_t G, size_t B, uint64_t key, double *est,
                                size_t *used) {
    size_t k = 0;
    for (size_t c = 0; c < G; c++)
        if (cnt[c] > 0) sum[k] = sum[c], cnt[k++] = cnt[c];
    LsStatInterval ci;
    ls_stats_cluster_bca(sum, cnt, k, 1, B, key, LS_STATS_CI_LEVEL, est, &ci);
    *used = k;
    return ci;
}

static void word_shift(const Pair *p, const float *dlp, LsSumWordShift *rows) {
    const LsPairsInput *in = p->in;
    size_t G = p->G, N = in->N;
    double *sum = ls_malloc((G + 1) * sizeof *sum), *cnt = ls_malloc((G + 1) * sizeof *cnt);
    size_t *last = ls_malloc((N + 1) * sizeof *last);
    for (size_t w = 0; w < in->W; w++) {
        LsSumWordShift *row = &rows[w];
        memset(row, 0, sizeof *row);
        row->word = (int16_t)w, row->primary_row = -1;
        row->mean = row->ci_lo = row->ci_hi = NAN;
        memset(sum, 0, (G + 1) * sizeof *sum);
        memset(cnt, 0, (G + 1) * sizeof *cnt);
        for (size_t i = 0; i < N; i++)
            last[i] = 0;
        for (size_t r = 0; r < p->n_occ; r++) {
            const LsOccurrence *o = &p->occ[r];
            size_t s = (size_t)o->sample;
            if ((size_t)o->word != w || !o->aligned || !p->unit[s]) continue;
            float v = dlp[p->off[s] + o->position];
            if (isnan(v)) continue;
            sum[p->cl[s]] += (double)v, cnt[p->cl[s]] += 1.0;
            row->n_occurrences++;
            if (!last[s]) row->n_samples++, last[s] = 1;
        }
        size_t used = 0;
        double est = NAN;
        LsStatInterval ci = ratio_bca(sum, cnt, G, p->opt->bootstrap, pair_seed(p, 1000 + w), &est, &used);
        row->n_clusters = (int64_t)used;
        if (row->n_occurrences) row->mean = est;
        row->ci_lo = ci.lo, row->ci_hi = ci.hi;
        row->reason = (int8_t)(row->n_occurrences ? ci.reason : LS_STAT_TOO_FEW);
        for (size_t q = 0; q < in->n_primary; q++) {
            const LsSumPrimary *pm = &in->primary[q];
            if ((size_t)pm->model_a == p->a && (size_t)pm->model_b == p->b && (size_t)pm->word == w &&
                pm->test == LS_PRIMARY_PAIR_EFFECT) {
                row->primary_row = (int64_t)q;
                break;
            }
        }
    }
    free(sum);
    free(cnt);
    free(last);
}

static int write_pair(LsH5 *h, hid_t sg, const Pair *p, const char *pair, const LsSumTokenShift *ts,
                      size_t nts, const LsSumOccDiv *od, const LsSumWordShift *ws, int tok_loaded,
                      LsError *e) {
    const LsPairsInput *in = p->in;
    hid_t g = H5Gcreate2(sg, pair, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (LS_H5_CHECK(g, sg, pair, e)) return LS_ERR;
    const char *unit = "sample";
    for (size_t i = 0; i < in->N; i++)
        if (in->problem[i] >= 0) unit = "problem";
    const char *const mn[LS_PAIRS_METRICS] = {METRICS[0], METRICS[1], METRICS[2]};
    int rc =
        ls_h5_attr_str(g, "description",
                       "descriptive views of a model pair (not in the primary BH family): token shift, "
                       "divergence near target-word occurrences vs elsewhere, dlogprob at occurrences",
                       e) ||
        ls_h5_attr_str(g, "model_a", in->models[p->a], e) ||
        ls_h5_attr_str(g, "model_b", in->models[p->b], e) ||
        ls_h5_attr_i64(g, "before", LS_PAIRS_BEFORE, e) ||
        ls_h5_attr_i64(g, "min_count", LS_PAIRS_MIN_COUNT, e) || ls_h5_attr_i64(g, "top", LS_PAIRS_TOP, e) ||
        ls_h5_attr_str(g, "unit", unit, e) || ls_h5_attr_i64(g, "token_text_decoded", tok_loaded, e) ||
        ls_table_write(h, g, &LS_TABLE_TOKEN_SHIFT, ts, nts,
                       "descriptive: per actual next token over answer positions, mean dlogprob = log p_b - "
                       "log p_a with a cluster-bootstrap percentile 95% interval; the top and bottom rows",
                       e) ||
        ls_table_write(h, g, &LS_TABLE_OCC_DIV, od, LS_PAIRS_OCC_ROWS,
                       "descriptive: per metric x level x correctness, per-sample mean divergence near "
                       "occurrence starts vs elsewhere in the answer; paired difference, Wilcoxon",
                       e) ||
        ls_table_write(h, g, &LS_TABLE_WORD_SHIFT, ws, in->W,
                       "descriptive: per target word, mean dlogprob at its aligned occurrence starts, "
                       "cluster-bootstrap BCa; primary_row points at the pair effect on propensity",
                       e);
    if (!rc) {
        hid_t ds = H5Dopen2(g, "occurrence_divergence", H5P_DEFAULT);
        rc = LS_H5_CHECK(ds, g, "occurrence_divergence", e) || ls_h5_attr_strs(ds, "metric_names", mn, 3, e);
        if (ds >= 0) H5Dclose(ds);
    }
    H5Gclose(g);
    return rc ? LS_ERR : LS_OK;
}

/* Checks an index and position of an occurrence row against the model's offsets. */
static int occ_valid(const LsPairsInput *in, const int64_t *off, const int32_t *start, const LsOccurrence *o,
                     size_t r, const char *model, LsError *e) {
    if (o->sample < 0 || (size_t)o->sample >= in->N || o->word < 0 || (size_t)o->word >= in->W)
        return ls_fail(e, "%s: /models/%s/occurrences[%zu]: sample %lld or word %d out of range", in->file,
                       model, r, (long long)o->sample, (int)o->word);
    size_t s = (size_t)o->sample;
    if (o->position < start[s] || o->position >= off[s + 1] - off[s])
        return ls_fail(e,
                       "%s: /models/%s/occurrences[%zu]: position %d is not an answer position of sample %zu",
                       in->file, model, r, (int)o->position, s);
    return LS_OK;
}

static int reduce_pair(LsH5 *h, hid_t sg, Pair *p, const char *pair, LsError *e) {
    const LsPairsInput *in = p->in;
    const char *ma = in->models[p->a];
    size_t N = in->N;
    char path[1400];
    uint64_t T = 0;
    snprintf(path, sizeof path, "/models/%s/token_offset", ma);
    if (read_vec(in->f, in->file, path, N + 1, H5T_INTEGER, H5T_NATIVE_INT64, (void **)&p->off, NULL, e))
        return LS_ERR;
    snprintf(path, sizeof path, "/models/%s/answer_start", ma);
    if (read_vec(in->f, in->file, path, N, H5T_INTEGER, H5T_NATIVE_INT32, (void **)&p->start, NULL, e))
        return LS_ERR;
    p->T = (size_t)p->off[N]; /* offsets and answer starts were validated by reduce.c */
    snprintf(path, sizeof path, "/pairs/%s/done", pair);
    uint8_t *done = NULL;
    if (read_vec(in->f, in->file, path, N, H5T_INTEGER, H5T_NATIVE_UINT8, (void **)&done, NULL, e))
        return LS_ERR;
    p->unit = ls_calloc(N + 1, 1);
    int64_t *id = ls_malloc((N + 1) * sizeof *id);
    size_t *pos = ls_malloc((N + 1) * sizeof *pos), *idx = ls_malloc((N + 1) * sizeof *idx), nu = 0;
    p->cl = ls_malloc((N + 1) * sizeof *p->cl);
    for (size_t i = 0; i < N; i++) {
        p->cl[i] = SIZE_MAX;
        p->unit[i] = in->used[i] && done[i] && p->off[i + 1] - p->off[i] > p->start[i];
        if (p->unit[i]) id[nu] = in->problem[i], pos[nu++] = i;
    }
    free(done);
    p->G = ls_stats_cluster_index(id, nu, idx);
    for (size_t j = 0; j < nu; j++)
        p->cl[pos[j]] = idx[j];
    free(id);
    free(pos);
    free(idx);
    if (p->G > INT32_MAX) return ls_fail(e, "%s: too many clusters", in->file);
    if (read_occurrences(in->f, in->file, ma, &p->occ, &p->n_occ, e)) return LS_ERR;
    for (size_t r = 0; r < p->n_occ; r++)
        if (occ_valid(in, p->off, p->start, &p->occ[r], r, ma, e)) return LS_ERR;

    int32_t *tokens = NULL;
    float *dlp = NULL;
    snprintf(path, sizeof path, "/models/%s/tokens", ma);
    if (read_vec(in->f, in->file, path, p->T, H5T_INTEGER, H5T_NATIVE_INT32, (void **)&tokens, &T, e) ||
        read_f32(p, pair, "dlogprob", &dlp, e)) {
        free(tokens);
        return LS_ERR;
    }
    for (size_t q = 0; q < p->T; q++)
        if (tokens[q] < 0) {
            free(tokens);
            free(dlp);
            return ls_fail(e, "%s: %s[%zu] = %d is not a token id", in->file, path, q, (int)tokens[q]);
        }
    /* the tokenizer of model a, where the recorded path is readable */
    LsTokenizer *tok = NULL;
    char *mpath = NULL;
    snprintf(path, sizeof path, "/models/%s", ma);
    hid_t mg = H5Gopen2(in->f, path, H5P_DEFAULT);
    if (mg >= 0) {
        int has = 0;
        LsError e2;
        if (!ls_h5_attr_has(mg, "path", &has, &e2) && has && !ls_h5_attr_get_str(mg, "path", &mpath, &e2) &&
            ls_tokenizer_load(&tok, mpath, &e2) && p->opt->verbose)
            ls_log0("reduce: token text of pair %s left empty: %s", pair, e2.msg);
        H5Gclose(mg);
    }
    free(mpath);
    LsSumTokenShift *ts = NULL;
    size_t nts = 0;
    LsSumOccDiv od[LS_PAIRS_OCC_ROWS];
    LsSumWordShift *ws = ls_calloc(in->W + 1, sizeof *ws);
    int rc = token_shift(p, dlp, tokens, tok, &ts, &nts, e);
    free(tokens);
    if (!rc) word_shift(p, dlp, ws);
    free(dlp);
    if (!rc) rc = occurrence_divergence(p, pair, od, e);
    if (!rc) rc = write_pair(h, sg, p, pair, ts, nts, od, ws, tok != NULL, e);
    if (tok) ls_tokenizer_free(tok);
    free(ts);
    free(ws);
    return rc;
}

/* ---- the lens of one model -------------------------------------------------------- */

static int reduce_lens(LsH5 *h, hid_t lg, const LsPairsInput *in, const LsReduceOptions *opt, size_t mi,
                       LsError *e) {
    const char *m = in->models[mi];
    char path[1400];
    snprintf(path, sizeof path, "/models/%s/lens_logprob", m);
    uint64_t dims[2];
    hid_t ds = ls_h5_dataset_open_shape(in->f, path, 2, NULL, dims, e);
    if (ds < 0) return ls_fail_prefix(e, "%s", in->file);
    H5Dclose(ds);
    size_t O = (size_t)dims[0], D = (size_t)dims[1], N = in->N;
    LsOccurrence *occ = NULL;
    size_t n_occ = 0;
    if (read_occurrences(in->f, in->file, m, &occ, &n_occ, e)) return LS_ERR;
    if (n_occ != O) {
        free(occ);
        return ls_fail(e, "%s: %s has %zu rows, /models/%s/occurrences %zu", in->file, path, O, m, n_occ);
    }
    if (D > INT16_MAX) {
        free(occ);
        return ls_fail(e, "%s: %s: %zu depths", in->file, path, D);
    }
    float *lp = ls_malloc((O * D + 1) * sizeof *lp), *ent = ls_malloc((O * D + 1) * sizeof *ent);
    uint64_t want[2] = {O, D};
    int rc = LS_OK;
    const char *leaf[2] = {"lens_logprob", "lens_entropy"};
    float *buf[2] = {lp, ent};
    for (int k = 0; k < 2 && !rc; k++) {
        snprintf(path, sizeof path, "/models/%s/%s", m, leaf[k]);
        ds = ls_h5_dataset_open_shape(in->f, path, 2, want, NULL, e);
        rc = ds < 0 || ls_h5_dataset_check_class(ds, H5T_FLOAT, e) ||
             (O * D > 0 && ls_h5_dataset_read_all(ds, H5T_NATIVE_FLOAT, buf[k], e));
        if (ds >= 0) H5Dclose(ds);
        if (rc) rc = ls_fail_prefix(e, "%s", in->file);
    }
    for (size_t r = 0; r < O && !rc; r++)
        if (occ[r].sample < 0 || (size_t)occ[r].sample >= N || occ[r].word < 0 ||
            (size_t)occ[r].word >= in->W)
            rc = ls_fail(e, "%s: /models/%s/occurrences[%zu]: sample or word out of range", in->file, m, r);
    /* clusters of the used samples */
    size_t *cl = ls_malloc((N + 1) * sizeof *cl), *pos = ls_malloc((N + 1) * sizeof *pos),
           *idx = ls_malloc((N + 1) * sizeof *idx), nu = 0;
    int64_t *id = ls_malloc((N + 1) * sizeof *id);
    for (size_t i = 0; i < N; i++) {
        cl[i] = SIZE_MAX;
        if (in->used[i]) id[nu] = in->problem[i], pos[nu++] = i;
    }
    size_t G = ls_stats_cluster_index(id, nu, idx);
    for (size_t j = 0; j < nu; j++)
        cl[pos[j]] = idx[j];
    size_t nrows = in->W * D;
    LsSumLens *rows = ls_calloc(nrows + 1, sizeof *rows);
    double *sum = ls_malloc((G + 1) * sizeof *sum), *cnt = ls_malloc((G + 1) * sizeof *cnt);
    uint8_t *seen = ls_malloc(N + 1);
    for (size_t w = 0; w < in->W && !rc; w++)
        for (size_t d = 0; d < D; d++) {
            size_t r = w * D + d;
            LsSumLens *row = &rows[r];
            row->word = (int16_t)w, row->depth = (int16_t)d;
            memset(sum, 0, (G + 1) * sizeof *sum);
            memset(cnt, 0, (G + 1) * sizeof *cnt);
            memset(seen, 0, N + 1);
            double es = 0.0;
            size_t en = 0;
            for (size_t q = 0; q < O; q++) {
                size_t s = (size_t)occ[q].sample;
                if ((size_t)occ[q].word != w || !in->used[s]) continue;
                float v = lp[q * D + d], h2 = ent[q * D + d];
                if (isfinite(h2)) es += (double)h2, en++;
                if (!isfinite(v)) continue;
                sum[cl[s]] += (double)v, cnt[cl[s]] += 1.0;
                row->n_occurrences++;
                if (!seen[s]) row->n_samples++, seen[s] = 1;
            }
            size_t used = 0;
            double est = NAN;
            LsStatInterval ci =
                ratio_bca(sum, cnt, G, opt->bootstrap,
                          opt->seed + LS_LENS_SEED_OFFSET * (uint64_t)(mi + 1) + r, &est, &used);
            row->n_clusters = (int64_t)used;
            row->logprob_mean = row->n_occurrences ? est : NAN;
            row->logprob_ci_lo = ci.lo, row->logprob_ci_hi = ci.hi;
            row->logprob_reason = (int8_t)(row->n_occurrences ? ci.reason : LS_STAT_TOO_FEW);
            row->entropy_mean = en ? es / (double)en : NAN;
        }
    if (!rc) {
        LsTable t = LS_TABLE_LENS;
        t.name = m;
        rc = ls_table_write(h, lg, &t, rows, nrows,
                            "descriptive: logit lens per target word x depth (0 = embeddings, L = the "
                            "model's own prediction): mean log-prob of the occurrence's first token with a "
                            "cluster-bootstrap BCa interval, mean entropy",
                            e);
        if (!rc) {
            hid_t t2 = H5Dopen2(lg, m, H5P_DEFAULT);
            rc = LS_H5_CHECK(t2, lg, m, e) || ls_h5_attr_i64(t2, "depths", (int64_t)D, e) ||
                 ls_h5_attr_str(t2, "model", m, e);
            if (t2 >= 0) H5Dclose(t2);
        }
    }
    free(occ);
    free(lp);
    free(ent);
    free(cl);
    free(pos);
    free(idx);
    free(id);
    free(rows);
    free(sum);
    free(cnt);
    free(seen);
    return rc ? LS_ERR : LS_OK;
}

/* ---- entry points ------------------------------------------------------------------- */

static hid_t make_group(hid_t loc, const char *name, const char *desc, LsError *e) {
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (LS_H5_CHECK(g, loc, name, e)) return H5I_INVALID_HID;
    if (ls_h5_attr_str(g, "description", desc, e)) {
        H5Gclose(g);
        return H5I_INVALID_HID;
    }
    return g;
}

int ls_reduce_pairs(const LsPairsInput *in, const LsReduceOptions *opt, LsError *e) {
    LsH5 h = {.file = in->f, .dxpl = H5I_INVALID_HID, .rank = 0, .path = (char *)in->file};
    int rc = LS_OK;
    hid_t sg = H5I_INVALID_HID;
    size_t k = 0;
    char pair[600], path[1400];
    for (size_t a = 0; a < in->n_models && !rc; a++)
        for (size_t b = 0; b < in->n_models && !rc; b++) {
            if (a == b) continue;
            snprintf(pair, sizeof pair, "%s__%s", in->models[a], in->models[b]);
            snprintf(path, sizeof path, "/pairs/%s", pair);
            if (!link_exists(in->f, "/pairs") || !link_exists(in->f, path)) continue;
            hid_t pg = H5Gopen2(in->f, path, H5P_DEFAULT);
            int64_t complete = 0;
            if (LS_H5_CHECK(pg, in->f, path, e)) return LS_ERR;
            rc = attr_i64_or(pg, "complete", 0, &complete, e);
            H5Gclose(pg);
            if (rc) break;
            if (complete != 1) {
                if (opt->verbose) ls_log0("reduce: %s is not complete: left out", path);
                continue;
            }
            if (sg < 0 &&
                (sg = make_group(in->f, "/summary/pairs",
                                 "descriptive views of model pairs (docs/pairs.md): one group per pair", e)) <
                    0)
                return LS_ERR;
            if (opt->verbose) ls_log0("reduce: pair %s", pair);
            Pair p = {.in = in, .opt = opt, .a = a, .b = b, .k = k++};
            rc = reduce_pair(&h, sg, &p, pair, e);
            pair_free(&p);
        }
    if (sg >= 0) H5Gclose(sg);
    hid_t lg = H5I_INVALID_HID;
    for (size_t mi = 0; mi < in->n_models && !rc; mi++) {
        snprintf(path, sizeof path, "/models/%s/lens_logprob", in->models[mi]);
        if (!link_exists(in->f, path)) continue;
        if (lg < 0 &&
            (lg = make_group(in->f, "/summary/lens",
                             "descriptive: the logit lens at target-word occurrences, one table per "
                             "model (docs/pairs.md)",
                             e)) < 0)
            return LS_ERR;
        if (opt->verbose) ls_log0("reduce: lens of %s", in->models[mi]);
        rc = reduce_lens(&h, lg, in, opt, mi, e);
    }
    if (lg >= 0) H5Gclose(lg);
    return rc ? LS_ERR : LS_OK;
}

int ls_lens_settle_depth(const LsSumLens *rows, size_t n, int word) {
    int last = -1;
    double final = NAN;
    for (size_t i = 0; i < n; i++)
        if (rows[i].word == word && rows[i].depth > last && !isnan(rows[i].logprob_mean))
            last = rows[i].depth, final = rows[i].logprob_mean;
    if (last < 0) return -1;
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (rows[i].word == word && !isnan(rows[i].logprob_mean) &&
            fabs(rows[i].logprob_mean - final) <= LS_LENS_SETTLE_NATS && (best < 0 || rows[i].depth < best))
            best = rows[i].depth;
    return best;
}

/* ---- reading back --------------------------------------------------------------------- */

static int read_table(hid_t g, const char *file, const char *name, const LsTable *t, void **rows, size_t *n,
                      LsError *e) {
    uint64_t dims[1];
    hid_t ds = ls_h5_dataset_open_shape(g, name, 1, NULL, dims, e);
    if (ds < 0) return ls_fail_prefix(e, "%s", file);
    *n = (size_t)dims[0];
    *rows = ls_calloc(*n + 1, t->row_size);
    hid_t mt = ls_table_type(t, 0);
    int rc = *n ? ls_h5_dataset_read_all(ds, mt, *rows, e) : LS_OK;
    H5Tclose(mt);
    H5Dclose(ds);
    return rc ? ls_fail_prefix(e, "%s: %s", file, name) : LS_OK;
}

int ls_pairs_summary_read(hid_t f, const char *file, char *const *models, size_t n_models, LsPairsSummary *s,
                          LsError *e) {
    memset(s, 0, sizeof *s);
    char pair[600], path[1400];
    if (link_exists(f, "/summary/pairs")) {
        s->pairs = ls_calloc(n_models * n_models + 1, sizeof *s->pairs);
        for (size_t a = 0; a < n_models; a++)
            for (size_t b = 0; b < n_models; b++) {
                if (a == b) continue;
                snprintf(pair, sizeof pair, "%s__%s", models[a], models[b]);
                snprintf(path, sizeof path, "/summary/pairs/%s", pair);
                if (!link_exists(f, path)) continue;
                LsPairSummary *p = &s->pairs[s->n_pairs++];
                p->name = ls_strdup(pair), p->a = (int)a, p->b = (int)b;
                hid_t g = H5Gopen2(f, path, H5P_DEFAULT);
                if (LS_H5_CHECK(g, f, path, e)) return ls_fail_prefix(e, "%s", file);
                int rc =
                    attr_i64_or(g, "before", LS_PAIRS_BEFORE, &p->before, e) ||
                    attr_i64_or(g, "min_count", LS_PAIRS_MIN_COUNT, &p->min_count, e) ||
                    read_table(g, file, "token_shift", &LS_TABLE_TOKEN_SHIFT, (void **)&p->shift, &p->n_shift,
                               e) ||
                    read_table(g, file, "occurrence_divergence", &LS_TABLE_OCC_DIV, (void **)&p->occ,
                               &p->n_occ, e) ||
                    read_table(g, file, "word_shift", &LS_TABLE_WORD_SHIFT, (void **)&p->word, &p->n_word, e);
                H5Gclose(g);
                if (rc) return LS_ERR;
                for (size_t r = 0; r < p->n_shift; r++)
                    p->shift[r].text[LS_TOKEN_TEXT_LEN - 1] = 0;
            }
    }
    if (link_exists(f, "/summary/lens")) {
        s->lens = ls_calloc(n_models + 1, sizeof *s->lens);
        hid_t g = H5Gopen2(f, "/summary/lens", H5P_DEFAULT);
        if (LS_H5_CHECK(g, f, "/summary/lens", e)) return ls_fail_prefix(e, "%s", file);
        int rc = LS_OK;
        for (size_t m = 0; m < n_models && !rc; m++) {
            snprintf(path, sizeof path, "/summary/lens/%s", models[m]);
            if (!link_exists(f, path)) continue;
            LsLensSummary *l = &s->lens[s->n_lens++];
            l->model = (int)m;
            rc = read_table(g, file, models[m], &LS_TABLE_LENS, (void **)&l->rows, &l->n, e);
            if (!rc) {
                hid_t ds = H5Dopen2(g, models[m], H5P_DEFAULT);
                rc = LS_H5_CHECK(ds, g, models[m], e) || attr_i64_or(ds, "depths", 0, &l->depths, e);
                if (ds >= 0) H5Dclose(ds);
            }
        }
        H5Gclose(g);
        if (rc) return LS_ERR;
    }
    return LS_OK;
}

void ls_pairs_summary_free(LsPairsSummary *s) {
    for (size_t i = 0; i < s->n_pairs; i++) {
        free(s->pairs[i].name);
        free(s->pairs[i].shift);
        free(s->pairs[i].occ);
        free(s->pairs[i].word);
    }
    free(s->pairs);
    for (size_t i = 0; i < s->n_lens; i++)
        free(s->lens[i].rows);
    free(s->lens);
    memset(s, 0, sizeof *s);
}
