"""Figures of the cross-model outputs (issue 19): where two models part ways.

They take arrays (numpy), not a file: the run's pair and lens datasets are not
written yet (the run is being restructured into src/study/), and the reader
that maps the file onto these arrays is added with them. The layout they are
meant for: per model pair `/pairs/<a>__<b>/{kl_ab, kl_ba, js, top1_agree,
dlogprob}` (flat per position, at the models' token offsets) and per model
`/lens/<model>/{logprob, entropy}` ([n_occurrences, layers + 1]).

  divergence_along_sample  a divergence along one sample, target-word occurrences marked
  occurrence_contrast      divergence near occurrence starts vs elsewhere, per level (sample means)
  token_shift_table        top-n up/down tokens of a pair (mean dlogprob, counts, intervals)
  lens_curves              per model, the mean log-prob of the occurrence's first token across depth
"""

from __future__ import annotations

import numpy as np

from .figures import _save, _yerr, plt
from . import style


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
    ax.set_xlabel("position")
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
