import type { CodeBuffer } from './codebuf';
import type { CompileOutput } from './output';
import type { OutOfLine } from './sites';
import type { IntBinOp, IntUnOp, FloatBinOp, FloatUnOp, IntCmp, FloatCmp, Conv, CondCode, Shape, VecBinOp, VecUnOp, VecShiftOp, VecTestOp, VecLoad } from './operations';

/**
 * The backend (an ISA's macro assembler): what the ISA-neutral code generator asks of an
 * instruction set (docs/ARCHITECTURE.md, "Code generator"). The code generator owns every wasm
 * value: where it lives, which register holds it, when it is spilled. A backend never sees the
 * value stack. It receives typed operations (operations.ts) with registers it was handed,
 * immediates and frame slots, and emits instructions into `out.buf`.
 *
 * Registers: `gprMask`/`fprMask` name the registers the code generator hands out. Every other
 * register is the backend's own: its scratch registers and the fixed ones (frame pointer, stack
 * pointer, memory base, stack limit, vmctx). Unless a method says otherwise it may clobber its
 * scratch registers and the CPU flags, and must leave every allocatable register but `dst` as it
 * was. A method's `dst` is an allocatable register of the result's class.
 */
export interface Backend {
  readonly arch: 'x86-64' | 'arm64';
  readonly gprMask: number;
  readonly fprMask: number;
  /**
   * The allocatable registers the code generator may give to locals for a whole function
   * (localregs.ts), the highest first; the rest of gprMask/fprMask stays for operand values.
   * A backend method may assume nothing of which registers hold locals: to it they are registers.
   */
  readonly localGprMask: number;
  readonly localFprMask: number;
  /**
   * CPU_FEATURE bits (runtime/vmctx.ts) the code emitted so far needs; the image records them
   * and the loader checks them. Absent: baseline only.
   */
  readonly usedCpuFeatures?: number;
  /** The most bytes of text the arch's direct calls reach (the image's code stays under it). */
  readonly maxCodeSize?: number;

  /** Where to emit, and the out-of-line records its trap branches go to; once, before any function. */
  bind(out: CompileOutput, ool: OutOfLine): void;
  /**
   * The operand forms of one operation (a `Form` combination): asked once per opcode row when the
   * code generator is made, never while compiling. `cls` says which emit method `kind` belongs to;
   * `inType`/`outType` are the row's operand and result types, `shape` a vector operation's lane
   * shape.
   */
  formOf(cls: OpClass, kind: number, inType: number, outType: number, shape: Shape): number;

  // --- the function's frame (frame.ts of each backend) -----------------------------------------
  /** A new function whose wasm body is `bodyBytes` long (ARM64 picks its branch forms from it). */
  beginFunction(bodyBytes: number): void;
  /** Function entry: the frame pointer becomes the address of the return address. */
  enterFrame(): void;
  /**
   * The entry check (site 0): compares the frame's lowest address with the stack limit and
   * branches when it is below; returns the branch for OutOfLine.addCheck.
   */
  entryCheck(): number;
  /** Sets the stack pointer to the frame's bottom (fp − frameSize, patched by `finishFrame`). */
  frameBottom(): void;
  /** Zeroes the `bytes` (a multiple of 8) from fp + `lowest` up: the declared locals. */
  zeroSlots(lowest: number, bytes: number): void;
  /** Loop header check: compares the stack pointer with the stack limit; returns the branch. */
  loopCheck(): number;
  /** Patches the frame size into every `frameBottom` and `entryCheck` of the function. */
  finishFrame(frameSize: number): void;
  /**
   * Return, in two halves around the stores of several results (docs/ARCHITECTURE.md, "Several
   * results"). `overReturnAddress`: a result lands on the return address slot, which must be
   * read first. A single result is in `resultReg` before `beginReturn`.
   */
  beginReturn(overReturnAddress: boolean): void;
  endReturn(overReturnAddress: boolean): void;
  /** Where a call's single result arrives and a function's single result leaves (rax/xmm0, x0/v0). */
  resultReg(type: number): number;
  /** Loads the memory register from the descriptor at vmctx + `desc` (store images). */
  loadMemoryBase(desc: number): void;
  /**
   * Fixes a reference to a constant of the function's pool (OutOfLine.pool) that the backend
   * recorded at `at`, its distance measured from `from`, now that the entry is at `target`.
   */
  patchConstRef(at: number, from: number, target: number): void;

  // --- value movement (move.ts) -----------------------------------------------------------------
  /** `dst` ← the constant (lo, hi) of `type` (32-bit values in lo). */
  loadConst(type: number, dst: number, lo: number, hi: number): void;
  /** `dst` ← the `type` value at `base` + `offset` (a frame slot or a vmctx global). */
  loadSlot(type: number, dst: number, base: Base, offset: number): void;
  /** The `type` value in `src` → `base` + `offset` (4 bytes for i32/f32: a slot's low half). */
  storeSlot(type: number, base: Base, offset: number, src: number): void;
  storeSlotConst(type: number, base: Base, offset: number, lo: number, hi: number): void;
  /** The 8 bytes at fp + `from` → `base` + `offset`. */
  copySlot(base: Base, offset: number, from: number): void;
  /** The condition `cc` as an i32 0/1 in `dst`, or in the slot at `base` + `offset`. */
  setFromCond(cc: CondCode, dst: number): void;
  storeSlotCond(cc: CondCode, base: Base, offset: number): void;
  move(type: number, dst: number, src: number): void;
  /** The condition that holds when `cc` does not (i32.eqz of a comparison). */
  invertCond(cc: CondCode): CondCode;

  // --- numeric operations (binary.ts, unary.ts, convert.ts) ------------------------------------
  /**
   * a op b at width `w` (4 or 8) into `dst`. `a` and `b` come in the forms `formOf` gave. With
   * the form InPlace, `dst` is a's register, which the operation overwrites, or another one (a
   * holds a local the operation must leave alone, or the result goes to a local's register):
   * then a is only read, and `dst` is never b's register.
   */
  intBinary(kind: IntBinOp, w: number, dst: number, a: Operand, b: Operand): void;
  /**
   * `dst` ← a + (index << shift) at width `w`, shift 1–3: an array index scaled and added in one
   * instruction where the ISA has one (x86-64 `lea`, ARM64 `add` with a shifted register). a is
   * a register or an immediate; `dst` may be a's or index's register.
   */
  addShifted(w: number, dst: number, a: Operand, index: number, shift: number): void;
  /** op `a` (a register) into `dst`, which may be a's register (InPlace, as above). */
  intUnary(kind: IntUnOp, w: number, dst: number, a: number): void;
  floatBinary(kind: FloatBinOp, sz: number, dst: number, a: Operand, b: Operand): void;
  floatUnary(kind: FloatUnOp, sz: number, dst: number, a: number): void;
  /** Compares a with b; returns the condition for "true" (form Cond) or sets `dst` to 0/1 (form Fresh). */
  intCompare(kind: IntCmp, w: number, dst: number, a: Operand, b: Operand): CondCode;
  floatCompare(kind: FloatCmp, sz: number, dst: number, a: Operand, b: Operand): CondCode;
  /** Tests a (a register or slot of width `w`); returns the condition "a is zero". */
  testZero(w: number, a: Operand): CondCode;
  /** Converts a (type `from`) to `to` in `dst` (with form InPlace: a's register or another, as above). */
  convert(kind: Conv, from: number, to: number, dst: number, a: Operand): void;
  /** `dst` ← `b` when `cc` does not hold (dst holds the value for `cc`); both of class `type`. */
  select(type: number, dst: number, b: number, cc: CondCode): void;

  // --- linear memory (memory.ts) ----------------------------------------------------------------
  /**
   * `dst` (of `type`) ← the `bytes` at memory base + zext(addr) + offset, sign- or zero-extended
   * (`signed`) when narrower than the type. `addr` is a register or an immediate (ARCHITECTURE
   * §4: no bounds check, the guard reservation catches the rest).
   */
  memLoad(type: number, bytes: number, signed: boolean, dst: number, addr: Operand, offset: number): void;
  /** The low `bytes` of `value` (of `type`: a register or an immediate) → memory. */
  memStore(type: number, bytes: number, addr: Operand, offset: number, value: Operand): void;
  /** `dst` ← the memory's size in pages (descriptor at vmctx + `desc`). */
  memorySize(dst: number, desc: number): void;
  /**
   * The operations below call code that may clobber every allocatable register: every value is in
   * its slot when they are asked for. Operands are fp-relative slot offsets.
   * memory.grow by the i32 at `delta`; the old size or −1 into `dst`.
   */
  memoryGrow(dst: number, delta: number, desc: number): void;
  /** memory.copy d s n / memory.fill d val n, trapping "out of bounds memory access" before writing. */
  memoryCopy(d: number, s: number, n: number, desc: number): void;
  memoryFill(d: number, val: number, n: number, desc: number): void;
  /**
   * memory.init d s n from the data segment whose state is the vmctx word at `state` (low u32:
   * current length, high u32: text offset of its bytes; docs/ARCHITECTURE.md, "Data segments").
   */
  memoryInit(d: number, s: number, n: number, desc: number, state: number): void;
  /** data.drop: the segment's current length (low half of the vmctx word at `state`) becomes 0. */
  dataDrop(state: number): void;

  // --- tables (table.ts) ------------------------------------------------------------------------
  /**
   * Calls the loader's table routine (vmctx.fnTable, through the `table` stub) for TableOp `op`
   * with immediates `a`, `b` and the operands in the slots from fp + `operands` down; traps "out of
   * bounds table access" when it returns TABLE_OP_TRAP; leaves its result in `dst` (−1: none).
   */
  tableCall(op: number, a: number, b: number, operands: number, dst: number): void;

  // --- control (branch.ts) ----------------------------------------------------------------------
  /** Unconditional jump to `target`, or (−1) to be patched; returns the fixup position. */
  jump(target: number): number;
  patchJump(at: number, target: number): void;
  /** Jumps when `cc` holds; returns the fixup position. */
  branchIf(cc: CondCode, target: number): number;
  /** Jumps when the i32 a (a register or slot) is zero (`ifZero`) or non-zero. */
  branchIfZero(ifZero: boolean, a: Operand, target: number): number;
  /** Jumps through a table on the i32 `index`: `out[k]` for k < count, else `out[count]` (fixups). */
  branchTable(index: Operand, count: number, out: Int32Array): void;

  // --- calls and stubs (call.ts) ----------------------------------------------------------------
  /** The stack pointer to fp − `fpOffset`: the last argument's slot, for a call or a check's slow path. */
  enterCall(fpOffset: number): void;
  /** After a call (or a check's runtime call) returned: fp and the stack pointer restored. */
  leaveCall(fpOffset: number): void;
  /** Calls linked function `func` (a fixup in out.callFixups). */
  callDirect(func: number): void;
  /**
   * Checks table entry `index` (an i32 slot or register) of the table whose descriptor is at
   * vmctx + `tableDesc` against canonical type `typeId` (traps: undefined element, uninitialized
   * element, indirect call type mismatch) and leaves its code address for `callIndirect`.
   */
  loadIndirectTarget(typeId: number, tableDesc: number, index: Operand): void;
  callIndirect(): void;
  /** Calls a shared stub at text offset `target` (recorded in out.stubRefs). */
  callStub(target: number): void;

  // --- SIMD (simd.ts) ---------------------------------------------------------------------------
  // v128 values live in the float/vector registers (fprMask), 16 bytes in wasm's little-endian
  // lane order. `t0`, `t1` are vector registers the code generator allocated for the method to
  // clobber when its form asked for them (Form.Temps1, Temps2), else −1. A vector operand `a`/`b`
  // is a register, or an immediate (Operand.lo, hi, lo2, hi2: bytes 0–15) when the form allows.
  /** `dst` ← the 16 bytes w0 (bytes 0–3), w1, w2, w3 (bytes 12–15). */
  loadConstV128(dst: number, w0: number, w1: number, w2: number, w3: number): void;
  vecUnary(kind: VecUnOp, shape: Shape, dst: number, a: Operand, t0: number, t1: number): void;
  vecBinary(kind: VecBinOp, shape: Shape, dst: number, a: Operand, b: Operand, t0: number, t1: number): void;
  /** a shifted by the i32 `count` (a register or immediate) modulo the lane width. */
  vecShift(kind: VecShiftOp, shape: Shape, dst: number, a: Operand, count: Operand, t0: number, t1: number): void;
  /** An i32 (any_true, all_true: 0/1; bitmask) into general-purpose `dst`. */
  vecTest(kind: VecTestOp, shape: Shape, dst: number, a: Operand, t0: number, t1: number): void;
  /** Every lane of `dst` ← the scalar `a` (of the shape's lane type). */
  vecSplat(shape: Shape, dst: number, a: Operand): void;
  /** Lane `lane` of `a` into scalar `dst` (i8/i16 lanes sign- or zero-extended to i32). */
  vecExtractLane(shape: Shape, signed: boolean, lane: number, dst: number, a: Operand): void;
  /** `a` with lane `lane` replaced by scalar `b`, into `dst`. */
  vecReplaceLane(shape: Shape, lane: number, dst: number, a: Operand, b: Operand): void;
  /** i8x16.shuffle: byte k of `dst` ← byte m_k of a ++ b; m0 holds indices 0–3 (a byte each), …, m3 12–15. */
  vecShuffle(dst: number, a: Operand, b: Operand, m0: number, m1: number, m2: number, m3: number, t0: number, t1: number): void;
  /** v128.bitselect: bits of `a` where `c` has ones, of `b` elsewhere. */
  vecBitselect(dst: number, a: Operand, b: Operand, c: Operand): void;
  /** A vector load (VecLoad kind; `bytes` accessed) at memory base + zext(addr) + offset. */
  vecLoad(kind: VecLoad, shape: Shape, dst: number, addr: Operand, offset: number): void;
  vecStore(addr: Operand, offset: number, value: Operand): void;
  /** Lane `lane` (of 1 << `log2` bytes) of vector register `dst` ← memory; the other lanes kept. */
  vecLoadLane(log2: number, lane: number, dst: number, addr: Operand, offset: number): void;
  vecStoreLane(log2: number, lane: number, addr: Operand, offset: number, value: Operand): void;
}

/** Which emit method an opcode row's operation belongs to (Backend.formOf). */
export const enum OpClass {
  IntBinary = 1, IntUnary, FloatBinary, FloatUnary, IntCompare, FloatCompare, TestZero, Convert, Load, Store,
  VecUnary, VecBinary, VecShift, VecTest, Splat, ExtractLane, ReplaceLane, Shuffle, Bitselect,
  VecLoad, VecStore, LoadLane, StoreLane,
}

/**
 * Operand forms, per operation (Backend.formOf). An operand the form does not accept is loaded
 * into a register by the code generator, so every operand may be a register; the bits widen that.
 */
export const enum Form {
  /** Operand a may be an immediate, a frame slot; it must be in a register the operation overwrites. */
  AImm = 0x1,
  ASlot = 0x2,
  AOwn = 0x4,
  /** The same for operand b (never overwritten). */
  BImm = 0x10,
  BSlot = 0x20,
  /**
   * Where the result goes: a's register (AOwn), or another the code generator chooses (when a is
   * a local's register, or the result goes to one), then computed from a.
   */
  InPlace = 0x100,
  /**
   * A register allocated once the operands are released (it may be one of theirs, or a register
   * holding a local that is an operand too: the backend reads every operand before writing it).
   */
  Fresh = 0x200,
  /** A register allocated before the operands are placed (never one of theirs). */
  FreshFirst = 0x300,
  /** The flags: the operation returns its condition code. */
  Cond = 0x400,
  /** Nothing (stores). */
  NoResult = 0x500,
  ResultMask = 0xf00,
  /** Vector registers the operation may clobber, allocated for it: one or two (vector operations). */
  Temps1 = 0x1000,
  Temps2 = 0x2000,
  TempsMask = 0x3000,
  AAny = AImm | ASlot,
  BAny = BImm | BSlot,
}

/** Where an operand lives. */
export const enum OperandKind { Reg = 0, Imm = 1, Slot = 2 }

/**
 * One operand of a backend operation, filled by the code generator (a few records reused for
 * every instruction: the compile path allocates nothing). A backend reads it during the call only.
 */
export class Operand {
  kind = OperandKind.Reg;
  /** Reg: the register. */
  reg = 0;
  /** Imm: the constant, 32-bit values in lo; a v128's bytes 0–7 in lo, hi and 8–15 in lo2, hi2. */
  lo = 0;
  hi = 0;
  lo2 = 0;
  hi2 = 0;
  /** Slot: byte offset from the frame pointer. */
  offset = 0;
  /** The value's type. */
  type = 0;

  setReg(type: number, reg: number): this {
    this.kind = OperandKind.Reg;
    this.type = type;
    this.reg = reg;
    return this;
  }

  setImm(type: number, lo: number, hi: number): this {
    this.kind = OperandKind.Imm;
    this.type = type;
    this.lo = lo;
    this.hi = hi;
    return this;
  }

  setImmV128(w0: number, w1: number, w2: number, w3: number): this {
    this.kind = OperandKind.Imm;
    this.type = 0x7b;
    this.lo = w0;
    this.hi = w1;
    this.lo2 = w2;
    this.hi2 = w3;
    return this;
  }

  setSlot(type: number, offset: number): this {
    this.kind = OperandKind.Slot;
    this.type = type;
    this.offset = offset;
    return this;
  }
}

/** Memory a slot operation addresses: the frame (fp-relative) or the vmctx (globals). */
export const enum Base { Frame = 0, Vmctx = 1 }

/** Runtime stubs a backend emits at the start of the text section (docs/ARCHITECTURE.md). */
export interface StubOffsets {
  entry: number;
  /** In `entry`, where a called function returns to (the outermost frame of a resumed stack). */
  entryReturn: number;
  /** `resume(vmctx, fp, sp, pc)`: enters a stack rebuilt from a snapshot (docs/ARCHITECTURE.md). */
  resume: number;
  check: number;
  grow: number;
  /** `table(op, operands, a, b)`: calls vmctx.fnTable on the loader's stack. */
  table: number;
  /** Indexed by trap id. */
  traps: number[];
}

export interface StubEmitter {
  emitStubs(buf: CodeBuffer): StubOffsets;
  /** A stub that forwards a wasm-convention call to host call `id`; returns its offset. */
  emitHostcallStub(buf: CodeBuffer, id: number, nParams: number): number;
  /**
   * The stand-in for an import nothing links: called like a wasm function, it calls trap stub
   * `trapStub` with the caller's return address one word above its own (trap.c); returns its offset.
   */
  emitImportTrapStub(buf: CodeBuffer, trapStub: number): number;
  /** Writes the rel32/abs fixups of a finished text: calls to functions and the function table. */
  patchCall(buf: CodeBuffer, at: number, target: number): void;
}
