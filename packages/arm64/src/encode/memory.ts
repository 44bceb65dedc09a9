import type { CodeBuffer } from '@wagc/frontend';
import { badOperand, type Extend } from './core';

/**
 * Single-register loads and stores: the size, V (vector register) and opc bits shared by every
 * addressing form. The access size is 1 << memScale(op) bytes (size field, or 16 for the q forms). Sign-extending loads name their
 * destination width (LDRSB_W fills a w register, LDRSB_X an x register); LDRB/LDRH/LDR_W
 * zero-extend into the x register.
 */
export const enum MemOp {
  STRB = 0, LDRB = 0x00400000, LDRSB_X = 0x00800000, LDRSB_W = 0x00c00000,
  STRH = 1 << 30, LDRH = (1 << 30) | 0x00400000, LDRSH_X = (1 << 30) | 0x00800000, LDRSH_W = (1 << 30) | 0x00c00000,
  STR_W = 2 << 30, LDR_W = (2 << 30) | 0x00400000, LDRSW = (2 << 30) | 0x00800000,
  STR_X = 3 << 30, LDR_X = (3 << 30) | 0x00400000,
  STR_S = (2 << 30) | 0x04000000, LDR_S = (2 << 30) | 0x04400000,
  STR_D = (3 << 30) | 0x04000000, LDR_D = (3 << 30) | 0x04400000,
  /** 16-byte q registers: size 00 with opc's high bit set. */
  STR_Q = 0x04800000, LDR_Q = 0x04c00000,
}

/** Register-pair loads and stores: opc and V bits. Element size 4 (W, S) or 8 (X, D). */
export const enum PairOp { W = 0, X = 2 << 30, S = 0x04000000, D = (1 << 30) | 0x04000000 }

/** Pair addressing: base + offset, or base updated after (POST) or before (PRE) the access. */
export const enum PairMode { POST = 1 << 23, OFFSET = 2 << 23, PRE = 3 << 23 }

/** Literal loads (PC-relative, ±1 MiB): opc and V bits. */
export const enum LiteralOp { W = 0, X = 0x40000000, SW = 2 << 30, S = 0x04000000, D = 0x44000000, Q = 0x84000000 }

/** log2 of the access size. */
export function memScale(op: MemOp): number {
  return (op & 0x04800000) === 0x04800000 ? 4 : op >>> 30;
}

/** offset fits the unsigned scaled 12-bit form: a multiple of the access size, 0 to 4095 of them. */
export function fitsLdstImm(op: MemOp, offset: number): boolean {
  const scale = memScale(op);
  return offset >= 0 && offset <= 0xfff << scale && (offset & ((1 << scale) - 1)) === 0;
}

/** offset fits the unscaled signed 9-bit form (LDUR/STUR). */
export function fitsLdstUnscaled(offset: number): boolean {
  return offset >= -256 && offset <= 255 && Number.isInteger(offset);
}

/** True when `ldst` can encode this offset in one instruction. */
export function fitsLdst(op: MemOp, offset: number): boolean {
  return fitsLdstImm(op, offset) || fitsLdstUnscaled(offset);
}

// In every form below the base rn is sp when 31; rt (and rm) are zr when 31, or v registers.

/** [rn, #offset], offset as fitsLdstImm accepts. */
export function ldstImm(b: CodeBuffer, op: MemOp, rt: number, rn: number, offset: number): void {
  if (!fitsLdstImm(op, offset)) badOperand('scaled offset', offset);
  b.emit32(0x39000000 | op | ((offset >>> memScale(op)) << 10) | (rn << 5) | rt);
}

/** [rn, #offset], offset −256..255 (LDUR/STUR and their sized variants). */
export function ldstUnscaled(b: CodeBuffer, op: MemOp, rt: number, rn: number, offset: number): void {
  if (!fitsLdstUnscaled(offset)) badOperand('unscaled offset', offset);
  b.emit32(0x38000000 | op | ((offset & 0x1ff) << 12) | (rn << 5) | rt);
}

/** [rn, #offset] in whichever immediate form fits (scaled preferred); see fitsLdst. */
export function ldst(b: CodeBuffer, op: MemOp, rt: number, rn: number, offset: number): void {
  if (fitsLdstImm(op, offset)) ldstImm(b, op, rt, rn, offset);
  else ldstUnscaled(b, op, rt, rn, offset);
}

/** Writeback into a base that is also a general-purpose data register is UNPREDICTABLE. */
function checkWriteback(op: number, rt: number, rn: number): void {
  if (rn === rt && rn !== 31 && (op & 0x04000000) === 0) badOperand('writeback base = data register', rn);
}

/** [rn, #offset]! (pre) or [rn], #offset (post), offset −256..255; rn is updated (rn ≠ rt). */
export function ldstIndexed(b: CodeBuffer, op: MemOp, rt: number, rn: number, offset: number, pre: boolean): void {
  if (!fitsLdstUnscaled(offset)) badOperand('indexed offset', offset);
  checkWriteback(op, rt, rn);
  b.emit32((pre ? 0x38000c00 : 0x38000400) | op | ((offset & 0x1ff) << 12) | (rn << 5) | rt);
}

/**
 * [rn, extend(rm) << (shifted ? log2 size : 0)]. extend: UXTW (wasm's base + zext(i32 index)),
 * UXTX (plain x register, printed lsl), SXTW or SXTX.
 */
export function ldstReg(b: CodeBuffer, op: MemOp, rt: number, rn: number, rm: number, extend: Extend, shifted = false): void {
  if ((extend & 2) === 0) badOperand('register-offset extend', extend);
  b.emit32(0x38200800 | op | (rm << 16) | (extend << 13) | (shifted ? 0x1000 : 0) | (rn << 5) | rt);
}

function pairScale(op: PairOp): number {
  return op === PairOp.X || op === PairOp.D ? 3 : 2;
}

/** offset fits a pair form: a multiple of the element size, −64..63 of them. */
export function fitsPair(op: PairOp, offset: number): boolean {
  const scale = pairScale(op);
  return (offset & ((1 << scale) - 1)) === 0 && offset >= -64 << scale && offset <= 63 << scale;
}

function pair(b: CodeBuffer, load: number, op: PairOp, rt: number, rt2: number, rn: number, offset: number, mode: PairMode): void {
  if (!fitsPair(op, offset)) badOperand('pair offset', offset);
  if (load && rt === rt2) badOperand('ldp of one register twice', rt);
  if (mode !== PairMode.OFFSET) {
    checkWriteback(op, rt, rn);
    checkWriteback(op, rt2, rn);
  }
  b.emit32(0x28000000 | op | mode | load | (((offset >> pairScale(op)) & 0x7f) << 15) | (rt2 << 10) | (rn << 5) | rt);
}

/** LDP rt, rt2 (distinct) from [rn + offset] (mode: OFFSET, PRE or POST; with writeback rn ≠ rt, rt2). */
export function ldp(b: CodeBuffer, op: PairOp, rt: number, rt2: number, rn: number, offset: number, mode: PairMode = PairMode.OFFSET): void {
  pair(b, 0x00400000, op, rt, rt2, rn, offset, mode);
}

export function stp(b: CodeBuffer, op: PairOp, rt: number, rt2: number, rn: number, offset: number, mode: PairMode = PairMode.OFFSET): void {
  pair(b, 0, op, rt, rt2, rn, offset, mode);
}

/** LDR rt, pc + rel (constant pools); returns the instruction's offset for patchBranch. */
export function ldrLiteral(b: CodeBuffer, op: LiteralOp, rt: number, rel = 0): number {
  if ((rel & 3) !== 0 || rel < -(2 ** 20) || rel >= 2 ** 20) badOperand('literal offset', rel);
  const at = b.pos;
  b.emit32(0x18000000 | op | (((rel >> 2) & 0x7ffff) << 5) | rt);
  return at;
}
