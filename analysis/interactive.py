"""Interactive pages (plotly): target_token_probabilities.html and the
self-contained dashboard.html. plotly.js is inlined (no CDN: the machine that
opens the page may be offline)."""

from __future__ import annotations

import base64
import html
import json
import math
import os

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from . import style
from .h5io import Results
from .summary import METRICS, Summary, fmt_num, fmt_p, stars
from .tokens import token_labels
from .views import sample_view

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def _axis_type(values) -> str:
    """'log' when positive values span more than ~2 decades (the static figures' rule)."""
    v = [x for x in (_f(y) for y in values) if x is not None and x > 0]
    return "log" if len(v) > 1 and max(v) / min(v) > 50 else "linear"


def _f(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def target_probabilities_figure(res: Results, samples: list[int], max_positions: int) -> go.Figure:
    models = [m for m in res.models if m in res.model_data]
    words = res.target_words
    colours = {w: c for w, c in zip(words, (style.OKABE_ITO * 3)[: len(words)])}
    dashes = ["solid", "dash", "dot", "dashdot"]
    fig = make_subplots(rows=len(models), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{m}" for m in models])
    vis_by_sample = []
    first = True
    for si, i in enumerate(samples):
        idx = []
        for r, m in enumerate(models):
            v = sample_view(res, m, i, max_positions)
            labels, _ = token_labels(res.model_data[m], v.token_ids, res.path, max_len=30)
            x = (v.positions - v.positions[0]).tolist()
            for wi, w in enumerate(words):
                y = np.exp(v.word_logprob[wi])
                fig.add_trace(
                    go.Scatter(
                        x=x, y=[_f(t) for t in y], mode="lines", name=w, legendgroup=w,
                        showlegend=(r == 0), visible=first,
                        line=dict(color=colours[w], width=1.3, dash=dashes[(wi // 8) % len(dashes)]),
                        customdata=labels,
                        hovertemplate=f"<b>{html.escape(w)}</b> ({html.escape(m)})<br>answer token %{{x}}: "
                                      "%{customdata}<br>P = %{y:.3g}<extra></extra>",
                    ),
                    row=r + 1, col=1,
                )
                idx.append(len(fig.data) - 1)
            occ_x = [p - int(v.positions[0]) for p, _ in v.occurrences]
            occ_y = [_f(np.exp(v.word_logprob[wd, p - int(v.positions[0])])) for p, wd in v.occurrences]
            occ_t = [words[wd] for _, wd in v.occurrences]
            fig.add_trace(
                go.Scatter(x=occ_x, y=occ_y, mode="markers", name="occurrence", legendgroup="occ",
                           showlegend=(r == 0), visible=first,
                           marker=dict(symbol="x", size=8, color="#000000"), text=occ_t,
                           hovertemplate="occurrence of <b>%{text}</b> at answer token %{x}"
                                         "<br>P = %{y:.3g}<extra></extra>"),
                row=r + 1, col=1,
            )
            idx.append(len(fig.data) - 1)
        vis_by_sample.append(idx)
        first = False
    n = len(fig.data)
    buttons = []
    for si, i in enumerate(samples):
        vis = [False] * n
        for j in vis_by_sample[si]:
            vis[j] = True
        lvl = int(res.level[i])
        corr = {1: "correct", 0: "incorrect"}.get(int(res.is_correct[i]), "unknown")
        buttons.append(dict(label=f"sample {i} (level {lvl}, {corr})", method="update", args=[{"visible": vis}]))
    for r in range(len(models)):
        fig.update_yaxes(type="log", title_text="P(word) (probability, log)", row=r + 1, col=1)
    fig.update_xaxes(title_text="answer token index (hover for the token)", row=len(models), col=1)
    fig.update_layout(
        title="Target-word probability at every answer position (single-token forms summed)",
        height=260 * len(models) + 160, template="plotly_white", hovermode="closest",
        updatemenus=[dict(buttons=buttons, direction="down", x=0, xanchor="left", y=1.12, yanchor="bottom")],
        legend=dict(title="word"), margin=dict(t=120),
    )
    return fig


def write_target_probabilities(res: Results, outdir: str, samples: list[int], max_positions: int) -> str:
    fig = target_probabilities_figure(res, samples, max_positions)
    fig.update_yaxes(exponentformat="power")
    path = os.path.join(outdir, "target_token_probabilities.html")
    fig.write_html(path, include_plotlyjs=True, full_html=True, config=PLOT_CONFIG)
    return path


def model_comparison_figure(s: Summary) -> go.Figure:
    colours = style.model_colours(s.models)
    metrics = [m for m in METRICS if s.has_metric(m)]
    fig = go.Figure()
    groups = []
    for mi, metric in enumerate(metrics):
        idx = []
        for m in s.models:
            vals = [s.metric(m, w, "all", None, metric) for w in s.words]
            mean = [_f(v[0]) for v in vals]
            plus = [(_f(v[2] - v[0]) if _f(v[2]) is not None and _f(v[0]) is not None else None) for v in vals]
            minus = [(_f(v[0] - v[1]) if _f(v[1]) is not None and _f(v[0]) is not None else None) for v in vals]
            has_ci = any(p is not None for p in plus)
            fig.add_trace(go.Bar(
                x=s.words, y=mean, name=m, marker_color=colours[m], visible=(mi == 0), legendgroup=m,
                error_y=dict(type="data", array=plus, arrayminus=minus, visible=has_ci),
                hovertemplate=f"{html.escape(m)} \u2013 %{{x}}: %{{y:.4g}}<extra></extra>"))
            idx.append(len(fig.data) - 1)
        groups.append(idx)
    buttons, types = [], []
    for mi, metric in enumerate(metrics):
        vis = [False] * len(fig.data)
        for j in groups[mi]:
            vis[j] = True
        ytype = _axis_type(v[0] for m in s.models for w in s.words for v in [s.metric(m, w, "all", None, metric)])
        types.append(ytype)
        buttons.append(dict(label=METRICS[metric]["label"], method="update",
                            args=[{"visible": vis}, {"yaxis.title.text": f"{METRICS[metric]['label']} "
                                                                          f"({METRICS[metric]['unit']})",
                                                     "yaxis.type": ytype}]))
    m0 = metrics[0] if metrics else "occurrence_prob"
    fig.update_layout(
        barmode="group", template="plotly_white", height=460,
        title="Model comparison per word (all samples; 95% bootstrap CI where the reducer gives one)",
        xaxis_title="target word", yaxis_title=f"{METRICS[m0]['label']} ({METRICS[m0]['unit']})",
        updatemenus=[dict(buttons=buttons, x=1, xanchor="right", y=1.15, yanchor="bottom")],
        legend=dict(title="model"), yaxis_type=types[0] if types else "linear")
    return fig


def primary_figure(s: Summary) -> go.Figure:
    """The primary effects per word as ratios (log axis) with their 95% intervals, one trace per model pair;
    a menu switches between the pair effect, the level trend and the correctness effect."""
    pairs = []
    for t in s.primary:
        key = (t["model_a"], t["model_b"])
        if key not in pairs:
            pairs.append(key)
    colours = {p: style.OKABE_ITO[i % len(style.OKABE_ITO)] for i, p in enumerate(pairs)}
    tests = ["pair_effect", "level_trend", "correctness"]
    fig = go.Figure()
    groups = []
    for ti, test in enumerate(tests):
        idx = []
        for pa in pairs:
            rows = {t["word"]: t for t in s.primary if (t["model_a"], t["model_b"]) == pa and t["test"] == test}
            y = [_f(rows[w]["ratio"]) if w in rows else None for w in s.words]
            hi = [_f(rows[w]["ratio_hi"]) if w in rows else None for w in s.words]
            lo = [_f(rows[w]["ratio_lo"]) if w in rows else None for w in s.words]
            plus = [h - v if h is not None and v is not None else None for h, v in zip(hi, y)]
            minus = [v - q if q is not None and v is not None else None for q, v in zip(lo, y)]
            label = f"{pa[1]} vs {pa[0]}"
            fig.add_trace(go.Scatter(
                x=s.words, y=y, mode="markers", name=label, marker=dict(color=colours[pa], size=10),
                visible=(ti == 0), error_y=dict(type="data", array=plus, arrayminus=minus, visible=True),
                hovertemplate=f"{html.escape(label)} \u2013 %{{x}}: ratio %{{y:.4g}}<extra></extra>"))
            idx.append(len(fig.data) - 1)
        groups.append(idx)
    buttons = []
    for ti, test in enumerate(tests):
        vis = [False] * len(fig.data)
        for j in groups[ti]:
            vis[j] = True
        buttons.append(dict(label=TEST_LABELS[test], method="update", args=[{"visible": vis}]))
    fig.add_hline(y=1.0, line_dash="dot", line_color="#777")
    fig.update_layout(template="plotly_white", height=420, yaxis_type="log",
                      title="Primary effects as ratios b/a with 95% intervals (1 = no difference)",
                      xaxis_title="target word", yaxis_title="ratio (log scale)",
                      updatemenus=[dict(buttons=buttons, x=1, xanchor="right", y=1.15, yanchor="bottom")],
                      legend=dict(title="models"))
    return fig


def level_figure(s: Summary, metric: str) -> go.Figure:
    colours = style.model_colours(s.models)
    ncol = 5
    nrow = math.ceil(len(s.words) / ncol)
    fig = make_subplots(rows=nrow, cols=ncol, subplot_titles=s.words, vertical_spacing=0.16,
                        horizontal_spacing=0.05)
    levels = [1, 2, 3, 4, 5]
    for wi, w in enumerate(s.words):
        for m in s.models:
            vals = [s.metric(m, w, "level", lv, metric) for lv in levels]
            t = s.level_test(m, w, metric)
            rho = (f"Spearman \u03c1={fmt_num(t.get('spearman_rho'), '+.3f')}, q={fmt_p(t.get('spearman_q'))}; "
                   f"Kruskal H={fmt_num(t.get('kruskal_h'))}, q={fmt_p(t.get('kruskal_q'))}") if t else "no test"
            fig.add_trace(go.Scatter(
                x=levels, y=[_f(v[0]) for v in vals], mode="lines+markers", name=m, legendgroup=m,
                showlegend=(wi == 0), line=dict(color=colours[m]),
                error_y=dict(type="data", array=[_f(v[2] - v[0]) for v in vals],
                             arrayminus=[_f(v[0] - v[1]) for v in vals], visible=True, thickness=1),
                hovertemplate=f"{html.escape(m)}, {html.escape(w)}, level %{{x}}: %{{y:.4g}}"
                              f"<br>{html.escape(rho)}<extra></extra>"),
                row=wi // ncol + 1, col=wi % ncol + 1)
    fig.update_xaxes(tickvals=levels, title_text="level")
    fig.update_yaxes(type=_axis_type(s.metric(m, w, "level", lv, metric)[0] for m in s.models for w in s.words
                                     for lv in levels))
    fig.update_layout(template="plotly_white", height=330 * nrow + 80,
                      title=f"{METRICS[metric]['label']} ({METRICS[metric]['unit']}) by difficulty level "
                            "(hover for Spearman \u03c1 and BH q)")
    return fig


def correctness_figure(s: Summary, metric: str) -> go.Figure:
    fig = make_subplots(rows=len(s.models), cols=1, shared_xaxes=True, subplot_titles=s.models,
                        vertical_spacing=0.08)
    for r, m in enumerate(s.models):
        for c in (True, False):
            vals = [s.metric(m, w, "correct", c, metric) for w in s.words]
            hover = []
            for w in s.words:
                t = s.correct_test(m, w, metric) or {}
                hover.append(
                    f"n = {t.get('n_correct', 'n/a')} / {t.get('n_incorrect', 'n/a')}"
                    f"<br>Welch t={fmt_num(t.get('welch_t'))}: p={fmt_p(t.get('welch_p'))}, "
                    f"q={fmt_p(t.get('welch_q'))}<br>Mann\u2013Whitney U={fmt_num(t.get('mwu_u'))}: "
                    f"p={fmt_p(t.get('mwu_p'))}, q={fmt_p(t.get('mwu_q'))}"
                    f"<br>Cohen's d={fmt_num(t.get('cohen_d'))}, rank-biserial r={fmt_num(t.get('rank_biserial'))}")
            fig.add_trace(go.Bar(
                x=s.words, y=[_f(v[0]) for v in vals], name=style.CORRECT_LABELS[c],
                marker_color=style.CORRECT_COLOURS[c], legendgroup=str(c), showlegend=(r == 0),
                error_y=dict(type="data", array=[_f(v[2] - v[0]) for v in vals],
                             arrayminus=[_f(v[0] - v[1]) for v in vals], visible=True),
                customdata=hover,
                hovertemplate="%{x}: %{y:.4g}<br>%{customdata}<extra>" + style.CORRECT_LABELS[c] + "</extra>"),
                row=r + 1, col=1)
        fig.update_yaxes(title_text=METRICS[metric]["label"], row=r + 1, col=1,
                         type=_axis_type(s.metric(m, w, "correct", c, metric)[0] for w in s.words
                                         for c in (True, False)))
    fig.update_layout(barmode="group", template="plotly_white", height=260 * len(s.models) + 120,
                      title=f"Correct vs incorrect: {METRICS[metric]['label']} ({METRICS[metric]['unit']}); "
                            "hover for the tests")
    return fig


def heatmap_figure(res: Results, sample: int, max_positions: int) -> go.Figure:
    models = [m for m in res.models if m in res.model_data]
    fig = make_subplots(rows=len(models), cols=1, shared_xaxes=True, subplot_titles=models,
                        vertical_spacing=0.06)
    for r, m in enumerate(models):
        v = sample_view(res, m, sample, max_positions)
        labels, _ = token_labels(res.model_data[m], v.token_ids, res.path, max_len=30)
        z = [[_f(x) for x in row] for row in v.word_logprob]
        fig.add_trace(go.Heatmap(
            z=z, y=res.target_words, x=list(range(len(labels))), colorscale=style.PLOTLY_SEQ,
            customdata=[labels] * len(res.target_words), showscale=(r == 0),
            colorbar=dict(title="log-prob (nats)"),
            hovertemplate=f"{html.escape(m)}: %{{y}} at token %{{x}} (%{{customdata}})"
                          "<br>log P = %{z:.3f} nats<extra></extra>"),
            row=r + 1, col=1)
    fig.update_xaxes(title_text="answer token index (hover for the token)", row=len(models), col=1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(template="plotly_white", height=230 * len(models) + 100,
                      title=f"Target-word log-probs over the answer of sample {sample}")
    return fig


def _table(headers, rows, cls="") -> str:
    h = "".join(f"<th>{html.escape(str(x))}</th>" for x in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def _esc(x) -> str:
    return html.escape("" if x is None else str(x))


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#0b3d63;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px 0;font-size:22px} header p{margin:0;opacity:.85}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:8px 28px;z-index:5}
nav a{margin-right:16px;color:#0b3d63;text-decoration:none;font-size:14px}
main{padding:10px 28px 40px 28px;max-width:1500px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:14px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8} td.num{text-align:right;font-variant-numeric:tabular-nums}
.sig{font-weight:600;color:#0b3d63} .muted{color:#777;font-size:13px}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:300px;font-size:12px}
.warn{background:#fff4e5;border:1px solid #e69f00;padding:8px 12px;border-radius:4px}
"""


def write_dashboard(res: Results, s: Summary | None, outdir: str, pngs: list[str], heat_info: dict | None,
                    max_positions: int, notes: list[str], sections: list | None = None) -> str:
    """sections: extra (id, title, html) sections shown before the tests (e.g. the model pairs)."""
    sections = sections or []
    plots = []  # (section id, title, html)
    if s is not None:
        plots.append(("models", "Model comparison", model_comparison_figure(s)))
        if s.has_metric("occurrence_prob"):
            plots.append(("levels", "Level analysis", level_figure(s, "occurrence_prob")))
            plots.append(("correctness", "Correct vs incorrect", correctness_figure(s, "occurrence_prob")))
    if heat_info is not None:
        plots.append(("heatmap", "Sample heatmap", heatmap_figure(res, heat_info["sample"], max_positions)))

    a = res.attrs
    meta_rows = []
    for k in ("tool_version", "git_commit", "created", "complete", "schema_version", "data_path", "data_sha256",
              "world_size", "dp_size", "tp_size", "models", "target_words"):
        if k in a:
            v = ", ".join(map(str, a[k])) if isinstance(a[k], list) else a[k]
            meta_rows.append([f"<code>{_esc(k)}</code>", _esc(v)])
    model_rows = []
    for m in res.models:
        md = res.model_data.get(m)
        if md is None:
            model_rows.append([_esc(m), "missing from the file", "", "", "", ""])
            continue
        at = md.attrs
        arch = ""
        try:
            cj = json.loads(at.get("config_json", "") or "{}")
            arch = ", ".join(f"{k}={cj[k]}" for k in ("hidden_size", "num_hidden_layers", "vocab_size") if k in cj)
        except (ValueError, TypeError):
            pass
        model_rows.append([_esc(m), f"<code>{_esc(at.get('path'))}</code>", _esc(at.get("n_params")),
                           _esc(at.get("tokens_total")), _esc(at.get("answer_tokens_total")), _esc(arch)])
    # sample counts by level x correctness (a count of /samples rows, for context)
    lv, ic = res.level, res.is_correct
    cnt_rows = []
    for L in sorted(set(int(x) for x in lv)):
        sel = lv == L
        cnt_rows.append([f"level {L}", str(int((sel & (ic == 1)).sum())), str(int((sel & (ic == 0)).sum())),
                         str(int((sel & (ic == -1)).sum())), str(int(sel.sum()))])

    test_tables = _test_tables(s) if s is not None else []
    primary = _primary_table(s) if s is not None else None
    coverage = _coverage_table(res)

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>logits-study dashboard</title>",
        f"<style>{CSS}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script>",
        "</head><body>",
        "<header><h1>logits-study: reasoning-word probabilities</h1>",
        f"<p>{_esc(os.path.basename(res.path))} &middot; models: {_esc(', '.join(res.models))} &middot; "
        f"{len(res.level)} samples &middot; created {_esc(a.get('created', '?'))}</p></header>",
        "<nav><a href='#primary'>Primary results</a><a href='#run'>Run</a><a href='#coverage'>Word forms</a>"
        + "".join(f"<a href='#{sid}'>{_esc(t)}</a>" for sid, t, _ in plots)
        + "".join(f"<a href='#{sid}'>{_esc(t)}</a>" for sid, t, _ in sections)
        + "<a href='#tests'>Tests</a><a href='#figures'>Figures</a></nav><main>",
    ]
    if not res.complete:
        parts.append("<div class='warn'><b>Incomplete file</b> (root attribute complete != 1): shown with "
                     "--allow-incomplete; numbers may be partial.</div>")
    for n in notes:
        parts.append(f"<div class='warn'>{_esc(n)}</div>")
    parts.append("<section id='primary'><h2>Primary results</h2>")
    if primary:
        fig = primary_figure(s)
        fig.update_yaxes(exponentformat="power")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG,
                                 div_id="plot-primary"))
        parts.append(primary)
    else:
        parts.append("<p class='muted'>This file has no /summary/primary (reduce it again with this version).</p>")
    parts.append("</section>")
    parts.append("<section id='run'><h2>Run</h2>" + _table(["attribute", "value"], meta_rows))
    parts.append("<h3>Models</h3>" + _table(["model", "path", "parameters", "tokens", "answer tokens",
                                             "config"], model_rows))
    parts.append("<h3>Samples</h3>" + _table(["level", "correct", "incorrect", "unknown", "total"], cnt_rows))
    if s is not None and s.length:
        if int(s.attrs.get("length_policy_warning", 0)) == 1:
            parts.append("<div class='warn'><b>Skip, truncation or window rates differ across levels or "
                         "correctness</b>: long answers are treated unevenly, so the group comparisons may be "
                         "biased (docs/statistics.md).</div>")

        def count(r, k):  # -1: the file does not say
            v = r.get(k)
            return "?" if v is None or int(v) < 0 else _esc(v)

        lrows = [[_esc(r["group"]), _esc(r["kept"]), count(r, "skipped"), fmt_num(r.get("rate"), ".3f"),
                  count(r, "truncated"), fmt_num(r.get("truncated_rate"), ".3f"), count(r, "windowed"),
                  fmt_num(r.get("windowed_rate"), ".3f")] for r in s.length]
        parts.append("<h3>Long records: skipped, truncated, scored in windows</h3>"
                     + _table(["group", "run", "skipped", "skip rate", "truncated", "truncation rate",
                               "windowed", "window rate"], lrows)
                     + "<p class='muted'>skipped: too long (on_long_record: skip) or bad; truncated: the answer "
                       "cut to a model's window; windowed: scored in overlapping windows (each position with at "
                       "least min_context tokens of context). ?: the file does not say.</p>")
    if a.get("run_config"):
        parts.append(f"<details><summary>run config</summary><pre>{_esc(a['run_config'])}</pre></details>")
    parts.append("<p class='muted'>Interactive per-position view: "
                 "<a href='target_token_probabilities.html'>target_token_probabilities.html</a>; "
                 "all numbers: <a href='analysis_results.json'>analysis_results.json</a> "
                 "(the file's /summary tables, as written by the reducer).</p></section>")
    parts.append("<section id='coverage'><h2>What each word's propensity covers</h2>" + coverage + "</section>")
    for sid, title, fig in plots:
        fig.update_yaxes(exponentformat="power")  # 10^-6, not SI prefixes (1µ) for probabilities
        parts.append(f"<section id='{sid}'><h2>{_esc(title)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG,
                                 div_id=f"plot-{sid}"))
        parts.append("</section>")
    for sid, title, body in sections:
        parts.append(f"<section id='{sid}'><h2>{_esc(title)}</h2>{body}</section>")
    parts.append("<section id='tests'><h2>Descriptive tests (secondary, from /summary)</h2>")
    if test_tables:
        parts.append("<p class='muted'>Descriptive: these tests pool levels, do not adjust for answer length, "
                     "and the occurrence_prob rows treat the occurrences of one answer as independent; their "
                     "q = Benjamini\u2013Hochberg adjusted p within small families (docs/hdf5-layout.md), not "
                     "across the file. The primary results above are the study's tests; "
                     "<span class='sig'>bold</span>: q &lt; 0.05; *** q&lt;0.001, ** q&lt;0.01, * q&lt;0.05. "
                     "n/a: the reason column says why (e.g. too few occurrences).</p>")
        for title, headers, rows in test_tables:
            parts.append(f"<h3>{_esc(title)}</h3>" + _table(headers, rows))
    else:
        parts.append("<p class='muted'>No test tables in this file.</p>")
    parts.append("</section><section id='figures'><h2>Static figures</h2>")
    for p in pngs:
        with open(p, "rb") as fh:
            b64 = base64.b64encode(fh.read()).decode("ascii")
        name = os.path.basename(p)
        parts.append(f"<h3>{_esc(name)}</h3><img alt='{_esc(name)}' src='data:image/png;base64,{b64}'>")
    parts.append("</section></main></body></html>")
    path = os.path.join(outdir, "dashboard.html")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(parts))
    return path


TEST_LABELS = {"pair_effect": "pair effect (b/a)", "level_trend": "level trend (per level)",
               "correctness": "correct / incorrect"}


def _primary_table(s: Summary) -> str | None:
    """The primary tests: ratio with its interval, every p with its n, BH q over the file."""
    if not s.primary:
        return None
    a = s.attrs
    min_g = int(a.get("min_clusters", 10))
    rows = []
    for t in s.primary:
        ok = int(t.get("reason", 0)) == 0
        sig = ok and int(t.get("eligible", 0)) == 1 and (_f(t.get("q")) or 1.0) < 0.05
        ci = (f"{fmt_num(t.get('ratio'))} [{fmt_num(t.get('ratio_lo'))}, {fmt_num(t.get('ratio_hi'))}]"
              if ok else "n/a")
        ci_m = {1: "BCa", 2: "Wald"}.get(int(t.get("ci_method", 0)), "")
        wlo, whi = _f(t.get("wald_lo")), _f(t.get("wald_hi"))
        wald = (f"[{fmt_num(math.exp(wlo))}, {fmt_num(math.exp(whi))}]"
                if ok and wlo is not None and whi is not None else "")
        p = f"{fmt_p(t.get('p'))} ({_esc(s.method(t.get('p_method')))}, {_esc(t.get('p_resamples'))})" if ok else "n/a"
        note = "" if int(t.get("eligible", 0)) else f"below {min_g} clusters" if ok else _esc(s.reason(t.get("reason")))
        rows.append([_esc(f"{t['model_b']} vs {t['model_a']}"), _esc(t["word"]), _esc(TEST_LABELS.get(t["test"], t["test"])),
                     _esc(t.get("n")), _esc(t.get("n_clusters")), f"<span class='{'sig' if sig else ''}'>{ci}</span>",
                     _esc(ci_m), wald, fmt_num(t.get("geomean_a")), fmt_num(t.get("geomean_b")), p,
                     fmt_p(t.get("p_wald")), _q_cell(t.get("q")) if ok else "n/a", note])
    head = ("<p class='muted'>Per model pair and word, d = log propensity(b) \u2212 log propensity(a) of each "
            "sample (both models read the same answer). Ratios are exp(effect): the geometric-mean ratio b/a, "
            "its change per difficulty level, and correct/incorrect \u2014 the last two from one least-squares "
            "fit adjusted for log answer length, with cluster-robust standard errors (their Wald interval, "
            "statsmodels' conf_int(), beside the cluster-bootstrap one). p: sign-flip test over "
            f"clusters (exact up to {_esc(a.get('exact_clusters', 20))} clusters, else "
            f"{_esc(a.get('resamples', '?'))} random flips); q: Benjamini\u2013Hochberg over all "
            f"{len(s.primary)} primary tests. Results on fewer than {min_g} clusters are never marked "
            "significant. docs/statistics.md explains each number.</p>")
    return head + _table(["models", "word", "test", "n", "clusters", "ratio [95% CI]", "CI",
                          "Wald 95% CI", "geo. mean a",
                          "geo. mean b", "p (method, resamples)", "p Wald", "q", "note"], rows)


def _coverage_table(res: Results) -> str:
    """Per model and word: the surface forms the propensity covers (single-token) and those it misses."""
    rows = []
    for m in res.models:
        path = f"models/{m}/forms"
        if path not in res.file:
            continue
        forms = res.file[path][()]
        for wi, w in enumerate(res.target_words):
            sel = forms[forms["word"] == wi]
            cov = [f.decode(errors="replace") if isinstance(f, bytes) else str(f)
                   for f, c in zip(sel["form"], sel["single_token_column"]) if c >= 0]
            miss = [f"{f.decode(errors='replace') if isinstance(f, bytes) else f} ({n} tokens)"
                    for f, c, n in zip(sel["form"], sel["single_token_column"], sel["n_tokens"]) if c < 0]
            rows.append([_esc(m), _esc(w), _esc(", ".join(repr(x) for x in cov) or "none"),
                         _esc(", ".join(repr(x) for x in miss) or "none")])
    if not rows:
        return "<p class='muted'>The file has no /models/&lt;m&gt;/forms table.</p>"
    return ("<p class='muted'>Only single-token forms enter a word's propensity; forms the tokenizer splits are "
            "missed by it (their occurrences are still counted and scored).</p>"
            + _table(["model", "word", "covered (single-token forms)", "missed (multi-token forms)"], rows))


def _q_cell(q) -> str:
    sig = _f(q) is not None and _f(q) < 0.05
    return f'<span class="{"sig" if sig else ""}">{_esc(fmt_p(q))} {_esc(stars(q))}</span>'


def _test_tables(s: Summary):
    out = []
    rows = []
    for (m, w, v), t in sorted(s.correctness.items(), key=lambda kv: (kv[0][2], s.models.index(kv[0][0])
                                                                       if kv[0][0] in s.models else 99,
                                                                       kv[0][1])):
        rows.append([_esc(v), _esc(m), _esc(w), _esc(t.get("n_correct")), _esc(t.get("n_incorrect")),
                     fmt_num(t.get("mean_correct")), fmt_num(t.get("mean_incorrect")),
                     fmt_num(t.get("welch_t")), fmt_p(t.get("welch_p")), _q_cell(t.get("welch_q")),
                     fmt_num(t.get("mwu_u")), fmt_p(t.get("mwu_p")), _q_cell(t.get("mwu_q")),
                     fmt_num(t.get("cohen_d")), fmt_num(t.get("rank_biserial")),
                     _esc(s.reason(t.get("welch_reason")))])
    if rows:
        out.append(("Correct vs incorrect (/summary/correctness)",
                    ["variable", "model", "word", "n correct", "n incorrect", "mean correct", "mean incorrect",
                     "Welch t", "p", "q", "MWU U", "p", "q", "Cohen's d", "rank-biserial", "Welch reason"], rows))
    rows = []
    for (m, w, v), t in sorted(s.levels.items(), key=lambda kv: (kv[0][2], s.models.index(kv[0][0])
                                                                  if kv[0][0] in s.models else 99, kv[0][1])):
        rows.append([_esc(v), _esc(m), _esc(w), _esc(t.get("n")),
                     fmt_num(t.get("spearman_rho"), "+.3f"), fmt_p(t.get("spearman_p")), _q_cell(t.get("spearman_q")),
                     fmt_num(t.get("kruskal_h")), fmt_p(t.get("kruskal_p")),
                     _esc(s.method(t.get("kruskal_method"))) if t.get("kruskal_method") is not None else "",
                     _q_cell(t.get("kruskal_q")), _esc(s.reason(t.get("spearman_reason")))])
    if rows:
        out.append(("Across difficulty levels (/summary/levels)",
                    ["variable", "model", "word", "n", "Spearman \u03c1", "p", "q", "Kruskal H", "p",
                     "p method", "q", "Spearman reason"], rows))
    rows = []
    for t in s.pairs:
        rows.append([_esc(t["model_a"]), _esc(t["model_b"]), _esc(t["word"]), _esc(t.get("n_pairs")),
                     fmt_num(t.get("diff_mean")),
                     f"[{fmt_num(t.get('diff_ci_lo'))}, {fmt_num(t.get('diff_ci_hi'))}]",
                     fmt_num(t.get("wilcoxon_w")), fmt_p(t.get("wilcoxon_p")), _q_cell(t.get("wilcoxon_q")),
                     fmt_num(t.get("wilcoxon_r")), _esc(s.method(t.get("wilcoxon_method"))),
                     _esc(s.reason(t.get("wilcoxon_reason")))])
    if rows:
        out.append(("Paired model comparison, per-sample propensity (/summary/model_pairs)",
                    ["model a", "model b", "word", "pairs", "mean a\u2212b", "95% CI", "Wilcoxon W", "p", "q",
                     "r", "method", "reason"], rows))
    return out
