/* divergence.c — per-position KL / JS divergence between two models over the
 * full vocabulary, in chunks of rows and canonical vocabulary slices
 * (ls/divergence.h). The logits of a chunk come from the backend's linear
 * (h W_head^T over this rank's vocabulary rows); everything after that runs on
 * the host in double precision, so the result is the same at any tp. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/divergence.h"
#include "ls/metrics.h"

void ls_pairstats_alloc(LsPairStats *s, size_t T) {
    s->T = T;
    s->kl_ab = ls_malloc(T * sizeof(float));
    s->kl_ba = ls_malloc(T * sizeof(float));
    s->js = ls_malloc(T * sizeof(float));
    s->top1_agree = ls_malloc(T * sizeof(int8_t));
    s->dlogprob = ls_malloc(T * sizeof(float));
}

void ls_pairstats_free(LsPairStats *s) {
    free(s->kl_ab);
    free(s->kl_ba);
    free(s->js);
    free(s->top1_agree);
    free(s->dlogprob);
    memset(s, 0, sizeof *s);
}

int ls_pair_check(const LsForward *fa, const LsForward *fb, LsError *e) {
    const LsModelConfig *a = &fa->model->cfg, *b = &fb->model->cfg;
    if (a->vocab_size != b->vocab_size)
        return ls_fail(e, "%s (vocab_size %d) and %s (vocab_size %d) do not share a vocabulary",
                       fa->model->dir, a->vocab_size, fb->model->dir, b->vocab_size);
    if (fa->tp_size != fb->tp_size || fa->tp_rank != fb->tp_rank || fa->nslices != fb->nslices ||
        fa->v0 != fb->v0 || fa->nv != fb->nv)
        return ls_fail(e, "%s and %s are split differently over the tensor-parallel ranks", fa->model->dir,
                       fb->model->dir);
    for (int q = 0; q <= fa->nslices; q++)
        if (fa->v_cut[q] != fb->v_cut[q])
            return ls_fail(e, "%s and %s cut the vocabulary differently", fa->model->dir, fb->model->dir);
    return LS_OK;
}

/* Pass 1, per row and canonical slice: the two softmax partials (m, s; w
 * unused), and per row the slice-local argmax and the logits of the actual
 * next token (-inf when it lies outside this rank's slice). */
typedef struct {
    LsSoftmaxPartial a, b;
} PairPartial;

typedef struct {
    float top_a, top_b; /* largest logit on this rank */
    int32_t id_a, id_b; /* its global id (lowest on ties) */
    float want_a, want_b;
} RowLocal;

/* ex [n] keeps exp(l - m) for pass 2 (0 where m is -inf). */
static void softmax_partial(const float *l, size_t n, LsSoftmaxPartial *p, double *ex) {
    double m = -INFINITY, s = 0.0;
    for (size_t j = 0; j < n; j++)
        if (l[j] > m) m = l[j];
    for (size_t j = 0; j < n; j++) {
        ex[j] = m > -INFINITY ? exp((double)l[j] - m) : 0.0;
        s += ex[j];
    }
    p->m = m;
    p->s = s;
    p->w = 0.0;
}

static void argmax(const float *l, size_t n, int64_t id0, float *v, int32_t *id) {
    for (size_t j = 0; j < n; j++)
        if (l[j] > *v || *id < 0) {
            *v = l[j];
            *id = (int32_t)(id0 + (int64_t)j);
        }
}

/* Pass 2 over one slice: sums of p_a (lp_a - lp_b), p_b (lp_b - lp_a) and
 * the two halves of JS, given the log normalisers; p = exp(l - m) e^(m - log Z)
 * from pass 1's exponentials (ea, eb) and the slice maxima (ma, mb), so one
 * logarithm per entry remains. */
static void divergence_sums(const float *la, const float *lb, const double *ea, const double *eb, size_t n,
                            double ma, double mb, double lza, double lzb, double out[3]) {
    double kab = 0.0, kba = 0.0, js = 0.0;
    const double fa = ma > -INFINITY ? exp(ma - lza) : 0.0, fb = mb > -INFINITY ? exp(mb - lzb) : 0.0;
    for (size_t j = 0; j < n; j++) {
        double pa_l = (double)la[j] - lza, pb_l = (double)lb[j] - lzb;
        double pa = ea[j] * fa, pb = eb[j] * fb;
        if (pa + pb <= 0.0) continue;     /* both underflow: no contribution */
        double lm = log(pa + pb) - M_LN2; /* log m, m = (p_a + p_b) / 2 */
        if (pa > 0.0) {
            kab += pa * (pa_l - pb_l);
            js += pa * (pa_l - lm);
        }
        if (pb > 0.0) {
            kba += pb * (pb_l - pa_l);
            js += pb * (pb_l - lm);
        }
    }
    out[0] = kab;
    out[1] = kba;
    out[2] = 0.5 * js;
}

/* Rows per chunk: two [R, V_local] logit blocks near 64 MiB together (and their
 * exponentials in double, 128 MiB). */
static size_t pair_chunk_rows(size_t V) {
    size_t r = (32u << 20) / (V * sizeof(float) + 1);
    return r < 16 ? 16 : r > 1024 ? 1024 : r;
}

/* The logits of rows [r0, r0 + n) over this rank's vocabulary slice, on the host. */
static int chunk_logits(LsForward *f, size_t r0, size_t n, float *dev, float *host, LsError *e) {
    LsBackend *be = f->be;
    const size_t d = (size_t)f->model->cfg.hidden_size, V = (size_t)f->nv;
    be->linear(be, dev, f->h + r0 * d, &f->head, n, 0);
    be->to_host(be, host, dev, n * V * sizeof(float));
    const float cap = f->head.logit_softcap; /* Gemma's final soft-capping, as head_partials applies it */
    for (size_t i = 0; cap > 0 && i < n * V; i++)
        host[i] = tanhf(host[i] / cap) * cap;
    (void)e;
    return LS_OK;
}

int ls_metrics_pair(LsForward *fa, LsForward *fb, const int32_t *ids, const int32_t *seq_off, int nseq,
                    LsPairStats *out, LsError *e) {
    if (ls_pair_check(fa, fb, e)) return LS_ERR;
    const size_t T = (size_t)seq_off[nseq], V = (size_t)fa->nv;
    const int P = fa->tp_size, NS = fa->nslices;
    LsComm *tp = fa->tp;
    if (out->T != T)
        return ls_fail(e, "pair metrics: output sized for %zu positions, batch has %zu", out->T, T);
    /* row t predicts token t + 1 of the same sequence */
    int32_t *want = ls_malloc(T * sizeof(int32_t));
    for (int s = 0; s < nseq; s++)
        for (int32_t t = seq_off[s]; t < seq_off[s + 1]; t++)
            want[t] = t + 1 < seq_off[s + 1] ? ids[t + 1] : -1;
    for (int s = 0; s < nseq; s++) {
        size_t p = (size_t)seq_off[s];
        if (p >= T) continue;
        out->kl_ab[p] = out->kl_ba[p] = out->js[p] = out->dlogprob[p] = NAN;
        out->top1_agree[p] = -1;
    }

    const size_t R = pair_chunk_rows(V);
    int rc = LS_OK;
    float *dev_a = fa->be->alloc(fa->be, R * V * sizeof(float), e);
    float *dev_b = dev_a ? fb->be->alloc(fb->be, R * V * sizeof(float), e) : NULL;
    if (!dev_a || !dev_b) {
        if (dev_a) fa->be->free(fa->be, dev_a);
        free(want);
        return ls_fail_prefix(e, "pair metrics: logits of %zu rows", R);
    }
    float *la = ls_malloc(R * V * sizeof(float)), *lb = ls_malloc(R * V * sizeof(float));
    double *ea = ls_malloc(R * V * sizeof(double)), *eb = ls_malloc(R * V * sizeof(double));
    /* per rank: pass-1 block (partials [R, NS], rows [R]) and pass-2 block (sums [R, NS, 3]) */
    const size_t b1 = R * (size_t)NS * sizeof(PairPartial) + R * sizeof(RowLocal);
    const size_t b2 = R * (size_t)NS * 3 * sizeof(double);
    unsigned char *mine1 = ls_malloc(b1), *all1 = P > 1 ? ls_malloc(b1 * (size_t)P) : mine1;
    double *mine2 = ls_malloc(b2), *all2 = P > 1 ? ls_malloc(b2 * (size_t)P) : mine2;
    LsSoftmaxPartial *pa = ls_malloc((size_t)(P * NS) * sizeof *pa),
                     *pb = ls_malloc((size_t)(P * NS) * sizeof *pb);
    double *lza = ls_malloc(R * sizeof(double)), *lzb = ls_malloc(R * sizeof(double));

    for (size_t r0 = 0; r0 < T && rc == LS_OK; r0 += R) {
        const size_t n = T - r0 < R ? T - r0 : R;
        if (chunk_logits(fa, r0, n, dev_a, la, e) || chunk_logits(fb, r0, n, dev_b, lb, e)) {
            rc = LS_ERR;
            break;
        }
        /* pass 1: partials, argmax and wanted logits of this rank's slices */
        PairPartial *pp = (PairPartial *)mine1;
        RowLocal *rl = (RowLocal *)(pp + R * (size_t)NS);
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            const float *ra = la + i * V, *rb = lb + i * V;
            RowLocal *x = &rl[i];
            x->top_a = x->top_b = -INFINITY;
            x->id_a = x->id_b = -1;
            for (int q = 0; q < NS; q++) {
                size_t c0 = fa->v_cut[q], c1 = fa->v_cut[q + 1];
                softmax_partial(ra + c0, c1 - c0, &pp[i * (size_t)NS + (size_t)q].a, ea + i * V + c0);
                softmax_partial(rb + c0, c1 - c0, &pp[i * (size_t)NS + (size_t)q].b, eb + i * V + c0);
            }
            argmax(ra, V, fa->v0, &x->top_a, &x->id_a);
            argmax(rb, V, fa->v0, &x->top_b, &x->id_b);
            int64_t w = want[r0 + i] - fa->v0;
            x->want_a = w >= 0 && w < (int64_t)V ? ra[w] : -INFINITY;
            x->want_b = w >= 0 && w < (int64_t)V ? rb[w] : -INFINITY;
        }
        if (P > 1 && tp->allgather_host(tp, mine1, all1, b1) != 0) {
            rc = ls_fail(e, "tensor-parallel all-gather of pair partials failed");
            break;
        }
        /* merge in slice order (rank q holds slices q NS .. q NS + NS - 1) */
        for (size_t i = 0; i < n; i++) {
            float ta = -INFINITY, tb = -INFINITY, wa = -INFINITY, wb = -INFINITY;
            int32_t ia = -1, ib = -1;
            for (int q = 0; q < P; q++) {
                const PairPartial *bp = (const PairPartial *)(all1 + (size_t)q * b1);
                const RowLocal *x = (const RowLocal *)(bp + R * (size_t)NS) + i;
                for (int k = 0; k < NS; k++) {
                    pa[q * NS + k] = bp[i * (size_t)NS + (size_t)k].a;
                    pb[q * NS + k] = bp[i * (size_t)NS + (size_t)k].b;
                }
                if (x->id_a >= 0 && (ia < 0 || x->top_a > ta)) ta = x->top_a, ia = x->id_a;
                if (x->id_b >= 0 && (ib < 0 || x->top_b > tb)) tb = x->top_b, ib = x->id_b;
                if (x->want_a > wa) wa = x->want_a;
                if (x->want_b > wb) wb = x->want_b;
            }
            double ent;
            ls_softmax_merge(pa, P * NS, &lza[i], &ent);
            ls_softmax_merge(pb, P * NS, &lzb[i], &ent);
            if (want[r0 + i] < 0) continue;
            size_t p = r0 + i + 1;
            out->top1_agree[p] = (int8_t)(ia == ib);
            out->dlogprob[p] = (float)(((double)wb - lzb[i]) - ((double)wa - lza[i]));
        }
        /* pass 2: the divergence sums per slice, given the log normalisers */
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            for (int q = 0; q < NS; q++) {
                size_t c0 = fa->v_cut[q], c1 = fa->v_cut[q + 1];
                const PairPartial *sp = &pp[i * (size_t)NS + (size_t)q];
                divergence_sums(la + i * V + c0, lb + i * V + c0, ea + i * V + c0, eb + i * V + c0, c1 - c0,
                                sp->a.m, sp->b.m, lza[i], lzb[i], mine2 + (i * (size_t)NS + (size_t)q) * 3);
            }
        if (P > 1 && tp->allgather_host(tp, mine2, all2, b2) != 0) {
            rc = ls_fail(e, "tensor-parallel all-gather of pair divergences failed");
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (want[r0 + i] < 0) continue;
            double sum[3] = {0.0, 0.0, 0.0};
            for (int q = 0; q < P; q++)
                for (int k = 0; k < NS; k++)
                    for (int c = 0; c < 3; c++)
                        sum[c] += all2[(size_t)q * (b2 / sizeof(double)) + (i * (size_t)NS + (size_t)k) * 3 +
                                       (size_t)c];
            size_t p = r0 + i + 1;
            /* rounding can leave a divergence of identical distributions a hair below 0 */
            out->kl_ab[p] = (float)fmax(sum[0], 0.0);
            out->kl_ba[p] = (float)fmax(sum[1], 0.0);
            out->js[p] = (float)fmax(sum[2], 0.0);
        }
    }
    fa->be->free(fa->be, dev_a);
    fb->be->free(fb->be, dev_b);
    free(la);
    free(lb);
    free(ea);
    free(eb);
    free(mine1);
    if (all1 != mine1) free(all1);
    free(mine2);
    if (all2 != mine2) free(all2);
    free(pa);
    free(pb);
    free(lza);
    free(lzb);
    free(want);
    return rc;
}

/* One pair's models share a vocabulary (ls_pairs_resolve). */
static int pair_shares_vocabulary(const char *const *names, const LsTokenizer *const *toks,
                                  const int32_t *vocab, LsModelPair p, LsError *e) {
    const char *a = names[p.a], *b = names[p.b];
    if (vocab[p.a] != vocab[p.b])
        return ls_fail(e, "%s (vocab_size %d) and %s (vocab_size %d) do not share a vocabulary", a,
                       vocab[p.a], b, vocab[p.b]);
    if (!toks[p.a] || !toks[p.b]) return LS_OK;
    int32_t id = ls_tokenizer_first_difference(toks[p.a], toks[p.b]);
    if (id < 0) return LS_OK;
    const char *sa = ls_tokenizer_id_to_token(toks[p.a], id), *sb = ls_tokenizer_id_to_token(toks[p.b], id);
    return ls_fail(e, "%s and %s do not share a tokenizer: id %d is '%s' in one and '%s' in the other", a, b,
                   id, sa ? sa : "(none)", sb ? sb : "(none)");
}

int ls_pairs_resolve(const char *const *names, const LsTokenizer *const *toks, const int32_t *vocab, int n,
                     const LsModelPair *spec, int n_spec, LsModelPair **out, int *n_out, LsError *skipped,
                     LsError *e) {
    int np = spec ? n_spec : (n > 1 ? n - 1 : 0), kept = 0;
    LsModelPair *p = ls_malloc((size_t)(np > 0 ? np : 1) * sizeof *p);
    *out = NULL;
    *n_out = 0;
    if (skipped) skipped->msg[0] = '\0';
    for (int i = 0; i < np; i++) {
        LsModelPair q = spec ? spec[i] : (LsModelPair){i, i + 1};
        if (q.a < 0 || q.a >= n || q.b < 0 || q.b >= n || q.a == q.b) {
            ls_fail(e, "pair %d: (%d, %d) does not name two different models of the %d", i + 1, q.a, q.b, n);
            free(p);
            return LS_ERR;
        }
        LsError why = {{0}};
        if (pair_shares_vocabulary(names, toks, vocab, q, &why)) {
            if (spec) {
                *e = why;
                free(p);
                return LS_ERR;
            }
            if (skipped) { /* a default pair: left out, said once by the caller */
                size_t at = strlen(skipped->msg);
                snprintf(skipped->msg + at, sizeof skipped->msg - at, "%s%s", at ? "; " : "", why.msg);
            }
            continue;
        }
        p[kept++] = q;
    }
    *out = p;
    *n_out = kept;
    return LS_OK;
}
