/* mpi_grid.c — the process grid under mpirun (run by tests/scripts/test_mpi.sh):
 *   mpi_grid TP                       checks the grid of `world` ranks with tp = TP
 *   mpi_grid TP --expect-error TEXT   ls_dist_init must fail on every rank with TEXT
 * Checks: tp_rank = rank % tp, dp_rank = rank / tp, TP groups of consecutive
 * ranks, DP groups of equal tp_rank, the MPI collectives of LsComm, one GPU
 * per local rank, the model-shape checks and ls_dist_agree; the tree-order
 * all-reduce equals the canonical tree bitwise. Exit 0 = pass. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/parallel.h"

static int g_rank;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", g_rank, __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                                    \
            fputc('\n', stderr);                                                                             \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                                    \
        }                                                                                                    \
    } while (0)

/* The value TP rank i contributes at element j: magnitudes 1e8 apart, so the order of the sum shows. */
static float tree_val(int i, size_t j) {
    static const float v[8] = {1e8f, 1.0f, -1e8f, 3.0f, 0.5f, -7e7f, 2.5e-3f, 6e7f};
    return v[(i + j) % 8] * (float)(1 + j % 3);
}
/* The canonical tree ((v0 + v1) + (v2 + v3)) ... over n (a power of two) ranks. */
static float tree_sum(int i0, int n, size_t j) {
    return n == 1 ? tree_val(i0, j) : tree_sum(i0, n / 2, j) + tree_sum(i0 + n / 2, n / 2, j);
}

/* allreduce_sum_tree_f32: bitwise the canonical tree on every rank (also across its 1 Mi-float pieces);
 * -1 for a group that is not a power of two. */
static void check_tree_sum(LsComm *c) {
    const size_t n = ((size_t)1 << 20) + 5;
    float *buf = malloc(n * sizeof(float));
    for (size_t j = 0; j < n; j++)
        buf[j] = tree_val(c->rank, j);
    if (c->size & (c->size - 1)) {
        CHECK(c->allreduce_sum_tree_f32(c, buf, n) == -1, "tree sum over %d ranks must refuse", c->size);
        free(buf);
        return;
    }
    CHECK(c->allreduce_sum_tree_f32(c, buf, n) == 0, "tree sum");
    int plain_differs = 0;
    for (size_t j = 0; j < n; j++) {
        float want = tree_sum(0, c->size, j), seq = 0.0f;
        CHECK(buf[j] == want, "tree sum[%zu] = %.9g, want %.9g", j, buf[j], want);
        for (int i = 0; i < c->size; i++)
            seq += tree_val(i, j);
        plain_differs += seq != want;
    }
    /* the test values are such that a left-to-right sum differs somewhere (for 4+ ranks) */
    CHECK(c->size < 4 || plain_differs > 0, "test values do not tell the orders apart");
    free(buf);
}

static void check_model_shapes(void) {
    LsModelConfig c;
    memset(&c, 0, sizeof c);
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.intermediate_size = 128;
    LsDist d;
    memset(&d, 0, sizeof d);
    LsError e;
    for (int tp = 1; tp <= 4; tp *= 2) {
        d.tp = tp;
        CHECK(ls_dist_check_model(&d, &c, &e) == LS_OK, "tp=%d: %s", tp, e.msg);
    }
    d.tp = 3;
    CHECK(ls_dist_check_model(&d, &c, &e) == LS_ERR &&
              strstr(e.msg, "tp=3 does not divide the model's 4 attention"),
          "%s", e.msg);
    d.tp = 8;
    CHECK(ls_dist_check_model(&d, &c, &e) == LS_ERR &&
              strstr(e.msg, "larger than the model's 4 attention heads"),
          "%s", e.msg);
    c.intermediate_size = 126;
    d.tp = 4;
    CHECK(ls_dist_check_model(&d, &c, &e) == LS_ERR &&
              strstr(e.msg, "does not divide the model's intermediate_size 126"),
          "%s", e.msg);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    int world;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (argc < 2) {
        fprintf(stderr, "usage: mpi_grid TP [--expect-error TEXT]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int tp = atoi(argv[1]);
    const char *expect = argc > 3 && !strcmp(argv[2], "--expect-error") ? argv[3] : NULL;
    LsDist d;
    LsError e = {{0}};
    int rc = ls_dist_init(&d, MPI_COMM_WORLD, tp, &e);
    if (expect) {
        CHECK(rc == LS_ERR, "world %d tp %d: ls_dist_init succeeded", world, tp);
        CHECK(strstr(e.msg, expect), "message '%s' lacks '%s'", e.msg, expect);
        if (g_rank == 0) printf("world %d tp %d: rejected as expected: %s\n", world, tp, e.msg);
        MPI_Finalize();
        return 0;
    }
    CHECK(rc == LS_OK, "%s", e.msg);

    /* grid arithmetic */
    CHECK(d.world_rank == g_rank && d.world_size == world, "world");
    CHECK(d.tp == tp && d.dp == world / tp, "tp %d dp %d", d.tp, d.dp);
    CHECK(d.tp_rank == g_rank % tp, "tp_rank %d", d.tp_rank);
    CHECK(d.dp_rank == g_rank / tp, "dp_rank %d", d.dp_rank);
    CHECK(d.comm.rank == d.tp_rank && d.comm.size == tp, "LsComm rank %d size %d", d.comm.rank, d.comm.size);
    CHECK(d.local_size == world && d.local_rank == g_rank, "one node: local %d/%d", d.local_rank,
          d.local_size);

    /* TP group: consecutive world ranks dp_rank*tp .. dp_rank*tp + tp - 1, in order */
    int n;
    MPI_Comm_size(d.tp_comm, &n);
    CHECK(n == tp, "tp_comm size %d", n);
    int *members = malloc(sizeof(int) * (size_t)world);
    MPI_Allgather(&g_rank, 1, MPI_INT, members, 1, MPI_INT, d.tp_comm);
    for (int i = 0; i < tp; i++)
        CHECK(members[i] == d.dp_rank * tp + i, "tp group member %d is %d", i, members[i]);
    /* DP group: ranks with the same tp_rank */
    MPI_Comm_size(d.dp_comm, &n);
    CHECK(n == d.dp, "dp_comm size %d", n);
    MPI_Allgather(&g_rank, 1, MPI_INT, members, 1, MPI_INT, d.dp_comm);
    for (int i = 0; i < d.dp; i++)
        CHECK(members[i] == i * tp + d.tp_rank, "dp group member %d is %d", i, members[i]);

    /* collectives over the TP group */
    float buf[5];
    for (int j = 0; j < 5; j++)
        buf[j] = (float)(g_rank * 10 + j);
    CHECK(d.comm.allreduce_sum_f32(&d.comm, buf, 5) == 0, "allreduce");
    for (int j = 0; j < 5; j++) {
        float want = 0;
        for (int i = 0; i < tp; i++)
            want += (float)((d.dp_rank * tp + i) * 10 + j);
        CHECK(buf[j] == want, "allreduce[%d] = %g, want %g", j, buf[j], want);
    }
    for (int j = 0; j < 5; j++)
        buf[j] = (float)((g_rank * 7 + j * 3) % 5) - (j == 2 ? INFINITY : 0.0f);
    CHECK(d.comm.allreduce_max_f32(&d.comm, buf, 5) == 0, "allreduce max");
    for (int j = 0; j < 5; j++) {
        float want = -INFINITY;
        for (int i = 0; i < tp; i++) {
            float v = (float)(((d.dp_rank * tp + i) * 7 + j * 3) % 5) - (j == 2 ? INFINITY : 0.0f);
            if (v > want) want = v;
        }
        CHECK(buf[j] == want, "allreduce max[%d] = %g, want %g", j, buf[j], want);
    }
    int bc[3] = {g_rank, g_rank + 1, g_rank + 2};
    CHECK(d.comm.broadcast(&d.comm, bc, sizeof bc, tp - 1) == 0, "broadcast");
    CHECK(bc[0] == d.dp_rank * tp + tp - 1 && bc[2] == bc[0] + 2, "broadcast from the last TP rank: %d",
          bc[0]);
    CHECK(d.comm.seconds >= 0.0, "comm time");
    int pair[2] = {g_rank, -g_rank}, got[8];
    CHECK(d.comm.allgather_host(&d.comm, pair, got, sizeof pair) == 0, "allgather");
    for (int i = 0; i < tp; i++)
        CHECK(got[2 * i] == d.dp_rank * tp + i && got[2 * i + 1] == -got[2 * i], "allgather block %d", i);
    check_tree_sum(&d.comm);
    CHECK(d.comm.abort == NULL, "MPI comm has no abort hook");

    /* one GPU per rank */
    CHECK(ls_dist_assign_gpu(&d, world, &e) == LS_OK && d.gpu == d.local_rank, "%s", e.msg);
    CHECK(ls_dist_assign_gpu(&d, world + 3, &e) == LS_OK && d.gpu == d.local_rank, "%s", e.msg);
    CHECK(ls_dist_assign_gpu(&d, 0, &e) == LS_ERR && strstr(e.msg, "no CUDA GPU visible") && d.gpu == -1,
          "%s", e.msg);
    if (world > 1)
        CHECK(ls_dist_assign_gpu(&d, world - 1, &e) == LS_ERR && strstr(e.msg, "two ranks would share a GPU"),
              "%s", e.msg);
#ifndef LS_HAVE_NCCL
    d.gpu = 0;
    CHECK(ls_dist_use_nccl(&d, NULL, &e) == LS_ERR && strstr(e.msg, "without NCCL"), "%s", e.msg);
#endif

    /* every rank learns the first failure */
    CHECK(ls_dist_agree(&d, LS_OK, &e) == LS_OK, "agree on success");
    rc = g_rank == world - 1 ? ls_fail(&e, "boom %d", g_rank) : LS_OK;
    CHECK(ls_dist_agree(&d, rc, &e) == LS_ERR, "agree on failure");
    char want[64];
    snprintf(want, sizeof want, "rank %d: boom %d", world - 1, world - 1);
    CHECK(!strcmp(e.msg, want), "agreed message '%s', want '%s'", e.msg, want);

    check_model_shapes();
    free(members);
    ls_dist_free(&d);
    MPI_Barrier(MPI_COMM_WORLD);
    if (g_rank == 0) printf("world %d tp %d: grid ok (dp %d)\n", world, tp, world / tp);
    MPI_Finalize();
    return 0;
}
