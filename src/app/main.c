/* main.c — the logits-study binary: dispatches to subcommands. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ls/version.h"

static const LsCommand COMMANDS[] = {
    {"run", "the study: every model over every record, into one HDF5 file (MPI)", ls_cmd_run},
    {"score", "per-position statistics of one model for a token sequence", ls_cmd_score},
    {"compare", "per-position divergence (KL, JS, top-1 agreement) between two models on one sequence",
     ls_cmd_compare},
    {"reduce", "(re)compute /summary (group comparisons and tests) of an output file", ls_cmd_reduce},
    {"inspect", "terminal report of an output file: metadata, tables, significant differences",
     ls_cmd_inspect},
    {"tokenize", "encode text to token ids (or decode ids) with a model's tokenizer.json", ls_cmd_tokenize},
    {"make-tiny-model", "write a random-weight Qwen2 checkpoint (tests, demos)", ls_cmd_make_tiny_model},
};

static void usage(FILE *f) {
    fprintf(f, "usage: logits-study [--version] [--help] COMMAND [ARGS]\n"
               "\n"
               "Measures the probability language models assign to reasoning words while\n"
               "reading worked answers. Commands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-16s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\n'logits-study COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("logits-study %s (commit %s)\n", LS_VERSION, LS_GIT_COMMIT);
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "logits-study: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
