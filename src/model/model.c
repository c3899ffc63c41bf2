/* model.c — a decoder checkpoint folder: config.json + safetensors, and the
 * weight set of transformers' *ForCausalLM (Qwen2, Llama, Qwen3, Gemma 3
 * text: the same names, with the biases and norms the config switches on)
 * checked name by name and shape by shape against the config (dimension
 * letters as in ls/model.h: d hidden, f intermediate, H heads, Hkv kv heads,
 * hd head dim, V vocab).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"
#include "ls/model.h"

static const char *model_shape_str(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

/* Looks up name and checks its shape is exactly (d0[, d1]); ndim 1 or 2. */
static int model_get(const LsModel *m, const char *name, int ndim, int64_t d0, int64_t d1,
                     const LsTensor **out, LsError *e) {
    int64_t want[2] = {d0, d1};
    char ws[64], hs[96];
    model_shape_str(ws, sizeof ws, want, ndim);
    const LsTensor *t = ls_st_find(m->st, name);
    if (!t)
        return ls_fail(e, "%s: tensor '%s' (expected shape %s) is missing from the checkpoint", m->dir, name,
                       ws);
    int ok = t->ndim == ndim && t->shape[0] == d0 && (ndim < 2 || t->shape[1] == d1);
    if (!ok)
        return ls_fail(e, "%s: tensor '%s' at byte %zu: expected shape %s but found %s (%s)", t->file, name,
                       t->file_offset, ws, model_shape_str(hs, sizeof hs, t->shape, t->ndim),
                       ls_dtype_name(t->dtype));
    *out = t;
    return LS_OK;
}

int ls_model_config_load(LsModelConfig *c, const char *path, LsError *e) {
    if (!ls_path_is_gguf(path)) {
        char *cpath = ls_path_join(path, "config.json");
        int rc = ls_config_load(c, cpath, e);
        free(cpath);
        return rc;
    }
    memset(c, 0, sizeof *c);
    LsGguf *g;
    if (ls_gguf_open(&g, path, e) != LS_OK) return LS_ERR;
    int rc = ls_gguf_config(g, c, e);
    ls_gguf_close(g);
    return rc;
}

int ls_model_open(LsModel *m, const char *dir, LsError *e) {
    memset(m, 0, sizeof *m);
    m->dir = ls_strdup(dir);
    if (ls_path_is_gguf(dir)) { /* one GGUF file: config from its metadata, tensors renamed */
        if (ls_gguf_model_load(dir, &m->cfg, &m->st, e) != LS_OK) goto fail;
    } else {
        char *cpath = ls_path_join(dir, "config.json");
        int rc = ls_config_load(&m->cfg, cpath, e);
        free(cpath);
        if (rc != LS_OK) goto fail;
        if (ls_st_open_dir(&m->st, dir, e) != LS_OK) goto fail;
    }

    const LsModelConfig *c = &m->cfg;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t qd = (int64_t)c->num_attention_heads * c->head_dim;  /* H*hd */
    const int64_t kvd = (int64_t)c->num_key_value_heads * c->head_dim; /* Hkv*hd */

    if (model_get(m, "model.embed_tokens.weight", 2, V, d, &m->embed, e) ||
        model_get(m, "model.norm.weight", 1, d, 0, &m->final_norm, e))
        goto fail;
    if (c->tie_word_embeddings) {
        m->lm_head = m->embed; /* as transformers ties them; a stored lm_head.weight is ignored */
    } else if (model_get(m, "lm_head.weight", 2, V, d, &m->lm_head, e)) {
        ls_fail_prefix(e, "tie_word_embeddings is false");
        goto fail;
    }

    m->layers = ls_calloc((size_t)c->num_hidden_layers, sizeof *m->layers);
    for (int l = 0; l < c->num_hidden_layers; l++) {
        LsLayerWeights *w = &m->layers[l];
        char nm[128];
#define GET(field, suffix, nd, a, b)                                                                         \
    do {                                                                                                     \
        snprintf(nm, sizeof nm, "model.layers.%d.%s", l, suffix);                                            \
        if (model_get(m, nm, nd, a, b, &w->field, e)) goto fail;                                             \
    } while (0)
        GET(in_norm, "input_layernorm.weight", 1, d, 0);
        GET(q_w, "self_attn.q_proj.weight", 2, qd, d);
        GET(k_w, "self_attn.k_proj.weight", 2, kvd, d);
        GET(v_w, "self_attn.v_proj.weight", 2, kvd, d);
        GET(o_w, "self_attn.o_proj.weight", 2, d, qd);
        if (c->qkv_bias) {
            GET(q_b, "self_attn.q_proj.bias", 1, qd, 0);
            GET(k_b, "self_attn.k_proj.bias", 1, kvd, 0);
            GET(v_b, "self_attn.v_proj.bias", 1, kvd, 0);
        }
        if (c->o_bias) GET(o_b, "self_attn.o_proj.bias", 1, d, 0);
        if (c->qk_norm) {
            GET(q_norm, "self_attn.q_norm.weight", 1, c->head_dim, 0);
            GET(k_norm, "self_attn.k_norm.weight", 1, c->head_dim, 0);
        }
        GET(post_norm, "post_attention_layernorm.weight", 1, d, 0);
        if (c->sandwich_norms) {
            GET(pre_ff_norm, "pre_feedforward_layernorm.weight", 1, d, 0);
            GET(post_ff_norm, "post_feedforward_layernorm.weight", 1, d, 0);
        }
        GET(gate_w, "mlp.gate_proj.weight", 2, f, d);
        GET(up_w, "mlp.up_proj.weight", 2, f, d);
        GET(down_w, "mlp.down_proj.weight", 2, d, f);
        if (c->mlp_bias) {
            GET(gate_b, "mlp.gate_proj.bias", 1, f, 0);
            GET(up_b, "mlp.up_proj.bias", 1, f, 0);
            GET(down_b, "mlp.down_proj.bias", 1, d, 0);
        }
#undef GET
    }
    return LS_OK;
fail:
    ls_model_close(m);
    return LS_ERR;
}

void ls_model_close(LsModel *m) {
    if (!m) return;
    ls_st_close(m->st);
    ls_config_free(&m->cfg);
    free(m->layers);
    free(m->dir);
    memset(m, 0, sizeof *m);
}
