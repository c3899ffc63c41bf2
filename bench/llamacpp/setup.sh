#!/usr/bin/env bash
# Installs llama-cpp-python (llama.cpp's Python binding; the second CPU peer of
# bench/cpu_prefill and bench/real_models) into .venv-llama. PyPI ships it as
# source only, so this compiles llama.cpp for this processor (GGML_NATIVE):
# ~15-35 min on 2 cores; run at low priority (nice). Idempotent.
# usage: bash bench/llamacpp/setup.sh   (from the project root)
set -euo pipefail
cd "$(dirname "$0")/../.."
VER=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
if .venv-llama/bin/python -c "import llama_cpp, numpy" 2>/dev/null; then
  echo "llama-cpp-python $(.venv-llama/bin/python -c 'import llama_cpp; print(llama_cpp.__version__)') already in .venv-llama"
  exit 0
fi
[ -x .venv-llama/bin/python ] || python3 -m venv .venv-llama
.venv-llama/bin/pip install -q --upgrade pip
.venv-llama/bin/pip install -q numpy
CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
  -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF -DMTMD_BUILD=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) nice -n 19 .venv-llama/bin/pip install -q --no-cache-dir "llama-cpp-python==$VER"
.venv-llama/bin/python -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
