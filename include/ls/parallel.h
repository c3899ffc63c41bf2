/* ls/parallel.h — the process grid (DESIGN §3): world = DP x TP, consecutive
 * world ranks form one TP group, the DP index is rank / tp; the TP group's
 * collectives behind LsComm (MPI here; NCCL with the CUDA backend). */
#ifndef LS_PARALLEL_H
#define LS_PARALLEL_H

#include <mpi.h>

#include "ls/comm.h"
#include "ls/common.h"

typedef struct {
    int world_rank, world_size;
    int tp, tp_rank;          /* TP group size and this rank's index in it */
    int dp, dp_rank;          /* number of DP groups and this rank's group */
    int local_rank, local_size; /* among the ranks of this node */
    MPI_Comm world, tp_comm, dp_comm; /* dp_comm: ranks with the same tp_rank */
    LsComm comm;              /* MPI collectives over tp_comm */
} LsDist;

/* Builds the grid; errors (world not divisible by tp, ...) before any model
 * is loaded. MPI must be initialised. */
int ls_dist_init(LsDist *d, MPI_Comm world, int tp, LsError *e);
void ls_dist_free(LsDist *d);

#endif
