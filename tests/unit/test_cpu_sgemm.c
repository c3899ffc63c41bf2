/* test_cpu_sgemm.c — the CPU backend's own fp32 GEMM (src/backend/cpu/cpu_sgemm.c).
 *
 * Its promise: element (i, j) is one chain of fmaf over k in order, from 0 or
 * from C when accumulating, so its bits do not depend on M, N, the column
 * offset, the tiling or the threads. Checked bit for bit against that
 * definition written out here (naive fmaf loops), and directly: row ranges
 * at odd offsets (M from 1 to 300), column slices at odd offsets, 1, 2 and 4
 * threads, K across several cache blocks, strided operands, the NN form, and
 * every micro-kernel variant the processor has (AVX-512F, AVX2+FMA, portable
 * fmaf: each an fma chain correctly rounded per step, so they agree with one
 * another too). Accuracy: within the rigorous bound of recursive summation,
 * gamma_K sum |a b|, of a double-precision reference. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backend/cpu/cpu_gemm.h"

enum { M = 300, N = 300, K = 613, LDA = K + 3, LDC = N + 5 }; /* K: three blocks of KC = 256 */

static float A[M * LDA], B[N * K], BT[K * N], C0[M * LDC];

static float rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((float)(*s >> 8) / 16777216.0f - 0.5f) * 2.0f;
}

static void fill(void) {
    unsigned s = 11;
    for (size_t i = 0; i < (size_t)M * LDA; i++)
        A[i] = rnd(&s);
    for (size_t i = 0; i < (size_t)N * K; i++)
        B[i] = rnd(&s) * 0.7f;
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < K; k++)
            BT[k * N + n] = B[n * K + k];
    for (size_t i = 0; i < (size_t)M * LDC; i++)
        C0[i] = rnd(&s) * 5.0f;
}

/* the definition: one fmaf chain per element, k in order */
static float chain(size_t i, size_t j, size_t kk, float start) {
    float c = start;
    for (size_t k = 0; k < kk; k++)
        c = fmaf(A[i * LDA + k], B[j * K + k], c);
    return c;
}

/* C [M, LDC] of the whole product with the current variant and threads */
static float *whole(int threads, int acc) {
    float *C = malloc(sizeof(float) * M * LDC);
    memcpy(C, C0, sizeof(float) * M * LDC);
    omp_set_num_threads(threads);
    cpu_sgemm_nt(NULL, M, N, K, A, LDA, B, K, C, LDC, acc);
    return C;
}

static void check_invariance(int variant) {
    cr_assert_eq(cpu_sgemm_force(variant), 0);
    const char *name = cpu_sgemm_name(variant);
    for (int acc = 0; acc <= 1; acc++) {
        float *ref = whole(2, acc);
        /* the definition, bit for bit, and the padding columns untouched */
        for (size_t i = 0; i < M; i++) {
            for (size_t j = 0; j < N; j++) {
                float d = chain(i, j, K, acc ? C0[i * LDC + j] : 0.0f);
                cr_assert(!memcmp(&d, &ref[i * LDC + j], sizeof d), "%s acc %d (%zu, %zu): %a, definition %a",
                          name, acc, i, j, ref[i * LDC + j], d);
            }
            for (size_t j = N; j < LDC; j++)
                cr_assert(!memcmp(&ref[i * LDC + j], &C0[i * LDC + j], sizeof(float)), "%s wrote past N",
                          name);
        }
        /* 1 and 4 threads */
        const int th[] = {1, 4};
        for (int t = 0; t < 2; t++) {
            float *c = whole(th[t], acc);
            cr_assert(!memcmp(c, ref, sizeof(float) * M * LDC), "%s acc %d: %d threads differ from 2", name,
                      acc, th[t]);
            free(c);
        }
        omp_set_num_threads(2);
        /* row ranges [m0, m0 + m): every M from 1 to M, at odd offsets */
        float *c = malloc(sizeof(float) * M * N);
        for (size_t m = 1; m <= M; m += m < 20 ? 1 : 37) {
            const size_t m0 = (m * 7 + 1) % (M - m + 1);
            for (size_t i = 0; i < m; i++)
                memcpy(c + i * N, C0 + (m0 + i) * LDC, sizeof(float) * N);
            cpu_sgemm_nt(NULL, m, N, K, A + m0 * LDA, LDA, B, K, c, N, acc);
            for (size_t i = 0; i < m; i++)
                cr_assert(!memcmp(c + i * N, ref + (m0 + i) * LDC, sizeof(float) * N),
                          "%s acc %d: rows [%zu, %zu) differ from the whole product", name, acc, m0, m0 + m);
        }
        /* column slices [n0, n0 + n) at odd offsets (B's rows from n0; C from column n0) */
        const size_t sl[][2] = {{1, 1}, {3, 17}, {17, 15}, {33, 100}, {101, 199}, {0, 257}, {5, 295}};
        for (size_t q = 0; q < sizeof sl / sizeof sl[0]; q++) {
            const size_t n0 = sl[q][0], n = sl[q][1];
            for (size_t i = 0; i < M; i++)
                memcpy(c + i * n, C0 + i * LDC + n0, sizeof(float) * n);
            cpu_sgemm_nt(NULL, M, n, K, A, LDA, B + n0 * K, K, c, n, acc);
            for (size_t i = 0; i < M; i++)
                cr_assert(!memcmp(c + i * n, ref + i * LDC + n0, sizeof(float) * n),
                          "%s acc %d: columns [%zu, %zu) differ from the whole product", name, acc, n0,
                          n0 + n);
        }
        /* NN: B given transposed [K, N], a column slice of it */
        float *cn = malloc(sizeof(float) * M * LDC);
        memcpy(cn, C0, sizeof(float) * M * LDC);
        cpu_sgemm_nn(NULL, M, N - 7, K, A, LDA, BT + 7, N, cn + 7, LDC, acc);
        for (size_t i = 0; i < M; i++)
            cr_assert(!memcmp(cn + i * LDC + 7, ref + i * LDC + 7, sizeof(float) * (N - 7)),
                      "%s acc %d: NN row %zu differs from NT", name, acc, i);
        free(cn);
        free(c);
        free(ref);
    }
    cpu_sgemm_force(-1);
}

Test(cpu_sgemm, portable_is_the_fma_chain_whatever_the_shape_and_threads) {
    fill();
    check_invariance(CPU_SGEMM_PORTABLE);
}

Test(cpu_sgemm, avx2_is_the_fma_chain_whatever_the_shape_and_threads) {
    if (!cpu_sgemm_has(CPU_SGEMM_AVX2)) {
        fprintf(stderr, "no AVX2+FMA on this processor: its kernel not tested\n");
        return;
    }
    fill();
    check_invariance(CPU_SGEMM_AVX2);
}

Test(cpu_sgemm, avx512_is_the_fma_chain_whatever_the_shape_and_threads) {
    if (!cpu_sgemm_has(CPU_SGEMM_AVX512)) {
        fprintf(stderr, "no AVX-512F on this processor: its kernel not tested\n");
        return;
    }
    fill();
    check_invariance(CPU_SGEMM_AVX512);
}

/* every variant available gives the bits of the portable one, also for the K = 0 and tiny cases */
Test(cpu_sgemm, variants_agree_bitwise) {
    fill();
    const size_t shapes[][3] = {{1, 1, 1}, {2, 3, 5}, {13, 33, 64}, {64, 300, 613}, {7, 40, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t m = shapes[s][0], n = shapes[s][1], kk = shapes[s][2];
        float *ref = malloc(sizeof(float) * m * n), *c = malloc(sizeof(float) * m * n);
        cr_assert_eq(cpu_sgemm_force(CPU_SGEMM_PORTABLE), 0);
        cpu_sgemm_nt(NULL, m, n, kk, A, LDA, B, K, ref, n, 0);
        for (int v = 0; v < CPU_SGEMM_NVARIANTS; v++) {
            if (!cpu_sgemm_has(v)) continue;
            cr_assert_eq(cpu_sgemm_force(v), 0);
            memset(c, 0xff, sizeof(float) * m * n); /* NaNs: every element must be written */
            cpu_sgemm_nt(NULL, m, n, kk, A, LDA, B, K, c, n, 0);
            cr_assert(!memcmp(c, ref, sizeof(float) * m * n),
                      "%s differs from the portable kernel at %zux%zux%zu", cpu_sgemm_name(v), m, n, kk);
        }
        free(ref);
        free(c);
    }
    cpu_sgemm_force(-1);
    cr_assert(cpu_sgemm_has(cpu_sgemm_variant()));
}

/* |c - exact| <= gamma_K sum_k |a_k b_k|, gamma_K = K u / (1 - K u), u = 2^-24 */
Test(cpu_sgemm, within_the_error_bound_of_a_double_reference) {
    fill();
    cpu_sgemm_force(-1);
    float *c = malloc(sizeof(float) * M * N);
    cpu_sgemm_nt(NULL, M, N, K, A, LDA, B, K, c, N, 0);
    const double u = ldexp(1.0, -24), gamma = K * u / (1 - K * u);
    double worst = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0, mag = 0;
            for (size_t k = 0; k < K; k++) {
                double p = (double)A[i * LDA + k] * B[j * K + k];
                s += p;
                mag += fabs(p);
            }
            double err = fabs(c[i * N + j] - s);
            cr_assert(err <= gamma * mag, "(%zu, %zu): %.9g vs %.17g, error %g above the bound %g", i, j,
                      c[i * N + j], s, err, gamma * mag);
            worst = err / mag > worst ? err / mag : worst;
        }
    cr_assert(worst > 0 && worst < 1e-5, "worst relative error %g", worst);
    free(c);
}
