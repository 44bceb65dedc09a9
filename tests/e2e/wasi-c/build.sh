#!/usr/bin/env bash
# Builds every C program here to OUT_DIR/NAME.wasm with wasi-libc, as tests/e2e/wasi-programs.test.ts
# runs them (against node:wasi, on both arches). The .wasm files are build products, not committed.
# Needs (Debian): clang lld wasi-libc libclang-rt-14-dev-wasm32 (scripts/setup.sh installs them).
#   bash tests/e2e/wasi-c/build.sh OUT_DIR
set -euo pipefail
out="${1:?usage: build.sh OUT_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
for src in "$here"/*.c; do
  name="$(basename "${src%.c}")"
  clang --target=wasm32-wasi -O2 -Wall -Wextra -Werror -o "$out/$name.wasm" "$src"
done
