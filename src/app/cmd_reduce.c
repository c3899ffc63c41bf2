/* cmd_reduce.c — `logits-study reduce FILE`: (re)computes /summary of an
 * existing output file (src/stats/reduce.c). Under mpirun only rank 0 works;
 * the others wait, so the result is the same at any world size. */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ls/reduce.h"

static const char *USAGE =
    "usage: logits-study reduce FILE [--bootstrap B] [--seed S] [--allow-incomplete] [--quiet]\n"
    "\n"
    "Reads the per-model datasets of the output file FILE and (re)writes /summary:\n"
    "the primary tests per model pair and word (pair effect, level trend, correctness\n"
    "on d = log propensity_b - log propensity_a; docs/statistics.md), and the\n"
    "descriptive tables: descriptives per model x target word x group (level 1-5, correct, incorrect,\n"
    "unknown, all), correct-vs-incorrect tests (Welch t, Mann-Whitney U, Cohen's d),\n"
    "level tests (Spearman rho, Kruskal-Wallis H), paired model comparisons\n"
    "(Wilcoxon signed-rank) and Benjamini-Hochberg adjusted p-values. Layout:\n"
    "docs/hdf5-layout.md, section /summary.\n"
    "\n"
    "  --bootstrap B        resamples per bootstrap 95% CI (0: no CIs; default: the file's\n"
    "                       root attribute bootstrap, what the run used)\n"
    "  --seed S             base seed of the bootstrap (default: the file's root attribute\n"
    "                       seed), so reducing a finished file again gives the same /summary\n"
    "  --resamples B        resamples of the primary tests: cluster-bootstrap BCa\n"
    "                       intervals and random sign flips (default 10000)\n"
    "  --allow-incomplete   reduce a file of a killed run: samples not done in every\n"
    "                       model are left out (refused otherwise)\n"
    "  --quiet              no progress lines\n";

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (!*s || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno) return -1;
    *out = v;
    return 0;
}

/* Initialises MPI only when launched by mpirun (a plain run needs no MPI). */
static int under_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

int ls_cmd_reduce(int argc, char **argv) {
    const char *path = NULL;
    LsReduceOptions opt = ls_reduce_defaults();
    opt.verbose = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        uint64_t v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--bootstrap") && has) {
            if (parse_u64(argv[++i], &v) || v > 100000000u) {
                fprintf(stderr, "logits-study reduce: --bootstrap '%s': expected an integer in 0..1e8\n",
                        argv[i]);
                return 2;
            }
            opt.bootstrap = (size_t)v;
            opt.bootstrap_given = 1;
        } else if (!strcmp(a, "--resamples") && has) {
            if (parse_u64(argv[++i], &v) || v > 100000000u) {
                fprintf(stderr, "logits-study reduce: --resamples '%s': expected an integer in 0..1e8\n",
                        argv[i]);
                return 2;
            }
            opt.resamples = (size_t)v;
        } else if (!strcmp(a, "--seed") && has) {
            if (parse_u64(argv[++i], &v)) {
                fprintf(stderr, "logits-study reduce: --seed '%s': expected a non-negative integer\n",
                        argv[i]);
                return 2;
            }
            opt.seed = v;
            opt.seed_given = 1;
        } else if (!strcmp(a, "--allow-incomplete")) {
            opt.allow_incomplete = 1;
        } else if (!strcmp(a, "--quiet")) {
            opt.verbose = 0;
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "logits-study reduce: unexpected argument '%s'\n%s", a, USAGE);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        fprintf(stderr, "logits-study reduce: FILE is required\n%s", USAGE);
        return 2;
    }
    int mpi = under_mpirun(), rank = 0, rc = 0;
    if (mpi) {
        MPI_Init(NULL, NULL);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    }
    ls_log_set_rank(rank);
    if (rank == 0) {
        LsError e = {{0}};
        int complete = 0;
        if (ls_reduce_read_complete(path, &complete, &e)) {
            fprintf(stderr, "logits-study reduce: %s\n", e.msg);
            rc = 1;
        } else {
            if (!complete)
                fprintf(stderr,
                        "logits-study reduce: note: %s is marked incomplete (root attribute complete = 0); "
                        "reducing what it holds\n",
                        path);
            double t0 = ls_now();
            if (ls_reduce_file(path, &opt, &e)) {
                fprintf(stderr, "logits-study reduce: %s\n", e.msg);
                rc = 1;
            } else if (opt.verbose) {
                ls_log0("reduce: wrote /summary of %s in %.2f s", path, ls_now() - t0);
            }
        }
    }
    if (mpi) {
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Finalize();
    }
    return rc;
}
