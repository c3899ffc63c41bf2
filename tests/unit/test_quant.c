/* test_quant.c — the dequantizers against the gguf package's reference
 * (tests/fixtures/gguf-quant, made by tests/oracle/make_gguf_quant_fixtures.py),
 * bit for bit, type by type; block geometry; ls_tensor_to_f32 off block
 * boundaries. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"
#include "ls/quant.h"

static void *read_fixture(const char *type, const char *ext, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/fixtures/gguf-quant/%s.%s", LS_TEST_DIR, type, ext);
    char *buf;
    LsError e;
    cr_assert_eq(ls_read_file(path, 0, &buf, len, &e), LS_OK, "%s", e.msg);
    return buf;
}

/* Dequantizes TYPE.blocks in one call and compares with TYPE.f32 bit for bit. */
static void check_type(LsDType t) {
    const char *name = ls_dtype_name(t);
    size_t blen, rlen;
    unsigned char *blocks = read_fixture(name, "blocks", &blen);
    float *ref = read_fixture(name, "f32", &rlen);
    size_t n = rlen / 4;
    cr_assert_eq(ls_dtype_row_bytes(t, n), blen, "%s: %zu elements need %zu bytes, fixture has %zu", name, n,
                 ls_dtype_row_bytes(t, n), blen);
    float *got = malloc(n * sizeof *got);
    ls_dequantize(t, blocks, n, got);
    for (size_t i = 0; i < n; i++)
        cr_assert(memcmp(&got[i], &ref[i], 4) == 0, "%s element %zu (block %zu): got %.9g, gguf gives %.9g",
                  name, i, i / ls_dtype_block_elems(t), got[i], ref[i]);
    /* A row starting at an odd block, unaligned source. */
    size_t be = ls_dtype_block_elems(t), bb = ls_dtype_block_bytes(t);
    unsigned char *shift = malloc(blen + 1);
    memcpy(shift + 1, blocks, blen);
    ls_dequantize(t, shift + 1 + bb, n - be, got);
    cr_assert(memcmp(got, ref + be, (n - be) * 4) == 0, "%s: unaligned source differs", name);
    free(shift);
    free(got);
    free(blocks);
    free(ref);
}

Test(quant, f32) {
    check_type(LS_DT_F32);
}
Test(quant, f16) {
    check_type(LS_DT_F16);
}
Test(quant, bf16) {
    check_type(LS_DT_BF16);
}
Test(quant, q8_0) {
    check_type(LS_DT_Q8_0);
}
Test(quant, q4_0) {
    check_type(LS_DT_Q4_0);
}
Test(quant, q4_1) {
    check_type(LS_DT_Q4_1);
}
Test(quant, q5_0) {
    check_type(LS_DT_Q5_0);
}
Test(quant, q5_1) {
    check_type(LS_DT_Q5_1);
}
Test(quant, q4_k) {
    check_type(LS_DT_Q4_K);
}
Test(quant, q5_k) {
    check_type(LS_DT_Q5_K);
}
Test(quant, q6_k) {
    check_type(LS_DT_Q6_K);
}

Test(quant, geometry_matches_ggml_table) {
    for (int t = 0; t < LS_DT_COUNT; t++) {
        LsDType d = (LsDType)t;
        cr_assert(ls_dtype_block_elems(d) > 0 && ls_dtype_block_bytes(d) > 0, "%s", ls_dtype_name(d));
        uint32_t g;
        for (g = 0; g < 64; g++) {
            LsDType back;
            if (ls_dtype_from_ggml(g, &back) == 0 && back == d) break;
        }
        cr_assert(g < 64, "%s has no ggml id", ls_dtype_name(d));
        cr_assert_str_eq(ls_ggml_type_name(g), ls_dtype_name(d));
        cr_assert_eq(ls_ggml_block_elems(g), ls_dtype_block_elems(d), "%s", ls_dtype_name(d));
        cr_assert_eq(ls_ggml_block_bytes(g), ls_dtype_block_bytes(d), "%s", ls_dtype_name(d));
        cr_assert_eq(ls_dtype_size(d), ls_dtype_is_quantized(d) ? 0 : ls_dtype_block_bytes(d));
    }
    LsDType x;
    cr_assert_eq(ls_dtype_from_ggml(10, &x), -1); /* Q2_K: not read */
    cr_assert_eq(ls_dtype_from_ggml(1000, &x), -1);
    cr_assert_eq(ls_dtype_block_elems((LsDType)99), 0);
    cr_assert_str_eq(ls_dtype_name((LsDType)99), "?");
}

/* ls_tensor_to_f32 / ls_tensor_get at any offset equal the whole-row expansion. */
Test(quant, tensor_to_f32_any_offset) {
    const LsDType types[] = {LS_DT_Q4_K, LS_DT_Q5_0, LS_DT_F16};
    for (size_t k = 0; k < LS_ARRAY_LEN(types); k++) {
        LsDType t = types[k];
        size_t blen, rlen;
        unsigned char *blocks = read_fixture(ls_dtype_name(t), "blocks", &blen);
        float *ref = read_fixture(ls_dtype_name(t), "f32", &rlen);
        size_t n = rlen / 4;
        LsTensor tt = {
            .name = "w", .dtype = t, .ndim = 1, .shape = {(int64_t)n}, .data = blocks, .nbytes = blen};
        float *got = malloc((n + 1) * sizeof *got);
        const size_t offs[][2] = {{0, n}, {3, 40}, {31, 1}, {33, 300}, {255, 258}, {n - 7, 7}, {100, 0}};
        for (size_t i = 0; i < LS_ARRAY_LEN(offs); i++) {
            size_t off = offs[i][0], len = offs[i][1];
            memset(got, 0xff, (n + 1) * sizeof *got);
            ls_tensor_to_f32(&tt, off, len, got);
            cr_assert(memcmp(got, ref + off, len * 4) == 0, "%s: off %zu n %zu", ls_dtype_name(t), off, len);
            cr_assert_eq(((uint32_t *)got)[len], 0xffffffffu, "%s: wrote past n", ls_dtype_name(t));
        }
        cr_assert(ls_tensor_get(&tt, n - 1) == ref[n - 1]);
        cr_assert(ls_tensor_get(&tt, 77) == ref[77]);
        free(got);
        free(blocks);
        free(ref);
    }
}
