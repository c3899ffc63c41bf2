/* dist.c — process grid and the MPI implementation of the TP collectives. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/parallel.h"

/* In place over the TP group; MPI counts are int, so in pieces. */
static int mpi_allreduce_f32(LsComm *c, float *buf, size_t n, MPI_Op op) {
    MPI_Comm comm = *(MPI_Comm *)c->impl;
    double t0 = ls_now();
    const size_t step = (size_t)1 << 30;
    for (size_t i = 0; i < n; i += step) {
        int cnt = (int)(n - i < step ? n - i : step);
        if (MPI_Allreduce(MPI_IN_PLACE, buf + i, cnt, MPI_FLOAT, op, comm) != MPI_SUCCESS) return -1;
    }
    c->seconds += ls_now() - t0;
    return 0;
}

static int mpi_allreduce_sum_f32(LsComm *c, float *buf, size_t n) {
    return mpi_allreduce_f32(c, buf, n, MPI_SUM);
}

static int mpi_allreduce_max_f32(LsComm *c, float *buf, size_t n) {
    return mpi_allreduce_f32(c, buf, n, MPI_MAX);
}

/* Recursive doubling: at step m (1, 2, 4, ...) each rank holds the sum of its
 * aligned block of m ranks and adds its partner's (rank ^ m), so after log2
 * steps every rank holds the canonical tree sum, bitwise alike. In pieces of at
 * most 1 Mi floats (the partner's piece is received into a scratch buffer). */
static int mpi_allreduce_sum_tree_f32(LsComm *c, float *buf, size_t n) {
    if (c->size < 1 || (c->size & (c->size - 1))) return -1;
    if (c->size == 1 || n == 0) return 0;
    MPI_Comm comm = *(MPI_Comm *)c->impl;
    double t0 = ls_now();
    const size_t step = (size_t)1 << 20;
    float *tmp = malloc((n < step ? n : step) * sizeof(float));
    if (!tmp) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += step) {
        const int cnt = (int)(n - i < step ? n - i : step);
        float *p = buf + i;
        for (int m = 1; m < c->size; m <<= 1) {
            const int peer = c->rank ^ m;
            if (MPI_Sendrecv(p, cnt, MPI_FLOAT, peer, 71, tmp, cnt, MPI_FLOAT, peer, 71, comm,
                             MPI_STATUS_IGNORE) != MPI_SUCCESS) {
                rc = -1;
                break;
            }
            for (int j = 0; j < cnt; j++)
                p[j] += tmp[j];
        }
    }
    free(tmp);
    c->seconds += ls_now() - t0;
    return rc;
}

static int mpi_broadcast(LsComm *c, void *buf, size_t bytes, int root) {
    MPI_Comm comm = *(MPI_Comm *)c->impl;
    double t0 = ls_now();
    const size_t step = (size_t)1 << 30;
    for (size_t i = 0; i < bytes; i += step) {
        int cnt = (int)(bytes - i < step ? bytes - i : step);
        if (MPI_Bcast((char *)buf + i, cnt, MPI_BYTE, root, comm) != MPI_SUCCESS) return -1;
    }
    c->seconds += ls_now() - t0;
    return 0;
}

static int mpi_allgather_host(LsComm *c, const void *send, void *recv, size_t bytes) {
    MPI_Comm comm = *(MPI_Comm *)c->impl;
    if (bytes > (size_t)1 << 30) return -1;
    double t0 = ls_now();
    int rc =
        MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, comm) == MPI_SUCCESS ? 0 : -1;
    c->seconds += ls_now() - t0;
    return rc;
}

int ls_dist_init(LsDist *d, MPI_Comm world, int tp, LsError *e) {
    memset(d, 0, sizeof *d);
    d->world = world;
    d->tp_comm = d->dp_comm = MPI_COMM_NULL;
    d->gpu = -1;
    MPI_Comm_rank(world, &d->world_rank);
    MPI_Comm_size(world, &d->world_size);
    if (tp < 1) return ls_fail(e, "tp=%d: must be at least 1", tp);
    if (d->world_size % tp)
        return ls_fail(e, "world size %d is not divisible by tp=%d: launch a multiple of tp ranks",
                       d->world_size, tp);
    d->tp = tp;
    d->tp_rank = d->world_rank % tp;
    d->dp = d->world_size / tp;
    d->dp_rank = d->world_rank / tp;
    MPI_Comm_split(world, d->dp_rank, d->tp_rank, &d->tp_comm);
    MPI_Comm_split(world, d->tp_rank, d->dp_rank, &d->dp_comm);
    MPI_Comm node;
    MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, d->world_rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &d->local_rank);
    MPI_Comm_size(node, &d->local_size);
    MPI_Comm_free(&node);
    d->comm.rank = d->tp_rank;
    d->comm.size = tp;
    d->comm.impl = &d->tp_comm;
    d->comm.allreduce_sum_f32 = mpi_allreduce_sum_f32;
    d->comm.allreduce_max_f32 = mpi_allreduce_max_f32;
    d->comm.allreduce_sum_tree_f32 = mpi_allreduce_sum_tree_f32;
    d->comm.broadcast = mpi_broadcast;
    d->comm.allgather_host = mpi_allgather_host;
    return LS_OK;
}

void ls_dist_free(LsDist *d) {
    if (d->comm.destroy) d->comm.destroy(&d->comm);
    if (d->tp_comm != MPI_COMM_NULL && d->tp_comm) MPI_Comm_free(&d->tp_comm);
    if (d->dp_comm != MPI_COMM_NULL && d->dp_comm) MPI_Comm_free(&d->dp_comm);
    memset(d, 0, sizeof *d);
}

int ls_dist_check_model(const LsDist *d, const LsModelConfig *c, LsError *e) {
    const int tp = d->tp, H = c->num_attention_heads, f = c->intermediate_size;
    if (tp > H)
        return ls_fail(e, "tp=%d is larger than the model's %d attention heads: use --tp %d or less", tp, H,
                       H);
    if (H % tp)
        return ls_fail(
            e, "tp=%d does not divide the model's %d attention heads: tensor parallelism splits whole heads",
            tp, H);
    if (f % tp) return ls_fail(e, "tp=%d does not divide the model's intermediate_size %d", tp, f);
    return LS_OK;
}

int ls_dist_assign_gpu(LsDist *d, int n_visible, LsError *e) {
    d->gpu = -1;
    if (n_visible < 1) return ls_fail(e, "no CUDA GPU visible to world rank %d", d->world_rank);
    if (d->local_size > n_visible)
        return ls_fail(e,
                       "%d ranks share this node but only %d GPU%s visible: two ranks would share a GPU; "
                       "launch at most %d rank%s per node (one GPU per rank)",
                       d->local_size, n_visible, n_visible == 1 ? " is" : "s are", n_visible,
                       n_visible == 1 ? "" : "s");
    d->gpu = d->local_rank;
    return LS_OK;
}

int ls_dist_agree(const LsDist *d, int rc, LsError *e) {
    int mine = rc == LS_OK ? INT_MAX : d->world_rank, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, d->world);
    if (first == INT_MAX) return LS_OK;
    char msg[sizeof e->msg];
    memset(msg, 0, sizeof msg);
    if (d->world_rank == first) snprintf(msg, sizeof msg, "rank %d: %.990s", first, e ? e->msg : "failed");
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, d->world);
    msg[sizeof msg - 1] = '\0';
    return ls_fail(e, "%s", msg);
}

void ls_dist_abort(LsDist *d, int code) {
    if (d && d->comm.abort) d->comm.abort(&d->comm);
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(d && d->world != MPI_COMM_NULL && d->world ? d->world : MPI_COMM_WORLD, code);
    abort(); /* MPI_Abort does not return */
}

#ifndef LS_HAVE_NCCL
int ls_dist_use_nccl(LsDist *d, void *stream, LsError *e) {
    (void)d, (void)stream;
    return ls_fail(e, "this binary was built without NCCL: tensor parallelism on GPUs is unavailable");
}
#endif
