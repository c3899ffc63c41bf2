/* fuzz_encode.c — encode arbitrary bytes with the committed Qwen3 tokenizer (loaded once from
 * $LS_TEST_DIR/data/qwen3-tokenizer, else the LS_TEST_DIR the build was configured with).
 * Invalid UTF-8 must be an error; valid text must encode to known ids whose byte spans add up to
 * the decoded length, and ASCII text must decode back to itself exactly. The first byte selects
 * add_special. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/tokenizer.h"

#ifndef LS_TEST_DIR
#define LS_TEST_DIR "tests"
#endif

static LsTokenizer *tok;

static void load_once(void) {
    if (tok) return;
    const char *dir = getenv("LS_TEST_DIR");
    char *path = ls_path_join(dir && *dir ? dir : LS_TEST_DIR, "data/qwen3-tokenizer");
    LsError e;
    if (ls_tokenizer_load(&tok, path, &e) != LS_OK) {
        fprintf(stderr, "fuzz_encode: %s\n", e.msg);
        abort();
    }
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_once();
    if (size == 0) return 0;
    int add_special = data[0] & 1;
    const char *s = (const char *)data + 1;
    size_t n = size - 1, bad;
    int32_t *ids;
    size_t nids;
    LsError e;
    int valid = ls_utf8_valid((const unsigned char *)s, n, &bad);
    int rc = ls_tokenizer_encode(tok, s, n, add_special, &ids, &nids, &e);
    if (!valid) {
        if (rc != LS_ERR) abort();
        return 0;
    }
    if (rc != LS_OK) abort();
    size_t vs = ls_tokenizer_vocab_size(tok), sum = 0, l;
    for (size_t i = 0; i < nids; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= vs || !ls_tokenizer_token_bytes(tok, ids[i], &l)) abort();
        sum += l;
    }
    char *out;
    size_t ol;
    ls_tokenizer_decode(tok, ids, nids, &out, &ol);
    if (sum != ol) abort(); /* the decoded text of valid input is valid UTF-8: no replacement */
    int ascii = 1;
    for (size_t i = 0; i < n; i++)
        ascii &= (unsigned char)s[i] < 0x80;
    if (ascii && (ol != n || memcmp(out, s, n))) abort();
    free(out);
    free(ids);
    return 0;
}
