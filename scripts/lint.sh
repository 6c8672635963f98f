#!/usr/bin/env bash
# The rules a tool enforces (scripts/test.sh runs this before the tests):
# eslint with the layer boundaries of docs/design.md (eslint.config.js), prettier
# for the TypeScript (.prettierrc.json) and clang-format for the C of bpf/ and
# shim/ (.clang-format). `npm run format` and `npm run format:c` fix the layout.
set -euo pipefail
cd "$(dirname "$0")/.."
npx eslint --max-warnings 0 src test bench bin eslint.config.js
npx prettier --check --log-level warn src test bench bin eslint.config.js
bash scripts/format-c.sh --check
