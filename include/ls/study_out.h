/* ls/study_out.h — the study's part of the output file (docs/hdf5-layout.md):
 * per model, a group /models/<name> with its attributes, the tables written
 * once (tokens, offsets, targets, forms) and the per-position datasets that
 * the batches fill; and the occurrence table. All calls are collective over
 * the file's communicator. */
#ifndef LS_STUDY_OUT_H
#define LS_STUDY_OUT_H

#include "ls/data.h"
#include "ls/encode.h"
#include "ls/h5out.h"
#include "ls/model.h"
#include "ls/targets.h"

/* What the file needs of one model of the run. */
typedef struct {
    const char *name, *path;      /* model name and checkpoint folder */
    const LsEncoded *enc;         /* every sample's rows; ids NULL: the caller writes `tokens` */
    const LsTargetSet *ts;        /* its target forms */
    const char *tokenizer_sha256; /* hex */
} LsStudyModel;

/* The records not run: line, why, and level and correctness (-1 when the
 * record could not be read), in any order (stored by line). */
typedef struct {
    int64_t line;
    const char *reason;
    int8_t level, is_correct;
} LsSkipRow;

/* /samples: the n_keep records run (records[keep[j]] is sample j, policy[j]
 * 0 run as is, 1 truncated, 2 scored in windows) and the n_skip records
 * skipped. The rank with root set writes the rows. */
int ls_study_write_samples(LsH5 *h, const LsRecord *records, const size_t *keep, const int8_t *policy,
                           size_t n_keep, LsSkipRow *skip, size_t n_skip, int root, LsError *e);

/* The open group and its per-position datasets. */
typedef struct {
    hid_t g, tokens, logprob, entropy, rank, topk_ids, topk_lp, target_lp, context, done;
    hid_t lens_lp, lens_ent; /* the logit lens (`lens: true`; ls_study_lens_sets) */
} LsModelSets;

/* Creates the group: attributes, the static tables (written by the rank with
 * root set) and the per-position datasets (top-k width K). */
int ls_study_create_model(LsH5 *h, const LsStudyModel *sm, const LsModel *m, int K, int root, LsModelSets *s,
                          LsError *e);
/* Opens an existing group's datasets, checking their shapes (resume). */
int ls_study_open_model(LsH5 *h, const LsStudyModel *sm, int K, LsModelSets *s, LsError *e);
void ls_study_close_model(LsModelSets *s);

/* The logit lens of group s->g: lens_logprob and lens_entropy, float32
 * [n_occ, depths], one row per row of the occurrence table, NaN until
 * written; created (create) or opened with that shape (resume). */
int ls_study_lens_sets(LsH5 *h, LsModelSets *s, uint64_t n_occ, int depths, int create, LsError *e);

/* Writes the rows of nsel samples (indices sel, ascending) of one
 * per-position dataset: sample i occupies rows [off[i], off[i+1]) of the file;
 * in src (rows of w elements of esize bytes) its rows start at src_row[j]. */
int ls_study_write_rows(LsH5 *h, hid_t ds, hid_t mt, size_t esize, size_t w, const size_t *sel, size_t nsel,
                        const int64_t *off, const size_t *src_row, const void *src, LsError *e);

/* Writes (replacing) group g's occurrence table from every rank's
 * occurrences (grouped by sample), ordered by sample over N samples. */
int ls_study_write_occurrences(LsH5 *h, hid_t g, const LsOccurrence *occ, size_t n_occ, size_t N, LsError *e);

#endif
