/* test_forward.c — the CPU forward pass and head statistics against the
 * oracle fixtures written by tests/oracle/make_fixtures.py (transformers'
 * Qwen2, Llama, Qwen3 and Gemma 3 *ForCausalLM in fp32): every sequence alone, and all of them packed in
 * one batch. Tolerances (issue #3): |Δ log-prob| <= 1e-4, |Δ entropy| <= 1e-4,
 * top-k ids identical where the reference's logit gap exceeds 1e-4. */
#include <criterion/criterion.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/backend.h"
#include "ls/forward.h"
#include "ls/metrics.h"
#include "ls/model.h"

#define TOL 1e-4

typedef struct {
    double max_lp, max_ent, max_tgt;
    int top_checked, top_skipped;
} Diff;

static json_t *load_ref(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/reference.json", dir);
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    cr_assert(r, "%s: %s", path, je.text);
    return r;
}

static void compare_seq(json_t *positions, const LsPosStats *st, size_t off, int K, int ntgt, Diff *d,
                        const char *what) {
    size_t n = json_array_size(positions);
    for (size_t p = 0; p < n; p++) {
        json_t *ref = json_array_get(positions, p);
        size_t q = off + p;
        if (json_is_null(ref)) {
            cr_assert(isnan(st->logprob[q]) && isnan(st->entropy[q]), "%s: position %zu must be NaN", what,
                      p);
            cr_assert_eq(st->top_ids[q * K], -1);
            cr_assert_eq(st->rank[q], 0);
            continue;
        }
        double lp = json_real_value(json_object_get(ref, "logprob"));
        double ent = json_real_value(json_object_get(ref, "entropy"));
        double dl = fabs(st->logprob[q] - lp), de = fabs(st->entropy[q] - ent);
        if (dl > d->max_lp) d->max_lp = dl;
        if (de > d->max_ent) d->max_ent = de;
        cr_expect(dl <= TOL, "%s: position %zu logprob %.7f vs transformers %.7f", what, p, st->logprob[q],
                  lp);
        cr_expect(de <= TOL, "%s: position %zu entropy %.7f vs transformers %.7f", what, p, st->entropy[q],
                  ent);
        if (json_real_value(json_object_get(ref, "rank_margin")) > TOL)
            cr_expect_eq(st->rank[q], (int)json_integer_value(json_object_get(ref, "rank")),
                         "%s: position %zu rank %d vs transformers %d", what, p, st->rank[q],
                         (int)json_integer_value(json_object_get(ref, "rank")));
        json_t *tg = json_object_get(ref, "targets");
        for (int t = 0; t < ntgt; t++) {
            double dt = fabs(st->target_lp[q * ntgt + t] - json_real_value(json_array_get(tg, t)));
            if (dt > d->max_tgt) d->max_tgt = dt;
            cr_expect(dt <= TOL, "%s: position %zu target %d off by %g", what, p, t, dt);
        }
        json_t *top = json_object_get(ref, "top");
        for (int k = 0; k < K; k++) {
            double v = json_real_value(json_array_get(json_array_get(top, k), 1));
            double gap_prev =
                k > 0 ? json_real_value(json_array_get(json_array_get(top, k - 1), 1)) - v : INFINITY;
            double gap_next =
                k + 1 < K ? v - json_real_value(json_array_get(json_array_get(top, k + 1), 1)) : INFINITY;
            cr_expect(fabs(st->top_lp[q * K + k] - v) <= TOL, "%s: position %zu top-%d log-prob", what, p, k);
            if (gap_prev > TOL && gap_next > TOL) {
                int id = (int)json_integer_value(json_array_get(json_array_get(top, k), 0));
                cr_expect_eq(st->top_ids[q * K + k], id, "%s: position %zu top-%d id %d vs transformers %d",
                             what, p, k, st->top_ids[q * K + k], id);
                d->top_checked++;
            } else {
                d->top_skipped++;
            }
        }
    }
}

static void check_fixture(const char *name, int threads) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fixtures/%s", LS_TEST_DIR, name);
    json_t *ref = load_ref(dir);
    int K = (int)json_integer_value(json_object_get(ref, "top_k"));
    json_t *tj = json_object_get(ref, "targets"), *seqs = json_object_get(ref, "sequences");
    int ntgt = (int)json_array_size(tj);
    int32_t tgt[16];
    for (int t = 0; t < ntgt; t++)
        tgt[t] = (int32_t)json_integer_value(json_array_get(tj, t));

    LsError e = {{0}};
    LsModel m;
    char model[1100]; /* a GGUF fixture holds model.gguf beside reference.json */
    snprintf(model, sizeof model, "%s/model.gguf", dir);
    FILE *gguf = fopen(model, "rb");
    if (gguf)
        fclose(gguf);
    else
        snprintf(model, sizeof model, "%s", dir);
    cr_assert_eq(ls_model_open(&m, model, &e), LS_OK, "%s", e.msg);
    LsBackend *be = ls_backend_cpu_create(threads);
    int nseq = (int)json_array_size(seqs);
    int32_t off[32] = {0}, ids[4096];
    for (int s = 0; s < nseq; s++) {
        json_t *sid = json_object_get(json_array_get(seqs, s), "ids");
        off[s + 1] = off[s] + (int32_t)json_array_size(sid);
        for (size_t i = 0; i < json_array_size(sid); i++)
            ids[off[s] + i] = (int32_t)json_integer_value(json_array_get(sid, i));
    }
    LsForward f;
    cr_assert_eq(ls_forward_init(&f, &m, be, NULL, (size_t)off[nseq], &e), LS_OK, "%s", e.msg);
    Diff d = {0};
    /* each sequence alone */
    for (int s = 0; s < nseq; s++) {
        int32_t o1[2] = {0, off[s + 1] - off[s]};
        LsPosStats st;
        ls_posstats_alloc(&st, (size_t)o1[1], K, ntgt);
        cr_assert_eq(ls_forward_batch(&f, ids + off[s], o1, 1, &e), LS_OK, "%s", e.msg);
        cr_assert_eq(ls_metrics_head(&f, ids + off[s], o1, 1, tgt, ntgt, K, &st, &e), LS_OK, "%s", e.msg);
        char what[256];
        snprintf(what, sizeof what, "%s seq %d alone", name, s);
        compare_seq(json_object_get(json_array_get(seqs, s), "positions"), &st, 0, K, ntgt, &d, what);
        ls_posstats_free(&st);
    }
    /* all packed into one batch (varlen: causal within each sequence only) */
    LsPosStats st;
    ls_posstats_alloc(&st, (size_t)off[nseq], K, ntgt);
    cr_assert_eq(ls_forward_batch(&f, ids, off, nseq, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_metrics_head(&f, ids, off, nseq, tgt, ntgt, K, &st, &e), LS_OK, "%s", e.msg);
    for (int s = 0; s < nseq; s++) {
        char what[256];
        snprintf(what, sizeof what, "%s seq %d packed", name, s);
        compare_seq(json_object_get(json_array_get(seqs, s), "positions"), &st, (size_t)off[s], K, ntgt, &d,
                    what);
    }
    ls_posstats_free(&st);
    printf("%s (threads %d): max |d logprob| %.3g, max |d entropy| %.3g, max |d target| %.3g, "
           "top-k ids checked %d (skipped for near-ties %d)\n",
           name, threads, d.max_lp, d.max_ent, d.max_tgt, d.top_checked, d.top_skipped);
    cr_assert(d.top_checked > 0);
    ls_forward_free(&f);
    be->destroy(be);
    ls_model_close(&m);
    json_decref(ref);
}

Test(forward, tied_fp32) {
    check_fixture("qwen2-tiny-tied", 1);
}
Test(forward, untied_gqa2_fp32) {
    check_fixture("qwen2-tiny-untied", 2);
}
Test(forward, gqa7_headdim_theta1e6_bf16) {
    check_fixture("qwen2-tiny-gqa7-bf16", 2);
}
Test(forward, sharded_f16) {
    check_fixture("qwen2-tiny-sharded-f16", 1);
}
Test(forward,
     gguf_quantized_weights) { /* Q4_0/Q5_0/Q4_1/Q5_1/Q8_0/F16/BF16 weights, as transformers loads the GGUF */
    check_fixture("gguf-qwen2-tiny", 1);
}
/* Llama, Qwen3, Gemma 3 text (tests/oracle/make_fixtures.py says what each one covers) */
Test(forward, llama_kv1_tied) {
    check_fixture("llama-tiny-kv1-tied", 1);
}
Test(forward, llama_linear_rope_biases) {
    check_fixture("llama-tiny-linear-bias", 2);
}
Test(forward, llama_llama3_rope_bf16) {
    check_fixture("llama-tiny-llama3-bf16", 1);
}
Test(forward, llama_yarn) {
    check_fixture("llama-tiny-yarn", 2);
}
Test(forward, qwen3_qk_norm_head_dim) {
    check_fixture("qwen3-tiny-tied", 1);
}
Test(forward, qwen3_kv1_yarn_bf16) {
    check_fixture("qwen3-tiny-kv1-yarn", 2);
}
Test(forward, gemma3_kv1_sliding_window) {
    check_fixture("gemma3-tiny-kv1-window", 1);
}
Test(forward, gemma3_softcap_linear_rope_bf16) {
    check_fixture("gemma3-tiny-softcap-bf16", 2);
}

/* A backend without an operation or ability the architecture needs (the CUDA
 * backend before its attention honours LsAttnShape.window, say) is refused
 * before any weight loads, naming what is missing and the model type. */
static void expect_refused(const char *fixture, void (*cripple)(LsBackend *), const char *what) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fixtures/%s", LS_TEST_DIR, fixture);
    LsError e = {{0}};
    LsModel m;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_OK, "%s", e.msg);
    LsBackend *be = ls_backend_cpu_create(1);
    cripple(be);
    LsForward f;
    cr_assert_eq(ls_forward_init(&f, &m, be, NULL, 16, &e), LS_ERR, "%s accepted", fixture);
    cr_assert(strstr(e.msg, what) && strstr(e.msg, m.cfg.model_type) && strstr(e.msg, "cpu backend"), "%s",
              e.msg);
    ls_forward_free(&f);
    be->destroy(be);
    ls_model_close(&m);
}
static void no_gelu(LsBackend *be) {
    be->gelu_tanh_mul = NULL;
}
static void no_window(LsBackend *be) {
    be->features &= ~(unsigned)LS_FEAT_ATTN_WINDOW;
}
static void no_scale(LsBackend *be) {
    be->features &= ~(unsigned)LS_FEAT_ATTN_SCALE;
}
static void no_head_softcap(LsBackend *be) {
    be->features &= ~(unsigned)LS_FEAT_HEAD_SOFTCAP;
}
static void no_rope_freqs(LsBackend *be) {
    be->rope_freqs = NULL;
}
static void no_head_norm(LsBackend *be) {
    be->head_rmsnorm = NULL;
}
static void no_bias(LsBackend *be) {
    be->add_bias = NULL;
}
static void no_scale_op(LsBackend *be) {
    be->scale = NULL;
}

Test(forward, backend_lacking_an_op_is_refused) {
    expect_refused("gemma3-tiny-kv1-window", no_gelu, "GELU-tanh");
    expect_refused("gemma3-tiny-kv1-window", no_window, "sliding-window attention");
    expect_refused("gemma3-tiny-kv1-window", no_scale, "query_pre_attn_scalar");
    expect_refused("gemma3-tiny-kv1-window", no_scale_op, "scaled embeddings");
    expect_refused("gemma3-tiny-softcap-bf16", no_head_softcap, "final logit soft-capping");
    expect_refused("llama-tiny-yarn", no_rope_freqs, "scaled RoPE");
    expect_refused("llama-tiny-linear-bias", no_bias, "row-parallel biases");
    expect_refused("qwen3-tiny-tied", no_head_norm, "per-head q/k RMSNorm");
}

/* The fixed-order sums (ls/forward.h) at tp = 1: LS_TP_SLICES GEMMs per row-parallel layer, a tree of
 * adds and per-slice softmax partials give the statistics of one GEMM and one partial (the plain sums) up
 * to fp32 rounding; the slices tile the columns and the vocabulary. */
static void check_fixed_vs_plain(const char *name) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fixtures/%s", LS_TEST_DIR, name);
    json_t *ref = load_ref(dir),
           *ids_j = json_object_get(json_array_get(json_object_get(ref, "sequences"), 4), "ids");
    int32_t ids[1024], off[2] = {0, (int32_t)json_array_size(ids_j)}, tgt[2] = {5, 77};
    for (int i = 0; i < off[1]; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(ids_j, (size_t)i));
    LsError e = {{0}};
    LsModel m;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_OK, "%s", e.msg);
    const LsModelConfig *c = &m.cfg;
    LsPosStats st[2];
    for (int plain = 0; plain < 2; plain++) {
        LsBackend *be = ls_backend_cpu_create(1);
        if (plain) be->linear_cols = NULL;
        LsForward f;
        cr_assert_eq(ls_forward_init(&f, &m, be, NULL, (size_t)off[1], &e), LS_OK, "%s", e.msg);
        cr_assert_eq(f.ordered, !plain);
        cr_assert_eq(f.nslices, plain ? 1 : LS_TP_SLICES);
        cr_assert(f.o_cut[0] == 0 && f.down_cut[0] == 0 && f.v_cut[0] == 0);
        cr_assert_eq(f.o_cut[f.nslices], (size_t)c->num_attention_heads * (size_t)c->head_dim);
        cr_assert_eq(f.down_cut[f.nslices], (size_t)c->intermediate_size);
        cr_assert_eq(f.v_cut[f.nslices], (size_t)c->vocab_size);
        for (int i = 0; i < f.nslices; i++) /* whole heads, ascending */
            cr_assert(f.o_cut[i] <= f.o_cut[i + 1] && f.o_cut[i] % (size_t)c->head_dim == 0 &&
                      f.down_cut[i] <= f.down_cut[i + 1] && f.v_cut[i] <= f.v_cut[i + 1]);
        ls_posstats_alloc(&st[plain], (size_t)off[1], 5, 2);
        cr_assert_eq(ls_forward_batch(&f, ids, off, 1, &e), LS_OK, "%s", e.msg);
        cr_assert_eq(ls_metrics_head(&f, ids, off, 1, tgt, 2, 5, &st[plain], &e), LS_OK, "%s", e.msg);
        ls_forward_free(&f);
        be->destroy(be);
    }
    double worst = 0;
    for (int p = 1; p < off[1]; p++) {
        double d[] = {st[0].logprob[p] - st[1].logprob[p], st[0].entropy[p] - st[1].entropy[p],
                      st[0].top_lp[p * 5] - st[1].top_lp[p * 5],
                      st[0].target_lp[p * 2 + 1] - st[1].target_lp[p * 2 + 1]};
        for (int k = 0; k < 4; k++)
            worst = fabs(d[k]) > worst ? fabs(d[k]) : worst;
        cr_expect_eq(st[0].rank[p], st[1].rank[p], "%s: position %d rank", name, p);
    }
    printf("%s: fixed-order vs plain sums at tp=1: max |d| %.3g\n", name, worst);
    cr_expect(worst <= TOL, "%s: fixed-order sums differ from plain ones by %g", name, worst);
    ls_posstats_free(&st[0]);
    ls_posstats_free(&st[1]);
    ls_model_close(&m);
    json_decref(ref);
}

Test(forward, fixed_order_sums_equal_plain) {
    check_fixed_vs_plain("qwen2-tiny-untied");
    check_fixed_vs_plain("qwen2-tiny-gqa7-bf16"); /* 7 heads over 4 slices: 1, 2, 2, 2 */
}

Test(metrics, softmax_merge_matches_direct) {
    /* logits split over 3 "ranks", including huge values: merged = direct */
    float l[10] = {1000.f, 998.5f, -3.f, 999.f, 0.f, 1000.25f, -1e4f, 997.f, 12.f, 1000.f};
    double m = -INFINITY;
    for (int i = 0; i < 10; i++)
        m = fmax(m, l[i]);
    double s = 0, w = 0;
    for (int i = 0; i < 10; i++) {
        s += exp(l[i] - m);
        w += exp(l[i] - m) * (l[i] - m);
    }
    double lse_ref = m + log(s), ent_ref = log(s) - w / s;
    LsSoftmaxPartial p[3];
    int cut[4] = {0, 3, 7, 10};
    for (int r = 0; r < 3; r++) {
        double mr = -INFINITY, sr = 0, wr = 0;
        for (int i = cut[r]; i < cut[r + 1]; i++)
            mr = fmax(mr, l[i]);
        for (int i = cut[r]; i < cut[r + 1]; i++) {
            sr += exp(l[i] - mr);
            wr += exp(l[i] - mr) * (l[i] - mr);
        }
        p[r] = (LsSoftmaxPartial){mr, sr, wr};
    }
    double lse, ent;
    ls_softmax_merge(p, 3, &lse, &ent);
    cr_assert_float_eq(lse, lse_ref, 1e-9);
    cr_assert_float_eq(ent, ent_ref, 1e-9);
    cr_assert(ent > 0.5 && ent < 2.5);
}

/* merge of per-slice partials = one pass over the whole row, with ties,
 * -inf logits (a slice holding only -inf) and huge values */
Test(metrics, softmax_merge_ties_and_infinities) {
    float l[12] = {5.f, 5.f, -INFINITY, -INFINITY, 3e4f, 3e4f, -2.f, 5.f, -INFINITY, 3e4f - 1.f, 0.f, 5.f};
    double m = -INFINITY;
    for (int i = 0; i < 12; i++)
        m = fmax(m, l[i]);
    double s = 0, w = 0;
    for (int i = 0; i < 12; i++)
        if (l[i] > -INFINITY) {
            s += exp(l[i] - m);
            w += exp(l[i] - m) * (l[i] - m);
        }
    double lse_ref = m + log(s), ent_ref = log(s) - w / s;
    int cut[5] = {0, 2, 4, 9, 12}; /* slice 1 is all -inf */
    LsSoftmaxPartial p[4];
    for (int r = 0; r < 4; r++) {
        double mr = -INFINITY, sr = 0, wr = 0;
        for (int i = cut[r]; i < cut[r + 1]; i++)
            mr = fmax(mr, l[i]);
        for (int i = cut[r]; i < cut[r + 1]; i++)
            if (l[i] > -INFINITY) {
                sr += exp(l[i] - mr);
                wr += exp(l[i] - mr) * (l[i] - mr);
            }
        p[r] = (LsSoftmaxPartial){mr, sr, wr};
    }
    double lse, ent;
    ls_softmax_merge(p, 4, &lse, &ent);
    cr_assert_float_eq(lse, lse_ref, 1e-9);
    cr_assert_float_eq(ent, ent_ref, 1e-9);
    /* two tied maxima of 3e4 and one 1 below: entropy of (e, e, 1)/(2e + 1) */
    double q1 = exp(1.0) / (2 * exp(1.0) + 1), q2 = 1 / (2 * exp(1.0) + 1);
    cr_assert_float_eq(ent, -(2 * q1 * log(q1) + q2 * log(q2)), 1e-9);
    /* merging in another order gives the same numbers */
    LsSoftmaxPartial rev[4] = {p[3], p[2], p[1], p[0]};
    double lse2, ent2;
    ls_softmax_merge(rev, 4, &lse2, &ent2);
    cr_assert_float_eq(lse2, lse, 1e-12);
    cr_assert_float_eq(ent2, ent, 1e-12);
}

/* The CPU head's per-sub-slice partials (the canonical vocab slices of
 * ls/forward.h), merged, equal one partial over the whole slice: with an empty
 * sub-slice and one whose logits are all -inf for a row (s = w = 0, not NaN);
 * the wanted logits, target logits and top-k do not depend on the cut. */
Test(metrics, cpu_head_subslices_merge_to_whole) {
    enum { R = 3, V = 26, D = 8, K = 4 };
    static float w[V * D], h[R * D];
    unsigned x = 12345;
    for (int i = 0; i < V * D; i++) {
        x = x * 1103515245u + 12345u;
        w[i] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 6.0f;
    }
    for (int v = 20; v < V; v++) /* rows 20..25: logit -inf for row 0 of h = (1, 0, ..., 0) */
        for (int j = 0; j < D; j++)
            w[v * D + j] = j == 0 ? -INFINITY : 0.0f;
    for (int r = 0; r < R; r++)
        for (int j = 0; j < D; j++)
            h[r * D + j] = r == 0 ? (j == 0 ? 1.0f : 0.0f) : (float)((r * 7 + j * 3) % 5) + 0.5f;
    LsBackend *be = ls_backend_cpu_create(1);
    LsTensor wt = {
        .name = "w", .dtype = LS_DT_F32, .ndim = 2, .shape = {V, D}, .data = w, .nbytes = sizeof w};
    LsWeightSlice ws = {&wt, NULL, 0, V, 0, D};
    LsWeight W;
    LsError e = {{0}};
    cr_assert_eq(be->weight_load(be, &W, &ws, 1, &e), LS_OK, "%s", e.msg);
    const size_t cut[5] = {0, 7, 7, 20, V};                 /* [7, 7) empty; [20, 26) all -inf for row 0 */
    int32_t want[R] = {103, 110, 125}, tgt[2] = {100, 119}; /* 125: -inf (rows 20..25) */
    LsSoftmaxPartial one[R], sub[R * 4];
    float wl1[R], wl4[R], t1[R * 2], t4[R * 2], v1[R * K], v4[R * K];
    int32_t i1[R * K], i4[R * K];
    be->head_partials(be, h, R, &W, 100, 1, NULL, want, tgt, 2, K, one, wl1, t1, v1, i1);
    be->head_partials(be, h, R, &W, 100, 4, cut, want, tgt, 2, K, sub, wl4, t4, v4, i4);
    for (int r = 0; r < R; r++) {
        double lse1, ent1, lse4, ent4;
        ls_softmax_merge(&one[r], 1, &lse1, &ent1);
        ls_softmax_merge(&sub[r * 4], 4, &lse4, &ent4);
        cr_assert(isfinite(lse4) && isfinite(ent4), "row %d: lse %g entropy %g", r, lse4, ent4);
        cr_assert_float_eq(lse4, lse1, 1e-5, "row %d: lse %.9g vs %.9g", r, lse4, lse1);
        cr_assert_float_eq(ent4, ent1, 1e-5, "row %d: entropy %.9g vs %.9g", r, ent4, ent1);
        cr_assert(sub[r * 4 + 1].s == 0.0 && sub[r * 4 + 1].m == -INFINITY, "empty sub-slice");
    }
    /* m: -inf, or -FLT_MAX where the compiler seeds OpenMP's max reduction with the least finite float */
    cr_assert(sub[3].m <= -FLT_MAX && sub[3].s == 0.0 && sub[3].w == 0.0,
              "all -inf sub-slice: m %g s %g w %g", sub[3].m, sub[3].s, sub[3].w);
    cr_assert(wl1[0] > -INFINITY && wl1[1] > -INFINITY && wl1[2] == -INFINITY, "wanted logits");
    cr_assert(!memcmp(wl1, wl4, sizeof wl1) && !memcmp(t1, t4, sizeof t1), "wanted / target logits differ");
    cr_assert(!memcmp(v1, v4, sizeof v1) && !memcmp(i1, i4, sizeof i1), "top-k differs");
    be->weight_free(be, &W);
    be->destroy(be);
}
