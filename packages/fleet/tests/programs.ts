/**
 * Programs for the fleet tests, in WebAssembly text, and the output each must print: the tests
 * compare a job's logs with these byte for byte.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

let wabt: { parseWat(name: string, text: string, features?: object): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } } | null = null;

export async function wat(text: string): Promise<Uint8Array> {
  if (!wabt) wabt = await wabtInit();
  const mod = wabt!.parseWat('test.wat', text);
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

const WASI = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))`;

/** Helpers: $u64 writes a number in decimal at p (returns the end), $out writes [p, end) to fd. */
const HELPERS = `
  (func $u64 (param $n i64) (param $p i32) (result i32) (local $q i32)
    (local.set $q (i32.const 180))
    (loop $d
      (local.set $q (i32.sub (local.get $q) (i32.const 1)))
      (i32.store8 (local.get $q) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $d (i64.ne (local.get $n) (i64.const 0))))
    (loop $c
      (i32.store8 (local.get $p) (i32.load8_u (local.get $q)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (local.set $q (i32.add (local.get $q) (i32.const 1)))
      (br_if $c (i32.lt_u (local.get $q) (i32.const 180))))
    (local.get $p))
  (func $out (param $fd i32) (param $p i32) (param $end i32)
    (i32.store (i32.const 100) (local.get $p))
    (i32.store (i32.const 104) (i32.sub (local.get $end) (local.get $p)))
    (drop (call $fd_write (local.get $fd) (i32.const 100) (i32.const 1) (i32.const 108))))`;

/**
 * `ticks` lines `tick K X` (X a running 64-bit hash kept in a global, memory and a local), each
 * after `work` iterations of a busy loop; every fifth tick also `note K` on stderr. `ballast`
 * bytes of non-zero data make its snapshots that large at least.
 */
export function tickerWat(ticks: number, work: number, ballast = 0): string {
  const data = ballast ? `(data (i32.const 4096) "${'\\2a'.repeat(ballast)}")` : '';
  return `(module ${WASI}
  (memory (export "memory") 2)
  (global $x (mut i64) (i64.const 1))
  ${data}
  ${HELPERS}
  (func (export "_start") (local $k i32) (local $j i32) (local $p i32) (local $spin i64)
    (loop $tick
      (local.set $j (i32.const 0))
      (loop $busy
        (local.set $spin (i64.add (i64.mul (local.get $spin) (i64.const 31)) (i64.extend_i32_u (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $busy (i32.lt_u (local.get $j) (i32.const ${work}))))
      (global.set $x (i64.add (i64.mul (global.get $x) (i64.const 6364136223846793005)) (i64.extend_i32_u (local.get $k))))
      (i64.store (i32.const 2048) (global.get $x))
      (i32.store (i32.const 200) (i32.const 0x6b636974))
      (i32.store8 (i32.const 204) (i32.const 32))
      (local.set $p (call $u64 (i64.extend_i32_u (local.get $k)) (i32.const 205)))
      (i32.store8 (local.get $p) (i32.const 32))
      (local.set $p (call $u64 (i64.load (i32.const 2048)) (i32.add (local.get $p) (i32.const 1))))
      (i32.store8 (local.get $p) (i32.const 10))
      (call $out (i32.const 1) (i32.const 200) (i32.add (local.get $p) (i32.const 1)))
      (if (i32.eqz (i32.rem_u (local.get $k) (i32.const 5)))
        (then
          (i32.store (i32.const 300) (i32.const 0x65746f6e))
          (i32.store8 (i32.const 304) (i32.const 32))
          (local.set $p (call $u64 (i64.extend_i32_u (local.get $k)) (i32.const 305)))
          (i32.store8 (local.get $p) (i32.const 10))
          (call $out (i32.const 2) (i32.const 300) (i32.add (local.get $p) (i32.const 1)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $tick (i32.lt_u (local.get $k) (i32.const ${ticks}))))
    (drop (local.get $spin))))`;
}

/** What tickerWat(ticks, …) prints on stdout and stderr. */
export function tickerOutput(ticks: number): { stdout: string; stderr: string } {
  let x = 1n;
  let stdout = '';
  let stderr = '';
  for (let k = 0; k < ticks; k++) {
    x = (x * 6364136223846793005n + BigInt(k)) & 0xffffffffffffffffn;
    stdout += `tick ${k} ${x}\n`;
    if (k % 5 === 0) stderr += `note ${k}\n`;
  }
  return { stdout, stderr };
}

/** `hello ARG` for its first argument (or `hello` alone), then exit status 0. */
export const HELLO_ARG = `(module ${WASI}
  (memory (export "memory") 1)
  ${HELPERS}
  (func (export "_start") (local $argc i32) (local $s i32) (local $p i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $argc (i32.load (i32.const 0)))
    (drop (call $args_get (i32.const 512) (i32.const 1024)))
    (i32.store (i32.const 200) (i32.const 0x6c6c6568))
    (i32.store8 (i32.const 204) (i32.const 111))
    (local.set $p (i32.const 205))
    (if (i32.ge_u (local.get $argc) (i32.const 2))
      (then
        (i32.store8 (local.get $p) (i32.const 32))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $s (i32.load (i32.const 516)))
        (block $end (loop $c
          (br_if $end (i32.eqz (i32.load8_u (local.get $s))))
          (i32.store8 (local.get $p) (i32.load8_u (local.get $s)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $s (i32.add (local.get $s) (i32.const 1)))
          (br $c)))))
    (i32.store8 (local.get $p) (i32.const 10))
    (call $out (i32.const 1) (i32.const 200) (i32.add (local.get $p) (i32.const 1)))))`;

/** Prints `bye` and exits with status 7. */
export const EXIT7 = `(module ${WASI}
  (memory (export "memory") 1)
  ${HELPERS}
  (func (export "_start")
    (i32.store (i32.const 200) (i32.const 0x0a657962))
    (call $out (i32.const 1) (i32.const 200) (i32.const 204))
    (call $proc_exit (i32.const 7))))`;

/** Prints `going` and reaches `unreachable`. */
export const TRAP = `(module ${WASI}
  (memory (export "memory") 1)
  ${HELPERS}
  (func $deep (param i32) (if (local.get 0) (then (call $deep (i32.sub (local.get 0) (i32.const 1)))) (else unreachable)))
  (func (export "_start")
    (i32.store (i32.const 200) (i32.const 0x6e696f67))
    (i32.store (i32.const 204) (i32.const 0x00000a67))
    (call $out (i32.const 1) (i32.const 200) (i32.const 206))
    (call $deep (i32.const 3))))`;
