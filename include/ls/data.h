/* ls/data.h — the study's records (JSONL) and the prompt template.
 *
 * One JSON object per line:
 *   {"query": str, "answer": str, "level": 1..5, "is_correct": bool|null}
 * `is_correct` may be absent or null (unknown); an optional "problem_id"
 * (a non-negative JSON integer, or null) names the problem the answer belongs
 * to (the cluster of the statistics, docs/statistics.md); other keys are ignored.
 * Validation is strict: the file must be UTF-8 without NUL bytes, each line
 * one object without duplicate keys, `level` a JSON integer (3.0 and "3" are
 * errors), `is_correct` a JSON bool, `answer` non-empty. A UTF-8 BOM at the
 * start of the file, CRLF line ends and blank (whitespace-only) lines are
 * accepted. Errors name file:line (file:line:column where a byte is known).
 */
#ifndef LS_DATA_H
#define LS_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "ls/common.h"

typedef struct {
    char *query;        /* UTF-8, NUL-free */
    char *answer;       /* UTF-8, NUL-free, non-empty */
    int level;          /* 1..5 */
    int is_correct;     /* 1, 0, or -1 = unknown */
    int64_t problem_id; /* optional "problem_id" (answers to one problem share it): >= 0, or -1 = none */
    size_t line;        /* 1-based line in the source file */
} LsRecord;

typedef struct {
    size_t line;  /* 1-based line of the skipped record */
    char *reason; /* why, e.g. "field 'level': expected an integer 1..5, got 3.5" */
} LsBadRecord;

typedef struct {
    char *source; /* file path or name given to the parser */
    LsRecord *records;
    size_t n_records;
    LsBadRecord *bad; /* lines skipped with skip_bad (on_bad_record: skip) */
    size_t n_bad;
} LsDataset;

/* The largest JSONL file accepted: far above any study, still a sanity bound. */
#define LS_DATASET_MAX_BYTES ((size_t)16 << 30)

#define LS_LEVEL_MIN 1
#define LS_LEVEL_MAX 5

/* Loads a JSONL file. skip_bad: a bad record is listed in ds->bad and skipped
 * instead of failing. limit: stop after this many valid records (0 = all).
 * A dataset with no valid record is an error. On error ds is left empty. */
int ls_dataset_load(LsDataset *ds, const char *path, bool skip_bad, size_t limit, LsError *e);

/* Same from memory; `name` is used in messages. */
int ls_dataset_parse(LsDataset *ds, const char *buf, size_t len, const char *name, bool skip_bad,
                     size_t limit, LsError *e);

void ls_dataset_free(LsDataset *ds);

/* ---- prompt template --------------------------------------------------------
 * A template holds `{answer}` exactly once, at its very end, and `{query}` at
 * most once before it; any other `{name}` placeholder is an error. The text
 * before `{answer}` is the prompt; the answer is scored as its continuation. */

/* Checks a template; the message explains what is wrong. */
int ls_template_check(const char *tmpl, LsError *e);

/* The prompt for one record: the template's text before {answer}, with
 * {query} replaced by query. *prompt is a heap string. */
int ls_template_split(const char *tmpl, const char *query, char **prompt, LsError *e);

/* lm-eval's rule for a context/continuation pair: trailing whitespace of the
 * prompt (Python str.isspace, Unicode included) moves to the start of the
 * answer. Returns two new heap strings. */
void ls_template_move_space(const char *prompt, const char *answer, char **prompt_out, char **answer_out);

#endif
