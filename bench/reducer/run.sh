#!/usr/bin/env bash
# Reducer benchmark: `logits-study reduce` on a synthetic file of 100k samples,
# 1M occurrences per model, 3 models (bench/reducer/make_input.py): wall time
# and peak resident memory (GNU time) at the default resamples (10,000 for the
# primary tests and for the descriptive CIs) against the peer in the same
# script: the same binary with resampling off (ONE_THREAD=1 adds a
# single-threaded run of the defaults; INPUT=file.h5 reuses an input made by
# make_input.py). Each run records the 1-minute load average before and after
# it (the machine is shared). Writes bench/results/reducer.json.
# usage: bench/reducer/run.sh [BINARY] [SAMPLES] [OCCURRENCES]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/logits-study}
N=${2:-100000}
O=${3:-1000000}
PY=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${INPUT:-}" ]; then
    ln -s "$(realpath "$INPUT")" "$work/in.h5"
else
    $PY bench/reducer/make_input.py "$work/in.h5" --samples "$N" --occurrences "$O" --models 3
fi
threads=$(nproc)
results=()
measure() { # label, threads, extra args...
    local label=$1 th=$2
    shift 2
    cp "$work/in.h5" "$work/r.h5"
    local l0 l1
    l0=$(cut -d' ' -f1 /proc/loadavg)
    OMP_NUM_THREADS=$th /usr/bin/time -f "%e %M %U %S" -o "$work/t" "$BIN" reduce "$work/r.h5" --quiet "$@"
    l1=$(cut -d' ' -f1 /proc/loadavg)
    read -r secs kb usr sys <"$work/t"
    echo "$label: threads=$th ${secs}s (cpu ${usr}s user ${sys}s sys) peak ${kb} KiB load ${l0} -> ${l1}" >&2
    results+=("{\"label\": \"$label\", \"threads\": $th, \"seconds\": $secs, \"cpu_user_s\": $usr, \"cpu_sys_s\": $sys, \"peak_rss_kib\": $kb, \"load_before\": $l0, \"load_after\": $l1, \"args\": \"$*\"}")
}
measure "no resampling" "$threads" --bootstrap 0 --resamples 0
measure "defaults" "$threads"
if [ "${ONE_THREAD:-0}" = 1 ]; then measure "defaults" 1; fi
file_mb=$(du -mL "$work/in.h5" | cut -f1)
cpu="$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (family $(grep -m1 "cpu family" /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 "^model[[:space:]]*:" /proc/cpuinfo | cut -d: -f2 | tr -d ' '))"
mem=$(free -g | awk '/Mem:/ {print $2}')
{
    echo "{"
    echo "  \"script\": \"bench/reducer/run.sh\", \"date\": \"$(date -u +%Y-%m-%d)\","
    echo "  \"machine\": \"$cpu, $(nproc) cores, ${mem} GiB\","
    echo "  \"binary\": \"$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include || echo +changes)\","
    echo "  \"input\": {\"samples\": $N, \"occurrences_per_model\": $O, \"models\": 3, \"words\": 10, \"file_mb\": $file_mb},"
    echo "  \"runs\": ["
    for i in "${!results[@]}"; do
        sep=","; [ "$i" -eq $((${#results[@]} - 1)) ] && sep=""
        echo "    ${results[$i]}$sep"
    done
    echo "  ]"
    echo "}"
} >"${OUT:-bench/results/reducer.json}"
cat "${OUT:-bench/results/reducer.json}"
