// cuda_backend.cu — the CUDA backend (LsBackend for NVIDIA GPUs), the GPU
// twin of src/backend/cpu/cpu_backend.c (the fp32 reference every kernel here
// is tested against: tests/unit/test_cuda_kernels.c).
//
// Precision (LsPrecision, chosen before any weight is loaded):
//   fp32: weights stored fp32 on the device, fp32 GEMMs (cublasGemmEx with
//     CUDA_R_32F operands and CUBLAS_COMPUTE_32F_PEDANTIC: no TF32, no
//     reduced-precision reductions), fp32 attention: the CPU path's contract,
//     within 1e-4 of transformers fp32.
//   bf16 (DESIGN §5, "the GPU bf16 path within bf16 noise"):
//   * weights are converted once, at load, to bf16 on the device (from
//     BF16 / F16 / F32 as stored; F16 and F32 weights lose mantissa bits);
//   * activations are fp32 everywhere; for a GEMM the activation operand is
//     rounded to bf16 (a conversion kernel into a scratch buffer) and the GEMM
//     runs on tensor cores with fp32 accumulation and fp32 output
//     (cublasGemmEx, A/B CUDA_R_16BF, C CUDA_R_32F, CUBLAS_COMPUTE_32F);
//     biases are added in fp32;
//   * attention on tensor cores (attention_tc below): q, k, v and the
//     softmax probabilities rounded to bf16, fp32 scores, softmax and
//     accumulation;
//   * RMSNorm, RoPE (fp32 angle = pos * inv_freq, inv_freq computed on the host
//     exactly as the CPU backend does), SwiGLU and the head's log-sum-exp /
//     entropy sums are fp32 (per-thread Kahan sums combined in fp64), as on
//     the CPU.
//   So the differences from the CPU path are the bf16 roundings of weights, of
//   GEMM inputs and of the attention's operands. Measured by the CPU emulation
//   of exactly these roundings (tests/unit/test_cuda_kernels.c,
//   cpu_bf16_emulated_forward) on the tiny oracle fixtures against
//   transformers fp32: |d log-prob| mean 0.08-0.10, max 0.35-0.56 nats (the
//   attention's roundings alone: max |diff| of its output ~1e-2 on inputs in
//   [-2, 2)); the decoder GEMMs' bf16 activation inputs dominate (a
//   bf16-stored model with fp32 activations would be within 3e-5), F32/F16
//   weights rounded to bf16 come next, the head's bf16 input alone gives max
//   0.06. For checkable numbers use precision fp32.
//
// Streams: every operation runs on the legacy default stream (0), the stream
// the cuBLAS handle uses and the one the NCCL communicator (comm_nccl.cu)
// synchronises with, so no explicit cross-stream events are needed.
//
// Memory: alloc/free are cudaMalloc/cudaFree; to_device/to_host are
// synchronous cudaMemcpy. Every scratch buffer a batch needs (bf16 copies of
// GEMM inputs, head logits [head_rows, V_local], top-k candidates, head in/out)
// is allocated once by reserve() from the batch shape when the model is
// loaded (mem_needed() says how much, so ls_forward_init refuses an oversize
// batch_tokens before anything is allocated); no operation grows a buffer.
//
// Errors: operations have no error return; a failed CUDA / cuBLAS call is
// recorded, with file:line and the call, as the backend's sticky error
// (cuda_check.h), later operations are skipped, and check() returns it to the
// forward pass once per batch. Nothing in this file aborts.
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
#define ROPE_MAX_HALF 512  // head_dim <= 1024 (ls_forward_init)
#define HEAD_ROWS 2048     // rows per head_partials call (fewer when memory is short)
#define HEAD_MAX_TGT 1024  // target ids per head_partials call
#define HEAD_MAX_K 64      // top-k per row (the config's LS_MAX_TOP_K)
#define HEAD_MAX_SLICES 16 // vocab sub-slices per head_partials call (LS_TP_SLICES)
#define ATT_TC_BQ 512      // query rows per block of the tensor-core attention

typedef struct {
    int device;
    LsCudaSticky st; // the first error of an operation since the last check
    cublasHandle_t blas;
    size_t smem_optin; // max dynamic shared memory per block
    // weight staging: two pinned host buffers and two raw device buffers
    void *stage_h[2], *stage_d[2];
    cudaEvent_t stage_ev[2];
    int stage_next;
    // scratch
    __nv_bfloat16 *xb; // bf16 copy of a GEMM's activation operand
    size_t xb_cap;     // bytes
    float *logits;     // head logits [R, V] of the last head_partials call
    size_t logits_cap;
    size_t last_R, last_V;
    void *cand; // top-k candidates, two ping-pong halves of float + int32
    size_t cand_cap;
    void *hout; // head outputs on the device: partials, want, tgt, topv, topi
    size_t hout_cap;
    int32_t *hin; // head inputs: want ids [R], target ids [ntgt], thresholds
    size_t hin_cap;
    void *hpin; // pinned host buffer of hpin_cap (= hout_cap) bytes: head inputs out, outputs back
    size_t hpin_cap, inv_freq_cap, seq_cap;
    float *inv_freq; // rope: inv_freq [ROPE_MAX_HALF] for (inv_theta, inv_hd)
    double inv_theta;
    int inv_hd;
    size_t max_tokens; // reserve(): batch_tokens (grids of kernels that read T on the device)
    size_t head_rows;  // reserve(): rows per head_partials call
    // tensor-core attention (precision bf16): bf16 q / k / v in GEMM layouts,
    // scores S and probabilities P of one block of queries, its output Ob
    __nv_bfloat16 *att_qkv;
    float *att_s, *att_o;
    __nv_bfloat16 *att_p;
    size_t att_qkv_cap, att_s_cap, att_p_cap, att_o_cap; // bytes
    int32_t *seq_host;      // pinned [max_tokens + 1]: this batch's seq_off, read back once
    long batch, seq_batch;  // batches started (embed), and the batch seq_host holds
    const int32_t *seq_dev; // the device seq_off seq_host mirrors
} CudaCtx;

// Whether the scratch reserved for `what` (cap bytes) holds `bytes`; else the
// sticky error says so (reserve() sized it from batch_tokens).
static int scratch_fits(CudaCtx *cx, size_t cap, size_t bytes, const char *what) {
    if (bytes <= cap) return 1;
    if (!cx->st.failed) {
        cx->st.failed = 1;
        ls_fail(&cx->st.err, "cuda backend: %s needs %zu bytes, %zu reserved for batch_tokens=%zu", what,
                bytes, cap, cx->max_tokens);
    }
    return 0;
}

static inline unsigned int grid_for(size_t n, unsigned int block) {
    size_t g = (n + block - 1) / block;
    return (unsigned int)(g < 65535u * 16u ? (g ? g : 1) : 65535u * 16u);
}

#define LAUNCH_CHECK(cx) cudaSticky(&(cx)->st, cudaGetLastError())
#define SKIP_IF_FAILED(cx)                                                                                   \
    do {                                                                                                     \
        if ((cx)->st.failed) return;                                                                         \
    } while (0)
#define CX(be) ((CudaCtx *)(be)->ctx)

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
    if (p) cudaSticky(&CX(be)->st, cudaFree(p));
}

static void cu_to_device(LsBackend *be, void *dst, const void *src, size_t bytes) {
    SKIP_IF_FAILED(CX(be));
    if (bytes) cudaSticky(&CX(be)->st, cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void cu_to_host(LsBackend *be, void *dst, const void *src, size_t bytes) {
    SKIP_IF_FAILED(CX(be));
    if (bytes) cudaSticky(&CX(be)->st, cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

static void cu_sync(LsBackend *be) {
    SKIP_IF_FAILED(CX(be));
    cudaSticky(&CX(be)->st, cudaDeviceSynchronize());
}

// ---------------------------------------------------------------------------
// weights: stored dtype -> bf16 (precision bf16) or fp32 (precision fp32),
// slice by slice through pinned staging

__device__ __forceinline__ void store_as(__nv_bfloat16 *d, float v) {
    *d = __float2bfloat16_rn(v);
}
__device__ __forceinline__ void store_as(float *d, float v) {
    *d = v;
}
__device__ __forceinline__ float load_f32(const __nv_bfloat16 *p) {
    return __bfloat162float(*p);
}
__device__ __forceinline__ float load_f32(const float *p) {
    return *p;
}

// dst [n] (bf16 or fp32) <- src [n] of the stored dtype (raw little-endian bytes)
template <typename Tw> __global__ void convert_weight_kernel(Tw *dst, const void *src, size_t n, int dtype) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        if (dtype == LS_DT_F32)
            store_as(dst + i, ((const float *)src)[i]);
        else if (dtype == LS_DT_F16)
            store_as(dst + i, __half2float(((const __half *)src)[i]));
        else
            store_as(dst + i, __bfloat162float(((const __nv_bfloat16 *)src)[i]));
    }
}

// Bytes per weight element on the device in this backend's precision.
static size_t weight_elem_bytes(const LsBackend *be) {
    return be->precision == LS_PREC_FP32 ? sizeof(float) : sizeof(__nv_bfloat16);
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
    size_t bytes, esz_dev = weight_elem_bytes(be);
    if (ls_mul_size(n, k, &bytes) || ls_mul_size(bytes, esz_dev, &bytes))
        return ls_fail(e, "cuda backend: weight %s too large", sl[0].w->name);
    unsigned char *w = NULL;
    cudaError_t err = cudaMalloc(&w, bytes ? bytes : 256);
    if (err != cudaSuccess) {
        cudaGetLastError();
        return ls_fail(
            e,
            "cuda backend: cannot allocate %.1f MiB of GPU memory for weight %s [%zu, %zu] %s (%s); "
            "the model does not fit: use more tensor-parallel ranks (lower batch_tokens frees "
            "activations only)",
            (double)bytes / 1048576.0, sl[0].w->name, n, k, ls_precision_name(be->precision),
            cudaGetErrorString(err));
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
        // quantized (GGUF) rows are dequantized on the host and staged as fp32
        const int quant = ls_dtype_size(t->dtype) == 0;
        const LsDType stage_t = quant ? LS_DT_F32 : t->dtype;
        size_t esz = ls_dtype_size(stage_t), cols = (size_t)t->shape[1], rowb = k * esz;
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
            if (quant) {
                for (size_t j = 0; j < nr; j++)
                    ls_tensor_to_f32(t, (sl[i].row0 + j0 + j) * cols + sl[i].col0, k,
                                     (float *)(h + j * rowb));
            } else if (sl[i].col0 == 0 && k == cols) {
                memcpy(h, src + (sl[i].row0 + j0) * cols * esz, nr * rowb);
            } else {
                for (size_t j = 0; j < nr; j++)
                    memcpy(h + j * rowb, src + ((sl[i].row0 + j0 + j) * cols + sl[i].col0) * esz, rowb);
            }
            cudaCheck(e, cudaMemcpyAsync(cx->stage_d[s], h, nr * rowb, cudaMemcpyHostToDevice, 0));
            unsigned char *dst = w + (r + j0) * k * esz_dev;
            if (be->precision == LS_PREC_FP32)
                convert_weight_kernel<<<grid_for(nr * k, 256), 256>>>((float *)dst, cx->stage_d[s], nr * k,
                                                                      (int)stage_t);
            else
                convert_weight_kernel<<<grid_for(nr * k, 256), 256>>>((__nv_bfloat16 *)dst, cx->stage_d[s],
                                                                      nr * k, (int)stage_t);
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
    CudaCtx *cx = CX(be);
    void *pw = w->w, *pb = w->b;
    memset(w, 0, sizeof *w);
    if (pw) cudaSticky(&cx->st, cudaFree(pw));
    if (pb) cudaSticky(&cx->st, cudaFree(pb));
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
// bf16: X rounded to bf16 into the reserved scratch, bf16 tensor cores with
// fp32 accumulation; fp32: fp32 operands, no TF32 (PEDANTIC).
static void gemm(LsBackend *be, float *y, const float *x, const void *w, size_t T, size_t n, size_t k,
                 float beta) {
    CudaCtx *cx = CX(be);
    const float alpha = 1.0f;
    if (be->precision == LS_PREC_FP32) {
        cublasSticky(&cx->st, cublasGemmEx(cx->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)T, (int)k, &alpha,
                                           w, CUDA_R_32F, (int)k, x, CUDA_R_32F, (int)k, &beta, y, CUDA_R_32F,
                                           (int)n, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT));
        return;
    }
    size_t nx = T * k;
    if (!scratch_fits(cx, cx->xb_cap, nx * sizeof(__nv_bfloat16), "the bf16 copy of a GEMM input")) return;
    f32_to_bf16_kernel<<<grid_for(nx, 256), 256>>>(cx->xb, x, nx);
    LAUNCH_CHECK(cx);
    cublasSticky(&cx->st, cublasGemmEx(cx->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)T, (int)k, &alpha, w,
                                       CUDA_R_16BF, (int)k, cx->xb, CUDA_R_16BF, (int)k, &beta, y, CUDA_R_32F,
                                       (int)n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

static void cu_linear(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, int acc) {
    CudaCtx *cx = CX(be);
    SKIP_IF_FAILED(cx);
    if (T == 0 || w->n == 0) return;
    gemm(be, y, x, w->w, T, w->n, w->k, acc ? 1.0f : 0.0f);
    if (w->b) {
        add_bias_kernel<<<grid_for(T * w->n, 256), 256>>>(y, w->b, T, w->n);
        LAUNCH_CHECK(cx);
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
    SKIP_IF_FAILED(CX(be));
    if (!T) return;
    rmsnorm_kernel<<<(unsigned int)T, 256>>>(y, x, g, d, eps);
    LAUNCH_CHECK(CX(be));
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
    CudaCtx *cx = CX(be);
    SKIP_IF_FAILED(cx);
    if (!T) return;
    int half = hd / 2;
    if (!scratch_fits(cx, cx->inv_freq ? ROPE_MAX_HALF : 0, (size_t)half,
                      "rope frequencies (head_dim <= 1024)"))
        return;
    if (cx->inv_theta != theta || cx->inv_hd != hd) {
        // inv_freq[i] = 1 / theta^(2i / hd), in fp32 exactly as the CPU backend computes it
        float h[ROPE_MAX_HALF];
        for (int i = 0; i < half; i++)
            h[i] = (float)(1.0 / pow(theta, (double)(2 * i) / (double)hd));
        cudaSticky(&cx->st,
                   cudaMemcpy(cx->inv_freq, h, (size_t)half * sizeof(float), cudaMemcpyHostToDevice));
        cx->inv_theta = theta;
        cx->inv_hd = hd;
    }
    rope_kernel<<<(unsigned int)T, 128, 2 * (size_t)half * sizeof(float)>>>(qk, ld, pos, nheads, hd,
                                                                            cx->inv_freq);
    LAUNCH_CHECK(cx);
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
    SKIP_IF_FAILED(CX(be));
    if (!T || !f) return;
    swiglu_kernel<<<grid_for(T * f, 256), 256>>>(out, gu, T, f);
    LAUNCH_CHECK(CX(be));
}

// one block per token: the row of its id (fp32 out), zero outside the slice
template <typename Tw>
__global__ void embed_kernel(float *x, const int32_t *ids, const Tw *w, size_t V, size_t d, int64_t v0) {
    int64_t r = (int64_t)ids[blockIdx.x] - v0;
    float *xr = x + blockIdx.x * d;
    int ok = r >= 0 && r < (int64_t)V;
    const Tw *wr = w + (ok ? (size_t)r : 0) * d;
    for (size_t i = threadIdx.x; i < d; i += blockDim.x)
        xr[i] = ok ? load_f32(wr + i) : 0.0f;
}

static void cu_embed(LsBackend *be, float *x, const int32_t *ids, size_t T, const LsWeight *emb, int64_t v0) {
    CX(be)->batch++; // a batch starts with the embedding (the attention reads seq_off back once per batch)
    SKIP_IF_FAILED(CX(be));
    if (!T) return;
    if (be->precision == LS_PREC_FP32)
        embed_kernel<<<(unsigned int)T, 256>>>(x, ids, (const float *)emb->w, emb->n, emb->k, v0);
    else
        embed_kernel<<<(unsigned int)T, 256>>>(x, ids, (const __nv_bfloat16 *)emb->w, emb->n, emb->k, v0);
    LAUNCH_CHECK(CX(be));
}

__global__ void add_kernel(float *y, const float *x, size_t n) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

static void cu_add(LsBackend *be, float *y, const float *x, size_t n) {
    SKIP_IF_FAILED(CX(be));
    if (!n) return;
    add_kernel<<<grid_for(n, 256), 256>>>(y, x, n);
    LAUNCH_CHECK(CX(be));
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
    attention_kernel(float *out, const float *qkv, size_t ld, const int32_t *seq_off, int nseq, int H,
                     int Hkv, int hd, int q_head0, int kv_head0, int group, float scale, int window) {
    const int T = seq_off[nseq]; // the grid covers batch_tokens rows; T <= that
    if ((int)(blockIdx.x * ATT_BR) >= T) return;
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
        if (window > 0 && trow[i] < T) s0[i] = max(s0[i], trow[i] - window + 1); // sliding window
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int n = 0; n < NC; n++)
            acc[i][n] = 0.0f;
    }
    const int kbeg =
        window > 0 ? max(seq_start(seq_off, nseq, t0), t0 - window + 1) : seq_start(seq_off, nseq, t0);
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
                              int H, int Hkv, int hd, int q_head0, int kv_head0, int group, float scale,
                              int window) {
    const int T = seq_off[nseq];
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
    const int s0 =
        window > 0 ? max(seq_start(seq_off, nseq, t), t - window + 1) : seq_start(seq_off, nseq, t);
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

// ---------------------------------------------------------------------------
// tensor-core attention (precision bf16)
//
// Per block of up to ATT_TC_BQ queries of one sequence, on tensor cores
// through cuBLAS, keys limited to the causal range [sequence start (or the
// window's), last query of the block]:
//   S = scale * Q K^T       strided-batched bf16 GEMM, fp32 out
//   P = softmax(S) (masked) one kernel, fp32 arithmetic, P rounded to bf16
//   O = P V                 strided-batched bf16 GEMM, fp32 out, then scattered
// A batch b of the GEMMs holds one KV head and the G query heads that read it,
// stacked as rows (t, j) - one GEMM per KV head - when this rank holds whole
// groups of query heads; otherwise G = 1 and each query head gets its own copy
// of its KV head. q, k, v are first packed to bf16 in those layouts:
//   Qp [nb][T][G][hd], Kp / Vp [nb][T][hd].
// The host needs the sequence offsets: they are read back once per batch (at
// the first attention after embed), not per layer.
// Roundings against the fp32 kernel: q, k, v and P to bf16 (fp32 accumulation
// and softmax); CPU emulation and tolerance: tests/unit/test_cuda_kernels.c.

// heads stacked per GEMM batch (G) and batches (nb) for this rank's heads
static void attn_groups(const LsAttnShape *s, int *G, int *nb) {
    int whole = s->group > 0 && s->q_head0 % s->group == 0 && s->H % s->group == 0;
    *G = whole ? s->group : 1;
    *nb = s->H / *G;
}

__global__ void attn_pack_kernel(__nv_bfloat16 *Qp, __nv_bfloat16 *Kp, __nv_bfloat16 *Vp, const float *qkv,
                                 size_t ld, int T, int H, int Hkv, int hd, int q_head0, int kv_head0,
                                 int group, int G) {
    const int t = blockIdx.x, b = blockIdx.y;
    const float *row = qkv + (size_t)t * ld;
    const int kvh = (q_head0 + b * G) / group - kv_head0;
    __nv_bfloat16 *q = Qp + ((size_t)b * T + t) * G * hd;
    for (int i = threadIdx.x; i < G * hd; i += blockDim.x)
        q[i] = __float2bfloat16_rn(row[(size_t)b * G * hd + i]); // heads b G .. b G + G - 1 are contiguous
    __nv_bfloat16 *k = Kp + ((size_t)b * T + t) * hd, *v = Vp + ((size_t)b * T + t) * hd;
    for (int c = threadIdx.x; c < hd; c += blockDim.x) {
        k[c] = __float2bfloat16_rn(row[(size_t)(H + kvh) * hd + c]);
        v[c] = __float2bfloat16_rn(row[(size_t)(H + Hkv + kvh) * hd + c]);
    }
}

// one block per row of S [nb][M][Lk]: row r of a batch is query t = q0 + r / G;
// its keys k0 + j are valid for k0 + j <= t (and t - (k0 + j) < window if window > 0)
__global__ void attn_softmax_kernel(__nv_bfloat16 *P, const float *S, int M, int Lk, int G, int q0, int k0,
                                    int window) {
    __shared__ float sh[32];
    const size_t row = blockIdx.x;
    const int t = q0 + (int)(row % (size_t)M) / G;
    const float *s = S + row * Lk;
    __nv_bfloat16 *p = P + row * Lk;
    const int hi = min(Lk, t - k0 + 1), lo = window > 0 ? max(0, t - window + 1 - k0) : 0;
    float m = -INFINITY;
    for (int j = lo + threadIdx.x; j < hi; j += blockDim.x)
        m = fmaxf(m, s[j]);
    m = block_max(m, sh);
    float l = 0.0f;
    for (int j = lo + threadIdx.x; j < hi; j += blockDim.x)
        l += expf(s[j] - m);
    l = block_sum(l, sh);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int j = threadIdx.x; j < Lk; j += blockDim.x)
        p[j] = __float2bfloat16_rn(j >= lo && j < hi ? expf(s[j] - m) * inv : 0.0f);
}

// Ob [nb][M][hd] -> out [T, H hd] rows q0 .. q0 + M / G - 1: row r = (t - q0) G + j is head b G + j
__global__ void attn_scatter_kernel(float *out, const float *Ob, int M, int G, int hd, int H, int q0) {
    const int r = blockIdx.x, b = blockIdx.y, t = q0 + r / G, j = r % G;
    const float *o = Ob + ((size_t)b * M + r) * hd;
    float *d = out + (size_t)t * H * hd + (size_t)(b * G + j) * hd;
    for (int c = threadIdx.x; c < hd; c += blockDim.x)
        d[c] = o[c];
}

// Bytes of the tensor-core attention's scratch for batches of s->tokens (none in fp32: the fp32 kernel).
static void attn_tc_plan(const LsBackend *be, const LsBatchShape *s, size_t *qkv, size_t *S, size_t *P,
                         size_t *O) {
    *qkv = *S = *P = *O = 0;
    if (be->precision == LS_PREC_FP32 || s->heads <= 0) return;
    const size_t T = s->tokens, H = (size_t)s->heads, hd = (size_t)s->head_dim;
    const size_t bq = T < ATT_TC_BQ ? T : ATT_TC_BQ;
    *qkv = T * 3 * H * hd * sizeof(__nv_bfloat16); // worst case G = 1: a K and V copy per query head
    *S = H * bq * T * sizeof(float);
    *P = H * bq * T * sizeof(__nv_bfloat16);
    *O = H * bq * hd * sizeof(float);
}

// The host copy of this batch's seq_off (read back at the batch's first attention).
static const int32_t *seq_offsets(CudaCtx *cx, const int32_t *seq_off, int nseq) {
    if (cx->seq_batch != cx->batch || cx->seq_dev != seq_off) {
        if (!scratch_fits(cx, cx->seq_cap / sizeof(int32_t), (size_t)nseq + 1, "sequence offsets"))
            return NULL;
        cudaError_t err =
            cudaMemcpy(cx->seq_host, seq_off, ((size_t)nseq + 1) * sizeof(int32_t), cudaMemcpyDeviceToHost);
        if (err != cudaSuccess) {
            ls_cuda_sticky_set(&cx->st, __FILE__, __LINE__, "cudaMemcpy(seq_off)", cudaGetErrorString(err));
            return NULL;
        }
        cx->seq_batch = cx->batch;
        cx->seq_dev = seq_off;
    }
    return cx->seq_host;
}

// One block of queries [q0, q1) of a sequence against keys [k0, q1).
static void attn_tc_block(CudaCtx *cx, float *out, int T, int q0, int q1, int k0, int window, int G, int nb,
                          const LsAttnShape *s, float scale) {
    const int hd = s->hd, M = (q1 - q0) * G, Lk = q1 - k0;
    const __nv_bfloat16 *Qp = cx->att_qkv, *Kp = Qp + (size_t)nb * T * G * hd, *Vp = Kp + (size_t)nb * T * hd;
    if (!scratch_fits(cx, cx->att_s_cap, (size_t)nb * M * Lk * sizeof(float), "attention scores") ||
        !scratch_fits(cx, cx->att_o_cap, (size_t)nb * M * hd * sizeof(float), "attention block output"))
        return;
    const float one = 1.0f, zero = 0.0f;
    // S^T [Lk, M] (column-major) = K [k0.., hd] . Q [q0.., hd]^T, per batch b
    cublasSticky(&cx->st, cublasGemmStridedBatchedEx(
                              cx->blas, CUBLAS_OP_T, CUBLAS_OP_N, Lk, M, hd, &scale, Kp + (size_t)k0 * hd,
                              CUDA_R_16BF, hd, (long long)T * hd, Qp + (size_t)q0 * G * hd, CUDA_R_16BF, hd,
                              (long long)T * G * hd, &zero, cx->att_s, CUDA_R_32F, Lk, (long long)M * Lk, nb,
                              CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    attn_softmax_kernel<<<(unsigned int)((size_t)nb * M), 256>>>(cx->att_p, cx->att_s, M, Lk, G, q0, k0,
                                                                 window);
    LAUNCH_CHECK(cx);
    // O^T [hd, M] (column-major) = V^T [hd, Lk] . P^T [Lk, M], per batch b
    cublasSticky(&cx->st, cublasGemmStridedBatchedEx(cx->blas, CUBLAS_OP_N, CUBLAS_OP_N, hd, M, Lk, &one,
                                                     Vp + (size_t)k0 * hd, CUDA_R_16BF, hd, (long long)T * hd,
                                                     cx->att_p, CUDA_R_16BF, Lk, (long long)M * Lk, &zero,
                                                     cx->att_o, CUDA_R_32F, hd, (long long)M * hd, nb,
                                                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    attn_scatter_kernel<<<dim3((unsigned int)M, (unsigned int)nb), 128>>>(out, cx->att_o, M, G, hd, s->H, q0);
    LAUNCH_CHECK(cx);
}

static void attention_tc(CudaCtx *cx, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                         int nseq, const LsAttnShape *s, float scale, int window) {
    const int32_t *off = seq_offsets(cx, seq_off, nseq);
    if (!off) return;
    const int T = off[nseq];
    int G, nb;
    attn_groups(s, &G, &nb);
    if (T <= 0 || !scratch_fits(cx, cx->att_qkv_cap, (size_t)T * (G + 2) * nb * s->hd * sizeof(__nv_bfloat16),
                                "attention bf16 q / k / v"))
        return;
    __nv_bfloat16 *Qp = cx->att_qkv, *Kp = Qp + (size_t)nb * T * G * s->hd, *Vp = Kp + (size_t)nb * T * s->hd;
    attn_pack_kernel<<<dim3((unsigned int)T, (unsigned int)nb), 128>>>(
        Qp, Kp, Vp, qkv, ld, T, s->H, s->Hkv, s->hd, s->q_head0, s->kv_head0, s->group, G);
    LAUNCH_CHECK(cx);
    for (int q = 0; q < nseq; q++)
        for (int q0 = off[q]; q0 < off[q + 1]; q0 += ATT_TC_BQ) {
            const int q1 = min(q0 + ATT_TC_BQ, (int)off[q + 1]);
            const int k0 = window > 0 ? max((int)off[q], q0 - window + 1) : off[q];
            attn_tc_block(cx, out, T, q0, q1, k0, window, G, nb, s, scale);
            SKIP_IF_FAILED(cx);
        }
}

// Grids cover batch_tokens rows (reserve()); blocks past the batch's T (read
// on the device) return at once, so no copy back is needed to size them.
template <int NC>
static int launch_attention(CudaCtx *cx, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                            int nseq, const LsAttnShape *s, float scale) {
    // keys of a row: [max(its sequence start, row - window + 1), row] (window 0: the whole prefix)
    size_t smem =
        ((size_t)ATT_BR * s->hd + (size_t)ATT_BC * (s->hd + 1) + (size_t)ATT_BC * s->hd) * sizeof(float);
    if (smem > cx->smem_optin) return 0;
    if (smem > 48 * 1024 &&
        cudaFuncSetAttribute(attention_kernel<NC>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem) !=
            cudaSuccess) {
        cudaGetLastError(); // not sticky: the fallback kernel runs instead
        return 0;
    }
    dim3 grid((unsigned int)((cx->max_tokens + ATT_BR - 1) / ATT_BR), (unsigned int)s->H);
    attention_kernel<NC><<<grid, 256, smem>>>(out, qkv, ld, seq_off, nseq, s->H, s->Hkv, s->hd, s->q_head0,
                                              s->kv_head0, s->group, scale, s->window);
    return 1;
}

static void cu_attention(LsBackend *be, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                         int nseq, const LsAttnShape *s) {
    CudaCtx *cx = CX(be);
    SKIP_IF_FAILED(cx);
    if (nseq <= 0 || s->H <= 0 || !scratch_fits(cx, cx->max_tokens, 1, "attention (reserve() first)")) return;
    const float scale = s->scale > 0 ? s->scale : 1.0f / sqrtf((float)s->hd); // 0: 1 / sqrt(hd)
    if (be->precision == LS_PREC_BF16)
        return attention_tc(cx, out, qkv, ld, seq_off, nseq, s, scale, s->window);
    int nc = (s->hd + 31) / 32, done = 0;
    if (nc <= 1)
        done = launch_attention<1>(cx, out, qkv, ld, seq_off, nseq, s, scale);
    else if (nc <= 2)
        done = launch_attention<2>(cx, out, qkv, ld, seq_off, nseq, s, scale);
    else if (nc <= 4)
        done = launch_attention<4>(cx, out, qkv, ld, seq_off, nseq, s, scale);
    else if (nc <= 8)
        done = launch_attention<8>(cx, out, qkv, ld, seq_off, nseq, s, scale);
    else if (nc <= 16)
        done = launch_attention<16>(cx, out, qkv, ld, seq_off, nseq, s, scale);
    if (!done) {
        if (!scratch_fits(cx, 32 * ATT_FALLBACK_NC, (size_t)s->hd, "attention head_dim")) return;
        dim3 grid((unsigned int)((cx->max_tokens + 7) / 8), (unsigned int)s->H);
        attention_fallback_kernel<<<grid, 256>>>(out, qkv, ld, seq_off, nseq, s->H, s->Hkv, s->hd, s->q_head0,
                                                 s->kv_head0, s->group, scale, s->window);
    }
    LAUNCH_CHECK(cx);
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

// The better of two candidates (value, id, position in the chunk).
__device__ __forceinline__ void topk_keep(float &v, int32_t &i, int &p, float ov, int32_t oi, int op) {
    if (topk_before(ov, oi, v, i) || (ov == v && oi == i && op < p)) v = ov, i = oi, p = op;
}

// Top-k by chunks, by selection: block (ch, r) loads elements
// [ch * TOPK_CHUNK, +TOPK_CHUNK) of row r into shared memory and takes the
// best remaining one K times (a block-wide arg-max, the winner then removed),
// writing them to out [r][ch][K] in order: K passes over the chunk instead of
// a full sort. ids == NULL: the id of element g is id0 + g. Padding and
// removed elements are (-inf, INT_MAX), which maps to id -1 at the end.
__global__ void __launch_bounds__(1024)
    topk_chunk_kernel(const float *vals, const int32_t *ids, size_t ld, size_t n, int64_t id0, int K,
                      float *ov, int32_t *oi) {
    __shared__ float sv[TOPK_CHUNK];
    __shared__ int32_t si[TOPK_CHUNK];
    __shared__ float wv[32];
    __shared__ int32_t wi[32];
    __shared__ int wp[32];
    const size_t r = blockIdx.y, base = (size_t)blockIdx.x * TOPK_CHUNK, nch = gridDim.x;
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int i = threadIdx.x; i < TOPK_CHUNK; i += blockDim.x) {
        size_t g = base + i;
        sv[i] = g < n ? vals[r * ld + g] : -INFINITY;
        si[i] = g < n ? (ids ? ids[r * ld + g] : (int32_t)(id0 + (int64_t)g)) : INT_MAX;
    }
    __syncthreads();
    for (int k = 0; k < K; k++) {
        float bv = -INFINITY;
        int32_t bi = INT_MAX;
        int bp = TOPK_CHUNK;
        for (int i = threadIdx.x; i < TOPK_CHUNK; i += blockDim.x)
            topk_keep(bv, bi, bp, sv[i], si[i], i);
        for (int o = 16; o > 0; o >>= 1)
            topk_keep(bv, bi, bp, __shfl_xor_sync(0xffffffffu, bv, o), __shfl_xor_sync(0xffffffffu, bi, o),
                      __shfl_xor_sync(0xffffffffu, bp, o));
        if (lane == 0) wv[w] = bv, wi[w] = bi, wp[w] = bp;
        __syncthreads();
        if (w == 0) {
            bv = lane < nw ? wv[lane] : -INFINITY;
            bi = lane < nw ? wi[lane] : INT_MAX;
            bp = lane < nw ? wp[lane] : TOPK_CHUNK;
            for (int o = 16; o > 0; o >>= 1)
                topk_keep(bv, bi, bp, __shfl_xor_sync(0xffffffffu, bv, o),
                          __shfl_xor_sync(0xffffffffu, bi, o), __shfl_xor_sync(0xffffffffu, bp, o));
            if (lane == 0) {
                ov[(r * nch + blockIdx.x) * K + k] = bv;
                oi[(r * nch + blockIdx.x) * K + k] = bi;
                if (bp < TOPK_CHUNK) sv[bp] = -INFINITY, si[bp] = INT_MAX; // taken
            }
        }
        __syncthreads();
    }
}

// x = c tanh(x / c), n elements (final logit soft-capping)
__global__ void softcap_kernel(float *x, size_t n, float c) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
        x[i] = c * tanhf(x[i] / c);
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

// Bytes of the head's device outputs for R rows: partials [R, nsl], want [R],
// tgt [R, ntgt], topv / topi [R, K].
static size_t head_out_bytes(size_t R, size_t nsl, size_t nt, size_t kk) {
    return R * nsl * sizeof(LsSoftmaxPartial) + R * sizeof(float) + R * nt * sizeof(float) +
           R * kk * (sizeof(float) + sizeof(int32_t));
}

// Top-k by rounds of chunk sorts: V values -> ceil(V / CHUNK) * K candidates -> ... -> K.
static void head_topk(CudaCtx *cx, size_t R, size_t V, int64_t v0, int K, float *d_topv, int32_t *d_topi) {
    const size_t kk = (size_t)K, half = R * ((V + TOPK_CHUNK - 1) / TOPK_CHUNK) * kk;
    if (!scratch_fits(cx, cx->cand_cap, 2 * half * (sizeof(float) + sizeof(int32_t)), "top-k candidates"))
        return;
    float *cv[2] = {(float *)cx->cand, (float *)cx->cand + half};
    int32_t *ci[2] = {(int32_t *)(cv[1] + half), (int32_t *)(cv[1] + half) + half};
    const float *in_v = cx->logits;
    const int32_t *in_i = NULL;
    size_t n = V, ld = V;
    for (int buf = 0;; buf ^= 1) {
        size_t nch = (n + TOPK_CHUNK - 1) / TOPK_CHUNK;
        float *ov = nch == 1 ? d_topv : cv[buf];
        int32_t *oi = nch == 1 ? d_topi : ci[buf];
        topk_chunk_kernel<<<dim3((unsigned int)nch, (unsigned int)R), 1024>>>(in_v, in_i, ld, n, v0, K, ov,
                                                                              oi);
        LAUNCH_CHECK(cx);
        if (nch == 1) break;
        in_v = ov;
        in_i = oi;
        n = ld = nch * kk;
    }
}

static void cu_head_partials(LsBackend *be, const float *h, size_t R, const LsWeight *W, int64_t v0, int nsl,
                             const size_t *cut, const int32_t *want_ids, const int32_t *tgt_ids, int ntgt,
                             int K, LsSoftmaxPartial *part, float *want, float *tgt, float *topv,
                             int32_t *topi) {
    CudaCtx *cx = CX(be);
    const size_t V = W->n, d = W->k;
    cx->last_R = R;
    cx->last_V = V;
    SKIP_IF_FAILED(cx);
    if (!R) return;
    if (nsl < 1) nsl = 1;
    const size_t kk = (size_t)(K > 0 ? K : 0), nt = (size_t)(ntgt > 0 ? ntgt : 0), np = R * (size_t)nsl;
    const size_t ncut = cut ? (size_t)nsl + 1 : 0, nin = R + nt + ncut,
                 ob = head_out_bytes(R, (size_t)nsl, nt, kk);
    if (!scratch_fits(cx, cx->logits_cap, R * V * sizeof(float), "the head logits [rows, vocab slice]") ||
        !scratch_fits(cx, cx->hin_cap, nin * sizeof(int32_t), "head inputs (rows, targets, sub-slices)") ||
        !scratch_fits(cx, cx->hout_cap, ob, "head outputs (rows, sub-slices, targets, top-k)") ||
        !scratch_fits(cx, HEAD_MAX_K, kk, "top-k (K <= 64)"))
        return;
    // L [R, V] = h [R, d] . W [V, d]^T, fp32, stays on the device (Gemma: capped to c tanh(L / c))
    gemm(be, cx->logits, h, W->w, R, V, d, 0.0f);
    if (W->logit_softcap > 0) {
        softcap_kernel<<<grid_for(R * V, 256), 256>>>(cx->logits, R * V, W->logit_softcap);
        LAUNCH_CHECK(cx);
    }

    // inputs through the pinned buffer, one async copy: want ids [R], target ids, sub-slice cuts
    int32_t *hi = (int32_t *)cx->hpin;
    for (size_t r = 0; r < R; r++)
        hi[r] = want_ids ? want_ids[r] : -1;
    for (size_t t = 0; t < nt; t++)
        hi[R + t] = tgt_ids[t];
    for (size_t i = 0; i < ncut; i++)
        hi[R + nt + i] = (int32_t)cut[i];
    cudaSticky(&cx->st, cudaMemcpyAsync(cx->hin, hi, nin * sizeof(int32_t), cudaMemcpyHostToDevice, 0));

    // outputs on the device, in the order of the host arrays
    double *d_part = (double *)cx->hout;
    float *d_want = (float *)(d_part + 3 * np);
    float *d_tgt = d_want + R;
    float *d_topv = d_tgt + R * nt;
    int32_t *d_topi = (int32_t *)(d_topv + R * kk);
    head_stats_kernel<<<dim3((unsigned int)R, (unsigned int)nsl), 256>>>(
        cx->logits, V, v0, cut ? cx->hin + R + nt : NULL, cx->hin, 1, cx->hin + R, (int)nt, d_part, d_want,
        d_tgt);
    LAUNCH_CHECK(cx);
    if (K > 0) head_topk(cx, R, V, v0, K, d_topv, d_topi);
    SKIP_IF_FAILED(cx);
    // one copy back into pinned memory (the hpin inputs were consumed in stream order)
    unsigned char *p = (unsigned char *)cx->hpin;
    cudaSticky(&cx->st, cudaMemcpyAsync(p, cx->hout, ob, cudaMemcpyDeviceToHost, 0));
    cudaSticky(&cx->st, cudaStreamSynchronize(0));
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
}

static void cu_head_count_greater(LsBackend *be, size_t R, const float *thr, int64_t *cnt) {
    CudaCtx *cx = CX(be);
    SKIP_IF_FAILED(cx);
    if (!R) return;
    if (!scratch_fits(cx, cx->last_R, R, "head_count_greater rows (after head_partials of fewer)")) return;
    // thresholds [R] fp32 in, counts [R] int64 out, through the pinned buffer and the head output scratch
    int64_t *d_cnt = (int64_t *)cx->hout;
    float *d_thr = (float *)(d_cnt + R);
    memcpy(cx->hpin, thr, R * sizeof(float));
    cudaSticky(&cx->st, cudaMemcpyAsync(d_thr, cx->hpin, R * sizeof(float), cudaMemcpyHostToDevice, 0));
    count_greater_kernel<<<(unsigned int)R, 256>>>(cx->logits, cx->last_V, d_thr, d_cnt);
    LAUNCH_CHECK(cx);
    cudaSticky(&cx->st, cudaMemcpyAsync(cx->hpin, d_cnt, R * sizeof(int64_t), cudaMemcpyDeviceToHost, 0));
    cudaSticky(&cx->st, cudaStreamSynchronize(0));
    memcpy(cnt, cx->hpin, R * sizeof(int64_t));
}

// ---------------------------------------------------------------------------
// life cycle

static int cu_set_precision(LsBackend *be, LsPrecision p, LsError *e) {
    if (p != LS_PREC_BF16 && p != LS_PREC_FP32)
        return ls_fail(e, "cuda backend: unknown precision %d", (int)p);
    be->precision = p;
    return LS_OK;
}

// Free device memory, less a margin for the CUDA context's and cuBLAS's own
// allocations (workspaces, kernels' local memory).
#define DEVICE_MARGIN ((size_t)512 << 20)
static size_t cu_mem_available(LsBackend *be) {
    (void)be;
    size_t fr = 0, tot = 0;
    if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return fr > DEVICE_MARGIN ? fr - DEVICE_MARGIN : 1;
}

// The scratch a batch shape needs: sizes in bytes of every reserved buffer.
typedef struct {
    size_t xb, logits, cand, hout, hin, head_rows;
    size_t att_qkv, att_s, att_p, att_o, seq; // tensor-core attention (bf16)
} CudaScratch;

static CudaScratch scratch_plan(const LsBackend *be, const LsBatchShape *s) {
    CudaScratch c;
    const size_t R = s->tokens < HEAD_ROWS ? s->tokens : HEAD_ROWS, V = s->vocab;
    const size_t nch = (V + TOPK_CHUNK - 1) / TOPK_CHUNK;
    c.head_rows = R;
    c.xb = be->precision == LS_PREC_FP32 ? 0 : s->tokens * s->gemm_k * sizeof(__nv_bfloat16);
    c.logits = R * V * sizeof(float);
    c.cand = 2 * R * nch * HEAD_MAX_K * (sizeof(float) + sizeof(int32_t));
    c.hout = head_out_bytes(R, HEAD_MAX_SLICES, HEAD_MAX_TGT, HEAD_MAX_K);
    c.hin = (R + HEAD_MAX_TGT + HEAD_MAX_SLICES + 1) * sizeof(int32_t);
    attn_tc_plan(be, s, &c.att_qkv, &c.att_s, &c.att_p, &c.att_o);
    c.seq = (s->tokens + 1) * sizeof(int32_t);
    return c;
}

static size_t cu_mem_needed(LsBackend *be, const LsBatchShape *s) {
    CudaScratch c = scratch_plan(be, s);
    size_t w = s->weight_elems * weight_elem_bytes(be);
    return w + c.xb + c.logits + c.cand + c.hout + c.hin + c.att_qkv + c.att_s + c.att_p + c.att_o +
           2 * STAGE_BYTES + ROPE_MAX_HALF * sizeof(float);
}

// Grows a reserved buffer to at least `bytes` (device, or pinned host memory).
static int reserve_one(void **p, size_t *cap, size_t bytes, int pinned, const char *what, LsError *e) {
    if (*p && *cap >= bytes) return LS_OK;
    if (*p) pinned ? cudaFreeHost(*p) : cudaFree(*p);
    *p = NULL;
    *cap = 0;
    cudaError_t err = pinned ? cudaMallocHost(p, bytes ? bytes : 256) : cudaMalloc(p, bytes ? bytes : 256);
    if (err != cudaSuccess) {
        cudaGetLastError();
        *p = NULL;
        return ls_fail(
            e, "cuda backend: cannot allocate %.1f MiB of %s memory for %s (%s); lower batch_tokens",
            (double)bytes / 1048576.0, pinned ? "pinned host" : "GPU", what, cudaGetErrorString(err));
    }
    *cap = bytes;
    return LS_OK;
}

// Sizes the scratch for batches of shape *s, at load time. Several models may
// share one backend (compare; operations run one after another on one
// stream): their buffers are shared, each grown to the largest shape.
static int cu_reserve(LsBackend *be, const LsBatchShape *s, size_t *head_rows, LsError *e) {
    CudaCtx *cx = CX(be);
    CudaScratch c = scratch_plan(be, s);
    if (reserve_one((void **)&cx->xb, &cx->xb_cap, c.xb, 0, "the bf16 copies of GEMM inputs", e) ||
        reserve_one((void **)&cx->logits, &cx->logits_cap, c.logits, 0, "the head logits [rows, vocab slice]",
                    e) ||
        reserve_one(&cx->cand, &cx->cand_cap, c.cand, 0, "top-k candidates", e) ||
        reserve_one(&cx->hout, &cx->hout_cap, c.hout, 0, "head outputs", e) ||
        reserve_one(&cx->hpin, &cx->hpin_cap, c.hout, 1, "head inputs and outputs", e) ||
        reserve_one((void **)&cx->hin, &cx->hin_cap, c.hin, 0, "head inputs", e) ||
        reserve_one((void **)&cx->inv_freq, &cx->inv_freq_cap, ROPE_MAX_HALF * sizeof(float), 0,
                    "rope frequencies", e) ||
        reserve_one((void **)&cx->att_qkv, &cx->att_qkv_cap, c.att_qkv, 0, "the attention's bf16 q / k / v",
                    e) ||
        reserve_one((void **)&cx->att_s, &cx->att_s_cap, c.att_s, 0, "the attention scores of a query block",
                    e) ||
        reserve_one((void **)&cx->att_p, &cx->att_p_cap, c.att_p, 0, "the attention probabilities (bf16)",
                    e) ||
        reserve_one((void **)&cx->att_o, &cx->att_o_cap, c.att_o, 0, "the attention output of a query block",
                    e) ||
        reserve_one((void **)&cx->seq_host, &cx->seq_cap, c.seq, 1, "the sequence offsets", e))
        return LS_ERR;
    if (s->tokens > cx->max_tokens) cx->max_tokens = s->tokens;
    if (c.head_rows > cx->head_rows) cx->head_rows = c.head_rows;
    *head_rows = c.head_rows;
    return LS_OK;
}

LsCudaSticky *ls_cuda_sticky(LsBackend *be) {
    return &CX(be)->st;
}

static int cu_check(LsBackend *be, LsError *e) {
    CudaCtx *cx = CX(be);
    if (!cx->st.failed) { // asynchronous kernel faults surface here, once per batch
        cudaError_t err = cudaDeviceSynchronize();
        if (err != cudaSuccess)
            ls_cuda_sticky_set(&cx->st, __FILE__, __LINE__, "cudaDeviceSynchronize()",
                               cudaGetErrorString(err));
    }
    if (!cx->st.failed) return LS_OK;
    return ls_fail(e, "cuda backend: %s", cx->st.err.msg);
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
        if (cx->hpin) cudaFreeHost(cx->hpin);
        if (cx->seq_host) cudaFreeHost(cx->seq_host);
        cudaFree(cx->att_qkv);
        cudaFree(cx->att_s);
        cudaFree(cx->att_p);
        cudaFree(cx->att_o);
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
    cx->seq_batch = -1;
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
    be->mem_available = cu_mem_available;
    be->mem_needed = cu_mem_needed;
    be->reserve = cu_reserve;
    be->check = cu_check;
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
    be->features = LS_FEAT_ATTN_WINDOW | LS_FEAT_ATTN_SCALE | LS_FEAT_HEAD_SOFTCAP;
    ls_log0("cuda backend: device %d, %s (sm_%d%d, %d SMs, %.1f GiB)", device, prop.name, prop.major,
            prop.minor, prop.multiProcessorCount, (double)prop.totalGlobalMem / 1073741824.0);
    return be;
}
