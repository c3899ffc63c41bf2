/* sgemm_bench.c — the machine's fp32 GEMM ceiling through the BLAS that
 * lscore links (the shapes of a prefill: [T, k] x [n, k]^T).
 * usage: ls-sgemm-bench T n k threads reps */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "ls/common.h"

int main(int argc, char **argv) {
    int T = argc > 1 ? atoi(argv[1]) : 512, n = argc > 2 ? atoi(argv[2]) : 4864;
    int k = argc > 3 ? atoi(argv[3]) : 896, th = argc > 4 ? atoi(argv[4]) : 1;
    int reps = argc > 5 ? atoi(argv[5]) : 10;
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
