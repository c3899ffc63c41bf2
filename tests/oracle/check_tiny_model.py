#!/usr/bin/env python3
"""Checks `logits-study make-tiny-model` against transformers (the oracle):

  * transformers' Qwen2Config reads our config.json and, saved again, writes
    the same keys and values (transformers_version aside when it differs);
  * Qwen2ForCausalLM.from_pretrained loads model.safetensors with no missing,
    unexpected or mismatched tensors, and save_pretrained of the loaded model
    writes a model.safetensors byte-identical to ours (the reference writer's
    layout: sorted names, contiguous data, header padded to 8 bytes);
  * `logits-study score --json` gives the same log-probs, entropies, target
    log-probs and top-k as transformers in fp32, within 1e-4 (DESIGN §5);
  * with --tokenizer, AutoTokenizer loads the copied tokenizer files.

usage: .venv-oracle/bin/python tests/oracle/check_tiny_model.py BINARY [TOKENIZER_DIR]
Exit status 0 when every check passes.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

TOL = 1e-4
TOP_K = 5

# name, make-tiny-model options
VARIANTS = [
    ("default-bf16", []),
    ("tied-f32", ["--tie", "--dtype", "f32", "--layers", "3", "--kv-heads", "4"]),
    ("gqa7-f16-headdim", ["--dtype", "f16", "--hidden", "56", "--heads", "7", "--kv-heads", "1",
                          "--head-dim", "12", "--intermediate", "80", "--rope-theta", "10000",
                          "--vocab", "500", "--max-pos", "256", "--rms-norm-eps", "1e-5"]),
]


def stats_for(model, ids, targets):
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    logp = torch.log_softmax(logits.double(), dim=-1)
    out = [None]
    for p in range(1, len(ids)):
        row = logp[p - 1]
        top = torch.topk(row, TOP_K)
        out.append({
            "logprob": float(row[ids[p]]),
            "entropy": float(-(row.exp() * row).sum()),
            "top": [[int(i), float(v)] for v, i in zip(top.values, top.indices)],
            "targets": [float(row[t]) for t in targets],
        })
    return out


def check_config(d, fails):
    ours = json.load(open(os.path.join(d, "config.json")))
    cfg = Qwen2Config.from_pretrained(d)
    with tempfile.TemporaryDirectory() as t:
        cfg.save_pretrained(t)
        theirs = json.load(open(os.path.join(t, "config.json")))
    if ours.get("transformers_version") != theirs.get("transformers_version"):
        ours.pop("transformers_version", None)
        theirs.pop("transformers_version", None)
    if ours != theirs:
        keys = sorted(set(ours) | set(theirs))
        diff = [(k, ours.get(k, "<absent>"), theirs.get(k, "<absent>")) for k in keys if ours.get(k) != theirs.get(k)]
        fails.append(f"{d}: config.json differs from Qwen2Config's own: {diff}")


def check_weights(d, fails):
    model, info = Qwen2ForCausalLM.from_pretrained(d, dtype="auto", output_loading_info=True)
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(k):
            fails.append(f"{d}: from_pretrained {k}: {info[k]}")
    with tempfile.TemporaryDirectory() as t:
        model.save_pretrained(t, safe_serialization=True)
        a = open(os.path.join(d, "model.safetensors"), "rb").read()
        b = open(os.path.join(t, "model.safetensors"), "rb").read()
        if a != b:
            n = int.from_bytes(a[:8], "little")
            m = int.from_bytes(b[:8], "little")
            fails.append(f"{d}: model.safetensors differs from save_pretrained's (header {n} vs {m} bytes, "
                         f"{len(a)} vs {len(b)} bytes; headers equal: {a[:8 + n] == b[:8 + m]})")


def check_scores(binary, d, vocab, ids, fails):
    targets = [3, 17, vocab - 1, 100]
    ref = Qwen2ForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
    want = stats_for(ref, ids, targets)
    out = subprocess.run([binary, "score", "--model", d, "--ids", ",".join(map(str, ids)), "--targets",
                          ",".join(map(str, targets)), "--top-k", str(TOP_K), "--json", "--device", "cpu"],
                         check=True, capture_output=True, text=True).stdout
    got = json.loads(out)["positions"]
    worst = 0.0
    for p, (w, g) in enumerate(zip(want, got)):
        if w is None:
            if g["logprob"] is not None:
                fails.append(f"{d}: position 0 should have no prediction")
            continue
        pairs = [(w["logprob"], g["logprob"]), (w["entropy"], g["entropy"])]
        pairs += list(zip(w["targets"], g["targets"]))
        pairs += [(a[1], b[1]) for a, b in zip(w["top"], g["top"])]
        for a, b in pairs:
            worst = max(worst, abs(a - b))
        for k, (a, b) in enumerate(zip(w["top"], g["top"])):
            # ids must agree unless two logits are tied within the tolerance
            if a[0] != b[0] and not any(abs(x[1] - a[1]) < TOL for j, x in enumerate(w["top"]) if j != k):
                fails.append(f"{d}: position {p} top-{k}: transformers id {a[0]}, ours {b[0]}")
    if worst > TOL:
        fails.append(f"{d}: max |difference| {worst:.3g} > {TOL}")
    print(f"  {os.path.basename(d)}: {len(ids)} tokens, max |ours - transformers| = {worst:.3g}")


def main():
    binary = sys.argv[1]
    tok_dir = sys.argv[2] if len(sys.argv) > 2 else None
    fails = []
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        gen = torch.Generator().manual_seed(7)
        for vi, (name, opts) in enumerate(VARIANTS):
            d = os.path.join(tmp, name)
            subprocess.run([binary, "make-tiny-model", "--out", d, "--seed", str(100 + vi)] + opts, check=True)
            vocab = json.load(open(os.path.join(d, "config.json")))["vocab_size"]
            check_config(d, fails)
            check_weights(d, fails)
            for n in (1, 2, 17, 60):
                check_scores(binary, d, vocab, torch.randint(0, vocab, (n,), generator=gen).tolist(), fails)
        if tok_dir:
            d = os.path.join(tmp, "with-tokenizer")
            subprocess.run([binary, "make-tiny-model", "--out", d, "--seed", "5", "--tokenizer", tok_dir],
                           check=True)
            tok = AutoTokenizer.from_pretrained(d)
            ids = tok("Wait, let me check: 2 + 2 = 4. Therefore the answer is 4.")["input_ids"]
            check_config(d, fails)
            check_scores(binary, d, 151936, ids + [151935, 151643], fails)
    for f in fails:
        print("FAIL:", f)
    print("check_tiny_model:", "FAILED" if fails else "all checks passed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
