/* device.c — the backend a rank computes on, chosen from the config
 * (device, precision), the same kind on every rank, and the record of what
 * it is (rank 0's description, the same on every rank). */
#include <mpi.h>
#include <string.h>

#include "study_internal.h"

int study_backend_open(Study *S, LsBackend **be, LsError *e) {
    LsDist *d = &S->d;
    char why[256];
    /* CUDA device local_rank, or 0 when the launcher shows each rank a single GPU */
    int gpu = ls_cuda_device_count(why, sizeof why) == 1 ? 0 : d->local_rank;
    *be = ls_backend_create(ls_device_name(S->cfg->device), gpu, S->opt.threads, S->cfg->precision, e);
    if (study_agree(S, *be ? LS_OK : LS_ERR, e)) return LS_ERR;
    int is_cuda = !strcmp((*be)->name, "cuda"), lo, hi;
    MPI_Allreduce(&is_cuda, &lo, 1, MPI_INT, MPI_MIN, d->world);
    MPI_Allreduce(&is_cuda, &hi, 1, MPI_INT, MPI_MAX, d->world);
    if (lo != hi)
        return ls_fail(e,
                       "device auto: some ranks see a usable GPU and others do not; set device: cpu or cuda");
    if (is_cuda) d->gpu = gpu;
    return LS_OK;
}

void study_backend_describe(const Study *S, LsBackend *be, LsDeviceInfo *out) {
    be->describe(be, out);
    MPI_Bcast(out, sizeof *out, MPI_BYTE, 0, S->d.world);
    out->device[sizeof out->device - 1] = out->precision[sizeof out->precision - 1] = '\0';
    out->processor[sizeof out->processor - 1] = out->runtime[sizeof out->runtime - 1] = '\0';
}

int study_backend_open_tp(Study *S, LsBackend **be, int *nccl_on, LsDeviceInfo *dev, LsError *e) {
    *nccl_on = 0;
    if (study_backend_open(S, be, e)) return LS_ERR;
    if (!strcmp((*be)->name, "cuda") && S->d.tp > 1) {
        int rc = ls_dist_use_nccl(&S->d, NULL, e);
        *nccl_on = rc == LS_OK;
        if (study_agree(S, rc, e)) return LS_ERR;
    }
    study_backend_describe(S, *be, dev);
    return LS_OK;
}
