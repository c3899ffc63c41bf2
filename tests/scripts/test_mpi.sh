#!/usr/bin/env bash
# The process grid under mpirun (tests/mpi/*.c, built into <build>/tests/):
# every tp dividing world sizes 1..4 builds the right groups; a world that tp
# does not divide is rejected on every rank; the NCCL communicator runs where
# GPUs are visible and says it skipped where not.
# usage: test_mpi.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
dir=$(dirname "$bin")/tests
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI itself leaks at MPI_Finalize: LeakSanitizer off in sanitizer builds (ASan proper stays on)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
run() { timeout 120 mpirun --oversubscribe -np "$@"; }
for np in 1 2 3 4; do
  for tp in 1 2 3 4; do
    if [ $tp -le $np ] && [ $((np % tp)) -eq 0 ]; then
      run $np "$dir/mpi_grid" $tp
    else
      run $np "$dir/mpi_grid" $tp --expect-error "world size $np is not divisible by tp=$tp"
    fi
  done
done
run 1 "$dir/mpi_grid" 0 --expect-error "tp=0: must be at least 1"
run 2 "$dir/mpi_nccl" 2
echo "mpi: all checks passed"
