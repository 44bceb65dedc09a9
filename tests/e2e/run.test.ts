import { runWasi, wat } from './helpers';

const fdWrite = '(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))';
const procExit = '(import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))';

describe('gate-run end to end (x86-64)', () => {
  test('hello, world', async () => {
    const r = runWasi(await wat(`(module ${fdWrite}
      (memory (export "memory") 1)
      (data (i32.const 16) "hello, world\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 16))
        (i32.store (i32.const 4) (i32.const 13))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello, world\n');
    expect(r.status).toBe(0);
  });

  test('exit status from proc_exit', async () => {
    const r = runWasi(await wat(`(module ${procExit} (memory (export "memory") 1)
      (func (export "_start") (call $proc_exit (i32.const 42)) (unreachable)))`));
    expect(r.status).toBe(42);
  });

  test('a computed exit status (recursion, loops, memory)', async () => {
    const r = runWasi(await wat(`(module ${procExit} (memory (export "memory") 1)
      (func $fib (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func (export "_start") (local $i i32) (local $sum i32)
        (loop $l
          (i32.store (i32.mul (local.get $i) (i32.const 4)) (local.get $i))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
        (local.set $i (i32.const 0))
        (loop $s
          (local.set $sum (i32.add (local.get $sum) (i32.load (i32.mul (local.get $i) (i32.const 4)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $s (i32.lt_u (local.get $i) (i32.const 100))))
        ;; fib(20) = 6765, sum = 4950: (6765 + 4950) mod 256 = 195
        (call $proc_exit (i32.and (i32.add (call $fib (i32.const 20)) (local.get $sum)) (i32.const 255)))))`));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(195);
  });

  const traps: [string, string, string][] = [
    ['unreachable', '(unreachable)', ''],
    ['integer divide by zero', '(drop (i32.div_u (i32.const 1) (global.get $zero)))', ''],
    ['integer overflow', '(drop (i32.div_s (i32.const 0x80000000) (global.get $minus1)))', ''],
    ['invalid conversion to integer', '(drop (i32.trunc_f32_s (f32.div (f32.const 0) (f32.const 0))))', ''],
    ['integer overflow', '(drop (i32.trunc_f64_u (f64.const 4294967296)))', ''],
    ['out of bounds memory access', '(drop (i32.load (i32.const 65535)))', ''],
    ['undefined element', '(call_indirect (type $v) (i32.const 5))', ''],
    ['uninitialized element', '(call_indirect (type $v) (i32.const 1))', ''],
    ['indirect call type mismatch', '(drop (call_indirect (type $i) (i32.const 0)))', ''],
    ['call stack exhausted', '(call $recurse)', ''],
  ];
  test.each(traps)('trap: %s', async (message, body) => {
    const r = runWasi(await wat(`(module
      (type $v (func)) (type $i (func (result i32)))
      (memory (export "memory") 1)
      (global $zero (mut i32) (i32.const 0))
      (global $minus1 (mut i32) (i32.const -1))
      (table 2 funcref) (elem (i32.const 0) $nop)
      (func $nop)
      (func $recurse (call $recurse))
      (func $inner ${body})
      (func (export "_start") (call $inner)))`));
    expect(r.status).toBe(134);
    expect(r.stderr).toContain(`trap: ${message}`);
    expect(r.stderr).toContain('inner');
  });
});
