// cuda_backend.cu — the CUDA backend (LsBackend for NVIDIA GPUs), the GPU
// twin of src/backend/cpu/cpu_backend.c (the fp32 reference every kernel here
// is tested against: tests/unit/test_cuda_kernels.c).
//
// Precision (DESIGN §5, "the GPU bf16 path within bf16 noise"):
//   * weights are converted once, at load, to bf16 on the device (from
//     BF16 / F16 / F32 as stored; F16 and F32 weights lose mantissa bits);
//   * activations are fp32 everywhere; for a GEMM the activation operand is
//     rounded to bf16 (a conversion kernel into a scratch buffer) and the GEMM
//     runs on tensor cores with fp32 accumulation and fp32 output
//     (cublasGemmEx, A/B CUDA_R_16BF, C CUDA_R_32F, CUBLAS_COMPUTE_32F);
//     biases are added in fp32;
//   * RMSNorm, RoPE (fp32 angle = pos * inv_freq, inv_freq computed on the host
//     exactly as the CPU backend does), attention (fp32 scores, online softmax,
//     fp32 accumulation), SwiGLU and the head's log-sum-exp / entropy sums are
//     fp32 (per-thread Kahan sums combined in fp64), as on the CPU.
//   So the differences from the CPU path are the bf16 rounding of weights and
//   of GEMM inputs; the head logits carry the same rounding. Measured by the
//   CPU emulation of exactly these roundings (tests/unit/test_cuda_kernels.c,
//   cpu_bf16_emulated_forward) on the tiny oracle fixtures against
//   transformers fp32: |d log-prob| mean 0.06-0.10, max 0.25-0.62 nats; the
//   decoder GEMMs' bf16 activation inputs dominate (a bf16-stored model with
//   fp32 activations would be within 3e-5), F32/F16 weights rounded to bf16
//   come next, the head's bf16 input alone gives max 0.06. If that is too
//   coarse, the cheap lever is splitting each activation into two bf16 terms
//   (hi + lo, two GEMMs with fp32 accumulation: 2x GEMM time).
//
// Streams: every operation runs on the legacy default stream (0), the stream
// the cuBLAS handle uses and the one the NCCL communicator (comm_nccl.cu)
// synchronises with, so no explicit cross-stream events are needed.
//
// Memory: alloc/free are cudaMalloc/cudaFree; to_device/to_host are
// synchronous cudaMemcpy. Scratch buffers (bf16 activations, head logits
// [R, V_local], top-k candidates) grow on demand; a failed growth inside an
// operation without an error return is fatal (message with size + "lower
// batch_tokens", then abort), like ls_malloc.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "ls/backend.h"
}
#include "cuda_arch.h"
#include "cuda_check.h"

// ---------------------------------------------------------------------------
// context

#define STAGE_BYTES ((size_t)16 << 20) // each of the two pinned / device staging buffers
#define TOPK_CHUNK 2048                // elements sorted per block by the top-k kernel
#define ATT_BR 32                      // query rows per attention block (8 warps x 4 rows)
#define ATT_BC 32                      // keys per attention tile (one per lane)
#define ATT_ROWS_PER_WARP 4

typedef struct {
    int device;
    cublasHandle_t blas;
    size_t smem_optin; // max dynamic shared memory per block
    // weight staging: two pinned host buffers and two raw device buffers
    void *stage_h[2], *stage_d[2];
    cudaEvent_t stage_ev[2];
    int stage_next;
    // scratch
    __nv_bfloat16 *xb; // bf16 copy of a GEMM's activation operand
    size_t xb_cap;     // elements
    float *logits;     // head logits [R, V] of the last head_partials call
    size_t logits_cap;
    size_t last_R, last_V;
    void *cand; // top-k candidates, two ping-pong halves of float + int32
    size_t cand_cap;
    void *hout; // head outputs on the device: partials, want, tgt, topv, topi
    size_t hout_cap;
    int32_t *hin; // head inputs: want ids [R], target ids [ntgt], thresholds
    size_t hin_cap;
    float *inv_freq; // rope: inv_freq [hd / 2] for (inv_theta, inv_hd)
    double inv_theta;
    int inv_hd;
} CudaCtx;

// Grows a device scratch buffer to at least `bytes`; fatal on failure.
static void scratch_reserve(void **p, size_t *cap, size_t bytes, const char *what) {
    if (*cap >= bytes) return;
    if (*p) cudaCheckFatal(cudaFree(*p));
    *p = NULL;
    *cap = 0;
    cudaError_t err = cudaMalloc(p, bytes);
    if (err != cudaSuccess) {
        ls_warn("cuda backend: cannot allocate %.1f MiB of GPU memory for %s (%s); lower batch_tokens\n",
                (double)bytes / 1048576.0, what, cudaGetErrorString(err));
        abort();
    }
    *cap = bytes;
}

static inline unsigned int grid_for(size_t n, unsigned int block) {
    size_t g = (n + block - 1) / block;
    return (unsigned int)(g < 65535u * 16u ? (g ? g : 1) : 65535u * 16u);
}

#define LAUNCH_CHECK() cudaCheckFatal(cudaGetLastError())

// ---------------------------------------------------------------------------
// reductions

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide reductions for blockDim.x a multiple of 32 (<= 1024); every
// thread gets the result. `sh` is 32 entries of shared memory.
__device__ float block_sum(float v, float *sh) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0f;
    return warp_sum(v);
}
__device__ double block_sum_d(double v, double *sh) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum_d(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0;
    return warp_sum_d(v);
}
__device__ float block_max(float v, float *sh) {
    int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) sh[w] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : -INFINITY;
    return warp_max(v);
}

// ---------------------------------------------------------------------------
// memory

static void *cu_alloc(LsBackend *be, size_t bytes, LsError *e) {
    (void)be;
    void *p = NULL;
    cudaError_t err = cudaMalloc(&p, bytes ? bytes : 256);
    if (err != cudaSuccess) {
        cudaGetLastError(); // clear the (non-sticky) allocation error
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        ls_fail(
            e,
            "cuda backend: cannot allocate %zu bytes (%.1f MiB) of GPU memory (%s; %.1f of %.1f GiB free); "
            "lower batch_tokens",
            bytes, (double)bytes / 1048576.0, cudaGetErrorString(err), (double)fr / 1073741824.0,
            (double)tot / 1073741824.0);
        return NULL;
    }
    return p;
}

static void cu_free(LsBackend *be, void *p) {
    (void)be;
    if (p) cudaCheckFatal(cudaFree(p));
}

static void cu_to_device(LsBackend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) cudaCheckFatal(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void cu_to_host(LsBackend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) cudaCheckFatal(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

static void cu_sync(LsBackend *be) {
    (void)be;
    cudaCheckFatal(cudaDeviceSynchronize());
}

// ---------------------------------------------------------------------------
// weights: stored dtype -> bf16, slice by slice through pinned staging

// dst [n] bf16 <- src [n] of the stored dtype (raw little-endian bytes)
__global__ void convert_to_bf16_kernel(__nv_bfloat16 *dst, const void *src, size_t n, int dtype) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        if (dtype == LS_DT_F32)
            dst[i] = __float2bfloat16_rn(((const float *)src)[i]);
        else if (dtype == LS_DT_F16)
            dst[i] = __float2bfloat16_rn(__half2float(((const __half *)src)[i]));
        else
            dst[i] = ((const __nv_bfloat16 *)src)[i];
    }
}

static int stage_init(CudaCtx *cx, LsError *e) {
    if (cx->stage_h[0]) return LS_OK;
    for (int i = 0; i < 2; i++) {
        cudaCheck(e, cudaMallocHost(&cx->stage_h[i], STAGE_BYTES));
        cudaCheck(e, cudaMalloc(&cx->stage_d[i], STAGE_BYTES));
        cudaCheck(e, cudaEventCreateWithFlags(&cx->stage_ev[i], cudaEventDisableTiming));
        cudaCheck(e, cudaEventRecord(cx->stage_ev[i], 0));
    }
    return LS_OK;
}

static int cu_weight_load(LsBackend *be, LsWeight *out, const LsWeightSlice *sl, int ns, LsError *e) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    memset(out, 0, sizeof *out);
    size_t n, k;
    int has_bias;
    if (ls_weight_slices_check(sl, ns, "cuda", &n, &k, &has_bias, e)) return LS_ERR;
    if (stage_init(cx, e)) return ls_fail_prefix(e, "cuda backend: weight staging buffers");
    size_t bytes;
    if (ls_mul_size(n, k, &bytes) || ls_mul_size(bytes, sizeof(__nv_bfloat16), &bytes))
        return ls_fail(e, "cuda backend: weight %s too large", sl[0].w->name);
    __nv_bfloat16 *w = NULL;
    cudaError_t err = cudaMalloc(&w, bytes ? bytes : 256);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return ls_fail(
            e,
            "cuda backend: cannot allocate %.1f MiB of GPU memory for weight %s [%zu, %zu] bf16 (%s); "
            "the model does not fit: use more tensor-parallel ranks (lower batch_tokens frees "
            "activations only)",
            (double)bytes / 1048576.0, sl[0].w->name, n, k, cudaGetErrorString(err));
    }
    float *b = NULL;
    if (has_bias) {
        float *hb = (float *)ls_malloc(n * sizeof(float));
        size_t r = 0;
        for (int i = 0; i < ns; i++) {
            ls_tensor_to_f32(sl[i].b, sl[i].row0, sl[i].nrows, hb + r);
            r += sl[i].nrows;
        }
        err = cudaMalloc(&b, n * sizeof(float));
        if (err == cudaSuccess) err = cudaMemcpy(b, hb, n * sizeof(float), cudaMemcpyHostToDevice);
        free(hb);
        if (err != cudaSuccess) {
            cudaFree(w);
            if (b) cudaFree(b);
            return ls_fail(e, "cuda backend: bias of %s: %s", sl[0].w->name, cudaGetErrorString(err));
        }
    }
    // rows of each slice, in blocks that fit a staging buffer: memcpy from the
    // mmapped file into pinned memory, async copy to the device, convert into
    // place; the other buffer is filled meanwhile (an event guards each)
    size_t r = 0;
    for (int i = 0; i < ns; i++) {
        const LsTensor *t = sl[i].w;
        size_t esz = ls_dtype_size(t->dtype), cols = (size_t)t->shape[1], rowb = k * esz;
        if (rowb > STAGE_BYTES) {
            cudaFree(w);
            cudaFree(b);
            return ls_fail(e, "cuda backend: rows of %s (%zu bytes) exceed the staging buffer", t->name,
                           rowb);
        }
        size_t per = rowb ? STAGE_BYTES / rowb : sl[i].nrows;
        const unsigned char *src = (const unsigned char *)t->data;
        for (size_t j0 = 0; j0 < sl[i].nrows; j0 += per) {
            size_t nr = sl[i].nrows - j0 < per ? sl[i].nrows - j0 : per;
            int s = cx->stage_next;
            cx->stage_next ^= 1;
            cudaCheck(e, cudaEventSynchronize(cx->stage_ev[s]));
            unsigned char *h = (unsigned char *)cx->stage_h[s];
            if (sl[i].col0 == 0 && k == cols) {
                memcpy(h, src + (sl[i].row0 + j0) * cols * esz, nr * rowb);
            } else {
                for (size_t j = 0; j < nr; j++)
                    memcpy(h + j * rowb, src + ((sl[i].row0 + j0 + j) * cols + sl[i].col0) * esz, rowb);
            }
            cudaCheck(e, cudaMemcpyAsync(cx->stage_d[s], h, nr * rowb, cudaMemcpyHostToDevice, 0));
            convert_to_bf16_kernel<<<grid_for(nr * k, 256), 256>>>(w + (r + j0) * k, cx->stage_d[s], nr * k,
                                                                   (int)t->dtype);
            cudaCheck(e, cudaGetLastError());
            cudaCheck(e, cudaEventRecord(cx->stage_ev[s], 0));
        }
        r += sl[i].nrows;
    }
    out->n = n;
    out->k = k;
    out->w = w;
    out->b = b;
    return LS_OK;
}

static void cu_weight_free(LsBackend *be, LsWeight *w) {
    (void)be;
    if (w->w) cudaCheckFatal(cudaFree(w->w));
    if (w->b) cudaCheckFatal(cudaFree(w->b));
    memset(w, 0, sizeof *w);
}

// ---------------------------------------------------------------------------
// linear: y [T, n] (+)= bf16(x) [T, k] . W [n, k]^T (+ b), fp32 accumulate

__global__ void f32_to_bf16_kernel(__nv_bfloat16 *dst, const float *src, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        dst[i] = __float2bfloat16_rn(src[i]);
}

__global__ void add_bias_kernel(float *y, const float *b, size_t T, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < T * n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += b[i % n];
}

// Y [T, n] row-major = X [T, k] . W [n, k]^T; in cuBLAS's column-major view
// Y^T [n, T] = W^T . X^T with W read transposed (lda = k) and X as is (ldb = k).
static void gemm_bf16(CudaCtx *cx, float *y, const float *x, const __nv_bfloat16 *w, size_t T, size_t n,
                      size_t k, float beta) {
    size_t nx = T * k;
    void *xb = cx->xb;
    size_t cap = cx->xb_cap * sizeof(__nv_bfloat16);
    scratch_reserve(&xb, &cap, nx * sizeof(__nv_bfloat16), "the bf16 copy of a GEMM input");
    cx->xb = (__nv_bfloat16 *)xb;
    cx->xb_cap = cap / sizeof(__nv_bfloat16);
    f32_to_bf16_kernel<<<grid_for(nx, 256), 256>>>(cx->xb, x, nx);
    LAUNCH_CHECK();
    const float alpha = 1.0f;
    cublasCheckFatal(cublasGemmEx(cx->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)T, (int)k, &alpha, w,
                                  CUDA_R_16BF, (int)k, cx->xb, CUDA_R_16BF, (int)k, &beta, y, CUDA_R_32F,
                                  (int)n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static void cu_linear(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, int acc) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    if (T == 0 || w->n == 0) return;
    gemm_bf16(cx, y, x, (const __nv_bfloat16 *)w->w, T, w->n, w->k, acc ? 1.0f : 0.0f);
    if (w->b) {
        add_bias_kernel<<<grid_for(T * w->n, 256), 256>>>(y, w->b, T, w->n);
        LAUNCH_CHECK();
    }
}

// ---------------------------------------------------------------------------
// elementwise and row-wise kernels

// one block per row: y = g * (x * 1/sqrt(mean(x^2) + eps))
__global__ void rmsnorm_kernel(float *y, const float *x, const float *g, size_t d, float eps) {
    __shared__ float sh[32];
    const float *xr = x + blockIdx.x * d;
    float *yr = y + blockIdx.x * d;
    float ss = 0.0f;
    for (size_t i = threadIdx.x; i < d; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = block_sum(ss, sh);
    float r = 1.0f / sqrtf(ss / (float)d + eps);
    for (size_t i = threadIdx.x; i < d; i += blockDim.x)
        yr[i] = g[i] * (xr[i] * r);
}

static void cu_rmsnorm(LsBackend *be, float *y, const float *x, const float *g, size_t T, size_t d,
                       float eps) {
    (void)be;
    if (!T) return;
    rmsnorm_kernel<<<(unsigned int)T, 256>>>(y, x, g, d, eps);
    LAUNCH_CHECK();
}

// one block per token: cos/sin of pos * inv_freq in shared memory, then the
// rotate_half rotation of the first nheads heads
__global__ void rope_kernel(float *qk, size_t ld, const int32_t *pos, int nheads, int hd, const float *inv) {
    extern __shared__ float cs[]; // [half] cos, [half] sin
    int half = hd / 2;
    float *c = cs, *s = cs + half;
    float p = (float)pos[blockIdx.x];
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float a = p * inv[i];
        c[i] = cosf(a);
        s[i] = sinf(a);
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

static void cu_rope(LsBackend *be, float *qk, size_t ld, const int32_t *pos, size_t T, int nheads, int hd,
                    double theta) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    if (!T) return;
    int half = hd / 2;
    if (!cx->inv_freq || cx->inv_theta != theta || cx->inv_hd != hd) {
        // inv_freq[i] = 1 / theta^(2i / hd), in fp32 exactly as the CPU backend computes it
        float *h = (float *)ls_malloc((size_t)(half > 0 ? half : 1) * sizeof(float));
        for (int i = 0; i < half; i++)
            h[i] = (float)(1.0 / pow(theta, (double)(2 * i) / (double)hd));
        if (cx->inv_freq) cudaCheckFatal(cudaFree(cx->inv_freq));
        cudaCheckFatal(cudaMalloc(&cx->inv_freq, (size_t)(half > 0 ? half : 1) * sizeof(float)));
        cudaCheckFatal(cudaMemcpy(cx->inv_freq, h, (size_t)half * sizeof(float), cudaMemcpyHostToDevice));
        free(h);
        cx->inv_theta = theta;
        cx->inv_hd = hd;
    }
    rope_kernel<<<(unsigned int)T, 128, 2 * (size_t)half * sizeof(float)>>>(qk, ld, pos, nheads, hd,
                                                                            cx->inv_freq);
    LAUNCH_CHECK();
}

__global__ void swiglu_kernel(float *out, const float *gu, size_t T, size_t f) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < T * f;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t t = i / f, j = i % f;
        float g = gu[t * 2 * f + j], u = gu[t * 2 * f + f + j];
        out[i] = g / (1.0f + expf(-g)) * u;
    }
}

static void cu_swiglu(LsBackend *be, float *out, const float *gu, size_t T, size_t f) {
    (void)be;
    if (!T || !f) return;
    swiglu_kernel<<<grid_for(T * f, 256), 256>>>(out, gu, T, f);
    LAUNCH_CHECK();
}

// one block per token: the bf16 row of its id (fp32 out), zero outside the slice
__global__ void embed_kernel(float *x, const int32_t *ids, const __nv_bfloat16 *w, size_t V, size_t d,
                             int64_t v0) {
    int64_t r = (int64_t)ids[blockIdx.x] - v0;
    float *xr = x + blockIdx.x * d;
    int ok = r >= 0 && r < (int64_t)V;
    const __nv_bfloat16 *wr = w + (ok ? (size_t)r : 0) * d;
    for (size_t i = threadIdx.x; i < d; i += blockDim.x)
        xr[i] = ok ? __bfloat162float(wr[i]) : 0.0f;
}

static void cu_embed(LsBackend *be, float *x, const int32_t *ids, size_t T, const LsWeight *emb, int64_t v0) {
    (void)be;
    if (!T) return;
    embed_kernel<<<(unsigned int)T, 256>>>(x, ids, (const __nv_bfloat16 *)emb->w, emb->n, emb->k, v0);
    LAUNCH_CHECK();
}

__global__ void add_kernel(float *y, const float *x, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

static void cu_add(LsBackend *be, float *y, const float *x, size_t n) {
    (void)be;
    if (!n) return;
    add_kernel<<<grid_for(n, 256), 256>>>(y, x, n);
    LAUNCH_CHECK();
}

// ---------------------------------------------------------------------------
// attention: packed varlen, causal within each sequence, grouped-query heads.
//
// Flash-attention style (fp32, SIMT): a block holds ATT_BR = 32 consecutive
// packed rows (query tokens) of one query head; 8 warps own 4 rows each. Key
// / value tiles of ATT_BC = 32 tokens of the head's KV head are staged in
// shared memory; lane j scores key j against the warp's 4 rows, the rows keep
// an online softmax (running max m, running sum l) and an fp32 accumulator of
// hd values spread over the lanes (column c = lane + 32 i, i < NC). A row's
// valid keys are [start of its sequence, itself]; the block walks keys from
// the sequence start of its first row to its last row, so a block straddling
// two sequences only wastes masked work. Scores are q.k / sqrt(hd) (q is
// pre-scaled when staged).

// start offset of the sequence holding packed row t (seq_off [nseq + 1])
__device__ __forceinline__ int seq_start(const int32_t *seq_off, int nseq, int t) {
    int lo = 0, hi = nseq - 1; // largest s with seq_off[s] <= t
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (seq_off[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return seq_off[lo];
}

template <int NC>
__global__ void __launch_bounds__(256)
    attention_kernel(float *out, const float *qkv, size_t ld, const int32_t *seq_off, int nseq, int T, int H,
                     int Hkv, int hd, int q_head0, int kv_head0, int group, float scale) {
    extern __shared__ float sm[];
    float *Qs = sm;                     // [ATT_BR][hd], pre-scaled
    float *Ks = Qs + ATT_BR * hd;       // [ATT_BC][hd + 1] (padded: lane-strided reads)
    float *Vs = Ks + ATT_BC * (hd + 1); // [ATT_BC][hd]
    const int h = blockIdx.y, t0 = blockIdx.x * ATT_BR;
    const int kvh = (q_head0 + h) / group - kv_head0;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const size_t qcol = (size_t)h * hd, kcol = (size_t)H * hd + (size_t)kvh * hd;
    const size_t vcol0 = (size_t)(H + Hkv) * hd + (size_t)kvh * hd;

    for (int idx = threadIdx.x; idx < ATT_BR * hd; idx += blockDim.x) {
        int r = idx / hd, c = idx % hd, t = t0 + r;
        Qs[idx] = t < T ? qkv[(size_t)t * ld + qcol + c] * scale : 0.0f;
    }
    int trow[ATT_ROWS_PER_WARP], s0[ATT_ROWS_PER_WARP];
    float m[ATT_ROWS_PER_WARP], l[ATT_ROWS_PER_WARP], acc[ATT_ROWS_PER_WARP][NC];
#pragma unroll
    for (int i = 0; i < ATT_ROWS_PER_WARP; i++) {
        trow[i] = t0 + warp * ATT_ROWS_PER_WARP + i;
        s0[i] = trow[i] < T ? seq_start(seq_off, nseq, trow[i]) : INT_MAX;
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int n = 0; n < NC; n++)
            acc[i][n] = 0.0f;
    }
    const int kbeg = seq_start(seq_off, nseq, t0);
    const int kend = min(t0 + ATT_BR - 1, T - 1); // inclusive
    for (int kb = kbeg; kb <= kend; kb += ATT_BC) {
        __syncthreads(); // previous tile consumed (and Qs staged, first time)
        for (int idx = threadIdx.x; idx < ATT_BC * hd; idx += blockDim.x) {
            int j = idx / hd, c = idx % hd, t = kb + j;
            float kv = 0.0f, vv = 0.0f;
            if (t <= kend) {
                kv = qkv[(size_t)t * ld + kcol + c];
                vv = qkv[(size_t)t * ld + vcol0 + c];
            }
            Ks[j * (hd + 1) + c] = kv;
            Vs[j * hd + c] = vv;
        }
        __syncthreads();
        // scores of key kb + lane against the warp's rows
        float s[ATT_ROWS_PER_WARP];
#pragma unroll
        for (int i = 0; i < ATT_ROWS_PER_WARP; i++)
            s[i] = 0.0f;
        const float *kr = Ks + lane * (hd + 1);
        const float *qr = Qs + warp * ATT_ROWS_PER_WARP * hd;
        for (int c = 0; c < hd; c++) {
            float kc = kr[c];
#pragma unroll
            for (int i = 0; i < ATT_ROWS_PER_WARP; i++)
                s[i] += qr[i * hd + c] * kc;
        }
        const int j = kb + lane;
#pragma unroll
        for (int i = 0; i < ATT_ROWS_PER_WARP; i++) {
            bool valid = j >= s0[i] && j <= trow[i] && trow[i] < T;
            float sv = valid ? s[i] : -INFINITY;
            float mt = warp_max(sv); // warp-uniform
            if (mt == -INFINITY) continue;
            float mn = fmaxf(m[i], mt);
            float p = valid ? expf(sv - mn) : 0.0f;
            float corr = expf(m[i] - mn); // 0 when m was -inf
            l[i] = l[i] * corr + warp_sum(p);
            m[i] = mn;
#pragma unroll
            for (int n = 0; n < NC; n++)
                acc[i][n] *= corr;
            for (int jj = 0; jj < ATT_BC; jj++) {
                float pj = __shfl_sync(0xffffffffu, p, jj);
                if (pj == 0.0f) continue; // warp-uniform
                const float *vr = Vs + jj * hd;
#pragma unroll
                for (int n = 0; n < NC; n++) {
                    int c = lane + 32 * n;
                    if (c < hd) acc[i][n] += pj * vr[c];
                }
            }
        }
    }
    const size_t od = (size_t)H * hd;
#pragma unroll
    for (int i = 0; i < ATT_ROWS_PER_WARP; i++) {
        if (trow[i] >= T) continue;
        float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
        float *o = out + (size_t)trow[i] * od + qcol;
#pragma unroll
        for (int n = 0; n < NC; n++) {
            int c = lane + 32 * n;
            if (c < hd) o[c] = acc[i][n] * inv;
        }
    }
}

// Fallback for head dims whose tiles do not fit shared memory (hd > ~512):
// one warp per (row, head), keys and values read from global memory.
#define ATT_FALLBACK_NC 32 // hd <= 1024
__global__ void __launch_bounds__(256)
    attention_fallback_kernel(float *out, const float *qkv, size_t ld, const int32_t *seq_off, int nseq,
                              int T, int H, int Hkv, int hd, int q_head0, int kv_head0, int group,
                              float scale) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int t = blockIdx.x * 8 + warp, h = blockIdx.y;
    if (t >= T) return;
    const int kvh = (q_head0 + h) / group - kv_head0;
    const float *q = qkv + (size_t)t * ld + (size_t)h * hd;
    const size_t kcol = (size_t)H * hd + (size_t)kvh * hd, vcol = (size_t)(H + Hkv) * hd + (size_t)kvh * hd;
    float m = -INFINITY, l = 0.0f, acc[ATT_FALLBACK_NC];
#pragma unroll
    for (int n = 0; n < ATT_FALLBACK_NC; n++)
        acc[n] = 0.0f;
    const int s0 = seq_start(seq_off, nseq, t);
    for (int kb = s0; kb <= t; kb += 32) {
        int j = kb + lane;
        float sv = -INFINITY;
        if (j <= t) {
            const float *k = qkv + (size_t)j * ld + kcol;
            float dot = 0.0f;
            for (int c = 0; c < hd; c++)
                dot += q[c] * k[c];
            sv = dot * scale;
        }
        float mn = fmaxf(m, warp_max(sv));
        float p = j <= t ? expf(sv - mn) : 0.0f, corr = expf(m - mn);
        l = l * corr + warp_sum(p);
        m = mn;
#pragma unroll
        for (int n = 0; n < ATT_FALLBACK_NC; n++)
            acc[n] *= corr;
        for (int jj = 0; jj < 32 && kb + jj <= t; jj++) {
            float pj = __shfl_sync(0xffffffffu, p, jj);
            const float *v = qkv + (size_t)(kb + jj) * ld + vcol;
#pragma unroll
            for (int n = 0; n < ATT_FALLBACK_NC; n++) {
                int c = lane + 32 * n;
                if (c < hd) acc[n] += pj * v[c];
            }
        }
    }
    float *o = out + (size_t)t * H * hd + (size_t)h * hd;
#pragma unroll
    for (int n = 0; n < ATT_FALLBACK_NC; n++) {
        int c = lane + 32 * n;
        if (c < hd) o[c] = acc[n] / l;
    }
}

template <int NC>
static int launch_attention(CudaCtx *cx, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                            int nseq, int T, const LsAttnShape *s, float scale) {
    size_t smem =
        ((size_t)ATT_BR * s->hd + (size_t)ATT_BC * (s->hd + 1) + (size_t)ATT_BC * s->hd) * sizeof(float);
    if (smem > cx->smem_optin) return 0;
    if (smem > 48 * 1024)
        cudaCheckFatal(cudaFuncSetAttribute(attention_kernel<NC>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            (int)smem));
    dim3 grid((unsigned int)((T + ATT_BR - 1) / ATT_BR), (unsigned int)s->H);
    attention_kernel<NC><<<grid, 256, smem>>>(out, qkv, ld, seq_off, nseq, T, s->H, s->Hkv, s->hd, s->q_head0,
                                              s->kv_head0, s->group, scale);
    LAUNCH_CHECK();
    return 1;
}

static void cu_attention(LsBackend *be, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                         int nseq, const LsAttnShape *s) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    if (nseq <= 0 || s->H <= 0) return;
    int32_t T = 0; // seq_off lives on the device: 4 bytes back for the grid size
    cudaCheckFatal(cudaMemcpy(&T, seq_off + nseq, sizeof T, cudaMemcpyDeviceToHost));
    if (T <= 0) return;
    const float scale = 1.0f / sqrtf((float)s->hd);
    int nc = (s->hd + 31) / 32, done = 0;
    if (nc <= 1)
        done = launch_attention<1>(cx, out, qkv, ld, seq_off, nseq, T, s, scale);
    else if (nc <= 2)
        done = launch_attention<2>(cx, out, qkv, ld, seq_off, nseq, T, s, scale);
    else if (nc <= 4)
        done = launch_attention<4>(cx, out, qkv, ld, seq_off, nseq, T, s, scale);
    else if (nc <= 8)
        done = launch_attention<8>(cx, out, qkv, ld, seq_off, nseq, T, s, scale);
    else if (nc <= 16)
        done = launch_attention<16>(cx, out, qkv, ld, seq_off, nseq, T, s, scale);
    if (!done) {
        if (s->hd > 32 * ATT_FALLBACK_NC) {
            ls_warn("cuda backend: head_dim %d unsupported by the attention kernels (<= %d)\n", s->hd,
                    32 * ATT_FALLBACK_NC);
            abort();
        }
        dim3 grid((unsigned int)((T + 7) / 8), (unsigned int)s->H);
        attention_fallback_kernel<<<grid, 256>>>(out, qkv, ld, seq_off, nseq, T, s->H, s->Hkv, s->hd,
                                                 s->q_head0, s->kv_head0, s->group, scale);
        LAUNCH_CHECK();
    }
}

// ---------------------------------------------------------------------------
// head statistics

// block (r, q) for row r of L [R, V] and sub-slice q of nsl (local columns
// [cut[q], cut[q+1]), cut NULL: the whole row): softmax partials (m, s, w) into
// part [R][nsl][3] (the layout of LsSoftmaxPartial); blocks (r, 0) also write
// the wanted logit and the target logits
__global__ void head_stats_kernel(const float *L, size_t V, int64_t v0, const int32_t *cut,
                                  const int32_t *want_ids, int has_want, const int32_t *tgt_ids, int ntgt,
                                  double *part, float *want, float *tgt) {
    __shared__ float shf[32];
    __shared__ double shd[32];
    const size_t r = blockIdx.x, q = blockIdx.y, nsl = gridDim.y;
    const float *row = L + r * V;
    const size_t c0 = cut ? (size_t)cut[q] : 0, n = (cut ? (size_t)cut[q + 1] : V) - c0;
    const float *l = row + c0;
    float m = -INFINITY;
    for (size_t j = threadIdx.x; j < n; j += blockDim.x)
        m = fmaxf(m, l[j]);
    m = block_max(m, shf);
    // per-thread Kahan sums in fp32, combined across the block in fp64
    float s = 0.0f, sc = 0.0f, w = 0.0f, wc = 0.0f;
    for (size_t j = threadIdx.x; m > -INFINITY && j < n; j += blockDim.x) { // all -inf: s = w = 0
        float z = l[j] - m;
        z = z < -1e30f ? -1e30f : z; // a -inf logit: e^z z = 0, not 0 * -inf (NaN stays)
        float ez = expf(z);
        float y = ez - sc, t = s + y;
        sc = (t - s) - y;
        s = t;
        y = ez * z - wc;
        t = w + y;
        wc = (t - w) - y;
        w = t;
    }
    double S = block_sum_d((double)s - (double)sc, shd);
    double W = block_sum_d((double)w - (double)wc, shd);
    if (threadIdx.x == 0) {
        double *pr = part + 3 * (r * nsl + q);
        pr[0] = m;
        pr[1] = S;
        pr[2] = W;
    }
    if (q != 0) return;
    if (threadIdx.x == 0) {
        int64_t wid = has_want ? (int64_t)want_ids[r] - v0 : -1;
        want[r] = (wid >= 0 && wid < (int64_t)V) ? row[wid] : -INFINITY;
    }
    for (int t = threadIdx.x; t < ntgt; t += blockDim.x) {
        int64_t c = (int64_t)tgt_ids[t] - v0;
        tgt[r * (size_t)ntgt + t] = (c >= 0 && c < (int64_t)V) ? row[c] : -INFINITY;
    }
}

// a ranks before b: larger value, ties to the lower id (as the CPU top-k)
__device__ __forceinline__ bool topk_before(float av, int32_t ai, float bv, int32_t bi) {
    return av > bv || (av == bv && ai < bi);
}

// Top-k by chunks: block (ch, r) sorts elements [ch * TOPK_CHUNK, +TOPK_CHUNK)
// of row r (bitonic sort in shared memory, descending) and writes the first K
// to out [r][ch][K]. ids == NULL: the id of element g is id0 + g. Padding is
// (-inf, INT_MAX) and maps to id -1 at the end.
__global__ void __launch_bounds__(1024)
    topk_chunk_kernel(const float *vals, const int32_t *ids, size_t ld, size_t n, int64_t id0, int K,
                      float *ov, int32_t *oi) {
    __shared__ float sv[TOPK_CHUNK];
    __shared__ int32_t si[TOPK_CHUNK];
    const size_t r = blockIdx.y, base = (size_t)blockIdx.x * TOPK_CHUNK;
    for (int i = threadIdx.x; i < TOPK_CHUNK; i += blockDim.x) {
        size_t g = base + i;
        if (g < n) {
            sv[i] = vals[r * ld + g];
            si[i] = ids ? ids[r * ld + g] : (int32_t)(id0 + (int64_t)g);
        } else {
            sv[i] = -INFINITY;
            si[i] = INT_MAX;
        }
    }
    __syncthreads();
    for (int k = 2; k <= TOPK_CHUNK; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < TOPK_CHUNK; i += blockDim.x) {
                int p = i ^ j;
                if (p > i) {
                    bool first_half = (i & k) == 0; // this run sorts descending
                    bool swap = first_half ? topk_before(sv[p], si[p], sv[i], si[i])
                                           : topk_before(sv[i], si[i], sv[p], si[p]);
                    if (swap) {
                        float tv = sv[i];
                        sv[i] = sv[p];
                        sv[p] = tv;
                        int32_t ti = si[i];
                        si[i] = si[p];
                        si[p] = ti;
                    }
                }
            }
            __syncthreads();
        }
    }
    const size_t nch = gridDim.x;
    for (int i = threadIdx.x; i < K; i += blockDim.x) {
        ov[(r * nch + blockIdx.x) * K + i] = sv[i];
        oi[(r * nch + blockIdx.x) * K + i] = si[i];
    }
}

// per row of the last logits: number of entries strictly greater than thr[r]
__global__ void count_greater_kernel(const float *L, size_t V, const float *thr, int64_t *cnt) {
    __shared__ double shd[32];
    const size_t r = blockIdx.x;
    const float *l = L + r * V;
    const float t = thr[r];
    int c = 0;
    for (size_t j = threadIdx.x; j < V; j += blockDim.x)
        c += l[j] > t;
    double tot = block_sum_d((double)c, shd); // exact: counts < 2^53
    if (threadIdx.x == 0) cnt[r] = (int64_t)tot;
}

static void cu_head_partials(LsBackend *be, const float *h, size_t R, const LsWeight *W, int64_t v0, int nsl,
                             const size_t *cut, const int32_t *want_ids, const int32_t *tgt_ids, int ntgt,
                             int K, LsSoftmaxPartial *part, float *want, float *tgt, float *topv,
                             int32_t *topi) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    const size_t V = W->n, d = W->k;
    cx->last_R = R;
    cx->last_V = V;
    if (!R) return;
    // L [R, V] = bf16(h) [R, d] . W [V, d]^T, fp32, stays on the device
    void *lp = cx->logits;
    scratch_reserve(&lp, &cx->logits_cap, R * V * sizeof(float),
                    "the head logits scratch [rows, vocab slice]");
    cx->logits = (float *)lp;
    gemm_bf16(cx, cx->logits, h, (const __nv_bfloat16 *)W->w, R, V, d, 0.0f);

    // inputs: want ids [R], target ids [ntgt], sub-slice cuts [nsl + 1]
    if (nsl < 1) nsl = 1;
    const size_t ncut = cut ? (size_t)nsl + 1 : 0;
    size_t nin = R + (size_t)(ntgt > 0 ? ntgt : 0) + ncut;
    void *ip = cx->hin;
    scratch_reserve(&ip, &cx->hin_cap, nin * sizeof(int32_t) + sizeof(int32_t), "head inputs");
    cx->hin = (int32_t *)ip;
    if (want_ids) cudaCheckFatal(cudaMemcpy(cx->hin, want_ids, R * sizeof(int32_t), cudaMemcpyHostToDevice));
    if (ntgt > 0)
        cudaCheckFatal(
            cudaMemcpy(cx->hin + R, tgt_ids, (size_t)ntgt * sizeof(int32_t), cudaMemcpyHostToDevice));
    int32_t *d_cut = cut ? cx->hin + R + (size_t)(ntgt > 0 ? ntgt : 0) : NULL;
    if (cut) {
        int32_t *hc = (int32_t *)ls_malloc(ncut * sizeof(int32_t));
        for (size_t i = 0; i < ncut; i++)
            hc[i] = (int32_t)cut[i];
        cudaCheckFatal(cudaMemcpy(d_cut, hc, ncut * sizeof(int32_t), cudaMemcpyHostToDevice));
        free(hc);
    }

    // outputs on the device, in the order of the host arrays
    const size_t kk = (size_t)(K > 0 ? K : 0), nt = (size_t)(ntgt > 0 ? ntgt : 0);
    const size_t np = R * (size_t)nsl; // partials
    size_t ob = np * sizeof(LsSoftmaxPartial) + R * sizeof(float) + R * nt * sizeof(float) +
                R * kk * (sizeof(float) + sizeof(int32_t));
    void *op = cx->hout;
    scratch_reserve(&op, &cx->hout_cap, ob, "head outputs");
    cx->hout = op;
    double *d_part = (double *)cx->hout;
    float *d_want = (float *)(d_part + 3 * np);
    float *d_tgt = d_want + R;
    float *d_topv = d_tgt + R * nt;
    int32_t *d_topi = (int32_t *)(d_topv + R * kk);

    head_stats_kernel<<<dim3((unsigned int)R, (unsigned int)nsl), 256>>>(
        cx->logits, V, v0, d_cut, cx->hin, want_ids != NULL, cx->hin + R, (int)nt, d_part, d_want, d_tgt);
    LAUNCH_CHECK();

    if (K > TOPK_CHUNK / 2) { // each merge round must shrink the candidates
        ls_warn("cuda backend: top-k of %d exceeds the supported %d\n", K, TOPK_CHUNK / 2);
        abort();
    }
    if (K > 0) {
        // rounds of chunk sorts: V values -> ceil(V / CHUNK) * K candidates -> ... -> K
        size_t nch0 = (V + TOPK_CHUNK - 1) / TOPK_CHUNK;
        size_t half = R * nch0 * kk;
        void *cp = cx->cand;
        scratch_reserve(&cp, &cx->cand_cap, 2 * half * (sizeof(float) + sizeof(int32_t)), "top-k candidates");
        cx->cand = cp;
        float *cv[2] = {(float *)cx->cand, (float *)cx->cand + half};
        int32_t *ci[2] = {(int32_t *)(cv[1] + half), (int32_t *)(cv[1] + half) + half};
        const float *in_v = cx->logits;
        const int32_t *in_i = NULL;
        size_t n = V, ld = V;
        int buf = 0;
        for (;;) {
            size_t nch = (n + TOPK_CHUNK - 1) / TOPK_CHUNK;
            float *ov = nch == 1 ? d_topv : cv[buf];
            int32_t *oi = nch == 1 ? d_topi : ci[buf];
            dim3 grid((unsigned int)nch, (unsigned int)R);
            topk_chunk_kernel<<<grid, 1024>>>(in_v, in_i, ld, n, v0, K, ov, oi);
            LAUNCH_CHECK();
            if (nch == 1) break;
            in_v = ov;
            in_i = oi;
            n = ld = nch * kk;
            buf ^= 1;
        }
    }
    // one copy back (synchronous on the legacy stream)
    unsigned char *hb = (unsigned char *)ls_malloc(ob);
    cudaCheckFatal(cudaMemcpy(hb, cx->hout, ob, cudaMemcpyDeviceToHost));
    unsigned char *p = hb;
    memcpy(part, p, np * sizeof(LsSoftmaxPartial));
    p += np * sizeof(LsSoftmaxPartial);
    memcpy(want, p, R * sizeof(float));
    p += R * sizeof(float);
    if (nt) memcpy(tgt, p, R * nt * sizeof(float));
    p += R * nt * sizeof(float);
    if (kk) {
        memcpy(topv, p, R * kk * sizeof(float));
        p += R * kk * sizeof(float);
        memcpy(topi, p, R * kk * sizeof(int32_t));
        for (size_t i = 0; i < R * kk; i++)
            if (topi[i] == INT_MAX) topi[i] = -1; // fewer than K logits in the slice
    }
    free(hb);
}

static void cu_head_count_greater(LsBackend *be, size_t R, const float *thr, int64_t *cnt) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    if (!R) return;
    if (R > cx->last_R) {
        ls_warn("cuda backend: head_count_greater for %zu rows after head_partials of %zu\n", R, cx->last_R);
        abort();
    }
    // thresholds [R] fp32 in, counts [R] int64 out: reuse the head output scratch
    size_t ob = R * (sizeof(float) + sizeof(int64_t));
    void *op = cx->hout;
    scratch_reserve(&op, &cx->hout_cap, ob, "head outputs");
    cx->hout = op;
    int64_t *d_cnt = (int64_t *)cx->hout;
    float *d_thr = (float *)(d_cnt + R);
    cudaCheckFatal(cudaMemcpy(d_thr, thr, R * sizeof(float), cudaMemcpyHostToDevice));
    count_greater_kernel<<<(unsigned int)R, 256>>>(cx->logits, cx->last_V, d_thr, d_cnt);
    LAUNCH_CHECK();
    cudaCheckFatal(cudaMemcpy(cnt, d_cnt, R * sizeof(int64_t), cudaMemcpyDeviceToHost));
}

// ---------------------------------------------------------------------------
// life cycle

static int cu_set_precision(LsBackend *be, LsPrecision p, LsError *e) {
    if (p != LS_PREC_BF16)
        return ls_fail(e, "precision %s is not implemented on CUDA yet (use precision: bf16)",
                       ls_precision_name(p));
    be->precision = p;
    return LS_OK;
}

static void cu_describe(LsBackend *be, LsDeviceInfo *out) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    memset(out, 0, sizeof *out);
    snprintf(out->device, sizeof out->device, "cuda");
    snprintf(out->precision, sizeof out->precision, "%s", ls_precision_name(be->precision));
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, cx->device) == cudaSuccess)
        snprintf(out->processor, sizeof out->processor, "%.100s (sm_%d%d)", prop.name, prop.major,
                 prop.minor);
    int drv = 0, rt = 0, blas = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    cublasGetVersion(cx->blas, &blas);
    snprintf(out->runtime, sizeof out->runtime, "CUDA driver %d.%d, runtime %d.%d, cuBLAS %d", drv / 1000,
             drv % 1000 / 10, rt / 1000, rt % 1000 / 10, blas);
    out->threads = 0;
}

static void cu_destroy(LsBackend *be) {
    CudaCtx *cx = (CudaCtx *)be->ctx;
    if (cx) {
        cudaDeviceSynchronize();
        for (int i = 0; i < 2; i++) {
            if (cx->stage_h[i]) cudaFreeHost(cx->stage_h[i]);
            if (cx->stage_d[i]) cudaFree(cx->stage_d[i]);
            if (cx->stage_ev[i]) cudaEventDestroy(cx->stage_ev[i]);
        }
        cudaFree(cx->xb);
        cudaFree(cx->logits);
        cudaFree(cx->cand);
        cudaFree(cx->hout);
        cudaFree(cx->hin);
        cudaFree(cx->inv_freq);
        if (cx->blas) cublasDestroy(cx->blas);
        free(cx);
    }
    free(be);
}

extern "C" LsBackend *ls_backend_cuda_create(int device, LsError *e) {
    char why[256] = "";
    int ndev = ls_cuda_device_count(why, sizeof why);
    if (ndev <= 0) {
        ls_fail(e, "cuda backend: no usable CUDA GPU (%s)", why);
        return NULL;
    }
    if (device >= ndev) {
        ls_fail(e, "cuda backend: device %d requested, %d visible", device, ndev);
        return NULL;
    }
    if (device >= 0) {
        cudaError_t err = cudaSetDevice(device);
        if (err != cudaSuccess) {
            ls_fail(e, "cuda backend: cudaSetDevice(%d): %s", device, cudaGetErrorString(err));
            return NULL;
        }
    } else if (cudaGetDevice(&device) != cudaSuccess) {
        device = 0;
    }
    cudaDeviceProp prop;
    cudaError_t err = cudaGetDeviceProperties(&prop, device);
    if (err != cudaSuccess) {
        ls_fail(e, "cuda backend: device %d properties: %s", device, cudaGetErrorString(err));
        return NULL;
    }
    if (prop.major < 8) {
        ls_fail(e, "cuda backend: device %d (%s) has compute capability %d.%d; bf16 GEMMs need 8.0 or newer",
                device, prop.name, prop.major, prop.minor);
        return NULL;
    }
    CudaCtx *cx = (CudaCtx *)ls_calloc(1, sizeof *cx);
    cx->device = device;
    cx->smem_optin = prop.sharedMemPerBlockOptin;
    cublasStatus_t st = cublasCreate(&cx->blas);
    if (st != CUBLAS_STATUS_SUCCESS) {
        ls_fail(e, "cuda backend: cublasCreate: %s", cublasGetStatusString(st));
        free(cx);
        return NULL;
    }
    cublasSetStream(cx->blas, 0);
    LsBackend *be = (LsBackend *)ls_calloc(1, sizeof *be);
    be->name = "cuda";
    be->ctx = cx;
    be->set_precision = cu_set_precision;
    be->describe = cu_describe;
    be->alloc = cu_alloc;
    be->free = cu_free;
    be->to_device = cu_to_device;
    be->to_host = cu_to_host;
    be->sync = cu_sync;
    be->weight_load = cu_weight_load;
    be->weight_free = cu_weight_free;
    be->linear = cu_linear;
    be->rmsnorm = cu_rmsnorm;
    be->rope = cu_rope;
    be->attention = cu_attention;
    be->swiglu = cu_swiglu;
    be->embed = cu_embed;
    be->add = cu_add;
    be->head_partials = cu_head_partials;
    be->head_count_greater = cu_head_count_greater;
    be->destroy = cu_destroy;
    ls_cuda_arch_register(be);
    ls_log0("cuda backend: device %d, %s (sm_%d%d, %d SMs, %.1f GiB)", device, prop.name, prop.major,
            prop.minor, prop.multiProcessorCount, (double)prop.totalGlobalMem / 1073741824.0);
    return be;
}
