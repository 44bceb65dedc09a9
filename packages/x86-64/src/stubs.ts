import { VMCTX, TRAP_COUNT, type CodeBuffer, type StubOffsets } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Index, Alu } from './encode';
import { FP, MEM_BASE, STACK_LIMIT, VMCTX_REG } from './regs';
import { V, vopM } from './encode/vec';

/** Switches to the loader's C stack (aligned), calls vmctx field `fn`, and comes back. */
function callLoader(b: CodeBuffer, fn: number): void {
  x.push(b, FP);
  x.movRR(b, 8, FP, Reg.RSP);
  x.load(b, 8, Reg.RSP, VMCTX_REG, Index.None, 1, VMCTX.hostRsp);
  x.aluRI(b, Alu.AND, 8, Reg.RSP, -16);
  x.callM(b, VMCTX_REG, fn);
  x.movRR(b, 8, Reg.RSP, FP);
  x.pop(b, FP);
  // a suspend request made while the loader ran shows up at the next check
  x.load(b, 8, STACK_LIMIT, VMCTX_REG, Index.None, 1, VMCTX.stackLimit);
}

/** The stubs of docs/ARCHITECTURE.md, at the start of the text section. */
export function emitStubs(b: CodeBuffer): StubOffsets {
  const entry = b.pos;
  // entry(vmctx=rdi, args=rsi, nargs=rdx, code=rcx), C ABI
  for (const r of [Reg.RBX, Reg.RBP, Reg.R12, Reg.R13, Reg.R14, Reg.R15]) x.push(b, r);
  x.store(b, 8, Reg.RDI, Index.None, 1, VMCTX.hostRsp, Reg.RSP);
  x.movRR(b, 8, VMCTX_REG, Reg.RDI);
  x.load(b, 8, MEM_BASE, VMCTX_REG, Index.None, 1, VMCTX.memoryBase);
  x.load(b, 8, STACK_LIMIT, VMCTX_REG, Index.None, 1, VMCTX.stackLimit);
  x.load(b, 8, Reg.RSP, VMCTX_REG, Index.None, 1, VMCTX.stackTop);
  const loop = b.pos;
  x.testRR(b, 8, Reg.RDX, Reg.RDX);
  const go = x.jccRel8(b, x.Cond.E);
  x.pushM(b, Reg.RSI, 0);
  x.aluRI(b, Alu.ADD, 8, Reg.RSI, 8);
  x.aluRI(b, Alu.SUB, 8, Reg.RDX, 1);
  x.patchRel8(b, x.jmpRel8(b), loop);
  x.patchRel8(b, go, b.pos);
  x.callR(b, Reg.RCX);
  const entryReturn = b.pos;
  x.store(b, 8, VMCTX_REG, Index.None, 1, VMCTX.resultInt, Reg.RAX);
  x.fstore(b, 8, VMCTX_REG, Index.None, 1, VMCTX.resultFloat, 0);
  vopM(b, V.MOVDQU_STORE, 0, VMCTX_REG, Index.None, 1, VMCTX.resultVector);
  x.load(b, 8, Reg.RSP, VMCTX_REG, Index.None, 1, VMCTX.hostRsp);
  for (const r of [Reg.R15, Reg.R14, Reg.R13, Reg.R12, Reg.RBP, Reg.RBX]) x.pop(b, r);
  x.ret(b);

  b.align(16, 0xcc);
  // resume(vmctx = rdi, fp = rsi, sp = rdx, pc = rcx), C ABI: saves what entry saves, then jumps
  // into the innermost frame of a stack the loader rebuilt; its outermost returns to entryReturn
  const resume = b.pos;
  for (const r of [Reg.RBX, Reg.RBP, Reg.R12, Reg.R13, Reg.R14, Reg.R15]) x.push(b, r);
  x.store(b, 8, Reg.RDI, Index.None, 1, VMCTX.hostRsp, Reg.RSP);
  x.movRR(b, 8, VMCTX_REG, Reg.RDI);
  x.load(b, 8, MEM_BASE, VMCTX_REG, Index.None, 1, VMCTX.memoryBase);
  x.load(b, 8, STACK_LIMIT, VMCTX_REG, Index.None, 1, VMCTX.stackLimit);
  x.movRR(b, 8, FP, Reg.RSI);
  x.movRR(b, 8, Reg.RSP, Reg.RDX);
  x.jmpR(b, Reg.RCX);

  b.align(16, 0xcc);
  // check(sp = return address slot, vmctx, fp): slow path of entry and loop checks
  const check = b.pos;
  x.movRR(b, 8, Reg.RDI, Reg.RSP);
  x.movRR(b, 8, Reg.RSI, VMCTX_REG);
  x.movRR(b, 8, Reg.RDX, FP);
  callLoader(b, VMCTX.fnCheck);
  x.ret(b);

  b.align(16, 0xcc);
  // grow(delta = edi, vmctx, memory descriptor offset = edx) → eax
  const grow = b.pos;
  x.movRR(b, 8, Reg.RSI, VMCTX_REG);
  callLoader(b, VMCTX.fnGrow);
  x.ret(b);

  b.align(16, 0xcc);
  // table(op = edi, operands = rsi, a = edx, b = ecx, vmctx = r8) → rax
  const table = b.pos;
  x.movRR(b, 8, Reg.R8, VMCTX_REG);
  callLoader(b, VMCTX.fnTable);
  x.ret(b);

  b.align(16, 0xcc);
  // trap(id, sp = trap location slot, vmctx, fp); never returns
  const trapCommon = b.pos;
  x.movRR(b, 8, Reg.RSI, Reg.RSP);
  x.movRR(b, 8, Reg.RDX, VMCTX_REG);
  x.movRR(b, 8, Reg.RCX, FP);
  x.load(b, 8, Reg.RSP, VMCTX_REG, Index.None, 1, VMCTX.hostRsp);
  x.aluRI(b, Alu.AND, 8, Reg.RSP, -16);
  x.callM(b, VMCTX_REG, VMCTX.fnTrap);
  x.ud2(b);
  const traps: number[] = [0];
  for (let id = 1; id < TRAP_COUNT; id++) {
    traps.push(b.pos);
    x.movRI32(b, 4, Reg.RDI, id);
    x.patchRel32(b, x.jmpRel32(b), trapCommon);
  }
  b.align(16, 0xcc);
  return { entry, entryReturn, resume, check, grow, table, traps };
}

/**
 * Host call `id`, called like a wasm function: the arguments are on the stack above the return
 * address, the last one at rsp + 8.
 */
export function emitHostcallStub(b: CodeBuffer, id: number, _nParams: number): number {
  b.align(16, 0xcc);
  const at = b.pos;
  x.movRI32(b, 4, Reg.RDI, id);
  x.lea(b, 8, Reg.RSI, Reg.RSP, Index.None, 1, 8);
  x.movRR(b, 8, Reg.RDX, VMCTX_REG);
  callLoader(b, VMCTX.fnHostcall);
  x.ret(b);
  return at;
}

/**
 * The function an import nothing links becomes (`unresolved: 'trap'`): called like a wasm function,
 * it calls trap stub `trapStub`, so the trap finds its own return address at sp and the caller's
 * one word above (trap.c names the import from the first and places the trap at the second).
 */
export function emitImportTrapStub(b: CodeBuffer, trapStub: number): number {
  b.align(16, 0xcc);
  const at = b.pos;
  x.patchRel32(b, x.callRel32(b), trapStub);
  x.ud2(b);
  return at;
}

export function patchCall(b: CodeBuffer, at: number, target: number): void {
  x.patchRel32(b, at, target);
}
