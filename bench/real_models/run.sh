#!/usr/bin/env bash
# bench/real_models: the two real GGUF models (scripts/fetch_real_models.sh).
#  * speed: `logits-study score` vs transformers fp32 loading the same file, same ids
#    (the longest text of tests/fixtures/real-score), same statistics, at 1 and 2
#    threads, ROUNDS (default 3) rounds alternating the two, the fastest of 3 forwards
#    each, the fastest round kept (all listed), in each precision of PRECS (default
#    "fp32"; "fp32 bf16" adds ours --precision bf16 vs transformers dtype=bfloat16);
#  * agreement with transformers fp32 (the fixtures) over every fixture text:
#    mean / max |d log-prob|, top-1 and top-5 id agreement, for ours in each
#    precision of PRECS (bf16: its error on the real models);
#  * with LLAMA_PY=<python with llama-cpp-python>: llama.cpp on the same quantized
#    file (F32 KV cache) against the same fixtures, and its eval speed.
# Writes $OUT (default bench/results/real_models.json).
# usage: [LLAMA_PY=...] [PRECS="fp32 bf16"] [ROUNDS=3] [OUT=FILE] bash bench/real_models/run.sh
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
    # speed: ROUNDS alternating rounds (ours, then the peer, at 1 and 2 threads) and the fastest of
    # each: this VM's speed drifts by up to 1.5x between minutes, which one round cannot tell from
    # a difference of the programs. The peer is loaded once per precision and serves the rounds.
    rm -f "$tmp"/sp_*
    for prec in ${PRECS:-fp32}; do
      coproc HF { OMP_NUM_THREADS=2 $PY bench/real_models/hf_gguf_prefill.py "$dir/$file" "$tmp/ids$((n - 1)).json" \
                    - 3 "$prec" 2>/dev/null; }
      for ((r = 0; r < ${ROUNDS:-3}; r++)); do
        for th in 1 2; do
          OMP_NUM_THREADS=$th build/logits-study score --model "$dir/$file" --ids-file "$tmp/ids$((n - 1)).json" \
            --device cpu --threads $th --top-k 5 --targets 100,200,300,400 --timing --repeat 3 \
            --precision "$prec" 2>&1 >/dev/null | tail -1 >> "$tmp/sp_ours_${prec}_$th"
          echo "$th 3" >&"${HF[1]}"
          read -r line <&"${HF[0]}" || { echo "the transformers peer ended early" >&2; exit 1; }
          echo "$line" >> "$tmp/sp_hf_${prec}_$th"
          echo "$file round $r $prec threads=$th: ours $(tail -1 "$tmp/sp_ours_${prec}_$th" | jq .tokens_per_s)," \
            "transformers $(echo "$line" | jq .tokens_per_s) tok/s" >&2
        done
      done
      hf_pid=$HF_PID
      eval "exec ${HF[1]}>&-"
      wait "$hf_pid" || true
      for th in 1 2; do
        for kind in ours hf; do
          sep
          echo "  {\"model\": \"$file\", \"what\": \"$kind\", \"precision\": \"$prec\"," \
            "\"rounds_tokens_per_s\": $(jq -s -c 'map(.tokens_per_s)' "$tmp/sp_${kind}_${prec}_$th")," \
            "\"result\": $(jq -s -c 'max_by(.tokens_per_s)' "$tmp/sp_${kind}_${prec}_$th")}"
        done
      done
    done
  done
  echo "]}"
} > "$out"
echo "wrote $out"
