import { CompileError } from '../errors';
import type {
  Module, FuncType, Limits, TableType, GlobalType, ConstExpr, Import, Export, ElemSegment,
  DataSegment, CustomSection,
} from '../module';
import { Reader } from './reader';

const SECTION_NAMES = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'data count'];
/** Position of each section id in the required order (data count sits between element and code). */
const ORDER = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/**
 * Decodes a whole module. Function bodies stay byte ranges (the code generator reads them once);
 * everything else is decoded here, with the spec's reasons for malformed input.
 */
export function decodeModule(bytes: Uint8Array): Module {
  const rd = new Reader(bytes);
  const m: Module = {
    bytes, types: [], imports: [], functions: [], tables: [], memories: [], globals: [], exports: [],
    start: null, elements: [], data: [], dataCount: null, bodies: [], customs: [],
    names: { module: null, functions: new Map() },
    importedFuncs: 0, importedTables: 0, importedMemories: 0, importedGlobals: 0,
  };
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new CompileError('magic header not detected', 0);
  }
  if (bytes.length < 8) throw new CompileError('unexpected end', bytes.length);
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) throw new CompileError('unknown binary version', 4);
  rd.pos = 8;
  let last = 0;
  let functionCount = -1;
  let codeSeen = false;
  while (!rd.eof()) {
    const idAt = rd.pos;
    const id = rd.u8();
    if (id > 12) throw new CompileError('malformed section id', idAt);
    const size = rd.u32();
    const start = rd.pos;
    const end = start + size;
    if (end > bytes.length) throw new CompileError('unexpected end of section or function', start);
    const sec = new Reader(bytes, start, end);
    const name = SECTION_NAMES[id];
    try {
      if (id !== 0) {
        if (ORDER[id] <= last) throw new CompileError('unexpected content after last section', idAt);
        last = ORDER[id];
      }
      switch (id) {
        case 0: customSection(sec, m); break;
        case 1: vec(sec, () => m.types.push(funcType(sec))); break;
        case 2: vec(sec, () => m.imports.push(importEntry(sec, m))); break;
        case 3: vec(sec, () => m.functions.push(sec.u32())); functionCount = m.functions.length; break;
        case 4: vec(sec, () => m.tables.push(tableType(sec))); break;
        case 5: vec(sec, () => m.memories.push(limits(sec, true))); break;
        case 6: vec(sec, () => m.globals.push({ type: globalType(sec), init: constExpr(sec) })); break;
        case 7: vec(sec, () => m.exports.push(exportEntry(sec))); break;
        case 8: m.start = sec.u32(); break;
        case 9: vec(sec, () => m.elements.push(elemSegment(sec))); break;
        case 12: m.dataCount = sec.u32(); break;
        case 10: {
          codeSeen = true;
          const n = sec.u32();
          if (n !== m.functions.length) throw new CompileError('function and code section have inconsistent lengths', start);
          for (let k = 0; k < n; k++) {
            const bodySize = sec.u32();
            const bodyStart = sec.pos;
            if (bodySize > sec.end - bodyStart) throw new CompileError('unexpected end of section or function', bodyStart);
            checkLocals(new Reader(bytes, bodyStart, bodyStart + bodySize));
            m.bodies.push({ start: bodyStart, end: bodyStart + bodySize });
            sec.pos = bodyStart + bodySize;
          }
          break;
        }
        case 11: {
          const n = sec.u32();
          if (m.dataCount !== null && n !== m.dataCount) throw new CompileError('data count and data section have inconsistent lengths', start);
          for (let k = 0; k < n; k++) m.data.push(dataSegment(sec));
          break;
        }
      }
      if (sec.pos !== end) throw new CompileError('section size mismatch', sec.pos);
    } catch (e) {
      if (e instanceof CompileError && e.message.indexOf(' section') < 0 && id !== 0) {
        throw new CompileError(e.reason, e.offset, -1, name);
      }
      throw e;
    }
    rd.pos = end;
  }
  if (!codeSeen && m.functions.length > 0) throw new CompileError('function and code section have inconsistent lengths', bytes.length);
  if (functionCount < 0 && m.bodies.length > 0) throw new CompileError('function and code section have inconsistent lengths', bytes.length);
  if (m.dataCount !== null && m.data.length !== m.dataCount) throw new CompileError('data count and data section have inconsistent lengths', bytes.length);
  return m;
}

function vec(rd: Reader, each: () => void): void {
  const n = rd.u32();
  for (let k = 0; k < n; k++) each();
}

function valType(rd: Reader): number {
  const at = rd.pos;
  const t = rd.u8();
  if (!VALTYPES.has(t)) throw new CompileError('malformed value type', at);
  return t;
}

function funcType(rd: Reader): FuncType {
  const at = rd.pos;
  if (rd.u8() !== 0x60) throw new CompileError('integer representation too long', at);
  const np = rd.u32();
  if (np > rd.end - rd.pos) rd.fail('unexpected end');
  const params = new Uint8Array(np);
  for (let k = 0; k < np; k++) params[k] = valType(rd);
  const nr = rd.u32();
  if (nr > rd.end - rd.pos) rd.fail('unexpected end');
  const results = new Uint8Array(nr);
  for (let k = 0; k < nr; k++) results[k] = valType(rd);
  return { params, results };
}

function limits(rd: Reader, memory: boolean): Limits {
  const at = rd.pos;
  const flag = rd.u8();
  if (flag > 1) {
    if (memory && (flag === 2 || flag === 3)) throw new CompileError('unsupported threads (shared memory)', at);
    throw new CompileError('integer too large', at);
  }
  const min = rd.u32();
  const max = flag === 1 ? rd.u32() : null;
  return { min, max };
}

function refType(rd: Reader): number {
  const at = rd.pos;
  const t = rd.u8();
  if (t !== 0x70 && t !== 0x6f) throw new CompileError('malformed reference type', at);
  return t;
}

function tableType(rd: Reader): TableType {
  const elemType = refType(rd);
  return { elemType, limits: limits(rd, false) };
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
    case 2: m.importedMemories++; return { module, name, desc: { kind: 'memory', limits: limits(rd, true) } };
    case 3: m.importedGlobals++; return { module, name, desc: { kind: 'global', type: globalType(rd) } };
  }
  throw new CompileError('malformed import kind', at);
}

function exportEntry(rd: Reader): Export {
  const name = rd.name();
  const at = rd.pos;
  const kind = rd.u8();
  const index = rd.u32();
  const kinds = ['func', 'table', 'memory', 'global'] as const;
  if (kind > 3) throw new CompileError('malformed export kind', at);
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
    default: throw new CompileError('constant expression required', at);
  }
  const endAt = rd.pos;
  const end = rd.u8();
  if (end !== 0x0b) {
    throw new CompileError(end === 0x41 || end === 0x42 || end === 0x43 || end === 0x44 || end === 0x23 ? 'type mismatch' : 'constant expression required', endAt);
  }
  return e;
}

function elemSegment(rd: Reader): ElemSegment {
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
      if (t !== 0x70 && t !== 0x6f) throw new CompileError('malformed reference type', tAt);
      elemType = t;
    } else if (t !== 0x00) throw new CompileError('malformed element kind', tAt);
  }
  const n = rd.u32();
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
  const n = rd.u32();
  const start = rd.pos;
  rd.bytesN(n);
  return { mode: flags === 1 ? 'passive' : 'active', memory, offset, start, end: start + n };
}

/** Local declarations: counts must stay within the compiler's limit (and 2^32). */
function checkLocals(rd: Reader): void {
  const groups = rd.u32();
  let total = 0;
  for (let g = 0; g < groups; g++) {
    total += rd.u32();
    if (total > 50000) throw new CompileError('too many locals', rd.pos);
    valType(rd);
  }
}

function customSection(rd: Reader, m: Module): void {
  const name = rd.name();
  const c: CustomSection = { name, start: rd.pos, end: rd.end };
  m.customs.push(c);
  if (name === 'name') {
    try {
      nameSection(new Reader(rd.bytes, rd.pos, rd.end), m);
    } catch {
      // a malformed name section is ignored (the spec makes custom sections non-binding)
    }
  }
  rd.pos = rd.end;
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
        m.names.functions.set(idx, rd.name());
      }
    }
    rd.pos = end;
  }
}
