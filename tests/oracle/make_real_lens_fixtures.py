#!/usr/bin/env python3
"""Makes the logit-lens reference of the two real GGUF models
(tests/fixtures/real-lens/reference.json): transformers loading the same GGUF
file (dequantized, fp32), output_hidden_states=True, model.norm + lm_head at
every depth (tests/oracle/make_lens_fixtures.py's `lens`), on the first 64
tokens of the first maths text of tests/fixtures/real-score.

    dir=$(bash scripts/fetch_real_models.sh)
    .venv-oracle/bin/python tests/oracle/make_real_lens_fixtures.py "$dir"
"""
import glob
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_lens_fixtures import lens  # noqa: E402

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
N = 64


def main():
    models_dir = sys.argv[1]
    doc = {"transformers": transformers.__version__, "torch": torch.__version__, "models": []}
    for ref in sorted(glob.glob(os.path.join(FIX, "real-score", "*.json"))):
        r = json.load(open(ref))
        model = AutoModelForCausalLM.from_pretrained(models_dir, gguf_file=r["file"], dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        ids = r["sequences"][0]["ids"][:N]
        depths, positions = lens(model, ids)
        doc["models"].append({"model": r["file"], "sha256": r["sha256"], "ids": ids, "depths": depths,
                              "positions": positions})
    os.makedirs(os.path.join(FIX, "real-lens"), exist_ok=True)
    with open(os.path.join(FIX, "real-lens", "reference.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
