/* run_model.c — the study's third stage, once per model: its group in the
 * file (created, or reopened by --resume after checking that the same
 * tokenizer, device kind and precision computed it), the backend, the
 * batches of this rank's data-parallel group (tensor parallel within it;
 * the TP leader's rows written collectively, ordered by sample so the
 * content does not depend on the number of ranks; with `lens: true` the
 * logit lens at the occurrences too, run_lens.c), then the occurrences and
 * `complete`. Layout: docs/hdf5-layout.md. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/backend.h"
#include "ls/forward.h"
#include "ls/h5io.h"
#include "ls/metrics.h"
#include "ls/model.h"
#include "study_internal.h"

/* What one model's run holds while it runs. */
typedef struct {
    Study *S;
    StudyModel *sm;
    char gpath[512]; /* /models/<name> */
    int exists;      /* the group is in the file (resume) */
    LsModel m;
    int m_open;
    LsBackend *be;
    int nccl_on;
    LsDeviceInfo dev; /* rank 0's, the same on every rank */
    int K;            /* top-k width */
    size_t budget;    /* tokens of the largest batch */
    LsModelSets s;
    int s_open;
    uint8_t *done; /* [N] samples already written (resume) */
    LsForward f;
    int f_on;
    int lens_on;    /* `lens: true`: the logit lens at the occurrences (run_lens.c) */
    StudyLens lens; /* its rows' places in the file, and the batch's */
} ModelRun;

size_t study_windows(const StudyModel *sm, size_t len, StudyWindow *w) {
    size_t n = 0, W = sm->window, step = W - sm->min_ctx;
    for (size_t start = 0;; start += step) {
        size_t end = len - start > W ? start + W : len;
        if (w) w[n] = (StudyWindow){start, end, start ? start + sm->min_ctx : 0};
        n++;
        if (end == len) return n;
    }
}

size_t study_window_tokens(const StudyModel *sm, size_t len) {
    if (len <= sm->window) return len;
    size_t n = study_windows(sm, len, NULL), step = sm->window - sm->min_ctx;
    return (n - 1) * sm->window + (len - (n - 1) * step);
}

static int size_cmp(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static size_t sample_len(const StudyModel *sm, size_t i) {
    return (size_t)(sm->enc.off[i + 1] - sm->enc.off[i]);
}

/* Whether the file holds the group already (resume), and whether it is
 * complete. A group whose creation a kill interrupted is removed, to be made
 * again. Every rank reads the same file, so every rank gets the same answer. */
static int probe_group(ModelRun *R, int *complete, LsError *e) {
    return study_probe_group(R->S, R->gpath, &R->exists, complete, e);
}

static int open_weights(ModelRun *R, LsError *e) {
    const StudyModel *sm = R->sm;
    if (ls_model_open(&R->m, sm->spec->path, e)) return LS_ERR;
    R->m_open = 1;
    if ((size_t)ls_tokenizer_vocab_size(sm->tok) > (size_t)R->m.cfg.vocab_size)
        ls_warn("model %s: the tokenizer has %zu ids but the model's vocab_size is %d", sm->spec->name,
                ls_tokenizer_vocab_size(sm->tok), R->m.cfg.vocab_size);
    R->K = R->S->cfg->top_k < R->m.cfg.vocab_size ? R->S->cfg->top_k : R->m.cfg.vocab_size;
    size_t longest = 0;
    for (size_t i = 0; i < sm->enc.n; i++) /* a sample's windows go through together */
        if (study_window_tokens(sm, sample_len(sm, i)) > longest)
            longest = study_window_tokens(sm, sample_len(sm, i));
    R->budget = R->S->cfg->batch_tokens > longest ? R->S->cfg->batch_tokens : longest;
    return LS_OK;
}

/* The rank's backend (ls_study_backend_open); with tp > 1 on CUDA the TP
 * all-reduces go through NCCL. */
static int open_backend(ModelRun *R, LsError *e) {
    return study_backend_open_tp(R->S, &R->be, &R->nccl_on, &R->dev, e);
}

/* What computed the model (docs/hdf5-layout.md, model group attributes). */
static int write_device_record(ModelRun *R, LsError *e) {
    const LsDist *d = &R->S->d;
    hid_t g = R->s.g;
    return ls_h5_attr_str(g, "device", R->dev.device, e) ||
           ls_h5_attr_str(g, "precision", R->dev.precision, e) ||
           ls_h5_attr_str(g, "processor", R->dev.processor, e) ||
           ls_h5_attr_str(g, "runtime", R->dev.runtime, e) ||
           ls_h5_attr_i64(g, "threads", R->dev.threads, e) ||
           ls_h5_attr_i64(g, "world_size", d->world_size, e) || ls_h5_attr_i64(g, "tp_size", d->tp, e) ||
           ls_h5_attr_i64(g, "dp_size", d->dp, e);
}

/* --resume continues a model only with the tokenizer, device kind and
 * precision that wrote its first rows; it warns when the GEMM kernels or
 * libraries (runtime) differ. */
static int check_resumable(ModelRun *R, LsError *e) {
    const char *name = R->sm->spec->name, *sha = ls_tokenizer_sha256(R->sm->tok);
    char *have = NULL;
    if (sha && ls_h5_attr_get_str(R->s.g, "tokenizer_sha256", &have, e) == LS_OK && strcmp(have, sha) != 0) {
        free(have);
        return ls_fail(e,
                       "--resume: the model's tokenizer.json changed since the file was written; rerun with "
                       "--overwrite");
    }
    free(have);
    return study_resume_device_check(R->S, R->s.g, "model", name, &R->dev, e);
}

/* The tokens of the samples, written by the TP leader of each DP group. */
static int write_tokens(ModelRun *R, LsError *e) {
    const StudyModel *sm = R->sm;
    const LsShardGroup *g = &sm->plan.groups[R->S->d.dp_rank];
    size_t n = R->S->d.tp_rank == 0 ? g->n_records : 0;
    size_t *sel = ls_malloc((n ? n : 1) * sizeof *sel), *src = ls_malloc((n ? n : 1) * sizeof *src);
    memcpy(sel, g->records, n * sizeof *sel);
    qsort(sel, n, sizeof *sel, size_cmp);
    for (size_t j = 0; j < n; j++)
        src[j] = (size_t)sm->at[sel[j]];
    int rc = ls_study_write_rows(&R->S->h, R->s.tokens, H5T_NATIVE_INT32, 4, 1, sel, n, sm->enc.off, src,
                                 sm->ids, e);
    free(sel);
    free(src);
    return rc;
}

/* Creates the group (or reopens it on resume, with the samples already done). */
static int open_group(ModelRun *R, LsError *e) {
    Study *S = R->S;
    size_t N = R->sm->enc.n;
    R->done = ls_calloc(N ? N : 1, 1);
    int rc;
    if (R->exists) {
        rc = ls_study_open_model(&S->h, &R->sm->out, R->K, &R->s, e);
        R->s_open = rc == LS_OK;
        if (rc == LS_OK) rc = ls_h5_read_rows(&S->h, R->s.done, H5T_NATIVE_UINT8, 0, N, R->done, e);
        if (rc == LS_OK) rc = check_resumable(R, e);
        if (rc == LS_OK && R->lens_on)
            rc = ls_study_lens_sets(&S->h, &R->s, (uint64_t)R->lens.start[N], R->lens.depths, 0, e);
        return study_agree(S, rc, e);
    }
    rc = ls_study_create_model(&S->h, &R->sm->out, &R->m, R->K, S->root, &R->s, e);
    R->s_open = rc == LS_OK;
    if (study_agree(S, rc, e)) return LS_ERR;
    rc = R->lens_on ? ls_study_lens_sets(&S->h, &R->s, (uint64_t)R->lens.start[N], R->lens.depths, 1, e)
                    : LS_OK;
    if (rc == LS_OK) rc = write_tokens(R, e);
    if (rc == LS_OK) rc = write_device_record(R, e);
    if (rc == LS_OK) rc = ls_h5_flush(&S->h, e);
    if (rc == LS_OK) rc = ls_h5_attr_i64(R->s.g, "created", 1, e);
    if (rc == LS_OK) rc = ls_h5_flush(&S->h, e);
    return study_agree(S, rc, e);
}

/* One batch's rows of every per-position dataset, then its done markers
 * (collective: a rank with nothing to write takes part with ns = 0). */
static int write_batch(ModelRun *R, const size_t *sel, size_t ns, const size_t *src, const LsPosStats *st,
                       const int32_t *ctx, LsError *e) {
    LsH5 *h = &R->S->h;
    const LsModelSets *s = &R->s;
    const int64_t *off = R->sm->enc.off;
    size_t K = (size_t)R->K, M = R->sm->ts.n_cols;
    int rc = ls_study_write_rows(h, s->logprob, H5T_NATIVE_FLOAT, 4, 1, sel, ns, off, src, st->logprob, e);
    if (!rc)
        rc = ls_study_write_rows(h, s->entropy, H5T_NATIVE_FLOAT, 4, 1, sel, ns, off, src, st->entropy, e);
    if (!rc) rc = ls_study_write_rows(h, s->rank, H5T_NATIVE_INT32, 4, 1, sel, ns, off, src, st->rank, e);
    if (!rc && K > 0)
        rc = ls_study_write_rows(h, s->topk_ids, H5T_NATIVE_INT32, 4, K, sel, ns, off, src, st->top_ids, e);
    if (!rc && K > 0)
        rc = ls_study_write_rows(h, s->topk_lp, H5T_NATIVE_FLOAT, 4, K, sel, ns, off, src, st->top_lp, e);
    if (!rc && M > 0)
        rc =
            ls_study_write_rows(h, s->target_lp, H5T_NATIVE_FLOAT, 4, M, sel, ns, off, src, st->target_lp, e);
    if (!rc) rc = ls_study_write_rows(h, s->context, H5T_NATIVE_INT32, 4, 1, sel, ns, off, src, ctx, e);
    /* the logit lens's rows of the samples (the TP leader's: the rank with ns > 0) */
    if (!rc && R->lens_on) rc = study_lens_write(h, s, &R->lens, ns > 0, e);
    if (rc) return rc;
    LsRowRange *rr = ls_malloc((ns ? ns : 1) * sizeof *rr);
    uint8_t *ones = ls_malloc(ns ? ns : 1);
    memset(ones, 1, ns ? ns : 1);
    for (size_t j = 0; j < ns; j++)
        rr[j] = (LsRowRange){sel[j], 1};
    rc = ls_h5_write_rows(h, s->done, H5T_NATIVE_UINT8, rr, ns, ones, e);
    free(rr);
    free(ones);
    return rc;
}

/* Copies n rows of every statistic from row s of src to row d of dst. */
static void copy_rows(LsPosStats *dst, size_t d, const LsPosStats *src, size_t s, size_t n) {
    size_t K = (size_t)src->K, M = (size_t)src->ntgt;
    memcpy(dst->logprob + d, src->logprob + s, n * sizeof *dst->logprob);
    memcpy(dst->entropy + d, src->entropy + s, n * sizeof *dst->entropy);
    memcpy(dst->rank + d, src->rank + s, n * sizeof *dst->rank);
    memcpy(dst->top_ids + d * K, src->top_ids + s * K, n * K * sizeof *dst->top_ids);
    memcpy(dst->top_lp + d * K, src->top_lp + s * K, n * K * sizeof *dst->top_lp);
    memcpy(dst->target_lp + d * M, src->target_lp + s * M, n * M * sizeof *dst->target_lp);
}

/* The statistics of the samples sel[0..nsel) (sorted): each sample's windows
 * (one when it fits the model) go through the model as sequences of one
 * batch; the stored rows of a position are those of the window that scored
 * it, and ctx its context there. src[j]: where sample j's rows start in st. */
static int score_batch(ModelRun *R, const size_t *sel, size_t nsel, size_t *src, LsPosStats *st,
                       int32_t **ctx, LsError *e) {
    const StudyModel *sm = R->sm;
    size_t rows = 0, nw = 0, T = 0;
    for (size_t j = 0; j < nsel; j++) {
        rows += sample_len(sm, sel[j]);
        nw += study_windows(sm, sample_len(sm, sel[j]), NULL);
    }
    StudyWindow *w = ls_malloc(nw * sizeof *w);
    int32_t *seq_off = ls_malloc((nw + 1) * sizeof *seq_off), *ids = ls_malloc((R->budget + 1) * sizeof *ids);
    *ctx = ls_malloc((rows ? rows : 1) * sizeof **ctx);
    seq_off[0] = 0;
    for (size_t j = 0, k = 0, at = 0; j < nsel; j++) {
        size_t i = sel[j], n = study_windows(sm, sample_len(sm, i), w + k);
        src[j] = at;
        for (size_t q = k; q < k + n; q++) {
            size_t L = w[q].end - w[q].start;
            memcpy(ids + seq_off[q], sm->ids + sm->at[i] + w[q].start, L * sizeof *ids);
            seq_off[q + 1] = seq_off[q] + (int32_t)L;
            for (size_t p = w[q].from; p < w[q].end; p++)
                (*ctx)[at + p] = (int32_t)(p - w[q].start);
        }
        k += n;
        at += sample_len(sm, i);
    }
    T = (size_t)seq_off[nw];
    size_t n_cols = sm->ts.n_cols;
    LsPosStats ws;
    ls_posstats_alloc(&ws, T, R->K, (int)n_cols);
    /* the logit lens taps the rows that predict the samples' occurrences */
    int rc = R->lens_on ? study_lens_tap(sm, &R->lens, &R->f, sel, nsel, w, seq_off, e) : LS_OK;
    if (rc == LS_OK) rc = ls_forward_batch(&R->f, ids, seq_off, (int)nw, e);
    if (rc == LS_OK)
        rc = ls_metrics_head(&R->f, ids, seq_off, (int)nw, sm->ts.col_ids, (int)n_cols, R->K, &ws, e);
    if (rc == LS_OK && R->lens_on) rc = study_lens_eval(&R->lens, &R->f, e);
    if (nw == nsel) { /* no sample in windows: the rows are the batch's */
        *st = ws;
    } else {
        ls_posstats_alloc(st, rows, R->K, (int)n_cols);
        for (size_t j = 0, k = 0; rc == LS_OK && j < nsel; j++)
            for (size_t n = study_windows(sm, sample_len(sm, sel[j]), NULL); n > 0; n--, k++)
                copy_rows(st, src[j] + w[k].from, &ws, (size_t)seq_off[k] + (w[k].from - w[k].start),
                          w[k].end - w[k].from);
        ls_posstats_free(&ws);
    }
    free(w);
    free(seq_off);
    free(ids);
    return rc;
}

/* Progress of the run as rank 0 sees it (group 0). */
typedef struct {
    size_t samples, tokens, todo_tokens;
    double t0, last, compute, write;
} Progress;

static void report_progress(const ModelRun *R, Progress *p, int last_batch) {
    const Study *S = R->S;
    double now = ls_now();
    if (S->cfg->quiet || S->d.world_rank != 0 || !(now - p->last > 2.0 || last_batch)) return;
    double frac = p->todo_tokens ? (double)p->tokens / (double)p->todo_tokens : 1.0, el = now - p->t0;
    fprintf(stderr, "[%s] group 0: %zu/%zu samples, %zu/%zu tokens, %.0f tok/s (group), ETA %.0f s\n",
            R->sm->spec->name, p->samples, R->sm->plan.groups[0].n_records, p->tokens, p->todo_tokens,
            el > 0 ? (double)p->tokens / el : 0.0, frac > 0 ? el / frac - el : 0.0);
    p->last = now;
}

/* Whether batch b of the group has a sample not yet written. */
static int batch_todo(const ModelRun *R, const LsShardGroup *grp, size_t b) {
    for (size_t r = grp->batch_off[b]; r < grp->batch_off[b + 1]; r++)
        if (!R->done[grp->records[r]]) return 1;
    return 0;
}

/* The batches of this rank's DP group not yet done; every rank takes part in
 * the same number of rounds (the largest group's batch count). */
static int run_batches(ModelRun *R, int *stopped, LsError *e) {
    Study *S = R->S;
    const StudyModel *sm = R->sm;
    const LsShardGroup *grp = &sm->plan.groups[S->d.dp_rank];
    size_t N = sm->enc.n;
    int leader = S->d.tp_rank == 0, rc = LS_OK;
    long rounds = (long)grp->n_batches;
    MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_LONG, MPI_MAX, S->d.world);
    Progress p = {.t0 = ls_now()};
    p.last = p.t0;
    for (size_t b = 0; b < grp->n_batches; b++) /* a batch with any sample not done runs whole */
        for (size_t r = grp->batch_off[b]; batch_todo(R, grp, b) && r < grp->batch_off[b + 1]; r++)
            p.todo_tokens += sample_len(sm, grp->records[r]);
    size_t *sel = ls_malloc((N ? N : 1) * sizeof *sel), *src = ls_malloc((N ? N : 1) * sizeof *src);
    for (long b = 0; b < rounds && rc == LS_OK; b++) {
        if (study_stop_requested(S)) {
            *stopped = 1;
            break;
        }
        /* the batch's samples in index order (so rows go to the file in order), unless all are done */
        size_t nsel = 0;
        if ((size_t)b < grp->n_batches && batch_todo(R, grp, (size_t)b))
            for (size_t r = grp->batch_off[b]; r < grp->batch_off[b + 1]; r++)
                sel[nsel++] = grp->records[r];
        LsPosStats st;
        memset(&st, 0, sizeof st);
        int32_t *ctx = NULL;
        double tc0 = ls_now();
        if (nsel) {
            qsort(sel, nsel, sizeof *sel, size_cmp);
            rc = score_batch(R, sel, nsel, src, &st, &ctx, e);
        }
        double tc1 = ls_now();
        p.compute += tc1 - tc0;
        rc = study_agree(S, rc, e);
        if (rc == LS_OK) rc = study_agree(S, write_batch(R, sel, leader ? nsel : 0, src, &st, ctx, e), e);
        ls_posstats_free(&st);
        free(ctx);
        p.write += ls_now() - tc1;
        for (size_t j = 0; j < nsel; j++)
            p.tokens += sample_len(sm, sel[j]);
        p.samples += nsel;
        report_progress(R, &p, b + 1 == rounds);
    }
    free(sel);
    free(src);
    if (rc) return rc;
    double el = ls_now() - p.t0;
    uint64_t tot = leader ? p.tokens : 0;
    MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_UINT64_T, MPI_SUM, S->d.world);
    if (!S->cfg->quiet && S->root) {
        fprintf(stderr,
                "[%s] time: forward+head %.3f s, HDF5 row writes %.3f s (%.1f%% of the batches' time)\n",
                sm->spec->name, p.compute, p.write,
                p.compute + p.write > 0 ? 100.0 * p.write / (p.compute + p.write) : 0.0);
        if (!*stopped && el > 0 && tot > 0)
            fprintf(stderr, "[%s] done: %.0f tokens/s over all ranks\n", sm->spec->name, (double)tot / el);
    }
    return LS_OK;
}

/* Occurrences of this rank's samples, from the rows in the file (so a resumed
 * run finds those of the batches written before the stop too). */
static int find_group_occurrences(ModelRun *R, LsOccurrence **occ, size_t *n_occ, LsError *e) {
    const StudyModel *sm = R->sm;
    const LsEncoded *enc = &sm->enc;
    const LsShardGroup *grp = &sm->plan.groups[R->S->d.dp_rank];
    size_t cap = 0, longest = 0;
    *occ = NULL;
    *n_occ = 0;
    for (size_t r = 0; r < grp->n_records; r++)
        if (sample_len(sm, grp->records[r]) > longest) longest = sample_len(sm, grp->records[r]);
    float *lp = ls_malloc((longest + 1) * sizeof *lp);
    int32_t *rk = ls_malloc((longest + 1) * sizeof *rk);
    int rc = LS_OK;
    for (size_t r = 0; r < grp->n_records && rc == LS_OK; r++) {
        size_t i = grp->records[r], len = sample_len(sm, i);
        rc = ls_h5_read_rows(&R->S->h, R->s.logprob, H5T_NATIVE_FLOAT, (uint64_t)enc->off[i], len, lp, e);
        if (!rc)
            rc = ls_h5_read_rows(&R->S->h, R->s.rank, H5T_NATIVE_INT32, (uint64_t)enc->off[i], len, rk, e);
        if (!rc)
            ls_find_occurrences(&sm->ts, sm->tok, (int64_t)i, sm->ids + sm->at[i] + enc->answer_start[i],
                                len - (size_t)enc->answer_start[i], enc->answer_start[i], lp, rk, occ, n_occ,
                                &cap);
    }
    free(lp);
    free(rk);
    return rc;
}

/* Occurrences from the rows in the file, then the model is marked complete. */
static int finish_model(ModelRun *R, LsError *e) {
    Study *S = R->S;
    LsOccurrence *occ = NULL;
    size_t n_occ = 0;
    int rc = ls_h5_flush(&S->h, e);
    if (rc == LS_OK && S->d.tp_rank == 0) rc = find_group_occurrences(R, &occ, &n_occ, e);
    if (rc == LS_OK && S->d.tp_rank == 0 && R->lens_on) /* the lens rows were placed by these counts */
        rc = study_lens_check(R->sm, &R->lens, &R->sm->plan.groups[S->d.dp_rank], occ, n_occ, e);
    if (study_agree(S, rc, e) == LS_OK) {
        rc = ls_study_write_occurrences(&S->h, R->s.g, occ, n_occ, R->sm->enc.n, e);
        if (rc == LS_OK) rc = ls_h5_flush(&S->h, e);
        if (rc == LS_OK) rc = ls_h5_attr_i64(R->s.g, "complete", 1, e);
        if (rc == LS_OK) rc = ls_h5_flush(&S->h, e);
        rc = study_agree(S, rc, e);
    } else {
        rc = LS_ERR;
    }
    free(occ);
    return rc;
}

static void close_run(ModelRun *R) {
    if (R->lens_on) study_lens_free(R->f_on ? &R->f : NULL, &R->lens);
    if (R->s_open) ls_study_close_model(&R->s);
    if (R->f_on) ls_forward_free(&R->f);
    if (R->nccl_on) R->S->d.comm.destroy(&R->S->d.comm); /* back to the MPI collectives */
    if (R->be) R->be->destroy(R->be);
    if (R->m_open) ls_model_close(&R->m);
    free(R->done);
}

int study_run_model(Study *S, StudyModel *sm, int *stopped, LsError *e) {
    ModelRun R;
    memset(&R, 0, sizeof R);
    R.S = S;
    R.sm = sm;
    snprintf(R.gpath, sizeof R.gpath, "/models/%s", sm->spec->name);
    int complete = 0;
    if (study_agree(S, probe_group(&R, &complete, e), e)) return LS_ERR;
    if (complete) { /* a model finished before the stop is kept as it is */
        if (S->root && !S->cfg->quiet) fprintf(stderr, "[%s] already complete in the file\n", sm->spec->name);
        return LS_OK;
    }
    int rc = study_agree(S, open_weights(&R, e), e);
    if (rc == LS_OK) rc = study_agree(S, open_backend(&R, e), e);
    R.lens_on = rc == LS_OK && S->cfg->lens;
    if (R.lens_on) study_lens_count(S, sm, R.m.cfg.num_hidden_layers + 1, &R.lens);
    if (rc == LS_OK) rc = open_group(&R, e);
    if (rc == LS_OK) {
        LsComm *tp = S->d.tp > 1 ? &S->d.comm : NULL;
        rc = ls_forward_init(&R.f, &R.m, R.be, tp, R.budget, e);
        R.f_on = rc == LS_OK;
        rc = study_agree(S, rc, e);
    }
    if (rc == LS_OK) rc = run_batches(&R, stopped, e);
    if (rc == LS_OK && !*stopped) rc = finish_model(&R, e);
    if (rc == LS_OK) rc = study_agree(S, ls_h5_flush(&S->h, e), e);
    close_run(&R);
    return rc;
}
