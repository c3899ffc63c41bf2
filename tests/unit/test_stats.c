/* test_stats.c — src/stats/ against scipy.stats / numpy results in
 * tests/stats/fixtures.json (written by tests/stats/make_stats_fixtures.py),
 * plus bootstrap properties, degenerate inputs and large-n behaviour. */
#include "ls/common.h"
#include "ls/stats.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define REL_TOL 1e-9
#define ABS_TOL 1e-12

static json_t *g_fx; /* the fixture file; loaded once per test process */

static json_t *fixtures(void) {
    if (g_fx) return g_fx;
    char *path = ls_path_join(LS_TEST_DIR, "stats/fixtures.json");
    char *buf = NULL;
    size_t len = 0;
    LsError e;
    int rc = ls_read_file(path, 16u << 20, &buf, &len, &e);
    cr_assert_eq(rc, LS_OK, "%s", e.msg);
    json_error_t je;
    g_fx = json_loadb(buf, len, 0, &je);
    cr_assert_not_null(g_fx, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    free(buf);
    free(path);
    return g_fx;
}

static void free_fixtures(void) {
    json_decref(g_fx);
    g_fx = NULL;
}

TestSuite(stats, .fini = free_fixtures);

/* The cases of one test family, e.g. "welch". */
static json_t *cases(const char *family) {
    json_t *a = json_object_get(fixtures(), family);
    cr_assert(json_is_array(a) && json_array_size(a) > 0, "fixture family %s missing", family);
    return a;
}

/* A JSON array of numbers (null = NaN) as a heap double array (never NULL). */
static double *to_doubles(json_t *arr, size_t *n) {
    cr_assert(json_is_array(arr));
    *n = json_array_size(arr);
    double *v = ls_malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) {
        json_t *x = json_array_get(arr, i);
        v[i] = json_is_null(x) ? NAN : json_number_value(x);
    }
    return v;
}

/* The named dataset of fixtures.json "data". */
static double *dataset(json_t *c, const char *key, size_t *n) {
    const char *name = json_string_value(json_object_get(c, key));
    cr_assert_not_null(name, "case field %s", key);
    json_t *arr = json_object_get(json_object_get(fixtures(), "data"), name);
    cr_assert_not_null(arr, "dataset %s missing", name);
    return to_doubles(arr, n);
}

static const char *case_name(json_t *c) {
    return json_string_value(json_object_get(c, "name"));
}

/* got matches the fixture field (null -> NaN expected) within 1e-9 relative
 * or 1e-12 absolute. Returns 1 when it matches. */
static int expect_field(const char *family, json_t *c, const char *field, double got) {
    json_t *want = json_object_get(c, field);
    cr_assert_not_null(want, "%s/%s: no field %s", family, case_name(c), field);
    if (json_is_null(want)) {
        cr_expect(isnan(got), "%s/%s: %s = %.17g, want NaN", family, case_name(c), field, got);
        return isnan(got);
    }
    double w = json_number_value(want);
    double err = fabs(got - w);
    int ok = (got == w) || err <= ABS_TOL || err <= REL_TOL * fabs(w);
    cr_expect(ok, "%s/%s: %s = %.17g, want %.17g (abs err %.3g, rel %.3g)", family, case_name(c), field, got,
              w, err, w != 0 ? err / fabs(w) : err);
    return ok;
}

static void expect_reason(const char *family, json_t *c, LsStatReason got) {
    const char *want = json_string_value(json_object_get(c, "reason"));
    cr_assert_not_null(want);
    cr_expect_str_eq(ls_stats_reason_name(got), want, "%s/%s: reason", family, case_name(c));
}

static void expect_method(const char *family, json_t *c, LsStatMethod got) {
    const char *want = json_string_value(json_object_get(c, "method"));
    if (!want) return;
    cr_expect_str_eq(ls_stats_method_name(got), want, "%s/%s: method", family, case_name(c));
}

/* ---- fixture comparisons -------------------------------------------------- */

Test(stats, fixture_meta) {
    json_t *meta = json_object_get(fixtures(), "meta");
    cr_assert_not_null(json_string_value(json_object_get(meta, "scipy")),
                       "fixtures record the scipy version");
}

Test(stats, describe_matches_numpy) {
    json_t *a = cases("describe"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t n;
        double *x = dataset(c, "x", &n);
        LsStatDesc d = ls_stats_describe(x, n, 0, 1);
        cr_expect_eq(d.n, (size_t)json_integer_value(json_object_get(c, "n")));
        expect_field("describe", c, "mean", d.mean);
        expect_field("describe", c, "median", d.median);
        expect_field("describe", c, "sd", d.sd);
        expect_reason("describe", c, d.reason);
        cr_expect(isnan(d.ci_lo) && isnan(d.ci_hi), "n_boot = 0 gives no CI");
        free(x);
    }
}

/* Runs a two-sample function over one fixture family. */
static void two_sample_family(const char *family,
                              LsStatTest (*fn)(const double *, size_t, const double *, size_t), int has_p,
                              int has_df, int has_effect) {
    json_t *a = cases(family), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t na, nb;
        double *x = dataset(c, "a", &na), *y = dataset(c, "b", &nb);
        LsStatTest r = fn(x, na, y, nb);
        expect_field(family, c, "statistic", r.statistic);
        if (has_p) expect_field(family, c, "p", r.p);
        if (has_df) expect_field(family, c, "df", r.df);
        if (has_effect) expect_field(family, c, "effect", r.effect);
        expect_reason(family, c, r.reason);
        expect_method(family, c, r.method);
        if (r.reason != LS_STAT_OK)
            cr_expect(isnan(r.statistic) && isnan(r.p) && isnan(r.df) && isnan(r.effect),
                      "%s/%s: degenerate result is all NaN", family, case_name(c));
        free(x);
        free(y);
    }
}

Test(stats, welch_matches_scipy) {
    two_sample_family("welch", ls_stats_welch, 1, 1, 1);
}

Test(stats, cohen_d_matches_numpy) {
    two_sample_family("cohen_d", ls_stats_cohen_d, 0, 0, 0);
}

Test(stats, mannwhitneyu_matches_scipy) {
    two_sample_family("mannwhitneyu", ls_stats_mannwhitneyu, 1, 0, 1);
}

Test(stats, spearman_matches_scipy) {
    json_t *a = cases("spearman"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t nx, ny;
        double *x = dataset(c, "x", &nx), *y = dataset(c, "y", &ny);
        cr_assert_eq(nx, ny);
        LsStatTest r = ls_stats_spearman(x, y, nx);
        expect_field("spearman", c, "statistic", r.statistic);
        expect_field("spearman", c, "p", r.p);
        expect_field("spearman", c, "df", r.df);
        expect_reason("spearman", c, r.reason);
        free(x);
        free(y);
    }
}

Test(stats, kruskal_matches_scipy) {
    json_t *a = cases("kruskal"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        json_t *names = json_object_get(c, "groups");
        size_t k = json_array_size(names);
        double **g = ls_calloc(k, sizeof *g);
        size_t *sz = ls_calloc(k, sizeof *sz);
        for (size_t j = 0; j < k; j++) {
            json_t *arr = json_object_get(json_object_get(fixtures(), "data"),
                                          json_string_value(json_array_get(names, j)));
            g[j] = to_doubles(arr, &sz[j]);
        }
        LsStatTest r = ls_stats_kruskal((const double *const *)g, sz, k);
        expect_field("kruskal", c, "statistic", r.statistic);
        expect_field("kruskal", c, "p", r.p);
        expect_field("kruskal", c, "df", r.df);
        expect_reason("kruskal", c, r.reason);
        for (size_t j = 0; j < k; j++)
            free(g[j]);
        free(g);
        free(sz);
    }
}

Test(stats, wilcoxon_matches_scipy) {
    json_t *a = cases("wilcoxon"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t nx, ny;
        double *x = dataset(c, "x", &nx), *y = dataset(c, "y", &ny);
        cr_assert_eq(nx, ny);
        LsStatTest r = ls_stats_wilcoxon(x, y, nx);
        expect_field("wilcoxon", c, "statistic", r.statistic);
        expect_field("wilcoxon", c, "p", r.p);
        expect_field("wilcoxon", c, "df", r.df);
        expect_field("wilcoxon", c, "effect", r.effect);
        expect_reason("wilcoxon", c, r.reason);
        expect_method("wilcoxon", c, r.method);
        if (json_object_get(c, "mean_diff")) {
            LsStatDesc d = ls_stats_paired_diff(x, y, nx, 200, 7);
            expect_field("wilcoxon", c, "mean_diff", d.mean);
            expect_field("wilcoxon", c, "median_diff", d.median);
            if (nx >= 2)
                cr_expect(d.ci_lo <= d.mean && d.mean <= d.ci_hi, "%s: CI brackets mean", case_name(c));
        }
        free(x);
        free(y);
    }
}

Test(stats, bh_matches_scipy) {
    json_t *a = cases("bh"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t m, mq;
        double *p = to_doubles(json_object_get(c, "p"), &m);
        double *want = to_doubles(json_object_get(c, "q"), &mq);
        cr_assert_eq(m, mq);
        double *q = ls_malloc((m ? m : 1) * sizeof *q);
        cr_expect_eq(ls_stats_bh(p, m, q), LS_STAT_OK, "bh/%s", case_name(c));
        for (size_t j = 0; j < m; j++) {
            if (isnan(want[j])) {
                cr_expect(isnan(q[j]), "bh/%s[%zu]: want NaN", case_name(c), j);
            } else {
                double err = fabs(q[j] - want[j]);
                cr_expect(err <= ABS_TOL || err <= REL_TOL * fabs(want[j]), "bh/%s[%zu]: %.17g want %.17g",
                          case_name(c), j, q[j], want[j]);
            }
        }
        /* In place (q aliases p) gives the same. */
        cr_expect_eq(ls_stats_bh(p, m, p), LS_STAT_OK);
        for (size_t j = 0; j < m; j++)
            cr_expect(isnan(q[j]) ? isnan(p[j]) : p[j] == q[j]);
        free(p);
        free(want);
        free(q);
    }
}

/* ---- bootstrap ------------------------------------------------------------- */

Test(stats, bootstrap_deterministic_and_shrinks) {
    json_t *d = json_object_get(fixtures(), "data");
    size_t n_small, n_big;
    double *small = to_doubles(json_object_get(d, "norm40"), &n_small);
    double *big = to_doubles(json_object_get(d, "norm5000"), &n_big);

    LsStatDesc a = ls_stats_describe(small, n_small, 2000, 42);
    LsStatDesc b = ls_stats_describe(small, n_small, 2000, 42);
    LsStatDesc c = ls_stats_describe(small, n_small, 2000, 43);
    cr_assert_eq(a.reason, LS_STAT_OK);
    cr_expect(a.ci_lo == b.ci_lo && a.ci_hi == b.ci_hi, "same seed, same CI");
    cr_expect(a.ci_lo != c.ci_lo || a.ci_hi != c.ci_hi, "another seed, another CI");
    cr_expect(a.ci_lo < a.mean && a.mean < a.ci_hi, "CI [%g, %g] contains the mean %g", a.ci_lo, a.ci_hi,
              a.mean);
    /* Width ~ 2 * 1.96 sd / sqrt(n). */
    double expect_w = 2 * 1.96 * a.sd / sqrt((double)n_small);
    cr_expect(fabs((a.ci_hi - a.ci_lo) / expect_w - 1) < 0.2, "width %g vs normal theory %g",
              a.ci_hi - a.ci_lo, expect_w);

    LsStatDesc e = ls_stats_describe(big, n_big, 500, 42);
    cr_expect(e.ci_lo < e.mean && e.mean < e.ci_hi);
    cr_expect(e.ci_hi - e.ci_lo < (a.ci_hi - a.ci_lo) / 5, "CI shrinks with n: %g (n=%zu) vs %g (n=%zu)",
              e.ci_hi - e.ci_lo, n_big, a.ci_hi - a.ci_lo, n_small);

    /* Constant sample: CI is the point itself. */
    double k[5] = {3, 3, 3, 3, 3};
    LsStatDesc f = ls_stats_describe(k, 5, 100, 1);
    cr_expect(f.sd == 0 && f.ci_lo == 3 && f.ci_hi == 3);
    free(small);
    free(big);
}

/* ---- degenerate inputs and argument checks -------------------------------- */

Test(stats, reason_and_method_names) {
    const char *seen[LS_STAT_REASON_COUNT];
    for (int r = 0; r < LS_STAT_REASON_COUNT; r++) {
        seen[r] = ls_stats_reason_name((LsStatReason)r);
        cr_expect_str_neq(seen[r], "unknown");
        for (int j = 0; j < r; j++)
            cr_expect_str_neq(seen[r], seen[j]);
    }
    cr_expect_str_eq(ls_stats_reason_name(LS_STAT_OK), "ok");
    cr_expect_str_eq(ls_stats_reason_name(LS_STAT_REASON_COUNT), "unknown");
    cr_expect_str_eq(ls_stats_reason_name((LsStatReason)-1), "unknown");
    cr_expect_str_eq(ls_stats_method_name(LS_STAT_METHOD_PERMUTATION), "permutation");
}

Test(stats, bad_arguments) {
    double x[3] = {1, 2, 3};
    cr_expect_eq(ls_stats_welch(NULL, 3, x, 3).reason, LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_mannwhitneyu(x, 3, NULL, 2).reason, LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_spearman(x, NULL, 3).reason, LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_wilcoxon(NULL, x, 3).reason, LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_describe(NULL, 3, 10, 1).reason, LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_welch(NULL, 0, NULL, 0).reason, LS_STAT_TOO_FEW);
    const double *g[2] = {x, NULL};
    size_t sz[2] = {3, 2};
    cr_expect_eq(ls_stats_kruskal(g, sz, 2).reason, LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_kruskal(g, sz, 1).reason, LS_STAT_BAD_ARG);

    double p[3] = {0.1, 1.5, 0.2}, q[3] = {-7, -7, -7};
    cr_expect_eq(ls_stats_bh(p, 3, q), LS_STAT_BAD_ARG);
    cr_expect(q[0] == -7 && q[1] == -7 && q[2] == -7, "q untouched on error");
    p[1] = -0.1;
    cr_expect_eq(ls_stats_bh(p, 3, q), LS_STAT_BAD_ARG);
    cr_expect_eq(ls_stats_bh(NULL, 0, NULL), LS_STAT_OK);

    /* ±inf: NaN_INPUT for moment-based statistics, a valid value for ranks. */
    double inf3[3] = {1, INFINITY, 2};
    cr_expect_eq(ls_stats_welch(inf3, 3, x, 3).reason, LS_STAT_NAN_INPUT);
    cr_expect_eq(ls_stats_cohen_d(inf3, 3, x, 3).reason, LS_STAT_NAN_INPUT);
    cr_expect_eq(ls_stats_describe(inf3, 3, 0, 1).reason, LS_STAT_NAN_INPUT);
    LsStatTest u = ls_stats_mannwhitneyu(inf3, 3, x, 3);
    cr_expect_eq(u.reason, LS_STAT_OK);
    cr_expect(u.statistic == 5.0, "U1 = %g", u.statistic); /* scipy: 5.0, p = 1.0 */
}

Test(stats, rankdata_average) {
    /* scipy.stats.rankdata([3, 2, 1, 2, 2, 2, 1]) = [7, 4.5, 1.5, 4.5, 4.5, 4.5, 1.5] */
    double x[7] = {3, 2, 1, 2, 2, 2, 1}, r[7], tie;
    double want[7] = {7, 4.5, 1.5, 4.5, 4.5, 4.5, 1.5};
    size_t groups = ls_stats_rankdata(x, 7, r, &tie);
    for (int i = 0; i < 7; i++)
        cr_expect(r[i] == want[i], "rank[%d] = %g", i, r[i]);
    cr_expect_eq(groups, 2);
    cr_expect(tie == (8 - 2) + (64 - 4), "tie term %g", tie);
    double z[2] = {-0.0, 0.0};
    ls_stats_rankdata(z, 2, r, NULL);
    cr_expect(r[0] == 1.5 && r[1] == 1.5, "-0 and 0 tie, as in numpy");
}

/* ---- large inputs and extreme tails -------------------------------------------- */

Test(stats, extreme_tails_underflow_to_zero) {
    /* Completely separated samples: scipy gives p == 0.0 (underflow) for all of
     * these; GSL must not abort (its error handler is off for the call). */
    size_t n = 3000;
    double *a = ls_malloc(n * sizeof *a), *b = ls_malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        a[i] = (double)i;
        b[i] = 1e5 + (double)i;
    }
    const double *g[2] = {a, b};
    size_t sz[2] = {n, n};
    LsStatTest k = ls_stats_kruskal(g, sz, 2);
    cr_expect_eq(k.reason, LS_STAT_OK);
    cr_expect(k.statistic > 4000 && k.p >= 0 && k.p < 1e-300, "H = %g p = %g", k.statistic, k.p);
    LsStatTest t = ls_stats_welch(a, n, b, n);
    cr_expect(t.reason == LS_STAT_OK && t.p == 0.0, "Welch p = %g", t.p);
    LsStatTest u = ls_stats_mannwhitneyu(a, n, b, n);
    cr_expect(u.reason == LS_STAT_OK && u.p == 0.0 && u.statistic == 0 && u.effect == -1, "MWU p = %g", u.p);
    LsStatTest s = ls_stats_spearman(a, b, n);
    cr_expect(s.statistic > 1 - 1e-12 && s.p < 1e-300, "rho = %.17g p = %g", s.statistic, s.p);
    /* scipy: H = 4499.250124979168, rho = 0.9999999999999999, p = 0.0 for all four */
    cr_expect(fabs(k.statistic - 4499.250124979168) < 1e-9 * 4500);
    free(a);
    free(b);
}

Test(stats, large_inputs) {
    /* Exact MWU with a small group against a large one stays fast (O(8 * n1 n2 / 2))
     * and agrees with the normal approximation at this size; past
     * LS_STATS_MWU_EXACT_MAX entries it falls back to the asymptotic p. */
    size_t nb = 200000;
    double *b = ls_malloc(nb * sizeof *b);
    for (size_t i = 0; i < nb; i++)
        b[i] = (double)i / (double)nb;
    double a[8] = {0.1, 0.2, 0.3, 0.45, 0.55, 0.7, 0.8, 0.9}; /* U near n1 n2 / 2 */
    for (int i = 0; i < 8; i++)
        a[i] += 0.3 / (double)nb; /* no ties with b */
    LsStatTest e = ls_stats_mannwhitneyu(a, 8, b, nb);
    cr_assert_eq(e.method, LS_STAT_METHOD_EXACT);
    double U = e.statistic > 8.0 * nb / 2 ? e.statistic : 8.0 * nb - e.statistic;
    double s = sqrt(8.0 * nb * (8.0 + nb + 1) / 12.0);
    double p_norm = 2 * 0.5 * erfc((U - 4.0 * nb - 0.5) / s / sqrt(2.0));
    cr_expect(fabs(e.p - p_norm) < 0.01, "exact %g vs normal %g", e.p, p_norm);
    free(b);

    size_t nbig = ((size_t)1 << 21) + 65536; /* 8 * nbig / 2 > LS_STATS_MWU_EXACT_MAX */
    double *c = ls_malloc(nbig * sizeof *c);
    for (size_t i = 0; i < nbig; i++)
        c[i] = (double)i / (double)nbig;
    LsStatTest f = ls_stats_mannwhitneyu(a, 8, c, nbig);
    cr_expect_eq(f.method, LS_STAT_METHOD_ASYMPTOTIC);
    cr_expect(f.reason == LS_STAT_OK && f.p > 0 && f.p <= 1);

    /* Wilcoxon and Spearman on a million pairs. */
    size_t n = 1000000;
    double *y = ls_malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i] = c[i] + (double)((int)(i % 7) - 3) * 1e-3;
    LsStatTest w = ls_stats_wilcoxon(c, y, n);
    cr_expect(w.reason == LS_STAT_OK && w.method == LS_STAT_METHOD_ASYMPTOTIC && w.p >= 0 && w.p <= 1);
    LsStatTest r = ls_stats_spearman(c, y, n);
    cr_expect(r.reason == LS_STAT_OK && r.statistic > 0.99);
    free(c);
    free(y);
}

/* ---- clusters: RNG, BCa, sign flips, cluster-robust OLS (issue 15) --------- */

Test(stats, rng_matches_reference) {
    json_t *a = cases("rng"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        uint64_t key = (uint64_t)json_integer_value(json_object_get(c, "key"));
        json_t *kj = json_object_get(c, "key");
        if (json_is_real(kj)) key = (uint64_t)json_real_value(kj);
        uint64_t ctr = (uint64_t)json_integer_value(json_object_get(c, "ctr"));
        uint64_t want = strtoull(json_string_value(json_object_get(c, "r")), NULL, 10);
        uint64_t r = ls_stats_rng(key, ctr);
        cr_expect_eq(r, want, "rng case %zu: %llu vs %llu", i, (unsigned long long)r,
                     (unsigned long long)want);
        size_t n = (size_t)json_integer_value(json_object_get(c, "n"));
        cr_expect_eq(ls_stats_rng_below(r, n), (size_t)json_integer_value(json_object_get(c, "below")));
    }
}

Test(stats, bca_matches_scipy_formula) {
    json_t *a = cases("bca"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t B, nj;
        double *tb = dataset(c, "theta_b", &B), *jk = dataset(c, "jack", &nj);
        double th = json_number_value(json_object_get(c, "theta_hat"));
        LsStatInterval r = ls_stats_bca(th, tb, B, jk, nj, 0.95);
        expect_field("bca", c, "lo", r.lo);
        expect_field("bca", c, "hi", r.hi);
        expect_field("bca", c, "accel", r.accel);
        expect_reason("bca", c, r.reason);
        free(tb);
        free(jk);
    }
    double tb[3] = {1, 1, 1}, jk[3] = {1, 1, 1};
    cr_expect_eq(ls_stats_bca(1.0, tb, 3, jk, 3, 0.95).reason, LS_STAT_ALL_TIED);
    cr_expect_eq(ls_stats_bca(1.0, tb, 0, jk, 3, 0.95).reason, LS_STAT_TOO_FEW);
}

Test(stats, cluster_bca_matches_scipy) {
    json_t *a = cases("cluster_bca"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t ns, nc;
        double *sum = dataset(c, "sum", &ns), *cnt = dataset(c, "cnt", &nc);
        size_t G = (size_t)json_integer_value(json_object_get(c, "G"));
        size_t K = (size_t)json_integer_value(json_object_get(c, "K"));
        size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
        uint64_t key = (uint64_t)json_integer_value(json_object_get(c, "key"));
        cr_assert_eq(ns, G * K);
        cr_assert_eq(nc, G);
        double est[8];
        LsStatInterval ci[8];
        ls_stats_cluster_bca(sum, cnt, G, K, B, key, 0.95, est, ci);
        for (size_t k = 0; k < K; k++) {
            json_t *res = json_array_get(json_object_get(c, "results"), k);
            json_object_set_new(res, "name", json_string(case_name(c)));
            expect_field("cluster_bca", res, "est", est[k]);
            expect_field("cluster_bca", res, "lo", ci[k].lo);
            expect_field("cluster_bca", res, "hi", ci[k].hi);
            expect_field("cluster_bca", res, "accel", ci[k].accel);
        }
        free(sum);
        free(cnt);
    }
}

Test(stats, signflip_matches_scipy_permutation_test) {
    json_t *a = cases("signflip"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t G;
        double *w = dataset(c, "w", &G);
        json_t *kj = json_object_get(c, "key"), *fj = json_object_get(c, "flips");
        uint64_t key = kj ? (uint64_t)json_integer_value(kj) : 0;
        size_t B = fj ? (size_t)json_integer_value(fj) : 100;
        LsStatTest r;
        ls_stats_signflip(w, G, 1, B, key, &r);
        expect_field("signflip", c, "statistic", r.statistic);
        expect_field("signflip", c, "p", r.p);
        expect_reason("signflip", c, r.reason);
        expect_method("signflip", c, r.method);
        if (r.reason == LS_STAT_OK) cr_expect(r.p > 0, "%s: p = 0", case_name(c));
        free(w);
    }
}

Test(stats, signflip_threads_and_several_columns_agree) {
    /* K columns at once give the K single-column results; p never 0 */
    size_t G = 40, K = 3;
    double *w = ls_malloc(G * K * sizeof *w), col[40];
    for (size_t c = 0; c < G; c++)
        for (size_t k = 0; k < K; k++)
            w[c * K + k] = sin((double)(c * 7 + k * 3)) + 0.5 * (double)k;
    LsStatTest all[3], one;
    ls_stats_signflip(w, G, K, 999, 5, all);
    for (size_t k = 0; k < K; k++) {
        for (size_t c = 0; c < G; c++)
            col[c] = w[c * K + k];
        ls_stats_signflip(col, G, 1, 999, 5, &one);
        cr_expect_eq(one.p, all[k].p);
        cr_expect(all[k].p >= 1.0 / 1000.0 && all[k].method == LS_STAT_METHOD_PERMUTATION);
    }
    cr_expect_eq(all[2].p, 2.0 / 1000.0, "every flip below a large shift: p = 2/(B+1), got %g", all[2].p);
    free(w);
}

Test(stats, ols_cluster_matches_statsmodels) {
    json_t *a = cases("ols_cluster"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t nx, n, ng;
        double *X = dataset(c, "X", &nx), *y = dataset(c, "y", &n), *g = dataset(c, "g", &ng);
        size_t k = (size_t)json_integer_value(json_object_get(c, "k"));
        int64_t *id = ls_malloc(n * sizeof *id);
        size_t *cl = ls_malloc(n * sizeof *cl);
        for (size_t j = 0; j < n; j++)
            id[j] = (int64_t)g[j];
        size_t G = ls_stats_cluster_index(id, n, cl);
        double *fw = ls_malloc(G * k * sizeof *fw);
        LsStatOls r = ls_stats_ols_cluster(X, y, cl, n, k, G, fw);
        expect_reason("ols_cluster", c, r.reason);
        if (r.reason == LS_STAT_OK) {
            for (size_t j = 0; j < k; j++) {
                json_t *d = json_object();
                json_object_set_new(d, "name", json_string(case_name(c)));
                json_object_set(d, "beta", json_array_get(json_object_get(c, "beta"), j));
                json_object_set(d, "se", json_array_get(json_object_get(c, "se"), j));
                json_object_set(d, "p", json_array_get(json_object_get(c, "p"), j));
                expect_field("ols_cluster", d, "beta", r.beta[j]);
                expect_field("ols_cluster", d, "se", r.se[j]);
                expect_field("ols_cluster", d, "p", r.p[j]);
                json_t *fp = json_object_get(c, "flip_p");
                if (fp) { /* the wild cluster sign-flip of beta_j, exact enumeration */
                    double *col = ls_malloc(G * sizeof *col), sum = 0;
                    for (size_t q = 0; q < G; q++)
                        sum += col[q] = fw[q * k + j];
                    cr_expect(fabs(sum - r.beta[j]) <= 1e-9 * fmax(1.0, fabs(r.beta[j])));
                    LsStatTest t;
                    ls_stats_signflip(col, G, 1, 0, 0, &t);
                    json_object_set(d, "flip_p", json_array_get(fp, j));
                    expect_field("ols_cluster", d, "flip_p", t.p);
                    free(col);
                }
                json_decref(d);
            }
        }
        free(X);
        free(y);
        free(g);
        free(id);
        free(cl);
        free(fw);
    }
}

/* Cluster-bootstrap BCa of OLS coefficients against numpy lstsq refits on the same cluster draws and
 * scipy's _bca_interval (tests/stats/make_stats_fixtures.py), at 1 and 2 OpenMP threads. */
Test(stats, ols_cluster_bca_matches_lstsq_refits) {
    json_t *a = cases("ols_bca"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        size_t nx, ny_all, ng;
        double *X = dataset(c, "X", &nx), *Y = dataset(c, "Y", &ny_all), *g = dataset(c, "g", &ng);
        size_t k = (size_t)json_integer_value(json_object_get(c, "k"));
        size_t ny = (size_t)json_integer_value(json_object_get(c, "ny"));
        size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
        uint64_t key = (uint64_t)json_integer_value(json_object_get(c, "key"));
        size_t n = nx / k;
        cr_assert_eq(ny_all, n * ny);
        cr_assert_eq(ng, n);
        int64_t *id = malloc(n * sizeof *id);
        size_t *cl = malloc(n * sizeof *cl);
        for (size_t j = 0; j < n; j++)
            id[j] = (int64_t)g[j];
        size_t G = ls_stats_cluster_index(id, n, cl), coef[2] = {1, 2};
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            double est[4];
            LsStatInterval ci[4];
            ls_stats_ols_cluster_bca(X, Y, ny, cl, n, k, G, coef, 2, B, key, 0.95, est, ci);
            for (size_t q = 0; q < 4; q++) {
                json_t *res = json_array_get(json_object_get(c, "results"), q);
                json_object_set_new(res, "name", json_string(case_name(c)));
                expect_field("ols_bca", res, "est", est[q]);
                expect_field("ols_bca", res, "lo", ci[q].lo);
                expect_field("ols_bca", res, "hi", ci[q].hi);
                expect_field("ols_bca", res, "accel", ci[q].accel);
            }
        }
        free(X);
        free(Y);
        free(g);
        free(id);
        free(cl);
    }
}

/* Kruskal-Wallis permutation p: exact cases against scipy.stats.permutation_test, the Monte Carlo case
 * against the C code's permutations redrawn in numpy; 1 and 2 threads. */
Test(stats, kruskal_perm_matches_scipy_and_enumeration) {
    json_t *a = cases("kruskal_perm"), *c;
    size_t i;
    json_array_foreach(a, i, c) {
        json_t *names = json_object_get(c, "groups");
        size_t k = json_array_size(names), sz[8];
        double *g[8];
        for (size_t j = 0; j < k; j++)
            g[j] = to_doubles(json_object_get(json_object_get(fixtures(), "data"),
                                              json_string_value(json_array_get(names, j))),
                              &sz[j]);
        size_t B = (size_t)json_integer_value(json_object_get(c, "B"));
        uint64_t key = (uint64_t)json_integer_value(json_object_get(c, "key"));
        const char *method = json_string_value(json_object_get(c, "method"));
        for (int threads = 1; threads <= 2; threads++) {
            omp_set_num_threads(threads);
            LsStatTest r = ls_stats_kruskal_perm((const double *const *)g, sz, k, B, key);
            expect_field("kruskal_perm", c, "statistic", r.statistic);
            expect_field("kruskal_perm", c, "p", r.p);
            cr_expect_str_eq(ls_stats_method_name(r.method), method, "%s", case_name(c));
            cr_expect(r.p > 0.0);
        }
        for (size_t j = 0; j < k; j++)
            free(g[j]);
    }
}
