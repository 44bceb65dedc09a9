import { Loc, DESC, Trap, VMCTX, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, NO_INDEX, ExtKind, Alu, Cond } from './encode';
import { callStub, trapIf } from './frame';
import { FP, MEM_BASE, SCRATCH, VMCTX_REG } from './regs';
import { fitsImm32, globalOffset } from './move';
import { leaFrameBottom } from './frame';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

/**
 * Linear memory has no bounds checks (DESIGN §4): the effective address is
 * r15 + zext(addr) + offset, and anything outside the accessible pages faults in the guard
 * reservation. Returns the index register (or NO_INDEX) and the displacement to use with r15.
 */
function address(fc: FunctionCompiler, i: number, offset: number): [number, number] {
  const b = fc.out.buf;
  const s = fc.stack;
  if (s.loc[i] === Loc.Const) {
    const ea = (s.lo[i] >>> 0) + offset;
    if (ea <= 0x7fffffff) return [NO_INDEX, ea];
    x.movRI64(b, SCRATCH, ea | 0, Math.floor(ea / 4294967296));
    return [SCRATCH, 0];
  }
  const r = fc.regOf(i); // i32 registers are zero-extended
  if (offset <= 0x7fffffff) return [r, offset];
  x.movRI32(b, 4, SCRATCH, offset | 0);
  x.aluRR(b, Alu.ADD, 8, SCRATCH, r);
  return [SCRATCH, 0];
}

export function load(fc: FunctionCompiler, op: number, i: number, offset: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const [index, disp] = address(fc, i, offset);
  fc.release(i);
  const out = loadType(op);
  const dst = fc.allocReg(out);
  switch (op) {
    case 0x28: x.load(b, 4, dst, MEM_BASE, index, 1, disp); break;
    case 0x29: x.load(b, 8, dst, MEM_BASE, index, 1, disp); break;
    case 0x2a: x.fload(b, 4, dst, MEM_BASE, index, 1, disp); break;
    case 0x2b: x.fload(b, 8, dst, MEM_BASE, index, 1, disp); break;
    case 0x2c: x.loadExt(b, ExtKind.S8_32, dst, MEM_BASE, index, 1, disp); break;
    case 0x2d: case 0x31: x.loadExt(b, ExtKind.U8_32, dst, MEM_BASE, index, 1, disp); break;
    case 0x2e: x.loadExt(b, ExtKind.S16_32, dst, MEM_BASE, index, 1, disp); break;
    case 0x2f: case 0x33: x.loadExt(b, ExtKind.U16_32, dst, MEM_BASE, index, 1, disp); break;
    case 0x30: x.loadExt(b, ExtKind.S8_64, dst, MEM_BASE, index, 1, disp); break;
    case 0x32: x.loadExt(b, ExtKind.S16_64, dst, MEM_BASE, index, 1, disp); break;
    case 0x34: x.loadExt(b, ExtKind.S32_64, dst, MEM_BASE, index, 1, disp); break;
    case 0x35: x.load(b, 4, dst, MEM_BASE, index, 1, disp); break;
  }
  s.type[i] = out;
  s.setReg(i, dst);
}

function loadType(op: number): number {
  if (op === 0x2a) return F32;
  if (op === 0x2b) return F64;
  if (op === 0x28 || (op >= 0x2c && op <= 0x2f)) return I32;
  return I64;
}

const STORE_WIDTH: Record<number, number> = {
  0x36: 4, 0x37: 8, 0x38: 4, 0x39: 8, 0x3a: 1, 0x3b: 2, 0x3c: 1, 0x3d: 2, 0x3e: 4,
};

export function store(fc: FunctionCompiler, op: number, i: number, offset: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const v = i + 1;
  const w = STORE_WIDTH[op];
  const float = op === 0x38 || op === 0x39;
  // the value first: address() may take the scratch register
  let src = -1;
  let imm = false;
  if (s.loc[v] === Loc.Const && !float && (w < 8 || fitsImm32(s.lo[v], s.hi[v]))) imm = true;
  else src = fc.regOf(v);
  const [index, disp] = address(fc, i, offset);
  if (imm) x.storeImm(b, w, MEM_BASE, index, 1, disp, w === 1 ? s.lo[v] & 0xff : w === 2 ? s.lo[v] & 0xffff : s.lo[v]);
  else if (float) x.fstore(b, w, MEM_BASE, index, 1, disp, src);
  else x.store(b, w, MEM_BASE, index, 1, disp, src);
  fc.release(i);
  fc.release(v);
}

export function memorySize(fc: FunctionCompiler, i: number): void {
  const r = fc.allocReg(I32);
  x.load(fc.out.buf, 4, r, VMCTX_REG, NO_INDEX, 1, fc.env.memoryDesc + DESC.size); // pages
  fc.stack.setReg(i, r);
}

/** Every value is in memory; the loader routine may clobber any allocatable register. */
export function memoryGrow(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  // value i sits in its home slot (spilled by the caller)
  x.load(b, 4, Reg.RDI, FP, NO_INDEX, 1, fc.homeOffset(i));
  x.movRI32(b, 4, Reg.RDX, fc.env.memoryDesc); // which memory grows
  callStub(fc, fc.env.stubs.grow);
  void leaFrameBottom;
  const r = fc.allocReg(I32);
  x.movRR(b, 4, r, Reg.RAX);
  fc.stack.setReg(i, r);
}

/**
 * Loads zext(value at home of `i`) into `reg` and checks value + zext(n) ≤ memory size in bytes
 * (rdx holds n, rax is scratch), trapping "out of bounds memory access" before anything is written.
 */
function boundsCheck(fc: FunctionCompiler, i: number, reg: number): void {
  const b = fc.out.buf;
  x.load(b, 4, reg, FP, NO_INDEX, 1, fc.homeOffset(i));
  x.lea(b, 8, Reg.RAX, reg, Reg.RDX, 1, 0);
  x.load(b, 4, Reg.R8, VMCTX_REG, NO_INDEX, 1, fc.env.memoryDesc + DESC.size); // pages
  x.shiftRI(b, x.Shift.SHL, 8, Reg.R8, 16);
  x.aluRR(b, Alu.CMP, 8, Reg.RAX, Reg.R8);
  trapIf(fc, Cond.A, Trap.OutOfBoundsMemory);
}

/** memory.copy d s n, values at i, i+1, i+2 in their home slots (spilled by the caller). */
export function memoryCopy(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  x.load(b, 4, Reg.RDX, FP, NO_INDEX, 1, fc.homeOffset(i + 2));
  boundsCheck(fc, i, Reg.RDI);
  boundsCheck(fc, i + 1, Reg.RSI);
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

/** memory.fill d val n, values at i, i+1, i+2 in their home slots (spilled by the caller). */
export function memoryFill(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  x.load(b, 4, Reg.RDX, FP, NO_INDEX, 1, fc.homeOffset(i + 2));
  boundsCheck(fc, i, Reg.RDI);
  x.movRR(b, 8, Reg.RCX, Reg.RDX);
  x.aluRR(b, Alu.ADD, 8, Reg.RDI, MEM_BASE);
  x.load(b, 4, Reg.RAX, FP, NO_INDEX, 1, fc.homeOffset(i + 1));
  x.repStosb(b);
}

/**
 * memory.init d s n from the data segment whose state is global `slot` (low u32: current length,
 * high u32: text offset of its bytes); values at i, i+1, i+2 in their home slots.
 */
export function memoryInit(fc: FunctionCompiler, i: number, slot: number): void {
  const b = fc.out.buf;
  const state = globalOffset(slot);
  x.load(b, 4, Reg.RDX, FP, NO_INDEX, 1, fc.homeOffset(i + 2));
  // s + n ≤ the segment's current length (64-bit sums: no wrap)
  x.load(b, 4, Reg.RSI, FP, NO_INDEX, 1, fc.homeOffset(i + 1));
  x.lea(b, 8, Reg.RAX, Reg.RSI, Reg.RDX, 1, 0);
  x.load(b, 4, Reg.R8, VMCTX_REG, NO_INDEX, 1, state);
  x.aluRR(b, Alu.CMP, 8, Reg.RAX, Reg.R8);
  trapIf(fc, Cond.A, Trap.OutOfBoundsMemory);
  boundsCheck(fc, i, Reg.RDI);
  x.load(b, 4, Reg.RCX, VMCTX_REG, NO_INDEX, 1, state + 4);
  x.aluRR(b, Alu.ADD, 8, Reg.RSI, Reg.RCX);
  x.aluRM(b, Alu.ADD, 8, Reg.RSI, VMCTX_REG, NO_INDEX, 1, VMCTX.textBase);
  x.movRR(b, 8, Reg.RCX, Reg.RDX);
  x.aluRR(b, Alu.ADD, 8, Reg.RDI, MEM_BASE);
  x.repMovsb(b);
}

/** data.drop: the segment's current length becomes 0 (its text offset stays, unused). */
export function dataDrop(fc: FunctionCompiler, slot: number): void {
  x.storeImm(fc.out.buf, 4, VMCTX_REG, NO_INDEX, 1, globalOffset(slot), 0);
}
