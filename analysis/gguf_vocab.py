"""The vocabulary of a GGUF file (llama.cpp's format), read from its metadata
without the `gguf` package, as a minimal decoder for display labels:
`tokenizer.ggml.tokens` with `tokenizer.ggml.model` "gpt2" (byte-level BPE:
tokens are bytes mapped to printable characters, GPT-2's bytes_to_unicode) or
"llama" (SentencePiece: "\u2581" is a space, "<0xNN>" a byte, and with
`tokenizer.ggml.add_space_prefix` (default true) one leading space of the text
dropped, as transformers' decoder does). Anything
unreadable gives None: the caller shows ids."""

from __future__ import annotations

import struct

# GGUF metadata value types: size in bytes of the fixed-size ones
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9


def _byte_decoder() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


class GgufVocab:
    """decode([id, ...]) like tokenizers.Tokenizer.decode, for labels."""

    def __init__(self, tokens: list[str], model: str, space_prefix: bool = True):
        self.tokens, self.model, self.strip = tokens, model, model == "llama" and space_prefix
        self._bd = _byte_decoder() if model == "gpt2" else None

    def _bytes(self, t: str) -> bytes:
        if self._bd is not None:
            if all(ch in self._bd for ch in t):
                return bytes(self._bd[ch] for ch in t)
            return t.encode("utf-8")  # special tokens are stored as text
        if len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            try:
                return bytes([int(t[3:5], 16)])
            except ValueError:
                pass
        return t.replace("\u2581", " ").encode("utf-8")

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        del skip_special_tokens
        s = b"".join(self._bytes(self.tokens[i]) for i in ids if 0 <= i < len(self.tokens)).decode(
            "utf-8", errors="replace")
        return s[1:] if self.strip and s.startswith(" ") else s


def read_gguf_vocab(path: str) -> GgufVocab | None:
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                return None
            (version,) = struct.unpack("<I", f.read(4))
            if version not in (2, 3):
                return None
            _n_tensors, n_kv = struct.unpack("<QQ", f.read(16))

            def string() -> str:
                (n,) = struct.unpack("<Q", f.read(8))
                return f.read(n).decode("utf-8", errors="replace")

            def skip(t: int) -> None:
                if t in _FIXED:
                    f.seek(_FIXED[t], 1)
                elif t == _STRING:
                    (n,) = struct.unpack("<Q", f.read(8))
                    f.seek(n, 1)
                elif t == _ARRAY:
                    it, n = struct.unpack("<IQ", f.read(12))
                    if it in _FIXED:
                        f.seek(_FIXED[it] * n, 1)
                    else:
                        for _ in range(n):
                            skip(it)
                else:
                    raise ValueError(f"GGUF value type {t}")

            tokens, model, space_prefix = None, None, True
            for _ in range(n_kv):
                key = string()
                (t,) = struct.unpack("<I", f.read(4))
                if key == "tokenizer.ggml.tokens" and t == _ARRAY:
                    it, n = struct.unpack("<IQ", f.read(12))
                    if it != _STRING:
                        return None
                    tokens = [string() for _ in range(n)]
                elif key == "tokenizer.ggml.model" and t == _STRING:
                    model = string()
                elif key == "tokenizer.ggml.add_space_prefix" and t == 7:
                    space_prefix = f.read(1) != b"\x00"
                else:
                    skip(t)
            if tokens is None or model not in ("gpt2", "llama"):
                return None
            return GgufVocab(tokens, model, space_prefix)
    except (OSError, ValueError, struct.error, MemoryError):
        return None
