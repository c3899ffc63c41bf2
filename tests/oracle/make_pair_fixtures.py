#!/usr/bin/env python3
"""Makes the reference for `logits-study compare` (ls/divergence.h): the
per-position divergence between two models' predictive distributions as
transformers computes them (fp32 forward, divergences in float64 over the
full vocabulary).

Run from the project root with the oracle environment, after make_fixtures.py:
    .venv-oracle/bin/python tests/oracle/make_pair_fixtures.py

Writes tests/fixtures/pairs/qwen2-tiny-untied-nudged/ (the untied fixture with every
weight nudged by 2% noise: a close relative, as an RL model is of its SFT
model) and tests/fixtures/pairs/reference.json:
  {"transformers", "torch", "pairs": [{"a", "b", "sequences": [{"ids": [...],
   "positions": [null | {"kl_ab", "kl_ba", "js", "top1_agree", "top1_gap",
   "dlogprob"}]}]}]}
top1_gap is the smaller of the two models' gaps between their best and
second-best log-probs (top-1 agreement is compared only where it exceeds the
tolerance). Position p compares the distributions predicted for token p.
"""
import json
import math
import os
import shutil

import torch
import transformers
from transformers import AutoModelForCausalLM

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
PAIRS = [("qwen2-tiny-tied", "qwen2-tiny-untied"), ("qwen2-tiny-untied", "pairs/qwen2-tiny-untied-nudged"),
         ("pairs/qwen2-tiny-untied-nudged", "qwen2-tiny-gqa7-bf16"),
         # across architectures; Gemma's final soft-capping must reach the divergences
         ("gemma3-tiny-softcap-bf16", "llama-tiny-yarn")]


def load(name):
    return AutoModelForCausalLM.from_pretrained(os.path.join(FIX, name), dtype=torch.float32,
                                                attn_implementation="eager").eval()


def make_nudged():
    out = os.path.join(FIX, "pairs", "qwen2-tiny-untied-nudged")
    model = load("qwen2-tiny-untied")
    gen = torch.Generator().manual_seed(4321)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.0 + 0.02 * torch.randn(p.shape, generator=gen))
    shutil.rmtree(out, ignore_errors=True)
    model.save_pretrained(out, safe_serialization=True)
    gc = os.path.join(out, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)


def logprobs(model, ids):
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    return torch.log_softmax(logits.double(), dim=-1)  # [S, V] float64


def gap(row):
    top2 = torch.topk(row, 2).values
    return float(top2[0] - top2[1])


def positions(la, lb, ids):
    out = [None]
    for p in range(1, len(ids)):
        a, b = la[p - 1], lb[p - 1]
        pa, pb = a.exp(), b.exp()
        lm = torch.logaddexp(a, b) - math.log(2.0)
        out.append({
            "kl_ab": float((pa * (a - b)).sum()),
            "kl_ba": float((pb * (b - a)).sum()),
            "js": float(0.5 * ((pa * (a - lm)).sum() + (pb * (b - lm)).sum())),
            "top1_agree": bool(int(a.argmax()) == int(b.argmax())),
            "top1_gap": min(gap(a), gap(b)),
            "dlogprob": float(b[ids[p]] - a[ids[p]]),
        })
    return out


def main():
    make_nudged()
    seqs = json.load(open(os.path.join(FIX, "qwen2-tiny-untied", "reference.json")))["sequences"]
    ids_list = [s["ids"] for s in seqs if len(s["ids"]) >= 2]
    doc = {"transformers": transformers.__version__, "torch": torch.__version__, "pairs": []}
    for a, b in PAIRS:
        ma, mb = load(a), load(b)
        doc["pairs"].append({"a": a, "b": b, "sequences": [
            {"ids": ids, "positions": positions(logprobs(ma, ids), logprobs(mb, ids), ids)} for ids in ids_list]})
    os.makedirs(os.path.join(FIX, "pairs"), exist_ok=True)
    with open(os.path.join(FIX, "pairs", "reference.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
