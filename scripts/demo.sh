#!/usr/bin/env bash
# The demo: compile WebAssembly programs to x86-64 images with wagc and run them with gate-run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/demo
mkdir -p "$out"
wagc() { node packages/cli/bin/wagc.js "$@"; }
gate_run() { node packages/cli/bin/gate-run.js "$@"; }
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

for p in hello primes; do
  wat2wasm "examples/$p.wat" -o "$out/$p.wasm"
done
say "wagc $out/hello.wasm -o $out/hello.img"
wagc "$out/hello.wasm" -o "$out/hello.img"
say "gate-run $out/hello.img"
gate_run "$out/hello.img"
say "wagc $out/primes.wasm -o $out/primes.img && gate-run $out/primes.img"
wagc "$out/primes.wasm" -o "$out/primes.img"
set +e
gate_run "$out/primes.img"
status=$?
set -e
echo "exit status $status (the prime count mod 256)"
say "a trap: integer divide by zero, with its stack trace"
cat > "$out/trap.wat" <<'WAT'
(module
  (func $divide (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $compute (result i32) (call $divide (i32.const 7) (i32.const 0)))
  (func (export "_start") (drop (call $compute))))
WAT
wat2wasm --debug-names "$out/trap.wat" -o "$out/trap.wasm"
wagc "$out/trap.wasm" -o "$out/trap.img"
set +e
gate_run "$out/trap.img"
echo "exit status $?"
