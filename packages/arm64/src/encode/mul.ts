import type { CodeBuffer } from '@wagc/frontend';
import { sf } from './core';

// Every register operand here is zr when 31.

/** rd = ra + rn·rm */
export function madd(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, ra: number): void {
  b.emit32(0x1b000000 | sf(w) | (rm << 16) | (ra << 10) | (rn << 5) | rd);
}

/** rd = ra − rn·rm (with sdiv/udiv: the remainder) */
export function msub(b: CodeBuffer, w: number, rd: number, rn: number, rm: number, ra: number): void {
  b.emit32(0x1b008000 | sf(w) | (rm << 16) | (ra << 10) | (rn << 5) | rd);
}

/** rd = rn·rm (MADD with ra = zr) */
export function mul(b: CodeBuffer, w: number, rd: number, rn: number, rm: number): void {
  madd(b, w, rd, rn, rm, 31);
}

/** x registers: high 64 bits of the signed 128-bit product. */
export function smulh(b: CodeBuffer, rd: number, rn: number, rm: number): void {
  b.emit32(0x9b407c00 | (rm << 16) | (rn << 5) | rd);
}

/** x registers: high 64 bits of the unsigned 128-bit product. */
export function umulh(b: CodeBuffer, rd: number, rn: number, rm: number): void {
  b.emit32(0x9bc07c00 | (rm << 16) | (rn << 5) | rd);
}

/**
 * rd = rn / rm rounded toward zero. No trap: division by zero gives 0 and INT_MIN / −1 gives
 * INT_MIN, so the macro layer checks both for wasm's traps.
 */
export function sdiv(b: CodeBuffer, w: number, rd: number, rn: number, rm: number): void {
  b.emit32(0x1ac00c00 | sf(w) | (rm << 16) | (rn << 5) | rd);
}

export function udiv(b: CodeBuffer, w: number, rd: number, rn: number, rm: number): void {
  b.emit32(0x1ac00800 | sf(w) | (rm << 16) | (rn << 5) | rd);
}
