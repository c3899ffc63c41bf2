/* summary_read.c — reads /summary (written by reduce.c) back into the row
 * structs of ls/reduce.h, for `logits-study inspect`. */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "ls/reduce.h"
#include "summary_schema.h"

static char *attr_str(hid_t obj, const char *name) {
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t ft = H5Aget_type(a);
    char *out = NULL;
    if (H5Tget_class(ft) == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft));
        if (H5Tis_variable_str(ft) > 0) {
            H5Tset_size(mt, H5T_VARIABLE);
            char *v = NULL;
            if (H5Aread(a, mt, &v) >= 0 && v) {
                out = ls_strdup(v);
                H5free_memory(v);
            }
        } else {
            size_t n = H5Tget_size(ft);
            H5Tset_size(mt, n + 1);
            out = ls_calloc(n + 2, 1);
            if (H5Aread(a, mt, out) < 0) {
                free(out);
                out = NULL;
            }
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return out;
}

static int64_t attr_i64(hid_t obj, const char *name) {
    int64_t v = -1;
    if (H5Aexists(obj, name) <= 0) return v;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (H5Aread(a, H5T_NATIVE_INT64, &v) < 0) v = -1;
    H5Aclose(a);
    return v;
}

static char **split(const char *s, size_t *n) {
    *n = 0;
    size_t cap = 4;
    char **v = ls_malloc(cap * sizeof *v);
    if (!s || !*s) return v;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        if (*n == cap) v = ls_realloc(v, (cap *= 2) * sizeof *v);
        v[*n] = ls_malloc(len + 1);
        memcpy(v[*n], p, len);
        v[(*n)++][len] = '\0';
        if (!p[len]) break;
        p += len + 1;
    }
    return v;
}

static int read_table(hid_t f, const char *file, const LsTable *t, void **rows, size_t *n, LsError *e) {
    char path[64];
    snprintf(path, sizeof path, "/summary/%s", t->name);
    *rows = NULL;
    *n = 0;
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return ls_fail(e, "%s: %s is missing (run `logits-study reduce %s` first)", file, path, file);
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    hid_t sp = H5Dget_space(ds);
    hsize_t d[1] = {0};
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == 1) H5Sget_simple_extent_dims(sp, d, NULL);
    H5Sclose(sp);
    if (nd != 1) {
        H5Dclose(ds);
        return ls_fail(e, "%s: %s is not one-dimensional", file, path);
    }
    void *buf = ls_calloc(d[0] ? d[0] : 1, t->row_size);
    hid_t mt = ls_table_type(t, 0);
    herr_t st = d[0] ? H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    H5Tclose(mt);
    H5Dclose(ds);
    if (st < 0) {
        free(buf);
        return ls_fail(e, "%s: %s does not have the columns this version reads (docs/hdf5-layout.md)", file,
                       path);
    }
    *rows = buf;
    *n = (size_t)d[0];
    return LS_OK;
}

int ls_summary_read(const char *path, LsSummary *s, LsError *e) {
    memset(s, 0, sizeof *s);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return ls_fail(e, "%s: cannot open as an HDF5 file", path);
    char *models = attr_str(f, "models"), *words = attr_str(f, "target_words");
    s->models = split(models, &s->n_models);
    s->words = split(words, &s->n_words);
    free(models);
    free(words);
    int rc = read_table(f, path, &LS_TABLE_GROUPS, (void **)&s->groups, &s->n_groups, e) ||
             read_table(f, path, &LS_TABLE_CORRECT, (void **)&s->correct, &s->n_correct, e) ||
             read_table(f, path, &LS_TABLE_LEVELS, (void **)&s->levels, &s->n_levels, e) ||
             read_table(f, path, &LS_TABLE_PAIRS, (void **)&s->pairs, &s->n_pairs, e);
    /* /summary/primary: files reduced before the primary tests existed have none */
    if (!rc && H5Lexists(f, "/summary/primary", H5P_DEFAULT) > 0)
        rc = read_table(f, path, &LS_TABLE_PRIMARY, (void **)&s->primary, &s->n_primary, e);
    if (!rc && H5Lexists(f, "/summary/length_policy", H5P_DEFAULT) > 0)
        rc = read_table(f, path, &LS_TABLE_LENGTH, (void **)&s->length, &s->n_length, e);
    if (!rc) {
        hid_t g = H5Gopen2(f, "/summary", H5P_DEFAULT);
        s->bootstrap = attr_i64(g, "bootstrap");
        s->seed = attr_i64(g, "seed");
        s->n_samples = attr_i64(g, "n_samples");
        s->samples_left_out = attr_i64(g, "samples_left_out");
        s->resamples = attr_i64(g, "resamples");
        s->min_clusters = attr_i64(g, "min_clusters");
        s->length_warning = attr_i64(g, "length_policy_warning");
        H5Gclose(g);
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
    for (size_t i = 0; s->models && i < s->n_models; i++)
        free(s->models[i]);
    for (size_t i = 0; s->words && i < s->n_words; i++)
        free(s->words[i]);
    free(s->models);
    free(s->words);
    free(s->groups);
    free(s->correct);
    free(s->levels);
    free(s->pairs);
    free(s->primary);
    free(s->length);
    memset(s, 0, sizeof *s);
}
