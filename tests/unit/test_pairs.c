/* test_pairs.c — the model pairs of a study (ls_pairs_resolve): the default
 * consecutive pairs (those that do not share a vocabulary left out and named),
 * configured pairs, and the refusals (different tokenizers, vocabulary sizes,
 * bad indices), each message naming the models. */
#include "ls/divergence.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define QWEN_JSON LS_TEST_DIR "/data/qwen3-tokenizer/tokenizer.json"

/* The Qwen3 tokenizer, optionally with <|endoftext|> (id 151643) renamed. */
static LsTokenizer *load(int renamed) {
    char *buf = NULL;
    size_t len = 0;
    LsError e = {{0}};
    cr_assert_eq(ls_read_file(QWEN_JSON, 64u << 20, &buf, &len, &e), LS_OK, "%s", e.msg);
    for (char *p = buf; renamed && (p = strstr(p, "<|endoftext|>")) != NULL; p++)
        memcpy(p, "<|endoftexx|>", 13); /* the special token 151643 renamed, same length */
    LsTokenizer *t = NULL;
    cr_assert_eq(ls_tokenizer_load_bytes(&t, buf, len, renamed ? "renamed" : "qwen3", &e), LS_OK, "%s",
                 e.msg);
    free(buf);
    return t;
}

Test(pairs, default_configured_and_refused) {
    LsTokenizer *q1 = load(0), *q2 = load(0), *r = load(1);
    const char *names[4] = {"base", "sft", "rl", "other"};
    const LsTokenizer *toks[4] = {q1, q2, NULL, r};
    int32_t vocab[4] = {151936, 151936, 151936, 151936};
    LsModelPair *p;
    int np;
    LsError e = {{0}};
    /* the first three: (0,1), (1,2); a missing tokenizer leaves the check to the vocabulary size */
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 3, NULL, 0, &p, &np, NULL, &e), LS_OK, "%s", e.msg);
    cr_assert(np == 2 && p[0].a == 0 && p[0].b == 1 && p[1].a == 1 && p[1].b == 2);
    free(p);
    /* all four by default: sft/rl fine, rl/other fine (rl has none), but q1 vs r differ where configured */
    LsModelPair spec[2] = {{0, 2}, {0, 3}};
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 4, spec, 1, &p, &np, NULL, &e), LS_OK, "%s", e.msg);
    cr_assert(np == 1 && p[0].a == 0 && p[0].b == 2);
    free(p);
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 4, spec, 2, &p, &np, NULL, &e), LS_ERR);
    cr_assert(strstr(e.msg,
                     "base and other do not share a tokenizer: id 151643 is '<|endoftext|>' in one and "
                     "'<|endoftexx|>'"),
              "%s", e.msg);
    cr_assert_null(p);
    /* default pairs over a model with another tokenizer: those pairs are left out, each named */
    const LsTokenizer *toks2[4] = {q1, r, q2, q1};
    LsError skipped = {{0}};
    cr_assert_eq(ls_pairs_resolve(names, toks2, vocab, 4, NULL, 0, &p, &np, &skipped, &e), LS_OK, "%s",
                 e.msg);
    cr_assert(np == 1 && p[0].a == 2 && p[0].b == 3);
    free(p);
    cr_assert(strstr(skipped.msg, "base and sft do not share a tokenizer") &&
                  strstr(skipped.msg, "; sft and rl do not share a tokenizer"),
              "%s", skipped.msg);
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 3, NULL, 0, &p, &np, &skipped, &e), LS_OK, "%s", e.msg);
    cr_assert_str_eq(skipped.msg, "");
    free(p);
    /* vocabulary sizes */
    int32_t v2[2] = {151936, 151680};
    LsModelPair first = {0, 1};
    cr_assert_eq(ls_pairs_resolve(names, toks, v2, 2, &first, 1, &p, &np, NULL, &e), LS_ERR);
    cr_assert(strstr(e.msg, "base (vocab_size 151936) and sft (vocab_size 151680) do not share a vocabulary"),
              "%s", e.msg);
    /* indices */
    LsModelPair bad[2] = {{1, 1}, {0, 5}};
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 3, bad, 1, &p, &np, NULL, &e), LS_ERR);
    cr_assert(strstr(e.msg, "pair 1: (1, 1) does not name two different models of the 3"), "%s", e.msg);
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 3, bad + 1, 1, &p, &np, NULL, &e), LS_ERR);
    /* one model: no default pairs */
    cr_assert_eq(ls_pairs_resolve(names, toks, vocab, 1, NULL, 0, &p, &np, NULL, &e), LS_OK);
    cr_assert_eq(np, 0);
    free(p);
    ls_tokenizer_free(q1);
    ls_tokenizer_free(q2);
    ls_tokenizer_free(r);
}
