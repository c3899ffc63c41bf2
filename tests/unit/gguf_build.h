/* gguf_build.h — builds GGUF files byte by byte for the tests
 * (test_gguf.c, test_gguf_model.c). */
#ifndef LS_TEST_GGUF_BUILD_H
#define LS_TEST_GGUF_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a byte buffer builder ------------------------------------------------ */

typedef struct {
    unsigned char *b;
    size_t n, cap;
} Gb;

static inline void gb_bytes(Gb *g, const void *p, size_t n) {
    if (g->n + n > g->cap) {
        g->cap = (g->n + n) * 2 + 64;
        g->b = realloc(g->b, g->cap);
    }
    memcpy(g->b + g->n, p, n);
    g->n += n;
}
static inline void gb_le(Gb *g, uint64_t v, int n) {
    unsigned char t[8];
    for (int i = 0; i < n; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    gb_bytes(g, t, (size_t)n);
}
static inline void gb_u32(Gb *g, uint32_t v) {
    gb_le(g, v, 4);
}
static inline void gb_u64(Gb *g, uint64_t v) {
    gb_le(g, v, 8);
}
static inline void gb_str(Gb *g, const char *s) {
    gb_u64(g, strlen(s));
    gb_bytes(g, s, strlen(s));
}
static inline void gb_f32(Gb *g, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    gb_u32(g, u);
}
/* "GGUF", version, counts. */
static inline void gb_header(Gb *g, uint32_t version, uint64_t nt, uint64_t nkv) {
    gb_bytes(g, "GGUF", 4);
    gb_u32(g, version);
    gb_u64(g, nt);
    gb_u64(g, nkv);
}
/* Key + type id; returns the key's offset. */
static inline size_t gb_key(Gb *g, const char *k, uint32_t type) {
    size_t at = g->n;
    gb_str(g, k);
    gb_u32(g, type);
    return at;
}
/* Tensor info with n dims; returns its offset. */
static inline size_t gb_tensor(Gb *g, const char *name, int nd, const uint64_t *ne, uint32_t type,
                               uint64_t off) {
    size_t at = g->n;
    gb_str(g, name);
    gb_u32(g, (uint32_t)nd);
    for (int i = 0; i < nd; i++)
        gb_u64(g, ne[i]);
    gb_u32(g, type);
    gb_u64(g, off);
    return at;
}
static inline void gb_pad(Gb *g, size_t align) {
    while (g->n % align)
        gb_bytes(g, "", 1);
}
static inline void gb_zeros(Gb *g, size_t n) {
    for (size_t i = 0; i < n; i++)
        gb_bytes(g, "", 1);
}

#endif
