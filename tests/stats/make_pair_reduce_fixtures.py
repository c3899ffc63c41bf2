#!/usr/bin/env python3
"""Makes tests/stats/pair_reduce_fixtures.json, the reference for
ls/pair_reduce.h (tests/unit/test_pair_reduce.c), with numpy and scipy on
synthetic inputs:
  token_shift: per token id the count, samples, mean dlogprob, and the cluster
    bootstrap interval (samples drawn as GSL's gsl_rng_mt19937 draws them:
    numpy's MT19937 with the same legacy seeding, gsl_rng_uniform_int's
    rejection) -> numpy.percentile(means, [2.5, 97.5]);
  occurrence: per sample the mean divergence near occurrence starts (the start
    and the `before` positions preceding it) and elsewhere in the answer, and
    over the samples of one group scipy.stats.wilcoxon(near, other).
Run: .venv/bin/python tests/stats/make_pair_reduce_fixtures.py
"""
import json
import os

import numpy as np
import scipy
import scipy.stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pair_reduce_fixtures.json")


def gsl_indices(seed, n, count):
    """count draws of gsl_rng_uniform_int(r, n), r = gsl_rng_mt19937 after gsl_rng_set(r, seed)."""
    s = 4357 if seed == 0 else seed
    bg = np.random.MT19937(0)
    bg._legacy_seeding(s & 0xFFFFFFFF)
    scale = 0xFFFFFFFF // n
    out = []
    while len(out) < count:
        raw = bg.random_raw(count).astype(np.uint64) // np.uint64(scale)
        out.extend(int(v) for v in raw[raw < n])
    return np.array(out[:count])


def token_shift(tok, dlp, smp, nsamples, min_count, n_boot, seed):
    cells = {}  # token -> {sample: [sum, count]} summed in position order
    for t, d, s in zip(tok, dlp, smp):
        if np.isnan(d):
            continue
        c = cells.setdefault(int(t), {}).setdefault(int(s), [0.0, 0])
        c[0] += float(d)
        c[1] += 1
    rows = []
    for t in sorted(cells):
        cs = [cells[t][s] for s in sorted(cells[t])]
        count = sum(c[1] for c in cs)
        if count < min_count:
            continue
        rows.append({"token": t, "count": count, "nsamples": len(cs), "mean": sum(c[0] for c in cs) / count,
                     "samples": sorted(cells[t]), "cells": cs})
    draws = gsl_indices(seed, nsamples, n_boot * nsamples).reshape(n_boot, nsamples)
    for r in rows:
        means = []
        for d in draws:
            w = np.bincount(d, minlength=nsamples)
            num = den = 0.0
            for s, (sm, ct) in zip(r["samples"], r["cells"]):
                num += float(w[s]) * sm
                den += float(w[s]) * ct
            if den > 0:
                means.append(num / den)
        lo, hi = np.percentile(means, [2.5, 97.5]) if r["nsamples"] >= 2 else (np.nan, np.nan)
        r["ci_lo"], r["ci_hi"] = float(lo), float(hi)
        del r["samples"], r["cells"]
    rows.sort(key=lambda r: (-r["mean"], r["token"]))
    return rows


def main():
    rng = np.random.default_rng(19)
    # token shift: 40 samples, ~2400 positions over 30 token ids, a shift per token, some NaN
    nsamples, n = 40, 2400
    tok = np.minimum(rng.zipf(1.4, n) - 1, 29).astype(np.int32)
    smp = np.sort(rng.integers(0, nsamples - 2, n)).astype(np.int32)  # the last two samples are empty
    shift = rng.normal(0, 1, 30)
    dlp = (shift[tok] + rng.normal(0, 0.5, n) + rng.normal(0, 0.3, nsamples)[smp]).astype(np.float32)
    dlp[rng.random(n) < 0.03] = np.nan
    ts = {"nsamples": nsamples, "min_count": 5, "n_boot": 200, "seed": 7, "token": tok.tolist(),
          "sample": smp.tolist(), "dlp": [None if np.isnan(v) else float(v) for v in dlp]}
    ts["rows"] = token_shift(tok, dlp, smp, nsamples, ts["min_count"], ts["n_boot"], ts["seed"])

    # occurrences: 30 samples, a prompt then an answer, occurrence starts in the answer
    nseq, before = 30, 2
    lens = rng.integers(20, 60, nseq)
    off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    T = int(off[-1])
    answer = np.zeros(T, np.uint8)
    occ = np.zeros(T, np.uint8)
    div = np.abs(rng.normal(0, 1, T)).astype(np.float32)
    for s in range(nseq):
        a0 = off[s] + rng.integers(3, 10)
        answer[a0:off[s + 1]] = 1
        for p in range(a0, off[s + 1]):
            if rng.random() < 0.06:
                occ[p] = 1
                div[max(off[s], p - before):p + 1] += 0.5
    div[rng.random(T) < 0.02] = np.nan
    near, other = [], []
    for s in range(nseq):
        a, b = [], []
        for p in range(off[s], off[s + 1]):
            if not answer[p] or np.isnan(div[p]):
                continue
            (a if occ[p:min(p + before + 1, off[s + 1])].any() else b).append(float(div[p]))
        near.append(float(np.mean(a)) if a else None)
        other.append(float(np.mean(b)) if b else None)
    level = rng.integers(0, 2, nseq)
    sel = [s for s in range(nseq) if level[s] == 1 and near[s] is not None and other[s] is not None]
    x, y = np.array([near[s] for s in sel]), np.array([other[s] for s in sel])
    w = scipy.stats.wilcoxon(x, y)
    oc = {"before": before, "seq_off": off.tolist(), "answer": answer.tolist(), "occ": occ.tolist(),
          "div": [None if np.isnan(v) else float(v) for v in div], "near": near, "other": other,
          "in_group": (level == 1).astype(int).tolist(), "n": len(sel), "mean_near": float(x.mean()),
          "mean_other": float(y.mean()), "mean_diff": float((x - y).mean()),
          "wilcoxon_statistic": float(w.statistic), "wilcoxon_p": float(w.pvalue)}
    with open(OUT, "w") as f:
        json.dump({"numpy": np.__version__, "scipy": scipy.__version__, "token_shift": ts, "occurrence": oc}, f,
                  separators=(",", ":"))


if __name__ == "__main__":
    main()
