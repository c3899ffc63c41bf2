/* ls/parallel.h — the process grid (DESIGN §3): world = DP x TP, consecutive
 * world ranks form one TP group, the DP index is rank / tp; the TP group's
 * collectives behind LsComm (MPI here; NCCL with the CUDA backend). */
#ifndef LS_PARALLEL_H
#define LS_PARALLEL_H

#include <mpi.h>

#include "ls/comm.h"
#include "ls/common.h"
#include "ls/model.h"

typedef struct {
    int world_rank, world_size;
    int tp, tp_rank;                  /* TP group size and this rank's index in it */
    int dp, dp_rank;                  /* number of DP groups and this rank's group */
    int local_rank, local_size;       /* among the ranks of this node */
    MPI_Comm world, tp_comm, dp_comm; /* dp_comm: ranks with the same tp_rank */
    LsComm comm;                      /* collectives over tp_comm: MPI, or NCCL after ls_dist_use_nccl */
    int gpu;                          /* CUDA device of this rank (= local_rank), -1 = none */
} LsDist;

/* Builds the grid; errors (world not divisible by tp, ...) before any model
 * is loaded. MPI must be initialised. */
int ls_dist_init(LsDist *d, MPI_Comm world, int tp, LsError *e);
/* Frees the communicators (and the NCCL one, if any). */
void ls_dist_free(LsDist *d);

/* Checks, from config.json alone (before any weight is loaded), that the
 * model splits over d->tp ranks: tp <= num_attention_heads, tp divides the
 * heads and intermediate_size. Local: every rank gets the same answer from
 * the same config. */
int ls_dist_check_model(const LsDist *d, const LsModelConfig *c, LsError *e);

/* One GPU per rank: with n_visible CUDA devices visible to this rank, the
 * rank uses device local_rank; an error when local_size ranks share this node
 * but fewer GPUs are visible (two ranks on one GPU) or none is. Sets d->gpu.
 * Local: combine with ls_dist_agree so every rank stops together. */
int ls_dist_assign_gpu(LsDist *d, int n_visible, LsError *e);

/* Collective over the world: returns LS_OK if rc == LS_OK on every rank;
 * otherwise every rank returns LS_ERR with the message of the lowest failing
 * rank ("rank R: ..."), so no rank goes on into a collective alone. */
int ls_dist_agree(const LsDist *d, int rc, LsError *e);

/* Replaces d->comm by an NCCL communicator over the TP group (CUDA backend):
 * the unique id is made on the TP leader and broadcast over tp_comm,
 * cudaSetDevice(d->gpu) precedes ncclCommInitRank; allreduce_sum_f32 takes
 * device buffers (ncclAllReduce on `stream`, then a stream sync; NULL = a
 * stream of its own that synchronises with the legacy default stream),
 * allgather_host stays MPI. Collective over the TP group; call after
 * ls_dist_assign_gpu. An error in builds without NCCL. */
int ls_dist_use_nccl(LsDist *d, void *stream, LsError *e);

/* Fatal error on this rank: aborts the NCCL communicator (if any) so no peer
 * blocks in a kernel, then MPI_Abort(world, code). Does not return. */
__attribute__((noreturn)) void ls_dist_abort(LsDist *d, int code);

#endif
