/* config.c — config.json of a Hugging Face Qwen2 checkpoint.
 *
 * Only what Qwen2ForCausalLM computes with is read; anything that would make
 * our forward pass differ from transformers' (another model_type, activation,
 * RoPE scaling, sliding-window attention) is rejected instead of ignored.
 * Defaults follow transformers' Qwen2Config (v4 and v5):
 *   num_key_value_heads = num_attention_heads, head_dim = hidden_size / heads,
 *   tie_word_embeddings = false, hidden_act = "silu", max_position_embeddings = 32768,
 *   dtype absent = float32. rope_theta is read from the top level (v4) or from
 *   "rope_parameters" (v5).
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

int ls_config_parse(LsModelConfig *c, const char *text, size_t len, const char *fname, LsError *e) {
    memset(c, 0, sizeof *c);
    json_t *root;
    if (ls_json_parse_strict(text, len, fname, "", 0, &root, e)) return LS_ERR;
    int rc = LS_ERR, strbad = 0;
    if (!json_is_object(root)) {
        ls_fail(e, "%s: not a JSON object", fname);
        goto done;
    }

    /* Architecture switches: reject what we would compute wrongly. */
    const char *mt = cfg_str(root, fname, "model_type", &strbad, e);
    if (strbad) goto done;
    if (!mt) {
        ls_fail(e, "%s: missing required key 'model_type' (expected \"qwen2\")", fname);
        goto done;
    }
    if (strcmp(mt, "qwen2") != 0) {
        ls_fail(e, "%s: key 'model_type': \"%.100s\" is not supported (expected \"qwen2\")", fname, mt);
        goto done;
    }
    const char *act = cfg_str(root, fname, "hidden_act", &strbad, e);
    if (strbad) goto done;
    if (act && strcmp(act, "silu") != 0) {
        ls_fail(e, "%s: key 'hidden_act': \"%.100s\" is not supported (expected \"silu\")", fname, act);
        goto done;
    }
    json_t *rs = json_object_get(root, "rope_scaling");
    if (rs && !json_is_null(rs)) {
        ls_fail(e, "%s: key 'rope_scaling': RoPE scaling is not supported (must be absent or null)", fname);
        goto done;
    }
    int sw = 0;
    if (cfg_bool(root, fname, "use_sliding_window", &sw, e) < 0) goto done;
    if (sw) {
        ls_fail(e, "%s: key 'use_sliding_window': sliding-window attention is not supported", fname);
        goto done;
    }
    json_t *lt = json_object_get(root, "layer_types");
    if (lt && !json_is_null(lt)) {
        if (!json_is_array(lt)) {
            ls_fail(e, "%s: key 'layer_types': expected a list of strings", fname);
            goto done;
        }
        for (size_t i = 0; i < json_array_size(lt); i++) {
            json_t *x = json_array_get(lt, i);
            if (!json_is_string(x) || strcmp(json_string_value(x), "full_attention") != 0) {
                ls_fail(e, "%s: key 'layer_types'[%zu]: only \"full_attention\" layers are supported", fname,
                        i);
                goto done;
            }
        }
    }

    /* Shapes. */
    if (cfg_req_int(root, fname, "hidden_size", CFG_MAX_DIM, &c->hidden_size, e) ||
        cfg_req_int(root, fname, "intermediate_size", CFG_MAX_DIM, &c->intermediate_size, e) ||
        cfg_req_int(root, fname, "num_hidden_layers", CFG_MAX_LAYERS, &c->num_hidden_layers, e) ||
        cfg_req_int(root, fname, "num_attention_heads", CFG_MAX_HEADS, &c->num_attention_heads, e) ||
        cfg_req_int(root, fname, "vocab_size", CFG_MAX_VOCAB, &c->vocab_size, e))
        goto done;
    int r = cfg_int(root, fname, "num_key_value_heads", 1, CFG_MAX_HEADS, &c->num_key_value_heads, e);
    if (r < 0) goto done;
    if (r == 0) c->num_key_value_heads = c->num_attention_heads;
    if (c->num_attention_heads % c->num_key_value_heads != 0) {
        ls_fail(e, "%s: key 'num_attention_heads': %d is not divisible by num_key_value_heads = %d", fname,
                c->num_attention_heads, c->num_key_value_heads);
        goto done;
    }
    r = cfg_int(root, fname, "head_dim", 1, CFG_MAX_HEADS, &c->head_dim, e);
    if (r < 0) goto done;
    if (r == 0) {
        if (c->hidden_size % c->num_attention_heads != 0) {
            ls_fail(e,
                    "%s: key 'hidden_size': %d is not divisible by num_attention_heads = %d and 'head_dim' "
                    "is absent",
                    fname, c->hidden_size, c->num_attention_heads);
            goto done;
        }
        c->head_dim = c->hidden_size / c->num_attention_heads;
    }
    if ((long long)c->num_attention_heads * c->head_dim > CFG_MAX_DIM) {
        ls_fail(e, "%s: key 'head_dim': num_attention_heads x head_dim = %lld is larger than %d", fname,
                (long long)c->num_attention_heads * c->head_dim, CFG_MAX_DIM);
        goto done;
    }
    c->max_position_embeddings = 32768;
    if (cfg_int(root, fname, "max_position_embeddings", 1, CFG_MAX_POS, &c->max_position_embeddings, e) < 0)
        goto done;

    /* Constants. */
    double eps = 0;
    r = cfg_num(root, fname, "rms_norm_eps", &eps, e);
    if (r < 0) goto done;
    if (r == 0) {
        ls_fail(e, "%s: missing required key 'rms_norm_eps'", fname);
        goto done;
    }
    if (!(eps > 0 && eps < 1)) {
        ls_fail(e, "%s: key 'rms_norm_eps': %g is outside (0, 1)", fname, eps);
        goto done;
    }
    c->rms_norm_eps = (float)eps;

    double theta = 0, theta_p = 0;
    int have_theta = cfg_num(root, fname, "rope_theta", &theta, e), have_theta_p = 0;
    if (have_theta < 0) goto done;
    json_t *rp = json_object_get(root, "rope_parameters");
    if (rp && !json_is_null(rp)) {
        if (!json_is_object(rp)) {
            ls_fail(e, "%s: key 'rope_parameters': expected an object", fname);
            goto done;
        }
        const char *rk;
        json_t *rv;
        json_object_foreach(rp, rk, rv) {
            if (strcmp(rk, "rope_type") != 0 && strcmp(rk, "rope_theta") != 0) {
                ls_fail(e, "%s: key 'rope_parameters.%.100s' is not supported (only rope_type, rope_theta)",
                        fname, rk);
                goto done;
            }
        }
        json_t *rtv = json_object_get(rp, "rope_type");
        if (rtv && !json_is_null(rtv) && !json_is_string(rtv)) {
            ls_fail(e, "%s: key 'rope_parameters.rope_type': expected a string", fname);
            goto done;
        }
        const char *rt = rtv ? json_string_value(rtv) : NULL;
        if (rt && strcmp(rt, "default") != 0) {
            ls_fail(e,
                    "%s: key 'rope_parameters.rope_type': \"%.100s\" is not supported (expected \"default\")",
                    fname, rt);
            goto done;
        }
        json_t *tv = json_object_get(rp, "rope_theta");
        if (tv && !json_is_null(tv) && !json_is_number(tv)) {
            ls_fail(e, "%s: key 'rope_parameters.rope_theta': expected a number", fname);
            goto done;
        }
        have_theta_p = tv && json_is_number(tv);
        if (have_theta_p) theta_p = json_number_value(tv);
    }
    if (have_theta && have_theta_p && theta != theta_p) {
        ls_fail(e, "%s: key 'rope_theta': %g disagrees with rope_parameters.rope_theta = %g", fname, theta,
                theta_p);
        goto done;
    }
    if (!have_theta && !have_theta_p) {
        ls_fail(e, "%s: missing required key 'rope_theta' (top level or in 'rope_parameters')", fname);
        goto done;
    }
    c->rope_theta = have_theta ? theta : theta_p;
    if (!(c->rope_theta >= 1.0 && c->rope_theta <= 1e12)) {
        ls_fail(e, "%s: key 'rope_theta': %g is outside [1, 1e12]", fname, c->rope_theta);
        goto done;
    }

    c->tie_word_embeddings = 0; /* Qwen2Config default */
    if (cfg_bool(root, fname, "tie_word_embeddings", &c->tie_word_embeddings, e) < 0) goto done;

    /* dtype (transformers v5) or torch_dtype (v4). */
    const char *dkey = "dtype";
    const char *dt = cfg_str(root, fname, dkey, &strbad, e);
    if (strbad) goto done;
    if (!dt) {
        dkey = "torch_dtype";
        dt = cfg_str(root, fname, dkey, &strbad, e);
        if (strbad) goto done;
    }
    c->torch_dtype = LS_DT_F32;
    if (dt) {
        if (strcmp(dt, "float32") == 0)
            c->torch_dtype = LS_DT_F32;
        else if (strcmp(dt, "float16") == 0)
            c->torch_dtype = LS_DT_F16;
        else if (strcmp(dt, "bfloat16") == 0)
            c->torch_dtype = LS_DT_BF16;
        else {
            ls_fail(e, "%s: key '%s': \"%.100s\" is not supported (expected float32, float16 or bfloat16)",
                    fname, dkey, dt);
            goto done;
        }
    }

    if (cfg_token_id(root, fname, "bos_token_id", &c->bos_token_id, e) != LS_OK ||
        cfg_token_id(root, fname, "eos_token_id", &c->eos_token_id, e) != LS_OK)
        goto done;

    c->model_type = ls_strdup(mt);
    c->text = ls_malloc(len + 1);
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    rc = LS_OK;
done:
    json_decref(root);
    if (rc != LS_OK) ls_config_free(c);
    return rc;
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
    memset(c, 0, sizeof *c);
}
