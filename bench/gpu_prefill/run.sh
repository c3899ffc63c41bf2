#!/usr/bin/env bash
# bench/gpu_prefill: `logits-study score --device cuda` vs HF transformers bf16
# on the same GPU, same random checkpoint of Qwen2.5-7B shape, same ids, same
# statistics (log-prob of every next token, entropy, top-5, 4 target ids), at
# 2k / 4k / 8k / 16k tokens (one sequence per call). Needs an NVIDIA GPU with
# >= 40 GiB (H100 80 GB assumed for the MFU figure) and ~20 GB of disk for the
# checkpoint. NOT a ctest and not run in CI (no GPU there); see README.md.
#
# usage: bash bench/gpu_prefill/run.sh [LENGTHS...]      (from anywhere)
#   env: PY=python with torch+transformers (default .venv-oracle/bin/python,
#        installed by tests/oracle/setup_oracle.sh), MODEL=checkpoint dir,
#        REPEAT=3, PEAK_TFLOPS=989 (H100 SXM dense bf16, no sparsity)
# Writes bench/results/gpu_prefill.jsonl (one JSON line per run) and prints a
# summary table (tokens/s, TFLOP/s, MFU) from bench/gpu_prefill/hf_gpu_prefill.py --summarize.
set -euo pipefail
cd "$(dirname "$0")/../.."
nvidia-smi -L >/dev/null 2>&1 || { echo "bench/gpu_prefill: no NVIDIA GPU visible (nvidia-smi -L failed)" >&2; exit 1; }
lengths=("$@")
[ ${#lengths[@]} -gt 0 ] || lengths=(2048 4096 8192 16384)
REPEAT=${REPEAT:-3}
PEAK_TFLOPS=${PEAK_TFLOPS:-989}
bash scripts/build.sh build
PY=${PY:-.venv-oracle/bin/python}
[ -x "$PY" ] || { bash tests/oracle/setup_oracle.sh; PY=.venv-oracle/bin/python; }
model=${MODEL:-build/bench-models/qwen2.5-7b-shape}
if [ ! -f "$model/config.json" ]; then
  # Qwen2.5-7B shape: hidden 3584, 28 layers, 28 heads (head_dim 128), 4 KV heads,
  # intermediate 18944, vocab 152064, untied head, bf16 (~15 GB)
  build/logits-study make-tiny-model --out "$model" --seed 7 --layers 28 --hidden 3584 --heads 28 --kv-heads 4 \
    --intermediate 18944 --vocab 152064 --dtype bf16 --no-tie --rope-theta 1e6 --max-pos 32768
fi
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)
out=bench/results/gpu_prefill.jsonl
: > "$out"
targets=100,200,300,400
for n in "${lengths[@]}"; do
  ids=build/bench-models/ids$n.txt
  # ids < 100000: 16k ids stay under the 128 KiB limit of one argv string
  $PY -c "import random; random.seed($n); print(','.join(str(random.randrange(100000)) for _ in range($n)))" > "$ids"
  line=$(build/logits-study score --model "$model" --ids "$(cat "$ids")" --device cuda --precision bf16 --top-k 5 \
           --targets $targets --timing --repeat "$REPEAT" 2>&1 >/dev/null | grep '^{' | tail -1)
  echo "{\"what\": \"logits-study\", \"gpu\": \"$gpu\", \"result\": $line}" | tee -a "$out"
  for way in original efficient; do
    line=$($PY bench/gpu_prefill/hf_gpu_prefill.py "$model" "$ids" "$way" "$REPEAT" $targets)
    echo "{\"what\": \"hf-$way\", \"gpu\": \"$gpu\", \"result\": $line}" | tee -a "$out"
  done
done
$PY bench/gpu_prefill/hf_gpu_prefill.py --summarize "$out" "$model" "$PEAK_TFLOPS"
