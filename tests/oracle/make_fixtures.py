#!/usr/bin/env python3
"""Makes the oracle fixtures: tiny random Qwen2 checkpoints written by
transformers' own save_pretrained, and the per-position statistics that
transformers' Qwen2ForCausalLM computes for them in fp32.

Run from the project root with the oracle environment (torch + transformers):
    bash tests/oracle/setup_oracle.sh
    .venv-oracle/bin/python tests/oracle/make_fixtures.py

Writes tests/fixtures/<name>/ (config.json, *.safetensors, reference.json).
The C tests (tests/unit/test_forward.c, tests/scripts/test_score_cli.sh)
compare against reference.json without needing torch.

reference.json: {"model", "transformers", "torch", "top_k", "targets": [ids],
  "sequences": [{"ids": [...], "positions": [null | {"logprob", "entropy",
  "rank", "rank_margin", "top": [[id, logprob], ...], "targets": [logprob, ...]}]}]}
rank is 1 + the number of tokens more probable than the actual one;
rank_margin the smallest |log-prob difference| to any other token (ranks are
compared only where it exceeds the tolerance).
Position p holds the distribution predicted for token p (from the logits at
p - 1); position 0 has none (null).
"""
import json
import os
import shutil
import sys

import torch
import transformers
from transformers import Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
TOP_K = 5
VOCAB = 384

# name, config overrides, storage dtype, shard size
VARIANTS = [
    ("qwen2-tiny-tied", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=4,
                             intermediate_size=96, tie_word_embeddings=True), torch.float32, None),
    ("qwen2-tiny-untied", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                               intermediate_size=128, tie_word_embeddings=False), torch.float32, None),
    ("qwen2-tiny-gqa7-bf16", dict(hidden_size=56, num_attention_heads=7, num_key_value_heads=1,
                                  head_dim=12, intermediate_size=80, tie_word_embeddings=False,
                                  rope_parameters={"rope_type": "default", "rope_theta": 1e6}),
     torch.bfloat16, None),
    ("qwen2-tiny-sharded-f16", dict(hidden_size=48, num_attention_heads=6, num_key_value_heads=2,
                                    intermediate_size=64, tie_word_embeddings=True, num_hidden_layers=3),
     torch.float16, "60KB"),
]

SEQ_LENGTHS = [1, 2, 9, 33, 70]


def randomise(model, gen):
    """Weights with enough spread that the predictive distributions are far
    from uniform (the default init gives near-uniform logits)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(1.0 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) / (p.shape[1] ** 0.5) * 1.5)


def stats_for(model, ids, targets):
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()  # [S, V]
    logp = torch.log_softmax(logits.double(), dim=-1)
    out = [None]
    for p in range(1, len(ids)):
        row = logp[p - 1]
        ent = float(-(row.exp() * row).sum())
        top = torch.topk(row, TOP_K)
        tok = row[ids[p]]
        others = torch.cat([row[:ids[p]], row[ids[p] + 1:]])
        out.append({
            "logprob": float(tok),
            "rank": int((row > tok).sum()) + 1,
            "rank_margin": float((others - tok).abs().min()),
            "entropy": ent,
            "top": [[int(i), float(v)] for v, i in zip(top.values, top.indices)],
            "targets": [float(row[t]) for t in targets],
        })
    return out


def main():
    os.makedirs(ROOT, exist_ok=True)
    for vi, (name, over, dtype, shard) in enumerate(VARIANTS):
        gen = torch.Generator().manual_seed(1234 + vi)
        cfg = dict(vocab_size=VOCAB, num_hidden_layers=2, max_position_embeddings=256,
                   rms_norm_eps=1e-6, hidden_act="silu")
        cfg.update(over)
        config = Qwen2Config(**cfg)
        torch.manual_seed(vi)
        model = Qwen2ForCausalLM(config).float()
        randomise(model, gen)
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        kw = {"max_shard_size": shard} if shard else {}
        model.to(dtype).save_pretrained(out, safe_serialization=True, **kw)
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(out, extra)):
                os.remove(os.path.join(out, extra))
        # The reference: the checkpoint as stored, read back and computed in fp32.
        ref = Qwen2ForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
        rng = torch.Generator().manual_seed(99 + vi)
        targets = [3, 17, VOCAB - 1, 100]
        seqs = []
        for n in SEQ_LENGTHS:
            ids = torch.randint(0, VOCAB, (n,), generator=rng).tolist()
            seqs.append({"ids": ids, "positions": stats_for(ref, ids, targets)})
        doc = {"model": name, "transformers": transformers.__version__, "torch": torch.__version__,
               "top_k": TOP_K, "targets": targets, "sequences": seqs}
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
        files = sorted(os.listdir(out))
        print(f"{name}: {files}", file=sys.stderr)


if __name__ == "__main__":
    main()
