#!/usr/bin/env bash
# The main job: set up (idempotent), then walk through both seed scenarios
# against the live kernel with a temporary agent, pods and listeners.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart: run as root (it loads BPF programs and creates cgroups)" >&2
  exit 1
fi
bash scripts/setup.sh
exec node bin/talon.js quickstart "$@"
