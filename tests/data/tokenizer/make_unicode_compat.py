#!/usr/bin/env python3
"""Regenerates src/tokenizer/tok_unicode_compat.h: where HF `tokenizers` and our libraries disagree on
Unicode because their tables come from different Unicode versions.

    .venv/bin/python tests/data/tokenizer/make_unicode_compat.py

1. Split regexes: `tokenizers` runs them on Oniguruma (newer tables) — the code points it has in
   \\p{L} / \\p{N} while the system PCRE2 does not are appended to those classes.
2. NFC: `tokenizers` normalises with old tables (unicode-normalization-alignments) — combining marks
   added since have combining class 0 there and never reorder or compose, while utf8proc moves them.
   Those code points are listed, and the C normaliser treats them as inert starters.

Every code point c is classified twice: by PCRE2 (a tiny C program compiled here with cc -lpcre2-8)
and by a `tokenizers` Split pre-tokenizer with the Qwen regex on "x" + c + c + "x" (one piece: L; four:
N; "x", cc, "x": other; else whitespace). Fails if PCRE2 has a character in L/N that Oniguruma has not
(the rewrite can only add characters).
"""
import os
import re
import subprocess
import sys
import tempfile

import unicodedata

from tokenizers import Regex, normalizers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "..", "src", "tokenizer", "tok_unicode_compat.h")
QWEN_RE = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

PCLS = r"""
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
static int enc(unsigned c, unsigned char *b) {
    if (c < 0x80) { b[0] = c; return 1; }
    if (c < 0x800) { b[0] = 0xc0 | c >> 6; b[1] = 0x80 | (c & 63); return 2; }
    if (c < 0x10000) { b[0] = 0xe0 | c >> 12; b[1] = 0x80 | ((c >> 6) & 63); b[2] = 0x80 | (c & 63); return 3; }
    b[0] = 0xf0 | c >> 18; b[1] = 0x80 | ((c >> 12) & 63); b[2] = 0x80 | ((c >> 6) & 63); b[3] = 0x80 | (c & 63);
    return 4;
}
int main(void) {
    int err; PCRE2_SIZE eo;
    pcre2_code *L = pcre2_compile((PCRE2_SPTR)"^\\p{L}$", PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &eo, NULL);
    pcre2_code *N = pcre2_compile((PCRE2_SPTR)"^\\p{N}$", PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &eo, NULL);
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    for (unsigned c = 0; c < 0x110000; c++) {
        if (c >= 0xd800 && c <= 0xdfff) continue;
        unsigned char b[4]; int n = enc(c, b);
        putchar(pcre2_match(L, b, n, 0, 0, md, NULL) > 0 ? 'L' : pcre2_match(N, b, n, 0, 0, md, NULL) > 0 ? 'N' : 'o');
    }
    return 0;
}
"""

# Reads lines of hex code points, writes their NFC by utf8proc as hex code points.
NFCL = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
int main(int argc, char **argv) {
    if (argc > 1) { /* --props: the code points utf8proc's NFC can act on */
        for (utf8proc_int32_t c = 0x80; c < 0x110000; c++) {
            if (c >= 0xd800 && c <= 0xdfff) continue;
            const utf8proc_property_t *p = utf8proc_get_property(c);
            if (p->combining_class || p->decomp_seqindex != UINT16_MAX || p->comb_index != UINT16_MAX)
                printf("%x\n", c);
        }
        return 0;
    }
    char line[256];
    (void)argv;
    while (fgets(line, sizeof line, stdin)) {
        utf8proc_int32_t cps[16];
        int n = 0;
        char *p = line, *e;
        while (n < 16 && (cps[n] = strtol(p, &e, 16), e != p)) n++, p = e;
        unsigned char u8[128];
        int l = 0;
        for (int i = 0; i < n; i++) l += utf8proc_encode_char(cps[i], u8 + l);
        utf8proc_uint8_t *o;
        utf8proc_map(u8, l, &o, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        utf8proc_ssize_t off = 0, len = strlen((char *)o);
        for (int first = 1; off < len; first = 0) {
            utf8proc_int32_t c;
            off += utf8proc_iterate(o + off, len - off, &c);
            printf(first ? "%x" : " %x", c);
        }
        printf("\n");
        free(o);
    }
    return 0;
}
"""


def nfc_inert(d):
    """Code points whose NFC behaviour differs between utf8proc and `tokenizers`."""
    src, exe = os.path.join(d, "nfcl.c"), os.path.join(d, "nfcl")
    with open(src, "w") as f:
        f.write(NFCL)
    subprocess.run(["cc", "-O2", src, "-o", exe, "-lutf8proc"], check=True)
    nfc = normalizers.NFC()
    marks = [0x334, 0x316, 0x301, 0x345, 0x5B0]  # combining classes 1, 220, 230, 240, 10
    props = subprocess.run([exe, "--props"], capture_output=True, text=True, check=True).stdout.split()
    cand = sorted(set(int(x, 16) for x in props) | set(
        c for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.combining(chr(c))))
    tmpl = []
    for c in cand:
        tmpl += [[c], [0x61, c], [c, 0x61], [0x61, c, 0x301]] + [[m, c] for m in marks] + [[c, m] for m in marks]
    inp = "\n".join(" ".join("%x" % x for x in t) for t in tmpl) + "\n"
    out = subprocess.run([exe], input=inp, capture_output=True, text=True, check=True).stdout.split("\n")
    bad = set()
    for t, o in zip(tmpl, out):
        ref = " ".join("%x" % ord(x) for x in nfc.normalize_str("".join(map(chr, t))))
        if ref != o:
            bad.add(next(x for x in t if x not in marks + [0x61]))
    return sorted(bad)


def main():
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "pcls.c"), os.path.join(d, "pcls")
        with open(src, "w") as f:
            f.write(PCLS)
        subprocess.run(["cc", "-O2", src, "-o", exe, "-lpcre2-8"], check=True)
        pc = subprocess.run([exe], capture_output=True, check=True).stdout.decode()
        inert = nfc_inert(d)
    sp = pre_tokenizers.Split(Regex(QWEN_RE), behavior="isolated")
    hf = []
    for c in cps:
        ch = chr(c)
        p = [x[0] for x in sp.pre_tokenize_str("x" + ch + ch + "x")]
        hf.append("L" if len(p) == 1 else "N" if len(p) == 4 else "o" if len(p) == 3 and p[1] == ch + ch else "s")
    extra = {"L": [], "N": []}
    for i, c in enumerate(cps):
        if pc[i] == hf[i] or hf[i] == "s":
            continue
        if pc[i] != "o":
            sys.exit(f"U+{c:04X}: PCRE2 says {pc[i]}, tokenizers says {hf[i]}: cannot express by adding ranges")
        r = extra[hf[i]]
        if r and r[-1][1] == c - 1:
            r[-1][1] = c
        else:
            r.append([c, c])

    def lines(ranges):
        items = ["\\\\x{%x}" % a if a == b else "\\\\x{%x}-\\\\x{%x}" % (a, b) for a, b in ranges]
        out, line = [], ""
        for it in items:
            if len(line) + len(it) > 96:
                out.append(line)
                line = ""
            line += it
        out.append(line)
        return " \\\n".join('    "%s"' % x for x in out)

    with open(OUT, "w") as f:
        f.write("/* tok_unicode_compat.h — GENERATED by tests/data/tokenizer/make_unicode_compat.py; do not edit.\n"
                " * LS_ONIG_EXTRA_L/N: code points that the Oniguruma inside HF tokenizers (newer Unicode tables)\n"
                " * has in \\p{L} or \\p{N} while the system PCRE2 has them unassigned; the split-regex rewrite\n"
                " * appends them to \\p{L} and \\p{N} so both engines split identically.\n"
                " * LS_HF_NFC_INERT: code points that tokenizers' NFC (older tables) leaves alone (combining class\n"
                " * 0, no composition) while utf8proc reorders or composes them. */\n")
        f.write("#ifndef LS_TOK_UNICODE_COMPAT_H\n#define LS_TOK_UNICODE_COMPAT_H\n/* clang-format off */\n")
        f.write("#define LS_ONIG_EXTRA_L \\\n" + lines(extra["L"]) + "\n")
        f.write("#define LS_ONIG_EXTRA_N \\\n" + lines(extra["N"]) + "\n")
        f.write("#define LS_HF_NFC_INERT_N %d\n" % len(inert))
        f.write("#define LS_HF_NFC_INERT \\\n")
        items = ["0x%x," % c for c in inert]
        f.write(" \\\n".join("    " + " ".join(items[i:i + 10]) for i in range(0, len(items), 10)) + "\n")
        f.write("/* clang-format on */\n#endif\n")
    print("wrote", OUT, len(extra["L"]), "L ranges,", len(extra["N"]), "N ranges,", len(inert), "NFC-inert")


if __name__ == "__main__":
    main()
