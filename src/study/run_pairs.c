/* run_pairs.c — the study's pair stage, after every model: for each pair of
 * models that share a vocabulary (config key `pairs`, ls/divergence.h), both
 * models resident at once run the samples through the batches of model a's
 * plan (this rank's data-parallel group, tensor parallel within it), and the
 * per-position divergences go to /pairs/<a>__<b> at model a's token offsets,
 * written by the TP leader of each group, ordered by sample, so the content
 * does not depend on the number of ranks. A record longer than either
 * model's window is scored in the windows of the smaller window (and the
 * larger min_context), so both models see every position with the same
 * context; the row of a position comes from the window that scored it.
 * Resumable as the models are: `done` per sample, `complete` per pair.
 * Layout: docs/hdf5-layout.md, scheme: docs/pairs.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/divergence.h"
#include "ls/forward.h"
#include "ls/h5io.h"
#include "ls/model.h"
#include "study_internal.h"

/* ---- the pairs of the study ---------------------------------------------- */

static size_t sample_len(const StudyModel *sm, size_t i) {
    return (size_t)(sm->enc.off[i + 1] - sm->enc.off[i]);
}

/* A digest of every sample's token ids per model, the same on every rank
 * (each sample's ids live on the ranks of the group that runs it): h[k N + i],
 * never 0 for a sample whose ids some rank holds. */
static uint64_t *sample_digests(Study *S) {
    size_t N = S->n_keep, nm = S->cfg->n_models;
    uint64_t *h = ls_calloc(nm * (N ? N : 1), sizeof *h);
    for (size_t k = 0; k < nm; k++) {
        const StudyModel *sm = &S->models[k];
        for (size_t i = 0; i < N; i++) {
            if (sm->at[i] < 0) continue;
            uint8_t d[32];
            uint64_t v = 0;
            ls_sha256(sm->ids + sm->at[i], sample_len(sm, i) * sizeof *sm->ids, d);
            memcpy(&v, d, sizeof v);
            h[k * N + i] = v | 1u;
        }
    }
    MPI_Allreduce(MPI_IN_PLACE, h, (int)(nm * N), MPI_UINT64_T, MPI_MAX, S->d.world);
    return h;
}

/* Both models of every pair give every sample the same token ids. */
static int check_same_ids(Study *S, LsError *e) {
    size_t N = S->n_keep;
    uint64_t *h = sample_digests(S);
    int rc = LS_OK;
    for (int q = 0; q < S->n_pairs && rc == LS_OK; q++) {
        const LsModelPair *p = &S->pairs[q];
        const StudyModel *a = &S->models[p->a], *b = &S->models[p->b];
        for (size_t i = 0; i < N && rc == LS_OK; i++)
            if (sample_len(a, i) != sample_len(b, i) || h[(size_t)p->a * N + i] != h[(size_t)p->b * N + i])
                rc = ls_fail(e,
                             "pairs: %s:%zu: models %s and %s tokenise the record differently (%zu and %zu "
                             "tokens%s); a pair is compared position by position and needs the same token "
                             "ids: leave %s, %s out of pairs",
                             S->cfg->data, S->ds.records[S->keep[i]].line, a->spec->name, b->spec->name,
                             sample_len(a, i), sample_len(b, i),
                             sample_len(a, i) == sample_len(b, i) ? ", other ids" : "", a->spec->name,
                             b->spec->name);
    }
    free(h);
    return rc;
}

int study_pairs_prepare(Study *S, LsError *e) {
    const LsRunConfig *c = S->cfg;
    int n = (int)c->n_models;
    const char **names = ls_malloc((size_t)n * sizeof *names);
    const LsTokenizer **toks = ls_malloc((size_t)n * sizeof *toks);
    int32_t *vocab = ls_malloc((size_t)n * sizeof *vocab);
    for (int k = 0; k < n; k++) {
        names[k] = S->models[k].spec->name;
        toks[k] = S->models[k].tok;
        vocab[k] = S->models[k].vocab;
    }
    LsModelPair *spec = NULL;
    if (c->pairs_set) { /* the names were checked against the models with the config */
        spec = ls_malloc((c->n_pairs ? c->n_pairs : 1) * sizeof *spec);
        for (size_t q = 0; q < c->n_pairs; q++) {
            spec[q].a = spec[q].b = -1;
            for (int k = 0; k < n; k++) {
                if (!strcmp(names[k], c->pairs[q].a)) spec[q].a = k;
                if (!strcmp(names[k], c->pairs[q].b)) spec[q].b = k;
            }
        }
    }
    LsError skipped = {{0}};
    int rc = ls_pairs_resolve(names, (const LsTokenizer *const *)toks, vocab, n, spec, (int)c->n_pairs,
                              &S->pairs, &S->n_pairs, &skipped, e);
    if (rc) ls_fail_prefix(e, "pairs");
    if (rc == LS_OK && S->root && skipped.msg[0])
        ls_warn("pairs: the default pairs are consecutive models; left out (no shared vocabulary): %s. Set "
                "`pairs:` in the config (or --pairs a:b,... | none) to choose the pairs",
                skipped.msg);
    free(spec);
    free(names);
    free(toks);
    free(vocab);
    if (study_agree(S, rc, e)) return LS_ERR;
    return study_agree(S, check_same_ids(S, e), e);
}

/* ---- one pair --------------------------------------------------------------- */

/* The per-position datasets of a pair group, in PairRun.ds order. */
enum { PAIR_KL_AB, PAIR_KL_BA, PAIR_JS, PAIR_DLOGPROB, PAIR_TOP1, PAIR_NSETS };

static const struct {
    const char *name, *description, *unit;
    int is_int8;
} PAIR_SETS[PAIR_NSETS] = {
    {"kl_ab", "KL(p_a || p_b) of the distributions both models predict for token p; NaN at position 0",
     "nats", 0},
    {"kl_ba", "KL(p_b || p_a); NaN at position 0", "nats", 0},
    {"js", "Jensen-Shannon divergence of p_a and p_b (<= log 2); NaN at position 0", "nats", 0},
    {"dlogprob", "log p_b(token p) - log p_a(token p); NaN at position 0", "nats", 0},
    {"top1_agree",
     "1 when both models' most probable tokens for position p agree, 0 if not, -1 at position 0", "flag", 1},
};

typedef struct {
    Study *S;
    const StudyModel *sm[2]; /* a, b */
    StudyModel win;          /* the pair's windows: the smaller window, the larger min_context */
    char name[256], gpath[512];
    int exists;
    LsModel m[2];
    int m_open[2];
    LsBackend *be;
    int nccl_on;
    LsDeviceInfo dev;
    LsForward f[2];
    int f_on[2];
    size_t budget; /* tokens of the largest batch */
    hid_t g, ds[PAIR_NSETS], done;
    uint8_t *done_host; /* [N] samples already written (resume) */
} PairRun;

static size_t pair_len(const PairRun *P, size_t i) {
    return sample_len(P->sm[0], i);
}

/* The tokens of the largest batch of any group's plan (model a's batches) in
 * the pair's windows, or of the longest sample: the same on every rank. */
static size_t pair_budget(const PairRun *P) {
    const LsShardPlan *plan = &P->sm[0]->plan;
    size_t most = P->S->cfg->batch_tokens;
    for (size_t q = 0; q < plan->n_groups; q++) {
        const LsShardGroup *g = &plan->groups[q];
        for (size_t b = 0; b < g->n_batches; b++) {
            size_t t = 0;
            for (size_t r = g->batch_off[b]; r < g->batch_off[b + 1]; r++)
                t += study_window_tokens(&P->win, pair_len(P, g->records[r]));
            if (t > most) most = t;
        }
    }
    return most;
}

/* Both models' weights on the backend, with activations for the pair's batches. */
static int open_models(PairRun *R, LsError *e) {
    Study *S = R->S;
    int rc = LS_OK;
    for (int k = 0; k < 2 && rc == LS_OK; k++) {
        rc = ls_model_open(&R->m[k], R->sm[k]->spec->path, e);
        R->m_open[k] = rc == LS_OK;
        if (rc) ls_fail_prefix(e, "model %s", R->sm[k]->spec->name);
    }
    if (study_agree(S, rc, e)) return LS_ERR;
    if (study_backend_open_tp(S, &R->be, &R->nccl_on, &R->dev, e)) return LS_ERR;
    LsComm *tp = S->d.tp > 1 ? &S->d.comm : NULL;
    for (int k = 0; k < 2 && rc == LS_OK; k++) { /* the second one's memory check sees the first resident */
        rc = ls_forward_init(&R->f[k], &R->m[k], R->be, tp, R->budget, e);
        R->f_on[k] = rc == LS_OK;
        if (rc)
            ls_fail_prefix(e, "pair %s: both models resident, model %s (batch of %zu tokens)", R->name,
                           R->sm[k]->spec->name, R->budget);
    }
    if (rc == LS_OK) rc = ls_pair_check(&R->f[0], &R->f[1], e);
    return study_agree(S, rc, e);
}

/* Creates the group (or reopens it on resume, with the samples already done
 * and the device and precision that computed them). */
static int open_group(PairRun *R, LsError *e) {
    Study *S = R->S;
    LsH5 *h = &S->h;
    size_t N = S->n_keep;
    uint64_t T = (uint64_t)R->sm[0]->enc.off[N], dN = N;
    R->done_host = ls_calloc(N ? N : 1, 1);
    int rc = LS_OK;
    if (R->exists) {
        rc = LS_H5_CHECK(R->g = H5Gopen2(h->file, R->gpath, H5P_DEFAULT), h->file, R->gpath, e);
        for (int k = 0; k < PAIR_NSETS && rc == LS_OK; k++)
            if ((R->ds[k] = ls_h5_dataset_open(h, R->g, PAIR_SETS[k].name, 1, &T, e)) < 0) rc = LS_ERR;
        if (rc == LS_OK && (R->done = ls_h5_dataset_open(h, R->g, "done", 1, &dN, e)) < 0) rc = LS_ERR;
        if (rc == LS_OK) rc = ls_h5_read_rows(h, R->done, H5T_NATIVE_UINT8, 0, N, R->done_host, e);
        if (rc == LS_OK) rc = study_resume_device_check(S, R->g, "pair", R->name, &R->dev, e);
        return study_agree(S, rc, e);
    }
    R->g = ls_h5_group(h, R->gpath, e);
    rc = R->g < 0 ? LS_ERR : LS_OK;
    if (rc == LS_OK)
        rc = ls_h5_attr_str(R->g, "model_a", R->sm[0]->spec->name, e) ||
             ls_h5_attr_str(R->g, "model_b", R->sm[1]->spec->name, e) ||
             ls_h5_attr_str(R->g, "device", R->dev.device, e) ||
             ls_h5_attr_str(R->g, "precision", R->dev.precision, e) ||
             ls_h5_attr_i64(R->g, "window", (int64_t)R->win.window, e) ||
             ls_h5_attr_i64(R->g, "min_context", (int64_t)R->win.min_ctx, e);
    for (int k = 0; k < PAIR_NSETS && rc == LS_OK; k++) {
        R->ds[k] = ls_h5_dataset_raw(h, R->g, PAIR_SETS[k].name,
                                     PAIR_SETS[k].is_int8 ? H5T_STD_I8LE : H5T_IEEE_F32LE, 1, &T,
                                     PAIR_SETS[k].description, PAIR_SETS[k].unit, e);
        if (R->ds[k] < 0) rc = LS_ERR;
    }
    if (rc == LS_OK) {
        R->done = ls_h5_dataset_raw(h, R->g, "done", H5T_STD_U8LE, 1, &dN,
                                    "1 once the sample's rows of this pair are written", "flag", e);
        if (R->done < 0) rc = LS_ERR;
    }
    if (rc == LS_OK) { /* a raw dataset's space is not filled: it may hold bytes HDF5 freed before */
        LsRowRange all = {0, N};
        rc = ls_h5_write_rows(h, R->done, H5T_NATIVE_UINT8, &all, S->root && N > 0, R->done_host, e);
    }
    if (rc == LS_OK) rc = ls_h5_flush(h, e);
    if (rc == LS_OK) rc = ls_h5_attr_i64(R->g, "created", 1, e);
    if (rc == LS_OK) rc = ls_h5_flush(h, e);
    return study_agree(S, rc, e);
}

/* Copies n rows from row s of src to row d of dst. */
static void copy_rows(LsPairStats *dst, size_t d, const LsPairStats *src, size_t s, size_t n) {
    memcpy(dst->kl_ab + d, src->kl_ab + s, n * sizeof *dst->kl_ab);
    memcpy(dst->kl_ba + d, src->kl_ba + s, n * sizeof *dst->kl_ba);
    memcpy(dst->js + d, src->js + s, n * sizeof *dst->js);
    memcpy(dst->dlogprob + d, src->dlogprob + s, n * sizeof *dst->dlogprob);
    memcpy(dst->top1_agree + d, src->top1_agree + s, n * sizeof *dst->top1_agree);
}

/* The divergences of the samples sel[0..nsel) (sorted): each sample's windows
 * go through both models as sequences of one batch; the rows of a position
 * are those of the window that scored it. src[j]: where sample j's rows start
 * in st. */
static int score_batch(PairRun *R, const size_t *sel, size_t nsel, size_t *src, LsPairStats *st, LsError *e) {
    const StudyModel *a = R->sm[0];
    size_t rows = 0, nw = 0;
    for (size_t j = 0; j < nsel; j++) {
        rows += pair_len(R, sel[j]);
        nw += study_windows(&R->win, pair_len(R, sel[j]), NULL);
    }
    StudyWindow *w = ls_malloc(nw * sizeof *w);
    int32_t *seq_off = ls_malloc((nw + 1) * sizeof *seq_off), *ids = ls_malloc((R->budget + 1) * sizeof *ids);
    seq_off[0] = 0;
    for (size_t j = 0, k = 0, at = 0; j < nsel; j++) {
        size_t i = sel[j], n = study_windows(&R->win, pair_len(R, i), w + k);
        src[j] = at;
        for (size_t q = k; q < k + n; q++) {
            size_t L = w[q].end - w[q].start;
            memcpy(ids + seq_off[q], a->ids + a->at[i] + w[q].start, L * sizeof *ids);
            seq_off[q + 1] = seq_off[q] + (int32_t)L;
        }
        k += n;
        at += pair_len(R, i);
    }
    LsPairStats ws;
    ls_pairstats_alloc(&ws, (size_t)seq_off[nw]);
    int rc = ls_forward_batch(&R->f[0], ids, seq_off, (int)nw, e);
    if (rc == LS_OK) rc = ls_forward_batch(&R->f[1], ids, seq_off, (int)nw, e);
    if (rc == LS_OK) rc = ls_metrics_pair(&R->f[0], &R->f[1], ids, seq_off, (int)nw, &ws, e);
    if (nw == nsel) { /* no sample in windows: the rows are the batch's */
        *st = ws;
    } else {
        ls_pairstats_alloc(st, rows);
        for (size_t j = 0, k = 0; rc == LS_OK && j < nsel; j++)
            for (size_t n = study_windows(&R->win, pair_len(R, sel[j]), NULL); n > 0; n--, k++)
                copy_rows(st, src[j] + w[k].from, &ws, (size_t)seq_off[k] + (w[k].from - w[k].start),
                          w[k].end - w[k].from);
        ls_pairstats_free(&ws);
    }
    free(w);
    free(seq_off);
    free(ids);
    return rc;
}

/* One batch's rows of every dataset, then its done markers (collective: a
 * rank with nothing to write takes part with ns = 0). */
static int write_batch(PairRun *R, const size_t *sel, size_t ns, const size_t *src, const LsPairStats *st,
                       LsError *e) {
    LsH5 *h = &R->S->h;
    const int64_t *off = R->sm[0]->enc.off;
    const void *buf[PAIR_NSETS] = {st->kl_ab, st->kl_ba, st->js, st->dlogprob, st->top1_agree};
    int rc = LS_OK;
    for (int k = 0; k < PAIR_NSETS && rc == LS_OK; k++)
        rc = ls_study_write_rows(h, R->ds[k], PAIR_SETS[k].is_int8 ? H5T_NATIVE_INT8 : H5T_NATIVE_FLOAT,
                                 PAIR_SETS[k].is_int8 ? 1 : 4, 1, sel, ns, off, src, buf[k], e);
    if (rc) return rc;
    LsRowRange *rr = ls_malloc((ns ? ns : 1) * sizeof *rr);
    uint8_t *ones = ls_malloc(ns ? ns : 1);
    memset(ones, 1, ns ? ns : 1);
    for (size_t j = 0; j < ns; j++)
        rr[j] = (LsRowRange){sel[j], 1};
    rc = ls_h5_write_rows(h, R->done, H5T_NATIVE_UINT8, rr, ns, ones, e);
    free(rr);
    free(ones);
    return rc;
}

static int size_cmp(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Whether batch b of the group has a sample not yet written. */
static int batch_todo(const PairRun *R, const LsShardGroup *grp, size_t b) {
    for (size_t r = grp->batch_off[b]; r < grp->batch_off[b + 1]; r++)
        if (!R->done_host[grp->records[r]]) return 1;
    return 0;
}

/* Progress of the pair as rank 0 sees it (group 0). */
typedef struct {
    size_t samples, tokens, todo_tokens;
    double t0, last, compute, write;
} Progress;

static void report_progress(const PairRun *R, Progress *p, int last_batch) {
    const Study *S = R->S;
    double now = ls_now();
    if (S->cfg->quiet || S->d.world_rank != 0 || !(now - p->last > 2.0 || last_batch)) return;
    double frac = p->todo_tokens ? (double)p->tokens / (double)p->todo_tokens : 1.0, el = now - p->t0;
    fprintf(stderr, "[%s] group 0: %zu/%zu samples, %zu/%zu tokens, %.0f tok/s (group), ETA %.0f s\n",
            R->name, p->samples, R->sm[0]->plan.groups[0].n_records, p->tokens, p->todo_tokens,
            el > 0 ? (double)p->tokens / el : 0.0, frac > 0 ? el / frac - el : 0.0);
    p->last = now;
}

/* The batches of this rank's DP group (model a's plan) not yet done; every
 * rank takes part in the same number of rounds. */
static int run_batches(PairRun *R, int *stopped, LsError *e) {
    Study *S = R->S;
    const LsShardGroup *grp = &R->sm[0]->plan.groups[S->d.dp_rank];
    size_t N = S->n_keep;
    int leader = S->d.tp_rank == 0, rc = LS_OK;
    long rounds = (long)grp->n_batches;
    MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_LONG, MPI_MAX, S->d.world);
    Progress p = {.t0 = ls_now()};
    p.last = p.t0;
    for (size_t b = 0; b < grp->n_batches; b++)
        for (size_t r = grp->batch_off[b]; batch_todo(R, grp, b) && r < grp->batch_off[b + 1]; r++)
            p.todo_tokens += pair_len(R, grp->records[r]);
    size_t *sel = ls_malloc((N ? N : 1) * sizeof *sel), *src = ls_malloc((N ? N : 1) * sizeof *src);
    for (long b = 0; b < rounds && rc == LS_OK; b++) {
        if (study_stop_requested(S)) {
            *stopped = 1;
            break;
        }
        size_t nsel = 0;
        if ((size_t)b < grp->n_batches && batch_todo(R, grp, (size_t)b))
            for (size_t r = grp->batch_off[b]; r < grp->batch_off[b + 1]; r++)
                sel[nsel++] = grp->records[r];
        LsPairStats st;
        memset(&st, 0, sizeof st);
        double tc0 = ls_now();
        if (nsel) {
            qsort(sel, nsel, sizeof *sel, size_cmp);
            rc = score_batch(R, sel, nsel, src, &st, e);
        }
        double tc1 = ls_now();
        p.compute += tc1 - tc0;
        rc = study_agree(S, rc, e);
        if (rc == LS_OK) rc = study_agree(S, write_batch(R, sel, leader ? nsel : 0, src, &st, e), e);
        ls_pairstats_free(&st);
        p.write += ls_now() - tc1;
        for (size_t j = 0; j < nsel; j++)
            p.tokens += pair_len(R, sel[j]);
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
                "[%s] time: both forward passes + pair metrics %.3f s, HDF5 row writes %.3f s (%.1f%% of the "
                "batches' time)\n",
                R->name, p.compute, p.write,
                p.compute + p.write > 0 ? 100.0 * p.write / (p.compute + p.write) : 0.0);
        if (!*stopped && el > 0 && tot > 0)
            fprintf(stderr, "[%s] done: %.0f tokens/s over all ranks\n", R->name, (double)tot / el);
    }
    return LS_OK;
}

static void close_pair(PairRun *R) {
    for (int k = 0; k < PAIR_NSETS; k++)
        if (R->ds[k] > 0) H5Dclose(R->ds[k]);
    if (R->done > 0) H5Dclose(R->done);
    if (R->g > 0) H5Gclose(R->g);
    for (int k = 0; k < 2; k++)
        if (R->f_on[k]) ls_forward_free(&R->f[k]);
    if (R->nccl_on) R->S->d.comm.destroy(&R->S->d.comm); /* back to the MPI collectives */
    if (R->be) R->be->destroy(R->be);
    for (int k = 0; k < 2; k++)
        if (R->m_open[k]) ls_model_close(&R->m[k]);
    free(R->done_host);
}

static int run_pair(Study *S, const LsModelPair *pair, int *stopped, LsError *e) {
    PairRun R;
    memset(&R, 0, sizeof R);
    R.S = S;
    R.sm[0] = &S->models[pair->a];
    R.sm[1] = &S->models[pair->b];
    R.g = R.done = H5I_INVALID_HID;
    for (int k = 0; k < PAIR_NSETS; k++)
        R.ds[k] = H5I_INVALID_HID;
    R.win = *R.sm[0];
    R.win.window = R.sm[0]->window < R.sm[1]->window ? R.sm[0]->window : R.sm[1]->window;
    R.win.min_ctx = R.sm[0]->min_ctx > R.sm[1]->min_ctx ? R.sm[0]->min_ctx : R.sm[1]->min_ctx;
    snprintf(R.name, sizeof R.name, "%s__%s", R.sm[0]->spec->name, R.sm[1]->spec->name);
    snprintf(R.gpath, sizeof R.gpath, "/pairs/%s", R.name);
    int complete = 0;
    if (study_agree(S, study_probe_group(S, R.gpath, &R.exists, &complete, e), e)) return LS_ERR;
    if (complete) {
        if (S->root && !S->cfg->quiet) fprintf(stderr, "[%s] already complete in the file\n", R.name);
        return LS_OK;
    }
    R.budget = pair_budget(&R);
    if (S->root && !S->cfg->quiet)
        fprintf(stderr, "[%s] comparing %s with %s, both resident (batches of up to %zu tokens)\n", R.name,
                R.sm[0]->spec->name, R.sm[1]->spec->name, R.budget);
    int rc = open_models(&R, e);
    if (rc == LS_OK) rc = open_group(&R, e);
    if (rc == LS_OK) rc = run_batches(&R, stopped, e);
    if (rc == LS_OK && !*stopped) {
        rc = ls_h5_flush(&S->h, e);
        if (rc == LS_OK) rc = ls_h5_attr_i64(R.g, "complete", 1, e);
        if (rc == LS_OK) rc = ls_h5_flush(&S->h, e);
        rc = study_agree(S, rc, e);
    }
    if (rc == LS_OK) rc = study_agree(S, ls_h5_flush(&S->h, e), e);
    close_pair(&R);
    return rc;
}

int study_run_pairs(Study *S, int *stopped, LsError *e) {
    int rc = LS_OK;
    for (int q = 0; q < S->n_pairs && rc == LS_OK && !*stopped; q++)
        rc = run_pair(S, &S->pairs[q], stopped, e);
    return rc;
}
