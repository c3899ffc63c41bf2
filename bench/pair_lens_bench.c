/* pair_lens_bench.c — the extra cost of the cross-model outputs (ls/divergence.h)
 * and the logit lens (ls/lens.h) relative to a plain pass, in one process on
 * the same batch: two models A and B, a packed batch of nseq x len tokens.
 *   plain:  forward + head statistics of A, then of B (what a run does)
 *   pair:   ls_metrics_pair on both final hidden states (both models resident)
 *   lens:   A's plain pass with the lens tap at nocc rows + ls_lens_eval, minus
 *           A's plain pass alone
 * Rounds alternate the variants; the fastest of each is kept. Prints JSON,
 * with the head's share of a plain pass's FLOPs: the pair metrics cost about
 * two heads' worth, so their ratio to a plain pass scales with that share.
 * usage: ls-pair-lens-bench MODEL_A MODEL_B nseq len nocc threads rounds */
#include <stdio.h>
#include <stdlib.h>

#include "ls/divergence.h"
#include "ls/lens.h"
#include "ls/metrics.h"

static double best(double a, double b) {
    return a < b ? a : b;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: ls-pair-lens-bench MODEL_A MODEL_B nseq len nocc threads rounds\n");
        return 2;
    }
    int nseq = atoi(argv[3]), len = atoi(argv[4]), nocc = atoi(argv[5]), th = atoi(argv[6]);
    int rounds = atoi(argv[7]);
    LsError e = {{0}};
    LsModel m[2];
    LsForward f[2];
    LsBackend *be = ls_backend_cpu_create(th);
    size_t T = (size_t)nseq * (size_t)len;
    for (int k = 0; k < 2; k++)
        if (ls_model_open(&m[k], argv[1 + k], &e) || ls_forward_init(&f[k], &m[k], be, NULL, T, &e)) {
            fprintf(stderr, "ls-pair-lens-bench: %s\n", e.msg);
            return 1;
        }
    int32_t *ids = ls_malloc(T * sizeof(int32_t)), *off = ls_malloc((size_t)(nseq + 1) * sizeof(int32_t));
    int32_t *rows = ls_malloc((size_t)nocc * sizeof(int32_t)),
            *tok = ls_malloc((size_t)nocc * sizeof(int32_t));
    uint64_t s = 12345;
    for (size_t t = 0; t < T; t++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        ids[t] = (int32_t)((s >> 33) % (uint64_t)m[0].cfg.vocab_size);
    }
    for (int i = 0; i <= nseq; i++)
        off[i] = i * len;
    for (int i = 0; i < nocc; i++) { /* spread over the batch, as occurrences of target words are */
        rows[i] = (int32_t)(((size_t)i * T) / (size_t)nocc + 1) - 1;
        tok[i] = ids[rows[i] + 1 < (int32_t)T ? rows[i] + 1 : rows[i]];
    }
    LsPosStats st[2];
    LsPairStats ps;
    LsLensTap tap = {0};
    int depths = m[0].cfg.num_hidden_layers + 1;
    float *lp = ls_malloc((size_t)nocc * (size_t)depths * sizeof(float)),
          *ent = ls_malloc((size_t)nocc * (size_t)depths * sizeof(float));
    for (int k = 0; k < 2; k++)
        ls_posstats_alloc(&st[k], T, 5, 8);
    ls_pairstats_alloc(&ps, T);
    int32_t tg[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double plain = 1e30, pair = 1e30, plain_a = 1e30, lens_a = 1e30, lens_eval = 1e30;
    int rc = 0;
    for (int r = 0; r < rounds && !rc; r++) {
        double t0 = ls_now();
        for (int k = 0; k < 2; k++)
            rc |= ls_forward_batch(&f[k], ids, off, nseq, &e) ||
                  ls_metrics_head(&f[k], ids, off, nseq, tg, 8, 5, &st[k], &e);
        double t1 = ls_now();
        rc |= ls_metrics_pair(&f[0], &f[1], ids, off, nseq, &ps, &e);
        double t2 = ls_now();
        rc |= ls_forward_batch(&f[0], ids, off, nseq, &e) ||
              ls_metrics_head(&f[0], ids, off, nseq, tg, 8, 5, &st[0], &e);
        double t3 = ls_now();
        ls_lens_tap(&f[0], &tap, rows, nocc);
        rc |= ls_forward_batch(&f[0], ids, off, nseq, &e) ||
              ls_metrics_head(&f[0], ids, off, nseq, tg, 8, 5, &st[0], &e);
        double t_ev = ls_now();
        rc |= ls_lens_eval(&f[0], &tap, tok, lp, ent, &e);
        double t4 = ls_now();
        lens_eval = best(lens_eval, t4 - t_ev);
        ls_lens_tap_free(&f[0], &tap);
        plain = best(plain, t1 - t0);
        pair = best(pair, t2 - t1);
        plain_a = best(plain_a, t3 - t2);
        lens_a = best(lens_a, t4 - t3);
    }
    double lens = lens_a - plain_a;
    if (rc) {
        fprintf(stderr, "ls-pair-lens-bench: %s\n", e.msg);
        return 1;
    }
    printf("{\"tokens\": %zu, \"sequences\": %d, \"lens_rows\": %d, \"depths\": %d, \"threads\": %d, "
           "\"rounds\": %d, "
           "\"plain_two_models_s\": %.4f, \"pair_metrics_s\": %.4f, \"lens_extra_one_model_s\": %.4f, "
           "\"lens_eval_s\": %.4f, "
           "\"pair_vs_plain\": %.4f, \"pair_with_reforward_vs_plain\": %.4f, \"lens_vs_plain_one_model\": "
           "%.4f, \"lens_eval_vs_plain_one_model\": %.4f, \"head_flop_share\": %.4f}\n",
           T, nseq, nocc, depths, th, rounds, plain, pair, lens, lens_eval, pair / plain,
           (pair + plain) / plain, lens / plain_a, lens_eval / plain_a,
           2.0 * (double)T * m[0].cfg.hidden_size * m[0].cfg.vocab_size /
               ls_forward_flops(&m[0].cfg, off, nseq));
    return 0;
}
