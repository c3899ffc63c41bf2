/* dataset.c — JSONL records → LsDataset (DESIGN §4 src/data/).
 *
 * The file is split into lines by hand (so every message names file:line),
 * each line is checked for NUL bytes and UTF-8 before jansson sees it, then
 * parsed by jansson with JSON_REJECT_DUPLICATES. jansson's error position is
 * within the line; it is reported as file:line:column (1-based bytes).
 */
#include "ls/data.h"
#include "ls/json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    LsDataset *ds;
    size_t cap_records, cap_bad;
} Builder;

static void push_record(Builder *b, LsRecord r) {
    LsDataset *ds = b->ds;
    if (ds->n_records == b->cap_records) {
        b->cap_records = b->cap_records ? 2 * b->cap_records : 64;
        ds->records = ls_realloc(ds->records, b->cap_records * sizeof *ds->records);
    }
    ds->records[ds->n_records++] = r;
}

static void push_bad(Builder *b, size_t line, const char *reason) {
    LsDataset *ds = b->ds;
    if (ds->n_bad == b->cap_bad) {
        b->cap_bad = b->cap_bad ? 2 * b->cap_bad : 16;
        ds->bad = ls_realloc(ds->bad, b->cap_bad * sizeof *ds->bad);
    }
    ds->bad[ds->n_bad++] = (LsBadRecord){line, ls_strdup(reason)};
}

__attribute__((format(printf, 3, 4))) static void say(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* Describes v briefly for messages: its JSON text, cut to 40 bytes. */
static void json_brief(const json_t *v, char *buf, size_t cap) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    say(buf, cap, "%s (%.40s%s)", ls_json_type_name(v), s ? s : "?", s && strlen(s) > 40 ? "..." : "");
    free(s);
}

/* Parses one non-blank line into *r. On failure writes the reason (without
 * file:line) into why, and *col = the 1-based byte column within p where a
 * byte is known (0 otherwise). */
static int parse_line(const char *p, size_t n, LsRecord *r, size_t *col, char *why, size_t cap) {
    *col = 0;
    const char *nul = memchr(p, '\0', n);
    if (nul) {
        *col = (size_t)(nul - p) + 1;
        say(why, cap, "NUL byte");
        return LS_ERR;
    }
    size_t bad;
    if (!ls_utf8_valid((const unsigned char *)p, n, &bad)) {
        *col = bad + 1;
        say(why, cap, "invalid UTF-8 (byte 0x%02x)", (unsigned char)p[bad]);
        return LS_ERR;
    }
    json_error_t je;
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        /* the line holds no newline, so je.line is 1 and je.position the byte offset */
        *col = je.position > 0 ? (size_t)je.position : 1;
        if (json_error_code(&je) == json_error_premature_end_of_input)
            say(why, cap, "truncated record: the line ends inside the JSON value (%s)", je.text);
        else
            say(why, cap, "invalid JSON: %s", je.text);
        return LS_ERR;
    }
    char desc[96];
    int rc = LS_ERR;
    if (!json_is_object(o)) {
        json_brief(o, desc, sizeof desc);
        say(why, cap, "expected a JSON object, got %s", desc);
        goto out;
    }
    json_t *q = json_object_get(o, "query"), *a = json_object_get(o, "answer");
    json_t *lv = json_object_get(o, "level"), *ok = json_object_get(o, "is_correct");
    static const char *const REQUIRED[] = {"query", "answer", "level"};
    for (size_t i = 0; i < LS_ARRAY_LEN(REQUIRED); i++)
        if (!json_object_get(o, REQUIRED[i])) {
            say(why, cap, "missing field '%s'", REQUIRED[i]);
            goto out;
        }
    if (!json_is_string(q)) {
        json_brief(q, desc, sizeof desc);
        say(why, cap, "field 'query': expected a string, got %s", desc);
        goto out;
    }
    if (!json_is_string(a)) {
        json_brief(a, desc, sizeof desc);
        say(why, cap, "field 'answer': expected a string, got %s", desc);
        goto out;
    }
    if (json_string_length(a) == 0) {
        say(why, cap, "field 'answer': empty string (nothing to score)");
        goto out;
    }
    if (!json_is_integer(lv) || json_integer_value(lv) < LS_LEVEL_MIN ||
        json_integer_value(lv) > LS_LEVEL_MAX) {
        json_brief(lv, desc, sizeof desc);
        say(why, cap, "field 'level': expected an integer %d..%d, got %s", LS_LEVEL_MIN, LS_LEVEL_MAX, desc);
        goto out;
    }
    json_t *pid = json_object_get(o, "problem_id");
    if (pid && !json_is_null(pid) && (!json_is_integer(pid) || json_integer_value(pid) < 0)) {
        json_brief(pid, desc, sizeof desc);
        say(why, cap, "field 'problem_id': expected a non-negative integer or null, got %s", desc);
        goto out;
    }
    int correct = -1;
    if (ok && !json_is_null(ok)) {
        if (!json_is_boolean(ok)) {
            json_brief(ok, desc, sizeof desc);
            say(why, cap, "field 'is_correct': expected true, false or null, got %s", desc);
            goto out;
        }
        correct = json_is_true(ok);
    }
    /* jansson rejects \u0000 (no JSON_ALLOW_NUL), so these are NUL-free C strings */
    r->query = ls_strdup(json_string_value(q));
    r->answer = ls_strdup(json_string_value(a));
    r->level = (int)json_integer_value(lv);
    r->is_correct = correct;
    r->problem_id = pid && json_is_integer(pid) ? (int64_t)json_integer_value(pid) : -1;
    rc = LS_OK;
out:
    json_decref(o);
    return rc;
}

static int is_blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

int ls_dataset_parse(LsDataset *ds, const char *buf, size_t len, const char *name, bool skip_bad,
                     size_t limit, LsError *e) {
    memset(ds, 0, sizeof *ds);
    if (!name) name = "<jsonl>";
    ds->source = ls_strdup(name);
    Builder b = {.ds = ds};
    size_t pos = 0, line = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3; /* UTF-8 BOM */
    size_t line_start = 0; /* for byte columns counted from the line start */
    while (pos < len && (limit == 0 || ds->n_records < limit)) {
        line++;
        const char *p = buf + pos;
        const char *nl = memchr(p, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - p) : len - pos;
        size_t col0 = pos - line_start; /* BOM bytes before the first line's text */
        pos += n + (nl != NULL);
        line_start = pos;
        if (n && p[n - 1] == '\r') n--; /* CRLF */
        if (is_blank(p, n)) continue;

        char why[512];
        size_t col;
        LsRecord r = {0};
        if (parse_line(p, n, &r, &col, why, sizeof why) == LS_OK) {
            r.line = line;
            push_record(&b, r);
            continue;
        }
        if (!nl && !strncmp(why, "truncated record", 16))
            say(why, sizeof why,
                "truncated last line: the file ends inside a JSON object (no closing brace)");
        if (col) col += col0; /* the file's byte column (after a BOM on line 1) */
        if (!skip_bad) {
            if (col)
                ls_fail(e, "%s:%zu:%zu: %s", name, line, col, why);
            else
                ls_fail(e, "%s:%zu: %s", name, line, why);
            ls_dataset_free(ds);
            return LS_ERR;
        }
        char reason[600];
        if (col)
            say(reason, sizeof reason, "column %zu: %s", col, why);
        else
            say(reason, sizeof reason, "%s", why);
        push_bad(&b, line, reason);
    }
    if (ds->n_records == 0) {
        if (ds->n_bad)
            ls_fail(e, "%s: no valid records (%zu bad line%s skipped; the first, line %zu: %s)", name,
                    ds->n_bad, ds->n_bad == 1 ? "" : "s", ds->bad[0].line, ds->bad[0].reason);
        else
            ls_fail(e, "%s: no records: the file is empty or has only blank lines", name);
        ls_dataset_free(ds);
        return LS_ERR;
    }
    return LS_OK;
}

int ls_dataset_load(LsDataset *ds, const char *path, bool skip_bad, size_t limit, LsError *e) {
    memset(ds, 0, sizeof *ds);
    char *buf;
    size_t len;
    if (ls_read_file(path, LS_DATASET_MAX_BYTES, &buf, &len, e)) return LS_ERR;
    int rc = ls_dataset_parse(ds, buf, len, path, skip_bad, limit, e);
    free(buf);
    return rc;
}

void ls_dataset_free(LsDataset *ds) {
    if (!ds) return;
    for (size_t i = 0; i < ds->n_records; i++) {
        free(ds->records[i].query);
        free(ds->records[i].answer);
    }
    for (size_t i = 0; i < ds->n_bad; i++)
        free(ds->bad[i].reason);
    free(ds->records);
    free(ds->bad);
    free(ds->source);
    memset(ds, 0, sizeof *ds);
}
