import { DESC, Trap, VMCTX, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, MemOp, Shift } from './encode';
import { ADDR, FP, SCRATCH, SCRATCH2, SCRATCH3, VMCTX_REG, WSP } from './regs';
import { ldstAt, loadOperand } from './move';
import { addImm, frameBottomInto, subImm, trapIf, trapIfZero } from './frame';
import type { A64Backend } from './backend';

/**
 * Calls (mirrors packages/x86-64/src/call.ts): x28 at the slot of the last argument
 * (fp − fpOffset), `bl`/`blr`, and after it x29 and x28 restored from x28.
 */

const DESC_SIZE = DESC.size, TEXT_BASE = VMCTX.textBase;

export function enterCall(be: A64Backend, fpOffset: number): void {
  subImm(be.buf, WSP, FP, fpOffset);
}

export function leaveCall(be: A64Backend, fpOffset: number): void {
  addImm(be.buf, FP, WSP, fpOffset);
  frameBottomInto(be, WSP, FP);
}

export function callDirect(be: A64Backend, func: number): void {
  const at = a.branchLink(be.buf);
  be.out.callFixups.push2(at, func);
}

/**
 * The table entry: low u32 = canonical type id + 1 (0: null), high u32 = linked function index;
 * the descriptor: u64 entries, u32 size. The function's address, text base + the function
 * table's entry, ends in x16.
 */
export function loadIndirectTarget(be: A64Backend, typeId: number, tableDesc: number, index: Operand): void {
  const b = be.buf;
  loadOperand(be, index, SCRATCH2);
  ldstAt(b, MemOp.LDR_W, SCRATCH, VMCTX_REG, tableDesc + DESC_SIZE);
  a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH2, SCRATCH);
  trapIf(be, Cond.HS, Trap.UndefinedElement);
  ldstAt(b, MemOp.LDR_X, SCRATCH, VMCTX_REG, tableDesc);
  a.ldstReg(b, MemOp.LDR_X, SCRATCH, SCRATCH, SCRATCH2, Extend.UXTW, true);
  trapIfZero(be, 4, SCRATCH, Trap.UninitializedElement);
  // whatever the word holds (a snapshot or a bug may have forged it), only a linked function of
  // the expected type is called: its index is bounded by the function table's count, and the
  // type compared is the table's trusted copy, not the word's claim (docs/ARCHITECTURE.md,
  // "References"). The table (image section 13): u32 count, u32 0, then (u32 code offset,
  // u32 type id + 1) each.
  a.lsrImm(b, 8, SCRATCH, SCRATCH, 32);
  // the function table's text offset, patched by the linker (patchCall sees the movz)
  be.out.tableFixups.push(b.pos);
  a.movz(b, 8, ADDR, 0, 0);
  a.movk(b, 8, ADDR, 0, 16);
  ldstAt(b, MemOp.LDR_X, SCRATCH2, VMCTX_REG, TEXT_BASE);
  a.addSubReg(b, AddSub.ADD, 8, ADDR, SCRATCH2, ADDR);
  a.ldst(b, MemOp.LDR_W, SCRATCH3, ADDR, 0);
  a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH, SCRATCH3);
  trapIf(be, Cond.HS, Trap.UndefinedElement);
  a.addSubReg(b, AddSub.ADD, 8, ADDR, ADDR, SCRATCH, Shift.LSL, 3);
  a.ldst(b, MemOp.LDR_W, SCRATCH3, ADDR, 12);
  if (a.fitsAddSubImm(typeId + 1)) a.addSubImm(b, AddSub.SUBS, 4, 31, SCRATCH3, typeId + 1);
  else {
    a.movConst(b, 4, SCRATCH, typeId + 1, 0);
    a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH3, SCRATCH);
  }
  trapIf(be, Cond.NE, Trap.IndirectCallTypeMismatch);
  a.ldst(b, MemOp.LDR_W, SCRATCH, ADDR, 8);
  a.addSubReg(b, AddSub.ADD, 8, SCRATCH, SCRATCH2, SCRATCH);
}

export function callIndirect(be: A64Backend): void {
  a.blr(be.buf, SCRATCH);
}

/** A bl into a shared stub, recorded in out.stubRefs (code compiled in a worker is moved). */
export function callStub(be: A64Backend, target: number): void {
  const b = be.buf;
  const at = a.branchLink(b);
  a.patchBranch(b, at, target);
  be.out.stubRefs.push2(at, target);
}
