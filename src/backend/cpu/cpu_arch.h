/* cpu_arch.h — internal to the CPU backend: the operations some architectures
 * need beyond Qwen2's (cpu_arch.c), and the pieces cpu_backend.c's kernels
 * share with them. */
#ifndef LS_CPU_ARCH_H
#define LS_CPU_ARCH_H

#include "ls/backend.h"

/* Sets the optional operations and LS_FEAT_* bits of the CPU backend. */
void ls_cpu_arch_register(LsBackend *be);

/* Rotates the first nheads heads of each row of qk [T, ld] in place with the
 * inverse frequencies inv [hd/2], cos/sin multiplied by af (rotate_half). */
void ls_cpu_rope_apply(float *qk, size_t ld, const int32_t *pos, size_t T, int nheads, int hd,
                       const float *inv, float af);

/* The first key query `last` sees: 0, or last - window + 1 in a sliding window. */
int ls_cpu_attn_first_key(int last, const LsAttnShape *sh);

/* x [n] = c tanh(x / c) (Gemma's soft-capping). */
void ls_cpu_softcap(float *x, size_t n, float c);

#endif
