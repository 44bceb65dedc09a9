import { CPU_FEATURE, Form, OpClass, OperandKind, Shape, VecBinOp, VecUnOp, VecShiftOp, VecTestOp, VecLoad, type Operand } from '@wagc/frontend';
import { x } from './encode/flat';
import { V, ShiftExt, CmpPred, VecLevel, vop, vopI, vopM, vopMI, vopRip, vop3, vop3Rip, vshiftImm, vecFeature } from './encode/vec';
import { Alu, Cond, ExtKind } from './encode';
import { FP, MEM_BASE, SCRATCH, XSCRATCH } from './regs';
import { memAddress, ea } from './memory';
import { setFromCond } from './move';
import type { X64Backend } from './backend';

/**
 * SIMD on SSE4.1 (docs/ARCHITECTURE.md, "SIMD on x86-64"): v128 values in xmm0–14, xmm15 the
 * scratch. SSE's two-operand forms overwrite their first operand, so most operations are in
 * place (Form.InPlace: `dst` is a's register); b may be an immediate, which the function's
 * constant pool holds (16-byte aligned, so it serves as the memory operand legacy SSE requires
 * aligned). Operations without an SSE4.1 instruction are short sequences, V8's where V8 has one.
 * With `--cpu-features avx` the one-instruction binary operations take their VEX three-operand
 * forms (a fresh result register, a left alone). Every instruction past SSE2 (SSE3, SSSE3,
 * SSE4.1) records the feature `sse4_1` for the image, a VEX one `avx`, which the loader checks.
 */

const SSE41 = CPU_FEATURE.sse4_1, AVX = CPU_FEATURE.avx;
const XS = XSCRATCH;

// --- emitting, with the feature recorded -----------------------------------------------------------

function need(be: X64Backend, o: V): void {
  if (vecFeature(o) !== VecLevel.SSE2) be.usedCpuFeatures |= SSE41;
}

function op(be: X64Backend, o: V, reg: number, rm: number): void {
  need(be, o);
  vop(be.buf, o, reg, rm);
}

function opI(be: X64Backend, o: V, reg: number, rm: number, imm: number): void {
  need(be, o);
  vopI(be.buf, o, reg, rm, imm);
}

/** reg op= the pool constant (w0 … w3), an imm8 after it when `imm` ≥ 0. */
function opConst(be: X64Backend, o: V, reg: number, w0: number, w1: number, w2: number, w3: number, imm = -1): void {
  need(be, o);
  const pool = be.ool.pool;
  const entry = pool.add(w0, w1, w2, w3);
  const at = vopRip(be.buf, o, reg, imm);
  pool.ref(at, at + 4 + (imm >= 0 ? 1 : 0), entry);
}

function opConst32(be: X64Backend, o: V, reg: number, w: number): void {
  opConst(be, o, reg, w, w, w, w);
}

function opConst64(be: X64Backend, o: V, reg: number, lo: number, hi: number): void {
  opConst(be, o, reg, lo, hi, lo, hi);
}

function movaps(be: X64Backend, dst: number, src: number): void {
  if (dst !== src) vop(be.buf, V.MOVAPS, dst, src);
}

/** `dst` op= b: a register, or an immediate from the pool. */
function opB(be: X64Backend, o: V, dst: number, b: Operand): void {
  if (b.kind === OperandKind.Reg) op(be, o, dst, b.reg);
  else opConst(be, o, dst, b.lo, b.hi, b.lo2, b.hi2);
}

/** Vector operand `v` (a register, a frame slot or a constant) into register `dst`. */
function loadVector(be: X64Backend, v: Operand, dst: number): void {
  if (v.kind === OperandKind.Reg) movaps(be, dst, v.reg);
  else if (v.kind === OperandKind.Slot) vopM(be.buf, V.MOVDQU_LOAD, dst, FP, -1, 1, v.offset);
  else loadConstV128(be, dst, v.lo, v.hi, v.lo2, v.hi2);
}

/** All zeros is pxor, all ones pcmpeqd; anything else an aligned load from the pool. */
export function loadConstV128(be: X64Backend, dst: number, w0: number, w1: number, w2: number, w3: number): void {
  if ((w0 | w1 | w2 | w3) === 0) vop(be.buf, V.PXOR, dst, dst);
  else if ((w0 & w1 & w2 & w3) === -1) vop(be.buf, V.PCMPEQD, dst, dst);
  else opConst(be, V.MOVAPS, dst, w0, w1, w2, w3);
}

// --- forms ---------------------------------------------------------------------------------------

/** Operations done by one SSE instruction `dst op= b`, which may take b from the pool. */
function simpleBinary(kind: VecBinOp, shape: Shape): boolean {
  switch (kind) {
    case VecBinOp.Add: case VecBinOp.Sub: case VecBinOp.AddSatS: case VecBinOp.AddSatU: case VecBinOp.SubSatS:
    case VecBinOp.SubSatU: case VecBinOp.MinS: case VecBinOp.MinU: case VecBinOp.MaxS: case VecBinOp.MaxU:
    case VecBinOp.AvgrU: case VecBinOp.Dot: case VecBinOp.NarrowS: case VecBinOp.NarrowU: case VecBinOp.Div:
    case VecBinOp.And: case VecBinOp.Or: case VecBinOp.Xor: case VecBinOp.AndNot: case VecBinOp.Eq:
      return true;
    case VecBinOp.Mul: return shape !== Shape.I64x2;
    default: return false;
  }
}

export function vecForm(cls: OpClass, kind: number, shape: Shape, avx: boolean): number {
  switch (cls) {
    case OpClass.VecBinary:
      // AVX's three-operand forms leave a alone: no copy of a value still needed
      if (avx && simpleBinary(kind, shape)) return Form.BImm | Form.Fresh;
      if (simpleBinary(kind, shape)) return Form.AOwn | Form.BImm | Form.InPlace;
      if ((kind === VecBinOp.Mul && shape === Shape.I64x2) || (shape === Shape.I64x2 && kind >= VecBinOp.LtS && kind <= VecBinOp.GeU)) {
        return Form.AOwn | Form.InPlace | Form.Temps1;
      }
      return Form.AOwn | Form.InPlace;
    case OpClass.VecUnary:
      if (kind === VecUnOp.Popcnt || kind === VecUnOp.TruncSatU) return Form.AOwn | Form.InPlace | Form.Temps1;
      return Form.AOwn | Form.InPlace;
    case OpClass.VecShift:
      return Form.AOwn | Form.BImm | Form.InPlace | (shape === Shape.I8x16 || shape === Shape.I64x2 ? Form.Temps1 : 0);
    case OpClass.VecTest: return Form.Fresh;
    case OpClass.Splat: return Form.Fresh;
    case OpClass.ExtractLane: return Form.Fresh;
    case OpClass.ReplaceLane: return Form.AOwn | Form.InPlace;
    // b is read only when an index selects it: in a slot or the pool until then
    case OpClass.Shuffle: return Form.AOwn | Form.BSlot | Form.BImm | Form.InPlace;
    case OpClass.Bitselect: return Form.AOwn | Form.InPlace;
    case OpClass.VecLoad: return Form.AImm | Form.Fresh;
    case OpClass.VecStore: return Form.AImm | Form.NoResult;
    case OpClass.LoadLane: return Form.AImm;
    case OpClass.StoreLane: return Form.AImm | Form.NoResult;
  }
  return 0;
}

// --- memory --------------------------------------------------------------------------------------

/** op reg, [r15 + the address] (memory.ts forms it; it may take rax). */
function opMem(be: X64Backend, o: V, reg: number, addr: Operand, offset: number, imm = -1): void {
  need(be, o);
  memAddress(be, addr, offset);
  if (imm >= 0) vopMI(be.buf, o, reg, MEM_BASE, ea.index, 1, ea.disp, imm);
  else vopM(be.buf, o, reg, MEM_BASE, ea.index, 1, ea.disp);
}

const EXTEND_S = [0, V.PMOVSXBW, V.PMOVSXWD, V.PMOVSXDQ];
const EXTEND_U = [0, V.PMOVZXBW, V.PMOVZXWD, V.PMOVZXDQ];

export function vecLoad(be: X64Backend, kind: VecLoad, shape: Shape, dst: number, addr: Operand, offset: number): void {
  const b = be.buf;
  switch (kind) {
    case VecLoad.Full: return opMem(be, V.MOVDQU_LOAD, dst, addr, offset);
    case VecLoad.ExtendS: return opMem(be, EXTEND_S[shape], dst, addr, offset);
    case VecLoad.ExtendU: return opMem(be, EXTEND_U[shape], dst, addr, offset);
    case VecLoad.Zero: return opMem(be, shape === Shape.I32x4 ? V.MOVD_TO : V.MOVQ_LOAD, dst, addr, offset);
  }
  switch (shape) {
    case Shape.I8x16:
      opMem(be, V.PINSRB, dst, addr, offset, 0);
      vop(b, V.PXOR, XS, XS);
      op(be, V.PSHUFB, dst, XS);
      return;
    case Shape.I16x8:
      opMem(be, V.PINSRW, dst, addr, offset, 0);
      vopI(b, V.PSHUFLW, dst, dst, 0);
      vopI(b, V.PSHUFD, dst, dst, 0);
      return;
    case Shape.I32x4:
      opMem(be, V.MOVD_TO, dst, addr, offset);
      vopI(b, V.PSHUFD, dst, dst, 0);
      return;
    default:
      opMem(be, V.MOVDDUP, dst, addr, offset);
  }
}

export function vecStore(be: X64Backend, addr: Operand, offset: number, value: Operand): void {
  opMem(be, V.MOVDQU_STORE, value.reg, addr, offset);
}

const PINSR = [V.PINSRB, V.PINSRW, V.PINSRD, V.PINSRQ];
const PEXTR_M = [V.PEXTRB, V.PEXTRW_M, V.PEXTRD, V.PEXTRQ];

export function vecLoadLane(be: X64Backend, log2: number, lane: number, dst: number, addr: Operand, offset: number): void {
  opMem(be, PINSR[log2], dst, addr, offset, lane);
}

/** Lane 0 of 4 or 8 bytes is movd/movq (SSE2); the others pextr. */
export function vecStoreLane(be: X64Backend, log2: number, lane: number, addr: Operand, offset: number, value: Operand): void {
  if (lane === 0 && log2 === 2) opMem(be, V.MOVD_FROM, value.reg, addr, offset);
  else if (lane === 0 && log2 === 3) opMem(be, V.MOVQ_STORE, value.reg, addr, offset);
  else opMem(be, PEXTR_M[log2], value.reg, addr, offset, lane);
}

// --- lanes ---------------------------------------------------------------------------------------

export function vecSplat(be: X64Backend, shape: Shape, dst: number, a: Operand): void {
  const b = be.buf;
  const r = a.reg;
  switch (shape) {
    case Shape.I8x16:
      vop(b, V.MOVD_TO, dst, r);
      vop(b, V.PXOR, XS, XS);
      op(be, V.PSHUFB, dst, XS);
      return;
    case Shape.I16x8:
      vop(b, V.MOVD_TO, dst, r);
      vopI(b, V.PSHUFLW, dst, dst, 0);
      vopI(b, V.PSHUFD, dst, dst, 0);
      return;
    case Shape.I32x4:
      vop(b, V.MOVD_TO, dst, r);
      vopI(b, V.PSHUFD, dst, dst, 0);
      return;
    case Shape.I64x2:
      vop(b, V.MOVQ_TO, dst, r);
      vop(b, V.PUNPCKLQDQ, dst, dst);
      return;
    case Shape.F32x4: vopI(b, V.PSHUFD, dst, r, 0); return;
    default: vopI(b, V.PSHUFD, dst, r, 0x44);
  }
}

export function vecExtractLane(be: X64Backend, shape: Shape, signed: boolean, lane: number, dst: number, a: Operand): void {
  const b = be.buf;
  const r = a.reg;
  switch (shape) {
    case Shape.I8x16:
      opI(be, V.PEXTRB, r, dst, lane);
      if (signed) x.extRR(b, ExtKind.S8_32, dst, dst);
      return;
    case Shape.I16x8:
      vopI(b, V.PEXTRW, dst, r, lane);
      if (signed) x.extRR(b, ExtKind.S16_32, dst, dst);
      return;
    case Shape.I32x4:
      if (lane === 0) vop(b, V.MOVD_FROM, r, dst);
      else opI(be, V.PEXTRD, r, dst, lane);
      return;
    case Shape.I64x2:
      if (lane === 0) vop(b, V.MOVQ_FROM, r, dst);
      else opI(be, V.PEXTRQ, r, dst, lane);
      return;
    case Shape.F32x4:
      if (lane === 0) movaps(be, dst, r);
      else vopI(b, V.PSHUFD, dst, r, lane);
      return;
    default:
      if (lane === 0) movaps(be, dst, r);
      else vopI(b, V.PSHUFD, dst, r, 0xee);
  }
}

export function vecReplaceLane(be: X64Backend, shape: Shape, lane: number, dst: number, _a: Operand, s: Operand): void {
  const b = be.buf;
  const r = s.reg;
  switch (shape) {
    case Shape.I8x16: opI(be, V.PINSRB, dst, r, lane); return;
    case Shape.I16x8: vopI(b, V.PINSRW, dst, r, lane); return;
    case Shape.I32x4: opI(be, V.PINSRD, dst, r, lane); return;
    case Shape.I64x2: opI(be, V.PINSRQ, dst, r, lane); return;
    case Shape.F32x4: opI(be, V.INSERTPS, dst, r, lane << 4); return;
    default: vop(b, lane === 0 ? V.MOVSD : V.MOVLHPS, dst, r);
  }
}

/**
 * Bytes of a ++ b by index: pshufb of each with the indices that select it (0x80 zeroes the
 * others), or'ed; one pshufb when every index selects from one of them.
 */
export function vecShuffle(be: X64Backend, dst: number, _a: Operand, bv: Operand, m0: number, m1: number, m2: number, m3: number): void {
  // bit 4 of each index: which operand
  const hiBits = (m0 | m1 | m2 | m3) & 0x10101010;
  const loBits = ~(m0 & m1 & m2 & m3) & 0x10101010;
  if (hiBits === 0) return opConst(be, V.PSHUFB, dst, m0, m1, m2, m3);
  if (loBits === 0) {
    loadVector(be, bv, dst);
    return opConst(be, V.PSHUFB, dst, m0 & 0x0f0f0f0f, m1 & 0x0f0f0f0f, m2 & 0x0f0f0f0f, m3 & 0x0f0f0f0f);
  }
  loadVector(be, bv, XS);
  opConst(be, V.PSHUFB, XS, pick(m0, true), pick(m1, true), pick(m2, true), pick(m3, true));
  opConst(be, V.PSHUFB, dst, pick(m0, false), pick(m1, false), pick(m2, false), pick(m3, false));
  vop(be.buf, V.POR, dst, XS);
}

/** The pshufb indices of four shuffle indices for operand b (`second`) or a: 0x80 for the other's. */
function pick(m: number, second: boolean): number {
  let r = 0;
  for (let k = 0; k < 32; k += 8) {
    const i = (m >>> k) & 0x1f;
    const mine = (i >= 16) === second;
    r |= (mine ? i & 15 : 0x80) << k;
  }
  return r;
}

/** (a & c) | (b & ~c) = ((a ^ b) & c) ^ b. */
export function vecBitselect(be: X64Backend, dst: number, _a: Operand, bv: Operand, c: Operand): void {
  const b = be.buf;
  vop(b, V.PXOR, dst, bv.reg);
  vop(b, V.PAND, dst, c.reg);
  vop(b, V.PXOR, dst, bv.reg);
}

// --- unary ---------------------------------------------------------------------------------------

const PABS = [V.PABSB, V.PABSW, V.PABSD];
const PSUB = [V.PSUBB, V.PSUBW, V.PSUBD, V.PSUBQ];
const PADD = [V.PADDB, V.PADDW, V.PADDD, V.PADDQ];
const PCMPEQ = [V.PCMPEQB, V.PCMPEQW, V.PCMPEQD, V.PCMPEQQ];
/** roundps/pd modes (bit 3: no precision exception) of Ceil, Floor, Trunc, Nearest. */
const ROUND = [2 | 8, 1 | 8, 3 | 8, 0 | 8];
/** Unpacking the high half with zeros: the zero extension of i8, i16, i32 lanes (by the result shape). */
const UNPACK_HIGH = [0, V.PUNPCKHBW, V.PUNPCKHWD, V.PUNPCKHDQ];

export function vecUnary(be: X64Backend, kind: VecUnOp, shape: Shape, dst: number, _a: Operand, t0: number): void {
  const b = be.buf;
  const f64 = shape === Shape.F64x2;
  switch (kind) {
    case VecUnOp.Not:
      vop(b, V.PCMPEQD, XS, XS);
      vop(b, V.PXOR, dst, XS);
      return;
    case VecUnOp.Abs:
      if (shape === Shape.F32x4) return opConst32(be, V.ANDPS, dst, 0x7fffffff);
      if (f64) return opConst64(be, V.ANDPS, dst, -1, 0x7fffffff);
      if (shape !== Shape.I64x2) return op(be, PABS[shape], dst, dst);
      // the sign of each i64 in every bit: x ^ s − s
      vopI(b, V.PSHUFD, XS, dst, 0xf5);
      vshiftImm(b, V.PSHIFTD_I, ShiftExt.SRA, XS, 31);
      vop(b, V.PXOR, dst, XS);
      vop(b, V.PSUBQ, dst, XS);
      return;
    case VecUnOp.Neg:
      if (shape === Shape.F32x4) return opConst32(be, V.XORPS, dst, 0x80000000 | 0);
      if (f64) return opConst64(be, V.XORPS, dst, 0, 0x80000000 | 0);
      vop(b, V.PXOR, XS, XS);
      vop(b, PSUB[shape], XS, dst);
      movaps(be, dst, XS);
      return;
    case VecUnOp.Popcnt: {
      // a table lookup per nibble (pshufb), the two counts added
      const LUT0 = 0x02010100, LUT1 = 0x03020201, LUT2 = 0x03020201, LUT3 = 0x04030302;
      movaps(be, XS, dst);
      vshiftImm(b, V.PSHIFTW_I, ShiftExt.SRL, XS, 4);
      opConst32(be, V.PAND, XS, 0x0f0f0f0f);
      opConst32(be, V.PAND, dst, 0x0f0f0f0f);
      opConst(be, V.MOVAPS, t0, LUT0, LUT1, LUT2, LUT3);
      op(be, V.PSHUFB, t0, dst);
      opConst(be, V.MOVAPS, dst, LUT0, LUT1, LUT2, LUT3);
      op(be, V.PSHUFB, dst, XS);
      vop(b, V.PADDB, dst, t0);
      return;
    }
    case VecUnOp.Sqrt: vop(b, f64 ? V.SQRTPD : V.SQRTPS, dst, dst); return;
    case VecUnOp.Ceil: case VecUnOp.Floor: case VecUnOp.Trunc: case VecUnOp.Nearest:
      opI(be, f64 ? V.ROUNDPD : V.ROUNDPS, dst, dst, ROUND[kind - VecUnOp.Ceil]);
      return;
    case VecUnOp.ExtendLowS: return op(be, EXTEND_S[shape], dst, dst);
    case VecUnOp.ExtendLowU: return op(be, EXTEND_U[shape], dst, dst);
    case VecUnOp.ExtendHighS:
      vopI(b, V.PSHUFD, dst, dst, 0xee);
      return op(be, EXTEND_S[shape], dst, dst);
    case VecUnOp.ExtendHighU:
      vop(b, V.PXOR, XS, XS);
      vop(b, UNPACK_HIGH[shape], dst, XS);
      return;
    case VecUnOp.ExtAddPairwiseS:
      if (shape === Shape.I16x8) {
        // pmaddubsw: unsigned bytes (ones) times signed bytes, pairs added
        opConst32(be, V.MOVAPS, XS, 0x01010101);
        op(be, V.PMADDUBSW, XS, dst);
        movaps(be, dst, XS);
      } else opConst32(be, V.PMADDWD, dst, 0x00010001);
      return;
    case VecUnOp.ExtAddPairwiseU:
      if (shape === Shape.I16x8) return opConst32(be, V.PMADDUBSW, dst, 0x01010101);
      // u = (u ^ 0x8000) + 0x8000 as signed: the pair's sum is pmaddwd's + 0x10000
      opConst32(be, V.PXOR, dst, 0x80008000 | 0);
      opConst32(be, V.PMADDWD, dst, 0x00010001);
      opConst32(be, V.PADDD, dst, 0x00010000);
      return;
    case VecUnOp.TruncSatS:
      // NaN lanes 0; then lanes that overflowed positive (cvttps2dq gives 0x80000000) flipped
      movaps(be, XS, dst);
      opI(be, V.CMPPS, XS, XS, CmpPred.EQ);
      vop(b, V.ANDPS, dst, XS);
      vop(b, V.PXOR, XS, dst);
      vop(b, V.CVTTPS2DQ, dst, dst);
      vop(b, V.PAND, XS, dst);
      vshiftImm(b, V.PSHIFTD_I, ShiftExt.SRA, XS, 31);
      vop(b, V.PXOR, dst, XS);
      return;
    case VecUnOp.TruncSatU:
      // NaN and negative lanes 0; lanes ≥ 2^31 converted less 2^31 and added back; ≥ 2^32 all ones
      vop(b, V.XORPS, XS, XS);
      vop(b, V.MAXPS, dst, XS);
      vop(b, V.PCMPEQD, XS, XS);
      vshiftImm(b, V.PSHIFTD_I, ShiftExt.SRL, XS, 1);
      vop(b, V.CVTDQ2PS, XS, XS);
      movaps(be, t0, dst);
      vop(b, V.SUBPS, t0, XS);
      opI(be, V.CMPPS, XS, t0, CmpPred.LE);
      vop(b, V.CVTTPS2DQ, t0, t0);
      vop(b, V.PXOR, t0, XS);
      vop(b, V.PXOR, XS, XS);
      op(be, V.PMAXSD, t0, XS);
      vop(b, V.CVTTPS2DQ, dst, dst);
      vop(b, V.PADDD, dst, t0);
      return;
    case VecUnOp.TruncSatZeroS:
      // NaN → 0 and the top clamped by minpd (which returns its second operand for a NaN)
      movaps(be, XS, dst);
      opI(be, V.CMPPD, XS, XS, CmpPred.EQ);
      opConst64(be, V.ANDPS, XS, 0xffc00000 | 0, 0x41dfffff); // 2147483647.0
      vop(b, V.MINPD, dst, XS);
      vop(b, V.CVTTPD2DQ, dst, dst);
      return;
    case VecUnOp.TruncSatZeroU:
      // clamped to [0, 2^32 − 1], truncated, then its low 32 bits are the mantissa's of x + 2^52
      vop(b, V.XORPS, XS, XS);
      vop(b, V.MAXPD, dst, XS);
      opConst64(be, V.MINPD, dst, 0xffe00000 | 0, 0x41efffff); // 4294967295.0
      opI(be, V.ROUNDPD, dst, dst, 3 | 8);
      opConst64(be, V.ADDPD, dst, 0, 0x43300000); // 2^52
      vopI(b, V.SHUFPS, dst, XS, 0x88);
      return;
    case VecUnOp.ConvertS: vop(b, V.CVTDQ2PS, dst, dst); return;
    case VecUnOp.ConvertU:
      // the low 16 bits exactly, the high ones halved (to fit signed) and doubled: one rounding
      vop(b, V.PXOR, XS, XS);
      opI(be, V.PBLENDW, XS, dst, 0x55);
      vop(b, V.PSUBD, dst, XS);
      vop(b, V.CVTDQ2PS, XS, XS);
      vshiftImm(b, V.PSHIFTD_I, ShiftExt.SRL, dst, 1);
      vop(b, V.CVTDQ2PS, dst, dst);
      vop(b, V.ADDPS, dst, dst);
      vop(b, V.ADDPS, dst, XS);
      return;
    case VecUnOp.ConvertLowS: vop(b, V.CVTDQ2PD, dst, dst); return;
    case VecUnOp.ConvertLowU:
      // 2^52 + u as a double, exactly, less 2^52
      opConst32(be, V.UNPCKLPS, dst, 0x43300000);
      opConst64(be, V.SUBPD, dst, 0, 0x43300000);
      return;
    case VecUnOp.Demote: vop(b, V.CVTPD2PS, dst, dst); return;
    case VecUnOp.Promote: vop(b, V.CVTPS2PD, dst, dst); return;
  }
}

// --- binary --------------------------------------------------------------------------------------

const PADDS = [V.PADDSB, V.PADDSW], PADDUS = [V.PADDUSB, V.PADDUSW], PSUBS = [V.PSUBSB, V.PSUBSW], PSUBUS = [V.PSUBUSB, V.PSUBUSW];
const PMINS = [V.PMINSB, V.PMINSW, V.PMINSD], PMINU = [V.PMINUB, V.PMINUW, V.PMINUD];
const PMAXS = [V.PMAXSB, V.PMAXSW, V.PMAXSD], PMAXU = [V.PMAXUB, V.PMAXUW, V.PMAXUD];
const PCMPGT = [V.PCMPGTB, V.PCMPGTW, V.PCMPGTD];

/** The one-instruction operations (simpleBinary), by kind and shape. */
function simpleOp(kind: VecBinOp, shape: Shape): V {
  const f32 = shape === Shape.F32x4, f64 = shape === Shape.F64x2;
  switch (kind) {
    case VecBinOp.Add: return f32 ? V.ADDPS : f64 ? V.ADDPD : PADD[shape];
    case VecBinOp.Sub: return f32 ? V.SUBPS : f64 ? V.SUBPD : PSUB[shape];
    case VecBinOp.Mul: return f32 ? V.MULPS : f64 ? V.MULPD : shape === Shape.I16x8 ? V.PMULLW : V.PMULLD;
    case VecBinOp.Div: return f32 ? V.DIVPS : V.DIVPD;
    case VecBinOp.AddSatS: return PADDS[shape];
    case VecBinOp.AddSatU: return PADDUS[shape];
    case VecBinOp.SubSatS: return PSUBS[shape];
    case VecBinOp.SubSatU: return PSUBUS[shape];
    case VecBinOp.MinS: return PMINS[shape];
    case VecBinOp.MinU: return PMINU[shape];
    case VecBinOp.MaxS: return PMAXS[shape];
    case VecBinOp.MaxU: return PMAXU[shape];
    case VecBinOp.AvgrU: return shape === Shape.I8x16 ? V.PAVGB : V.PAVGW;
    case VecBinOp.Dot: return V.PMADDWD;
    case VecBinOp.NarrowS: return shape === Shape.I8x16 ? V.PACKSSWB : V.PACKSSDW;
    case VecBinOp.NarrowU: return shape === Shape.I8x16 ? V.PACKUSWB : V.PACKUSDW;
    case VecBinOp.And: return V.PAND;
    case VecBinOp.Or: return V.POR;
    case VecBinOp.Xor: return V.PXOR;
    default: return f32 ? V.CMPPS : f64 ? V.CMPPD : PCMPEQ[shape]; // Eq
  }
}

export function vecBinary(be: X64Backend, kind: VecBinOp, shape: Shape, dst: number, av: Operand, bv: Operand, t0: number): void {
  const b = be.buf;
  const float = shape >= Shape.F32x4;
  if ((be.cpuFeatures & AVX) !== 0 && simpleBinary(kind, shape)) return avxBinary(be, kind, shape, dst, av.reg, bv);
  if (kind === VecBinOp.AndNot) {
    // a & ~b: pandn computes ~dst & src
    if (bv.kind === OperandKind.Imm) return opConst(be, V.PAND, dst, ~bv.lo, ~bv.hi, ~bv.lo2, ~bv.hi2);
    movaps(be, XS, bv.reg);
    vop(b, V.PANDN, XS, dst);
    movaps(be, dst, XS);
    return;
  }
  if (simpleBinary(kind, shape)) {
    const o = simpleOp(kind, shape);
    if (float && kind === VecBinOp.Eq) {
      if (bv.kind === OperandKind.Reg) opI(be, o, dst, bv.reg, CmpPred.EQ);
      else opConst(be, o, dst, bv.lo, bv.hi, bv.lo2, bv.hi2, CmpPred.EQ);
      return;
    }
    return opB(be, o, dst, bv);
  }
  const rb = bv.reg;
  if (float) return floatBinary(be, kind, shape === Shape.F64x2, dst, rb);
  switch (kind) {
    case VecBinOp.Mul: // i64x2: the low products and the cross products shifted up
      movaps(be, XS, dst);
      vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SRL, XS, 32);
      vop(b, V.PMULUDQ, XS, rb);
      movaps(be, t0, rb);
      vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SRL, t0, 32);
      vop(b, V.PMULUDQ, t0, dst);
      vop(b, V.PADDQ, XS, t0);
      vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SLL, XS, 32);
      vop(b, V.PMULUDQ, dst, rb);
      vop(b, V.PADDQ, dst, XS);
      return;
    case VecBinOp.Q15MulrSatS: // pmulhrsw, except 0x8000 · 0x8000 saturates
      op(be, V.PMULHRSW, dst, rb);
      opConst32(be, V.MOVAPS, XS, 0x80008000 | 0);
      vop(b, V.PCMPEQW, XS, dst);
      vop(b, V.PXOR, dst, XS);
      return;
    case VecBinOp.ExtMulLowS: case VecBinOp.ExtMulHighS: case VecBinOp.ExtMulLowU: case VecBinOp.ExtMulHighU:
      return extMul(be, kind, shape, dst, rb);
    case VecBinOp.Swizzle: // indices ≥ 16 saturate to ≥ 0x80, which pshufb zeroes
      opConst32(be, V.MOVAPS, XS, 0x70707070);
      vop(b, V.PADDUSB, XS, rb);
      op(be, V.PSHUFB, dst, XS);
      return;
    case VecBinOp.Ne:
      op(be, PCMPEQ[shape], dst, rb);
      vop(b, V.PCMPEQD, XS, XS);
      vop(b, V.PXOR, dst, XS);
      return;
  }
  if (shape === Shape.I64x2) return compareI64(be, kind, dst, rb, t0);
  compareInt(be, kind, shape, dst, rb);
}

/** A one-instruction operation in its VEX form: dst ← a op b (vecForm gave Form.Fresh). */
function avxBinary(be: X64Backend, kind: VecBinOp, shape: Shape, dst: number, a: number, bv: Operand): void {
  be.usedCpuFeatures |= AVX;
  need(be, simpleOp(kind, shape));
  let o: V, src1 = a, rm = -1, inv = 0;
  if (kind === VecBinOp.AndNot) {
    // vpandn computes ~src1 & src2: a & ~b is ~b & a; a constant b is inverted into vpand's
    if (bv.kind === OperandKind.Imm) {
      o = V.PAND;
      inv = -1;
    } else {
      o = V.PANDN;
      src1 = bv.reg;
      rm = a;
    }
  } else {
    o = simpleOp(kind, shape);
  }
  const imm = shape >= Shape.F32x4 && kind === VecBinOp.Eq ? CmpPred.EQ : -1;
  if (rm < 0 && bv.kind === OperandKind.Reg) rm = bv.reg;
  if (rm >= 0) return vop3(be.buf, o, dst, src1, rm, imm);
  const entry = be.ool.pool.add(bv.lo ^ inv, bv.hi ^ inv, bv.lo2 ^ inv, bv.hi2 ^ inv);
  const at = vop3Rip(be.buf, o, dst, src1, imm);
  be.ool.pool.ref(at, at + 4 + (imm >= 0 ? 1 : 0), entry);
}

/** dst ← ~dst. */
function not(be: X64Backend, dst: number): void {
  vop(be.buf, V.PCMPEQD, XS, XS);
  vop(be.buf, V.PXOR, dst, XS);
}

/**
 * Ordered comparisons of i8/i16/i32 lanes: gt_s directly, lt_s swapped; a ≤ b as min(a, b) = a
 * and a ≥ b as max(a, b) = a (signed or unsigned), the strict unsigned ones as their negation.
 */
function compareInt(be: X64Backend, kind: VecBinOp, shape: Shape, dst: number, rb: number): void {
  const b = be.buf;
  switch (kind) {
    case VecBinOp.GtS: return op(be, PCMPGT[shape], dst, rb);
    case VecBinOp.LtS:
      movaps(be, XS, rb);
      vop(b, PCMPGT[shape], XS, dst);
      movaps(be, dst, XS);
      return;
  }
  const useMin = kind === VecBinOp.LeS || kind === VecBinOp.LeU || kind === VecBinOp.GtU;
  const signed = kind === VecBinOp.LeS || kind === VecBinOp.GeS;
  movaps(be, XS, dst);
  op(be, (useMin ? (signed ? PMINS : PMINU) : signed ? PMAXS : PMAXU)[shape], XS, rb);
  op(be, PCMPEQ[shape], dst, XS);
  if (kind === VecBinOp.GtU || kind === VecBinOp.LtU) not(be, dst);
}

/**
 * i64x2 ordered comparisons without SSE4.2's pcmpgtq: x > y is, in the high dwords, hi(x) > hi(y)
 * or (hi(x) = hi(y) and hi(y − x) all ones, a borrow: lo(x) > lo(y) unsigned), then each high
 * dword copied to its low one (V8's sequence).
 */
function compareI64(be: X64Backend, kind: VecBinOp, dst: number, rb: number, t0: number): void {
  const swap = kind === VecBinOp.LtS || kind === VecBinOp.GeS;
  if (swap) greaterI64(be, dst, rb, dst, t0);
  else greaterI64(be, dst, dst, rb, t0);
  if (kind === VecBinOp.LeS || kind === VecBinOp.GeS) not(be, dst);
}

/** dst ← x > y (i64 lanes); dst may be x or y; t0 and xmm15 are clobbered. */
function greaterI64(be: X64Backend, dst: number, rx: number, ry: number, t0: number): void {
  const b = be.buf;
  movaps(be, t0, ry);
  vop(b, V.PSUBQ, t0, rx);
  movaps(be, XS, rx);
  vop(b, V.PCMPEQD, XS, ry);
  vop(b, V.PAND, t0, XS);
  movaps(be, XS, rx);
  vop(b, V.PCMPGTD, XS, ry);
  vop(b, V.POR, t0, XS);
  vopI(b, V.PSHUFD, dst, t0, 0xf5);
}

/** Widening multiplies (shape: the result's). */
function extMul(be: X64Backend, kind: VecBinOp, shape: Shape, dst: number, rb: number): void {
  const b = be.buf;
  const signed = kind === VecBinOp.ExtMulLowS || kind === VecBinOp.ExtMulHighS;
  const high = kind === VecBinOp.ExtMulHighS || kind === VecBinOp.ExtMulHighU;
  if (shape === Shape.I16x8) {
    const ext = signed ? V.PMOVSXBW : V.PMOVZXBW;
    if (high) {
      vopI(b, V.PSHUFD, XS, rb, 0xee);
      op(be, ext, XS, XS);
      vopI(b, V.PSHUFD, dst, dst, 0xee);
    } else op(be, ext, XS, rb);
    op(be, ext, dst, dst);
    vop(b, V.PMULLW, dst, XS);
  } else if (shape === Shape.I32x4) {
    // the low and high halves of the 16-bit products, interleaved
    movaps(be, XS, dst);
    vop(b, V.PMULLW, XS, rb);
    vop(b, signed ? V.PMULHW : V.PMULHUW, dst, rb);
    vop(b, high ? V.PUNPCKHWD : V.PUNPCKLWD, XS, dst);
    movaps(be, dst, XS);
  } else {
    // lanes 0, 1 (or 2, 3) to the even dwords, multiplied 32 × 32 → 64
    const sel = high ? 0xfa : 0x50;
    vopI(b, V.PSHUFD, XS, rb, sel);
    vopI(b, V.PSHUFD, dst, dst, sel);
    op(be, signed ? V.PMULDQ : V.PMULUDQ, dst, XS);
  }
}

/** Float operations past one instruction: wasm's min/max, pmin/pmax, the comparisons. */
function floatBinary(be: X64Backend, kind: VecBinOp, f64: boolean, dst: number, rb: number): void {
  const b = be.buf;
  const MIN = f64 ? V.MINPD : V.MINPS, MAX = f64 ? V.MAXPD : V.MAXPS, CMP = f64 ? V.CMPPD : V.CMPPS;
  switch (kind) {
    case VecBinOp.Min:
      // minps in both orders (it returns its second operand for NaNs and equal zeros), merged:
      // NaNs and −0 propagate; then NaN lanes made canonical
      movaps(be, XS, rb);
      vop(b, MIN, XS, dst);
      vop(b, MIN, dst, rb);
      vop(b, V.ORPS, XS, dst);
      vopI(b, CMP, dst, XS, CmpPred.UNORD);
      vop(b, V.ORPS, XS, dst);
      vshiftImm(b, f64 ? V.PSHIFTQ_I : V.PSHIFTD_I, ShiftExt.SRL, dst, f64 ? 13 : 10);
      vop(b, V.ANDNPS, dst, XS);
      return;
    case VecBinOp.Max:
      movaps(be, XS, rb);
      vop(b, MAX, XS, dst);
      vop(b, MAX, dst, rb);
      vop(b, V.XORPS, dst, XS);
      vop(b, V.ORPS, XS, dst);
      vop(b, f64 ? V.SUBPD : V.SUBPS, XS, dst);
      vopI(b, CMP, dst, XS, CmpPred.UNORD);
      vshiftImm(b, f64 ? V.PSHIFTQ_I : V.PSHIFTD_I, ShiftExt.SRL, dst, f64 ? 13 : 10);
      vop(b, V.ANDNPS, dst, XS);
      return;
    case VecBinOp.PMin: // b < a ? b : a is minps(b, a)
    case VecBinOp.PMax:
      movaps(be, XS, rb);
      vop(b, kind === VecBinOp.PMin ? MIN : MAX, XS, dst);
      movaps(be, dst, XS);
      return;
    case VecBinOp.Ne: vopI(b, CMP, dst, rb, CmpPred.NEQ); return;
    case VecBinOp.LtS: vopI(b, CMP, dst, rb, CmpPred.LT); return;
    case VecBinOp.LeS: vopI(b, CMP, dst, rb, CmpPred.LE); return;
    default: // GtS, GeS: b < a, b ≤ a
      movaps(be, XS, rb);
      vopI(b, CMP, XS, dst, kind === VecBinOp.GtS ? CmpPred.LT : CmpPred.LE);
      movaps(be, dst, XS);
  }
}

// --- shifts --------------------------------------------------------------------------------------

/** Shifts by an xmm count, and the immediate forms' opcode, per lane size (i16, i32, i64). */
const SHIFT_X = [
  [0, V.PSLLW, V.PSLLD, V.PSLLQ],
  [0, V.PSRAW, V.PSRAD, 0],
  [0, V.PSRLW, V.PSRLD, V.PSRLQ],
];
const SHIFT_I = [0, V.PSHIFTW_I, V.PSHIFTD_I, V.PSHIFTQ_I];
const SHIFT_EXT = [ShiftExt.SLL, ShiftExt.SRA, ShiftExt.SRL];

export function vecShift(be: X64Backend, kind: VecShiftOp, shape: Shape, dst: number, _a: Operand, count: Operand, t0: number): void {
  const b = be.buf;
  const bits = 8 << shape;
  const imm = count.kind === OperandKind.Imm;
  const n = count.lo & (bits - 1);
  if (imm && n === 0) return;
  if (shape === Shape.I8x16) return shiftI8(be, kind, dst, count, t0);
  if (shape === Shape.I64x2 && kind === VecShiftOp.ShrS) return shiftRightI64(be, dst, count, t0);
  if (imm) return vshiftImm(b, SHIFT_I[shape], SHIFT_EXT[kind], dst, n);
  countInXmm(be, count, bits, 0, XS);
  vop(b, SHIFT_X[kind][shape], dst, XS);
}

/** xmm `x` ← (count & (bits − 1)) + add, through eax (left there too). */
function countInXmm(be: X64Backend, count: Operand, bits: number, add: number, xr: number): void {
  const b = be.buf;
  x.movRR(b, 4, SCRATCH, count.reg);
  x.aluRI(b, Alu.AND, 4, SCRATCH, bits - 1);
  if (add) x.aluRI(b, Alu.ADD, 4, SCRATCH, add);
  vop(b, V.MOVD_TO, xr, SCRATCH);
}

/**
 * i8 lanes have no shift: shl shifts 16-bit lanes and masks; the right shifts widen each byte to
 * the high byte of a 16-bit lane (punpck with itself), shift by n + 8 and pack back.
 */
function shiftI8(be: X64Backend, kind: VecShiftOp, dst: number, count: Operand, t0: number): void {
  const b = be.buf;
  const imm = count.kind === OperandKind.Imm;
  const n = count.lo & 7;
  if (kind === VecShiftOp.Shl) {
    if (imm) {
      vshiftImm(b, V.PSHIFTW_I, ShiftExt.SLL, dst, n);
      opConst32(be, V.PAND, dst, Math.imul((0xff << n) & 0xff, 0x01010101));
      return;
    }
    // clear each byte's top n bits (a mask 0xff >> n from 0xffff >> (n + 8)), then shift
    countInXmm(be, count, 8, 8, XS);
    vop(b, V.PCMPEQD, t0, t0);
    vop(b, V.PSRLW, t0, XS);
    vop(b, V.PACKUSWB, t0, t0);
    vop(b, V.PAND, dst, t0);
    x.aluRI(b, Alu.SUB, 4, SCRATCH, 8);
    vop(b, V.MOVD_TO, XS, SCRATCH);
    vop(b, V.PSLLW, dst, XS);
    return;
  }
  if (imm && kind === VecShiftOp.ShrU) {
    vshiftImm(b, V.PSHIFTW_I, ShiftExt.SRL, dst, n);
    opConst32(be, V.PAND, dst, Math.imul(0xff >> n, 0x01010101));
    return;
  }
  const signed = kind === VecShiftOp.ShrS;
  const high = imm ? XS : t0;
  movaps(be, high, dst);
  vop(b, V.PUNPCKHBW, high, dst);
  vop(b, V.PUNPCKLBW, dst, dst);
  if (imm) {
    vshiftImm(b, V.PSHIFTW_I, signed ? ShiftExt.SRA : ShiftExt.SRL, high, n + 8);
    vshiftImm(b, V.PSHIFTW_I, signed ? ShiftExt.SRA : ShiftExt.SRL, dst, n + 8);
  } else {
    countInXmm(be, count, 8, 8, XS);
    vop(b, signed ? V.PSRAW : V.PSRLW, high, XS);
    vop(b, signed ? V.PSRAW : V.PSRLW, dst, XS);
  }
  vop(b, signed ? V.PACKSSWB : V.PACKUSWB, dst, high);
}

/** i64x2.shr_s without psraq: ((x >>> n) ^ m) − m with m = 2^63 >>> n. */
function shiftRightI64(be: X64Backend, dst: number, count: Operand, t0: number): void {
  const b = be.buf;
  vop(b, V.PCMPEQD, XS, XS);
  vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SLL, XS, 63);
  if (count.kind === OperandKind.Imm) {
    const n = count.lo & 63;
    vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SRL, XS, n);
    vshiftImm(b, V.PSHIFTQ_I, ShiftExt.SRL, dst, n);
  } else {
    countInXmm(be, count, 64, 0, t0);
    vop(b, V.PSRLQ, XS, t0);
    vop(b, V.PSRLQ, dst, t0);
  }
  vop(b, V.PXOR, dst, XS);
  vop(b, V.PSUBQ, dst, XS);
}

// --- tests ---------------------------------------------------------------------------------------

export function vecTest(be: X64Backend, kind: VecTestOp, shape: Shape, dst: number, a: Operand): void {
  const b = be.buf;
  const r = a.reg;
  switch (kind) {
    case VecTestOp.AnyTrue:
      op(be, V.PTEST, r, r);
      setFromCond(be, Cond.NE, dst);
      return;
    case VecTestOp.AllTrue: // no lane equal to zero
      vop(b, V.PXOR, XS, XS);
      op(be, PCMPEQ[shape], XS, r);
      op(be, V.PTEST, XS, XS);
      setFromCond(be, Cond.E, dst);
      return;
  }
  switch (shape) {
    case Shape.I8x16: vop(b, V.PMOVMSKB, dst, r); return;
    case Shape.I16x8: // packed to bytes in the high half
      vop(b, V.PACKSSWB, XS, r);
      vop(b, V.PMOVMSKB, dst, XS);
      x.shiftRI(b, x.Shift.SHR, 4, dst, 8);
      return;
    case Shape.I32x4: vop(b, V.MOVMSKPS, dst, r); return;
    default: vop(b, V.MOVMSKPD, dst, r);
  }
}

