#!/usr/bin/env python3
"""Makes the GGUF model fixtures: one tiny random GGUF per architecture the
reader maps (qwen2, llama, qwen3, gemma3), written with gguf.GGUFWriter the
way llama.cpp's converter lays them out (ggml tensor names, mixed storage
types), and what transformers makes of each when it loads the GGUF
(AutoModelForCausalLM.from_pretrained(..., gguf_file=...): dequantized, Q/K
rows un-permuted for llama, Gemma norms minus 1).

Run from the project root with the oracle environment:
    .venv-oracle/bin/python tests/oracle/make_gguf_fixtures.py

Writes tests/fixtures/gguf-tiny/<arch>.gguf, <arch>.ref.f32 (reference rows,
little-endian float32) and <arch>.ref.json:
  {"config": {transformers config values}, "tensors": [{"name", "shape",
   "rows": [row indices], "offset": first float in ref.f32}]}
Rows checked: every row of the layer-0 Q/K projections (where the llama
permutation acts), else rows 0, 1, and the last. tests/unit/test_gguf_model.c
opens the GGUF with ls_model_open's loader and compares bit for bit.

Also writes tests/fixtures/gguf-qwen2-tiny/: model.gguf (a qwen2 GGUF as
above with a 384-token vocabulary) and reference.json, the per-position
statistics transformers computes in fp32 from that GGUF, in the format of
tests/oracle/make_fixtures.py (tests/unit/test_forward.c compares them).
"""
import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
import torch
import transformers
from transformers import AutoModelForCausalLM

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gguf-tiny")

D, F, H, HKV, HD, V, L = 64, 96, 4, 2, 16, 128, 2
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import SEQ_LENGTHS, TOP_K, stats_for  # noqa: E402

# ggml name suffix -> storage type (ne[0] = 64 or 96 here: block-32 types only)
TYPES = {
    "attn_q": T.Q4_0, "attn_k": T.Q5_0, "attn_v": T.Q4_1, "attn_output": T.Q5_1,
    "ffn_gate": T.F16, "ffn_up": T.BF16, "ffn_down": T.Q8_0,
}


def arch_tensors(arch, rng):
    """(ggml name, numpy fp32 array in row-major (out, in) shape) for a tiny random model."""
    t = [("token_embd.weight", rng.standard_normal((V, D)))]
    for i in range(L):
        p = f"blk.{i}."
        t += [(p + "attn_norm.weight", 1 + 0.2 * rng.standard_normal(D)),
              (p + "attn_q.weight", rng.standard_normal((H * HD, D)) / 8),
              (p + "attn_k.weight", rng.standard_normal((HKV * HD, D)) / 8),
              (p + "attn_v.weight", rng.standard_normal((HKV * HD, D)) / 8),
              (p + "attn_output.weight", rng.standard_normal((D, H * HD)) / 8),
              (p + "ffn_norm.weight", 1 + 0.2 * rng.standard_normal(D)),
              (p + "ffn_gate.weight", rng.standard_normal((F, D)) / 8),
              (p + "ffn_up.weight", rng.standard_normal((F, D)) / 8),
              (p + "ffn_down.weight", rng.standard_normal((D, F)) / 10)]
        if arch == "qwen2":
            t += [(p + "attn_q.bias", 0.3 * rng.standard_normal(H * HD)),
                  (p + "attn_k.bias", 0.3 * rng.standard_normal(HKV * HD)),
                  (p + "attn_v.bias", 0.3 * rng.standard_normal(HKV * HD))]
        if arch in ("qwen3", "gemma3"):
            t += [(p + "attn_q_norm.weight", 1 + 0.2 * rng.standard_normal(HD)),
                  (p + "attn_k_norm.weight", 1 + 0.2 * rng.standard_normal(HD))]
        if arch == "gemma3":
            t += [(p + "post_attention_norm.weight", 1 + 0.2 * rng.standard_normal(D)),
                  (p + "post_ffw_norm.weight", 1 + 0.2 * rng.standard_normal(D))]
    t.append(("output_norm.weight", 1 + 0.2 * rng.standard_normal(D)))
    if arch in ("qwen2", "llama"):  # qwen3 / gemma3: tied (no output.weight)
        t.append(("output.weight", rng.standard_normal((V, D))))
    return [(n, a.astype(np.float32)) for n, a in t]


def write_gguf(arch, path, rng):
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(L)
    w.add_context_length(4096)
    w.add_embedding_length(D)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0 if arch == "llama" else 1000000.0)
    if arch == "llama":
        w.add_rope_dimension_count(HD)
        w.add_vocab_size(V)
    else:
        w.add_key_length(HD)
        w.add_value_length(HD)
    if arch == "gemma3":
        w.add_sliding_window(32)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(V)])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    for name, a in arch_tensors(arch, rng):
        stem = name.split(".")[-2]
        qt = TYPES.get(stem, T.F32) if name.endswith(".weight") and a.ndim == 2 else T.F32
        if name == "token_embd.weight":
            qt = T.Q8_0
        if name == "output.weight":
            qt = T.F16
        if qt == T.F32:
            w.add_tensor(name, a)
        elif qt == T.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            q = gguf.quants.quantize(a, qt)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def reference(arch, path):
    # transformers reads no head_dim for qwen3 GGUFs (GGUF_TO_TRANSFORMERS_MAPPING has no key_length
    # entry): Qwen3Config's default 128, which real Qwen3 models use, would not fit this tiny one.
    extra = {"head_dim": HD} if arch == "qwen3" else {}
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 dtype=torch.float32, **extra)
    cfg = model.config
    sd = model.state_dict()
    tensors, chunks, off = [], [], 0
    for name in sorted(sd):
        a = sd[name].detach().numpy().astype(np.float32)
        if name == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        rows_all = a.reshape(a.shape[0], -1) if a.ndim == 2 else a.reshape(1, -1)
        if a.ndim == 2 and (".0.self_attn.q_proj." in name or ".0.self_attn.k_proj." in name):
            rows = list(range(a.shape[0]))
        elif a.ndim == 2:
            rows = sorted({0, 1, a.shape[0] - 1})
        else:
            rows = [0]
        vals = rows_all[rows].reshape(-1)
        tensors.append({"name": name, "shape": list(a.shape), "rows": rows, "offset": off})
        chunks.append(vals)
        off += vals.size
    keys = ["model_type", "num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
            "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "rms_norm_eps",
            "rope_theta", "tie_word_embeddings", "sliding_window"]
    conf = {k: getattr(cfg, k, None) for k in keys}
    conf["rope_parameters"] = json.loads(json.dumps(getattr(cfg, "rope_parameters", None), default=str))
    return conf, tensors, np.concatenate(chunks).astype("<f4")


def forward_fixture(rng):
    """gguf-qwen2-tiny: a qwen2 GGUF and transformers' statistics computed from it."""
    global V
    saved, V = V, 384
    out = os.path.join(OUT, "..", "gguf-qwen2-tiny")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.gguf")
    write_gguf("qwen2", path, rng)
    V = saved
    ref = AutoModelForCausalLM.from_pretrained(out, gguf_file="model.gguf", dtype=torch.float32,
                                               attn_implementation="eager").eval()
    gen = torch.Generator().manual_seed(2026)
    targets = [3, 17, 383, 100]
    seqs = []
    for n in SEQ_LENGTHS:
        ids = torch.randint(0, 384, (n,), generator=gen).tolist()
        seqs.append({"ids": ids, "positions": stats_for(ref, ids, targets)})
    doc = {"model": "gguf-qwen2-tiny", "transformers": transformers.__version__, "torch": torch.__version__,
           "top_k": TOP_K, "targets": targets, "sequences": seqs}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print("gguf-qwen2-tiny:", sorted(os.listdir(out)))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1202)
    for arch in ["qwen2", "llama", "qwen3", "gemma3"]:
        path = os.path.join(OUT, f"{arch}.gguf")
        write_gguf(arch, path, rng)
        conf, tensors, vals = reference(arch, path)
        vals.tofile(os.path.join(OUT, f"{arch}.ref.f32"))
        with open(os.path.join(OUT, f"{arch}.ref.json"), "w") as f:
            json.dump({"made_by": "tests/oracle/make_gguf_fixtures.py",
                       "transformers": transformers.__version__, "gguf": importlib.metadata.version("gguf"),
                       "config": conf, "tensors": tensors}, f, indent=1)
        print(arch, os.path.getsize(path), "bytes,", len(tensors), "tensors,", vals.size, "reference values")
    forward_fixture(rng)


if __name__ == "__main__":
    sys.exit(main())
