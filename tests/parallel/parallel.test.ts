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
