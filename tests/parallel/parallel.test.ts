/**
 * Functions compiled in worker threads (linkProgramParallel) are moved into place, so every call
 * they make into the shared stubs must be recorded (out.stubRefs) and re-patched. The table
 * routine's stub once was not: a module whose functions use table instructions linked in
 * parallel called the wrong address. Both arches, several chunks, byte for byte.
 */
import { linkProgram, linkProgramParallel, writeImage } from '@wagc/linker';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

test.each(['x86-64', 'arm64'] as const)('%s: table instructions compiled in worker threads give the one-thread image', async (arch) => {
  const wabt = await wabtInit();
  let text = '(module (table 4 funcref) (memory 1)';
  for (let k = 0; k < 200; k++) text += ` (func (export "f${k}") (result i32) (i32.add (table.size 0) (memory.grow (i32.const ${k & 1}))))`;
  const mod = wabt.parseWat('t.wat', text + ')', { reference_types: true, bulk_memory: true });
  const bytes = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  const program = { modules: [{ name: 'main', bytes }], arch, unresolved: 'trap' as const };
  const report = { chunks: 0, fellBack: true };
  const parallel = writeImage(await linkProgramParallel(program, 2, report));
  expect(report.fellBack).toBe(false);
  expect(report.chunks).toBeGreaterThan(1);
  expect(Buffer.from(parallel).equals(Buffer.from(writeImage(linkProgram(program))))).toBe(true);
});

test.each(['x86-64', 'arm64'] as const)('%s: SIMD functions, each with its constant pool, compiled in worker threads give the one-thread image', async (arch) => {
  // every function reads its own 16-byte constants PC-relatively: the pools move with the code
  const wabt = await wabtInit();
  let text = '(module (memory 1)';
  for (let k = 0; k < 200; k++) {
    text += ` (func (export "f${k}") (param v128) (result i32) (i8x16.bitmask (i8x16.swizzle
      (i32x4.add (local.get 0) (v128.const i32x4 ${k} ${k * 3} ${-k} 7)) (v128.const i8x16 ${Array.from({ length: 16 }, (_, j) => (j * 5 + k) % 32).join(' ')}))))`;
  }
  const mod = wabt.parseWat('t.wat', text + ')', { simd: true });
  const bytes = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  const program = { modules: [{ name: 'main', bytes }], arch, unresolved: 'trap' as const };
  const report = { chunks: 0, fellBack: true };
  const parallel = writeImage(await linkProgramParallel(program, 2, report));
  expect(report.fellBack).toBe(false);
  expect(report.chunks).toBeGreaterThan(1);
  expect(Buffer.from(parallel).equals(Buffer.from(writeImage(linkProgram(program))))).toBe(true);
});
