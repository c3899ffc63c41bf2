/* cpu_sgemm.c — the CPU backend's own fp32 GEMM, the same bits whatever the shape.
 *
 * The rule. C [M, N] = A [M, K] . B^T (B given [N, K], "NT") or A . B (B given
 * [K, N], "NN"); element (i, j) is ONE chain of fused multiply-adds over
 * k = 0, 1, ..., K - 1 in order:
 *
 *     c = 0 (or c = C[i, j] when accumulating);  c = fma(A[i, k], B(j, k), c)
 *
 * each step rounded once (IEEE fma, round to nearest even). So the bits of
 * C[i, j] depend on row i of A, column j of the product's B and K only, never
 * on M, N, the register tile or thread the element falls in, the tails, the
 * column offset of a slice, or the number of threads. Every variant computes
 * exactly this chain: the AVX-512F (zmm) and AVX2+FMA (ymm) micro-kernels,
 * one lane per element, and the portable one with fmaf(); an fma is correctly
 * rounded in all three, so they agree bit for bit with one another as well
 * (tests/unit/test_cpu_sgemm.c compares every variant the processor has).
 * K is blocked for the caches by storing the partial in C and reloading it as
 * the accumulator of the next block: the chain goes on, no partial sums are
 * added. Denormals are kept (the default MXCSR; nothing here sets FTZ/DAZ).
 *
 * Layout. B is packed per call and per thread, KC x NC at a time, into panels
 * [k][NR] of NR columns (zeros past N); a micro-kernel holds an MR x NR block
 * of C in registers, broadcasts A[i, k] from A's own rows and multiplies it
 * with a row of the panel. Loops (per thread): columns in blocks of NC, K in
 * blocks of KC (pack), rows in blocks of MR (the A block stays in L1), panels.
 * Threads (OpenMP) take contiguous ranges of panels, or of row blocks when
 * there are fewer panels than threads; none of this changes a bit.
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm.h"

#define KC 256    /* k per packed block (a multiple of the quantized formats' 256-value blocks) */
#define NC 256    /* columns per packed block: KC x NC x 4 bytes = 256 KiB, in L2 */
#define MR_MAX 12 /* the largest micro-kernel's rows and columns (the tail tile) */
#define NR_MAX 32

/* kernel(kc, a, lda, b, c, ldc, m, acc): C[0:m, 0:NR] (+)= A[0:m, 0:kc] . panel b [kc][NR] */
typedef void (*Ukr)(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int m,
                    int acc);

typedef struct {
    const char *name;
    int mr, nr;
    Ukr ukr;
} Variant;

/* ---- portable: fmaf() ---------------------------------------------------- */

static void ukr_portable(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int m,
                         int acc) {
    float t[4][16];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < 16; j++)
            t[i][j] = acc ? c[(size_t)i * ldc + (size_t)j] : 0.0f;
    for (size_t k = 0; k < kc; k++)
        for (int i = 0; i < m; i++) {
            const float av = a[(size_t)i * lda + k];
            for (int j = 0; j < 16; j++)
                t[i][j] = fmaf(av, b[k * 16 + (size_t)j], t[i][j]);
        }
    for (int i = 0; i < m; i++)
        memcpy(c + (size_t)i * ldc, t[i], sizeof t[i]);
}

/* ---- AVX2 + FMA: 6 x 16 (12 ymm accumulators) ---------------------------- */

#define AVX2_TARGET __attribute__((target("avx2,fma")))

AVX2_TARGET static inline __attribute__((always_inline)) void
avx2_body(const int m, size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int acc) {
    __m256 c0[6], c1[6];
    for (int i = 0; i < m; i++) {
        if (acc) {
            c0[i] = _mm256_loadu_ps(c + (size_t)i * ldc);
            c1[i] = _mm256_loadu_ps(c + (size_t)i * ldc + 8);
        } else {
            c0[i] = _mm256_setzero_ps();
            c1[i] = _mm256_setzero_ps();
        }
    }
    for (size_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(b + k * 16), b1 = _mm256_loadu_ps(b + k * 16 + 8);
        for (int i = 0; i < m; i++) {
            const __m256 av = _mm256_broadcast_ss(a + (size_t)i * lda + k);
            c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
        }
    }
    for (int i = 0; i < m; i++) {
        _mm256_storeu_ps(c + (size_t)i * ldc, c0[i]);
        _mm256_storeu_ps(c + (size_t)i * ldc + 8, c1[i]);
    }
}

AVX2_TARGET static void ukr_avx2(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                 int m, int acc) {
    switch (m) {
    case 6:
        avx2_body(6, kc, a, lda, b, c, ldc, acc);
        break;
    case 5:
        avx2_body(5, kc, a, lda, b, c, ldc, acc);
        break;
    case 4:
        avx2_body(4, kc, a, lda, b, c, ldc, acc);
        break;
    case 3:
        avx2_body(3, kc, a, lda, b, c, ldc, acc);
        break;
    case 2:
        avx2_body(2, kc, a, lda, b, c, ldc, acc);
        break;
    default:
        avx2_body(1, kc, a, lda, b, c, ldc, acc);
        break;
    }
}

/* ---- AVX-512F: 12 x 32 (24 zmm accumulators) ----------------------------- */

#define AVX512_TARGET __attribute__((target("avx512f")))

AVX512_TARGET static inline __attribute__((always_inline)) void avx512_body(const int m, size_t kc,
                                                                            const float *a, size_t lda,
                                                                            const float *b, float *c,
                                                                            size_t ldc, int acc) {
    __m512 c0[12], c1[12];
    for (int i = 0; i < m; i++) {
        if (acc) {
            c0[i] = _mm512_loadu_ps(c + (size_t)i * ldc);
            c1[i] = _mm512_loadu_ps(c + (size_t)i * ldc + 16);
        } else {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        }
    }
    for (size_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_loadu_ps(b + k * 32), b1 = _mm512_loadu_ps(b + k * 32 + 16);
        for (int i = 0; i < m; i++) {
            const __m512 av = _mm512_set1_ps(a[(size_t)i * lda + k]);
            c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
        }
    }
    for (int i = 0; i < m; i++) {
        _mm512_storeu_ps(c + (size_t)i * ldc, c0[i]);
        _mm512_storeu_ps(c + (size_t)i * ldc + 16, c1[i]);
    }
}

AVX512_TARGET static void ukr_avx512(size_t kc, const float *a, size_t lda, const float *b, float *c,
                                     size_t ldc, int m, int acc) {
    switch (m) {
    case 12:
        avx512_body(12, kc, a, lda, b, c, ldc, acc);
        break;
    case 11:
        avx512_body(11, kc, a, lda, b, c, ldc, acc);
        break;
    case 10:
        avx512_body(10, kc, a, lda, b, c, ldc, acc);
        break;
    case 9:
        avx512_body(9, kc, a, lda, b, c, ldc, acc);
        break;
    case 8:
        avx512_body(8, kc, a, lda, b, c, ldc, acc);
        break;
    case 7:
        avx512_body(7, kc, a, lda, b, c, ldc, acc);
        break;
    case 6:
        avx512_body(6, kc, a, lda, b, c, ldc, acc);
        break;
    case 5:
        avx512_body(5, kc, a, lda, b, c, ldc, acc);
        break;
    case 4:
        avx512_body(4, kc, a, lda, b, c, ldc, acc);
        break;
    case 3:
        avx512_body(3, kc, a, lda, b, c, ldc, acc);
        break;
    case 2:
        avx512_body(2, kc, a, lda, b, c, ldc, acc);
        break;
    default:
        avx512_body(1, kc, a, lda, b, c, ldc, acc);
        break;
    }
}

/* ---- variant selection ---------------------------------------------------- */

static const Variant VARIANTS[CPU_SGEMM_NVARIANTS] = {
    [CPU_SGEMM_PORTABLE] = {"portable fmaf", 4, 16, ukr_portable},
    [CPU_SGEMM_AVX2] = {"AVX2+FMA 6x16", 6, 16, ukr_avx2},
    [CPU_SGEMM_AVX512] = {"AVX-512F 12x32", 12, 32, ukr_avx512},
};

static int forced = -1; /* cpu_sgemm_force; -1: the best the processor has */

int cpu_sgemm_has(int v) {
    switch (v) {
    case CPU_SGEMM_PORTABLE:
        return 1;
    case CPU_SGEMM_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case CPU_SGEMM_AVX512: /* libgcc / compiler-rt also check that the OS saves the zmm state */
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
    default:
        return 0;
    }
}

int cpu_sgemm_force(int v) {
    if (v >= 0 && !cpu_sgemm_has(v)) return -1;
    forced = v;
    return 0;
}

int cpu_sgemm_variant(void) {
    static int best = -1;
    if (forced >= 0) return forced;
    if (best < 0)
        best = cpu_sgemm_has(CPU_SGEMM_AVX512) ? CPU_SGEMM_AVX512
               : cpu_sgemm_has(CPU_SGEMM_AVX2) ? CPU_SGEMM_AVX2
                                               : CPU_SGEMM_PORTABLE;
    return best;
}

const char *cpu_sgemm_name(int v) {
    return v >= 0 && v < CPU_SGEMM_NVARIANTS ? VARIANTS[v].name : "?";
}

/* ---- packing B ------------------------------------------------------------ */

/* dst [kc][nr]: the columns n0 .. n0 + nn of the product's B over k0 .. k0 + kc, zeros for nn <= j < nr */
static void zero_cols(float *dst, size_t kc, size_t nn, int nr) {
    if ((int)nn == nr) return;
    for (size_t k = 0; k < kc; k++)
        memset(dst + k * (size_t)nr + nn, 0, ((size_t)nr - nn) * sizeof(float));
}

/* one row of an NT B (k contiguous) into column j of the panel */
static void scatter_row(float *dst, const float *src, size_t kc, int nr) {
    for (size_t k = 0; k < kc; k++)
        dst[k * (size_t)nr] = src[k];
}

static void pack_nt(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                    float *row) {
    (void)row;
    for (size_t j = 0; j < nn; j++)
        scatter_row(dst + j, b->p + (n0 + j) * b->ld + k0, kc, nr);
    zero_cols(dst, kc, nn, nr);
}

static void pack_nn(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                    float *row) {
    (void)row;
    for (size_t k = 0; k < kc; k++)
        memcpy(dst + k * (size_t)nr, b->p + (k0 + k) * b->ld + n0, nn * sizeof(float));
    zero_cols(dst, kc, nn, nr);
}

/* a compact weight: each row expanded to fp32 (exact for bf16 / f16; the
 * dequantized values for quantized formats) straight into the panel */
static void pack_weight(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                        float *row) {
    for (size_t j = 0; j < nn; j++) {
        cpu_weight_row(b->w, n0 + j, b->c0 + k0, kc, row);
        scatter_row(dst + j, row, kc, nr);
    }
    zero_cols(dst, kc, nn, nr);
}

CpuGemmB cpu_gemm_b_nt(const float *B, size_t ldb) {
    return (CpuGemmB){.pack = pack_nt, .p = B, .ld = ldb};
}
CpuGemmB cpu_gemm_b_nn(const float *B, size_t ldb) {
    return (CpuGemmB){.pack = pack_nn, .p = B, .ld = ldb};
}
CpuGemmB cpu_gemm_b_weight(const CpuWeight *w, size_t c0) {
    if (w->f32) return cpu_gemm_b_nt(w->f32 + c0, w->k);
    return (CpuGemmB){.pack = pack_weight, .w = w, .c0 = c0};
}

/* ---- the driver ----------------------------------------------------------- */

/* per-thread scratch: the packed block and one expanded weight row, 64-byte aligned */
#define THREAD_FLOATS ((size_t)KC * NC + KC + 16)

/* rows [m0, m1) x panels [p0, p1) of the product, K in blocks */
static void tile(const Variant *v, size_t m0, size_t m1, size_t p0, size_t p1, size_t N, size_t K,
                 const float *A, size_t lda, const CpuGemmB *B, float *C, size_t ldc, int acc, float *buf) {
    const size_t nr = (size_t)v->nr, mr = (size_t)v->mr, ncp = NC / nr; /* panels per packed block */
    float *pk = buf, *row = buf + (size_t)KC * NC;
    float tail[MR_MAX * NR_MAX] = {0};
    for (size_t q0 = p0; q0 < p1; q0 += ncp) {
        const size_t q1 = q0 + ncp < p1 ? q0 + ncp : p1;
        const size_t n1 = q1 * nr < N ? q1 * nr : N;
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            const size_t kc = K - k0 < KC ? K - k0 : KC;
            const int a = acc || k0 > 0; /* continue the chain from C */
            for (size_t q = q0; q < q1; q++) {
                const size_t c0 = q * nr, nn = N - c0 < nr ? N - c0 : nr;
                B->pack(B, c0, nn, k0, kc, v->nr, pk + (q - q0) * kc * nr, row);
            }
            for (size_t i = m0; i < m1; i += mr) {
                const int m = (int)(m1 - i < mr ? m1 - i : mr);
                const float *Ai = A + i * lda + k0;
                for (size_t q = q0; q < q1; q++) {
                    const size_t c0 = q * nr;
                    const float *bp = pk + (q - q0) * kc * nr;
                    float *Ci = C + i * ldc + c0;
                    if (c0 + nr <= n1) {
                        v->ukr(kc, Ai, lda, bp, Ci, ldc, m, a);
                        continue;
                    }
                    /* the last, partial panel: through a full-width tile */
                    const size_t nv = n1 - c0;
                    for (int r = 0; r < m && a; r++)
                        memcpy(tail + (size_t)r * nr, Ci + (size_t)r * ldc, nv * sizeof(float));
                    v->ukr(kc, Ai, lda, bp, tail, nr, m, a);
                    for (int r = 0; r < m; r++)
                        memcpy(Ci + (size_t)r * ldc, tail + (size_t)r * nr, nv * sizeof(float));
                }
            }
        }
    }
}

void cpu_gemm_run(CpuScratch *s, size_t M, size_t N, size_t K, const float *A, size_t lda, const CpuGemmB *B,
                  float *C, size_t ldc, int acc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        for (size_t i = 0; i < M && !acc; i++)
            memset(C + i * ldc, 0, N * sizeof(float));
        return;
    }
    const Variant *v = &VARIANTS[cpu_sgemm_variant()];
    const size_t npan = (N + (size_t)v->nr - 1) / (size_t)v->nr,
                 mblk = (M + (size_t)v->mr - 1) / (size_t)v->mr;
    /* threads: none of this changes a bit; one thread for small products */
    size_t nt = (size_t)omp_get_max_threads();
    const double work = (double)M * (double)N * (double)K;
    if (work < 1 << 18) nt = 1;
    size_t tn = npan < nt ? npan : nt, tm = nt / tn < mblk ? nt / tn : mblk;
    if (tm < 1) tm = 1;
    nt = tn * tm;
    float *mem = NULL;
    size_t need = (nt * THREAD_FLOATS + 16) * sizeof(float);
    if (s) {
        s->pack = cpu_scratch_grow(s->pack, &s->pack_cap, need);
        mem = s->pack;
    } else {
        mem = ls_malloc(need);
    }
    float *base = (float *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
#pragma omp parallel for num_threads((int)nt) schedule(static, 1) if (nt > 1)
    for (size_t t = 0; t < nt; t++) {
        const size_t ni = t % tn, mi = t / tn;
        const size_t p0 = npan * ni / tn, p1 = npan * (ni + 1) / tn;
        const size_t b0 = mblk * mi / tm, b1 = mblk * (mi + 1) / tm;
        const size_t m0 = b0 * (size_t)v->mr, m1 = b1 * (size_t)v->mr < M ? b1 * (size_t)v->mr : M;
        if (p0 < p1 && m0 < m1)
            tile(v, m0, m1, p0, p1, N, K, A, lda, B, C, ldc, acc, base + t * THREAD_FLOATS);
    }
    if (!s) free(mem);
}

void cpu_sgemm_nt(CpuScratch *s, size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc, int acc) {
    const CpuGemmB b = cpu_gemm_b_nt(B, ldb);
    cpu_gemm_run(s, M, N, K, A, lda, &b, C, ldc, acc);
}

void cpu_sgemm_nn(CpuScratch *s, size_t M, size_t N, size_t K, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc, int acc) {
    const CpuGemmB b = cpu_gemm_b_nn(B, ldb);
    cpu_gemm_run(s, M, N, K, A, lda, &b, C, ldc, acc);
}
