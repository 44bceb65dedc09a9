import { Form, IntBinOp, FloatBinOp, OperandKind, Trap, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Logic, ShiftV, FArith, FUnary, Cond, MemOp } from './encode';
import { FP, SCRATCH, SCRATCH2, XSCRATCH, ZR } from './regs';
import { floatOperand, intOperand, ldstAt } from './move';
import { trapIf, trapIfZero } from './frame';
import type { A64Backend } from './backend';

/**
 * Integer and float binary operations (mirrors packages/x86-64/src/binary.ts), the result in a's
 * register. i32 results are written with w-register instructions, which zero the upper half, so
 * every i32 in a register stays zero-extended. b may be an immediate (an encodable one is used as
 * such, 0 is xzr) or a slot (loaded into a scratch register).
 */

export function intBinaryForm(): number {
  return Form.AOwn | Form.BAny | Form.InPlace;
}

export function floatBinaryForm(): number {
  return Form.AOwn | Form.BAny | Form.InPlace;
}

/** The logical operation of and or xor, and the shift of shl … rotr (by IntBinOp). */
const LOGIC = [0, 0, 0, 0, 0, 0, 0, Logic.AND, Logic.ORR, Logic.EOR];
const SHIFT = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ShiftV.LSLV, ShiftV.ASRV, ShiftV.LSRV, ShiftV.RORV, ShiftV.RORV];

/**
 * The signed value of constant b when it (or its negation) is an add/sub immediate, else NaN.
 * For w = 8 the constant must be the sign extension of its low half.
 */
function addSubConst(w: number, b: Operand): number {
  const v = b.lo;
  if (w === 8 && b.hi !== v >> 31) return NaN;
  return a.fitsAddSubImm(v) || a.fitsAddSubImm(-v) ? v : NaN;
}

/** rd = rn + v or rn − v (op ADD or SUB, maybe the S forms) with v from addSubConst. */
export function addSubImmSigned(be: A64Backend, op: AddSub, w: number, rd: number, rn: number, v: number): void {
  // x − v = x + (−v): the same result and flags (C and V too, as v ≠ INT_MIN here)
  if (a.fitsAddSubImm(v)) a.addSubImm(be.buf, op, w, rd, rn, v);
  else a.addSubImm(be.buf, (op ^ AddSub.SUB) as AddSub, w, rd, rn, -v); // ADD ↔ SUB, ADDS ↔ SUBS
}

/** The immediate of an add/sub/cmp with constant b, or NaN when it needs a register. */
export function addSubOperand(w: number, b: Operand): number {
  return b.kind === OperandKind.Imm ? addSubConst(w, b) : NaN;
}

/** log2 of constant b when it is a power of two at width w, else -1. */
function powerOfTwo(w: number, b: Operand): number {
  const lo = b.lo, hi = w === 8 ? b.hi : 0;
  if (hi === 0 && lo !== 0 && (lo & (lo - 1)) === 0) return 31 - Math.clz32(lo);
  if (w === 8 && lo === 0 && hi !== 0 && (hi & (hi - 1)) === 0) return 63 - Math.clz32(hi);
  return -1;
}

export function intBinary(be: A64Backend, kind: IntBinOp, w: number, ra: number, _a: Operand, b: Operand): void {
  const buf = be.buf;
  const imm = b.kind === OperandKind.Imm;
  switch (kind) {
    case IntBinOp.Add: case IntBinOp.Sub: {
      const v = addSubOperand(w, b);
      const op = kind === IntBinOp.Add ? AddSub.ADD : AddSub.SUB;
      if (v !== v) a.addSubReg(buf, op, w, ra, ra, intOperand(be, w, b, SCRATCH));
      else if (v !== 0) addSubImmSigned(be, op, w, ra, ra, v); // x ± 0 is x
      return;
    }
    case IntBinOp.And: case IntBinOp.Or: case IntBinOp.Xor: {
      const mask = imm ? a.encodeBitmask(w, b.lo, b.hi) : -1;
      if (mask >= 0) a.logicImm(buf, LOGIC[kind], w, ra, ra, mask);
      else a.logicReg(buf, LOGIC[kind], w, ra, ra, intOperand(be, w, b, SCRATCH));
      return;
    }
    case IntBinOp.Mul: {
      const p = imm ? powerOfTwo(w, b) : -1;
      if (p < 0) a.mul(buf, w, ra, ra, intOperand(be, w, b, SCRATCH));
      else if (p > 0) a.lslImm(buf, w, ra, ra, p); // x · 1 is x
      return;
    }
    case IntBinOp.DivS: case IntBinOp.DivU: case IntBinOp.RemS: case IntBinOp.RemU:
      divRem(be, kind, w, ra, b);
      return;
    default: { // shl shr_s shr_u rotl rotr
      const bits = w * 8;
      if (imm) {
        let n = b.lo & (bits - 1);
        if (kind === IntBinOp.Rotl) n = (bits - n) & (bits - 1); // rotl n = rotr (−n)
        if (n !== 0) {
          if (kind === IntBinOp.Shl) a.lslImm(buf, w, ra, ra, n);
          else if (kind === IntBinOp.ShrS) a.asrImm(buf, w, ra, ra, n);
          else if (kind === IntBinOp.ShrU) a.lsrImm(buf, w, ra, ra, n);
          else a.rorImm(buf, w, ra, ra, n);
        }
      } else {
        let rn = intOperand(be, w, b, SCRATCH);
        if (kind === IntBinOp.Rotl) { // rorv takes the count modulo the width, so −n works for rotl
          a.addSubReg(buf, AddSub.SUB, w, SCRATCH, ZR, rn);
          rn = SCRATCH;
        }
        a.shiftReg(buf, SHIFT[kind], w, ra, ra, rn);
      }
    }
  }
}

/**
 * ARM64 division never traps (x/0 = 0, INT_MIN/−1 = INT_MIN), so wasm's traps are explicit:
 * divide by zero first (the spec's order), then INT_MIN / −1 for div_s. The remainder is
 * a − (a/b)·b with msub, which also gives rem_s(INT_MIN, −1) = INT_MIN − INT_MIN·−1 = 0.
 */
function divRem(be: A64Backend, kind: IntBinOp, w: number, ra: number, b: Operand): void {
  const buf = be.buf;
  const signed = kind === IntBinOp.DivS || kind === IntBinOp.RemS;
  const rem = kind === IntBinOp.RemS || kind === IntBinOp.RemU;
  const divisorConst = b.kind === OperandKind.Imm;
  const minusOne = divisorConst && b.lo === -1 && (w === 4 || b.hi === -1);
  const rb = intOperand(be, w, b, SCRATCH2);
  if (!divisorConst || rb === ZR) trapIfZero(be, w, rb, Trap.IntegerDivideByZero);
  if (signed && !rem && (!divisorConst || minusOne)) {
    // overflow iff b = −1 and a = INT_MIN; a − 1 overflows (V) exactly for a = INT_MIN
    if (minusOne) a.addSubImm(buf, AddSub.SUBS, w, ZR, ra, 1);
    else {
      a.addSubImm(buf, AddSub.ADDS, w, ZR, rb, 1); // Z iff b = −1
      a.ccmpImm(buf, false, w, ra, 1, 0, Cond.EQ); // else V clear
    }
    trapIf(be, Cond.VS, Trap.IntegerOverflow);
  }
  if (rem) {
    if (signed) a.sdiv(buf, w, SCRATCH, ra, rb);
    else a.udiv(buf, w, SCRATCH, ra, rb);
    a.msub(buf, w, ra, SCRATCH, rb, ra);
  } else if (signed) a.sdiv(buf, w, ra, ra, rb);
  else a.udiv(buf, w, ra, ra, rb);
}

// add sub mul div min max: ARM's FMIN/FMAX already return NaN for a NaN operand and order −0 < +0
const FARITH = [FArith.FADD, FArith.FSUB, FArith.FMUL, FArith.FDIV, FArith.FMIN, FArith.FMAX];

export function floatBinary(be: A64Backend, kind: FloatBinOp, sz: number, ra: number, _a: Operand, b: Operand): void {
  const buf = be.buf;
  if (kind === FloatBinOp.Copysign) { // fabs/fneg are bit operations (no NaN canonicalisation)
    if (b.kind === OperandKind.Imm) {
      a.funary(buf, FUnary.FABS, sz, ra, ra);
      if ((sz === 4 ? b.lo : b.hi) < 0) a.funary(buf, FUnary.FNEG, sz, ra, ra);
      return;
    }
    // sign bit of b, the other bits of a
    if (b.kind === OperandKind.Reg) a.fmovFromFp(buf, sz, SCRATCH2, b.reg);
    else ldstAt(buf, sz === 4 ? MemOp.LDR_W : MemOp.LDR_X, SCRATCH2, FP, b.offset);
    a.fmovFromFp(buf, sz, SCRATCH, ra);
    a.bfxil(buf, sz, SCRATCH2, SCRATCH, 0, sz * 8 - 1);
    a.fmovToFp(buf, sz, ra, SCRATCH2);
    return;
  }
  a.farith(buf, FARITH[kind], sz, ra, ra, floatOperand(be, b, XSCRATCH));
}
