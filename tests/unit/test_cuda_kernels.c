/* test_cuda_kernels.c — every operation of the CUDA backend against the CPU
 * backend (the fp32 reference) on random inputs, llm.c dev/cuda style: each
 * check prints max and mean |diff| and asserts a tolerance that fits the
 * precision of the GPU path (bf16 weights and GEMM inputs, fp32 elsewhere;
 * see src/backend/cuda/cuda_backend.cu). Then the forward pass + head
 * statistics on the oracle fixtures (transformers fp32) with the CUDA backend.
 *
 * Built always; every test skips with "no CUDA GPU visible: <reason>" when no
 * GPU is visible (or the binary was built without CUDA). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/backend.h"
#include "ls/forward.h"
#include "ls/metrics.h"
#include "ls/model.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static void fill(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++)
        x[i] = frand() * scale;
}

/* The CUDA backend in precision prec, with scratch reserved for the shapes
 * below (unless reserve is 0: the end-to-end tests reserve through
 * ls_forward_init), or skips the test when no GPU is visible. */
static LsBackend *cuda_prec_or_skip(LsPrecision prec, int reserve) {
    char why[256] = "";
    if (ls_cuda_device_count(why, sizeof why) <= 0) {
        cr_skip_test("no CUDA GPU visible: %s", why);
        return NULL;
    }
    LsError e = {{0}};
    LsBackend *be = ls_backend_create("cuda", 0, 1, prec, &e);
    cr_assert(be, "a CUDA GPU is visible but the CUDA backend failed: %s", e.msg);
    size_t rows = 0;
    LsBatchShape bs = {
        .tokens = 4096, .weight_elems = 0, .gemm_k = 1024, .vocab = 70000, .heads = 8, .head_dim = 640};
    if (reserve) cr_assert_eq(be->reserve(be, &bs, &rows, &e), LS_OK, "%s", e.msg);
    return be;
}
static LsBackend *cuda_or_skip(void) {
    return cuda_prec_or_skip(LS_PREC_BF16, 1);
}

/* After a test's operations: no sticky error recorded. */
static void expect_no_error(LsBackend *be) {
    LsError e = {{0}};
    cr_expect_eq(be->check(be, &e), LS_OK, "%s", e.msg);
}

static void *up(LsBackend *be, const void *h, size_t bytes) {
    LsError e = {{0}};
    void *d = be->alloc(be, bytes, &e);
    cr_assert(d, "%s", e.msg);
    if (h) be->to_device(be, d, h, bytes);
    return d;
}
static void down(LsBackend *be, void *h, const void *d, size_t bytes) {
    be->sync(be);
    be->to_host(be, h, d, bytes);
}

/* Prints max / mean |ref - got| and expects max <= tol (NaN counts as a failure). */
static double report(const char *what, const float *ref, const float *got, size_t n, double tol) {
    double mx = 0.0, sum = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)ref[i] - (double)got[i]);
        if (isinf(ref[i]) && ref[i] == got[i]) d = 0.0;
        if (isnan(d))
            bad++;
        else {
            if (d > mx) mx = d;
            sum += d;
        }
    }
    printf("%-44s max |diff| %.3e  mean |diff| %.3e  (n = %zu, tol %.1e)\n", what, mx,
           n ? sum / (double)n : 0.0, n, tol);
    cr_expect(bad == 0, "%s: %zu NaN differences", what, bad);
    cr_expect(mx <= tol, "%s: max |diff| %.3e > tol %.1e", what, mx, tol);
    return mx;
}

static double max_abs(const float *x, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(x[i]) > m) m = fabs(x[i]);
    return m;
}

/* An in-memory 2-D (or 1-D when cols == 0) tensor of the given dtype from floats. */
typedef struct {
    LsTensor t;
    void *buf;
} Tens;
static void tens_make(Tens *o, const char *name, LsDType dt, size_t rows, size_t cols, const float *v) {
    size_t n = rows * (cols ? cols : 1);
    memset(o, 0, sizeof *o);
    o->buf = malloc(n * ls_dtype_size(dt));
    for (size_t i = 0; i < n; i++) {
        if (dt == LS_DT_F32)
            ((float *)o->buf)[i] = v[i];
        else if (dt == LS_DT_BF16)
            ((uint16_t *)o->buf)[i] = ls_f32_to_bf16(v[i]);
        else
            ((uint16_t *)o->buf)[i] = ls_f32_to_f16(v[i]);
    }
    o->t.name = name;
    o->t.dtype = dt;
    o->t.ndim = cols ? 2 : 1;
    o->t.shape[0] = (int64_t)rows;
    o->t.shape[1] = (int64_t)cols;
    o->t.data = o->buf;
    o->t.nbytes = n * ls_dtype_size(dt);
    o->t.file = "(memory)";
}

/* ---- device selection ---------------------------------------------------- */

Test(cuda_backend, device_selection) {
    char why[256] = "";
    LsError e = {{0}};
    int n = ls_cuda_device_count(why, sizeof why);
    if (n <= 0) {
        /* the errors a user sees without a GPU */
        cr_assert_null(ls_backend_create("cuda", -1, 1, LS_PREC_FP32, &e));
        cr_assert(strstr(e.msg, "--device cuda") &&
                      (strstr(e.msg, "no usable CUDA GPU") || strstr(e.msg, "without CUDA")),
                  "%s", e.msg);
        cr_assert_null(ls_backend_cuda_create(0, &e));
        LsBackend *be = ls_backend_create("auto", -1, 1, LS_PREC_FP32, &e);
        cr_assert(be && !strcmp(be->name, "cpu"));
        be->destroy(be);
        cr_skip_test("no CUDA GPU visible: %s (checked the CPU fallback and the --device cuda error)", why);
        return;
    }
    LsBackend *be = ls_backend_create("auto", 0, 1, LS_PREC_BF16, &e);
    cr_assert(be, "%s", e.msg);
    cr_expect_str_eq(be->name, "cuda");
    be->destroy(be);
    cr_assert_null(ls_backend_cuda_create(n, &e), "device %d of %d must be refused", n, n);
}

/* ---- linear -------------------------------------------------------------- */

/* y = x W^T + b for a fused q/k/v-like weight of three slices (bf16 stored,
 * with bias) and for a column slice of an F32 / F16 weight (row-parallel). */
static void check_linear_prec(LsDType dt, int col_slice, LsPrecision prec) {
    LsBackend *g = cuda_prec_or_skip(prec, 1);
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(1);
    const size_t T = 37, k = 200, rows[3] = {48, 16, 16}, full_k = col_slice ? 333 : k,
                 col0 = col_slice ? 77 : 0;
    Tens w[3], b[3];
    LsWeightSlice sl[3];
    for (int i = 0; i < 3; i++) {
        size_t nr = rows[i] + 5; /* the slice starts at row 5 */
        float *v = malloc(nr * full_k * sizeof(float)), *bv = malloc(nr * sizeof(float));
        fill(v, nr * full_k, 0.2f);
        fill(bv, nr, 0.5f);
        tens_make(&w[i], "w", dt, nr, full_k, v);
        tens_make(&b[i], "b", dt, nr, 0, bv);
        free(v);
        free(bv);
        sl[i] = (LsWeightSlice){&w[i].t, col_slice ? NULL : &b[i].t, 5, rows[i], col0, k};
    }
    int ns = col_slice ? 1 : 3;
    LsError e = {{0}};
    LsWeight wc, wg;
    cr_assert_eq(c->weight_load(c, &wc, sl, ns, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(g->weight_load(g, &wg, sl, ns, &e), LS_OK, "%s", e.msg);
    size_t n = wc.n;
    float *x = malloc(T * k * sizeof(float)), *y0 = malloc(T * n * sizeof(float));
    float *yc = malloc(T * n * sizeof(float)), *yg = malloc(T * n * sizeof(float));
    fill(x, T * k, 1.0f);
    fill(y0, T * n, 1.0f);
    for (int acc = 0; acc < 2; acc++) {
        float *xc = up(c, x, T * k * 4), *xg = up(g, x, T * k * 4);
        float *dc = up(c, y0, T * n * 4), *dg = up(g, y0, T * n * 4);
        c->linear(c, dc, xc, &wc, T, acc);
        g->linear(g, dg, xg, &wg, T, acc);
        down(c, yc, dc, T * n * 4);
        down(g, yg, dg, T * n * 4);
        char what[128];
        snprintf(what, sizeof what, "linear %s %s%s%s [%zu x %zu] . [%zu x %zu]^T", ls_precision_name(prec),
                 ls_dtype_name(dt), col_slice ? " col-slice" : " fused+bias", acc ? " +=" : "", T, k, n, k);
        /* bf16: rounding of x (and of W unless stored bf16), relative to the output scale; fp32: summation
         * order alone */
        double tol = prec == LS_PREC_FP32 ? 1e-5 * (max_abs(yc, T * n) + 1.0)
                                          : (dt == LS_DT_BF16 ? 1e-2 : 2e-2) * (max_abs(yc, T * n) + 1.0);
        report(what, yc, yg, T * n, tol);
        c->free(c, xc), c->free(c, dc), g->free(g, xg), g->free(g, dg);
    }
    c->weight_free(c, &wc);
    g->weight_free(g, &wg);
    expect_no_error(g);
    for (int i = 0; i < 3; i++)
        free(w[i].buf), free(b[i].buf);
    free(x), free(y0), free(yc), free(yg);
    c->destroy(c);
    g->destroy(g);
}

static void check_linear(LsDType dt, int col_slice) {
    check_linear_prec(dt, col_slice, LS_PREC_BF16);
}

Test(cuda_kernels, linear_fp32_precision_f32_fused_bias) {
    check_linear_prec(LS_DT_F32, 0, LS_PREC_FP32);
}
Test(cuda_kernels, linear_fp32_precision_bf16_column_slice) {
    check_linear_prec(LS_DT_BF16, 1, LS_PREC_FP32);
}
Test(cuda_kernels, linear_bf16_fused_bias) {
    check_linear(LS_DT_BF16, 0);
}
Test(cuda_kernels, linear_f32_column_slice) {
    check_linear(LS_DT_F32, 1);
}
Test(cuda_kernels, linear_f16_fused_bias) {
    check_linear(LS_DT_F16, 0);
}

/* ---- elementwise / row-wise ---------------------------------------------- */

Test(cuda_kernels, rmsnorm) {
    LsBackend *g = cuda_or_skip();
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(1);
    const size_t T = 19, d = 333;
    float *x = malloc(T * d * 4), *w = malloc(d * 4), *yc = malloc(T * d * 4), *yg = malloc(T * d * 4);
    fill(x, T * d, 3.0f);
    fill(w, d, 1.0f);
    float *xc = up(c, x, T * d * 4), *xg = up(g, x, T * d * 4), *wc = up(c, w, d * 4), *wg = up(g, w, d * 4);
    float *oc = up(c, NULL, T * d * 4), *og = up(g, NULL, T * d * 4);
    c->rmsnorm(c, oc, xc, wc, T, d, 1e-6f);
    g->rmsnorm(g, og, xg, wg, T, d, 1e-6f);
    down(c, yc, oc, T * d * 4);
    down(g, yg, og, T * d * 4);
    report("rmsnorm [19 x 333]", yc, yg, T * d, 1e-5);
    c->free(c, xc), c->free(c, wc), c->free(c, oc), g->free(g, xg), g->free(g, wg), g->free(g, og);
    free(x), free(w), free(yc), free(yg);
    c->destroy(c);
    g->destroy(g);
}

Test(cuda_kernels, rope_positions_to_5000) {
    LsBackend *g = cuda_or_skip();
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(1);
    const int H = 7, Hkv = 1, hd = 12;
    const size_t T = 40, ld = (size_t)(H + 2 * Hkv) * hd;
    float *x = malloc(T * ld * 4), *yc = malloc(T * ld * 4), *yg = malloc(T * ld * 4);
    int32_t pos[40];
    for (size_t t = 0; t < T; t++)
        pos[t] = (int32_t)(t * 127 % 5003);
    fill(x, T * ld, 1.0f);
    float *xc = up(c, x, T * ld * 4), *xg = up(g, x, T * ld * 4);
    int32_t *pc = up(c, pos, sizeof pos), *pg = up(g, pos, sizeof pos);
    c->rope(c, xc, ld, pc, T, H + Hkv, hd, 1e6);
    g->rope(g, xg, ld, pg, T, H + Hkv, hd, 1e6);
    down(c, yc, xc, T * ld * 4);
    down(g, yg, xg, T * ld * 4);
    report("rope hd 12, theta 1e6 (q, k; v untouched)", yc, yg, T * ld, 2e-5);
    c->free(c, xc), c->free(c, pc), g->free(g, xg), g->free(g, pg);
    free(x), free(yc), free(yg);
    c->destroy(c);
    g->destroy(g);
}

Test(cuda_kernels, swiglu_add) {
    LsBackend *g = cuda_or_skip();
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(1);
    const size_t T = 13, f = 257;
    float *x = malloc(T * 2 * f * 4), *yc = malloc(T * f * 4), *yg = malloc(T * f * 4);
    fill(x, T * 2 * f, 6.0f);
    float *xc = up(c, x, T * 2 * f * 4), *xg = up(g, x, T * 2 * f * 4);
    float *oc = up(c, NULL, T * f * 4), *og = up(g, NULL, T * f * 4);
    c->swiglu(c, oc, xc, T, f);
    g->swiglu(g, og, xg, T, f);
    down(c, yc, oc, T * f * 4);
    down(g, yg, og, T * f * 4);
    report("swiglu [13 x 257]", yc, yg, T * f, 1e-5);
    c->add(c, oc, xc, T * f);
    g->add(g, og, xg, T * f);
    down(c, yc, oc, T * f * 4);
    down(g, yg, og, T * f * 4);
    report("add (3341 elements)", yc, yg, T * f, 1e-5);
    c->free(c, xc), c->free(c, oc), g->free(g, xg), g->free(g, og);
    free(x), free(yc), free(yg);
    c->destroy(c);
    g->destroy(g);
}

/* The operations of Llama / Qwen3 / Gemma 3 (src/backend/cuda/cuda_arch.cu) against the CPU's: on
 * a [T, ld] block shaped as fused q/k/v (H = 3 query heads, Hkv = 1, hd = 16), every op in turn. */
Test(cuda_kernels, arch_ops) {
    LsBackend *g = cuda_or_skip();
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(1);
    const int H = 3, Hkv = 1, hd = 16;
    const size_t T = 29, ld = (size_t)(H + 2 * Hkv) * hd, n = T * ld, f = ld / 2;
    float *x = malloc(n * 4), *w = malloc(ld * 4), *inv = malloc(hd / 2 * 4), *yc = malloc(n * 4),
          *yg = malloc(n * 4);
    int32_t pos[29];
    for (size_t t = 0; t < T; t++)
        pos[t] = (int32_t)(t * 331 % 9001);
    fill(x, n, 4.0f);
    fill(w, ld, 1.0f);
    for (int i = 0; i < hd / 2; i++)
        inv[i] = (float)(0.25 / pow(1e4, 2.0 * i / hd));
    float *xc = up(c, x, n * 4), *xg = up(g, x, n * 4), *wc = up(c, w, ld * 4), *wg = up(g, w, ld * 4);
    float *ic = up(c, inv, hd / 2 * 4), *ig = up(g, inv, hd / 2 * 4), *oc = up(c, NULL, n * 4),
          *og = up(g, NULL, n * 4);
    int32_t *pc = up(c, pos, sizeof pos), *pg = up(g, pos, sizeof pos);
    c->head_rmsnorm(c, xc, ld, T, H, hd, wc, 1e-6f);
    g->head_rmsnorm(g, xg, ld, T, H, hd, wg, 1e-6f);
    c->head_rmsnorm(c, xc + H * hd, ld, T, Hkv, hd, wc + hd, 1e-6f);
    g->head_rmsnorm(g, xg + H * hd, ld, T, Hkv, hd, wg + hd, 1e-6f);
    down(c, yc, xc, n * 4);
    down(g, yg, xg, n * 4);
    report("head_rmsnorm q, k heads of [29 x 80]", yc, yg, n, 1e-5);
    c->rope_freqs(c, xc, ld, pc, T, H + Hkv, hd, ic, 1.139f);
    g->rope_freqs(g, xg, ld, pg, T, H + Hkv, hd, ig, 1.139f);
    down(c, yc, xc, n * 4);
    down(g, yg, xg, n * 4);
    report("rope_freqs (scaled inv_freq, factor 1.139)", yc, yg, n, 3e-5);
    c->gelu_tanh_mul(c, oc, xc, T, f);
    g->gelu_tanh_mul(g, og, xg, T, f);
    down(c, yc, oc, T * f * 4);
    down(g, yg, og, T * f * 4);
    report("gelu_tanh_mul [29 x 40]", yc, yg, T * f, 1e-5);
    c->add_bias(c, xc, wc, T, ld);
    g->add_bias(g, xg, wg, T, ld);
    c->scale(c, xc, n, 25.298f);
    g->scale(g, xg, n, 25.298f);
    down(c, yc, xc, n * 4);
    down(g, yg, xg, n * 4);
    report("add_bias, then scale", yc, yg, n, 1e-3);
    c->free(c, xc), c->free(c, wc), c->free(c, ic), c->free(c, oc), c->free(c, pc);
    g->free(g, xg), g->free(g, wg), g->free(g, ig), g->free(g, og), g->free(g, pg);
    free(x), free(w), free(inv), free(yc), free(yg);
    c->destroy(c);
    g->destroy(g);
}

Test(cuda_kernels, embed_vocab_slice) {
    LsBackend *g = cuda_or_skip();
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(1);
    const size_t V = 200, d = 72, T = 64;
    const int64_t v0 = 100; /* this "rank" holds ids [100, 150) */
    float *w = malloc(V * d * 4), *yc = malloc(T * d * 4), *yg = malloc(T * d * 4);
    fill(w, V * d, 1.0f);
    Tens tw;
    tens_make(&tw, "embed", LS_DT_BF16, V, d, w);
    LsWeightSlice sl = {&tw.t, NULL, (size_t)v0, 50, 0, d};
    LsWeight ec, eg;
    LsError e = {{0}};
    cr_assert_eq(c->weight_load(c, &ec, &sl, 1, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(g->weight_load(g, &eg, &sl, 1, &e), LS_OK, "%s", e.msg);
    int32_t ids[64];
    for (size_t t = 0; t < T; t++)
        ids[t] = (int32_t)((t * 37) % V);
    int32_t *ic = up(c, ids, sizeof ids), *ig = up(g, ids, sizeof ids);
    float *oc = up(c, NULL, T * d * 4), *og = up(g, NULL, T * d * 4);
    c->embed(c, oc, ic, T, &ec, v0);
    g->embed(g, og, ig, T, &eg, v0);
    down(c, yc, oc, T * d * 4);
    down(g, yg, og, T * d * 4);
    report("embed (vocab slice, zero outside)", yc, yg, T * d, 0.0);
    c->free(c, ic), c->free(c, oc), g->free(g, ig), g->free(g, og);
    c->weight_free(c, &ec);
    g->weight_free(g, &eg);
    free(tw.buf), free(w), free(yc), free(yg);
    c->destroy(c);
    g->destroy(g);
}

/* ---- attention ----------------------------------------------------------- */

/* The bf16 tensor-core attention of the CUDA backend (precision bf16), emulated
 * on the CPU: q, k, v rounded to bf16, fp32 scores and softmax, P rounded to
 * bf16, fp32 accumulation of P V (the roundings of cuda_backend.cu's
 * attention_tc; cuBLAS's summation order aside). Naive loops: small tests only. */
static float bf(float x) {
    return ls_bf16_to_f32(ls_f32_to_bf16(x));
}
static void emu_attention_bf16(float *out, const float *qkv, size_t ld, const int32_t *off, int nseq,
                               const LsAttnShape *s) {
    const int hd = s->hd;
    const float scale = s->scale > 0 ? s->scale : 1.0f / sqrtf((float)hd);
    float *sc = malloc(((size_t)off[nseq] + 1) * sizeof(float));
    for (int q = 0; q < nseq; q++)
        for (int t = off[q]; t < off[q + 1]; t++)
            for (int h = 0; h < s->H; h++) {
                const int kvh = (s->q_head0 + h) / s->group - s->kv_head0;
                const float *qv = qkv + (size_t)t * ld + (size_t)h * hd;
                float m = -INFINITY, l = 0.0f;
                const int j0 = s->window > 0 && t - s->window + 1 > off[q] ? t - s->window + 1 : off[q];
                for (int j = j0; j <= t; j++) {
                    const float *kv = qkv + (size_t)j * ld + (size_t)(s->H + kvh) * hd;
                    float d = 0.0f;
                    for (int c = 0; c < hd; c++)
                        d += bf(qv[c]) * bf(kv[c]);
                    sc[j] = d * scale;
                    if (sc[j] > m) m = sc[j];
                }
                for (int j = j0; j <= t; j++)
                    l += expf(sc[j] - m);
                float *o = out + (size_t)t * s->H * hd + (size_t)h * hd;
                for (int c = 0; c < hd; c++)
                    o[c] = 0.0f;
                for (int j = j0; j <= t; j++) {
                    const float p = bf(expf(sc[j] - m) / l);
                    const float *vv = qkv + (size_t)j * ld + (size_t)(s->H + s->Hkv + kvh) * hd;
                    for (int c = 0; c < hd; c++)
                        o[c] += p * bf(vv[c]);
                }
            }
    free(sc);
}

/* bf16 attention vs the fp32 reference: max |diff| on inputs in [-2, 2),
 * measured by the emulation (attention_bf16_emulated) at <= ~1e-2 */
#define ATT_BF16_TOL 3e-2

/* Runs the CPU fp32 attention (the reference) and, on the GPU, the CUDA
 * backend's in precision fp32 (the fp32 kernel, 1e-4) and bf16 (the
 * tensor-core path, ATT_BF16_TOL); without a GPU, the bf16 emulation against
 * the reference (the tolerance is known to fit bf16 before a GPU runs it). */
static void check_attention(const char *what, const int *lens, int nseq, LsAttnShape s) {
    LsBackend *c = ls_backend_cpu_create(2);
    int32_t off[16] = {0};
    for (int i = 0; i < nseq; i++)
        off[i + 1] = off[i] + lens[i];
    const size_t T = (size_t)off[nseq], ld = (size_t)(s.H + 2 * s.Hkv) * s.hd, od = (size_t)s.H * s.hd;
    float *x = malloc(T * ld * 4), *yc = malloc(T * od * 4), *yg = malloc(T * od * 4);
    fill(x, T * ld, 2.0f);
    float *xc = up(c, x, T * ld * 4), *oc = up(c, NULL, T * od * 4);
    int32_t *sc = up(c, off, (size_t)(nseq + 1) * 4);
    c->attention(c, oc, xc, ld, sc, nseq, &s);
    down(c, yc, oc, T * od * 4);
    char buf[160];
    emu_attention_bf16(yg, x, ld, off, nseq, &s);
    snprintf(buf, sizeof buf, "%s bf16 emulated", what);
    report(buf, yc, yg, T * od, ATT_BF16_TOL);
    char why[256] = "";
    if (ls_cuda_device_count(why, sizeof why) <= 0) /* the emulation's verdict stands (no skip) */
        printf("%s: no CUDA GPU visible (%s): the bf16 emulation only\n", what, why);
    for (int prec = LS_PREC_FP32; prec <= LS_PREC_BF16 && why[0] == 0; prec++) {
        LsBackend *g = cuda_prec_or_skip((LsPrecision)prec, 1);
        if (!g) break;
        float *xg = up(g, x, T * ld * 4), *og = up(g, NULL, T * od * 4);
        int32_t *sg = up(g, off, (size_t)(nseq + 1) * 4);
        g->attention(g, og, xg, ld, sg, nseq, &s);
        down(g, yg, og, T * od * 4);
        snprintf(buf, sizeof buf, "%s cuda %s", what, ls_precision_name(g->precision));
        report(buf, yc, yg, T * od, prec == LS_PREC_FP32 ? 1e-4 : ATT_BF16_TOL);
        expect_no_error(g);
        g->free(g, xg), g->free(g, sg), g->free(g, og);
        g->destroy(g);
    }
    c->free(c, xc), c->free(c, sc), c->free(c, oc);
    free(x), free(yc), free(yg);
    c->destroy(c);
}

/* sequence lengths around the 32-row tiles, an empty one, one of length 1 */
static const int LENS[] = {1, 37, 5, 0, 70, 33, 64};

Test(cuda_kernels, attention_varlen_gqa7_hd12) {
    check_attention("attention varlen H7/Hkv1 hd12", LENS, 7, (LsAttnShape){7, 1, 12, 0, 0, 7, 0, 0});
}
Test(cuda_kernels, attention_varlen_gqa2_hd80) {
    check_attention("attention varlen H4/Hkv2 hd80", LENS, 7, (LsAttnShape){4, 2, 80, 0, 0, 2, 0, 0});
}
Test(cuda_kernels, attention_varlen_tp_rank_hd72) {
    /* rank 1 of 2 of a 6-head / 2-KV-head model: q heads 3..5 read KV heads 1 (local 0) */
    check_attention("attention varlen TP slice hd72", LENS, 7, (LsAttnShape){3, 1, 72, 3, 1, 3, 0, 0});
}
Test(cuda_kernels, attention_varlen_mha_hd128_long) {
    static const int lens[] = {300, 129, 1};
    check_attention("attention varlen H2/Hkv2 hd128 (300 tokens)", lens, 3,
                    (LsAttnShape){2, 2, 128, 0, 0, 1, 0, 0});
}
Test(cuda_kernels, attention_gqa_stacked_tp_hd64) {
    /* rank 1 of 2 of an 8-head / 2-KV-head model: whole groups of 4 (one GEMM per KV head) */
    static const int lens[] = {600, 3, 515};
    check_attention("attention H4/Hkv1 of 8/2 (stacked) hd64", lens, 3,
                    (LsAttnShape){4, 1, 64, 4, 1, 4, 0, 0});
}
Test(cuda_kernels, attention_fallback_hd640) {
    check_attention("attention varlen hd640 (fallback kernel)", LENS, 7,
                    (LsAttnShape){2, 1, 640, 0, 0, 2, 0, 0});
}

/* ---- head ---------------------------------------------------------------- */

static void check_head(size_t R, size_t V, size_t d, int K, const char *what) {
    LsBackend *g = cuda_or_skip();
    if (!g) return;
    LsBackend *c = ls_backend_cpu_create(2);
    const int64_t v0 = 1000;
    float *w = malloc(V * d * 4), *h = malloc(R * d * 4);
    fill(w, V * d, 0.5f);
    fill(h, R * d, 1.0f);
    for (size_t i = 0; i < d; i++)
        w[7 * d + i] = w[8 * d + i]; /* an exact tie: ids v0+7, v0+8 */
    Tens tw;
    tens_make(&tw, "lm_head", LS_DT_BF16, V, d, w);
    LsWeightSlice sl = {&tw.t, NULL, 0, V, 0, d};
    LsWeight wc, wg;
    LsError e = {{0}};
    cr_assert_eq(c->weight_load(c, &wc, &sl, 1, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(g->weight_load(g, &wg, &sl, 1, &e), LS_OK, "%s", e.msg);
    int32_t *want = malloc(R * 4),
            tgt[5] = {(int32_t)v0, (int32_t)(v0 + V - 1), 3, (int32_t)(v0 + V), (int32_t)(v0 + 8)};
    for (size_t r = 0; r < R; r++)
        want[r] = r % 5 == 4 ? -1 : (int32_t)(v0 + (int64_t)((r * 7919) % (V + 20)));
    float *hc = up(c, h, R * d * 4), *hg = up(g, h, R * d * 4);
    /* three uneven vocab sub-slices (the canonical slices of ls/forward.h) */
    const int NSL = 3;
    const size_t cut[4] = {0, V / 3, V / 2, V};
    LsSoftmaxPartial *pc = calloc(R * NSL, sizeof *pc), *pg = calloc(R * NSL, sizeof *pg);
    float *wlc = calloc(R, 4), *wlg = calloc(R, 4), *tc = calloc(R * 5, 4), *tg = calloc(R * 5, 4);
    float *vc = calloc(R * (size_t)K + 1, 4), *vg = calloc(R * (size_t)K + 1, 4);
    int32_t *ic = calloc(R * (size_t)K + 1, 4), *ig = calloc(R * (size_t)K + 1, 4);
    c->head_partials(c, hc, R, &wc, v0, NSL, cut, want, tgt, 5, K, pc, wlc, tc, vc, ic);
    g->head_partials(g, hg, R, &wg, v0, NSL, cut, want, tgt, 5, K, pg, wlg, tg, vg, ig);

    /* logits carry the bf16 rounding of h: tolerance on the logit scale */
    float *mc = malloc(R * 4), *mg = malloc(R * 4), *lc = malloc(R * 4), *lg = malloc(R * 4);
    float *ec = malloc(R * 4), *eg = malloc(R * 4);
    for (size_t r = 0; r < R; r++) {
        double lse, ent;
        ls_softmax_merge(&pc[r * NSL], NSL, &lse, &ent);
        mc[r] = (float)pc[r * NSL + 1].m, lc[r] = (float)lse, ec[r] = (float)ent;
        ls_softmax_merge(&pg[r * NSL], NSL, &lse, &ent);
        mg[r] = (float)pg[r * NSL + 1].m, lg[r] = (float)lse, eg[r] = (float)ent;
    }
    double tol = 2e-2;
    char buf[160];
    snprintf(buf, sizeof buf, "%s: max logit of a sub-slice", what);
    report(buf, mc, mg, R, tol);
    snprintf(buf, sizeof buf, "%s: log-sum-exp", what);
    report(buf, lc, lg, R, tol);
    snprintf(buf, sizeof buf, "%s: entropy", what);
    report(buf, ec, eg, R, tol);
    snprintf(buf, sizeof buf, "%s: wanted logit", what);
    report(buf, wlc, wlg, R, tol);
    snprintf(buf, sizeof buf, "%s: target logits", what);
    report(buf, tc, tg, R * 5, tol);
    if (K > 0) {
        snprintf(buf, sizeof buf, "%s: top-%d logits", what, K);
        report(buf, vc, vg, R * (size_t)K, tol);
        int checked = 0, skipped = 0;
        for (size_t r = 0; r < R; r++)
            for (int k = 0; k < K; k++) {
                size_t i = r * (size_t)K + k;
                double gp = k > 0 ? vc[i - 1] - vc[i] : INFINITY,
                       gn = k + 1 < K ? vc[i] - vc[i + 1] : INFINITY;
                if (isinf(vc[i]) || (gp > 2 * tol && gn > 2 * tol)) {
                    cr_expect_eq(ic[i], ig[i], "%s: row %zu top-%d id %d (cpu) vs %d (cuda)", what, r, k,
                                 ic[i], ig[i]);
                    checked++;
                } else {
                    skipped++;
                }
            }
        printf("%-44s ids checked %d, skipped for near-ties %d\n", what, checked, skipped);
        cr_expect(checked > 0);
    }
    /* ranks: counts above the same thresholds (the CPU's wanted logits) */
    for (size_t r = 0; r < R; r++)
        if (want[r] < 0) wlc[r] = INFINITY;
    int64_t *cc = calloc(R, 8), *cg = calloc(R, 8);
    c->head_count_greater(c, R, wlc, cc);
    g->head_count_greater(g, R, wlc, cg);
    int64_t worst = 0;
    for (size_t r = 0; r < R; r++) {
        int64_t dd = cc[r] > cg[r] ? cc[r] - cg[r] : cg[r] - cc[r];
        if (dd > worst) worst = dd;
    }
    printf("%-44s max |count diff| %lld of %zu\n", what, (long long)worst, V);
    cr_expect(worst <= 2 + (int64_t)(V / 100), "%s: counts above the wanted logit differ by %lld", what,
              (long long)worst);
    c->free(c, hc), g->free(g, hg);
    c->weight_free(c, &wc);
    g->weight_free(g, &wg);
    free(tw.buf), free(w), free(h), free(want), free(pc), free(pg), free(wlc), free(wlg), free(tc), free(tg);
    free(vc), free(vg), free(ic), free(ig), free(mc), free(mg), free(lc), free(lg), free(ec), free(eg),
        free(cc), free(cg);
    c->destroy(c);
    g->destroy(g);
}

Test(cuda_kernels, head_V3000_K64) {
    check_head(17, 3000, 96, 64, "head R17 V3000 d96");
}
Test(cuda_kernels, head_V50_smaller_than_K) {
    check_head(9, 50, 64, 64, "head R9 V50 K64");
}
Test(cuda_kernels, head_V70000_three_topk_rounds) {
    check_head(3, 70000, 64, 20, "head R3 V70000 K20");
}
Test(cuda_kernels, head_K0) {
    check_head(5, 2049, 32, 0, "head R5 V2049 K0");
}

/* ---- end to end: the oracle fixtures -------------------------------------- */

/* The test data folder: $LS_TEST_DIR (the GPU bundle sets it: bench/gpu/check.sh), else the source tree's. */
static const char *test_dir(void) {
    const char *d = getenv("LS_TEST_DIR");
    return d && *d ? d : LS_TEST_DIR;
}

static void e2e_run(LsBackend *g, const char *name) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/fixtures/%s", test_dir(), name);
    snprintf(path, sizeof path, "%s/reference.json", dir);
    json_error_t je;
    json_t *ref = json_load_file(path, 0, &je);
    cr_assert(ref, "%s: %s", path, je.text);
    int K = (int)json_integer_value(json_object_get(ref, "top_k"));
    json_t *tj = json_object_get(ref, "targets"), *seqs = json_object_get(ref, "sequences");
    int ntgt = (int)json_array_size(tj), nseq = (int)json_array_size(seqs);
    int32_t tgt[16], off[32] = {0}, ids[4096];
    for (int t = 0; t < ntgt; t++)
        tgt[t] = (int32_t)json_integer_value(json_array_get(tj, t));
    for (int s = 0; s < nseq; s++) {
        json_t *sid = json_object_get(json_array_get(seqs, s), "ids");
        off[s + 1] = off[s] + (int32_t)json_array_size(sid);
        for (size_t i = 0; i < json_array_size(sid); i++)
            ids[off[s] + i] = (int32_t)json_integer_value(json_array_get(sid, i));
    }
    LsError e = {{0}};
    LsModel m;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_OK, "%s", e.msg);
    LsForward f;
    cr_assert_eq(ls_forward_init(&f, &m, g, NULL, (size_t)off[nseq], &e), LS_OK, "%s", e.msg);
    for (int packed = 0; packed < 2; packed++) {
        double mx_lp = 0, sum_lp = 0, mx_ent = 0, sum_ent = 0, mx_tgt = 0;
        int n = 0, top1_same = 0;
        for (int s0 = 0; s0 < nseq; s0 += packed ? nseq : 1) {
            int ns = packed ? nseq : 1;
            int32_t o[32];
            for (int i = 0; i <= ns; i++)
                o[i] = off[s0 + i] - off[s0];
            LsPosStats st;
            ls_posstats_alloc(&st, (size_t)o[ns], K, ntgt);
            cr_assert_eq(ls_forward_batch(&f, ids + off[s0], o, ns, &e), LS_OK, "%s", e.msg);
            cr_assert_eq(ls_metrics_head(&f, ids + off[s0], o, ns, tgt, ntgt, K, &st, &e), LS_OK, "%s",
                         e.msg);
            for (int s = s0; s < s0 + ns; s++) {
                json_t *pos = json_object_get(json_array_get(seqs, s), "positions");
                for (size_t p = 0; p < json_array_size(pos); p++) {
                    json_t *r = json_array_get(pos, p);
                    size_t q = (size_t)(off[s] - off[s0]) + p;
                    if (json_is_null(r)) {
                        cr_expect(isnan(st.logprob[q]), "%s seq %d position %zu must be NaN", name, s, p);
                        continue;
                    }
                    double dl = fabs(st.logprob[q] - json_real_value(json_object_get(r, "logprob")));
                    double de = fabs(st.entropy[q] - json_real_value(json_object_get(r, "entropy")));
                    mx_lp = fmax(mx_lp, dl), sum_lp += dl, mx_ent = fmax(mx_ent, de), sum_ent += de;
                    json_t *tg = json_object_get(r, "targets");
                    for (int t = 0; t < ntgt; t++)
                        mx_tgt = fmax(mx_tgt, fabs(st.target_lp[q * ntgt + t] -
                                                   json_real_value(json_array_get(tg, t))));
                    int id0 = (int)json_integer_value(
                        json_array_get(json_array_get(json_object_get(r, "top"), 0), 0));
                    top1_same += K > 0 && st.top_ids[q * K] == id0;
                    n++;
                }
            }
            ls_posstats_free(&st);
        }
        printf("e2e %-24s %-6s %s vs transformers fp32: |d logprob| max %.3e mean %.3e, |d entropy| max %.3e "
               "mean %.3e, |d target| max %.3e, top-1 agrees %d/%d\n",
               name, packed ? "packed" : "alone", g->name, mx_lp, sum_lp / (n ? n : 1), mx_ent,
               sum_ent / (n ? n : 1), mx_tgt, top1_same, n);
        /* Bounds from the bf16 emulation on the CPU (cpu_bf16_emulated_forward, measured on these fixtures:
         * |d logprob| max 0.62 mean 0.10, |d entropy| max 0.21, |d target| max 0.86, top-1 >= 107/110). The
         * error is dominated by rounding the decoder GEMMs' activation inputs to bf16 (alone: max 0.51, mean
         * 0.06), then by rounding F32/F16-stored weights to bf16; the head's bf16 input alone gives max 0.06.
         */
        cr_expect(n > 0);
        if (g->precision == LS_PREC_FP32 && strcmp(g->name, "cpu-bf16-emulated")) {
            /* fp32: the CPU path's contract */
            cr_expect(mx_lp <= 1e-4, "%s: max |d logprob| %.3e > 1e-4 (fp32)", name, mx_lp);
            cr_expect(mx_ent <= 1e-4, "%s: max |d entropy| %.3e > 1e-4 (fp32)", name, mx_ent);
            cr_expect(mx_tgt <= 1e-4, "%s: max |d target log-prob| %.3e > 1e-4 (fp32)", name, mx_tgt);
            continue;
        }
        cr_expect(sum_lp / n <= 0.15, "%s: mean |d logprob| %.3e > 0.15 (bf16 path)", name, sum_lp / n);
        cr_expect(mx_lp <= 1.0, "%s: max |d logprob| %.3e > 1.0 (bf16 path)", name, mx_lp);
        cr_expect(mx_ent <= 0.4, "%s: max |d entropy| %.3e > 0.4 (bf16 path)", name, mx_ent);
        cr_expect(mx_tgt <= 1.5, "%s: max |d target log-prob| %.3e > 1.5 (bf16 path)", name, mx_tgt);
        cr_expect(top1_same >= n * 95 / 100, "%s: top-1 agrees at %d of %d positions", name, top1_same, n);
    }
    ls_forward_free(&f);
    expect_no_error(g);
    g->destroy(g);
    ls_model_close(&m);
    json_decref(ref);
}

static void e2e(const char *name) {
    LsBackend *g = cuda_prec_or_skip(LS_PREC_BF16, 0);
    if (!g) return;
    e2e_run(g, name);
}
static void e2e_fp32(const char *name) {
    LsBackend *g = cuda_prec_or_skip(LS_PREC_FP32, 0);
    if (!g) return;
    e2e_run(g, name);
}

/* The CPU backend with the GPU path's roundings (weights and GEMM inputs to
 * bf16, everything else fp32): runs without a GPU and shows the error the
 * bf16 path is expected to have against transformers fp32, so the bound the
 * cuda_forward tests assert is known to fit bf16 noise. */
static LsBackend cpu_ops;
static void round_bf16(float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = ls_bf16_to_f32(ls_f32_to_bf16(x[i]));
}
/* loads the slices from fp32 copies of their tensors rounded to bf16 (the CPU
 * backend copies weights stored fp32 at load, so the copies can go after) */
static int em_weight_load(LsBackend *be, LsWeight *out, const LsWeightSlice *sl, int ns, LsError *e) {
    LsWeightSlice rs[4];
    LsTensor rt[4];
    cr_assert(ns <= 4);
    for (int i = 0; i < ns; i++) {
        size_t cnt = (size_t)sl[i].w->shape[0] * (size_t)sl[i].w->shape[1];
        float *d = malloc(cnt * sizeof(float));
        ls_tensor_to_f32(sl[i].w, 0, cnt, d);
        round_bf16(d, cnt);
        rt[i] = *sl[i].w;
        rt[i].dtype = LS_DT_F32;
        rt[i].data = d;
        rt[i].nbytes = cnt * sizeof(float);
        rs[i] = sl[i];
        rs[i].w = &rt[i];
    }
    int rc = cpu_ops.weight_load(be, out, rs, ns, e);
    for (int i = 0; i < ns; i++)
        free((void *)rt[i].data);
    return rc;
}
static void em_linear(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, int acc) {
    float *xb = malloc(T * w->k * sizeof(float) + 1);
    memcpy(xb, x, T * w->k * sizeof(float));
    round_bf16(xb, T * w->k);
    cpu_ops.linear(be, y, xb, w, T, acc);
    free(xb);
}
static void em_head_partials(LsBackend *be, const float *h, size_t R, const LsWeight *W, int64_t v0, int nsl,
                             const size_t *cut, const int32_t *want_ids, const int32_t *tgt_ids, int ntgt,
                             int K, LsSoftmaxPartial *part, float *want, float *tgt, float *topv,
                             int32_t *topi) {
    float *hb = malloc(R * W->k * sizeof(float) + 1);
    memcpy(hb, h, R * W->k * sizeof(float));
    round_bf16(hb, R * W->k);
    cpu_ops.head_partials(be, hb, R, W, v0, nsl, cut, want_ids, tgt_ids, ntgt, K, part, want, tgt, topv,
                          topi);
    free(hb);
}
static void em_attention(LsBackend *be, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                         int nseq, const LsAttnShape *s) {
    (void)be;
    emu_attention_bf16(out, qkv, ld, seq_off, nseq, s);
}
static void bf16_emulated(const char *name) {
    LsBackend *c = ls_backend_cpu_create(2);
    cpu_ops = *c;
    c->name = "cpu-bf16-emulated";
    c->weight_load = em_weight_load;
    c->linear = em_linear;
    c->attention = em_attention;
    c->linear_cols = NULL; /* as the CUDA backend: one GEMM per row-parallel layer (ls/forward.h) */
    c->head_partials = em_head_partials;
    e2e_run(c, name);
}

Test(cpu_bf16_emulated_forward, llama_linear_rope_biases) {
    bf16_emulated("llama-tiny-linear-bias");
}
Test(cpu_bf16_emulated_forward, llama_yarn) {
    bf16_emulated("llama-tiny-yarn");
}
Test(cpu_bf16_emulated_forward, qwen3_qk_norm_head_dim) {
    bf16_emulated("qwen3-tiny-tied");
}
Test(cpu_bf16_emulated_forward, tied_fp32) {
    bf16_emulated("qwen2-tiny-tied");
}
Test(cpu_bf16_emulated_forward, untied_gqa2_fp32) {
    bf16_emulated("qwen2-tiny-untied");
}
Test(cpu_bf16_emulated_forward, gqa7_headdim12_bf16) {
    bf16_emulated("qwen2-tiny-gqa7-bf16");
}
Test(cpu_bf16_emulated_forward, sharded_f16) {
    bf16_emulated("qwen2-tiny-sharded-f16");
}

Test(cuda_forward, tied_fp32) {
    e2e("qwen2-tiny-tied");
}
Test(cuda_forward, untied_gqa2_fp32) {
    e2e("qwen2-tiny-untied");
}
Test(cuda_forward, gqa7_headdim12_bf16) {
    e2e("qwen2-tiny-gqa7-bf16");
}
/* Llama (yarn RoPE, biases), Qwen3 (q/k norms) and Gemma 3 (sliding window, attention scale, soft-capping)
 * on the GPU */
Test(cuda_forward, llama_linear_rope_biases) {
    e2e("llama-tiny-linear-bias");
}
Test(cuda_forward, llama_yarn) {
    e2e("llama-tiny-yarn");
}
Test(cuda_forward, qwen3_qk_norm_head_dim) {
    e2e("qwen3-tiny-tied");
}
Test(cuda_forward, sharded_f16) {
    e2e("qwen2-tiny-sharded-f16");
}

/* precision fp32 on the GPU: within 1e-4 of transformers fp32, as the CPU */
Test(cuda_forward_fp32, tied_fp32) {
    e2e_fp32("qwen2-tiny-tied");
}
Test(cuda_forward_fp32, untied_gqa2_fp32) {
    e2e_fp32("qwen2-tiny-untied");
}
Test(cuda_forward_fp32, gqa7_headdim12_bf16) {
    e2e_fp32("qwen2-tiny-gqa7-bf16");
}
Test(cuda_forward_fp32, sharded_f16) {
    e2e_fp32("qwen2-tiny-sharded-f16");
}

/* Errors never abort: an operation past the reserved scratch is recorded as
 * the sticky error (file:line and what), later operations are skipped, and
 * check() returns it. */
Test(cuda_backend, sticky_error_not_abort) {
    LsBackend *g = cuda_prec_or_skip(LS_PREC_BF16, 0);
    if (!g) return;
    LsError e = {{0}};
    size_t rows = 0;
    LsBatchShape bs = {.tokens = 8, .weight_elems = 0, .gemm_k = 64, .vocab = 100};
    cr_assert_eq(g->reserve(g, &bs, &rows, &e), LS_OK, "%s", e.msg);
    cr_expect_eq(rows, 8);
    float *x = up(g, NULL, 64 * 128 * 4), *y = up(g, NULL, 64 * 128 * 4);
    float *w = calloc(128 * 128, 4);
    Tens tw;
    tens_make(&tw, "w", LS_DT_F32, 128, 128, w);
    LsWeightSlice sl = {&tw.t, NULL, 0, 128, 0, 128};
    LsWeight wg;
    cr_assert_eq(g->weight_load(g, &wg, &sl, 1, &e), LS_OK, "%s", e.msg);
    cr_expect_eq(g->check(g, &e), LS_OK, "%s", e.msg);
    g->linear(g, y, x, &wg, 64, 0); /* 64 tokens x 128 columns: past the reserved 8 x 64 */
    g->add(g, y, x, 64);
    cr_expect_eq(g->check(g, &e), LS_ERR);
    printf("sticky error: %s\n", e.msg);
    cr_expect(strstr(e.msg, "reserved for batch_tokens=8") != NULL, "%s", e.msg);
    cr_expect_eq(g->check(g, &e), LS_ERR, "the error stays");
    g->weight_free(g, &wg);
    g->free(g, x), g->free(g, y);
    free(w), free(tw.buf);
    g->destroy(g);
}

/* Two models on one backend (compare): a second reserve grows the shared scratch. */
Test(cuda_backend, reserve_twice_grows) {
    LsBackend *g = cuda_prec_or_skip(LS_PREC_BF16, 0);
    if (!g) return;
    LsError e = {{0}};
    size_t rows = 0;
    LsBatchShape small = {.tokens = 8, .gemm_k = 64, .vocab = 100, .heads = 2, .head_dim = 32};
    LsBatchShape big = {.tokens = 64, .gemm_k = 128, .vocab = 100, .heads = 2, .head_dim = 32};
    cr_assert_eq(g->reserve(g, &small, &rows, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(g->reserve(g, &big, &rows, &e), LS_OK, "%s", e.msg);
    cr_expect_eq(rows, 64);
    float *x = up(g, NULL, 64 * 128 * 4), *y = up(g, NULL, 64 * 128 * 4);
    float *w = calloc(128 * 128, 4);
    Tens tw;
    tens_make(&tw, "w", LS_DT_F32, 128, 128, w);
    LsWeightSlice sl = {&tw.t, NULL, 0, 128, 0, 128};
    LsWeight wg;
    cr_assert_eq(g->weight_load(g, &wg, &sl, 1, &e), LS_OK, "%s", e.msg);
    g->linear(g, y, x, &wg, 64, 0); /* fits the grown scratch */
    expect_no_error(g);
    g->weight_free(g, &wg);
    g->free(g, x), g->free(g, y);
    free(w), free(tw.buf);
    g->destroy(g);
}

/* The CUDA top-k's algorithm (topk_chunk_kernel rounds), emulated on the CPU:
 * chunks of 2048 values, K selections per chunk (largest value, ties to the
 * lower id), the chunks' winners selected again until one chunk is left;
 * against a plain full sort of the row. */
#define EMU_TOPK_CHUNK 2048
static int before(float av, int32_t ai, float bv, int32_t bi) {
    return av > bv || (av == bv && ai < bi);
}
static void emu_topk_round(const float *v, const int32_t *id, size_t n, int K, float *ov, int32_t *oi) {
    for (size_t c = 0; c * EMU_TOPK_CHUNK < n; c++) {
        float sv[EMU_TOPK_CHUNK];
        int32_t si[EMU_TOPK_CHUNK];
        for (size_t i = 0; i < EMU_TOPK_CHUNK; i++) {
            size_t g = c * EMU_TOPK_CHUNK + i;
            sv[i] = g < n ? v[g] : -INFINITY;
            si[i] = g < n ? id[g] : INT32_MAX;
        }
        for (int k = 0; k < K; k++) {
            size_t best = 0;
            for (size_t i = 1; i < EMU_TOPK_CHUNK; i++)
                if (before(sv[i], si[i], sv[best], si[best])) best = i;
            ov[c * K + k] = sv[best], oi[c * K + k] = si[best];
            sv[best] = -INFINITY, si[best] = INT32_MAX;
        }
    }
}
static int cmp_desc(const void *a, const void *b) {
    const float *x = a, *y = b; /* pairs (value, id as float bits) */
    int32_t xi, yi;
    memcpy(&xi, x + 1, 4), memcpy(&yi, y + 1, 4);
    return before(x[0], xi, y[0], yi) ? -1 : before(y[0], yi, x[0], xi) ? 1 : 0;
}
Test(cuda_kernels, topk_selection_emulated) {
    const size_t V = 70000;
    const int K = 20;
    float *v = malloc(V * 4), *pairs = malloc(V * 8);
    int32_t *id = malloc(V * 4);
    fill(v, V, 4.0f);
    for (size_t i = 0; i < V; i++) {
        if (i % 97 == 0) v[i] = 3.9990234f; /* many exact ties near the top */
        id[i] = (int32_t)(1000 + i);
        pairs[2 * i] = v[i];
        memcpy(&pairs[2 * i + 1], &id[i], 4);
    }
    qsort(pairs, V, 8, cmp_desc);
    size_t n = V, nch;
    float *iv = v;
    int32_t *ii = id;
    for (;;) {
        nch = (n + EMU_TOPK_CHUNK - 1) / EMU_TOPK_CHUNK;
        float *ov = malloc(nch * K * 4);
        int32_t *oi = malloc(nch * K * 4);
        emu_topk_round(iv, ii, n, K, ov, oi);
        if (iv != v) free(iv), free(ii);
        iv = ov, ii = oi, n = nch * (size_t)K;
        if (nch == 1) break;
    }
    int same = 0;
    for (int k = 0; k < K; k++) {
        int32_t want;
        memcpy(&want, &pairs[2 * k + 1], 4);
        same += ii[k] == want && iv[k] == pairs[2 * k];
    }
    printf("top-%d by chunked selection (V %zu, ties): %d of %d match a full sort\n", K, V, same, K);
    cr_expect_eq(same, K);
    free(iv), free(ii), free(v), free(pairs), free(id);
}

Test(cuda_forward, gemma3_tiny_kv1_window) {
    e2e("gemma3-tiny-kv1-window");
}
Test(cuda_forward_fp32, gemma3_tiny_kv1_window) {
    e2e_fp32("gemma3-tiny-kv1-window");
}
Test(cpu_bf16_emulated_forward, gemma3_tiny_kv1_window) {
    bf16_emulated("gemma3-tiny-kv1-window");
}
Test(cuda_forward, gemma3_tiny_softcap_bf16) {
    e2e("gemma3-tiny-softcap-bf16");
}
Test(cuda_forward_fp32, gemma3_tiny_softcap_bf16) {
    e2e_fp32("gemma3-tiny-softcap-bf16");
}
Test(cpu_bf16_emulated_forward, gemma3_tiny_softcap_bf16) {
    bf16_emulated("gemma3-tiny-softcap-bf16");
}
Test(cuda_forward_fp32, llama_tiny_linear_bias) {
    e2e_fp32("llama-tiny-linear-bias");
}
Test(cuda_forward_fp32, llama_tiny_yarn) {
    e2e_fp32("llama-tiny-yarn");
}
Test(cuda_forward_fp32, qwen3_tiny_tied) {
    e2e_fp32("qwen3-tiny-tied");
}

Test(cuda_kernels, attention_sliding_window_scale) {
    static const int lens[] = {1, 37, 600, 0, 70};
    LsAttnShape s = {4, 2, 64, 0, 0, 2, 16, 0.1f}; /* window 16, scale 0.1 (Gemma 3's local layers) */
    check_attention("attention window 16, scale 0.1, H4/Hkv2 hd64", lens, 5, s);
}
Test(cuda_forward, llama_tiny_kv1_tied) {
    e2e("llama-tiny-kv1-tied");
}
Test(cuda_forward_fp32, llama_tiny_kv1_tied) {
    e2e_fp32("llama-tiny-kv1-tied");
}
Test(cuda_forward, llama_tiny_llama3_bf16) {
    e2e("llama-tiny-llama3-bf16");
}
Test(cuda_forward_fp32, llama_tiny_llama3_bf16) {
    e2e_fp32("llama-tiny-llama3-bf16");
}
Test(cuda_forward, qwen3_tiny_kv1_yarn) {
    e2e("qwen3-tiny-kv1-yarn");
}
Test(cuda_forward_fp32, qwen3_tiny_kv1_yarn) {
    e2e_fp32("qwen3-tiny-kv1-yarn");
}
