/* test_gguf.c — the GGUF reader's hostile-file rules and its metadata API.
 * Files are built byte by byte here; every malformed case checks that the
 * message names the file and the byte offset of the field at fault. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_build.h"
#include "ls/gguf.h"

#define FNAME "t.gguf"

/* Expects the parse of g to fail with FNAME and each needle in the message. */
static void expect_fail(Gb *g, const char *n1, const char *n2) {
    LsGguf *x = NULL;
    LsError e = {{0}};
    int rc = ls_gguf_parse(&x, g->b, g->n, FNAME, &e);
    cr_assert_eq(rc, LS_ERR, "accepted (wanted: %s)", n1);
    cr_assert_null(x);
    cr_assert(strstr(e.msg, FNAME), "no file name in: %s", e.msg);
    cr_assert(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_assert(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
    free(g->b);
}

static char *at(size_t off) {
    static char buf[4][48];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "at byte %zu", off);
    return buf[k];
}

static LsGguf *parse_ok(Gb *g) {
    LsGguf *x = NULL;
    LsError e = {{0}};
    cr_assert_eq(ls_gguf_parse(&x, g->b, g->n, FNAME, &e), LS_OK, "%s", e.msg);
    return x;
}

/* ---- good files ------------------------------------------------------------ */

/* A v3 file with every scalar type, arrays, and two tensors (F32 [2,3], Q8_0 [32]). */
static Gb good_file(uint32_t version, uint32_t align) {
    Gb g = {0};
    gb_header(&g, version, 2, align ? 14 : 13);
    gb_key(&g, "general.architecture", LS_GGUF_STRING);
    gb_str(&g, "llama");
    gb_key(&g, "a.u8", LS_GGUF_U8);
    gb_le(&g, 200, 1);
    gb_key(&g, "a.i8", LS_GGUF_I8);
    gb_le(&g, 0xFE, 1); /* -2 */
    gb_key(&g, "a.u16", LS_GGUF_U16);
    gb_le(&g, 65535, 2);
    gb_key(&g, "a.i16", LS_GGUF_I16);
    gb_le(&g, 0x8000, 2); /* -32768 */
    gb_key(&g, "a.u32", LS_GGUF_U32);
    gb_u32(&g, 4000000000u);
    gb_key(&g, "a.i32", LS_GGUF_I32);
    gb_u32(&g, (uint32_t)-7);
    gb_key(&g, "a.f32", LS_GGUF_F32);
    gb_f32(&g, 1e-6f);
    gb_key(&g, "a.bool", LS_GGUF_BOOL);
    gb_le(&g, 1, 1);
    gb_key(&g, "a.u64", LS_GGUF_U64);
    gb_u64(&g, UINT64_MAX);
    gb_key(&g, "a.i64", LS_GGUF_I64);
    gb_u64(&g, (uint64_t)-5);
    gb_key(&g, "a.strs", LS_GGUF_ARRAY);
    gb_u32(&g, LS_GGUF_STRING);
    gb_u64(&g, 3);
    gb_str(&g, "x");
    gb_str(&g, "");
    gb_str(&g, "\xc3\xa9t\xc3\xa9");
    gb_key(&g, "a.f32s", LS_GGUF_ARRAY);
    gb_u32(&g, LS_GGUF_F32);
    gb_u64(&g, 2);
    gb_f32(&g, 0.5f);
    gb_f32(&g, -2.0f);
    if (align) {
        gb_key(&g, "general.alignment", LS_GGUF_U32);
        gb_u32(&g, align);
    }
    size_t a = align ? align : 32;
    uint64_t ne0[2] = {3, 2}, ne1[1] = {32};
    gb_tensor(&g, "w", 2, ne0, 0, 0);
    gb_tensor(&g, "q", 1, ne1, 8, a);
    gb_pad(&g, a);
    for (int i = 0; i < 6; i++)
        gb_f32(&g, (float)i);
    gb_pad(&g, a);
    gb_zeros(&g, 34);
    return g;
}

Test(gguf, reads_metadata_and_tensors) {
    Gb g = good_file(3, 0);
    LsGguf *x = parse_ok(&g);
    LsError e;
    cr_assert_eq(ls_gguf_version(x), 3);
    cr_assert_eq(ls_gguf_alignment(x), 32);
    cr_assert_eq(ls_gguf_kv_count(x), 13);
    cr_assert_str_eq(ls_gguf_kv_at(x, 1)->key, "a.u8");
    LsGgufStr s;
    cr_assert_eq(ls_gguf_get_str(x, "general.architecture", &s, &e), 1);
    cr_assert(s.len == 5 && memcmp(s.s, "llama", 5) == 0);
    int64_t v;
    const char *ik[] = {"a.u8", "a.i8", "a.u16", "a.i16", "a.u32", "a.i32", "a.i64"};
    const int64_t iv[] = {200, -2, 65535, -32768, 4000000000LL, -7, -5};
    for (size_t i = 0; i < LS_ARRAY_LEN(ik); i++) {
        cr_assert_eq(ls_gguf_get_int(x, ik[i], &v, &e), 1, "%s", ik[i]);
        cr_assert_eq(v, iv[i], "%s: %lld", ik[i], (long long)v);
    }
    double d;
    cr_assert_eq(ls_gguf_get_float(x, "a.f32", &d, &e), 1);
    cr_assert_eq((float)d, 1e-6f);
    cr_assert_eq(ls_gguf_get_float(x, "a.i32", &d, &e), 1); /* integers are numbers */
    cr_assert_eq(d, -7.0);
    int b;
    cr_assert_eq(ls_gguf_get_bool(x, "a.bool", &b, &e), 1);
    cr_assert_eq(b, 1);
    const LsGgufStr *strs;
    size_t n;
    cr_assert_eq(ls_gguf_get_str_array(x, "a.strs", &strs, &n, &e), 1);
    cr_assert_eq(n, 3);
    cr_assert(strs[0].len == 1 && strs[0].s[0] == 'x' && strs[1].len == 0 && strs[2].len == 5);
    float *fs;
    cr_assert_eq(ls_gguf_get_float_array(x, "a.f32s", &fs, &n, &e), 1);
    cr_assert(n == 2 && fs[0] == 0.5f && fs[1] == -2.0f);
    free(fs);
    /* absent keys */
    cr_assert_eq(ls_gguf_get_int(x, "nope", &v, &e), 0);
    cr_assert_eq(ls_gguf_get_str_array(x, "nope", &strs, &n, &e), 0);
    /* tensors */
    cr_assert_eq(ls_gguf_tensor_count(x), 2);
    const LsGgufTensor *w = ls_gguf_tensor_find(x, "w"), *q = ls_gguf_tensor_find(x, "q");
    cr_assert(w && q && !ls_gguf_tensor_find(x, "z"));
    cr_assert_eq(w->n_dims, 2);
    cr_assert(w->ne[0] == 3 && w->ne[1] == 2 && w->ne[2] == 1);
    cr_assert_eq(w->nbytes, 24);
    cr_assert_eq(q->nbytes, 34);
    cr_assert_eq(w->file_offset % 32, 0);
    cr_assert_eq(q->file_offset, w->file_offset + 32);
    cr_assert_eq(ls_load_f32((const unsigned char *)w->data + 4 * 5), 5.0f);
    cr_assert_null(ls_gguf_data_mut(x, w)); /* a parsed buffer is read-only */
    ls_gguf_close(x);
    free(g.b);
}

Test(gguf, version2_and_custom_alignment) {
    Gb g = good_file(2, 64);
    LsGguf *x = parse_ok(&g);
    cr_assert_eq(ls_gguf_version(x), 2);
    cr_assert_eq(ls_gguf_alignment(x), 64);
    cr_assert_eq(ls_gguf_tensor_find(x, "w")->file_offset % 64, 0);
    ls_gguf_close(x);
    free(g.b);
}

Test(gguf, typed_getters_reject_other_types) {
    Gb g = good_file(3, 0);
    LsGguf *x = parse_ok(&g);
    LsError e = {{0}};
    int64_t v;
    double d;
    int b;
    LsGgufStr s;
    const LsGgufStr *ss;
    int64_t *is;
    size_t n;
    size_t off = ls_gguf_kv_find(x, "a.f32")->offset;
    cr_assert_eq(ls_gguf_get_int(x, "a.f32", &v, &e), LS_ERR);
    cr_assert(strstr(e.msg, FNAME) && strstr(e.msg, "'a.f32'") && strstr(e.msg, at(off)) &&
                  strstr(e.msg, "f32"),
              "%s", e.msg);
    cr_assert_eq(ls_gguf_get_str(x, "a.u8", &s, &e), LS_ERR);
    cr_assert_eq(ls_gguf_get_bool(x, "a.u8", &b, &e), LS_ERR);
    cr_assert_eq(ls_gguf_get_float(x, "a.strs", &d, &e), LS_ERR);
    cr_assert(strstr(e.msg, "array of string"), "%s", e.msg);
    cr_assert_eq(ls_gguf_get_str_array(x, "a.f32s", &ss, &n, &e), LS_ERR);
    cr_assert_eq(ls_gguf_get_int_array(x, "a.f32s", &is, &n, &e), LS_ERR);
    cr_assert_eq(ls_gguf_get_str_array(x, "general.architecture", &ss, &n, &e), LS_ERR);
    /* a u64 above INT64_MAX does not fit an int64 */
    cr_assert_eq(ls_gguf_get_int(x, "a.u64", &v, &e), LS_ERR);
    cr_assert(strstr(e.msg, "INT64_MAX"), "%s", e.msg);
    ls_gguf_close(x);
    free(g.b);
}

Test(gguf, metadata_json) {
    Gb g = good_file(3, 0);
    LsGguf *x = parse_ok(&g);
    char *j = ls_gguf_metadata_json(x, 2);
    cr_assert(strstr(j, "\"general.architecture\": \"llama\""), "%s", j);
    cr_assert(strstr(j, "\"a.i8\": -2"), "%s", j);
    cr_assert(strstr(j, "\"a.bool\": true"), "%s", j);
    cr_assert(strstr(j, "\"length\": 3"), "%s", j); /* 3 strings > 2: summarised */
    cr_assert(strstr(j, "0.5"), "%s", j);           /* 2 floats: listed */
    free(j);
    ls_gguf_close(x);
    free(g.b);
}

/* ---- header ------------------------------------------------------------------ */

Test(gguf, bad_magic) {
    Gb g = {0};
    gb_bytes(&g, "GGML", 4);
    gb_zeros(&g, 20);
    expect_fail(&g, "magic at byte 0", NULL);
}

Test(gguf, bad_version) {
    Gb g = {0};
    gb_header(&g, 1, 0, 0);
    expect_fail(&g, "version 1 at byte 4", "expected 2 or 3");
    g = (Gb){0};
    gb_header(&g, 4, 0, 0);
    expect_fail(&g, "version 4 at byte 4", NULL);
}

Test(gguf, truncated_header) {
    Gb g = {0};
    gb_bytes(&g, "GGUF", 4);
    gb_u32(&g, 3);
    gb_u32(&g, 0);
    expect_fail(&g, "truncated at byte 8", "tensor count");
    g = (Gb){0};
    gb_bytes(&g, "GG", 2);
    expect_fail(&g, "magic at byte 0", NULL);
}

Test(gguf, counts_bounded_by_file) {
    Gb g = {0};
    gb_header(&g, 3, 1000000, 0);
    expect_fail(&g, "tensor count 1000000 at byte 8", "cannot fit");
    g = (Gb){0};
    gb_header(&g, 3, 0, UINT64_MAX);
    expect_fail(&g, "metadata count 18446744073709551615 at byte 16", NULL);
}

/* ---- metadata ---------------------------------------------------------------- */

Test(gguf, key_length_past_end) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    gb_u64(&g, 1000);
    gb_zeros(&g, 20);
    expect_fail(&g, "metadata key at byte 24", "runs past the end");
}

Test(gguf, string_length_over_limit) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_STRING);
    size_t off = g.n;
    gb_u64(&g, (uint64_t)1 << 40);
    gb_zeros(&g, 20);
    expect_fail(&g, at(off), "larger than the limit");
}

Test(gguf, bad_keys) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "", LS_GGUF_U8);
    gb_zeros(&g, 8);
    expect_fail(&g, "metadata key at byte 24 is empty", NULL);
    g = (Gb){0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "ab\xff", LS_GGUF_U8);
    gb_zeros(&g, 8);
    expect_fail(&g, "invalid UTF-8 at byte 34", NULL);
    g = (Gb){0};
    gb_header(&g, 3, 0, 1);
    gb_u64(&g, 3);
    gb_bytes(&g, "a\0b", 3);
    gb_u32(&g, LS_GGUF_U8);
    gb_zeros(&g, 8);
    expect_fail(&g, "contains a NUL byte", "at byte 24");
}

Test(gguf, duplicate_key) {
    Gb g = {0};
    gb_header(&g, 3, 0, 2);
    size_t a = gb_key(&g, "k", LS_GGUF_U8);
    gb_le(&g, 1, 1);
    size_t b = gb_key(&g, "k", LS_GGUF_U8);
    gb_le(&g, 2, 1);
    gb_zeros(&g, 8);
    char want[64];
    snprintf(want, sizeof want, "'k' at byte %zu is repeated at byte %zu", a, b);
    expect_fail(&g, want, NULL);
}

Test(gguf, unknown_value_type) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    size_t a = gb_key(&g, "k", 13);
    gb_zeros(&g, 8);
    expect_fail(&g, "unknown value type 13", at(a));
}

Test(gguf, arrays) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_ARRAY);
    size_t off = g.n;
    gb_u32(&g, LS_GGUF_ARRAY);
    gb_u64(&g, 1);
    gb_zeros(&g, 16);
    expect_fail(&g, "nested arrays", at(off));

    g = (Gb){0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_ARRAY);
    off = g.n;
    gb_u32(&g, 99);
    gb_u64(&g, 1);
    gb_zeros(&g, 16);
    expect_fail(&g, "unknown array element type 99", at(off));

    g = (Gb){0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_ARRAY);
    off = g.n;
    gb_u32(&g, LS_GGUF_U32);
    gb_u64(&g, (uint64_t)1 << 62);
    gb_zeros(&g, 16);
    expect_fail(&g, "array of 4611686018427387904 u32 elements runs past the end", at(off));

    /* an array of strings whose 2nd string runs past the end */
    g = (Gb){0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_ARRAY);
    gb_u32(&g, LS_GGUF_STRING);
    gb_u64(&g, 2);
    gb_str(&g, "ok");
    off = g.n;
    gb_u64(&g, 100);
    gb_zeros(&g, 4);
    expect_fail(&g, "element 1", at(off));
}

Test(gguf, truncated_value) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_U64);
    size_t off = g.n;
    gb_u32(&g, 7);
    expect_fail(&g, "truncated", at(off));
}

Test(gguf, bool_not_0_or_1) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    gb_key(&g, "k", LS_GGUF_BOOL);
    size_t off = g.n;
    gb_le(&g, 2, 1);
    gb_zeros(&g, 8);
    expect_fail(&g, "bool value 2 is not 0 or 1", at(off));
}

Test(gguf, alignment_rules) {
    Gb g = {0};
    gb_header(&g, 3, 0, 1);
    size_t a = gb_key(&g, "general.alignment", LS_GGUF_U64);
    gb_u64(&g, 32);
    expect_fail(&g, "'general.alignment'", "type u64, expected u32");
    (void)a;
    const uint32_t bad[] = {0, 3, 48};
    for (size_t i = 0; i < 3; i++) {
        g = (Gb){0};
        gb_header(&g, 3, 0, 1);
        a = gb_key(&g, "general.alignment", LS_GGUF_U32);
        gb_u32(&g, bad[i]);
        expect_fail(&g, "is not a power of two", at(a));
    }
}

/* ---- tensor infos -------------------------------------------------------------- */

/* A file with one tensor info built by the caller after this header. */
static void one_tensor(Gb *g) {
    gb_header(g, 3, 1, 0);
}

Test(gguf, n_dims_out_of_range) {
    const uint32_t nds[] = {0, 5};
    for (size_t i = 0; i < 2; i++) {
        Gb g = {0};
        one_tensor(&g);
        gb_str(&g, "t");
        size_t off = g.n;
        gb_u32(&g, nds[i]);
        gb_zeros(&g, 64);
        expect_fail(&g, "is outside 1..4", at(off));
    }
}

Test(gguf, negative_dim) {
    Gb g = {0};
    one_tensor(&g);
    gb_str(&g, "t");
    gb_u32(&g, 2);
    gb_u64(&g, 4);
    size_t off = g.n;
    gb_u64(&g, (uint64_t)-1);
    gb_zeros(&g, 64);
    expect_fail(&g, "ne[1] = 18446744073709551615 is negative", at(off));
}

Test(gguf, element_count_overflow) {
    Gb g = {0};
    one_tensor(&g);
    uint64_t ne[3] = {(uint64_t)1 << 40, (uint64_t)1 << 40, 1};
    size_t off = gb_tensor(&g, "t", 3, ne, 0, 0);
    gb_zeros(&g, 64);
    expect_fail(&g, "overflows int64", at(off));
}

Test(gguf, byte_size_overflow) {
    Gb g = {0};
    one_tensor(&g);
    uint64_t ne[2] = {(uint64_t)1 << 31, (uint64_t)1 << 31}; /* 2^62 F32 elements = 2^64 bytes */
    size_t off = gb_tensor(&g, "t", 2, ne, 0, 0);
    gb_zeros(&g, 64);
    expect_fail(&g, "overflow the size of a tensor", at(off));
}

Test(gguf, unknown_tensor_type) {
    const uint32_t bad[] = {4, 31, 99};
    for (size_t i = 0; i < 3; i++) {
        Gb g = {0};
        one_tensor(&g);
        gb_str(&g, "t");
        gb_u32(&g, 1);
        gb_u64(&g, 32);
        size_t off = g.n;
        gb_u32(&g, bad[i]);
        gb_u64(&g, 0);
        gb_zeros(&g, 64);
        char want[48];
        snprintf(want, sizeof want, "unknown ggml type id %u", bad[i]);
        expect_fail(&g, want, at(off));
    }
}

Test(gguf, row_not_whole_blocks) {
    Gb g = {0};
    one_tensor(&g);
    uint64_t ne[2] = {33, 2};
    size_t off = gb_tensor(&g, "t", 2, ne, 2, 0);
    gb_zeros(&g, 128);
    expect_fail(&g, "ne[0] = 33 is not a multiple of the Q4_0 block size 32", at(off));
}

Test(gguf, offset_not_aligned) {
    Gb g = {0};
    one_tensor(&g);
    uint64_t ne[1] = {4};
    gb_str(&g, "t");
    gb_u32(&g, 1);
    gb_u64(&g, 4);
    gb_u32(&g, 0);
    size_t off = g.n;
    gb_u64(&g, 16);
    (void)ne;
    gb_pad(&g, 32);
    gb_zeros(&g, 64);
    expect_fail(&g, "data offset 16 is not a multiple of the alignment 32", at(off));
}

Test(gguf, data_past_end) {
    Gb g = {0};
    one_tensor(&g);
    uint64_t ne[1] = {16};
    size_t off = gb_tensor(&g, "t", 1, ne, 0, 0);
    gb_pad(&g, 32);
    size_t ds = g.n;
    gb_zeros(&g, 60); /* 64 needed */
    char want[64];
    snprintf(want, sizeof want, "data section at byte %zu (60 bytes)", ds);
    expect_fail(&g, "truncated", want);
    (void)off;
}

Test(gguf, overlapping_tensors) {
    Gb g = {0};
    gb_header(&g, 3, 2, 0);
    uint64_t ne[1] = {16};
    gb_tensor(&g, "a", 1, ne, 0, 0);
    size_t off = gb_tensor(&g, "b", 1, ne, 0, 32);
    gb_pad(&g, 32);
    gb_zeros(&g, 96);
    expect_fail(&g, "'b'", "overlaps tensor 'a'");
    (void)off;
}

Test(gguf, duplicate_tensor_name) {
    Gb g = {0};
    gb_header(&g, 3, 2, 0);
    uint64_t ne[1] = {8};
    size_t a = gb_tensor(&g, "a", 1, ne, 0, 0);
    size_t b = gb_tensor(&g, "a", 1, ne, 0, 32);
    gb_pad(&g, 32);
    gb_zeros(&g, 64);
    char want[64];
    snprintf(want, sizeof want, "tensor name 'a' at byte %zu is also at byte %zu", b, a);
    expect_fail(&g, want, NULL);
}

Test(gguf, truncated_tensor_info) {
    Gb g = {0};
    one_tensor(&g);
    gb_str(&g, "a_long_enough_tensor_name");
    gb_u32(&g, 4);
    gb_u64(&g, 4);
    gb_u64(&g, 4);
    size_t off = g.n;
    gb_u32(&g, 1);
    expect_fail(&g, "truncated", at(off));
}

Test(gguf, padding_past_end) {
    Gb g = {0};
    one_tensor(&g);
    uint64_t ne[1] = {0};
    gb_tensor(&g, "t", 1, ne, 0, 0);
    size_t end = g.n; /* no padding, no data */
    char want[48];
    snprintf(want, sizeof want, "truncated at byte %zu", end);
    expect_fail(&g, want, "data section starts");
}

Test(gguf, open_names_path) {
    LsGguf *x;
    LsError e;
    cr_assert_eq(ls_gguf_open(&x, "/nonexistent/m.gguf", &e), LS_ERR);
    cr_assert(strstr(e.msg, "/nonexistent/m.gguf: cannot open"), "%s", e.msg);
    char path[] = "/tmp/ls_test_gguf_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(ls_gguf_open(&x, path, &e), LS_ERR);
    cr_assert(strstr(e.msg, "the file is empty"), "%s", e.msg);
    Gb g = good_file(3, 0);
    FILE *f = fopen(path, "wb");
    fwrite(g.b, 1, g.n, f);
    fclose(f);
    cr_assert_eq(ls_gguf_open(&x, path, &e), LS_OK, "%s", e.msg);
    const LsGgufTensor *w = ls_gguf_tensor_find(x, "w");
    float *p = ls_gguf_data_mut(x, w); /* private copy-on-write mapping */
    cr_assert_not_null(p);
    p[0] = 42.0f;
    cr_assert_eq(ls_load_f32(w->data), 42.0f);
    ls_gguf_close(x);
    cr_assert_eq(ls_gguf_open(&x, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_load_f32(ls_gguf_tensor_find(x, "w")->data), 0.0f, "the file was written");
    ls_gguf_close(x);
    close(fd);
    unlink(path);
    free(g.b);
}
