#!/usr/bin/env python3
"""Tiny GGUF files holding only a tokenizer, and the ids of the tokenizer transformers builds from each.

    .venv-oracle/bin/python tests/data/tokenizer/make_gguf_tiny.py

The vocabularies are trained here with HF `tokenizers` on corpus.jsonl (so no model's vocabulary is
copied), written with the `gguf` package's GGUFWriter the way llama.cpp's converter writes them, and
loaded back with transformers (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`), whose
`backend_tokenizer` makes the references. Writes into gguf-tiny/:
  NAME.gguf                 gpt2-qwen2, gpt2-smollm, gpt2-llama-bpe (byte-level BPE, merges, control and
                            user-defined tokens; llama-bpe adds BOS), gemma3 and llama (SentencePiece-style
                            BPE, byte tokens, scores; merges derived from the vocabulary)
  refs-NAME.jsonl           {"meta": ...}, then per line {"text", "ids", "ids_plain", "decoded"}
  bad-*.gguf                malformed tokenizer metadata: scores shorter than tokens, an unknown
                            token type, an unknown pre-tokenizer, a BOS id outside the vocabulary
  gemma3/tokenizer.json     the backend tokenizer transformers builds from gemma3.gguf, saved: the
                            tokenizer.json path's Gemma-style test (Replace normalizer, byte fallback)
The C tests (tests/unit/test_tokenizer_gguf.c) compare without Python.
"""
import json
import os
import tempfile

import gguf
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "gguf-tiny")
EXTRA = [
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<think>ok</think>", "<start_of_turn>user\nhi<end_of_turn>\n",
    "  two  spaces  ", "\u2581already\u2581metaspace", "tab\tnewline\n\n\nspaces      end", "<bos><eos><unk>",
    "\n\n3. Next, 12345 + 678 = 13023", " \u00e9t\u00e9 \u65e5\u672c \U0001f600", "x" * 40 + " " * 33,
]


def texts():
    with open(os.path.join(HERE, "corpus.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f] + EXTRA


def train_byte_level(corpus):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=700, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                        show_progress=False))
    j = json.loads(tok.to_str())
    vocab = sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])
    merges = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    return [t for t, _ in vocab], merges


def train_sentencepiece(corpus):
    tok = Tokenizer(models.BPE(byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, limit_alphabet=80, show_progress=False))
    j = json.loads(tok.to_str())
    return [t for t, _ in sorted(j["model"]["vocab"].items(), key=lambda kv: kv[1])]


def write(name, arch, model, tokens, types, merges=None, scores=None, pre=None, add_bos=None,
          add_space_prefix=None, bos=None, eos=None, unk=None, pad=None):
    path = os.path.join(OUT, name + ".gguf")
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(1)
    w.add_context_length(64)
    w.add_embedding_length(8)
    w.add_head_count(1)
    w.add_tokenizer_model(model)
    if pre:
        w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    if scores is not None:
        w.add_token_scores(scores)
    if merges is not None:
        w.add_token_merges(merges)
    for key, v in (("bos", bos), ("eos", eos), ("unk", unk), ("pad", pad)):
        if v is not None:
            getattr(w, {"bos": "add_bos_token_id", "eos": "add_eos_token_id", "unk": "add_unk_token_id",
                        "pad": "add_pad_token_id"}[key])(v)
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    if add_space_prefix is not None:
        w.add_add_space_prefix(add_space_prefix)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def refs(name, corpus):
    hf = AutoTokenizer.from_pretrained(OUT, gguf_file=name + ".gguf")
    tok = hf.backend_tokenizer
    with open(os.path.join(OUT, f"refs-{name}.jsonl"), "w", encoding="utf-8") as f:
        meta = {"bos": hf.bos_token_id, "eos": hf.eos_token_id, "vocab_size": tok.get_vocab_size(True)}
        f.write(json.dumps({"meta": meta}) + "\n")
        for s in corpus:
            ids = tok.encode(s, add_special_tokens=True).ids
            plain = tok.encode(s, add_special_tokens=False).ids
            f.write(json.dumps({"text": s, "ids": ids, "ids_plain": plain,
                                "decoded": tok.decode(plain, skip_special_tokens=False)}, ensure_ascii=False) + "\n")
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    corpus = texts()
    # byte-level: specials first (control), a user-defined <think>, a control token outside the byte
    # alphabet (transformers skips it), then the trained vocabulary
    vocab, merges = train_byte_level(corpus)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<ctrl ü>"]
    tokens = specials + [t for t in vocab if t not in specials]
    types = [3, 3, 3, 4, 4, 3] + [1] * (len(tokens) - len(specials))
    for pre in ("qwen2", "smollm", "llama-bpe"):
        name = "gpt2-" + pre
        write(name, "llama" if pre != "qwen2" else "qwen2", "gpt2", tokens, types, merges=merges, pre=pre,
              add_bos=pre == "llama-bpe", bos=1, eos=2, unk=0, pad=2)
        refs(name, corpus)
    # SentencePiece style: <pad> <eos> <bos> <unk>, control turn markers, the 256 byte tokens, the
    # trained pieces, user-defined whitespace runs (Gemma spells them with spaces) and a duplicate
    sp = train_sentencepiece(corpus)
    head = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    byte_toks = [f"<0x{b:02X}>" for b in range(256)]
    pieces = [t for t in sp if t not in head and t not in byte_toks]
    tail = ["  ", "   ", "\n\n", "\t\t", "<mask>"]
    tokens = head + byte_toks + pieces + tail
    types = [3] * len(head) + [6] * 256 + [1] * len(pieces) + [4, 4, 4, 4, 3]
    scores = [0.0] * len(head) + [0.0] * 256 + [-float(i % 97) for i in range(len(pieces))] + [0.0] * len(tail)
    write("gemma3", "gemma3", "llama", tokens, types, scores=scores, add_bos=True, add_space_prefix=False,
          bos=2, eos=1, unk=3, pad=0)
    tok = refs("gemma3", corpus)
    os.makedirs(os.path.join(OUT, "gemma3"), exist_ok=True)
    tok.save(os.path.join(OUT, "gemma3", "tokenizer.json"))
    write("llama", "llama", "llama", tokens, types, scores=scores, add_space_prefix=True, bos=2, eos=1, unk=3)
    refs("llama", corpus)
    # malformed metadata (the C tests expect an error naming the key)
    write("bad-scores", "llama", "llama", tokens, types, scores=scores[:-3], bos=2, eos=1, unk=3)
    write("bad-type", "llama", "llama", tokens, types[:-1] + [9], scores=scores, bos=2, eos=1, unk=3)
    write("bad-pre", "llama", "gpt2", tokens[:300], [1] * 300, scores=[0.0] * 300, pre="no-such-pre")
    write("bad-bos", "llama", "llama", tokens, types, scores=scores, bos=len(tokens) + 5)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
