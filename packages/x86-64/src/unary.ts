import type { FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, Alu } from './encode';
import { SCRATCH, SCRATCH2 } from './regs';

/**
 * clz/ctz use bsr/bsf, which every x86-64 has (lzcnt/tzcnt would need a feature check); the
 * zero case is patched with cmov. Float abs/neg are bit operations (DESIGN: no NaN canonicalisation).
 */
export function unary(fc: FunctionCompiler, op: number, i: number): void {
  const b = fc.out.buf;
  if (op <= 0x69 || (op >= 0x79 && op <= 0x7b)) {
    const w = op >= 0x79 ? 8 : 4;
    const k = op - (w === 8 ? 0x79 : 0x67);
    const r = fc.regOf(i);
    const bits = w * 8;
    if (k === 0) { // clz = (bits−1) − bsr, with bsr(0) taken as −1
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
      x.bitCount(b, x.BitCount.POPCNT, w, r, r);
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

export { Reg };
