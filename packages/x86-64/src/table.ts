import { Trap } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Index, Alu, Cond } from './encode';
import { FP } from './regs';
import { trapIf } from './frame';
import { callStub } from './call';
import type { X64Backend } from './backend';

/**
 * A table operation through the loader's table routine (docs/ARCHITECTURE.md, "Tables"):
 * table(op = edi, operands = rsi, a = edx, b = ecx) via the `table` stub. The operands are in
 * their slots, the first at fp + `operands`, the next ones below it.
 */
export function tableCall(be: X64Backend, op: number, a: number, b: number, operands: number, dst: number): void {
  const buf = be.buf;
  x.movRI32(buf, 4, Reg.RDI, op);
  x.lea(buf, 8, Reg.RSI, FP, Index.None, 1, operands);
  x.movRI32(buf, 4, Reg.RDX, a);
  x.movRI32(buf, 4, Reg.RCX, b);
  callStub(be, be.out.stubs.table);
  // ~0: out of bounds (the routine wrote nothing); the trap's location is this operation
  x.aluRI(buf, Alu.CMP, 8, Reg.RAX, -1);
  trapIf(be, Cond.E, Trap.OutOfBoundsTable);
  if (dst >= 0) x.movRR(buf, 8, dst, Reg.RAX);
}
