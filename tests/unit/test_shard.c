/* test_shard.c — dealing records to DP groups and packing batches: every
 * record exactly once, balanced within the longest record, batches within
 * the budget, deterministic. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ls/shard.h"

static LsError err;

/* Checks the invariants of a plan for tokens[n]. */
static void check_plan(const LsShardPlan *p, const size_t *tokens, size_t n, size_t G, size_t budget) {
    cr_assert_eq(p->n_groups, G);
    unsigned char *seen = calloc(n ? n : 1, 1);
    size_t maxlen = 0, lo = (size_t)-1, hi = 0;
    for (size_t i = 0; i < n; i++)
        if (tokens[i] > maxlen) maxlen = tokens[i];
    for (size_t g = 0; g < G; g++) {
        const LsShardGroup *gr = &p->groups[g];
        size_t sum = 0;
        for (size_t j = 0; j < gr->n_records; j++) {
            size_t r = gr->records[j];
            cr_assert_lt(r, n);
            cr_assert_eq(seen[r], 0, "record %zu assigned twice", r);
            seen[r] = 1;
            sum += tokens[r];
        }
        cr_expect_eq(sum, gr->tokens);
        if (sum < lo) lo = sum;
        if (sum > hi) hi = sum;
        /* batches: contiguous cover of records, each within the budget unless a single record */
        if (gr->n_records == 0)
            cr_expect_eq(gr->n_batches, 0);
        else {
            cr_assert_eq(gr->batch_off[0], 0);
            cr_assert_eq(gr->batch_off[gr->n_batches], gr->n_records);
        }
        for (size_t b = 0; b < gr->n_batches; b++) {
            size_t s = gr->batch_off[b], t = gr->batch_off[b + 1], bt = 0;
            cr_assert_lt(s, t, "empty batch");
            for (size_t j = s; j < t; j++)
                bt += tokens[gr->records[j]];
            if (t - s > 1) cr_expect_leq(bt, budget, "group %zu batch %zu has %zu tokens", g, b, bt);
            /* next-fit: the batch could not take the next record */
            if (b + 1 < gr->n_batches) cr_expect_gt(bt + tokens[gr->records[t]], budget);
        }
    }
    for (size_t i = 0; i < n; i++)
        cr_assert(seen[i], "record %zu not assigned", i);
    cr_expect_leq(hi - lo, maxlen, "imbalance %zu > longest record %zu", hi - lo, maxlen);
    free(seen);
}

static int plans_equal(const LsShardPlan *a, const LsShardPlan *b) {
    if (a->n_groups != b->n_groups) return 0;
    for (size_t g = 0; g < a->n_groups; g++) {
        const LsShardGroup *x = &a->groups[g], *y = &b->groups[g];
        if (x->n_records != y->n_records || x->n_batches != y->n_batches || x->tokens != y->tokens) return 0;
        if (memcmp(x->records, y->records, x->n_records * sizeof(size_t))) return 0;
        if (memcmp(x->batch_off, y->batch_off, (x->n_batches + 1) * sizeof(size_t))) return 0;
    }
    return 1;
}

Test(shard, small_exact) {
    /* sorted: 9(r1) 7(r3) 5(r0) 5(r4) 2(r2); G=2:
     * r1→g0(9) r3→g1(7) r0→g1(12) r4→g0(14) r2→g1(14) */
    size_t tok[] = {5, 9, 2, 7, 5};
    LsShardPlan p;
    cr_assert_eq(ls_shard_plan(&p, tok, 5, 2, 10, &err), LS_OK, "%s", err.msg);
    check_plan(&p, tok, 5, 2, 10);
    cr_assert_eq(p.groups[0].n_records, 2);
    cr_expect_eq(p.groups[0].records[0], 1);
    cr_expect_eq(p.groups[0].records[1], 4);
    cr_assert_eq(p.groups[1].n_records, 3);
    cr_expect_eq(p.groups[1].records[0], 3);
    cr_expect_eq(p.groups[1].records[1], 0);
    cr_expect_eq(p.groups[1].records[2], 2);
    cr_expect_eq(p.groups[0].tokens, 14);
    cr_expect_eq(p.groups[1].tokens, 14);
    /* g0: [9] [5]; g1: [7] [5 2] */
    cr_expect_eq(p.groups[0].n_batches, 2);
    cr_expect_eq(p.groups[1].n_batches, 2);
    cr_expect_eq(p.groups[1].batch_off[1], 1);
    ls_shard_free(&p);
}

Test(shard, ties_by_index) {
    size_t tok[] = {4, 4, 4, 4, 4, 4};
    LsShardPlan p;
    cr_assert_eq(ls_shard_plan(&p, tok, 6, 3, 100, &err), LS_OK, "%s", err.msg);
    /* round robin by group index, records in index order */
    for (size_t g = 0; g < 3; g++) {
        cr_assert_eq(p.groups[g].n_records, 2);
        cr_expect_eq(p.groups[g].records[0], g);
        cr_expect_eq(p.groups[g].records[1], g + 3);
        cr_expect_eq(p.groups[g].n_batches, 1);
    }
    ls_shard_free(&p);
}

Test(shard, long_record_own_batch) {
    size_t tok[] = {3, 50, 3, 3};
    LsShardPlan p;
    cr_assert_eq(ls_shard_plan(&p, tok, 4, 1, 8, &err), LS_OK, "%s", err.msg);
    check_plan(&p, tok, 4, 1, 8);
    const LsShardGroup *g = &p.groups[0];
    cr_assert_eq(g->n_batches, 3); /* [50] [3 3] [3]: 3+3+3 = 9 > 8 */
    ls_shard_free(&p);
    cr_assert_eq(ls_shard_plan(&p, tok, 4, 1, 9, &err), LS_OK, "%s", err.msg);
    cr_expect_eq(p.groups[0].n_batches, 2);
    cr_expect_eq(p.groups[0].records[0], 1);
    cr_expect_eq(p.groups[0].batch_off[1], 1);
    ls_shard_free(&p);
}

Test(shard, more_groups_than_records) {
    size_t tok[] = {10, 20};
    LsShardPlan p;
    cr_assert_eq(ls_shard_plan(&p, tok, 2, 5, 100, &err), LS_OK, "%s", err.msg);
    check_plan(&p, tok, 2, 5, 100);
    cr_expect_eq(p.groups[0].records[0], 1);
    cr_expect_eq(p.groups[1].records[0], 0);
    for (size_t g = 2; g < 5; g++) {
        cr_expect_eq(p.groups[g].n_records, 0);
        cr_expect_eq(p.groups[g].n_batches, 0);
    }
    ls_shard_free(&p);
    cr_assert_eq(ls_shard_plan(&p, NULL, 0, 3, 100, &err), LS_OK, "%s", err.msg);
    check_plan(&p, NULL, 0, 3, 100);
    ls_shard_free(&p);
}

Test(shard, bad_arguments) {
    size_t tok[] = {1, 2};
    LsShardPlan p;
    cr_expect_eq(ls_shard_plan(&p, tok, 2, 0, 100, &err), LS_ERR);
    cr_expect(strstr(err.msg, "groups"), "%s", err.msg);
    cr_expect_eq(ls_shard_plan(&p, tok, 2, 2, 0, &err), LS_ERR);
    cr_expect(strstr(err.msg, "batch_tokens"), "%s", err.msg);
    size_t big[] = {(size_t)-1, 2};
    cr_expect_eq(ls_shard_plan(&p, big, 2, 2, 10, &err), LS_ERR);
    cr_expect(strstr(err.msg, "overflow"), "%s", err.msg);
    ls_shard_free(&p);
}

/* Random inputs (fixed seeds): invariants hold and two runs give the same plan. */
Test(shard, random_invariants_and_determinism) {
    unsigned long long s = 0x9E3779B97F4A7C15ull;
    for (int trial = 0; trial < 200; trial++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(s >> 33) % 500;
        size_t G = 1 + (size_t)(s >> 20) % 9;
        size_t budget = 1 + (size_t)(s >> 40) % 3000;
        size_t *tok = malloc((n ? n : 1) * sizeof *tok);
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            tok[i] = (size_t)(s >> 35) % 2048; /* duplicates and zeros on purpose */
        }
        LsShardPlan a, b;
        cr_assert_eq(ls_shard_plan(&a, tok, n, G, budget, &err), LS_OK, "%s", err.msg);
        cr_assert_eq(ls_shard_plan(&b, tok, n, G, budget, &err), LS_OK, "%s", err.msg);
        check_plan(&a, tok, n, G, budget);
        cr_assert(plans_equal(&a, &b), "trial %d not deterministic", trial);
        ls_shard_free(&a);
        ls_shard_free(&b);
        free(tok);
    }
}
