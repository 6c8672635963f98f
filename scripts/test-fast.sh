#!/usr/bin/env bash
# Fast feedback: every suite that needs no root, no kernel and no VM (the
# policy core, the policy loader, events, golden bytes, the CLI), in well under
# 30 s. Rebuilds only what changed: the Wasm core when assembly/ is newer than
# build/talon.wasm, the TypeScript incrementally. The native shim and the BPF
# objects are not needed. `npm test` (scripts/test.sh) is the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/talon.wasm ] || [ -n "$(find assembly asconfig.json -newer build/talon.wasm -print -quit)" ]; then
  npm run --silent build:wasm
fi
npx tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
node scripts/gen-validator.mjs
exec npx uvu dist/test '^(abi|cli-|core-|events-|golden|policy-|cri-paths|cri-registry|k8s-).*\.test\.js$'
