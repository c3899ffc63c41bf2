#!/usr/bin/env python3
"""The peer: HF transformers prefill (fp32 or bf16) of the same checkpoint and
ids, computing the same statistics as `logits-study score` (log-prob of each
next token, entropy, top-k, target log-probs) the efficient way (one forward,
then log_softmax over the logits in fp32). Prints one JSON line.
usage: hf_prefill.py MODEL_DIR IDS_FILE THREADS REPEAT [fp32|bf16]"""
import json
import sys
import time

import torch
from transformers import Qwen2ForCausalLM

model_dir, ids_file, threads, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
prec = sys.argv[5] if len(sys.argv) > 5 else "fp32"
dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[prec]
torch.set_num_threads(threads)
ids = [int(x) for x in open(ids_file).read().split(",")]
t0 = time.perf_counter()
model = Qwen2ForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="sdpa").eval()
load = time.perf_counter() - t0
x = torch.tensor([ids])
targets = torch.tensor([100, 200, 300, 400])
best = float("inf")
with torch.inference_mode():
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        logits = model(x).logits[0]
        lp = torch.log_softmax(logits[:-1].float(), dim=-1)
        tok = lp.gather(1, x[0, 1:, None])
        ent = -(lp.exp() * lp).sum(-1)
        top = torch.topk(lp, 5, dim=-1)
        tg = lp[:, targets]
        dt = time.perf_counter() - t0
        if dt < best:
            best, cpu = dt, time.process_time() - c0
print(json.dumps({"tokens": len(ids), "threads": threads, "load_s": round(load, 4), "seconds": round(best, 4), "cpu_s": round(cpu, 4),
                  "tokens_per_s": round(len(ids) / best, 2), "precision": prec, "torch": torch.__version__}))
