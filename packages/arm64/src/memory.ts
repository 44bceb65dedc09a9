import { Loc, Trap, VMCTX, isFloat, type FunctionCompiler } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, MemOp } from './encode';
import { ADDR, FP, MEM_BASE, SCRATCH, SCRATCH2, VMCTX_REG, ZR } from './regs';
import { globalOffset, ldstAt } from './move';
import { callStub, trapIf } from './frame';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

const LOAD_OP: Record<number, MemOp> = {
  0x28: MemOp.LDR_W, 0x29: MemOp.LDR_X, 0x2a: MemOp.LDR_S, 0x2b: MemOp.LDR_D,
  0x2c: MemOp.LDRSB_W, 0x2d: MemOp.LDRB, 0x2e: MemOp.LDRSH_W, 0x2f: MemOp.LDRH,
  0x30: MemOp.LDRSB_X, 0x31: MemOp.LDRB, 0x32: MemOp.LDRSH_X, 0x33: MemOp.LDRH,
  0x34: MemOp.LDRSW, 0x35: MemOp.LDR_W,
};
const STORE_OP: Record<number, MemOp> = {
  0x36: MemOp.STR_W, 0x37: MemOp.STR_X, 0x38: MemOp.STR_S, 0x39: MemOp.STR_D,
  0x3a: MemOp.STRB, 0x3b: MemOp.STRH, 0x3c: MemOp.STRB, 0x3d: MemOp.STRH, 0x3e: MemOp.STR_W,
};

/**
 * The access `op` of register rt at x27 + zext(value i) + offset (DESIGN §4: no bounds checks;
 * the guard reservation catches anything outside the accessible pages). Uses ADDR.
 */
function access(fc: FunctionCompiler, op: MemOp, rt: number, i: number, offset: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  if (s.loc[i] === Loc.Const) {
    const ea = (s.lo[i] >>> 0) + offset; // < 2^33
    if (a.fitsLdst(op, ea)) a.ldst(b, op, rt, MEM_BASE, ea);
    else {
      a.movConst(b, 8, ADDR, ea | 0, Math.floor(ea / 4294967296));
      a.ldstReg(b, op, rt, MEM_BASE, ADDR, Extend.UXTX);
    }
    return;
  }
  const r = fc.regOf(i);
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

function loadType(op: number): number {
  if (op === 0x2a) return F32;
  if (op === 0x2b) return F64;
  if (op === 0x28 || (op >= 0x2c && op <= 0x2f)) return I32;
  return I64;
}

export function load(fc: FunctionCompiler, op: number, i: number, offset: number): void {
  const s = fc.stack;
  const out = loadType(op);
  // the address register stays allocated until the access is emitted
  const dst = fc.allocReg(out);
  access(fc, LOAD_OP[op], dst, i, offset);
  fc.release(i);
  s.type[i] = out;
  s.setReg(i, dst);
}

export function store(fc: FunctionCompiler, op: number, i: number, offset: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const v = i + 1;
  let src: number;
  if (s.loc[v] === Loc.Const && s.lo[v] === 0 && (s.hi[v] === 0 || s.type[v] === I32 || s.type[v] === F32)) src = ZR;
  else if (s.loc[v] === Loc.Const && !isFloat(s.type[v])) {
    src = SCRATCH;
    a.movConst(b, s.type[v] === I32 ? 4 : 8, SCRATCH, s.lo[v], s.hi[v]);
  } else src = fc.regOf(v);
  let sop = STORE_OP[op];
  if (src === ZR && (op === 0x38 || op === 0x39)) sop = op === 0x38 ? MemOp.STR_W : MemOp.STR_X; // +0.0 as bits
  access(fc, sop, src, i, offset);
  fc.release(i);
  fc.release(v);
}

export function memorySize(fc: FunctionCompiler, i: number): void {
  const r = fc.allocReg(I32);
  ldstAt(fc.out.buf, MemOp.LDR_W, r, VMCTX_REG, fc.env.memoryDesc + 8); // pages
  fc.stack.setReg(i, r);
}

/** Every value is in memory; the loader routine may clobber any allocatable register. */
export function memoryGrow(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  ldstAt(b, MemOp.LDR_W, 0, FP, fc.homeOffset(i));
  a.movConst(b, 8, 2, fc.env.memoryDesc, 0); // which memory grows
  callStub(fc, fc.env.stubs.grow);
  const r = fc.allocReg(I32);
  if (r !== 0) a.movRR(b, 4, r, 0);
  fc.stack.setReg(i, r);
}

/**
 * Loads zext(value at the home of `i`) into `reg` and checks value + x2 ≤ memory size in bytes
 * (x17 receives the size), trapping "out of bounds memory access" before anything is written.
 */
function boundsCheck(fc: FunctionCompiler, i: number, reg: number): void {
  const b = fc.out.buf;
  ldstAt(b, MemOp.LDR_W, reg, FP, fc.homeOffset(i));
  a.addSubReg(b, AddSub.ADD, 8, SCRATCH, reg, 2);
  ldstAt(b, MemOp.LDR_W, SCRATCH2, VMCTX_REG, fc.env.memoryDesc + 8); // pages
  a.lslImm(b, 8, SCRATCH2, SCRATCH2, 16);
  a.addSubReg(b, AddSub.SUBS, 8, ZR, SCRATCH, SCRATCH2);
  trapIf(fc, Cond.HI, Trap.OutOfBoundsMemory);
}

/** memory.copy d s n, values at i, i+1, i+2 in their home slots (spilled by the caller). */
export function memoryCopy(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  ldstAt(b, MemOp.LDR_W, 2, FP, fc.homeOffset(i + 2));
  boundsCheck(fc, i, 0);
  boundsCheck(fc, i + 1, 1);
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

/** memory.fill d val n, values at i, i+1, i+2 in their home slots (spilled by the caller). */
export function memoryFill(fc: FunctionCompiler, i: number): void {
  const b = fc.out.buf;
  ldstAt(b, MemOp.LDR_W, 2, FP, fc.homeOffset(i + 2));
  boundsCheck(fc, i, 0);
  ldstAt(b, MemOp.LDR_W, 3, FP, fc.homeOffset(i + 1));
  a.addSubReg(b, AddSub.ADD, 8, 0, MEM_BASE, 0);
  const empty = a.cbz(b, 8, 2);
  const loop = b.pos;
  a.ldstIndexed(b, MemOp.STRB, 3, 0, 1, false);
  a.addSubImm(b, AddSub.SUBS, 8, 2, 2, 1);
  a.patchBranch(b, a.branchCond(b, Cond.NE), loop);
  a.patchBranch(b, empty, b.pos);
}

/**
 * memory.init d s n from the data segment whose state is global `slot` (low u32: current length,
 * high u32: text offset of its bytes); values at i, i+1, i+2 in their home slots.
 */
export function memoryInit(fc: FunctionCompiler, i: number, slot: number): void {
  const b = fc.out.buf;
  const state = globalOffset(slot);
  ldstAt(b, MemOp.LDR_W, 2, FP, fc.homeOffset(i + 2));
  // s + n ≤ the segment's current length (64-bit sums: no wrap)
  ldstAt(b, MemOp.LDR_W, 1, FP, fc.homeOffset(i + 1));
  a.addSubReg(b, AddSub.ADD, 8, SCRATCH, 1, 2);
  ldstAt(b, MemOp.LDR_W, SCRATCH2, VMCTX_REG, state);
  a.addSubReg(b, AddSub.SUBS, 8, ZR, SCRATCH, SCRATCH2);
  trapIf(fc, Cond.HI, Trap.OutOfBoundsMemory);
  boundsCheck(fc, i, 0);
  ldstAt(b, MemOp.LDR_W, SCRATCH2, VMCTX_REG, state + 4);
  ldstAt(b, MemOp.LDR_X, SCRATCH, VMCTX_REG, VMCTX.textBase);
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
export function dataDrop(fc: FunctionCompiler, slot: number): void {
  ldstAt(fc.out.buf, MemOp.STR_W, ZR, VMCTX_REG, globalOffset(slot));
}
