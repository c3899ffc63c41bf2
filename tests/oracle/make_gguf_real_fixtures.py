#!/usr/bin/env python3
"""Makes the fixtures of the real-model GGUF test (tests/realmodel/test_gguf_real.c):
for each of the two real GGUF files (scripts/fetch_real_models.sh), what the
gguf package reads from it (gguf.GGUFReader): the tensor table (name, ggml
type, shape) and a few dequantized rows (gguf.quants.dequantize) of tensors
of every storage type the file uses, as stored and as transformers loads
them (its TensorProcessor for the architecture: llama Q/K rows
un-permuted, Gemma norms minus 1).

Run from the project root with the oracle environment:
    .venv-oracle/bin/python tests/oracle/make_gguf_real_fixtures.py

Writes tests/fixtures/gguf-real/<file stem>.json:
  {"file", "sha256", "version", "n_kv", "alignment", "tensors": [[name, type, [ne0, ne1, ...]], ...],
   "rows": [{"name", "hf_name", "type", "row", "offset", "transformed"}]}
and <file stem>.f32: per rows entry, the row as stored then (offset + cols) the row as transformers has it.
"""
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys

import numpy as np
import gguf
from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, TensorProcessor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "gguf-real")

# file -> (architecture, hf config for the processor, [(tensor, rows)])
FILES = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": ("llama", {"num_attention_heads": 9, "num_key_value_heads": 3}, [
        ("token_embd.weight", [0, 1, 49151]),            # Q8_0
        # Q4_1; rows un-permuted: HF row a * 32 + b of a head is stored row 2b + a
        ("blk.0.attn_q.weight", [0, 1, 2, 3, 32, 33, 34, 35, 575]),
        ("blk.0.attn_k.weight", [0, 1, 2, 3, 32, 33, 34, 35, 191]),
        ("blk.29.ffn_down.weight", [0, 575]),             # Q4_1
        ("blk.0.attn_norm.weight", [0]),                  # F32
        ("output_norm.weight", [0]),
    ]),
    "gemma-3-270m-q4_k_m.gguf": ("gemma3", {}, [
        ("token_embd.weight", [0, 2, 262143]),         # Q8_0
        ("blk.0.attn_q.weight", [0, 1, 1023]),         # Q5_0
        ("blk.0.attn_output.weight", [0, 639]),        # Q4_K
        ("blk.0.ffn_down.weight", [0, 1, 639]),        # Q6_K
        ("blk.0.attn_v.weight", [0, 255]),             # Q8_0
        ("blk.0.attn_norm.weight", [0]),               # F32, minus 1
        ("blk.0.attn_q_norm.weight", [0]),
        ("blk.0.post_ffw_norm.weight", [0]),
        ("output_norm.weight", [0]),
    ]),
}
HF = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "attn_q": "self_attn.q_proj",
      "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
      "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "attn_q_norm": "self_attn.q_norm",
      "post_ffw_norm": "post_feedforward_layernorm"}


def hf_name(name):
    parts = name.split(".")
    if parts[0] == "blk":
        return f"model.layers.{parts[1]}.{HF[parts[2]]}.{parts[3]}"
    return f"{HF[parts[0]]}.{parts[1]}"


def main():
    folder = subprocess.run(["bash", os.path.join(ROOT, "scripts", "fetch_real_models.sh")], check=True,
                            capture_output=True, text=True).stdout.strip()
    os.makedirs(OUT, exist_ok=True)
    for fname, (arch, hfcfg, picks) in FILES.items():
        path = os.path.join(folder, fname)
        r = gguf.GGUFReader(path)
        proc = TENSOR_PROCESSORS.get(arch, TensorProcessor)(config=hfcfg)
        by_name = {t.name: t for t in r.tensors}
        rows_out, vals, off = [], [], 0
        for name, rows in picks:
            t = by_name[name]
            w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
            w2 = w.reshape(-1, int(t.shape[0]))
            tw = proc.process(weights=w, name=name).weights.astype(np.float32).reshape(w2.shape)
            for row in rows:
                rows_out.append({"name": name, "hf_name": hf_name(name), "type": t.tensor_type.name, "row": row,
                                 "offset": off, "cols": int(t.shape[0])})
                vals += [w2[row], tw[row]]
                off += 2 * w2.shape[1]
        h = hashlib.sha256(open(path, "rb").read()).hexdigest()
        align = r.fields.get("general.alignment")
        doc = {"made_by": "tests/oracle/make_gguf_real_fixtures.py", "gguf": importlib.metadata.version("gguf"),
               "file": fname, "sha256": h, "n_kv": len(r.fields) - 3,  # GGUFReader adds 3 header pseudo-fields
               "alignment": int(align.parts[-1][0]) if align else 32,
               "tensors": [[t.name, t.tensor_type.name, [int(x) for x in t.shape]] for t in r.tensors],
               "rows": rows_out}
        stem = os.path.splitext(fname)[0]
        with open(os.path.join(OUT, stem + ".json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        np.concatenate(vals).astype("<f4").tofile(os.path.join(OUT, stem + ".f32"))
        print(fname, len(r.tensors), "tensors,", len(rows_out), "rows")


if __name__ == "__main__":
    sys.exit(main())
