#!/usr/bin/env bash
# CI check of the GPU bundle (issue 18, ctest label `bundle`): builds it with
# scripts/gpu_bundle.sh from BUILD_DIR, unpacks it into a temporary folder
# (another path than the build's: relocatable) and runs its CPU-side
# self-test, bench/gpu/check.sh --self-test: every non-CUDA library resolves
# inside the bundle with LD_LIBRARY_PATH cleared, and score and the demo run
# (bundled mpirun, 2 ranks) pass on the CPU. Also checks the size (<= 60 MiB).
# usage: bundle_selftest.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
bdir=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$src/scripts/gpu_bundle.sh" --build-dir "$bdir" "$tmp/bundle.tar.xz"
mkdir "$tmp/unpacked"
tar -C "$tmp/unpacked" -xJf "$tmp/bundle.tar.xz"
rm "$tmp/bundle.tar.xz"
py=$src/.venv/bin/python
[ -x "$py" ] || py=python3
# the machine running CI is shared: steps get 4x their GPU-machine limits
cd /
PY=$py LIMIT_SCALE=${LIMIT_SCALE:-4} bash "$tmp/unpacked/logits-study-gpu/bench/gpu/check.sh" --self-test "$tmp/out" || {
  cat "$tmp/out"/*.log
  exit 1
}
cat "$tmp/out/summary.json"
