#!/usr/bin/env bash
# Encode throughput of `logits-study tokenize` vs HF tokenizers, one thread each, on a few MB of
# synthetic maths answers (bench/tokenizer/make_text.py), for every tokenizer given (default: the
# committed Qwen3 one, and Llama-3.1 from ../shared when present). Both sides encode the same
# paragraphs one by one without special tokens; the C time is the time inside ls_tokenizer_encode
# (--time; best of 3 runs), the HF time is the best of 3 loops of Tokenizer.encode. Ids are checked
# identical. Writes bench/results/tokenizer-<host>.md.
# Usage: bench/tokenizer/run.sh [BINARY] [MB]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/logits-study}
mb=${2:-4}
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || py=/work/main/.venv/bin/python
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" bench/tokenizer/make_text.py "$mb" >"$tmp/text.jsonl"
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
host=$(hostname -s)
out=bench/results/tokenizer-$host.md
dirs=(tests/data/qwen3-tokenizer)
[ -f ../shared/data/llama3.1-tokenizer/tokenizer.json ] && dirs+=(../shared/data/llama3.1-tokenizer)
{
    echo "# Tokenizer encode throughput"
    echo
    echo "- machine: $cpu ($(nproc) CPUs visible), $(date -u +%Y-%m-%d)"
    echo "- commit: $(git rev-parse --short=12 HEAD), HF tokenizers $("$py" -c 'import tokenizers; print(tokenizers.__version__)')"
    echo "- input: $(wc -l <"$tmp/text.jsonl") paragraphs, $(wc -c <"$tmp/text.jsonl") bytes of JSONL (bench/tokenizer/make_text.py $mb)"
    echo "- one thread each (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false), encode without special tokens,"
    echo "  per paragraph; best of 3; C = time inside ls_tokenizer_encode (JSON parsing excluded),"
    echo "  HF = Tokenizer.encode(...).ids loop in Python (includes the Python call overhead)"
    echo
    echo "| tokenizer | C MB/s | HF tokenizers MB/s | C / HF | ids identical |"
    echo "| --- | --- | --- | --- | --- |"
} >"$out.tmp"
for d in "${dirs[@]}"; do
    best=0
    for _ in 1 2 3; do
        r=$("$bin" tokenize --no-special --time --tokenizer "$d" <"$tmp/text.jsonl" 2>&1 >"$tmp/c_ids" | sed -n 's/.*= \([0-9.]*\) MB\/s.*/\1/p')
        best=$(echo "$r $best" | awk '{print ($1 > $2) ? $1 : $2}')
    done
    read -r _ _ hf < <("$py" bench/tokenizer/hf_encode.py "$d/tokenizer.json" "$tmp/text.jsonl" "$tmp/hf_ids")
    same=no
    cmp -s "$tmp/c_ids" "$tmp/hf_ids" && same=yes
    ratio=$(echo "$best $hf" | awk '{printf "%.2f", $1 / $2}')
    echo "| $(basename "$d") | $best | $hf | $ratio | $same |" | tee -a "$out.tmp"
done
mv "$out.tmp" "$out"
echo "wrote $out"
