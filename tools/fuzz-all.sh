#!/usr/bin/env bash
# Runs every Fuzz* target of the module for a while each: tools/fuzz-all.sh 20s
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  dir=$(dirname "$f")
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $dir $fn ($t)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" "$dir"
  done
done
