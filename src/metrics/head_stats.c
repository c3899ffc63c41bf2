/* head_stats.c — per-position statistics of the predictive distribution,
 * over chunks of rows so that [T, V] logits are never held at once; with
 * tensor parallelism each rank covers its vocab slice and only the partials
 * (max, sum-exp, sum p.logit, the wanted logits, a local top-k) are
 * exchanged: one all-gather per chunk. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/metrics.h"

void ls_posstats_alloc(LsPosStats *s, size_t T, int K, int ntgt) {
    s->T = T;
    s->K = K;
    s->ntgt = ntgt;
    s->logprob = ls_malloc(T * sizeof(float));
    s->entropy = ls_malloc(T * sizeof(float));
    s->rank = ls_malloc(T * sizeof(int32_t));
    s->top_ids = ls_malloc(T * (size_t)(K > 0 ? K : 1) * sizeof(int32_t));
    s->top_lp = ls_malloc(T * (size_t)(K > 0 ? K : 1) * sizeof(float));
    s->target_lp = ls_malloc(T * (size_t)(ntgt > 0 ? ntgt : 1) * sizeof(float));
}

void ls_posstats_free(LsPosStats *s) {
    free(s->logprob);
    free(s->entropy);
    free(s->rank);
    free(s->top_ids);
    free(s->top_lp);
    free(s->target_lp);
    memset(s, 0, sizeof *s);
}

void ls_softmax_merge(const LsSoftmaxPartial *p, int n, double *lse, double *entropy) {
    double M = -INFINITY;
    for (int i = 0; i < n; i++)
        if (p[i].m > M) M = p[i].m;
    /* rebase each partial to M: s' = s e^(m-M), w' = e^(m-M) (w + (m-M) s) */
    double S = 0.0, W = 0.0;
    for (int i = 0; i < n; i++) {
        if (p[i].s <= 0.0 || p[i].m == -INFINITY) continue;
        double sh = p[i].m - M, f = exp(sh);
        S += p[i].s * f;
        W += f * (p[i].w + sh * p[i].s);
    }
    /* log Z = M + log S; H = log Z - E[l] = log S - W / S */
    *lse = M + log(S);
    *entropy = log(S) - W / S;
}

/* Rows per chunk: keeps the [R, V_local] logits scratch near 64 MiB. */
static size_t chunk_rows(size_t V) {
    size_t r = (64u << 20) / (V * sizeof(float) + 1);
    if (r < 16) r = 16;
    if (r > 1024) r = 1024;
    return r;
}

int ls_metrics_head(LsForward *f, const int32_t *ids, const int32_t *seq_off, int nseq,
                    const int32_t *targets, int ntgt, int K, LsPosStats *out, LsError *e) {
    LsBackend *be = f->be;
    const size_t T = (size_t)seq_off[nseq], d = (size_t)f->model->cfg.hidden_size;
    const int P = f->tp_size, NS = f->nslices; /* NS softmax partials per row and rank (ls/forward.h) */
    if (out->T != T || out->K != K || out->ntgt != ntgt)
        return ls_fail(e, "metrics: output buffers sized for %zu positions, batch has %zu", out->T, T);
    /* row t of the hidden states predicts token t+1 of the same sequence */
    int32_t *want = ls_malloc(T * sizeof(int32_t));
    for (int s = 0; s < nseq; s++)
        for (int32_t t = seq_off[s]; t < seq_off[s + 1]; t++)
            want[t] = t + 1 < seq_off[s + 1] ? ids[t + 1] : -1;

    size_t R = f->head_rows ? f->head_rows : chunk_rows((size_t)f->nv);
    /* per-rank block of one chunk: partials, wanted logit, target logits, top-k */
    size_t blk_f = R * (1 + (size_t)ntgt + (size_t)K); /* floats */
    size_t blk_bytes =
        R * (size_t)NS * sizeof(LsSoftmaxPartial) + blk_f * sizeof(float) + R * (size_t)K * sizeof(int32_t);
    unsigned char *mine = ls_malloc(blk_bytes);
    unsigned char *all = P > 1 ? ls_malloc(blk_bytes * (size_t)P) : mine;
    LsSoftmaxPartial *parts = ls_malloc((size_t)P * (size_t)NS * sizeof *parts);
    float *cand_v = ls_malloc((size_t)P * (size_t)(K > 0 ? K : 1) * sizeof(float));
    int32_t *cand_i = ls_malloc((size_t)P * (size_t)(K > 0 ? K : 1) * sizeof(int32_t));
    float *tg = ls_malloc((size_t)(ntgt > 0 ? ntgt : 1) * sizeof(float));
    float *wlog = ls_malloc(R * sizeof(float));   /* merged wanted logit per row */
    int64_t *gt = ls_malloc(R * sizeof(int64_t)); /* this rank's count of larger logits */
    int64_t *gt_all = ls_malloc(R * (size_t)P * sizeof(int64_t));
    int rc = LS_OK;

    /* first position of each sequence: no predictive distribution */
    for (int s = 0; s < nseq; s++) {
        size_t p = (size_t)seq_off[s];
        if (p >= T) continue;
        out->logprob[p] = NAN;
        out->entropy[p] = NAN;
        out->rank[p] = 0;
        for (int k = 0; k < K; k++) {
            out->top_ids[p * (size_t)K + k] = -1;
            out->top_lp[p * (size_t)K + k] = NAN;
        }
        for (int t = 0; t < ntgt; t++)
            out->target_lp[p * (size_t)ntgt + t] = NAN;
    }

    for (size_t r0 = 0; r0 < T; r0 += R) {
        size_t n = T - r0 < R ? T - r0 : R;
        LsSoftmaxPartial *pp = (LsSoftmaxPartial *)mine;
        float *pw = (float *)(pp + R * (size_t)NS);
        float *pt = pw + R;
        float *pv = pt + R * (size_t)ntgt;
        int32_t *pi = (int32_t *)(pv + R * (size_t)K);
        be->head_partials(be, f->h + r0 * d, n, &f->head, f->v0, NS, f->v_cut, want + r0, targets, ntgt, K,
                          pp, pw, pt, pv, pi);
        if (P > 1 && f->tp->allgather_host(f->tp, mine, all, blk_bytes) != 0) {
            rc = ls_fail(e, "tensor-parallel all-gather of head statistics failed");
            break;
        }
        for (size_t i = 0; i < n; i++) {
            size_t row = r0 + i;
            if (want[row] < 0) continue; /* last token of a sequence predicts nothing here */
            double wl = -INFINITY;
            for (int q = 0; q < P; q++) {
                unsigned char *b = all + (size_t)q * blk_bytes;
                LsSoftmaxPartial *bp = (LsSoftmaxPartial *)b;
                float *bw = (float *)(bp + R * (size_t)NS), *bt = bw + R, *bv = bt + R * (size_t)ntgt;
                int32_t *bi = (int32_t *)(bv + R * (size_t)K);
                /* in slice order: rank q holds slices q NS .. q NS + NS - 1 */
                memcpy(parts + (size_t)q * NS, bp + i * (size_t)NS, (size_t)NS * sizeof *parts);
                if (bw[i] > wl) wl = bw[i];
                for (int t = 0; t < ntgt; t++) {
                    float v = bt[i * (size_t)ntgt + t];
                    if (q == 0 || v > tg[t]) tg[t] = v; /* owned by exactly one rank */
                }
                for (int k = 0; k < K; k++) {
                    cand_v[q * K + k] = bv[i * (size_t)K + k];
                    cand_i[q * K + k] = bi[i * (size_t)K + k];
                }
            }
            double lse, ent;
            ls_softmax_merge(parts, P * NS, &lse, &ent);
            /* the row predicts position row + 1 */
            size_t p = row + 1;
            wlog[i] = (float)wl;
            out->logprob[p] = (float)(wl - lse);
            out->entropy[p] = (float)ent;
            for (int t = 0; t < ntgt; t++)
                out->target_lp[p * (size_t)ntgt + t] = (float)(tg[t] - lse);
            /* global top-k from the ranks' top-k: selection over P*K candidates (ties: lower id) */
            for (int k = 0; k < K; k++) {
                int best = -1;
                for (int c = 0; c < P * K; c++)
                    if (cand_i[c] >= 0 && (best < 0 || cand_v[c] > cand_v[best] ||
                                           (cand_v[c] == cand_v[best] && cand_i[c] < cand_i[best])))
                        best = c;
                out->top_ids[p * (size_t)K + k] = best >= 0 ? cand_i[best] : -1;
                out->top_lp[p * (size_t)K + k] = best >= 0 ? (float)(cand_v[best] - lse) : NAN;
                if (best >= 0) cand_i[best] = -1;
            }
        }
        /* ranks: count the logits above the wanted one on every rank, then sum */
        for (size_t i = 0; i < n; i++)
            if (want[r0 + i] < 0) wlog[i] = INFINITY;
        be->head_count_greater(be, n, wlog, gt);
        if (P > 1 && f->tp->allgather_host(f->tp, gt, gt_all, R * sizeof(int64_t)) != 0) {
            rc = ls_fail(e, "tensor-parallel all-gather of token ranks failed");
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (want[r0 + i] < 0) continue;
            int64_t c = 0;
            for (int q = 0; q < P; q++)
                c += P > 1 ? gt_all[(size_t)q * R + i] : gt[i];
            out->rank[r0 + i + 1] = (int32_t)(c + 1);
        }
    }
    if (rc == LS_OK && be->check && be->check(be, e)) rc = ls_fail_prefix(e, "head statistics");
    free(tg);
    free(wlog);
    free(gt);
    free(gt_all);
    free(want);
    if (all != mine) free(all);
    free(mine);
    free(parts);
    free(cand_v);
    free(cand_i);
    return rc;
}
