#!/usr/bin/env bash
# Benchmarks: builds first, then runs every bench/*.bench.ts module in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# perf stat -a cycles (the kernel bench's cycles row) needs Debian's linux-perf
if ! command -v perf >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y -q linux-perf >/dev/null || echo "bench: could not install linux-perf; no cycles row" >&2
fi
exec node dist/bench/run.js "$@"
