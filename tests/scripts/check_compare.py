#!/usr/bin/env python3
"""Compares `logits-study compare --json` output with transformers' reference
(tests/fixtures/pairs/reference.json, made by tests/oracle/make_pair_fixtures.py)
or with another compare output.

usage: check_compare.py REFERENCE.json PAIR SEQ OUTPUT.json
       check_compare.py OTHER_OUTPUT.json - - OUTPUT.json --exact
Against transformers: kl_ab, kl_ba and js within 1e-5 absolute or 1e-4
relative; dlogprob within 1e-4; top-1 agreement identical wherever both
models' top-1 gaps exceed 1e-5. --exact: every number bit-identical (another
tp, docs/parallelism.md). Prints the largest differences.
"""
import json
import sys

args = [a for a in sys.argv[1:] if a != "--exact"]
exact = "--exact" in sys.argv
ref = json.load(open(args[0]))
out = json.load(open(args[3]))
if exact:
    assert ref["positions"] == out["positions"], "outputs are not bit-identical"
    print(f"{len(out['positions'])} positions bit-identical")
    sys.exit(0)
seq = ref["pairs"][int(args[1])]["sequences"][int(args[2])]
assert [p["token"] for p in out["positions"]] == seq["ids"], "token ids differ"
worst = {"kl": 0.0, "dlogprob": 0.0}
agree_checked = 0
for p, (o, r) in enumerate(zip(out["positions"], seq["positions"])):
    if r is None:
        assert all(o[k] is None for k in ("kl_ab", "kl_ba", "js", "top1_agree", "dlogprob")), f"position {p}"
        continue
    for k in ("kl_ab", "kl_ba", "js"):
        d = abs(o[k] - r[k])
        worst["kl"] = max(worst["kl"], d)
        assert d <= 1e-5 or d <= 1e-4 * abs(r[k]), f"position {p} {k}: {o[k]} vs transformers {r[k]}"
    d = abs(o["dlogprob"] - r["dlogprob"])
    worst["dlogprob"] = max(worst["dlogprob"], d)
    assert d <= 1e-4, f"position {p} dlogprob: {o['dlogprob']} vs transformers {r['dlogprob']}"
    if r["top1_gap"] > 1e-5:
        agree_checked += 1
        assert o["top1_agree"] == r["top1_agree"], f"position {p} top1_agree: {o['top1_agree']} vs {r['top1_agree']}"
print(f"max |d kl/js| {worst['kl']:.2e}, max |d dlogprob| {worst['dlogprob']:.2e}, "
      f"top-1 agreement checked at {agree_checked} positions")
