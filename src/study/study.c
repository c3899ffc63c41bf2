/* study.c — the study's stages in order (ls/study.h), and their one error
 * path: a stage returns LS_ERR with a message every rank agreed on, the run
 * stops there, the file is closed collectively (what was flushed stays: the
 * models finished before, marked complete) and the caller reports it. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study_internal.h"

/* Set by SIGTERM / SIGUSR1; read by every rank together at batch boundaries. */
static volatile sig_atomic_t g_stop = 0;

static void on_stop_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

void ls_study_catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int study_stop_requested(const Study *S) {
    int mine = g_stop != 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, S->d.world);
    return any;
}

int study_agree(const Study *S, int rc, LsError *e) {
    if (!S->dist_on) { /* before the grid exists: the world communicator alone */
        LsDist w = {.world = MPI_COMM_WORLD};
        MPI_Comm_rank(MPI_COMM_WORLD, &w.world_rank);
        return ls_dist_agree(&w, rc, e);
    }
    return ls_dist_agree(&S->d, rc, e);
}

int ls_study_run(const LsRunConfig *cfg, const LsStudyOptions *opt, LsStudyEnd *end, LsError *e) {
    Study S;
    memset(&S, 0, sizeof S);
    S.cfg = cfg;
    S.opt = *opt;
    *end = LS_STUDY_COMPLETE;
    int stopped = 0;
    double t0 = ls_now();
    int rc = study_prepare(&S, e);
    if (rc == LS_OK) rc = study_open_output(&S, end, e);
    for (size_t k = 0; rc == LS_OK && *end == LS_STUDY_COMPLETE && k < cfg->n_models && !stopped; k++)
        rc = study_run_model(&S, &S.models[k], &stopped, e);
    if (rc == LS_OK && *end == LS_STUDY_COMPLETE && !stopped) rc = study_run_pairs(&S, &stopped, e);
    if (rc == LS_OK && stopped) { /* the file stays consistent: closed by every rank */
        *end = LS_STUDY_STOPPED;
        rc = ls_h5_close(&S.h, e);
        S.h_open = 0;
        rc = study_agree(&S, rc, e);
    }
    if (rc == LS_OK && *end == LS_STUDY_COMPLETE) rc = study_seal(&S, e);
    if (rc == LS_OK && *end == LS_STUDY_COMPLETE && S.root && !cfg->quiet)
        fprintf(stderr, "logits-study run: wrote %s in %.1f s\n", cfg->output, ls_now() - t0);
    study_free(&S);
    return rc;
}

void study_free(Study *S) {
    if (S->h_open) {
        LsError ignore;
        ls_h5_close(&S->h, &ignore);
        S->h_open = 0;
    }
    for (size_t k = 0; S->models && k < S->cfg->n_models; k++) {
        StudyModel *sm = &S->models[k];
        ls_targets_free(&sm->ts);
        ls_encoded_free(&sm->enc);
        ls_shard_free(&sm->plan);
        ls_tokenizer_free(sm->tok);
        free(sm->ids);
        free(sm->at);
    }
    free(S->models);
    free(S->pairs);
    for (size_t i = 0; S->long_reason && i < S->ds.n_records; i++)
        free(S->long_reason[i]);
    free(S->long_reason);
    free(S->policy);
    free(S->keep);
    ls_dataset_free(&S->ds);
    if (S->dist_on) ls_dist_free(&S->d);
    memset(S, 0, sizeof *S);
}
