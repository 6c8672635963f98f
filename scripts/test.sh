#!/usr/bin/env bash
# The whole test suite: setup (idempotent), the lint step (scripts/lint.sh),
# then every uvu suite in dist/test; a lint error fails the run, after the
# tests have run. Suites that need root and BPF run for real when root; CI runs
# as root. `npm run test:fast` is the quick subset (no root, kernel or VM).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
bash scripts/lint.sh
lint=$?
[ "$lint" -eq 0 ] || echo "lint: failed (exit $lint); the tests run anyway"
npx uvu dist/test '\.test\.js$' 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
total=$(grep -aoE '^  Total: +[0-9]+' "$log" | grep -oE '[0-9]+' | tail -1)
passed=$(grep -aoE '^  Passed: +[0-9]+' "$log" | grep -oE '[0-9]+' | tail -1)
skipped=$(grep -aoE '^  Skipped: +[0-9]+' "$log" | grep -oE '[0-9]+' | tail -1)
# CI shows only the end of the log: repeat each failure there, with its file.
if grep -aq ' FAIL ' "$log"; then
  echo "failures (repeated from above):"
  sed -e 's/\x1b\[[0-9;]*m//g' "$log" | awk '
    /\.test\.js$/ { file = $0 }
    / FAIL / { n = 24; print "--- " file }
    n > 0 { print; n-- }'
fi
if [ -n "${total:-}" ] && [ -n "${passed:-}" ]; then
  echo "${passed} passed, $((total - passed)) failed, ${skipped:-0} skipped"
fi
[ "$rc" -ne 0 ] || rc=$lint
exit "$rc"
