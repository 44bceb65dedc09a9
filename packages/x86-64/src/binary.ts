import { Loc, Trap, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, NO_INDEX, Alu, Shift } from './encode';
import { FP, SCRATCH, SCRATCH2, SCRATCH3, XSCRATCH, swapCond, invert } from './regs';
import { copyToReg, fitsImm32, width, setFromFlags } from './move';
import { trapIf } from './frame';

const I32 = 0x7f;

/** i32 binary operations folded at compile time when both operands are constants. */
function foldI32(op: number, a: number, b: number): number | null {
  switch (op) {
    case 0x6a: return (a + b) | 0;
    case 0x6b: return (a - b) | 0;
    case 0x6c: return Math.imul(a, b);
    case 0x71: return a & b;
    case 0x72: return a | b;
    case 0x73: return a ^ b;
    case 0x74: return a << (b & 31);
    case 0x75: return a >> (b & 31);
    case 0x76: return (a >>> (b & 31)) | 0;
    default: return null; // division traps and rotations are left to the CPU
  }
}

const ALU_OF: Record<number, number> = {
  0x6a: Alu.ADD, 0x6b: Alu.SUB, 0x71: Alu.AND, 0x72: Alu.OR, 0x73: Alu.XOR,
  0x7c: Alu.ADD, 0x7d: Alu.SUB, 0x83: Alu.AND, 0x84: Alu.OR, 0x85: Alu.XOR,
};
const SHIFT_OF: Record<number, number> = {
  0x74: Shift.SHL, 0x75: Shift.SAR, 0x76: Shift.SHR, 0x77: Shift.ROL, 0x78: Shift.ROR,
  0x86: Shift.SHL, 0x87: Shift.SAR, 0x88: Shift.SHR, 0x89: Shift.ROL, 0x8a: Shift.ROR,
};
const COMMUTATIVE = new Set([0x6a, 0x6c, 0x71, 0x72, 0x73, 0x7c, 0x7e, 0x83, 0x84, 0x85]);

function swapOperands(fc: FunctionCompiler, i: number): void {
  const s = fc.stack;
  const j = i + 1;
  // Only entries not living in their home slot may swap (a slot belongs to a position).
  const t = s.loc[i]; s.loc[i] = s.loc[j]; s.loc[j] = t;
  const r = s.reg[i]; s.reg[i] = s.reg[j]; s.reg[j] = r;
  const lo = s.lo[i]; s.lo[i] = s.lo[j]; s.lo[j] = lo;
  const hi = s.hi[i]; s.hi[i] = s.hi[j]; s.hi[j] = hi;
}

export function binary(fc: FunctionCompiler, op: number, i: number): void {
  if (op >= 0x92) return floatBinary(fc, op, i);
  const s = fc.stack;
  const b = fc.out.buf;
  const w = op >= 0x7c ? 8 : 4;
  const j = i + 1;
  if (w === 4 && s.loc[i] === Loc.Const && s.loc[j] === Loc.Const) {
    const v = foldI32(op, s.lo[i], s.lo[j]);
    if (v !== null) {
      s.setConst(i, v, 0);
      return;
    }
  }
  if (COMMUTATIVE.has(op) && s.loc[i] === Loc.Const && s.loc[j] === Loc.Reg) swapOperands(fc, i);
  const base = op >= 0x7c ? 0x7c : 0x6a;
  switch (op - base) {
    case 0: case 1: case 7: case 8: case 9: { // add sub and or xor
      const alu = ALU_OF[op];
      const ra = fc.regOf(i);
      aluWithOperand(fc, alu, w, ra, j);
      break;
    }
    case 2: { // mul
      const ra = fc.regOf(i);
      if (s.loc[j] === Loc.Const && (w === 4 || fitsImm32(s.lo[j], s.hi[j]))) x.imulRRI(b, w, ra, ra, s.lo[j]);
      else {
        copyToReg(fc, j, SCRATCH);
        x.imulRR(b, w, ra, SCRATCH);
      }
      fc.release(j);
      break;
    }
    case 3: case 4: case 5: case 6: // div_s div_u rem_s rem_u
      divRem(fc, op - base, w, i);
      return;
    default: { // shifts and rotations
      const sh = SHIFT_OF[op];
      const ra = fc.regOf(i);
      if (s.loc[j] === Loc.Const) x.shiftRI(b, sh, w, ra, s.lo[j] & (w * 8 - 1));
      else {
        copyToReg(fc, j, Reg.RCX);
        x.shiftCL(b, sh, w, ra);
      }
      fc.release(j);
    }
  }
}

/** ra op= value j (constant, register or home slot); releases j. */
function aluWithOperand(fc: FunctionCompiler, alu: number, w: number, ra: number, j: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  switch (s.loc[j]) {
    case Loc.Const:
      if (w === 4 || fitsImm32(s.lo[j], s.hi[j])) x.aluRI(b, alu, w, ra, s.lo[j]);
      else {
        x.movRI64(b, SCRATCH, s.lo[j], s.hi[j]);
        x.aluRR(b, alu, w, ra, SCRATCH);
      }
      break;
    case Loc.Reg:
      x.aluRR(b, alu, w, ra, s.reg[j]);
      fc.release(j);
      break;
    default:
      x.aluRM(b, alu, w, ra, FP, NO_INDEX, 1, fc.homeOffset(j));
  }
}

/**
 * Division traps explicitly (DESIGN §9) instead of letting idiv raise #DE: divide by zero, and
 * INT_MIN / −1 for div_s; rem_s by −1 is 0 without dividing.
 */
function divRem(fc: FunctionCompiler, kind: number, w: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  const j = i + 1;
  const signed = kind === 3 || kind === 5;
  const rem = kind >= 5;
  const divisorConst = s.loc[j] === Loc.Const;
  const dz = divisorConst && s.lo[j] === 0 && (w === 4 || s.hi[j] === 0);
  const minusOne = divisorConst && s.lo[j] === -1 && (w === 4 || s.hi[j] === -1);
  copyToReg(fc, i, Reg.RAX);
  copyToReg(fc, j, Reg.RCX);
  fc.release(i);
  fc.release(j);
  if (!divisorConst || dz) {
    x.testRR(b, w, Reg.RCX, Reg.RCX);
    trapIf(fc, Cond.E, Trap.IntegerDivideByZero);
  }
  let done = -1;
  if (signed && (!divisorConst || minusOne)) {
    x.aluRI(b, Alu.CMP, w, Reg.RCX, -1);
    const notMinusOne = x.jccRel8(b, Cond.NE);
    if (rem) x.aluRR(b, Alu.XOR, 4, Reg.RDX, Reg.RDX);
    else {
      x.neg(b, w, Reg.RAX);
      trapIf(fc, Cond.O, Trap.IntegerOverflow);
    }
    done = x.jmpRel8(b);
    x.patchRel8(b, notMinusOne, b.pos);
  }
  if (signed) {
    x.cdq(b, w);
    x.mulDiv(b, x.MulDiv.IDIV, w, Reg.RCX);
  } else {
    x.aluRR(b, Alu.XOR, 4, Reg.RDX, Reg.RDX);
    x.mulDiv(b, x.MulDiv.DIV, w, Reg.RCX);
  }
  if (done >= 0) x.patchRel8(b, done, b.pos);
  const r = fc.allocReg(s.type[i]);
  x.movRR(b, w, r, rem ? Reg.RDX : Reg.RAX);
  s.setReg(i, r);
}

const INT_CC = [Cond.E, Cond.NE, Cond.L, Cond.B, Cond.G, Cond.A, Cond.LE, Cond.BE, Cond.GE, Cond.AE];

export function compare(fc: FunctionCompiler, op: number, i: number): void {
  if (op >= 0x5b) return floatCompare(fc, op, i);
  const s = fc.stack;
  const b = fc.out.buf;
  const w = op >= 0x51 ? 8 : 4;
  let cc = INT_CC[op - (w === 8 ? 0x51 : 0x46)];
  const j = i + 1;
  if (s.loc[i] === Loc.Const && s.loc[j] === Loc.Reg) {
    swapOperands(fc, i);
    cc = swapCond(cc);
  }
  const ra = fc.regOf(i);
  aluWithOperand(fc, Alu.CMP, w, ra, j);
  fc.release(i);
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
      x.testRR(b, width(type), s.reg[i], s.reg[i]);
      fc.release(i);
      break;
    default:
      x.aluMI(b, Alu.CMP, width(type), FP, NO_INDEX, 1, fc.homeOffset(i), 0);
  }
  s.loc[i] = Loc.Flags;
  s.reg[i] = Cond.E;
}

// --- floating point -----------------------------------------------------------------------------

const FARITH = [x.FArith.ADD, x.FArith.SUB, x.FArith.MUL, x.FArith.DIV];

function floatBinary(fc: FunctionCompiler, op: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  const sz = op >= 0xa0 ? 8 : 4;
  const k = op - (sz === 8 ? 0xa0 : 0x92);
  const j = i + 1;
  const ra = fc.regOf(i);
  if (k === 6) { // copysign on the bit patterns
    // the sign operand first: materialising a float constant goes through SCRATCH
    copyToReg(fc, j, XSCRATCH);
    x.movXG(b, sz, SCRATCH2, XSCRATCH);
    x.movXG(b, sz, SCRATCH, ra);
    x.btRI(b, x.Bt.BTR, sz, SCRATCH, sz * 8 - 1);
    x.shiftRI(b, Shift.SHR, sz, SCRATCH2, sz * 8 - 1);
    x.shiftRI(b, Shift.SHL, sz, SCRATCH2, sz * 8 - 1);
    x.aluRR(b, Alu.OR, sz, SCRATCH, SCRATCH2);
    x.movGX(b, sz, ra, SCRATCH);
    fc.release(j);
    return;
  }
  let rb: number;
  if (s.loc[j] === Loc.Reg) rb = s.reg[j];
  else {
    copyToReg(fc, j, XSCRATCH);
    rb = XSCRATCH;
  }
  if (k < 4) x.farith(b, FARITH[k], sz, ra, rb);
  else minMax(fc, k === 4, sz, ra, rb);
  fc.release(j);
}

/**
 * wasm min/max: NaN if either is NaN; −0 < +0. minss/maxss return the second operand for NaN
 * and for equal operands, so those cases take their own paths.
 */
function minMax(fc: FunctionCompiler, isMin: boolean, sz: number, ra: number, rb: number): void {
  const b = fc.out.buf;
  x.ucomis(b, sz, ra, rb);
  const nan = x.jccRel8(b, Cond.P);
  const ne = x.jccRel8(b, Cond.NE);
  // equal: ±0 resolved on the sign bits
  x.fbit(b, isMin ? x.FBit.OR : x.FBit.AND, ra, rb);
  const done1 = x.jmpRel8(b);
  x.patchRel8(b, nan, b.pos);
  x.farith(b, x.FArith.ADD, sz, ra, rb); // quiet NaN out of the NaN operand
  const done2 = x.jmpRel8(b);
  x.patchRel8(b, ne, b.pos);
  x.farith(b, isMin ? x.FArith.MIN : x.FArith.MAX, sz, ra, rb);
  x.patchRel8(b, done1, b.pos);
  x.patchRel8(b, done2, b.pos);
}

function floatCompare(fc: FunctionCompiler, op: number, i: number): void {
  const s = fc.stack;
  const b = fc.out.buf;
  const sz = op >= 0x61 ? 8 : 4;
  const k = op - (sz === 8 ? 0x61 : 0x5b); // eq ne lt gt le ge
  const ra = fc.regOf(i);
  const rb = fc.regOf(i + 1);
  fc.release(i);
  fc.release(i + 1);
  if (k === 0 || k === 1) {
    // equality needs ZF and PF: materialise directly
    x.ucomis(b, sz, ra, rb);
    const r = fc.allocReg(I32);
    if (k === 0) {
      x.setcc(b, Cond.E, SCRATCH);
      x.setcc(b, Cond.NP, SCRATCH2);
      x.aluRR(b, Alu.AND, 4, SCRATCH, SCRATCH2);
    } else {
      x.setcc(b, Cond.NE, SCRATCH);
      x.setcc(b, Cond.P, SCRATCH2);
      x.aluRR(b, Alu.OR, 4, SCRATCH, SCRATCH2);
    }
    x.movzxRR8(b, r, SCRATCH);
    s.setReg(i, r);
    return;
  }
  // unordered sets CF and ZF, so "above" forms are false on NaN
  if (k === 2 || k === 4) x.ucomis(b, sz, rb, ra);
  else x.ucomis(b, sz, ra, rb);
  s.loc[i] = Loc.Flags;
  s.reg[i] = k === 2 || k === 3 ? Cond.A : Cond.AE;
}

export { setFromFlags, SCRATCH3 };
