/* seal.c — the study's last stage: the file is closed by every rank, rank 0
 * reduces it (serial HDF5: the same /summary at any world size) with the
 * seed and resample count the run stored, then writes complete = 1, last. */
#include <mpi.h>
#include <stdio.h>

#include "ls/reduce.h"
#include "study_internal.h"

static int reduce_and_mark_complete(const LsRunConfig *c, LsError *e) {
    LsReduceOptions ro = ls_reduce_defaults(); /* bootstrap and seed: the root attributes the run wrote */
    ro.verbose = !c->quiet;
    if (ls_reduce_file(c->output, &ro, e)) return LS_ERR;
    hid_t f = H5Fopen(c->output, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return ls_fail(e, "%s: cannot open the file to mark it complete", c->output);
    int rc = ls_h5_attr_i64(f, "complete", 1, e);
    if (H5Fclose(f) < 0 && rc == LS_OK)
        rc = ls_fail(e, "%s: cannot close the file after marking it complete", c->output);
    if (rc) ls_fail_prefix(e, "%s: cannot mark the file complete", c->output);
    return rc;
}

int study_seal(Study *S, LsError *e) {
    int rc = ls_h5_close(&S->h, e);
    S->h_open = 0;
    if (study_agree(S, rc, e)) return LS_ERR;
    MPI_Barrier(S->d.world);
    rc = S->root ? reduce_and_mark_complete(S->cfg, e) : LS_OK;
    return study_agree(S, rc, e);
}
