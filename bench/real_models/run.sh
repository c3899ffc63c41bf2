#!/usr/bin/env bash
# bench/real_models: the two real GGUF models (scripts/fetch_real_models.sh).
#  * speed: `logits-study score` vs transformers fp32 loading the same file, same ids
#    (the longest text of tests/fixtures/real-score), same statistics, at 1 and 2
#    threads (the fastest of 3 forwards each), in each precision of PRECS (default
#    "fp32"; "fp32 bf16" adds ours --precision bf16 vs transformers dtype=bfloat16);
#  * agreement with transformers fp32 (the fixtures) over every fixture text:
#    mean / max |d log-prob|, top-1 and top-5 id agreement, for ours in each
#    precision of PRECS (bf16: its error on the real models);
#  * with LLAMA_PY=<python with llama-cpp-python>: llama.cpp on the same quantized
#    file (F32 KV cache) against the same fixtures, and its eval speed.
# Writes $OUT (default bench/results/real_models.json).
# usage: [LLAMA_PY=...] [PRECS="fp32 bf16"] [OUT=FILE] bash bench/real_models/run.sh
#   (from the project root; needs the oracle venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv-oracle/bin/python
dir=$(bash scripts/fetch_real_models.sh)
[ -x build/logits-study ] || bash scripts/build.sh build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
cpu="$cpu (family $(lscpu | sed -n 's/^CPU family: *//p' | head -1) model $(lscpu | sed -n 's/^Model: *//p' | head -1); $( (grep -o -w -E 'avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo || true) | sort -u | tr '\n' ' '))"
out=${OUT:-bench/results/real_models.json}
sep() { [ $first -eq 1 ] || echo ","; first=0; }
{
  echo "{\"machine\": \"$cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\", \"runs\": ["
  first=1
  for ref in tests/fixtures/real-score/*.json; do
    file=$(jq -r .file "$ref")
    n=$(jq '.sequences | length' "$ref")
    outs=()
    for ((s = 0; s < n; s++)); do
      jq -c ".sequences[$s].ids" "$ref" > "$tmp/ids$s.json"
      build/logits-study score --model "$dir/$file" --ids-file "$tmp/ids$s.json" --device cpu --top-k 5 --json \
        > "$tmp/ours$s.json"
      outs+=("$tmp/ours$s.json")
    done
    sep
    echo "  {\"model\": \"$file\", \"what\": \"ours vs transformers fp32\", \"agreement\": $($PY bench/real_models/agreement.py "$ref" "${outs[@]}")}"
    for prec in ${PRECS:-fp32}; do # the other precisions' error against the same fixtures
      [ "$prec" = fp32 ] && continue
      pouts=()
      for ((s = 0; s < n; s++)); do
        build/logits-study score --model "$dir/$file" --ids-file "$tmp/ids$s.json" --device cpu --top-k 5 --json \
          --precision "$prec" > "$tmp/ours_$prec$s.json"
        pouts+=("$tmp/ours_$prec$s.json")
      done
      sep
      echo "  {\"model\": \"$file\", \"what\": \"ours $prec vs transformers fp32\", \"agreement\": $($PY bench/real_models/agreement.py "$ref" "${pouts[@]}")}"
    done
    if [ -n "${LLAMA_PY:-}" ]; then
      speed=$("$LLAMA_PY" bench/real_models/llamacpp_logprobs.py "$dir/$file" "$ref" "$tmp/llama" 2)
      sep
      echo "  {\"model\": \"$file\", \"what\": \"llama.cpp vs transformers fp32\", \"llama_cpp\": $speed,"
      echo "   \"agreement\": $($PY bench/real_models/agreement.py "$ref" "$tmp"/llama{0..2}.json)}"
    fi
    for prec in ${PRECS:-fp32}; do
      for th in 1 2; do
        for kind in ours hf; do
          case $kind in
            ours) line=$(OMP_NUM_THREADS=$th build/logits-study score --model "$dir/$file" --ids-file "$tmp/ids$((n - 1)).json" \
                           --device cpu --threads $th --top-k 5 --targets 100,200,300,400 --timing --repeat 3 \
                           --precision $prec 2>&1 >/dev/null | tail -1) ;;
            hf) line=$(OMP_NUM_THREADS=$th $PY bench/real_models/hf_gguf_prefill.py "$dir/$file" "$tmp/ids$((n - 1)).json" \
                         $th 3 $prec 2>/dev/null | tail -1) ;;
          esac
          sep
          echo "  {\"model\": \"$file\", \"what\": \"$kind\", \"precision\": \"$prec\", \"result\": $line}"
          echo "$file $kind $prec threads=$th: $line" >&2
        done
      done
    done
  done
  echo "]}"
} > "$out"
echo "wrote $out"
