import { Loc, SAT_BASE, Trap, type FunctionCompiler } from '@wagc/frontend';
import { a } from './encode/flat';
import { Cond, FConv } from './encode';
import { SCRATCH, XSCRATCH, XSCRATCH2 } from './regs';
import { copyToReg, movConstTyped } from './move';
import { trapIf } from './frame';

/** Conversions 0xa7–0xc4 and the saturating truncations (mirrors packages/x86-64/src/convert.ts). */

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

const f32 = new Float32Array(1), u32 = new Int32Array(f32.buffer);
const f64 = new Float64Array(1), u64 = new Int32Array(f64.buffer);

/** Loads the float `v` (exact in the source precision) into `dst`. */
function loadFloatConst(fc: FunctionCompiler, sz: number, dst: number, v: number): void {
  if (sz === 4) {
    f32[0] = v;
    movConstTyped(fc.out.buf, F32, dst, u32[0], 0);
  } else {
    f64[0] = v;
    movConstTyped(fc.out.buf, F64, dst, u64[0], u64[1]);
  }
}

/**
 * Exclusive bounds of the values that truncate into range (the same as x86-64's): the largest
 * float below the lowest valid value is −1 unsigned, −2^31 − 1 (f64) or −2^31 − 2^8 (f32) for
 * i32, −2^63 − 2^11 (f64) or −2^63 − 2^40 (f32) for i64; the upper bound is 2^bits (unsigned)
 * or 2^(bits − 1), each exact in both precisions.
 */
function lowBound(signed: boolean, w64: boolean, srcF64: boolean): number {
  if (!signed) return -1;
  if (!w64) return srcF64 ? -2147483649 : -2147483904;
  return srcF64 ? -9223372036854777856 : -9223373136366403584;
}

function highBound(signed: boolean, w64: boolean): number {
  if (!signed) return w64 ? 18446744073709551616 : 4294967296;
  return w64 ? 9223372036854775808 : 2147483648;
}

/**
 * Float → integer. fcvtzs/fcvtzu already saturate and give 0 for NaN, which is exactly the
 * trunc_sat semantics; the trapping forms check first, in the spec's order: NaN (invalid
 * conversion), then the range (integer overflow).
 */
function truncate(fc: FunctionCompiler, i: number, sz: number, w64: boolean, signed: boolean, saturating: boolean): void {
  const b = fc.out.buf;
  const s = fc.stack;
  let rf: number;
  if (s.loc[i] === Loc.Reg) rf = s.reg[i];
  else {
    copyToReg(fc, i, XSCRATCH2);
    rf = XSCRATCH2;
  }
  if (!saturating) {
    a.fcmp(b, sz, rf, rf);
    trapIf(fc, Cond.VS, Trap.InvalidConversion);
    loadFloatConst(fc, sz, XSCRATCH, lowBound(signed, w64, sz === 8));
    a.fcmp(b, sz, rf, XSCRATCH);
    trapIf(fc, Cond.LS, Trap.IntegerOverflow); // x ≤ low (ordered now)
    loadFloatConst(fc, sz, XSCRATCH, highBound(signed, w64));
    a.fcmp(b, sz, rf, XSCRATCH);
    trapIf(fc, Cond.GE, Trap.IntegerOverflow); // x ≥ high
  }
  fc.release(i);
  const rg = fc.allocReg(w64 ? I64 : I32);
  a.fconvInt(b, signed ? FConv.FCVTZS : FConv.FCVTZU, sz, w64 ? 8 : 4, rg, rf);
  s.setReg(i, rg);
}

/** Integer → float: scvtf/ucvtf round to nearest-even like wasm, at any width. */
function intToFloat(fc: FunctionCompiler, i: number, sz: number, src64: boolean, signed: boolean): void {
  const b = fc.out.buf;
  const s = fc.stack;
  let rg: number;
  if (s.loc[i] === Loc.Reg) rg = s.reg[i];
  else {
    copyToReg(fc, i, SCRATCH);
    rg = SCRATCH;
  }
  fc.release(i);
  const rf = fc.allocReg(sz === 4 ? F32 : F64);
  a.fconvInt(b, signed ? FConv.SCVTF : FConv.UCVTF, sz, src64 ? 8 : 4, rf, rg);
  s.setReg(i, rf);
}

/** i32.extend8_s … i64.extend32_s and i64.extend_i32_s, of a constant. */
function foldExtend(op: number, v: number): number {
  switch (op) {
    case 0xc0: case 0xc2: return (v << 24) >> 24;
    case 0xc1: case 0xc3: return (v << 16) >> 16;
    default: return v;
  }
}

export function convert(fc: FunctionCompiler, op: number, i: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  if (op >= SAT_BASE) {
    const k = op - SAT_BASE; // i32 f32_s f32_u f64_s f64_u, then i64 the same
    truncate(fc, i, k & 2 ? 8 : 4, k >= 4, (k & 1) === 0, true);
    return;
  }
  switch (op) {
    case 0xa7: // i32.wrap_i64: mov w zero-extends
      if (s.loc[i] === Loc.Const) s.setConst(i, s.lo[i], 0);
      else {
        const r = fc.regOf(i);
        a.movRR(b, 4, r, r);
      }
      return;
    case 0xad: // i64.extend_i32_u: registers hold i32 zero-extended already (and so do slots)
      if (s.loc[i] === Loc.Const) s.setConst(i, s.lo[i], 0);
      else fc.regOf(i);
      return;
    case 0xac: case 0xc0: case 0xc1: case 0xc2: case 0xc3: case 0xc4: {
      if (s.loc[i] === Loc.Const) {
        const v = foldExtend(op, s.lo[i]);
        // i32 results (0xc0, 0xc1) keep hi 0
        s.setConst(i, v, op === 0xc0 || op === 0xc1 ? 0 : v >> 31);
        return;
      }
      const r = fc.regOf(i);
      if (op === 0xc0) a.sxtb(b, 4, r, r); // w forms zero the upper half
      else if (op === 0xc1) a.sxth(b, 4, r, r);
      else if (op === 0xc2) a.sxtb(b, 8, r, r);
      else if (op === 0xc3) a.sxth(b, 8, r, r);
      else a.sxtw(b, r, r);
      return;
    }
    case 0xbc: case 0xbd: case 0xbe: case 0xbf: { // reinterpretations
      // a constant or a slot holds the same bits under either type
      if (s.loc[i] === Loc.Const || s.loc[i] === Loc.Mem) return;
      const toInt = op <= 0xbd;
      const w = op === 0xbc || op === 0xbe ? 4 : 8;
      const src = fc.regOf(i);
      fc.release(i);
      const dst = fc.allocReg(toInt ? (w === 4 ? I32 : I64) : (w === 4 ? F32 : F64));
      if (toInt) a.fmovFromFp(b, w, dst, src);
      else a.fmovToFp(b, w, dst, src);
      s.setReg(i, dst);
      return;
    }
    case 0xb6: case 0xbb: { // demote, promote
      const r = fc.regOf(i);
      a.fcvt(b, op === 0xb6 ? 8 : 4, r, r);
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
  throw new Error(`arm64: no conversion for opcode 0x${op.toString(16)}`);
}
