#!/usr/bin/env bash
# How many of Tetragon's corpus policies `talon compile --check --kernel K` accepts, per committed
# kernel feature set (test/fixtures/kernels/*.json): the offline figure of the README's corpus
# paragraph. Offline: no uprobe binary or tracefs format is looked up (the agent does that).
# Usage: bash scripts/corpus-kernels.sh [corpus dir]   (default ../shared/tetragon-corpus/policies)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/tetragon-corpus/policies}
mapfile -t files < <(find "$corpus" -name '*.yaml' -o -name '*.yml' | sort)
for k in test/fixtures/kernels/*.json; do
  ok=0
  for f in "${files[@]}"; do
    if node bin/talon.js compile --check -n default --kernel "$k" "$f" >/dev/null 2>&1; then ok=$((ok + 1)); fi
  done
  echo "$(basename "$k" .json): $ok of ${#files[@]}"
done
