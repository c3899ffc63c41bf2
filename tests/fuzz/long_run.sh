#!/usr/bin/env bash
# The long fuzzing runs (issue #10): every libFuzzer target for SECONDS (default
# 300) under ASan + UBSan, two at a time, starting from the committed corpus;
# logs to tests/fuzz/logs/<target>.log (committed). A crash leaves its input in
# build-fuzz/fuzz-artifacts-*: add it to the target's corpus as a regression test.
# usage: bash tests/fuzz/long_run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-300}
CC=clang bash scripts/build.sh build-fuzz -DCMAKE_BUILD_TYPE=Debug -DLS_SANITIZE=ON -DLS_CUDA=OFF -DLS_FUZZ=ON \
  >/dev/null
export LS_TEST_DIR="$PWD/tests"
mkdir -p tests/fuzz/logs
run_one() {
  local t=$1 work
  work=$(mktemp -d)
  {
    echo "# $t: libFuzzer + ASan + UBSan, ${secs} s, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    ASAN_OPTIONS=detect_leaks=1 build-fuzz/tests/$t -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/fuzz-artifacts-$t-" "$work" "tests/fuzz/corpus/$t" 2>&1 |
      grep -vE "^#[0-9]+\s+(NEW|REDUCE|pulse)" || true
  } > "tests/fuzz/logs/$t.log"
  rm -rf "$work"
  tail -3 "tests/fuzz/logs/$t.log" | sed "s/^/$t: /"
}
targets=$(ls build-fuzz/tests | grep '^fuzz_')
set -- $targets
while [ $# -gt 0 ]; do
  run_one "$1" &
  if [ $# -gt 1 ]; then run_one "$2" & fi
  wait
  shift; [ $# -gt 0 ] && shift
done
grep -l "ERROR: \|SUMMARY: .*Sanitizer" tests/fuzz/logs/*.log && { echo "a fuzz target found a crash"; exit 1; }
echo "long fuzz runs: no crash"
