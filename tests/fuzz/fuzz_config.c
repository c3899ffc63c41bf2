/* fuzz_config.c — the input is a config.json text. */
#include "ls/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LsModelConfig c;
    LsError e;
    if (ls_config_parse(&c, (const char *)data, size, "config.json", &e) == LS_OK) ls_config_free(&c);
    return 0;
}
