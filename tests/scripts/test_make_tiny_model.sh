#!/usr/bin/env bash
# `logits-study make-tiny-model` end to end: the checkpoint opens and scores,
# the same seed gives the same bytes and another seed other weights, the
# tokenizer is copied and sets the vocabulary, the writes are atomic, and bad
# input fails with a clear message.
# usage: test_make_tiny_model.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"

mk() { "$bin" make-tiny-model "$@" 2> "$tmp/mk.err" || fail "make-tiny-model $*: $(cat "$tmp/mk.err")"; }

# valid checkpoint: score runs, every prediction finite
mk --out "$tmp/a" --seed 42
[ -f "$tmp/a/config.json" ] && [ -f "$tmp/a/model.safetensors" ] || fail "files missing: $(ls "$tmp/a")"
"$bin" score --model "$tmp/a" --ids 1,5,9,1023,0,7 --targets 3,4 --json --device cpu > "$tmp/a.json"
"$py" - "$tmp/a.json" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
ps = r["positions"]
assert ps[0]["logprob"] is None
for p in ps[1:]:
    assert math.isfinite(p["logprob"]) and p["logprob"] <= 0, p
    assert 0 <= p["entropy"] < math.log(1024) - 0.5, p  # not uniform
PY
# header: padded to 8 bytes with spaces, names sorted, data contiguous to EOF
"$py" - "$tmp/a/model.safetensors" <<'PY'
import json, os, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
assert n % 8 == 0, n
h = b[8:8 + n]
assert h.rstrip(b" ") == h.rstrip() and h.rstrip().endswith(b"}"), h[-20:]
d = json.loads(h)
assert d.pop("__metadata__") == {"format": "pt"}
names = list(d)
assert names == sorted(names), names
off = 0
for k in names:
    a, z = d[k]["data_offsets"]
    assert a == off, (k, a, off)
    off = z
assert 8 + n + off == len(b)
assert "lm_head.weight" in d and d["lm_head.weight"]["dtype"] == "BF16"
PY

# determinism
mk --out "$tmp/b" --seed 42
cmp "$tmp/a/model.safetensors" "$tmp/b/model.safetensors" || fail "same seed, different weights"
cmp "$tmp/a/config.json" "$tmp/b/config.json" || fail "same seed, different config"
mk --out "$tmp/c" --seed 43
cmp -s "$tmp/a/model.safetensors" "$tmp/c/model.safetensors" && fail "different seeds, same weights"
cmp "$tmp/a/config.json" "$tmp/c/config.json" || fail "seed changed config.json"

# options reach config.json; tied checkpoints have no lm_head
mk --out "$tmp/t" --seed 1 --tie --dtype f16 --layers 3 --hidden 48 --heads 6 --kv-heads 3 --head-dim 8 \
  --intermediate 40 --vocab 300 --rope-theta 10000
"$py" - "$tmp/t" <<'PY'
import json, struct, sys
c = json.load(open(sys.argv[1] + "/config.json"))
want = dict(tie_word_embeddings=True, dtype="float16", num_hidden_layers=3, hidden_size=48, num_attention_heads=6,
            num_key_value_heads=3, head_dim=8, intermediate_size=40, vocab_size=300)
for k, v in want.items():
    assert c[k] == v, (k, c[k], v)
assert c["rope_parameters"] == {"rope_theta": 10000.0, "rope_type": "default"}
assert len(c["layer_types"]) == 3
b = open(sys.argv[1] + "/model.safetensors", "rb").read()
d = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
assert "lm_head.weight" not in d
assert d["model.layers.2.self_attn.q_proj.weight"]["shape"] == [48, 48]
assert d["model.layers.2.self_attn.k_proj.weight"]["shape"] == [24, 48]
PY
"$bin" score --model "$tmp/t" --ids 1,2,3 --device cpu > /dev/null || fail "score on the tied f16 model"

# tokenizer: copied, vocab defaults to 151936 and must cover it
tokd=
for d in "$src/tests/data/qwen3-tokenizer" "$src/../shared/data/qwen3-tokenizer"; do
  if [ -f "$d/tokenizer.json" ]; then tokd=$d; break; fi
done
if [ -n "$tokd" ]; then
  mkdir "$tmp/tok" && cp "$tokd/tokenizer.json" "$tokd/tokenizer_config.json" "$tmp/tok/"
  mk --out "$tmp/k" --seed 3 --tokenizer "$tmp/tok"
  cmp "$tmp/tok/tokenizer.json" "$tmp/k/tokenizer.json" || fail "tokenizer.json not copied"
  cmp "$tmp/tok/tokenizer_config.json" "$tmp/k/tokenizer_config.json" || fail "tokenizer_config.json not copied"
  grep -q '"vocab_size": 151936' "$tmp/k/config.json" || fail "default vocab with a tokenizer"
  "$bin" score --model "$tmp/k" --ids 151643,14190,151935 --device cpu > /dev/null || fail "score, tokenizer vocab"
else
  echo "note: no qwen3 tokenizer found; tokenizer checks skipped"
fi

# errors: exit status and a message naming the problem; nothing left behind
m="$bin make-tiny-model"
expect_err 2 "--out and --seed are required" $m --out "$tmp/x"
expect_err 2 "--out and --seed are required" $m --seed 1
expect_err 2 "--layers 'x': expected an integer" $m --out "$tmp/x" --seed 1 --layers x
expect_err 2 "--hidden '-1': expected an integer" $m --out "$tmp/x" --seed 1 --hidden -1
expect_err 2 "--vocab '12abc'" $m --out "$tmp/x" --seed 1 --vocab 12abc
expect_err 2 "--seed 'minus'" $m --out "$tmp/x" --seed minus
expect_err 2 "--seed '-3'" $m --out "$tmp/x" --seed -3
expect_err 2 "--rope-theta 'nan'" $m --out "$tmp/x" --seed 1 --rope-theta nan
expect_err 2 "--rope-theta 0.5" $m --out "$tmp/x" --seed 1 --rope-theta 0.5
expect_err 2 "--dtype 'f8'" $m --out "$tmp/x" --seed 1 --dtype f8
expect_err 2 "--heads 3 does not divide --hidden 64" $m --out "$tmp/x" --seed 1 --heads 3 --kv-heads 1
expect_err 2 "--kv-heads 3 does not divide --heads 4" $m --out "$tmp/x" --seed 1 --kv-heads 3
expect_err 2 "head_dim 5 is odd" $m --out "$tmp/x" --seed 1 --head-dim 5
expect_err 2 "larger than 16 GiB" $m --out "$tmp/x" --seed 1 --hidden 65536 --heads 128 --kv-heads 128 --vocab 4000000
expect_err 2 "unknown option '--bogus'" $m --out "$tmp/x" --seed 1 --bogus 3
if [ -n "$tokd" ]; then
  expect_err 2 "--vocab 1000 is smaller than the tokenizer's vocabulary" $m --out "$tmp/x" --seed 1 \
    --tokenizer "$tmp/tok" --vocab 1000
fi
expect_err 2 "--tokenizer: $tmp/nope/tokenizer.json" $m --out "$tmp/x" --seed 1 --tokenizer "$tmp/nope"
[ ! -e "$tmp/x" ] || fail "a failed run left $tmp/x"
# unwritable --out: under a regular file, a missing parent, an existing file
touch "$tmp/file"
expect_err 1 "cannot write there: Not a directory" $m --out "$tmp/file/model" --seed 1
# missing parent folders are created (mkdir -p); one that cannot be created is an error
$m --out "$tmp/no/such/model" --seed 1 >/dev/null 2>&1 && [ -f "$tmp/no/such/model/config.json" ] \
  || { echo "FAIL: parents of --out not created"; exit 1; }
touch "$tmp/afile"
expect_err 1 "$tmp/afile/x/model: cannot write there: Not a directory" $m --out "$tmp/afile/x/model" --seed 1
expect_err 1 "exists and is not a folder" $m --out "$tmp/file" --seed 1
expect_err 1 "cannot create a folder in /proc" $m --out /proc/ls-tiny-model --seed 1
# existing checkpoints are replaced only with --force, other folders never
expect_err 1 "exists and is not empty (pass --force" $m --out "$tmp/a" --seed 7
cmp "$tmp/a/model.safetensors" "$tmp/b/model.safetensors" || fail "a refused run changed the checkpoint"
mkdir "$tmp/docs" && echo hi > "$tmp/docs/notes.txt"
expect_err 1 "not written by make-tiny-model (no .logits-study-tiny-model marker file); refusing" \
  $m --out "$tmp/docs" --seed 7 --force
# a checkpoint it did not write (config.json, weights, no marker) is never replaced, --force or not
mkdir "$tmp/real" && cp "$tmp/b/config.json" "$tmp/b/model.safetensors" "$tmp/real/"
expect_err 1 "$tmp/real: not written by make-tiny-model (no .logits-study-tiny-model marker file)" \
  $m --out "$tmp/real" --seed 7 --force
cmp "$tmp/real/model.safetensors" "$tmp/b/model.safetensors" || fail "a refused --force changed a foreign checkpoint"
[ "$(ls -A "$tmp/real" | tr '\n' ' ')" = "config.json model.safetensors " ] || fail "foreign folder changed: $(ls -A "$tmp/real")"
[ -f "$tmp/a/.logits-study-tiny-model" ] || fail "no marker file in a written checkpoint"
mk --out "$tmp/a" --seed 43 --force
cmp "$tmp/a/model.safetensors" "$tmp/c/model.safetensors" || fail "--force did not replace the checkpoint"
mkdir "$tmp/empty" && mk --out "$tmp/empty/" --seed 42
cmp "$tmp/empty/model.safetensors" "$tmp/b/model.safetensors" || fail "writing into an empty folder"
leftover=$(find "$tmp" -maxdepth 1 -name '.*.tmp-*' -o -maxdepth 1 -name '.*.old-*')
[ -z "$leftover" ] || fail "temporary folders left behind: $leftover"
"$bin" make-tiny-model --help | grep -q "usage: logits-study make-tiny-model" || fail "--help"
"$bin" --help | grep -q "make-tiny-model" || fail "make-tiny-model missing from the command list"
echo "make-tiny-model: all checks passed"
