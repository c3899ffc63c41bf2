#!/usr/bin/env python3
"""Compares `logits-study score --json` output with a fixture's reference.json
(transformers fp32). usage: check_score.py REFERENCE.json SEQ_INDEX OUTPUT.json [TOL]"""
import json
import math
import sys

ref = json.load(open(sys.argv[1]))
seq = ref["sequences"][int(sys.argv[2])]
out = json.load(open(sys.argv[3]))
tol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-4
assert out["tokens"] == seq["ids"], "token ids differ"
assert len(out["positions"]) == len(seq["ids"])
worst = 0.0
for p, (r, o) in enumerate(zip(seq["positions"], out["positions"])):
    assert o["p"] == p and o["token"] == seq["ids"][p]
    if r is None:
        assert o["logprob"] is None and o["entropy"] is None and o["top"] is None, f"position {p} must be null"
        continue
    for key in ("logprob", "entropy"):
        d = abs(o[key] - r[key])
        worst = max(worst, d)
        assert d <= tol, f"position {p} {key}: {o[key]} vs transformers {r[key]}"
    for t, (a, b) in enumerate(zip(o["targets"], r["targets"])):
        assert abs(a - b) <= tol, f"position {p} target {t}: {a} vs {b}"
    rv = [v for _, v in r["top"]]
    for k, ((oi, ov), (ri, rvk)) in enumerate(zip(o["top"], r["top"])):
        assert abs(ov - rvk) <= tol, f"position {p} top-{k} log-prob {ov} vs {rvk}"
        gaps = [rv[k - 1] - rvk if k else math.inf, rvk - rv[k + 1] if k + 1 < len(rv) else math.inf]
        if min(gaps) > tol:
            assert oi == ri, f"position {p} top-{k} id {oi} vs transformers {ri}"
print(f"ok: {sys.argv[3]} matches {sys.argv[1]} seq {sys.argv[2]} (max |d| {worst:.2e})")
