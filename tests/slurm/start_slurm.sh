#!/usr/bin/env bash
# Starts a real single-node Slurm on this machine for the tests: munged,
# slurmctld and slurmd as root daemons (no systemd), one node (this host,
# `hostname -s`) in one partition `debug`, no accounting, no cgroups
# (proctrack/linuxproc, task/none), select/cons_tres over the node's CPUs.
#
# usage: tests/slurm/start_slurm.sh
#   LS_SLURM_DIR  state, spool, logs, slurm.conf (default /var/spool/slurm-ls-test)
#
# Installs the Debian packages slurm-wlm and munge when missing (apt-get,
# idempotent; bookworm ships Slurm 22.05 with its pmix/pmi2 MPI plugins).
# Does nothing but check when this Slurm is already up. The daemons read
# $LS_SLURM_DIR/slurm.conf: clients need `export SLURM_CONF=$LS_SLURM_DIR/slurm.conf`
# (the last line printed says so). Stop with tests/slurm/stop_slurm.sh.
#
# Exit status: 0 up (node idle); 77 Slurm cannot run here (the reason is
# printed: not root, packages not installable, a daemon would not start);
# 1 any other error.
set -uo pipefail
dir=${LS_SLURM_DIR:-/var/spool/slurm-ls-test}
conf=$dir/slurm.conf
export SLURM_CONF=$conf
log() { echo "start_slurm: $*"; }
cannot() { echo "start_slurm: cannot run Slurm here: $*" >&2; exit 77; }

[ "$(id -u)" -eq 0 ] || cannot "needs root (daemons run as root, packages are installed with apt-get)"

# --- packages
pkgs=(slurm-wlm munge)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || cannot "no apt-get to install ${missing[*]}"
  log "installing ${missing[*]} (apt-get)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
       > "/tmp/start_slurm-apt.log" 2>&1; then
    apt-get update -q >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
      > "/tmp/start_slurm-apt.log" 2>&1 || { tail -5 /tmp/start_slurm-apt.log >&2;
                                              cannot "apt-get install ${missing[*]} failed"; }
  fi
fi
for b in munged slurmctld slurmd sinfo sbatch scontrol; do
  command -v "$b" >/dev/null || cannot "$b not found after installing ${pkgs[*]}"
done

host=$(hostname -s)
[ -n "$host" ] || cannot "hostname -s is empty"

# --- already up?
alive() { local pid; pid=$(cat "$dir/$1.pid" 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
if [ -f "$conf" ] && alive slurmctld && alive slurmd &&
   timeout 10 sinfo -h -n "$host" -o %T 2>/dev/null | grep -qx idle; then
  log "already running (node $host idle)"
  echo "export SLURM_CONF=$conf"
  exit 0
fi

# --- munge: a key, the socket dir, munged as the munge user (it refuses a key it does not own)
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating munge key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then mungekey --create --force >/dev/null 2>&1
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; fi
  fi
  mu=root
  id munge >/dev/null 2>&1 && mu=munge
  chown "$mu:" /etc/munge /etc/munge/munge.key && chmod 700 /etc/munge && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown "$mu:" /run/munge /var/log/munge /var/lib/munge
  chmod 755 /run/munge
  log "starting munged (as $mu)"
  if [ "$mu" = root ]; then munged --force > /tmp/start_slurm-munged.log 2>&1
  else runuser -u munge -- munged > /tmp/start_slurm-munged.log 2>&1; fi
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 ||
    cannot "munged did not start: $(cat /tmp/start_slurm-munged.log /var/log/munge/munged.log 2>/dev/null | tail -3)"
fi

# --- slurm.conf for this one node
cpus=$(nproc)
mem=$(free -m | awk '/^Mem:/ {print $2}')
mem=$(( mem > 2048 ? mem - 1024 : mem * 3 / 4 ))   # leave the OS a margin
# at least 2 CPUs so that a 2-task job fits on a 1-CPU machine (config_overrides trusts the config)
[ "$cpus" -ge 2 ] || cpus=2
# a stale Slurm of ours (e.g. a killed test): stop it first
if alive slurmctld || alive slurmd; then bash "$(dirname "$0")/stop_slurm.sh" >/dev/null 2>&1; fi
mkdir -p "$dir/ctld" "$dir/d" "$dir/log"
cat > "$conf" <<EOF
# single-node Slurm for logits-study tests (tests/slurm/start_slurm.sh)
ClusterName=lstest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=512
SlurmdParameters=config_overrides
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
# the job's own folders for the state the daemons keep between starts: start clean
rm -rf "${dir:?}/ctld/"* "${dir:?}/d/"* "${dir:?}/log/"* "$dir"/*.pid

log "starting slurmctld and slurmd (node $host, $cpus CPUs, ${mem} MB, MpiDefault=none; logs in $dir/log)"
slurmctld -f "$conf" -c -i > "$dir/log/slurmctld.start" 2>&1 ||
  cannot "slurmctld did not start: $(tail -3 "$dir/log/slurmctld.start" "$dir/log/slurmctld.log" 2>/dev/null)"
slurmd -f "$conf" > "$dir/log/slurmd.start" 2>&1 ||
  cannot "slurmd did not start: $(tail -5 "$dir/log/slurmd.start" "$dir/log/slurmd.log" 2>/dev/null)"

state=
for i in $(seq 120); do
  state=$(timeout 10 sinfo -h -n "$host" -o %T 2>/dev/null)
  [ "$state" = idle ] && break
  # a daemon that exited will not come back
  for d in slurmctld slurmd; do
    # (a daemon writes its pid file once it runs: none after 5 s means it exited)
    pid=$(cat "$dir/$d.pid" 2>/dev/null) || { [ "$i" -lt 10 ] && continue; }
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      cannot "$d exited: $(grep -ihE 'error|fatal' "$dir/log/$d.log" "$dir/log/$d.start" 2>/dev/null | tail -3)"
    fi
  done
  sleep 0.5
done
[ "$state" = idle ] ||
  cannot "node $host is '${state:-unknown}', not idle after 60 s: $(grep -iE 'error|fatal' "$dir"/log/*.log | tail -4)"
log "node $host idle"
echo "export SLURM_CONF=$conf"
