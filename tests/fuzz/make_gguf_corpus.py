#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_gguf (tests/fuzz/corpus/fuzz_gguf/): small
GGUF files, valid and broken, built byte by byte (no dependencies).

    python3 tests/fuzz/make_gguf_corpus.py

good_meta       every metadata value type, arrays, no tensors
good_<arch>     a tiny model of each architecture the loader maps (qwen2,
                llama, qwen3, gemma3): the config keys and one small tensor of
                each storage type the dequantizers handle, under ggml names
bad_*           one broken rule each (version, nested array, overlap,
                alignment, truncation, unknown type)
"""
import os
import random
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_gguf")
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
# ggml type id -> (elements per block, bytes per block)
GGML = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
        12: (256, 144), 13: (256, 176), 14: (256, 210)}
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q",
          I64: "<q", F64: "<d"}


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def value(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(value(et, i) for i in items)
    return struct.pack(SCALAR[t], v)


def gguf(kvs, tensors, version=3, align=32, rng=None):
    """kvs: [(key, type, value)]; tensors: [(name, [ne...], ggml type)]; data random, laid out aligned."""
    rng = rng or random.Random(0)
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += s(k) + struct.pack("<I", t) + value(t, v)
    data, infos = b"", b""
    for name, ne, t in tensors:
        n = 1
        for d in ne:
            n *= d
        be, bb = GGML[t]
        nbytes = n // be * bb
        infos += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", t, len(data))
        if t == 0:
            blob = b"".join(struct.pack("<f", rng.uniform(0.5, 1.5)) for _ in range(n))
        else:
            blob = bytes(rng.randrange(256) for _ in range(nbytes))
            if be > 1:  # keep the f16 scales finite: clear their top exponent bit
                blob = bytearray(blob)
                for i in range(0, nbytes, bb):
                    for off in ((bb - 2,) if t == 14 else (0, 2) if t in (3, 7, 12, 13) else (0,)):
                        blob[i + off + 1] &= 0x3F
                blob = bytes(blob)
        data += blob + b"\0" * (-len(blob) % align)
    out += infos
    out += b"\0" * (-len(out) % align)
    return out + data


def model(arch, heads=2, kv=1, d=32, f=256):
    hd = d // heads
    kvs = [("general.architecture", STR, arch), (f"{arch}.block_count", U32, 1),
           (f"{arch}.context_length", U32, 128), (f"{arch}.embedding_length", U32, d),
           (f"{arch}.feed_forward_length", U32, f), (f"{arch}.attention.head_count", U32, heads),
           (f"{arch}.attention.head_count_kv", U32, kv), (f"{arch}.rope.freq_base", F32, 10000.0),
           (f"{arch}.attention.layer_norm_rms_epsilon", F32, 1e-6), (f"{arch}.attention.key_length", U32, hd),
           ("tokenizer.ggml.tokens", ARR, (STR, ["a", "b", "c", "d"])), ("tokenizer.ggml.bos_token_id", U32, 1)]
    if arch == "gemma3":
        kvs.append((f"{arch}.attention.sliding_window", U32, 16))
    t = [("token_embd.weight", [d, 4], 8), ("output_norm.weight", [d], 0),
         ("blk.0.attn_norm.weight", [d], 0), ("blk.0.attn_q.weight", [d, heads * hd], 2),
         ("blk.0.attn_k.weight", [d, kv * hd], 6), ("blk.0.attn_v.weight", [d, kv * hd], 1),
         ("blk.0.attn_output.weight", [heads * hd, d], 30), ("blk.0.ffn_norm.weight", [d], 0),
         ("blk.0.ffn_gate.weight", [d, f], 3), ("blk.0.ffn_up.weight", [d, f], 7),
         ("blk.0.ffn_down.weight", [f, d], {"llama": 14, "qwen3": 13}.get(arch, 12))]
    if arch == "qwen2":
        t += [("blk.0.attn_q.bias", [heads * hd], 0), ("blk.0.attn_k.bias", [kv * hd], 0),
              ("blk.0.attn_v.bias", [kv * hd], 0), ("output.weight", [d, 4], 1)]
    if arch in ("qwen3", "gemma3"):
        t += [("blk.0.attn_q_norm.weight", [hd], 0), ("blk.0.attn_k_norm.weight", [hd], 0)]
    if arch == "gemma3":
        t += [("blk.0.post_attention_norm.weight", [d], 0), ("blk.0.post_ffw_norm.weight", [d], 0)]
    if arch == "llama":
        t += [("output.weight", [d, 4], 8)]
    return gguf(kvs, t)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "good_meta": gguf([("general.architecture", STR, "llama"), ("u8", U8, 7), ("i8", I8, -7), ("u16", U16, 7),
                           ("i16", I16, -7), ("u32", U32, 7), ("i32", I32, -7), ("f32", F32, 0.5),
                           ("bool", BOOL, True), ("u64", U64, 2**63), ("i64", I64, -7), ("f64", F64, 1e300),
                           ("strs", ARR, (STR, ["x", "", "é"])), ("ints", ARR, (I32, [1, -2, 3])),
                           ("floats", ARR, (F32, [0.5, -1.0])), ("general.alignment", U32, 64)], [], align=64),
        "bad_version": gguf([], [], version=1),
        "bad_nested": b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("k") + struct.pack("<IIQIQB", ARR, ARR, 1, U8, 1, 1),
        "bad_align": gguf([("general.alignment", U32, 48)], []),
        "bad_unknown_type": gguf([], [("t", [32], 8)]).replace(struct.pack("<IQ", 8, 0), struct.pack("<IQ", 99, 0)),
    }
    for arch in ("qwen2", "llama", "qwen3", "gemma3"):
        files["good_" + arch] = model(arch)
    files["bad_truncated"] = files["good_qwen2"][:-100]
    ov = bytearray(gguf([], [("a", [16], 0), ("b", [16], 0)]))
    i = ov.index(s("b")) + len(s("b")) + 4 + 8 + 4
    ov[i:i + 8] = struct.pack("<Q", 32)  # b's data starts inside a's
    files["bad_overlap"] = bytes(ov)
    for name, b in files.items():
        with open(os.path.join(OUT, name), "wb") as fh:
            fh.write(b)
        print(f"{name}: {len(b)} bytes")


if __name__ == "__main__":
    main()
