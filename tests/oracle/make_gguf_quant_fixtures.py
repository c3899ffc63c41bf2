#!/usr/bin/env python3
"""Makes the dequantizer fixtures: random blocks of every storage type the
GGUF reader dequantizes, and what the gguf package's reference
gguf.quants.dequantize makes of them.

Run from the project root with the oracle environment:
    .venv-oracle/bin/python tests/oracle/make_gguf_quant_fixtures.py

Writes tests/fixtures/gguf-quant/<TYPE>.blocks (the raw blocks) and
<TYPE>.f32 (the expected values, little-endian float32) plus README.txt
(gguf version, block counts). tests/unit/test_quant.c compares
ls_dequantize with them bit for bit, without the gguf package.

Blocks are random bytes with their f16 scale fields replaced by finite
values (random normals of random magnitude, plus zero, negative zero, a
subnormal and the largest f16 in fixed blocks), so every code path of the
bit unpacking is exercised and the scales are not NaN. F16 / BF16 / F32
"blocks" are random finite values with zeros, subnormals and infinities.
"""
import importlib.metadata
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gguf-quant")

# type -> byte offsets of its f16 scale fields inside a block (ggml block layouts)
F16_FIELDS = {
    T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
SPECIAL_F16 = [0.0, -0.0, 6.0e-8, 65504.0, -1.0]


def quant_blocks(rng, t, n_blocks):
    elems, nbytes = GGML_QUANT_SIZES[t]
    b = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
    for off in F16_FIELDS[t]:
        v = (rng.standard_normal(n_blocks) * 10.0 ** rng.uniform(-4, 1, n_blocks)).astype(np.float16)
        v[: len(SPECIAL_F16)] = np.array(SPECIAL_F16, dtype=np.float16)
        b[:, off:off + 2] = v.view(np.uint8).reshape(n_blocks, 2)
    return b


def float_values(rng, t, n):
    x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 4, n)).astype(np.float32)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, 1e-40, -3e-39]  # F32 subnormals; f16 / bf16 round them
    if t == T.F16:
        x[6:10] = [6.0e-8, -3.0e-5, 65504.0, 1e5]  # f16 subnormals, max, overflow -> inf
        with np.errstate(over="ignore"):
            return x.astype(np.float16).view(np.uint8)
    if t == T.BF16:
        u = x.view(np.uint32)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16).view(np.uint8)  # RNE, no NaNs here
    return x.view(np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261202)
    lines = [f"gguf {importlib.metadata.version('gguf')}, numpy {np.__version__}"]
    for t in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q5_K, T.Q6_K]:
        elems, nbytes = GGML_QUANT_SIZES[t]
        if elems == 1:
            n = 1024
            raw = float_values(rng, t, n)
        else:
            n_blocks = 64 if elems == 32 else 24
            raw = quant_blocks(rng, t, n_blocks).reshape(-1)
            n = n_blocks * elems
        ref = gguf.quants.dequantize(raw.reshape(1, -1), t).astype(np.float32).reshape(-1)
        assert ref.size == n, (t.name, ref.size, n)
        assert np.all(~np.isnan(ref)), t.name
        raw.tofile(os.path.join(OUT, f"{t.name}.blocks"))
        ref.astype("<f4").tofile(os.path.join(OUT, f"{t.name}.f32"))
        lines.append(f"{t.name}: {n} elements, {raw.size} bytes")
    with open(os.path.join(OUT, "README.txt"), "w") as f:
        f.write("Made by tests/oracle/make_gguf_quant_fixtures.py (see its docstring).\n")
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
