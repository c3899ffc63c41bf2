/* study_out.c — the study's part of the output file (docs/hdf5-layout.md):
 * a model's group with its static tables and per-position datasets, the
 * collective row writes of a batch, and the occurrence table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/study_out.h"

/* Writes the rows of `nsel` samples (sorted by index) of one per-position
 * dataset: rows of sample i are [off[i], off[i+1]) in the file; in the source
 * buffer src (row width w elements of esize bytes) they start at src_row[j]. */
int ls_study_write_rows(LsH5 *h, hid_t ds, hid_t mt, size_t esize, size_t w, const size_t *sel, size_t nsel,
                        const int64_t *off, const size_t *src_row, const void *src, LsError *e) {
    LsRowRange *rr = ls_malloc((nsel ? nsel : 1) * sizeof *rr);
    size_t rows = 0;
    for (size_t j = 0; j < nsel; j++)
        rows += (size_t)(off[sel[j] + 1] - off[sel[j]]);
    unsigned char *buf = ls_malloc((rows ? rows : 1) * w * esize + 1);
    size_t at = 0;
    for (size_t j = 0; j < nsel; j++) {
        size_t i = sel[j], len = (size_t)(off[i + 1] - off[i]);
        rr[j].start = (uint64_t)off[i];
        rr[j].count = len;
        memcpy(buf + at * w * esize, (const unsigned char *)src + src_row[j] * w * esize, len * w * esize);
        at += len;
    }
    int rc = ls_h5_write_rows(h, ds, mt, rr, nsel, buf, e);
    free(buf);
    free(rr);
    return rc;
}

void ls_study_close_model(LsModelSets *s) {
    hid_t *all[] = {&s->tokens,    &s->logprob, &s->entropy, &s->rank,    &s->topk_ids, &s->topk_lp,
                    &s->target_lp, &s->context, &s->done,    &s->lens_lp, &s->lens_ent, &s->g};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i] > 0) {
            if (all[i] == &s->g)
                H5Gclose(*all[i]);
            else
                H5Dclose(*all[i]);
            *all[i] = H5I_INVALID_HID;
        }
}

/* The model group: attributes, the static datasets (tokens, offsets, targets,
 * forms) written by rank 0, and the per-position datasets to fill. */
int ls_study_create_model(LsH5 *h, const LsStudyModel *sm, const LsModel *m, int K, int root, LsModelSets *s,
                          LsError *e) {
    memset(s, 0, sizeof *s);
    char path[512];
    snprintf(path, sizeof path, "/models/%s", sm->name);
    if ((s->g = ls_h5_group(h, path, e)) < 0) return LS_ERR;
    const LsEncoded *enc = sm->enc;
    size_t N = enc->n, T = (size_t)enc->off[N], M = sm->ts->n_cols;
    int64_t n_params = 0, ans_tokens = 0;
    for (size_t i = 0; i < ls_st_count(m->st); i++) {
        const LsTensor *t = ls_st_at(m->st, i);
        int64_t c = 1;
        for (int k = 0; k < t->ndim; k++)
            c *= t->shape[k];
        n_params += c;
    }
    if (m->cfg.tie_word_embeddings && ls_st_find(m->st, "lm_head.weight"))
        n_params -= (int64_t)m->cfg.vocab_size * m->cfg.hidden_size;
    for (size_t i = 0; i < N; i++)
        ans_tokens += enc->off[i + 1] - enc->off[i] - enc->answer_start[i];
    if (ls_h5_attr_str(s->g, "path", sm->path, e) || ls_h5_attr_str(s->g, "config_json", m->cfg.text, e) ||
        ls_h5_attr_str(s->g, "tokenizer_sha256", sm->tokenizer_sha256, e) ||
        ls_h5_attr_i64(s->g, "n_params", n_params, e) ||
        ls_h5_attr_i64(s->g, "tokens_total", (int64_t)T, e) ||
        ls_h5_attr_i64(s->g, "answer_tokens_total", ans_tokens, e))
        return LS_ERR;
    uint64_t dT[2] = {T, 0}, dN1 = N + 1, dN = N;
    /* static: offsets, answer starts, token ids (rank 0 writes them whole) */
    hid_t ds =
        ls_h5_dataset(h, s->g, "token_offset", H5T_STD_I64LE, 1, &dN1,
                      "sample i occupies rows [token_offset[i], token_offset[i+1]) of every per-position "
                      "dataset of this model",
                      "rows", e);
    LsRowRange all1 = {0, N + 1}, allN = {0, N}, allT = {0, T};
    if (ds < 0 || ls_h5_write_rows(h, ds, H5T_NATIVE_INT64, &all1, root, enc->off, e)) return LS_ERR;
    H5Dclose(ds);
    ds = ls_h5_dataset(h, s->g, "answer_start", H5T_STD_I32LE, 1, &dN,
                       "position of the first answer token within the sample (prompt tokens come before it)",
                       "tokens", e);
    if (ds < 0 || ls_h5_write_rows(h, ds, H5T_NATIVE_INT32, &allN, root, enc->answer_start, e)) return LS_ERR;
    H5Dclose(ds);
    s->tokens = ls_h5_dataset(h, s->g, "tokens", H5T_STD_I32LE, 1, dT,
                              "token ids of prompt + answer of every sample, concatenated", "token id", e);
    /* ids NULL: the caller writes the tokens (each rank those of the samples it holds) */
    if (s->tokens < 0 ||
        ls_h5_write_rows(h, s->tokens, H5T_NATIVE_INT32, &allT, root && enc->ids, enc->ids, e))
        return LS_ERR;
    s->logprob = ls_h5_dataset_raw(
        h, s->g, "logprob", H5T_IEEE_F32LE, 1, dT,
        "log P(token p | tokens < p) from the logits at p-1; NaN at each sample's position 0", "nats", e);
    s->entropy = ls_h5_dataset_raw(h, s->g, "entropy", H5T_IEEE_F32LE, 1, dT,
                                   "entropy of the distribution predicted for position p; NaN at position 0",
                                   "nats", e);
    s->rank = ls_h5_dataset_raw(
        h, s->g, "rank", H5T_STD_I32LE, 1, dT,
        "1-based rank of token p in the distribution predicted for it; 0 at position 0", "rank", e);
    dT[1] = (uint64_t)K;
    s->topk_ids = ls_h5_dataset_raw(h, s->g, "topk_ids", H5T_STD_I32LE, 2, dT,
                                    "the K most probable tokens for position p, best first; -1 at position 0",
                                    "token id", e);
    s->topk_lp = ls_h5_dataset_raw(h, s->g, "topk_logprob", H5T_IEEE_F32LE, 2, dT,
                                   "log-probs of topk_ids; NaN at position 0", "nats", e);
    dT[1] = M;
    s->target_lp =
        ls_h5_dataset_raw(h, s->g, "target_logprob", H5T_IEEE_F32LE, 2, dT,
                          "log P(target form j at p | tokens < p) for each single-token target form "
                          "(columns: the targets table); NaN at position 0",
                          "nats", e);
    dT[1] = 0;
    s->context = ls_h5_dataset_raw(h, s->g, "context", H5T_STD_I32LE, 1, dT,
                                   "tokens of the sample the model saw before position p when it scored it: "
                                   "p, except in a record scored in windows (on_long_record: window)",
                                   "tokens", e);
    s->done = ls_h5_dataset_raw(h, s->g, "done", H5T_STD_U8LE, 1, &dN,
                                "1 once the sample's rows of this model are written", "flag", e);
    if (s->logprob < 0 || s->entropy < 0 || s->rank < 0 || s->topk_ids < 0 || s->topk_lp < 0 ||
        s->target_lp < 0 || s->context < 0 || s->done < 0)
        return LS_ERR;
    /* a raw dataset's space is not filled and may hold bytes HDF5 freed before: --resume reads done */
    uint8_t *zeros = ls_calloc(N ? N : 1, 1);
    int zrc = ls_h5_write_rows(h, s->done, H5T_NATIVE_UINT8, &allN, root && N > 0, zeros, e);
    free(zeros);
    if (zrc) return LS_ERR;

    /* targets [M] and forms [W*F] compound tables */
    hid_t st = ls_h5_str_type(LS_FORM_MAX_BYTES);
    typedef struct {
        int16_t word;
        char form[LS_FORM_MAX_BYTES];
        int32_t token_id;
    } TargetRow;
    typedef struct {
        int16_t word;
        char form[LS_FORM_MAX_BYTES];
        int16_t n_tokens;
        int32_t first_token;
        int32_t single_token_column;
    } FormRow;
    hid_t tt = H5I_INVALID_HID, ft = H5I_INVALID_HID, g = s->g;
    int rc =
        LS_H5_CHECK(st, g, "targets", e) ||
        LS_H5_CHECK(tt = H5Tcreate(H5T_COMPOUND, sizeof(TargetRow)), g, "targets", e) ||
        LS_H5_CHECK(H5Tinsert(tt, "word", HOFFSET(TargetRow, word), H5T_NATIVE_INT16), g, "targets", e) ||
        LS_H5_CHECK(H5Tinsert(tt, "form", HOFFSET(TargetRow, form), st), g, "targets", e) ||
        LS_H5_CHECK(H5Tinsert(tt, "token_id", HOFFSET(TargetRow, token_id), H5T_NATIVE_INT32), g, "targets",
                    e) ||
        LS_H5_CHECK(ft = H5Tcreate(H5T_COMPOUND, sizeof(FormRow)), g, "forms", e) ||
        LS_H5_CHECK(H5Tinsert(ft, "word", HOFFSET(FormRow, word), H5T_NATIVE_INT16), g, "forms", e) ||
        LS_H5_CHECK(H5Tinsert(ft, "form", HOFFSET(FormRow, form), st), g, "forms", e) ||
        LS_H5_CHECK(H5Tinsert(ft, "n_tokens", HOFFSET(FormRow, n_tokens), H5T_NATIVE_INT16), g, "forms", e) ||
        LS_H5_CHECK(H5Tinsert(ft, "first_token", HOFFSET(FormRow, first_token), H5T_NATIVE_INT32), g, "forms",
                    e) ||
        LS_H5_CHECK(
            H5Tinsert(ft, "single_token_column", HOFFSET(FormRow, single_token_column), H5T_NATIVE_INT32), g,
            "forms", e);
    const LsTargetSet *ts = sm->ts;
    TargetRow *tr = ls_calloc(M ? M : 1, sizeof *tr);
    for (size_t j = 0; j < M; j++) {
        const LsForm *f = &ts->forms[ts->col_form[j]];
        tr[j].word = (int16_t)f->word;
        memcpy(tr[j].form, f->text, strlen(f->text));
        tr[j].token_id = ts->col_ids[j];
    }
    FormRow *fr = ls_calloc(ts->n_forms ? ts->n_forms : 1, sizeof *fr);
    for (size_t j = 0; j < ts->n_forms; j++) {
        const LsForm *f = &ts->forms[j];
        fr[j].word = (int16_t)f->word;
        memcpy(fr[j].form, f->text, strlen(f->text));
        fr[j].n_tokens = (int16_t)f->n_ids;
        fr[j].first_token = f->n_ids ? f->ids[0] : -1;
        fr[j].single_token_column = f->column;
    }
    uint64_t dM = M, dF = ts->n_forms;
    LsRowRange allM = {0, M}, allF = {0, ts->n_forms};
    ds = rc ? -1
            : ls_h5_dataset(h, s->g, "targets", tt, 1, &dM,
                            "column j of target_logprob: word (index into the root attribute target_words), "
                            "surface form, token id",
                            "", e);
    if (!rc && (ds < 0 || ls_h5_write_rows(h, ds, tt, &allM, root && M, tr, e))) rc = LS_ERR;
    if (ds >= 0) H5Dclose(ds);
    ds =
        rc ? -1
           : ls_h5_dataset(h, s->g, "forms", ft, 1, &dF,
                           "every surface form of every target word with this tokenizer: its tokens, and its "
                           "column in target_logprob (-1 when it is several tokens)",
                           "", e);
    if (rc == LS_OK && (ds < 0 || ls_h5_write_rows(h, ds, ft, &allF, root && ts->n_forms, fr, e)))
        rc = LS_ERR;
    if (ds >= 0) H5Dclose(ds);
    free(tr);
    free(fr);
    if (tt >= 0) H5Tclose(tt);
    if (ft >= 0) H5Tclose(ft);
    if (st >= 0) H5Tclose(st);
    return rc ? LS_ERR : LS_OK;
}

/* Opens the per-position datasets of an existing model group (resume). */
int ls_study_open_model(LsH5 *h, const LsStudyModel *sm, int K, LsModelSets *s, LsError *e) {
    memset(s, 0, sizeof *s);
    char path[512];
    snprintf(path, sizeof path, "/models/%s", sm->name);
    if (LS_H5_CHECK(s->g = H5Gopen2(h->file, path, H5P_DEFAULT), h->file, path, e)) return LS_ERR;
    uint64_t N = sm->enc->n, T = (uint64_t)sm->enc->off[N];
    uint64_t d1[2] = {T, 0};
    if ((s->tokens = ls_h5_dataset_open(h, s->g, "tokens", 1, d1, e)) < 0) return LS_ERR;
    if ((s->logprob = ls_h5_dataset_open(h, s->g, "logprob", 1, d1, e)) < 0) return LS_ERR;
    if ((s->entropy = ls_h5_dataset_open(h, s->g, "entropy", 1, d1, e)) < 0) return LS_ERR;
    if ((s->rank = ls_h5_dataset_open(h, s->g, "rank", 1, d1, e)) < 0) return LS_ERR;
    d1[1] = (uint64_t)K;
    if ((s->topk_ids = ls_h5_dataset_open(h, s->g, "topk_ids", 2, d1, e)) < 0) return LS_ERR;
    if ((s->topk_lp = ls_h5_dataset_open(h, s->g, "topk_logprob", 2, d1, e)) < 0) return LS_ERR;
    d1[1] = sm->ts->n_cols;
    if ((s->target_lp = ls_h5_dataset_open(h, s->g, "target_logprob", 2, d1, e)) < 0) return LS_ERR;
    d1[1] = 0;
    if ((s->context = ls_h5_dataset_open(h, s->g, "context", 1, d1, e)) < 0) return LS_ERR;
    if ((s->done = ls_h5_dataset_open(h, s->g, "done", 1, &N, e)) < 0) return LS_ERR;
    return LS_OK;
}

int ls_study_lens_sets(LsH5 *h, LsModelSets *s, uint64_t n_occ, int depths, int create, LsError *e) {
    uint64_t dims[2] = {n_occ, (uint64_t)depths};
    static const char *const name[2] = {"lens_logprob", "lens_entropy"};
    static const char *const desc[2] = {
        "logit lens: log P(first token of occurrence i) from model.norm + lm_head on the residual stream "
        "after depth j (0 = the scaled embeddings, j = after layer j; the last = the model's own "
        "log-prob); rows: the occurrence table's; NaN for unaligned occurrences and at sample position 0",
        "logit lens: entropy of the distribution predicted for the first token of occurrence i from the "
        "residual stream after depth j (as lens_logprob); NaN where lens_logprob has no value"};
    hid_t *ds[2] = {&s->lens_lp, &s->lens_ent};
    for (int k = 0; k < 2; k++) {
        *ds[k] = create ? ls_h5_dataset_raw_nan(h, s->g, name[k], 2, dims, desc[k], "nats", e)
                        : ls_h5_dataset_open(h, s->g, name[k], 2, dims, e);
        if (*ds[k] < 0) return LS_ERR;
        if (create && ls_h5_attr_i64(*ds[k], "depths", depths, e)) return LS_ERR;
    }
    return LS_OK;
}

int ls_study_write_occurrences(LsH5 *h, hid_t g, const LsOccurrence *occ, size_t n_occ, size_t N,
                               LsError *e) {
    /* global order: by sample, then as found; row of each = occurrences of earlier samples + rank within */
    int64_t *mine = ls_calloc(N + 1, sizeof(int64_t)), *cnt = ls_calloc(N + 1, sizeof(int64_t));
    for (size_t i = 0; i < n_occ; i++)
        mine[occ[i].sample]++;
    MPI_Allreduce(mine, cnt, (int)N, MPI_INT64_T, MPI_SUM, h->comm);
    int64_t *start = ls_calloc(N + 1, sizeof(int64_t));
    for (size_t i = 0; i < N; i++)
        start[i + 1] = start[i] + cnt[i];
    uint64_t total = (uint64_t)start[N];
    hid_t ot = ls_h5_occurrence_type(), ds = H5I_INVALID_HID;
    int has = 0; /* resume: a stopped run's table is replaced */
    if (!LS_H5_CHECK(ot, g, "occurrences", e) && !ls_h5_link_exists(g, "occurrences", &has, e) &&
        !(has && LS_H5_CHECK(H5Ldelete(g, "occurrences", H5P_DEFAULT), g, "occurrences", e)))
        ds = ls_h5_dataset(
            h, g, "occurrences", ot, 1, &total,
            "one row per occurrence of a target word in an answer, ordered by sample: first token "
            "position, word, form (index into forms), tokens spanned, chain-rule log-prob (NaN "
            "when a word boundary falls inside a token: aligned = 0), rank of the first token",
            "nats (logprob)", e);
    int rc = ds < 0 ? LS_ERR : LS_OK;
    if (rc == LS_OK) {
        /* this rank's occurrences by sample (a counting sort: stable, linear), one row range each */
        size_t nr = 0;
        LsRowRange *rr = ls_malloc((n_occ ? n_occ : 1) * sizeof *rr);
        LsOccurrence *buf = ls_malloc((n_occ ? n_occ : 1) * sizeof *buf);
        size_t *at = ls_calloc(N + 1, sizeof(size_t));
        for (size_t i = 0; i < N; i++) {
            at[i + 1] = at[i] + (size_t)mine[i];
            if (mine[i]) rr[nr++] = (LsRowRange){(uint64_t)start[i], (uint64_t)mine[i]};
        }
        for (size_t i = 0; i < n_occ; i++)
            buf[at[occ[i].sample]++] = occ[i];
        free(at);
        rc = ls_h5_write_rows(h, ds, ot, rr, nr, buf, e);
        free(buf);
        free(rr);
        H5Dclose(ds);
    }
    if (ot >= 0) H5Tclose(ot);
    free(mine);
    free(cnt);
    free(start);
    return rc;
}

static int skip_cmp(const void *a, const void *b) {
    int64_t x = ((const LsSkipRow *)a)->line, y = ((const LsSkipRow *)b)->line;
    return (x > y) - (x < y);
}

int ls_study_write_samples(LsH5 *h, const LsRecord *records, const size_t *keep, const int8_t *policy,
                           size_t n_keep, LsSkipRow *skip, size_t n_skip, int root, LsError *e) {
    int rc = LS_OK;
    hid_t g = ls_h5_group(h, "/samples", e);
    if (g < 0) return LS_ERR;
    uint64_t N = n_keep;
    int64_t *line = ls_malloc((N + 1) * sizeof(int64_t)), *qb = ls_malloc((N + 1) * sizeof(int64_t)),
            *ab = ls_malloc((N + 1) * sizeof(int64_t));
    int8_t *lev = ls_malloc(N + 1), *cor = ls_malloc(N + 1);
    int64_t *pid = ls_malloc((N + 1) * sizeof(int64_t));
    for (size_t j = 0; j < N; j++) {
        const LsRecord *rec = &records[keep[j]];
        line[j] = (int64_t)rec->line;
        lev[j] = (int8_t)rec->level;
        cor[j] = (int8_t)rec->is_correct;
        qb[j] = (int64_t)strlen(rec->query);
        ab[j] = (int64_t)strlen(rec->answer);
        pid[j] = rec->problem_id;
    }
    LsRowRange all = {0, N};
    struct {
        const char *name, *desc, *unit;
        hid_t ft, mt;
        const void *buf;
    } cols[] = {
        {"source_line", "1-based line of the record in the JSONL file", "line", H5T_STD_I64LE,
         H5T_NATIVE_INT64, line},
        {"level", "difficulty level 1-5", "level", H5T_STD_I8LE, H5T_NATIVE_INT8, lev},
        {"is_correct", "1 correct, 0 incorrect, -1 unknown", "flag", H5T_STD_I8LE, H5T_NATIVE_INT8, cor},
        {"query_bytes", "UTF-8 length of the query", "bytes", H5T_STD_I64LE, H5T_NATIVE_INT64, qb},
        {"answer_bytes", "UTF-8 length of the answer", "bytes", H5T_STD_I64LE, H5T_NATIVE_INT64, ab},
        {"problem_id", "the record's problem_id (answers to one problem share it), -1 when none", "id",
         H5T_STD_I64LE, H5T_NATIVE_INT64, pid},
        {"length_policy",
         "0 run whole, 1 truncated to a model's window, 2 scored in overlapping windows (on_long_record), "
         "for some model",
         "code", H5T_STD_I8LE, H5T_NATIVE_INT8, policy},
    };
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        hid_t x = ls_h5_dataset(h, g, cols[c].name, cols[c].ft, 1, &N, cols[c].desc, cols[c].unit, e);
        if (x < 0 || ls_h5_write_rows(h, x, cols[c].mt, &all, root, cols[c].buf, e)) rc = LS_ERR;
        if (x >= 0) H5Dclose(x);
    }
    /* skipped records, ordered by line */
    uint64_t S = n_skip;
    qsort(skip, S, sizeof *skip, skip_cmp);
    int64_t *sl = ls_malloc((S + 1) * sizeof(int64_t));
    int8_t *slev = ls_malloc(S + 1), *scor = ls_malloc(S + 1);
    const char **sr = ls_malloc((S + 1) * sizeof(char *));
    size_t maxr = 1;
    for (size_t i = 0; i < S; i++) {
        sl[i] = skip[i].line;
        sr[i] = skip[i].reason;
        slev[i] = skip[i].level;
        scor[i] = skip[i].is_correct;
    }
    for (size_t i = 0; i < S; i++)
        if (strlen(sr[i]) + 1 > maxr) maxr = strlen(sr[i]) + 1;
    char *rbuf = ls_calloc((S ? S : 1) * maxr, 1);
    for (size_t i = 0; i < S; i++)
        memcpy(rbuf + i * maxr, sr[i], strlen(sr[i]));
    hid_t rt = ls_h5_str_type(maxr);
    LsRowRange allS = {0, S};
    hid_t x = ls_h5_dataset(h, g, "skipped_line", H5T_STD_I64LE, 1, &S,
                            "lines of the records not run (bad records with on_bad_record: skip; too long)",
                            "line", e);
    if (x < 0 || ls_h5_write_rows(h, x, H5T_NATIVE_INT64, &allS, root && S, sl, e)) rc = LS_ERR;
    if (x >= 0) H5Dclose(x);
    x = ls_h5_dataset(h, g, "skipped_level", H5T_STD_I8LE, 1, &S,
                      "level of each skipped record (-1: a bad record, not read)", "level", e);
    if (x < 0 || ls_h5_write_rows(h, x, H5T_NATIVE_INT8, &allS, root && S, slev, e)) rc = LS_ERR;
    if (x >= 0) H5Dclose(x);
    x = ls_h5_dataset(h, g, "skipped_is_correct", H5T_STD_I8LE, 1, &S,
                      "1 correct, 0 incorrect, -1 unknown or a bad record", "flag", e);
    if (x < 0 || ls_h5_write_rows(h, x, H5T_NATIVE_INT8, &allS, root && S, scor, e)) rc = LS_ERR;
    if (x >= 0) H5Dclose(x);
    x = rt < 0
            ? ls_h5_fail_call(e, "H5Tcopy", g, "skipped_reason")
            : ls_h5_dataset(h, g, "skipped_reason", rt, 1, &S, "why each skipped record was not run", "", e);
    if (x < 0 || ls_h5_write_rows(h, x, rt, &allS, root && S, rbuf, e)) rc = LS_ERR;
    if (x >= 0) H5Dclose(x);
    if (rt >= 0) H5Tclose(rt);
    H5Gclose(g);
    free(line);
    free(qb);
    free(ab);
    free(pid);
    free(lev);
    free(cor);
    free(sl);
    free(slev);
    free(scor);
    free(sr);
    free(rbuf);
    return rc;
}
