/* cpu_arch.c — CPU kernels of the operations Llama, Qwen3 and Gemma 3 add to
 * Qwen2's (ls/backend.h): scaling, row biases, per-head RMSNorm, the
 * GELU-tanh gated MLP, RoPE with given frequencies, logit soft-capping and
 * the sliding window of attention. fp32, as transformers computes them. */
#include <math.h>
#include <stdlib.h>

#include "cpu_arch.h"
#include "vexp.h"

static void cpu_scale(LsBackend *be, float *x, size_t n, float s) {
    (void)be;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++)
        x[i] *= s;
}

static void cpu_add_bias(LsBackend *be, float *y, const float *b, size_t T, size_t n) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < n; j++)
            y[t * n + j] += b[j];
}

static void cpu_head_rmsnorm(LsBackend *be, float *x, size_t ld, size_t T, int nheads, int hd, const float *g,
                             float eps) {
    (void)be;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++)
        for (int h = 0; h < nheads; h++) {
            float *v = x + t * ld + (size_t)h * (size_t)hd;
            float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
            for (int i = 0; i < hd; i++)
                ss += v[i] * v[i];
            /* as cpu_rmsnorm: x * rsqrt(mean(x^2) + eps), then weight * x */
            float r = 1.0f / sqrtf(ss / (float)hd + eps);
            for (int i = 0; i < hd; i++)
                v[i] = g[i] * (v[i] * r);
        }
}

static void cpu_gelu_tanh_mul(LsBackend *be, float *out, const float *gu, size_t T, size_t f) {
    (void)be;
    /* torch gelu(approximate="tanh"): 0.5 x (1 + tanh(y)), y = sqrt(2/pi) (x + 0.044715 x^3),
     * computed as x / (1 + e^(-2y)) (the same function; no cancellation in 1 + tanh(y) for x < 0)
     * with the vectorised exp */
    const float beta2 = 2.0f * 0.7978845608028654f, kappa = 0.044715f;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++) {
        const float *g = gu + t * 2 * f, *u = g + f;
        float *o = out + t * f;
#pragma omp simd
        for (size_t i = 0; i < f; i++) {
            const float x = g[i];
            o[i] = x / (1.0f + ls_vexpf(-beta2 * (x + kappa * x * x * x))) * u[i];
        }
    }
}

void ls_cpu_rope_apply(float *qk, size_t ld, const int32_t *pos, size_t T, int nheads, int hd,
                       const float *inv, float af) {
    const int half = hd / 2;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++) {
        float c[512], s[512]; /* hd <= 1024 checked at load */
        for (int i = 0; i < half; i++) {
            float a = (float)pos[t] * inv[i];
            c[i] = cosf(a) * af;
            s[i] = sinf(a) * af;
        }
        for (int h = 0; h < nheads; h++) {
            float *v = qk + t * ld + (size_t)h * hd;
            /* q*cos + rotate_half(q)*sin, rotate_half(x) = [-x2, x1] */
            for (int i = 0; i < half; i++) {
                float x1 = v[i], x2 = v[i + half];
                v[i] = x1 * c[i] - x2 * s[i];
                v[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

static void cpu_rope_freqs(LsBackend *be, float *qk, size_t ld, const int32_t *pos, size_t T, int nheads,
                           int hd, const float *inv_freq, float attn_factor) {
    (void)be;
    ls_cpu_rope_apply(qk, ld, pos, T, nheads, hd, inv_freq, attn_factor);
}

void ls_cpu_softcap(float *x, size_t n, float c) {
    /* transformers: x / c, tanh, * c (three fp32 roundings) */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        x[i] = tanhf(x[i] / c) * c;
}

int ls_cpu_attn_first_key(int last, const LsAttnShape *sh) {
    return sh->window > 0 && last - sh->window + 1 > 0 ? last - sh->window + 1 : 0;
}

void ls_cpu_arch_register(LsBackend *be) {
    be->scale = cpu_scale;
    be->add_bias = cpu_add_bias;
    be->head_rmsnorm = cpu_head_rmsnorm;
    be->gelu_tanh_mul = cpu_gelu_tanh_mul;
    be->rope_freqs = cpu_rope_freqs;
    be->features |= LS_FEAT_ATTN_WINDOW | LS_FEAT_ATTN_SCALE | LS_FEAT_HEAD_SOFTCAP;
}
