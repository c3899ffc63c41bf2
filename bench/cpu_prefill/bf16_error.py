#!/usr/bin/env python3
"""Error of `score --precision bf16` (CPU) against fp32, next to transformers'
own bf16 error: for each model, the log-prob of every next token and the
top-1 token from
  hf32  transformers fp32 (the contract's reference),
  hf16  transformers bf16 (dtype=torch.bfloat16: weights and activations bf16),
  ls32  `logits-study score` fp32,
  ls16  `logits-study score --precision bf16` (weights and GEMM inputs bf16,
        fp32 accumulation, norms / softmax / statistics fp32),
and mean / max |Δ log-prob| and top-1 agreement of each against hf32 (and
ls16 against ls32). Prints one JSON object.
usage: bf16_error.py BINARY MODEL_DIR:IDS_FILE|MODEL_DIR ...  (oracle venv python)
A MODEL_DIR alone is an oracle fixture: its reference.json's sequences are used."""
import json
import os
import subprocess
import sys

import torch
from transformers import Qwen2ForCausalLM


def hf_logprobs(model_dir, seqs, dtype):
    m = Qwen2ForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager").eval()
    out = []
    with torch.inference_mode():
        for ids in seqs:
            lp = torch.log_softmax(m(torch.tensor([ids])).logits[0].float(), dim=-1)
            out.append([(lp[p - 1, ids[p]].item(), int(lp[p - 1].argmax())) for p in range(1, len(ids))])
    return out


def ls_logprobs(binary, model_dir, seqs, prec):
    out = []
    for ids in seqs:
        r = subprocess.run([binary, "score", "--model", model_dir, "--ids", ",".join(map(str, ids)), "--device",
                            "cpu", "--json", "--top-k", "1", "--precision", prec],
                           check=True, capture_output=True, text=True)
        pos = json.loads(r.stdout)["positions"][1:]
        out.append([(p["logprob"], p["top"][0][0]) for p in pos])
    return out


def compare(a, b):
    d = [abs(x[0] - y[0]) for sa, sb in zip(a, b) for x, y in zip(sa, sb)]
    agree = [x[1] == y[1] for sa, sb in zip(a, b) for x, y in zip(sa, sb)]
    return {"positions": len(d), "mean_abs_dlogprob": sum(d) / len(d), "max_abs_dlogprob": max(d),
            "top1_agreement": sum(agree) / len(agree)}


def bf16_kernel(binary, model_dir):
    """The bf16 kernel `score` runs here, from the runtime of its --timing line (chosen at run time)."""
    p = subprocess.run([binary, "score", "--model", model_dir, "--ids", "1,2", "--device", "cpu", "--threads", "1",
                        "--precision", "bf16", "--timing"], capture_output=True, text=True)
    for line in p.stderr.splitlines():
        if line.startswith("{") and "runtime" in line:
            rt = json.loads(line)["runtime"]
            return rt.split("bf16 GEMMs: own ", 1)[1].rsplit(" kernel", 1)[0] if "bf16 GEMMs: own " in rt else "none (fp32)"
    return None


def machine(binary, model_dir):
    """The processor, the bf16 instructions it has, and the bf16 kernel our binary chose."""
    name, flags = "unknown", set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and name == "unknown":
            name = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    have = [f for f in ("avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return {"processor": name, "flags": have, "cores": os.cpu_count(), "our_bf16_kernel": bf16_kernel(binary, model_dir)}


def main():
    binary, specs = sys.argv[1], sys.argv[2:]
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    res = {"what": __doc__.split("\n")[0], "torch": torch.__version__,
           "machine": machine(binary, specs[0].split(":")[0]), "models": []}
    for spec in specs:
        if ":" in spec:
            model_dir, ids_file = spec.split(":")
            seqs = [[int(x) for x in open(ids_file).read().split(",")]]
        else:
            model_dir = spec
            ref = json.load(open(os.path.join(spec, "reference.json")))
            seqs = [s["ids"] for s in ref["sequences"] if len(s["ids"]) > 1]
        r = {"hf32": hf_logprobs(model_dir, seqs, torch.float32), "hf16": hf_logprobs(model_dir, seqs, torch.bfloat16),
             "ls32": ls_logprobs(binary, model_dir, seqs, "fp32"), "ls16": ls_logprobs(binary, model_dir, seqs, "bf16")}
        entry = {"model": os.path.basename(model_dir.rstrip("/")), "sequences": len(seqs),
                 "ls32_vs_hf32": compare(r["ls32"], r["hf32"]), "ls16_vs_hf32": compare(r["ls16"], r["hf32"]),
                 "hf16_vs_hf32": compare(r["hf16"], r["hf32"]), "ls16_vs_ls32": compare(r["ls16"], r["ls32"])}
        res["models"].append(entry)
        print(json.dumps(entry), file=sys.stderr)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
