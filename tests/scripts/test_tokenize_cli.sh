#!/usr/bin/env bash
# `logits-study tokenize` end to end: the oracle corpus through the CLI (encode with and without
# special tokens, decode) against the committed HF tokenizers references, --help, and bad input
# lines reported with their line number. Usage: test_tokenize_cli.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
tok=$src/tests/data/qwen3-tokenizer
refs=$src/tests/data/tokenizer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" tokenize --help | grep -q -- "--no-special" || fail "--help"
set +e
"$bin" tokenize >/dev/null 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- "--tokenizer DIR is required" "$tmp/err" || fail "missing --tokenizer: rc $rc"

# corpus: compact the reference arrays with jq and compare line by line
"$bin" tokenize --tokenizer "$tok" <"$refs/corpus.jsonl" >"$tmp/ids"
"$bin" tokenize --no-special --tokenizer "$tok" <"$refs/corpus.jsonl" >"$tmp/plain"
"$bin" tokenize --decode --tokenizer "$tok" <"$tmp/plain" | jq -c . >"$tmp/dec"
jq -c .ids "$refs/refs-qwen3.jsonl" | cmp - "$tmp/ids" || fail "ids differ from HF tokenizers"
jq -c .ids_plain "$refs/refs-qwen3.jsonl" | cmp - "$tmp/plain" || fail "ids (no special) differ"
jq -c .decoded "$refs/refs-qwen3.jsonl" | cmp - "$tmp/dec" || fail "decoded text differs"
echo "corpus: $(wc -l <"$tmp/ids") lines identical to HF tokenizers"

# bad lines: the error names the line number, and the lines before it were answered
printf '"ok"\n"ok"\n[1,2]\n"never"\n' >"$tmp/bad"
set +e
"$bin" tokenize --tokenizer "$tok" <"$tmp/bad" >"$tmp/out" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad line: rc $rc"
grep -q "line 3" "$tmp/err" || fail "no line number in: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "expected 2 answered lines"
printf '"x"\n{not json\n' | { "$bin" tokenize --tokenizer "$tok" 2>&1 >/dev/null || true; } | grep -q "line 2: invalid JSON" \
    || fail "invalid JSON line"
printf '[1,"a"]\n' | { "$bin" tokenize --decode --tokenizer "$tok" 2>&1 >/dev/null || true; } | grep -q "line 1: element 1" \
    || fail "bad id"
printf '"a\\ud800b"\n' | { "$bin" tokenize --tokenizer "$tok" 2>&1 >/dev/null || true; } | grep -q "line 1" \
    || fail "lone surrogate"
# a tokenizer directory that does not load
mkdir "$tmp/badtok" && echo '{"model": {"type": "Unigram"}}' >"$tmp/badtok/tokenizer.json"
set +e
echo '"x"' | "$bin" tokenize --tokenizer "$tmp/badtok" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "model.type" "$tmp/err" || fail "bad tokenizer.json: rc $rc, $(cat "$tmp/err")"
echo "tokenize CLI: ok"
