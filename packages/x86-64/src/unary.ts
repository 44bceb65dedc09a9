import { CPU_FEATURE, FloatUnOp, IntUnOp, type CodeBuffer } from '@wagc/frontend';
import { x } from './encode/flat';
import { Cond, Alu, Shift } from './encode';
import { SCRATCH, SCRATCH2 } from './regs';
import type { X64Backend } from './backend';

/**
 * Integer clz/ctz/popcnt, and float abs/neg/rounding/sqrt, in place.
 *
 * Baseline x86-64 has no lzcnt, tzcnt or popcnt (an image using one dies of SIGILL on a CPU
 * without it), so they are used only when the compile enables the CPU feature (`wagc
 * --cpu-features`), and each use is recorded for the image. Otherwise clz/ctz use bsr/bsf, which
 * every x86-64 has, with the zero input patched by cmov; popcnt is the branch-free SWAR sum.
 * Float abs/neg are bit operations (no NaN canonicalisation).
 */

const LZCNT = CPU_FEATURE.lzcnt, BMI1 = CPU_FEATURE.bmi1, POPCNT = CPU_FEATURE.popcnt, SSE41 = CPU_FEATURE.sse4_1;

export function intUnary(be: X64Backend, kind: IntUnOp, w: number, r: number): void {
  const b = be.buf;
  const bits = w * 8;
  const feature = kind === IntUnOp.Clz ? LZCNT : kind === IntUnOp.Ctz ? BMI1 : POPCNT;
  if (be.cpuFeatures & feature) {
    be.usedCpuFeatures |= feature;
    x.bitCount(b, kind === IntUnOp.Clz ? x.BitCount.LZCNT : kind === IntUnOp.Ctz ? x.BitCount.TZCNT : x.BitCount.POPCNT, w, r, r);
  } else if (kind === IntUnOp.Clz) { // clz = (bits−1) − bsr, with bsr(0) taken as −1
    x.movRI32(b, w, SCRATCH2, -1);
    x.bitCount(b, x.BitCount.BSR, w, SCRATCH, r);
    x.cmovcc(b, Cond.E, w, SCRATCH, SCRATCH2);
    x.movRI32(b, 4, r, bits - 1);
    x.aluRR(b, Alu.SUB, w, r, SCRATCH);
  } else if (kind === IntUnOp.Ctz) { // ctz = bsf, with bsf(0) taken as bits
    x.movRI32(b, 4, SCRATCH2, bits);
    x.bitCount(b, x.BitCount.BSF, w, r, r);
    x.cmovcc(b, Cond.E, w, r, SCRATCH2);
  } else {
    popcntSwar(b, w, r);
  }
}

export function floatUnary(be: X64Backend, kind: FloatUnOp, sz: number, r: number): void {
  const b = be.buf;
  switch (kind) {
    case FloatUnOp.Abs:
    case FloatUnOp.Neg:
      x.movXG(b, sz, SCRATCH, r);
      x.btRI(b, kind === FloatUnOp.Abs ? x.Bt.BTR : x.Bt.BTC, sz, SCRATCH, sz * 8 - 1);
      x.movGX(b, sz, r, SCRATCH);
      break;
    // roundss/roundsd are SSE4.1's
    case FloatUnOp.Ceil: be.usedCpuFeatures |= SSE41; x.roundf(b, sz, r, r, 2 | 8); break;
    case FloatUnOp.Floor: be.usedCpuFeatures |= SSE41; x.roundf(b, sz, r, r, 1 | 8); break;
    case FloatUnOp.Trunc: be.usedCpuFeatures |= SSE41; x.roundf(b, sz, r, r, 3 | 8); break;
    case FloatUnOp.Nearest: be.usedCpuFeatures |= SSE41; x.roundf(b, sz, r, r, 0 | 8); break;
    case FloatUnOp.Sqrt: x.farith(b, x.FArith.SQRT, sz, r, r); break;
  }
}

/**
 * Population count without POPCNT (Hacker's Delight 5-2): bit pairs, then nibbles, then bytes
 * hold their own counts, and one multiply adds every byte into the top one. `r` in and out; rax
 * and rcx are clobbered. 64-bit masks do not fit an immediate: they go through rcx.
 */
function popcntSwar(b: CodeBuffer, w: number, r: number): void {
  maskInRcx = 0;
  // r −= (r >> 1) & 0x55…
  x.movRR(b, w, SCRATCH, r);
  x.shiftRI(b, Shift.SHR, w, SCRATCH, 1);
  andMask(b, w, SCRATCH, 0x55555555);
  x.aluRR(b, Alu.SUB, w, r, SCRATCH);
  // r = (r & 0x33…) + ((r >> 2) & 0x33…)
  x.movRR(b, w, SCRATCH, r);
  x.shiftRI(b, Shift.SHR, w, SCRATCH, 2);
  andMask(b, w, r, 0x33333333);
  andMask(b, w, SCRATCH, 0x33333333);
  x.aluRR(b, Alu.ADD, w, r, SCRATCH);
  // r = (r + (r >> 4)) & 0x0f…
  x.movRR(b, w, SCRATCH, r);
  x.shiftRI(b, Shift.SHR, w, SCRATCH, 4);
  x.aluRR(b, Alu.ADD, w, r, SCRATCH);
  andMask(b, w, r, 0x0f0f0f0f);
  // r = (r · 0x01…) >> (bits − 8)
  if (w === 4) x.imulRRI(b, 4, r, r, 0x01010101);
  else {
    x.movRI64(b, SCRATCH2, 0x01010101, 0x01010101);
    x.imulRR(b, 8, r, SCRATCH2);
  }
  x.shiftRI(b, Shift.SHR, w, r, w * 8 - 8);
}

/** The 64-bit mask rcx holds within one popcntSwar (0: none yet). */
let maskInRcx = 0;

/** dst &= the mask `m` repeated (an immediate for 32 bits, rcx for 64). */
function andMask(b: CodeBuffer, w: number, dst: number, m: number): void {
  if (w === 4) return x.aluRI(b, Alu.AND, 4, dst, m);
  if (maskInRcx !== m) x.movRI64(b, SCRATCH2, m, m);
  maskInRcx = m;
  x.aluRR(b, Alu.AND, 8, dst, SCRATCH2);
}
