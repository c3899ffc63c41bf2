#!/usr/bin/env python3
"""llama.cpp (llama-cpp-python) on the same quantized GGUF file and ids as a
real-score fixture: per-position log-prob of the actual token and top-1 id,
written as {"logprob": [null, ...], "top1": [null, ...]} per sequence, for
agreement.py. F32 KV cache (type_k = type_v = 0) so only llama.cpp's own
matmuls (activations quantized to the weights' block types) differ.
usage: llamacpp_logprobs.py GGUF_FILE FIXTURE.json OUTPREFIX THREADS
  writes OUTPREFIX<i>.json for sequence i; prints the fastest eval's tokens/s"""
import json
import sys
import time

import numpy as np
from llama_cpp import Llama

path, fixture, prefix, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ref = json.load(open(fixture))
n = max(len(s["ids"]) for s in ref["sequences"])
llm = Llama(model_path=path, n_ctx=n + 8, n_batch=n + 8, n_ubatch=n + 8, logits_all=True, type_k=0, type_v=0,
            n_threads=threads, n_threads_batch=threads, verbose=False)
speed = []
for i, seq in enumerate(ref["sequences"]):
    ids = seq["ids"]
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    speed.append(len(ids) / (time.perf_counter() - t0))
    x = np.asarray(llm.scores[: len(ids)], dtype=np.float64)
    x = x - x.max(axis=1, keepdims=True)
    lp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    out = {"logprob": [None] + [float(lp[p - 1, ids[p]]) for p in range(1, len(ids))],
           "top1": [None] + [int(lp[p - 1].argmax()) for p in range(1, len(ids))]}
    json.dump(out, open(f"{prefix}{i}.json", "w"))
print(json.dumps({"file": ref["file"], "threads": threads, "tokens_per_s": [round(s, 1) for s in speed]}))
