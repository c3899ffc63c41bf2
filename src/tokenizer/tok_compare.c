/* tok_compare.c — do two tokenizers give every token the same id? */
#include <string.h>

#include "ls/tokenizer.h"

int32_t ls_tokenizer_first_difference(const LsTokenizer *a, const LsTokenizer *b) {
    size_t na = ls_tokenizer_vocab_size(a), nb = ls_tokenizer_vocab_size(b);
    size_t n = na < nb ? na : nb;
    for (size_t i = 0; i < n; i++) {
        const char *ta = ls_tokenizer_id_to_token(a, (int32_t)i),
                   *tb = ls_tokenizer_id_to_token(b, (int32_t)i);
        if ((ta == NULL) != (tb == NULL) || (ta && strcmp(ta, tb))) return (int32_t)i;
    }
    return na == nb ? -1 : (int32_t)n;
}
