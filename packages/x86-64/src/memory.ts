import { DESC, Form, OperandKind, Trap, VMCTX, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Index, ExtKind, Alu, Cond } from './encode';
import { FP, MEM_BASE, SCRATCH, SCRATCH2, VMCTX_REG } from './regs';
import { fitsImm32, isFloat } from './move';
import { trapIf } from './frame';
import { callStub } from './call';
import type { X64Backend } from './backend';

/**
 * Linear memory. An access has no bounds check (ARCHITECTURE §4): its
 * address is r15 + zext(addr) + offset, and anything outside the accessible pages faults in the
 * guard reservation. memory.copy/fill/init check their ranges, and trap before writing.
 */

const DESC_SIZE = DESC.size, TEXT_BASE = VMCTX.textBase;

/** A load's address may be an immediate; its result never shares the address register. */
export function loadForm(): number {
  return Form.AImm | Form.Fresh;
}

/** A store's address and value may be immediates. */
export function storeForm(): number {
  return Form.AImm | Form.BImm | Form.NoResult;
}

/**
 * The index register (or Index.None) and displacement of the last `memAddress`: one record made
 * once and reused, no object or tuple per access (simd.ts reads it too).
 */
export const ea = { index: 0, disp: 0 };

/** The address r15 + zext(a) + offset as an index and a disp32 (in `ea`): through rax when they do not fit. */
export function memAddress(be: X64Backend, a: Operand, offset: number): void {
  const b = be.buf;
  if (a.kind === OperandKind.Imm) {
    const addr = (a.lo >>> 0) + offset;
    if (addr <= 0x7fffffff) {
      ea.index = Index.None;
      ea.disp = addr;
      return;
    }
    x.movRI64(b, SCRATCH, addr | 0, Math.floor(addr / 4294967296));
  } else {
    // i32 registers are zero-extended
    if (offset <= 0x7fffffff) {
      ea.index = a.reg;
      ea.disp = offset;
      return;
    }
    x.movRI32(b, 4, SCRATCH, offset | 0);
    x.aluRR(b, Alu.ADD, 8, SCRATCH, a.reg);
  }
  ea.index = SCRATCH;
  ea.disp = 0;
}

/** The zero- or sign-extending load of `bytes` into a `type` register (i64.load32_u is a 32-bit mov). */
function extKind(type: number, bytes: number, signed: boolean): number {
  const w64 = type === 0x7e;
  if (bytes === 1) return signed ? (w64 ? ExtKind.S8_64 : ExtKind.S8_32) : ExtKind.U8_32;
  if (bytes === 2) return signed ? (w64 ? ExtKind.S16_64 : ExtKind.S16_32) : ExtKind.U16_32;
  return ExtKind.S32_64;
}

export function memLoad(be: X64Backend, type: number, bytes: number, signed: boolean, dst: number, addr: Operand, offset: number): void {
  const b = be.buf;
  memAddress(be, addr, offset);
  if (isFloat(type)) x.fload(b, bytes, dst, MEM_BASE, ea.index, 1, ea.disp);
  else if (bytes === 8 || (bytes === 4 && !(signed && type === 0x7e))) x.load(b, bytes, dst, MEM_BASE, ea.index, 1, ea.disp);
  else x.loadExt(b, extKind(type, bytes, signed), dst, MEM_BASE, ea.index, 1, ea.disp);
}

/**
 * A constant value is an immediate when it fits one (a float's bits too), else it goes through
 * rcx (forming the address may take rax).
 */
export function memStore(be: X64Backend, type: number, bytes: number, addr: Operand, offset: number, value: Operand): void {
  const b = be.buf;
  let src = value.reg;
  // the bits of a constant are stored as an integer, a float's too
  let gpr = !isFloat(type);
  const imm = value.kind === OperandKind.Imm && (bytes < 8 || fitsImm32(value.lo, value.hi));
  if (value.kind === OperandKind.Imm && !imm) {
    x.movRI64(b, SCRATCH2, value.lo, value.hi);
    src = SCRATCH2;
    gpr = true;
  }
  memAddress(be, addr, offset);
  if (imm) x.storeImm(b, bytes, MEM_BASE, ea.index, 1, ea.disp, bytes === 1 ? value.lo & 0xff : bytes === 2 ? value.lo & 0xffff : value.lo);
  else if (gpr) x.store(b, bytes, MEM_BASE, ea.index, 1, ea.disp, src);
  else x.fstore(b, bytes, MEM_BASE, ea.index, 1, ea.disp, src);
}

export function memorySize(be: X64Backend, dst: number, desc: number): void {
  x.load(be.buf, 4, dst, VMCTX_REG, Index.None, 1, desc + DESC_SIZE); // pages
}

/** The loader routine may clobber any allocatable register: every value is in its slot. */
export function memoryGrow(be: X64Backend, dst: number, delta: number, desc: number): void {
  const b = be.buf;
  x.load(b, 4, Reg.RDI, FP, Index.None, 1, delta);
  x.movRI32(b, 4, Reg.RDX, desc); // which memory grows
  callStub(be, be.out.stubs.grow);
  x.movRR(b, 4, dst, Reg.RAX);
}

/**
 * Loads zext(the i32 at fp + `at`) into `reg` and checks value + zext(n) ≤ memory size in bytes
 * (rdx holds n, rax is scratch), trapping "out of bounds memory access" before anything is written.
 */
function boundsCheck(be: X64Backend, at: number, reg: number, desc: number): void {
  const b = be.buf;
  x.load(b, 4, reg, FP, Index.None, 1, at);
  x.lea(b, 8, Reg.RAX, reg, Reg.RDX, 1, 0);
  x.load(b, 4, Reg.R8, VMCTX_REG, Index.None, 1, desc + DESC_SIZE); // pages
  x.shiftRI(b, x.Shift.SHL, 8, Reg.R8, 16);
  x.aluRR(b, Alu.CMP, 8, Reg.RAX, Reg.R8);
  trapIf(be, Cond.A, Trap.OutOfBoundsMemory);
}

/** memory.copy d s n (i32 slots at fp + d, s, n): rep movsb, backwards when the ranges overlap so. */
export function memoryCopy(be: X64Backend, d: number, s: number, n: number, desc: number): void {
  const b = be.buf;
  x.load(b, 4, Reg.RDX, FP, Index.None, 1, n);
  boundsCheck(be, d, Reg.RDI, desc);
  boundsCheck(be, s, Reg.RSI, desc);
  x.movRR(b, 8, Reg.RCX, Reg.RDX);
  x.aluRR(b, Alu.ADD, 8, Reg.RDI, MEM_BASE);
  x.aluRR(b, Alu.ADD, 8, Reg.RSI, MEM_BASE);
  // overlapping with the destination above: copy from the end, backwards
  x.aluRR(b, Alu.CMP, 8, Reg.RDI, Reg.RSI);
  const forward = x.jccRel32(b, Cond.BE);
  x.lea(b, 8, Reg.RDI, Reg.RDI, Reg.RCX, 1, -1);
  x.lea(b, 8, Reg.RSI, Reg.RSI, Reg.RCX, 1, -1);
  x.std(b);
  x.repMovsb(b);
  x.cld(b);
  const done = x.jmpRel32(b);
  x.patchRel32(b, forward, b.pos);
  x.repMovsb(b);
  x.patchRel32(b, done, b.pos);
}

/** memory.fill d val n (i32 slots): rep stosb. */
export function memoryFill(be: X64Backend, d: number, val: number, n: number, desc: number): void {
  const b = be.buf;
  x.load(b, 4, Reg.RDX, FP, Index.None, 1, n);
  boundsCheck(be, d, Reg.RDI, desc);
  x.movRR(b, 8, Reg.RCX, Reg.RDX);
  x.aluRR(b, Alu.ADD, 8, Reg.RDI, MEM_BASE);
  x.load(b, 4, Reg.RAX, FP, Index.None, 1, val);
  x.repStosb(b);
}

/**
 * memory.init d s n from the data segment whose state is the vmctx word at `state` (low u32:
 * current length, high u32: text offset of its bytes).
 */
export function memoryInit(be: X64Backend, d: number, s: number, n: number, desc: number, state: number): void {
  const b = be.buf;
  x.load(b, 4, Reg.RDX, FP, Index.None, 1, n);
  // s + n ≤ the segment's current length (64-bit sums: no wrap)
  x.load(b, 4, Reg.RSI, FP, Index.None, 1, s);
  x.lea(b, 8, Reg.RAX, Reg.RSI, Reg.RDX, 1, 0);
  x.load(b, 4, Reg.R8, VMCTX_REG, Index.None, 1, state);
  x.aluRR(b, Alu.CMP, 8, Reg.RAX, Reg.R8);
  trapIf(be, Cond.A, Trap.OutOfBoundsMemory);
  boundsCheck(be, d, Reg.RDI, desc);
  x.load(b, 4, Reg.RCX, VMCTX_REG, Index.None, 1, state + 4);
  x.aluRR(b, Alu.ADD, 8, Reg.RSI, Reg.RCX);
  x.aluRM(b, Alu.ADD, 8, Reg.RSI, VMCTX_REG, Index.None, 1, TEXT_BASE);
  x.movRR(b, 8, Reg.RCX, Reg.RDX);
  x.aluRR(b, Alu.ADD, 8, Reg.RDI, MEM_BASE);
  x.repMovsb(b);
}

/** data.drop: the segment's current length becomes 0 (its text offset stays, unused). */
export function dataDrop(be: X64Backend, state: number): void {
  x.storeImm(be.buf, 4, VMCTX_REG, Index.None, 1, state, 0);
}

