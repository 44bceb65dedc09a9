#!/usr/bin/env bash
# Builds every benchmark program to .wasm next to its source. The .wasm files are committed, so
# running the benchmark needs no clang; rerun this after changing a program.
# Needs (Debian): clang lld wasi-libc libclang-rt-14-dev-wasm32, and wasm-objdump (wabt).
#
# No wasi-libc startup: each program defines its own _start and imports only fd_write and
# proc_exit, the WASI functions wagc's runtime library (packages/abi/wasi.wat) provides.
set -euo pipefail
cd "$(dirname "$0")"
# Each program twice: NAME.wasm (-O2, as before) and NAME.simd.wasm (-O3 -msimd128: clang
# vectorises its loops into WebAssembly SIMD), but the empty one.
build() {
  local src="$1" out="$2"
  shift 2
  clang --target=wasm32-wasi "$@" -nostartfiles -Wl,--no-entry -Wl,--export=_start -Wl,--strip-debug \
    -o "$out" "$src"
  imports=$(wasm-objdump -x "$out" | sed -n "/^Import\[/,/^[A-Z]/p" | sed -n 's/.*<- \(.*\)$/\1/p' | sort -u | tr '\n' ' ')
  for imp in $imports; do
    case "$imp" in
      wasi_snapshot_preview1.fd_write | wasi_snapshot_preview1.proc_exit) ;;
      *) echo "build.sh: $out imports $imp, which wagc's runtime library does not provide" >&2; exit 1 ;;
    esac
  done
  echo "built $out ($(stat -c %s "$out") bytes)"
}
for src in *.c; do
  build "$src" "${src%.c}.wasm" -O2
  [ "$src" = empty.c ] || build "$src" "${src%.c}.simd.wasm" -O3 -msimd128
done
