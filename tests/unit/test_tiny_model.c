/* test_tiny_model.c — ls_tiny_model_write: the checkpoint opens with the
 * shapes of the spec, weights follow the documented distributions, the same
 * seed gives the same bytes, spec errors name the option; ls_f32_to_f16. */
#include "st_build.h"

#include <criterion/criterion.h>
#include <math.h>

static void moments(const LsTensor *t, double *mean, double *sd) {
    size_t n = t->nbytes / ls_dtype_size(t->dtype);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = ls_tensor_get(t, i);
        s += x;
        s2 += x * x;
    }
    *mean = s / (double)n;
    *sd = sqrt(s2 / (double)n - *mean * *mean);
}

static char *read_all(const char *dir, const char *name, size_t *len) {
    char *p = ls_path_join(dir, name), *text;
    LsError e;
    cr_assert_eq(ls_read_file(p, 0, &text, len, &e), LS_OK, "%s", e.msg);
    free(p);
    return text;
}

Test(tiny_model, opens_with_spec_shapes_and_distributions) {
    char *root = tb_tmpdir(), *dir = ls_path_join(root, "m");
    LsTinySpec s;
    ls_tiny_spec_default(&s);
    s.hidden = 96, s.heads = 6, s.kv_heads = 2, s.intermediate = 160, s.vocab = 2000, s.layers = 3;
    s.dtype = LS_DT_F32, s.seed = 11;
    LsError e;
    cr_assert_eq(ls_tiny_model_write(dir, &s, &e), LS_OK, "%s", e.msg);
    LsModel m;
    cr_assert_eq(ls_model_open(&m, dir, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(m.cfg.num_hidden_layers, 3);
    cr_assert_eq(m.cfg.head_dim, 16);
    cr_assert_eq(m.cfg.vocab_size, 2000);
    cr_assert_eq(m.cfg.tie_word_embeddings, 0);
    cr_assert_eq(m.cfg.torch_dtype, LS_DT_F32);
    cr_assert_float_eq(m.cfg.rope_theta, 1e6, 1e-3);
    cr_assert_float_eq(m.cfg.rms_norm_eps, 1e-6f, 1e-12);
    cr_assert_neq(m.lm_head, m.embed);
    double mu, sd;
    moments(m.embed, &mu, &sd);
    cr_assert(fabs(mu) < 0.01 && fabs(sd - 1.0) < 0.01, "embed mean %g sd %g", mu, sd);
    moments(m.layers[1].in_norm, &mu, &sd);
    cr_assert(fabs(mu - 1.0) < 0.07 && fabs(sd - 0.2) < 0.05, "norm mean %g sd %g", mu, sd);
    moments(m.layers[2].q_b, &mu, &sd);
    cr_assert(fabs(sd - 0.3) < 0.08, "bias sd %g", sd);
    moments(m.layers[0].down_w, &mu, &sd); /* 1.5 / sqrt(160) */
    cr_assert(fabs(sd - 1.5 / sqrt(160.0)) < 0.005, "down_proj sd %g", sd);
    moments(m.layers[0].q_w, &mu, &sd); /* 1.5 / sqrt(96) */
    cr_assert(fabs(sd - 1.5 / sqrt(96.0)) < 0.005, "q_proj sd %g", sd);
    /* tensors draw from their own streams: no two layers alike */
    cr_assert_neq(ls_tensor_get(m.layers[0].up_w, 0), ls_tensor_get(m.layers[1].up_w, 0));
    ls_model_close(&m);
    free(dir);
    tb_rmdir(root);
}

Test(tiny_model, deterministic_and_tied) {
    char *root = tb_tmpdir(), *a = ls_path_join(root, "a"), *b = ls_path_join(root, "b");
    LsTinySpec s;
    ls_tiny_spec_default(&s);
    s.tie = 1, s.seed = 0xFFFFFFFFFFFFFFFFull, s.vocab = 300;
    LsError e;
    cr_assert_eq(ls_tiny_model_write(a, &s, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(ls_tiny_model_write(b, &s, &e), LS_OK, "%s", e.msg);
    size_t la, lb;
    char *ta = read_all(a, "model.safetensors", &la), *tb = read_all(b, "model.safetensors", &lb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(ta, tb, la) == 0);
    free(ta);
    free(tb);
    LsModel m;
    cr_assert_eq(ls_model_open(&m, a, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(m.cfg.tie_word_embeddings, 1);
    cr_assert_eq(m.lm_head, m.embed);
    cr_assert_null(ls_st_find(m.st, "lm_head.weight"));
    ls_model_close(&m);
    /* a different seed changes the weights */
    s.seed = 1, s.force = 1;
    cr_assert_eq(ls_tiny_model_write(b, &s, &e), LS_OK, "%s", e.msg);
    ta = read_all(a, "model.safetensors", &la);
    tb = read_all(b, "model.safetensors", &lb);
    cr_assert_eq(la, lb);
    cr_assert(memcmp(ta, tb, la) != 0);
    free(ta);
    free(tb);
    free(a);
    free(b);
    tb_rmdir(root);
}

Test(tiny_model, spec_errors_name_the_option) {
    LsTinySpec s;
    LsError e;
    ls_tiny_spec_default(&s);
    s.heads = 5, s.kv_heads = 1;
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_ERR);
    cr_assert(strstr(e.msg, "--heads 5 does not divide --hidden 64"), "%s", e.msg);
    s.head_dim = 12; /* explicit head width: any head count */
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(s.vocab, 1024);
    ls_tiny_spec_default(&s);
    s.layers = 0;
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_ERR);
    cr_assert(strstr(e.msg, "--layers 0"), "%s", e.msg);
    ls_tiny_spec_default(&s);
    s.kv_heads = 3;
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_ERR);
    cr_assert(strstr(e.msg, "--kv-heads 3 does not divide --heads 4"), "%s", e.msg);
    ls_tiny_spec_default(&s);
    s.tokenizer_dir = "/nonexistent-tokenizer";
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_ERR);
    cr_assert(strstr(e.msg, "/nonexistent-tokenizer/tokenizer.json"), "%s", e.msg);
}

Test(tiny_model, tokenizer_sets_vocab) {
    char *root = tb_tmpdir();
    tb_write_str(root, "tokenizer.json",
                 "{\"model\":{\"vocab\":{\"a\":0,\"b\":1,\"c\":7}},\"added_tokens\":[{\"id\":200000,"
                 "\"content\":\"x\"}]}");
    LsTinySpec s;
    LsError e;
    ls_tiny_spec_default(&s);
    s.tokenizer_dir = root;
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_OK, "%s", e.msg);
    cr_assert_eq(s.vocab, 200001); /* larger than 151936: the tokenizer wins */
    s.vocab = 1000;
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_ERR);
    cr_assert(strstr(e.msg, "--vocab 1000 is smaller"), "%s", e.msg);
    tb_write_str(root, "tokenizer.json", "{\"model\":{\"vocab\":{\"a\":-1}}}");
    s.vocab = 0;
    cr_assert_eq(ls_tiny_spec_check(&s, &e), LS_ERR);
    cr_assert(strstr(e.msg, "model.vocab.a"), "%s", e.msg);
    tb_rmdir(root);
}

Test(half, f32_to_f16_round_trips_and_rounds) {
    /* every finite f16 survives f16 -> f32 -> f16 */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue; /* NaN */
        cr_assert_eq(ls_f32_to_f16(ls_f16_to_f32((uint16_t)h)), h, "0x%04x", h);
    }
    cr_assert_eq(ls_f32_to_f16(1.0f + 0x1p-11f), 0x3C00);     /* tie -> even */
    cr_assert_eq(ls_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02); /* tie -> even (up) */
    cr_assert_eq(ls_f32_to_f16(65504.0f), 0x7BFF);
    cr_assert_eq(ls_f32_to_f16(65519.0f), 0x7BFF);
    cr_assert_eq(ls_f32_to_f16(65520.0f), 0x7C00); /* overflow -> inf */
    cr_assert_eq(ls_f32_to_f16(-1e10f), 0xFC00);
    cr_assert_eq(ls_f32_to_f16(0x1p-24f), 0x0001); /* smallest subnormal */
    cr_assert_eq(ls_f32_to_f16(0x1p-25f), 0x0000); /* tie -> even (zero) */
    cr_assert_eq(ls_f32_to_f16(0x1.8p-25f), 0x0001);
    cr_assert_eq(ls_f32_to_f16(-0.0f), 0x8000);
    cr_assert_eq(ls_f32_to_f16(NAN) & 0x7E00, 0x7E00);
}
