#!/usr/bin/env bash
# `score --precision bf16` on the CPU: against transformers fp32 on an oracle
# fixture within the bf16 bounds of docs/cpu-backend.md (log-prob of the next
# token: mean |Δ| <= 0.2, max <= 1; entropy max |Δ| <= 0.5; top-1 agreement
# >= 95%; measured 0.073 / 0.37 / 0.085 / 99%), the same bits at 1 and 2
# threads and at tp = 1, 2 and 4 (the fixed-order sums hold in bf16 too); where
# the processor lacks AVX512-BF16 (or LS_CPU_NO_BF16=1) it warns and runs fp32,
# giving fp32's bits; a bad --precision is refused.
# usage: test_cpu_bf16.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"

fx=$src/tests/fixtures/qwen2-tiny-untied
ids=$("$py" -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['sequences'][4]['ids'])))" "$fx/reference.json")
"$bin" score --model "$fx" --ids "$ids" --targets 3,17,383,100 --top-k 5 --json --device cpu --precision bf16 \
  --threads 2 > "$tmp/b2.json" 2> "$tmp/err"
"$py" - "$fx/reference.json" "$tmp/b2.json" << 'PY'
import json, sys
ref = json.load(open(sys.argv[1]))["sequences"][4]["positions"][1:]
out = json.load(open(sys.argv[2]))["positions"][1:]
d = [abs(o["logprob"] - r["logprob"]) for o, r in zip(out, ref)]
de = max(abs(o["entropy"] - r["entropy"]) for o, r in zip(out, ref))
top1 = sum(o["top"][0][0] == r["top"][0][0] for o, r in zip(out, ref)) / len(ref)
print(f"bf16 vs transformers fp32: mean {sum(d) / len(d):.3g} max {max(d):.3g} entropy {de:.3g} top-1 {top1:.3f}")
assert sum(d) / len(d) <= 0.2 and max(d) <= 1.0 and de <= 0.5 and top1 >= 0.95
PY
"$bin" score --model "$fx" --ids "$ids" --targets 3,17,383,100 --top-k 5 --json --device cpu --precision bf16 \
  --threads 1 > "$tmp/b1.json" 2> /dev/null
cmp -s "$tmp/b1.json" "$tmp/b2.json" || fail "bf16: 1 and 2 threads differ"
if grep -q "computes in fp32" "$tmp/err"; then
  echo "no AVX512-BF16 here: bf16 runs fp32 ($(cat "$tmp/err"))"
else
  for tp in 2 4; do
    timeout 120 mpirun -np $tp "$bin" score --model "$fx" --ids "$ids" --targets 3,17,383,100 --top-k 5 --json \
      --device cpu --tp $tp --precision bf16 > "$tmp/bt.json"
    cmp -s "$tmp/b1.json" "$tmp/bt.json" || fail "bf16: tp=$tp differs from tp=1"
  done
fi
# the fallback: a warning, and fp32's numbers
LS_CPU_NO_BF16=1 "$bin" score --model "$fx" --ids "$ids" --targets 3,17,383,100 --top-k 5 --json --device cpu \
  --precision bf16 > "$tmp/f.json" 2> "$tmp/err"
grep -qF "precision bf16: LS_CPU_NO_BF16=1 is set; the CPU backend computes in fp32" "$tmp/err" ||
  fail "no fallback warning: $(cat "$tmp/err")"
"$bin" score --model "$fx" --ids "$ids" --targets 3,17,383,100 --top-k 5 --json --device cpu > "$tmp/f32.json"
cmp -s "$tmp/f.json" "$tmp/f32.json" || fail "the fp32 fallback differs from fp32"
expect_err 2 "--precision 'fp16': expected fp32 or bf16" "$bin" score --model "$fx" --ids 1,2 --precision fp16
echo "cpu bf16: all checks passed"
