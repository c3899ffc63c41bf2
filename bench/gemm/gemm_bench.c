/* gemm_bench.c — the CPU backend's own fp32 GEMM (src/backend/cpu/cpu_sgemm.c)
 * against OpenBLAS sgemm on the same operands, interleaved in one process:
 * C [M, N] = A [M, K] . B [N, K]^T (the weights' NT layout). Each round
 * times one call of each (own first in odd rounds, OpenBLAS first in even
 * ones); prints one JSON line with the best and median of each (wall time,
 * and the process's CPU time, less disturbed on a shared machine), GFLOP/s
 * and own / OpenBLAS throughput. Also the largest relative difference between the
 * two results (a sanity check: different summation orders, ~1e-6).
 * usage: ls-gemm-bench M N K threads rounds [variant: portable|avx2|avx512] */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/backend/cpu/cpu_gemm.h"
#include "ls/common.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* OpenBLAS's and OpenMP's threads spin for a while after a call: let them sleep before the other library runs
 */
static void settle(void) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s M N K threads rounds [portable|avx2|avx512]\n", argv[0]);
        return 2;
    }
    const size_t M = (size_t)atol(argv[1]), N = (size_t)atol(argv[2]), K = (size_t)atol(argv[3]);
    const int th = atoi(argv[4]), rounds = atoi(argv[5]);
    if (argc > 6) {
        const char *names[] = {"portable", "avx2", "avx512"};
        int v = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(argv[6], names[i])) v = i;
        if (v < 0 || cpu_sgemm_force(v)) {
            fprintf(stderr, "variant %s not available here\n", argv[6]);
            return 2;
        }
    }
    omp_set_num_threads(th);
    openblas_set_num_threads(th);
    float *a = ls_malloc(M * K * 4), *b = ls_malloc(N * K * 4), *c1 = ls_malloc(M * N * 4),
          *c2 = ls_malloc(M * N * 4);
    unsigned s = 1;
    for (size_t i = 0; i < M * K; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    for (size_t i = 0; i < N * K; i++) {
        s = s * 1103515245u + 12345u;
        b[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.1f;
    }
    CpuScratch sc = {0};
    double *to = ls_malloc(sizeof(double) * (size_t)rounds), *tb = ls_malloc(sizeof(double) * (size_t)rounds);
    double *uo = ls_malloc(sizeof(double) * (size_t)rounds), *ub = ls_malloc(sizeof(double) * (size_t)rounds);
    for (int r = -1; r < rounds; r++) { /* round -1: warm-up of both */
        for (int pass = 0; pass < 2; pass++) {
            const int own = (pass == 0) == (r % 2 == 0);
            settle();
            double t0 = ls_now(), u0 = cpu_now();
            if (own)
                cpu_sgemm_nt(&sc, M, N, K, a, K, b, K, c1, N, 0);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1.0f, a, (int)K,
                            b, (int)K, 0.0f, c2, (int)N);
            double dt = ls_now() - t0, du = cpu_now() - u0;
            if (r >= 0) {
                (own ? to : tb)[r] = dt;
                (own ? uo : ub)[r] = du;
            }
        }
    }
    double diff = 0;
    for (size_t i = 0; i < M * N; i++) {
        double d = fabs((double)c1[i] - c2[i]) / (fabs((double)c2[i]) + 1e-3);
        diff = d > diff ? d : diff;
    }
    qsort(to, (size_t)rounds, sizeof(double), cmp);
    qsort(tb, (size_t)rounds, sizeof(double), cmp);
    qsort(uo, (size_t)rounds, sizeof(double), cmp);
    qsort(ub, (size_t)rounds, sizeof(double), cmp);
    const double fl = 2.0 * (double)M * (double)N * (double)K / 1e9;
    printf("{\"M\": %zu, \"N\": %zu, \"K\": %zu, \"threads\": %d, \"rounds\": %d, \"own_kernel\": \"%s\", "
           "\"own_best_s\": %.6f, \"own_median_s\": %.6f, \"openblas_best_s\": %.6f, \"openblas_median_s\": "
           "%.6f, "
           "\"own_gflops\": %.2f, \"openblas_gflops\": %.2f, \"own_over_openblas_best\": %.3f, "
           "\"own_over_openblas_median\": %.3f, \"own_best_cpu_s\": %.6f, \"openblas_best_cpu_s\": %.6f, "
           "\"own_over_openblas_cpu\": %.3f, \"max_rel_diff\": %.2e}\n",
           M, N, K, th, rounds, cpu_sgemm_name(cpu_sgemm_variant()), to[0], to[rounds / 2], tb[0],
           tb[rounds / 2], fl / to[0], fl / tb[0], tb[0] / to[0], tb[rounds / 2] / to[rounds / 2], uo[0],
           ub[0], ub[0] / uo[0], diff);
    free(sc.pack);
    free(a);
    free(b);
    free(c1);
    free(c2);
    free(to);
    free(tb);
    free(uo);
    free(ub);
    return 0;
}
