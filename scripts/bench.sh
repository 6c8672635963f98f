#!/usr/bin/env bash
# Benchmarks: builds first, then runs every bench/*.bench.ts module in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/bench/run.js "$@"
