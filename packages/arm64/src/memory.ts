import { DESC, Form, OperandKind, Trap, VMCTX, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, MemOp } from './encode';
import { ADDR, FP, MEM_BASE, SCRATCH, SCRATCH2, VMCTX_REG, ZR } from './regs';
import { isFloat, ldstAt, width } from './move';
import { trapIf } from './frame';
import { callStub } from './call';
import type { A64Backend } from './backend';

const I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

const DESC_SIZE = DESC.size, TEXT_BASE = VMCTX.textBase;

/**
 * Linear memory (mirrors packages/x86-64/src/memory.ts). memory.copy/fill/init check their ranges,
 * trapping before they write, and copy a byte at a time.
 */

/** A load's address may be an immediate; its result is allocated before the address is placed. */
export function loadForm(): number {
  return Form.AImm | Form.FreshFirst;
}

/** A store's address and value may be immediates. */
export function storeForm(): number {
  return Form.AImm | Form.BImm | Form.NoResult;
}

/**
 * The access `op` of register rt at x27 + zext(addr) + offset (ARCHITECTURE §4: no bounds
 * checks; the guard reservation catches anything outside the accessible pages). Uses ADDR.
 */
export function access(be: A64Backend, op: MemOp, rt: number, addr: Operand, offset: number): void {
  const b = be.buf;
  if (addr.kind === OperandKind.Imm) {
    const ea = (addr.lo >>> 0) + offset; // < 2^33
    if (a.fitsLdst(op, ea)) a.ldst(b, op, rt, MEM_BASE, ea);
    else {
      a.movConst(b, 8, ADDR, ea | 0, Math.floor(ea / 4294967296));
      a.ldstReg(b, op, rt, MEM_BASE, ADDR, Extend.UXTX);
    }
    return;
  }
  const r = addr.reg;
  if (offset === 0) a.ldstReg(b, op, rt, MEM_BASE, r, Extend.UXTW);
  else if (a.fitsLdst(op, offset)) {
    a.addSubExt(b, AddSub.ADD, 8, ADDR, MEM_BASE, r, Extend.UXTW, 0);
    a.ldst(b, op, rt, ADDR, offset);
  } else {
    a.movConst(b, 8, ADDR, offset | 0, 0); // offset < 2^32: zero-extended
    a.addSubExt(b, AddSub.ADD, 8, ADDR, ADDR, r, Extend.UXTW, 0);
    a.ldstReg(b, op, rt, MEM_BASE, ADDR, Extend.UXTX);
  }
}

/** The load of `bytes` into a `type` register, zero- or sign-extended. */
function loadOp(type: number, bytes: number, signed: boolean): MemOp {
  if (type === F32) return MemOp.LDR_S;
  if (type === F64) return MemOp.LDR_D;
  const w64 = type === I64;
  switch (bytes) {
    case 1: return signed ? (w64 ? MemOp.LDRSB_X : MemOp.LDRSB_W) : MemOp.LDRB;
    case 2: return signed ? (w64 ? MemOp.LDRSH_X : MemOp.LDRSH_W) : MemOp.LDRH;
    case 4: return signed && w64 ? MemOp.LDRSW : MemOp.LDR_W;
    default: return MemOp.LDR_X;
  }
}

export function memLoad(be: A64Backend, type: number, bytes: number, signed: boolean, dst: number, addr: Operand, offset: number): void {
  access(be, loadOp(type, bytes, signed), dst, addr, offset);
}

/** A constant value goes through x16 (0 is xzr), a float's as its bits. */
export function memStore(be: A64Backend, type: number, bytes: number, addr: Operand, offset: number, value: Operand): void {
  const b = be.buf;
  let src = value.reg;
  let gpr = !isFloat(type);
  if (value.kind === OperandKind.Imm) {
    gpr = true;
    const w = width(type);
    if (value.lo === 0 && (w === 4 || value.hi === 0)) src = ZR;
    else {
      src = SCRATCH;
      a.movConst(b, w, SCRATCH, value.lo, value.hi);
    }
  }
  let op: MemOp;
  switch (bytes) {
    case 1: op = MemOp.STRB; break;
    case 2: op = MemOp.STRH; break;
    case 4: op = gpr ? MemOp.STR_W : MemOp.STR_S; break;
    default: op = gpr ? MemOp.STR_X : MemOp.STR_D;
  }
  access(be, op, src, addr, offset);
}

export function memorySize(be: A64Backend, dst: number, desc: number): void {
  ldstAt(be.buf, MemOp.LDR_W, dst, VMCTX_REG, desc + DESC_SIZE); // pages
}

/** The loader routine may clobber any allocatable register: every value is in its slot. */
export function memoryGrow(be: A64Backend, dst: number, delta: number, desc: number): void {
  const b = be.buf;
  ldstAt(b, MemOp.LDR_W, 0, FP, delta);
  a.movConst(b, 8, 2, desc, 0); // which memory grows
  callStub(be, be.out.stubs.grow);
  if (dst !== 0) a.movRR(b, 4, dst, 0);
}

/**
 * Loads zext(the i32 at fp + `at`) into `reg` and checks value + x2 ≤ memory size in bytes (x17
 * receives the size), trapping "out of bounds memory access" before anything is written.
 */
function boundsCheck(be: A64Backend, at: number, reg: number, desc: number): void {
  const b = be.buf;
  ldstAt(b, MemOp.LDR_W, reg, FP, at);
  a.addSubReg(b, AddSub.ADD, 8, SCRATCH, reg, 2);
  ldstAt(b, MemOp.LDR_W, SCRATCH2, VMCTX_REG, desc + DESC_SIZE); // pages
  a.lslImm(b, 8, SCRATCH2, SCRATCH2, 16);
  a.addSubReg(b, AddSub.SUBS, 8, ZR, SCRATCH, SCRATCH2);
  trapIf(be, Cond.HI, Trap.OutOfBoundsMemory);
}

/** memory.copy d s n (i32 slots at fp + d, s, n), a byte at a time; backwards when the ranges overlap so. */
export function memoryCopy(be: A64Backend, d: number, s: number, n: number, desc: number): void {
  const b = be.buf;
  ldstAt(b, MemOp.LDR_W, 2, FP, n);
  boundsCheck(be, d, 0, desc);
  boundsCheck(be, s, 1, desc);
  a.addSubReg(b, AddSub.ADD, 8, 0, MEM_BASE, 0);
  a.addSubReg(b, AddSub.ADD, 8, 1, MEM_BASE, 1);
  const empty = a.cbz(b, 8, 2);
  // overlapping with the destination above: copy from the end, backwards
  a.addSubReg(b, AddSub.SUBS, 8, ZR, 0, 1);
  const backward = a.branchCond(b, Cond.HI);
  const fwd = b.pos;
  a.ldstIndexed(b, MemOp.LDRB, 3, 1, 1, false);
  a.ldstIndexed(b, MemOp.STRB, 3, 0, 1, false);
  a.addSubImm(b, AddSub.SUBS, 8, 2, 2, 1);
  a.patchBranch(b, a.branchCond(b, Cond.NE), fwd);
  const done = a.branch(b);
  a.patchBranch(b, backward, b.pos);
  a.addSubReg(b, AddSub.ADD, 8, 0, 0, 2);
  a.addSubReg(b, AddSub.ADD, 8, 1, 1, 2);
  const bwd = b.pos;
  a.ldstIndexed(b, MemOp.LDRB, 3, 1, -1, true);
  a.ldstIndexed(b, MemOp.STRB, 3, 0, -1, true);
  a.addSubImm(b, AddSub.SUBS, 8, 2, 2, 1);
  a.patchBranch(b, a.branchCond(b, Cond.NE), bwd);
  a.patchBranch(b, empty, b.pos);
  a.patchBranch(b, done, b.pos);
}

/** memory.fill d val n (i32 slots). */
export function memoryFill(be: A64Backend, d: number, val: number, n: number, desc: number): void {
  const b = be.buf;
  ldstAt(b, MemOp.LDR_W, 2, FP, n);
  boundsCheck(be, d, 0, desc);
  ldstAt(b, MemOp.LDR_W, 3, FP, val);
  a.addSubReg(b, AddSub.ADD, 8, 0, MEM_BASE, 0);
  const empty = a.cbz(b, 8, 2);
  const loop = b.pos;
  a.ldstIndexed(b, MemOp.STRB, 3, 0, 1, false);
  a.addSubImm(b, AddSub.SUBS, 8, 2, 2, 1);
  a.patchBranch(b, a.branchCond(b, Cond.NE), loop);
  a.patchBranch(b, empty, b.pos);
}

/**
 * memory.init d s n from the data segment whose state is the vmctx word at `state` (low u32:
 * current length, high u32: text offset of its bytes).
 */
export function memoryInit(be: A64Backend, d: number, s: number, n: number, desc: number, state: number): void {
  const b = be.buf;
  ldstAt(b, MemOp.LDR_W, 2, FP, n);
  // s + n ≤ the segment's current length (64-bit sums: no wrap)
  ldstAt(b, MemOp.LDR_W, 1, FP, s);
  a.addSubReg(b, AddSub.ADD, 8, SCRATCH, 1, 2);
  ldstAt(b, MemOp.LDR_W, SCRATCH2, VMCTX_REG, state);
  a.addSubReg(b, AddSub.SUBS, 8, ZR, SCRATCH, SCRATCH2);
  trapIf(be, Cond.HI, Trap.OutOfBoundsMemory);
  boundsCheck(be, d, 0, desc);
  ldstAt(b, MemOp.LDR_W, SCRATCH2, VMCTX_REG, state + 4);
  ldstAt(b, MemOp.LDR_X, SCRATCH, VMCTX_REG, TEXT_BASE);
  a.addSubReg(b, AddSub.ADD, 8, 1, 1, SCRATCH2);
  a.addSubReg(b, AddSub.ADD, 8, 1, 1, SCRATCH);
  a.addSubReg(b, AddSub.ADD, 8, 0, MEM_BASE, 0);
  const empty = a.cbz(b, 8, 2);
  const loop = b.pos;
  a.ldstIndexed(b, MemOp.LDRB, 3, 1, 1, false);
  a.ldstIndexed(b, MemOp.STRB, 3, 0, 1, false);
  a.addSubImm(b, AddSub.SUBS, 8, 2, 2, 1);
  a.patchBranch(b, a.branchCond(b, Cond.NE), loop);
  a.patchBranch(b, empty, b.pos);
}

/** data.drop: the segment's current length becomes 0 (its text offset stays, unused). */
export function dataDrop(be: A64Backend, state: number): void {
  ldstAt(be.buf, MemOp.STR_W, ZR, VMCTX_REG, state);
}
