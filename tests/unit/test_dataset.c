/* test_dataset.c — JSONL records: good files, every kind of bad line (with
 * file:line and column), skip mode; prompt templates and lm-eval's rule. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls/data.h"

#define JSONL_DIR LS_TEST_DIR "/data/jsonl"

static LsError err;

static int parse_n(LsDataset *ds, const char *buf, size_t len, bool skip, size_t limit) {
    memset(&err, 0, sizeof err);
    return ls_dataset_parse(ds, buf, len, "d.jsonl", skip, limit, &err);
}

static int parse(LsDataset *ds, const char *buf) {
    return parse_n(ds, buf, strlen(buf), false, 0);
}

#define GOOD "{\"query\": \"q\", \"answer\": \"a\", \"level\": 3}\n"

/* Line 1 is good, line 2 is `bad`: fails with a message containing want. */
static void expect_bad(const char *bad, const char *want) {
    char buf[1024];
    snprintf(buf, sizeof buf, GOOD "%s\n", bad);
    LsDataset ds;
    cr_assert_eq(parse(&ds, buf), LS_ERR, "accepted: %s", bad);
    cr_expect(strstr(err.msg, want), "message '%s' lacks '%s'", err.msg, want);
    cr_expect_eq(ds.records, NULL);
    ls_dataset_free(&ds);
}

Test(dataset, good_records) {
    LsDataset ds;
    const char *s =
        "{\"query\": \"What is 2+2?\", \"answer\": \"4. So 4.\", \"level\": 1, \"is_correct\": true}\n"
        "{\"level\": 5, \"answer\": \"x\\u00e9\\n\", \"query\": \"\", \"is_correct\": false}\n"
        "{\"query\": \"q\", \"answer\": \"a\", \"level\": 2, \"is_correct\": null, \"extra\": [1], "
        "\"problem_id\": 17}\n"
        "{\"query\": \"q\", \"answer\": \"a\", \"level\": 4}"; /* no final newline: fine */
    cr_assert_eq(parse(&ds, s), LS_OK, "%s", err.msg);
    cr_assert_eq(ds.n_records, 4);
    cr_expect_str_eq(ds.source, "d.jsonl");
    cr_expect_str_eq(ds.records[0].query, "What is 2+2?");
    cr_expect_str_eq(ds.records[0].answer, "4. So 4.");
    cr_expect_eq(ds.records[0].level, 1);
    cr_expect_eq(ds.records[0].is_correct, 1);
    cr_expect_eq(ds.records[0].line, 1);
    cr_expect_str_eq(ds.records[1].answer, "x\xc3\xa9\n");
    cr_expect_str_eq(ds.records[1].query, "");
    cr_expect_eq(ds.records[1].is_correct, 0);
    cr_expect_eq(ds.records[2].is_correct, -1);
    cr_expect_eq(ds.records[3].is_correct, -1);
    cr_expect_eq(ds.records[3].level, 4);
    cr_expect_eq(ds.records[2].problem_id, 17);
    cr_expect_eq(ds.records[3].problem_id, -1);
    cr_expect_eq(ds.n_bad, 0);
    ls_dataset_free(&ds);
}

Test(dataset, bom_crlf_blank_lines) {
    LsDataset ds;
    cr_assert_eq(ls_dataset_load(&ds, JSONL_DIR "/bom_crlf.jsonl", false, 0, &err), LS_OK, "%s", err.msg);
    cr_assert_eq(ds.n_records, 3);
    cr_expect_eq(ds.records[0].line, 1);
    cr_expect_eq(ds.records[1].line, 3);
    cr_expect_eq(ds.records[2].line, 5);
    cr_expect_str_eq(ds.records[1].answer, "5. Wait, no: 4.");
    cr_expect_eq(ds.records[1].is_correct, -1);
    ls_dataset_free(&ds);
}

Test(dataset, limit) {
    LsDataset ds;
    const char *s = GOOD GOOD GOOD "not json at all\n";
    cr_assert_eq(parse_n(&ds, s, strlen(s), false, 2), LS_OK, "%s", err.msg);
    cr_expect_eq(ds.n_records, 2);
    ls_dataset_free(&ds);
    cr_assert_eq(parse_n(&ds, s, strlen(s), false, 3), LS_OK, "%s", err.msg); /* stops before line 4 */
    ls_dataset_free(&ds);
    cr_assert_eq(parse_n(&ds, s, strlen(s), false, 4), LS_ERR);
    ls_dataset_free(&ds);
}

/* ---- file-level errors -------------------------------------------------------- */

Test(dataset, missing_file) {
    LsDataset ds;
    cr_assert_eq(ls_dataset_load(&ds, JSONL_DIR "/nope.jsonl", false, 0, &err), LS_ERR);
    cr_expect(strstr(err.msg, "nope.jsonl: cannot open"), "%s", err.msg);
}

Test(dataset, empty_file) {
    LsDataset ds;
    cr_assert_eq(parse(&ds, ""), LS_ERR);
    cr_expect(strstr(err.msg, "d.jsonl: no records: the file is empty or has only blank lines"), "%s",
              err.msg);
}

Test(dataset, only_blank_lines) {
    LsDataset ds;
    cr_assert_eq(parse(&ds, "\n   \n\t\r\n\n"), LS_ERR);
    cr_expect(strstr(err.msg, "no records"), "%s", err.msg);
    cr_assert_eq(parse(&ds, "\xef\xbb\xbf"), LS_ERR); /* a BOM alone */
    cr_expect(strstr(err.msg, "no records"), "%s", err.msg);
}

Test(dataset, invalid_utf8_column) {
    LsDataset ds;
    cr_assert_eq(ls_dataset_load(&ds, JSONL_DIR "/bad_utf8.jsonl", false, 0, &err), LS_ERR);
    cr_expect(strstr(err.msg, "bad_utf8.jsonl:2:18: invalid UTF-8 (byte 0xff)"), "%s", err.msg);
}

Test(dataset, invalid_utf8_column_after_bom) {
    LsDataset ds;
    /* the BOM counts in the byte column: the file's bytes 1-3 */
    const char *s = "\xef\xbb\xbf{\"query\": \"\xc0\xaf\", \"answer\": \"a\", \"level\": 1}\n";
    cr_assert_eq(parse(&ds, s), LS_ERR);
    cr_expect(strstr(err.msg, "d.jsonl:1:15: invalid UTF-8 (byte 0xc0)"), "%s", err.msg);
}

Test(dataset, truncated_last_line) {
    LsDataset ds;
    cr_assert_eq(ls_dataset_load(&ds, JSONL_DIR "/truncated.jsonl", false, 0, &err), LS_ERR);
    cr_expect(strstr(err.msg, "truncated.jsonl:2:"), "%s", err.msg);
    cr_expect(strstr(err.msg, "truncated last line"), "%s", err.msg);
    cr_assert_eq(parse(&ds, GOOD "{\"query\": \"q\", \"answer\": \"a\", \"level\": 3"), LS_ERR);
    cr_expect(strstr(err.msg, "d.jsonl:2:") && strstr(err.msg, "no closing brace"), "%s", err.msg);
}

Test(dataset, truncated_inner_line) {
    expect_bad("{\"query\": \"q\", \"answer\": \"a\"", "d.jsonl:2:");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\"", "truncated record");
}

Test(dataset, nul_byte) {
    LsDataset ds;
    const char s[] = GOOD "{\"query\": \"a\0b\", \"answer\": \"a\", \"level\": 3}\n";
    cr_assert_eq(parse_n(&ds, s, sizeof s - 1, false, 0), LS_ERR);
    cr_expect(strstr(err.msg, "d.jsonl:2:13: NUL byte"), "%s", err.msg);
    expect_bad("{\"query\": \"a\\u0000b\", \"answer\": \"a\", \"level\": 3}", "d.jsonl:2:");
}

/* ---- per-record errors -------------------------------------------------------- */

Test(dataset, not_json) {
    expect_bad("hello", "d.jsonl:2:5: invalid JSON"); /* jansson: the column after the bad token */
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3} {}", "d.jsonl:2:");
}

Test(dataset, not_an_object) {
    expect_bad("[1, 2]", "d.jsonl:2: expected a JSON object, got an array");
    expect_bad("\"text\"", "d.jsonl:2:");
    expect_bad("3", "d.jsonl:2:");
}

Test(dataset, duplicate_keys) {
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3, \"level\": 4}", "d.jsonl:2:");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3, \"level\": 4}", "duplicate");
}

Test(dataset, missing_fields) {
    expect_bad("{\"answer\": \"a\", \"level\": 3}", "d.jsonl:2: missing field 'query'");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3, \"problem_id\": -2}",
               "d.jsonl:2: field 'problem_id': expected a non-negative integer or null");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3, \"problem_id\": \"p1\"}",
               "field 'problem_id'");
    expect_bad("{\"query\": \"q\", \"level\": 3}", "d.jsonl:2: missing field 'answer'");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\"}", "d.jsonl:2: missing field 'level'");
    expect_bad("{}", "missing field 'query'");
}

Test(dataset, wrong_types) {
    expect_bad("{\"query\": 1, \"answer\": \"a\", \"level\": 3}",
               "d.jsonl:2: field 'query': expected a string, got an integer (1)");
    expect_bad("{\"query\": \"q\", \"answer\": null, \"level\": 3}",
               "field 'answer': expected a string, got null");
    expect_bad("{\"query\": \"q\", \"answer\": [\"a\"], \"level\": 3}", "field 'answer': expected a string");
    expect_bad("{\"query\": \"q\", \"answer\": \"\", \"level\": 3}", "field 'answer': empty string");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3, \"is_correct\": 1}",
               "field 'is_correct': expected true, false or null, got an integer (1)");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3, \"is_correct\": \"true\"}",
               "field 'is_correct': expected true, false or null, got a string");
}

Test(dataset, level_values) {
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 0}",
               "d.jsonl:2: field 'level': expected an integer 1..5, got an integer (0)");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 6}",
               "field 'level': expected an integer 1..5");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3.5}",
               "field 'level': expected an integer 1..5, got a number with a fraction or exponent (3.5)");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 3.0}", "field 'level'");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": \"3\"}",
               "field 'level': expected an integer 1..5, got a string");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": -1}", "field 'level'");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": 99999999999999999999}", "d.jsonl:2:");
    expect_bad("{\"query\": \"q\", \"answer\": \"a\", \"level\": true}", "field 'level'");
}

/* ---- skip mode ---------------------------------------------------------------- */

Test(dataset, skip_lists_bad_lines) {
    LsDataset ds;
    const char *s = GOOD                                                          /* 1 */
        "{\"query\": \"q\", \"answer\": \"a\", \"level\": 9}\n"                   /* 2 */
        "\n"                                                                      /* 3 */
        "[]\n"                                                                    /* 4 */
        GOOD                                                                      /* 5 */
        "{\"query\": \"\xff\", \"answer\": \"a\", \"level\": 1}\n"                /* 6 */
        "{\"query\": \"q\", \"answer\": \"a\", \"level\": 1, \"is_correct\": 0}"; /* 7, no newline */
    cr_assert_eq(parse_n(&ds, s, strlen(s), true, 0), LS_OK, "%s", err.msg);
    cr_assert_eq(ds.n_records, 2);
    cr_expect_eq(ds.records[0].line, 1);
    cr_expect_eq(ds.records[1].line, 5);
    cr_assert_eq(ds.n_bad, 4);
    cr_expect_eq(ds.bad[0].line, 2);
    cr_expect(strstr(ds.bad[0].reason, "field 'level'"), "%s", ds.bad[0].reason);
    cr_expect_eq(ds.bad[1].line, 4);
    cr_expect(strstr(ds.bad[1].reason, "expected a JSON object"), "%s", ds.bad[1].reason);
    cr_expect_eq(ds.bad[2].line, 6);
    cr_expect(strstr(ds.bad[2].reason, "column 12: invalid UTF-8"), "%s", ds.bad[2].reason);
    cr_expect_eq(ds.bad[3].line, 7);
    cr_expect(strstr(ds.bad[3].reason, "is_correct"), "%s", ds.bad[3].reason);
    ls_dataset_free(&ds);
}

Test(dataset, skip_all_bad_is_error) {
    LsDataset ds;
    const char *s = "[]\n{}\n";
    cr_assert_eq(parse_n(&ds, s, strlen(s), true, 0), LS_ERR);
    cr_expect(strstr(err.msg, "d.jsonl: no valid records (2 bad lines skipped; the first, line 1:"), "%s",
              err.msg);
    cr_expect_eq(ds.bad, NULL);
}

/* ---- templates ---------------------------------------------------------------- */

Test(template, check) {
    cr_expect_eq(ls_template_check("Query: {query}\nAnswer: {answer}", &err), LS_OK);
    cr_expect_eq(ls_template_check("{answer}", &err), LS_OK);
    cr_expect_eq(ls_template_check("Solve: {answer}", &err), LS_OK); /* no {query}: allowed */
    cr_expect_eq(ls_template_check("{x} is not {answer}", &err), LS_ERR);
    cr_expect_eq(ls_template_check("braces {} and \\frac{1}{2} {answer}", &err), LS_OK);
    cr_expect_eq(ls_template_check("Q: {query}", &err), LS_ERR);
    cr_expect(strstr(err.msg, "no {answer}"), "%s", err.msg);
    cr_expect_eq(ls_template_check("{answer}.", &err), LS_ERR);
    cr_expect(strstr(err.msg, "text after {answer} (\".\")"), "%s", err.msg);
    cr_expect_eq(ls_template_check("{answer} {query}", &err), LS_ERR);
}

Test(template, split) {
    char *p;
    cr_assert_eq(ls_template_split("Query: {query}\nAnswer: {answer}", "2+2?", &p, &err), LS_OK);
    cr_expect_str_eq(p, "Query: 2+2?\nAnswer: ");
    free(p);
    cr_assert_eq(ls_template_split("{query}{answer}", "{answer} in the query", &p, &err), LS_OK);
    cr_expect_str_eq(p, "{answer} in the query"); /* the query is not re-expanded */
    free(p);
    cr_assert_eq(ls_template_split("Just answer: {answer}", "ignored", &p, &err), LS_OK);
    cr_expect_str_eq(p, "Just answer: ");
    free(p);
    cr_assert_eq(ls_template_split("no answer", "q", &p, &err), LS_ERR);
    cr_expect_eq(p, NULL);
}

Test(template, move_space) {
    char *p, *a;
    ls_template_move_space("Query: q\nAnswer: ", "4", &p, &a);
    cr_expect_str_eq(p, "Query: q\nAnswer:");
    cr_expect_str_eq(a, " 4");
    free(p), free(a);
    ls_template_move_space("A:\n \t", "x", &p, &a);
    cr_expect_str_eq(p, "A:");
    cr_expect_str_eq(a, "\n \tx");
    free(p), free(a);
    ls_template_move_space("none", "x", &p, &a);
    cr_expect_str_eq(p, "none");
    cr_expect_str_eq(a, "x");
    free(p), free(a);
    ls_template_move_space("   ", "x", &p, &a);
    cr_expect_str_eq(p, "");
    cr_expect_str_eq(a, "   x");
    free(p), free(a);
    /* Unicode whitespace as Python's str.rstrip: NBSP (C2 A0), ideographic space (E3 80 80) */
    ls_template_move_space("A:\xc2\xa0\xe3\x80\x80", "x", &p, &a);
    cr_expect_str_eq(p, "A:");
    cr_expect_str_eq(a, "\xc2\xa0\xe3\x80\x80x");
    free(p), free(a);
    /* é (C3 A9) ends in a byte that is not a space */
    ls_template_move_space("caf\xc3\xa9", "x", &p, &a);
    cr_expect_str_eq(p, "caf\xc3\xa9");
    free(p), free(a);
}

/* configs/demo.jsonl: 60 records, 12 per level, both correct and incorrect, some unknown. */
Test(dataset, demo_file_loads) {
    LsDataset ds;
    cr_assert_eq(ls_dataset_load(&ds, LS_TEST_DIR "/../configs/demo.jsonl", false, 0, &err), LS_OK, "%s",
                 err.msg);
    cr_assert_eq(ds.n_records, 60);
    int per_level[6] = {0}, correct[3] = {0};
    for (size_t i = 0; i < ds.n_records; i++) {
        per_level[ds.records[i].level]++;
        correct[ds.records[i].is_correct + 1]++;
    }
    for (int l = 1; l <= 5; l++)
        cr_expect_eq(per_level[l], 12, "level %d", l);
    cr_expect_gt(correct[0], 0); /* unknown */
    cr_expect_gt(correct[1], 0); /* incorrect */
    cr_expect_gt(correct[2], 0); /* correct */
    ls_dataset_free(&ds);
}
