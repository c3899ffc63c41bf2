"""Writes a small synthetic results file following docs/hdf5-layout.md.

TEST INPUT ONLY: random numbers shaped like a real run, used to develop and
unit-test analysis/ (e.g. the --allow-incomplete refusal) without running the
C job. Never shipped as results; the report tests that check real numbers run
on the demo output (results/demo.h5) made by the real binary.

    .venv/bin/python tests/python/make_dev_h5.py OUT.h5 [--incomplete] [--seed N]
"""

from __future__ import annotations

import argparse
import json

import h5py
import numpy as np
from scipy import stats

WORDS = ["wait", "aha", "check", "think", "hmm", "let", "actually", "however", "so", "therefore"]
MODELS = ["baseline", "sft", "rl"]
K = 5
VOCAB = 400


def _str_type(n):
    return h5py.string_dtype("utf-8", n)


def _ds(g, name, data, description, unit, dtype=None):
    d = g.create_dataset(name, data=data, dtype=dtype)
    d.attrs["description"] = description
    d.attrs["unit"] = unit
    return d


def write(path: str, seed: int = 0, incomplete: bool = False, n: int = 40) -> None:
    rng = np.random.default_rng(seed)
    level = rng.integers(1, 6, n).astype(np.int8)
    is_correct = (rng.random(n) < 0.6).astype(np.int8)
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = 1
        f.attrs["tool_version"] = "dev"
        f.attrs["git_commit"] = "0000000"
        f.attrs["run_config"] = "# synthetic test input (tests/python/make_dev_h5.py)\n"
        f.attrs["run_config_effective"] = json.dumps({"synthetic": True})
        f.attrs["data_path"] = "synthetic.jsonl"
        f.attrs["data_sha256"] = "0" * 64
        f.attrs["world_size"] = 1
        f.attrs["tp_size"] = 1
        f.attrs["dp_size"] = 1
        f.attrs["created"] = "2000-01-01T00:00:00Z"
        f.attrs["complete"] = 0
        f.attrs["models"] = ",".join(MODELS)
        f.attrs["target_words"] = ",".join(WORDS)
        s = f.create_group("samples")
        _ds(s, "source_line", np.arange(1, n + 1, dtype=np.int64), "JSONL line", "1")
        _ds(s, "level", level, "difficulty level", "1")
        _ds(s, "is_correct", is_correct, "1 correct, 0 incorrect, -1 unknown", "1")
        _ds(s, "query_bytes", rng.integers(20, 200, n).astype(np.int64), "query bytes", "bytes")
        _ds(s, "answer_bytes", rng.integers(50, 500, n).astype(np.int64), "answer bytes", "bytes")
        _ds(s, "skipped_line", np.zeros(0, np.int64), "skipped lines", "1")
        _ds(s, "skipped_reason", np.zeros(0, "S32"), "why skipped", "1")

        lengths = rng.integers(30, 90, n)
        prompt = rng.integers(5, 12, n)
        off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        T = int(off[-1])
        tokens = rng.integers(0, VOCAB, T).astype(np.int32)
        # per-word target token ids: two single-token forms per word
        forms_tok = {w: [10 + 2 * w, 11 + 2 * w] for w in range(len(WORDS))}
        # plant occurrences in answers
        occ_rows = {m: [] for m in MODELS}
        planted = []
        for i in range(n):
            a0, a1 = off[i] + prompt[i], off[i + 1]
            for p in range(a0 + 1, a1):
                if rng.random() < 0.08:
                    w = int(rng.integers(0, len(WORDS)))
                    tokens[p] = forms_tok[w][int(rng.integers(0, 2))]
                    planted.append((i, int(p - off[i]), w, int(p)))
        summary_src = {}
        for mi, m in enumerate(MODELS):
            g = f.create_group(f"models/{m}")
            g.attrs["path"] = f"/nonexistent/{m}"
            g.attrs["config_json"] = "{}"
            g.attrs["tokenizer_sha256"] = "0" * 64
            g.attrs["n_params"] = 1000 * (mi + 1)
            g.attrs["tokens_total"] = T
            g.attrs["answer_tokens_total"] = int((lengths - prompt).sum())
            M = 2 * len(WORDS)
            tl = (rng.normal(-9 + mi, 2, (T, M))).astype(np.float32)
            for i in range(n):
                tl[off[i]] = np.nan
            lp = rng.normal(-3, 1.5, T).astype(np.float32)
            ent = rng.uniform(0.5, 4, T).astype(np.float32)
            for i, pos, w, p in planted:
                col = forms_tok[w].index(int(tokens[p]))
                v = np.float32(-rng.gamma(2.0 + level[i] * 0.2, 1.0 + 0.3 * mi))
                tl[p, 2 * w + col] = v
                lp[p] = v
                occ_rows[m].append((i, pos, w, 2 * w + col, 1, v, int(rng.integers(1, 50)), 1))
            for i in range(n):
                lp[off[i]] = np.nan
                ent[off[i]] = np.nan
            _ds(g, "tokens", tokens, "token ids", "token id")
            _ds(g, "token_offset", off, "offsets", "tokens")
            _ds(g, "answer_start", prompt.astype(np.int32), "answer start", "tokens")
            _ds(g, "logprob", lp, "log P(token)", "nats")
            _ds(g, "entropy", ent, "entropy", "nats")
            _ds(g, "rank", rng.integers(1, 100, T).astype(np.int32), "rank", "1")
            _ds(g, "topk_ids", rng.integers(0, VOCAB, (T, K)).astype(np.int32), "top-k ids", "token id")
            _ds(g, "topk_logprob", np.sort(rng.normal(-2, 1, (T, K)).astype(np.float32))[:, ::-1],
                "top-k log-probs", "nats")
            _ds(g, "target_logprob", tl, "target log-probs", "nats")
            tdt = np.dtype([("word", np.int16), ("form", "S16"), ("token_id", np.int32)])
            targets = np.zeros(M, tdt)
            fdt = np.dtype([("word", np.int16), ("form", "S16"), ("n_tokens", np.int16),
                            ("first_token", np.int32), ("single_token_column", np.int32)])
            forms = np.zeros(M, fdt)
            for w, word in enumerate(WORDS):
                for c, fm in enumerate([" " + word, word.capitalize()]):
                    targets[2 * w + c] = (w, fm.encode(), forms_tok[w][c])
                    forms[2 * w + c] = (w, fm.encode(), 1, forms_tok[w][c], 2 * w + c)
            _ds(g, "targets", targets, "target columns", "1")
            _ds(g, "forms", forms, "surface forms", "1")
            odt = np.dtype([("sample", np.int64), ("position", np.int32), ("word", np.int16),
                            ("form", np.int16), ("n_tokens", np.int16), ("logprob", np.float32),
                            ("rank_first", np.int32), ("aligned", np.int8)])
            occ = np.array(occ_rows[m], odt)
            _ds(g, "occurrences", occ, "occurrences", "1")
            _ds(g, "done", np.ones(n, np.uint8), "done", "1")
            # propensity per sample and word: mean target prob over answer positions
            prop = np.zeros((n, len(WORDS)))
            for i in range(n):
                rows = tl[off[i] + prompt[i]: off[i + 1]]
                pw = np.exp(rows.astype(np.float64)).reshape(len(rows), len(WORDS), 2).sum(axis=2)
                prop[i] = pw.mean(axis=0)
            summary_src[m] = (occ, prop)

        if not incomplete:
            _write_summary(f, summary_src, level, is_correct, lengths - prompt, rng)
            f.attrs["complete"] = 1


def _write_summary(f, src, level, is_correct, ans_len, rng):
    """A provisional /summary in the shape the reducer's tables are expected to
    take (docs/hdf5-layout.md, /summary section), computed with scipy from the
    synthetic data above."""
    groups = ["all"] + [f"level_{lv}" for lv in range(1, 6)] + ["correct", "incorrect"]
    gdt = np.dtype([("model", np.int16), ("word", np.int16), ("group", "S16"),
                    ("n_samples", np.int64), ("n_occurrences", np.int64), ("occ_per_1k", np.float64),
                    ("share_samples", np.float64), ("prob_mean", np.float64), ("prob_median", np.float64),
                    ("prob_sd", np.float64), ("prob_ci_lo", np.float64), ("prob_ci_hi", np.float64),
                    ("propensity_mean", np.float64), ("propensity_ci_lo", np.float64),
                    ("propensity_ci_hi", np.float64)])
    tdt = np.dtype([("test", "S16"), ("metric", "S16"), ("model", np.int16), ("model_b", np.int16),
                    ("word", np.int16), ("statistic", np.float64), ("p", np.float64), ("q", np.float64),
                    ("effect", np.float64), ("method", "S16")])
    grows, trows = [], []
    n = len(level)

    def sel(gname):
        if gname == "all":
            return np.ones(n, bool)
        if gname.startswith("level_"):
            return level == int(gname[6:])
        return is_correct == (1 if gname == "correct" else 0)

    def ci(x):
        if len(x) < 2:
            return np.nan, np.nan
        b = rng.choice(x, (200, len(x))).mean(axis=1)
        return np.percentile(b, 2.5), np.percentile(b, 97.5)

    for mi, (m, (occ, prop)) in enumerate(src.items()):
        for w in range(len(WORDS)):
            o = occ[occ["word"] == w]
            for gname in groups:
                s = sel(gname)
                po = np.exp(o["logprob"][s[o["sample"]]].astype(np.float64))
                pr = prop[s, w]
                lo, hi = ci(po)
                plo, phi = ci(pr)
                grows.append((mi, w, gname.encode(), s.sum(), len(po),
                              1000 * len(po) / max(ans_len[s].sum(), 1),
                              len(np.unique(o["sample"][s[o["sample"]]])) / max(s.sum(), 1),
                              po.mean() if len(po) else np.nan, np.median(po) if len(po) else np.nan,
                              po.std(ddof=1) if len(po) > 1 else np.nan, lo, hi, pr.mean(), plo, phi))
            po_all = np.exp(o["logprob"].astype(np.float64))
            lv = level[o["sample"]]
            r = stats.spearmanr(lv, po_all)
            trows.append([b"spearman", b"occurrence_prob", mi, -1, w, r.statistic, r.pvalue, 0, r.statistic,
                          b"asymptotic"])
            c = is_correct[o["sample"]]
            a, b = po_all[c == 1], po_all[c == 0]
            t = stats.ttest_ind(a, b, equal_var=False)
            trows.append([b"welch", b"occurrence_prob", mi, -1, w, t.statistic, t.pvalue, 0,
                          a.mean() - b.mean(), b"asymptotic"])
            u = stats.mannwhitneyu(a, b)
            trows.append([b"mannwhitneyu", b"occurrence_prob", mi, -1, w, u.statistic, u.pvalue, 0,
                          2 * u.statistic / (len(a) * len(b)) - 1, b"asymptotic"])
    models = list(src)
    for w in range(len(WORDS)):
        for i in range(len(models)):
            for j in range(i + 1, len(models)):
                x, y = src[models[j]][1][:, w], src[models[i]][1][:, w]
                r = stats.wilcoxon(x, y)
                trows.append([b"wilcoxon", b"propensity", j, i, w, r.statistic, r.pvalue, 0, 0.0, b"asymptotic"])
    p = np.array([r[6] for r in trows])
    q = stats.false_discovery_control(np.nan_to_num(p, nan=1.0))
    for r, qq in zip(trows, q):
        r[7] = qq
    g = f.create_group("summary")
    d = g.create_dataset("groups", data=np.array(grows, gdt))
    d.attrs["description"] = "per model x word x group descriptive statistics (synthetic)"
    d.attrs["unit"] = "probability"
    d = g.create_dataset("tests", data=np.array([tuple(r) for r in trows], tdt))
    d.attrs["description"] = "tests with Benjamini-Hochberg q (synthetic)"
    d.attrs["unit"] = "1"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--incomplete", action="store_true", help="leave complete=0 and no /summary")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write(a.out, a.seed, a.incomplete)
