import { decodeModule } from '@wagc/frontend';
import {
  checkResume, memoryPages, readSnapshot, residentPages, restoreModule, SnapshotError, writeSnapshot, type Frame, type SnapshotInput,
} from '@wagc/snapshot-format';
import { PROGRAM, wabtValidate, wasmObjdump, wasmValidate, wat } from './helpers';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;
const PAGE = 65536;

let program: Uint8Array;
beforeAll(async () => {
  program = await wat(PROGRAM);
});

/** Memory of `pages` with a few non-zero places (one run crossing a page boundary). */
function memoryData(pages: number): Uint8Array {
  const d = new Uint8Array(pages * PAGE);
  d.set(new TextEncoder().encode('hello, world\n'), 16);
  d[1000] = 0xff;
  d.fill(7, PAGE - 10, PAGE + 10);
  d[pages * PAGE - 1] = 1;
  return d;
}

const NAN32 = 0x7fc00001n, NAN64 = 0xfff8000000000123n;
const GLOBALS = [0xfffffffen, 0x8000000000000001n, NAN32, NAN64, 42n];

/** Frames in $fib (2: i32 param, i64 and f64 locals) and $main (3: one i32 local). */
function frames(depth: number): Frame[] {
  const out: Frame[] = [];
  for (let k = 0; k < depth; k++) {
    out.push({
      func: 2, site: 1 + (k % 2),
      slots: [{ type: I32, bits: BigInt(k) }, { type: I64, bits: 0xffffffffffffffffn }, { type: F64, bits: NAN64 }, { type: I32, bits: 5n }, { type: F32, bits: NAN32 }],
    });
  }
  out.push({ func: 3, site: 3, slots: [{ type: I32, bits: 3n }] });
  return out;
}

function input(over: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    module: program, state: 'suspended', arch: 'x86-64', memory: { pages: 2, data: memoryData(2) },
    globals: GLOBALS, frames: frames(3),
    buffer: [{ fd: 0, direction: 'in', bytes: new TextEncoder().encode('pending input') }, { fd: 1, direction: 'out', bytes: Uint8Array.of(1, 2, 3) }],
    ...over,
  };
}

function expectValid(snap: Uint8Array): void {
  expect(WebAssembly.validate(new Uint8Array(snap))).toBe(true);
  expect(() => wabtValidate(snap)).not.toThrow();
  const v = wasmValidate(snap);
  if (v) expect(v).toEqual({ ok: true, out: '' });
}

function sameMemory(a: Map<number, Uint8Array>, data: Uint8Array): void {
  for (let p = 0; p * PAGE < data.length; p++) {
    const page = data.subarray(p * PAGE, (p + 1) * PAGE);
    const got = a.get(p);
    if (page.every((v) => v === 0)) expect(got).toBeUndefined();
    else expect(Buffer.from(got!).equals(Buffer.from(page))).toBe(true);
  }
}

describe('round trips', () => {
  test.each([
    ['halted', { frames: [] }],
    ['suspended', {}],
    ['trapped', { trapId: 5, frames: [{ func: 5, site: 0xffffffff, slots: [] }, ...frames(1)] }],
    ['trapped without a stack', { trapId: 1, frames: [] }],
    ['exited', { exitStatus: 0xfffffffe, frames: frames(2) }],
    ['exited without a stack', { exitStatus: 3, frames: [] }],
  ] as [string, Partial<SnapshotInput>][])('%s', (name, over) => {
    const state = name.split(' ')[0] as SnapshotInput['state'];
    const inp = input({ state, ...over });
    const bytes = writeSnapshot(inp);
    expectValid(bytes);
    const s = readSnapshot(bytes);
    expect(s.version).toBe(1);
    expect(s.state).toBe(state);
    expect(s.trapId).toBe(inp.trapId ?? 0);
    expect(s.exitStatus).toBe(inp.exitStatus ?? 0);
    expect(s.arch).toBe('x86-64');
    expect(s.frames).toEqual(inp.frames);
    expect(s.globals.map((g) => g.bits)).toEqual(GLOBALS);
    expect(s.globals.map((g) => g.type)).toEqual([I32, I64, F32, F64, I32]);
    expect(s.memory!.pages).toBe(2);
    expect(s.memory!.maxPages).toBe(100);
    sameMemory(memoryPages(s), memoryData(2));
    expect(residentPages(s)).toBe(memoryPages(s).size);
    expect(s.buffer.map((b) => [b.fd, b.direction, Array.from(b.bytes)])).toEqual(inp.buffer!.map((b) => [b.fd, b.direction, Array.from(b.bytes)]));
    expect(s.functionNames.get(2)).toBe('fib');
    const customs = s.sections.filter((x) => x.id === 0).map((x) => x.name);
    const stack = inp.frames.length > 0;
    expect(customs).toEqual(['name', 'gate.snapshot', ...(stack ? ['gate.stack'] : []), 'gate.buffer', ...(stack ? ['gate.export'] : [])]);
    expect(s.sections.some((x) => x.kind === 'start')).toBe(false);
    expect(s.sections.some((x) => x.kind === 'export')).toBe(!stack);
    const dump = wasmObjdump(bytes);
    if (dump) for (const c of customs) expect(dump).toContain(`"${c}"`);
  });

  test('without memory, and globals of every type at their extremes', async () => {
    const m = await wat(`(module (global (mut f32) (f32.const 0)) (global (mut f64) (f64.const 0)) (global (mut i64) (i64.const 0)) (global (mut i32) (i32.const 0))
      (func (export "f") (param f32) (result i32) (i32.const 0)))`);
    for (const g of [[0xff800001n, 0xfff0000000000001n, 0n, 0x80000000n], [0n, 0x8000000000000000n, 0xffffffffffffffffn, 0xffffffffn], [0x7f800000n, 1n, 0x7fffffffffffffffn, 0x7fffffffn]]) {
      const snap = writeSnapshot({ module: m, state: 'suspended', arch: 'arm64', memory: null, globals: g, frames: [{ func: 0, site: 0, slots: [{ type: F32, bits: 0xffc00000n }] }] });
      expectValid(snap);
      const s = readSnapshot(snap);
      expect(s.memory).toBeNull();
      expect(s.arch).toBe('arm64');
      expect(s.globals.map((x) => x.bits)).toEqual(g);
      expect(s.sections.some((x) => x.kind === 'data')).toBe(false);
    }
  });

  test('i32/f32 bits are masked, negative bigints taken as patterns', () => {
    const s = readSnapshot(writeSnapshot(input({ globals: [-1n, -1n, -1n, -1n, 42n] })));
    expect(s.globals.map((g) => g.bits)).toEqual([0xffffffffn, 0xffffffffffffffffn, 0xffffffffn, 0xffffffffffffffffn, 42n]);
  });

  test('many frames with many slots', () => {
    const fr = frames(5000);
    const s = readSnapshot(writeSnapshot(input({ frames: fr })));
    expect(s.frames).toEqual(fr);
  });

  test('a sparse page map gives the same bytes as the flat memory', () => {
    const data = memoryData(4);
    const pageMap = new Map<number, Uint8Array>();
    for (let p = 0; p < 4; p++) {
      const page = data.slice(p * PAGE, (p + 1) * PAGE);
      if (page.some((v) => v !== 0)) pageMap.set(p, page);
    }
    const a = writeSnapshot(input({ memory: { pages: 4, data } }));
    const b = writeSnapshot(input({ memory: { pages: 4, pageMap } }));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    sameMemory(memoryPages(readSnapshot(a)), data);
  });

  test('unaligned memory views work', () => {
    const backing = new Uint8Array(2 * PAGE + 1);
    backing.set(memoryData(2), 1);
    const a = writeSnapshot(input({ memory: { pages: 2, data: backing.subarray(1) } }));
    sameMemory(memoryPages(readSnapshot(a)), memoryData(2));
  });

  test('zero runs split segments; segments carry no zero bytes at their ends', () => {
    const data = new Uint8Array(PAGE);
    data[3] = 1; data[3 + 60] = 2; // 60-byte gap: one segment
    data[1000] = 3; data[1000 + 200] = 4; // 200-byte gap: two
    const s = readSnapshot(writeSnapshot(input({ memory: { pages: 1, data }, frames: [] , state: 'halted', module: program })));
    // module minimum is 1 page, data of 1 page
    const segs = s.memory!.segments.map((x) => [x.address, x.bytes.length]);
    expect(segs).toEqual([[3, 61], [1000, 1], [1200, 1]]);
  });

  test('too many runs are merged under the segment limit', async () => {
    const pages = 240;
    const data = new Uint8Array(pages * PAGE);
    for (let a = 0; a < data.length; a += 100) data[a] = 1; // 157,287 runs at the base threshold
    const m = await wat('(module (memory 1))');
    const bytes = writeSnapshot({ module: m, state: 'halted', arch: 'x86-64', memory: { pages, data }, globals: [], frames: [] });
    const s = readSnapshot(bytes);
    expect(s.memory!.segments.length).toBeLessThanOrEqual(100000);
    sameMemory(memoryPages(s), data);
    expect(WebAssembly.validate(new Uint8Array(bytes))).toBe(true);
  });

  test('addresses past 2 GiB (negative i32 offsets) and the last page of 4 GiB', async () => {
    const m = await wat('(module (memory 1))');
    const page = new Uint8Array(PAGE);
    page[5] = 1;
    page[PAGE - 1] = 2;
    const pageMap = new Map([[40000, page], [65535, page]]);
    const bytes = writeSnapshot({ module: m, state: 'halted', arch: 'x86-64', memory: { pages: 65536, pageMap }, globals: [], frames: [] });
    expect(WebAssembly.validate(new Uint8Array(bytes))).toBe(true);
    const s = readSnapshot(bytes);
    expect(s.memory!.segments.map((x) => x.address)).toEqual([40000 * PAGE + 5, 40000 * PAGE + PAGE - 1, 65535 * PAGE + 5, 65535 * PAGE + PAGE - 1]);
    const back = memoryPages(s);
    expect([...back.keys()]).toEqual([40000, 65535]);
    expect(Buffer.from(back.get(65535)!).equals(Buffer.from(page))).toBe(true);
  });

  test('memory grown past the module minimum; the maximum is kept', () => {
    const s = readSnapshot(writeSnapshot(input({ memory: { pages: 100, pageMap: new Map([[99, new Uint8Array(PAGE).fill(9)]]) } })));
    expect(s.memory!.pages).toBe(100);
    expect(s.memory!.maxPages).toBe(100);
    expect(memoryPages(s).size).toBe(1);
  });
});

describe('V8 sees a valid module', () => {
  test('a suspended snapshot has no exports; restoreModule gives them back', async () => {
    const snap = writeSnapshot(input());
    const { instance } = await WebAssembly.instantiate(new Uint8Array(snap), { wasi_snapshot_preview1: { fd_write: () => 0 } });
    expect(Object.keys(instance.exports)).toEqual([]);
    const restored = restoreModule(readSnapshot(snap));
    expectValid(restored);
    const r = await WebAssembly.instantiate(new Uint8Array(restored), { wasi_snapshot_preview1: { fd_write: () => 0 } });
    expect(Object.keys(r.instance.exports).sort()).toEqual(['_start', 'fib', 'get32', 'load', 'memory']);
    // no gate sections left, but the name section stays
    const customs = WebAssembly.Module.customSections(r.module, 'gate.snapshot');
    expect(customs.length).toBe(0);
    expect(WebAssembly.Module.customSections(r.module, 'name').length).toBe(1);
    const kept = new WebAssembly.Module(new Uint8Array(restoreModule(snap, { keepGateSections: true })));
    expect(WebAssembly.Module.customSections(kept, 'gate.stack').length).toBe(1);
  });

  test('a halted snapshot keeps its exports, its memory and globals are the state, the start function does not run', async () => {
    const snap = writeSnapshot(input({ state: 'halted', frames: [], globals: [99n, 0n, 0n, 0n, 42n] }));
    const { instance } = await WebAssembly.instantiate(new Uint8Array(snap), { wasi_snapshot_preview1: { fd_write: () => 0 } });
    const e = instance.exports as Record<string, (...a: number[]) => number>;
    expect(e.get32()).toBe(99); // the start function would have set 7
    expect(e.load(PAGE - 1)).toBe(7);
    expect(e.load(16)).toBe('h'.charCodeAt(0));
    expect(e.fib(10)).toBe(55);
    expect((instance.exports.memory as WebAssembly.Memory).buffer.byteLength).toBe(2 * PAGE);
  });
});

describe('chains and data counts', () => {
  test('a snapshot of a snapshot does not nest', () => {
    let mod = program;
    for (let hop = 0; hop < 4; hop++) {
      const state = hop % 2 ? 'halted' : 'suspended';
      const snap = writeSnapshot(input({ module: mod, state, frames: state === 'halted' ? [] : frames(hop + 1), globals: [BigInt(hop), 0n, 0n, 0n, 42n] }));
      expectValid(snap);
      const s = readSnapshot(snap);
      expect(s.globals[0].bits).toBe(BigInt(hop));
      expect(s.sections.filter((x) => x.name === 'gate.snapshot').length).toBe(1);
      sameMemory(memoryPages(s), memoryData(2));
      mod = snap;
    }
    expect(decodeModule(restoreModule(mod)).exports.map((e) => e.name).sort()).toEqual(['_start', 'fib', 'get32', 'load', 'memory']);
  });

  test('with a data count section, segment indices stay and the count follows', async () => {
    const m = await wat(`(module (memory 1) (data (i32.const 0) "ab") (data "passive") (data (i32.const 8) "cd")
      (func (export "f") (data.drop 1) (memory.init 2 (i32.const 0) (i32.const 0) (i32.const 0))))`);
    expect(decodeModule(m).dataCount).toBe(3);
    const data = new Uint8Array(PAGE);
    data.set([0x61, 0x62], 0);
    data.set([0x63, 0x64], 8);
    data[40000] = 1;
    let mod = m;
    for (let hop = 0; hop < 3; hop++) {
      const snap = writeSnapshot({ module: mod, state: 'suspended', arch: 'x86-64', memory: { pages: 1, data }, globals: [], frames: [{ func: 0, site: 0, slots: [] }] });
      expectValid(snap);
      const d = decodeModule(snap);
      expect(d.data.slice(0, 3).map((x) => [x.mode, x.end - x.start])).toEqual([['passive', 0], ['passive', 7], ['passive', 0]]);
      expect(d.data.length).toBe(5); // three kept, then [0, 10) and 40000
      expect(d.dataCount).toBe(5);
      sameMemory(memoryPages(readSnapshot(snap)), data);
      mod = snap;
    }
  });

  test('a dropped passive segment is written empty at its index; a bad index is refused', async () => {
    const m = await wat(`(module (memory 1) (data "first") (data (i32.const 0) "ab") (data "third")
      (func (export "f") (data.drop 0) (memory.init 2 (i32.const 0) (i32.const 0) (i32.const 0))))`);
    const base = { module: m, state: 'suspended' as const, arch: 'x86-64' as const, memory: { pages: 1, data: new Uint8Array(PAGE) }, globals: [], frames: [{ func: 0, site: 0, slots: [] }] };
    const snap = writeSnapshot({ ...base, droppedData: [0] });
    expectValid(snap);
    const d = decodeModule(snap);
    expect(d.data.map((x) => [x.mode, Buffer.from(snap.subarray(x.start, x.end)).toString()])).toEqual([['passive', ''], ['passive', ''], ['passive', 'third']]);
    expect(() => writeSnapshot({ ...base, droppedData: [3] })).toThrow(/dropped data segment 3: the module has 3 data segments/);
    const noCount = await wat('(module (memory 1) (data "x"))');
    expect(() => writeSnapshot({ ...base, module: noCount, globals: [], frames: [], state: 'halted', droppedData: [0] })).toThrow(/no data count section/);
  });
});

describe('tables in a chain of snapshots', () => {
  const TABLES = `(module (type $t (func))
    (table $a 2 10 funcref) (table $b 3 funcref)
    (elem (table $a) (i32.const 0) func $f) (elem $p func $f $g) (elem (table $b) (i32.const 2) func $g) (elem declare func $h)
    (func $f (type $t)) (func $g (type $t)) (func $h (type $t) (elem.drop $p) (table.init $a $p (i32.const 0) (i32.const 0) (i32.const 0)))
    (export "h" (func $h)))`;
  // the instance's tables: $a grew to 4 entries, $b holds f, null, g (module function index + 1)
  const tables = [BigUint64Array.from([2n, 1n, 0n, 2n]), BigUint64Array.from([1n, 0n, 2n])];
  const base = { state: 'suspended' as const, arch: 'x86-64' as const, memory: null, globals: [], frames: [{ func: 0, site: 0, slots: [] }], tables };

  test('every generation writes each table once: the previous tables are replaced, not kept as originals', async () => {
    let mod = await wat(TABLES, { reference_types: true });
    for (let hop = 0; hop < 5; hop++) {
      // as gate-run gives them: whether each of the module's segments is dropped
      const dropped = decodeModule(mod).elements.map((e, k) => e.mode !== 'passive' || (hop > 1 && k === 1));
      const snap = writeSnapshot({ ...base, module: mod, droppedSegments: dropped });
      expectValid(snap);
      const s = readSnapshot(snap);
      expect(s.flags).toBe(1);
      const d = decodeModule(snap);
      expect(d.elements.map((e) => e.mode)).toEqual(['declarative', hop > 1 ? 'declarative' : 'passive', 'declarative', 'declarative', 'active', 'active']);
      expect(d.elements.slice(4).map((e) => [e.table, e.init.length])).toEqual([[0, 4], [1, 3]]);
      expect(d.tables.map((t) => t.limits.min)).toEqual([4, 3]);
      // what wagc compiles: the module with its gate.snapshot, so the next writer knows
      mod = restoreModule(snap, { keepSnapshotSection: true });
      expect(scanNames(mod)).toEqual(['gate.snapshot']);
    }
  });

  test('a module that does not say it is a snapshot keeps every segment as an original', async () => {
    const first = writeSnapshot({ ...base, module: await wat(TABLES, { reference_types: true }), droppedSegments: [true, false, true, true] });
    const plain = restoreModule(first);
    const again = writeSnapshot({ ...base, module: plain, droppedSegments: [true, false, true, true, true, true] });
    expect(decodeModule(again).elements.map((e) => e.mode)).toEqual(['declarative', 'passive', 'declarative', 'declarative', 'declarative', 'declarative', 'active', 'active']);
  });

  test('without tables the flag is the module\'s; the reader refuses other flags and table segments before originals', async () => {
    const m = await wat(TABLES, { reference_types: true });
    const noTables = writeSnapshot({ ...base, module: m, tables: undefined });
    expect(readSnapshot(noTables).flags).toBe(0);
    const withTables = writeSnapshot({ ...base, module: m, droppedSegments: [true, false, true, true] });
    const copied = writeSnapshot({ ...base, module: restoreModule(withTables, { keepSnapshotSection: true }), tables: undefined });
    expect(readSnapshot(copied).flags).toBe(1);
    // the original module's segments (an active one before a passive one) under the flag
    const flagged = Uint8Array.from(noTables);
    // gate.snapshot's payload after its name: version, state, arch, trap, status, flags (one byte each here)
    const flagsAt = Buffer.from(flagged).lastIndexOf('gate.snapshot') + 'gate.snapshot'.length + 5;
    expect(flagged[flagsAt]).toBe(0);
    flagged[flagsAt] = 1;
    expect(() => readSnapshot(flagged)).toThrow(/element segment 0 is active and a later one is not/);
    flagged[flagsAt] = 2;
    expect(() => readSnapshot(flagged)).toThrow(/unknown flags 0x2/);
  });
});

/** The custom section names of a module, in order. */
function scanNames(bytes: Uint8Array): string[] {
  const names: string[] = [];
  for (let at = 8; at < bytes.length;) {
    const id = bytes[at++];
    let size = 0, shift = 0, b: number;
    do { b = bytes[at++]; size += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    if (id === 0) {
      const n = bytes[at];
      names.push(new TextDecoder().decode(bytes.subarray(at + 1, at + 1 + n)));
    }
    at += size;
  }
  return names.filter((n) => n !== 'name');
}

describe('frames in the runtime library', () => {
  const runtime = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
  const rt: Frame = { module: 'runtime', func: 12, site: 3, slots: [{ type: I64, bits: 9n }, { type: F32, bits: 1n }] };
  test('round trip, with the library\'s digest', () => {
    const s = readSnapshot(writeSnapshot(input({ frames: [rt, ...frames(1)], runtime })));
    expect(s.frames).toEqual([rt, ...frames(1)]);
    expect(s.runtimeDigest!.length).toBe(32);
    // (checkResume compares it with the library being linked: tests/resume-rules.test.ts, R2)
  });
  test('without the library, no digest', () => {
    const s = readSnapshot(writeSnapshot(input({ frames: [rt, ...frames(1)] })));
    expect(s.runtimeDigest).toBeNull();
  });
});

describe('the writer refuses states that do not fit the module', () => {
  test.each([
    ['frames on a halted instance', { state: 'halted' }, /halted snapshot has no stack/],
    ['a suspended instance without frames', { frames: [] }, /at least one frame/],
    ['an imported function as a frame', { frames: [{ func: 0, site: 1, slots: [] }] }, /no such defined function/],
    ['a function out of range', { frames: [{ func: 6, site: 1, slots: [] }] }, /no such defined function/],
    ['a slot type that is no value type', { frames: [{ func: 3, site: 1, slots: [{ type: 0x40, bits: 0n }] }] }, /not a number, vector or reference type/],
    ['a funcref slot of a third module', { frames: [{ func: 3, site: 1, slots: [{ type: I32, bits: 0n }, { type: 0x70, bits: (2n << 32n) | 1n }] }] }, /funcref whose module is neither 0 nor 1/],
    ['slots not matching the locals', { frames: [{ func: 3, site: 1, slots: [{ type: I64, bits: 0n }] }] }, /local 0 is i32/],
    ['too few slots', { frames: [{ func: 2, site: 1, slots: [{ type: I32, bits: 0n }] }] }, /3 parameters and locals/],
    ['locals at the entry site', { frames: [{ func: 2, site: 0, slots: [{ type: I32, bits: 0n }, { type: I64, bits: 0n }] }] }, /exactly the 1 parameters/],
    ['a trap id on a suspended instance', { trapId: 3 }, /trap id 3 given/],
    ['a trapped instance without a trap id', { state: 'trapped', frames: [] }, /trap id 0 is not/],
    ['a wrong global count', { globals: [1n] }, /1 global values given, the module defines 5/],
    ['no memory', { memory: null }, /defines a memory but none is given/],
    ['memory below the minimum', { memory: { pages: 0, data: new Uint8Array(0) } }, /smaller than the module's minimum/],
    ['memory above the maximum', { memory: { pages: 101, pageMap: new Map() } }, /more than the module's maximum/],
    ['short memory data', { memory: { pages: 2, data: new Uint8Array(PAGE) } }, /2 pages need/],
    ['a page outside the memory', { memory: { pages: 2, pageMap: new Map([[2, new Uint8Array(PAGE)]]) } }, /outside the memory/],
    ['two buffers for one stream', { buffer: [{ fd: 0, direction: 'in', bytes: Uint8Array.of(1) }, { fd: 0, direction: 'in', bytes: Uint8Array.of(2) }] }, /two buffer entries/],
    ['a site outside a trapped innermost frame', { frames: [{ func: 3, site: 0xffffffff, slots: [] }] }, /only the innermost frame of a trapped/],
  ] as [string, Partial<SnapshotInput>, RegExp][])('%s', (name, over, re) => {
    expect(() => writeSnapshot(input(over))).toThrow(SnapshotError);
    expect(() => writeSnapshot(input(over))).toThrow(re);
  });

  test('an imported memory, a mutable imported global without its value', async () => {
    const m1 = await wat('(module (import "env" "memory" (memory 1)))');
    expect(() => writeSnapshot({ module: m1, state: 'halted', arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [], frames: [] })).toThrow(/imports its memory \(env.memory\)/);
    const m2 = await wat('(module (import "env" "g" (global (mut i64))) (import "env" "k" (global f32)))', { mutable_globals: true });
    expect(() => writeSnapshot({ module: m2, state: 'halted', arch: 'x86-64', memory: null, globals: [], frames: [] })).toThrow(/mutable global/);
    const s = readSnapshot(writeSnapshot({ module: m2, state: 'halted', arch: 'x86-64', memory: null, globals: [], frames: [], importedGlobals: [-5n, 0x7fc00000n] }));
    expect(s.importedGlobals).toEqual([{ type: I64, bits: 0xfffffffffffffffbn }, { type: F32, bits: 0x7fc00000n }]);
    const m3 = await wat('(module (import "env" "k" (global f32)))');
    expect(readSnapshot(writeSnapshot({ module: m3, state: 'halted', arch: 'x86-64', memory: null, globals: [], frames: [] })).importedGlobals).toBeNull();
  });

  test('null memory for a module whose memory has minimum 0: 0 pages', async () => {
    const m = await wat('(module (memory 0 5))');
    const s = readSnapshot(writeSnapshot({ module: m, state: 'halted', arch: 'x86-64', memory: null, globals: [], frames: [] }));
    expect(s.memory).toEqual({ pages: 0, maxPages: 5, segments: [] });
  });

  test('not a module', () => {
    expect(() => writeSnapshot(input({ module: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }))).toThrow(/bad magic/);
  });
});

describe('version 2: v128 values (docs/snapshot-format.md, "Version")', () => {
  const V128 = 0x7b;
  const SIMD = `(module
    (memory 1)
    (global $v (mut v128) (v128.const i32x4 1 2 3 4))
    (global $w v128 (v128.const i64x2 -1 0))
    (global $n (mut i32) (i32.const 0))
    (func $f (param v128 i32) (result v128) (local v128) (local.get 0))
    (func (export "_start") (drop (call $f (global.get $v) (i32.const 1)))))`;
  const LANES = 0x0f0e0d0c0b0a09080706050403020100n;
  const NAN_LANES = 0x7fc00001ffffffff7ff8000000000001n;

  test('slots and globals of v128 round-trip with all 16 bytes; the snapshot says version 2 and is valid wasm', async () => {
    const module = await wat(SIMD, { simd: true });
    const frames: Frame[] = [
      { func: 0, site: 0, slots: [{ type: V128, bits: LANES }, { type: I32, bits: 1n }] },
      { func: 1, site: 1, slots: [{ type: V128, bits: NAN_LANES }] },
    ];
    const bytes = writeSnapshot({ module, state: 'suspended', arch: 'arm64', memory: { pages: 1, pageMap: new Map() }, globals: [NAN_LANES, LANES, 7n], frames });
    expectValid(bytes);
    const s = readSnapshot(bytes);
    expect(s.version).toBe(2);
    expect(s.frames.map((f) => f.slots)).toEqual(frames.map((f) => f.slots));
    expect(s.globals.map((g) => [g.type, g.bits])).toEqual([[V128, NAN_LANES], [V128, LANES], [I32, 7n]]);
    // the globals are v128.const in the module: fd 0c, then the 16 bytes
    const m = decodeModule(restoreModule(s));
    expect(m.globals[0].init).toEqual({ kind: 'v128', bits: NAN_LANES });
    // the site map has a v128's two 8-byte slots; checkResume compares values with them
    const runtime = await wat('(module)');
    expect(() => checkResume(s, { runtime, sites: [{ func: 0, site: 0, slotTypes: [V128, V128, I32] }, { func: 1, site: 1, slotTypes: [V128, V128] }] })).not.toThrow();
    expect(() => checkResume(s, { runtime, sites: [{ func: 0, site: 0, slotTypes: [V128, I32] }, { func: 1, site: 1, slotTypes: [V128, V128] }] }))
      .toThrow(/R3: frame 0 \(function 0 "f", site 0\): 2 slots, the site holds 1/);
  });

  test('a snapshot without v128 values is version 1, byte for byte what version 1 wrote', async () => {
    const module = await wat(SIMD, { simd: true });
    // the module has v128 globals: version 2; the program of the other tests none: version 1
    expect(readSnapshot(writeSnapshot(input())).version).toBe(1);
    const withGlobals = writeSnapshot({ module, state: 'halted', arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n, 0n], frames: [] });
    expect(readSnapshot(withGlobals).version).toBe(2);
  });

  test('a v128 slot in a snapshot that says version 1 is refused', async () => {
    const module = await wat(SIMD, { simd: true });
    const bytes = writeSnapshot({ module, state: 'suspended', arch: 'x86-64', memory: { pages: 1, pageMap: new Map() }, globals: [0n, 0n, 0n],
      frames: [{ func: 1, site: 1, slots: [{ type: V128, bits: LANES }] }] });
    // gate.snapshot's first field, the version (a one-byte LEB): 2 → 1
    const name = new TextEncoder().encode('gate.snapshot');
    let at = -1;
    for (let k = 0; k + name.length < bytes.length && at < 0; k++) if (name.every((b, j) => bytes[k + j] === b)) at = k + name.length;
    expect(bytes[at]).toBe(2);
    const old = bytes.slice();
    old[at] = 1;
    expect(() => readSnapshot(old)).toThrow(/type v128 is not i32, i64, f32, f64, funcref or externref/);
  });
});
