#!/usr/bin/env bash
# `logits-study score` end to end: JSON output against the transformers
# fixtures of every architecture (1 rank, and tensor-parallel over 2, 3 and 4 MPI ranks, which must give
# the same numbers), and the error paths (exit status and message).
# usage: test_score_cli.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"

ids_of() { "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); print(','.join(map(str, r['sequences'][int(sys.argv[2])]['ids'])))" "$1" "$2"; }
tg_of() { "$py" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['targets'])))" "$1"; }

for fx in "$src"/tests/fixtures/*/; do
  fx=${fx%/}
  ref=$fx/reference.json
  [ -f "$ref" ] && [ -f "$fx/config.json" ] || continue # pair fixtures: tests/scripts/test_compare.sh
  tg=$(tg_of "$ref")
  for s in 0 3; do
    ids=$(ids_of "$ref" $s)
    "$bin" score --model "$fx" --ids "$ids" --targets "$tg" --top-k 5 --json --device cpu > "$tmp/out.json"
    "$py" "$src/tests/scripts/check_score.py" "$ref" $s "$tmp/out.json"
  done
  # tensor parallel: every tp dividing the heads, up to 4 ranks; against transformers (1e-4) and
  # against tp=1 (bit-identical where tp divides the 4 canonical slices, docs/parallelism.md)
  heads=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['num_attention_heads'])" "$fx/config.json")
  ids=$(ids_of "$ref" 4)
  "$bin" score --model "$fx" --ids "$ids" --targets "$tg" --top-k 5 --json --device cpu > "$tmp/tp1.json"
  for tp in 2 3 4; do
    [ $((heads % tp)) -eq 0 ] || continue
    inter=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['intermediate_size'])" "$fx/config.json")
    [ $((inter % tp)) -eq 0 ] || continue
    timeout 120 mpirun -np $tp "$bin" score --model "$fx" --ids "$ids" --targets "$tg" --top-k 5 --json \
      --device cpu --tp $tp > "$tmp/tp.json"
    "$py" "$src/tests/scripts/check_score.py" "$ref" 4 "$tmp/tp.json"
    # tp dividing 4: bit-identical; else (tp = 3) plain sums, within the CPU contract (1e-4) as below
    exact=$([ $((4 % tp)) -eq 0 ] && echo --exact || true)
    "$py" "$src/tests/scripts/check_score.py" "$tmp/tp1.json" 4 "$tmp/tp.json" "$([ -n "$exact" ] && echo 1e-5 || echo 1e-4)" $exact
  done
done

# tensor parallel on models whose KV heads do not divide by tp (replicated on the ranks whose query
# heads read them), and the plain sums (one GEMM + MPI_Allreduce): the same statistics as tp=1,
# bit-identical where the fixed-order sums apply (tp dividing 4); plain sums (fp32 partial sums in
# another order: tp = 3, --sums plain) within the CPU contract against transformers, 1e-4
rnd_ids() { "$py" -c "import random; random.seed(3); print(','.join(str(random.randrange($1)) for _ in range(60)))"; }
tp_vs_one() { # tp_vs_one MODEL_DIR TP TOL --exact|"" [score options]
  local dir=$1 tp=$2 tol=$3 exact=$4
  shift 4
  local ids
  ids=$(rnd_ids 96)
  "$bin" score --model "$dir" --ids "$ids" --targets 1,7,50 --top-k 5 --json --device cpu > "$tmp/r1.json"
  timeout 120 mpirun -np $tp "$bin" score --model "$dir" --ids "$ids" --targets 1,7,50 --top-k 5 --json \
    --device cpu --tp $tp "$@" > "$tmp/rt.json"
  "$py" "$src/tests/scripts/check_score.py" "$tmp/r1.json" 0 "$tmp/rt.json" $tol $exact
}
"$bin" make-tiny-model --out "$tmp/kv1" --seed 11 --layers 3 --hidden 64 --heads 4 --kv-heads 1 \
  --intermediate 96 --vocab 96 2> /dev/null
"$bin" make-tiny-model --out "$tmp/kv2h6" --seed 12 --layers 3 --hidden 48 --heads 6 --kv-heads 2 \
  --intermediate 96 --vocab 96 2> /dev/null
"$bin" make-tiny-model --out "$tmp/h2s" --seed 13 --layers 2 --hidden 32 --heads 2 --kv-heads 1 \
  --intermediate 64 --vocab 96 2> /dev/null
tp_vs_one "$tmp/h2s" 2 1e-5 --exact    # 2 heads over 4 slices: two empty o_proj slices
tp_vs_one "$tmp/h2s" 1 1e-4 "" --sums plain # fixed order (empty slices included) vs one GEMM, one rank
tp_vs_one "$tmp/kv1" 2 1e-5 --exact   # one KV head, replicated on both ranks
tp_vs_one "$tmp/kv1" 4 1e-5 --exact   # ... on four
tp_vs_one "$tmp/kv2h6" 2 1e-5 --exact # 2 KV heads split, one a rank
# 2 KV heads over 3 ranks (rank 1 reads both); 3 does not divide 4: plain sums, 1e-4
tp_vs_one "$tmp/kv2h6" 3 1e-4 ""
tp_vs_one "$tmp/kv1" 2 1e-4 "" --sums plain
tp_vs_one "$tmp/kv1" 4 1e-4 "" --sums plain
expect_err 2 "--sums 'x': expected fixed or plain" "$bin" score --model "$tmp/kv1" --ids 1,2 --sums x
echo "score: tensor parallel equals tp=1 (replicated KV heads, plain sums)"

# --text / --text-file: the model folder's tokenizer gives the ids HF tokenizers gives
"$bin" make-tiny-model --out "$tmp/tm" --seed 5 --tokenizer "$src/tests/data/qwen3-tokenizer" >/dev/null
txt='Wait, let me check: $x^2 = 4$, so x = ±2. Therefore…'
hf_ids=$("$py" -c "import sys; from tokenizers import Tokenizer; t = Tokenizer.from_file(sys.argv[1]); print(','.join(map(str, t.encode(sys.argv[2]).ids)))" "$src/tests/data/qwen3-tokenizer/tokenizer.json" "$txt")
"$bin" score --model "$tmp/tm" --text "$txt" --json --device cpu > "$tmp/t1.json"
printf '%s' "$txt" > "$tmp/t.txt"
"$bin" score --model "$tmp/tm" --text-file "$tmp/t.txt" --json --device cpu > "$tmp/t2.json"
"$bin" score --model "$tmp/tm" --ids "$hf_ids" --json --device cpu > "$tmp/t3.json"
cmp -s "$tmp/t1.json" "$tmp/t3.json" || fail "--text differs from --ids of HF tokenizers' encoding"
cmp -s "$tmp/t2.json" "$tmp/t3.json" || fail "--text-file differs from --ids"
echo "score --text / --text-file: ids equal HF tokenizers'"

# error paths: non-zero exit and a message naming the problem
fx=$src/tests/fixtures/qwen2-tiny-untied
expect_err 2 "element 3 ('x')" "$bin" score --model "$fx" --ids 1,2,x
expect_err 2 "--model and one of --ids, --text, --text-file are required" "$bin" score --ids 1,2
expect_err 1 "outside the vocabulary" "$bin" score --model "$fx" --ids 1,100000
expect_err 1 "$tmp/nope" "$bin" score --model "$tmp/nope" --ids 1,2
# --device cuda: where the binary sees a GPU (its own device count, as --device auto reports it) it
# must score like transformers (fp32, 1e-4); where it sees none it must fail and say why
"$bin" score --model "$fx" --ids 1,2 --device auto > /dev/null 2> "$tmp/auto.err" \
  || fail "score --device auto: $(cat "$tmp/auto.err")"
smi_gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU' || true)
if grep -q "no CUDA GPU visible" "$tmp/auto.err"; then
  [ "${smi_gpus:-0}" -eq 0 ] || echo "note: nvidia-smi lists $smi_gpus GPU(s) but the binary sees none: $(cat "$tmp/auto.err")"
  expect_err 1 "--device cuda: no usable CUDA GPU (" "$bin" score --model "$fx" --ids 1,2 --device cuda
  echo "score --device cuda: no GPU visible to the binary, refused with the reason"
else
  ref=$fx/reference.json
  "$bin" score --model "$fx" --ids "$(ids_of "$ref" 0)" --targets "$(tg_of "$ref")" --top-k 5 --json \
    --device cuda > "$tmp/cuda.json" 2> "$tmp/cuda.err" || fail "score --device cuda with a GPU visible: $(cat "$tmp/cuda.err")"
  "$py" "$src/tests/scripts/check_score.py" "$ref" 0 "$tmp/cuda.json"
  echo "score --device cuda: a GPU is visible; matches transformers"
fi
expect_err 2 "not divisible by tp=3" timeout 60 mpirun -np 2 "$bin" score --model "$fx" --ids 1,2 --tp 3
# the model must split over the TP ranks (checked from config.json before loading)
expect_err 2 "tp=3 does not divide the model's 4 attention heads" timeout 60 mpirun -np 3 "$bin" score \
  --model "$fx" --ids 1,2 --tp 3 --device cpu
"$bin" make-tiny-model --out "$tmp/h2" --seed 1 --hidden 32 --heads 2 --kv-heads 1 --vocab 64 2> /dev/null
expect_err 2 "tp=4 is larger than the model's 2 attention heads" timeout 60 mpirun -np 4 "$bin" score \
  --model "$tmp/h2" --ids 1,2 --tp 4 --device cpu
"$bin" make-tiny-model --out "$tmp/f126" --seed 1 --intermediate 126 --vocab 64 2> /dev/null
expect_err 2 "does not divide the model's intermediate_size 126" timeout 60 mpirun -np 4 "$bin" score \
  --model "$tmp/f126" --ids 1,2 --tp 4 --device cpu
expect_err 1 "$tmp/none.txt" "$bin" score --model "$tmp/tm" --text-file "$tmp/none.txt"
expect_err 1 "tokenizer.json" "$bin" score --model "$fx" --text "no tokenizer in this folder"
"$bin" score --help | grep -q "usage: logits-study score" || fail "score --help"
"$bin" --version | grep -q "logits-study " || fail "--version"
echo "score CLI: all checks passed"
