#!/usr/bin/env bash
# Encode throughput of `logits-study tokenize` vs HF tokenizers, one thread each, on a few MB of
# synthetic maths answers (bench/tokenizer/make_text.py), for every tokenizer given (default: the
# committed Qwen3 one, and Llama-3.1 from ../shared when present). Both sides encode the same
# paragraphs one by one without special tokens; the C time is the time inside ls_tokenizer_encode
# (--time; best of 3 runs) and the whole CLI run; the HF time is the best of 3 loops of
# Tokenizer.encode and of encode_batch. Ids are checked identical. Writes bench/results/tokenizer-<host>.md.
# Usage: bench/tokenizer/run.sh [BINARY] [MB]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/logits-study}
mb=${2:-4}
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || py=python3
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
    echo "- machine: $cpu ($(nproc --all) CPUs), $(date -u +%Y-%m-%d)"
    echo "- commit: $(git rev-parse --short=12 HEAD), HF tokenizers $("$py" -c 'import tokenizers; print(tokenizers.__version__)')"
    echo "- input: $(wc -l <"$tmp/text.jsonl") paragraphs, $(wc -c <"$tmp/text.jsonl") bytes of JSONL (bench/tokenizer/make_text.py $mb)"
    echo "- one thread each (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false), encode without special tokens,"
    echo "  per paragraph; best of 3. C = time inside ls_tokenizer_encode (JSON parsing excluded);"
    echo "  C CLI = wall time of the whole \`logits-study tokenize\` run (load, JSON in/out) over the text bytes;"
    echo "  HF = the faster of a Tokenizer.encode(...).ids loop and encode_batch (both build full Encodings)"
    echo
    echo "| tokenizer | C MB/s | C CLI MB/s | HF tokenizers MB/s | C / HF | ids identical |"
    echo "| --- | --- | --- | --- | --- | --- |"
} >"$out.tmp"
for d in "${dirs[@]}"; do
    best=0
    for _ in 1 2 3; do
        r=$("$bin" tokenize --no-special --time --tokenizer "$d" <"$tmp/text.jsonl" 2>&1 >"$tmp/c_ids" | sed -n 's/.*= \([0-9.]*\) MB\/s.*/\1/p')
        best=$(echo "$r $best" | awk '{print ($1 > $2) ? $1 : $2}')
    done
    t0=$(date +%s.%N)
    "$bin" tokenize --no-special --tokenizer "$d" <"$tmp/text.jsonl" >/dev/null
    t1=$(date +%s.%N)
    nbytes=$("$py" -c 'import json,sys; print(sum(len(json.loads(l).encode()) for l in open(sys.argv[1])))' "$tmp/text.jsonl")
    cli=$(echo "$nbytes $t0 $t1" | awk '{printf "%.2f", $1 / ($3 - $2) / 1e6}')
    read -r _ _ hf < <("$py" bench/tokenizer/hf_encode.py "$d/tokenizer.json" "$tmp/text.jsonl" "$tmp/hf_ids")
    same=no
    cmp -s "$tmp/c_ids" "$tmp/hf_ids" && same=yes
    ratio=$(echo "$best $hf" | awk '{printf "%.2f", $1 / $2}')
    echo "| $(basename "$d") | $best | $cli | $hf | $ratio | $same |" | tee -a "$out.tmp"
done
mv "$out.tmp" "$out"
echo "wrote $out"
