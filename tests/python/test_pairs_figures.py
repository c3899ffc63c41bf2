"""analysis/pairs.py on synthetic inputs: every figure is written, the token-shift table picks
the right rows, and the lens intervals are the numpy bootstrap's."""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from analysis import pairs  # noqa: E402


def test_figures_and_table(tmp_path):
    rng = np.random.default_rng(1)
    div = np.abs(rng.normal(0, 0.1, 80))
    div[0] = np.nan
    labels = [f"t{i}" for i in range(80)]
    paths = [pairs.divergence_along_sample(div, [12, 40], labels, str(tmp_path), "along.png", pair="sft__rl")]
    rows = [dict(level=lv, mean_near=0.3 + lv / 10, mean_other=0.2, ci_lo=0.05, ci_hi=0.2, n=10 + lv)
            for lv in (1, 2, 3)]
    paths.append(pairs.occurrence_contrast(rows, str(tmp_path), "occ.png", pair="sft__rl"))
    shift = sorted(({"token": t, "count": 5 + t, "nsamples": 3, "mean": float(m), "ci_lo": float(m) - 0.1,
                     "ci_hi": float(m) + 0.1} for t, m in enumerate(rng.normal(0, 1, 60))),
                   key=lambda r: -r["mean"])
    up, down = pairs.token_shift_table(shift, lambda t: f"<{t}>", n=20)
    assert len(up) == 20 and len(down) == 20
    assert [r["mean"] for r in up] == sorted((r["mean"] for r in shift), reverse=True)[:20]
    assert [r["mean"] for r in down] == sorted(r["mean"] for r in shift)[:20]
    assert up[0]["text"] == f"<{up[0]['token']}>"
    paths.append(pairs.token_shift_figure(up, down, str(tmp_path), "shift.png", pair="sft__rl"))
    lens = {m: rng.normal(-5 + k, 1, (30, 5)) for k, m in enumerate(("base", "sft", "rl"))}
    paths.append(pairs.lens_curves(lens, str(tmp_path), "lens.png", word="wait"))
    for p in paths:
        assert os.path.getsize(p) > 1000, p


def test_lens_interval_is_numpy_bootstrap():
    lp = np.random.default_rng(2).normal(-3, 1, (40, 4))
    mean, lo, hi = pairs.lens_mean_ci(lp, n_boot=500, seed=3)
    idx = np.random.default_rng(3).integers(0, 40, (500, 40))
    boots = np.array([lp[i].mean(axis=0) for i in idx])
    np.testing.assert_allclose(mean, lp.mean(axis=0))
    np.testing.assert_allclose(lo, np.percentile(boots, 2.5, axis=0))
    np.testing.assert_allclose(hi, np.percentile(boots, 97.5, axis=0))
    assert np.all(lo <= mean) and np.all(mean <= hi)
