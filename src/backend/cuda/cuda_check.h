// cuda_check.h — one check macro per CUDA library (DESIGN §11.4), shared by
// the *.cu files of src/backend/cuda: the error names file:line and the call.
//   cudaCheck(e, call) / cublasCheck(e, call): in functions that return
//     LS_OK / LS_ERR; fill e (or log when e is NULL) and return LS_ERR.
//   cudaSticky(st, call) / cublasSticky(st, call): in backend operations that
//     have no error return (linear, attention, ...): record the first error in
//     the sticky slot st (LsCudaSticky, the backend's) and return; the forward
//     pass reads it once per batch (LsBackend.check) and returns it as an
//     LsError. Nothing here aborts: a failed kernel must never leave a silently
//     wrong number behind, and the error must reach the clean MPI exit path.
#ifndef LS_CUDA_CHECK_H
#define LS_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

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

// The first error of the backend's operations since the last check.
typedef struct LsCudaSticky {
    int failed;
    LsError err;
} LsCudaSticky;

static inline void ls_cuda_sticky_set(LsCudaSticky *st, const char *file, int line, const char *call,
                                      const char *what) {
    if (st->failed) return;
    st->failed = 1;
    ls_fail(&st->err, "%s:%d: %s failed: %s", file, line, call, what);
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
#define cudaSticky(st, call)                                                                                 \
    do {                                                                                                     \
        cudaError_t err_ = (call);                                                                           \
        if (err_ != cudaSuccess) {                                                                           \
            ls_cuda_sticky_set(st, __FILE__, __LINE__, #call, cudaGetErrorString(err_));                     \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)
#define cublasSticky(st, call)                                                                               \
    do {                                                                                                     \
        cublasStatus_t st_ = (call);                                                                         \
        if (st_ != CUBLAS_STATUS_SUCCESS) {                                                                  \
            ls_cuda_sticky_set(st, __FILE__, __LINE__, #call, cublasGetStatusString(st_));                   \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)

#endif
