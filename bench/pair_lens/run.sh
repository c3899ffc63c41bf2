#!/usr/bin/env bash
# bench/pair_lens: the extra cost of the cross-model divergences (KL both ways, JS, top-1
# agreement, dlogprob; ls/divergence.h) and of the logit lens (ls/lens.h) relative to a plain
# pass (forward + head statistics), same process, same batch, same machine: two models of
# 4 layers / hidden 256 with the Qwen vocabulary (152k), 4 sequences x 256 tokens, the lens at
# 32 rows (occurrence starts are a few per sample). Writes bench/results/pair_lens.json.
# The whole run with and without pairs: bench/pair_lens/run_study.sh (pair_lens_run.json).
# usage: bash bench/pair_lens/run.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}
bash scripts/build.sh build -DLS_CUDA=OFF >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in a:1 b:2; do
  build/logits-study make-tiny-model --out "$tmp/${m%%:*}" --seed "${m##*:}" --layers 4 --hidden 256 \
    --heads 4 --kv-heads 2 --intermediate 768 --tokenizer tests/data/qwen3-tokenizer >/dev/null
done
res=$(OMP_WAIT_POLICY=passive build/bench/ls-pair-lens-bench "$tmp/a" "$tmp/b" 4 256 32 "$threads" 3)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
python3 - "$res" "$cpu" "$(nproc)" "$(git rev-parse --short HEAD)" > bench/results/pair_lens.json <<'PY'
import json, sys
r = json.loads(sys.argv[1])
r.update({"machine": f"{sys.argv[2]}, {sys.argv[3]} cores", "commit": sys.argv[4],
          "setup": "2 models (4 layers, hidden 256, vocab 151936), CPU backend, fp32, fastest of the rounds",
          "notes": "pair_vs_plain: the pair metrics alone when both models are resident; "
                   "pair_with_reforward_vs_plain: upper bound when the pair pass reruns both models "
                   "(forward + head instead of forward alone); lens_vs_plain_one_model: (plain pass with "
                   "the tap + lens evaluation) - plain pass, over the plain pass (within the machine's "
                   "run-to-run noise when small); lens_eval_vs_plain_one_model: ls_lens_eval alone"})
print(json.dumps(r, indent=1))
PY
cat bench/results/pair_lens.json
