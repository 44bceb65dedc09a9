import type { CodeBuffer } from '@wagc/frontend';
import { badOperand } from './core';

/**
 * Advanced SIMD (NEON, ARMv8.0) on v registers 0–31. Each instruction class is one encoder; the
 * instruction within the class is an enum value holding its U bit, opcode and any fixed size
 * bits, OR'ed with an arrangement (`Arr`: Q and size). Every encoder writes one 32-bit word and
 * allocates nothing.
 */

/** Arrangement: Q (bit 30) and size (bits 23:22). */
export const enum Arr {
  B8 = 0, B16 = 0x40000000, H4 = 0x00400000, H8 = 0x40400000, S2 = 0x00800000, S4 = 0x40800000, D1 = 0x00c00000, D2 = 0x40c00000,
}

/** Float arrangement: Q and sz (bit 22). */
export const enum FArr { S2 = 0, S4 = 0x40000000, D2 = 0x40400000 }

/** The 128-bit integer arrangement of lanes of 1 << log2 bytes. */
export function arrOf(log2: number): Arr {
  return (0x40000000 | (log2 << 22)) as Arr;
}

/** The 64-bit (Q = 0) integer arrangement of lanes of 1 << log2 bytes: the half a "long" op reads. */
export function halfArrOf(log2: number): Arr {
  return (log2 << 22) as Arr;
}

/** Three registers of one arrangement: U (bit 29) and opcode (bits 15:11). */
export const enum N3 {
  SQADD = 0x0800, UQADD = 0x20000800, URHADD = 0x20001000, SQSUB = 0x2800, UQSUB = 0x20002800,
  CMGT = 0x3000, CMHI = 0x20003000, CMGE = 0x3800, CMHS = 0x20003800, SSHL = 0x4000, USHL = 0x20004000,
  SMAX = 0x6000, UMAX = 0x20006000, SMIN = 0x6800, UMIN = 0x20006800,
  ADD = 0x8000, SUB = 0x20008000, CMTST = 0x8800, CMEQ = 0x20008800, MUL = 0x9800, ADDP = 0xb800,
  SQDMULH = 0xb000, SQRDMULH = 0x2000b000, UMAXP = 0x2000a000, UMINP = 0x2000a800,
  /** Logical: the size field is part of the operation (use Arr.B16 or B8). */
  AND = 0x1800, BIC = 0x00401800, ORR = 0x00801800, ORN = 0x00c01800, EOR = 0x20001800, BSL = 0x20401800, BIT = 0x20801800, BIF = 0x20c01800,
}

/** Three registers, floats: U, bit 23 and opcode (with FArr). */
export const enum F3 {
  FADD = 0xd000, FSUB = 0x0080d000, FMUL = 0x2000d800, FDIV = 0x2000f800, FMAX = 0xf000, FMIN = 0x0080f000,
  FCMEQ = 0xe000, FCMGE = 0x2000e000, FCMGT = 0x2080e000, FADDP = 0x2000d000,
}

/** Two registers (misc): U, opcode (bits 16:12), fixed size bits for float ones (then FArr's sz). */
export const enum N2 {
  REV64 = 0x0000, SADDLP = 0x2000, UADDLP = 0x20002000, CNT = 0x5000, NOT = 0x20005000,
  CMGT0 = 0x8000, CMEQ0 = 0x9000, CMLT0 = 0xa000, CMGE0 = 0x20008000, CMLE0 = 0x20009000,
  ABS = 0xb000, NEG = 0x2000b000, XTN = 0x12000, SQXTN = 0x14000, UQXTN = 0x20014000, SQXTUN = 0x20012000,
  SHLL = 0x20013000,
  /** FCVTN narrows doubles to singles, FCVTL widens singles (sz set: the double forms). */
  FCVTN = 0x00416000, FCVTL = 0x00417000,
  FRINTN = 0x18000, FRINTM = 0x19000, FRINTP = 0x00818000, FRINTZ = 0x00819000,
  FABS = 0x0080f000, FNEG = 0x2080f000, FSQRT = 0x2081f000,
  SCVTF = 0x1d000, UCVTF = 0x2001d000, FCVTZS = 0x0081b000, FCVTZU = 0x2081b000,
}

/** Across lanes: U and opcode. */
export const enum NAcross { ADDV = 0x1b000, UMAXV = 0x2000a000, UMINV = 0x2001a000, SMAXV = 0xa000, SMINV = 0x1a000 }

/** Three registers, long (the result twice as wide): U and opcode (bits 15:12). */
export const enum NLong { SMULL = 0xc000, UMULL = 0x2000c000, SMLAL = 0x8000, UMLAL = 0x20008000 }

/** Shift by immediate: U and opcode (bits 15:11). */
export const enum NShift { SSHR = 0x0000, USHR = 0x20000000, SHL = 0x5000, SSHLL = 0xa000, USHLL = 0x2000a000 }

/** Permutes: opcode (bits 14:12). */
export const enum NPerm { UZP1 = 0x1000, TRN1 = 0x2000, ZIP1 = 0x3000, UZP2 = 0x5000, TRN2 = 0x6000, ZIP2 = 0x7000 }

const V3 = 0x0e200400, V2 = 0x0e200800, VACROSS = 0x0e300800, VLONG = 0x0e200000, VSHIFT = 0x0f000400;

export function n3(b: CodeBuffer, op: N3, arr: Arr, rd: number, rn: number, rm: number): void {
  b.emit32(V3 | op | arr | (rm << 16) | (rn << 5) | rd);
}

export function f3(b: CodeBuffer, op: F3, arr: FArr, rd: number, rn: number, rm: number): void {
  b.emit32(V3 | op | arr | (rm << 16) | (rn << 5) | rd);
}

/** Two-register misc; `arr` an Arr, or for the float ones an FArr. */
export function n2(b: CodeBuffer, op: N2, arr: number, rd: number, rn: number): void {
  b.emit32(V2 | op | arr | (rn << 5) | rd);
}

/** Across lanes into scalar rd (b, h or s by the arrangement). */
export function nAcross(b: CodeBuffer, op: NAcross, arr: Arr, rd: number, rn: number): void {
  b.emit32(VACROSS | op | arr | (rn << 5) | rd);
}

/** A long operation on the low halves (`arr` of Q = 0, the sources' arrangement) or, with Q = 1, the high ones ("2"). */
export function nLong(b: CodeBuffer, op: NLong, arr: Arr, rd: number, rn: number, rm: number): void {
  b.emit32(VLONG | op | arr | (rm << 16) | (rn << 5) | rd);
}

/**
 * Shift by immediate; `log2` the lane size of the operand (for SSHLL/USHLL: the source's). Right
 * shifts take 1 … lane bits, left shifts 0 … lane bits − 1. `q` selects 128 bits (or the
 * upper halves, for the long ones).
 */
export function nShift(b: CodeBuffer, op: NShift, q: boolean, log2: number, rd: number, rn: number, shift: number): void {
  const bits = 8 << log2;
  const right = op === NShift.SSHR || op === NShift.USHR;
  if (right ? shift < 1 || shift > bits : shift < 0 || shift >= bits) badOperand('vector shift', shift);
  const immhb = right ? 2 * bits - shift : bits + shift;
  b.emit32(VSHIFT | op | (q ? 0x40000000 : 0) | (immhb << 16) | (rn << 5) | rd);
}

/** The imm5 field naming lane `index` of lanes of 1 << log2 bytes. */
function imm5(log2: number, index: number): number {
  if (index < 0 || index >= 16 >> log2) badOperand('lane index', index);
  return ((index << 1) | 1) << log2;
}

/** DUP vd.arr, vn.[index] (lanes of 1 << log2 bytes). */
export function dupElement(b: CodeBuffer, q: boolean, log2: number, rd: number, rn: number, index: number): void {
  b.emit32(0x0e000400 | (q ? 0x40000000 : 0) | (imm5(log2, index) << 16) | (rn << 5) | rd);
}

/** DUP vd.arr, w/x rn (x for 8-byte lanes). */
export function dupGeneral(b: CodeBuffer, q: boolean, log2: number, rd: number, rn: number): void {
  b.emit32(0x0e000c00 | (q ? 0x40000000 : 0) | (imm5(log2, 0) << 16) | (rn << 5) | rd);
}

/** DUP (scalar): b/h/s/d rd ← vn.[index]: a lane to the low bits (the rest zeroed). */
export function dupScalar(b: CodeBuffer, log2: number, rd: number, rn: number, index: number): void {
  b.emit32(0x5e000400 | (imm5(log2, index) << 16) | (rn << 5) | rd);
}

/** UMOV w/x rd ← vn.[index] (x for 8-byte lanes). */
export function umov(b: CodeBuffer, log2: number, rd: number, rn: number, index: number): void {
  b.emit32(0x0e003c00 | (log2 === 3 ? 0x40000000 : 0) | (imm5(log2, index) << 16) | (rn << 5) | rd);
}

/** SMOV w rd ← vn.[index], sign-extended to 32 bits (1- and 2-byte lanes). */
export function smov(b: CodeBuffer, log2: number, rd: number, rn: number, index: number): void {
  if (log2 > 1) badOperand('smov lane size', log2);
  b.emit32(0x0e002c00 | (imm5(log2, index) << 16) | (rn << 5) | rd);
}

/** INS vd.[index] ← w/x rn. */
export function insGeneral(b: CodeBuffer, log2: number, rd: number, index: number, rn: number): void {
  b.emit32(0x4e001c00 | (imm5(log2, index) << 16) | (rn << 5) | rd);
}

/** INS vd.[i] ← vn.[j]. */
export function insElement(b: CodeBuffer, log2: number, rd: number, i: number, rn: number, j: number): void {
  if (j < 0 || j >= 16 >> log2) badOperand('lane index', j);
  b.emit32(0x6e000400 | (imm5(log2, i) << 16) | ((j << log2) << 11) | (rn << 5) | rd);
}

/** TBL vd.16b, {vn.16b … (n registers, consecutive mod 32)}, vm.16b. */
export function tbl(b: CodeBuffer, rd: number, rn: number, n: number, rm: number): void {
  if (n < 1 || n > 4) badOperand('tbl registers', n);
  b.emit32(0x4e000000 | (rm << 16) | ((n - 1) << 13) | (rn << 5) | rd);
}

export function perm(b: CodeBuffer, op: NPerm, arr: Arr, rd: number, rn: number, rm: number): void {
  b.emit32(0x0e000800 | op | arr | (rm << 16) | (rn << 5) | rd);
}

/** EXT vd.16b, vn.16b, vm.16b, #index: bytes index … of vn ++ vm. */
export function ext(b: CodeBuffer, rd: number, rn: number, rm: number, index: number): void {
  if (index < 0 || index > 15) badOperand('ext index', index);
  b.emit32(0x6e000000 | (rm << 16) | (index << 11) | (rn << 5) | rd);
}

/** MOVI vd.16b, #imm8: the byte in every lane. */
export function moviBytes(b: CodeBuffer, rd: number, imm8: number): void {
  b.emit32(0x4f00e400 | (((imm8 >> 5) & 7) << 16) | ((imm8 & 0x1f) << 5) | rd);
}

/** MOVI vd.2d, #mask: byte k of each half is 0xff when bit k of `mask8` is set, else 0. */
export function moviByteMask(b: CodeBuffer, rd: number, mask8: number): void {
  b.emit32(0x6f00e400 | (((mask8 >> 5) & 7) << 16) | ((mask8 & 0x1f) << 5) | rd);
}

/** MOV vd.16b, vn.16b (ORR). */
export function vmov(b: CodeBuffer, rd: number, rn: number): void {
  n3(b, N3.ORR, Arr.B16, rd, rn, rn);
}

/** ADDP dd, vn.2d: the two 64-bit lanes' sum. */
export function addpScalar(b: CodeBuffer, rd: number, rn: number): void {
  b.emit32(0x5ef1b800 | (rn << 5) | rd);
}

/**
 * LD1/ST1 of one lane: {vt.[index]} ← / → [xn] (lanes of 1 << log2 bytes; xn is sp when 31).
 * The lane index goes into Q:S:size as the lane size allows.
 */
export function ldst1Lane(b: CodeBuffer, load: boolean, log2: number, rt: number, index: number, rn: number): void {
  if (index < 0 || index >= 16 >> log2) badOperand('lane index', index);
  const bits = index << log2; // Q:S:size as a byte offset into the register
  const opcode = log2 === 0 ? 0 : log2 === 1 ? 2 : 4;
  const size = log2 === 3 ? 1 : bits & 3;
  const q = (bits >> 3) & 1, s = (bits >> 2) & 1;
  b.emit32(0x0d000000 | (load ? 0x00400000 : 0) | (q << 30) | (opcode << 13) | (s << 12) | (size << 10) | (rn << 5) | rt);
}

/** LD1R {vt.arr}, [xn]: one lane loaded into every lane (128 bits). */
export function ld1r(b: CodeBuffer, log2: number, rt: number, rn: number): void {
  b.emit32(0x4d40c000 | (log2 << 10) | (rn << 5) | rt);
}
