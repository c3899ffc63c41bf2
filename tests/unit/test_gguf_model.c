/* test_gguf_model.c — GGUF files as model checkpoints: the config derived
 * from the metadata and the tensors under transformers' names (dequantized,
 * llama Q/K rows un-permuted, Gemma norms minus 1) against what transformers
 * loads from the same tiny GGUFs (tests/fixtures/gguf-tiny, made by
 * tests/oracle/make_gguf_fixtures.py), bit for bit. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf_build.h"
#include "ls/gguf.h"
#include "ls/quant.h"

static char *fixture(const char *arch, const char *ext) {
    char *p = malloc(512);
    snprintf(p, 512, "%s/fixtures/gguf-tiny/%s.%s", LS_TEST_DIR, arch, ext);
    return p;
}

static json_t *load_ref(const char *arch, float **vals) {
    char *jp = fixture(arch, "ref.json"), *fp = fixture(arch, "ref.f32");
    json_error_t je;
    json_t *ref = json_load_file(jp, 0, &je);
    cr_assert(ref, "%s: %s", jp, je.text);
    char *buf;
    size_t len;
    LsError e;
    cr_assert_eq(ls_read_file(fp, 0, &buf, &len, &e), LS_OK, "%s", e.msg);
    *vals = (float *)buf;
    free(jp);
    free(fp);
    return ref;
}

/* The derived config.json agrees with transformers' config for the keys both have. */
static void check_config(const char *arch) {
    float *vals;
    json_t *ref = load_ref(arch, &vals), *rc = json_object_get(ref, "config");
    char *path = fixture(arch, "gguf");
    LsGguf *g;
    LsError e;
    cr_assert_eq(ls_gguf_open(&g, path, &e), LS_OK, "%s", e.msg);
    char *text;
    cr_assert_eq(ls_gguf_config_json(g, &text, &e), LS_OK, "%s", e.msg);
    json_t *ours = json_loads(text, 0, NULL);
    cr_assert(ours);
    const char *keys[] = {"model_type",        "num_hidden_layers",   "hidden_size",
                          "intermediate_size", "num_attention_heads", "num_key_value_heads",
                          "head_dim",          "vocab_size",          "max_position_embeddings",
                          "rms_norm_eps",      "tie_word_embeddings", "sliding_window"};
    for (size_t i = 0; i < LS_ARRAY_LEN(keys); i++) {
        json_t *want = json_object_get(rc, keys[i]), *got = json_object_get(ours, keys[i]);
        if (!want || json_is_null(want)) {
            cr_assert(!got || strcmp(keys[i], "head_dim") == 0,
                      "%s: key %s: we set it, transformers has none", arch, keys[i]);
            continue;
        }
        cr_assert(got, "%s: key %s missing in %s", arch, keys[i], text);
        if (json_is_number(want))
            cr_assert(json_number_value(got) == json_number_value(want), "%s: key %s: %g vs transformers %g",
                      arch, keys[i], json_number_value(got), json_number_value(want));
        else
            cr_assert(json_equal(got, want), "%s: key %s differs", arch, keys[i]);
    }
    /* rope_theta: v5 keeps it in rope_parameters (per layer type for Gemma 3: the full-attention one). */
    json_t *rp = json_object_get(rc, "rope_parameters");
    json_t *full = json_object_get(rp, "full_attention");
    json_t *theta = json_object_get(full ? full : rp, "rope_theta");
    cr_assert(json_is_number(theta), "%s: no rope_theta in the reference", arch);
    cr_assert(json_number_value(json_object_get(ours, "rope_theta")) == json_number_value(theta),
              "%s: rope_theta", arch);
    json_decref(ours);
    free(text);
    ls_gguf_close(g);
    json_decref(ref);
    free(vals);
    free(path);
}

/* Every reference tensor is found under its transformers name with its shape; its rows match bit for bit. */
static void check_weights(const char *arch) {
    float *vals;
    json_t *ref = load_ref(arch, &vals);
    char *path = fixture(arch, "gguf");
    LsGguf *g;
    LsSafetensors *st;
    LsError e;
    cr_assert_eq(ls_gguf_open(&g, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_gguf_weights(g, &st, &e), LS_OK, "%s", e.msg);
    json_t *tensors = json_object_get(ref, "tensors"), *t;
    size_t i;
    json_array_foreach(tensors, i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        const LsTensor *x = ls_st_find(st, name);
        cr_assert(x, "%s: tensor %s not found", arch, name);
        json_t *shape = json_object_get(t, "shape");
        cr_assert_eq((size_t)x->ndim, json_array_size(shape), "%s: %s ndim", arch, name);
        size_t cols = 1;
        for (int d = 0; d < x->ndim; d++) {
            cr_assert_eq(x->shape[d], json_integer_value(json_array_get(shape, (size_t)d)), "%s: %s dim %d",
                         arch, name, d);
            if (d > 0) cols *= (size_t)x->shape[d];
        }
        if (x->ndim == 1) cols = (size_t)x->shape[0];
        size_t off = (size_t)json_integer_value(json_object_get(t, "offset")), k;
        json_t *row;
        float *got = malloc(cols * sizeof *got);
        json_array_foreach(json_object_get(t, "rows"), k, row) {
            size_t r = (size_t)json_integer_value(row);
            ls_tensor_to_f32(x, r * cols, cols, got);
            const float *want = vals + off + k * cols;
            for (size_t c = 0; c < cols; c++)
                cr_assert(memcmp(&got[c], &want[c], 4) == 0,
                          "%s: %s [%zu, %zu] (%s): %.9g, transformers %.9g", arch, name, r, c,
                          ls_dtype_name(x->dtype), got[c], want[c]);
        }
        free(got);
    }
    cr_assert_eq(ls_st_count(st), json_array_size(tensors), "%s: tensor count", arch);
    ls_st_close(st);
    json_decref(ref);
    free(vals);
    free(path);
}

Test(gguf_model, qwen2_config) {
    check_config("qwen2");
}
Test(gguf_model, llama_config) {
    check_config("llama");
}
Test(gguf_model, qwen3_config) {
    check_config("qwen3");
}
Test(gguf_model, gemma3_config) {
    check_config("gemma3");
}
Test(gguf_model, qwen2_weights) {
    check_weights("qwen2");
}
Test(gguf_model, llama_weights_unpermuted) {
    check_weights("llama");
}
Test(gguf_model, qwen3_weights) {
    check_weights("qwen3");
}
Test(gguf_model, gemma3_weights_norms_minus_one) {
    check_weights("gemma3");
}

/* ls_model_open takes a .gguf path like a checkpoint folder. */
Test(gguf_model, model_open_qwen2_gguf) {
    char *path = fixture("qwen2", "gguf");
    LsModel m;
    LsError e;
    cr_assert_eq(ls_model_open(&m, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(m.cfg.num_hidden_layers, 2);
    cr_assert_eq(m.cfg.hidden_size, 64);
    cr_assert_eq(m.cfg.num_key_value_heads, 2);
    cr_assert_eq(m.cfg.head_dim, 16);
    cr_assert_eq(m.cfg.vocab_size, 128);
    cr_assert_eq(m.cfg.tie_word_embeddings, 0);
    cr_assert_str_eq(m.cfg.model_type, "qwen2");
    cr_assert_eq(m.layers[1].q_w, ls_st_find(m.st, "model.layers.1.self_attn.q_proj.weight"));
    cr_assert_eq(m.layers[0].q_w->dtype, LS_DT_Q4_0);
    cr_assert_eq(m.lm_head->dtype, LS_DT_F16);
    /* the recorded config text is the metadata */
    json_t *meta = json_loads(m.cfg.text, 0, NULL);
    cr_assert(meta, "config text is not JSON: %.200s", m.cfg.text);
    cr_assert_str_eq(json_string_value(json_object_get(meta, "general.architecture")), "qwen2");
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(meta, "tokenizer.ggml.tokens"), "length")), 128);
    json_decref(meta);
    ls_model_close(&m);
    free(path);
}

Test(gguf_model, names) {
    char b[160];
    int layer;
    cr_assert_eq(ls_gguf_hf_name("llama", "blk.12.attn_q.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.12.self_attn.q_proj.weight");
    cr_assert_eq(layer, 12);
    cr_assert_eq(ls_gguf_hf_name("qwen2", "blk.0.attn_k.bias", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.0.self_attn.k_proj.bias");
    cr_assert_eq(ls_gguf_hf_name("qwen2", "blk.3.ffn_norm.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.3.post_attention_layernorm.weight");
    cr_assert_eq(ls_gguf_hf_name("gemma3", "blk.3.ffn_norm.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.3.pre_feedforward_layernorm.weight");
    cr_assert_eq(ls_gguf_hf_name("gemma3", "blk.3.post_attention_norm.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.3.post_attention_layernorm.weight");
    cr_assert_eq(ls_gguf_hf_name("gemma3", "blk.3.post_ffw_norm.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.3.post_feedforward_layernorm.weight");
    cr_assert_eq(ls_gguf_hf_name("qwen3", "blk.1.attn_q_norm.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.layers.1.self_attn.q_norm.weight");
    cr_assert_eq(ls_gguf_hf_name("qwen3", "token_embd.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.embed_tokens.weight");
    cr_assert_eq(layer, -1);
    cr_assert_eq(ls_gguf_hf_name("qwen3", "output.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "lm_head.weight");
    cr_assert_eq(ls_gguf_hf_name("llama", "output_norm.weight", b, sizeof b, &layer), 0);
    cr_assert_str_eq(b, "model.norm.weight");
    /* not ours */
    cr_assert_eq(ls_gguf_hf_name("qwen2", "blk.1.attn_q_norm.weight", b, sizeof b, &layer), -1);
    cr_assert_eq(ls_gguf_hf_name("llama", "blk.1.post_ffw_norm.weight", b, sizeof b, &layer), -1);
    cr_assert_eq(ls_gguf_hf_name("llama", "rope_freqs.weight", b, sizeof b, &layer), -1);
    cr_assert_eq(ls_gguf_hf_name("llama", "blk.01.attn_q.weight", b, sizeof b, &layer), -1);
    cr_assert_eq(ls_gguf_hf_name("llama", "blk.x.attn_q.weight", b, sizeof b, &layer), -1);
    cr_assert_eq(ls_gguf_hf_name("llama", "blk.1.attn_q.scale", b, sizeof b, &layer), -1);
    cr_assert_eq(ls_gguf_hf_name("mamba", "token_embd.weight", b, sizeof b, &layer), -1);
    cr_assert(ls_path_is_gguf("a/b.gguf") && !ls_path_is_gguf("a/b") && !ls_path_is_gguf(".gguf/x"));
}

/* ---- malformed models ------------------------------------------------------------ */

/* A GGUF with general.architecture = arch, {arch}.block_count = 2, head_count 2, head_count_kv 1
 * (block_count written as a string when bad_count) and one tensor. */
static Gb model_file(const char *arch, int bad_count, const char *tname, uint32_t ttype, uint64_t ne0,
                     uint64_t ne1, size_t *tensor_at) {
    Gb g = {0};
    char k[64];
    gb_header(&g, 3, 1, 4);
    gb_key(&g, "general.architecture", LS_GGUF_STRING);
    gb_str(&g, arch);
    snprintf(k, sizeof k, "%s.block_count", arch);
    if (bad_count) {
        gb_key(&g, k, LS_GGUF_STRING);
        gb_str(&g, "two");
    } else {
        gb_key(&g, k, LS_GGUF_U32);
        gb_u32(&g, 2);
    }
    snprintf(k, sizeof k, "%s.attention.head_count", arch);
    gb_key(&g, k, LS_GGUF_U32);
    gb_u32(&g, 2);
    snprintf(k, sizeof k, "%s.attention.head_count_kv", arch);
    gb_key(&g, k, LS_GGUF_U32);
    gb_u32(&g, 1);
    uint64_t ne[2] = {ne0, ne1};
    *tensor_at = gb_tensor(&g, tname, ne1 ? 2 : 1, ne, ttype, 0);
    gb_pad(&g, 32);
    size_t be = ls_ggml_block_elems(ttype), bb = ls_ggml_block_bytes(ttype);
    gb_zeros(&g, ne0 / be * bb * (ne1 ? ne1 : 1));
    return g;
}

/* Writes g to a temporary .gguf file, runs ls_gguf_weights on it, expects failure with the needles. */
static void expect_weights_fail(Gb *g, const char *n1, const char *n2) {
    char path[] = "/tmp/ls_test_gguf_model_XXXXXX.gguf";
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, g->b, g->n), (ssize_t)g->n);
    close(fd);
    LsGguf *x;
    LsSafetensors *st = NULL;
    LsError e = {{0}};
    cr_assert_eq(ls_gguf_open(&x, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_gguf_weights(x, &st, &e), LS_ERR, "accepted (wanted: %s)", n1);
    cr_assert_null(st);
    cr_assert(strstr(e.msg, path), "no file name in: %s", e.msg);
    cr_assert(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_assert(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
    unlink(path);
    free(g->b);
}

static const char *at_byte(size_t off) {
    static char b[48];
    snprintf(b, sizeof b, "at byte %zu", off);
    return b;
}

Test(gguf_model, unsupported_architecture) {
    size_t t;
    Gb g = model_file("mamba", 0, "token_embd.weight", 0, 32, 4, &t);
    expect_weights_fail(&g, "key 'general.architecture' at byte 24", "\"mamba\" is not supported");
}

Test(gguf_model, block_count_wrong_type) {
    size_t t;
    Gb g = model_file("llama", 1, "token_embd.weight", 0, 32, 4, &t);
    expect_weights_fail(&g, "'llama.block_count' at byte 69", "type string, expected an integer");
}

Test(gguf_model, unknown_tensor_name) {
    size_t t;
    Gb g = model_file("llama", 0, "blk.0.attn_qkv.weight", 0, 32, 4, &t);
    expect_weights_fail(&g, "tensor 'blk.0.attn_qkv.weight'", at_byte(t));
}

Test(gguf_model, block_beyond_block_count) {
    size_t t;
    Gb g = model_file("qwen2", 0, "blk.2.attn_v.weight", 0, 32, 4, &t);
    expect_weights_fail(&g, "block 2 is outside the 2 of qwen2.block_count", at_byte(t));
}

Test(gguf_model, type_without_dequantizer) {
    size_t t;
    Gb g = model_file("qwen3", 0, "blk.0.ffn_up.weight", 10, 256, 2, &t);
    expect_weights_fail(&g, "type Q2_K is not supported", at_byte(t));
}

Test(gguf_model, llama_qk_rows_not_head_pairs) {
    size_t t;
    Gb g = model_file("llama", 0, "blk.0.attn_q.weight", 8, 32, 6, &t); /* 6 rows, 2 heads: 3 per head */
    expect_weights_fail(&g, "6 rows do not split into 2 heads of row pairs", at_byte(t));
}

Test(gguf_model, gemma_norm_not_f32) {
    size_t t;
    Gb g = model_file("gemma3", 0, "blk.1.attn_norm.weight", 1, 64, 0, &t);
    expect_weights_fail(&g, "a Gemma norm weight must be F32 (found F16)", at_byte(t));
}

Test(gguf_model, config_missing_key) {
    size_t t;
    Gb g = model_file("qwen2", 0, "token_embd.weight", 0, 32, 4, &t);
    LsGguf *x;
    LsError e = {{0}};
    cr_assert_eq(ls_gguf_parse(&x, g.b, g.n, "m.gguf", &e), LS_OK, "%s", e.msg);
    char *text;
    cr_assert_eq(ls_gguf_config_json(x, &text, &e), LS_ERR);
    cr_assert(strstr(e.msg, "m.gguf: missing required metadata key 'qwen2.embedding_length'"), "%s", e.msg);
    ls_gguf_close(x);
    free(g.b);
}

/* The config alone (what run / score --tp check before any weight is read). */
Test(gguf_model, config_load_without_weights) {
    char *path = fixture("qwen2", "gguf");
    LsModelConfig c;
    LsError e;
    cr_assert_eq(ls_model_config_load(&c, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.num_hidden_layers, 2);
    cr_assert_eq(c.num_attention_heads, 4);
    cr_assert(strstr(c.text, "\"general.architecture\": \"qwen2\""), "%.200s", c.text);
    ls_config_free(&c);
    cr_assert_eq(ls_model_config_load(&c, "/nonexistent/m.gguf", &e), LS_ERR);
    cr_assert(strstr(e.msg, "/nonexistent/m.gguf: cannot open"), "%s", e.msg);
    cr_assert_eq(ls_model_config_load(&c, "/nonexistent/dir", &e), LS_ERR);
    cr_assert(strstr(e.msg, "/nonexistent/dir/config.json"), "%s", e.msg);
    free(path);
}
