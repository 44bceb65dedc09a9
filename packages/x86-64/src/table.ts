import { Trap, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, NO_INDEX, Alu, Cond } from './encode';
import { trapIf } from './frame';
import { FP } from './regs';

/**
 * A table operation through the loader's table routine (docs/ARCHITECTURE.md, "Tables"):
 * table(op = edi, operands = rsi, a = edx, b = ecx) via the `table` stub. The operands are in
 * their home slots, the first at fp + homeOffset(i), the next ones below it.
 */
export function tableCall(fc: FunctionCompiler, op: number, a: number, b: number, i: number, resultType: number): void {
  const buf = fc.out.buf;
  x.movRI32(buf, 4, Reg.RDI, op);
  x.lea(buf, 8, Reg.RSI, FP, NO_INDEX, 1, fc.homeOffset(i));
  x.movRI32(buf, 4, Reg.RDX, a);
  x.movRI32(buf, 4, Reg.RCX, b);
  x.patchRel32(buf, x.callRel32(buf), fc.env.stubs.table);
  // ~0: out of bounds (the routine wrote nothing); the trap's location is this operation
  x.aluRI(buf, Alu.CMP, 8, Reg.RAX, -1);
  trapIf(fc, Cond.E, Trap.OutOfBoundsTable);
  if (resultType !== 0) {
    const r = fc.allocReg(resultType);
    x.movRR(buf, 8, r, Reg.RAX);
    fc.stack.setReg(i, r);
  }
}
