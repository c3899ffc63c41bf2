/* dequant_bench.c — ls_dequantize throughput per storage type, one thread,
 * against the peer in the same run: memcpy of the same fp32 output (what an
 * F32 "expansion" costs). Blocks are the committed random fixture blocks
 * (tests/fixtures/gguf-quant) tiled to n elements; best of reps runs.
 * usage: ls-dequant-bench FIXTURE_DIR [n] [reps]   (prints one JSON object) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/quant.h"

static double best_of(int reps, LsDType t, const void *src, size_t n, float *dst) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = ls_now();
        if ((int)t < 0)
            memcpy(dst, src, n * sizeof *dst);
        else
            ls_dequantize(t, src, n, dst);
        double dt = ls_now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [n] [reps]\n", argv[0]);
        return 2;
    }
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : (size_t)1 << 20;
    int reps = argc > 3 ? atoi(argv[3]) : 20;
    n = n / 256 * 256;
    float *dst = ls_malloc(n * sizeof *dst);
    unsigned char *src = ls_malloc(n * sizeof(float));
    memset(src, 0, n * sizeof(float));
    double copy = best_of(reps, (LsDType)-1, src, n, dst);
    printf("{\"elements\": %zu, \"reps\": %d, \"memcpy_gelem_per_s\": %.3f, \"types\": {", n, reps,
           n / copy / 1e9);
    for (int t = 0; t < LS_DT_COUNT; t++) {
        char *path = ls_malloc(strlen(argv[1]) + 32), *b;
        sprintf(path, "%s/%s.blocks", argv[1], ls_dtype_name((LsDType)t));
        size_t len, need = ls_dtype_row_bytes((LsDType)t, n);
        LsError e;
        if (ls_read_file(path, 0, &b, &len, &e) != LS_OK || len == 0) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        for (size_t o = 0; o < need; o += len)
            memcpy(src + o, b, need - o < len ? need - o : len);
        double dt = best_of(reps, (LsDType)t, src, n, dst);
        printf("%s\"%s\": {\"gelem_per_s\": %.3f, \"vs_memcpy\": %.3f}", t ? ", " : "",
               ls_dtype_name((LsDType)t), n / dt / 1e9, copy / dt);
        free(b);
        free(path);
    }
    printf("}}\n");
    free(src);
    free(dst);
    return 0;
}
