// cuda_probe.cu — proves the CUDA build path and reports whether a GPU is
// visible. The backend kernels of the CUDA issue live beside this file.
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" int ls_cuda_device_count(char *why, size_t why_len) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        if (why) snprintf(why, why_len, "%s", cudaGetErrorString(err));
        return 0;
    }
    if (n == 0 && why) snprintf(why, why_len, "no CUDA device visible");
    return n;
}
