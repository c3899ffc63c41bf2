/* sgemm_bench.c — the machine's fp32 GEMM ceiling through the BLAS that
 * lscore links (the shapes of a prefill: [T, k] x [n, k]^T); with a 6th
 * argument, the CPU backend's linear instead: on a bf16-stored weight,
 * "compact" (fp32, expanded per panel) or "bf16" (bf16 precision), or on the
 * same values stored fp32, "f32" (fp32, the prepacked copy read in place).
 * usage: ls-sgemm-bench T n k threads reps [compact|bf16|f32] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/backend.h"
#include "ls/common.h"

static int backend_bench(int T, int n, int k, int th, int reps, const char *mode) {
    LsBackend *be = ls_backend_cpu_create(th);
    LsError e = {{0}};
    if (be->set_precision(be, strcmp(mode, "bf16") ? LS_PREC_FP32 : LS_PREC_BF16, &e)) return 1;
    const int f32 = !strcmp(mode, "f32");
    uint16_t *w = ls_malloc((size_t)n * k * 2);
    float *wf = f32 ? ls_malloc((size_t)n * k * 4) : NULL;
    float *x = ls_malloc((size_t)T * k * 4), *y = ls_malloc((size_t)T * n * 4);
    for (size_t i = 0; i < (size_t)n * k; i++) {
        w[i] = ls_f32_to_bf16((float)(i % 5) * 0.1f);
        if (f32) wf[i] = ls_bf16_to_f32(w[i]);
    }
    for (size_t i = 0; i < (size_t)T * k; i++)
        x[i] = (float)(i % 7) * 0.1f;
    LsTensor t = {.name = "w",
                  .dtype = f32 ? LS_DT_F32 : LS_DT_BF16,
                  .ndim = 2,
                  .shape = {n, k},
                  .data = f32 ? (const void *)wf : (const void *)w,
                  .nbytes = (size_t)n * k * (f32 ? 4 : 2)};
    LsWeightSlice sl = {&t, NULL, 0, (size_t)n, 0, (size_t)k};
    LsWeight W;
    if (be->weight_load(be, &W, &sl, 1, &e)) return 1;
    be->linear(be, y, x, &W, (size_t)T, 0);
    double t0 = ls_now();
    for (int r = 0; r < reps; r++)
        be->linear(be, y, x, &W, (size_t)T, 0);
    double dt = (ls_now() - t0) / reps;
    printf("{\"T\": %d, \"n\": %d, \"k\": %d, \"threads\": %d, \"mode\": \"%s\", \"precision\": \"%s\", "
           "\"seconds\": %.6f, \"gflops\": %.2f}\n",
           T, n, k, th, mode, ls_precision_name(be->precision), dt, 2.0 * T * n * k / dt / 1e9);
    be->weight_free(be, &W);
    be->destroy(be);
    free(w);
    free(wf);
    free(x);
    free(y);
    return 0;
}

int main(int argc, char **argv) {
    int T = argc > 1 ? atoi(argv[1]) : 512, n = argc > 2 ? atoi(argv[2]) : 4864;
    int k = argc > 3 ? atoi(argv[3]) : 896, th = argc > 4 ? atoi(argv[4]) : 1;
    int reps = argc > 5 ? atoi(argv[5]) : 10;
    if (argc > 6) return backend_bench(T, n, k, th, reps, argv[6]);
    openblas_set_num_threads(th);
    float *a = ls_malloc((size_t)T * k * 4), *b = ls_malloc((size_t)n * k * 4),
          *c = ls_malloc((size_t)T * n * 4);
    for (size_t i = 0; i < (size_t)T * k; i++)
        a[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)n * k; i++)
        b[i] = (float)(i % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, k, 1, a, k, b, k, 0, c, n);
    double t0 = ls_now();
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n, k, 1, a, k, b, k, 0, c, n);
    double dt = (ls_now() - t0) / reps;
    printf("{\"T\": %d, \"n\": %d, \"k\": %d, \"threads\": %d, \"seconds\": %.6f, \"gflops\": %.2f}\n", T, n,
           k, th, dt, 2.0 * T * n * k / dt / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
