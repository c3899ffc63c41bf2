/* test_gguf_real.c — the two real GGUF files (scripts/fetch_real_models.sh,
 * folder in $LS_REAL_MODELS) against what the gguf package reads from them
 * (tests/fixtures/gguf-real, made by tests/oracle/make_gguf_real_fixtures.py):
 * tensor table (names, types, shapes), dequantized rows as stored, and rows
 * as transformers loads them (llama Q/K un-permuted, Gemma norms minus 1). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"
#include "ls/quant.h"

static char *model_path(const char *file) {
    const char *dir = getenv("LS_REAL_MODELS");
    cr_assert(dir, "LS_REAL_MODELS is not set (run through ctest, which fetches the models)");
    return ls_path_join(dir, file);
}

static json_t *load_fixture(const char *stem, float **vals) {
    char p[512];
    snprintf(p, sizeof p, "%s/fixtures/gguf-real/%s.json", LS_TEST_DIR, stem);
    json_error_t je;
    json_t *doc = json_load_file(p, 0, &je);
    cr_assert(doc, "%s: %s", p, je.text);
    snprintf(p, sizeof p, "%s/fixtures/gguf-real/%s.f32", LS_TEST_DIR, stem);
    char *buf;
    size_t len;
    LsError e;
    cr_assert_eq(ls_read_file(p, 0, &buf, &len, &e), LS_OK, "%s", e.msg);
    *vals = (float *)buf;
    return doc;
}

static void check_row(const char *what, const char *name, size_t row, const float *got, const float *want,
                      size_t cols) {
    for (size_t c = 0; c < cols; c++)
        cr_assert(memcmp(&got[c], &want[c], 4) == 0, "%s %s row %zu col %zu: %.9g, gguf package %.9g", what,
                  name, row, c, got[c], want[c]);
}

static void check_file(const char *stem) {
    float *vals;
    json_t *doc = load_fixture(stem, &vals);
    char *path = model_path(json_string_value(json_object_get(doc, "file")));
    LsGguf *g;
    LsError e;
    cr_assert_eq(ls_gguf_open(&g, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_gguf_version(g), 3);
    cr_assert_eq(ls_gguf_kv_count(g), (size_t)json_integer_value(json_object_get(doc, "n_kv")));
    cr_assert_eq(ls_gguf_alignment(g), (size_t)json_integer_value(json_object_get(doc, "alignment")));

    /* the tensor table, in file order */
    json_t *tensors = json_object_get(doc, "tensors"), *t;
    size_t i;
    cr_assert_eq(ls_gguf_tensor_count(g), json_array_size(tensors));
    json_array_foreach(tensors, i, t) {
        const LsGgufTensor *x = ls_gguf_tensor_at(g, i);
        cr_assert_str_eq(x->name, json_string_value(json_array_get(t, 0)));
        cr_assert_str_eq(ls_ggml_type_name(x->ggml_type), json_string_value(json_array_get(t, 1)), "%s",
                         x->name);
        json_t *ne = json_array_get(t, 2);
        cr_assert_eq((size_t)x->n_dims, json_array_size(ne), "%s", x->name);
        for (int d = 0; d < x->n_dims; d++)
            cr_assert_eq(x->ne[d], json_integer_value(json_array_get(ne, (size_t)d)), "%s ne[%d]", x->name,
                         d);
    }

    /* rows as stored (ls_dequantize on the file's bytes) and as the model loader serves them */
    LsGguf *g2;
    LsSafetensors *st;
    cr_assert_eq(ls_gguf_open(&g2, path, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_gguf_weights(g2, &st, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_st_count(st), ls_gguf_tensor_count(g));
    json_t *r;
    json_array_foreach(json_object_get(doc, "rows"), i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *hf = json_string_value(json_object_get(r, "hf_name"));
        size_t row = (size_t)json_integer_value(json_object_get(r, "row"));
        size_t cols = (size_t)json_integer_value(json_object_get(r, "cols"));
        const float *want = vals + json_integer_value(json_object_get(r, "offset"));
        const LsGgufTensor *x = ls_gguf_tensor_find(g, name);
        LsDType dt;
        cr_assert(x, "%s", name);
        cr_assert_eq(ls_dtype_from_ggml(x->ggml_type, &dt), 0, "%s", name);
        cr_assert_str_eq(ls_dtype_name(dt), json_string_value(json_object_get(r, "type")));
        float *got = malloc(cols * sizeof *got);
        ls_dequantize(dt, (const unsigned char *)x->data + row * ls_dtype_row_bytes(dt, cols), cols, got);
        check_row("stored", name, row, got, want, cols);
        const LsTensor *y = ls_st_find(st, hf);
        cr_assert(y, "%s (%s) not served", hf, name);
        cr_assert_eq(y->shape[y->ndim - 1], (int64_t)cols, "%s", hf);
        ls_tensor_to_f32(y, row * cols, cols, got);
        check_row("loaded", hf, row, got, want + cols, cols);
        free(got);
    }
    ls_st_close(st);
    ls_gguf_close(g);
    json_decref(doc);
    free(vals);
    free(path);
}

/* The config derived from the metadata (transformers' names and values). */
static void check_config(const char *file, const char *const *want) {
    char *path = model_path(file);
    LsGguf *g;
    LsError e;
    cr_assert_eq(ls_gguf_open(&g, path, &e), LS_OK, "%s", e.msg);
    char *text;
    cr_assert_eq(ls_gguf_config_json(g, &text, &e), LS_OK, "%s", e.msg);
    for (const char *const *w = want; *w; w++)
        cr_assert(strstr(text, *w), "'%s' not in %s", *w, text);
    free(text);
    ls_gguf_close(g);
    free(path);
}

Test(gguf_real, smollm2_q4_1) {
    check_file("SmolLM2-135M-Instruct.Q4_1");
}

Test(gguf_real, gemma3_270m_q4_k_m) {
    check_file("gemma-3-270m-q4_k_m");
}

Test(gguf_real, smollm2_config) {
    const char *want[] = {"\"model_type\": \"llama\"",
                          "\"num_hidden_layers\": 30",
                          "\"hidden_size\": 576",
                          "\"intermediate_size\": 1536",
                          "\"num_attention_heads\": 9",
                          "\"num_key_value_heads\": 3",
                          "\"head_dim\": 64",
                          "\"vocab_size\": 49152",
                          "\"max_position_embeddings\": 8192",
                          "\"rope_theta\": 100000.0",
                          "\"tie_word_embeddings\": true",
                          NULL};
    check_config("SmolLM2-135M-Instruct.Q4_1.gguf", want);
}

Test(gguf_real, gemma3_config) {
    const char *want[] = {"\"model_type\": \"gemma3_text\"",
                          "\"num_hidden_layers\": 18",
                          "\"hidden_size\": 640",
                          "\"intermediate_size\": 2048",
                          "\"num_attention_heads\": 4",
                          "\"num_key_value_heads\": 1",
                          "\"head_dim\": 256",
                          "\"vocab_size\": 262144",
                          "\"sliding_window\": 512",
                          "\"rope_theta\": 1000000.0",
                          "\"tie_word_embeddings\": true",
                          NULL};
    check_config("gemma-3-270m-q4_k_m.gguf", want);
}

/* Both open as models (ls_model_open: every weight the architecture needs, with its shape). */
static void check_open(const char *file, const char *model_type, int layers, int vocab) {
    char *path = model_path(file);
    LsModel m;
    LsError e;
    cr_assert_eq(ls_model_open(&m, path, &e), LS_OK, "%s", e.msg);
    cr_assert_str_eq(m.cfg.model_type, model_type);
    cr_assert_eq(m.cfg.num_hidden_layers, layers);
    cr_assert_eq(m.cfg.vocab_size, vocab);
    cr_assert_eq(m.cfg.tie_word_embeddings, 1);
    cr_assert_eq(m.lm_head, m.embed);
    cr_assert_eq(m.embed->dtype, LS_DT_Q8_0);
    ls_model_close(&m);
    free(path);
}

Test(gguf_real, smollm2_opens_as_model) {
    check_open("SmolLM2-135M-Instruct.Q4_1.gguf", "llama", 30, 49152);
}

Test(gguf_real, gemma3_opens_as_model) {
    check_open("gemma-3-270m-q4_k_m.gguf", "gemma3_text", 18, 262144);
}
