/* ls/common.h — errors, logging, small helpers shared by every module.
 *
 * Two error tiers (DESIGN §11.5): library code returns LS_OK / LS_ERR and
 * fills an LsError with a message that names the file and the byte offset,
 * line or JSON key; only src/app decides to stop. Library code never exits.
 */
#ifndef LS_COMMON_H
#define LS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LS_OK 0
#define LS_ERR (-1)

typedef struct {
    char msg[1024];
} LsError;

/* Formats the message into e (if non-NULL) and returns LS_ERR. */
int ls_fail(LsError *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to an existing message; returns LS_ERR. */
int ls_fail_prefix(LsError *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logging to stderr; ls_log0 prints only on world rank 0 (set by ls_log_set_rank). */
void ls_log_set_rank(int rank);
void ls_log0(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ls_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocation that never returns NULL for n > 0: on failure prints and aborts
 * (out-of-memory is fatal everywhere; MPI_Abort is wired by src/app). */
void *ls_malloc(size_t n);
/* n bytes, 64-byte aligned; from 2 MiB on, 2 MiB aligned and advised as
 * transparent huge pages (large weights and scratch that kernels stream: the
 * CPU's AMX tile loads stalled on TLB misses with 4 KiB pages); free() releases
 * it. ls_try_malloc_big returns NULL when out of memory, ls_malloc_big aborts. */
void *ls_try_malloc_big(size_t n);
void *ls_malloc_big(size_t n);
void *ls_calloc(size_t n, size_t size);
void *ls_realloc(void *p, size_t n);
char *ls_strdup(const char *s);

/* Overflow-checked size arithmetic: return 0 on success, -1 on overflow. */
static inline int ls_mul_size(size_t a, size_t b, size_t *out) {
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int ls_add_size(size_t a, size_t b, size_t *out) {
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

/* Reads a whole file into a NUL-terminated heap buffer (len excludes the NUL).
 * max_len bounds the size (0 = no bound). */
int ls_read_file(const char *path, size_t max_len, char **out, size_t *len, LsError *e);

/* Joins dir and name with one '/' into a heap string. */
char *ls_path_join(const char *dir, const char *name);

/* Checks that buf[0..len) is valid UTF-8; on failure *bad_off is the offset
 * of the first invalid byte. Returns 1 if valid. */
int ls_utf8_valid(const unsigned char *buf, size_t len, size_t *bad_off);

/* Half-precision conversions (bit patterns; round-to-nearest-even). */
float ls_bf16_to_f32(uint16_t h);
float ls_f16_to_f32(uint16_t h);
uint16_t ls_f32_to_bf16(float f);
uint16_t ls_f32_to_f16(float f); /* overflow -> inf, subnormals kept */

/* Unaligned little-endian loads without typed-pointer casts. */
static inline uint16_t ls_load_u16(const void *p) {
    const unsigned char *b = (const unsigned char *)p;
    return (uint16_t)(b[0] | (b[1] << 8));
}
/* out [n] = the bf16 values at p (unaligned, little-endian) as fp32: exact, the top half of an fp32
 * (vectorises) */
static inline void ls_bf16_row_to_f32(const void *p, size_t n, float *out) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = (uint32_t)ls_load_u16(b + 2 * i) << 16;
        memcpy(&out[i], &u, 4);
    }
}
static inline uint64_t ls_load_u64le(const void *p) {
    const unsigned char *b = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}
static inline float ls_load_f32(const void *p) {
    const unsigned char *b = (const unsigned char *)p;
    uint32_t u = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
}

/* Monotonic wall time in seconds. */
double ls_now(void);

#define LS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
