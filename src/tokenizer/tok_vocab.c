/* tok_vocab.c — a vocabulary as GGUF metadata describes it → the tokenizer transformers builds from it.
 *
 * transformers (integrations/gguf/gguf_tokenizer_mapping.py) turns tokenizer.ggml.* into a `tokenizers`
 * pipeline: GPT2Tokenizer for "gpt2" (byte-level BPE, a Split regex chosen by tokenizer.ggml.pre),
 * GemmaTokenizer for "llama" files of the Gemma architectures (whitespace tokens respelled with "▁",
 * merges derived from the vocabulary in file order), LlamaTokenizer for other "llama" files (merges
 * derived by score, Metaspace). Control tokens become special added tokens, user-defined ones plain
 * added tokens. This file writes that pipeline as the tokenizer.json document it is and hands it to
 * the tokenizer.json loader, so both paths encode with the same code.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

#define MAX_TOKENS (1 << 24)
/* Tokens longer than this get no derived merges: cutting a token costs its length squared, and no
 * real vocabulary comes near (Gemma 3's longest token is 93 bytes). */
#define MAX_MERGED_TOKEN 1024

/* The splits transformers uses for the pre-tokenizers it knows (GGUF_PRE_TOKENIZER_SPLITS). */
static const char QWEN2_SPLIT[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                                  "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char LLAMA3_SPLIT[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                   "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/* One tokenizer.ggml.pre: Split regexes applied in order (Isolated), then ByteLevel, with the GPT-2
 * regex when byte_level_regex. */
typedef struct {
    const char *name;
    const char *splits[4];
    int byte_level_regex;
} PreSpec;

static const PreSpec PRES[] = {
    {"qwen2", {QWEN2_SPLIT}, 0},
    {"deepseek-r1-qwen", {QWEN2_SPLIT}, 0},
    {"llama-bpe", {LLAMA3_SPLIT}, 0},
    {"llama3", {LLAMA3_SPLIT}, 0},
    {"llama-v3", {LLAMA3_SPLIT}, 0},
    /* transformers has no split of its own for these: GPT2Tokenizer's ByteLevel regex. llama.cpp splits
     * smollm's digits first (\p{N}, as SmolLM2's own tokenizer.json does with Digits) and uses four
     * expressions for default; both then differ from transformers around digits, e.g. "\n\n3" */
    {"smollm", {NULL}, 1},
    {"gpt2", {NULL}, 1},
    {"default", {NULL}, 1},
};

enum { TYPE_NORMAL = 1, TYPE_CONTROL = 3, TYPE_USER_DEFINED = 4, TYPE_MAX = 6 };

/* What the builder works on: the vocabulary respelled, the JSON document, messages. */
typedef struct {
    const LsVocab *v;
    const char *name;
    int byte_level, gemma;
    const PreSpec *pre; /* byte-level only */
    char **spell;       /* [n_tokens] the token as the tokenizer.json vocabulary writes it */
    LsStrMap index;     /* spelling → last index, as Python's {token: index} */
    LsError *e;
} Build;

/* ---- spelling ------------------------------------------------------------------------ */

/* Python's str.isspace. */
static int py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

static size_t cp_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* Whether every char of s is one of GPT-2's byte alphabet. */
static int in_byte_alphabet(const char *s, size_t len) {
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)ls_tok_utf8_decode((const uint8_t *)s, len, i, &cp);
        if (ls_tok_cp_to_byte(cp) < 0) return 0;
    }
    return 1;
}

/* byte_level_tokenizer: a token already in the byte alphabet stays, others are spelled byte by byte.
 * gemma_tokenizer: a token of whitespace with a space in it becomes that many "▁". */
static char *spell(const Build *b, const char *s, size_t len) {
    if (b->byte_level && !in_byte_alphabet(s, len)) {
        char *o = ls_malloc(len * 2 + 1), *p = o;
        for (size_t i = 0; i < len; i++) {
            uint16_t cp = ls_tok_byte_to_cp[(uint8_t)s[i]];
            if (cp < 0x80) {
                *p++ = (char)cp;
            } else {
                *p++ = (char)(0xc0 | (cp >> 6));
                *p++ = (char)(0x80 | (cp & 0x3f));
            }
        }
        *p = 0;
        return o;
    }
    if (b->gemma && memchr(s, ' ', len)) {
        int all_space = 1;
        for (size_t i = 0; i < len && all_space;) {
            uint32_t cp;
            i += (size_t)ls_tok_utf8_decode((const uint8_t *)s, len, i, &cp);
            all_space = py_isspace(cp);
        }
        if (all_space) {
            size_t n = cp_count(s, len);
            char *o = ls_malloc(n * 3 + 1);
            for (size_t i = 0; i < n; i++)
                memcpy(o + 3 * i, "\xe2\x96\x81", 3);
            o[n * 3] = 0;
            return o;
        }
    }
    char *o = ls_malloc(len + 1);
    memcpy(o, s, len);
    o[len] = 0;
    return o;
}

/* ---- checks -------------------------------------------------------------------------- */

static int check_id(const Build *b, int64_t id, const char *key) {
    if (id < -1 || id >= (int64_t)b->v->n_tokens)
        return ls_fail(b->e, "%s: tokenizer.ggml.%s = %lld is not a token id (%zu tokens)", b->name, key,
                       (long long)id, b->v->n_tokens);
    return LS_OK;
}

static int check_vocab(const Build *b) {
    const LsVocab *v = b->v;
    const char *N = b->name;
    if (!v->tokens || v->n_tokens == 0)
        return ls_fail(b->e, "%s: tokenizer.ggml.tokens is missing or empty", N);
    if (v->n_tokens > MAX_TOKENS)
        return ls_fail(b->e, "%s: tokenizer.ggml.tokens has %zu tokens (at most %d)", N, v->n_tokens,
                       MAX_TOKENS);
    if (v->scores && v->n_scores != v->n_tokens)
        return ls_fail(b->e, "%s: tokenizer.ggml.scores has %zu entries for %zu tokens", N, v->n_scores,
                       v->n_tokens);
    if (v->types && v->n_types != v->n_tokens)
        return ls_fail(b->e, "%s: tokenizer.ggml.token_type has %zu entries for %zu tokens", N, v->n_types,
                       v->n_tokens);
    if (v->merges == NULL && v->n_merges) return ls_fail(b->e, "%s: tokenizer.ggml.merges is missing", N);
    for (size_t i = 0; i < v->n_tokens; i++) {
        const LsTokText *t = &v->tokens[i];
        size_t bad;
        if (!t->s && t->len) return ls_fail(b->e, "%s: tokenizer.ggml.tokens[%zu] is missing", N, i);
        if (t->len && memchr(t->s, 0, t->len))
            return ls_fail(b->e, "%s: tokenizer.ggml.tokens[%zu] contains a NUL byte", N, i);
        if (t->len && !ls_utf8_valid((const unsigned char *)t->s, t->len, &bad))
            return ls_fail(b->e, "%s: tokenizer.ggml.tokens[%zu] is not valid UTF-8 (byte %zu)", N, i, bad);
        if (v->types && (v->types[i] < 0 || v->types[i] > TYPE_MAX))
            return ls_fail(b->e, "%s: tokenizer.ggml.token_type[%zu] = %lld is not a known type (0..6)", N, i,
                           (long long)v->types[i]);
        if (v->scores && isnan(v->scores[i]))
            return ls_fail(b->e, "%s: tokenizer.ggml.scores[%zu] is NaN", N, i);
    }
    if (check_id(b, v->bos_id, "bos_token_id") || check_id(b, v->eos_id, "eos_token_id") ||
        check_id(b, v->unk_id, "unknown_token_id") || check_id(b, v->pad_id, "padding_token_id"))
        return LS_ERR;
    return LS_OK;
}

/* ---- merges -------------------------------------------------------------------------- */

typedef struct {
    float score;
    uint32_t len_l, len_r; /* in code points */
    uint32_t token, cut;   /* the token's index and the byte offset of the cut */
    uint64_t seq;
} Cand;

static int cand_cmp(const void *pa, const void *pb) {
    const Cand *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    if (a->len_l != b->len_l) return a->len_l > b->len_l ? -1 : 1;
    if (a->len_r != b->len_r) return a->len_r > b->len_r ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* generate_merges (tokenization_utils_base.py): every cut of every token (up to MAX_MERGED_TOKEN
 * bytes) into two tokens, sorted by the token's score (descending), then the left and right pieces'
 * lengths (descending), ties in vocabulary order. Gemma scores a token by its (last) position: -index. */
static json_t *derive_merges(const Build *b) {
    const LsVocab *v = b->v;
    size_t cap = 1024, n = 0;
    Cand *c = ls_malloc(cap * sizeof *c);
    LsStrMap visited; /* a repeated spelling is visited once, at its first position, with its last score */
    ls_strmap_init(&visited, v->n_tokens);
    for (size_t i = 0; i < v->n_tokens; i++) {
        const char *s = b->spell[i];
        size_t len = strlen(s);
        if (ls_strmap_put(&visited, s, len, 1) >= 0) continue;
        int32_t last = ls_strmap_get(&b->index, s, len);
        if (len > MAX_MERGED_TOKEN) continue;
        float score = b->gemma ? -(float)last : v->scores[last];
        uint32_t total = (uint32_t)cp_count(s, len), left = 0;
        for (size_t cut = 0; cut < len;) {
            uint32_t cp;
            cut += (size_t)ls_tok_utf8_decode((const uint8_t *)s, len, cut, &cp);
            left++;
            if (cut >= len) break;
            if (ls_strmap_get(&b->index, s, cut) < 0 || ls_strmap_get(&b->index, s + cut, len - cut) < 0)
                continue;
            if (n == cap) c = ls_realloc(c, (cap *= 2) * sizeof *c);
            c[n] = (Cand){score, left, total - left, (uint32_t)i, (uint32_t)cut, n};
            n++;
        }
    }
    ls_strmap_free(&visited);
    qsort(c, n, sizeof *c, cand_cmp);
    json_t *merges = json_array();
    for (size_t k = 0; k < n; k++) {
        const char *s = b->spell[c[k].token];
        json_array_append_new(merges, json_pack("[s#s]", s, (int)c[k].cut, s + c[k].cut));
    }
    free(c);
    return merges;
}

/* The file's merges "a b" as pairs (Python's merge.split(" ") must give two pieces). */
static json_t *file_merges(const Build *b) {
    json_t *merges = json_array();
    for (size_t i = 0; i < b->v->n_merges; i++) {
        const LsTokText *m = &b->v->merges[i];
        const char *sp = m->s ? memchr(m->s, ' ', m->len) : NULL;
        size_t bad;
        if (!sp || memchr(sp + 1, ' ', m->len - (size_t)(sp - m->s) - 1) || memchr(m->s, 0, m->len) ||
            !ls_utf8_valid((const unsigned char *)m->s, m->len, &bad)) {
            json_decref(merges);
            ls_fail(b->e, "%s: tokenizer.ggml.merges[%zu] is not two tokens separated by one space", b->name,
                    i);
            return NULL;
        }
        size_t la = (size_t)(sp - m->s);
        json_array_append_new(merges, json_pack("[s#s#]", m->s, (int)la, sp + 1, (int)(m->len - la - 1)));
    }
    return merges;
}

/* ---- the document --------------------------------------------------------------------- */

static json_t *added_token(const char *content, size_t len, int64_t id, int special) {
    return json_pack("{s:I, s:s#, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)id, "content", content,
                     (int)len, "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special",
                     special);
}

/* Special tokens (bos, eos, unk, pad, then control tokens; the byte-level ones only when spelled in the
 * byte alphabet), then user-defined tokens whose text is in the vocabulary. Ids as `tokenizers` gives
 * them: the vocabulary's, else the next free one. */
static json_t *added_tokens(const Build *b) {
    const LsVocab *v = b->v;
    json_t *arr = json_array();
    LsStrMap seen;
    ls_strmap_init(&seen, 64);
    int64_t next = (int64_t)v->n_tokens;
    const int64_t named[4] = {v->bos_id, v->eos_id, v->unk_id, v->pad_id};
    for (size_t pass = 0; pass < 3; pass++) {
        size_t n = pass == 0 ? 4 : v->types ? v->n_tokens : 0;
        for (size_t k = 0; k < n; k++) {
            int64_t i = pass == 0 ? named[k] : (int64_t)k;
            if (i < 0) continue;
            if (pass == 1 && v->types[i] != TYPE_CONTROL) continue;
            if (pass == 2 && v->types[i] != TYPE_USER_DEFINED) continue;
            const char *s = v->tokens[i].s;
            size_t len = v->tokens[i].len;
            if (len == 0 || ls_strmap_get(&seen, s, len) >= 0) continue;
            if (pass == 1 && b->byte_level && !in_byte_alphabet(s, len)) continue;
            if (pass == 2 && ls_strmap_get(&b->index, s, len) < 0)
                continue; /* not in the vocabulary as written */
            int32_t id = ls_strmap_get(&b->index, s, len);
            json_array_append_new(arr, added_token(s, len, id >= 0 ? id : next++, pass < 2));
            ls_strmap_put(&seen, s, len, 1);
        }
    }
    ls_strmap_free(&seen);
    return arr;
}

static int special_piece(const Build *b, json_t *single, json_t *specials, int64_t id) {
    const char *tok = b->v->tokens[id].s; /* the file's text; its id as the vocabulary gives it */
    int l = (int)b->v->tokens[id].len;
    int32_t vid = ls_strmap_get(&b->index, tok, (size_t)l);
    if (vid >= 0) id = vid;
    json_array_append_new(single, json_pack("{s:{s:s#, s:i}}", "SpecialToken", "id", tok, l, "type_id", 0));
    json_object_setn_new(
        specials, tok, (size_t)l,
        json_pack("{s:s#, s:[I], s:[s#]}", "id", tok, l, "ids", (json_int_t)id, "tokens", tok, l));
    return LS_OK;
}

/* TemplateProcessing: [BOS] $A [EOS] as add_bos / add_eos say (GPT2Tokenizer adds no BOS by default,
 * transformers makes a sentencepiece file add one unless it says otherwise). */
static int post_processor(const Build *b, json_t **out) {
    const LsVocab *v = b->v;
    int add_bos = v->add_bos >= 0 ? v->add_bos : !b->byte_level, add_eos = v->add_eos > 0;
    if ((add_bos && v->bos_id < 0) || (add_eos && v->eos_id < 0))
        return ls_fail(
            b->e, "%s: tokenizer.ggml.add_%s_token is set but tokenizer.ggml.%s_token_id is absent", b->name,
            add_bos && v->bos_id < 0 ? "bos" : "eos", add_bos && v->bos_id < 0 ? "bos" : "eos");
    json_t *single = json_array(), *specials = json_object();
    if (add_bos) special_piece(b, single, specials, v->bos_id);
    json_array_append_new(single, json_pack("{s:{s:s, s:i}}", "Sequence", "id", "A", "type_id", 0));
    if (add_eos) special_piece(b, single, specials, v->eos_id);
    *out = json_pack("{s:s, s:o, s:o}", "type", "TemplateProcessing", "single", single, "special_tokens",
                     specials);
    return LS_OK;
}

static json_t *pre_tokenizer(const PreSpec *p) {
    json_t *seq = json_array();
    for (int i = 0; i < 4 && p->splits[i]; i++)
        json_array_append_new(seq, json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex",
                                             p->splits[i], "behavior", "Isolated", "invert", 0));
    json_array_append_new(seq, json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                                         "trim_offsets", 1, "use_regex", p->byte_level_regex));
    return json_pack("{s:s, s:o}", "type", "Sequence", "pretokenizers", seq);
}

/* normalizer, pre_tokenizer and decoder of GemmaTokenizer, Phi-3's variant, and LlamaTokenizer. */
static void sentencepiece_parts(const Build *b, json_t *root) {
    const char *arch = b->v->arch ? b->v->arch : "";
    json_t *dec = json_array();
    json_array_append_new(dec, json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String",
                                         "\xe2\x96\x81", "content", " "));
    json_array_append_new(dec, json_pack("{s:s}", "type", "ByteFallback"));
    json_array_append_new(dec, json_pack("{s:s}", "type", "Fuse"));
    json_t *replace = json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String", " ", "content",
                                "\xe2\x96\x81");
    if (b->gemma) {
        json_object_set_new(root, "normalizer", replace);
        json_object_set_new(root, "pre_tokenizer",
                            json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "String", " ",
                                      "behavior", "MergedWithPrevious", "invert", 0));
    } else {
        int aps = b->v->add_space_prefix != 0;
        if (!strcmp(arch, "phi3")) {
            json_object_set_new(root, "normalizer",
                                json_pack("{s:s, s:[{s:s, s:s}, o]}", "type", "Sequence", "normalizers",
                                          "type", "Prepend", "prepend", "\xe2\x96\x81", replace));
            json_object_set_new(root, "pre_tokenizer", json_null());
        } else {
            json_decref(replace);
            json_object_set_new(root, "normalizer", json_null());
            json_object_set_new(root, "pre_tokenizer",
                                json_pack("{s:s, s:s, s:s, s:b}", "type", "Metaspace", "replacement",
                                          "\xe2\x96\x81", "prepend_scheme", aps ? "first" : "never", "split",
                                          0));
        }
        if (aps)
            json_array_append_new(dec, json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", " ",
                                                 "start", 1, "stop", 0));
    }
    json_object_set_new(root, "decoder", json_pack("{s:s, s:o}", "type", "Sequence", "decoders", dec));
}

static int build_document(Build *b, json_t **out) {
    const LsVocab *v = b->v;
    json_t *vocab = json_object();
    for (size_t i = 0; i < v->n_tokens; i++)
        json_object_set_new_nocheck(vocab, b->spell[i], json_integer((json_int_t)i));
    json_t *merges = v->merges ? file_merges(b) : derive_merges(b);
    if (!merges) {
        json_decref(vocab);
        return LS_ERR;
    }
    json_t *model =
        json_pack("{s:s, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "fuse_unk", !b->byte_level,
                  "byte_fallback", !b->byte_level, "ignore_merges", 0, "vocab", vocab, "merges", merges);
    json_t *unk = json_null();
    if (!b->byte_level) {
        const char *u = v->unk_id >= 0 ? b->spell[v->unk_id] : "<unk>";
        if (ls_strmap_get(&b->index, u, strlen(u)) >= 0) unk = json_string(u);
    }
    json_object_set_new(model, "unk_token", unk);
    json_t *post = NULL;
    if (post_processor(b, &post)) {
        json_decref(model);
        return LS_ERR;
    }
    json_t *root = json_pack("{s:s, s:n, s:n, s:o, s:o, s:o}", "version", "1.0", "truncation", "padding",
                             "added_tokens", added_tokens(b), "model", model, "post_processor", post);
    if (b->byte_level) {
        json_object_set_new(root, "normalizer", json_null());
        json_object_set_new(root, "pre_tokenizer", pre_tokenizer(b->pre));
        json_object_set_new(root, "decoder", json_pack("{s:s}", "type", "ByteLevel"));
    } else {
        sentencepiece_parts(b, root);
    }
    *out = root;
    return LS_OK;
}

/* ---- hash of the description ------------------------------------------------------------ */

static void hash_put(char **buf, size_t *len, size_t *cap, const void *p, size_t n) {
    if (*len + n + 8 > *cap) {
        *cap = (*len + n + 8) * 2;
        *buf = ls_realloc(*buf, *cap);
    }
    uint64_t n64 = n;
    memcpy(*buf + *len, &n64, 8);
    if (n) memcpy(*buf + *len + 8, p, n);
    *len += n + 8;
}

/* Everything the tokenizer is built from, length-prefixed, for ls_tokenizer_sha256. */
static char *describe(const LsVocab *v, size_t *len) {
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    const char *strs[3] = {v->model, v->pre ? v->pre : "", v->arch ? v->arch : ""};
    for (int i = 0; i < 3; i++)
        hash_put(&buf, len, &cap, strs[i], strlen(strs[i]));
    for (size_t i = 0; i < v->n_tokens; i++)
        hash_put(&buf, len, &cap, v->tokens[i].s, v->tokens[i].len);
    for (size_t i = 0; i < v->n_merges; i++)
        hash_put(&buf, len, &cap, v->merges[i].s, v->merges[i].len);
    if (v->scores) hash_put(&buf, len, &cap, v->scores, v->n_scores * sizeof *v->scores);
    if (v->types) hash_put(&buf, len, &cap, v->types, v->n_types * sizeof *v->types);
    const int64_t nums[7] = {v->bos_id,  v->eos_id,  v->unk_id,          v->pad_id,
                             v->add_bos, v->add_eos, v->add_space_prefix};
    hash_put(&buf, len, &cap, nums, sizeof nums);
    return buf;
}

int ls_tokenizer_from_vocab(LsTokenizer **out, const LsVocab *v, const char *name, LsError *e) {
    *out = NULL;
    Build b = {.v = v, .name = name ? name : "vocabulary", .e = e};
    if (!v->model || (strcmp(v->model, "gpt2") && strcmp(v->model, "llama")))
        return ls_fail(e, "%s: tokenizer.ggml.model \"%s\" is not implemented (only gpt2, llama)", b.name,
                       v->model ? v->model : "(absent)");
    b.byte_level = !strcmp(v->model, "gpt2");
    b.gemma = !b.byte_level && v->arch && !strncmp(v->arch, "gemma", 5) && strcmp(v->arch, "gemma4");
    if (check_vocab(&b)) return LS_ERR;
    if (!v->merges && !b.gemma && !v->scores)
        return ls_fail(e, "%s: a vocabulary without tokenizer.ggml.merges needs tokenizer.ggml.scores",
                       b.name);
    const char *pre = v->pre ? v->pre : "default";
    for (size_t i = 0; i < sizeof PRES / sizeof *PRES && b.byte_level && !b.pre; i++)
        if (!strcmp(PRES[i].name, pre)) b.pre = &PRES[i];
    if (b.byte_level && !b.pre)
        return ls_fail(
            e,
            "%s: tokenizer.ggml.pre \"%s\" is not implemented (known: qwen2, deepseek-r1-qwen, llama-bpe, "
            "llama3, llama-v3, smollm, gpt2, default)",
            b.name, pre);
    b.spell = ls_calloc(v->n_tokens, sizeof *b.spell);
    ls_strmap_init(&b.index, v->n_tokens);
    for (size_t i = 0; i < v->n_tokens; i++) {
        b.spell[i] = spell(&b, v->tokens[i].s ? v->tokens[i].s : "", v->tokens[i].len);
        ls_strmap_put(&b.index, b.spell[i], strlen(b.spell[i]), (int32_t)i);
    }
    json_t *root = NULL;
    int rc = build_document(&b, &root);
    if (rc == LS_OK) {
        size_t hl;
        char *h = describe(v, &hl);
        LsTokenizer *t = ls_tok_alloc(b.name, h, hl);
        free(h);
        rc = ls_tok_load_json(t, root, e);
        if (rc == LS_OK) {
            t->bos_id = (int32_t)v->bos_id;
            t->eos_id = (int32_t)v->eos_id;
            *out = t;
        } else {
            ls_tokenizer_free(t);
        }
    }
    json_decref(root);
    ls_strmap_free(&b.index);
    for (size_t i = 0; i < v->n_tokens; i++)
        free(b.spell[i]);
    free(b.spell);
    return rc;
}
