/* template.c — prompt templates and lm-eval's whitespace rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls/data.h"

static const char ANSWER[] = "{answer}";
static const char QUERY[] = "{query}";

static size_t count_of(const char *s, const char *needle) {
    size_t n = 0, k = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + k, needle))
        n++;
    return n;
}

int ls_template_check(const char *t, LsError *e) {
    size_t na = count_of(t, ANSWER), nq = count_of(t, QUERY), len = strlen(t);
    if (na == 0)
        return ls_fail(e,
                       "the template has no {answer}; it must end with {answer}, where the answer text goes "
                       "(e.g. \"Query: {query}\\nAnswer: {answer}\")");
    if (na > 1) return ls_fail(e, "the template has {answer} %zu times; it must appear once, at its end", na);
    if (nq > 1) return ls_fail(e, "the template has {query} %zu times; it may appear at most once", nq);
    const char *a = strstr(t, ANSWER);
    if ((size_t)(a - t) + sizeof ANSWER - 1 != len)
        return ls_fail(e,
                       "the template has text after {answer} (\"%.40s\"): {answer} must end the template, "
                       "because the answer's tokens are scored as the continuation of the prompt; text after "
                       "it would be neither prompt nor answer and would change how the answer's last word "
                       "is tokenised. Move that text before {answer} or drop it",
                       a + sizeof ANSWER - 1);
    /* any other {name} placeholder is a typo ({qeury}) rather than literal text */
    for (const char *p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
        size_t k = 1;
        while ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= 'A' && p[k] <= 'Z') || p[k] == '_')
            k++;
        if (k > 1 && p[k] == '}' && strncmp(p, ANSWER, k + 1) && strncmp(p, QUERY, k + 1))
            return ls_fail(e,
                           "the template has an unknown placeholder '%.*s'; only {query} and {answer} exist",
                           (int)(k + 1), p);
    }
    return LS_OK;
}

int ls_template_split(const char *t, const char *query, char **prompt, LsError *e) {
    *prompt = NULL;
    if (ls_template_check(t, e)) return LS_ERR;
    size_t head = (size_t)(strstr(t, ANSWER) - t); /* bytes before {answer} */
    const char *q = strstr(t, QUERY);
    size_t qlen = strlen(query);
    if (!q || (size_t)(q - t) >= head) {
        char *p = ls_malloc(head + 1);
        memcpy(p, t, head);
        p[head] = '\0';
        *prompt = p;
        return LS_OK;
    }
    size_t before = (size_t)(q - t), after = head - before - (sizeof QUERY - 1);
    size_t n;
    if (ls_add_size(head, qlen, &n)) return ls_fail(e, "prompt size overflow");
    char *p = ls_malloc(n + 1);
    memcpy(p, t, before);
    memcpy(p + before, query, qlen);
    memcpy(p + before + qlen, q + sizeof QUERY - 1, after);
    p[before + qlen + after] = '\0';
    *prompt = p;
    return LS_OK;
}

/* Python's str.isspace() code points. */
static int py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* Decodes the code point that ends at s[n-1]; *k = its byte length. Invalid
 * sequences decode as one byte, code point 0xFFFD (never a space). */
static uint32_t last_codepoint(const unsigned char *s, size_t n, size_t *k) {
    size_t i = n - 1, cont = 0;
    while (i > 0 && cont < 3 && (s[i] & 0xC0) == 0x80)
        i--, cont++;
    unsigned lead = s[i];
    size_t want = lead < 0x80             ? 1
                  : (lead & 0xE0) == 0xC0 ? 2
                  : (lead & 0xF0) == 0xE0 ? 3
                  : (lead & 0xF8) == 0xF0 ? 4
                                          : 0;
    if (want != cont + 1) {
        *k = 1;
        return 0xFFFD;
    }
    uint32_t c = want == 1 ? lead : lead & (0x7F >> want);
    for (size_t j = 1; j < want; j++)
        c = (c << 6) | (s[i + j] & 0x3F);
    *k = want;
    return c;
}

void ls_template_move_space(const char *prompt, const char *answer, char **prompt_out, char **answer_out) {
    const unsigned char *s = (const unsigned char *)prompt;
    size_t n = strlen(prompt), keep = n;
    while (keep > 0) {
        size_t k;
        if (!py_isspace(last_codepoint(s, keep, &k))) break;
        keep -= k;
    }
    size_t moved = n - keep, alen = strlen(answer);
    char *p = ls_malloc(keep + 1);
    memcpy(p, prompt, keep);
    p[keep] = '\0';
    char *a = ls_malloc(moved + alen + 1);
    memcpy(a, prompt + keep, moved);
    memcpy(a + moved, answer, alen + 1);
    *prompt_out = p;
    *answer_out = a;
}
