#!/usr/bin/env bash
# Stops the single-node test Slurm started by tests/slurm/start_slurm.sh:
# cancels its jobs, stops slurmd and slurmctld (by their pid files). munged is
# left running (other Slurm clients on the machine may use it); pass --munge
# to stop it too. usage: tests/slurm/stop_slurm.sh [--munge]
set -uo pipefail
dir=${LS_SLURM_DIR:-/var/spool/slurm-ls-test}
export SLURM_CONF=$dir/slurm.conf
stop() {  # pidfile
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}
# cancel the jobs first (only with slurmctld up: clients wait for it otherwise)
pid=$(cat "$dir/slurmctld.pid" 2>/dev/null)
if [ -f "$SLURM_CONF" ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  timeout 10 scancel --quiet --user "$(id -un)" 2>/dev/null
fi
stop "$dir/slurmd.pid"
stop "$dir/slurmctld.pid"
if [ "${1:-}" = --munge ]; then
  stop /run/munge/munged.pid
fi
echo "stop_slurm: stopped (state in $dir)"
