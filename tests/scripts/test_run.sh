#!/usr/bin/env bash
# `logits-study run` end to end under mpirun: the demo config on three tiny
# models made by make-tiny-model; the file checked by check_run.py (HF
# tokenizers for the ids, `score` for the rows, chain rule for occurrences);
# -np 1, 2, 3 and -np 4 with tp 2 and tp 4 give the same content, bit for bit (records are
# tokenised by the ranks that run them, balanced by their true token counts); bad records give a
# file:line error (every rank exits, quickly) or, with skip, are listed.
# usage: test_run.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
# the demo config, pointed at fresh tiny models; a few records keep the test short
demo_study
common=(--limit 24 --threads 1 --quiet --device cpu)

mpirun -np 1 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/np1.h5"
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/np2.h5"
mpirun -np 3 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/np3.h5"
mpirun -np 4 "$bin" run "$tmp/run.yaml" "${common[@]}" --tp 2 --out "$tmp/np4tp2.h5"
mpirun -np 4 "$bin" run "$tmp/run.yaml" "${common[@]}" --tp 4 --out "$tmp/np4tp4.h5"
"$py" "$src/tests/scripts/check_run.py" "$tmp/np1.h5" "$bin" "$tmp/np3.h5"
# data parallel: each rank tokenises only the samples its group runs, yet the file is the same
"$py" "$src/tests/scripts/check_run.py" "$tmp/np2.h5" "$bin" "$tmp/np1.h5" --exact | tail -1
"$py" "$src/tests/scripts/check_run.py" "$tmp/np3.h5" "$bin" "$tmp/np1.h5" --exact | tail -1
# tensor parallel (DP 2 x TP 2, TP 4): the row-parallel sums and the head's log-sum-exp are taken in
# one fixed order for every tp (docs/parallelism.md), so the files equal the single rank's, bit for bit
"$py" "$src/tests/scripts/check_run.py" "$tmp/np4tp2.h5" "$bin" "$tmp/np1.h5" --exact
"$py" "$src/tests/scripts/check_run.py" "$tmp/np4tp4.h5" "$bin" "$tmp/np1.h5" --exact

# records too long for max_tokens are skipped (listed), the rest checked as above
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --max-tokens 80 --out "$tmp/long.h5" 2>/dev/null
"$py" "$src/tests/scripts/check_run.py" "$tmp/long.h5" "$bin" | tail -1
"$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); assert len(f['samples/skipped_line']) > 0" "$tmp/long.h5"

# an existing output is not replaced without --overwrite
set +e
mpirun -np 1 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/np1.h5" 2> "$tmp/err"
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "exists: pass --resume to continue it or --overwrite" "$tmp/err" || fail "existing output: rc $rc, $(cat "$tmp/err")"

# a bad record: every rank stops, non-zero, within 10 s, and the message names file:line
head -5 "$src/configs/demo.jsonl" > "$tmp/bad.jsonl"
echo '{"query": "q", "answer": "a", "level": 7, "is_correct": true}' >> "$tmp/bad.jsonl"
head -12 "$src/configs/demo.jsonl" | tail -6 >> "$tmp/bad.jsonl"
set +e
start=$(date +%s)
timeout 60 mpirun -np 3 "$bin" run "$tmp/run.yaml" "${common[@]}" --data "$tmp/bad.jsonl" --out "$tmp/bad.h5" \
  2> "$tmp/err"
rc=$?
took=$(( $(date +%s) - start ))
set -e
[ $rc -ne 0 ] || fail "bad record: exit status 0"
[ $took -le 10 ] || fail "bad record: took $took s"
grep -q "bad.jsonl:6" "$tmp/err" || fail "bad record: message lacks file:line: $(cat "$tmp/err")"
[ "$(grep -c 'bad.jsonl:6' "$tmp/err")" -eq 1 ] || fail "bad record: message printed more than once"

# a truncated checkpoint: every rank stops (MPI_Abort), non-zero, quickly, naming the file;
# the models before it stay in the file, which is not marked complete
cp -r "$tmp/models/sft" "$tmp/models/broken"
truncate -s 1000000 "$tmp/models/broken/model.safetensors"
sed -e "s|$tmp/models/rl|$tmp/models/broken|" "$tmp/run.yaml" > "$tmp/broken.yaml"
set +e
start=$(date +%s)
timeout 60 mpirun -np 3 "$bin" run "$tmp/broken.yaml" "${common[@]}" --out "$tmp/broken.h5" 2> "$tmp/err"
rc=$?
took=$(( $(date +%s) - start ))
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "truncated checkpoint: exit status $rc"
[ $took -le 45 ] || fail "truncated checkpoint: took $took s" # two models run first; a hang hits the 60 s timeout
grep -q "broken/model.safetensors" "$tmp/err" || fail "truncated checkpoint: message lacks the file: $(cat "$tmp/err")"
"$py" - "$tmp/broken.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["complete"] == 0
assert all(f["models"][m].attrs["complete"] == 1 for m in ("baseline", "sft")), "earlier models lost"
print("truncated checkpoint: all ranks stopped; baseline and sft kept, file not complete")
PY

# with on_bad_record: skip the record is listed in the file and the rest runs
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --data "$tmp/bad.jsonl" --on-bad-record skip \
  --out "$tmp/skip.h5"
"$py" - "$tmp/skip.h5" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert f.attrs["complete"] == 1
assert f["samples/skipped_line"][:].tolist() == [6], f["samples/skipped_line"][:]
reason = f["samples/skipped_reason"][0].decode()
assert "level" in reason, reason
assert f["samples/level"].shape[0] == 11
print("skip mode: line 6 listed:", reason)
PY
echo "run: all checks passed"
