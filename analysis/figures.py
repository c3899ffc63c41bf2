"""Static figures (matplotlib, PNG). Each function returns the paths it wrote."""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from . import style  # noqa: E402
from .h5io import Results  # noqa: E402
from .summary import METRICS, Summary, fmt_p, stars  # noqa: E402
from .tokens import token_labels  # noqa: E402
from .views import occurrence_probs, sample_view  # noqa: E402

DPI = 130
plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "figure.constrained_layout.use": True,
    }
)


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _save(fig, outdir, name):
    path = os.path.join(outdir, name)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _use_log(values) -> bool:
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0])
    return len(v) > 1 and v.max() / v.min() > 50


def _yerr(mean, lo, hi):
    """Asymmetric error bars from a CI; zero where the CI is missing."""
    lo_e = np.where(np.isfinite(lo), np.maximum(mean - lo, 0), 0)
    hi_e = np.where(np.isfinite(hi), np.maximum(hi - mean, 0), 0)
    return np.vstack([lo_e, hi_e])


def _ylabel(metric):
    m = METRICS[metric]
    return f"{m['label']} ({m['unit']})"


def model_comparison(res: Results, s: Summary, outdir: str, metric: str) -> list[str]:
    models, words = s.models, s.words
    col = style.model_colours(models)
    fig, ax = plt.subplots(figsize=(max(10, 1.15 * len(words) + 2), 5.2))
    width = 0.8 / max(len(models), 1)
    x = np.arange(len(words))
    allv = []
    for k, m in enumerate(models):
        vals = np.array([s.metric(m, w, "all", None, metric) for w in words], float)
        mean, lo, hi = vals[:, 0], vals[:, 1], vals[:, 2]
        allv += list(mean) + list(lo) + list(hi)
        xs = x - 0.4 + width * (k + 0.5)
        ax.bar(xs, np.nan_to_num(mean), width * 0.92, color=col[m], label=m, edgecolor="white", linewidth=0.5)
        if np.isfinite(lo).any():
            ax.errorbar(xs, mean, yerr=_yerr(mean, lo, hi), fmt="none", ecolor="#333333", elinewidth=0.9,
                        capsize=2)
        for xi, mi in zip(xs, mean):
            if not np.isfinite(mi):
                ax.text(xi, 0, "none", rotation=90, ha="center", va="bottom", fontsize=7, color="#666666")
    if _use_log(allv):
        ax.set_yscale("log")
        ax.set_ylabel(_ylabel(metric) + ", log scale")
    else:
        ax.set_ylabel(_ylabel(metric))
    ax.set_xticks(x, words)
    ax.set_xlabel("target word")
    ci = " with 95% bootstrap CIs" if METRICS[metric]["cols"][1] else ""
    ax.set_title(f"Model comparison: {METRICS[metric]['title']}{ci}\nall samples; 'none' = no occurrence")
    ax.legend(title="model", ncols=len(models), loc="lower center", bbox_to_anchor=(0.5, 1.13), frameon=False)
    return [_save(fig, outdir, f"model_comparison_{metric}.png")]


def level_analysis(res: Results, s: Summary, outdir: str, metric: str) -> list[str]:
    models, words = s.models, s.words
    col, mk = style.model_colours(models), style.model_markers(models)
    levels = [1, 2, 3, 4, 5]
    ncol = 5
    nrow = math.ceil(len(words) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.9 * nrow), squeeze=False)
    # one scale for every panel, so that panels read alike
    log = _use_log([s.metric(m, w, "level", lv, metric)[0] for m in models for w in words for lv in levels])
    for wi, w in enumerate(words):
        ax = axes[wi // ncol][wi % ncol]
        for k, m in enumerate(models):
            vals = np.array([s.metric(m, w, "level", lv, metric) for lv in levels], float)
            mean, lo, hi = vals[:, 0], vals[:, 1], vals[:, 2]
            t = s.level_test(m, w, metric)
            if t is not None and np.isfinite(_f(t.get("spearman_rho"))):
                lab = f"{m}: \u03c1={_f(t['spearman_rho']):+.2f}, q={fmt_p(t.get('spearman_q'))}"
            elif t is not None:
                lab = f"{m}: \u03c1 n/a ({s.reason(t.get('spearman_reason'))})"
            else:
                lab = f"{m}: \u03c1 not in file"
            xs = np.array(levels) + (k - (len(models) - 1) / 2) * 0.08
            ax.errorbar(xs, mean, yerr=_yerr(mean, lo, hi) if np.isfinite(lo).any() else None, color=col[m],
                        marker=mk[m], markersize=4, linewidth=1.4, capsize=2, label=lab)
        if log:
            ax.set_yscale("log")
        ax.set_title(f"\u201c{w}\u201d")
        ax.set_xticks(levels)
        ax.set_xlabel("difficulty level")
        if wi % ncol == 0:
            ax.set_ylabel(_ylabel(metric) + (", log scale" if log else ""), fontsize=8)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=7, frameon=False, handlelength=1.5)
    for j in range(len(words), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    fig.suptitle(f"Level analysis: {METRICS[metric]['title']} by difficulty level (mean, 95% CI)\n"
                 "legend: Spearman \u03c1 across levels per model, q = Benjamini\u2013Hochberg adjusted p",
                 fontsize=11)
    return [_save(fig, outdir, f"level_analysis_{metric}.png")]


def correctness_comparison(res: Results, s: Summary, outdir: str, metric: str) -> list[str]:
    models, words = s.models, s.words
    fig, axes = plt.subplots(len(models), 1, figsize=(max(10, 1.15 * len(words) + 2), 3.4 * len(models) + 0.8),
                             squeeze=False, sharex=True)
    x = np.arange(len(words))
    for mi, m in enumerate(models):
        ax = axes[mi][0]
        allv = []
        tops = np.zeros(len(words))
        for k, c in enumerate([True, False]):
            vals = np.array([s.metric(m, w, "correct", c, metric) for w in words], float)
            mean, lo, hi = vals[:, 0], vals[:, 1], vals[:, 2]
            allv += list(mean) + list(hi)
            xs = x - 0.2 + 0.4 * k
            ax.bar(xs, np.nan_to_num(mean), 0.38, color=style.CORRECT_COLOURS[c], label=style.CORRECT_LABELS[c])
            if np.isfinite(lo).any():
                ax.errorbar(xs, mean, yerr=_yerr(mean, lo, hi), fmt="none", ecolor="#333333", elinewidth=0.9,
                            capsize=2)
            tops = np.fmax(tops, np.where(np.isfinite(hi), hi, np.nan_to_num(mean)))
        log = _use_log(allv)
        if log:
            ax.set_yscale("log")
        for wi, w in enumerate(words):
            t = s.correct_test(m, w, metric)
            lab = f"t {stars(t.get('welch_q')) if t else 'n/a'}\nU {stars(t.get('mwu_q')) if t else 'n/a'}"
            ax.annotate(lab, (wi, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom", fontsize=7,
                        color="#333333")
        ax.set_ylabel(_ylabel(metric) + (", log" if log else ""), fontsize=8)
        ax.set_title(f"{m}", loc="left", pad=24)
        if mi == 0:
            ax.legend(ncols=2, loc="upper right", bbox_to_anchor=(1.0, 1.32), frameon=False)
    axes[-1][0].set_xticks(x, words)
    axes[-1][0].set_xlabel("target word")
    fig.suptitle(f"Correct vs incorrect answers: {METRICS[metric]['title']} (mean, 95% CI)\n"
                 "above each word: Welch t (t) and Mann\u2013Whitney U (U), BH-adjusted: "
                 "*** q<0.001, ** q<0.01, * q<0.05, ns not significant", fontsize=10)
    return [_save(fig, outdir, f"correctness_comparison_{metric}.png")]


def distributions(res: Results, outdir: str) -> list[str]:
    models, words = [m for m in res.models if m in res.model_data], res.target_words
    col = style.model_colours(res.models)
    fig, ax = plt.subplots(figsize=(max(11, 1.3 * len(words) + 2), 5.5))
    width = 0.8 / max(len(models), 1)
    handles = []
    for k, m in enumerate(models):
        probs = occurrence_probs(res, m)
        for wi in range(len(words)):
            p = probs[wi]
            xpos = wi - 0.4 + width * (k + 0.5)
            if len(p) == 0:
                ax.text(xpos, 0.5, "none", rotation=90, ha="center", va="center", fontsize=7, color="#666666",
                        transform=ax.get_xaxis_transform())
                continue
            lp = np.log10(np.clip(p, 1e-30, 1))
            if len(p) >= 3 and np.ptp(lp) > 0:
                v = ax.violinplot([lp], positions=[xpos], widths=width * 0.95, showextrema=False)
                for b in v["bodies"]:
                    b.set_facecolor(col[m])
                    b.set_edgecolor(col[m])
                    b.set_alpha(0.45)
            ax.boxplot([lp], positions=[xpos], widths=width * 0.35, showfliers=False, patch_artist=True,
                       boxprops=dict(facecolor="white", edgecolor=col[m]), medianprops=dict(color="black"),
                       whiskerprops=dict(color=col[m]), capprops=dict(color=col[m]))
            ax.scatter(np.full(len(lp), xpos) + (np.random.default_rng(wi).random(len(lp)) - 0.5) * width * 0.5,
                       lp, s=3, color=col[m], alpha=0.5, linewidths=0)
        handles.append(Rectangle((0, 0), 1, 1, color=col[m], alpha=0.6, label=m))
    ax.set_xticks(np.arange(len(words)), words)
    ax.set_xlabel("target word")
    ax.set_ylabel("log10 occurrence probability (probability 0\u20131, log10 scale)")
    ax.set_title("Distribution of the probability each model gave the word where it occurs\n"
                 "violin = density, box = quartiles and median, dots = occurrences (aligned only)")
    ax.legend(handles=handles, title="model", ncols=len(models), loc="lower center", bbox_to_anchor=(0.5, 1.13),
              frameon=False)
    return [_save(fig, outdir, "distributions_occurrence_prob.png")]


def logits_heatmap(res: Results, outdir: str, sample: int, max_positions: int) -> tuple[list[str], dict]:
    """Target-word log-probs over the answer positions of one sample, per
    model, and each model minus the first (where tokenizations agree)."""
    models = [m for m in res.models if m in res.model_data]
    views = {m: sample_view(res, m, sample, max_positions) for m in models}
    ref = models[0]
    same = {m: np.array_equal(views[m].token_ids, views[ref].token_ids) for m in models}
    diffs = [m for m in models[1:] if same[m]]
    labels, decoded = token_labels(res.model_data[ref], views[ref].token_ids, res.path)
    P = len(views[ref].positions)
    W = len(res.target_words)
    nrow = len(models) + len(diffs)
    fig, axes = plt.subplots(nrow, 1, figsize=(max(10, 0.17 * P + 3), 0.28 * W * nrow + 2.5), squeeze=False,
                             sharex=True)
    finite = np.concatenate([views[m].word_logprob[np.isfinite(views[m].word_logprob)] for m in models])
    vmin, vmax = (np.percentile(finite, 1), np.max(finite)) if finite.size else (-20, 0)
    row = 0
    for m in models:
        ax = axes[row][0]
        v = views[m]
        im = ax.imshow(v.word_logprob, aspect="auto", cmap=style.SEQ_CMAP, vmin=vmin, vmax=vmax,
                       interpolation="nearest")
        for pos, w in v.occurrences:
            xi = pos - v.positions[0]
            ax.add_patch(Rectangle((xi - 0.5, w - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.2))
            ax.add_patch(Rectangle((xi - 0.5, w - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=0.9))
        ax.set_yticks(range(W), res.target_words, fontsize=7)
        ax.set_title(f"{m}: log P(word at position | preceding tokens)", loc="left", fontsize=9)
        ax.grid(False)
        fig.colorbar(im, ax=ax, label="log-prob (nats)", pad=0.01, fraction=0.03)
        row += 1
    for m in diffs:
        ax = axes[row][0]
        d = views[m].word_logprob - views[ref].word_logprob
        lim = np.nanmax(np.abs(d)) if np.isfinite(d).any() else 1.0
        im = ax.imshow(d, aspect="auto", cmap=style.DIV_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_yticks(range(W), res.target_words, fontsize=7)
        ax.set_title(f"{m} \u2212 {ref}: difference of log-probs", loc="left", fontsize=9)
        ax.grid(False)
        fig.colorbar(im, ax=ax, label="\u0394 log-prob (nats)", pad=0.01, fraction=0.03)
        row += 1
    ax = axes[-1][0]
    ax.set_xticks(range(P), labels, rotation=90, fontsize=6)
    ax.set_xlabel("answer token (" + ("decoded with the model's tokenizer; \u2423 = space" if decoded
                                      else "token id; tokenizer not found at the model path") + ")")
    lvl = int(res.level[sample])
    corr = {1: "correct", 0: "incorrect"}.get(int(res.is_correct[sample]), "correctness unknown")
    not_same = [m for m in models[1:] if not same[m]]
    note = f"; no difference for {', '.join(not_same)} (different tokenization)" if not_same else ""
    fig.suptitle(f"Target-word log-probs over the answer of sample {sample} (level {lvl}, {corr}); "
                 f"first {P} answer tokens\nword = summed probability of its single-token forms; "
                 f"outlined cells = occurrences of the word{note}", fontsize=10)
    info = {"sample": sample, "level": lvl, "correct": corr, "positions": P, "decoded": decoded,
            "difference_models": diffs}
    return [_save(fig, outdir, "logits_heatmap.png")], info


def model_pairs(res: Results, s: Summary, outdir: str) -> list[str]:
    """Paired model differences of per-sample propensity per word (the
    reducer's mean difference, 95% CI and Wilcoxon q), one panel per pair."""
    pairs = sorted({(r["model_a"], r["model_b"]) for r in s.pairs},
                   key=lambda ab: (s.models.index(ab[0]) if ab[0] in s.models else 99,
                                   s.models.index(ab[1]) if ab[1] in s.models else 99))
    if not pairs:
        return []
    words = s.words
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs) + 1.5, 0.42 * len(words) + 2.2),
                             squeeze=False, sharey=True)
    y = np.arange(len(words))[::-1]
    for k, (a, b) in enumerate(pairs):
        ax = axes[0][k]
        rows = {r["word"]: r for r in s.pairs if r["model_a"] == a and r["model_b"] == b}
        mean = np.array([_f(rows.get(w, {}).get("diff_mean")) for w in words])
        lo = np.array([_f(rows.get(w, {}).get("diff_ci_lo")) for w in words])
        hi = np.array([_f(rows.get(w, {}).get("diff_ci_hi")) for w in words])
        qs = [rows.get(w, {}).get("wilcoxon_q") for w in words]
        sig = np.array([_f(q) < 0.05 for q in qs])
        ax.axvline(0, color="#777777", linewidth=0.8)
        ax.errorbar(mean, y, xerr=_yerr(mean, lo, hi), fmt="none", ecolor="#333333", elinewidth=1, capsize=2)
        ax.scatter(mean[~sig], y[~sig], marker="o", facecolors="white", edgecolors="#0072B2", zorder=3,
                   label="q \u2265 0.05")
        ax.scatter(mean[sig], y[sig], marker="o", color="#D55E00", zorder=3, label="q < 0.05")
        for yi, q in zip(y, qs):
            ax.annotate(f"q={fmt_p(q)}", (1.0, yi), xycoords=("axes fraction", "data"), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7, color="#333333")
        ax.set_title(f"{a} \u2212 {b}", fontsize=10)
        ax.set_xlabel("\u0394 propensity (probability, 0\u20131)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
        if k == 0:
            ax.set_yticks(y, words)
            ax.set_ylabel("target word")
    axes[0][-1].legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncols=2, frameon=False, fontsize=8)
    fig.suptitle("Paired model differences on the same samples: per-sample propensity, mean difference with "
                 "95% bootstrap CI\nq = Wilcoxon signed-rank p, Benjamini\u2013Hochberg adjusted", fontsize=10)
    return [_save(fig, outdir, "model_pairs_propensity.png")]
