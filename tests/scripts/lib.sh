# lib.sh — shared by the script tests (sourced, not run): a temp folder removed
# on exit, MPI as root, failure and expected-error helpers, and the demo study
# pointed at freshly made tiny models. Expects bin and src to be set.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
py=${PYTHON:-$src/.venv/bin/python}
[ -x "$py" ] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*"
  exit 1
}

# expect_err STATUS MESSAGE COMMAND...: the command exits with STATUS and its
# stderr contains MESSAGE
expect_err() {
  local want=$1 msg=$2
  shift 2
  set +e
  "$@" > "$tmp/o" 2> "$tmp/e"
  local rc=$?
  set -e
  [ $rc -eq "$want" ] || fail "exit $rc (wanted $want): $* ; stderr: $(cat "$tmp/e")"
  grep -qF -- "$msg" "$tmp/e" || fail "stderr lacks '$msg': $(cat "$tmp/e")"
}

# demo_study [SED-EXPR...]: makes the demo's three tiny models in $tmp/models
# and writes $tmp/run.yaml, the demo config pointed at them (output $tmp/out.h5),
# with `pairs: none` (the pair stage costs several model passes on the Qwen
# vocabulary; test_pairs_run.sh sets its own pairs with "s|^pairs: .*|...|")
demo_study() {
  bash "$src/scripts/make_demo_models.sh" "$bin" "$tmp/models" >/dev/null
  local extra=()
  for x in "$@"; do extra+=(-e "$x"); done
  sed -e "s|\.\./build/demo-models|$tmp/models|" -e "s|^data: .*|data: $src/configs/demo.jsonl|" \
      -e "s|^output: .*|output: $tmp/out.h5|" -e "s|^pairs: .*|pairs: none|" "${extra[@]}" "$src/configs/demo.yaml" > "$tmp/run.yaml"
}

# wait_for_line PATTERN LOG PID: returns once LOG (a run's stderr) has a line
# with PATTERN (fixed string), or PID has ended, or after 150 s. Tests that
# stop a run send their signal after a line that says the run has begun, not
# after a fraction of another run's time (a loaded machine starts MPI later)
wait_for_line() {
  local pat=$1 log=$2 pid=$3
  for _ in $(seq 1 3000); do
    grep -qF -- "$pat" "$log" 2> /dev/null && return 0
    kill -0 "$pid" 2> /dev/null || return 0
    sleep 0.05
  done
}

# kill_run PID OUT: SIGKILL of a run started with `setsid mpirun ... --out OUT &`
# (PID: mpirun's) and of its ranks, which mpirun does not keep in its process
# group: a rank that computes alone (rank 0 reducing the file at the end) goes
# on after mpirun has died, holding the file open. Returns once none is left.
kill_run() {
  local pid=$1 out=$2
  kill -9 -- -"$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  for _ in $(seq 1 200); do
    pkill -9 -f -- "--out $out" 2> /dev/null || true
    pgrep -f -- "--out $out" > /dev/null || return 0
    sleep 0.05
  done
  fail "ranks writing $out still running 10 s after SIGKILL"
}
