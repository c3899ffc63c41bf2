#!/usr/bin/env bash
# bench/lens_run: the cost of the logit lens in a study run (`lens: true`, the default) against the
# same run with --no-lens: one model over the 60 demo records, mpirun -np 1, fastest "forward+head"
# time (the batches' compute, as the run reports it) of R rounds each. Shapes (SHAPES, default
# 4:256:768 = 4 layers / hidden 256 / intermediate 768; add 12:512:1536 for a deeper one), with the
# Qwen vocabulary (152k): the lens evaluates the head once per depth at each occurrence, so its share
# grows with the depth and with the head's share of the FLOPs. Each run's line goes to stderr as it
# ends. Writes bench/results/lens_run.json.
# usage: [SHAPES="4:256:768 12:512:1536"] bash bench/lens_run/run.sh [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}
rounds=${2:-2}
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || py=python3
bash scripts/build.sh build -DLS_CUDA=OFF > /dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp configs/demo.jsonl "$tmp/data.jsonl"
res=()
for shape in ${SHAPES:-4:256:768}; do
  IFS=: read -r layers hidden inter <<< "$shape"
  build/logits-study make-tiny-model --out "$tmp/m" --seed 1 --layers "$layers" --hidden "$hidden" --heads 4 \
    --kv-heads 2 --intermediate "$inter" --tokenizer tests/data/qwen3-tokenizer --force > /dev/null
  printf 'data: %s\noutput: %s\nmodels:\n  - {name: m, path: %s}\nbootstrap: 0\n' "$tmp/data.jsonl" "$tmp/out.h5" \
    "$tmp/m" > "$tmp/run.yaml"
  for r in $(seq "$rounds"); do
    for lens in --lens --no-lens; do
      OMP_WAIT_POLICY=passive mpirun -np 1 build/logits-study run "$tmp/run.yaml" --device cpu --threads "$threads" \
        --overwrite "$lens" 2> "$tmp/log"
      t=$(sed -n 's/.*time: forward+head \([0-9.]*\) s.*/\1/p' "$tmp/log")
      occ=$("$py" -c "import h5py,sys; g=h5py.File(sys.argv[1],'r')['models/m']; print(len(g['occurrences']), g['tokens'].shape[0])" "$tmp/out.h5" 2> /dev/null || echo "0 0")
      res+=("$layers $hidden $lens $t $occ")
      echo "${res[-1]}" >&2
    done
  done
done
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
ROWS=$(printf '%s\n' "${res[@]}") "$py" - "$cpu" "$(nproc)" "$threads" "$(git rev-parse --short HEAD)" \
  > bench/results/lens_run.json << 'PY'
import json, os, sys
rows = [l.split() for l in os.environ["ROWS"].splitlines() if l.strip()]
out = {"machine": f"{sys.argv[1]}, {sys.argv[2]} cores, {sys.argv[3]} threads", "commit": sys.argv[4],
       "setup": "logits-study run, one model (Qwen vocabulary 151936, fp32 CPU backend), the 60 demo records, "
                "mpirun -np 1; fastest forward+head time of the rounds", "shapes": []}
for layers, hidden in dict.fromkeys((r[0], r[1]) for r in rows):
    t = {f: min(float(r[3]) for r in rows if (r[0], r[1], r[2]) == (layers, hidden, f)) for f in ("--lens", "--no-lens")}
    occ, tok = next((int(r[4]), int(r[5])) for r in rows if (r[0], r[1]) == (layers, hidden) and r[4] != "0")
    out["shapes"].append({"layers": int(layers), "hidden": int(hidden), "tokens": tok, "occurrences": occ,
                          "lens_s": t["--lens"], "no_lens_s": t["--no-lens"],
                          "lens_overhead_pct": round(100 * (t["--lens"] / t["--no-lens"] - 1), 1)})
print(json.dumps(out, indent=1))
PY
cat bench/results/lens_run.json
