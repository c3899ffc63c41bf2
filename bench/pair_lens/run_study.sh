#!/usr/bin/env bash
# bench/pair_lens, the whole run: `logits-study run` on the demo study (three tiny Qwen2 models
# with the Qwen vocabulary, 152k: vocabulary-dominated) over the first N records, once with
# `pairs: none` and once with the default pairs (baseline__sft, sft__rl), on one rank; and with the
# logit lens (key `lens`) where this build has it. Wall time of each run (fastest of the rounds),
# and the stage times the run prints (a model's forward+head, a pair's two forward passes + pair
# metrics). The machine is shared: its load average is recorded with the numbers.
# Writes bench/results/pair_lens_run.json.
# usage: bash bench/pair_lens/run_study.sh [records] [threads] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-20}
threads=${2:-2}
rounds=${3:-2}
bash scripts/build.sh build -DLS_CUDA=OFF >/dev/null
bin=build/logits-study
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash scripts/make_demo_models.sh "$bin" "$tmp/models" >/dev/null 2>&1
sed -e "s|\.\./build/demo-models|$tmp/models|" -e "s|^data: .*|data: $PWD/configs/demo.jsonl|" \
  -e "s|^bootstrap: .*|bootstrap: 0|" configs/demo.yaml > "$tmp/run.yaml"
variants=("none:--pairs none" "pairs:")
if "$bin" run --help | grep -q -- "--lens "; then
  variants+=("lens:--pairs none --lens on" "pairs+lens:--lens on")
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
results=()
for v in "${variants[@]}"; do
  name=${v%%:*}
  read -r -a extra <<< "${v#*:}"
  best=
  for _ in $(seq 1 "$rounds"); do
    t0=$(date +%s.%N)
    OMP_WAIT_POLICY=passive "$bin" run "$tmp/run.yaml" --device cpu --threads "$threads" --limit "$n" \
      --overwrite --out "$tmp/$name.h5" "${extra[@]}" 2> "$tmp/$name.log"
    t=$(echo "$(date +%s.%N) - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then
      best=$t
      cp "$tmp/$name.log" "$tmp/$name.best.log"
    fi
  done
  results+=("$name=$best=$tmp/$name.best.log")
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1) (family $(lscpu | sed -n 's/^CPU family: *//p' | head -1) model $(lscpu | sed -n 's/^Model: *//p' | head -1): Zen 3 when 25/1; AVX-512: $(grep -q avx512f /proc/cpuinfo && echo yes || echo no))"
python3 - "$cpu" "$(nproc)" "$(git rev-parse --short HEAD)" "$n" "$threads" "$rounds" "$load0" "$load1" \
  "${results[@]}" > bench/results/pair_lens_run.json <<'PY'
import json, re, sys
cpu, cores, commit, n, threads, rounds, load0, load1 = sys.argv[1:9]
runs = {}
for r in sys.argv[9:]:
    name, wall, log = r.split("=", 2)
    text = open(log).read()
    stages = {m[0]: float(m[1]) for m in re.findall(r"^\[(\S+)\] time: \S+(?: [^0-9]+)? ([0-9.]+) s", text, re.M)}
    runs[name] = {"wall_s": round(float(wall), 3), "stage_compute_s": stages}
base = runs["none"]["wall_s"]
for name, r in runs.items():
    r["wall_vs_none"] = round(r["wall_s"] / base, 3)
model = [v for k, v in runs["pairs"]["stage_compute_s"].items() if "__" not in k]
pair = [v for k, v in runs["pairs"]["stage_compute_s"].items() if "__" in k]
out = {"machine": f"{cpu}, {cores} cores (shared; load average {load0} before, {load1} after)",
       "commit": commit,
       "setup": f"logits-study run, demo study (3 tiny Qwen2 models: 2 layers, hidden 64, vocab 151936), "
                f"first {n} records, 1 rank, {threads} threads, CPU fp32, fastest of {rounds} rounds",
       "runs": runs,
       "pair_stage_vs_model_stage": round((sum(pair) / len(pair)) / (sum(model) / len(model)), 2) if pair and model else None,
       "notes": "none: pairs: none; pairs: the default pairs (baseline__sft, sft__rl); lens variants only when "
                "the build has the `lens` key. stage_compute_s: the run's own per-stage compute times "
                "(a model: forward + head statistics; a pair: both forward passes + the pair metrics). "
                "pair_stage_vs_model_stage: mean pair stage over mean model stage. On this "
                "vocabulary-dominated toy the pair metrics (two passes over [rows x 152k] logits of each "
                "model, in double) dominate; the machine is shared, so wall times carry its load."}
print(json.dumps(out, indent=1))
PY
cat bench/results/pair_lens_run.json
