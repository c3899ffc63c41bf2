"""Writes a synthetic output file (docs/hdf5-layout.md) for the reducer tests.

The per-occurrence values are random numbers drawn from small sets (so there
are ties), samples 1 and 2 repeat sample 0's target rows (tied propensities), the groups include tiny ones (a level with one
sample, a word that never occurs, a word whose occurrence probabilities are all
equal, a word with no single-token form in one model, samples with no answer
tokens). They are test INPUT only: every number the reducer writes is
recomputed from these datasets by tests/python/test_reduce_scipy.py.

With pairs=True (--pairs) every model shares model 0's tokenisation (offsets,
answer starts, token ids from a small vocabulary) and the file gets the issue-19
outputs as `run` writes them (docs/pairs.md): /pairs/base__sft and
/pairs/sft__rl (complete; one sample not done in sft__rl), /pairs/base__rl
(complete = 0: left out by the reducer), and lens_logprob / lens_entropy
[O, 5] for base and sft (NaN rows for unaligned occurrences), none for rl.

usage: python make_reduce_input.py OUT.h5 [--seed S] [--samples N] [--not-done K] [--problem-size P] [--pairs]
"""
import argparse

import h5py
import numpy as np

MODELS = ["base", "sft", "rl"]
WORDS = ["wait", "aha", "check", "so", "hmm", "therefore"]
# per model: the words with single-token forms (column order of target_logprob)
FORMS = {
    "base": [("wait", " wait"), ("wait", " Wait"), ("check", " check"), ("so", " so"), ("hmm", " hmm"),
             ("therefore", " therefore"), ("aha", " aha")],
    "sft": [("wait", " wait"), ("check", " check"), ("so", " so"), ("so", " So"), ("hmm", " hmm"),
            ("therefore", " therefore"), ("aha", " aha")],
    "rl": [("wait", " wait"), ("wait", "Wait"), ("check", " check"), ("so", " so"), ("therefore", " therefore"),
           ("aha", " aha")],  # no "hmm" column
}


def make(path, seed=1, n_samples=48, not_done=0, problem_size=0, skipped_groups=False, pairs=False, vocab=0):
    """vocab > 0 (with pairs): token ids uniform over that many ids, else a Zipf law over 60."""
    """problem_size > 0: /samples/problem_id groups consecutive samples in problems of that size."""
    rng = np.random.default_rng(seed)
    N, W = n_samples, len(WORDS)
    # levels: level 5 has exactly one sample; the rest spread over 1..4
    level = rng.integers(1, 5, size=N).astype(np.int8)
    level[N // 2] = 5
    is_correct = rng.choice(np.array([1, 0, -1], dtype=np.int8), size=N, p=[0.5, 0.4, 0.1])
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = 2
        f.attrs["models"] = MODELS  # lists: 1-D arrays of variable-length strings
        f.attrs["target_words"] = WORDS
        f.attrs["bootstrap"] = 1000  # the run's settings, which `reduce` uses unless told otherwise
        f.attrs["seed"] = np.uint64(20240607)
        f.attrs["complete"] = 1
        f.attrs["tool_version"] = "synthetic"
        f.attrs["created"] = "2026-01-01T00:00:00Z"
        f.attrs["world_size"] = 1
        f.attrs["tp_size"] = 1
        f.attrs["dp_size"] = 1
        s = f.create_group("samples")
        s["source_line"] = np.arange(1, N + 1, dtype=np.int64)
        s["level"] = level
        s["is_correct"] = is_correct
        s["query_bytes"] = np.full(N, 40, dtype=np.int64)
        s["answer_bytes"] = np.random.default_rng(seed + 1000).integers(50, 5000, N).astype(np.int64)
        if problem_size > 0:
            s["problem_id"] = (np.arange(N) // problem_size).astype(np.int64)
        # skipped records (too long): mostly level 5 and incorrect, as long answers are
        s["skipped_line"] = np.arange(N + 1, N + 7, dtype=np.int64)
        s["skipped_reason"] = np.array([b"too long"] * 6, dtype="S16")
        if skipped_groups:
            s["skipped_level"] = np.array([5, 5, 5, 4, 5, 1], dtype=np.int8)
            s["skipped_is_correct"] = np.array([0, 0, 0, 0, 1, -1], dtype=np.int8)
            # and the samples kept but truncated (1) or scored in windows (2): the long ones
            s["length_policy"] = np.where(level >= 4, np.arange(N) % 3, 0).astype(np.int8)
        shared = None
        for mi, m in enumerate(MODELS):
            g = f.create_group(f"models/{m}")
            lens = rng.integers(4, 30, size=N)
            start = np.minimum(rng.integers(1, 8, size=N), lens)
            start[3] = lens[3]  # sample 3: no answer tokens
            lens[1] = lens[2] = lens[0]  # samples 1, 2: same rows as sample 0 (tied propensities)
            start[1] = start[2] = start[0]
            if pairs:  # one tokenisation for every model (pairs need it): model 0's
                if shared is None:
                    shared = (lens.copy(), start.copy())
                lens, start = shared[0].copy(), shared[1].copy()
            off = np.zeros(N + 1, dtype=np.int64)
            off[1:] = np.cumsum(lens)
            T = int(off[-1])
            forms = FORMS[m]
            M = len(forms)
            # log-probs from a small set of values: ties across positions and samples
            # continuous log-probs (a per-sample mean computed in another summation order must not
            # create or break ties); exact ties come from samples 1 and 2 copying sample 0's rows
            tlp = np.log(rng.uniform(1e-4, 0.05, size=(T, M))).astype(np.float32)
            for k in (1, 2):
                tlp[off[k]:off[k + 1]] = tlp[off[0]:off[1]]
            ent = rng.choice(np.array([0.5, 1.0, 1.25, 2.0, 3.5], dtype=np.float32), size=T)
            lp = np.log(rng.uniform(0.01, 1.0, size=T)).astype(np.float32)
            tlp[off[:-1], :] = np.nan
            ent[off[:-1]] = np.nan
            lp[off[:-1]] = np.nan
            g["token_offset"] = off
            g["answer_start"] = start.astype(np.int32)
            toks = rng.integers(0, 1000, size=T).astype(np.int32)
            if pairs:  # a small vocabulary (token shift rows need >= 10 positions)
                trng = np.random.default_rng(seed + 77)
                toks = (trng.integers(0, vocab, T) if vocab else np.minimum(trng.zipf(1.3, T) - 1, 59)).astype(np.int32)
            g["tokens"] = toks
            g["logprob"] = lp
            g["entropy"] = ent
            g["target_logprob"] = tlp
            tdt = np.dtype([("word", np.int16), ("form", "S16"), ("token_id", np.int32)])
            g["targets"] = np.array([(WORDS.index(w), fm.encode(), 100 + j) for j, (w, fm) in enumerate(forms)],
                                    dtype=tdt)
            fdt = np.dtype([("word", np.int16), ("form", "S16"), ("n_tokens", np.int16), ("first_token", np.int32),
                            ("single_token_column", np.int32)])
            g["forms"] = np.array([(WORDS.index(w), fm.encode(), 1, 100 + j, j) for j, (w, fm) in enumerate(forms)],
                                  dtype=fdt)
            # occurrences: "aha" never occurs; "check" always with the same probability;
            # "hmm" only in level-1 samples; some rows not aligned (logprob NaN)
            rows = []
            occ_words = [w for w in WORDS if w != "aha"]
            for i in range(N):
                n_ans = int(lens[i] - start[i])
                if n_ans == 0:
                    continue
                for _ in range(int(rng.integers(0, 4))):
                    w = occ_words[int(rng.integers(0, len(occ_words)))]
                    if w == "hmm" and level[i] != 1:
                        continue
                    pos = int(start[i] + rng.integers(0, n_ans))
                    aligned = int(rng.random() > 0.1)
                    if w == "check":
                        lpv = np.log(0.25)
                    else:
                        lpv = np.log(rng.choice(np.array([0.01, 0.02, 0.05, 0.1, 0.3])))
                    rows.append((i, pos, WORDS.index(w), 0, 1 + int(rng.integers(0, 2)),
                                 lpv if aligned else np.nan, int(rng.integers(1, 50)), aligned))
            odt = np.dtype([("sample", np.int64), ("position", np.int32), ("word", np.int16), ("form", np.int16),
                            ("n_tokens", np.int16), ("logprob", np.float32), ("rank_first", np.int32),
                            ("aligned", np.int8)])
            g["occurrences"] = np.array(rows, dtype=odt)
            done = np.ones(N, dtype=np.uint8)
            if not_done and mi == len(MODELS) - 1:
                done[-not_done:] = 0
            g["done"] = done
            if pairs and m in ("base", "sft"):
                write_lens(g, np.random.default_rng(seed + 500 + mi), g["occurrences"][:], depths=5)
        if pairs:
            write_pairs(f, np.random.default_rng(seed + 900), N, max(vocab, 60))
    return path


def write_lens(g, rng, occ, depths):
    """/models/<m>/lens_logprob, lens_entropy [O, depths]: log-probs that rise with depth, NaN where unaligned."""
    O = occ.shape[0]
    base = np.log(rng.uniform(0.001, 0.05, size=(O, 1)))
    lp = base * np.linspace(1.0, 0.1, depths)[None, :] + rng.normal(0, 0.3, size=(O, depths))
    lp = np.minimum(lp, 0.0)
    ent = rng.uniform(0.5, 6.0, size=(O, depths))
    lp[occ["aligned"] == 0] = np.nan
    ent[occ["aligned"] == 0] = np.nan
    for name, v in (("lens_logprob", lp), ("lens_entropy", ent)):
        ds = g.create_dataset(name, data=v.astype(np.float32))
        ds.attrs["depths"] = depths
        ds.attrs["description"] = "synthetic lens values"
        ds.attrs["unit"] = "nats"


def write_pairs(f, rng, N, vocab):
    """/pairs/<a>__<b> at model a's offsets (shared by every model here)."""
    m0 = f[f"models/{MODELS[0]}"]
    off, toks = m0["token_offset"][:], m0["tokens"][:]
    T = int(off[-1])
    first = np.zeros(T, bool)
    first[off[:-1]] = True
    for a, b, complete in (("base", "sft", 1), ("sft", "rl", 1), ("base", "rl", 0)):
        g = f.create_group(f"pairs/{a}__{b}")
        g.attrs["model_a"], g.attrs["model_b"], g.attrs["complete"] = a, b, np.int64(complete)
        shift = rng.normal(0, 1, vocab)
        dlp = shift[toks] + rng.normal(0, 0.5, T) + rng.normal(0, 0.3, N).repeat(np.diff(off))
        kl_ab = rng.gamma(1.0, 0.2, T)
        kl_ab[rng.random(T) < 0.1] = 0.0  # identical distributions at some positions
        kl_ba = kl_ab * rng.uniform(0.5, 1.5, T)
        js = np.minimum(0.5 * (kl_ab + kl_ba) * 0.25, np.log(2))
        agree = (rng.random(T) < 0.8).astype(np.int8)
        for v in (dlp, kl_ab, kl_ba, js):
            v[first] = np.nan
        agree[first] = -1
        for name, v in (("kl_ab", kl_ab), ("kl_ba", kl_ba), ("js", js), ("dlogprob", dlp)):
            g[name] = v.astype(np.float32)
        g["top1_agree"] = agree
        done = np.ones(N, np.uint8)
        if (a, b) == ("sft", "rl"):
            done[5] = 0
        g["done"] = done


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--samples", type=int, default=48)
    ap.add_argument("--not-done", type=int, default=0)
    ap.add_argument("--problem-size", type=int, default=0)
    ap.add_argument("--pairs", action="store_true")
    a = ap.parse_args()
    make(a.out, a.seed, a.samples, a.not_done, a.problem_size, pairs=a.pairs)
