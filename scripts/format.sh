#!/usr/bin/env bash
# Formats the C / CUDA sources with the project's .clang-format, or with
# --check only reports files that are not formatted (non-zero exit; CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' '*.cu' | grep -v 'tok_unicode_compat.h')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run -Werror "${files[@]}"
  echo "format: ${#files[@]} files formatted"
else
  clang-format -i "${files[@]}"
fi
