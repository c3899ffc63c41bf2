#!/usr/bin/env bash
# `score --ids-file` and `tokenize --ids-file`: the same results as ids given inline, a
# 32768-id file (longer than a command line allows comfortably), and bad files named with their line.
# usage: test_ids_file.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"

"$bin" make-tiny-model --out "$tmp/m" --seed 3 --layers 1 --hidden 16 --heads 1 --kv-heads 1 \
  --intermediate 32 --vocab 64 --dtype f32 > /dev/null

# inline ids and the three file spellings give the same output
ids=5,17,3,3,60,0,42,9
printf '5 17\n3,3\n\t60, 0\n42 9\n' > "$tmp/plain.txt"
printf '[5, 17, 3,\n 3, 60, 0, 42, 9]\n' > "$tmp/array.json"
printf '5,17,3,3,60,0,42,9' > "$tmp/commas.txt"
"$bin" score --model "$tmp/m" --ids "$ids" --json --device cpu > "$tmp/inline.json"
for f in plain.txt array.json commas.txt; do
  "$bin" score --model "$tmp/m" --ids-file "$tmp/$f" --json --device cpu > "$tmp/file.json"
  cmp -s "$tmp/inline.json" "$tmp/file.json" || fail "score --ids-file $f differs from --ids"
done

# 32768 ids: every position scored
"$py" -c "
import random
r = random.Random(5)
print(' '.join(str(r.randrange(64)) for _ in range(32768)))" > "$tmp/long.txt"
"$bin" score --model "$tmp/m" --ids-file "$tmp/long.txt" --json --device cpu --top-k 1 > "$tmp/long.json"
"$py" -c "
import json, sys
out = json.load(open(sys.argv[1]))
ids = [int(x) for x in open(sys.argv[2]).read().split()]
toks = out['tokens'] if 'tokens' in out else [p['token'] for p in out['positions']]
assert toks == ids, (len(toks), len(ids))
print('score --ids-file: 32768 positions')" "$tmp/long.json" "$tmp/long.txt"

# tokenize --ids-file decodes like a JSON line on stdin (32768 Qwen ids)
tok=$src/tests/data/qwen3-tokenizer
"$py" -c "
import json, random
r = random.Random(6)
ids = [r.randrange(151000) for _ in range(32768)]
open('$tmp/qids.json', 'w').write(json.dumps(ids))
open('$tmp/qids.jsonl', 'w').write(json.dumps(ids) + '\n')"
"$bin" tokenize --tokenizer "$tok" --ids-file "$tmp/qids.json" > "$tmp/d1"
"$bin" tokenize --tokenizer "$tok" --decode < "$tmp/qids.jsonl" > "$tmp/d2"
cmp -s "$tmp/d1" "$tmp/d2" || fail "tokenize --ids-file differs from --decode on stdin"

# bad files: exit 1, the file and line named
printf '1 2\n3 x4\n' > "$tmp/bad.txt"
expect_err 1 "bad.txt:2: expected a non-negative integer token id ('x4')" \
  "$bin" score --model "$tmp/m" --ids-file "$tmp/bad.txt" --device cpu
printf '1,\n-2' > "$tmp/neg.txt"
expect_err 1 "neg.txt:2: expected a non-negative integer token id ('-2')" \
  "$bin" tokenize --tokenizer "$tok" --ids-file "$tmp/neg.txt"
printf '[1, 2\n' > "$tmp/open.json"
expect_err 1 "open.json:2: the JSON array is not closed" "$bin" tokenize --tokenizer "$tok" --ids-file "$tmp/open.json"
printf '1,,2' > "$tmp/comma.txt"
expect_err 1 "comma.txt:1: expected a non-negative integer" "$bin" tokenize --tokenizer "$tok" --ids-file "$tmp/comma.txt"
printf '7 99999999999' > "$tmp/big.txt"
expect_err 1 "big.txt:1: token id out of range" "$bin" tokenize --tokenizer "$tok" --ids-file "$tmp/big.txt"
printf '[1] 2' > "$tmp/after.json"
expect_err 1 "after.json:1: unexpected text after the JSON array" \
  "$bin" tokenize --tokenizer "$tok" --ids-file "$tmp/after.json"
: > "$tmp/empty.txt"
expect_err 1 "empty.txt: no token ids in the file" "$bin" score --model "$tmp/m" --ids-file "$tmp/empty.txt" --device cpu
expect_err 1 "$tmp/missing.txt" "$bin" score --model "$tmp/m" --ids-file "$tmp/missing.txt" --device cpu
expect_err 1 "outside the vocabulary" "$bin" score --model "$tmp/m" --ids-file "$tmp/qids.json" --device cpu
echo "test_ids_file: ok"
