#!/usr/bin/env bash
# The rules a tool enforces (scripts/test.sh runs this before the tests):
# eslint with the layer boundaries of docs/design.md (eslint.config.js).
# `npm run format:check` (prettier) and `npm run format:c:check` (clang-format)
# join this step after the one-time reformat of the tree (`npm run format`,
# `npm run format:c`); until then they only report.
set -euo pipefail
cd "$(dirname "$0")/.."
npx eslint --max-warnings 0 src test bench bin eslint.config.js
