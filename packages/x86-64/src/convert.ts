import { Loc, SAT_BASE, Trap, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Cond, Alu, Shift, ExtKind } from './encode';
import { SCRATCH, SCRATCH2, XSCRATCH } from './regs';
import { trapIf } from './frame';

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

const f32 = new Float32Array(1), u32 = new Int32Array(f32.buffer);
const f64 = new Float64Array(1), u64 = new Int32Array(f64.buffer);

/** Loads the constant `v` in source precision into xmm15. */
function loadFloatConst(fc: FunctionCompiler, sz: number, v: number): void {
  const b = fc.out.buf;
  if (sz === 4) {
    f32[0] = v;
    x.movRI32(b, 4, SCRATCH, u32[0]);
  } else {
    f64[0] = v;
    x.movRI64(b, SCRATCH, u64[0], u64[1]);
  }
  x.movGX(b, sz, XSCRATCH, SCRATCH);
}

/** Exclusive bounds of the values that truncate into range: [signed][dest 64][src f64]. */
function bounds(signed: boolean, w64: boolean, srcF64: boolean): [number, number] {
  if (!signed) return [-1, w64 ? 18446744073709551616 : 4294967296];
  if (!w64) return [srcF64 ? -2147483649 : -2147483904, 2147483648];
  return [srcF64 ? -9223372036854777856 : -9223373136366403584, 9223372036854775808];
}

function truncate(fc: FunctionCompiler, i: number, sz: number, w64: boolean, signed: boolean, saturating: boolean): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const rf = fc.regOf(i);
  const rg = fc.allocReg(w64 ? I64 : I32);
  const [lo, hi] = bounds(signed, w64, sz === 8);
  const exits: number[] = [];
  let minJump = -1, maxJump = -1;
  if (saturating) x.aluRR(b, Alu.XOR, 4, rg, rg);
  x.ucomis(b, sz, rf, rf);
  if (saturating) exits.push(x.jccRel32(b, Cond.P));
  else trapIf(fc, Cond.P, Trap.InvalidConversion);
  loadFloatConst(fc, sz, lo);
  x.ucomis(b, sz, rf, XSCRATCH);
  if (saturating) minJump = x.jccRel32(b, Cond.BE);
  else trapIf(fc, Cond.BE, Trap.IntegerOverflow);
  loadFloatConst(fc, sz, hi);
  x.ucomis(b, sz, rf, XSCRATCH);
  if (saturating) maxJump = x.jccRel32(b, Cond.AE);
  else trapIf(fc, Cond.AE, Trap.IntegerOverflow);
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
    loadFloatConst(fc, sz, 9223372036854775808);
    x.ucomis(b, sz, rf, XSCRATCH);
    const big = x.jccRel32(b, Cond.AE);
    x.cvttf2si(b, sz, 8, rg, rf);
    exits.push(x.jmpRel32(b));
    x.patchRel32(b, big, b.pos);
    x.farith(b, x.FArith.SUB, sz, rf, XSCRATCH);
    x.cvttf2si(b, sz, 8, rg, rf);
    x.btRI(b, x.Bt.BTC, 8, rg, 63);
  }
  if (saturating) {
    exits.push(x.jmpRel32(b));
    x.patchRel32(b, minJump, b.pos);
    if (signed) {
      if (w64) x.movRI64(b, rg, 0, -0x80000000);
      else x.movRI32(b, 4, rg, -0x80000000);
    } else x.aluRR(b, Alu.XOR, 4, rg, rg);
    exits.push(x.jmpRel32(b));
    x.patchRel32(b, maxJump, b.pos);
    if (w64) x.movRI64(b, rg, -1, signed ? 0x7fffffff : -1);
    else x.movRI32(b, 4, rg, signed ? 0x7fffffff : -1);
  }
  for (const e of exits) x.patchRel32(b, e, b.pos);
  fc.release(i);
  s.setReg(i, rg);
}

function intToFloat(fc: FunctionCompiler, i: number, sz: number, src64: boolean, signed: boolean): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const rg = fc.regOf(i);
  const rf = fc.allocReg(sz === 4 ? F32 : F64);
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
  fc.release(i);
  s.setReg(i, rf);
}

const EXT: Record<number, number> = {
  0xc0: ExtKind.S8_32, 0xc1: ExtKind.S16_32, 0xc2: ExtKind.S8_64, 0xc3: ExtKind.S16_64, 0xc4: ExtKind.S32_64, 0xac: ExtKind.S32_64,
};

export function convert(fc: FunctionCompiler, op: number, i: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  if (op >= SAT_BASE) {
    const k = op - SAT_BASE;
    truncate(fc, i, k === 2 || k === 3 || k >= 6 ? 8 : 4, k >= 4, (k & 1) === 0, true);
    return;
  }
  switch (op) {
    case 0xa7: // i32.wrap_i64
      if (s.loc[i] === Loc.Const) s.setConst(i, s.lo[i], 0);
      else {
        const r = fc.regOf(i);
        x.movRR(b, 4, r, r);
      }
      return;
    case 0xad: // i64.extend_i32_u: registers hold i32 zero-extended already
      if (s.loc[i] === Loc.Const) s.setConst(i, s.lo[i], 0);
      else fc.regOf(i);
      return;
    case 0xac: case 0xc0: case 0xc1: case 0xc2: case 0xc3: case 0xc4: {
      const r = fc.regOf(i);
      x.extRR(b, EXT[op], r, r);
      return;
    }
    case 0xbc: case 0xbd: case 0xbe: case 0xbf: { // reinterpretations
      if (s.loc[i] === Loc.Const) return; // same bits
      const toInt = op <= 0xbd;
      const w = op === 0xbc || op === 0xbe ? 4 : 8;
      const src = fc.regOf(i);
      const dst = fc.allocReg(toInt ? (w === 4 ? I32 : I64) : (w === 4 ? F32 : F64));
      if (toInt) x.movXG(b, w, dst, src);
      else x.movGX(b, w, dst, src);
      fc.release(i);
      s.setReg(i, dst);
      return;
    }
    case 0xb6: case 0xbb: { // demote, promote
      const r = fc.regOf(i);
      x.cvtf2f(b, op === 0xb6 ? 8 : 4, r, r);
      return;
    }
    case 0xa8: truncate(fc, i, 4, false, true, false); return;
    case 0xa9: truncate(fc, i, 4, false, false, false); return;
    case 0xaa: truncate(fc, i, 8, false, true, false); return;
    case 0xab: truncate(fc, i, 8, false, false, false); return;
    case 0xae: truncate(fc, i, 4, true, true, false); return;
    case 0xaf: truncate(fc, i, 4, true, false, false); return;
    case 0xb0: truncate(fc, i, 8, true, true, false); return;
    case 0xb1: truncate(fc, i, 8, true, false, false); return;
    case 0xb2: intToFloat(fc, i, 4, false, true); return;
    case 0xb3: intToFloat(fc, i, 4, false, false); return;
    case 0xb4: intToFloat(fc, i, 4, true, true); return;
    case 0xb5: intToFloat(fc, i, 4, true, false); return;
    case 0xb7: intToFloat(fc, i, 8, false, true); return;
    case 0xb8: intToFloat(fc, i, 8, false, false); return;
    case 0xb9: intToFloat(fc, i, 8, true, true); return;
    case 0xba: intToFloat(fc, i, 8, true, false); return;
  }
  throw new Error(`x86-64: no conversion for opcode 0x${op.toString(16)}`);
}

export { F32, F64 };
