#!/usr/bin/env bash
# Configures and builds into build/ (Release, -Werror, CUDA when nvcc is found).
# Usage: scripts/build.sh [BUILD_DIR] [extra cmake args...]
# LS_BUILD_TARGET=T builds only target T (e.g. logits-study, for the demo).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
export PATH="$PATH:/usr/local/cuda/bin"
cmake -S . -B "$dir" -DLS_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)" ${LS_BUILD_TARGET:+--target "$LS_BUILD_TARGET"}
