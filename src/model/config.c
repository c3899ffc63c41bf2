/* config.c — config.json of a Hugging Face decoder checkpoint: Qwen2, Llama,
 * Qwen3, Gemma 3 text (dispatch on model_type, checked against architectures).
 *
 * Only what the *ForCausalLM classes compute with is read; anything that would
 * make our forward pass differ from transformers' (another model_type, MoE,
 * vision towers, activation, RoPE type, sliding windows outside Gemma 3) is
 * rejected instead of ignored, naming the key. Defaults follow transformers'
 * Config classes (v4 and v5), per family (struct ArchInfo below):
 *   num_key_value_heads = num_attention_heads, head_dim = hidden_size / heads
 *   (Gemma 3: 256), tie_word_embeddings false (Gemma 3: true), dtype absent =
 *   float32. RoPE comes as top-level rope_theta + rope_scaling (v4; Gemma 3
 *   also rope_local_base_freq) or rope_parameters (v5; Gemma 3: one entry per
 *   layer type), standardised as modeling_rope_utils.py does.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ls/json.h"
#include "ls/model.h"

#define LS_CONFIG_MAX_BYTES ((size_t)16 * 1024 * 1024)
#define CFG_MAX_DIM (1 << 20)
#define CFG_MAX_HEADS (1 << 16)
#define CFG_MAX_LAYERS 1024
#define CFG_MAX_VOCAB (1 << 22)
#define CFG_MAX_POS (1 << 24)

/* Reads an optional integer key into *out, bounded to [lo, hi].
 * Returns 1 if present, 0 if absent or null, LS_ERR on a bad value. */
static int cfg_int(json_t *root, const char *fname, const char *key, long long lo, long long hi, int *out,
                   LsError *e) {
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v)) return ls_fail(e, "%s: key '%s': expected an integer", fname, key);
    long long x = (long long)json_integer_value(v);
    if (x < lo || x > hi)
        return ls_fail(e, "%s: key '%s': value %lld is outside [%lld, %lld]", fname, key, x, lo, hi);
    *out = (int)x;
    return 1;
}

/* Required positive integer in [1, hi]. */
static int cfg_req_int(json_t *root, const char *fname, const char *key, long long hi, int *out, LsError *e) {
    int rc = cfg_int(root, fname, key, 1, hi, out, e);
    if (rc == 0) return ls_fail(e, "%s: missing required key '%s'", fname, key);
    return rc < 0 ? LS_ERR : LS_OK;
}

/* Optional number (integer or real); 1 if present, 0 if absent/null. */
static int cfg_num(json_t *obj, const char *fname, const char *key, double *out, LsError *e) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v)) return ls_fail(e, "%s: key '%s': expected a number", fname, key);
    *out = json_number_value(v);
    if (!isfinite(*out)) return ls_fail(e, "%s: key '%s': not a finite number", fname, key);
    return 1;
}

/* Optional string: returns the value, NULL if absent/null; *bad set on a non-string. */
static const char *cfg_str(json_t *obj, const char *fname, const char *key, int *bad, LsError *e) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        ls_fail(e, "%s: key '%s': expected a string", fname, key);
        return NULL;
    }
    return json_string_value(v);
}

/* Optional boolean; returns 1 if present, 0 if absent/null. */
static int cfg_bool(json_t *obj, const char *fname, const char *key, int *out, LsError *e) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return ls_fail(e, "%s: key '%s': expected true or false", fname, key);
    *out = json_is_true(v);
    return 1;
}

/* bos_token_id / eos_token_id: integer, null, or (eos) a list whose first element is used. */
static int cfg_token_id(json_t *root, const char *fname, const char *key, int *out, LsError *e) {
    *out = -1;
    json_t *v = json_object_get(root, key);
    if (!v || json_is_null(v)) return LS_OK;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0) return LS_OK;
        v = json_array_get(v, 0);
    }
    if (!json_is_integer(v))
        return ls_fail(e, "%s: key '%s': expected an integer or a list of integers", fname, key);
    long long x = (long long)json_integer_value(v);
    if (x < 0 || x >= CFG_MAX_VOCAB)
        return ls_fail(e, "%s: key '%s': token id %lld is out of range", fname, key, x);
    *out = (int)x;
    return LS_OK;
}

/* What each family's Config class defaults to, and its class name. */
typedef struct {
    const char *model_type, *causal_lm;
    LsArch arch;
    int max_pos, tie, head_dim_default; /* head_dim_default 0: hidden / heads */
    int qk_norm, gemma;
} ArchInfo;

static const ArchInfo ARCHS[] = {
    {"qwen2", "Qwen2ForCausalLM", LS_ARCH_QWEN2, 32768, 0, 0, 0, 0},
    {"llama", "LlamaForCausalLM", LS_ARCH_LLAMA, 2048, 0, 0, 0, 0},
    {"qwen3", "Qwen3ForCausalLM", LS_ARCH_QWEN3, 32768, 0, 128, 1, 0},
    {"gemma3_text", "Gemma3ForCausalLM", LS_ARCH_GEMMA3, 131072, 1, 256, 1, 1},
};

const char *ls_arch_name(LsArch a) {
    for (size_t i = 0; i < LS_ARRAY_LEN(ARCHS); i++)
        if (ARCHS[i].arch == a) return ARCHS[i].model_type;
    return "unknown";
}

static const char *const ROPE_NAMES[] = {"default", "linear", "llama3", "yarn"};

const char *ls_rope_type_name(LsRopeType t) {
    return (unsigned)t < LS_ARRAY_LEN(ROPE_NAMES) ? ROPE_NAMES[t] : "unknown";
}

void ls_config_arch_defaults(LsModelConfig *c) {
    const ArchInfo *ai = &ARCHS[0];
    for (size_t i = 0; i < LS_ARRAY_LEN(ARCHS); i++)
        if (ARCHS[i].arch == c->arch) ai = &ARCHS[i];
    c->qkv_bias = c->arch == LS_ARCH_QWEN2;
    c->o_bias = c->mlp_bias = 0;
    c->qk_norm = ai->qk_norm;
    c->norm_plus_one = c->sandwich_norms = ai->gemma;
    c->hidden_act = ai->gemma ? LS_ACT_GELU_TANH : LS_ACT_SILU;
    /* Gemma: hidden_size**0.5 as an fp32 tensor; query_pre_attn_scalar 256 */
    c->embed_scale = ai->gemma ? (float)sqrt((double)c->hidden_size) : 1.0f;
    c->attn_scale = pow(ai->gemma ? 256.0 : (double)c->head_dim, -0.5);
    c->tie_word_embeddings = ai->tie;
}

/* model_type -> family; architectures (when given) must name its ForCausalLM;
 * multimodal and mixture-of-experts configs are refused by the key that makes them so. */
static int parse_arch(json_t *root, const char *fname, const ArchInfo **out, LsError *e) {
    static const char *const refused[] = {"vision_config", "text_config", "num_experts", "num_local_experts",
                                          "n_routed_experts"};
    for (size_t i = 0; i < LS_ARRAY_LEN(refused); i++) {
        json_t *v = json_object_get(root, refused[i]);
        if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0))
            return ls_fail(e, "%s: key '%s': %s models are not supported (text-only decoders only)", fname,
                           refused[i], i < 2 ? "multimodal" : "mixture-of-experts");
    }
    int bad = 0;
    const char *mt = cfg_str(root, fname, "model_type", &bad, e);
    if (bad) return LS_ERR;
    if (!mt)
        return ls_fail(
            e, "%s: missing required key 'model_type' (expected qwen2, llama, qwen3 or gemma3_text)", fname);
    *out = NULL;
    for (size_t i = 0; i < LS_ARRAY_LEN(ARCHS); i++)
        if (strcmp(mt, ARCHS[i].model_type) == 0) *out = &ARCHS[i];
    if (!*out)
        return ls_fail(e,
                       "%s: key 'model_type': \"%.100s\" is not supported (expected qwen2, llama, qwen3 or "
                       "gemma3_text%s)",
                       fname, mt, strcmp(mt, "gemma3") == 0 ? "; \"gemma3\" is the multimodal model" : "");
    json_t *ar = json_object_get(root, "architectures");
    if (ar && !json_is_null(ar)) {
        if (!json_is_array(ar))
            return ls_fail(e, "%s: key 'architectures': expected a list of strings", fname);
        for (size_t i = 0; i < json_array_size(ar); i++) {
            json_t *x = json_array_get(ar, i);
            if (!json_is_string(x) || strcmp(json_string_value(x), (*out)->causal_lm) != 0)
                return ls_fail(e, "%s: key 'architectures'[%zu]: expected \"%s\" for model_type \"%s\"",
                               fname, i, (*out)->causal_lm, mt);
        }
    }
    return LS_OK;
}

/* hidden_act (hidden_activation for Gemma 3) must be silu (Gemma: gelu_pytorch_tanh). */
static int parse_act(json_t *root, const char *fname, const ArchInfo *ai, LsError *e) {
    const char *key = ai->gemma ? "hidden_activation" : "hidden_act";
    const char *want = ai->gemma ? "gelu_pytorch_tanh" : "silu";
    int bad = 0;
    const char *act = cfg_str(root, fname, key, &bad, e);
    if (bad) return LS_ERR;
    if (act && strcmp(act, want) != 0)
        return ls_fail(e, "%s: key '%s': \"%.100s\" is not supported (expected \"%s\")", fname, key, act,
                       want);
    return LS_OK;
}

/* Optional number of a RoPE object, named where.key in messages. */
static int rope_num(json_t *obj, const char *fname, const char *where, const char *key, double *out,
                    LsError *e) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return ls_fail(e, "%s: key '%s.%s': expected a finite number", fname, where, key);
    *out = json_number_value(v);
    return 1;
}

/* A required positive parameter of a RoPE type. */
static int rope_req_pos(json_t *obj, const char *fname, const char *where, const char *key, const LsRope *r,
                        double *out, LsError *e) {
    int got = rope_num(obj, fname, where, key, out, e);
    if (got < 0) return LS_ERR;
    if (!got)
        return ls_fail(e, "%s: missing key '%s.%s' (required by rope_type \"%s\")", fname, where, key,
                       ls_rope_type_name(r->type));
    if (!(*out > 0)) return ls_fail(e, "%s: key '%s.%s': %g is not positive", fname, where, key, *out);
    return LS_OK;
}

/* yarn's attention factor when not given (modeling_rope_utils.py get_mscale). */
static double yarn_mscale(double scale, double mscale) {
    return scale <= 1 ? 1.0 : 0.1 * mscale * log(scale) + 1.0;
}

/* Parameters of the scaled RoPE types (factor, llama3 bands, yarn's ramp and attention factor). */
static int rope_scaling_params(json_t *obj, const char *fname, const char *where, int max_pos, LsRope *r,
                               LsError *e) {
    double omp = max_pos;
    int got = rope_num(obj, fname, where, "original_max_position_embeddings", &omp, e);
    if (got < 0) return LS_ERR;
    if (!(omp >= 1 && omp <= CFG_MAX_POS && omp == floor(omp)))
        return ls_fail(e, "%s: key '%s.original_max_position_embeddings': %g is not an integer in [1, %d]",
                       fname, where, omp, CFG_MAX_POS);
    r->original_max_position_embeddings = (int)omp;
    if (r->type == LS_ROPE_YARN) {
        got = rope_num(obj, fname, where, "factor", &r->factor, e);
        if (got < 0) return LS_ERR;
        if (!got) r->factor = (double)max_pos / omp;
        if (!(r->factor > 0))
            return ls_fail(e, "%s: key '%s.factor': %g is not positive", fname, where, r->factor);
    } else if (rope_req_pos(obj, fname, where, "factor", r, &r->factor, e)) {
        return LS_ERR;
    }
    if (r->type == LS_ROPE_LLAMA3) {
        if (rope_req_pos(obj, fname, where, "low_freq_factor", r, &r->low_freq_factor, e) ||
            rope_req_pos(obj, fname, where, "high_freq_factor", r, &r->high_freq_factor, e))
            return LS_ERR;
        if (r->low_freq_factor == r->high_freq_factor)
            return ls_fail(e, "%s: key '%s.high_freq_factor': equal to low_freq_factor", fname, where);
    }
    if (r->type != LS_ROPE_YARN) return LS_OK;
    double ms = 0, msa = 0, af = 0;
    r->beta_fast = 32;
    r->beta_slow = 1;
    if (rope_num(obj, fname, where, "beta_fast", &r->beta_fast, e) < 0 ||
        rope_num(obj, fname, where, "beta_slow", &r->beta_slow, e) < 0 ||
        rope_num(obj, fname, where, "mscale", &ms, e) < 0 ||
        rope_num(obj, fname, where, "mscale_all_dim", &msa, e) < 0)
        return LS_ERR;
    if (r->beta_fast == 0) r->beta_fast = 32; /* transformers: `get("beta_fast") or 32` */
    if (r->beta_slow == 0) r->beta_slow = 1;
    got = rope_num(obj, fname, where, "attention_factor", &af, e);
    if (got < 0) return LS_ERR;
    if (got)
        r->attention_factor = af;
    else if (ms != 0 && msa != 0)
        r->attention_factor = yarn_mscale(r->factor, ms) / yarn_mscale(r->factor, msa);
    else
        r->attention_factor = yarn_mscale(r->factor, 1.0);
    r->truncate = 1;
    if (cfg_bool(obj, fname, "truncate", &r->truncate, e) < 0) return LS_ERR;
    return LS_OK;
}

/* One RoPE setting: obj (rope_parameters, one of its per-layer-type entries, or
 * rope_scaling; NULL = none) over the theta found elsewhere (theta_in when
 * have_theta_in, else theta_default; 0 = required). */
static int parse_rope(json_t *obj, const char *fname, const char *where, double theta_in, int have_theta_in,
                      double theta_default, int max_pos, LsRope *r, LsError *e) {
    static const char *const known[] = {"rope_type",
                                        "type",
                                        "rope_theta",
                                        "factor",
                                        "low_freq_factor",
                                        "high_freq_factor",
                                        "original_max_position_embeddings",
                                        "attention_factor",
                                        "beta_fast",
                                        "beta_slow",
                                        "mscale",
                                        "mscale_all_dim",
                                        "truncate",
                                        "partial_rotary_factor"};
    memset(r, 0, sizeof *r);
    r->attention_factor = 1.0;
    if (obj && !json_is_object(obj)) return ls_fail(e, "%s: key '%s': expected an object", fname, where);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t i = 0;
        while (i < LS_ARRAY_LEN(known) && strcmp(k, known[i]) != 0)
            i++;
        if (i == LS_ARRAY_LEN(known))
            return ls_fail(e, "%s: key '%s.%.100s' is not supported", fname, where, k);
    }
    double prf = 1.0;
    if (rope_num(obj, fname, where, "partial_rotary_factor", &prf, e) < 0) return LS_ERR;
    if (prf != 1.0)
        return ls_fail(e, "%s: key '%s.partial_rotary_factor': %g is not supported (only 1)", fname, where,
                       prf);
    json_t *tv = json_object_get(obj, "rope_type");
    const char *tkey = "rope_type";
    if (!tv || json_is_null(tv)) tv = json_object_get(obj, tkey = "type");
    const char *rt = "default";
    if (tv && !json_is_null(tv)) {
        if (!json_is_string(tv)) return ls_fail(e, "%s: key '%s.%s': expected a string", fname, where, tkey);
        rt = json_string_value(tv);
    }
    size_t ti = 0;
    while (ti < LS_ARRAY_LEN(ROPE_NAMES) && strcmp(rt, ROPE_NAMES[ti]) != 0)
        ti++;
    if (ti == LS_ARRAY_LEN(ROPE_NAMES))
        return ls_fail(
            e, "%s: key '%s.%s': \"%.100s\" is not supported (expected default, linear, llama3 or yarn)",
            fname, where, tkey, rt);
    r->type = (LsRopeType)ti;
    double theta = 0;
    int have = rope_num(obj, fname, where, "rope_theta", &theta, e);
    if (have < 0) return LS_ERR;
    if (have && have_theta_in && theta != theta_in)
        return ls_fail(e, "%s: key 'rope_theta': %g disagrees with %s.rope_theta = %g", fname, theta_in,
                       where, theta);
    if (!have && !have_theta_in && !(theta_default > 0))
        return ls_fail(e, "%s: missing required key 'rope_theta' (top level or in '%s')", fname, where);
    r->theta = have ? theta : have_theta_in ? theta_in : theta_default;
    if (!(r->theta >= 1.0 && r->theta <= 1e12))
        return ls_fail(e, "%s: key 'rope_theta': %g is outside [1, 1e12]", fname, r->theta);
    return r->type == LS_ROPE_DEFAULT ? LS_OK : rope_scaling_params(obj, fname, where, max_pos, r, e);
}

/* RoPE of Llama / Qwen: rope_scaling (v4) if set, else rope_parameters (v5),
 * over a top-level rope_theta; one setting for every layer. */
static int parse_rope_flat(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    double theta = 0;
    int have = cfg_num(root, fname, "rope_theta", &theta, e);
    if (have < 0) return LS_ERR;
    json_t *rs = json_object_get(root, "rope_scaling"), *rp = json_object_get(root, "rope_parameters");
    int use_rs = rs && !json_is_null(rs) && !(json_is_object(rs) && json_object_size(rs) == 0);
    json_t *obj = use_rs ? rs : (rp && !json_is_null(rp) ? rp : NULL);
    if (parse_rope(obj, fname, use_rs ? "rope_scaling" : "rope_parameters", theta, have, 0,
                   c->max_position_embeddings, &c->rope, e))
        return LS_ERR;
    c->rope_local = c->rope;
    return LS_OK;
}

/* RoPE of Gemma 3: rope_parameters.{full_attention, sliding_attention} (v5), or
 * rope_theta (1e6) + rope_scaling for the global layers and rope_local_base_freq
 * (1e4) for the sliding ones (v4), as Gemma3TextConfig.convert_rope_params_to_dict. */
static int parse_rope_gemma(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    double theta = 0, local = 0;
    int have_theta = cfg_num(root, fname, "rope_theta", &theta, e);
    int have_local = cfg_num(root, fname, "rope_local_base_freq", &local, e);
    if (have_theta < 0 || have_local < 0) return LS_ERR;
    json_t *rp = json_object_get(root, "rope_parameters"), *rs = json_object_get(root, "rope_scaling");
    json_t *full = NULL, *slid = NULL;
    if (rp && !json_is_null(rp)) {
        if (!json_is_object(rp)) return ls_fail(e, "%s: key 'rope_parameters': expected an object", fname);
        const char *k;
        json_t *v;
        json_object_foreach(rp, k, v) {
            if (strcmp(k, "full_attention") != 0 && strcmp(k, "sliding_attention") != 0)
                return ls_fail(e,
                               "%s: key 'rope_parameters.%.100s': Gemma 3 expects one entry per layer type "
                               "(full_attention, sliding_attention)",
                               fname, k);
        }
        full = json_object_get(rp, "full_attention");
        slid = json_object_get(rp, "sliding_attention");
    }
    json_t *merged = json_is_object(full) ? json_deep_copy(full) : json_object();
    if (full && !json_is_null(full) && !json_is_object(full)) {
        json_decref(merged);
        return ls_fail(e, "%s: key 'rope_parameters.full_attention': expected an object", fname);
    }
    if (rs && !json_is_null(rs)) {
        if (!json_is_object(rs)) {
            json_decref(merged);
            return ls_fail(e, "%s: key 'rope_scaling': expected an object", fname);
        }
        json_object_update(merged, rs);
    }
    int rc = parse_rope(merged, fname, "rope_parameters.full_attention", theta, have_theta, 1e6,
                        c->max_position_embeddings, &c->rope, e);
    json_decref(merged);
    if (rc) return LS_ERR;
    return parse_rope(json_is_null(slid) ? NULL : slid, fname, "rope_parameters.sliding_attention", local,
                      have_local, 1e4, c->max_position_embeddings, &c->rope_local, e);
}

/* layer_types outside Gemma 3: every layer full attention, no sliding window. */
static int check_no_sliding(json_t *root, const char *fname, LsError *e) {
    int sw = 0;
    if (cfg_bool(root, fname, "use_sliding_window", &sw, e) < 0) return LS_ERR;
    if (sw)
        return ls_fail(e, "%s: key 'use_sliding_window': sliding-window attention is not supported", fname);
    json_t *lt = json_object_get(root, "layer_types");
    if (!lt || json_is_null(lt)) return LS_OK;
    if (!json_is_array(lt)) return ls_fail(e, "%s: key 'layer_types': expected a list of strings", fname);
    for (size_t i = 0; i < json_array_size(lt); i++) {
        json_t *x = json_array_get(lt, i);
        if (!json_is_string(x) || strcmp(json_string_value(x), "full_attention") != 0)
            return ls_fail(e, "%s: key 'layer_types'[%zu]: only \"full_attention\" layers are supported",
                           fname, i);
    }
    return LS_OK;
}

/* Gemma 3's layers: layer_types, else sliding_window_pattern (default 6: every
 * 6th layer global); sliding_window (default 4096); causal attention only. */
static int parse_gemma_layers(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    int bidir = 0;
    if (cfg_bool(root, fname, "use_bidirectional_attention", &bidir, e) < 0) return LS_ERR;
    if (bidir)
        return ls_fail(e, "%s: key 'use_bidirectional_attention': only causal attention is supported", fname);
    c->sliding_window = 4096;
    if (cfg_int(root, fname, "sliding_window", 1, CFG_MAX_POS, &c->sliding_window, e) < 0) return LS_ERR;
    const int L = c->num_hidden_layers;
    c->layer_sliding = ls_calloc((size_t)L, 1);
    json_t *lt = json_object_get(root, "layer_types");
    if (lt && !json_is_null(lt)) {
        if (!json_is_array(lt) || json_array_size(lt) != (size_t)L)
            return ls_fail(e, "%s: key 'layer_types': expected a list of num_hidden_layers = %d strings",
                           fname, L);
        for (int i = 0; i < L; i++) {
            json_t *x = json_array_get(lt, (size_t)i);
            const char *s = json_is_string(x) ? json_string_value(x) : "";
            if (strcmp(s, "sliding_attention") != 0 && strcmp(s, "full_attention") != 0)
                return ls_fail(
                    e, "%s: key 'layer_types'[%d]: expected \"sliding_attention\" or \"full_attention\"",
                    fname, i);
            c->layer_sliding[i] = s[0] == 's';
        }
        return LS_OK;
    }
    int pattern = 6;
    if (cfg_int(root, fname, "sliding_window_pattern", 1, CFG_MAX_LAYERS, &pattern, e) < 0) return LS_ERR;
    for (int i = 0; i < L; i++)
        c->layer_sliding[i] = (i + 1) % pattern != 0;
    return LS_OK;
}

/* Optional soft-capping constant: absent / null = none, else positive. */
static int cfg_softcap(json_t *root, const char *fname, const char *key, double *out, LsError *e) {
    *out = 0;
    int got = cfg_num(root, fname, key, out, e);
    if (got < 0) return LS_ERR;
    if (got && !(*out > 0)) return ls_fail(e, "%s: key '%s': %g is not positive", fname, key, *out);
    return LS_OK;
}

/* Gemma 3's switches: (1 + w) norms, four per layer, scaled embeddings,
 * query_pre_attn_scalar, final-logit soft-capping, sliding-window layers, two
 * RoPE bases. */
static int parse_gemma(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    double qpas = 256;
    int got = cfg_num(root, fname, "query_pre_attn_scalar", &qpas, e);
    if (got < 0) return LS_ERR;
    if (!(qpas > 0)) return ls_fail(e, "%s: key 'query_pre_attn_scalar': %g is not positive", fname, qpas);
    c->attn_scale = pow(qpas, -0.5);
    /* attn_logit_softcapping is validated but not applied: Gemma3Attention does not
     * pass it to the attention function (Gemma 2 did) */
    double unused;
    if (cfg_softcap(root, fname, "final_logit_softcapping", &c->final_logit_softcapping, e) ||
        cfg_softcap(root, fname, "attn_logit_softcapping", &unused, e))
        return LS_ERR;
    return parse_gemma_layers(root, fname, c, e) || parse_rope_gemma(root, fname, c, e) ? LS_ERR : LS_OK;
}

/* attention_bias (o_proj too) and mlp_bias; Qwen2: q/k/v biases always, none elsewhere. */
static int parse_biases(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    if (c->arch == LS_ARCH_QWEN2) return LS_OK;
    int ab = 0;
    if (cfg_bool(root, fname, "attention_bias", &ab, e) < 0) return LS_ERR;
    c->qkv_bias = c->o_bias = ab;
    if (c->arch == LS_ARCH_LLAMA && cfg_bool(root, fname, "mlp_bias", &c->mlp_bias, e) < 0) return LS_ERR;
    return LS_OK;
}

/* Shapes and their consistency. */
static int parse_shapes(json_t *root, const char *fname, const ArchInfo *ai, LsModelConfig *c, LsError *e) {
    if (cfg_req_int(root, fname, "hidden_size", CFG_MAX_DIM, &c->hidden_size, e) ||
        cfg_req_int(root, fname, "intermediate_size", CFG_MAX_DIM, &c->intermediate_size, e) ||
        cfg_req_int(root, fname, "num_hidden_layers", CFG_MAX_LAYERS, &c->num_hidden_layers, e) ||
        cfg_req_int(root, fname, "num_attention_heads", CFG_MAX_HEADS, &c->num_attention_heads, e) ||
        cfg_req_int(root, fname, "vocab_size", CFG_MAX_VOCAB, &c->vocab_size, e))
        return LS_ERR;
    int r = cfg_int(root, fname, "num_key_value_heads", 1, CFG_MAX_HEADS, &c->num_key_value_heads, e);
    if (r < 0) return LS_ERR;
    if (r == 0) c->num_key_value_heads = c->num_attention_heads;
    if (c->num_attention_heads % c->num_key_value_heads != 0)
        return ls_fail(e, "%s: key 'num_attention_heads': %d is not divisible by num_key_value_heads = %d",
                       fname, c->num_attention_heads, c->num_key_value_heads);
    r = cfg_int(root, fname, "head_dim", 1, CFG_MAX_HEADS, &c->head_dim, e);
    if (r < 0) return LS_ERR;
    if (r == 0 && ai->head_dim_default) c->head_dim = ai->head_dim_default;
    if (r == 0 && !ai->head_dim_default) {
        if (c->hidden_size % c->num_attention_heads != 0)
            return ls_fail(e,
                           "%s: key 'hidden_size': %d is not divisible by num_attention_heads = %d and "
                           "'head_dim' is absent",
                           fname, c->hidden_size, c->num_attention_heads);
        c->head_dim = c->hidden_size / c->num_attention_heads;
    }
    if ((long long)c->num_attention_heads * c->head_dim > CFG_MAX_DIM)
        return ls_fail(e, "%s: key 'head_dim': num_attention_heads x head_dim = %lld is larger than %d",
                       fname, (long long)c->num_attention_heads * c->head_dim, CFG_MAX_DIM);
    c->max_position_embeddings = ai->max_pos;
    if (cfg_int(root, fname, "max_position_embeddings", 1, CFG_MAX_POS, &c->max_position_embeddings, e) < 0)
        return LS_ERR;
    double eps = 0;
    r = cfg_num(root, fname, "rms_norm_eps", &eps, e);
    if (r < 0) return LS_ERR;
    if (r == 0) return ls_fail(e, "%s: missing required key 'rms_norm_eps'", fname);
    if (!(eps > 0 && eps < 1)) return ls_fail(e, "%s: key 'rms_norm_eps': %g is outside (0, 1)", fname, eps);
    c->rms_norm_eps = (float)eps;
    return LS_OK;
}

/* dtype (transformers v5) or torch_dtype (v4); absent = float32. */
static int parse_dtype(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    int bad = 0;
    const char *dkey = "dtype";
    const char *dt = cfg_str(root, fname, dkey, &bad, e);
    if (bad) return LS_ERR;
    if (!dt) {
        dkey = "torch_dtype";
        dt = cfg_str(root, fname, dkey, &bad, e);
        if (bad) return LS_ERR;
    }
    c->torch_dtype = LS_DT_F32;
    if (!dt || strcmp(dt, "float32") == 0) return LS_OK;
    if (strcmp(dt, "float16") == 0)
        c->torch_dtype = LS_DT_F16;
    else if (strcmp(dt, "bfloat16") == 0)
        c->torch_dtype = LS_DT_BF16;
    else
        return ls_fail(e, "%s: key '%s': \"%.100s\" is not supported (expected float32, float16 or bfloat16)",
                       fname, dkey, dt);
    return LS_OK;
}

static int parse_root(json_t *root, const char *fname, LsModelConfig *c, LsError *e) {
    if (!json_is_object(root)) return ls_fail(e, "%s: not a JSON object", fname);
    /* architecture switches first: reject what we would compute wrongly */
    const ArchInfo *ai = NULL;
    if (parse_arch(root, fname, &ai, e) || parse_act(root, fname, ai, e)) return LS_ERR;
    c->arch = ai->arch;
    if (!ai->gemma && check_no_sliding(root, fname, e)) return LS_ERR;
    if (parse_shapes(root, fname, ai, c, e)) return LS_ERR;
    ls_config_arch_defaults(c);
    if (parse_biases(root, fname, c, e)) return LS_ERR;
    if (ai->gemma ? parse_gemma(root, fname, c, e) : parse_rope_flat(root, fname, c, e)) return LS_ERR;
    c->rope_theta = c->rope.theta;
    if (cfg_bool(root, fname, "tie_word_embeddings", &c->tie_word_embeddings, e) < 0 ||
        parse_dtype(root, fname, c, e) || cfg_token_id(root, fname, "bos_token_id", &c->bos_token_id, e) ||
        cfg_token_id(root, fname, "eos_token_id", &c->eos_token_id, e))
        return LS_ERR;
    c->model_type = ls_strdup(ai->model_type);
    return LS_OK;
}

int ls_config_parse(LsModelConfig *c, const char *text, size_t len, const char *fname, LsError *e) {
    memset(c, 0, sizeof *c);
    json_t *root;
    if (ls_json_parse_strict(text, len, fname, "", 0, &root, e)) return LS_ERR;
    int rc = parse_root(root, fname, c, e);
    json_decref(root);
    if (rc != LS_OK) {
        ls_config_free(c);
        return LS_ERR;
    }
    c->text = ls_malloc(len + 1);
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    return LS_OK;
}

int ls_config_load(LsModelConfig *c, const char *path, LsError *e) {
    memset(c, 0, sizeof *c);
    char *text;
    size_t len;
    if (ls_read_file(path, LS_CONFIG_MAX_BYTES, &text, &len, e) != LS_OK) return LS_ERR;
    int rc = ls_config_parse(c, text, len, path, e);
    free(text);
    return rc;
}

void ls_config_free(LsModelConfig *c) {
    if (!c) return;
    free(c->model_type);
    free(c->text);
    free(c->layer_sliding);
    memset(c, 0, sizeof *c);
}
