import { Trap } from '@wagc/frontend';
import { a as asm } from './encode/flat';
import { AddSub, Cond } from './encode';
import { trapIf } from './frame';
import { callStub } from './call';
import { FP } from './regs';
import type { A64Backend } from './backend';

/**
 * A table operation through the loader's table routine (docs/ARCHITECTURE.md, "Tables"):
 * table(op = w0, operands = x1, a = w2, b = w3) via the `table` stub (mirrors
 * packages/x86-64/src/table.ts). The operands are in their slots, the first at fp + `operands`,
 * the next ones below it.
 */
export function tableCall(be: A64Backend, op: number, a: number, b: number, operands: number, dst: number): void {
  const buf = be.buf;
  asm.movConst(buf, 8, 0, op, 0);
  asm.movConst(buf, 8, 1, operands, operands < 0 ? -1 : 0);
  asm.addSubReg(buf, AddSub.ADD, 8, 1, FP, 1);
  asm.movConst(buf, 8, 2, a, 0);
  asm.movConst(buf, 8, 3, b, 0);
  callStub(be, be.out.stubs.table);
  // ~0: out of bounds (the routine wrote nothing); the trap's location is this operation
  asm.addSubImm(buf, AddSub.ADDS, 8, 31, 0, 1);
  trapIf(be, Cond.EQ, Trap.OutOfBoundsTable);
  if (dst > 0) asm.movRR(buf, 8, dst, 0);
}
