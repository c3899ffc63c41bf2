// cuda_arch.h — internal to the CUDA backend: the operations of Llama, Qwen3
// and Gemma 3 beyond Qwen2's (cuda_arch.cu).
#ifndef LS_CUDA_ARCH_H
#define LS_CUDA_ARCH_H

extern "C" {
#include "ls/backend.h"
}

// Sets the optional operations of ls/backend.h that cuda_arch.cu implements
// (scale, add_bias, head_rmsnorm, gelu_tanh_mul, rope_freqs). The LS_FEAT_*
// bits (sliding window, attention scale, final soft-capping) are set by
// cuda_backend.cu, whose attention and head kernels implement them.
void ls_cuda_arch_register(LsBackend *be);

// The backend's sticky error slot (cuda_check.h): operations record their
// first failed CUDA call there instead of aborting.
struct LsCudaSticky;
struct LsCudaSticky *ls_cuda_sticky(LsBackend *be);

#endif
