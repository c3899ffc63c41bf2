/* dist.c — process grid and the MPI implementation of the TP collectives. */
#include <stdlib.h>
#include <string.h>

#include "ls/parallel.h"

static int mpi_allreduce_sum_f32(LsComm *c, float *buf, size_t n) {
    MPI_Comm comm = *(MPI_Comm *)c->impl;
    /* MPI counts are int: reduce in pieces */
    const size_t step = (size_t)1 << 30;
    for (size_t i = 0; i < n; i += step) {
        int cnt = (int)(n - i < step ? n - i : step);
        if (MPI_Allreduce(MPI_IN_PLACE, buf + i, cnt, MPI_FLOAT, MPI_SUM, comm) != MPI_SUCCESS) return -1;
    }
    return 0;
}

static int mpi_allgather_host(LsComm *c, const void *send, void *recv, size_t bytes) {
    MPI_Comm comm = *(MPI_Comm *)c->impl;
    if (bytes > (size_t)1 << 30) return -1;
    return MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, comm) == MPI_SUCCESS ? 0 : -1;
}

int ls_dist_init(LsDist *d, MPI_Comm world, int tp, LsError *e) {
    memset(d, 0, sizeof *d);
    d->world = world;
    MPI_Comm_rank(world, &d->world_rank);
    MPI_Comm_size(world, &d->world_size);
    if (tp < 1) return ls_fail(e, "tp=%d: must be at least 1", tp);
    if (d->world_size % tp)
        return ls_fail(e, "world size %d is not divisible by tp=%d: launch a multiple of tp ranks", d->world_size,
                       tp);
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
    d->comm.allgather_host = mpi_allgather_host;
    return LS_OK;
}

void ls_dist_free(LsDist *d) {
    if (d->tp_comm != MPI_COMM_NULL && d->tp_comm) MPI_Comm_free(&d->tp_comm);
    if (d->dp_comm != MPI_COMM_NULL && d->dp_comm) MPI_Comm_free(&d->dp_comm);
    memset(d, 0, sizeof *d);
}
