import { Conv, Form, truncLowBound, truncHighBound, OperandKind, Trap, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { Cond, FConv } from './encode';
import { SCRATCH, XSCRATCH, XSCRATCH2 } from './regs';
import { loadOperand, movConstTyped } from './move';
import { trapIf } from './frame';
import type { A64Backend } from './backend';

/**
 * Conversions (mirrors packages/x86-64/src/convert.ts; the code generator folds those of constants
 * and the ones that need no instruction).
 */

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;

/** In place, or into a new register of the other class; truncations and int → float take any operand. */
export function convertForm(kind: Conv): number {
  switch (kind) {
    case Conv.TruncS: case Conv.TruncU: case Conv.TruncSatS: case Conv.TruncSatU:
    case Conv.ConvertS: case Conv.ConvertU:
      return Form.AAny | Form.Fresh;
    case Conv.Reinterpret:
      return Form.Fresh;
    default:
      return Form.AOwn | Form.InPlace;
  }
}

export function convert(be: A64Backend, kind: Conv, from: number, to: number, dst: number, x: Operand): void {
  const b = be.buf;
  const r = x.reg;
  switch (kind) {
    case Conv.Wrap: // mov w zero-extends
      a.movRR(b, 4, r, r);
      return;
    case Conv.ExtendU: // never asked: an i32 register is zero-extended already
      return;
    case Conv.ExtendS: case Conv.Extend32S:
      a.sxtw(b, r, r);
      return;
    case Conv.Extend8S: // w forms zero the upper half
      a.sxtb(b, to === I64 ? 8 : 4, r, r);
      return;
    case Conv.Extend16S:
      a.sxth(b, to === I64 ? 8 : 4, r, r);
      return;
    case Conv.Reinterpret: {
      const w = from === I32 || from === F32 ? 4 : 8;
      if (from === F32 || from === F64) a.fmovFromFp(b, w, dst, r);
      else a.fmovToFp(b, w, dst, r);
      return;
    }
    case Conv.Demote: case Conv.Promote:
      a.fcvt(b, from === F64 ? 8 : 4, r, r);
      return;
    case Conv.TruncS: case Conv.TruncU: case Conv.TruncSatS: case Conv.TruncSatU:
      truncate(be, x, dst, from === F64 ? 8 : 4, to === I64, kind === Conv.TruncS || kind === Conv.TruncSatS, kind >= Conv.TruncSatS);
      return;
    case Conv.ConvertS: case Conv.ConvertU: {
      let rg = r;
      if (x.kind !== OperandKind.Reg) {
        loadOperand(be, x, SCRATCH);
        rg = SCRATCH;
      }
      // scvtf/ucvtf round to nearest-even like wasm, at any width
      a.fconvInt(b, kind === Conv.ConvertS ? FConv.SCVTF : FConv.UCVTF, to === F64 ? 8 : 4, from === I64 ? 8 : 4, dst, rg);
      return;
    }
  }
}

/** Read once: a call through the package index goes through a getter (docs/ARCHITECTURE.md, "Code generator"). */
const lowBound = truncLowBound, highBound = truncHighBound;

const f32 = new Float32Array(1), u32 = new Int32Array(f32.buffer);
const f64 = new Float64Array(1), u64 = new Int32Array(f64.buffer);

/** Loads the float `v` (exact in the source precision) into `dst`. */
function loadFloatConst(be: A64Backend, sz: number, dst: number, v: number): void {
  if (sz === 4) {
    f32[0] = v;
    movConstTyped(be.buf, F32, dst, u32[0], 0);
  } else {
    f64[0] = v;
    movConstTyped(be.buf, F64, dst, u64[0], u64[1]);
  }
}

/**
 * Float → integer. fcvtzs/fcvtzu already saturate and give 0 for NaN, which is exactly the
 * trunc_sat semantics; the trapping forms check first, in the spec's order: NaN (invalid
 * conversion), then the range (integer overflow).
 */
function truncate(be: A64Backend, x: Operand, rg: number, sz: number, w64: boolean, signed: boolean, saturating: boolean): void {
  const b = be.buf;
  let rf = x.reg;
  if (x.kind !== OperandKind.Reg) {
    loadOperand(be, x, XSCRATCH2);
    rf = XSCRATCH2;
  }
  if (!saturating) {
    a.fcmp(b, sz, rf, rf);
    trapIf(be, Cond.VS, Trap.InvalidConversion);
    loadFloatConst(be, sz, XSCRATCH, lowBound(signed, w64, sz === 8));
    a.fcmp(b, sz, rf, XSCRATCH);
    trapIf(be, Cond.LS, Trap.IntegerOverflow); // x ≤ low (ordered now)
    loadFloatConst(be, sz, XSCRATCH, highBound(signed, w64));
    a.fcmp(b, sz, rf, XSCRATCH);
    trapIf(be, Cond.GE, Trap.IntegerOverflow); // x ≥ high
  }
  a.fconvInt(b, signed ? FConv.FCVTZS : FConv.FCVTZU, sz, w64 ? 8 : 4, rg, rf);
}
