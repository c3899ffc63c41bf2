#!/usr/bin/env bash
# The logit lens (`score --lens all`) on the two real GGUF models ($LS_REAL_MODELS) against
# transformers loading the same files with output_hidden_states=True
# (tests/fixtures/real-lens/reference.json, made by tests/oracle/make_real_lens_fixtures.py): per
# position and depth, log-prob of the actual token and entropy within 1e-4, relative above 1 in
# magnitude (intermediate layers reach -40 nats; tests/scripts/check_lens.py --rel).
# usage: test_real_lens.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
[ -n "${LS_REAL_MODELS:-}" ] || fail "LS_REAL_MODELS is not set (run through ctest, which fetches the models)"
ref=$src/tests/fixtures/real-lens/reference.json
n=$("$py" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['models']))" "$ref")
for mi in $(seq 0 $((n - 1))); do
  read -r file ids < <("$py" -c "import json,sys; m=json.load(open(sys.argv[1]))['models'][int(sys.argv[2])]; print(m['model'], ','.join(map(str, m['ids'])))" "$ref" "$mi")
  "$bin" score --model "$LS_REAL_MODELS/$file" --ids "$ids" --lens all --json --device cpu > "$tmp/l.json"
  "$py" "$src/tests/scripts/check_lens.py" "$ref" "$mi" "$tmp/l.json" --rel
done
