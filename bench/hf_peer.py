"""The transformers peer's timed prefill, shared by bench/cpu_prefill/hf_prefill.py and
bench/real_models/hf_gguf_prefill.py: one forward, then the same statistics as
`logits-study score` (log-prob of each next token, entropy, top-5, target log-probs)
from log_softmax over the logits in fp32; the fastest of REPEAT runs."""
import time

import torch

TARGETS = torch.tensor([100, 200, 300, 400])


def timed_prefill(model, ids, threads, repeat, prec, load_s):
    """Runs REPEAT prefills of ids on THREADS threads; returns the JSON-able result of the fastest
    (cpu_s: the process CPU seconds of that run, as `score --timing` reports it)."""
    torch.set_num_threads(threads)
    x = torch.tensor([ids])
    best = cpu = float("inf")
    with torch.inference_mode():
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            logits = model(x).logits[0]
            lp = torch.log_softmax(logits[:-1].float(), dim=-1)
            lp.gather(1, x[0, 1:, None])
            -(lp.exp() * lp).sum(-1)
            torch.topk(lp, 5, dim=-1)
            lp[:, TARGETS]
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if dt < best:
                best, cpu = dt, dc
    return {"tokens": len(ids), "threads": threads, "load_s": round(load_s, 4), "seconds": round(best, 4),
            "cpu_s": round(cpu, 4), "tokens_per_s": round(len(ids) / best, 2), "precision": prec,
            "torch": torch.__version__}
