#!/usr/bin/env python3
"""The peer of bench/gpu_prefill: HF transformers bf16 prefill on the GPU of
the same checkpoint and ids, computing the statistics `logits-study score`
computes (log-prob of each next token, entropy, top-5, target log-probs),
two ways:

  original   the original tool's way (seeds/001: outputs.logits[0].cpu(),
             then torch.softmax on the CPU): full [T, vocab] logits leave the
             GPU as fp32 and every statistic is computed on the host;
  efficient  hidden states from model.model, then per chunk of 1024 rows the
             head GEMM and an fp32 log_softmax on the GPU; only the small
             statistics leave it (what logits-study does, in PyTorch).

Prints one JSON line (the fastest of REPEAT runs, after one warm-up).
usage: hf_gpu_prefill.py MODEL_DIR IDS_FILE original|efficient REPEAT TARGETS
       hf_gpu_prefill.py --summarize RESULTS.jsonl MODEL_DIR PEAK_TFLOPS"""
import json
import sys
import time


def model_flops(cfg, T):
    """2 x multiply-adds of a prefill of one sequence of T tokens: the formula
    of ls_forward_flops (src/forward/qwen2.c): linear layers, causal attention
    scores and values, the head."""
    d, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    H, Hkv, f = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or d // H
    per_tok = d * (H + 2 * Hkv) * hd + H * hd * d + 3 * d * f
    attn = T * (T + 1) / 2 * hd * H * 2
    return 2.0 * (L * (T * per_tok + attn) + T * d * V)


def summarize(path, model_dir, peak_tflops):
    cfg = json.load(open(f"{model_dir}/config.json"))
    print(f"MFU against {peak_tflops} TFLOP/s (H100 SXM dense bf16 spec; pass PEAK_TFLOPS for another GPU)")
    print(f"{'what':<16} {'tokens':>7} {'seconds':>9} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6}")
    for line in open(path):
        r = json.loads(line)
        res = r["result"]
        T = res["tokens"]
        sec = res["forward_s"] + res["head_s"] if "forward_s" in res else res["seconds"]
        tf = model_flops(cfg, T) / sec / 1e12
        print(f"{r['what']:<16} {T:>7} {sec:>9.4f} {T / sec:>10.1f} {tf:>8.1f} {tf / peak_tflops:>6.1%}")


def main():
    if sys.argv[1] == "--summarize":
        summarize(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    import torch
    from transformers import Qwen2ForCausalLM

    model_dir, ids_file, way, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    targets = torch.tensor([int(t) for t in sys.argv[5].split(",")])
    dev = torch.device("cuda")
    ids = [int(x) for x in open(ids_file).read().split(",")]
    t0 = time.perf_counter()
    model = Qwen2ForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, attn_implementation="sdpa").to(dev).eval()
    load = time.perf_counter() - t0
    x = torch.tensor([ids], device=dev)
    nxt = x[0, 1:]

    def original():
        logits = model(x).logits[0].float().cpu().numpy()  # (T, vocab) to the host
        p = torch.softmax(torch.tensor(logits), dim=-1)[:-1]  # on the CPU
        lp = torch.log(p)
        tok = lp.gather(1, nxt.cpu()[:, None])
        ent = -(p * lp).nan_to_num().sum(-1)
        top = torch.topk(lp, 5, dim=-1)
        tg = lp[:, targets]
        return tok, ent, top, tg

    def efficient():
        h = model.model(x).last_hidden_state[0, :-1]  # (T-1, d), final norm applied
        out = []
        for r0 in range(0, h.shape[0], 1024):
            lp = torch.log_softmax(model.lm_head(h[r0:r0 + 1024]).float(), dim=-1)
            tok = lp.gather(1, nxt[r0:r0 + 1024, None])
            ent = -(lp.exp() * lp).sum(-1)
            top = torch.topk(lp, 5, dim=-1)
            tg = lp[:, targets.to(dev)]
            out.append((tok.cpu(), ent.cpu(), top.values.cpu(), top.indices.cpu(), tg.cpu()))
        return out

    fn = original if way == "original" else efficient
    best = float("inf")
    with torch.inference_mode():
        fn()  # warm-up (cuBLAS / SDPA autotuning, allocator)
        for _ in range(repeat):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        # measured ceiling: a large bf16 GEMM on the same GPU
        a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
        for _ in range(3):
            a @ a
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(20):
            a @ a
        torch.cuda.synchronize()
        gemm_tflops = 20 * 2 * 8192**3 / (time.perf_counter() - t0) / 1e12
    print(json.dumps({"tokens": len(ids), "way": way, "load_s": round(load, 4), "seconds": round(best, 4),
                      "tokens_per_s": round(len(ids) / best, 2), "bf16_gemm_tflops": round(gemm_tflops, 1),
                      "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
                      "torch": torch.__version__, "gpu": torch.cuda.get_device_name()}))


if __name__ == "__main__":
    main()
