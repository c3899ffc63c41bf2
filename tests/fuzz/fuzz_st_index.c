/* fuzz_st_index.c — the input is a model.safetensors.index.json text. */
#include <stdlib.h>
#include <string.h>

#include "ls/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LsStIndex ix;
    LsError e;
    if (ls_st_parse_index((const char *)data, size, "model.safetensors.index.json", &ix, &e) != LS_OK)
        return 0;
    /* what the loader relies on: sorted tensors, plain distinct shard names */
    for (size_t i = 1; i < ix.n; i++)
        if (strcmp(ix.tensor[i - 1], ix.tensor[i]) >= 0) abort();
    for (size_t i = 0; i < ix.n_shards; i++)
        if (strchr(ix.shards[i], '/') || !ix.shards[i][0] ||
            (i && strcmp(ix.shards[i - 1], ix.shards[i]) >= 0))
            abort();
    ls_st_index_free(&ix);
    return 0;
}
