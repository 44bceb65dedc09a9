import { Base, OperandKind, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Index } from './encode';
import { FP, SCRATCH, VMCTX_REG } from './regs';
import { V, vopM } from './encode/vec';
import { loadConstV128 } from './simd';
import type { X64Backend } from './backend';

/**
 * Values between registers, constants and slots (frame slots and vmctx globals): the moves the
 * code generator asks for. i32 and f32 take the low 4 bytes of a slot; i32 registers are kept
 * zero-extended (every 32-bit instruction zeroes the upper half).
 */

const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;

export function isFloat(t: number): boolean {
  return t === F32 || t === F64;
}

/** Types held in xmm registers: f32, f64, v128. */
export function inXmm(t: number): boolean {
  return t === F32 || t === F64 || t === V128;
}

/** Bytes of a type's register form. */
export function width(type: number): number {
  return type === I32 || type === F32 ? 4 : 8;
}

/** True when a 64-bit constant given as halves fits a sign-extended imm32. */
export function fitsImm32(lo: number, hi: number): boolean {
  return hi === lo >> 31;
}

export function baseReg(base: Base): number {
  return base === Base.Frame ? FP : VMCTX_REG;
}

/** A float constant is `xorps` for +0, else a load from the constant pool. */
export function loadConst(be: X64Backend, type: number, dst: number, lo: number, hi: number): void {
  const b = be.buf;
  if (isFloat(type)) {
    if (lo === 0 && (type === F32 || hi === 0)) x.fbit(b, x.FBit.XOR, dst, dst);
    else be.pool.use(x.floadRip(b, width(type), dst), lo, type === F32 ? 0 : hi);
  } else if (type === I32) x.movRI32(b, 4, dst, lo);
  else x.movRI64(b, dst, lo, hi);
}

export function loadSlot(be: X64Backend, type: number, dst: number, base: Base, offset: number): void {
  if (type === V128) vopM(be.buf, V.MOVDQU_LOAD, dst, baseReg(base), Index.None, 1, offset);
  else if (isFloat(type)) x.fload(be.buf, width(type), dst, baseReg(base), Index.None, 1, offset);
  else x.load(be.buf, width(type), dst, baseReg(base), Index.None, 1, offset);
}

export function storeSlot(be: X64Backend, type: number, base: Base, offset: number, src: number): void {
  if (type === V128) vopM(be.buf, V.MOVDQU_STORE, src, baseReg(base), Index.None, 1, offset);
  else if (isFloat(type)) x.fstore(be.buf, width(type), baseReg(base), Index.None, 1, offset, src);
  else x.store(be.buf, width(type), baseReg(base), Index.None, 1, offset, src);
}

/** A 4-byte value, or an 8-byte one that fits a sign-extended imm32, is one `mov [m], imm`. */
export function storeSlotConst(be: X64Backend, type: number, base: Base, offset: number, lo: number, hi: number): void {
  const b = be.buf;
  const r = baseReg(base);
  if (type === I32 || type === F32) x.storeImm(b, 4, r, Index.None, 1, offset, lo);
  else if (fitsImm32(lo, hi)) x.storeImm(b, 8, r, Index.None, 1, offset, lo);
  else {
    x.movRI64(b, SCRATCH, lo, hi);
    x.store(b, 8, r, Index.None, 1, offset, SCRATCH);
  }
}

export function copySlot(be: X64Backend, base: Base, offset: number, from: number): void {
  x.load(be.buf, 8, SCRATCH, FP, Index.None, 1, from);
  x.store(be.buf, 8, baseReg(base), Index.None, 1, offset, SCRATCH);
}

export function setFromCond(be: X64Backend, cc: number, dst: number): void {
  x.setcc(be.buf, cc, dst);
  x.movzxRR8(be.buf, dst, dst);
}

export function storeSlotCond(be: X64Backend, cc: number, base: Base, offset: number): void {
  setFromCond(be, cc, SCRATCH);
  x.store(be.buf, 4, baseReg(base), Index.None, 1, offset, SCRATCH);
}

/** movaps copies all 128 bits: f32, f64 and v128 alike. */
export function move(be: X64Backend, type: number, dst: number, src: number): void {
  if (inXmm(type)) x.fmovRR(be.buf, dst, src);
  else x.movRR(be.buf, 8, dst, src);
}

/** Operand `a` into register `dst` of its class (a scratch register, typically). */
export function loadOperand(be: X64Backend, a: Operand, dst: number): void {
  switch (a.kind) {
    case OperandKind.Imm:
      if (a.type === V128) loadConstV128(be, dst, a.lo, a.hi, a.lo2, a.hi2);
      else loadConst(be, a.type, dst, a.lo, a.hi);
      break;
    case OperandKind.Slot: loadSlot(be, a.type, dst, Base.Frame, a.offset); break;
    default: if (a.reg !== dst) move(be, a.type, dst, a.reg);
  }
}
