#!/usr/bin/env python3
"""Regenerates the tokenizer oracle fixtures with HF `tokenizers` (the reference implementation).

    .venv/bin/python tests/data/tokenizer/make_refs.py

Writes, next to this script:
  corpus.jsonl            the tricky strings (one JSON string per line)
  refs-qwen3.jsonl        per corpus line: {"ids": encode(add_special_tokens=True),
  refs-deepseek-qwen.jsonl                  "ids_plain": encode(add_special_tokens=False),
  refs-llama3.1.jsonl                       "decoded": decode(ids, skip_special_tokens=False)}
The Qwen tokenizer is tests/data/qwen3-tokenizer/ (Apache-2.0, committed). The DeepSeek-R1-Distill-Qwen
style tokenizer is the Qwen one with deepseek-qwen-patch.json applied (added tokens and a
TemplateProcessing post-processor replaced, merges converted to the old "a b" string form): the C test
applies the same patch (tests/unit/test_tokenizer.c), so no derived copy is committed. The Llama-3.1
tokenizer is read from ../shared/data/llama3.1-tokenizer/ and never copied into the project (licence);
its refs are only ids.
"""
import json
import os
import random
import sys
import tempfile

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(os.path.dirname(HERE))
QWEN = os.path.join(TESTS, "data", "qwen3-tokenizer", "tokenizer.json")
LLAMA = os.path.join(TESTS, "..", "..", "shared", "data", "llama3.1-tokenizer", "tokenizer.json")


def corpus():
    c = [
        "", " ", "  ", "    ", "\t", "\n", "\r\n", " \n", "\n\n\n", " \t \n  \r\n\t\t x", "a\r\nb\rc\nd",
        "Hello world", " Hello world", "Hello  world   ", "line one\nline two\n\n  indented\n",
        "tabs\tand\t\ttabs", "trailing spaces   ", "   leading spaces",
        "0", "12", "123", "1234", "12345", "123456", "1234567", "12345678901234567890", "3.14159", "1,000,000",
        "x1y22z333", "٣٤٥ ١٢", "version 2.0.1-rc3", "+1 (555) 010-9999",
        "it's don't they're we've I'm you'll he'd", "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
        "It'S dOn'T", "'s 't 're 've 'm 'll 'd", "rock'n'roll", "'''", "don'ſt", "''s",
        "!!!", "?!?!", "...", "—–-", "Wait... what?!", "(a+b)*c=d;", "!!!\n\n", " ... \r\n",
        "$\\frac{a}{b} + \\sqrt{x^2+y^2} = \\int_0^1 f(x)\\,dx$",
        "\\begin{align} E &= mc^2 \\\\ \\nabla \\cdot \\mathbf{E} &= \\rho/\\varepsilon_0 \\end{align}",
        "Let $x \\in \\mathbb{R}$ with $x^2 \\geq 0$. Then $\\sum_{i=1}^{n} i = \\frac{n(n+1)}{2}$.",
        "∀ε>0 ∃δ>0: |x−a|<δ ⇒ |f(x)−f(a)|<ε", "α β γ Δ ∑ ∫ ∞ ≤ ≥ ≠ √ π",
        "def f(x):\n    return x**2  # square\n", "int main(void) { printf(\"%d\\n\", 42); }",
        "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}", "<div class=\"x\">&amp;</div>",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "I ❤️ NY", "emoji😀in😀words",
        "日本語のテキスト", "中文字符测试，标点符号。", "한국어 텍스트", "ภาษาไทย",
        "مرحبا بالعالم", "שלום עולם", "Привет, мир!", "Ελληνικά", "हिन्दी",
        "e\u0301", "cafe\u0301", "Å", "A\u030a", "\u212b", "n\u0303o", "\u1e9b\u0323", "ﬁ ﬂ", "ｆｕｌｌｗｉｄｔｈ",
        "\u0065\u0301\u0302", "x\u0308\u0301", "\u00a0nbsp\u00a0", "a\u2028b\u2029c", "zero\u200bwidth", "\ufeffBOM",
        "a\x85b", "a\x0bb\x0cc", "\x00\x01\x1f\x7f", "\x1c\x1d\x1e",
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
        "<|endoftext|>", "x<|endoftext|>y", "<|im_start|><|im_end|>", "<|im_start", "<|im_start|", "<<|im_end|>>",
        "<think>\nLet me think.\n</think>\n\nThe answer is 4.", " <think> ", "<think></think>",
        "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜>", "<｜end▁of▁sentence｜>", "<|EOT|>",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|reserved_special_token_5|>", "<|reserved_special_token_250|>",
        " <|EOT|>  x", "a<|EOT|>b", "word\u00a0<|EOT|>\tword", "café", "cafe\u0301 cafe\u0301",
        "x" * 300, "a" * 1000, " " * 500, "\n" * 100, "ab" * 400, "1" * 200, "!" * 300,
        "supercalifragilisticexpialidocious" * 30, "😀" * 100, "日" * 300,
        "Wait, wait. WAIT! wait? Waiting... waited; Wait", " wait Wait  wait\twait\nwait",
        "Hmm, but actually, let me reconsider. Alternatively, perhaps the answer is 42.",
    ]
    rng = random.Random(1234)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789", " \t\n\r", "'", "!?.,;:-_()[]{}<>|/\\\"$%^&*+=~`@#",
        "éèàçñüöÅß", "\u0301\u0308\u0323\u030a", "αβγδεζ∑∫√∞≤≥", "日本語中文한국어",
        "😀👍🏽❤️🇫🇷\u200d", "\u00a0\u2009\u3000\u2028", "ſKK",
    ]
    specials = ["<|im_start|>", "<|im_end|>", "<think>", "<|endoftext|>", "<|EOT|>", "<｜User｜>",
                "<|begin_of_text|>", "<|eot_id|>", "café"]
    for _ in range(300):
        n = rng.randint(1, 40)
        s = []
        for _ in range(n):
            r = rng.random()
            if r < 0.04:
                s.append(rng.choice(specials))
            else:
                p = rng.choice(pools)
                s.append("".join(rng.choice(p) for _ in range(rng.randint(1, 6))))
        c.append("".join(s))
    return c


def deepseek_variant(qwen_json, patch):
    """The DeepSeek-R1-Distill-Qwen style tokenizer: see deepseek-qwen-patch.json."""
    t = json.loads(qwen_json)
    t["added_tokens"] = patch["added_tokens"]
    t["post_processor"] = patch["post_processor"]
    t["model"]["merges"] = [" ".join(m) for m in t["model"]["merges"]]
    return t


def refs(tok, texts, path):
    with open(path, "w", encoding="utf-8") as f:
        for s in texts:
            ids = tok.encode(s, add_special_tokens=True).ids
            plain = tok.encode(s, add_special_tokens=False).ids
            dec = tok.decode(plain, skip_special_tokens=False)
            f.write(json.dumps({"ids": ids, "ids_plain": plain, "decoded": dec}, ensure_ascii=False) + "\n")
    print("wrote", path, len(texts), "lines")


def main():
    texts = corpus()
    with open(os.path.join(HERE, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for s in texts:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    refs(Tokenizer.from_file(QWEN), texts, os.path.join(HERE, "refs-qwen3.jsonl"))

    with open(os.path.join(HERE, "deepseek-qwen-patch.json"), encoding="utf-8") as f:
        patch = json.load(f)
    with open(QWEN, encoding="utf-8") as f:
        ds = deepseek_variant(f.read(), patch)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "tokenizer.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump(ds, f, ensure_ascii=False)
        tok = Tokenizer.from_file(p)
        for a in patch["added_tokens"]:  # the ids HF assigns must be the ids the JSON names
            assert tok.token_to_id(a["content"]) == a["id"], a
        refs(tok, texts, os.path.join(HERE, "refs-deepseek-qwen.jsonl"))

    if os.path.exists(LLAMA):
        refs(Tokenizer.from_file(LLAMA), texts, os.path.join(HERE, "refs-llama3.1.jsonl"))
    else:
        print("skipped Llama-3.1: no", LLAMA, file=sys.stderr)


if __name__ == "__main__":
    main()
