/* test_model.c — ls_model_open on tiny Qwen2 checkpoints written by
 * st_build.h (2 layers, tiny dims, pseudo-random weights), and the
 * missing-tensor / wrong-shape errors. */
#include "st_build.h"

#include <criterion/criterion.h>

static TbQwen tiny(void) {
    /* d=8, f=12, L=2, H=4, Hkv=2, hd=2 (d/H), V=16 */
    TbQwen q = {.d = 8, .f = 12, .L = 2, .H = 4, .Hkv = 2, .hd = 2, .V = 16, .tie = 0, .dt = LS_DT_BF16};
    return q;
}

static void check_shape(const LsTensor *t, int ndim, int64_t a, int64_t b) {
    cr_assert(t);
    cr_assert_eq(t->ndim, ndim, "%s", t->name);
    cr_assert_eq(t->shape[0], a, "%s", t->name);
    if (ndim == 2) cr_assert_eq(t->shape[1], b, "%s", t->name);
}

/* Every element of t equals what the writer put there. */
static void check_values(const LsTensor *t) {
    size_t n = t->nbytes / ls_dtype_size(t->dtype);
    float *buf = malloc(n * sizeof *buf);
    ls_tensor_to_f32(t, 0, n, buf);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(ls_tensor_get(t, i), tb_qwen_val(t->name, i), "%s[%zu]", t->name, i);
        cr_assert_eq(buf[i], tb_qwen_val(t->name, i), "%s[%zu]", t->name, i);
    }
    free(buf);
}

static void open_and_check(const TbQwen *q) {
    char *dir = tb_tmpdir();
    tb_qwen_write(dir, q);
    LsModel m;
    LsError e;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_OK, "%s", e.msg);
    cr_assert_str_eq(m.dir, dir);
    cr_assert_eq(m.cfg.num_hidden_layers, q->L);
    cr_assert_eq(m.cfg.head_dim, q->hd);
    cr_assert_eq(m.cfg.eos_token_id, 2);
    cr_assert_eq(m.cfg.torch_dtype, q->dt);
    int64_t d = q->d, f = q->f, V = q->V, qd = q->H * q->hd, kvd = q->Hkv * q->hd;
    check_shape(m.embed, 2, V, d);
    check_shape(m.final_norm, 1, d, 0);
    check_shape(m.lm_head, 2, V, d);
    if (q->tie)
        cr_assert_eq(m.lm_head, m.embed);
    else
        cr_assert_str_eq(m.lm_head->name, "lm_head.weight");
    check_values(m.embed);
    check_values(m.lm_head);
    check_values(m.final_norm);
    for (int l = 0; l < q->L; l++) {
        const LsLayerWeights *w = &m.layers[l];
        check_shape(w->in_norm, 1, d, 0);
        check_shape(w->q_w, 2, qd, d);
        check_shape(w->q_b, 1, qd, 0);
        check_shape(w->k_w, 2, kvd, d);
        check_shape(w->k_b, 1, kvd, 0);
        check_shape(w->v_w, 2, kvd, d);
        check_shape(w->v_b, 1, kvd, 0);
        check_shape(w->o_w, 2, d, qd);
        check_shape(w->post_norm, 1, d, 0);
        check_shape(w->gate_w, 2, f, d);
        check_shape(w->up_w, 2, f, d);
        check_shape(w->down_w, 2, d, f);
        char nm[64];
        snprintf(nm, sizeof nm, "model.layers.%d.mlp.down_proj.weight", l);
        cr_assert_str_eq(w->down_w->name, nm);
        check_values(w->q_w);
        check_values(w->k_b);
        check_values(w->down_w);
        cr_assert_eq(w->in_norm->dtype, q->dt);
    }
    ls_model_close(&m);
    cr_assert_eq(m.st, NULL);
    ls_model_close(&m); /* closing twice is harmless */
    tb_rmdir(dir);
}

Test(model, open_untied_bf16) {
    TbQwen q = tiny();
    open_and_check(&q);
}

Test(model, open_tied_f32) {
    TbQwen q = tiny();
    q.tie = 1;
    q.dt = LS_DT_F32;
    open_and_check(&q);
}

Test(model, open_f16_mha) {
    TbQwen q = tiny();
    q.Hkv = q.H; /* no GQA */
    q.dt = LS_DT_F16;
    open_and_check(&q);
}

static void open_fail(const TbQwen *q, const char *n1, const char *n2, const char *n3) {
    char *dir = tb_tmpdir();
    tb_qwen_write(dir, q);
    LsModel m;
    LsError e;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_ERR);
    cr_assert_eq(m.st, NULL);
    cr_assert_eq(m.layers, NULL);
    cr_assert(strstr(e.msg, dir), "no folder in: %s", e.msg);
    cr_assert(strstr(e.msg, n1), "'%s' not in: %s", n1, e.msg);
    if (n2) cr_assert(strstr(e.msg, n2), "'%s' not in: %s", n2, e.msg);
    if (n3) cr_assert(strstr(e.msg, n3), "'%s' not in: %s", n3, e.msg);
    tb_rmdir(dir);
}

Test(model, missing_tensor) {
    TbQwen q = tiny();
    q.skip = "model.layers.1.self_attn.k_proj.bias";
    open_fail(&q, "tensor 'model.layers.1.self_attn.k_proj.bias' (expected shape [4]) is missing", NULL,
              NULL);
    q.skip = "lm_head.weight";
    open_fail(&q, "tie_word_embeddings is false",
              "tensor 'lm_head.weight' (expected shape [16, 8]) is missing", NULL);
    q.skip = "model.norm.weight";
    open_fail(&q, "tensor 'model.norm.weight'", "missing", NULL);
}

Test(model, wrong_shape) {
    TbQwen q = tiny();
    q.bad_shape = "model.layers.0.mlp.up_proj.weight";
    open_fail(&q, "model.safetensors: tensor 'model.layers.0.mlp.up_proj.weight' at byte",
              "expected shape [12, 8] but found [12, 9] (BF16)", NULL);
    q.bad_shape = "model.embed_tokens.weight";
    open_fail(&q, "tensor 'model.embed_tokens.weight'", "expected shape [16, 8] but found [16, 9]", NULL);
    q.bad_shape = "model.layers.1.self_attn.o_proj.weight";
    open_fail(&q, "tensor 'model.layers.1.self_attn.o_proj.weight'", "expected shape [8, 8] but found [8, 9]",
              NULL);
}

Test(model, config_disagrees_with_weights) {
    /* config says GQA with 1 kv head, weights have 2 */
    char *dir = tb_tmpdir();
    TbQwen q = tiny();
    tb_qwen_write(dir, &q);
    tb_write_str(
        dir, "config.json",
        "{\"model_type\":\"qwen2\",\"hidden_size\":8,\"intermediate_size\":12,\"num_hidden_layers\":2,"
        "\"num_attention_heads\":4,\"num_key_value_heads\":1,\"vocab_size\":16,\"rms_norm_eps\":1e-6,"
        "\"rope_theta\":10000}");
    LsModel m;
    LsError e;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_ERR);
    cr_assert(strstr(e.msg, "tensor 'model.layers.0.self_attn.k_proj.weight'") &&
                  strstr(e.msg, "expected shape [2, 8] but found [4, 8]"),
              "%s", e.msg);
    tb_rmdir(dir);
}

Test(model, bad_config_or_missing_files) {
    char *dir = tb_tmpdir();
    LsModel m;
    LsError e;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_ERR);
    cr_assert(strstr(e.msg, "config.json: cannot open"), "%s", e.msg);
    TbQwen q = tiny();
    tb_qwen_write(dir, &q);
    tb_write_str(dir, "config.json", "{\"model_type\":\"mistral\"}");
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_ERR);
    cr_assert(strstr(e.msg, "config.json: key 'model_type'"), "%s", e.msg);
    tb_rmdir(dir);
}

/* The switches of a config decide which tensors must be there: a fixture's
 * weights under a config asking for more (biases, q/k norms) are refused,
 * naming the first missing tensor and its expected shape. rep: pairs of
 * strings of config.json replaced (the first occurrence of each). */
static void expect_missing(const char *fixture, const char *const *rep, int nrep, const char *tensor) {
    char src[1024], *text;
    size_t len;
    LsError e = {{0}};
    snprintf(src, sizeof src, "%s/fixtures/%s/config.json", LS_TEST_DIR, fixture);
    cr_assert_eq(ls_read_file(src, 1 << 20, &text, &len, &e), LS_OK, "%s", e.msg);
    for (int i = 0; i < nrep; i++) {
        const char *from = rep[2 * i], *to = rep[2 * i + 1];
        char *at = strstr(text, from);
        cr_assert(at, "%s: no '%s' in config.json", fixture, from);
        size_t cap = strlen(text) + strlen(to) + 1;
        char *edited = malloc(cap);
        snprintf(edited, cap, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
        free(text);
        text = edited;
    }
    char *dir = tb_tmpdir();
    tb_write_str(dir, "config.json", text);
    char st[1024], dst[1200];
    snprintf(st, sizeof st, "%s/fixtures/%s/model.safetensors", LS_TEST_DIR, fixture);
    snprintf(dst, sizeof dst, "%s/model.safetensors", dir);
    cr_assert_eq(symlink(st, dst), 0);
    LsModel m;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_ERR, "%s: accepted with %s", fixture, rep[1]);
    cr_assert(strstr(e.msg, tensor) && strstr(e.msg, "is missing from the checkpoint"), "%s", e.msg);
    free(text);
    tb_rmdir(dir);
}

Test(model, config_switches_need_their_tensors) {
    const char *ab[] = {"\"attention_bias\": false", "\"attention_bias\": true"};
    expect_missing("llama-tiny-kv1-tied", ab, 1,
                   "'model.layers.0.self_attn.q_proj.bias' (expected shape [64])");
    const char *mb[] = {"\"mlp_bias\": false", "\"mlp_bias\": true"};
    expect_missing("llama-tiny-kv1-tied", mb, 1, "'model.layers.0.mlp.gate_proj.bias' (expected shape [96])");
    const char *q3[] = {"\"model_type\": \"llama\"", "\"model_type\": \"qwen3\"", "LlamaForCausalLM",
                        "Qwen3ForCausalLM"};
    expect_missing("llama-tiny-kv1-tied", q3, 2,
                   "'model.layers.0.self_attn.q_norm.weight' (expected shape [16])");
    const char *q2[] = {"\"model_type\": \"qwen3\"", "\"model_type\": \"qwen2\"", "Qwen3ForCausalLM",
                        "Qwen2ForCausalLM"};
    expect_missing("qwen3-tiny-tied", q2, 2, "'model.layers.0.self_attn.q_proj.bias'");
}
