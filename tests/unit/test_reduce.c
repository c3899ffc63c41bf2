/* test_reduce.c — the reducer on tiny hand-built files: degenerate groups give
 * NaN with a reason code (never a crash or a number), bad input gives an error
 * naming the dataset. The numbers themselves are checked against scipy by
 * tests/python/test_reduce_scipy.py. */
#include "ls/common.h"
#include "ls/h5out.h"
#include "ls/reduce.h"
#include "ls/targets.h"

#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the hand-built file looks like: 3 samples of 6 tokens (answer from
 * position 2), 2 words, models "a" and "b" with the same numbers, one
 * single-token column (word 0), one occurrence of word 0 in sample 0. */
typedef struct {
    const char *omit;     /* dataset path not written */
    const char *short_ds; /* dataset path written one row short */
    int occ_sample;       /* sample index of the occurrence row */
    int not_done;         /* samples at the end with done = 0 in model b */
    int64_t schema;       /* root attribute schema_version (0: LS_H5_SCHEMA_VERSION) */
    int8_t level[3], correct[3];
} Spec;

static Spec spec_default(void) {
    Spec s = {NULL, NULL, 0, 0, 0, {1, 1, 2}, {1, 0, -1}};
    return s;
}

static void write_ds(hid_t f, const Spec *s, const char *path, hid_t type, int rank, hsize_t d0, hsize_t d1,
                     const void *buf) {
    if (s->omit && !strcmp(s->omit, path)) return;
    hsize_t dims[2] = {d0, d1};
    if (s->short_ds && !strcmp(s->short_ds, path)) dims[0]--;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t ds = H5Dcreate2(f, path, type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(ds >= 0, "creating %s", path);
    if (dims[0]) cr_assert(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0, "writing %s", path);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Pclose(lcpl);
}

typedef LsOccurrence Occ;

static char *make_file(const Spec *s) {
    char *path = ls_malloc(64);
    snprintf(path, 64, "/tmp/ls_test_reduce_%d_XXXXXX", (int)getpid());
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    static const char *const models[] = {"a", "b"}, *const words[] = {"wait", "so"};
    LsError e;
    cr_assert(!ls_h5_attr_i64(f, "schema_version", s->schema ? s->schema : LS_H5_SCHEMA_VERSION, &e) &&
                  !ls_h5_attr_strs(f, "models", models, 2, &e) &&
                  !ls_h5_attr_strs(f, "target_words", words, 2, &e) &&
                  !ls_h5_attr_i64(f, "complete", 1, &e) && !ls_h5_attr_i64(f, "bootstrap", 50, &e) &&
                  !ls_h5_attr_u64(f, "seed", 7, &e),
              "%s", e.msg);
    write_ds(f, s, "/samples/level", H5T_NATIVE_INT8, 1, 3, 0, s->level);
    write_ds(f, s, "/samples/is_correct", H5T_NATIVE_INT8, 1, 3, 0, s->correct);
    int64_t off[4] = {0, 6, 12, 18};
    int32_t start[3] = {2, 2, 2};
    float ent[18], tlp[18];
    for (int p = 0; p < 18; p++) {
        ent[p] = p % 6 ? 1.5f : NAN;
        tlp[p] = p % 6 ? logf(0.01f) : NAN; /* constant: every propensity ties */
    }
    hid_t tt = H5Tcreate(H5T_COMPOUND, sizeof(int16_t));
    H5Tinsert(tt, "word", 0, H5T_NATIVE_INT16);
    int16_t tw[1] = {0};
    hid_t ot = ls_h5_occurrence_type();
    Occ occ[1] = {{.sample = s->occ_sample,
                   .position = 3,
                   .word = 0,
                   .form = 0,
                   .n_tokens = 1,
                   .logprob = logf(0.2f),
                   .rank_first = 4,
                   .aligned = 1}};
    for (int m = 0; m < 2; m++) {
        char p[64];
        const char *name = m ? "b" : "a";
#define P(leaf) (snprintf(p, sizeof p, "/models/%s/%s", name, leaf), p)
        write_ds(f, s, P("token_offset"), H5T_NATIVE_INT64, 1, 4, 0, off);
        write_ds(f, s, P("answer_start"), H5T_NATIVE_INT32, 1, 3, 0, start);
        write_ds(f, s, P("entropy"), H5T_NATIVE_FLOAT, 1, 18, 0, ent);
        write_ds(f, s, P("target_logprob"), H5T_NATIVE_FLOAT, 2, 18, 1, tlp);
        write_ds(f, s, P("targets"), tt, 1, 1, 0, tw);
        write_ds(f, s, P("occurrences"), ot, 1, 1, 0, occ);
        uint8_t done[3] = {1, 1, 1};
        for (int i = 0; m == 1 && i < s->not_done; i++)
            done[2 - i] = 0;
        write_ds(f, s, P("done"), H5T_NATIVE_UINT8, 1, 3, 0, done);
#undef P
    }
    H5Tclose(tt);
    H5Tclose(ot);
    H5Fclose(f);
    return path;
}

static LsReduceOptions opts(void) {
    return ls_reduce_defaults(); /* bootstrap 50, seed 7: the file's root attributes */
}

/* Reduces a file built from s; returns the error message ("" on success). */
static int reduce_spec(const Spec *s, LsError *e, LsSummary *out) {
    char *path = make_file(s);
    LsReduceOptions o = opts();
    memset(e, 0, sizeof *e);
    int rc = ls_reduce_file(path, &o, e);
    if (!rc && out) cr_assert_eq(ls_summary_read(path, out, e), LS_OK, "%s", e->msg);
    unlink(path);
    free(path);
    return rc;
}

static const LsSumGroup *group_row(const LsSummary *s, int model, int word, int group) {
    for (size_t i = 0; i < s->n_groups; i++)
        if (s->groups[i].model == model && s->groups[i].word == word && s->groups[i].group == group)
            return &s->groups[i];
    cr_assert_fail("no groups row %d/%d/%d", model, word, group);
    return NULL;
}

Test(reduce, degenerate_groups_give_nan_and_reason) {
    Spec sp = spec_default();
    LsError e;
    LsSummary s;
    cr_assert_eq(reduce_spec(&sp, &e, &s), LS_OK, "%s", e.msg);
    cr_assert_eq(s.n_groups, 2 * 2 * LS_GROUP_COUNT);
    cr_assert_eq(s.n_pairs, 2);

    /* level 3: no samples */
    const LsSumGroup *g = group_row(&s, 0, 0, LS_GROUP_LEVEL1 + 2);
    cr_expect_eq(g->n_samples, 0);
    cr_expect(isnan(g->per_1k) && isnan(g->share_containing) && isnan(g->entropy_all_mean));
    cr_expect(isnan(g->prob_mean) && g->prob_reason == LS_STAT_TOO_FEW);
    cr_expect(isnan(g->propensity_sample_mean) && g->propensity_reason == LS_STAT_TOO_FEW);
    /* one occurrence in "all": mean defined, sd and CI not */
    g = group_row(&s, 0, 0, LS_GROUP_ALL);
    cr_expect_eq(g->occurrences, 1);
    cr_expect(fabs(g->prob_mean - (double)0.2f) < 1e-6);
    cr_expect(isnan(g->prob_sd) && isnan(g->prob_ci_lo) && g->prob_reason == LS_STAT_TOO_FEW);
    cr_expect(fabs(g->per_1k - 1000.0 / 12.0) < 1e-9, "1 occurrence in 12 answer tokens: %g", g->per_1k);
    /* constant propensity: mean is the constant, CI collapses to it */
    cr_expect_eq(g->propensity_reason, LS_STAT_OK);
    cr_expect(fabs(g->propensity_sample_mean - exp((double)logf(0.01f))) < 1e-12);
    cr_expect_eq(g->propensity_sample_sd, 0.0);
    /* word 1 has no single-token form */
    g = group_row(&s, 1, 1, LS_GROUP_ALL);
    cr_expect_eq(g->propensity_reason, LS_REDUCE_NO_FORMS);
    cr_expect(isnan(g->propensity_mean) && isnan(g->propensity_ci_lo));

    for (size_t i = 0; i < s.n_correct; i++) {
        const LsSumCorrect *c = &s.correct[i];
        cr_expect(isnan(c->welch_t) && isnan(c->welch_p) && isnan(c->welch_q), "row %zu: welch must be NaN",
                  i);
        cr_expect(c->welch_reason != LS_STAT_OK, "row %zu", i);
        if (c->variable == LS_VAR_PROPENSITY && c->word == 1)
            cr_expect_eq(c->welch_reason, LS_REDUCE_NO_FORMS);
        if (c->variable == LS_VAR_PROPENSITY && c->word == 0) {
            cr_expect_eq(c->welch_reason, LS_STAT_TOO_FEW, "one correct, one incorrect sample");
            cr_expect_eq(c->mwu_reason, LS_STAT_ALL_TIED, "equal propensities");
            cr_expect(isnan(c->mwu_p) && isnan(c->mwu_q));
        }
    }
    for (size_t i = 0; i < s.n_levels; i++) {
        const LsSumLevel *l = &s.levels[i];
        cr_expect(isnan(l->spearman_rho) && l->spearman_reason != LS_STAT_OK, "row %zu", i);
        cr_expect(isnan(l->kruskal_h) && l->kruskal_reason != LS_STAT_OK, "row %zu", i);
        if (l->variable == LS_VAR_PROPENSITY && l->word == 0) {
            cr_expect_eq(l->spearman_reason, LS_STAT_ALL_TIED);
            cr_expect_eq(l->kruskal_reason, LS_STAT_ALL_TIED);
            cr_expect_eq(l->n_by_level[0], 2);
            cr_expect_eq(l->n_by_level[1], 1);
        }
    }
    /* two identical models: every paired difference is zero */
    cr_expect_eq(s.pairs[0].wilcoxon_reason, LS_STAT_ALL_TIED);
    cr_expect(isnan(s.pairs[0].wilcoxon_p) && isnan(s.pairs[0].wilcoxon_q));
    cr_expect_eq(s.pairs[0].diff_mean, 0.0);
    cr_expect_eq(s.pairs[1].wilcoxon_reason, LS_REDUCE_NO_FORMS);
    ls_summary_free(&s);
}

static void expect_error(const Spec *sp, const char *needle1, const char *needle2) {
    LsError e;
    cr_expect_eq(reduce_spec(sp, &e, NULL), LS_ERR, "expected an error mentioning %s", needle1);
    cr_expect(strstr(e.msg, needle1) != NULL, "error '%s' should name '%s'", e.msg, needle1);
    if (needle2) cr_expect(strstr(e.msg, needle2) != NULL, "error '%s' should say '%s'", e.msg, needle2);
}

Test(reduce, missing_dataset_named) {
    Spec sp = spec_default();
    sp.omit = "/models/b/entropy";
    expect_error(&sp, "/models/b/entropy", "missing");
    sp.omit = "/samples/is_correct";
    expect_error(&sp, "/samples/is_correct", "missing");
    sp.omit = "/models/a/occurrences";
    expect_error(&sp, "/models/a/occurrences", "missing");
}

Test(reduce, wrong_shape_named) {
    Spec sp = spec_default();
    sp.short_ds = "/models/a/answer_start";
    expect_error(&sp, "/models/a/answer_start", "expected 3");
    sp.short_ds = "/models/b/target_logprob";
    expect_error(&sp, "/models/b/target_logprob", "expected 18");
    sp.short_ds = "/models/a/done";
    expect_error(&sp, "/models/a/done", "expected 3");
}

Test(reduce, bad_rows_named) {
    Spec sp = spec_default();
    sp.occ_sample = 7;
    expect_error(&sp, "/models/a/occurrences[0]", "out of range");
}

Test(reduce, incomplete_refused_unless_allowed) {
    Spec sp = spec_default();
    sp.not_done = 1;
    expect_error(&sp, "1 of 3 samples are not done", "--allow-incomplete");
    char *path = make_file(&sp);
    LsReduceOptions o = opts();
    o.allow_incomplete = 1;
    LsError e = {{0}};
    cr_assert_eq(ls_reduce_file(path, &o, &e), LS_OK, "%s", e.msg);
    LsSummary s;
    cr_assert_eq(ls_summary_read(path, &s, &e), LS_OK, "%s", e.msg);
    cr_expect_eq(s.samples_left_out, 1);
    cr_expect_eq(group_row(&s, 0, 0, LS_GROUP_ALL)->n_samples, 2);
    ls_summary_free(&s);
    unlink(path);
    free(path);
}

Test(reduce, not_an_hdf5_file) {
    LsError e = {{0}};
    LsReduceOptions o = opts();
    cr_expect_eq(ls_reduce_file("/nonexistent/x.h5", &o, &e), LS_ERR);
    cr_expect(strstr(e.msg, "/nonexistent/x.h5") != NULL, "%s", e.msg);
    LsSummary s;
    cr_expect_eq(ls_summary_read("/nonexistent/x.h5", &s, &e), LS_ERR);
}

Test(reduce, bootstrap_settings_from_the_file) {
    Spec sp = spec_default();
    LsError e;
    LsSummary s;
    cr_assert_eq(reduce_spec(&sp, &e, &s), LS_OK, "%s", e.msg);
    cr_expect_eq(s.bootstrap, 50);
    cr_expect_eq(s.seed, 7);
    ls_summary_free(&s);
    /* given options win */
    char *path = make_file(&sp);
    LsReduceOptions o = ls_reduce_defaults();
    o.seed = 11, o.seed_given = 1;
    cr_assert_eq(ls_reduce_file(path, &o, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_summary_read(path, &s, &e), LS_OK, "%s", e.msg);
    cr_expect_eq(s.bootstrap, 50);
    cr_expect_eq(s.seed, 11);
    ls_summary_free(&s);
    unlink(path);
    free(path);
}

Test(reduce, other_schema_refused) {
    Spec sp = spec_default();
    sp.schema = 1;
    expect_error(&sp, "schema version 1, but this build", "reads schema version 2");
    /* inspect's reader refuses it too */
    char *path = make_file(&sp);
    LsError e = {{0}};
    LsSummary s;
    int complete = 0;
    cr_expect_eq(ls_summary_read(path, &s, &e), LS_ERR);
    cr_expect(strstr(e.msg, path) && strstr(e.msg, "reads schema version 2"), "%s", e.msg);
    cr_expect_eq(ls_reduce_read_complete(path, &complete, &e), LS_ERR);
    cr_expect(strstr(e.msg, "schema version 1"), "%s", e.msg);
    unlink(path);
    free(path);
}
