/* common.c — errors, logging, allocation, files, UTF-8, half floats. */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#define _POSIX_C_SOURCE 200809L
#include "ls/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

static int g_rank = 0;

int ls_fail(LsError *e, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return LS_ERR;
}

int ls_fail_prefix(LsError *e, const char *fmt, ...) {
    if (e) {
        char prefix[512], old[sizeof e->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, e->msg, sizeof old);
        size_t a = strlen(prefix), b = strnlen(old, sizeof old - 1);
        if (a > sizeof e->msg - 3) a = sizeof e->msg - 3;
        if (b > sizeof e->msg - 3 - a) b = sizeof e->msg - 3 - a;
        memcpy(e->msg, prefix, a);
        memcpy(e->msg + a, ": ", 2);
        memcpy(e->msg + a + 2, old, b);
        e->msg[a + 2 + b] = '\0';
    }
    return LS_ERR;
}

void ls_log_set_rank(int rank) {
    g_rank = rank;
}

void ls_log0(const char *fmt, ...) {
    if (g_rank != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ls_warn(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "logits-study: warning: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void oom(size_t n) {
    fprintf(stderr, "logits-study: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ls_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *ls_try_malloc_big(size_t n) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (posix_memalign(&p, n >= huge ? huge : 64, n ? n : 64)) return NULL;
    if (n >= huge) (void)madvise(p, n / huge * huge, MADV_HUGEPAGE); /* advice only: refusal is harmless */
    return p;
}

void *ls_malloc_big(size_t n) {
    void *p = ls_try_malloc_big(n);
    if (!p) oom(n);
    return p;
}

void *ls_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *ls_realloc(void *q, size_t n) {
    void *p = realloc(q, n ? n : 1);
    if (!p) oom(n);
    return p;
}

char *ls_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = ls_malloc(n);
    memcpy(p, s, n);
    return p;
}

int ls_read_file(const char *path, size_t max_len, char **out, size_t *len, LsError *e) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return ls_fail(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ls_fail(e, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (max_len && n > max_len) {
        fclose(f);
        return ls_fail(e, "%s: file is %zu bytes, larger than the limit of %zu", path, n, max_len);
    }
    char *buf = ls_malloc(n + 1);
    size_t got = fread(buf, 1, n, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != n) {
        free(buf);
        return ls_fail(e, "%s: read error at byte %zu", path, got);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return LS_OK;
}

char *ls_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = ls_malloc(a + b + 2);
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

int ls_utf8_valid(const unsigned char *s, size_t n, size_t *bad_off) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (s[i + j] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += k + 1;
    }
    return 1;
bad:
    if (bad_off) *bad_off = i;
    return 0;
}

float ls_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t ls_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((u >> 16) | 0x40); /* NaN stays NaN */
    u += 0x7FFF + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

uint16_t ls_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7FFFFFFF;
    if (a > 0x7F800000) return sign | 0x7E00;  /* NaN */
    if (a >= 0x477FF000) return sign | 0x7C00; /* >= 65520 rounds to inf */
    if (a < 0x38800000) {                      /* below 2^-14: subnormal f16 (or zero) */
        if (a < 0x33000000) return sign;       /* < 2^-25 rounds to zero */
        uint32_t m = (a & 0x7FFFFF) | 0x800000, shift = 126 - (a >> 23);
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = a - 0x38000000; /* rebias the exponent 127 -> 15 */
    r = (r + 0xFFF + ((r >> 13) & 1)) >> 13;
    return (uint16_t)(sign | r);
}

float ls_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7F800000 | (man << 13);
    } else {
        u = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double ls_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
