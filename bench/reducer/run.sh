#!/usr/bin/env bash
# Reducer benchmark: `logits-study reduce` on a synthetic file of 100k samples,
# 1M occurrences per model, 3 models (bench/reducer/make_input.py): wall time
# and peak resident memory (GNU time) at the default resamples (10,000 for the
# primary tests, 1,000 for the descriptive CIs) against the peer in the same
# script: the same binary with resampling off (ONE_THREAD=1 adds a
# single-threaded run of the defaults).
# Writes bench/results/reducer.json.
# usage: bench/reducer/run.sh [BINARY] [SAMPLES] [OCCURRENCES]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/logits-study}
N=${2:-100000}
O=${3:-1000000}
PY=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$PY bench/reducer/make_input.py "$work/in.h5" --samples "$N" --occurrences "$O" --models 3
threads=$(nproc)
results=()
measure() { # label, threads, extra args...
    local label=$1 th=$2
    shift 2
    cp "$work/in.h5" "$work/r.h5"
    OMP_NUM_THREADS=$th /usr/bin/time -f "%e %M" -o "$work/t" "$BIN" reduce "$work/r.h5" --quiet "$@"
    read -r secs kb <"$work/t"
    echo "$label: threads=$th ${secs}s peak ${kb} KiB" >&2
    results+=("{\"label\": \"$label\", \"threads\": $th, \"seconds\": $secs, \"peak_rss_kib\": $kb, \"args\": \"$*\"}")
}
measure "no resampling" "$threads" --bootstrap 0 --resamples 0
measure "defaults" "$threads"
if [ "${ONE_THREAD:-0}" = 1 ]; then measure "defaults" 1; fi
file_mb=$(du -m "$work/in.h5" | cut -f1)
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
mem=$(free -g | awk '/Mem:/ {print $2}')
{
    echo "{"
    echo "  \"script\": \"bench/reducer/run.sh\", \"date\": \"$(date -u +%Y-%m-%d)\","
    echo "  \"machine\": \"$cpu, $(nproc) cores, ${mem} GiB\","
    echo "  \"input\": {\"samples\": $N, \"occurrences_per_model\": $O, \"models\": 3, \"words\": 10, \"file_mb\": $file_mb},"
    echo "  \"runs\": ["
    for i in "${!results[@]}"; do
        sep=","; [ "$i" -eq $((${#results[@]} - 1)) ] && sep=""
        echo "    ${results[$i]}$sep"
    done
    echo "  ]"
    echo "}"
} >bench/results/reducer.json
cat bench/results/reducer.json
