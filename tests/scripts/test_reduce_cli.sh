#!/usr/bin/env bash
# `logits-study reduce` / `inspect` from the command line: usage and error
# paths (exit status 2 for usage, 1 for a bad file, with the path in the
# message), and, when h5py is available, reduce + inspect (text and --json) on
# a synthetic file. The numbers are checked by tests/python/test_reduce_scipy.py.
# usage: test_reduce_cli.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
py=${PYTHON:-$src/.venv/bin/python}
[ -x "$py" ] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_rc() { # expect_rc RC NEEDLE CMD...
  local want=$1 needle=$2 rc=0
  shift 2
  "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$tmp/err")"
  grep -qF -- "$needle" "$tmp/err" || fail "$*: stderr lacks '$needle': $(cat "$tmp/err")"
}

expect_rc 2 "FILE is required" "$bin" reduce
expect_rc 2 "--bootstrap 'x'" "$bin" reduce f.h5 --bootstrap x
expect_rc 2 "--seed '-1'" "$bin" reduce f.h5 --seed -1
expect_rc 2 "unexpected argument" "$bin" reduce a.h5 b.h5
expect_rc 1 "$tmp/missing.h5" "$bin" reduce "$tmp/missing.h5"
echo "not hdf5" > "$tmp/text.h5"
expect_rc 1 "$tmp/text.h5" "$bin" reduce "$tmp/text.h5"
expect_rc 2 "FILE is required" "$bin" inspect
expect_rc 2 "--alpha '2'" "$bin" inspect f.h5 --alpha 2
expect_rc 1 "$tmp/text.h5" "$bin" inspect "$tmp/text.h5"
"$bin" reduce --help | grep -q "allow-incomplete" || fail "reduce --help"
"$bin" inspect --help | grep -q -- "--json" || fail "inspect --help"

if ! "$py" -c "import h5py, numpy" 2>/dev/null; then
  echo "h5py not available to $py: synthetic-file part skipped"
  exit 0
fi
"$py" "$src/tests/python/make_reduce_input.py" "$tmp/s.h5" --samples 30
expect_rc 1 "/summary/groups is missing" "$bin" inspect "$tmp/s.h5"
"$bin" reduce "$tmp/s.h5" --bootstrap 20 --quiet
"$bin" inspect "$tmp/s.h5" > "$tmp/report.txt"
for s in "== model base" "== model rl" "correct vs incorrect" "across levels 1-5" "model comparisons" \
         "significant after Benjamini-Hochberg" "(no_single_token_form)"; do
  grep -qF -- "$s" "$tmp/report.txt" || fail "inspect report lacks '$s'"
done
"$bin" inspect "$tmp/s.h5" --model rl --word hmm --json > "$tmp/r.json"
"$py" - "$tmp/r.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert {r["model"] for r in j["groups"]} == {"rl"} and {r["word"] for r in j["groups"]} == {"hmm"}, j["groups"][:2]
assert all(r["propensity_reason"] == "no_single_token_form" and r["propensity_mean"] is None for r in j["groups"])
assert len(j["groups"]) == 9 and len(j["correctness"]) == 2 and len(j["levels"]) == 2
PY
expect_rc 2 "not a model of this file" "$bin" inspect "$tmp/s.h5" --model nope
echo "reduce CLI: ok"
