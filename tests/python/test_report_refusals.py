"""analysis.report on bad input: a file from a killed run, a missing file.
Uses a synthetic file (tests/python/make_dev_h5.py): test input only."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT


def _report(*args):
    return subprocess.run([sys.executable, "-m", "analysis.report", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_incomplete_file_is_refused_with_a_clear_message(synthetic_incomplete, tmp_path):
    out = tmp_path / "out"
    r = _report(synthetic_incomplete, "-o", str(out))
    assert r.returncode == 2, r
    assert "incomplete" in r.stderr and "complete=0" in r.stderr and "--allow-incomplete" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir()), "files written for a refused input"


def test_incomplete_file_is_read_with_allow_incomplete(synthetic_incomplete, tmp_path):
    out = tmp_path / "out"
    r = _report(synthetic_incomplete, "-o", str(out), "--allow-incomplete")
    assert r.returncode == 0, r.stderr
    for name in ("logits_heatmap.png", "distributions_occurrence_prob.png", "target_token_probabilities.html",
                 "dashboard.html", "analysis_results.json"):
        assert (out / name).stat().st_size > 1000, name
    doc = json.loads((out / "analysis_results.json").read_text())
    assert doc["complete"] is False and doc["summary"] is None
    assert any("incomplete" in n for n in doc["notes"])
    assert "Incomplete file" in (out / "dashboard.html").read_text()


def test_missing_file_is_a_clear_error(tmp_path):
    r = _report(str(tmp_path / "nope.h5"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_not_an_hdf5_file_is_a_clear_error(tmp_path):
    p = tmp_path / "bad.h5"
    p.write_bytes(b"not hdf5 at all")
    r = _report(str(p), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "not an HDF5 file" in r.stderr and "Traceback" not in r.stderr


def test_sample_out_of_range_is_a_clear_error(synthetic_incomplete, tmp_path):
    r = _report(synthetic_incomplete, "-o", str(tmp_path / "out"), "--allow-incomplete", "--sample", "9999")
    assert r.returncode == 2 and "--sample 9999" in r.stderr, r.stderr


def test_other_schema_version_is_refused(synthetic_incomplete, tmp_path):
    """A file of another layout version (here: schema 1, lists stored as comma-joined strings) is refused
    with a message saying which version this analysis reads, before anything else is read."""
    import shutil

    import h5py

    from analysis.h5io import SCHEMA_VERSION, SchemaError, open_results

    p = tmp_path / "old.h5"
    shutil.copy(synthetic_incomplete, p)
    with h5py.File(p, "r+") as f:
        f.attrs["schema_version"] = 1
        f.attrs["models"] = ",".join(f.attrs["models"])
    r = _report(str(p), "-o", str(tmp_path / "out"), "--allow-incomplete")
    assert r.returncode == 2, r
    assert "schema version 1" in r.stderr and f"reads schema version {SCHEMA_VERSION}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    try:
        open_results(str(p), allow_incomplete=True)
        raise AssertionError("schema 1 accepted")
    except SchemaError as e:
        assert str(p) in str(e)
    with h5py.File(p, "r+") as f:
        del f.attrs["schema_version"]
    r = _report(str(p), "-o", str(tmp_path / "out"), "--allow-incomplete")
    assert r.returncode == 2 and "no root attribute schema_version" in r.stderr, r.stderr
