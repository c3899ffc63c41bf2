#!/usr/bin/env bash
# Sets up the machine, builds, and runs the demo: per-position statistics of a
# tiny Qwen2 checkpoint (made by tests/oracle/make_fixtures.py with
# transformers' save_pretrained) for a short token sequence.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build
model=tests/fixtures/qwen2-tiny-untied
echo "== build/logits-study score --model $model --ids 1,17,42,99,7,300,5 --top-k 3 --targets 17,42"
build/logits-study score --model "$model" --ids 1,17,42,99,7,300,5 --top-k 3 --targets 17,42
