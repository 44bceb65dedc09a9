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
set -e

# --- portable snapshots: freeze on x86-64, inspect, thaw on ARM64 --------------------------------
gate_inspect() { node packages/cli/bin/gate-inspect.js "$@"; }
say "a long-running program on x86-64: the longest Collatz chains below 10,000,000"
wat2wasm --debug-names examples/collatz.wat -o "$out/collatz.wasm"
wagc "$out/collatz.wasm" -o "$out/collatz.img" --arch x86-64
gate_run "$out/collatz.img" > "$out/collatz.expected"
echo "(uninterrupted, for comparison: $(wc -l < "$out/collatz.expected") lines, last: $(tail -1 "$out/collatz.expected"))"
say "gate-run $out/collatz.img --snapshot $out/collatz.snapshot.wasm   # then SIGQUIT (Ctrl-\\)"
rm -f "$out/collatz.snapshot.wasm" "$out/collatz.part1"
set +e
node packages/cli/bin/gate-run.js "$out/collatz.img" --snapshot "$out/collatz.snapshot.wasm" > "$out/collatz.part1" &
pid=$!
# (as Ctrl-\ would, once the program has printed its first line)
while [ ! -s "$out/collatz.part1" ]; do sleep 0.02; done
kill -QUIT "$pid"
wait "$pid"
status=$?
set -e
cat "$out/collatz.part1"
echo "exit status $status (3: suspended)"
if [ "$status" != 3 ]; then echo "the program was not suspended (it ended first?)" >&2; exit 1; fi
say "gate-inspect $out/collatz.snapshot.wasm"
gate_inspect "$out/collatz.snapshot.wasm"
say "wasm-objdump -h $out/collatz.snapshot.wasm   # an ordinary WebAssembly module"
wasm-objdump -h "$out/collatz.snapshot.wasm" | tail -n +5
wasm-validate "$out/collatz.snapshot.wasm" && echo "wasm-validate: valid"
say "wagc $out/collatz.snapshot.wasm -o $out/collatz.arm64.img --arch arm64 && gate-run $out/collatz.arm64.img   # under qemu-aarch64"
wagc "$out/collatz.snapshot.wasm" -o "$out/collatz.arm64.img" --arch arm64
gate_run "$out/collatz.arm64.img" | tee "$out/collatz.part2"
if cat "$out/collatz.part1" "$out/collatz.part2" | cmp -s - "$out/collatz.expected"; then
  echo "x86-64 output + arm64 output = the uninterrupted run's output"
else
  echo "MISMATCH: the resumed run's output differs from the uninterrupted run's" >&2
  exit 1
fi
