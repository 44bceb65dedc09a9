import { CompileError, OperandKind, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, MemOp } from './encode';
import { FP, SCRATCH, SCRATCH2, invert } from './regs';
import { ldstAt, loadOperand } from './move';
import type { A64Backend } from './backend';

/**
 * Jumps and conditional branches (mirrors packages/x86-64/src/branch.ts). b reaches ±128 MiB;
 * b.cond and cbz ±1 MiB, so a function whose forward branches may reach farther uses an inverted
 * short branch over a b for each (A64Backend.longBranches, frame.ts).
 */

export function patchJump(be: A64Backend, at: number, target: number): void {
  if (!a.patchBranch(be.buf, at, target)) throw new CompileError('function too large for arm64 branches', -1);
}

export function jump(be: A64Backend, target: number): number {
  const at = a.branch(be.buf);
  if (target >= 0) patchJump(be, at, target);
  return at;
}

/**
 * A conditional branch on `cc` to `target` (≥ 0: known, behind us) or to be patched (−1).
 * Returns the position patchJump takes.
 */
export function condBranch(be: A64Backend, cc: number, target: number): number {
  const b = be.buf;
  if (target >= 0 ? a.fitsB19(target - b.pos) : !be.longBranches) {
    const at = a.branchCond(b, cc);
    if (target >= 0) a.patchBranch(b, at, target);
    return at;
  }
  a.branchCond(b, invert(cc), 8);
  const at = a.branch(b);
  if (target >= 0) a.patchBranch(b, at, target);
  return at;
}

/** cbz/cbnz (`w` 4 or 8) on register `r`, in the same two forms as condBranch. */
export function compareBranch(be: A64Backend, ifZero: boolean, w: number, r: number, target: number): number {
  const b = be.buf;
  if (target >= 0 ? a.fitsB19(target - b.pos) : !be.longBranches) {
    const at = ifZero ? a.cbz(b, w, r) : a.cbnz(b, w, r);
    if (target >= 0) a.patchBranch(b, at, target);
    return at;
  }
  if (ifZero) a.cbnz(b, w, r, 8);
  else a.cbz(b, w, r, 8);
  const at = a.branch(b);
  if (target >= 0) a.patchBranch(b, at, target);
  return at;
}

export function branchIfZero(be: A64Backend, ifZero: boolean, x: Operand, target: number): number {
  if (x.kind === OperandKind.Reg) return compareBranch(be, ifZero, 4, x.reg, target);
  ldstAt(be.buf, MemOp.LDR_W, SCRATCH, FP, x.offset);
  return compareBranch(be, ifZero, 4, SCRATCH, target);
}

/**
 * A table of `b` instructions indexed by `index` (patched like any jump); index ≥ count goes to
 * out[count].
 */
export function branchTable(be: A64Backend, index: Operand, count: number, out: Int32Array): void {
  const b = be.buf;
  loadOperand(be, index, SCRATCH2);
  if (a.fitsAddSubImm(count)) a.addSubImm(b, AddSub.SUBS, 4, 31, SCRATCH2, count);
  else {
    a.movConst(b, 4, SCRATCH, count, 0);
    a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH2, SCRATCH);
  }
  out[count] = condBranch(be, Cond.HS, -1);
  if (count === 0) return;
  // adr x16, table; x16 += zext(index) << 2; br x16; table
  a.adr(b, SCRATCH, 12);
  a.addSubExt(b, AddSub.ADD, 8, SCRATCH, SCRATCH, SCRATCH2, Extend.UXTW, 2);
  a.br(b, SCRATCH);
  for (let k = 0; k < count; k++) out[k] = a.branch(b);
}
