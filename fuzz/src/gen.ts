/**
 * Generator of valid random WebAssembly 1.0 modules for differential fuzzing (diff.ts), written
 * straight to binary. `generate({ seed, size })` is a pure function of its options: the same
 * seed and size give the same bytes.
 *
 * Every function is built as a tree of typed expressions and statements (an expression pushes
 * exactly one value of the requested type, a statement leaves the operand stack as it found it),
 * so the operand stack is typed by construction; branches, `return` and `unreachable` end an
 * expression polymorphically. Each tree node draws from its own forked PRNG and has a path id, so
 * `skip` can replace any node (a statement by nothing, an expression by a zero constant) without
 * changing the rest of the module: that is how run.ts minimises a disagreement.
 *
 * What keeps every run finite:
 * - loops count down a counter local of their own (never written by other code), checked at the
 *   loop head, so any branch back to the loop still spends one trip;
 * - every generated function starts by spending one unit of the global `fuel` and returns zeros
 *   when there is none, so calls (direct, indirect, recursive) are bounded; `run` refuels before
 *   each of its calls.
 *
 * Exports: `run` () → i64 (calls the functions and mixes their results into the global `acc`,
 * returned at the end), `memhash` () → i64 (a 64-bit FNV-style hash over memory.size pages),
 * `mem`, for every mutable global k the global `g<k>` and a getter `gbits<k>` () → i64 that
 * returns its bits (zero-extended for i32/f32) so that a JS caller sees float bits exactly, and
 * every generated function as `f<k>` with `refuel` () → () to call before it from the host.
 *
 * SIMD modules (a third, by the seed; none with `mvp`) have v128 among their value types: locals,
 * parameters, results, globals and block types, every 0xfd operation of every lane shape,
 * shuffles with random lane indices, constants of edge lanes with NaN payloads. Float SIMD
 * operations make their NaN lanes canonical (funcgen.ts, canonicalNaNLanes), as scalar code does
 * where bits become observable. v128 globals are not exported (run mixes them into acc), and the
 * host calls no function with a v128 in its signature (JS cannot pass or receive one).
 */
import { Bytes } from './bytes';
import { Rng } from './rng';
import { FuncGen, FUEL_PER_CALL, MIX, type Global, type ModuleInfo } from './funcgen';
import { I32, I64, F32, F64, V128, VALTYPES, SIMD_VALTYPES, VOID, constInstr, constValue, limits, type ValType, type FuncType } from './ops';

export { I32, I64, F32, F64, f32Bits, f64Bits, type ValType, type FuncType } from './ops';

export interface GenOptions {
  seed: number;
  /** 1 … ~32: number of functions, nesting, statement counts and expression depth grow with it. */
  size: number;
  /** Node ids (see Generated.nodes) to leave out: statements vanish, expressions become zeros. */
  skip?: ReadonlySet<string>;
  /**
   * WebAssembly 1.0 only. Otherwise some modules (chosen by the seed) also use the later
   * features wagc implements: sign extension, saturating truncation, memory.copy/fill.
   */
  mvp?: boolean;
  /**
   * Import from this module's exports (by the name "lib") instead of spectest: its fuel global
   * (shared, so calls between the two stay bounded), some functions and mutable globals, and
   * maybe its memory and table. For two-instance programs (pair.ts).
   */
  importFrom?: ModuleExports;
  /** Prefix of node ids (two modules of a pair have different ones). */
  prefix?: string;
  /** Mixed into the seed: the two modules of a pair differ. */
  salt?: number;
  /**
   * Import nothing (no spectest): a module wagc links with the runtime library alone, as it
   * does a snapshot's, for the migrating cases (migrate.ts).
   */
  noImports?: boolean;
  /**
   * End `run` with the endless recursion (4% of the other modules do): the migrating cases
   * suspended near the stack limit (migrate.ts, `nearLimit`).
   */
  deepRecursion?: boolean;
}

/**
 * The endless recursion's function: (i64, params…) → (i64, results…) with `locals` i64 locals
 * and `operands` i64 values live under each call's arguments, so its frames come in every
 * shape the stack limit counts (docs/ARCHITECTURE.md, "The stack limit").
 */
export interface DeepShape { params: ValType[]; results: ValType[]; locals: number; operands: number }

/** What a generated module exports for another to import. */
export interface ModuleExports {
  funcs: { name: string; type: FuncType }[];
  /** Mutable globals g<k>. */
  globals: { name: string; type: ValType }[];
  fuel: string;
  memory: { min: number; max: number };
  table: { min: number; max: number | null };
}

export interface GenNode {
  id: string;
  /** Bytes of code the node emitted. */
  size: number;
}

export interface Generated {
  bytes: Uint8Array;
  nodes: GenNode[];
  exports: ModuleExports;
  /** A SIMD module (v128 among its types, 0xfd operations). */
  simd: boolean;
}

// ---------------------------------------------------------------------------------------------
// the module

/** What a module may import from the spec testsuite's `spectest` module (packages/abi/spectest.wat). */
const SPECTEST_FUNCS: [string, ValType[]][] = [
  ['print', []], ['print_i32', [0x7f]], ['print_i64', [0x7e]], ['print_f32', [0x7d]], ['print_f64', [0x7c]],
  ['print_i32_f32', [0x7f, 0x7d]], ['print_f64_f64', [0x7c, 0x7c]],
];
const SPECTEST_GLOBALS: [string, ValType][] = [['global_i32', 0x7f], ['global_i64', 0x7e], ['global_f32', 0x7d], ['global_f64', 0x7c]];
const FNV_OFFSET = 0xcbf29ce484222325n;
export function generate(opts: GenOptions): Generated {
  const size = Math.max(1, Math.floor(opts.size));
  const rng = new Rng(opts.seed, size + 1000 * (opts.salt ?? 0));
  const lib = opts.importFrom;
  // multi-value (several results, block parameters) and passive data segments, as WebAssembly 2.0
  const multi = !opts.mvp && rng.chance(0.4);
  const bulkData = !opts.mvp && rng.chance(0.3);
  // SIMD: v128 among the value types, and the 0xfd operations
  // (also when the imported `lib` has functions of v128: their calls need SIMD to mix the results)
  const libV128 = opts.importFrom?.funcs.some((f) => f.type.params.includes(V128) || f.type.results.includes(V128)) ?? false;
  const simd = !opts.mvp && (rng.chance(0.35) || libV128);
  const valtypes = simd ? SIMD_VALTYPES : VALTYPES;

  // types: a small pool, so that indirect calls often find a matching entry, plus a duplicate
  // (call_indirect compares types structurally)
  const types: FuncType[] = [];
  const nTypes = rng.range(1, 3 + Math.min(3, size >> 3));
  for (let k = 0; k < nTypes; k++) {
    const params = Array.from({ length: rng.chance(0.15) ? rng.range(4, 7) : rng.int(4) }, () => rng.pick(valtypes));
    const results = multi && rng.chance(0.35) ? Array.from({ length: rng.range(2, 4) }, () => rng.pick(valtypes))
      : rng.chance(0.75) ? [rng.pick(valtypes)] : [];
    types.push({ params, results });
  }
  if (rng.chance(0.5)) types.push({ ...rng.pick(types) });
  const poolSize = types.length;
  const runType = types.length;
  types.push({ params: [], results: [I64] });
  const startType = types.length;
  types.push({ params: [], results: [] });

  // imports from spectest (a quarter of the modules): functions, immutable globals, and the
  // memory or table instead of defining them; or from `lib` (GenOptions.importFrom)
  // (drawn even with noImports, so that the rest of the module is the same)
  const imports = lib !== undefined || (rng.chance(0.25) && !opts.noImports);
  const from = lib ? 'lib' : 'spectest';
  const importedFuncs: { name: string; type: FuncType }[] = !imports ? []
    : lib ? lib.funcs.filter(() => rng.chance(0.5))
    : SPECTEST_FUNCS.filter(() => rng.chance(0.3)).map(([name, params]) => ({ name, type: { params, results: [] } }));
  // lib's fuel first: it is this module's fuel too
  const importedGlobals: { name: string; type: ValType; mutable: boolean }[] = !imports ? []
    : lib ? [{ name: lib.fuel, type: I32, mutable: true },
      ...lib.globals.filter((g) => g.name !== lib.fuel && rng.chance(0.4)).map((g) => ({ ...g, mutable: true }))]
    : SPECTEST_GLOBALS.filter(() => rng.chance(0.4)).map(([name, type]) => ({ name, type, mutable: false }));
  const importMemory = imports && rng.chance(0.5);
  const importTable = imports && rng.chance(0.5);
  const importTypes = importedFuncs.map(({ type }) => {
    types.push(type);
    return types.length - 1;
  });
  const nImp = importedFuncs.length;

  const nFuncs = rng.range(1, 1 + Math.min(8, Math.ceil(size / 3)));
  const funcTypes = [...importTypes, ...Array.from({ length: nFuncs }, () => rng.int(poolSize))];

  const globals: Global[] = importedGlobals.map(({ type, mutable }) => ({ type, mutable }));
  const firstDefinedGlobal = globals.length;
  const fuel = lib ? 0 : globals.length;
  if (!lib) globals.push({ type: I32, mutable: true });
  const acc = globals.length;
  globals.push({ type: I64, mutable: true });
  // an initial value: a constant, or { get } for global.get of an (immutable) imported global
  const globalInit: (number | bigint | { get: number })[] = globals.map((g) => (g.type === I64 ? 0n : 0));
  const nGlobals = rng.range(2, 7);
  for (let k = 0; k < nGlobals; k++) {
    const type = rng.pick(valtypes);
    globals.push({ type, mutable: rng.chance(0.8) });
    const imported = importedGlobals.findIndex((g) => g.type === type && !g.mutable);
    globalInit.push(imported >= 0 && rng.chance(0.4) ? { get: imported } : constValue(rng, type));
  }

  let memPages = rng.chance(0.05) ? 0 : rng.range(1, 2);
  let memMax = memPages + rng.int(3);
  if (importMemory) [memPages, memMax] = lib ? [lib.memory.min, lib.memory.max] : [1, 2];
  const importedTable = lib ? lib.table : { min: 10, max: 20 };
  const tableSize = importTable ? importedTable.min : nFuncs + rng.int(4);
  const table = Array.from({ length: tableSize }, () =>
    (rng.chance(0.8) ? (nImp && rng.chance(0.15) ? rng.int(nImp) : nImp + rng.int(nFuncs)) : null));
  const pTrap = rng.pick([0, 0.003, 0.01, 0.03, 0.08]);
  // passive data segments (lengths; their bytes come with the data section), before the active ones
  const passive = bulkData && memPages > 0 ? Array.from({ length: rng.range(1, 3) }, () => rng.int(48)) : [];

  const prefix = opts.prefix ?? '';
  const m: ModuleInfo = {
    types, funcTypeCount: types.length, funcTypes, firstDefined: nImp, fuel, acc, globals, table, memPages, memMax, pTrap, constBias: rng.pick([1, 1, 3]),
    extended: rng.chance(0.4) && !opts.mvp, multi, passive, stress: rng.chance(0.1), simd, valtypes, skip: opts.skip ?? new Set(), nodes: [],
    limits: {
      exprDepth: Math.min(7, 2 + (size >> 2)),
      nest: Math.min(4, 1 + Math.floor(size / 6)),
      stmts: Math.min(7, 2 + (size >> 2)),
    },
  };

  const bodies: Bytes[] = [];
  for (let f = 0; f < nFuncs; f++) {
    const g = new FuncGen(m, rng.fork(), `${prefix}f${f}`, types[funcTypes[nImp + f]], rng.chance(0.1) ? rng.range(16, 60) : rng.int(5));
    g.functionBody(2 + rng.int(2 + size));
    bodies.push(g.finish());
  }
  // sometimes run ends by exhausting the call stack: both must trap (their depths differ)
  // mutable globals are exported with a getter of their bits, but for v128 ones (JS cannot read
  // a v128; run mixes them into acc)
  const exportable = (g: Global): boolean => g.mutable && g.type !== V128;
  const exportedCount = globals.filter(exportable).length;
  const hasStart = rng.chance(0.3);
  const deepType = types.length;
  const drawnDeep = rng.chance(0.04);
  const shape = drawnDeep || opts.deepRecursion ? deepShape(rng.fork(), multi) : null;
  types.push(shape ? { params: shape.params, results: shape.results } : { params: [I64], results: [I64] });
  const deep = shape ? nImp + nFuncs + 2 + exportedCount + (hasStart ? 1 : 0) : null;
  const run = new FuncGen(m, rng.fork(), `${prefix}run`, types[runType], 0);
  run.runBody(nFuncs + rng.int(nFuncs + 2), deep === null ? null : { index: deep, params: shape!.params, results: shape!.results });
  bodies.push(run.finish());
  bodies.push(memhashBody());
  const exported = globals.map((g, k) => k).filter((k) => exportable(globals[k]));
  for (const k of exported) bodies.push(getterBody(k, globals[k].type));
  // a start function runs at instantiation, with no fuel: its calls return zeros at once
  if (hasStart) {
    const start = new FuncGen(m, rng.fork(), `${prefix}start`, types[startType], rng.int(3));
    start.functionBody(1 + rng.int(4), false);
    bodies.push(start.finish());
  }
  if (deep !== null) bodies.push(deepBody(deep, shape!));
  const startIndex = hasStart ? nImp + nFuncs + 2 + exported.length : -1;
  // refuel () → (): the host calls it before calling an exported f<k> itself
  const refuel = nImp + bodies.length;
  bodies.push(new Bytes().uleb(0).u8(0x41).sleb(FUEL_PER_CALL).u8(0x24).uleb(fuel).u8(0x0b));

  // sections
  const mod = new Bytes().u8(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const typeSec = new Bytes().uleb(types.length);
  for (const t of types) {
    typeSec.u8(0x60).uleb(t.params.length).u8(...t.params).uleb(t.results.length).u8(...t.results);
  }
  mod.section(1, typeSec);
  if (imports) {
    const importSec = new Bytes().uleb(nImp + importedGlobals.length + (importMemory ? 1 : 0) + (importTable ? 1 : 0));
    importedFuncs.forEach(({ name }, k) => importSec.name(from).name(name).u8(0x00).uleb(importTypes[k]));
    if (importTable) limits(importSec.name(from).name(lib ? 'tab' : 'table').u8(0x01, 0x70), importedTable.min, importedTable.max);
    if (importMemory) limits(importSec.name(from).name(lib ? 'mem' : 'memory').u8(0x02), memPages, memMax);
    for (const g of importedGlobals) importSec.name(from).name(g.name).u8(0x03, g.type, g.mutable ? 1 : 0);
    mod.section(2, importSec);
  }
  const funcSec = new Bytes().uleb(bodies.length);
  for (const t of funcTypes.slice(nImp)) funcSec.uleb(t);
  funcSec.uleb(runType).uleb(runType);
  for (let k = 0; k < exported.length; k++) funcSec.uleb(runType);
  if (hasStart) funcSec.uleb(startType);
  if (deep !== null) funcSec.uleb(deepType);
  funcSec.uleb(startType);
  mod.section(3, funcSec);
  const tableMax = rng.chance(0.5) ? tableSize + rng.int(3) : null;
  if (!importTable) mod.section(4, limits(new Bytes().uleb(1).u8(0x70), tableSize, tableMax));
  if (!importMemory) mod.section(5, limits(new Bytes().uleb(1), memPages, memMax));
  const globalSec = new Bytes().uleb(globals.length - firstDefinedGlobal);
  globals.forEach((g, k) => {
    if (k < firstDefinedGlobal) return; // imported
    globalSec.u8(g.type, g.mutable ? 1 : 0);
    const init = globalInit[k];
    if (typeof init === 'object') globalSec.u8(0x23).uleb(init.get).u8(0x0b);
    else constInstr(globalSec, g.type, init).u8(0x0b);
  });
  mod.section(6, globalSec);
  const exportList: [string, number, number][] = [['run', 0, nImp + nFuncs], ['memhash', 0, nImp + nFuncs + 1], ['mem', 2, 0]];
  exported.forEach((k, j) => exportList.push([`g${k}`, 3, k], [`gbits${k}`, 0, nImp + nFuncs + 2 + j]));
  exportList.push(['refuel', 0, refuel], ['tab', 1, 0]);
  for (let f = 0; f < nFuncs; f++) exportList.push([`f${f}`, 0, nImp + f]);
  const exportSec = new Bytes().uleb(exportList.length);
  for (const [name, kind, index] of exportList) exportSec.name(name).u8(kind).uleb(index);
  mod.section(7, exportSec);
  if (hasStart) mod.section(8, new Bytes().uleb(startIndex));
  // element segments: the runs of non-null table entries
  const segments: [number, number[]][] = [];
  for (let k = 0; k < tableSize; k++) {
    const f = table[k];
    if (f === null) continue;
    const last = segments[segments.length - 1];
    if (last && last[0] + last[1].length === k) last[1].push(f);
    else segments.push([k, [f]]);
  }
  // rarely a segment that does not fit: instantiation fails on both sides
  if (rng.chance(0.02)) segments.push([tableSize - 1, [nImp, nImp]]);
  const elemSec = new Bytes().uleb(segments.length);
  for (const [offset, fs] of segments) {
    elemSec.uleb(0).u8(0x41).sleb(offset).u8(0x0b).uleb(fs.length);
    for (const f of fs) elemSec.uleb(f);
  }
  mod.section(9, elemSec);
  const nData = memPages ? rng.int(4) : 0;
  const outOfBounds = rng.chance(0.02);
  const dataCount = passive.length + nData + (outOfBounds ? 1 : 0);
  // memory.init and data.drop need the data count section
  if (passive.length) mod.section(12, new Bytes().uleb(dataCount));
  const codeSec = new Bytes().uleb(bodies.length);
  for (const b of bodies) codeSec.uleb(b.length).append(b);
  mod.section(10, codeSec);
  const globalI32 = importedGlobals.findIndex((g) => g.name === 'global_i32' && !g.mutable); // 666
  const dataSec = new Bytes().uleb(dataCount);
  for (const len of passive) {
    dataSec.uleb(1).uleb(len);
    for (let j = 0; j < len; j++) dataSec.u8(rng.int(256));
  }
  for (let k = 0; k < nData; k++) {
    const len = rng.range(1, 64);
    if (globalI32 >= 0 && rng.chance(0.3)) dataSec.uleb(0).u8(0x23).uleb(globalI32).u8(0x0b).uleb(len);
    else {
      const offset = rng.chance(0.3) ? memPages * 65536 - len : rng.int(memPages * 65536 - len);
      dataSec.uleb(0).u8(0x41).sleb(offset).u8(0x0b).uleb(len);
    }
    for (let j = 0; j < len; j++) dataSec.u8(rng.int(256));
  }
  if (outOfBounds) dataSec.uleb(0).u8(0x41).sleb(memPages * 65536 - 3).u8(0x0b).uleb(4).u8(1, 2, 3, 4);
  mod.section(11, dataSec);
  const exportsInfo: ModuleExports = {
    funcs: Array.from({ length: nFuncs }, (_, f) => ({ name: `f${f}`, type: types[funcTypes[nImp + f]] })),
    globals: exported.map((k) => ({ name: `g${k}`, type: globals[k].type })),
    fuel: `g${fuel}`,
    memory: { min: memPages, max: memMax },
    table: { min: tableSize, max: importTable ? importedTable.max : tableMax },
  };
  return { bytes: mod.bytes(), nodes: m.nodes, exports: exportsInfo, simd };
}
/** memhash: h = FNV(memory.size); for each 8-byte word w: h = (h ^ w) * prime. */
function memhashBody(): Bytes {
  const b = new Bytes().uleb(2).uleb(2).u8(I32).uleb(1).u8(I64); // p, n: i32; h: i64
  b.u8(0x42).sleb(BigInt.asIntN(64, FNV_OFFSET));
  b.u8(0x3f, 0x00, 0xad, 0x85).u8(0x42).sleb(BigInt.asIntN(64, MIX)).u8(0x7e, 0x21).uleb(2);
  b.u8(0x3f, 0x00, 0x41).sleb(16).u8(0x74, 0x21).uleb(1);
  b.u8(0x02, VOID, 0x03, VOID);
  b.u8(0x20, 0, 0x20, 1, 0x4f, 0x0d, 1); // p >= n: exit
  b.u8(0x20, 2, 0x20, 0, 0x29, 3, 0, 0x85).u8(0x42).sleb(BigInt.asIntN(64, MIX)).u8(0x7e, 0x21, 2);
  b.u8(0x20, 0, 0x41, 8, 0x6a, 0x21, 0, 0x0c, 0);
  b.u8(0x0b, 0x0b, 0x20, 2, 0x0b);
  return b;
}

/** The recursion's shape: mostly small frames, sometimes kilobytes of locals. */
function deepShape(rng: Rng, multi: boolean): DeepShape {
  const params: ValType[] = [I64, ...Array.from({ length: rng.chance(0.5) ? rng.range(1, 5) : 0 }, () => rng.pick(VALTYPES))];
  const results: ValType[] = [I64, ...Array.from({ length: multi && rng.chance(0.5) ? rng.range(1, 4) : 0 }, () => rng.pick(VALTYPES))];
  const locals = rng.chance(0.2) ? rng.range(40, 300) : rng.int(40);
  return { params, results, locals, operands: rng.chance(0.5) ? rng.range(1, 8) : 0 };
}

/**
 * (i64, params…) → (i64, results…) recursing without end: `operands` constants stay on the
 * operand stack across the call, which passes zeros for the other parameters; the other
 * results are dropped and returned as zeros.
 */
function deepBody(self: number, shape: DeepShape): Bytes {
  const b = new Bytes().uleb(shape.locals ? 1 : 0);
  if (shape.locals) b.uleb(shape.locals).u8(I64);
  for (let j = 0; j < shape.operands; j++) b.u8(0x42).sleb(j + 1);
  b.u8(0x20, 0, 0x42, 1, 0x7c, 0x22, 0);
  for (const t of shape.params.slice(1)) constInstr(b, t, t === I64 || t === F64 ? 0n : 0);
  b.u8(0x10).uleb(self);
  for (let j = 1; j < shape.results.length; j++) b.u8(0x1a);
  b.u8(0x20, 0, 0x7c);
  for (let j = 0; j < shape.operands; j++) b.u8(0x7c);
  for (const t of shape.results.slice(1)) constInstr(b, t, t === I64 || t === F64 ? 0n : 0);
  return b.u8(0x0b);
}

function getterBody(global: number, t: ValType): Bytes {
  const b = new Bytes().uleb(0).u8(0x23).uleb(global);
  if (t === I32) b.u8(0xad);
  else if (t === F32) b.u8(0xbc, 0xad);
  else if (t === F64) b.u8(0xbd);
  return b.u8(0x0b);
}
