/* cpu_bf16.c — bf16 GEMMs with fp32 accumulation on AVX512-BF16 (VDPBF16PS).
 *
 * Why our own kernel: Debian's OpenBLAS 0.3.21 is built without BFLOAT16
 * (cblas_sbgemm is declared but not exported) and oneDNN is not a dependency;
 * the kernel is small and measured in bench/results/cpu_prefill.json.
 *
 * Layout. The weight W [n, k] is packed once at load into panels of NR = 64
 * output rows; panel q holds, for each pair p of input columns (2p, 2p+1),
 * the 64 rows' two bf16 values side by side: B[q][p][j][h] = W[64q + j, 2p + h]
 * (zeros past n and k). The activations x [T, k] are rounded to bf16 per call
 * as pairs A[t][p] = (x[t, 2p], x[t, 2p + 1]) in one 32-bit word, zero outside
 * the requested columns [c0, c1). VDPBF16PS(acc, bcast(A[t][p]), B[q][p])
 * adds both products of a pair to 16 fp32 accumulators, so a 6 x 64 block of
 * y sits in 24 zmm registers while p runs over the columns.
 *
 * Summation order: each y element is one chain of VDPBF16PS steps over the
 * pairs in order, from 0 (from y when accumulating, as the fp32 GEMM's chain
 * continues from C), in the lane of its own row of W: its bits depend on its
 * row of x, its row of W and the columns only, not on T, n, the panel or
 * register block it falls in, or the threads (panels are split over threads,
 * each lane's chain is whole in one thread). The pairing is fixed by the
 * absolute column (pair p = columns 2p, 2p + 1, zero outside [c0, c1)), and
 * the fixed-order column slices (linear_cols) start at even columns
 * (multiples of head_dim or of intermediate / 4), so every tp pairs the same
 * columns. Tested where the processor has AVX512-BF16 (test_cpu_gemm).
 */
#include <cpuid.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm.h"

#define NR 64 /* output rows per packed panel: 4 zmm of 16 fp32 */
#define MR 6  /* activation rows per register block */

int cpu_bf16_available(char *why, size_t why_len) {
    const char *env = getenv("LS_CPU_NO_BF16");
    if (env && !strcmp(env, "1")) {
        snprintf(why, why_len, "LS_CPU_NO_BF16=1 is set");
        return 0;
    }
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 16)) || !(b & (1u << 30))) {
        snprintf(why, why_len, "the processor has no AVX-512 (F and BW)");
        return 0;
    }
    unsigned a1, b1, c1, d1;
    if (!__get_cpuid_count(7, 1, &a1, &b1, &c1, &d1) || !(a1 & (1u << 5))) {
        snprintf(why, why_len, "the processor has no AVX512-BF16 instructions");
        return 0;
    }
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) {
        snprintf(why, why_len, "the OS does not enable XSAVE");
        return 0;
    }
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xe6) != 0xe6) { /* SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state */
        snprintf(why, why_len, "the OS does not save the AVX-512 register state");
        return 0;
    }
    return 1;
}

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* ar [pn] = bf16 pairs of xr[2 pa0 ...] (round to nearest even; denormals
 * flushed, as VDPBF16PS reads them anyway), zero outside columns [c0, c1). */
BF16_TARGET static void row_pairs(uint32_t *ar, const float *xr, size_t c0, size_t c1, size_t pa0,
                                  size_t pn) {
    for (size_t p = 0; p < pn; p += 16) {
        const size_t e0 = 2 * (pa0 + p); /* first column of this block of 32 */
        uint32_t m = 0;
        for (int i = 0; i < 32; i++)
            m |= (uint32_t)(e0 + (size_t)i >= c0 && e0 + (size_t)i < c1) << i;
        __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)(m & 0xffff), xr + e0);
        __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), xr + e0 + 16);
        __m512i b = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);
        size_t cnt = pn - p < 16 ? pn - p : 16;
        _mm512_mask_storeu_epi32(ar + p, (__mmask16)((1u << cnt) - 1), b);
    }
}

/* A [T, pn] = bf16 pairs of x[t, 2 pa0 ...], zero outside columns [c0, c1). */
static void pack_a(uint32_t *A, const float *x, size_t ldx, size_t T, size_t c0, size_t c1, size_t pa0,
                   size_t pn) {
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++)
        row_pairs(A + t * pn, x + t * ldx, c0, c1, pa0, pn);
}

int cpu_bf16_pack(CpuWeight *w, LsError *e) {
    const size_t np = (w->k + 1) / 2, npan = (w->n + NR - 1) / NR;
    size_t bytes;
    if (ls_mul_size(npan, np, &bytes) || ls_mul_size(bytes, NR * 2 * sizeof(uint16_t), &bytes) ||
        posix_memalign((void **)&w->bf16, 64, bytes ? bytes : 64)) {
        w->bf16 = NULL;
        return ls_fail(e, "cpu backend: cannot allocate %zu x %zu bf16 weight %s", w->n, w->k,
                       w->sl[0].w->name);
    }
#pragma omp parallel
    {
        float *row = ls_malloc((w->k + 1) * sizeof(float));
#pragma omp for schedule(static)
        for (size_t q = 0; q < npan; q++) {
            uint16_t *B = w->bf16 + q * np * NR * 2;
            for (size_t j = 0; j < NR; j++) {
                size_t r = q * NR + j;
                if (r < w->n)
                    cpu_weight_row(w, r, 0, w->k, row);
                else
                    memset(row, 0, w->k * sizeof(float));
                row[w->k] = 0.0f;
                for (size_t p = 0; p < np; p++) {
                    B[(p * NR + j) * 2] = ls_f32_to_bf16(row[2 * p]);
                    B[(p * NR + j) * 2 + 1] = ls_f32_to_bf16(row[2 * p + 1]);
                }
            }
        }
        free(row);
    }
    return LS_OK;
}

/* y[0:m, 0:nv] (+)= A[0:m] . panel B over pn pairs; m <= MR, nv <= NR. */
BF16_TARGET static inline __attribute__((always_inline)) void
kernel(int m, const uint32_t *A, size_t pn, const uint16_t *B, float *y, size_t ldy, size_t nv, int acc) {
    __m512 c[MR][4]; /* accumulating: the chain starts from y (masked past nv), as the fp32 GEMM's */
    for (int j = 0; j < 4; j++) {
        const size_t j0 = (size_t)j * 16;
        const __mmask16 mk = !acc || j0 >= nv ? 0
                             : nv - j0 >= 16  ? (__mmask16)0xffff
                                              : (__mmask16)((1u << (nv - j0)) - 1);
        for (int i = 0; i < m; i++)
            c[i][j] = _mm512_maskz_loadu_ps(mk, y + (size_t)i * ldy + j0);
    }
    for (size_t p = 0; p < pn; p++) {
        const uint16_t *b = B + p * NR * 2;
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
        __m512bh b2 = (__m512bh)_mm512_loadu_si512(b + 64), b3 = (__m512bh)_mm512_loadu_si512(b + 96);
        for (int i = 0; i < m; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[(size_t)i * pn + p]);
            c[i][0] = _mm512_dpbf16_ps(c[i][0], a, b0);
            c[i][1] = _mm512_dpbf16_ps(c[i][1], a, b1);
            c[i][2] = _mm512_dpbf16_ps(c[i][2], a, b2);
            c[i][3] = _mm512_dpbf16_ps(c[i][3], a, b3);
        }
    }
    for (int j = 0; j < 4; j++) {
        size_t j0 = (size_t)j * 16;
        if (j0 >= nv) break;
        __mmask16 mk = nv - j0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (nv - j0)) - 1);
        for (int i = 0; i < m; i++) {
            _mm512_mask_storeu_ps(y + (size_t)i * ldy + j0, mk, c[i][j]);
        }
    }
}

BF16_TARGET static void panel(const uint32_t *A, size_t pn, size_t T, const uint16_t *B, float *y, size_t ldy,
                              size_t nv, int acc) {
    size_t t = 0;
    for (; t + MR <= T; t += MR)
        kernel(MR, A + t * pn, pn, B, y + t * ldy, ldy, nv, acc);
    switch (T - t) {
    case 5:
        kernel(5, A + t * pn, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 4:
        kernel(4, A + t * pn, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 3:
        kernel(3, A + t * pn, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 2:
        kernel(2, A + t * pn, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 1:
        kernel(1, A + t * pn, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    default:
        break;
    }
}

BF16_TARGET void cpu_bf16_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w,
                               size_t T, size_t c0, size_t c1, int acc) {
    const size_t np = (w->k + 1) / 2, npan = (w->n + NR - 1) / NR;
    const size_t pa0 = c0 / 2, pn = (c1 + 1) / 2 - pa0;
    s->a16 = cpu_scratch_grow(s->a16, &s->a16_cap, T * pn * sizeof(uint32_t));
    const uint32_t *A = s->a16;
    pack_a(s->a16, x, ldx, T, c0, c1, pa0, pn);
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < npan; q++) {
        const size_t nv = w->n - q * NR < NR ? w->n - q * NR : NR;
        panel(A, pn, T, w->bf16 + (q * np + pa0) * NR * 2, y + q * NR, w->n, nv, acc);
    }
}
