import { Form, IntBinOp, FloatBinOp, OperandKind, Trap, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, Index, Alu, Shift } from './encode';
import { FP, SCRATCH, SCRATCH2, XSCRATCH } from './regs';
import { fitsImm32, loadOperand } from './move';
import { trapIf } from './frame';
import type { X64Backend } from './backend';

/**
 * Integer and float binary operations: two-operand forms, the result in a's register (which the
 * code generator hands over to be overwritten) or, when a must stay (a local's register), in
 * another: `lea` for add and sub, `imul` by an immediate has three operands, else a copy of a
 * first. b may be an immediate or a slot, the memory operand of the ALU forms. Division alone
 * takes its operands anywhere: it needs rax and rdx.
 */

export function intBinaryForm(kind: IntBinOp): number {
  if (kind >= IntBinOp.DivS && kind <= IntBinOp.RemU) return Form.AAny | Form.BAny | Form.Fresh;
  return Form.AOwn | Form.BAny | Form.InPlace;
}

export function floatBinaryForm(): number {
  return Form.AOwn | Form.BAny | Form.InPlace;
}

/** The ALU operation of add sub … and or xor, and the shift of shl … rotr (by IntBinOp). */
const ALU = [Alu.ADD, Alu.SUB, 0, 0, 0, 0, 0, Alu.AND, Alu.OR, Alu.XOR];
const SHIFT = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Shift.SHL, Shift.SAR, Shift.SHR, Shift.ROL, Shift.ROR];

export function intBinary(be: X64Backend, kind: IntBinOp, w: number, dst: number, a: Operand, b: Operand): void {
  const buf = be.buf;
  const ra = a.reg; // a register but for division (InPlace: dst is ra, or another register)
  switch (kind) {
    case IntBinOp.Add: case IntBinOp.Sub:
      // into another register: lea dst, [ra ± imm] or [ra + rb]
      if (dst !== ra && b.kind !== OperandKind.Slot) {
        if (b.kind === OperandKind.Reg) {
          if (kind === IntBinOp.Add) return x.lea(buf, w, dst, ra, b.reg, 1, 0);
        } else if (w === 4 || (fitsImm32(b.lo, b.hi) && (kind === IntBinOp.Add || b.lo !== -0x80000000))) {
          return x.lea(buf, w, dst, ra, Index.None, 1, kind === IntBinOp.Add ? b.lo : -b.lo | 0);
        }
      }
      if (dst !== ra) x.movRR(buf, w, dst, ra);
      aluWithOperand(be, ALU[kind], w, dst, b);
      return;
    case IntBinOp.And: case IntBinOp.Or: case IntBinOp.Xor:
      if (dst !== ra) x.movRR(buf, w, dst, ra);
      aluWithOperand(be, ALU[kind], w, dst, b);
      return;
    case IntBinOp.Mul:
      if (b.kind === OperandKind.Imm && (w === 4 || fitsImm32(b.lo, b.hi))) x.imulRRI(buf, w, dst, ra, b.lo);
      else if (b.kind === OperandKind.Imm) { // from the constant pool
        if (dst !== ra) x.movRR(buf, w, dst, ra);
        be.pool.use(x.imulRip(buf, w, dst), b.lo, b.hi);
      } else if (b.kind === OperandKind.Reg) {
        if (dst !== ra) x.movRR(buf, w, dst, ra);
        x.imulRR(buf, w, dst, b.reg);
      } else {
        loadOperand(be, b, SCRATCH);
        if (dst !== ra) x.movRR(buf, w, dst, ra);
        x.imulRR(buf, w, dst, SCRATCH);
      }
      return;
    case IntBinOp.DivS: case IntBinOp.DivU: case IntBinOp.RemS: case IntBinOp.RemU:
      divRem(be, kind, w, dst, a, b);
      return;
    default: // shifts and rotations: the count in cl, or an immediate
      if (b.kind === OperandKind.Imm) {
        if (dst !== ra) x.movRR(buf, w, dst, ra);
        x.shiftRI(buf, SHIFT[kind], w, dst, b.lo & (w * 8 - 1));
      } else {
        loadOperand(be, b, Reg.RCX);
        if (dst !== ra) x.movRR(buf, w, dst, ra);
        x.shiftCL(buf, SHIFT[kind], w, dst);
      }
  }
}

/** dst = a + (index << shift): `lea dst, [a + index·2^shift]`; a constant a goes through rax first. */
export function addShifted(be: X64Backend, w: number, dst: number, a: Operand, index: number, shift: number): void {
  let base = a.reg;
  if (a.kind === OperandKind.Imm) {
    if (w === 4) x.movRI32(be.buf, 4, SCRATCH, a.lo);
    else x.movRI64(be.buf, SCRATCH, a.lo, a.hi);
    base = SCRATCH;
  }
  x.lea(be.buf, w, dst, base, index, 1 << shift, 0);
}

/** ra op= b (an immediate, a register or a slot). */
export function aluWithOperand(be: X64Backend, alu: number, w: number, ra: number, b: Operand): void {
  const buf = be.buf;
  switch (b.kind) {
    case OperandKind.Imm:
      if (w === 4 || fitsImm32(b.lo, b.hi)) x.aluRI(buf, alu, w, ra, b.lo);
      else be.pool.use(x.aluRip(buf, alu, w, ra), b.lo, b.hi);
      break;
    case OperandKind.Reg:
      x.aluRR(buf, alu, w, ra, b.reg);
      break;
    default:
      x.aluRM(buf, alu, w, ra, FP, Index.None, 1, b.offset);
  }
}

/**
 * Division traps explicitly (wasm's "integer divide by zero", "integer overflow") instead of
 * letting idiv raise #DE: divide by zero, and INT_MIN / −1 for div_s; rem_s by −1 is 0 without
 * dividing. The dividend goes to rax, the divisor to rcx; the result comes from rax or rdx.
 */
function divRem(be: X64Backend, kind: IntBinOp, w: number, dst: number, a: Operand, b: Operand): void {
  const buf = be.buf;
  const signed = kind === IntBinOp.DivS || kind === IntBinOp.RemS;
  const rem = kind === IntBinOp.RemS || kind === IntBinOp.RemU;
  const divisorConst = b.kind === OperandKind.Imm;
  const dz = divisorConst && b.lo === 0 && (w === 4 || b.hi === 0);
  const minusOne = divisorConst && b.lo === -1 && (w === 4 || b.hi === -1);
  loadOperand(be, a, Reg.RAX);
  loadOperand(be, b, Reg.RCX);
  if (!divisorConst || dz) {
    x.testRR(buf, w, Reg.RCX, Reg.RCX);
    trapIf(be, Cond.E, Trap.IntegerDivideByZero);
  }
  let done = -1;
  if (signed && (!divisorConst || minusOne)) {
    x.aluRI(buf, Alu.CMP, w, Reg.RCX, -1);
    const notMinusOne = x.jccRel8(buf, Cond.NE);
    if (rem) x.aluRR(buf, Alu.XOR, 4, Reg.RDX, Reg.RDX);
    else {
      x.neg(buf, w, Reg.RAX);
      trapIf(be, Cond.O, Trap.IntegerOverflow);
    }
    done = x.jmpRel8(buf);
    x.patchRel8(buf, notMinusOne, buf.pos);
  }
  if (signed) {
    x.cdq(buf, w);
    x.mulDiv(buf, x.MulDiv.IDIV, w, Reg.RCX);
  } else {
    x.aluRR(buf, Alu.XOR, 4, Reg.RDX, Reg.RDX);
    x.mulDiv(buf, x.MulDiv.DIV, w, Reg.RCX);
  }
  if (done >= 0) x.patchRel8(buf, done, buf.pos);
  x.movRR(buf, w, dst, rem ? Reg.RDX : Reg.RAX);
}

const FARITH = [x.FArith.ADD, x.FArith.SUB, x.FArith.MUL, x.FArith.DIV];

export function floatBinary(be: X64Backend, kind: FloatBinOp, sz: number, dst: number, a: Operand, b: Operand): void {
  const buf = be.buf;
  const ra = a.reg;
  if (kind === FloatBinOp.Copysign) { // on the bit patterns
    if (b.kind === OperandKind.Imm) { // the sign is known: set or clear a's
      x.movXG(buf, sz, SCRATCH, ra);
      x.btRI(buf, (sz === 4 ? b.lo : b.hi) < 0 ? x.Bt.BTS : x.Bt.BTR, sz, SCRATCH, sz * 8 - 1);
      x.movGX(buf, sz, dst, SCRATCH);
      return;
    }
    loadOperand(be, b, XSCRATCH);
    x.movXG(buf, sz, SCRATCH2, XSCRATCH);
    x.movXG(buf, sz, SCRATCH, ra);
    x.btRI(buf, x.Bt.BTR, sz, SCRATCH, sz * 8 - 1);
    x.shiftRI(buf, Shift.SHR, sz, SCRATCH2, sz * 8 - 1);
    x.shiftRI(buf, Shift.SHL, sz, SCRATCH2, sz * 8 - 1);
    x.aluRR(buf, Alu.OR, sz, SCRATCH, SCRATCH2);
    x.movGX(buf, sz, dst, SCRATCH);
    return;
  }
  if (b.kind === OperandKind.Imm && kind < FloatBinOp.Min) { // addsd dst, [rip + c]
    if (dst !== ra) x.fmovRR(buf, dst, ra);
    be.pool.use(x.farithRip(buf, FARITH[kind], sz, dst), b.lo, sz === 4 ? 0 : b.hi);
    return;
  }
  let rb: number;
  if (b.kind === OperandKind.Reg) rb = b.reg;
  else {
    loadOperand(be, b, XSCRATCH);
    rb = XSCRATCH;
  }
  if (dst !== ra) x.fmovRR(buf, dst, ra);
  if (kind < FloatBinOp.Min) x.farith(buf, FARITH[kind], sz, dst, rb);
  else minMax(be, kind === FloatBinOp.Min, sz, dst, rb);
}

/**
 * wasm min/max: NaN if either is NaN; −0 < +0. minss/maxss return the second operand for NaN
 * and for equal operands, so those cases take their own paths.
 */
function minMax(be: X64Backend, isMin: boolean, sz: number, ra: number, rb: number): void {
  const b = be.buf;
  x.ucomis(b, sz, ra, rb);
  const nan = x.jccRel8(b, Cond.P);
  const ne = x.jccRel8(b, Cond.NE);
  // equal: ±0 resolved on the sign bits
  x.fbit(b, isMin ? x.FBit.OR : x.FBit.AND, ra, rb);
  const done1 = x.jmpRel8(b);
  x.patchRel8(b, nan, b.pos);
  x.farith(b, x.FArith.ADD, sz, ra, rb); // quiet NaN out of the NaN operand
  const done2 = x.jmpRel8(b);
  x.patchRel8(b, ne, b.pos);
  x.farith(b, isMin ? x.FArith.MIN : x.FArith.MAX, sz, ra, rb);
  x.patchRel8(b, done1, b.pos);
  x.patchRel8(b, done2, b.pos);
}
