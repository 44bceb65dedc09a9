import { Loc, isFloat, VMCTX, type FunctionCompiler, type CodeBuffer } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, NO_INDEX } from './encode';
import { FP, SCRATCH, VMCTX_REG } from './regs';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d;

/** Operand size in bytes of an integer type's register form. */
export function width(type: number): number {
  return type === I32 || type === F32 ? 4 : 8;
}

/** True when a 64-bit constant given as halves fits a sign-extended imm32. */
export function fitsImm32(lo: number, hi: number): boolean {
  return hi === lo >> 31;
}

/** Materialises the flags value `i` (condition code in reg[]) as 0/1 in `dst`. */
export function setFromFlags(b: CodeBuffer, cc: number, dst: number): void {
  x.setcc(b, cc, dst);
  x.movzxRR8(b, dst, dst);
}

/**
 * Copies value `i` into register `dst` (of the value's class) without changing its entry. `dst`
 * may be a scratch register.
 */
export function copyToReg(fc: FunctionCompiler, i: number, dst: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const t = s.type[i];
  const float = isFloat(t);
  switch (s.loc[i]) {
    case Loc.Const:
      if (float) {
        if (s.lo[i] === 0 && (t === F32 || s.hi[i] === 0)) x.fbit(b, x.FBit.XOR, dst, dst);
        else {
          if (t === F32) x.movRI32(b, 4, SCRATCH, s.lo[i]);
          else x.movRI64(b, SCRATCH, s.lo[i], s.hi[i]);
          x.movGX(b, width(t), dst, SCRATCH);
        }
      } else if (t === I32) x.movRI32(b, 4, dst, s.lo[i]);
      else x.movRI64(b, dst, s.lo[i], s.hi[i]);
      break;
    case Loc.Mem: {
      const off = fc.homeOffset(i);
      if (float) x.fload(b, width(t), dst, FP, NO_INDEX, 1, off);
      else x.load(b, width(t), dst, FP, NO_INDEX, 1, off);
      break;
    }
    case Loc.Reg:
      if (s.reg[i] !== dst) {
        if (float) x.fmovRR(b, dst, s.reg[i]);
        else x.movRR(b, 8, dst, s.reg[i]);
      }
      break;
    case Loc.Flags:
      setFromFlags(b, s.reg[i], dst);
      break;
  }
}

/** Stores value `i` to [base + disp] as a full 8-byte slot (4 bytes for f32). */
export function storeValue(fc: FunctionCompiler, i: number, base: number, disp: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const t = s.type[i];
  switch (s.loc[i]) {
    case Loc.Const:
      if (t === I32 || t === F32) x.storeImm(b, 4, base, NO_INDEX, 1, disp, s.lo[i]);
      else if (fitsImm32(s.lo[i], s.hi[i])) x.storeImm(b, 8, base, NO_INDEX, 1, disp, s.lo[i]);
      else {
        x.movRI64(b, SCRATCH, s.lo[i], s.hi[i]);
        x.store(b, 8, base, NO_INDEX, 1, disp, SCRATCH);
      }
      break;
    case Loc.Reg:
      if (isFloat(t)) x.fstore(b, width(t), base, NO_INDEX, 1, disp, s.reg[i]);
      else x.store(b, width(t), base, NO_INDEX, 1, disp, s.reg[i]);
      break;
    case Loc.Mem:
      x.load(b, 8, SCRATCH, FP, NO_INDEX, 1, fc.homeOffset(i));
      x.store(b, 8, base, NO_INDEX, 1, disp, SCRATCH);
      break;
    case Loc.Flags:
      setFromFlags(b, s.reg[i], SCRATCH);
      x.store(b, 4, base, NO_INDEX, 1, disp, SCRATCH);
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
  const b = fc.out.buf;
  if (isFloat(t)) x.fload(b, width(t), r, FP, NO_INDEX, 1, fc.slotOffset(index));
  else x.load(b, width(t), r, FP, NO_INDEX, 1, fc.slotOffset(index));
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
  const b = fc.out.buf;
  if (isFloat(type)) x.fload(b, width(type), r, VMCTX_REG, NO_INDEX, 1, globalOffset(slot));
  else x.load(b, width(type), r, VMCTX_REG, NO_INDEX, 1, globalOffset(slot));
  fc.stack.setReg(i, r);
}

export function globalSet(fc: FunctionCompiler, slot: number, i: number): void {
  storeValue(fc, i, VMCTX_REG, globalOffset(slot));
}

/** A register holding value `i` that may be overwritten (the value is consumed). */
export function ownReg(fc: FunctionCompiler, i: number): number {
  return fc.regOf(i);
}

export { I32, I64, F32, Reg };
