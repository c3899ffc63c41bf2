/* vexp.h — a branch-free expf that vectorises (AVX2/FMA) inside omp simd
 * loops. Cody–Waite range reduction by ln 2 and a degree-6 polynomial:
 * relative error < 2e-7 on [-87, 0]; returns 0 below -87.3 (underflow). */
#ifndef LS_VEXP_H
#define LS_VEXP_H

#include <stdint.h>

static inline float ls_vexpf(float x) {
    const float lo = -87.3f;
    float xc = x < lo ? lo : x;
    xc = xc > 88.0f ? 88.0f : xc;
    /* n = round(x / ln2) via the 1.5 * 2^23 trick */
    float t = xc * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    /* e^r on |r| <= 0.35 */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        uint32_t u;
        float f;
    } scale = {.u = (uint32_t)((int32_t)n + 127) << 23};
    float y = p * scale.f;
    return x < lo ? 0.0f : y;
}

#endif
