/* cmd_score.c — `logits-study score`: placeholder until the forward pass lands. */
#include <stdio.h>

#include "app.h"

int ls_cmd_score(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "logits-study score: not built yet\n");
    return 1;
}
