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
export OMP_WAIT_POLICY=passive # as the logits-study binary runs (src/app/main.c)
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
python3 - "$tmp" "$out" <<'PY'
import json, subprocess, sys, datetime, os
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
info = {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in lscpu.splitlines() if ":" in l)}
flags = info.get("Flags", "").split()
machine = {
    "model_name": info.get("Model name"), "cpu_family": info.get("CPU family"), "model": info.get("Model"),
    "cpus": info.get("CPU(s)"), "avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
    "avx512_bf16": "avx512_bf16" in flags, "l2": info.get("L2 cache"), "l3": info.get("L3 cache"),
    "note": os.environ.get("NOTE", ""),
}
json.dump({"what": "own fp32 GEMM (src/backend/cpu/cpu_sgemm.c) vs OpenBLAS sgemm, NT, interleaved in one process",
           "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "machine": machine,
           "load_average_at_end": os.getloadavg(), "results": rows}, open(sys.argv[2], "w"), indent=1)
print("wrote", sys.argv[2])
PY
rm -f "$tmp"
