#!/usr/bin/env bash
# The CPU backend's own fp32 GEMM vs OpenBLAS sgemm at the prefill shapes of
# Qwen2.5-0.5B (C [M, N] = A [M, K] . B [N, K]^T: q/o 896x896, gate/up
# 4864x896, down 896x4864, head 151936x896), M = 512 and 64 tokens, 1 and 2
# threads; both in one process, interleaved round by round (ls-gemm-bench),
# best and median of ROUNDS. Writes bench/results/gemm_${TAG}.json with the
# machine's lscpu and load average.
# usage: [NOTE="what lscpu does not say, e.g. Zen 3"] bench/gemm/run.sh [BUILD_DIR] [TAG] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
tag=${2:-$(hostname)}
rounds=${3:-7}
bin=$build/bench/ls-gemm-bench
[ -x "$bin" ] || { echo "build $bin first (scripts/build.sh)" >&2; exit 1; }
# OpenMP threads spin briefly between loops, then sleep (libgomp default), as the logits-study binary runs
out=bench/results/gemm_${tag}.json
tmp=$(mktemp)
for th in 1 2; do
  for M in 512 64; do
    for nk in "896 896" "4864 896" "896 4864" "151936 896"; do
      set -- $nk
      r=$rounds
      [ "$1" = 151936 ] && [ "$M" = 512 ] && r=$(( rounds < 3 ? rounds : 3 ))
      "$bin" "$M" "$1" "$2" "$th" "$r" | tee -a "$tmp"
    done
  done
done
python3 bench/gemm/write_results.py "$tmp" "$out" \
  "own fp32 GEMM (src/backend/cpu/cpu_sgemm.c) vs OpenBLAS sgemm, NT, interleaved in one process"
rm -f "$tmp"
