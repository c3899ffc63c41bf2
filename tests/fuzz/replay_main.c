/* replay_main.c — runs a fuzz target over every file of a corpus folder, for
 * builds without libFuzzer (gcc). Each file is fed to LLVMFuzzerTestOneInput
 * once; the corpus must parse without crashing under the sanitizers. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        fprintf(stderr, "%s: cannot open corpus folder\n", argv[1]);
        return 1;
    }
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *path = ls_path_join(argv[1], de->d_name);
        char *buf;
        size_t len;
        LsError e;
        if (ls_read_file(path, 0, &buf, &len, &e) == LS_OK) {
            LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
            free(buf);
            n++;
        }
        free(path);
    }
    closedir(d);
    printf("replayed %d corpus inputs from %s\n", n, argv[1]);
    return n > 0 ? 0 : 1;
}
