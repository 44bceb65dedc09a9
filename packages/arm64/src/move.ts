import { Loc, isFloat, VMCTX, type FunctionCompiler, type CodeBuffer } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Extend, FUnary, MemOp } from './encode';
import { ADDR, FP, SCRATCH, VMCTX_REG, ZR } from './regs';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, FUNCREF = 0x70, EXTERNREF = 0x6f;

/** Operand size in bytes of a type's register form. */
export function width(type: number): number {
  return type === I32 || type === F32 ? 4 : 8;
}

export function loadOp(type: number): MemOp {
  switch (type) {
    case I32: return MemOp.LDR_W;
    case I64: case FUNCREF: case EXTERNREF: return MemOp.LDR_X; // references are 64-bit words
    case F32: return MemOp.LDR_S;
    default: return MemOp.LDR_D;
  }
}

export function storeOp(type: number): MemOp {
  switch (type) {
    case I32: return MemOp.STR_W;
    case I64: case FUNCREF: case EXTERNREF: return MemOp.STR_X;
    case F32: return MemOp.STR_S;
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

/**
 * Copies value `i` into register `dst` (of the value's class) without changing its entry. `dst`
 * may be a scratch register.
 */
export function copyToReg(fc: FunctionCompiler, i: number, dst: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const t = s.type[i];
  switch (s.loc[i]) {
    case Loc.Const:
      movConstTyped(b, t, dst, s.lo[i], s.hi[i]);
      break;
    case Loc.Mem:
      ldstAt(b, loadOp(t), dst, FP, fc.homeOffset(i));
      break;
    case Loc.Reg:
      if (s.reg[i] !== dst) {
        if (isFloat(t)) fmovRR(b, dst, s.reg[i]);
        else a.movRR(b, 8, dst, s.reg[i]);
      }
      break;
    case Loc.Flags:
      setFromFlags(b, s.reg[i], dst);
      break;
  }
}

/** Stores value `i` to [base + off]: 8 bytes for i64/f64, 4 for i32/f32 (the slot's low half). */
export function storeValue(fc: FunctionCompiler, i: number, base: number, off: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const t = s.type[i];
  switch (s.loc[i]) {
    case Loc.Const: {
      const w = width(t);
      const zero = s.lo[i] === 0 && (w === 4 || s.hi[i] === 0);
      if (zero) ldstAt(b, w === 4 ? MemOp.STR_W : MemOp.STR_X, ZR, base, off);
      else {
        a.movConst(b, w, SCRATCH, s.lo[i], s.hi[i]);
        ldstAt(b, w === 4 ? MemOp.STR_W : MemOp.STR_X, SCRATCH, base, off);
      }
      break;
    }
    case Loc.Reg:
      ldstAt(b, storeOp(t), s.reg[i], base, off);
      break;
    case Loc.Mem:
      ldstAt(b, MemOp.LDR_X, SCRATCH, FP, fc.homeOffset(i));
      ldstAt(b, MemOp.STR_X, SCRATCH, base, off);
      break;
    case Loc.Flags:
      setFromFlags(b, s.reg[i], SCRATCH);
      ldstAt(b, MemOp.STR_W, SCRATCH, base, off);
      break;
  }
}

export function storeHome(fc: FunctionCompiler, i: number, dstPos: number): void {
  const s = fc.stack;
  if (!(s.loc[i] === Loc.Mem && i === dstPos)) storeValue(fc, i, FP, fc.homeOffset(dstPos));
  if (i === dstPos) {
    fc.release(i);
    s.loc[i] = Loc.Mem;
  }
}

export function storeCopy(fc: FunctionCompiler, i: number, dstPos: number): void {
  if (!(fc.stack.loc[i] === Loc.Mem && i === dstPos)) storeValue(fc, i, FP, fc.homeOffset(dstPos));
}

export function loadReg(fc: FunctionCompiler, i: number, reg: number): void {
  copyToReg(fc, i, reg);
}

export function localGet(fc: FunctionCompiler, index: number, i: number): void {
  const t = fc.localTypes[index];
  const r = fc.allocReg(t);
  ldstAt(fc.out.buf, loadOp(t), r, FP, fc.slotOffset(index));
  fc.stack.setReg(i, r);
}

export function localSet(fc: FunctionCompiler, index: number, i: number): void {
  storeValue(fc, i, FP, fc.slotOffset(index));
}

export function globalOffset(slot: number): number {
  return VMCTX.globals + 8 * slot;
}

export function globalGet(fc: FunctionCompiler, slot: number, type: number, i: number): void {
  const r = fc.allocReg(type);
  ldstAt(fc.out.buf, loadOp(type), r, VMCTX_REG, globalOffset(slot));
  fc.stack.setReg(i, r);
}

export function globalSet(fc: FunctionCompiler, slot: number, i: number): void {
  storeValue(fc, i, VMCTX_REG, globalOffset(slot));
}

export { I32, I64, F32 };
