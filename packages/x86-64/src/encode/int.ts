import type { CodeBuffer } from '@wagc/frontend';
import { opRR, opRM, opRip, rex, modrmReg, fitsI8, imm8, imm32, MAX_INSN } from './core';

export const enum Alu { ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7 }
export const enum Shift { ROL = 0, ROR = 1, SHL = 4, SHR = 5, SAR = 7 }
export const enum ExtKind { U8_32 = 0, S8_32 = 1, U16_32 = 2, S16_32 = 3, S8_64 = 4, S16_64 = 5, S32_64 = 6 }
export const enum MulDiv { MUL = 4, IMUL = 5, DIV = 6, IDIV = 7 }
export const enum BitCount { LZCNT = 0, TZCNT = 1, POPCNT = 2, BSR = 3, BSF = 4 }
export const enum Bt { BT = 4, BTS = 5, BTR = 6, BTC = 7 }

const w64 = (w: number): boolean => w === 8;
/** 16-bit operand-size prefix. */
const p16 = (w: number): number => (w === 2 ? 0x66 : 0);

export function movRR(b: CodeBuffer, w: number, dst: number, src: number): void {
  opRR(b, 0, w64(w), 0x89, src, dst);
}

export function movRI32(b: CodeBuffer, w: number, dst: number, imm: number): void {
  if (w === 4) {
    if (b.pos + MAX_INSN > b.bytes.length) b.reserve(MAX_INSN);
    if (dst >= 8) b.bytes[b.pos++] = 0x41;
    b.bytes[b.pos++] = 0xb8 + (dst & 7);
  } else opRR(b, 0, true, 0xc7, 0, dst);
  imm32(b, imm);
}

/** Shortest form of a 64-bit constant: mov r32 (zero-extends), sign-extended imm32, or movabs. */
export function movRI64(b: CodeBuffer, dst: number, lo: number, hi: number): void {
  if (hi === 0) movRI32(b, 4, dst, lo);
  else if (hi === lo >> 31) movRI32(b, 8, dst, lo);
  else {
    rex(b, true, 0, -1, dst);
    b.emit8(0xb8 + (dst & 7));
    b.emit32(lo);
    b.emit32(hi);
  }
}

// one opRM or opRR per encoder: the code generator's callers inline them (TurboFan's budget)

export function load(b: CodeBuffer, w: number, dst: number, base: number, index: number, scale: number, disp: number): void {
  // byte loads: 8A, with a REX so destinations 4–7 mean SPL..DIL (not AH..BH); 16-bit: 66 8B
  opRM(b, p16(w), w64(w), w === 1 ? 0x8a : 0x8b, dst, base, index, scale, disp, w === 1 && dst >= 4);
}

export function store(b: CodeBuffer, w: number, base: number, index: number, scale: number, disp: number, src: number): void {
  opRM(b, p16(w), w64(w), w === 1 ? 0x88 : 0x89, src, base, index, scale, disp, w === 1 && src >= 4);
}

export function storeImm(b: CodeBuffer, w: number, base: number, index: number, scale: number, disp: number, imm: number): void {
  opRM(b, p16(w), w64(w), w === 1 ? 0xc6 : 0xc7, 0, base, index, scale, disp);
  if (w === 1) imm8(b, imm);
  else if (w === 2) {
    imm8(b, imm);
    imm8(b, imm >> 8);
  } else imm32(b, imm);
}

/** Per ExtKind: the opcode (movzx, movsx, movsxd) and whether it takes REX.W. */
const EXT_OP = [0x0fb6, 0x0fbe, 0x0fb7, 0x0fbf, 0x0fbe, 0x0fbf, 0x63];
const EXT_W64 = [false, false, false, false, true, true, true];

export function loadExt(b: CodeBuffer, kind: ExtKind, dst: number, base: number, index: number, scale: number, disp: number): void {
  opRM(b, 0, EXT_W64[kind], EXT_OP[kind], dst, base, index, scale, disp);
}

export function extRR(b: CodeBuffer, kind: ExtKind, dst: number, src: number): void {
  const w = EXT_W64[kind], op = EXT_OP[kind];
  // byte sources 4–7 need a REX to mean SPL..DIL
  const byteSrc = kind === ExtKind.U8_32 || kind === ExtKind.S8_32 || kind === ExtKind.S8_64;
  opRR(b, 0, w, op, dst, src, byteSrc && src >= 4);
}

export function movzxRR8(b: CodeBuffer, dst: number, src: number): void {
  opRR(b, 0, false, 0x0fb6, dst, src, src >= 4);
}

export function lea(b: CodeBuffer, w: number, dst: number, base: number, index: number, scale: number, disp: number): void {
  opRM(b, 0, w64(w), 0x8d, dst, base, index, scale, disp);
}

export function aluRR(b: CodeBuffer, op: Alu, w: number, dst: number, src: number): void {
  opRR(b, 0, w64(w), (op << 3) | 1, src, dst);
}

export function aluRI(b: CodeBuffer, op: Alu, w: number, dst: number, imm: number): void {
  const short = fitsI8(imm);
  opRR(b, 0, w64(w), short ? 0x83 : 0x81, op, dst);
  if (short) imm8(b, imm);
  else imm32(b, imm);
}

export function aluRM(b: CodeBuffer, op: Alu, w: number, dst: number, base: number, index: number, scale: number, disp: number): void {
  opRM(b, 0, w64(w), (op << 3) | 3, dst, base, index, scale, disp);
}

export function aluMI(b: CodeBuffer, op: Alu, w: number, base: number, index: number, scale: number, disp: number, imm: number): void {
  const short = fitsI8(imm);
  opRM(b, 0, w64(w), short ? 0x83 : 0x81, op, base, index, scale, disp);
  if (short) imm8(b, imm);
  else imm32(b, imm);
}

export function testRR(b: CodeBuffer, w: number, r1: number, r2: number): void {
  opRR(b, 0, w64(w), 0x85, r2, r1);
}

export function testRI(b: CodeBuffer, w: number, r: number, imm: number): void {
  opRR(b, 0, w64(w), 0xf7, 0, r);
  imm32(b, imm);
}

export function imulRR(b: CodeBuffer, w: number, dst: number, src: number): void {
  opRR(b, 0, w64(w), 0x0faf, dst, src);
}

export function imulRRI(b: CodeBuffer, w: number, dst: number, src: number, imm: number): void {
  const short = fitsI8(imm);
  opRR(b, 0, w64(w), short ? 0x6b : 0x69, dst, src);
  if (short) imm8(b, imm);
  else imm32(b, imm);
}

export function mulDiv(b: CodeBuffer, op: MulDiv, w: number, src: number): void {
  opRR(b, 0, w64(w), 0xf7, op, src);
}

export function cdq(b: CodeBuffer, w: number): void {
  if (w === 8) b.emit8(0x48);
  b.emit8(0x99);
}

export function shiftCL(b: CodeBuffer, op: Shift, w: number, dst: number): void {
  opRR(b, 0, w64(w), 0xd3, op, dst);
}

export function shiftRI(b: CodeBuffer, op: Shift, w: number, dst: number, imm: number): void {
  opRR(b, 0, w64(w), 0xc1, op, dst);
  imm8(b, imm);
}

export function neg(b: CodeBuffer, w: number, r: number): void {
  opRR(b, 0, w64(w), 0xf7, 3, r);
}

export function not(b: CodeBuffer, w: number, r: number): void {
  opRR(b, 0, w64(w), 0xf7, 2, r);
}

/** Per BitCount: the prefix and the second opcode byte (0F xx). */
const BITCOUNT_PREFIX = [0xf3, 0xf3, 0xf3, 0, 0];
const BITCOUNT_OP = [0xbd, 0xbc, 0xb8, 0xbd, 0xbc];

export function bitCount(b: CodeBuffer, op: BitCount, w: number, dst: number, src: number): void {
  opRR(b, BITCOUNT_PREFIX[op], w64(w), 0x0f00 | BITCOUNT_OP[op], dst, src);
}

export function btRI(b: CodeBuffer, op: Bt, w: number, r: number, imm: number): void {
  opRR(b, 0, w64(w), 0x0fba, op, r);
  imm8(b, imm);
}

export function setcc(b: CodeBuffer, cond: number, r: number): void {
  opRR(b, 0, false, 0x0f90 + cond, 0, r, r >= 4);
}

export function cmovcc(b: CodeBuffer, cond: number, w: number, dst: number, src: number): void {
  opRR(b, 0, w64(w), 0x0f40 + cond, dst, src);
}

export function push(b: CodeBuffer, r: number): void {
  rex(b, false, 0, -1, r);
  b.emit8(0x50 + (r & 7));
}

export function pop(b: CodeBuffer, r: number): void {
  rex(b, false, 0, -1, r);
  b.emit8(0x58 + (r & 7));
}

export function pushM(b: CodeBuffer, base: number, disp: number): void {
  opRM(b, 0, false, 0xff, 6, base, -1, 1, disp);
}

export { modrmReg };

/** String moves for memory.copy/fill: rdi = destination, rsi = source, rcx = count, al = byte. */
export function repMovsb(b: CodeBuffer): void {
  b.emit8(0xf3);
  b.emit8(0xa4);
}

export function repStosb(b: CodeBuffer): void {
  b.emit8(0xf3);
  b.emit8(0xaa);
}

/** Direction flag: set for a backward (overlapping, destination above source) copy. */
export function std(b: CodeBuffer): void {
  b.emit8(0xfd);
}

export function cld(b: CodeBuffer): void {
  b.emit8(0xfc);
}

/** op r, [rip + disp32] (add or … cmp with a memory operand); returns the disp32's position. */
export function aluRip(b: CodeBuffer, op: Alu, w: number, dst: number): number {
  return opRip(b, 0, w64(w), (op << 3) | 3, dst);
}

/** imul r, [rip + disp32]; returns the disp32's position. */
export function imulRip(b: CodeBuffer, w: number, dst: number): number {
  return opRip(b, 0, w64(w), 0x0faf, dst);
}
