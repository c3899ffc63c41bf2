/* inspect_pairs.h — the pairs / logit-lens section of `logits-study inspect` (inspect_pairs.c). */
#ifndef LS_APP_INSPECT_PAIRS_H
#define LS_APP_INSPECT_PAIRS_H

#include "ls/reduce.h"
#include "ls/reduce_pairs.h"

/* The text section (nothing when the file has no pair or lens table); models / words: the --model /
 * --word filters (n = 0: all). */
void ls_inspect_pairs_text(const LsSummary *s, const LsPairsSummary *ps, const char *const *models, int nm,
                           const char *const *words, int nw);

#endif
