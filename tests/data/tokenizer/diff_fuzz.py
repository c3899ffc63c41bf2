#!/usr/bin/env python3
"""Differential check of `logits-study tokenize` against HF `tokenizers` on random strings.

    .venv/bin/python tests/data/tokenizer/diff_fuzz.py BINARY TOKENIZER_DIR [N] [SEED] [--ours PATH]

--ours PATH: what `logits-study tokenize --tokenizer` gets (e.g. the GGUF file whose tokenizer
transformers saved as TOKENIZER_DIR/tokenizer.json); default TOKENIZER_DIR.

Random strings mix ASCII, whitespace of every kind, digits, letters and marks of many scripts, emoji
and code points drawn from the whole Unicode range (no surrogates). Reports the first mismatches of
encode (with and without special tokens) and of decode; exit status 1 on any mismatch. Not a ctest
(it needs the venv and takes a while); run it after changing the tokenizer.
"""
import json
import os
import random
import subprocess
import sys

from tokenizers import Tokenizer

POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " ", "  \t\n\r\x0b\x0c",
    "'sStTdDmMlLvVrReE", "!?.,;:-_()[]{}<>|/\\\"$%^&*+=~`@#", "\x85\xa0\u1680\u2000\u2009\u200a\u2028\u2029\u202f\u205f\u3000\u200b\ufeff\u180e",
    "éèàçñüöÅßſKﬁ", "\u0301\u0308\u0323\u030a\u0345\u05b0\u0651", "αβγδεζ∑∫√∞≤≥ΑΒΓ", "日本語中文한국어ㄱㅏ",
    "😀👍🏽❤️🇫🇷\u200d\ufe0f", "٠١٢٣४५६௧໑", "ⅠⅡⅢ½¾²³", "<|im_start|><|im_end|><think></think><|endoftext|>",
]


def rand_char(rng):
    while True:
        cp = rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x7FF), rng.randint(0x800, 0xFFFF),
                         rng.randint(0x10000, 0x10FFFF), rng.randint(0x1F000, 0x1FAFF)])
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def rand_string(rng):
    out = []
    for _ in range(rng.randint(1, 30)):
        if rng.random() < 0.2:
            out.append("".join(rand_char(rng) for _ in range(rng.randint(1, 4))))
        else:
            p = rng.choice(POOLS)
            out.append("".join(rng.choice(p) for _ in range(rng.randint(1, 8))))
    return "".join(out)


def main():
    args = sys.argv[1:]
    ours = None
    if "--ours" in args:
        k = args.index("--ours")
        ours = args[k + 1]
        del args[k:k + 2]
    binary, tokdir = args[0], args[1]
    ours = ours or tokdir
    n = int(args[2]) if len(args) > 2 else 20000
    rng = random.Random(int(args[3]) if len(args) > 3 else 7)
    texts = [rand_string(rng) for _ in range(n)]
    tok = Tokenizer.from_file(os.path.join(tokdir, "tokenizer.json"))
    inp = "".join(json.dumps(s) + "\n" for s in texts)
    bad = 0
    for flag, special in (([], True), (["--no-special"], False)):
        out = subprocess.run([binary, "tokenize", "--tokenizer", ours] + flag, input=inp, capture_output=True,
                             text=True, check=True).stdout.split("\n")
        for s, line in zip(texts, out):
            ref = tok.encode(s, add_special_tokens=special).ids
            got = json.loads(line)
            if ref != got:
                bad += 1
                if bad <= 10:
                    print("ENCODE MISMATCH", repr(s), "\n  ref", ref, "\n  got", got)
    ids = [tok.encode(s, add_special_tokens=False).ids for s in texts]
    # decode also random id sequences (split UTF-8 characters, unknown ids)
    vs = tok.get_vocab_size()
    ids += [[rng.randrange(vs + 5) for _ in range(rng.randint(0, 12))] for _ in range(n // 4)]
    inp = "".join(json.dumps(x) + "\n" for x in ids)
    out = subprocess.run([binary, "tokenize", "--decode", "--tokenizer", ours], input=inp, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    for x, line in zip(ids, out):
        ref = tok.decode(x, skip_special_tokens=False)
        got = json.loads(line)
        if ref != got:
            bad += 1
            if bad <= 20:
                print("DECODE MISMATCH", x, "\n  ref", repr(ref), "\n  got", repr(got))
    print(f"{tokdir}: {n} strings, {len(ids)} id lists, {bad} mismatches")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
