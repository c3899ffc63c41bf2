/* mpi_nccl.c — the NCCL LsComm on real GPUs (run by tests/scripts/test_mpi.sh
 * as `mpirun -np N mpi_nccl N`): one GPU per rank, an all-reduce of device
 * buffers and a host all-gather over the TP group. Skips (exit 0, "skipped:")
 * in builds without NCCL or with fewer visible GPUs than ranks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/parallel.h"

#ifdef LS_HAVE_NCCL
#include <cuda_runtime.h>
int ls_cuda_device_count(char *why, size_t why_len);
#endif

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, world;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    int tp = argc > 1 ? atoi(argv[1]) : world;
#ifndef LS_HAVE_NCCL
    (void)tp;
    if (rank == 0) printf("skipped: built without NCCL\n");
    MPI_Finalize();
    return 0;
#else
    char why[256] = "";
    int ngpu = ls_cuda_device_count(why, sizeof why), minimum;
    MPI_Allreduce(&ngpu, &minimum, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (minimum < world) {
        if (rank == 0)
            printf("skipped: needs %d CUDA GPUs (one per rank), %d visible%s%s\n", world, minimum,
                   why[0] ? ": " : "", why);
        MPI_Finalize();
        return 0;
    }
    LsDist d;
    LsError e = {{0}};
    int rc = ls_dist_init(&d, MPI_COMM_WORLD, tp, &e);
    if (rc == LS_OK) rc = ls_dist_assign_gpu(&d, ngpu, &e);
    if (ls_dist_agree(&d, rc, &e) != LS_OK || ls_dist_use_nccl(&d, NULL, &e) != LS_OK) {
        fprintf(stderr, "rank %d: %s\n", rank, e.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const size_t n = (size_t)1 << 20;
    float *host = malloc(n * sizeof(float)), *dev = NULL;
    for (size_t i = 0; i < n; i++)
        host[i] = (float)(d.tp_rank + 1) + (float)(i % 7);
    if (cudaMalloc((void **)&dev, n * sizeof(float)) != cudaSuccess ||
        cudaMemcpy(dev, host, n * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess) {
        fprintf(stderr, "rank %d: cudaMalloc/cudaMemcpy failed\n", rank);
        ls_dist_abort(&d, 1);
    }
    if (d.comm.allreduce_sum_f32(&d.comm, dev, n) != 0) ls_dist_abort(&d, 1);
    cudaMemcpy(host, dev, n * sizeof(float), cudaMemcpyDeviceToHost);
    for (size_t i = 0; i < n; i++) {
        float want = (float)(tp * (tp + 1) / 2) + (float)tp * (float)(i % 7);
        if (host[i] != want) {
            fprintf(stderr, "rank %d: allreduce[%zu] = %g, want %g\n", rank, i, host[i], want);
            ls_dist_abort(&d, 1);
        }
    }
    int mine = rank, all[64];
    if (d.comm.allgather_host(&d.comm, &mine, all, sizeof mine) != 0) ls_dist_abort(&d, 1);
    for (int i = 0; i < tp; i++)
        if (all[i] != d.dp_rank * tp + i) ls_dist_abort(&d, 1);
    cudaFree(dev);
    free(host);
    ls_dist_free(&d);
    if (rank == 0) printf("NCCL comm ok: world %d tp %d, all-reduce of %zu floats\n", world, tp, n);
    MPI_Finalize();
    return 0;
#endif
}
