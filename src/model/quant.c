/* quant.c — storage types: names, sizes, and the dequantizers.
 *
 * Each dequantizer follows ggml's reference dequantize_row_* (ggml-quants.c)
 * block by block. Built with -ffp-contract=off (CMakeLists.txt) so that
 * d * q - m is two roundings, as in ggml's reference and the gguf package,
 * not one fused multiply-add.
 */
#include "ls/quant.h"

#include <string.h>
#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#define QK 32    /* elements per block of the 32-element types */
#define QK_K 256 /* elements per super-block of the K types */

typedef struct {
    const char *name;
    uint16_t elems, bytes;
    int32_t ggml; /* ggml type id */
} DTypeInfo;

static const DTypeInfo dtypes[LS_DT_COUNT] = {
    [LS_DT_F32] = {"F32", 1, 4, 0},         [LS_DT_F16] = {"F16", 1, 2, 1},
    [LS_DT_BF16] = {"BF16", 1, 2, 30},      [LS_DT_Q8_0] = {"Q8_0", QK, 34, 8},
    [LS_DT_Q4_0] = {"Q4_0", QK, 18, 2},     [LS_DT_Q4_1] = {"Q4_1", QK, 20, 3},
    [LS_DT_Q5_0] = {"Q5_0", QK, 22, 6},     [LS_DT_Q5_1] = {"Q5_1", QK, 24, 7},
    [LS_DT_Q4_K] = {"Q4_K", QK_K, 144, 12}, [LS_DT_Q5_K] = {"Q5_K", QK_K, 176, 13},
    [LS_DT_Q6_K] = {"Q6_K", QK_K, 210, 14},
};

static const DTypeInfo *dt_info(LsDType t) {
    return (unsigned)t < LS_DT_COUNT ? &dtypes[t] : NULL;
}

size_t ls_dtype_size(LsDType t) {
    const DTypeInfo *d = dt_info(t);
    return d && d->elems == 1 ? d->bytes : 0;
}
const char *ls_dtype_name(LsDType t) {
    const DTypeInfo *d = dt_info(t);
    return d ? d->name : "?";
}
size_t ls_dtype_block_elems(LsDType t) {
    const DTypeInfo *d = dt_info(t);
    return d ? d->elems : 0;
}
size_t ls_dtype_block_bytes(LsDType t) {
    const DTypeInfo *d = dt_info(t);
    return d ? d->bytes : 0;
}

int ls_dtype_from_ggml(uint32_t ggml_type, LsDType *out) {
    for (int t = 0; t < LS_DT_COUNT; t++)
        if (dtypes[t].ggml == (int32_t)ggml_type) {
            *out = (LsDType)t;
            return 0;
        }
    return -1;
}

/* ---- blocks of 32 ------------------------------------------------------ */

/* A block's f16 scale: through F16C where finite (exact, and cheaper than the bit
 * manipulation), else ls_f16_to_f32 (infinities, NaN payloads). */
static inline float half(const unsigned char *p) {
    const uint16_t h = ls_load_u16(p);
#ifdef __F16C__
    if ((h & 0x7C00) != 0x7C00) return _cvtsh_ss(h);
#endif
    return ls_f16_to_f32(h);
}

/* Q8_0: f16 d, 32 x int8. y = q * d. */
static void deq_q8_0(const unsigned char *b, float *y) {
    const float d = half(b);
    for (int j = 0; j < QK; j++)
        y[j] = (float)(int8_t)b[2 + j] * d;
}

/* Q4_0: f16 d, 16 bytes of nibbles (low: elements 0..15, high: 16..31). y = (q - 8) * d. */
static void deq_q4_0(const unsigned char *b, float *y) {
    const float d = half(b);
    const unsigned char *qs = b + 2;
    for (int j = 0; j < QK / 2; j++) {
        y[j] = (float)((qs[j] & 0x0F) - 8) * d;
        y[j + QK / 2] = (float)((qs[j] >> 4) - 8) * d;
    }
}

/* Q4_1: f16 d, f16 m, 16 bytes of nibbles. y = q * d + m. */
static void deq_q4_1(const unsigned char *b, float *y) {
    const float d = half(b), m = half(b + 2);
    const unsigned char *qs = b + 4;
    for (int j = 0; j < QK / 2; j++) {
        y[j] = (float)(qs[j] & 0x0F) * d + m;
        y[j + QK / 2] = (float)(qs[j] >> 4) * d + m;
    }
}

/* Fifth bits of Q5_0 / Q5_1: u32 qh, bit j for element j. */
static inline uint32_t load_u32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Q5_0: f16 d, u32 qh, 16 bytes of nibbles. y = (q - 16) * d. */
static void deq_q5_0(const unsigned char *b, float *y) {
    const float d = half(b);
    const uint32_t qh = load_u32(b + 2);
    const unsigned char *qs = b + 6;
    for (int j = 0; j < QK / 2; j++) {
        const int x0 = (int)((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
        const int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
        y[j] = (float)x0 * d;
        y[j + QK / 2] = (float)x1 * d;
    }
}

/* Q5_1: f16 d, f16 m, u32 qh, 16 bytes of nibbles. y = q * d + m. */
static void deq_q5_1(const unsigned char *b, float *y) {
    const float d = half(b), m = half(b + 2);
    const uint32_t qh = load_u32(b + 4);
    const unsigned char *qs = b + 8;
    for (int j = 0; j < QK / 2; j++) {
        const int x0 = (int)((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10));
        const int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10));
        y[j] = (float)x0 * d + m;
        y[j + QK / 2] = (float)x1 * d + m;
    }
}

/* ---- super-blocks of 256 ------------------------------------------------ */

/* Scale and min of sub-block j (0..7) from the 12 packed 6-bit values of Q4_K / Q5_K. */
static inline void scale_min_k4(int j, const unsigned char *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K: f16 d, f16 dmin, 12 bytes of scales, 128 bytes of nibbles; 8 sub-blocks of 32:
 * y = (d * sc) * q - (dmin * m). */
static void deq_q4_k(const unsigned char *b, float *y) {
    const float d = half(b), dmin = half(b + 2);
    const unsigned char *scales = b + 4, *q = b + 16;
    for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
        int sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            y[j + l] = d1 * (float)(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++)
            y[j + 32 + l] = d2 * (float)(q[l] >> 4) - m2;
    }
}

/* Q5_K: as Q4_K with 32 bytes of fifth bits (qh) before the nibbles. */
static void deq_q5_k(const unsigned char *b, float *y) {
    const float d = half(b), dmin = half(b + 2);
    const unsigned char *scales = b + 4, *qh = b + 16, *ql = b + 48;
    unsigned u1 = 1, u2 = 2;
    for (int j = 0, is = 0; j < QK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
        int sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            y[j + l] = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++)
            y[j + 32 + l] = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    }
}

/* One quarter of a Q6_K half: 32 elements from nibble SL of lo[l] and bit pair SH of qh[l],
 * scales s0 (elements 0..15) and s1 (16..31). */
#define Q6K_QUARTER(y, lo, qh, SL, SH, s0, s1)                                                               \
    do {                                                                                                     \
        for (int l = 0; l < 16; l++)                                                                         \
            (y)[l] = (s0) * (float)((int)((((lo)[l] >> (SL)) & 0xF) | ((((qh)[l] >> (SH)) & 3) << 4)) - 32); \
        for (int l = 16; l < 32; l++)                                                                        \
            (y)[l] = (s1) * (float)((int)((((lo)[l] >> (SL)) & 0xF) | ((((qh)[l] >> (SH)) & 3) << 4)) - 32); \
    } while (0)

/* Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, f16 d;
 * y = (d * scale) * (q - 32), 16 elements per scale. Each half of 128 elements is four
 * quarters of 32: quarter k takes nibble k / 2 of ql[32 * (k % 2) + l] and bit pair k of qh[l]. */
static void deq_q6_k(const unsigned char *b, float *y) {
    const unsigned char *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = half(b + 208);
    float ds[16];
    for (int i = 0; i < 16; i++)
        ds[i] = d * (float)sc[i];
    for (int n = 0; n < 2; n++, y += 128, ql += 64, qh += 32) {
        const float *s = ds + 8 * n;
        Q6K_QUARTER(y, ql, qh, 0, 0, s[0], s[1]);
        Q6K_QUARTER(y + 32, ql + 32, qh, 0, 2, s[2], s[3]);
        Q6K_QUARTER(y + 64, ql, qh, 4, 4, s[4], s[5]);
        Q6K_QUARTER(y + 96, ql + 32, qh, 4, 6, s[6], s[7]);
    }
}
#undef Q6K_QUARTER

/* ---- rows ---------------------------------------------------------------- */

/* f16 -> f32 is exact, so the F16C instruction and ls_f16_to_f32 agree on every non-NaN value. */
static void f16_row(const unsigned char *p, size_t n, float *dst) {
    size_t i = 0;
#ifdef __F16C__
    for (; i + 8 <= n; i += 8) {
        __m128i h;
        memcpy(&h, p + 2 * i, 16);
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
#endif
    for (; i < n; i++)
        dst[i] = ls_f16_to_f32(ls_load_u16(p + 2 * i));
}

#if defined(__AVX2__) && defined(__F16C__)
/* Blocks of Q8_0 and Q4_1 with AVX2: the same products and sums as deq_q8_0 / deq_q4_1 (q * d, then
 * + m: two roundings, no FMA), so the same bits. Q8_0 and Q4_1 expansion was ~4% of a SmolLM2
 * forward. */
static void rows_avx2(LsDType t, const unsigned char *p, size_t nb, float *y) {
    const size_t bb = ls_dtype_block_bytes(t);
    if (t == LS_DT_Q8_0) {
        for (size_t i = 0; i < nb; i++, p += bb, y += QK) {
            const __m256 d = _mm256_set1_ps(half(p));
            for (int j = 0; j < QK; j += 8) {
                __m128i q;
                memcpy(&q, p + 2 + j, 8);
                _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d));
            }
        }
        return;
    }
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    for (size_t i = 0; i < nb; i++, p += bb, y += QK) { /* Q4_1 */
        const __m256 d = _mm256_set1_ps(half(p)), m = _mm256_set1_ps(half(p + 2));
        __m128i qs;
        memcpy(&qs, p + 4, 16);
        const __m128i lo = _mm_and_si128(qs, lo4), hi = _mm_and_si128(_mm_srli_epi16(qs, 4), lo4);
        const __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
        for (int j = 0; j < 4; j++) {
            const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(part[j]));
            _mm256_storeu_ps(y + 8 * j, _mm256_add_ps(_mm256_mul_ps(q, d), m));
        }
    }
}
#endif

typedef void (*BlockFn)(const unsigned char *b, float *y);

static BlockFn block_fn(LsDType t) {
    switch (t) {
    case LS_DT_Q8_0:
        return deq_q8_0;
    case LS_DT_Q4_0:
        return deq_q4_0;
    case LS_DT_Q4_1:
        return deq_q4_1;
    case LS_DT_Q5_0:
        return deq_q5_0;
    case LS_DT_Q5_1:
        return deq_q5_1;
    case LS_DT_Q4_K:
        return deq_q4_k;
    case LS_DT_Q5_K:
        return deq_q5_k;
    case LS_DT_Q6_K:
        return deq_q6_k;
    default:
        return NULL;
    }
}

void ls_dequantize(LsDType t, const void *src, size_t n, float *dst) {
    const unsigned char *p = (const unsigned char *)src;
    switch (t) {
    case LS_DT_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(dst, p, 4 * n);
#else
        for (size_t i = 0; i < n; i++)
            dst[i] = ls_load_f32(p + 4 * i);
#endif
        return;
    case LS_DT_BF16:
        ls_bf16_row_to_f32(p, n, dst);
        return;
    case LS_DT_F16:
        f16_row(p, n, dst);
        return;
    default:
        break;
    }
#if defined(__AVX2__) && defined(__F16C__)
    if (t == LS_DT_Q8_0 || t == LS_DT_Q4_1) { /* the two GGUF types of the test models, vectorised */
        rows_avx2(t, p, n / QK, dst);
        return;
    }
#endif
    BlockFn fn = block_fn(t);
    if (!fn) return;
    const size_t be = ls_dtype_block_elems(t), bb = ls_dtype_block_bytes(t);
    for (size_t i = 0; i < n / be; i++)
        fn(p + i * bb, dst + i * be);
}

void ls_tensor_to_f32(const LsTensor *t, size_t off, size_t n, float *out) {
    const unsigned char *p = (const unsigned char *)t->data;
    const size_t be = ls_dtype_block_elems(t->dtype), bb = ls_dtype_block_bytes(t->dtype);
    if (be == 0) return;
    /* Head: a partial first block. */
    if (off % be != 0) {
        float tmp[QK_K];
        size_t b0 = off / be, skip = off % be, k = be - skip < n ? be - skip : n;
        ls_dequantize(t->dtype, p + b0 * bb, be, tmp);
        memcpy(out, tmp + skip, k * sizeof *out);
        off += k, out += k, n -= k;
    }
    /* Body: whole blocks. */
    size_t whole = n / be * be;
    ls_dequantize(t->dtype, p + off / be * bb, whole, out);
    off += whole, out += whole, n -= whole;
    /* Tail: a partial last block. */
    if (n > 0) {
        float tmp[QK_K];
        ls_dequantize(t->dtype, p + off / be * bb, be, tmp);
        memcpy(out, tmp, n * sizeof *out);
    }
}
