import type { CodeBuffer } from '@wagc/frontend';
import { sf, badOperand, type Cond } from './core';

// v registers are 0–31 (as s or d registers by `sz`); general-purpose operands are zr when 31.

/** Two-source arithmetic: opcode field. FMIN/FMAX propagate NaN and order −0 < +0, as wasm wants. */
export const enum FArith {
  FMUL = 0, FDIV = 0x1000, FADD = 0x2000, FSUB = 0x3000, FMAX = 0x4000, FMIN = 0x5000,
  FMAXNM = 0x6000, FMINNM = 0x7000, FNMUL = 0x8000,
}

/** One-source operations: opcode field. FRINTN/P/M/Z round to nearest-even, +∞, −∞, zero. */
export const enum FUnary {
  FMOV = 0, FABS = 0x8000, FNEG = 0x10000, FSQRT = 0x18000,
  FRINTN = 0x40000, FRINTP = 0x48000, FRINTM = 0x50000, FRINTZ = 0x58000, FRINTA = 0x60000, FRINTX = 0x70000, FRINTI = 0x78000,
}

/** Integer ↔ float conversions: rmode and opcode fields. FCVTZS/FCVTZU saturate and give 0 for NaN. */
export const enum FConv { SCVTF = 0x20000, UCVTF = 0x30000, FCVTZS = 0x180000, FCVTZU = 0x190000 }

/** ftype: single 00, double 01 (bit 22). */
function ftype(sz: number): number {
  return sz === 8 ? 0x00400000 : 0;
}

export function farith(b: CodeBuffer, op: FArith, sz: number, rd: number, rn: number, rm: number): void {
  b.emit32(0x1e200800 | op | ftype(sz) | (rm << 16) | (rn << 5) | rd);
}

export function funary(b: CodeBuffer, op: FUnary, sz: number, rd: number, rn: number): void {
  b.emit32(0x1e204000 | op | ftype(sz) | (rn << 5) | rd);
}

/** FCVT: fromSz 4 converts single rn to double rd, 8 double to single. */
export function fcvt(b: CodeBuffer, fromSz: number, rd: number, rn: number): void {
  b.emit32((fromSz === 4 ? 0x1e22c000 : 0x1e624000) | (rn << 5) | rd);
}

/** Flags from rn ? rm: unordered sets C and V (so VS = unordered, and LO/LS/MI are false). */
export function fcmp(b: CodeBuffer, sz: number, rn: number, rm: number): void {
  b.emit32(0x1e202000 | ftype(sz) | (rm << 16) | (rn << 5));
}

/** Flags from rn ? 0.0. */
export function fcmpZero(b: CodeBuffer, sz: number, rn: number): void {
  b.emit32(0x1e202008 | ftype(sz) | (rn << 5));
}

export function fcsel(b: CodeBuffer, sz: number, rd: number, rn: number, rm: number, cond: Cond): void {
  b.emit32(0x1e200c00 | ftype(sz) | (rm << 16) | (cond << 12) | (rn << 5) | rd);
}

/** SCVTF/UCVTF: float rd (sz) from integer rn (w); FCVTZS/FCVTZU: integer rd (w) from float rn (sz). */
export function fconvInt(b: CodeBuffer, op: FConv, sz: number, w: number, rd: number, rn: number): void {
  b.emit32(0x1e200000 | op | sf(w) | ftype(sz) | (rn << 5) | rd);
}

/** FMOV s/d vd ← w/x rn, bits unchanged (w = 4: sd ← wn; 8: dd ← xn); clears the rest of vd. */
export function fmovToFp(b: CodeBuffer, w: number, vd: number, rn: number): void {
  b.emit32((w === 8 ? 0x9e670000 : 0x1e270000) | (rn << 5) | vd);
}

/** FMOV w/x rd ← s/d vn, bits unchanged. */
export function fmovFromFp(b: CodeBuffer, w: number, rd: number, vn: number): void {
  b.emit32((w === 8 ? 0x9e660000 : 0x1e260000) | (vn << 5) | rd);
}

/**
 * The 8-bit FMOV immediate for a float given by its bits (single: lo; double: lo, hi), or -1:
 * ±(16..31)/16 · 2^(−3..4), i.e. sign, a 3-bit exponent and a 4-bit fraction, with the rest of
 * the exponent a run of copies of its top bit's complement and the rest of the fraction zero.
 */
export function encodeFpImm(sz: number, lo: number, hi: number): number {
  let x: number, rep: number, repMask: number, frac: number;
  if (sz === 8) {
    if (lo !== 0 || (hi & 0xffff) !== 0) return -1;
    x = hi;
    rep = (hi >>> 22) & 0xff;
    repMask = 0xff;
    frac = (hi >>> 16) & 0x3f;
  } else {
    x = lo;
    if ((x & 0x7ffff) !== 0) return -1;
    rep = (x >>> 25) & 0x1f;
    repMask = 0x1f;
    frac = (x >>> 19) & 0x3f;
  }
  const bit = (x >>> 29) & 1;
  if (rep !== (bit ? repMask : 0) || ((x >>> 30) & 1) === bit) return -1;
  return ((x >>> 31) << 7) | (bit << 6) | frac;
}

/** FMOV s/d rd, #imm with imm8 from encodeFpImm. */
export function fmovImm(b: CodeBuffer, sz: number, rd: number, imm8: number): void {
  if (imm8 < 0 || imm8 > 0xff) badOperand('fmov immediate', imm8);
  b.emit32(0x1e201000 | ftype(sz) | (imm8 << 13) | rd);
}
