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

#ifndef KC
#define KC 256 /* k per packed block (a multiple of the quantized formats' 256-value blocks) */
#endif
#ifndef NC
#define NC 256 /* columns per packed block: KC x NC x 4 bytes = 256 KiB, in L2 */
#endif
#define MR_MAX 12 /* the largest micro-kernel's rows and columns (the tail tile) */
#define NR_MAX 32

/* kernel(kc, a, lda, b, c, ldc, acc): C[0:MR, 0:NR] (+)= A[0:MR, 0:kc] . panel b [kc][NR].
 * Always the whole register block (the driver routes tails through small
 * buffers), written with one named variable per accumulator register: arrays
 * indexed by a loop variable were kept in memory by gcc. */
typedef void (*Ukr)(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc, int acc);

typedef struct {
    const char *name;
    int mr, nr;
    Ukr ukr;
} Variant;

/* ---- portable: fmaf() ---------------------------------------------------- */

static void ukr_portable(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                         int acc) {
    float t[4][16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 16; j++)
            t[i][j] = acc ? c[(size_t)i * ldc + (size_t)j] : 0.0f;
    for (size_t k = 0; k < kc; k++)
        for (int i = 0; i < 4; i++) {
            const float av = a[(size_t)i * lda + k];
            for (int j = 0; j < 16; j++)
                t[i][j] = fmaf(av, b[k * 16 + (size_t)j], t[i][j]);
        }
    for (int i = 0; i < 4; i++)
        memcpy(c + (size_t)i * ldc, t[i], sizeof t[i]);
}

/* ---- AVX2 + FMA: 6 x 16 (12 ymm accumulators) ---------------------------- */

#define AVX2_TARGET __attribute__((target("avx2,fma")))

/* row i of the block: accumulators c<i>_0, c<i>_1 (columns 0-7, 8-15) */
#define Y_DECL(i) __m256 c##i##_0, c##i##_1
#define Y_INIT(i)                                                                                            \
    const float *a##i = a + (size_t)(i)*lda;                                                                 \
    c##i##_0 = acc ? _mm256_loadu_ps(c + (size_t)(i)*ldc) : _mm256_setzero_ps();                             \
    c##i##_1 = acc ? _mm256_loadu_ps(c + (size_t)(i)*ldc + 8) : _mm256_setzero_ps()
#define Y_STEP(i)                                                                                            \
    do {                                                                                                     \
        const __m256 av = _mm256_broadcast_ss(a##i + k);                                                     \
        c##i##_0 = _mm256_fmadd_ps(av, b0, c##i##_0);                                                        \
        c##i##_1 = _mm256_fmadd_ps(av, b1, c##i##_1);                                                        \
    } while (0)
#define Y_STORE(i)                                                                                           \
    _mm256_storeu_ps(c + (size_t)(i)*ldc, c##i##_0);                                                         \
    _mm256_storeu_ps(c + (size_t)(i)*ldc + 8, c##i##_1)

AVX2_TARGET static void ukr_avx2(size_t kc, const float *a, size_t lda, const float *b, float *c, size_t ldc,
                                 int acc) {
    Y_DECL(0);
    Y_DECL(1);
    Y_DECL(2);
    Y_DECL(3);
    Y_DECL(4);
    Y_DECL(5);
    Y_INIT(0);
    Y_INIT(1);
    Y_INIT(2);
    Y_INIT(3);
    Y_INIT(4);
    Y_INIT(5);
    for (size_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(b + k * 16), b1 = _mm256_loadu_ps(b + k * 16 + 8);
        Y_STEP(0);
        Y_STEP(1);
        Y_STEP(2);
        Y_STEP(3);
        Y_STEP(4);
        Y_STEP(5);
    }
    Y_STORE(0);
    Y_STORE(1);
    Y_STORE(2);
    Y_STORE(3);
    Y_STORE(4);
    Y_STORE(5);
}

/* ---- AVX-512F: 12 x 32 (24 zmm accumulators) ----------------------------- */

#define AVX512_TARGET __attribute__((target("avx512f")))

#define Z_DECL(i) __m512 c##i##_0, c##i##_1
#define Z_INIT(i)                                                                                            \
    const float *a##i = a + (size_t)(i)*lda;                                                                 \
    c##i##_0 = acc ? _mm512_loadu_ps(c + (size_t)(i)*ldc) : _mm512_setzero_ps();                             \
    c##i##_1 = acc ? _mm512_loadu_ps(c + (size_t)(i)*ldc + 16) : _mm512_setzero_ps()
#define Z_STEP(i)                                                                                            \
    do {                                                                                                     \
        const __m512 av = _mm512_set1_ps(a##i[k]);                                                           \
        c##i##_0 = _mm512_fmadd_ps(av, b0, c##i##_0);                                                        \
        c##i##_1 = _mm512_fmadd_ps(av, b1, c##i##_1);                                                        \
    } while (0)
#define Z_STORE(i)                                                                                           \
    _mm512_storeu_ps(c + (size_t)(i)*ldc, c##i##_0);                                                         \
    _mm512_storeu_ps(c + (size_t)(i)*ldc + 16, c##i##_1)

AVX512_TARGET static void ukr_avx512(size_t kc, const float *a, size_t lda, const float *b, float *c,
                                     size_t ldc, int acc) {
    Z_DECL(0);
    Z_DECL(1);
    Z_DECL(2);
    Z_DECL(3);
    Z_DECL(4);
    Z_DECL(5);
    Z_DECL(6);
    Z_DECL(7);
    Z_DECL(8);
    Z_DECL(9);
    Z_DECL(10);
    Z_DECL(11);
    Z_INIT(0);
    Z_INIT(1);
    Z_INIT(2);
    Z_INIT(3);
    Z_INIT(4);
    Z_INIT(5);
    Z_INIT(6);
    Z_INIT(7);
    Z_INIT(8);
    Z_INIT(9);
    Z_INIT(10);
    Z_INIT(11);
    for (size_t k = 0; k < kc; k++) {
        const __m512 b0 = _mm512_loadu_ps(b + k * 32), b1 = _mm512_loadu_ps(b + k * 32 + 16);
        Z_STEP(0);
        Z_STEP(1);
        Z_STEP(2);
        Z_STEP(3);
        Z_STEP(4);
        Z_STEP(5);
        Z_STEP(6);
        Z_STEP(7);
        Z_STEP(8);
        Z_STEP(9);
        Z_STEP(10);
        Z_STEP(11);
    }
    Z_STORE(0);
    Z_STORE(1);
    Z_STORE(2);
    Z_STORE(3);
    Z_STORE(4);
    Z_STORE(5);
    Z_STORE(6);
    Z_STORE(7);
    Z_STORE(8);
    Z_STORE(9);
    Z_STORE(10);
    Z_STORE(11);
}

/* ---- variant selection ---------------------------------------------------- */

static const Variant VARIANTS[CPU_SGEMM_NVARIANTS] = {
    [CPU_SGEMM_PORTABLE] = {"portable fmaf", 4, 16, ukr_portable},
    [CPU_SGEMM_AVX2] = {"AVX2+FMA 6x16", 6, 16, ukr_avx2},
    [CPU_SGEMM_AVX512] = {"AVX-512F 12x32", 12, 32, ukr_avx512},
};

static int forced = -1; /* cpu_sgemm_force (tests, bench; not while a GEMM runs); -1: the best there is */

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

int cpu_sgemm_nr(int v) {
    return v >= 0 && v < CPU_SGEMM_NVARIANTS ? VARIANTS[v].nr : 0;
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

/* dst [k][nr] (columns 0 .. nn) = src [nn rows, ld][k] transposed, kc columns */
static void transpose_scalar(float *dst, const float *src, size_t ld, size_t nn, size_t kc, int nr) {
    for (size_t j = 0; j < nn; j++)
        for (size_t k = 0; k < kc; k++)
            dst[k * (size_t)nr + j] = src[j * ld + k];
}

/* the same, 8 x 8 blocks through ymm registers */
AVX2_TARGET static void transpose_avx2(float *dst, const float *src, size_t ld, size_t nn, size_t kc,
                                       int nr) {
    size_t j = 0;
    for (; j + 8 <= nn; j += 8) {
        const float *s = src + j * ld;
        size_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 r0 = _mm256_loadu_ps(s + k), r1 = _mm256_loadu_ps(s + ld + k);
            __m256 r2 = _mm256_loadu_ps(s + 2 * ld + k), r3 = _mm256_loadu_ps(s + 3 * ld + k);
            __m256 r4 = _mm256_loadu_ps(s + 4 * ld + k), r5 = _mm256_loadu_ps(s + 5 * ld + k);
            __m256 r6 = _mm256_loadu_ps(s + 6 * ld + k), r7 = _mm256_loadu_ps(s + 7 * ld + k);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *d = dst + k * (size_t)nr + j;
            _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + (size_t)nr, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * (size_t)nr, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * (size_t)nr, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * (size_t)nr, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * (size_t)nr, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * (size_t)nr, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * (size_t)nr, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        if (k < kc) transpose_scalar(dst + k * (size_t)nr + j, s + k, ld, 8, kc - k, nr);
    }
    if (j < nn) transpose_scalar(dst + j, src + j * ld, ld, nn - j, kc, nr);
}

static void transpose(float *dst, const float *src, size_t ld, size_t nn, size_t kc, int nr) {
    if (cpu_sgemm_variant() != CPU_SGEMM_PORTABLE && cpu_sgemm_has(CPU_SGEMM_AVX2))
        transpose_avx2(dst, src, ld, nn, kc, nr);
    else
        transpose_scalar(dst, src, ld, nn, kc, nr);
}

static void pack_nt(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                    float *row) {
    (void)row;
    transpose(dst, b->p + n0 * b->ld + k0, b->ld, nn, kc, nr);
    zero_cols(dst, kc, nn, nr);
}

static void pack_nn(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                    float *row) {
    (void)row;
    for (size_t k = 0; k < kc; k++)
        memcpy(dst + k * (size_t)nr, b->p + (k0 + k) * b->ld + n0, nn * sizeof(float));
    zero_cols(dst, kc, nn, nr);
}

/* rows expanded to fp32 by get (kc columns from k0) 8 at a time, then transposed into the panel */
static void pack_rows(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                      float *row,
                      void (*get)(const CpuGemmB *b, size_t r, size_t k0, size_t kc, float *out)) {
    for (size_t j0 = 0; j0 < nn; j0 += 8) {
        const size_t jn = nn - j0 < 8 ? nn - j0 : 8;
        for (size_t j = 0; j < jn; j++)
            get(b, n0 + j0 + j, k0, kc, row + j * kc);
        transpose(dst + j0, row, kc, jn, kc, nr);
    }
    zero_cols(dst, kc, nn, nr);
}

/* a compact weight: exact for bf16 / f16; the dequantized values for quantized formats */
static void weight_row(const CpuGemmB *b, size_t r, size_t k0, size_t kc, float *out) {
    cpu_weight_row(b->w, r, b->c0 + k0, kc, out);
}
static void pack_weight(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                        float *row) {
    pack_rows(b, n0, nn, k0, kc, nr, dst, row, weight_row);
}

/* bf16 rows (exact) */
static void bf16_row(const CpuGemmB *b, size_t r, size_t k0, size_t kc, float *out) {
    ls_bf16_row_to_f32(b->h + r * b->ld + b->c0 + k0, kc, out);
}
static void pack_bf16(const CpuGemmB *b, size_t n0, size_t nn, size_t k0, size_t kc, int nr, float *dst,
                      float *row) {
    pack_rows(b, n0, nn, k0, kc, nr, dst, row, bf16_row);
}

CpuGemmB cpu_gemm_b_nt(const float *B, size_t ldb) {
    return (CpuGemmB){.pack = pack_nt, .p = B, .ld = ldb};
}
CpuGemmB cpu_gemm_b_nn(const float *B, size_t ldb) {
    return (CpuGemmB){.pack = pack_nn, .p = B, .ld = ldb};
}
CpuGemmB cpu_gemm_b_weight(const CpuWeight *w, size_t c0) {
    /* a prepacked fp32 copy is read in place by the micro-kernel it was packed for; under another
     * (a forced variant) its rows are expanded and packed like any compact weight's */
    return (CpuGemmB){.pack = pack_weight, .w = w, .c0 = c0, .direct_nr = w->f32 ? w->f32_nr : 0};
}
CpuGemmB cpu_gemm_b_bf16(const uint16_t *B, size_t ldb, size_t c0) {
    return (CpuGemmB){.pack = pack_bf16, .h = B, .ld = ldb, .c0 = c0};
}

/* ---- the driver ----------------------------------------------------------- */

/* per-thread scratch: the packed block, 8 expanded weight rows, the rows of
 * A of a partial register block, 64-byte aligned */
#define THREAD_FLOATS ((size_t)KC * NC + 8 * KC + (size_t)MR_MAX * KC + 16)

/* rows [m0, m1) x panels [p0, p1) of the product, K in blocks */
static void tile(const Variant *v, size_t m0, size_t m1, size_t p0, size_t p1, size_t N, size_t K,
                 const float *A, size_t lda, const CpuGemmB *B, float *C, size_t ldc, int acc, float *buf) {
    const size_t nr = (size_t)v->nr, mr = (size_t)v->mr, ncp = NC / nr; /* panels per packed block */
    float *pk = buf, *row = buf + (size_t)KC * NC, *atail = row + 8 * KC;
    float tail[MR_MAX * NR_MAX] = {0};
    for (size_t q0 = p0; q0 < p1; q0 += ncp) {
        const size_t q1 = q0 + ncp < p1 ? q0 + ncp : p1;
        const size_t n1 = q1 * nr < N ? q1 * nr : N;
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            const size_t kc = K - k0 < KC ? K - k0 : KC;
            const int a = acc || k0 > 0;              /* continue the chain from C */
            const int direct = B->direct_nr == v->nr; /* prepacked panels: [k][nr] blocks in place */
            for (size_t q = q0; q < q1 && !direct; q++) {
                const size_t c0 = q * nr, nn = N - c0 < nr ? N - c0 : nr;
                B->pack(B, c0, nn, k0, kc, v->nr, pk + (q - q0) * kc * nr, row);
            }
            for (size_t i = m0; i < m1; i += mr) {
                const size_t m = m1 - i < mr ? m1 - i : mr;
                const float *Ai = A + i * lda + k0;
                size_t la = lda;
                if (m < mr) { /* a partial block: its rows, then zero rows (their results are dropped) */
                    for (size_t r = 0; r < mr; r++)
                        if (r < m)
                            memcpy(atail + r * kc, Ai + r * lda, kc * sizeof(float));
                        else
                            memset(atail + r * kc, 0, kc * sizeof(float));
                    Ai = atail;
                    la = kc;
                }
                /* the next row block of A into L2 while this one runs: its rows are short
                 * streams the hardware prefetcher ramps up on too late (with the C prefetch
                 * below, 0.86 -> 0.93 of OpenBLAS at 512 x 4864 x 896 and 512 x 896 x 4864) */
                for (size_t r = i + mr; r < i + 2 * mr && r < m1; r++)
                    for (size_t k = 0; k < kc; k += 16)
                        __builtin_prefetch(A + r * lda + k0 + k, 0, 2);
                for (size_t q = q0; q < q1; q++) {
                    const size_t c0 = q * nr;
                    const float *bp = direct ? cpu_f32_panel(B->w, c0, B->c0 + k0) : pk + (q - q0) * kc * nr;
                    float *Ci = C + i * ldc + c0;
                    if (q + 1 < q1) /* the next block of C */
                        for (size_t r = 0; r < m; r++) {
                            __builtin_prefetch(Ci + r * ldc + nr, 1, 3);
                            __builtin_prefetch(Ci + r * ldc + 2 * nr - 1, 1, 3);
                        }
                    if (m == mr && c0 + nr <= n1) {
                        v->ukr(kc, Ai, la, bp, Ci, ldc, a);
                        continue;
                    }
                    /* a partial block of C: through a whole one */
                    const size_t nv = c0 + nr <= n1 ? nr : n1 - c0;
                    for (size_t r = 0; r < m && a; r++)
                        memcpy(tail + r * nr, Ci + r * ldc, nv * sizeof(float));
                    v->ukr(kc, Ai, la, bp, tail, nr, a);
                    for (size_t r = 0; r < m; r++)
                        memcpy(Ci + r * ldc, tail + r * nr, nv * sizeof(float));
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
    if (work < 1 << 18 || omp_in_parallel()) nt = 1; /* inside a parallel region: this thread alone */
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
