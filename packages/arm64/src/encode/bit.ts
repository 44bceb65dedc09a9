import type { CodeBuffer } from '@wagc/frontend';
import { sf } from './core';
import { fmovToFp, fmovFromFp } from './float';

// General-purpose operands are zr when 31; v registers are 0–31.

/** Count leading zeros (width for zero: wasm's clz needs no fix-up). */
export function clz(b: CodeBuffer, w: number, rd: number, rn: number): void {
  b.emit32(0x5ac01000 | sf(w) | (rn << 5) | rd);
}

/** Reverse bits; ctz(x) = clz(rbit(x)). */
export function rbit(b: CodeBuffer, w: number, rd: number, rn: number): void {
  b.emit32(0x5ac00000 | sf(w) | (rn << 5) | rd);
}

/** Reverse bytes (the whole register). */
export function rev(b: CodeBuffer, w: number, rd: number, rn: number): void {
  b.emit32((w === 8 ? 0xdac00c00 : 0x5ac00800) | (rn << 5) | rd);
}

/** NEON CNT vd.8b, vn.8b: population count of each byte. */
export function cnt8b(b: CodeBuffer, vd: number, vn: number): void {
  b.emit32(0x0e205800 | (vn << 5) | vd);
}

/** NEON ADDV bd, vn.8b: sum of the eight bytes. */
export function addv8b(b: CodeBuffer, vd: number, vn: number): void {
  b.emit32(0x0e31b800 | (vn << 5) | vd);
}

/**
 * rd = popcount(rn), through v register `vtmp` (clobbered): fmov to s/d, cnt .8b, addv, fmov
 * back. Four instructions; ARM64 has no scalar popcount before FEAT_CSSC.
 */
export function popcount(b: CodeBuffer, w: number, rd: number, rn: number, vtmp: number): void {
  fmovToFp(b, w, vtmp, rn);
  cnt8b(b, vtmp, vtmp);
  addv8b(b, vtmp, vtmp);
  fmovFromFp(b, 4, rd, vtmp);
}
