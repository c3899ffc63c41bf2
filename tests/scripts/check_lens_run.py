#!/usr/bin/env python3
"""Checks the logit lens of a `logits-study run` file (/models/<m>/lens_logprob,
lens_entropy: a row per row of the occurrence table, a column per depth).

usage: check_lens_run.py FILE.h5 BINARY [--tol X] [--samples K]
         every model: shape [occurrences, layers + 1] and the `depths` attribute;
         NaN exactly in the rows of occurrences without a lens value (unaligned,
         or at sample position 0), finite everywhere else; the last depth is the
         model's own log-prob (`logprob` at the occurrence); and the rows of K
         samples (those with the most occurrences, plus any scored in windows)
         equal `logits-study score --lens` on the ids the run put through the
         model for that position (the sample, or the window that scored it:
         `context` gives its start; two samples with occurrences in a later
         window), within --tol.
       check_lens_run.py FILE.h5 --same OTHER.h5 [--tol X]
         the lens datasets and occurrence tables of the two files agree: NaN in
         the same places, values within --tol (0: bit-identical).
       check_lens_run.py FILE.h5 --none
         no model has lens datasets (lens: false).
       check_lens_run.py FILE.h5 --stopped FULL.h5
         a stopped run's file: the rows of the samples done equal FULL's (the same
         run uninterrupted), the others are still NaN (the fill).

--tol defaults to 0 (bit-identical) with --same / --stopped: the CPU GEMM
computes every element as one fma chain over k (docs/parallelism.md), so a row
does not depend on the batch it was packed in, the ranks or the threads. Against
`score`, whose output is printed with 7 decimals, it defaults to 1e-6.
"""
import json
import math
import subprocess
import sys
import tempfile

import h5py
import numpy as np


def opt(name, default):
    if name in sys.argv:
        i = sys.argv.index(name)
        return sys.argv[i + 1]
    return default


# --same compares two files: bit-identical by default. Against `score` the default is 1e-6
# (relative above 1): score prints 7 decimals, so its numbers are the run's rounded.
TOL = float(opt("--tol", "0" if "--same" in sys.argv or "--stopped" in sys.argv else "1e-6"))
path = sys.argv[1]
f = h5py.File(path, "r")
eff = json.loads(f.attrs["run_config_effective"])
models = list(f.attrs["models"])


def close(a, b):
    """Equal within TOL (relative above 1 in magnitude), NaN where the other is NaN."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if TOL == 0:
        return np.array_equal(a, b, equal_nan=True)
    return np.allclose(a, b, rtol=TOL, atol=TOL, equal_nan=True)


def has_value(occ):
    return (occ["aligned"] == 1) & (occ["position"] >= 1)


if "--none" in sys.argv:
    assert eff["lens"] is False, eff["lens"]
    for m in models:
        g = f[f"models/{m}"]
        assert "lens_logprob" not in g and "lens_entropy" not in g, f"{m}: lens datasets with lens: false"
    print(f"{path}: no lens datasets (lens: false)")
    sys.exit(0)

if "--same" in sys.argv:
    g2 = h5py.File(opt("--same", None), "r")
    worst = 0.0
    for m in models:
        a, b = f[f"models/{m}"], g2[f"models/{m}"]
        assert np.array_equal(a["occurrences"]["sample"], b["occurrences"]["sample"]), f"{m}: occurrence tables"
        assert np.array_equal(a["occurrences"]["position"], b["occurrences"]["position"])
        for ds in ("lens_logprob", "lens_entropy"):
            x, y = a[ds][()], b[ds][()]
            assert x.shape == y.shape and np.array_equal(np.isnan(x), np.isnan(y)), f"{m}/{ds}: NaN differ"
            ok = np.isfinite(x)
            if ok.any():
                worst = max(worst, float(np.max(np.abs(x[ok].astype(np.float64) - y[ok]))))
            assert close(x, y), f"{m}/{ds} differs by {worst:.3g} (tolerance {TOL:g})"
    print(f"{path} and {opt('--same', None)}: the same lens rows (largest difference {worst:.3g}, "
          f"tolerance {TOL:g})")
    sys.exit(0)

if "--stopped" in sys.argv:
    # a stopped run's file against the same run uninterrupted: the rows of the samples done hold the
    # full run's values (bit for bit: the same batches), every other row is still the NaN fill
    assert f.attrs["complete"] == 0
    full = h5py.File(opt("--stopped", None), "r")
    n_done = 0
    for m in models:
        if m not in f["models"]:  # not started before the stop
            continue
        g, h = f[f"models/{m}"], full[f"models/{m}"]
        occ, done = h["occurrences"][:], g["done"][:]
        lp, want = g["lens_logprob"][:], h["lens_logprob"][:]
        kept = (done[occ["sample"]] == 1) & has_value(occ)
        assert np.array_equal(lp[kept], want[kept]), f"{m}: rows of samples done differ from the full run"
        assert np.isnan(lp[~kept]).all(), f"{m}: rows of samples not done are not the NaN fill"
        n_done += int(done.sum())
    print(f"{path}: stopped run holds the full run's lens rows of its {n_done} samples done, NaN elsewhere")
    sys.exit(0)

binary = sys.argv[2]
K = int(opt("--samples", "3"))
checked = 0
for m in models:
    g = f[f"models/{m}"]
    cfg = json.loads(g.attrs["config_json"])
    L = cfg["num_hidden_layers"]
    occ = g["occurrences"][:]
    lp, ent = g["lens_logprob"][:], g["lens_entropy"][:]
    assert lp.shape == (len(occ), L + 1) and ent.shape == lp.shape, (m, lp.shape, len(occ), L)
    assert g["lens_logprob"].attrs["depths"] == L + 1 and g["lens_entropy"].attrs["depths"] == L + 1
    for ds in ("lens_logprob", "lens_entropy"):
        assert "description" in g[ds].attrs and "unit" in g[ds].attrs
    v = has_value(occ)
    assert np.isnan(lp[~v]).all() and np.isnan(ent[~v]).all(), f"{m}: a row without a lens value holds numbers"
    assert np.isfinite(lp[v]).all() and np.isfinite(ent[v]).all(), f"{m}: NaN in a row with a lens value"
    assert (lp[v] <= 0).all() and (ent[v] >= -1e-5).all()
    off, toks, ctx = g["token_offset"][:], g["tokens"][:], g["context"][:]
    at = off[occ["sample"]] + occ["position"]
    # the last depth is the model's own prediction (the same rows, another batch shape)
    assert close(lp[v, L], g["logprob"][:][at[v]]), f"{m}: last depth is not the model's log-prob"
    assert close(ent[v, L], g["entropy"][:][at[v]]), f"{m}: last depth is not the model's entropy"

    # against `score --lens` on the ids the run scored each position with
    window = min(eff["max_tokens"], cfg.get("max_position_embeddings", 1 << 30))
    samples = sorted(set(occ["sample"][v].tolist()), key=lambda s: -int(np.sum(occ["sample"][v] == s)))[:K]
    # and two samples with an occurrence in a later window (ctx: not the whole sample before it)
    samples += sorted({int(s) for s, p in zip(occ["sample"][v], at[v]) if ctx[p] != p - off[s]} - set(samples))[:2]
    for s in samples:
        rows = np.nonzero(v & (occ["sample"] == s))[0]
        spans = {}  # window start -> rows scored there
        for r in rows:
            p = int(occ["position"][r])
            spans.setdefault(p - int(ctx[off[s] + p]), []).append(r)
        n = off[s + 1] - off[s]
        for start, rs in spans.items():
            ids = toks[off[s] + start:off[s] + min(start + window, n)]
            with tempfile.NamedTemporaryFile("w", suffix=".ids") as fh:
                fh.write(",".join(str(t) for t in ids))
                fh.flush()
                pos = ",".join(str(int(occ["position"][r]) - start) for r in rs)
                out = subprocess.run([binary, "score", "--model", g.attrs["path"], "--ids-file", fh.name,
                                      "--lens", pos, "--json", "--device", "cpu", "--threads", "1"],
                                     capture_output=True, text=True, check=True)
            lens = json.loads(out.stdout)["lens"]
            assert lens["depths"] == L + 1
            for r, o in zip(rs, lens["positions"], strict=True):
                assert o["p"] == occ["position"][r] - start and o["token"] == toks[at[r]]
                for k, got in (("logprob", lp[r]), ("entropy", ent[r])):
                    want = np.array([math.nan if x is None else x for x in o[k]])
                    assert close(got, want), \
                        f"{m} sample {s} position {occ['position'][r]} {k}: run {got} vs score {want}"
                checked += 1
    print(f"{m}: {len(occ)} occurrences x {L + 1} depths, {int((~v).sum())} without a lens value (NaN); "
          f"{len(samples)} samples equal `score --lens` within {TOL:g}")
assert checked > 0
print(f"check_lens_run: ok ({checked} rows against score)")
