#!/usr/bin/env bash
# bench/cpu_memory: peak resident memory of `logits-study score` (CPU, one
# rank) on a random bf16 checkpoint of Qwen2.5-7B shape (28 layers, hidden
# 3584, 28/4 heads, intermediate 18944, vocab 152064, untied; 15.2 GB on disk)
# made with make-tiny-model, against the checkpoint's size. Weights stay in
# their stored form (docs/cpu-backend.md), so the target is <= 17 GB (a whole
# fp32 copy would be ~30 GB). Writes bench/results/cpu_memory.json; deletes the
# checkpoint afterwards unless KEEP=1.
# FORMAT=q4k: the same shape as a GGUF whose matrices are Q4_K (random blocks,
# bench/cpu_memory/make_q4k_gguf.py, ~4.3 GB; needs the `gguf` package, from
# .venv-oracle: bash tests/oracle/setup_oracle.sh) -- target <= 6 GB; writes
# bench/results/cpu_memory_q4k.json.
# usage: bash bench/cpu_memory/run.sh [TOKENS] [PRECISIONS]   (default 64 "fp32")
set -euo pipefail
cd "$(dirname "$0")/../.."
tokens=${1:-64}
precs=${2:-fp32}
format=${FORMAT:-bf16}
bash scripts/build.sh build
mkdir -p build/bench-models
if [ "$format" = q4k ]; then
  model=build/bench-models/qwen2.5-7b-shape-q4k.gguf
  [ -f "$model" ] || .venv-oracle/bin/python bench/cpu_memory/make_q4k_gguf.py "$model"
  desc="random Qwen2 of Qwen2.5-7B shape, GGUF with Q4_K matrices (bench/cpu_memory/make_q4k_gguf.py --seed 7)"
  target=6
  out=bench/results/cpu_memory_q4k.json
else
  model=build/bench-models/qwen2.5-7b-shape-bf16
  [ -f "$model/config.json" ] ||
    build/logits-study make-tiny-model --out "$model" --seed 7 --layers 28 --hidden 3584 --heads 28 --kv-heads 4 \
      --intermediate 18944 --vocab 152064 --no-tie --dtype bf16
  desc="random Qwen2 of Qwen2.5-7B shape, bf16 safetensors (make-tiny-model --seed 7)"
  target=17
  out=bench/results/cpu_memory.json
fi
ids=$(python3 -c "import random; random.seed(1); print(','.join(str(random.randrange(151643)) for _ in range($tokens)))")
disk=$(du -sb "$model" | cut -f1)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
runs=""
for prec in $precs; do
  /usr/bin/time -v build/logits-study score --model "$model" --ids "$ids" --device cpu --threads 2 --timing \
    --precision "$prec" > /dev/null 2> build/bench-models/mem.log
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' build/bench-models/mem.log)
  timing=$(grep '^{"tokens"' build/bench-models/mem.log | tail -1)
  runs="$runs${runs:+, }{\"precision\": \"$prec\", \"max_rss_bytes\": $((rss_kb * 1024)), \"max_rss_gb\": $(python3 -c "print(round($rss_kb * 1024 / 1e9, 2))"), \"timing\": $timing}"
  echo "$prec: max RSS $((rss_kb / 1024)) MiB" >&2
done
family=$(lscpu | sed -n 's/^CPU family: *//p' | head -1)
cpumodel=$(lscpu | sed -n 's/^Model: *//p' | head -1)
cat > "$out" << JSON
{"machine": "$cpu (family $family model $cpumodel), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB",
 "model": "$desc",
 "checkpoint_bytes": $disk, "checkpoint_gb": $(python3 -c "print(round($disk / 1e9, 2))"), "tokens": $tokens,
 "target_gb": $target, "runs": [$runs]}
JSON
[ "${KEEP:-0}" = 1 ] || rm -rf "$model"
echo "wrote $out"
