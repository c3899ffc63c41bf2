/* cmd_compare.c — `logits-study compare`: where two models part ways on one
 * token sequence: per position KL both ways, Jensen-Shannon divergence,
 * top-1 agreement and the difference in log-prob of the actual token
 * (ls/divergence.h). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ls/backend.h"
#include "ls/divergence.h"
#include "ls/forward.h"
#include "ls/model.h"
#include "ls/parallel.h"
#include "ls/tokenizer.h"

static const char *USAGE =
    "usage: logits-study compare --model A --model B (--ids ID,ID,... | --ids-file FILE | --text TEXT |\n"
    "                            --text-file FILE)\n"
    "                            [--json] [--device auto|cpu|cuda] [--threads N] [--tp N]\n"
    "\n"
    "Runs models A and B (checkpoints that share a vocabulary: same size and, when\n"
    "both folders have a tokenizer, the same token for every id) over the same\n"
    "token ids (or the text, encoded with A's tokenizer) and prints for every\n"
    "position p the divergence between the distributions both predicted for token\n"
    "p, exact over the whole vocabulary (nats):\n"
    "  kl_ab = KL(p_A || p_B), kl_ba = KL(p_B || p_A), js = Jensen-Shannon,\n"
    "  top1_agree = both most probable tokens are the same,\n"
    "  dlogprob = log p_B(token p) - log p_A(token p).\n"
    "--ids-file FILE: the ids from a file (whitespace- or comma-separated, or a JSON\n"
    "array), for sequences too long for the command line.\n"
    "Position 0 has no prediction (null in --json). With --tp N, run under\n"
    "`mpirun -np N`: both models are split over the N ranks; rank 0 prints.\n";

static json_t *num_or_null(double x) {
    return isnan(x) ? json_null() : json_real(x);
}

/* Both tokenizers (where both folders have one) must give every token the same id. */
static int check_vocabularies(const char *a, const char *b, LsError *e) {
    LsTokenizer *ta = NULL, *tb = NULL;
    LsError ignore = {{0}};
    if (ls_tokenizer_load(&ta, a, &ignore) || ls_tokenizer_load(&tb, b, &ignore)) {
        ls_tokenizer_free(ta); /* one has no tokenizer: the vocabulary sizes are checked later */
        return LS_OK;
    }
    /* the vocabulary sizes are checked with the models (ls_pair_check) */
    const char *names[2] = {a, b};
    const LsTokenizer *toks[2] = {ta, tb};
    int32_t vocab[2] = {0, 0};
    LsModelPair pair = {0, 1}, *out = NULL;
    int nout;
    int rc = ls_pairs_resolve(names, toks, vocab, 2, &pair, 1, &out, &nout, NULL, e);
    free(out);
    ls_tokenizer_free(ta);
    ls_tokenizer_free(tb);
    return rc;
}

static void print_json(const char *a, const char *b, const int32_t *ids, int n, const LsPairStats *s) {
    json_t *root = json_object(), *pos = json_array();
    json_object_set_new(root, "model_a", json_string(a));
    json_object_set_new(root, "model_b", json_string(b));
    for (int p = 0; p < n; p++) {
        json_t *o = json_object();
        json_object_set_new(o, "p", json_integer(p));
        json_object_set_new(o, "token", json_integer(ids[p]));
        json_object_set_new(o, "kl_ab", num_or_null(s->kl_ab[p]));
        json_object_set_new(o, "kl_ba", num_or_null(s->kl_ba[p]));
        json_object_set_new(o, "js", num_or_null(s->js[p]));
        json_object_set_new(o, "top1_agree",
                            s->top1_agree[p] < 0 ? json_null() : json_boolean(s->top1_agree[p]));
        json_object_set_new(o, "dlogprob", num_or_null(s->dlogprob[p]));
        json_array_append_new(pos, o);
    }
    json_object_set_new(root, "positions", pos);
    json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9));
    fputc('\n', stdout);
    json_decref(root);
}

static void print_table(const char *a, const char *b, const int32_t *ids, int n, const LsPairStats *s) {
    printf("# A = %s, B = %s: %d tokens; divergences in nats; row p compares P(token p | tokens < p)\n", a, b,
           n);
    printf("%6s %8s %12s %12s %12s %5s %12s\n", "p", "token", "kl_ab", "kl_ba", "js", "top1", "dlogprob");
    for (int p = 0; p < n; p++) {
        if (s->top1_agree[p] < 0) {
            printf("%6d %8d %12s %12s %12s %5s %12s\n", p, ids[p], "-", "-", "-", "-", "-");
            continue;
        }
        printf("%6d %8d %12.6g %12.6g %12.6g %5s %12.6f\n", p, ids[p], s->kl_ab[p], s->kl_ba[p], s->js[p],
               s->top1_agree[p] ? "yes" : "no", s->dlogprob[p]);
    }
}

int ls_cmd_compare(int argc, char **argv) {
    const char *dir[2] = {NULL, NULL}, *ids_s = NULL, *text = NULL, *text_file = NULL, *device = "auto",
               *ids_file = NULL;
    int nmodels = 0, as_json = 0, threads = 0, tp = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(a, "--model") && has && nmodels < 2) {
            dir[nmodels++] = argv[++i];
        } else if (!strcmp(a, "--ids") && has) {
            ids_s = argv[++i];
        } else if (!strcmp(a, "--ids-file") && has) {
            ids_file = argv[++i];
        } else if (!strcmp(a, "--text") && has) {
            text = argv[++i];
        } else if (!strcmp(a, "--text-file") && has) {
            text_file = argv[++i];
        } else if (!strcmp(a, "--device") && has) {
            device = argv[++i];
        } else if (!strcmp(a, "--threads") && has) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(a, "--tp") && has) {
            tp = atoi(argv[++i]);
        } else if (!strcmp(a, "--json")) {
            as_json = 1;
        } else {
            fprintf(stderr, "logits-study compare: unknown or incomplete option '%s'\n%s", a, USAGE);
            return 2;
        }
    }
    if (nmodels != 2 || (!ids_s + !ids_file + !text + !text_file) != 3 || tp < 1) {
        fprintf(stderr,
                "logits-study compare: --model twice and one of --ids, --ids-file, --text, --text-file are "
                "required\n%s",
                USAGE);
        return 2;
    }
    LsError e = {{0}};
    int32_t *ids = NULL;
    int n = 0;
    if ((ids_s      ? ls_app_parse_ids(ids_s, "--ids", &ids, &n, &e)
         : ids_file ? ls_app_read_ids_file(ids_file, &ids, &n, &e)
                    : ls_app_encode_text(dir[0], text, text_file, &ids, &n, &e)) ||
        check_vocabularies(dir[0], dir[1], &e)) {
        fprintf(stderr, "logits-study compare: %s\n", e.msg);
        free(ids);
        return ids_s ? 2 : 1;
    }

    LsDist dist;
    LsComm *comm = NULL;
    if (tp > 1 && ls_app_tp_start("compare", tp, dir, 2, &dist, &comm)) {
        free(ids);
        return 2;
    }

    LsModel m[2];
    LsForward f[2];
    LsPairStats st;
    LsBackend *be = NULL;
    int opened = 0, rc = 1;
    memset(f, 0, sizeof f);
    memset(&st, 0, sizeof st);
    for (; opened < 2; opened++)
        if (ls_model_open(&m[opened], dir[opened], &e)) goto fail;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < n; i++)
            if (ids[i] >= m[k].cfg.vocab_size) {
                ls_fail(&e, "token %d (id %d) is outside the vocabulary [0, %d) of %s", i, ids[i],
                        m[k].cfg.vocab_size, dir[k]);
                goto fail;
            }
    be = ls_backend_create(device, -1, threads, LS_PREC_FP32, &e);
    if (!be) goto fail;
    if (comm && strcmp(be->name, "cpu")) {
        ls_fail(&e, "compare --tp runs on the CPU (--device cpu)");
        goto fail;
    }
    for (int k = 0; k < 2; k++)
        if (ls_forward_init(&f[k], &m[k], be, comm, (size_t)n, &e)) goto fail;
    if (ls_pair_check(&f[0], &f[1], &e)) goto fail;
    int32_t off[2] = {0, n};
    ls_pairstats_alloc(&st, (size_t)n);
    if (ls_forward_batch(&f[0], ids, off, 1, &e) || ls_forward_batch(&f[1], ids, off, 1, &e) ||
        ls_metrics_pair(&f[0], &f[1], ids, off, 1, &st, &e))
        goto fail;
    if (!comm || comm->rank == 0) {
        if (as_json)
            print_json(dir[0], dir[1], ids, n, &st);
        else
            print_table(dir[0], dir[1], ids, n, &st);
    }
    rc = 0;
    goto done;
fail:
    if (comm)
        fprintf(stderr, "logits-study compare: rank %d: %s\n", dist.world_rank, e.msg);
    else
        fprintf(stderr, "logits-study compare: %s\n", e.msg);
done:
    ls_app_tp_abort_if_failed(comm, rc);
    ls_pairstats_free(&st);
    for (int k = 0; k < 2; k++)
        ls_forward_free(&f[k]);
    if (be) be->destroy(be);
    for (int k = 0; k < opened; k++)
        ls_model_close(&m[k]);
    free(ids);
    ls_app_tp_finish(&dist, comm);
    return rc;
}
