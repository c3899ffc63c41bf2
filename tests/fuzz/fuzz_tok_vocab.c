/* fuzz_tok_vocab.c — ls_tokenizer_from_vocab on arbitrary vocabularies. The input is read as
 *   byte 0: bit 0 model (gpt2 / llama), bit 1 Gemma architecture, bits 2-4 pre-tokenizer, bit 5
 *           add_bos, bit 6 scores, bit 7 merges;
 *   then lines: tokens, a line "--", merges ("a b"). A token's first byte gives its type (% 8) and
 *   its length its score; BOS is token 0.
 * Any input must build a tokenizer or fail with a message, never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls/tokenizer.h"

static const char *PRES[8] = {"qwen2", "smollm",           "llama-bpe", "default",
                              "gpt2",  "deepseek-r1-qwen", "bogus",     NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1u << 16)) return 0;
    uint8_t flags = data[0];
    const char *s = (const char *)data + 1, *end = (const char *)data + size;
    size_t cap = 64, nt = 0, nm = 0;
    LsTokText *toks = malloc(cap * sizeof *toks), *merges = malloc(cap * sizeof *merges);
    int in_merges = 0;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = (size_t)((nl ? nl : end) - s);
        if (len == 2 && !memcmp(s, "--", 2)) {
            in_merges = 1;
        } else {
            LsTokText **arr = in_merges ? &merges : &toks;
            size_t *n = in_merges ? &nm : &nt;
            if (*n == cap) {
                cap *= 2;
                toks = realloc(toks, cap * sizeof *toks);
                merges = realloc(merges, cap * sizeof *merges);
            }
            (*arr)[(*n)++] = (LsTokText){s, len};
        }
        s += len + (nl != NULL);
    }
    float *scores = malloc((nt ? nt : 1) * sizeof *scores);
    int64_t *types = malloc((nt ? nt : 1) * sizeof *types);
    for (size_t i = 0; i < nt; i++) {
        scores[i] = -(float)toks[i].len;
        types[i] = toks[i].len ? (uint8_t)toks[i].s[0] % 8 : 1;
    }
    LsVocab v = {.model = flags & 1 ? "llama" : "gpt2",
                 .pre = PRES[(flags >> 2) & 7],
                 .arch = flags & 2 ? "gemma3" : "llama",
                 .tokens = toks,
                 .n_tokens = nt,
                 .scores = flags & 64 ? scores : NULL,
                 .n_scores = nt,
                 .types = types,
                 .n_types = nt,
                 .merges = flags & 128 ? merges : NULL,
                 .n_merges = flags & 128 ? nm : 0,
                 .bos_id = nt ? 0 : -1,
                 .eos_id = -1,
                 .unk_id = -1,
                 .pad_id = -1,
                 .add_bos = (flags >> 5) & 1,
                 .add_eos = -1,
                 .add_space_prefix = -1};
    LsTokenizer *t = NULL;
    LsError e;
    if (ls_tokenizer_from_vocab(&t, &v, "fuzz.gguf", &e) == LS_OK) {
        static const char *texts[] = {"", "ab  c", " 12\n\n3 ", "\xc3\xa9\xe6\x97\xa5"};
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            int32_t *ids;
            size_t n;
            if (ls_tokenizer_encode(t, texts[i], strlen(texts[i]), 1, &ids, &n, &e) == LS_OK) {
                char *out;
                size_t ol;
                ls_tokenizer_decode(t, ids, n, &out, &ol);
                free(out);
                free(ids);
            }
        }
        ls_tokenizer_free(t);
    } else if (!e.msg[0]) {
        abort();
    }
    free(toks);
    free(merges);
    free(scores);
    free(types);
    return 0;
}
