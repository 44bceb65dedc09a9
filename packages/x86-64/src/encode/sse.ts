import type { CodeBuffer } from '@wagc/frontend';
import { opRR, opRM, opRip } from './core';

export const enum FArith { ADD = 0x58, MUL = 0x59, SUB = 0x5c, MIN = 0x5d, DIV = 0x5e, MAX = 0x5f, SQRT = 0x51 }
export const enum FBit { AND = 0x54, ANDN = 0x55, OR = 0x56, XOR = 0x57 }

/** Scalar prefix: F3 single, F2 double. */
const sp = (sz: number): number => (sz === 4 ? 0xf3 : 0xf2);

export function fload(b: CodeBuffer, sz: number, xdst: number, base: number, index: number, scale: number, disp: number): void {
  opRM(b, sp(sz), false, 0x0f10, xdst, base, index, scale, disp);
}

export function fstore(b: CodeBuffer, sz: number, base: number, index: number, scale: number, disp: number, xsrc: number): void {
  opRM(b, sp(sz), false, 0x0f11, xsrc, base, index, scale, disp);
}

export function fmovRR(b: CodeBuffer, xdst: number, xsrc: number): void {
  opRR(b, 0, false, 0x0f28, xdst, xsrc);
}

/** movd/movq xmm ← r (66 [REX.W] 0F 6E). */
export function movGX(b: CodeBuffer, w: number, xdst: number, gsrc: number): void {
  opRR(b, 0x66, w === 8, 0x0f6e, xdst, gsrc);
}

/** movd/movq r ← xmm (66 [REX.W] 0F 7E, xmm in reg field). */
export function movXG(b: CodeBuffer, w: number, gdst: number, xsrc: number): void {
  opRR(b, 0x66, w === 8, 0x0f7e, xsrc, gdst);
}

export function farith(b: CodeBuffer, op: FArith, sz: number, xdst: number, xsrc: number): void {
  opRR(b, sp(sz), false, 0x0f00 | op, xdst, xsrc);
}

export function ucomis(b: CodeBuffer, sz: number, xa: number, xb: number): void {
  opRR(b, sz === 8 ? 0x66 : 0, false, 0x0f2e, xa, xb);
}

export function cvtsi2f(b: CodeBuffer, sz: number, w: number, xdst: number, gsrc: number): void {
  opRR(b, sp(sz), w === 8, 0x0f2a, xdst, gsrc);
}

export function cvttf2si(b: CodeBuffer, sz: number, w: number, gdst: number, xsrc: number): void {
  opRR(b, sp(sz), w === 8, 0x0f2c, gdst, xsrc);
}

/** fromSz 4: cvtss2sd; 8: cvtsd2ss. */
export function cvtf2f(b: CodeBuffer, fromSz: number, xdst: number, xsrc: number): void {
  opRR(b, sp(fromSz), false, 0x0f5a, xdst, xsrc);
}

/** roundss/roundsd (SSE4.1): 66 0F 3A 0A/0B ib. */
export function roundf(b: CodeBuffer, sz: number, xdst: number, xsrc: number, mode: number): void {
  opRR(b, 0x66, false, sz === 4 ? 0x0f3a0a : 0x0f3a0b, xdst, xsrc);
  b.emit8(mode);
}

export function fbit(b: CodeBuffer, op: FBit, xdst: number, xsrc: number): void {
  opRR(b, 0, false, 0x0f00 | op, xdst, xsrc);
}

/** movss/movsd xmm ← [rip + disp32]; returns the disp32's position. */
export function floadRip(b: CodeBuffer, sz: number, xdst: number): number {
  return opRip(b, sp(sz), false, 0x0f10, xdst);
}

/** addsd/mulsd/… xmm, [rip + disp32]; returns the disp32's position. */
export function farithRip(b: CodeBuffer, op: FArith, sz: number, xdst: number): number {
  return opRip(b, sp(sz), false, 0x0f00 | op, xdst);
}

/** ucomiss/ucomisd xmm, [rip + disp32]; returns the disp32's position. */
export function ucomisRip(b: CodeBuffer, sz: number, xa: number): number {
  return opRip(b, sz === 8 ? 0x66 : 0, false, 0x0f2e, xa);
}
