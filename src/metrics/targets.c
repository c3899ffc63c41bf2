/* targets.c — target words: surface forms through a tokenizer, and their
 * occurrences in answers mapped onto token spans. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "ls/targets.h"

/* Applies a case to a UTF-8 word (lower / first letter upper / all upper). */
static int case_word(const char *w, LsCase c, char *out, size_t cap) {
    size_t o = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)w;
    utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(w), i = 0;
    int first = 1;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, len - i, &cp);
        if (k <= 0) return -1;
        cp = utf8proc_tolower(cp);
        if (c == LS_CASE_UPPER || (c == LS_CASE_CAPITALIZED && first)) cp = utf8proc_toupper(cp);
        first = 0;
        utf8proc_uint8_t buf[4];
        utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
        if (o + (size_t)n + 1 > cap) return -1;
        memcpy(out + o, buf, (size_t)n);
        o += (size_t)n;
        i += k;
    }
    out[o] = '\0';
    return 0;
}

int ls_targets_resolve(LsTargetSet *ts, LsTokenizer *tok, char **words, size_t n_words,
                       const LsSurfaceForm *sf, size_t n_sf, LsError *e) {
    memset(ts, 0, sizeof *ts);
    ts->words = words;
    ts->n_words = n_words;
    ts->n_forms = n_words * n_sf;
    ts->forms = ls_calloc(ts->n_forms ? ts->n_forms : 1, sizeof(LsForm));
    ts->col_ids = ls_malloc((ts->n_forms ? ts->n_forms : 1) * sizeof(int32_t));
    ts->col_form = ls_malloc((ts->n_forms ? ts->n_forms : 1) * sizeof(int));
    for (size_t w = 0; w < n_words; w++) {
        const char *word = words[w];
        if (!word[0]) return ls_fail(e, "target word %zu is empty", w + 1);
        /* letters only, so that word boundaries are well defined */
        const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)word;
        utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(word);
        for (utf8proc_ssize_t i = 0; i < len;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate(p + i, len - i, &cp);
            utf8proc_category_t cat = k > 0 ? utf8proc_category(cp) : UTF8PROC_CATEGORY_CN;
            if (k <= 0 || cat < UTF8PROC_CATEGORY_LU || cat > UTF8PROC_CATEGORY_LO)
                return ls_fail(e, "target word '%s': only letters are allowed", word);
            i += k;
        }
        for (size_t s = 0; s < n_sf; s++) {
            LsForm *f = &ts->forms[w * n_sf + s];
            f->word = (int)w;
            f->sf = sf[s];
            f->column = -1;
            char cased[LS_FORM_MAX_BYTES];
            if (case_word(word, sf[s].letter_case, cased, sizeof cased - 1))
                return ls_fail(e, "target word '%s' is longer than %d bytes", word, LS_FORM_MAX_BYTES - 2);
            size_t cl = strlen(cased), sp = sf[s].leading_space ? 1 : 0;
            if (sp) f->text[0] = ' ';
            memcpy(f->text + sp, cased, cl + 1);
            size_t n = 0;
            if (ls_tokenizer_encode(tok, f->text, strlen(f->text), 0, &f->ids, &n, e))
                return ls_fail_prefix(e, "target form '%s'", f->text);
            f->n_ids = (int)n;
            if (n == 1) {
                f->column = (int)ts->n_cols;
                ts->col_ids[ts->n_cols] = f->ids[0];
                ts->col_form[ts->n_cols] = (int)(w * n_sf + s);
                ts->n_cols++;
            }
        }
    }
    return LS_OK;
}

void ls_targets_free(LsTargetSet *ts) {
    if (ts->forms)
        for (size_t i = 0; i < ts->n_forms; i++)
            free(ts->forms[i].ids);
    free(ts->forms);
    free(ts->col_ids);
    free(ts->col_form);
    memset(ts, 0, sizeof *ts);
}

/* Whether the code point ending just before byte a (or starting at byte b) is a letter or digit. */
static int is_word_cp(utf8proc_int32_t cp) {
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) || c == UTF8PROC_CATEGORY_ND ||
           c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO || c == UTF8PROC_CATEGORY_MN ||
           c == UTF8PROC_CATEGORY_MC || cp == '_';
}

static int word_before(const unsigned char *t, size_t a) {
    if (a == 0) return 0;
    size_t s = a - 1;
    while (s > 0 && (t[s] & 0xC0) == 0x80 && a - s < 4)
        s--;
    utf8proc_int32_t cp;
    if (utf8proc_iterate(t + s, (utf8proc_ssize_t)(a - s), &cp) <= 0)
        return 1; /* invalid bytes: not a boundary */
    return is_word_cp(cp);
}

static int word_after(const unsigned char *t, size_t len, size_t b) {
    if (b >= len) return 0;
    utf8proc_int32_t cp;
    size_t n = len - b < 4 ? len - b : 4;
    if (utf8proc_iterate(t + b, (utf8proc_ssize_t)n, &cp) <= 0) return 1;
    return is_word_cp(cp);
}

/* Index of the token starting at byte off (starts [n+1] ascending), or -1. */
static long token_at(const size_t *starts, size_t n, size_t off) {
    size_t lo = 0, hi = n + 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (starts[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo <= n && starts[lo] == off ? (long)lo : -1;
}

void ls_find_occurrences(const LsTargetSet *ts, const LsTokenizer *tok, int64_t sample,
                         const int32_t *ans_ids, size_t n, int32_t answer_start, const float *logprob,
                         const int32_t *rank, LsOccurrence **occ, size_t *n_occ, size_t *cap) {
    if (n == 0 || ts->n_forms == 0) return;
    /* the answer's text as its tokens decode, with each token's byte start */
    size_t *lens = ls_malloc(n * sizeof(size_t)), *starts = ls_malloc((n + 1) * sizeof(size_t));
    ls_tokenizer_byte_lens(tok, ans_ids, n, lens);
    starts[0] = 0;
    for (size_t i = 0; i < n; i++)
        starts[i + 1] = starts[i] + lens[i];
    size_t len = starts[n];
    unsigned char *text = ls_malloc(len + 1);
    for (size_t i = 0; i < n; i++) {
        size_t bl;
        const uint8_t *b = ls_tokenizer_token_bytes(tok, ans_ids[i], &bl);
        if (bl) memcpy(text + starts[i], b, bl);
    }
    text[len] = '\0';
    size_t n_sf = ts->n_forms / ts->n_words;
    for (size_t w = 0; w < ts->n_words; w++) {
        /* each case variant once (the no-space form's text, or the space form's minus the space) */
        for (size_t s = 0; s < n_sf; s++) {
            const LsForm *f = &ts->forms[w * n_sf + s];
            if (f->sf.leading_space) {
                /* skip if the same case has a no-space form: that one drives the search */
                int dup = 0;
                for (size_t s2 = 0; s2 < n_sf; s2++)
                    if (!ts->forms[w * n_sf + s2].sf.leading_space &&
                        ts->forms[w * n_sf + s2].sf.letter_case == f->sf.letter_case)
                        dup = 1;
                if (dup) continue;
            }
            const char *needle = f->text + (f->sf.leading_space ? 1 : 0);
            size_t nl = strlen(needle);
            /* the forms of this case: with and without space */
            int form_sp = -1, form_ns = -1;
            for (size_t s2 = 0; s2 < n_sf; s2++) {
                const LsForm *g = &ts->forms[w * n_sf + s2];
                if (g->sf.letter_case != f->sf.letter_case) continue;
                if (g->sf.leading_space)
                    form_sp = (int)(w * n_sf + s2);
                else
                    form_ns = (int)(w * n_sf + s2);
            }
            for (const unsigned char *hit = (const unsigned char *)strstr((const char *)text, needle); hit;
                 hit = (const unsigned char *)strstr((const char *)hit + 1, needle)) {
                size_t a = (size_t)(hit - text), b = a + nl;
                if (word_before(text, a) || word_after(text, len, b)) continue;
                long t0 = -1;
                int form = -1;
                if (a > 0 && text[a - 1] == ' ' && form_sp >= 0 && (t0 = token_at(starts, n, a - 1)) >= 0)
                    form = form_sp;
                else if ((t0 = token_at(starts, n, a)) >= 0 && form_ns >= 0)
                    form = form_ns;
                else
                    form = a > 0 && text[a - 1] == ' ' && form_sp >= 0 ? form_sp
                                                                       : (form_ns >= 0 ? form_ns : form_sp);
                long t1 = token_at(starts, n, b);
                if (*n_occ == *cap) {
                    *cap = *cap ? *cap * 2 : 64;
                    *occ = ls_realloc(*occ, *cap * sizeof **occ);
                }
                LsOccurrence *o = &(*occ)[(*n_occ)++];
                memset(o, 0, sizeof *o);
                o->sample = sample;
                o->word = (int16_t)w;
                o->form = (int16_t)form;
                if (t0 >= 0 && t1 > t0) {
                    double lp = 0.0;
                    for (long t = t0; logprob && t < t1; t++)
                        lp += logprob[answer_start + t];
                    o->position = answer_start + (int32_t)t0;
                    o->n_tokens = (int16_t)(t1 - t0);
                    o->logprob = logprob ? (float)lp : NAN;
                    o->rank_first = rank ? rank[answer_start + t0] : 0;
                    o->aligned = 1;
                } else {
                    /* the boundary falls inside a token: counted, not scored */
                    long t = 0;
                    while (t < (long)n && starts[t + 1] <= a)
                        t++;
                    o->position = answer_start + (int32_t)t;
                    o->n_tokens = 0;
                    o->logprob = NAN;
                    o->rank_first = 0;
                    o->aligned = 0;
                }
            }
        }
    }
    free(text);
    free(lens);
    free(starts);
}
