import { V128 } from './operations';

/**
 * The virtual operand stack (docs/ARCHITECTURE.md, "Code generator"): where each wasm value
 * currently lives. Parallel typed arrays, so pushing and popping allocates nothing. Only the code
 * generator (context.ts and the handlers) reads or writes it; backends never see it.
 */
export const enum Loc {
  /** Constant in lo/hi (32-bit values in lo). */
  Const = 1,
  /** In register `reg`, which this entry owns. */
  Reg = 2,
  /** In its home slot of the canonical frame. */
  Mem = 3,
  /** In the CPU flags; `reg` holds the backend's condition code for "true". */
  Flags = 4,
  /**
   * The value of local `lo`, held in register `reg` for the whole function (localregs.ts): the
   * entry shares it with the local (read-only; copied before the local is written).
   */
  Local = 5,
  /**
   * The value of local `lo`, which lives in its slot: read from there when used (a memory operand
   * where the backend takes one), loaded before the local is written.
   */
  LocalSlot = 6,
  /**
   * Register `reg` shifted left by `lo` (1–3), not yet computed: an `i32/i64.shl` by a small
   * constant whose result an `add` right after (local.get and const may come between) turns
   * into a scaled index (Backend.addShifted). `hi` 1: the register is the entry's own; 0: a
   * local's. Computed before any other instruction (CodeGenContext.scaledAt).
   */
  Scaled = 7,
}

/** Type code for a value popped from a polymorphic (unreachable) stack. */
export const UNKNOWN = 0;

export class ValueStack {
  type: Uint8Array;
  loc: Uint8Array;
  reg: Uint8Array;
  lo: Int32Array;
  hi: Int32Array;
  /**
   * First frame slot of each position, counted from the operand stack's bottom: the slots of the
   * values below it (a v128 takes two; frame.ts). Set at the push; values below a position never
   * change while it exists.
   */
  slot: Int32Array;
  height = 0;

  constructor(capacity = 1024) {
    this.slot = new Int32Array(capacity);
    this.type = new Uint8Array(capacity);
    this.loc = new Uint8Array(capacity);
    this.reg = new Uint8Array(capacity);
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
  }

  private grow(): void {
    const cap = this.type.length * 2;
    const t = new Uint8Array(cap); t.set(this.type); this.type = t;
    const l = new Uint8Array(cap); l.set(this.loc); this.loc = l;
    const r = new Uint8Array(cap); r.set(this.reg); this.reg = r;
    const lo = new Int32Array(cap); lo.set(this.lo); this.lo = lo;
    const hi = new Int32Array(cap); hi.set(this.hi); this.hi = hi;
    const sl = new Int32Array(cap); sl.set(this.slot); this.slot = sl;
  }

  /** First slot of position `pos` ≤ height: the slots of the values below it. */
  slotAt(pos: number): number {
    return pos === 0 ? 0 : this.slot[pos - 1] + (this.type[pos - 1] === V128 ? 2 : 1);
  }

  push(type: number, loc: Loc, reg: number, lo: number, hi: number): number {
    if (this.height >= this.type.length) this.grow();
    const i = this.height++;
    this.slot[i] = this.slotAt(i);
    this.type[i] = type;
    this.loc[i] = loc;
    // reg, lo and hi mean something only in the locations that use them (a push in the slot
    // writes two arrays, not five)
    if (loc !== Loc.Mem) {
      this.reg[i] = reg;
      this.lo[i] = lo;
      this.hi[i] = hi;
    }
    return i;
  }

  setReg(i: number, reg: number): void {
    this.loc[i] = Loc.Reg;
    this.reg[i] = reg;
  }

  /**
   * Exchanges where values `i` and `j` (of one type, neither in its slot) live: a commutative
   * operation's constant operand goes second. A slot belongs to a position, so Mem never swaps.
   */
  swap(i: number, j: number): void {
    const l = this.loc[i]; this.loc[i] = this.loc[j]; this.loc[j] = l;
    const r = this.reg[i]; this.reg[i] = this.reg[j]; this.reg[j] = r;
    const lo = this.lo[i]; this.lo[i] = this.lo[j]; this.lo[j] = lo;
    const hi = this.hi[i]; this.hi[i] = this.hi[j]; this.hi[j] = hi;
  }

  setConst(i: number, lo: number, hi: number): void {
    this.loc[i] = Loc.Const;
    this.lo[i] = lo;
    this.hi[i] = hi;
  }
}
