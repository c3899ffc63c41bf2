#!/usr/bin/env python3
"""Makes the reference of the real-model score test (tests/scripts/test_real_score.sh):
for each of the two real GGUF files (scripts/fetch_real_models.sh), transformers
loads the same file (dequantized to fp32, eager attention) and its tokenizer
(built from the GGUF metadata), and scores maths texts made of consecutive
worked answers of configs/demo.jsonl (with the demo's template) of 100-600
tokens; the longest is longer than Gemma 3's 512-token sliding window.

Run from the project root with the oracle environment:
    .venv-oracle/bin/python tests/oracle/make_real_score_fixtures.py

Writes tests/fixtures/real-score/<file stem>.json in tests/scripts/check_score.py's
fixture format: {"model", "file", "sha256", "transformers", "torch", "top_k",
"targets": [ids], "sequences": [{"text", "ids", "positions": [null, {"logprob",
"entropy", "top": [[id, logprob], ...], "targets": [logprob, ...]}, ...]}]}
(ids: the tokenizer's, special tokens such as Gemma's BOS included; numbers
rounded to 1e-9).
"""
import hashlib
import json
import os
import subprocess
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "real-score")
FILES = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]
TEMPLATE = "Query: {query}\nAnswer: {answer}"
# texts: consecutive records of configs/demo.jsonl from FIRST, until the text has
# at least MIN tokens under Gemma's tokenizer (the larger vocabulary: fewest tokens)
TEXTS = [(0, 100), (10, 280), (25, 530)]
TOP_K = 5
TARGET_WORDS = [" wait", " so", " check", " Therefore"]


def texts(gemma_tok):
    recs = [json.loads(line) for line in open(os.path.join(ROOT, "configs", "demo.jsonl"))]
    out = []
    for first, need in TEXTS:
        parts = []
        for r in recs[first:]:
            parts.append(TEMPLATE.format(query=r["query"], answer=r["answer"]))
            text = "\n\n".join(parts)
            if len(gemma_tok(text)["input_ids"]) >= need:
                break
        out.append(text)
    return out


def stats_for(model, ids, targets):
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()  # [S, V]
    logp = torch.log_softmax(logits.double(), dim=-1)
    out = [None]
    for p in range(1, len(ids)):
        row = logp[p - 1]
        top = torch.topk(row, TOP_K)
        out.append({
            "logprob": round(float(row[ids[p]]), 9),
            "entropy": round(float(-(row.exp() * row).sum()), 9),
            "top": [[int(i), round(float(v), 9)] for v, i in zip(top.values, top.indices)],
            "targets": [round(float(row[t]), 9) for t in targets],
        })
    return out


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    folder = subprocess.run(["bash", os.path.join(ROOT, "scripts", "fetch_real_models.sh")], check=True,
                            capture_output=True, text=True).stdout.strip()
    os.makedirs(OUT, exist_ok=True)
    gemma_tok = AutoTokenizer.from_pretrained(folder, gguf_file=FILES[1])
    docs = texts(gemma_tok)
    for fname in FILES:
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        targets = [tok(w, add_special_tokens=False)["input_ids"][0] for w in TARGET_WORDS]
        seqs = []
        for text in docs:
            ids = tok(text)["input_ids"]
            seqs.append({"text": text, "ids": ids, "positions": stats_for(model, ids, targets)})
            print(f"{fname}: {len(ids)} tokens", file=sys.stderr)
        with open(os.path.join(folder, fname), "rb") as f:
            sha = hashlib.file_digest(f, "sha256").hexdigest()
        doc = {"model": type(model).__name__, "file": fname, "sha256": sha,
               "transformers": transformers.__version__, "torch": torch.__version__, "top_k": TOP_K,
               "targets": targets, "sequences": seqs}
        with open(os.path.join(OUT, os.path.splitext(fname)[0] + ".json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
