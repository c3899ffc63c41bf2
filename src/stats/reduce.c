/* reduce.c — the rank-0 reducer (see ls/reduce.h, docs/hdf5-layout.md
 * "## /summary"): per-model datasets of a finished file -> per-sample and
 * per-occurrence values -> descriptives and tests -> /summary tables.
 *
 * Serial HDF5 (default file access property list) on one rank, so the result
 * depends on the file alone. Inputs are validated as hostile: every dataset's
 * presence, rank and length, every offset and index; errors name the file
 * and the dataset path. */
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/common.h"
#include "ls/h5out.h"
#include "ls/reduce.h"
#include "ls/reduce_pairs.h"
#include "ls/stats.h"
#include "ls/targets.h"
#include "ls/version.h"
#include "summary_schema.h"

/* Rows of target_logprob and entropy read per block: 2^16 rows x M floats
 * (3.9 MB at 15 forms), whatever the samples' lengths, so the reducer's
 * memory scales with samples and occurrences, never with tokens. */
#define BLOCK_ROWS ((size_t)1 << 16)
/* Rows of /models/<m>/occurrences read per block. */
#define OCC_BLOCK ((size_t)1 << 16)

LsReduceOptions ls_reduce_defaults(void) {
    LsReduceOptions o = {0};
    o.resamples = LS_REDUCE_DEFAULT_RESAMPLES;
    return o;
}

/* ---- reading helpers (typed HDF5 reads: ls/h5io.h) ------------------------- */

/* Reads a whole 1-D numeric dataset of length n (n == LS_H5_ANY: any) into a heap buffer of mem_type. */
static int read_1d(hid_t f, const char *file, const char *path, uint64_t n, H5T_class_t cls, hid_t mem_type,
                   void **out, uint64_t *len, LsError *e) {
    *out = NULL;
    uint64_t dims[1];
    hid_t ds = ls_h5_dataset_open_shape(f, path, 1, &n, dims, e);
    if (ds < 0) return LS_ERR;
    size_t bytes = 0;
    int rc = ls_h5_dataset_check_class(ds, cls, e);
    if (!rc && ls_mul_size((size_t)dims[0], H5Tget_size(mem_type), &bytes))
        rc = ls_fail(e, "%s: %s is too large", file, path);
    void *buf = rc ? NULL : ls_malloc(bytes ? bytes : 1);
    if (!rc) rc = ls_h5_dataset_read_all(ds, mem_type, buf, e);
    H5Dclose(ds);
    if (rc) {
        free(buf);
        return LS_ERR;
    }
    *out = buf;
    if (len) *len = dims[0];
    return LS_OK;
}

/* ---- the input, per model ------------------------------------------------- */

typedef LsOccurrence OccIn; /* rows of /models/<m>/occurrences */

typedef struct {
    size_t T, M;    /* positions, single-token form columns */
    int64_t *off;   /* [N+1] */
    int32_t *start; /* [N] answer_start */
    int *has_forms; /* [W] the word has at least one single-token form */
    /* per sample: */
    int64_t *n_ans;  /* [N] answer positions */
    double *ent_sum; /* [N] sum of entropy over answer positions */
    double
        *prop_sum; /* [N*W] sum over answer positions of sum_j exp(target_logprob[p, j]) (word w's columns) */
    int64_t *occ_n; /* [N*W] occurrences */
    /* per occurrence (file order): */
    size_t n_occ;
    int64_t *occ_sample;
    int16_t *occ_word;
    float *occ_lp;    /* NaN when not aligned (float as in the file: exact) */
    float *occ_ent;   /* entropy at the occurrence's first position */
    int64_t *occ_row; /* while reading: the row (token_offset + position) of that position */
} ModelIn;

typedef struct {
    const char *file;
    hid_t f;
    size_t N, n_models, W;
    char **models, **words;
    int8_t *level, *correct;
    int64_t *problem; /* [N] cluster id: /samples/problem_id where >= 0, else -(i + 1) (the sample) */
    double *log_len;  /* [N] log answer length: /samples/answer_bytes, else NaN (model a's tokens are used) */
    uint8_t *used;    /* [N] done in every model */
    size_t left_out;
    ModelIn *m;
} Input;

static void model_free(ModelIn *m) {
    free(m->off);
    free(m->start);
    free(m->has_forms);
    free(m->n_ans);
    free(m->ent_sum);
    free(m->prop_sum);
    free(m->occ_n);
    free(m->occ_sample);
    free(m->occ_word);
    free(m->occ_lp);
    free(m->occ_ent);
    free(m->occ_row);
}

static void input_free(Input *in) {
    for (size_t i = 0; in->m && i < in->n_models; i++)
        model_free(&in->m[i]);
    free(in->m);
    ls_h5_strs_free(in->models, in->n_models);
    ls_h5_strs_free(in->words, in->W);
    free(in->level);
    free(in->correct);
    free(in->problem);
    free(in->log_len);
    free(in->used);
}

/* Reads /models/<name>/done and clears used[i] where it is 0. */
static int read_done(Input *in, const char *name, LsError *e) {
    char path[512];
    snprintf(path, sizeof path, "/models/%s/done", name);
    uint8_t *done = NULL;
    if (read_1d(in->f, in->file, path, in->N, H5T_INTEGER, H5T_NATIVE_UINT8, (void **)&done, NULL, e))
        return LS_ERR;
    for (size_t i = 0; i < in->N; i++)
        if (!done[i]) in->used[i] = 0;
    free(done);
    return LS_OK;
}

/* Reads /models/<m>/occurrences in blocks of OCC_BLOCK rows: validates each
 * row, keeps those of used samples (occ_sample, occ_word, occ_lp, occ_row)
 * and counts them per sample and word. */
static int read_occurrences(Input *in, size_t mi, LsError *e) {
    ModelIn *m = &in->m[mi];
    const char *name = in->models[mi], *file = in->file;
    size_t N = in->N, W = in->W;
    char path[512];
    snprintf(path, sizeof path, "/models/%s/occurrences", name);
    uint64_t odims[1];
    hid_t ds = ls_h5_dataset_open_shape(in->f, path, 1, NULL, odims, e);
    if (ds < 0) return LS_ERR;
    size_t O = (size_t)odims[0];
    m->occ_sample = ls_malloc((O ? O : 1) * sizeof *m->occ_sample);
    m->occ_word = ls_malloc((O ? O : 1) * sizeof *m->occ_word);
    m->occ_lp = ls_malloc((O ? O : 1) * sizeof *m->occ_lp);
    m->occ_ent = ls_malloc((O ? O : 1) * sizeof *m->occ_ent);
    m->occ_row = ls_malloc((O ? O : 1) * sizeof *m->occ_row);
    OccIn *occ = ls_malloc((O < OCC_BLOCK ? (O ? O : 1) : OCC_BLOCK) * sizeof *occ);
    hid_t ot = ls_h5_occurrence_type(), fs = H5Dget_space(ds);
    int bad = LS_H5_CHECK(ot, ds, NULL, e) || LS_H5_CHECK(fs, ds, NULL, e);
    size_t k = 0;
    for (size_t r0 = 0; r0 < O && !bad; r0 += OCC_BLOCK) {
        size_t rows = O - r0 < OCC_BLOCK ? O - r0 : OCC_BLOCK;
        hsize_t start[1] = {r0}, count[1] = {rows};
        hid_t ms = H5I_INVALID_HID;
        bad = LS_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL), ds, NULL, e) ||
              LS_H5_CHECK(ms = H5Screate_simple(1, count, NULL), ds, NULL, e) ||
              LS_H5_CHECK(H5Dread(ds, ot, ms, fs, H5P_DEFAULT, occ), ds, NULL, e);
        if (ms >= 0) H5Sclose(ms);
        if (bad) {
            ls_fail_prefix(
                e,
                "%s: %s: cannot read the compound members sample, position, word, logprob, aligned "
                "(rows [%zu, %zu))",
                file, path, r0, r0 + rows);
            break;
        }
        for (size_t q = 0; q < rows; q++) {
            const OccIn *o = &occ[q];
            size_t r = r0 + q;
            if (o->sample < 0 || (size_t)o->sample >= N || o->word < 0 || (size_t)o->word >= W) {
                bad =
                    ls_fail(e,
                            "%s: /models/%s/occurrences[%zu]: sample %lld or word %d out of range (N = %zu, "
                            "W = %zu)",
                            file, name, r, (long long)o->sample, (int)o->word, N, W);
                break;
            }
            size_t s = (size_t)o->sample;
            if (o->position < m->start[s] || o->position >= m->off[s + 1] - m->off[s]) {
                bad = ls_fail(
                    e, "%s: /models/%s/occurrences[%zu]: position %d is not an answer position of sample %zu",
                    file, name, r, (int)o->position, s);
                break;
            }
            if (!in->used[s]) continue;
            m->occ_sample[k] = o->sample;
            m->occ_word[k] = o->word;
            m->occ_lp[k] = o->aligned ? o->logprob : NAN;
            m->occ_row[k] = m->off[s] + o->position;
            m->occ_n[s * W + (size_t)o->word]++;
            k++;
        }
    }
    if (fs >= 0) H5Sclose(fs);
    if (ot >= 0) H5Tclose(ot);
    H5Dclose(ds);
    free(occ);
    m->n_occ = k;
    return bad ? LS_ERR : LS_OK;
}

/* Streams entropy [T] and target_logprob [T, M] in blocks of BLOCK_ROWS rows
 * (a sample may span blocks): per used sample its answer positions, the sum
 * of their entropy and, per word, of sum_j exp(target_logprob[p, j]) over
 * the word's columns, each added in position order (the same numbers as a
 * whole-array read); the entropy at each occurrence's position. */
static int stream_positions(Input *in, size_t mi, const int16_t *col_word, LsError *e) {
    ModelIn *m = &in->m[mi];
    const char *name = in->models[mi], *file = in->file;
    size_t N = in->N, W = in->W, M = m->M, T = m->T, O = m->n_occ;
    char path[512];
    uint64_t want2[2] = {T, M}, want1[1] = {T};
    snprintf(path, sizeof path, "/models/%s/entropy", name);
    hid_t de = ls_h5_dataset_open_shape(in->f, path, 1, want1, NULL, e);
    if (de < 0) return LS_ERR;
    if (ls_h5_dataset_check_class(de, H5T_FLOAT, e)) {
        H5Dclose(de);
        return LS_ERR;
    }
    snprintf(path, sizeof path, "/models/%s/target_logprob", name);
    hid_t dl = ls_h5_dataset_open_shape(in->f, path, 2, want2, NULL, e);
    if (dl < 0 || ls_h5_dataset_check_class(dl, H5T_FLOAT, e)) {
        if (dl >= 0) H5Dclose(dl);
        H5Dclose(de);
        return LS_ERR;
    }
    /* occurrences by sample (counting sort), to pick their entropy as the blocks pass */
    size_t *ord = ls_malloc((O ? O : 1) * sizeof *ord), *first = ls_calloc(N + 1, sizeof *first);
    for (size_t k = 0; k < O; k++)
        first[(size_t)m->occ_sample[k] + 1]++;
    for (size_t s = 0; s < N; s++)
        first[s + 1] += first[s];
    for (size_t k = 0; k < O; k++)
        ord[first[(size_t)m->occ_sample[k]]++] = k;
    for (size_t s = N; s > 0; s--) /* back to the start of each sample's run */
        first[s] = first[s - 1];
    first[0] = 0;
    size_t cap = T < BLOCK_ROWS ? (T ? T : 1) : BLOCK_ROWS;
    float *blk = ls_malloc(cap * (M ? M : 1) * sizeof *blk), *ent = ls_malloc(cap * sizeof *ent);
    hid_t fl = H5Dget_space(dl), fe = H5Dget_space(de);
    int bad = LS_H5_CHECK(fl, dl, NULL, e) || LS_H5_CHECK(fe, de, NULL, e);
    size_t i = 0; /* the first sample that may overlap the block */
    for (size_t r0 = 0; r0 < T && !bad; r0 += BLOCK_ROWS) {
        size_t rows = T - r0 < BLOCK_ROWS ? T - r0 : BLOCK_ROWS, r1 = r0 + rows;
        hsize_t s2[2] = {r0, 0}, c2[2] = {rows, M}, s1[1] = {r0}, c1[1] = {rows};
        hid_t ml = H5I_INVALID_HID, me = H5I_INVALID_HID;
        bad = LS_H5_CHECK(H5Sselect_hyperslab(fe, H5S_SELECT_SET, s1, NULL, c1, NULL), de, NULL, e) ||
              LS_H5_CHECK(me = H5Screate_simple(1, c1, NULL), de, NULL, e) ||
              LS_H5_CHECK(H5Dread(de, H5T_NATIVE_FLOAT, me, fe, H5P_DEFAULT, ent), de, NULL, e);
        if (!bad && M)
            bad = LS_H5_CHECK(H5Sselect_hyperslab(fl, H5S_SELECT_SET, s2, NULL, c2, NULL), dl, NULL, e) ||
                  LS_H5_CHECK(ml = H5Screate_simple(2, c2, NULL), dl, NULL, e) ||
                  LS_H5_CHECK(H5Dread(dl, H5T_NATIVE_FLOAT, ml, fl, H5P_DEFAULT, blk), dl, NULL, e);
        if (me >= 0) H5Sclose(me);
        if (ml >= 0) H5Sclose(ml);
        if (bad) {
            ls_fail_prefix(e, "%s: /models/%s: reading rows [%zu, %zu)", file, name, r0, r1);
            break;
        }
        while (i < N && (size_t)m->off[i + 1] <= r0)
            i++;
        for (size_t s = i; s < N && (size_t)m->off[s] < r1; s++) {
            if (!in->used[s]) continue;
            size_t p0 = (size_t)(m->off[s] + m->start[s]), p1 = (size_t)m->off[s + 1];
            m->n_ans[s] = (int64_t)(p1 - p0);
            size_t a = p0 > r0 ? p0 : r0, b = p1 < r1 ? p1 : r1;
            double *ps = m->prop_sum + s * W;
            for (size_t p = a; p < b; p++) {
                m->ent_sum[s] += (double)ent[p - r0];
                const float *row = blk + (p - r0) * M;
                for (size_t j = 0; j < M; j++)
                    ps[col_word[j]] += exp((double)row[j]);
            }
            for (size_t q = first[s]; q < first[s + 1]; q++) {
                size_t k = ord[q], p = (size_t)m->occ_row[k];
                if (p >= r0 && p < r1) m->occ_ent[k] = ent[p - r0];
            }
        }
    }
    if (fl >= 0) H5Sclose(fl);
    if (fe >= 0) H5Sclose(fe);
    H5Dclose(dl);
    H5Dclose(de);
    free(blk);
    free(ent);
    free(ord);
    free(first);
    free(m->occ_row);
    m->occ_row = NULL;
    return bad ? LS_ERR : LS_OK;
}

/* Reads one model's datasets and reduces them to per-sample and per-occurrence values. */
static int read_model(Input *in, size_t mi, LsError *e) {
    ModelIn *m = &in->m[mi];
    const char *name = in->models[mi], *file = in->file;
    size_t N = in->N, W = in->W;
    char path[512];
#define MPATH(leaf) (snprintf(path, sizeof path, "/models/%s/%s", name, leaf), path)

    if (read_1d(in->f, file, MPATH("token_offset"), N + 1, H5T_INTEGER, H5T_NATIVE_INT64, (void **)&m->off,
                NULL, e) ||
        read_1d(in->f, file, MPATH("answer_start"), N, H5T_INTEGER, H5T_NATIVE_INT32, (void **)&m->start,
                NULL, e))
        return LS_ERR;
    if (m->off[0] != 0)
        return ls_fail(e, "%s: /models/%s/token_offset[0] = %lld, expected 0", file, name,
                       (long long)m->off[0]);
    for (size_t i = 0; i < N; i++) {
        int64_t n = m->off[i + 1] - m->off[i];
        if (n < 0) return ls_fail(e, "%s: /models/%s/token_offset decreases at sample %zu", file, name, i);
        if (m->start[i] < 1 || m->start[i] > n)
            return ls_fail(e, "%s: /models/%s/answer_start[%zu] = %d outside [1, %lld] (the sample's length)",
                           file, name, i, (int)m->start[i], (long long)n);
    }
    m->T = (size_t)m->off[N];

    /* targets: the word of each single-token column */
    uint64_t tdims[1];
    hid_t ds = ls_h5_dataset_open_shape(in->f, MPATH("targets"), 1, NULL, tdims, e);
    if (ds < 0) return LS_ERR;
    m->M = (size_t)tdims[0];
    int16_t *col_word = ls_malloc((m->M ? m->M : 1) * sizeof *col_word);
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(int16_t));
    int st = LS_H5_CHECK(ct, ds, NULL, e) ||
             LS_H5_CHECK(H5Tinsert(ct, "word", 0, H5T_NATIVE_INT16), ds, NULL, e) ||
             ls_h5_dataset_read_all(ds, ct, col_word, e);
    if (ct >= 0) H5Tclose(ct);
    H5Dclose(ds);
    if (st) {
        free(col_word);
        return ls_fail_prefix(e, "%s: %s: cannot read the compound member 'word' (int16)", file, path);
    }
    m->has_forms = ls_calloc(W ? W : 1, sizeof *m->has_forms);
    for (size_t j = 0; j < m->M; j++) {
        if (col_word[j] < 0 || (size_t)col_word[j] >= W) {
            int bad = col_word[j];
            free(col_word);
            return ls_fail(e, "%s: /models/%s/targets[%zu].word = %d is not a target word index (W = %zu)",
                           file, name, j, bad, W);
        }
        m->has_forms[col_word[j]] = 1;
    }

    m->n_ans = ls_calloc(N ? N : 1, sizeof *m->n_ans);
    m->ent_sum = ls_calloc(N ? N : 1, sizeof *m->ent_sum);
    size_t NW = 1;
    if (ls_mul_size(N, W, &NW) || NW > SIZE_MAX / sizeof(double)) {
        free(col_word);
        return ls_fail(e, "%s: %zu samples x %zu words is too large", file, N, W);
    }
    m->prop_sum = ls_calloc(NW ? NW : 1, sizeof *m->prop_sum);
    m->occ_n = ls_calloc(NW ? NW : 1, sizeof *m->occ_n);
    int bad = read_occurrences(in, mi, e);
    if (!bad) bad = stream_positions(in, mi, col_word, e);
    free(col_word);
    return bad ? LS_ERR : LS_OK;
#undef MPATH
}

/* The optional /samples/problem_id (the cluster of each sample) and
 * /samples/answer_bytes (the length the primary regressions adjust for). */
static int read_sample_extras(Input *in, LsError *e) {
    size_t N = in->N;
    in->problem = ls_malloc((N ? N : 1) * sizeof *in->problem);
    in->log_len = ls_malloc((N ? N : 1) * sizeof *in->log_len);
    for (size_t i = 0; i < N; i++)
        in->problem[i] = -(int64_t)i - 1, in->log_len[i] = NAN;
    if (H5Lexists(in->f, "/samples/problem_id", H5P_DEFAULT) > 0) {
        int64_t *pid = NULL;
        if (read_1d(in->f, in->file, "/samples/problem_id", N, H5T_INTEGER, H5T_NATIVE_INT64, (void **)&pid,
                    NULL, e))
            return LS_ERR;
        for (size_t i = 0; i < N; i++)
            if (pid[i] >= 0) in->problem[i] = pid[i];
        free(pid);
    }
    if (H5Lexists(in->f, "/samples/answer_bytes", H5P_DEFAULT) > 0) {
        int64_t *ab = NULL;
        if (read_1d(in->f, in->file, "/samples/answer_bytes", N, H5T_INTEGER, H5T_NATIVE_INT64, (void **)&ab,
                    NULL, e))
            return LS_ERR;
        for (size_t i = 0; i < N; i++)
            in->log_len[i] = ab[i] > 0 ? log((double)ab[i]) : NAN;
        free(ab);
    }
    return LS_OK;
}

static int read_input(Input *in, const char *file, const LsReduceOptions *opt, LsError *e) {
    if (ls_h5_attr_get_strs(in->f, "models", &in->models, &in->n_models, e) ||
        ls_h5_attr_get_strs(in->f, "target_words", &in->words, &in->W, e))
        return LS_ERR;
    if (in->n_models == 0) return ls_fail(e, "%s: root attribute 'models' lists no model", file);
    if (in->W == 0) return ls_fail(e, "%s: root attribute 'target_words' lists no word", file);
    if (in->n_models > INT16_MAX || in->W > INT16_MAX)
        return ls_fail(e, "%s: too many models or words", file);
    uint64_t N;
    if (read_1d(in->f, file, "/samples/level", LS_H5_ANY, H5T_INTEGER, H5T_NATIVE_INT8, (void **)&in->level,
                &N, e) ||
        read_1d(in->f, file, "/samples/is_correct", N, H5T_INTEGER, H5T_NATIVE_INT8, (void **)&in->correct,
                NULL, e))
        return LS_ERR;
    in->N = (size_t)N;
    if (read_sample_extras(in, e)) return LS_ERR;
    in->used = ls_malloc(in->N ? in->N : 1);
    memset(in->used, 1, in->N ? in->N : 1);
    for (size_t mi = 0; mi < in->n_models; mi++)
        if (read_done(in, in->models[mi], e)) return LS_ERR;
    for (size_t i = 0; i < in->N; i++)
        in->left_out += !in->used[i];
    if (in->left_out && !opt->allow_incomplete) {
        size_t first = 0;
        while (in->used[first])
            first++;
        return ls_fail(
            e,
            "%s: %zu of %zu samples are not done in every model (first: sample %zu; /models/<m>/done): "
            "the run did not finish — resume it, or pass --allow-incomplete to reduce the rest",
            file, in->left_out, in->N, first);
    }
    in->m = ls_calloc(in->n_models, sizeof *in->m);
    for (size_t mi = 0; mi < in->n_models; mi++) {
        if (opt->verbose) ls_log0("reduce: reading model %s", in->models[mi]);
        if (read_model(in, mi, e)) return LS_ERR;
    }
    return LS_OK;
}

/* ---- computing ------------------------------------------------------------ */

static int in_group(const Input *in, size_t i, int g) {
    if (g < LS_GROUP_CORRECT) return in->level[i] == g + 1;
    switch (g) {
    case LS_GROUP_CORRECT:
        return in->correct[i] == 1;
    case LS_GROUP_INCORRECT:
        return in->correct[i] == 0;
    case LS_GROUP_UNKNOWN:
        return in->correct[i] != 0 && in->correct[i] != 1;
    default:
        return 1;
    }
}

/* Per-sample propensity of word w in model m (NaN without answer positions). */
static double propensity(const Input *in, const ModelIn *m, size_t i, size_t w) {
    if (!m->n_ans[i]) return NAN;
    return m->prop_sum[i * in->W + w] / (double)m->n_ans[i];
}

/* Collects the values of one variable for model m, word w, over the samples (or
 * their occurrences) for which keep(i) holds; levels[] (optional) gets the
 * sample's level per value. Returns the count; v must hold N or n_occ values. */
typedef int (*KeepFn)(const Input *in, size_t i, int arg);

static int keep_group(const Input *in, size_t i, int g) {
    return in->used[i] && in_group(in, i, g);
}

static int keep_level(const Input *in, size_t i, int unused) {
    (void)unused;
    return in->used[i] && in->level[i] >= 1 && in->level[i] <= 5;
}

static size_t collect(const Input *in, const ModelIn *m, size_t w, int var, KeepFn keep, int arg, double *v,
                      double *lev) {
    size_t n = 0;
    if (var == LS_VAR_PROPENSITY) {
        for (size_t i = 0; i < in->N; i++) {
            if (!keep(in, i, arg) || !m->n_ans[i]) continue;
            if (lev) lev[n] = in->level[i];
            v[n++] = propensity(in, m, i, w);
        }
    } else {
        for (size_t k = 0; k < m->n_occ; k++) {
            size_t i = (size_t)m->occ_sample[k];
            if ((size_t)m->occ_word[k] != w || isnan(m->occ_lp[k]) || !keep(in, i, arg)) continue;
            if (lev) lev[n] = in->level[i];
            v[n++] = exp(m->occ_lp[k]);
        }
    }
    return n;
}

static double mean_or_nan(const double *x, size_t n) {
    if (!n) return NAN;
    return ls_stats_describe(x, n, 0, 0).mean;
}

/* The clusters of each group (problems, or samples): of[g * N + i] is sample
 * i's dense cluster index within group g, SIZE_MAX outside it; G[g] the count. */
typedef struct {
    size_t *of, G[LS_GROUP_COUNT];
} GroupClusters;

static void group_clusters(const Input *in, GroupClusters *gc) {
    size_t N = in->N;
    gc->of = ls_malloc((N * LS_GROUP_COUNT + 1) * sizeof *gc->of);
    int64_t *id = ls_malloc((N + 1) * sizeof *id);
    size_t *idx = ls_malloc((N + 1) * sizeof *idx), *pos = ls_malloc((N + 1) * sizeof *pos);
    for (int g = 0; g < LS_GROUP_COUNT; g++) {
        size_t n = 0;
        for (size_t i = 0; i < N; i++) {
            gc->of[g * N + i] = SIZE_MAX;
            if (keep_group(in, i, g)) id[n] = in->problem[i], pos[n++] = i;
        }
        gc->G[g] = ls_stats_cluster_index(id, n, idx);
        for (size_t j = 0; j < n; j++)
            gc->of[g * N + pos[j]] = idx[j];
    }
    free(id);
    free(idx);
    free(pos);
}

/* Key of the counter-based stream of the CIs of group g (every model, word
 * and variable of the group shares its resamples). */
static uint64_t group_key(const LsReduceOptions *opt, int g) {
    return opt->seed + 16u * (uint64_t)g + 5u;
}

/* Columns per word of the group CI table, then one shared column. */
enum { GC_LP, GC_LPN, GC_PROB, GC_ENT, GC_ENTN, GC_PROP, GC_PER_WORD };

/* The CIs of the rows of model m in group g: cluster-bootstrap BCa (B =
 * opt->bootstrap resamples of the group's G clusters, shared by every word
 * and variable) of the occurrence log-prob, probability and entropy means
 * and of the mean per-sample propensity. rows: the model's rows, stride
 * LS_GROUP_COUNT per word. */
static void group_cis(const Input *in, const ModelIn *m, int g, const GroupClusters *gc,
                      const LsReduceOptions *opt, LsSumGroup *rows) {
    size_t G = gc->G[g], N = in->N, W = in->W, C = GC_PER_WORD * W + 1;
    if (G < 2) return;
    double *Mx = ls_calloc(G * C, sizeof *Mx);
    for (size_t k = 0; k < m->n_occ; k++) {
        size_t c = gc->of[(size_t)g * N + (size_t)m->occ_sample[k]];
        if (c == SIZE_MAX) continue;
        double *r = Mx + c * C + GC_PER_WORD * (size_t)m->occ_word[k];
        r[GC_ENT] += m->occ_ent[k], r[GC_ENTN] += 1.0;
        if (!isnan(m->occ_lp[k])) r[GC_LP] += m->occ_lp[k], r[GC_PROB] += exp(m->occ_lp[k]), r[GC_LPN] += 1.0;
    }
    for (size_t i = 0; i < N; i++) {
        size_t c = gc->of[(size_t)g * N + i];
        if (c == SIZE_MAX || !m->n_ans[i]) continue;
        for (size_t w = 0; w < W; w++)
            Mx[c * C + GC_PER_WORD * w + GC_PROP] += propensity(in, m, i, w);
        Mx[c * C + C - 1] += 1.0;
    }
    enum { V = 4 }; /* logprob, prob, propensity, entropy */
    size_t *num = ls_malloc(V * W * sizeof *num), *den = ls_malloc(V * W * sizeof *den);
    for (size_t w = 0; w < W; w++) {
        size_t o = GC_PER_WORD * w;
        num[V * w] = o + GC_LP, den[V * w] = o + GC_LPN;
        num[V * w + 1] = o + GC_PROB, den[V * w + 1] = o + GC_LPN;
        num[V * w + 2] = o + GC_PROP, den[V * w + 2] = C - 1;
        num[V * w + 3] = o + GC_ENT, den[V * w + 3] = o + GC_ENTN;
    }
    double *est = ls_malloc(V * W * sizeof *est);
    LsStatInterval *ci = ls_malloc(V * W * sizeof *ci);
    ls_stats_cluster_bca_ratio(Mx, G, C, num, den, V * W, opt->bootstrap, group_key(opt, g),
                               LS_STATS_CI_LEVEL, est, ci);
    for (size_t w = 0; w < W; w++) {
        LsSumGroup *row = &rows[w * LS_GROUP_COUNT + (size_t)g];
        const LsStatInterval *c = ci + V * w;
        if (row->logprob_reason == LS_STAT_OK) row->logprob_ci_lo = c[0].lo, row->logprob_ci_hi = c[0].hi;
        if (row->prob_reason == LS_STAT_OK) row->prob_ci_lo = c[1].lo, row->prob_ci_hi = c[1].hi;
        if (row->propensity_reason == LS_STAT_OK)
            row->propensity_ci_lo = c[2].lo, row->propensity_ci_hi = c[2].hi;
        if (row->entropy_occ_reason == LS_STAT_OK)
            row->entropy_occ_ci_lo = c[3].lo, row->entropy_occ_ci_hi = c[3].hi;
    }
    free(Mx);
    free(num);
    free(den);
    free(est);
    free(ci);
}

static void fill_groups(const Input *in, const LsReduceOptions *opt, LsSumGroup *rows, double *buf,
                        double *buf2) {
    size_t W = in->W, r = 0;
    GroupClusters gc;
    group_clusters(in, &gc);
    for (size_t mi = 0; mi < in->n_models; mi++) {
        const ModelIn *m = &in->m[mi];
        for (size_t w = 0; w < W; w++) {
            for (int g = 0; g < LS_GROUP_COUNT; g++, r++) {
                LsSumGroup *row = &rows[r];
                memset(row, 0, sizeof *row);
                row->model = (int16_t)mi;
                row->word = (int16_t)w;
                row->group = (int8_t)g;
                double prop_pool = 0.0, ent_pool = 0.0;
                int64_t contain = 0;
                for (size_t i = 0; i < in->N; i++) {
                    if (!keep_group(in, i, g)) continue;
                    row->n_samples++;
                    row->answer_tokens += m->n_ans[i];
                    row->occurrences += m->occ_n[i * W + w];
                    contain += m->occ_n[i * W + w] > 0;
                    prop_pool += m->prop_sum[i * W + w];
                    ent_pool += m->ent_sum[i];
                }
                row->per_1k =
                    row->answer_tokens ? 1000.0 * (double)row->occurrences / (double)row->answer_tokens : NAN;
                row->share_containing = row->n_samples ? (double)contain / (double)row->n_samples : NAN;
                row->entropy_all_mean = row->answer_tokens ? ent_pool / (double)row->answer_tokens : NAN;

                /* occurrences: log-prob (aligned), probability, entropy (all) */
                size_t no = 0, ne = 0;
                for (size_t k = 0; k < m->n_occ; k++) {
                    if ((size_t)m->occ_word[k] != w || !keep_group(in, (size_t)m->occ_sample[k], g)) continue;
                    buf2[ne++] = m->occ_ent[k];
                    if (!isnan(m->occ_lp[k])) buf[no++] = m->occ_lp[k];
                }
                row->occurrences_aligned = (int64_t)no;
                LsStatDesc d = ls_stats_describe(buf, no, 0, 0);
                row->logprob_mean = d.mean, row->logprob_median = d.median, row->logprob_sd = d.sd;
                row->logprob_ci_lo = d.ci_lo, row->logprob_ci_hi = d.ci_hi,
                row->logprob_reason = (int8_t)d.reason;
                for (size_t k = 0; k < no; k++)
                    buf[k] = exp(buf[k]);
                d = ls_stats_describe(buf, no, 0, 0);
                row->prob_mean = d.mean, row->prob_median = d.median, row->prob_sd = d.sd;
                row->prob_ci_lo = d.ci_lo, row->prob_ci_hi = d.ci_hi, row->prob_reason = (int8_t)d.reason;
                d = ls_stats_describe(buf2, ne, 0, 0);
                row->entropy_occ_mean = d.mean, row->entropy_occ_ci_lo = d.ci_lo,
                row->entropy_occ_ci_hi = d.ci_hi;
                row->entropy_occ_reason = (int8_t)d.reason;

                /* propensity: per sample */
                size_t np = collect(in, m, w, LS_VAR_PROPENSITY, keep_group, g, buf, NULL);
                row->propensity_n = (int64_t)np;
                if (!m->has_forms[w]) {
                    row->propensity_mean = row->propensity_sample_mean = row->propensity_sample_median = NAN;
                    row->propensity_sample_sd = row->propensity_ci_lo = row->propensity_ci_hi = NAN;
                    row->propensity_reason = LS_REDUCE_NO_FORMS;
                } else {
                    row->propensity_mean = row->answer_tokens ? prop_pool / (double)row->answer_tokens : NAN;
                    d = ls_stats_describe(buf, np, 0, 0);
                    row->propensity_sample_mean = d.mean, row->propensity_sample_median = d.median;
                    row->propensity_sample_sd = d.sd, row->propensity_ci_lo = d.ci_lo,
                    row->propensity_ci_hi = d.ci_hi;
                    row->propensity_reason = (int8_t)d.reason;
                }
            }
        }
        if (opt->bootstrap)
            for (int g = 0; g < LS_GROUP_COUNT; g++)
                group_cis(in, m, g, &gc, opt, rows + mi * W * LS_GROUP_COUNT);
    }
    free(gc.of);
}

static void fill_correct(const Input *in, LsSumCorrect *rows, double *a, double *b) {
    size_t r = 0;
    for (size_t mi = 0; mi < in->n_models; mi++)
        for (size_t w = 0; w < in->W; w++)
            for (int var = 0; var < LS_VAR_COUNT; var++, r++) {
                LsSumCorrect *row = &rows[r];
                const ModelIn *m = &in->m[mi];
                size_t na = collect(in, m, w, var, keep_group, LS_GROUP_CORRECT, a, NULL);
                size_t nb = collect(in, m, w, var, keep_group, LS_GROUP_INCORRECT, b, NULL);
                row->model = (int16_t)mi, row->word = (int16_t)w, row->variable = (int8_t)var;
                row->n_correct = (int64_t)na, row->n_incorrect = (int64_t)nb;
                row->mean_correct = mean_or_nan(a, na), row->mean_incorrect = mean_or_nan(b, nb);
                LsStatTest t = ls_stats_welch(a, na, b, nb);
                LsStatTest u = ls_stats_mannwhitneyu(a, na, b, nb);
                LsStatTest d = ls_stats_cohen_d(a, na, b, nb);
                if (var == LS_VAR_PROPENSITY && !m->has_forms[w]) {
                    t.reason = u.reason = d.reason = (LsStatReason)LS_REDUCE_NO_FORMS;
                    t.statistic = t.p = t.df = u.statistic = u.p = u.effect = d.statistic = NAN;
                    u.method = LS_STAT_METHOD_NONE;
                    row->mean_correct = row->mean_incorrect = NAN;
                }
                row->welch_t = t.statistic, row->welch_df = t.df, row->welch_p = t.p, row->welch_q = NAN;
                row->welch_reason = (int8_t)t.reason;
                row->mwu_u = u.statistic, row->mwu_p = u.p, row->mwu_q = NAN,
                row->mwu_method = (int8_t)u.method;
                row->mwu_reason = (int8_t)u.reason, row->rank_biserial = u.effect;
                row->cohen_d = d.statistic, row->cohen_d_reason = (int8_t)d.reason;
            }
}

static void fill_levels(const Input *in, const LsReduceOptions *opt, LsSumLevel *rows, double *v, double *lev,
                        double *tmp) {
    size_t r = 0;
    for (size_t mi = 0; mi < in->n_models; mi++)
        for (size_t w = 0; w < in->W; w++)
            for (int var = 0; var < LS_VAR_COUNT; var++, r++) {
                LsSumLevel *row = &rows[r];
                const ModelIn *m = &in->m[mi];
                memset(row, 0, sizeof *row);
                row->model = (int16_t)mi, row->word = (int16_t)w, row->variable = (int8_t)var;
                size_t n = collect(in, m, w, var, keep_level, 0, v, lev);
                row->n = (int64_t)n;
                /* groups by level, packed into tmp in level order */
                const double *groups[5];
                size_t sizes[5], k = 0, pos = 0;
                for (int L = 1; L <= 5; L++) {
                    size_t c = 0;
                    for (size_t j = 0; j < n; j++)
                        if (lev[j] == L) tmp[pos + c++] = v[j];
                    row->n_by_level[L - 1] = (int64_t)c;
                    row->mean_by_level[L - 1] = mean_or_nan(tmp + pos, c);
                    if (c) {
                        groups[k] = tmp + pos;
                        sizes[k++] = c;
                    }
                    pos += c;
                }
                LsStatTest s = ls_stats_spearman(lev, v, n);
                /* small levels: permutation p (key seed + 16 r + 7, r the row) */
                LsStatTest h = k >= 2 ? ls_stats_kruskal_perm(groups, sizes, k, opt->resamples,
                                                              opt->seed + 16u * (uint64_t)r + 7u)
                                      : (LsStatTest){NAN, NAN, NAN, NAN, 0, LS_STAT_TOO_FEW};
                if (var == LS_VAR_PROPENSITY && !m->has_forms[w]) {
                    s = h = (LsStatTest){NAN, NAN, NAN, NAN, 0, (LsStatReason)LS_REDUCE_NO_FORMS};
                    for (int L = 0; L < 5; L++)
                        row->mean_by_level[L] = NAN;
                }
                row->spearman_rho = s.statistic, row->spearman_p = s.p, row->spearman_q = NAN;
                row->spearman_reason = (int8_t)s.reason;
                row->kruskal_h = h.statistic, row->kruskal_df = h.df, row->kruskal_p = h.p,
                row->kruskal_q = NAN;
                row->kruskal_reason = (int8_t)h.reason, row->kruskal_method = (int8_t)h.method;
            }
}

/* Cluster-bootstrap BCa intervals of the mean raw propensity difference
 * a - b of every word of model pair k (B = opt->bootstrap resamples of the
 * pair's clusters, shared by its words; key seed + 16 k + 4). ci: [W]. */
static void pair_diff_cis(const Input *in, size_t a, size_t b, size_t k, const LsReduceOptions *opt,
                          LsStatInterval *ci) {
    const ModelIn *ma = &in->m[a], *mb = &in->m[b];
    size_t N = in->N, W = in->W, n = 0;
    int64_t *id = ls_malloc((N ? N : 1) * sizeof *id);
    size_t *pos = ls_malloc((N ? N : 1) * sizeof *pos), *cl = ls_malloc((N ? N : 1) * sizeof *cl);
    for (size_t i = 0; i < N; i++)
        if (in->used[i] && ma->n_ans[i] && mb->n_ans[i]) id[n] = in->problem[i], pos[n++] = i;
    size_t G = ls_stats_cluster_index(id, n, cl);
    double *sum = ls_calloc(G * W + 1, sizeof *sum), *cnt = ls_calloc(G + 1, sizeof *cnt),
           *est = ls_malloc((W ? W : 1) * sizeof *est);
    for (size_t j = 0; j < n; j++) {
        size_t i = pos[j];
        cnt[cl[j]] += 1.0;
        for (size_t w = 0; w < W; w++)
            sum[cl[j] * W + w] += propensity(in, ma, i, w) - propensity(in, mb, i, w);
    }
    ls_stats_cluster_bca(sum, cnt, G, W, opt->bootstrap, opt->seed + 16u * (uint64_t)k + 4u,
                         LS_STATS_CI_LEVEL, est, ci);
    free(id);
    free(pos);
    free(cl);
    free(sum);
    free(cnt);
    free(est);
}

static void fill_pairs(const Input *in, const LsReduceOptions *opt, LsSumPair *rows, double *x, double *y) {
    size_t r = 0, k = 0;
    LsStatInterval *ci = ls_malloc((in->W ? in->W : 1) * sizeof *ci);
    for (size_t a = 0; a < in->n_models; a++)
        for (size_t b = a + 1; b < in->n_models; b++, k++) {
            if (opt->bootstrap) pair_diff_cis(in, a, b, k, opt, ci);
            for (size_t w = 0; w < in->W; w++, r++) {
                LsSumPair *row = &rows[r];
                const ModelIn *ma = &in->m[a], *mb = &in->m[b];
                memset(row, 0, sizeof *row);
                row->model_a = (int16_t)a, row->model_b = (int16_t)b, row->word = (int16_t)w;
                size_t n = 0;
                for (size_t i = 0; i < in->N; i++) {
                    if (!in->used[i] || !ma->n_ans[i] || !mb->n_ans[i]) continue;
                    x[n] = propensity(in, ma, i, w);
                    y[n++] = propensity(in, mb, i, w);
                }
                row->n_pairs = (int64_t)n;
                row->mean_a = mean_or_nan(x, n), row->mean_b = mean_or_nan(y, n);
                LsStatDesc d = ls_stats_paired_diff(x, y, n, 0, 0);
                if (opt->bootstrap && d.reason == LS_STAT_OK) d.ci_lo = ci[w].lo, d.ci_hi = ci[w].hi;
                LsStatTest t = ls_stats_wilcoxon(x, y, n);
                if (!ma->has_forms[w] || !mb->has_forms[w]) {
                    d = (LsStatDesc){d.n, NAN, NAN, NAN, NAN, NAN, (LsStatReason)LS_REDUCE_NO_FORMS};
                    t = (LsStatTest){NAN, NAN, NAN, NAN, 0, (LsStatReason)LS_REDUCE_NO_FORMS};
                    row->mean_a = row->mean_b = NAN;
                }
                row->diff_mean = d.mean, row->diff_median = d.median, row->diff_sd = d.sd;
                row->diff_ci_lo = d.ci_lo, row->diff_ci_hi = d.ci_hi, row->diff_reason = (int8_t)d.reason;
                row->wilcoxon_w = t.statistic, row->wilcoxon_p = t.p, row->wilcoxon_q = NAN;
                row->wilcoxon_method = (int8_t)t.method, row->wilcoxon_reason = (int8_t)t.reason;
                row->wilcoxon_r = t.effect;
            }
        }
    free(ci);
}

static void bh_family(const void *base_p, void *base_q, size_t stride, size_t n);

/* ---- primary tests (docs/statistics.md) ---------------------------------- */

/* Key of the counter-based random stream of model pair k, use t (0 BCa of
 * the pair effect, 1 its sign flips, 2 sign flips of the level slope, 3 of
 * the correctness difference, 6 the cluster bootstrap of the regression;
 * 4 is the model_pairs CI, and seed + 16 g + 5 the CIs of group g). */
#define LS_Z975 1.959963984540054 /* ndtri(0.975) */
static uint64_t primary_key(const LsReduceOptions *opt, size_t k, int t) {
    return opt->seed + 16u * (uint64_t)k + (uint64_t)t;
}

/* The samples of one model pair and their d = log propensity_b - log propensity_a per word. */
typedef struct {
    size_t n, G, W;
    size_t *sample;      /* [n] sample index */
    size_t *cl;          /* [n] dense cluster index */
    double *d;           /* [n * W] */
    double *suma, *sumb; /* [W] sums over the samples of log propensity a, b (in sample order) */
    int *word_reason;    /* [W] LS_STAT_OK, NO_FORMS or NAN_INPUT (a propensity of 0) */
} PairData;

static void pair_data_free(PairData *pd) {
    free(pd->sample);
    free(pd->cl);
    free(pd->d);
    free(pd->suma);
    free(pd->sumb);
    free(pd->word_reason);
}

/* Samples kept by keep (NULL: every sample with answer positions in both models). */
static void pair_data(const Input *in, size_t a, size_t b, int regression, PairData *pd) {
    const ModelIn *ma = &in->m[a], *mb = &in->m[b];
    size_t N = in->N, W = in->W;
    pd->W = W;
    pd->sample = ls_malloc((N ? N : 1) * sizeof *pd->sample);
    pd->n = 0;
    for (size_t i = 0; i < N; i++) {
        if (!in->used[i] || !ma->n_ans[i] || !mb->n_ans[i]) continue;
        if (regression &&
            (in->level[i] < 1 || in->level[i] > 5 || (in->correct[i] != 0 && in->correct[i] != 1)))
            continue;
        pd->sample[pd->n++] = i;
    }
    size_t n = pd->n;
    int64_t *id = ls_malloc((n ? n : 1) * sizeof *id);
    pd->cl = ls_malloc((n ? n : 1) * sizeof *pd->cl);
    for (size_t j = 0; j < n; j++)
        id[j] = in->problem[pd->sample[j]];
    pd->G = ls_stats_cluster_index(id, n, pd->cl);
    free(id);
    pd->d = ls_malloc((n * W + 1) * sizeof *pd->d);
    pd->suma = ls_calloc(W + 1, sizeof *pd->suma);
    pd->sumb = ls_calloc(W + 1, sizeof *pd->sumb);
    pd->word_reason = ls_calloc(W ? W : 1, sizeof *pd->word_reason);
    for (size_t w = 0; w < W; w++) {
        if (!ma->has_forms[w] || !mb->has_forms[w]) pd->word_reason[w] = LS_REDUCE_NO_FORMS;
        for (size_t j = 0; j < n; j++) {
            size_t i = pd->sample[j];
            double x = log(propensity(in, ma, i, w)), y = log(propensity(in, mb, i, w));
            pd->suma[w] += x, pd->sumb[w] += y, pd->d[j * W + w] = y - x;
            if (!pd->word_reason[w] && !isfinite(y - x)) pd->word_reason[w] = LS_STAT_NAN_INPUT;
        }
    }
}

static void primary_init(LsSumPrimary *row, size_t a, size_t b, size_t w, int test, const PairData *pd) {
    memset(row, 0, sizeof *row);
    row->model_a = (int16_t)a, row->model_b = (int16_t)b, row->word = (int16_t)w, row->test = (int8_t)test;
    row->n = (int64_t)pd->n, row->n_clusters = (int64_t)pd->G;
    row->estimate = row->se = row->ci_lo = row->ci_hi = row->ratio = row->ratio_lo = row->ratio_hi = NAN;
    row->wald_lo = row->wald_hi = NAN;
    row->geomean_a = row->geomean_b = row->z = row->p_wald = row->p = row->q = NAN;
    row->reason = (int8_t)pd->word_reason[w];
    if (!pd->word_reason[w] && pd->n) {
        row->geomean_a = exp(pd->suma[w] / (double)pd->n), row->geomean_b = exp(pd->sumb[w] / (double)pd->n);
    }
}

static void primary_finish(LsSumPrimary *row, const LsStatTest *flip) {
    if (row->reason) {
        row->estimate = row->se = row->ci_lo = row->ci_hi = row->z = row->p_wald = NAN;
        row->wald_lo = row->wald_hi = NAN;
        row->geomean_a = row->geomean_b = NAN;
        row->ci_method = LS_CI_NONE;
        return;
    }
    row->ratio = exp(row->estimate), row->ratio_lo = exp(row->ci_lo), row->ratio_hi = exp(row->ci_hi);
    row->p = flip->p, row->p_method = (int8_t)flip->method;
    row->p_resamples = isnan(flip->df) ? 0 : (int64_t)flip->df;
    if (flip->reason && !row->reason) row->reason = (int8_t)flip->reason;
    if (row->reason) row->p = NAN;
    row->eligible = row->reason == LS_STAT_OK && row->n_clusters >= LS_REDUCE_MIN_CLUSTERS;
}

/* (a) the pair effect: mean d, cluster-bootstrap BCa, sign flips of cluster sums. */
static void primary_pair_effect(const PairData *pd, const LsReduceOptions *opt, size_t k, size_t a, size_t b,
                                LsSumPrimary *rows /* [W], stride LS_PRIMARY_COUNT */) {
    size_t G = pd->G, W = pd->W, n = pd->n;
    double *sum = ls_calloc(G * W + 1, sizeof *sum), *cnt = ls_calloc(G + 1, sizeof *cnt);
    for (size_t j = 0; j < n; j++) {
        cnt[pd->cl[j]] += 1.0;
        for (size_t w = 0; w < W; w++)
            if (!pd->word_reason[w]) sum[pd->cl[j] * W + w] += pd->d[j * W + w];
    }
    double *est = ls_malloc((W + 1) * sizeof *est), *y = ls_malloc((n + 1) * sizeof *y), one[1] = {1.0};
    double *X = ls_malloc((n + 1) * sizeof *X);
    for (size_t j = 0; j < n; j++)
        X[j] = one[0];
    LsStatInterval *ci = ls_malloc((W + 1) * sizeof *ci);
    LsStatTest *flip = ls_malloc((W + 1) * sizeof *flip);
    ls_stats_cluster_bca(sum, cnt, G, W, opt->resamples, primary_key(opt, k, 0), LS_STATS_CI_LEVEL, est, ci);
    ls_stats_signflip(sum, G, W, opt->resamples, primary_key(opt, k, 1), flip);
    for (size_t w = 0; w < W; w++) {
        LsSumPrimary *row = &rows[w * LS_PRIMARY_COUNT];
        primary_init(row, a, b, w, LS_PRIMARY_PAIR_EFFECT, pd);
        if (!row->reason) {
            for (size_t j = 0; j < n; j++)
                y[j] = pd->d[j * W + w];
            LsStatOls o = ls_stats_ols_cluster(X, y, pd->cl, n, 1, G, NULL);
            row->estimate = est[w], row->se = o.se[0], row->z = o.z[0], row->p_wald = o.p[0];
            row->ci_lo = ci[w].lo, row->ci_hi = ci[w].hi, row->ci_method = LS_CI_BCA;
            row->wald_lo = row->estimate - LS_Z975 * row->se,
            row->wald_hi = row->estimate + LS_Z975 * row->se;
            if (o.reason)
                row->reason = (int8_t)o.reason;
            else if (ci[w].reason)
                row->reason = (int8_t)ci[w].reason;
        }
        primary_finish(row, &flip[w]);
    }
    free(sum);
    free(cnt);
    free(est);
    free(y);
    free(X);
    free(ci);
    free(flip);
}

/* (b), (c): OLS of d on [1, level, correct, log length] with cluster-robust
 * SEs; the wild cluster sign-flip test of the level and correctness coefficients. */
static void primary_regression(const Input *in, const PairData *pd, const LsReduceOptions *opt, size_t k,
                               size_t a, size_t b, LsSumPrimary *rows) {
    enum { K = 4 };
    size_t G = pd->G, W = pd->W, n = pd->n;
    double *X = ls_malloc((n * K + 1) * sizeof *X), *y = ls_malloc((n + 1) * sizeof *y);
    for (size_t j = 0; j < n; j++) {
        size_t i = pd->sample[j];
        double ll = isnan(in->log_len[i]) ? log((double)in->m[a].n_ans[i]) : in->log_len[i];
        X[j * K] = 1.0, X[j * K + 1] = in->level[i], X[j * K + 2] = in->correct[i], X[j * K + 3] = ll;
    }
    double *fw = ls_malloc((G * K + 1) * sizeof *fw);
    double *wl = ls_calloc(G * W + 1, sizeof *wl), *wc = ls_calloc(G * W + 1, sizeof *wc);
    LsStatOls *fit = ls_malloc((W + 1) * sizeof *fit);
    for (size_t w = 0; w < W; w++) {
        fit[w].reason = (LsStatReason)pd->word_reason[w];
        if (pd->word_reason[w]) continue;
        for (size_t j = 0; j < n; j++)
            y[j] = pd->d[j * W + w];
        fit[w] = ls_stats_ols_cluster(X, y, pd->cl, n, K, G, fw);
        if (fit[w].reason) continue;
        for (size_t c = 0; c < G; c++)
            wl[c * W + w] = fw[c * K + 1], wc[c * W + w] = fw[c * K + 2];
    }
    /* cluster-bootstrap BCa of the level and correctness coefficients, every word on the same resamples */
    double *Y = ls_malloc((n * W + 1) * sizeof *Y), *best = ls_malloc((2 * W + 1) * sizeof *best);
    LsStatInterval *bci = ls_malloc((2 * W + 1) * sizeof *bci);
    for (size_t j = 0; j < n * W; j++)
        Y[j] = pd->word_reason[j % W] ? 0.0 : pd->d[j];
    size_t coef[2] = {1, 2};
    for (size_t j = 0; j < 2 * W; j++)
        bci[j] = (LsStatInterval){NAN, NAN, NAN, NAN, LS_STAT_TOO_FEW};
    if (opt->resamples)
        ls_stats_ols_cluster_bca(X, Y, W, pd->cl, n, K, G, coef, 2, opt->resamples, primary_key(opt, k, 6),
                                 LS_STATS_CI_LEVEL, best, bci);
    free(Y);
    LsStatTest *fl = ls_malloc((W + 1) * sizeof *fl), *fc = ls_malloc((W + 1) * sizeof *fc);
    ls_stats_signflip(wl, G, W, opt->resamples, primary_key(opt, k, 2), fl);
    ls_stats_signflip(wc, G, W, opt->resamples, primary_key(opt, k, 3), fc);
    for (size_t w = 0; w < W; w++)
        for (int t = LS_PRIMARY_LEVEL_TREND; t <= LS_PRIMARY_CORRECTNESS; t++) {
            LsSumPrimary *row = &rows[w * LS_PRIMARY_COUNT + t];
            size_t j = t == LS_PRIMARY_LEVEL_TREND ? 1 : 2;
            primary_init(row, a, b, w, t, pd);
            if (!row->reason) row->reason = (int8_t)fit[w].reason;
            if (!row->reason) {
                row->estimate = fit[w].beta[j], row->se = fit[w].se[j];
                row->z = fit[w].z[j], row->p_wald = fit[w].p[j];
                row->wald_lo = row->estimate - LS_Z975 * row->se,
                row->wald_hi = row->estimate + LS_Z975 * row->se;
                const LsStatInterval *bc = &bci[w * 2 + (size_t)(t - LS_PRIMARY_LEVEL_TREND)];
                if (bc->reason == LS_STAT_OK)
                    row->ci_lo = bc->lo, row->ci_hi = bc->hi, row->ci_method = LS_CI_BCA;
            }
            primary_finish(row, t == LS_PRIMARY_LEVEL_TREND ? &fl[w] : &fc[w]);
        }
    free(X);
    free(y);
    free(fw);
    free(wl);
    free(wc);
    free(fit);
    free(fl);
    free(fc);
    free(best);
    free(bci);
}

/* Rows ordered by model pair (a < b), word, test. */
static void fill_primary(const Input *in, const LsReduceOptions *opt, LsSumPrimary *rows) {
    size_t k = 0, W = in->W;
    for (size_t a = 0; a < in->n_models; a++)
        for (size_t b = a + 1; b < in->n_models; b++, k++) {
            LsSumPrimary *r = rows + k * W * LS_PRIMARY_COUNT;
            PairData pd = {0}, pr = {0};
            pair_data(in, a, b, 0, &pd);
            primary_pair_effect(&pd, opt, k, a, b, r);
            pair_data_free(&pd);
            pair_data(in, a, b, 1, &pr);
            primary_regression(in, &pr, opt, k, a, b, r);
            pair_data_free(&pr);
        }
    size_t n = k * W * LS_PRIMARY_COUNT;
    bh_family(&rows[0].p, &rows[0].q, sizeof *rows, n);
}

/* Benjamini–Hochberg over one family: the p-values at p[k * stride] for k in
 * [0, n) (stride in bytes), q-values written at the same offsets of q. */
static void bh_family(const void *base_p, void *base_q, size_t stride, size_t n) {
    double *p = ls_malloc((n ? n : 1) * sizeof *p);
    for (size_t k = 0; k < n; k++)
        memcpy(&p[k], (const char *)base_p + k * stride, sizeof(double));
    ls_stats_bh(p, n, p); /* p-values come from the stats core: always in [0, 1] or NaN */
    for (size_t k = 0; k < n; k++)
        memcpy((char *)base_q + k * stride, &p[k], sizeof(double));
    free(p);
}

/* Families (docs/hdf5-layout.md): per model x variable x test, across words
 * (correctness, levels); per model pair, across words (model_pairs). */
static void apply_bh(const Input *in, LsSumCorrect *c, LsSumLevel *l, LsSumPair *pr, size_t n_pairs) {
    size_t W = in->W, V = LS_VAR_COUNT;
    for (size_t mi = 0; mi < in->n_models; mi++)
        for (size_t var = 0; var < V; var++) {
            size_t r0 = mi * W * V + var;
            bh_family(&c[r0].welch_p, &c[r0].welch_q, V * sizeof *c, W);
            bh_family(&c[r0].mwu_p, &c[r0].mwu_q, V * sizeof *c, W);
            bh_family(&l[r0].spearman_p, &l[r0].spearman_q, V * sizeof *l, W);
            bh_family(&l[r0].kruskal_p, &l[r0].kruskal_q, V * sizeof *l, W);
        }
    for (size_t k = 0; k < n_pairs; k++)
        bh_family(&pr[k * W].wilcoxon_p, &pr[k * W].wilcoxon_q, sizeof *pr, W);
}

/* ---- writing -------------------------------------------------------------- */

static int write_table(LsH5 *h, hid_t g, const LsTable *t, const void *rows, size_t n, const char *desc,
                       LsError *e) {
    return ls_table_write(h, g, t, rows, n, desc, e);
}

static int write_names(LsH5 *h, hid_t g, const char *name, const char *(*fn)(int), int n, const char *desc,
                       LsError *e) {
    enum { LEN = 32 };
    char *buf = ls_calloc((size_t)n, LEN);
    for (int i = 0; i < n; i++)
        snprintf(buf + (size_t)i * LEN, LEN, "%s", fn(i));
    hid_t st = ls_h5_str_type(LEN);
    uint64_t dims[1] = {(uint64_t)n};
    hid_t ds = ls_h5_dataset(h, g, name, st, 1, dims, desc, "", e);
    int rc = LS_OK;
    if (ds < 0) {
        rc = LS_ERR;
    } else {
        rc = LS_H5_CHECK(H5Dwrite(ds, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), ds, NULL, e);
        H5Dclose(ds);
    }
    H5Tclose(st);
    free(buf);
    return rc ? LS_ERR : LS_OK;
}

static const char *method_name_i(int m) {
    return ls_reduce_method_name(m);
}

/* Truncated and windowed counts of group g from /samples/length_policy (pol
 * NULL: files written before it, -1 and NaN). */
static void fill_cut(const Input *in, const int8_t *pol, int g, LsSumLength *r) {
    r->truncated = r->windowed = pol ? 0 : -1;
    for (size_t i = 0; pol && i < in->N; i++)
        if (in_group(in, i, g)) {
            r->truncated += pol[i] == 1;
            r->windowed += pol[i] == 2;
        }
    double all = (double)(r->kept + (r->skipped > 0 ? r->skipped : 0));
    r->truncated_rate = pol && all > 0 ? (double)r->truncated / all : NAN;
    r->windowed_rate = pol && all > 0 ? (double)r->windowed / all : NAN;
}

/* Whether the rates of the levels (or of correct vs incorrect) differ by more
 * than LS_REDUCE_RATE_GAP (absolute) or a factor 2; rate_at picks the rate. */
#define LS_REDUCE_RATE_GAP 0.05
static int rates_differ(const LsSumLength *rows, size_t rate_at) {
    int sets[2][2] = {{LS_GROUP_LEVEL1, LS_GROUP_LEVEL1 + 4}, {LS_GROUP_CORRECT, LS_GROUP_INCORRECT}},
        warn = 0;
    for (int k = 0; k < 2; k++) {
        double lo = INFINITY, hi = -INFINITY;
        for (int g = sets[k][0]; g <= sets[k][1]; g++) {
            double rate = *(const double *)((const char *)&rows[g] + rate_at);
            if (!isnan(rate) && rows[g].kept + rows[g].skipped > 0) {
                lo = rate < lo ? rate : lo;
                hi = rate > hi ? rate : hi;
            }
        }
        if (hi > lo && (hi - lo > LS_REDUCE_RATE_GAP || hi > 2.0 * lo)) warn = 1;
    }
    return warn;
}

/* Skip rates per group from /samples/skipped_line and, where the file has
 * them, /samples/skipped_level and /samples/skipped_is_correct (without them
 * only the `all` row knows its skipped count); truncated and windowed counts
 * from /samples/length_policy. Returns the warning flag: the skip, truncation
 * or window rates of the levels (or of correct vs incorrect) differ. */
static int fill_length(const Input *in, LsSumLength *rows, LsError *e) {
    uint64_t S = 0;
    int8_t *sl = NULL, *sc = NULL, *pol = NULL;
    int have = H5Lexists(in->f, "/samples/skipped_level", H5P_DEFAULT) > 0 &&
               H5Lexists(in->f, "/samples/skipped_is_correct", H5P_DEFAULT) > 0;
    if (H5Lexists(in->f, "/samples/skipped_line", H5P_DEFAULT) > 0) {
        hid_t ds = ls_h5_dataset_open_shape(in->f, "/samples/skipped_line", 1, NULL, &S, e);
        if (ds < 0) return -1;
        H5Dclose(ds);
    }
    if (have && (read_1d(in->f, in->file, "/samples/skipped_level", S, H5T_INTEGER, H5T_NATIVE_INT8,
                         (void **)&sl, NULL, e) ||
                 read_1d(in->f, in->file, "/samples/skipped_is_correct", S, H5T_INTEGER, H5T_NATIVE_INT8,
                         (void **)&sc, NULL, e))) {
        free(sl);
        return -1;
    }
    if (H5Lexists(in->f, "/samples/length_policy", H5P_DEFAULT) > 0 &&
        read_1d(in->f, in->file, "/samples/length_policy", in->N, H5T_INTEGER, H5T_NATIVE_INT8, (void **)&pol,
                NULL, e)) {
        free(sl);
        free(sc);
        return -1;
    }
    Input tmp = *in; /* in_group over the skipped records */
    for (int g = 0; g < LS_GROUP_COUNT; g++) {
        LsSumLength *r = &rows[g];
        r->group = (int8_t)g, r->kept = 0, r->skipped = have || g == LS_GROUP_ALL ? 0 : -1;
        for (size_t i = 0; i < in->N; i++)
            r->kept += in_group(in, i, g);
        if (g == LS_GROUP_ALL)
            r->skipped = (int64_t)S;
        else if (have) {
            tmp.level = sl, tmp.correct = sc;
            for (size_t j = 0; j < S; j++)
                r->skipped += in_group(&tmp, j, g);
        }
        r->rate = r->skipped >= 0 && r->kept + r->skipped > 0
                      ? (double)r->skipped / (double)(r->kept + r->skipped)
                      : NAN;
        fill_cut(in, pol, g, r);
    }
    free(sl);
    free(sc);
    free(pol);
    return rates_differ(rows, offsetof(LsSumLength, rate)) ||
           rates_differ(rows, offsetof(LsSumLength, truncated_rate)) ||
           rates_differ(rows, offsetof(LsSumLength, windowed_rate));
}

/* 1 when some sample has a problem_id (its cluster is not itself). */
static int by_problem(const Input *in) {
    for (size_t i = 0; i < in->N; i++)
        if (in->problem[i] >= 0) return 1;
    return 0;
}

static int write_summary(const Input *in, const LsReduceOptions *opt, const LsSumGroup *gr, size_t ng,
                         const LsSumCorrect *c, size_t nc, const LsSumLevel *l, size_t nl, const LsSumPair *p,
                         size_t np, const LsSumPrimary *pm, size_t npm, const LsSumLength *len, int len_warn,
                         LsError *e) {
    LsH5 h = {.file = in->f, .dxpl = H5I_INVALID_HID, .rank = 0, .path = (char *)in->file};
    htri_t has = -1;
    hid_t g = H5I_INVALID_HID;
    if (LS_H5_CHECK(has = H5Lexists(in->f, "/summary", H5P_DEFAULT), in->f, "/summary", e) ||
        (has > 0 && LS_H5_CHECK(H5Ldelete(in->f, "/summary", H5P_DEFAULT), in->f, "/summary", e)) ||
        LS_H5_CHECK(g = H5Gcreate2(in->f, "/summary", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), in->f,
                    "/summary", e))
        return LS_ERR;
    int rc =
        ls_h5_attr_str(g, "description",
                       "reducer tables: the primary tests (/summary/primary, one BH family over the file); "
                       "descriptive tables per model x word x group, correct-vs-incorrect, levels and "
                       "model pairs (docs/statistics.md, docs/hdf5-layout.md)",
                       e) ||
        ls_h5_attr_i64(g, "bootstrap", (int64_t)opt->bootstrap, e) ||
        ls_h5_attr_i64(g, "seed", (int64_t)opt->seed, e) ||
        ls_h5_attr_i64(g, "resamples", (int64_t)opt->resamples, e) ||
        ls_h5_attr_i64(g, "min_clusters", LS_REDUCE_MIN_CLUSTERS, e) ||
        ls_h5_attr_i64(g, "exact_clusters", LS_STATS_EXACT_CLUSTERS, e) ||
        ls_h5_attr_i64(g, "clustered_by_problem", (int64_t)by_problem(in), e) ||
        ls_h5_attr_i64(g, "n_samples", (int64_t)in->N, e) ||
        ls_h5_attr_i64(g, "samples_left_out", (int64_t)in->left_out, e) ||
        ls_h5_attr_str(g, "tool_version", LS_VERSION, e) ||
        ls_h5_attr_str(g, "git_commit", LS_GIT_COMMIT, e) ||
        write_table(&h, g, &LS_TABLE_GROUPS, gr, ng, "descriptives per model x target word x group", e) ||
        write_table(&h, g, &LS_TABLE_CORRECT, c, nc,
                    "correct vs incorrect: Welch t, Mann-Whitney U, Cohen's d per model x word x variable",
                    e) ||
        write_table(&h, g, &LS_TABLE_LEVELS, l, nl,
                    "across levels 1-5: Spearman rho, Kruskal-Wallis H per model x word x variable", e) ||
        write_table(&h, g, &LS_TABLE_PAIRS, p, np,
                    "paired model comparison on per-sample propensity: Wilcoxon, mean difference", e) ||
        write_table(&h, g, &LS_TABLE_PRIMARY, pm, npm,
                    "primary tests per model pair x word x test (pair effect, level trend, correctness) on "
                    "d = log propensity_b - log propensity_a; one BH family (docs/statistics.md)",
                    e) ||
        write_table(&h, g, &LS_TABLE_LENGTH, len, LS_GROUP_COUNT,
                    "records run and skipped (too long, bad) per group, and the skip rate", e) ||
        ls_h5_attr_i64(g, "length_policy_warning", len_warn, e) ||
        write_names(&h, g, "primary_names", ls_reduce_primary_name, LS_PRIMARY_COUNT,
                    "name of each `test` code of /summary/primary", e) ||
        write_names(&h, g, "reason_names", ls_reduce_reason_name, LS_REDUCE_REASON_COUNT,
                    "name of each *_reason code (index = code)", e) ||
        write_names(&h, g, "group_names", ls_reduce_group_name, LS_GROUP_COUNT,
                    "name of each group code of /summary/groups", e) ||
        write_names(&h, g, "variable_names", ls_reduce_variable_name, LS_VAR_COUNT,
                    "name of each variable code (the unit of analysis)", e) ||
        write_names(&h, g, "method_names", method_name_i, 4, "name of each *_method code (p-value method)",
                    e);
    H5Gclose(g);
    return rc ? LS_ERR : LS_OK;
}

/* ---- entry points --------------------------------------------------------- */

/* The root attribute `complete` (0 when missing). */
static int read_complete_attr(hid_t f, int64_t *v, LsError *e) {
    int has = 0;
    *v = 0;
    if (ls_h5_attr_has(f, "complete", &has, e)) return LS_ERR;
    return has ? ls_h5_attr_get_i64(f, "complete", v, e) : LS_OK;
}

int ls_reduce_read_complete(const char *path, int *complete, LsError *e) {
    hid_t f = ls_h5_file_open(path, 0, e);
    if (f < 0) return LS_ERR;
    int64_t v = 0;
    int rc = ls_h5_check_schema(f, path, e) || read_complete_attr(f, &v, e);
    H5Fclose(f);
    *complete = (int)v;
    return rc ? LS_ERR : LS_OK;
}

/* The bootstrap settings the run stored (root attributes `bootstrap`, `seed`),
 * unless the caller gave its own. */
static int read_settings(hid_t f, LsReduceOptions *opt, LsError *e) {
    int64_t b = 0;
    if (!opt->bootstrap_given) {
        if (ls_h5_attr_get_i64(f, "bootstrap", &b, e)) return LS_ERR;
        if (b < 0 || b > 100000000)
            return ls_fail(e, "root attribute 'bootstrap' = %lld is outside 0..1e8", (long long)b);
        opt->bootstrap = (size_t)b;
    }
    return opt->seed_given ? LS_OK : ls_h5_attr_get_u64(f, "seed", &opt->seed, e);
}

int ls_reduce_file(const char *path, const LsReduceOptions *opt_in, LsError *e) {
    LsReduceOptions opt = opt_in ? *opt_in : ls_reduce_defaults();
    Input in = {.file = path, .f = H5I_INVALID_HID};
    in.f = ls_h5_file_open(path, 1, e);
    if (in.f < 0) return LS_ERR;
    int64_t complete0 = 0;
    int rc = ls_h5_check_schema(in.f, path, e) || read_settings(in.f, &opt, e) ||
             read_input(&in, path, &opt, e) || read_complete_attr(in.f, &complete0, e);
    LsSumGroup *gr = NULL;
    LsSumCorrect *c = NULL;
    LsSumLevel *l = NULL;
    LsSumPair *p = NULL;
    LsSumPrimary *pm = NULL;
    size_t n_pairs_m = in.n_models * (in.n_models ? in.n_models - 1 : 0) / 2;
    size_t ng = in.n_models * in.W * LS_GROUP_COUNT, nc = in.n_models * in.W * LS_VAR_COUNT, nl = nc;
    size_t np = n_pairs_m * in.W, npm = np * LS_PRIMARY_COUNT;
    if (!rc) {
        size_t cap = in.N;
        for (size_t mi = 0; mi < in.n_models; mi++)
            if (in.m[mi].n_occ > cap) cap = in.m[mi].n_occ;
        cap = cap ? cap : 1;
        double *b1 = ls_malloc(cap * sizeof *b1), *b2 = ls_malloc(cap * sizeof *b2);
        double *b3 = ls_malloc(cap * sizeof *b3);
        gr = ls_calloc(ng ? ng : 1, sizeof *gr);
        c = ls_calloc(nc ? nc : 1, sizeof *c);
        l = ls_calloc(nl ? nl : 1, sizeof *l);
        p = ls_calloc(np ? np : 1, sizeof *p);
        pm = ls_calloc(npm ? npm : 1, sizeof *pm);
        if (opt.verbose) ls_log0("reduce: computing %zu group rows, %zu tests", ng, 4 * nc + np);
        fill_groups(&in, &opt, gr, b1, b2);
        fill_correct(&in, c, b1, b2);
        fill_levels(&in, &opt, l, b1, b2, b3);
        fill_pairs(&in, &opt, p, b1, b2);
        apply_bh(&in, c, l, p, n_pairs_m);
        if (opt.verbose) ls_log0("reduce: primary tests, %zu rows, %zu resamples", npm, opt.resamples);
        fill_primary(&in, &opt, pm);
        free(b1);
        free(b2);
        free(b3);
        /* while /summary is rewritten the file says it is incomplete */
        if (complete0 && ls_h5_attr_i64(in.f, "complete", 0, e)) rc = LS_ERR;
        if (!rc) {
            LsSumLength len[LS_GROUP_COUNT];
            int warn = fill_length(&in, len, e);
            rc = warn < 0 ? LS_ERR
                          : write_summary(&in, &opt, gr, ng, c, nc, l, nl, p, np, pm, npm, len, warn, e);
        }
        if (!rc) /* /summary/pairs, /summary/lens (reduce_pairs.c) */
            rc = ls_reduce_pairs(&(LsPairsInput){in.f, path, in.N, in.n_models, in.W, in.models, in.level,
                                                 in.correct, in.problem, in.used, pm, npm},
                                 &opt, e);
        if (!rc) rc = LS_H5_CHECK(H5Fflush(in.f, H5F_SCOPE_GLOBAL), in.f, NULL, e);
        if (!rc && complete0 && ls_h5_attr_i64(in.f, "complete", complete0, e)) rc = LS_ERR;
    }
    free(gr);
    free(c);
    free(l);
    free(p);
    free(pm);
    input_free(&in);
    if (H5Fclose(in.f) < 0 && !rc) rc = ls_fail(e, "%s: H5Fclose failed", path);
    return rc ? LS_ERR : LS_OK;
}
