/* ls/comm.h — collectives over one tensor-parallel group. The forward pass
 * and the head statistics call only these; src/parallel provides an MPI
 * implementation (CPU) and an NCCL one (CUDA). A NULL LsComm means a group of
 * one rank. */
#ifndef LS_COMM_H
#define LS_COMM_H

#include <stddef.h>

typedef struct LsComm LsComm;
struct LsComm {
    int rank, size;
    void *impl;
    double seconds; /* time spent in the collectives below (for bench/tp_scaling) */
    /* in place, over size ranks; buffers live in the backend's memory */
    int (*allreduce_sum_f32)(LsComm *c, float *buf, size_t n);
    int (*allreduce_max_f32)(LsComm *c, float *buf, size_t n);
    /* in place, size a power of two: the sum in the fixed balanced binary tree
     * over the ranks, ((r0 + r1) + (r2 + r3)) + ..., bitwise the same on every
     * rank (recursive doubling; IEEE addition commutes). The forward pass uses
     * it to make tensor-parallel sums independent of tp (ls/forward.h).
     * Optional: NULL where not provided (NCCL); -1 for other sizes. */
    int (*allreduce_sum_tree_f32)(LsComm *c, float *buf, size_t n);
    /* in place: rank root's buf[0..bytes) to every rank (backend memory) */
    int (*broadcast)(LsComm *c, void *buf, size_t bytes, int root);
    /* host buffers: recv holds size * bytes, rank i's block at i * bytes */
    int (*allgather_host)(LsComm *c, const void *send, void *recv, size_t bytes);
    /* optional (NULL for MPI): tears the group down without waiting for the
     * other ranks (ncclCommAbort); called on a fatal error before MPI_Abort */
    void (*abort)(LsComm *c);
    /* optional: frees what impl holds (a collective, on the normal path) */
    void (*destroy)(LsComm *c);
};

#endif
