#!/usr/bin/env bash
# Adds Debian bookworm-backports to apt's sources once, beside the system's own
# Debian entry (the same mirror and key: a source without Signed-By makes apt
# refuse every list). Backports packages are NotAutomatic: nothing is upgraded
# from it unless asked for with -t bookworm-backports. Used by setup.sh (libbpf)
# and vm.sh (the 6.12 guest kernel). Exit 3 with the reason when it cannot.
set -euo pipefail
LIST=/etc/apt/sources.list.d/talon-backports.sources
[ -f "$LIST" ] && exit 0
main=/etc/apt/sources.list.d/debian.sources
if [ ! -f "$main" ]; then
  echo "apt-backports: no $main to derive bookworm-backports from" >&2
  exit 3
fi
awk 'BEGIN{RS=""; ORS="\n\n"} /Types:.*deb/ && !/security/ {sub(/Suites:[^\n]*/, "Suites: bookworm-backports"); print; exit}' "$main" >"$LIST"
printf '\033[1m[apt]\033[0m added %s\n' "$LIST" >&2
apt-get update -qq >/dev/null 2>&1 || true
