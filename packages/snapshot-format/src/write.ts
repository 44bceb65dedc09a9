import { createHash } from 'crypto';
import { LIMITS, type ConstExpr, type Module } from '@wagc/frontend';
import { ByteWriter, Cursor, putSleb32, putUleb32, sleb32Size, uleb32Size } from './binary';
import { SnapshotError } from './errors';
import { checkMemoryInput, copyRun, findRuns, mergeRuns, type Run } from './memory';
import { checkFramesAgainstModule, decode, typeName, VALUE_TYPES } from './module-info';
import { emitModule, ID, insertInOrder, scanSections, type OutSection } from './sections';
import {
  ARCH_IDS, FLAG_TABLES, isTrapId, SECTION, SNAPSHOT_VERSION, SNAPSHOT_VERSION_MIN, SNAPSHOT_VERSION_V128, SPLIT_ZERO_WORDS, STATE_IDS,
  type MemoryInput, type SnapshotInput,
} from './types';

const W = 'cannot write snapshot';

/** Masks a bit pattern to its type's width. */
export function maskBits(type: number, bits: bigint): bigint {
  if (type === 0x7b) return BigInt.asUintN(128, bits);
  return type === 0x7f || type === 0x7d ? BigInt.asUintN(32, bits) : BigInt.asUintN(64, bits);
}

/** Bytes of a value's bits in gate.* sections: 16 for a v128, else 8. */
export function valueBytes(type: number): number {
  return type === 0x7b ? 16 : 8;
}

/**
 * Writes a snapshot (docs/snapshot-format.md). The module may itself be a snapshot: its exports
 * come back from gate.export and its gate.* sections are replaced. Throws SnapshotError when the
 * input does not describe a state of this module, or when the snapshot would exceed 1 GiB.
 */
export function writeSnapshot(input: SnapshotInput): Uint8Array {
  const raw = scanSections(input.module);
  const m = decode(input.module, `${W}: the module`);
  const { state } = input;
  if (!(state in STATE_IDS)) throw new SnapshotError(`${W}: unknown state ${JSON.stringify(state)}`);
  if (!(input.arch in ARCH_IDS)) throw new SnapshotError(`${W}: unknown arch ${JSON.stringify(input.arch)}`);
  const trapId = input.trapId ?? 0;
  if (state === 'trapped' ? !isTrapId(trapId) : trapId !== 0) {
    throw new SnapshotError(`${W}: trap id ${trapId} ${state === 'trapped' ? 'is not 1 … 10 or 13' : `given for a ${state} instance`}`);
  }
  const exitStatus = input.exitStatus ?? 0;
  if (!Number.isInteger(exitStatus) || (state !== 'exited' && exitStatus !== 0)) {
    throw new SnapshotError(`${W}: exit status ${exitStatus} ${state === 'exited' ? 'is not an integer' : `given for a ${state} instance`}`);
  }
  checkFramesAgainstModule(m, input.frames, state, W);

  // globals
  if (input.globals.length !== m.globals.length) {
    throw new SnapshotError(`${W}: ${input.globals.length} global values given, the module defines ${m.globals.length} globals`);
  }
  const importedGlobalTypes = m.imports.flatMap((i) => (i.desc.kind === 'global' ? [i.desc.type] : []));
  let imported = input.importedGlobals ?? [];
  if (imported.length && imported.length !== importedGlobalTypes.length) {
    throw new SnapshotError(`${W}: ${imported.length} imported global values given, the module imports ${importedGlobalTypes.length} globals`);
  }
  if (!imported.length && importedGlobalTypes.some((t) => t.mutable)) {
    throw new SnapshotError(`${W}: the module imports a mutable global, whose current value must be given (importedGlobals)`);
  }
  if (imported.length && importedGlobalTypes.some((t) => !VALUE_TYPES.has(t.type))) {
    // a reference-typed import cannot be recorded as bits; it comes from the exporter
    if (importedGlobalTypes.some((t) => t.mutable && !VALUE_TYPES.has(t.type))) throw new SnapshotError(`${W}: the module imports a mutable reference-typed global`);
    imported = [];
  }

  // memory
  const limits0 = m.memories[0] ?? null;
  // a memory of minimum 0 that never grew may be given as null (a state file without pages)
  const mem: MemoryInput | null = input.memory ?? (limits0 && limits0.min === 0 ? { pages: 0, pageMap: new Map() } : null);
  if (m.importedMemories > 0) {
    const imp = m.imports.find((i) => i.desc.kind === 'memory')!;
    throw new SnapshotError(`${W}: the module imports its memory (${imp.module}.${imp.name}); snapshots need a module that defines it`);
  }
  const limits = limits0;
  if (!limits !== !mem) throw new SnapshotError(`${W}: ${limits ? 'the module defines a memory but none is given' : 'memory given, but the module has none'}`);
  if (limits && mem) {
    checkMemoryInput(mem);
    if (mem.pages < limits.min) throw new SnapshotError(`${W}: memory of ${mem.pages} pages, smaller than the module's minimum ${limits.min}`);
    if (limits.max !== null && mem.pages > limits.max) throw new SnapshotError(`${W}: memory of ${mem.pages} pages, more than the module's maximum ${limits.max}`);
  }

  // buffer
  const buffer = input.buffer ?? [];
  const seen = new Set<string>();
  for (const b of buffer) {
    if (!Number.isInteger(b.fd) || b.fd < 0 || b.fd > 0xffffffff) throw new SnapshotError(`${W}: buffer fd ${b.fd} is not a u32`);
    if (b.direction !== 'in' && b.direction !== 'out') throw new SnapshotError(`${W}: buffer direction ${JSON.stringify(b.direction)}`);
    const key = `${b.fd}:${b.direction}`;
    if (seen.has(key)) throw new SnapshotError(`${W}: two buffer entries for fd ${b.fd} ${b.direction}`);
    seen.add(key);
  }

  // the input's export section: its own, or a snapshot's gate.export
  let exportPayload: Uint8Array | null = null;
  for (const s of raw) {
    if (s.id === ID.export || (s.id === 0 && s.name === SECTION.export)) exportPayload = input.module.subarray(s.start, s.end);
  }
  const hasStack = input.frames.length > 0;

  const out: OutSection[] = [];
  const hasDataCount = m.dataCount !== null;
  for (const s of raw) {
    const payload = input.module.subarray(s.start, s.end);
    switch (s.id) {
      case ID.custom:
        if (s.name!.startsWith('gate.')) break;
        out.push({ id: 0, name: s.name, payload });
        break;
      case ID.memory:
        out.push({ id: ID.memory, payload: memorySection(limits!.max, mem!.pages) });
        break;
      case ID.global:
        out.push({ id: ID.global, payload: globalSection(m, input.globals) });
        break;
      case ID.table:
        out.push({ id: ID.table, payload: input.tables ? tableSection(m, input.tables) : payload });
        break;
      case ID.element:
        if (!input.tables) out.push({ id: ID.element, payload });
        break; // with tables: written below
      case ID.export:
      case ID.start:
      case ID.data:
      case ID.dataCount:
        break; // written below
      default:
        out.push({ id: s.id, payload });
    }
  }
  if (exportPayload && !hasStack) insertInOrder(out, { id: ID.export, payload: exportPayload });
  // a snapshot given as the module: its gate.snapshot says whether its tables were written
  const inputSnapshot = raw.find((s) => s.id === 0 && s.name === SECTION.snapshot);
  const inputFlags = inputSnapshot ? snapshotFlags(input.module, inputSnapshot) : 0;
  if (input.tables) {
    const elems = elementSection(m, input.tables, input.droppedSegments, (inputFlags & FLAG_TABLES) !== 0);
    if (elems) insertInOrder(out, { id: ID.element, payload: elems });
  }
  const dropped = new Set(input.droppedData ?? []);
  for (const x of dropped) {
    if (!Number.isInteger(x) || x < 0 || x >= m.data.length) throw new SnapshotError(`${W}: dropped data segment ${x}: the module has ${m.data.length} data segments`);
    if (!hasDataCount) throw new SnapshotError(`${W}: dropped data segment ${x}: the module has no data count section, so nothing can drop a segment`);
  }
  const dataSection = dataSectionFor(m, mem, hasDataCount, inputSnapshot !== undefined, dropped);
  if (dataSection) insertInOrder(out, dataSection);
  if (hasDataCount) insertInOrder(out, { id: ID.dataCount, payload: new ByteWriter().u32(dataSection ? dataSection.count! : 0).done() });

  // gate.*: version 2 only when a v128 value is written (types.ts)
  const hasV128 = input.frames.some((f) => f.slots.some((x) => x.type === 0x7b)) ||
    m.globals.some((g) => g.type.type === 0x7b) || (imported.length > 0 && importedGlobalTypes.some((t) => t.type === 0x7b));
  const version = hasV128 ? SNAPSHOT_VERSION_V128 : SNAPSHOT_VERSION_MIN;
  const snap = new ByteWriter()
    .u32(version).u8(STATE_IDS[state]).u8(ARCH_IDS[input.arch]).u32(trapId).u32(exitStatus >>> 0)
    // without tables the table and element sections are the module's: written as they were
    .u32(input.tables ? FLAG_TABLES : inputFlags & FLAG_TABLES)
    .u32(imported.length);
  imported.forEach((v, k) => snap.u8(importedGlobalTypes[k].type).fixed(maskBits(importedGlobalTypes[k].type, v), valueBytes(importedGlobalTypes[k].type)));
  out.push({ id: 0, name: SECTION.snapshot, payload: snap.done() });
  if (input.runtime !== undefined && !(input.runtime instanceof Uint8Array)) throw new SnapshotError(`${W}: runtime is not the library module's bytes`);
  const runtimeFrames = input.frames.some((f) => f.module === 'runtime');
  const digest = runtimeFrames && input.runtime ? createHash('sha256').update(input.runtime).digest() : new Uint8Array(0);
  if (hasStack) out.push({ id: 0, name: SECTION.stack, payload: stackSection(input.frames, digest) });
  const buf = new ByteWriter().u32(buffer.filter((b) => b.bytes.length > 0).length);
  for (const b of buffer) if (b.bytes.length) buf.u32(b.fd).u8(b.direction === 'in' ? 0 : 1).vecBytes(b.bytes);
  out.push({ id: 0, name: SECTION.buffer, payload: buf.done() });
  if (hasStack) out.push({ id: 0, name: SECTION.export, payload: exportPayload ?? new Uint8Array([0]) });
  return emitModule(out, LIMITS.moduleSize);
}

function memorySection(max: number | null, pages: number): Uint8Array {
  const w = new ByteWriter().u32(1).u8(max === null ? 0 : 1).u32(pages);
  if (max !== null) w.u32(max);
  return w.done();
}

export function constExpr(w: ByteWriter, e: ConstExpr): void {
  switch (e.kind) {
    case 'i32': w.u8(0x41).s32(e.value); break;
    case 'i64': w.u8(0x42).s64(e.value); break;
    case 'f32': w.u8(0x43).fixed(BigInt(e.bits >>> 0), 4); break;
    case 'f64': w.u8(0x44).fixed(e.bits, 8); break;
    case 'v128': w.u8(0xfd).u32(12).fixed(e.bits, 16); break;
    case 'global': w.u8(0x23).u32(e.index); break;
    case 'refnull': w.u8(0xd0).u8(e.type); break;
    case 'reffunc': w.u8(0xd2).u32(e.index); break;
  }
  w.u8(0x0b);
}

function globalSection(m: Module, values: bigint[]): Uint8Array {
  const w = new ByteWriter().u32(m.globals.length);
  m.globals.forEach((g, k) => {
    const t = g.type.type;
    w.u8(t).u8(g.type.mutable ? 1 : 0);
    const v = values[k];
    if (VALUE_TYPES.has(t) && typeof v !== 'bigint') throw new SnapshotError(`${W}: global ${m.importedGlobals + k} (${typeName(t)}): value is not a bigint`);
    switch (t) {
      case 0x7f: w.u8(0x41).s32(Number(BigInt.asIntN(32, v))).u8(0x0b); break;
      case 0x7e: w.u8(0x42).s64(v).u8(0x0b); break;
      case 0x7d: w.u8(0x43).fixed(v, 4).u8(0x0b); break;
      case 0x7c: w.u8(0x44).fixed(v, 8).u8(0x0b); break;
      case 0x7b: w.u8(0xfd).u32(12).fixed(v, 16).u8(0x0b); break; // v128.const
      case 0x70: case 0x6f:
        if (typeof v !== 'bigint') { constExpr(w, g.init); break; } // not given: as initialised
        refExpr(w, t, v, `global ${m.importedGlobals + k}`);
        break;
      default: constExpr(w, g.init);
    }
  });
  return w.done();
}

/** A reference's constant expression: ref.null t, or ref.func of a function of the module. */
function refExpr(w: ByteWriter, type: number, bits: bigint, what: string): void {
  if (bits === 0n) {
    w.u8(0xd0).u8(type).u8(0x0b);
    return;
  }
  if (type !== 0x70) throw new SnapshotError(`${W}: ${what} holds a non-null externref (a host handle no constant expression can write)`);
  if (bits >> 32n !== 0n) throw new SnapshotError(`${W}: ${what} holds a function of the runtime library, which the snapshot's module cannot name`);
  w.u8(0xd2).u32(Number(bits & 0xffffffffn) - 1).u8(0x0b);
}

/** The defined tables with their current sizes as minimum (maximum and type kept). */
function tableSection(m: Module, tables: BigUint64Array[]): Uint8Array {
  if (tables.length !== m.tables.length) throw new SnapshotError(`${W}: ${tables.length} tables given, the module defines ${m.tables.length}`);
  const w = new ByteWriter().u32(m.tables.length);
  m.tables.forEach((t, k) => {
    const size = tables[k].length;
    if (size < t.limits.min || (t.limits.max !== null && size > t.limits.max)) throw new SnapshotError(`${W}: table ${m.importedTables + k} of ${size} entries, outside its limits`);
    w.u8(t.elemType).u8(t.limits.max === null ? 0 : 1).u32(size);
    if (t.limits.max !== null) w.u32(t.limits.max);
  });
  return w.done();
}

/** The flags of a module's gate.snapshot section (0 for a version this writer does not know). */
function snapshotFlags(bytes: Uint8Array, s: { start: number; end: number }): number {
  const c = new Cursor(bytes, s.start, s.end, `${W}: the module's gate.snapshot`);
  const version = c.u32();
  if (version < SNAPSHOT_VERSION_MIN || version > SNAPSHOT_VERSION) return 0;
  c.u8();
  c.u8();
  c.u32();
  c.u32();
  return c.u32();
}

/**
 * The element section of a snapshot with tables: the original segments keep their indices, a
 * dropped one (every active and declarative one, and those elem.drop dropped) becomes
 * declarative (dropped at instantiation, and its ref.func still declare their functions), a
 * passive one stays; then one active segment (flags 6, expressions) per defined table writes
 * its current entries. Null when there is nothing to write. When the module is a snapshot whose
 * tables were written (`tablesWritten`), its own active segments are the tables of its time,
 * which these replace: only the segments before them are originals, so a chain of snapshots
 * keeps one segment per table.
 */
function elementSection(m: Module, tables: BigUint64Array[], dropped: boolean[] | undefined, tablesWritten: boolean): Uint8Array | null {
  if (!dropped || dropped.length !== m.elements.length) throw new SnapshotError(`${W}: droppedSegments must say for each of the module's ${m.elements.length} element segments whether it is dropped`);
  let originals = m.elements;
  if (tablesWritten) {
    const firstActive = originals.findIndex((e) => e.mode === 'active');
    if (firstActive >= 0) originals = originals.slice(0, firstActive);
  }
  const count = originals.length + tables.filter((t) => t.length > 0).length;
  if (count === 0) return null;
  const w = new ByteWriter().u32(count);
  originals.forEach((seg, k) => {
    w.u8(dropped[k] ? 7 : 5).u8(seg.elemType).u32(seg.init.length);
    for (const e of seg.init) constExpr(w, e);
  });
  tables.forEach((entries, k) => {
    if (!entries.length) return;
    const t = m.tables[k];
    w.u8(6).u32(m.importedTables + k).u8(0x41).s32(0).u8(0x0b).u8(t.elemType).u32(entries.length);
    entries.forEach((bits, j) => refExpr(w, t.elemType, bits, `table ${m.importedTables + k} entry ${j}`));
  });
  return w.done();
}

function stackSection(frames: SnapshotInput['frames'], runtimeDigest: Uint8Array): Uint8Array {
  const w = new ByteWriter().vecBytes(runtimeDigest).u32(frames.length);
  for (const f of frames) {
    w.u8(f.module === 'runtime' ? 1 : 0).u32(f.func).u32(f.site).u32(f.slots.length);
    for (const s of f.slots) w.u8(s.type).fixed(maskBits(s.type, s.bits), valueBytes(s.type));
  }
  return w.done();
}

/**
 * The new data section (docs/snapshot-format.md): kept original segments when the module has a
 * data count section, then memory runs. Written straight into the output (memory is not copied
 * twice). Null when there is no segment at all.
 */
function dataSectionFor(m: Module, mem: MemoryInput | null, keepOriginals: boolean, inputIsSnapshot: boolean, dropped: Set<number>): (OutSection & { count: number }) | null {
  // a snapshot's own active segments are memory (written anew), after its kept passive ones
  let originals = keepOriginals ? m.data : [];
  if (inputIsSnapshot) {
    const firstActive = originals.findIndex((d) => d.mode === 'active');
    if (firstActive >= 0) originals = originals.slice(0, firstActive);
  }
  const room = LIMITS.dataSegments - originals.length;
  let runs: Run[] = mem ? findRuns(mem, SPLIT_ZERO_WORDS) : [];
  for (let gap = SPLIT_ZERO_WORDS * 8; runs.length > room; gap *= 2) runs = mergeRuns(runs, gap);
  const count = originals.length + runs.length;
  if (count === 0) return null;
  let size = uleb32Size(count);
  // active (applied at instantiation) and dropped segments are empty passive ones
  const empty = (d: (typeof originals)[number], x: number): boolean => d.mode === 'active' || dropped.has(x);
  originals.forEach((d, x) => { size += empty(d, x) ? 2 : 1 + uleb32Size(d.end - d.start) + (d.end - d.start); });
  for (const r of runs) size += 1 + 1 + sleb32Size(r.start) + 1 + uleb32Size(r.end - r.start) + (r.end - r.start);
  const write = (out: Uint8Array, pos: number): void => {
    pos = putUleb32(out, pos, count);
    for (let x = 0; x < originals.length; x++) {
      const d = originals[x];
      out[pos++] = 1; // passive
      if (empty(d, x)) out[pos++] = 0; // dropped (at instantiation or by data.drop): empty
      else {
        pos = putUleb32(out, pos, d.end - d.start);
        out.set(m.bytes.subarray(d.start, d.end), pos);
        pos += d.end - d.start;
      }
    }
    for (const r of runs) {
      out[pos++] = 0;
      out[pos++] = 0x41;
      pos = putSleb32(out, pos, r.start);
      out[pos++] = 0x0b;
      pos = putUleb32(out, pos, r.end - r.start);
      copyRun(mem!, r.start, r.end, out, pos);
      pos += r.end - r.start;
    }
  };
  return { id: ID.data, size, write, count };
}
