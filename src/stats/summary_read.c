/* summary_read.c — reads /summary (written by reduce.c) back into the row
 * structs of ls/reduce.h, for `logits-study inspect`. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "ls/h5io.h"
#include "ls/reduce.h"
#include "summary_schema.h"

static int read_table(hid_t f, const char *file, const LsTable *t, void **rows, size_t *n, LsError *e) {
    char path[64];
    snprintf(path, sizeof path, "/summary/%s", t->name);
    *rows = NULL;
    *n = 0;
    int has = 0;
    if (ls_h5_link_exists(f, path, &has, e)) return LS_ERR;
    if (!has) return ls_fail(e, "%s: %s is missing (run `logits-study reduce %s` first)", file, path, file);
    uint64_t d[1] = {0};
    hid_t ds = ls_h5_dataset_open_shape(f, path, 1, NULL, d, e);
    if (ds < 0) return LS_ERR;
    void *buf = ls_calloc(d[0] ? d[0] : 1, t->row_size);
    hid_t mt = ls_table_type(t, 0);
    int rc = ls_h5_dataset_read_all(ds, mt, buf, e);
    H5Tclose(mt);
    H5Dclose(ds);
    if (rc) {
        free(buf);
        return ls_fail_prefix(e, "%s: %s does not have the columns this version reads (docs/hdf5-layout.md)",
                              file, path);
    }
    *rows = buf;
    *n = (size_t)d[0];
    return LS_OK;
}

/* The /summary group's attributes: bootstrap settings and sample counts. */
static int read_summary_attrs(hid_t f, LsSummary *s, LsError *e) {
    hid_t g = H5I_INVALID_HID;
    if (LS_H5_CHECK(g = H5Gopen2(f, "/summary", H5P_DEFAULT), f, "/summary", e)) return LS_ERR;
    int rc = ls_h5_attr_get_i64(g, "bootstrap", &s->bootstrap, e) ||
             ls_h5_attr_get_i64(g, "seed", &s->seed, e) ||
             ls_h5_attr_get_i64(g, "n_samples", &s->n_samples, e) ||
             ls_h5_attr_get_i64(g, "samples_left_out", &s->samples_left_out, e);
    /* the primary tests' attributes (-1 in files reduced before them) */
    static const char *const opt_names[] = {"resamples", "min_clusters", "length_policy_warning"};
    int64_t *dst[] = {&s->resamples, &s->min_clusters, &s->length_warning};
    for (size_t i = 0; i < 3 && !rc; i++) {
        *dst[i] = -1;
        if (H5Aexists(g, opt_names[i]) > 0 && ls_h5_attr_get_i64(g, opt_names[i], dst[i], e)) rc = LS_ERR;
    }
    H5Gclose(g);
    return rc ? LS_ERR : LS_OK;
}

int ls_summary_read(const char *path, LsSummary *s, LsError *e) {
    memset(s, 0, sizeof *s);
    hid_t f = ls_h5_file_open(path, 0, e);
    if (f < 0) return LS_ERR;
    int rc = ls_h5_check_schema(f, path, e) ||
             ls_h5_attr_get_strs(f, "models", &s->models, &s->n_models, e) ||
             ls_h5_attr_get_strs(f, "target_words", &s->words, &s->n_words, e) ||
             read_table(f, path, &LS_TABLE_GROUPS, (void **)&s->groups, &s->n_groups, e) ||
             read_table(f, path, &LS_TABLE_CORRECT, (void **)&s->correct, &s->n_correct, e) ||
             read_table(f, path, &LS_TABLE_LEVELS, (void **)&s->levels, &s->n_levels, e) ||
             read_table(f, path, &LS_TABLE_PAIRS, (void **)&s->pairs, &s->n_pairs, e);
    /* /summary/primary, length_policy: files reduced before they existed have none */
    if (!rc && H5Lexists(f, "/summary/primary", H5P_DEFAULT) > 0)
        rc = read_table(f, path, &LS_TABLE_PRIMARY, (void **)&s->primary, &s->n_primary, e);
    if (!rc && H5Lexists(f, "/summary/length_policy", H5P_DEFAULT) > 0)
        rc = read_table(f, path, &LS_TABLE_LENGTH, (void **)&s->length, &s->n_length, e);
    if (!rc) rc = read_summary_attrs(f, s, e);
    if (!rc) {
        /* every index must point into the name lists */
        for (size_t i = 0; i < s->n_groups && !rc; i++)
            if (s->groups[i].model < 0 || (size_t)s->groups[i].model >= s->n_models ||
                s->groups[i].word < 0 || (size_t)s->groups[i].word >= s->n_words)
                rc = ls_fail(e,
                             "%s: /summary/groups[%zu] names a model or word the root attributes do not list",
                             path, i);
        for (size_t i = 0; i < s->n_correct && !rc; i++)
            if ((size_t)s->correct[i].model >= s->n_models || (size_t)s->correct[i].word >= s->n_words)
                rc = ls_fail(e, "%s: /summary/correctness[%zu]: model or word index out of range", path, i);
        for (size_t i = 0; i < s->n_levels && !rc; i++)
            if ((size_t)s->levels[i].model >= s->n_models || (size_t)s->levels[i].word >= s->n_words)
                rc = ls_fail(e, "%s: /summary/levels[%zu]: model or word index out of range", path, i);
        for (size_t i = 0; i < s->n_pairs && !rc; i++)
            if ((size_t)s->pairs[i].model_a >= s->n_models || (size_t)s->pairs[i].model_b >= s->n_models ||
                (size_t)s->pairs[i].word >= s->n_words)
                rc = ls_fail(e, "%s: /summary/model_pairs[%zu]: model or word index out of range", path, i);
        for (size_t i = 0; i < s->n_primary && !rc; i++)
            if ((size_t)s->primary[i].model_a >= s->n_models ||
                (size_t)s->primary[i].model_b >= s->n_models || (size_t)s->primary[i].word >= s->n_words)
                rc = ls_fail(e, "%s: /summary/primary[%zu]: model or word index out of range", path, i);
    }
    H5Fclose(f);
    if (rc) {
        ls_summary_free(s);
        return LS_ERR;
    }
    return LS_OK;
}

void ls_summary_free(LsSummary *s) {
    ls_h5_strs_free(s->models, s->n_models);
    ls_h5_strs_free(s->words, s->n_words);
    free(s->groups);
    free(s->correct);
    free(s->levels);
    free(s->pairs);
    free(s->primary);
    free(s->length);
    memset(s, 0, sizeof *s);
}
