#!/usr/bin/env bash
# Builds every benchmark program to a .wasm next to its source. The .wasm files are committed, so
# running the benchmark needs no clang; rerun this after changing a program.
# Needs (Debian): clang lld wasi-libc libclang-rt-14-dev-wasm32, and wasm-objdump (wabt).
#
# No wasi-libc startup: each program defines its own _start and imports only fd_write and
# proc_exit, the WASI functions wagc's runtime library (packages/abi/wasi.wat) provides.
set -euo pipefail
cd "$(dirname "$0")"
for src in *.c; do
  out="${src%.c}.wasm"
  clang --target=wasm32-wasi -O2 -nostartfiles -Wl,--no-entry -Wl,--export=_start -Wl,--strip-debug \
    -o "$out" "$src"
  imports=$(wasm-objdump -x "$out" | sed -n "/^Import\[/,/^[A-Z]/p" | sed -n 's/.*<- \(.*\)$/\1/p' | sort -u | tr '\n' ' ')
  for imp in $imports; do
    case "$imp" in
      wasi_snapshot_preview1.fd_write | wasi_snapshot_preview1.proc_exit) ;;
      *) echo "build.sh: $out imports $imp, which wagc's runtime library does not provide" >&2; exit 1 ;;
    esac
  done
  echo "built $out ($(stat -c %s "$out") bytes)"
done
