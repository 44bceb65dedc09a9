/**
 * Hand-written WASI programs for the snapshot fuzzer (snapshots.ts), beside the generated
 * modules: they suspend inside the runtime library (frames of module 1), hold funcrefs in
 * locals, globals and tables, call indirectly through functions of several types (the issue 11
 * attack's shape: one returning an i64 where a funcref is used), recurse, and return several
 * values. Each ends by calling proc_exit with a value that depends on everything it computed.
 */
export const CORPUS: { name: string; wat: string }[] = [
  {
    name: 'clock-loop',
    wat: `(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "tick\\n")
  (func $step (param $i i32) (result i32)
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))
    (i32.add (local.get $i) (i32.load8_u (i32.const 16))))
  (func (export "_start") (local $i i32) (local $acc i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 5))
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $step (local.get $i))))
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 16)))
        (then (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
    (call $exit (i32.and (local.get $acc) (i32.const 0x7f)))))`,
  },
  {
    name: 'funcrefs',
    wat: `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (memory (export "memory") 1)
  (type $ri (func (result i32)))
  (type $rl (func (result i64)))
  (type $ii (func (param i32) (result i32)))
  (table $t 8 funcref)
  (table $u 4 funcref)
  (global $g (mut funcref) (ref.func $seven))
  (elem (table $t) (i32.const 1) func $seven $wide $inc $nine)
  (elem declare func $getref $exit $yield)
  (func $seven (result i32) (local $i i32) (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3)))) (i32.const 7))
  (func $nine (result i32) (i32.const 9))
  (func $wide (result i64) (local $i i32) (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 3)))) (i64.const 0x7fff000000000014))
  (func $inc (param $x i32) (result i32) (i32.add (local.get $x) (i32.const 1)))
  (func $getref (param $k i32) (result funcref) (local $i i32)
    (loop $l (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 2))))
    (if (result funcref) (i32.and (local.get $k) (i32.const 1)) (then (ref.func $seven)) (else (global.get $g))))
  (func $a (param $k i32) (result i32) (local $f funcref) (local $acc i32)
    (local.set $f (call $getref (local.get $k)))
    (table.set $t (i32.const 0) (local.get $f))
    (table.set $u (i32.and (local.get $k) (i32.const 3)) (local.get $f))
    (drop (call $yield))
    (local.set $acc (call_indirect $t (type $ri) (i32.const 0)))
    (local.set $acc (i32.add (local.get $acc) (call_indirect $u (type $ri) (i32.and (local.get $k) (i32.const 3)))))
    (local.set $acc (i32.add (local.get $acc) (call_indirect $t (type $ii) (local.get $k) (i32.const 3))))
    (global.set $g (table.get $t (i32.const 4)))
    (i32.add (local.get $acc) (i32.wrap_i64 (call_indirect $t (type $rl) (i32.const 2)))))
  (func (export "_start") (local $k i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (call $a (local.get $k))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (i32.const 12))))
    (call $exit (i32.and (local.get $acc) (i32.const 0x7f)))))`,
  },
  {
    name: 'recursion',
    wat: `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $fib (param $n i32) (param $x f64) (result i32 f64)
    (if (result i32 f64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n) (local.get $x))
      (else
        (call $fib (i32.sub (local.get $n) (i32.const 1)) (f64.add (local.get $x) (f64.const 0.5)))
        (call $fib (i32.sub (local.get $n) (i32.const 2)) (f64.mul (local.get $x) (f64.const 1.5)))
        (f64.add)
        (local.set $x)
        (i32.add)
        (local.get $x))))
  (func $mem (param $p i32) (result i64) (local $i i32) (local $s i64)
    (loop $l
      (i64.store (i32.shl (local.get $i) (i32.const 3)) (i64.extend_i32_u (local.get $i)))
      (local.set $s (i64.add (local.get $s) (i64.load (i32.shl (local.get $i) (i32.const 3)))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $p))))
    (local.get $s))
  (func (export "_start") (local $r i32)
    (local.set $r (i32.add (drop (call $fib (i32.const 12) (f64.const 1))) (i32.wrap_i64 (call $mem (i32.const 100)))))
    (call $exit (i32.and (local.get $r) (i32.const 0x7f)))))`,
  },
];
