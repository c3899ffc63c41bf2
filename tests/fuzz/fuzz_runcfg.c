/* fuzz_runcfg.c — the YAML run config parser on hostile bytes: must return
 * LS_OK or LS_ERR with a message, never crash or leak. Overrides are applied
 * to configs that load. */
#include <stdint.h>
#include <string.h>

#include "ls/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LsRunConfig cfg;
    LsError e;
    if (ls_runcfg_parse(&cfg, (const char *)data, size, "fuzz.yaml", "base", &e) == LS_OK) {
        /* exercise overrides with values taken from the loaded config */
        if (cfg.n_models) ls_runcfg_override(&cfg, "--models", cfg.models[cfg.n_models - 1].name, &e);
        ls_runcfg_override(&cfg, "--top-k", "7", &e);
        ls_runcfg_override(&cfg, "--targets", cfg.n_targets ? cfg.targets[0] : "wait", &e);
        ls_runcfg_validate(&cfg, &e);
    }
    ls_runcfg_free(&cfg);
    return 0;
}
