#!/usr/bin/env python3
"""The peer: transformers loading the same GGUF file (dequantized to fp32, sdpa
attention), same ids, computing the same statistics as `logits-study score`
(log-prob of each next token, entropy, top-5, target log-probs) in one forward
then log_softmax. Prints one JSON line (the fastest of REPEAT runs; cpu_s: the
process CPU seconds of that run, as `score --timing` reports it).
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
x = torch.tensor([ids])
targets = torch.tensor([100, 200, 300, 400])


def run(threads, repeat):
    torch.set_num_threads(threads)
    best = cpu = float("inf")
    with torch.inference_mode():
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            logits = model(x).logits[0]
            lp = torch.log_softmax(logits[:-1].float(), dim=-1)
            tok = lp.gather(1, x[0, 1:, None])
            ent = -(lp.exp() * lp).sum(-1)
            top = torch.topk(lp, 5, dim=-1)
            tg = lp[:, targets]
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if dt < best:
                best, cpu = dt, dc
    print(json.dumps({"tokens": len(ids), "threads": threads, "load_s": round(load, 3), "seconds": round(best, 4),
                      "cpu_s": round(cpu, 4), "tokens_per_s": round(len(ids) / best, 2), "precision": prec,
                      "torch": torch.__version__}), flush=True)


if serve:
    for line in sys.stdin:
        if line.strip():
            t, r = line.split()
            run(int(t), int(r))
else:
    run(int(sys.argv[3]), repeat)
