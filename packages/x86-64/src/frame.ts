import { DESC } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, Index } from './encode';
import { FP, MEM_BASE, SCRATCH, SCRATCH2, STACK_LIMIT, VMCTX_REG } from './regs';
import type { X64Backend } from './backend';

/**
 * The frame (docs/ARCHITECTURE.md, "Frames"): rbp is the address of the return address, rsp sits
 * at the frame's bottom (fp − frameSize) inside the body. The frame size is known at the
 * function's end: every use is a disp32 patched then. Also the entry and loop checks (their slow
 * paths are the code generator's, sites.ts) and trap branches.
 */

const DESC_BASE = DESC.base;

/** Placeholder that forces a disp32 encoding; patched with −frameSize at the function's end. */
const FRAME_PLACEHOLDER = -0x7fff0000;

/** `lea dst, [base − frameSize]`, patched later. */
function leaFrameBottom(be: X64Backend, dst: number, base: number): void {
  const b = be.buf;
  x.lea(b, 8, dst, base, Index.None, 1, FRAME_PLACEHOLDER);
  if (be.framePatchCount >= be.framePatches.length) {
    const n = new Int32Array(be.framePatches.length * 2);
    n.set(be.framePatches);
    be.framePatches = n;
  }
  be.framePatches[be.framePatchCount++] = b.pos - 4;
}

export function enterFrame(be: X64Backend): void {
  x.movRR(be.buf, 8, FP, Reg.RSP);
}

/** The frame's lowest address below the stack limit: stack exhausted, or a suspend request. */
export function entryCheck(be: X64Backend): number {
  const b = be.buf;
  leaFrameBottom(be, SCRATCH, Reg.RSP);
  x.aluRR(b, x.Alu.CMP, 8, SCRATCH, STACK_LIMIT);
  return x.jccRel32(b, Cond.B);
}

export function frameBottom(be: X64Backend): void {
  leaFrameBottom(be, Reg.RSP, FP);
}

/** A few stores of 0, or rep stosq over [fp + lowest, fp + lowest + bytes). */
export function zeroSlots(be: X64Backend, lowest: number, bytes: number): void {
  const b = be.buf;
  const n = bytes / 8;
  if (n <= 8) {
    for (let j = n - 1; j >= 0; j--) x.storeImm(b, 8, FP, Index.None, 1, lowest + 8 * j, 0);
    return;
  }
  x.aluRR(b, x.Alu.XOR, 4, Reg.RAX, Reg.RAX);
  x.lea(b, 8, Reg.RDI, FP, Index.None, 1, lowest);
  x.movRI32(b, 4, Reg.RCX, n);
  b.emit8(0xf3); // rep stosq
  b.emit8(0x48);
  b.emit8(0xab);
}

export function loopCheck(be: X64Backend): number {
  x.aluRR(be.buf, x.Alu.CMP, 8, Reg.RSP, STACK_LIMIT);
  return x.jccRel32(be.buf, Cond.B);
}

/** The frame size patched in; the function's constant pool after its code. */
export function finishFrame(be: X64Backend, frameSize: number): void {
  for (let k = 0; k < be.framePatchCount; k++) be.buf.patch32(be.framePatches[k], -frameSize);
  be.pool.emit(be.buf);
}

/** With a result on the return address slot, the return address goes to rcx first. */
export function beginReturn(be: X64Backend, over: boolean): void {
  if (over) x.load(be.buf, 8, SCRATCH2, FP, Index.None, 1, 0);
}

export function endReturn(be: X64Backend, over: boolean): void {
  const b = be.buf;
  if (over) {
    x.lea(b, 8, Reg.RSP, FP, Index.None, 1, 8);
    x.jmpR(b, SCRATCH2);
  } else {
    x.movRR(b, 8, Reg.RSP, FP);
    x.ret(b);
  }
}

/** f32, f64 and v128 come back in xmm0, everything else in rax. */
export function resultReg(type: number): number {
  return type === 0x7d || type === 0x7c || type === 0x7b ? 0 : Reg.RAX;
}

export function loadMemoryBase(be: X64Backend, desc: number): void {
  x.load(be.buf, 8, MEM_BASE, VMCTX_REG, Index.None, 1, desc + DESC_BASE);
}

/** A conditional branch to an out-of-line call of trap stub `trap` (sites.ts emits it). */
export function trapIf(be: X64Backend, cc: number, trap: number): void {
  be.ool.addTrap(x.jccRel32(be.buf, cc), trap);
}

export { leaFrameBottom };
