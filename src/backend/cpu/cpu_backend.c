/* cpu_backend.c — the CPU backend: fp32 activations in host memory, weights
 * kept in their stored form (cpu_weight.c), GEMMs through our own fp32 GEMM
 * (cpu_sgemm.c: every element one fma chain in k order, the same bits
 * whatever the shape, threads or processor) or, in bf16 precision, our bf16
 * kernels (AMX, AVX512-BF16, or fp32 FMAs on bf16 operands: cpu_bf16.c), the
 * rest as OpenMP loops. No BLAS: OpenBLAS's elements change with M, N and the
 * threads on some processors (its Haswell / Zen kernels), which the tensor-
 * and data-parallel bit-identity rests on.
 * Weights stored bf16/f16 are expanded to fp32 into the GEMM's packed blocks
 * (~1 op per weight against 2T flops per weight) rather than copied whole, so
 * a rank holds its model at the stored size.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_arch.h"
#include "cpu_gemm.h"
#include "ls/backend.h"
#include "vexp.h"

typedef struct {
    int nthreads;
    float *logits; /* head scratch [R, V] of the last head_partials call */
    size_t logits_cap;
    size_t last_R, last_V;
    float *gt_thr; /* per row of the last head_partials call: its wanted logit (NaN when not in the */
    int64_t *gt_n; /* slice) and the count of logits above it, taken while the row was in cache */
    size_t gt_cap;
    float *att; /* attention scores scratch [threads][ATT_BQ, longest sequence] */
    size_t att_cap;
    CpuScratch *att_scr; /* the attention GEMMs' scratch, one per thread */
    int att_nscr;
    CpuScratch gemm;    /* weight panels and bf16 activations of the GEMMs */
    char bf16_why[128]; /* why bf16 was refused ("" when it was not asked for or is in force) */
} CpuCtx;

static void *cpu_alloc(LsBackend *be, size_t bytes, LsError *e) {
    (void)be;
    void *p = ls_try_malloc_big(bytes);
    if (!p) {
        ls_fail(e, "cpu backend: cannot allocate %zu bytes of host memory", bytes);
        return NULL;
    }
    return p;
}

static void cpu_free(LsBackend *be, void *p) {
    (void)be;
    free(p);
}

static void cpu_copy(LsBackend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    memcpy(dst, src, bytes);
}

static void cpu_sync(LsBackend *be) {
    (void)be;
}

static int cpu_weight_load(LsBackend *be, LsWeight *out, const LsWeightSlice *sl, int ns, LsError *e) {
    memset(out, 0, sizeof *out);
    size_t n, k;
    int has_bias;
    if (ls_weight_slices_check(sl, ns, "cpu", &n, &k, &has_bias, e)) return LS_ERR;
    CpuWeight *w;
    if (cpu_weight_create(&w, sl, ns, n, k, be->precision, e)) return LS_ERR;
    float *b = has_bias ? cpu_alloc(be, n * sizeof(float), e) : NULL;
    if (has_bias && !b) {
        cpu_weight_destroy(w);
        return LS_ERR;
    }
    for (int i = 0; has_bias && i < ns; i++)
        ls_tensor_to_f32(sl[i].b, sl[i].row0, sl[i].nrows, b + w->row0[i]);
    out->n = n;
    out->k = k;
    out->w = w;
    out->b = b;
    return LS_OK;
}

static void cpu_weight_free(LsBackend *be, LsWeight *w) {
    (void)be;
    cpu_weight_destroy(w->w);
    free(w->b);
    memset(w, 0, sizeof *w);
}

static void cpu_linear(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, int acc) {
    CpuCtx *cx = be->ctx;
    /* y [T, n] (+)= x [T, k] . W[n, k]^T */
    cpu_gemm(&cx->gemm, y, x, w->k, w->w, T, 0, w->k, acc);
    if (w->b) {
        const float *b = w->b;
        size_t n = w->n;
#pragma omp parallel for schedule(static)
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < n; j++)
                y[t * n + j] += b[j];
    }
}

static void cpu_linear_cols(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, size_t c0,
                            size_t c1) {
    CpuCtx *cx = be->ctx;
    /* y [T, n] = x[:, c0:c1] . W[:, c0:c1]^T (zeros when c0 == c1) */
    cpu_gemm(&cx->gemm, y, x, w->k, w->w, T, c0, c1, 0);
}

static void cpu_rmsnorm(LsBackend *be, float *y, const float *x, const float *g, size_t T, size_t d,
                        float eps) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++) {
        const float *xr = x + t * d;
        float *yr = y + t * d;
        float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
        for (size_t i = 0; i < d; i++)
            ss += xr[i] * xr[i];
        /* transformers: x * torch.rsqrt(mean(x^2) + eps), then weight * x */
        float r = 1.0f / sqrtf(ss / (float)d + eps);
        for (size_t i = 0; i < d; i++)
            yr[i] = g[i] * (xr[i] * r);
    }
}

static void cpu_rope(LsBackend *be, float *qk, size_t ld, const int32_t *pos, size_t T, int nheads, int hd,
                     double theta) {
    (void)be;
    int half = hd / 2;
    /* inv_freq[i] = 1 / theta^(2i / hd), in fp32 as transformers computes it */
    float *inv = ls_malloc((size_t)half * sizeof(float));
    for (int i = 0; i < half; i++)
        inv[i] = (float)(1.0 / pow(theta, (double)(2 * i) / (double)hd));
    ls_cpu_rope_apply(qk, ld, pos, T, nheads, hd, inv, 1.0f);
    free(inv);
}

/* Causal attention of each sequence and head as two GEMMs per block of up to
 * ATT_BQ queries: S = Q K^T over the keys up to the block's last query (one fma
 * chain over the head dimension, then times the scale), masked softmax in
 * place (fp32, exps vectorised), O = P V (NN: V read in place). The (sequence,
 * head, query block) tasks are shared out over the OpenMP threads, largest
 * first, in one parallel region; each runs its GEMMs on one thread with its
 * own scratch (the GEMM's elements do not depend on the threads). Until
 * 2026-12-03 each task's two GEMMs and softmax were split over the threads
 * (three parallel regions per task: ~2,400 per forward of a 30-layer model),
 * in blocks of 256 queries; a block of ATT_BQ = 96 (a multiple of every
 * micro-kernel's rows) computes ~16% fewer masked scores at 640 tokens. */
#define ATT_BQ 96

typedef struct {
    int s, h, i0;
    double cost;
} AttTask;

static int att_task_cmp(const void *a, const void *b) {
    const AttTask *x = a, *y = b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    if (x->s != y->s) return x->s - y->s;
    if (x->h != y->h) return x->h - y->h;
    return x->i0 - y->i0;
}

static void cpu_attention(LsBackend *be, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                          int nseq, const LsAttnShape *sh) {
    CpuCtx *cx = be->ctx;
    const int H = sh->H, hd = sh->hd;
    const size_t kcol = (size_t)H * hd, vcol = kcol + (size_t)sh->Hkv * hd, od = (size_t)H * hd;
    const float scale = sh->scale > 0 ? sh->scale : 1.0f / sqrtf((float)hd);
    int maxlen = 0;
    size_t ntask = 0;
    for (int s = 0; s < nseq; s++) {
        const int len = seq_off[s + 1] - seq_off[s];
        if (len > maxlen) maxlen = len;
        ntask += (size_t)H * (size_t)((len + ATT_BQ - 1) / ATT_BQ);
    }
    if (ntask == 0) return;
    const int nthr = omp_get_max_threads();
    const size_t per = (size_t)ATT_BQ * (size_t)maxlen;
    if (cx->att_cap < per * (size_t)nthr) {
        free(cx->att);
        cx->att = ls_malloc(per * (size_t)nthr * sizeof(float));
        cx->att_cap = per * (size_t)nthr;
    }
    if (cx->att_nscr < nthr) {
        cx->att_scr = ls_realloc(cx->att_scr, (size_t)nthr * sizeof *cx->att_scr);
        memset(cx->att_scr + cx->att_nscr, 0, (size_t)(nthr - cx->att_nscr) * sizeof *cx->att_scr);
        cx->att_nscr = nthr;
    }
    AttTask *task = ls_malloc(ntask * sizeof *task);
    size_t nt = 0;
    for (int s = 0; s < nseq; s++) {
        const int len = seq_off[s + 1] - seq_off[s];
        for (int h = 0; h < H; h++)
            for (int i0 = 0; i0 < len; i0 += ATT_BQ) {
                const int nq = len - i0 < ATT_BQ ? len - i0 : ATT_BQ;
                task[nt++] = (AttTask){s, h, i0, (double)nq * (double)(i0 + nq)};
            }
    }
    qsort(task, ntask, sizeof *task, att_task_cmp);
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t t = 0; t < ntask; t++) {
        const int tid = omp_get_thread_num();
        CpuScratch *scr = &cx->att_scr[tid];
        float *S = cx->att + (size_t)tid * per;
        const size_t base = (size_t)seq_off[task[t].s];
        const int len = seq_off[task[t].s + 1] - seq_off[task[t].s], h = task[t].h, i0 = task[t].i0;
        const int kvh = (sh->q_head0 + h) / sh->group - sh->kv_head0;
        const float *Q = qkv + base * ld + (size_t)h * hd;
        const float *K = qkv + base * ld + kcol + (size_t)kvh * hd;
        const float *V = qkv + base * ld + vcol + (size_t)kvh * hd;
        const int nq = len - i0 < ATT_BQ ? len - i0 : ATT_BQ, nk = i0 + nq;
        /* S [nq, nk] = Q[i0:i0+nq] K[0:nk]^T, scaled below */
        cpu_sgemm_nt(scr, (size_t)nq, (size_t)nk, (size_t)hd, Q + (size_t)i0 * ld, ld, K, ld, S, (size_t)nk,
                     0);
        for (int r = 0; r < nq; r++) {
            float *row = S + (size_t)r * nk;
            const int last = i0 + r; /* keys first..last are visible */
            const int first = ls_cpu_attn_first_key(last, sh);
            float m = -INFINITY; /* the max is exact in any order: vectorised */
#pragma omp simd reduction(max : m)
            for (int j = first; j <= last; j++) {
                row[j] *= scale;
                m = row[j] > m ? row[j] : m;
            }
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int j = first; j <= last; j++) {
                row[j] = ls_vexpf(row[j] - m);
                sum += row[j];
            }
            const float inv = 1.0f / sum;
            for (int j = 0; j < first; j++)
                row[j] = 0.0f;
            for (int j = first; j <= last; j++)
                row[j] *= inv;
            for (int j = last + 1; j < nk; j++)
                row[j] = 0.0f;
        }
        /* O[i0:i0+nq, head h] = P [nq, nk] V[0:nk] */
        cpu_sgemm_nn(scr, (size_t)nq, (size_t)hd, (size_t)nk, S, (size_t)nk, V, ld,
                     out + (base + (size_t)i0) * od + (size_t)h * hd, od, 0);
    }
    free(task);
}

/* silu(g) u = g u / (1 + e^-g), with the vectorised exp (relative error < 2e-7: torch's own
 * vectorised exp is not libm's either) in both precisions. */
static void cpu_swiglu(LsBackend *be, float *out, const float *gu, size_t T, size_t f) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++) {
        const float *g = gu + t * 2 * f, *u = g + f;
        float *o = out + t * f;
#pragma omp simd
        for (size_t i = 0; i < f; i++)
            o[i] = g[i] / (1.0f + ls_vexpf(-g[i])) * u[i];
    }
}

static void cpu_embed(LsBackend *be, float *x, const int32_t *ids, size_t T, const LsWeight *emb,
                      int64_t v0) {
    (void)be;
    size_t d = emb->k;
    for (size_t t = 0; t < T; t++) {
        int64_t r = (int64_t)ids[t] - v0;
        if (r >= 0 && r < (int64_t)emb->n)
            cpu_weight_row(emb->w, (size_t)r, 0, d, x + t * d); /* the stored values, in any precision */
        else
            memset(x + t * d, 0, d * sizeof(float));
    }
}

static void cpu_add(LsBackend *be, float *y, const float *x, size_t n) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
}

/* Keeps the K largest (value, id) pairs of a row, descending. Blocks of 64
 * whose (vectorised) max is not above the current K-th value are skipped. */
static void topk_row(const float *l, size_t V, int64_t v0, int K, float *tv, int32_t *ti) {
    int n = 0;
    for (size_t j0 = 0; j0 < V; j0 += 64) {
        size_t j1 = j0 + 64 < V ? j0 + 64 : V;
        if (n == K) {
            float bm = -INFINITY;
#pragma omp simd reduction(max : bm)
            for (size_t j = j0; j < j1; j++)
                bm = l[j] > bm ? l[j] : bm;
            if (!(bm > tv[K - 1])) continue;
        }
        for (size_t j = j0; j < j1; j++) {
            float x = l[j];
            if (n == K && !(x > tv[K - 1])) continue;
            int p = n < K ? n++ : K - 1;
            while (p > 0 && tv[p - 1] < x) {
                tv[p] = tv[p - 1];
                ti[p] = ti[p - 1];
                p--;
            }
            tv[p] = x;
            ti[p] = (int32_t)(v0 + (int64_t)j);
        }
    }
    for (; n < K; n++) {
        tv[n] = -INFINITY;
        ti[n] = -1;
    }
}

static void cpu_head_partials(LsBackend *be, const float *h, size_t R, const LsWeight *W, int64_t v0, int nsl,
                              const size_t *cut, const int32_t *want_ids, const int32_t *tgt_ids, int ntgt,
                              int K, LsSoftmaxPartial *part, float *want, float *tgt, float *topv,
                              int32_t *topi) {
    CpuCtx *cx = be->ctx;
    size_t V = W->n;
    if (cx->logits_cap < R * V) {
        free(cx->logits);
        cx->logits = ls_malloc_big(R * V * sizeof(float));
        cx->logits_cap = R * V;
    }
    if (cx->gt_cap < R) {
        free(cx->gt_thr);
        free(cx->gt_n);
        cx->gt_thr = ls_malloc(R * sizeof(float));
        cx->gt_n = ls_malloc(R * sizeof(int64_t));
        cx->gt_cap = R;
    }
    float *L = cx->logits;
    cx->last_R = R;
    cx->last_V = V;
    /* L [R, V] = h [R, d] . W[V, d]^T */
    cpu_gemm(&cx->gemm, L, h, W->k, W->w, R, 0, W->k, 0);
    if (W->logit_softcap > 0) ls_cpu_softcap(L, R * V, W->logit_softcap);
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < R; r++) {
        const float *row = L + r * V;
        const int64_t wid = want_ids ? (int64_t)want_ids[r] - v0 : -1;
        const int have = wid >= 0 && wid < (int64_t)V;
        /* the wanted logit's rank here (logits above it), counted in the exp pass below while the
         * row is in cache, for head_count_greater; NaN: not in this slice, nothing counted (a slice
         * the pass skips, all -inf or NaN, has none above any threshold) */
        const float thr = have ? row[wid] : NAN;
        int64_t above = 0;
        for (int q = 0; q < nsl; q++) {
            const size_t c0 = cut ? cut[q] : 0, n = (cut ? cut[q + 1] : V) - c0;
            const float *l = row + c0;
            float m = -INFINITY;
#pragma omp simd reduction(max : m)
            for (size_t j = 0; j < n; j++)
                m = l[j] > m ? l[j] : m;
            /* s = sum e^(l-m), w = sum e^(l-m) (l-m): exps of a block into ez (vectorised), then fp64 sums */
            double s = 0.0, w = 0.0;
            float ez[1024], zz[1024];
            for (size_t j0 = 0; m > -INFINITY && j0 < n; j0 += 1024) { /* an all -inf slice: s = w = 0 */
                size_t nb = n - j0 < 1024 ? n - j0 : 1024;
                const float *lb = l + j0;
                for (size_t j = 0; j < nb; j++) {
                    float z = lb[j] - m;
                    zz[j] = z < -1e30f ? -1e30f : z; /* a -inf logit: e^z z = 0, not 0 * -inf (NaN stays) */
                    ez[j] = ls_vexpf(zz[j]);
                }
                float bs = 0.0f, bw = 0.0f;
                int64_t ab = 0;
#pragma omp simd reduction(+ : bs, bw, ab)
                for (size_t j = 0; j < nb; j++) {
                    bs += ez[j];
                    bw += ez[j] * zz[j];
                    ab += lb[j] > thr;
                }
                above += ab;
                s += bs;
                w += bw;
            }
            LsSoftmaxPartial *pr = &part[r * (size_t)nsl + (size_t)q];
            pr->m = m;
            pr->s = s;
            pr->w = w;
        }
        want[r] = have ? thr : -INFINITY;
        cx->gt_thr[r] = thr;
        cx->gt_n[r] = above;
        for (int t = 0; t < ntgt; t++) {
            int64_t c = (int64_t)tgt_ids[t] - v0;
            tgt[r * (size_t)ntgt + t] = (c >= 0 && c < (int64_t)V) ? row[c] : -INFINITY;
        }
        if (K > 0) topk_row(row, V, v0, K, topv + r * (size_t)K, topi + r * (size_t)K);
    }
}

static void cpu_head_count_greater(LsBackend *be, size_t R, const float *thr, int64_t *cnt) {
    CpuCtx *cx = be->ctx;
    size_t V = cx->last_V;
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < R; r++) {
        const float *l = cx->logits + r * V;
        float t = thr[r];
        if (r < cx->last_R && !memcmp(&t, &cx->gt_thr[r], sizeof t)) { /* counted in head_partials */
            cnt[r] = cx->gt_n[r];
            continue;
        }
        int64_t c = 0;
#pragma omp simd reduction(+ : c)
        for (size_t j = 0; j < V; j++)
            c += l[j] > t;
        cnt[r] = c;
    }
}

/* bf16 needs AVX512-BF16 (also present on AMX processors); without it the
 * backend says why and computes in fp32, the precision describe records. */
static int cpu_set_precision(LsBackend *be, LsPrecision p, LsError *e) {
    CpuCtx *cx = be->ctx;
    (void)e;
    be->precision = LS_PREC_FP32;
    cx->bf16_why[0] = 0;
    if (p == LS_PREC_BF16 && !cpu_bf16_available(cx->bf16_why, sizeof cx->bf16_why))
        ls_warn("precision bf16: %s; the CPU backend computes in fp32", cx->bf16_why);
    else
        be->precision = p;
    return LS_OK;
}

/* The processor's model name from /proc/cpuinfo ("unknown" elsewhere). */
static void cpu_model_name(char *buf, size_t n) {
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = 0;
        snprintf(buf, n, "%s", colon);
        break;
    }
    fclose(f);
}

static void cpu_describe(LsBackend *be, LsDeviceInfo *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->device, sizeof out->device, "cpu");
    snprintf(out->precision, sizeof out->precision, "%s", ls_precision_name(be->precision));
    cpu_model_name(out->processor, sizeof out->processor);
    char bf[96] = "";
    if (be->precision == LS_PREC_BF16)
        snprintf(bf, sizeof bf, "; bf16 GEMMs: own %s kernel", cpu_bf16_kernel_name(cpu_bf16_kernel()));
    snprintf(out->runtime, sizeof out->runtime, "fp32 GEMMs: own %s kernel%s",
             cpu_sgemm_name(cpu_sgemm_variant()), bf);
    out->threads = omp_get_max_threads();
}

/* Host memory: the weights, the attention scores (per thread, ATT_BQ rows of at
 * most batch_tokens keys, and a GEMM scratch of ~0.3 MB inside the 64 MiB margin)
 * and the head's logits block (cpu_head_rows rows). */
static size_t cpu_mem_available(LsBackend *be) {
    (void)be;
    return ls_host_mem_available();
}
/* Rows per head_partials call: the whole batch, up to 512 rows (a constant, as the CUDA
 * backend's: every tensor-parallel rank must cut the batch the same way, whatever its vocabulary
 * slice). A compact head (bf16, quantized) is expanded once per call, and the rows of a call
 * amortise that: with the callers' default (64 MiB of logits), Gemma 3's 262k-row Q8_0 head was
 * expanded for every 64 rows and took 70% of a forward. The logits block is 512 x the vocabulary
 * slice x 4 bytes (311 MB for 152k), counted in mem_needed. */
#define HEAD_ROWS 512
static size_t cpu_head_rows(const LsBatchShape *s) {
    return s->tokens < HEAD_ROWS ? (s->tokens ? s->tokens : 1) : HEAD_ROWS;
}
static size_t cpu_mem_needed(LsBackend *be, const LsBatchShape *s) {
    (void)be; /* weights stay at their stored size (fp32 ones are copied once), docs/cpu-backend.md */
    size_t w = s->weight_bytes ? s->weight_bytes : s->weight_elems * sizeof(float);
    const size_t att = (size_t)omp_get_max_threads() * ATT_BQ * s->tokens * sizeof(float);
    return w + att + cpu_head_rows(s) * s->vocab * sizeof(float) + ((size_t)64 << 20);
}
static int cpu_reserve(LsBackend *be, const LsBatchShape *s, size_t *head_rows, LsError *e) {
    (void)be, (void)e;
    *head_rows = cpu_head_rows(s);
    return LS_OK;
}
static int cpu_check(LsBackend *be, LsError *e) {
    (void)be, (void)e;
    return LS_OK;
}

static void cpu_destroy(LsBackend *be) {
    CpuCtx *cx = be->ctx;
    free(cx->logits);
    free(cx->gt_thr);
    free(cx->gt_n);
    free(cx->att);
    for (int i = 0; i < cx->att_nscr; i++) {
        free(cx->att_scr[i].pack);
        free(cx->att_scr[i].a16);
    }
    free(cx->att_scr);
    free(cx->gemm.pack);
    free(cx->gemm.a16);
    free(cx);
    free(be);
}

LsBackend *ls_backend_cpu_create(int nthreads) {
    LsBackend *be = ls_calloc(1, sizeof *be);
    CpuCtx *cx = ls_calloc(1, sizeof *cx);
    if (nthreads > 0) omp_set_num_threads(nthreads);
    cx->nthreads = nthreads;
    be->name = "cpu";
    be->ctx = cx;
    be->set_precision = cpu_set_precision;
    be->describe = cpu_describe;
    be->mem_available = cpu_mem_available;
    be->mem_needed = cpu_mem_needed;
    be->reserve = cpu_reserve;
    be->check = cpu_check;
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->to_device = cpu_copy;
    be->to_host = cpu_copy;
    be->sync = cpu_sync;
    be->weight_load = cpu_weight_load;
    be->weight_free = cpu_weight_free;
    be->linear = cpu_linear;
    be->linear_cols = cpu_linear_cols;
    be->rmsnorm = cpu_rmsnorm;
    be->rope = cpu_rope;
    be->attention = cpu_attention;
    be->swiglu = cpu_swiglu;
    be->embed = cpu_embed;
    be->add = cpu_add;
    be->head_partials = cpu_head_partials;
    be->head_count_greater = cpu_head_count_greater;
    be->destroy = cpu_destroy;
    ls_cpu_arch_register(be);
    return be;
}
