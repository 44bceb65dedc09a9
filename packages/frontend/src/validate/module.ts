import { CompileError } from '../errors';
import { LIMITS, overLimit } from '../limits';
import { importIndex } from '../imports';
import type { Module, ConstExpr, Limits, GlobalType } from '../module';

function fail(reason: string, section?: string): never {
  throw new CompileError(reason, -1, -1, section);
}

function funcCount(m: Module): number {
  return m.importedFuncs + m.functions.length;
}

function globalTypeAt(m: Module, index: number): GlobalType {
  if (index < m.importedGlobals) return importIndex(m).globals[index];
  return m.globals[index - m.importedGlobals].type;
}

/** The functions a `ref.func` may name: those referenced outside function bodies. */
export function declaredFuncs(m: Module): Set<number> {
  const s = new Set<number>();
  for (const e of m.exports) if (e.kind === 'func') s.add(e.index);
  for (const seg of m.elements) for (const e of seg.init) if (e.kind === 'reffunc') s.add(e.index);
  for (const g of m.globals) if (g.init.kind === 'reffunc') s.add(g.init.index);
  return s;
}

function checkLimits(l: Limits, maxAllowed: number, what: string, section: string): void {
  if (l.min > maxAllowed) fail(what, section);
  if (l.max !== null) {
    if (l.max > maxAllowed) fail(what, section);
    if (l.min > l.max) fail('size minimum must not be greater than maximum', section);
  }
}

/** Valid table limits (the spec allows up to 2^32 − 1 entries), then the compiler's limit. */
function checkTable(l: Limits, section: string): void {
  checkLimits(l, 0xffffffff, 'table size', section);
  if (l.min > LIMITS.tableSize) throw overLimit('table too large (initial entries)', l.min, LIMITS.tableSize, -1, -1, section);
}

/**
 * Constant expressions: the type must match; global.get may name imported globals only (and
 * immutable ones); ref.func must name a function.
 */
function checkConst(m: Module, e: ConstExpr, type: number, section: string, globalsVisible: number): void {
  let t: number;
  switch (e.kind) {
    case 'i32': t = 0x7f; break;
    case 'i64': t = 0x7e; break;
    case 'f32': t = 0x7d; break;
    case 'f64': t = 0x7c; break;
    case 'v128': t = 0x7b; break;
    case 'refnull': t = e.type; break;
    case 'reffunc':
      if (e.index >= funcCount(m)) fail(`unknown function ${e.index}`, section);
      t = 0x70;
      break;
    case 'global': {
      if (e.index >= globalsVisible) fail(`unknown global ${e.index}`, section);
      const gt = globalTypeAt(m, e.index);
      if (gt.mutable) fail('constant expression required', section);
      t = gt.type;
      break;
    }
  }
  if (t !== type) fail('type mismatch', section);
}

/** Module-level validation (function bodies are validated by the code generator). */
export function validateModule(m: Module): void {
  for (const imp of m.imports) {
    const d = imp.desc;
    if (d.kind === 'func' && d.typeIndex >= m.types.length) fail('unknown type', 'import');
    if (d.kind === 'memory') checkLimits(d.limits, 65536, 'memory size must be at most 65536 pages (4GiB)', 'import');
    if (d.kind === 'table') checkTable(d.type.limits, 'import');
  }
  for (const t of m.functions) if (t >= m.types.length) fail('unknown type', 'function');
  for (const t of m.tables) checkTable(t.limits, 'table');
  if (m.importedMemories + m.memories.length > 1) fail('multiple memories', 'memory');
  for (const l of m.memories) checkLimits(l, 65536, 'memory size must be at most 65536 pages (4GiB)', 'memory');
  for (const g of m.globals) checkConst(m, g.init, g.type.type, 'global', m.importedGlobals);
  const names = new Set<string>();
  const tables = m.importedTables + m.tables.length;
  const memories = m.importedMemories + m.memories.length;
  const globals = m.importedGlobals + m.globals.length;
  for (const e of m.exports) {
    if (names.has(e.name)) fail('duplicate export name', 'export');
    names.add(e.name);
    const limit = e.kind === 'func' ? funcCount(m) : e.kind === 'table' ? tables : e.kind === 'memory' ? memories : globals;
    if (e.index >= limit) fail(`unknown ${e.kind === 'func' ? 'function' : e.kind} ${e.index}`, 'export');
  }
  if (m.start !== null) {
    if (m.start >= funcCount(m)) fail(`unknown function ${m.start}`, 'start');
    let typeIndex: number;
    if (m.start < m.importedFuncs) typeIndex = importIndex(m).funcTypes[m.start];
    else typeIndex = m.functions[m.start - m.importedFuncs];
    const t = m.types[typeIndex];
    if (t.params.length || t.results.length) fail('start function', 'start');
  }
  for (const seg of m.elements) {
    if (seg.mode === 'active') {
      if (seg.table >= tables) fail(`unknown table ${seg.table}`, 'element');
      checkConst(m, seg.offset!, 0x7f, 'element', m.importedGlobals);
      const tt = seg.table < m.importedTables ? tableAt(m, seg.table) : m.tables[seg.table - m.importedTables];
      if (tt.elemType !== seg.elemType) fail('type mismatch', 'element');
    }
    for (const e of seg.init) checkConst(m, e, seg.elemType, 'element', m.importedGlobals);
  }
  for (const seg of m.data) {
    if (seg.mode === 'active') {
      if (seg.memory >= memories) fail(`unknown memory ${seg.memory}`, 'data');
      checkConst(m, seg.offset!, 0x7f, 'data', m.importedGlobals);
    }
  }
}

function tableAt(m: Module, index: number): { elemType: number } {
  return importIndex(m).tables[index] ?? { elemType: 0x70 };
}
