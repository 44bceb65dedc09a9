import type { CodeBuffer } from '@wagc/frontend';
import { rex, modrmReg, modrmMem } from './core';

/**
 * Packed SSE instructions (SSE2, SSE3, SSSE3, SSE4.1) on xmm registers. Each instruction is one
 * number (`V`): its mandatory prefix (bits 16–17: none, 66, F3, F2), opcode map (bits 8–9: 0F,
 * 0F 38, 0F 3A), opcode (bits 0–7) and REX.W (bit 18), so the encoders take no arrays and
 * allocate nothing. `reg` and `rm` are the ModRM fields as the instruction defines them (the
 * macro layer, simd.ts, knows which operand is which); registers are 0–15, xmm or general-purpose
 * as the instruction says. Which CPU feature each needs is `vecFeature`.
 *
 * Legacy SSE memory operands of 16 bytes must be 16-byte aligned: only the function's constant
 * pool (aligned) is used that way (`vopRip`); frame slots and linear memory go through movdqu.
 */
export const enum V {
  // SSE2, 66 0F
  PADDB = 0x101fc, PADDW = 0x101fd, PADDD = 0x101fe, PADDQ = 0x101d4,
  PSUBB = 0x101f8, PSUBW = 0x101f9, PSUBD = 0x101fa, PSUBQ = 0x101fb,
  PADDSB = 0x101ec, PADDSW = 0x101ed, PADDUSB = 0x101dc, PADDUSW = 0x101dd,
  PSUBSB = 0x101e8, PSUBSW = 0x101e9, PSUBUSB = 0x101d8, PSUBUSW = 0x101d9,
  PMULLW = 0x101d5, PMULHW = 0x101e5, PMULHUW = 0x101e4, PMULUDQ = 0x101f4, PMADDWD = 0x101f5,
  PMINUB = 0x101da, PMAXUB = 0x101de, PMINSW = 0x101ea, PMAXSW = 0x101ee, PAVGB = 0x101e0, PAVGW = 0x101e3,
  PCMPEQB = 0x10174, PCMPEQW = 0x10175, PCMPEQD = 0x10176, PCMPGTB = 0x10164, PCMPGTW = 0x10165, PCMPGTD = 0x10166,
  PAND = 0x101db, PANDN = 0x101df, POR = 0x101eb, PXOR = 0x101ef,
  PACKSSWB = 0x10163, PACKUSWB = 0x10167, PACKSSDW = 0x1016b,
  PUNPCKLBW = 0x10160, PUNPCKLWD = 0x10161, PUNPCKLDQ = 0x10162, PUNPCKLQDQ = 0x1016c,
  PUNPCKHBW = 0x10168, PUNPCKHWD = 0x10169, PUNPCKHDQ = 0x1016a, PUNPCKHQDQ = 0x1016d,
  /** Shifts by the count in an xmm register's low 64 bits. */
  PSLLW = 0x101f1, PSLLD = 0x101f2, PSLLQ = 0x101f3, PSRLW = 0x101d1, PSRLD = 0x101d2, PSRLQ = 0x101d3,
  PSRAW = 0x101e1, PSRAD = 0x101e2,
  /** Shifts by an immediate: opcode and the reg field's extension (vshiftImm). */
  PSHIFTW_I = 0x10171, PSHIFTD_I = 0x10172, PSHIFTQ_I = 0x10173,
  PSHUFD = 0x10170, PSHUFLW = 0x30170, PSHUFHW = 0x20170,
  /** reg: general-purpose destination, rm: xmm. */
  PMOVMSKB = 0x101d7, PEXTRW = 0x101c5, MOVMSKPS = 0x00150, MOVMSKPD = 0x10150,
  /** reg: xmm, rm: general-purpose (W: 64-bit) or memory. */
  MOVD_TO = 0x1016e, MOVQ_TO = 0x5016e, PINSRW = 0x101c4,
  /** reg: xmm, rm: general-purpose or memory destination. */
  MOVD_FROM = 0x1017e, MOVQ_FROM = 0x5017e,
  /** movq xmm, m64 / xmm (zeroes bits 64–127); movq m64, xmm. */
  MOVQ_LOAD = 0x2017e, MOVQ_STORE = 0x101d6,
  MOVDQU_LOAD = 0x2016f, MOVDQU_STORE = 0x2017f, MOVAPS = 0x00128,
  MOVSS = 0x20110, MOVSD = 0x30110, MOVHLPS = 0x00112, MOVLHPS = 0x00116, MOVHPS_STORE = 0x00117,
  CVTDQ2PS = 0x0015b, CVTTPS2DQ = 0x2015b, CVTDQ2PD = 0x201e6, CVTTPD2DQ = 0x101e6, CVTPS2PD = 0x0015a, CVTPD2PS = 0x1015a,
  ADDPS = 0x00158, MULPS = 0x00159, SUBPS = 0x0015c, MINPS = 0x0015d, DIVPS = 0x0015e, MAXPS = 0x0015f, SQRTPS = 0x00151,
  ADDPD = 0x10158, MULPD = 0x10159, SUBPD = 0x1015c, MINPD = 0x1015d, DIVPD = 0x1015e, MAXPD = 0x1015f, SQRTPD = 0x10151,
  ANDPS = 0x00154, ANDNPS = 0x00155, ORPS = 0x00156, XORPS = 0x00157,
  /** With a predicate immediate (CmpPred). */
  CMPPS = 0x001c2, CMPPD = 0x101c2,
  SHUFPS = 0x001c6, UNPCKLPS = 0x00114,
  // SSE3
  MOVSHDUP = 0x20116, MOVDDUP = 0x30112,
  // SSSE3, 66 0F 38 and 66 0F 3A
  PSHUFB = 0x10200, PMADDUBSW = 0x10204, PMULHRSW = 0x1020b, PABSB = 0x1021c, PABSW = 0x1021d, PABSD = 0x1021e,
  PALIGNR = 0x1030f,
  // SSE4.1, 66 0F 38
  PMOVSXBW = 0x10220, PMOVSXWD = 0x10223, PMOVSXDQ = 0x10225, PMOVZXBW = 0x10230, PMOVZXWD = 0x10233, PMOVZXDQ = 0x10235,
  PMULDQ = 0x10228, PCMPEQQ = 0x10229, PACKUSDW = 0x1022b, PTEST = 0x10217,
  PMINSB = 0x10238, PMINSD = 0x10239, PMINUW = 0x1023a, PMINUD = 0x1023b,
  PMAXSB = 0x1023c, PMAXSD = 0x1023d, PMAXUW = 0x1023e, PMAXUD = 0x1023f, PMULLD = 0x10240,
  // SSE4.1, 66 0F 3A (an immediate follows)
  ROUNDPS = 0x10308, ROUNDPD = 0x10309, PBLENDW = 0x1030e, INSERTPS = 0x10321,
  /** reg: xmm, rm: general-purpose or memory source. */
  PINSRB = 0x10320, PINSRD = 0x10322, PINSRQ = 0x50322,
  /** reg: xmm source, rm: general-purpose or memory destination. */
  PEXTRB = 0x10314, PEXTRW_M = 0x10315, PEXTRD = 0x10316, PEXTRQ = 0x50316,
}

/** The extension (ModRM reg field) of the immediate shifts PSHIFTW_I/D_I/Q_I. */
export const enum ShiftExt { SRL = 2, SRA = 4, SLL = 6, SRLDQ = 3, SLLDQ = 7 }

/** cmpps/cmppd predicates. */
export const enum CmpPred { EQ = 0, LT = 1, LE = 2, UNORD = 3, NEQ = 4, NLT = 5, NLE = 6, ORD = 7 }

/** CPU feature levels of the packed instructions (vecFeature). */
export const enum VecLevel { SSE2 = 0, SSE3 = 1, SSSE3 = 2, SSE41 = 3 }

const PREFIX = [0, 0x66, 0xf3, 0xf2];

function head(b: CodeBuffer, op: V, reg: number, index: number, base: number): void {
  const p = (op >> 16) & 3;
  if (p) b.emit8(PREFIX[p]);
  rex(b, (op & 0x40000) !== 0, reg, index, base);
  b.emit8(0x0f);
  const map = (op >> 8) & 3;
  if (map === 2) b.emit8(0x38);
  else if (map === 3) b.emit8(0x3a);
  b.emit8(op & 0xff);
}

/** op with register operands in the ModRM reg and rm fields. */
export function vop(b: CodeBuffer, op: V, reg: number, rm: number): void {
  head(b, op, reg, -1, rm);
  modrmReg(b, reg, rm);
}

/** op reg, rm, imm8. */
export function vopI(b: CodeBuffer, op: V, reg: number, rm: number, imm: number): void {
  vop(b, op, reg, rm);
  b.emit8(imm & 0xff);
}

/** op with a memory operand [base + index·scale + disp] in the rm field. */
export function vopM(b: CodeBuffer, op: V, reg: number, base: number, index: number, scale: number, disp: number): void {
  head(b, op, reg, index, base);
  modrmMem(b, reg, base, index, scale, disp);
}

/** op with a memory operand, then imm8. */
export function vopMI(b: CodeBuffer, op: V, reg: number, base: number, index: number, scale: number, disp: number, imm: number): void {
  vopM(b, op, reg, base, index, scale, disp);
  b.emit8(imm & 0xff);
}

/**
 * op with a RIP-relative memory operand (a constant of the function's pool), an imm8 after it
 * when `imm` ≥ 0. Returns the position of the disp32, relative to the end of the instruction
 * (`vopRipTail` bytes after the displacement), for patchRel32-style fixing.
 */
export function vopRip(b: CodeBuffer, op: V, reg: number, imm = -1): number {
  head(b, op, reg, -1, 0);
  b.emit8(((reg & 7) << 3) | 5);
  const at = b.pos;
  b.emit32(0);
  if (imm >= 0) b.emit8(imm & 0xff);
  return at;
}

// --- AVX: the same instructions VEX-encoded, three operands (wagc --cpu-features avx) ----------

/**
 * The VEX prefix of `op` (its mandatory prefix as pp, its map as mmmmm, its W) with `src1` in
 * vvvv, 128-bit (L = 0): the two-byte form (C5) where it can say everything, else C4.
 */
function vex(b: CodeBuffer, op: V, reg: number, src1: number, index: number, base: number): void {
  const pp = (op >> 16) & 3;
  const map = (op >> 8) & 3;
  const w = (op & 0x40000) !== 0;
  const rBar = (reg & 8) ? 0 : 0x80;
  const xBar = index >= 0 && (index & 8) ? 0 : 0x40;
  const bBar = (base & 8) ? 0 : 0x20;
  const tail = ((~src1 & 15) << 3) | pp;
  if (map === 1 && !w && xBar && bBar) {
    b.emit8(0xc5);
    b.emit8(rBar | tail);
  } else {
    b.emit8(0xc4);
    b.emit8(rBar | xBar | bBar | map);
    b.emit8((w ? 0x80 : 0) | tail);
  }
  b.emit8(op & 0xff);
}

/** VEX op: `reg` ← `src1` op `rm` (registers), an imm8 after it when `imm` ≥ 0. */
export function vop3(b: CodeBuffer, op: V, reg: number, src1: number, rm: number, imm = -1): void {
  vex(b, op, reg, src1, -1, rm);
  modrmReg(b, reg, rm);
  if (imm >= 0) b.emit8(imm & 0xff);
}

/** VEX op with a RIP-relative second source (a pool constant); returns the disp32's position as vopRip. */
export function vop3Rip(b: CodeBuffer, op: V, reg: number, src1: number, imm = -1): number {
  vex(b, op, reg, src1, -1, 0);
  b.emit8(((reg & 7) << 3) | 5);
  const at = b.pos;
  b.emit32(0);
  if (imm >= 0) b.emit8(imm & 0xff);
  return at;
}

/** An immediate shift: PSHIFTW_I/D_I/Q_I with its extension, of xmm `r` by `count`. */
export function vshiftImm(b: CodeBuffer, op: V, ext: ShiftExt, r: number, count: number): void {
  vop(b, op, ext, r);
  b.emit8(count & 0xff);
}

/** The feature level an instruction needs (SSE2 is baseline x86-64). */
export function vecFeature(op: V): VecLevel {
  const map = (op >> 8) & 3;
  if (map === 3) return op === V.PALIGNR ? VecLevel.SSSE3 : VecLevel.SSE41;
  if (map === 2) {
    const code = op & 0xff;
    return code <= 0x1e ? (code === 0x17 ? VecLevel.SSE41 : VecLevel.SSSE3) : VecLevel.SSE41;
  }
  if (op === V.MOVSHDUP || op === V.MOVDDUP) return VecLevel.SSE3;
  return VecLevel.SSE2;
}
