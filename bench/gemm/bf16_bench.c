/* bf16_bench.c — the CPU backend's bf16 GEMM kernels (src/backend/cpu/cpu_bf16.c:
 * AMX-BF16 and AVX512-BF16, each where the processor has it) at the prefill
 * shapes of Qwen2.5-0.5B: y [T, n] = x [T, k] . W [n, k]^T (q/o 896x896,
 * gate/up 4864x896, down 896x4864, head 151936x896), through the backend's
 * linear (x rounded to bf16 per call, as in a forward); one JSON line per
 * shape and kernel ("what": "kernels"): best wall time of the rounds, GFLOP/s.
 *
 * Built with oneDNN (LS_HAVE_DNNL: cmake finds Debian's libdnnl-dev), also
 * oneDNN's bf16 matmul, the maintained-library candidate, against the kernel
 * in use, interleaved round by round ("what": "own vs oneDNN"): W packed once
 * into the layout each prefers (oneDNN: format "any", reordered once), fp32
 * output; the timed oneDNN call includes rounding x to bf16 (a reorder), as
 * the own linear does. It names the implementation oneDNN chose (e.g.
 * brg:avx512_core_amx_bf16) and the largest difference between the two
 * results relative to the largest |y| (same bf16 inputs, summation orders
 * may differ). First, one line ("what": "registers"): VFMADD231PS and
 * VDPBF16PS GFLOP/s of one core on registers, the reason for the kernel in
 * use. usage: ls-bf16-bench threads [T] [rounds] */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../src/backend/cpu/cpu_gemm.h"
#include "ls/backend.h"
#include "ls/quant.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds for n x 12 independent VDPBF16PS (dp) or VFMADD231PS on registers
 * (12 chains hide either's latency); zeros in, so no denormal or NaN slows them. */
#define X12(op)                                                                                              \
    op " %%zmm12, %%zmm13, %%zmm0\n\t" op " %%zmm12, %%zmm13, %%zmm1\n\t" op                                 \
       " %%zmm12, %%zmm13, %%zmm2\n\t" op " %%zmm12, %%zmm13, %%zmm3\n\t" op                                 \
       " %%zmm12, %%zmm13, %%zmm4\n\t" op " %%zmm12, %%zmm13, %%zmm5\n\t" op                                 \
       " %%zmm12, %%zmm13, %%zmm6\n\t" op " %%zmm12, %%zmm13, %%zmm7\n\t" op                                 \
       " %%zmm12, %%zmm13, %%zmm8\n\t" op " %%zmm12, %%zmm13, %%zmm9\n\t" op                                 \
       " %%zmm12, %%zmm13, %%zmm10\n\t" op " %%zmm12, %%zmm13, %%zmm11\n\t"
#define ZERO14                                                                                               \
    "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"                                                                      \
    "vmovaps %%zmm0, %%zmm1\n\tvmovaps %%zmm0, %%zmm2\n\tvmovaps %%zmm0, %%zmm3\n\tvmovaps %%zmm0, "         \
    "%%zmm4\n\t"                                                                                             \
    "vmovaps %%zmm0, %%zmm5\n\tvmovaps %%zmm0, %%zmm6\n\tvmovaps %%zmm0, %%zmm7\n\tvmovaps %%zmm0, "         \
    "%%zmm8\n\t"                                                                                             \
    "vmovaps %%zmm0, %%zmm9\n\tvmovaps %%zmm0, %%zmm10\n\tvmovaps %%zmm0, %%zmm11\n\tvmovaps %%zmm0, "       \
    "%%zmm12\n\t"                                                                                            \
    "vmovaps %%zmm0, %%zmm13\n\t"
#define CLOBBER14                                                                                            \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",        \
        "xmm12", "xmm13", "cc"
__attribute__((target("avx512f,avx512bf16"))) static double reg_seconds(int dp, long n) {
    const double t0 = now();
    if (dp)
        __asm__ volatile(ZERO14 "1:\n\t" X12("vdpbf16ps") "dec %0\n\tjnz 1b" : "+r"(n) : : CLOBBER14);
    else
        __asm__ volatile(ZERO14 "1:\n\t" X12("vfmadd231ps") "dec %0\n\tjnz 1b" : "+r"(n) : : CLOBBER14);
    return now() - t0;
}

/* GFLOP/s of one core on registers, best of 5 interleaved rounds of ~0.1 ms
 * each: [0] VFMADD231PS (32 flops), [1] VDPBF16PS (64 flops). Why the CPU
 * backend takes the FMA kernel on Intel (cpu_bf16.c: 0.5 there, ~2 on AMD Zen 4). */
static void reg_gflops(double g[2]) {
    double best[2] = {1e30, 1e30};
    for (int r = 0; r < 5; r++)
        for (int dp = 0; dp < 2; dp++) {
            const double t = reg_seconds(dp, 20000);
            best[dp] = t < best[dp] ? t : best[dp];
        }
    for (int dp = 0; dp < 2; dp++)
        g[dp] = 20000.0 * 12 * (dp ? 64 : 32) / best[dp] / 1e9;
}

#ifdef LS_HAVE_DNNL
#include <dnnl.h>

#define CHECK(x)                                                                                             \
    do {                                                                                                     \
        dnnl_status_t st_ = (x);                                                                             \
        if (st_ != dnnl_success) {                                                                           \
            fprintf(stderr, "ls-bf16-bench: %s failed (status %d)\n", #x, (int)st_);                         \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

static void run(dnnl_primitive_t p, dnnl_stream_t s, int n, const dnnl_exec_arg_t *a) {
    CHECK(dnnl_primitive_execute(p, s, n, a));
    CHECK(dnnl_stream_wait(s));
}
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: ls-bf16-bench threads [T] [rounds]\n");
        return 2;
    }
    const int th = atoi(argv[1]);
    const size_t T = argc > 2 ? (size_t)atol(argv[2]) : 512;
    const int rounds = argc > 3 ? atoi(argv[3]) : 7;
    omp_set_num_threads(th);
    static const size_t shapes[][2] = {{896, 896}, {4864, 896}, {896, 4864}, {151936, 896}};
    LsBackend *be = ls_backend_cpu_create(th);
    LsError e = {{0}};
    if (be->set_precision(be, LS_PREC_BF16, &e) || be->precision != LS_PREC_BF16) {
        fprintf(stderr, "ls-bf16-bench: no bf16 kernel on this processor\n");
        return 1;
    }
    double g[2];
    reg_gflops(g);
    printf("{\"what\": \"registers\", \"fma_gflops\": %.1f, \"vdpbf16ps_gflops\": %.1f, "
           "\"vdpbf16ps_over_fma\": %.2f, \"kernel_in_use\": \"%s\"}\n",
           g[0], g[1], g[1] / g[0], cpu_bf16_kernel_name(cpu_bf16_kernel()));
#ifdef LS_HAVE_DNNL
    dnnl_engine_t eng;
    dnnl_stream_t str;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&str, eng, dnnl_stream_default_flags));
#endif
    for (int s = 0; s < 4; s++) {
        const size_t N = shapes[s][0], K = shapes[s][1];
        uint16_t *wb = malloc(N * K * sizeof *wb);
        float *x = malloc(T * K * sizeof *x), *y = malloc(T * N * sizeof *y),
              *yd = malloc(T * N * sizeof *yd);
        if (!wb || !x || !y || !yd) return 1;
        for (size_t i = 0; i < N * K; i++)
            wb[i] = ls_f32_to_bf16((float)((int)(i * 7919 % 1001) - 500) / 1000.0f);
        for (size_t i = 0; i < T * K; i++)
            x[i] = (float)((int)(i * 31 % 101) - 50) / 50.0f;
        LsTensor t = {
            .name = "w", .dtype = LS_DT_BF16, .ndim = 2, .shape = {N, K}, .data = wb, .nbytes = N * K * 2};
        LsWeightSlice sl[1] = {{&t, NULL, 0, N, 0, K}};
        const double fl = 2.0 * (double)N * (double)K * (double)T;
        const int r = N > 100000 ? (rounds < 3 ? rounds : 3) : rounds;
        LsWeight w;
        for (int kern = CPU_BF16_AVX512; kern <= CPU_BF16_FMA; kern++) {
            if (cpu_bf16_force(kern)) continue;
            if (be->weight_load(be, &w, sl, 1, &e)) { /* packed for this kernel */
                fprintf(stderr, "ls-bf16-bench: %s\n", e.msg);
                return 1;
            }
            double best = 1e30;
            for (int i = 0; i < r; i++) {
                double t0 = now();
                be->linear(be, y, x, &w, T, 0);
                double d = now() - t0;
                best = d < best ? d : best;
            }
            printf("{\"what\": \"kernels\", \"kernel\": \"%s\", \"T\": %zu, \"n\": %zu, \"k\": %zu, "
                   "\"threads\": %d, "
                   "\"best_ms\": %.3f, \"gflops\": %.1f}\n",
                   cpu_bf16_kernel_name(kern), T, N, K, th, best * 1e3, fl / best / 1e9);
            fflush(stdout);
            be->weight_free(be, &w);
        }
        cpu_bf16_force(-1);
#ifdef LS_HAVE_DNNL
        /* the kernel in use against oneDNN */
        if (be->weight_load(be, &w, sl, 1, &e)) {
            fprintf(stderr, "ls-bf16-bench: %s\n", e.msg);
            return 1;
        }
        /* oneDNN: src f32 [T, K] -> bf16 (reorder), weights [K, N] given as W [N, K] (tag ba) -> "any" */
        dnnl_memory_desc_t xf_md, xb_md, wu_md, wa_md, y_md;
        dnnl_dims_t xd = {(dnnl_dim_t)T, (dnnl_dim_t)K}, wd = {(dnnl_dim_t)K, (dnnl_dim_t)N},
                    yd_ = {(dnnl_dim_t)T, (dnnl_dim_t)N};
        CHECK(dnnl_memory_desc_init_by_tag(&xf_md, 2, xd, dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&xb_md, 2, xd, dnnl_bf16, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&wu_md, 2, wd, dnnl_bf16, dnnl_ba));
        CHECK(dnnl_memory_desc_init_by_tag(&wa_md, 2, wd, dnnl_bf16, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&y_md, 2, yd_, dnnl_f32, dnnl_ab));
        dnnl_matmul_desc_t mm;
        CHECK(dnnl_matmul_desc_init(&mm, &xb_md, &wa_md, NULL, &y_md));
        dnnl_primitive_desc_t mpd, wrpd, xrpd;
        CHECK(dnnl_primitive_desc_create(&mpd, &mm, NULL, eng, NULL));
        const char *impl = "?";
        CHECK(dnnl_primitive_desc_query(mpd, dnnl_query_impl_info_str, 0, &impl));
        const dnnl_memory_desc_t *wp_md = dnnl_primitive_desc_query_md(mpd, dnnl_query_weights_md, 0);
        dnnl_memory_t xf_m, xb_m, wu_m, wp_m, y_m;
        CHECK(dnnl_memory_create(&xf_m, &xf_md, eng, x));
        CHECK(dnnl_memory_create(&xb_m, &xb_md, eng, DNNL_MEMORY_ALLOCATE));
        CHECK(dnnl_memory_create(&wu_m, &wu_md, eng, wb));
        CHECK(dnnl_memory_create(&wp_m, wp_md, eng, DNNL_MEMORY_ALLOCATE));
        CHECK(dnnl_memory_create(&y_m, &y_md, eng, yd));
        dnnl_primitive_t mp, wr, xr;
        CHECK(dnnl_reorder_primitive_desc_create(&wrpd, &wu_md, eng, wp_md, eng, NULL));
        CHECK(dnnl_primitive_create(&wr, wrpd));
        dnnl_exec_arg_t wa[2] = {{DNNL_ARG_FROM, wu_m}, {DNNL_ARG_TO, wp_m}};
        run(wr, str, 2, wa);
        CHECK(dnnl_reorder_primitive_desc_create(&xrpd, &xf_md, eng, &xb_md, eng, NULL));
        CHECK(dnnl_primitive_create(&xr, xrpd));
        CHECK(dnnl_primitive_create(&mp, mpd));
        dnnl_exec_arg_t xa[2] = {{DNNL_ARG_FROM, xf_m}, {DNNL_ARG_TO, xb_m}};
        dnnl_exec_arg_t ma[3] = {{DNNL_ARG_SRC, xb_m}, {DNNL_ARG_WEIGHTS, wp_m}, {DNNL_ARG_DST, y_m}};
        double best_own = 1e30, best_dnnl = 1e30;
        for (int i = 0; i < r; i++) {
            for (int o = 0; o < 2; o++) {
                double t0 = now();
                if ((o + i) % 2 == 0) {
                    be->linear(be, y, x, &w, T, 0);
                    double d = now() - t0;
                    best_own = d < best_own ? d : best_own;
                } else {
                    run(xr, str, 2, xa);
                    run(mp, str, 3, ma);
                    double d = now() - t0;
                    best_dnnl = d < best_dnnl ? d : best_dnnl;
                }
            }
        }
        double diff = 0, mag = 0;
        for (size_t i = 0; i < T * N; i++) {
            diff = fmax(diff, fabs((double)y[i] - yd[i]));
            mag = fmax(mag, fabs((double)y[i]));
        }
        printf("{\"what\": \"own vs oneDNN\", \"T\": %zu, \"n\": %zu, \"k\": %zu, \"threads\": %d, "
               "\"own_kernel\": \"%s\", \"own_ms\": %.3f, "
               "\"own_gflops\": %.1f, \"onednn_impl\": \"%s\", \"onednn_ms\": %.3f, \"onednn_gflops\": %.1f, "
               "\"own_over_onednn\": %.3f, \"max_rel_diff\": %.2e}\n",
               T, N, K, th, cpu_bf16_kernel_name(cpu_bf16_kernel()), best_own * 1e3, fl / best_own / 1e9,
               impl, best_dnnl * 1e3, fl / best_dnnl / 1e9, best_dnnl / best_own, diff / (mag > 0 ? mag : 1));
        fflush(stdout);
        dnnl_primitive_destroy(mp);
        dnnl_primitive_destroy(wr);
        dnnl_primitive_destroy(xr);
        dnnl_primitive_desc_destroy(mpd);
        dnnl_primitive_desc_destroy(wrpd);
        dnnl_primitive_desc_destroy(xrpd);
        dnnl_memory_destroy(xf_m);
        dnnl_memory_destroy(xb_m);
        dnnl_memory_destroy(wu_m);
        dnnl_memory_destroy(wp_m);
        dnnl_memory_destroy(y_m);
        be->weight_free(be, &w);
#endif
        free(wb);
        free(x);
        free(y);
        free(yd);
    }
#ifdef LS_HAVE_DNNL
    dnnl_stream_destroy(str);
    dnnl_engine_destroy(eng);
#endif
    be->destroy(be);
    return 0;
}
