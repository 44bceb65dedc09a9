import { Form, OperandKind, type IntCmp, type FloatCmp, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, MemOp } from './encode';
import { FP, SCRATCH, SCRATCH2, XSCRATCH, XSCRATCH2, ZR, INT_CC, FLOAT_CC } from './regs';
import { floatOperand, intOperand, isFloat, ldstAt, loadOperand } from './move';
import { addSubImmSigned, addSubOperand } from './binary';
import { selectV128 } from './simd';
import type { A64Backend } from './backend';

/**
 * Comparisons, which leave their result in the flags (the code generator keeps it there for a
 * branch or select), and select (mirrors packages/x86-64/src/compare.ts). Operands may be
 * anywhere: a constant or slot goes to a scratch register.
 */

export function compareForm(): number {
  return Form.AAny | Form.BAny | Form.Cond;
}

export function testZeroForm(): number {
  return Form.ASlot | Form.Cond;
}

export function intCompare(be: A64Backend, kind: IntCmp, w: number, x: Operand, y: Operand): number {
  // not xzr for a constant 0: register 31 is sp as the first operand of cmp #imm
  let ra = x.reg;
  if (x.kind !== OperandKind.Reg) {
    loadOperand(be, x, SCRATCH2);
    ra = SCRATCH2;
  }
  const v = addSubOperand(w, y);
  if (v === v) addSubImmSigned(be, AddSub.SUBS, w, ZR, ra, v);
  else a.addSubReg(be.buf, AddSub.SUBS, w, ZR, ra, intOperand(be, w, y, SCRATCH));
  return INT_CC[kind];
}

/** ±0.0 is compared with fcmp #0.0 (−0 == +0). */
export function floatCompare(be: A64Backend, kind: FloatCmp, sz: number, x: Operand, y: Operand): number {
  const ra = floatOperand(be, x, XSCRATCH2);
  const zero = y.kind === OperandKind.Imm && (sz === 4 ? (y.lo & 0x7fffffff) === 0 : y.lo === 0 && (y.hi & 0x7fffffff) === 0);
  if (zero) a.fcmpZero(be.buf, sz, ra);
  else a.fcmp(be.buf, sz, ra, floatOperand(be, y, XSCRATCH));
  return FLOAT_CC[kind];
}

export function testZero(be: A64Backend, w: number, x: Operand): number {
  let r = x.reg;
  if (x.kind !== OperandKind.Reg) {
    ldstAt(be.buf, w === 4 ? MemOp.LDR_W : MemOp.LDR_X, SCRATCH, FP, x.offset);
    r = SCRATCH;
  }
  a.addSubImm(be.buf, AddSub.SUBS, w, ZR, r, 0);
  return Cond.EQ;
}

/** dst ← b unless cc: csel / fcsel. */
export function select(be: A64Backend, type: number, dst: number, b: number, cc: number): void {
  if (type === 0x7b) selectV128(be, dst, b, cc);
  else if (isFloat(type)) a.fcsel(be.buf, 8, dst, dst, b, cc);
  else a.csel(be.buf, 8, dst, dst, b, cc);
}
