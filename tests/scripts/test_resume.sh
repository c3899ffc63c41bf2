#!/usr/bin/env bash
# Resume and clean shutdown (issue #10): a run killed with SIGKILL at three
# points, then `run --resume`, ends with the same file as an uninterrupted run
# (every dataset compared by check_run.py); SIGUSR1 / SIGTERM under mpirun stop
# all ranks at a batch boundary with exit status 75 and a consistent file that
# is never marked complete; --resume with another schema version, config or
# world size is refused with a clear message; with other GEMM kernels it warns
# and goes on.
# usage: test_resume.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
demo_study "s|^bootstrap: .*|bootstrap: 200|"
# small batches: many batch boundaries, so kills land before, during and after writes
loud=(--threads 1 --device cpu --batch-tokens 300)
common=("${loud[@]}" --quiet)
run() { mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" "$@"; }

run --out "$tmp/full.h5"
t0=$(date +%s%N)
run --out "$tmp/timing.h5"
total_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "uninterrupted run: $total_ms ms"
complete() { "$py" -c "import h5py,sys; print(int(h5py.File(sys.argv[1],'r').attrs['complete']))" "$1"; }

# SIGKILL of the whole job at three points (early, middle, late), then resume
for frac in 15 50 85; do
  out=$tmp/kill$frac.h5
  setsid mpirun -np 2 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$out" &
  pid=$!
  sleep "$(awk -v t=$total_ms -v f=$frac 'BEGIN{printf "%.3f", t*f/100000}')"
  kill_run "$pid" "$out"
  if [ -f "$out" ]; then
    state=$(complete "$out" 2>&1 | tail -1)
    [ "$state" = "1" ] && { echo "kill at $frac%: the run had already finished"; continue; }
    [ "$state" = "0" ] || fail "kill at $frac%: file unreadable after SIGKILL ($state)"
  fi
  run --out "$out" --resume
  [ "$(complete "$out")" = "1" ] || fail "kill at $frac%: resumed file not complete"
  "$py" "$src/tests/scripts/check_run.py" "$out" "$bin" "$tmp/full.h5" --exact | tail -1
  echo "kill -9 at ${frac}% + --resume: bit-identical to the uninterrupted run"
done

# SIGUSR1 and SIGTERM: every rank stops at a batch boundary, exit 75, file consistent and not complete
for sig in USR1 TERM; do
  out=$tmp/sig$sig.h5
  # in the second model, once the first is done (progress lines on: not --quiet)
  mpirun -np 2 "$bin" run "$tmp/run.yaml" "${loud[@]}" --out "$out" 2> "$tmp/sig.log" &
  pid=$!
  wait_for_line "[baseline] done:" "$tmp/sig.log" "$pid"
  # mpirun forwards SIGUSR1 to the ranks; SIGTERM goes to the ranks themselves, as
  # Slurm sends it to every task of a job step (mpirun would take SIGTERM as a kill)
  if [ "$sig" = USR1 ]; then kill -s USR1 "$pid"; else pkill -TERM -P "$pid"; fi
  set +e
  wait "$pid"
  rc=$?
  set -e
  [ $rc -eq 75 ] || fail "SIG$sig: exit status $rc, wanted 75: $(tail -5 "$tmp/sig.log")"
  [ "$(complete "$out")" = "0" ] || fail "SIG$sig: a stopped run's file must not be complete"
  run --out "$out" --resume
  "$py" "$src/tests/scripts/check_run.py" "$out" "$bin" "$tmp/full.h5" --exact | tail -1
  echo "SIG$sig: exit 75, resumed to the same content"
done

# --resume refusals: a file of another schema version (checked first), another config, another world size
cp "$tmp/full.h5" "$tmp/old.h5"
"$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'r+'); f.attrs['schema_version'] = 1; f.attrs['complete'] = 0" \
  "$tmp/old.h5"
expect_err 1 "--resume: $tmp/old.h5: schema version 1, but this build" run --out "$tmp/old.h5" --resume
grep -qF "reads schema version 2 only" "$tmp/e" || fail "resume of schema 1: $(cat "$tmp/e")"
echo "resume refusal: another schema version"
mpirun -np 2 "$bin" run "$tmp/run.yaml" "${loud[@]}" --out "$tmp/ref.h5" --limit 10 2> "$tmp/ref.log" &
pid=$!
wait_for_line "[baseline] done:" "$tmp/ref.log" "$pid"
kill -s USR1 "$pid" || true
wait "$pid" || true
if [ "$(complete "$tmp/ref.h5")" = "0" ]; then
  set +e
  run --out "$tmp/ref.h5" --resume --limit 10 --top-k 3 2> "$tmp/err"
  rc=$?
  set -e
  [ $rc -ne 0 ] && grep -q "run config differs" "$tmp/err" || fail "resume with another config: $rc $(cat "$tmp/err")"
  set +e
  mpirun -np 3 "$bin" run "$tmp/run.yaml" "${common[@]}" --out "$tmp/ref.h5" --resume --limit 10 2> "$tmp/err"
  rc=$?
  set -e
  [ $rc -ne 0 ] && grep -q "same world size" "$tmp/err" || fail "resume at another world size: $rc $(cat "$tmp/err")"
  echo "resume refusals: ok"
  # other GEMM kernels than those that wrote the first rows: a warning, and the run goes on
  "$py" -c "import h5py, sys
f = h5py.File(sys.argv[1], 'r+')
f.visititems(lambda n, o: o.attrs.__setitem__('runtime', 'fp32 GEMMs: another kernel') if 'runtime' in o.attrs else None)" \
    "$tmp/ref.h5"
  run --out "$tmp/ref.h5" --resume --limit 10 2> "$tmp/err"
  grep -qF 'was computed with "fp32 GEMMs: another kernel", this run computes with "fp32 GEMMs: own' "$tmp/err" ||
    fail "resume with other kernels: no warning: $(cat "$tmp/err")"
  [ "$(complete "$tmp/ref.h5")" = "1" ] || fail "resume with other kernels: not complete"
  echo "resume with other GEMM kernels: warned, completed"
fi
echo "resume: all checks passed"
