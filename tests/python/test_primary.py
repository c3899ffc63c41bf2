"""The primary tests of /summary/primary against statsmodels and scipy.

For every model pair (a, b) and word, d = log propensity_b - log propensity_a
per sample (docs/statistics.md). Recomputed here from the per-model datasets:

* pair effect: mean d; cluster-robust se and Wald p from statsmodels
  `OLS(d, 1).fit(cov_type="cluster")`; the BCa interval from scipy's own
  `_bca_interval` + `stats.quantile` (what `scipy.stats.bootstrap(method='BCa')`
  runs) on the cluster resamples the reducer draws (its counter-based RNG is
  reproduced below); the sign-flip p from `scipy.stats.permutation_test`
  (exact, <= 20 clusters) or by counting the reducer's random sign vectors;
* level trend, correctness: `OLS(d, [1, level, correct, log answer_bytes])
  .fit(cov_type="cluster", cov_kwds={"groups": cluster})`: coefficient, se,
  p; the wild cluster sign-flip p of the coefficient on the restricted
  residuals, as above;
* q: `scipy.stats.false_discovery_control` over every primary p of the file.

Every number within 1e-9 relative (1e-12 absolute).
"""
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_reduce_input  # noqa: E402
from clusterboot import bca, ols_bca, signflip  # noqa: E402
from test_reduce_scipy import BIN, Ref, check, run  # noqa: E402

B, SEED, MIN_G = 2000, 7, 10
TESTS = ["pair_effect", "level_trend", "correctness"]

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"binary {BIN} not built")


def clusters(f, samples):
    if "samples/problem_id" in f:
        pid = f["samples/problem_id"][:]
        ids = np.where(pid[samples] >= 0, pid[samples], -(samples.astype(np.int64) + 1))
    else:
        ids = -(samples.astype(np.int64) + 1)
    return np.unique(ids, return_inverse=True)[1]


@pytest.fixture(scope="module", params=[0, 3], ids=["per-sample", "problems-of-3"])
def primary(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("primary")
    path = make_reduce_input.make(str(d / "p.h5"), seed=3, n_samples=48, problem_size=request.param)
    run("reduce", path, "--bootstrap", 0, "--resamples", B, "--seed", SEED, "--quiet")
    with h5py.File(path, "r") as f:
        rows = f["summary/primary"][:]
        names = [x.decode() for x in f["summary/primary_names"][:]]
        attrs = dict(f["summary"].attrs)
    return path, Ref(path), rows, names, attrs


def test_primary_matches_statsmodels_and_scipy(primary):
    path, ref, rows, names, attrs = primary
    assert names == TESTS and attrs["resamples"] == B and attrs["min_clusters"] == MIN_G
    W, L = len(ref.words), len(ref.models)
    pairs = [(a, b) for a in range(L) for b in range(a + 1, L)]
    assert rows.size == len(pairs) * W * 3
    f = h5py.File(path, "r")
    lab = f["samples/answer_bytes"][:]
    n_checked = n_boot = 0
    for k, (a, b) in enumerate(pairs):
        ma, mb = ref.m[a], ref.m[b]
        base = ref.used & (ma["n_ans"] > 0) & (mb["n_ans"] > 0)
        reg = base & (ref.level >= 1) & (ref.level <= 5) & ((ref.correct == 0) | (ref.correct == 1))
        for w in range(W):
            for t in range(3):
                row = rows[(k * W + w) * 3 + t]
                tag = f"{ref.models[a]}-{ref.models[b]}/{ref.words[w]}/{TESTS[t]}"
                assert (row["model_a"], row["model_b"], row["word"], row["test"]) == (a, b, w, t), tag
                sel = np.flatnonzero(base if t == 0 else reg)
                g = clusters(f, sel)
                assert row["n"] == sel.size and row["n_clusters"] == g.max() + 1, tag
                assert row["eligible"] == (row["reason"] == 0 and row["n_clusters"] >= MIN_G), tag
                if not (ma["has"][w] and mb["has"][w]):
                    assert row["reason"] == 6 and np.isnan(row["p"]), tag
                    continue
                la, lb = np.log(ma["prop"][sel, w]), np.log(mb["prop"][sel, w])
                dd = lb - la
                check(f"{tag} geomean_a", row["geomean_a"], np.exp(la.mean()))
                check(f"{tag} geomean_b", row["geomean_b"], np.exp(lb.mean()))
                G = g.max() + 1
                if t == 0:
                    fit = sm.OLS(dd, np.ones((dd.size, 1))).fit(cov_type="cluster", cov_kwds={"groups": g})
                    j = 0
                    sums = np.bincount(g, weights=dd, minlength=G)
                    lo, hi = bca(sums, np.bincount(g, minlength=G).astype(float), SEED + 16 * k, B)
                    check(f"{tag} ci_lo", row["ci_lo"], lo)
                    check(f"{tag} ci_hi", row["ci_hi"], hi)
                    check(f"{tag} estimate", row["estimate"], dd.mean())
                    check(f"{tag} wald_lo", row["wald_lo"], fit.conf_int()[0, 0])
                    check(f"{tag} wald_hi", row["wald_hi"], fit.conf_int()[0, 1])
                    wts = sums
                else:
                    X = np.column_stack([np.ones(sel.size), ref.level[sel], ref.correct[sel], np.log(lab[sel])])
                    fit = sm.OLS(dd, X).fit(cov_type="cluster", cov_kwds={"groups": g})
                    j = t
                    check(f"{tag} estimate", row["estimate"], fit.params[j])
                    check(f"{tag} wald_lo", row["wald_lo"], fit.conf_int()[j, 0])
                    check(f"{tag} wald_hi", row["wald_hi"], fit.conf_int()[j, 1])
                    if (k * W + w) % 3 == t % 3:  # a third of the rows (each refit is a Python lstsq)
                        lo, hi = ols_bca(X, dd, g, j, SEED + 16 * k + 6, B)
                        check(f"{tag} bca ci_lo", row["ci_lo"], lo)
                        check(f"{tag} bca ci_hi", row["ci_hi"], hi)
                        assert row["ci_method"] == (1 if np.isfinite(lo) else 0), tag
                        n_boot += 1
                    Xr = np.delete(X, j, axis=1)
                    e = dd - Xr @ np.linalg.lstsq(Xr, dd, rcond=None)[0]
                    h = X @ np.linalg.inv(X.T @ X)[:, j]
                    wts = np.bincount(g, weights=h * e, minlength=G)
                check(f"{tag} se", row["se"], fit.bse[j])
                check(f"{tag} p_wald", row["p_wald"], fit.pvalues[j])
                check(f"{tag} ratio", row["ratio"], np.exp(row["estimate"]))
                p, method, nres = signflip(wts, SEED + 16 * k + 1 + t, B)
                check(f"{tag} p", row["p"], p)
                assert row["p_resamples"] == nres and row["p"] > 0, tag
                assert row["p_method"] == (2 if method == "exact" else 3), tag
                n_checked += 1
    assert n_checked >= 3 * len(pairs) * (W - 1) and n_boot >= len(pairs) * (W - 1) * 2 // 3
    ok = ~np.isnan(rows["p"])
    check("BH family size", ok.sum(), ok.sum())
    for got, want in zip(rows["q"][ok], stats.false_discovery_control(rows["p"][ok], method="bh")):
        check("q", got, want)
    assert np.all(np.isnan(rows["q"][~ok]))


def test_no_p_value_is_zero(primary):
    path = primary[0]
    with h5py.File(path, "r") as f:
        for name in ("primary", "correctness", "levels", "model_pairs"):
            t = f[f"summary/{name}"][:]
            for col in t.dtype.names:
                if col == "p" or col.endswith("_p") or col == "p_wald":
                    v = t[col][~np.isnan(t[col])]
                    assert np.all(v > 0), f"{name}.{col} has p = 0"


def test_small_problems_give_exact_p(primary):
    path, ref, rows, _, attrs = primary
    if not attrs["clustered_by_problem"]:
        pytest.skip("per-sample file")
    ok = rows["reason"] == 0
    assert np.all(rows["n_clusters"][ok] <= 16) and np.all(rows["p_method"][ok] == 2)
    assert not rows["eligible"][rows["n_clusters"] < MIN_G].any()


def test_length_policy_rates_and_warning(tmp_path):
    """Skip rates per level and correctness from the skipped records' metadata; the warning when they differ."""
    for groups in (False, True):
        path = make_reduce_input.make(str(tmp_path / f"s{groups}.h5"), seed=3, n_samples=48, skipped_groups=groups)
        run("reduce", path, "--bootstrap", 0, "--resamples", 0, "--quiet")
        with h5py.File(path, "r") as f:
            t = f["summary/length_policy"][:]
            warn = f["summary"].attrs["length_policy_warning"]
            lev, cor = f["samples/level"][:], f["samples/is_correct"][:]
            sl = f["samples/skipped_level"][:] if groups else None
            sc = f["samples/skipped_is_correct"][:] if groups else None
            pol = f["samples/length_policy"][:] if groups else None
        masks = [lev == L for L in range(1, 6)] + [cor == 1, cor == 0, (cor != 0) & (cor != 1), np.ones_like(cor, bool)]
        for g, row in enumerate(t):
            assert row["group"] == g and row["kept"] == masks[g].sum()
            if g == 8:
                assert row["skipped"] == 6
            elif not groups:
                assert row["skipped"] == -1 and np.isnan(row["rate"])
            else:
                sk = [sl == L for L in range(1, 6)] + [sc == 1, sc == 0, (sc != 0) & (sc != 1)]
                assert row["skipped"] == sk[g].sum()
                check(f"rate {g}", row["rate"], sk[g].sum() / (sk[g].sum() + masks[g].sum()))
            if not groups:
                assert row["truncated"] == -1 and row["windowed"] == -1 and np.isnan(row["windowed_rate"])
            else:
                all_g = masks[g].sum() + (row["skipped"] if row["skipped"] > 0 else 0)
                for code, col in ((1, "truncated"), (2, "windowed")):
                    want = (masks[g] & (pol == code)).sum()
                    assert row[col] == want, (g, col, row[col], want)
                    check(f"{col} rate {g}", row[col + "_rate"], want / all_g if all_g else np.nan)
        assert warn == (1 if groups else 0)
        out = run("inspect", path).stdout
        assert ("WARNING: skip, truncation or window rates differ" in out) == groups
        assert ("  windowed " in out) == groups  # the counts where the file has /samples/length_policy


def test_same_summary_at_1_and_3_threads(tmp_path):
    """Every resampled number (group and pair BCa, regression bootstrap, sign flips, Kruskal-Wallis
    permutations) depends on (seed, resample index) only: /summary is byte-identical for any thread count."""
    import os
    import shutil
    import subprocess
    src = make_reduce_input.make(str(tmp_path / "t.h5"), seed=5, n_samples=60, problem_size=0)
    out = {}
    for th in (1, 3):
        path = str(tmp_path / f"t{th}.h5")
        shutil.copy(src, path)
        p = subprocess.run([BIN, "reduce", path, "--bootstrap", "500", "--resamples", "700", "--seed", "11", "--quiet"],
                           env=dict(os.environ, OMP_NUM_THREADS=str(th)), capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        with h5py.File(path, "r") as f:
            out[th] = {k: f[f"summary/{k}"][()] for k in ("groups", "model_pairs", "levels", "primary")}
    for k in out[1]:
        assert out[1][k].tobytes() == out[3][k].tobytes(), k
    assert (out[1]["levels"]["kruskal_method"] == 3).any()  # the permutation path ran
    assert (out[1]["primary"]["p_method"] == 3).any() and (out[1]["primary"]["ci_method"] == 1).sum() > 30
