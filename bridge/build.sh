#!/usr/bin/env bash
# Builds libbpf-wasm-bridge: libbpf, libelf and zlib from Debian's source
# packages, compiled with Debian's emscripten into one Node module:
#   bridge/dist/libbpf.wasm   libbpf 1.1.2 + libelf (elfutils 0.188) + zlib 1.2.13
#   bridge/dist/libbpf.mjs    emscripten's glue (ES module factory)
# Skipped when the outputs are newer than this folder. Sources and objects go
# to bridge/.build/ (gitignored). Needs root once, for apt (emscripten, a
# deb-src entry, dpkg-dev for `apt-get source`).
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
BUILD=$HERE/.build
DIST=$HERE/dist

say() { printf '\033[1m[bridge]\033[0m %s\n' "$*" >&2; }

if [ -s "$DIST/libbpf.wasm" ] && [ -s "$DIST/libbpf.mjs" ] &&
   [ -z "$(find "$HERE" -maxdepth 1 -type f -newer "$DIST/libbpf.wasm" | head -1)" ]; then
  say "up to date"; exit 0
fi
# a build of the very same bridge sources on this machine (another checkout, an earlier
# CI clone) is reused: the output depends only on these files and Debian's pinned packages
CACHE=/var/cache/talon-bridge/$(cat "$HERE"/build.sh "$HERE"/host.c "$HERE"/host.h "$HERE"/host-lib.js | sha256sum | cut -c1-16)
if [ -s "$CACHE/libbpf.wasm" ] && [ -s "$CACHE/libbpf.mjs" ]; then
  mkdir -p "$DIST" && cp "$CACHE/libbpf.wasm" "$CACHE/libbpf.mjs" "$DIST/"
  say "reused the build in $CACHE"; exit 0
fi
start=$(date +%s)

# 1. toolchain and sources (Debian bookworm: libbpf 1.1.2, elfutils 0.188, zlib 1.2.13)
need=()
for p in emscripten dpkg-dev linux-libc-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
SRC_LIST=/etc/apt/sources.list.d/talon-bridge-src.sources
fetch_src=0
for pkg in libbpf elfutils zlib; do
  compgen -G "$BUILD/src/$pkg-[0-9]*/" >/dev/null || fetch_src=1
done
if [ ${#need[@]} -gt 0 ] || { [ $fetch_src = 1 ] && [ ! -f "$SRC_LIST" ]; }; then
  [ "$(id -u)" -eq 0 ] || { say "needs root once to install ${need[*]:-} and add $SRC_LIST"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f "$SRC_LIST" ]; then
    # the deb-src twin of the system's own Debian entry (same mirror, suites, key)
    main=$(ls /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    if [ -n "$main" ]; then
      awk 'BEGIN{RS=""; ORS="\n\n"} /Types:.*deb/ && !/security/ {sub(/Types:[^\n]*/, "Types: deb-src"); print; exit}' "$main" > "$SRC_LIST"
    else
      line=$(grep -h '^deb .*debian' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1)
      printf '%s\n' "${line/deb /deb-src }" > "${SRC_LIST%.sources}.list"; SRC_LIST=${SRC_LIST%.sources}.list
    fi
    say "added $SRC_LIST"
  fi
  apt-get update -qq
  [ ${#need[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$BUILD/src" "$DIST"
if [ $fetch_src = 1 ]; then
  say "apt-get source libbpf elfutils zlib"
  (cd "$BUILD/src" && apt-get source -qq libbpf elfutils zlib >/dev/null 2>&1)
fi
LIBBPF=$(ls -d "$BUILD"/src/libbpf-[0-9]*/ | head -1)
ELFUTILS=$(ls -d "$BUILD"/src/elfutils-[0-9]*/ | head -1)
ZLIB=$(ls -d "$BUILD"/src/zlib-[0-9]*/ | head -1)

# emcc's optimiser runs on Debian's node modules (acorn ...)
export NODE_PATH=/usr/share/nodejs
EMCC=${EMCC:-emcc}
EMAR=${EMAR:-emar}
OPT=${BRIDGE_OPT:--O2}
JOBS=$(nproc)

# compile DIR OUT.a CFLAGS... -- FILES...: objects in parallel, then one archive
compile() {
  local name=$1 out=$2; shift 2
  local flags=() files=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done; shift
  files=("$@")
  local odir="$BUILD/obj/$name"; rm -rf "$odir"; mkdir -p "$odir"
  printf '%s\n' "${files[@]}" | xargs -P "$JOBS" -I{} sh -c \
    '"$0" "$@" -c "{}" -o "'"$odir"'/$(basename "{}" .c).o"' "$EMCC" "${flags[@]}"
  rm -f "$out"; "$EMAR" rcs "$out" "$odir"/*.o
}

# 2. zlib
# a stage is redone only when its archive is missing or older than its inputs
stale() { local out=$1; shift; [ ! -s "$out" ] || [ -n "$(find "$@" -newer "$out" -type f 2>/dev/null | head -1)" ]; }
ZINC=$ZLIB
if stale "$BUILD/libz.a" "$ZLIB"; then
say "zlib $(basename "$ZLIB")"
compile zlib "$BUILD/libz.a" $OPT -D_LARGEFILE64_SOURCE=1 -DHAVE_HIDDEN -w -- \
  "$ZLIB"/{adler32,compress,crc32,deflate,gzclose,gzlib,gzread,gzwrite,infback,inffast,inflate,inftrees,trees,uncompr,zutil}.c
fi

# 3. libelf (elfutils' own configure is not run: this config.h is what it would find)
mkdir -p "$BUILD/elfcfg"
ver=$(basename "$ELFUTILS" | sed 's/elfutils-//')
cat > "$BUILD/elfcfg/config.h" <<CFG
#define _GNU_SOURCE 1
#define PACKAGE_NAME "elfutils"
#define PACKAGE_VERSION "$ver"
#define VERSION "$ver"
#define HAVE_DECL_MEMPCPY 1
#define HAVE_DECL_MEMRCHR 1
#define HAVE_DECL_RAWMEMCHR 0
#define HAVE_DECL_POWEROF2 0
#define HAVE_DECL_REALLOCARRAY 1
#define HAVE_ERR_H 1
#define HAVE_VISIBILITY 1
#define HAVE_GCC_STRUCT 1
#define HAVE_FALLTHROUGH 1
#define SIZEOF_LONG 4
#include <eu-config.h>
CFG
if stale "$BUILD/libelf.a" "$ELFUTILS/libelf" "$ELFUTILS/lib"; then
say "libelf $(basename "$ELFUTILS")"
ELF_SRCS=$(sed -n '/^libelf_a_SOURCES/,/^$/p' "$ELFUTILS/libelf/Makefile.am" | tr -d '\\' | sed 's/libelf_a_SOURCES *=//' | tr ' \t' '\n\n' | grep '\.c$')
compile libelf "$BUILD/libelf.a" $OPT -DHAVE_CONFIG_H -include "$BUILD/elfcfg/config.h" -std=gnu99 -w \
  -I"$BUILD/elfcfg" -I"$ELFUTILS/libelf" -I"$ELFUTILS/lib" -I"$ZINC" -- \
  $(for f in $ELF_SRCS; do echo "$ELFUTILS/libelf/$f"; done)
fi
mkdir -p "$BUILD/include"
cp "$ELFUTILS"/libelf/{libelf.h,gelf.h,elf.h,nlist.h} "$BUILD/include/"

# 4. libbpf: the kernel's uapi headers are libbpf's own copies plus linux-libc-dev's
#    asm/asm-generic (wasm32 is ILP32, so asm/unistd.h gives x32 numbers; host.c
#    sees the same ones)
say "libbpf $(basename "$LIBBPF")"
KH="$BUILD/khdr"; mkdir -p "$KH"
ln -sfn /usr/include/asm-generic "$KH/asm-generic"
ln -sfn /usr/include/x86_64-linux-gnu/asm "$KH/asm"
ln -sfn /usr/include/linux "$KH/linux"
BPF_FLAGS=($OPT -D_LARGEFILE64_SOURCE -D_FILE_OFFSET_BITS=64 -D_GNU_SOURCE -std=gnu89 -w
  -include "$HERE/host.h"
  -I"$LIBBPF/include" -I"$LIBBPF/include/uapi" -I"$BUILD/include" -I"$ZINC" -idirafter "$KH" -I"$LIBBPF/src")
stale "$BUILD/libbpf.a" "$LIBBPF/src" "$HERE/host.h" "$HERE/host.c" &&
  compile libbpf "$BUILD/libbpf.a" "${BPF_FLAGS[@]}" -- "$LIBBPF"/src/*.c "$HERE/host.c"

# 5. link: the exports are what src/bridge/ calls
say "link"
EXPORTS=_malloc,_free,_tln_init,_tln_obj_open,_tln_obj_load,_tln_errno,_tln_linux_errno,_bpf_object__close,_bpf_object__next_program,_bpf_object__name,_bpf_program__name,_bpf_program__section_name,_bpf_program__insns,_bpf_program__insn_cnt,_bpf_program__set_autoload,_bpf_program__autoload,_bpf_program__fd,_bpf_program__type,_bpf_program__expected_attach_type,_bpf_object__next_map,_bpf_map__name,_bpf_map__fd
cat > "$BUILD/pre.js" <<'PRE'
import { createRequire as __tlnCreateRequire } from 'node:module';
import { dirname as __tlnDirname } from 'node:path';
import { fileURLToPath as __tlnFileURLToPath } from 'node:url';
const require = __tlnCreateRequire(import.meta.url);
const __dirname = __tlnDirname(__tlnFileURLToPath(import.meta.url));
PRE
"$EMCC" $OPT "$BUILD/libbpf.a" "$BUILD/libelf.a" "$BUILD/libz.a" \
  --js-library "$HERE/host-lib.js" --extern-pre-js "$BUILD/pre.js" \
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createLibbpf -sENVIRONMENT=node \
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=33554432 -sFORCE_FILESYSTEM=1 -sEXIT_RUNTIME=0 \
  -sEXPORTED_FUNCTIONS="$EXPORTS" -sEXPORTED_RUNTIME_METHODS=FS,UTF8ToString,stringToUTF8,lengthBytesUTF8,HEAPU8 \
  -o "$BUILD/libbpf.mjs"
mv "$BUILD/libbpf.wasm" "$DIST/libbpf.wasm"
mv "$BUILD/libbpf.mjs" "$DIST/libbpf.mjs"
end=$(date +%s)
size=$(stat -c %s "$DIST/libbpf.wasm"); glue=$(stat -c %s "$DIST/libbpf.mjs")
printf 'built in %ss: libbpf.wasm %s bytes, libbpf.mjs %s bytes (emcc %s)\n' \
  $((end - start)) "$size" "$glue" "$OPT" > "$DIST/BUILD-INFO"
say "$(cat "$DIST/BUILD-INFO")"
mkdir -p "$CACHE" && cp "$DIST/libbpf.wasm" "$DIST/libbpf.mjs" "$DIST/BUILD-INFO" "$CACHE/"
