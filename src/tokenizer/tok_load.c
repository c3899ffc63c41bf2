/* tok_load.c — tokenizer.json → LsTokenizer.
 *
 * Implements exactly the components the Qwen2/2.5/3, DeepSeek-R1-Distill-Qwen, Llama-3.x, SmolLM2
 * (byte-level BPE) and Gemma 3 / Llama 2 (SentencePiece-style BPE with byte fallback) tokenizers use,
 * and those transformers builds from GGUF metadata (tok_vocab.c); anything else is rejected with a
 * message naming the file, the JSON path and the component, so encoding never runs a silently
 * different pipeline:
 *
 *   model           BPE (vocab; merges as "a b" or ["a","b"]; unk_token, fuse_unk, ignore_merges,
 *                   byte_fallback ("<0xXX>" tokens; not with ByteLevel); dropout null/0, no subword
 *                   prefix/suffix)
 *   added_tokens    id, content, single_word, lstrip, rstrip, normalized, special
 *   normalizer      null | NFC | Replace(String) | Prepend | Sequence of these
 *   pre_tokenizer   null (SentencePiece-style only) | Split(Regex|String; Isolated, Removed,
 *                   MergedWithPrevious; invert false) | Digits | Metaspace (first; split false) |
 *                   ByteLevel (add_prefix_space false; use_regex adds the GPT-2 split; last) | Sequence
 *   post_processor  null | ByteLevel | TemplateProcessing | Sequence of these
 *   decoder         ByteLevel (with a ByteLevel pre-tokenizer), else null or Replace(String),
 *                   ByteFallback, Fuse, Strip(" ", n, 0) in that order (Sequence)
 *   truncation, padding  null
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "ls/json.h"
#include "tok_internal.h"
#include "tok_unicode_compat.h"

#define LS_TOK_MAX_ID (1 << 24)           /* ids above this are rejected (hostile sizes) */
#define LS_TOK_MAX_FILE ((size_t)1 << 30) /* 1 GiB */

static const char GPT2_REGEX[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* Error "NAME: PATH: message". */
__attribute__((format(printf, 4, 5))) static int jfail(LsError *e, const char *name, const char *path,
                                                       const char *fmt, ...) {
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ls_fail(e, "%s: %s: %s", name, path, msg);
}

/* Optional boolean member: absent/null → def. */
static int get_bool(const json_t *obj, const char *key, int def, int *out, LsError *e, const char *name,
                    const char *path) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return LS_OK;
    }
    if (!json_is_boolean(v))
        return jfail(e, name, path, "'%s' must be a boolean, not %s", key, ls_json_type_name(v));
    *out = json_is_true(v);
    return LS_OK;
}

/* Required string member "type". */
static int get_type(const json_t *obj, const char **type, LsError *e, const char *name, const char *path) {
    if (!json_is_object(obj))
        return jfail(e, name, path, "must be an object, not %s", ls_json_type_name(obj));
    json_t *t = json_object_get(obj, "type");
    if (!t) return jfail(e, name, path, "missing key 'type'");
    if (!json_is_string(t))
        return jfail(e, name, path, "'type' must be a string, not %s", ls_json_type_name(t));
    *type = json_string_value(t);
    return LS_OK;
}

/* Optional string-or-null member that must be null or empty (unsupported otherwise). */
static int require_empty_str(const json_t *obj, const char *key, LsError *e, const char *name,
                             const char *path) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return LS_OK;
    if (!json_is_string(v))
        return jfail(e, name, path, "'%s' must be a string or null, not %s", key, ls_json_type_name(v));
    if (json_string_length(v))
        return jfail(e, name, path, "'%s' = \"%s\" is not implemented (only null or \"\")", key,
                     json_string_value(v));
    return LS_OK;
}

/* ---- model ------------------------------------------------------------------ */

/* Byte-level spelling → raw bytes (every char must be in the GPT-2 alphabet); returns the length,
 * or -1 when some char is not. */
static long byte_level_decode(const char *s, size_t len, uint8_t *r) {
    size_t rl = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        i += (size_t)ls_tok_utf8_decode((const uint8_t *)s, len, i, &cp);
        int b = ls_tok_cp_to_byte(cp);
        if (b < 0) return -1;
        r[rl++] = (uint8_t)b;
    }
    return (long)rl;
}

/* The byte of a token spelled exactly "<0xXX>" (upper-case hex), as BPE's byte_fallback looks
 * them up (format!("<{:#04X}>")), or -1. */
static int fallback_spelling(const char *s, size_t len) {
    static const char HEX[] = "0123456789ABCDEF";
    if (len != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    const char *hi = memchr(HEX, s[3], 16), *lo = memchr(HEX, s[4], 16);
    if (!s[3] || !s[4] || !hi || !lo) return -1;
    return (int)((hi - HEX) * 16 + (lo - HEX));
}

/* The decoder's Replace of one token's text into r (NULL: only count); returns the length. */
static size_t dec_replace(const LsTokenizer *t, const char *s, size_t len, char *r) {
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (t->dec_from_len && len - i >= t->dec_from_len && !memcmp(s + i, t->dec_from, t->dec_from_len)) {
            if (r) memcpy(r + o, t->dec_to, t->dec_to_len);
            o += t->dec_to_len;
            i += t->dec_from_len;
        } else {
            if (r) r[o] = s[i];
            o++, i++;
        }
    }
    return o;
}

/* vocab_raw (raw bytes → id) and the byte tables. Byte-level: the bytes each token's chars stand
 * for. Otherwise: the decoder's text of each token (a "<0xXX>" token stands for its byte), the metaspace
 * spelling winning over a token that decodes to the same text. */
static void build_raw(LsTokenizer *t) {
    size_t total = 0;
    for (uint32_t k = 0; k < t->vocab.n; k++)
        total += t->byte_level ? t->vocab.ent[k].len
                               : dec_replace(t, t->vocab.ent[k].key, t->vocab.ent[k].len, NULL);
    t->raw_arena = ls_malloc(total + 1);
    ls_strmap_init(&t->vocab_raw, t->vocab.n);
    for (int b = 0; b < 256; b++)
        t->fallback_id[b] = -1;
    size_t roff = 0;
    for (uint32_t k = 0; k < t->vocab.n; k++) {
        const LsStrEntry *en = &t->vocab.ent[k];
        uint8_t *r = (uint8_t *)t->raw_arena + roff;
        long rl;
        if (t->byte_level) {
            rl = byte_level_decode(en->key, en->len, r);
        } else {
            int b = fallback_spelling(en->key, en->len);
            if (b >= 0) t->fallback_id[b] = en->val;
            if (t->dec_byte_fallback && ls_tok_fallback_byte(en->key, en->len) >= 0) continue; /* a byte */
            rl = (long)dec_replace(t, en->key, en->len, (char *)r);
            int32_t old = ls_strmap_get(&t->vocab_raw, r, (size_t)rl);
            if (old >= 0 && !(t->dec_from_len && memmem(en->key, en->len, t->dec_from, t->dec_from_len)))
                continue;
        }
        if (rl > 0) {
            roff += (size_t)rl;
            ls_strmap_put(&t->vocab_raw, r, (size_t)rl, en->val);
        }
    }
}

static int load_vocab(LsTokenizer *t, const json_t *vocab, LsError *e) {
    const char *N = t->name;
    if (!vocab) return jfail(e, N, "model", "missing key 'vocab'");
    if (!json_is_object(vocab))
        return jfail(e, N, "model.vocab", "must be an object, not %s", ls_json_type_name(vocab));
    size_t nv = json_object_size(vocab), total = 0;
    const char *key;
    json_t *val;
    int32_t max_id = -1;
    json_object_foreach((json_t *)vocab, key, val) {
        if (!json_is_integer(val))
            return jfail(e, N, "model.vocab", "value of \"%s\" must be an integer id, not %s", key,
                         ls_json_type_name(val));
        json_int_t id = json_integer_value(val);
        if (id < 0 || id >= LS_TOK_MAX_ID)
            return jfail(e, N, "model.vocab", "id %lld of \"%s\" is out of range [0, %d)", (long long)id, key,
                         LS_TOK_MAX_ID);
        if (id > max_id) max_id = (int32_t)id;
        total += strlen(key) + 1;
    }
    t->vocab_arena = ls_malloc(total + 1);
    ls_strmap_init(&t->vocab, nv);
    t->id_cap = max_id + 1;
    /* every id once (a duplicate id would make id → token ambiguous) */
    uint8_t *seen = ls_calloc((size_t)max_id + 1, 1);
    json_object_foreach((json_t *)vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        if (seen[id]) {
            free(seen);
            return jfail(e, N, "model.vocab", "id %d is given to two tokens (one is \"%s\")", id, key);
        }
        seen[id] = 1;
    }
    free(seen);
    size_t off = 0;
    /* First pass fills the string map; id tables are built in build_id_tables once added tokens
     * are known. */
    json_object_foreach((json_t *)vocab, key, val) {
        size_t len = strlen(key);
        char *s = t->vocab_arena + off;
        memcpy(s, key, len + 1);
        off += len + 1;
        if (ls_strmap_put(&t->vocab, s, len, (int32_t)json_integer_value(val)) >= 0)
            return jfail(e, N, "model.vocab", "duplicate token \"%s\"", key);
    }
    build_raw(t);
    return LS_OK;
}

static int load_merges(LsTokenizer *t, const json_t *merges, LsError *e) {
    const char *N = t->name;
    char path[96];
    if (!merges) return jfail(e, N, "model", "missing key 'merges'");
    if (!json_is_array(merges))
        return jfail(e, N, "model.merges", "must be an array, not %s", ls_json_type_name(merges));
    size_t nm = json_array_size(merges);
    if (nm >= (size_t)INT32_MAX) return jfail(e, N, "model.merges", "too many merges");
    ls_pairmap_init(&t->merges, nm);
    char *buf = NULL;
    size_t bufcap = 0;
    int rc = LS_OK;
    for (size_t i = 0; i < nm && rc == LS_OK; i++) {
        json_t *m = json_array_get(merges, i);
        snprintf(path, sizeof path, "model.merges[%zu]", i);
        const char *a, *b;
        size_t la, lb;
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            size_t len = json_string_length(m);
            const char *sp = memchr(s, ' ', len);
            if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp - s) - 1)) {
                rc = jfail(e, N, path, "\"%s\" is not two tokens separated by one space", s);
                break;
            }
            a = s, la = (size_t)(sp - s);
            b = sp + 1, lb = len - la - 1;
        } else if (json_is_array(m)) {
            json_t *ja = json_array_get(m, 0), *jb = json_array_get(m, 1);
            if (json_array_size(m) != 2 || !json_is_string(ja) || !json_is_string(jb)) {
                rc = jfail(e, N, path, "must be a pair of strings [\"a\", \"b\"]");
                break;
            }
            a = json_string_value(ja), la = json_string_length(ja);
            b = json_string_value(jb), lb = json_string_length(jb);
        } else {
            rc = jfail(e, N, path, "must be a string \"a b\" or a pair [\"a\", \"b\"], not %s",
                       ls_json_type_name(m));
            break;
        }
        int32_t ia = ls_strmap_get(&t->vocab, a, la), ib = ls_strmap_get(&t->vocab, b, lb);
        if (ia < 0 || ib < 0) {
            rc = jfail(e, N, path, "token \"%.*s\" is not in model.vocab", (int)(ia < 0 ? la : lb),
                       ia < 0 ? a : b);
            break;
        }
        if (la + lb + 1 > bufcap) {
            bufcap = (la + lb + 1) * 2;
            buf = ls_realloc(buf, bufcap);
        }
        memcpy(buf, a, la);
        memcpy(buf + la, b, lb);
        int32_t inew = ls_strmap_get(&t->vocab, buf, la + lb);
        if (inew < 0) {
            rc = jfail(e, N, path, "merged token \"%.*s\" is not in model.vocab", (int)(la + lb), buf);
            break;
        }
        ls_pairmap_put(&t->merges, ia, ib, (int32_t)i, inew);
    }
    free(buf);
    return rc;
}

static int load_model(LsTokenizer *t, const json_t *model, LsError *e) {
    const char *N = t->name, *type = NULL;
    if (!model) return jfail(e, N, "(root)", "missing key 'model'");
    if (get_type(model, &type, e, N, "model")) return LS_ERR;
    if (strcmp(type, "BPE"))
        return jfail(e, N, "model.type", "model type \"%s\" is not implemented (only BPE)", type);
    json_t *v = json_object_get(model, "dropout");
    if (v && !json_is_null(v)) {
        if (!json_is_number(v)) return jfail(e, N, "model.dropout", "must be a number or null");
        if (json_number_value(v) != 0.0)
            return jfail(e, N, "model.dropout", "BPE dropout is not implemented (encoding would be random)");
    }
    if (get_bool(model, "byte_fallback", 0, &t->byte_fallback, e, N, "model")) return LS_ERR;
    if (t->byte_fallback && t->byte_level)
        return jfail(e, N, "model.byte_fallback",
                     "byte_fallback = true with a ByteLevel pre-tokenizer is not implemented");
    if (require_empty_str(model, "continuing_subword_prefix", e, N, "model") ||
        require_empty_str(model, "end_of_word_suffix", e, N, "model"))
        return LS_ERR;
    if (get_bool(model, "fuse_unk", 0, &t->fuse_unk, e, N, "model") ||
        get_bool(model, "ignore_merges", 0, &t->ignore_merges, e, N, "model"))
        return LS_ERR;
    if (load_vocab(t, json_object_get(model, "vocab"), e)) return LS_ERR;
    t->unk_id = -1;
    v = json_object_get(model, "unk_token");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return jfail(e, N, "model.unk_token", "must be a string or null, not %s", ls_json_type_name(v));
        t->unk_id = ls_strmap_get(&t->vocab, json_string_value(v), json_string_length(v));
        if (t->unk_id < 0)
            return jfail(e, N, "model.unk_token", "\"%s\" is not in model.vocab", json_string_value(v));
    }
    return load_merges(t, json_object_get(model, "merges"), e);
}

/* ---- added tokens ---------------------------------------------------------------- */

static void trie_init(LsTrie *tr) {
    memset(tr, 0, sizeof *tr);
    tr->cap = 64;
    tr->nodes = ls_malloc((size_t)tr->cap * sizeof *tr->nodes);
    tr->nodes[0] = (LsTrieNode){-1, -1, -1, 0};
    tr->n = 1;
}

static void trie_add(LsTrie *tr, const uint8_t *s, size_t len, int32_t token) {
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t c = tr->nodes[node].child;
        while (c >= 0 && tr->nodes[c].byte != s[i])
            c = tr->nodes[c].sibling;
        if (c < 0) {
            if (tr->n == tr->cap) {
                tr->cap *= 2;
                tr->nodes = ls_realloc(tr->nodes, (size_t)tr->cap * sizeof *tr->nodes);
            }
            c = tr->n++;
            tr->nodes[c] = (LsTrieNode){-1, tr->nodes[node].child, -1, s[i]};
            tr->nodes[node].child = c;
        }
        node = c;
    }
    if (tr->nodes[node].token < 0) tr->nodes[node].token = token; /* first pattern wins */
    tr->first[s[0]] = 1;
    tr->any = 1;
}

static int load_added(LsTokenizer *t, const json_t *arr, LsError *e) {
    const char *N = t->name;
    char path[64];
    size_t n = 0;
    if (arr && !json_is_null(arr) && !json_is_array(arr))
        return jfail(e, N, "added_tokens", "must be an array, not %s", ls_json_type_name(arr));
    if (arr) n = json_array_size(arr);
    t->added = ls_calloc(n ? n : 1, sizeof *t->added);
    ls_strmap_init(&t->added_map, n);
    int32_t max_added = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        snprintf(path, sizeof path, "added_tokens[%zu]", i);
        if (!json_is_object(o)) return jfail(e, N, path, "must be an object, not %s", ls_json_type_name(o));
        json_t *jid = json_object_get(o, "id"), *jc = json_object_get(o, "content");
        if (!jid || !json_is_integer(jid)) return jfail(e, N, path, "'id' must be an integer");
        if (!jc || !json_is_string(jc)) return jfail(e, N, path, "'content' must be a string");
        json_int_t id = json_integer_value(jid);
        if (id < 0 || id >= LS_TOK_MAX_ID)
            return jfail(e, N, path, "id %lld is out of range [0, %d)", (long long)id, LS_TOK_MAX_ID);
        int sw = 0, ls = 0, rs = 0, norm = 0, sp = 0;
        if (get_bool(o, "single_word", 0, &sw, e, N, path) || get_bool(o, "lstrip", 0, &ls, e, N, path) ||
            get_bool(o, "rstrip", 0, &rs, e, N, path) || get_bool(o, "special", 0, &sp, e, N, path) ||
            get_bool(o, "normalized", !sp, &norm, e, N, path))
            return LS_ERR;
        const char *c = json_string_value(jc);
        size_t cl = json_string_length(jc);
        if (cl == 0) continue; /* `tokenizers` ignores empty added tokens */
        if (memchr(c, 0, cl)) return jfail(e, N, path, "'content' contains a NUL character");
        /* The id `tokenizers` gives the token (added_vocabulary.rs add_tokens): its model.vocab id if
         * it has one, else the next free id after the model vocabulary and the added tokens so far.
         * The JSON id is only checked there, so a file whose ids disagree is rejected here rather
         * than encoded with different ids. */
        int32_t want = ls_strmap_get(&t->vocab, c, cl);
        if (want < 0) {
            int32_t vs = (int32_t)t->vocab.n;
            want = max_added < 0 ? vs : (max_added >= vs || vs == 0) ? max_added + 1 : vs;
        }
        if (want != id)
            return jfail(e, N, path, "\"%s\" has id %lld but HF tokenizers would give it id %d", c,
                         (long long)id, want);
        if (id > max_added) max_added = (int32_t)id;
        LsAddedToken *a = &t->added[t->n_added];
        a->content = ls_strdup(c);
        a->len = (uint32_t)cl;
        a->id = (int32_t)id;
        a->single_word = (uint8_t)sw, a->lstrip = (uint8_t)ls, a->rstrip = (uint8_t)rs;
        a->normalized = (uint8_t)norm, a->special = (uint8_t)sp;
        if (ls_strmap_put(&t->added_map, a->content, cl, a->id) >= 0) {
            free(a->content);
            return jfail(e, N, path, "duplicate added token \"%s\"", c);
        }
        t->n_added++;
        if (id >= t->id_cap) t->id_cap = (int32_t)id + 1;
    }
    return LS_OK;
}

/* Decoded text of every model token of a SentencePiece-style vocabulary: a "<0xXX>" token is its byte
 * (when the decoder has ByteFallback), the others their text after the decoder's Replace. */
static void model_pieces(LsTokenizer *t) {
    size_t total = 0;
    for (uint32_t k = 0; k < t->vocab.n; k++)
        total += dec_replace(t, t->vocab.ent[k].key, t->vocab.ent[k].len, NULL);
    t->dec_arena = ls_malloc(total + 1);
    size_t off = 0;
    for (uint32_t k = 0; k < t->vocab.n; k++) {
        const LsStrEntry *en = &t->vocab.ent[k];
        uint8_t *r = (uint8_t *)t->dec_arena + off;
        int b = t->dec_byte_fallback ? ls_tok_fallback_byte(en->key, en->len) : -1;
        size_t rl = b >= 0 ? 1 : dec_replace(t, en->key, en->len, (char *)r);
        if (b >= 0) r[0] = (uint8_t)b;
        t->id_isbyte[en->val] = b >= 0;
        t->id_raw[en->val] = r;
        t->id_rawlen[en->val] = (uint32_t)rl;
        off += rl;
    }
}

/* Builds the id tables and checks added ids against the model's. */
static int build_id_tables(LsTokenizer *t, LsError *e) {
    int32_t cap = t->id_cap > 0 ? t->id_cap : 1;
    t->id_tok = ls_calloc((size_t)cap, sizeof *t->id_tok);
    t->id_raw = ls_calloc((size_t)cap, sizeof *t->id_raw);
    t->id_rawlen = ls_calloc((size_t)cap, sizeof *t->id_rawlen);
    t->id_kind = ls_calloc((size_t)cap, sizeof *t->id_kind);
    for (uint32_t k = 0; k < t->vocab.n; k++) {
        const LsStrEntry *en = &t->vocab.ent[k];
        if (t->id_tok[en->val])
            return jfail(e, t->name, "model.vocab", "id %d is given to both \"%s\" and \"%s\"", en->val,
                         t->id_tok[en->val], en->key);
        t->id_tok[en->val] = en->key;
        t->id_kind[en->val] = 1;
    }
    t->id_isbyte = ls_calloc((size_t)cap, 1);
    if (!t->byte_level) model_pieces(t);
    /* raw bytes: tokens in vocab_raw decode through the byte map; the others as their UTF-8 */
    for (uint32_t k = 0; k < t->vocab_raw.n && t->byte_level; k++) {
        const LsStrEntry *en = &t->vocab_raw.ent[k];
        t->id_raw[en->val] = (const uint8_t *)en->key;
        t->id_rawlen[en->val] = en->len;
    }
    for (int32_t id = 0; id < cap; id++)
        if (t->id_kind[id] == 1 && !t->id_raw[id]) {
            t->id_raw[id] = (const uint8_t *)t->id_tok[id];
            t->id_rawlen[id] = (uint32_t)strlen(t->id_tok[id]);
        }
    for (int i = 0; i < 256; i++) {
        uint8_t b = (uint8_t)i;
        t->byte_id[i] = ls_strmap_get(&t->vocab_raw, &b, 1);
    }
    /* `tokenizers` stores a normalized added token's content normalized (id_to_token and decode
     * see the NFC form) while token_to_id keeps the JSON form. */
    t->norm_contents = ls_calloc((size_t)(t->n_added ? t->n_added : 1), sizeof *t->norm_contents);
    size_t total = 0;
    for (int32_t i = 0; i < t->n_added; i++) {
        LsAddedToken *a = &t->added[i];
        if (a->normalized) {
            size_t nl;
            const uint8_t *ns = ls_tok_normalize(t, (const uint8_t *)a->content, a->len, &nl);
            t->norm_contents[i] = ls_malloc(nl + 1);
            memcpy(t->norm_contents[i], ns, nl);
            t->norm_contents[i][nl] = 0;
            total += strlen(t->norm_contents[i]);
        } else {
            total += a->len;
        }
        if (!t->byte_level) total += dec_replace(t, a->content, a->len, NULL); /* Replace may grow it */
    }
    /* added tokens decode through the byte-level decoder too (`tokenizers` passes every token
     * string to the decoder): all chars in the byte alphabet → those bytes, else the UTF-8. */
    t->decoded_arena = ls_malloc(total + 1);
    size_t off = 0;
    for (int32_t i = 0; i < t->n_added; i++) {
        LsAddedToken *a = &t->added[i];
        const char *content = a->normalized ? t->norm_contents[i] : a->content;
        size_t clen = strlen(content);
        if (t->id_kind[a->id] == 1 && strcmp(t->id_tok[a->id], a->content)) {
            char path[64];
            snprintf(path, sizeof path, "added_tokens[%d]", i);
            return jfail(e, t->name, path, "id %d of \"%s\" is already model.vocab token \"%s\"", a->id,
                         a->content, t->id_tok[a->id]);
        }
        t->id_tok[a->id] = content;
        t->id_kind[a->id] = a->special ? 3 : 2;
        uint8_t *r = (uint8_t *)t->decoded_arena + off;
        if (!t->byte_level) {
            int b = t->dec_byte_fallback ? ls_tok_fallback_byte(content, clen) : -1;
            size_t rl = b >= 0 ? 1 : dec_replace(t, content, clen, (char *)r);
            if (b >= 0) r[0] = (uint8_t)b;
            t->id_isbyte[a->id] = b >= 0;
            t->id_raw[a->id] = r;
            t->id_rawlen[a->id] = (uint32_t)rl;
            off += rl;
            continue;
        }
        size_t rl = 0, j = 0;
        int ok = 1;
        while (j < clen) {
            uint32_t cp;
            j += (size_t)ls_tok_utf8_decode((const uint8_t *)content, clen, j, &cp);
            int b = ls_tok_cp_to_byte(cp);
            if (b < 0) {
                ok = 0;
                break;
            }
            r[rl++] = (uint8_t)b;
        }
        if (ok) {
            t->id_raw[a->id] = r;
            t->id_rawlen[a->id] = (uint32_t)rl;
            off += rl;
        } else {
            t->id_raw[a->id] = (const uint8_t *)content;
            t->id_rawlen[a->id] = (uint32_t)clen;
        }
    }
    /* the two tries: non-normalized tokens match the raw text, normalized ones the NFC text */
    trie_init(&t->trie_raw);
    trie_init(&t->trie_norm);
    for (int32_t i = 0; i < t->n_added; i++) {
        LsAddedToken *a = &t->added[i];
        if (!a->normalized) {
            trie_add(&t->trie_raw, (const uint8_t *)a->content, a->len, i);
        } else {
            size_t nl = strlen(t->norm_contents[i]);
            if (nl) trie_add(&t->trie_norm, (const uint8_t *)t->norm_contents[i], nl, i);
        }
    }
    return LS_OK;
}

/* ---- normalizer / pre-tokenizer / post-processor / decoder --------------------------- */

/* A {"String": "..."} pattern (Replace, Split); *out points into the JSON. */
static int string_pattern(LsTokenizer *t, const json_t *j, const char *path, const char **out, size_t *len,
                          LsError *e) {
    json_t *pat = json_object_get(j, "pattern");
    json_t *str = json_is_object(pat) ? json_object_get(pat, "String") : NULL;
    if (!json_is_string(str))
        return jfail(e, t->name, path,
                     "'pattern' must be {\"String\": \"...\"} (Regex is not implemented here)");
    *out = json_string_value(str);
    *len = json_string_length(str);
    if (!*len || memchr(*out, 0, *len))
        return jfail(e, t->name, path, "'pattern' must be a non-empty string without NUL");
    return LS_OK;
}

/* A string member without NUL characters (content, prepend, replacement). */
static int plain_string(LsTokenizer *t, const json_t *j, const char *key, const char *path, const char **out,
                        size_t *len, LsError *e) {
    json_t *v = json_object_get(j, key);
    if (!json_is_string(v)) return jfail(e, t->name, path, "'%s' must be a string", key);
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (memchr(*out, 0, *len)) return jfail(e, t->name, path, "'%s' contains a NUL character", key);
    return LS_OK;
}

static int load_one_norm(LsTokenizer *t, const json_t *j, const char *path, LsError *e) {
    const char *N = t->name, *type = NULL, *from = NULL, *to = NULL;
    size_t fl = 0, tl = 0;
    if (get_type(j, &type, e, N, path)) return LS_ERR;
    LsNormKind kind;
    if (!strcmp(type, "NFC")) {
        kind = LS_NORM_NFC;
    } else if (!strcmp(type, "Replace")) {
        kind = LS_NORM_REPLACE;
        if (string_pattern(t, j, path, &from, &fl, e) || plain_string(t, j, "content", path, &to, &tl, e))
            return LS_ERR;
    } else if (!strcmp(type, "Prepend")) {
        kind = LS_NORM_PREPEND;
        if (plain_string(t, j, "prepend", path, &to, &tl, e)) return LS_ERR;
    } else {
        return jfail(e, N, path,
                     "normalizer type \"%s\" is not implemented (only NFC, Replace, Prepend, Sequence)",
                     type);
    }
    if (t->n_norms == LS_TOK_MAX_NORMS) return jfail(e, N, path, "too many normalizers");
    LsNormStep *st = &t->norms[t->n_norms++];
    st->kind = kind;
    st->from = from ? ls_strdup(from) : NULL, st->from_len = fl;
    st->to = to ? ls_strdup(to) : NULL, st->to_len = tl;
    return LS_OK;
}

static int load_normalizer(LsTokenizer *t, const json_t *j, LsError *e) {
    const char *N = t->name, *type = NULL;
    if (!j || json_is_null(j)) return LS_OK;
    if (get_type(j, &type, e, N, "normalizer")) return LS_ERR;
    if (strcmp(type, "Sequence")) {
        char path[] = "normalizer.type";
        if (strcmp(type, "NFC") && strcmp(type, "Replace") && strcmp(type, "Prepend"))
            return jfail(e, N, path,
                         "normalizer type \"%s\" is not implemented (only NFC, Replace, Prepend, Sequence)",
                         type);
        return load_one_norm(t, j, "normalizer", e);
    }
    json_t *arr = json_object_get(j, "normalizers");
    if (!json_is_array(arr)) return jfail(e, N, "normalizer.normalizers", "must be an array");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "normalizer.normalizers[%zu]", i);
        if (load_one_norm(t, json_array_get(arr, i), path, e)) return LS_ERR;
    }
    return LS_OK;
}

/* Unicode White_Space: Oniguruma's (hence `tokenizers`') \s. PCRE2's \s also matches U+180E. */
#define WS_BODY                                                                                              \
    "\\t-\\r\\x20\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
/* \p{L} and \p{N} plus what Oniguruma's newer Unicode tables add (tok_onig_extra.h). */
#define LET_BODY "\\p{L}" LS_ONIG_EXTRA_L
#define NUM_BODY "\\p{N}" LS_ONIG_EXTRA_N

/* Rewrites an Oniguruma pattern for PCRE2 so both match the same characters: \s and \S become
 * explicit White_Space classes and \p{N} gets the numerals PCRE2's older tables lack. Returns a
 * heap string, or NULL with *why set for a construct this rewrite cannot express. */
static char *onig_to_pcre2(const char *src, size_t len, const char **why) {
    size_t cap = len * 8 + 4096, o = 0;
    char *out = ls_malloc(cap);
    int in_class = 0;
#define EMIT(str)                                                                                            \
    do {                                                                                                     \
        size_t l_ = strlen(str);                                                                             \
        memcpy(out + o, str, l_);                                                                            \
        o += l_;                                                                                             \
    } while (0)
    for (size_t i = 0; i < len;) {
        if (o + 2048 > cap) {
            cap *= 2;
            out = ls_realloc(out, cap);
        }
        char c = src[i];
        if (c == '\\' && i + 1 < len) {
            char d = src[i + 1];
            if (d == 's') {
                EMIT(in_class ? WS_BODY : "[" WS_BODY "]");
                i += 2;
            } else if (d == 'S') {
                if (in_class) {
                    free(out);
                    *why = "\\S inside a character class is not supported";
                    return NULL;
                }
                EMIT("[^" WS_BODY "]");
                i += 2;
            } else if (d == 'Q') {
                free(out);
                *why = "\\Q...\\E quoting is not supported";
                return NULL;
            } else if (len - i >= 5 && !memcmp(src + i, "\\p{N}", 5)) {
                EMIT(in_class ? NUM_BODY : "[" NUM_BODY "]");
                i += 5;
            } else if (len - i >= 5 && !memcmp(src + i, "\\p{L}", 5)) {
                EMIT(in_class ? LET_BODY : "[" LET_BODY "]");
                i += 5;
            } else {
                out[o++] = c;
                out[o++] = d;
                i += 2;
            }
        } else if (c == '[' && !in_class) {
            in_class = 1;
            out[o++] = src[i++];
            if (i < len && src[i] == '^') out[o++] = src[i++];
            if (i < len && src[i] == ']') out[o++] = src[i++]; /* a literal ] first in the class */
        } else if (c == '[' && in_class && i + 1 < len && src[i + 1] == ':') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < len; k++)
                if (src[k] == ':' && src[k + 1] == ']') {
                    end = src + k + 2;
                    break;
                }
            size_t l = end ? (size_t)(end - (src + i)) : 1;
            while (o + l + 2048 > cap) {
                cap *= 2;
                out = ls_realloc(out, cap);
            }
            memcpy(out + o, src + i, l);
            o += l;
            i += l;
        } else {
            if (c == ']' && in_class) in_class = 0;
            out[o++] = src[i++];
        }
    }
#undef EMIT
    out[o] = 0;
    return out;
}

static int add_split(LsTokenizer *t, const char *pat, size_t len, int literal, LsSplitBehavior behavior,
                     LsError *e, const char *path) {
    if (t->n_splits == LS_TOK_MAX_SPLITS) return jfail(e, t->name, path, "too many Split pre-tokenizers");
    int err;
    PCRE2_SIZE eoff;
    uint32_t opts = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    /* compile the pattern as written first, so errors point into it */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &err, &eoff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return jfail(e, t->name, path, "invalid regex at offset %zu: %s", (size_t)eoff, (const char *)msg);
    }
    if (!literal) {
        const char *why = NULL;
        char *rw = onig_to_pcre2(pat, len, &why);
        pcre2_code_free(re);
        if (!rw) return jfail(e, t->name, path, "regex not supported: %s", why);
        re = pcre2_compile((PCRE2_SPTR)rw, PCRE2_ZERO_TERMINATED, opts, &err, &eoff, NULL);
        free(rw);
        if (!re) return jfail(e, t->name, path, "regex not supported after rewriting \\s and \\p{N}");
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is unavailable */
    LsSplit *s = &t->splits[t->n_splits++];
    s->re = re;
    s->md = pcre2_match_data_create_from_pattern(re, NULL);
    s->behavior = behavior;
    return LS_OK;
}

static int load_split(LsTokenizer *t, const json_t *j, const char *path, LsError *e) {
    const char *N = t->name;
    char sub[128];
    json_t *pat = json_object_get(j, "pattern"), *beh = json_object_get(j, "behavior");
    int invert = 0;
    if (get_bool(j, "invert", 0, &invert, e, N, path)) return LS_ERR;
    if (invert) return jfail(e, N, path, "Split with invert = true is not implemented");
    if (!json_is_string(beh)) return jfail(e, N, path, "'behavior' must be a string");
    const char *b = json_string_value(beh);
    LsSplitBehavior behavior;
    if (!strcmp(b, "Isolated"))
        behavior = LS_SPLIT_ISOLATED;
    else if (!strcmp(b, "Removed"))
        behavior = LS_SPLIT_REMOVED;
    else if (!strcmp(b, "MergedWithPrevious"))
        behavior = LS_SPLIT_MERGED_WITH_PREVIOUS;
    else
        return jfail(e, N, path,
                     "Split behavior \"%s\" is not implemented (only Isolated, Removed, MergedWithPrevious)",
                     b);
    if (!json_is_object(pat)) return jfail(e, N, path, "'pattern' must be an object {\"Regex\": ...}");
    json_t *rx = json_object_get(pat, "Regex"), *str = json_object_get(pat, "String");
    snprintf(sub, sizeof sub, "%s.pattern.%s", path, rx ? "Regex" : "String");
    if (rx && json_is_string(rx))
        return add_split(t, json_string_value(rx), json_string_length(rx), 0, behavior, e, sub);
    if (str && json_is_string(str) && json_string_length(str))
        return add_split(t, json_string_value(str), json_string_length(str), 1, behavior, e, sub);
    return jfail(e, N, sub,
                 "must be a string in {\"Regex\": \"...\"} or a non-empty one in {\"String\": \"...\"}");
}

/* Metaspace: replacement (one character), prepend_scheme (or the older add_prefix_space), split. */
static int load_metaspace(LsTokenizer *t, const json_t *j, const char *path, LsError *e) {
    const char *N = t->name, *rep;
    size_t rl;
    if (plain_string(t, j, "replacement", path, &rep, &rl, e)) return LS_ERR;
    uint32_t cp;
    if (rl == 0 || rl >= sizeof t->metaspace ||
        (size_t)ls_tok_utf8_decode((const uint8_t *)rep, rl, 0, &cp) != rl)
        return jfail(e, N, path, "'replacement' must be one character");
    int split = 1, aps = 1;
    if (get_bool(j, "split", 1, &split, e, N, path) || get_bool(j, "add_prefix_space", 1, &aps, e, N, path))
        return LS_ERR;
    if (split) return jfail(e, N, path, "Metaspace with split = true is not implemented");
    json_t *ps = json_object_get(j, "prepend_scheme");
    const char *scheme = json_is_string(ps) ? json_string_value(ps) : aps ? "always" : "never";
    if (!strcmp(scheme, "always"))
        t->metaspace_prepend = LS_PREPEND_ALWAYS;
    else if (!strcmp(scheme, "first"))
        t->metaspace_prepend = LS_PREPEND_FIRST;
    else if (!strcmp(scheme, "never"))
        t->metaspace_prepend = LS_PREPEND_NEVER;
    else
        return jfail(e, N, path, "prepend_scheme \"%s\" is not known (always, first, never)", scheme);
    memcpy(t->metaspace, rep, rl);
    t->metaspace_len = rl;
    return LS_OK;
}

static int load_one_pre(LsTokenizer *t, const json_t *j, const char *path, int index, int *have_bl,
                        LsError *e) {
    const char *N = t->name, *type = NULL;
    if (get_type(j, &type, e, N, path)) return LS_ERR;
    if (*have_bl) return jfail(e, N, path, "pre-tokenizer \"%s\" after ByteLevel is not implemented", type);
    if (!strcmp(type, "Split")) return load_split(t, j, path, e);
    if (!strcmp(type, "Digits")) { /* pre_tokenizers/digits.rs: ASCII digits, Isolated or Contiguous */
        int individual = 0;
        if (get_bool(j, "individual_digits", 0, &individual, e, N, path)) return LS_ERR;
        return add_split(t, individual ? "[0-9]" : "[0-9]+", individual ? 5 : 6, 0, LS_SPLIT_ISOLATED, e,
                         path);
    }
    if (!strcmp(type, "Metaspace")) {
        if (index > 0) return jfail(e, N, path, "Metaspace is only implemented as the first pre-tokenizer");
        return load_metaspace(t, j, path, e);
    }
    if (!strcmp(type, "ByteLevel")) {
        int aps = 0, use_regex = 0;
        if (get_bool(j, "add_prefix_space", 0, &aps, e, N, path) ||
            get_bool(j, "use_regex", 1, &use_regex, e, N, path))
            return LS_ERR;
        if (aps) return jfail(e, N, path, "ByteLevel add_prefix_space = true is not implemented");
        if (use_regex && add_split(t, GPT2_REGEX, sizeof GPT2_REGEX - 1, 0, LS_SPLIT_ISOLATED, e, path))
            return LS_ERR;
        *have_bl = 1;
        return LS_OK;
    }
    return jfail(
        e, N, path,
        "pre-tokenizer type \"%s\" is not implemented (only Split, Digits, Metaspace, ByteLevel, Sequence)",
        type);
}

/* Sets t->byte_level: a ByteLevel pre-tokenizer (last) means a byte-level vocabulary. */
static int load_pre(LsTokenizer *t, const json_t *j, LsError *e) {
    const char *N = t->name, *type = NULL;
    int have_bl = 0;
    if (j && !json_is_null(j)) {
        if (get_type(j, &type, e, N, "pre_tokenizer")) return LS_ERR;
        if (!strcmp(type, "Sequence")) {
            json_t *arr = json_object_get(j, "pretokenizers");
            if (!json_is_array(arr)) return jfail(e, N, "pre_tokenizer.pretokenizers", "must be an array");
            size_t n = json_array_size(arr);
            for (size_t i = 0; i < n; i++) {
                char path[64];
                snprintf(path, sizeof path, "pre_tokenizer.pretokenizers[%zu]", i);
                if (load_one_pre(t, json_array_get(arr, i), path, (int)i, &have_bl, e)) return LS_ERR;
            }
        } else if (load_one_pre(t, j, "pre_tokenizer", 0, &have_bl, e)) {
            return LS_ERR;
        }
    }
    t->byte_level = have_bl;
    return LS_OK;
}

/* TemplateProcessing: ids of the special tokens before and after $A in "single". */
static int load_template(LsTokenizer *t, const json_t *j, const char *path, int32_t *pre, int *npre,
                         int32_t *suf, int *nsuf, LsError *e) {
    const char *N = t->name;
    char sub[128];
    json_t *single = json_object_get(j, "single"), *sp = json_object_get(j, "special_tokens");
    snprintf(sub, sizeof sub, "%s.single", path);
    if (!json_is_array(single)) return jfail(e, N, sub, "must be an array of pieces");
    if (sp && !json_is_object(sp)) return jfail(e, N, path, "'special_tokens' must be an object");
    int seen_a = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
        json_t *p = json_array_get(single, i);
        snprintf(sub, sizeof sub, "%s.single[%zu]", path, i);
        json_t *st = json_object_get(p, "SpecialToken"), *sq = json_object_get(p, "Sequence");
        if (json_is_object(sq)) {
            json_t *id = json_object_get(sq, "id");
            if (!json_is_string(id) || strcmp(json_string_value(id), "A"))
                return jfail(e, N, sub, "only Sequence \"A\" is implemented in a single template");
            if (seen_a) return jfail(e, N, sub, "Sequence \"A\" appears twice");
            seen_a = 1;
            continue;
        }
        if (!json_is_object(st))
            return jfail(e, N, sub, "must be {\"SpecialToken\": ...} or {\"Sequence\": ...}");
        json_t *id = json_object_get(st, "id");
        if (!json_is_string(id)) return jfail(e, N, sub, "SpecialToken 'id' must be a string");
        json_t *def = sp ? json_object_get(sp, json_string_value(id)) : NULL;
        if (!json_is_object(def))
            return jfail(e, N, sub, "special token \"%s\" is not in special_tokens", json_string_value(id));
        json_t *ids = json_object_get(def, "ids");
        if (!json_is_array(ids))
            return jfail(e, N, path, "special_tokens[\"%s\"].ids must be an array", json_string_value(id));
        for (size_t k = 0; k < json_array_size(ids); k++) {
            json_t *v = json_array_get(ids, k);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= t->id_cap)
                return jfail(e, N, path, "special_tokens[\"%s\"].ids[%zu] is not a known id",
                             json_string_value(id), k);
            int32_t *dst = seen_a ? suf : pre;
            int *nd = seen_a ? nsuf : npre;
            if (*nd == LS_TOK_MAX_TEMPLATE) return jfail(e, N, path, "too many template tokens");
            dst[(*nd)++] = (int32_t)json_integer_value(v);
        }
    }
    if (!seen_a) return jfail(e, N, sub, "single template has no Sequence \"A\"");
    return LS_OK;
}

static int load_one_post(LsTokenizer *t, const json_t *j, const char *path, LsError *e) {
    const char *N = t->name, *type = NULL;
    if (get_type(j, &type, e, N, path)) return LS_ERR;
    if (!strcmp(type, "ByteLevel")) return LS_OK; /* offsets only; ids unchanged */
    if (!strcmp(type, "TemplateProcessing")) {
        int32_t pre[LS_TOK_MAX_TEMPLATE], suf[LS_TOK_MAX_TEMPLATE];
        int npre = 0, nsuf = 0;
        if (load_template(t, j, path, pre, &npre, suf, &nsuf, e)) return LS_ERR;
        /* a later processor wraps the output of the earlier ones */
        if (t->n_prefix + npre > LS_TOK_MAX_TEMPLATE || t->n_suffix + nsuf > LS_TOK_MAX_TEMPLATE)
            return jfail(e, N, path, "too many template tokens");
        memmove(t->prefix + npre, t->prefix, (size_t)t->n_prefix * sizeof *t->prefix);
        memcpy(t->prefix, pre, (size_t)npre * sizeof *pre);
        t->n_prefix += npre;
        memcpy(t->suffix + t->n_suffix, suf, (size_t)nsuf * sizeof *suf);
        t->n_suffix += nsuf;
        return LS_OK;
    }
    return jfail(
        e, N, path,
        "post-processor type \"%s\" is not implemented (only ByteLevel, TemplateProcessing, Sequence)", type);
}

static int load_post(LsTokenizer *t, const json_t *j, LsError *e) {
    const char *N = t->name, *type = NULL;
    if (!j || json_is_null(j)) return LS_OK;
    if (get_type(j, &type, e, N, "post_processor")) return LS_ERR;
    if (!strcmp(type, "Sequence")) {
        json_t *arr = json_object_get(j, "processors");
        if (!json_is_array(arr)) return jfail(e, N, "post_processor.processors", "must be an array");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            char path[64];
            snprintf(path, sizeof path, "post_processor.processors[%zu]", i);
            if (load_one_post(t, json_array_get(arr, i), path, e)) return LS_ERR;
        }
        return LS_OK;
    }
    return load_one_post(t, j, "post_processor", e);
}

/* One step of a non-ByteLevel decoder, in the order Replace, ByteFallback, Fuse, Strip. */
static int load_one_dec(LsTokenizer *t, const json_t *j, const char *path, int *stage, LsError *e) {
    const char *N = t->name, *type = NULL;
    if (get_type(j, &type, e, N, path)) return LS_ERR;
    static const char *const ORDER[] = {"Replace", "ByteFallback", "Fuse", "Strip"};
    int k = 0;
    while (k < 4 && strcmp(type, ORDER[k]))
        k++;
    if (k == 4)
        return jfail(
            e, N, path,
            "decoder type \"%s\" is not implemented (only ByteLevel, or Replace, ByteFallback, Fuse, Strip)",
            type);
    if (k < *stage || (k == *stage && k > 0))
        return jfail(e, N, path,
                     "decoder \"%s\" out of the order Replace, ByteFallback, Fuse, Strip is not implemented",
                     type);
    *stage = k;
    if (k == 0) {
        const char *from, *to;
        size_t fl, tl;
        if (t->dec_from) return jfail(e, N, path, "more than one Replace decoder is not implemented");
        if (string_pattern(t, j, path, &from, &fl, e) || plain_string(t, j, "content", path, &to, &tl, e))
            return LS_ERR;
        t->dec_from = ls_strdup(from), t->dec_from_len = fl;
        t->dec_to = ls_strdup(to), t->dec_to_len = tl;
    } else if (k == 1) {
        t->dec_byte_fallback = 1;
    } else if (k == 2) {
        t->dec_fuse = 1;
    } else {
        json_t *c = json_object_get(j, "content"), *start = json_object_get(j, "start"),
               *stop = json_object_get(j, "stop");
        if (!json_is_string(c) || strcmp(json_string_value(c), " ") || !json_is_integer(start) ||
            json_integer_value(start) < 0 || json_integer_value(start) > 64 ||
            (stop && !(json_is_integer(stop) && json_integer_value(stop) == 0)))
            return jfail(e, N, path,
                         "only Strip of up to 64 leading spaces (content \" \", stop 0) is implemented");
        if (!t->dec_fuse) return jfail(e, N, path, "Strip without Fuse before it is not implemented");
        t->dec_strip = (int)json_integer_value(start);
    }
    return LS_OK;
}

/* ByteLevel for a byte-level vocabulary; a SentencePiece-style one needs the piece decoders. */
static int load_decoder(LsTokenizer *t, const json_t *j, LsError *e) {
    const char *type = NULL, *N = t->name;
    if (!j || json_is_null(j)) {
        if (t->byte_level)
            return jfail(e, N, "decoder",
                         "null decoder is not implemented (a ByteLevel vocabulary needs ByteLevel)");
        return LS_OK;
    }
    if (get_type(j, &type, e, N, "decoder")) return LS_ERR;
    if (!strcmp(type, "ByteLevel")) {
        if (!t->byte_level)
            return jfail(e, N, "pre_tokenizer",
                         "a ByteLevel decoder without a ByteLevel pre-tokenizer is not implemented");
        return LS_OK;
    }
    if (t->byte_level)
        return jfail(e, N, "decoder.type", "decoder type \"%s\" is not implemented (only ByteLevel)", type);
    int stage = 0;
    if (strcmp(type, "Sequence")) return load_one_dec(t, j, "decoder", &stage, e);
    json_t *arr = json_object_get(j, "decoders");
    if (!json_is_array(arr)) return jfail(e, N, "decoder.decoders", "must be an array");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[64];
        snprintf(path, sizeof path, "decoder.decoders[%zu]", i);
        if (load_one_dec(t, json_array_get(arr, i), path, &stage, e)) return LS_ERR;
    }
    return LS_OK;
}

/* ---- entry points ---------------------------------------------------------------- */

int ls_tok_load_json(LsTokenizer *t, json_t *root, LsError *e) {
    const char *N = t->name;
    if (!json_is_object(root))
        return jfail(e, N, "(root)", "must be an object, not %s", ls_json_type_name(root));
    json_t *v = json_object_get(root, "version");
    if (v && (!json_is_string(v) || strcmp(json_string_value(v), "1.0")))
        return jfail(e, N, "version", "unknown tokenizer.json version (expected \"1.0\")");
    if ((v = json_object_get(root, "truncation")) && !json_is_null(v))
        return jfail(e, N, "truncation", "truncation is not implemented (must be null)");
    if ((v = json_object_get(root, "padding")) && !json_is_null(v))
        return jfail(e, N, "padding", "padding is not implemented (must be null)");
    /* the pre-tokenizer says whether the vocabulary is byte-level, which the decoder and the
     * model's byte tables depend on */
    if (load_normalizer(t, json_object_get(root, "normalizer"), e) ||
        load_pre(t, json_object_get(root, "pre_tokenizer"), e) ||
        load_decoder(t, json_object_get(root, "decoder"), e) ||
        load_model(t, json_object_get(root, "model"), e) ||
        load_added(t, json_object_get(root, "added_tokens"), e) || build_id_tables(t, e) ||
        load_post(t, json_object_get(root, "post_processor"), e))
        return LS_ERR;
    return LS_OK;
}

LsTokenizer *ls_tok_alloc(const char *name, const void *hashed, size_t hashed_len) {
    LsTokenizer *t = ls_calloc(1, sizeof *t);
    t->name = ls_strdup(name ? name : "tokenizer.json");
    t->bos_id = t->eos_id = t->unk_id = -1;
    uint8_t sha[32];
    ls_sha256(hashed, hashed_len, sha);
    for (int i = 0; i < 32; i++)
        snprintf(t->sha_hex + 2 * i, 3, "%02x", sha[i]);
    ls_strmap_init(&t->cache, 4096);
    t->mctx = pcre2_match_context_create(NULL);
    t->jstack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
    if (t->mctx && t->jstack) pcre2_jit_stack_assign(t->mctx, NULL, t->jstack);
    return t;
}

int ls_tokenizer_load_bytes(LsTokenizer **out, const char *json, size_t len, const char *name, LsError *e) {
    *out = NULL;
    LsTokenizer *t = ls_tok_alloc(name, json, len);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    int rc = root ? ls_tok_load_json(t, root, e)
                  : ls_fail(e, "%s:%d:%d: invalid JSON: %s", t->name, je.line, je.column, je.text);
    json_decref(root);
    if (rc) {
        ls_tokenizer_free(t);
        return LS_ERR;
    }
    *out = t;
    return LS_OK;
}

int ls_tokenizer_load_file(LsTokenizer **out, const char *json_path, LsError *e) {
    char *buf;
    size_t len;
    *out = NULL;
    if (ls_read_file(json_path, LS_TOK_MAX_FILE, &buf, &len, e)) return LS_ERR;
    int rc = ls_tokenizer_load_bytes(out, buf, len, json_path, e);
    free(buf);
    return rc;
}

/* tokenizer_config.json: "bos_token" / "eos_token" as a string or {"content": ...}. */
static int config_token(LsTokenizer *t, json_t *root, const char *key, const char *name, int32_t *id,
                        LsError *e) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return LS_OK;
    if (json_is_object(v)) v = json_object_get(v, "content");
    if (!json_is_string(v)) return jfail(e, name, key, "must be a string, an object with 'content', or null");
    *id = ls_tokenizer_token_to_id(t, json_string_value(v), json_string_length(v));
    if (*id < 0) return jfail(e, name, key, "\"%s\" is not a token of the tokenizer", json_string_value(v));
    return LS_OK;
}

int ls_tok_load_json_dir(LsTokenizer **out, const char *dir, LsError *e) {
    char *p = ls_path_join(dir, "tokenizer.json");
    int rc = ls_tokenizer_load_file(out, p, e);
    free(p);
    if (rc) return rc;
    p = ls_path_join(dir, "tokenizer_config.json");
    struct stat st;
    if (stat(p, &st) == 0) {
        char *buf;
        size_t len;
        json_error_t je;
        json_t *root = NULL;
        rc = ls_read_file(p, 64u << 20, &buf, &len, e);
        if (rc == LS_OK) {
            root = json_loadb(buf, len, JSON_DECODE_INT_AS_REAL, &je); /* model_max_length can exceed int64 */
            free(buf);
            if (!root)
                rc = ls_fail(e, "%s:%d:%d: invalid JSON: %s", p, je.line, je.column, je.text);
            else if (!json_is_object(root))
                rc = jfail(e, p, "(root)", "must be an object");
            else if (config_token(*out, root, "bos_token", p, &(*out)->bos_id, e) ||
                     config_token(*out, root, "eos_token", p, &(*out)->eos_id, e))
                rc = LS_ERR;
        }
        json_decref(root);
    }
    free(p);
    if (rc) {
        ls_tokenizer_free(*out);
        *out = NULL;
    }
    return rc;
}

void ls_tokenizer_free(LsTokenizer *t) {
    if (!t) return;
    free(t->name);
    free(t->vocab_arena);
    free(t->raw_arena);
    ls_strmap_free(&t->vocab);
    ls_strmap_free(&t->vocab_raw);
    ls_pairmap_free(&t->merges);
    free(t->id_tok);
    free(t->id_raw);
    free(t->id_rawlen);
    free(t->id_kind);
    free(t->decoded_arena);
    for (int32_t i = 0; i < t->n_added; i++) {
        free(t->added[i].content);
        if (t->norm_contents) free(t->norm_contents[i]);
    }
    free(t->added);
    free(t->norm_contents);
    ls_strmap_free(&t->added_map);
    free(t->trie_raw.nodes);
    free(t->trie_norm.nodes);
    for (int i = 0; i < t->n_splits; i++) {
        pcre2_match_data_free(t->splits[i].md);
        pcre2_code_free(t->splits[i].re);
    }
    ls_strmap_free(&t->cache);
    pcre2_match_context_free(t->mctx);
    pcre2_jit_stack_free(t->jstack);
    free(t->cache_keys);
    free(t->cache_ids);
    free(t->norm_buf);
    free(t->norm_buf2);
    for (int i = 0; i < t->n_norms; i++) {
        free(t->norms[i].from);
        free(t->norms[i].to);
    }
    free(t->dec_from);
    free(t->dec_to);
    free(t->dec_arena);
    free(t->id_isbyte);
    free(t->sym);
    free(t->heap);
    free(t);
}
