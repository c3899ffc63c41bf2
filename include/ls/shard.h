/* ls/shard.h — data-parallel sharding of records (pure functions, no MPI).
 *
 * Records are dealt to G data-parallel groups so that token totals balance:
 * sorted by token count descending (ties: lower record index first), each
 * goes to the least-loaded group (ties: lower group index). The largest and
 * smallest group totals then differ by at most the longest record. Within a
 * group, records keep that order and are packed next-fit into batches of at
 * most batch_tokens tokens; a record longer than batch_tokens gets a batch
 * of its own. The result depends only on the inputs (deterministic on every
 * rank, so every rank can compute the whole plan and take its own part).
 */
#ifndef LS_SHARD_H
#define LS_SHARD_H

#include <stddef.h>

#include "ls/common.h"

typedef struct {
    size_t *records; /* [n_records] record indices, in processing order */
    size_t n_records;
    size_t tokens;     /* sum of the group's token counts */
    size_t *batch_off; /* [n_batches + 1] offsets into records: batch b is records[off[b]:off[b+1]] */
    size_t n_batches;
} LsShardGroup;

typedef struct {
    LsShardGroup *groups; /* [n_groups] */
    size_t n_groups;
} LsShardPlan;

/* tokens: [n] token count of each record. n may be 0 (every group empty).
 * Errors: n_groups == 0, batch_tokens == 0, token total overflow. */
int ls_shard_plan(LsShardPlan *plan, const size_t *tokens, size_t n, size_t n_groups, size_t batch_tokens,
                  LsError *e);

void ls_shard_free(LsShardPlan *plan);

#endif
