"""Checks a file run with on_long_record: window (issue 15.7).

usage: check_window.py WINDOWED.h5 WHOLE.h5 BINARY WINDOW MIN_CONTEXT
  * every windowed position's rows (logprob, entropy, top-k, targets)
    equal `logits-study score` on the token span of the window that scored
    it (start = p - context[p], at most WINDOW tokens), within 1e-5;
  * context[p] >= min(p, MIN_CONTEXT), context[p] <= p, and samples that fit
    have context[p] = p;
  * positions with full context (context[p] = p) equal WHOLE.h5, a run where
    every record fits, within 1e-5;
  * /samples/length_policy is 2 exactly for the samples longer than WINDOW.
"""
import json
import math
import subprocess
import sys

import h5py
import numpy as np

TOL = 1e-5


def score(binary, path, ids, targets, k):
    out = subprocess.run([binary, "score", "--model", path, "--ids", ",".join(map(str, ids)), "--targets",
                          ",".join(map(str, targets)), "--top-k", str(k), "--json", "--device", "cpu",
                          "--threads", "1"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["positions"]


def close(a, b):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOL


def main():
    win_path, whole_path, binary, W, C = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    fw, fa = h5py.File(win_path, "r"), h5py.File(whole_path, "r")
    policy = fw["samples/length_policy"][:]
    n_windows = n_full = 0
    for name in fw["models"]:
        g, a = fw["models"][name], fa["models"][name]
        off, toks, ctx = g["token_offset"][:], g["tokens"][:], g["context"][:]
        assert (a["context"][:] == np.concatenate([np.arange(off[i + 1] - off[i]) for i in range(len(off) - 1)])).all()
        assert (a["tokens"][:] == toks).all() and (a["token_offset"][:] == off).all()
        tg = g["targets"]["token_id"][:].tolist()
        K = g["topk_ids"].shape[1]
        cols = {"logprob": g["logprob"][:], "entropy": g["entropy"][:], "rank": g["rank"][:],
                "topk_ids": g["topk_ids"][:], "target": g["target_logprob"][:]}
        whole = {"logprob": a["logprob"][:], "entropy": a["entropy"][:], "rank": a["rank"][:],
                 "topk_ids": a["topk_ids"][:], "target": a["target_logprob"][:]}
        for i in range(len(off) - 1):
            n = off[i + 1] - off[i]
            c = ctx[off[i]:off[i + 1]]
            p = np.arange(n)
            assert (c <= p).all() and (c >= np.minimum(p, C)).all(), (name, i, c)
            assert policy[i] == (2 if n > W else 0), (name, i, n, policy[i])
            if n <= W:
                assert (c == p).all()
            starts = sorted(set((p - c).tolist()))
            for s in starts:
                ids = toks[off[i] + s:off[i] + min(s + W, n)].tolist()
                sc = score(binary, g.attrs["path"], ids, tg, K)
                n_windows += 1
                for q in np.nonzero(p - c == s)[0]:
                    r, t = off[i] + q, sc[q - s]
                    if t["logprob"] is None:
                        assert q == 0 and math.isnan(cols["logprob"][r])
                        continue
                    assert close(t["logprob"], cols["logprob"][r]), (name, i, q, t["logprob"], cols["logprob"][r])
                    assert close(t["entropy"], cols["entropy"][r]), (name, i, q)
                    assert [x[0] for x in t["top"]] == cols["topk_ids"][r].tolist(), (name, i, q)
                    assert np.allclose(t["targets"], cols["target"][r], rtol=0, atol=TOL), (name, i, q)
            # full context: the same as the run where the record fits
            for q in np.nonzero(c == p)[0]:
                r = off[i] + q
                n_full += 1
                for k in ("logprob", "entropy"):
                    assert close(float(cols[k][r]), float(whole[k][r])), (name, i, q, k)
                assert cols["rank"][r] == whole["rank"][r] and (cols["topk_ids"][r] == whole["topk_ids"][r]).all()
                assert np.allclose(cols["target"][r], whole["target"][r], rtol=0, atol=TOL, equal_nan=True)
    assert (policy == 2).any(), "no record was windowed"
    print(f"window: {n_windows} windows equal `score` on their spans; {n_full} full-context positions equal the "
          f"unwindowed run")


main()
