"""`logits-study reduce` on model pairs and the logit lens (/summary/pairs,
/summary/lens; docs/pairs.md) against numpy/scipy, recomputed from the raw
datasets /pairs/<a>__<b>/* and /models/<m>/lens_* of a synthetic file
(make_reduce_input.py --pairs, the layout `run` writes):

  token_shift            the reference of tests/stats/make_pair_reduce_fixtures.py over all tokens, then the
                         top and bottom 100 (GSL mt19937 cluster bootstrap reproduced with numpy's MT19937)
  occurrence_divergence  per-sample near / other means written out here; scipy.stats.wilcoxon; the
                         percentile bootstrap of the mean difference as in test_reduce_scipy.py
  word_shift, lens       ratio means over clusters; BCa through tests/python/clusterboot.py (scipy's own
                         _bca_interval)

within 1e-9 relative (1e-12 absolute). Also: a pair with complete = 0 and a
model without lens datasets are left out, a file without pairs gets no
/summary/pairs, and `inspect` shows the section (text and --json).
"""
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "stats"))
import make_reduce_input  # noqa: E402
from clusterboot import bca  # noqa: E402
from make_pair_reduce_fixtures import token_shift as token_shift_ref  # noqa: E402
from test_reduce_scipy import BIN, METHODS, R, check, check_layout_doc, describe, run  # noqa: E402

B, SEED = 200, 7  # the bootstrap of test_reduce_scipy.describe
MIN_COUNT, TOP, BEFORE = 10, 100, 3
PAIR_OFF, LENS_OFF = 1000003, 2000003
P_FLOOR = 2.2250738585072014e-308
M64 = (1 << 64) - 1

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"binary {BIN} not built")


class PairRef:
    """What the reducer reads for pair (a, b): model a's offsets, tokens and occurrences, the pair datasets."""

    def __init__(self, f, a, b):
        self.models = list(f.attrs["models"])
        self.words = list(f.attrs["target_words"])
        N = f["samples/level"].shape[0]
        used = np.ones(N, bool)
        for m in self.models:
            used &= f[f"models/{m}/done"][:] == 1
        g, p = f[f"models/{a}"], f[f"pairs/{a}__{b}"]
        self.off, self.start = g["token_offset"][:], g["answer_start"][:]
        self.tokens, self.occ = g["tokens"][:], g["occurrences"][:]
        self.level, self.correct = f["samples/level"][:], f["samples/is_correct"][:]
        n_ans = np.diff(self.off) - self.start
        self.unit = used & (p["done"][:] == 1) & (n_ans > 0)
        pid = f["samples/problem_id"][:] if "samples/problem_id" in f else np.full(N, -1)
        ids = np.where(pid >= 0, pid, -(np.arange(N) + 1))
        uniq = np.unique(ids[self.unit])
        self.cl = np.full(N, -1)
        self.cl[self.unit] = np.searchsorted(uniq, ids[self.unit])
        self.G = uniq.size
        self.data = {k: p[k][:] for k in ("dlogprob", "kl_ab", "kl_ba", "js")}
        self.N = N

    def answer(self, i):
        return range(int(self.off[i] + self.start[i]), int(self.off[i + 1]))


def pair_seed(k, r):
    return (SEED + PAIR_OFF * (k + 1) + r) & M64


@pytest.fixture(scope="module")
def pairfile(tmp_path_factory):
    d = tmp_path_factory.mktemp("pairs")
    path = make_reduce_input.make(str(d / "pairs.h5"), seed=4, n_samples=48, problem_size=3, pairs=True)
    run("reduce", path, "--bootstrap", B, "--seed", SEED, "--quiet")
    return path


def pairs_in(f):
    return [k for k in f["summary/pairs"]] if "summary/pairs" in f else []


def test_pairs_present_and_complete_only(pairfile):
    with h5py.File(pairfile, "r") as f:
        assert pairs_in(f) == ["base__sft", "sft__rl"]  # base__rl has complete = 0
        assert sorted(f["summary/lens"]) == ["base", "sft"]  # rl has no lens datasets
        for name in pairs_in(f):
            g = f[f"summary/pairs/{name}"]
            a, b = name.split("__")
            assert g.attrs["model_a"] == a and g.attrs["model_b"] == b
            assert g.attrs["before"] == BEFORE and g.attrs["min_count"] == MIN_COUNT and g.attrs["top"] == TOP
            assert g.attrs["unit"] == "problem"
            assert "descriptive" in g.attrs["description"]
            assert list(g["occurrence_divergence"].attrs["metric_names"]) == ["kl_ab", "kl_ba", "js"]


def check_token_shift(f, name, k, n_boot=B):
    a, b = name.split("__")
    ref = PairRef(f, a, b)
    tok, dlp, smp = [], [], []
    for i in range(ref.N):
        if ref.unit[i]:
            for p in ref.answer(i):
                tok.append(ref.tokens[p])
                dlp.append(ref.data["dlogprob"][p])
                smp.append(ref.cl[i])
    want = token_shift_ref(tok, dlp, smp, ref.G, MIN_COUNT, n_boot, pair_seed(k, 0))
    if len(want) > 2 * TOP:
        want = want[:TOP] + want[-TOP:]
    got = f[f"summary/pairs/{name}/token_shift"][:]
    assert got.size == len(want), name
    for g, w in zip(got, want):
        tag = f"{name} token {w['token']}"
        assert (g["token"], g["count"], g["nsamples"]) == (w["token"], w["count"], w["nsamples"]), tag
        for c in ("mean", "ci_lo", "ci_hi"):
            check(f"{tag} {c}", g[c], w[c])
    assert np.all(got["mean"][:-1] >= got["mean"][1:])
    assert np.all(got["count"] >= MIN_COUNT)
    return got


def test_layout_doc_lists_pair_and_lens_tables(pairfile):
    """docs/hdf5-layout.md's /summary rows and column sections cover /summary/pairs and /summary/lens."""
    with h5py.File(pairfile, "r") as f:
        L, W = len(f.attrs["models"]), len(f.attrs["target_words"])
    check_layout_doc(pairfile, L, W)


def test_token_shift(pairfile):
    with h5py.File(pairfile, "r") as f:
        for k, name in enumerate(pairs_in(f)):
            got = check_token_shift(f, name, k)
            assert got.size > 5 and np.all(got["text"] == b"")  # no tokenizer path recorded: ids only


def test_token_shift_keeps_top_and_bottom(tmp_path):
    """More than 200 tokens with >= 10 positions: the first 100 and the last 100 by mean are kept, and their
    intervals are those of the bootstrap over every token (the draws depend on the clusters alone)."""
    path = make_reduce_input.make(str(tmp_path / "big.h5"), seed=8, n_samples=400, pairs=True, vocab=260)
    run("reduce", path, "--bootstrap", 30, "--seed", SEED, "--quiet")
    with h5py.File(path, "r") as f:
        got = check_token_shift(f, "base__sft", 0, n_boot=30)
    assert got.size == 2 * TOP


def near_other(ref, div):
    near, other = np.full(ref.N, np.nan), np.full(ref.N, np.nan)
    starts = {}
    for o in ref.occ:
        starts.setdefault(int(o["sample"]), set()).add(int(o["position"]))
    for i in range(ref.N):
        if not ref.unit[i]:
            continue
        s = starts.get(i, set())
        xn, xo = [], []
        for p in ref.answer(i):
            v = div[p]
            if np.isnan(v):
                continue
            q = p - ref.off[i]
            (xn if any(q <= t <= q + BEFORE for t in s) else xo).append(float(v))
        near[i] = np.mean(xn) if xn else np.nan
        other[i] = np.mean(xo) if xo else np.nan
    return near, other


def test_occurrence_divergence(pairfile):
    with h5py.File(pairfile, "r") as f:
        for k, name in enumerate(pairs_in(f)):
            ref = PairRef(f, *name.split("__"))
            rows = f[f"summary/pairs/{name}/occurrence_divergence"][:]
            assert rows.size == 3 * 6 * 3
            seen_method = set()
            for mt, metric in enumerate(("kl_ab", "kl_ba", "js")):
                near, other = near_other(ref, ref.data[metric])
                for li, L in enumerate(range(6)):
                    for ci, c in enumerate((-1, 1, 0)):
                        r = (mt * 6 + li) * 3 + ci
                        row = rows[r]
                        tag = f"{name} {metric} level {L} correct {c}"
                        assert (row["metric"], row["level"], row["correct"]) == (mt, L, c), tag
                        g = ref.unit & ~np.isnan(near) & ~np.isnan(other)
                        if L:
                            g &= ref.level == L
                        if c >= 0:
                            g &= ref.correct == c
                        x, y = near[g], other[g]
                        assert row["n"] == x.size, tag
                        if x.size == 0:
                            assert np.isnan(row["mean_near"]) and row["wilcoxon_reason"] == R["too_few"], tag
                            continue
                        check(f"{tag} mean_near", row["mean_near"], x.mean())
                        check(f"{tag} mean_other", row["mean_other"], y.mean())
                        d = describe(x - y, pair_seed(k, 1 + r))
                        for fk, col in (("mean", "diff_mean"), ("median", "diff_median"), ("sd", "diff_sd"),
                                        ("lo", "diff_ci_lo"), ("hi", "diff_ci_hi")):
                            check(f"{tag} {col}", row[col], d[fk])
                        if np.all(x == y):
                            assert row["wilcoxon_reason"] == R["all_tied"], tag
                            continue
                        wx = stats.wilcoxon(x, y)
                        assert row["wilcoxon_reason"] == 0, tag
                        check(f"{tag} W", row["wilcoxon_w"], wx.statistic)
                        check(f"{tag} p", row["wilcoxon_p"], max(wx.pvalue, P_FLOOR))
                        assert row["wilcoxon_p"] > 0, tag
                        dd = (x - y)[x != y]
                        rk = stats.rankdata(np.abs(dd))
                        rp, rm = rk[dd > 0].sum(), rk[dd < 0].sum()
                        check(f"{tag} r", row["wilcoxon_r"], (rp - rm) / (rp + rm))
                        seen_method.add(METHODS[row["wilcoxon_method"]])
            assert seen_method & {"exact", "permutation"}


def cluster_sums(cl, vals, G):
    sums, cnt = np.zeros(G), np.zeros(G)
    for c, v in zip(cl, vals):  # in row order, as the C loop
        sums[c] += v
        cnt[c] += 1.0
    keep = cnt > 0
    return sums[keep], cnt[keep]


def test_word_shift(pairfile):
    with h5py.File(pairfile, "r") as f:
        primary = f["summary/primary"][:]
        models = list(f.attrs["models"])
        for k, name in enumerate(pairs_in(f)):
            a, b = name.split("__")
            ref = PairRef(f, a, b)
            rows = f[f"summary/pairs/{name}/word_shift"][:]
            assert rows.size == len(ref.words)
            for w, row in enumerate(rows):
                tag = f"{name}/{ref.words[w]}"
                o = ref.occ
                sel = (o["word"] == w) & (o["aligned"] != 0) & ref.unit[o["sample"]]
                s, pos = o["sample"][sel], o["position"][sel]
                v = ref.data["dlogprob"][ref.off[s] + pos].astype(np.float64)
                ok = ~np.isnan(v)
                s, v = s[ok], v[ok]
                assert row["word"] == w and row["n_occurrences"] == v.size, tag
                assert row["n_samples"] == np.unique(s).size, tag
                sums, cnt = cluster_sums(ref.cl[s], v, ref.G)
                assert row["n_clusters"] == sums.size, tag
                if v.size == 0:
                    assert np.isnan(row["mean"]) and row["reason"] == R["too_few"], tag
                else:
                    check(f"{tag} mean", row["mean"], sum(sums.tolist()) / sum(cnt.tolist()))
                    lo, hi = bca(sums, cnt, pair_seed(k, 1000 + w), B)
                    check(f"{tag} ci_lo", row["ci_lo"], lo)
                    check(f"{tag} ci_hi", row["ci_hi"], hi)
                pr = primary[row["primary_row"]]
                assert (models[pr["model_a"]], models[pr["model_b"]], pr["word"], pr["test"]) == (a, b, w, 0), tag


def test_lens(pairfile):
    with h5py.File(pairfile, "r") as f:
        models = list(f.attrs["models"])
        words = list(f.attrs["target_words"])
        N = f["samples/level"].shape[0]
        used = np.ones(N, bool)
        for m in models:
            used &= f[f"models/{m}/done"][:] == 1
        pid = f["samples/problem_id"][:]
        ids = np.where(pid >= 0, pid, -(np.arange(N) + 1))
        uniq = np.unique(ids[used])
        cl = np.searchsorted(uniq, ids)
        for m in f["summary/lens"]:
            mi = models.index(m)
            g = f[f"models/{m}"]
            lp, ent, occ = g["lens_logprob"][:], g["lens_entropy"][:], g["occurrences"][:]
            D = lp.shape[1]
            rows = f[f"summary/lens/{m}"][:]
            assert f[f"summary/lens/{m}"].attrs["depths"] == D and rows.size == len(words) * D
            for r, row in enumerate(rows):
                w, d = divmod(r, D)
                tag = f"lens {m}/{words[w]}/depth {d}"
                assert (row["word"], row["depth"]) == (w, d), tag
                sel = (occ["word"] == w) & used[occ["sample"]]
                e = ent[sel, d].astype(np.float64)
                e = e[np.isfinite(e)]
                check(f"{tag} entropy", row["entropy_mean"], sum(e.tolist()) / e.size if e.size else np.nan)
                v = lp[sel, d].astype(np.float64)
                s = occ["sample"][sel]
                ok = np.isfinite(v)
                v, s = v[ok], s[ok]
                assert row["n_occurrences"] == v.size and row["n_samples"] == np.unique(s).size, tag
                sums, cnt = cluster_sums(cl[s], v, uniq.size)
                assert row["n_clusters"] == sums.size, tag
                if v.size == 0:
                    assert np.isnan(row["logprob_mean"]) and row["logprob_reason"] == R["too_few"], tag
                    continue
                check(f"{tag} mean", row["logprob_mean"], sum(sums.tolist()) / sum(cnt.tolist()))
                lo, hi = bca(sums, cnt, (SEED + LENS_OFF * (mi + 1) + r) & M64, B)
                check(f"{tag} lo", row["logprob_ci_lo"], lo)
                check(f"{tag} hi", row["logprob_ci_hi"], hi)


def test_file_without_pairs_has_no_pair_tables(tmp_path):
    path = make_reduce_input.make(str(tmp_path / "plain.h5"), seed=2, n_samples=20)
    run("reduce", path, "--bootstrap", 20, "--quiet")
    with h5py.File(path, "r") as f:
        assert "summary/pairs" not in f and "summary/lens" not in f
    out = run("inspect", path).stdout
    assert "== model pairs" not in out
    assert json.loads(run("inspect", path, "--json").stdout)["pairs"] == {}


def test_pair_of_another_length_is_refused(tmp_path):
    path = make_reduce_input.make(str(tmp_path / "bad.h5"), seed=2, n_samples=20, pairs=True)
    with h5py.File(path, "r+") as f:
        del f["pairs/base__sft/js"]
        f["pairs/base__sft/js"] = np.zeros(5, np.float32)
    p = run("reduce", path, "--bootstrap", 10, "--quiet", ok=False)
    assert p.returncode == 1 and "/pairs/base__sft/js" in p.stderr and path in p.stderr, p.stderr


def test_inspect_pairs_section(pairfile):
    out = run("inspect", pairfile).stdout
    sec = out[out.index("== model pairs and the logit lens"):out.index("== descriptive tables")]
    assert out.index("== primary results significant") < out.index("== model pairs and the logit lens")
    for s in ("-- base -> sft", "-- sft -> rl", "most up", "most down", "divergence near occurrences",
              "-- logit lens of base", "-- logit lens of sft", "propensity b/a"):
        assert s in sec, s
    assert "base -> rl" not in sec and "logit lens of rl" not in sec
    with h5py.File(pairfile, "r") as f:
        ts = f["summary/pairs/base__sft/token_shift"][:]
        lens = f["summary/lens/base"][:]
        D = int(f["summary/lens/base"].attrs["depths"])
        words = list(f.attrs["target_words"])
    up = [r for r in ts[:20] if r["mean"] > 0]
    assert f"#{up[0]['token']} " in sec and f"{up[0]['mean']:+.4f}" in sec
    down = [r for r in ts[::-1][:20] if r["mean"] < 0]
    assert f"{down[0]['mean']:+.4f}" in sec
    j = json.loads(run("inspect", pairfile, "--json").stdout)
    assert set(j["pairs"]) == {"base__sft", "sft__rl"} and set(j["lens"]) == {"base", "sft"}
    assert len(j["pairs"]["base__sft"]["token_shift"]) == ts.size
    assert j["pairs"]["base__sft"]["occurrence_divergence"][0]["metric"] == "kl_ab"
    # the settle depth: the first depth within 1 nat of the last depth's mean
    for w, word in enumerate(words):
        m = lens["logprob_mean"][lens["word"] == w]
        want = None if np.all(np.isnan(m)) else int(np.flatnonzero(np.abs(m - m[D - 1]) <= 1.0)[0])
        assert j["lens"]["base"]["settle_depth"][word] == want, word
    only = json.loads(run("inspect", pairfile, "--json", "--model", "rl", "--word", "wait").stdout)
    assert set(only["pairs"]) == {"sft__rl"} and not only["lens"]
    assert [r["word"] for r in only["pairs"]["sft__rl"]["word_shift"]] == ["wait"]


def test_token_text_decoded_with_model_a_tokenizer(demo_h5, tmp_path):
    """A pair added to the real demo output (its models' paths are readable from the repository root): the
    reducer loads model a's tokenizer and stores each token's text (the decoded text of one id)."""
    import shutil
    import subprocess

    path = str(tmp_path / "demo_pairs.h5")
    shutil.copy(demo_h5, path)
    with h5py.File(path, "r+") as f:
        a, b = list(f.attrs["models"])[:2]
        off = f[f"models/{a}/token_offset"][:]
        T = int(off[-1])
        rng = np.random.default_rng(0)
        g = f.create_group(f"pairs/{a}__{b}")
        g.attrs["model_a"], g.attrs["model_b"], g.attrs["complete"] = a, b, np.int64(1)
        for k in ("kl_ab", "kl_ba", "js", "dlogprob"):
            v = (rng.normal(0, 1, T) if k == "dlogprob" else rng.gamma(1, 0.2, T)).astype(np.float32)
            v[off[:-1]] = np.nan
            g[k] = v
        g["top1_agree"] = np.ones(T, np.int8)
        g["done"] = np.ones(off.size - 1, np.uint8)
        mpath = f[f"models/{a}"].attrs["path"]
    p = subprocess.run([BIN, "reduce", path, "--bootstrap", "10", "--quiet"], capture_output=True, text=True,
                       cwd=str(HERE.parents[1]))
    assert p.returncode == 0, p.stderr
    with h5py.File(path, "r") as f:
        g = f[f"summary/pairs/{a}__{b}"]
        ts = g["token_shift"][()]
        decoded = int(g.attrs["token_text_decoded"])
    if not (HERE.parents[1] / mpath).exists() and not Path(mpath).exists():
        assert decoded == 0 and np.all(ts["text"] == b"")
        return
    assert decoded == 1 and ts.size > 0
    texts = [t.decode("utf-8") for t in ts["text"]]  # valid UTF-8, never cut inside a character
    assert all(texts), "a kept token without text"
    assert len(set(texts)) > ts.size // 2  # distinct ids decode to (mostly) distinct text
