"""Writes a random Qwen2.5-7B-shape GGUF whose matrices are Q4_K (as a
Q4_K_M file stores most of them; norms and biases F32), for the peak-RSS
measurement of bench/cpu_memory/run.sh. The blocks are random bytes with
small f16 scales (d, dmin), so the weights are of ordinary size; the numbers
the model computes mean nothing. ~4.4 GB.

usage: python make_q4k_gguf.py OUT.gguf [--layers N]   (needs the `gguf` package)
"""
import argparse

import gguf
import numpy as np

T = gguf.GGMLQuantizationType
D, F, H, HKV, V, HD = 3584, 18944, 28, 4, 152064, 128
QK_K, BLOCK_BYTES = 256, 144  # Q4_K: d, dmin (f16), 12 bytes of 6-bit scales/mins, 128 bytes of 4-bit quants


def q4k(rng, rows, cols):
    """Random Q4_K rows [rows, cols / 256 * 144] (uint8)."""
    nb = cols // QK_K
    b = rng.integers(0, 256, size=(rows, nb, BLOCK_BYTES), dtype=np.uint8)
    d = np.full((rows, nb), 3e-5, dtype=np.float16).view(np.uint8).reshape(rows, nb, 2)
    dmin = np.full((rows, nb), 2e-5, dtype=np.float16).view(np.uint8).reshape(rows, nb, 2)
    b[:, :, 0:2] = d
    b[:, :, 2:4] = dmin
    return b.reshape(rows, nb * BLOCK_BYTES)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=28)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    L = a.layers
    w = gguf.GGUFWriter(a.out, "qwen2")
    w.add_block_count(L)
    w.add_context_length(32768)
    w.add_embedding_length(D)
    w.add_feed_forward_length(F)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", "qwen2")
    w.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(V)])
    w.add_bos_token_id(151643)
    w.add_eos_token_id(151643)

    def mat(name, rows, cols):
        q = q4k(rng, rows, cols)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=T.Q4_K)

    def vec(name, n, base=1.0, scale=0.0):
        w.add_tensor(name, (base + scale * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", V, D)
    for i in range(L):
        p = f"blk.{i}."
        vec(p + "attn_norm.weight", D)
        mat(p + "attn_q.weight", H * HD, D)
        mat(p + "attn_k.weight", HKV * HD, D)
        mat(p + "attn_v.weight", HKV * HD, D)
        vec(p + "attn_q.bias", H * HD, 0.0, 0.1)
        vec(p + "attn_k.bias", HKV * HD, 0.0, 0.1)
        vec(p + "attn_v.bias", HKV * HD, 0.0, 0.1)
        mat(p + "attn_output.weight", D, H * HD)
        vec(p + "ffn_norm.weight", D)
        mat(p + "ffn_gate.weight", F, D)
        mat(p + "ffn_up.weight", F, D)
        mat(p + "ffn_down.weight", D, F)
    vec("output_norm.weight", D)
    mat("output.weight", V, D)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
