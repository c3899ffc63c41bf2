"""A synthetic output file for the reducer benchmark (docs/hdf5-layout.md):
N samples, O occurrences per model, L models, 10 words with 15 single-token
forms, answers of ~A tokens. Random numbers: the point is the size.

usage: python make_input.py OUT.h5 [--samples 100000] [--occurrences 1000000] [--models 3] [--answer 100]
"""
import argparse

import h5py
import numpy as np

WORDS = ["wait", "aha", "check", "think", "hmm", "let", "actually", "however", "so", "therefore"]


def make(path, N, O, L, A, seed=1):
    rng = np.random.default_rng(seed)
    W, M = len(WORDS), 15
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = 2
        f.attrs["models"] = [f"m{i}" for i in range(L)]  # lists: 1-D arrays of variable-length strings
        f.attrs["target_words"] = WORDS
        f.attrs["bootstrap"] = 10000  # the run's settings, which `reduce` uses unless told otherwise
        f.attrs["seed"] = np.uint64(20240607)
        f.attrs["complete"] = 1
        s = f.create_group("samples")
        s["source_line"] = np.arange(1, N + 1, dtype=np.int64)
        s["level"] = rng.integers(1, 6, N).astype(np.int8)
        s["is_correct"] = rng.integers(0, 2, N).astype(np.int8)
        s["answer_bytes"] = rng.integers(100, 20000, N).astype(np.int64)
        lens = rng.integers(A // 2, 3 * A // 2, N) + 20
        start = np.full(N, 20, np.int32)
        off = np.zeros(N + 1, np.int64)
        off[1:] = np.cumsum(lens)
        T = int(off[-1])
        for mi in range(L):
            g = f.create_group(f"models/m{mi}")
            g["token_offset"] = off
            g["answer_start"] = start
            g["entropy"] = rng.uniform(0, 4, T).astype(np.float32)
            ds = g.create_dataset("target_logprob", (T, M), np.float32)
            for r0 in range(0, T, 1 << 22):
                r1 = min(T, r0 + (1 << 22))
                ds[r0:r1] = np.log(rng.uniform(1e-9, 1e-2, (r1 - r0, M))).astype(np.float32)
            tdt = np.dtype([("word", np.int16), ("form", "S16"), ("token_id", np.int32)])
            g["targets"] = np.array([(j % W, f"f{j}".encode(), j) for j in range(M)], dtype=tdt)
            smp = np.sort(rng.integers(0, N, O))
            pos = (start[smp] + rng.integers(0, 1 << 30, O) % (lens[smp] - start[smp])).astype(np.int32)
            odt = np.dtype([("sample", np.int64), ("position", np.int32), ("word", np.int16), ("form", np.int16),
                            ("n_tokens", np.int16), ("logprob", np.float32), ("rank_first", np.int32),
                            ("aligned", np.int8)])
            occ = np.zeros(O, odt)
            occ["sample"], occ["position"] = smp, pos
            occ["word"] = rng.integers(0, W, O)
            occ["n_tokens"] = 1
            occ["logprob"] = np.log(rng.uniform(1e-4, 1, O))
            occ["aligned"] = 1
            g["occurrences"] = occ
            g["done"] = np.ones(N, np.uint8)
    return T


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--samples", type=int, default=100000)
    ap.add_argument("--occurrences", type=int, default=1000000)
    ap.add_argument("--models", type=int, default=3)
    ap.add_argument("--answer", type=int, default=100)
    a = ap.parse_args()
    T = make(a.out, a.samples, a.occurrences, a.models, a.answer)
    print(f"{a.out}: {a.samples} samples, {a.occurrences} occurrences and {T} positions per model, {a.models} models")
