#!/usr/bin/env python3
"""The peer: transformers loading the same GGUF file (dequantized to fp32, sdpa
attention), same ids, computing the same statistics as `logits-study score`
(log-prob of each next token, entropy, top-5, target log-probs) in one forward
then log_softmax (bench/hf_peer.py). Prints one JSON line (the fastest of REPEAT
runs; cpu_s: the process CPU seconds of that run, as `score --timing` reports it).
bf16: the dequantized weights cast to bfloat16 (dtype=torch.bfloat16).
With THREADS "-" it loads the model once and then serves: for each line
"THREADS REPEAT" on stdin it runs and prints that JSON line (run.sh alternates
it with ours round by round without reloading: transformers takes 20-50 s to
load these files).
usage: hf_gguf_prefill.py GGUF_FILE IDS_FILE THREADS|- REPEAT [fp32|bf16]"""
import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_peer import timed_prefill  # noqa: E402

path, ids_file, repeat = sys.argv[1], sys.argv[2], int(sys.argv[4])
serve = sys.argv[3] == "-"
prec = sys.argv[5] if len(sys.argv) > 5 else "fp32"
ids = json.load(open(ids_file))
if not serve:
    torch.set_num_threads(int(sys.argv[3]))
t0 = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                             dtype={"fp32": torch.float32, "bf16": torch.bfloat16}[prec],
                                             attn_implementation="sdpa").eval()
load = time.perf_counter() - t0

if serve:
    for line in sys.stdin:
        if line.strip():
            t, r = line.split()
            print(json.dumps(timed_prefill(model, ids, int(t), int(r), prec, load)), flush=True)
else:
    print(json.dumps(timed_prefill(model, ids, int(sys.argv[3]), repeat, prec, load)))
