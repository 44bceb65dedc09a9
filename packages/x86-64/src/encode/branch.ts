import type { CodeBuffer } from '@wagc/frontend';
import { opRR, opRM, rex } from './core';

export function ret(b: CodeBuffer): void { b.emit8(0xc3); }
export function ud2(b: CodeBuffer): void { b.emit8(0x0f); b.emit8(0x0b); }
export function int3(b: CodeBuffer): void { b.emit8(0xcc); }
export function nop(b: CodeBuffer): void { b.emit8(0x90); }

/** Each returns the buffer offset of its displacement field, patched with patchRel32/8. */
export function callRel32(b: CodeBuffer): number {
  b.emit8(0xe8);
  b.emit32(0);
  return b.pos - 4;
}

export function jmpRel32(b: CodeBuffer): number {
  b.emit8(0xe9);
  b.emit32(0);
  return b.pos - 4;
}

export function jccRel32(b: CodeBuffer, cond: number): number {
  b.emit8(0x0f);
  b.emit8(0x80 + cond);
  b.emit32(0);
  return b.pos - 4;
}

export function jmpRel8(b: CodeBuffer): number {
  b.emit8(0xeb);
  b.emit8(0);
  return b.pos - 1;
}

export function jccRel8(b: CodeBuffer, cond: number): number {
  b.emit8(0x70 + cond);
  b.emit8(0);
  return b.pos - 1;
}

export function patchRel32(b: CodeBuffer, at: number, target: number): void {
  b.patch32(at, target - (at + 4));
}

export function patchRel8(b: CodeBuffer, at: number, target: number): void {
  const rel = target - (at + 1);
  if (rel < -128 || rel > 127) throw new Error(`x86-64: rel8 out of range (${rel})`);
  b.bytes[at] = rel & 0xff;
}

export function callR(b: CodeBuffer, r: number): void { opRR(b, 0, false, 0xff, 2, r); }
export function callM(b: CodeBuffer, base: number, disp: number): void { opRM(b, 0, false, 0xff, 2, base, -1, 1, disp); }
export function jmpR(b: CodeBuffer, r: number): void { opRR(b, 0, false, 0xff, 4, r); }
export function jmpM(b: CodeBuffer, base: number, index: number, scale: number, disp: number): void {
  opRM(b, 0, false, 0xff, 4, base, index, scale, disp);
}

/** lea r64, [rip + rel32]; returns the rel32's offset. */
export function leaRip(b: CodeBuffer, dst: number): number {
  rex(b, true, dst, -1, 0);
  b.emit8(0x8d);
  b.emit8(((dst & 7) << 3) | 5);
  b.emit32(0);
  return b.pos - 4;
}
