#!/usr/bin/env bash
# `compare`: per-position KL / JS / top-1 agreement / dlogprob between two models against
# transformers (tests/fixtures/pairs/reference.json) on three pairs (far apart, close relatives, a
# bf16 model with grouped-query attention), the same numbers under tensor parallelism, and the
# refusals (different vocabularies or tokenizers, bad options).
set -euo pipefail
bin=$1
src=$2
source "$src/tests/scripts/lib.sh"
fx=$src/tests/fixtures
ref=$fx/pairs/reference.json
npairs=$("$py" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['pairs']))" "$ref")
for pi in $(seq 0 $((npairs - 1))); do
  read -r a b nseq < <("$py" -c "import json,sys; p=json.load(open(sys.argv[1]))['pairs'][int(sys.argv[2])]; print(p['a'], p['b'], len(p['sequences']))" "$ref" "$pi")
  for si in $(seq 0 $((nseq - 1))); do
    ids=$("$py" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['pairs'][int(sys.argv[2])]['sequences'][int(sys.argv[3])]['ids'])))" "$ref" "$pi" "$si")
    "$bin" compare --model "$fx/$a" --model "$fx/$b" --ids "$ids" --json --device cpu > "$tmp/c1.json"
    echo "pair $a / $b, sequence $si: $("$py" "$src/tests/scripts/check_compare.py" "$ref" "$pi" "$si" "$tmp/c1.json")"
    # tensor parallelism (vocabulary-parallel divergences, partial sums in slice order), on the
    # longest sequence, where both models split over tp ranks
    [ "$si" -eq $((nseq - 1)) ] || continue
    for tp in 2 4; do
      "$py" -c "import json,sys; sys.exit(any(json.load(open(sys.argv[i] + '/config.json'))['num_attention_heads'] % $tp for i in (1, 2)))" "$fx/$a" "$fx/$b" || continue
      timeout 120 mpirun -np $tp "$bin" compare --model "$fx/$a" --model "$fx/$b" --ids "$ids" --json \
        --device cpu --tp $tp > "$tmp/ct.json"
      "$py" "$src/tests/scripts/check_compare.py" "$ref" "$pi" "$si" "$tmp/ct.json" > /dev/null
      [ $((4 % tp)) -eq 0 ] && "$py" "$src/tests/scripts/check_compare.py" "$tmp/c1.json" - - "$tmp/ct.json" --exact
    done
  done
done

# --ids-file: the same numbers as --ids
echo "$ids" | tr ',' ' ' > "$tmp/ids.txt"
"$bin" compare --model "$fx/$a" --model "$fx/$b" --ids-file "$tmp/ids.txt" --json --device cpu > "$tmp/cf.json"
"$py" "$src/tests/scripts/check_compare.py" "$tmp/c1.json" - - "$tmp/cf.json" --exact
expect_err 1 "$tmp/missing.txt" "$bin" compare --model "$fx/$a" --model "$fx/$b" --ids-file "$tmp/missing.txt"

# refusals
"$bin" make-tiny-model --out "$tmp/v96" --seed 5 --vocab 96 2> /dev/null
expect_err 1 "do not share a vocabulary" "$bin" compare --model "$fx/qwen2-tiny-tied" --model "$tmp/v96" \
  --ids 1,2,3 --device cpu
expect_err 2 "--model twice" "$bin" compare --model "$fx/qwen2-tiny-tied" --ids 1,2
expect_err 2 "element 2" "$bin" compare --model "$fx/qwen2-tiny-tied" --model "$fx/qwen2-tiny-untied" --ids 1,x
expect_err 2 "does not divide the model's 7 attention heads" timeout 60 mpirun -np 2 "$bin" compare \
  --model "$fx/qwen2-tiny-untied" --model "$fx/qwen2-tiny-gqa7-bf16" --ids 1,2 --device cpu --tp 2
expect_err 1 "outside the vocabulary" "$bin" compare --model "$fx/qwen2-tiny-tied" \
  --model "$fx/qwen2-tiny-untied" --ids 1,384 --device cpu
echo "compare: all checks passed"
