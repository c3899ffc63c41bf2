#!/usr/bin/env bash
# Installs the oracle environment (.venv-oracle: torch + transformers) used only
# to regenerate the committed fixtures; CI does not need it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv-oracle/bin/python ] || python3 -m venv .venv-oracle
.venv-oracle/bin/python -c "import torch, transformers, tokenizers, scipy" 2>/dev/null ||
  .venv-oracle/bin/pip install -q torch transformers tokenizers safetensors numpy scipy
