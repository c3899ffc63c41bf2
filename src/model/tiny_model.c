/* tiny_model.c — random-weight Qwen2 checkpoints written from C (the
 * `make-tiny-model` command). Format and PRNG are documented at
 * ls_tiny_model_write in ls/model.h.
 *
 * On disk:
 *   config.json        the keys transformers' Qwen2Config.save_pretrained writes,
 *                      sorted, indented by 2, floats as Python's repr()
 *   model.safetensors  [u64 n][n bytes of JSON header, space-padded to n % 8 == 0][data];
 *                      header {"__metadata__":{"format":"pt"},"<name>":{"dtype","shape",
 *                      "data_offsets":[a,b]},...} with names sorted and spans contiguous
 *                      in that order
 *   tokenizer.json, tokenizer_config.json   copied verbatim with --tokenizer
 *   .logits-study-tiny-model   marker: --force replaces only a folder that holds it
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls/model.h"

/* The weights must be the same bits whatever the compiler flags: no FMA
 * contraction in the PRNG / Box–Muller arithmetic. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define TINY_FORMAT_VERSION "5.23.0" /* transformers version whose config.json keys we write */
#define TINY_MAX_BYTES ((size_t)16 << 30)
#define TINY_TOKENIZER_MAX ((size_t)256 << 20)
#define TINY_MARKER ".logits-study-tiny-model"

/* ---- PRNG: splitmix64 + Box–Muller ---------------------------------------- */

typedef struct {
    uint64_t s;
    int have_spare;
    double spare;
} TinyRng;

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/* u in (0, 1] from the top 53 bits */
static double rng_unit(TinyRng *r) {
    return (double)((splitmix64(&r->s) >> 11) + 1) * 0x1.0p-53;
}

static double rng_normal(TinyRng *r) {
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    double u1 = rng_unit(r), u2 = rng_unit(r);
    double rad = sqrt(-2.0 * log(u1)), ang = 2.0 * M_PI * u2;
    r->spare = rad * sin(ang);
    r->have_spare = 1;
    return rad * cos(ang);
}

/* ---- a growable string ---------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
} TinyBuf;

__attribute__((format(printf, 2, 3))) static void buf_printf(TinyBuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) abort();
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        b->cap = 2 * (b->n + (size_t)k + 1) + 256;
        b->p = ls_realloc(b->p, b->cap);
    }
}

/* Python's repr() of a float: shortest round-trip digits, fixed notation for
 * decimal exponents in [-4, 16), else d.ddde[+-]XX. */
#define PY_FLOAT_CAP 80
static void py_float(char out[PY_FLOAT_CAP], double x) {
    const size_t cap = PY_FLOAT_CAP;
    char s[40];
    int prec = 1;
    for (; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*e", prec - 1, x);
        if (strtod(s, NULL) == x) break;
    }
    const char *p = s;
    int neg = *p == '-';
    if (neg) p++;
    char dig[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') dig[nd++] = *p;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = '\0';
    int ex = atoi(p + 1);
    if (ex < -4 || ex >= 16) {
        snprintf(out, cap, "%s%c%s%s%se%c%02d", neg ? "-" : "", dig[0], nd > 1 ? "." : "",
                 nd > 1 ? dig + 1 : "", "", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    } else if (ex < 0) {
        snprintf(out, cap, "%s0.%.*s%s", neg ? "-" : "", -ex - 1, "0000", dig);
    } else if (nd <= ex + 1) {
        snprintf(out, cap, "%s%s%.*s.0", neg ? "-" : "", dig, ex + 1 - nd, "0000000000000000");
    } else {
        snprintf(out, cap, "%s%.*s.%s", neg ? "-" : "", ex + 1, dig, dig + ex + 1);
    }
}

/* ---- spec ------------------------------------------------------------------ */

void ls_tiny_spec_default(LsTinySpec *s) {
    memset(s, 0, sizeof *s);
    s->layers = 2;
    s->hidden = 64;
    s->heads = 4;
    s->kv_heads = 2;
    s->intermediate = 128;
    s->max_pos = 32768;
    s->rope_theta = 1e6;
    s->rms_norm_eps = 1e-6;
    s->dtype = LS_DT_BF16;
}

/* Largest token id in tokenizer.json (model.vocab values and added_tokens ids). */
static int tokenizer_max_id(const char *dir, long long *max_id, LsError *e) {
    char *path = ls_path_join(dir, "tokenizer.json"), *text = NULL;
    size_t len;
    int rc = LS_ERR;
    json_t *root = NULL;
    if (ls_read_file(path, TINY_TOKENIZER_MAX, &text, &len, e) != LS_OK) goto done;
    json_error_t je;
    root = json_loadb(text, len, 0, &je);
    if (!root) {
        ls_fail(e, "%s: line %d, column %d: invalid JSON: %s", path, je.line, je.column, je.text);
        goto done;
    }
    json_t *vocab = json_object_get(json_object_get(root, "model"), "vocab");
    if (!json_is_object(vocab)) {
        ls_fail(e, "%s: key 'model.vocab': expected an object of token -> id", path);
        goto done;
    }
    long long mx = -1;
    const char *k;
    json_t *v;
    json_object_foreach(vocab, k, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            ls_fail(e, "%s: key 'model.vocab.%.60s': expected a non-negative integer id", path, k);
            goto done;
        }
        if (json_integer_value(v) > mx) mx = json_integer_value(v);
    }
    json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_null(added)) {
        if (!json_is_array(added)) {
            ls_fail(e, "%s: key 'added_tokens': expected a list", path);
            goto done;
        }
        for (size_t i = 0; i < json_array_size(added); i++) {
            json_t *id = json_object_get(json_array_get(added, i), "id");
            if (!json_is_integer(id) || json_integer_value(id) < 0) {
                ls_fail(e, "%s: key 'added_tokens'[%zu].id: expected a non-negative integer", path, i);
                goto done;
            }
            if (json_integer_value(id) > mx) mx = json_integer_value(id);
        }
    }
    if (mx < 0) {
        ls_fail(e, "%s: the vocabulary is empty", path);
        goto done;
    }
    *max_id = mx;
    rc = LS_OK;
done:
    json_decref(root);
    free(text);
    free(path);
    return rc;
}

static int check_range(const char *opt, long long v, long long lo, long long hi, LsError *e) {
    if (v < lo || v > hi) return ls_fail(e, "%s %lld: expected an integer in [%lld, %lld]", opt, v, lo, hi);
    return LS_OK;
}

/* Element counts of the checkpoint; LS_ERR on overflow. */
static int tiny_total_bytes(const LsTinySpec *s, size_t *bytes) {
    size_t d = (size_t)s->hidden, hd = (size_t)s->head_dim, f = (size_t)s->intermediate, V = (size_t)s->vocab;
    size_t q = (size_t)s->heads * hd, kv = (size_t)s->kv_heads * hd, per = 0, t, n;
    /* q/k/v weights + biases, o, gate/up/down, two norms */
    if (ls_mul_size(q + 2 * kv, d + 1, &t) || ls_add_size(per, t, &per)) return LS_ERR;
    if (ls_mul_size(d, q, &t) || ls_add_size(per, t, &per)) return LS_ERR;
    if (ls_mul_size(3 * f, d, &t) || ls_add_size(per, t, &per) || ls_add_size(per, 2 * d, &per))
        return LS_ERR;
    if (ls_mul_size(per, (size_t)s->layers, &n)) return LS_ERR;
    if (ls_mul_size(V, d, &t) || ls_mul_size(t, s->tie ? 1 : 2, &t) || ls_add_size(n, t, &n) ||
        ls_add_size(n, d, &n))
        return LS_ERR;
    return ls_mul_size(n, ls_dtype_size(s->dtype), bytes);
}

int ls_tiny_spec_check(LsTinySpec *s, LsError *e) {
    if (check_range("--layers", s->layers, 1, 1024, e) || check_range("--hidden", s->hidden, 1, 1 << 20, e) ||
        check_range("--heads", s->heads, 1, 1 << 16, e) ||
        check_range("--kv-heads", s->kv_heads, 1, 1 << 16, e) ||
        check_range("--intermediate", s->intermediate, 1, 1 << 20, e) ||
        check_range("--head-dim", s->head_dim, 0, 1024, e) ||
        check_range("--vocab", s->vocab, 0, 1 << 22, e) ||
        check_range("--max-pos", s->max_pos, 1, 1 << 24, e))
        return LS_ERR;
    if (s->dtype != LS_DT_F32 && s->dtype != LS_DT_F16 && s->dtype != LS_DT_BF16)
        return ls_fail(e, "--dtype: unknown storage type %d", (int)s->dtype);
    if (s->heads % s->kv_heads)
        return ls_fail(
            e, "--kv-heads %d does not divide --heads %d (grouped-query attention needs whole groups)",
            s->kv_heads, s->heads);
    int hd = s->head_dim;
    if (hd == 0) {
        if (s->hidden % s->heads)
            return ls_fail(e, "--heads %d does not divide --hidden %d: pass --head-dim to set the head width",
                           s->heads, s->hidden);
        hd = s->hidden / s->heads;
    }
    if (hd % 2) return ls_fail(e, "head_dim %d is odd: RoPE rotates pairs, it must be even", hd);
    if (hd > 1024) return ls_fail(e, "head_dim %d is larger than 1024", hd);
    if (!(s->rope_theta >= 1.0 && s->rope_theta <= 1e12))
        return ls_fail(e, "--rope-theta %g: expected a number in [1, 1e12]", s->rope_theta);
    if (!(s->rms_norm_eps > 0 && s->rms_norm_eps < 1))
        return ls_fail(e, "--rms-norm-eps %g: expected a number in (0, 1)", s->rms_norm_eps);
    if (s->tokenizer_dir) {
        long long mx;
        if (tokenizer_max_id(s->tokenizer_dir, &mx, e) != LS_OK) return ls_fail_prefix(e, "--tokenizer");
        if (s->vocab == 0) s->vocab = 151936 > mx + 1 ? 151936 : (int)(mx + 1);
        if (s->vocab < mx + 1)
            return ls_fail(
                e,
                "--vocab %d is smaller than the tokenizer's vocabulary (%s/tokenizer.json has ids up "
                "to %lld): pass --vocab %lld or more",
                s->vocab, s->tokenizer_dir, mx, mx + 1);
    } else if (s->vocab == 0) {
        s->vocab = 1024;
    }
    LsTinySpec t = *s;
    t.head_dim = hd;
    size_t bytes;
    if (tiny_total_bytes(&t, &bytes) != LS_OK || bytes > TINY_MAX_BYTES)
        return ls_fail(e,
                       "the checkpoint would be larger than %zu GiB: this command writes small test models",
                       TINY_MAX_BYTES >> 30);
    return LS_OK;
}

/* ---- config.json ------------------------------------------------------------ */

static char *config_text(const LsTinySpec *s) {
    TinyBuf b = {0};
    char eps[PY_FLOAT_CAP], theta[PY_FLOAT_CAP];
    py_float(eps, s->rms_norm_eps);
    py_float(theta, s->rope_theta);
    buf_printf(&b, "{\n  \"architectures\": [\n    \"Qwen2ForCausalLM\"\n  ],\n");
    buf_printf(&b, "  \"attention_dropout\": 0.0,\n  \"bos_token_id\": null,\n  \"dtype\": \"%s\",\n",
               s->dtype == LS_DT_F32   ? "float32"
               : s->dtype == LS_DT_F16 ? "float16"
                                       : "bfloat16");
    buf_printf(&b, "  \"eos_token_id\": null,\n");
    if (s->head_dim) buf_printf(&b, "  \"head_dim\": %d,\n", s->head_dim);
    buf_printf(&b, "  \"hidden_act\": \"silu\",\n  \"hidden_size\": %d,\n  \"initializer_range\": 0.02,\n",
               s->hidden);
    buf_printf(&b, "  \"intermediate_size\": %d,\n  \"layer_types\": [\n", s->intermediate);
    for (int l = 0; l < s->layers; l++)
        buf_printf(&b, "    \"full_attention\"%s\n", l + 1 < s->layers ? "," : "");
    buf_printf(&b, "  ],\n  \"max_position_embeddings\": %d,\n  \"max_window_layers\": 28,\n", s->max_pos);
    buf_printf(&b, "  \"model_type\": \"qwen2\",\n  \"num_attention_heads\": %d,\n", s->heads);
    buf_printf(&b, "  \"num_hidden_layers\": %d,\n  \"num_key_value_heads\": %d,\n", s->layers, s->kv_heads);
    buf_printf(&b, "  \"pad_token_id\": null,\n  \"rms_norm_eps\": %s,\n", eps);
    buf_printf(&b,
               "  \"rope_parameters\": {\n    \"rope_theta\": %s,\n    \"rope_type\": \"default\"\n  },\n",
               theta);
    buf_printf(&b, "  \"sliding_window\": null,\n  \"tie_word_embeddings\": %s,\n",
               s->tie ? "true" : "false");
    buf_printf(&b, "  \"transformers_version\": \"%s\",\n  \"use_cache\": true,\n", TINY_FORMAT_VERSION);
    buf_printf(&b, "  \"use_sliding_window\": false,\n  \"vocab_size\": %d\n}\n", s->vocab);
    return b.p;
}

/* ---- model.safetensors ------------------------------------------------------- */

typedef enum { TK_NORM, TK_BIAS, TK_EMBED, TK_MATRIX } TinyKind;

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    TinyKind kind;
} TinyTensor;

static int tensor_cmp(const void *a, const void *b) {
    return strcmp(((const TinyTensor *)a)->name, ((const TinyTensor *)b)->name);
}

/* The Qwen2ForCausalLM state dict, sorted by name; returns the count. */
static size_t tiny_tensors(const LsTinySpec *s, int hd, TinyTensor **out) {
    size_t cap = (size_t)s->layers * 12 + 3, n = 0;
    TinyTensor *t = ls_calloc(cap, sizeof *t);
    const int64_t d = s->hidden, q = (int64_t)s->heads * hd, kv = (int64_t)s->kv_heads * hd,
                  f = s->intermediate;
#define ADD(kind_, d0, d1, ...)                                                                              \
    do {                                                                                                     \
        TinyTensor *x = &t[n++];                                                                             \
        snprintf(x->name, sizeof x->name, __VA_ARGS__);                                                      \
        x->kind = kind_;                                                                                     \
        x->shape[0] = d0;                                                                                    \
        x->shape[1] = d1;                                                                                    \
        x->ndim = d1 ? 2 : 1;                                                                                \
    } while (0)
    ADD(TK_EMBED, s->vocab, d, "model.embed_tokens.weight");
    ADD(TK_NORM, d, 0, "model.norm.weight");
    if (!s->tie) ADD(TK_EMBED, s->vocab, d, "lm_head.weight");
    for (int l = 0; l < s->layers; l++) {
        ADD(TK_NORM, d, 0, "model.layers.%d.input_layernorm.weight", l);
        ADD(TK_MATRIX, q, d, "model.layers.%d.self_attn.q_proj.weight", l);
        ADD(TK_BIAS, q, 0, "model.layers.%d.self_attn.q_proj.bias", l);
        ADD(TK_MATRIX, kv, d, "model.layers.%d.self_attn.k_proj.weight", l);
        ADD(TK_BIAS, kv, 0, "model.layers.%d.self_attn.k_proj.bias", l);
        ADD(TK_MATRIX, kv, d, "model.layers.%d.self_attn.v_proj.weight", l);
        ADD(TK_BIAS, kv, 0, "model.layers.%d.self_attn.v_proj.bias", l);
        ADD(TK_MATRIX, d, q, "model.layers.%d.self_attn.o_proj.weight", l);
        ADD(TK_NORM, d, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        ADD(TK_MATRIX, f, d, "model.layers.%d.mlp.gate_proj.weight", l);
        ADD(TK_MATRIX, f, d, "model.layers.%d.mlp.up_proj.weight", l);
        ADD(TK_MATRIX, d, f, "model.layers.%d.mlp.down_proj.weight", l);
    }
#undef ADD
    qsort(t, n, sizeof *t, tensor_cmp);
    *out = t;
    return n;
}

static size_t tensor_elems(const TinyTensor *t) {
    return (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
}

static int write_all(FILE *f, const void *p, size_t n, const char *path, LsError *e) {
    if (n && fwrite(p, 1, n, f) != n) return ls_fail(e, "%s: write failed: %s", path, strerror(errno));
    return LS_OK;
}

/* Flushes, fsyncs and closes f (always closes). */
static int close_synced(FILE *f, const char *path, LsError *e) {
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) return ls_fail(e, "%s: write failed: %s", path, strerror(err));
    return LS_OK;
}

static int write_safetensors(const char *path, const LsTinySpec *s, int hd, LsError *e) {
    TinyTensor *t;
    size_t n = tiny_tensors(s, hd, &t), esz = ls_dtype_size(s->dtype), off = 0;
    const char *dt = s->dtype == LS_DT_F32 ? "F32" : s->dtype == LS_DT_F16 ? "F16" : "BF16";
    TinyBuf h = {0};
    buf_printf(&h, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < n; i++) {
        size_t bytes = tensor_elems(&t[i]) * esz;
        buf_printf(&h, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld", t[i].name, dt, (long long)t[i].shape[0]);
        if (t[i].ndim == 2) buf_printf(&h, ",%lld", (long long)t[i].shape[1]);
        buf_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        off += bytes;
    }
    buf_printf(&h, "}");
    while (h.n % 8)
        buf_printf(&h, " ");

    int rc = LS_ERR;
    enum { CHUNK = 1 << 14 };
    float *vals = ls_malloc(CHUNK * sizeof(float));
    unsigned char *raw = ls_malloc(CHUNK * 4);
    FILE *f = fopen(path, "wb");
    if (!f) {
        ls_fail(e, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    if (write_all(f, len8, 8, path, e) || write_all(f, h.p, h.n, path, e)) goto fail;
    for (size_t i = 0; i < n; i++) {
        /* x ~ N(0,1) from this tensor's own stream */
        TinyRng rng = {s->seed ^ fnv1a64(t[i].name), 0, 0};
        const size_t total = tensor_elems(&t[i]);
        const double in_scale = t[i].ndim == 2 ? 1.5 / sqrt((double)t[i].shape[1]) : 0;
        for (size_t a = 0; a < total; a += CHUNK) {
            size_t m = total - a < CHUNK ? total - a : CHUNK;
            for (size_t j = 0; j < m; j++) {
                double z = rng_normal(&rng);
                switch (t[i].kind) {
                case TK_NORM:
                    vals[j] = (float)(1.0 + 0.2 * z);
                    break;
                case TK_BIAS:
                    vals[j] = (float)(0.3 * z);
                    break;
                case TK_EMBED:
                    vals[j] = (float)z;
                    break;
                default:
                    vals[j] = (float)(z * in_scale);
                    break;
                }
            }
            for (size_t j = 0; j < m; j++) {
                if (s->dtype == LS_DT_F32) {
                    uint32_t u;
                    memcpy(&u, &vals[j], 4);
                    for (int k = 0; k < 4; k++)
                        raw[4 * j + (size_t)k] = (unsigned char)(u >> (8 * k));
                } else {
                    uint16_t u = s->dtype == LS_DT_BF16 ? ls_f32_to_bf16(vals[j]) : ls_f32_to_f16(vals[j]);
                    raw[2 * j] = (unsigned char)u;
                    raw[2 * j + 1] = (unsigned char)(u >> 8);
                }
            }
            if (write_all(f, raw, m * esz, path, e)) goto fail;
        }
    }
    rc = close_synced(f, path, e);
    goto done;
fail:
    fclose(f);
done:
    free(vals);
    free(raw);
    free(h.p);
    free(t);
    return rc;
}

/* ---- files and folders ------------------------------------------------------- */

static int write_text(const char *dir, const char *name, const char *text, size_t len, LsError *e) {
    char *path = ls_path_join(dir, name);
    FILE *f = fopen(path, "wb");
    int rc = LS_ERR;
    if (!f)
        ls_fail(e, "%s: cannot create: %s", path, strerror(errno));
    else if (write_all(f, text, len, path, e))
        fclose(f);
    else
        rc = close_synced(f, path, e);
    free(path);
    return rc;
}

/* Copies src_dir/name to dst_dir/name; a missing optional file is skipped. */
static int copy_file(const char *src_dir, const char *dst_dir, const char *name, int optional, LsError *e) {
    char *src = ls_path_join(src_dir, name), *text = NULL;
    size_t len;
    int rc = LS_OK;
    if (optional && access(src, F_OK) != 0) goto done;
    rc = ls_read_file(src, TINY_TOKENIZER_MAX, &text, &len, e);
    if (rc == LS_OK) rc = write_text(dst_dir, name, text, len, e);
done:
    free(text);
    free(src);
    return rc;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_tree(const char *dir) {
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* 1 if dir has no entries other than . and .. */
static int dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int empty = 1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            empty = 0;
            break;
        }
    closedir(d);
    return empty;
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Fills everything into the (empty) folder tmp. */
static int fill_checkpoint(const char *tmp, const LsTinySpec *s, int hd, LsError *e) {
    static const char marker[] = "written by logits-study make-tiny-model (random weights); "
                                 "`make-tiny-model --force` replaces only folders holding this file\n";
    char *cfg = config_text(s);
    int rc = write_text(tmp, "config.json", cfg, strlen(cfg), e);
    free(cfg);
    if (rc || write_text(tmp, TINY_MARKER, marker, sizeof marker - 1, e)) return LS_ERR;
    char *st = ls_path_join(tmp, "model.safetensors");
    rc = write_safetensors(st, s, hd, e);
    free(st);
    if (rc) return rc;
    if (s->tokenizer_dir && (copy_file(s->tokenizer_dir, tmp, "tokenizer.json", 0, e) ||
                             copy_file(s->tokenizer_dir, tmp, "tokenizer_config.json", 1, e)))
        return ls_fail_prefix(e, "--tokenizer");
    /* read it back as every command will */
    LsModel m;
    if (ls_model_open(&m, tmp, e) != LS_OK)
        return ls_fail_prefix(e, "internal error: the written checkpoint");
    ls_model_close(&m);
    return LS_OK;
}

int ls_tiny_model_write(const char *out_dir, const LsTinySpec *spec, LsError *e) {
    LsTinySpec s = *spec;
    if (ls_tiny_spec_check(&s, e) != LS_OK) return LS_ERR;
    int hd = s.head_dim ? s.head_dim : s.hidden / s.heads;
    if (!out_dir || !*out_dir) return ls_fail(e, "--out: empty path");

    /* parent folder and base name (trailing slashes dropped) */
    char *path = ls_strdup(out_dir);
    size_t L = strlen(path);
    while (L > 1 && path[L - 1] == '/')
        path[--L] = '\0';
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *parent =
        slash ? (slash == path ? ls_strdup("/") : strndup(path, (size_t)(slash - path))) : ls_strdup(".");
    char *tmp = NULL, *old = NULL;
    int rc = LS_ERR, replace = 0;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        ls_fail(e, "--out %s: give the checkpoint folder's own name", out_dir);
        goto done;
    }

    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) {
            ls_fail(e, "--out %s: exists and is not a folder", out_dir);
            goto done;
        }
        if (!dir_is_empty(path)) {
            char *marker = ls_path_join(path, TINY_MARKER);
            int ours = access(marker, F_OK) == 0;
            free(marker);
            if (!s.force) {
                ls_fail(e,
                        "--out %s: exists and is not empty (pass --force to replace a checkpoint "
                        "make-tiny-model wrote)",
                        out_dir);
                goto done;
            }
            if (!ours) {
                ls_fail(e,
                        "--out %s: not written by make-tiny-model (no " TINY_MARKER " marker file); "
                        "refusing to replace it, --force or not",
                        out_dir);
                goto done;
            }
            replace = 1;
        }
    } else if (errno != ENOENT) {
        ls_fail(e, "--out %s: cannot write there: %s", out_dir, strerror(errno));
        goto done;
    }

    /* missing parent folders are created, like mkdir -p */
    for (char *q = parent + 1; *q; q++) {
        if (*q != '/') continue;
        *q = '\0';
        if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
            ls_fail(e, "--out %s: cannot create %s: %s", out_dir, parent, strerror(errno));
            *q = '/';
            goto done;
        }
        *q = '/';
    }
    if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
        ls_fail(e, "--out %s: cannot create %s: %s", out_dir, parent, strerror(errno));
        goto done;
    }
    size_t tl = strlen(parent) + strlen(base) + 32;
    tmp = ls_malloc(tl);
    snprintf(tmp, tl, "%s/.%s.tmp-XXXXXX", parent, base);
    if (!mkdtemp(tmp)) {
        ls_fail(e, "--out %s: cannot create a folder in %s: %s", out_dir, parent, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto done;
    }
    mode_t um = umask(0);
    umask(um);
    chmod(tmp, 0777 & ~um);
    if (fill_checkpoint(tmp, &s, hd, e) != LS_OK) goto done;

    if (replace) {
        old = ls_malloc(tl);
        snprintf(old, tl, "%s/.%s.old-XXXXXX", parent, base);
        if (!mkdtemp(old) || rename(path, old) != 0) {
            ls_fail(e, "--out %s: cannot move the old checkpoint aside: %s", out_dir, strerror(errno));
            goto done;
        }
    }
    if (rename(tmp, path) != 0) {
        ls_fail(e, "--out %s: cannot rename %s to it: %s", out_dir, tmp, strerror(errno));
        if (old) rename(old, path); /* put the old one back */
        goto done;
    }
    free(tmp);
    tmp = NULL;
    fsync_dir(parent);
    rc = LS_OK;
done:
    if (tmp) rm_tree(tmp);
    if (old) {
        if (rc == LS_OK)
            rm_tree(old);
        else
            rmdir(old);
    }
    free(tmp);
    free(old);
    free(parent);
    free(path);
    return rc;
}
