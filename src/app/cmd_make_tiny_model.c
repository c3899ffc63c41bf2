/* cmd_make_tiny_model.c — `logits-study make-tiny-model`: writes a random-weight
 * Qwen2 checkpoint (src/model/tiny_model.c) for tests, demos and benchmarks. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ls/model.h"

static const char *USAGE =
    "usage: logits-study make-tiny-model --out DIR --seed S [--layers N] [--hidden D] [--heads H]\n"
    "                                    [--kv-heads K] [--intermediate F] [--vocab V] [--head-dim HD]\n"
    "                                    [--tie | --no-tie] [--dtype f32|bf16|f16] [--rope-theta X]\n"
    "                                    [--rms-norm-eps X] [--max-pos N] [--tokenizer DIR] [--force]\n"
    "\n"
    "Writes a Hugging Face Qwen2 checkpoint with random weights to DIR: config.json (the keys\n"
    "transformers' Qwen2Config writes) and model.safetensors, the same bytes for the same seed\n"
    "and options. Weights are N(0,1) draws (splitmix64 + Box-Muller) scaled so the model's\n"
    "predictions are far from uniform. With --tokenizer DIR, tokenizer.json and\n"
    "tokenizer_config.json are copied from DIR and the vocabulary defaults to 151936 (it must\n"
    "cover the tokenizer's largest id). DIR is written atomically (a temporary folder renamed\n"
    "into place) with a marker file, .logits-study-tiny-model; an existing non-empty DIR is\n"
    "replaced only with --force, and only if it holds that marker (make-tiny-model wrote it).\n"
    "Defaults: --layers 2 --hidden 64 --heads 4 --kv-heads 2 --intermediate 128 --dtype bf16\n"
    "--no-tie --rope-theta 1e6 --rms-norm-eps 1e-6 --max-pos 32768; --vocab 1024 without a\n"
    "tokenizer; --head-dim = hidden / heads.\n";

#define ERR_PREFIX "logits-study make-tiny-model: "

static int parse_int(const char *opt, const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, ERR_PREFIX "%s '%s': expected an integer in [%ld, %ld]\n", opt, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) {
        fprintf(stderr, ERR_PREFIX "%s '%s': expected a finite number\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int ls_cmd_make_tiny_model(int argc, char **argv) {
    LsTinySpec s;
    ls_tiny_spec_default(&s);
    const char *out = NULL;
    int have_seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--tie")) {
            s.tie = 1;
            continue;
        } else if (!strcmp(a, "--no-tie")) {
            s.tie = 0;
            continue;
        } else if (!strcmp(a, "--force")) {
            s.force = 1;
            continue;
        } else if (!v) {
            fprintf(stderr, ERR_PREFIX "unknown or incomplete option '%s'\n%s", a, USAGE);
            return 2;
        }
        i++;
        if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--tokenizer")) {
            s.tokenizer_dir = v;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long x = strtoull(v, &end, 0);
            if (end == v || *end || errno || v[0] == '-') {
                fprintf(stderr, ERR_PREFIX "--seed '%s': expected a non-negative 64-bit integer\n", v);
                return 2;
            }
            s.seed = (uint64_t)x;
            have_seed = 1;
        } else if (!strcmp(a, "--layers")) {
            bad = parse_int(a, v, 1, 1024, &s.layers);
        } else if (!strcmp(a, "--hidden")) {
            bad = parse_int(a, v, 1, 1 << 20, &s.hidden);
        } else if (!strcmp(a, "--heads")) {
            bad = parse_int(a, v, 1, 1 << 16, &s.heads);
        } else if (!strcmp(a, "--kv-heads")) {
            bad = parse_int(a, v, 1, 1 << 16, &s.kv_heads);
        } else if (!strcmp(a, "--intermediate")) {
            bad = parse_int(a, v, 1, 1 << 20, &s.intermediate);
        } else if (!strcmp(a, "--vocab")) {
            bad = parse_int(a, v, 1, 1 << 22, &s.vocab);
        } else if (!strcmp(a, "--head-dim")) {
            bad = parse_int(a, v, 1, 1024, &s.head_dim);
        } else if (!strcmp(a, "--max-pos")) {
            bad = parse_int(a, v, 1, 1 << 24, &s.max_pos);
        } else if (!strcmp(a, "--rope-theta")) {
            bad = parse_double(a, v, &s.rope_theta);
        } else if (!strcmp(a, "--rms-norm-eps")) {
            bad = parse_double(a, v, &s.rms_norm_eps);
        } else if (!strcmp(a, "--dtype")) {
            if (!strcmp(v, "f32") || !strcmp(v, "float32"))
                s.dtype = LS_DT_F32;
            else if (!strcmp(v, "bf16") || !strcmp(v, "bfloat16"))
                s.dtype = LS_DT_BF16;
            else if (!strcmp(v, "f16") || !strcmp(v, "float16"))
                s.dtype = LS_DT_F16;
            else {
                fprintf(stderr, ERR_PREFIX "--dtype '%s': expected f32, bf16 or f16\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, ERR_PREFIX "unknown option '%s'\n%s", a, USAGE);
            return 2;
        }
        if (bad) return 2;
    }
    if (!out || !have_seed) {
        fprintf(stderr, ERR_PREFIX "--out and --seed are required\n%s", USAGE);
        return 2;
    }
    LsError e = {{0}};
    if (ls_tiny_spec_check(&s, &e) != LS_OK) {
        fprintf(stderr, ERR_PREFIX "%s\n", e.msg);
        return 2;
    }
    double t0 = ls_now();
    if (ls_tiny_model_write(out, &s, &e) != LS_OK) {
        fprintf(stderr, ERR_PREFIX "%s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "wrote %s: %d layers, hidden %d, %d/%d heads, vocab %d, %s, %s, seed %llu (%.2f s)\n",
            out, s.layers, s.hidden, s.heads, s.kv_heads, s.vocab, ls_dtype_name(s.dtype),
            s.tie ? "tied" : "untied", (unsigned long long)s.seed, ls_now() - t0);
    return 0;
}
