"""Figures of the cross-model outputs (issue 19): where two models part ways.

The plotting functions take arrays; `report_pairs` reads a results file
(docs/pairs.md): the per-position `/pairs/<a>__<b>/{kl_ab, kl_ba, js,
dlogprob}` (at model a's token offsets) for the divergence along a sample, and
the reducer's tables `/summary/pairs/<a>__<b>/{token_shift,
occurrence_divergence, word_shift}` and `/summary/lens/<m>` for the rest (the
intervals are the reducer's; nothing is recomputed). A file without them gets
no pair section (older files still render).

  divergence_along_sample  a divergence along one sample, target-word occurrences marked
  occurrence_contrast      divergence near occurrence starts vs elsewhere, per level (sample means)
  token_shift_table        top-n up/down tokens of a pair (mean dlogprob, counts, intervals)
  lens_curves              per model, the mean log-prob of the occurrence's first token across depth
  lens_curves_summary      the same from /summary/lens (the reducer's means and cluster-bootstrap intervals)
  report_pairs             all of the above from a results file, for analysis.report and the dashboard
"""

from __future__ import annotations

import numpy as np

import html
import os

from .figures import _save, _yerr, plt
from . import style
from .h5io import Results
from .tokens import token_labels


def divergence_along_sample(div: np.ndarray, occ_starts, labels, outdir: str, name: str,
                            metric: str = "js", pair: str = "") -> str:
    """div [n]: one sample's per-position divergence (NaN at position 0 and
    outside the answer); occ_starts: positions that begin a target word;
    labels: the decoded token per position (shown at the occurrences)."""
    fig, ax = plt.subplots(figsize=(max(6.0, len(div) / 12), 3.2))
    x = np.arange(len(div))
    ax.plot(x, div, lw=1.0, color=style.OKABE_ITO[0])
    for p in occ_starts:
        ax.axvline(p, color=style.OKABE_ITO[5], lw=0.8, alpha=0.7)
        ax.annotate(str(labels[p]).strip(), (p, np.nanmax(div) if np.isfinite(div).any() else 0),
                    rotation=90, fontsize=7, va="top", ha="right", color=style.OKABE_ITO[5])
    ax.set_xlabel("answer position")
    ax.set_ylabel(f"{metric} (nats)")
    ax.set_title(f"{pair}: {metric} along the sample, target words marked")
    return _save(fig, outdir, name)


def occurrence_contrast(rows: list[dict], outdir: str, name: str, pair: str = "") -> str:
    """rows: one per level, {"level", "mean_near", "mean_other", "diff", "ci_lo", "ci_hi", "n"}
    (ls_occurrence_contrast); bars of the two means, the paired difference's interval on the near bar."""
    levels = [str(r["level"]) for r in rows]
    near = np.array([r["mean_near"] for r in rows], float)
    other = np.array([r["mean_other"] for r in rows], float)
    lo = other + np.array([r["ci_lo"] for r in rows], float)
    hi = other + np.array([r["ci_hi"] for r in rows], float)
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.2))
    ax.bar(x - 0.2, near, 0.4, yerr=_yerr(near, lo, hi), label="near occurrence starts",
           color=style.OKABE_ITO[5], capsize=3)
    ax.bar(x + 0.2, other, 0.4, label="other answer positions", color=style.OKABE_ITO[0])
    ax.set_xticks(x, [f"{lv}\n(n={r['n']})" for lv, r in zip(levels, rows)])
    ax.set_ylabel("mean divergence per sample (nats)")
    ax.set_title(f"{pair}: divergence near target words vs elsewhere")
    ax.legend()
    return _save(fig, outdir, name)


def token_shift_table(rows: list[dict], decode, n: int = 20) -> tuple[list[dict], list[dict]]:
    """rows: ls_token_shift's, sorted by mean descending; the n largest increases and the n
    largest decreases (most negative first), each with the decoded token."""
    up = [dict(r, text=decode(r["token"])) for r in rows[:n] if r["mean"] > 0]
    down = [dict(r, text=decode(r["token"])) for r in reversed(rows) if r["mean"] < 0][:n]
    return up, down


def token_shift_figure(up: list[dict], down: list[dict], outdir: str, name: str, pair: str = "") -> str:
    rows = up + list(reversed(down))
    mean = np.array([r["mean"] for r in rows], float)
    lo = np.array([r.get("ci_lo", np.nan) for r in rows], float)
    hi = np.array([r.get("ci_hi", np.nan) for r in rows], float)
    y = np.arange(len(rows))[::-1]
    fig, ax = plt.subplots(figsize=(6, max(3.0, 0.22 * len(rows) + 1)))
    colours = [style.OKABE_ITO[2] if m > 0 else style.OKABE_ITO[5] for m in mean]
    ax.barh(y, mean, xerr=_yerr(mean, lo, hi), color=colours, capsize=2)
    ax.set_yticks(y, [f"{r['text']!r} (n={r['count']})" for r in rows], fontsize=7)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("mean change in log-prob of the actual next token (nats)")
    ax.set_title(f"{pair}: tokens the training stage shifted most")
    return _save(fig, outdir, name)


def lens_mean_ci(lp: np.ndarray, n_boot: int = 1000, seed: int = 0):
    """lp [n_occ, depths]: mean per depth and a percentile bootstrap 95% interval over occurrences."""
    lp = np.asarray(lp, float)
    mean = np.nanmean(lp, axis=0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, lp.shape[0], (n_boot, lp.shape[0]))
    boots = np.nanmean(lp[idx], axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
    return mean, lo, hi


def lens_curves(lens: dict, outdir: str, name: str, word: str = "") -> str:
    """lens: model -> lp [n_occ, depths] (the log-prob of the occurrence's first token per depth)."""
    colours = style.model_colours(list(lens))
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for m, lp in lens.items():
        mean, lo, hi = lens_mean_ci(lp)
        x = np.arange(len(mean))
        ax.plot(x, mean, marker="o", ms=3, color=colours[m], label=m)
        ax.fill_between(x, lo, hi, color=colours[m], alpha=0.2)
    ax.set_xlabel("depth (0 = embeddings, L = the model's prediction)")
    ax.set_ylabel("log-prob of the word's first token (nats)")
    ax.set_title(f"logit lens at occurrences of {word!r}" if word else "logit lens at occurrences")
    ax.legend()
    return _save(fig, outdir, name)


def lens_curves_summary(curves: dict, outdir: str, name: str, word: str = "") -> str:
    """curves: model -> (mean, lo, hi) per depth (from /summary/lens)."""
    colours = style.model_colours(list(curves))
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for m, (mean, lo, hi) in curves.items():
        x = np.arange(len(mean))
        ax.plot(x, mean, marker="o", ms=3, color=colours[m], label=m)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.fill_between(x, np.where(ok, lo, mean), np.where(ok, hi, mean), color=colours[m], alpha=0.2)
    ax.set_xlabel("depth (0 = embeddings, L = the model's prediction)")
    ax.set_ylabel("log-prob of the word's first token (nats)")
    ax.set_title(f"logit lens at occurrences of {word!r}" if word else "logit lens at occurrences")
    ax.legend()
    return _save(fig, outdir, name)


# ---- from a results file ------------------------------------------------------

LEVEL_ALL, CORRECT_ALL = 0, -1  # the `level` / `correct` codes of occurrence_divergence meaning "all"
METRIC_NAMES = ["kl_ab", "kl_ba", "js"]


def has_pairs(res: Results) -> bool:
    f = res.file
    return ("summary/pairs" in f and len(f["summary/pairs"]) > 0) or ("summary/lens" in f and len(f["summary/lens"]) > 0)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _text(b) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def pair_names(res: Results) -> list[str]:
    """The pairs the reducer summarised, in the file's models order (a, then b)."""
    if "summary/pairs" not in res.file:
        return []
    have = set(res.file["summary/pairs"])
    return [f"{a}__{b}" for a in res.models for b in res.models if a != b and f"{a}__{b}" in have]


def contrast_rows(tab: np.ndarray, metric: str = "js") -> list[dict]:
    """occurrence_divergence rows of one metric, all correctness, levels all then 1..5 (those with samples)."""
    mi = METRIC_NAMES.index(metric)
    out = []
    for r in tab:
        if int(r["metric"]) != mi or int(r["correct"]) != CORRECT_ALL or int(r["n"]) == 0:
            continue
        out.append(dict(level="all" if int(r["level"]) == LEVEL_ALL else int(r["level"]),
                        mean_near=float(r["mean_near"]), mean_other=float(r["mean_other"]),
                        diff=float(r["diff_mean"]), ci_lo=float(r["diff_ci_lo"]), ci_hi=float(r["diff_ci_hi"]),
                        n=int(r["n"]), w=float(r["wilcoxon_w"]), p=float(r["wilcoxon_p"])))
    return out


def shift_rows(res: Results, pair: str) -> list[dict]:
    """/summary/pairs/<pair>/token_shift as dicts, with the stored text or, failing that, the tokenizer's."""
    tab = res.file[f"summary/pairs/{pair}/token_shift"][()]
    a = pair.split("__")[0]
    rows = [dict(token=int(r["token"]), count=int(r["count"]), nsamples=int(r["nsamples"]), mean=float(r["mean"]),
                 ci_lo=float(r["ci_lo"]), ci_hi=float(r["ci_hi"]), text=_text(r["text"])) for r in tab]
    missing = [r["token"] for r in rows if not r["text"]]
    if missing and a in res.model_data:
        labels, decoded = token_labels(res.model_data[a], missing, res.path, max_len=24)
        if decoded:
            lab = dict(zip(missing, labels))
            for r in rows:
                r["text"] = r["text"] or lab[r["token"]]
    for r in rows:
        r["text"] = r["text"] or f"#{r['token']}"
    return rows


def lens_table(res: Results) -> dict:
    """/summary/lens as model -> word -> (mean, lo, hi, n_occurrences at depth 0)."""
    out = {}
    if "summary/lens" not in res.file:
        return out
    for m in res.models:
        if m not in res.file["summary/lens"]:
            continue
        tab = res.file[f"summary/lens/{m}"][()]
        out[m] = {}
        for w, word in enumerate(res.target_words):
            t = np.sort(tab[tab["word"] == w], order="depth")
            if t.size and np.isfinite(t["logprob_mean"]).any():
                out[m][word] = (t["logprob_mean"], t["logprob_ci_lo"], t["logprob_ci_hi"], int(t["n_occurrences"][0]))
    return out


def settle_depth(mean: np.ndarray, nats: float = 1.0) -> int | None:
    """The first depth whose mean is within `nats` of the last finite depth's (as `inspect` reports it)."""
    ok = np.flatnonzero(np.isfinite(mean))
    if not ok.size:
        return None
    final = mean[ok[-1]]
    return int(next(d for d in ok if abs(mean[d] - final) <= nats))


def _sample_divergence(res: Results, pair: str, sample: int, metric: str, max_positions: int):
    """The answer part of one sample's divergence, occurrence starts (answer-relative) and token labels."""
    a = pair.split("__")[0]
    md = res.model_data[a]
    off, start = md.token_offset, md.answer_start
    p0, p1 = int(off[sample] + start[sample]), int(off[sample + 1])
    p1 = min(p1, p0 + max_positions)
    div = res.file[f"pairs/{pair}/{metric}"][p0:p1].astype(float)
    occ = md.occurrences
    sel = occ["sample"] == sample
    ids = res.file[f"models/{a}/tokens"][p0:p1]
    labels, _ = token_labels(md, ids, res.path)
    starts = set()
    for p, w in zip(occ["position"][sel], occ["word"][sel]):
        q = int(p) - int(start[sample])
        if 0 <= q < p1 - p0:
            starts.add(q)
            labels[q] = res.target_words[int(w)]  # the word, not its first token, at an occurrence
    return div, sorted(starts), labels


def report_pairs(res: Results, outdir: str, sample: int, max_positions: int = 96, metric: str = "js"):
    """Figures and a dashboard section for the pairs and the lens of a file: (pngs, section html or None)."""
    if not has_pairs(res):
        return [], None
    pngs, parts = [], []
    for pair in pair_names(res):
        a, b = pair.split("__")
        tag = _safe(pair)
        g = res.file[f"summary/pairs/{pair}"]
        parts.append(f"<h3>{html.escape(a)} &rarr; {html.escape(b)}</h3>")
        if f"pairs/{pair}/{metric}" in res.file and a in res.model_data:
            div, starts, labels = _sample_divergence(res, pair, sample, metric, max_positions)
            if div.size:
                pngs.append(divergence_along_sample(div, starts, labels, outdir, f"pair_divergence_{tag}.png",
                                                    metric=metric, pair=f"{pair} (sample {sample})"))
                parts.append(f"<p class='muted'>{metric} along sample {sample} (answer positions): "
                             f"<code>pair_divergence_{html.escape(tag)}.png</code> below.</p>")
        rows = contrast_rows(g["occurrence_divergence"][()], metric)
        if rows:
            pngs.append(occurrence_contrast(rows, outdir, f"pair_occurrence_contrast_{tag}.png", pair=pair))
            before = int(g.attrs.get("before", 3))
            parts.append(f"<p class='muted'>{metric} near target-word occurrences (the start and {before} positions "
                         "before) vs elsewhere in the answer, per sample; descriptive (not in the primary BH "
                         "family); Wilcoxon signed-rank over samples.</p>")
            parts.append(_html_table(["level", "n", "near", "other", "near \u2212 other [95% CI]", "W", "p"],
                                     [[r["level"], r["n"], f"{r['mean_near']:.4g}", f"{r['mean_other']:.4g}",
                                       f"{r['diff']:+.4g} [{r['ci_lo']:+.4g}, {r['ci_hi']:+.4g}]", f"{r['w']:.4g}",
                                       f"{r['p']:.3g}"] for r in rows]))
        shift = shift_rows(res, pair)
        if shift:
            up, down = token_shift_table(shift, lambda t: None, n=20)
            text = {r["token"]: r["text"] for r in shift}
            up = [dict(r, text=text[r["token"]]) for r in up]
            down = [dict(r, text=text[r["token"]]) for r in down]
            pngs.append(token_shift_figure(up, down, outdir, f"pair_token_shift_{tag}.png", pair=pair))
            parts.append(f"<p class='muted'>Tokens whose log-prob of being the actual next token moved most "
                         f"(mean log p_{html.escape(b)} \u2212 log p_{html.escape(a)} over answer positions; tokens "
                         f"with at least {int(g.attrs.get('min_count', 0))} positions; cluster-bootstrap 95% "
                         f"intervals, unit: {html.escape(str(g.attrs.get('unit', 'sample')))}).</p>")
            parts.append(_html_table(["direction", "token", "count", "units", "mean [95% CI]"],
                                     [["up" if r["mean"] > 0 else "down", r["text"], r["count"], r["nsamples"],
                                       f"{r['mean']:+.4f} [{r['ci_lo']:+.4f}, {r['ci_hi']:+.4f}]"]
                                      for r in up + down]))
    lens = lens_table(res)
    words = sorted({w for m in lens for w in lens[m]}, key=res.target_words.index)
    for word in words:
        curves = {m: lens[m][word][:3] for m in lens if word in lens[m]}
        pngs.append(lens_curves_summary(curves, outdir, f"lens_{_safe(word)}.png", word=word))
    if lens:
        rows = []
        for m in lens:
            for word in words:
                if word in lens[m]:
                    mean = lens[m][word][0]
                    d = settle_depth(mean)
                    rows.append([m, word, lens[m][word][3], f"{mean[0]:.3f}", f"{mean[-1]:.3f}",
                                 "-" if d is None else f"{d} of {len(mean) - 1}"])
        parts.append("<h3>Logit lens</h3><p class='muted'>Mean log-prob of the occurrence's first token per depth "
                     "(0 = embeddings, L = the model's prediction); the depth at which it first comes within 1 nat "
                     "of its final value.</p>")
        parts.append(_html_table(["model", "word", "occurrences", "depth 0", "last depth", "within 1 nat at"], rows))
    return pngs, "\n".join(parts)


def _html_table(headers, rows) -> str:
    h = "".join(f"<th>{html.escape(str(x))}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"
