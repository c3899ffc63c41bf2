#!/usr/bin/env bash
# bench/cpu_prefill: `logits-study score` vs HF transformers (fp32, same
# checkpoint, same 512 ids, same statistics) at 1 and 2 threads, and vs the
# machine's measured OpenBLAS sgemm rate. Writes bench/results/cpu_prefill-<host>.json.
# usage: bash bench/cpu_prefill/run.sh   (from the project root; needs the oracle venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/oracle/setup_oracle.sh
bash scripts/build.sh build
PY=.venv-oracle/bin/python
model=build/bench-models/qwen2.5-0.5b-shape
$PY bench/cpu_prefill/make_model.py "$model"
ids=build/bench-models/ids512.txt
$PY -c "import random; random.seed(1); print(','.join(str(random.randrange(151643)) for _ in range(512)))" > "$ids"
host=$(hostname -s 2>/dev/null || echo host)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
out=bench/results/cpu_prefill.json
{
  echo "{\"machine\": \"$cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\","
  echo " \"model\": \"random Qwen2 of Qwen2.5-0.5B shape, fp32\", \"runs\": ["
  first=1
  for th in 1 2; do
    for kind in sgemm ours hf; do
      case $kind in
        sgemm) line=$(build/bench/ls-sgemm-bench 512 4864 896 $th 10) ;;
        ours) line=$(OMP_NUM_THREADS=$th build/logits-study score --model "$model" --ids "$(cat $ids)" --device cpu \
                       --threads $th --top-k 5 --targets 100,200,300,400 --timing --repeat 3 2>&1 >/dev/null | tail -1) ;;
        hf) line=$(OMP_NUM_THREADS=$th $PY bench/cpu_prefill/hf_prefill.py "$model" "$ids" $th 3) ;;
      esac
      [ $first -eq 1 ] || echo ","
      first=0
      echo "  {\"what\": \"$kind\", \"result\": $line}"
      echo "$kind threads=$th: $line" >&2
    done
  done
  echo "]}"
} > "$out"
echo "wrote $out"
