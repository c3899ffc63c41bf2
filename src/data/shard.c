/* shard.c — dealing records to data-parallel groups and packing batches
 * (DESIGN §3: "samples are sorted by token length and dealt to DP groups so
 * that token counts balance; each group packs sequences into batches by a
 * token budget"). Pure and deterministic: every rank computes the same plan.
 */
#include "ls/shard.h"

#include <stdlib.h>
#include <string.h>

/* Sort key: tokens descending, then record index ascending (a total order,
 * so qsort's instability cannot show). */
typedef struct {
    size_t tokens, index;
} Item;

static int item_cmp(const void *pa, const void *pb) {
    const Item *a = pa, *b = pb;
    if (a->tokens != b->tokens) return a->tokens > b->tokens ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Min-heap of groups by (load, group index). */
typedef struct {
    size_t *g; /* [n] group indices */
    const size_t *load;
    size_t n;
} Heap;

static int heap_less(const Heap *h, size_t a, size_t b) {
    size_t ga = h->g[a], gb = h->g[b];
    if (h->load[ga] != h->load[gb]) return h->load[ga] < h->load[gb];
    return ga < gb;
}

static void heap_sift_down(Heap *h, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_less(h, l, m)) m = l;
        if (r < h->n && heap_less(h, r, m)) m = r;
        if (m == i) return;
        size_t t = h->g[i];
        h->g[i] = h->g[m];
        h->g[m] = t;
        i = m;
    }
}

int ls_shard_plan(LsShardPlan *plan, const size_t *tokens, size_t n, size_t n_groups, size_t batch_tokens,
                  LsError *e) {
    memset(plan, 0, sizeof *plan);
    if (n_groups == 0) return ls_fail(e, "shard: the number of data-parallel groups must be at least 1");
    if (batch_tokens == 0) return ls_fail(e, "shard: batch_tokens must be at least 1");
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ls_add_size(total, tokens[i], &total)) return ls_fail(e, "shard: token total overflows");

    Item *items = ls_malloc(n * sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = (Item){tokens[i], i};
    qsort(items, n, sizeof *items, item_cmp);

    /* deal: each record to the least-loaded group */
    size_t *owner = ls_malloc(n * sizeof *owner);
    size_t *load = ls_calloc(n_groups, sizeof *load);
    size_t *count = ls_calloc(n_groups, sizeof *count);
    Heap h = {ls_malloc(n_groups * sizeof(size_t)), load, n_groups};
    for (size_t g = 0; g < n_groups; g++)
        h.g[g] = g; /* all loads 0: already a heap by index */
    for (size_t i = 0; i < n; i++) {
        size_t g = h.g[0];
        owner[i] = g;
        load[g] += items[i].tokens;
        count[g]++;
        heap_sift_down(&h, 0);
    }

    plan->n_groups = n_groups;
    plan->groups = ls_calloc(n_groups, sizeof *plan->groups);
    for (size_t g = 0; g < n_groups; g++) {
        plan->groups[g].records = ls_malloc(count[g] * sizeof(size_t));
        plan->groups[g].tokens = load[g];
    }
    for (size_t i = 0; i < n; i++) {
        LsShardGroup *gr = &plan->groups[owner[i]];
        gr->records[gr->n_records++] = items[i].index;
    }

    /* pack: next-fit in dealing order (longest first) */
    for (size_t g = 0; g < n_groups; g++) {
        LsShardGroup *gr = &plan->groups[g];
        gr->batch_off = ls_malloc((gr->n_records + 1) * sizeof(size_t));
        gr->batch_off[0] = 0;
        size_t in_batch = 0; /* tokens in the open batch */
        for (size_t j = 0; j < gr->n_records; j++) {
            size_t t = tokens[gr->records[j]];
            if (j > gr->batch_off[gr->n_batches] && in_batch + t > batch_tokens) {
                gr->batch_off[++gr->n_batches] = j; /* close the open batch */
                in_batch = 0;
            }
            in_batch += t;
        }
        if (gr->n_records) gr->batch_off[++gr->n_batches] = gr->n_records;
    }

    free(h.g);
    free(count);
    free(load);
    free(owner);
    free(items);
    return LS_OK;
}

void ls_shard_free(LsShardPlan *plan) {
    if (!plan) return;
    for (size_t g = 0; g < plan->n_groups; g++) {
        free(plan->groups[g].records);
        free(plan->groups[g].batch_off);
    }
    free(plan->groups);
    memset(plan, 0, sizeof *plan);
}
