import type { CodeBuffer } from '@wagc/frontend';
import { badOperand, type Cond } from './core';

/*
 * PC-relative forms take `rel`, the byte offset of the target from the instruction itself, and
 * return the instruction's buffer offset: a forward branch is emitted with rel 0 and fixed by
 * patchBranch once its target is known. Ranges (bytes, multiples of 4):
 *   B, BL                 imm26  ±128 MiB
 *   B.cond, CBZ/CBNZ,
 *   LDR literal           imm19  ±1 MiB
 *   TBZ/TBNZ              imm14  ±32 KiB
 *   ADR                   imm21  ±1 MiB (any byte offset)
 */

function fits(rel: number, bits: number): boolean {
  const lim = 2 ** (bits + 1);
  return (rel & 3) === 0 && rel >= -lim && rel < lim;
}

/** rel reachable by B/BL. */
export function fitsB26(rel: number): boolean {
  return fits(rel, 26);
}

/** rel reachable by B.cond, CBZ/CBNZ and LDR literal. */
export function fitsB19(rel: number): boolean {
  return fits(rel, 19);
}

/** rel reachable by TBZ/TBNZ. */
export function fitsB14(rel: number): boolean {
  return fits(rel, 14);
}

export function fitsAdr(rel: number): boolean {
  return Number.isInteger(rel) && rel >= -(2 ** 20) && rel < 2 ** 20;
}

function emitAt(b: CodeBuffer, word: number): number {
  const at = b.pos;
  b.emit32(word);
  return at;
}

function imm26(rel: number): number {
  if (!fitsB26(rel)) badOperand('branch offset', rel);
  return (rel >> 2) & 0x3ffffff;
}

function imm19(rel: number): number {
  if (!fitsB19(rel)) badOperand('branch offset', rel);
  return ((rel >> 2) & 0x7ffff) << 5;
}

function imm14(rel: number): number {
  if (!fitsB14(rel)) badOperand('test-branch offset', rel);
  return ((rel >> 2) & 0x3fff) << 5;
}

/** B */
export function branch(b: CodeBuffer, rel = 0): number {
  return emitAt(b, 0x14000000 | imm26(rel));
}

/** BL: calls; the return address goes to x30. */
export function branchLink(b: CodeBuffer, rel = 0): number {
  return emitAt(b, 0x94000000 | imm26(rel));
}

/** B.cond */
export function branchCond(b: CodeBuffer, cond: Cond, rel = 0): number {
  return emitAt(b, 0x54000000 | imm19(rel) | cond);
}

/** CBZ / CBNZ rt (zr when 31: never taken / always taken). */
export function cbz(b: CodeBuffer, w: number, rt: number, rel = 0): number {
  return emitAt(b, (w === 8 ? 0xb4000000 : 0x34000000) | imm19(rel) | rt);
}

export function cbnz(b: CodeBuffer, w: number, rt: number, rel = 0): number {
  return emitAt(b, (w === 8 ? 0xb5000000 : 0x35000000) | imm19(rel) | rt);
}

function testBit(op: number, rt: number, bit: number, rel: number): number {
  if (bit < 0 || bit > 63) badOperand('test bit', bit);
  return op | ((bit >> 5) << 31) | ((bit & 31) << 19) | imm14(rel) | rt;
}

/** TBZ / TBNZ: branch if bit `bit` (0–63; ≥ 32 means the x register) of rt is zero / non-zero. */
export function tbz(b: CodeBuffer, rt: number, bit: number, rel = 0): number {
  return emitAt(b, testBit(0x36000000, rt, bit, rel));
}

export function tbnz(b: CodeBuffer, rt: number, bit: number, rel = 0): number {
  return emitAt(b, testBit(0x37000000, rt, bit, rel));
}

/** ADR rd, pc + rel (rd 31 is xzr). Return addresses of sites, jump tables. */
export function adr(b: CodeBuffer, rd: number, rel = 0): number {
  if (!fitsAdr(rel)) badOperand('adr offset', rel);
  return emitAt(b, 0x10000000 | ((rel & 3) << 29) | (((rel >> 2) & 0x7ffff) << 5) | rd);
}

/** BR / BLR / RET xn (RET defaults to x30). 31 is xzr, so meaningless here. */
export function br(b: CodeBuffer, rn: number): void {
  b.emit32(0xd61f0000 | (rn << 5));
}

export function blr(b: CodeBuffer, rn: number): void {
  b.emit32(0xd63f0000 | (rn << 5));
}

export function ret(b: CodeBuffer, rn = 30): void {
  b.emit32(0xd65f0000 | (rn << 5));
}

/**
 * Points the PC-relative instruction at buffer offset `at` (any of the forms above, or LDR
 * literal) to buffer offset `target`. Returns false, leaving the word untouched, when the
 * distance is out of that form's range; the caller then needs a longer sequence (an inverted
 * short branch over a B, say).
 */
export function patchBranch(b: CodeBuffer, at: number, target: number): boolean {
  const word = b.read32(at);
  const rel = target - at;
  let next: number;
  if ((word & 0x7c000000) === 0x14000000) {
    if (!fitsB26(rel)) return false;
    next = (word & 0xfc000000) | ((rel >> 2) & 0x3ffffff);
  } else if ((word & 0xff000010) === 0x54000000 || (word & 0x7e000000) === 0x34000000 || (word & 0x3b000000) === 0x18000000) {
    // B.cond, CBZ/CBNZ, LDR literal
    if (!fitsB19(rel)) return false;
    next = (word & 0xff00001f) | (((rel >> 2) & 0x7ffff) << 5);
  } else if ((word & 0x7e000000) === 0x36000000) {
    if (!fitsB14(rel)) return false;
    next = (word & 0xfff8001f) | (((rel >> 2) & 0x3fff) << 5);
  } else if ((word & 0x9f000000) === 0x10000000) {
    if (!fitsAdr(rel)) return false;
    next = (word & 0x9f00001f) | ((rel & 3) << 29) | (((rel >> 2) & 0x7ffff) << 5);
  } else {
    throw new Error(`arm64: no PC-relative instruction at ${at} (0x${(word >>> 0).toString(16)})`);
  }
  b.patch32(at, next);
  return true;
}
