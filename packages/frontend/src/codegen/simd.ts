import { Loc } from './valuestack';
import { I32, I64, F32, F64, V128, Shape, laneCount, laneLog2 } from './operations';
import { opIn, opKind, opOut, opShape, opSigned } from './opcodes';
import { memarg } from './memory';
import type { FunctionCompiler } from './function';

/**
 * SIMD (the 0xfd prefix): v128 values in the float/vector registers, the operations typed by a
 * kind and a lane shape (operations.ts), each one backend method. v128 constants stay constants
 * (Loc.Const, the 16 bytes in the function's table CodeGenContext.vconst) until an operation needs
 * them in a register; splats and lane extractions of constants are folded. Loads and stores have
 * no bounds checks, as scalar ones (ARCHITECTURE §4).
 */

/** A lane index immediate, below the shape's lane count. */
function laneIndex(fc: FunctionCompiler, shape: Shape): number {
  const lane = fc.rd.u8();
  if (lane >= laneCount(shape)) fc.fail('invalid lane index');
  return lane;
}

export function constant(fc: FunctionCompiler): void {
  const rd = fc.rd;
  const w0 = rd.f32bits(), w1 = rd.f32bits(), w2 = rd.f32bits(), w3 = rd.f32bits();
  const i = fc.push(V128);
  if (!fc.dead) fc.stack.setConst(i, fc.addV128(w0, w1, w2, w3), 0);
}

export function load(fc: FunctionCompiler, row: number): void {
  const offset = memarg(fc, row);
  fc.pop(I32);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 1);
    fc.ool.mark(fc.out.buf.pos, fc.opOffset); // a fault in the access is this instruction's trap
    fc.be.vecLoad(opKind[row], opShape[row], dst, fc.opA, offset);
    fc.result(row, i, 1, dst, 0);
  }
  fc.pushed(i, V128);
}

/** The value is placed first: forming the address may take a scratch register. */
export function store(fc: FunctionCompiler, row: number): void {
  const offset = memarg(fc, row);
  fc.pop(V128);
  fc.pop(I32);
  if (fc.dead) return;
  const i = fc.stack.height;
  const f = fc.forms[row];
  fc.place(i + 1, (f >> 4) & 0xf, fc.opB);
  fc.place(i, f & 0xf, fc.opA);
  fc.ool.mark(fc.out.buf.pos, fc.opOffset); // a fault in the access is this instruction's trap
  fc.be.vecStore(fc.opA, offset, fc.opB);
  fc.release(i);
  fc.release(i + 1);
}

/** v128.loadN_lane: the vector's register (its own) receives the lane and becomes the result. */
export function loadLane(fc: FunctionCompiler, row: number): void {
  const offset = memarg(fc, row);
  const lane = laneIndex(fc, opShape[row]);
  fc.pop(V128);
  fc.pop(I32);
  const i = fc.stack.height;
  if (!fc.dead) {
    const v = fc.regOf(i + 1);
    fc.place(i, fc.forms[row] & 0xf, fc.opA);
    fc.ool.mark(fc.out.buf.pos, fc.opOffset); // a fault in the access is this instruction's trap
    fc.be.vecLoadLane(laneLog2(opShape[row]), lane, v, fc.opA, offset);
    fc.release(i);
    fc.stack.setReg(i, v);
  }
  fc.pushed(i, V128);
}

export function storeLane(fc: FunctionCompiler, row: number): void {
  const offset = memarg(fc, row);
  const lane = laneIndex(fc, opShape[row]);
  fc.pop(V128);
  fc.pop(I32);
  if (fc.dead) return;
  const i = fc.stack.height;
  const f = fc.forms[row];
  fc.place(i + 1, 0, fc.opB);
  fc.place(i, f & 0xf, fc.opA);
  fc.ool.mark(fc.out.buf.pos, fc.opOffset); // a fault in the access is this instruction's trap
  fc.be.vecStoreLane(laneLog2(opShape[row]), lane, fc.opA, offset, fc.opB);
  fc.release(i);
  fc.release(i + 1);
}

/** Operand bytes of a shuffle: 16 lane indices below 32, packed four to a word. */
export function shuffle(fc: FunctionCompiler, row: number): void {
  const rd = fc.rd;
  const at = rd.pos;
  const m0 = rd.f32bits(), m1 = rd.f32bits(), m2 = rd.f32bits(), m3 = rd.f32bits();
  if (((m0 | m1 | m2 | m3) & 0xe0e0e0e0) !== 0) {
    fc.opOffset = at;
    fc.fail('invalid lane index');
  }
  fc.pop(V128);
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 2);
    fc.be.vecShuffle(dst, fc.opA, fc.opB, m0, m1, m2, m3, fc.temp0, fc.temp1);
    fc.result(row, i, 2, dst, 0);
  }
  fc.pushed(i, V128);
}

export function splat(fc: FunctionCompiler, row: number): void {
  fc.pop(opIn[row]);
  const i = fc.stack.height;
  if (!fc.dead) {
    const s = fc.stack;
    if (s.loc[i] === Loc.Const) splatConst(fc, opShape[row], i);
    else {
      const dst = fc.operands(row, i, 1);
      fc.be.vecSplat(opShape[row], dst, fc.opA);
      fc.result(row, i, 1, dst, 0);
    }
  }
  fc.pushed(i, V128);
}

/** The splat of the scalar constant `i` is a v128 constant. */
function splatConst(fc: FunctionCompiler, shape: Shape, i: number): void {
  const s = fc.stack;
  const lo = s.lo[i], hi = s.hi[i];
  let w: number;
  switch (shape) {
    case Shape.I8x16: w = Math.imul(lo & 0xff, 0x01010101); break;
    case Shape.I16x8: w = Math.imul(lo & 0xffff, 0x10001); break;
    case Shape.I64x2: case Shape.F64x2:
      s.setConst(i, fc.addV128(lo, hi, lo, hi), 0);
      return;
    default: w = lo;
  }
  s.setConst(i, fc.addV128(w, w, w, w), 0);
}

export function extractLane(fc: FunctionCompiler, row: number): void {
  const shape: Shape = opShape[row];
  const lane = laneIndex(fc, shape);
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const s = fc.stack;
    if (s.loc[i] === Loc.Const) extractConst(fc, shape, opSigned[row] !== 0, lane, i);
    else {
      const dst = fc.operands(row, i, 1);
      fc.be.vecExtractLane(shape, opSigned[row] !== 0, lane, dst, fc.opA);
      fc.result(row, i, 1, dst, 0);
    }
  }
  fc.pushed(i, opOut[row]);
}

/** A lane of the v128 constant `i` is a scalar constant. */
function extractConst(fc: FunctionCompiler, shape: Shape, signed: boolean, lane: number, i: number): void {
  const s = fc.stack;
  const v = fc.vconst, k = 4 * s.lo[i];
  const log2 = laneLog2(shape);
  if (log2 === 3) {
    s.setConst(i, v[k + 2 * lane], v[k + 2 * lane + 1]);
    return;
  }
  const bits = 8 << log2;
  const word = v[k + ((lane << log2) >> 2)];
  const shift = ((lane << log2) & 3) * 8;
  let x = bits === 32 ? word : (word >>> shift) & ((1 << bits) - 1);
  if (signed && bits < 32) x = (x << (32 - bits)) >> (32 - bits);
  s.setConst(i, x, 0);
}

export function replaceLane(fc: FunctionCompiler, row: number): void {
  const shape: Shape = opShape[row];
  const lane = laneIndex(fc, shape);
  fc.pop(LANE_TYPE[shape]);
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 2);
    fc.be.vecReplaceLane(shape, lane, dst, fc.opA, fc.opB);
    fc.result(row, i, 2, dst, 0);
  }
  fc.pushed(i, V128);
}

/** The scalar type of each shape's lanes. */
const LANE_TYPE = [I32, I32, I32, I64, F32, F64];

export function unary(fc: FunctionCompiler, row: number): void {
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 1);
    fc.be.vecUnary(opKind[row], opShape[row], dst, fc.opA, fc.temp0, fc.temp1);
    fc.result(row, i, 1, dst, 0);
  }
  fc.pushed(i, V128);
}

export function binary(fc: FunctionCompiler, row: number): void {
  fc.pop(V128);
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 2);
    fc.be.vecBinary(opKind[row], opShape[row], dst, fc.opA, fc.opB, fc.temp0, fc.temp1);
    fc.result(row, i, 2, dst, 0);
  }
  fc.pushed(i, V128);
}

export function shift(fc: FunctionCompiler, row: number): void {
  fc.pop(I32);
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 2);
    fc.be.vecShift(opKind[row], opShape[row], dst, fc.opA, fc.opB, fc.temp0, fc.temp1);
    fc.result(row, i, 2, dst, 0);
  }
  fc.pushed(i, V128);
}

export function test(fc: FunctionCompiler, row: number): void {
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 1);
    fc.be.vecTest(opKind[row], opShape[row], dst, fc.opA, fc.temp0, fc.temp1);
    fc.result(row, i, 1, dst, 0);
  }
  fc.pushed(i, I32);
}

export function bitselect(fc: FunctionCompiler, row: number): void {
  fc.pop(V128);
  fc.pop(V128);
  fc.pop(V128);
  const i = fc.stack.height;
  if (!fc.dead) {
    const dst = fc.operands(row, i, 3);
    fc.be.vecBitselect(dst, fc.opA, fc.opB, fc.opC);
    fc.result(row, i, 3, dst, 0);
  }
  fc.pushed(i, V128);
}
