/* cmd_score.c — `logits-study score`: per-position statistics of one model
 * for one token sequence (ids given on the command line). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "ls/backend.h"
#include "ls/forward.h"
#include "ls/lens.h"
#include "ls/metrics.h"
#include "ls/model.h"
#include "ls/parallel.h"
#include "ls/tokenizer.h"

static const char *USAGE =
    "usage: logits-study score --model DIR (--ids ID,ID,... | --ids-file FILE | --text TEXT |\n"
    "                          --text-file FILE)\n"
    "                          [--top-k K] [--targets ID,...]\n"
    "                          [--json] [--device auto|cpu|cuda] [--threads N] [--tp N]\n"
    "                          [--timing] [--repeat R] [--sums fixed|plain] [--precision fp32|bf16]\n"
    "                          [--lens P,P,... | all]\n"
    "\n"
    "Runs the model in DIR (a Hugging Face Qwen2, Llama, Qwen3 or Gemma 3 text checkpoint:\n"
    "config.json + safetensors) over the token ids (or the text, encoded with DIR's\n"
    "tokenizer: tokenizer.json, else a GGUF's) and prints, for every position p, the distribution the model\n"
    "predicted for token p from the tokens before it: log-prob of the actual token,\n"
    "entropy (nats), the top-K tokens and the log-probs of the --targets ids.\n"
    "Position 0 has no prediction (null in --json).\n"
    "--ids-file FILE: the ids from a file (whitespace- or comma-separated, or a JSON\n"
    "array), for sequences too long for the command line.\n"
    "With --tp N, run under `mpirun -np N`: the model is split over the N ranks\n"
    "(tensor parallelism) and rank 0 prints.\n"
    "--lens P,...: the logit lens at positions P (1 <= P < tokens; all = every one):\n"
    "the final norm and the head applied to the residual stream after the embeddings\n"
    "(depth 0) and after every layer (depth l), giving per depth the log-prob of\n"
    "token P and the entropy of the distribution predicted for it (depth L = the\n"
    "model's own prediction); printed after the table, in --json under \"lens\".\n"
    "--timing prints one JSON line of timings to stderr (load, forward, head; the\n"
    "fastest of --repeat R runs) with tokens/s and model GFLOP/s.\n"
    "--sums plain (for benchmarks): the row-parallel layers as one GEMM and a plain\n"
    "all-reduce instead of the fixed order that makes every tp give the same bits\n"
    "on the CPU (docs/parallelism.md); the CUDA backend always sums plainly.\n"
    "--precision fp32 (default; within 1e-4 of transformers fp32) or bf16: GEMMs on\n"
    "bf16 inputs with fp32 accumulation (GPU; CPU where the processor has AVX512-BF16,\n"
    "else it says so and computes in fp32).\n";

/* Parses "1,2,3" into a heap array; the error names the bad element. */
int ls_app_parse_ids(const char *s, const char *opt, int32_t **out, int *n, LsError *e) {
    *out = NULL;
    *n = 0;
    int cap = 16;
    int32_t *v = ls_malloc((size_t)cap * sizeof *v);
    const char *p = s;
    for (int idx = 0;; idx++) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || (*end != ',' && *end != '\0')) {
            free(v);
            return ls_fail(e, "%s: element %d ('%.*s') is not a non-negative integer id", opt, idx + 1,
                           (int)strcspn(p, ","), p);
        }
        if (*n == cap) v = ls_realloc(v, (size_t)(cap *= 2) * sizeof *v);
        v[(*n)++] = (int32_t)x;
        if (*end == '\0') break;
        p = end + 1;
    }
    *out = v;
    return LS_OK;
}

/* --text / --text-file: the model folder's tokenizer, special tokens added as
 * its post-processor says (BOS for DeepSeek-R1-Distill / Llama-3). */
int ls_app_encode_text(const char *dir, const char *text, const char *file, int32_t **ids, int *n,
                       LsError *e) {
    char *buf = NULL;
    size_t len = 0;
    if (file) {
        if (ls_read_file(file, (size_t)1 << 30, &buf, &len, e)) return LS_ERR;
    } else {
        buf = ls_strdup(text);
        len = strlen(buf);
    }
    LsTokenizer *tok = NULL;
    size_t cnt = 0;
    int rc = ls_tokenizer_load(&tok, dir, e);
    if (!rc) rc = ls_tokenizer_encode(tok, buf, len, 1, ids, &cnt, e);
    if (rc && file) ls_fail_prefix(e, "%s", file);
    if (!rc && cnt == 0) rc = ls_fail(e, "the text encodes to no tokens");
    if (!rc && cnt > INT32_MAX) rc = ls_fail(e, "the text is too long");
    *n = (int)cnt;
    ls_tokenizer_free(tok);
    free(buf);
    return rc;
}

int ls_app_tp_start(const char *cmd, int tp, const char *const *dirs, int ndirs, LsDist *dist,
                    LsComm **comm) {
    LsError e = {{0}};
    MPI_Init(NULL, NULL);
    if (ls_dist_init(dist, MPI_COMM_WORLD, tp, &e) == LS_OK && dist->dp != 1)
        ls_fail(&e, "%s runs one sequence: launch exactly --tp %d ranks, not %d", cmd, tp, dist->world_size);
    for (int i = 0; i < ndirs && !e.msg[0]; i++) { /* before any weight: config.json or GGUF metadata */
        LsModelConfig cfg;
        if (ls_model_config_load(&cfg, dirs[i], &e) == LS_OK) {
            ls_dist_check_model(dist, &cfg, &e);
            ls_config_free(&cfg);
        }
    }
    if (e.msg[0]) {
        int rank = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        if (rank == 0) fprintf(stderr, "logits-study %s: %s\n", cmd, e.msg);
        MPI_Finalize();
        return LS_ERR;
    }
    ls_log_set_rank(dist->world_rank);
    *comm = &dist->comm;
    return LS_OK;
}

void ls_app_tp_abort_if_failed(const LsComm *comm, int rc) {
    if (!comm || rc == 0) return;
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, rc); /* no rank is left waiting in a collective */
}

void ls_app_tp_finish(LsDist *dist, const LsComm *comm) {
    if (!comm) return;
    ls_dist_free(dist);
    MPI_Finalize();
}

int ls_app_read_ids_file(const char *path, int32_t **ids, int *n, LsError *e) {
    size_t cnt;
    if (ls_token_ids_read(path, ids, &cnt, e)) return LS_ERR;
    if (cnt == 0 || cnt > INT32_MAX) {
        free(*ids);
        *ids = NULL;
        return ls_fail(e, "%s: %s", path, cnt ? "too many ids" : "no token ids in the file");
    }
    *n = (int)cnt;
    return LS_OK;
}

static json_t *num_or_null(double x) {
    return isnan(x) ? json_null() : json_real(x);
}

/* --lens: "all" (positions 1 .. n - 1) or a list of positions in [1, n). */
static int lens_positions(const char *s, int n, int32_t **out, int *cnt, LsError *e) {
    if (!strcmp(s, "all")) {
        *cnt = n - 1 > 0 ? n - 1 : 0;
        *out = ls_malloc((size_t)(*cnt > 0 ? *cnt : 1) * sizeof(int32_t));
        for (int i = 0; i < *cnt; i++)
            (*out)[i] = i + 1;
        return *cnt ? LS_OK : ls_fail(e, "--lens all: the sequence has no position with a prediction");
    }
    if (ls_app_parse_ids(s, "--lens", out, cnt, e)) return LS_ERR;
    for (int i = 0; i < *cnt; i++)
        if ((*out)[i] < 1 || (*out)[i] >= n) {
            ls_fail(e, "--lens element %d (%d): positions with a prediction are 1 .. %d", i + 1, (*out)[i],
                    n - 1);
            free(*out);
            *out = NULL;
            return LS_ERR;
        }
    return LS_OK;
}

static json_t *float_array(const float *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, num_or_null(v[i]));
    return a;
}

static json_t *lens_json(const int32_t *pos, int np, const int32_t *ids, const LsLensTap *tap,
                         const float *lp, const float *ent) {
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "depths", json_integer(tap->depths));
    for (int i = 0; i < np; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "p", json_integer(pos[i]));
        json_object_set_new(o, "token", json_integer(ids[pos[i]]));
        json_object_set_new(o, "logprob", float_array(lp + (size_t)i * tap->depths, tap->depths));
        json_object_set_new(o, "entropy", float_array(ent + (size_t)i * tap->depths, tap->depths));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "positions", arr);
    return root;
}

static void print_lens(const int32_t *pos, int np, const int32_t *ids, const LsLensTap *tap, const float *lp,
                       const float *ent) {
    printf("# logit lens: depth 0 = embeddings, depth l = after layer l (%d = the model's prediction)\n",
           tap->depths - 1);
    printf("%6s %8s %6s %12s %10s\n", "p", "token", "depth", "logprob", "entropy");
    for (int i = 0; i < np; i++)
        for (int k = 0; k < tap->depths; k++)
            printf("%6d %8d %6d %12.6f %10.6f\n", pos[i], ids[pos[i]], k, lp[(size_t)i * tap->depths + k],
                   ent[(size_t)i * tap->depths + k]);
}

int ls_cmd_score(int argc, char **argv) {
    const char *model_dir = NULL, *ids_s = NULL, *tgt_s = NULL, *device = "auto", *text = NULL,
               *text_file = NULL, *ids_file = NULL, *lens_s = NULL;
    int K = 5, as_json = 0, threads = 0, tp = 1, timing = 0, repeat = 1, plain_sums = 0;
    LsPrecision prec = LS_PREC_FP32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--model") && has) {
            model_dir = argv[++i];
        } else if (!strcmp(a, "--ids") && has) {
            ids_s = argv[++i];
        } else if (!strcmp(a, "--ids-file") && has) {
            ids_file = argv[++i];
        } else if (!strcmp(a, "--text") && has) {
            text = argv[++i];
        } else if (!strcmp(a, "--text-file") && has) {
            text_file = argv[++i];
        } else if (!strcmp(a, "--lens") && has) {
            lens_s = argv[++i];
        } else if (!strcmp(a, "--targets") && has) {
            tgt_s = argv[++i];
        } else if (!strcmp(a, "--top-k") && has) {
            char *end;
            long k = strtol(argv[++i], &end, 10);
            if (*end || k < 0 || k > 64) {
                fprintf(stderr, "logits-study score: --top-k '%s': expected an integer in 0..64\n", argv[i]);
                return 2;
            }
            K = (int)k;
        } else if (!strcmp(a, "--threads") && has) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(a, "--tp") && has) {
            tp = atoi(argv[++i]);
        } else if (!strcmp(a, "--device") && has) {
            device = argv[++i];
        } else if (!strcmp(a, "--timing")) {
            timing = 1;
        } else if (!strcmp(a, "--repeat") && has) {
            repeat = atoi(argv[++i]);
            if (repeat < 1) repeat = 1;
        } else if (!strcmp(a, "--sums") && has) {
            const char *v = argv[++i];
            if (strcmp(v, "fixed") && strcmp(v, "plain")) {
                fprintf(stderr, "logits-study score: --sums '%s': expected fixed or plain\n", v);
                return 2;
            }
            plain_sums = !strcmp(v, "plain");
        } else if (!strcmp(a, "--precision") && has) {
            const char *v = argv[++i];
            if (ls_precision_parse(v, &prec)) {
                fprintf(stderr, "logits-study score: --precision '%s': expected fp32 or bf16\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--json")) {
            as_json = 1;
        } else {
            fprintf(stderr, "logits-study score: unknown or incomplete option '%s'\n%s", a, USAGE);
            return 2;
        }
    }
    if (!model_dir || (!ids_s + !ids_file + !text + !text_file) != 3) {
        fprintf(stderr,
                "logits-study score: --model and one of --ids, --text, --text-file are required (or "
                "--ids-file)\n%s",
                USAGE);
        return 2;
    }
    LsError e = {{0}};
    int32_t *ids = NULL, *tgt = NULL, *lens_p = NULL;
    int n = 0, ntgt = 0, nlens = 0, rc = 1;
    if (ids_file && ls_app_read_ids_file(ids_file, &ids, &n, &e)) {
        fprintf(stderr, "logits-study score: %s\n", e.msg);
        return 1;
    }
    if (!ids_s && !ids_file && ls_app_encode_text(model_dir, text, text_file, &ids, &n, &e)) {
        fprintf(stderr, "logits-study score: %s\n", e.msg);
        return 1;
    }
    if ((ids_s && ls_app_parse_ids(ids_s, "--ids", &ids, &n, &e)) ||
        (tgt_s && ls_app_parse_ids(tgt_s, "--targets", &tgt, &ntgt, &e)) ||
        (lens_s && lens_positions(lens_s, n, &lens_p, &nlens, &e))) {
        fprintf(stderr, "logits-study score: %s\n", e.msg);
        free(ids);
        free(tgt);
        return 2;
    }
    LsDist dist;
    LsComm *comm = NULL;
    if (tp > 1 && ls_app_tp_start("score", tp, &model_dir, 1, &dist, &comm)) {
        free(ids);
        free(tgt);
        free(lens_p);
        return 2;
    }
    double t_load0 = ls_now();
    LsModel m;
    LsBackend *be = NULL;
    LsForward f;
    LsPosStats st;
    LsLensTap tap;
    float *lens_lp = NULL, *lens_ent = NULL;
    memset(&f, 0, sizeof f);
    memset(&st, 0, sizeof st);
    memset(&tap, 0, sizeof tap);
    if (ls_model_open(&m, model_dir, &e)) {
        fprintf(stderr, "logits-study score: %s\n", e.msg);
        if (comm) MPI_Abort(MPI_COMM_WORLD, 1);
        free(ids);
        free(tgt);
        free(lens_p);
        return 1;
    }
    const LsModelConfig *c = &m.cfg;
    for (int i = 0; i < n; i++)
        if (ids[i] >= c->vocab_size) {
            fprintf(stderr,
                    "logits-study score: --ids element %d (%d) is outside the vocabulary [0, %d) of %s\n",
                    i + 1, ids[i], c->vocab_size, model_dir);
            goto done;
        }
    for (int i = 0; i < ntgt; i++)
        if (tgt[i] >= c->vocab_size) {
            fprintf(stderr,
                    "logits-study score: --targets element %d (%d) is outside the vocabulary [0, %d)\n",
                    i + 1, tgt[i], c->vocab_size);
            goto done;
        }
    if (K > c->vocab_size) K = c->vocab_size;
    {
        /* one GPU per rank (device local_rank, or 0 when each rank sees one GPU) */
        char why[256];
        int ngpu = ls_cuda_device_count(why, sizeof why);
        int gpu = !comm || ngpu == 1 ? (comm ? 0 : -1) : dist.local_rank;
        be = ls_backend_create(device, gpu, threads, prec, &e);
        if (comm) { /* every rank on the same kind; TP all-reduces on device buffers go through NCCL */
            if (ls_dist_agree(&dist, be ? LS_OK : LS_ERR, &e) == LS_OK) {
                int is_cuda = !strcmp(be->name, "cuda"), lo, hi;
                MPI_Allreduce(&is_cuda, &lo, 1, MPI_INT, MPI_MIN, dist.world);
                MPI_Allreduce(&is_cuda, &hi, 1, MPI_INT, MPI_MAX, dist.world);
                if (lo != hi) {
                    ls_fail(&e, "device auto: some ranks see a usable GPU and others do not; use --device");
                } else if (is_cuda) {
                    dist.gpu = gpu < 0 ? 0 : gpu;
                    ls_dist_use_nccl(&dist, NULL, &e); /* freed by ls_dist_free */
                }
            }
            if (e.msg[0]) {
                fprintf(stderr, "logits-study score: %s\n", e.msg);
                goto done;
            }
        }
    }
    if (be && plain_sums) be->linear_cols = NULL; /* the forward pass then sums plainly (ls/forward.h) */
    if (!be || ls_forward_init(&f, &m, be, comm, (size_t)n, &e)) {
        fprintf(stderr, "logits-study score: %s\n", e.msg);
        goto done;
    }
    int32_t off[2] = {0, n};
    ls_posstats_alloc(&st, (size_t)n, K, ntgt);
    if (nlens) { /* row P - 1 predicts token P */
        int32_t *rows = ls_malloc((size_t)nlens * sizeof(int32_t));
        for (int i = 0; i < nlens; i++)
            rows[i] = lens_p[i] - 1;
        ls_lens_tap(&f, &tap, rows, nlens);
        free(rows);
    }
    double t_load = ls_now() - t_load0, t_fwd = INFINITY, t_head = INFINITY, t_comm = 0, t_lens = 0,
           t_cpu = 0;
    for (int r = 0; r < repeat; r++) {
        double c0 = comm ? comm->seconds : 0;
        double t0 = ls_now(), cpu0 = (double)clock() / CLOCKS_PER_SEC;
        if (ls_forward_batch(&f, ids, off, 1, &e)) goto fail;
        be->sync(be);
        double t1 = ls_now();
        if (ls_metrics_head(&f, ids, off, 1, tgt, ntgt, K, &st, &e)) goto fail;
        double t2 = ls_now();
        if (t2 - t0 < t_fwd + t_head) { /* of the fastest run: comm seconds, process CPU seconds */
            t_comm = comm ? comm->seconds - c0 : 0;
            t_cpu = (double)clock() / CLOCKS_PER_SEC - cpu0;
        }
        if (t1 - t0 < t_fwd) t_fwd = t1 - t0;
        if (t2 - t1 < t_head) t_head = t2 - t1;
    }
    if (nlens) {
        int32_t *want = ls_malloc((size_t)nlens * sizeof(int32_t));
        for (int i = 0; i < nlens; i++)
            want[i] = ids[lens_p[i]];
        lens_lp = ls_malloc((size_t)nlens * (size_t)tap.depths * sizeof(float));
        lens_ent = ls_malloc((size_t)nlens * (size_t)tap.depths * sizeof(float));
        double t0 = ls_now();
        int lrc = ls_lens_eval(&f, &tap, want, lens_lp, lens_ent, &e);
        t_lens = ls_now() - t0;
        free(want);
        if (lrc) goto fail;
    }
    if (timing && (!comm || comm->rank == 0)) {
        double fl = ls_forward_flops(c, off, 1);
        LsDeviceInfo di;
        be->describe(be, &di);
        for (char *q = di.runtime; *q; q++) /* a JSON string as it is */
            if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) *q = '\'';
        fprintf(stderr,
                "{\"tokens\": %d, \"threads\": %d, \"tp\": %d, \"load_s\": %.4f, \"forward_s\": %.4f, "
                "\"head_s\": %.4f, \"comm_s\": %.4f, \"tokens_per_s\": %.2f, \"gflop\": %.3f, "
                "\"gflops\": %.2f, \"cpu_s\": %.4f, \"sums\": \"%s\", \"precision\": \"%s\", "
                "\"lens_positions\": %d, \"lens_s\": %.4f, \"runtime\": \"%s\"}\n",
                n, threads, tp, t_load, t_fwd, t_head, t_comm, n / (t_fwd + t_head), fl / 1e9,
                fl / (t_fwd + t_head) / 1e9, t_cpu, f.ordered ? "fixed" : "plain",
                ls_precision_name(be->precision), nlens, t_lens, di.runtime);
    }
    if (comm && comm->rank != 0) {
        rc = 0;
        goto done;
    }
    if (as_json) {
        json_t *root = json_object(), *toks = json_array(), *pos = json_array();
        json_object_set_new(root, "model", json_string(model_dir));
        for (int p = 0; p < n; p++) {
            json_array_append_new(toks, json_integer(ids[p]));
            json_t *o = json_object();
            json_object_set_new(o, "p", json_integer(p));
            json_object_set_new(o, "token", json_integer(ids[p]));
            json_object_set_new(o, "logprob", num_or_null(st.logprob[p]));
            json_object_set_new(o, "entropy", num_or_null(st.entropy[p]));
            json_t *top = json_null(), *tg = json_null();
            if (!isnan(st.logprob[p])) {
                top = json_array();
                for (int k = 0; k < K; k++) {
                    json_t *pair = json_array();
                    json_array_append_new(pair, json_integer(st.top_ids[(size_t)p * K + k]));
                    json_array_append_new(pair, json_real(st.top_lp[(size_t)p * K + k]));
                    json_array_append_new(top, pair);
                }
                tg = json_array();
                for (int t = 0; t < ntgt; t++)
                    json_array_append_new(tg, json_real(st.target_lp[(size_t)p * ntgt + t]));
            }
            json_object_set_new(o, "top", top);
            json_object_set_new(o, "targets", tg);
            json_array_append_new(pos, o);
        }
        json_object_set_new(root, "tokens", toks);
        json_object_set_new(root, "positions", pos);
        if (nlens) json_object_set_new(root, "lens", lens_json(lens_p, nlens, ids, &tap, lens_lp, lens_ent));
        json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9));
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("# model %s: %d tokens; log-probs in nats; row p = P(token p | tokens < p)\n", model_dir, n);
        printf("%6s %8s %12s %10s  %s\n", "p", "token", "logprob", "entropy", "top (id:logprob) | targets");
        for (int p = 0; p < n; p++) {
            printf("%6d %8d ", p, ids[p]);
            if (isnan(st.logprob[p])) {
                printf("%12s %10s  -\n", "-", "-");
                continue;
            }
            printf("%12.6f %10.6f  ", st.logprob[p], st.entropy[p]);
            for (int k = 0; k < K; k++)
                printf("%s%d:%.4f", k ? " " : "", st.top_ids[(size_t)p * K + k],
                       st.top_lp[(size_t)p * K + k]);
            if (ntgt) {
                printf(" |");
                for (int t = 0; t < ntgt; t++)
                    printf(" %d:%.4f", tgt[t], st.target_lp[(size_t)p * ntgt + t]);
            }
            putchar('\n');
        }
        if (nlens) print_lens(lens_p, nlens, ids, &tap, lens_lp, lens_ent);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "logits-study score: %s\n", e.msg);
done:
    ls_app_tp_abort_if_failed(comm, rc);
    ls_posstats_free(&st);
    ls_lens_tap_free(&f, &tap);
    free(lens_p);
    free(lens_lp);
    free(lens_ent);
    ls_forward_free(&f);
    if (be) be->destroy(be);
    ls_model_close(&m);
    free(ids);
    free(tgt);
    ls_app_tp_finish(&dist, comm);
    return rc;
}
