#!/usr/bin/env bash
# bench/real_models: `logits-study score` on the two real GGUF models
# (scripts/fetch_real_models.sh) vs transformers fp32 loading the same file, same
# ids (the longest text of tests/fixtures/real-score), same statistics, at 1 and 2
# threads (the fastest of 3 forwards each). Writes bench/results/real_models.json.
# usage: bash bench/real_models/run.sh   (from the project root; needs the oracle venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv-oracle/bin/python
dir=$(bash scripts/fetch_real_models.sh)
[ -x build/logits-study ] || bash scripts/build.sh build
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
out=bench/results/real_models.json
{
  echo "{\"machine\": \"$cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\", \"runs\": ["
  first=1
  for ref in tests/fixtures/real-score/*.json; do
    file=$(jq -r .file "$ref")
    jq -c '.sequences[-1].ids' "$ref" > "$tmp/ids.json"
    for th in 1 2; do
      for kind in ours hf; do
        case $kind in
          ours) line=$(OMP_NUM_THREADS=$th build/logits-study score --model "$dir/$file" --ids-file "$tmp/ids.json" \
                         --device cpu --threads $th --top-k 5 --targets 100,200,300,400 --timing --repeat 3 \
                         2>&1 >/dev/null | tail -1) ;;
          hf) line=$(OMP_NUM_THREADS=$th $PY bench/real_models/hf_gguf_prefill.py "$dir/$file" "$tmp/ids.json" $th 3 \
                       2>/dev/null | tail -1) ;;
        esac
        [ $first -eq 1 ] || echo ","
        first=0
        echo "  {\"model\": \"$file\", \"what\": \"$kind\", \"result\": $line}"
        echo "$file $kind threads=$th: $line" >&2
      done
    done
  done
  echo "]}"
} > "$out"
echo "wrote $out"
