#!/usr/bin/env python3
"""Writes tests/stats/fixtures.json: synthetic inputs and the scipy.stats /
numpy results that src/stats/ must reproduce (tests/unit/test_stats.c).

    .venv-oracle/bin/python tests/stats/make_stats_fixtures.py   (needs statsmodels)

Layout:
  meta     : scipy / numpy / python versions and the seed
  data     : name -> list of numbers (null = NaN); shared by the cases
  <test>   : list of cases {name, inputs..., expected fields, reason}
             expected numbers are null where the C code must return NaN.
             `reason` is the LsStatReason name the C code must give. Where the
             C code returns NaN but scipy returns a number (documented in
             include/ls/stats.h), the scipy result is kept under "scipy" for
             the record.

Deterministic: numpy's default_rng with a fixed seed.
"""
import json
import math
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy
import scipy.stats as st

SEED = 20250607
rng = np.random.default_rng(SEED)
warnings.simplefilter("ignore")  # ConstantInputWarning, SmallSampleWarning, ...

data = {}


def add(name, values):
    assert name not in data, name
    data[name] = [None if (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]
    return np.asarray(values, dtype=float)


def num(x):
    """JSON-safe number: NaN -> null, ±inf -> "inf"/"-inf" (only in "scipy" records)."""
    x = float(x)
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def is_nan(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def unique_normals(n, loc=0.0, scale=1.0):
    # continuous draws: no ties with probability 1; assert it
    v = rng.normal(loc, scale, n)
    assert len(np.unique(v)) == n
    return v


# ---------------------------------------------------------------- datasets
add("norm12", unique_normals(12))
add("norm15_shift", unique_normals(15, 0.8, 2.0))
add("norm40", unique_normals(40))
add("norm35_shift", unique_normals(35, 0.3, 1.5))
add("norm5000", unique_normals(5000, 0.0, 1.0))
add("norm4000_shift", unique_normals(4000, 0.05, 1.3))
add("int30", rng.integers(0, 4, 30))
add("int25", rng.integers(0, 4, 25))
add("int3000", rng.integers(0, 4, 3000))
add("int2500", rng.integers(0, 4, 2500))
add("one", [1.5])
add("two", [0.25, -1.0])
add("three", [3.0, 1.0, 2.0])
add("four", [0.5, 2.5, -0.75, 1.25])
add("const4", [2.0] * 4)
add("const5", [2.0] * 5)
add("const3_other", [7.0] * 3)
add("with_nan", [1.0, float("nan"), 3.0])
add("empty", [])
for n in (1, 2, 3, 5, 7, 8, 9, 10, 20, 30, 2000):
    add(f"u{n}", unique_normals(n, 0.2, 1.0))
add("u8b", unique_normals(8, -0.3, 1.0))
add("u9b", unique_normals(9, 0.6, 1.0))
add("u8_far", unique_normals(8, 10.0, 1.0))  # all above u9b: extreme U
add("ties6", [1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
add("ties5", [2.0, 3.0, 6.0, 7.0, 8.0])
add("probs_small", rng.uniform(0, 1e-3, 25))
add("probs_large", rng.uniform(0, 1e-3, 30) + 2e-4)

# --------------------------------------------------------------- descriptives
describe = []
for name in ("norm12", "norm40", "norm5000", "int30", "int3000", "two", "three", "const4", "probs_small"):
    x = np.asarray(data[name])
    describe.append(dict(name=name, x=name, n=len(x), mean=num(np.mean(x)), median=num(np.median(x)),
                         sd=num(np.std(x, ddof=1)), reason="ok"))
describe.append(dict(name="one", x="one", n=1, mean=1.5, median=1.5, sd=None, reason="too_few"))
describe.append(dict(name="empty", x="empty", n=0, mean=None, median=None, sd=None, reason="too_few"))
describe.append(dict(name="nan", x="with_nan", n=3, mean=None, median=None, sd=None, reason="nan_input"))

# ---------------------------------------------------------- two-sample tests
TWO = [
    ("normals_small", "norm12", "norm15_shift"),
    ("normals_mid", "norm40", "norm35_shift"),
    ("normals_large", "norm5000", "norm4000_shift"),
    ("ties_int", "int30", "int25"),
    ("ties_int_large", "int3000", "int2500"),
    ("tiny_2_3", "two", "three"),
    ("tiny_3_4", "three", "four"),
    ("tiny_1_3", "one", "three"),
    ("tiny_1_1", "one", "u1"),
    ("n8_n20_exact", "u8", "u20"),
    ("n8_n8_exact", "u8", "u8b"),
    ("n9_n9_asym", "u9", "u9b"),
    ("n9_n30_asym", "u9", "u30"),
    ("n3_n5_exact", "u3", "u5"),
    ("n1_n5_exact", "u1", "u5"),
    ("n7_n10_exact", "u7", "u10"),
    ("n8_n2000_exact", "u8", "u2000"),
    ("n8_n9_extreme", "u8_far", "u9b"),
    ("n2_n8_exact", "u2", "u8b"),
    ("ties_small_asym", "ties6", "ties5"),
    ("probs", "probs_small", "probs_large"),
    ("zero_var_one_side", "const4", "norm12"),
    ("zero_var_both", "const4", "const3_other"),
    ("all_tied", "const4", "const5"),
    ("nan", "with_nan", "norm12"),
    ("empty", "empty", "norm12"),
]

welch, mwu, cohen = [], [], []
for name, an, bn in TWO:
    a, b = np.asarray(data[an], float), np.asarray(data[bn], float)
    # --- Welch
    if len(a) == 0 or len(b) == 0:
        t = (np.nan, np.nan, np.nan)
    else:
        r = st.ttest_ind(a, b, equal_var=False)
        t = (float(r.statistic), float(r.pvalue), float(r.df))
    reason = "ok"
    if len(a) < 2 or len(b) < 2:
        reason = "too_few"
    elif np.isnan(a).any() or np.isnan(b).any():
        reason = "nan_input"
    elif np.var(a) == 0 and np.var(b) == 0:
        reason = "zero_variance"
    case = dict(name=name, a=an, b=bn, reason=reason)
    if reason == "ok":
        case.update(statistic=t[0], p=t[1], df=t[2], effect=float(np.mean(a) - np.mean(b)))
    else:
        case.update(statistic=None, p=None, df=None, effect=None)
        if not (math.isnan(t[0]) and math.isnan(t[1])):
            case["scipy"] = dict(statistic=num(t[0]), p=num(t[1]))
    welch.append(case)

    # --- Mann-Whitney U
    reason = "ok"
    if len(a) == 0 or len(b) == 0:
        reason, u = "too_few", (np.nan, np.nan)
    else:
        r = st.mannwhitneyu(a, b, alternative="two-sided", method="auto")
        u = (float(r.statistic), float(r.pvalue))
        if np.isnan(a).any() or np.isnan(b).any():
            reason = "nan_input"
        elif len(np.unique(np.concatenate([a, b]))) == 1:
            reason = "all_tied"
    case = dict(name=name, a=an, b=bn, reason=reason)
    if reason == "ok":
        n1, n2 = len(a), len(b)
        ties = len(np.unique(np.concatenate([a, b]))) < n1 + n2
        method = "exact" if (min(n1, n2) <= 8 and not ties) else "asymptotic"
        # the label must be the method scipy's 'auto' picked
        assert st.mannwhitneyu(a, b, method=method).pvalue == u[1], (name, method)
        case.update(statistic=u[0], p=u[1], effect=2 * u[0] / (n1 * n2) - 1, method=method)
    else:
        case.update(statistic=None, p=None, effect=None)
        if not (math.isnan(u[0]) and math.isnan(u[1])):
            case["scipy"] = dict(statistic=num(u[0]), p=num(u[1]))
    mwu.append(case)

    # --- Cohen's d (numpy; no scipy function)
    reason = "ok"
    if len(a) == 0 or len(b) == 0 or len(a) + len(b) < 3:
        reason = "too_few"
    elif np.isnan(a).any() or np.isnan(b).any():
        reason = "nan_input"
    else:
        ss = np.sum((a - a.mean()) ** 2) + np.sum((b - b.mean()) ** 2)
        sp = math.sqrt(ss / (len(a) + len(b) - 2))
        if sp == 0:
            reason = "zero_variance"
    case = dict(name=name, a=an, b=bn, reason=reason)
    case["statistic"] = (a.mean() - b.mean()) / sp if reason == "ok" else None
    cohen.append(case)

# ----------------------------------------------------------------- Spearman
add("lvl_x", np.repeat([1, 2, 3, 4, 5], 40).astype(float))
add("lvl_y", np.repeat([1, 2, 3, 4, 5], 40) * 0.1 + rng.normal(0, 0.5, 200))
add("corr_x", unique_normals(30))
add("corr_y", np.asarray(data["corr_x"]) * 0.6 + rng.normal(0, 1, 30))
add("int100_x", rng.integers(0, 4, 100))
add("int100_y", rng.integers(0, 4, 100))
add("big_x", unique_normals(5000))
add("big_y", np.asarray(data["big_x"]) * 0.05 + rng.normal(0, 1, 5000))
add("mono3_y", [10.0, 20.0, 30.0])
add("anti4_y", [4.0, 3.0, 2.0, 1.0])
add("seq4", [1.0, 2.0, 3.0, 4.0])
add("seq3", [1.0, 2.0, 3.0])
add("seq5", [1.0, 2.0, 3.0, 4.0, 5.0])
add("nan5", [1.0, 2.0, float("nan"), 4.0, 5.0])

SPEAR = [
    ("levels_vs_values", "lvl_x", "lvl_y", "ok"),
    ("correlated_30", "corr_x", "corr_y", "ok"),
    ("ties_int_100", "int100_x", "int100_y", "ok"),
    ("large_5000", "big_x", "big_y", "ok"),
    ("perfect_3", "seq3", "mono3_y", "ok"),
    ("anti_4", "seq4", "anti4_y", "ok"),
    ("n2", "two", "u2", "too_few"),
    ("n1", "one", "u1", "too_few"),
    ("constant", "const5", "seq5", "all_tied"),
    ("nan", "nan5", "seq5", "nan_input"),
]
add("ties7_x", [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0])
add("ties7_y", [0.3, 0.1, 0.9, 0.4, 0.4, 0.8, 1.2])
add("u9_y", unique_normals(9))
SPEAR += [("perfect_4", "seq4", "seq4", "ok"), ("ties_7", "ties7_x", "ties7_y", "ok"),
          ("exact_9", "u9", "u9_y", "ok"), ("exact_5", "seq5", "u5", "ok")]
SPEARMAN_EXACT_N = 9  # LS_STATS_SPEARMAN_EXACT_N


def spearman_stat(x, y, axis=-1):
    rx, ry = st.rankdata(x, axis=axis), st.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return (rx * ry).sum(axis=axis) / np.sqrt((rx * rx).sum(axis=axis) * (ry * ry).sum(axis=axis))


spearman = []
for name, xn, yn, reason in SPEAR:
    x, y = np.asarray(data[xn], float), np.asarray(data[yn], float)
    r = st.spearmanr(x, y)
    case = dict(name=name, x=xn, y=yn, reason=reason)
    if reason == "ok" and len(x) <= SPEARMAN_EXACT_N:
        # exact: every pairing (scipy.stats.permutation_test enumerates the n! permutations)
        # one sample: 'pairings' permutes its order (n! arrangements; with two samples scipy takes (n!)^2)
        pt = st.permutation_test((y,), lambda yy, axis=-1, x=x: spearman_stat(np.broadcast_to(x, yy.shape), yy,
                                                                               axis=axis),
                                 permutation_type="pairings", n_resamples=np.inf, vectorized=True)
        assert abs(pt.statistic - r.statistic) < 1e-12
        case.update(statistic=float(r.statistic), p=float(pt.pvalue), df=len(x) - 2, method="exact",
                    scipy=dict(statistic=num(r.statistic), p=num(r.pvalue)))
    elif reason == "ok":
        case.update(statistic=float(r.statistic), p=float(r.pvalue), df=len(x) - 2, method="asymptotic")
    else:
        case.update(statistic=None, p=None, df=None)
        if not (math.isnan(r.statistic) and math.isnan(r.pvalue)):
            case["scipy"] = dict(statistic=num(r.statistic), p=num(r.pvalue))
    spearman.append(case)

# ------------------------------------------------------------- Kruskal-Wallis
for lvl, (n, loc) in enumerate([(40, 0.0), (35, 0.1), (30, 0.25), (20, 0.3), (12, 0.5)], start=1):
    add(f"kw_norm_{lvl}", unique_normals(n, loc, 1.0))
    add(f"kw_int_{lvl}", rng.integers(0, 4, n))
    add(f"kw_big_{lvl}", unique_normals(1000 + 100 * lvl, 0.02 * lvl, 1.0))
add("kw_far_1", unique_normals(50, 0.0, 1.0))
add("kw_far_2", unique_normals(50, 40.0, 1.0))
KW = [
    ("normals_5_levels", [f"kw_norm_{i}" for i in range(1, 6)], "ok"),
    ("ties_int_5_levels", [f"kw_int_{i}" for i in range(1, 6)], "ok"),
    ("large_5_levels", [f"kw_big_{i}" for i in range(1, 6)], "ok"),
    ("two_groups", ["norm12", "norm15_shift"], "ok"),
    ("singletons", ["one", "u1", "u2"], "ok"),
    ("tiny", ["two", "three", "four"], "ok"),
    ("far_apart", ["kw_far_1", "kw_far_2"], "ok"),
    ("all_tied", ["const4", "const5"], "all_tied"),
    ("empty_group", ["norm12", "empty", "norm40"], "too_few"),
    ("nan", ["with_nan", "norm12"], "nan_input"),
    ("one_group", ["norm12"], "bad_arg"),
]
kruskal = []
for name, gs, reason in KW:
    arrays = [np.asarray(data[g], float) for g in gs]
    case = dict(name=name, groups=gs, reason=reason)
    if reason == "ok":
        r = st.kruskal(*arrays)
        case.update(statistic=float(r.statistic), p=float(r.pvalue), df=len(gs) - 1)
    else:
        case.update(statistic=None, p=None, df=None)
    kruskal.append(case)

# ---------------------------------------------------------------- Wilcoxon
def paired(name, x, y):
    add(name + "_x", x)
    add(name + "_y", y)
    return name


def pair_normals(n, shift=0.3):
    x = rng.normal(0, 1, n)
    return x, x + shift + rng.normal(0, 1, n)


W = []
for n in (1, 5, 10, 13, 14, 20, 50, 51, 5000):
    x, y = pair_normals(n)
    assert len(np.unique(np.abs(x - y))) == n and np.all(x != y)
    W.append((paired(f"w_noties_{n}", x, y), "ok"))
for n in (4, 13, 14, 30, 50, 51, 400):  # integer data: ties among |d| and zeros
    x = rng.integers(0, 4, n).astype(float)
    y = rng.integers(0, 4, n).astype(float)
    if n == 4:  # ties, no zeros, small
        x, y = np.array([1.0, 2.0, 3.0, 5.0]), np.array([2.0, 1.0, 5.0, 4.0])
    W.append((paired(f"w_ties_{n}", x, y), "ok"))
x, y = pair_normals(12)
y[[2, 7]] = x[[2, 7]]  # zeros, no ties
W.append((paired("w_zeros_12", x, y), "ok"))
x, y = pair_normals(20)
y[[1, 5, 9]] = x[[1, 5, 9]]  # zeros, n in the asymptotic band
W.append((paired("w_zeros_20", x, y), "ok"))
x = rng.normal(0, 1, 9)
W.append((paired("w_one_side_9", x, x + 5.0 + np.arange(9) * 0.1), "ok"))  # all d < 0
W.append((paired("w_all_zero_5", [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.0, 3.0, 4.0, 5.0]), "all_tied"))
W.append((paired("w_all_zero_60", np.arange(60.0), np.arange(60.0)), "all_tied"))
W.append((paired("w_nan", [1.0, float("nan"), 2.0], [0.5, 0.5, 0.5]), "nan_input"))
W.append((paired("w_empty", [], []), "too_few"))

wilcoxon = []
for name, reason in W:
    x, y = np.asarray(data[name + "_x"], float), np.asarray(data[name + "_y"], float)
    case = dict(name=name, x=name + "_x", y=name + "_y", reason=reason)
    if reason == "ok":
        r = st.wilcoxon(x, y)
        d = x - y
        nz = d[d != 0]
        rk = st.rankdata(np.abs(nz))
        rp, rm = rk[nz > 0].sum(), rk[nz < 0].sum()
        n = len(d)
        ties = len(np.unique(np.abs(nz))) < len(nz)
        zeros = len(nz) < n
        method = ("asymptotic" if n > 50 else
                  "exact" if not (ties or zeros) else
                  "permutation" if n <= 13 else "asymptotic")
        # the label must be the method scipy's 'auto' picked
        m = st.PermutationMethod() if method == "permutation" else method
        assert st.wilcoxon(x, y, method=m).pvalue == r.pvalue, (name, method)
        case.update(statistic=float(r.statistic), p=float(r.pvalue), df=len(nz),
                    effect=float((rp - rm) / (rp + rm)), method=method,
                    mean_diff=float(np.mean(d)), median_diff=float(np.median(d)))
    else:
        case.update(statistic=None, p=None, df=None, effect=None)
        if len(x) > 1 or reason != "too_few":
            try:
                r = st.wilcoxon(x, y)
                if not (math.isnan(r.statistic) and math.isnan(r.pvalue)):
                    case["scipy"] = dict(statistic=num(r.statistic), p=num(r.pvalue))
            except ValueError as e:
                case["scipy"] = dict(error=str(e))
    wilcoxon.append(case)

# ------------------------------------------------------------------------ BH
bh = []
for name, ps in [
    ("uniform_20", rng.uniform(0, 1, 20)),
    ("small_and_large", np.concatenate([rng.uniform(0, 1e-4, 10), rng.uniform(0, 1, 30)])),
    ("ties", [0.01, 0.04, 0.04, 0.04, 0.2, 0.5, 0.5, 1.0, 0.0, 0.03]),
    ("single", [0.3]),
    ("pair", [0.02, 0.04]),
    ("many_1000", rng.uniform(0, 1, 1000) ** 3),
]:
    ps = np.asarray(ps, float)
    bh.append(dict(name=name, p=[float(v) for v in ps],
                   q=[float(v) for v in st.false_discovery_control(ps, method="bh")]))
# NaN entries: scipy raises; the C code leaves them out of the family.
with_nan = [0.01, None, 0.04, 0.5, None, 0.002]
finite = np.array([v for v in with_nan if v is not None])
qf = iter(st.false_discovery_control(finite, method="bh"))
bh.append(dict(name="nan_left_out", p=with_nan, q=[None if v is None else float(next(qf)) for v in with_nan]))

# ------------------------------------------------- clusters: RNG, BCa, sign flips, OLS
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def rng64(key, ctr):
    """ls_stats_rng: SplitMix64's output function of key + (ctr + 1) * golden (mod 2^64), vectorised."""
    with np.errstate(over="ignore"):
        z = np.uint64(key) + (np.asarray(ctr, np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def below(r, n):
    """floor(r * n / 2^64) for n < 2^32, in 64-bit pieces."""
    n = np.uint64(n)
    hi, lo = r >> np.uint64(32), r & np.uint64(0xFFFFFFFF)
    return ((hi * n + ((lo * n) >> np.uint64(32))) >> np.uint64(32)).astype(np.int64)


from scipy.stats._resampling import _bca_interval  # noqa: E402  (the internals stats.bootstrap uses)


def bca_ref(stat, G, theta_b, level=0.95):
    """scipy.stats.bootstrap's BCa: its _bca_interval (jackknife over the G clusters) + stats.quantile.
    Resample estimates within 1e-12 relative of the estimate are set to it first, as ls_stats_bca does
    (the same resample summed in another order is a tie, not a value below or above)."""
    theta = float(np.squeeze(stat(np.arange(G))))
    theta_b = np.where(np.abs(theta_b - theta) <= 1e-12 * abs(theta), theta, theta_b)
    a1, a2, a_hat = _bca_interval((np.arange(G),), stat, axis=-1, alpha=(1 - level) / 2,
                                  theta_hat_b=theta_b[None, :], batch=None, xp=np)
    ci = st.quantile(theta_b, np.array([float(np.squeeze(a1)), float(np.squeeze(a2))]))
    return float(ci[0]), float(ci[1]), float(np.squeeze(a_hat))


rng_cases = [dict(key=k, ctr=c, r=str(int(rng64(k, c))), n=n, below=int(below(rng64(k, c), n)))
             for k, c, n in [(0, 0, 10), (7, 1, 3), (20240607, 123456789, 100000), (2**62 + 5, 2**40, 2**31 - 1)]]

bca = []
# (1) the formula on a fixed set of resamples (numpy's generator), statistic = mean of one sample
for name, x in [("skewed_25", rng.lognormal(0, 1, 25)), ("normal_40", rng.normal(0, 1, 40)),
                ("small_8", rng.exponential(1, 8))]:
    add("bca_" + name, x)
    Bn = 2000
    idx = rng.integers(0, len(x), (Bn, len(x)))
    theta_b = x[idx].mean(axis=1)
    add("bca_" + name + "_theta_b", theta_b)
    jack = np.array([np.delete(x, i).mean() for i in range(len(x))])
    add("bca_" + name + "_jack", jack)
    lo, hi, a_hat = bca_ref(lambda i, axis=-1: x[i].mean(axis=axis), len(x), theta_b)
    bca.append(dict(name=name, theta_hat=float(x.mean()), theta_b="bca_" + name + "_theta_b",
                    jack="bca_" + name + "_jack", lo=lo, hi=hi, accel=a_hat, reason="ok"))

# (2) the cluster bootstrap of a ratio mean: resamples drawn with ls_stats_rng, BCa by scipy
cluster_bca = []
for name, G, key, Bn in [("clusters_30", 30, 99, 3000), ("clusters_7", 7, 5, 1000)]:
    cnt = rng.integers(1, 5, G).astype(float)
    sums = np.stack([cnt * rng.normal(0.5, 1.0, G), cnt * rng.lognormal(0, 1, G)], axis=1)  # K = 2
    add(f"cb_{name}_sum", sums.ravel())
    add(f"cb_{name}_cnt", cnt)
    ctr = np.arange(Bn * G, dtype=np.uint64).reshape(Bn, G)
    idx = below(rng64(key, ctr), G)
    res = []
    for k in range(2):
        s_k = sums[:, k]
        theta_b = np.array([sum(s_k[r].tolist()) / sum(cnt[r].tolist()) for r in idx])
        # sequential sums (cumsum), as the C loop
        lo, hi, a_hat = bca_ref(lambda i, axis=-1, s_k=s_k: np.cumsum(s_k[i], axis=axis)[..., -1] /
                                np.cumsum(cnt[i], axis=axis)[..., -1], G, theta_b)
        res.append(dict(est=sum(s_k.tolist()) / sum(cnt.tolist()), lo=lo, hi=hi, accel=a_hat))
    cluster_bca.append(dict(name=name, sum=f"cb_{name}_sum", cnt=f"cb_{name}_cnt", G=G, K=2, B=Bn, key=key,
                            results=res))


def mean_stat(x, axis=-1):
    return np.mean(x, axis=axis)


signflip = []
for name, d in [("normal_8", rng.normal(0.3, 1, 8)), ("normal_12", rng.normal(0.8, 1, 12)),
                ("normal_16", rng.normal(0.2, 1, 16)), ("ties_zeros_10", np.array([1.0, -1, 2, 2, 0, 0, 3, -2, 1, 1])),
                ("all_positive_6", np.abs(rng.normal(1, 0.2, 6)) + 0.1)]:
    add("sf_" + name, d)
    pt = st.permutation_test((d,), mean_stat, permutation_type="samples", n_resamples=np.inf, vectorized=True)
    signflip.append(dict(name=name, w="sf_" + name, statistic=float(d.sum()), p=float(pt.pvalue),
                         method="exact", flips=2 ** len(d), reason="ok"))
# Monte Carlo: G = 30 > LS_STATS_EXACT_CLUSTERS; signs from ls_stats_rng (the reference counts directly)
d = rng.normal(0.35, 1, 30)
add("sf_mc_30", d)
Bn, key = 4000, 17
nw = 1  # ceil(30 / 64): one random number gives the 64 signs of a flip (bit c: cluster c negated)
bits = (rng64(key, np.arange(Bn * nw, dtype=np.uint64).reshape(Bn, nw))[:, np.arange(30) // 64]
        >> (np.arange(30) % 64).astype(np.uint64)) & np.uint64(1)
signs = np.where(bits == 1, -1.0, 1.0)
T = np.array([sum((s * d).tolist()) for s in signs])
obs = sum(d.tolist())
gam = abs(100 * np.finfo(float).eps * obs)
pl, pg = (np.sum(T <= obs + gam) + 1) / (Bn + 1), (np.sum(T >= obs - gam) + 1) / (Bn + 1)
signflip.append(dict(name="mc_30", w="sf_mc_30", statistic=obs, p=float(min(1.0, 2 * min(pl, pg))),
                     method="permutation", flips=Bn, key=key, reason="ok"))
add("sf_zero4", [0.0] * 4)
signflip.append(dict(name="all_zero", w="sf_zero4", statistic=None, p=None, reason="all_tied"))

import statsmodels  # noqa: E402
import statsmodels.api as sm  # noqa: E402

ols = []


def ols_case(name, X, y, groups, reason="ok"):
    add(f"ols_{name}_X", X.ravel())
    add(f"ols_{name}_y", y)
    add(f"ols_{name}_g", groups.astype(float))
    case = dict(name=name, X=f"ols_{name}_X", y=f"ols_{name}_y", g=f"ols_{name}_g", k=X.shape[1], reason=reason)
    if reason != "ok":
        ols.append(case)
        return
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    case.update(beta=[float(v) for v in fit.params], se=[float(v) for v in fit.bse],
                p=[float(v) for v in fit.pvalues])
    # wild cluster sign-flip of coefficient j on the restricted residuals (exact enumeration, G small)
    uniq, gi = np.unique(groups, return_inverse=True)
    G = len(uniq)
    bread = np.linalg.inv(X.T @ X)
    flip_p = []
    for j in range(X.shape[1]):
        Xr = np.delete(X, j, axis=1)
        e = y - Xr @ np.linalg.lstsq(Xr, y, rcond=None)[0]
        h = X @ bread[:, j]
        w = np.bincount(gi, weights=h * e, minlength=G)
        assert abs(w.sum() - fit.params[j]) < 1e-9 * max(1, abs(fit.params[j]))
        if G <= 20:
            pt = st.permutation_test((w,), lambda x, axis=-1: np.sum(x, axis=axis), permutation_type="samples",
                                     n_resamples=np.inf, vectorized=True)
            flip_p.append(float(pt.pvalue))
    if flip_p:
        case["flip_p"] = flip_p
    ols.append(case)


for name, n, G in [("samples_60", 60, 60), ("problems_16x4", 64, 16), ("problems_12_uneven", 50, 12)]:
    groups = np.sort(rng.integers(0, G, n)) if name.endswith("uneven") else np.repeat(np.arange(G), n // G)
    if name == "samples_60":
        groups = np.arange(n)
    lvl = rng.integers(1, 6, G)[np.unique(groups, return_inverse=True)[1]].astype(float)
    cor = rng.integers(0, 2, n).astype(float)
    loglen = np.log(rng.integers(50, 4000, n).astype(float))
    X = np.column_stack([np.ones(n), lvl, cor, loglen])
    y = 0.3 + 0.1 * lvl - 0.4 * cor + 0.05 * loglen + rng.standard_t(4, n)
    ols_case(name, X, y, groups)
n = 20
X = np.column_stack([np.ones(n), rng.integers(1, 6, n), np.ones(n), rng.normal(6, 1, n)])
ols_case("collinear", X, rng.normal(0, 1, n), np.arange(n), reason="zero_variance")

# cluster-bootstrap BCa of OLS coefficients (ls_stats_ols_cluster_bca): the C code's cluster draws redrawn
# here, each resample refitted by numpy lstsq on its rows (a rank-deficient one left out), the jackknife
# refitted without each cluster inside scipy's _bca_interval; two responses share X and the draws
ols_bca = []
for name, Bn, key in [("samples_60", 600, 31), ("problems_16x4", 800, 32), ("problems_12_uneven", 800, 33)]:
    case = next(c for c in ols if c["name"] == name)
    X = np.array(data[case["X"]]).reshape(-1, 4)
    groups = np.array(data[case["g"]]).astype(np.int64)
    gi = np.unique(groups, return_inverse=True)[1]
    G, n = gi.max() + 1, X.shape[0]
    y2 = X @ np.array([0.1, -0.2, 0.5, 0.02]) + rng.normal(0, 1, n)
    Y = np.column_stack([np.array(data[case["y"]]), y2])
    add(f"olsb_{name}_Y", Y.ravel())
    rows_of = [np.flatnonzero(gi == c) for c in range(G)]
    idx = below(rng64(key, np.arange(Bn * G, dtype=np.uint64).reshape(Bn, G)), G)
    res = []
    for yv in range(2):
        for j in (1, 2):
            def fit(cl, yv=yv, j=j):
                r = np.concatenate([rows_of[c] for c in np.asarray(cl, np.int64)])
                if np.linalg.matrix_rank(X[r]) < 4:
                    return np.nan
                return np.linalg.lstsq(X[r], Y[r, yv], rcond=None)[0][j]

            theta_b = np.array([fit(r) for r in idx])
            theta_b = theta_b[~np.isnan(theta_b)]
            stat = (lambda i, axis=-1, fit=fit: np.apply_along_axis(fit, -1, np.asarray(i))
                    if np.asarray(i).ndim > 1 else fit(i))
            lo, hi, a_hat = bca_ref(stat, G, theta_b)
            res.append(dict(y=yv, coef=j, est=float(fit(np.arange(G))), lo=lo, hi=hi, accel=a_hat,
                            used=int(theta_b.size)))
    ols_bca.append(dict(name=name, X=case["X"], Y=f"olsb_{name}_Y", g=case["g"], k=4, ny=2, B=Bn, key=key,
                        results=res))

# Kruskal-Wallis with a permutation p (ls_stats_kruskal_perm): exact cases against scipy.stats.permutation_test
# (every distinct assignment), a Monte Carlo case against the C code's permutations redrawn here
kruskal_perm = []
for name, sizes in [("exact_3_3_2", (3, 3, 2)), ("exact_ties_4_3_3", (4, 3, 3)), ("exact_2_2_2_2", (2, 2, 2, 2))]:
    vals = np.round(rng.normal(0, 1, sum(sizes)), 1 if "ties" in name else 6)
    groups = np.split(vals, np.cumsum(sizes)[:-1])
    for g, arr in enumerate(groups):
        add(f"kwp_{name}_{g}", arr)
    pt = st.permutation_test(groups, lambda *x, axis=-1: st.kruskal(*x, axis=axis).statistic,
                             permutation_type="independent", n_resamples=np.inf, alternative="greater",
                             vectorized=True)
    kruskal_perm.append(dict(name=name, groups=[f"kwp_{name}_{g}" for g in range(len(sizes))],
                             statistic=float(st.kruskal(*groups).statistic), p=float(pt.pvalue), method="exact",
                             B=0, key=0))
sizes = (6, 15, 9)
vals = rng.normal(0, 1, sum(sizes)) + np.repeat([0.0, 0.6, 0.2], sizes)
groups = np.split(vals, np.cumsum(sizes)[:-1])
for g, arr in enumerate(groups):
    add(f"kwp_mc_{g}", arr)
Bn, key, N = 3000, 41, sum(sizes)
r = st.rankdata(vals)
_, t = np.unique(r, return_counts=True)
ties = 1.0 - float(np.sum(t.astype(float) ** 3 - t)) / (float(N) ** 3 - N)
kwh = lambda rs: (12.0 / (N * (N + 1.0)) * sum(float(a) * float(a) / n for a, n in zip(rs, sizes))  # noqa: E731
                  - 3.0 * (N + 1.0)) / ties
off = np.cumsum((0,) + sizes)
h = kwh([r[off[g]:off[g + 1]].sum() for g in range(3)])
gmax, m = 1, N - 15
a = np.tile(np.arange(N), (Bn, 1))
rows = np.arange(Bn)
draws = rng64(key, np.arange(Bn, dtype=np.uint64)[:, None] * np.uint64(N) + np.arange(m, dtype=np.uint64))
for i in range(m):
    j = i + below(draws[:, i], N - i)
    ai, aj = a[rows, i].copy(), a[rows, j].copy()
    a[rows, i], a[rows, j] = aj, ai
ge = 0
for b in range(Bn):
    r0 = r[a[b, 0:6]].sum()
    r2 = r[a[b, 6:15]].sum()
    ge += kwh([r0, N * (N + 1.0) / 2.0 - r0 - r2, r2]) >= h - abs(100 * np.finfo(float).eps * h)
kruskal_perm.append(dict(name="mc_6_15_9", groups=[f"kwp_mc_{g}" for g in range(3)],
                         statistic=float(st.kruskal(*groups).statistic), p=(1.0 + ge) / (1.0 + Bn),
                         method="permutation", B=Bn, key=key))

out = dict(
    meta=dict(scipy=scipy.__version__, numpy=np.__version__, python=platform.python_version(),
              statsmodels=statsmodels.__version__, seed=SEED, generator="tests/stats/make_stats_fixtures.py"),
    data=data, describe=describe, welch=welch, cohen_d=cohen, mannwhitneyu=mwu, spearman=spearman,
    kruskal=kruskal, wilcoxon=wilcoxon, bh=bh, rng=rng_cases, bca=bca, cluster_bca=cluster_bca,
    signflip=signflip, ols_cluster=ols, ols_bca=ols_bca, kruskal_perm=kruskal_perm)

path = Path(__file__).resolve().parent / "fixtures.json"
text = json.dumps(out, indent=None, separators=(",", ":"), allow_nan=False)
path.write_text(text + "\n")
counts = {k: len(v) for k, v in out.items() if isinstance(v, list)}
print(f"wrote {path} ({len(text) / 1e6:.2f} MB): {counts}", file=sys.stderr)
