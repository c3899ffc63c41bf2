/* cpu_weight.c — compact weights and the fp32 GEMM of the CPU backend.
 *
 * A weight keeps its stored form: the slices of the mmapped tensors it was
 * loaded from. An fp32 GEMM expands a panel of weight rows at a time to fp32
 * (bf16 -> fp32 is exact, so the values are those of a whole-model fp32 copy)
 * and runs OpenBLAS sgemm on the panel. Each output element of sgemm is summed
 * over k in an order fixed by k alone (blocks of GEMM_Q, then the kernel's
 * sequential k loop), not by n, so a product split by output rows has the bits
 * of the product over the whole weight. The exception, OpenBLAS's "small
 * matrix" kernels (M*N*K <= 1e6), is kept out by cpu_sgemm_nt below (small
 * products padded past the threshold), and panels are made large enough not
 * to need that padding. So results are bit-identical to one sgemm over an fp32
 * copy of the weight. Weights stored fp32 are copied once, as before, and
 * multiplied in one product.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm.h"

/* OpenBLAS's small-matrix path takes products with M*N*K at or below this. */
#define SMALL_MNK 1e6
/* fp32 floats per expanded panel (8 MB; 2 MB panels measured ~5% slower: more, narrower sgemm calls). */
#define PANEL_FLOATS ((size_t)1 << 21)

/* C [M, N] = alpha A [M, K] . B [N, K]^T + beta C, every element the same bits
 * whatever M and N are, so that a column-parallel layer (N = width / tp) and
 * a batch of any composition give the same numbers. OpenBLAS's AVX-512 builds
 * (SkylakeX, Cooperlake, Sapphire Rapids cores) take products with
 * M N K <= 1e6 through "small matrix" kernels whose per-element rounding
 * depends on M and N (measured on Zen 4, Cooperlake core: 554 of 672 elements
 * differed between N = 384 and a 96-column slice of it at M = 7, K = 64),
 * while larger products go through the blocked kernels, whose elements do not
 * depend on M or N (checked over M 1..1000, N 1..1000, K 64 and 896). Small
 * products are therefore padded with zero rows of A to just past that
 * threshold: at most ~2 MFLOP more, on products that small. */
void cpu_sgemm_nt(size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda, const float *B,
                  size_t ldb, float beta, float *C, size_t ldc) {
    if (M == 0 || N == 0) return;
    if ((double)M * (double)N * (double)K > SMALL_MNK || K == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
                    (int)ldb, beta, C, (int)ldc);
        return;
    }
    size_t Mp = (size_t)(SMALL_MNK / ((double)N * (double)K)) + 1; /* Mp N K > 1e6, Mp > M */
    float *Ap = ls_calloc(Mp * K, sizeof(float)), *Cp = ls_calloc(Mp * N, sizeof(float));
    for (size_t i = 0; i < M; i++) {
        memcpy(Ap + i * K, A + i * lda, K * sizeof(float));
        if (beta != 0.0f) memcpy(Cp + i * N, C + i * ldc, N * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Mp, (int)N, (int)K, alpha, Ap, (int)K, B,
                (int)ldb, beta, Cp, (int)N);
    for (size_t i = 0; i < M; i++)
        memcpy(C + i * ldc, Cp + i * N, N * sizeof(float));
    free(Ap);
    free(Cp);
}

void cpu_weight_row(const CpuWeight *w, size_t r, size_t c0, size_t n, float *out) {
    if (w->f32) {
        memcpy(out, w->f32 + r * w->k + c0, n * sizeof(float));
        return;
    }
    int i = 0;
    while (r >= w->row0[i + 1])
        i++;
    const LsWeightSlice *s = &w->sl[i];
    const LsTensor *t = s->w;
    size_t off = (s->row0 + r - w->row0[i]) * (size_t)t->shape[1] + s->col0 + c0;
    if (t->dtype == LS_DT_BF16) { /* the common case, vectorised: bf16 is the top half of an fp32 */
        const unsigned char *p = (const unsigned char *)t->data + 2 * off;
        uint32_t *o = (uint32_t *)out;
        for (size_t j = 0; j < n; j++)
            o[j] = (uint32_t)ls_load_u16(p + 2 * j) << 16;
        return;
    }
    ls_tensor_to_f32(t, off, n, out);
}

static int weight_copy_f32(CpuWeight *w, LsError *e) {
    size_t bytes;
    if (ls_mul_size(w->n, w->k, &bytes) || ls_mul_size(bytes, sizeof(float), &bytes) ||
        posix_memalign((void **)&w->f32, 64, bytes ? bytes : 64))
        return ls_fail(e, "cpu backend: cannot allocate %zu x %zu fp32 weight %s", w->n, w->k,
                       w->sl[0].w->name);
    float *f32 = w->f32;
    w->f32 = NULL; /* cpu_weight_row reads the stored slices until the copy is whole */
    for (size_t r = 0; r < w->n; r++)
        cpu_weight_row(w, r, 0, w->k, f32 + r * w->k);
    w->f32 = f32;
    return LS_OK;
}

int cpu_weight_create(CpuWeight **out, const LsWeightSlice *sl, int ns, size_t n, size_t k, LsPrecision prec,
                      LsError *e) {
    CpuWeight *w = ls_calloc(1, sizeof *w);
    w->n = n;
    w->k = k;
    w->ns = ns;
    w->sl = ls_malloc((size_t)ns * sizeof *w->sl);
    memcpy(w->sl, sl, (size_t)ns * sizeof *sl);
    w->row0 = ls_malloc((size_t)(ns + 1) * sizeof *w->row0);
    int all_f32 = 1;
    w->row0[0] = 0;
    for (int i = 0; i < ns; i++) {
        w->row0[i + 1] = w->row0[i] + sl[i].nrows;
        all_f32 &= sl[i].w->dtype == LS_DT_F32;
    }
    int rc = LS_OK;
    if (prec == LS_PREC_BF16)
        rc = cpu_bf16_pack(w, e);
    else if (all_f32)
        rc = weight_copy_f32(w, e);
    if (rc) {
        cpu_weight_destroy(w);
        return LS_ERR;
    }
    *out = w;
    return LS_OK;
}

void cpu_weight_destroy(CpuWeight *w) {
    if (!w) return;
    free(w->sl);
    free(w->row0);
    free(w->f32);
    free(w->bf16);
    free(w);
}

void *cpu_scratch_grow(void *p, size_t *cap, size_t need) {
    if (*cap >= need) return p;
    free(p);
    *cap = need;
    return ls_malloc(need);
}

/* y (+)= x[:, c0:c1] W[:, c0:c1]^T panel by panel of expanded weight rows; every
 * panel has M*N*K above SMALL_MNK (no padding) unless the whole product is one panel. */
static void gemm_f32_panels(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T,
                            size_t c0, size_t c1, int acc) {
    const size_t k = c1 - c0, n = w->n;
    size_t nb = PANEL_FLOATS / k;
    size_t small_rows = (size_t)(SMALL_MNK / ((double)T * (double)k)) + 1;
    if (nb < 64) nb = 64;
    if (nb < small_rows) nb = small_rows;
    size_t np = n / nb ? n / nb : 1; /* panels of n / np >= nb rows */
    size_t maxrows = (n + np - 1) / np;
    s->panel = cpu_scratch_grow(s->panel, &s->panel_cap, maxrows * k * sizeof(float));
    float *P = s->panel;
    for (size_t p = 0; p < np; p++) {
        const size_t r0 = p * n / np, r1 = (p + 1) * n / np;
#pragma omp parallel for schedule(static)
        for (size_t r = r0; r < r1; r++)
            cpu_weight_row(w, r, c0, k, P + (r - r0) * k);
        cpu_sgemm_nt(T, r1 - r0, k, 1.0f, x + c0, ldx, P, k, acc ? 1.0f : 0.0f, y + r0, n);
    }
}

void cpu_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T, size_t c0,
              size_t c1, int acc) {
    if (T == 0) return;
    if (c1 <= c0) {
        if (!acc)
            for (size_t t = 0; t < T; t++)
                memset(y + t * w->n, 0, w->n * sizeof(float));
        return;
    }
    if (w->bf16) {
        cpu_bf16_gemm(s, y, x, ldx, w, T, c0, c1, acc);
    } else if (w->f32) {
        cpu_sgemm_nt(T, w->n, c1 - c0, 1.0f, x + c0, ldx, w->f32 + c0, w->k, acc ? 1.0f : 0.0f, y, w->n);
    } else {
        gemm_f32_panels(s, y, x, ldx, w, T, c0, c1, acc);
    }
}
