import type { CodeBuffer } from '@wagc/frontend';
import { sf, badOperand } from './core';

// Every register operand here is zr when 31.

/** Variable shifts: the 2-source opcode field. The amount is taken modulo the width, as wasm wants. */
export const enum ShiftV { LSLV = 0x2000, LSRV = 0x2400, ASRV = 0x2800, RORV = 0x2c00 }

/** Bitfield moves: opc bits. */
export const enum Bitfield { SBFM = 0, BFM = 0x20000000, UBFM = 0x40000000 }

export function shiftReg(b: CodeBuffer, op: ShiftV, w: number, rd: number, rn: number, rm: number): void {
  b.emit32(0x1ac00000 | op | sf(w) | (rm << 16) | (rn << 5) | rd);
}

/** SBFM/BFM/UBFM rd, rn, #immr, #imms (the primitive under the immediate shifts and extends). */
export function bitfield(b: CodeBuffer, op: Bitfield, w: number, rd: number, rn: number, immr: number, imms: number): void {
  const bits = w * 8;
  if (immr < 0 || immr >= bits) badOperand('immr', immr);
  if (imms < 0 || imms >= bits) badOperand('imms', imms);
  const n = w === 8 ? 0x00400000 : 0;
  b.emit32(0x13000000 | op | sf(w) | n | (immr << 16) | (imms << 10) | (rn << 5) | rd);
}

function shiftAmount(w: number, n: number): void {
  if (n < 0 || n >= w * 8) badOperand('shift amount', n);
}

/** rd = rn << n (UBFM rd, rn, #(−n mod width), #(width − 1 − n)). */
export function lslImm(b: CodeBuffer, w: number, rd: number, rn: number, n: number): void {
  shiftAmount(w, n);
  const bits = w * 8;
  bitfield(b, Bitfield.UBFM, w, rd, rn, (bits - n) & (bits - 1), bits - 1 - n);
}

export function lsrImm(b: CodeBuffer, w: number, rd: number, rn: number, n: number): void {
  shiftAmount(w, n);
  bitfield(b, Bitfield.UBFM, w, rd, rn, n, w * 8 - 1);
}

export function asrImm(b: CodeBuffer, w: number, rd: number, rn: number, n: number): void {
  shiftAmount(w, n);
  bitfield(b, Bitfield.SBFM, w, rd, rn, n, w * 8 - 1);
}

/** rd = (rn:rm) >> lsb, the low width bits of the concatenation. */
export function extr(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, lsb: number): void {
  shiftAmount(w, lsb);
  const n = w === 8 ? 0x00400000 : 0;
  b.emit32(0x13800000 | sf(w) | n | (rm << 16) | (lsb << 10) | (rn << 5) | rd);
}

/** rd = rn rotated right by n (EXTR rd, rn, rn, #n). */
export function rorImm(b: CodeBuffer, w: number, rd: number, rn: number, n: number): void {
  extr(b, w, rd, rn, rn, n);
}

function field(w: number, lsb: number, width: number): void {
  if (lsb < 0 || width < 1 || lsb + width > w * 8) badOperand('bit field', lsb * 100 + width);
}

/** rd = zero-extended bits [lsb, lsb + width) of rn. */
export function ubfx(b: CodeBuffer, w: number, rd: number, rn: number, lsb: number, width: number): void {
  field(w, lsb, width);
  bitfield(b, Bitfield.UBFM, w, rd, rn, lsb, lsb + width - 1);
}

/** rd = sign-extended bits [lsb, lsb + width) of rn. */
export function sbfx(b: CodeBuffer, w: number, rd: number, rn: number, lsb: number, width: number): void {
  field(w, lsb, width);
  bitfield(b, Bitfield.SBFM, w, rd, rn, lsb, lsb + width - 1);
}

/** Bits [lsb, lsb + width) of rd ← the low width bits of rn; the rest of rd is kept. */
export function bfi(b: CodeBuffer, w: number, rd: number, rn: number, lsb: number, width: number): void {
  field(w, lsb, width);
  const bits = w * 8;
  bitfield(b, Bitfield.BFM, w, rd, rn, (bits - lsb) & (bits - 1), width - 1);
}

/** The low width bits of rd ← bits [lsb, lsb + width) of rn; the rest of rd is kept. */
export function bfxil(b: CodeBuffer, w: number, rd: number, rn: number, lsb: number, width: number): void {
  field(w, lsb, width);
  bitfield(b, Bitfield.BFM, w, rd, rn, lsb, lsb + width - 1);
}

/** rd (w or x) = sign-extended low byte of rn. */
export function sxtb(b: CodeBuffer, w: number, rd: number, rn: number): void {
  bitfield(b, Bitfield.SBFM, w, rd, rn, 0, 7);
}

export function sxth(b: CodeBuffer, w: number, rd: number, rn: number): void {
  bitfield(b, Bitfield.SBFM, w, rd, rn, 0, 15);
}

/** xd = sign-extended wn. */
export function sxtw(b: CodeBuffer, rd: number, rn: number): void {
  bitfield(b, Bitfield.SBFM, 8, rd, rn, 0, 31);
}

/** wd (and so xd) = zero-extended low byte of rn. */
export function uxtb(b: CodeBuffer, rd: number, rn: number): void {
  bitfield(b, Bitfield.UBFM, 4, rd, rn, 0, 7);
}

export function uxth(b: CodeBuffer, rd: number, rn: number): void {
  bitfield(b, Bitfield.UBFM, 4, rd, rn, 0, 15);
}
