import type { Module } from '@wagc/frontend';
import { Cursor } from './binary';
import { SnapshotError } from './errors';
import { PAGE } from './memory';
import { checkFramesAgainstModule, checkFuncRef, decode, typeName, SLOT_TYPES, VALUE_TYPES } from './module-info';
import { emitModule, ID, insertInOrder, scanSections, sectionInfo, type OutSection, type RawSection } from './sections';
import {
  FLAG_TABLES, isTrapId, SECTION, SNAPSHOT_VERSION, SNAPSHOT_VERSION_MIN, SNAPSHOT_VERSION_V128, STATES, type Frame, type MemorySegment, type PendingIO, type Slot,
  type Snapshot, type SnapshotArch,
} from './types';

const KNOWN = new Set<string>(Object.values(SECTION));

/** The gate.* sections of a module, each at most once. */
function gateSections(raw: RawSection[]): Map<string, RawSection> {
  const found = new Map<string, RawSection>();
  for (const s of raw) {
    if (s.id !== 0 || !s.name!.startsWith('gate.')) continue;
    if (!KNOWN.has(s.name!)) throw new SnapshotError(`unknown section ${s.name} (at offset ${s.offset}): the gate. prefix is reserved, and this reader knows version ${SNAPSHOT_VERSION}`);
    if (found.has(s.name!)) throw new SnapshotError(`section ${s.name} twice (at offsets ${found.get(s.name!)!.offset} and ${s.offset})`);
    found.set(s.name!, s);
  }
  return found;
}

function cursor(bytes: Uint8Array, s: RawSection): Cursor {
  return new Cursor(bytes, s.start, s.end, s.name ?? 'section');
}

function trailing(c: Cursor): void {
  if (!c.eof()) c.fail(`${c.end - c.pos} trailing bytes after the last field`);
}

/** Value bits of a slot or global: high half zero for i32/f32; 16 bytes for a v128 (version 2). */
function readValue(c: Cursor, what: string, version: number): Slot {
  const at = c.pos;
  const type = c.u8();
  if (!SLOT_TYPES.has(type) || (type === 0x7b && version < SNAPSHOT_VERSION_V128)) {
    c.fail(`${what}: type ${typeName(type)} is not i32, i64, f32, f64, ${version >= SNAPSHOT_VERSION_V128 ? 'v128, ' : ''}funcref or externref`, at);
  }
  const bitsAt = c.pos;
  const bits = type === 0x7b ? c.u64le() | (c.u64le() << 64n) : c.u64le();
  if ((type === 0x7f || type === 0x7d) && bits >> 32n !== 0n) c.fail(`${what}: ${typeName(type)} value with non-zero high bytes`, bitsAt);
  const bad = type === 0x70 ? checkFuncRef(bits) : null;
  if (bad) c.fail(`${what}: ${bad}`, bitsAt);
  return { type, bits };
}

/**
 * Reads and checks a snapshot (docs/snapshot-format.md, "Reader rules"). Nothing is copied:
 * memory segments and buffers are views into `bytes`. Any problem is a SnapshotError.
 */
export function readSnapshot(bytes: Uint8Array): Snapshot {
  const raw = scanSections(bytes);
  const gate = gateSections(raw);
  const head = gate.get(SECTION.snapshot);
  if (!head) throw new SnapshotError('not a snapshot (no gate.snapshot section)');

  // gate.snapshot: the version before anything else
  const c = cursor(bytes, head);
  const version = c.u32();
  if (version < SNAPSHOT_VERSION_MIN || version > SNAPSHOT_VERSION) {
    c.fail(`unsupported snapshot version ${version} (this reader knows ${SNAPSHOT_VERSION_MIN} to ${SNAPSHOT_VERSION})`, head.start);
  }
  let at = c.pos;
  const stateId = c.u8();
  if (stateId >= STATES.length) c.fail(`unknown state ${stateId}`, at);
  const state = STATES[stateId];
  at = c.pos;
  const archId = c.u8();
  if (archId !== 1 && archId !== 2) c.fail(`unknown arch tag ${archId}`, at);
  const arch: SnapshotArch = archId === 1 ? 'x86-64' : 'arm64';
  at = c.pos;
  const trapId = c.u32();
  if (state === 'trapped' ? !isTrapId(trapId) : trapId !== 0) {
    c.fail(state === 'trapped' ? `trap id ${trapId} is not 1 … 10 or 13` : `trap id ${trapId} in a ${state} snapshot`, at);
  }
  at = c.pos;
  const exitStatus = c.u32();
  if (state !== 'exited' && exitStatus !== 0) c.fail(`exit status ${exitStatus} in a ${state} snapshot`, at);
  at = c.pos;
  const flags = c.u32();
  if (flags & ~FLAG_TABLES) c.fail(`unknown flags 0x${(flags & ~FLAG_TABLES).toString(16)}`, at);
  const nImported = c.count(9, 'imported global values');
  const importedValues: Slot[] = [];
  for (let k = 0; k < nImported; k++) importedValues.push(readValue(c, `imported global ${k}`, version));
  trailing(c);

  // framing rules between sections
  const stackSec = gate.get(SECTION.stack);
  const exportSec = gate.get(SECTION.export);
  if (!!stackSec !== !!exportSec) throw new SnapshotError(`${stackSec ? 'gate.stack without gate.export' : 'gate.export without gate.stack'}: both or neither`);
  if (state === 'halted' && stackSec) throw new SnapshotError('a halted snapshot with a gate.stack section');
  if (state === 'suspended' && !stackSec) throw new SnapshotError('a suspended snapshot without a gate.stack section');
  if (!gate.get(SECTION.buffer)) throw new SnapshotError('no gate.buffer section');
  for (const s of raw) {
    if (s.id === ID.start) throw new SnapshotError(`a snapshot with a start section (at offset ${s.offset})`);
    if (s.id === ID.export && exportSec) throw new SnapshotError(`an export section (at offset ${s.offset}) next to gate.export: the exports of a snapshot with a stack are hidden`);
  }

  const m = decode(bytes, 'the snapshot module');

  // with its tables written, the module's own segments (none active) come before the tables'
  if (flags & FLAG_TABLES) {
    const active = m.elements.findIndex((e) => e.mode === 'active');
    if (active >= 0 && m.elements.slice(active).some((e) => e.mode !== 'active')) {
      throw new SnapshotError(`gate.snapshot says the tables are written, but element segment ${active} is active and a later one is not: the table segments must come last`);
    }
  }

  // imported globals
  const importedTypes = m.imports.flatMap((i) => (i.desc.kind === 'global' ? [i.desc.type.type] : []));
  if (nImported && nImported !== importedTypes.length) throw new SnapshotError(`gate.snapshot: ${nImported} imported global values, the module imports ${importedTypes.length} globals`);
  importedValues.forEach((v, k) => {
    if (v.type !== importedTypes[k]) throw new SnapshotError(`gate.snapshot: imported global ${k} is ${typeName(importedTypes[k])}, its value ${typeName(v.type)}`);
  });

  // memory
  if (m.importedMemories) throw new SnapshotError('the snapshot module imports its memory');
  let memory: Snapshot['memory'] = null;
  const segments: MemorySegment[] = [];
  if (m.memories.length) {
    const lim = m.memories[0];
    memory = { pages: lim.min, maxPages: lim.max, segments };
  }
  for (const [k, d] of m.data.entries()) {
    if (d.mode !== 'active') continue;
    if (!memory) throw new SnapshotError(`data segment ${k} without a memory`);
    if (d.memory !== 0 || !d.offset || d.offset.kind !== 'i32') throw new SnapshotError(`data segment ${k}: its offset is not an i32.const (a snapshot's memory segments are)`);
    const address = d.offset.value >>> 0;
    if (address + (d.end - d.start) > memory.pages * PAGE) {
      throw new SnapshotError(`data segment ${k}: bytes ${address} … ${address + (d.end - d.start)} outside the memory's ${memory.pages} pages`);
    }
    segments.push({ address, bytes: bytes.subarray(d.start, d.end) });
  }

  // globals: their current values are their (constant) initialisers
  const globals = m.globals.map((g, k) => {
    const e = g.init;
    let bits = 0n;
    if (VALUE_TYPES.has(g.type.type)) {
      if (e.kind === 'i32') bits = BigInt(e.value >>> 0);
      else if (e.kind === 'i64') bits = BigInt.asUintN(64, e.value);
      else if (e.kind === 'f32') bits = BigInt(e.bits >>> 0);
      else if (e.kind === 'f64') bits = BigInt.asUintN(64, e.bits);
      else if (e.kind === 'v128') bits = e.bits;
      else throw new SnapshotError(`global ${m.importedGlobals + k}: its initialiser is not a constant (a snapshot's are)`);
      const want = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128' }[g.type.type];
      if (e.kind !== want) throw new SnapshotError(`global ${m.importedGlobals + k}: ${typeName(g.type.type)} initialised by ${e.kind}.const`);
    }
    // references: null is 0, ref.func f is the portable word f + 1
    else if (e.kind === 'reffunc') bits = BigInt(e.index + 1);
    return { type: g.type.type, mutable: g.type.mutable, bits };
  });

  // gate.stack
  const frames: Frame[] = [];
  let runtimeDigest: Uint8Array | null = null;
  if (stackSec) {
    const s = cursor(bytes, stackSec);
    const digestAt = s.pos;
    const digest = s.bytesN(s.u32());
    if (digest.length !== 0 && digest.length !== 32) s.fail(`runtime digest of ${digest.length} bytes (SHA-256 has 32)`, digestAt);
    const n = s.count(4, 'frames');
    if (n === 0) s.fail('no frames');
    for (let k = 0; k < n; k++) {
      const ownerAt = s.pos;
      const owner = s.u8();
      if (owner > 1) s.fail(`frame ${k}: module ${owner} is neither 0 (the snapshot's) nor 1 (the runtime library)`, ownerAt);
      const func = s.u32();
      const site = s.u32();
      const nSlots = s.count(9, `slots of frame ${k}`);
      const slots: Slot[] = [];
      for (let j = 0; j < nSlots; j++) slots.push(readValue(s, `frame ${k} slot ${j}`, version));
      frames.push(owner ? { module: 'runtime', func, site, slots } : { func, site, slots });
    }
    trailing(s);
    if (digest.length && !frames.some((f) => f.module === 'runtime')) s.fail('a runtime digest without runtime frames', digestAt);
    if (digest.length) runtimeDigest = digest;
    checkFramesAgainstModule(m, frames, state, 'gate.stack');
  }

  // gate.buffer
  const buffer: PendingIO[] = [];
  const b = cursor(bytes, gate.get(SECTION.buffer)!);
  const nb = b.count(3, 'buffer entries');
  const seen = new Set<string>();
  for (let k = 0; k < nb; k++) {
    const entryAt = b.pos;
    const fd = b.u32();
    const dirAt = b.pos;
    const dir = b.u8();
    if (dir > 1) b.fail(`buffer entry ${k}: direction ${dir} is neither 0 (input) nor 1 (output)`, dirAt);
    const data = b.bytesN(b.u32());
    const key = `${fd}:${dir}`;
    if (seen.has(key)) b.fail(`buffer entry ${k}: a second entry for fd ${fd} ${dir ? 'output' : 'input'}`, entryAt);
    seen.add(key);
    buffer.push({ fd, direction: dir ? 'out' : 'in', bytes: data });
  }
  trailing(b);

  // gate.export
  let exportSection: Uint8Array | null = null;
  if (exportSec) {
    exportSection = bytes.subarray(exportSec.start, exportSec.end);
    checkExports(bytes, exportSec, m);
  }

  return {
    version, state, trapId, exitStatus, arch, flags, memory,
    globals, importedGlobals: nImported ? importedValues : null, frames, runtimeDigest, buffer, exportSection,
    module: bytes, sections: raw.map(sectionInfo), functionNames: m.names.functions, importedFuncs: m.importedFuncs,
  };
}

/** gate.export must decode as an export section of this module. */
function checkExports(bytes: Uint8Array, sec: RawSection, m: Module): void {
  const c = cursor(bytes, sec);
  const n = c.count(3, 'exports');
  const counts = [
    m.importedFuncs + m.functions.length, m.importedTables + m.tables.length,
    m.importedMemories + m.memories.length, m.importedGlobals + m.globals.length,
  ];
  const names = new Set<string>();
  for (let k = 0; k < n; k++) {
    const name = c.name();
    const at = c.pos;
    const kind = c.u8();
    if (kind > 3) c.fail(`export ${k}: kind ${kind}`, at);
    const index = c.u32();
    if (index >= counts[kind]) c.fail(`export ${k} (${JSON.stringify(name)}): ${['function', 'table', 'memory', 'global'][kind]} ${index} does not exist`, at);
    if (names.has(name)) c.fail(`export ${k}: duplicate export name ${JSON.stringify(name)}`, at);
    names.add(name);
  }
  trailing(c);
}

export interface RestoreOptions {
  /** Keep the gate.* custom sections (default: strip them). */
  keepGateSections?: boolean;
  /**
   * Keep gate.snapshot alone (a few bytes): the module then still says it is a snapshot, so that
   * the writer of the next snapshot of the resumed instance writes its memory and tables anew
   * instead of keeping this generation's segments as originals (wagc compiles this).
   */
  keepSnapshotSection?: boolean;
}

/**
 * The snapshot as a module for the compiler: the export section back from gate.export (at its
 * place in section order) and, unless asked to keep them, without the gate.* sections. Every
 * other section is the snapshot's, byte for byte (the code section included).
 */
export function restoreModule(snapshot: Snapshot | Uint8Array, opts: RestoreOptions = {}): Uint8Array {
  const bytes = snapshot instanceof Uint8Array ? snapshot : snapshot.module;
  const raw = scanSections(bytes);
  const out: OutSection[] = [];
  let exp: Uint8Array | null = null;
  for (const s of raw) {
    const payload = bytes.subarray(s.start, s.end);
    if (s.id === 0 && s.name === SECTION.export) exp = payload;
    if (s.id === 0 && s.name!.startsWith('gate.') && !opts.keepGateSections && !(opts.keepSnapshotSection && s.name === SECTION.snapshot)) continue;
    out.push(s.id === 0 ? { id: 0, name: s.name, payload } : { id: s.id, payload });
  }
  if (exp && !raw.some((s) => s.id === ID.export)) insertInOrder(out, { id: ID.export, payload: exp });
  return emitModule(out, Infinity);
}

/** A site of the compiler's site map, in module function indices. */
export interface SiteInfo {
  /** The program's module (absent or 'program') or the runtime library's. */
  module?: 'program' | 'runtime';
  func: number;
  site: number;
  /** One per 8-byte frame slot (a v128 is two slots, both 0x7b), as the site map records them. */
  slotTypes: ArrayLike<number>;
  /**
   * An entry or loop check (true) or a call (false); when given, the innermost frame must be at a
   * check and every other frame at a call (a suspended stack waits in calls below its check).
   */
  check?: boolean;
}

/**
 * A site map's slot types (one per 8-byte frame slot, a v128's two slots both 0x7b) as the types
 * of the values they hold, in order.
 */
export function siteValueTypes(types: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let s = 0; s < types.length; s++) {
    out.push(types[s]);
    if (types[s] === 0x7b) s++;
  }
  return out;
}

/** The non-zero pages of a snapshot's memory, assembled from its segments (copies). */
export function memoryPages(snapshot: Pick<Snapshot, 'memory'>): Map<number, Uint8Array> {
  const pages = new Map<number, Uint8Array>();
  for (const seg of snapshot.memory?.segments ?? []) {
    let a = seg.address;
    const end = seg.address + seg.bytes.length;
    while (a < end) {
      const p = Math.floor(a / PAGE);
      const b = Math.min(end, (p + 1) * PAGE);
      let page = pages.get(p);
      if (!page) pages.set(p, (page = new Uint8Array(PAGE)));
      page.set(seg.bytes.subarray(a - seg.address, b - seg.address), a - p * PAGE);
      a = b;
    }
  }
  for (const [p, page] of pages) if (page.every((v) => v === 0)) pages.delete(p);
  return pages;
}

const ZERO = new Uint8Array(PAGE);

/** How many pages of the snapshot's memory hold a non-zero byte, without assembling them. */
export function residentPages(snapshot: Pick<Snapshot, 'memory'>): number {
  const found = new Set<number>();
  for (const seg of snapshot.memory?.segments ?? []) {
    let a = seg.address;
    const end = seg.address + seg.bytes.length;
    while (a < end) {
      const p = Math.floor(a / PAGE);
      const b = Math.min(end, (p + 1) * PAGE);
      if (!found.has(p)) {
        const part = seg.bytes.subarray(a - seg.address, b - seg.address);
        if (Buffer.compare(Buffer.from(part.buffer, part.byteOffset, part.length), Buffer.from(ZERO.buffer, 0, part.length)) !== 0) found.add(p);
      }
      a = b;
    }
  }
  return found.size;
}
