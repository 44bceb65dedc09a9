import { OpClass } from './backend';
import { I32, I64, F32, F64, Conv } from './operations';
import { OPCODE_FEATURES } from '../features';

/**
 * The opcode table (STYLE: tables over branches): one row per instruction, indexed by its opcode;
 * a prefixed instruction is the row of its prefix's base plus its sub-opcode (0xfc n: FC_BASE + n;
 * SIMD will add 0xfd n as FD_BASE + n). A row says which handler compiles it (`opHandler`, the
 * dispatch of function.ts), its operand and result types (validation), the typed operation it asks
 * the backend for (`opClass`, `opKind`) and the properties of its immediates (`opAlign`,
 * `opBytes`, `opSigned` for memory accesses). Adding an instruction is a row here, a handler if no
 * existing one fits, and one emitter per ISA.
 */

/** Handlers (function.ts HANDLERS): one per way of compiling an instruction. */
export const enum H {
  Illegal = 0, Unsupported, Prefix,
  // control.ts
  Unreachable, Nop, Block, Loop, If, Else, End, Br, BrIf, BrTable, Return,
  // calls.ts
  Call, CallIndirect,
  // parametric.ts
  Drop, Select, SelectT,
  // variables.ts
  LocalGet, LocalSet, LocalTee, GlobalGet, GlobalSet,
  // tables.ts
  TableGet, TableSet, TableInit, ElemDrop, TableCopy, TableGrow, TableSize, TableFill, RefNull, RefIsNull, RefFunc,
  // memory.ts
  Load, Store, MemorySize, MemoryGrow, MemoryInit, DataDrop, MemoryCopy, MemoryFill,
  // numeric.ts
  Const, Eqz, IntCompare, FloatCompare, IntUnary, IntBinary, FloatUnary, FloatBinary, Convert,
  Count,
}

/** First row of the 0xfc-prefixed instructions, and how many sub-opcodes there are. */
export const FC_BASE = 0x100;
export const FC_COUNT = 18;
/** Rows of the table (SIMD's 0xfd rows will follow the 0xfc ones: FD_BASE = 0x200, ROWS above). */
export const ROWS = 0x200;

export const opHandler = new Uint8Array(ROWS);
/** Operand type (the one popped, or every one for binary rows) and result type; 0: none. */
export const opIn = new Uint8Array(ROWS);
export const opOut = new Uint8Array(ROWS);
/** Which Backend emit method (OpClass) and which kind of it (operations.ts). */
export const opClass = new Uint8Array(ROWS);
export const opKind = new Uint8Array(ROWS);
/** Memory accesses: log2 of the natural alignment, bytes accessed, sign-extending load. */
export const opAlign = new Uint8Array(ROWS);
export const opBytes = new Uint8Array(ROWS);
export const opSigned = new Uint8Array(ROWS);
/**
 * Instructions that consume a comparison still in the flags (br_if, if, select, i32.eqz): before
 * any other, the code generator puts a flags value in a register.
 */
export const opTakesFlags = new Uint8Array(ROWS);
/**
 * A prefix byte's row (H.Prefix): the first row of its sub-opcodes and how many there are. The
 * prefix's handler reads the sub-opcode and dispatches row `opSubBase + sub`: SIMD's 0xfd is one
 * more prefix row and its rows, no new branch.
 */
export const opSubBase = new Uint16Array(256);
export const opSubCount = new Uint16Array(256);
export const opName: string[] = new Array(ROWS).fill('');
/** The proposal that makes an unsupported instruction valid (features.ts), for the error message. */
export const opFeature: string[] = new Array(ROWS).fill('');
/** opSubCount of an unsupported prefix's row: its handler reads the sub-opcode to name it. */
export const UNSUPPORTED_PREFIX = 0xffff;

function row(op: number, name: string, handler: H, a = 0, r = 0): void {
  opHandler[op] = handler;
  opName[op] = name;
  opIn[op] = a;
  opOut[op] = r;
}

/** Rows `first`, `first + 1`, … named by `names`, each an operation of `cls` of kind 0, 1, …. */
function group(first: number, handler: H, cls: OpClass, a: number, r: number, names: string): void {
  names.split(' ').forEach((n, k) => {
    row(first + k, n, handler, a, r);
    opClass[first + k] = cls;
    opKind[first + k] = k;
  });
}

// --- control, calls, parametric, variables ------------------------------------------------------
const plain: [number, string, H][] = [
  [0x00, 'unreachable', H.Unreachable], [0x01, 'nop', H.Nop], [0x02, 'block', H.Block], [0x03, 'loop', H.Loop],
  [0x04, 'if', H.If], [0x05, 'else', H.Else], [0x0b, 'end', H.End], [0x0c, 'br', H.Br], [0x0d, 'br_if', H.BrIf],
  [0x0e, 'br_table', H.BrTable], [0x0f, 'return', H.Return], [0x10, 'call', H.Call], [0x11, 'call_indirect', H.CallIndirect],
  [0x1a, 'drop', H.Drop], [0x1b, 'select', H.Select], [0x1c, 'select t', H.SelectT],
  [0x20, 'local.get', H.LocalGet], [0x21, 'local.set', H.LocalSet], [0x22, 'local.tee', H.LocalTee],
  [0x23, 'global.get', H.GlobalGet], [0x24, 'global.set', H.GlobalSet], [0x25, 'table.get', H.TableGet], [0x26, 'table.set', H.TableSet],
  [0x3f, 'memory.size', H.MemorySize], [0x40, 'memory.grow', H.MemoryGrow],
  [0xd0, 'ref.null', H.RefNull], [0xd1, 'ref.is_null', H.RefIsNull], [0xd2, 'ref.func', H.RefFunc],
  [0xfc, 'prefix 0xfc', H.Prefix],
];
for (const [op, name, h] of plain) row(op, name, h);
opSubBase[0xfc] = FC_BASE;
opSubCount[0xfc] = FC_COUNT;
row(0x41, 'i32.const', H.Const, 0, I32);
row(0x42, 'i64.const', H.Const, 0, I64);
row(0x43, 'f32.const', H.Const, 0, F32);
row(0x44, 'f64.const', H.Const, 0, F64);
for (const op of [0x04, 0x0d, 0x1b, 0x1c, 0x45]) opTakesFlags[op] = 1;

// instructions of later proposals, refused by name (features.ts)
const unsupported: [number, string, string, boolean][] = [
  ...OPCODE_FEATURES,
  [0xfd, 'SIMD instruction', 'simd', true],
];
for (const [op, name, proposal, prefixed] of unsupported) {
  row(op, name, H.Unsupported);
  opFeature[op] = proposal;
  if (prefixed) opSubCount[op] = UNSUPPORTED_PREFIX;
}

// --- memory --------------------------------------------------------------------------------------
const loads: [number, string, number, number, boolean][] = [
  [0x28, 'i32.load', I32, 4, false], [0x29, 'i64.load', I64, 8, false], [0x2a, 'f32.load', F32, 4, false],
  [0x2b, 'f64.load', F64, 8, false], [0x2c, 'i32.load8_s', I32, 1, true], [0x2d, 'i32.load8_u', I32, 1, false],
  [0x2e, 'i32.load16_s', I32, 2, true], [0x2f, 'i32.load16_u', I32, 2, false], [0x30, 'i64.load8_s', I64, 1, true],
  [0x31, 'i64.load8_u', I64, 1, false], [0x32, 'i64.load16_s', I64, 2, true], [0x33, 'i64.load16_u', I64, 2, false],
  [0x34, 'i64.load32_s', I64, 4, true], [0x35, 'i64.load32_u', I64, 4, false],
];
for (const [op, name, t, bytes, signed] of loads) {
  row(op, name, H.Load, I32, t);
  opClass[op] = OpClass.Load;
  opBytes[op] = bytes;
  opAlign[op] = 31 - Math.clz32(bytes);
  opSigned[op] = signed ? 1 : 0;
}
const stores: [number, string, number, number][] = [
  [0x36, 'i32.store', I32, 4], [0x37, 'i64.store', I64, 8], [0x38, 'f32.store', F32, 4],
  [0x39, 'f64.store', F64, 8], [0x3a, 'i32.store8', I32, 1], [0x3b, 'i32.store16', I32, 2],
  [0x3c, 'i64.store8', I64, 1], [0x3d, 'i64.store16', I64, 2], [0x3e, 'i64.store32', I64, 4],
];
for (const [op, name, t, bytes] of stores) {
  row(op, name, H.Store, t, 0);
  opClass[op] = OpClass.Store;
  opBytes[op] = bytes;
  opAlign[op] = 31 - Math.clz32(bytes);
}

// --- numeric -------------------------------------------------------------------------------------
row(0x45, 'i32.eqz', H.Eqz, I32, I32);
opClass[0x45] = OpClass.TestZero;
group(0x46, H.IntCompare, OpClass.IntCompare, I32, I32, 'i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u');
row(0x50, 'i64.eqz', H.Eqz, I64, I32);
opClass[0x50] = OpClass.TestZero;
group(0x51, H.IntCompare, OpClass.IntCompare, I64, I32, 'i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u');
group(0x5b, H.FloatCompare, OpClass.FloatCompare, F32, I32, 'f32.eq f32.ne f32.lt f32.gt f32.le f32.ge');
group(0x61, H.FloatCompare, OpClass.FloatCompare, F64, I32, 'f64.eq f64.ne f64.lt f64.gt f64.le f64.ge');
group(0x67, H.IntUnary, OpClass.IntUnary, I32, I32, 'i32.clz i32.ctz i32.popcnt');
group(0x6a, H.IntBinary, OpClass.IntBinary, I32, I32, 'i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr');
group(0x79, H.IntUnary, OpClass.IntUnary, I64, I64, 'i64.clz i64.ctz i64.popcnt');
group(0x7c, H.IntBinary, OpClass.IntBinary, I64, I64, 'i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr');
group(0x8b, H.FloatUnary, OpClass.FloatUnary, F32, F32, 'f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt');
group(0x92, H.FloatBinary, OpClass.FloatBinary, F32, F32, 'f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign');
group(0x99, H.FloatUnary, OpClass.FloatUnary, F64, F64, 'f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt');
group(0xa0, H.FloatBinary, OpClass.FloatBinary, F64, F64, 'f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign');

const converts: [number, string, number, number, Conv][] = [
  [0xa7, 'i32.wrap_i64', I64, I32, Conv.Wrap],
  [0xa8, 'i32.trunc_f32_s', F32, I32, Conv.TruncS], [0xa9, 'i32.trunc_f32_u', F32, I32, Conv.TruncU],
  [0xaa, 'i32.trunc_f64_s', F64, I32, Conv.TruncS], [0xab, 'i32.trunc_f64_u', F64, I32, Conv.TruncU],
  [0xac, 'i64.extend_i32_s', I32, I64, Conv.ExtendS], [0xad, 'i64.extend_i32_u', I32, I64, Conv.ExtendU],
  [0xae, 'i64.trunc_f32_s', F32, I64, Conv.TruncS], [0xaf, 'i64.trunc_f32_u', F32, I64, Conv.TruncU],
  [0xb0, 'i64.trunc_f64_s', F64, I64, Conv.TruncS], [0xb1, 'i64.trunc_f64_u', F64, I64, Conv.TruncU],
  [0xb2, 'f32.convert_i32_s', I32, F32, Conv.ConvertS], [0xb3, 'f32.convert_i32_u', I32, F32, Conv.ConvertU],
  [0xb4, 'f32.convert_i64_s', I64, F32, Conv.ConvertS], [0xb5, 'f32.convert_i64_u', I64, F32, Conv.ConvertU],
  [0xb6, 'f32.demote_f64', F64, F32, Conv.Demote],
  [0xb7, 'f64.convert_i32_s', I32, F64, Conv.ConvertS], [0xb8, 'f64.convert_i32_u', I32, F64, Conv.ConvertU],
  [0xb9, 'f64.convert_i64_s', I64, F64, Conv.ConvertS], [0xba, 'f64.convert_i64_u', I64, F64, Conv.ConvertU],
  [0xbb, 'f64.promote_f32', F32, F64, Conv.Promote],
  [0xbc, 'i32.reinterpret_f32', F32, I32, Conv.Reinterpret], [0xbd, 'i64.reinterpret_f64', F64, I64, Conv.Reinterpret],
  [0xbe, 'f32.reinterpret_i32', I32, F32, Conv.Reinterpret], [0xbf, 'f64.reinterpret_i64', I64, F64, Conv.Reinterpret],
  [0xc0, 'i32.extend8_s', I32, I32, Conv.Extend8S], [0xc1, 'i32.extend16_s', I32, I32, Conv.Extend16S],
  [0xc2, 'i64.extend8_s', I64, I64, Conv.Extend8S], [0xc3, 'i64.extend16_s', I64, I64, Conv.Extend16S],
  [0xc4, 'i64.extend32_s', I64, I64, Conv.Extend32S],
  // 0xfc 0–7: the saturating truncations
  [FC_BASE + 0, 'i32.trunc_sat_f32_s', F32, I32, Conv.TruncSatS], [FC_BASE + 1, 'i32.trunc_sat_f32_u', F32, I32, Conv.TruncSatU],
  [FC_BASE + 2, 'i32.trunc_sat_f64_s', F64, I32, Conv.TruncSatS], [FC_BASE + 3, 'i32.trunc_sat_f64_u', F64, I32, Conv.TruncSatU],
  [FC_BASE + 4, 'i64.trunc_sat_f32_s', F32, I64, Conv.TruncSatS], [FC_BASE + 5, 'i64.trunc_sat_f32_u', F32, I64, Conv.TruncSatU],
  [FC_BASE + 6, 'i64.trunc_sat_f64_s', F64, I64, Conv.TruncSatS], [FC_BASE + 7, 'i64.trunc_sat_f64_u', F64, I64, Conv.TruncSatU],
];
for (const [op, name, a, r, kind] of converts) {
  row(op, name, H.Convert, a, r);
  opClass[op] = OpClass.Convert;
  opKind[op] = kind;
}

// --- 0xfc 8–17: bulk memory and tables -----------------------------------------------------------
const bulk: [number, string, H][] = [
  [8, 'memory.init', H.MemoryInit], [9, 'data.drop', H.DataDrop], [10, 'memory.copy', H.MemoryCopy], [11, 'memory.fill', H.MemoryFill],
  [12, 'table.init', H.TableInit], [13, 'elem.drop', H.ElemDrop], [14, 'table.copy', H.TableCopy], [15, 'table.grow', H.TableGrow],
  [16, 'table.size', H.TableSize], [17, 'table.fill', H.TableFill],
];
for (const [sub, name, h] of bulk) row(FC_BASE + sub, name, h);

