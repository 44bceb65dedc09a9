import { CompileError, type CodeBuffer } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, MemOp } from './encode';
import { FP, LR, MEM_BASE, SCRATCH, SCRATCH2, STACK_LIMIT, VMCTX_REG, WSP } from './regs';
import { ldstAt } from './move';
import { condBranch, compareBranch } from './branch';
import type { A64Backend } from './backend';

/**
 * The frame (mirrors packages/x86-64/src/frame.ts): x29 is the address of the return address
 * (the callee pushes x30 on the wasm stack, as x86-64's call does), x28 sits at the frame's bottom
 * inside the body. The frame size is patched into two subs at the function's end. Also the entry
 * and loop checks (their slow paths are the code generator's, sites.ts) and trap branches.
 */

/**
 * Wasm bodies above this size may produce functions longer than b.cond's ±1 MiB reaches: their
 * conditional branches become an inverted b.cond over a b (±128 MiB). ARM64 code is at most
 * ~100 bytes per wasm byte (the longest macro, a checked float→i64 conversion of a 2-byte op).
 */
const SHORT_BRANCH_BODY = 8 * 1024;

export function beginFunction(be: A64Backend, bodyBytes: number): void {
  be.framePatchCount = 0;
  be.longBranches = bodyBytes > SHORT_BRANCH_BODY;
}

/** rd = rn − imm for 0 ≤ imm < 2^24 in one or two instructions. */
export function subImm(b: CodeBuffer, rd: number, rn: number, imm: number): void {
  if (a.fitsAddSubImm(imm)) a.addSubImm(b, AddSub.SUB, 8, rd, rn, imm);
  else if (imm < 1 << 24) {
    a.addSubImm(b, AddSub.SUB, 8, rd, rn, imm & 0xfff000);
    a.addSubImm(b, AddSub.SUB, 8, rd, rd, imm & 0xfff);
  } else throw new Error(`arm64: subtrahend ${imm} ≥ 16 MiB (frames are smaller by the compiler limits)`);
}

export function addImm(b: CodeBuffer, rd: number, rn: number, imm: number): void {
  if (a.fitsAddSubImm(imm)) a.addSubImm(b, AddSub.ADD, 8, rd, rn, imm);
  else {
    a.addSubImm(b, AddSub.ADD, 8, rd, rn, imm & 0xfff000);
    a.addSubImm(b, AddSub.ADD, 8, rd, rd, imm & 0xfff);
  }
}

/** `rd = base − frameSize` as two patched subs (frameSize is known at the function's end). */
export function frameBottomInto(be: A64Backend, rd: number, base: number): void {
  const b = be.buf;
  if (be.framePatchCount >= be.framePatches.length) {
    const n = new Int32Array(be.framePatches.length * 2);
    n.set(be.framePatches);
    be.framePatches = n;
  }
  be.framePatches[be.framePatchCount++] = b.pos;
  a.addSubImm(b, AddSub.SUB, 8, rd, base, 0x1000); // hi part, shifted form
  a.addSubImm(b, AddSub.SUB, 8, rd, rd, 0); // lo part
}

function patchFrameBottom(b: CodeBuffer, at: number, frameSize: number): void {
  const hi = b.read32(at);
  b.patch32(at, (hi & ~(0xfff << 10)) | ((frameSize >>> 12) << 10));
  const lo = b.read32(at + 4);
  b.patch32(at + 4, (lo & ~(0xfff << 10)) | ((frameSize & 0xfff) << 10));
}

/** The return address pushed on the wasm stack (as x86-64's call does), the frame pointer. */
export function enterFrame(be: A64Backend): void {
  a.ldstIndexed(be.buf, MemOp.STR_X, LR, WSP, -8, true);
  a.movRR(be.buf, 8, FP, WSP);
}

/** The frame's lowest address below the stack limit: stack exhausted, or a suspend request. */
export function entryCheck(be: A64Backend): number {
  frameBottomInto(be, SCRATCH, WSP);
  a.addSubReg(be.buf, AddSub.SUBS, 8, 31, SCRATCH, STACK_LIMIT);
  return condBranch(be, Cond.LO, -1);
}

export function frameBottom(be: A64Backend): void {
  frameBottomInto(be, WSP, FP);
}

/** A few stores of xzr, or a loop over [fp + lowest, fp + lowest + bytes). */
export function zeroSlots(be: A64Backend, lowest: number, bytes: number): void {
  const b = be.buf;
  const n = bytes / 8;
  if (n <= 8) {
    for (let j = n - 1; j >= 0; j--) ldstAt(b, MemOp.STR_X, 31, FP, lowest + 8 * j);
    return;
  }
  // x16 from fp + lowest up to fp, 8 bytes at a time
  a.movConst(b, 8, SCRATCH2, n, 0);
  subImm(b, SCRATCH, FP, -lowest);
  const loop = b.pos;
  a.ldstIndexed(b, MemOp.STR_X, 31, SCRATCH, 8, false);
  a.addSubImm(b, AddSub.SUBS, 8, SCRATCH2, SCRATCH2, 1);
  a.patchBranch(b, a.branchCond(b, Cond.NE), loop);
}

export function loopCheck(be: A64Backend): number {
  a.addSubReg(be.buf, AddSub.SUBS, 8, 31, WSP, STACK_LIMIT);
  return condBranch(be, Cond.LO, -1);
}

export function finishFrame(be: A64Backend, frameSize: number): void {
  if (frameSize >= 1 << 24) throw new CompileError('frame too large for arm64 (16 MiB)', -1);
  for (let k = 0; k < be.framePatchCount; k++) patchFrameBottom(be.buf, be.framePatches[k], frameSize);
}

/** The return address back in x30 first: with several results one may land on its slot. */
export function beginReturn(be: A64Backend, _over: boolean): void {
  a.movRR(be.buf, 8, WSP, FP);
  a.ldstIndexed(be.buf, MemOp.LDR_X, LR, WSP, 8, false);
}

export function endReturn(be: A64Backend, _over: boolean): void {
  a.ret(be.buf);
}

/** x0 or v0. */
export function resultReg(_type: number): number {
  return 0;
}

export function loadMemoryBase(be: A64Backend, desc: number): void {
  ldstAt(be.buf, MemOp.LDR_X, MEM_BASE, VMCTX_REG, desc);
}

/** A conditional branch to an out-of-line call of trap stub `trap` (sites.ts emits it). */
export function trapIf(be: A64Backend, cc: number, trap: number): void {
  be.ool.addTrap(condBranch(be, cc, -1), trap);
}

/** cbz/cbnz to an out-of-line call of trap stub `trap`. */
export function trapIfZero(be: A64Backend, w: number, r: number, trap: number): void {
  be.ool.addTrap(compareBranch(be, true, w, r, -1), trap);
}
