/**
 * The snapshot template (docs/image-format.md, section 14): what the loader needs to write a
 * snapshot of a running instance itself, in C, byte for byte what `writeSnapshot` writes for the
 * same state. Everything that does not depend on the instance's state is decided here, once, when
 * the image is linked: which sections are copied from the module and where each rewritten one
 * goes, the element segments' expressions re-encoded, the runtime library's digest. Sections are
 * referenced as byte ranges of the module as the image records it (section 10), never copied.
 */
import { createHash } from 'crypto';
import { LIMITS, type Module } from '@wagc/frontend';
import { ByteWriter, Cursor, putUleb32, uleb32Size } from './binary';
import { SnapshotError } from './errors';
import { decode } from './module-info';
import { emitModule, ID, insertInOrder, scanSections, type OutSection } from './sections';
import { FLAG_TABLES, SECTION, SNAPSHOT_VERSION } from './types';
import { constExpr } from './write';

export const TEMPLATE_VERSION = 1;

/** Template flags (u32 at offset 4). */
export const TEMPLATE_FLAG = {
  /** The image has tables or element segments: the table and element sections are rewritten. */
  tables: 1,
  /** The module is a snapshot whose gate.snapshot has FLAG_TABLES (copied when `tables` is not set). */
  inputTables: 2,
  /** The module has an export payload (its export section, or a snapshot's gate.export). */
  exports: 4,
  /** The module has a data count section. */
  dataCount: 8,
  /** The module's memory has a maximum. */
  memoryMax: 16,
  /** The module defines a v128 global: the snapshot is version 2 whatever its stack. */
  v128Global: 32,
  /** The module defines its memory. */
  memory: 64,
} as const;

/** Piece kinds: a section copied from the module, or one the writer makes from the state. */
export const PIECE = { section: 0, memory: 1, global: 2, table: 3, element: 4, export: 5, dataCount: 6, data: 7 } as const;

/** Bytes of the fixed header (docs/image-format.md, section 14). */
export const TEMPLATE_HEADER = 96;
const NONE = 0xffffffff;

export interface TemplateOptions {
  /** The runtime library the image links (wasi_snapshot_preview1): its SHA-256 for gate.stack. */
  runtime?: Uint8Array;
  /** The image has tables or element segments (section 12), so the writer is given them. */
  tables: boolean;
}

/**
 * The template of `module` (the module as section 10 records it). A module no snapshot can be
 * written of (an imported memory, an imported mutable global) gets a template that says why: the
 * loader refuses with that reason, as writeSnapshot would.
 */
export function snapshotTemplate(module: Uint8Array, opts: TemplateOptions): Uint8Array {
  const m = decode(module, 'cannot write snapshot: the module');
  const raw = scanSections(module);
  const pool = new ByteWriter();
  const put = (b: Uint8Array): number => {
    while (pool.pos % 4) pool.u8(0);
    const at = pool.pos;
    pool.bytes(b);
    return at;
  };
  let error = '';
  if (m.importedMemories > 0) {
    const imp = m.imports.find((i) => i.desc.kind === 'memory')!;
    error = `cannot write snapshot: the module imports its memory (${imp.module}.${imp.name}); snapshots need a module that defines it`;
  } else if (m.imports.some((i) => i.desc.kind === 'global' && i.desc.type.mutable)) {
    error = 'cannot write snapshot: the module imports a mutable global, whose current value must be given (importedGlobals)';
  }
  let flags = 0;
  if (opts.tables) flags |= TEMPLATE_FLAG.tables;
  const limits = m.memories[0] ?? null;
  if (limits) flags |= TEMPLATE_FLAG.memory;
  if (limits && limits.max !== null) flags |= TEMPLATE_FLAG.memoryMax;
  if (m.dataCount !== null) flags |= TEMPLATE_FLAG.dataCount;
  if (m.globals.some((g) => g.type.type === 0x7b)) flags |= TEMPLATE_FLAG.v128Global;

  // the export payload: the module's own, or a snapshot's gate.export
  let exportRange: [number, number] | null = null;
  for (const s of raw) {
    if (s.id === ID.export || (s.id === 0 && s.name === SECTION.export)) exportRange = [s.start, s.end - s.start];
  }
  if (exportRange) flags |= TEMPLATE_FLAG.exports;
  const inputSnapshot = raw.find((s) => s.id === 0 && s.name === SECTION.snapshot);
  const inputFlags = inputSnapshot ? flagsOf(module, inputSnapshot) : 0;
  if (inputFlags & FLAG_TABLES) flags |= TEMPLATE_FLAG.inputTables;

  // the sections in writeSnapshot's order, a marker for each one the state decides
  type Piece = OutSection & { kind: number; range?: [number, number]; nameRange?: [number, number] };
  const out: Piece[] = [];
  for (const s of raw) {
    const range: [number, number] = [s.start, s.end - s.start];
    switch (s.id) {
      case ID.custom:
        if (s.name!.startsWith('gate.')) break;
        out.push({ id: 0, kind: PIECE.section, range, nameRange: customName(module, s.offset) });
        break;
      case ID.memory: out.push({ id: ID.memory, kind: PIECE.memory }); break;
      case ID.global: out.push({ id: ID.global, kind: PIECE.global }); break;
      case ID.table: out.push({ id: ID.table, kind: opts.tables ? PIECE.table : PIECE.section, range }); break;
      case ID.element:
        if (!opts.tables) out.push({ id: ID.element, kind: PIECE.section, range });
        break;
      case ID.export:
      case ID.start:
      case ID.data:
      case ID.dataCount:
        break;
      default:
        out.push({ id: s.id, kind: PIECE.section, range });
    }
  }
  // present only when the snapshot has no stack (the writer skips it otherwise)
  if (exportRange) insertInOrder(out, { id: ID.export, kind: PIECE.export } as Piece);
  if (opts.tables) insertInOrder(out, { id: ID.element, kind: PIECE.element } as Piece);
  insertInOrder(out, { id: ID.data, kind: PIECE.data } as Piece);
  if (m.dataCount !== null) insertInOrder(out, { id: ID.dataCount, kind: PIECE.dataCount } as Piece);

  // globals: type and mutability
  const globalsAt = put(Uint8Array.from(m.globals.flatMap((g) => [g.type.type, g.type.mutable ? 1 : 0])));
  // tables: element type and limits
  const tableWords = new Uint32Array(3 * m.tables.length);
  m.tables.forEach((t, k) => tableWords.set([t.elemType, t.limits.min, t.limits.max ?? NONE], 3 * k));
  const tablesAt = put(new Uint8Array(tableWords.buffer));
  // element segments kept as originals (a snapshot with FLAG_TABLES: those before its first
  // active one), each `elemType vec(expr)` as writeSnapshot encodes it
  let elems = m.elements;
  if (inputFlags & FLAG_TABLES) {
    const firstActive = elems.findIndex((e) => e.mode === 'active');
    if (firstActive >= 0) elems = elems.slice(0, firstActive);
  }
  const elemWords = new Uint32Array(2 * elems.length);
  elems.forEach((seg, k) => {
    const w = new ByteWriter().u8(seg.elemType).u32(seg.init.length);
    for (const e of seg.init) constExpr(w, e);
    elemWords.set([put(w.done()), w.pos], 2 * k);
  });
  const elemsAt = put(new Uint8Array(elemWords.buffer));
  // data segments kept as originals (with a data count section; a snapshot's: before its first
  // active one): mode and the bytes' range in the module
  let datas = m.dataCount !== null ? m.data : [];
  if (inputSnapshot) {
    const firstActive = datas.findIndex((d) => d.mode === 'active');
    if (firstActive >= 0) datas = datas.slice(0, firstActive);
  }
  const dataWords = new Uint32Array(3 * datas.length);
  datas.forEach((d, k) => dataWords.set([d.mode === 'active' ? 0 : 1, d.start, d.end - d.start], 3 * k));
  const datasAt = put(new Uint8Array(dataWords.buffer));
  // the pieces: kind, section id, name range, payload range
  const pieceWords = new Uint32Array(6 * out.length);
  out.forEach((p, k) => pieceWords.set([p.kind, p.id, ...(p.nameRange ?? [0, 0]), ...(p.range ?? [0, 0])], 6 * k));
  const piecesAt = put(new Uint8Array(pieceWords.buffer));
  const digestAt = opts.runtime ? put(createHash('sha256').update(opts.runtime).digest()) : NONE;
  const errorBytes = new TextEncoder().encode(error);
  const errorAt = put(errorBytes);

  const head = new Uint32Array(TEMPLATE_HEADER / 4);
  head.set([
    TEMPLATE_VERSION, flags, limits?.max ?? NONE, limits?.min ?? 0,
    digestAt, errorAt, errorBytes.length,
    m.globals.length, globalsAt,
    m.tables.length, m.importedTables, tablesAt,
    elems.length, elemsAt,
    datas.length, datasAt,
    exportRange?.[0] ?? 0, exportRange?.[1] ?? 0,
    out.length, piecesAt,
    pool.pos, LIMITS.dataSegments, LIMITS.moduleSize, 0,
  ]);
  const bytes = new Uint8Array(TEMPLATE_HEADER + pool.pos);
  bytes.set(new Uint8Array(head.buffer), 0);
  bytes.set(pool.done(), TEMPLATE_HEADER);
  return bytes;
}

/** The name of the custom section whose id byte is at `offset`: its bytes' range. */
function customName(module: Uint8Array, offset: number): [number, number] {
  const c = new Cursor(module, offset + 1, module.length, 'custom section');
  c.u32();
  const n = c.u32();
  return [c.pos, n];
}

/** The flags of a snapshot's gate.snapshot section (0 for a version this writer does not know). */
function flagsOf(bytes: Uint8Array, s: { start: number; end: number }): number {
  const c = new Cursor(bytes, s.start, s.end, 'the module\'s gate.snapshot');
  const version = c.u32();
  if (version < 1 || version > SNAPSHOT_VERSION) return 0;
  c.u8();
  c.u8();
  c.u32();
  c.u32();
  return c.u32();
}

/**
 * The module as an image records it (section 10): every active data segment's bytes left out (an
 * empty active segment at the same offset). A snapshot writer never needs them: an original
 * active segment is written empty, and a snapshot's own active segments are its memory, written
 * anew from the instance's. So an image compiled from a snapshot holds each memory byte once, in
 * its memory pages (issue 17), and writeSnapshot of this module writes what it writes of the
 * original.
 */
export function snapshotBaseModule(module: Uint8Array): Uint8Array {
  const m: Module = decode(module, 'the module');
  if (!m.data.some((d) => d.mode === 'active' && d.end > d.start)) return module;
  const raw = scanSections(module);
  const out: OutSection[] = [];
  for (const s of raw) {
    if (s.id !== ID.data) {
      out.push(s.id === 0 ? { id: 0, name: s.name, payload: module.subarray(s.start, s.end) } : { id: s.id, payload: module.subarray(s.start, s.end) });
      continue;
    }
    // each segment: its header (flags, memory, offset expression) as it was, then its bytes, or
    // none for an active one
    const w = new ByteWriter().u32(m.data.length);
    let at = new Cursor(module, s.start, s.end, 'data section');
    at.u32();
    let pos = at.pos;
    for (const d of m.data) {
      // the length's LEB ends right before the bytes; the byte before it ends the header
      let lenAt = d.start - 1;
      while (lenAt - 1 >= pos && module[lenAt - 1] & 0x80) lenAt--;
      w.bytes(module.subarray(pos, lenAt));
      if (d.mode === 'active') w.u8(0);
      else w.u32(d.end - d.start).bytes(module.subarray(d.start, d.end));
      pos = d.end;
    }
    at = new Cursor(module, pos, s.end, 'data section');
    if (!at.eof()) throw new SnapshotError('data section: bytes after the last segment');
    out.push({ id: ID.data, payload: w.done() });
  }
  return emitModule(out, Infinity);
}

export { putUleb32, uleb32Size };
