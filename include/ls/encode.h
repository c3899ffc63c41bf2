/* ls/encode.h — records to token ids with one model's tokenizer: the prompt
 * (template text before {answer}, special tokens added as the tokenizer's
 * post-processor says) followed by the answer (no special tokens), with the
 * prompt's trailing whitespace moved to the answer (lm-eval's rule). */
#ifndef LS_ENCODE_H
#define LS_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "ls/data.h"
#include "ls/tokenizer.h"

typedef struct {
    size_t n;              /* samples (records) */
    int32_t *ids;          /* all samples' ids, concatenated */
    int64_t *off;          /* [n+1] sample i is ids[off[i]:off[i+1]] */
    int32_t *answer_start; /* [n] position of the first answer token within the sample */
    int32_t *full_len;     /* [n] length before any truncation */
} LsEncoded;

/* Encodes records[0..n) with template tmpl. max_tokens > 0 with truncate
 * cuts each sample's answer to fit (never the prompt: a prompt alone longer
 * than max_tokens is an error naming the record's line). */
int ls_encode_records(LsEncoded *out, LsTokenizer *tok, const char *tmpl, const LsRecord *records, size_t n,
                      size_t max_tokens, int truncate, const char *data_name, LsError *e);
void ls_encoded_free(LsEncoded *enc);
/* Keeps samples keep[0..n) (ascending indices), in that order, in place. */
void ls_encoded_select(LsEncoded *enc, const size_t *keep, size_t n);

#endif
