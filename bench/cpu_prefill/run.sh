#!/usr/bin/env bash
# bench/cpu_prefill: `logits-study score` vs HF transformers, fp32 and bf16
# side by side (same checkpoint, same 512 ids, same statistics), at 1 and 2
# threads, in alternating rounds (the fastest of each kind is kept: the dev VM
# is shared), and the machine's OpenBLAS sgemm rate. With llama-cpp-python in
# .venv-llama (bash bench/llamacpp/setup.sh), llama.cpp is the second peer, on
# the same weights written as F32 / BF16 GGUF files (bench/llamacpp/).
# Writes $OUT (default bench/results/cpu_prefill.json).
# usage: [THREADS="1 2"] [EXTRA_LINES=FILE] [OUT=FILE] bash bench/cpu_prefill/run.sh [ROUNDS]
#   (from the project root; needs the oracle venv). EXTRA_LINES: the run lines of
#   an earlier (e.g. THREADS=1) run, summarised together with these.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
bash tests/oracle/setup_oracle.sh
bash scripts/build.sh build
PY=.venv-oracle/bin/python
model=build/bench-models/qwen2.5-0.5b-shape
$PY bench/cpu_prefill/make_model.py "$model"
ids=build/bench-models/ids512.txt
$PY -c "import random; random.seed(1); print(','.join(str(random.randrange(151643)) for _ in range(512)))" > "$ids"
llama=""
if [ -x .venv-llama/bin/python ] && .venv-llama/bin/python -c "import llama_cpp" 2>/dev/null; then
  llama=.venv-llama/bin/python
  for k in f32 bf16; do
    [ -f "$model/model-$k.gguf" ] ||
      $PY bench/llamacpp/hf_to_gguf.py "$model" "$model/model-$k.gguf" $k ../shared/data/qwen3-tokenizer/tokenizer.json
  done
fi
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cpu="$cpu (family $(lscpu | sed -n 's/^CPU family: *//p' | head -1) model $(lscpu | sed -n 's/^Model: *//p' | head -1))"
flags=$( (grep -o -w -E 'avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo || true) | sort -u | tr '\n' ' ')
lines=$(mktemp)
for th in ${THREADS:-1 2}; do
  echo "{\"what\": \"sgemm\", \"threads\": $th, \"result\": $(build/bench/ls-sgemm-bench 512 4864 896 $th 10)}" >> "$lines"
  for r in $(seq "$rounds"); do
    for prec in fp32 bf16; do
      line=$(OMP_NUM_THREADS=$th build/logits-study score --model "$model" --ids "$(cat $ids)" --device cpu \
               --threads $th --top-k 5 --targets 100,200,300,400 --timing --repeat 2 --precision $prec 2>&1 >/dev/null | tail -1)
      echo "{\"what\": \"ours\", \"precision\": \"$prec\", \"threads\": $th, \"result\": $line}" >> "$lines"
      line=$(OMP_NUM_THREADS=$th $PY bench/cpu_prefill/hf_prefill.py "$model" "$ids" $th 2 $prec)
      echo "{\"what\": \"hf\", \"precision\": \"$prec\", \"threads\": $th, \"result\": $line}" >> "$lines"
      if [ -n "$llama" ]; then
        k=$([ $prec = fp32 ] && echo f32 || echo bf16)
        line=$($llama bench/llamacpp/prefill.py "$model/model-$k.gguf" "$ids" $th 2)
        echo "{\"what\": \"llama.cpp\", \"precision\": \"$prec\", \"threads\": $th, \"result\": $line}" >> "$lines"
      fi
      tail -3 "$lines" >&2
    done
  done
done
$PY bench/cpu_prefill/summarise.py "$cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, flags: $flags" \
  "$lines" ${EXTRA_LINES:-} > "${OUT:-bench/results/cpu_prefill.json}"
rm -f "$lines"
echo "wrote ${OUT:-bench/results/cpu_prefill.json}"
