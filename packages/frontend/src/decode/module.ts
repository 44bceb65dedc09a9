import { CompileError } from '../errors';
import { LIMITS, overLimit } from '../limits';
import { notSupported, typeFeature, PROPOSAL, TYPE_FORM_FEATURES } from '../features';
import type {
  Module, FuncType, Limits, TableType, GlobalType, ConstExpr, Import, Export, ElemSegment,
  DataSegment, CustomSection,
} from '../module';
import { Reader, EOS } from './reader';

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count'];
/** Position of each section id in the required order (data count sits between element and code). */
const ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/**
 * Where the decoder is, for the message refusing a feature of a later proposal (features.ts):
 * the section, the kind of its entries and the entry's index (in the index space where there is
 * one: `memory 1` counts imported memories), or the function of a body. Set by decodeModule as it
 * goes; the decoder runs to completion before anything else decodes.
 */
const where = { section: '', item: '', index: 0, func: -1 };

/** Refuses valid WebAssembly of a proposal the compiler does not implement, where the decoder is. */
function refuse(what: string, proposal: string, at: number): never {
  throw notSupported(what, proposal, at, where.section || undefined, where.item ? `${where.item} ${where.index}` : undefined, where.func);
}

/** Item names of each section's entries (code: the function index says it). */
const ITEM_NAMES = ['', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', '', 'element segment', '', 'data segment', ''];

/**
 * Decodes a whole module. Function bodies stay byte ranges (the code generator reads them once);
 * everything else is decoded here, with the spec's reasons for malformed input.
 */
export function decodeModule(bytes: Uint8Array): Module {
  try {
    return decode(bytes);
  } finally {
    where.section = '';
    where.item = '';
    where.func = -1;
  }
}

function decode(bytes: Uint8Array): Module {
  const rd = new Reader(bytes);
  const m: Module = {
    bytes, types: [], imports: [], functions: [], tables: [], memories: [], globals: [], exports: [],
    start: null, elements: [], data: [], dataCount: null, bodies: [], customs: [],
    names: { module: null, functions: new Map() },
    importedFuncs: 0, importedTables: 0, importedMemories: 0, importedGlobals: 0,
  };
  if (bytes.length > LIMITS.moduleSize) throw overLimit('module too large (bytes)', bytes.length, LIMITS.moduleSize, -1);
  // the spec's decoder reads the magic and the version as whole words before comparing them
  if (bytes.length < 4) throw new CompileError('unexpected end', bytes.length);
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new CompileError('magic header not detected', 0);
  }
  if (bytes.length < 8) throw new CompileError('unexpected end', bytes.length);
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new CompileError('unknown binary version', 4);
  rd.pos = 8;
  let last = 0;
  let codeCount = -1;
  while (!rd.eof()) {
    const idAt = rd.pos;
    const id = rd.u8();
    if (id === 13) throw notSupported('the tag section', PROPOSAL.exceptions, idAt);
    if (id > 12) throw new CompileError('malformed section id', idAt);
    const name = SECTION_NAMES[id];
    where.section = id === 0 ? '' : name;
    where.item = ITEM_NAMES[id];
    where.func = -1;
    if (id !== 0) {
      if (ORDER[id] <= last) throw new CompileError('unexpected content after last section', idAt);
      last = ORDER[id];
    }
    // As in the spec's decoder, a section's contents are read up to the end of the input, not of
    // the section, and then must end exactly at the declared size: a count or length that runs
    // past the section gives the reason the spec gives ("section size mismatch", or whatever the
    // bytes after it decode to), not a generic end-of-section error.
    const sec = new Reader(bytes, rd.pos);
    try {
      const size = sec.len32();
      const start = sec.pos;
      const end = start + size;
      switch (id) {
        case 0: customSection(sec, m, end); break;
        case 1: vec(sec, () => m.types.push(funcType(sec)), 'too many types', LIMITS.types); break;
        case 2: vec(sec, () => m.imports.push(importEntry(sec, m)), 'too many imports', LIMITS.imports); break;
        case 3: vec(sec, () => m.functions.push(sec.u32()), 'too many functions (imported and defined)', LIMITS.functions, m.importedFuncs); break;
        case 4: vec(sec, () => m.tables.push(tableType(sec)), 'too many tables (imported and defined)', LIMITS.tables, m.importedTables); break;
        case 5: vec(sec, () => m.memories.push(memoryType(sec, m)), 'too many memories (imported and defined)', LIMITS.memories, m.importedMemories); break;
        case 6: vec(sec, () => m.globals.push({ type: globalType(sec), init: constExpr(sec) }), 'too many globals (imported and defined)', LIMITS.globals, m.importedGlobals); break;
        case 7: vec(sec, () => m.exports.push(exportEntry(sec)), 'too many exports', LIMITS.exports); break;
        case 8: m.start = sec.u32(); break;
        case 9: {
          const entries = { n: 0 };
          vec(sec, () => m.elements.push(elemSegment(sec, entries)), 'too many element segments', LIMITS.elemSegments);
          break;
        }
        case 12: m.dataCount = sec.u32(); break;
        case 10: {
          const countAt = sec.pos;
          codeCount = sec.len32();
          if (m.importedFuncs + codeCount > LIMITS.functions) throw overLimit('too many functions (imported and defined)', m.importedFuncs + codeCount, LIMITS.functions, countAt);
          for (let k = 0; k < codeCount; k++) {
            const sizeAt = sec.pos;
            const bodySize = sec.len32();
            const bodyStart = sec.pos;
            const bodyEnd = bodyStart + bodySize;
            if (bodyEnd > bytes.length) sec.fail(EOS, bytes.length);
            const funcIndex = m.importedFuncs + k;
            where.item = '';
            where.func = funcIndex;
            if (bodySize > LIMITS.bodySize) throw overLimit('function body too large (bytes)', bodySize, LIMITS.bodySize, sizeAt, funcIndex, 'code');
            checkLocals(new Reader(bytes, bodyStart, bodyEnd), funcIndex);
            // Every body ends with the `end` of its function block (the code generator reports
            // anything else wrong inside it). The spec's decoder reads on past the declared size,
            // so its reason depends on the next byte: none, an `end` (the body is longer than its
            // size says), or anything else.
            if (bytes[bodyEnd - 1] !== 0x0b) {
              if (bodyEnd >= bytes.length) sec.fail(EOS, bytes.length);
              if (bytes[bodyEnd] === 0x0b) throw new CompileError('section size mismatch', bodyStart);
              throw new CompileError('END opcode expected', bodyEnd);
            }
            m.bodies.push({ start: bodyStart, end: bodyEnd });
            sec.pos = bodyEnd;
          }
          break;
        }
        case 11: vec(sec, () => m.data.push(dataSegment(sec)), 'too many data segments', LIMITS.dataSegments); break;
      }
      if (sec.pos !== end) throw new CompileError('section size mismatch', start);
      rd.pos = end;
    } catch (e) {
      if (e instanceof CompileError && id !== 0 && !/\(in [a-z ]+ section/.test(e.message)) {
        const located = new CompileError(e.reason, e.offset, -1, name);
        located.feature = e.feature;
        throw located;
      }
      throw e;
    }
  }
  // checked after the last section, as the spec's decoder does
  if (m.functions.length !== Math.max(codeCount, 0)) throw new CompileError('function and code section have inconsistent lengths', bytes.length);
  if (m.dataCount !== null && m.data.length !== m.dataCount) throw new CompileError('data count and data section have inconsistent lengths', bytes.length);
  return m;
}

/**
 * A vector of at most `limit` items (counting `already` ones from imports): checked before
 * reading any, so a huge count costs nothing. A count that cannot fit in the bytes left is the
 * spec's "length out of bounds" first.
 */
function vec(rd: Reader, each: () => void, what: string, limit: number, already = 0): void {
  const at = rd.pos;
  const n = rd.len32();
  if (already + n > limit) throw overLimit(what, already + n, limit, at);
  for (let k = 0; k < n; k++) {
    where.index = already + k;
    each();
  }
}

function valType(rd: Reader): number {
  const at = rd.pos;
  const t = rd.u8();
  if (!VALTYPES.has(t)) {
    const f = typeFeature(t);
    if (f) refuse(f[0], f[1], at);
    throw new CompileError('malformed value type', at);
  }
  return t;
}

function funcType(rd: Reader): FuncType {
  const at = rd.pos;
  const form = rd.u8();
  if (form !== 0x60) {
    if (TYPE_FORM_FEATURES[form]) refuse(TYPE_FORM_FEATURES[form], PROPOSAL.gc, at);
    // the form is a signed LEB128 of 7 bits: a continuation bit makes it too long
    throw new CompileError(form & 0x80 ? 'integer representation too long' : 'malformed function type', at);
  }
  let lenAt = rd.pos;
  const np = rd.len32();
  if (np > LIMITS.params) throw overLimit('too many parameters', np, LIMITS.params, lenAt);
  const params = valTypes(rd, np);
  lenAt = rd.pos;
  const nr = rd.len32();
  if (nr > LIMITS.results) throw overLimit('too many results', nr, LIMITS.results, lenAt);
  return { params, results: valTypes(rd, nr) };
}

const NO_TYPES = new Uint8Array(0);

/**
 * `n` value types, checked, as a view of the module's own bytes: a million types would otherwise
 * allocate two million buffers, and the collector spends seconds on them.
 */
function valTypes(rd: Reader, n: number): Uint8Array {
  if (n === 0) return NO_TYPES;
  const start = rd.pos;
  for (let k = 0; k < n; k++) valType(rd);
  return rd.bytes.subarray(start, start + n);
}

/**
 * A memory's or table's limits. The flag is an unsigned LEB128 of 1 bit in 2.0; later proposals
 * use more: bit 1 a shared memory (threads), bit 2 64-bit indices (memory64), which are refused
 * by name. Other values are malformed, as in the spec's decoder.
 */
function limits(rd: Reader, table = false): Limits {
  const at = rd.pos;
  const flag = rd.u8();
  if ((flag & 0x7f) > 1) {
    if (flag & 0x04 && flag < 8) refuse(table ? '64-bit table' : '64-bit memory', PROPOSAL.memory64, at);
    if (flag & 0x02 && flag < 4 && !table) refuse('shared memory', PROPOSAL.threads, at);
    throw new CompileError('integer too large', at);
  }
  if (flag & 0x80) throw new CompileError('integer representation too long', at);
  const min = rd.u32();
  const max = flag === 1 ? rd.u32() : null;
  return { min, max };
}

function refType(rd: Reader): number {
  const at = rd.pos;
  const t = rd.u8();
  if (t !== 0x70 && t !== 0x6f) {
    const f = typeFeature(t);
    if (f) refuse(f[0], f[1], at);
    throw new CompileError('malformed reference type', at);
  }
  return t;
}

function tableType(rd: Reader): TableType {
  const elemType = refType(rd);
  return { elemType, limits: limits(rd, true) };
}

/** A memory of the memory section; a second one (imports counted) is the multi-memory proposal's. */
function memoryType(rd: Reader, m: Module): Limits {
  if (m.importedMemories + m.memories.length >= 1) refuse('a second memory', PROPOSAL.multiMemory, rd.pos);
  return limits(rd);
}

function globalType(rd: Reader): GlobalType {
  const type = valType(rd);
  const at = rd.pos;
  const mut = rd.u8();
  if (mut > 1) throw new CompileError('malformed mutability', at);
  return { type, mutable: mut === 1 };
}

function importEntry(rd: Reader, m: Module): Import {
  const module = rd.name();
  const name = rd.name();
  const at = rd.pos;
  const kind = rd.u8();
  switch (kind) {
    case 0: m.importedFuncs++; return { module, name, desc: { kind: 'func', typeIndex: rd.u32() } };
    case 1: m.importedTables++; return { module, name, desc: { kind: 'table', type: tableType(rd) } };
    case 2: {
      if (m.importedMemories >= 1) refuse('a second memory', PROPOSAL.multiMemory, at);
      m.importedMemories++;
      return { module, name, desc: { kind: 'memory', limits: limits(rd) } };
    }
    case 3: m.importedGlobals++; return { module, name, desc: { kind: 'global', type: globalType(rd) } };
    case 4: refuse('a tag import', PROPOSAL.exceptions, at);
  }
  throw new CompileError('malformed import kind', at);
}

function exportEntry(rd: Reader): Export {
  const name = rd.name();
  const at = rd.pos;
  const kind = rd.u8();
  if (kind === 4) refuse('a tag export', PROPOSAL.exceptions, at);
  if (kind > 3) throw new CompileError('malformed export kind', at);
  const index = rd.u32();
  const kinds = ['func', 'table', 'memory', 'global'] as const;
  return { name, kind: kinds[kind], index };
}

/** One value instruction then `end` (1.0/2.0 constant expressions). */
export function constExpr(rd: Reader): ConstExpr {
  const at = rd.pos;
  const op = rd.u8();
  let e: ConstExpr;
  switch (op) {
    case 0x41: e = { kind: 'i32', value: rd.s32() }; break;
    case 0x42: rd.s64(); e = { kind: 'i64', value: (BigInt(rd.hi) << 32n) | BigInt(rd.lo >>> 0) }; break;
    case 0x43: e = { kind: 'f32', bits: rd.f32bits() }; break;
    case 0x44: rd.f64bits(); e = { kind: 'f64', bits: (BigInt(rd.hi >>> 0) << 32n) | BigInt(rd.lo >>> 0) }; break;
    case 0x23: e = { kind: 'global', index: rd.u32() }; break;
    case 0xd0: e = { kind: 'refnull', type: refType(rd) }; break;
    case 0xd2: e = { kind: 'reffunc', index: rd.u32() }; break;
    case 0x0b: throw new CompileError('type mismatch', at);
    case 0xfd: {
      if (rd.eof() || rd.u32() !== 12) throw new CompileError('constant expression required', at);
      let bits = 0n;
      for (let k = 0; k < 4; k++) bits |= BigInt(rd.f32bits() >>> 0) << BigInt(32 * k);
      e = { kind: 'v128', bits };
      break;
    }
    default: throw new CompileError(nonConstReason(rd, op), at);
  }
  const endAt = rd.pos;
  const end = rd.u8();
  if (end !== 0x0b) {
    throw new CompileError(end === 0x41 || end === 0x42 || end === 0x43 || end === 0x44 || end === 0x23 || end === 0xd0 || end === 0xd2
      ? 'type mismatch' : nonConstReason(rd, end), endAt);
  }
  return e;
}

/**
 * Single-byte opcodes that are no WebAssembly 2.0 instruction (0xfc and 0xfd are prefixes). The
 * spec's decoder reads a constant expression as an instruction sequence, so such a byte there is
 * "illegal opcode"; a real instruction that is not constant fails validation instead.
 */
function illegalOpcode(op: number): boolean {
  return (op >= 0x06 && op <= 0x0a) || (op >= 0x12 && op <= 0x19) || (op >= 0x1d && op <= 0x1f) || op === 0x27 ||
    (op >= 0xc5 && op <= 0xcf) || (op >= 0xd3 && op <= 0xfb) || op >= 0xfe;
}

/** The reason for a non-constant opcode `op` just read in a constant expression. */
function nonConstReason(rd: Reader, op: number): string {
  if (illegalOpcode(op)) return `illegal opcode ${op.toString(16).padStart(2, '0')}`;
  if (op === 0xfc && !rd.eof()) {
    const sub = rd.u32();
    if (sub > 17) return `illegal opcode fc ${sub.toString(16).padStart(2, '0')}`;
  }
  return 'constant expression required';
}

/** `entries.n`: the elements of the segments before this one (LIMITS.elemEntries). */
function elemSegment(rd: Reader, entries: { n: number }): ElemSegment {
  const at = rd.pos;
  const flags = rd.u32();
  if (flags > 7) throw new CompileError('malformed elements segment kind', at);
  const passiveOrDecl = (flags & 1) !== 0;
  const explicitTable = (flags & 2) !== 0;
  const exprs = (flags & 4) !== 0;
  const mode: ElemSegment['mode'] = !passiveOrDecl ? 'active' : explicitTable ? 'declarative' : 'passive';
  let table = 0;
  let offset: ConstExpr | null = null;
  if (mode === 'active') {
    if (explicitTable) table = rd.u32();
    offset = constExpr(rd);
  }
  let elemType = 0x70;
  if (passiveOrDecl || explicitTable) {
    const tAt = rd.pos;
    const t = rd.u8();
    if (exprs) {
      rd.pos = tAt;
      elemType = refType(rd);
    } else if (t !== 0x00) throw new CompileError('malformed element kind', tAt);
  }
  const countAt = rd.pos;
  const n = rd.len32();
  entries.n += n;
  if (entries.n > LIMITS.elemEntries) throw overLimit('too many element segment entries (all segments together)', entries.n, LIMITS.elemEntries, countAt);
  const init: ConstExpr[] = [];
  for (let k = 0; k < n; k++) init.push(exprs ? constExpr(rd) : { kind: 'reffunc', index: rd.u32() });
  return { mode, table, offset, elemType, init };
}

function dataSegment(rd: Reader): DataSegment {
  const at = rd.pos;
  const flags = rd.u32();
  if (flags > 2) throw new CompileError('malformed data segment kind', at);
  let memory = 0;
  let offset: ConstExpr | null = null;
  if (flags !== 1) {
    if (flags === 2) memory = rd.u32();
    offset = constExpr(rd);
  }
  const n = rd.len32();
  const start = rd.pos;
  rd.skip(n);
  return { mode: flags === 1 ? 'passive' : 'active', memory, offset, start, end: start + n };
}

/**
 * Local declarations: counts must stay within the compiler's limit (and 2^32, the spec's "too
 * many locals"). The code generator checks again with the parameters counted.
 */
function checkLocals(rd: Reader, funcIndex: number): void {
  const groups = rd.len32();
  let total = 0;
  for (let g = 0; g < groups; g++) {
    const at = rd.pos;
    total += rd.u32();
    if (total > LIMITS.locals) throw overLimit('too many locals', total, LIMITS.locals, at, funcIndex, 'code');
    valType(rd);
  }
}

function customSection(rd: Reader, m: Module, end: number): void {
  const name = rd.name();
  // the name may not run past the section, nor the section past the input
  if (rd.pos > end || end > rd.end) rd.fail(EOS, Math.min(end, rd.end));
  const c: CustomSection = { name, start: rd.pos, end };
  if (m.customs.length >= LIMITS.customSections) throw overLimit('too many custom sections', m.customs.length + 1, LIMITS.customSections, c.start, -1, 'custom');
  m.customs.push(c);
  if (name === 'name') {
    try {
      nameSection(new Reader(rd.bytes, rd.pos, end), m);
    } catch {
      // a malformed name section is ignored (the spec makes custom sections non-binding)
    }
  }
  rd.pos = end;
}

function nameSection(rd: Reader, m: Module): void {
  while (!rd.eof()) {
    const id = rd.u8();
    const size = rd.u32();
    const end = rd.pos + size;
    if (id === 0) m.names.module = rd.name();
    else if (id === 1) {
      const n = rd.u32();
      for (let k = 0; k < n; k++) {
        const idx = rd.u32();
        const name = rd.name();
        // no function has a larger index: the map stays within the function limit
        if (idx < LIMITS.functions) m.names.functions.set(idx, name);
      }
    }
    rd.pos = end;
  }
}
