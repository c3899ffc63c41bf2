/* ls/quant.h — storage types of weights: block geometry and dequantization.
 *
 * A block-quantized row of n elements (n a multiple of the block size) is
 * n / block_elems consecutive blocks of block_bytes each; a float type is a
 * "block" of one element. The dequantizers compute exactly what ggml's
 * reference dequantize_row_* compute (each product and sum rounded to fp32
 * in the same order, no fused multiply-add), checked bit for bit against
 * the gguf Python package (tests/unit/test_quant.c).
 */
#ifndef LS_QUANT_H
#define LS_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "ls/model.h"

/* Elements per block: 1 (F32, F16, BF16), 32 (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1),
 * 256 (Q4_K, Q5_K, Q6_K); 0 for an invalid value. */
size_t ls_dtype_block_elems(LsDType t);
/* Bytes per block (4, 2, 2, 34, 18, 20, 22, 24, 144, 176, 210); 0 if invalid. */
size_t ls_dtype_block_bytes(LsDType t);
static inline int ls_dtype_is_quantized(LsDType t) {
    return ls_dtype_block_elems(t) > 1;
}
/* Bytes of n elements (n a multiple of the block size). */
static inline size_t ls_dtype_row_bytes(LsDType t, size_t n) {
    size_t be = ls_dtype_block_elems(t);
    return be ? n / be * ls_dtype_block_bytes(t) : 0;
}
/* LsDType of a ggml type id (GGUF tensor types); -1 if not one we read. */
int ls_dtype_from_ggml(uint32_t ggml_type, LsDType *out);

/* Expands n elements stored as type t at src (unaligned bytes; n a multiple
 * of ls_dtype_block_elems(t)) into dst[0..n). */
void ls_dequantize(LsDType t, const void *src, size_t n, float *dst);

#endif
