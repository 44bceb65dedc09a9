#!/usr/bin/env bash
# Builds bench:startup's wasm programs (committed, so the benchmark needs no clang; the native
# builds are made by the benchmark itself with gcc -static). Debian: clang lld wasi-libc
# libclang-rt-14-dev-wasm32.
set -euo pipefail
cd "$(dirname "$0")"
for src in hello.c idle.c; do
  clang --target=wasm32-wasi -O2 -Wall -Wextra -Werror -Wl,--strip-debug -o "${src%.c}.wasm" "$src"
  echo "built ${src%.c}.wasm ($(stat -c %s "${src%.c}.wasm") bytes)"
done
