#!/usr/bin/env bash
# Sets up the machine and runs every test:
#   1. Release build (gcc, -Werror, CUDA backend compiled when nvcc is present): all ctest tests
#   2. ASan/UBSan build (clang) of the library, unit tests and fuzz-corpus replays,
#      then each libFuzzer target for LS_FUZZ_SECONDS (default 60)
#   3. pytest for analysis/ and the Python-side checks
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export PATH="$PWD/.venv/bin:$PATH"

echo "== format (.clang-format)"
bash scripts/format.sh --check

echo "== release build + tests"
bash scripts/build.sh build
(cd build && ctest --output-on-failure -j2 -LE fuzz)

echo "== sanitizer build (ASan + UBSan, clang) + unit tests"
CC=clang bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON -DLS_CUDA=OFF \
  -DLS_FUZZ=OFF
(cd build-asan && ctest --output-on-failure -j2 -L unit)

echo "== libFuzzer targets (${LS_FUZZ_SECONDS:-60} s each)"
CC=clang bash scripts/build.sh build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON -DLS_CUDA=OFF \
  -DLS_FUZZ=ON -DLS_FUZZ_SECONDS="${LS_FUZZ_SECONDS:-60}"
(cd build-fuzz && ctest --output-on-failure -j2 -L fuzz)

# pytest for whichever of analysis/ and tests/python/ hold tests (either may be empty)
py_dirs=()
for d in analysis tests/python; do
  if compgen -G "$d/test_*.py" >/dev/null || compgen -G "$d/**/test_*.py" >/dev/null; then py_dirs+=("$d"); fi
done
if [ ${#py_dirs[@]} -gt 0 ]; then
  echo "== pytest (${py_dirs[*]})"
  LS_BINARY="$PWD/build/logits-study" .venv/bin/python -m pytest -q "${py_dirs[@]}"
fi
echo "== all tests passed"
