/* cpu_gemm.h — the CPU backend's weights and GEMMs (private to src/backend/cpu).
 *
 * Weights stay compact: a CpuWeight refers to the stored tensors (mmapped
 * bf16 / f16, or whatever ls_tensor_to_f32 expands) and is expanded to fp32
 * into the fp32 GEMM's packed blocks (per thread, a few hundred KiB); only
 * weights stored as fp32 are copied (once). In bf16 precision the weight is rounded
 * to bf16 once at load and packed for the bf16 kernel in use (cpu_bf16.c):
 * 2 bytes per weight whatever the stored dtype (none for a weight stored bf16
 * under the FMA kernel, which reads the stored rows).
 */
#ifndef LS_CPU_GEMM_H
#define LS_CPU_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "ls/backend.h"

typedef struct {
    size_t n, k;
    int ns;
    LsWeightSlice *sl; /* the stored slices, concatenated along n */
    size_t *row0;      /* [ns + 1] first fused row of each slice */
    float *f32;        /* fp32 copy when every slice is stored fp32 (fp32 precision), else NULL: already
                        * in the GEMM's packed panels of f32_nr rows, element (r, c) at
                        * ((r / f32_nr) k + c) f32_nr + r % f32_nr (zeros past n) */
    int f32_nr;
    uint16_t *bf16;  /* bf16 precision: packed panels (AVX512-BF16, AMX), the rounded rows [n][k] (FMA,
                      * NULL when the weight is stored bf16) (cpu_bf16.c), else NULL */
    int bf16_kernel; /* bf16 precision: the kernel it is packed for (CPU_BF16_*); 0: fp32 */
} CpuWeight;

/* Scratch memory of one backend (grown on demand, reused across calls). */
typedef struct {
    float *pack; /* the GEMM threads' packed blocks of B (cpu_sgemm.c) */
    size_t pack_cap;
    uint32_t *a16; /* bf16 pairs of the activations */
    size_t a16_cap;
} CpuScratch;

/* ---- fp32 GEMM (cpu_sgemm.c) ----------------------------------------------
 * C [M, N] = A [M, K] . B, row-major with leading dimensions lda, ldb, ldc.
 * Every element C[i, j] is one chain of fused multiply-adds over k = 0 .. K-1
 * in order, from 0, or from C[i, j] when acc is set:
 *     c = acc ? C[i, j] : 0;  for k: c = fma(A[i, k], B(k, j), c)
 * so its bits depend on row i of A, column j of B and K only: not on M, N,
 * the column offset, the tiling or the threads; and not on the instruction
 * set either (AVX-512F, AVX2+FMA and fmaf() give the same bits). */
typedef struct CpuGemmB CpuGemmB;
struct CpuGemmB {
    /* dst [kc][nr] = B(k0 + k, n0 + j) for j < nn, zeros for nn <= j < nr; row: 8 kc floats of scratch */
    void (*pack)(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                 float *row);
    const float *p; /* fp32 operand and its leading dimension */
    size_t ld;
    const CpuWeight *w; /* or a compact weight, its columns from c0 */
    size_t c0;
    const uint16_t *h; /* or bf16 rows, ld apart, from column c0 */
    int direct_nr;     /* > 0: w->f32 holds the weight's panels of this many rows, read in place */
};
/* B given [N, K] (NT: C = A B^T), [K, N] (NN), as a weight's rows [N, k] from column c0 (NT),
 * or as bf16 rows [N, ld] from column c0 (NT, expanded exactly). */
CpuGemmB cpu_gemm_b_nt(const float *B, size_t ldb);
CpuGemmB cpu_gemm_b_nn(const float *B, size_t ldb);
CpuGemmB cpu_gemm_b_weight(const CpuWeight *w, size_t c0);
CpuGemmB cpu_gemm_b_bf16(const uint16_t *B, size_t ldb, size_t c0);
/* C (+)= A . B; s: scratch for the packed blocks (NULL: allocated per call). Split over the
 * OpenMP threads; called inside a parallel region it runs on the calling thread alone, and s
 * must then be that thread's own (the attention's tasks, cpu_backend.c). */
void cpu_gemm_run(CpuScratch *s, size_t M, size_t N, size_t K, const float *A, size_t lda, const CpuGemmB *B,
                  float *C, size_t ldc, int acc);
void cpu_sgemm_nt(CpuScratch *s, size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc, int acc);
void cpu_sgemm_nn(CpuScratch *s, size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc, int acc);

/* The micro-kernel variants; the best the processor has is used unless one is forced (tests, bench). */
enum { CPU_SGEMM_PORTABLE, CPU_SGEMM_AVX2, CPU_SGEMM_AVX512, CPU_SGEMM_NVARIANTS };
int cpu_sgemm_has(int variant);   /* 1 when the processor (and OS) can run it */
int cpu_sgemm_force(int variant); /* -1: back to the best; returns -1 when not available */
int cpu_sgemm_variant(void);      /* the one in use */
const char *cpu_sgemm_name(int variant);
int cpu_sgemm_nr(int variant); /* its columns per panel */

/* Refers to the slices (checked by ls_weight_slices_check; n rows of width k);
 * copies them to fp32 when all are stored fp32 (fp32 precision), packs them
 * to bf16 in bf16 precision. */
int cpu_weight_create(CpuWeight **out, const LsWeightSlice *sl, int ns, size_t n, size_t k, LsPrecision prec,
                      LsError *e);
void cpu_weight_destroy(CpuWeight *w);
/* p with at least need bytes (the old contents are not kept). */
void *cpu_scratch_grow(void *p, size_t *cap, size_t need);

/* Element (r, c) of a weight's prepacked fp32 copy (w->f32); row r runs down the panel, f32_nr apart. */
static inline float *cpu_f32_panel(const CpuWeight *w, size_t r, size_t c) {
    const size_t nr = (size_t)w->f32_nr;
    return w->f32 + ((r / nr) * w->k + c) * nr + r % nr;
}

/* Fused row r (of w->n), columns [c0, c0 + n) of the stored weight as fp32. */
void cpu_weight_row(const CpuWeight *w, size_t r, size_t c0, size_t n, float *out);

/* y [T, n] (+)= x[:, c0:c1] . W[:, c0:c1]^T with x [T, ldx], y [T, n]; bias not added.
 * fp32: cpu_gemm_run on the fp32 copy, or on the stored rows expanded straight
 * into its packed blocks (the same values, so the same bits); bf16: the bf16
 * kernel the weight was packed for (cpu_bf16_gemm). Accumulating, both continue
 * the element's chain from y. */
void cpu_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T, size_t c0,
              size_t c1, int acc);

/* ---- bf16 (cpu_bf16.c) -------------------------------------------------- */

/* 1 when the processor (cpuid: AVX512-BF16) and the OS (XCR0 saves zmm state)
 * allow bf16 precision; why names the missing feature otherwise. The
 * environment variable LS_CPU_NO_BF16=1 makes it answer 0 (tests of the
 * fallback on processors that have it). */
int cpu_bf16_available(char *why, size_t why_len);
/* The bf16 kernels (cpu_bf16.c): AMX-BF16 tiles where the processor has them;
 * else AVX512-BF16 (VDPBF16PS), or the fp32 FMA GEMM on the bf16-rounded
 * operands (exact products, fp32 sums) on Intel processors without AMX, where
 * VDPBF16PS does half the flops of fp32 FMAs (twice on AMD Zen 4; a rule by
 * vendor, so every process takes the same one). cpu_bf16_has: 1 when it can
 * run here (why names what is missing otherwise; may be NULL);
 * cpu_bf16_force: use this one (tests, bench; -1: back to the best; returns -1
 * when not available); cpu_bf16_kernel: the one in use (LS_CPU_BF16_KERNEL=
 * amx|avx512bf16|fma chooses; LS_CPU_NO_AMX=1 keeps AVX512-BF16). */
enum { CPU_BF16_AVX512 = 1, CPU_BF16_AMX, CPU_BF16_FMA };
int cpu_bf16_has(int kernel, char *why, size_t why_len);
int cpu_bf16_force(int kernel);
int cpu_bf16_kernel(void);
const char *cpu_bf16_kernel_name(int kernel);
/* Packs w (rows expanded through cpu_weight_row, rounded to bf16) into w->bf16 for the kernel in use. */
int cpu_bf16_pack(CpuWeight *w, LsError *e);
/* As cpu_gemm, on w->bf16: activations rounded to bf16, fp32 accumulation. */
void cpu_bf16_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T,
                   size_t c0, size_t c1, int acc);

#endif
