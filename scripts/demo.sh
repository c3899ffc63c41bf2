#!/usr/bin/env bash
# Sets up the machine, builds, and runs the demo: three tiny random-weight
# Qwen2 models (made by the project's make-tiny-model, named baseline / sft /
# rl) over the 60 worked answers of configs/demo.jsonl, under mpirun -np 2,
# into results/demo.h5; then the terminal report.
# Random weights give meaningless numbers: point configs/*.yaml at real
# checkpoints (README) for real ones.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
bash scripts/make_demo_models.sh
mkdir -p results
echo "== mpirun -np 2 build/logits-study run configs/demo.yaml"
mpirun -np 2 build/logits-study run configs/demo.yaml --overwrite
if build/logits-study inspect --help >/dev/null 2>&1; then
  echo "== build/logits-study inspect results/demo.h5"
  build/logits-study inspect results/demo.h5
fi
if [ -f analysis/report.py ]; then
  echo "== .venv/bin/python -m analysis.report results/demo.h5 -o results/demo"
  .venv/bin/python -m analysis.report results/demo.h5 -o results/demo
fi
