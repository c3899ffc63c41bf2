/* fuzz_tokenizer_gguf.c — a tokenizer from the tokenizer.ggml.* metadata of an arbitrary GGUF buffer:
 * any input must build a tokenizer or fail with a message, never crash or leak. Corpus: the tiny
 * tokenizer-only GGUF files of tests/data/tokenizer/gguf-tiny (valid and malformed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls/gguf.h"
#include "ls/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    LsGguf *g = NULL;
    LsError e;
    if (ls_gguf_parse(&g, data, size, "fuzz.gguf", &e) != LS_OK) return 0;
    LsTokenizer *t = NULL;
    if (ls_tokenizer_from_gguf(&t, g, &e) != LS_OK) {
        if (!e.msg[0]) abort(); /* an error must say something */
        ls_gguf_close(g);
        return 0;
    }
    static const char *texts[] = {"", "Hello  world", "  12 ab\n\n3",
                                  "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80",
                                  "<|im_start|>a<start_of_turn>"};
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
    ls_gguf_close(g);
    return 0;
}
