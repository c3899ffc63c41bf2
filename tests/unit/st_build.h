/* st_build.h — test helpers that write safetensors files and checkpoint
 * folders from C (no Python needed), shared by test_safetensors.c and
 * test_model.c. Header-only, everything static.
 */
#ifndef LS_TEST_ST_BUILD_H
#define LS_TEST_ST_BUILD_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls/common.h"
#include "ls/model.h"

#define TB_FN static __attribute__((unused))

/* ---- temp folders ------------------------------------------------------- */

TB_FN char *tb_tmpdir(void) {
    char tmpl[] = "/tmp/ls_test_XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) abort();
    return ls_strdup(d);
}

TB_FN int tb_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

TB_FN void tb_rmdir(char *d) {
    nftw(d, tb_rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(d);
}

TB_FN void tb_write(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(buf, 1, n, f) != n) abort();
    fclose(f);
}

TB_FN void tb_write_str(const char *dir, const char *name, const char *text) {
    char *p = ls_path_join(dir, name);
    tb_write(p, text, strlen(text));
    free(p);
}

/* Serialises [u64 len][header][data] into a heap buffer. */
TB_FN unsigned char *tb_st_bytes(const char *header, const void *data, size_t dlen, size_t *n) {
    size_t h = strlen(header);
    *n = 8 + h + dlen;
    unsigned char *b = ls_malloc(*n);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    if (dlen) memcpy(b + 8 + h, data, dlen);
    return b;
}

TB_FN void tb_write_st(const char *path, const char *header, const void *data, size_t dlen) {
    size_t n;
    unsigned char *b = tb_st_bytes(header, data, dlen, &n);
    tb_write(path, b, n);
    free(b);
}

/* ---- value encoding ------------------------------------------------------ */

/* fp32 -> fp16 bits for normal values that fit (tests use exact values). */
TB_FN uint16_t tb_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000;
    int exp = (int)((u >> 23) & 0xFF) - 127 + 15;
    uint32_t man = (u >> 13) & 0x3FF;
    if ((u & 0x7FFFFFFF) == 0) return (uint16_t)sign;
    if (exp <= 0 || exp >= 31) abort(); /* not needed by the tests */
    return (uint16_t)(sign | ((uint32_t)exp << 10) | man);
}

TB_FN void tb_put(unsigned char *p, LsDType t, float v) {
    if (t == LS_DT_F32) {
        uint32_t u;
        memcpy(&u, &v, 4);
        for (int i = 0; i < 4; i++)
            p[i] = (unsigned char)(u >> (8 * i));
    } else {
        uint16_t h = t == LS_DT_BF16 ? ls_f32_to_bf16(v) : tb_f32_to_f16(v);
        p[0] = (unsigned char)h;
        p[1] = (unsigned char)(h >> 8);
    }
}

/* ---- safetensors builder ------------------------------------------------- */

typedef struct {
    char *hdr; /* JSON text without the closing brace */
    size_t hlen, hcap;
    unsigned char *data;
    size_t dlen;
    int n;
} TbSt;

TB_FN void tb_hdr_append(TbSt *b, const char *s) {
    size_t k = strlen(s);
    if (b->hlen + k + 1 > b->hcap) {
        b->hcap = 2 * (b->hlen + k + 1) + 64;
        b->hdr = ls_realloc(b->hdr, b->hcap);
    }
    memcpy(b->hdr + b->hlen, s, k + 1);
    b->hlen += k;
}

TB_FN void tb_st_init(TbSt *b) {
    memset(b, 0, sizeof *b);
    tb_hdr_append(b, "{");
}

/* Adds a tensor; vals has prod(shape) values (NULL: i * 0.25 - 1). */
TB_FN void tb_st_add(TbSt *b, const char *name, LsDType t, int ndim, const int64_t *shape,
                     const float *vals) {
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    size_t es = ls_dtype_size(t), begin = b->dlen, end = begin + numel * es;
    b->data = ls_realloc(b->data, end ? end : 1);
    for (size_t i = 0; i < numel; i++)
        tb_put(b->data + begin + i * es, t, vals ? vals[i] : (float)i * 0.25f - 1.0f);
    b->dlen = end;
    char buf[512], sh[128] = "";
    size_t o = 0;
    for (int i = 0; i < ndim; i++)
        o += (size_t)snprintf(sh + o, sizeof sh - o, "%s%lld", i ? "," : "", (long long)shape[i]);
    snprintf(buf, sizeof buf, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
             b->n ? "," : "", name, ls_dtype_name(t), sh, begin, end);
    tb_hdr_append(b, buf);
    b->n++;
}

TB_FN void tb_st_write(TbSt *b, const char *path) {
    tb_hdr_append(b, "}");
    tb_write_st(path, b->hdr, b->data, b->dlen);
    b->hlen--;
    b->hdr[b->hlen] = '\0';
}

TB_FN void tb_st_free(TbSt *b) {
    free(b->hdr);
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- tiny Qwen2 checkpoint ------------------------------------------------ */

typedef struct {
    int d, f, L, H, Hkv, hd, V;
    int tie;
    LsDType dt;
    const char *skip;      /* tensor name to leave out (or NULL) */
    const char *bad_shape; /* tensor name to write with a wrong shape (or NULL) */
} TbQwen;

/* Pseudo-random weight value i of tensor name: k/64 with |k| <= 64, exact in
 * fp32, fp16 and bf16, so a test can recompute what was written. */
TB_FN float tb_qwen_val(const char *name, size_t i) {
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h ^= (uint32_t)i * 2654435761u;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    return (float)((int)(h % 129) - 64) / 64.0f;
}

TB_FN void tb_qwen_add(TbSt *b, const TbQwen *q, const char *name, int ndim, int64_t a, int64_t c) {
    if (q->skip && strcmp(q->skip, name) == 0) return;
    int64_t shape[2] = {a, c};
    if (q->bad_shape && strcmp(q->bad_shape, name) == 0) shape[ndim - 1] += 1;
    size_t numel = (size_t)shape[0] * (size_t)(ndim == 2 ? shape[1] : 1);
    float *v = ls_malloc((numel ? numel : 1) * sizeof *v);
    for (size_t i = 0; i < numel; i++)
        v[i] = tb_qwen_val(name, i);
    tb_st_add(b, name, q->dt, ndim, shape, v);
    free(v);
}

/* Writes config.json and model.safetensors for q into dir. */
TB_FN void tb_qwen_write(const char *dir, const TbQwen *q) {
    char cfg[2048];
    snprintf(
        cfg, sizeof cfg,
        "{\"architectures\":[\"Qwen2ForCausalLM\"],\"model_type\":\"qwen2\",\"hidden_act\":\"silu\","
        "\"hidden_size\":%d,\"intermediate_size\":%d,\"num_hidden_layers\":%d,\"num_attention_heads\":%d,"
        "\"num_key_value_heads\":%d,\"head_dim\":%d,\"vocab_size\":%d,\"max_position_embeddings\":128,"
        "\"rms_norm_eps\":1e-06,\"rope_theta\":10000.0,\"rope_scaling\":null,\"use_sliding_window\":false,"
        "\"tie_word_embeddings\":%s,\"torch_dtype\":\"%s\",\"bos_token_id\":1,\"eos_token_id\":[2,3]}",
        q->d, q->f, q->L, q->H, q->Hkv, q->hd, q->V, q->tie ? "true" : "false",
        q->dt == LS_DT_F32   ? "float32"
        : q->dt == LS_DT_F16 ? "float16"
                             : "bfloat16");
    tb_write_str(dir, "config.json", cfg);
    TbSt b;
    tb_st_init(&b);
    int qd = q->H * q->hd, kvd = q->Hkv * q->hd;
    tb_qwen_add(&b, q, "model.embed_tokens.weight", 2, q->V, q->d);
    for (int l = 0; l < q->L; l++) {
        char nm[128];
#define ADD(suffix, nd, a, c)                                                                                \
    do {                                                                                                     \
        snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix);                                            \
        tb_qwen_add(&b, q, nm, nd, a, c);                                                                    \
    } while (0)
        ADD("input_layernorm.weight", 1, q->d, 0);
        ADD("self_attn.q_proj.weight", 2, qd, q->d);
        ADD("self_attn.q_proj.bias", 1, qd, 0);
        ADD("self_attn.k_proj.weight", 2, kvd, q->d);
        ADD("self_attn.k_proj.bias", 1, kvd, 0);
        ADD("self_attn.v_proj.weight", 2, kvd, q->d);
        ADD("self_attn.v_proj.bias", 1, kvd, 0);
        ADD("self_attn.o_proj.weight", 2, q->d, qd);
        ADD("post_attention_layernorm.weight", 1, q->d, 0);
        ADD("mlp.gate_proj.weight", 2, q->f, q->d);
        ADD("mlp.up_proj.weight", 2, q->f, q->d);
        ADD("mlp.down_proj.weight", 2, q->d, q->f);
#undef ADD
    }
    tb_qwen_add(&b, q, "model.norm.weight", 1, q->d, 0);
    if (!q->tie) tb_qwen_add(&b, q, "lm_head.weight", 2, q->V, q->d);
    char *p = ls_path_join(dir, "model.safetensors");
    tb_st_write(&b, p);
    free(p);
    tb_st_free(&b);
}

#endif
