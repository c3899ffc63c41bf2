"""The reducer's /summary tables (docs/hdf5-layout.md, ## /summary) as tidy
rows for plotting.

This module only re-keys: model and word indices become the names from the
file's root attributes, int8 codes become the names stored beside them
(/summary/group_names, variable_names, method_names, reason_names). Every
number is the one the C reducer wrote. A column the figures want that the file
lacks reads as NaN and is reported in `missing`; nothing is recomputed here.

Tables: primary (the study's tests per model pair x word: pair effect, level
trend, correctness on d = log propensity_b - log propensity_a, one BH family;
docs/statistics.md), and the descriptive ones: groups (model x word x group descriptives), correctness (correct vs
incorrect tests per model x word x variable), levels (Spearman / Kruskal across
levels 1-5 per model x word x variable), model_pairs (paired Wilcoxon across
models per word, on per-sample propensity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .h5io import Results, _str

# Figure metric -> the /summary/groups columns (mean, CI low, CI high), the
# `variable` its tests are filed under in correctness / levels, and labels.
METRICS = {
    "occurrence_prob": {
        "cols": ("prob_mean", "prob_ci_lo", "prob_ci_hi"),
        "variable": "occurrence_prob",
        "label": "mean occurrence probability",
        "unit": "0\u20131",
        "title": "probability the model gave the word where it occurs",
    },
    "propensity": {
        "cols": ("propensity_sample_mean", "propensity_ci_lo", "propensity_ci_hi"),
        "variable": "propensity",
        "label": "mean propensity",
        "unit": "0\u20131, per answer position",
        "title": "probability of the word at any answer position (mean over samples)",
    },
    "occ_per_1k": {
        "cols": ("per_1k", None, None),
        "variable": None,
        "label": "occurrences per 1k answer tokens",
        "unit": "count / 1000 tokens",
        "title": "how often the word occurs in the answers",
    },
    "entropy_occ": {
        "cols": ("entropy_occ_mean", "entropy_occ_ci_lo", "entropy_occ_ci_hi"),
        "variable": None,
        "label": "mean entropy where the word occurs",
        "unit": "nats",
        "title": "entropy of the predicted distribution at the word's occurrences",
    },
}

# Defaults for the code names, used only if the file lacks the *_names datasets.
DEFAULT_GROUP_NAMES = ["level1", "level2", "level3", "level4", "level5", "correct", "incorrect", "unknown", "all"]
DEFAULT_VARIABLE_NAMES = ["propensity", "occurrence_prob"]
DEFAULT_METHOD_NAMES = ["none", "asymptotic", "exact", "permutation"]


def _num(v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def parse_group(label: str) -> tuple[str, object]:
    """'all' -> ('all', None); 'level3' / 'level_3' -> ('level', 3);
    'correct' -> ('correct', True); 'incorrect' -> ('correct', False);
    'unknown' -> ('correct', None)."""
    s = label.strip().lower()
    if s == "all":
        return ("all", None)
    if s.startswith("level"):
        digits = "".join(c for c in s if c.isdigit())
        return ("level", int(digits)) if digits else ("other", s)
    if s == "correct":
        return ("correct", True)
    if s == "incorrect":
        return ("correct", False)
    if s == "unknown":
        return ("correct", None)
    return ("other", s)


def _rows(ds) -> list[dict]:
    data = ds[()]
    out = []
    for row in data:
        r = {}
        for k in data.dtype.names:
            v = row[k]
            if isinstance(v, (bytes, np.bytes_)):
                r[k] = _str(v)
            elif isinstance(v, np.ndarray):
                r[k] = v.tolist()
            else:
                r[k] = v.item() if hasattr(v, "item") else v
        out.append(r)
    return out


def _names(sg, name, default):
    if name in sg:
        return [_str(x).rstrip("\x00") for x in sg[name][()]]
    return list(default)


@dataclass
class Summary:
    models: list[str]
    words: list[str]
    attrs: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)  # (model, word, kind, value) -> row
    correctness: dict = field(default_factory=dict)  # (model, word, variable) -> row
    levels: dict = field(default_factory=dict)  # (model, word, variable) -> row
    pairs: list = field(default_factory=list)  # rows, model_a / model_b / word as names
    primary: list = field(default_factory=list)  # /summary/primary rows, names for models, word, test
    length: list = field(default_factory=list)  # /summary/length_policy rows, group as its name
    reason_names: list = field(default_factory=list)
    method_names: list = field(default_factory=list)
    missing: list = field(default_factory=list)

    def group(self, model, word, kind, value=None):
        return self.groups.get((model, word, kind, value))

    def metric(self, model, word, kind, value, metric):
        """(mean, lo, hi) of a metric in one group; NaN where the file has none."""
        r = self.group(model, word, kind, value)
        if r is None:
            return (math.nan, math.nan, math.nan)
        return tuple(_num(r.get(c)) if c else math.nan for c in METRICS[metric]["cols"])

    def has_metric(self, metric) -> bool:
        c = METRICS[metric]["cols"][0]
        return any(c in r for r in self.groups.values())

    def level_test(self, model, word, metric):
        v = METRICS[metric]["variable"]
        return self.levels.get((model, word, v)) if v else None

    def correct_test(self, model, word, metric):
        v = METRICS[metric]["variable"]
        return self.correctness.get((model, word, v)) if v else None

    def reason(self, code) -> str:
        try:
            return self.reason_names[int(code)]
        except (TypeError, ValueError, IndexError):
            return str(code)

    def method(self, code) -> str:
        try:
            return self.method_names[int(code)]
        except (TypeError, ValueError, IndexError):
            return str(code)


def _name(idx, names):
    try:
        i = int(idx)
    except (TypeError, ValueError):
        return _str(idx)
    return names[i] if 0 <= i < len(names) else f"#{i}"


def load_summary(res: Results) -> Summary | None:
    if not res.has_summary:
        return None
    sg = res.file["summary"]
    s = Summary(models=list(res.models), words=list(res.target_words))
    s.attrs = {k: v for k, v in sg.attrs.items()}
    group_names = _names(sg, "group_names", DEFAULT_GROUP_NAMES)
    variable_names = _names(sg, "variable_names", DEFAULT_VARIABLE_NAMES)
    s.method_names = _names(sg, "method_names", DEFAULT_METHOD_NAMES)
    s.reason_names = _names(sg, "reason_names", [])

    def mw(r, mkey="model"):
        return _name(r.get(mkey), s.models), _name(r.get("word"), s.words)

    if "groups" in sg:
        for r in _rows(sg["groups"]):
            m, w = mw(r)
            kind, val = parse_group(_name(r.get("group"), group_names))
            s.groups[(m, w, kind, val)] = r
    else:
        s.missing.append("/summary/groups")
    for table, target in (("correctness", s.correctness), ("levels", s.levels)):
        if table in sg:
            for r in _rows(sg[table]):
                m, w = mw(r)
                target[(m, w, _name(r.get("variable"), variable_names))] = r
        else:
            s.missing.append(f"/summary/{table}")
    if "primary" in sg:
        tests = _names(sg, "primary_names", ["pair_effect", "level_trend", "correctness"])
        for r in _rows(sg["primary"]):
            r = dict(r)
            r["model_a"] = _name(r.get("model_a"), s.models)
            r["model_b"] = _name(r.get("model_b"), s.models)
            r["word"] = _name(r.get("word"), s.words)
            r["test"] = _name(r.get("test"), tests)
            s.primary.append(r)
    else:
        s.missing.append("/summary/primary")
    if "length_policy" in sg:
        for r in _rows(sg["length_policy"]):
            r = dict(r)
            r["group"] = _name(r.get("group"), group_names)
            s.length.append(r)
    if "model_pairs" in sg:
        for r in _rows(sg["model_pairs"]):
            r = dict(r)
            r["model_a"] = _name(r.get("model_a"), s.models)
            r["model_b"] = _name(r.get("model_b"), s.models)
            r["word"] = _name(r.get("word"), s.words)
            s.pairs.append(r)
    else:
        s.missing.append("/summary/model_pairs")
    return s


def stars(q) -> str:
    """Significance marks for a BH-adjusted p (q)."""
    q = _num(q)
    if not math.isfinite(q):
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


def fmt_num(x, spec=".4g") -> str:
    x = _num(x)
    return format(x, spec) if math.isfinite(x) else "n/a"
