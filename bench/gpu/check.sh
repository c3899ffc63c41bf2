#!/usr/bin/env bash
# The GPU checks in one run, for a bare CUDA machine (issue 18): runs from the
# bundle of scripts/gpu_bundle.sh (bench/gpu/check.sh inside it) or from a
# built checkout (build/). Never needs the network. Each step has its own time
# limit; all of them fit in 8 minutes. Logs and summary.json go to OUTDIR.
#
# usage: bash bench/gpu/check.sh [--self-test] OUTDIR
#   --self-test   the CPU-side steps only (CI: every bundled library resolves
#                 inside the bundle; score and the demo run on the CPU)
# steps (name: limit):
#   libs 30s       every non-CUDA library of the bundle resolves inside it
#                  (ldd, LD_LIBRARY_PATH cleared; glibc, cuBLAS, NCCL excepted)
#   cpu_score 30s  `score --device cpu` on every oracle fixture (2 sequences) vs transformers (1e-4)
#   cpu_demo 60s   the demo `run` on the CPU under the bundled mpirun -np 2
#   (a) kernels 75s      test_cuda_kernels: every kernel vs the CPU reference,
#                        fp32 and bf16 forward passes vs transformers
#   (b) score 45s        `score --device cuda` on every fixture, fp32 (<= 1e-4) and
#                        bf16 (<= 1.5, deviation recorded) vs transformers
#   (c) demo 75s         the demo `run --device cuda` under mpirun -np 1 and -np 2
#                        (two ranks sharing the GPU) vs the CPU file
#   (d) bench 210s       prefill of a Qwen2.5-7B-shape model (4 layers of the real
#                        shape): logits-study bf16 vs transformers bf16 (efficient
#                        and the original notebook's way), 2k / 8k / 16k tokens
#   (e) nccl 45s         tensor parallelism over NCCL (tp=2) when >= 2 GPUs, else skipped
# env: PY (python with torch/transformers/h5py; default python3), BENCH_LENGTHS
# ("2048 8192 16384"), PEAK_TFLOPS (989: H100/H200 SXM dense bf16), DEMO_LIMIT
# (records of the demo runs, 12), LIMIT_SCALE (multiplies every step's limit, 1).
set -uo pipefail
self_test=0
if [ "${1:-}" = "--self-test" ]; then
  self_test=1
  shift
fi
OUT=${1:?usage: bench/gpu/check.sh [--self-test] OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PY=${PY:-python3}
T_START=$(date +%s)

# ---- where things are: the bundle, or a checkout with build/ ------------------
if [ -x "$top/bin/logits-study" ]; then
  mode=bundle
  BIN=$top/bin/logits-study
  TBIN=$top/bin
  MPIRUN=$top/ompi/bin/mpirun
  CHECK_SCORE=$here/check_score.py
  export OPAL_PREFIX=$top/ompi
  if [ -d "$top/pmix/lib/pmix" ]; then
    export PMIX_INSTALL_PREFIX=$top/pmix PMIX_MCA_mca_base_component_path=$top/pmix/lib/pmix
  fi
else
  mode=checkout
  BIN=$top/build/logits-study
  TBIN=$top/build/tests
  MPIRUN=$(command -v mpirun || echo mpirun)
  CHECK_SCORE=$top/tests/scripts/check_score.py
fi
export LS_TEST_DIR=$top/tests
FIX=$top/tests/fixtures
# one node, possibly as root in a container: shared memory only, no fabric probing
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none PMIX_MCA_gds=hash

# ---- cuBLAS / NCCL: the CUDA toolkit, or PyTorch's nvidia-* wheels ----------------
find_cuda_libs() {
  local need dirs=() d sp
  need=$(readelf -d "$BIN" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(lib\(cublas\|cublasLt\|nccl\|cudart\)\.so[^]]*\)\]/\1/p')
  for d in ${CUDA_HOME:-} /usr/local/cuda /usr/local/cuda-13*; do
    [ -d "$d" ] && dirs+=("$d/lib64" "$d/lib" "$d/targets/x86_64-linux/lib")
  done
  for sp in $("$PY" -c 'import site,sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
    [ -d "$sp/nvidia" ] && dirs+=($(find "$sp/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null))
  done
  local add="" lib found
  for lib in $need; do
    found=""
    for d in "${dirs[@]}"; do
      if [ -e "$d/$lib" ]; then
        found=$d
        break
      fi
    done
    if [ -n "$found" ]; then
      echo "  $lib: $found"
      case ":$add:" in *":$found:"*) ;; *) add=$add:$found ;; esac
    else
      echo "  $lib: NOT FOUND (searched CUDA toolkit and $PY's nvidia-* wheels)"
    fi
  done
  export LD_LIBRARY_PATH=${add#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
}

# ---- steps: each with its own limit, a log, a line of the summary -----------------
RESULTS=()
LIMIT_SCALE=${LIMIT_SCALE:-1} # CI's self-test on a loaded machine: 4
step() { # step NAME LIMIT_S FUNCTION: runs FUNCTION under a time limit, logs to OUT/NAME.log
  local name=$1 limit=$(($2 * LIMIT_SCALE)) fn=$3 t0 rc status
  t0=$(date +%s%N)
  echo "== $name (limit ${limit}s)"
  ( export -f "$fn"; timeout --kill-after=5 "$limit" bash -c "$fn" ) > "$OUT/$name.log" 2>&1
  rc=$?
  case $rc in
    0) status=pass ;;
    77) status=skip ;;
    124 | 137) status=timeout ;;
    *) status=fail ;;
  esac
  local ms=$((($(date +%s%N) - t0) / 1000000)) secs
  secs=$((ms / 1000)).$((ms % 1000 / 100))
  printf '   %s (%s s): %s\n' "$status" "$secs" "$(tail -1 "$OUT/$name.log" | cut -c1-160)"
  RESULTS+=("{\"step\": \"$name\", \"status\": \"$status\", \"rc\": $rc, \"seconds\": $secs, \"limit_s\": $limit, \"log\": \"$name.log\"}")
}
export BIN TBIN MPIRUN CHECK_SCORE FIX OUT PY top mode

ids_of() { "$PY" -c "import json,sys; r=json.load(open(sys.argv[1])); print(','.join(map(str, r['sequences'][int(sys.argv[2])]['ids'])))" "$1" "$2"; }
tg_of() { "$PY" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['targets'])))" "$1"; }
nseq_of() { "$PY" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['sequences']))" "$1"; }
export -f ids_of tg_of nseq_of

# score on every fixture and sequence (the first NSEQ) with DEVICE / PRECISION / TOL, each vs transformers
score_all() {
  set -e
  for fx in "$FIX"/*/; do
    fx=${fx%/}
    ref=$fx/reference.json
    [ -f "$fx/config.json" ] && [ -f "$ref" ] || continue # a model fixture (not e.g. pairs/)
    tg=$(tg_of "$ref")
    n=$(nseq_of "$ref")
    [ -n "${NSEQ:-}" ] && [ "$NSEQ" -lt "$n" ] && n=$NSEQ
    for ((s = 0; s < n; s++)); do
      "$BIN" score --model "$fx" --ids "$(ids_of "$ref" $s)" --targets "$tg" --top-k 5 --json \
        --device "$DEVICE" --precision "$PRECISION" > "$OUT/score.json"
      echo -n "$(basename "$fx") seq $s $DEVICE $PRECISION: "
      "$PY" "$CHECK_SCORE" "$ref" $s "$OUT/score.json" "$TOL"
    done
  done
}
export -f score_all

step_libs() {
  [ "$mode" = bundle ] || { echo "skip: not a bundle (checkout: the system's libraries)"; exit 77; }
  bad=0
  # each file's own NEEDED entries (the bundled libraries are checked too, so this covers the
  # closure; what the machine's cuBLAS / NCCL need is the machine's business)
  for f in "$top"/bin/* "$top"/ompi/bin/* "$top"/lib/* $(find "$top/ompi/lib" "$top/pmix" -name '*.so'); do
    needed=" $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    while read -r name arrow path _; do
      [ "$arrow" = "=>" ] || continue
      [[ $needed == *" $name "* ]] || continue
      [[ $name =~ ^(linux-vdso|ld-linux|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libresolv|libutil\.so|libcuda\.so|libcublas|libcublasLt|libnccl|libnvidia) ]] && continue
      case $path in
        "$top"/*) ;;
        *) echo "$f: $name => $path (outside the bundle)"; bad=1 ;;
      esac
    done < <(env -u LD_LIBRARY_PATH ldd "$f" 2>&1)
  done
  [ $bad = 0 ] && echo "ok: every non-CUDA, non-glibc library of $(ls "$top"/bin "$top"/ompi/bin "$top"/lib | wc -l) files resolves inside the bundle"
  exit $bad
}
step_cpu_score() { DEVICE=cpu PRECISION=fp32 TOL=1e-4 NSEQ=2 score_all; }
make_demo() { # demo models and a config pointing at them, in OUT
  set -e
  for name in baseline sft rl; do
    seed=$((seed + 1))
    [ -f "$OUT/demo-models/$name/model.safetensors" ] ||
      "$BIN" make-tiny-model --out "$OUT/demo-models/$name" --seed $seed --tokenizer "$top/tests/data/qwen3-tokenizer" --force > /dev/null
  done
  sed -e "s|^data: .*|data: $top/configs/demo.jsonl|" -e "s|\.\./build/demo-models|$OUT/demo-models|" \
    "$top/configs/demo.yaml" > "$OUT/demo.yaml"
}
export -f make_demo
DEMO_LIMIT=${DEMO_LIMIT:-12}
export DEMO_LIMIT
step_cpu_demo() {
  set -e
  seed=0 make_demo
  "$MPIRUN" -np 2 "$BIN" run "$OUT/demo.yaml" --device cpu --threads 1 --limit "$DEMO_LIMIT" --bootstrap 100 \
    --out "$OUT/demo-cpu.h5" --overwrite --quiet
  "$BIN" inspect "$OUT/demo-cpu.h5" | head -5
  echo "ok: demo on the CPU, 2 ranks: demo-cpu.h5"
}
step_kernels() {
  "$TBIN/test_cuda_kernels" --verbose --jobs 1 2>&1 | grep -v '^\[----\] *$'
  return "${PIPESTATUS[0]}"
}
step_score() {
  set -e
  DEVICE=cuda PRECISION=fp32 TOL=1e-4 score_all
  DEVICE=cuda PRECISION=bf16 TOL=1.5 score_all
}
step_demo() {
  set -e
  [ -f "$OUT/demo-cpu.h5" ] || { echo "no CPU reference (cpu_demo failed)"; exit 1; }
  for np in 1 2; do
    "$MPIRUN" -np $np "$BIN" run "$OUT/demo.yaml" --device cuda --limit "$DEMO_LIMIT" --bootstrap 100 \
      --out "$OUT/demo-cuda-np$np.h5" --overwrite --quiet
    "$PY" "$top/bench/gpu/compare_h5.py" "$OUT/demo-cpu.h5" "$OUT/demo-cuda-np$np.h5" 1e-3
  done
}
step_bench() {
  set -e
  m=$OUT/bench-model
  [ -f "$m/config.json" ] ||
    "$BIN" make-tiny-model --out "$m" --seed 7 --layers 4 --hidden 3584 --heads 28 --kv-heads 4 \
      --intermediate 18944 --vocab 152064 --dtype bf16 --no-tie --rope-theta 1e6 --max-pos 32768 --force > /dev/null
  : > "$OUT/bench.jsonl"
  for n in ${BENCH_LENGTHS:-2048 8192 16384}; do
    "$PY" -c "import random; random.seed($n); print(','.join(str(random.randrange(100000)) for _ in range($n)))" > "$OUT/ids$n.txt"
    for prec in bf16 fp32; do
      [ $prec = fp32 ] && [ "$n" -gt 8192 ] && continue
      line=$("$BIN" score --model "$m" --ids "$(cat "$OUT/ids$n.txt")" --device cuda --precision $prec --top-k 5 \
        --targets 100,200,300,400 --timing --repeat 3 2>&1 >/dev/null | grep '^{' | tail -1)
      echo "{\"what\": \"logits-study-$prec\", \"result\": $line}" | tee -a "$OUT/bench.jsonl"
    done
    for way in efficient original; do
      [ $way = original ] && [ "$n" -gt 8192 ] && continue
      line=$("$PY" "$top/bench/gpu_prefill/hf_gpu_prefill.py" "$m" "$OUT/ids$n.txt" $way 3 100,200,300,400 | tail -1)
      echo "{\"what\": \"hf-$way\", \"result\": $line}" | tee -a "$OUT/bench.jsonl"
    done
  done
}
step_nccl() {
  set -e
  ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
  [ "$ngpu" -ge 2 ] || { echo "skip: $ngpu GPU(s) visible; NCCL tensor parallelism needs 2"; exit 77; }
  fx=$FIX/qwen2-tiny-untied
  ref=$fx/reference.json
  "$MPIRUN" -np 2 "$BIN" score --model "$fx" --ids "$(ids_of "$ref" 0)" --targets "$(tg_of "$ref")" --top-k 5 --json \
    --device cuda --precision fp32 --tp 2 > "$OUT/score-tp2.json"
  "$PY" "$CHECK_SCORE" "$ref" 0 "$OUT/score-tp2.json" 1e-4
  [ -x "$TBIN/mpi_nccl" ] && "$MPIRUN" -np 2 "$TBIN/mpi_nccl" 2
  echo "ok: tp=2 over NCCL matches transformers"
}
export -f step_libs step_cpu_score step_cpu_demo step_kernels step_score step_demo step_bench step_nccl

# ---- the machine --------------------------------------------------------------
{
  echo "logits-study GPU check ($mode: $top), $(date -u +%FT%TZ)"
  echo "glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null)"
  gpus=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -4 | paste -sd';')
  echo "gpu: ${gpus:-none visible (nvidia-smi)}"
  echo "cuda libraries:"
  find_cuda_libs
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
} | tee "$OUT/machine.log"
find_cuda_libs > /dev/null # the exports of the function above ran in a pipe's subshell
export LD_LIBRARY_PATH

step libs 30 step_libs
step cpu_score 30 step_cpu_score
step cpu_demo 60 step_cpu_demo
if [ $self_test = 0 ]; then
  step kernels 75 step_kernels
  step score 45 step_score
  step demo 75 step_demo
  step bench 210 step_bench
  # the table of what ran, also when the step ran out of time
  [ -s "$OUT/bench.jsonl" ] && "$PY" "$here/bench_summary.py" "$OUT/bench.jsonl" "$OUT/bench-model" "${PEAK_TFLOPS:-989}" \
    > "$OUT/bench_summary.json" 2>> "$OUT/bench.log" && cat "$OUT/bench_summary.json"
  step nccl 45 step_nccl
fi

# ---- summary.json -------------------------------------------------------------
gpu_json=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 | sed 's/"//g')
failed=0
for r in "${RESULTS[@]}"; do
  case $r in *'"status": "fail"'* | *'"status": "timeout"'*) failed=1 ;; esac
done
{
  echo "{"
  echo "  \"what\": \"logits-study GPU check\", \"mode\": \"$mode\", \"self_test\": $([ $self_test = 1 ] && echo true || echo false),"
  echo "  \"date\": \"$(date -u +%FT%TZ)\", \"glibc\": \"$(getconf GNU_LIBC_VERSION 2>/dev/null)\", \"gpu\": \"${gpu_json:-none}\","
  echo "  \"seconds\": $(($(date +%s) - T_START)), \"ok\": $([ $failed = 0 ] && echo true || echo false),"
  [ -s "$OUT/bench_summary.json" ] && echo "  \"bench\": $(cat "$OUT/bench_summary.json"),"
  echo "  \"steps\": ["
  n=${#RESULTS[@]}
  for ((i = 0; i < n; i++)); do
    echo "    ${RESULTS[$i]}$([ $((i + 1)) -lt "$n" ] && echo ,)"
  done
  echo "  ]"
  echo "}"
} > "$OUT/summary.json"
echo "summary: $OUT/summary.json ($([ $failed = 0 ] && echo ok || echo FAILED), $(($(date +%s) - T_START)) s)"
exit $failed
