import { V128 } from './operations';
import type { ValueStack } from './valuestack';

/**
 * Slot geometry: where each value of a function's canonical frame lives (docs/ARCHITECTURE.md,
 * "Frames"). Everything that turns a local index or an operand stack position into an address goes
 * through here.
 *
 * A frame is an array of 8-byte slots in canonical order. Every value takes one slot, except a
 * v128, which takes two consecutive ones (`slotsOf`). Slot s is at a lower address than slot s − 1
 * (the frame grows down), so a v128 at slots s, s + 1 has its 16 bytes, in wasm's little-endian
 * lane order, at the address of slot s + 1: slot s + 1 holds bytes 0–7, slot s bytes 8–15. Its
 * offset is that of its second slot. Locals have fixed first slots (set at entry); an operand
 * stack position's first slot counts the slots of the values below it (ValueStack.slot, set at
 * the push).
 *
 * With `fp` the address of the return address, `P` parameter slots, `L` declared-local slots and
 * an operand stack of at most `D` slots:
 *   fp + 8·(P − s)        slot s < P          (parameters, pushed by the caller)
 *   fp                    return address
 *   fp − 8·(s − P + 1)    slot s ≥ P          (declared locals, then operand stack slots)
 *   fp − frameSize        the stack pointer inside the body, frameSize = 8·(L + D + 1)
 */

/** Bytes of a slot. */
export const SLOT_SIZE = 8;

/** Slots a value of type `t` takes: two for a v128, one for anything else. */
export function slotsOf(t: number): number {
  return t === V128 ? 2 : 1;
}

export class FrameLayout {
  /** Parameters, then declared locals (values). */
  nParams = 0;
  nLocals = 0;
  /** Their slots. */
  paramSlots = 0;
  localSlots = 0;
  /** The deepest the operand stack went, in slots. */
  maxDepth = 0;
  /** First slot of each local (parameters first); one entry past the last: the slot count. */
  localSlot = new Int32Array(257);
  /** The type of each of the locals' slots (a v128's twice): the first entries of every site's types. */
  localSlotTypes = new Uint8Array(256);
  private readonly stack: ValueStack;

  constructor(stack: ValueStack) {
    this.stack = stack;
  }

  /** A function whose locals (parameters first, then declared ones) have the types `types`. */
  reset(types: Uint8Array, nParams: number, nLocals: number): void {
    const n = nParams + nLocals;
    if (this.localSlot.length < n + 1) this.localSlot = new Int32Array(2 * n + 1);
    if (this.localSlotTypes.length < 2 * n) this.localSlotTypes = new Uint8Array(4 * n);
    let s = 0;
    for (let x = 0; x < n; x++) {
      if (x === nParams) this.paramSlots = s;
      this.localSlot[x] = s;
      const t = types[x];
      this.localSlotTypes[s++] = t;
      if (t === V128) this.localSlotTypes[s++] = t;
    }
    this.localSlot[n] = s;
    if (n === nParams) this.paramSlots = s;
    this.nParams = nParams;
    this.nLocals = nLocals;
    this.localSlots = s - this.paramSlots;
    this.maxDepth = 0;
  }

  /** Offset from fp of a value whose last slot is canonical slot `s` (its lowest address). */
  private slotOffset(s: number): number {
    const p = this.paramSlots;
    return s < p ? SLOT_SIZE * (p - s) : -SLOT_SIZE * (s - p + 1);
  }

  /** Offset from fp of local `x` (parameters first). */
  localOffset(x: number): number {
    return this.slotOffset(this.localSlot[x + 1] - 1);
  }

  /** Offset from fp of the value at operand stack position `pos` (its home slots). */
  homeOffset(pos: number): number {
    const s = this.stack;
    return -SLOT_SIZE * (this.localSlots + s.slot[pos] + slotsOf(s.type[pos]));
  }

  /**
   * Offset from fp where value `k` of the top `n` of the stack goes when the `n` move down to
   * positions `base`… (a label's): their slots keep their sizes, from position base's first slot.
   */
  movedOffset(base: number, n: number, k: number): number {
    const s = this.stack;
    const src = s.height - n + k;
    const slot = s.slotAt(base) + s.slot[src] - s.slot[s.height - n];
    return -SLOT_SIZE * (this.localSlots + slot + slotsOf(s.type[src]));
  }

  /** Slots of the locals and of the operand stack's `depth` bottom values: a site's slot count. */
  siteSlots(depth: number): number {
    return this.paramSlots + this.localSlots + this.stack.slotAt(depth);
  }

  /** fp − sp at a site whose frame holds `depth` operand values (a call's arguments included). */
  siteFpOffset(depth: number): number {
    return SLOT_SIZE * (this.localSlots + this.stack.slotAt(depth));
  }

  /** Notes that operand stack slots up to `slots` (exclusive) are used. */
  noteDepth(slots: number): void {
    if (slots > this.maxDepth) this.maxDepth = slots;
  }

  /**
   * Offset from fp where result `k` of the top `m` values goes (docs/ARCHITECTURE.md, "Several
   * results"): the results fill the parameters' area from its top, result 0 highest.
   */
  resultOffset(m: number, k: number): number {
    const s = this.stack;
    const first = s.height - m;
    const below = s.slot[first + k] - s.slot[first];
    return SLOT_SIZE * (this.paramSlots + 1 - below - slotsOf(s.type[first + k]));
  }

  /** Slots of the top `m` values of the stack (several results: do they reach the return address?). */
  topSlots(m: number): number {
    const s = this.stack;
    return s.slotAt(s.height) - s.slot[s.height - m];
  }

  /** Declared locals and the deepest operand stack, plus the slot a call's return address takes. */
  frameSize(): number {
    return SLOT_SIZE * (this.localSlots + this.maxDepth) + SLOT_SIZE;
  }
}
