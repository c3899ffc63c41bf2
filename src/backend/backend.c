/* backend.c — picks the backend for --device auto|cpu|cuda. */
#include <string.h>

#include "ls/backend.h"

#ifdef LS_HAVE_CUDA
int ls_cuda_device_count(char *why, size_t why_len);
#endif

LsBackend *ls_backend_create(const char *device, int nthreads, LsError *e) {
    if (!device || !strcmp(device, "auto")) {
#ifdef LS_HAVE_CUDA
        char why[256] = "";
        if (ls_cuda_device_count(why, sizeof why) > 0)
            ls_log0("device auto: a CUDA GPU is visible, but the CUDA forward pass is not in this build yet; "
                    "using the CPU");
        else
            ls_log0("device auto: no CUDA GPU visible (%s); using the CPU", why);
#else
        ls_log0("device auto: built without CUDA; using the CPU");
#endif
        return ls_backend_cpu_create(nthreads);
    }
    if (!strcmp(device, "cpu")) return ls_backend_cpu_create(nthreads);
    if (!strcmp(device, "cuda")) {
#ifdef LS_HAVE_CUDA
        char why[256] = "";
        if (ls_cuda_device_count(why, sizeof why) <= 0) {
            ls_fail(e, "--device cuda: no usable CUDA GPU (%s)", why);
            return NULL;
        }
        ls_fail(e, "--device cuda: the CUDA forward pass is not implemented yet; use --device cpu");
#else
        ls_fail(e, "--device cuda: this binary was built without CUDA (nvcc not found at configure time)");
#endif
        return NULL;
    }
    ls_fail(e, "--device '%s': expected auto, cpu or cuda", device);
    return NULL;
}
