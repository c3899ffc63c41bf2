#!/usr/bin/env python3
"""Compares `logits-study score --json` output with a reference.

usage: check_score.py REFERENCE.json SEQ_INDEX OUTPUT.json [TOL] [--exact] [--rel]
  REFERENCE.json: a fixture's reference.json (transformers fp32; SEQ_INDEX picks
  the sequence), or another `score --json` output (SEQ_INDEX ignored: the same
  sequence scored another way, e.g. at another tp). TOL: 1e-4 by default.
  --exact: every number must be bit-identical too (tensor parallelism with the
  fixed-order sums, docs/parallelism.md).
  --rel: TOL relative above 1 in magnitude (|a - b| / max(1, |b|)): the real models'
  improbable target log-probs reach -20 and more, where fp32 sums of ~2,000 terms
  in another order differ by ~5e-6 relative.
"""
import json
import math
import sys

args = [a for a in sys.argv[1:] if a not in ("--exact", "--rel")]
exact = "--exact" in sys.argv
rel = "--rel" in sys.argv
ref = json.load(open(args[0]))
out = json.load(open(args[2]))
tol = float(args[3]) if len(args) > 3 else 1e-4
if "sequences" in ref:  # a fixture: positions of [id, value] tops, "ids"
    seq = ref["sequences"][int(args[1])]
    ids, rpos = seq["ids"], seq["positions"]
else:  # another score output: same layout as ours
    ids = ref["tokens"]
    rpos = [None if p["logprob"] is None else p for p in ref["positions"]]
what = "transformers" if "sequences" in ref else args[0]
assert out["tokens"] == ids, "token ids differ"
assert len(out["positions"]) == len(ids)
worst = 0.0
same = total = 0


def close(a, b, where):
    global worst, same, total
    d = abs(a - b) / (max(1.0, abs(b)) if rel else 1.0)
    worst = max(worst, d)
    total += 1
    same += a == b
    assert d <= tol, f"position {where}: {a} vs {what} {b}"
    assert not exact or a == b, f"position {where}: {a} vs {what} {b} (not bit-identical)"


for p, (r, o) in enumerate(zip(rpos, out["positions"])):
    assert o["p"] == p and o["token"] == ids[p]
    if r is None:
        assert o["logprob"] is None and o["entropy"] is None and o["top"] is None, f"position {p} must be null"
        continue
    for key in ("logprob", "entropy"):
        close(o[key], r[key], f"{p} {key}")
    for t, (a, b) in enumerate(zip(o["targets"], r["targets"])):
        close(a, b, f"{p} target {t}")
    rv = [v for _, v in r["top"]]
    for k, ((oi, ov), (ri, rvk)) in enumerate(zip(o["top"], r["top"])):
        close(ov, rvk, f"{p} top-{k} log-prob")
        gaps = [rv[k - 1] - rvk if k else math.inf, rvk - rv[k + 1] if k + 1 < len(rv) else math.inf]
        if min(gaps) > tol or exact:
            assert oi == ri, f"position {p} top-{k} id {oi} vs {what} {ri}"
print(f"ok: {args[2]} matches {args[0]}" + (f" seq {args[1]}" if "sequences" in ref else "") +
      f" (max |d| {worst:.2e}, bit-identical {same}/{total})")
