"""The /pairs groups of a run's file (test_pairs_run.sh).

  check_pairs_run.py FILE --compare BINARY --model NAME=DIR ... [--tol X]
      every pair's rows, sample by sample, against `logits-study compare
      --ids-file` on that sample's token ids (model a's `tokens`), one compare
      per window for a sample scored in windows (the windows of the group's
      `window` and `min_context` attributes: each stored row from the window
      that scored it, as the run does);
  check_pairs_run.py FILE --same OTHER [--tol X]
      the same pairs, with the same attributes and datasets, as OTHER.
Values agree when |x - y| <= tol * max(1, |y|); NaN and top1_agree -1 exactly
where the other has them. Prints one summary line; exits 1 on a difference.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

FLOATS = ("kl_ab", "kl_ba", "js", "dlogprob")


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def close(name, got, want, tol, where):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        fail(f"{where} {name}: shape {got.shape} vs {want.shape}")
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    if (nan_g != nan_w).any():
        fail(f"{where} {name}: NaN at positions {np.flatnonzero(nan_g != nan_w)[:10]} in only one")
    ok = ~nan_w
    err = np.abs(got[ok] - want[ok]) / np.maximum(1.0, np.abs(want[ok])) if ok.any() else np.zeros(0)
    if err.size and err.max() > tol:
        p = int(np.flatnonzero(ok)[np.argmax(err)])
        fail(f"{where} {name}: position {p}: {got[p]!r} vs {want[p]!r} (scaled error {err.max():.3g} > {tol})")
    return float(err.max()) if err.size else 0.0


def pairs_of(f):
    if "pairs" not in f:
        return {}
    return {k: f["pairs"][k] for k in f["pairs"]}


def windows(n, window, min_ctx):
    """(start, end, from) of each window of a sample of n tokens, as study_windows."""
    out, start, step = [], 0, window - min_ctx
    while True:
        end = min(start + window, n)
        out.append((start, end, start + min_ctx if start else 0))
        if end == n:
            return out
        start += step


def run_compare(binary, da, db, ids, tmp):
    path = os.path.join(tmp, "ids.txt")
    with open(path, "w") as fh:
        fh.write(" ".join(map(str, ids)))
    r = subprocess.run([binary, "compare", "--model", da, "--model", db, "--ids-file", path, "--json",
                        "--device", "cpu", "--threads", "1"], capture_output=True, text=True, check=False)
    if r.returncode:
        fail(f"compare failed: {r.stderr}")
    pos = json.loads(r.stdout)["positions"]
    res = {k: np.array([np.nan if p[k] is None else p[k] for p in pos]) for k in FLOATS}
    res["top1_agree"] = np.array([-1 if p["top1_agree"] is None else int(p["top1_agree"]) for p in pos])
    return res


def check_compare(f, binary, dirs, tol):
    worst, n_cmp, n_win = 0.0, 0, 0
    pairs = pairs_of(f)
    if not pairs:
        fail("the file has no /pairs")
    with tempfile.TemporaryDirectory() as tmp:
        for name, g in pairs.items():
            a, b = g.attrs["model_a"], g.attrs["model_b"]
            if isinstance(a, bytes):
                a, b = a.decode(), b.decode()
            if name != f"{a}__{b}":
                fail(f"/pairs/{name}: model_a {a}, model_b {b}")
            if int(g.attrs["complete"]) != 1 or not np.all(g["done"][:] == 1):
                fail(f"/pairs/{name}: not complete")
            W, mc = int(g.attrs["window"]), int(g.attrs["min_context"])
            tok, off = f["models"][a]["tokens"][:], f["models"][a]["token_offset"][:]
            if not np.array_equal(tok, f["models"][b]["tokens"][:]):
                fail(f"/pairs/{name}: models {a} and {b} have other token ids")
            data = {k: g[k][:] for k in FLOATS + ("top1_agree",)}
            for i in range(len(off) - 1):
                ids = tok[off[i]:off[i + 1]]
                ws = windows(len(ids), W, mc)
                n_win += len(ws) > 1
                for s, e, fr in ws:
                    ref = run_compare(binary, dirs[a], dirs[b], ids[s:e], tmp)
                    n_cmp += 1
                    rows = slice(off[i] + fr, off[i] + e)
                    where = f"/pairs/{name} sample {i} rows [{fr}, {e}) of window [{s}, {e})"
                    for k in FLOATS:
                        worst = max(worst, close(k, data[k][rows], ref[k][fr - s:], tol, where))
                    if not np.array_equal(data["top1_agree"][rows], ref["top1_agree"][fr - s:]):
                        fail(f"{where} top1_agree: {data['top1_agree'][rows]} vs {ref['top1_agree'][fr - s:]}")
    if n_win == 0:
        fail("no sample was scored in windows: the check of windowed rows did not run")
    print(f"{len(pairs)} pairs: every row equals compare on the sample's ids ({n_cmp} compare runs, "
          f"{n_win} samples in windows), largest scaled error {worst:.3g} <= {tol}")


def check_same(f, other, tol):
    pa, pb = pairs_of(f), pairs_of(other)
    if sorted(pa) != sorted(pb):
        fail(f"pairs {sorted(pa)} vs {sorted(pb)}")
    if not pa:
        fail("no /pairs to compare")
    worst = 0.0
    for name in pa:
        g, h = pa[name], pb[name]
        for at in ("model_a", "model_b", "complete", "window", "min_context"):
            if g.attrs[at] != h.attrs[at]:
                fail(f"/pairs/{name} attribute {at}: {g.attrs[at]} vs {h.attrs[at]}")
        if not np.array_equal(g["done"][:], h["done"][:]) or not np.array_equal(g["top1_agree"][:],
                                                                              h["top1_agree"][:]):
            fail(f"/pairs/{name}: done or top1_agree differ")
        for k in FLOATS:
            worst = max(worst, close(k, g[k][:], h[k][:], tol, f"/pairs/{name}"))
    print(f"{len(pa)} pairs equal, largest scaled error {worst:.3g} <= {tol}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--compare")
    ap.add_argument("--model", action="append", default=[])
    ap.add_argument("--same")
    ap.add_argument("--tol", type=float, default=1e-5)
    a = ap.parse_args()
    f = h5py.File(a.file, "r")
    if a.compare:
        check_compare(f, a.compare, dict(m.split("=", 1) for m in a.model), a.tol)
    else:
        check_same(f, h5py.File(a.same, "r"), a.tol)


if __name__ == "__main__":
    main()
