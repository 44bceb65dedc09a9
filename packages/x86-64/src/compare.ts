import { Form, FloatCmp, OperandKind, type IntCmp, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Cond, Index, Alu } from './encode';
import { FP, SCRATCH, SCRATCH2, XSCRATCH, INT_CC, invert } from './regs';
import { inXmm, loadConst } from './move';
import { aluWithOperand } from './binary';
import type { X64Backend } from './backend';

/**
 * Comparisons, which leave their result in the flags (the code generator keeps it there for a
 * branch or select), and select. a is a register; float comparisons take both in registers.
 */

export function intCompareForm(): number {
  return Form.BAny | Form.Cond;
}

/** Float eq/ne need ZF and PF both: their 0/1 goes to a register. b may be a constant (the pool's). */
export function floatCompareForm(kind: FloatCmp): number {
  return Form.BImm | (kind === FloatCmp.Eq || kind === FloatCmp.Ne ? Form.Fresh : Form.Cond);
}

export function testZeroForm(): number {
  return Form.ASlot | Form.Cond;
}

export function intCompare(be: X64Backend, kind: IntCmp, w: number, a: Operand, b: Operand): number {
  aluWithOperand(be, Alu.CMP, w, a.reg, b);
  return INT_CC[kind];
}

export function floatCompare(be: X64Backend, kind: FloatCmp, sz: number, dst: number, a: Operand, b: Operand): number {
  const buf = be.buf;
  const ra = a.reg;
  const swapped = kind === FloatCmp.Lt || kind === FloatCmp.Le;
  let rb = b.reg;
  if (b.kind === OperandKind.Imm) {
    if (swapped) { // the constant is ucomis's first operand: in a register
      loadConst(be, b.type, XSCRATCH, b.lo, b.hi);
      rb = XSCRATCH;
    } else rb = -1; // ucomisd ra, [rip + c]
  }
  if (kind === FloatCmp.Eq || kind === FloatCmp.Ne) {
    ucomis(be, sz, ra, rb, b);
    if (kind === FloatCmp.Eq) {
      x.setcc(buf, Cond.E, SCRATCH);
      x.setcc(buf, Cond.NP, SCRATCH2);
      x.aluRR(buf, Alu.AND, 4, SCRATCH, SCRATCH2);
    } else {
      x.setcc(buf, Cond.NE, SCRATCH);
      x.setcc(buf, Cond.P, SCRATCH2);
      x.aluRR(buf, Alu.OR, 4, SCRATCH, SCRATCH2);
    }
    x.movzxRR8(buf, dst, SCRATCH);
    return 0;
  }
  // unordered sets CF and ZF, so "above" forms are false on NaN: lt and le compare b with a
  if (swapped) x.ucomis(buf, sz, rb, ra);
  else ucomis(be, sz, ra, rb, b);
  return kind === FloatCmp.Lt || kind === FloatCmp.Gt ? Cond.A : Cond.AE;
}

/** ucomis ra, rb; rb −1: ra with the constant b from the pool. */
function ucomis(be: X64Backend, sz: number, ra: number, rb: number, b: Operand): void {
  if (rb >= 0) x.ucomis(be.buf, sz, ra, rb);
  else be.pool.use(x.ucomisRip(be.buf, sz, ra), b.lo, sz === 4 ? 0 : b.hi);
}

export function testZero(be: X64Backend, w: number, a: Operand): number {
  if (a.kind === OperandKind.Reg) x.testRR(be.buf, w, a.reg, a.reg);
  else x.aluMI(be.buf, Alu.CMP, w, FP, Index.None, 1, a.offset, 0);
  return Cond.E;
}

/** dst ← b unless cc: cmov for integers, a branch over a move for floats. */
export function select(be: X64Backend, type: number, dst: number, b: number, cc: number): void {
  const buf = be.buf;
  if (inXmm(type)) {
    const at = x.jccRel8(buf, cc);
    x.fmovRR(buf, dst, b);
    x.patchRel8(buf, at, buf.pos);
  } else x.cmovcc(buf, invert(cc), 8, dst, b);
}
