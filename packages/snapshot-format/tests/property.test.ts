import fc from 'fast-check';
import { memoryPages, readSnapshot, residentPages, SnapshotError, writeSnapshot, type Frame } from '@wagc/snapshot-format';
import { emitModule } from '../src/sections';
import { PROGRAM, wat } from './helpers';

const PAGE = 65536;
let program: Uint8Array;
beforeAll(async () => {
  program = await wat(PROGRAM);
});

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;
const bits32 = fc.bigInt({ min: 0n, max: 0xffffffffn });
const bits64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const valueOf = (t: number): fc.Arbitrary<bigint> => (t === I32 || t === F32 ? bits32 : bits64);
const anySlot = fc.constantFrom(I32, I64, F32, F64).chain((type) => valueOf(type).map((bits) => ({ type, bits })));
/** A frame of $fib (i32 param; i64, f64 locals) at a call site, with an operand stack. */
const fibFrame: fc.Arbitrary<Frame> = fc.tuple(bits32, bits64, bits64, fc.array(anySlot, { maxLength: 6 }), fc.integer({ min: 1, max: 1000 }))
  .map(([p, a, b, stack, site]) => ({ func: 2, site, slots: [{ type: I32, bits: p }, { type: I64, bits: a }, { type: F64, bits: b }, ...stack] }));
/** Sparse memory: a few pages, each with a few runs of random bytes. */
const memory = fc.record({
  pages: fc.integer({ min: 1, max: 100 }),
  writes: fc.array(fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 300 })), { maxLength: 20 }),
});

test('write → read gives the same state back, and V8 validates every snapshot', () => {
  fc.assert(fc.property(
    fc.constantFrom('halted', 'suspended', 'trapped', 'exited'), memory, fc.tuple(bits32, bits64, bits32, bits64), fc.array(fibFrame, { maxLength: 8 }),
    fc.boolean(), (state, mem, g, fibs, sparse) => {
      const data = new Uint8Array(mem.pages * PAGE);
      for (const [at, bytes] of mem.writes) data.set(bytes.subarray(0, Math.max(0, data.length - (at % data.length))), at % data.length);
      const pageMap = new Map<number, Uint8Array>();
      for (let p = 0; p < mem.pages; p++) {
        const page = data.subarray(p * PAGE, (p + 1) * PAGE);
        if (page.some((v) => v !== 0)) pageMap.set(p, page);
      }
      const frames: Frame[] = state === 'halted' ? [] : state === 'suspended' || fibs.length ? [...fibs, { func: 3, site: 2, slots: [{ type: I32, bits: 1n }] }] : [];
      const globals = [...g, 42n];
      const snap = writeSnapshot({
        module: program, state, trapId: state === 'trapped' ? 4 : undefined, exitStatus: state === 'exited' ? 1 : undefined, arch: 'arm64',
        memory: sparse ? { pages: mem.pages, pageMap } : { pages: mem.pages, data }, globals, frames,
      });
      expect(WebAssembly.validate(new Uint8Array(snap))).toBe(true);
      const s = readSnapshot(snap);
      expect(s.state).toBe(state);
      expect(s.frames).toEqual(frames);
      expect(s.globals.map((x) => x.bits)).toEqual(globals);
      const back = memoryPages(s);
      expect([...back.keys()].sort((a, b) => a - b)).toEqual([...pageMap.keys()]);
      expect(residentPages(s)).toBe(pageMap.size);
      for (const [p, page] of pageMap) expect(Buffer.from(back.get(p)!).equals(Buffer.from(page))).toBe(true);
    },
  ), { numRuns: 60 });
});

test('a snapshot over 1 GiB is refused, not written', () => {
  expect(() => emitModule([{ id: 0, name: 'x', payload: new Uint8Array(100) }], 64)).toThrow(SnapshotError);
  expect(() => emitModule([{ id: 0, name: 'x', payload: new Uint8Array(100) }], 64)).toThrow(/snapshot too large: 112 bytes, more than the 64 bytes/);
});
