"""analysis.report on a file with model pairs and the logit lens (the issue-19
layout, synthetic: make_reduce_input.py --pairs, reduced by the binary): the
pair and lens figures are written, the dashboard shows the section with the
reducer's numbers, and the page runs in headless Chromium. A file without
pairs (the demo output) gets neither (test_report.py's expected files stay as
they are)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import chromium  # noqa: E402
import make_reduce_input  # noqa: E402
from conftest import ROOT  # noqa: E402
from test_reduce_scipy import BIN, run  # noqa: E402

sys.path.insert(0, ROOT)
from analysis import pairs  # noqa: E402

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"binary {BIN} not built")


@pytest.fixture(scope="module")
def pair_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("pair_report")
    path = make_reduce_input.make(str(d / "pairs.h5"), seed=4, n_samples=48, problem_size=3, pairs=True)
    run("reduce", path, "--bootstrap", 100, "--quiet")
    out = str(d / "report")
    r = subprocess.run([sys.executable, "-m", "analysis.report", path, "-o", out], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return path, out


def test_pair_and_lens_figures_written(pair_report):
    path, out = pair_report
    for pair in ("base__sft", "sft__rl"):
        for kind in ("divergence", "occurrence_contrast", "token_shift"):
            p = os.path.join(out, f"pair_{kind}_{pair}.png")
            assert os.path.getsize(p) > 2000, p
    assert not any(n.startswith("pair_") and "base__rl" in n for n in os.listdir(out))  # complete = 0
    with h5py.File(path, "r") as f:
        words = list(f.attrs["target_words"])
        with_lens = {words[w] for m in f["summary/lens"] for w in set(f[f"summary/lens/{m}"]["word"])
                     if np.isfinite(f[f"summary/lens/{m}"]["logprob_mean"][f[f"summary/lens/{m}"]["word"] == w]).any()}
    assert with_lens and {n[5:-4] for n in os.listdir(out) if n.startswith("lens_")} == with_lens


def test_dashboard_pairs_section(pair_report):
    path, out = pair_report
    text = open(os.path.join(out, "dashboard.html"), encoding="utf-8").read()
    assert "href='#pairs'" in text
    sec = text[text.index("<section id='pairs'>"):text.index("<section id='tests'>")]
    assert "base &rarr; sft" in sec and "sft &rarr; rl" in sec and "Logit lens" in sec
    with h5py.File(path, "r") as f:
        ts = f["summary/pairs/base__sft/token_shift"][()]
        od = f["summary/pairs/base__sft/occurrence_divergence"][()]
    # the token table: the reducer's rows, up then down, with its intervals
    top = ts[0]
    assert f"<td>#{top['token']}</td><td>{top['count']}</td><td>{top['nsamples']}</td>" \
           f"<td>{top['mean']:+.4f} [{top['ci_lo']:+.4f}, {top['ci_hi']:+.4f}]</td>" in sec
    # the contrast table: js, all correctness, all levels first
    r = od[(od["metric"] == 2) & (od["correct"] == -1) & (od["level"] == 0)][0]
    assert f"<td>all</td><td>{r['n']}</td><td>{r['mean_near']:.4g}</td>" in sec
    rep = chromium.js_report(os.path.join(out, "dashboard.html"))
    assert rep["errors"] == [], rep["errors"]


def test_analysis_results_json_holds_the_pair_tables(pair_report):
    import json

    path, out = pair_report
    doc = json.load(open(os.path.join(out, "analysis_results.json"), encoding="utf-8"))
    names = set(doc["figures"]["png"])
    assert {"pair_token_shift_base__sft.png", "lens_wait.png"} <= names
    text = json.dumps(doc["summary"])
    with h5py.File(path, "r") as f:
        n_shift = f["summary/pairs/sft__rl/token_shift"].shape[0]
    assert "token_shift" in text and "occurrence_divergence" in text and "lens" in text
    assert n_shift > 0


def test_pair_and_lens_parts_only_where_the_file_has_them(report_dir, demo_h5):
    """The demo (two real models with different tokenizers): no /pairs, so no pair figure; the
    lens figures and the section exactly when its models hold lens datasets."""
    with h5py.File(demo_h5, "r") as f:
        has_pairs = "pairs" in f and len(f["pairs"]) > 0
        has_lens = any("lens_logprob" in f["models"][m] for m in f["models"])
    names = os.listdir(report_dir)
    assert any(n.startswith("pair_") for n in names) == has_pairs
    assert any(n.startswith("lens_") for n in names) == has_lens
    text = open(os.path.join(report_dir, "dashboard.html"), encoding="utf-8").read()
    assert ("<section id='pairs'>" in text) == (has_pairs or has_lens)


def test_settle_depth_matches_inspect():
    m = np.array([-6.0, -4.5, -3.1, -2.2, -2.0])
    assert pairs.settle_depth(m) == 3
    assert pairs.settle_depth(np.array([np.nan, -1.0, np.nan])) == 1
    assert pairs.settle_depth(np.array([np.nan, np.nan])) is None
