#!/usr/bin/env python3
"""Writes N MB of synthetic worked maths answers as JSON lines (one paragraph per line) to stdout:
prose with reasoning words, numbers of many lengths, LaTeX, a little Unicode. Deterministic (seeded)."""
import json
import random
import sys

mb = float(sys.argv[1]) if len(sys.argv) > 1 else 4
rng = random.Random(2024)
words = ("let we the so then therefore thus since because compute find solve check note that if and or of "
         "to is are be a an it this value equation function integer prime sum product root answer step case "
         "term side both divide multiply substitute simplify factor expand").split()
reason = ["Wait,", "Hmm,", "But wait,", "Alternatively,", "Actually,", "Let me double-check:", "So", "Therefore,",
          "Okay,", "Hold on,"]
vars_ = ["x", "y", "n", "k", "a", "b", "m", "p", "\\alpha", "\\theta"]


def num():
    return str(rng.choice([rng.randint(0, 9), rng.randint(10, 999), rng.randint(1000, 10**7)]))


def expr():
    v, w = rng.choice(vars_), rng.choice(vars_)
    forms = [f"{v}^2 + {num()}{w} = {num()}", f"\\frac{{{v}+{num()}}}{{{w}}}", f"\\sqrt{{{v}^2+{w}^2}}",
             f"\\sum_{{i=1}}^{{{num()}}} i^2", f"{num()} \\times {num()} = {num()}", f"\\int_0^{{{num()}}} {v}\\,d{v}",
             f"{v} \\equiv {num()} \\pmod{{{num()}}}", f"\\binom{{{num()}}}{{{rng.randint(0, 9)}}}",
             f"f({v}) = {num()}{v}^3 - {num()}", f"|{v} - {num()}| \\leq {num()}"]
    return rng.choice(forms)


def sentence():
    parts = [rng.choice(reason)] if rng.random() < 0.3 else []
    parts += [rng.choice(words) for _ in range(rng.randint(4, 14))]
    if rng.random() < 0.7:
        parts.append(f"${expr()}$")
    if rng.random() < 0.3:
        parts.append(rng.choice(["≥ 0", "≠ 1", "→ ∞", "π/2", "√2", "(mod 7)", "= 3.14159", "½"]))
    s = " ".join(parts)
    return s[0].upper() + s[1:] + rng.choice([".", ".", "?", "!", ":"])


total, target = 0, int(mb * 1e6)
while total < target:
    para = " ".join(sentence() for _ in range(rng.randint(3, 12)))
    if rng.random() < 0.3:
        para += "\n\n\\[\n" + expr() + "\n\\]\n"
    line = json.dumps(para, ensure_ascii=False)
    total += len(para.encode())
    print(line)
