#!/usr/bin/env bash
# Builds every C program here to OUT_DIR/NAME.wasm with wasi-libc and WebAssembly SIMD
# (-O3 -msimd128: clang vectorises the loops; intrinsics.c uses wasm_simd128.h), as
# tests/e2e/simd-programs.test.ts runs them against node:wasi on both arches. Build products,
# not committed. Needs (Debian): clang lld wasi-libc libclang-rt-14-dev-wasm32 (scripts/setup.sh).
#   bash tests/e2e/simd-c/build.sh OUT_DIR
set -euo pipefail
out="${1:?usage: build.sh OUT_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
for src in "$here"/*.c; do
  name="$(basename "${src%.c}")"
  clang --target=wasm32-wasi -O3 -msimd128 -Wall -Wextra -Werror -o "$out/$name.wasm" "$src" -lm
done
