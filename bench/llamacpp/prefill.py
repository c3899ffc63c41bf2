#!/usr/bin/env python3
"""The second peer of bench/cpu_prefill: llama.cpp (llama-cpp-python) prefill
of the same ids on the same weights as a GGUF (bench/llamacpp/hf_to_gguf.py,
F32 or BF16), F32 KV cache (type_k = type_v = 0), logits of every position
kept (logits_all), at THREADS threads; the fastest of REPEAT evals. Timed: the
eval (forward and head) alone -- not the log-softmax statistics the other two
compute, which favours llama.cpp. use_extra_bufts=False: on AMX processors its
AMX matmul crashed in eval with the extra buffer types. Prints one JSON line.
usage: prefill.py GGUF IDS_FILE THREADS REPEAT"""
import json
import sys
import time

import llama_cpp
from llama_cpp import Llama

path, ids_file, threads, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ids = [int(x) for x in open(ids_file).read().split(",")]
n = len(ids)
kw = dict(model_path=path, n_ctx=n + 8, n_batch=n + 8, n_ubatch=n + 8, logits_all=True, type_k=0, type_v=0,
          n_threads=threads, n_threads_batch=threads, verbose=False)
t0 = time.perf_counter()
try:
    llm = Llama(use_extra_bufts=False, **kw)
except TypeError:  # versions without the parameter
    llm = Llama(**kw)
load = time.perf_counter() - t0
best, cpu = float("inf"), 0.0
for _ in range(repeat):
    llm.reset()
    t0, c0 = time.perf_counter(), time.process_time()
    llm.eval(ids)
    dt = time.perf_counter() - t0
    if dt < best:
        best, cpu = dt, time.process_time() - c0
print(json.dumps({"tokens": n, "threads": threads, "load_s": round(load, 4), "seconds": round(best, 4),
                  "cpu_s": round(cpu, 4), "tokens_per_s": round(n / best, 2),
                  "llama_cpp_python": llama_cpp.__version__}))
