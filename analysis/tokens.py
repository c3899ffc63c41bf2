"""Token ids -> short display labels, through the model's own tokenizer.json
(HF `tokenizers`) when the model path recorded in the file exists here;
otherwise the ids themselves ("#1234")."""

from __future__ import annotations

import os

from .h5io import ModelData


def _visible(s: str) -> str:
    return s.replace(" ", "\u2423").replace("\n", "\u23ce").replace("\t", "\u21e5").replace("\r", "")


def token_labels(md: ModelData, ids, results_path: str, max_len: int = 12) -> tuple[list[str], bool]:
    """Labels for each id, and whether they were decoded (False: ids shown)."""
    here = os.path.dirname(os.path.abspath(results_path))
    # the path is as the run saw it: relative to where it was launched (usually the folder
    # holding results/), so try the file's folder, its parent and the current folder
    bases = [here, os.path.dirname(here), os.getcwd()]
    tok = md.tokenizer(bases)
    out = []
    if tok is None:
        return [f"#{int(i)}" for i in ids], False
    for i in ids:
        try:
            s = tok.decode([int(i)], skip_special_tokens=False)
        except Exception:
            s = f"#{int(i)}"
        s = _visible(s) if s else f"#{int(i)}"
        if len(s) > max_len:
            s = s[: max_len - 1] + "\u2026"
        out.append(s)
    return out, True
