/* test_config.c — config.json of Qwen2, Llama, Qwen3 and Gemma 3 text:
 * values, defaults (as transformers' Config classes), both spellings of RoPE
 * and layer types, and every rejection naming the file and the key. */
#include "st_build.h"

#include <criterion/criterion.h>
#include <math.h>

#define CF "config.json"

/* A valid v4-style config; tests replace one key/value with sed-like edits. */
#define BASE_KEYS                                                                                            \
    "\"model_type\":\"qwen2\",\"hidden_act\":\"silu\",\"hidden_size\":64,\"intermediate_size\":128,"         \
    "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"vocab_size\":100,"        \
    "\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0"

static int parse(const char *text, LsModelConfig *c, LsError *e) {
    return ls_config_parse(c, text, strlen(text), CF, e);
}

static void expect_fail(const char *text, const char *n1, const char *n2) {
    LsModelConfig c;
    LsError e = {{0}};
    cr_assert_eq(ls_config_parse(&c, text, strlen(text), CF, &e), LS_ERR, "accepted: %s", text);
    cr_assert(strstr(e.msg, CF), "no file name in: %s", e.msg);
    cr_assert(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_assert(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
    cr_assert_eq(c.text, NULL);
    cr_assert_eq(c.model_type, NULL);
}

Test(config, v4_values) {
    const char *t = "{" BASE_KEYS ",\"max_position_embeddings\":4096,\"tie_word_embeddings\":true,"
                    "\"torch_dtype\":\"bfloat16\",\"bos_token_id\":151643,\"eos_token_id\":[151645,151643],"
                    "\"rope_scaling\":null,\"use_sliding_window\":false,\"sliding_window\":4096,"
                    "\"layer_types\":[\"full_attention\",\"full_attention\"]}";
    LsModelConfig c;
    LsError e;
    cr_assert_eq(parse(t, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.hidden_size, 64);
    cr_assert_eq(c.intermediate_size, 128);
    cr_assert_eq(c.num_hidden_layers, 2);
    cr_assert_eq(c.num_attention_heads, 4);
    cr_assert_eq(c.num_key_value_heads, 2);
    cr_assert_eq(c.head_dim, 16);
    cr_assert_eq(c.vocab_size, 100);
    cr_assert_eq(c.max_position_embeddings, 4096);
    cr_assert_float_eq(c.rms_norm_eps, 1e-6f, 1e-12);
    cr_assert_eq(c.rope_theta, 1e6);
    cr_assert_eq(c.tie_word_embeddings, 1);
    cr_assert_eq(c.torch_dtype, LS_DT_BF16);
    cr_assert_eq(c.bos_token_id, 151643);
    cr_assert_eq(c.eos_token_id, 151645);
    cr_assert_str_eq(c.model_type, "qwen2");
    cr_assert_str_eq(c.text, t);
    ls_config_free(&c);
    cr_assert_eq(c.text, NULL);
}

Test(config, v5_rope_parameters_and_defaults) {
    /* as transformers 5 writes it: rope_parameters, dtype, null token ids */
    const char *t =
        "{\"model_type\":\"qwen2\",\"hidden_size\":8,\"intermediate_size\":16,\"num_hidden_layers\":1,"
        "\"num_attention_heads\":2,\"vocab_size\":32,\"rms_norm_eps\":1e-5,"
        "\"rope_parameters\":{\"rope_theta\":10000.0,\"rope_type\":\"default\"},"
        "\"dtype\":\"float16\",\"bos_token_id\":null,\"eos_token_id\":null,\"sliding_window\":null}";
    LsModelConfig c;
    LsError e;
    cr_assert_eq(parse(t, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.rope_theta, 10000.0);
    cr_assert_eq(c.num_key_value_heads, 2); /* default = num_attention_heads */
    cr_assert_eq(c.head_dim, 4);            /* default = hidden_size / heads */
    cr_assert_eq(c.tie_word_embeddings, 0); /* Qwen2Config default */
    cr_assert_eq(c.torch_dtype, LS_DT_F16);
    cr_assert_eq(c.max_position_embeddings, 32768);
    cr_assert_eq(c.bos_token_id, -1);
    cr_assert_eq(c.eos_token_id, -1);
    ls_config_free(&c);
    /* no dtype at all: float32; integer rope_theta; explicit head_dim not d/H */
    const char *t2 =
        "{\"model_type\":\"qwen2\",\"hidden_size\":10,\"intermediate_size\":16,\"num_hidden_layers\":1,"
        "\"num_attention_heads\":4,\"head_dim\":8,\"vocab_size\":32,\"rms_norm_eps\":1e-5,"
        "\"rope_theta\":10000,\"eos_token_id\":7}";
    cr_assert_eq(parse(t2, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.torch_dtype, LS_DT_F32);
    cr_assert_eq(c.head_dim, 8);
    cr_assert_eq(c.rope_theta, 10000.0);
    cr_assert_eq(c.eos_token_id, 7);
    ls_config_free(&c);
}

Test(config, load_from_file) {
    char *dir = tb_tmpdir();
    tb_write_str(dir, "config.json", "{" BASE_KEYS "}");
    char *p = ls_path_join(dir, "config.json");
    LsModelConfig c;
    LsError e;
    cr_assert_eq(ls_config_load(&c, p, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.vocab_size, 100);
    ls_config_free(&c);
    tb_write_str(dir, "config.json", "{" BASE_KEYS ",\"hidden_act\":\"gelu\"}");
    cr_assert_eq(ls_config_load(&c, p, &e), LS_ERR);
    cr_assert(strstr(e.msg, p), "%s", e.msg);
    free(p);
    p = ls_path_join(dir, "missing.json");
    cr_assert_eq(ls_config_load(&c, p, &e), LS_ERR);
    cr_assert(strstr(e.msg, p) && strstr(e.msg, "cannot open"), "%s", e.msg);
    free(p);
    tb_rmdir(dir);
}

Test(config, architecture_switches) {
    expect_fail("{\"model_type\":\"mistral\",\"hidden_size\":8}", "key 'model_type'",
                "\"mistral\" is not supported");
    expect_fail("{\"model_type\":\"gemma3\",\"text_config\":null}", "key 'model_type'", "multimodal");
    expect_fail("{\"model_type\":\"gemma3\",\"vision_config\":{}}", "key 'vision_config'", "multimodal");
    expect_fail("{\"model_type\":\"qwen3_moe\"}", "key 'model_type'", "\"qwen3_moe\" is not supported");
    expect_fail("{\"model_type\":\"llama\",\"num_local_experts\":8}", "key 'num_local_experts'",
                "mixture-of-experts");
    expect_fail("{\"model_type\":\"llama\",\"architectures\":[\"LlamaForSequenceClassification\"]}",
                "key 'architectures'[0]", "LlamaForCausalLM");
    expect_fail("{\"model_type\":\"llama\",\"architectures\":\"LlamaForCausalLM\"}", "key 'architectures'",
                "expected a list");
    expect_fail("{\"hidden_size\":8}", "missing required key 'model_type'", NULL);
    expect_fail("{\"model_type\":3}", "key 'model_type': expected a string", NULL);
    expect_fail("{\"model_type\":\"qwen2\",\"hidden_act\":\"gelu\"}", "key 'hidden_act'",
                "\"gelu\" is not supported");
    expect_fail("{\"model_type\":\"gemma3_text\",\"hidden_activation\":\"gelu\"}", "key 'hidden_activation'",
                "\"gelu\" is not supported");
    expect_fail("{\"model_type\":\"qwen2\",\"use_sliding_window\":true}", "key 'use_sliding_window'",
                "not supported");
    expect_fail("{\"model_type\":\"qwen3\",\"use_sliding_window\":true}", "key 'use_sliding_window'",
                "not supported");
    expect_fail("{\"model_type\":\"qwen2\",\"use_sliding_window\":\"no\"}", "key 'use_sliding_window'",
                "expected true or false");
    expect_fail("{\"model_type\":\"qwen2\",\"layer_types\":[\"full_attention\",\"sliding_attention\"]}",
                "key 'layer_types'[1]", NULL);
}

Test(config, rope) {
    expect_fail(
        "{\"model_type\":\"qwen2\",\"hidden_size\":8,\"intermediate_size\":16,\"num_hidden_layers\":1,"
        "\"num_attention_heads\":2,\"vocab_size\":32,\"rms_norm_eps\":1e-5}",
        "missing required key 'rope_theta'", NULL);
    expect_fail("{" BASE_KEYS ",\"rope_parameters\":{\"rope_theta\":1e6,\"rope_type\":\"linear\",\"x\":2}}",
                "key 'rope_parameters.x' is not supported", NULL);
    expect_fail("{" BASE_KEYS
                ",\"rope_parameters\":{\"rope_theta\":1e6,\"rope_type\":\"dynamic\",\"factor\":2}}",
                "key 'rope_parameters.rope_type'", "\"dynamic\" is not supported");
    expect_fail("{" BASE_KEYS ",\"rope_scaling\":{\"type\":\"longrope\",\"factor\":2}}",
                "key 'rope_scaling.type'", "\"longrope\" is not supported");
    expect_fail("{" BASE_KEYS ",\"rope_parameters\":{\"rope_theta\":1e6,\"rope_type\":\"linear\"}}",
                "missing key 'rope_parameters.factor'", "\"linear\"");
    expect_fail("{" BASE_KEYS
                ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":1}}",
                "missing key 'rope_scaling.high_freq_factor'", NULL);
    expect_fail("{" BASE_KEYS ",\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":-2}}",
                "key 'rope_scaling.factor'", "not positive");
    expect_fail("{" BASE_KEYS
                ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":2,\"partial_rotary_factor\":0.5}}",
                "key 'rope_scaling.partial_rotary_factor'", NULL);
    expect_fail("{" BASE_KEYS ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":\"x\"}}",
                "key 'rope_scaling.factor'", "expected a finite number");
    expect_fail("{" BASE_KEYS ",\"rope_scaling\":3}", "key 'rope_scaling': expected an object", NULL);
    expect_fail("{" BASE_KEYS ",\"rope_parameters\":{\"rope_theta\":10.0}}", "key 'rope_theta'",
                "disagrees with rope_parameters.rope_theta");
    expect_fail("{" BASE_KEYS ",\"rope_parameters\":{\"rope_theta\":\"x\"}}",
                "key 'rope_parameters.rope_theta'", "expected a finite number");
    expect_fail("{" BASE_KEYS ",\"rope_parameters\":[]}", "key 'rope_parameters': expected an object", NULL);
}

/* the scaled RoPE types, as modeling_rope_utils.py standardises them */
Test(config, rope_scaling_types) {
    LsModelConfig c;
    LsError e;
    const char *lin = "{" BASE_KEYS ",\"max_position_embeddings\":4096,\"rope_scaling\":{\"type\":\"linear\","
                      "\"factor\":2.5}}";
    cr_assert_eq(parse(lin, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.rope.type, LS_ROPE_LINEAR);
    cr_assert_eq(c.rope.factor, 2.5);
    cr_assert_eq(c.rope.theta, 1e6);
    cr_assert_eq(c.rope_local.type, LS_ROPE_LINEAR);
    ls_config_free(&c);
    const char *yarn =
        "{" BASE_KEYS ",\"max_position_embeddings\":4096,\"rope_scaling\":{\"rope_type\":\"yarn\","
        "\"factor\":4.0,\"original_max_position_embeddings\":1024}}";
    cr_assert_eq(parse(yarn, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.rope.type, LS_ROPE_YARN);
    cr_assert_float_eq(c.rope.attention_factor, 0.1 * log(4.0) + 1.0, 1e-12);
    cr_assert(c.rope.beta_fast == 32 && c.rope.beta_slow == 1 && c.rope.truncate == 1);
    cr_assert_eq(c.rope.original_max_position_embeddings, 1024);
    ls_config_free(&c);
    /* yarn without factor: max_position_embeddings / original; mscale ratio */
    const char *yarn2 = "{" BASE_KEYS ",\"max_position_embeddings\":4096,\"rope_parameters\":{\"rope_type\":"
                        "\"yarn\",\"rope_theta\":1e6,\"original_max_position_embeddings\":1024,\"mscale\":2,"
                        "\"mscale_all_dim\":1,\"truncate\":false}}";
    cr_assert_eq(parse(yarn2, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.rope.factor, 4.0);
    cr_assert_float_eq(c.rope.attention_factor, (0.2 * log(4.0) + 1.0) / (0.1 * log(4.0) + 1.0), 1e-12);
    cr_assert_eq(c.rope.truncate, 0);
    ls_config_free(&c);
    const char *l3 =
        "{" BASE_KEYS ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,"
        "\"low_freq_factor\":1,\"high_freq_factor\":4,\"original_max_position_embeddings\":8192}}";
    cr_assert_eq(parse(l3, &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.rope.type, LS_ROPE_LLAMA3);
    cr_assert(c.rope.low_freq_factor == 1 && c.rope.high_freq_factor == 4 && c.rope.factor == 8);
    cr_assert_eq(c.rope.original_max_position_embeddings, 8192);
    ls_config_free(&c);
}

#define LLAMA_KEYS                                                                                           \
    "\"model_type\":\"llama\",\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,"                  \
    "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":1," \
    "\"vocab_size\":100,\"rms_norm_eps\":1e-05,\"rope_theta\":500000.0"

Test(config, llama_qwen3_switches) {
    LsModelConfig c;
    LsError e;
    cr_assert_eq(parse("{" LLAMA_KEYS ",\"attention_bias\":true,\"mlp_bias\":true}", &c, &e), LS_OK, "%s",
                 e.msg);
    cr_assert_eq(c.arch, LS_ARCH_LLAMA);
    cr_assert(c.qkv_bias && c.o_bias && c.mlp_bias && !c.qk_norm && !c.norm_plus_one);
    cr_assert_eq(c.max_position_embeddings, 2048); /* LlamaConfig default */
    cr_assert_eq(c.head_dim, 16);
    cr_assert_eq(c.embed_scale, 1.0f);
    cr_assert_eq(c.layer_sliding, NULL);
    ls_config_free(&c);
    cr_assert_eq(parse("{" BASE_KEYS "}", &c, &e), LS_OK, "%s", e.msg);
    cr_assert(c.arch == LS_ARCH_QWEN2 && c.qkv_bias && !c.o_bias && !c.mlp_bias);
    ls_config_free(&c);
    const char *q3 =
        "{\"model_type\":\"qwen3\",\"hidden_size\":64,\"intermediate_size\":128,"
        "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":100,\"rms_norm_eps\":1e-6,"
        "\"rope_theta\":1e6}";
    cr_assert_eq(parse(q3, &c, &e), LS_OK, "%s", e.msg);
    cr_assert(c.arch == LS_ARCH_QWEN3 && c.qk_norm && !c.qkv_bias);
    cr_assert_eq(c.head_dim, 128); /* Qwen3Config default */
    cr_assert_str_eq(c.model_type, "qwen3");
    ls_config_free(&c);
    expect_fail("{" LLAMA_KEYS ",\"attention_bias\":1}", "key 'attention_bias': expected true or false",
                NULL);
}

#define GEMMA_KEYS                                                                                           \
    "\"model_type\":\"gemma3_text\",\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":7,"   \
    "\"num_attention_heads\":4,\"num_key_value_heads\":1,\"vocab_size\":100,\"rms_norm_eps\":1e-06"

Test(config, gemma3_old_and_new_spelling) {
    LsModelConfig c;
    LsError e;
    /* defaults: pattern 6, window 4096, thetas 1e6 / 1e4, head_dim 256, query_pre_attn_scalar 256, tied */
    cr_assert_eq(parse("{" GEMMA_KEYS "}", &c, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(c.arch, LS_ARCH_GEMMA3);
    cr_assert(c.norm_plus_one && c.sandwich_norms && c.qk_norm && c.tie_word_embeddings);
    cr_assert_eq(c.hidden_act, LS_ACT_GELU_TANH);
    cr_assert_eq(c.head_dim, 256);
    cr_assert_float_eq(c.attn_scale, 1.0 / 16.0, 1e-15);
    cr_assert_eq(c.embed_scale, 8.0f);
    cr_assert_eq(c.sliding_window, 4096);
    for (int l = 0; l < 7; l++)
        cr_assert_eq(c.layer_sliding[l], l != 5, "layer %d", l);
    cr_assert(c.rope.theta == 1e6 && c.rope_local.theta == 1e4 && c.rope_theta == 1e6);
    cr_assert(c.final_logit_softcapping == 0);
    ls_config_free(&c);
    /* v4 spelling: rope_theta, rope_local_base_freq, rope_scaling for the global layers, pattern */
    const char *old = "{" GEMMA_KEYS ",\"rope_theta\":5e5,\"rope_local_base_freq\":2e4,\"sliding_window\":16,"
                      "\"sliding_window_pattern\":3,\"rope_scaling\":{\"rope_type\":\"linear\",\"factor\":8},"
                      "\"query_pre_attn_scalar\":24,\"head_dim\":16,\"final_logit_softcapping\":30.0,"
                      "\"attn_logit_softcapping\":null}";
    cr_assert_eq(parse(old, &c, &e), LS_OK, "%s", e.msg);
    cr_assert(c.rope.type == LS_ROPE_LINEAR && c.rope.factor == 8 && c.rope.theta == 5e5);
    cr_assert(c.rope_local.type == LS_ROPE_DEFAULT && c.rope_local.theta == 2e4);
    cr_assert_eq(c.sliding_window, 16);
    for (int l = 0; l < 7; l++)
        cr_assert_eq(c.layer_sliding[l], (l + 1) % 3 != 0, "layer %d", l);
    cr_assert_float_eq(c.attn_scale, 1.0 / sqrt(24.0), 1e-15);
    cr_assert_eq(c.final_logit_softcapping, 30.0);
    ls_config_free(&c);
    /* v5 spelling: layer_types and rope_parameters per layer type */
    const char *neu =
        "{" GEMMA_KEYS ",\"layer_types\":[\"full_attention\",\"sliding_attention\",\"full_attention\","
        "\"sliding_attention\",\"sliding_attention\",\"sliding_attention\",\"full_attention\"],"
        "\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"default\",\"rope_theta\":1e6},"
        "\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":1e4}}}";
    cr_assert_eq(parse(neu, &c, &e), LS_OK, "%s", e.msg);
    const unsigned char want[7] = {0, 1, 0, 1, 1, 1, 0};
    cr_assert(!memcmp(c.layer_sliding, want, 7));
    cr_assert(c.rope.theta == 1e6 && c.rope_local.theta == 1e4);
    ls_config_free(&c);
    expect_fail("{" GEMMA_KEYS ",\"layer_types\":[\"full_attention\"]}", "key 'layer_types'",
                "num_hidden_layers = 7");
    expect_fail("{" GEMMA_KEYS ",\"layer_types\":[1,2,3,4,5,6,7]}", "key 'layer_types'[0]", NULL);
    expect_fail("{" GEMMA_KEYS ",\"rope_parameters\":{\"rope_type\":\"default\"}}",
                "key 'rope_parameters.rope_type'", "one entry per layer type");
    expect_fail("{" GEMMA_KEYS ",\"rope_parameters\":{\"full_attention\":{\"rope_type\":\"dynamic\"}}}",
                "key 'rope_parameters.full_attention.rope_type'", "\"dynamic\"");
    expect_fail("{" GEMMA_KEYS ",\"use_bidirectional_attention\":true}", "key 'use_bidirectional_attention'",
                NULL);
    expect_fail("{" GEMMA_KEYS ",\"final_logit_softcapping\":-1}", "key 'final_logit_softcapping'",
                "not positive");
    expect_fail("{" GEMMA_KEYS ",\"query_pre_attn_scalar\":0}", "key 'query_pre_attn_scalar'",
                "not positive");
    expect_fail("{" GEMMA_KEYS ",\"sliding_window\":0}", "key 'sliding_window'", "outside");
    expect_fail("{" GEMMA_KEYS ",\"architectures\":[\"Gemma3ForConditionalGeneration\"]}",
                "key 'architectures'[0]", "Gemma3ForCausalLM");
}

/* Replaces the value of one key of BASE_KEYS (the key must be in it). */
static void base_with(char *out, size_t cap, const char *key, const char *val) {
    const char *base = "{" BASE_KEYS "}";
    char q[64];
    snprintf(q, sizeof q, "\"%s\":", key);
    const char *p = strstr(base, q);
    cr_assert(p, "%s", key);
    const char *v = p + strlen(q), *end = v;
    while (*end != ',' && *end != '}')
        end++;
    snprintf(out, cap, "%.*s%s%s", (int)(v - base), base, val, end);
}

static void base_fail(const char *key, const char *val, const char *n1, const char *n2) {
    char t[1024];
    base_with(t, sizeof t, key, val);
    expect_fail(t, n1, n2);
}

Test(config, missing_keys) {
    const char *req[] = {"hidden_size",         "intermediate_size", "num_hidden_layers",
                         "num_attention_heads", "vocab_size",        "rms_norm_eps"};
    for (size_t i = 0; i < LS_ARRAY_LEN(req); i++) {
        char want[96];
        snprintf(want, sizeof want, "missing required key '%s'", req[i]);
        base_fail(req[i], "null", want, NULL);
    }
}

Test(config, wrong_types) {
    base_fail("hidden_size", "\"64\"", "key 'hidden_size': expected an integer", NULL);
    base_fail("hidden_size", "64.0", "key 'hidden_size': expected an integer", NULL);
    base_fail("num_hidden_layers", "true", "key 'num_hidden_layers': expected an integer", NULL);
    base_fail("num_key_value_heads", "[2]", "key 'num_key_value_heads': expected an integer", NULL);
    base_fail("rms_norm_eps", "\"1e-6\"", "key 'rms_norm_eps': expected a number", NULL);
    base_fail("rope_theta", "{}", "key 'rope_theta': expected a number", NULL);
    base_fail("hidden_act", "1", "key 'hidden_act': expected a string", NULL);
    expect_fail("{" BASE_KEYS ",\"tie_word_embeddings\":1}",
                "key 'tie_word_embeddings': expected true or false", NULL);
    expect_fail("{" BASE_KEYS ",\"torch_dtype\":\"int8\"}", "key 'torch_dtype'", "\"int8\" is not supported");
    expect_fail("{" BASE_KEYS ",\"dtype\":5}", "key 'dtype': expected a string", NULL);
    expect_fail("{" BASE_KEYS ",\"eos_token_id\":\"</s>\"}", "key 'eos_token_id'", NULL);
    expect_fail("{" BASE_KEYS ",\"bos_token_id\":-5}", "key 'bos_token_id'", "out of range");
    expect_fail("{" BASE_KEYS ",\"head_dim\":\"8\"}", "key 'head_dim': expected an integer", NULL);
}

Test(config, bounds) {
    base_fail("hidden_size", "0", "key 'hidden_size': value 0 is outside", NULL);
    base_fail("hidden_size", "-64", "key 'hidden_size': value -64 is outside", NULL);
    base_fail("hidden_size", "1099511627776", "key 'hidden_size'", "outside");
    base_fail("num_hidden_layers", "100000", "key 'num_hidden_layers'", "outside");
    base_fail("vocab_size", "9223372036854775807", "key 'vocab_size'", "outside");
    base_fail("rms_norm_eps", "0", "key 'rms_norm_eps'", NULL);
    base_fail("rope_theta", "-1", "key 'rope_theta'", NULL);
    expect_fail("{" BASE_KEYS ",\"head_dim\":70000}", "key 'head_dim'", "outside");
}

Test(config, heads_not_divisible) {
    base_fail("num_key_value_heads", "3",
              "key 'num_attention_heads': 4 is not divisible by num_key_value_heads = 3", NULL);
    base_fail("hidden_size", "66", "key 'hidden_size': 66 is not divisible by num_attention_heads = 4", NULL);
}

Test(config, json_errors) {
    expect_fail("{\"model_type\":\"qwen2\",\"model_type\":\"qwen2\"}", "duplicate object key", NULL);
    expect_fail("{" BASE_KEYS ",\"vocab_size\":100}", "duplicate", NULL);
    expect_fail("[1]", "not a JSON object", NULL);
    expect_fail("{\"model_type\":", "invalid JSON", "line 1");
    expect_fail("", "invalid JSON", NULL);
    expect_fail("{\"model_type\":\"qw\xC0\xAF\"}", "byte 17: invalid UTF-8", NULL);
    LsModelConfig c;
    LsError e;
    const char nul[] = "{\"a\":1}\0 ";
    cr_assert_eq(ls_config_parse(&c, nul, sizeof nul - 1, CF, &e), LS_ERR);
    cr_assert(strstr(e.msg, "config.json: byte 7: NUL byte"), "%s", e.msg);
}
