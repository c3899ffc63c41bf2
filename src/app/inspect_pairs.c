/* inspect_pairs.c — the model-pair and logit-lens section of `logits-study
 * inspect` (issue 19): per pair the tokens whose log-prob moved most, the
 * word shift at occurrences, divergence near occurrences vs elsewhere by
 * level; per model the depth at which the lens settles on each word. Reads
 * /summary/pairs and /summary/lens (ls/reduce_pairs.h). */
#include "inspect_pairs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Within this many nats of the final depth's mean lens log-prob, a word is "decided". */
#define SHOW_TOKENS 20

static int in_list(const char *name, const char *const *list, int n) {
    if (n == 0) return 1;
    for (int i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return 1;
    return 0;
}

/* The token's text quoted, control characters and quotes escaped; "#id" when not decoded. */
static const char *token_cell(const LsSumTokenShift *r, char *buf, size_t n) {
    if (!r->text[0]) {
        snprintf(buf, n, "#%lld", (long long)r->token);
        return buf;
    }
    size_t k = 0;
    buf[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)r->text; *p && k + 6 < n; p++) {
        if (*p == '\n')
            k += (size_t)snprintf(buf + k, n - k, "\\n");
        else if (*p == '\t')
            k += (size_t)snprintf(buf + k, n - k, "\\t");
        else if (*p == '"' || *p == '\\')
            k += (size_t)snprintf(buf + k, n - k, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            k += (size_t)snprintf(buf + k, n - k, "\\x%02x", *p);
        else
            buf[k++] = (char)*p;
    }
    buf[k++] = '"';
    buf[k] = 0;
    return buf;
}

static const char *num(char *buf, size_t n, const char *fmt, double x) {
    if (isnan(x))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, fmt, x);
    return buf;
}

static void shift_row(const LsSumTokenShift *r) {
    char t[160], a[32], b[32], c[32];
    printf("    %-22s %8lld %6lld  %9s [%s, %s]\n", token_cell(r, t, sizeof t), (long long)r->count,
           (long long)r->nsamples, num(a, sizeof a, "%+.4f", r->mean), num(b, sizeof b, "%+.4f", r->ci_lo),
           num(c, sizeof c, "%+.4f", r->ci_hi));
}

static const LsSumPrimary *primary_row(const LsSummary *s, int64_t row) {
    return row >= 0 && (size_t)row < s->n_primary ? &s->primary[row] : NULL;
}

static void print_pair(const LsSummary *s, const LsPairSummary *p, const char *const *words, int nw) {
    const char *ma = s->models[p->a], *mb = s->models[p->b];
    char a[32], b[32], c[32], d[32];
    printf("\n-- %s -> %s  (dlogprob = log p_%s - log p_%s of the actual token; tokens with >= %lld answer "
           "positions)\n",
           ma, mb, mb, ma, (long long)p->min_count);
    size_t n = p->n_shift, up = n < SHOW_TOKENS ? n : SHOW_TOKENS;
    printf("  most up, at most %zu (%s more likely than %s)\n    %-22s %8s %6s  %9s [95%% CI]\n", up, mb, ma,
           "token", "count", "units", "mean");
    for (size_t i = 0; i < up && p->shift[i].mean > 0; i++)
        shift_row(&p->shift[i]);
    printf("  most down, at most %zu (%s less likely than %s)\n", up, mb, ma);
    for (size_t i = 0; i < up && p->shift[n - 1 - i].mean < 0; i++)
        shift_row(&p->shift[n - 1 - i]);
    if (!n) printf("    (no token with enough positions)\n");

    printf("  target words: dlogprob at aligned occurrence starts; propensity ratio b/a = the primary pair "
           "effect\n    %-10s %7s %7s  %-30s %s\n",
           "word", "occ", "samples", "mean dlogprob [95% CI]", "propensity b/a [95% CI]");
    for (size_t i = 0; i < p->n_word; i++) {
        const LsSumWordShift *r = &p->word[i];
        if (r->word < 0 || (size_t)r->word >= s->n_words || !in_list(s->words[r->word], words, nw)) continue;
        char m1[128], m2[96] = "-";
        snprintf(m1, sizeof m1, "%s [%s, %s]", num(a, sizeof a, "%+.4f", r->mean),
                 num(b, sizeof b, "%+.4f", r->ci_lo), num(c, sizeof c, "%+.4f", r->ci_hi));
        const LsSumPrimary *pm = primary_row(s, r->primary_row);
        if (pm && !pm->reason)
            snprintf(m2, sizeof m2, "x%.4g [%.4g, %.4g]", pm->ratio, pm->ratio_lo, pm->ratio_hi);
        printf("    %-10s %7lld %7lld  %-30s %s\n", s->words[r->word], (long long)r->n_occurrences,
               (long long)r->n_samples, m1, m2);
    }

    printf("  divergence near occurrences (the start and %lld positions before) vs elsewhere in the answer,\n"
           "  per sample; all correctness; Wilcoxon signed-rank over samples (descriptive)\n"
           "    %-6s %-6s %6s %10s %10s  %-34s %s\n",
           (long long)p->before, "level", "metric", "n", "near", "other", "near - other [95% CI]", "W, p");
    for (size_t i = 0; i < p->n_occ; i++) {
        const LsSumOccDiv *r = &p->occ[i];
        if (r->correct != -1) continue;
        char lv[8], m1[128];
        snprintf(lv, sizeof lv, r->level ? "%d" : "all", r->level);
        snprintf(m1, sizeof m1, "%s [%s, %s]", num(a, sizeof a, "%+.4g", r->diff_mean),
                 num(b, sizeof b, "%+.4g", r->diff_ci_lo), num(c, sizeof c, "%+.4g", r->diff_ci_hi));
        char wp[96];
        if (r->wilcoxon_reason)
            snprintf(wp, sizeof wp, "(%s)", ls_reduce_reason_name(r->wilcoxon_reason));
        else
            snprintf(wp, sizeof wp, "W = %.4g, p = %.3g (%s)", r->wilcoxon_w, r->wilcoxon_p,
                     ls_reduce_method_name(r->wilcoxon_method));
        printf("    %-6s %-6s %6lld %10s %10s  %-34s %s\n", lv, ls_pairs_metric_name(r->metric),
               (long long)r->n, num(a, sizeof a, "%.4g", r->mean_near),
               num(d, sizeof d, "%.4g", r->mean_other), m1, wp);
    }
}

void ls_inspect_pairs_text(const LsSummary *s, const LsPairsSummary *ps, const char *const *models, int nm,
                           const char *const *words, int nw) {
    if (!ps->n_pairs && !ps->n_lens) return;
    printf("\n== model pairs and the logit lens (descriptive, not in the primary family; docs/pairs.md)\n");
    for (size_t i = 0; i < ps->n_pairs; i++) {
        const LsPairSummary *p = &ps->pairs[i];
        if (in_list(s->models[p->a], models, nm) || in_list(s->models[p->b], models, nm))
            print_pair(s, p, words, nw);
    }
    for (size_t i = 0; i < ps->n_lens; i++) {
        const LsLensSummary *l = &ps->lens[i];
        if (!in_list(s->models[l->model], models, nm)) continue;
        printf(
            "\n-- logit lens of %s (%lld depths: 0 = embeddings, %lld = the model's prediction): the first "
            "depth whose mean log-prob of the word's first token is within %.0f nat of the final\n",
            s->models[l->model], (long long)l->depths, (long long)l->depths - 1, LS_LENS_SETTLE_NATS);
        for (size_t w = 0; w < s->n_words; w++) {
            if (!in_list(s->words[w], words, nw)) continue;
            int d = ls_lens_settle_depth(l->rows, l->n, (int)w);
            double first = NAN, final = NAN;
            long long nocc = 0;
            for (size_t r = 0; r < l->n; r++)
                if (l->rows[r].word == (int)w) {
                    if (l->rows[r].depth == 0)
                        first = l->rows[r].logprob_mean, nocc = l->rows[r].n_occurrences;
                    if (l->rows[r].depth == l->depths - 1) final = l->rows[r].logprob_mean;
                }
            char a[32], b[32];
            if (d < 0)
                printf("    %-10s (no lens value)\n", s->words[w]);
            else
                printf("    %-10s depth %3d of %lld   log-prob %s at depth 0, %s at the last   (%lld "
                       "occurrences)\n",
                       s->words[w], d, (long long)l->depths - 1, num(a, sizeof a, "%.3f", first),
                       num(b, sizeof b, "%.3f", final), nocc);
        }
    }
}
