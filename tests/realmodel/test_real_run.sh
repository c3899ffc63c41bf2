#!/usr/bin/env bash
# Both real GGUF models ($LS_REAL_MODELS) in one `run` study, each with its own tokenizer and
# vocabulary size (SmolLM2: 49152, Gemma 3: 262144), over a few demo records under mpirun -np 2;
# the file checked by tests/scripts/check_run.py (structure, tokens, rows against `score`,
# occurrences).
# usage: test_real_run.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
[ -n "${LS_REAL_MODELS:-}" ] || fail "LS_REAL_MODELS is not set (run through ctest, which fetches the models)"

head -n 6 "$src/configs/demo.jsonl" > "$tmp/data.jsonl"
sed -e '/^models:/,/^targets:/{/^models:/!{/^targets:/!d}}' \
    -e "s|^models:.*|models:\n  - name: smollm2\n    path: $LS_REAL_MODELS/SmolLM2-135M-Instruct.Q4_1.gguf\n  - name: gemma3\n    path: $LS_REAL_MODELS/gemma-3-270m-q4_k_m.gguf|" \
    -e "s|^data: .*|data: $tmp/data.jsonl|" -e "s|^output: .*|output: $tmp/out.h5|" \
    -e "s|^device: .*|device: cpu|" -e "s|^bootstrap: .*|bootstrap: 100|" \
    "$src/configs/demo.yaml" > "$tmp/run.yaml"
mpirun -np 2 "$bin" run "$tmp/run.yaml" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "run"; }
"$py" - "$tmp/out.h5" <<'PY'
import json
import sys
import h5py
f = h5py.File(sys.argv[1], "r")
def vocab(name):
    meta = json.loads(f["models"][name].attrs["config_json"])
    return meta["tokenizer.ggml.tokens"]["length"]
got = {n: vocab(n) for n in ("smollm2", "gemma3")}
assert got == {"smollm2": 49152, "gemma3": 262144}, got
assert f["models/gemma3/tokens"][:].max() >= 49152, "Gemma's ids should reach past SmolLM2's vocabulary"
print("vocabulary sizes", got)
PY
"$py" "$src/tests/scripts/check_run.py" "$tmp/out.h5" "$bin"
