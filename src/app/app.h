/* app.h — subcommands of the logits-study binary. Each returns the process
 * exit status (0 ok, 1 error, 2 usage). */
#ifndef LS_APP_H
#define LS_APP_H

#include <stdint.h>

#include "ls/common.h"

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

#endif
