#!/usr/bin/env bash
# Long records (issue 15.7): on_long_record: window scores a record longer than
# max_tokens in overlapping windows (check_window.py: every position equals
# `score` on its window's span, full-context positions equal a run where the
# record fits, the per-position `context`); a model's context length
# (max_position_embeddings) bounds the window like max_tokens, and a skipped
# record keeps its level and correctness, with a warning per model.
# usage: test_window.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
demo_study "s|^on_long_record: .*|on_long_record: window|"
common=(--limit 6 --threads 1 --device cpu)

# windows of 48 tokens, 16 of context; two ranks (the windows of a record in one batch of one group)
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --max-tokens 48 --min-context 16 --out "$tmp/win.h5" \
  2> "$tmp/err"
grep -q "model baseline: 6 records longer than its window 48 .* scored in windows; by level 1-5: 6/0/0/0/0" \
  "$tmp/err" || fail "no warning per model: $(cat "$tmp/err")"
mpirun -np 1 "$bin" run "$tmp/run.yaml" "${common[@]}" --quiet --out "$tmp/whole.h5"
"$py" "$src/tests/scripts/check_window.py" "$tmp/win.h5" "$tmp/whole.h5" "$bin" 48 16
# a batch budget of one window: a record's windows go through the model a budget at a time
mpirun -np 1 "$bin" run "$tmp/run.yaml" "${common[@]}" --quiet --max-tokens 48 --min-context 16 --batch-tokens 50 \
  --out "$tmp/win1.h5" 2> /dev/null
"$py" "$src/tests/scripts/check_window.py" "$tmp/win1.h5" "$tmp/whole.h5" "$bin" 48 16

# min_context must leave room in the window (where a record needs windows; irrelevant otherwise)
expect_err 1 "min_context=48 must be less than the window" \
  mpirun -np 1 "$bin" run "$tmp/run.yaml" "${common[@]}" --max-tokens 48 --min-context 48 --out "$tmp/x.h5"

# a model configured for 40 positions: its context, not max_tokens (4096), bounds the records
"$bin" make-tiny-model --out "$tmp/models/short" --seed 7 --tokenizer "$src/tests/data/qwen3-tokenizer" \
  --max-pos 40 --force > /dev/null
sed -e "s|$tmp/models/rl|$tmp/models/short|" "$tmp/run.yaml" > "$tmp/short.yaml"
mpirun -np 1 "$bin" run "$tmp/short.yaml" "${common[@]}" --min-context 8 --out "$tmp/short.h5" 2> "$tmp/err"
grep -q "model rl: 6 records longer than its window 40 (min of max_tokens and context length 40)" "$tmp/err" ||
  fail "context length not checked: $(cat "$tmp/err")"
"$py" - "$tmp/short.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
g = f["models/rl"]  # the short model, under the name rl
off, ctx = g["token_offset"][:], g["context"][:]
assert ctx.max() < 40 and (f["samples/length_policy"][:] == 2).all()
# the other models fit (4096): unwindowed
b = f["models/baseline"]
assert (b["context"][:] == np.concatenate([np.arange(b["token_offset"][i + 1] - b["token_offset"][i])
                                           for i in range(len(b["token_offset"]) - 1)])).all()
print("context length: the 40-position model scored in windows, the others whole")
PY
# skip: every record too long for the short model is dropped, loudly, with its level and correctness
mpirun -np 1 "$bin" run "$tmp/short.yaml" --threads 1 --device cpu --limit 8 --on-long-record skip \
  --out "$tmp/skip.h5" 2> "$tmp/err" || fail "skip run: $(cat "$tmp/err")"
grep -q "model rl: .* longer than its window 40 .* skipped; by level 1-5" "$tmp/err" ||
  fail "skip not loud: $(cat "$tmp/err")"
"$py" - "$tmp/skip.h5" "$src/configs/demo.jsonl" <<'PY'
import json, sys, h5py
f = h5py.File(sys.argv[1], "r")
recs = [json.loads(l) for l in open(sys.argv[2])]
s = f["samples"]
lines = s["skipped_line"][:]
assert len(lines) > 0 and "context length 40" in s["skipped_reason"][0].decode()
for ln, lev, cor in zip(lines, s["skipped_level"][:], s["skipped_is_correct"][:]):
    r = recs[ln - 1]
    assert lev == r["level"] and cor == (-1 if r.get("is_correct") is None else int(r["is_correct"])), (ln, lev, cor)
assert (s["length_policy"][:] == 0).all()
print(f"skip: {len(lines)} records listed with level and correctness")
PY
echo "window: ok"
