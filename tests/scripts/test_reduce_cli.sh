#!/usr/bin/env bash
# `logits-study reduce` / `inspect` from the command line: usage and error
# paths (exit status 2 for usage, 1 for a bad file, with the path in the
# message), and, when h5py is available, reduce + inspect (text and --json) on
# a synthetic file, the refusal of a file of another schema version, and
# `reduce` on a finished run's file reproducing its /summary bit for bit (the
# bootstrap settings come from the file). The numbers are checked by
# tests/python/test_reduce_scipy.py.
# usage: test_reduce_cli.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
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
grep -qF "== model pairs" "$tmp/report.txt" && fail "inspect shows a pairs section for a file without pairs"

# model pairs and the logit lens (issue 19): the section follows the primary results
"$py" "$src/tests/python/make_reduce_input.py" "$tmp/p.h5" --samples 30 --pairs
"$bin" reduce "$tmp/p.h5" --bootstrap 20 --quiet
"$bin" inspect "$tmp/p.h5" > "$tmp/pairs.txt"
for s in "== model pairs and the logit lens" "-- base -> sft" "-- sft -> rl" "most up" "most down" \
         "divergence near occurrences" "-- logit lens of base"; do
  grep -qF -- "$s" "$tmp/pairs.txt" || fail "inspect report lacks '$s'"
done
grep -qF -- "-- base -> rl" "$tmp/pairs.txt" && fail "inspect shows the incomplete pair base__rl"
"$py" - "$tmp/pairs.txt" <<'PY'
import sys
t = open(sys.argv[1]).read()
assert t.index("== primary results significant") < t.index("== model pairs") < t.index("== descriptive tables")
PY

# a file of another schema version is refused by reduce and inspect, saying which version this build reads
cp "$tmp/s.h5" "$tmp/old.h5"
"$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f.attrs['schema_version'] = 1" "$tmp/old.h5"
expect_rc 1 "$tmp/old.h5: schema version 1, but this build" "$bin" reduce "$tmp/old.h5"
grep -qF "reads schema version 2 only" "$tmp/err" || fail "reduce: $(cat "$tmp/err")"
expect_rc 1 "$tmp/old.h5: schema version 1, but this build" "$bin" inspect "$tmp/old.h5"
grep -qF "reads schema version 2 only" "$tmp/err" || fail "inspect: $(cat "$tmp/err")"
"$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); del f.attrs['schema_version']" "$tmp/old.h5"
expect_rc 1 "no root attribute schema_version: not a logits-study output file" "$bin" inspect "$tmp/old.h5"
echo "reduce, inspect: another schema version refused"

# `reduce` on a finished run's file rewrites the stored /summary bit for bit: the bootstrap resample
# count and seed are the run's (root attributes bootstrap, seed), not reduce's own defaults
demo_study "s|^bootstrap: .*|bootstrap: 150|" "s|^seed: .*|seed: 987654321|"
mpirun -np 2 "$bin" run "$tmp/run.yaml" --limit 6 --threads 1 --quiet --device cpu
cp "$tmp/out.h5" "$tmp/re.h5"
"$bin" reduce "$tmp/re.h5" --quiet
cp "$tmp/out.h5" "$tmp/seed1.h5"
"$bin" reduce "$tmp/seed1.h5" --quiet --seed 1
"$py" - "$tmp/out.h5" "$tmp/re.h5" "$tmp/seed1.h5" <<'PY'
import sys

import h5py
import numpy as np


def summary(path):
    """Every attribute and dataset under /summary: dtype, shape and raw bytes."""
    out = {}
    with h5py.File(path, "r") as f:
        def attrs(name, obj):
            for k, v in obj.attrs.items():
                a = np.asarray(v)
                out[f"{name}@{k}"] = (a.dtype.str, a.shape, repr(a.tolist()) if a.dtype.kind == "O" else a.tobytes())

        def visit(name, obj):
            attrs("/summary/" + name, obj)
            if isinstance(obj, h5py.Dataset):
                out["/summary/" + name] = (obj.dtype.str, obj.shape, obj[()].tobytes())

        attrs("/summary", f["summary"])
        f["summary"].visititems(visit)
        assert f.attrs["complete"] == 1 and f["summary"].attrs["bootstrap"] == 150
    return out


ran, again, seed1 = (summary(p) for p in sys.argv[1:4])
assert len(ran) >= 31, sorted(ran)  # 10 datasets with description and unit, 7 group attributes
for p in sys.argv[1:3]:
    with h5py.File(p, "r") as f:
        assert f.attrs["seed"] == f["summary"].attrs["seed"] == 987654321, p
assert ran.keys() == again.keys(), set(ran) ^ set(again)
diff = [k for k in ran if ran[k] != again[k]]
assert not diff, f"reduce changed /summary: {diff}"
# the comparison can fail: another seed moves the bootstrap CIs
with h5py.File(sys.argv[3], "r") as f:
    assert f["summary"].attrs["seed"] == 1
assert ran["/summary/groups"] != seed1["/summary/groups"]
print(f"reduce: /summary of a finished run reproduced bit for bit ({len(ran)} datasets and attributes)")
PY
echo "reduce CLI: ok"
