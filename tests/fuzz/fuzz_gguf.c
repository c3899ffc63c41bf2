/* fuzz_gguf.c — the input is a whole GGUF file. Accepted files have every
 * metadata value read through the typed getters and rendered as JSON, every
 * tensor name mapped, the model config derived, and — through the model
 * loader on a writable copy (llama Q/K un-permutation, Gemma norms) — the
 * first and last row of every tensor dequantized. */
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"
#include "ls/quant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_metadata(const LsGguf *g) {
    LsError e;
    for (size_t i = 0; i < ls_gguf_kv_count(g); i++) {
        const char *k = ls_gguf_kv_at(g, i)->key;
        LsGgufStr s;
        int64_t v;
        double d;
        int b;
        const LsGgufStr *ss;
        int64_t *is = NULL;
        float *fs = NULL;
        size_t n;
        (void)ls_gguf_get_str(g, k, &s, &e);
        (void)ls_gguf_get_int(g, k, &v, &e);
        (void)ls_gguf_get_float(g, k, &d, &e);
        (void)ls_gguf_get_bool(g, k, &b, &e);
        (void)ls_gguf_get_str_array(g, k, &ss, &n, &e);
        if (ls_gguf_get_int_array(g, k, &is, &n, &e) == 1) free(is);
        if (ls_gguf_get_float_array(g, k, &fs, &n, &e) == 1) free(fs);
    }
    free(ls_gguf_metadata_json(g, 8));
    char *cfg;
    if (ls_gguf_config_json(g, &cfg, &e) == LS_OK) free(cfg);
}

static void read_rows(const LsSafetensors *st) {
    float buf[1024];
    for (size_t i = 0; i < ls_st_count(st); i++) {
        const LsTensor *t = ls_st_at(st, i);
        size_t cols = t->ndim ? (size_t)t->shape[t->ndim - 1] : 0,
               rows = cols ? t->nbytes / ls_dtype_row_bytes(t->dtype, cols) : 0;
        if (cols == 0 || rows == 0 || cols > LS_ARRAY_LEN(buf)) continue;
        ls_tensor_to_f32(t, 0, cols, buf);
        ls_tensor_to_f32(t, (rows - 1) * cols, cols, buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LsGguf *g;
    LsError e;
    if (ls_gguf_parse(&g, data, size, "fuzz.gguf", &e) != LS_OK) return 0;
    for (size_t i = 0; i < ls_gguf_tensor_count(g); i++) {
        const LsGgufTensor *t = ls_gguf_tensor_at(g, i);
        if (!t->data || t->file_offset + t->nbytes > size) abort(); /* whole file given: data must be in it */
    }
    read_metadata(g);
    ls_gguf_close(g);

    unsigned char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    LsSafetensors *st;
    if (ls_gguf_parse_writable(&g, copy, size, "fuzz.gguf", &e) == LS_OK &&
        ls_gguf_weights(g, &st, &e) == LS_OK) {
        read_rows(st);
        ls_st_close(st);
    }
    free(copy);
    return 0;
}
