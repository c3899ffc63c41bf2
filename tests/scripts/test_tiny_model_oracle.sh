#!/usr/bin/env bash
# make-tiny-model against transformers (tests/oracle/check_tiny_model.py):
# config keys, byte-identical safetensors, score numbers within 1e-4. Needs the
# oracle environment (torch + transformers, tests/oracle/setup_oracle.sh);
# skipped with a message where it is absent (CI). ORACLE_PYTHON overrides the
# interpreter.
# usage: test_tiny_model_oracle.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
py=${ORACLE_PYTHON:-$src/.venv-oracle/bin/python}
if ! [ -x "$py" ] || ! "$py" -c 'import torch, transformers' 2>/dev/null; then
  echo "skipped: no torch/transformers (oracle venv absent: $py)"
  exit 0
fi
tok=
for d in "$src/tests/data/qwen3-tokenizer" "$src/../shared/data/qwen3-tokenizer"; do
  if [ -f "$d/tokenizer.json" ]; then tok=$d; break; fi
done
"$py" "$src/tests/oracle/check_tiny_model.py" "$bin" $tok
