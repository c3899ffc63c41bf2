"""Slices of the per-model datasets shaped for a figure (no statistics here).

A word's log-prob at a position is the log of the summed probability of its
single-token surface forms there (the columns of `target_logprob` whose
`targets.word` is that word): P(word at p) = sum_f P(form f at p). Multi-token
forms have no column (their chain-rule probability is only evaluated where
they occur, in `occurrences`) and are not part of this view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .h5io import Results


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    a = a.astype(np.float64)
    m = np.max(np.where(np.isfinite(a), a, -np.inf), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.nansum(np.exp(a - m), axis=axis, keepdims=True)
        out = np.log(s) + m
    out = np.where(s > 0, out, np.nan)
    return np.squeeze(out, axis=axis)


@dataclass
class SampleView:
    model: str
    sample: int
    positions: np.ndarray  # [P] positions within the sample
    token_ids: np.ndarray  # [P]
    word_logprob: np.ndarray  # [W, P] nats; NaN where the word has no single-token form
    occurrences: list  # (position, word index) of occurrences inside the window


def occurrence_counts(res: Results, model: str) -> np.ndarray:
    """Aligned occurrences per sample in the file's `occurrences` table (a
    count of rows, for choosing a sample to show)."""
    md = res.model_data[model]
    occ = md.occurrences
    n = len(res.level)
    if len(occ) == 0:
        return np.zeros(n, np.int64)
    ok = occ["aligned"] == 1 if "aligned" in occ.dtype.names else np.ones(len(occ), bool)
    return np.bincount(occ["sample"][ok].astype(np.int64), minlength=n)[:n]


def done_mask(res: Results) -> np.ndarray:
    n = len(res.level)
    mask = np.ones(n, bool)
    for md in res.model_data.values():
        if md.done is not None:
            mask &= md.done[:n]
    return mask


def choose_sample(res: Results, max_positions: int) -> int:
    """The sample with the most occurrences in the first model whose answer
    fits in max_positions (else the most occurrences overall)."""
    m0 = next(iter(res.model_data))
    md = res.model_data[m0]
    counts = occurrence_counts(res, m0).astype(float)
    n = len(res.level)
    ans_len = (md.token_offset[1:] - md.token_offset[:-1]) - md.answer_start
    ok = done_mask(res)
    fits = ok & (ans_len[:n] <= max_positions) & (ans_len[:n] > 0)
    pool = fits if fits.any() else ok
    if not pool.any():
        raise ValueError("no sample is fully written in every model")
    score = np.where(pool, counts, -1)
    return int(np.argmax(score))


def top_samples(res: Results, k: int) -> list[int]:
    m0 = next(iter(res.model_data))
    counts = occurrence_counts(res, m0)
    ok = done_mask(res)
    order = np.argsort(-np.where(ok, counts, -1), kind="stable")
    return [int(i) for i in order[:k] if ok[i]]


def sample_view(res: Results, model: str, i: int, max_positions: int | None = None) -> SampleView:
    md = res.model_data[model]
    a0 = int(md.answer_start[i])
    sl = md.sample_slice(i)
    n_tok = sl.stop - sl.start
    stop = n_tok if max_positions is None else min(n_tok, a0 + max_positions)
    pos = np.arange(a0, stop)
    ids = md.group["tokens"][sl.start + a0 : sl.start + stop]
    tl = md.group["target_logprob"][sl.start + a0 : sl.start + stop]  # [P, M]
    cols = md.word_columns()
    W = len(res.target_words)
    wl = np.full((W, len(pos)), np.nan)
    for w in range(W):
        c = cols.get(w, [])
        if len(c):
            wl[w] = _logsumexp(tl[:, c], axis=1)
    occ = md.occurrences
    rows = occ[occ["sample"] == i]
    occ_list = [(int(r["position"]), int(r["word"])) for r in rows if a0 <= int(r["position"]) < stop]
    return SampleView(model, i, pos, ids, wl, occ_list)


def occurrence_probs(res: Results, model: str, sample_mask: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """word index -> occurrence probabilities exp(logprob) of the aligned
    occurrences in the file (optionally only of samples where mask is True)."""
    occ = res.model_data[model].occurrences
    out = {}
    if len(occ) == 0:
        return {w: np.zeros(0) for w in range(len(res.target_words))}
    ok = np.isfinite(occ["logprob"])
    if "aligned" in occ.dtype.names:
        ok &= occ["aligned"] == 1
    if sample_mask is not None:
        ok &= sample_mask[occ["sample"].astype(np.int64)]
    for w in range(len(res.target_words)):
        sel = ok & (occ["word"] == w)
        out[w] = np.exp(occ["logprob"][sel].astype(np.float64))
    return out
