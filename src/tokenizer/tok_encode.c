/* tok_encode.c — text → ids and ids → text, following `tokenizers` step by step:
 *
 *   1. added tokens that are not `normalized` are cut out of the raw text (leftmost-longest,
 *      with single_word / lstrip / rstrip as in added_vocabulary.rs find_matches);
 *   2. each remaining piece is normalised (NFC) and the `normalized` added tokens are cut out;
 *   3. each remaining piece goes through the Split regexes (Isolated: matches and the gaps between
 *      them are pieces; Removed: matches are dropped);
 *   4. each pre-token is BPE-merged on its raw bytes (the byte-level alphabet is only a renaming of
 *      the 256 bytes, so the vocabulary is indexed by raw bytes); merges are applied lowest rank
 *      first, leftmost first among equal ranks, with a binary heap like bpe/word.rs merge_all —
 *      O(n log n) on a 1 MB pre-token; short words are cached.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tok_internal.h"
#include "tok_unicode_compat.h"

#define CACHE_MAX_WORD 256         /* `tokenizers` caches words shorter than 256 chars too */
#define CACHE_KEY_BYTES (8u << 20) /* arena of cached words; cache cleared when full */
#define CACHE_MAX_ENTRIES (1u << 18)

typedef struct {
    int32_t id, prev, next;
    uint32_t len; /* raw bytes covered; 0 = merged away */
} Sym;

typedef struct {
    int32_t rank, pos, id;
} Merge;

/* ---- id vector -------------------------------------------------------------------- */

static inline void push_id(int32_t **ids, size_t *n, size_t *cap, int32_t id) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *ids = ls_realloc(*ids, *cap * sizeof **ids);
    }
    (*ids)[(*n)++] = id;
}

/* ---- min-heap on (rank, pos) --------------------------------------------------------- */

static inline int merge_less(const Merge *a, const Merge *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(Merge *h, size_t *n, Merge m) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!merge_less(&m, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = m;
}

static Merge heap_pop(Merge *h, size_t *n) {
    Merge top = h[0], last = h[--(*n)];
    size_t i = 0, len = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= len) break;
        if (c + 1 < len && merge_less(&h[c + 1], &h[c])) c++;
        if (!merge_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (len) h[i] = last;
    return top;
}

/* ---- BPE of one pre-token ----------------------------------------------------------- */

static void cache_put(LsTokenizer *t, const uint8_t *w, size_t n, const int32_t *ids, size_t nids) {
    if (!t->cache_keys) t->cache_keys = ls_malloc(CACHE_KEY_BYTES);
    if (t->cache_keys_len + n > CACHE_KEY_BYTES || t->cache.n >= CACHE_MAX_ENTRIES) {
        ls_strmap_clear(&t->cache);
        t->cache_keys_len = 0;
        t->cache_ids_len = 0;
    }
    if (t->cache_ids_len + nids + 1 > t->cache_ids_cap) {
        t->cache_ids_cap = (t->cache_ids_len + nids + 1) * 2;
        t->cache_ids = ls_realloc(t->cache_ids, t->cache_ids_cap * sizeof *t->cache_ids);
    }
    char *k = t->cache_keys + t->cache_keys_len;
    memcpy(k, w, n);
    t->cache_keys_len += n;
    ls_strmap_put(&t->cache, k, n, (int32_t)t->cache_ids_len);
    t->cache_ids[t->cache_ids_len++] = (int32_t)nids;
    memcpy(t->cache_ids + t->cache_ids_len, ids, nids * sizeof *ids);
    t->cache_ids_len += nids;
}

static inline void sym_push(Sym *s, int32_t *ns, int32_t id, uint32_t len) {
    s[*ns] = (Sym){id, *ns - 1, *ns + 1, len};
    (*ns)++;
}

/* Byte-level vocabulary: one symbol per byte (one per byte-level char); unknown bytes become unk
 * (fused when fuse_unk) or are dropped when there is no unk token, as in `tokenizers`. */
static int32_t byte_symbols(const LsTokenizer *t, const uint8_t *w, size_t n, Sym *s) {
    int32_t ns = 0;
    int last_unk = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[w[i]];
        if (id < 0) {
            if (t->unk_id < 0) continue;
            if (t->fuse_unk && last_unk) {
                s[ns - 1].len++;
                continue;
            }
            id = t->unk_id;
            last_unk = 1;
        } else {
            last_unk = 0;
        }
        sym_push(s, &ns, id, 1);
    }
    return ns;
}

/* SentencePiece-style vocabulary (bpe/model.rs merge_word): one symbol per character found in the
 * vocabulary; else, with byte_fallback, one "<0xXX>" symbol per byte when all of them exist; else unk
 * (a pending unk is fused with the next unknown character when fuse_unk, and, as in `tokenizers`,
 * only written out before the next known character or at the end). */
static int32_t char_symbols(const LsTokenizer *t, const uint8_t *w, size_t n, Sym *s) {
    int32_t ns = 0;
    uint32_t unk_len = 0; /* pending unk, 0 = none */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = (size_t)ls_tok_utf8_decode(w, n, i, &cp);
        int32_t id = ls_strmap_get(&t->vocab, w + i, l);
        if (id >= 0) {
            if (unk_len) sym_push(s, &ns, t->unk_id, unk_len);
            unk_len = 0;
            sym_push(s, &ns, id, (uint32_t)l);
            i += l;
            continue;
        }
        int all_bytes = t->byte_fallback;
        for (size_t k = 0; k < l && all_bytes; k++)
            all_bytes = t->fallback_id[w[i + k]] >= 0;
        if (all_bytes) {
            for (size_t k = 0; k < l; k++)
                sym_push(s, &ns, t->fallback_id[w[i + k]], 1);
        } else if (t->unk_id >= 0) {
            if (unk_len && !t->fuse_unk) sym_push(s, &ns, t->unk_id, unk_len), unk_len = 0;
            unk_len += (uint32_t)l;
        }
        i += l;
    }
    if (unk_len) sym_push(s, &ns, t->unk_id, unk_len);
    return ns;
}

void ls_tok_bpe_word(LsTokenizer *t, const uint8_t *w, size_t n, int32_t **ids, size_t *nids, size_t *cap) {
    if (n == 0) return;
    if (t->ignore_merges) {
        int32_t id = ls_strmap_get(t->byte_level ? &t->vocab_raw : &t->vocab, w, n);
        if (id >= 0) {
            push_id(ids, nids, cap, id);
            return;
        }
    }
    if (n <= CACHE_MAX_WORD) {
        int32_t off = ls_strmap_get(&t->cache, w, n);
        if (off >= 0) {
            int32_t cnt = t->cache_ids[off];
            for (int32_t i = 0; i < cnt; i++)
                push_id(ids, nids, cap, t->cache_ids[off + 1 + i]);
            return;
        }
    }
    if (n > t->sym_cap) {
        t->sym_cap = n * 2;
        free(t->sym);
        free(t->heap);
        t->sym = ls_malloc(t->sym_cap * sizeof(Sym));
        t->heap = ls_malloc(t->sym_cap * 2 * sizeof(Merge));
        t->heap_cap = t->sym_cap * 2;
    }
    Sym *s = (Sym *)t->sym;
    int32_t ns = t->byte_level ? byte_symbols(t, w, n, s) : char_symbols(t, w, n, s);
    if (ns == 0) return;
    s[ns - 1].next = -1;

    /* merge loop (bpe/word.rs merge_all) */
    Merge *h = (Merge *)t->heap;
    size_t nh = 0;
    int32_t rank, nid;
    for (int32_t i = 0; i + 1 < ns; i++)
        if (ls_pairmap_get(&t->merges, s[i].id, s[i + 1].id, &rank, &nid))
            heap_push(h, &nh, (Merge){rank, i, nid});
    while (nh) {
        Merge top = heap_pop(h, &nh);
        Sym *cur = &s[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        Sym *right = &s[cur->next];
        if (!ls_pairmap_get(&t->merges, cur->id, right->id, &rank, &nid) || nid != top.id) continue;
        cur->id = top.id;
        cur->len += right->len;
        right->len = 0;
        cur->next = right->next;
        if (cur->next >= 0) s[cur->next].prev = top.pos;
        /* the heap holds at most one entry per live pair plus stale ones: bound it */
        if (nh + 2 > t->heap_cap) {
            t->heap_cap *= 2;
            t->heap = ls_realloc(t->heap, t->heap_cap * sizeof(Merge));
            h = (Merge *)t->heap;
        }
        if (cur->prev >= 0 && ls_pairmap_get(&t->merges, s[cur->prev].id, cur->id, &rank, &nid))
            heap_push(h, &nh, (Merge){rank, cur->prev, nid});
        if (cur->next >= 0 && ls_pairmap_get(&t->merges, cur->id, s[cur->next].id, &rank, &nid))
            heap_push(h, &nh, (Merge){rank, top.pos, nid});
    }
    size_t first = *nids;
    for (int32_t i = 0; i >= 0; i = s[i].next)
        push_id(ids, nids, cap, s[i].id);
    if (n <= CACHE_MAX_WORD) cache_put(t, w, n, *ids + first, *nids - first);
}

/* ---- pre-tokenizer ---------------------------------------------------------------- */

typedef struct {
    int32_t **ids;
    size_t *n, *cap;
    LsError *e;
} Out;

static int split_stage(LsTokenizer *t, int k, const uint8_t *s, size_t len, Out *o) {
    if (len == 0) return LS_OK;
    if (k == t->n_splits) {
        ls_tok_bpe_word(t, s, len, o->ids, o->n, o->cap);
        return LS_OK;
    }
    LsSplit *sp = &t->splits[k];
    size_t start = 0, prev = 0;
    while (start <= len) {
        int rc = pcre2_match(sp->re, s, len, start, PCRE2_NO_UTF_CHECK, sp->md, t->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return ls_fail(o->e, "pre-tokenizer regex failed on a %zu-byte piece: %s", len,
                           (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sp->md);
        size_t ms = ov[0], me = ov[1];
        if (ms < prev || me < ms || me > len) /* \K or lookbehind tricks: not what tokenizers does */
            return ls_fail(o->e, "pre-tokenizer regex matched outside the searched range (\\K?)");
        if (sp->behavior == LS_SPLIT_MERGED_WITH_PREVIOUS) {
            /* the match joins the text before it (a match right after a match stands alone) */
            if (split_stage(t, k + 1, s + prev, me - prev, o)) return LS_ERR;
        } else {
            if (ms > prev && split_stage(t, k + 1, s + prev, ms - prev, o)) return LS_ERR;
            if (sp->behavior == LS_SPLIT_ISOLATED && me > ms && split_stage(t, k + 1, s + ms, me - ms, o))
                return LS_ERR;
        }
        prev = me;
        if (me == ms) { /* empty match: step one character */
            if (ms >= len) break;
            uint32_t cp;
            start = ms + (size_t)ls_tok_utf8_decode(s, len, ms, &cp);
        } else {
            start = me;
        }
    }
    if (prev < len) return split_stage(t, k + 1, s + prev, len - prev, o);
    return LS_OK;
}

/* ---- added tokens ------------------------------------------------------------------- */

typedef struct {
    size_t start, end;
    int32_t added; /* index into t->added, or -1 for text */
} Seg;

typedef struct {
    Seg *v;
    size_t n, cap;
} Segs;

static void seg_push(Segs *g, size_t start, size_t end, int32_t added) {
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->v = ls_realloc(g->v, g->cap * sizeof *g->v);
    }
    g->v[g->n++] = (Seg){start, end, added};
}

/* Longest token of the trie starting at s[i]; returns its length (0 = none). */
static size_t trie_longest(const LsTrie *tr, const uint8_t *s, size_t len, size_t i, int32_t *tok) {
    int32_t node = 0;
    size_t best = 0;
    for (size_t j = i; j < len; j++) {
        int32_t c = tr->nodes[node].child;
        while (c >= 0 && tr->nodes[c].byte != s[j])
            c = tr->nodes[c].sibling;
        if (c < 0) break;
        node = c;
        if (tr->nodes[node].token >= 0) {
            best = j + 1 - i;
            *tok = tr->nodes[node].token;
        }
    }
    return best;
}

/* added_vocabulary.rs find_matches: splits s into text and added-token segments. */
static void find_matches(const LsTokenizer *t, const LsTrie *tr, const uint8_t *s, size_t len, Segs *g) {
    g->n = 0;
    size_t pos = 0, start_offset = 0;
    while (tr->any && pos < len) {
        size_t p = pos, mlen = 0;
        int32_t tok = -1;
        for (; p < len; p++)
            if (tr->first[s[p]] && (mlen = trie_longest(tr, s, len, p, &tok)) > 0) break;
        if (!mlen) break;
        size_t start = p, stop = p + mlen;
        pos = stop;
        const LsAddedToken *a = &t->added[tok];
        uint32_t cp;
        if (a->single_word) {
            int start_space = 1, stop_space = 1;
            if (start > 0) {
                size_t q = ls_tok_utf8_prev(s, start);
                ls_tok_utf8_decode(s, len, q, &cp);
                start_space = !ls_tok_is_word_char(cp);
            }
            if (stop < len) {
                ls_tok_utf8_decode(s, len, stop, &cp);
                stop_space = !ls_tok_is_word_char(cp);
            }
            if (!start_space || !stop_space) continue;
        }
        if (a->lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t q = ls_tok_utf8_prev(s, ns);
                ls_tok_utf8_decode(s, len, q, &cp);
                if (!ls_tok_is_white_space(cp)) break;
                ns = q;
            }
            start = ns > start_offset ? ns : start_offset;
        }
        if (a->rstrip) {
            while (stop < len) {
                int l = ls_tok_utf8_decode(s, len, stop, &cp);
                if (!ls_tok_is_white_space(cp)) break;
                stop += (size_t)l;
            }
        }
        if (start_offset < start) seg_push(g, start_offset, start, -1);
        seg_push(g, start, stop, tok);
        start_offset = stop;
    }
    if (start_offset < len) seg_push(g, start_offset, len, -1);
}

static const uint32_t HF_NFC_INERT[] = {LS_HF_NFC_INERT};

/* Marks `tokenizers`' NFC tables do not know: they act as starters that never reorder or compose. */
static int hf_nfc_inert(uint32_t cp) {
    if (cp < HF_NFC_INERT[0]) return 0;
    size_t lo = 0, hi = LS_HF_NFC_INERT_N;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (HF_NFC_INERT[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < LS_HF_NFC_INERT_N && HF_NFC_INERT[lo] == cp;
}

static void norm_append(LsTokenizer *t, size_t *o, const void *p, size_t n) {
    if (!n) return;
    if (*o + n > t->norm_cap) {
        t->norm_cap = (*o + n) * 2;
        t->norm_buf = ls_realloc(t->norm_buf, t->norm_cap);
    }
    memcpy(t->norm_buf + *o, p, n);
    *o += n;
}

static void norm_nfc_append(LsTokenizer *t, size_t *o, const uint8_t *s, size_t n) {
    if (!n) return;
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t ml = utf8proc_map(s, (utf8proc_ssize_t)n, &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (ml < 0) { /* cannot happen on valid UTF-8; keep the text unchanged */
        norm_append(t, o, s, n);
        return;
    }
    norm_append(t, o, m, (size_t)ml);
    free(m);
}

/* NFC of a non-ASCII run with the ASCII character before it, cutting at the marks that tokenizers'
 * tables treat as inert starters (tok_unicode_compat.h). */
static void nfc_run(LsTokenizer *t, size_t *o, const uint8_t *s, size_t len) {
    size_t seg = 0;
    for (size_t j = 0; j < len;) {
        if (s[j] < 0x80) {
            j++;
            continue;
        }
        uint32_t cp;
        size_t l = (size_t)ls_tok_utf8_decode(s, len, j, &cp);
        if (hf_nfc_inert(cp)) {
            norm_nfc_append(t, o, s + seg, j - seg);
            norm_append(t, o, s + j, l);
            seg = j + l;
        }
        j += l;
    }
    norm_nfc_append(t, o, s + seg, len - seg);
}

/* Whether NFC leaves a character alone whatever surrounds it: combining class 0, no decomposition,
 * never part of a composition (Hangul composes algorithmically: excluded). */
static int nfc_stable(uint32_t cp) {
    if ((cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xac00 && cp <= 0xd7a3)) return 0;
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)cp);
    return p->combining_class == 0 && p->decomp_seqindex == UINT16_MAX && p->comb_index == UINT16_MAX;
}

/* NFC of s[0..len) as `tokenizers` computes it, into t->norm_buf (or s itself when nothing can
 * change). ASCII characters are starters that never combine with what precedes them, so the text
 * can be cut before any ASCII character: only each maximal non-ASCII run, with the ASCII character
 * before it (which may compose with the run), goes through utf8proc, and not even that when every
 * character of the run is NFC-stable. */
static const uint8_t *normalize(LsTokenizer *t, const uint8_t *s, size_t len, size_t *outlen) {
    size_t i = 0;
    while (i < len && s[i] < 0x80)
        i++;
    if (i == len) {
        *outlen = len;
        return s;
    }
    size_t o = 0, pos = 0;
    for (size_t j = i; j < len;) {
        if (s[j] < 0x80) {
            j++;
            continue;
        }
        size_t rs = j, re = j;
        int stable = 1;
        while (re < len && s[re] >= 0x80) {
            uint32_t cp;
            size_t l = (size_t)ls_tok_utf8_decode(s, len, re, &cp);
            if (stable && !nfc_stable(cp)) stable = 0;
            re += l;
        }
        if (!stable) {
            size_t seg0 = rs > 0 ? rs - 1 : 0;
            norm_append(t, &o, s + pos, seg0 - pos);
            nfc_run(t, &o, s + seg0, re - seg0);
            pos = re;
        }
        j = re;
    }
    if (pos == 0) { /* every run was stable */
        *outlen = len;
        return s;
    }
    norm_append(t, &o, s + pos, len - pos);
    *outlen = o;
    return (const uint8_t *)t->norm_buf;
}

/* Replace(String from → to) of s[0..len) into t->norm_buf (or s itself when from does not occur). */
static const uint8_t *replace_all(LsTokenizer *t, const uint8_t *s, size_t len, const LsNormStep *st,
                                  size_t *outlen) {
    size_t o = 0, pos = 0;
    const uint8_t *hit;
    while (pos < len && (hit = memmem(s + pos, len - pos, st->from, st->from_len)) != NULL) {
        size_t at = (size_t)(hit - s);
        norm_append(t, &o, s + pos, at - pos);
        norm_append(t, &o, st->to, st->to_len);
        pos = at + st->from_len;
    }
    if (pos == 0) {
        *outlen = len;
        return s;
    }
    norm_append(t, &o, s + pos, len - pos);
    *outlen = o;
    return (const uint8_t *)t->norm_buf;
}

const uint8_t *ls_tok_normalize(LsTokenizer *t, const uint8_t *s, size_t len, size_t *outlen) {
    const uint8_t *cur = s;
    size_t n = len;
    for (int i = 0; i < t->n_norms; i++) {
        const LsNormStep *st = &t->norms[i];
        if (cur == (const uint8_t *)t->norm_buf) { /* the input moves to the second buffer */
            char *b = t->norm_buf;
            size_t c = t->norm_cap;
            t->norm_buf = t->norm_buf2, t->norm_cap = t->norm_cap2;
            t->norm_buf2 = b, t->norm_cap2 = c;
        }
        if (st->kind == LS_NORM_NFC) {
            cur = normalize(t, cur, n, &n);
        } else if (st->kind == LS_NORM_REPLACE) {
            cur = replace_all(t, cur, n, st, &n);
        } else if (n) { /* Prepend: only to non-empty text */
            size_t o = 0;
            norm_append(t, &o, st->to, st->to_len);
            norm_append(t, &o, cur, n);
            cur = (const uint8_t *)t->norm_buf;
            n = o;
        }
    }
    *outlen = n;
    return cur;
}

/* Metaspace (split = false) of one piece, then the Split stages and BPE. first: the piece starts the
 * text (its original offset is 0), for prepend_scheme "first". */
static int pre_tokenize(LsTokenizer *t, const uint8_t *s, size_t len, int first, Out *o) {
    if (!t->metaspace_len || len == 0) return split_stage(t, 0, s, len, o);
    const char *rep = t->metaspace;
    size_t rl = t->metaspace_len, spaces = 0;
    for (size_t i = 0; i < len; i++)
        spaces += s[i] == ' ';
    uint8_t *buf = ls_malloc(len + (spaces + 1) * rl);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(buf + n, rep, rl);
            n += rl;
        } else {
            buf[n++] = s[i];
        }
    }
    int prepend =
        t->metaspace_prepend == LS_PREPEND_ALWAYS || (t->metaspace_prepend == LS_PREPEND_FIRST && first);
    if (prepend && !(n >= rl && !memcmp(buf, rep, rl))) {
        memmove(buf + rl, buf, n);
        memcpy(buf, rep, rl);
        n += rl;
    }
    int rc = split_stage(t, 0, buf, n, o);
    free(buf);
    return rc;
}

/* One piece of text between non-normalized added tokens; first: it starts the text. */
static int encode_text(LsTokenizer *t, const uint8_t *s, size_t len, int first, Out *o) {
    size_t nl = len;
    const uint8_t *ns = ls_tok_normalize(t, s, len, &nl);
    if (!t->trie_norm.any) return pre_tokenize(t, ns, nl, first, o);
    /* normalized added tokens: the normalized text may live in norm_buf, which BPE never touches */
    Segs g = {0};
    find_matches(t, &t->trie_norm, ns, nl, &g);
    int rc = LS_OK;
    for (size_t i = 0; i < g.n && rc == LS_OK; i++) {
        if (g.v[i].added >= 0)
            push_id(o->ids, o->n, o->cap, t->added[g.v[i].added].id);
        else
            rc = pre_tokenize(t, ns + g.v[i].start, g.v[i].end - g.v[i].start, first && g.v[i].start == 0, o);
    }
    free(g.v);
    return rc;
}

int ls_tokenizer_encode(LsTokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                        size_t *n, LsError *e) {
    *ids = NULL;
    *n = 0;
    size_t bad;
    if (len && !ls_utf8_valid((const unsigned char *)text, len, &bad))
        return ls_fail(e, "invalid UTF-8 at byte offset %zu of the text to encode", bad);
    size_t cap = 0;
    Out o = {ids, n, &cap, e};
    if (add_special)
        for (int i = 0; i < t->n_prefix; i++)
            push_id(ids, n, &cap, t->prefix[i]);
    const uint8_t *s = (const uint8_t *)text;
    Segs g = {0};
    find_matches(t, &t->trie_raw, s, len, &g);
    int rc = LS_OK;
    for (size_t i = 0; i < g.n && rc == LS_OK; i++) {
        if (g.v[i].added >= 0)
            push_id(ids, n, &cap, t->added[g.v[i].added].id);
        else
            rc = encode_text(t, s + g.v[i].start, g.v[i].end - g.v[i].start, g.v[i].start == 0, &o);
    }
    free(g.v);
    if (rc == LS_OK && add_special)
        for (int i = 0; i < t->n_suffix; i++)
            push_id(ids, n, &cap, t->suffix[i]);
    if (rc != LS_OK) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return rc;
    }
    if (!*ids) *ids = ls_malloc(sizeof **ids); /* a valid pointer even for no ids */
    return LS_OK;
}

/* ---- decoding and lookups ----------------------------------------------------------- */

const uint8_t *ls_tokenizer_token_bytes(const LsTokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->id_cap || !t->id_kind[id]) {
        *len = 0;
        return NULL;
    }
    *len = t->id_rawlen[id];
    return t->id_raw[id];
}

void ls_tokenizer_byte_lens(const LsTokenizer *t, const int32_t *ids, size_t n, size_t *lens) {
    for (size_t i = 0; i < n; i++)
        ls_tokenizer_token_bytes(t, ids[i], &lens[i]);
}

/* Length of the valid UTF-8 sequence at s[i], or 0 with *bad = bytes of the maximal invalid
 * subpart (Unicode §3.9 / Rust's from_utf8_lossy). */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t i, size_t *bad) {
    uint8_t b = s[i];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b < 0x80) return 1;
    if (b >= 0xc2 && b <= 0xdf)
        need = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        if (b == 0xe0) lo = 0xa0;
        if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        if (b == 0xf0) lo = 0x90;
        if (b == 0xf4) hi = 0x8f;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k < need; k++) {
        uint8_t c = i + k < n ? s[i + k] : 0;
        uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
        if (i + k >= n || c < l || c > h) {
            *bad = k;
            return 0;
        }
    }
    return need;
}

/* The decoder chain Replace, ByteFallback, Fuse, Strip (decoders/byte_fallback.rs): each run of
 * "<0xXX>" tokens becomes its bytes when they are valid UTF-8, else one U+FFFD per token; the other
 * tokens are their text with Replace applied; Strip then drops leading spaces of the fused text. */
static int decode_pieces(const LsTokenizer *t, const int32_t *ids, size_t n, char **out, size_t *outlen) {
    size_t cap = 16;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        ls_tokenizer_token_bytes(t, ids[i], &l);
        cap += l + 3;
    }
    uint8_t *res = ls_malloc(cap);
    size_t o = 0, run = 0; /* run: bytes of the current run of byte tokens, at res + o - run */
    for (size_t i = 0; i <= n; i++) {
        size_t l = 0;
        const uint8_t *p = i < n ? ls_tokenizer_token_bytes(t, ids[i], &l) : NULL;
        if (i < n && !p) continue; /* unknown id: skipped */
        if (i < n && t->dec_byte_fallback && t->id_isbyte[ids[i]]) {
            res[o++] = p[0];
            run++;
            continue;
        }
        if (run && !ls_utf8_valid(res + o - run, run, &(size_t){0})) {
            size_t k = run;
            o -= run;
            while (k--)
                res[o++] = 0xef, res[o++] = 0xbf, res[o++] = 0xbd;
        }
        run = 0;
        if (l) memcpy(res + o, p, l);
        o += l;
    }
    size_t skip = 0;
    while (skip < (size_t)t->dec_strip && skip < o && res[skip] == ' ')
        skip++;
    memmove(res, res + skip, o - skip);
    o -= skip;
    res[o] = 0;
    *out = (char *)res;
    *outlen = o;
    return LS_OK;
}

int ls_tokenizer_decode(const LsTokenizer *t, const int32_t *ids, size_t n, char **out, size_t *outlen) {
    if (!t->byte_level) return decode_pieces(t, ids, n, out, outlen);
    size_t raw = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        ls_tokenizer_token_bytes(t, ids[i], &l);
        raw += l;
    }
    uint8_t *buf = ls_malloc(raw + 1);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const uint8_t *p = ls_tokenizer_token_bytes(t, ids[i], &l);
        if (l) memcpy(buf + off, p, l);
        off += l;
    }
    /* repair: each maximal invalid subpart becomes U+FFFD (3 bytes; at most 3x growth) */
    uint8_t *res = ls_malloc(raw * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < raw;) {
        size_t bad = 0, l = utf8_seq(buf, raw, i, &bad);
        if (l) {
            memcpy(res + o, buf + i, l);
            o += l;
            i += l;
        } else {
            res[o++] = 0xef, res[o++] = 0xbf, res[o++] = 0xbd;
            i += bad;
        }
    }
    res[o] = 0;
    free(buf);
    *out = (char *)res;
    *outlen = o;
    return LS_OK;
}

int32_t ls_tokenizer_token_to_id(const LsTokenizer *t, const char *token, size_t len) {
    int32_t id = ls_strmap_get(&t->added_map, token, len);
    return id >= 0 ? id : ls_strmap_get(&t->vocab, token, len);
}

const char *ls_tokenizer_id_to_token(const LsTokenizer *t, int32_t id) {
    if (id < 0 || id >= t->id_cap) return NULL;
    return t->id_tok[id];
}

int32_t ls_tokenizer_bytes_to_id(const LsTokenizer *t, const void *bytes, size_t len) {
    return ls_strmap_get(&t->vocab_raw, bytes, len);
}

int ls_tokenizer_is_special(const LsTokenizer *t, int32_t id) {
    return id >= 0 && id < t->id_cap && t->id_kind[id] == 3;
}

size_t ls_tokenizer_vocab_size(const LsTokenizer *t) {
    return (size_t)t->id_cap;
}

int32_t ls_tokenizer_bos_id(const LsTokenizer *t) {
    return t->bos_id;
}

int32_t ls_tokenizer_eos_id(const LsTokenizer *t) {
    return t->eos_id;
}

const char *ls_tokenizer_sha256(const LsTokenizer *t) {
    return t->sha_hex;
}
