/* cpu_weight.c — compact weights and the fp32 GEMM on them.
 *
 * A weight keeps its stored form: the slices of the mmapped tensors it was
 * loaded from. An fp32 GEMM expands the rows it needs to fp32 straight into
 * the GEMM's packed blocks of B (cpu_sgemm.c; KC columns of NR rows at a
 * time, per thread): bf16 -> fp32 is exact, so the values, and with them the
 * bits of every product, are those of a whole-model fp32 copy. Every output
 * element is one fma chain over its columns in order (cpu_gemm.h), so a
 * product split by output rows (tensor parallelism), by batch rows (data
 * parallelism, batch composition) or by threads has the bits of the product
 * over the whole weight, whatever BLAS or processor. Weights stored fp32 are
 * copied once and multiplied from the copy.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_gemm.h"

void cpu_weight_row(const CpuWeight *w, size_t r, size_t c0, size_t n, float *out) {
    if (w->f32) { /* a column of the prepacked panels */
        const float *src = cpu_f32_panel(w, r, c0);
        for (size_t j = 0; j < n; j++)
            out[j] = src[j * (size_t)w->f32_nr];
        return;
    }
    int i = 0;
    while (r >= w->row0[i + 1])
        i++;
    const LsWeightSlice *s = &w->sl[i];
    const LsTensor *t = s->w;
    size_t off = (s->row0 + r - w->row0[i]) * (size_t)t->shape[1] + s->col0 + c0;
    ls_tensor_to_f32(t, off, n, out);
}

/* The copy is laid out as the fp32 GEMM's packed blocks of the micro-kernel
 * in use ([k][nr] per panel of nr rows), so the GEMM reads it in place instead
 * of transposing it on every call (the same values: the same bits). */
static int weight_copy_f32(CpuWeight *w, LsError *e) {
    const size_t nr = (size_t)cpu_sgemm_nr(cpu_sgemm_variant()), npan = (w->n + nr - 1) / nr;
    size_t bytes;
    if (ls_mul_size(npan * nr, w->k, &bytes) || ls_mul_size(bytes, sizeof(float), &bytes) ||
        !(w->f32 = ls_try_malloc_big(bytes)))
        return ls_fail(e, "cpu backend: cannot allocate %zu x %zu fp32 weight %s", w->n, w->k,
                       w->sl[0].w->name);
    float *f32 = w->f32;
    w->f32 = NULL; /* cpu_weight_row reads the stored slices until the copy is whole */
    w->f32_nr = (int)nr;
#pragma omp parallel
    {
        float *row = ls_malloc(w->k * sizeof(float));
#pragma omp for schedule(static)
        for (size_t r = 0; r < npan * nr; r++) {
            if (r < w->n)
                cpu_weight_row(w, r, 0, w->k, row);
            else
                memset(row, 0, w->k * sizeof(float));
            float *dst = f32 + (r / nr) * w->k * nr + r % nr; /* cpu_f32_panel(w, r, 0) once w->f32 is set */
            for (size_t c = 0; c < w->k; c++)
                dst[c * nr] = row[c];
        }
        free(row);
    }
    w->f32 = f32;
    return LS_OK;
}

int cpu_weight_create(CpuWeight **out, const LsWeightSlice *sl, int ns, size_t n, size_t k, LsPrecision prec,
                      LsError *e) {
    CpuWeight *w = ls_calloc(1, sizeof *w);
    w->n = n;
    w->k = k;
    w->ns = ns;
    w->sl = ls_malloc((size_t)ns * sizeof *w->sl);
    memcpy(w->sl, sl, (size_t)ns * sizeof *sl);
    w->row0 = ls_malloc((size_t)(ns + 1) * sizeof *w->row0);
    int all_f32 = 1;
    w->row0[0] = 0;
    for (int i = 0; i < ns; i++) {
        w->row0[i + 1] = w->row0[i] + sl[i].nrows;
        all_f32 &= sl[i].w->dtype == LS_DT_F32;
    }
    int rc = LS_OK;
    if (prec == LS_PREC_BF16)
        rc = cpu_bf16_pack(w, e);
    else if (all_f32)
        rc = weight_copy_f32(w, e);
    if (rc) {
        cpu_weight_destroy(w);
        return LS_ERR;
    }
    *out = w;
    return LS_OK;
}

void cpu_weight_destroy(CpuWeight *w) {
    if (!w) return;
    free(w->sl);
    free(w->row0);
    free(w->f32);
    free(w->bf16);
    free(w);
}

void *cpu_scratch_grow(void *p, size_t *cap, size_t need) {
    if (*cap >= need) return p;
    free(p);
    *cap = need;
    return ls_malloc_big(need);
}

void cpu_gemm(CpuScratch *s, float *y, const float *x, size_t ldx, const CpuWeight *w, size_t T, size_t c0,
              size_t c1, int acc) {
    if (T == 0) return;
    if (c1 <= c0) {
        if (!acc)
            for (size_t t = 0; t < T; t++)
                memset(y + t * w->n, 0, w->n * sizeof(float));
        return;
    }
    if (w->bf16_kernel) {
        cpu_bf16_gemm(s, y, x, ldx, w, T, c0, c1, acc);
    } else {
        const CpuGemmB b = cpu_gemm_b_weight(w, c0);
        cpu_gemm_run(s, T, w->n, c1 - c0, x + c0, ldx, &b, y, w->n, acc);
    }
}
