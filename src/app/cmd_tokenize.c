/* cmd_tokenize.c — `logits-study tokenize`: JSON lines in, JSON lines out.
 *
 *   encode (default): each input line is a JSON string; output is the JSON array of ids.
 *   --decode:         each input line is a JSON array of ids; output is the decoded JSON string.
 *
 * A bad line stops the command with an error naming the line number (so output lines always
 * correspond one-to-one to the input lines before it). */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ls/tokenizer.h"

static void usage(FILE *f) {
    fprintf(f, "usage: logits-study tokenize --tokenizer PATH [--no-special] [--decode] [--ids-file FILE]\n"
               "\n"
               "Reads JSON lines from stdin and writes one JSON line per input line to stdout:\n"
               "  encode (default)  input: a JSON string        output: the array of token ids\n"
               "  --decode          input: a JSON array of ids  output: the decoded text as a JSON string\n"
               "\n"
               "  --tokenizer PATH  model folder with tokenizer.json (and tokenizer_config.json), else\n"
               "                    with one .gguf file, or a .gguf file (its tokenizer.ggml.* metadata)\n"
               "  --no-special      encode without the post-processor's special tokens (e.g. BOS),\n"
               "                    like add_special_tokens=False in HF tokenizers\n"
               "  --decode          decode instead of encode (special tokens are kept in the text)\n"
               "  --ids-file FILE   decode the ids in FILE (whitespace- or comma-separated, or a JSON\n"
               "                    array) instead of reading stdin: one output line\n"
               "  --time            report on stderr the time spent in encode/decode and the throughput\n"
               "  -h, --help        this help\n"
               "\n"
               "Encoding matches HF tokenizers' Tokenizer.encode(text, add_special_tokens).ids; decoding\n"
               "matches Tokenizer.decode(ids, skip_special_tokens=False). The text must be valid\n"
               "Unicode (no lone surrogates).\n");
}

/* Writes "[1,2,3]\n" (faster than one fprintf per id on long outputs). */
static void write_ids(FILE *out, const int32_t *ids, size_t n) {
    char buf[4096];
    size_t o = 0;
    buf[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (o > sizeof buf - 16) {
            fwrite(buf, 1, o, out);
            o = 0;
        }
        if (i) buf[o++] = ',';
        char tmp[12];
        int k = 0;
        uint32_t v = (uint32_t)ids[i]; /* ids are >= 0 */
        do {
            tmp[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (k)
            buf[o++] = tmp[--k];
    }
    buf[o++] = ']';
    buf[o++] = '\n';
    fwrite(buf, 1, o, out);
}

/* Time spent inside ls_tokenizer_encode/decode and the text bytes they handled (--time). */
static double g_busy;
static size_t g_bytes;

static int do_line(LsTokenizer *tok, const char *line, size_t len, long lineno, int decode, int add_special,
                   FILE *out) {
    json_error_t je;
    json_t *j = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j) {
        fprintf(stderr, "logits-study tokenize: stdin line %ld: invalid JSON at column %d: %s\n", lineno,
                je.column, je.text);
        return 1;
    }
    int rc = 0;
    if (!decode) {
        if (!json_is_string(j)) {
            fprintf(stderr, "logits-study tokenize: stdin line %ld: expected a JSON string\n", lineno);
            rc = 1;
        } else {
            int32_t *ids;
            size_t n;
            LsError e;
            double t0 = ls_now();
            int erc = ls_tokenizer_encode(tok, json_string_value(j), json_string_length(j), add_special, &ids,
                                          &n, &e);
            g_busy += ls_now() - t0;
            g_bytes += json_string_length(j);
            if (erc) {
                fprintf(stderr, "logits-study tokenize: stdin line %ld: %s\n", lineno, e.msg);
                rc = 1;
            } else {
                write_ids(out, ids, n);
                free(ids);
            }
        }
    } else {
        size_t n = json_is_array(j) ? json_array_size(j) : 0;
        int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
        if (!json_is_array(j)) {
            fprintf(stderr, "logits-study tokenize: stdin line %ld: expected a JSON array of ids\n", lineno);
            rc = 1;
        }
        for (size_t i = 0; i < n && !rc; i++) {
            json_t *v = json_array_get(j, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
                fprintf(stderr, "logits-study tokenize: stdin line %ld: element %zu is not a token id\n",
                        lineno, i);
                rc = 1;
            } else {
                ids[i] = (int32_t)json_integer_value(v);
            }
        }
        if (!rc) {
            char *text;
            size_t tl;
            double t0 = ls_now();
            ls_tokenizer_decode(tok, ids, n, &text, &tl);
            g_busy += ls_now() - t0;
            g_bytes += tl;
            json_t *s = json_stringn(text, tl);
            char *dump = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
            if (dump) {
                fputs(dump, out);
                fputc('\n', out);
            }
            free(dump);
            json_decref(s);
            free(text);
        }
        free(ids);
    }
    json_decref(j);
    return rc;
}

/* --ids-file: the file's ids decoded, one JSON string line. */
static int decode_file(LsTokenizer *tok, const char *path, FILE *out) {
    int32_t *ids;
    size_t n, tl;
    LsError e;
    if (ls_token_ids_read(path, &ids, &n, &e)) {
        fprintf(stderr, "logits-study tokenize: %s\n", e.msg);
        return 1;
    }
    char *text;
    ls_tokenizer_decode(tok, ids, n, &text, &tl);
    json_t *s = json_stringn(text, tl);
    char *dump = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    if (dump) fprintf(out, "%s\n", dump);
    free(dump);
    json_decref(s);
    free(text);
    free(ids);
    return fflush(out) ? 1 : 0;
}

int ls_cmd_tokenize(int argc, char **argv) {
    static const struct option opts[] = {{"tokenizer", required_argument, 0, 't'},
                                         {"no-special", no_argument, 0, 'n'},
                                         {"decode", no_argument, 0, 'd'},
                                         {"time", no_argument, 0, 'T'},
                                         {"ids-file", required_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *ids_file = NULL;
    int add_special = 1, decode = 0, report = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            dir = optarg;
            break;
        case 'n':
            add_special = 0;
            break;
        case 'd':
            decode = 1;
            break;
        case 'T':
            report = 1;
            break;
        case 'i':
            ids_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!dir || optind != argc) {
        fprintf(stderr, "logits-study tokenize: %s\n",
                dir ? "unexpected argument" : "--tokenizer DIR is required");
        usage(stderr);
        return 2;
    }
    LsTokenizer *tok;
    LsError e;
    double t_load = ls_now();
    if (ls_tokenizer_load(&tok, dir, &e)) {
        fprintf(stderr, "logits-study tokenize: %s\n", e.msg);
        return 1;
    }
    t_load = ls_now() - t_load;
    if (ids_file) {
        int frc = decode_file(tok, ids_file, stdout);
        ls_tokenizer_free(tok);
        return frc;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n') len--;
        if (len > 0 && line[len - 1] == '\r') len--;
        rc = do_line(tok, line, (size_t)len, lineno, decode, add_special, stdout);
    }
    free(line);
    ls_tokenizer_free(tok);
    if (report)
        fprintf(stderr,
                "logits-study tokenize: load %.3f s; %s %zu bytes in %.3f s = %.2f MB/s (%ld lines)\n",
                t_load, decode ? "decode" : "encode", g_bytes, g_busy,
                g_busy > 0 ? g_bytes / g_busy / 1e6 : 0.0, lineno);
    if (fflush(stdout) != 0) {
        perror("logits-study tokenize: stdout");
        rc = 1;
    }
    return rc;
}
