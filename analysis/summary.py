"""The reducer's /summary tables as tidy rows for plotting.

This module only renames and re-keys: model and word indices become the names
from the file's root attributes, group labels become (kind, value) pairs. Every
number is the one the C reducer wrote. If a table or column the figures need
is missing, the figure that needs it is skipped with a message; nothing is
recomputed here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .h5io import Results, _str

# Metric name used in the figures -> (mean, ci_lo, ci_hi) columns of the
# per-group table, and how to label the axis.
METRICS = {
    "occurrence_prob": {
        "cols": ("prob_mean", "prob_ci_lo", "prob_ci_hi"),
        "label": "mean occurrence probability",
        "unit": "0\u20131",
        "title": "probability the model gave the word where it occurs",
    },
    "propensity": {
        "cols": ("propensity_mean", "propensity_ci_lo", "propensity_ci_hi"),
        "label": "mean propensity",
        "unit": "0\u20131, per answer position",
        "title": "mean probability of the word over all answer positions",
    },
    "occ_per_1k": {
        "cols": ("occ_per_1k", None, None),
        "label": "occurrences per 1k answer tokens",
        "unit": "1/1000 tokens",
        "title": "how often the word occurs in the answers",
    },
}


def _num(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def parse_group(label: str) -> tuple[str, object]:
    """'all' -> ('all', None); 'level_3' -> ('level', 3); 'correct' ->
    ('correct', True); 'incorrect' -> ('correct', False)."""
    s = label.strip().lower()
    if s == "all":
        return ("all", None)
    if s.startswith("level"):
        digits = "".join(c for c in s if c.isdigit())
        return ("level", int(digits)) if digits else ("other", s)
    if s in ("correct", "is_correct=1"):
        return ("correct", True)
    if s in ("incorrect", "is_correct=0"):
        return ("correct", False)
    return ("other", s)


@dataclass
class Summary:
    models: list[str]
    words: list[str]
    groups: dict = field(default_factory=dict)  # (model, word, kind, value) -> row dict
    tests: list = field(default_factory=list)  # row dicts with names
    missing: list = field(default_factory=list)  # what the figures wanted and did not find

    def group(self, model, word, kind, value=None):
        return self.groups.get((model, word, kind, value))

    def metric(self, model, word, kind, value, metric):
        """(mean, lo, hi) for a metric; NaN where the file has no value."""
        r = self.group(model, word, kind, value)
        c_mean, c_lo, c_hi = METRICS[metric]["cols"]
        if r is None:
            return (math.nan, math.nan, math.nan)
        return tuple(_num(r.get(c)) if c else math.nan for c in (c_mean, c_lo, c_hi))

    def has_metric(self, metric) -> bool:
        c = METRICS[metric]["cols"][0]
        return any(c in r for r in self.groups.values())

    def find_test(self, test, model=None, word=None, metric=None, model_b=None):
        for r in self.tests:
            if r["test"] != test:
                continue
            if model is not None and r.get("model") != model:
                continue
            if word is not None and r.get("word") != word:
                continue
            if metric is not None and r.get("metric") not in (None, metric):
                continue
            if model_b is not None and r.get("model_b") != model_b:
                continue
            return r
        return None


def _name(idx, names):
    try:
        i = int(idx)
    except (TypeError, ValueError):
        return _str(idx)
    return names[i] if 0 <= i < len(names) else None


def load_summary(res: Results) -> Summary | None:
    if not res.has_summary:
        return None
    sg = res.file["summary"]
    s = Summary(models=list(res.models), words=list(res.target_words))
    if "groups" in sg:
        data = sg["groups"][()]
        names = data.dtype.names
        for row in data:
            r = {}
            for k in names:
                v = row[k]
                r[k] = _str(v) if isinstance(v, (bytes, np.bytes_)) else (v.item() if hasattr(v, "item") else v)
            m = _name(r.get("model"), s.models)
            w = _name(r.get("word"), s.words)
            kind, val = parse_group(str(r.get("group", "all")))
            s.groups[(m, w, kind, val)] = r
    else:
        s.missing.append("/summary/groups")
    if "tests" in sg:
        data = sg["tests"][()]
        names = data.dtype.names
        for row in data:
            r = {}
            for k in names:
                v = row[k]
                r[k] = _str(v) if isinstance(v, (bytes, np.bytes_)) else (v.item() if hasattr(v, "item") else v)
            r["model"] = _name(r.get("model"), s.models) if r.get("model", -1) != -1 else None
            r["model_b"] = _name(r.get("model_b"), s.models) if r.get("model_b", -1) != -1 else None
            r["word"] = _name(r.get("word"), s.words) if r.get("word", -1) != -1 else None
            s.tests.append(r)
    else:
        s.missing.append("/summary/tests")
    return s


def stars(q: float) -> str:
    """Significance marks for a BH-adjusted p (q)."""
    if q is None or not math.isfinite(q):
        return "n/a"
    if q < 0.001:
        return "***"
    if q < 0.01:
        return "**"
    if q < 0.05:
        return "*"
    return "ns"


def fmt_p(p) -> str:
    p = _num(p)
    if not math.isfinite(p):
        return "n/a"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.3f}"
