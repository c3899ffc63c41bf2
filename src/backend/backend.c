/* backend.c — picks the backend for --device auto|cpu|cuda. */
#include <stdio.h>
#include <string.h>

#include "ls/backend.h"

#ifndef LS_HAVE_CUDA
/* Builds without nvcc: the CUDA entry points exist and say why they fail. */
int ls_cuda_device_count(char *why, size_t why_len) {
    if (why && why_len) snprintf(why, why_len, "built without CUDA (nvcc not found at configure time)");
    return 0;
}

LsBackend *ls_backend_cuda_create(int device, LsError *e) {
    (void)device;
    ls_fail(e, "cuda backend: this binary was built without CUDA (nvcc not found at configure time)");
    return NULL;
}
#endif

size_t ls_host_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    fclose(f);
    return (size_t)kib * 1024u;
}

const char *ls_precision_name(LsPrecision p) {
    return p == LS_PREC_BF16 ? "bf16" : "fp32";
}

int ls_precision_parse(const char *s, LsPrecision *p) {
    if (s && !strcmp(s, "fp32"))
        *p = LS_PREC_FP32;
    else if (s && !strcmp(s, "bf16"))
        *p = LS_PREC_BF16;
    else
        return LS_ERR;
    return LS_OK;
}

static LsBackend *pick(const char *device, int gpu, int nthreads, LsError *e);

LsBackend *ls_backend_create(const char *device, int gpu, int nthreads, LsPrecision prec, LsError *e) {
    LsBackend *be = pick(device, gpu, nthreads, e);
    if (be && be->set_precision(be, prec, e)) {
        ls_fail_prefix(e, "%s backend", be->name);
        be->destroy(be);
        return NULL;
    }
    return be;
}

static LsBackend *pick(const char *device, int gpu, int nthreads, LsError *e) {
    if (!device || !strcmp(device, "auto")) {
        char why[256] = "";
        if (ls_cuda_device_count(why, sizeof why) > 0) {
            LsError ce = {{0}};
            LsBackend *be = ls_backend_cuda_create(gpu, &ce);
            if (be) return be;
            ls_log0("device auto: a CUDA GPU is visible but unusable (%s); using the CPU", ce.msg);
        } else {
            ls_log0("device auto: no CUDA GPU visible (%s); using the CPU", why);
        }
        return ls_backend_cpu_create(nthreads);
    }
    if (!strcmp(device, "cpu")) return ls_backend_cpu_create(nthreads);
    if (!strcmp(device, "cuda")) {
        char why[256] = "";
        if (ls_cuda_device_count(why, sizeof why) <= 0) {
            ls_fail(e, "--device cuda: no usable CUDA GPU (%s)", why);
            return NULL;
        }
        LsBackend *be = ls_backend_cuda_create(gpu, e);
        if (!be) ls_fail_prefix(e, "--device cuda");
        return be;
    }
    ls_fail(e, "--device '%s': expected auto, cpu or cuda", device);
    return NULL;
}

int ls_weight_slices_check(const LsWeightSlice *sl, int ns, const char *backend, size_t *n, size_t *k,
                           int *has_bias, LsError *e) {
    *n = 0;
    *k = sl[0].ncols;
    *has_bias = sl[0].b != NULL;
    for (int i = 0; i < ns; i++) {
        const LsTensor *t = sl[i].w;
        if (sl[i].ncols != *k || (sl[i].b != NULL) != *has_bias)
            return ls_fail(e, "%s backend: slices of one fused weight differ in width or bias", backend);
        if (t->ndim != 2 || sl[i].row0 + sl[i].nrows > (size_t)t->shape[0] ||
            sl[i].col0 + sl[i].ncols > (size_t)t->shape[1])
            return ls_fail(e, "%s backend: slice [%zu+%zu, %zu+%zu] outside weight %s", backend, sl[i].row0,
                           sl[i].nrows, sl[i].col0, sl[i].ncols, t->name);
        *n += sl[i].nrows;
    }
    return LS_OK;
}
