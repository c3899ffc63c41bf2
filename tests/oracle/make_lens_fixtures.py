#!/usr/bin/env python3
"""Makes the reference for the logit lens (ls/lens.h, `logits-study score
--lens`): per position and depth, the log-prob of the actual token and the
entropy of the distribution transformers' final norm and head give when
applied to the residual stream after the embeddings and after every layer.

Run from the project root with the oracle environment, after make_fixtures.py:
    .venv-oracle/bin/python tests/oracle/make_lens_fixtures.py

transformers' output_hidden_states=True gives L + 1 hidden states: the
embeddings (scaled, for Gemma), the outputs of layers 1 .. L - 1, and the
last layer's output already through model.norm. The lens applies model.norm
to all but the last, then lm_head (and Gemma's final_logit_softcapping),
log-softmax in float64. Writes tests/fixtures/lens/reference.json:
  {"transformers", "torch", "models": [{"model", "ids", "depths",
   "positions": [{"p", "logprob": [depths], "entropy": [depths]}]}]}
Position p: the distributions predicted for token p (hidden row p - 1).
"""
import json
import os

import torch
import transformers
from transformers import AutoModelForCausalLM

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
MODELS = ["qwen2-tiny-untied", "qwen2-tiny-gqa7-bf16", "llama-tiny-yarn", "llama-tiny-kv1-tied",
          "qwen3-tiny-tied", "gemma3-tiny-softcap-bf16", "gemma3-tiny-kv1-window"]
SEQ_LEN = 33  # the 33-token sequence of each fixture's reference.json


def lens(model, ids):
    with torch.no_grad():
        out = model(torch.tensor([ids]), output_hidden_states=True)
        hs = out.hidden_states
        L = len(hs) - 1
        cap = getattr(model.config, "final_logit_softcapping", None)
        lps, ents = [], []
        for k, h in enumerate(hs):
            x = h[0] if k == L else model.model.norm(h[0])
            logits = model.lm_head(x).double()
            if cap:
                logits = torch.tanh(logits / cap) * cap
            lp = torch.log_softmax(logits, dim=-1)
            lps.append(lp)
            ents.append(-(lp.exp() * lp).sum(-1))
        # the last depth is the model's own prediction
        assert torch.allclose(lps[L], torch.log_softmax(out.logits[0].double(), -1), atol=1e-5)
    positions = []
    for p in range(1, len(ids)):
        positions.append({"p": p, "logprob": [float(lps[k][p - 1, ids[p]]) for k in range(L + 1)],
                          "entropy": [float(ents[k][p - 1]) for k in range(L + 1)]})
    return L + 1, positions


def main():
    doc = {"transformers": transformers.__version__, "torch": torch.__version__, "models": []}
    for name in MODELS:
        d = os.path.join(FIX, name)
        model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
        seqs = json.load(open(os.path.join(d, "reference.json")))["sequences"]
        ids = next(s["ids"] for s in seqs if len(s["ids"]) == SEQ_LEN)
        depths, positions = lens(model, ids)
        doc["models"].append({"model": name, "ids": ids, "depths": depths, "positions": positions})
    os.makedirs(os.path.join(FIX, "lens"), exist_ok=True)
    with open(os.path.join(FIX, "lens", "reference.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
