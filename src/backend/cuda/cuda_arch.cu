// cuda_arch.cu — CUDA kernels of the operations Llama, Qwen3 and Gemma 3 add
// to Qwen2's (ls/backend.h): scaling, row biases, per-head RMSNorm, the
// GELU-tanh gated MLP and RoPE with given inverse frequencies. fp32, the
// same arithmetic as src/backend/cpu/cpu_arch.c. Kernels run on the default
// stream, as the rest of the backend.
#include <cuda_runtime.h>
#include <math.h>

#include "cuda_arch.h"
#include "cuda_check.h"

static inline unsigned int arch_grid(size_t n, unsigned int block) {
    size_t g = (n + block - 1) / block;
    return (unsigned int)(g < 65535u * 16u ? (g ? g : 1) : 65535u * 16u);
}

#define ARCH_LAUNCH_CHECK() cudaSticky(ls_cuda_sticky(be), cudaGetLastError()) // the backend's sticky error

__global__ void arch_scale_kernel(float *x, size_t n, float s) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] *= s;
}

static void cu_scale(LsBackend *be, float *x, size_t n, float s) {
    (void)be;
    if (!n) return;
    arch_scale_kernel<<<arch_grid(n, 256), 256>>>(x, n, s);
    ARCH_LAUNCH_CHECK();
}

__global__ void arch_add_bias_kernel(float *y, const float *b, size_t T, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < T * n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += b[i % n];
}

static void cu_add_bias(LsBackend *be, float *y, const float *b, size_t T, size_t n) {
    (void)be;
    if (!T || !n) return;
    arch_add_bias_kernel<<<arch_grid(T * n, 256), 256>>>(y, b, T, n);
    ARCH_LAUNCH_CHECK();
}

// one warp per (token, head): v = g * (v * 1/sqrt(mean(v^2) + eps))
__global__ void arch_head_rmsnorm_kernel(float *x, size_t ld, int nheads, int hd, const float *g, float eps) {
    const size_t t = blockIdx.x / (unsigned)nheads, h = blockIdx.x % (unsigned)nheads;
    float *v = x + t * ld + h * (size_t)hd;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < hd; i += 32)
        ss += v[i] * v[i];
    for (int o = 16; o > 0; o /= 2)
        ss += __shfl_xor_sync(0xffffffffu, ss, o);
    const float r = 1.0f / sqrtf(ss / (float)hd + eps);
    for (int i = threadIdx.x; i < hd; i += 32)
        v[i] = g[i] * (v[i] * r);
}

static void cu_head_rmsnorm(LsBackend *be, float *x, size_t ld, size_t T, int nheads, int hd, const float *g,
                            float eps) {
    (void)be;
    if (!T || nheads <= 0) return;
    arch_head_rmsnorm_kernel<<<(unsigned int)(T * (size_t)nheads), 32>>>(x, ld, nheads, hd, g, eps);
    ARCH_LAUNCH_CHECK();
}

// torch gelu(approximate="tanh") of the gate times the up projection
__global__ void arch_gelu_tanh_mul_kernel(float *out, const float *gu, size_t T, size_t f) {
    const float beta = 0.7978845608028654f, kappa = 0.044715f;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < T * f;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t t = i / f, j = i % f;
        float x = gu[t * 2 * f + j], u = gu[t * 2 * f + f + j];
        out[i] = 0.5f * x * (1.0f + tanhf(beta * (x + kappa * x * x * x))) * u;
    }
}

static void cu_gelu_tanh_mul(LsBackend *be, float *out, const float *gu, size_t T, size_t f) {
    (void)be;
    if (!T || !f) return;
    arch_gelu_tanh_mul_kernel<<<arch_grid(T * f, 256), 256>>>(out, gu, T, f);
    ARCH_LAUNCH_CHECK();
}

// one block per token: cos/sin (times af) of pos * inv in shared memory, then
// the rotate_half rotation of the first nheads heads
__global__ void arch_rope_kernel(float *qk, size_t ld, const int32_t *pos, int nheads, int hd,
                                 const float *inv, float af) {
    extern __shared__ float cs[]; // [half] cos, [half] sin
    const int half = hd / 2;
    float *c = cs, *s = cs + half;
    const float p = (float)pos[blockIdx.x];
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float a = p * inv[i];
        c[i] = cosf(a) * af;
        s[i] = sinf(a) * af;
    }
    __syncthreads();
    float *row = qk + blockIdx.x * ld;
    for (int idx = threadIdx.x; idx < nheads * half; idx += blockDim.x) {
        int h = idx / half, i = idx % half;
        float *v = row + (size_t)h * hd;
        float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c[i] - x2 * s[i];
        v[i + half] = x2 * c[i] + x1 * s[i];
    }
}

static void cu_rope_freqs(LsBackend *be, float *qk, size_t ld, const int32_t *pos, size_t T, int nheads,
                          int hd, const float *inv_freq, float attn_factor) {
    (void)be;
    if (!T) return;
    arch_rope_kernel<<<(unsigned int)T, 128, (size_t)hd * sizeof(float)>>>(qk, ld, pos, nheads, hd, inv_freq,
                                                                           attn_factor);
    ARCH_LAUNCH_CHECK();
}

void ls_cuda_arch_register(LsBackend *be) {
    be->scale = cu_scale;
    be->add_bias = cu_add_bias;
    be->head_rmsnorm = cu_head_rmsnorm;
    be->gelu_tanh_mul = cu_gelu_tanh_mul;
    be->rope_freqs = cu_rope_freqs;
}
