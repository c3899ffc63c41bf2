"""Fixtures for the analysis/ tests.

The report tests run on the real demo output, results/demo.h5, written by the
C binary (build/logits-study) through scripts/demo.sh. If the file is missing
or older than the binary, the fixture runs scripts/demo.sh to make it; if that
fails the tests FAIL (never skip): CI must not pass without real output.
LS_DEMO_H5=path uses another real results file instead.
"""

from __future__ import annotations

import os
import subprocess
import sys

import h5py
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO_H5 = os.path.join(ROOT, "results", "demo.h5")
BINARY = os.path.join(ROOT, "build", "logits-study")
sys.path.insert(0, os.path.dirname(__file__))


def _complete(path: str) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return int(f.attrs.get("complete", 0)) == 1
    except OSError:
        return False


def _fresh(path: str) -> bool:
    if not os.path.exists(path) or not _complete(path):
        return False
    return not os.path.exists(BINARY) or os.path.getmtime(path) >= os.path.getmtime(BINARY)


@pytest.fixture(scope="session")
def demo_h5() -> str:
    env = os.environ.get("LS_DEMO_H5")
    if env:
        if not os.path.exists(env):
            pytest.fail(f"LS_DEMO_H5={env}: no such file")
        return env
    if _fresh(DEMO_H5):
        return DEMO_H5
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "demo.sh")], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0 or not os.path.exists(DEMO_H5):
        pytest.fail(f"results/demo.h5 is missing and scripts/demo.sh did not produce it "
                    f"(rc={r.returncode}); the report tests need the real demo output.\n"
                    f"--- stdout (tail)\n{r.stdout[-3000:]}\n--- stderr (tail)\n{r.stderr[-3000:]}")
    if not _complete(DEMO_H5):
        pytest.fail("results/demo.h5 written by scripts/demo.sh is not complete (root attribute complete != 1)")
    return DEMO_H5


@pytest.fixture(scope="session")
def report_dir(demo_h5, tmp_path_factory) -> str:
    """python -m analysis.report on the demo output, run as a user would."""
    out = str(tmp_path_factory.mktemp("report"))
    r = subprocess.run([sys.executable, "-m", "analysis.report", demo_h5, "-o", out], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"analysis.report failed (rc={r.returncode}):\n{r.stdout}\n{r.stderr}"
    return out


@pytest.fixture(scope="session")
def synthetic_incomplete(tmp_path_factory) -> str:
    """A synthetic file from a 'killed run' (complete=0, no /summary): test input only."""
    import make_dev_h5

    p = str(tmp_path_factory.mktemp("synthetic") / "killed.h5")
    make_dev_h5.write(p, seed=1, incomplete=True, n=12)
    return p
