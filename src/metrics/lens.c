/* lens.c — the logit lens at chosen rows (ls/lens.h): the residual stream
 * after every depth through model.norm and the head, per canonical
 * vocabulary slice as the head statistics take it (head_stats.c), with the
 * softmax partials merged in slice order across the TP group. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/lens.h"
#include "ls/metrics.h"

void ls_lens_tap(LsForward *f, LsLensTap *tap, const int32_t *rows, int n) {
    ls_lens_tap_free(f, tap);
    if (n <= 0) return;
    tap->n = n;
    tap->depths = f->model->cfg.num_hidden_layers + 1;
    tap->d = (size_t)f->model->cfg.hidden_size;
    tap->rows = ls_malloc((size_t)n * sizeof(int32_t));
    memcpy(tap->rows, rows, (size_t)n * sizeof(int32_t));
    tap->resid = ls_malloc((size_t)tap->depths * (size_t)n * tap->d * sizeof(float));
    f->lens = tap;
}

void ls_lens_tap_free(LsForward *f, LsLensTap *tap) {
    if (f->lens == tap) f->lens = NULL;
    free(tap->rows);
    free(tap->resid);
    memset(tap, 0, sizeof *tap);
}

/* Rows [k0, k0 + n) of the flattened [depths * n_rows] lens rows: merged
 * log-prob of the wanted token and entropy from every rank's partials. */
static void merge_rows(const unsigned char *all, size_t blk, int P, int NS, size_t R, size_t n,
                       const int32_t *want, LsSoftmaxPartial *parts, double *lp, double *ent) {
    for (size_t i = 0; i < n; i++) {
        double wl = -INFINITY;
        for (int q = 0; q < P; q++) {
            const LsSoftmaxPartial *bp = (const LsSoftmaxPartial *)(all + (size_t)q * blk);
            const float *bw = (const float *)(bp + R * (size_t)NS);
            memcpy(parts + (size_t)q * NS, bp + i * (size_t)NS, (size_t)NS * sizeof *parts);
            if (bw[i] > wl) wl = bw[i]; /* owned by exactly one rank */
        }
        double lse;
        ls_softmax_merge(parts, P * NS, &lse, &ent[i]);
        lp[i] = want[i] >= 0 ? wl - lse : NAN;
    }
}

int ls_lens_eval(LsForward *f, const LsLensTap *tap, const int32_t *tok, float *lp, float *ent, LsError *e) {
    LsBackend *be = f->be;
    const LsModelConfig *c = &f->model->cfg;
    const size_t d = tap->d, n = (size_t)tap->n, N = (size_t)tap->depths * n;
    const int P = f->tp_size, NS = f->nslices;
    const size_t R = f->head_rows ? f->head_rows : ls_metrics_chunk_rows((size_t)f->nv);
    const size_t blk = R * (size_t)NS * sizeof(LsSoftmaxPartial) + R * sizeof(float);
    unsigned char *mine = ls_malloc(blk);
    unsigned char *all = P > 1 ? ls_malloc(blk * (size_t)P) : mine;
    LsSoftmaxPartial *parts = ls_malloc((size_t)P * (size_t)NS * sizeof *parts);
    int32_t *want = ls_malloc(R * sizeof(int32_t));
    double *clp = ls_malloc(R * sizeof(double)), *cent = ls_malloc(R * sizeof(double));
    float dummy_f = 0.0f;
    int32_t dummy_i = 0;
    float *x = be->alloc(be, R * d * sizeof(float), e),
          *h = x ? be->alloc(be, R * d * sizeof(float), e) : NULL;
    int rc = h ? LS_OK : LS_ERR;
    /* flattened row k = depth * n + i, in chunks of R */
    for (size_t k0 = 0; rc == LS_OK && k0 < N; k0 += R) {
        size_t m = N - k0 < R ? N - k0 : R;
        for (size_t j = 0; j < m; j++)
            want[j] = tok[(k0 + j) % n];
        be->to_device(be, x, tap->resid + k0 * d, m * d * sizeof(float));
        /* hidden_states = self.norm(hidden_states); logits = lm_head(hidden_states) (+ soft-cap) */
        be->rmsnorm(be, h, x, f->final_norm, m, d, c->rms_norm_eps);
        LsSoftmaxPartial *pp = (LsSoftmaxPartial *)mine;
        float *pw = (float *)(pp + R * (size_t)NS);
        be->head_partials(be, h, m, &f->head, f->v0, NS, f->v_cut, want, &dummy_i, 0, 0, pp, pw, &dummy_f,
                          &dummy_f, &dummy_i);
        if (P > 1 && f->tp->allgather_host(f->tp, mine, all, blk) != 0) {
            rc = ls_fail(e, "tensor-parallel all-gather of logit-lens statistics failed");
            break;
        }
        merge_rows(all, blk, P, NS, R, m, want, parts, clp, cent);
        for (size_t j = 0; j < m; j++) {
            size_t depth = (k0 + j) / n, i = (k0 + j) % n;
            lp[i * (size_t)tap->depths + depth] = (float)clp[j];
            ent[i * (size_t)tap->depths + depth] = (float)cent[j];
        }
    }
    if (x) be->free(be, x);
    if (h) be->free(be, h);
    if (all != mine) free(all);
    free(mine);
    free(parts);
    free(want);
    free(clp);
    free(cent);
    return rc;
}

void ls_lens_occurrence_rows(const LsTargetSet *ts, const LsTokenizer *tok, const int32_t *ids,
                             const int32_t *seq_off, int nseq, const int32_t *answer_start,
                             const int64_t *sample_id, int32_t **rows, int32_t **want, LsOccurrence **occ,
                             size_t *n) {
    LsOccurrence *all = NULL;
    size_t nall = 0, cap = 0;
    int32_t *batch_start =
        ls_malloc((size_t)(nseq > 0 ? nseq : 1) * sizeof(int32_t)); /* per occurrence: seq_off[s] */
    size_t nb = 0;
    for (int s = 0; s < nseq; s++) {
        int32_t len = seq_off[s + 1] - seq_off[s], a0 = answer_start[s];
        if (a0 < 0 || a0 >= len) continue;
        size_t before = nall;
        ls_find_occurrences(ts, tok, sample_id[s], ids + seq_off[s] + a0, (size_t)(len - a0), a0, NULL, NULL,
                            &all, &nall, &cap);
        batch_start = ls_realloc(batch_start, (nall > 0 ? nall : 1) * sizeof(int32_t));
        for (size_t i = before; i < nall; i++)
            batch_start[i] = seq_off[s];
        nb = nall;
    }
    *rows = ls_malloc((nb > 0 ? nb : 1) * sizeof(int32_t));
    *want = ls_malloc((nb > 0 ? nb : 1) * sizeof(int32_t));
    *occ = ls_malloc((nb > 0 ? nb : 1) * sizeof(LsOccurrence));
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        if (!ls_lens_has_value(&all[i])) continue;
        (*rows)[k] = batch_start[i] + all[i].position - 1;
        (*want)[k] = ids[batch_start[i] + all[i].position];
        (*occ)[k++] = all[i];
    }
    *n = k;
    free(all);
    free(batch_start);
}
