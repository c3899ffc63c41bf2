#!/usr/bin/env python3
"""Makes the oracle fixtures: tiny random checkpoints (Qwen2, Llama, Qwen3,
Gemma 3 text) written by transformers' own save_pretrained, and the
per-position statistics that transformers' *ForCausalLM computes for them in
fp32.

Run from the project root with the oracle environment (torch + transformers):
    bash tests/oracle/setup_oracle.sh
    .venv-oracle/bin/python tests/oracle/make_fixtures.py [NAME ...]
(no NAME: all fixtures; else only those named).

Some fixtures are rewritten after save_pretrained into the older config.json
spelling most published checkpoints use (top-level rope_theta + rope_scaling,
Gemma 3's rope_local_base_freq + sliding_window_pattern instead of
layer_types); the reference is computed from the rewritten file, so it is
transformers' own reading of that spelling.

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
from transformers import (AutoModelForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig,
                          LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
TOP_K = 5
VOCAB = 384

QWEN2 = (Qwen2Config, Qwen2ForCausalLM, dict(hidden_act="silu"))
LLAMA = (LlamaConfig, LlamaForCausalLM, dict(hidden_act="silu"))
QWEN3 = (Qwen3Config, Qwen3ForCausalLM, dict(hidden_act="silu"))
GEMMA3 = (Gemma3TextConfig, Gemma3ForCausalLM, dict(hidden_activation="gelu_pytorch_tanh"))

# name, config overrides, storage dtype, shard size[, architecture (Qwen2 when absent), old-spelling rewrite]
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
    # Llama: one KV head (GQA 4:1), tied, default RoPE, older spelling (rope_theta, rope_scaling null)
    ("llama-tiny-kv1-tied", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=1,
                                 intermediate_size=96, tie_word_embeddings=True, num_hidden_layers=3,
                                 rope_parameters={"rope_type": "default", "rope_theta": 5e5}),
     torch.float32, None, LLAMA, "old"),
    # linear RoPE scaling given as the oldest spelling {"type": "linear"}; q/k/v/o and MLP biases; untied
    ("llama-tiny-linear-bias", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                                    intermediate_size=128, tie_word_embeddings=False, attention_bias=True,
                                    mlp_bias=True,
                                    rope_parameters={"rope_type": "linear", "factor": 2.5, "rope_theta": 1e4}),
     torch.float32, None, LLAMA, "old-type"),
    # llama3 RoPE (Llama 3.1's): original context 64 so head_dim 16 has low, medium and high frequencies
    ("llama-tiny-llama3-bf16", dict(hidden_size=48, num_attention_heads=3, num_key_value_heads=1, head_dim=16,
                                    intermediate_size=96, tie_word_embeddings=False,
                                    rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                     "high_freq_factor": 4.0,
                                                     "original_max_position_embeddings": 64,
                                                     "rope_theta": 1e4}),
     torch.bfloat16, None, LLAMA, None),
    # YaRN (Qwen2.5's long-context setting): attention factor from the factor, default betas
    ("llama-tiny-yarn", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                             intermediate_size=96, tie_word_embeddings=True,
                             rope_parameters={"rope_type": "yarn", "factor": 4.0,
                                              "original_max_position_embeddings": 32, "rope_theta": 1e4}),
     torch.float32, None, LLAMA, "old"),
    # Qwen3: per-head q/k RMSNorm, explicit head_dim (24 != 64 / 4), no biases
    ("qwen3-tiny-tied", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                             intermediate_size=96, tie_word_embeddings=True,
                             rope_parameters={"rope_type": "default", "rope_theta": 1e6}),
     torch.float32, None, QWEN3, None),
    ("qwen3-tiny-kv1-yarn", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                 intermediate_size=128, tie_word_embeddings=False,
                                 rope_parameters={"rope_type": "yarn", "factor": 2.0,
                                                  "original_max_position_embeddings": 40, "rope_theta": 1e5}),
     torch.bfloat16, None, QWEN3, "old"),
    # Gemma 3 text: sliding window 16 (sequences of 33 and 70 tokens cross it) on every 2nd layer,
    # one KV head, query_pre_attn_scalar != head_dim, tied; older spelling (rope_theta,
    # rope_local_base_freq, sliding_window_pattern)
    ("gemma3-tiny-kv1-window", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=1, head_dim=16,
                                    intermediate_size=96, num_hidden_layers=3, sliding_window=16,
                                    query_pre_attn_scalar=24, layer_types=["sliding_attention",
                                                                           "full_attention",
                                                                           "sliding_attention"],
                                    rope_parameters={"full_attention": {"rope_type": "default",
                                                                        "rope_theta": 1e6},
                                                     "sliding_attention": {"rope_type": "default",
                                                                           "rope_theta": 1e4}}),
     torch.float32, None, GEMMA3, "old-gemma"),
    # Gemma 3 text, newer spelling (layer_types, nested rope_parameters with linear scaling on the
    # global layers as Gemma 3 4B+), final-logit soft-capping, untied, bf16; attn_logit_softcapping
    # is set but Gemma3Attention does not apply it (nor do we)
    ("gemma3-tiny-softcap-bf16", dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                                      head_dim=32, intermediate_size=128, num_hidden_layers=3,
                                      sliding_window=16, query_pre_attn_scalar=32, tie_word_embeddings=False,
                                      final_logit_softcapping=15.0, attn_logit_softcapping=8.0,
                                      layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                                      rope_parameters={"full_attention": {"rope_type": "linear", "factor": 4.0,
                                                                          "rope_theta": 1e6},
                                                       "sliding_attention": {"rope_type": "default",
                                                                             "rope_theta": 1e4}}),
     torch.bfloat16, None, GEMMA3, None),
]


def old_spelling(path, how):
    """Rewrites config.json into the older spelling (see the module doc)."""
    with open(path) as f:
        cfg = json.load(f)
    if how == "old-gemma":
        rp = cfg.pop("rope_parameters")
        cfg["rope_theta"] = rp["full_attention"]["rope_theta"]
        cfg["rope_local_base_freq"] = rp["sliding_attention"]["rope_theta"]
        cfg["rope_scaling"] = None
        lt = cfg.pop("layer_types")
        pattern = lt.index("full_attention") + 1
        assert lt == ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(len(lt))]
        cfg["sliding_window_pattern"] = pattern
    else:
        rp = dict(cfg.pop("rope_parameters"))
        cfg["rope_theta"] = rp.pop("rope_theta")
        if rp["rope_type"] == "default":
            cfg["rope_scaling"] = None
        else:
            if how == "old-type":
                rp["type"] = rp.pop("rope_type")
            cfg["rope_scaling"] = rp
        cfg.pop("layer_types", None)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)

SEQ_LENGTHS = [1, 2, 9, 33, 70]


def randomise(model, gen, embed_std=1.0):
    """Weights with enough spread that the predictive distributions are far
    from uniform (the default init gives near-uniform logits). Gemma scales
    its embeddings by sqrt(hidden): embed_std keeps its tied logits from
    collapsing to one-hot."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(embed_std * torch.randn(p.shape, generator=gen))
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
    only = set(sys.argv[1:])
    for vi, (name, over, dtype, shard, *arch) in enumerate(VARIANTS):
        if only and name not in only:
            continue
        config_cls, model_cls, act = arch[0] if arch else QWEN2
        spelling = arch[1] if len(arch) > 1 else None
        gen = torch.Generator().manual_seed(1234 + vi)
        cfg = dict(vocab_size=VOCAB, num_hidden_layers=2, max_position_embeddings=256, rms_norm_eps=1e-6)
        cfg.update(act)
        cfg.update(over)
        config = config_cls(**cfg)
        torch.manual_seed(vi)
        model = model_cls(config).float()
        randomise(model, gen, 0.2 if model_cls is Gemma3ForCausalLM else 1.0)
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        kw = {"max_shard_size": shard} if shard else {}
        model.to(dtype).save_pretrained(out, safe_serialization=True, **kw)
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(out, extra)):
                os.remove(os.path.join(out, extra))
        if spelling:
            old_spelling(os.path.join(out, "config.json"), spelling)
        # The reference: the checkpoint as stored, read back and computed in fp32.
        ref = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
        assert type(ref) is model_cls, type(ref)
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
