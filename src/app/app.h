/* app.h — subcommands of the logits-study binary. Each returns the process
 * exit status (0 ok, 1 error, 2 usage). */
#ifndef LS_APP_H
#define LS_APP_H

#include <stdint.h>

#include "ls/common.h"
#include "ls/parallel.h"

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} LsCommand;

int ls_cmd_score(int argc, char **argv);
int ls_cmd_compare(int argc, char **argv);
int ls_cmd_reduce(int argc, char **argv);
int ls_cmd_inspect(int argc, char **argv);
int ls_cmd_run(int argc, char **argv);
int ls_cmd_tokenize(int argc, char **argv);
int ls_cmd_make_tiny_model(int argc, char **argv);

/* Shared by score and compare (cmd_score.c). "1,2,3" into a heap array; the
 * error names opt and the bad element. */
int ls_app_parse_ids(const char *s, const char *opt, int32_t **out, int *n, LsError *e);
/* text (or the contents of file when file is not NULL) encoded with the
 * tokenizer in dir, special tokens added as its post-processor says. */
int ls_app_encode_text(const char *dir, const char *text, const char *file, int32_t **ids, int *n,
                       LsError *e);
/* --ids-file: the ids of path (ls_token_ids_read), at least one. */
int ls_app_read_ids_file(const char *path, int32_t **ids, int *n, LsError *e);

/* One-sequence commands (score, compare) with --tp tp > 1: starts MPI, makes
 * the grid of exactly tp ranks (one tensor-parallel group) and checks that
 * every model of dirs (its config.json or GGUF metadata, before any weight
 * is read) splits over them. LS_OK: *comm is the TP group's communicator and
 * log lines carry the rank. Otherwise the message was printed once (rank 0,
 * prefixed "logits-study cmd: "), MPI finalised, and the command exits 2. */
int ls_app_tp_start(const char *cmd, int tp, const char *const *dirs, int ndirs, LsDist *dist, LsComm **comm);
/* The end of such a command: rc != 0 aborts every rank (none is left waiting
 * in a collective), after stdout is flushed; call before freeing anything. */
void ls_app_tp_abort_if_failed(const LsComm *comm, int rc);
/* Frees the grid and finalises MPI (comm NULL: nothing to do). */
void ls_app_tp_finish(LsDist *dist, const LsComm *comm);

#endif
