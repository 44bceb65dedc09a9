import type { CodeBuffer } from '@wagc/frontend';

export const enum Reg { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15 }
export const NO_INDEX = -1;
export const enum Cond { O = 0, NO = 1, B = 2, AE = 3, E = 4, NE = 5, BE = 6, A = 7, S = 8, NS = 9, P = 10, NP = 11, L = 12, GE = 13, LE = 14, G = 15 }

export function fitsI8(v: number): boolean {
  return v >= -128 && v <= 127;
}

/**
 * REX prefix: W for 64-bit operands, R/X/B extend the reg, index and base fields. `force` emits
 * an empty REX so byte registers 4–7 mean SPL/BPL/SIL/DIL rather than AH/CH/DH/BH.
 */
export function rex(b: CodeBuffer, w: boolean, reg: number, index: number, base: number, force = false): void {
  const v = (w ? 8 : 0) | ((reg & 8) >> 1) | (index >= 0 ? (index & 8) >> 2 : 0) | ((base & 8) >> 3);
  if (v !== 0 || force) b.emit8(0x40 | v);
}

/** ModRM with a register operand in r/m. */
export function modrmReg(b: CodeBuffer, reg: number, rm: number): void {
  b.emit8(0xc0 | ((reg & 7) << 3) | (rm & 7));
}

const SCALE_BITS = [0, 0, 1, 1, 2, 2, 2, 2, 3];

/**
 * ModRM/SIB/displacement for [base + index·scale + disp]. RSP/R12 as base need a SIB byte;
 * RBP/R13 as base have no disp-less form (mod 00 with base 101 means RIP/disp32).
 */
export function modrmMem(b: CodeBuffer, reg: number, base: number, index: number, scale: number, disp: number): void {
  const r = (reg & 7) << 3;
  const needSib = index >= 0 || (base & 7) === 4;
  let mod: number;
  if (disp === 0 && (base & 7) !== 5) mod = 0;
  else if (fitsI8(disp)) mod = 1;
  else mod = 2;
  if (needSib) {
    b.emit8((mod << 6) | r | 4);
    const idx = index >= 0 ? index & 7 : 4;
    b.emit8((SCALE_BITS[scale] << 6) | (idx << 3) | (base & 7));
  } else {
    b.emit8((mod << 6) | r | (base & 7));
  }
  if (mod === 1) b.emit8(disp & 0xff);
  else if (mod === 2) b.emit32(disp);
}

/** [prefix] REX opcode(s) ModRM for reg, r/m register forms. */
export function opRR(b: CodeBuffer, prefix: number, w: boolean, op: number[], reg: number, rm: number, forceRex = false): void {
  if (prefix) b.emit8(prefix);
  rex(b, w, reg, -1, rm, forceRex);
  for (let k = 0; k < op.length; k++) b.emit8(op[k]);
  modrmReg(b, reg, rm);
}

/** [prefix] REX opcode(s) ModRM/SIB/disp for reg, [mem] forms. */
export function opRM(b: CodeBuffer, prefix: number, w: boolean, op: number[], reg: number, base: number, index: number, scale: number, disp: number, forceRex = false): void {
  if (prefix) b.emit8(prefix);
  rex(b, w, reg, index, base, forceRex);
  for (let k = 0; k < op.length; k++) b.emit8(op[k]);
  modrmMem(b, reg, base, index, scale, disp);
}

/**
 * [prefix] REX opcode(s) ModRM for reg, [rip + disp32] (mod 00, r/m 101); returns the position of
 * the disp32, relative to the instruction's end, which the caller patches once the target is placed.
 */
export function opRip(b: CodeBuffer, prefix: number, w: boolean, op: number[], reg: number): number {
  if (prefix) b.emit8(prefix);
  rex(b, w, reg, -1, 0);
  for (let k = 0; k < op.length; k++) b.emit8(op[k]);
  b.emit8(((reg & 7) << 3) | 5);
  b.emit32(0);
  return b.pos - 4;
}
