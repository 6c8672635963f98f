#!/usr/bin/env bash
# Builds the kernel side and the native shim, each step skipped when up to date:
#   bpf/.output/vmlinux.h   from the running kernel's BTF (CO-RE: objects run on other kernels)
#   bpf/.output/*.bpf.o     clang -O2 -g -target bpf, one object per bpf/*.bpf.c
#   shim/build/Release/tln_shim.node   node-gyp over the system libbpf
# Needs: clang, llvm, bpftool, libbpf-dev, libelf-dev, zlib1g-dev, make, g++, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[native]\033[0m %s\n' "$*" >&2; }
newer() { # newer OUT SRC... : true when OUT is missing or older than any SRC file
  local out=$1; shift
  [ -e "$out" ] || return 0
  [ -n "$(find "$@" -newer "$out" -type f 2>/dev/null | head -1)" ]
}

OUT=bpf/.output
mkdir -p "$OUT"

# 1. vmlinux.h from the running kernel's BTF
if [ ! -s "$OUT/vmlinux.h" ]; then
  if [ ! -r /sys/kernel/btf/vmlinux ]; then
    say "no /sys/kernel/btf/vmlinux: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF), cannot build CO-RE objects"
    exit 1
  fi
  say "generating $OUT/vmlinux.h"
  bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$OUT/vmlinux.h.tmp"
  mv "$OUT/vmlinux.h.tmp" "$OUT/vmlinux.h"
fi

# objects and shim are rebuilt when the libbpf they were built with changes (its headers keep
# their package's dates, older than any build: no file time tells)
LIBBPF_VER=$(pkg-config --modversion libbpf 2>/dev/null || echo unknown)
if [ "$(cat "$OUT/.libbpf-version" 2>/dev/null)" != "$LIBBPF_VER" ]; then
  rm -f "$OUT"/*.bpf.o shim/build/Release/tln_shim.node
  echo "$LIBBPF_VER" >"$OUT/.libbpf-version"
fi

# 2. BPF objects
CLANG=${CLANG:-clang}
ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_FLAGS=(-O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_"$ARCH" -I"$OUT" -Ibpf/include -Ibpf -Wall -Wno-unused-function -Werror)
for src in bpf/*.bpf.c; do
  obj="$OUT/$(basename "${src%.c}").o"
  if newer "$obj" "$src" bpf/lib bpf/include "$OUT/vmlinux.h"; then
    say "clang $src"
    "$CLANG" "${BPF_FLAGS[@]}" -c "$src" -o "$obj.tmp"
    # the same code with its stack sizes, for the combined-stack check (kept
    # out of the loaded object: libbpf has no use for the section)
    "$CLANG" "${BPF_FLAGS[@]}" -fstack-size-section -c "$src" -o "$obj.stack"
    if ! node scripts/bpf-stack.mjs "$obj.stack"; then
      rm -f "$obj.tmp" "$obj.stack"
      exit 1
    fi
    rm -f "$obj.stack"
    mv "$obj.tmp" "$obj"
  fi
done

# 3. the shim (node-gyp as bundled with npm; headers from npm's nodedir config)
ADDON=shim/build/Release/tln_shim.node
# every source of the addon (not shim/build, node-gyp's output)
if newer "$ADDON" shim/*.c shim/*.h shim/binding.gyp; then
  say "node-gyp shim"
  gyp=""
  npm_root=$(npm root -g 2>/dev/null || true)
  for cand in "$npm_root/npm/node_modules/node-gyp/bin/node-gyp.js" \
              "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"; do
    [ -f "$cand" ] && { gyp=$cand; break; }
  done
  nodedir=$(npm config get nodedir 2>/dev/null || true)
  args=(rebuild -C shim --loglevel=error)
  if [ -n "$nodedir" ] && [ "$nodedir" != "undefined" ] && [ -f "$nodedir/include/node/node_api.h" ]; then
    args+=(--nodedir="$nodedir")
  elif [ -f /usr/include/node/node_api.h ]; then
    args+=(--nodedir=/usr)
  fi
  if [ -n "$gyp" ]; then
    node "$gyp" "${args[@]}" >&2
  else
    npx --yes node-gyp "${args[@]}" >&2
  fi
fi
say "native build up to date"
