/* prepare.c — the study's first stage: the process grid, what to do with an
 * existing output, the records (the data file read and hashed once), each
 * model's tokenizer and target forms, and this rank's encodings.
 *
 * Tokenising is shared out: records are dealt to the world's ranks by byte
 * length (a cheap estimate), each rank counts the tokens of its share with
 * every model's tokenizer, and the counts are summed over the ranks. From
 * the true counts every rank computes the same plan (the too-long records to
 * skip, the samples dealt to the data-parallel groups by token count) and then
 * tokenises, per model, only the samples its own group runs. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls/model.h"
#include "study_internal.h"

static int default_threads(const LsDist *d) {
    const char *s = getenv("SLURM_CPUS_PER_TASK");
    if (s && atoi(s) > 0) return atoi(s);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = (int)(cores / (d->local_size > 0 ? d->local_size : 1));
    return t > 0 ? t : 1;
}

/* The grid (world = dp x tp) and the threads per rank. */
static int make_grid(Study *S, LsError *e) {
    int rc = ls_dist_init(&S->d, MPI_COMM_WORLD, S->cfg->tp, e);
    if (rc == LS_OK) S->dist_on = 1;
    if (study_agree(S, rc, e)) return LS_ERR;
    S->root = S->d.world_rank == 0;
    const char *sn = getenv("SLURM_NTASKS");
    if (sn && atoi(sn) > 0 && atoi(sn) != S->d.world_size)
        rc = ls_fail(e,
                     "running under Slurm with SLURM_NTASKS=%s but the MPI world has %d ranks: launch with "
                     "srun (or mpirun -np %s)",
                     sn, S->d.world_size, sn);
    if (S->opt.threads <= 0) S->opt.threads = default_threads(&S->d);
    return study_agree(S, rc, e);
}

/* --resume / --overwrite against what is on disk (rank 0 looks, all follow). */
static int output_policy(Study *S, LsError *e) {
    const LsRunConfig *c = S->cfg;
    int rc = LS_OK;
    if (c->resume && S->opt.overwrite) rc = ls_fail(e, "--resume and --overwrite exclude each other");
    if (rc == LS_OK && S->root) {
        int exists = access(c->output, F_OK) == 0;
        if (c->resume && exists)
            S->resume = 1;
        else if (c->resume)
            ls_log0("logits-study run: --resume: %s does not exist yet; starting it", c->output);
        else if (!S->opt.overwrite && exists)
            rc =
                ls_fail(e, "%s exists: pass --resume to continue it or --overwrite to replace it", c->output);
    }
    MPI_Bcast(&S->resume, 1, MPI_INT, 0, S->d.world);
    return study_agree(S, rc, e);
}

static void hex_sha256(const void *buf, size_t len, char out[65]) {
    uint8_t h[32];
    ls_sha256(buf, len, h);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The records, identical on every rank; the data file's SHA-256 from the
 * bytes rank 0 parsed (a read error is an error, never an empty hash). */
static int load_records(Study *S, LsError *e) {
    const LsRunConfig *c = S->cfg;
    char *buf = NULL;
    size_t len = 0;
    int rc = ls_read_file(c->data, LS_DATASET_MAX_BYTES, &buf, &len, e);
    if (rc == LS_OK && S->root) hex_sha256(buf, len, S->data_sha256);
    if (rc == LS_OK)
        rc = ls_dataset_parse(&S->ds, buf, len, c->data, c->on_bad_record == LS_BAD_SKIP, c->limit, e);
    free(buf);
    if (study_agree(S, rc, e)) return LS_ERR;
    MPI_Bcast(S->data_sha256, sizeof S->data_sha256, MPI_CHAR, 0, S->d.world);
    if (S->root && S->ds.n_bad)
        ls_warn("%s: skipped %zu bad records (listed in /samples/skipped_line of the output)", c->data,
                S->ds.n_bad);
    return LS_OK;
}

/* Every model's tokenizer and target forms, and its shape against the grid
 * (from config.json, before any weight is read). */
static int load_model(Study *S, StudyModel *sm, LsError *e) {
    const LsRunConfig *c = S->cfg;
    int rc = ls_tokenizer_load(&sm->tok, sm->spec->path, e);
    if (rc == LS_OK)
        rc = ls_targets_resolve(&sm->ts, sm->tok, c->targets, c->n_targets, c->forms, c->n_forms, e);
    if (rc == LS_OK) {
        LsModelConfig mc;
        rc = ls_model_config_load(&mc, sm->spec->path, e); /* config.json, or a .gguf file's metadata */
        if (rc == LS_OK) {
            sm->ctx = (size_t)mc.max_position_embeddings;
            sm->window = c->max_tokens < sm->ctx ? c->max_tokens : sm->ctx;
            sm->min_ctx = c->min_context;
            sm->vocab = mc.vocab_size;
        }
        if (rc == LS_OK) {
            rc = ls_dist_check_model(&S->d, &mc, e);
            ls_config_free(&mc);
        }
    }
    if (rc) ls_fail_prefix(e, "model %s", sm->spec->name);
    return rc;
}

static int load_models(Study *S, LsError *e) {
    const LsRunConfig *c = S->cfg;
    S->models = ls_calloc(c->n_models, sizeof *S->models);
    int rc = LS_OK;
    for (size_t k = 0; k < c->n_models; k++)
        S->models[k].spec = &c->models[k];
    for (size_t k = 0; k < c->n_models && rc == LS_OK; k++)
        rc = load_model(S, &S->models[k], e);
    return study_agree(S, rc, e);
}

/* Encodes records[idx[0..n)] (the subset, in that order) with one model. */
static int encode_subset(const Study *S, const StudyModel *sm, const size_t *idx, size_t n, LsEncoded *out,
                         LsError *e) {
    const LsRunConfig *c = S->cfg;
    LsRecord *sub = ls_malloc((n ? n : 1) * sizeof *sub);
    for (size_t j = 0; j < n; j++)
        sub[j] = S->ds.records[idx[j]];
    int rc = ls_encode_records(out, sm->tok, c->template_text, sub, n, sm->window,
                               c->on_long_record == LS_LONG_TRUNCATE, c->data, e);
    free(sub);
    if (rc) ls_fail_prefix(e, "model %s", sm->spec->name);
    return rc;
}

/* Token counts of every record with every model: count[(k * 3 + f) * n + i]
 * with f = 0 full length, 1 length kept (after truncation), 2 answer start.
 * Each rank counts the records dealt to it by bytes; the sum over the ranks
 * fills the table (each record is counted by exactly one rank). */
static int count_tokens(Study *S, int32_t **count, LsError *e) {
    size_t n = S->ds.n_records, nm = S->cfg->n_models;
    size_t *bytes = ls_malloc((n ? n : 1) * sizeof *bytes);
    for (size_t i = 0; i < n; i++)
        bytes[i] = strlen(S->ds.records[i].query) + strlen(S->ds.records[i].answer) + 1;
    LsShardPlan share;
    int rc = ls_shard_plan(&share, bytes, n, (size_t)S->d.world_size, SIZE_MAX, e), planned = rc == LS_OK;
    free(bytes);
    *count = ls_calloc(3 * nm * (n ? n : 1), sizeof **count);
    const LsShardGroup *mine = rc == LS_OK ? &share.groups[S->d.world_rank] : NULL;
    for (size_t k = 0; k < nm && rc == LS_OK; k++) {
        LsEncoded enc;
        rc = encode_subset(S, &S->models[k], mine->records, mine->n_records, &enc, e);
        for (size_t j = 0; rc == LS_OK && j < mine->n_records; j++) {
            size_t i = mine->records[j];
            (*count)[(k * 3 + 0) * n + i] = enc.full_len[j];
            (*count)[(k * 3 + 1) * n + i] = (int32_t)(enc.off[j + 1] - enc.off[j]);
            (*count)[(k * 3 + 2) * n + i] = enc.answer_start[j];
        }
        ls_encoded_free(&enc);
    }
    if (planned) ls_shard_free(&share);
    if (study_agree(S, rc, e)) return LS_ERR;
    MPI_Allreduce(MPI_IN_PLACE, *count, (int)(3 * nm * n), MPI_INT32_T, MPI_SUM, S->d.world);
    return LS_OK;
}

/* One warning per model whose window some records exceed: how many, what
 * became of them, by level and by correctness (long answers concentrate in
 * the hard levels and the wrong answers, so a skip biases the comparison). */
static void warn_long(const Study *S, const int32_t *count) {
    const LsRunConfig *c = S->cfg;
    static const char *const what[] = {"skipped", "truncated", "scored in windows"};
    size_t n = S->ds.n_records;
    for (size_t k = 0; k < c->n_models; k++) {
        size_t lev[6] = {0}, cor[3] = {0}, tot = 0;
        for (size_t i = 0; i < n; i++) {
            if ((size_t)count[(k * 3) * n + i] <= S->models[k].window) continue;
            const LsRecord *r = &S->ds.records[i];
            tot++;
            lev[r->level >= 1 && r->level <= 5 ? r->level : 0]++;
            cor[r->is_correct == 1 ? 0 : r->is_correct == 0 ? 1 : 2]++;
        }
        if (tot)
            ls_warn("model %s: %zu records longer than its window %zu (min of max_tokens and context length "
                    "%zu) %s; by level 1-5: %zu/%zu/%zu/%zu/%zu; correct/incorrect/unknown: %zu/%zu/%zu",
                    c->models[k].name, tot, S->models[k].window, S->models[k].ctx, what[c->on_long_record],
                    lev[1], lev[2], lev[3], lev[4], lev[5], cor[0], cor[1], cor[2]);
    }
}

/* The records to run: a record longer than a model's window, min(max_tokens,
 * its context length), is skipped for all models (on_long_record: skip; its
 * reason kept for /samples), cut to the window (truncate) or scored in
 * overlapping windows (window). Every record affected is counted loudly. */
static int choose_records(Study *S, const int32_t *count, LsError *e) {
    const LsRunConfig *c = S->cfg;
    size_t n = S->ds.n_records;
    S->keep = ls_malloc((n ? n : 1) * sizeof *S->keep);
    S->policy = ls_calloc(n ? n : 1, sizeof *S->policy);
    S->long_reason = ls_calloc(n ? n : 1, sizeof *S->long_reason);
    for (size_t i = 0; i < n; i++) {
        int8_t pol = 0;
        for (size_t k = 0; k < c->n_models && !S->long_reason[i]; k++) {
            int32_t full = count[(k * 3) * n + i];
            const StudyModel *sm = &S->models[k];
            if ((size_t)full <= sm->window) continue;
            pol = c->on_long_record == LS_LONG_WINDOW ? 2 : 1;
            if (pol == 2 && sm->min_ctx >= sm->window)
                return ls_fail(
                    e,
                    "%s:%zu: %d tokens with model %s, more than its window %zu = min(max_tokens, "
                    "context length %zu); min_context=%zu must be less than the window to score it "
                    "in windows",
                    c->data, S->ds.records[i].line, full, c->models[k].name, sm->window, sm->ctx,
                    sm->min_ctx);
            if (c->on_long_record != LS_LONG_SKIP) continue;
            char buf[256];
            snprintf(buf, sizeof buf,
                     "%d tokens with model %s's tokenizer, more than its window %zu = min(max_tokens, "
                     "context length %zu)",
                     full, c->models[k].name, sm->window, sm->ctx);
            S->long_reason[i] = ls_strdup(buf);
        }
        if (S->long_reason[i]) {
            S->n_long++;
        } else {
            S->policy[S->n_keep] = pol;
            S->keep[S->n_keep++] = i;
        }
    }
    if (S->n_keep == 0)
        return ls_fail(e, "%s: no record left to run (%zu longer than max_tokens=%zu or a model's context)",
                       c->data, S->n_long, c->max_tokens);
    if (S->root) warn_long(S, count);
    return LS_OK;
}

/* A model's file rows for the samples run (from the counts), and its plan:
 * samples dealt to the DP groups by token count, packed into batches. */
static int lay_out_model(Study *S, StudyModel *sm, const int32_t *count_k, LsError *e) {
    size_t n = S->ds.n_records, N = S->n_keep;
    LsEncoded *enc = &sm->enc;
    enc->n = N;
    enc->off = ls_calloc(N + 1, sizeof *enc->off);
    enc->answer_start = ls_calloc(N ? N : 1, sizeof *enc->answer_start);
    enc->full_len = ls_calloc(N ? N : 1, sizeof *enc->full_len);
    size_t *tokens = ls_malloc((N ? N : 1) * sizeof *tokens);
    for (size_t j = 0; j < N; j++) {
        size_t i = S->keep[j];
        enc->full_len[j] = count_k[0 * n + i];
        size_t len = (size_t)count_k[1 * n + i];
        tokens[j] = study_window_tokens(sm, len); /* what it costs to run */
        enc->answer_start[j] = count_k[2 * n + i];
        enc->off[j + 1] = enc->off[j] + (int64_t)len;
    }
    int rc = ls_shard_plan(&sm->plan, tokens, N, (size_t)S->d.dp, S->cfg->batch_tokens, e);
    free(tokens);
    sm->out = (LsStudyModel){sm->spec->name, sm->spec->path, &sm->enc, &sm->ts, ls_tokenizer_sha256(sm->tok)};
    return rc;
}

/* The ids of the samples this rank's DP group runs, and where each starts. */
static int encode_group(Study *S, StudyModel *sm, LsError *e) {
    const LsShardGroup *g = &sm->plan.groups[S->d.dp_rank];
    size_t N = sm->enc.n;
    size_t *rec = ls_malloc((g->n_records ? g->n_records : 1) * sizeof *rec);
    for (size_t r = 0; r < g->n_records; r++)
        rec[r] = S->keep[g->records[r]];
    LsEncoded enc;
    int rc = encode_subset(S, sm, rec, g->n_records, &enc, e);
    free(rec);
    if (rc) return rc;
    sm->at = ls_malloc((N ? N : 1) * sizeof *sm->at);
    for (size_t i = 0; i < N; i++)
        sm->at[i] = -1;
    for (size_t r = 0; r < g->n_records && rc == LS_OK; r++) {
        size_t i = g->records[r];
        sm->at[i] = enc.off[r];
        if (enc.off[r + 1] - enc.off[r] != sm->enc.off[i + 1] - sm->enc.off[i])
            rc = ls_fail(e, "model %s: sample %zu tokenised to another length the second time",
                         sm->spec->name, i);
    }
    sm->ids = enc.ids;
    enc.ids = NULL;
    ls_encoded_free(&enc);
    return rc;
}

/* The device and precision, tried before any file is touched: a precision
 * the backend cannot compute in stops the run here. */
static int probe_device(Study *S, LsError *e) {
    LsBackend *be = NULL;
    int rc = study_backend_open(S, &be, e);
    if (be) be->destroy(be);
    return rc;
}

int study_prepare(Study *S, LsError *e) {
    if (make_grid(S, e) || output_policy(S, e) || probe_device(S, e) || load_records(S, e) ||
        load_models(S, e))
        return LS_ERR;
    int32_t *count = NULL;
    if (count_tokens(S, &count, e)) {
        free(count);
        return LS_ERR;
    }
    int rc = choose_records(S, count, e);
    size_t nm = S->cfg->n_models, n = S->ds.n_records;
    for (size_t k = 0; k < nm && rc == LS_OK; k++)
        rc = lay_out_model(S, &S->models[k], count + 3 * k * n, e);
    free(count);
    for (size_t k = 0; k < nm && rc == LS_OK; k++)
        rc = encode_group(S, &S->models[k], e);
    if (study_agree(S, rc, e)) return LS_ERR;
    return study_pairs_prepare(S, e);
}
