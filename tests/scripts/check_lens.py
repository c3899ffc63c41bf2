#!/usr/bin/env python3
"""Compares the logit lens of `logits-study score --lens all --json` with
transformers' (tests/fixtures/lens/reference.json, made by
tests/oracle/make_lens_fixtures.py) or with another score output.

usage: check_lens.py REFERENCE.json MODEL_INDEX OUTPUT.json [--rel]
       check_lens.py OTHER_OUTPUT.json - OUTPUT.json --exact
Against transformers: log-probs and entropies within 1e-4 at every depth (--rel:
1e-4 relative above 1 in magnitude, for the real models' intermediate layers,
whose log-probs reach -40 and whose fp32 sums are long), and
the last depth equal to score's own log-prob and entropy (the same numbers).
--exact: the lens bit-identical (another tp). Prints the largest differences.
"""
import json
import sys

args = [a for a in sys.argv[1:] if a not in ("--exact", "--rel")]
rel = "--rel" in sys.argv
ref = json.load(open(args[0]))
out = json.load(open(args[2]))
if "--exact" in sys.argv:
    assert ref["lens"] == out["lens"], "logit lens outputs are not bit-identical"
    print(f"{len(out['lens']['positions'])} positions x {out['lens']['depths']} depths bit-identical")
    sys.exit(0)
m = ref["models"][int(args[1])]
lens = out["lens"]
assert lens["depths"] == m["depths"], f"depths {lens['depths']} vs transformers {m['depths']}"
assert [p["token"] for p in out["positions"]] == m["ids"], "token ids differ"
worst = {"logprob": 0.0, "entropy": 0.0}
for o, r in zip(lens["positions"], m["positions"], strict=True):
    assert o["p"] == r["p"]
    for k in ("logprob", "entropy"):
        for depth, (a, b) in enumerate(zip(o[k], r[k], strict=True)):
            d = abs(a - b) / (max(1.0, abs(b)) if rel else 1.0)
            worst[k] = max(worst[k], d)
            assert d <= 1e-4, f"{m['model']} position {o['p']} depth {depth} {k}: {a} vs transformers {b}"
    pos = out["positions"][o["p"]]
    assert o["logprob"][-1] == pos["logprob"], f"position {o['p']}: last depth is not the model's log-prob"
    assert abs(o["entropy"][-1] - pos["entropy"]) <= 1e-6, f"position {o['p']}: last depth entropy"
print(f"{m['model']}: {len(m['positions'])} positions x {m['depths']} depths; "
      f"max {'scaled ' if rel else ''}|d logprob| {worst['logprob']:.2e}, |d entropy| {worst['entropy']:.2e}")
