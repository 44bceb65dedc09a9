import type { CodeBuffer } from '@wagc/frontend';
import { sf, badOperand, type Shift, type Extend } from './core';

/** Add/subtract: the op, S (flags) bits as they sit in every add/sub form. */
export const enum AddSub { ADD = 0, ADDS = 0x20000000, SUB = 0x40000000, SUBS = 0x60000000 }

/** Logical (shifted register): opc and N bits. BIC/ORN/EON/BICS invert the second operand. */
export const enum Logic {
  AND = 0, BIC = 0x00200000, ORR = 0x20000000, ORN = 0x20200000,
  EOR = 0x40000000, EON = 0x40200000, ANDS = 0x60000000, BICS = 0x60200000,
}

/**
 * rd = rn op (rm shift amount). Register 31 is zr in every position (use addSubExt or
 * addSubImm for sp). ROR is not a valid shift here.
 */
export function addSubReg(b: CodeBuffer, op: AddSub, w: number, rd: number, rn: number, rm: number, shift: Shift = 0, amount = 0): void {
  if (amount < 0 || amount >= w * 8) badOperand('shift amount', amount);
  if (shift === 3) badOperand('add/sub shift (ROR)', shift);
  b.emit32(0x0b000000 | op | sf(w) | (shift << 22) | (rm << 16) | (amount << 10) | (rn << 5) | rd);
}

/**
 * rd = rn op (extend(rm) << amount), amount 0–4. rd (for ADD/SUB) and rn are sp when 31, rm is
 * zr: the form for sp arithmetic with a register, and for base + zext(w-index).
 */
export function addSubExt(b: CodeBuffer, op: AddSub, w: number, rd: number, rn: number, rm: number, extend: Extend, amount = 0): void {
  if (amount < 0 || amount > 4) badOperand('extend amount', amount);
  b.emit32(0x0b200000 | op | sf(w) | (rm << 16) | (extend << 13) | (amount << 10) | (rn << 5) | rd);
}

/** True when `v` is an add/sub immediate: 0–4095, or a multiple of 4096 up to 4095·4096. */
export function fitsAddSubImm(v: number): boolean {
  return (v >= 0 && v <= 0xfff) || (v > 0 && v <= 0xfff000 && (v & 0xfff) === 0);
}

/**
 * rd = rn op imm, with imm as fitsAddSubImm accepts (the 12-bit field shifted left by 12 when
 * the low 12 bits are clear and imm > 4095). rn is sp when 31; rd is sp for ADD/SUB and zr for
 * ADDS/SUBS.
 */
export function addSubImm(b: CodeBuffer, op: AddSub, w: number, rd: number, rn: number, imm: number): void {
  if (!fitsAddSubImm(imm)) badOperand('add/sub immediate', imm);
  const shifted = imm > 0xfff ? 1 : 0;
  const imm12 = shifted ? imm >>> 12 : imm;
  b.emit32(0x11000000 | op | sf(w) | (shifted << 22) | (imm12 << 10) | (rn << 5) | rd);
}

/**
 * Rewrites the immediate of the add/sub-immediate word at `at` (emitted before the value was
 * known, e.g. a frame size): imm must suit the form already there, a multiple of 4096 up to
 * 4095·4096 for the shifted form, 0–4095 otherwise. Returns false, leaving the word, when not.
 */
export function patchAddSubImm(b: CodeBuffer, at: number, imm: number): boolean {
  const word = b.read32(at);
  if ((word & 0x1f800000) !== 0x11000000) throw new Error(`arm64: no add/sub immediate at ${at} (0x${(word >>> 0).toString(16)})`);
  const shifted = (word & 0x00400000) !== 0;
  const imm12 = shifted ? imm / 4096 : imm;
  if (!Number.isInteger(imm12) || imm12 < 0 || imm12 > 0xfff) return false;
  b.patch32(at, (word & ~(0xfff << 10)) | (imm12 << 10));
  return true;
}

/** rd = rn op (rm shift amount); register 31 is zr. */
export function logicReg(b: CodeBuffer, op: Logic, w: number, rd: number, rn: number, rm: number, shift: Shift = 0, amount = 0): void {
  if (amount < 0 || amount >= w * 8) badOperand('shift amount', amount);
  b.emit32(0x0a000000 | op | sf(w) | (shift << 22) | (rm << 16) | (amount << 10) | (rn << 5) | rd);
}

/**
 * rd = rn op imm where `bitmask` is the 13-bit N:immr:imms field from encodeBitmask (the macro
 * layer asks first, then falls back to a register). Logical immediates take AND, ORR, EOR, ANDS
 * only. rn is zr when 31; rd is sp for AND/ORR/EOR and zr for ANDS.
 */
export function logicImm(b: CodeBuffer, op: Logic, w: number, rd: number, rn: number, bitmask: number): void {
  if ((op & 0x00200000) !== 0) badOperand('logical immediate op', op);
  if (bitmask < 0 || bitmask > 0x1fff || (w === 4 && bitmask & 0x1000)) badOperand('bitmask', bitmask);
  b.emit32(0x12000000 | op | sf(w) | (bitmask << 10) | (rn << 5) | rd);
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * The N:immr:imms field (13 bits) of a logical immediate, or -1 when the value has none. A
 * logical immediate is an element of e = 2, 4, …, 64 bits holding one rotated run of ones
 * (neither all zeros nor all ones), replicated across the register. The value comes as two
 * 32-bit halves (`hi` is ignored for w = 4) to keep BigInt off the compile path.
 *
 * Method: find the smallest period e; inside one element, the run starts where a one follows a
 * zero (circularly). Exactly one such place means exactly one run: its start s and length len
 * give immr = (e − s) mod e (rotate right) and imms = (len − 1) with the element size marked by
 * the leading ones of imms (N = 1 for e = 64).
 */
export function encodeBitmask(w: number, lo: number, hi: number): number {
  lo |= 0;
  hi = w === 8 ? hi | 0 : lo;
  if (lo !== hi) {
    // e = 64: rotate the 64-bit value left by one using the halves
    const rlLo = (lo << 1) | (hi >>> 31);
    const rlHi = (hi << 1) | (lo >>> 31);
    const tLo = lo & ~rlLo;
    const tHi = hi & ~rlHi;
    if (popcount32(tLo) + popcount32(tHi) !== 1) return -1;
    const s = tLo !== 0 ? ctz32(tLo) : 32 + ctz32(tHi);
    const len = popcount32(lo) + popcount32(hi);
    return (1 << 12) | (((64 - s) & 63) << 6) | (len - 1);
  }
  let e = 32;
  let x = lo;
  while (e > 2) {
    const half = e >>> 1;
    const mask = (1 << half) - 1;
    if ((x & mask) !== ((x >>> half) & mask)) break;
    e = half;
  }
  const mask = e === 32 ? -1 : (1 << e) - 1;
  x &= mask;
  if (x === 0 || x === mask) return -1;
  const rl = ((x << 1) | (x >>> (e - 1))) & mask;
  const t = x & ~rl;
  if (popcount32(t) !== 1) return -1;
  const s = ctz32(t);
  const len = popcount32(x);
  return (((e - s) & (e - 1)) << 6) | ((~(e - 1) << 1) & 0x3f) | (len - 1);
}
