/* study_internal.h — the state the stages of the study share (ls/study.h). */
#ifndef LS_STUDY_INTERNAL_H
#define LS_STUDY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ls/backend.h"
#include "ls/config.h"
#include "ls/data.h"
#include "ls/encode.h"
#include "ls/h5out.h"
#include "ls/parallel.h"
#include "ls/shard.h"
#include "ls/study.h"
#include "ls/study_out.h"
#include "ls/targets.h"
#include "ls/tokenizer.h"

/* One model of the run, as this rank holds it. */
typedef struct {
    const LsModelSpec *spec;
    LsTokenizer *tok;
    LsTargetSet ts;
    /* every sample's file rows (off, answer_start, full_len over the N samples
     * run); ids stays NULL: a rank holds only its group's ids, below */
    LsEncoded enc;
    int32_t *ids;     /* the ids of this rank's DP group's samples, concatenated */
    int64_t *at;      /* [N] where sample i starts in ids, -1 when another group runs it */
    LsShardPlan plan; /* samples dealt to the DP groups by token count, packed in batches */
    LsStudyModel out; /* what the file needs of the model */
} StudyModel;

typedef struct {
    const LsRunConfig *cfg;
    LsStudyOptions opt; /* threads resolved */
    LsDist d;
    int dist_on, root, resume;

    LsDataset ds;
    char data_sha256[65];
    size_t *keep, n_keep; /* records run: sample j is ds.records[keep[j]] */
    char **long_reason;   /* [ds.n_records] why record i is skipped as too long, or NULL */
    size_t n_long;
    StudyModel *models; /* [cfg->n_models] */

    LsH5 h;
    int h_open;
} Study;

/* Collective: LS_OK when rc is LS_OK on every rank, else every rank gets the
 * first failing rank's message. */
int study_agree(const Study *S, int rc, LsError *e);

/* The stages (prepare.c, output.c, run_model.c, seal.c). Each returns an agreed rc. */
int study_prepare(Study *S, LsError *e);
int study_open_output(Study *S, LsStudyEnd *end, LsError *e);
int study_run_model(Study *S, StudyModel *sm, int *stopped, LsError *e);
int study_seal(Study *S, LsError *e);
void study_free(Study *S);

/* The rank's backend for the config's device and precision, the same kind
 * on every rank (collective, agreed; device.c). */
int study_backend_open(Study *S, LsBackend **be, LsError *e);
/* What it computes on: rank 0's description, on every rank (collective). */
void study_backend_describe(const Study *S, LsBackend *be, LsDeviceInfo *out);

/* Whether any rank was asked to stop (collective). */
int study_stop_requested(const Study *S);

#endif
