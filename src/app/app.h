/* app.h — subcommands of the logits-study binary. Each returns the process
 * exit status (0 ok, 1 error, 2 usage). */
#ifndef LS_APP_H
#define LS_APP_H

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} LsCommand;

int ls_cmd_score(int argc, char **argv);
int ls_cmd_reduce(int argc, char **argv);
int ls_cmd_inspect(int argc, char **argv);
int ls_cmd_run(int argc, char **argv);
int ls_cmd_tokenize(int argc, char **argv);
int ls_cmd_make_tiny_model(int argc, char **argv);

#endif
