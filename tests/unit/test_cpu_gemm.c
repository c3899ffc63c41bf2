/* test_cpu_gemm.c — the CPU backend's GEMMs on compact weights.
 *
 * fp32: a weight stored bf16 (expanded into the GEMM's packed blocks) gives
 * the bits of the same values stored fp32 (multiplied from a copy), for whole
 * products, column slices and accumulation, with shapes that make several
 * blocks and ragged edges (the GEMM itself: test_cpu_sgemm.c). bf16: each kernel the processor has
 * (AVX512-BF16, AMX-BF16, fp32 FMA on bf16 operands) against a double-precision sum of the bf16-rounded
 * inputs (the only error left is fp32 accumulation), with odd k, odd column slices (pair runs that are not
 * multiples of AMX's 16), T and n not multiples of the register block or tile; a row's result depends
 * neither on the thread count nor on T, nor on whether the weight was stored bf16 or fp32.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/backend/cpu/cpu_gemm.h"
#include "ls/backend.h"
#include "ls/quant.h"

enum { T = 45, N = 7001, K = 703 }; /* K: three blocks of 256, N: ragged panels */

static uint16_t wb[N * K];
static float wf[N * K], x[T * K], xr[T * K]; /* xr: x rounded to bf16 */

static void fill(void) {
    unsigned s = 7;
    for (int i = 0; i < N * K; i++) {
        s = s * 1103515245u + 12345u;
        wb[i] = ls_f32_to_bf16(((float)(s >> 8) / 16777216.0f - 0.5f) * 2.0f);
        wf[i] = ls_bf16_to_f32(wb[i]);
    }
    for (int i = 0; i < T * K; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 3.0f;
        xr[i] = ls_bf16_to_f32(ls_f32_to_bf16(x[i]));
    }
}

static void load(LsBackend *be, LsWeight *w, LsTensor *t, LsDType dt) {
    *t = (LsTensor){.name = "w", .dtype = dt, .ndim = 2, .shape = {N, K}};
    t->data = dt == LS_DT_BF16 ? (const void *)wb : (const void *)wf;
    t->nbytes = (size_t)N * K * ls_dtype_size(dt);
    /* two slices, as a fused weight: rows [0, 1000) and [1000, N) */
    LsWeightSlice sl[2] = {{t, NULL, 0, 1000, 0, K}, {t, NULL, 1000, N - 1000, 0, K}};
    LsError e = {{0}};
    cr_assert_eq(be->weight_load(be, w, sl, 2, &e), LS_OK, "%s", e.msg);
}

Test(cpu_gemm, compact_bf16_equals_fp32_copy_bitwise) {
    fill();
    LsBackend *be = ls_backend_cpu_create(2);
    LsTensor tb, tf;
    LsWeight w16, w32;
    load(be, &w16, &tb, LS_DT_BF16);
    load(be, &w32, &tf, LS_DT_F32);
    float *a = malloc(sizeof(float) * T * N), *b = malloc(sizeof(float) * T * N);
    const size_t Ts[] = {T, 1, 3};
    for (int i = 0; i < 3; i++) {
        be->linear(be, a, x, &w16, Ts[i], 0);
        be->linear(be, b, x, &w32, Ts[i], 0);
        cr_assert(!memcmp(a, b, sizeof(float) * Ts[i] * N), "linear T=%zu differs", Ts[i]);
        be->linear(be, a, x, &w16, Ts[i], 1);
        be->linear(be, b, x, &w32, Ts[i], 1);
        cr_assert(!memcmp(a, b, sizeof(float) * Ts[i] * N), "accumulating linear T=%zu differs", Ts[i]);
        be->linear_cols(be, a, x, &w16, Ts[i], 101, 650);
        be->linear_cols(be, b, x, &w32, Ts[i], 101, 650);
        cr_assert(!memcmp(a, b, sizeof(float) * Ts[i] * N), "linear_cols T=%zu differs", Ts[i]);
    }
    /* the fp32 copy is prepacked for the micro-kernel in use at load; under another
     * one (forced) it is repacked from those panels: still the same bits */
    for (int v = 0; v < CPU_SGEMM_NVARIANTS; v++) {
        if (v == cpu_sgemm_variant() || cpu_sgemm_force(v)) continue;
        be->linear(be, a, x, &w16, T, 0);
        be->linear(be, b, x, &w32, T, 0);
        cr_assert(!memcmp(a, b, sizeof(float) * T * N), "linear under %s differs", cpu_sgemm_name(v));
        be->linear_cols(be, a, x, &w16, T, 101, 650);
        be->linear_cols(be, b, x, &w32, T, 101, 650);
        cr_assert(!memcmp(a, b, sizeof(float) * T * N), "linear_cols under %s differs", cpu_sgemm_name(v));
        cpu_sgemm_force(-1);
    }
    be->weight_free(be, &w16);
    be->weight_free(be, &w32);
    be->destroy(be);
    free(a);
    free(b);
}

/* |y - sum over [c0, c1) of bf16(x) bf16(w)| against the sum of |terms| */
static double max_rel_err(const float *y, size_t Tn, size_t c0, size_t c1) {
    double worst = 0;
    for (size_t t = 0; t < Tn; t++)
        for (size_t n = 0; n < N; n++) {
            double s = 0, mag = 0;
            for (size_t k = c0; k < c1; k++) {
                double p = (double)xr[t * K + k] * wf[n * K + k];
                s += p;
                mag += fabs(p);
            }
            double r = fabs(y[t * N + n] - s) / (mag > 0 ? mag : 1);
            worst = r > worst ? r : worst;
        }
    return worst;
}

static void bf16_kernel_check(int kernel) {
    char why[128];
    if (!cpu_bf16_has(kernel, why, sizeof why)) {
        fprintf(stderr, "bf16 kernel %s not tested: %s\n", cpu_bf16_kernel_name(kernel), why);
        return;
    }
    cr_assert_eq(cpu_bf16_force(kernel), 0);
    fill();
    LsBackend *be = ls_backend_cpu_create(2);
    LsError e = {{0}};
    cr_assert_eq(be->set_precision(be, LS_PREC_BF16, &e), LS_OK, "%s", e.msg);
    if (be->precision != LS_PREC_BF16) {
        fprintf(stderr, "no AVX512-BF16 on this processor: the CPU computes fp32, bf16 kernel not tested\n");
        be->destroy(be);
        return;
    }
    LsDeviceInfo di;
    be->describe(be, &di);
    cr_assert_str_eq(di.precision, "bf16");
    cr_assert(strstr(di.runtime, cpu_bf16_kernel_name(kernel)), "runtime: %s", di.runtime);
    LsTensor tb;
    LsWeight w;
    load(be, &w, &tb, LS_DT_BF16);
    float *y = malloc(sizeof(float) * T * N), *y1 = malloc(sizeof(float) * T * N);
    be->linear(be, y, x, &w, T, 0);
    double err = max_rel_err(y, T, 0, K);
    cr_assert(err < 1e-5, "linear: relative error %g", err);
    be->linear_cols(be, y, x, &w, T, 101, 650); /* odd start, even end */
    err = max_rel_err(y, T, 101, 650);
    cr_assert(err < 1e-5, "linear_cols [101, 650): relative error %g", err);
    be->linear_cols(be, y, x, &w, 7, 100, 333); /* even start, odd end */
    err = max_rel_err(y, 7, 100, 333);
    cr_assert(err < 1e-5, "linear_cols [100, 333): relative error %g", err);
    /* accumulate: the chain goes on from y, so y1 - y is the product again */
    be->linear(be, y, x, &w, T, 0);
    memcpy(y1, y, sizeof(float) * T * N);
    be->linear(be, y1, x, &w, T, 1);
    for (size_t i = 0; i < (size_t)T * N; i++)
        y1[i] -= y[i];
    err = max_rel_err(y1, T, 0, K);
    cr_assert(err < 1e-5, "accumulating linear: relative error %g", err);
    /* one thread: the same bits */
    LsBackend *b1 = ls_backend_cpu_create(1);
    cr_assert_eq(b1->set_precision(b1, LS_PREC_BF16, &e), LS_OK, "%s", e.msg);
    LsWeight w1;
    LsTensor tb1;
    load(b1, &w1, &tb1, LS_DT_BF16);
    b1->linear(b1, y1, x, &w1, T, 0);
    cr_assert(!memcmp(y, y1, sizeof(float) * T * N), "1 and 2 threads differ");
    /* fewer rows (a partial tile / register block): the same bits row by row */
    for (size_t Tn = 1; Tn <= 33; Tn += 16) {
        b1->linear(b1, y1, x, &w1, Tn, 0);
        cr_assert(!memcmp(y, y1, sizeof(float) * Tn * N), "T = %zu differs from T = %d", Tn, T);
    }
    b1->weight_free(b1, &w1);
    b1->destroy(b1);
    /* the same values stored fp32 (rounded to bf16 at load: unchanged): the same bits */
    LsWeight w32;
    LsTensor tf;
    load(be, &w32, &tf, LS_DT_F32);
    be->linear(be, y1, x, &w32, T, 0);
    cr_assert(!memcmp(y, y1, sizeof(float) * T * N),
              "a weight stored fp32 differs from the same stored bf16");
    be->linear_cols(be, y, x, &w, T, 101, 650);
    be->linear_cols(be, y1, x, &w32, T, 101, 650);
    cr_assert(!memcmp(y, y1, sizeof(float) * T * N), "linear_cols: stored fp32 differs from stored bf16");
    be->weight_free(be, &w32);
    be->weight_free(be, &w);
    be->destroy(be);
    free(y);
    free(y1);
    cpu_bf16_force(-1);
}

Test(cpu_gemm, bf16_avx512_kernel_against_double_reference) {
    bf16_kernel_check(CPU_BF16_AVX512);
}

Test(cpu_gemm, bf16_amx_kernel_against_double_reference) {
    bf16_kernel_check(CPU_BF16_AMX);
}

Test(cpu_gemm, bf16_fma_kernel_against_double_reference) {
    bf16_kernel_check(CPU_BF16_FMA);
}

Test(cpu_gemm, bf16_without_the_instructions_runs_fp32) {
    setenv("LS_CPU_NO_BF16", "1", 1);
    LsBackend *be = ls_backend_cpu_create(1);
    LsError e = {{0}};
    cr_assert_eq(be->set_precision(be, LS_PREC_BF16, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(be->precision, LS_PREC_FP32);
    LsDeviceInfo di;
    be->describe(be, &di);
    cr_assert_str_eq(di.precision, "fp32");
    be->destroy(be);
    unsetenv("LS_CPU_NO_BF16");
}

/* A quantized weight (Q8_0: blocks of 32 int8 and an f16 scale) expanded per
 * panel gives the bits of its dequantized fp32 copy, whole and in column slices
 * that start at a block boundary. */
Test(cpu_gemm, compact_q8_0_equals_dequantized_copy) {
    enum { QN = 5600, QK = 768, QT = 20 }; /* two panels of rows */
    const size_t row_bytes = QK / 32 * 34;
    unsigned char *q = malloc((size_t)QN * row_bytes);
    unsigned s = 99;
    for (size_t i = 0; i < (size_t)QN * row_bytes; i++) {
        s = s * 1103515245u + 12345u;
        q[i] = (unsigned char)(s >> 16);
    }
    for (size_t b = 0; b < (size_t)QN * QK / 32; b++) { /* scales: finite f16 in [2^-8, 2^-5) */
        q[b * 34] = (unsigned char)(b * 37);
        q[b * 34 + 1] = (unsigned char)(0x1c + b % 12);
    }
    float *deq = malloc(sizeof(float) * QN * QK), *xq = malloc(sizeof(float) * QT * QK);
    for (size_t i = 0; i < (size_t)QT * QK; i++)
        xq[i] = (float)((int)(i * 7919 % 1001) - 500) / 250.0f;
    LsTensor tq = {.name = "q",
                   .dtype = LS_DT_Q8_0,
                   .ndim = 2,
                   .shape = {QN, QK},
                   .data = q,
                   .nbytes = (size_t)QN * row_bytes};
    ls_tensor_to_f32(&tq, 0, (size_t)QN * QK, deq);
    LsTensor tf = {.name = "f",
                   .dtype = LS_DT_F32,
                   .ndim = 2,
                   .shape = {QN, QK},
                   .data = deq,
                   .nbytes = sizeof(float) * QN * QK};
    LsBackend *be = ls_backend_cpu_create(2);
    LsError e = {{0}};
    LsWeightSlice sq[2] = {{&tq, NULL, 0, 700, 0, QK}, {&tq, NULL, 700, QN - 700, 0, QK}};
    LsWeightSlice sf[2] = {{&tf, NULL, 0, 700, 0, QK}, {&tf, NULL, 700, QN - 700, 0, QK}};
    LsWeight wq, wf32;
    cr_assert_eq(be->weight_load(be, &wq, sq, 2, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(be->weight_load(be, &wf32, sf, 2, &e), LS_OK, "%s", e.msg);
    float *a = malloc(sizeof(float) * QT * QN), *b = malloc(sizeof(float) * QT * QN);
    be->linear(be, a, xq, &wq, QT, 0);
    be->linear(be, b, xq, &wf32, QT, 0);
    cr_assert(!memcmp(a, b, sizeof(float) * QT * QN), "Q8_0 linear differs from its fp32 copy");
    be->linear_cols(be, a, xq, &wq, QT, 64, 544);
    be->linear_cols(be, b, xq, &wf32, QT, 64, 544);
    cr_assert(!memcmp(a, b, sizeof(float) * QT * QN), "Q8_0 linear_cols differs from its fp32 copy");
    be->weight_free(be, &wq);
    be->weight_free(be, &wf32);
    be->destroy(be);
    free(q);
    free(deq);
    free(xq);
    free(a);
    free(b);
}
