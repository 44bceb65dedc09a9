import { CPU_FEATURE, type CodeBuffer, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, Alu, Shift } from './encode';
import { SCRATCH, SCRATCH2 } from './regs';
import { stateOf } from './state';

/**
 * Integer clz/ctz/popcnt, and float abs/neg/rounding/sqrt.
 *
 * Baseline x86-64 has no lzcnt, tzcnt or popcnt (an image using one dies of SIGILL on a CPU
 * without it), so they are used only when the compile enables the CPU feature (`wagc
 * --cpu-features`), and each use is recorded for the image. Otherwise clz/ctz use bsr/bsf, which
 * every x86-64 has, with the zero input patched by cmov; popcnt is the branch-free SWAR sum.
 * Float abs/neg are bit operations (DESIGN: no NaN canonicalisation).
 */
export function unary(fc: FunctionCompiler, op: number, i: number): void {
  const b = fc.out.buf;
  if (op <= 0x69 || (op >= 0x79 && op <= 0x7b)) {
    const w = op >= 0x79 ? 8 : 4;
    const k = op - (w === 8 ? 0x79 : 0x67);
    const r = fc.regOf(i);
    const bits = w * 8;
    const st = stateOf(fc);
    const feature = k === 0 ? CPU_FEATURE.lzcnt : k === 1 ? CPU_FEATURE.bmi1 : CPU_FEATURE.popcnt;
    if (st.cpuFeatures & feature) {
      st.usedCpuFeatures |= feature;
      x.bitCount(b, k === 0 ? x.BitCount.LZCNT : k === 1 ? x.BitCount.TZCNT : x.BitCount.POPCNT, w, r, r);
    } else if (k === 0) { // clz = (bits−1) − bsr, with bsr(0) taken as −1
      x.movRI32(b, w, SCRATCH2, -1);
      x.bitCount(b, x.BitCount.BSR, w, SCRATCH, r);
      x.cmovcc(b, Cond.E, w, SCRATCH, SCRATCH2);
      x.movRI32(b, 4, r, bits - 1);
      x.aluRR(b, Alu.SUB, w, r, SCRATCH);
    } else if (k === 1) { // ctz = bsf, with bsf(0) taken as bits
      x.movRI32(b, 4, SCRATCH2, bits);
      x.bitCount(b, x.BitCount.BSF, w, r, r);
      x.cmovcc(b, Cond.E, w, r, SCRATCH2);
    } else {
      popcntSwar(b, w, r);
    }
    return;
  }
  const sz = op >= 0x99 ? 8 : 4;
  const k = op - (sz === 8 ? 0x99 : 0x8b); // abs neg ceil floor trunc nearest sqrt
  const r = fc.regOf(i);
  switch (k) {
    case 0:
    case 1:
      x.movXG(b, sz, SCRATCH, r);
      x.btRI(b, k === 0 ? x.Bt.BTR : x.Bt.BTC, sz, SCRATCH, sz * 8 - 1);
      x.movGX(b, sz, r, SCRATCH);
      break;
    case 2: x.roundf(b, sz, r, r, 2 | 8); break;
    case 3: x.roundf(b, sz, r, r, 1 | 8); break;
    case 4: x.roundf(b, sz, r, r, 3 | 8); break;
    case 5: x.roundf(b, sz, r, r, 0 | 8); break;
    case 6: x.farith(b, x.FArith.SQRT, sz, r, r); break;
  }
}

/**
 * Population count without POPCNT (Hacker's Delight 5-2): bit pairs, then nibbles, then bytes
 * hold their own counts, and one multiply adds every byte into the top one. `r` in and out; rax
 * and rcx are clobbered. 64-bit masks do not fit an immediate: they go through rcx.
 */
function popcntSwar(b: CodeBuffer, w: number, r: number): void {
  let inRcx = 0;
  const andMask = (dst: number, m: number): void => {
    if (w === 4) return x.aluRI(b, Alu.AND, 4, dst, m);
    if (inRcx !== m) x.movRI64(b, SCRATCH2, m, m);
    inRcx = m;
    x.aluRR(b, Alu.AND, 8, dst, SCRATCH2);
  };
  // r −= (r >> 1) & 0x55…
  x.movRR(b, w, SCRATCH, r);
  x.shiftRI(b, Shift.SHR, w, SCRATCH, 1);
  andMask(SCRATCH, 0x55555555);
  x.aluRR(b, Alu.SUB, w, r, SCRATCH);
  // r = (r & 0x33…) + ((r >> 2) & 0x33…)
  x.movRR(b, w, SCRATCH, r);
  x.shiftRI(b, Shift.SHR, w, SCRATCH, 2);
  andMask(r, 0x33333333);
  andMask(SCRATCH, 0x33333333);
  x.aluRR(b, Alu.ADD, w, r, SCRATCH);
  // r = (r + (r >> 4)) & 0x0f…
  x.movRR(b, w, SCRATCH, r);
  x.shiftRI(b, Shift.SHR, w, SCRATCH, 4);
  x.aluRR(b, Alu.ADD, w, r, SCRATCH);
  andMask(r, 0x0f0f0f0f);
  // r = (r · 0x01…) >> (bits − 8)
  if (w === 4) x.imulRRI(b, 4, r, r, 0x01010101);
  else {
    x.movRI64(b, SCRATCH2, 0x01010101, 0x01010101);
    x.imulRR(b, 8, r, SCRATCH2);
  }
  x.shiftRI(b, Shift.SHR, w, r, w * 8 - 8);
}

export { Reg };
