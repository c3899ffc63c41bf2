#!/usr/bin/env bash
# bench/tp_scaling: `score` on a random Qwen2 of Qwen2.5-0.5B shape (made by
# make-tiny-model, fp32), 512 tokens, tensor parallel TP=1 (one rank, 2 threads)
# and TP=2 (two MPI ranks, 1 thread each) on the same cores; reports tokens/s
# and the share of time in the TP collectives. On a 2-core machine TP cannot
# speed anything up: the point is the measured communication share.
# Each is run with the fixed-order sums (the default: every tp gives the same
# bits, docs/parallelism.md) and with `--sums plain` (one GEMM per row-parallel
# layer, a plain all-reduce), in alternating rounds (the best of ROUNDS rounds
# of 3 repeats each), so the cost of the fixed order is measured in the same
# run on the same machine.
# Writes bench/results/tp_scaling.json. usage: bash bench/tp_scaling/run.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
bash scripts/build.sh build >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
model=build/bench-models/qwen2.5-0.5b-shape-ls
[ -f "$model/model.safetensors" ] ||
  build/logits-study make-tiny-model --out "$model" --seed 7 --layers 24 --hidden 896 --heads 14 --kv-heads 2 \
    --intermediate 4864 --vocab 151936 --tie --dtype f32 --force >/dev/null
ids=$(python3 -c "import random; random.seed(1); print(','.join(str(random.randrange(151643)) for _ in range(512)))")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
  for sums in fixed plain; do
    echo "tp1 $sums $(build/logits-study score --model "$model" --ids "$ids" --device cpu --threads 2 --timing \
      --repeat 3 --sums $sums 2>&1 >/dev/null | grep '^{')" >> "$out"
    echo "tp2 $sums $(mpirun -np 2 build/logits-study score --model "$model" --ids "$ids" --device cpu --threads 1 \
      --tp 2 --timing --repeat 3 --sums $sums 2>&1 >/dev/null | grep '^{')" >> "$out"
  done
done
cat "$out"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 - "$out" "$cpu" "$(nproc)" "$rounds" > bench/results/tp_scaling.json <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    cfg, sums, js = line.split(" ", 2)
    r = json.loads(js)
    r["comm_share"] = round(r["comm_s"] / (r["forward_s"] + r["head_s"]), 4)
    k = f"{cfg}_{sums}"
    if k not in best or r["tokens_per_s"] > best[k]["tokens_per_s"]:
        best[k] = r
res = {"machine": f"{sys.argv[2]}, {sys.argv[3]} cores",
       "model": "random Qwen2 of Qwen2.5-0.5B shape (make-tiny-model, fp32), 512 tokens",
       "method": f"best of {sys.argv[4]} alternating rounds, each the fastest of 3 repeats",
       "tp1_2threads": best["tp1_fixed"], "tp2_1thread_each": best["tp2_fixed"],
       "tp1_2threads_plain_sums": best["tp1_plain"], "tp2_1thread_each_plain_sums": best["tp2_plain"]}
res["speedup_tp2"] = round(best["tp2_fixed"]["tokens_per_s"] / best["tp1_fixed"]["tokens_per_s"], 3)
for t in ("tp1", "tp2"):
    res[f"fixed_order_cost_{t}"] = round(1 - best[f"{t}_fixed"]["tokens_per_s"] / best[f"{t}_plain"]["tokens_per_s"], 4)
print(json.dumps(res, indent=1))
PY
cat bench/results/tp_scaling.json
