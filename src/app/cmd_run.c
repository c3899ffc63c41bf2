/* cmd_run.c — `logits-study run CONFIG`: parses the arguments into the run
 * config and hands it to the study (src/study/, ls/study.h). The one place
 * a failed run stops: the study returns an error every rank agreed on, the
 * message is printed once and every rank leaves MPI with status 1. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ls/config.h"
#include "ls/study.h"

static void usage(FILE *f) {
    fprintf(f, "usage: logits-study run CONFIG.yaml [--overwrite] [--threads N] [OPTIONS]\n"
               "\n"
               "Runs every model of the config over every record and writes one HDF5 file\n"
               "(docs/hdf5-layout.md). Launch under MPI for data / tensor parallelism:\n"
               "  mpirun -np 4 build/logits-study run configs/demo.yaml\n"
               "Ranks = data-parallel groups x tp; each group takes a share of the records.\n"
               "\n"
               "  --overwrite        replace an existing output file\n"
               "  --resume           continue a stopped or killed run's file (same config, data and\n"
               "                     world size); batches already written are kept\n"
               "On SIGTERM or SIGUSR1 all ranks stop at the next batch boundary, close the file\n"
               "cleanly and exit with status 75; rerun with --resume to continue.\n"
               "  --threads N        CPU threads per rank (default: SLURM_CPUS_PER_TASK, else\n"
               "                     the cores of the node divided among its ranks)\n"
               "Config overrides (each key of the YAML file; * = part of the resume identity):\n");
    size_t n;
    const LsRunCfgKey *k = ls_runcfg_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (!k[i].flag) continue;
        char what[256] = "", def[96] = "";
        if (k[i].type == LS_CFG_ENUM) ls_runcfg_choices(&k[i], what, sizeof what);
        if (k[i].type == LS_CFG_INT || k[i].type == LS_CFG_SIZE)
            snprintf(what, sizeof what, "%lld..%lld", (long long)k[i].lo, (long long)k[i].hi);
        if (k[i].def && k[i].type != LS_CFG_FLAG && k[i].type != LS_CFG_TEMPLATE &&
            k[i].type != LS_CFG_TARGETS)
            snprintf(def, sizeof def, "; default %s", k[i].def);
        char name[64]; /* a flag on by default is turned off with --no-KEY */
        snprintf(name, sizeof name, "%s%s",
                 k[i].type == LS_CFG_FLAG && k[i].def && !strcmp(k[i].def, "true") ? "[no-]" : "", k[i].flag);
        fprintf(f, "  --%-17s%s %s%s%s%s%s\n", name, k[i].identity ? "*" : " ", k[i].help, *what ? " (" : "",
                what, *what ? ")" : "", def);
    }
}

/* The config file, its overrides and the run's own flags (every rank). */
static int parse_args(int argc, char **argv, LsRunConfig *cfg, LsStudyOptions *opt, LsError *e) {
    const char *cfg_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--overwrite"))
            opt->overwrite = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            opt->threads = atoi(argv[++i]);
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            i += ls_runcfg_option_is_flag(argv[i]) == 0 ? 1 : 0;
        else if (!cfg_path)
            cfg_path = argv[i];
        else
            return ls_fail(e, "unexpected argument '%s'", argv[i]);
    }
    if (!cfg_path) return ls_fail(e, "no config file given (usage: logits-study run CONFIG.yaml)");
    if (ls_runcfg_load(cfg, cfg_path, e)) return LS_ERR;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--overwrite")) continue;
        if (!strcmp(argv[i], "--threads")) {
            i++;
            continue;
        }
        if (argv[i][0] != '-' || argv[i][1] != '-') continue;
        int flag = ls_runcfg_option_is_flag(argv[i]);
        int rc = LS_OK;
        if (flag < 0)
            rc = ls_fail(e, "unknown option '%s' (see logits-study run --help)", argv[i]);
        else if (flag == 1)
            rc = ls_runcfg_override(cfg, argv[i], NULL, e);
        else if (i + 1 >= argc)
            rc = ls_fail(e, "option '%s' needs a value", argv[i]);
        else {
            rc = ls_runcfg_override(cfg, argv[i], argv[i + 1], e);
            i++;
        }
        if (rc) return rc;
    }
    return ls_runcfg_validate(cfg, e);
}

int ls_cmd_run(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    /* first, before MPI_Init: a stop signal that comes while MPI starts or the
     * arguments are read is kept (the run stops at its first batch boundary),
     * rather than killing this rank with the signal's default action */
    ls_study_catch_stop_signals();
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    ls_log_set_rank(rank);
    LsRunConfig cfg;
    LsStudyOptions opt = {0};
    LsError e = {{0}};
    LsStudyEnd end = LS_STUDY_COMPLETE;
    memset(&cfg, 0, sizeof cfg);
    /* every rank parses the same arguments and files, so every rank gets the same answer */
    int rc = parse_args(argc, argv, &cfg, &opt, &e);
    if (rc == LS_OK) {
        ls_study_catch_stop_signals(); /* again, in case MPI_Init installed handlers of its own */
        rc = ls_study_run(&cfg, &opt, &end, &e);
    }
    if (rc && rank == 0) fprintf(stderr, "logits-study run: %s\n", e.msg[0] ? e.msg : "failed");
    if (rc == LS_OK && end == LS_STUDY_STOPPED && rank == 0)
        fprintf(stderr,
                "logits-study run: stopped cleanly at a batch boundary (signal); %s is consistent; "
                "continue with the same command and --resume\n",
                cfg.output);
    ls_runcfg_free(&cfg);
    MPI_Finalize();
    return rc ? 1 : end == LS_STUDY_STOPPED ? LS_STUDY_EXIT_STOPPED : 0;
}
