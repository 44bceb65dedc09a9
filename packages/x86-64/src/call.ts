import { DESC, Trap, VMCTX, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, Index } from './encode';
import { FP, SCRATCH, SCRATCH2, VMCTX_REG } from './regs';
import { loadOperand } from './move';
import { leaFrameBottom, trapIf } from './frame';
import type { X64Backend } from './backend';

/**
 * Calls: rsp at the slot of the last argument (fp − fpOffset), `call`, and after it rbp and rsp
 * restored from rsp (callees never save rbp: docs/ARCHITECTURE.md, "Frames").
 */

const DESC_BASE = DESC.base, DESC_SIZE = DESC.size, TEXT_BASE = VMCTX.textBase;

export function enterCall(be: X64Backend, fpOffset: number): void {
  x.lea(be.buf, 8, Reg.RSP, FP, Index.None, 1, -fpOffset);
}

export function leaveCall(be: X64Backend, fpOffset: number): void {
  x.lea(be.buf, 8, FP, Reg.RSP, Index.None, 1, fpOffset);
  leaFrameBottom(be, Reg.RSP, FP);
}

export function callDirect(be: X64Backend, func: number): void {
  const at = x.callRel32(be.buf);
  be.out.callFixups.push2(at, func);
}

/**
 * The table entry: low u32 = canonical type id + 1 (0: null), high u32 = linked function index;
 * the descriptor: u64 entries, u32 size. The function's address, text base + the function
 * table's entry, ends in rax.
 */
export function loadIndirectTarget(be: X64Backend, typeId: number, tableDesc: number, index: Operand): void {
  const b = be.buf;
  loadOperand(be, index, SCRATCH2);
  x.aluRM(b, x.Alu.CMP, 4, SCRATCH2, VMCTX_REG, Index.None, 1, tableDesc + DESC_SIZE);
  trapIf(be, Cond.AE, Trap.UndefinedElement);
  x.load(b, 8, SCRATCH, VMCTX_REG, Index.None, 1, tableDesc + DESC_BASE);
  x.load(b, 8, SCRATCH, SCRATCH, SCRATCH2, 8, 0);
  x.testRR(b, 4, SCRATCH, SCRATCH);
  trapIf(be, Cond.E, Trap.UninitializedElement);
  // whatever the word holds (a snapshot or a bug may have forged it), only a linked function of
  // the expected type is called: its index is bounded by the function table's count, and the
  // type compared is the table's trusted copy, not the word's claim (docs/ARCHITECTURE.md,
  // "References"). The table (image section 13): u32 count, u32 0, then (u32 code offset,
  // u32 type id + 1) each.
  x.shiftRI(b, x.Shift.SHR, 8, SCRATCH, 32);
  const at = x.leaRip(b, SCRATCH2);
  be.out.tableFixups.push(at);
  x.aluRM(b, x.Alu.CMP, 4, SCRATCH, SCRATCH2, Index.None, 1, 0);
  trapIf(be, Cond.AE, Trap.UndefinedElement);
  x.aluMI(b, x.Alu.CMP, 4, SCRATCH2, SCRATCH, 8, 12, typeId + 1);
  trapIf(be, Cond.NE, Trap.IndirectCallTypeMismatch);
  x.load(b, 4, SCRATCH, SCRATCH2, SCRATCH, 8, 8);
  x.aluRM(b, x.Alu.ADD, 8, SCRATCH, VMCTX_REG, Index.None, 1, TEXT_BASE);
}

export function callIndirect(be: X64Backend): void {
  x.callR(be.buf, SCRATCH);
}

/** A call into a shared stub, recorded in out.stubRefs (code compiled in a worker is moved). */
export function callStub(be: X64Backend, target: number): void {
  const b = be.buf;
  const at = x.callRel32(b);
  x.patchRel32(b, at, target);
  be.out.stubRefs.push2(at, target);
}
