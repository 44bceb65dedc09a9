import { Base, OperandKind, type CodeBuffer, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Extend, FUnary, MemOp } from './encode';
import { ADDR, FP, SCRATCH, VMCTX_REG, ZR } from './regs';
import { vmov } from './encode/neon';
import { loadConstV128 } from './simd';
import type { A64Backend } from './backend';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b, FUNCREF = 0x70, EXTERNREF = 0x6f;

/**
 * Values between registers, constants and slots (frame slots and vmctx globals): the moves the
 * code generator asks for (mirrors packages/x86-64/src/move.ts). i32/f32 take a slot's low half;
 * 32-bit results zero the upper half of an x register, so i32 registers stay zero-extended.
 */

export function isFloat(t: number): boolean {
  return t === F32 || t === F64;
}

/** Operand size in bytes of a type's register form. */
export function width(type: number): number {
  return type === I32 || type === F32 ? 4 : 8;
}

export function loadOp(type: number): MemOp {
  switch (type) {
    case I32: return MemOp.LDR_W;
    case I64: case FUNCREF: case EXTERNREF: return MemOp.LDR_X; // references are 64-bit words
    case F32: return MemOp.LDR_S;
    case V128: return MemOp.LDR_Q;
    default: return MemOp.LDR_D;
  }
}

export function storeOp(type: number): MemOp {
  switch (type) {
    case I32: return MemOp.STR_W;
    case I64: case FUNCREF: case EXTERNREF: return MemOp.STR_X;
    case F32: return MemOp.STR_S;
    case V128: return MemOp.STR_Q;
    default: return MemOp.STR_D;
  }
}

/** A load or store of `op` at [base + off] for any off: through ADDR when no form fits. */
export function ldstAt(b: CodeBuffer, op: MemOp, rt: number, base: number, off: number): void {
  if (a.fitsLdst(op, off)) a.ldst(b, op, rt, base, off);
  else if (off < 0 && a.fitsAddSubImm(-off & ~0xfff) && a.fitsAddSubImm(-off & 0xfff)) {
    // sub ADDR, base, #hi; then the low part as a negative unscaled or a second sub
    const n = -off;
    a.addSubImm(b, AddSub.SUB, 8, ADDR, base, n & ~0xfff);
    if ((n & 0xfff) === 0) a.ldst(b, op, rt, ADDR, 0);
    else if (a.fitsLdstUnscaled(-(n & 0xfff))) a.ldst(b, op, rt, ADDR, -(n & 0xfff));
    else {
      a.addSubImm(b, AddSub.SUB, 8, ADDR, ADDR, n & 0xfff);
      a.ldst(b, op, rt, ADDR, 0);
    }
  } else {
    a.movConst(b, 8, ADDR, off | 0, off < 0 ? -1 : Math.floor(off / 4294967296));
    a.ldstReg(b, op, rt, base, ADDR, Extend.UXTX);
  }
}

/** rd ← constant (lo, hi) of type t (float constants through SCRATCH, or fmov #imm). */
export function movConstTyped(b: CodeBuffer, t: number, dst: number, lo: number, hi: number): void {
  if (!isFloat(t)) {
    a.movConst(b, width(t), dst, lo, hi);
    return;
  }
  const sz = width(t);
  if (lo === 0 && (sz === 4 || hi === 0)) {
    a.fmovToFp(b, sz, dst, ZR);
    return;
  }
  const imm = a.encodeFpImm(sz, lo, hi);
  if (imm >= 0) a.fmovImm(b, sz, dst, imm);
  else {
    a.movConst(b, sz, SCRATCH, lo, hi);
    a.fmovToFp(b, sz, dst, SCRATCH);
  }
}

/** Materialises a flags value (condition code `cc` for "true") as 0/1 in `dst`. */
export function setFromFlags(b: CodeBuffer, cc: number, dst: number): void {
  a.cset(b, 4, dst, cc);
}

export function fmovRR(b: CodeBuffer, dst: number, src: number): void {
  a.funary(b, FUnary.FMOV, 8, dst, src);
}

export function baseReg(base: Base): number {
  return base === Base.Frame ? FP : VMCTX_REG;
}

export function loadConst(be: A64Backend, type: number, dst: number, lo: number, hi: number): void {
  movConstTyped(be.buf, type, dst, lo, hi);
}

export function loadSlot(be: A64Backend, type: number, dst: number, base: Base, offset: number): void {
  ldstAt(be.buf, loadOp(type), dst, baseReg(base), offset);
}

/** 8 bytes for i64/f64 and references, 4 for i32/f32 (the slot's low half). */
export function storeSlot(be: A64Backend, type: number, base: Base, offset: number, src: number): void {
  ldstAt(be.buf, storeOp(type), src, baseReg(base), offset);
}

/** Zero is a store of xzr/wzr; anything else goes through x16. */
export function storeSlotConst(be: A64Backend, type: number, base: Base, offset: number, lo: number, hi: number): void {
  const b = be.buf;
  const w = width(type);
  const op = w === 4 ? MemOp.STR_W : MemOp.STR_X;
  if (lo === 0 && (w === 4 || hi === 0)) ldstAt(b, op, ZR, baseReg(base), offset);
  else {
    a.movConst(b, w, SCRATCH, lo, hi);
    ldstAt(b, op, SCRATCH, baseReg(base), offset);
  }
}

export function copySlot(be: A64Backend, base: Base, offset: number, from: number): void {
  ldstAt(be.buf, MemOp.LDR_X, SCRATCH, FP, from);
  ldstAt(be.buf, MemOp.STR_X, SCRATCH, baseReg(base), offset);
}

export function setFromCond(be: A64Backend, cc: number, dst: number): void {
  setFromFlags(be.buf, cc, dst);
}

export function storeSlotCond(be: A64Backend, cc: number, base: Base, offset: number): void {
  setFromFlags(be.buf, cc, SCRATCH);
  ldstAt(be.buf, MemOp.STR_W, SCRATCH, baseReg(base), offset);
}

export function move(be: A64Backend, type: number, dst: number, src: number): void {
  if (type === V128) vmov(be.buf, dst, src);
  else if (isFloat(type)) fmovRR(be.buf, dst, src);
  else a.movRR(be.buf, 8, dst, src);
}

/** Operand `op` into register `dst` of its class (a scratch register, typically). */
export function loadOperand(be: A64Backend, op: Operand, dst: number): void {
  switch (op.kind) {
    case OperandKind.Imm:
      if (op.type === V128) loadConstV128(be, dst, op.lo, op.hi, op.lo2, op.hi2);
      else movConstTyped(be.buf, op.type, dst, op.lo, op.hi);
      break;
    case OperandKind.Slot: ldstAt(be.buf, loadOp(op.type), dst, FP, op.offset); break;
    default: if (op.reg !== dst) move(be, op.type, dst, op.reg);
  }
}

/**
 * A register holding integer operand `op` for reading: its own, xzr for the constant 0, else `tmp`
 * loaded with it.
 */
export function intOperand(be: A64Backend, w: number, op: Operand, tmp: number): number {
  if (op.kind === OperandKind.Reg) return op.reg;
  if (op.kind === OperandKind.Imm && op.lo === 0 && (w === 4 || op.hi === 0)) return ZR;
  loadOperand(be, op, tmp);
  return tmp;
}

/** A register holding float operand `op` for reading: its own, else `tmp` loaded with it. */
export function floatOperand(be: A64Backend, op: Operand, tmp: number): number {
  if (op.kind === OperandKind.Reg) return op.reg;
  loadOperand(be, op, tmp);
  return tmp;
}
