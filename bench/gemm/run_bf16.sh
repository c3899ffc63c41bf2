#!/usr/bin/env bash
# The CPU backend's bf16 kernels at the prefill shapes of Qwen2.5-0.5B (q/o
# 896x896, gate/up 4864x896, down 896x4864, head 151936x896; T = 512), 1 and 2
# threads: ls-bf16-bench (AMX-BF16 and AVX512-BF16 kernels, best of ROUNDS) and,
# when oneDNN was found at build time (apt-get install -y libdnnl-dev, then
# scripts/build.sh), oneDNN's bf16 matmul against the kernel in use,
# interleaved round by round in the same process. Writes bench/results/gemm_bf16_${TAG}.json
# with the machine's lscpu and load average.
# usage: bench/gemm/run_bf16.sh [BUILD_DIR] [TAG] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
tag=${2:-$(hostname)}
rounds=${3:-7}
[ -x "$build/bench/ls-bf16-bench" ] || { echo "build $build/bench/ls-bf16-bench first (scripts/build.sh)" >&2; exit 1; }
out=bench/results/gemm_bf16_${tag}.json
tmp=$(mktemp)
for th in 1 2; do
  OMP_NUM_THREADS=$th "$build/bench/ls-bf16-bench" "$th" 512 "$rounds" | tee -a "$tmp"
done
python3 bench/gemm/write_results.py "$tmp" "$out" \
  "own bf16 GEMM kernels (src/backend/cpu/cpu_bf16.c) and oneDNN's bf16 matmul, y [T, n] = x [T, k] . W [n, k]^T, x fp32 rounded to bf16 in the timed call, fp32 output"
rm -f "$tmp"
