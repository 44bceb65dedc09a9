import { Form, OpClass, OperandKind, Shape, VecBinOp, VecUnOp, VecShiftOp, VecTestOp, VecLoad, type CodeBuffer, type Operand } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, LiteralOp, Logic, MemOp, Shift } from './encode';
import { Arr, FArr, F3, N2, N3, NAcross, NLong, NPerm, NShift, arrOf, halfArrOf } from './encode/neon';
import * as n from './encode/neon';
import { ADDR, FP, MEM_BASE, SCRATCH, SCRATCH2, XSCRATCH, XSCRATCH2, ZR } from './regs';
import { access } from './memory';
import { ldstAt } from './move';
import type { A64Backend } from './backend';

/**
 * SIMD on NEON (ARMv8.0 Advanced SIMD; mirrors packages/x86-64/src/simd.ts): v128 values in
 * v0–v29, v31 and v30 the scratch registers (consecutive, as a two-register tbl needs). NEON has
 * three-operand forms and an instruction for nearly every wasm operation (its fmin/fmax, rounding,
 * saturating conversions and narrowing are wasm's), so most operations are one instruction into a
 * fresh register. v128 constants come from the function's constant pool (ldr q, ±1 MiB: only in
 * functions whose body keeps the pool in reach), from movi, or through x16.
 */

const VS = XSCRATCH, VS2 = XSCRATCH2;

/** The 128-bit integer arrangement of each shape (f32x4 and f64x2 as i32x4, i64x2). */
const ARR = [Arr.B16, Arr.H8, Arr.S4, Arr.D2, Arr.S4, Arr.D2];
/** Lane size log2 of each shape. */
const LOG2 = [0, 1, 2, 3, 2, 3];

function farr(shape: Shape): FArr {
  return shape === Shape.F64x2 ? FArr.D2 : FArr.S4;
}

function mov(b: CodeBuffer, dst: number, src: number): void {
  if (dst !== src) n.vmov(b, dst, src);
}

// --- forms ---------------------------------------------------------------------------------------

export function vecForm(cls: OpClass, kind: number, shape: Shape): number {
  switch (cls) {
    case OpClass.VecBinary:
      return kind === VecBinOp.Mul && shape === Shape.I64x2 ? Form.Fresh | Form.Temps1 : Form.Fresh;
    case OpClass.VecUnary: case OpClass.VecTest: case OpClass.Splat: case OpClass.ExtractLane: case OpClass.VecLoad:
      return Form.Fresh;
    // b is read only when an index selects it: in a slot or a constant until then
    case OpClass.Shuffle: return Form.BSlot | Form.BImm | Form.Fresh;
    case OpClass.VecShift: return Form.BImm | Form.Fresh;
    case OpClass.ReplaceLane: return Form.AOwn | Form.InPlace;
    case OpClass.Bitselect: return Form.AOwn | Form.InPlace;
    case OpClass.VecStore: return Form.AImm | Form.NoResult;
    case OpClass.LoadLane: return Form.AImm;
    case OpClass.StoreLane: return Form.AImm | Form.NoResult;
  }
  return 0;
}

// --- constants -----------------------------------------------------------------------------------

/**
 * `dst` ← 16 bytes: movi for zeros, a repeated byte, or bytes of 0x00/0xff; else ldr q from the
 * pool when it is in reach, else the halves through x16.
 */
export function loadConstV128(be: A64Backend, dst: number, w0: number, w1: number, w2: number, w3: number): void {
  const b = be.buf;
  if (w0 === w1 && w1 === w2 && w2 === w3 && (w0 & 0xff) * 0x01010101 === (w0 >>> 0) ) {
    n.moviBytes(b, dst, w0 & 0xff);
    return;
  }
  const mask = byteMask(w0, w1);
  if (w0 === w2 && w1 === w3 && mask >= 0) {
    n.moviByteMask(b, dst, mask);
    return;
  }
  if (!be.longBranches) {
    const pool = be.ool.pool;
    const entry = pool.add(w0, w1, w2, w3);
    const at = a.ldrLiteral(b, LiteralOp.Q, dst);
    pool.ref(at, at, entry);
    return;
  }
  a.movConst(b, 8, SCRATCH, w0, w1);
  if (w0 === w2 && w1 === w3) {
    n.dupGeneral(b, true, 3, dst, SCRATCH);
    return;
  }
  a.fmovToFp(b, 8, dst, SCRATCH);
  a.movConst(b, 8, SCRATCH, w2, w3);
  n.insGeneral(b, 3, dst, 1, SCRATCH);
}

/** The movi 2d mask of 8 bytes that are each 0x00 or 0xff, or −1. */
function byteMask(lo: number, hi: number): number {
  let m = 0;
  for (let k = 0; k < 8; k++) {
    const byte = ((k < 4 ? lo : hi) >>> (8 * (k & 3))) & 0xff;
    if (byte === 0xff) m |= 1 << k;
    else if (byte !== 0) return -1;
  }
  return m;
}

// --- memory --------------------------------------------------------------------------------------

/** ADDR (x15) ← x27 + zext(addr) + offset: the address LD1/ST1/LD1R take in a register. */
function addressReg(be: A64Backend, addr: Operand, offset: number): void {
  const b = be.buf;
  if (addr.kind === OperandKind.Imm) {
    const ea = (addr.lo >>> 0) + offset;
    a.movConst(b, 8, ADDR, ea | 0, Math.floor(ea / 4294967296));
    a.addSubReg(b, AddSub.ADD, 8, ADDR, MEM_BASE, ADDR);
    return;
  }
  a.addSubExt(b, AddSub.ADD, 8, ADDR, MEM_BASE, addr.reg, Extend.UXTW, 0);
  if (offset === 0) return;
  if (a.fitsAddSubImm(offset)) a.addSubImm(b, AddSub.ADD, 8, ADDR, ADDR, offset);
  else {
    a.movConst(b, 8, SCRATCH, offset | 0, 0);
    a.addSubReg(b, AddSub.ADD, 8, ADDR, ADDR, SCRATCH);
  }
}

export function vecLoad(be: A64Backend, kind: VecLoad, shape: Shape, dst: number, addr: Operand, offset: number): void {
  const b = be.buf;
  switch (kind) {
    case VecLoad.Full: return access(be, MemOp.LDR_Q, dst, addr, offset);
    case VecLoad.ExtendS: case VecLoad.ExtendU:
      // 8 bytes, then each lane widened (shape: the result's)
      access(be, MemOp.LDR_D, dst, addr, offset);
      n.nShift(b, kind === VecLoad.ExtendS ? NShift.SSHLL : NShift.USHLL, false, LOG2[shape] - 1, dst, dst, 0);
      return;
    case VecLoad.Zero: return access(be, shape === Shape.I32x4 ? MemOp.LDR_S : MemOp.LDR_D, dst, addr, offset);
  }
  addressReg(be, addr, offset);
  n.ld1r(b, LOG2[shape], dst, ADDR);
}

export function vecStore(be: A64Backend, addr: Operand, offset: number, value: Operand): void {
  access(be, MemOp.STR_Q, value.reg, addr, offset);
}

export function vecLoadLane(be: A64Backend, log2: number, lane: number, dst: number, addr: Operand, offset: number): void {
  addressReg(be, addr, offset);
  n.ldst1Lane(be.buf, true, log2, dst, lane, ADDR);
}

/** Lane 0 of 4 or 8 bytes is an ordinary str s/d; the others st1. */
export function vecStoreLane(be: A64Backend, log2: number, lane: number, addr: Operand, offset: number, value: Operand): void {
  if (lane === 0 && log2 >= 2) return access(be, log2 === 2 ? MemOp.STR_S : MemOp.STR_D, value.reg, addr, offset);
  addressReg(be, addr, offset);
  n.ldst1Lane(be.buf, false, log2, value.reg, lane, ADDR);
}

// --- lanes ---------------------------------------------------------------------------------------

export function vecSplat(be: A64Backend, shape: Shape, dst: number, s: Operand): void {
  if (shape >= Shape.F32x4) n.dupElement(be.buf, true, LOG2[shape], dst, s.reg, 0);
  else n.dupGeneral(be.buf, true, LOG2[shape], dst, s.reg);
}

export function vecExtractLane(be: A64Backend, shape: Shape, signed: boolean, lane: number, dst: number, v: Operand): void {
  const b = be.buf;
  if (shape >= Shape.F32x4) n.dupScalar(b, LOG2[shape], dst, v.reg, lane);
  else if (signed) n.smov(b, LOG2[shape], dst, v.reg, lane);
  else n.umov(b, LOG2[shape], dst, v.reg, lane);
}

export function vecReplaceLane(be: A64Backend, shape: Shape, lane: number, dst: number, _v: Operand, s: Operand): void {
  if (shape >= Shape.F32x4) n.insElement(be.buf, LOG2[shape], dst, lane, s.reg, 0);
  else n.insGeneral(be.buf, LOG2[shape], dst, lane, s.reg);
}

/** tbl over a (or a ++ b in v30, v31, the consecutive pair a two-register tbl reads) by the indices. */
export function vecShuffle(be: A64Backend, dst: number, va: Operand, vb: Operand, m0: number, m1: number, m2: number, m3: number): void {
  const b = be.buf;
  const onlyA = ((m0 | m1 | m2 | m3) & 0x10101010) === 0;
  if (onlyA) {
    loadConstV128(be, VS, m0, m1, m2, m3);
    n.tbl(b, dst, va.reg, 1, VS);
    return;
  }
  mov(b, VS2, va.reg);
  if (vb.kind === OperandKind.Reg) mov(b, VS, vb.reg);
  else if (vb.kind === OperandKind.Slot) ldstAt(b, MemOp.LDR_Q, VS, FP, vb.offset);
  else loadConstV128(be, VS, vb.lo, vb.hi, vb.lo2, vb.hi2);
  loadConstV128(be, dst, m0, m1, m2, m3);
  n.tbl(b, dst, VS2, 2, dst);
}

/** bif: a's bits where c has ones, b's elsewhere, in a's register. */
export function vecBitselect(be: A64Backend, dst: number, _va: Operand, vb: Operand, c: Operand): void {
  n.n3(be.buf, N3.BIF, Arr.B16, dst, vb.reg, c.reg);
}

// --- unary ---------------------------------------------------------------------------------------

const ROUND = [N2.FRINTP, N2.FRINTM, N2.FRINTZ, N2.FRINTN];

export function vecUnary(be: A64Backend, kind: VecUnOp, shape: Shape, dst: number, v: Operand): void {
  const b = be.buf;
  const r = v.reg;
  const log2 = LOG2[shape];
  switch (kind) {
    case VecUnOp.Not: return n.n2(b, N2.NOT, Arr.B16, dst, r);
    case VecUnOp.Abs: return shape >= Shape.F32x4 ? n.n2(b, N2.FABS, farr(shape), dst, r) : n.n2(b, N2.ABS, ARR[shape], dst, r);
    case VecUnOp.Neg: return shape >= Shape.F32x4 ? n.n2(b, N2.FNEG, farr(shape), dst, r) : n.n2(b, N2.NEG, ARR[shape], dst, r);
    case VecUnOp.Popcnt: return n.n2(b, N2.CNT, Arr.B16, dst, r);
    case VecUnOp.Sqrt: return n.n2(b, N2.FSQRT, farr(shape), dst, r);
    case VecUnOp.Ceil: case VecUnOp.Floor: case VecUnOp.Trunc: case VecUnOp.Nearest:
      return n.n2(b, ROUND[kind - VecUnOp.Ceil], farr(shape), dst, r);
    case VecUnOp.ExtendLowS: return n.nShift(b, NShift.SSHLL, false, log2 - 1, dst, r, 0);
    case VecUnOp.ExtendHighS: return n.nShift(b, NShift.SSHLL, true, log2 - 1, dst, r, 0);
    case VecUnOp.ExtendLowU: return n.nShift(b, NShift.USHLL, false, log2 - 1, dst, r, 0);
    case VecUnOp.ExtendHighU: return n.nShift(b, NShift.USHLL, true, log2 - 1, dst, r, 0);
    case VecUnOp.ExtAddPairwiseS: return n.n2(b, N2.SADDLP, arrOf(log2 - 1), dst, r);
    case VecUnOp.ExtAddPairwiseU: return n.n2(b, N2.UADDLP, arrOf(log2 - 1), dst, r);
    // fcvtzs/fcvtzu saturate and give 0 for NaN, as wasm's trunc_sat
    case VecUnOp.TruncSatS: return n.n2(b, N2.FCVTZS, FArr.S4, dst, r);
    case VecUnOp.TruncSatU: return n.n2(b, N2.FCVTZU, FArr.S4, dst, r);
    case VecUnOp.TruncSatZeroS: // to i64, then narrowed with saturation (the upper half zeroed)
      n.n2(b, N2.FCVTZS, FArr.D2, dst, r);
      n.n2(b, N2.SQXTN, Arr.S2, dst, dst);
      return;
    case VecUnOp.TruncSatZeroU:
      n.n2(b, N2.FCVTZU, FArr.D2, dst, r);
      n.n2(b, N2.UQXTN, Arr.S2, dst, dst);
      return;
    case VecUnOp.ConvertS: return n.n2(b, N2.SCVTF, FArr.S4, dst, r);
    case VecUnOp.ConvertU: return n.n2(b, N2.UCVTF, FArr.S4, dst, r);
    case VecUnOp.ConvertLowS:
      n.nShift(b, NShift.SSHLL, false, 2, dst, r, 0);
      n.n2(b, N2.SCVTF, FArr.D2, dst, dst);
      return;
    case VecUnOp.ConvertLowU:
      n.nShift(b, NShift.USHLL, false, 2, dst, r, 0);
      n.n2(b, N2.UCVTF, FArr.D2, dst, dst);
      return;
    case VecUnOp.Demote: return n.n2(b, N2.FCVTN, FArr.S2, dst, r);
    case VecUnOp.Promote: return n.n2(b, N2.FCVTL, FArr.S2, dst, r);
  }
}

// --- binary --------------------------------------------------------------------------------------

const ADD_SAT = [N3.SQADD, N3.UQADD, N3.SQSUB, N3.UQSUB];
const MINMAX = [N3.SMIN, N3.UMIN, N3.SMAX, N3.UMAX];
/** Integer comparisons that hold for (a, b) as they are, or (swapped) for (b, a): by VecBinOp − Eq. */
const ICMP: [N3, boolean][] = [
  [N3.CMEQ, false], [N3.CMEQ, false], [N3.CMGT, true], [N3.CMHI, true], [N3.CMGT, false], [N3.CMHI, false],
  [N3.CMGE, true], [N3.CMHS, true], [N3.CMGE, false], [N3.CMHS, false],
];

export function vecBinary(be: A64Backend, kind: VecBinOp, shape: Shape, dst: number, va: Operand, vb: Operand, t0: number): void {
  const b = be.buf;
  const ra = va.reg, rb = vb.reg;
  const arr = ARR[shape];
  const float = shape >= Shape.F32x4;
  const fa = farr(shape);
  switch (kind) {
    case VecBinOp.Add: return float ? n.f3(b, F3.FADD, fa, dst, ra, rb) : n.n3(b, N3.ADD, arr, dst, ra, rb);
    case VecBinOp.Sub: return float ? n.f3(b, F3.FSUB, fa, dst, ra, rb) : n.n3(b, N3.SUB, arr, dst, ra, rb);
    case VecBinOp.Mul:
      if (float) return n.f3(b, F3.FMUL, fa, dst, ra, rb);
      if (shape !== Shape.I64x2) return n.n3(b, N3.MUL, arr, dst, ra, rb);
      return mulI64(be, dst, ra, rb, t0);
    case VecBinOp.Div: return n.f3(b, F3.FDIV, fa, dst, ra, rb);
    // fmin/fmax propagate NaN and order −0 < +0: wasm's min/max
    case VecBinOp.Min: return n.f3(b, F3.FMIN, fa, dst, ra, rb);
    case VecBinOp.Max: return n.f3(b, F3.FMAX, fa, dst, ra, rb);
    case VecBinOp.PMin: // b < a ? b : a
      n.f3(b, F3.FCMGT, fa, VS, ra, rb);
      n.n3(b, N3.BSL, Arr.B16, VS, rb, ra);
      return mov(b, dst, VS);
    case VecBinOp.PMax: // a < b ? b : a
      n.f3(b, F3.FCMGT, fa, VS, rb, ra);
      n.n3(b, N3.BSL, Arr.B16, VS, rb, ra);
      return mov(b, dst, VS);
    case VecBinOp.AddSatS: case VecBinOp.AddSatU: case VecBinOp.SubSatS: case VecBinOp.SubSatU:
      return n.n3(b, ADD_SAT[kind - VecBinOp.AddSatS], arr, dst, ra, rb);
    case VecBinOp.MinS: case VecBinOp.MinU: case VecBinOp.MaxS: case VecBinOp.MaxU:
      return n.n3(b, MINMAX[kind - VecBinOp.MinS], arr, dst, ra, rb);
    case VecBinOp.AvgrU: return n.n3(b, N3.URHADD, arr, dst, ra, rb);
    case VecBinOp.Q15MulrSatS: return n.n3(b, N3.SQRDMULH, arr, dst, ra, rb);
    case VecBinOp.Dot: // the 32-bit products of each half, added in pairs
      n.nLong(b, NLong.SMULL, Arr.H4, VS, ra, rb);
      n.nLong(b, NLong.SMULL, Arr.H8, VS2, ra, rb);
      return n.n3(b, N3.ADDP, Arr.S4, dst, VS, VS2);
    case VecBinOp.ExtMulLowS: return n.nLong(b, NLong.SMULL, halfArrOf(LOG2[shape] - 1), dst, ra, rb);
    case VecBinOp.ExtMulHighS: return n.nLong(b, NLong.SMULL, arrOf(LOG2[shape] - 1), dst, ra, rb);
    case VecBinOp.ExtMulLowU: return n.nLong(b, NLong.UMULL, halfArrOf(LOG2[shape] - 1), dst, ra, rb);
    case VecBinOp.ExtMulHighU: return n.nLong(b, NLong.UMULL, arrOf(LOG2[shape] - 1), dst, ra, rb);
    case VecBinOp.NarrowS: case VecBinOp.NarrowU: {
      // a's lanes to the low half, b's to the high one: in v31 (dst may be b's register)
      const o = kind === VecBinOp.NarrowS ? N2.SQXTN : N2.SQXTUN;
      n.n2(b, o, halfArrOf(LOG2[shape]), VS, ra);
      n.n2(b, o, arrOf(LOG2[shape]), VS, rb);
      return mov(b, dst, VS);
    }
    case VecBinOp.And: return n.n3(b, N3.AND, Arr.B16, dst, ra, rb);
    case VecBinOp.AndNot: return n.n3(b, N3.BIC, Arr.B16, dst, ra, rb);
    case VecBinOp.Or: return n.n3(b, N3.ORR, Arr.B16, dst, ra, rb);
    case VecBinOp.Xor: return n.n3(b, N3.EOR, Arr.B16, dst, ra, rb);
    case VecBinOp.Swizzle: return n.tbl(b, dst, ra, 1, rb);
  }
  // comparisons
  if (float) {
    switch (kind) {
      case VecBinOp.Eq: return n.f3(b, F3.FCMEQ, fa, dst, ra, rb);
      case VecBinOp.Ne:
        n.f3(b, F3.FCMEQ, fa, dst, ra, rb);
        return n.n2(b, N2.NOT, Arr.B16, dst, dst);
      case VecBinOp.LtS: return n.f3(b, F3.FCMGT, fa, dst, rb, ra);
      case VecBinOp.GtS: return n.f3(b, F3.FCMGT, fa, dst, ra, rb);
      case VecBinOp.LeS: return n.f3(b, F3.FCMGE, fa, dst, rb, ra);
      default: return n.f3(b, F3.FCMGE, fa, dst, ra, rb);
    }
  }
  const [o, swap] = ICMP[kind - VecBinOp.Eq];
  if (swap) n.n3(b, o, arr, dst, rb, ra);
  else n.n3(b, o, arr, dst, ra, rb);
  if (kind === VecBinOp.Ne) n.n2(b, N2.NOT, Arr.B16, dst, dst);
}

/**
 * i64x2.mul from 32-bit multiplies (V8's sequence): the cross products a_lo·b_hi + a_hi·b_lo
 * shifted up, plus a_lo·b_lo widened. dst may be a's or b's register: it is written last.
 */
function mulI64(be: A64Backend, dst: number, ra: number, rb: number, t0: number): void {
  const b = be.buf;
  n.n2(b, N2.REV64, Arr.S4, VS, rb);
  n.n3(b, N3.MUL, Arr.S4, VS, VS, ra);
  n.n2(b, N2.XTN, Arr.S2, VS2, ra);
  n.n3(b, N3.ADDP, Arr.S4, VS, VS, VS);
  n.n2(b, N2.XTN, Arr.S2, t0, rb);
  n.n2(b, N2.SHLL, Arr.S2, VS, VS);
  n.nLong(b, NLong.UMLAL, Arr.S2, VS, VS2, t0);
  mov(b, dst, VS);
}

// --- shifts --------------------------------------------------------------------------------------

export function vecShift(be: A64Backend, kind: VecShiftOp, shape: Shape, dst: number, v: Operand, count: Operand): void {
  const b = be.buf;
  const log2 = LOG2[shape];
  const bits = 8 << log2;
  const r = v.reg;
  if (count.kind === OperandKind.Imm) {
    const s = count.lo & (bits - 1);
    if (s === 0) return mov(b, dst, r);
    if (kind === VecShiftOp.Shl) return n.nShift(b, NShift.SHL, true, log2, dst, r, s);
    return n.nShift(b, kind === VecShiftOp.ShrS ? NShift.SSHR : NShift.USHR, true, log2, dst, r, s);
  }
  // sshl/ushl by a vector of counts: negative shifts right (only each lane's low byte counts)
  a.logicImm(b, Logic.AND, 4, SCRATCH, count.reg, a.encodeBitmask(4, bits - 1, 0));
  if (kind !== VecShiftOp.Shl) a.addSubReg(b, AddSub.SUB, 4, SCRATCH, ZR, SCRATCH);
  n.dupGeneral(b, true, log2, VS, SCRATCH);
  n.n3(b, kind === VecShiftOp.ShrS ? N3.SSHL : N3.USHL, ARR[shape], dst, r, VS);
}

// --- tests ---------------------------------------------------------------------------------------

const UMINV_ARR = [Arr.B16, Arr.H8, Arr.S4];

export function vecTest(be: A64Backend, kind: VecTestOp, shape: Shape, dst: number, v: Operand): void {
  const b = be.buf;
  const r = v.reg;
  switch (kind) {
    case VecTestOp.AnyTrue: // the largest of the pairwise maxima is non-zero
      n.n3(b, N3.UMAXP, Arr.S4, VS, r, r);
      a.fmovFromFp(b, 8, SCRATCH, VS);
      a.addSubImm(b, AddSub.SUBS, 8, ZR, SCRATCH, 0);
      a.cset(b, 4, dst, Cond.NE);
      return;
    case VecTestOp.AllTrue:
      if (shape === Shape.I64x2) {
        // a zero lane compares all ones, a NaN whose sum with anything stays unordered
        n.n2(b, N2.CMEQ0, Arr.D2, VS, r);
        n.addpScalar(b, VS, VS);
        a.fcmp(b, 8, VS, VS);
        a.cset(b, 4, dst, Cond.EQ);
        return;
      }
      n.nAcross(b, NAcross.UMINV, UMINV_ARR[shape], VS, r);
      n.umov(b, LOG2[shape], SCRATCH, VS, 0);
      a.addSubImm(b, AddSub.SUBS, 4, ZR, SCRATCH, 0);
      a.cset(b, 4, dst, Cond.NE);
      return;
  }
  bitmask(be, shape, dst, r);
}

/**
 * The lanes' sign bits: each lane's sign spread over it, and'ed with its bit's value (1, 2, 4 …),
 * summed across (NEON has no movmsk). i8x16's two halves are summed as 16-bit lanes, their bytes
 * interleaved first.
 */
function bitmask(be: A64Backend, shape: Shape, dst: number, r: number): void {
  const b = be.buf;
  if (shape === Shape.I64x2) {
    n.nShift(b, NShift.USHR, true, 3, VS, r, 63);
    n.umov(b, 3, SCRATCH, VS, 0);
    n.umov(b, 3, SCRATCH2, VS, 1);
    a.addSubReg(b, AddSub.ADD, 4, dst, SCRATCH, SCRATCH2, Shift.LSL, 1);
    return;
  }
  const log2 = LOG2[shape];
  n.nShift(b, NShift.SSHR, true, log2, VS, r, (8 << log2) - 1);
  if (shape === Shape.I8x16) loadConstV128(be, VS2, 0x08040201, 0x80402010, 0x08040201, 0x80402010);
  else if (shape === Shape.I16x8) loadConstV128(be, VS2, 0x00020001, 0x00080004, 0x00200010, 0x00800040);
  else loadConstV128(be, VS2, 1, 2, 4, 8);
  n.n3(b, N3.AND, Arr.B16, VS, VS, VS2);
  if (shape === Shape.I8x16) {
    n.ext(b, VS2, VS, VS, 8);
    n.perm(b, NPerm.ZIP1, Arr.B16, VS, VS, VS2);
    n.nAcross(b, NAcross.ADDV, Arr.H8, VS, VS);
    n.umov(b, 1, dst, VS, 0);
    return;
  }
  n.nAcross(b, NAcross.ADDV, shape === Shape.I16x8 ? Arr.H8 : Arr.S4, VS, VS);
  n.umov(b, log2, dst, VS, 0);
}

/** `dst` ← `src` unless `cc` (select of v128): a mask of cc, then bif. */
export function selectV128(be: A64Backend, dst: number, src: number, cc: number): void {
  const b = be.buf;
  a.csetm(b, 8, SCRATCH, cc);
  n.dupGeneral(b, true, 3, VS, SCRATCH);
  n.n3(b, N3.BIF, Arr.B16, dst, src, VS);
}
