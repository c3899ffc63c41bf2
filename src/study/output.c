/* output.c — the study's second stage: create the output file (root
 * attributes, /samples) or open a stopped run's file to continue it, after
 * checking that it comes from the same study (config, data, world size).
 * Layout: docs/hdf5-layout.md. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ls/h5io.h"
#include "ls/version.h"
#include "study_internal.h"

static void iso_now(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The file must come from the same study at the same world size; a file
 * already complete needs nothing (*complete = 1). */
static int check_identity(Study *S, int *complete, LsError *e) {
    const LsRunConfig *c = S->cfg;
    hid_t f = S->h.file;
    char *have_eff = NULL, *have_sha = NULL, *eff = ls_runcfg_effective_json(c);
    int64_t ws = -1, tps = -1, done = 0;
    int schema_ok = ls_h5_check_schema(f, c->output, e) == LS_OK;
    int rc = !schema_ok || ls_h5_attr_get_str(f, "run_config_effective", &have_eff, e) ||
             ls_h5_attr_get_str(f, "data_sha256", &have_sha, e) ||
             ls_h5_attr_get_i64(f, "world_size", &ws, e) || ls_h5_attr_get_i64(f, "tp_size", &tps, e) ||
             ls_h5_attr_get_i64(f, "complete", &done, e);
    if (!schema_ok)
        ls_fail_prefix(e, "--resume");
    else if (rc)
        ls_fail_prefix(e, "--resume: %s is not a logits-study output file", c->output);
    else if (done == 1)
        *complete = 1;
    else if (strcmp(have_sha, S->data_sha256) != 0)
        rc = ls_fail(e,
                     "--resume: the data file %s changed since %s was written (SHA-256 differs); rerun with "
                     "--overwrite",
                     c->data, c->output);
    else if (strcmp(have_eff, eff) != 0)
        rc = ls_fail(e,
                     "--resume: the run config differs from the one %s was written with (models, data, "
                     "targets or settings); rerun with --overwrite, or resume with the same config",
                     c->output);
    else if (ws != S->d.world_size || tps != S->d.tp)
        rc = ls_fail(e,
                     "--resume: %s was written by %lld ranks with tp %lld; resume with the same world size "
                     "(mpirun -np %lld) and tp",
                     c->output, (long long)ws, (long long)tps, (long long)ws);
    free(have_eff);
    free(have_sha);
    free(eff);
    return rc;
}

static int write_root_attributes(Study *S, LsError *e) {
    const LsRunConfig *c = S->cfg;
    hid_t r = S->h.file;
    char now[64], *eff = ls_runcfg_effective_json(c);
    const char **models = ls_malloc((c->n_models ? c->n_models : 1) * sizeof *models);
    for (size_t k = 0; k < c->n_models; k++)
        models[k] = c->models[k].name;
    iso_now(now, sizeof now);
    int rc = ls_h5_attr_i64(r, "schema_version", LS_H5_SCHEMA_VERSION, e) ||
             ls_h5_attr_i64(r, "complete", 0, e) || ls_h5_attr_str(r, "tool_version", LS_VERSION, e) ||
             ls_h5_attr_str(r, "git_commit", LS_GIT_COMMIT, e) ||
             ls_h5_attr_str(r, "run_config", c->yaml_text, e) ||
             ls_h5_attr_str(r, "run_config_effective", eff, e) ||
             ls_h5_attr_str(r, "data_path", c->data, e) ||
             ls_h5_attr_str(r, "data_sha256", S->data_sha256, e) ||
             ls_h5_attr_i64(r, "world_size", S->d.world_size, e) ||
             ls_h5_attr_i64(r, "tp_size", S->d.tp, e) || ls_h5_attr_i64(r, "dp_size", S->d.dp, e) ||
             ls_h5_attr_str(r, "created", now, e) || ls_h5_attr_strs(r, "models", models, c->n_models, e) ||
             ls_h5_attr_strs(r, "target_words", (const char *const *)c->targets, c->n_targets, e) ||
             /* reduce takes these from the file, so reducing it again gives the same /summary */
             ls_h5_attr_i64(r, "bootstrap", c->bootstrap, e) || ls_h5_attr_u64(r, "seed", c->seed, e);
    free(eff);
    free(models);
    return rc;
}

/* /samples: the records run, and the skipped ones (bad, too long). */
static int write_samples(Study *S, LsError *e) {
    const LsDataset *ds = &S->ds;
    size_t n_skip = ds->n_bad + S->n_long, k = 0;
    LsSkipRow *skip = ls_malloc((n_skip + 1) * sizeof *skip);
    for (size_t b = 0; b < ds->n_bad; b++)
        skip[k++] = (LsSkipRow){(int64_t)ds->bad[b].line, ds->bad[b].reason, -1, -1};
    for (size_t i = 0; i < ds->n_records; i++) {
        const LsRecord *r = &ds->records[i];
        if (S->long_reason[i])
            skip[k++] =
                (LsSkipRow){(int64_t)r->line, S->long_reason[i], (int8_t)r->level, (int8_t)r->is_correct};
    }
    int rc =
        ls_study_write_samples(&S->h, ds->records, S->keep, S->policy, S->n_keep, skip, n_skip, S->root, e);
    free(skip);
    return rc;
}

static int create_file(Study *S, LsError *e) {
    int rc = ls_h5_create(&S->h, S->cfg->output, MPI_COMM_WORLD, e);
    S->h_open = rc == LS_OK;
    if (study_agree(S, rc, e)) return LS_ERR;
    rc = write_root_attributes(S, e);
    if (rc == LS_OK) rc = write_samples(S, e);
    if (rc == LS_OK) rc = ls_h5_flush(&S->h, e);
    return study_agree(S, rc, e);
}

static int resume_file(Study *S, LsStudyEnd *end, LsError *e) {
    const LsRunConfig *c = S->cfg;
    int rc = ls_h5_open(&S->h, c->output, MPI_COMM_WORLD, e), complete = 0;
    S->h_open = rc == LS_OK;
    if (rc) ls_fail_prefix(e, "--resume");
    if (study_agree(S, rc, e)) return LS_ERR;
    if (study_agree(S, check_identity(S, &complete, e), e)) return LS_ERR;
    MPI_Bcast(&complete, 1, MPI_INT, 0, S->d.world);
    if (complete) {
        *end = LS_STUDY_WAS_COMPLETE;
        if (S->root)
            fprintf(stderr, "logits-study run: --resume: %s is already complete; nothing to do\n", c->output);
    } else if (S->root && !c->quiet) {
        fprintf(stderr, "logits-study run: resuming %s\n", c->output);
    }
    return LS_OK;
}

int study_open_output(Study *S, LsStudyEnd *end, LsError *e) {
    const LsRunConfig *c = S->cfg;
    if (S->resume ? resume_file(S, end, e) : create_file(S, e)) return LS_ERR;
    if (S->root && !c->quiet && *end == LS_STUDY_COMPLETE)
        fprintf(stderr,
                "logits-study run: %zu samples, %zu models, %d ranks (dp %d x tp %d), %d threads per rank -> "
                "%s\n",
                S->n_keep, c->n_models, S->d.world_size, S->d.dp, S->d.tp, S->opt.threads, c->output);
    return LS_OK;
}

int study_probe_group(Study *S, const char *path, int *exists, int *complete, LsError *e) {
    LsH5 *h = &S->h;
    *complete = 0;
    *exists = 0;
    if (S->resume && ls_h5_link_exists(h->file, path, exists, e)) return LS_ERR;
    if (!*exists) return LS_OK;
    hid_t g = H5I_INVALID_HID;
    int64_t created = 0, done = 0;
    int has_created = 0, has_done = 0;
    int rc = LS_H5_CHECK(g = H5Gopen2(h->file, path, H5P_DEFAULT), h->file, path, e);
    if (rc == LS_OK) rc = ls_h5_attr_has(g, "created", &has_created, e);
    if (rc == LS_OK && has_created) rc = ls_h5_attr_get_i64(g, "created", &created, e);
    if (rc == LS_OK) rc = ls_h5_attr_has(g, "complete", &has_done, e);
    if (rc == LS_OK && has_done) rc = ls_h5_attr_get_i64(g, "complete", &done, e);
    if (g >= 0) H5Gclose(g);
    if (rc) return ls_fail_prefix(e, "--resume");
    *complete = done == 1;
    if (created) return LS_OK;
    *exists = 0; /* killed while creating it: start it over */
    return LS_H5_CHECK(H5Ldelete(h->file, path, H5P_DEFAULT), h->file, path, e);
}
