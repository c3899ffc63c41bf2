/* test_tokenizer_gguf.c — tokenizers built from GGUF metadata and SentencePiece-style tokenizer.json,
 * against the ids of the tokenizer transformers builds from the same GGUF (fixtures made by
 * tests/data/tokenizer/make_gguf_tiny.py and make_gguf_refs.py); malformed vocabularies; the
 * folder / file choice of ls_tokenizer_load. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls/tokenizer.h"

#define TINY LS_TEST_DIR "/data/tokenizer/gguf-tiny"
#define REFS LS_TEST_DIR "/data/tokenizer"
#define REAL LS_TEST_DIR "/../.cache/real-models"

static LsTokenizer *load(const char *path) {
    LsTokenizer *t = NULL;
    LsError e;
    cr_assert_eq(ls_tokenizer_load(&t, path, &e), LS_OK, "load %s: %s", path, e.msg);
    return t;
}

static int ids_equal(const int32_t *ids, size_t n, const json_t *ref) {
    if (json_array_size(ref) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(ref, i)) != ids[i]) return 0;
    return 1;
}

/* Every line of a refs file ({"meta"} first, then {"text", "ids", "ids_plain", "decoded"}): encode with
 * and without special tokens, decode, byte spans. */
static void check_refs(LsTokenizer *t, const char *refs, int from_gguf) {
    FILE *f = fopen(refs, "r");
    cr_assert(f, "cannot open %s", refs);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, bad = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        json_error_t je;
        json_t *r = json_loads(line, JSON_ALLOW_NUL, &je);
        cr_assert(r, "%s:%d: %s", refs, lineno, je.text);
        json_t *meta = json_object_get(r, "meta");
        if (meta) {
            json_t *bos = json_object_get(meta, "bos"), *vs = json_object_get(meta, "vocab_size");
            /* tokenizer.json has no BOS without tokenizer_config.json; `tokenizers` counts distinct tokens,
             * ls_tokenizer_vocab_size 1 + the largest id (a respelled duplicate leaves a hole) */
            if (json_is_integer(bos) && from_gguf)
                cr_expect_eq(ls_tokenizer_bos_id(t), json_integer_value(bos), "%s: BOS", refs);
            cr_expect_geq((json_int_t)ls_tokenizer_vocab_size(t), json_integer_value(vs),
                          "%s: vocabulary size", refs);
            json_decref(r);
            continue;
        }
        json_t *text = json_object_get(r, "text");
        for (int special = 1; special >= 0; special--) {
            int32_t *ids;
            size_t n;
            LsError e;
            cr_assert_eq(ls_tokenizer_encode(t, json_string_value(text), json_string_length(text), special,
                                             &ids, &n, &e),
                         LS_OK, "%s:%d: %s", refs, lineno, e.msg);
            if (!ids_equal(ids, n, json_object_get(r, special ? "ids" : "ids_plain"))) {
                bad++;
                cr_log_error("%s:%d (special=%d): ids differ from transformers", refs, lineno, special);
            }
            if (!special) {
                char *out;
                size_t ol;
                ls_tokenizer_decode(t, ids, n, &out, &ol);
                json_t *dec = json_object_get(r, "decoded");
                if (ol != json_string_length(dec) || memcmp(out, json_string_value(dec), ol)) {
                    bad++;
                    cr_log_error("%s:%d: decode differs from transformers", refs, lineno);
                }
                free(out);
            }
            free(ids);
        }
        json_decref(r);
    }
    free(line);
    fclose(f);
    cr_assert(lineno > 400, "%s: too short", refs);
    cr_assert_eq(bad, 0, "%s: %d mismatches", refs, bad);
}

static void check_tiny(const char *name) {
    char path[512], refs[512];
    snprintf(path, sizeof path, "%s/%s.gguf", TINY, name);
    snprintf(refs, sizeof refs, "%s/refs-%s.jsonl", TINY, name);
    LsTokenizer *t = load(path);
    check_refs(t, refs, 1);
    ls_tokenizer_free(t);
}

Test(tokenizer_gguf, gpt2_qwen2) {
    check_tiny("gpt2-qwen2");
}
Test(tokenizer_gguf, gpt2_smollm) {
    check_tiny("gpt2-smollm");
}
Test(tokenizer_gguf, gpt2_llama_bpe_adds_bos) {
    check_tiny("gpt2-llama-bpe");
}
Test(tokenizer_gguf, gemma3) {
    check_tiny("gemma3");
}
Test(tokenizer_gguf, llama_metaspace) {
    check_tiny("llama");
}

/* The tokenizer.json transformers saves for the Gemma-style vocabulary: the same ids through the
 * tokenizer.json path (Replace normalizer, MergedWithPrevious split, byte fallback, piece decoders). */
Test(tokenizer_gguf, gemma_style_tokenizer_json) {
    LsTokenizer *t = load(TINY "/gemma3");
    check_refs(t, TINY "/refs-gemma3.jsonl", 0);
    /* lookups in a SentencePiece-style vocabulary: raw text ↔ ids, byte tokens */
    int32_t a = ls_tokenizer_token_to_id(t, "<0x41>", 6);
    cr_assert(a >= 0);
    size_t l;
    const uint8_t *b = ls_tokenizer_token_bytes(t, a, &l);
    cr_expect(l == 1 && b[0] == 'A');
    int32_t ids[] = {ls_tokenizer_token_to_id(t, "<0xE6>", 6)}; /* half a character → U+FFFD */
    char *out;
    size_t ol;
    ls_tokenizer_decode(t, ids, 1, &out, &ol);
    cr_expect_str_eq(out, "\xef\xbf\xbd");
    free(out);
    ls_tokenizer_free(t);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

Test(tokenizer_gguf, real_smollm2, .timeout = 300) {
    if (!exists(REAL "/SmolLM2-135M-Instruct.Q4_1.gguf"))
        cr_skip_test("no %s (scripts/fetch_real_models.sh)", REAL);
    LsTokenizer *t = load(REAL "/SmolLM2-135M-Instruct.Q4_1.gguf");
    check_refs(t, REFS "/refs-gguf-smollm2.jsonl", 1);
    cr_expect_eq(ls_tokenizer_bytes_to_id(t, " wait", 5), ls_tokenizer_token_to_id(t, "\xc4\xa0wait", 6));
    cr_expect_eq(ls_tokenizer_vocab_size(t), 49152);
    ls_tokenizer_free(t);
}

Test(tokenizer_gguf, real_gemma3, .timeout = 300) {
    if (!exists(REAL "/gemma-3-270m-q4_k_m.gguf")) cr_skip_test("no %s (scripts/fetch_real_models.sh)", REAL);
    LsTokenizer *t = load(REAL "/gemma-3-270m-q4_k_m.gguf");
    check_refs(t, REFS "/refs-gguf-gemma3.jsonl", 1);
    /* the study's target words: " wait" is the metaspace token "▁wait" */
    int32_t w = ls_tokenizer_token_to_id(t, "\xe2\x96\x81wait", 7);
    cr_expect(w >= 0);
    cr_expect_eq(ls_tokenizer_bytes_to_id(t, " wait", 5), w);
    size_t l;
    const uint8_t *b = ls_tokenizer_token_bytes(t, w, &l);
    cr_expect(l == 5 && !memcmp(b, " wait", 5));
    cr_expect_eq(ls_tokenizer_vocab_size(t), 262144);
    cr_expect_eq(ls_tokenizer_eos_id(t), 1);
    ls_tokenizer_free(t);
}

/* The same tokenizers saved by transformers as tokenizer.json (make_gguf_refs.py writes them next to
 * the GGUF files): the tokenizer.json path on the real vocabularies. */
Test(tokenizer_gguf, real_tokenizer_json, .timeout = 300) {
    static const char *names[2][2] = {{"smollm2", "refs-gguf-smollm2.jsonl"},
                                      {"gemma3", "refs-gguf-gemma3.jsonl"}};
    int ran = 0;
    for (int i = 0; i < 2; i++) {
        char dir[512], refs[512], json[600];
        snprintf(dir, sizeof dir, "%s/%s-tokenizer", REAL, names[i][0]);
        snprintf(json, sizeof json, "%s/tokenizer.json", dir);
        if (!exists(json)) continue;
        snprintf(refs, sizeof refs, "%s/%s", REFS, names[i][1]);
        LsTokenizer *t = load(dir);
        check_refs(t, refs, 0);
        ls_tokenizer_free(t);
        ran++;
    }
    if (!ran) cr_skip_test("no %s/*-tokenizer/tokenizer.json (tests/data/tokenizer/make_gguf_refs.py)", REAL);
}

/* ---- which file a folder uses ------------------------------------------------------------ */

static void copy(const char *from, const char *to) {
    char *buf;
    size_t len;
    LsError e;
    cr_assert_eq(ls_read_file(from, 1 << 26, &buf, &len, &e), LS_OK, "%s", e.msg);
    FILE *f = fopen(to, "wb");
    cr_assert(f);
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
}

static int32_t first_id(LsTokenizer *t, const char *text) {
    int32_t *ids;
    size_t n;
    LsError e;
    cr_assert_eq(ls_tokenizer_encode(t, text, strlen(text), 0, &ids, &n, &e), LS_OK);
    int32_t id = n ? ids[0] : -1;
    free(ids);
    return id;
}

Test(tokenizer_gguf, folder_prefers_tokenizer_json) {
    char dir[] = "/tmp/ls-tok-XXXXXX";
    cr_assert(mkdtemp(dir));
    char p[256], q[256];
    snprintf(p, sizeof p, "%s/model.gguf", dir);
    copy(TINY "/gpt2-qwen2.gguf", p);
    LsTokenizer *g = load(dir); /* only a GGUF: its tokenizer */
    LsTokenizer *ref = load(TINY "/gpt2-qwen2.gguf");
    cr_expect_str_eq(ls_tokenizer_sha256(g), ls_tokenizer_sha256(ref));
    ls_tokenizer_free(g);
    snprintf(q, sizeof q, "%s/tokenizer.json", dir);
    copy(TINY "/gemma3/tokenizer.json", q);
    LsTokenizer *j = load(dir), *gem = load(TINY "/gemma3"); /* both: tokenizer.json */
    cr_expect_str_eq(ls_tokenizer_sha256(j), ls_tokenizer_sha256(gem));
    cr_expect_eq(first_id(j, "hello world"), first_id(gem, "hello world"));
    ls_tokenizer_free(j);
    ls_tokenizer_free(gem);
    ls_tokenizer_free(ref);
    unlink(q);
    char r[256];
    snprintf(r, sizeof r, "%s/other.gguf", dir);
    copy(TINY "/llama.gguf", r);
    LsTokenizer *t = NULL;
    LsError e;
    cr_expect_eq(ls_tokenizer_load(&t, dir, &e), LS_ERR); /* two GGUFs, no tokenizer.json */
    cr_expect(strstr(e.msg, "several .gguf"), "%s", e.msg);
    unlink(p);
    unlink(r);
    cr_expect_eq(ls_tokenizer_load(&t, dir, &e), LS_ERR); /* nothing */
    cr_expect(strstr(e.msg, "tokenizer.json") && strstr(e.msg, "no .gguf"), "%s", e.msg);
    rmdir(dir);
}

/* ---- malformed metadata ------------------------------------------------------------------- */

static void expect_gguf_error(const char *name, const char *needle) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.gguf", TINY, name);
    LsTokenizer *t = NULL;
    LsError e;
    cr_assert_eq(ls_tokenizer_load(&t, path, &e), LS_ERR, "%s loaded", name);
    cr_expect_null(t);
    cr_expect(strstr(e.msg, path), "no file name in: %s", e.msg);
    cr_expect(strstr(e.msg, needle), "'%s' not in: %s", needle, e.msg);
}

Test(tokenizer_gguf, malformed_files) {
    expect_gguf_error("bad-scores", "tokenizer.ggml.scores has 864 entries for 867 tokens");
    expect_gguf_error("bad-type", "tokenizer.ggml.token_type[866] = 9 is not a known type");
    expect_gguf_error("bad-pre", "tokenizer.ggml.pre \"no-such-pre\" is not implemented");
    expect_gguf_error("bad-bos", "tokenizer.ggml.bos_token_id = 872 is not a token id");
    /* truncated: the GGUF reader names the offset */
    char *buf;
    size_t len;
    LsError e;
    cr_assert_eq(ls_read_file(TINY "/llama.gguf", 1 << 24, &buf, &len, &e), LS_OK);
    char path[] = "/tmp/ls-tok-trunc-XXXXXX.gguf";
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, buf, len / 3), (ssize_t)(len / 3));
    close(fd);
    free(buf);
    LsTokenizer *t = NULL;
    cr_expect_eq(ls_tokenizer_load(&t, path, &e), LS_ERR);
    cr_expect(strstr(e.msg, path) && strstr(e.msg, "byte"), "%s", e.msg);
    unlink(path);
    cr_expect_eq(ls_tokenizer_load(&t, "/nonexistent/x.gguf", &e), LS_ERR);
    cr_expect(strstr(e.msg, "/nonexistent/x.gguf"), "%s", e.msg);
}

/* A small valid vocabulary for the from_vocab checks: bytes a, b, c, "ab", "abc" with merges. */
static LsTokText TOKS[] = {{"<s>", 3}, {"a", 1}, {"b", 1}, {"c", 1}, {"ab", 2}, {"abc", 3}, {"\xc4\xa0", 2}};
static LsTokText MERGES[] = {{"a b", 3}, {"ab c", 4}};
static int64_t TYPES[] = {3, 1, 1, 1, 1, 1, 1};
static float SCORES[] = {0, -1, -2, -3, -4, -5, -6};

static LsVocab base(void) {
    LsVocab v = {.model = "gpt2",
                 .pre = "qwen2",
                 .tokens = TOKS,
                 .n_tokens = 7,
                 .types = TYPES,
                 .n_types = 7,
                 .merges = MERGES,
                 .n_merges = 2,
                 .bos_id = 0,
                 .eos_id = -1,
                 .unk_id = -1,
                 .pad_id = -1,
                 .add_bos = -1,
                 .add_eos = -1,
                 .add_space_prefix = -1};
    return v;
}

static void expect_vocab_error(LsVocab v, const char *needle) {
    LsTokenizer *t = NULL;
    LsError e;
    cr_assert_eq(ls_tokenizer_from_vocab(&t, &v, "hostile.gguf", &e), LS_ERR, "expected '%s'", needle);
    cr_expect_null(t);
    cr_expect(strstr(e.msg, "hostile.gguf"), "no name in: %s", e.msg);
    cr_expect(strstr(e.msg, needle), "'%s' not in: %s", needle, e.msg);
}

Test(tokenizer_gguf, from_vocab_valid_and_malformed) {
    LsVocab v = base();
    LsTokenizer *t;
    LsError e;
    cr_assert_eq(ls_tokenizer_from_vocab(&t, &v, "ok.gguf", &e), LS_OK, "%s", e.msg);
    cr_expect_eq(first_id(t, "abc"), 5);
    cr_expect_eq(first_id(t, "<s>abc"), 0);
    ls_tokenizer_free(t);
    /* the same through the SentencePiece builder: merges derived from the scores */
    v = base();
    v.model = "llama", v.merges = NULL, v.n_merges = 0, v.scores = SCORES, v.n_scores = 7, v.add_bos = 0;
    cr_assert_eq(ls_tokenizer_from_vocab(&t, &v, "ok.gguf", &e), LS_OK, "%s", e.msg);
    cr_expect_eq(first_id(t, "abc"), 5);
    ls_tokenizer_free(t);

    v = base(), v.model = "bert";
    expect_vocab_error(v, "tokenizer.ggml.model \"bert\" is not implemented");
    v = base(), v.model = NULL;
    expect_vocab_error(v, "tokenizer.ggml.model \"(absent)\"");
    v = base(), v.pre = "falcon";
    expect_vocab_error(v, "tokenizer.ggml.pre \"falcon\" is not implemented");
    v = base(), v.n_tokens = 0;
    expect_vocab_error(v, "tokenizer.ggml.tokens is missing or empty");
    v = base(), v.n_types = 5;
    expect_vocab_error(v, "tokenizer.ggml.token_type has 5 entries for 7 tokens");
    v = base(), v.scores = SCORES, v.n_scores = 9;
    expect_vocab_error(v, "tokenizer.ggml.scores has 9 entries for 7 tokens");
    int64_t types[7] = {3, 1, 1, 1, 1, 1, 42};
    v = base(), v.types = types;
    expect_vocab_error(v, "tokenizer.ggml.token_type[6] = 42 is not a known type");
    LsTokText bad_utf8[7];
    memcpy(bad_utf8, TOKS, sizeof TOKS);
    bad_utf8[3] = (LsTokText){"\xff", 1};
    v = base(), v.tokens = bad_utf8;
    expect_vocab_error(v, "tokenizer.ggml.tokens[3] is not valid UTF-8");
    bad_utf8[3] = (LsTokText){"c\0d", 3};
    expect_vocab_error(v, "tokenizer.ggml.tokens[3] contains a NUL byte");
    LsTokText bad_merges[] = {{"a b", 3}, {"ab  c", 5}};
    v = base(), v.merges = bad_merges;
    expect_vocab_error(v, "tokenizer.ggml.merges[1] is not two tokens separated by one space");
    LsTokText unknown_merge[] = {{"a b", 3}, {"ab q", 4}};
    v = base(), v.merges = unknown_merge;
    expect_vocab_error(v, "\"q\" is not in model.vocab");
    v = base(), v.bos_id = 7;
    expect_vocab_error(v, "tokenizer.ggml.bos_token_id = 7 is not a token id");
    v = base(), v.bos_id = -1, v.add_bos = 1;
    expect_vocab_error(v, "tokenizer.ggml.add_bos_token is set but tokenizer.ggml.bos_token_id is absent");
    v = base(), v.model = "llama", v.merges = NULL, v.n_merges = 0;
    expect_vocab_error(v, "needs tokenizer.ggml.scores");
    v = base(), v.merges = NULL, v.n_merges = 0; /* gpt2 too: transformers derives merges from scores */
    expect_vocab_error(v, "needs tokenizer.ggml.scores");
    float nan_scores[7] = {0, 0, 0, NAN, 0, 0, 0};
    v = base(), v.model = "llama", v.merges = NULL, v.n_merges = 0, v.scores = nan_scores, v.n_scores = 7;
    expect_vocab_error(v, "tokenizer.ggml.scores[3] is NaN");
}
