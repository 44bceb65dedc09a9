import type { CodeBuffer } from '@wagc/frontend';

export const enum Reg { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15 }
/** No index register in a memory operand: `Index.None` is inlined where NO_INDEX is a property load. */
export const enum Index { None = -1 }
export const NO_INDEX = Index.None;
export const enum Cond { O = 0, NO = 1, B = 2, AE = 3, E = 4, NE = 5, BE = 6, A = 7, S = 8, NS = 9, P = 10, NP = 11, L = 12, GE = 13, LE = 14, G = 15 }

export function fitsI8(v: number): boolean {
  return v >= -128 && v <= 127;
}

/** The longest x86 instruction: an encoder makes room for it once, then writes byte by byte. */
export const MAX_INSN = 15;

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

/**
 * Writes [prefix] [REX] opcode at `p` of `a` and returns the position after it. `op` holds one to
 * three opcode bytes, the first in the highest byte used (0x0fb6 is 0F B6; 0x0f3a0a is 0F 3A 0A):
 * a number, so that no encoder builds an array per instruction.
 */
function head(a: Uint8Array, p: number, prefix: number, w: boolean, reg: number, index: number, base: number, force: boolean, op: number): number {
  if (prefix) a[p++] = prefix;
  const v = (w ? 8 : 0) | ((reg & 8) >> 1) | (index >= 0 ? (index & 8) >> 2 : 0) | ((base & 8) >> 3);
  if (v !== 0 || force) a[p++] = 0x40 | v;
  if (op > 0xffff) a[p++] = op >>> 16;
  if (op > 0xff) a[p++] = (op >>> 8) & 0xff;
  a[p++] = op & 0xff;
  return p;
}

const SCALE_BITS = [0, 0, 1, 1, 2, 2, 2, 2, 3];

/**
 * ModRM/SIB/displacement for [base + index·scale + disp] at `p` of `a`; returns the position after
 * it. RSP/R12 as base need a SIB byte; RBP/R13 as base have no disp-less form (mod 00 with base
 * 101 means RIP/disp32).
 */
function modrmMemAt(a: Uint8Array, p: number, reg: number, base: number, index: number, scale: number, disp: number): number {
  const r = (reg & 7) << 3;
  let mod: number;
  if (disp === 0 && (base & 7) !== 5) mod = 0;
  else if (disp >= -128 && disp <= 127) mod = 1;
  else mod = 2;
  if (index >= 0 || (base & 7) === 4) {
    a[p++] = (mod << 6) | r | 4;
    a[p++] = (SCALE_BITS[scale] << 6) | ((index >= 0 ? index & 7 : 4) << 3) | (base & 7);
  } else {
    a[p++] = (mod << 6) | r | (base & 7);
  }
  if (mod === 1) a[p++] = disp & 0xff;
  else if (mod === 2) {
    a[p++] = disp & 0xff;
    a[p++] = (disp >>> 8) & 0xff;
    a[p++] = (disp >>> 16) & 0xff;
    a[p++] = (disp >>> 24) & 0xff;
  }
  return p;
}

/** ModRM/SIB/displacement for [base + index·scale + disp]. */
export function modrmMem(b: CodeBuffer, reg: number, base: number, index: number, scale: number, disp: number): void {
  b.reserve(6);
  b.pos = modrmMemAt(b.bytes, b.pos, reg, base, index, scale, disp);
}

/**
 * An immediate right after opRR/opRM, whose room (MAX_INSN bytes) covers it: no check of its own.
 */
export function imm8(b: CodeBuffer, v: number): void {
  b.bytes[b.pos++] = v & 0xff;
}

export function imm32(b: CodeBuffer, v: number): void {
  const a = b.bytes;
  let p = b.pos;
  a[p++] = v & 0xff;
  a[p++] = (v >>> 8) & 0xff;
  a[p++] = (v >>> 16) & 0xff;
  a[p++] = (v >>> 24) & 0xff;
  b.pos = p;
}

/** [prefix] REX opcode(s) ModRM for reg, r/m register forms (`op` as in `head`). */
export function opRR(b: CodeBuffer, prefix: number, w: boolean, op: number, reg: number, rm: number, forceRex = false): void {
  if (b.pos + MAX_INSN > b.bytes.length) b.reserve(MAX_INSN);
  const a = b.bytes;
  const p = head(a, b.pos, prefix, w, reg, -1, rm, forceRex, op);
  a[p] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
  b.pos = p + 1;
}

/** [prefix] REX opcode(s) ModRM/SIB/disp for reg, [mem] forms (`op` as in `head`). */
export function opRM(b: CodeBuffer, prefix: number, w: boolean, op: number, reg: number, base: number, index: number, scale: number, disp: number, forceRex = false): void {
  if (b.pos + MAX_INSN > b.bytes.length) b.reserve(MAX_INSN);
  const a = b.bytes;
  b.pos = modrmMemAt(a, head(a, b.pos, prefix, w, reg, index, base, forceRex, op), reg, base, index, scale, disp);
}

/**
 * [prefix] REX opcode(s) ModRM for reg, [rip + disp32] (mod 00, r/m 101); returns the position of
 * the disp32, relative to the instruction's end, which the caller patches once the target is placed
 * (`op` as in `head`).
 */
export function opRip(b: CodeBuffer, prefix: number, w: boolean, op: number, reg: number): number {
  if (b.pos + MAX_INSN > b.bytes.length) b.reserve(MAX_INSN);
  const a = b.bytes;
  let p = head(a, b.pos, prefix, w, reg, -1, 0, false, op);
  a[p++] = ((reg & 7) << 3) | 5;
  a[p++] = 0; a[p++] = 0; a[p++] = 0; a[p++] = 0;
  b.pos = p;
  return p - 4;
}
