/* cpu_bf16.c — bf16 GEMMs with fp32 accumulation: AMX-BF16 tiles (TDPBF16PS)
 * where the processor has them, else AVX512-BF16 (VDPBF16PS), or fp32 FMAs on
 * the bf16-rounded operands where VDPBF16PS is the slower instruction (Intel
 * Xeons without AMX: it issues every other cycle, half the FMA's flops);
 * chosen at run time.
 *
 * FMA kernel. The activations are rounded to bf16 as VDPBF16PS rounds them and
 * kept as fp32 values; the weight's rows, bf16 (the stored ones when the
 * weight is stored bf16, else a copy rounded at load, [n][k]), are expanded
 * exactly into the fp32 GEMM's panels (cpu_sgemm.c). A product of two bf16
 * values is exact in fp32, so each output is the fp32 GEMM's one fma chain
 * over the bf16 products, with all of its properties (cpu_gemm.h).
 *
 * Why our own kernels: Debian's OpenBLAS 0.3.21 is built without BFLOAT16
 * (cblas_sbgemm is declared but not exported); oneDNN's matmul (Debian's
 * 2.6.3) was measured against the AMX kernel at the same shapes
 * (bench/gemm/bf16_bench.c, bench/results/gemm_bf16_*.json). The kernels are small.
 *
 * AVX512-BF16 layout. The weight W [n, k] is packed once at load into panels
 * of NR = 64 output rows; panel q holds, for each pair p of input columns
 * (2p, 2p+1), the 64 rows' two bf16 values side by side: B[q][p][j][h] =
 * W[64q + j, 2p + h] (zeros past n and k). The activations x [T, k] are
 * rounded to bf16 per call as pairs A[t][p] = (x[t, 2p], x[t, 2p + 1]) in one
 * 32-bit word, zero outside the requested columns [c0, c1).
 * VDPBF16PS(acc, bcast(A[t][p]), B[q][p]) adds both products of a pair to 16
 * fp32 accumulators, so a 6 x 64 block of y sits in 24 zmm registers while p
 * runs over the columns.
 *
 * AMX layout. The same panels as 1 KiB tiles, B[q][b][g][i][j][h] = W[64q +
 * 16g + j, 2(16b + i) + h] for pair block b (16 pairs) and column group g (16
 * output rows); zeros past n and past k up to the last whole block. The
 * activations are rounded per call into 1 KiB tiles of 16 rows x 16 pairs
 * (zeros past T, rounded up to 32, and outside [c0, c1)), over the whole pair
 * blocks that [c0, c1) touches. Four C tiles (32 activation rows x 32 output
 * rows) stay in tile registers while the pair blocks pass, in chunks whose A
 * (all rows) fits in L2; a chunk goes on from the previous chunk's C (exact
 * fp32 stores and loads). Activation rows past T and output rows past n go
 * through a 32 x 32 staging block. Tile loads read 1 KiB contiguous (a strided
 * B halved the speed) from memory on huge pages (ls_malloc_big: with 4 KiB
 * pages the loads stalled on TLB misses; 2-3x), and are interleaved with the
 * products, since tile registers are not renamed.
 *
 * Summation order: each y element is one chain over the pairs in order, from
 * 0 (from y when accumulating, as the fp32 GEMM's chain continues from C): VDPBF16PS steps
 * in the lane of its own row of W, or TDPBF16PS over blocks of 16 pairs (a
 * zero pair adds +0). Its bits depend on its row of x, its row of W, the
 * columns and the kernel only, not on T, n, the panel, register block or tile it falls
 * in, or the threads (panels are split over threads, each chain is whole in one
 * thread). The pairing is fixed by the absolute column (pair p = columns 2p,
 * 2p + 1, zero outside [c0, c1)), and the fixed-order column slices
 * (linear_cols) start at even columns (multiples of head_dim or of
 * intermediate / 4), so every tp pairs the same columns. TDPBF16PS and
 * VDPBF16PS both form fp32 products of bf16 and round to nearest even with
 * denormals flushed, but may add a pair's two products in different orders,
 * so the two kernels can differ in the last bit: both are tested against the
 * same double-precision reference (test_cpu_gemm, where the processor has
 * them). LS_CPU_NO_AMX=1 (or cpu_bf16_force) keeps the AVX512-BF16 kernel on
 * an AMX processor; a weight stays packed for the kernel it was loaded for.
 */
#define _DEFAULT_SOURCE /* syscall */
#include <cpuid.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* AMX: cpuid(7, 0) edx AMX-BF16 (bit 22) and AMX-TILE (24), the OS saving
 * the tile state (XCR0 bits 17, 18), and Linux's permission for this process
 * to use the tile data (arch_prctl ARCH_REQ_XCOMP_PERM, Linux >= 5.16). */
static int amx_hw = -1;      /* the processor and OS allow it (asked once) */
static char amx_hw_why[96];  /* why not */
static int bf16_forced = -1; /* cpu_bf16_force; -1: the best there is */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static void amx_probe(void) {
    if (amx_hw >= 0) return;
    amx_hw = 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) {
        snprintf(amx_hw_why, sizeof amx_hw_why, "the processor has no AMX-BF16 instructions");
        return;
    }
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if (((lo >> 17) & 3) != 3) {
        snprintf(amx_hw_why, sizeof amx_hw_why, "the OS does not save the AMX tile state");
        return;
    }
#ifdef SYS_arch_prctl
    if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)) {
        snprintf(amx_hw_why, sizeof amx_hw_why, "the kernel refused the AMX tile data permission");
        return;
    }
    amx_hw = 1;
#else
    snprintf(amx_hw_why, sizeof amx_hw_why, "no arch_prctl to ask for the AMX tile data permission");
#endif
}

int cpu_bf16_has(int kernel, char *why, size_t why_len) {
    char tmp[128];
    if (!why) why = tmp, why_len = sizeof tmp;
    if (!cpu_bf16_available(why, why_len)) return 0;
    if (kernel == CPU_BF16_AVX512 || kernel == CPU_BF16_FMA) return 1;
    if (kernel != CPU_BF16_AMX) {
        snprintf(why, why_len, "no such bf16 kernel");
        return 0;
    }
    amx_probe();
    if (!amx_hw) snprintf(why, why_len, "%s", amx_hw_why);
    return amx_hw;
}

int cpu_bf16_force(int kernel) {
    if (kernel >= 0 && !cpu_bf16_has(kernel, NULL, 0)) return -1;
    bf16_forced = kernel;
    return 0;
}

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* 1 on an Intel processor (cpuid vendor "GenuineIntel"). Every Intel core
 * with AVX512-BF16 (Cooper Lake, Sapphire / Emerald / Granite Rapids) issues
 * VDPBF16PS on one port, every other cycle: half the flops of its two fp32
 * FMA ports (80-84 against 152-166 GFLOP/s per core on registers, Emerald
 * Rapids; ls-bf16-bench times both where it runs), while AMD Zen 4 does
 * twice the FMA's flops with it. A rule, not a timing: every process of a
 * run, and a resumed run, takes the same kernel on the same processor. */
static int cpu_is_intel(void) {
    unsigned a, b, c, d;
    return __get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu;
}

int cpu_bf16_kernel(void) {
    static int best = 0;
    if (bf16_forced >= 0) return bf16_forced;
    static const char *const env_name[] = {
        [CPU_BF16_AVX512] = "avx512bf16", [CPU_BF16_AMX] = "amx", [CPU_BF16_FMA] = "fma"};
    const char *env = getenv("LS_CPU_BF16_KERNEL");
    for (int k = CPU_BF16_AVX512; env && k <= CPU_BF16_FMA; k++)
        if (!strcmp(env, env_name[k]) && cpu_bf16_has(k, NULL, 0)) return k;
    env = getenv("LS_CPU_NO_AMX");
    if (env && !strcmp(env, "1")) return CPU_BF16_AVX512;
    if (!best)
        best = cpu_bf16_has(CPU_BF16_AMX, NULL, 0) ? CPU_BF16_AMX
               : cpu_is_intel()                    ? CPU_BF16_FMA
                                                   : CPU_BF16_AVX512;
    return best;
}

const char *cpu_bf16_kernel_name(int kernel) {
    return kernel == CPU_BF16_AMX   ? "AMX-BF16 32x32 tiles"
           : kernel == CPU_BF16_FMA ? "bf16 operands on the fp32 FMA GEMM"
                                    : "AVX512-BF16 6x64";
}

/* The bf16 pairs of xr[2 pa0 ...] (round to nearest even; denormals flushed,
 * as VDPBF16PS reads them anyway), zero outside columns [c0, c1), in blocks of
 * 16 pairs bs words apart: ar [pn] for bs = 16; for the AMX tiles (bs = 256)
 * each block is written whole, zeros past pn. */
BF16_TARGET static void row_pairs(uint32_t *ar, size_t bs, const float *xr, size_t c0, size_t c1, size_t pa0,
                                  size_t pn) {
    for (size_t p = 0; p < pn; p += 16) {
        const size_t e0 = 2 * (pa0 + p); /* first column of this block of 32 */
        uint32_t m = 0;
        for (int i = 0; i < 32; i++)
            m |= (uint32_t)(e0 + (size_t)i >= c0 && e0 + (size_t)i < c1) << i;
        __m512 v0 = _mm512_maskz_loadu_ps((__mmask16)(m & 0xffff), xr + e0);
        __m512 v1 = _mm512_maskz_loadu_ps((__mmask16)(m >> 16), xr + e0 + 16);
        __m512i b = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);
        if (bs == 16) {
            const size_t cnt = pn - p < 16 ? pn - p : 16;
            _mm512_mask_storeu_epi32(ar + p, (__mmask16)((1u << cnt) - 1), b);
        } else {
            _mm512_storeu_si512(ar + p / 16 * bs, b);
        }
    }
}

/* A [T, pn] = bf16 pairs of x[t, 2 pa0 ...], zero outside columns [c0, c1). */
static void pack_a(uint32_t *A, const float *x, size_t ldx, size_t T, size_t c0, size_t c1, size_t pa0,
                   size_t pn) {
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++)
        row_pairs(A + t * pn, 16, x + t * ldx, c0, c1, pa0, pn);
}

/* The AMX tiles of A: A [T / 16][nb][16][16], tile (i, b) = rows 16 i .. 16 i + 15,
 * pairs 16 b .. 16 b + 15, 1 KiB contiguous; zeros past T (up to Tp) and pn. */
static void pack_a_tiles(uint32_t *A, const float *x, size_t ldx, size_t T, size_t Tp, size_t c0, size_t c1,
                         size_t pa0, size_t pn) {
    const size_t nb = (pn + 15) / 16;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < Tp; t++) {
        uint32_t *ar = A + (t / 16 * nb * 16 + t % 16) * 16;
        if (t < T)
            row_pairs(ar, 256, x + t * ldx, c0, c1, pa0, pn);
        else
            for (size_t b = 0; b < nb; b++)
                memset(ar + b * 256, 0, 16 * sizeof(uint32_t));
    }
}

/* Pairs per packed panel: AMX reads whole blocks of 16. */
static size_t panel_pairs(int kernel, size_t k) {
    const size_t np = (k + 1) / 2;
    return kernel == CPU_BF16_AMX ? (np + 15) / 16 * 16 : np;
}

/* The FMA kernel's weight: the rows rounded to bf16, [n][k]; none for a weight
 * stored bf16 (the GEMM expands its stored rows, exactly). */
static int pack_rows_bf16(CpuWeight *w, LsError *e) {
    w->bf16_kernel = CPU_BF16_FMA;
    int all_bf16 = 1;
    for (int i = 0; i < w->ns; i++)
        all_bf16 &= w->sl[i].w->dtype == LS_DT_BF16;
    if (all_bf16) return LS_OK;
    size_t bytes;
    if (ls_mul_size(w->n, w->k, &bytes) || ls_mul_size(bytes, sizeof(uint16_t), &bytes) ||
        !(w->bf16 = ls_try_malloc_big(bytes)))
        return ls_fail(e, "cpu backend: cannot allocate %zu x %zu bf16 weight %s", w->n, w->k,
                       w->sl[0].w->name);
#pragma omp parallel
    {
        float *row = ls_malloc(w->k * sizeof(float));
#pragma omp for schedule(static)
        for (size_t r = 0; r < w->n; r++) {
            cpu_weight_row(w, r, 0, w->k, row);
            for (size_t c = 0; c < w->k; c++)
                w->bf16[r * w->k + c] = ls_f32_to_bf16(row[c]);
        }
        free(row);
    }
    return LS_OK;
}

/* The packed panels. AVX512-BF16: B[q][p][j][h] = W[64q + j, 2p + h]. AMX: the
 * same values as 1 KiB tiles, B[q][b][g][i][j][h] = W[64q + 16g + j, 2(16b + i) + h]
 * (pair block b, column group g of 16): a tile load reads 1 KiB contiguous
 * (a 256-byte stride halved the speed). Zeros past n and k (and past the last
 * whole block of 16 pairs). */
int cpu_bf16_pack(CpuWeight *w, LsError *e) {
    if (cpu_bf16_kernel() == CPU_BF16_FMA) return pack_rows_bf16(w, e);
    const int amx = cpu_bf16_kernel() == CPU_BF16_AMX;
    const size_t npp = panel_pairs(amx ? CPU_BF16_AMX : CPU_BF16_AVX512, w->k), npan = (w->n + NR - 1) / NR;
    size_t bytes;
    if (ls_mul_size(npan, npp, &bytes) || ls_mul_size(bytes, NR * 2 * sizeof(uint16_t), &bytes) ||
        !(w->bf16 = ls_try_malloc_big(bytes))) {
        w->bf16 = NULL;
        return ls_fail(e, "cpu backend: cannot allocate %zu x %zu bf16 weight %s", w->n, w->k,
                       w->sl[0].w->name);
    }
    w->bf16_kernel = amx ? CPU_BF16_AMX : CPU_BF16_AVX512;
#pragma omp parallel
    {
        float *row = ls_malloc((npp * 2 + 1) * sizeof(float));
#pragma omp for schedule(static)
        for (size_t q = 0; q < npan; q++) {
            uint16_t *B = w->bf16 + q * npp * NR * 2;
            for (size_t j = 0; j < NR; j++) {
                size_t r = q * NR + j;
                memset(row, 0, (npp * 2 + 1) * sizeof(float));
                if (r < w->n) cpu_weight_row(w, r, 0, w->k, row);
                for (size_t p = 0; p < npp; p++) {
                    const size_t o =
                        amx ? ((p / 16 * 4 + j / 16) * 16 + p % 16) * 32 + j % 16 * 2 : (p * NR + j) * 2;
                    B[o] = ls_f32_to_bf16(row[2 * p]);
                    B[o + 1] = ls_f32_to_bf16(row[2 * p + 1]);
                }
            }
        }
        free(row);
    }
    return LS_OK;
}

/* y[0:m, 0:nv] (+)= A[0:m] . panel B over pn pairs (rows of A lda apart); m <= MR, nv <= NR. */
BF16_TARGET static inline __attribute__((always_inline)) void kernel(int m, const uint32_t *A, size_t lda,
                                                                     size_t pn, const uint16_t *B, float *y,
                                                                     size_t ldy, size_t nv, int acc) {
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
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)A[(size_t)i * lda + p]);
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

BF16_TARGET static void panel(const uint32_t *A, size_t lda, size_t pn, size_t T, const uint16_t *B, float *y,
                              size_t ldy, size_t nv, int acc) {
    size_t t = 0;
    for (; t + MR <= T; t += MR)
        kernel(MR, A + t * lda, lda, pn, B, y + t * ldy, ldy, nv, acc);
    switch (T - t) {
    case 5:
        kernel(5, A + t * lda, lda, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 4:
        kernel(4, A + t * lda, lda, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 3:
        kernel(3, A + t * lda, lda, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 2:
        kernel(2, A + t * lda, lda, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    case 1:
        kernel(1, A + t * lda, lda, pn, B, y + t * ldy, ldy, nv, acc);
        break;
    default:
        break;
    }
}

/* ---- AMX ------------------------------------------------------------------ */

#define AMX_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

/* Tiles 0-3: C (2 x 2 blocks of 16 x 16 fp32), 4-5: A, 6-7: B; all 16 rows of 64 bytes.
 * amx_config / amx_release are called from OpenMP regions as functions: an
 * outlined region does not inherit the target attributes (clang 14 fails to
 * select the tile instructions there). */
AMX_TARGET __attribute__((noinline)) static void amx_release(void) {
    _tile_release();
}

/* The tile configuration, in static memory: GCC's _tile_loadconfig tells the
 * compiler it reads only 8 bytes, so a configuration built on the stack could
 * lose its stores. */
static const struct __attribute__((aligned(64))) {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} AMX_CFG = {
    .palette = 1, .colsb = {64, 64, 64, 64, 64, 64, 64, 64}, .rows = {16, 16, 16, 16, 16, 16, 16, 16}};

AMX_TARGET __attribute__((noinline)) static void amx_config(void) {
    _tile_loadconfig(&AMX_CFG);
}

/* C [32, 32] (ldc floats apart) (+)= A . B over nb blocks of 16 pairs: A the
 * two row tiles' blocks (A0, A0 + as: 1 KiB tiles, the next block 1 KiB on),
 * B the panel's two column-group tiles (B, B + 1 KiB; the next block 4 KiB on). Loads are
 * interleaved with the products (tile registers are not renamed: a load waits
 * for the products reading its register). */
AMX_TARGET static void amx_block(const uint32_t *A0, size_t as, size_t nb, const uint16_t *B, float *C,
                                 size_t ldc, int acc, const char *pf, size_t pfs) {
    const size_t sc = ldc * sizeof(float);
    if (acc) {
        _tile_loadd(0, C, sc);
        _tile_loadd(1, C + 16, sc);
        _tile_loadd(2, C + 16 * ldc, sc);
        _tile_loadd(3, C + 16 * ldc + 16, sc);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (size_t b = 0; b < nb; b++) {
        const uint32_t *a = A0 + b * 256;
        const uint16_t *bb = B + b * 2048;
        _tile_loadd(4, a, 64);
        _tile_loadd(6, bb, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, bb + 512, 64);
        _tile_dpbf16ps(1, 4, 7);
        _tile_loadd(5, a + as, 64);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
        for (size_t o = 0; o < pfs; o += 64)
            _mm_prefetch(pf + b * pfs + o, _MM_HINT_T1);
    }
    _tile_stored(0, C, sc);
    _tile_stored(1, C + 16, sc);
    _tile_stored(2, C + 16 * ldc, sc);
    _tile_stored(3, C + 16 * ldc + 16, sc);
}

/* One panel (nv <= NR output rows), T activation rows, blocks kb0 .. kb0 + nb of
 * the tiled A (nbt blocks per row tile); output rows past nv and activation
 * rows past T go through a staging block. */
AMX_TARGET static void panel_amx(const uint32_t *A, size_t nbt, size_t kb0, size_t nb, size_t T,
                                 const uint16_t *B, float *y, size_t ldy, size_t nv, int acc,
                                 const uint16_t *next) {
    float stage[32 * 32] __attribute__((aligned(64)));
    /* the next panel's chunk (nb * 4 KiB) is prefetched into L2 over this panel's blocks */
    const size_t calls = (T + 31) / 32 * ((nv + 31) / 32);
    size_t pfs = next ? (4096 / calls + 63) / 64 * 64 : 0, call = 0; /* bytes per block step */
    const char *pf = (const char *)(next ? next : B); /* pfs = 0 without a next panel: nothing prefetched */
    for (size_t t = 0; t < T; t += 32) {
        const size_t m = T - t < 32 ? T - t : 32;
        const uint32_t *a = A + (t / 16 * nbt + kb0) * 256;
        for (size_t j0 = 0; j0 < nv; j0 += 32) {
            const size_t w = nv - j0 < 32 ? nv - j0 : 32;
            float *yb = y + t * ldy + j0;
            if (m == 32 && w == 32) {
                amx_block(a, nbt * 256, nb, B + j0 / 16 * 512, yb, ldy, acc, pf + call * nb * pfs, pfs);
            } else {
                if (acc)
                    for (size_t i = 0; i < m; i++)
                        memcpy(stage + i * 32, yb + i * ldy, w * sizeof(float));
                amx_block(a, nbt * 256, nb, B + j0 / 16 * 512, stage, 32, acc, pf + call * nb * pfs, pfs);
                for (size_t i = 0; i < m; i++)
                    memcpy(yb + i * ldy, stage + i * 32, w * sizeof(float));
            }
            call++;
        }
    }
}

/* AMX over the pair blocks pb0 .. pb0 + nbt (A tiled from pair 16 pb0): the
 * blocks in chunks of kb, so that a chunk of A (all rows) stays in L2 while
 * every panel passes over it (each panel's chunk is read from memory once and
 * reused by all row blocks); a chunk's C goes on from the previous chunk's
 * values (exact fp32 stores and loads: the chain is the same). */
AMX_TARGET static void gemm_amx(const uint32_t *A, size_t Tp, size_t pb0, size_t nbt, const CpuWeight *w,
                                float *y, size_t T, int acc) {
    const size_t npp = panel_pairs(CPU_BF16_AMX, w->k), npan = (w->n + NR - 1) / NR;
    size_t kb = ((size_t)1 << 20) / (Tp * 64); /* A chunk <= 1 MiB */
    kb = kb < 4 ? 4 : kb;
#pragma omp parallel
    {
        amx_config();
        for (size_t kb0 = 0; kb0 < nbt; kb0 += kb) {
            const size_t nb = nbt - kb0 < kb ? nbt - kb0 : kb;
#pragma omp for schedule(static)
            for (size_t q = 0; q < npan; q++) {
                const size_t nv = w->n - q * NR < NR ? w->n - q * NR : NR;
                const uint16_t *B = w->bf16 + (q * npp + (pb0 + kb0) * 16) * NR * 2;
                panel_amx(A, nbt, kb0, nb, T, B, y + q * NR, w->n, nv, acc || kb0 > 0,
                          q + 1 < npan ? B + npp * NR * 2 : NULL);
            }
        }
        amx_release();
    }
}

/* o [n] = xt [n] rounded to bf16 (as VDPBF16PS's inputs: nearest even, denormals flushed), as fp32
 * values (called from an OpenMP region as a function: clang 14 drops the target attributes of an
 * outlined region) */
BF16_TARGET static void round_row(float *o, const float *xt, size_t n) {
    for (size_t j = 0; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        const __m256i h = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, xt + j));
        _mm512_mask_storeu_epi32(o + j, m, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

/* The FMA kernel: the fp32 GEMM on the rounded activations and the weight's bf16 rows: the
 * products are exact, each element one fp32 fma chain over [c0, c1) in order (cpu_gemm.h). */
static void gemm_fma(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T,
                     size_t c0, size_t c1, int acc) {
    const size_t n = c1 - c0;
    s->a16 = cpu_scratch_grow(s->a16, &s->a16_cap, T * n * sizeof(float));
    float *xr = (float *)s->a16;
#pragma omp parallel for schedule(static)
    for (size_t t = 0; t < T; t++)
        round_row(xr + t * n, x + t * ldx + c0, n);
    const CpuGemmB b = w->bf16 ? cpu_gemm_b_bf16(w->bf16, w->k, c0) : cpu_gemm_b_weight(w, c0);
    cpu_gemm_run(s, T, w->n, n, xr, n, &b, y, w->n, acc);
}

AMX_TARGET void cpu_bf16_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w,
                              size_t T, size_t c0, size_t c1, int acc) {
    if (w->bf16_kernel == CPU_BF16_FMA) {
        gemm_fma(s, y, x, ldx, w, T, c0, c1, acc);
        return;
    }
    const size_t np = panel_pairs(CPU_BF16_AVX512, w->k), npan = (w->n + NR - 1) / NR;
    const size_t pa0 = c0 / 2, pn = (c1 + 1) / 2 - pa0;
    if (w->bf16_kernel == CPU_BF16_AMX) { /* whole blocks of 16 pairs, zeros outside [c0, c1) */
        const size_t pb0 = pa0 / 16, nbt = (pa0 + pn + 15) / 16 - pb0, Tp = (T + 31) / 32 * 32;
        s->a16 = cpu_scratch_grow(s->a16, &s->a16_cap, Tp * nbt * 256 * sizeof(uint32_t));
        pack_a_tiles(s->a16, x, ldx, T, Tp, c0, c1, pb0 * 16, nbt * 16);
        gemm_amx(s->a16, Tp, pb0, nbt, w, y, T, acc);
        return;
    }
    s->a16 = cpu_scratch_grow(s->a16, &s->a16_cap, T * pn * sizeof(uint32_t));
    const uint32_t *A = s->a16;
    pack_a(s->a16, x, ldx, T, c0, c1, pa0, pn);
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < npan; q++) {
        const size_t nv = w->n - q * NR < NR ? w->n - q * NR : NR;
        panel(A, pn, pn, T, w->bf16 + (q * np + pa0) * NR * 2, y + q * NR, w->n, nv, acc);
    }
}
