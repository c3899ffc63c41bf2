"""`logits-study reduce` against scipy.stats, recomputed from the same datasets.

A synthetic file (make_reduce_input.py: ties, tiny groups, a word that never
occurs, a word with constant occurrence probabilities, a word without a
single-token form in one model, samples without answer tokens) is reduced by
the binary; every column of every /summary table is then recomputed here from
the per-model datasets with numpy and scipy.stats (ttest_ind(equal_var=False),
mannwhitneyu, spearmanr, kruskal, wilcoxon, false_discovery_control) and
compared within 1e-9 relative or 1e-12 absolute. The same checks run on the
demo output (configs/demo.yaml on the three tiny demo models, `run` under
mpirun), whose /summary must also be identical for -np 1 and -np 3. The bootstrap CIs are
recomputed too: GSL's mt19937 is the reference Mersenne Twister that numpy's
MT19937 reproduces with legacy seeding, and gsl_rng_uniform_int is a rejection
loop written out below.

Binary: $LS_BINARY, else build/logits-study under the repository root.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_reduce_input  # noqa: E402
from clusterboot import bca, kruskal_perm  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("LS_BINARY", str(ROOT / "build" / "logits-study"))
REL, ABS = 1e-9, 1e-12
B, SEED, RESAMPLES = 200, 7, 2000

REASONS = ["ok", "too_few", "all_tied", "zero_variance", "nan_input", "bad_arg", "no_single_token_form"]
R = {n: i for i, n in enumerate(REASONS)}
METHODS = ["none", "asymptotic", "exact", "permutation"]
GROUPS = ["level1", "level2", "level3", "level4", "level5", "correct", "incorrect", "unknown", "all"]

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"binary {BIN} not built")


def close(a, b):
    a, b = float(a), float(b)
    if np.isnan(a) or np.isnan(b):
        return np.isnan(a) and np.isnan(b)
    return abs(a - b) <= ABS or abs(a - b) <= REL * max(abs(a), abs(b))


def check(what, got, want):
    assert close(got, want), f"{what}: reducer {got!r}, reference {want!r}"


def run(*args, ok=True):
    p = subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)
    if ok:
        assert p.returncode == 0, p.stderr
    return p


# ---- GSL's bootstrap, reproduced --------------------------------------------

def gsl_indices_exact(seed, n, count):
    """count draws of gsl_rng_uniform_int(r, n), r = gsl_rng_mt19937 after gsl_rng_set(r, seed)."""
    s = seed & 0xFFFFFFFFFFFFFFFF
    s = 4357 if s == 0 else s
    bg = np.random.MT19937(0)
    bg._legacy_seeding(s & 0xFFFFFFFF)
    scale = 0xFFFFFFFF // n
    raw = bg.random_raw(count + count // 4 + 64).astype(np.uint64) // np.uint64(scale)
    acc = raw[raw < n]
    while acc.size < count:  # rare: more rejections than the surplus, draw on from the same stream
        more = bg.random_raw(count).astype(np.uint64) // np.uint64(scale)
        acc = np.concatenate([acc, more[more < n]])
    return acc[:count].astype(np.int64)


def boot_ci(x, seed):
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2 or B == 0:
        return np.nan, np.nan
    idx = gsl_indices_exact(seed, n, B * n).reshape(B, n)
    means = np.array([sum(x[row].tolist()) / n for row in idx])  # sequential sum, as the C loop
    lo, hi = np.percentile(means, [2.5, 97.5])
    return lo, hi


def group_ci(members, samples, values, key):
    """BCa CI of the mean of values (value v belongs to sample samples[v]) resampling every cluster of
    members (the group's samples, clusters in id order: sample i is id -(i + 1), so the last comes first),
    holding values or not, as reduce.c."""
    order = np.asarray(members)[::-1]
    pos = np.full(int(order.max()) + 1 if order.size else 1, -1)
    pos[order] = np.arange(order.size)
    sums, cnt = np.zeros(order.size), np.zeros(order.size)
    for i, v in zip(samples, values):  # sequential, as the C loop
        sums[pos[i]] += v
        cnt[pos[i]] += 1.0
    return bca(sums, cnt, key, B)


def describe(x, seed):
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n == 0:
        return dict(mean=np.nan, median=np.nan, sd=np.nan, lo=np.nan, hi=np.nan, reason=R["too_few"])
    if not np.all(np.isfinite(x)):
        return dict(mean=np.nan, median=np.nan, sd=np.nan, lo=np.nan, hi=np.nan, reason=R["nan_input"])
    d = dict(mean=np.mean(x), median=np.median(x), sd=np.std(x, ddof=1) if n > 1 else np.nan, lo=np.nan,
             hi=np.nan, reason=R["ok"] if n > 1 else R["too_few"])
    if n > 1 and seed is not None:
        d["lo"], d["hi"] = boot_ci(x, seed)
    return d


# ---- the reference reduction ------------------------------------------------

class Ref:
    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.models = list(f.attrs["models"])
            self.words = list(f.attrs["target_words"])
            self.level = f["samples/level"][:].astype(int)
            self.correct = f["samples/is_correct"][:].astype(int)
            N, W = self.level.size, len(self.words)
            used = np.ones(N, bool)
            for m in self.models:
                used &= f[f"models/{m}/done"][:] == 1
            self.used = used
            self.m = []
            for m in self.models:
                g = f[f"models/{m}"]
                off, start = g["token_offset"][:], g["answer_start"][:]
                ent = g["entropy"][:].astype(np.float64)
                tlp = g["target_logprob"][:].astype(np.float64)
                colw = g["targets"]["word"][:]
                occ = g["occurrences"][:]
                n_ans = np.zeros(N, np.int64)
                ent_sum = np.zeros(N)
                prop_sum = np.zeros((N, W))
                for i in range(N):
                    if not used[i]:
                        continue
                    a, b = off[i] + start[i], off[i + 1]
                    n_ans[i] = b - a
                    ent_sum[i] = ent[a:b].sum()
                    pr = np.exp(tlp[a:b])
                    for w in range(W):
                        prop_sum[i, w] = pr[:, colw == w].sum()
                keep = used[occ["sample"]]
                occ = occ[keep]
                lp = np.where(occ["aligned"] != 0, occ["logprob"].astype(np.float64), np.nan)
                occ_ent = ent[off[occ["sample"]] + occ["position"]]
                occ_n = np.zeros((N, W), np.int64)
                np.add.at(occ_n, (occ["sample"], occ["word"]), 1)
                has = np.zeros(W, bool)
                has[colw] = True
                with np.errstate(invalid="ignore", divide="ignore"):
                    prop = np.where(n_ans[:, None] > 0, prop_sum / np.maximum(n_ans, 1)[:, None], np.nan)
                self.m.append(dict(n_ans=n_ans, ent_sum=ent_sum, prop_sum=prop_sum, prop=prop, occ_s=occ["sample"],
                                   occ_w=occ["word"], occ_lp=lp, occ_ent=occ_ent, occ_n=occ_n, has=has))

    def in_group(self, g):
        if g < 5:
            return self.used & (self.level == g + 1)
        c = self.correct
        return self.used & [c == 1, c == 0, (c != 0) & (c != 1), np.ones_like(c, bool)][g - 5]

    def values(self, mi, w, var, mask):
        m = self.m[mi]
        if var == 0:
            sel = mask & (m["n_ans"] > 0)
            return m["prop"][sel, w], self.level[sel]
        sel = (m["occ_w"] == w) & ~np.isnan(m["occ_lp"]) & mask[m["occ_s"]]
        return np.exp(m["occ_lp"][sel]), self.level[m["occ_s"][sel]]


def mpi_env():
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1")


def demo_run(d, np_):
    """configs/demo.yaml on the three tiny demo models, under mpirun -np np_; returns the file."""
    models = d / "models"
    if not models.exists():
        subprocess.run(["bash", str(ROOT / "scripts/make_demo_models.sh"), BIN, str(models)], check=True,
                       capture_output=True, cwd=ROOT)
    cfg = (ROOT / "configs/demo.yaml").read_text()
    cfg = cfg.replace("../build/demo-models", str(models)).replace("data: demo.jsonl",
                                                                   f"data: {ROOT / 'configs/demo.jsonl'}")
    # the reducer does not read /pairs; the pair stage would only add time
    cfg = "\n".join("pairs: none" if ln.startswith("pairs:") else ln for ln in cfg.split("\n"))
    (d / "demo.yaml").write_text(cfg)
    out = d / f"demo-np{np_}.h5"
    p = subprocess.run([shutil.which("mpirun"), "-np", str(np_), BIN, "run", str(d / "demo.yaml"), "--out", str(out),
                        "--threads", "1", "--quiet", "--device", "cpu", "--overwrite"],
                       capture_output=True, text=True, env=mpi_env(), timeout=600)
    assert p.returncode == 0, p.stderr
    return str(out)


def have_demo():
    return shutil.which("mpirun") and (ROOT / "scripts/make_demo_models.sh").exists() and \
        (ROOT / "configs/demo.yaml").exists()


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    if not have_demo():
        pytest.skip("no mpirun or demo config: demo checks skipped")
    d = tmp_path_factory.mktemp("demo")
    return demo_run(d, 1), demo_run(d, 3)


def test_demo_run_summary_same_at_np1_and_np3(demo_files):
    """The run command's own /summary (config bootstrap and seed) is identical for -np 1 and -np 3."""
    a, b = demo_files
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert fa.attrs["complete"] == 1 and fb.attrs["complete"] == 1
        assert fa["summary"].attrs["bootstrap"] == 10000
        for k in ("groups", "correctness", "levels", "model_pairs"):
            x, y = fa[f"summary/{k}"][:], fb[f"summary/{k}"][:]
            assert x.size > 0 and x.tobytes() == y.tobytes(), k


@pytest.fixture(scope="module", params=["synthetic", "demo"])
def reduced(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("reduce")
    if request.param == "synthetic":
        path = make_reduce_input.make(str(d / "synthetic.h5"), seed=3, n_samples=48)
    else:
        src = request.getfixturevalue("demo_files")[0]
        path = str(d / "demo.h5")
        shutil.copy(src, path)
    run("reduce", path, "--bootstrap", B, "--resamples", RESAMPLES, "--seed", SEED, "--quiet")
    with h5py.File(path, "r") as f:
        s = {k: f[f"summary/{k}"][:] for k in ("groups", "correctness", "levels", "model_pairs")}
        s["reason_names"] = [x.decode() for x in f["summary/reason_names"][:]]
        s["method_names"] = [x.decode() for x in f["summary/method_names"][:]]
        s["group_names"] = [x.decode() for x in f["summary/group_names"][:]]
    return path, Ref(path), s


def test_name_tables(reduced):
    _, _, s = reduced
    assert s["reason_names"] == REASONS
    assert s["method_names"] == METHODS
    assert s["group_names"] == GROUPS


def test_groups(reduced):
    _, ref, s = reduced
    rows = s["groups"]
    W = len(ref.words)
    assert rows.size == len(ref.models) * W * len(GROUPS)
    for r, row in enumerate(rows):
        mi, w, g = int(row["model"]), int(row["word"]), int(row["group"])
        assert (mi, w, g) == (r // (W * 9), (r // 9) % W, r % 9)
        m, mask = ref.m[mi], ref.in_group(g)
        tag = f"{ref.models[mi]}/{ref.words[w]}/{GROUPS[g]}"
        assert row["n_samples"] == mask.sum(), tag
        toks = m["n_ans"][mask].sum()
        assert row["answer_tokens"] == toks, tag
        occ = m["occ_n"][mask, w].sum()
        assert row["occurrences"] == occ, tag
        check(f"{tag} per_1k", row["per_1k"], 1000 * occ / toks if toks else np.nan)
        check(f"{tag} share", row["share_containing"], (m["occ_n"][mask, w] > 0).mean() if mask.any() else np.nan)
        check(f"{tag} entropy_all", row["entropy_all_mean"], m["ent_sum"][mask].sum() / toks if toks else np.nan)
        osel = (m["occ_w"] == w) & mask[m["occ_s"]]
        lp = m["occ_lp"][osel]
        lp = lp[~np.isnan(lp)]
        assert row["occurrences_aligned"] == lp.size, tag
        key = SEED + 16 * g + 5  # one stream per group, shared by models, words and variables
        members = np.flatnonzero(mask)
        occ_s = m["occ_s"][osel]
        aligned = ~np.isnan(m["occ_lp"][osel])
        for k, (col, x) in enumerate([("logprob", lp), ("prob", np.exp(lp))]):
            d = describe(x, None)
            for f in ("mean", "median", "sd"):
                check(f"{tag} {col}_{f}", row[f"{col}_{f}"], d[f])
            assert row[f"{col}_reason"] == d["reason"], tag
            lo, hi = group_ci(members, occ_s[aligned], x, key) if d["reason"] == 0 else (np.nan, np.nan)
            check(f"{tag} {col}_ci_lo", row[f"{col}_ci_lo"], lo)
            check(f"{tag} {col}_ci_hi", row[f"{col}_ci_hi"], hi)
        d = describe(m["occ_ent"][osel], None)
        check(f"{tag} entropy_occ_mean", row["entropy_occ_mean"], d["mean"])
        lo, hi = group_ci(members, occ_s, m["occ_ent"][osel], key) if d["reason"] == 0 else (np.nan, np.nan)
        check(f"{tag} entropy_occ_ci_lo", row["entropy_occ_ci_lo"], lo)
        check(f"{tag} entropy_occ_ci_hi", row["entropy_occ_ci_hi"], hi)
        assert row["entropy_occ_reason"] == d["reason"], tag
        pv, _ = ref.values(mi, w, 0, mask)
        assert row["propensity_n"] == pv.size, tag
        if not m["has"][w]:
            assert row["propensity_reason"] == R["no_single_token_form"], tag
            assert np.isnan(row["propensity_mean"]) and np.isnan(row["propensity_sample_mean"]), tag
            continue
        check(f"{tag} propensity_mean", row["propensity_mean"], m["prop_sum"][mask, w].sum() / toks if toks else np.nan)
        d = describe(pv, None)
        for f, c in (("mean", "sample_mean"), ("median", "sample_median"), ("sd", "sample_sd")):
            check(f"{tag} propensity_{c}", row[f"propensity_{c}"], d[f])
        psel = np.flatnonzero(mask & (m["n_ans"] > 0))
        lo, hi = group_ci(members, psel, m["prop"][psel, w], key) if d["reason"] == 0 else (np.nan, np.nan)
        check(f"{tag} propensity_ci_lo", row["propensity_ci_lo"], lo)
        check(f"{tag} propensity_ci_hi", row["propensity_ci_hi"], hi)
        assert row["propensity_reason"] == d["reason"], tag


def welch_ref(a, b):
    if a.size < 2 or b.size < 2:
        return np.nan, np.nan, np.nan, R["too_few"]
    if np.all(a == a[0]) and np.all(b == b[0]):
        return np.nan, np.nan, np.nan, R["zero_variance"]  # scipy: t from numpy's rounding residue
    t = stats.ttest_ind(a, b, equal_var=False)
    return t.statistic, t.pvalue, t.df, R["ok"]


def mwu_ref(a, b):
    if a.size == 0 or b.size == 0:
        return np.nan, np.nan, np.nan, R["too_few"]
    if np.all(np.concatenate([a, b]) == a[0]):
        return np.nan, np.nan, np.nan, R["all_tied"]  # scipy: U = na nb / 2, p = 1
    u = stats.mannwhitneyu(a, b, alternative="two-sided")
    return u.statistic, u.pvalue, 2 * u.statistic / (a.size * b.size) - 1, R["ok"]


def cohen_ref(a, b):
    if a.size == 0 or b.size == 0 or a.size + b.size < 3:
        return np.nan, R["too_few"]
    ss = (0 if np.all(a == a[0]) else ((a - a.mean()) ** 2).sum()) + \
         (0 if np.all(b == b[0]) else ((b - b.mean()) ** 2).sum())
    sp = np.sqrt(ss / (a.size + b.size - 2))
    if sp == 0:
        return np.nan, R["zero_variance"]
    return (a.mean() - b.mean()) / sp, R["ok"]


def bh_check(rows, pcol, qcol, families):
    for fam in families:
        p = np.array([rows[i][pcol] for i in fam], dtype=np.float64)
        q = np.array([rows[i][qcol] for i in fam], dtype=np.float64)
        ok = ~np.isnan(p)
        assert np.array_equal(np.isnan(q), ~ok)
        if ok.sum() > 1:
            want = stats.false_discovery_control(p[ok], method="bh")
        else:
            want = p[ok]
        for g, w in zip(q[ok], want):
            check(f"BH {qcol}", g, w)


def test_correctness(reduced):
    _, ref, s = reduced
    rows = s["correctness"]
    W = len(ref.words)
    assert rows.size == len(ref.models) * W * 2
    n_ok = 0
    for r, row in enumerate(rows):
        mi, w, var = int(row["model"]), int(row["word"]), int(row["variable"])
        assert (mi, w, var) == (r // (W * 2), (r // 2) % W, r % 2)
        tag = f"{ref.models[mi]}/{ref.words[w]}/var{var}"
        a, _ = ref.values(mi, w, var, ref.in_group(5))
        b, _ = ref.values(mi, w, var, ref.in_group(6))
        assert (row["n_correct"], row["n_incorrect"]) == (a.size, b.size), tag
        if var == 0 and not ref.m[mi]["has"][w]:
            assert row["welch_reason"] == row["mwu_reason"] == R["no_single_token_form"], tag
            assert np.isnan(row["welch_p"]) and np.isnan(row["mwu_p"]), tag
            continue
        check(f"{tag} mean_correct", row["mean_correct"], a.mean() if a.size else np.nan)
        check(f"{tag} mean_incorrect", row["mean_incorrect"], b.mean() if b.size else np.nan)
        t, p, df, reason = welch_ref(a, b)
        assert row["welch_reason"] == reason, tag
        check(f"{tag} welch_t", row["welch_t"], t)
        check(f"{tag} welch_p", row["welch_p"], p)
        check(f"{tag} welch_df", row["welch_df"], df)
        u, p, rb, reason = mwu_ref(a, b)
        assert row["mwu_reason"] == reason, tag
        check(f"{tag} mwu_u", row["mwu_u"], u)
        check(f"{tag} mwu_p", row["mwu_p"], p)
        check(f"{tag} rank_biserial", row["rank_biserial"], rb)
        d, reason = cohen_ref(a, b)
        assert row["cohen_d_reason"] == reason, tag
        check(f"{tag} cohen_d", row["cohen_d"], d)
        n_ok += row["welch_reason"] == 0
    assert n_ok >= 6  # the data exercise real tests, not only degenerate ones
    fams = [[(mi * W + w) * 2 + var for w in range(W)] for mi in range(len(ref.models)) for var in range(2)]
    bh_check(rows, "welch_p", "welch_q", fams)
    bh_check(rows, "mwu_p", "mwu_q", fams)


def spearman_stat(x, y, axis=-1):
    rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return (rx * ry).sum(axis=axis) / np.sqrt((rx * rx).sum(axis=axis) * (ry * ry).sum(axis=axis))


def test_levels(reduced):
    _, ref, s = reduced
    rows = s["levels"]
    W = len(ref.words)
    lv_mask = ref.used & (ref.level >= 1) & (ref.level <= 5)
    for r, row in enumerate(rows):
        mi, w, var = int(row["model"]), int(row["word"]), int(row["variable"])
        assert (mi, w, var) == (r // (W * 2), (r // 2) % W, r % 2)
        tag = f"{ref.models[mi]}/{ref.words[w]}/var{var}"
        v, lev = ref.values(mi, w, var, lv_mask)
        assert row["n"] == v.size, tag
        groups = [v[lev == L] for L in range(1, 6)]
        assert list(row["n_by_level"]) == [g.size for g in groups], tag
        if var == 0 and not ref.m[mi]["has"][w]:
            assert row["spearman_reason"] == row["kruskal_reason"] == R["no_single_token_form"], tag
            continue
        for L in range(5):
            check(f"{tag} mean L{L + 1}", row["mean_by_level"][L], groups[L].mean() if groups[L].size else np.nan)
        if v.size < 3:
            want = (np.nan, np.nan, R["too_few"])
        elif np.all(v == v[0]) or np.all(lev == lev[0]):
            want = (np.nan, np.nan, R["all_tied"])
        elif v.size <= 9:  # exact: every pairing (LS_STATS_SPEARMAN_EXACT_N)
            sp = stats.spearmanr(lev, v)
            pt = stats.permutation_test((v,), lambda y, axis=-1: spearman_stat(np.broadcast_to(lev, y.shape), y, axis),
                                        permutation_type="pairings", n_resamples=np.inf, vectorized=True)
            want = (sp.statistic, pt.pvalue, R["ok"])
        else:
            sp = stats.spearmanr(lev, v)
            want = (sp.statistic, sp.pvalue, R["ok"])
        assert row["spearman_reason"] == want[2], tag
        check(f"{tag} rho", row["spearman_rho"], want[0])
        check(f"{tag} spearman_p", row["spearman_p"], want[1])
        ne = [g for g in groups if g.size]
        if len(ne) < 2:
            want = (np.nan, np.nan, np.nan, R["too_few"])
        elif np.all(v == v[0]):
            want = (np.nan, np.nan, np.nan, R["all_tied"])
        else:  # a level of <= 20 values: permutation p (exact or B random), key seed + 16 r + 7
            h, p, method = kruskal_perm(ne, SEED + 16 * r + 7, RESAMPLES)
            want = (h, p, len(ne) - 1, R["ok"])
            assert row["kruskal_method"] == METHODS.index(method), tag
        assert row["kruskal_reason"] == want[3], tag
        check(f"{tag} H", row["kruskal_h"], want[0])
        check(f"{tag} kruskal_p", row["kruskal_p"], want[1])
        check(f"{tag} kruskal_df", row["kruskal_df"], want[2])
    fams = [[(mi * W + w) * 2 + var for w in range(W)] for mi in range(len(ref.models)) for var in range(2)]
    bh_check(rows, "spearman_p", "spearman_q", fams)
    bh_check(rows, "kruskal_p", "kruskal_q", fams)


def test_model_pairs(reduced):
    _, ref, s = reduced
    rows = s["model_pairs"]
    W, M = len(ref.words), len(ref.models)
    pairs = [(a, b) for a in range(M) for b in range(a + 1, M)]
    assert rows.size == len(pairs) * W
    for r, row in enumerate(rows):
        a, b = pairs[r // W]
        w = r % W
        assert (row["model_a"], row["model_b"], row["word"]) == (a, b, w)
        tag = f"{ref.models[a]}-{ref.models[b]}/{ref.words[w]}"
        ma, mb = ref.m[a], ref.m[b]
        sel = ref.used & (ma["n_ans"] > 0) & (mb["n_ans"] > 0)
        x, y = ma["prop"][sel, w], mb["prop"][sel, w]
        assert row["n_pairs"] == x.size, tag
        if not (ma["has"][w] and mb["has"][w]):
            assert row["wilcoxon_reason"] == row["diff_reason"] == R["no_single_token_form"], tag
            continue
        d = describe(x - y, None)
        if d["reason"] == 0:  # BCa over the pair's clusters, one stream per pair (key seed + 16 k + 4)
            d["lo"], d["hi"] = group_ci(np.flatnonzero(sel), np.flatnonzero(sel), x - y, SEED + 16 * (r // W) + 4)
        for f, c in (("mean", "diff_mean"), ("median", "diff_median"), ("sd", "diff_sd"), ("lo", "diff_ci_lo"),
                     ("hi", "diff_ci_hi")):
            check(f"{tag} {c}", row[c], d[f])
        check(f"{tag} mean_a", row["mean_a"], x.mean())
        check(f"{tag} mean_b", row["mean_b"], y.mean())
        if np.all(x == y):
            assert row["wilcoxon_reason"] == R["all_tied"]
            continue
        wx = stats.wilcoxon(x, y)
        assert row["wilcoxon_reason"] == 0, tag
        check(f"{tag} W", row["wilcoxon_w"], wx.statistic)
        check(f"{tag} wilcoxon_p", row["wilcoxon_p"], wx.pvalue)
        dd = x - y
        dd = dd[dd != 0]
        rk = stats.rankdata(np.abs(dd))
        rp, rm = rk[dd > 0].sum(), rk[dd < 0].sum()
        check(f"{tag} r", row["wilcoxon_r"], (rp - rm) / (rp + rm))
    bh_check(rows, "wilcoxon_p", "wilcoxon_q", [[k * W + w for w in range(W)] for k in range(len(pairs))])


def test_tiny_file_small_wilcoxon(tmp_path):
    """12 samples: exact Mann-Whitney, exact / permutation Wilcoxon, groups of 0-2 samples."""
    path = make_reduce_input.make(str(tmp_path / "tiny.h5"), seed=11, n_samples=12)
    run("reduce", path, "--bootstrap", 0, "--quiet")
    ref = Ref(path)
    with h5py.File(path, "r") as f:
        pr = f["summary/model_pairs"][:]
        cr = f["summary/correctness"][:]
        gr = f["summary/groups"][:]
    assert np.all(np.isnan(gr["prob_ci_lo"])) and np.all(np.isnan(gr["propensity_ci_hi"]))  # B = 0: no CIs
    W = len(ref.words)
    methods = set()
    for r, row in enumerate(pr):
        a, b = [(0, 1), (0, 2), (1, 2)][r // W]
        w = r % W
        ma, mb = ref.m[a], ref.m[b]
        if not (ma["has"][w] and mb["has"][w]):
            continue
        sel = ref.used & (ma["n_ans"] > 0) & (mb["n_ans"] > 0)
        wx = stats.wilcoxon(ma["prop"][sel, w], mb["prop"][sel, w])
        check("tiny W", row["wilcoxon_w"], wx.statistic)
        check("tiny wilcoxon p", row["wilcoxon_p"], wx.pvalue)
        methods.add(METHODS[row["wilcoxon_method"]])
    assert "exact" in methods or "permutation" in methods
    for row in cr:
        if row["mwu_reason"] == 0:
            methods.add("mwu-" + METHODS[row["mwu_method"]])
    assert "mwu-exact" in methods


def test_small_levels_kruskal_exact(tmp_path):
    """8 samples: levels of 1-2 values, so Kruskal-Wallis enumerates every assignment (scipy permutation_test)."""
    path = make_reduce_input.make(str(tmp_path / "k8.h5"), seed=4, n_samples=8)
    run("reduce", path, "--bootstrap", 0, "--resamples", 50, "--seed", SEED, "--quiet")
    ref = Ref(path)
    with h5py.File(path, "r") as f:
        rows = f["summary/levels"][:]
    lv_mask = ref.used & (ref.level >= 1) & (ref.level <= 5)
    n_exact = 0
    for r, row in enumerate(rows):
        v, lev = ref.values(int(row["model"]), int(row["word"]), int(row["variable"]), lv_mask)
        ne = [v[lev == L] for L in range(1, 6) if (lev == L).any()]
        if row["kruskal_reason"] != 0:
            continue
        h, p, method = kruskal_perm(ne, SEED + 16 * r + 7, 50)
        assert row["kruskal_method"] == METHODS.index(method), r
        check(f"row {r} H", row["kruskal_h"], h)
        check(f"row {r} kruskal_p", row["kruskal_p"], p)
        assert row["kruskal_p"] > 0
        n_exact += method == "exact"
    assert n_exact > 0


def test_deterministic_and_world_size_independent(tmp_path):
    p1 = make_reduce_input.make(str(tmp_path / "a.h5"), seed=5, n_samples=30)
    p2 = str(tmp_path / "b.h5")
    shutil.copy(p1, p2)
    run("reduce", p1, "--bootstrap", 50, "--quiet")
    run("reduce", p1, "--bootstrap", 50, "--quiet")  # re-reduce replaces /summary
    mpirun = shutil.which("mpirun")
    if mpirun:
        p = subprocess.run([mpirun, "-np", "3", BIN, "reduce", p2, "--bootstrap", "50", "--quiet"],
                           capture_output=True, text=True, env=mpi_env(), timeout=300)
        assert p.returncode == 0, p.stderr
    else:
        run("reduce", p2, "--bootstrap", 50, "--quiet")
    with h5py.File(p1, "r") as a, h5py.File(p2, "r") as b:
        for k in ("groups", "correctness", "levels", "model_pairs"):
            x, y = a[f"summary/{k}"][:], b[f"summary/{k}"][:]
            assert x.tobytes() == y.tobytes(), k
        assert a.attrs["complete"] == 1


def test_incomplete_file(tmp_path):
    path = make_reduce_input.make(str(tmp_path / "killed.h5"), seed=2, n_samples=20, not_done=4)
    p = run("reduce", path, "--quiet", ok=False)
    assert p.returncode == 1
    assert "4 of 20 samples are not done" in p.stderr and "--allow-incomplete" in p.stderr
    with h5py.File(path, "a") as f:
        f.attrs["complete"] = 0
    p = run("reduce", path, "--quiet", "--allow-incomplete", "--bootstrap", 10)
    assert "marked incomplete" in p.stderr
    ref = Ref(path)
    assert ref.used.sum() == 16
    with h5py.File(path, "r") as f:
        assert f["summary"].attrs["samples_left_out"] == 4
        g = f["summary/groups"][:]
        assert f.attrs["complete"] == 0  # reduce never marks a file complete
    allrow = g[(g["model"] == 0) & (g["word"] == 0) & (g["group"] == 8)][0]
    assert allrow["n_samples"] == 16


def test_inspect(reduced):
    path, ref, _ = reduced
    if ref.models != ["base", "sft", "rl"]:
        pytest.skip("the text checks below are written for the synthetic file")
    p = run("inspect", path, "--word", "so", "--model", "sft")
    out = p.stdout
    assert "== model sft" in out and "== model base" not in out
    assert '-- sft / "so"' in out and '"wait"' not in out
    assert "primary results significant after Benjamini-Hochberg" in out
    import json
    j = json.loads(run("inspect", path, "--json").stdout)
    assert len(j["groups"]) == len(ref.models) * len(ref.words) * 9
    assert j["groups"][0]["model"] == "base" and j["groups"][0]["group"] == "level1"
    assert j["metadata"]["models"] == ["base", "sft", "rl"]
    with h5py.File(path, "r") as f:
        pr = f["summary/primary"][:]
        # only eligible primary results enter the list (one BH family)
        assert len(j["significant"]) == int(np.sum((pr["q"] < 0.05) & (pr["eligible"] == 1)))
        assert len(j["primary"]) == pr.size and j["primary"][0]["test"] == "pair_effect"
    assert out.index("== primary tests") < out.index("== model sft")
    assert run("inspect", path, "--word", "nope", ok=False).returncode == 2


def test_layout_doc_lists_every_summary_path(reduced):
    """Every path under /summary is in docs/hdf5-layout.md's table with its shape and dtype, and back."""
    path, ref, _ = reduced
    check_layout_doc(path, len(ref.models), len(ref.words))


def check_layout_doc(path, L, W):
    import re
    doc = (ROOT / "docs/hdf5-layout.md").read_text()
    rows = re.findall(r"^\| `(/summary/[^`]+)` \| \[([^\]]*)\] \| ([^|]+?) \|", doc, flags=re.M)
    assert rows, "no /summary rows in docs/hdf5-layout.md"
    env = dict(L=L, W=W, P=L * (L - 1) // 2, R=len(REASONS), Q=3)
    found, section = {}, {}
    with h5py.File(path, "r") as f:
        f["summary"].visititems(lambda name, obj: found.__setitem__("/summary/" + name, obj)
                                if isinstance(obj, h5py.Dataset) else None)
        documented = {}
        for p, shape, dtype in rows:  # pairs and lens: one per group the file holds (docs/pairs.md)
            if "<" not in p:
                documented[p] = (eval(shape.replace("·", "*"), {}, env), dtype.strip())
                section[p] = p
                continue
            pat = re.escape(p).replace(re.escape("<a>__<b>"), "[^/]+__[^/]+").replace(re.escape("<m>"), "[^/]+")
            for q in found:
                if re.fullmatch(pat, q):
                    D = int(f[q].attrs["depths"]) if "depths" in f[q].attrs else 0
                    documented[q] = (None if shape == "n" else eval(shape.replace("·", "*"), {}, dict(env, D=D)),
                                     dtype.strip())
                    section[q] = p
        assert set(found) == set(documented), (set(found) ^ set(documented))
        for p, ds in found.items():
            n, dtype = documented[p]
            assert ds.shape == (n,) or (n is None and ds.ndim == 1), f"{p}: shape {ds.shape}, documented [{n}]"
            want = "compound" if ds.dtype.names else "string (fixed)" if ds.dtype.kind == "S" else str(ds.dtype)
            assert dtype == want, f"{p}: dtype {want}, documented {dtype}"
            assert "description" in ds.attrs and "unit" in ds.attrs, p
            if ds.dtype.names:  # every column is described in the table's "Columns of" section
                sec = doc.split(f"### Columns of `{section[p]}`", 1)
                assert len(sec) == 2, f"{p}: no column section"
                cols = set()
                for cell in re.findall(r"^\| ([a-z_0-9, ]+) \|", sec[1].split("\n### ", 1)[0], flags=re.M):
                    names = [c.strip() for c in cell.split(",")]
                    base = names[0].rsplit("_", 1)[0]
                    cols |= {base + c if c.startswith("_") else c for c in names}
                assert set(ds.dtype.names) <= cols, f"{p}: undocumented columns {set(ds.dtype.names) - cols}"
