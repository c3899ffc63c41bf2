#!/usr/bin/env bash
# Makes the demo's three tiny random-weight Qwen2 models (baseline, sft, rl)
# with the project's own `make-tiny-model` and the Qwen tokenizer committed
# under tests/data/. usage: scripts/make_demo_models.sh [BINARY] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/logits-study}
out=${2:-build/demo-models}
seed=1

for name in baseline sft rl; do
  if [ ! -f "$out/$name/model.safetensors" ]; then
    "$bin" make-tiny-model --out "$out/$name" --seed $seed --tokenizer tests/data/qwen3-tokenizer --force
  fi
  seed=$((seed + 1))
done
