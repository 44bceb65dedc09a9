import { Trap, type FunctionCompiler } from '@wagc/frontend';
import { a as asm } from './encode/flat';
import { AddSub, Cond } from './encode';
import { trapIf } from './frame';
import { FP } from './regs';

/**
 * A table operation through the loader's table routine (docs/ARCHITECTURE.md, "Tables"):
 * table(op = w0, operands = x1, a = w2, b = w3) via the `table` stub; the x86-64 twin is
 * packages/x86-64/src/table.ts. The operands are in their home slots, the first at
 * fp + homeOffset(i), the next ones below it.
 */
export function tableCall(fc: FunctionCompiler, op: number, a: number, b: number, i: number, resultType: number): void {
  const buf = fc.out.buf;
  const off = fc.homeOffset(i);
  asm.movConst(buf, 8, 0, op, 0);
  asm.movConst(buf, 8, 1, off, off < 0 ? -1 : 0);
  asm.addSubReg(buf, AddSub.ADD, 8, 1, FP, 1);
  asm.movConst(buf, 8, 2, a, 0);
  asm.movConst(buf, 8, 3, b, 0);
  asm.patchBranch(buf, asm.branchLink(buf), fc.env.stubs.table);
  // ~0: out of bounds (the routine wrote nothing); the trap's location is this operation
  asm.addSubImm(buf, AddSub.ADDS, 8, 31, 0, 1);
  trapIf(fc, Cond.EQ, Trap.OutOfBoundsTable);
  if (resultType !== 0) {
    const r = fc.allocReg(resultType);
    if (r !== 0) asm.movRR(buf, 8, r, 0);
    fc.stack.setReg(i, r);
  }
}
