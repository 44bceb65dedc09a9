import { readSnapshot, restoreModule, SnapshotError, writeSnapshot, type SnapshotInput } from '@wagc/snapshot-format';
import { ByteWriter } from '../src/binary';
import { emitModule, scanSections, type OutSection } from '../src/sections';
import { PROGRAM, wat } from './helpers';

const I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, F32 = 0x7d;
const PAGE = 65536;

let program: Uint8Array;
let suspended: Uint8Array;
let halted: Uint8Array;

function input(over: Partial<SnapshotInput> = {}): SnapshotInput {
  const data = new Uint8Array(2 * PAGE);
  data.set([1, 2, 3, 0, 0, 0, 0, 0, 0, 9], 100);
  data[PAGE + 5] = 0x80;
  return {
    module: program, state: 'suspended', arch: 'arm64', memory: { pages: 2, data },
    globals: [1n, 2n, 3n, 4n, 42n],
    frames: [
      { func: 2, site: 1, slots: [{ type: I32, bits: 3n }, { type: I64, bits: 4n }, { type: F64, bits: 5n }, { type: F32, bits: 6n }] },
      { func: 3, site: 3, slots: [{ type: I32, bits: 7n }] },
    ],
    buffer: [{ fd: 0, direction: 'in', bytes: Uint8Array.of(65, 66) }],
    ...over,
  };
}

beforeAll(async () => {
  program = await wat(PROGRAM);
  suspended = writeSnapshot(input());
  halted = writeSnapshot(input({ state: 'halted', frames: [] }));
});

/** The snapshot with its sections changed: `edit` gets and returns the section list. */
function edit(bytes: Uint8Array, fn: (list: OutSection[]) => OutSection[]): Uint8Array {
  const list: OutSection[] = scanSections(bytes).map((s) => ({ id: s.id, name: s.name, payload: bytes.subarray(s.start, s.end) }));
  return emitModule(fn(list), Infinity);
}

function replaceCustom(bytes: Uint8Array, name: string, payload: Uint8Array | null): Uint8Array {
  return edit(bytes, (list) => list.flatMap((s) => (s.name === name ? (payload ? [{ ...s, payload }] : []) : [s])));
}

const snapHeader = (f: (w: ByteWriter) => void): Uint8Array => {
  const w = new ByteWriter();
  f(w);
  return w.done();
};

function rejects(bytes: Uint8Array, re: RegExp): void {
  let err: unknown;
  try {
    readSnapshot(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SnapshotError);
  expect((err as Error).message).toMatch(re);
}

describe('corruptions are SnapshotErrors with a clear message', () => {
  test('the originals read', () => {
    expect(readSnapshot(suspended).state).toBe('suspended');
    expect(readSnapshot(halted).state).toBe('halted');
  });

  test('truncated', () => {
    rejects(suspended.subarray(0, 5), /truncated: 5 bytes/);
    rejects(suspended.subarray(0, suspended.length - 1), /truncated/);
    rejects(suspended.subarray(0, 200), /truncated/);
  });

  test('bad magic, wrong wasm version', () => {
    const b = suspended.slice();
    b[1] = 0x62;
    rejects(b, /bad magic/);
    const v = suspended.slice();
    v[4] = 2;
    rejects(v, /unsupported wasm binary version/);
  });

  test('not a snapshot', () => {
    rejects(program, /not a snapshot \(no gate.snapshot section\)/);
  });

  test('wrong version', () => {
    rejects(replaceCustom(suspended, 'gate.snapshot', snapHeader((w) => w.u32(3).u8(1).u8(1).u32(0).u32(0).u32(0).u32(0))), /unsupported snapshot version 3 \(this reader knows 1 to 2\)/);
    rejects(replaceCustom(suspended, 'gate.snapshot', snapHeader((w) => w.u32(0).u8(1).u8(1).u32(0).u32(0).u32(0).u32(0))), /unsupported snapshot version 0 \(this reader knows 1 to 2\)/);
    // the version is checked before anything else, so a newer layout is never misread
    rejects(replaceCustom(suspended, 'gate.snapshot', snapHeader((w) => w.u32(7).u8(99))), /unsupported snapshot version 7/);
  });

  test.each([
    ['unknown state', (w: ByteWriter) => w.u32(1).u8(4).u8(1).u32(0).u32(0).u32(0).u32(0), /unknown state 4/],
    ['unknown arch', (w: ByteWriter) => w.u32(1).u8(1).u8(3).u32(0).u32(0).u32(0).u32(0), /unknown arch tag 3/],
    ['trap id when suspended', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(5).u32(0).u32(0).u32(0), /trap id 5 in a suspended snapshot/],
    ['exit status when suspended', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(0).u32(3).u32(0).u32(0), /exit status 3 in a suspended/],
    ['trap id out of range', (w: ByteWriter) => w.u32(1).u8(2).u8(1).u32(11).u32(0).u32(0).u32(0), /trap id 11 is not 1 … 10/],
    ['flags', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(0).u32(0).u32(4).u32(0), /unknown flags 0x4/],
    ['trailing bytes', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(0).u32(0).u32(0).u32(0).u8(0), /1 trailing bytes/],
    ['truncated header', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(0), /gate.snapshot: truncated/],
    ['imported globals the module does not have', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(0).u32(0).u32(0).u32(1).u8(I32).fixed(0n, 8), /1 imported global values, the module imports 0/],
    ['a value count that cannot fit', (w: ByteWriter) => w.u32(1).u8(1).u8(1).u32(0).u32(0).u32(0).u32(1000000), /truncated: 1000000 imported global values cannot fit/],
  ])('gate.snapshot: %s', (name, f, re) => {
    rejects(replaceCustom(suspended, 'gate.snapshot', snapHeader(f)), re);
  });

  const frame = (w: ByteWriter, func: number, site: number, slots: [number, bigint][]): ByteWriter => {
    w.u8(0).u32(func).u32(site).u32(slots.length);
    for (const [t, b] of slots) w.u8(t).fixed(b, 8);
    return w;
  };
  const good: [number, bigint][] = [[I32, 3n], [I64, 4n], [F64, 5n]];
  test.each([
    ['no frames', (w: ByteWriter) => w.u32(0).u32(0), /gate.stack: no frames/],
    ['a frame count larger than the frames', (w: ByteWriter) => frame(w.u32(0).u32(3), 2, 1, good), /gate.stack: truncated/],
    ['a frame count that cannot fit', (w: ByteWriter) => frame(w.u32(0).u32(100000), 2, 1, good), /100000 frames cannot fit/],
    ['a slot count larger than the slots', (w: ByteWriter) => w.u32(0).u32(1).u8(0).u32(2).u32(1).u32(4).u8(I32).fixed(0n, 8), /truncated/],
    ['a slot count smaller than the slots', (w: ByteWriter) => w.u32(0).u32(1).u8(0).u32(2).u32(1).u32(1).u8(I32).fixed(0n, 8).u8(I64).fixed(0n, 8), /trailing bytes/],
    ['a slot type that is no value type', (w: ByteWriter) => frame(w.u32(0).u32(1), 2, 1, [[I32, 0n], [0x40, 0n], [F64, 0n]]), /frame 0 slot 1: type 0x40 is not i32/],
    ['a slot type that is not the local\'s', (w: ByteWriter) => frame(w.u32(0).u32(1), 2, 1, [[I32, 0n], [F64, 0n], [F64, 0n]]), /slot 1 is f64, but the function's local 1 is i64/],
    ['an i32 with high bits', (w: ByteWriter) => frame(w.u32(0).u32(1), 2, 1, [[I32, 1n << 40n], [I64, 0n], [F64, 0n]]), /i32 value with non-zero high bytes/],
    ['a function that does not exist', (w: ByteWriter) => frame(w.u32(0).u32(1), 77, 1, []), /function 77, site 1\): no such defined function/],
    ['an imported function', (w: ByteWriter) => frame(w.u32(0).u32(1), 0, 1, []), /function 0, site 1\): no such defined function/],
    ['too few slots for the locals', (w: ByteWriter) => frame(w.u32(0).u32(1), 2, 1, [[I32, 0n]]), /1 slots, but the function has 3 parameters and locals/],
    ['a frame outside a site in a suspended snapshot', (w: ByteWriter) => frame(w.u32(0).u32(1), 2, 0xffffffff, []), /only the innermost frame of a trapped/],
    ['a bad module byte', (w: ByteWriter) => w.u32(0).u32(1).u8(2).u32(2).u32(1).u32(0), /frame 0: module 2 is neither/],
    ['a digest of the wrong size', (w: ByteWriter) => frame(w.u32(1).u8(0).u32(1), 2, 1, good), /runtime digest of 1 bytes/],
    ['a digest without runtime frames', (w: ByteWriter) => frame(w.vecBytes(new Uint8Array(32)).u32(1), 2, 1, good), /a runtime digest without runtime frames/],
  ])('gate.stack: %s', (name, f, re) => {
    rejects(replaceCustom(suspended, 'gate.stack', snapHeader(f)), re);
  });

  test.each([
    ['a bad direction', (w: ByteWriter) => w.u32(1).u32(0).u8(2).u32(0), /direction 2/],
    ['a duplicate', (w: ByteWriter) => w.u32(2).u32(1).u8(1).u32(1).u8(0).u32(1).u8(1).u32(1).u8(0), /second entry for fd 1 output/],
    ['a length past the end', (w: ByteWriter) => w.u32(1).u32(1).u8(1).u32(50).u8(0), /truncated/],
  ])('gate.buffer: %s', (name, f, re) => {
    rejects(replaceCustom(suspended, 'gate.buffer', snapHeader(f)), re);
  });

  test.each([
    ['an export of a function that does not exist', (w: ByteWriter) => w.u32(1).name('f').u8(0).u32(99), /function 99 does not exist/],
    ['a bad kind', (w: ByteWriter) => w.u32(1).name('f').u8(4).u32(0), /kind 4/],
    ['a duplicate name', (w: ByteWriter) => w.u32(2).name('f').u8(0).u32(1).name('f').u8(0).u32(2), /duplicate export name/],
    ['bad UTF-8', (w: ByteWriter) => w.u32(1).vecBytes(Uint8Array.of(0xff)).u8(0).u32(1), /not valid UTF-8/],
  ])('gate.export: %s', (name, f, re) => {
    rejects(replaceCustom(suspended, 'gate.export', snapHeader(f)), re);
  });

  test('section-level rules', () => {
    rejects(replaceCustom(suspended, 'gate.export', null), /gate.stack without gate.export/);
    rejects(replaceCustom(suspended, 'gate.buffer', null), /no gate.buffer section/);
    rejects(edit(suspended, (l) => [...l, l.find((s) => s.name === 'gate.snapshot')!]), /section gate.snapshot twice/);
    rejects(edit(suspended, (l) => [...l, { id: 0, name: 'gate.future', payload: new Uint8Array(0) }]), /unknown section gate.future/);
    // a stack moved onto a halted snapshot
    const stack = scanSections(suspended).find((s) => s.name === 'gate.stack')!;
    const exp = scanSections(suspended).find((s) => s.name === 'gate.export')!;
    rejects(edit(halted, (l) => [...l, { id: 0, name: 'gate.stack', payload: suspended.subarray(stack.start, stack.end) }, { id: 0, name: 'gate.export', payload: suspended.subarray(exp.start, exp.end) }]), /halted snapshot with a gate.stack/);
    // a suspended snapshot without its stack
    rejects(replaceCustom(replaceCustom(suspended, 'gate.stack', null), 'gate.export', null), /suspended snapshot without a gate.stack/);
    // an export section next to gate.export: the restored module given as a snapshot
    rejects(restoreModule(suspended, { keepGateSections: true }), /export section .* next to gate.export/);
    // a start section
    rejects(edit(halted, (l) => {
      const at = l.findIndex((s) => s.id === 10);
      return [...l.slice(0, at - 0), ...l.slice(at)].flatMap((s) => (s.id === 10 ? [{ id: 8, payload: Uint8Array.of(1) }, s] : [s]));
    }), /start section/);
    // the module itself broken: its function section says more functions than the code section has
    rejects(edit(halted, (l) => l.map((s) => (s.id === 3 ? { id: 3, payload: Uint8Array.of(6, 1, 2, 3, 3, 3, 3) } : s))), /does not decode: .*inconsistent lengths/);
  });

  test('memory segments: outside the memory, or not constant', async () => {
    const m = await wat('(module (memory 1) (global i32 (i32.const 0)) (data (global.get 0) "x"))');
    rejects(edit(halted, (l) => l.map((s) => (s.id === 5 ? { id: 5, payload: Uint8Array.of(1, 0, 0) } : s))), /outside the memory's 0 pages/);
    const snap = edit(halted, (l) => l);
    expect(readSnapshot(snap).state).toBe('halted');
    // a data offset that reads a global is not a snapshot's memory (valid only with an imported global)
    const g = await wat('(module (import "env" "g" (global i32)) (memory 1) (data (global.get 0) "x") (@custom "gate.snapshot" "\\01\\00\\01\\00\\00\\00\\00") (@custom "gate.buffer" "\\00"))', { annotations: true });
    expect(readSnapshot.bind(null, m)).toThrow(/not a snapshot/);
    rejects(g, /data segment 0: its offset is not an i32.const/);
  });
});

/** xorshift32 */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

describe('fuzz: damaged snapshots throw SnapshotError or read, never anything else', () => {
  const seed = Number(process.env.SNAPSHOT_FUZZ_SEED ?? Date.now() % 100000);
  test(`truncations and byte flips (seed ${seed})`, () => {
    const r = rng(seed);
    const bases = [suspended, halted, writeSnapshot(input({ state: 'trapped', trapId: 2, frames: [] })), writeSnapshot(input({ memory: { pages: 2, pageMap: new Map() } }))];
    let errors = 0;
    const iterations = Number(process.env.SNAPSHOT_FUZZ_ITERATIONS ?? 4000);
    for (let k = 0; k < iterations; k++) {
      const base = bases[k % bases.length];
      let b: Uint8Array;
      if (k % 5 === 0) b = base.subarray(0, Math.floor(r() * base.length));
      else {
        b = base.slice();
        const flips = 1 + Math.floor(r() * 4);
        for (let f = 0; f < flips; f++) {
          // the interesting bytes are the sections, not the memory: flip there most of the time
          const at = r() < 0.7 ? base.length - 1 - Math.floor(r() * Math.min(base.length, 400)) : Math.floor(r() * base.length);
          b[at] = r() < 0.5 ? b[at] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
        }
      }
      try {
        const s = readSnapshot(b);
        restoreModule(s);
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw new Error(`seed ${seed}, iteration ${k}: ${(e as Error).stack}`);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });
});
