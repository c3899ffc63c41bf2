"""The reducer's cluster resampling, reproduced in numpy (docs/statistics.md):
counter-based SplitMix64 draws, cluster-bootstrap BCa through scipy's own
`_bca_interval` + `stats.quantile` (what `scipy.stats.bootstrap(method='BCa')`
runs), and the sign-flip p (scipy's `permutation_test` when exact)."""
import numpy as np
from scipy import stats
from scipy.stats._resampling import _bca_interval

EXACT_G = 20  # LS_STATS_EXACT_CLUSTERS


def rng64(key, ctr):
    with np.errstate(over="ignore"):
        z = np.uint64(key) + (np.asarray(ctr, np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def below(r, n):
    n = np.uint64(n)
    hi, lo = r >> np.uint64(32), r & np.uint64(0xFFFFFFFF)
    return ((hi * n + ((lo * n) >> np.uint64(32))) >> np.uint64(32)).astype(np.int64)


def sign_vectors(key, B, G):
    """[B, G] signs: cluster c of flip b is negated when bit c % 64 of rng64(key, b ceil(G/64) + c // 64) is 1."""
    nw = (G + 63) // 64
    r = rng64(key, np.arange(B * nw, dtype=np.uint64).reshape(B, nw))
    c = np.arange(G)
    bits = (r[:, c // 64] >> (c % 64).astype(np.uint64)) & np.uint64(1)
    return np.where(bits == 1, -1.0, 1.0)


def bca(sums, cnt, key, B):
    """BCa 95% interval of sum(sums)/sum(cnt) from B resamples of the G clusters, those whose drawn cnt sum to 0
    left out (NaN where the C code
    reports a degenerate interval: a jackknife constant up to rounding, or the estimate outside every resample)."""
    sums, cnt = np.asarray(sums, float), np.asarray(cnt, float)
    G = sums.size
    if G < 2 or B == 0 or np.sum(cnt > 0) < 2:
        return np.nan, np.nan
    idx = below(rng64(key, np.arange(B * G, dtype=np.uint64).reshape(B, G)), G)
    idx = idx[cnt[idx].sum(axis=1) > 0]  # a resample that drew no cluster holding a value has no estimate
    theta_b = np.array([sum(sums[r].tolist()) / sum(cnt[r].tolist()) for r in idx])
    theta = sum(sums.tolist()) / sum(cnt.tolist())
    theta_b[np.abs(theta_b - theta) <= 1e-12 * abs(theta)] = theta  # ties up to the summation order (as the C code)
    jack = (sums.sum() - sums) / (cnt.sum() - cnt)
    frac = (np.sum(theta_b < theta) + np.sum(theta_b <= theta)) / (2 * theta_b.size)
    if np.sqrt(np.mean((jack.mean() - jack) ** 2)) <= 1e-12 * abs(jack.mean()) or frac in (0.0, 1.0):
        return np.nan, np.nan
    def stat(i, axis=-1):  # sequential sums (cumsum), as the C loop: the estimate is bit-identical to theta
        return np.cumsum(sums[i], axis=axis)[..., -1] / np.cumsum(cnt[i], axis=axis)[..., -1]

    a1, a2, _ = _bca_interval((np.arange(G),), stat, axis=-1, alpha=0.025, theta_hat_b=theta_b[None, :],
                              batch=None, xp=np)
    ci = stats.quantile(theta_b, np.array([float(np.squeeze(a1)), float(np.squeeze(a2))]))
    return float(ci[0]), float(ci[1])


def signflip(w, key, B):
    """Two-sided sign-flip p of sum(w): (p, method, sign vectors counted)."""
    G = w.size
    if G <= EXACT_G:
        pt = stats.permutation_test((w,), lambda x, axis=-1: np.sum(x, axis=axis), permutation_type="samples",
                                    n_resamples=np.inf, vectorized=True)
        return pt.pvalue, "exact", 2 ** G
    signs = sign_vectors(key, B, G)
    T = np.array([sum((s * w).tolist()) for s in signs])
    obs = sum(w.tolist())
    gam = abs(100 * np.finfo(float).eps * obs)
    pl, pg = (np.sum(T <= obs + gam) + 1) / (B + 1), (np.sum(T >= obs - gam) + 1) / (B + 1)
    return min(1.0, 2 * min(pl, pg)), "permutation", B


def ols_bca(X, y, g, j, key, B):
    """BCa 95% interval of OLS coefficient j of y on X from B resamples of the clusters g (dense ids), each
    refitted by numpy lstsq on the rows of the drawn clusters (the C code solves the normal equations); a
    resample with a rank-deficient X has no estimate and is left out. The jackknife refits without each
    cluster (scipy's own `_bca_interval`)."""
    X, y, g = np.asarray(X, float), np.asarray(y, float), np.asarray(g)
    G, k = int(g.max()) + 1, X.shape[1]
    if G < 2 or B == 0:
        return np.nan, np.nan
    rows_of = [np.flatnonzero(g == c) for c in range(G)]

    def fit(clusters):
        r = np.concatenate([rows_of[c] for c in np.asarray(clusters, np.int64)])
        Xr = X[r]
        if np.linalg.matrix_rank(Xr) < k:
            return np.nan
        return np.linalg.lstsq(Xr, y[r], rcond=None)[0][j]

    idx = below(rng64(key, np.arange(B * G, dtype=np.uint64).reshape(B, G)), G)
    theta_b = np.array([fit(r) for r in idx])
    theta_b = theta_b[~np.isnan(theta_b)]
    theta = fit(np.arange(G))
    theta_b[np.abs(theta_b - theta) <= 1e-12 * abs(theta)] = theta  # the tie rule of the C code
    frac = (np.sum(theta_b < theta) + np.sum(theta_b <= theta)) / (2 * theta_b.size)
    if frac in (0.0, 1.0):
        return np.nan, np.nan

    def stat(i, axis=-1):
        i = np.asarray(i)
        return np.apply_along_axis(fit, -1, i) if i.ndim > 1 else fit(i)

    a1, a2, _ = _bca_interval((np.arange(G),), stat, axis=-1, alpha=0.025, theta_hat_b=theta_b[None, :],
                              batch=None, xp=np)
    ci = stats.quantile(theta_b, np.array([float(np.squeeze(a1)), float(np.squeeze(a2))]))
    return float(ci[0]), float(ci[1])


KW_SMALL, KW_MAXN, KW_EXACT_MAX = 20, 5000, 100000  # LS_STATS_KRUSKAL_*


def _kw_h(rs, sizes, N, ties):
    ssbn = sum(float(r) * float(r) / n for r, n in zip(rs, sizes))
    return (12.0 / (N * (N + 1.0)) * ssbn - 3.0 * (N + 1.0)) / ties


def kruskal_perm(groups, key, B):
    """(H, p, method) of the reducer's Kruskal-Wallis: chi-square (scipy.stats.kruskal) unless a group holds
    <= 20 values (and N <= 5000): then exact over every distinct assignment (scipy.stats.permutation_test,
    permutation_type='independent', n_resamples=inf) when there are <= 100000, else the reducer's B random
    permutations reproduced here, p = (1 + #{H* >= H}) / (1 + B)."""
    from math import factorial
    groups = [np.asarray(g, float) for g in groups]
    sizes = [g.size for g in groups]
    N = sum(sizes)
    kw = stats.kruskal(*groups)
    if min(sizes) > KW_SMALL or N > KW_MAXN:
        return kw.statistic, kw.pvalue, "asymptotic"
    count = factorial(N)
    for n in sizes:
        count //= factorial(n)
    if count <= KW_EXACT_MAX and min(sizes) < 2:  # permutation_test needs 2 values a group: enumerate here
        from itertools import combinations
        r = stats.rankdata(np.concatenate(groups))

        def parts(idx, sz):
            if len(sz) == 1:
                yield [idx]
                return
            for comb in combinations(idx, sz[0]):
                rest = [i for i in idx if i not in comb]
                for tail in parts(rest, sz[1:]):
                    yield [list(comb)] + tail

        hs = np.array([stats.kruskal(*[r[p] for p in part]).statistic for part in parts(list(range(N)), sizes)])
        return kw.statistic, np.mean(hs >= kw.statistic - abs(100 * np.finfo(float).eps * kw.statistic)), "exact"
    if count <= KW_EXACT_MAX:
        pt = stats.permutation_test(groups, lambda *s, axis=-1: stats.kruskal(*s, axis=axis).statistic,
                                    permutation_type="independent", n_resamples=np.inf, alternative="greater",
                                    vectorized=True)
        return kw.statistic, pt.pvalue, "exact"
    if B == 0:
        return kw.statistic, kw.pvalue, "asymptotic"
    r = stats.rankdata(np.concatenate(groups))
    _, t = np.unique(r, return_counts=True)
    ties = 1.0 - float(np.sum(t.astype(float) ** 3 - t)) / (float(N) ** 3 - N)
    off = np.cumsum([0] + sizes)
    h = _kw_h([r[off[g]:off[g + 1]].sum() for g in range(len(sizes))], sizes, float(N), ties)
    thr = h - abs(100 * np.finfo(float).eps * h)
    gmax = int(np.argmax(sizes))
    m = N - sizes[gmax]
    a = np.tile(np.arange(N), (B, 1))
    rows = np.arange(B)
    draws = rng64(key, (np.arange(B, dtype=np.uint64)[:, None] * np.uint64(N) + np.arange(m, dtype=np.uint64)))
    for i in range(m):
        j = i + below(draws[:, i], N - i)
        ai, aj = a[rows, i].copy(), a[rows, j].copy()
        a[rows, i], a[rows, j] = aj, ai
    ge = 0
    total = N * (N + 1.0) / 2.0
    for b in range(B):
        rs, pos = [0.0] * len(sizes), 0
        for g, n in enumerate(sizes):
            if g == gmax:
                continue
            rs[g] = float(r[a[b, pos:pos + n]].sum())
            pos += n
        rs[gmax] = total - sum(rs[g] for g in range(len(sizes)) if g != gmax)
        ge += _kw_h(rs, sizes, float(N), ties) >= thr
    return h, (1.0 + ge) / (1.0 + B), "permutation"
