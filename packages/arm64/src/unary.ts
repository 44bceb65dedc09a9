import type { FunctionCompiler } from '@wagc/frontend';
import { a } from './encode/flat';
import { FUnary } from './encode';
import { XSCRATCH } from './regs';

// abs neg ceil floor trunc nearest sqrt; fabs/fneg only touch the sign bit (no NaN canonicalisation)
const FUNARY = [FUnary.FABS, FUnary.FNEG, FUnary.FRINTP, FUnary.FRINTM, FUnary.FRINTZ, FUnary.FRINTN, FUnary.FSQRT];

/**
 * Integer clz/ctz/popcnt and float abs/neg/rounding/sqrt (mirrors packages/x86-64/src/unary.ts).
 * Baseline ARMv8.0 has all of them but a scalar popcount: clz gives the width for 0 as wasm
 * wants, ctz is clz of the reversed bits, popcnt goes through NEON cnt/addv.
 */
export function unary(fc: FunctionCompiler, op: number, i: number): void {
  const b = fc.out.buf;
  const r = fc.regOf(i);
  if (op <= 0x69 || (op >= 0x79 && op <= 0x7b)) {
    const w = op >= 0x79 ? 8 : 4;
    const k = op - (w === 8 ? 0x79 : 0x67);
    if (k === 0) a.clz(b, w, r, r);
    else if (k === 1) {
      a.rbit(b, w, r, r);
      a.clz(b, w, r, r);
    } else a.popcount(b, w, r, r, XSCRATCH);
    return;
  }
  const sz = op >= 0x99 ? 8 : 4;
  a.funary(b, FUNARY[op - (sz === 8 ? 0x99 : 0x8b)], sz, r, r);
}
