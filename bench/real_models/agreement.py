#!/usr/bin/env python3
"""Agreement of per-position log-probs with a real-score fixture (transformers
fp32 on the same GGUF): mean / max |Δ log-prob| of the actual tokens, top-1
agreement, and top-5 id agreement where the reference's gaps exceed 1e-4.
usage: agreement.py FIXTURE.json OUT0.json [OUT1.json ...]
  OUTi.json: `logits-study score --json` of sequence i, or {"logprob": [...],
  "top1": [...]} (another peer, e.g. llama.cpp; null at position 0).
Prints one JSON line."""
import json
import sys

ref = json.load(open(sys.argv[1]))
d, top1 = [], []
topk_same = topk_n = 0
for seq, path in zip(ref["sequences"], sys.argv[2:]):
    out = json.load(open(path))
    if "positions" in out:
        lp = [p["logprob"] for p in out["positions"]]
        top = [p["top"] and [t[0] for t in p["top"]] for p in out["positions"]]
        t1 = [t and t[0] for t in top]
    else:
        lp, t1, top = out["logprob"], out["top1"], None
    for p, r in enumerate(seq["positions"]):
        if r is None:
            continue
        d.append(abs(lp[p] - r["logprob"]))
        top1.append(t1[p] == r["top"][0][0])
        if top is not None:
            v = [x for _, x in r["top"]]
            for k, (i, _) in enumerate(r["top"]):
                gaps = [v[k - 1] - v[k] if k else 1, v[k] - v[k + 1] if k + 1 < len(v) else 1]
                if min(gaps) > 1e-4:
                    topk_n += 1
                    topk_same += top[p][k] == i
res = {"fixture": ref["file"], "positions": len(d), "mean_abs_dlogprob": sum(d) / len(d),
       "max_abs_dlogprob": max(d), "top1_agreement": sum(top1) / len(top1)}
if topk_n:
    res["topk_ids_agreement"] = topk_same / topk_n
print(json.dumps(res))
