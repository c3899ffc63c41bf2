/* tok_gguf.c — a GGUF file's tokenizer.ggml.* metadata → ls_tokenizer_from_vocab, and the loader
 * entry that takes a model folder or a .gguf file. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ls/gguf.h"
#include "tok_internal.h"

/* The metadata read from the file, owned (string views point into the mapping). */
typedef struct {
    LsVocab v;
    LsTokText *tokens, *merges;
    float *scores;
    int64_t *types;
    char model[32], pre[64], arch[64];
} GgufVocab;

static void gguf_vocab_free(GgufVocab *g) {
    free(g->tokens);
    free(g->merges);
    free(g->scores);
    free(g->types);
}

/* A string value into buf (NUL-terminated); absent → def. 1 = present, 0 = absent, LS_ERR. */
static int get_name(const LsGguf *f, const char *key, char *buf, size_t cap, const char *def, LsError *e) {
    LsGgufStr s;
    int rc = ls_gguf_get_str(f, key, &s, e);
    if (rc < 0) return LS_ERR;
    if (rc == 0) {
        snprintf(buf, cap, "%s", def ? def : "");
        return 0;
    }
    if (s.len >= cap || memchr(s.s, 0, s.len))
        return ls_fail(e, "%s: %s is not a short name (%zu bytes)", ls_gguf_file(f), key, s.len);
    memcpy(buf, s.s, s.len);
    buf[s.len] = 0;
    return 1;
}

static int get_texts(const LsGguf *f, const char *key, LsTokText **out, size_t *n, LsError *e) {
    const LsGgufStr *items;
    int rc = ls_gguf_get_str_array(f, key, &items, n, e);
    if (rc <= 0) {
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = ls_malloc((*n ? *n : 1) * sizeof **out);
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = (LsTokText){items[i].s, items[i].len};
    return 1;
}

static int get_id(const LsGguf *f, const char *key, int64_t *id, LsError *e) {
    *id = -1;
    return ls_gguf_get_int(f, key, id, e) < 0 ? LS_ERR : LS_OK;
}

static int get_flag(const LsGguf *f, const char *key, int *flag, LsError *e) {
    int rc = ls_gguf_get_bool(f, key, flag, e);
    if (rc < 0) return LS_ERR;
    if (rc == 0) *flag = -1;
    return LS_OK;
}

static int read_vocab(const LsGguf *f, GgufVocab *g, LsError *e) {
    LsVocab *v = &g->v;
    int rc = get_name(f, "tokenizer.ggml.model", g->model, sizeof g->model, NULL, e);
    if (rc < 0) return LS_ERR;
    if (rc == 0) return ls_fail(e, "%s: no tokenizer.ggml.model: the file has no tokenizer", ls_gguf_file(f));
    if (get_name(f, "tokenizer.ggml.pre", g->pre, sizeof g->pre, "default", e) < 0 ||
        get_name(f, "general.architecture", g->arch, sizeof g->arch, "", e) < 0)
        return LS_ERR;
    v->model = g->model, v->pre = g->pre, v->arch = g->arch;
    if ((rc = get_texts(f, "tokenizer.ggml.tokens", &g->tokens, &v->n_tokens, e)) < 0) return LS_ERR;
    if (rc == 0) return ls_fail(e, "%s: no tokenizer.ggml.tokens", ls_gguf_file(f));
    v->tokens = g->tokens;
    if (get_texts(f, "tokenizer.ggml.merges", &g->merges, &v->n_merges, e) < 0) return LS_ERR;
    v->merges = g->merges;
    if (ls_gguf_get_float_array(f, "tokenizer.ggml.scores", &g->scores, &v->n_scores, e) < 0 ||
        ls_gguf_get_int_array(f, "tokenizer.ggml.token_type", &g->types, &v->n_types, e) < 0)
        return LS_ERR;
    v->scores = g->scores, v->types = g->types;
    if (get_id(f, "tokenizer.ggml.bos_token_id", &v->bos_id, e) ||
        get_id(f, "tokenizer.ggml.eos_token_id", &v->eos_id, e) ||
        get_id(f, "tokenizer.ggml.unknown_token_id", &v->unk_id, e) ||
        get_id(f, "tokenizer.ggml.padding_token_id", &v->pad_id, e) ||
        get_flag(f, "tokenizer.ggml.add_bos_token", &v->add_bos, e) ||
        get_flag(f, "tokenizer.ggml.add_eos_token", &v->add_eos, e) ||
        get_flag(f, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix, e))
        return LS_ERR;
    return LS_OK;
}

int ls_tokenizer_from_gguf(LsTokenizer **out, const LsGguf *f, LsError *e) {
    *out = NULL;
    GgufVocab g = {0};
    int rc = read_vocab(f, &g, e);
    if (rc == LS_OK) rc = ls_tokenizer_from_vocab(out, &g.v, ls_gguf_file(f), e);
    gguf_vocab_free(&g);
    return rc;
}

int ls_tokenizer_load_gguf(LsTokenizer **out, const char *path, LsError *e) {
    *out = NULL;
    LsGguf *f;
    if (ls_gguf_open(&f, path, e)) return LS_ERR;
    int rc = ls_tokenizer_from_gguf(out, f, e);
    ls_gguf_close(f);
    return rc;
}

/* The one *.gguf file of dir into *path (heap); an error when there are none or several. */
static int find_gguf(const char *dir, char **path, LsError *e) {
    DIR *d = opendir(dir);
    if (!d) return ls_fail(e, "%s: cannot open the folder", dir);
    char *found = NULL;
    int many = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!ls_path_is_gguf(de->d_name)) continue;
        if (found) many = 1;
        free(found);
        found = ls_strdup(de->d_name);
    }
    closedir(d);
    if (!found) return ls_fail(e, "%s/tokenizer.json: no such file, and no .gguf file in the folder", dir);
    if (many) {
        free(found);
        return ls_fail(e, "%s: no tokenizer.json and several .gguf files: name the file", dir);
    }
    *path = ls_path_join(dir, found);
    free(found);
    return LS_OK;
}

int ls_tokenizer_load(LsTokenizer **out, const char *path, LsError *e) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) /* the message names what was looked for */
        return ls_path_is_gguf(path) ? ls_tokenizer_load_gguf(out, path, e)
                                     : ls_tok_load_json_dir(out, path, e);
    if (!S_ISDIR(st.st_mode))
        return ls_path_is_gguf(path) ? ls_tokenizer_load_gguf(out, path, e)
                                     : ls_tokenizer_load_file(out, path, e);
    char *json = ls_path_join(path, "tokenizer.json");
    int has_json = stat(json, &st) == 0;
    free(json);
    if (has_json) return ls_tok_load_json_dir(out, path, e);
    char *gguf = NULL;
    if (find_gguf(path, &gguf, e)) return LS_ERR;
    int rc = ls_tokenizer_load_gguf(out, gguf, e);
    free(gguf);
    return rc;
}
