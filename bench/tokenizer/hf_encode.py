#!/usr/bin/env python3
"""HF tokenizers encode throughput on a JSONL of strings (one thread): prints MB/s; writes the ids."""
import json
import sys
import time

from tokenizers import Tokenizer

tok = Tokenizer.from_file(sys.argv[1])
texts = [json.loads(line) for line in open(sys.argv[2], encoding="utf-8")]
nbytes = sum(len(t.encode()) for t in texts)
best = None
for _ in range(3):  # one encode call per paragraph
    t0 = time.perf_counter()
    ids = [tok.encode(t, add_special_tokens=False).ids for t in texts]
    dt = time.perf_counter() - t0
    best = dt if best is None else min(best, dt)
for _ in range(3):  # encode_batch (RAYON_NUM_THREADS=1 keeps it on one thread): less Python overhead
    t0 = time.perf_counter()
    ids_b = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    dt = time.perf_counter() - t0
    best = min(best, dt)
assert ids_b == ids
with open(sys.argv[3], "w") as f:
    for x in ids:
        f.write(json.dumps(x, separators=(",", ":")) + "\n")
print(f"{nbytes} {best:.4f} {nbytes / best / 1e6:.2f}")
