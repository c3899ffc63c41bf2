#!/usr/bin/env bash
# The two real GGUF models ($LS_REAL_MODELS, fetched by scripts/fetch_real_models.sh) against
# transformers loading the same files (tests/fixtures/real-score, made by
# tests/oracle/make_real_score_fixtures.py): `tokenize` gives transformers' ids on each maths text,
# and `score` on those ids its log-probs, entropies and target rows within 1e-4 (relative above 1 in
# magnitude: improbable targets reach -20 nats) and its top-k ids
# where the gaps allow (tests/scripts/check_score.py).
# usage: test_real_score.sh BINARY SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
. "$src/tests/scripts/lib.sh"
[ -n "${LS_REAL_MODELS:-}" ] || fail "LS_REAL_MODELS is not set (run through ctest, which fetches the models)"

for ref in "$src"/tests/fixtures/real-score/*.json; do
  model=$LS_REAL_MODELS/$(jq -r .file "$ref")
  [ "$(sha256sum "$model" | cut -d' ' -f1)" = "$(jq -r .sha256 "$ref")" ] || fail "$model: not the file of $ref"
  tg=$(jq -r '.targets | map(tostring) | join(",")' "$ref")
  n=$(jq '.sequences | length' "$ref")
  for ((s = 0; s < n; s++)); do
    jq -c ".sequences[$s].text" "$ref" | "$bin" tokenize --tokenizer "$model" > "$tmp/ids"
    jq -c ".sequences[$s].ids" "$ref" | cmp -s - "$tmp/ids" || fail "$model text $s: tokenize ids differ from transformers'"
    jq -c ".sequences[$s].ids" "$ref" > "$tmp/ids.json"
    "$bin" score --model "$model" --ids-file "$tmp/ids.json" --targets "$tg" --top-k 5 --json --device cpu \
      > "$tmp/out.json"
    "$py" "$src/tests/scripts/check_score.py" "$ref" $s "$tmp/out.json" --rel | sed "s|^|$(basename "$model") ($(jq length "$tmp/ids.json") tokens): |"
  done
done
