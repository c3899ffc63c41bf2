#!/usr/bin/env bash
# slurm/run_all.sh under a real single-node Slurm (tests/slurm/start_slurm.sh:
# slurm-wlm + munge from Debian, slurmctld + slurmd as root daemons).
#   1. sbatch --wait of the demo study with 2 tasks on the one node (srun
#      --mpi=pmix): the file is complete with world_size 2; the job log shows
#      the launch and the end.
#   2. the same submission again (a requeue after success): the complete output
#      is kept, not run again.
#   3. signals: a running job gets `scancel --signal=USR1 --batch`; the batch
#      shell must forward it to the job step. When `run` stops cleanly on it
#      (exit 75) the job is requeued and the next attempt continues (--resume)
#      to a complete file; until then, the forward and the step's death by
#      SIGUSR1 are what is checked.
# Skips (exit 0, 'skipped: <why>') only when Slurm's daemons cannot run here
# (not root, packages not installable, a daemon does not start).
# usage: test_slurm.sh BINARY SOURCE_DIR
set -uo pipefail
bin=$(realpath "$1")
src=$(realpath "$2")
py=${PYTHON:-$src/.venv/bin/python}
tmp=$(mktemp -d)
t0=$(date +%s)
started=0
cleanup() {
  [ $started = 1 ] && [ -z "${LS_SLURM_KEEP:-}" ] && bash "$src/tests/slurm/stop_slurm.sh" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$tmp"/logs/*; do [ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; }; done
  exit 1
}
say() { echo "test_slurm [$(( $(date +%s) - t0 )) s]: $*"; }

# one test Slurm per machine: concurrent runs of this test (other checkouts) take turns
lockf=/tmp/logits-study-slurm-test.lock
if { [ -w "$lockf" ] || { [ ! -e "$lockf" ] && [ -w /tmp ]; }; } && command -v flock >/dev/null; then
  exec 9>> "$lockf"
  flock -w 600 9 || fail "another test_slurm.sh holds $lockf for 10 min"
fi

# --- Slurm up (or skip, saying why)
# (fd 9, the lock, closed: the daemons it starts outlive the test and must not hold the lock)
up=$(bash "$src/tests/slurm/start_slurm.sh" 9>&- 2>&1)
rc=$?
echo "$up"
if [ $rc -eq 77 ]; then
  echo "skipped: Slurm cannot run on this machine: $(grep 'cannot run Slurm here' <<<"$up" | sed 's/.*here: //')"
  exit 0
fi
[ $rc -eq 0 ] || fail "start_slurm.sh exited $rc"
grep -q "already running" <<<"$up" || started=1
export SLURM_CONF=${LS_SLURM_DIR:-/var/spool/slurm-ls-test}/slurm.conf
say "Slurm up"

# --- the demo config, pointed at fresh demo models and a temp output
bash "$src/scripts/make_demo_models.sh" "$bin" "$tmp/models" >/dev/null || fail "make_demo_models.sh"
sed -e "s|\.\./build/demo-models|$tmp/models|" -e "s|^data: .*|data: $src/configs/demo.jsonl|" \
    -e "s|^output: .*|output: $tmp/out/demo.h5|" -e "s|^pairs: .*|pairs: none|" "$src/configs/demo.yaml" > "$tmp/run.yaml"
mkdir -p "$tmp/logs"
# the #SBATCH defaults of run_all.sh overridden for one node, 2 tasks, no GPUs; the time
# limit well above the 300 s of --signal=B:USR1@300 (USR1 would come at the start otherwise)
sb=(-N1 -n2 --ntasks-per-node=2 --cpus-per-task=1 --gpus-per-node=0 --time=10 --job-name=ls-test
    "--output=$tmp/logs/%x-%j.out")
export LS_BIN=$bin
cd "$src" || fail "cd $src"

check_file() {  # FILE: complete, world_size 2, every model's samples done
  "$py" - "$1" <<'PY' || fail "output file check: $1"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["complete"] == 1, f.attrs["complete"]
    assert f.attrs["world_size"] == 2, f.attrs["world_size"]
    for m in f["models"]:
        done = f["models"][m]["done"][:]
        assert done.all(), (m, done)
print("file ok:", sys.argv[1])
PY
}

# --- 1. the study as a batch job
say "sbatch --wait slurm/run_all.sh (2 tasks)"
jid=$(timeout 150 sbatch --parsable --wait "${sb[@]}" slurm/run_all.sh "$tmp/run.yaml" --limit 24 --quiet)
rc=$?
[ $rc -eq 0 ] || fail "sbatch --wait: exit $rc (job ${jid:-?})"
jlog=$tmp/logs/ls-test-$jid.out
[ -f "$jlog" ] || fail "no job log $jlog"
check_file "$tmp/out/demo.h5"
for want in "job $jid (ls-test) on $(hostname -s): 2 tasks, 1 CPUs per task" "launch: srun --mpi=pmix" \
            "run finished: $tmp/out/demo.h5" "] done"; do
  grep -qF -- "$want" "$jlog" || fail "job log lacks '$want'"
done
grep -q "ERROR" "$jlog" && fail "job log has an ERROR"
# the optional steps ran where this checkout has them, or said why not
grep -qE "reduce: (skipped|$bin reduce)" "$jlog" || fail "job log says nothing of reduce"
if [ -f "$src/analysis/report.py" ] && [ -x "$src/.venv/bin/python" ]; then
  [ -f "$tmp/out/demo/dashboard.html" ] || fail "no report: $tmp/out/demo/dashboard.html"
else
  grep -q "report: skipped" "$jlog" || fail "job log says nothing of the report"
fi
say "job $jid done"

# --- 2. again: the complete output is kept
jid=$(timeout 60 sbatch --parsable --wait "${sb[@]}" slurm/run_all.sh "$tmp/run.yaml" --limit 24 --quiet)
rc=$?
[ $rc -eq 0 ] || fail "second sbatch: exit $rc"
grep -q "output is complete already" "$tmp/logs/ls-test-$jid.out" || fail "second job ran the study again"
grep -q "report: python" "$tmp/logs/ls-test-$jid.out" && fail "second job made the report again"
say "job $jid kept the complete output"

# --- 3. USR1 to the batch shell is forwarded to the job step
# a longer run (the demo records 4 times, small batches; ~20 s): the signal comes while it runs
for _ in $(seq 4); do cat "$src/configs/demo.jsonl"; done > "$tmp/long.jsonl"
jid=$(LS_REPORT=never sbatch --parsable "${sb[@]}" slurm/run_all.sh "$tmp/run.yaml" --data "$tmp/long.jsonl" \
      --out "$tmp/out/sig.h5" --batch-tokens 1024 --quiet) || fail "sbatch (signal job)"
jlog=$tmp/logs/ls-test-$jid.out
# into the run: the step launched and its output file created
for _ in $(seq 120); do [ -f "$tmp/out/sig.h5" ] && break; sleep 0.25; done
grep -q "launch:" "$jlog" || fail "signal job $jid did not launch its step"
[ -f "$tmp/out/sig.h5" ] || fail "signal job $jid did not create its output in 30 s"
sleep 2
squeue -h -j "$jid" -o %T | grep -qx RUNNING || fail "signal job $jid ended before the signal: make it longer"
say "scancel --signal=USR1 --batch $jid"
scancel --signal=USR1 --batch "$jid" || fail "scancel --signal=USR1 --batch"
deadline=$(( $(date +%s) + 300 ))   # generous: a loaded machine (ctest -j) runs it slower
gone=0
while :; do
  state=$(squeue -h -j "$jid" -o %T 2>/dev/null)
  # gone for good only when squeue has not listed it for 5 s: while Slurm requeues it, the
  # job is briefly in a state squeue does not list (seen once: the loop ended before the
  # requeued attempt ran)
  if [ -z "$state" ]; then
    gone=$((gone + 1))
    [ $gone -ge 5 ] && break
    sleep 1
    continue
  fi
  gone=0
  # a requeued job waits ~120 s (BeginTime) before it may start again: release it as soon as
  # the steps of its last attempt are gone (a step launched before that fails)
  if [ "$state" = PENDING ] && ! pgrep -f "slurmstepd: \[$jid\." >/dev/null; then
    scontrol update JobId="$jid" StartTime=now >/dev/null 2>&1
  fi
  [ "$(date +%s)" -lt $deadline ] || { scancel "$jid"; fail "signal job $jid still $state after 300 s"; }
  sleep 1
done
grep -q "received SIGUSR1: forwarding SIGUSR1 to the job step" "$jlog" || fail "the batch shell did not forward SIGUSR1"
if grep -q "stopped cleanly at a batch boundary (exit 75)" "$jlog"; then
  grep -q "requeueing job $jid" "$jlog" || fail "clean stop but no requeue"
  grep -q "resuming" "$jlog" || fail "requeued attempt did not resume"
  grep -q "run finished: $tmp/out/sig.h5" "$jlog" || fail "requeued attempt did not finish"
  check_file "$tmp/out/sig.h5"
  say "job $jid: SIGUSR1 forwarded, clean stop (75), requeued, resumed to a complete file"
else
  grep -qE "User defined signal 1|exit 138" "$jlog" || fail "the job step did not get SIGUSR1"
  say "job $jid: SIGUSR1 forwarded to the step (note: this build of 'run' does not stop cleanly" \
      "on SIGUSR1 yet, exit 75 + requeue + resume not exercised)"
fi
say "passed"
