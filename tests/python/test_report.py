"""analysis.report on the real demo output (results/demo.h5)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import h5py
import numpy as np
import chromium
from conftest import ROOT

EXPECTED = [
    "model_comparison_occurrence_prob.png",
    "model_comparison_propensity.png",
    "model_comparison_occ_per_1k.png",
    "level_analysis_occurrence_prob.png",
    "level_analysis_propensity.png",
    "correctness_comparison_occurrence_prob.png",
    "correctness_comparison_propensity.png",
    "logits_heatmap.png",
    "distributions_occurrence_prob.png",
    "target_token_probabilities.html",
    "dashboard.html",
    "analysis_results.json",
]


def _json(report_dir):
    with open(os.path.join(report_dir, "analysis_results.json"), encoding="utf-8") as fh:
        return json.load(fh)


def test_every_expected_file_is_written_and_non_empty(report_dir, demo_h5):
    expected = list(EXPECTED)
    with h5py.File(demo_h5, "r") as f:
        if "summary/model_pairs" in f and len(f["summary/model_pairs"]) > 0:
            expected.append("model_pairs_propensity.png")
    for name in expected:
        p = os.path.join(report_dir, name)
        assert os.path.isfile(p), f"{name} not written"
        assert os.path.getsize(p) > 1000, f"{name} is (nearly) empty: {os.path.getsize(p)} bytes"
    for name in expected:
        if name.endswith(".png"):
            with open(os.path.join(report_dir, name), "rb") as fh:
                assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"


def _eq(j, h, where):
    """JSON value j equals HDF5 value h exactly (NaN/inf <-> null)."""
    if isinstance(h, np.ndarray) and h.dtype.names is None and h.ndim > 0:
        assert isinstance(j, list) and len(j) == len(h), f"{where}: length {len(j)} != {len(h)}"
        for k, (a, b) in enumerate(zip(j, h)):
            _eq(a, b, f"{where}[{k}]")
        return
    if isinstance(h, (bytes, np.bytes_)):
        assert j == h.decode("utf-8"), f"{where}: {j!r} != {h!r}"
    elif isinstance(h, str):
        assert j == h, f"{where}: {j!r} != {h!r}"
    elif isinstance(h, (float, np.floating)):
        if not math.isfinite(float(h)):
            assert j is None, f"{where}: {j!r} for non-finite {h}"
        else:
            assert j is not None and float(j) == float(h), f"{where}: {j!r} != {float(h)!r}"
    elif isinstance(h, (int, np.integer, bool, np.bool_)):
        assert j == int(h), f"{where}: {j!r} != {h!r}"
    else:
        raise AssertionError(f"{where}: unexpected HDF5 value type {type(h)}")


def test_analysis_results_json_equals_summary(report_dir, demo_h5):
    """Every dataset, column, row and attribute under /summary is in the JSON
    with exactly the stored value, and nothing else is."""
    doc = _json(report_dir)
    js = doc["summary"]
    n_checked = 0
    with h5py.File(demo_h5, "r") as f:
        assert "summary" in f, f"{demo_h5} has no /summary (the reducer did not run)"
        assert js is not None, "analysis_results.json has no summary although the file has /summary"

        def check(obj, node, path):
            nonlocal n_checked
            assert set(node["attrs"]) == set(obj.attrs), f"{path}: attributes differ"
            for k, v in obj.attrs.items():
                _eq(node["attrs"][k], v if not isinstance(v, np.ndarray) or v.ndim else v[()], f"{path}@{k}")
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                assert node["shape"] == list(obj.shape), path
                if data.dtype.names:
                    assert len(node["data"]) == len(data), f"{path}: rows"
                    for i, row in enumerate(data):
                        assert set(node["data"][i]) == set(data.dtype.names), f"{path}[{i}]: columns"
                        for c in data.dtype.names:
                            _eq(node["data"][i][c], row[c], f"{path}[{i}].{c}")
                            n_checked += 1
                else:
                    _eq(node["data"], data, path)
                    n_checked += 1
                return
            children = set(node) - {"attrs"}
            assert children == set(obj.keys()), f"{path}: children {children} != {set(obj.keys())}"
            for k in obj.keys():
                check(obj[k], node[k], f"{path}/{k}")

        check(f["summary"], js, "/summary")
    assert n_checked > 0


def test_analysis_results_json_has_run_metadata(report_dir, demo_h5):
    doc = _json(report_dir)
    assert doc["complete"] is True
    with h5py.File(demo_h5, "r") as f:
        assert doc["metadata"]["models"] == list(f.attrs["models"])
        assert doc["metadata"]["target_words"] == list(f.attrs["target_words"])
        for m in f.attrs["models"]:
            assert doc["metadata"]["models_detail"][m]["path"] == f[f"models/{m}"].attrs["path"]


def test_pages_are_self_contained(report_dir):
    for name in ("dashboard.html", "target_token_probabilities.html"):
        with open(os.path.join(report_dir, name), encoding="utf-8") as fh:
            text = fh.read()
        # plotly.js is inlined: no tag loads anything (its bundle mentions cdn.plot.ly only as the
        # default topojson URL of geo maps, which these pages do not use)
        assert not re.search(r"<script[^>]+src=", text), f"{name} loads a script from elsewhere"
        assert not re.search(r"<(link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", text), f"{name}: remote"
        assert "Plotly.newPlot" in text


def test_dashboard_in_headless_chromium_has_no_js_errors(report_dir):
    rep = chromium.js_report(os.path.join(report_dir, "dashboard.html"))
    assert rep["plotly"] == "object", rep
    assert rep["errors"] == [], "JavaScript errors in dashboard.html:\n" + "\n".join(rep["errors"])
    assert rep["plots"] >= 3, f"only {rep['plots']} plotly plots on the dashboard"
    assert rep["drawn"] >= rep["plots"], f"plots not drawn: {rep}"


def test_target_token_probabilities_in_headless_chromium_has_no_js_errors(report_dir):
    rep = chromium.js_report(os.path.join(report_dir, "target_token_probabilities.html"))
    assert rep["errors"] == [], "JavaScript errors:\n" + "\n".join(rep["errors"])
    assert rep["plots"] == 1 and rep["drawn"] >= 1, rep


def test_dashboard_screenshot_is_not_blank(report_dir, tmp_path):
    import matplotlib.image as mpimg

    png = str(tmp_path / "dashboard.png")
    chromium.screenshot(os.path.join(report_dir, "dashboard.html"), png)
    img = mpimg.imread(png)[..., :3]
    assert img.shape[0] > 500 and img.shape[1] > 500, img.shape
    flat = (img.reshape(-1, 3) * 255).astype(np.uint8)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    background = counts.max() / counts.sum()
    assert len(colours) > 100, f"only {len(colours)} colours: a blank or unstyled page"
    assert background < 0.9, f"{background:.1%} of the screenshot is one colour"
    # the header bar and the plot colours (Okabe-Ito blue of the first model) are on screen
    assert ((flat[:, 0] < 40) & (flat[:, 2] > 150) & (flat[:, 1] > 90) & (flat[:, 1] < 130)).sum() > 500


def test_heatmap_decodes_tokens_when_the_tokenizer_is_there(report_dir, demo_h5):
    doc = _json(report_dir)
    info = doc["figures"]["heatmap"]
    with h5py.File(demo_h5, "r") as f:
        m0 = f.attrs["models"][0]
        path = f[f"models/{m0}"].attrs["path"]
    if not os.path.isabs(path):
        candidates = [os.path.join(os.path.dirname(os.path.abspath(demo_h5)), path), os.path.abspath(path)]
    else:
        candidates = [path]
    # a model folder with tokenizer.json, or a GGUF file (its own vocabulary: analysis/gguf_vocab.py)
    has_tok = any(os.path.isfile(os.path.join(c, "tokenizer.json")) or (os.path.isfile(c) and c.endswith(".gguf"))
                  for c in candidates)
    assert info["decoded"] == has_tok, (info, candidates)


def test_report_help_lists_the_options():
    r = subprocess.run([sys.executable, "-m", "analysis.report", "--help"], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 0
    for arg in ("--outdir", "--sample", "--max-positions", "--allow-incomplete"):
        assert arg in r.stdout, arg


def test_dashboard_leads_with_primary_results(report_dir, demo_h5):
    """The primary tests come first, each p with its n; the word-form coverage is shown per model."""
    with open(os.path.join(report_dir, "dashboard.html"), encoding="utf-8") as fh:
        text = fh.read()
    assert text.index("id='primary'") < text.index("id='run'") < text.index("id='tests'")
    with h5py.File(demo_h5, "r") as f:
        n_primary = f["summary/primary"].shape[0]
        a = f.attrs["models"]  # a list (schema 2) or, in older files, one comma-separated string
        models = a.split(",") if isinstance(a, str) else [x.decode() if isinstance(x, bytes) else str(x) for x in a]
    prim = text[text.index("id='primary'"):text.index("id='run'")]
    assert prim.count("<tr>") == n_primary + 1  # header + one row per primary test
    assert "clusters" in prim and "p (method, resamples)" in prim
    cov = text[text.index("id='coverage'"):]
    assert all(f"<td>{m}</td>" in cov for m in models)
