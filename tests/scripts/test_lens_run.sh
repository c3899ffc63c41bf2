#!/usr/bin/env bash
# The logit lens as an output of `logits-study run` (issue 19.4; check_lens_run.py): per model,
# lens_logprob / lens_entropy hold a row per occurrence, equal to `score --lens` on the ids the run
# scored each occurrence with (the sample, or its window), NaN exactly where an occurrence has no lens
# value; the same rows from -np 1, -np 2 (data parallel), tp 2 and tp 4; a run stopped (SIGUSR1) or
# killed (SIGKILL) and resumed ends with the same rows; --no-lens writes none, and is part of the
# resume identity.
# usage: test_lens_run.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
demo_study "s|^bootstrap: .*|bootstrap: 0|"
# two answers with occurrences the tokenizer does not align (".check", "lib.so": a token spans the
# boundary), then demo records
cat > "$tmp/lens.jsonl" << 'EOF'
{"query": "What is 2 + 2?", "answer": "Wait, (wait) 2 + 2 = 4. Hmm, it is 4. Let me run obj.check() and lib.so then is_check, so 4.", "level": 2, "is_correct": true}
{"query": "What is 3 + 5?", "answer": "So 3 + 5 = 8. [Wait] actually 8, _think .think #so therefore 8.", "level": 1, "is_correct": false}
EOF
head -10 "$src/configs/demo.jsonl" >> "$tmp/lens.jsonl"
loud=(--data "$tmp/lens.jsonl" --threads 1 --device cpu)
common=("${loud[@]}" --quiet)
check=("$py" "$src/tests/scripts/check_lens_run.py")

"$bin" run --help | grep -q -- "--\[no-\]lens" || fail "run --help lacks --[no-]lens"

# (a), (b): against `score --lens`, NaN where no value
mpirun -np 1 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/np1.h5"
"${check[@]}" "$tmp/np1.h5" "$bin"
grep -q '"lens": true' <("$py" -c "import h5py,sys; print(h5py.File(sys.argv[1],'r').attrs['run_config_effective'])" \
  "$tmp/np1.h5") || fail "lens missing from the effective config"

# (d): the layout does not change the rows: DP 2, TP 2 and TP 4 bit-identical to one rank
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/np2.h5"
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --tp 2 --out "$tmp/tp2.h5"
mpirun -np 4 "$bin" run "$tmp/run.yaml" "${common[@]}" --tp 4 --out "$tmp/tp4.h5"
for x in np2 tp2 tp4; do
  "${check[@]}" "$tmp/$x.h5" --same "$tmp/np1.h5"
done

# windows: records longer than the window; an occurrence's row is that of the window scoring it
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --on-long-record window --max-tokens 48 --min-context 16 \
  --out "$tmp/win.h5"
"${check[@]}" "$tmp/win.h5" "$bin" --samples 1

# (c): stopped (SIGUSR1) and killed (SIGKILL) runs, resumed: the same rows as the uninterrupted run
small=(--batch-tokens 120)
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" "${small[@]}" --out "$tmp/full.h5"
# the stop lands in the second model, between two of its batches (progress lines on, so not --quiet)
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${loud[@]}" "${small[@]}" --out "$tmp/stop.h5" 2> "$tmp/stop.log" &
pid=$!
wait_for_line "[baseline] done:" "$tmp/stop.log" "$pid"
kill -s USR1 "$pid" 2>/dev/null || true
set +e
wait "$pid"
rc=$?
set -e
if [ $rc -eq 75 ]; then
  "${check[@]}" "$tmp/stop.h5" --stopped "$tmp/full.h5"
  mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" "${small[@]}" --out "$tmp/stop.h5" --resume
else
  [ $rc -eq 0 ] || fail "SIGUSR1: exit status $rc: $(tail -5 "$tmp/stop.log")"
  echo "SIGUSR1: the run had finished before the signal"
fi
"${check[@]}" "$tmp/stop.h5" --same "$tmp/full.h5" --tol 0
# the kill lands in the third model
setsid mpirun -np 2 "$bin" run "$tmp/run.yaml" "${loud[@]}" "${small[@]}" --out "$tmp/kill.h5" 2> "$tmp/kill.log" &
pid=$!
wait_for_line "[sft] done:" "$tmp/kill.log" "$pid"
kill_run "$pid" "$tmp/kill.h5"
if "$py" -c "import h5py, sys; h5py.File(sys.argv[1], 'r')" "$tmp/kill.h5" 2> /dev/null; then
  mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" "${small[@]}" --out "$tmp/kill.h5" --resume
else # killed before the file was made or its first flush: nothing to resume, replace it
  mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" "${small[@]}" --out "$tmp/kill.h5" --overwrite
fi
"${check[@]}" "$tmp/kill.h5" --same "$tmp/full.h5" --tol 0
echo "stop / kill + --resume: the same lens rows as the uninterrupted run, bit for bit"

# --no-lens: no lens datasets; a file written with the lens is not resumed without it
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --no-lens --out "$tmp/nolens.h5"
"${check[@]}" "$tmp/nolens.h5" --none
"$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f.attrs['complete'] = 0" "$tmp/full.h5"
expect_err 1 "the run config differs" mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" "${small[@]}" \
  --no-lens --out "$tmp/full.h5" --resume
expect_err 1 "unknown option '--no-top-k'" "$bin" run "$tmp/run.yaml" --no-top-k
echo "lens run: all checks passed"
