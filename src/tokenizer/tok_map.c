/* tok_map.c — open-addressing hash maps for the vocabulary, merges and word cache,
 * and SHA-256 for the tokenizer hash. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* A small fast hash over bytes (8-byte steps, multiply-xorshift mixing). */
uint64_t ls_tok_hash(const void *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)n * 0xc2b2ae3d27d4eb4fULL);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0x100000001b3ULL;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)s[i] << (8 * i);
    h = (h ^ v) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h;
}

static uint32_t pow2_for(size_t expect) {
    uint32_t cap = 16;
    while (cap < expect * 2 + 1 && cap < (1u << 31))
        cap <<= 1;
    return cap;
}

void ls_strmap_init(LsStrMap *m, size_t expect) {
    memset(m, 0, sizeof *m);
    m->cap = pow2_for(expect);
    m->slots = ls_calloc(m->cap, sizeof *m->slots);
    m->ent_cap = expect > 8 ? (uint32_t)expect : 8;
    m->ent = ls_malloc(m->ent_cap * sizeof *m->ent);
}

void ls_strmap_free(LsStrMap *m) {
    free(m->slots);
    free(m->ent);
    memset(m, 0, sizeof *m);
}

void ls_strmap_clear(LsStrMap *m) {
    memset(m->slots, 0, m->cap * sizeof *m->slots);
    m->n = 0;
}

static uint32_t strmap_find(const LsStrMap *m, const void *key, size_t len, uint64_t h) {
    uint32_t mask = m->cap - 1, i = (uint32_t)h & mask;
    for (;;) {
        uint32_t s = m->slots[i];
        if (!s) return i;
        const LsStrEntry *e = &m->ent[s - 1];
        if (e->len == len && !memcmp(e->key, key, len)) return i;
        i = (i + 1) & mask;
    }
}

int32_t ls_strmap_get(const LsStrMap *m, const void *key, size_t len) {
    if (!m->cap) return -1;
    uint32_t i = strmap_find(m, key, len, ls_tok_hash(key, len));
    return m->slots[i] ? m->ent[m->slots[i] - 1].val : -1;
}

static void strmap_grow(LsStrMap *m) {
    uint32_t ncap = m->cap * 2;
    uint32_t *ns = ls_calloc(ncap, sizeof *ns);
    for (uint32_t k = 0; k < m->n; k++) {
        const LsStrEntry *e = &m->ent[k];
        uint32_t i = (uint32_t)ls_tok_hash(e->key, e->len) & (ncap - 1);
        while (ns[i])
            i = (i + 1) & (ncap - 1);
        ns[i] = k + 1;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
}

int32_t ls_strmap_put(LsStrMap *m, const void *key, size_t len, int32_t val) {
    if ((uint64_t)(m->n + 1) * 2 > m->cap) strmap_grow(m);
    uint32_t i = strmap_find(m, key, len, ls_tok_hash(key, len));
    if (m->slots[i]) {
        LsStrEntry *e = &m->ent[m->slots[i] - 1];
        int32_t old = e->val;
        e->val = val;
        return old;
    }
    if (m->n == m->ent_cap) {
        m->ent_cap *= 2;
        m->ent = ls_realloc(m->ent, m->ent_cap * sizeof *m->ent);
    }
    m->ent[m->n] = (LsStrEntry){(const char *)key, (uint32_t)len, val};
    m->slots[i] = ++m->n;
    return -1;
}

void ls_pairmap_init(LsPairMap *m, size_t expect) {
    m->cap = pow2_for(expect);
    m->n = 0;
    m->keys = ls_malloc(m->cap * sizeof *m->keys);
    memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    m->rank = ls_malloc(m->cap * sizeof *m->rank);
    m->id = ls_malloc(m->cap * sizeof *m->id);
}

void ls_pairmap_free(LsPairMap *m) {
    free(m->keys);
    free(m->rank);
    free(m->id);
    memset(m, 0, sizeof *m);
}

static void pairmap_grow(LsPairMap *m) {
    LsPairMap n;
    n.cap = m->cap * 2;
    n.n = m->n;
    n.keys = ls_malloc(n.cap * sizeof *n.keys);
    memset(n.keys, 0xff, n.cap * sizeof *n.keys);
    n.rank = ls_malloc(n.cap * sizeof *n.rank);
    n.id = ls_malloc(n.cap * sizeof *n.id);
    for (uint32_t k = 0; k < m->cap; k++) {
        if (m->keys[k] == UINT64_MAX) continue;
        uint32_t i = (uint32_t)ls_pair_slot(m->keys[k]) & (n.cap - 1);
        while (n.keys[i] != UINT64_MAX)
            i = (i + 1) & (n.cap - 1);
        n.keys[i] = m->keys[k];
        n.rank[i] = m->rank[k];
        n.id[i] = m->id[k];
    }
    ls_pairmap_free(m);
    *m = n;
}

void ls_pairmap_put(LsPairMap *m, int32_t a, int32_t b, int32_t rank, int32_t id) {
    if ((uint64_t)(m->n + 1) * 2 > m->cap) pairmap_grow(m);
    uint64_t k = ls_pair_key(a, b);
    uint32_t mask = m->cap - 1, i = (uint32_t)ls_pair_slot(k) & mask;
    while (m->keys[i] != UINT64_MAX && m->keys[i] != k)
        i = (i + 1) & mask;
    if (m->keys[i] == UINT64_MAX) {
        m->keys[i] = k;
        m->n++;
    }
    m->rank[i] = rank;
    m->id[i] = id;
}

/* ---- SHA-256 (FIPS 180-4) ---------------------------------------------------- */

static const uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
               p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void ls_sha256(const void *data, size_t len, uint8_t out[32]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = (const uint8_t *)data;
    size_t n = len;
    while (n >= 64) {
        sha_block(h, p);
        p += 64;
        n -= 64;
    }
    uint8_t tail[128] = {0};
    memcpy(tail, p, n);
    tail[n] = 0x80;
    size_t tl = n + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha_block(h, tail);
    if (tl == 128) sha_block(h, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}
