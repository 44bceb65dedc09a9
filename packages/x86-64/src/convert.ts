import { Conv, Form, truncLowBound, truncHighBound, Trap, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { Cond, Alu, Shift, ExtKind } from './encode';
import { SCRATCH, SCRATCH2, XSCRATCH } from './regs';
import type { X64Backend } from './backend';
import { trapIf } from './frame';

/**
 * Conversions (the code generator folds those of constants and the ones that need no
 * instruction). Float → integer truncation checks NaN and the range itself: cvttss2si gives the
 * "integer indefinite" value instead of trapping.
 */

const I64 = 0x7e, F64 = 0x7c;

/** Conversions in place (a's register), or from a register into a new one of the other class. */
export function convertForm(kind: Conv): number {
  switch (kind) {
    case Conv.Reinterpret:
    case Conv.TruncS: case Conv.TruncU: case Conv.TruncSatS: case Conv.TruncSatU:
    case Conv.ConvertS: case Conv.ConvertU:
      return Form.Fresh;
    default:
      return Form.AOwn | Form.InPlace;
  }
}

export function convert(be: X64Backend, kind: Conv, from: number, to: number, dst: number, a: Operand): void {
  const b = be.buf;
  const r = a.reg; // every form asks for a register
  switch (kind) {
    case Conv.Wrap:
      x.movRR(b, 4, r, r);
      return;
    case Conv.ExtendU: // never asked: an i32 register is zero-extended already
      return;
    case Conv.ExtendS: case Conv.Extend32S:
      x.extRR(b, ExtKind.S32_64, r, r);
      return;
    case Conv.Extend8S:
      x.extRR(b, to === I64 ? ExtKind.S8_64 : ExtKind.S8_32, r, r);
      return;
    case Conv.Extend16S:
      x.extRR(b, to === I64 ? ExtKind.S16_64 : ExtKind.S16_32, r, r);
      return;
    case Conv.Reinterpret: {
      const w = from === I64 || from === F64 ? 8 : 4;
      if (from === I64 || from === 0x7f) x.movGX(b, w, dst, r);
      else x.movXG(b, w, dst, r);
      return;
    }
    case Conv.Demote: case Conv.Promote:
      x.cvtf2f(b, kind === Conv.Demote ? 8 : 4, r, r);
      return;
    case Conv.TruncS: case Conv.TruncU: case Conv.TruncSatS: case Conv.TruncSatU:
      truncate(be, r, dst, from === F64 ? 8 : 4, to === I64, kind === Conv.TruncS || kind === Conv.TruncSatS, kind >= Conv.TruncSatS);
      return;
    case Conv.ConvertS: case Conv.ConvertU:
      intToFloat(be, r, dst, to === F64 ? 8 : 4, from === I64, kind === Conv.ConvertS);
      return;
  }
}

/** Read once: a call through the package index goes through a getter (docs/ARCHITECTURE.md, "Code generator"). */
const lowBound = truncLowBound, highBound = truncHighBound;

const f32 = new Float32Array(1), u32 = new Int32Array(f32.buffer);
const f64 = new Float64Array(1), u64 = new Int32Array(f64.buffer);

/** Loads the constant `v` in source precision into xmm15. */
function loadFloatConst(be: X64Backend, sz: number, v: number): void {
  const b = be.buf;
  if (sz === 4) {
    f32[0] = v;
    x.movRI32(b, 4, SCRATCH, u32[0]);
  } else {
    f64[0] = v;
    x.movRI64(b, SCRATCH, u64[0], u64[1]);
  }
  x.movGX(b, sz, XSCRATCH, SCRATCH);
}

/** The jumps to a saturating truncation's end (at most three). */
const exits = new Int32Array(4);

/** Float `rf` → integer `rg`, checked in the spec's order: NaN, then the range. */
function truncate(be: X64Backend, rf: number, rg: number, sz: number, w64: boolean, signed: boolean, saturating: boolean): void {
  const b = be.buf;
  let nExits = 0;
  let minJump = -1, maxJump = -1;
  if (saturating) x.aluRR(b, Alu.XOR, 4, rg, rg);
  x.ucomis(b, sz, rf, rf);
  if (saturating) exits[nExits++] = x.jccRel32(b, Cond.P);
  else trapIf(be, Cond.P, Trap.InvalidConversion);
  loadFloatConst(be, sz, lowBound(signed, w64, sz === 8));
  x.ucomis(b, sz, rf, XSCRATCH);
  if (saturating) minJump = x.jccRel32(b, Cond.BE);
  else trapIf(be, Cond.BE, Trap.IntegerOverflow);
  loadFloatConst(be, sz, highBound(signed, w64));
  x.ucomis(b, sz, rf, XSCRATCH);
  if (saturating) maxJump = x.jccRel32(b, Cond.AE);
  else trapIf(be, Cond.AE, Trap.IntegerOverflow);
  if (!w64) {
    if (signed) x.cvttf2si(b, sz, 4, rg, rf);
    else {
      x.cvttf2si(b, sz, 8, rg, rf);
      x.movRR(b, 4, rg, rg);
    }
  } else if (signed) {
    x.cvttf2si(b, sz, 8, rg, rf);
  } else {
    // ≥ 2^63: subtract 2^63, convert, set the top bit
    loadFloatConst(be, sz, 9223372036854775808);
    x.ucomis(b, sz, rf, XSCRATCH);
    const big = x.jccRel32(b, Cond.AE);
    x.cvttf2si(b, sz, 8, rg, rf);
    exits[nExits++] = x.jmpRel32(b);
    x.patchRel32(b, big, b.pos);
    x.farith(b, x.FArith.SUB, sz, rf, XSCRATCH);
    x.cvttf2si(b, sz, 8, rg, rf);
    x.btRI(b, x.Bt.BTC, 8, rg, 63);
  }
  if (saturating) {
    exits[nExits++] = x.jmpRel32(b);
    x.patchRel32(b, minJump, b.pos);
    if (signed) {
      if (w64) x.movRI64(b, rg, 0, -0x80000000);
      else x.movRI32(b, 4, rg, -0x80000000);
    } else x.aluRR(b, Alu.XOR, 4, rg, rg);
    exits[nExits++] = x.jmpRel32(b);
    x.patchRel32(b, maxJump, b.pos);
    if (w64) x.movRI64(b, rg, -1, signed ? 0x7fffffff : -1);
    else x.movRI32(b, 4, rg, signed ? 0x7fffffff : -1);
  }
  for (let k = 0; k < nExits; k++) x.patchRel32(b, exits[k], b.pos);
}

/** Integer `rg` → float `rf`. */
function intToFloat(be: X64Backend, rg: number, rf: number, sz: number, src64: boolean, signed: boolean): void {
  const b = be.buf;
  x.fbit(b, x.FBit.XOR, rf, rf); // breaks the dependency on rf's old value
  if (!src64) {
    // i32 values are kept zero-extended, so unsigned converts as a signed 64-bit value
    x.cvtsi2f(b, sz, signed ? 4 : 8, rf, rg);
  } else if (signed) {
    x.cvtsi2f(b, sz, 8, rf, rg);
  } else {
    x.testRR(b, 8, rg, rg);
    const big = x.jccRel32(b, Cond.S);
    x.cvtsi2f(b, sz, 8, rf, rg);
    const done = x.jmpRel32(b);
    x.patchRel32(b, big, b.pos);
    // halve with the low bit kept sticky, convert, double: rounds like the exact value
    x.movRR(b, 8, SCRATCH, rg);
    x.shiftRI(b, Shift.SHR, 8, SCRATCH, 1);
    x.movRR(b, 4, SCRATCH2, rg);
    x.aluRI(b, Alu.AND, 4, SCRATCH2, 1);
    x.aluRR(b, Alu.OR, 8, SCRATCH, SCRATCH2);
    x.cvtsi2f(b, sz, 8, rf, SCRATCH);
    x.farith(b, x.FArith.ADD, sz, rf, rf);
    x.patchRel32(b, done, b.pos);
  }
}
