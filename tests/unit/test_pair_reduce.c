/* test_pair_reduce.c — ls/pair_reduce.h (token-shift table with cluster
 * bootstrap intervals; divergence near occurrences vs elsewhere) against
 * numpy/scipy on synthetic inputs (tests/stats/pair_reduce_fixtures.json,
 * written by tests/stats/make_pair_reduce_fixtures.py), and bad input. */
#include "ls/pair_reduce.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *load(void) {
    char *path = ls_path_join(LS_TEST_DIR, "stats/pair_reduce_fixtures.json");
    char *buf = NULL;
    size_t len = 0;
    LsError e;
    cr_assert_eq(ls_read_file(path, 16u << 20, &buf, &len, &e), LS_OK, "%s", e.msg);
    json_error_t je;
    json_t *fx = json_loadb(buf, len, 0, &je);
    cr_assert_not_null(fx, "%s: %s", path, je.text);
    free(buf);
    free(path);
    return fx;
}

static double num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_null(v) ? NAN : json_number_value(v);
}

/* arrays of a fixture object: numbers (null = NaN) as float, int32 or uint8 */
static void *array(json_t *o, const char *k, char type, size_t *n) {
    json_t *a = json_object_get(o, k);
    cr_assert(json_is_array(a), "fixture array %s missing", k);
    *n = json_array_size(a);
    size_t w = type == 'f' ? sizeof(float) : type == 'd' ? sizeof(double) : type == 'i' ? 4 : 1;
    void *v = ls_malloc((*n ? *n : 1) * w);
    for (size_t i = 0; i < *n; i++) {
        json_t *x = json_array_get(a, i);
        double d = json_is_null(x) ? NAN : json_number_value(x);
        if (type == 'f') ((float *)v)[i] = (float)d;
        if (type == 'd') ((double *)v)[i] = d;
        if (type == 'i') ((int32_t *)v)[i] = (int32_t)d;
        if (type == 'b') ((uint8_t *)v)[i] = (uint8_t)d;
    }
    return v;
}

static void close_to(double a, double b, const char *what, size_t i) {
    if (isnan(b)) {
        cr_assert(isnan(a), "%s [%zu]: %g, numpy NaN", what, i, a);
        return;
    }
    cr_assert(fabs(a - b) <= 1e-12 + 1e-10 * fabs(b), "%s [%zu]: %.17g vs numpy %.17g", what, i, a, b);
}

Test(pair_reduce, token_shift_matches_numpy) {
    json_t *fx = load(), *ts = json_object_get(fx, "token_shift");
    size_t n, n2, n3;
    int32_t *tok = array(ts, "token", 'i', &n), *smp = array(ts, "sample", 'i', &n2);
    float *dlp = array(ts, "dlp", 'f', &n3);
    cr_assert(n == n2 && n == n3);
    LsTokenShift *rows;
    size_t nr;
    LsError e = {{0}};
    cr_assert_eq(ls_token_shift(tok, dlp, smp, n, (size_t)num(ts, "nsamples"), (size_t)num(ts, "min_count"),
                                (size_t)num(ts, "n_boot"), (uint64_t)num(ts, "seed"), &rows, &nr, &e),
                 LS_OK, "%s", e.msg);
    json_t *ref = json_object_get(ts, "rows");
    cr_assert_eq(nr, json_array_size(ref));
    for (size_t r = 0; r < nr; r++) {
        json_t *o = json_array_get(ref, r);
        cr_assert_eq(rows[r].token, (int32_t)num(o, "token"), "row %zu", r);
        cr_assert_eq(rows[r].count, (size_t)num(o, "count"), "row %zu", r);
        cr_assert_eq(rows[r].nsamples, (size_t)num(o, "nsamples"), "row %zu", r);
        close_to(rows[r].mean, num(o, "mean"), "mean", r);
        close_to(rows[r].ci_lo, num(o, "ci_lo"), "ci_lo", r);
        close_to(rows[r].ci_hi, num(o, "ci_hi"), "ci_hi", r);
    }
    free(rows);
    free(tok);
    free(smp);
    free(dlp);
    json_decref(fx);
}

Test(pair_reduce, occurrence_contrast_matches_scipy) {
    json_t *fx = load(), *oc = json_object_get(fx, "occurrence");
    size_t no, T, t2, t3, ng, nn, nt;
    int32_t *off = array(oc, "seq_off", 'i', &no);
    uint8_t *ans = array(oc, "answer", 'b', &T), *occ = array(oc, "occ", 'b', &t2),
            *grp = array(oc, "in_group", 'b', &ng);
    float *div = array(oc, "div", 'f', &t3);
    double *rnear = array(oc, "near", 'd', &nn), *rother = array(oc, "other", 'd', &nt);
    int nseq = (int)no - 1;
    double *near = ls_malloc((size_t)nseq * sizeof *near), *other = ls_malloc((size_t)nseq * sizeof *other);
    ls_occurrence_means(div, ans, occ, off, nseq, (int)num(oc, "before"), near, other);
    for (int s = 0; s < nseq; s++) {
        close_to(near[s], rnear[s], "near", (size_t)s);
        close_to(other[s], rother[s], "other", (size_t)s);
    }
    LsOccContrast c = ls_occurrence_contrast(near, other, grp, (size_t)nseq, 500, 3);
    cr_assert_eq(c.n, (size_t)num(oc, "n"));
    close_to(c.mean_near, num(oc, "mean_near"), "mean_near", 0);
    close_to(c.mean_other, num(oc, "mean_other"), "mean_other", 0);
    close_to(c.diff.mean, num(oc, "mean_diff"), "mean_diff", 0);
    cr_assert(c.diff.ci_lo <= c.diff.mean && c.diff.mean <= c.diff.ci_hi);
    close_to(c.test.statistic, num(oc, "wilcoxon_statistic"), "wilcoxon statistic", 0);
    close_to(c.test.p, num(oc, "wilcoxon_p"), "wilcoxon p", 0);
    free(near), free(other), free(rnear), free(rother), free(off), free(ans), free(occ), free(grp), free(div);
    json_decref(fx);
}

Test(pair_reduce, bad_indices_and_degenerate_input) {
    int32_t tok[3] = {1, 2, 1}, smp[3] = {0, 1, 5}, neg[3] = {1, -2, 1};
    float dlp[3] = {0.5f, NAN, 1.0f};
    LsTokenShift *rows;
    size_t nr;
    LsError e = {{0}};
    cr_assert_eq(ls_token_shift(tok, dlp, smp, 3, 2, 1, 10, 1, &rows, &nr, &e), LS_ERR);
    cr_assert(strstr(e.msg, "sample 5, outside [0, 2)"), "%s", e.msg);
    smp[2] = 0;
    cr_assert_eq(ls_token_shift(neg, dlp, smp, 3, 2, 1, 10, 1, &rows, &nr, &e), LS_ERR);
    cr_assert(strstr(e.msg, "token id -2"), "%s", e.msg);
    /* token 1 in one sample only: mean without interval; token 2's only position is NaN: no row */
    cr_assert_eq(ls_token_shift(tok, dlp, smp, 3, 2, 1, 10, 1, &rows, &nr, &e), LS_OK);
    cr_assert_eq(nr, 1);
    cr_assert(rows[0].token == 1 && rows[0].count == 2 && rows[0].nsamples == 1);
    cr_assert_float_eq(rows[0].mean, 0.75, 1e-12);
    cr_assert(isnan(rows[0].ci_lo) && isnan(rows[0].ci_hi));
    free(rows);
    cr_assert_eq(ls_token_shift(tok, dlp, smp, 0, 2, 1, 10, 1, &rows, &nr, &e), LS_OK);
    cr_assert_eq(nr, 0);
    free(rows);
    /* an empty group: no samples, NaN means, a TOO_FEW test */
    double near[2] = {1.0, NAN}, other[2] = {0.5, 0.2};
    uint8_t none[2] = {0, 0};
    LsOccContrast c = ls_occurrence_contrast(near, other, none, 2, 10, 1);
    cr_assert(c.n == 0 && isnan(c.mean_near) && c.test.reason == LS_STAT_TOO_FEW);
}
