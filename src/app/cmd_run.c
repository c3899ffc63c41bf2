/* cmd_run.c — `logits-study run CONFIG`: the study. Every rank reads the
 * config and the records and tokenizes them with each model's tokenizer
 * (deterministic, so every rank has the same plan); records are dealt to the
 * data-parallel groups by token count; each model runs over its group's
 * batches (tensor-parallel within the group) and the group leader's rows are
 * written collectively into one HDF5 file, ordered by sample so that the
 * content does not depend on the number of ranks. Layout:
 * docs/hdf5-layout.md. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "ls/backend.h"
#include "ls/config.h"
#include "ls/data.h"
#include "ls/encode.h"
#include "ls/forward.h"
#include "ls/h5out.h"
#include "ls/metrics.h"
#include "ls/model.h"
#include "ls/parallel.h"
#include "ls/reduce.h"
#include "ls/shard.h"
#include "ls/study_out.h"
#include "ls/targets.h"
#include "ls/tokenizer.h"
#include "ls/version.h"

/* Exit status of a run stopped cleanly by SIGTERM / SIGUSR1 (EX_TEMPFAIL):
 * the file is consistent and `--resume` continues it; slurm/run_all.sh
 * requeues the job on it. */
#define LS_EXIT_STOPPED 75

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
               "Config overrides (each key of the YAML file):\n");
    size_t n;
    const LsRunCfgOption *o = ls_runcfg_options(&n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  --%-17s %s\n", o[i].name, o[i].help);
}

/* Fatal error on one rank: print once (this rank) and take every rank down
 * (ncclCommAbort first on GPUs), so none is left waiting in a collective. */
static void die(const LsDist *d, const char *msg) {
    fprintf(stderr, "logits-study run: rank %d: %s\n", d->world_rank, msg);
    ls_dist_abort((LsDist *)d, 1);
}

/* The rank's backend: CUDA device local_rank (or 0 when the launcher shows
 * each rank a single GPU); every rank must end up on the same kind, and with
 * tp > 1 on CUDA the TP all-reduces (device buffers) go through NCCL. */
static LsBackend *create_backend(LsDist *d, const char *device, int threads, int *nccl_on, LsError *e) {
    char why[256];
    int ngpu = ls_cuda_device_count(why, sizeof why);
    int gpu = ngpu == 1 ? 0 : d->local_rank;
    LsBackend *be = ls_backend_create(device, gpu, threads, LS_PREC_FP32, e);
    if (ls_dist_agree(d, be ? LS_OK : LS_ERR, e) != LS_OK) die(d, e->msg);
    int is_cuda = !strcmp(be->name, "cuda"), lo, hi;
    MPI_Allreduce(&is_cuda, &lo, 1, MPI_INT, MPI_MIN, d->world);
    MPI_Allreduce(&is_cuda, &hi, 1, MPI_INT, MPI_MAX, d->world);
    if (lo != hi)
        die(d, "device auto: some ranks see a usable GPU and others do not; set device: cpu or cuda");
    *nccl_on = 0;
    if (is_cuda && d->tp > 1) {
        d->gpu = gpu;
        if (ls_dist_use_nccl(d, NULL, e)) die(d, e->msg);
        *nccl_on = 1;
    }
    return be;
}

/* Agreement after a step every rank computed: the first failing rank's
 * message, printed once by rank 0. */
static int all_ok(const LsDist *d, int rc, LsError *e) {
    if (ls_dist_agree(d, rc, e) == LS_OK) return 1;
    if (d->world_rank == 0) fprintf(stderr, "logits-study run: %s\n", e->msg);
    return 0;
}

static char *iso_now(void) {
    char buf[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return ls_strdup(buf);
}

static char *sha256_file(const char *path) {
    char *buf;
    size_t len;
    LsError e;
    if (ls_read_file(path, 0, &buf, &len, &e)) return ls_strdup("");
    uint8_t h[32];
    ls_sha256(buf, len, h);
    free(buf);
    char *hex = ls_malloc(65);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return hex;
}

static int default_threads(const LsDist *d) {
    const char *s = getenv("SLURM_CPUS_PER_TASK");
    if (s && atoi(s) > 0) return atoi(s);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = (int)(cores / (d->local_size > 0 ? d->local_size : 1));
    return t > 0 ? t : 1;
}

/* Per-model state that every rank holds. */
typedef struct {
    const LsModelSpec *spec;
    LsTokenizer *tok;
    LsEncoded enc;
    LsTargetSet ts;
    LsStudyModel out; /* what the output file needs of it */
} ModelPrep;

static int size_cmp(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Set by SIGTERM / SIGUSR1 (Slurm's pre-emption warning); checked by all
 * ranks together at each batch boundary. */
static volatile sig_atomic_t g_stop = 0;
static void on_stop_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* Whether any rank was asked to stop (collective). */
static int stop_requested(const LsDist *d) {
    int mine = g_stop != 0, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, d->world);
    return any;
}

/* Occurrences of this rank's samples, from the rows in the file (so a resumed
 * run finds those of the batches written before the stop too). */
static int find_group_occurrences(LsH5 *h, const ModelPrep *mp, const LsModelSets *s, const LsShardGroup *grp,
                                  LsOccurrence **occ, size_t *n_occ, LsError *e) {
    const LsEncoded *enc = &mp->enc;
    size_t cap = 0;
    *occ = NULL;
    *n_occ = 0;
    size_t longest = 0;
    for (size_t r = 0; r < grp->n_records; r++) {
        size_t i = grp->records[r], len = (size_t)(enc->off[i + 1] - enc->off[i]);
        if (len > longest) longest = len;
    }
    float *lp = ls_malloc((longest + 1) * sizeof(float));
    int32_t *rk = ls_malloc((longest + 1) * sizeof(int32_t));
    int rc = LS_OK;
    for (size_t r = 0; r < grp->n_records && rc == LS_OK; r++) {
        size_t i = grp->records[r], len = (size_t)(enc->off[i + 1] - enc->off[i]);
        rc = ls_h5_read_rows(h, s->logprob, H5T_NATIVE_FLOAT, (uint64_t)enc->off[i], len, lp, e);
        if (!rc) rc = ls_h5_read_rows(h, s->rank, H5T_NATIVE_INT32, (uint64_t)enc->off[i], len, rk, e);
        if (!rc)
            ls_find_occurrences(&mp->ts, mp->tok, (int64_t)i, enc->ids + enc->off[i] + enc->answer_start[i],
                                len - (size_t)enc->answer_start[i], enc->answer_start[i], lp, rk, occ, n_occ,
                                &cap);
    }
    free(lp);
    free(rk);
    return rc;
}

/* Runs one model over this rank's DP group's batches and writes its rows.
 * With resume, batches whose samples are all marked done are skipped (the
 * plan is the same as the interrupted run's: same records, world size, tp).
 * Returns 1 if a stop was requested (the file is consistent), else 0. */
static int run_model(LsH5 *h, ModelPrep *mp, const LsRunConfig *cfg, const LsDist *d, int threads, int resume,
                     LsError *e, double *tok_s_out) {
    const LsEncoded *enc = &mp->enc;
    size_t N = enc->n;
    *tok_s_out = 0;
    char gpath[512];
    snprintf(gpath, sizeof gpath, "/models/%s", mp->spec->name);
    /* a model finished before the stop is kept as it is */
    int exists = resume && H5Lexists(h->file, "/models", H5P_DEFAULT) > 0 &&
                 H5Lexists(h->file, gpath, H5P_DEFAULT) > 0;
    int64_t model_done = 0, created = 0;
    if (exists) {
        hid_t g = H5Gopen2(h->file, gpath, H5P_DEFAULT);
        LsError ignore;
        if (ls_h5_attr_get_i64(g, "created", &created, &ignore)) created = 0;
        if (ls_h5_attr_get_i64(g, "complete", &model_done, &ignore)) model_done = 0;
        H5Gclose(g);
        if (!created) { /* killed while creating it: start the model over */
            if (H5Ldelete(h->file, gpath, H5P_DEFAULT) < 0)
                die(d, "cannot remove a half-created model group");
            exists = 0;
        }
    }
    if (model_done) {
        if (d->world_rank == 0 && !cfg->quiet)
            fprintf(stderr, "[%s] already complete in the file\n", mp->spec->name);
        return 0;
    }
    LsModel m;
    memset(&m, 0, sizeof m);
    if (ls_model_open(&m, mp->spec->path, e)) die(d, e->msg);
    if ((size_t)ls_tokenizer_vocab_size(mp->tok) > (size_t)m.cfg.vocab_size)
        ls_warn("model %s: the tokenizer has %zu ids but the model's vocab_size is %d", mp->spec->name,
                ls_tokenizer_vocab_size(mp->tok), m.cfg.vocab_size);
    int K = cfg->top_k < m.cfg.vocab_size ? cfg->top_k : m.cfg.vocab_size;
    size_t longest = 0;
    size_t *tokens = ls_malloc((N ? N : 1) * sizeof(size_t));
    for (size_t i = 0; i < N; i++) {
        tokens[i] = (size_t)(enc->off[i + 1] - enc->off[i]);
        if (tokens[i] > longest) longest = tokens[i];
    }
    size_t budget = cfg->batch_tokens > longest ? cfg->batch_tokens : longest;
    LsShardPlan plan;
    if (ls_shard_plan(&plan, tokens, N, (size_t)d->dp, cfg->batch_tokens, e)) die(d, e->msg);
    const LsShardGroup *grp = &plan.groups[d->dp_rank];

    LsModelSets s;
    uint8_t *done = ls_calloc(N ? N : 1, 1);
    if (exists) {
        LsRowRange all = {0, N};
        (void)all;
        if (ls_study_open_model(h, &mp->out, K, &s, e) ||
            ls_h5_read_rows(h, s.done, H5T_NATIVE_UINT8, 0, N, done, e))
            die(d, e->msg);
        if (ls_tokenizer_sha256(mp->tok)) {
            char *sha = NULL;
            if (ls_h5_attr_get_str(s.g, "tokenizer_sha256", &sha, e) == LS_OK &&
                strcmp(sha, ls_tokenizer_sha256(mp->tok)) != 0) {
                free(sha);
                die(d, "--resume: the model's tokenizer.json changed since the file was written; rerun with "
                       "--overwrite");
            }
            free(sha);
        }
    } else {
        if (ls_study_create_model(h, &mp->out, &m, K, d->world_rank == 0, &s, e)) die(d, e->msg);
        if (ls_h5_flush(h, e) || ls_h5_attr_i64(s.g, "created", 1, e) || ls_h5_flush(h, e)) die(d, e->msg);
    }

    int nccl_on = 0;
    LsBackend *be = create_backend((LsDist *)d, ls_device_name(cfg->device), threads, &nccl_on, e);
    LsForward f;
    if (ls_forward_init(&f, &m, be, d->tp > 1 ? (LsComm *)&d->comm : NULL, budget, e)) die(d, e->msg);

    int leader = d->tp_rank == 0, stopped = 0;
    long rounds = (long)grp->n_batches;
    MPI_Allreduce(MPI_IN_PLACE, &rounds, 1, MPI_LONG, MPI_MAX, d->world);
    size_t done_samples = 0, done_tokens = 0, todo_tokens = 0;
    for (size_t r = 0; r < grp->n_records; r++)
        if (!done[grp->records[r]]) todo_tokens += tokens[grp->records[r]];
    double t0 = ls_now(), last = t0, t_compute = 0, t_write = 0;
    int32_t *ids = ls_malloc((budget + 1) * sizeof(int32_t));
    int32_t *seq_off = ls_malloc((N + 1) * sizeof(int32_t));
    size_t *sel = ls_malloc((N ? N : 1) * sizeof(size_t)), *src_row = ls_malloc((N ? N : 1) * sizeof(size_t));
    uint8_t *ones = ls_malloc(N ? N : 1);
    memset(ones, 1, N ? N : 1);
    int M = (int)mp->ts.n_cols;
    for (long b = 0; b < rounds; b++) {
        if (stop_requested(d)) {
            stopped = 1;
            break;
        }
        size_t nsel = 0;
        LsPosStats st;
        memset(&st, 0, sizeof st);
        int todo = 0;
        if ((size_t)b < grp->n_batches) {
            size_t r0 = grp->batch_off[b], r1 = grp->batch_off[b + 1];
            for (size_t r = r0; r < r1; r++)
                todo |= !done[grp->records[r]];
            /* the batch's samples in index order, so rows go to the file in order */
            for (size_t r = r0; todo && r < r1; r++)
                sel[nsel++] = grp->records[r];
        }
        double tc0 = ls_now();
        if (nsel) {
            qsort(sel, nsel, sizeof *sel, size_cmp);
            seq_off[0] = 0;
            for (size_t j = 0; j < nsel; j++) {
                size_t i = sel[j], len = tokens[i];
                memcpy(ids + seq_off[j], enc->ids + enc->off[i], len * sizeof(int32_t));
                seq_off[j + 1] = seq_off[j] + (int32_t)len;
                src_row[j] = (size_t)seq_off[j];
            }
            ls_posstats_alloc(&st, (size_t)seq_off[nsel], K, M);
            if (ls_forward_batch(&f, ids, seq_off, (int)nsel, e) ||
                ls_metrics_head(&f, ids, seq_off, (int)nsel, mp->ts.col_ids, M, K, &st, e))
                die(d, e->msg);
        }
        double tc1 = ls_now();
        t_compute += tc1 - tc0;
        /* the TP leader writes; every rank takes part (same number of collective writes) */
        size_t ns = leader ? nsel : 0;
        int rc = ls_study_write_rows(h, s.logprob, H5T_NATIVE_FLOAT, 4, 1, sel, ns, enc->off, src_row,
                                     st.logprob, e);
        if (!rc)
            rc = ls_study_write_rows(h, s.entropy, H5T_NATIVE_FLOAT, 4, 1, sel, ns, enc->off, src_row,
                                     st.entropy, e);
        if (!rc)
            rc = ls_study_write_rows(h, s.rank, H5T_NATIVE_INT32, 4, 1, sel, ns, enc->off, src_row, st.rank,
                                     e);
        if (!rc && K > 0)
            rc = ls_study_write_rows(h, s.topk_ids, H5T_NATIVE_INT32, 4, (size_t)K, sel, ns, enc->off,
                                     src_row, st.top_ids, e);
        if (!rc && K > 0)
            rc = ls_study_write_rows(h, s.topk_lp, H5T_NATIVE_FLOAT, 4, (size_t)K, sel, ns, enc->off, src_row,
                                     st.top_lp, e);
        if (!rc && M > 0)
            rc = ls_study_write_rows(h, s.target_lp, H5T_NATIVE_FLOAT, 4, (size_t)M, sel, ns, enc->off,
                                     src_row, st.target_lp, e);
        if (!rc) {
            /* done markers after the rows, one range per sample */
            LsRowRange *rr = ls_malloc((ns ? ns : 1) * sizeof *rr);
            for (size_t j = 0; j < ns; j++)
                rr[j] = (LsRowRange){sel[j], 1};
            rc = ls_h5_write_rows(h, s.done, H5T_NATIVE_UINT8, rr, ns, ones, e);
            free(rr);
        }
        if (rc) die(d, e->msg);
        t_write += ls_now() - tc1;
        for (size_t j = 0; j < nsel; j++)
            done_tokens += tokens[sel[j]];
        done_samples += nsel;
        ls_posstats_free(&st);
        double now = ls_now();
        if (!cfg->quiet && d->world_rank == 0 && (now - last > 2.0 || b + 1 == rounds)) {
            double frac = todo_tokens ? (double)done_tokens / (double)todo_tokens : 1.0, el = now - t0;
            fprintf(stderr, "[%s] group 0: %zu/%zu samples, %zu/%zu tokens, %.0f tok/s (group), ETA %.0f s\n",
                    mp->spec->name, done_samples, grp->n_records, done_tokens, todo_tokens,
                    el > 0 ? (double)done_tokens / el : 0.0, frac > 0 ? el / frac - el : 0.0);
            last = now;
        }
    }
    double el = ls_now() - t0;
    uint64_t tot = leader ? done_tokens : 0;
    MPI_Allreduce(MPI_IN_PLACE, &tot, 1, MPI_UINT64_T, MPI_SUM, d->world);
    *tok_s_out = el > 0 ? (double)tot / el : 0.0;
    /* where the time went, as seen by rank 0 (forward + head vs the collective writes) */
    if (!cfg->quiet && d->world_rank == 0)
        fprintf(stderr,
                "[%s] time: forward+head %.3f s, HDF5 row writes %.3f s (%.1f%% of the batches' time)\n",
                mp->spec->name, t_compute, t_write,
                t_compute + t_write > 0 ? 100.0 * t_write / (t_compute + t_write) : 0.0);
    if (!stopped) {
        /* occurrences from the rows in the file, then the model is marked complete */
        LsOccurrence *occ = NULL;
        size_t n_occ = 0;
        if (ls_h5_flush(h, e)) die(d, e->msg);
        if (leader && find_group_occurrences(h, mp, &s, grp, &occ, &n_occ, e)) die(d, e->msg);
        if (ls_study_write_occurrences(h, s.g, occ, n_occ, N, e) || ls_h5_flush(h, e) ||
            ls_h5_attr_i64(s.g, "complete", 1, e) || ls_h5_flush(h, e))
            die(d, e->msg);
        free(occ);
    }
    ls_study_close_model(&s);
    free(done);
    free(ids);
    free(seq_off);
    free(sel);
    free(src_row);
    free(ones);
    free(tokens);
    ls_forward_free(&f);
    if (nccl_on) ((LsDist *)d)->comm.destroy(&((LsDist *)d)->comm); /* back to the MPI collectives */
    be->destroy(be);
    ls_shard_free(&plan);
    ls_model_close(&m);
    return stopped;
}

/* The settings that decide the file's content (not where it goes, nor how
 * many threads): stored in the file and compared by --resume. */
static char *effective_json(const LsRunConfig *c) {
    json_t *o = json_object();
    json_object_set_new(o, "data", json_string(c->data));
    json_object_set_new(o, "template", json_string(c->template_text));
    json_t *ms = json_array();
    for (size_t i = 0; i < c->n_models; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "name", json_string(c->models[i].name));
        json_object_set_new(m, "path", json_string(c->models[i].path));
        json_array_append_new(ms, m);
    }
    json_object_set_new(o, "models", ms);
    json_t *tg = json_array();
    for (size_t i = 0; i < c->n_targets; i++)
        json_array_append_new(tg, json_string(c->targets[i]));
    json_object_set_new(o, "targets", tg);
    json_t *sf = json_array();
    for (size_t i = 0; i < c->n_forms; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s%s", c->forms[i].leading_space ? "space+" : "",
                 ls_case_name(c->forms[i].letter_case));
        json_array_append_new(sf, json_string(buf));
    }
    json_object_set_new(o, "surface_forms", sf);
    json_object_set_new(o, "top_k", json_integer(c->top_k));
    json_object_set_new(o, "batch_tokens", json_integer((json_int_t)c->batch_tokens));
    json_object_set_new(o, "max_tokens", json_integer((json_int_t)c->max_tokens));
    json_object_set_new(o, "on_long_record",
                        json_string(c->on_long_record == LS_LONG_SKIP ? "skip" : "truncate"));
    json_object_set_new(o, "on_bad_record", json_string(c->on_bad_record == LS_BAD_SKIP ? "skip" : "fail"));
    json_object_set_new(o, "device", json_string(ls_device_name(c->device)));
    json_object_set_new(o, "tp", json_integer(c->tp));
    json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(o, "bootstrap", json_integer(c->bootstrap));
    json_object_set_new(o, "limit", json_integer((json_int_t)c->limit));
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int ls_cmd_run(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    MPI_Init(&argc, &argv);
    LsDist d;
    LsError e = {{0}};
    memset(&d, 0, sizeof d);
    MPI_Comm_rank(MPI_COMM_WORLD, &d.world_rank);
    ls_log_set_rank(d.world_rank);
    int root = d.world_rank == 0;
    const char *cfg_path = NULL;
    int overwrite = 0, threads = 0, rc = LS_OK;
    LsRunConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    /* first pass: the config path and the run-only flags */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--overwrite"))
            overwrite = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            i += ls_runcfg_option_is_flag(argv[i]) == 0 ? 1 : 0;
        else if (!cfg_path)
            cfg_path = argv[i];
        else
            rc = ls_fail(&e, "unexpected argument '%s'", argv[i]);
    }
    if (!rc && !cfg_path) rc = ls_fail(&e, "no config file given (usage: logits-study run CONFIG.yaml)");
    if (!rc) rc = ls_runcfg_load(&cfg, cfg_path, &e);
    for (int i = 1; !rc && i < argc; i++) {
        if (!strcmp(argv[i], "--overwrite")) continue;
        if (!strcmp(argv[i], "--threads")) {
            i++;
            continue;
        }
        if (argv[i][0] != '-' || argv[i][1] != '-') continue;
        int flag = ls_runcfg_option_is_flag(argv[i]);
        if (flag < 0) {
            rc = ls_fail(&e, "unknown option '%s' (see logits-study run --help)", argv[i]);
        } else if (flag == 1) {
            rc = ls_runcfg_override(&cfg, argv[i], NULL, &e);
        } else if (i + 1 >= argc) {
            rc = ls_fail(&e, "option '%s' needs a value", argv[i]);
        } else {
            rc = ls_runcfg_override(&cfg, argv[i], argv[i + 1], &e);
            i++;
        }
    }
    if (!rc) rc = ls_runcfg_validate(&cfg, &e);
    if (!rc) rc = ls_dist_init(&d, MPI_COMM_WORLD, cfg.tp, &e);
    if (!rc) {
        const char *sn = getenv("SLURM_NTASKS");
        if (sn && atoi(sn) > 0 && atoi(sn) != d.world_size)
            rc = ls_fail(
                &e,
                "running under Slurm with SLURM_NTASKS=%s but the MPI world has %d ranks: launch with "
                "srun (or mpirun -np %s)",
                sn, d.world_size, sn);
    }
    int resume = 0;
    if (!rc && cfg.resume && overwrite) rc = ls_fail(&e, "--resume and --overwrite exclude each other");
    if (!rc && root) {
        int exists = access(cfg.output, F_OK) == 0;
        if (cfg.resume && exists)
            resume = 1;
        else if (cfg.resume)
            ls_log0("logits-study run: --resume: %s does not exist yet; starting it", cfg.output);
        else if (!overwrite && exists)
            rc = ls_fail(&e, "%s exists: pass --resume to continue it or --overwrite to replace it",
                         cfg.output);
    }
    MPI_Bcast(&resume, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc) {
        if (root) fprintf(stderr, "logits-study run: %s\n", e.msg[0] ? e.msg : "failed");
        ls_runcfg_free(&cfg);
        MPI_Finalize();
        return 1;
    }
    if (threads <= 0) threads = default_threads(&d);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    /* records, identical on every rank */
    LsDataset ds;
    memset(&ds, 0, sizeof ds);
    rc = ls_dataset_load(&ds, cfg.data, cfg.on_bad_record == LS_BAD_SKIP, cfg.limit, &e);
    if (!all_ok(&d, rc, &e)) goto fail_early;
    if (root && ds.n_bad)
        ls_warn("%s: skipped %zu bad records (listed in /samples/skipped_line of the output)", cfg.data,
                ds.n_bad);

    /* every model's tokenizer and tokenization; a record too long for any model is skipped for all */
    ModelPrep *mp = ls_calloc(cfg.n_models, sizeof *mp);
    for (size_t k = 0; k < cfg.n_models && rc == LS_OK; k++) {
        mp[k].spec = &cfg.models[k];
        rc = ls_tokenizer_load(&mp[k].tok, mp[k].spec->path, &e);
        if (!rc)
            rc = ls_encode_records(&mp[k].enc, mp[k].tok, cfg.template_text, ds.records, ds.n_records,
                                   cfg.max_tokens, cfg.on_long_record == LS_LONG_TRUNCATE, cfg.data, &e);
        if (!rc)
            rc = ls_targets_resolve(&mp[k].ts, mp[k].tok, cfg.targets, cfg.n_targets, cfg.forms, cfg.n_forms,
                                    &e);
        if (rc) ls_fail_prefix(&e, "model %s", mp[k].spec->name);
        mp[k].out = (LsStudyModel){mp[k].spec->name, mp[k].spec->path, &mp[k].enc, &mp[k].ts,
                                   rc ? "" : ls_tokenizer_sha256(mp[k].tok)};
    }
    if (!all_ok(&d, rc, &e)) goto fail_early;
    /* every model's shape against the process grid, before any weight is read */
    for (size_t k = 0; k < cfg.n_models && rc == LS_OK; k++) {
        LsModelConfig mc;
        rc = ls_model_config_load(&mc, cfg.models[k].path, &e);
        if (!rc) {
            rc = ls_dist_check_model(&d, &mc, &e);
            ls_config_free(&mc);
        }
        if (rc) ls_fail_prefix(&e, "model %s", cfg.models[k].name);
    }
    if (!all_ok(&d, rc, &e)) goto fail_early;
    size_t n_keep = 0, n_long = 0;
    size_t *keep = ls_malloc((ds.n_records ? ds.n_records : 1) * sizeof(size_t));
    char **long_reason = ls_calloc(ds.n_records ? ds.n_records : 1, sizeof(char *));
    for (size_t i = 0; i < ds.n_records; i++) {
        int too_long = 0;
        for (size_t k = 0; k < cfg.n_models; k++)
            if (cfg.on_long_record == LS_LONG_SKIP && (size_t)mp[k].enc.full_len[i] > cfg.max_tokens) {
                char buf[256];
                snprintf(buf, sizeof buf, "%d tokens with model %s's tokenizer, more than max_tokens=%zu",
                         mp[k].enc.full_len[i], mp[k].spec->name, cfg.max_tokens);
                long_reason[i] = ls_strdup(buf);
                too_long = 1;
                break;
            }
        if (too_long)
            n_long++;
        else
            keep[n_keep++] = i;
    }
    if (n_keep == 0) {
        rc = ls_fail(&e, "%s: no record left to run (%zu too long for max_tokens=%zu)", cfg.data, n_long,
                     cfg.max_tokens);
        if (!all_ok(&d, rc, &e)) goto fail_early;
    }
    if (root && n_long)
        ls_warn("%s: skipped %zu records longer than max_tokens=%zu", cfg.data, n_long, cfg.max_tokens);
    if (n_long) /* keep the encodings of the kept records only */
        for (size_t k = 0; k < cfg.n_models; k++)
            ls_encoded_select(&mp[k].enc, keep, n_keep);

    /* the file: root attributes, /samples */
    LsH5 h;
    if (resume) {
        if (ls_h5_open(&h, cfg.output, MPI_COMM_WORLD, &e)) {
            if (root) fprintf(stderr, "logits-study run: --resume: %s\n", e.msg);
            goto fail_early;
        }
        /* the file must come from the same study at the same world size */
        char *have_eff = NULL, *have_sha = NULL, *eff = effective_json(&cfg), *sha = sha256_file(cfg.data);
        int64_t ws = -1, tps = -1, complete = 0;
        int schema_ok = ls_h5_check_schema(h.file, cfg.output, &e) == LS_OK;
        rc = !schema_ok || ls_h5_attr_get_str(h.file, "run_config_effective", &have_eff, &e) ||
             ls_h5_attr_get_str(h.file, "data_sha256", &have_sha, &e) ||
             ls_h5_attr_get_i64(h.file, "world_size", &ws, &e) ||
             ls_h5_attr_get_i64(h.file, "tp_size", &tps, &e) ||
             ls_h5_attr_get_i64(h.file, "complete", &complete, &e);
        if (!schema_ok)
            ls_fail_prefix(&e, "--resume");
        else if (rc)
            ls_fail_prefix(&e, "--resume: %s is not a logits-study output file", cfg.output);
        else if (complete == 1)
            rc = ls_fail(&e, "--resume: %s is already complete; nothing to do", cfg.output);
        else if (strcmp(have_sha, sha) != 0)
            rc = ls_fail(
                &e,
                "--resume: the data file %s changed since %s was written (SHA-256 differs); rerun with "
                "--overwrite",
                cfg.data, cfg.output);
        else if (strcmp(have_eff, eff) != 0)
            rc = ls_fail(&e,
                         "--resume: the run config differs from the one %s was written with (models, data, "
                         "targets or settings); rerun with --overwrite, or resume with the same config",
                         cfg.output);
        else if (ws != d.world_size || tps != d.tp)
            rc = ls_fail(
                &e,
                "--resume: %s was written by %lld ranks with tp %lld; resume with the same world size "
                "(mpirun -np %lld) and tp",
                cfg.output, (long long)ws, (long long)tps, (long long)ws);
        free(have_eff);
        free(have_sha);
        free(eff);
        free(sha);
        int done_already = rc && complete == 1;
        if (!all_ok(&d, rc, &e)) {
            ls_h5_close(&h, &e);
            if (done_already) {
                ls_dataset_free(&ds);
                ls_runcfg_free(&cfg);
                ls_dist_free(&d);
                MPI_Finalize();
                return 0;
            }
            goto fail_early;
        }
        if (root && !cfg.quiet) fprintf(stderr, "logits-study run: resuming %s\n", cfg.output);
    } else if (ls_h5_create(&h, cfg.output, MPI_COMM_WORLD, &e)) {
        if (root) fprintf(stderr, "logits-study run: %s\n", e.msg);
        goto fail_early;
    }
    if (!resume) {
        hid_t r = h.file;
        char *now = iso_now(), *sha = sha256_file(cfg.data), *eff = effective_json(&cfg);
        const char **mnames = ls_malloc((cfg.n_models ? cfg.n_models : 1) * sizeof *mnames);
        for (size_t k = 0; k < cfg.n_models; k++)
            mnames[k] = cfg.models[k].name;
        rc = ls_h5_attr_i64(r, "schema_version", LS_H5_SCHEMA_VERSION, &e) ||
             ls_h5_attr_i64(r, "complete", 0, &e) || ls_h5_attr_str(r, "tool_version", LS_VERSION, &e) ||
             ls_h5_attr_str(r, "git_commit", LS_GIT_COMMIT, &e) ||
             ls_h5_attr_str(r, "run_config", cfg.yaml_text, &e) ||
             ls_h5_attr_str(r, "run_config_effective", eff, &e) ||
             ls_h5_attr_str(r, "data_path", cfg.data, &e) || ls_h5_attr_str(r, "data_sha256", sha, &e) ||
             ls_h5_attr_i64(r, "world_size", d.world_size, &e) || ls_h5_attr_i64(r, "tp_size", d.tp, &e) ||
             ls_h5_attr_i64(r, "dp_size", d.dp, &e) || ls_h5_attr_str(r, "created", now, &e) ||
             ls_h5_attr_strs(r, "models", mnames, cfg.n_models, &e) ||
             ls_h5_attr_strs(r, "target_words", (const char *const *)cfg.targets, cfg.n_targets, &e) ||
             ls_h5_attr_i64(r, "bootstrap", cfg.bootstrap, &e) || ls_h5_attr_u64(r, "seed", cfg.seed, &e);
        free(now);
        free(sha);
        free(eff);
        free(mnames);
        if (rc) die(&d, e.msg);
        /* /samples: the records run, and the skipped ones (bad, too long) */
        size_t S = ds.n_bad + n_long, si = 0;
        int64_t *sl = ls_malloc((S + 1) * sizeof(int64_t));
        const char **sr = ls_malloc((S + 1) * sizeof(char *));
        for (size_t b = 0; b < ds.n_bad; b++, si++) {
            sl[si] = (int64_t)ds.bad[b].line;
            sr[si] = ds.bad[b].reason;
        }
        for (size_t i = 0; i < ds.n_records; i++)
            if (long_reason[i]) {
                sl[si] = (int64_t)ds.records[i].line;
                sr[si++] = long_reason[i];
            }
        if (ls_study_write_samples(&h, ds.records, keep, n_keep, sl, sr, S, root, &e)) die(&d, e.msg);
        free(sl);
        free(sr);
    }
    if (root && !cfg.quiet)
        fprintf(stderr,
                "logits-study run: %zu samples, %zu models, %d ranks (dp %d x tp %d), %d threads per rank -> "
                "%s\n",
                n_keep, cfg.n_models, d.world_size, d.dp, d.tp, threads, cfg.output);

    if (ls_h5_flush(&h, &e)) die(&d, e.msg);
    double t_all = ls_now();
    int stopped = 0;
    for (size_t k = 0; k < cfg.n_models && !stopped; k++) {
        double tps = 0;
        stopped = run_model(&h, &mp[k], &cfg, &d, threads, resume, &e, &tps);
        if (ls_h5_flush(&h, &e)) die(&d, e.msg);
        if (root && !cfg.quiet && !stopped && tps > 0)
            fprintf(stderr, "[%s] done: %.0f tokens/s over all ranks\n", mp[k].spec->name, tps);
    }
    if (ls_h5_close(&h, &e)) die(&d, e.msg);
    if (stopped) {
        if (root)
            fprintf(stderr,
                    "logits-study run: stopped cleanly at a batch boundary (signal); %s is consistent; "
                    "continue with the same command and --resume\n",
                    cfg.output);
        rc = LS_OK;
        goto cleanup;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    /* rank 0 reduces (serial HDF5: the same /summary at any world size), then seals the
     * file: complete = 1, written last */
    if (root) {
        LsReduceOptions ro = ls_reduce_defaults(); /* bootstrap and seed: the root attributes written above */
        ro.verbose = !cfg.quiet;
        if (ls_reduce_file(cfg.output, &ro, &e)) {
            fprintf(stderr, "logits-study run: %s\n", e.msg);
            rc = LS_ERR;
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (root && rc == LS_OK) {
        hid_t fid = H5Fopen(cfg.output, H5F_ACC_RDWR, H5P_DEFAULT);
        if (fid < 0 || ls_h5_attr_i64(fid, "complete", 1, &e) < 0 || H5Fclose(fid) < 0) {
            fprintf(stderr, "logits-study run: %s: cannot mark the file complete\n", cfg.output);
            rc = LS_ERR;
        } else if (!cfg.quiet) {
            fprintf(stderr, "logits-study run: wrote %s in %.1f s\n", cfg.output, ls_now() - t_all);
        }
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);

cleanup:
    for (size_t k = 0; k < cfg.n_models; k++) {
        ls_targets_free(&mp[k].ts);
        ls_encoded_free(&mp[k].enc);
        ls_tokenizer_free(mp[k].tok);
    }
    for (size_t i = 0; i < ds.n_records; i++)
        free(long_reason[i]);
    free(long_reason);
    free(keep);
    free(mp);
    ls_dataset_free(&ds);
    ls_runcfg_free(&cfg);
    ls_dist_free(&d);
    MPI_Finalize();
    return rc ? 1 : stopped ? LS_EXIT_STOPPED : 0;

fail_early:
    ls_dataset_free(&ds);
    ls_runcfg_free(&cfg);
    ls_dist_free(&d);
    MPI_Finalize();
    return 1;
}
