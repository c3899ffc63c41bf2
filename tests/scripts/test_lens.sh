#!/usr/bin/env bash
# The logit lens (`score --lens`): per position and depth, log-prob of the actual token and entropy
# of model.norm + lm_head on the residual stream, against transformers' output_hidden_states
# (tests/fixtures/lens/reference.json) on Qwen2, Llama, Qwen3 and Gemma 3 fixtures (Gemma's final
# soft-capping included); bit-identical under tensor parallelism; the refusals.
set -euo pipefail
bin=$1
src=$2
source "$src/tests/scripts/lib.sh"
fx=$src/tests/fixtures
ref=$fx/lens/reference.json
nmodels=$("$py" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['models']))" "$ref")
for mi in $(seq 0 $((nmodels - 1))); do
  read -r name ids < <("$py" -c "import json,sys; m=json.load(open(sys.argv[1]))['models'][int(sys.argv[2])]; print(m['model'], ','.join(map(str, m['ids'])))" "$ref" "$mi")
  "$bin" score --model "$fx/$name" --ids "$ids" --lens all --json --device cpu > "$tmp/l1.json"
  "$py" "$src/tests/scripts/check_lens.py" "$ref" "$mi" "$tmp/l1.json"
  for tp in 2 4; do
    "$py" -c "import json,sys; sys.exit(json.load(open(sys.argv[1] + '/config.json'))['num_attention_heads'] % $tp != 0)" "$fx/$name" || continue
    timeout 120 mpirun -np $tp "$bin" score --model "$fx/$name" --ids "$ids" --lens all --json --device cpu \
      --tp $tp > "$tmp/lt.json"
    "$py" "$src/tests/scripts/check_lens.py" "$tmp/l1.json" - "$tmp/lt.json" --exact
  done
done
# chosen positions: the same numbers as with every position
"$bin" score --model "$fx/qwen2-tiny-untied" --ids 1,5,9,22,7,3 --lens all --json --device cpu > "$tmp/a.json"
"$bin" score --model "$fx/qwen2-tiny-untied" --ids 1,5,9,22,7,3 --lens 5,2 --json --device cpu > "$tmp/b.json"
"$py" - "$tmp/a.json" "$tmp/b.json" << 'PY'
import json, sys
a = {p["p"]: p for p in json.load(open(sys.argv[1]))["lens"]["positions"]}
b = json.load(open(sys.argv[2]))["lens"]["positions"]
assert [p["p"] for p in b] == [5, 2] and all(p == a[p["p"]] for p in b), "chosen positions differ"
PY
"$bin" score --model "$fx/qwen2-tiny-untied" --ids 1,5,9 --lens 2 --device cpu | grep -q "logit lens"
# refusals
expect_err 2 "positions with a prediction are 1 .. 2" "$bin" score --model "$fx/qwen2-tiny-untied" --ids 1,5,9 \
  --lens 3 --device cpu
expect_err 2 "positions with a prediction are 1 .. 2" "$bin" score --model "$fx/qwen2-tiny-untied" --ids 1,5,9 \
  --lens 0 --device cpu
expect_err 2 "--lens: element 1" "$bin" score --model "$fx/qwen2-tiny-untied" --ids 1,5,9 --lens x --device cpu
expect_err 2 "no position with a prediction" "$bin" score --model "$fx/qwen2-tiny-untied" --ids 1 --lens all \
  --device cpu
echo "lens: all checks passed"
