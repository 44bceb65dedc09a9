/**
 * Functions compiled in worker threads (linkProgramParallel) are moved into place, so every call
 * they make into the shared stubs must be recorded (out.stubRefs) and re-patched. The table
 * routine's stub once was not: a module whose functions use table instructions linked in
 * parallel called the wrong address. Both arches, the calling thread's ranges and several
 * workers' chunks, byte for byte; and a compile error is the one-thread compile's.
 */
import { linkProgram, linkProgramParallel, writeImage } from '@wagc/linker';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');

async function tableModule(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  let text = '(module (table 4 funcref) (memory 1)';
  for (let k = 0; k < 200; k++) text += ` (func (export "f${k}") (result i32) (i32.add (table.size 0) (memory.grow (i32.const ${k & 1}))))`;
  const mod = wabt.parseWat('t.wat', text + ')', { reference_types: true, bulk_memory: true });
  const bytes = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  return bytes;
}

describe.each(['x86-64', 'arm64'] as const)('%s', (arch) => {
  test.each([[2, 1], [3, 2]])('%d threads, the calling one compiling %d range(s): the one-thread image', async (jobs, callerLimit) => {
    const program = { modules: [{ name: 'main', bytes: await tableModule() }], arch, unresolved: 'trap' as const };
    const report = { chunks: 0, fellBack: true, callerLimit };
    const parallel = writeImage(await linkProgramParallel(program, jobs, report));
    expect(report.fellBack).toBe(false);
    expect(report.chunks).toBeGreaterThan(1);
    expect(Buffer.from(parallel).equals(Buffer.from(writeImage(linkProgram(program))))).toBe(true);
  });

  test('a compile error in a function a worker compiles: the one-thread error', async () => {
    const bytes = await tableModule();
    // the last body's last instruction before its end (i32.add) becomes i64.add: a type mismatch
    const at = bytes.lastIndexOf(0x6a);
    const bad = bytes.slice();
    bad[at] = 0x7c;
    const program = { modules: [{ name: 'main', bytes: bad }], arch, unresolved: 'trap' as const };
    let one = '';
    try {
      linkProgram(program);
    } catch (e) {
      one = (e as Error).message;
    }
    expect(one).toMatch(/^type mismatch \(in code section, in function 199, at offset \d+\)$/);
    await expect(linkProgramParallel(program, 3, { chunks: 0, fellBack: false, callerLimit: 1 })).rejects.toThrow(one);
  });
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
  // the calling thread compiles one range and leaves the rest to the worker: without the limit, on
  // an idle machine it can take every range before the worker has started (one chunk)
  const report = { chunks: 0, fellBack: true, callerLimit: 1 };
  const parallel = writeImage(await linkProgramParallel(program, 2, report));
  expect(report.fellBack).toBe(false);
  expect(report.chunks).toBeGreaterThan(1);
  expect(Buffer.from(parallel).equals(Buffer.from(writeImage(linkProgram(program))))).toBe(true);
});
