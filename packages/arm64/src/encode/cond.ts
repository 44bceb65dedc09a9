import type { CodeBuffer } from '@wagc/frontend';
import { sf, invertCond, badOperand, type Cond } from './core';

// Every register operand here is zr when 31.

/** Conditional select: op and op2 bits. */
export const enum CondSel { CSEL = 0, CSINC = 0x400, CSINV = 0x40000000, CSNEG = 0x40000400 }

/** rd = cond ? rn : f(rm), f = identity, +1, bitwise not, negate. */
export function condSelect(b: CodeBuffer, op: CondSel, w: number, rd: number, rn: number, rm: number, cond: Cond): void {
  b.emit32(0x1a800000 | op | sf(w) | (rm << 16) | (cond << 12) | (rn << 5) | rd);
}

export function csel(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, cond: Cond): void {
  condSelect(b, CondSel.CSEL, w, rd, rn, rm, cond);
}

export function csinc(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, cond: Cond): void {
  condSelect(b, CondSel.CSINC, w, rd, rn, rm, cond);
}

export function csinv(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, cond: Cond): void {
  condSelect(b, CondSel.CSINV, w, rd, rn, rm, cond);
}

export function csneg(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, cond: Cond): void {
  condSelect(b, CondSel.CSNEG, w, rd, rn, rm, cond);
}

/** rd = cond ? 1 : 0 (CSINC rd, zr, zr, !cond). AL and NV have no inverse. */
export function cset(b: CodeBuffer, w: number, rd: number, cond: Cond): void {
  if (cond >= 14) badOperand('cset condition', cond);
  csinc(b, w, rd, 31, 31, invertCond(cond));
}

/** rd = cond ? −1 : 0 (CSINV rd, zr, zr, !cond). */
export function csetm(b: CodeBuffer, w: number, rd: number, cond: Cond): void {
  if (cond >= 14) badOperand('csetm condition', cond);
  csinv(b, w, rd, 31, 31, invertCond(cond));
}

/**
 * Conditional compare: flags = cond ? flags of (rn − rm) (CCMP) or (rn + rm) (CCMN) : nzcv.
 * `neg` selects CCMN. The register form takes rm, the immediate form a 5-bit unsigned imm.
 */
export function ccmpReg(b: CodeBuffer, neg: boolean, w: number, rn: number, rm: number, nzcv: number, cond: Cond): void {
  if (nzcv < 0 || nzcv > 15) badOperand('nzcv', nzcv);
  b.emit32((neg ? 0x3a400000 : 0x7a400000) | sf(w) | (rm << 16) | (cond << 12) | (rn << 5) | nzcv);
}

export function ccmpImm(b: CodeBuffer, neg: boolean, w: number, rn: number, imm5: number, nzcv: number, cond: Cond): void {
  if (nzcv < 0 || nzcv > 15) badOperand('nzcv', nzcv);
  if (imm5 < 0 || imm5 > 31) badOperand('ccmp immediate', imm5);
  b.emit32((neg ? 0x3a400800 : 0x7a400800) | sf(w) | (imm5 << 16) | (cond << 12) | (rn << 5) | nzcv);
}
