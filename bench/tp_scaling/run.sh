#!/usr/bin/env bash
# bench/tp_scaling: `score` on a random Qwen2 of Qwen2.5-0.5B shape (made by
# make-tiny-model, fp32), 512 tokens, tensor parallel TP=1 (one rank, 2 threads)
# and TP=2 (two MPI ranks, 1 thread each) on the same cores; reports tokens/s
# and the share of time in the TP collectives. On a 2-core machine TP cannot
# speed anything up: the point is the measured communication share.
# Writes bench/results/tp_scaling.json. usage: bash bench/tp_scaling/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/build.sh build >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
model=build/bench-models/qwen2.5-0.5b-shape-ls
[ -f "$model/model.safetensors" ] ||
  build/logits-study make-tiny-model --out "$model" --seed 7 --layers 24 --hidden 896 --heads 14 --kv-heads 2 \
    --intermediate 4864 --vocab 151936 --tie --dtype f32 --force >/dev/null
ids=$(python3 -c "import random; random.seed(1); print(','.join(str(random.randrange(151643)) for _ in range(512)))")
one=$(build/logits-study score --model "$model" --ids "$ids" --device cpu --threads 2 --timing --repeat 3 2>&1 >/dev/null | grep '^{')
two=$(mpirun -np 2 build/logits-study score --model "$model" --ids "$ids" --device cpu --threads 1 --tp 2 --timing \
      --repeat 3 2>&1 >/dev/null | grep '^{')
echo "tp=1: $one"
echo "tp=2: $two"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 - "$one" "$two" "$cpu" "$(nproc)" > bench/results/tp_scaling.json <<'PY'
import json, sys
one, two = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for r in (one, two):
    r["comm_share"] = round(r["comm_s"] / (r["forward_s"] + r["head_s"]), 4)
print(json.dumps({"machine": f"{sys.argv[3]}, {sys.argv[4]} cores",
                  "model": "random Qwen2 of Qwen2.5-0.5B shape (make-tiny-model, fp32), 512 tokens",
                  "tp1_2threads": one, "tp2_1thread_each": two,
                  "speedup_tp2": round(two["tokens_per_s"] / one["tokens_per_s"], 3)}, indent=1))
PY
cat bench/results/tp_scaling.json
