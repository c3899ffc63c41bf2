#!/usr/bin/env python3
"""The peer: HF transformers prefill (fp32 or bf16) of the same checkpoint and
ids, computing the same statistics as `logits-study score` (log-prob of each
next token, entropy, top-k, target log-probs) the efficient way (one forward,
then log_softmax over the logits in fp32; bench/hf_peer.py). Prints one JSON line.
usage: hf_prefill.py MODEL_DIR IDS_FILE THREADS REPEAT [fp32|bf16]"""
import json
import os
import sys
import time

import torch
from transformers import Qwen2ForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from hf_peer import timed_prefill  # noqa: E402

model_dir, ids_file, threads, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
prec = sys.argv[5] if len(sys.argv) > 5 else "fp32"
dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[prec]
torch.set_num_threads(threads)
ids = [int(x) for x in open(ids_file).read().split(",")]
t0 = time.perf_counter()
model = Qwen2ForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="sdpa").eval()
load = time.perf_counter() - t0
print(json.dumps(timed_prefill(model, ids, threads, repeat, prec, load)))
