import { CompileError } from '../errors';
import { LIMITS, overLimit } from '../limits';
import { Base, Form, Operand, type Backend } from './backend';
import type { CompileOutput } from './output';
import { FrameLayout, slotsOf } from './frame';
import { OutOfLine } from './sites';
import { ValueStack, Loc } from './valuestack';
import { inFpr, I64, V128 } from './operations';
import { ROWS, opClass, opKind, opIn, opOut, opShape } from './opcodes';

/**
 * The code generator's state of the values (docs/ARCHITECTURE.md, "Code generator"): where every
 * value of the operand stack lives (valuestack.ts), which registers are free, and the moves between
 * locations. Everything that decides a value's location is here: register allocation and
 * spilling, placing operands in the forms a backend operation accepts, the merges at block
 * boundaries and branches (every value in its slot), and the bookkeeping around calls. The
 * instruction handlers (control.ts, numeric.ts, …) use it; backends see none of it.
 *
 * FunctionCompiler (function.ts) extends it with decoding, validation and control frames.
 */
export class CodeGenContext {
  readonly stack = new ValueStack();
  readonly frame = new FrameLayout(this.stack);
  readonly ool = new OutOfLine();
  readonly out: CompileOutput;
  readonly be: Backend;
  /** The backend's operand forms of each opcode row (Backend.formOf). */
  readonly forms = new Uint16Array(ROWS);
  /** Operand records handed to the backend, reused for every instruction. */
  readonly opA = new Operand();
  readonly opB = new Operand();
  readonly opC = new Operand();
  /** Vector registers allocated for the operation being emitted (Form.Temps1/2), −1 when none. */
  temp0 = -1;
  temp1 = -1;
  /**
   * The function's v128 constants, four little-endian words each: a constant v128 on the operand
   * stack (Loc.Const) holds its entry's index in `lo` (a typed array: no allocation per constant).
   */
  vconst = new Int32Array(4 * 64);
  vconstCount = 0;

  /** Types of the parameters then the declared locals. */
  localTypes = new Uint8Array(256);
  freeGpr = 0;
  freeFpr = 0;
  linkedIndex = 0;
  funcIndex = 0;
  /** Byte offset of the opcode being compiled (errors). */
  opOffset = 0;

  constructor(be: Backend, out: CompileOutput) {
    this.be = be;
    this.out = out;
    be.bind(out, this.ool);
    for (let r = 0; r < ROWS; r++) if (opClass[r]) this.forms[r] = be.formOf(opClass[r], opKind[r], opIn[r], opOut[r], opShape[r]);
  }

  // --- errors -----------------------------------------------------------------------------------

  fail(reason: string): never {
    throw new CompileError(reason, this.opOffset, this.funcIndex, 'code');
  }

  /** A compiler limit (LIMITS) passed at the current opcode: `n` where at most `limit` fit. */
  failLimit(what: string, n: number, limit: number): never {
    throw overLimit(what, n, limit, this.opOffset, this.funcIndex, 'code');
  }

  // --- registers --------------------------------------------------------------------------------

  resetRegs(): void {
    this.freeGpr = this.be.gprMask;
    this.freeFpr = this.be.fprMask;
  }

  /** The lowest free register of `type`'s class, spilling the oldest value held in one if none is. */
  allocReg(type: number): number {
    if (inFpr(type)) {
      if (this.freeFpr === 0) this.spillOldest(true);
      const r = lowestBit(this.freeFpr);
      this.freeFpr &= ~(1 << r);
      return r;
    }
    if (this.freeGpr === 0) this.spillOldest(false);
    const r = lowestBit(this.freeGpr);
    this.freeGpr &= ~(1 << r);
    return r;
  }

  freeReg(type: number, reg: number): void {
    if (inFpr(type)) this.freeFpr |= 1 << reg;
    else this.freeGpr |= 1 << reg;
  }

  /** Frees the register of value `i`, if it has one. */
  release(i: number): void {
    const s = this.stack;
    if (s.loc[i] === Loc.Reg) this.freeReg(s.type[i], s.reg[i]);
  }

  /** Only values below the stack height are spilled: an operation's operands (at and above it) stay. */
  private spillOldest(float: boolean): void {
    const s = this.stack;
    for (let i = 0; i < s.height; i++) {
      if (s.loc[i] === Loc.Reg && inFpr(s.type[i]) === float) {
        this.storeHome(i, i);
        return;
      }
    }
    this.fail('internal: no register to spill');
  }

  /** Ensures value `i` is in a register (of its own) and returns it. */
  regOf(i: number): number {
    const s = this.stack;
    if (s.loc[i] === Loc.Reg) return s.reg[i];
    const r = this.allocReg(s.type[i]);
    this.copyToReg(i, r);
    s.setReg(i, r);
    return r;
  }

  // --- pushes (the pops, with validation, are FunctionCompiler's) ------------------------------

  /** Pushes a value of `type` in its slot (the caller says where it is if it is live). */
  push(type: number): number {
    const s = this.stack;
    if (s.height >= LIMITS.operandStack) this.failLimit('operand stack too deep', s.height + 1, LIMITS.operandStack);
    const i = s.push(type, Loc.Mem, 0, 0, 0);
    this.frame.noteDepth(s.slot[i] + slotsOf(type));
    return i;
  }

  // --- v128 constants ---------------------------------------------------------------------------

  /** A new entry of the function's v128 constants (bytes 0–3 in w0 … 12–15 in w3); its index. */
  addV128(w0: number, w1: number, w2: number, w3: number): number {
    if (4 * this.vconstCount + 4 > this.vconst.length) {
      const n = new Int32Array(this.vconst.length * 2);
      n.set(this.vconst);
      this.vconst = n;
    }
    const k = this.vconstCount++;
    const v = this.vconst;
    v[4 * k] = w0;
    v[4 * k + 1] = w1;
    v[4 * k + 2] = w2;
    v[4 * k + 3] = w3;
    return k;
  }

  /** Pushes values of `types` in their slots (block parameters and results). */
  pushTypes(types: Uint8Array): void {
    for (let k = 0; k < types.length; k++) this.push(types[k]);
  }

  // --- calls ------------------------------------------------------------------------------------

  /**
   * Before a call: every value in its slot (the callee may clobber any register, and a call is a
   * site), and every register free. The arguments are the top values, so they are where the
   * callee's parameters are.
   */
  prepareCall(): void {
    this.spillAll();
    this.resetRegs();
  }

  /**
   * After a call whose arguments were popped: its results. One arrives in the backend's result
   * register and moves to an allocatable one; several are in the slots of the positions the
   * arguments started at (docs/ARCHITECTURE.md, "Several results").
   */
  callResults(results: Uint8Array): void {
    if (results.length !== 1) return this.pushTypes(results);
    const t = results[0];
    const r = this.allocReg(t);
    const from = this.be.resultReg(t);
    if (r !== from) this.be.move(t, r, from);
    const i = this.push(t);
    this.stack.setReg(i, r);
  }

  // --- moves ------------------------------------------------------------------------------------

  /** Copies value `i` into register `dst` of its class (which may be a backend's result register). */
  copyToReg(i: number, dst: number): void {
    const s = this.stack;
    const be = this.be;
    const t = s.type[i];
    switch (s.loc[i]) {
      case Loc.Const:
        if (t === V128) {
          const v = this.vconst, k = 4 * s.lo[i];
          be.loadConstV128(dst, v[k], v[k + 1], v[k + 2], v[k + 3]);
        } else be.loadConst(t, dst, s.lo[i], s.hi[i]);
        break;
      case Loc.Mem: be.loadSlot(t, dst, Base.Frame, this.frame.homeOffset(i)); break;
      case Loc.Reg: if (s.reg[i] !== dst) be.move(t, dst, s.reg[i]); break;
      case Loc.Flags: be.setFromCond(s.reg[i], dst); break;
    }
  }

  /** Stores value `i` at `base` + `offset` (a slot or a global) without changing its entry. */
  storeValue(i: number, base: Base, offset: number): void {
    const s = this.stack;
    const be = this.be;
    const t = s.type[i];
    switch (s.loc[i]) {
      case Loc.Const:
        if (t === V128) {
          // bytes 0–7 at the lower address (frame.ts)
          const v = this.vconst, k = 4 * s.lo[i];
          be.storeSlotConst(I64, base, offset, v[k], v[k + 1]);
          be.storeSlotConst(I64, base, offset + 8, v[k + 2], v[k + 3]);
        } else be.storeSlotConst(t, base, offset, s.lo[i], s.hi[i]);
        break;
      case Loc.Reg: be.storeSlot(t, base, offset, s.reg[i]); break;
      case Loc.Mem: {
        const from = this.frame.homeOffset(i);
        // a v128 moved up by one slot (a merge: destinations are never below their sources)
        // overlaps itself: its high half goes first
        if (t === V128) be.copySlot(base, offset + 8, from + 8);
        be.copySlot(base, offset, from);
        break;
      }
      case Loc.Flags: be.storeSlotCond(s.reg[i], base, offset); break;
    }
  }

  /**
   * Stores value `i` in the home slot of stack position `dstPos` (≤ i). When `dstPos === i` the
   * entry becomes Mem and its register is freed; otherwise it is left as it was.
   */
  storeHome(i: number, dstPos: number): void {
    const s = this.stack;
    if (!(s.loc[i] === Loc.Mem && i === dstPos)) this.storeValue(i, Base.Frame, this.frame.homeOffset(dstPos));
    if (i === dstPos) {
      this.release(i);
      s.loc[i] = Loc.Mem;
    }
  }

  /** Stores every value on the stack in its home slot: the canonical state of sites and labels. */
  spillAll(): void {
    const s = this.stack;
    for (let i = 0; i < s.height; i++) if (s.loc[i] !== Loc.Mem) this.storeHome(i, i);
  }

  /**
   * Before code that may clobber any register (a call, a loader routine, rep movs): the `n`
   * operands just popped (at index `i`, the stack height) go to their home slots with everything
   * below them, and no register holds a value. The height is `i` again afterwards.
   */
  spillOperands(i: number, n: number): void {
    this.stack.height = i + n;
    this.spillAll();
    this.resetRegs();
    this.stack.height = i;
  }

  /**
   * Merge: moves the top `n` values into the slots of positions `base`… (a label's), lowest first.
   * A destination is never above its source, so no source is overwritten before it is read.
   * `keep`: the entries stay as they were (a conditional branch's fall-through path still has the
   * values where they were); otherwise values already at their own position become Mem.
   */
  moveToSlots(base: number, n: number, keep: boolean): void {
    const s = this.stack;
    for (let k = 0; k < n; k++) {
      const src = s.height - n + k;
      if (src === base + k && s.loc[src] === Loc.Mem) continue;
      if (src === base + k && !keep) this.storeHome(src, src);
      else this.storeValue(src, Base.Frame, this.frame.movedOffset(base, n, k));
    }
  }

  /** True when `moveToSlots(base, n)` would emit anything. */
  slotsDiffer(base: number, n: number): boolean {
    const s = this.stack;
    for (let k = 0; k < n; k++) {
      const src = s.height - n + k;
      if (src !== base + k || s.loc[src] !== Loc.Mem) return true;
    }
    return false;
  }

  // --- operands of a backend operation ----------------------------------------------------------

  /**
   * Describes value `i` in `op` as one of the forms `accept` allows (Form.AImm, ASlot; AOwn asks
   * for a register the operation may overwrite), loading it into a register otherwise.
   */
  place(i: number, accept: number, op: Operand): Operand {
    const s = this.stack;
    const t = s.type[i];
    switch (s.loc[i]) {
      case Loc.Const:
        if (accept & Form.AImm) {
          if (t !== V128) return op.setImm(t, s.lo[i], s.hi[i]);
          const v = this.vconst, k = 4 * s.lo[i];
          return op.setImmV128(v[k], v[k + 1], v[k + 2], v[k + 3]);
        }
        break;
      case Loc.Mem:
        if (accept & Form.ASlot) return op.setSlot(t, this.frame.homeOffset(i));
        break;
      case Loc.Reg:
        return op.setReg(t, s.reg[i]);
    }
    return op.setReg(t, this.regOf(i));
  }

  /**
   * Places the operands of row `row` at `i` (and `i + 1`, `i + 2` for an `arity` of 2 or 3) in
   * opA/opB/opC as the backend's forms say (a third always in a register), allocates the form's
   * vector temporaries, and picks the result register: a's (InPlace), a new one (Fresh,
   * FreshFirst), or −1 (Cond, NoResult).
   */
  operands(row: number, i: number, arity: number): number {
    const f = this.forms[row];
    const result = f & Form.ResultMask;
    let dst = -1;
    if (result === Form.FreshFirst) dst = this.allocReg(opOut[row]);
    this.place(i, f & 0xf, this.opA);
    if (arity > 1) this.place(i + 1, (f >> 4) & 0xf, this.opB);
    if (arity > 2) this.place(i + 2, 0, this.opC); // a third operand is in a register
    this.allocTemps(f);
    if (result === Form.InPlace) dst = this.opA.reg;
    else if (result === Form.Fresh) {
      for (let k = 0; k < arity; k++) this.release(i + k);
      dst = this.allocReg(opOut[row]);
    }
    return dst;
  }

  /** The vector temporaries form `f` asks for (Form.Temps1, Temps2), in temp0/temp1. */
  allocTemps(f: number): void {
    const n = (f & Form.TempsMask) >> 12;
    this.temp0 = n >= 1 ? this.allocReg(V128) : -1;
    this.temp1 = n >= 2 ? this.allocReg(V128) : -1;
  }

  freeTemps(): void {
    if (this.temp0 >= 0) this.freeReg(V128, this.temp0);
    if (this.temp1 >= 0) this.freeReg(V128, this.temp1);
    this.temp0 = this.temp1 = -1;
  }

  /**
   * After the backend emitted row `row`: the operands' registers are free and value `i` is its
   * result (in `dst`, or the condition `cc`; a store has none).
   */
  result(row: number, i: number, arity: number, dst: number, cc: number): void {
    const s = this.stack;
    const result = this.forms[row] & Form.ResultMask;
    this.freeTemps();
    // Fresh released the operands before choosing dst, which may be one of their registers
    if (result === Form.Fresh) {
      s.setReg(i, dst);
      return;
    }
    for (let k = 1; k < arity; k++) this.release(i + k);
    if (result === Form.InPlace) return; // value i keeps its register, now the result
    this.release(i);
    if (result === Form.FreshFirst) s.setReg(i, dst);
    else if (result === Form.Cond) {
      s.loc[i] = Loc.Flags;
      s.reg[i] = cc;
    }
  }
}

/** Lowest set bit's index of a non-zero mask. */
export function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}
