/**
 * The largest memory and table the compiler accepts also load and run (docs/ARCHITECTURE.md,
 * "Compiler limits"): 65,536 pages (the whole 4 GiB, inside the 8 GiB guard reservation) and a
 * table of 10,000,000 entries (80 MB of image and of instance).
 */
import { LIMITS } from '@wagc/frontend';
import { runWasi, wat } from './helpers';

const procExit = '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))';

describe('the largest memory and table run', () => {
  test('memory of 65,536 pages: the last byte is there, memory.size says so', async () => {
    const r = runWasi(await wat(`(module ${procExit}
      (memory (export "memory") ${LIMITS.memoryPages})
      (data (i32.const 0xfffffff0) "\\2a")
      (func (export "_start")
        (i32.store8 (i32.const 0xffffffff) (i32.const 7))
        (call $exit (i32.add (i32.load8_u (i32.const 0xfffffff0))
          (i32.add (i32.load8_u (i32.const 0xffffffff)) (i32.shr_u (memory.size) (i32.const 16))))))
      (func (export "unused") (drop (memory.grow (i32.const 1)))))`));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(42 + 7 + 1);
  });

  test('memory.grow past 65,536 pages fails with -1 instead of mapping more', async () => {
    const r = runWasi(await wat(`(module ${procExit}
      (memory (export "memory") ${LIMITS.memoryPages - 1})
      (func (export "_start")
        (call $exit (i32.add (i32.mul (i32.const 10) (i32.add (memory.grow (i32.const 2)) (i32.const 1)))
          (memory.grow (i32.const 1))))))`));
    // grow by 2 fails (-1 + 1 = 0), grow by 1 succeeds and returns the old size 65535
    expect(r.stderr).toBe('');
    expect(r.status).toBe(65535 & 255);
  });

  test(`table of ${LIMITS.tableSize} entries: call_indirect through the last one`, async () => {
    const r = runWasi(await wat(`(module ${procExit}
      (memory (export "memory") 1)
      (type $v (func (result i32)))
      (table ${LIMITS.tableSize} funcref)
      (elem (i32.const ${LIMITS.tableSize - 1}) $f)
      (func $f (result i32) (i32.const 42))
      (func (export "_start") (call $exit (call_indirect (type $v) (i32.const ${LIMITS.tableSize - 1})))))`));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(42);
  });
});
