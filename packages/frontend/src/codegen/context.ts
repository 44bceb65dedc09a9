import { CompileError } from '../errors';
import { LIMITS, overLimit } from '../limits';
import { Base, Form, Operand, type Backend } from './backend';
import type { CompileOutput } from './output';
import { FrameLayout, slotsOf } from './frame';
import { OutOfLine } from './sites';
import { ValueStack, Loc } from './valuestack';
import { isFloat, inFpr, widthOf, I32, I64, V128, IntBinOp } from './operations';
import { ROWS, opClass, opKind, opIn, opOut, opShape } from './opcodes';
import { MAX_REG_LOCALS } from './localregs';

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

  // locals held in registers (localregs.ts chooses them; docs/ARCHITECTURE.md, "Code generator")
  /** The register of each local held in one for the whole function; −1: the local is in its slot. */
  localReg = new Int8Array(256);
  /** Its ordinal among the register locals (its bit in `dirty` and the loop masks); −1: none. */
  localOrd = new Int8Array(256);
  /** The register locals, by ordinal. */
  regLocals = new Int32Array(MAX_REG_LOCALS);
  nRegLocals = 0;
  /** The registers the register locals hold: never handed to operand values. */
  localGprs = 0;
  localFprs = 0;
  /** Register locals whose register may differ from their slot (bit = ordinal). */
  dirty = 0;
  /** The prologue has loaded the register locals (a check before that saves none). */
  localsLive = false;
  /** Per loop, in opcode order: the register locals its body writes (−1: any). */
  loopMask = new Int32Array(64);
  loopsScanned = 0;
  /** No stack entry below this position is a Loc.Local or LocalSlot (a local.set scans from here). */
  localRefLow = 0;
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
    this.freeGpr = this.be.gprMask & ~this.localGprs;
    this.freeFpr = this.be.fprMask & ~this.localFprs;
  }

  // --- locals in registers ----------------------------------------------------------------------

  /** No local in a register (a function of `n` locals, parameters included). */
  clearLocalRegs(n: number): void {
    if (this.localReg.length < n) {
      let cap = this.localReg.length;
      while (cap < n) cap *= 2;
      this.localReg = new Int8Array(cap);
      this.localOrd = new Int8Array(cap);
    }
    this.localReg.fill(-1, 0, n);
    this.localOrd.fill(-1, 0, n);
    this.nRegLocals = 0;
    this.localGprs = 0;
    this.localFprs = 0;
    this.dirty = 0;
    this.localsLive = false;
    this.localRefLow = 0;
  }

  /** Local `x` lives in register `r` for the whole function. */
  setLocalReg(x: number, r: number): void {
    const ord = this.nRegLocals++;
    this.regLocals[ord] = x;
    this.localReg[x] = r;
    this.localOrd[x] = ord;
    if (isFloat(this.localTypes[x])) this.localFprs |= 1 << r;
    else this.localGprs |= 1 << r;
  }

  /**
   * The prologue's part: each register local gets its value, a parameter from its slot (clean), a
   * declared local zero (changed: its slot is not zeroed, and is written back before a site).
   */
  loadLocalsAtEntry(): void {
    const be = this.be;
    let dirty = 0;
    for (let k = 0; k < this.nRegLocals; k++) {
      const x = this.regLocals[k];
      const t = this.localTypes[x];
      if (x < this.frame.nParams) be.loadSlot(t, this.localReg[x], Base.Frame, this.frame.localOffset(x));
      else {
        be.loadConst(t, this.localReg[x], 0, 0);
        dirty |= 1 << k;
      }
    }
    this.dirty = dirty;
    this.localsLive = true;
  }

  /** Writes back the register locals changed since their last write-back: their slots are canonical. */
  writeBackLocals(): void {
    const be = this.be;
    const d = this.dirty;
    if (d === 0) return;
    for (let k = 0; k < this.nRegLocals; k++) {
      if ((d & (1 << k)) === 0) continue;
      const x = this.regLocals[k];
      be.storeSlot(this.localTypes[x], Base.Frame, this.frame.localOffset(x), this.localReg[x]);
    }
    this.dirty = 0;
  }

  /** After code that clobbered every allocatable register: the register locals from their slots, `except` one (−1: none). */
  reloadLocals(except: number): void {
    const be = this.be;
    for (let k = 0; k < this.nRegLocals; k++) {
      const x = this.regLocals[k];
      if (x !== except) be.loadSlot(this.localTypes[x], this.localReg[x], Base.Frame, this.frame.localOffset(x));
    }
  }

  /** Local `x` was written (in its register, or its slot: then nothing to track). */
  localWritten(x: number): void {
    const ord = this.localOrd[x];
    if (ord >= 0) this.dirty |= 1 << ord;
  }

  /** Stack entry `i` is local `x`'s value, where the local is (Loc.Local, Loc.LocalSlot). */
  setLocalEntry(i: number, x: number): void {
    const s = this.stack;
    const r = this.localReg[x];
    s.loc[i] = r >= 0 ? Loc.Local : Loc.LocalSlot;
    s.reg[i] = r >= 0 ? r : 0;
    s.lo[i] = x;
    if (i < this.localRefLow) this.localRefLow = i;
  }

  /** Whether an entry below `below` reads local `x` where it is (Loc.Local, Loc.LocalSlot). */
  readsLocal(x: number, below: number): boolean {
    const s = this.stack;
    for (let k = this.localRefLow; k < below; k++) {
      if ((s.loc[k] === Loc.Local || s.loc[k] === Loc.LocalSlot) && s.lo[k] === x) return true;
    }
    return false;
  }

  /**
   * Before local `x` is written: the entries below `below` that still read it (Loc.Local,
   * Loc.LocalSlot) get a register of their own with its old value.
   */
  detachLocalRefs(x: number, below: number): void {
    const s = this.stack;
    let low = below;
    for (let k = this.localRefLow; k < below; k++) {
      const loc = s.loc[k];
      if (loc !== Loc.Local && loc !== Loc.LocalSlot) continue;
      if (s.lo[k] !== x) {
        if (k < low) low = k;
        continue;
      }
      this.regOf(k);
    }
    this.localRefLow = low;
  }

  /**
   * The local a `local.set`/`local.tee` right after the current instruction writes, when its
   * result may go straight into that local's register; −1 otherwise. The function compiler peeks
   * at its next opcode.
   */
  nextSetLocal(): number {
    return -1;
  }

  /**
   * The register of the local the next instruction sets, as the destination of a result of type
   * `t` (−1: none), with the stack entries reading its old value detached. `avoid`: a register
   * the result may not take (one the operation reads after writing its result), −1: none.
   */
  resultHint(t: number, i: number, avoid1: number, avoid2: number): number {
    if (this.nRegLocals === 0) return -1;
    const x = this.nextSetLocal();
    if (x < 0 || this.localTypes[x] !== t) return -1;
    const r = this.localReg[x];
    if (r < 0 || r === avoid1 || r === avoid2) return -1;
    this.detachLocalRefs(x, i);
    this.hintLocal = x;
    return r;
  }

  /** The local whose register the current instruction's result is written to (resultHint), −1: none. */
  hintLocal = -1;

  /** The stack position of the Loc.Scaled entry waiting for an add, −1: none. */
  scaledAt = -1;

  /** The next opcode byte, −1 at the body's end (or without a body: tests of single operations). */
  peekOpcode(): number {
    return -1;
  }

  /** The pending Loc.Scaled entry computed in a register of its own (before any instruction but an add). */
  materializeScaled(): void {
    const k = this.scaledAt;
    this.scaledAt = -1;
    const s = this.stack;
    if (s.loc[k] !== Loc.Scaled) return;
    const t = s.type[k];
    const src = s.reg[k];
    const dst = s.hi[k] === 1 ? src : this.allocReg(t);
    this.be.intBinary(IntBinOp.Shl, widthOf(t), dst, this.opA.setReg(t, src), this.opB.setImm(I32, s.lo[k], 0));
    s.setReg(k, dst);
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
    if (s.loc[i] === Loc.Reg || (s.loc[i] === Loc.Scaled && s.hi[i] === 1)) this.freeReg(s.type[i], s.reg[i]);
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

  /** Ensures value `i` is in a register (of its own: a local's value is copied) and returns it. */
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
   * site), the register locals changed since their last write-back too, and every register free.
   * The arguments are the top values, so they are where the callee's parameters are.
   */
  prepareCall(): void {
    this.storeAllForCall();
    this.writeBackLocals();
    this.resetRegs();
  }

  /**
   * Stores every value on the stack in its home slot before code that clobbers every register: a
   * value in a register is in its slot from then on (Mem); a constant or a local's value (whose
   * register the call's end reloads) stays what it is, so that nothing needs loading back.
   * (Labels need spillAll: a local's entry may be detached on one path and not another.)
   */
  storeAllForCall(): void {
    const s = this.stack;
    for (let i = 0; i < s.height; i++) {
      const loc = s.loc[i];
      if (loc === Loc.Mem) continue;
      if (loc === Loc.Reg || loc === Loc.Flags) this.storeHome(i, i);
      else this.storeValue(i, Base.Frame, this.frame.homeOffset(i));
    }
  }

  /**
   * After a call whose arguments were popped: its results, then the register locals reloaded
   * from their slots. One result arrives in the backend's result register and moves to an
   * allocatable one, or straight into the register of a local a `local.set` right after sets
   * (not reloaded then); several are in the slots of the positions the arguments started at
   * (docs/ARCHITECTURE.md, "Several results").
   */
  callResults(results: Uint8Array): void {
    if (results.length !== 1) {
      this.pushTypes(results);
      this.reloadLocals(-1);
      return;
    }
    const t = results[0];
    const i = this.push(t);
    // the callee clobbered the local registers: an entry below still reading the local set next
    // would be detached from its register before the reload, so then no hint (the local.set
    // detaches it after the reload)
    const x = this.nRegLocals === 0 ? -1 : this.nextSetLocal();
    const hint = x >= 0 && this.readsLocal(x, i) ? -1 : this.resultHint(t, i, -1, -1);
    const r = hint >= 0 ? hint : this.allocReg(t);
    const from = this.be.resultReg(t);
    if (r !== from) this.be.move(t, r, from);
    if (hint >= 0) {
      this.setLocalEntry(i, this.hintLocal);
      this.localWritten(this.hintLocal);
      this.reloadLocals(this.hintLocal);
      this.hintLocal = -1;
    } else {
      this.stack.setReg(i, r);
      this.reloadLocals(-1);
    }
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
      case Loc.Reg: case Loc.Local: if (s.reg[i] !== dst) be.move(t, dst, s.reg[i]); break;
      case Loc.Flags: be.setFromCond(s.reg[i], dst); break;
      case Loc.LocalSlot: be.loadSlot(t, dst, Base.Frame, this.frame.localOffset(s.lo[i])); break;
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
      case Loc.Reg: case Loc.Local: be.storeSlot(t, base, offset, s.reg[i]); break;
      case Loc.Mem: {
        const from = this.frame.homeOffset(i);
        // a v128 moved up by one slot (a merge: destinations are never below their sources)
        // overlaps itself: its high half goes first
        if (t === V128) be.copySlot(base, offset + 8, from + 8);
        be.copySlot(base, offset, from);
        break;
      }
      // never a v128 (a v128 local.get loads its slots at once: variables.ts)
      case Loc.LocalSlot: be.copySlot(base, offset, this.frame.localOffset(s.lo[i])); break;
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
    this.localRefLow = s.height;
  }

  /**
   * Before code that may clobber any register (a loader routine, rep movs): the `n` operands just
   * popped (at index `i`, the stack height) go to their home slots with everything below them,
   * the changed register locals to theirs, and no register holds a value. The height is `i`
   * again afterwards; the caller reloads the register locals after that code (`reloadLocals`).
   */
  spillOperands(i: number, n: number): void {
    this.stack.height = i + n;
    this.storeAllForCall();
    this.writeBackLocals();
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
      case Loc.LocalSlot:
        if (accept & Form.ASlot) return op.setSlot(t, this.frame.localOffset(s.lo[i]));
        break;
      case Loc.Reg: case Loc.Local:
        return op.setReg(t, s.reg[i]);
    }
    return op.setReg(t, this.regOf(i));
  }

  /**
   * Places the operands of row `row` at `i` (and `i + 1`, `i + 2` for an `arity` of 2 or 3) in
   * opA/opB/opC as the backend's forms say (a third always in a register), allocates the form's
   * vector temporaries, and picks the result register (−1 for Cond, NoResult). InPlace: a's own
   * register when it owns one; else (a is a local's register, or the result goes to a local's)
   * another, never b's, and the backend computes into it from a. Fresh: a new one once the
   * operands are released (it may be one of theirs); FreshFirst: one chosen before they are
   * placed. The result goes straight into a local's register when a `local.set`/`tee` of it comes
   * next (resultHint), as long as the operation reads no operand after writing it. (The vector
   * operations' InPlace operand a is a v128, never a local: v128 locals stay in their slots.)
   */
  operands(row: number, i: number, arity: number): number {
    const f = this.forms[row];
    const result = f & Form.ResultMask;
    const s = this.stack;
    const out = opOut[row];
    this.hintLocal = -1;
    let hint = -1;
    if (result === Form.InPlace) {
      // b is read after the result register is written (unless it is a's register: in place)
      const b = arity > 1 && s.loc[i + 1] === Loc.Local && !(s.loc[i] === Loc.Local && s.reg[i] === s.reg[i + 1]);
      hint = this.resultHint(out, i, b ? s.reg[i + 1] : -1, -1);
    } else if (result === Form.Fresh) hint = this.resultHint(out, i, -1, -1);
    else if (result === Form.FreshFirst) {
      hint = this.resultHint(out, i, s.loc[i] === Loc.Local ? s.reg[i] : -1, arity > 1 && s.loc[i + 1] === Loc.Local ? s.reg[i + 1] : -1);
    }
    let dst = -1;
    if (result === Form.FreshFirst) dst = hint >= 0 ? hint : this.allocReg(out);
    if (result === Form.InPlace) {
      const t = s.type[i];
      switch (s.loc[i]) {
        case Loc.Reg:
          dst = hint >= 0 ? hint : s.reg[i];
          this.opA.setReg(t, s.reg[i]);
          break;
        case Loc.Local:
          dst = hint >= 0 ? hint : this.allocReg(out);
          this.opA.setReg(t, s.reg[i]);
          break;
        default:
          // a constant or a slot: loaded where the result goes
          if (hint >= 0) {
            dst = hint;
            this.copyToReg(i, dst);
          } else dst = this.regOf(i);
          this.opA.setReg(t, dst);
      }
    } else this.place(i, f & 0xf, this.opA);
    if (arity > 1) this.place(i + 1, (f >> 4) & 0xf, this.opB);
    if (arity > 2) this.place(i + 2, 0, this.opC); // a third operand is in a register
    this.allocTemps(f);
    if (result === Form.Fresh) {
      if (hint >= 0) dst = hint;
      else {
        for (let k = 0; k < arity; k++) this.release(i + k);
        dst = this.allocReg(out);
      }
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
   * result (in `dst`, a local's register, or the condition `cc`; a store has none).
   */
  result(row: number, i: number, arity: number, dst: number, cc: number): void {
    const s = this.stack;
    const result = this.forms[row] & Form.ResultMask;
    const x = this.hintLocal;
    this.freeTemps();
    // Fresh released the operands before choosing dst, which may be one of their registers
    if (result === Form.Fresh && x < 0) {
      s.setReg(i, dst);
      return;
    }
    for (let k = 1; k < arity; k++) this.release(i + k);
    if (!(s.loc[i] === Loc.Reg && s.reg[i] === dst)) this.release(i);
    if (result === Form.Cond) {
      s.loc[i] = Loc.Flags;
      s.reg[i] = cc;
    } else if (result !== Form.NoResult) {
      if (x >= 0) {
        this.setLocalEntry(i, x);
        this.localWritten(x);
        this.hintLocal = -1;
      } else s.setReg(i, dst);
    }
  }
}

/** Lowest set bit's index of a non-zero mask. */
export function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}
