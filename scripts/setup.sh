#!/usr/bin/env bash
# Idempotent setup: Debian packages, npm dependencies, and every build step.
# Each step is skipped when already done, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# 1. Debian packages for building and loading BPF (kernel side), jq for the bench.
APT_PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make gcc g++ python3 jq bpftrace curl perl gettext-base clang-format)
APT_PKGS+=(containerd runc) # real CRI pods for the cri-pods suite and the quickstart (started privately, never as a service)
APT_PKGS+=(systemtap-sdt-dev) # sys/sdt.h: the USDT probes of the agent-uprobes suite's test binary
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]} (run as root, or install them)"; exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 1b. libbpf 1.4 on Debian 12, from bookworm-backports (docs/kernel.md: with bookworm's 1.1.2 the
#     agent in the emulated 6.12 guest crashed in V8 code in 5 of 22 runs, with 1.4.6 in 0 of 10;
#     one TCG thread per VM stopped it as well). Other releases' own libbpf is new enough.
if [ "$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")" = bookworm ] &&
  ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null || echo 0)" ge 1:1.4; then
  if [ "$(id -u)" -ne 0 ]; then
    say "libbpf-dev is older than 1.4 (run as root, or install it from bookworm-backports)"; exit 1
  fi
  say "installing libbpf 1.4 from bookworm-backports"
  bash scripts/apt-backports.sh
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -t bookworm-backports libbpf-dev libbpf1 >/dev/null
fi

# 2. npm dependencies (reinstalled only when the lock file changed).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 3. builds: Wasm core, TypeScript, BPF objects and the native shim.
newer() { # newer OUT SRC... : true when OUT is missing or older than any SRC file
  local out=$1; shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -newer "$out" -type f 2>/dev/null | head -1)" ]
}
# the mirrors of the byte-format headers (assembly/abi/generated.ts, src/abi/generated.ts,
# test/helpers/abi-probe.c) come first: asc and tsc compile them
node scripts/gen-abi.mjs >/dev/null
if newer build/talon.wasm assembly asconfig.json bpf/include; then
  say "building the Wasm core"
  npx asc assembly/index.ts --target release
fi
if newer dist/.stamp src test bench tsconfig.json; then
  say "compiling TypeScript"
  rm -rf dist && npx tsc -p tsconfig.json && node scripts/gen-validator.mjs && touch dist/.stamp
fi
if [ -x scripts/build-native.sh ]; then
  bash scripts/build-native.sh
fi

# 4. `talon` on the PATH: a link to this checkout's bin/talon.js in npm's global bin folder
#    (the same place `npm install -g` would put it), replaced when it points elsewhere.
if [ "$(id -u)" -eq 0 ]; then
  bindir="$(npm prefix -g 2>/dev/null)/bin"
  target="$(pwd)/bin/talon.js"
  if [ -d "$bindir" ] && [ "$(readlink -f "$bindir/talon" 2>/dev/null)" != "$target" ]; then
    say "linking $bindir/talon -> $target"
    ln -sfn "$target" "$bindir/talon"
  fi
fi

# 5. libbpf-wasm-bridge (libbpf in wasm for `talon compile --kernel-btf`): skipped when up to date
bash bridge/build.sh
