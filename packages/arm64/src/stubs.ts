import { VMCTX, TRAP_COUNT, type CodeBuffer, type StubOffsets } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, MemOp, PairMode, PairOp } from './encode';
import { ADDR, FP, LR, MEM_BASE, SCRATCH, SP, STACK_LIMIT, VMCTX_REG, WSP } from './regs';

/**
 * Calls loader routine `fn` (a vmctx field) with the C ABI. sp is still the loader's C stack
 * (generated code never moves it), x19–x29 survive the call, and every wasm value is in memory.
 * The return address is kept on the wasm stack, as x86-64's call leaves it.
 */
function callLoader(b: CodeBuffer, fn: number): void {
  a.ldst(b, MemOp.LDR_X, SCRATCH, VMCTX_REG, fn);
  a.blr(b, SCRATCH);
  // a suspend request made while the loader ran shows up at the next check
  a.ldst(b, MemOp.LDR_X, STACK_LIMIT, VMCTX_REG, VMCTX.stackLimit);
}

function pushLR(b: CodeBuffer): void {
  a.ldstIndexed(b, MemOp.STR_X, LR, WSP, -8, true);
}

function popLRAndReturn(b: CodeBuffer): void {
  a.ldstIndexed(b, MemOp.LDR_X, LR, WSP, 8, false);
  a.ret(b);
}

function align16(b: CodeBuffer): void {
  while (b.pos % 16) a.brk(b, 0);
}

/** x19–x30 and d8–d15 on the C stack (entry and resume; entry's epilogue restores them). */
function saveCalleeSaved(b: CodeBuffer): void {
  a.stp(b, PairOp.X, FP, LR, SP, -96, PairMode.PRE);
  a.stp(b, PairOp.X, 19, 20, SP, 16);
  a.stp(b, PairOp.X, 21, 22, SP, 32);
  a.stp(b, PairOp.X, 23, 24, SP, 48);
  a.stp(b, PairOp.X, 25, 26, SP, 64);
  a.stp(b, PairOp.X, 27, 28, SP, 80);
  a.stp(b, PairOp.D, 8, 9, SP, -64, PairMode.PRE);
  a.stp(b, PairOp.D, 10, 11, SP, 16);
  a.stp(b, PairOp.D, 12, 13, SP, 32);
  a.stp(b, PairOp.D, 14, 15, SP, 48);
}

/** The stubs of docs/ARCHITECTURE.md, at the start of the text section. */
export function emitStubs(b: CodeBuffer): StubOffsets {
  const entry = b.pos;
  // entry(vmctx = x0, args = x1, nargs = x2, code = x3), C ABI: save what generated code clobbers
  saveCalleeSaved(b);
  a.movSP(b, 8, SCRATCH, SP);
  a.ldst(b, MemOp.STR_X, SCRATCH, 0, VMCTX.hostRsp);
  a.movRR(b, 8, VMCTX_REG, 0);
  a.ldst(b, MemOp.LDR_X, MEM_BASE, VMCTX_REG, VMCTX.memoryBase);
  a.ldst(b, MemOp.LDR_X, STACK_LIMIT, VMCTX_REG, VMCTX.stackLimit);
  a.ldst(b, MemOp.LDR_X, WSP, VMCTX_REG, VMCTX.stackTop);
  // push the arguments, args[0] first (at the highest address)
  const loop = b.pos;
  const go = a.cbz(b, 8, 2);
  a.ldstIndexed(b, MemOp.LDR_X, SCRATCH, 1, 8, false);
  a.ldstIndexed(b, MemOp.STR_X, SCRATCH, WSP, -8, true);
  a.addSubImm(b, AddSub.SUB, 8, 2, 2, 1);
  a.patchBranch(b, a.branch(b), loop);
  a.patchBranch(b, go, b.pos);
  a.blr(b, 3);
  const entryReturn = b.pos;
  a.ldst(b, MemOp.STR_X, 0, VMCTX_REG, VMCTX.resultInt);
  a.ldst(b, MemOp.STR_D, 0, VMCTX_REG, VMCTX.resultFloat);
  a.ldst(b, MemOp.STR_Q, 0, VMCTX_REG, VMCTX.resultVector);
  a.ldp(b, PairOp.D, 14, 15, SP, 48);
  a.ldp(b, PairOp.D, 12, 13, SP, 32);
  a.ldp(b, PairOp.D, 10, 11, SP, 16);
  a.ldp(b, PairOp.D, 8, 9, SP, 64, PairMode.POST);
  a.ldp(b, PairOp.X, 27, 28, SP, 80);
  a.ldp(b, PairOp.X, 25, 26, SP, 64);
  a.ldp(b, PairOp.X, 23, 24, SP, 48);
  a.ldp(b, PairOp.X, 21, 22, SP, 32);
  a.ldp(b, PairOp.X, 19, 20, SP, 16);
  a.ldp(b, PairOp.X, FP, LR, SP, 96, PairMode.POST);
  a.ret(b);

  align16(b);
  // resume(vmctx = x0, fp = x1, sp = x2, pc = x3), C ABI: saves what entry saves, then jumps into
  // the innermost frame of a stack the loader rebuilt; its outermost returns to entryReturn
  const resume = b.pos;
  saveCalleeSaved(b);
  a.movSP(b, 8, SCRATCH, SP);
  a.ldst(b, MemOp.STR_X, SCRATCH, 0, VMCTX.hostRsp);
  a.movRR(b, 8, VMCTX_REG, 0);
  a.ldst(b, MemOp.LDR_X, MEM_BASE, VMCTX_REG, VMCTX.memoryBase);
  a.ldst(b, MemOp.LDR_X, STACK_LIMIT, VMCTX_REG, VMCTX.stackLimit);
  a.movRR(b, 8, FP, 1);
  a.movRR(b, 8, WSP, 2);
  a.br(b, 3);

  align16(b);
  // check(sp = return address slot, vmctx, fp): slow path of entry and loop checks
  const check = b.pos;
  pushLR(b);
  a.movRR(b, 8, 0, WSP);
  a.movRR(b, 8, 1, VMCTX_REG);
  a.movRR(b, 8, 2, FP);
  callLoader(b, VMCTX.fnCheck);
  popLRAndReturn(b);

  align16(b);
  // grow(delta = w0, vmctx, memory descriptor offset = x2) → w0
  const grow = b.pos;
  pushLR(b);
  a.movRR(b, 8, 1, VMCTX_REG);
  callLoader(b, VMCTX.fnGrow);
  popLRAndReturn(b);

  align16(b);
  // table(op = w0, operands = x1, a = w2, b = w3, vmctx = x4) → x0
  const table = b.pos;
  pushLR(b);
  a.movRR(b, 8, 4, VMCTX_REG);
  callLoader(b, VMCTX.fnTable);
  popLRAndReturn(b);

  align16(b);
  // trap(id, sp = trap location slot, vmctx, fp); never returns
  const trapCommon = b.pos;
  pushLR(b);
  a.movRR(b, 8, 1, WSP);
  a.movRR(b, 8, 2, VMCTX_REG);
  a.movRR(b, 8, 3, FP);
  a.ldst(b, MemOp.LDR_X, SCRATCH, VMCTX_REG, VMCTX.fnTrap);
  a.blr(b, SCRATCH);
  a.brk(b, 0);
  const traps: number[] = [0];
  for (let id = 1; id < TRAP_COUNT; id++) {
    traps.push(b.pos);
    a.movz(b, 8, 0, id);
    a.patchBranch(b, a.branch(b), trapCommon);
  }
  align16(b);
  return { entry, entryReturn, resume, check, grow, table, traps };
}

/**
 * Host call `id`, called like a wasm function: the arguments are on the wasm stack, the last one
 * at x28 (x28 + 8 once the return address is pushed).
 */
export function emitHostcallStub(b: CodeBuffer, id: number, _nParams: number): number {
  align16(b);
  const at = b.pos;
  pushLR(b);
  a.movz(b, 8, 0, id);
  a.addSubImm(b, AddSub.ADD, 8, 1, WSP, 8);
  a.movRR(b, 8, 2, VMCTX_REG);
  callLoader(b, VMCTX.fnHostcall);
  popLRAndReturn(b);
  return at;
}

/**
 * The function an import nothing links becomes (`unresolved: 'trap'`): called like a wasm function,
 * it pushes the return address as a callee does and calls trap stub `trapStub`, which pushes its
 * own: the caller's return address is one word above the trap's, as on x86-64 (trap.c).
 */
export function emitImportTrapStub(b: CodeBuffer, trapStub: number): number {
  align16(b);
  const at = b.pos;
  pushLR(b);
  a.patchBranch(b, a.branchLink(b), trapStub);
  a.brk(b, 0);
  return at;
}

/**
 * A call (bl, ±128 MiB) to a text offset, or the function table's text offset loaded by
 * call_indirect (movz/movk of ADDR).
 */
export function patchCall(b: CodeBuffer, at: number, target: number): void {
  const word = b.read32(at);
  if ((word & 0x7c000000) === 0x14000000) {
    if (!a.patchBranch(b, at, target)) throw new Error('arm64: text larger than bl reaches (128 MiB)');
    return;
  }
  b.patch32(at, 0xd2800000 | ((target & 0xffff) << 5) | ADDR); // movz x15, #lo
  b.patch32(at + 4, 0xf2a00000 | (((target >>> 16) & 0xffff) << 5) | ADDR); // movk x15, #hi, lsl 16
}
