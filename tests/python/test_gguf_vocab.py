"""analysis.gguf_vocab (token labels of GGUF models in the report) against the
text transformers decodes from the same GGUF files (tests/data/tokenizer/
gguf-tiny/refs-*.jsonl, made by make_gguf_tiny.py through transformers)."""

import json
import os

import pytest

from analysis.gguf_vocab import read_gguf_vocab

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TINY = os.path.join(ROOT, "tests", "data", "tokenizer", "gguf-tiny")
NAMES = ["gpt2-qwen2", "gpt2-smollm", "gpt2-llama-bpe", "gemma3", "llama"]


@pytest.mark.parametrize("name", NAMES)
def test_decode_matches_transformers(name):
    vocab = read_gguf_vocab(os.path.join(TINY, f"{name}.gguf"))
    assert vocab is not None
    lines = [json.loads(x) for x in open(os.path.join(TINY, f"refs-{name}.jsonl"))][1:]
    bad = [r for r in lines if vocab.decode(r["ids_plain"]) != r["decoded"]]
    assert len(lines) > 50
    assert not bad, f"{len(bad)} of {len(lines)} differ, first: {bad[0]['decoded']!r} vs " \
                    f"{vocab.decode(bad[0]['ids_plain'])!r}"


def test_not_gguf_or_malformed_gives_none(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 20)  # counts far past the end
    assert read_gguf_vocab(str(p)) is None
    p.write_bytes(b"NOPE")
    assert read_gguf_vocab(str(p)) is None
    for bad in ("bad-bos", "bad-pre", "bad-scores", "bad-type"):  # malformed for the tokenizer: no exception here
        read_gguf_vocab(os.path.join(TINY, f"{bad}.gguf"))
    for n in range(0, 200, 7):  # every truncation of a real header: None or a vocabulary, never an exception
        p.write_bytes(open(os.path.join(TINY, "gpt2-qwen2.gguf"), "rb").read()[:n])
        read_gguf_vocab(str(p))
