/* ls/backend.h — the operations the forward pass needs, behind one small
 * interface so the same decoder code runs on the CPU (src/backend/cpu) and on
 * NVIDIA GPUs (src/backend/cuda). All activations are fp32 buffers owned by
 * the backend (host memory on the CPU, device memory on CUDA); weights are
 * converted once, at load, into the backend's own format (LsWeight).
 *
 * Dimension letters: T tokens in the packed batch, d model width, n/k the
 * output/input width of a linear layer, H / Hkv query / key-value heads, hd
 * head dim, V vocab rows held by this rank.
 */
#ifndef LS_BACKEND_H
#define LS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "ls/common.h"
#include "ls/model.h"

/* A slice of a stored 2-D tensor: rows [row0, row0+nrows), cols [col0, col0+ncols),
 * with an optional 1-D bias sliced by the same rows. */
typedef struct {
    const LsTensor *w;
    const LsTensor *b; /* may be NULL */
    size_t row0, nrows;
    size_t col0, ncols;
} LsWeightSlice;

/* A linear layer's weight in backend format: y = x W^T + b, W [n, k]. */
typedef struct {
    size_t n, k;
    void *w;             /* backend-specific storage of [n, k] */
    float *b;            /* [n] fp32 in backend memory, or NULL */
    float logit_softcap; /* head only: head_partials caps its logits to c tanh(l / c) when c > 0 (Gemma) */
} LsWeight;

/* Per-row partial statistics of the predictive distribution over the vocab
 * slice [v0, v0+V) a rank holds; merged across TP ranks by src/metrics.
 * With m the slice max: s = sum exp(l - m), w = sum exp(l - m) (l - m). */
typedef struct {
    double m, s, w;
} LsSoftmaxPartial;

/* Attention heads held by one rank: H local query heads (global index
 * q_head0 + i) reading local KV head (q_head0 + i) / group - kv_head0, where
 * group = global H / global Hkv (grouped-query attention). The last two
 * fields are 0 for plain causal attention with scores scaled by 1/sqrt(hd):
 *   window   query i sees keys j with i - window < j <= i (transformers'
 *            sliding_window; 0 = all j <= i)
 *   scale    the scores' scale when > 0 (Gemma: query_pre_attn_scalar^-0.5)
 * A backend computes them only with the matching LS_FEAT_ATTN_* bit set. */
typedef struct {
    int H, Hkv, hd;
    int q_head0, kv_head0, group;
    int window;
    float scale;
} LsAttnShape;

/* Optional abilities of a backend (LsBackend.features); the forward pass
 * refuses a model that needs one the backend lacks. */
enum {
    LS_FEAT_ATTN_WINDOW = 1 << 0,  /* LsAttnShape.window */
    LS_FEAT_ATTN_SCALE = 1 << 1,   /* LsAttnShape.scale */
    LS_FEAT_HEAD_SOFTCAP = 1 << 2, /* LsWeight.logit_softcap in head_partials */
};

/* Compute precision (config key `precision`, recorded per model in the file).
 * fp32: fp32 GEMMs and attention (the contract: within 1e-4 of transformers
 * fp32). bf16: GEMM inputs rounded to bf16 with fp32 accumulation (fast mode);
 * norms, softmax, log-sum-exp and the head statistics stay fp32. */
typedef enum { LS_PREC_FP32 = 0, LS_PREC_BF16 = 1 } LsPrecision;
const char *ls_precision_name(LsPrecision p);          /* "fp32" / "bf16" */
int ls_precision_parse(const char *s, LsPrecision *p); /* LS_OK, or LS_ERR for another string */

/* What a backend computes on, recorded per model in the output file. */
typedef struct {
    char device[8];      /* "cpu" / "cuda" */
    char precision[8];   /* the precision in force: "fp32" / "bf16" */
    char processor[128]; /* CPU model name, or GPU name */
    char runtime[160];   /* BLAS library and build, or CUDA driver / runtime / cuBLAS versions */
    int threads;         /* CPU threads per rank (0 on a GPU) */
} LsDeviceInfo;

/* What batches of a model need of a backend's memory, known when the model is
 * loaded (ls_forward_init): sizes every buffer up front, so that a batch never
 * grows one and an oversize batch_tokens is refused before any allocation. */
typedef struct {
    size_t tokens;       /* batch_tokens: rows of every activation */
    size_t weight_elems; /* weight elements this rank holds (all linear layers, embedding, head) */
    size_t
        weight_bytes; /* the same weights at their stored size (bf16 2, Q4_K 4.5 / 8 bytes per element ...) */
    size_t gemm_k;    /* widest GEMM input (columns of x in linear / head_partials) */
    size_t vocab;     /* vocab rows of the head slice */
    int heads, head_dim; /* this rank's query heads and their dim (attention scratch) */
} LsBatchShape;

typedef struct LsBackend LsBackend;
struct LsBackend {
    const char *name;
    void *ctx;
    LsPrecision precision; /* set by set_precision before any weight is loaded */
    unsigned features;     /* LS_FEAT_* bits */

    /* Chooses the precision; called once, before weight_load. LS_ERR + message
     * when this backend or processor cannot compute in it. */
    int (*set_precision)(LsBackend *be, LsPrecision p, LsError *e);
    /* Fills *out (device, processor, libraries, threads). */
    void (*describe)(LsBackend *be, LsDeviceInfo *out);

    /* Memory the backend can still allocate, in bytes (CUDA: free device
     * memory; CPU: MemAvailable of /proc/meminfo); 0 when unknown. */
    size_t (*mem_available)(LsBackend *be);
    /* Bytes of backend memory the weights (in backend format) and the
     * backend's own scratch need for batches of shape *s, beyond the
     * forward's activation arena; called before anything is allocated. */
    size_t (*mem_needed)(LsBackend *be, const LsBatchShape *s);
    /* Allocates the scratch batches of shape *s need (after the weights), so
     * no operation grows a buffer; *head_rows: the rows per head_partials
     * call it sized for (0: the caller's choice). LS_ERR + message. */
    int (*reserve)(LsBackend *be, const LsBatchShape *s, size_t *head_rows, LsError *e);
    /* The first error an operation met since the last check (operations have
     * no error return: CUDA records it, with file:line and the call, and
     * skips later work); LS_OK when none. Called once per batch. */
    int (*check)(LsBackend *be, LsError *e);

    /* memory */
    void *(*alloc)(LsBackend *be, size_t bytes, LsError *e); /* NULL + message on failure */
    void (*free)(LsBackend *be, void *p);
    void (*to_device)(LsBackend *be, void *dst, const void *src, size_t bytes);
    void (*to_host)(LsBackend *be, void *dst, const void *src, size_t bytes);
    void (*sync)(LsBackend *be);

    /* weights: the concatenation (along n) of nslices slices, converted */
    int (*weight_load)(LsBackend *be, LsWeight *out, const LsWeightSlice *slices, int nslices, LsError *e);
    void (*weight_free)(LsBackend *be, LsWeight *w);

    /* y [T, n] = x [T, k] W^T + b; with accumulate, y += instead */
    void (*linear)(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, int accumulate);
    /* y [T, n] = x[:, c0:c1] W[:, c0:c1]^T: the product over the input
     * columns [c0, c1) alone (x [T, k], row stride k; no bias); c0 == c1 gives
     * zeros. Optional (NULL: row-parallel layers run as one linear and a plain
     * all-reduce, see ls/forward.h). */
    void (*linear_cols)(LsBackend *be, float *y, const float *x, const LsWeight *w, size_t T, size_t c0,
                        size_t c1);
    /* y [T, d] = x / rms(x) * g ; g [d] */
    void (*rmsnorm)(LsBackend *be, float *y, const float *x, const float *g, size_t T, size_t d, float eps);
    /* rotates the first (H + Hkv) heads of each row of qk [T, ld] in place
     * (rotate_half convention of transformers), pos [T] absolute positions */
    void (*rope)(LsBackend *be, float *qk, size_t ld, const int32_t *pos, size_t T, int nheads, int hd,
                 double theta);
    /* out [T, H*hd] = softmax(q k^T / sqrt(hd), causal within each sequence) v;
     * q, k, v are column blocks of qkv [T, ld]; seq_off [nseq+1] token offsets */
    void (*attention)(LsBackend *be, float *out, const float *qkv, size_t ld, const int32_t *seq_off,
                      int nseq, const LsAttnShape *s);
    /* out [T, f] = silu(gu[:, :f]) * gu[:, f:] ; gu [T, 2f] */
    void (*swiglu)(LsBackend *be, float *out, const float *gu, size_t T, size_t f);
    /* x [T, d] = rows of emb for ids in [v0, v0 + emb.n), zero for others */
    void (*embed)(LsBackend *be, float *x, const int32_t *ids, size_t T, const LsWeight *emb, int64_t v0);
    /* y += x, n elements */
    void (*add)(LsBackend *be, float *y, const float *x, size_t n);

    /* Operations of some architectures (src/backend/cpu/cpu_arch.c); NULL
     * where a backend lacks one, and the forward pass then refuses a model
     * that needs it, naming the operation. */
    /* x [n] *= s */
    void (*scale)(LsBackend *be, float *x, size_t n, float s);
    /* y [T, n] += b [n] on every row */
    void (*add_bias)(LsBackend *be, float *y, const float *b, size_t T, size_t n);
    /* RMSNorm of each of the nheads hd-wide heads at the start of each row of
     * x [T, ld], in place: x / rms(x) * g, g [hd] (Qwen3 / Gemma 3 q_norm, k_norm) */
    void (*head_rmsnorm)(LsBackend *be, float *x, size_t ld, size_t T, int nheads, int hd, const float *g,
                         float eps);
    /* out [T, f] = gelu_tanh(gu[:, :f]) * gu[:, f:] ; gu [T, 2f] (gelu_pytorch_tanh) */
    void (*gelu_tanh_mul)(LsBackend *be, float *out, const float *gu, size_t T, size_t f);
    /* rope with given inverse frequencies inv_freq [hd/2] (backend memory) and
     * cos/sin multiplied by attn_factor (scaled RoPE types) */
    void (*rope_freqs)(LsBackend *be, float *qk, size_t ld, const int32_t *pos, size_t T, int nheads, int hd,
                       const float *inv_freq, float attn_factor);

    /* Head statistics for R rows h [R, d] against the head slice W [V, d]
     * (vocab ids v0 .. v0+V-1), cut into nsl sub-slices [cut[q], cut[q+1])
     * of local rows (cut NULL: nsl = 1, the whole slice), written to host arrays:
     *   part [R, nsl]     softmax partials over each sub-slice (the canonical
     *                     vocab slices of ls/forward.h, so any tp merges alike)
     *   want [R]          logit of want_ids[r] (or -INFINITY if outside the slice / < 0)
     *   tgt [R, ntgt]     logits of tgt_ids (-INFINITY outside the slice)
     *   topv/topi [R, K]  the slice's K largest logits (descending) and their global ids */
    void (*head_partials)(LsBackend *be, const float *h, size_t R, const LsWeight *W, int64_t v0, int nsl,
                          const size_t *cut, const int32_t *want_ids, const int32_t *tgt_ids, int ntgt, int K,
                          LsSoftmaxPartial *part, float *want, float *tgt, float *topv, int32_t *topi);

    /* For the rows of the last head_partials call: cnt[r] = number of the
     * slice's logits strictly greater than thr[r] (for ranks). */
    void (*head_count_greater)(LsBackend *be, size_t R, const float *thr, int64_t *cnt);

    void (*destroy)(LsBackend *be);
};

/* Checks the slices of one fused weight (same width, all with or all without
 * bias, each inside its 2-D tensor) and gives its rows n, width k, has_bias. */
int ls_weight_slices_check(const LsWeightSlice *sl, int ns, const char *backend, size_t *n, size_t *k,
                           int *has_bias, LsError *e);

/* Host memory the process can still allocate (MemAvailable of /proc/meminfo),
 * 0 when unknown; the CPU backend's mem_available. */
size_t ls_host_mem_available(void);

/* CPU backend (fp32 compute, BLAS GEMMs); nthreads <= 0 = all cores. */
LsBackend *ls_backend_cpu_create(int nthreads);
/* CUDA backend (src/backend/cuda/cuda_backend.cu): bf16 weights on the
 * device, fp32 activations, cuBLAS GEMMs with bf16 inputs and fp32
 * accumulation. device: the CUDA device index (the caller picks it, e.g. the
 * rank's local rank), or -1 for the current device. NULL + message when no
 * GPU is usable or the binary was built without CUDA. */
LsBackend *ls_backend_cuda_create(int device, LsError *e);
/* Number of visible CUDA devices; 0 with the reason in why (CUDA error
 * string, "no CUDA device visible", or "built without CUDA"). */
int ls_cuda_device_count(char *why, size_t why_len);
/* device: "auto" (CUDA if a GPU is visible and supported, else CPU, saying
 * so), "cpu" or "cuda" (an error when no GPU is usable); gpu: the CUDA device
 * index for "auto"/"cuda" (-1 = the current device); prec: passed to
 * set_precision (an error when the backend cannot compute in it). */
LsBackend *ls_backend_create(const char *device, int gpu, int nthreads, LsPrecision prec, LsError *e);

#endif
