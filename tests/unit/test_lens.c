/* test_lens.c — the logit lens's plumbing (ls/lens.h): the occurrence rows
 * of a packed batch found from token ids alone (the Qwen3 tokenizer), the tap
 * off by default, and a tap on a forward pass whose last depth reproduces the
 * final hidden state's statistics. The numbers themselves are checked against
 * transformers by tests/scripts/test_lens.sh. */
#include "ls/lens.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/metrics.h"
#include "ls/model.h"

#define QWEN_DIR LS_TEST_DIR "/data/qwen3-tokenizer"

static int32_t *encode(LsTokenizer *tok, const char *text, size_t *n) {
    int32_t *ids;
    LsError e = {{0}};
    cr_assert_eq(ls_tokenizer_encode(tok, text, strlen(text), 0, &ids, n, &e), LS_OK, "%s", e.msg);
    return ids;
}

Test(lens, occurrence_rows_of_a_packed_batch) {
    LsTokenizer *tok;
    LsError e = {{0}};
    cr_assert_eq(ls_tokenizer_load(&tok, QWEN_DIR, &e), LS_OK, "%s", e.msg);
    char *words[] = {"wait"};
    LsSurfaceForm sf[] = {{LS_CASE_LOWER, false},
                          {LS_CASE_LOWER, true},
                          {LS_CASE_CAPITALIZED, false},
                          {LS_CASE_CAPITALIZED, true}};
    LsTargetSet ts;
    cr_assert_eq(ls_targets_resolve(&ts, tok, words, 1, sf, 4, &e), LS_OK, "%s", e.msg);
    const char *texts[2] = {"Question: wait? Answer: 2 + 2 = 4. Wait, let me check: yes, wait no, awaits.",
                            "Q: A: Hmm. Wait. I wait."};
    const int32_t prompt_tokens[2] = {3, 3}; /* "Question: wait" is in the prompt: not counted */
    size_t n0, n1;
    int32_t *a = encode(tok, texts[0], &n0), *b = encode(tok, texts[1], &n1);
    int32_t *ids = malloc((n0 + n1) * sizeof(int32_t));
    memcpy(ids, a, n0 * sizeof(int32_t));
    memcpy(ids + n0, b, n1 * sizeof(int32_t));
    int32_t off[3] = {0, (int32_t)n0, (int32_t)(n0 + n1)};
    int64_t sid[2] = {7, 9};
    int32_t *rows, *want;
    LsOccurrence *occ;
    size_t n;
    ls_lens_occurrence_rows(&ts, tok, ids, off, 2, prompt_tokens, sid, &rows, &want, &occ, &n);
    /* answer 0: "Wait", " wait" (not "awaits"); answer 1: "Wait", " wait" */
    cr_assert_eq(n, 4, "found %zu occurrences", n);
    int per_sample[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int s = occ[i].sample == 7 ? 0 : 1;
        per_sample[s]++;
        cr_assert_eq(rows[i], off[s] + occ[i].position - 1);
        cr_assert_eq(want[i], ids[rows[i] + 1]);
        cr_assert(occ[i].aligned && isnan(occ[i].logprob) && occ[i].rank_first == 0);
        const char *t = ls_tokenizer_id_to_token(tok, want[i]);
        cr_assert(t && (strstr(t, "wait") || strstr(t, "Wait")), "token '%s'", t ? t : "(null)");
    }
    cr_assert(per_sample[0] == 2 && per_sample[1] == 2);
    free(rows), free(want), free(occ), free(ids), free(a), free(b);
    ls_targets_free(&ts);
    ls_tokenizer_free(tok);
}

Test(lens, tap_off_by_default_and_last_depth_is_the_model) {
    LsModel m;
    LsError e = {{0}};
    cr_assert_eq(ls_model_open(&m, LS_TEST_DIR "/fixtures/qwen2-tiny-untied", &e), LS_OK, "%s", e.msg);
    LsBackend *be = ls_backend_cpu_create(1);
    LsForward f;
    cr_assert_eq(ls_forward_init(&f, &m, be, NULL, 16, &e), LS_OK, "%s", e.msg);
    cr_assert_null(f.lens);
    int32_t ids[8] = {1, 5, 9, 22, 7, 3, 100, 42}, off[3] = {0, 5, 8};
    int32_t rows[3] = {0, 3, 6}, want[3] = {5, 7, 42};
    LsLensTap tap = {0};
    ls_lens_tap(&f, &tap, rows, 3);
    cr_assert_eq(f.lens, &tap);
    cr_assert_eq(tap.depths, m.cfg.num_hidden_layers + 1);
    cr_assert_eq(ls_forward_batch(&f, ids, off, 2, &e), LS_OK, "%s", e.msg);
    float lp[3 * 8], ent[3 * 8];
    cr_assert_eq(ls_lens_eval(&f, &tap, want, lp, ent, &e), LS_OK, "%s", e.msg);
    LsPosStats st;
    ls_posstats_alloc(&st, 8, 1, 0);
    cr_assert_eq(ls_metrics_head(&f, ids, off, 2, NULL, 0, 1, &st, &e), LS_OK, "%s", e.msg);
    int L = tap.depths - 1;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(lp[i * tap.depths + L], st.logprob[rows[i] + 1], "row %d", rows[i]);
        cr_assert_float_eq(ent[i * tap.depths + L], st.entropy[rows[i] + 1], 1e-6);
        for (int k = 0; k < L; k++)
            cr_assert(lp[i * tap.depths + k] <= 0 && ent[i * tap.depths + k] >= 0);
    }
    /* a row outside the next batch is refused by the forward pass */
    int32_t bad[1] = {8};
    ls_lens_tap(&f, &tap, bad, 1);
    cr_assert_eq(ls_forward_batch(&f, ids, off, 2, &e), LS_ERR);
    cr_assert(strstr(e.msg, "logit lens row 8 is outside the batch of 8 tokens"), "%s", e.msg);
    ls_lens_tap_free(&f, &tap);
    cr_assert_null(f.lens);
    cr_assert_eq(ls_forward_batch(&f, ids, off, 2, &e), LS_OK, "%s", e.msg);
    ls_posstats_free(&st);
    ls_forward_free(&f);
    be->destroy(be);
    ls_model_close(&m);
}
