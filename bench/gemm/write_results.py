#!/usr/bin/env python3
"""Writes a bench/gemm result file: the JSON lines a GEMM bench printed, with
the date, the machine (lscpu: model, family, flags that choose our kernels,
caches; NOTE= adds what lscpu does not say), the load average and, when
installed, oneDNN's Debian version.
usage: write_results.py LINES_FILE OUT.json WHAT"""
import datetime
import json
import os
import subprocess
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
info = {k.strip(): v.strip() for k, v in (l.split(":", 1) for l in lscpu.splitlines() if ":" in l)}
flags = info.get("Flags", "").split()
machine = {
    "model_name": info.get("Model name"), "cpu_family": info.get("CPU family"), "model": info.get("Model"),
    "cpus": info.get("CPU(s)"), "avx2": "avx2" in flags, "avx512f": "avx512f" in flags,
    "avx512_bf16": "avx512_bf16" in flags, "amx_bf16": "amx_bf16" in flags, "l2": info.get("L2 cache"),
    "l3": info.get("L3 cache"), "note": os.environ.get("NOTE", ""),
}
dnnl = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libdnnl-dev"], capture_output=True, text=True).stdout
json.dump({"what": sys.argv[3], "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine, "onednn": dnnl or None, "load_average_at_end": os.getloadavg(), "results": rows},
          open(sys.argv[2], "w"), indent=1)
print("wrote", sys.argv[2])
