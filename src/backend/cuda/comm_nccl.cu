// comm_nccl.cu — the NCCL implementation of LsComm for the CUDA backend
// (DESIGN §3): one communicator per TP group, its unique id made on the
// group's leader and broadcast over the MPI tp_comm; all-reduce on device
// buffers, host all-gather over MPI, ncclCommAbort before MPI_Abort.
#ifdef LS_HAVE_NCCL
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "ls/parallel.h"
}
#include "cuda_check.h"

// cudaCheck comes from cuda_check.h; ncclCheck, used only here, sits beside it.
#define ncclCheck(e, call)                                                                                   \
    do {                                                                                                     \
        ncclResult_t res_ = (call);                                                                          \
        if (res_ != ncclSuccess)                                                                             \
            return ls_cuda_check_fail(e, __FILE__, __LINE__, #call, ncclGetErrorString(res_));               \
    } while (0)

typedef struct {
    ncclComm_t comm;
    cudaStream_t stream;
    int own_stream;
    LsComm mpi; // the MPI LsComm it replaced: host all-gathers go there
} NcclImpl;

// Waits for the stream and surfaces NCCL's asynchronous errors.
static int nccl_finish(LsComm *c, NcclImpl *im, double t0) {
    cudaCheck(NULL, cudaStreamSynchronize(im->stream));
    ncclResult_t async = ncclSuccess;
    ncclCheck(NULL, ncclCommGetAsyncError(im->comm, &async));
    ncclCheck(NULL, async);
    c->seconds += ls_now() - t0;
    return 0;
}

static int nccl_allreduce_f32(LsComm *c, float *buf, size_t n, ncclRedOp_t op) {
    NcclImpl *im = (NcclImpl *)c->impl;
    double t0 = ls_now();
    // buf: [n] fp32 device memory, reduced in place over the TP group
    ncclCheck(NULL, ncclAllReduce(buf, buf, n, ncclFloat, op, im->comm, im->stream));
    return nccl_finish(c, im, t0);
}

static int nccl_allreduce_sum_f32(LsComm *c, float *buf, size_t n) {
    return nccl_allreduce_f32(c, buf, n, ncclSum);
}

static int nccl_allreduce_max_f32(LsComm *c, float *buf, size_t n) {
    return nccl_allreduce_f32(c, buf, n, ncclMax);
}

static int nccl_broadcast(LsComm *c, void *buf, size_t bytes, int root) {
    NcclImpl *im = (NcclImpl *)c->impl;
    double t0 = ls_now();
    ncclCheck(NULL, ncclBroadcast(buf, buf, bytes, ncclChar, root, im->comm, im->stream));
    return nccl_finish(c, im, t0);
}

static int nccl_allgather_host(LsComm *c, const void *send, void *recv, size_t bytes) {
    NcclImpl *im = (NcclImpl *)c->impl;
    return im->mpi.allgather_host(&im->mpi, send, recv, bytes);
}

static void nccl_abort(LsComm *c) {
    NcclImpl *im = (NcclImpl *)c->impl;
    if (im && im->comm) ncclCommAbort(im->comm);
    if (im) im->comm = NULL;
}

static void nccl_destroy(LsComm *c) {
    NcclImpl *im = (NcclImpl *)c->impl;
    if (!im) return;
    if (im->comm) ncclCommDestroy(im->comm);
    if (im->own_stream) cudaStreamDestroy(im->stream);
    *c = im->mpi; // back to the MPI collectives
    free(im);
}

// Steps before the collective init: device, stream, and (leader) the id.
static int nccl_prepare(LsDist *d, void *stream, NcclImpl *im, ncclUniqueId *id, LsError *e) {
    cudaCheck(e, cudaSetDevice(d->gpu));
    if (stream) {
        im->stream = (cudaStream_t)stream;
    } else {
        // default flags: synchronises with the legacy default stream
        cudaCheck(e, cudaStreamCreate(&im->stream));
        im->own_stream = 1;
    }
    if (d->tp_rank == 0) ncclCheck(e, ncclGetUniqueId(id));
    return LS_OK;
}

extern "C" int ls_dist_use_nccl(LsDist *d, void *stream, LsError *e) {
    if (d->gpu < 0) return ls_fail(e, "ls_dist_use_nccl: no GPU assigned (call ls_dist_assign_gpu first)");
    NcclImpl *im = (NcclImpl *)ls_calloc(1, sizeof *im);
    ncclUniqueId id;
    memset(&id, 0, sizeof id);
    int rc = nccl_prepare(d, stream, im, &id, e);
    if (ls_dist_agree(d, rc, e) != LS_OK) goto fail;
    MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, d->tp_comm);
    {
        ncclResult_t r = ncclCommInitRank(&im->comm, d->tp, id, d->tp_rank);
        rc = r == ncclSuccess
                 ? LS_OK
                 : ls_cuda_check_fail(e, __FILE__, __LINE__, "ncclCommInitRank", ncclGetErrorString(r));
    }
    if (ls_dist_agree(d, rc, e) != LS_OK) goto fail;
    im->mpi = d->comm;
    d->comm.impl = im;
    d->comm.allreduce_sum_f32 = nccl_allreduce_sum_f32;
    d->comm.allreduce_max_f32 = nccl_allreduce_max_f32;
    d->comm.allreduce_sum_tree_f32 = NULL; // device buffers: plain ncclAllReduce (ls/forward.h)
    d->comm.broadcast = nccl_broadcast;
    d->comm.allgather_host = nccl_allgather_host;
    d->comm.abort = nccl_abort;
    d->comm.destroy = nccl_destroy;
    return LS_OK;
fail:
    if (im->comm) ncclCommAbort(im->comm);
    if (im->own_stream) cudaStreamDestroy(im->stream);
    free(im);
    return ls_fail_prefix(e, "NCCL communicator for the TP group");
}
#endif
