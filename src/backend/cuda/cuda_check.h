// cuda_check.h — one check macro per CUDA library (DESIGN §11.4), shared by
// the *.cu files of src/backend/cuda: the error names file:line and the call.
//   cudaCheck(e, call) / cublasCheck(e, call): in functions that return
//     LS_OK / LS_ERR; fill e (or log when e is NULL) and return LS_ERR.
//   cudaCheckFatal(call) / cublasCheckFatal(call): in backend operations that
//     have no error return (linear, attention, ...): print and abort(), as
//     ls_malloc does on host out-of-memory — a failed kernel must never leave
//     a silently wrong number behind.
#ifndef LS_CUDA_CHECK_H
#define LS_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdlib.h>

extern "C" {
#include "ls/common.h"
}

static inline int ls_cuda_check_fail(LsError *e, const char *file, int line, const char *call,
                                     const char *what) {
    LsError tmp;
    ls_fail(e ? e : &tmp, "%s:%d: %s failed: %s", file, line, call, what);
    if (!e) ls_warn("%s\n", tmp.msg);
    return LS_ERR;
}

__attribute__((noreturn)) static inline void ls_cuda_fatal(const char *file, int line, const char *call,
                                                           const char *what) {
    ls_warn("%s:%d: %s failed: %s (fatal: a CUDA backend operation cannot report errors)\n", file, line, call,
            what);
    abort();
}

#define cudaCheck(e, call)                                                                                   \
    do {                                                                                                     \
        cudaError_t err_ = (call);                                                                           \
        if (err_ != cudaSuccess)                                                                             \
            return ls_cuda_check_fail(e, __FILE__, __LINE__, #call, cudaGetErrorString(err_));               \
    } while (0)
#define cublasCheck(e, call)                                                                                 \
    do {                                                                                                     \
        cublasStatus_t st_ = (call);                                                                         \
        if (st_ != CUBLAS_STATUS_SUCCESS)                                                                    \
            return ls_cuda_check_fail(e, __FILE__, __LINE__, #call, cublasGetStatusString(st_));             \
    } while (0)
#define cudaCheckFatal(call)                                                                                 \
    do {                                                                                                     \
        cudaError_t err_ = (call);                                                                           \
        if (err_ != cudaSuccess) ls_cuda_fatal(__FILE__, __LINE__, #call, cudaGetErrorString(err_));         \
    } while (0)
#define cublasCheckFatal(call)                                                                               \
    do {                                                                                                     \
        cublasStatus_t st_ = (call);                                                                         \
        if (st_ != CUBLAS_STATUS_SUCCESS)                                                                    \
            ls_cuda_fatal(__FILE__, __LINE__, #call, cublasGetStatusString(st_));                            \
    } while (0)

#endif
