import { OpClass } from './backend';
import { I32, I64, F32, F64, V128, Conv, Shape, VecBinOp, VecUnOp, VecShiftOp, VecTestOp, VecLoad } from './operations';
import { OPCODE_FEATURES } from '../features';

/**
 * The opcode table (STYLE: tables over branches): one row per instruction, indexed by its opcode;
 * a prefixed instruction is the row of its prefix's base plus its sub-opcode (0xfc n: FC_BASE + n,
 * 0xfd n: FD_BASE + n). A row says which handler compiles it (`opHandler`, the
 * dispatch of function.ts), its operand and result types (validation), the typed operation it asks
 * the backend for (`opClass`, `opKind`) and the properties of its immediates (`opAlign`,
 * `opBytes`, `opSigned` for memory accesses, `opShape` for vector operations). Adding an instruction is a row here, a handler if no
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
  // simd.ts
  VecLoad, VecStore, LoadLane, StoreLane, VecConst, Shuffle, Splat, ExtractLane, ReplaceLane,
  VecUnary, VecBinary, VecShift, VecTest, Bitselect,
  Count,
}

/** First row of the 0xfc-prefixed instructions, and how many sub-opcodes there are. */
export const FC_BASE = 0x100;
export const FC_COUNT = 18;
/** First row of the 0xfd-prefixed (SIMD) instructions, and how many sub-opcodes there are. */
export const FD_BASE = 0x200;
export const FD_COUNT = 0x100;
/** Rows of the table. */
export const ROWS = FD_BASE + FD_COUNT;

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
/** Vector operations: the lane shape (operations.ts Shape). */
export const opShape = new Uint8Array(ROWS);
/**
 * Instructions that consume a comparison still in the flags (br_if, if, select, i32.eqz,
 * local.set/tee): before any other, the code generator puts a flags value in a register.
 */
export const opTakesFlags = new Uint8Array(ROWS);
/**
 * A prefix byte's row (H.Prefix): the first row of its sub-opcodes and how many there are. The
 * prefix's handler reads the sub-opcode and dispatches row `opSubBase + sub`: SIMD's 0xfd is one
 * more prefix row and its rows, no new branch.
 */
export const opSubBase = new Uint16Array(256);
export const opSubCount = new Uint16Array(256);

/**
 * The immediates that follow each opcode, for the pre-scan of a body (localregs.ts), which skips
 * them without validating anything, and for the 0xfd rows snapshot-format's body scan too.
 * Imm.None for rows without any; Imm.Unknown for rows not listed, which end the scan (the compile
 * fails there anyway).
 */
export const enum Imm {
  Unknown = 0, None, U32, U32x2, BlockType, BrTable, MemArg, Byte, Byte2, Leb, F32, F64, SelectT, LocalGet, LocalSet, Loop, Block, End, Call, Prefix,
  /** memory.init: a data index and a memory byte. */
  U32Byte,
  /** v128.loadN_lane/storeN_lane: a memarg and a lane byte. */
  MemArgByte,
  /** v128.const, i8x16.shuffle: 16 bytes. */
  Bytes16,
}
export const opImm = new Uint8Array(ROWS);
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
    opImm[first + k] = Imm.None;
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
  [0xfc, 'prefix 0xfc', H.Prefix], [0xfd, 'prefix 0xfd', H.Prefix],
];
for (const [op, name, h] of plain) row(op, name, h);
opSubBase[0xfc] = FC_BASE;
opSubCount[0xfc] = FC_COUNT;
opSubBase[0xfd] = FD_BASE;
opSubCount[0xfd] = FD_COUNT;
row(0x41, 'i32.const', H.Const, 0, I32);
row(0x42, 'i64.const', H.Const, 0, I64);
row(0x43, 'f32.const', H.Const, 0, F32);
row(0x44, 'f64.const', H.Const, 0, F64);
for (const op of [0x04, 0x0d, 0x1b, 0x1c, 0x21, 0x22, 0x45]) opTakesFlags[op] = 1;
const immediates: [Imm, number[]][] = [
  [Imm.None, [0x00, 0x01, 0x05, 0x0f, 0x1a, 0x1b, 0xd1]],
  [Imm.Block, [0x02, 0x04]], [Imm.Loop, [0x03]], [Imm.End, [0x0b]], [Imm.U32, [0x0c, 0x0d, 0x23, 0x24, 0x25, 0x26, 0xd2]],
  [Imm.BrTable, [0x0e]], [Imm.Call, [0x10, 0x11]], [Imm.SelectT, [0x1c]], [Imm.LocalGet, [0x20]], [Imm.LocalSet, [0x21, 0x22]],
  [Imm.Byte, [0x3f, 0x40, 0xd0]], [Imm.Leb, [0x41, 0x42]], [Imm.F32, [0x43]], [Imm.F64, [0x44]], [Imm.Prefix, [0xfc, 0xfd]],
];
for (const [imm, ops] of immediates) for (const op of ops) opImm[op] = imm;

// instructions of later proposals, refused by name (features.ts)
const unsupported: [number, string, string, boolean][] = [
  ...OPCODE_FEATURES,
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
  opImm[op] = Imm.MemArg;
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
  opImm[op] = Imm.MemArg;
  opBytes[op] = bytes;
  opAlign[op] = 31 - Math.clz32(bytes);
}

// --- numeric -------------------------------------------------------------------------------------
row(0x45, 'i32.eqz', H.Eqz, I32, I32);
opClass[0x45] = OpClass.TestZero;
opImm[0x45] = opImm[0x50] = Imm.None;
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
  opImm[op] = Imm.None;
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
opImm[FC_BASE + 8] = Imm.U32Byte;
opImm[FC_BASE + 9] = Imm.U32;
opImm[FC_BASE + 10] = Imm.Byte2;
opImm[FC_BASE + 11] = Imm.Byte;
opImm[FC_BASE + 12] = opImm[FC_BASE + 14] = Imm.U32x2;
for (const sub of [13, 15, 16, 17]) opImm[FC_BASE + sub] = Imm.U32;


// --- 0xfd: SIMD ----------------------------------------------------------------------------------

const FD = FD_BASE;
const SHAPE_NAMES = ['i8x16', 'i16x8', 'i32x4', 'i64x2', 'f32x4', 'f64x2'];
/** The scalar type of a shape's lanes (splat, extract_lane, replace_lane). */
const LANE_TYPE = [I32, I32, I32, I64, F32, F64];

function vec(sub: number, name: string, handler: H, cls: OpClass, kind: number, shape: Shape, a: number, r: number): void {
  row(FD + sub, name, handler, a, r);
  opClass[FD + sub] = cls;
  opKind[FD + sub] = kind;
  opShape[FD + sub] = shape;
}

/** Memory rows: `bytes` accessed (the natural alignment's). */
function vecMem(sub: number, name: string, handler: H, cls: OpClass, kind: number, shape: Shape, bytes: number, signed = false): void {
  vec(sub, name, handler, cls, kind, shape, handler === H.VecStore || handler === H.StoreLane ? V128 : I32, handler === H.VecStore || handler === H.StoreLane ? 0 : V128);
  opBytes[FD + sub] = bytes;
  opAlign[FD + sub] = 31 - Math.clz32(bytes);
  opSigned[FD + sub] = signed ? 1 : 0;
}

vecMem(0x00, 'v128.load', H.VecLoad, OpClass.VecLoad, VecLoad.Full, Shape.I8x16, 16);
vecMem(0x01, 'v128.load8x8_s', H.VecLoad, OpClass.VecLoad, VecLoad.ExtendS, Shape.I16x8, 8, true);
vecMem(0x02, 'v128.load8x8_u', H.VecLoad, OpClass.VecLoad, VecLoad.ExtendU, Shape.I16x8, 8);
vecMem(0x03, 'v128.load16x4_s', H.VecLoad, OpClass.VecLoad, VecLoad.ExtendS, Shape.I32x4, 8, true);
vecMem(0x04, 'v128.load16x4_u', H.VecLoad, OpClass.VecLoad, VecLoad.ExtendU, Shape.I32x4, 8);
vecMem(0x05, 'v128.load32x2_s', H.VecLoad, OpClass.VecLoad, VecLoad.ExtendS, Shape.I64x2, 8, true);
vecMem(0x06, 'v128.load32x2_u', H.VecLoad, OpClass.VecLoad, VecLoad.ExtendU, Shape.I64x2, 8);
vecMem(0x07, 'v128.load8_splat', H.VecLoad, OpClass.VecLoad, VecLoad.Splat, Shape.I8x16, 1);
vecMem(0x08, 'v128.load16_splat', H.VecLoad, OpClass.VecLoad, VecLoad.Splat, Shape.I16x8, 2);
vecMem(0x09, 'v128.load32_splat', H.VecLoad, OpClass.VecLoad, VecLoad.Splat, Shape.I32x4, 4);
vecMem(0x0a, 'v128.load64_splat', H.VecLoad, OpClass.VecLoad, VecLoad.Splat, Shape.I64x2, 8);
vecMem(0x0b, 'v128.store', H.VecStore, OpClass.VecStore, 0, Shape.I8x16, 16);
vecMem(0x5c, 'v128.load32_zero', H.VecLoad, OpClass.VecLoad, VecLoad.Zero, Shape.I32x4, 4);
vecMem(0x5d, 'v128.load64_zero', H.VecLoad, OpClass.VecLoad, VecLoad.Zero, Shape.I64x2, 8);
for (let k = 0; k < 4; k++) {
  const bits = 8 << k;
  vecMem(0x54 + k, `v128.load${bits}_lane`, H.LoadLane, OpClass.LoadLane, 0, k as Shape, 1 << k);
  vecMem(0x58 + k, `v128.store${bits}_lane`, H.StoreLane, OpClass.StoreLane, 0, k as Shape, 1 << k);
}
row(FD + 0x0c, 'v128.const', H.VecConst, 0, V128);
vec(0x0d, 'i8x16.shuffle', H.Shuffle, OpClass.Shuffle, 0, Shape.I8x16, V128, V128);

// splat, extract_lane, replace_lane: 0x0f–0x22
for (let sh = 0; sh < 6; sh++) vec(0x0f + sh, `${SHAPE_NAMES[sh]}.splat`, H.Splat, OpClass.Splat, 0, sh, LANE_TYPE[sh], V128);
const lanes: [number, string, H, Shape, boolean][] = [
  [0x15, 'i8x16.extract_lane_s', H.ExtractLane, Shape.I8x16, true], [0x16, 'i8x16.extract_lane_u', H.ExtractLane, Shape.I8x16, false],
  [0x17, 'i8x16.replace_lane', H.ReplaceLane, Shape.I8x16, false],
  [0x18, 'i16x8.extract_lane_s', H.ExtractLane, Shape.I16x8, true], [0x19, 'i16x8.extract_lane_u', H.ExtractLane, Shape.I16x8, false],
  [0x1a, 'i16x8.replace_lane', H.ReplaceLane, Shape.I16x8, false],
  [0x1b, 'i32x4.extract_lane', H.ExtractLane, Shape.I32x4, false], [0x1c, 'i32x4.replace_lane', H.ReplaceLane, Shape.I32x4, false],
  [0x1d, 'i64x2.extract_lane', H.ExtractLane, Shape.I64x2, false], [0x1e, 'i64x2.replace_lane', H.ReplaceLane, Shape.I64x2, false],
  [0x1f, 'f32x4.extract_lane', H.ExtractLane, Shape.F32x4, false], [0x20, 'f32x4.replace_lane', H.ReplaceLane, Shape.F32x4, false],
  [0x21, 'f64x2.extract_lane', H.ExtractLane, Shape.F64x2, false], [0x22, 'f64x2.replace_lane', H.ReplaceLane, Shape.F64x2, false],
];
for (const [sub, name, h, sh, signed] of lanes) {
  if (h === H.ExtractLane) vec(sub, name, h, OpClass.ExtractLane, 0, sh, V128, LANE_TYPE[sh]);
  else vec(sub, name, h, OpClass.ReplaceLane, 0, sh, V128, V128);
  opSigned[FD + sub] = signed ? 1 : 0;
}

/** Rows `sub`, `sub + 1`, … of one shape, named `<shape>.<name>`, of kinds `kinds`. */
function vecGroup(sub: number, handler: H, cls: OpClass, shape: Shape, a: number, r: number, names: string, kinds: number[]): void {
  names.split(' ').forEach((n, k) => {
    if (n !== '-') vec(sub + k, `${SHAPE_NAMES[shape]}.${n}`, handler, cls, kinds[k], shape, a, r);
  });
}
function bin(sub: number, shape: Shape, names: string, kinds: number[]): void {
  vecGroup(sub, H.VecBinary, OpClass.VecBinary, shape, V128, V128, names, kinds);
}
function un(sub: number, shape: Shape, names: string, kinds: number[]): void {
  vecGroup(sub, H.VecUnary, OpClass.VecUnary, shape, V128, V128, names, kinds);
}
function test(sub: number, shape: Shape, names: string, kinds: number[]): void {
  vecGroup(sub, H.VecTest, OpClass.VecTest, shape, V128, I32, names, kinds);
}
function shift(sub: number, shape: Shape): void {
  vecGroup(sub, H.VecShift, OpClass.VecShift, shape, V128, V128, 'shl shr_s shr_u', [VecShiftOp.Shl, VecShiftOp.ShrS, VecShiftOp.ShrU]);
}

// comparisons 0x23–0x4c
const ICMP = [VecBinOp.Eq, VecBinOp.Ne, VecBinOp.LtS, VecBinOp.LtU, VecBinOp.GtS, VecBinOp.GtU, VecBinOp.LeS, VecBinOp.LeU, VecBinOp.GeS, VecBinOp.GeU];
const FCMP = [VecBinOp.Eq, VecBinOp.Ne, VecBinOp.LtS, VecBinOp.GtS, VecBinOp.LeS, VecBinOp.GeS];
bin(0x23, Shape.I8x16, 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u', ICMP);
bin(0x2d, Shape.I16x8, 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u', ICMP);
bin(0x37, Shape.I32x4, 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u', ICMP);
bin(0x41, Shape.F32x4, 'eq ne lt gt le ge', FCMP);
bin(0x47, Shape.F64x2, 'eq ne lt gt le ge', FCMP);
bin(0xd6, Shape.I64x2, 'eq ne lt_s gt_s le_s ge_s', [VecBinOp.Eq, VecBinOp.Ne, VecBinOp.LtS, VecBinOp.GtS, VecBinOp.LeS, VecBinOp.GeS]);

// bitwise 0x4d–0x53 (named v128.*)
vec(0x4d, 'v128.not', H.VecUnary, OpClass.VecUnary, VecUnOp.Not, Shape.I8x16, V128, V128);
vec(0x4e, 'v128.and', H.VecBinary, OpClass.VecBinary, VecBinOp.And, Shape.I8x16, V128, V128);
vec(0x4f, 'v128.andnot', H.VecBinary, OpClass.VecBinary, VecBinOp.AndNot, Shape.I8x16, V128, V128);
vec(0x50, 'v128.or', H.VecBinary, OpClass.VecBinary, VecBinOp.Or, Shape.I8x16, V128, V128);
vec(0x51, 'v128.xor', H.VecBinary, OpClass.VecBinary, VecBinOp.Xor, Shape.I8x16, V128, V128);
vec(0x52, 'v128.bitselect', H.Bitselect, OpClass.Bitselect, 0, Shape.I8x16, V128, V128);
vec(0x53, 'v128.any_true', H.VecTest, OpClass.VecTest, VecTestOp.AnyTrue, Shape.I8x16, V128, I32);
vec(0x0e, 'i8x16.swizzle', H.VecBinary, OpClass.VecBinary, VecBinOp.Swizzle, Shape.I8x16, V128, V128);
vec(0x5e, 'f32x4.demote_f64x2_zero', H.VecUnary, OpClass.VecUnary, VecUnOp.Demote, Shape.F32x4, V128, V128);
vec(0x5f, 'f64x2.promote_low_f32x4', H.VecUnary, OpClass.VecUnary, VecUnOp.Promote, Shape.F64x2, V128, V128);

// i8x16 0x60–0x7b
un(0x60, Shape.I8x16, 'abs neg popcnt', [VecUnOp.Abs, VecUnOp.Neg, VecUnOp.Popcnt]);
test(0x63, Shape.I8x16, 'all_true bitmask', [VecTestOp.AllTrue, VecTestOp.Bitmask]);
bin(0x65, Shape.I8x16, 'narrow_i16x8_s narrow_i16x8_u', [VecBinOp.NarrowS, VecBinOp.NarrowU]);
un(0x67, Shape.F32x4, 'ceil floor trunc nearest', [VecUnOp.Ceil, VecUnOp.Floor, VecUnOp.Trunc, VecUnOp.Nearest]);
shift(0x6b, Shape.I8x16);
bin(0x6e, Shape.I8x16, 'add add_sat_s add_sat_u sub sub_sat_s sub_sat_u', [VecBinOp.Add, VecBinOp.AddSatS, VecBinOp.AddSatU, VecBinOp.Sub, VecBinOp.SubSatS, VecBinOp.SubSatU]);
un(0x74, Shape.F64x2, 'ceil floor', [VecUnOp.Ceil, VecUnOp.Floor]);
bin(0x76, Shape.I8x16, 'min_s min_u max_s max_u', [VecBinOp.MinS, VecBinOp.MinU, VecBinOp.MaxS, VecBinOp.MaxU]);
un(0x7a, Shape.F64x2, 'trunc', [VecUnOp.Trunc]);
bin(0x7b, Shape.I8x16, 'avgr_u', [VecBinOp.AvgrU]);
un(0x7c, Shape.I16x8, 'extadd_pairwise_i8x16_s extadd_pairwise_i8x16_u', [VecUnOp.ExtAddPairwiseS, VecUnOp.ExtAddPairwiseU]);
un(0x7e, Shape.I32x4, 'extadd_pairwise_i16x8_s extadd_pairwise_i16x8_u', [VecUnOp.ExtAddPairwiseS, VecUnOp.ExtAddPairwiseU]);

// i16x8 0x80–0x9f
un(0x80, Shape.I16x8, 'abs neg', [VecUnOp.Abs, VecUnOp.Neg]);
bin(0x82, Shape.I16x8, 'q15mulr_sat_s', [VecBinOp.Q15MulrSatS]);
test(0x83, Shape.I16x8, 'all_true bitmask', [VecTestOp.AllTrue, VecTestOp.Bitmask]);
bin(0x85, Shape.I16x8, 'narrow_i32x4_s narrow_i32x4_u', [VecBinOp.NarrowS, VecBinOp.NarrowU]);
const EXT = [VecUnOp.ExtendLowS, VecUnOp.ExtendHighS, VecUnOp.ExtendLowU, VecUnOp.ExtendHighU];
un(0x87, Shape.I16x8, 'extend_low_i8x16_s extend_high_i8x16_s extend_low_i8x16_u extend_high_i8x16_u', EXT);
shift(0x8b, Shape.I16x8);
bin(0x8e, Shape.I16x8, 'add add_sat_s add_sat_u sub sub_sat_s sub_sat_u', [VecBinOp.Add, VecBinOp.AddSatS, VecBinOp.AddSatU, VecBinOp.Sub, VecBinOp.SubSatS, VecBinOp.SubSatU]);
un(0x94, Shape.F64x2, 'nearest', [VecUnOp.Nearest]);
bin(0x95, Shape.I16x8, 'mul min_s min_u max_s max_u - avgr_u', [VecBinOp.Mul, VecBinOp.MinS, VecBinOp.MinU, VecBinOp.MaxS, VecBinOp.MaxU, 0, VecBinOp.AvgrU]);
const EXTMUL = [VecBinOp.ExtMulLowS, VecBinOp.ExtMulHighS, VecBinOp.ExtMulLowU, VecBinOp.ExtMulHighU];
bin(0x9c, Shape.I16x8, 'extmul_low_i8x16_s extmul_high_i8x16_s extmul_low_i8x16_u extmul_high_i8x16_u', EXTMUL);

// i32x4 0xa0–0xbf
un(0xa0, Shape.I32x4, 'abs neg', [VecUnOp.Abs, VecUnOp.Neg]);
test(0xa3, Shape.I32x4, 'all_true bitmask', [VecTestOp.AllTrue, VecTestOp.Bitmask]);
un(0xa7, Shape.I32x4, 'extend_low_i16x8_s extend_high_i16x8_s extend_low_i16x8_u extend_high_i16x8_u', EXT);
shift(0xab, Shape.I32x4);
bin(0xae, Shape.I32x4, 'add - - sub - - - mul min_s min_u max_s max_u dot_i16x8_s', [VecBinOp.Add, 0, 0, VecBinOp.Sub, 0, 0, 0, VecBinOp.Mul, VecBinOp.MinS, VecBinOp.MinU, VecBinOp.MaxS, VecBinOp.MaxU, VecBinOp.Dot]);
bin(0xbc, Shape.I32x4, 'extmul_low_i16x8_s extmul_high_i16x8_s extmul_low_i16x8_u extmul_high_i16x8_u', EXTMUL);

// i64x2 0xc0–0xdf
un(0xc0, Shape.I64x2, 'abs neg', [VecUnOp.Abs, VecUnOp.Neg]);
test(0xc3, Shape.I64x2, 'all_true bitmask', [VecTestOp.AllTrue, VecTestOp.Bitmask]);
un(0xc7, Shape.I64x2, 'extend_low_i32x4_s extend_high_i32x4_s extend_low_i32x4_u extend_high_i32x4_u', EXT);
shift(0xcb, Shape.I64x2);
bin(0xce, Shape.I64x2, 'add - - sub - - - mul', [VecBinOp.Add, 0, 0, VecBinOp.Sub, 0, 0, 0, VecBinOp.Mul]);
bin(0xdc, Shape.I64x2, 'extmul_low_i32x4_s extmul_high_i32x4_s extmul_low_i32x4_u extmul_high_i32x4_u', EXTMUL);

// f32x4, f64x2 0xe0–0xf7
for (const [sub, sh] of [[0xe0, Shape.F32x4], [0xec, Shape.F64x2]] as [number, Shape][]) {
  un(sub, sh, 'abs neg - sqrt', [VecUnOp.Abs, VecUnOp.Neg, 0, VecUnOp.Sqrt]);
  bin(sub + 4, sh, 'add sub mul div min max pmin pmax', [VecBinOp.Add, VecBinOp.Sub, VecBinOp.Mul, VecBinOp.Div, VecBinOp.Min, VecBinOp.Max, VecBinOp.PMin, VecBinOp.PMax]);
}

// conversions 0xf8–0xff
un(0xf8, Shape.I32x4, 'trunc_sat_f32x4_s trunc_sat_f32x4_u', [VecUnOp.TruncSatS, VecUnOp.TruncSatU]);
un(0xfa, Shape.F32x4, 'convert_i32x4_s convert_i32x4_u', [VecUnOp.ConvertS, VecUnOp.ConvertU]);
un(0xfc, Shape.I32x4, 'trunc_sat_f64x2_s_zero trunc_sat_f64x2_u_zero', [VecUnOp.TruncSatZeroS, VecUnOp.TruncSatZeroU]);
un(0xfe, Shape.F64x2, 'convert_low_i32x4_s convert_low_i32x4_u', [VecUnOp.ConvertLowS, VecUnOp.ConvertLowU]);

// the SIMD rows' immediates, from their handlers: read by the compiler's pre-scan (localregs.ts)
// and by the resume validator's body scan (snapshot-format calls.ts); Imm.Unknown: no such opcode
for (let r = FD; r < FD + FD_COUNT; r++) {
  switch (opHandler[r]) {
    case H.Illegal: break;
    case H.VecLoad: case H.VecStore: opImm[r] = Imm.MemArg; break;
    case H.LoadLane: case H.StoreLane: opImm[r] = Imm.MemArgByte; break;
    case H.ExtractLane: case H.ReplaceLane: opImm[r] = Imm.Byte; break;
    case H.VecConst: case H.Shuffle: opImm[r] = Imm.Bytes16; break;
    default: opImm[r] = Imm.None;
  }
}
