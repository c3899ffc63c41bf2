/* gguf_model.c — a GGUF file as a model checkpoint: metadata -> the
 * config.json transformers derives, ggml tensor names -> transformers' names,
 * and the tensor transformations transformers applies when loading a GGUF
 * (modeling_gguf_pytorch_utils.py: LlamaTensorProcessor, Gemma2TensorProcessor).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"
#include "ls/quant.h"

#define GGUF_ARRAY_SHOWN 64 /* longer metadata arrays are summarised in cfg->text */

int ls_path_is_gguf(const char *path) {
    size_t n = strlen(path);
    return n >= 5 && strcmp(path + n - 5, ".gguf") == 0;
}

/* ---- architectures ----------------------------------------------------------- */

typedef struct {
    const char *arch;       /* general.architecture */
    const char *model_type; /* transformers' model_type */
    int qk_norm;            /* attn_q_norm / attn_k_norm (q_norm / k_norm) */
    int gemma_norms;        /* the four Gemma norms, each stored as 1 + w */
    int permute_qk;         /* llama.cpp permuted Q/K rows for its RoPE layout */
} GgufArch;

static const GgufArch gguf_archs[] = {
    {"qwen2", "qwen2", 0, 0, 0},
    {"llama", "llama", 0, 0, 1},
    {"qwen3", "qwen3", 1, 0, 0},
    {"gemma3", "gemma3_text", 1, 1, 0},
};

static const GgufArch *arch_find(const char *name) {
    for (size_t i = 0; i < LS_ARRAY_LEN(gguf_archs); i++)
        if (strcmp(gguf_archs[i].arch, name) == 0) return &gguf_archs[i];
    return NULL;
}

/* ---- tensor names ------------------------------------------------------------ */

typedef struct {
    const char *gguf, *hf;
    int which; /* 0 all, 1 qk_norm archs, 2 gemma only, 3 not gemma */
} NameMap;

static const NameMap block_names[] = {
    {"attn_norm", "input_layernorm", 0},
    {"attn_q", "self_attn.q_proj", 0},
    {"attn_k", "self_attn.k_proj", 0},
    {"attn_v", "self_attn.v_proj", 0},
    {"attn_output", "self_attn.o_proj", 0},
    {"attn_q_norm", "self_attn.q_norm", 1},
    {"attn_k_norm", "self_attn.k_norm", 1},
    {"ffn_gate", "mlp.gate_proj", 0},
    {"ffn_up", "mlp.up_proj", 0},
    {"ffn_down", "mlp.down_proj", 0},
    {"ffn_norm", "post_attention_layernorm", 3},
    {"ffn_norm", "pre_feedforward_layernorm", 2},
    {"post_attention_norm", "post_attention_layernorm", 2},
    {"post_ffw_norm", "post_feedforward_layernorm", 2},
};

static const NameMap top_names[] = {
    {"token_embd", "model.embed_tokens", 0},
    {"output_norm", "model.norm", 0},
    {"output", "lm_head", 0},
};

static int name_applies(const NameMap *m, const GgufArch *a) {
    switch (m->which) {
    case 1:
        return a->qk_norm;
    case 2:
        return a->gemma_norms;
    case 3:
        return !a->gemma_norms;
    default:
        return 1;
    }
}

/* Splits "stem.weight" / "stem.bias" into stem and suffix; -1 otherwise. */
static int split_suffix(const char *name, char *stem, size_t cap, const char **suffix) {
    const char *dot = strrchr(name, '.');
    if (!dot || (strcmp(dot, ".weight") != 0 && strcmp(dot, ".bias") != 0)) return -1;
    size_t n = (size_t)(dot - name);
    if (n == 0 || n >= cap) return -1;
    memcpy(stem, name, n);
    stem[n] = '\0';
    *suffix = dot;
    return 0;
}

int ls_gguf_hf_name(const char *arch, const char *gguf_name, char *buf, size_t cap, int *layer) {
    const GgufArch *a = arch_find(arch);
    char stem[128];
    const char *suffix;
    *layer = -1;
    if (!a || split_suffix(gguf_name, stem, sizeof stem, &suffix) != 0) return -1;
    for (size_t i = 0; i < LS_ARRAY_LEN(top_names); i++)
        if (strcmp(stem, top_names[i].gguf) == 0) {
            int n = snprintf(buf, cap, "%s%s", top_names[i].hf, suffix);
            return n > 0 && (size_t)n < cap ? 0 : -1;
        }
    /* blk.N.part: N decimal without leading zeros */
    if (strncmp(stem, "blk.", 4) != 0) return -1;
    const char *p = stem + 4;
    long n = 0;
    if (*p < '0' || *p > '9' || (*p == '0' && p[1] != '.')) return -1;
    while (*p >= '0' && *p <= '9' && n < 1000000)
        n = n * 10 + (*p++ - '0');
    if (*p != '.') return -1;
    p++;
    for (size_t i = 0; i < LS_ARRAY_LEN(block_names); i++)
        if (name_applies(&block_names[i], a) && strcmp(p, block_names[i].gguf) == 0) {
            int k = snprintf(buf, cap, "model.layers.%ld.%s%s", n, block_names[i].hf, suffix);
            *layer = (int)n;
            return k > 0 && (size_t)k < cap ? 0 : -1;
        }
    return -1;
}

/* ---- config -------------------------------------------------------------------- */

/* Reads {arch}.suffix as an integer; required or not. Returns 1 found, 0 absent, LS_ERR. */
static int meta_int(const LsGguf *g, const char *arch, const char *suffix, int required, int64_t *out,
                    LsError *e) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int r = ls_gguf_get_int(g, key, out, e);
    if (r == 0 && required) return ls_fail(e, "%s: missing required metadata key '%s'", ls_gguf_file(g), key);
    return r;
}

static int meta_float(const LsGguf *g, const char *arch, const char *suffix, int required, double *out,
                      LsError *e) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int r = ls_gguf_get_float(g, key, out, e);
    if (r == 0 && required) return ls_fail(e, "%s: missing required metadata key '%s'", ls_gguf_file(g), key);
    return r;
}

/* Copies an integer key into the JSON object when present. */
static int json_int_key(json_t *o, const char *jkey, const LsGguf *g, const char *arch, const char *suffix,
                        int required, LsError *e) {
    int64_t v;
    int r = meta_int(g, arch, suffix, required, &v, e);
    if (r == 1) json_object_set_new(o, jkey, json_integer((json_int_t)v));
    return r < 0 ? LS_ERR : LS_OK;
}

/* general.architecture, which must be one we map. */
static int gguf_arch(const LsGguf *g, const GgufArch **out, LsError *e) {
    LsGgufStr s;
    int r = ls_gguf_get_str(g, "general.architecture", &s, e);
    if (r < 0) return LS_ERR;
    if (r == 0)
        return ls_fail(e, "%s: missing required metadata key 'general.architecture'", ls_gguf_file(g));
    char name[32] = "";
    if (s.len < sizeof name) {
        memcpy(name, s.s, s.len);
        name[s.len] = '\0';
    }
    *out = arch_find(name);
    if (!*out)
        return ls_fail(
            e,
            "%s: key 'general.architecture' at byte %zu: \"%.*s\" is not supported (expected qwen2, "
            "llama, qwen3 or gemma3)",
            ls_gguf_file(g), ls_gguf_kv_find(g, "general.architecture")->offset,
            (int)(s.len < 100 ? s.len : 100), s.s);
    return LS_OK;
}

/* head_dim: attention.key_length (= value_length), else for llama rope.dimension_count (as transformers). */
static int gguf_head_dim(json_t *o, const LsGguf *g, const GgufArch *a, LsError *e) {
    int64_t kl = 0, vl = 0;
    int rk = meta_int(g, a->arch, "attention.key_length", 0, &kl, e);
    if (rk < 0) return LS_ERR;
    int rv = meta_int(g, a->arch, "attention.value_length", 0, &vl, e);
    if (rv < 0) return LS_ERR;
    if (rk == 1 && rv == 1 && kl != vl)
        return ls_fail(
            e, "%s: key '%s.attention.value_length': %lld differs from key_length %lld (not supported)",
            ls_gguf_file(g), a->arch, (long long)vl, (long long)kl);
    if (rk == 0 && a->permute_qk) rk = meta_int(g, a->arch, "rope.dimension_count", 0, &kl, e);
    if (rk < 0) return LS_ERR;
    if (rk == 1) json_object_set_new(o, "head_dim", json_integer((json_int_t)kl));
    return LS_OK;
}

/* rope.scaling.type other than "none" becomes a rope_scaling object (which ls_config_parse judges). */
static int gguf_rope_scaling(json_t *o, const LsGguf *g, const GgufArch *a, LsError *e) {
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a->arch);
    LsGgufStr t;
    int r = ls_gguf_get_str(g, key, &t, e);
    if (r <= 0) return r;
    if (t.len == 4 && memcmp(t.s, "none", 4) == 0) return LS_OK;
    json_t *rs = json_object();
    json_t *tj = json_stringn(t.s, t.len);
    json_object_set_new(rs, "rope_type", tj ? tj : json_string("(not UTF-8)"));
    double f;
    int64_t n;
    if ((r = meta_float(g, a->arch, "rope.scaling.factor", 0, &f, e)) < 0) goto fail;
    if (r == 1) json_object_set_new(rs, "factor", json_real(f));
    if ((r = meta_int(g, a->arch, "rope.scaling.original_context_length", 0, &n, e)) < 0) goto fail;
    if (r == 1) json_object_set_new(rs, "original_max_position_embeddings", json_integer((json_int_t)n));
    json_object_set_new(o, "rope_scaling", rs);
    return LS_OK;
fail:
    json_decref(rs);
    return LS_ERR;
}

/* vocab_size: {arch}.vocab_size, else the token list's length, else token_embd's rows. */
static int gguf_vocab(json_t *o, const LsGguf *g, const GgufArch *a, LsError *e) {
    int64_t v;
    int r = meta_int(g, a->arch, "vocab_size", 0, &v, e);
    if (r < 0) return LS_ERR;
    if (r == 0) {
        const LsGgufKv *kv = ls_gguf_kv_find(g, "tokenizer.ggml.tokens");
        const LsGgufTensor *t = ls_gguf_tensor_find(g, "token_embd.weight");
        if (kv && kv->type == LS_GGUF_ARRAY)
            v = (int64_t)kv->n;
        else if (t && t->n_dims == 2)
            v = t->ne[1];
        else
            return ls_fail(e,
                           "%s: no vocabulary size: no '%s.vocab_size', 'tokenizer.ggml.tokens' or 2-D "
                           "token_embd.weight",
                           ls_gguf_file(g), a->arch);
    }
    json_object_set_new(o, "vocab_size", json_integer((json_int_t)v));
    return LS_OK;
}

static int gguf_token_ids(json_t *o, const LsGguf *g, LsError *e) {
    static const char *const keys[][2] = {{"tokenizer.ggml.bos_token_id", "bos_token_id"},
                                          {"tokenizer.ggml.eos_token_id", "eos_token_id"}};
    for (size_t i = 0; i < LS_ARRAY_LEN(keys); i++) {
        int64_t v;
        int r = ls_gguf_get_int(g, keys[i][0], &v, e);
        if (r < 0) return LS_ERR;
        if (r == 1) json_object_set_new(o, keys[i][1], json_integer((json_int_t)v));
    }
    return LS_OK;
}

int ls_gguf_config_json(const LsGguf *g, char **out, LsError *e) {
    *out = NULL;
    const GgufArch *a;
    if (gguf_arch(g, &a, e)) return LS_ERR;
    json_t *o = json_object();
    int rc = LS_ERR;
    json_object_set_new(o, "model_type", json_string(a->model_type));
    if (json_int_key(o, "num_hidden_layers", g, a->arch, "block_count", 1, e) ||
        json_int_key(o, "hidden_size", g, a->arch, "embedding_length", 1, e) ||
        json_int_key(o, "intermediate_size", g, a->arch, "feed_forward_length", 1, e) ||
        json_int_key(o, "num_attention_heads", g, a->arch, "attention.head_count", 1, e) ||
        json_int_key(o, "num_key_value_heads", g, a->arch, "attention.head_count_kv", 0, e) ||
        json_int_key(o, "max_position_embeddings", g, a->arch, "context_length", 0, e) ||
        json_int_key(o, "sliding_window", g, a->arch, "attention.sliding_window", 0, e) ||
        gguf_head_dim(o, g, a, e) || gguf_rope_scaling(o, g, a, e) || gguf_vocab(o, g, a, e) ||
        gguf_token_ids(o, g, e))
        goto done;
    double eps, theta;
    if (meta_float(g, a->arch, "attention.layer_norm_rms_epsilon", 1, &eps, e) < 0 ||
        meta_float(g, a->arch, "rope.freq_base", 1, &theta, e) < 0)
        goto done;
    json_object_set_new(o, "rms_norm_eps", json_real(eps));
    json_object_set_new(o, "rope_theta", json_real(theta));
    json_object_set_new(o, "tie_word_embeddings", json_boolean(!ls_gguf_tensor_find(g, "output.weight")));
    json_object_set_new(o, "torch_dtype", json_string("float32")); /* transformers dequantizes to fp32 */
    char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    *out = ls_strdup(s);
    free(s);
    rc = LS_OK;
done:
    json_decref(o);
    return rc;
}

/* ---- tensors ---------------------------------------------------------------------- */

/* Builds the transformers-named tensor table; unknown names, layers outside
 * block_count and types we cannot dequantize are errors naming the tensor. */
static int gguf_table(const LsGguf *g, const GgufArch *a, int n_layers, LsStHeader *h, LsError *e) {
    size_t n = ls_gguf_tensor_count(g), names_len = 0, o = 0;
    char(*hf)[160] = ls_malloc((n ? n : 1) * sizeof *hf);
    int rc = LS_OK;
    for (size_t i = 0; i < n && rc == LS_OK; i++) {
        const LsGgufTensor *t = ls_gguf_tensor_at(g, i);
        int layer;
        LsDType dt;
        hf[i][0] = '\0';
        if (ls_gguf_hf_name(a->arch, t->name, hf[i], sizeof hf[i], &layer) != 0)
            rc = ls_fail(e, "%s: tensor '%.200s' at byte %zu is not a weight of a %s model", ls_gguf_file(g),
                         t->name, t->info_offset, a->arch);
        else if (layer >= n_layers)
            rc = ls_fail(e, "%s: tensor '%.200s' at byte %zu: block %d is outside the %d of %s.block_count",
                         ls_gguf_file(g), t->name, t->info_offset, layer, n_layers, a->arch);
        else if (ls_dtype_from_ggml(t->ggml_type, &dt) != 0)
            rc = ls_fail(
                e,
                "%s: tensor '%.200s' at byte %zu: type %s is not supported (F32, F16, BF16, Q8_0, Q4_0, "
                "Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)",
                ls_gguf_file(g), t->name, t->info_offset, ls_ggml_type_name(t->ggml_type));
        names_len += strlen(hf[i]) + 1;
    }
    if (rc == LS_OK) {
        h->n = n;
        h->tensors = ls_calloc(n ? n : 1, sizeof *h->tensors);
        h->names = ls_malloc(names_len ? names_len : 1);
        for (size_t i = 0; i < n; i++) {
            const LsGgufTensor *t = ls_gguf_tensor_at(g, i);
            LsTensor *d = &h->tensors[i];
            size_t k = strlen(hf[i]) + 1;
            memcpy(h->names + o, hf[i], k);
            d->name = h->names + o;
            o += k;
            ls_dtype_from_ggml(t->ggml_type, &d->dtype);
            d->ndim = t->n_dims;
            for (int j = 0; j < t->n_dims; j++)
                d->shape[j] = t->ne[t->n_dims - 1 - j];
            d->data = t->data;
            d->nbytes = t->nbytes;
            d->file_offset = t->file_offset;
        }
    }
    free(hf);
    return rc;
}

/* Undoes llama.cpp's Q/K permutation: within each of n_head groups of rows,
 * stored row 2b + a becomes row a * (rows_per_head / 2) + b (transformers'
 * _reverse_permute_weights). Whole stored rows move; nothing is expanded. */
static int unpermute_rows(LsGguf *g, const LsGgufTensor *t, int n_head, LsError *e) {
    int64_t rows = t->n_dims == 1 ? t->ne[0] : t->ne[1];
    if (t->n_dims > 2 || n_head <= 0 || rows % (2 * (int64_t)n_head) != 0)
        return ls_fail(e,
                       "%s: tensor '%.200s' at byte %zu: %lld rows do not split into %d heads of row pairs",
                       ls_gguf_file(g), t->name, t->info_offset, (long long)rows, n_head);
    if (rows == 0) return LS_OK;
    size_t rb = t->nbytes / (size_t)rows, per = (size_t)rows / (size_t)n_head, half = per / 2;
    unsigned char *base = ls_gguf_data_mut(g, t);
    if (!base) return ls_fail(e, "%s: tensor '%.200s': not in a writable mapping", ls_gguf_file(g), t->name);
    unsigned char *tmp = ls_malloc(per * rb);
    for (int h = 0; h < n_head; h++) {
        unsigned char *head = base + (size_t)h * per * rb;
        memcpy(tmp, head, per * rb);
        for (size_t b = 0; b < half; b++)
            for (size_t a = 0; a < 2; a++)
                memcpy(head + (a * half + b) * rb, tmp + (2 * b + a) * rb, rb);
    }
    free(tmp);
    return LS_OK;
}

/* Gemma: llama.cpp stores norm weights as 1 + w; transformers subtracts 1 again (fp32). */
static int gemma_norm_minus_one(LsGguf *g, const LsGgufTensor *t, LsError *e) {
    if (t->ggml_type != 0)
        return ls_fail(e, "%s: tensor '%.200s' at byte %zu: a Gemma norm weight must be F32 (found %s)",
                       ls_gguf_file(g), t->name, t->info_offset, ls_ggml_type_name(t->ggml_type));
    unsigned char *p = ls_gguf_data_mut(g, t);
    if (!p) return ls_fail(e, "%s: tensor '%.200s': not in a writable mapping", ls_gguf_file(g), t->name);
    for (size_t i = 0; i < t->nbytes / 4; i++) {
        float v = ls_load_f32(p + 4 * i) - 1.0f;
        memcpy(p + 4 * i, &v, 4);
    }
    return LS_OK;
}

/* {arch}.block_count, .attention.head_count and .head_count_kv (default head_count). */
static int gguf_counts(const LsGguf *g, const GgufArch *a, int64_t *layers, int64_t *heads, int64_t *kv_heads,
                       LsError *e) {
    if (meta_int(g, a->arch, "block_count", 1, layers, e) < 0 ||
        meta_int(g, a->arch, "attention.head_count", 1, heads, e) < 0)
        return LS_ERR;
    int r = meta_int(g, a->arch, "attention.head_count_kv", 0, kv_heads, e);
    if (r < 0) return LS_ERR;
    if (r == 0) *kv_heads = *heads;
    if (*layers < 1 || *layers > 1024 || *heads < 1 || *heads > 65536 || *kv_heads < 1 || *kv_heads > *heads)
        return ls_fail(
            e, "%s: %s.block_count = %lld, attention.head_count = %lld, head_count_kv = %lld: out of range",
            ls_gguf_file(g), a->arch, (long long)*layers, (long long)*heads, (long long)*kv_heads);
    return LS_OK;
}

static int gguf_transform(LsGguf *g, const GgufArch *a, int heads, int kv_heads, LsError *e) {
    for (size_t i = 0; i < ls_gguf_tensor_count(g); i++) {
        const LsGgufTensor *t = ls_gguf_tensor_at(g, i);
        const char *dot = strrchr(t->name, '.');
        if (a->permute_qk && dot) {
            size_t n = (size_t)(dot - t->name);
            int is_q = n >= 7 && memcmp(dot - 7, ".attn_q", 7) == 0;
            int is_k = n >= 7 && memcmp(dot - 7, ".attn_k", 7) == 0;
            if ((is_q || is_k) && unpermute_rows(g, t, is_q ? heads : kv_heads, e) != LS_OK) return LS_ERR;
        }
        if (a->gemma_norms && strstr(t->name, "norm.weight") && gemma_norm_minus_one(g, t, e) != LS_OK)
            return LS_ERR;
    }
    return LS_OK;
}

static void gguf_release(void *g) {
    ls_gguf_close(g);
}

int ls_gguf_config(const LsGguf *g, LsModelConfig *cfg, LsError *e) {
    memset(cfg, 0, sizeof *cfg);
    char *json;
    if (ls_gguf_config_json(g, &json, e) != LS_OK) return LS_ERR;
    size_t ll = strlen(ls_gguf_file(g)) + 64;
    char *label = ls_malloc(ll);
    snprintf(label, ll, "%s (config from its GGUF metadata)", ls_gguf_file(g));
    int rc = ls_config_parse(cfg, json, strlen(json), label, e);
    free(json);
    free(label);
    if (rc != LS_OK) return LS_ERR;
    free(cfg->text);
    cfg->text = ls_gguf_metadata_json(g, GGUF_ARRAY_SHOWN);
    return LS_OK;
}

int ls_gguf_weights(LsGguf *g, LsSafetensors **st, LsError *e) {
    *st = NULL;
    const GgufArch *a;
    int64_t layers, heads, kv_heads;
    LsStHeader h = {0};
    if (gguf_arch(g, &a, e) || gguf_counts(g, a, &layers, &heads, &kv_heads, e) ||
        gguf_table(g, a, (int)layers, &h, e) || gguf_transform(g, a, (int)heads, (int)kv_heads, e)) {
        ls_st_header_free(&h);
        ls_gguf_close(g);
        return LS_ERR;
    }
    return ls_st_adopt(st, ls_gguf_file(g), &h, g, gguf_release, e);
}

int ls_gguf_model_load(const char *path, LsModelConfig *cfg, LsSafetensors **st, LsError *e) {
    memset(cfg, 0, sizeof *cfg);
    *st = NULL;
    LsGguf *g;
    if (ls_gguf_open(&g, path, e) != LS_OK) return LS_ERR;
    if (ls_gguf_config(g, cfg, e) != LS_OK) {
        ls_gguf_close(g);
        return LS_ERR;
    }
    if (ls_gguf_weights(g, st, e) != LS_OK) {
        ls_config_free(cfg);
        return LS_ERR;
    }
    return LS_OK;
}
