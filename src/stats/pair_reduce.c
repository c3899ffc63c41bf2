/* pair_reduce.c — token-shift table and divergence at occurrences vs
 * elsewhere for a model pair (ls/pair_reduce.h). */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/pair_reduce.h"
#include "stats_internal.h"

/* One (token, sample) cell: the sum and count of the token's dlogprob in the sample. */
typedef struct {
    int32_t token, sample;
    double sum;
    size_t count;
} Cell;

typedef struct {
    int32_t token, sample;
    size_t pos;
} Key;

static int cmp_key(const void *pa, const void *pb) {
    const Key *a = pa, *b = pb;
    if (a->token != b->token) return a->token < b->token ? -1 : 1;
    if (a->sample != b->sample) return a->sample < b->sample ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int cmp_shift(const void *pa, const void *pb) {
    const LsTokenShift *a = pa, *b = pb;
    if (a->mean != b->mean) return a->mean > b->mean ? -1 : 1;
    return a->token < b->token ? -1 : a->token > b->token;
}

/* The cells in (token, sample) order, each summed in position order. */
static Cell *make_cells(const int32_t *token, const float *dlp, const int32_t *sample, size_t n,
                        size_t *ncell) {
    Key *k = ls_malloc((n ? n : 1) * sizeof *k);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(dlp[i])) k[m++] = (Key){token[i], sample[i], i};
    qsort(k, m, sizeof *k, cmp_key);
    Cell *c = ls_malloc((m ? m : 1) * sizeof *c);
    size_t nc = 0;
    for (size_t i = 0; i < m; i++) {
        if (!nc || c[nc - 1].token != k[i].token || c[nc - 1].sample != k[i].sample)
            c[nc++] = (Cell){k[i].token, k[i].sample, 0.0, 0};
        c[nc - 1].sum += (double)dlp[k[i].pos];
        c[nc - 1].count++;
    }
    free(k);
    *ncell = nc;
    return c;
}

/* Cluster-bootstrap intervals of rows [nr] whose cells start at first[r] (cells of a row are contiguous). */
static void cluster_bootstrap(const Cell *c, const size_t *first, LsTokenShift *rows, size_t nr,
                              size_t nsamples, size_t n_boot, uint64_t seed) {
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng || nsamples - 1 > gsl_rng_max(rng) - gsl_rng_min(rng)) {
        if (rng) gsl_rng_free(rng);
        return;
    }
    gsl_rng_set(rng, (unsigned long)seed);
    size_t *w = ls_malloc(nsamples * sizeof *w), *nvalid = ls_calloc(nr ? nr : 1, sizeof *nvalid);
    double *means = ls_malloc((nr ? nr : 1) * n_boot * sizeof *means);
    for (size_t b = 0; b < n_boot; b++) {
        memset(w, 0, nsamples * sizeof *w);
        for (size_t i = 0; i < nsamples; i++)
            w[gsl_rng_uniform_int(rng, (unsigned long)nsamples)]++;
        for (size_t r = 0; r < nr; r++) {
            double num = 0.0, den = 0.0;
            for (size_t j = first[r]; j < first[r] + rows[r].nsamples; j++) {
                num += (double)w[c[j].sample] * c[j].sum;
                den += (double)w[c[j].sample] * (double)c[j].count;
            }
            if (den > 0) means[r * n_boot + nvalid[r]++] = num / den;
        }
    }
    gsl_rng_free(rng);
    for (size_t r = 0; r < nr; r++)
        if (rows[r].nsamples >= 2)
            ls_stats__percentile_ci(means + r * n_boot, nvalid[r], &rows[r].ci_lo, &rows[r].ci_hi);
    free(w);
    free(nvalid);
    free(means);
}

int ls_token_shift(const int32_t *token, const float *dlp, const int32_t *sample, size_t n, size_t nsamples,
                   size_t min_count, size_t n_boot, uint64_t seed, LsTokenShift **rows, size_t *nrows,
                   LsError *e) {
    *rows = NULL;
    *nrows = 0;
    for (size_t i = 0; i < n; i++) {
        if (token[i] < 0) return ls_fail(e, "token shift: position %zu has token id %d", i, token[i]);
        if (sample[i] < 0 || (size_t)sample[i] >= nsamples)
            return ls_fail(e, "token shift: position %zu has sample %d, outside [0, %zu)", i, sample[i],
                           nsamples);
    }
    size_t nc;
    Cell *c = make_cells(token, dlp, sample, n, &nc);
    LsTokenShift *out = ls_malloc((nc ? nc : 1) * sizeof *out);
    size_t *first = ls_malloc((nc ? nc : 1) * sizeof *first), nr = 0;
    for (size_t j = 0; j < nc;) {
        LsTokenShift r = {c[j].token, 0, 0, 0.0, NAN, NAN};
        size_t j0 = j;
        double sum = 0.0;
        for (; j < nc && c[j].token == r.token; j++) {
            sum += c[j].sum;
            r.count += c[j].count;
            r.nsamples++;
        }
        if (r.count < min_count || r.count == 0) continue;
        r.mean = sum / (double)r.count;
        first[nr] = j0;
        out[nr++] = r;
    }
    if (n_boot > 0 && nsamples > 0) cluster_bootstrap(c, first, out, nr, nsamples, n_boot, seed);
    qsort(out, nr, sizeof *out, cmp_shift);
    free(first);
    free(c);
    *rows = out;
    *nrows = nr;
    return LS_OK;
}

void ls_occurrence_means(const float *div, const uint8_t *answer, const uint8_t *occ, const int32_t *seq_off,
                         int nseq, int before, double *near, double *other) {
    for (int s = 0; s < nseq; s++) {
        double sn = 0.0, so = 0.0;
        size_t cn = 0, co = 0;
        int32_t next_occ = -1; /* the nearest occurrence start at or after p, found from the end */
        for (int32_t p = seq_off[s + 1] - 1; p >= seq_off[s]; p--) {
            if (occ[p]) next_occ = p;
            if (!answer[p] || isnan(div[p])) continue;
            if (next_occ >= 0 && next_occ - p <= before) {
                sn += div[p];
                cn++;
            } else {
                so += div[p];
                co++;
            }
        }
        near[s] = cn ? sn / (double)cn : NAN;
        other[s] = co ? so / (double)co : NAN;
    }
}

LsOccContrast ls_occurrence_contrast(const double *near, const double *other, const uint8_t *in_group,
                                     size_t nseq, size_t n_boot, uint64_t seed) {
    LsOccContrast r;
    memset(&r, 0, sizeof r);
    r.mean_near = r.mean_other = NAN;
    double *x = ls_malloc((nseq ? nseq : 1) * sizeof *x), *y = ls_malloc((nseq ? nseq : 1) * sizeof *y);
    for (size_t s = 0; s < nseq; s++)
        if ((!in_group || in_group[s]) && !isnan(near[s]) && !isnan(other[s])) {
            x[r.n] = near[s];
            y[r.n++] = other[s];
        }
    if (r.n) {
        r.mean_near = ls_stats__sum(x, r.n) / (double)r.n;
        r.mean_other = ls_stats__sum(y, r.n) / (double)r.n;
    }
    r.diff = ls_stats_paired_diff(x, y, r.n, n_boot, seed);
    r.test = ls_stats_wilcoxon(x, y, r.n);
    free(x);
    free(y);
    return r;
}
