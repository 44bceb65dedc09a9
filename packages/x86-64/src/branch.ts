import { OperandKind, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Cond, Index } from './encode';
import { FP, SCRATCH, SCRATCH2, SCRATCH3 } from './regs';
import { loadOperand } from './move';
import type { X64Backend } from './backend';

/** Jumps and conditional branches: rel32 forms, patched in place once their target is known. */

export function jump(be: X64Backend, target: number): number {
  const at = x.jmpRel32(be.buf);
  if (target >= 0) x.patchRel32(be.buf, at, target);
  return at;
}

export function patchJump(be: X64Backend, at: number, target: number): void {
  x.patchRel32(be.buf, at, target);
}

export function branchIf(be: X64Backend, cc: number, target: number): number {
  const at = x.jccRel32(be.buf, cc);
  if (target >= 0) x.patchRel32(be.buf, at, target);
  return at;
}

export function branchIfZero(be: X64Backend, ifZero: boolean, a: Operand, target: number): number {
  if (a.kind === OperandKind.Reg) x.testRR(be.buf, 4, a.reg, a.reg);
  else x.aluMI(be.buf, x.Alu.CMP, 4, FP, Index.None, 1, a.offset, 0);
  return branchIf(be, ifZero ? Cond.E : Cond.NE, target);
}

/**
 * Dispatch through a table of rel32 entries, each relative to its own end (so they are patched
 * like jumps): index ≥ count goes to out[count].
 */
export function branchTable(be: X64Backend, index: Operand, count: number, out: Int32Array): void {
  const b = be.buf;
  loadOperand(be, index, SCRATCH2);
  x.aluRI(b, x.Alu.CMP, 4, SCRATCH2, count);
  out[count] = x.jccRel32(b, Cond.AE);
  if (count === 0) return;
  const tableAt = x.leaRip(b, SCRATCH);
  const leaEnd = b.pos;
  x.lea(b, 8, SCRATCH3, SCRATCH, SCRATCH2, 4, 0);
  x.loadExt(b, x.ExtKind.S32_64, SCRATCH2, SCRATCH3, Index.None, 1, 0);
  x.lea(b, 8, SCRATCH, SCRATCH3, SCRATCH2, 1, 4);
  x.jmpR(b, SCRATCH);
  b.patch32(tableAt, b.pos - leaEnd);
  for (let k = 0; k < count; k++) {
    out[k] = b.pos;
    b.emit32(0);
  }
}
