#!/usr/bin/env python3
"""Summarises bench/gpu/check.sh's prefill benchmark (bench.jsonl) as one JSON
object: per run, tokens/s, TFLOP/s and MFU against PEAK_TFLOPS (dense bf16),
for the measured model (a few layers of the real shape) and, for logits-study
(which times the decoder and the head apart), scaled to the full depth of the
real model: forward time x (full layers / measured layers) + head time.
FLOPs: the formula of ls_forward_flops (src/forward/qwen2.c).
usage: bench_summary.py BENCH.jsonl MODEL_DIR PEAK_TFLOPS [FULL_LAYERS=28]"""
import json
import sys


def flops(cfg, T, layers):
    d, V = cfg["hidden_size"], cfg["vocab_size"]
    H, Hkv, f = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or d // H
    per_tok = d * (H + 2 * Hkv) * hd + H * hd * d + 3 * d * f
    attn = T * (T + 1) / 2 * hd * H * 2
    return 2.0 * (layers * (T * per_tok + attn) + T * d * V)


def main():
    path, model_dir, peak = sys.argv[1], sys.argv[2], float(sys.argv[3])
    full = int(sys.argv[4]) if len(sys.argv) > 4 else 28
    cfg = json.load(open(f"{model_dir}/config.json"))
    L = cfg["num_hidden_layers"]
    runs = []
    for line in open(path):
        r = json.loads(line)
        res = r["result"]
        T = res["tokens"]
        sec = res["forward_s"] + res["head_s"] if "forward_s" in res else res["seconds"]
        tf = flops(cfg, T, L) / sec / 1e12
        row = {"what": r["what"], "tokens": T, "seconds": round(sec, 4), "tokens_per_s": round(T / sec, 1),
               "tflops": round(tf, 1), "mfu": round(tf / peak, 4), "layers": L}
        if "forward_s" in res:
            sec_full = res["forward_s"] * full / L + res["head_s"]
            tf_full = flops(cfg, T, full) / sec_full / 1e12
            row.update({"full_depth_layers": full, "full_depth_seconds": round(sec_full, 4),
                        "full_depth_tokens_per_s": round(T / sec_full, 1), "full_depth_mfu": round(tf_full / peak, 4)})
        if "bf16_gemm_tflops" in res:
            row["measured_bf16_gemm_tflops"] = res["bf16_gemm_tflops"]
        runs.append(row)
    print(json.dumps({"peak_tflops": peak, "model": {k: cfg[k] for k in (
        "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
        "vocab_size")}, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
