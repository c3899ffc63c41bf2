#!/usr/bin/env python3
"""Checks a `logits-study run` output file against independent references.

usage: check_run.py FILE.h5 BINARY [OTHER.h5] [--exact]
  * structure: every dataset of docs/hdf5-layout.md's per-model part, shapes,
    offsets, attributes, `complete`;
  * tokens: equal to HF `tokenizers` encoding prompt (template text before
    {answer}) and answer, with the prompt's trailing whitespace moved;
  * logprob / entropy / rank / target rows equal `logits-study score` on the
    same ids (an independent path: one sequence, no packing, no DP);
  * each aligned occurrence: its tokens decode (HF tokenizers) to the form's
    text, and its log-prob is the chain-rule sum of the spanned tokens' rows;
  * with OTHER.h5 (the same run at another world size): identical content,
    floats within 1e-5 (relative above 1), top-k ids identical where
    the log-prob gaps exceed 1e-5, ranks within a few places of near ties;
    with --exact, bit-identical (a resumed run, or another tp: docs/parallelism.md).
"""
import json
import math
import os
import subprocess
import sys

import h5py
import numpy as np
from tokenizers import Tokenizer



class CliTokenizer:
    """A GGUF file's tokenizer (no tokenizer.json to hand HF tokenizers) through `logits-study
    tokenize`, whose ids tests/realmodel/test_real_score.sh checks against transformers'.
    prepare() answers many texts / id lists in one call each (loading a 262k vocabulary takes
    seconds); encode and decode read those answers, or ask the binary once more."""

    class Encoding:
        def __init__(self, ids):
            self.ids = ids

    def __init__(self, binary, path):
        self.binary, self.path, self.cache = binary, path, {}

    def _run(self, flags, items):
        lines = "".join(json.dumps(x) + "\n" for x in items)
        out = subprocess.run([self.binary, "tokenize", "--tokenizer", self.path, *flags], input=lines,
                             capture_output=True, text=True, check=True)
        got = [json.loads(line) for line in out.stdout.splitlines()]
        assert len(got) == len(items), (len(got), len(items))
        return got

    def prepare(self, special=(), plain=(), decode=()):
        for flags, key, items in (([], "s", special), (["--no-special"], "p", plain), (["--decode"], "d", decode)):
            items = [x for x in dict.fromkeys(items) if (key, x) not in self.cache]
            if items:
                arg = [list(x) for x in items] if key == "d" else items
                self.cache.update({(key, x): y for x, y in zip(items, self._run(flags, arg))})

    def encode(self, text, add_special_tokens=True):
        key = ("s" if add_special_tokens else "p", text)
        if key not in self.cache:
            self.prepare(**{"special" if add_special_tokens else "plain": [text]})
        return self.Encoding(self.cache[key])

    def decode(self, ids, skip_special_tokens=False):
        assert not skip_special_tokens
        key = tuple(int(i) for i in ids)
        if ("d", key) not in self.cache:
            self.prepare(decode=[key])
        return self.cache[("d", key)]


def tokenizer_of(path):
    if path.endswith(".gguf"):
        return CliTokenizer(binary, path)
    return Tokenizer.from_file(os.path.join(path, "tokenizer.json"))


TOL = 1e-4
# between two runs of ours (another world size, data or tensor parallel): 1e-5, relative for
# values above 1 in magnitude (fp32 sums in another order: a log-prob of -40 has ulps of 4e-6)
TOL_OTHER = 1e-5
worst = {}
exact = "--exact" in sys.argv  # OTHER must be bit-identical (a resumed run; another tp with fixed-order sums)
argv = [a for a in sys.argv if a != "--exact"]
path, binary = argv[1], argv[2]
other = argv[3] if len(argv) > 3 else None
f = h5py.File(path, "r")
assert f.attrs["complete"] == 1, "file not marked complete"
for a in ("schema_version", "tool_version", "git_commit", "run_config", "run_config_effective", "world_size",
          "tp_size", "dp_size", "created", "data_path", "data_sha256", "models", "target_words"):
    assert a in f.attrs, f"root attribute {a} missing"
eff = json.loads(f.attrs["run_config_effective"])
assert f.attrs["schema_version"] == 2, f.attrs["schema_version"]
models = list(f.attrs["models"])  # lists: 1-D string arrays
words = list(f.attrs["target_words"])
assert models == [m["name"] for m in eff["models"]] and words == eff["targets"], (models, words)
assert f.attrs["bootstrap"] == eff["bootstrap"] and f.attrs["seed"] == eff["seed"]
N = f["samples/level"].shape[0]
assert N > 0
lev = f["samples/level"][:]
assert ((lev >= 1) & (lev <= 5)).all()
assert set(np.unique(f["samples/is_correct"][:])) <= {-1, 0, 1}

# the records, to re-tokenise independently
recs = [json.loads(l) for l in open(f.attrs["data_path"], encoding="utf-8-sig") if l.strip()]
by_line = {}
lineno = 0
for raw in open(f.attrs["data_path"], encoding="utf-8-sig"):
    lineno += 1
    if raw.strip():
        by_line[lineno] = json.loads(raw)
lines = f["samples/source_line"][:]
tmpl = eff["template"]

checked_occ = 0
for name in models:
    g = f[f"models/{name}"]
    for ds in ("tokens", "token_offset", "answer_start", "logprob", "entropy", "rank", "topk_ids", "topk_logprob",
               "target_logprob", "context", "targets", "forms", "occurrences", "done"):
        assert ds in g, f"{name}/{ds} missing"
        if ds not in ("targets", "forms", "occurrences"):
            assert "description" in g[ds].attrs and "unit" in g[ds].attrs, f"{name}/{ds} lacks description/unit"
    if eff.get("lens"):  # the logit lens: a row per occurrence (check_lens_run.py checks the values)
        for ds in ("lens_logprob", "lens_entropy"):
            assert ds in g and g[ds].shape == (len(g["occurrences"]), g[ds].attrs["depths"]), f"{name}/{ds}"
    off = g["token_offset"][:]
    T = off[-1]
    assert off[0] == 0 and (np.diff(off) > 0).all() and len(off) == N + 1
    for ds in ("tokens", "logprob", "entropy", "rank", "topk_ids", "topk_logprob", "target_logprob"):
        assert g[ds].shape[0] == T, f"{name}/{ds} rows {g[ds].shape[0]} != {T}"
    assert (g["done"][:] == 1).all()
    # no record longer than the window here: every position saw the whole sample before it
    assert (g["context"][:] == np.concatenate([np.arange(n) for n in np.diff(off)])).all(), f"{name}/context"
    toks, lp, ent, rank = g["tokens"][:], g["logprob"][:], g["entropy"][:], g["rank"][:]
    ans = g["answer_start"][:]
    assert np.isnan(lp[off[:-1]]).all() and (rank[off[:-1]] == 0).all()
    rest = np.ones(T, bool)
    rest[off[:-1]] = False
    assert np.isfinite(lp[rest]).all() and (lp[rest] <= 0).all() and (rank[rest] >= 1).all()
    assert (ent[rest] >= -1e-5).all()

    tok = tokenizer_of(g.attrs["path"])
    texts = []
    for i in range(N):
        r = by_line[int(lines[i])]
        prompt = tmpl[: tmpl.index("{answer}")].replace("{query}", r["query"])
        stripped = prompt.rstrip()
        texts.append((stripped, prompt[len(stripped):] + r["answer"]))
    if isinstance(tok, CliTokenizer):
        tok.prepare(special=[t[0] for t in texts], plain=[t[1] for t in texts])
    for i, (stripped, answer) in enumerate(texts):
        p_ids = tok.encode(stripped, add_special_tokens=True).ids
        a_ids = tok.encode(answer, add_special_tokens=False).ids
        got = toks[off[i]:off[i + 1]].tolist()
        assert got == p_ids + a_ids, f"{name} sample {i}: token ids differ from HF tokenizers"
        assert ans[i] == len(p_ids)

    # rows equal `score` on the same ids (two samples), targets and top-k included
    tg = g["targets"][:]
    tg_ids = ",".join(str(t) for t in tg["token_id"])
    K = g["topk_ids"].shape[1]
    for i in (0, N - 1):
        ids = ",".join(str(t) for t in toks[off[i]:off[i + 1]])
        out = subprocess.run([binary, "score", "--model", g.attrs["path"], "--ids", ids, "--targets", tg_ids,
                              "--top-k", str(K), "--json", "--device", "cpu", "--threads", "1"],
                             capture_output=True, text=True, check=True)
        sc = json.loads(out.stdout)["positions"]
        for p, s in enumerate(sc):
            q = off[i] + p
            if s["logprob"] is None:
                assert math.isnan(lp[q])
                continue
            # fp32 sums in another order (packing, tensor-parallel partial sums): the project's
            # CPU tolerance, 1e-4 absolute (DESIGN §5)
            assert math.isclose(s["logprob"], lp[q], abs_tol=TOL), \
                f"{name} sample {i} pos {p}: {lp[q]} vs score {s['logprob']}"
            assert math.isclose(s["entropy"], ent[q], abs_tol=TOL)
            assert np.allclose(s["targets"], g["target_logprob"][q], rtol=0, atol=TOL)
            assert [t[0] for t in s["top"]] == g["topk_ids"][q].tolist()

    # occurrences: chain rule over the spanned tokens, tokens spell the form
    occ = g["occurrences"][:]
    forms = g["forms"][:]
    assert (np.diff(occ["sample"]) >= 0).all(), "occurrences not ordered by sample"
    if isinstance(tok, CliTokenizer):
        starts = off[occ["sample"]] + occ["position"]
        tok.prepare(decode=[tuple(toks[a:a + n].tolist()) for a, n in zip(starts, occ["n_tokens"])])
    for o in occ:
        if not o["aligned"]:
            assert math.isnan(o["logprob"])
            continue
        s0 = off[o["sample"]] + o["position"]
        span = toks[s0:s0 + o["n_tokens"]].tolist()
        text = tok.decode(span, skip_special_tokens=False)
        assert text == forms[o["form"]]["form"].decode(), f"{name}: occurrence tokens {text!r} vs form {forms[o['form']]['form']!r}"
        want = float(np.sum(lp[s0:s0 + o["n_tokens"]].astype(np.float64)))
        assert abs(o["logprob"] - want) < 1e-4, (o, want)
        assert o["position"] >= ans[o["sample"]]
        checked_occ += 1
    multi = [o for o in occ if o["aligned"] and o["n_tokens"] > 1]
    print(f"{name}: {T} tokens, {len(occ)} occurrences ({len(multi)} multi-token), tokens match HF tokenizers")

assert checked_occ > 0

if other:
    g2 = h5py.File(other, "r")
    def rank_close(x, y, what):
        """Ranks and top-k ids may differ only where logits nearly tie: in few
        entries, and ranks by a little."""
        bad = x != y
        print(f"{what}: {bad.sum()} of {bad.size} entries differ (near ties)")
        # low-probability tokens sit in a dense band of logits (152k ids over a few tens of nats),
        # so an fp32 difference of 1e-5 can swap neighbours: allow a few, and only by a little
        assert bad.mean() < 0.05, f"{what}: {bad.sum()} of {bad.size} entries differ"
        if what.endswith("rank") or what.endswith("rank_first"):
            assert (np.abs(x.astype(np.int64) - y) <= np.maximum(2, 1e-3 * x)).all(), f"{what}: ranks far apart"

    def walk(a, b, prefix=""):
        for k in a:
            pa = prefix + "/" + k
            if isinstance(a[k], h5py.Group):
                walk(a[k], b[k], pa)
                continue
            x, y = a[k][()], b[k][()]
            if exact:
                assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), f"{pa} differs"
                continue
            if x.dtype.kind == "f":
                both = np.isfinite(x) & np.isfinite(y)
                if both.any():
                    worst[pa] = float(np.max(np.abs(x[both].astype(np.float64) - y[both])))
                assert x.shape == y.shape and np.allclose(x, y, rtol=TOL_OTHER, atol=TOL_OTHER, equal_nan=True), \
                    f"{pa} differs by {worst.get(pa)}"
            elif x.dtype.names:
                for fld in x.dtype.names:
                    if x[fld].dtype.kind == "f":
                        # /summary: statistics of those numbers (t, U, rho...) amplify 1e-5 input noise
                        if pa.startswith("/summary"):
                            ok = np.allclose(x[fld], y[fld], rtol=1e-3, atol=TOL, equal_nan=True)
                        else:
                            ok = np.allclose(x[fld], y[fld], rtol=TOL_OTHER, atol=TOL_OTHER, equal_nan=True)
                        assert ok, f"{pa}.{fld} differs"
                    elif fld == "rank_first":
                        rank_close(x[fld], y[fld], pa + "." + fld)
                    else:
                        assert (x[fld] == y[fld]).all(), f"{pa}.{fld} differs"
            elif k == "topk_ids":
                # identical wherever the log-prob gap to both neighbours exceeds the tolerance
                lp = a["topk_logprob"][()]
                gap = np.full(lp.shape, np.inf)
                d = np.abs(np.diff(lp, axis=1))
                gap[:, 1:] = np.minimum(gap[:, 1:], d)
                gap[:, :-1] = np.minimum(gap[:, :-1], d)
                clear = ~(gap <= TOL_OTHER)
                assert (x[clear] == y[clear]).all(), f"{pa}: ids differ where the gap exceeds {TOL_OTHER}"
                print(f"{pa}: ids identical at {clear.sum()} of {clear.size} entries with clear gaps")
            elif k == "rank":
                rank_close(x, y, pa)
            else:
                assert np.array_equal(x, y), f"{pa} differs"
        assert set(a.keys()) == set(b.keys()), f"{prefix}: {set(a.keys()) ^ set(b.keys())}"
    walk(f, g2)
    if worst:
        k = max(worst, key=worst.get)
        print(f"largest float difference: {worst[k]:.3g} in {k} (tolerance {TOL_OTHER:g}, relative above 1)")
    print(f"{path} and {other} hold the same content{' (bit-identical)' if exact else ''} (world sizes {f.attrs['world_size']} and {g2.attrs['world_size']})")
print("check_run: ok")
