/* test_tokenizer.c — the tokenizer against HF `tokenizers` reference ids (oracle fixtures made by
 * tests/data/tokenizer/make_refs.py), hostile tokenizer.json files, long inputs, lookups. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ls/tokenizer.h"

#define QWEN_DIR LS_TEST_DIR "/data/qwen3-tokenizer"
#define LLAMA_DIR LS_SHARED_DIR "/data/llama3.1-tokenizer"
#define REF_DIR LS_TEST_DIR "/data/tokenizer"

static LsTokenizer *load_dir(const char *dir) {
    LsTokenizer *t = NULL;
    LsError e;
    int rc = ls_tokenizer_load(&t, dir, &e);
    cr_assert_eq(rc, LS_OK, "load %s: %s", dir, e.msg);
    return t;
}

static json_t *load_json(const char *path) {
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert(j, "%s:%d: %s", path, je.line, je.text);
    return j;
}

/* Compares one id array with a JSON array; returns 1 when equal. */
static int ids_equal(const int32_t *ids, size_t n, const json_t *ref) {
    if (json_array_size(ref) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(ref, i)) != ids[i]) return 0;
    return 1;
}

/* Runs the whole corpus through tok and compares with refs-NAME.jsonl: encode with and without
 * special tokens, decode (round trip), and the byte lengths of the tokens. */
static void check_corpus(LsTokenizer *tok, const char *refname) {
    char path[512];
    snprintf(path, sizeof path, "%s/refs-%s.jsonl", REF_DIR, refname);
    FILE *fc = fopen(REF_DIR "/corpus.jsonl", "r"), *fr = fopen(path, "r");
    cr_assert(fc && fr, "cannot open the corpus or %s", path);
    char *lc = NULL, *lr = NULL;
    size_t cc = 0, cr = 0;
    int line = 0, bad = 0;
    while (getline(&lc, &cc, fc) > 0) {
        line++;
        cr_assert(getline(&lr, &cr, fr) > 0, "%s: missing line %d", path, line);
        json_error_t je;
        json_t *text = json_loads(lc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        json_t *ref = json_loads(lr, JSON_ALLOW_NUL, &je);
        cr_assert(text && ref, "line %d: bad fixture JSON", line);
        int32_t *ids;
        size_t n;
        LsError e;
        const char *s = json_string_value(text);
        size_t sl = json_string_length(text);
        for (int special = 1; special >= 0; special--) {
            cr_assert_eq(ls_tokenizer_encode(tok, s, sl, special, &ids, &n, &e), LS_OK, "line %d: %s", line,
                         e.msg);
            const json_t *want = json_object_get(ref, special ? "ids" : "ids_plain");
            if (!ids_equal(ids, n, want)) {
                bad++;
                cr_log_error("%s line %d (special=%d): ids differ from HF tokenizers", refname, line,
                             special);
            }
            if (!special) {
                char *out;
                size_t ol;
                ls_tokenizer_decode(tok, ids, n, &out, &ol);
                const json_t *dec = json_object_get(ref, "decoded");
                if (ol != json_string_length(dec) || memcmp(out, json_string_value(dec), ol)) {
                    bad++;
                    cr_log_error("%s line %d: decode differs from HF tokenizers", refname, line);
                }
                /* byte spans: their sum is the raw decoded length (= the text when it is valid) */
                size_t *lens = malloc((n + 1) * sizeof *lens), sum = 0;
                ls_tokenizer_byte_lens(tok, ids, n, lens);
                for (size_t i = 0; i < n; i++)
                    sum += lens[i];
                if (!memmem(out, ol, "\xef\xbf\xbd", 3)) /* else a token decoded to invalid UTF-8 */
                    cr_expect_eq(sum, ol, "%s line %d: byte spans sum %zu != %zu", refname, line, sum, ol);
                free(lens);
                free(out);
            }
            free(ids);
        }
        json_decref(text);
        json_decref(ref);
    }
    cr_assert(line > 400, "corpus too short (%d lines)", line);
    cr_assert_eq(bad, 0, "%s: %d mismatches against HF tokenizers over %d lines", refname, bad, line);
    free(lc);
    free(lr);
    fclose(fc);
    fclose(fr);
}

Test(tokenizer, qwen3_corpus_matches_hf) {
    LsTokenizer *t = load_dir(QWEN_DIR);
    check_corpus(t, "qwen3");
    ls_tokenizer_free(t);
}

/* The DeepSeek-R1-Distill-Qwen style variant: the Qwen tokenizer.json with the committed patch
 * applied (same transformation as make_refs.py deepseek_variant). */
static char *deepseek_json(size_t *len) {
    json_t *q = load_json(QWEN_DIR "/tokenizer.json");
    json_t *p = load_json(REF_DIR "/deepseek-qwen-patch.json");
    json_object_set(q, "added_tokens", json_object_get(p, "added_tokens"));
    json_object_set(q, "post_processor", json_object_get(p, "post_processor"));
    json_t *merges = json_object_get(json_object_get(q, "model"), "merges"), *m;
    size_t i;
    json_array_foreach(merges, i, m) {
        const char *a = json_string_value(json_array_get(m, 0)), *b = json_string_value(json_array_get(m, 1));
        char *s = malloc(strlen(a) + strlen(b) + 2);
        sprintf(s, "%s %s", a, b);
        json_array_set_new(merges, i, json_string(s));
        free(s);
    }
    char *out = json_dumps(q, JSON_COMPACT);
    *len = strlen(out);
    json_decref(q);
    json_decref(p);
    return out;
}

Test(tokenizer, deepseek_qwen_corpus_matches_hf) {
    size_t len;
    char *js = deepseek_json(&len);
    LsTokenizer *t;
    LsError e;
    cr_assert_eq(ls_tokenizer_load_bytes(&t, js, len, "deepseek-qwen/tokenizer.json", &e), LS_OK, "%s",
                 e.msg);
    free(js);
    check_corpus(t, "deepseek-qwen");
    /* BOS from the TemplateProcessing post-processor */
    int32_t *ids;
    size_t n;
    cr_assert_eq(ls_tokenizer_encode(t, "Hi", 2, 1, &ids, &n, &e), LS_OK);
    cr_expect(n >= 2 && ids[0] == 151646, "BOS 151646 expected first");
    free(ids);
    cr_expect_eq(ls_tokenizer_token_to_id(t, "<｜begin▁of▁sentence｜>", strlen("<｜begin▁of▁sentence｜>")),
                 151646);
    cr_expect(ls_tokenizer_is_special(t, 151646));
    cr_expect(!ls_tokenizer_is_special(t, 151648)); /* <think> */
    ls_tokenizer_free(t);
}

Test(tokenizer, llama31_corpus_matches_hf) {
    struct stat st;
    if (stat(LLAMA_DIR "/tokenizer.json", &st) != 0)
        cr_skip_test("Llama-3.1 tokenizer absent (%s): its licence keeps it out of the project", LLAMA_DIR);
    LsTokenizer *t = load_dir(LLAMA_DIR);
    check_corpus(t, "llama3.1");
    cr_expect_eq(ls_tokenizer_bos_id(t), 128000);
    ls_tokenizer_free(t);
}

Test(tokenizer, lookups_and_config) {
    LsTokenizer *t = load_dir(QWEN_DIR);
    int32_t wait = ls_tokenizer_token_to_id(t, "Ġwait", strlen("Ġwait"));
    cr_assert(wait >= 0);
    cr_expect_eq(ls_tokenizer_bytes_to_id(t, " wait", 5), wait);
    cr_expect_str_eq(ls_tokenizer_id_to_token(t, wait), "Ġwait");
    size_t l;
    const uint8_t *b = ls_tokenizer_token_bytes(t, wait, &l);
    cr_expect(l == 5 && !memcmp(b, " wait", 5));
    cr_expect_eq(ls_tokenizer_token_to_id(t, "<|im_end|>", 10), 151645);
    cr_expect_eq(ls_tokenizer_eos_id(t), 151645); /* tokenizer_config.json eos_token */
    cr_expect_eq(ls_tokenizer_bos_id(t), -1);     /* bos_token null */
    cr_expect(ls_tokenizer_is_special(t, 151643));
    cr_expect(!ls_tokenizer_is_special(t, 151667)); /* <think> is not special in Qwen3 */
    cr_expect_eq(ls_tokenizer_vocab_size(t), 151669);
    cr_expect_null(ls_tokenizer_id_to_token(t, 200000));
    cr_expect_null(ls_tokenizer_token_bytes(t, -1, &l));
    cr_expect_eq(ls_tokenizer_token_to_id(t, "no such token", 13), -1);
    cr_expect_eq(strlen(ls_tokenizer_sha256(t)), 64);
    cr_expect_str_eq(ls_tokenizer_sha256(t),
                     "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4");
    /* unknown ids are skipped when decoding, as in tokenizers */
    int32_t ids[] = {9707, -5, 99999999, 1879};
    char *out;
    size_t ol;
    ls_tokenizer_decode(t, ids, 4, &out, &ol);
    cr_expect_str_eq(out, "Hello world");
    free(out);
    /* a token that ends inside a UTF-8 character decodes to U+FFFD */
    int32_t half[] = {ls_tokenizer_bytes_to_id(t, "\xe6", 1)}; /* first byte of a CJK character */
    cr_assert(half[0] >= 0);
    ls_tokenizer_decode(t, half, 1, &out, &ol);
    cr_expect(ol >= 3 && strstr(out, "\xef\xbf\xbd"), "expected U+FFFD");
    free(out);
    ls_tokenizer_free(t);
}

Test(tokenizer, invalid_utf8_is_an_error) {
    LsTokenizer *t = load_dir(QWEN_DIR);
    int32_t *ids;
    size_t n;
    LsError e;
    cr_expect_eq(ls_tokenizer_encode(t, "ab\xff", 3, 0, &ids, &n, &e), LS_ERR);
    cr_expect(strstr(e.msg, "invalid UTF-8") && strstr(e.msg, "offset 2"), "%s", e.msg);
    cr_expect_eq(ls_tokenizer_encode(t, "\xe2\x82", 2, 0, &ids, &n, &e), LS_ERR);
    cr_expect_eq(ls_tokenizer_encode(t, "", 0, 0, &ids, &n, &e), LS_OK);
    cr_expect_eq(n, 0);
    free(ids);
    ls_tokenizer_free(t);
}

/* Linear-ish behaviour: 1 MB of one character, 1 MB of spaces, a 100 kB word without spaces. */
Test(tokenizer, long_inputs, .timeout = 120) {
    LsTokenizer *t = load_dir(QWEN_DIR);
    size_t big = 1 << 20;
    char *s = malloc(big + 1);
    const char fills[] = {'a', ' ', '1', '!', '\n'};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(s, fills[f], big);
        double t0 = ls_now();
        int32_t *ids;
        size_t n;
        LsError e;
        cr_assert_eq(ls_tokenizer_encode(t, s, big, 0, &ids, &n, &e), LS_OK, "%s", e.msg);
        double dt = ls_now() - t0;
        cr_expect(dt < 20.0, "1 MB of '%c' took %.1f s", fills[f], dt);
        char *out;
        size_t ol;
        ls_tokenizer_decode(t, ids, n, &out, &ol);
        cr_expect(ol == big && !memcmp(out, s, big), "round trip of 1 MB of '%c'", fills[f]);
        free(out);
        free(ids);
    }
    /* 100 kB word of pseudo-random letters */
    uint32_t x = 12345;
    for (size_t i = 0; i < 100000; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = (char)('a' + (x >> 16) % 26);
    }
    int32_t *ids;
    size_t n;
    LsError e;
    double t0 = ls_now();
    cr_assert_eq(ls_tokenizer_encode(t, s, 100000, 0, &ids, &n, &e), LS_OK);
    cr_expect(ls_now() - t0 < 20.0);
    char *out;
    size_t ol;
    ls_tokenizer_decode(t, ids, n, &out, &ol);
    cr_expect(ol == 100000 && !memcmp(out, s, 100000));
    free(out);
    free(ids);
    free(s);
    ls_tokenizer_free(t);
}

Test(tokenizer, sha256_vectors) {
    uint8_t h[32];
    ls_sha256("abc", 3, h);
    cr_expect_eq(h[0], 0xba);
    cr_expect_eq(h[31], 0xad);
    ls_sha256("", 0, h);
    cr_expect_eq(h[0], 0xe3);
    cr_expect_eq(h[31], 0x55);
    char m[56 + 1] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ls_sha256(m, 56, h); /* two-block padding */
    cr_expect_eq(h[0], 0x24);
    cr_expect_eq(h[31], 0xc1);
}

/* ---- hostile tokenizer.json ---------------------------------------------------------- */

/* A small valid byte-level tokenizer: the 256 byte tokens, "ab" and "abc" with two merges. */
static json_t *tiny(void) {
    json_t *vocab = json_object();
    int id = 0;
    for (int b = 0; b < 256; b++) {
        /* GPT-2 byte alphabet */
        int cp = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174) ? b : -1;
        if (cp < 0) {
            int k = 0;
            for (int c = 0; c < b; c++)
                if (!((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174))) k++;
            cp = 256 + k;
        }
        char u[4] = {0};
        if (cp < 0x80)
            u[0] = (char)cp;
        else {
            u[0] = (char)(0xc0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3f));
        }
        json_object_set_new(vocab, u, json_integer(id++));
    }
    json_object_set_new(vocab, "ab", json_integer(id++));
    json_object_set_new(vocab, "abc", json_integer(id++));
    json_t *root =
        json_pack("{s:s, s:n, s:n, s:[{s:i, s:s, s:b, s:b, s:b, s:b, s:b}], s:{s:s}, "
                  "s:{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, {s:s, s:b, s:b, s:b}]}, s:{s:s}, s:{s:s}, "
                  "s:{s:s, s:o, s:[s, [s, s]], s:n, s:b, s:b}}",
                  "version", "1.0", "truncation", "padding", "added_tokens", "id", 258, "content", "<|x|>",
                  "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1, "normalizer",
                  "type", "NFC", "pre_tokenizer", "type", "Sequence", "pretokenizers", "type", "Split",
                  "pattern", "Regex", "\\p{L}+|\\s+|\\p{N}", "behavior", "Isolated", "invert", 0, "type",
                  "ByteLevel", "add_prefix_space", 0, "trim_offsets", 0, "use_regex", 0, "post_processor",
                  "type", "ByteLevel", "decoder", "type", "ByteLevel", "model", "type", "BPE", "vocab", vocab,
                  "merges", "a b", "ab", "c", "unk_token", "fuse_unk", 0, "byte_fallback", 0);
    cr_assert(root, "json_pack failed");
    return root;
}

/* Loads root (stolen) and expects an error whose message contains every needle. */
static void expect_error(json_t *root, const char *n1, const char *n2) {
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    LsTokenizer *t = NULL;
    LsError e;
    int rc = ls_tokenizer_load_bytes(&t, s, strlen(s), "hostile/tokenizer.json", &e);
    free(s);
    cr_assert_eq(rc, LS_ERR, "expected an error mentioning '%s'", n1);
    cr_expect_null(t);
    cr_expect(strstr(e.msg, "hostile/tokenizer.json"), "no file name in: %s", e.msg);
    cr_expect(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_expect(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
}

static json_t *model(json_t *r) {
    return json_object_get(r, "model");
}

Test(tokenizer, tiny_valid_tokenizer_works) {
    json_t *r = tiny();
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    LsTokenizer *t;
    LsError e;
    cr_assert_eq(ls_tokenizer_load_bytes(&t, s, strlen(s), "tiny", &e), LS_OK, "%s", e.msg);
    free(s);
    int32_t *ids;
    size_t n;
    cr_assert_eq(ls_tokenizer_encode(t, "abc ab<|x|>", 11, 1, &ids, &n, &e), LS_OK);
    cr_assert_eq(n, 4);
    cr_expect_eq(ids[0], 257); /* abc */
    cr_expect_eq(ids[1], ls_tokenizer_bytes_to_id(t, " ", 1));
    cr_expect_eq(ids[2], 256); /* ab */
    cr_expect_eq(ids[3], 258); /* <|x|> */
    free(ids);
    ls_tokenizer_free(t);
}

Test(tokenizer, hostile_json) {
    json_t *r;
    /* not JSON / not an object */
    {
        LsTokenizer *t;
        LsError e;
        cr_expect_eq(ls_tokenizer_load_bytes(&t, "{\"model\": ", 10, "trunc.json", &e), LS_ERR);
        cr_expect(strstr(e.msg, "trunc.json:1:") && strstr(e.msg, "invalid JSON"), "%s", e.msg);
        cr_expect_eq(ls_tokenizer_load_bytes(&t, "[]", 2, "arr.json", &e), LS_ERR);
        cr_expect(strstr(e.msg, "must be an object"), "%s", e.msg);
        cr_expect_eq(ls_tokenizer_load_file(&t, "/nonexistent/tokenizer.json", &e), LS_ERR);
        cr_expect_eq(ls_tokenizer_load(&t, "/nonexistent", &e), LS_ERR);
        cr_expect(strstr(e.msg, "/nonexistent/tokenizer.json"), "%s", e.msg);
    }
    r = tiny();
    json_object_del(r, "model");
    expect_error(r, "missing key 'model'", NULL);
    r = tiny();
    json_object_del(model(r), "vocab");
    expect_error(r, "model", "missing key 'vocab'");
    r = tiny();
    json_object_del(model(r), "merges");
    expect_error(r, "model", "missing key 'merges'");
    r = tiny();
    json_object_set_new(model(r), "vocab", json_array());
    expect_error(r, "model.vocab", "must be an object");
    r = tiny();
    json_object_set_new(json_object_get(model(r), "vocab"), "zz", json_string("7"));
    expect_error(r, "model.vocab", "\"zz\" must be an integer");
    r = tiny();
    json_object_set_new(json_object_get(model(r), "vocab"), "zz", json_integer(-3));
    expect_error(r, "model.vocab", "out of range");
    r = tiny();
    json_object_set_new(json_object_get(model(r), "vocab"), "zz", json_integer(5));
    expect_error(r, "model.vocab", "id 5 is given to two tokens");
    r = tiny();
    json_array_append_new(json_object_get(model(r), "merges"), json_string("q zz"));
    expect_error(r, "model.merges[2]", "\"zz\" is not in model.vocab");
    r = tiny();
    json_array_append_new(json_object_get(model(r), "merges"), json_string("b c"));
    expect_error(r, "model.merges[2]", "merged token \"bc\" is not in model.vocab");
    r = tiny();
    json_array_append_new(json_object_get(model(r), "merges"), json_string("abc"));
    expect_error(r, "model.merges[2]", "two tokens separated by one space");
    r = tiny();
    json_array_append_new(json_object_get(model(r), "merges"), json_integer(3));
    expect_error(r, "model.merges[2]", "must be a string");
    r = tiny();
    json_array_append_new(json_object_get(model(r), "merges"), json_pack("[s]", "a"));
    expect_error(r, "model.merges[2]", "pair of strings");
    r = tiny();
    json_object_set_new(model(r), "type", json_string("WordPiece"));
    expect_error(r, "model.type", "\"WordPiece\" is not implemented");
    r = tiny();
    json_object_set_new(model(r), "byte_fallback", json_true());
    expect_error(r, "model.byte_fallback", "not implemented");
    r = tiny();
    json_object_set_new(model(r), "dropout", json_real(0.1));
    expect_error(r, "model.dropout", "not implemented");
    r = tiny();
    json_object_set_new(model(r), "ignore_merges", json_string("yes"));
    expect_error(r, "model", "'ignore_merges' must be a boolean");
    r = tiny();
    json_object_set_new(model(r), "continuing_subword_prefix", json_string("##"));
    expect_error(r, "continuing_subword_prefix", "not implemented");
    r = tiny();
    json_object_set_new(model(r), "unk_token", json_string("<unk>"));
    expect_error(r, "model.unk_token", "not in model.vocab");
    /* components */
    r = tiny();
    json_object_set_new(r, "normalizer", json_pack("{s:s}", "type", "Lowercase"));
    expect_error(r, "normalizer.type", "\"Lowercase\" is not implemented");
    r = tiny();
    json_object_set_new(r, "normalizer",
                        json_pack("{s:s, s:[{s:s},{s:s}]}", "type", "Sequence", "normalizers", "type", "NFC",
                                  "type", "NFKC"));
    expect_error(r, "normalizer.normalizers[1]", "\"NFKC\" is not implemented");
    r = tiny();
    json_object_set_new(r, "pre_tokenizer", json_pack("{s:s}", "type", "Whitespace"));
    expect_error(r, "pre_tokenizer", "\"Whitespace\" is not implemented");
    r = tiny();
    json_object_set_new(r, "pre_tokenizer", json_null());
    expect_error(r, "pre_tokenizer", "not implemented");
    r = tiny();
    json_object_set_new(
        json_object_get(
            json_array_get(json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers"), 0),
            "pattern"),
        "Regex", json_string("(\\p{L}+|[a-"));
    expect_error(r, "pre_tokenizer.pretokenizers[0].pattern.Regex", "invalid regex at offset");
    r = tiny();
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers"), 0), "behavior",
        json_string("MergedWithNext"));
    expect_error(r, "pre_tokenizer.pretokenizers[0]", "\"MergedWithNext\" is not implemented");
    r = tiny();
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers"), 0), "invert",
        json_true());
    expect_error(r, "pre_tokenizer.pretokenizers[0]", "invert");
    r = tiny();
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(r, "pre_tokenizer"), "pretokenizers"), 1),
        "add_prefix_space", json_true());
    expect_error(r, "pre_tokenizer.pretokenizers[1]", "add_prefix_space");
    r = tiny();
    json_object_set_new(r, "post_processor", json_pack("{s:s}", "type", "BertProcessing"));
    expect_error(r, "post_processor", "\"BertProcessing\" is not implemented");
    r = tiny();
    json_object_set_new(r, "post_processor",
                        json_pack("{s:s, s:[{s:{s:s,s:i}}], s:{}}", "type", "TemplateProcessing", "single",
                                  "SpecialToken", "id", "<s>", "type_id", 0, "special_tokens"));
    expect_error(r, "post_processor.single[0]", "\"<s>\" is not in special_tokens");
    r = tiny();
    json_object_set_new(r, "decoder", json_pack("{s:s}", "type", "WordPiece"));
    expect_error(r, "decoder.type", "\"WordPiece\" is not implemented");
    r = tiny();
    json_object_set_new(r, "decoder", json_null());
    expect_error(r, "decoder", "not implemented");
    r = tiny();
    json_object_set_new(r, "truncation", json_pack("{s:i}", "max_length", 8));
    expect_error(r, "truncation", "not implemented");
    r = tiny();
    json_object_set_new(r, "version", json_string("2.0"));
    expect_error(r, "version", "unknown");
    /* added tokens */
    r = tiny();
    json_object_set_new(r, "added_tokens", json_object());
    expect_error(r, "added_tokens", "must be an array");
    r = tiny();
    json_object_del(json_array_get(json_object_get(r, "added_tokens"), 0), "content");
    expect_error(r, "added_tokens[0]", "'content' must be a string");
    r = tiny();
    json_object_set_new(json_array_get(json_object_get(r, "added_tokens"), 0), "id", json_integer(300));
    expect_error(r, "added_tokens[0]", "HF tokenizers would give it id 258");
    r = tiny();
    json_object_set_new(json_array_get(json_object_get(r, "added_tokens"), 0), "lstrip", json_integer(1));
    expect_error(r, "added_tokens[0]", "'lstrip' must be a boolean");
    r = tiny();
    json_array_append_new(json_object_get(r, "added_tokens"),
                          json_pack("{s:i, s:s, s:b}", "id", 259, "content", "<|x|>", "special", 1));
    expect_error(r, "added_tokens[1]", "duplicate added token");
    r = tiny();
    json_object_set_new(json_object_get(model(r), "vocab"), "zz", json_integer(1 << 30));
    expect_error(r, "model.vocab", "out of range");
}

/* ---- SentencePiece-style tokenizer.json (byte fallback, Replace / Metaspace, piece decoders) ---- */

/* "<unk>", "<0x00>".."<0xFF>", then a b ab ▁ ▁a; merges a b, ▁ a; normalizer Replace " " → "▁". */
static json_t *tiny_sp(void) {
    json_t *vocab = json_object();
    int id = 0;
    json_object_set_new(vocab, "<unk>", json_integer(id++));
    for (int b = 0; b < 256; b++) {
        char k[8];
        snprintf(k, sizeof k, "<0x%02X>", b);
        json_object_set_new(vocab, k, json_integer(id++));
    }
    const char *pieces[] = {"a", "b", "ab", "\xe2\x96\x81",
                            ("\xe2\x96\x81"
                             "a")};
    for (int i = 0; i < 5; i++)
        json_object_set_new(vocab, pieces[i], json_integer(id++));
    json_t *root =
        json_pack("{s:s, s:[], s:{s:s, s:{s:s}, s:s}, s:n, s:n, "
                  "s:{s:s, s:[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}]}, "
                  "s:{s:s, s:o, s:[s, s], s:s, s:b, s:b}}",
                  "version", "1.0", "added_tokens", "normalizer", "type", "Replace", "pattern", "String", " ",
                  "content", "\xe2\x96\x81", "pre_tokenizer", "post_processor", "decoder", "type", "Sequence",
                  "decoders", "type", "Replace", "pattern", "String", "\xe2\x96\x81", "content", " ", "type",
                  "ByteFallback", "type", "Fuse", "model", "type", "BPE", "vocab", vocab, "merges", "a b",
                  "\xe2\x96\x81 a", "unk_token", "<unk>", "fuse_unk", 1, "byte_fallback", 1);
    cr_assert(root, "json_pack failed");
    return root;
}

Test(tokenizer, sentencepiece_style_json) {
    json_t *r = tiny_sp();
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    LsTokenizer *t;
    LsError e;
    cr_assert_eq(ls_tokenizer_load_bytes(&t, s, strlen(s), "sp", &e), LS_OK, "%s", e.msg);
    free(s);
    int32_t *ids;
    size_t n;
    /* "ab a" → ab ▁a; "A" falls back to its byte; "é" to its two bytes */
    cr_assert_eq(ls_tokenizer_encode(t, "ab aA\xc3\xa9", 7, 0, &ids, &n, &e), LS_OK);
    int32_t want[] = {259, 261, 1 + 'A', 1 + 0xc3, 1 + 0xa9};
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(ids[i], want[i], "id %zu", i);
    char *out;
    size_t ol;
    ls_tokenizer_decode(t, ids, n, &out, &ol);
    cr_expect_str_eq(out, "ab aA\xc3\xa9");
    free(out);
    cr_expect_eq(ls_tokenizer_bytes_to_id(t, " a", 2), 261);
    int32_t half[] = {1 + 0xc3, 258}; /* a lone lead byte, then "b": one U+FFFD for the run */
    ls_tokenizer_decode(t, half, 2, &out, &ol);
    cr_expect_str_eq(out, "\xef\xbf\xbd"
                          "b");
    free(out);
    free(ids);
    ls_tokenizer_free(t);
}

Test(tokenizer, hostile_sentencepiece_json) {
    json_t *r;
    r = tiny_sp();
    json_object_set_new(r, "decoder", json_pack("{s:s}", "type", "ByteLevel"));
    expect_error(r, "pre_tokenizer", "ByteLevel decoder without a ByteLevel pre-tokenizer");
    r = tiny_sp();
    json_array_insert_new(json_object_get(json_object_get(r, "decoder"), "decoders"), 0,
                          json_pack("{s:s}", "type", "Fuse"));
    expect_error(r, "decoder.decoders[1]", "out of the order");
    r = tiny_sp();
    json_array_append_new(
        json_object_get(json_object_get(r, "decoder"), "decoders"),
        json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", "x", "start", 1, "stop", 0));
    expect_error(r, "decoder.decoders[3]", "only Strip");
    r = tiny_sp();
    json_array_append_new(json_object_get(json_object_get(r, "decoder"), "decoders"),
                          json_pack("{s:s}", "type", "CTC"));
    expect_error(r, "decoder.decoders[3]", "\"CTC\" is not implemented");
    r = tiny_sp();
    json_object_set_new(json_object_get(r, "normalizer"), "pattern", json_pack("{s:s}", "Regex", " +"));
    expect_error(r, "normalizer", "'pattern' must be {\"String\"");
    r = tiny_sp();
    json_object_set_new(r, "normalizer", json_pack("{s:s}", "type", "Prepend"));
    expect_error(r, "normalizer", "'prepend' must be a string");
    r = tiny_sp();
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement", "\xe2\x96\x81",
                                  "prepend_scheme", "first", "split", 1));
    expect_error(r, "pre_tokenizer", "split = true is not implemented");
    r = tiny_sp();
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement", "ab",
                                  "prepend_scheme", "first", "split", 0));
    expect_error(r, "pre_tokenizer", "'replacement' must be one character");
    r = tiny_sp();
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement", "\xe2\x96\x81",
                                  "prepend_scheme", "sometimes", "split", 0));
    expect_error(r, "pre_tokenizer", "prepend_scheme \"sometimes\"");
    r = tiny_sp();
    json_object_set_new(r, "pre_tokenizer",
                        json_pack("{s:s, s:[{s:s}, {s:s, s:s, s:b}]}", "type", "Sequence", "pretokenizers",
                                  "type", "Digits", "type", "Metaspace", "replacement", "\xe2\x96\x81",
                                  "split", 0));
    expect_error(r, "pre_tokenizer.pretokenizers[1]", "only implemented as the first");
    r = tiny_sp();
    json_object_set_new(
        r, "pre_tokenizer",
        json_pack("{s:s, s:{s:s}, s:s}", "type", "Split", "pattern", "String", "", "behavior", "Isolated"));
    expect_error(r, "pre_tokenizer.pattern.String", "non-empty");
    /* a byte-level vocabulary with byte_fallback */
    r = tiny();
    json_object_set_new(model(r), "byte_fallback", json_true());
    expect_error(r, "model.byte_fallback", "with a ByteLevel pre-tokenizer is not implemented");
}
