#!/usr/bin/env bash
# The pair stage of `run` (config key `pairs`, /pairs/<a>__<b>): on the demo's tiny models, which
# share the Qwen vocabulary, with a window of 64 tokens so that most records are scored in windows:
#  (a) every pair row of every sample equals `compare --ids-file` on that sample's ids (one compare
#      per window for a windowed record, rows from the window that scored them);
#  (b) mpirun -np 1, -np 2 --tp 2, -np 4 --tp 4 and -np 2 (data parallel) write the same pairs;
#  (c) a run stopped by SIGTERM during the pair stage exits 75 and --resume completes the pair to the
#      uninterrupted run's content;
#  (d) a configured pair of models with other vocabularies is refused, naming them; the default pairs
#      leave such pairs out with one warning; `pairs: none` / --pairs none write no /pairs; a pair
#      naming an unknown model is refused with the config file and line.
# usage: test_pairs_run.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
# Tolerance of (a) and (b), scaled by max(1, |value|): 0, bit-identical. The CPU GEMM computes
# every element as one fma chain over k (docs/parallelism.md), so a row does not depend on the
# batch it was packed in (a sample alone vs with others), the DP groups or the TP split.
# Against compare, whose JSON prints 7 decimals: 1e-6 (the rows themselves are the same floats).
tol=${LS_PAIRS_TOL:-0}
tol_cli=${LS_PAIRS_TOL_CLI:-1e-6}

demo_study "s|^max_tokens: .*|max_tokens: 64|" "s|^on_long_record: .*|on_long_record: window\nmin_context: 16|" \
  "s|^bootstrap: .*|bootstrap: 0|" "s|^batch_tokens: .*|batch_tokens: 200|" \
  "s|^pairs: .*|pairs: [[baseline, sft], [rl, baseline]]|"
common=(--threads 1 --device cpu --limit 4)
models=(--model "baseline=$tmp/models/baseline" --model "sft=$tmp/models/sft" --model "rl=$tmp/models/rl")
h5() { "$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); print(eval(sys.argv[2]))" "$@"; }

# (a) one rank against compare
"$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/p1.h5" 2> "$tmp/log1"
grep -q "\[rl__baseline\] comparing rl with baseline, both resident" "$tmp/log1" || fail "no pair progress: $(cat "$tmp/log1")"
[ "$(h5 "$tmp/p1.h5" "sorted(f['pairs'])")" = "['baseline__sft', 'rl__baseline']" ] || fail "pairs: $(h5 "$tmp/p1.h5" "list(f['pairs'])")"
[ "$(h5 "$tmp/p1.h5" "int(f.attrs['complete'])")" = 1 ] || fail "file not complete"
"$py" "$src/tests/scripts/check_pairs_run.py" "$tmp/p1.h5" --compare "$bin" "${models[@]}" --tol "$tol_cli"
# the layout document (tests/python/test_hdf5_layout.py) against a real file with pairs and lens
LS_DEMO_H5="$tmp/p1.h5" "$py" -m pytest -q -p no:cacheprovider "$src/tests/python/test_hdf5_layout.py" ||
  fail "docs/hdf5-layout.md does not match a file with /pairs and lens datasets"
# a sample alone in its batch and in one window is computed exactly as compare computes it
"$bin" run "$tmp/run.yaml" --threads 1 --device cpu --limit 2 --batch-tokens 1 --pairs sft:rl --quiet \
  --out "$tmp/alone.h5" 2> /dev/null
"$py" - "$tmp/alone.h5" "$bin" "$tmp/models" "$tmp" <<'PY'
import h5py, json, subprocess, sys
import numpy as np
f = h5py.File(sys.argv[1], "r")
off, tok = f["models/sft/token_offset"][:], f["models/sft/tokens"][:]
i = [j for j in range(len(off) - 1) if off[j + 1] - off[j] <= int(f["pairs/sft__rl"].attrs["window"])][0]
open(sys.argv[4] + "/ids.txt", "w").write(" ".join(map(str, tok[off[i]:off[i + 1]])))
r = subprocess.run([sys.argv[2], "compare", "--model", sys.argv[3] + "/sft", "--model", sys.argv[3] + "/rl",
                    "--ids-file", sys.argv[4] + "/ids.txt", "--json", "--device", "cpu", "--threads", "1"],
                   capture_output=True, text=True, check=True)
pos = json.loads(r.stdout)["positions"]
for k in ("kl_ab", "kl_ba", "js", "dlogprob"):
    want = np.array([np.nan if p[k] is None else p[k] for p in pos], dtype=np.float32)
    got = f["pairs/sft__rl"][k][off[i]:off[i + 1]]
    assert np.array_equal(got, want, equal_nan=True), (k, got, want)
print(f"sample {i} alone in its batch: bit-identical to compare")
PY

# (b) other process grids
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --quiet --tp 2 --out "$tmp/tp2.h5" 2> "$tmp/log_tp2"
"$py" "$src/tests/scripts/check_pairs_run.py" "$tmp/tp2.h5" --same "$tmp/p1.h5" --tol "$tol" | sed 's/^/tp 2 vs 1 rank: /'
mpirun -np 4 "$bin" run "$tmp/run.yaml" "${common[@]}" --quiet --tp 4 --out "$tmp/tp4.h5" 2> "$tmp/log_tp4"
"$py" "$src/tests/scripts/check_pairs_run.py" "$tmp/tp4.h5" --same "$tmp/p1.h5" --tol "$tol" | sed 's/^/tp 4 vs 1 rank: /'
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --quiet --out "$tmp/dp2.h5" 2> "$tmp/log_dp2"
"$py" "$src/tests/scripts/check_pairs_run.py" "$tmp/dp2.h5" --same "$tmp/p1.h5" --tol "$tol" | sed 's/^/dp 2 vs 1 rank: /'

# (c) SIGTERM in the pair stage (to the ranks, as Slurm sends it) once the stage has begun (its
# first line; its group line comes only when a rank's samples are all done, too late on a fast
# processor: the stage had ended and the run exited 0), then --resume; small batches, so that the
# stop lands between two of them
cflags=(--threads 1 --device cpu --limit 8 --batch-tokens 40 --models baseline,sft --pairs baseline:sft)
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${cflags[@]}" --quiet --out "$tmp/ref.h5" 2> "$tmp/log_ref"
out=$tmp/stop.h5
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${cflags[@]}" --out "$out" 2> "$tmp/logs" &
pid=$!
wait_for_line "[baseline__sft] comparing baseline with sft" "$tmp/logs" "$pid"
pkill -TERM -P "$pid" || true
set +e
wait "$pid"
rc=$?
set -e
[ $rc -eq 75 ] || fail "SIGTERM: exit status $rc, wanted 75: $(tail -5 "$tmp/logs")"
[ "$(h5 "$out" "int(f.attrs['complete'])")" = 0 ] || fail "a stopped run's file must not be complete"
state=$(h5 "$out" "'pairs' in f and [int(x) for x in f['pairs/baseline__sft/done'][:]]")
echo "stopped in the pair stage; done markers of baseline__sft: $state"
h5 "$out" "set(f['pairs/baseline__sft/done'][:].tolist()) <= {0, 1}" | grep -qx True || fail "done markers: $state"
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${cflags[@]}" --out "$out" --resume 2> "$tmp/logr"
grep -q "\[baseline__sft\]" "$tmp/logr" || fail "resume did not run the pair: $(cat "$tmp/logr")"
[ "$(h5 "$out" "int(f.attrs['complete'])")" = 1 ] || fail "resumed file not complete"
"$py" "$src/tests/scripts/check_pairs_run.py" "$out" --same "$tmp/ref.h5" --tol 0 | sed 's/^/SIGTERM + --resume vs uninterrupted (same grid, exact): /'

# (d) vocabularies, defaults, none, unknown names
"$bin" make-tiny-model --out "$tmp/models/wide" --seed 9 --vocab 152000 --tokenizer "$src/tests/data/qwen3-tokenizer" 2> /dev/null
sed -e "s|^pairs: .*|pairs: [[baseline, wide]]|" \
  -e "s|^  - name: rl|  - name: wide\n    path: $tmp/models/wide\n  - name: rl|" "$tmp/run.yaml" > "$tmp/wide.yaml"
expect_err 1 "pairs: baseline (vocab_size 151936) and wide (vocab_size 152000) do not share a vocabulary" \
  "$bin" run "$tmp/wide.yaml" --threads 1 --device cpu --limit 2 --out "$tmp/w.h5"
[ ! -f "$tmp/w.h5" ] || fail "a refused pair must be refused before the file is written"
grep -v "^pairs:" "$tmp/wide.yaml" > "$tmp/default.yaml"
"$bin" run "$tmp/default.yaml" --threads 1 --device cpu --limit 2 --quiet --out "$tmp/d.h5" 2> "$tmp/e"
[ "$(grep -c "pairs: the default pairs are consecutive models" "$tmp/e")" = 1 ] || fail "default pairs warning: $(cat "$tmp/e")"
grep -qF "left out (no shared vocabulary): sft (vocab_size 151936) and wide (vocab_size 152000) do not share a vocabulary; wide (vocab_size 152000) and rl" "$tmp/e" ||
  fail "the warning must name the pairs left out: $(cat "$tmp/e")"
[ "$(h5 "$tmp/d.h5" "sorted(f['pairs'])")" = "['baseline__sft']" ] || fail "default pairs: $(h5 "$tmp/d.h5" "list(f.get('pairs', []))")"
echo "default pairs: the pairs without a shared vocabulary left out with one warning"
sed -e "s|^pairs: .*|pairs: none|" "$tmp/run.yaml" > "$tmp/none.yaml"
"$bin" run "$tmp/none.yaml" --threads 1 --device cpu --limit 2 --quiet --out "$tmp/n.h5" 2> /dev/null
[ "$(h5 "$tmp/n.h5" "'pairs' in f")" = False ] || fail "pairs: none wrote /pairs"
"$bin" run "$tmp/default.yaml" --threads 1 --device cpu --limit 2 --quiet --pairs none --out "$tmp/n2.h5" 2> /dev/null
[ "$(h5 "$tmp/n2.h5" "'pairs' in f")" = False ] || fail "--pairs none wrote /pairs"
echo "pairs: none and --pairs none: no /pairs"
line=$(grep -n "^pairs:" "$tmp/run.yaml" | cut -d: -f1)
sed -e "s|^pairs: .*|pairs: [[baseline, sft], [rl, nope]]|" "$tmp/run.yaml" > "$tmp/bad.yaml"
expect_err 1 "$tmp/bad.yaml:$line: pairs: no model named 'nope' among the models run (baseline, sft, rl)" \
  "$bin" run "$tmp/bad.yaml" --out "$tmp/b.h5"
expect_err 1 "--pairs: no model named 'x'" "$bin" run "$tmp/run.yaml" --out "$tmp/b.h5" --pairs baseline:x
expect_err 1 "pairs: no model named 'rl'" "$bin" run "$tmp/run.yaml" --out "$tmp/b.h5" --models baseline,sft
expect_err 1 "--pairs: 'sft' is not a pair model_a:model_b" "$bin" run "$tmp/run.yaml" --out "$tmp/b.h5" --pairs sft
echo "refusals: other vocabulary, unknown model names"
echo "pairs run: all checks passed"
