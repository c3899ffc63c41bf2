#!/usr/bin/env bash
# bench/run_overhead: how much of a study run goes to HDF5 writing rather than
# the forward pass + head statistics, at a size where it is measurable: three
# models of 4 layers / hidden 256 (Qwen vocabulary, 152k) over the demo records
# repeated 5 times (300 samples), mpirun -np 2. Target: writes <= 5% of the run.
# Writes bench/results/run_overhead.json. usage: bash bench/run_overhead/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in baseline:1 sft:2 rl:3; do
  build/logits-study make-tiny-model --out "$tmp/models/${m%%:*}" --seed "${m##*:}" --layers 4 --hidden 256 \
    --heads 4 --kv-heads 2 --intermediate 768 --tokenizer tests/data/qwen3-tokenizer >/dev/null
done
for i in 1 2 3 4 5; do cat configs/demo.jsonl; done > "$tmp/data.jsonl"
sed -e "s|\.\./build/demo-models|$tmp/models|" -e "s|^data: .*|data: $tmp/data.jsonl|" \
    -e "s|^output: .*|output: $tmp/out.h5|" configs/demo.yaml > "$tmp/run.yaml"
start=$(date +%s.%N)
mpirun -np 2 build/logits-study run "$tmp/run.yaml" --device cpu --threads 1 2> "$tmp/log"
wall=$(echo "$(date +%s.%N) - $start" | bc)
grep -E "time:|done:|wrote" "$tmp/log"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 - "$tmp/log" "$wall" "$cpu" "$(nproc)" > bench/results/run_overhead.json <<'PY'
import json, re, sys
log, wall, cpu, n = open(sys.argv[1]).read(), float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [dict(model=m, compute_s=float(c), write_s=float(w), write_pct=float(p))
        for m, c, w, p in re.findall(r"\[(\w+)\] time: forward\+head ([\d.]+) s, HDF5 row writes ([\d.]+) s \(([\d.]+)%", log)]
c = sum(r["compute_s"] for r in rows); w = sum(r["write_s"] for r in rows)
print(json.dumps({"machine": f"{cpu}, {n} cores", "setup": "3 models (4 layers, hidden 256, vocab 151936), 300 samples, "
                  "mpirun -np 2, 1 thread per rank, CPU backend", "models": rows, "compute_s": round(c, 3),
                  "write_s": round(w, 3), "write_pct_of_batches": round(100 * w / (c + w), 2),
                  "wall_s": round(wall, 2), "target": "HDF5 writes <= 5% of the run"}, indent=1))
PY
cat bench/results/run_overhead.json
