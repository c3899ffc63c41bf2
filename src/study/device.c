/* device.c — the backend a rank computes on, chosen from the config
 * (device, precision), the same kind on every rank, and the record of what
 * it is (rank 0's description, the same on every rank). */
#include <mpi.h>
#include <stdlib.h>
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

int study_resume_device_check(const Study *S, hid_t g, const char *kind, const char *name,
                              const LsDeviceInfo *dev, LsError *e) {
    char *have_dev = NULL, *have_prec = NULL, *have_rt = NULL;
    int has_dev = 0, has_prec = 0, has_rt = 0;
    int rc = ls_h5_attr_has(g, "device", &has_dev, e);
    if (rc == LS_OK) rc = ls_h5_attr_has(g, "precision", &has_prec, e);
    if (rc == LS_OK) rc = ls_h5_attr_has(g, "runtime", &has_rt, e);
    /* groups written before the device record have none of these: nothing to compare */
    if (rc == LS_OK && has_dev && has_prec) {
        rc = ls_h5_attr_get_str(g, "device", &have_dev, e);
        if (rc == LS_OK) rc = ls_h5_attr_get_str(g, "precision", &have_prec, e);
        if (rc == LS_OK && (strcmp(have_dev, dev->device) != 0 || strcmp(have_prec, dev->precision) != 0))
            rc = ls_fail(
                e,
                "--resume: %s %s was computed on %s in %s, but this run computes on %s in %s; a file "
                "must not mix them: resume with device: %s and precision: %s, or rerun with --overwrite",
                kind, name, have_dev, have_prec, dev->device, dev->precision, have_dev, have_prec);
    }
    /* the same kind and precision, but other GEMM kernels or libraries (another processor or
     * build): allowed, within the numerics contract, but the rows written before and after may
     * differ in their last bits, so say so */
    if (rc == LS_OK && has_rt) rc = ls_h5_attr_get_str(g, "runtime", &have_rt, e);
    if (rc == LS_OK && have_rt && strcmp(have_rt, dev->runtime) != 0 && S->root)
        ls_warn("--resume: %s %s was computed with \"%s\", this run computes with \"%s\": its rows from "
                "before and after may differ in the last bits",
                kind, name, have_rt, dev->runtime);
    free(have_dev);
    free(have_prec);
    free(have_rt);
    return rc;
}
