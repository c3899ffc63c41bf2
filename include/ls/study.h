/* ls/study.h — the study (`logits-study run`) as stages (DESIGN §4 src/study/):
 *
 *   prepare      the process grid, the records, each model's tokenizer and
 *                target forms, and this rank's encodings: records are shared
 *                out by byte length to be counted, balanced over the
 *                data-parallel groups by their true token counts, and each
 *                rank tokenises only the records its group runs
 *   open output  create the file (root attributes, /samples) or resume it
 *                (same study, world size, data)
 *   run model    per model: its group, device record, batches, occurrences
 *   seal         rank 0 reduces (/summary), then marks the file complete
 *
 * Every stage returns LS_OK or LS_ERR with the same message on every rank
 * (agreed with ls_dist_agree before any collective that follows), so the
 * caller has one place to stop: print the message once and leave MPI. The
 * file is flushed after each model, so what was written stays. Layout:
 * docs/hdf5-layout.md. */
#ifndef LS_STUDY_H
#define LS_STUDY_H

#include "ls/common.h"
#include "ls/config.h"

/* Exit status of a run stopped cleanly by SIGTERM / SIGUSR1 (EX_TEMPFAIL):
 * the file is consistent and `--resume` continues it. */
#define LS_STUDY_EXIT_STOPPED 75

/* Options of the run that are not part of the config. */
typedef struct {
    int overwrite; /* replace an existing output file */
    int threads;   /* CPU threads per rank; <= 0: SLURM_CPUS_PER_TASK, else the node's cores / its ranks */
} LsStudyOptions;

/* How a run that did not fail ended. */
typedef enum {
    LS_STUDY_COMPLETE = 0,     /* every model, /summary, complete = 1 */
    LS_STUDY_STOPPED = 1,      /* stopped at a batch boundary by a signal; resume continues it */
    LS_STUDY_WAS_COMPLETE = 2, /* --resume of a file that is already complete: nothing done */
} LsStudyEnd;

/* Runs the study (collective over MPI_COMM_WORLD; MPI initialised). On
 * LS_ERR every rank holds the same message in e. */
int ls_study_run(const LsRunConfig *cfg, const LsStudyOptions *opt, LsStudyEnd *end, LsError *e);

/* Installs SIGTERM / SIGUSR1 handlers that ask every rank to stop at the
 * next batch boundary (Slurm's pre-emption warning). */
void ls_study_catch_stop_signals(void);

#endif
