#!/usr/bin/env python3
"""Writes a Qwen2 safetensors checkpoint (the random bench model of
bench/cpu_prefill/make_model.py) as a GGUF llama.cpp can load, its matrices
F32 or BF16 exactly as stored (BF16: round to nearest even, as torch's
.to(bfloat16) does), so that llama.cpp reads the same weights as
`logits-study score` and transformers. The vocabulary (tokens, merges) comes
from a Qwen tokenizer.json (../shared/data/qwen3-tokenizer), padded to the
model's vocab size as llama.cpp's own converter pads it; the benchmark feeds
token ids, so only the vocabulary's size matters.
usage: hf_to_gguf.py MODEL_DIR OUT.gguf f32|bf16 TOKENIZER_JSON   (needs gguf, safetensors)"""
import json
import os
import sys

import gguf
import numpy as np
from safetensors.numpy import load_file

T = gguf.GGMLQuantizationType
model_dir, out, kind, tok_path = sys.argv[1:5]
cfg = json.load(open(os.path.join(model_dir, "config.json")))
st = {}
for f in sorted(os.listdir(model_dir)):
    if f.endswith(".safetensors"):
        st.update(load_file(os.path.join(model_dir, f)))
D, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
H, HKV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
theta = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta", 1000000.0)

w = gguf.GGUFWriter(out, "qwen2")
w.add_block_count(L)
w.add_context_length(cfg.get("max_position_embeddings", 32768))
w.add_embedding_length(D)
w.add_feed_forward_length(cfg["intermediate_size"])
w.add_head_count(H)
w.add_head_count_kv(HKV)
w.add_layer_norm_rms_eps(cfg.get("rms_norm_eps", 1e-6))
w.add_rope_freq_base(float(theta))
w.add_file_type(gguf.LlamaFileType.ALL_F32 if kind == "f32" else gguf.LlamaFileType.MOSTLY_BF16)

tj = json.load(open(tok_path))
vocab = tj["model"]["vocab"]
added = {a["content"]: a["id"] for a in tj.get("added_tokens", [])}
tokens = [f"[PAD{i}]" for i in range(V)]
types = [gguf.TokenType.UNUSED] * V
for s, i in list(vocab.items()) + list(added.items()):
    if i < V:
        tokens[i] = s
        types[i] = gguf.TokenType.CONTROL if s in added else gguf.TokenType.NORMAL
merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("qwen2")
w.add_token_list(tokens)
w.add_token_types(types)
w.add_token_merges(merges)
w.add_bos_token_id(added.get("<|endoftext|>", 0))
w.add_eos_token_id(added.get("<|endoftext|>", 0))
w.add_add_bos_token(False)

names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
         "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
         "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


def put(name, a):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if kind == "bf16" and a.ndim == 2:
        q = gguf.quants.quantize(a, T.BF16)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=T.BF16)
    else:
        w.add_tensor(name, a)


put("token_embd.weight", st["model.embed_tokens.weight"])
for i in range(L):
    for hf, gg in names.items():
        for suffix in ("weight", "bias"):
            key = f"model.layers.{i}.{hf}.{suffix}"
            if key in st:
                put(f"blk.{i}.{gg}.{suffix}", st[key])
put("output_norm.weight", st["model.norm.weight"])
if "lm_head.weight" in st and not cfg.get("tie_word_embeddings", False):
    put("output.weight", st["lm_head.weight"])
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
