/* fuzz_jsonl.c — the JSONL dataset parser (strict and skip mode) and the
 * prompt template on hostile bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "ls/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    LsDataset ds;
    LsError e;
    for (int skip = 0; skip < 2; skip++) {
        if (ls_dataset_parse(&ds, (const char *)data, size, "fuzz.jsonl", skip, 0, &e) != LS_OK) continue;
        for (size_t i = 0; i < ds.n_records && i < 4; i++) {
            char *prompt, *p2, *a2;
            /* the answer doubles as a template: mostly invalid, sometimes not */
            if (ls_template_split(ds.records[i].answer, ds.records[i].query, &prompt, &e) == LS_OK)
                free(prompt);
            if (ls_template_split("Query: {query}\nAnswer: {answer}", ds.records[i].query, &prompt, &e) ==
                LS_OK) {
                ls_template_move_space(prompt, ds.records[i].answer, &p2, &a2);
                free(p2);
                free(a2);
                free(prompt);
            }
        }
        ls_dataset_free(&ds);
    }
    return 0;
}
