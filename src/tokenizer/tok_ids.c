/* tok_ids.c — token ids from a file (score / tokenize --ids-file): integers separated by whitespace
 * and at most one comma, optionally inside a JSON array "[...]". */
#include <stdlib.h>
#include <string.h>

#include "ls/tokenizer.h"

#define IDS_MAX_FILE ((size_t)1 << 30)

typedef struct {
    const char *path, *s;
    size_t len, pos;
    long line;
} Scan;

static int is_space(char ch) {
    return ch && strchr(" \t\r\n\f\v", ch);
}

/* What may follow an id. */
static int is_end(char ch) {
    return is_space(ch) || ch == ',' || ch == ']';
}

static void skip_space(Scan *c) {
    while (c->pos < c->len && is_space(c->s[c->pos])) {
        if (c->s[c->pos] == '\n') c->line++;
        c->pos++;
    }
}

static int bad(const Scan *c, LsError *e, const char *what) {
    char shown[24];
    size_t k = 0;
    while (k + 1 < sizeof shown && c->pos + k < c->len && !is_end(c->s[c->pos + k]) && c->s[c->pos + k])
        shown[k] = c->s[c->pos + k], k++;
    shown[k] = 0;
    return ls_fail(e, "%s:%ld: %s%s%s%s", c->path, c->line, what, k ? " ('" : "", shown, k ? "')" : "");
}

/* One id in [0, INT32_MAX]. */
static int read_id(Scan *c, int32_t *id, LsError *e) {
    size_t p = c->pos;
    long long v = 0;
    while (p < c->len && c->s[p] >= '0' && c->s[p] <= '9') {
        if (v <= INT32_MAX) v = v * 10 + (c->s[p] - '0'); /* stays above INT32_MAX once there */
        p++;
    }
    if (p == c->pos || (p < c->len && !is_end(c->s[p])))
        return bad(c, e, "expected a non-negative integer token id");
    if (v > INT32_MAX) return bad(c, e, "token id out of range [0, 2147483647]");
    *id = (int32_t)v;
    c->pos = p;
    return LS_OK;
}

int ls_token_ids_read(const char *path, int32_t **ids, size_t *n, LsError *e) {
    *ids = NULL;
    *n = 0;
    char *buf;
    size_t len;
    if (ls_read_file(path, IDS_MAX_FILE, &buf, &len, e)) return LS_ERR;
    Scan c = {path, buf, len, 0, 1};
    size_t cap = 1024, cnt = 0;
    int32_t *v = ls_malloc(cap * sizeof *v);
    int rc = LS_OK;
    skip_space(&c);
    int json = c.pos < len && buf[c.pos] == '[';
    if (json) c.pos++, skip_space(&c);
    while (rc == LS_OK && c.pos < len && !(json && buf[c.pos] == ']')) {
        if (cnt == cap) v = ls_realloc(v, (cap *= 2) * sizeof *v);
        if ((rc = read_id(&c, &v[cnt], e))) break;
        cnt++;
        skip_space(&c);
        if (c.pos < len && buf[c.pos] == ',') {
            c.pos++;
            skip_space(&c);
            if (c.pos >= len || buf[c.pos] == ']') rc = bad(&c, e, "expected a token id after ','");
        }
    }
    if (rc == LS_OK && json) {
        if (c.pos >= len) {
            rc = ls_fail(e, "%s:%ld: the JSON array is not closed with ']'", path, c.line);
        } else {
            c.pos++;
            skip_space(&c);
            if (c.pos < len) rc = bad(&c, e, "unexpected text after the JSON array");
        }
    }
    free(buf);
    if (rc == LS_OK && cnt > (size_t)INT32_MAX) rc = ls_fail(e, "%s: more than 2^31 - 1 ids", path);
    if (rc) {
        free(v);
        return LS_ERR;
    }
    *ids = v;
    *n = cnt;
    return LS_OK;
}
