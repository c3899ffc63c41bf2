/* fuzz_tokenizer_json.c — the tokenizer.json loader on arbitrary bytes: any input must load or
 * fail with a message, never crash or leak. Inputs are kept small by the fuzz driver (-max_len). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    LsTokenizer *t = NULL;
    LsError e;
    if (ls_tokenizer_load_bytes(&t, (const char *)data, size, "fuzz/tokenizer.json", &e) != LS_OK) {
        if (!e.msg[0]) abort(); /* an error must say something */
        return 0;
    }
    /* a tokenizer that loads must encode and decode a few strings */
    static const char *texts[] = {"", "Hello world", "  12 ab\n", "caf\xc3\xa9 \xe6\x97\xa5", "<|x|>a"};
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
    return 0;
}
