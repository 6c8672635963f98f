#!/usr/bin/env bash
# clang-format over the C of bpf/, shim/ and test/helpers/ (style: .clang-format).
#   --check  list the files that differ from the style, exit 1 if any
#   --write  reformat them in place
# bpf/include/*.h keep their hand layout (scripts/gen-abi.mjs parses them: one
# field or #define a line) and test/helpers/abi-probe.c is generated, so neither
# is formatted. Needs clang-format (Debian: apt-get install clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---check}
command -v clang-format >/dev/null || { echo "format-c: clang-format is not installed (apt-get install clang-format)" >&2; exit 3; }
mapfile -t files < <(git ls-files 'bpf/*.c' 'bpf/*.h' 'shim/*.c' 'shim/*.h' 'test/helpers/*.c' | grep -v -e '^bpf/include/' -e '^test/helpers/abi-probe\.c$')
case "$mode" in
  --write) clang-format -i --style=file "${files[@]}" ;;
  --check)
    bad=0
    for f in "${files[@]}"; do
      if ! clang-format --style=file "$f" | cmp -s - "$f"; then echo "format-c: $f differs from .clang-format"; bad=1; fi
    done
    exit "$bad" ;;
  *) echo "usage: $0 --check|--write" >&2; exit 2 ;;
esac
