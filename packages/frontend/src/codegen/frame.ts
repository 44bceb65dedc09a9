/**
 * Slot geometry: where each value of a function's canonical frame lives (docs/ARCHITECTURE.md,
 * "Frames"). Everything that turns a local index or an operand stack position into an address goes
 * through here, so a slot size per type (a 16-byte v128) changes this file and nothing else: it
 * would keep a running offset per local (fixed at entry) and per stack position (set at the push).
 *
 * With `fp` the address of the return address and `n` parameters, `L` declared locals and an
 * operand stack of maximal depth `D`:
 *   fp + 8·(n − s)        slot s < n          (parameters, pushed by the caller)
 *   fp                    return address
 *   fp − 8·(s − n + 1)    slot s ≥ n          (declared locals, then operand stack positions)
 *   fp − frameSize        the stack pointer inside the body, frameSize = 8·(L + D + 1)
 */

/** Bytes of every slot today (i32/f32 in the low half). */
const SLOT = 8;
export const SLOT_SIZE = SLOT;

/** Bytes of the slot a value of type `t` takes (all 8 until v128 has slots of its own). */
export function slotSize(_t: number): number {
  return SLOT;
}

export class FrameLayout {
  /** Parameters, then declared locals. */
  nParams = 0;
  nLocals = 0;
  /** The deepest the operand stack went (positions). */
  maxDepth = 0;

  reset(nParams: number, nLocals: number): void {
    this.nParams = nParams;
    this.nLocals = nLocals;
    this.maxDepth = 0;
  }

  /** Offset from fp of local `s` (parameters first). */
  localOffset(s: number): number {
    const n = this.nParams;
    return s < n ? SLOT * (n - s) : -SLOT * (s - n + 1);
  }

  /** Offset from fp of operand stack position `pos` (its home slot). */
  homeOffset(pos: number): number {
    return -SLOT * (this.nLocals + pos + 1);
  }

  /** fp − sp at a site whose frame holds `depth` operand values (a call's arguments included). */
  siteFpOffset(depth: number): number {
    return SLOT * (this.nLocals + depth);
  }

  /** Offset from fp where result `k` of several goes (docs/ARCHITECTURE.md, "Several results"). */
  resultOffset(k: number): number {
    return SLOT * (this.nParams - k);
  }

  /** Declared locals and the deepest operand stack, plus the slot a call's return address takes. */
  frameSize(): number {
    return SLOT * (this.nLocals + this.maxDepth) + SLOT;
  }
}
