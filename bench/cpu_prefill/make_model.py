#!/usr/bin/env python3
"""Writes a random-weight Qwen2 checkpoint of Qwen2.5-0.5B shape (hidden 896,
24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab 151936, tied head)
with transformers' save_pretrained, fp32. usage: make_model.py OUTDIR"""
import os
import sys

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

out = sys.argv[1]
if os.path.exists(os.path.join(out, "config.json")):
    sys.exit(0)
torch.manual_seed(0)
cfg = Qwen2Config(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                  intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True,
                  max_position_embeddings=32768, rms_norm_eps=1e-6,
                  rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
model = Qwen2ForCausalLM(cfg).float()
model.save_pretrained(out, safe_serialization=True)
