/* tok_internal.h — data structures shared by the tokenizer's files (not a public header). */
#ifndef LS_TOK_INTERNAL_H
#define LS_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "ls/tokenizer.h"

/* ---- hash maps (tok_map.c) ------------------------------------------------ */

uint64_t ls_tok_hash(const void *p, size_t n);

/* Byte string → int32. Keys are not copied: they must outlive the map. */
typedef struct {
    const char *key;
    uint32_t len;
    int32_t val;
} LsStrEntry;
typedef struct {
    uint32_t *slots; /* entry index + 1, 0 = empty; cap slots (power of two) */
    uint32_t cap;
    LsStrEntry *ent;
    uint32_t n, ent_cap;
} LsStrMap;
void ls_strmap_init(LsStrMap *m, size_t expect);
void ls_strmap_free(LsStrMap *m);
void ls_strmap_clear(LsStrMap *m);
/* Returns the value or -1. */
int32_t ls_strmap_get(const LsStrMap *m, const void *key, size_t len);
/* Inserts or overwrites; returns the previous value or -1. */
int32_t ls_strmap_put(LsStrMap *m, const void *key, size_t len, int32_t val);

/* (id_a, id_b) → (rank, merged id). */
typedef struct {
    uint64_t *keys; /* UINT64_MAX = empty */
    int32_t *rank, *id;
    uint32_t cap, n;
} LsPairMap;
void ls_pairmap_init(LsPairMap *m, size_t expect);
void ls_pairmap_free(LsPairMap *m);
/* Inserts or overwrites (a later duplicate merge wins, as in `tokenizers`). */
void ls_pairmap_put(LsPairMap *m, int32_t a, int32_t b, int32_t rank, int32_t id);
static inline uint64_t ls_pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}
static inline uint64_t ls_pair_slot(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}
/* Returns 1 and fills rank/id when the pair is a merge. */
static inline int ls_pairmap_get(const LsPairMap *m, int32_t a, int32_t b, int32_t *rank, int32_t *id) {
    if (!m->cap) return 0;
    uint64_t k = ls_pair_key(a, b);
    uint32_t mask = m->cap - 1, i = (uint32_t)ls_pair_slot(k) & mask;
    for (;;) {
        uint64_t kk = m->keys[i];
        if (kk == k) {
            *rank = m->rank[i];
            *id = m->id[i];
            return 1;
        }
        if (kk == UINT64_MAX) return 0;
        i = (i + 1) & mask;
    }
}

/* ---- tokenizer ------------------------------------------------------------ */

/* An added token (tokenizer.json "added_tokens"). */
typedef struct {
    char *content;
    uint32_t len;
    int32_t id;
    uint8_t single_word, lstrip, rstrip, normalized, special;
} LsAddedToken;

/* Byte trie over added-token contents for leftmost-longest matching. */
typedef struct {
    int32_t child;   /* first child node, -1 none */
    int32_t sibling; /* next sibling, -1 none */
    int32_t token;   /* index into added[] ending here, -1 none */
    uint8_t byte;
} LsTrieNode;
typedef struct {
    LsTrieNode *nodes;
    int32_t n, cap;
    uint8_t first[256]; /* first[b]: some token starts with byte b */
    int any;
} LsTrie;

/* How a Split pre-tokenizer treats its matches (`tokenizers`' SplitDelimiterBehavior). */
typedef enum { LS_SPLIT_ISOLATED, LS_SPLIT_REMOVED, LS_SPLIT_MERGED_WITH_PREVIOUS } LsSplitBehavior;

/* One regex split stage of the pre-tokenizer. */
typedef struct {
    pcre2_code *re;
    pcre2_match_data *md;
    LsSplitBehavior behavior;
} LsSplit;

/* One normalizer step: NFC, Replace(String from → to) or Prepend(to). */
typedef enum { LS_NORM_NFC, LS_NORM_REPLACE, LS_NORM_PREPEND } LsNormKind;
typedef struct {
    LsNormKind kind;
    char *from, *to; /* owned; from is NULL for NFC and Prepend */
    size_t from_len, to_len;
} LsNormStep;

/* Metaspace pre-tokenizer (split = false): spaces become `replacement`, which is also put in front
 * of the first (prepend "first") or every (prepend "always") piece not already starting with it. */
typedef enum { LS_PREPEND_NEVER, LS_PREPEND_FIRST, LS_PREPEND_ALWAYS } LsPrepend;

#define LS_TOK_MAX_SPLITS 8
#define LS_TOK_MAX_NORMS 8
#define LS_TOK_MAX_TEMPLATE 16

struct LsTokenizer {
    char *name; /* tokenizer.json path, for messages */
    char sha_hex[65];

    /* byte_level: the vocabulary is written in GPT-2's byte alphabet (ByteLevel pre-tokenizer and
     * decoder); else its strings are the UTF-8 text itself, SentencePiece style ("▁the", "<0x0A>") */
    int byte_level;

    /* model (BPE) */
    char *vocab_arena;  /* model token strings, NUL-separated */
    LsStrMap vocab;     /* token string → id */
    LsStrMap vocab_raw; /* raw bytes (byte-level decoded) → id, tokens whose chars all map */
    char *raw_arena;
    int32_t byte_id[256]; /* id of the one-byte token, -1 none */
    LsPairMap merges;
    int ignore_merges, fuse_unk, byte_fallback;
    int32_t unk_id;
    int32_t fallback_id[256]; /* id of "<0xXX>" when byte_fallback, -1 none */

    /* id tables [id_cap] */
    int32_t id_cap;
    const char **id_tok;    /* token string (added content wins) or NULL */
    const uint8_t **id_raw; /* raw decoded bytes */
    uint32_t *id_rawlen;
    int8_t *id_kind; /* 0 none, 1 model, 2 added, 3 added special */
    char *decoded_arena;

    /* added tokens */
    LsAddedToken *added;
    int32_t n_added;
    LsStrMap added_map; /* content → id */
    LsTrie trie_raw, trie_norm;
    char **norm_contents; /* NFC of normalized tokens' contents (owned) */

    /* normalizer: steps applied in order */
    LsNormStep norms[LS_TOK_MAX_NORMS];
    int n_norms;

    /* pre-tokenizer: Metaspace (when metaspace_len > 0), then the Split stages */
    char metaspace[8];
    size_t metaspace_len;
    LsPrepend metaspace_prepend;
    LsSplit splits[LS_TOK_MAX_SPLITS];
    int n_splits;

    /* decoder, when not ByteLevel: Replace(dec_from → dec_to), ByteFallback, Fuse, Strip of
     * dec_strip leading spaces of the fused text */
    char *dec_from, *dec_to;
    size_t dec_from_len, dec_to_len;
    int dec_byte_fallback, dec_fuse, dec_strip;
    char *dec_arena;    /* decoded text of the model tokens (not byte-level) */
    uint8_t *id_isbyte; /* [id_cap] 1 when the token is a "<0xXX>" byte for ByteFallback */

    /* post-processor: ids before and after the sequence when add_special */
    int32_t prefix[LS_TOK_MAX_TEMPLATE], suffix[LS_TOK_MAX_TEMPLATE];
    int n_prefix, n_suffix;

    int32_t bos_id, eos_id;

    /* regex matching context: a JIT stack big enough for 1 MB pre-tokens */
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;

    /* encode scratch + word cache */
    LsStrMap cache;   /* word bytes → offset into cache_ids */
    char *cache_keys; /* fixed arena of cached words (never moves; cache cleared when full) */
    size_t cache_keys_len;
    int32_t *cache_ids; /* arena: [count, ids...] per entry */
    size_t cache_ids_len, cache_ids_cap;
    char *norm_buf, *norm_buf2; /* normalizer output (two buffers for chained steps) */
    size_t norm_cap, norm_cap2;
    void *sym; /* BPE symbols scratch */
    size_t sym_cap;
    void *heap;
    size_t heap_cap;
};

/* A tokenizer named name (messages) whose sha256 is that of hashed[0..hashed_len), with nothing
 * loaded yet; ls_tok_load_json then loads a tokenizer.json document into it (tok_load.c). */
LsTokenizer *ls_tok_alloc(const char *name, const void *hashed, size_t hashed_len);
int ls_tok_load_json(LsTokenizer *tok, json_t *root, LsError *e);
/* DIR/tokenizer.json and DIR/tokenizer_config.json (tok_load.c). */
int ls_tok_load_json_dir(LsTokenizer **out, const char *dir, LsError *e);

/* GPT-2 byte-level alphabet: byte → code point and back (-1 when a code point is no byte). */
extern const uint16_t ls_tok_byte_to_cp[256];
int ls_tok_cp_to_byte(uint32_t cp);

/* BPE of one pre-token (raw bytes), appending ids to *ids (grown with *cap). */
void ls_tok_bpe_word(LsTokenizer *tok, const uint8_t *w, size_t n, int32_t **ids, size_t *nids, size_t *cap);

/* Applies the normalizer steps to s[0..len); returns s itself or a tokenizer buffer (valid until the
 * next call), *outlen its length (tok_encode.c). */
const uint8_t *ls_tok_normalize(LsTokenizer *tok, const uint8_t *s, size_t len, size_t *outlen);
/* The byte a "<0xXX>" token stands for (as `tokenizers`' ByteFallback decoder reads it), or -1. */
int ls_tok_fallback_byte(const char *tok, size_t len);

/* Unicode helpers (tok_unicode.c) */
int ls_tok_is_white_space(uint32_t cp); /* Unicode White_Space (Rust's \s / char::is_whitespace) */
int ls_tok_is_word_char(uint32_t cp);   /* Rust regex \w */
/* Decodes one code point at s[i] (valid UTF-8 assumed); returns its byte length. */
int ls_tok_utf8_decode(const uint8_t *s, size_t n, size_t i, uint32_t *cp);
/* Start of the code point ending just before s[i]. */
size_t ls_tok_utf8_prev(const uint8_t *s, size_t i);

#endif
