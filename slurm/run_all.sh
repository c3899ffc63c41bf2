#!/usr/bin/env bash
# ---------------------------------------------------------------------------
# logits-study on a Slurm cluster. Edit the #SBATCH lines below for your
# cluster, then, from the project root:
#     sbatch slurm/run_all.sh configs/r1_reflection.yaml [RUN OPTIONS...]
# Options after the config go to `logits-study run` (e.g. --limit 100 --tp 2).
# Without Slurm the same script runs the study under mpirun (LS_NP ranks):
#     LS_NP=2 bash slurm/run_all.sh configs/demo.yaml
# See slurm/README.md. Rank count = nodes x ntasks-per-node = data-parallel
# groups x tp; one GPU per rank.
# ---------------------------------------------------------------------------
#SBATCH --job-name=logits-study
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=4
# One GPU per task. CPU-only cluster: disable the next line (make it ##SBATCH)
# or submit with --gpus-per-node=0; the binary then runs on the CPU.
#SBATCH --gpus-per-node=4
# CPU threads per rank (the binary reads SLURM_CPUS_PER_TASK).
#SBATCH --cpus-per-task=8
#SBATCH --time=08:00:00
# USR1 to this batch shell 300 s before the time limit: it is forwarded to the
# job step, `run` stops at a batch boundary (exit 75) and the job is requeued
# to continue with --resume.
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
# Log of every attempt of the job (appended across requeues). The folder is
# relative to the directory you submit from: submit from the project root.
#SBATCH --output=slurm/logs/%x-%j.out
#SBATCH --open-mode=append
#
# Environment (all optional):
#   LS_ROOT      project root (default: found from the submitted script's path)
#   LS_BIN       the binary (default: $LS_ROOT/build/logits-study)
#   LS_LAUNCHER  srun | mpirun (default: srun under Slurm, mpirun outside)
#   LS_SRUN_MPI  srun --mpi= value (default: pmix if offered, else pmi2, else none)
#   LS_NP        ranks for mpirun outside Slurm (default 2)
#   LS_RESUME    auto | never: continue an incomplete output with --resume (default auto)
#   LS_REDUCE    auto | always | never: `logits-study reduce` after the run
#                (auto: when the file has no /summary yet)
#   LS_REPORT    auto | never: `python -m analysis.report` after the run
#   LS_MAX_REQUEUES  stop requeueing after this many restarts (default 20)
#
# Exit status: 0 done; 75 stopped cleanly, resumable (requeued under Slurm);
# anything else: the failing step's status (see the log).
set -uo pipefail

log() { printf '[run_all %s] %s\n' "$(date '+%F %T')" "$*"; }
die() { log "ERROR: $1"; exit "${2:-1}"; }

# --- the project root and the binary ----------------------------------------
# Under Slurm this script runs from a copy in the spool folder, so its own path
# says nothing: use LS_ROOT, else the path Slurm recorded for the submitted
# script, else the submit folder (or one of its parents).
is_root() { [ -f "$1/slurm/run_all.sh" ] && [ -f "$1/CMakeLists.txt" ]; }
find_root() {
  if [ -n "${LS_ROOT:-}" ]; then echo "$LS_ROOT"; return; fi
  local d cmd
  if [ -n "${SLURM_JOB_ID:-}" ]; then
    cmd=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -1)
    if [ -n "$cmd" ] && [ -f "$cmd" ]; then
      d=$(cd "$(dirname "$cmd")/.." && pwd)
      is_root "$d" && { echo "$d"; return; }
    fi
    d=${SLURM_SUBMIT_DIR:-$PWD}
    while [ "$d" != / ]; do is_root "$d" && { echo "$d"; return; }; d=$(dirname "$d"); done
  fi
  d=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  is_root "$d" && { echo "$d"; return; }
  return 1
}

[ $# -ge 1 ] || die "usage: sbatch slurm/run_all.sh CONFIG.yaml [RUN OPTIONS...]" 2
cfg_arg=$1
shift
run_args=("$@")
# the config is relative to where the job was submitted (Slurm starts the job there)
cfg=$(cd "$(dirname "$cfg_arg")" 2>/dev/null && echo "$PWD/$(basename "$cfg_arg")") || cfg=$cfg_arg
[ -f "$cfg" ] || die "config not found: $cfg_arg (from $PWD)" 2

root=$(find_root) || die "cannot find the project root: set LS_ROOT (submit from the project root)" 2
bin=${LS_BIN:-$root/build/logits-study}
[ -x "$bin" ] || die "binary not found: $bin (build it: bash scripts/build.sh build, or set LS_BIN)" 2

if [ "$(id -u)" -eq 0 ]; then
  # Open MPI refuses to run as root unless told (containers, test machines)
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# --- the output file (config `output:`, relative to the config; or --out) ---
out=$(sed -n 's/^output:[[:space:]]*//p' "$cfg" | head -1 | sed -e 's/[[:space:]]#.*$//' -e 's/[[:space:]]*$//' \
      -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/")
overwrite=0
for ((i = 0; i < ${#run_args[@]}; i++)); do
  case ${run_args[i]} in
    --out | --output) out=${run_args[i + 1]:-}; [[ $out = /* ]] || out=$PWD/$out ;;
    --overwrite) overwrite=1 ;;
    --resume) LS_RESUME=given ;;
  esac
done
[ -n "$out" ] || die "no output file: neither 'output:' in $cfg nor --out" 2
[[ $out = /* ]] || out=$(dirname "$cfg")/$out
out_dir=$(dirname "$out")
mkdir -p "$out_dir" || die "cannot create the output folder $out_dir"
out=$(cd "$out_dir" && pwd)/$(basename "$out")
marker=$out.done   # written by this script when `run` exits 0 (h5dump-free completeness)

# 0: complete, 1: incomplete, 2: cannot tell
is_complete() {
  local v
  if command -v h5dump >/dev/null; then
    v=$(h5dump -a /complete "$out" 2>/dev/null | sed -n 's/^ *(0): *\([0-9-]*\).*/\1/p')
    [ "$v" = 1 ] && return 0
    [ -n "$v" ] && return 1
  fi
  if "$bin" inspect --help >/dev/null 2>&1; then
    v=$("$bin" inspect "$out" 2>/dev/null | awk '$1 == "complete" {print $2; exit}')
    [ "$v" = 1 ] && return 0
    [ -n "$v" ] && return 1
  fi
  if [ -f "$marker" ]; then
    [ "$out" -nt "$marker" ] && return 1
    return 0
  fi
  return 2
}
has_summary() { command -v h5dump >/dev/null && h5dump -n "$out" 2>/dev/null | grep -q ' /summary$'; }

# --- the launcher ----------------------------------------------------------
launcher=${LS_LAUNCHER:-}
if [ -z "$launcher" ]; then
  if [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null; then launcher=srun; else launcher=mpirun; fi
fi
case $launcher in
  srun)
    [ -n "${SLURM_JOB_ID:-}" ] || die "LS_LAUNCHER=srun outside a Slurm job" 2
    mpi=${LS_SRUN_MPI:-}
    if [ -z "$mpi" ]; then
      types=$(srun --mpi=list 2>&1)
      if grep -Eq '(^|[[:space:]:])pmix(_v[0-9]+)?[[:space:]]*$' <<<"$types"; then mpi=pmix
      elif grep -Eq '(^|[[:space:]:])pmi2[[:space:]]*$' <<<"$types"; then mpi=pmi2
      else mpi=none; fi
    fi
    launch=(srun "--mpi=$mpi" --kill-on-bad-exit=1)
    # Slurm 22.05+ srun no longer inherits --cpus-per-task from the allocation
    [ -n "${SLURM_CPUS_PER_TASK:-}" ] && launch+=("--cpus-per-task=$SLURM_CPUS_PER_TASK")
    ;;
  mpirun)
    if [ -n "${SLURM_JOB_ID:-}" ]; then
      launch=(mpirun)   # Open MPI takes the ranks and nodes from the allocation
    else
      launch=(mpirun -np "${LS_NP:-2}")
    fi
    ;;
  *) die "LS_LAUNCHER=$launcher: expected srun or mpirun" 2 ;;
esac

if [ -n "${SLURM_JOB_ID:-}" ]; then
  log "job ${SLURM_JOB_ID} (${SLURM_JOB_NAME:-}) on ${SLURM_JOB_NODELIST:-?}: ${SLURM_NTASKS:-?} tasks," \
      "${SLURM_CPUS_PER_TASK:-?} CPUs per task, restart ${SLURM_RESTART_COUNT:-0}"
else
  log "not under Slurm: ${LS_NP:-2} ranks with mpirun on $(hostname -s)"
fi
log "project $root; binary $bin"
log "config $cfg; output $out"

# --- signals: forwarded to the job step --------------------------------------
# With --signal=B:USR1@T only this batch shell gets the signal; the ranks must
# get it to stop at a batch boundary. srun and mpirun both pass USR1/TERM on to
# their tasks. `wait` returns early when a trapped signal arrives: wait again.
child=
signalled=
sig_in_wait=
# shellcheck disable=SC2317  # called from the traps
forward() {
  signalled=$1
  sig_in_wait=1
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    log "received SIG$1: forwarding SIG$1 to the job step (pid $child)"
    kill "-$1" "$child" 2>/dev/null
  else
    log "received SIG$1 (no job step running)"
  fi
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
trap 'forward INT' INT

# runs "${launch[@]}" "$bin" run ...: sets rc; stderr also copied to $errf
errf=$(mktemp "${TMPDIR:-/tmp}/run_all.XXXXXX")
trap 'rm -f "$errf"' EXIT
run_step() {
  log "launch: ${launch[*]} $bin run $cfg ${run_args[*]} $*"
  : > "$errf"
  "${launch[@]}" "$bin" run "$cfg" "${run_args[@]}" "$@" 2> >(tee -a "$errf" >&2) &
  child=$!
  while :; do
    sig_in_wait=
    wait "$child"
    rc=$?
    # interrupted by a trapped signal: the step still runs (or bash kept its status): wait again
    [ -n "$sig_in_wait" ] || break
  done
  child=
  return 0
}

# --- the run ----------------------------------------------------------------
rc=0
skip_run=0
if [ -e "$out" ] && [ $overwrite = 0 ] && [ "${LS_RESUME:-auto}" != given ]; then
  is_complete
  state=$?
  if [ $state = 0 ]; then
    log "output is complete already: not running the study again (pass --overwrite to redo it)"
    skip_run=1
  elif [ "${LS_RESUME:-auto}" = never ]; then
    die "output exists and is incomplete; LS_RESUME=never: pass --overwrite or move it away" 2
  else
    if [ $state = 1 ]; then log "output exists and is incomplete (a stopped or killed attempt): resuming"
    else log "output exists, completeness unknown (h5dump/inspect cannot read it, no marker): resuming"; fi
    run_step --resume
    if [ $rc -ne 0 ] && [ $rc -ne 75 ] && [ -z "$signalled" ] && grep -q -- "--resume is not supported" "$errf"; then
      log "this build of logits-study cannot --resume yet: starting the run over (--overwrite)"
      run_step --overwrite
    fi
  fi
else
  [ $overwrite = 1 ] && rm -f "$marker"
  run_step
fi

if [ $skip_run = 0 ]; then
  if [ $rc -eq 75 ]; then
    log "run stopped cleanly at a batch boundary (exit 75): the output is resumable"
    if [ -n "${SLURM_JOB_ID:-}" ]; then
      n=${SLURM_RESTART_COUNT:-0}
      if [ "$n" -ge "${LS_MAX_REQUEUES:-20}" ]; then
        log "not requeueing: restarted $n times already (LS_MAX_REQUEUES=${LS_MAX_REQUEUES:-20})"
      else
        log "requeueing job $SLURM_JOB_ID (scontrol requeue): it continues with --resume"
        scontrol requeue "$SLURM_JOB_ID" || log "ERROR: scontrol requeue failed: resubmit the same command"
      fi
    else
      log "run the same command again to continue"
    fi
    exit 75
  elif [ $rc -ne 0 ]; then
    [ -n "$signalled" ] && log "run ended by SIG$signalled (exit $rc): this build of logits-study may not stop" \
      "cleanly on signals; the next attempt resumes or starts over"
    die "run failed with exit status $rc" "$rc"
  fi
  # a step that never really ran can still exit 0 (e.g. srun: task launch failed): trust the file
  is_complete
  [ $? = 1 ] && die "run exited 0 but $out is not marked complete (see the messages above)"
  touch "$marker"
  log "run finished: $out"
fi

# --- after a complete run: reduce and report (each only when available) ----
if [ "${LS_REDUCE:-auto}" != never ]; then
  if ! "$bin" reduce --help >/dev/null 2>&1; then
    log "reduce: skipped (this build of logits-study has no 'reduce' command)"
  elif [ "${LS_REDUCE:-auto}" = auto ] && has_summary; then
    log "reduce: skipped (/summary already written by run; LS_REDUCE=always recomputes it)"
  else
    log "reduce: $bin reduce $out"
    "$bin" reduce "$out" || die "reduce failed (exit $?)"
  fi
else
  log "reduce: skipped (LS_REDUCE=never)"
fi
if [ "${LS_REPORT:-auto}" != never ]; then
  py=$root/.venv/bin/python
  if [ ! -f "$root/analysis/report.py" ]; then
    log "report: skipped (no analysis/report.py in $root)"
  elif [ ! -x "$py" ]; then
    log "report: skipped (no $root/.venv: run bash scripts/setup.sh)"
  else
    rep=${out%.h5}
  fi
  if [ -n "${rep:-}" ] && [ $skip_run = 1 ] && [ "$rep/dashboard.html" -nt "$out" ]; then
    log "report: up to date ($rep/dashboard.html)"
  elif [ -n "${rep:-}" ]; then
    log "report: python -m analysis.report $out -o $rep"
    (cd "$root" && "$py" -m analysis.report "$out" -o "$rep") || die "report failed (exit $?)"
    log "report written to $rep"
  fi
else
  log "report: skipped (LS_REPORT=never)"
fi
log "done"
exit 0
