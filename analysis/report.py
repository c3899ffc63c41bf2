"""Figures, interactive pages and analysis_results.json from a results file.

    python -m analysis.report RESULTS.h5 -o OUTDIR [--sample I] [--max-positions N]
                              [--allow-incomplete]

Reads what the C job wrote (docs/hdf5-layout.md); recomputes nothing the file
already holds. Writes into OUTDIR:

  model_comparison_<metric>.png        per word, per model: the reducer's mean and 95% CI
                                       (metric: occurrence_prob, propensity, occ_per_1k, entropy_occ)
  level_analysis_<metric>.png          trend over levels 1-5 per model, Spearman rho and BH q
  correctness_comparison_<metric>.png  correct vs incorrect per model and word, Welch / MWU q
  logits_heatmap.png                   target-word log-probs over one sample's answer, and
                                       each model minus the first
  distributions_occurrence_prob.png    violin + box of occurrence probabilities
  model_pairs_propensity.png           paired model differences per word, Wilcoxon q
  pair_divergence_<a>__<b>.png         (files with pairs) JS divergence along the heatmap's sample,
                                       target words marked
  pair_occurrence_contrast_<a>__<b>.png  divergence near target words vs elsewhere, by level
  pair_token_shift_<a>__<b>.png        the tokens each training stage shifted most
  lens_<word>.png                      (files with lens) logit-lens curves per model, with intervals
  target_token_probabilities.html      interactive per-position probabilities (plotly)
  dashboard.html                       self-contained page tying everything together
  analysis_results.json                the /summary tables as stored, plus the run's metadata
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .h5io import IncompleteFileError, LayoutError, Results, attr_value, open_results, summary_tree
from .summary import METRICS, load_summary
from .views import choose_sample, top_samples


def metadata(res: Results) -> dict:
    meta = {k: v for k, v in res.attrs.items()}
    meta["models_detail"] = {
        m: {k: v for k, v in md.attrs.items()} for m, md in res.model_data.items()
    }
    return meta


def write_json(res: Results, outdir: str, figures: dict, notes: list[str]) -> str:
    doc = {
        "generator": f"analysis.report {__version__}",
        "source": os.path.abspath(res.path),
        "complete": res.complete,
        "metadata": metadata(res),
        "figures": figures,
        "notes": notes,
        "summary": summary_tree(res.file),
    }
    path = os.path.join(outdir, "analysis_results.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False, allow_nan=False, default=attr_value)
    return path


def run(path: str, outdir: str, sample: int | None = None, max_positions: int = 96,
        allow_incomplete: bool = False, n_interactive: int = 8, log=print) -> dict:
    from . import figures, interactive, pairs

    os.makedirs(outdir, exist_ok=True)
    written: dict[str, list[str]] = {}
    notes: list[str] = []
    with open_results(path, allow_incomplete=allow_incomplete) as res:
        if not res.complete:
            notes.append(f"{path}: incomplete file (complete != 1), read with --allow-incomplete")
        if not res.model_data:
            raise LayoutError(f"{path}: no model group is present")
        s = load_summary(res)
        pngs: list[str] = []
        if s is None:
            notes.append("no /summary in the file: the comparison, level and correctness figures are left out")
        else:
            for miss in s.missing:
                notes.append(f"{miss} missing: the figures that need it are left out")
            for metric in METRICS:
                if not s.has_metric(metric):
                    continue
                pngs += figures.model_comparison(res, s, outdir, metric)
                if METRICS[metric]["variable"]:
                    pngs += figures.level_analysis(res, s, outdir, metric)
                    pngs += figures.correctness_comparison(res, s, outdir, metric)
            pngs += figures.model_pairs(res, s, outdir)
        n = len(res.level)
        if sample is None:
            sample = choose_sample(res, max_positions)
        elif not 0 <= sample < n:
            raise ValueError(f"--sample {sample}: the file has samples 0..{n - 1}")
        heat, heat_info = figures.logits_heatmap(res, outdir, sample, max_positions)
        pngs += heat
        pngs += figures.distributions(res, outdir)
        pair_pngs, pair_html = pairs.report_pairs(res, outdir, sample, max_positions)
        pngs += pair_pngs
        samples = [sample] + [i for i in top_samples(res, n_interactive) if i != sample][: n_interactive - 1]
        html_tp = interactive.write_target_probabilities(res, outdir, samples, max_positions)
        written["png"] = [os.path.basename(p) for p in pngs]
        written["html"] = [os.path.basename(html_tp), "dashboard.html"]
        written["heatmap"] = heat_info
        js = write_json(res, outdir, written, notes)
        dash = interactive.write_dashboard(res, s, outdir, pngs, heat_info, max_positions, notes,
                                           sections=[("pairs", "Model pairs and the logit lens", pair_html)]
                                           if pair_html else None)
        for p in pngs + [html_tp, dash, js]:
            log(f"wrote {p}")
        for nt in notes:
            log(f"note: {nt}")
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analysis.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", help="the HDF5 file written by `logits-study run`")
    ap.add_argument("-o", "--outdir", required=True, help="folder for the figures, pages and JSON")
    ap.add_argument("--sample", type=int, default=None,
                    help="sample index (row of /samples) for the heatmap; default: the one with the most "
                         "target-word occurrences whose answer fits --max-positions")
    ap.add_argument("--max-positions", type=int, default=96,
                    help="answer tokens shown in the heatmap and the per-position page (default 96)")
    ap.add_argument("--interactive-samples", type=int, default=8,
                    help="samples selectable in target_token_probabilities.html (default 8)")
    ap.add_argument("--allow-incomplete", action="store_true",
                    help="read a file whose root attribute `complete` is not 1 (a killed run)")
    a = ap.parse_args(argv)
    try:
        run(a.results, a.outdir, a.sample, a.max_positions, a.allow_incomplete, a.interactive_samples)
    except (IncompleteFileError, LayoutError, FileNotFoundError, ValueError) as e:
        print(f"analysis.report: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
