/* test_batch_memory.c — batch_tokens is checked against the backend's memory
 * when the model is loaded (ls_forward_init), before anything is allocated:
 * an oversize batch is refused with the largest batch_tokens that fits; and a
 * backend's sticky error (LsBackend.check) comes back from ls_forward_batch
 * as an LsError. Runs on the CPU backend (no GPU needed): the CUDA backend
 * answers the same members with cudaMemGetInfo and its own scratch. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/backend.h"
#include "ls/forward.h"
#include "ls/model.h"

static LsModel model;
static LsBackend cpu_ops;       /* the real CPU backend's members */
static size_t fake_avail;       /* 0: the real MemAvailable */
static int n_allocs, n_weights; /* backend allocations seen */
static int fail_check;          /* check() reports a recorded error */

static size_t fake_mem_available(LsBackend *be) {
    return fake_avail ? fake_avail : cpu_ops.mem_available(be);
}
static void *counting_alloc(LsBackend *be, size_t bytes, LsError *e) {
    n_allocs++;
    return cpu_ops.alloc(be, bytes, e);
}
static int counting_weight_load(LsBackend *be, LsWeight *w, const LsWeightSlice *s, int ns, LsError *e) {
    n_weights++;
    return cpu_ops.weight_load(be, w, s, ns, e);
}
static LsBatchShape seen_shape; /* the last shape mem_needed was asked about */
static size_t recording_mem_needed(LsBackend *be, const LsBatchShape *s) {
    seen_shape = *s;
    return cpu_ops.mem_needed(be, s);
}
static int fake_check(LsBackend *be, LsError *e) {
    (void)be;
    return fail_check
               ? ls_fail(e, "cuda_backend.cu:123: cublasGemmEx(...) failed: CUBLAS_STATUS_EXECUTION_FAILED")
               : LS_OK;
}

static LsBackend *backend(void) {
    LsBackend *be = ls_backend_cpu_create(1);
    cpu_ops = *be;
    be->mem_available = fake_mem_available;
    be->alloc = counting_alloc;
    be->weight_load = counting_weight_load;
    be->check = fake_check;
    be->mem_needed = recording_mem_needed;
    n_allocs = n_weights = 0;
    fail_check = 0;
    return be;
}

static void open_model(void) {
    char dir[1024];
    const char *td = getenv("LS_TEST_DIR"); /* the GPU bundle's copy of tests/ */
    snprintf(dir, sizeof dir, "%s/fixtures/qwen2-tiny-untied", td && *td ? td : LS_TEST_DIR);
    LsError e = {{0}};
    cr_assert_eq(ls_model_open(&model, dir, &e), LS_OK, "%s", e.msg);
}

/* The N of "the largest batch_tokens that fits is N" in msg (or SIZE_MAX). */
static size_t largest_fitting(const char *msg) {
    const char *p = strstr(msg, "the largest batch_tokens that fits is ");
    if (!p) return SIZE_MAX;
    return (size_t)strtoull(p + strlen("the largest batch_tokens that fits is "), NULL, 10);
}

Test(batch_memory, oversize_refused_before_any_allocation) {
    open_model();
    LsBackend *be = backend();
    LsForward f;
    LsError e = {{0}};
    const size_t huge = (size_t)1 << 40; /* ~1e12 tokens: beyond any machine's memory */
    cr_assert_eq(ls_forward_init(&f, &model, be, NULL, huge, &e), LS_ERR);
    printf("refusal: %s\n", e.msg);
    cr_expect(strstr(e.msg, "batch_tokens=1099511627776") && strstr(e.msg, "GiB available"), "%s", e.msg);
    size_t n = largest_fitting(e.msg);
    cr_expect(n > 0 && n < huge, "largest fitting batch_tokens %zu: %s", n, e.msg);
    cr_expect_eq(n_allocs, 0, "%d backend allocations before the refusal", n_allocs);
    cr_expect_eq(n_weights, 0, "%d weights loaded before the refusal", n_weights);
    ls_forward_free(&f);
    be->destroy(be);
    ls_model_close(&model);
}

/* With a known budget the named size is exact: it fits, one more does not. */
Test(batch_memory, largest_fitting_is_exact) {
    open_model();
    LsBackend *be = backend();
    LsForward f;
    LsError e = {{0}};
    fake_avail = (size_t)96 << 20; /* the CPU's 64 MiB head scratch + weights + some tokens */
    cr_assert_eq(ls_forward_init(&f, &model, be, NULL, (size_t)1 << 30, &e), LS_ERR);
    size_t n = largest_fitting(e.msg);
    printf("with 96 MiB: %s\n", e.msg);
    cr_assert(n > 16 && n < ((size_t)1 << 30), "%s", e.msg);
    ls_forward_free(&f);
    cr_expect_eq(ls_forward_init(&f, &model, be, NULL, n, &e), LS_OK, "batch_tokens=%zu: %s", n, e.msg);
    ls_forward_free(&f);
    cr_expect_eq(ls_forward_init(&f, &model, be, NULL, n + 1, &e), LS_ERR);
    cr_expect_eq(largest_fitting(e.msg), n, "%s", e.msg);
    ls_forward_free(&f);
    /* a budget below the weights: the model itself does not fit */
    fake_avail = 1 << 20;
    cr_expect_eq(ls_forward_init(&f, &model, be, NULL, 16, &e), LS_ERR);
    cr_expect(strstr(e.msg, "does not fit"), "%s", e.msg);
    ls_forward_free(&f);
    fake_avail = 0;
    be->destroy(be);
    ls_model_close(&model);
}

/* The weights are counted at their stored size (the CPU keeps bf16, f16 and
 * quantized weights as stored): on one rank, the bytes of every matrix. */
Test(batch_memory, weights_counted_at_stored_size) {
    open_model();
    LsBackend *be = backend();
    LsForward f;
    LsError e = {{0}};
    memset(&seen_shape, 0, sizeof seen_shape);
    cr_assert_eq(ls_forward_init(&f, &model, be, NULL, 8, &e), LS_OK, "%s", e.msg);
    size_t bytes = model.embed->nbytes + (model.lm_head != model.embed ? model.lm_head->nbytes : 0);
    for (int l = 0; l < model.cfg.num_hidden_layers; l++) {
        const LsLayerWeights *w = &model.layers[l];
        bytes += w->q_w->nbytes + w->k_w->nbytes + w->v_w->nbytes + w->o_w->nbytes + w->gate_w->nbytes +
                 w->up_w->nbytes + w->down_w->nbytes;
    }
    cr_expect_eq(seen_shape.weight_bytes, bytes, "weight_bytes %zu, stored %zu", seen_shape.weight_bytes,
                 bytes);
    ls_forward_free(&f);
    be->destroy(be);
    ls_model_close(&model);
}

/* A recorded backend error comes back from the batch, not as an abort. */
Test(batch_memory, sticky_backend_error_returned_by_batch) {
    open_model();
    LsBackend *be = backend();
    LsForward f;
    LsError e = {{0}};
    cr_assert_eq(ls_forward_init(&f, &model, be, NULL, 8, &e), LS_OK, "%s", e.msg);
    int32_t ids[4] = {1, 2, 3, 4}, off[2] = {0, 4};
    cr_expect_eq(ls_forward_batch(&f, ids, off, 1, &e), LS_OK, "%s", e.msg);
    fail_check = 1;
    cr_expect_eq(ls_forward_batch(&f, ids, off, 1, &e), LS_ERR);
    cr_expect(strstr(e.msg, "CUBLAS_STATUS_EXECUTION_FAILED") && strstr(e.msg, "batch of 4 tokens"), "%s",
              e.msg);
    ls_forward_free(&f);
    be->destroy(be);
    ls_model_close(&model);
}
