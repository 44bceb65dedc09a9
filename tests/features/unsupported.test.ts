/**
 * Issue 14: a module that uses a feature of a proposal wagc does not implement is refused with the
 * feature's name and where it is (features.ts), not with the decoder's reason for the byte it did
 * not expect. One hand-built module per feature; the offsets are found in the bytes built. The
 * last tests go through the real `wagc` bin: exit 1 and that one line.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { CompileError } from '@wagc/frontend';
import { linkProgram } from '@wagc/linker';

type Bytes = Uint8Array | number[];

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function cat(...parts: Bytes[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const section = (id: number, ...contents: Bytes[]): Uint8Array => {
  const body = cat(...contents);
  return cat([id], leb(body.length), body);
};
const wasm = (...sections: Uint8Array[]): Uint8Array => cat(HEADER, ...sections);
const name = (s: string): Uint8Array => {
  const b = new TextEncoder().encode(s);
  return cat(leb(b.length), b);
};
const funcType = (params: Bytes, results: Bytes): Uint8Array => cat([0x60], leb(params.length), params, leb(results.length), results);
const types = (...ts: Uint8Array[]): Uint8Array => section(1, leb(ts.length), ...ts);
const funcs = (...typeIndices: number[]): Uint8Array => section(3, leb(typeIndices.length), ...typeIndices.map(leb));
const body = (locals: Bytes[], instrs: Bytes): Uint8Array => {
  const b = cat(leb(locals.length), ...locals, instrs, [0x0b]);
  return cat(leb(b.length), b);
};
const code = (...bodies: Uint8Array[]): Uint8Array => section(10, leb(bodies.length), ...bodies);
const memory = (...limits: Bytes[]): Uint8Array => section(5, leb(limits.length), ...limits);
/** One function `() -> ()` with this body. */
const oneFunction = (instrs: Bytes, locals: Bytes[] = [], more: Uint8Array[] = []): Uint8Array =>
  wasm(types(funcType([], [])), funcs(0), ...more, code(body(locals, instrs)));

/** The offset of the first occurrence of `marker` in `bytes` after `from`, plus `plus`. */
function offsetOf(bytes: Uint8Array, marker: Bytes, plus = 0, from = 8): number {
  const m = Array.from(marker);
  for (let k = from; k + m.length <= bytes.length; k++) if (m.every((b, j) => bytes[k + j] === b)) return k + plus;
  throw new Error(`marker ${m} not found`);
}

function refusal(bytes: Uint8Array): CompileError {
  try {
    linkProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', unresolved: 'trap' });
  } catch (e) {
    if (e instanceof CompileError) return e;
    throw e;
  }
  throw new Error('the module compiled');
}

/** Three function imports, then a shared memory import (the example: import 3). */
function sharedImport(): Uint8Array {
  const imp = (field: string, desc: Bytes): Uint8Array => cat(name('env'), name(field), desc);
  return wasm(types(funcType([], [])), section(2, leb(4), imp('a', [0, 0]), imp('b', [0, 0]), imp('c', [0, 0]), imp('memory', [0x02, 0x03, 0x01, 0x02])));
}

const cases: [string, () => Uint8Array, (b: Uint8Array) => string][] = [
  ['shared memory, imported', sharedImport,
    (b) => `shared memory (threads proposal) is not supported (in import section, import 3, at offset ${offsetOf(b, [0x02, 0x03, 0x01, 0x02], 1)})`],
  ['shared memory, defined', () => wasm(memory([0x03, 0x01, 0x01])),
    (b) => `shared memory (threads proposal) is not supported (in memory section, memory 0, at offset ${offsetOf(b, [0x03, 0x01, 0x01])})`],
  ['atomics (0xfe prefix)', () => oneFunction([0x41, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x1a], [], [memory([0x00, 0x01])]),
    (b) => `atomic instruction 0xfe 0x10 (threads proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0xfe, 0x10])})`],
  ['atomic.fence', () => oneFunction([0xfe, 0x03, 0x00]),
    (b) => `atomic instruction 0xfe 0x03 (threads proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0xfe, 0x03])})`],
  ['memory64', () => wasm(memory([0x04, 0x01])),
    (b) => `64-bit memory (memory64 proposal) is not supported (in memory section, memory 0, at offset ${offsetOf(b, [0x04, 0x01], 0, b.length - 2)})`],
  ['memory64 with a maximum', () => wasm(memory([0x05, 0x01, 0x02])),
    (b) => `64-bit memory (memory64 proposal) is not supported (in memory section, memory 0, at offset ${offsetOf(b, [0x05, 0x01, 0x02])})`],
  ['a 64-bit table', () => wasm(section(4, [1, 0x70, 0x04, 0x01])),
    (b) => `64-bit table (memory64 proposal) is not supported (in table section, table 0, at offset ${offsetOf(b, [0x70, 0x04, 0x01], 1)})`],
  ['multiple memories, defined', () => wasm(memory([0x00, 0x01], [0x00, 0x02])),
    (b) => `a second memory (multi-memory proposal) is not supported (in memory section, memory 1, at offset ${offsetOf(b, [0x00, 0x02], 0, b.length - 2)})`],
  ['multiple memories, an import and a definition', () => wasm(section(2, leb(1), name('env'), name('m'), [0x02, 0x00, 0x01]), memory([0x00, 0x02])),
    (b) => `a second memory (multi-memory proposal) is not supported (in memory section, memory 1, at offset ${b.length - 2})`],
  ['a memory index in a memory access (multi-memory)', () => oneFunction([0x41, 0x00, 0x28, 0x42, 0x00, 0x00, 0x1a], [], [memory([0x00, 0x01])]),
    (b) => `a memory index in a memory access (multi-memory proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x28, 0x42])})`],
  ['exceptions: the tag section', () => wasm(types(funcType([], [])), section(13, [1, 0x00, 0x00])),
    (b) => `the tag section (exception-handling proposal) is not supported (at offset ${offsetOf(b, [13, 3, 1])})`],
  ['exceptions: a tag import', () => wasm(types(funcType([], [])), section(2, leb(1), name('env'), name('e'), [0x04, 0x00, 0x00])),
    (b) => `a tag import (exception-handling proposal) is not supported (in import section, import 0, at offset ${offsetOf(b, [0x04, 0x00, 0x00], 0, b.length - 3)})`],
  ['exceptions: try', () => oneFunction([0x06, 0x40, 0x0b]),
    (b) => `instruction try (exception-handling proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x06, 0x40])})`],
  ['exceptions: throw', () => oneFunction([0x08, 0x00]),
    (b) => `instruction throw (exception-handling proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x08, 0x00, 0x0b])})`],
  ['exceptions: try_table', () => oneFunction([0x1f, 0x40, 0x00, 0x0b]),
    (b) => `instruction try_table (exception-handling proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x1f, 0x40])})`],
  ['exceptions: an exnref local', () => oneFunction([], [[0x01, 0x69]]),
    (b) => `type exnref (exception-handling proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x01, 0x69], 1)})`],
  ['tail calls: return_call', () => oneFunction([0x12, 0x00]),
    (b) => `instruction return_call (tail-call proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x12, 0x00, 0x0b])})`],
  ['tail calls: return_call_indirect', () => oneFunction([0x41, 0x00, 0x13, 0x00, 0x00], [], [section(4, [1, 0x70, 0x00, 0x01])]),
    (b) => `instruction return_call_indirect (tail-call proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x13, 0x00, 0x00])})`],
  ['GC: a struct type', () => wasm(types(funcType([], []), Uint8Array.from([0x5f, 0x01, 0x7f, 0x01]))),
    (b) => `struct type (gc proposal) is not supported (in type section, type 1, at offset ${offsetOf(b, [0x5f, 0x01])})`],
  ['GC: an array type', () => wasm(types(Uint8Array.from([0x5e, 0x7f, 0x01]))),
    (b) => `array type (gc proposal) is not supported (in type section, type 0, at offset ${offsetOf(b, [0x5e, 0x7f])})`],
  ['GC: a recursive type group', () => wasm(types(Uint8Array.from([0x4e, 0x01, 0x60, 0x00, 0x00]))),
    (b) => `recursive type group (rec) (gc proposal) is not supported (in type section, type 0, at offset ${offsetOf(b, [0x4e, 0x01])})`],
  ['GC: an anyref parameter', () => wasm(types(funcType([0x6e], []))),
    (b) => `type anyref (gc proposal) is not supported (in type section, type 0, at offset ${offsetOf(b, [0x60, 0x01, 0x6e], 2)})`],
  ['GC: a typed reference local', () => oneFunction([], [[0x01, 0x63, 0x00]]),
    (b) => `typed reference (ref null ...) (gc proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x01, 0x63, 0x00], 1)})`],
  ['GC: a table of eqref', () => wasm(section(4, [1, 0x6d, 0x00, 0x01])),
    (b) => `type eqref (gc proposal) is not supported (in table section, table 0, at offset ${offsetOf(b, [0x6d, 0x00, 0x01])})`],
  ['GC: a 0xfb instruction', () => oneFunction([0x41, 0x00, 0xfb, 0x1c, 0x1a]),
    (b) => `GC instruction 0xfb 0x1c (gc proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0xfb, 0x1c])})`],
  ['function references: call_ref', () => oneFunction([0x14, 0x00]),
    (b) => `instruction call_ref (function-references proposal) is not supported (in code section, in function 0, at offset ${offsetOf(b, [0x14, 0x00, 0x0b])})`],
];

describe('unsupported features are named, with where', () => {
  test.each(cases)('%s', (_what, build, message) => {
    const bytes = build();
    const e = refusal(bytes);
    expect(e.message).toBe(message(bytes));
    expect(e.feature).not.toBeNull();
  });
});

// SIMD landed (issue 15): the modules the refusal tests used to build now compile
describe('SIMD is not refused', () => {
  test('a 0xfd instruction and a v128 local compile', () => {
    for (const bytes of [oneFunction([0xfd, 0x0c, ...new Array(16).fill(0), 0x1a]), oneFunction([], [[0x01, 0x7b]])]) {
      expect(() => linkProgram({ modules: [{ name: 'main', bytes }], arch: 'x86-64', unresolved: 'trap' })).not.toThrow();
    }
  });
});

describe('through the wagc bin', () => {
  const wagc = join(__dirname, '../../packages/cli/bin/wagc.js');
  const dir = mkdtempSync(join(tmpdir(), 'wagc-features-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('one line naming the feature, exit 1, no image written', () => {
    const bytes = sharedImport();
    const input = join(dir, 'shared.wasm');
    writeFileSync(input, bytes);
    const r = spawnSync(process.execPath, [wagc, input, '-o', join(dir, 'shared.img')], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`wagc: error: ${input}: CompileError: shared memory (threads proposal) is not supported (in import section, import 3, at offset ${offsetOf(bytes, [0x02, 0x03, 0x01, 0x02], 1)})\n`);
    expect(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.trim()).toBe('shared.wasm');
  });
});
