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
        f.attrs["schema_version"] = 2
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
        f.attrs["models"] = MODELS  # lists: 1-D arrays of variable-length strings
        f.attrs["target_words"] = WORDS
        f.attrs["bootstrap"] = 200
        f.attrs["seed"] = np.uint64(0)
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


F8, I8, I16, I64 = np.float64, np.int8, np.int16, np.int64
GROUP_FIELDS = [("model", I16), ("word", I16), ("group", I8), ("n_samples", I64), ("answer_tokens", I64),
                ("occurrences", I64), ("occurrences_aligned", I64), ("per_1k", F8), ("share_containing", F8),
                ("logprob_mean", F8), ("logprob_median", F8), ("logprob_sd", F8), ("logprob_ci_lo", F8),
                ("logprob_ci_hi", F8), ("logprob_reason", I8), ("prob_mean", F8), ("prob_median", F8),
                ("prob_sd", F8), ("prob_ci_lo", F8), ("prob_ci_hi", F8), ("prob_reason", I8),
                ("propensity_mean", F8), ("propensity_n", I64), ("propensity_sample_mean", F8),
                ("propensity_sample_median", F8), ("propensity_sample_sd", F8), ("propensity_ci_lo", F8),
                ("propensity_ci_hi", F8), ("propensity_reason", I8), ("entropy_occ_mean", F8),
                ("entropy_occ_ci_lo", F8), ("entropy_occ_ci_hi", F8), ("entropy_occ_reason", I8),
                ("entropy_all_mean", F8)]
CORRECT_FIELDS = [("model", I16), ("word", I16), ("variable", I8), ("n_correct", I64), ("n_incorrect", I64),
                  ("mean_correct", F8), ("mean_incorrect", F8), ("welch_t", F8), ("welch_df", F8),
                  ("welch_p", F8), ("welch_q", F8), ("welch_reason", I8), ("mwu_u", F8), ("mwu_p", F8),
                  ("mwu_q", F8), ("mwu_method", I8), ("mwu_reason", I8), ("rank_biserial", F8),
                  ("cohen_d", F8), ("cohen_d_reason", I8)]
LEVEL_FIELDS = [("model", I16), ("word", I16), ("variable", I8), ("n", I64), ("n_by_level", I64, (5,)),
                ("mean_by_level", F8, (5,)), ("spearman_rho", F8), ("spearman_p", F8), ("spearman_q", F8),
                ("spearman_reason", I8), ("kruskal_h", F8), ("kruskal_df", F8), ("kruskal_p", F8),
                ("kruskal_q", F8), ("kruskal_reason", I8)]
PAIR_FIELDS = [("model_a", I16), ("model_b", I16), ("word", I16), ("n_pairs", I64), ("mean_a", F8),
               ("mean_b", F8), ("diff_mean", F8), ("diff_median", F8), ("diff_sd", F8), ("diff_ci_lo", F8),
               ("diff_ci_hi", F8), ("diff_reason", I8), ("wilcoxon_w", F8), ("wilcoxon_p", F8),
               ("wilcoxon_q", F8), ("wilcoxon_method", I8), ("wilcoxon_reason", I8), ("wilcoxon_r", F8)]
GROUP_NAMES = ["level1", "level2", "level3", "level4", "level5", "correct", "incorrect", "unknown", "all"]


def _table(g, name, fields, rows):
    dt = np.dtype(fields)
    arr = np.zeros(len(rows), dt)
    for k, r in enumerate(rows):
        for f in dt.names:
            arr[k][f] = r.get(f, np.nan if dt[f].kind == "f" else 0)
    d = g.create_dataset(name, data=arr)
    d.attrs["description"] = f"synthetic {name} (tests/python/make_dev_h5.py)"
    d.attrs["unit"] = ""


def _write_summary(f, src, level, is_correct, ans_len, rng):
    """A /summary with the reducer's tables and columns (docs/hdf5-layout.md,
    ## /summary), filled by scipy from the synthetic data above."""
    n = len(level)

    def sel(code):
        name = GROUP_NAMES[code]
        if name == "all":
            return np.ones(n, bool)
        if name.startswith("level"):
            return level == int(name[5:])
        return is_correct == {"correct": 1, "incorrect": 0, "unknown": -1}[name]

    def desc(x, prefix, r):
        r[prefix + "_mean"] = x.mean() if len(x) else np.nan
        r[prefix + "_median"] = np.median(x) if len(x) else np.nan
        r[prefix + "_sd"] = x.std(ddof=1) if len(x) > 1 else np.nan
        if len(x) > 1:
            b = rng.choice(x, (200, len(x))).mean(axis=1)
            r[prefix + "_ci_lo"], r[prefix + "_ci_hi"] = np.percentile(b, [2.5, 97.5])
        r[prefix + "_reason"] = 0 if len(x) > 1 else 1

    groups, correct, levels, pairs = [], [], [], []
    for mi, (m, (occ, prop)) in enumerate(src.items()):
        for w in range(len(WORDS)):
            o = occ[occ["word"] == w]
            for code in range(len(GROUP_NAMES)):
                s = sel(code)
                os_ = s[o["sample"]]
                lp = o["logprob"][os_].astype(np.float64)
                r = dict(model=mi, word=w, group=code, n_samples=s.sum(), answer_tokens=ans_len[s].sum(),
                         occurrences=len(lp), occurrences_aligned=len(lp),
                         per_1k=1000 * len(lp) / max(ans_len[s].sum(), 1),
                         share_containing=len(np.unique(o["sample"][os_])) / max(s.sum(), 1),
                         propensity_mean=prop[s, w].mean() if s.any() else np.nan, propensity_n=s.sum())
                desc(lp, "logprob", r)
                desc(np.exp(lp), "prob", r)
                ps = prop[s, w]
                desc(ps, "propensity_sample", r)
                r["propensity_ci_lo"], r["propensity_ci_hi"] = r.pop("propensity_sample_ci_lo", np.nan), \
                    r.pop("propensity_sample_ci_hi", np.nan)
                r["propensity_reason"] = r.pop("propensity_sample_reason")
                desc(rng.uniform(0.5, 3, len(lp)), "entropy_occ", r)
                groups.append(r)
            for var, values, samp in ((0, prop[:, w], np.arange(n)),
                                      (1, np.exp(o["logprob"].astype(np.float64)), o["sample"])):
                c = is_correct[samp]
                a, b = values[c == 1], values[c == 0]
                t = stats.ttest_ind(a, b, equal_var=False)
                u = stats.mannwhitneyu(a, b)
                correct.append(dict(model=mi, word=w, variable=var, n_correct=len(a), n_incorrect=len(b),
                                    mean_correct=a.mean(), mean_incorrect=b.mean(), welch_t=t.statistic,
                                    welch_df=t.df, welch_p=t.pvalue, mwu_u=u.statistic, mwu_p=u.pvalue,
                                    mwu_method=1, rank_biserial=2 * u.statistic / (len(a) * len(b)) - 1))
                lv = level[samp]
                rho = stats.spearmanr(lv, values)
                kw = stats.kruskal(*[values[lv == L] for L in range(1, 6) if (lv == L).any()])
                levels.append(dict(model=mi, word=w, variable=var, n=len(values),
                                   n_by_level=[(lv == L).sum() for L in range(1, 6)],
                                   mean_by_level=[values[lv == L].mean() if (lv == L).any() else np.nan
                                                  for L in range(1, 6)],
                                   spearman_rho=rho.statistic, spearman_p=rho.pvalue, kruskal_h=kw.statistic,
                                   kruskal_df=4, kruskal_p=kw.pvalue))
    models = list(src)
    for w in range(len(WORDS)):
        for i in range(len(models)):
            for j in range(i + 1, len(models)):
                x, y = src[models[i]][1][:, w], src[models[j]][1][:, w]
                r = stats.wilcoxon(x, y)
                d = x - y
                b = rng.choice(d, (200, n)).mean(axis=1)
                lo, hi = np.percentile(b, [2.5, 97.5])
                pairs.append(dict(model_a=i, model_b=j, word=w, n_pairs=n, mean_a=x.mean(), mean_b=y.mean(),
                                  diff_mean=d.mean(), diff_median=np.median(d), diff_sd=d.std(ddof=1),
                                  diff_ci_lo=lo, diff_ci_hi=hi, wilcoxon_w=r.statistic, wilcoxon_p=r.pvalue,
                                  wilcoxon_method=1))
    for rows, pk, qk in ((correct, "welch_p", "welch_q"), (correct, "mwu_p", "mwu_q"),
                         (levels, "spearman_p", "spearman_q"), (levels, "kruskal_p", "kruskal_q"),
                         (pairs, "wilcoxon_p", "wilcoxon_q")):
        q = stats.false_discovery_control(np.nan_to_num([r[pk] for r in rows], nan=1.0))
        for r, qq in zip(rows, q):
            r[qk] = qq
    g = f.create_group("summary")
    g.attrs["description"] = "synthetic reducer tables (test input only)"
    g.attrs["bootstrap"] = 200
    g.attrs["seed"] = 0
    g.attrs["n_samples"] = n
    g.attrs["samples_left_out"] = 0
    _table(g, "groups", GROUP_FIELDS, groups)
    _table(g, "correctness", CORRECT_FIELDS, correct)
    _table(g, "levels", LEVEL_FIELDS, levels)
    _table(g, "model_pairs", PAIR_FIELDS, pairs)
    for name, vals in (("reason_names", ["ok", "too_few", "all_tied", "zero_variance", "nan_input", "bad_arg",
                                         "no_single_token_form"]),
                       ("group_names", GROUP_NAMES), ("variable_names", ["propensity", "occurrence_prob"]),
                       ("method_names", ["none", "asymptotic", "exact", "permutation"])):
        d = g.create_dataset(name, data=np.array([v.encode() for v in vals], "S32"))
        d.attrs["description"] = f"name of each code ({name})"
        d.attrs["unit"] = ""


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--incomplete", action="store_true", help="leave complete=0 and no /summary")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write(a.out, a.seed, a.incomplete)
