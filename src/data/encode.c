/* encode.c — records to token ids (prompt + answer) with one tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "ls/encode.h"

int ls_encode_records(LsEncoded *out, LsTokenizer *tok, const char *tmpl, const LsRecord *records, size_t n,
                      size_t max_tokens, int truncate, const char *data_name, LsError *e) {
    memset(out, 0, sizeof *out);
    out->n = n;
    out->off = ls_calloc(n + 1, sizeof(int64_t));
    out->answer_start = ls_calloc(n ? n : 1, sizeof(int32_t));
    out->full_len = ls_calloc(n ? n : 1, sizeof(int32_t));
    size_t cap = 4096, used = 0;
    out->ids = ls_malloc(cap * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) {
        const LsRecord *r = &records[i];
        char *prompt = NULL, *p2 = NULL, *a2 = NULL;
        int32_t *pi = NULL, *ai = NULL;
        size_t np = 0, na = 0;
        if (ls_template_split(tmpl, r->query, &prompt, e))
            return ls_fail_prefix(e, "%s:%zu", data_name, r->line);
        ls_template_move_space(prompt, r->answer, &p2, &a2);
        free(prompt);
        int rc = ls_tokenizer_encode(tok, p2, strlen(p2), 1, &pi, &np, e);
        if (rc == LS_OK) rc = ls_tokenizer_encode(tok, a2, strlen(a2), 0, &ai, &na, e);
        free(p2);
        free(a2);
        if (rc) {
            free(pi);
            free(ai);
            return ls_fail_prefix(e, "%s:%zu: tokenizing", data_name, r->line);
        }
        out->full_len[i] = (int32_t)(np + na);
        if (max_tokens && truncate && np + na > max_tokens) {
            if (np >= max_tokens) {
                free(pi);
                free(ai);
                return ls_fail(e, "%s:%zu: the prompt alone is %zu tokens, more than max_tokens=%zu",
                               data_name, r->line, np, max_tokens);
            }
            na = max_tokens - np;
        }
        while (used + np + na > cap)
            cap *= 2;
        out->ids = ls_realloc(out->ids, cap * sizeof(int32_t));
        if (np) memcpy(out->ids + used, pi, np * sizeof(int32_t));
        if (na) memcpy(out->ids + used + np, ai, na * sizeof(int32_t));
        used += np + na;
        out->answer_start[i] = (int32_t)np;
        out->off[i + 1] = (int64_t)used;
        free(pi);
        free(ai);
    }
    return LS_OK;
}

void ls_encoded_free(LsEncoded *enc) {
    free(enc->ids);
    free(enc->off);
    free(enc->answer_start);
    free(enc->full_len);
    memset(enc, 0, sizeof *enc);
}

void ls_encoded_select(LsEncoded *enc, const size_t *keep, size_t n) {
    /* keep is ascending, so every move goes to an earlier (or the same) place */
    int64_t at = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = keep[j];
        int64_t len = enc->off[i + 1] - enc->off[i];
        memmove(enc->ids + at, enc->ids + enc->off[i], (size_t)len * sizeof(int32_t));
        enc->answer_start[j] = enc->answer_start[i];
        enc->full_len[j] = enc->full_len[i];
        enc->off[j] = at;
        at += len;
    }
    enc->off[n] = at;
    enc->n = n;
}
