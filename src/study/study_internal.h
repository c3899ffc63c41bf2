/* study_internal.h — the state the stages of the study share (ls/study.h). */
#ifndef LS_STUDY_INTERNAL_H
#define LS_STUDY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ls/backend.h"
#include "ls/config.h"
#include "ls/data.h"
#include "ls/divergence.h"
#include "ls/encode.h"
#include "ls/forward.h"
#include "ls/h5out.h"
#include "ls/lens.h"
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
    size_t ctx;       /* the model's context length (max_position_embeddings, GGUF context_length) */
    size_t window;    /* the longest sequence it scores: min(max_tokens, ctx) */
    size_t min_ctx;   /* on_long_record: window: context every windowed position has at least */
    int32_t vocab;    /* vocab_size of its config */
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
    int8_t *policy;     /* [n_keep] 0 run as is, 1 truncated, 2 windowed (for some model) */
    StudyModel *models; /* [cfg->n_models] */
    LsModelPair *pairs; /* [n_pairs] the model pairs compared (run_pairs.c) */
    int n_pairs;

    LsH5 h;
    int h_open;
} Study;

/* Window w of a sample: positions [start, end) go through the model together,
 * and the rows of [from, end) are stored (each with from - start or more
 * tokens of context). A sample that fits the model's window is one window. */
typedef struct {
    size_t start, end, from;
} StudyWindow;
/* The windows of a sample of len tokens (into w when not NULL); their count.
 * Strided as in perplexity evaluations: each window after the first starts
 * window - min_ctx after the one before, its first min_ctx positions only
 * context. */
size_t study_windows(const StudyModel *sm, size_t len, StudyWindow *w);
/* The tokens a sample's windows put through the model. */
size_t study_window_tokens(const StudyModel *sm, size_t len);

/* The logit lens of one model's run (run_lens.c, `lens: true`): a row per
 * row of the occurrence table, the occurrences of a sample being found from
 * its token ids alone, so the rows' places in the file are known before the
 * batches and do not depend on the ranks. */
typedef struct {
    int depths;     /* L + 1 */
    int64_t *count; /* [N] occurrences of sample i (every rank) */
    int64_t *start; /* [N + 1] the first row of sample i */
    LsLensTap tap;  /* the batch's rows with a value */
    int32_t *want;  /* [tap.n] the token each predicts */
    size_t *dst;    /* [tap.n] its row in lp / ent */
    /* the rows of the batch's samples for the file (NaN where no value) */
    float *lp, *ent; /* [n_rows, depths] */
    LsRowRange *rr;  /* one range per sample with occurrences */
    size_t n_rr, n_rows;
} StudyLens;

/* Counts the occurrences of every sample (each TP leader its group's, summed
 * over the ranks; collective). */
void study_lens_count(const Study *S, const StudyModel *sm, int depths, StudyLens *L);
/* Taps on f the rows of the samples sel[0..nsel) that have a lens value: the
 * windows w of each sample (study_windows, in order) are the sequences of the
 * batch at seq_off; an occurrence at position p is read from the window that
 * scores p. Prepares the samples' rows for the file. */
int study_lens_tap(const StudyModel *sm, StudyLens *L, LsForward *f, const size_t *sel, size_t nsel,
                   const StudyWindow *w, const int32_t *seq_off, LsError *e);
/* After the batch's forward pass: the tapped rows' values (collective over the TP group). */
int study_lens_eval(StudyLens *L, LsForward *f, LsError *e);
/* Writes the batch's rows (collective; the TP leader's, when leader), then drops them. */
int study_lens_write(LsH5 *h, const LsModelSets *s, StudyLens *L, int leader, LsError *e);
/* The occurrence table of this rank's samples (occ) must have the counted rows. */
int study_lens_check(const StudyModel *sm, const StudyLens *L, const LsShardGroup *grp,
                     const LsOccurrence *occ, size_t n_occ, LsError *e);
void study_lens_free(LsForward *f, StudyLens *L);

/* Collective: LS_OK when rc is LS_OK on every rank, else every rank gets the
 * first failing rank's message. */
int study_agree(const Study *S, int rc, LsError *e);

/* The stages (prepare.c, output.c, run_model.c, run_pairs.c, seal.c). Each returns an agreed rc. */
int study_prepare(Study *S, LsError *e);
int study_open_output(Study *S, LsStudyEnd *end, LsError *e);
int study_run_model(Study *S, StudyModel *sm, int *stopped, LsError *e);
/* The model pairs of the config (ls_pairs_resolve), each checked to give
 * every sample the same token ids with both models (prepare's last step). */
int study_pairs_prepare(Study *S, LsError *e);
/* Per pair, both models resident: the divergences into /pairs/<a>__<b>. */
int study_run_pairs(Study *S, int *stopped, LsError *e);
int study_seal(Study *S, LsError *e);
void study_free(Study *S);

/* The rank's backend for the config's device and precision, the same kind
 * on every rank (collective, agreed; device.c). */
int study_backend_open(Study *S, LsBackend **be, LsError *e);
/* What it computes on: rank 0's description, on every rank (collective). */
void study_backend_describe(const Study *S, LsBackend *be, LsDeviceInfo *out);

/* --resume of group g (kind "model" or "pair", name): LS_ERR when the device
 * kind or precision that wrote its rows differ from dev's (a file must not
 * mix them); a warning on rank 0 when only the GEMM kernels or libraries
 * (runtime) differ. Local: agree after it. */
int study_resume_device_check(const Study *S, hid_t g, const char *kind, const char *name,
                              const LsDeviceInfo *dev, LsError *e);

/* The backend (study_backend_open), NCCL for the TP all-reduces when tp > 1
 * on CUDA (*nccl_on: destroy S->d.comm after use), and its description. */
int study_backend_open_tp(Study *S, LsBackend **be, int *nccl_on, LsDeviceInfo *dev, LsError *e);

/* Whether the file holds the group at path (resume only), and whether it is
 * complete (attribute complete = 1). A group whose creation a kill
 * interrupted (no attribute created) is removed, to be made again. Every
 * rank reads the same file, so every rank gets the same answer. */
int study_probe_group(Study *S, const char *path, int *exists, int *complete, LsError *e);

/* Whether any rank was asked to stop (collective). */
int study_stop_requested(const Study *S);

#endif
