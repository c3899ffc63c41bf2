/* test_safetensors.c — safetensors header rules, mmap loader, sharded index.
 * Files are built in C by st_build.h; every malformed case checks that the
 * message names the file and the offset / key / tensor at fault. */
#include "st_build.h"

#include <criterion/criterion.h>
#include <math.h>

#define FNAME "t.safetensors"

/* The file buffer of the last parse(): tensor data points into it. */
static unsigned char *g_file;

/* Parses header text + data as a whole file named FNAME. */
static int parse(const char *hdr, const void *data, size_t dlen, LsStHeader *h, LsError *e) {
    size_t n;
    free(g_file);
    g_file = tb_st_bytes(hdr, data, dlen, &n);
    return ls_st_parse_header(g_file, n, n, FNAME, h, e);
}

static void parse_done(LsStHeader *h) {
    ls_st_header_free(h);
    free(g_file);
    g_file = NULL;
}

/* Expects parse to fail with a message containing FNAME and each needle. */
static void expect_fail(const char *hdr, size_t dlen, const char *n1, const char *n2) {
    unsigned char *data = calloc(dlen ? dlen : 1, 1);
    LsStHeader h;
    LsError e = {{0}};
    int rc = parse(hdr, data, dlen, &h, &e);
    free(data);
    int cleared = h.tensors == NULL && h.names == NULL && h.n == 0; /* a failed parse leaves nothing */
    parse_done(&h);
    cr_assert_eq(rc, LS_ERR, "accepted: %s", hdr);
    cr_assert(strstr(e.msg, FNAME), "no file name in: %s", e.msg);
    cr_assert(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_assert(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
    cr_assert(cleared);
}

/* "header at byte N" for the key "key" of hdr. */
static char *at_key(const char *hdr, const char *key) {
    static char buf[64];
    char q[128];
    snprintf(q, sizeof q, "\"%s\"", key);
    const char *p = strstr(hdr, q);
    cr_assert(p);
    snprintf(buf, sizeof buf, "header at byte %zu", 8 + (size_t)(p - hdr));
    return buf;
}

#define ENT(dt, shape, b, e) "{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

/* ---- good files ------------------------------------------------------------ */

Test(safetensors, dtype_helpers) {
    cr_assert_eq(ls_dtype_size(LS_DT_F32), 4);
    cr_assert_eq(ls_dtype_size(LS_DT_F16), 2);
    cr_assert_eq(ls_dtype_size(LS_DT_BF16), 2);
    cr_assert_str_eq(ls_dtype_name(LS_DT_F32), "F32");
    cr_assert_str_eq(ls_dtype_name(LS_DT_F16), "F16");
    cr_assert_str_eq(ls_dtype_name(LS_DT_BF16), "BF16");
}

Test(safetensors, reads_f32_f16_bf16_values) {
    char *dir = tb_tmpdir();
    char *path = ls_path_join(dir, "model.safetensors");
    const float v[6] = {1.0f, -2.5f, 0.15625f, 2048.0f, -0.0f, 3.0f};
    TbSt b;
    tb_st_init(&b);
    int64_t s23[2] = {2, 3}, s6[1] = {6}, s321[3] = {3, 2, 1};
    tb_st_add(&b, "w.bf16", LS_DT_BF16, 2, s23, v);
    tb_st_add(&b, "a.f32", LS_DT_F32, 1, s6, v);
    tb_st_add(&b, "m.f16", LS_DT_F16, 3, s321, v);
    tb_hdr_append(&b, ",\"__metadata__\":{\"format\":\"pt\"}");
    tb_st_write(&b, path);
    tb_st_free(&b);

    LsSafetensors *st;
    LsError e;
    cr_assert_eq(ls_st_open_file(&st, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_st_count(st), 3);
    cr_assert_str_eq(ls_st_at(st, 0)->name, "a.f32"); /* sorted by name */
    cr_assert_str_eq(ls_st_at(st, 1)->name, "m.f16");
    cr_assert_str_eq(ls_st_at(st, 2)->name, "w.bf16");
    cr_assert_eq(ls_st_at(st, 3), NULL);
    cr_assert_eq(ls_st_find(st, "nope"), NULL);
    cr_assert_eq(ls_st_find(st, "__metadata__"), NULL);
    const char *names[3] = {"a.f32", "m.f16", "w.bf16"};
    for (int k = 0; k < 3; k++) {
        const LsTensor *t = ls_st_find(st, names[k]);
        cr_assert(t);
        cr_assert_str_eq(t->file, path);
        cr_assert_eq(t->nbytes, 6 * ls_dtype_size(t->dtype));
        float out[6];
        ls_tensor_to_f32(t, 0, 6, out);
        for (int i = 0; i < 6; i++) {
            cr_assert_eq(ls_tensor_get(t, (size_t)i), v[i], "%s[%d]", names[k], i);
            cr_assert_eq(out[i], v[i], "%s[%d]", names[k], i);
        }
        ls_tensor_to_f32(t, 2, 3, out);
        cr_assert_eq(out[0], v[2]);
        cr_assert_eq(out[2], v[4]);
        cr_assert(signbit(out[2])); /* -0.0 survives */
    }
    const LsTensor *w = ls_st_find(st, "w.bf16");
    cr_assert_eq(w->dtype, LS_DT_BF16);
    cr_assert_eq(w->ndim, 2);
    cr_assert_eq(w->shape[0], 2);
    cr_assert_eq(w->shape[1], 3);
    const LsTensor *m = ls_st_find(st, "m.f16");
    cr_assert_eq(m->dtype, LS_DT_F16);
    cr_assert_eq(m->ndim, 3);
    cr_assert_eq(m->shape[2], 1);
    ls_st_close(st);
    free(path);
    tb_rmdir(dir);
}

Test(safetensors, f16_special_values) {
    /* subnormal, inf, nan bit patterns through the file path */
    unsigned char d[8] = {0x01, 0x00, 0x00, 0x7C, 0x00, 0xFC, 0x01, 0x7E};
    LsStHeader h;
    LsError e;
    cr_assert_eq(parse("{\"x\":" ENT("F16", "[4]", 0, 8) "}", d, 8, &h, &e), LS_OK, "%s", e.msg);
    const LsTensor *t = &h.tensors[0];
    cr_assert_eq(ls_tensor_get(t, 0), ldexpf(1.0f, -24));
    cr_assert(isinf(ls_tensor_get(t, 1)) && ls_tensor_get(t, 1) > 0);
    cr_assert(isinf(ls_tensor_get(t, 2)) && ls_tensor_get(t, 2) < 0);
    cr_assert(isnan(ls_tensor_get(t, 3)));
    parse_done(&h);
}

Test(safetensors, unaligned_data) {
    /* header length chosen so the data section starts at an odd offset */
    const char *hdr = "{\"a\":" ENT("F32", "[3]", 0, 12) ",\"b\":" ENT("BF16", "[1]", 12, 14) "}";
    size_t hl = strlen(hdr);
    char h2[512];
    snprintf(h2, sizeof h2, "%s%s", hdr, (8 + hl) % 2 ? "" : " "); /* trailing space pads to odd */
    unsigned char d[14];
    tb_put(d, LS_DT_F32, 1.5f);
    tb_put(d + 4, LS_DT_F32, -7.25f);
    tb_put(d + 8, LS_DT_F32, 1e-3f);
    tb_put(d + 12, LS_DT_BF16, -3.0f);
    LsStHeader h;
    LsError e;
    cr_assert_eq(parse(h2, d, 14, &h, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(h.data_start % 2, 1);
    cr_assert_eq(h.n, 2);
    const LsTensor *a = &h.tensors[0], *b = &h.tensors[1];
    cr_assert_eq(a->file_offset, h.data_start);
    cr_assert_eq(b->file_offset, h.data_start + 12);
    cr_assert_str_eq(a->file, FNAME);
    cr_assert_eq(ls_tensor_get(a, 0), 1.5f);
    cr_assert_eq(ls_tensor_get(a, 1), -7.25f);
    cr_assert_eq(ls_tensor_get(a, 2), 1e-3f);
    cr_assert_eq(ls_tensor_get(b, 0), -3.0f);
    float out[3];
    ls_tensor_to_f32(a, 0, 3, out);
    cr_assert_eq(out[1], -7.25f);
    parse_done(&h);
}

Test(safetensors, empty_tensors_and_empty_data_section) {
    LsStHeader h;
    LsError e;
    cr_assert_eq(parse("{}", NULL, 0, &h, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(h.n, 0);
    parse_done(&h);
    cr_assert_eq(
        parse("{\"z\":" ENT("F32", "[0,5]", 0, 0) ",\"s\":" ENT("F32", "[]", 0, 4) "}", "abcd", 4, &h, &e),
        LS_OK, "%s", e.msg);
    cr_assert_eq(h.n, 2);
    cr_assert_str_eq(h.tensors[0].name, "s");
    cr_assert_eq(h.tensors[0].ndim, 0);
    cr_assert_eq(h.tensors[1].nbytes, 0);
    parse_done(&h);
    /* a file whose only tensor is empty: zero-length data section, mmapped */
    char *dir = tb_tmpdir();
    char *p = ls_path_join(dir, "e.safetensors");
    tb_write_st(p, "{\"z\":" ENT("BF16", "[0]", 0, 0) "}", NULL, 0);
    LsSafetensors *st;
    cr_assert_eq(ls_st_open_file(&st, p, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_st_find(st, "z")->nbytes, 0);
    ls_st_close(st);
    free(p);
    tb_rmdir(dir);
}

Test(safetensors, json_order_need_not_follow_offsets) {
    /* the reference implementation sorts spans by offset; so do we */
    LsStHeader h;
    LsError e;
    const char *hdr = "{\"b\":" ENT("F32", "[1]", 4, 8) ",\"a\":" ENT("F32", "[1]", 0, 4) "}";
    unsigned char d[8];
    tb_put(d, LS_DT_F32, 1.0f);
    tb_put(d + 4, LS_DT_F32, 2.0f);
    cr_assert_eq(parse(hdr, d, 8, &h, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_tensor_get(&h.tensors[0], 0), 1.0f);
    cr_assert_eq(ls_tensor_get(&h.tensors[1], 0), 2.0f);
    parse_done(&h);
}

Test(safetensors, header_only_buffer) {
    /* buf holds the header, file_len the whole file: data pointers are NULL */
    size_t n;
    unsigned char *b = tb_st_bytes("{\"a\":" ENT("F32", "[2]", 0, 8) "}", "12345678", 8, &n);
    LsStHeader h;
    LsError e;
    cr_assert_eq(ls_st_parse_header(b, n - 8, n, FNAME, &h, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(h.tensors[0].data, NULL);
    ls_st_header_free(&h);
    cr_assert_eq(ls_st_parse_header(b, 12, n, FNAME, &h, &e), LS_ERR);
    cr_assert(strstr(e.msg, "not fully available"), "%s", e.msg);
    free(b);
}

/* ---- malformed headers ----------------------------------------------------- */

Test(safetensors, truncated_file) {
    char *dir = tb_tmpdir();
    char *p = ls_path_join(dir, "short.safetensors");
    tb_write(p, "\x10\x00\x00", 3);
    LsSafetensors *st = (LsSafetensors *)1;
    LsError e;
    cr_assert_eq(ls_st_open_file(&st, p, &e), LS_ERR);
    cr_assert_eq(st, NULL);
    cr_assert(strstr(e.msg, p) && strstr(e.msg, "truncated") && strstr(e.msg, "byte 0"), "%s", e.msg);
    tb_write(p, "", 0); /* empty file: nothing to mmap */
    cr_assert_eq(ls_st_open_file(&st, p, &e), LS_ERR);
    cr_assert(strstr(e.msg, p) && strstr(e.msg, "truncated"), "%s", e.msg);
    /* data section cut short */
    size_t n;
    unsigned char *b = tb_st_bytes("{\"a\":" ENT("F32", "[4]", 0, 16) "}", "0123456789abcdef", 16, &n);
    tb_write(p, b, n - 3);
    free(b);
    cr_assert_eq(ls_st_open_file(&st, p, &e), LS_ERR);
    cr_assert(strstr(e.msg, p) && strstr(e.msg, "cover 16 bytes but the data section is 13"), "%s", e.msg);
    free(p);
    tb_rmdir(dir);
}

Test(safetensors, missing_file) {
    LsSafetensors *st;
    LsError e;
    cr_assert_eq(ls_st_open_file(&st, "/nonexistent/x.safetensors", &e), LS_ERR);
    cr_assert(strstr(e.msg, "/nonexistent/x.safetensors: cannot open"), "%s", e.msg);
}

static void raw_fail(const unsigned char *b, size_t n, const char *needle) {
    LsStHeader h;
    LsError e;
    cr_assert_eq(ls_st_parse_header(b, n, n, FNAME, &h, &e), LS_ERR);
    cr_assert(strstr(e.msg, FNAME) && strstr(e.msg, needle), "'%s' not in: %s", needle, e.msg);
}

Test(safetensors, header_length_past_end) {
    unsigned char b[16] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    raw_fail(b, 16, "header length 9 at byte 0 runs past the end of the file (16 bytes)");
    b[0] = 0xFF;
    b[7] = 0xFF; /* 2^64-ish: must not wrap */
    raw_fail(b, 16, "larger than the limit");
}

Test(safetensors, header_length_over_100mb) {
    unsigned char b[16] = {0};
    uint64_t L = 100000001;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(L >> (8 * i));
    raw_fail(b, 16, "header length 100000001 at byte 0 is larger than the limit of 100000000 bytes");
}

Test(safetensors, not_json) {
    expect_fail("{\"a\": nope}", 0, "header at byte 18", "invalid JSON");
    expect_fail("", 0, "invalid JSON", NULL);
}

Test(safetensors, json_array) {
    expect_fail("[1,2]", 0, "header at byte 8: not a JSON object", NULL);
}

Test(safetensors, invalid_utf8_in_key) {
    expect_fail("{\"ab\xC3\x28\":" ENT("F32", "[0]", 0, 0) "}", 0,
                "header at byte 12: invalid UTF-8 (byte 0xc3)", NULL);
    expect_fail("{\"\xED\xA0\x80\":" ENT("F32", "[0]", 0, 0) "}", 0, "header at byte 10: invalid UTF-8",
                NULL);
}

Test(safetensors, nul_byte) {
    size_t n;
    unsigned char *b = tb_st_bytes("{\"a\":" ENT("F32", "[0]", 0, 0) "}", NULL, 0, &n);
    b[10] = '\0';
    raw_fail(b, n, "header at byte 10: NUL byte");
    free(b);
    expect_fail("{\"a\\u0000b\":" ENT("F32", "[0]", 0, 0) "}", 0, "invalid JSON", NULL);
}

Test(safetensors, duplicate_key) {
    const char *hdr = "{\"a\":" ENT("F32", "[1]", 0, 4) ",\"a\":" ENT("F32", "[1]", 4, 8) "}";
    expect_fail(hdr, 8, "duplicate", "invalid JSON");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
                "duplicate", NULL);
}

Test(safetensors, unknown_dtype) {
    const char *hdr = "{\"ok\":" ENT("F32", "[1]", 0, 4) ",\"x.w\":" ENT("Q8", "[1]", 4, 5) "}";
    expect_fail(hdr, 5, at_key(hdr, "x.w"), "tensor 'x.w': unknown dtype 'Q8'");
    expect_fail("{\"i\":" ENT("I64", "[1]", 0, 8) "}", 8, "tensor 'i': dtype 'I64' is not supported", NULL);
    expect_fail("{\"i\":" ENT("BOOL", "[1]", 0, 1) "}", 1, "tensor 'i': dtype 'BOOL' is not supported", NULL);
    expect_fail("{\"i\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'dtype' is not a string",
                NULL);
}

Test(safetensors, bad_dims) {
    expect_fail("{\"n\":" ENT("F32", "[2,-1]", 0, 0) "}", 0, "tensor 'n': shape[1] = -1 is negative",
                "header at byte 9");
    expect_fail("{\"f\":" ENT("F32", "[2.0]", 0, 8) "}", 8, "tensor 'f': shape[0] is not an integer", NULL);
    expect_fail("{\"s\":" ENT("F32", "[\"2\"]", 0, 8) "}", 8, "shape[0] is not an integer", NULL);
    expect_fail("{\"s\":" ENT("F32", "3", 0, 12) "}", 12, "'shape' is not an array", NULL);
    expect_fail("{\"d5\":" ENT("F32", "[1,1,1,1,1]", 0, 4) "}", 4,
                "tensor 'd5': shape has 5 dims, more than 4", NULL);
    expect_fail("{\"h\":" ENT("F32", "[99999999999999999999]", 0, 4) "}", 4, "invalid JSON", NULL);
}

Test(safetensors, shape_size_overflow) {
    expect_fail("{\"o\":" ENT("F32", "[4611686018427387904,4]", 0, 0) "}", 0,
                "tensor 'o': shape [4611686018427387904,4] x F32 overflows", NULL);
    expect_fail("{\"o\":" ENT("BF16", "[4611686018427387904,2]", 0, 0) "}", 0, "overflows", NULL);
    expect_fail("{\"o\":" ENT("F32", "[4611686018427387904]", 0, 0) "}", 0, "overflows", NULL);
}

Test(safetensors, span_mismatch) {
    expect_fail(
        "{\"x\":" ENT("F32", "[2,3]", 0, 10) "}", 10,
        "header at byte 9: tensor 'x': data_offsets [0, 10] span 10 bytes but shape [2,3] x F32 = 24 bytes",
        NULL);
}

Test(safetensors, gap) {
    const char *hdr = "{\"a\":" ENT("F32", "[1]", 0, 4) ",\"b\":" ENT("F32", "[1]", 8, 12) "}";
    expect_fail(hdr, 12, at_key(hdr, "b"),
                "tensor 'b': data_offsets [8, 12] leave a gap of 4 bytes after offset 4");
    expect_fail("{\"a\":" ENT("F32", "[1]", 4, 8) "}", 8, "gap of 4 bytes after offset 0", NULL);
}

Test(safetensors, overlap) {
    const char *hdr = "{\"a\":" ENT("F32", "[2]", 0, 8) ",\"b\":" ENT("F32", "[1]", 4, 8) "}";
    expect_fail(hdr, 8, at_key(hdr, "b"),
                "tensor 'b': data_offsets [4, 8] overlap tensor 'a' which ends at 8");
    expect_fail("{\"a\":" ENT("F32", "[1]", 0, 4) ",\"b\":" ENT("F32", "[1]", 0, 4) "}", 4, "overlap", NULL);
    /* an empty tensor inside another's span */
    expect_fail("{\"a\":" ENT("F32", "[2]", 0, 8) ",\"e\":" ENT("F32", "[0]", 4, 4) "}", 8, "tensor 'e'",
                "overlap");
}

Test(safetensors, span_end_before_begin) {
    expect_fail("{\"r\":" ENT("F32", "[0]", 8, 4) "}", 8,
                "tensor 'r': data_offsets [8, 4] end before they begin", NULL);
    expect_fail("{\"r\":" ENT("F32", "[0]", -4, 0) "}", 8, "are negative", NULL);
    expect_fail("{\"r\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "not an array of two",
                NULL);
    expect_fail("{\"r\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4,
                "not an array of two", NULL);
}

Test(safetensors, data_section_not_covered) {
    const char *hdr = "{\"a\":" ENT("F32", "[1]", 0, 4) "}";
    size_t data_start = 8 + strlen(hdr);
    char want[160];
    snprintf(want, sizeof want,
             "data section at byte %zu: tensors cover 4 bytes but the data section is 6 bytes", data_start);
    expect_fail(hdr, 6, want, NULL);
    expect_fail("{}", 1, "tensors cover 0 bytes but the data section is 1 bytes", NULL);
}

Test(safetensors, entry_keys) {
    const char *hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"foo\":1}}";
    expect_fail(hdr, 4, "header at byte 9: tensor 'a': unexpected key 'foo'", NULL);
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing key 'data_offsets'",
                NULL);
    expect_fail("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing key 'dtype'", NULL);
    expect_fail("{\"a\":[1]}", 0, "tensor 'a': entry is not a JSON object", NULL);
}

Test(safetensors, metadata) {
    LsStHeader h;
    LsError e;
    cr_assert_eq(parse("{\"__metadata__\":{}}", NULL, 0, &h, &e), LS_OK, "%s", e.msg);
    parse_done(&h);
    expect_fail("{\"__metadata__\":{\"k\":1}}", 0,
                "header at byte 25: '__metadata__': value of 'k' is not a string", NULL);
    expect_fail("{\"__metadata__\":\"x\"}", 0, "header at byte 9: '__metadata__' is not an object", NULL);
}

/* ---- index ------------------------------------------------------------------ */

static void index_fail(const char *text, const char *needle) {
    LsStIndex ix;
    LsError e;
    cr_assert_eq(ls_st_parse_index(text, strlen(text), "i.json", &ix, &e), LS_ERR, "accepted %s", text);
    cr_assert(strstr(e.msg, "i.json") && strstr(e.msg, needle), "'%s' not in: %s", needle, e.msg);
    cr_assert_eq(ix.tensor, NULL);
}

Test(st_index, parse_good) {
    const char *t =
        "{\"metadata\":{\"total_size\":12},\"weight_map\":{\"z\":\"b.safetensors\",\"a\":\"b.safetensors\","
        "\"m\":\"a.safetensors\"}}";
    LsStIndex ix;
    LsError e;
    cr_assert_eq(ls_st_parse_index(t, strlen(t), "i.json", &ix, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ix.n, 3);
    cr_assert_str_eq(ix.tensor[0], "a");
    cr_assert_str_eq(ix.shard[0], "b.safetensors");
    cr_assert_str_eq(ix.tensor[1], "m");
    cr_assert_str_eq(ix.shard[1], "a.safetensors");
    cr_assert_str_eq(ix.tensor[2], "z");
    cr_assert_eq(ix.n_shards, 2);
    cr_assert_str_eq(ix.shards[0], "a.safetensors");
    cr_assert_str_eq(ix.shards[1], "b.safetensors");
    ls_st_index_free(&ix);
}

Test(st_index, parse_bad) {
    index_fail("{\"weight_map\":{\"w\":\"../x\"}}", "weight_map['w']: shard name '../x' contains '/'");
    index_fail("{\"weight_map\":{\"w\":\"/abs\"}}", "shard name '/abs' contains '/'");
    index_fail("{\"weight_map\":{\"w\":\"..\"}}", "shard name '..' is '.' or '..'");
    index_fail("{\"weight_map\":{\"w\":\"\"}}", "shard name '' is empty");
    index_fail("{\"weight_map\":{\"w\":\"a\\u0000b\"}}", "invalid JSON");
    index_fail("{\"weight_map\":{\"w\":3}}", "weight_map['w']: shard is not a string");
    index_fail("{\"weight_map\":{}}", "'weight_map' is empty");
    index_fail("{\"weight_map\":[]}", "'weight_map' is not an object");
    index_fail("{\"metadata\":{}}", "missing key 'weight_map'");
    index_fail("{\"metadata\":3,\"weight_map\":{\"w\":\"a\"}}", "'metadata' is not an object");
    index_fail("[]", "not a JSON object");
    index_fail("{\"weight_map\":{\"w\":\"a\",\"w\":\"b\"}}", "duplicate");
    index_fail("{\"weight_map\":{\"w\":\"a\xFF\"}}", "byte 21: invalid UTF-8");
    index_fail("{\"weight_map\":", "invalid JSON");
}

/* Writes shards a.safetensors (t0, t1) and b.safetensors (t2) and an index
 * whose weight_map text is wm into dir. */
static void write_sharded(const char *dir, const char *wm, int t1_also_in_b) {
    TbSt b;
    int64_t s2[1] = {2};
    const float va[2] = {1, 2}, vb[2] = {3, 4}, vc[2] = {5, 6};
    tb_st_init(&b);
    tb_st_add(&b, "t0", LS_DT_F32, 1, s2, va);
    tb_st_add(&b, "t1", LS_DT_BF16, 1, s2, vb);
    char *p = ls_path_join(dir, "a.safetensors");
    tb_st_write(&b, p);
    free(p);
    tb_st_free(&b);
    tb_st_init(&b);
    tb_st_add(&b, "t2", LS_DT_F16, 1, s2, vc);
    if (t1_also_in_b) tb_st_add(&b, "t1", LS_DT_BF16, 1, s2, vb);
    p = ls_path_join(dir, "b.safetensors");
    tb_st_write(&b, p);
    free(p);
    tb_st_free(&b);
    char idx[512];
    snprintf(idx, sizeof idx, "{\"metadata\":{\"total_size\":16},\"weight_map\":{%s}}", wm);
    tb_write_str(dir, "model.safetensors.index.json", idx);
}

#define WM_GOOD "\"t0\":\"a.safetensors\",\"t1\":\"a.safetensors\",\"t2\":\"b.safetensors\""

Test(st_index, open_two_shards) {
    char *dir = tb_tmpdir();
    write_sharded(dir, WM_GOOD, 0);
    LsSafetensors *st;
    LsError e;
    cr_assert_eq(ls_st_open_dir(&st, dir, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_st_count(st), 3);
    const LsTensor *t0 = ls_st_find(st, "t0"), *t1 = ls_st_find(st, "t1"), *t2 = ls_st_find(st, "t2");
    cr_assert(t0 && t1 && t2);
    cr_assert(strstr(t0->file, "/a.safetensors"));
    cr_assert(strstr(t1->file, "/a.safetensors"));
    cr_assert(strstr(t2->file, "/b.safetensors"));
    cr_assert_eq(ls_tensor_get(t0, 1), 2.0f);
    cr_assert_eq(ls_tensor_get(t1, 0), 3.0f);
    cr_assert_eq(ls_tensor_get(t2, 1), 6.0f);
    cr_assert_str_eq(ls_st_at(st, 2)->name, "t2");
    ls_st_close(st);
    tb_rmdir(dir);
}

Test(st_index, open_single_file_dir) {
    char *dir = tb_tmpdir();
    LsSafetensors *st;
    LsError e;
    cr_assert_eq(ls_st_open_dir(&st, dir, &e), LS_ERR);
    cr_assert(strstr(e.msg, dir) && strstr(e.msg, "no model.safetensors"), "%s", e.msg);
    TbSt b;
    int64_t s1[1] = {1};
    tb_st_init(&b);
    tb_st_add(&b, "only", LS_DT_F32, 1, s1, NULL);
    char *p = ls_path_join(dir, "model.safetensors");
    tb_st_write(&b, p);
    tb_st_free(&b);
    cr_assert_eq(ls_st_open_dir(&st, dir, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_st_count(st), 1);
    cr_assert_str_eq(ls_st_find(st, "only")->file, p);
    ls_st_close(st);
    free(p);
    tb_rmdir(dir);
}

static void open_dir_fail(const char *wm, int t1_also_in_b, const char *n1, const char *n2) {
    char *dir = tb_tmpdir();
    write_sharded(dir, wm, t1_also_in_b);
    LsSafetensors *st = (LsSafetensors *)1;
    LsError e;
    cr_assert_eq(ls_st_open_dir(&st, dir, &e), LS_ERR, "accepted %s", wm);
    cr_assert_eq(st, NULL);
    cr_assert(strstr(e.msg, dir), "no folder in: %s", e.msg);
    cr_assert(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_assert(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
    tb_rmdir(dir);
}

Test(st_index, open_bad) {
    /* shard file missing */
    open_dir_fail(WM_GOOD ",\"t3\":\"c.safetensors\"", 0,
                  "model.safetensors.index.json: shard 'c.safetensors'", "c.safetensors: cannot open");
    /* path escapes are refused before any file is opened */
    open_dir_fail("\"t0\":\"../a.safetensors\"", 0, "model.safetensors.index.json: weight_map['t0']",
                  "'../a.safetensors' contains '/'");
    /* tensor listed in the index but not in its shard */
    open_dir_fail(WM_GOOD ",\"t9\":\"b.safetensors\"", 0, "tensor 't9' is listed in shard 'b.safetensors'",
                  "b.safetensors does not contain it");
    /* tensor in a shard but not in the index */
    open_dir_fail("\"t0\":\"a.safetensors\",\"t2\":\"b.safetensors\"", 0,
                  "a.safetensors: tensor 't1' at byte", "is not listed in");
    /* tensor in two shards */
    open_dir_fail(WM_GOOD, 1, "b.safetensors: tensor 't1'", "is mapped to shard 'a.safetensors'");
    /* index claims the wrong shard */
    open_dir_fail("\"t0\":\"a.safetensors\",\"t1\":\"b.safetensors\",\"t2\":\"b.safetensors\"", 0,
                  "a.safetensors: tensor 't1'", "is mapped to shard 'b.safetensors'");
}

Test(st_index, bad_shard_header_names_shard) {
    char *dir = tb_tmpdir();
    write_sharded(dir, WM_GOOD, 0);
    char *p = ls_path_join(dir, "b.safetensors");
    tb_write_st(p, "{\"t2\":" ENT("F16", "[2]", 0, 3) "}", "abc", 3);
    LsSafetensors *st;
    LsError e;
    cr_assert_eq(ls_st_open_dir(&st, dir, &e), LS_ERR);
    cr_assert(strstr(e.msg, "shard 'b.safetensors'") && strstr(e.msg, p) && strstr(e.msg, "tensor 't2'"),
              "%s", e.msg);
    free(p);
    tb_rmdir(dir);
}
