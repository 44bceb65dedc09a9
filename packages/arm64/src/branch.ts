import { Loc, isFloat, type FunctionCompiler } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, MemOp } from './encode';
import { FP, SCRATCH, SCRATCH2, invert } from './regs';
import { copyToReg, ldstAt, loadOp } from './move';
import { compareBranch, condBranch, patchBranchOrFail } from './frame';

export function jump(fc: FunctionCompiler, target: number): number {
  const b = fc.out.buf;
  const at = a.branch(b);
  if (target >= 0) patchBranchOrFail(fc, at, target);
  return at;
}

export function patchJump(fc: FunctionCompiler, at: number, target: number): void {
  patchBranchOrFail(fc, at, target);
}

export function branchIf(fc: FunctionCompiler, i: number, ifZero: boolean, target: number): number {
  const b = fc.out.buf;
  const s = fc.stack;
  switch (s.loc[i]) {
    case Loc.Const: {
      const taken = (s.lo[i] !== 0) !== ifZero;
      if (!taken) return -1;
      fc.lastFixup = jump(fc, target);
      return -2;
    }
    case Loc.Flags:
      return condBranch(fc, ifZero ? invert(s.reg[i]) : s.reg[i], target);
    case Loc.Reg: {
      const r = s.reg[i];
      fc.release(i);
      return compareBranch(fc, ifZero, 4, r, target);
    }
    default:
      ldstAt(b, MemOp.LDR_W, SCRATCH, FP, fc.homeOffset(i));
      return compareBranch(fc, ifZero, 4, SCRATCH, target);
  }
}

/**
 * A table of `b` instructions indexed by value i (patched like any jump); index ≥ count goes to
 * out[count].
 */
export function branchTable(fc: FunctionCompiler, i: number, count: number, out: Int32Array): void {
  const b = fc.out.buf;
  copyToReg(fc, i, SCRATCH2);
  fc.release(i);
  if (a.fitsAddSubImm(count)) a.addSubImm(b, AddSub.SUBS, 4, 31, SCRATCH2, count);
  else {
    a.movConst(b, 4, SCRATCH, count, 0);
    a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH2, SCRATCH);
  }
  out[count] = condBranch(fc, Cond.HS, -1);
  if (count === 0) return;
  // adr x16, table; x16 += zext(index) << 2; br x16; table
  a.adr(b, SCRATCH, 12);
  a.addSubExt(b, AddSub.ADD, 8, SCRATCH, SCRATCH, SCRATCH2, Extend.UXTW, 2);
  a.br(b, SCRATCH);
  for (let k = 0; k < count; k++) out[k] = a.branch(b);
}

/** a = i, b = i+1, cond = i+2 → i. */
export function select(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const c = i + 2;
  if (s.loc[c] === Loc.Const) {
    const keep = s.lo[c] !== 0 ? i : i + 1;
    const drop = keep === i ? i + 1 : i;
    fc.release(drop);
    if (keep !== i) {
      s.type[i] = s.type[keep];
      s.loc[i] = s.loc[keep];
      s.reg[i] = s.reg[keep];
      s.lo[i] = s.lo[keep];
      s.hi[i] = s.hi[keep];
      if (s.loc[i] === Loc.Mem) {
        // the value still sits in position i+1's slot: bring it into a register
        const r = fc.allocReg(s.type[i]);
        ldstAt(b, loadOp(s.type[i]), r, FP, fc.homeOffset(i + 1));
        s.setReg(i, r);
      }
    }
    return;
  }
  // operands into registers first: loads leave the flags alone
  const ra = fc.regOf(i);
  const rb = fc.regOf(i + 1);
  let cc: number;
  if (s.loc[c] === Loc.Flags) cc = s.reg[c];
  else {
    if (s.loc[c] === Loc.Reg) {
      a.addSubImm(b, AddSub.SUBS, 4, 31, s.reg[c], 0);
      fc.release(c);
    } else {
      ldstAt(b, MemOp.LDR_W, SCRATCH, FP, fc.homeOffset(c));
      a.addSubImm(b, AddSub.SUBS, 4, 31, SCRATCH, 0);
    }
    cc = Cond.NE;
  }
  if (isFloat(s.type[i])) a.fcsel(b, 8, ra, ra, rb, cc);
  else a.csel(b, 8, ra, ra, rb, cc);
  fc.release(i + 1);
}
