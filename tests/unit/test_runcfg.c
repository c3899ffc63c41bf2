/* test_runcfg.c — the YAML run config: defaults, every key, every kind of
 * bad input (with its line number), command-line overrides. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/config.h"

#define CFG_DIR LS_TEST_DIR "/data/config"

static LsError err;

/* Parses yaml as "t.yaml" with relative paths resolved against "base". */
static int parse(LsRunConfig *c, const char *yaml) {
    memset(&err, 0, sizeof err);
    return ls_runcfg_parse(c, yaml, strlen(yaml), "t.yaml", "base", &err);
}

/* Expects a parse failure whose message contains each of the given parts. */
static void expect_fail(const char *yaml, const char *part1, const char *part2) {
    LsRunConfig c;
    cr_assert_eq(parse(&c, yaml), LS_ERR, "accepted:\n%s", yaml);
    cr_expect(strstr(err.msg, part1), "message '%s' lacks '%s'", err.msg, part1);
    if (part2) cr_expect(strstr(err.msg, part2), "message '%s' lacks '%s'", err.msg, part2);
    cr_expect_eq(c.models, NULL); /* left empty */
    ls_runcfg_free(&c);
}

#define MODELS "models:\n  - {name: a, path: pa}\n"

Test(runcfg, defaults) {
    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS), LS_OK, "%s", err.msg);
    cr_expect_eq(c.data, NULL);
    cr_expect_eq(c.output, NULL);
    cr_expect_str_eq(c.template_text, "Query: {query}\nAnswer: {answer}");
    cr_assert_eq(c.n_models, 1);
    cr_expect_str_eq(c.models[0].name, "a");
    cr_expect_str_eq(c.models[0].path, "base/pa");
    cr_assert_eq(c.n_targets, 10);
    const char *want[] = {"wait", "aha",      "check",   "think", "hmm",
                          "let",  "actually", "however", "so",    "therefore"};
    for (size_t i = 0; i < 10; i++)
        cr_expect_str_eq(c.targets[i], want[i]);
    cr_assert_eq(c.n_forms, 6);
    cr_expect_eq(c.forms[0].letter_case, LS_CASE_LOWER);
    cr_expect(c.forms[0].leading_space);
    cr_expect_not(c.forms[1].leading_space);
    cr_expect_eq(c.forms[5].letter_case, LS_CASE_UPPER);
    cr_expect_eq(c.top_k, 5);
    cr_expect_eq(c.batch_tokens, 8192);
    cr_expect_eq(c.max_tokens, 4096);
    cr_expect_eq(c.on_long_record, LS_LONG_WINDOW);
    cr_expect_eq(c.min_context, 512);
    cr_expect_eq(c.on_bad_record, LS_BAD_FAIL);
    cr_expect_eq(c.device, LS_DEVICE_AUTO);
    cr_expect_eq(c.precision, LS_PREC_FP32);
    cr_expect_eq(c.tp, 1);
    cr_expect_eq(c.seed, 0);
    cr_expect_eq(c.bootstrap, 10000);
    cr_expect_eq(c.limit, 0);
    cr_expect_not(c.resume);
    cr_expect_not(c.quiet);
    cr_expect_str_eq(c.yaml_text, MODELS);
    cr_expect_eq(c.yaml_len, strlen(MODELS));
    cr_expect_eq(ls_runcfg_validate(&c, &err), LS_ERR); /* no data/output yet */
    cr_expect(strstr(err.msg, "--data"), "%s", err.msg);
    ls_runcfg_free(&c);
}

Test(runcfg, full_file) {
    LsRunConfig c;
    cr_assert_eq(ls_runcfg_load(&c, CFG_DIR "/full.yaml", &err), LS_OK, "%s", err.msg);
    cr_expect_str_eq(c.source, CFG_DIR "/full.yaml");
    cr_expect_str_eq(c.data, CFG_DIR "/records/study.jsonl");
    cr_expect_str_eq(c.output, "/tmp/out.h5");
    cr_expect_str_eq(c.template_text, "Problem: {query}\nSolution: {answer}");
    cr_assert_eq(c.n_models, 2);
    cr_expect_str_eq(c.models[0].path, CFG_DIR "/models/base");
    cr_expect_str_eq(c.models[1].name, "rl-1.5B");
    cr_expect_str_eq(c.models[1].path, "/abs/rl");
    cr_assert_eq(c.n_targets, 2);
    cr_expect_str_eq(c.targets[1], "hmm");
    /* canonical order (lower before upper) whatever the YAML order */
    cr_assert_eq(c.n_forms, 2);
    cr_expect_eq(c.forms[0].letter_case, LS_CASE_LOWER);
    cr_expect_eq(c.forms[1].letter_case, LS_CASE_UPPER);
    cr_expect(c.forms[0].leading_space && c.forms[1].leading_space);
    cr_expect_eq(c.top_k, 0);
    cr_expect_eq(c.batch_tokens, 1024);
    cr_expect_eq(c.max_tokens, 2048);
    cr_expect_eq(c.on_long_record, LS_LONG_TRUNCATE);
    cr_expect_eq(c.on_bad_record, LS_BAD_SKIP);
    cr_expect_eq(c.device, LS_DEVICE_CPU);
    cr_expect_eq(c.tp, 2);
    cr_expect_eq(c.seed, UINT64_MAX);
    cr_expect_eq(c.bootstrap, 0);
    cr_expect(strstr(c.yaml_text, "# Every key"));
    cr_expect_eq(ls_runcfg_validate(&c, &err), LS_OK, "%s", err.msg);
    ls_runcfg_free(&c);
}

Test(runcfg, relative_to_cwd_when_no_folder) {
    LsRunConfig c;
    const char *y = "data: d.jsonl\n" MODELS;
    cr_assert_eq(ls_runcfg_parse(&c, y, strlen(y), "x.yaml", NULL, &err), LS_OK, "%s", err.msg);
    cr_expect_str_eq(c.data, "d.jsonl");
    cr_expect_str_eq(c.models[0].path, "pa");
    ls_runcfg_free(&c);
}

Test(runcfg, demo_config_loads) {
    LsRunConfig c;
    cr_assert_eq(ls_runcfg_load(&c, LS_TEST_DIR "/../configs/demo.yaml", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(c.n_models, 3);
    cr_expect_str_eq(c.models[0].name, "baseline");
    cr_expect_str_eq(c.models[1].name, "sft");
    cr_expect_str_eq(c.models[2].name, "rl");
    cr_expect_str_eq(c.models[2].path, LS_TEST_DIR "/../configs/../build/demo-models/rl");
    cr_expect_str_eq(c.data, LS_TEST_DIR "/../configs/demo.jsonl");
    cr_expect_str_eq(c.output, LS_TEST_DIR "/../configs/../results/demo.h5");
    cr_expect_eq(ls_runcfg_validate(&c, &err), LS_OK, "%s", err.msg);
    ls_runcfg_free(&c);
}

Test(runcfg, missing_file) {
    LsRunConfig c;
    cr_assert_eq(ls_runcfg_load(&c, CFG_DIR "/nope.yaml", &err), LS_ERR);
    cr_expect(strstr(err.msg, "nope.yaml"), "%s", err.msg);
    ls_runcfg_free(&c);
}

/* ---- unknown and duplicate keys: exact line ---------------------------------- */

Test(runcfg, unknown_key_file_names_line) {
    LsRunConfig c;
    cr_assert_eq(ls_runcfg_load(&c, CFG_DIR "/unknown_key.yaml", &err), LS_ERR);
    cr_expect(strstr(err.msg, "unknown_key.yaml:5:5: unknown key 'revision' in models[0]"), "%s", err.msg);
    cr_expect(strstr(err.msg, "known keys: name, path"), "%s", err.msg);
}

Test(runcfg, unknown_top_level_key) {
    expect_fail(MODELS "\n\ntopk: 3\n", "t.yaml:5:1: unknown key 'topk'", "top_k");
}

Test(runcfg, unknown_key_in_surface_forms) {
    expect_fail(MODELS "surface_forms:\n  case: [lower]\n  space: [true]\n",
                "t.yaml:5:3: unknown key 'space'", "leading_space");
}

Test(runcfg, duplicate_key) {
    expect_fail("tp: 1\n" MODELS "tp: 2\n", "t.yaml:4:1: duplicate key 'tp' (first given at line 1)", NULL);
}

/* ---- syntax and shape --------------------------------------------------------- */

Test(runcfg, yaml_syntax_error) {
    expect_fail(MODELS "targets: [wait, hmm\n", "t.yaml:", "YAML syntax error");
}

Test(runcfg, top_level_not_mapping) {
    expect_fail("- a\n- b\n", "t.yaml:1:1: must be a mapping, not a list", NULL);
}

Test(runcfg, list_where_value_expected) {
    expect_fail(MODELS "data: [a, b]\n", "t.yaml:3:7: data must be a single value, not a list", NULL);
}

Test(runcfg, value_where_list_expected) {
    expect_fail(MODELS "targets: wait\n", "t.yaml:3:10: targets must be a list", NULL);
}

Test(runcfg, model_not_mapping) {
    expect_fail("models:\n  - a\n", "t.yaml:2:5: models[0] must be a mapping", NULL);
}

Test(runcfg, two_documents) {
    expect_fail(MODELS "---\n" MODELS, "t.yaml:3:1: more than one YAML document", NULL);
}

Test(runcfg, nul_in_value) {
    expect_fail(MODELS "data: \"a\\0b\"\n", "t.yaml:3:7: data: NUL character", NULL);
}

/* ---- models ------------------------------------------------------------------- */

Test(runcfg, missing_models) {
    expect_fail("data: x\n", "t.yaml: missing required key 'models'", NULL);
}

Test(runcfg, empty_file) {
    expect_fail("", "missing required key 'models'", NULL);
}

Test(runcfg, empty_models) {
    expect_fail("models: []\n", "t.yaml:1:1: models: the list is empty", NULL);
}

Test(runcfg, duplicate_model_names) {
    expect_fail("models:\n  - {name: a, path: x}\n  - {name: b, path: y}\n  - {name: a, path: z}\n",
                "t.yaml:4:6: models[2].name: duplicate model name 'a' (also models[0], line 2)", NULL);
}

Test(runcfg, bad_model_name) {
    expect_fail("models:\n  - {name: a b, path: x}\n", "t.yaml:2:6: models[0].name: model name 'a b'", NULL);
    expect_fail("models:\n  - {name: '', path: x}\n", "models[0].name", NULL);
}

Test(runcfg, model_missing_path) {
    expect_fail("models:\n  - {name: a}\n", "t.yaml:2:", "path");
}

/* ---- scalar values ------------------------------------------------------------ */

Test(runcfg, int_wrong_type) {
    expect_fail(MODELS "top_k: 3.5\n", "t.yaml:3:1: top_k: expected an integer 0..64, got '3.5'", NULL);
    expect_fail(MODELS "top_k: 3x\n", "top_k: expected an integer", NULL);
    expect_fail(MODELS "top_k: five\n", "top_k: expected an integer", NULL);
    expect_fail(MODELS "top_k: ''\n", "top_k: expected an integer", NULL);
    expect_fail(MODELS "batch_tokens: 0x10\n", "batch_tokens: expected an integer", NULL);
    expect_fail(MODELS "seed: -1\n", "seed: expected an integer", NULL);
    expect_fail(MODELS "seed: 18446744073709551616\n", "seed: expected an integer", NULL);
}

Test(runcfg, int_ranges) {
    expect_fail(MODELS "top_k: 65\n", "top_k: expected an integer 0..64, got '65'", NULL);
    expect_fail(MODELS "top_k: -1\n", "top_k", NULL);
    expect_fail(MODELS "batch_tokens: 0\n", "batch_tokens: expected an integer 1..", NULL);
    expect_fail(MODELS "max_tokens: 0\n", "max_tokens", NULL);
    expect_fail(MODELS "tp: 0\n", "t.yaml:3:1: tp: expected an integer 1..", NULL);
    expect_fail(MODELS "bootstrap: -5\n", "bootstrap", NULL);
    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS "top_k: 64\nbatch_tokens: 1\n"), LS_OK, "%s", err.msg);
    cr_expect_eq(c.top_k, 64);
    cr_expect_eq(c.batch_tokens, 1);
    ls_runcfg_free(&c);
}

Test(runcfg, bad_enum_value) {
    expect_fail(MODELS "device: gpu\n", "t.yaml:3:9: device: 'gpu' is not one of auto, cpu, cuda", NULL);
    expect_fail(MODELS "on_bad_record: ignore\n", "t.yaml:3:16: on_bad_record", "fail, skip");
    expect_fail(MODELS "on_long_record: 1\n", "on_long_record", "skip, truncate, window");
    expect_fail(MODELS "device: [cpu]\n", "t.yaml:3:9: device must be a single value", NULL);
}

Test(runcfg, template_without_answer) {
    expect_fail(MODELS "template: \"Q: {query}\"\n", "t.yaml:3:1: template: the template has no {answer}",
                NULL);
}

Test(runcfg, template_text_after_answer) {
    expect_fail(MODELS "template: \"Q: {query} A: {answer}\\n\\nEnd\"\n", "template has text after {answer}",
                "tokenised");
}

Test(runcfg, template_twice) {
    expect_fail(MODELS "template: \"{query}{query}{answer}\"\n", "{query} 2 times", NULL);
    expect_fail(MODELS "template: \"{answer}{answer}\"\n", "{answer} 2 times", NULL);
    expect_fail(MODELS "template: \"{qeury} {answer}\"\n", "unknown placeholder '{qeury}'", NULL);
}

Test(runcfg, targets) {
    expect_fail(MODELS "targets: []\n", "t.yaml:3:1: targets: the list of target words is empty", NULL);
    expect_fail(MODELS "targets: [wait, hmm, wait]\n",
                "t.yaml:3:22: targets[2]: target word 'wait' is listed twice", NULL);
    expect_fail(MODELS "targets:\n  - wait\n  - 'so what'\n", "t.yaml:5:5: targets[1]", "without spaces");
    expect_fail(MODELS "targets: [[a]]\n", "targets[0] must be a single value", NULL);
}

Test(runcfg, surface_forms) {
    expect_fail(MODELS "surface_forms:\n  case: [lower, title]\n", "t.yaml:4:17: surface_forms.case[1]",
                "'title' is not one of lower, capitalized, upper");
    expect_fail(MODELS "surface_forms:\n  case: [lower, lower]\n", "listed twice", NULL);
    expect_fail(MODELS "surface_forms:\n  case: []\n", "surface_forms.case: empty list", NULL);
    expect_fail(MODELS "surface_forms:\n  leading_space: [maybe]\n",
                "t.yaml:4:19: surface_forms.leading_space[0]", "expected true or false");
    expect_fail(MODELS "surface_forms:\n  leading_space: [yes]\n", "expected true or false", NULL);
    expect_fail(MODELS "surface_forms: all\n", "surface_forms must be a mapping", NULL);

    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS "surface_forms:\n  case: [capitalized]\n"), LS_OK, "%s", err.msg);
    cr_assert_eq(c.n_forms, 2); /* leading_space defaults to both */
    cr_expect_eq(c.forms[0].letter_case, LS_CASE_CAPITALIZED);
    cr_expect(c.forms[0].leading_space);
    cr_expect_not(c.forms[1].leading_space);
    ls_runcfg_free(&c);
    cr_assert_eq(parse(&c, MODELS "surface_forms:\n  leading_space: [false]\n"), LS_OK, "%s", err.msg);
    cr_assert_eq(c.n_forms, 3);
    for (size_t i = 0; i < 3; i++)
        cr_expect_not(c.forms[i].leading_space);
    ls_runcfg_free(&c);
}

Test(runcfg, empty_paths) {
    expect_fail(MODELS "data: ''\n", "t.yaml:3:1: data: empty path", NULL);
    expect_fail("models:\n  - {name: a, path: ''}\n", "models[0].path: empty path", NULL);
}

/* ---- overrides ---------------------------------------------------------------- */

static void load_three(LsRunConfig *c) {
    cr_assert_eq(parse(c, "data: d.jsonl\noutput: o.h5\nmodels:\n  - {name: a, path: pa}\n"
                          "  - {name: b, path: pb}\n  - {name: c, path: pc}\n"),
                 LS_OK, "%s", err.msg);
}

Test(runcfg, override_values) {
    LsRunConfig c;
    load_three(&c);
    cr_assert_eq(ls_runcfg_override(&c, "--data", "other.jsonl", &err), LS_OK, "%s", err.msg);
    cr_expect_str_eq(c.data, "other.jsonl"); /* as given: relative to the cwd */
    cr_assert_eq(ls_runcfg_override(&c, "--out", "r.h5", &err), LS_OK, "%s", err.msg);
    cr_expect_str_eq(c.output, "r.h5");
    cr_assert_eq(ls_runcfg_override(&c, "limit", "10", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.limit, 10);
    cr_assert_eq(ls_runcfg_override(&c, "--resume", NULL, &err), LS_OK, "%s", err.msg);
    cr_expect(c.resume);
    cr_assert_eq(ls_runcfg_override(&c, "--quiet", "true", &err), LS_OK, "%s", err.msg);
    cr_expect(c.quiet);
    cr_assert_eq(ls_runcfg_override(&c, "--device", "cuda", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.device, LS_DEVICE_CUDA);
    cr_assert_eq(ls_runcfg_override(&c, "--tp", "4", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.tp, 4);
    cr_assert_eq(ls_runcfg_override(&c, "--top-k", "10", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.top_k, 10);
    cr_assert_eq(ls_runcfg_override(&c, "--top_k", "11", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.top_k, 11);
    cr_assert_eq(ls_runcfg_override(&c, "--batch-tokens", "512", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.batch_tokens, 512);
    cr_assert_eq(ls_runcfg_override(&c, "--max-tokens", "100", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.max_tokens, 100);
    cr_assert_eq(ls_runcfg_override(&c, "--on-bad-record", "skip", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.on_bad_record, LS_BAD_SKIP);
    cr_assert_eq(ls_runcfg_override(&c, "--on-long-record", "truncate", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.on_long_record, LS_LONG_TRUNCATE);
    cr_assert_eq(ls_runcfg_override(&c, "--seed", "42", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.seed, 42);
    cr_assert_eq(ls_runcfg_override(&c, "--bootstrap", "200", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.bootstrap, 200);
    cr_assert_eq(ls_runcfg_override(&c, "--targets", "wait,so", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(c.n_targets, 2);
    cr_expect_str_eq(c.targets[1], "so");
    cr_assert_eq(ls_runcfg_override(&c, "--template", "{query} => {answer}", &err), LS_OK, "%s", err.msg);
    cr_expect_str_eq(c.template_text, "{query} => {answer}");
    ls_runcfg_free(&c);
}

Test(runcfg, override_models_subset) {
    LsRunConfig c;
    load_three(&c);
    cr_assert_eq(ls_runcfg_override(&c, "--models", "c,a", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(c.n_models, 2);
    cr_expect_str_eq(c.models[0].name, "c");
    cr_expect_str_eq(c.models[0].path, "base/pc");
    cr_expect_str_eq(c.models[1].name, "a");
    /* the unknown name is an error and leaves the selection as it was */
    cr_assert_eq(ls_runcfg_override(&c, "--models", "a,zz", &err), LS_ERR);
    cr_expect(strstr(err.msg, "no model named 'zz'") && strstr(err.msg, "known: c, a"), "%s", err.msg);
    cr_expect_eq(c.n_models, 2);
    cr_assert_eq(ls_runcfg_override(&c, "--models", "a,a", &err), LS_ERR);
    cr_expect(strstr(err.msg, "named twice"), "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--models", "", &err), LS_ERR);
    ls_runcfg_free(&c);
}

Test(runcfg, override_errors) {
    LsRunConfig c;
    load_three(&c);
    cr_expect_eq(ls_runcfg_override(&c, "--top-k", "99", &err), LS_ERR);
    cr_expect(strstr(err.msg, "--top-k: expected an integer 0..64, got '99'"), "%s", err.msg);
    cr_expect_eq(c.top_k, 5);
    cr_expect_eq(ls_runcfg_override(&c, "--tp", "two", &err), LS_ERR);
    cr_expect_eq(ls_runcfg_override(&c, "--device", "gpu", &err), LS_ERR);
    cr_expect(strstr(err.msg, "'gpu' is not one of auto, cpu, cuda"), "%s", err.msg);
    cr_expect_eq(ls_runcfg_override(&c, "--on-bad-record", "ignore", &err), LS_ERR);
    cr_expect_eq(ls_runcfg_override(&c, "--frobnicate", "1", &err), LS_ERR);
    cr_expect(strstr(err.msg, "unknown option '--frobnicate'"), "%s", err.msg);
    cr_expect_eq(ls_runcfg_override(&c, "--data", NULL, &err), LS_ERR);
    cr_expect(strstr(err.msg, "--data needs a value"), "%s", err.msg);
    cr_expect_eq(ls_runcfg_override(&c, "--resume", "perhaps", &err), LS_ERR);
    cr_expect_eq(ls_runcfg_override(&c, "--template", "{query}", &err), LS_ERR);
    cr_expect(strstr(err.msg, "--template: the template has no {answer}"), "%s", err.msg);
    cr_expect_eq(ls_runcfg_override(&c, "--targets", "wait,,so", &err), LS_ERR);
    cr_expect_eq(ls_runcfg_override(&c, "--limit", "-1", &err), LS_ERR);
    ls_runcfg_free(&c);
}

Test(runcfg, option_table) {
    size_t n;
    const LsRunCfgKey *k = ls_runcfg_keys(&n);
    cr_assert_gt(n, 10);
    for (size_t i = 0; i < n; i++) {
        if (k[i].flag) cr_expect_geq(ls_runcfg_option_is_flag(k[i].flag), 0, "%s", k[i].flag);
        cr_expect(k[i].help && *k[i].help, "key %s has no help", k[i].key ? k[i].key : k[i].flag);
    }
    cr_expect_eq(ls_runcfg_option_is_flag("--resume"), 1);
    cr_expect_eq(ls_runcfg_option_is_flag("--top-k"), 0);
    cr_expect_eq(ls_runcfg_option_is_flag("--output"), 0);
    cr_expect_eq(ls_runcfg_option_is_flag("--nope"), -1);
    cr_expect_eq(ls_runcfg_option_is_flag("--surface-forms"), -1); /* YAML only */
    cr_expect_str_eq(ls_device_name(LS_DEVICE_CUDA), "cuda");
    cr_expect_str_eq(ls_case_name(LS_CASE_CAPITALIZED), "capitalized");
}

/* Every default of the table is what a config without the key gives, and
 * every identity key is in the effective config and changes it. */
Test(runcfg, table_defaults_and_identity) {
    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS), LS_OK, "%s", err.msg);
    char *eff = ls_runcfg_effective_json(&c);
    size_t n;
    const LsRunCfgKey *k = ls_runcfg_keys(&n);
    for (size_t i = 0; i < n; i++) {
        const char *name = k[i].key ? k[i].key : k[i].flag;
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", name);
        if (k[i].identity)
            cr_expect(strstr(eff, quoted), "identity key %s missing from %s", name, eff);
        else
            cr_expect_not(strstr(eff, quoted), "non-identity key %s in %s", name, eff);
    }
    cr_expect(strstr(eff, "\"precision\": \"fp32\""), "%s", eff);
    cr_assert_eq(ls_runcfg_override(&c, "--precision", "bf16", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(c.precision, LS_PREC_BF16);
    char *eff2 = ls_runcfg_effective_json(&c);
    cr_expect_str_neq(eff, eff2);
    /* output, quiet, resume are not part of the identity */
    cr_assert_eq(ls_runcfg_override(&c, "--precision", "fp32", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--out", "elsewhere.h5", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--quiet", NULL, &err), LS_OK, "%s", err.msg);
    char *eff3 = ls_runcfg_effective_json(&c);
    cr_expect_str_eq(eff, eff3);
    free(eff);
    free(eff2);
    free(eff3);
    ls_runcfg_free(&c);
}

Test(runcfg, precision_key) {
    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS "precision: bf16\n"), LS_OK, "%s", err.msg);
    cr_expect_eq(c.precision, LS_PREC_BF16);
    ls_runcfg_free(&c);
    expect_fail(MODELS "precision: fp16\n", "t.yaml:3:12: precision: 'fp16' is not one of fp32, bf16", NULL);
    load_three(&c);
    cr_expect_eq(ls_runcfg_override(&c, "--precision", "half", &err), LS_ERR);
    cr_expect(strstr(err.msg, "--precision: 'half' is not one of fp32, bf16"), "%s", err.msg);
    ls_runcfg_free(&c);
}

/* lens: on by default, part of the resume identity; lens: false in YAML,
 * --no-lens / --lens on the command line (--no-KEY only for flag keys). */
Test(runcfg, lens_key_and_no_flags) {
    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS), LS_OK, "%s", err.msg);
    cr_expect(c.lens);
    char *on = ls_runcfg_effective_json(&c);
    cr_expect(strstr(on, "\"lens\": true"), "%s", on);
    cr_expect_eq(ls_runcfg_option_is_flag("--no-lens"), 1);
    cr_expect_eq(ls_runcfg_option_is_flag("--lens"), 1);
    cr_expect_eq(ls_runcfg_option_is_flag("--no-top-k"), -1);
    cr_expect_eq(ls_runcfg_override(&c, "--no-top-k", "3", &err), LS_ERR);
    cr_expect(strstr(err.msg, "unknown option '--no-top-k'"), "%s", err.msg);
    cr_expect_eq(ls_runcfg_override(&c, "--no-lens", "true", &err), LS_ERR);
    cr_expect(strstr(err.msg, "--no-lens takes no value"), "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--no-lens", NULL, &err), LS_OK, "%s", err.msg);
    cr_expect_not(c.lens);
    char *off = ls_runcfg_effective_json(&c);
    cr_expect(strstr(off, "\"lens\": false"), "%s", off);
    cr_assert_eq(ls_runcfg_override(&c, "--lens", NULL, &err), LS_OK, "%s", err.msg);
    cr_expect(c.lens);
    ls_runcfg_free(&c);
    cr_assert_eq(parse(&c, MODELS "lens: false\n"), LS_OK, "%s", err.msg);
    cr_expect_not(c.lens);
    ls_runcfg_free(&c);
    expect_fail(MODELS "lens: maybe\n", "expected true or false", NULL);
    free(on);
    free(off);
}

/* pairs: two-name lists or none, names checked against the models (file and
 * line), the flag's a:b list, and the effective config. */
Test(runcfg, pairs_key) {
    LsRunConfig c;
    cr_assert_eq(parse(&c, MODELS), LS_OK, "%s", err.msg);
    cr_expect_not(c.pairs_set); /* default: consecutive models */
    char *eff = ls_runcfg_effective_json(&c);
    cr_expect(strstr(eff, "\"pairs\": \"consecutive\""), "%s", eff);
    free(eff);
    ls_runcfg_free(&c);
#define THREE "models:\n  - {name: a, path: pa}\n  - {name: b, path: pb}\n  - {name: c, path: pc}\n"
    cr_assert_eq(parse(&c, "pairs: [[c, a], [a, b]]\n" THREE), LS_OK, "%s", err.msg);
    cr_assert(c.pairs_set && c.n_pairs == 2);
    cr_expect_str_eq(c.pairs[0].a, "c");
    cr_expect_str_eq(c.pairs[0].b, "a");
    cr_expect_eq(c.pairs[1].line, 1);
    eff = ls_runcfg_effective_json(&c);
    cr_expect(strstr(eff, "\"c\",") && strstr(eff, "\"pairs\": ["), "%s", eff);
    /* the flag replaces them; none empties them */
    cr_assert_eq(ls_runcfg_override(&c, "--pairs", "b:c", &err), LS_OK, "%s", err.msg);
    cr_assert(c.n_pairs == 1 && !strcmp(c.pairs[0].a, "b") && c.pairs[0].line == 0);
    char *eff2 = ls_runcfg_effective_json(&c);
    cr_expect_str_neq(eff, eff2);
    free(eff);
    free(eff2);
    cr_assert_eq(ls_runcfg_override(&c, "--pairs", "none", &err), LS_OK, "%s", err.msg);
    cr_expect(c.pairs_set && c.n_pairs == 0);
    cr_expect_eq(ls_runcfg_override(&c, "--pairs", "a:b,a", &err), LS_ERR);
    cr_expect(strstr(err.msg, "--pairs: 'a' is not a pair model_a:model_b"), "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--pairs", "a:x", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--data", "d", &err), LS_OK, "%s", err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--out", "o", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(ls_runcfg_validate(&c, &err), LS_ERR);
    cr_expect(strstr(err.msg, "--pairs: no model named 'x' among the models run (a, b, c)"), "%s", err.msg);
    ls_runcfg_free(&c);
    /* a subset of the models that leaves a configured pair's model out */
    cr_assert_eq(parse(&c, "data: d\noutput: o\n" THREE "pairs:\n  - [a, b]\n  - [b, c]\n"), LS_OK, "%s",
                 err.msg);
    cr_assert_eq(ls_runcfg_override(&c, "--models", "a,b", &err), LS_OK, "%s", err.msg);
    cr_expect_eq(ls_runcfg_validate(&c, &err), LS_ERR);
    cr_expect(strstr(err.msg, "t.yaml:9: pairs: no model named 'c' among the models run (a, b)"), "%s",
              err.msg);
    ls_runcfg_free(&c);
    cr_assert_eq(parse(&c, THREE "pairs: none\n"), LS_OK, "%s", err.msg);
    cr_expect(c.pairs_set && c.n_pairs == 0);
    ls_runcfg_free(&c);
    cr_assert_eq(parse(&c, THREE "pairs: []\n"), LS_OK, "%s", err.msg);
    cr_expect(c.pairs_set && c.n_pairs == 0);
    ls_runcfg_free(&c);
    expect_fail(THREE "pairs:\n  - [a, b]\n  - [a, nope]\n",
                "t.yaml:7: pairs: no model named 'nope' among the models run (a, b, c)", NULL);
    expect_fail(THREE "pairs: [[a, b, c]]\n", "t.yaml:5:9: pairs[0]: a pair is two model names", NULL);
    expect_fail(THREE "pairs: [[a, a]]\n", "pair 1 compares model 'a' with itself", NULL);
    expect_fail(THREE "pairs: [[a, b], [a, b]]\n", "pair 2: a, b is listed twice", NULL);
    expect_fail(THREE "pairs: all\n", "t.yaml:5:8: pairs: must be none or a list", NULL);
    expect_fail(THREE "pairs: [a, b]\n", "pairs[0] must be a list, not a single value", NULL);
#undef THREE
}
