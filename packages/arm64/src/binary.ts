import { Loc, Trap, type FunctionCompiler } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Logic, ShiftV, FArith, FUnary, Cond, MemOp } from './encode';
import { FP, SCRATCH, SCRATCH2, XSCRATCH, XSCRATCH2, ZR, swapCond, invert } from './regs';
import { copyToReg, ldstAt, width } from './move';
import { trapIf, trapIfZero } from './frame';

/**
 * Integer and float binary operations, comparisons and eqz (mirrors packages/x86-64/src/binary.ts).
 * Operands at i and i+1, result into i. i32 results are written with w-register instructions,
 * which zero the upper half, so every i32 in a register stays zero-extended.
 */

const I32 = 0x7f;

/** i32 binary operations folded at compile time when both operands are constants. */
function foldI32(op: number, x: number, y: number): number | null {
  switch (op) {
    case 0x6a: return (x + y) | 0;
    case 0x6b: return (x - y) | 0;
    case 0x6c: return Math.imul(x, y);
    case 0x71: return x & y;
    case 0x72: return x | y;
    case 0x73: return x ^ y;
    case 0x74: return x << (y & 31);
    case 0x75: return x >> (y & 31);
    case 0x76: return (x >>> (y & 31)) | 0;
    default: return null; // division traps and rotations are left to the CPU
  }
}

// indexed by op − base (base 0x6a for i32, 0x7c for i64)
const LOGIC_OF = [0, 0, 0, 0, 0, 0, 0, Logic.AND, Logic.ORR, Logic.EOR];
const SHIFT_OF = [ShiftV.LSLV, ShiftV.ASRV, ShiftV.LSRV, ShiftV.RORV, ShiftV.RORV]; // from shl (k = 10)

function isCommutative(k: number): boolean {
  return k === 0 || k === 2 || k === 7 || k === 8 || k === 9; // add mul and or xor
}

function swapOperands(fc: FunctionCompiler, i: number): void {
  const s = fc.stack;
  const j = i + 1;
  // Only entries not living in their home slot may swap (a slot belongs to a position).
  const t = s.loc[i]; s.loc[i] = s.loc[j]; s.loc[j] = t;
  const r = s.reg[i]; s.reg[i] = s.reg[j]; s.reg[j] = r;
  const lo = s.lo[i]; s.lo[i] = s.lo[j]; s.lo[j] = lo;
  const hi = s.hi[i]; s.hi[i] = s.hi[j]; s.hi[j] = hi;
}

/** True when constant entry j is zero at width w. */
function constZero(fc: FunctionCompiler, w: number, j: number): boolean {
  const s = fc.stack;
  return s.lo[j] === 0 && (w === 4 || s.hi[j] === 0);
}

/**
 * A register holding integer value j for reading: its own, zr for the constant 0, else `tmp`
 * loaded with it. The caller releases j afterwards.
 */
function intOperand(fc: FunctionCompiler, w: number, j: number, tmp: number): number {
  const s = fc.stack;
  if (s.loc[j] === Loc.Reg) return s.reg[j];
  if (s.loc[j] === Loc.Const && constZero(fc, w, j)) return ZR;
  copyToReg(fc, j, tmp);
  return tmp;
}

/** A register holding float value j for reading: its own, else `tmp` loaded with it. */
function floatOperand(fc: FunctionCompiler, j: number, tmp: number): number {
  const s = fc.stack;
  if (s.loc[j] === Loc.Reg) return s.reg[j];
  copyToReg(fc, j, tmp);
  return tmp;
}

/**
 * The signed value of constant j when it (or its negation) is an add/sub immediate, else NaN.
 * For w = 8 the constant must be the sign extension of its low half.
 */
function addSubConst(fc: FunctionCompiler, w: number, j: number): number {
  const s = fc.stack;
  const v = s.lo[j];
  if (w === 8 && s.hi[j] !== v >> 31) return NaN;
  return a.fitsAddSubImm(v) || a.fitsAddSubImm(-v) ? v : NaN;
}

/** rd = rn + v or rn − v (op ADD or SUB, maybe the S forms) with v from addSubConst. */
function addSubImmSigned(fc: FunctionCompiler, op: AddSub, w: number, rd: number, rn: number, v: number): void {
  // x − v = x + (−v): the same result and flags (C and V too, as v ≠ INT_MIN here)
  if (a.fitsAddSubImm(v)) a.addSubImm(fc.out.buf, op, w, rd, rn, v);
  else a.addSubImm(fc.out.buf, (op ^ AddSub.SUB) as AddSub, w, rd, rn, -v); // ADD ↔ SUB, ADDS ↔ SUBS
}

/** log2 of constant j when it is a power of two at width w, else -1. */
function powerOfTwo(fc: FunctionCompiler, w: number, j: number): number {
  const s = fc.stack;
  const lo = s.lo[j], hi = w === 8 ? s.hi[j] : 0;
  if (hi === 0 && lo !== 0 && (lo & (lo - 1)) === 0) return 31 - Math.clz32(lo);
  if (w === 8 && lo === 0 && hi !== 0 && (hi & (hi - 1)) === 0) return 63 - Math.clz32(hi);
  return -1;
}

export function binary(fc: FunctionCompiler, op: number, i: number): void {
  if (op >= 0x92) return floatBinary(fc, op, i);
  const s = fc.stack;
  const b = fc.out.buf;
  const w = op >= 0x7c ? 8 : 4;
  const k = op - (w === 8 ? 0x7c : 0x6a);
  const j = i + 1;
  if (w === 4 && s.loc[i] === Loc.Const && s.loc[j] === Loc.Const) {
    const v = foldI32(op, s.lo[i], s.lo[j]);
    if (v !== null) {
      s.setConst(i, v, 0);
      return;
    }
  }
  if (isCommutative(k) && s.loc[i] === Loc.Const && s.loc[j] === Loc.Reg) swapOperands(fc, i);
  switch (k) {
    case 0: case 1: { // add sub
      const ra = fc.regOf(i);
      const v = s.loc[j] === Loc.Const ? addSubConst(fc, w, j) : NaN;
      const op2 = k === 0 ? AddSub.ADD : AddSub.SUB;
      if (v !== v) a.addSubReg(b, op2, w, ra, ra, intOperand(fc, w, j, SCRATCH));
      else if (v !== 0) addSubImmSigned(fc, op2, w, ra, ra, v); // x ± 0 is x
      fc.release(j);
      return;
    }
    case 7: case 8: case 9: { // and or xor
      const ra = fc.regOf(i);
      const mask = s.loc[j] === Loc.Const ? a.encodeBitmask(w, s.lo[j], s.hi[j]) : -1;
      if (mask >= 0) a.logicImm(b, LOGIC_OF[k], w, ra, ra, mask);
      else a.logicReg(b, LOGIC_OF[k], w, ra, ra, intOperand(fc, w, j, SCRATCH));
      fc.release(j);
      return;
    }
    case 2: { // mul
      const ra = fc.regOf(i);
      const p = s.loc[j] === Loc.Const ? powerOfTwo(fc, w, j) : -1;
      if (p < 0) a.mul(b, w, ra, ra, intOperand(fc, w, j, SCRATCH));
      else if (p > 0) a.lslImm(b, w, ra, ra, p); // x · 1 is x
      fc.release(j);
      return;
    }
    case 3: case 4: case 5: case 6: // div_s div_u rem_s rem_u
      divRem(fc, k, w, i);
      return;
    default: { // shl shr_s shr_u rotl rotr
      const ra = fc.regOf(i);
      const bits = w * 8;
      if (s.loc[j] === Loc.Const) {
        let n = s.lo[j] & (bits - 1);
        if (k === 13) n = (bits - n) & (bits - 1); // rotl n = rotr (−n)
        if (n !== 0) {
          if (k === 10) a.lslImm(b, w, ra, ra, n);
          else if (k === 11) a.asrImm(b, w, ra, ra, n);
          else if (k === 12) a.lsrImm(b, w, ra, ra, n);
          else a.rorImm(b, w, ra, ra, n);
        }
      } else {
        let rn = intOperand(fc, w, j, SCRATCH);
        if (k === 13) { // rorv takes the count modulo the width, so −n works for rotl
          a.addSubReg(b, AddSub.SUB, w, SCRATCH, ZR, rn);
          rn = SCRATCH;
        }
        a.shiftReg(b, SHIFT_OF[k - 10], w, ra, ra, rn);
      }
      fc.release(j);
    }
  }
}

/**
 * ARM64 division never traps (x/0 = 0, INT_MIN/−1 = INT_MIN), so wasm's traps are explicit:
 * divide by zero first (the spec's order), then INT_MIN / −1 for div_s. The remainder is
 * a − (a/b)·b with msub, which also gives rem_s(INT_MIN, −1) = INT_MIN − INT_MIN·−1 = 0.
 */
function divRem(fc: FunctionCompiler, k: number, w: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  const j = i + 1;
  const signed = k === 3 || k === 5;
  const rem = k >= 5;
  const divisorConst = s.loc[j] === Loc.Const;
  const minusOne = divisorConst && s.lo[j] === -1 && (w === 4 || s.hi[j] === -1);
  const ra = fc.regOf(i);
  const rb = intOperand(fc, w, j, SCRATCH2);
  if (!divisorConst || rb === ZR) trapIfZero(fc, w, rb, Trap.IntegerDivideByZero);
  if (signed && !rem && (!divisorConst || minusOne)) {
    // overflow iff b = −1 and a = INT_MIN; a − 1 overflows (V) exactly for a = INT_MIN
    if (minusOne) a.addSubImm(b, AddSub.SUBS, w, ZR, ra, 1);
    else {
      a.addSubImm(b, AddSub.ADDS, w, ZR, rb, 1); // Z iff b = −1
      a.ccmpImm(b, false, w, ra, 1, 0, Cond.EQ); // else V clear
    }
    trapIf(fc, Cond.VS, Trap.IntegerOverflow);
  }
  if (rem) {
    if (signed) a.sdiv(b, w, SCRATCH, ra, rb);
    else a.udiv(b, w, SCRATCH, ra, rb);
    a.msub(b, w, ra, SCRATCH, rb, ra);
  } else if (signed) a.sdiv(b, w, ra, ra, rb);
  else a.udiv(b, w, ra, ra, rb);
  fc.release(j);
}

// eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u
const INT_CC = [Cond.EQ, Cond.NE, Cond.LT, Cond.LO, Cond.GT, Cond.HI, Cond.LE, Cond.LS, Cond.GE, Cond.HS];
/**
 * Float eq ne lt gt le ge after fcmp a, b: each is false on unordered (NZCV = 0011) except ne,
 * so each inverse (cc ^ 1) is right for NaN operands too.
 */
const FLOAT_CC = [Cond.EQ, Cond.NE, Cond.MI, Cond.GT, Cond.LS, Cond.GE];

export function compare(fc: FunctionCompiler, op: number, i: number): void {
  if (op >= 0x5b) return floatCompare(fc, op, i);
  const s = fc.stack;
  const b = fc.out.buf;
  const w = op >= 0x51 ? 8 : 4;
  let cc: number = INT_CC[op - (w === 8 ? 0x51 : 0x46)];
  const j = i + 1;
  if (s.loc[i] === Loc.Const && s.loc[j] === Loc.Reg) {
    swapOperands(fc, i);
    cc = swapCond(cc);
  }
  // not zr for a constant 0: register 31 is sp as the first operand of cmp #imm
  let ra = s.reg[i];
  if (s.loc[i] !== Loc.Reg) {
    copyToReg(fc, i, SCRATCH2);
    ra = SCRATCH2;
  }
  const v = s.loc[j] === Loc.Const ? addSubConst(fc, w, j) : NaN;
  if (v === v) addSubImmSigned(fc, AddSub.SUBS, w, ZR, ra, v);
  else a.addSubReg(b, AddSub.SUBS, w, ZR, ra, intOperand(fc, w, j, SCRATCH));
  fc.release(i);
  fc.release(j);
  s.loc[i] = Loc.Flags;
  s.reg[i] = cc;
}

export function eqz(fc: FunctionCompiler, type: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  switch (s.loc[i]) {
    case Loc.Flags:
      s.reg[i] = invert(s.reg[i]);
      return;
    case Loc.Const:
      s.setConst(i, s.lo[i] === 0 && (type === I32 || s.hi[i] === 0) ? 1 : 0, 0);
      return;
    case Loc.Reg:
      a.addSubImm(b, AddSub.SUBS, width(type), ZR, s.reg[i], 0);
      fc.release(i);
      break;
    default:
      ldstAt(b, type === I32 ? MemOp.LDR_W : MemOp.LDR_X, SCRATCH, FP, fc.homeOffset(i));
      a.addSubImm(b, AddSub.SUBS, width(type), ZR, SCRATCH, 0);
  }
  s.loc[i] = Loc.Flags;
  s.reg[i] = Cond.EQ;
}

// --- floating point -----------------------------------------------------------------------------

// add sub mul div min max: ARM's FMIN/FMAX already return NaN for a NaN operand and order −0 < +0
const FARITH = [FArith.FADD, FArith.FSUB, FArith.FMUL, FArith.FDIV, FArith.FMIN, FArith.FMAX];

function floatBinary(fc: FunctionCompiler, op: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  const sz = op >= 0xa0 ? 8 : 4;
  const k = op - (sz === 8 ? 0xa0 : 0x92);
  const j = i + 1;
  const ra = fc.regOf(i);
  if (k === 6) { // copysign: fabs/fneg are bit operations (no NaN canonicalisation)
    if (s.loc[j] === Loc.Const) {
      a.funary(b, FUnary.FABS, sz, ra, ra);
      if ((sz === 4 ? s.lo[j] : s.hi[j]) < 0) a.funary(b, FUnary.FNEG, sz, ra, ra);
      return;
    }
    // sign bit of b, the other bits of a
    if (s.loc[j] === Loc.Reg) a.fmovFromFp(b, sz, SCRATCH2, s.reg[j]);
    else ldstAt(b, sz === 4 ? MemOp.LDR_W : MemOp.LDR_X, SCRATCH2, FP, fc.homeOffset(j));
    a.fmovFromFp(b, sz, SCRATCH, ra);
    a.bfxil(b, sz, SCRATCH2, SCRATCH, 0, sz * 8 - 1);
    a.fmovToFp(b, sz, ra, SCRATCH2);
    fc.release(j);
    return;
  }
  a.farith(b, FARITH[k], sz, ra, ra, floatOperand(fc, j, XSCRATCH));
  fc.release(j);
}

function floatCompare(fc: FunctionCompiler, op: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  const sz = op >= 0x61 ? 8 : 4;
  const k = op - (sz === 8 ? 0x61 : 0x5b); // eq ne lt gt le ge
  const j = i + 1;
  const ra = floatOperand(fc, i, XSCRATCH2);
  // ±0.0: compare with zero, no register (−0 == +0 for fcmp)
  const zero = s.loc[j] === Loc.Const && (sz === 4 ? (s.lo[j] & 0x7fffffff) === 0 : s.lo[j] === 0 && (s.hi[j] & 0x7fffffff) === 0);
  if (zero) {
    a.fcmpZero(b, sz, ra);
  } else a.fcmp(b, sz, ra, floatOperand(fc, j, XSCRATCH));
  fc.release(i);
  fc.release(j);
  s.loc[i] = Loc.Flags;
  s.reg[i] = FLOAT_CC[k];
}
