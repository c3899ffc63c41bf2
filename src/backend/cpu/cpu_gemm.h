/* cpu_gemm.h — the CPU backend's weights and GEMMs (private to src/backend/cpu).
 *
 * Weights stay compact: a CpuWeight refers to the stored tensors (mmapped
 * bf16 / f16, or whatever ls_tensor_to_f32 expands) and is expanded to fp32
 * per GEMM panel of output rows into a small buffer; only weights stored as
 * fp32 are copied (once, as today). In bf16 precision the weight is rounded
 * to bf16 once at load, packed for the AVX512-BF16 kernel (cpu_bf16.c):
 * 2 bytes per weight whatever the stored dtype.
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
    float *f32;        /* [n, k] fp32 copy when every slice is stored fp32 (fp32 precision), else NULL */
    uint16_t *bf16;    /* bf16 precision: packed panels (cpu_bf16.c), else NULL */
} CpuWeight;

/* Scratch memory of one backend (grown on demand, reused across calls). */
typedef struct {
    float *panel; /* fp32 expansion of a panel of weight rows */
    size_t panel_cap;
    uint32_t *a16; /* bf16 pairs of the activations */
    size_t a16_cap;
} CpuScratch;

/* C [M, N] = alpha A [M, K] . B [N, K]^T + beta C (row-major, leading
 * dimensions lda, ldb, ldc), every element the same bits whatever M and N. */
void cpu_sgemm_nt(size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda, const float *B,
                  size_t ldb, float beta, float *C, size_t ldc);

/* Refers to the slices (checked by ls_weight_slices_check; n rows of width k);
 * copies them to fp32 when all are stored fp32 (fp32 precision), packs them
 * to bf16 in bf16 precision. */
int cpu_weight_create(CpuWeight **out, const LsWeightSlice *sl, int ns, size_t n, size_t k, LsPrecision prec,
                      LsError *e);
void cpu_weight_destroy(CpuWeight *w);
/* p with at least need bytes (the old contents are not kept). */
void *cpu_scratch_grow(void *p, size_t *cap, size_t need);

/* Fused row r (of w->n), columns [c0, c0 + n) of the stored weight as fp32. */
void cpu_weight_row(const CpuWeight *w, size_t r, size_t c0, size_t n, float *out);

/* y [T, n] (+)= x[:, c0:c1] . W[:, c0:c1]^T with x [T, ldx], y [T, n]; bias not added.
 * fp32: OpenBLAS sgemm on the fp32 copy or panel by panel on expanded rows,
 * each product summed exactly as one sgemm over the whole weight would (see
 * cpu_weight.c); bf16: the AVX512-BF16 kernel on the packed weight. */
void cpu_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T, size_t c0,
              size_t c1, int acc);

/* ---- bf16 (cpu_bf16.c) -------------------------------------------------- */

/* 1 when the processor (cpuid) and the OS (XCR0 saves zmm state) allow the
 * AVX512-BF16 kernel; why names the missing feature otherwise. The
 * environment variable LS_CPU_NO_BF16=1 makes it answer 0 (tests of the
 * fallback on processors that have it). */
int cpu_bf16_available(char *why, size_t why_len);
/* Packs w (rows expanded through cpu_weight_row, rounded to bf16) into w->bf16. */
int cpu_bf16_pack(CpuWeight *w, LsError *e);
/* As cpu_gemm, on w->bf16: activations rounded to bf16, fp32 accumulation. */
void cpu_bf16_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T,
                   size_t c0, size_t c1, int acc);

#endif
