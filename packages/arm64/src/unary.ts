import { IntUnOp, type FloatUnOp } from '@wagc/frontend';
import { a } from './encode/flat';
import { FUnary } from './encode';
import { XSCRATCH } from './regs';
import type { A64Backend } from './backend';

/**
 * Integer clz/ctz/popcnt and float abs/neg/rounding/sqrt, in place (mirrors
 * packages/x86-64/src/unary.ts). Baseline ARMv8.0 has all of them but a scalar popcount: clz gives
 * the width for 0 as wasm wants, ctz is clz of the reversed bits, popcnt goes through NEON cnt/addv.
 */

// abs neg ceil floor trunc nearest sqrt; fabs/fneg only touch the sign bit (no NaN canonicalisation)
const FUNARY = [FUnary.FABS, FUnary.FNEG, FUnary.FRINTP, FUnary.FRINTM, FUnary.FRINTZ, FUnary.FRINTN, FUnary.FSQRT];

export function intUnary(be: A64Backend, kind: IntUnOp, w: number, r: number): void {
  const b = be.buf;
  if (kind === IntUnOp.Clz) a.clz(b, w, r, r);
  else if (kind === IntUnOp.Ctz) {
    a.rbit(b, w, r, r);
    a.clz(b, w, r, r);
  } else a.popcount(b, w, r, r, XSCRATCH);
}

export function floatUnary(be: A64Backend, kind: FloatUnOp, sz: number, r: number): void {
  a.funary(be.buf, FUNARY[kind], sz, r, r);
}
