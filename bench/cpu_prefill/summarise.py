#!/usr/bin/env python3
"""Summarises the JSON lines of bench/cpu_prefill/run.sh: the fastest run of
each (peer, precision, threads) and ours / transformers in the same precision,
by wall time and by process CPU time of the timed part (on a shared machine
the CPU time is the steadier of the two; with 2 threads it also counts the
BLAS / OpenMP threads' spinning).
usage: summarise.py MACHINE LINES_FILE..."""
import json
import sys

runs = [json.loads(x) for f in sys.argv[2:] for x in open(f) if x.strip()]
best = {}
for r in runs:
    if r["what"] == "sgemm":
        continue
    key = (r["what"], r["precision"], r["threads"])
    if key not in best or r["result"]["tokens_per_s"] > best[key]["tokens_per_s"]:
        best[key] = r["result"]
summary = []
for th in sorted({k[2] for k in best}):
    for prec in ("fp32", "bf16"):
        ours, hf = best.get(("ours", prec, th)), best.get(("hf", prec, th))
        if ours and hf:
            summary.append({"threads": th, "precision": prec, "ours_tok_s": ours["tokens_per_s"],
                            "hf_tok_s": hf["tokens_per_s"],
                            "ours_over_hf": round(ours["tokens_per_s"] / hf["tokens_per_s"], 3),
                            "ours_over_hf_cpu_time": round(hf["cpu_s"] / ours["cpu_s"], 3),
                            "ours_head_share": round(ours["head_s"] / (ours["forward_s"] + ours["head_s"]), 3)})
            lc = best.get(("llama.cpp", prec, th))
            if lc:  # the second peer: eval alone timed, on the same weights as a GGUF
                summary[-1].update({"llama_cpp_tok_s": lc["tokens_per_s"],
                                    "ours_over_llama_cpp": round(ours["tokens_per_s"] / lc["tokens_per_s"], 3),
                                    "ours_over_llama_cpp_cpu_time": round(lc["cpu_s"] / ours["cpu_s"], 3)})
print(json.dumps({"machine": sys.argv[1],
                  "model": "random Qwen2 of Qwen2.5-0.5B shape (fp32 checkpoint), 512 tokens; "
                           "bf16: ours rounds weights and GEMM inputs, transformers runs dtype=bfloat16; "
                           "llama.cpp (when present): the same weights as F32 / BF16 GGUF, F32 KV cache, eval timed",
                  "summary": summary, "runs": runs}, indent=1))
