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
 */
import { Bytes } from './bytes';
import { Rng, weighted } from './rng';

export const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;
export type ValType = 0x7f | 0x7e | 0x7d | 0x7c;
const VALTYPES: readonly ValType[] = [I32, I64, F32, F64];
const VOID = 0x40;

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
}

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
}

export interface FuncType { params: ValType[]; result: ValType | null }
interface Global { type: ValType; mutable: boolean }
interface Label { type: ValType | null }

// ---------------------------------------------------------------------------------------------
// opcode tables

const UNARY: Record<ValType, number[]> = {
  [I32]: [0x67, 0x68, 0x69],
  [I64]: [0x79, 0x7a, 0x7b],
  [F32]: [0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91],
  [F64]: [0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f],
};
const BINARY: Record<ValType, number[]> = {
  [I32]: range(0x6a, 0x78),
  [I64]: range(0x7c, 0x8a),
  [F32]: range(0x92, 0x98),
  [F64]: range(0xa0, 0xa6),
};
/** div_s, div_u, rem_s, rem_u */
const DIVISION = new Set([0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82]);
const EQZ: Partial<Record<ValType, number>> = { [I32]: 0x45, [I64]: 0x50 };
const COMPARE: Record<ValType, number[]> = {
  [I32]: range(0x46, 0x4f),
  [I64]: range(0x51, 0x5a),
  [F32]: range(0x5b, 0x60),
  [F64]: range(0x61, 0x66),
};
interface Conversion { op: number; from: ValType; to: ValType; trunc?: 's' | 'u'; sat?: boolean }
const CONVERSIONS: Conversion[] = [
  { op: 0xa7, from: I64, to: I32 },
  { op: 0xa8, from: F32, to: I32, trunc: 's' }, { op: 0xa9, from: F32, to: I32, trunc: 'u' },
  { op: 0xaa, from: F64, to: I32, trunc: 's' }, { op: 0xab, from: F64, to: I32, trunc: 'u' },
  { op: 0xac, from: I32, to: I64 }, { op: 0xad, from: I32, to: I64 },
  { op: 0xae, from: F32, to: I64, trunc: 's' }, { op: 0xaf, from: F32, to: I64, trunc: 'u' },
  { op: 0xb0, from: F64, to: I64, trunc: 's' }, { op: 0xb1, from: F64, to: I64, trunc: 'u' },
  { op: 0xb2, from: I32, to: F32 }, { op: 0xb3, from: I32, to: F32 },
  { op: 0xb4, from: I64, to: F32 }, { op: 0xb5, from: I64, to: F32 }, { op: 0xb6, from: F64, to: F32 },
  { op: 0xb7, from: I32, to: F64 }, { op: 0xb8, from: I32, to: F64 },
  { op: 0xb9, from: I64, to: F64 }, { op: 0xba, from: I64, to: F64 }, { op: 0xbb, from: F32, to: F64 },
  { op: 0xbc, from: F32, to: I32 }, { op: 0xbd, from: F64, to: I64 },
  { op: 0xbe, from: I32, to: F32 }, { op: 0xbf, from: I64, to: F64 },
];
/** Saturating truncations: 0xfc, op. */
const SATURATING: Conversion[] = [
  { op: 0, from: F32, to: I32, sat: true }, { op: 1, from: F32, to: I32, sat: true },
  { op: 2, from: F64, to: I32, sat: true }, { op: 3, from: F64, to: I32, sat: true },
  { op: 4, from: F32, to: I64, sat: true }, { op: 5, from: F32, to: I64, sat: true },
  { op: 6, from: F64, to: I64, sat: true }, { op: 7, from: F64, to: I64, sat: true },
];
const SIGN_EXTEND: Partial<Record<ValType, number[]>> = { [I32]: [0xc0, 0xc1], [I64]: [0xc2, 0xc3, 0xc4] };
interface Access { op: number; type: ValType; bytes: number }
const LOADS: Access[] = [
  { op: 0x28, type: I32, bytes: 4 }, { op: 0x29, type: I64, bytes: 8 },
  { op: 0x2a, type: F32, bytes: 4 }, { op: 0x2b, type: F64, bytes: 8 },
  { op: 0x2c, type: I32, bytes: 1 }, { op: 0x2d, type: I32, bytes: 1 },
  { op: 0x2e, type: I32, bytes: 2 }, { op: 0x2f, type: I32, bytes: 2 },
  { op: 0x30, type: I64, bytes: 1 }, { op: 0x31, type: I64, bytes: 1 },
  { op: 0x32, type: I64, bytes: 2 }, { op: 0x33, type: I64, bytes: 2 },
  { op: 0x34, type: I64, bytes: 4 }, { op: 0x35, type: I64, bytes: 4 },
];
const STORES: Access[] = [
  { op: 0x36, type: I32, bytes: 4 }, { op: 0x37, type: I64, bytes: 8 },
  { op: 0x38, type: F32, bytes: 4 }, { op: 0x39, type: F64, bytes: 8 },
  { op: 0x3a, type: I32, bytes: 1 }, { op: 0x3b, type: I32, bytes: 2 },
  { op: 0x3c, type: I64, bytes: 1 }, { op: 0x3d, type: I64, bytes: 2 }, { op: 0x3e, type: I64, bytes: 4 },
];

function range(lo: number, hi: number): number[] {
  const r: number[] = [];
  for (let k = lo; k <= hi; k++) r.push(k);
  return r;
}

// ---------------------------------------------------------------------------------------------
// constants

const f32buf = new Float32Array(1);
const f32u = new Uint32Array(f32buf.buffer);
const f64buf = new Float64Array(1);
const f64u = new BigUint64Array(f64buf.buffer);
export function f32Bits(x: number): number {
  f32buf[0] = x;
  return f32u[0];
}
export function f64Bits(x: number): bigint {
  f64buf[0] = x;
  return f64u[0];
}

const I32_SPECIAL = [0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000,
  31, 32, 33, 63, 64, 0x55555555, -0x55555556, 0xfff8, 0x7ffffffe, -2];
const I64_SPECIAL = [0n, 1n, -1n, 2n, 0x7fffffffffffffffn, -0x8000000000000000n, 0xffffffffn, 0x100000000n,
  0x80000000n, -0x80000000n, 63n, 64n, 65n, 0x5555555555555555n, 0xfffn, -2n];
const F32_SPECIAL = [0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
  0xffc00000, 0x7fa00000, 0x7f800001, 0xff812345, 0x00000001, 0x80000001, 0x007fffff, 0x00800000,
  0x7f7fffff, 0xff7fffff, 0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000, 0xdf000000, 0x5f800000,
  0x3f000000, 0x3fc00000, 0xc0200000, 0x3effffff, 0x4b000000, 0x4b7fffff,
  // the edges of the integer ranges: just inside and outside 2^31, 2^32, 2^63, 2^64, and (-1, 0)
  0x4effffff, 0xcf000001, 0x4f7fffff, 0x5effffff, 0xdf000001, 0x5f7fffff, 0xbf7fffff, 0xbf800001];
const F64_SPECIAL = [0x0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x7ff0000000000000n,
  0xfff0000000000000n, 0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff4000000000000n, 0x7ff0000000000001n,
  0xfff8000000012345n, 0x1n, 0x8000000000000001n, 0x000fffffffffffffn, 0x0010000000000000n,
  0x7fefffffffffffffn, 0xffefffffffffffffn, 0x41e0000000000000n, 0xc1e0000000000000n, 0x41f0000000000000n,
  0x43e0000000000000n, 0xc3e0000000000000n, 0x43f0000000000000n, 0x3fe0000000000000n, 0x3ff8000000000000n,
  0xc004000000000000n, 0x41dfffffffc00000n, 0x4330000000000000n, 0xc1e0000000200000n,
  0x41dfffffffffffffn, 0xc1e00000001fffffn, 0x41efffffffffffffn, 0x41f0000000000001n, 0x43dfffffffffffffn,
  0xc3e0000000000001n, 0x43efffffffffffffn, 0xbfefffffffffffffn, 0xbff0000000000001n, 0x41e0000000000001n];

// ---------------------------------------------------------------------------------------------
// the module

/** What a module may import from the spec testsuite's `spectest` module (packages/abi/spectest.wat). */
const SPECTEST_FUNCS: [string, ValType[]][] = [
  ['print', []], ['print_i32', [0x7f]], ['print_i64', [0x7e]], ['print_f32', [0x7d]], ['print_f64', [0x7c]],
  ['print_i32_f32', [0x7f, 0x7d]], ['print_f64_f64', [0x7c, 0x7c]],
];
const SPECTEST_GLOBALS: [string, ValType][] = [['global_i32', 0x7f], ['global_i64', 0x7e], ['global_f32', 0x7d], ['global_f64', 0x7c]];
const FUEL_PER_CALL = 40;
const MIX = 0x100000001b3n; // FNV-1a 64-bit prime
const FNV_OFFSET = 0xcbf29ce484222325n;

interface ModuleInfo {
  types: FuncType[];
  /** Type index of every function in the index space: imports, then the generated functions. */
  funcTypes: number[];
  /** Index of the first generated function (= imported functions). */
  firstDefined: number;
  /** Global indices of `fuel` and `acc` (after the imported globals). */
  fuel: number;
  acc: number;
  globals: Global[];
  table: (number | null)[];
  memPages: number;
  memMax: number;
  pTrap: number;
  /** Weight of constants among the leaves: the code generator folds and uses immediates. */
  constBias: number;
  /** Post-1.0 features in use (GenOptions.mvp). */
  extended: boolean;
  /** Rare shapes that outgrow the compiler's initial arrays: deep nesting, tall stacks. */
  stress: boolean;
  skip: ReadonlySet<string>;
  nodes: GenNode[];
  limits: { exprDepth: number; nest: number; stmts: number };
}

export function generate(opts: GenOptions): Generated {
  const size = Math.max(1, Math.floor(opts.size));
  const rng = new Rng(opts.seed, size + 1000 * (opts.salt ?? 0));
  const lib = opts.importFrom;

  // types: a small pool, so that indirect calls often find a matching entry, plus a duplicate
  // (call_indirect compares types structurally)
  const types: FuncType[] = [];
  const nTypes = rng.range(1, 3 + Math.min(3, size >> 3));
  for (let k = 0; k < nTypes; k++) {
    const params = Array.from({ length: rng.chance(0.15) ? rng.range(4, 7) : rng.int(4) }, () => rng.pick(VALTYPES));
    types.push({ params, result: rng.chance(0.75) ? rng.pick(VALTYPES) : null });
  }
  if (rng.chance(0.5)) types.push({ ...rng.pick(types) });
  const poolSize = types.length;
  const runType = types.length;
  types.push({ params: [], result: I64 });
  const startType = types.length;
  types.push({ params: [], result: null });

  // imports from spectest (a quarter of the modules): functions, immutable globals, and the
  // memory or table instead of defining them; or from `lib` (GenOptions.importFrom)
  const imports = lib !== undefined || rng.chance(0.25);
  const from = lib ? 'lib' : 'spectest';
  const importedFuncs: { name: string; type: FuncType }[] = !imports ? []
    : lib ? lib.funcs.filter(() => rng.chance(0.5))
    : SPECTEST_FUNCS.filter(() => rng.chance(0.3)).map(([name, params]) => ({ name, type: { params, result: null } }));
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
    const type = rng.pick(VALTYPES);
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

  const prefix = opts.prefix ?? '';
  const m: ModuleInfo = {
    types, funcTypes, firstDefined: nImp, fuel, acc, globals, table, memPages, memMax, pTrap, constBias: rng.pick([1, 1, 3]),
    extended: rng.chance(0.4) && !opts.mvp, stress: rng.chance(0.1), skip: opts.skip ?? new Set(), nodes: [],
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
  const exportedCount = globals.filter((g) => g.mutable).length;
  const hasStart = rng.chance(0.3);
  const deepType = types.length;
  types.push({ params: [I64], result: I64 });
  const deep = rng.chance(0.04) ? nImp + nFuncs + 2 + exportedCount + (hasStart ? 1 : 0) : null;
  const run = new FuncGen(m, rng.fork(), `${prefix}run`, types[runType], 0);
  run.runBody(nFuncs + rng.int(nFuncs + 2), deep);
  bodies.push(run.finish());
  bodies.push(memhashBody());
  const exported = globals.map((g, k) => k).filter((k) => globals[k].mutable);
  for (const k of exported) bodies.push(getterBody(k, globals[k].type));
  // a start function runs at instantiation, with no fuel: its calls return zeros at once
  if (hasStart) {
    const start = new FuncGen(m, rng.fork(), `${prefix}start`, types[startType], rng.int(3));
    start.functionBody(1 + rng.int(4), false);
    bodies.push(start.finish());
  }
  if (deep !== null) bodies.push(deepBody(deep, rng.int(40)));
  const startIndex = hasStart ? nImp + nFuncs + 2 + exported.length : -1;
  // refuel () → (): the host calls it before calling an exported f<k> itself
  const refuel = nImp + bodies.length;
  bodies.push(new Bytes().uleb(0).u8(0x41).sleb(FUEL_PER_CALL).u8(0x24).uleb(fuel).u8(0x0b));

  // sections
  const mod = new Bytes().u8(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const typeSec = new Bytes().uleb(types.length);
  for (const t of types) {
    typeSec.u8(0x60).uleb(t.params.length).u8(...t.params);
    if (t.result === null) typeSec.uleb(0);
    else typeSec.uleb(1).u8(t.result);
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
  const codeSec = new Bytes().uleb(bodies.length);
  for (const b of bodies) codeSec.uleb(b.length).append(b);
  mod.section(10, codeSec);
  const nData = memPages ? rng.int(4) : 0;
  const outOfBounds = rng.chance(0.02);
  const globalI32 = importedGlobals.findIndex((g) => g.name === 'global_i32' && !g.mutable); // 666
  const dataSec = new Bytes().uleb(nData + (outOfBounds ? 1 : 0));
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
  return { bytes: mod.bytes(), nodes: m.nodes, exports: exportsInfo };
}

function limits(b: Bytes, min: number, max: number | null): Bytes {
  return max === null ? b.u8(0).uleb(min) : b.u8(1).uleb(min).uleb(max);
}

function constInstr(b: Bytes, t: ValType, v: number | bigint): Bytes {
  switch (t) {
    case I32: return b.u8(0x41).sleb(v as number);
    case I64: return b.u8(0x42).sleb(v as bigint);
    case F32: return b.u8(0x43).f32bits(v as number);
    default: return b.u8(0x44).f64bits(v as bigint);
  }
}

/** A constant's value: i32 number, i64 bigint, f32 bits (number), f64 bits (bigint). */
function constValue(rng: Rng, t: ValType): number | bigint {
  const k = weighted(rng, [3, 3, 2]);
  switch (t) {
    case I32:
      return k === 0 ? rng.range(-16, 16) : k === 1 ? rng.pick(I32_SPECIAL) : rng.u32() | 0;
    case I64:
      return k === 0 ? BigInt(rng.range(-16, 16)) : k === 1 ? rng.pick(I64_SPECIAL)
        : rng.chance(0.5) ? BigInt.asIntN(64, rng.u64()) : BigInt(rng.u32() | 0);
    case F32:
      return k === 0 ? f32Bits(rng.range(-8, 8) / rng.pick([1, 2, 4])) : k === 1 ? rng.pick(F32_SPECIAL) : rng.u32();
    default:
      return k === 0 ? f64Bits(rng.range(-8, 8) / rng.pick([1, 2, 4])) : k === 1 ? rng.pick(F64_SPECIAL) : rng.u64();
  }
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

/** (i64) → i64 recursing without end; `locals` sets its frame size. */
function deepBody(self: number, locals: number): Bytes {
  const b = new Bytes().uleb(locals ? 1 : 0);
  if (locals) b.uleb(locals).u8(I64);
  b.u8(0x20, 0, 0x42, 1, 0x7c, 0x22, 0, 0x10).uleb(self).u8(0x20, 0, 0x7c, 0x0b);
  return b;
}

function getterBody(global: number, t: ValType): Bytes {
  const b = new Bytes().uleb(0).u8(0x23).uleb(global);
  if (t === I32) b.u8(0xad);
  else if (t === F32) b.u8(0xbc, 0xad);
  else if (t === F64) b.u8(0xbd);
  return b.u8(0x0b);
}

// ---------------------------------------------------------------------------------------------
// functions

class FuncGen {
  private code = new Bytes();
  /** Innermost last; [0] is the function's own label. */
  private labels: Label[];
  private locals: ValType[];
  private readonly scratchF32: number;
  private readonly scratchF64: number;
  private counters = 0;
  private child = 0;

  constructor(private m: ModuleInfo, private rng: Rng, private path: string, private type: FuncType, declared: number) {
    this.labels = [{ type: type.result }];
    this.locals = [...type.params];
    for (let k = 0; k < declared; k++) this.locals.push(rng.pick(VALTYPES));
    this.scratchF32 = this.locals.length;
    this.scratchF64 = this.locals.length + 1;
  }

  /** Local declarations + code + end. */
  finish(): Bytes {
    const b = new Bytes();
    const decl = this.locals.slice(this.type.params.length);
    b.uleb(decl.length + 2 + (this.counters ? 1 : 0));
    for (const t of decl) b.uleb(1).u8(t);
    b.uleb(1).u8(F32).uleb(1).u8(F64);
    if (this.counters) b.uleb(this.counters).u8(I32);
    return b.append(this.code).u8(0x0b);
  }

  functionBody(stmts: number, fuel = true): void {
    const c = this.code;
    if (fuel) {
      // a function called with no fuel left returns zeros
      c.u8(0x23).uleb(this.m.fuel).u8(0x45, 0x04, VOID);
      if (this.type.result !== null) this.zero(this.type.result);
      c.u8(0x0f, 0x0b);
      c.u8(0x23).uleb(this.m.fuel).u8(0x41, 1, 0x6b, 0x24).uleb(this.m.fuel);
    }
    for (let k = 0; k < stmts; k++) this.stmt(this.m.limits.exprDepth);
    if (this.type.result !== null) this.expr(this.type.result, this.m.limits.exprDepth);
  }

  runBody(calls: number, deep: number | null): void {
    const first = this.m.firstDefined;
    const nFuncs = this.m.funcTypes.length - first;
    for (let k = 0; k < calls; k++) {
      this.node(() => undefined, () => {
        this.code.u8(0x41).sleb(FUEL_PER_CALL).u8(0x24).uleb(this.m.fuel);
        const f = first + (k < nFuncs ? k : this.rng.int(nFuncs));
        let result: ValType | null | undefined;
        if (k >= nFuncs && this.rng.chance(0.3)) result = this.callIndirect(null, 1);
        if (result === undefined) {
          const t = this.m.types[this.m.funcTypes[f]];
          for (const p of t.params) this.expr(p, 1);
          this.code.u8(0x10).uleb(f);
          result = t.result;
        }
        if (result === null) this.code.u8(0x42).sleb(k + 1);
        else this.toI64(result);
        this.mixAcc();
      });
    }
    if (deep !== null) {
      this.code.u8(0x42, 0, 0x10).uleb(deep);
      this.mixAcc();
    }
    this.code.u8(0x23).uleb(this.m.acc);
  }

  // ---- nodes

  private node(skipped: () => void, body: () => void): void {
    const id = `${this.path}.${this.child++}`;
    const rng = this.rng.fork();
    if (this.m.skip.has(id)) {
      skipped();
      return;
    }
    const saved = { rng: this.rng, path: this.path, child: this.child };
    this.rng = rng;
    this.path = id;
    this.child = 0;
    const start = this.code.length;
    body();
    this.m.nodes.push({ id, size: this.code.length - start });
    this.rng = saved.rng;
    this.path = saved.path;
    this.child = saved.child;
  }

  /** Pushes one value of type t. */
  private expr(t: ValType, depth: number): void {
    this.node(() => this.zero(t), () => this.exprBody(t, depth));
  }

  /** Leaves the operand stack as it was (or unreachable). */
  private stmt(depth: number): void {
    this.node(() => undefined, () => this.stmtBody(depth));
  }

  // ---- helpers

  private trap(): boolean {
    return this.m.pTrap > 0 && this.rng.chance(this.m.pTrap);
  }

  private zero(t: ValType): void {
    constInstr(this.code, t, t === I64 || t === F64 ? 0n : 0);
  }

  private constant(t: ValType): void {
    constInstr(this.code, t, constValue(this.rng, t));
  }

  private nest(): number {
    return this.labels.length - 1;
  }

  private localsOf(t: ValType): number[] {
    const r: number[] = [];
    this.locals.forEach((l, k) => l === t && r.push(k));
    return r;
  }

  private globalsOf(t: ValType, mutable: boolean): number[] {
    const r: number[] = [];
    this.m.globals.forEach((g, k) => g.type === t && (!mutable || (g.mutable && k !== this.m.fuel)) && r.push(k));
    return r;
  }

  private blockType(t: ValType | null): number {
    return t === null ? VOID : t;
  }

  /**
   * Where a float's bits become observable (reinterpret, store, global.set, copysign's sign,
   * mixing into acc), a NaN is replaced by the canonical NaN: the spec leaves the payload and
   * sign of NaN results open, and V8 uses that freedom (constant folding, its f32.min/max).
   */
  private canonicalNaN(t: ValType): void {
    if (t !== F32 && t !== F64) return;
    const tmp = t === F32 ? this.scratchF32 : this.scratchF64;
    this.code.u8(0x22).uleb(tmp);
    if (t === F32) this.code.u8(0x43).f32bits(0x7fc00000);
    else this.code.u8(0x44).f64bits(0x7ff8000000000000n);
    this.code.u8(0x20).uleb(tmp).u8(0x20).uleb(tmp).u8(t === F32 ? 0x5b : 0x61, 0x1b);
  }

  private toI64(t: ValType): void {
    this.canonicalNaN(t);
    if (t === I32) this.code.u8(0xad);
    else if (t === F32) this.code.u8(0xbc, 0xad);
    else if (t === F64) this.code.u8(0xbd);
  }

  private mixAcc(): void {
    this.code.u8(0x23).uleb(this.m.acc).u8(0x85, 0x42).sleb(BigInt.asIntN(64, MIX)).u8(0x7e, 0x24).uleb(this.m.acc);
  }

  private memarg(a: Access, guarded: boolean): void {
    const natural = Math.log2(a.bytes);
    this.code.uleb(this.rng.int(natural + 1));
    if (guarded) this.code.uleb(this.rng.chance(0.5) ? 0 : this.rng.int(1024));
    else this.code.uleb(this.rng.pick([0, a.bytes - 1, 65535, 65536 - a.bytes, 0xfffffff0, this.rng.u32(), this.rng.int(70000)]));
  }

  /** An address: guarded ones stay within the first 32 KiB (+ offset < 1 KiB). */
  private address(a: Access, depth: number): boolean {
    const guarded = this.m.memPages > 0 && !this.trap();
    if (guarded) {
      this.expr(I32, depth - 1);
      this.code.u8(0x41).sleb(this.rng.pick([0xff, 0xfff, 0x7fff, 0x7ff8])).u8(0x71);
    } else {
      const k = this.rng.int(4);
      if (k === 0) this.expr(I32, depth - 1);
      else if (k === 1) this.code.u8(0x41).sleb(this.m.memPages * 65536 - this.rng.int(2 * a.bytes));
      else if (k === 2) this.code.u8(0x41).sleb(this.rng.int(this.m.memMax * 65536 + 16)); // grown pages
      else this.code.u8(0x41).sleb(this.rng.u32() | 0);
    }
    return guarded;
  }

  // ---- expressions

  private exprBody(t: ValType, depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const locals = this.localsOf(t);
    const globals = this.globalsOf(t, false);
    const deep = depth > 0;
    const canNest = deep && this.nest() < this.m.limits.nest;
    const leaf = 2 + 6 * (1 - depth / this.m.limits.exprDepth);
    const conversions = (this.m.extended ? [...CONVERSIONS, ...SATURATING] : CONVERSIONS).filter((cv) => cv.to === t);
    const branchable = this.labels.some((l) => l.type === t);
    const callees = this.m.funcTypes.map((ti, f) => [f, ti]).filter(([, ti]) => this.m.types[ti].result === t);
    const w = [
      leaf * this.m.constBias, // 0 const
      locals.length ? leaf : 0, // 1 local.get
      globals.length ? leaf / 3 : 0, // 2 global.get
      deep ? 2 : 0, // 3 unary
      deep ? 5 : 0, // 4 binary
      deep && t === I32 ? 2.5 : 0, // 5 compare
      deep ? 2 : 0, // 6 conversion
      deep ? 2 : 0, // 7 load
      deep && t === I32 ? 0.4 : 0, // 8 memory.size / grow
      deep && locals.length ? 1 : 0, // 9 local.tee
      deep ? 1 : 0, // 10 select
      canNest ? 1 : 0, // 11 block
      canNest ? 1 : 0, // 12 if
      canNest ? 0.6 : 0, // 13 loop
      deep && callees.length ? 1 : 0, // 14 call
      deep ? 0.6 : 0, // 15 call_indirect
      deep && branchable ? 0.5 : 0, // 16 br_if
      deep ? 0.25 : 0, // 17 polymorphic: br, br_table, return, unreachable
      deep ? 0.4 : 0, // 18 wide: many values live at once (register pressure, spills)
      deep && this.m.stress ? 0.3 : 0, // 19 tower of blocks / a very tall operand stack
    ];
    switch (weighted(rng, w)) {
      case 0: return this.constant(t);
      case 1: c.u8(0x20).uleb(rng.pick(locals)); return;
      case 2: c.u8(0x23).uleb(rng.pick(globals)); return;
      case 3:
        this.expr(t, depth - 1);
        c.u8(rng.pick(this.m.extended && SIGN_EXTEND[t] ? [...UNARY[t], ...SIGN_EXTEND[t]!] : UNARY[t]));
        return;
      case 4: {
        const op = rng.pick(BINARY[t]);
        const division = DIVISION.has(op);
        // MIN / -1 and MIN % -1 are the cases x86's idiv faults on
        if (division && rng.chance(0.2)) constInstr(c, t, t === I32 ? -0x80000000 : -0x8000000000000000n);
        else this.expr(t, depth - 1);
        if (division && !this.trap()) this.divisor(t, op, depth - 1);
        else if (division && rng.chance(0.3)) constInstr(c, t, rng.chance(0.5) ? 0 : t === I32 ? -1 : -1n);
        else this.expr(t, depth - 1);
        if (op === 0x98 || op === 0xa6) this.canonicalNaN(t); // copysign takes the sign of a NaN
        c.u8(op);
        return;
      }
      case 5: {
        const s = rng.pick(VALTYPES);
        if (EQZ[s] !== undefined && rng.chance(0.25)) {
          this.expr(s, depth - 1);
          c.u8(EQZ[s]!);
        } else {
          this.expr(s, depth - 1);
          this.expr(s, depth - 1);
          c.u8(rng.pick(COMPARE[s]));
        }
        return;
      }
      case 6: {
        if (!conversions.length) return this.constant(t);
        const cv = rng.pick(conversions);
        this.expr(cv.from, depth - 1);
        if (cv.trunc && !this.trap()) this.truncGuard(cv);
        if (cv.sat) c.u8(0xfc).uleb(cv.op);
        else {
          if (cv.op === 0xbc || cv.op === 0xbd) this.canonicalNaN(cv.from);
          c.u8(cv.op);
        }
        return;
      }
      case 7: {
        const a = rng.pick(LOADS.filter((l) => l.type === t));
        const guarded = this.address(a, depth);
        c.u8(a.op);
        this.memarg(a, guarded);
        return;
      }
      case 8:
        if (rng.chance(0.5)) c.u8(0x3f, 0x00);
        else {
          if (rng.chance(0.8)) c.u8(0x41).sleb(rng.int(3));
          else this.expr(I32, depth - 1);
          c.u8(0x40, 0x00);
        }
        return;
      case 9: this.expr(t, depth - 1); c.u8(0x22).uleb(rng.pick(locals)); return;
      case 10:
        this.expr(t, depth - 1);
        this.expr(t, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x1b);
        return;
      case 11: return this.block(t, depth);
      case 12: return this.ifElse(t, depth);
      case 13: return this.loop(t, depth);
      case 14: {
        const [f, ti] = rng.pick(callees);
        for (const p of this.m.types[ti].params) this.expr(p, depth - 1);
        c.u8(0x10).uleb(f);
        return;
      }
      case 15:
        if (this.callIndirect(t, depth) !== t) this.constant(t);
        return;
      case 16: {
        const targets = this.labels.map((l, k) => k).filter((k) => this.labels[k].type === t);
        this.expr(t, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x0d).uleb(this.nest() - rng.pick(targets));
        return;
      }
      case 17:
        return this.polymorphic(depth);
      case 19: {
        if (rng.chance(0.5)) {
          const n = rng.range(1000, 1600);
          for (let k = 0; k < n; k++) this.constant(t);
          for (let k = 1; k < n; k++) c.u8(rng.pick(BINARY[t].filter((op) => !DIVISION.has(op) && op !== 0x98 && op !== 0xa6)));
          return;
        }
        // block (t) nested n deep; the innermost branches out to any of them
        const n = rng.range(40, 300);
        for (let k = 0; k < n; k++) {
          c.u8(0x02, t);
          this.labels.push({ type: t });
        }
        this.expr(t, 1);
        const targets = this.labels.map((l, k) => k).filter((k) => this.labels[k].type === t);
        if (rng.chance(0.5)) {
          this.expr(I32, 1);
          c.u8(0x0d).uleb(this.nest() - rng.pick(targets));
        } else {
          this.expr(I32, 1);
          const m = rng.range(1, 600);
          c.u8(0x0e).uleb(m);
          for (let k = 0; k <= m; k++) c.uleb(this.nest() - rng.pick(targets));
        }
        for (let k = 0; k < n; k++) {
          this.labels.pop();
          c.u8(0x0b);
        }
        return;
      }
      default: {
        // v1 … vn pushed, then folded from the top: all n live together
        const n = rng.range(4, 20);
        // no copysign: its sign operand could be an uncanonicalised NaN
        const ops = BINARY[t].filter((op) => !DIVISION.has(op) && op !== 0x98 && op !== 0xa6);
        for (let k = 0; k < n; k++) this.expr(t, rng.chance(0.7) ? 0 : depth - 2);
        for (let k = 1; k < n; k++) c.u8(rng.pick(ops));
        return;
      }
    }
  }

  /** A divisor that is not 0, and not -1 for div_s (rem_s of MIN by -1 is 0, not a trap). */
  private divisor(t: ValType, op: number, depth: number): void {
    const c = this.code;
    const divS = op === 0x6d || op === 0x7f;
    const i32 = t === I32;
    if (this.rng.chance(0.4)) {
      let v = this.rng.chance(0.2) ? (i32 ? -1 : -1n) : constValue(this.rng, t);
      if (v === 0 || v === 0n || (divS && (v === -1 || v === -1n))) v = i32 ? 7 : 7n;
      constInstr(c, t, v);
      return;
    }
    this.expr(t, depth);
    const k = this.rng.int(divS ? 2 : 3);
    const imm = (v: number): void => void (i32 ? c.u8(0x41).sleb(v) : c.u8(0x42).sleb(BigInt(v)));
    if (k === 0) { // (x & -2) | 2: even, either sign
      imm(-2);
      c.u8(i32 ? 0x71 : 0x83);
      imm(2);
    } else if (k === 1) { // (x >>> 1) | 1: positive, odd
      imm(1);
      c.u8(i32 ? 0x76 : 0x88);
      imm(1);
    } else imm(1); // x | 1: -1 possible
    c.u8(i32 ? 0x72 : 0x84);
  }

  /** Replaces an out-of-range operand of a truncation by 0 (select on a range check). */
  private truncGuard(cv: Conversion): void {
    const c = this.code;
    const f32 = cv.from === F32;
    const tmp = f32 ? this.scratchF32 : this.scratchF64;
    const bits = cv.to === I32 ? 32 : 64;
    const lo = cv.trunc === 's' ? -(2 ** (bits - 1)) - (bits === 32 ? 1 : 0) : -1;
    const hi = cv.trunc === 's' ? 2 ** (bits - 1) : 2 ** bits;
    const fc = (x: number): void => {
      if (f32) c.u8(0x43).f32bits(f32Bits(x));
      else c.u8(0x44).f64bits(f64Bits(x));
    };
    c.u8(0x22).uleb(tmp);
    fc(0);
    c.u8(0x20).uleb(tmp);
    fc(hi);
    c.u8(f32 ? 0x5d : 0x63); // lt
    c.u8(0x20).uleb(tmp);
    fc(lo);
    c.u8(f32 ? 0x5e : 0x64, 0x71, 0x1b); // gt, and, select
  }

  private block(t: ValType | null, depth: number): void {
    this.code.u8(0x02, this.blockType(t));
    this.labels.push({ type: t });
    this.stmts(depth);
    if (t !== null) this.expr(t, depth - 1);
    this.labels.pop();
    this.code.u8(0x0b);
  }

  private ifElse(t: ValType | null, depth: number): void {
    this.expr(I32, depth - 1);
    this.code.u8(0x04, this.blockType(t));
    this.labels.push({ type: t });
    this.stmts(depth);
    if (t !== null) this.expr(t, depth - 1);
    if (t !== null || this.rng.chance(0.5)) {
      this.code.u8(0x05);
      this.stmts(depth);
      if (t !== null) this.expr(t, depth - 1);
    }
    this.labels.pop();
    this.code.u8(0x0b);
  }

  /**
   * block $B (t) ; loop $L [t] ; exit to $B when the counter is 0 ; counter-- ; body ;
   * br_if $L ; [t] end ; [t] end. The counter local is this loop's alone.
   */
  private loop(t: ValType | null, depth: number): void {
    const c = this.code;
    const counter = this.scratchF64 + 1 + this.counters++;
    c.u8(0x41).sleb(this.rng.int(5)).u8(0x21).uleb(counter);
    c.u8(0x02, this.blockType(t));
    this.labels.push({ type: t });
    const valued = t !== null && this.rng.chance(0.5);
    c.u8(0x03, valued ? t! : VOID);
    this.labels.push({ type: null });
    if (t !== null) this.zero(t);
    c.u8(0x20).uleb(counter).u8(0x45, 0x0d, 1);
    if (t !== null) c.u8(0x1a);
    c.u8(0x20).uleb(counter).u8(0x41, 1, 0x6b, 0x21).uleb(counter);
    this.stmts(depth);
    if (this.rng.chance(0.5)) c.u8(0x20).uleb(counter);
    else this.expr(I32, depth - 1);
    c.u8(0x0d, 0);
    if (valued) this.expr(t!, depth - 1);
    this.labels.pop();
    c.u8(0x0b);
    if (t !== null && !valued) this.expr(t, depth - 1);
    this.labels.pop();
    c.u8(0x0b);
  }

  private stmts(depth: number): void {
    const n = this.rng.int(1 + Math.max(1, this.m.limits.stmts - 2 * this.nest()));
    for (let k = 0; k < n; k++) this.stmt(depth - 1);
  }

  /**
   * call_indirect with a type whose result is `want` (any type when null). Usually through an
   * entry known to match; sometimes (trap budget) a random index. Returns the result type, or
   * `undefined` when it emitted nothing.
   */
  private callIndirect(want: ValType | null, depth: number): ValType | null | undefined {
    const rng = this.rng;
    const { types, table } = this.m;
    const typeIdx = types.map((t, k) => k).filter((k) => want === null || types[k].result === want);
    if (!typeIdx.length) return undefined;
    const ti = rng.pick(typeIdx);
    const key = (k: number): string => `${types[k].params.join(',')}:${types[k].result}`;
    const matching = table.map((f, k) => k).filter((k) => table[k] !== null && key(this.m.funcTypes[table[k]!]) === key(ti));
    const wild = this.trap();
    if (!wild && !matching.length) return undefined;
    for (const p of types[ti].params) this.expr(p, depth - 1);
    if (!wild) this.code.u8(0x41).sleb(rng.pick(matching));
    else if (rng.chance(0.5)) this.code.u8(0x41).sleb(rng.int(table.length + 3));
    else this.expr(I32, depth - 1);
    this.code.u8(0x11).uleb(ti).u8(0x00);
    return types[ti].result;
  }

  /** br, br_table, return or unreachable: the stack becomes polymorphic. */
  private polymorphic(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const k = weighted(rng, [3, 2, 1, this.m.pTrap > 0 ? 0.5 : 0]);
    if (k === 0) {
      const target = rng.int(this.labels.length);
      const lt = this.labels[target].type;
      if (lt !== null) this.expr(lt, depth - 1);
      c.u8(0x0c).uleb(this.nest() - target);
    } else if (k === 1) {
      const lt = rng.pick(this.labels).type;
      const targets = this.labels.map((l, j) => j).filter((j) => this.labels[j].type === lt);
      if (lt !== null) this.expr(lt, depth - 1);
      if (rng.chance(0.5)) c.u8(0x41).sleb(rng.int(7));
      else this.expr(I32, depth - 1);
      const n = rng.int(5);
      c.u8(0x0e).uleb(n);
      for (let j = 0; j <= n; j++) c.uleb(this.nest() - rng.pick(targets));
    } else if (k === 2) {
      if (this.type.result !== null) this.expr(this.type.result, depth - 1);
      c.u8(0x0f);
    } else c.u8(0x00);
  }

  // ---- statements

  private stmtBody(depth: number): void {
    const c = this.code;
    const rng = this.rng;
    const canNest = depth > 0 && this.nest() < this.m.limits.nest;
    const mutables = this.m.globals.map((g, k) => k).filter((k) => k !== this.m.fuel && this.m.globals[k].mutable);
    const w = [
      3, // 0 local.set
      mutables.length ? 2 : 0, // 1 global.set
      3, // 2 store
      1, // 3 drop
      1.5, // 4 mix into acc
      canNest ? 1 : 0, // 5 block
      canNest ? 1.5 : 0, // 6 if
      canNest ? 1 : 0, // 7 loop
      1, // 8 call
      0.5, // 9 call_indirect
      1, // 10 br_if
      0.2, // 11 polymorphic
      0.3, // 12 memory.grow
      this.m.extended ? 0.8 : 0, // 13 memory.copy / memory.fill
    ];
    switch (weighted(rng, w)) {
      case 0: {
        const l = rng.int(this.locals.length);
        if (this.locals.length === 0) return;
        this.expr(this.locals[l], depth);
        c.u8(0x21).uleb(l);
        return;
      }
      case 1: {
        const g = rng.pick(mutables);
        this.expr(this.m.globals[g].type, depth);
        this.canonicalNaN(this.m.globals[g].type);
        c.u8(0x24).uleb(g);
        return;
      }
      case 2: {
        const a = rng.pick(STORES);
        const guarded = this.address(a, depth);
        this.expr(a.type, depth - 1);
        this.canonicalNaN(a.type);
        c.u8(a.op);
        this.memarg(a, guarded);
        return;
      }
      case 3: this.expr(rng.pick(VALTYPES), depth); c.u8(0x1a); return;
      case 4: {
        const t = rng.pick(VALTYPES);
        this.expr(t, depth);
        this.toI64(t);
        this.mixAcc();
        return;
      }
      case 5: return this.block(null, depth);
      case 6: return this.ifElse(null, depth);
      case 7: return this.loop(null, depth);
      case 8: {
        const f = rng.int(this.m.funcTypes.length);
        const t = this.m.types[this.m.funcTypes[f]];
        for (const p of t.params) this.expr(p, depth - 1);
        c.u8(0x10).uleb(f);
        if (t.result !== null) c.u8(0x1a);
        return;
      }
      case 9: {
        const r = this.callIndirect(null, depth);
        if (r !== null && r !== undefined) c.u8(0x1a);
        return;
      }
      case 10: {
        const target = rng.int(this.labels.length);
        const lt = this.labels[target].type;
        if (lt !== null) this.expr(lt, depth - 1);
        this.expr(I32, depth - 1);
        c.u8(0x0d).uleb(this.nest() - target);
        if (lt !== null) c.u8(0x1a);
        return;
      }
      case 11: return this.polymorphic(depth);
      case 12:
        if (rng.chance(0.8)) c.u8(0x41).sleb(rng.int(2));
        else this.expr(I32, depth - 1);
        c.u8(0x40, 0x00, 0x1a);
        return;
      default: {
        // dst, src or value, length: guarded ones stay within the first 33 KiB
        const guarded = this.m.memPages > 0 && !this.trap();
        const operand = (mask: number): void => {
          if (rng.chance(0.3)) c.u8(0x41).sleb(guarded ? rng.int(mask + 1) : rng.int(this.m.memMax * 65536 + 64));
          else {
            this.expr(I32, depth - 1);
            if (guarded) c.u8(0x41).sleb(mask).u8(0x71);
          }
        };
        const copy = rng.chance(0.5);
        operand(0x7fff);
        if (copy) operand(0x7fff);
        else this.expr(I32, depth - 1);
        operand(rng.pick([0xf, 0xff, 0x3ff]));
        c.u8(0xfc).uleb(copy ? 10 : 11);
        if (copy) c.u8(0x00, 0x00);
        else c.u8(0x00);
      }
    }
  }
}
