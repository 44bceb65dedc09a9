/**
 * Image format v1 (docs/image-format.md): the writer's layout, writer → reader round trips, and
 * the reader's refusal of damaged images with an ImageError (never a RangeError, TypeError, …).
 */
import {
  ALIGN, ARCH_TAG, EXPORT_ENTRY, FUNC_ENTRY, HEADER_SIZE, ImageError, MAGIC, META_FIXED, NONE, SECTION_ENTRY_SIZE,
  SITE_ENTRY, Section, VERSION, compileProgram, imageArch, linkProgram, readImage, siteList, siteTable, writeImage,
  type ImageInput, type ProgramOptions,
} from '@wagc/linker';
import { VMCTX } from '@wagc/frontend';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wabtInit = require('wabt');
let wabt: { parseWat(name: string, text: string, features?: object): { toBinary(o: object): { buffer: Uint8Array }; destroy(): void } } | null = null;

async function wat(text: string): Promise<Uint8Array> {
  if (!wabt) wabt = await wabtInit();
  const mod = wabt!.parseWat('test.wat', text, { multi_value: true, sat_float_to_int: true, sign_extension: true });
  try {
    return mod.toBinary({ write_debug_names: true }).buffer;
  } finally {
    mod.destroy();
  }
}

/** Every section kind, in the order the writer emits them. */
const KINDS = [Section.Text, Section.FuncMap, Section.SiteMap, Section.Meta, Section.Strings, Section.Globals, Section.Table, Section.Memory];

interface Entry { index: number; at: number; kind: number; reserved: number; offset: number; size: number }

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function sectionTable(b: Uint8Array): Entry[] {
  const dv = view(b);
  const out: Entry[] = [];
  for (let k = 0; k < dv.getUint32(20, true); k++) {
    const at = HEADER_SIZE + SECTION_ENTRY_SIZE * k;
    out.push({ index: k, at, kind: dv.getUint32(at, true), reserved: dv.getUint32(at + 4, true), offset: Number(dv.getBigUint64(at + 8, true)), size: Number(dv.getBigUint64(at + 16, true)) });
  }
  return out;
}

function entryOf(b: Uint8Array, kind: number): Entry {
  const e = sectionTable(b).find((s) => s.kind === kind);
  if (!e) throw new Error(`no section ${kind}`);
  return e;
}

/** A copy of `b` changed by `f`. */
function patched(b: Uint8Array, f: (c: Uint8Array, dv: DataView) => void): Uint8Array {
  const c = b.slice();
  f(c, view(c));
  return c;
}

/** Asserts that `f` throws an ImageError (and nothing else), optionally matching `msg`. */
function expectImageError(f: () => unknown, msg?: RegExp): void {
  let thrown: unknown = null;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  if (thrown === null) throw new Error('expected an ImageError, nothing was thrown');
  if (!(thrown instanceof ImageError)) throw new Error(`expected an ImageError, got ${(thrown as Error)?.name}: ${(thrown as Error)?.message}`);
  expect(thrown.message).toMatch(/^bad image: /);
  if (msg) expect(thrown.message).toMatch(msg);
}

/** Either reads the image or throws an ImageError; anything else fails. Returns whether it read. */
function readsOrImageError(b: Uint8Array): boolean {
  try {
    readImage(b);
    return true;
  } catch (e) {
    if (e instanceof ImageError) return false;
    throw new Error(`readImage crashed with ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
}

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function page(fill: (k: number) => number): Uint8Array {
  const p = new Uint8Array(ALIGN);
  for (let k = 0; k < ALIGN; k++) p[k] = fill(k);
  return p;
}

/** A hand-made input exercising every field (the writer does not care whether the text is real code). */
function handMade(): ImageInput {
  const text = new Uint8Array(300);
  for (let k = 0; k < text.length; k++) text[k] = (k * 7) & 0xff;
  const globals = new Uint8Array(24);
  const gdv = new DataView(globals.buffer);
  gdv.setUint32(0, 0xdeadbeef, true);
  gdv.setBigUint64(8, 0x0123456789abcdefn, true);
  gdv.setFloat64(16, -1.5, true);
  const sparse = new Uint8Array(ALIGN);
  sparse[ALIGN - 1] = 0x5a;
  return {
    arch: 'arm64',
    text,
    stubs: { entry: 16 },
    functions: [
      { name: 'first', codeStart: 32, codeEnd: 100, frameSize: 40, paramCount: 2, wasmOffset: 0x41 },
      { name: 'zwei · ζ · 二', codeStart: 112, codeEnd: 290, frameSize: 8, paramCount: 0, wasmOffset: 0x99 },
      { name: '', codeStart: 290, codeEnd: 290, frameSize: 0, paramCount: 0, wasmOffset: 0 },
    ],
    sites: siteTable([
      { codeOffset: 40, func: 0, site: 0, fpOffset: 0, slotTypes: Uint8Array.of(0x7f, 0x7e), wasmOffset: 0x41 },
      { codeOffset: 130, func: 1, site: 1, fpOffset: 24, slotTypes: Uint8Array.of(0x7d, 0x7c, 0x7f), wasmOffset: 0xa0 },
      { codeOffset: 150, func: 1, site: 0, fpOffset: 0, slotTypes: new Uint8Array(0), wasmOffset: 0x99 },
    ]),
    exports: [
      { name: 'first', kind: 'func', index: 0, params: Uint8Array.of(0x7f, 0x7e), results: Uint8Array.of(0x7c) },
      { name: '', kind: 'func', index: 1, params: new Uint8Array(0), results: new Uint8Array(0) },
      { name: 'g', kind: 'global', index: 1, params: new Uint8Array(0), results: Uint8Array.of(0x7e) },
    ],
    starts: [1, 0],
    memory: { initialPages: 5, maxPages: 9, pages: new Map([[0, page((k) => k & 0xff)], [3, sparse]]) },
    globals,
    globalTypes: Uint8Array.of(0x7f, 0x7e, 0x7c),
    table: { initialSize: 3, maxSize: null, entries: Uint32Array.of(1, 0, 0, 0, 2, 1) },
    instantiationTrap: 5,
    cpuFeatures: 5,
  };
}

/** The smallest input: no memory, no table, nothing to export. */
function empty(): ImageInput {
  return {
    arch: 'x86-64', text: Uint8Array.of(0xc3), stubs: { entry: 0 }, functions: [], sites: siteTable([]), exports: [], starts: [],
    memory: null, globals: new Uint8Array(0), globalTypes: new Uint8Array(0), table: null, instantiationTrap: 0,
    cpuFeatures: 0,
  };
}

const MODULE = `(module
  (memory 2 3)
  (global $g (export "g") (mut i32) (i32.const 7))
  (global $h (export "h") f64 (f64.const 2.5))
  (table 2 funcref)
  (elem (i32.const 0) $add)
  (data (i32.const 65540) "hi")
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $loop (export "count") (param i64) (result i64) (local $n i64)
    (loop $l (local.set $n (i64.add (local.get $n) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $n) (local.get 0))))
    (local.get $n))
  (func $s (drop (call $add (i32.const 1) (i32.const 2))))
  (start $s))`;

let compiled: Uint8Array;
let program: ProgramOptions;

beforeAll(async () => {
  program = { modules: [{ name: 'main', bytes: await wat(MODULE) }], arch: 'x86-64' };
  compiled = compileProgram(program);
});

describe('writer layout', () => {
  test('header: magic, version, arch tag, alignment, section count', () => {
    for (const [input, tag] of [[handMade(), ARCH_TAG.arm64], [empty(), ARCH_TAG['x86-64']]] as const) {
      const b = writeImage(input);
      const dv = view(b);
      expect(Buffer.from(b.subarray(0, 8)).toString('latin1')).toBe(MAGIC);
      expect(Array.from(b.subarray(0, 8))).toEqual([0x57, 0x41, 0x47, 0x43, 0x49, 0x4d, 0x47, 0x00]);
      expect(dv.getUint32(8, true)).toBe(VERSION);
      expect(VERSION).toBe(1);
      expect(dv.getUint32(12, true)).toBe(tag);
      expect(dv.getUint32(16, true)).toBe(ALIGN);
      // section 7 only with table 0 entries given (hand-made images; wagc writes section 12 instead)
      expect(dv.getUint32(20, true)).toBe(input.table?.entries.length ? KINDS.length : KINDS.length - 1);
    }
    expect(ARCH_TAG).toEqual({ 'x86-64': 1, arm64: 2 });
    expect([HEADER_SIZE, SECTION_ENTRY_SIZE, ALIGN, NONE]).toEqual([24, 24, 65536, 0xffffffff]);
    expect([FUNC_ENTRY, SITE_ENTRY, EXPORT_ENTRY, META_FIXED]).toEqual([28, 28, 28, 48]);
  });

  test('section table: kinds in order, 64 KiB-aligned, ascending, no overlap, sizes as documented', () => {
    const input = handMade();
    const b = writeImage(input);
    const table = sectionTable(b);
    expect(table.map((e) => e.kind)).toEqual(KINDS);
    let end = HEADER_SIZE + SECTION_ENTRY_SIZE * table.length;
    for (const e of table) {
      expect(e.reserved).toBe(0);
      expect(e.offset % ALIGN).toBe(0);
      expect(e.offset).toBeGreaterThanOrEqual(end);
      end = e.offset + e.size;
    }
    const size = (k: Section): number => entryOf(b, k).size;
    expect(size(Section.Text)).toBe(input.text.length);
    expect(size(Section.FuncMap)).toBe(4 + FUNC_ENTRY * input.functions.length);
    expect(size(Section.SiteMap)).toBe(4 + SITE_ENTRY * input.sites.count);
    expect(size(Section.Meta)).toBe(META_FIXED + 4 * input.starts.length + EXPORT_ENTRY * input.exports.length + input.globalTypes.length);
    expect(size(Section.Globals)).toBe(8 * input.globalTypes.length);
    expect(size(Section.Table)).toBe(4 * input.table!.entries.length);
    // pages 0 and 3 are non-zero
    expect(size(Section.Memory)).toBe(8 + 16 * 2);
  });

  test('function map, site map, metadata and strings byte by byte', () => {
    const input = handMade();
    const b = writeImage(input);
    const dv = view(b);
    const strings = entryOf(b, Section.Strings);
    const str = (at: number, n: number): Uint8Array => b.subarray(strings.offset + at, strings.offset + at + n);
    const text = (at: number, n: number): string => new TextDecoder().decode(str(at, n));

    const fm = entryOf(b, Section.FuncMap).offset;
    expect(dv.getUint32(fm, true)).toBe(input.functions.length);
    input.functions.forEach((f, k) => {
      const u = (i: number): number => dv.getUint32(fm + 4 + FUNC_ENTRY * k + 4 * i, true);
      expect([u(0), u(1), u(2), u(3), u(4)]).toEqual([f.codeStart, f.codeEnd, f.frameSize, f.paramCount, f.wasmOffset]);
      expect(text(u(5), u(6))).toBe(f.name);
    });

    const sm = entryOf(b, Section.SiteMap).offset;
    expect(dv.getUint32(sm, true)).toBe(input.sites.count);
    siteList(input.sites).forEach((s, k) => {
      const u = (i: number): number => dv.getUint32(sm + 4 + SITE_ENTRY * k + 4 * i, true);
      expect([u(0), u(1), u(2), u(3), u(4), u(5)]).toEqual([s.codeOffset, s.func, s.site, s.fpOffset, s.wasmOffset, s.slotTypes.length]);
      expect(Array.from(str(u(6), u(5)))).toEqual(Array.from(s.slotTypes));
    });

    const md = entryOf(b, Section.Meta).offset;
    const m = (i: number): number => dv.getUint32(md + 4 * i, true);
    expect(Array.from({ length: 12 }, (_, i) => m(i))).toEqual([16, 5, 1, 5, 9, 1, 3, NONE, 3, 2, 3, 5]);
    expect([m(12), m(13)]).toEqual([1, 0]); // starts
    input.exports.forEach((e, k) => {
      const u = (i: number): number => dv.getUint32(md + META_FIXED + 4 * input.starts.length + EXPORT_ENTRY * k + 4 * i, true);
      expect([u(0), u(1), u(4), u(5)]).toEqual([e.kind === 'func' ? 0 : 1, e.index, e.params.length, e.results.length]);
      expect(text(u(2), u(3))).toBe(e.name);
      // results follow the params in the string table
      expect(Array.from(str(u(6), u(4) + u(5)))).toEqual([...e.params, ...e.results]);
    });
    const gt = md + META_FIXED + 4 * input.starts.length + EXPORT_ENTRY * input.exports.length;
    expect(Array.from(b.subarray(gt, gt + 3))).toEqual([0x7f, 0x7e, 0x7c]);

    const gl = entryOf(b, Section.Globals).offset;
    expect(dv.getUint32(gl, true)).toBe(0xdeadbeef);
    expect(dv.getBigUint64(gl + 8, true)).toBe(0x0123456789abcdefn);
    expect(dv.getFloat64(gl + 16, true)).toBe(-1.5);
    const tb = entryOf(b, Section.Table).offset;
    expect(Array.from({ length: 6 }, (_, k) => dv.getUint32(tb + 4 * k, true))).toEqual([1, 0, 0, 0, 2, 1]);
  });

  test('memory index: zero pages dropped, pages sorted, 64 KiB-aligned after the index, file ends with the last page', () => {
    const input = handMade();
    input.memory!.pages.set(4, new Uint8Array(ALIGN)); // all zero: not stored
    input.memory!.pages = new Map([...input.memory!.pages].reverse()); // insertion order must not matter
    const b = writeImage(input);
    const dv = view(b);
    const mi = entryOf(b, Section.Memory);
    expect(dv.getUint32(mi.offset, true)).toBe(2);
    expect(dv.getUint32(mi.offset + 4, true)).toBe(0);
    const rows = [0, 1].map((k) => ({
      page: dv.getUint32(mi.offset + 8 + 16 * k, true),
      pad: dv.getUint32(mi.offset + 12 + 16 * k, true),
      at: Number(dv.getBigUint64(mi.offset + 16 + 16 * k, true)),
    }));
    expect(rows.map((r) => [r.page, r.pad])).toEqual([[0, 0], [3, 0]]);
    expect(rows[0].at % ALIGN).toBe(0);
    expect(rows[0].at).toBeGreaterThanOrEqual(mi.offset + mi.size);
    expect(rows[1].at).toBe(rows[0].at + ALIGN);
    expect(b.length).toBe(rows[1].at + ALIGN);
    expect(b[rows[0].at + 1000]).toBe(1000 & 0xff);
    expect(b[rows[1].at + ALIGN - 1]).toBe(0x5a);
  });

  test('no memory pages: the file ends at the memory index, padded to 8', () => {
    const b = writeImage(empty());
    const mi = entryOf(b, Section.Memory);
    expect(mi.size).toBe(8);
    expect(b.length).toBe(mi.offset + 8);
    const dv = view(b);
    const md = entryOf(b, Section.Meta).offset;
    // has_memory 0, initial 0, max NONE; has_table 0, initial 0, max NONE
    expect([2, 3, 4, 5, 6, 7].map((i) => dv.getUint32(md + 4 * i, true))).toEqual([0, 0, NONE, 0, 0, NONE]);
  });
});

describe('round trip', () => {
  test('hand-made input: readImage(writeImage(x)) equals x (all-zero pages dropped)', () => {
    const input = handMade();
    input.memory!.pages.set(2, new Uint8Array(ALIGN));
    const back = readImage(writeImage(input));
    input.memory!.pages.delete(2);
    expect(back).toEqual(input);
    expect(back.memory!.pages.get(3)![ALIGN - 1]).toBe(0x5a);
  });

  test('empty input, and limits present / absent', () => {
    expect(readImage(writeImage(empty()))).toEqual(empty());
    const withLimits = { ...empty(), memory: { initialPages: 0, maxPages: null, pages: new Map() }, table: { initialSize: 0, maxSize: 7, entries: new Uint32Array(0) } };
    expect(readImage(writeImage(withLimits))).toEqual(withLimits);
  });

  test('a compiled module: readImage gives back what the linker produced', () => {
    const linked = linkProgram(program);
    const back = readImage(compiled);
    expect(back.arch).toBe('x86-64');
    expect(imageArch(compiled)).toBe('x86-64');
    expect(back.text).toEqual(linked.text);
    expect(back.stubs).toEqual(linked.stubs);
    expect(back.functions).toEqual(linked.functions);
    expect(siteList(back.sites).map((s) => ({ ...s, slotTypes: Array.from(s.slotTypes) }))).toEqual(
      siteList(linked.sites).map((s) => ({ codeOffset: s.codeOffset, func: s.func, site: s.site, fpOffset: s.fpOffset, wasmOffset: s.wasmOffset, slotTypes: Array.from(s.slotTypes) })));
    expect(back.exports.map((e) => ({ ...e, params: Array.from(e.params), results: Array.from(e.results) }))).toEqual(
      linked.exports.map((e) => ({ ...e, params: Array.from(e.params), results: Array.from(e.results) })));
    expect(back.starts).toEqual(linked.starts);
    expect(back.globals).toEqual(linked.globals);
    expect(back.globalTypes).toEqual(linked.globalTypes);
    expect(back.table).toEqual(linked.table);
    expect(back.instantiationTrap).toBe(0);
    expect(back.cpuFeatures).toBe(0); // baseline unless asked
    expect(back.memory!.initialPages).toBe(2);
    expect(back.memory!.maxPages).toBe(3);
    expect([...back.memory!.pages.keys()]).toEqual([1]);
    expect(back.memory!.pages).toEqual(linked.memory!.pages);
  });

  test('a compiled module: the fields mean what the module says', () => {
    const img = readImage(compiled);
    const names = img.functions.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['add', 'loop', 's']));
    const add = img.functions[names.indexOf('add')];
    expect(add.paramCount).toBe(2);
    expect(add.codeStart).toBeLessThan(add.codeEnd);
    expect(add.codeEnd).toBeLessThanOrEqual(img.text.length);
    for (const f of img.functions) expect(f.codeEnd).toBeLessThanOrEqual(img.text.length);
    expect(img.stubs.entry).toBeLessThan(img.text.length);
    // sites: sorted by code offset, inside text, naming real functions; site 0 of each function has fpOffset 0
    const sites = siteList(img.sites);
    for (let k = 1; k < sites.length; k++) expect(sites[k].codeOffset).toBeGreaterThanOrEqual(sites[k - 1].codeOffset);
    for (const s of sites) {
      expect(s.codeOffset).toBeLessThanOrEqual(img.text.length);
      expect(s.func).toBeLessThan(img.functions.length);
      if (s.site === 0) expect(s.fpOffset).toBe(0);
    }
    const loopSites = sites.filter((s) => s.func === names.indexOf('loop'));
    expect(loopSites.map((s) => s.site).sort()).toEqual([0, 1]); // entry check, loop header
    expect(Array.from(loopSites.find((s) => s.site === 0)!.slotTypes)).toEqual([0x7e]);
    // exports
    const byName = new Map(img.exports.map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual(['add', 'count', 'g', 'h']);
    expect(byName.get('add')).toEqual({ name: 'add', kind: 'func', index: names.indexOf('add'), params: Uint8Array.of(0x7f, 0x7f), results: Uint8Array.of(0x7f) });
    expect(byName.get('count')!.results).toEqual(Uint8Array.of(0x7e));
    expect(byName.get('g')).toEqual({ name: 'g', kind: 'global', index: 0, params: new Uint8Array(0), results: Uint8Array.of(0x7f) });
    expect(byName.get('h')!.index).toBe(1);
    // globals: 8 bytes each, i32 in the low 4
    const gdv = view(img.globals);
    expect(img.globals.length).toBe(16);
    expect(gdv.getBigUint64(0, true)).toBe(7n);
    expect(gdv.getFloat64(8, true)).toBe(2.5);
    expect(Array.from(img.globalTypes)).toEqual([0x7f, 0x7c]);
    // start function, table (type id + 1, linked index), data page 1 at offset 4
    expect(img.starts).toEqual([names.indexOf('s')]);
    expect(img.table!.initialSize).toBe(2);
    expect(img.table!.maxSize).toBeNull();
    // the entries are in section 12 (section 7 is no longer written): (type id + 1) | linked << 32
    const words = img.tables!.tables[0].entries!;
    expect(Array.from(words, (w) => Number(w >> 32n))).toEqual([names.indexOf('add'), 0]);
    expect(Number(words[0] & 0xffffffffn)).toBeGreaterThan(0);
    expect(words[1]).toBe(0n);
    expect(img.table!.entries.length).toBe(0);
    expect(Array.from(img.memory!.pages.get(1)!.subarray(0, 8))).toEqual([0, 0, 0, 0, 0x68, 0x69, 0, 0]);
  });

  test('reads from a view with a non-zero byteOffset (Buffer pools, subarrays)', () => {
    const big = new Uint8Array(compiled.length + 13);
    big.set(compiled, 13);
    const sub = big.subarray(13);
    expect(readImage(sub)).toEqual(readImage(compiled));
    expect(imageArch(sub)).toBe('x86-64');
    expect(imageArch(Buffer.from(compiled.subarray(0, HEADER_SIZE)))).toBe('x86-64');
  });

  test('an instantiation trap, and a module without memory or table', async () => {
    const b = compileProgram({ modules: [{ name: 'main', bytes: await wat('(module (memory 1) (data (i32.const 65535) "ab"))') }], arch: 'x86-64' });
    const img = readImage(b);
    expect(img.instantiationTrap).toBe(5);
    expect(img.memory!.pages.size).toBe(0);
    const bare = readImage(compileProgram({ modules: [{ name: 'main', bytes: await wat('(module (func (export "f")))') }], arch: 'x86-64' }));
    expect(bare.memory).toBeNull();
    expect(bare.table).toBeNull();
    expect(bare.exports.map((e) => e.name)).toEqual(['f']);
  });
});

describe('damaged images are an ImageError', () => {
  test('too short for a header', () => {
    for (const n of [0, 1, 8, 12, HEADER_SIZE - 1]) {
      expectImageError(() => imageArch(compiled.slice(0, n)), /truncated header/);
      expectImageError(() => readImage(compiled.slice(0, n)), /truncated header/);
    }
  });

  test('bad magic (every byte)', () => {
    for (let k = 0; k < 8; k++) {
      const b = patched(compiled, (c) => { c[k] ^= 0x20; });
      expectImageError(() => imageArch(b), /bad magic/);
      expectImageError(() => readImage(b), /bad magic/);
    }
    expectImageError(() => readImage(new TextEncoder().encode('\0asm\x01\0\0\0'.padEnd(64, '\0'))), /bad magic/);
  });

  test('wrong version', () => {
    for (const v of [0, 2, 0x100, NONE]) {
      const b = patched(compiled, (_, dv) => dv.setUint32(8, v, true));
      expectImageError(() => imageArch(b), /version/);
      expectImageError(() => readImage(b), /version/);
    }
  });

  test('unknown arch tag', () => {
    for (const t of [0, 3, NONE]) {
      const b = patched(compiled, (_, dv) => dv.setUint32(12, t, true));
      expectImageError(() => imageArch(b), /arch tag/);
      expectImageError(() => readImage(b), /arch tag/);
    }
  });

  test('truncated anywhere after the header', () => {
    const cuts = new Set<number>([HEADER_SIZE, HEADER_SIZE + SECTION_ENTRY_SIZE - 1, HEADER_SIZE + SECTION_ENTRY_SIZE * 8 - 1, compiled.length - 1, compiled.length - ALIGN]);
    for (const e of sectionTable(compiled)) {
      for (const c of [e.offset - 1, e.offset, e.offset + 1, e.offset + e.size - 1]) if (c > HEADER_SIZE && c < compiled.length) cuts.add(c);
    }
    for (const n of cuts) {
      const b = compiled.slice(0, n);
      expect(imageArch(b)).toBe('x86-64'); // the header alone is intact
      expectImageError(() => readImage(b));
    }
  });

  test('section table larger than the file', () => {
    const fits = Math.floor((compiled.length - HEADER_SIZE) / SECTION_ENTRY_SIZE);
    for (const n of [fits + 1, 0x7fffffff, NONE]) expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setUint32(20, n, true))), /truncated section table/);
    // more entries that still fit: the extra (all-zero) entries are kind 0, which the reader ignores
    const count = new DataView(compiled.buffer, compiled.byteOffset).getUint32(20, true);
    expect(readImage(patched(compiled, (_, dv) => dv.setUint32(20, count + 1, true)))).toEqual(readImage(compiled));
  });

  test('section offsets and sizes out of range (incl. values beyond 2^53)', () => {
    const bad = [BigInt(compiled.length), BigInt(compiled.length) + 1n, 1n << 40n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, (1n << 64n) - 1n];
    for (const e of sectionTable(compiled)) {
      for (const v of bad) {
        expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setBigUint64(e.at + 8, v, true))), /past the end/);
        expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setBigUint64(e.at + 16, v, true))), /past the end/);
      }
      // in range separately, out of range together
      expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setBigUint64(e.at + 16, BigInt(compiled.length - e.offset + 1), true))), /past the end/);
    }
  });

  test('a required section missing', () => {
    for (const kind of [Section.Text, Section.FuncMap, Section.SiteMap, Section.Meta, Section.Memory]) {
      const b = patched(compiled, (_, dv) => dv.setUint32(entryOf(compiled, kind).at, 99, true));
      expectImageError(() => readImage(b), /missing/);
    }
  });

  test('sections too small for their fixed part (was a RangeError)', () => {
    for (const kind of [Section.FuncMap, Section.SiteMap, Section.Meta, Section.Memory]) {
      for (const size of [0, 1, 3, 7]) {
        expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setBigUint64(entryOf(compiled, kind).at + 16, BigInt(size), true))));
      }
    }
  });

  test('counts larger than their section', () => {
    const at = (k: Section): number => entryOf(compiled, k).offset;
    expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setUint32(at(Section.FuncMap), NONE, true))), /function map/);
    expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setUint32(at(Section.SiteMap), 1 << 20, true))), /site map/);
    for (const i of [8, 9, 10]) expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setUint32(at(Section.Meta) + 4 * i, NONE, true))), /metadata/);
    expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setUint32(at(Section.Memory), 2, true))), /memory index/);
  });

  test('strings, slot types and export types outside the string table', () => {
    const fm = entryOf(compiled, Section.FuncMap).offset;
    const sm = entryOf(compiled, Section.SiteMap).offset;
    const md = entryOf(compiled, Section.Meta).offset;
    const nStarts = view(compiled).getUint32(md + 36, true);
    const ex = md + META_FIXED + 4 * nStarts;
    for (const [off, v] of [[fm + 4 + 20, NONE], [fm + 4 + 24, NONE], [sm + 4 + 20, 1 << 30], [sm + 4 + 24, NONE], [ex + 8, NONE], [ex + 12, 1 << 30], [ex + 16, NONE], [ex + 20, NONE], [ex + 24, NONE]]) {
      expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setUint32(off, v, true))), /string out of range/);
    }
  });

  test('a name that is not UTF-8 (was a TypeError)', () => {
    const strings = entryOf(compiled, Section.Strings).offset;
    const fm = entryOf(compiled, Section.FuncMap).offset;
    const dv = view(compiled);
    const named = Array.from({ length: dv.getUint32(fm, true) }, (_, k) => fm + 4 + FUNC_ENTRY * k).find((e) => dv.getUint32(e + 24, true) > 0)!;
    const b = patched(compiled, (c) => { c[strings + dv.getUint32(named + 20, true)] = 0xff; });
    expectImageError(() => readImage(b), /UTF-8/);
  });

  test('a table section that is not whole u32s (was a RangeError)', () => {
    // section 7 is written only with entries (hand-made images)
    const i = readImage(compiled);
    const compiled7 = writeImage({ ...i, table: { ...i.table!, entries: Uint32Array.of(1, 2, 3, 4) } });
    const e = entryOf(compiled7, Section.Table);
    for (const size of [1, 2, 3, e.size - 1, e.size + 1]) {
      expectImageError(() => readImage(patched(compiled7, (_, dv) => dv.setBigUint64(e.at + 16, BigInt(size), true))), /table/);
    }
  });

  test('a memory page past the end of the file', () => {
    const mi = entryOf(compiled, Section.Memory).offset;
    for (const v of [BigInt(compiled.length - ALIGN + 1), BigInt(compiled.length), 1n << 62n, (1n << 64n) - 1n]) {
      expectImageError(() => readImage(patched(compiled, (_, dv) => dv.setBigUint64(mi + 16, v, true))), /memory page/);
    }
  });

  test('random damage to the header, section table and metadata sections never crashes the reader', () => {
    const rand = rng(0x5eed);
    const targets: [number, number][] = [[0, HEADER_SIZE + SECTION_ENTRY_SIZE * 8]];
    for (const e of sectionTable(compiled)) if (e.kind !== Section.Text && e.kind !== Section.Globals) targets.push([e.offset, e.offset + e.size]);
    let read = 0, refused = 0;
    for (let iter = 0; iter < 3000; iter++) {
      const b = compiled.slice();
      const dv = view(b);
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
        const [lo, hi] = targets[Math.floor(rand() * targets.length)];
        const at = lo + Math.floor(rand() * (hi - lo));
        const r = rand();
        if (r < 0.4) b[at] = Math.floor(rand() * 256);
        else if (r < 0.7 && at + 4 <= b.length) dv.setUint32(at & ~3, [0, 1, 0x7fffffff, NONE, Math.floor(rand() * 2 ** 32)][Math.floor(rand() * 5)], true);
        else b[at] ^= 1 << Math.floor(rand() * 8);
      }
      const cut = rand() < 0.2 ? Math.floor(rand() * b.length) : b.length;
      if (readsOrImageError(b.subarray(0, cut))) read++;
      else refused++;
    }
    expect(read + refused).toBe(3000);
    expect(refused).toBeGreaterThan(0);
  });
});

describe('store images (section 9: several instances)', () => {
  test('readImage gives back the linker\'s store; segments, exports, checks and descriptors as the modules say', async () => {
    const a = await wat(`(module
      (memory (export "mem") 1 4) (table (export "tab") 3 funcref)
      (global (export "g") (mut i32) (i32.const 7))
      (func $f (export "f") (result i32) (i32.const 1))
      (elem (i32.const 1) $f) (data (i32.const 16) "abc"))`);
    const b = await wat(`(module
      (import "a" "mem" (memory 1)) (import "a" "tab" (table 2 funcref)) (import "a" "g" (global (mut i32)))
      (func $h (result i32) (global.get 0))
      (elem (i32.const 0) $h) (data (i32.const 100) "xyz")
      (func (export "h") (result i32) (call $h)) (func $s (drop (call $h))) (start $s))`);
    const opts: ProgramOptions = { modules: [{ name: 'a', bytes: a }, { name: 'b', bytes: b, links: new Map([['a', 0]]) }], arch: 'x86-64', store: true };
    const linked = linkProgram(opts);
    const back = readImage(compileProgram(opts));
    expect(back.store).toEqual(linked.store);
    const st = back.store!;
    expect(st.memories).toHaveLength(1);
    expect(st.memories[0]).toMatchObject({ initialPages: 1, maxPages: 4 });
    expect(st.tables).toHaveLength(1);
    expect(st.tables[0]).toMatchObject({ initialSize: 3, maxSize: null });
    // the importer uses the exporter's descriptors; descriptors follow the globals
    const [ia, ib] = st.instances;
    expect(ib.datas[0].memoryDesc).toBe(ia.datas[0].memoryDesc);
    expect(ib.elems[0].tableDesc).toBe(ia.elems[0].tableDesc);
    expect(st.memories[0].descOff).toBe(VMCTX.globals + 8 * back.globalTypes.length);
    expect(ia.datas[0]).toMatchObject({ offset: 16 });
    expect(Array.from(ia.datas[0].bytes)).toEqual([0x61, 0x62, 0x63]);
    expect(ib.datas[0]).toMatchObject({ offset: 100 });
    expect(ia.elems[0].offset).toBe(1);
    expect(ib.start).not.toBeNull();
    expect(ia.start).toBeNull();
    expect(ib.checks).toEqual([{ descOff: st.memories[0].descOff, kind: 'memory', min: 1 }, { descOff: st.tables[0].descOff, kind: 'table', min: 2 }]);
    expect(ia.exports.map((e) => e.name)).toEqual(['g', 'f']);
    // nothing is instantiated by the image itself
    expect(back.memory).toBeNull();
    expect(back.table).toBeNull();
    expect(back.starts).toEqual([]);
    expect(back.exports).toEqual([]);
  });

  test('imports are checked against the exporter\'s maximum at link time', async () => {
    const a = await wat('(module (memory (export "mem") 1 4))');
    const b = await wat('(module (import "a" "mem" (memory 1 2)))');
    expect(() => linkProgram({ modules: [{ name: 'a', bytes: a }, { name: 'b', bytes: b }], arch: 'x86-64', store: true })).toThrow(/incompatible import type for a.mem/);
  });

  test('a truncated store section is a bad image', async () => {
    const a = await wat('(module (memory (export "mem") 1) (func (export "f")))');
    const img = compileProgram({ modules: [{ name: 'a', bytes: a }], arch: 'x86-64', store: true });
    const dv = view(img);
    for (let k = 0; k < dv.getUint32(20, true); k++) {
      const at = HEADER_SIZE + SECTION_ENTRY_SIZE * k;
      if (dv.getUint32(at, true) === Section.Store) dv.setBigUint64(at + 16, 20n, true);
    }
    expect(() => readImage(img)).toThrow(ImageError);
  });
});
