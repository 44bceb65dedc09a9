import type { CodeBuffer } from './codebuf';
import type { FunctionCompiler } from './function';

/**
 * What the ISA-neutral code generator asks of a backend. Every method receives the function
 * compiler, whose value stack says where each operand lives (valuestack.ts). Unless a method says
 * otherwise it may clobber the backend's scratch registers and the CPU flags, must leave values it
 * did not consume where they were, and records its result in the stack entry named.
 */
export interface Backend {
  readonly arch: 'x86-64' | 'arm64';
  /** Registers the allocator may hand to operand-stack values. */
  readonly gprMask: number;
  readonly fprMask: number;
  /**
   * CPU_FEATURE bits (runtime/vmctx.ts) the code emitted so far needs; the image records them
   * and the loader checks them. Absent: baseline only.
   */
  readonly usedCpuFeatures?: number;
  /** The most bytes of text the arch's direct calls reach (the image's code stays under it). */
  readonly maxCodeSize?: number;

  // --- frame ---------------------------------------------------------------------------------
  /** Entry check (site 0), frame pointer, zeroed declared locals. Stack: empty. */
  prologue(fc: FunctionCompiler): void;
  /** Out-of-line trap calls and check slow paths; fixes the frame size. */
  finishFunction(fc: FunctionCompiler): void;
  /**
   * Returns the top `results.length` values: one in the result register, several in memory, result
   * k in the slot of parameter k (for k ≥ parameter count: the slots below it, over the return
   * address and the dead frame; docs/ARCHITECTURE.md, "Several results").
   */
  emitReturn(fc: FunctionCompiler, results: Uint8Array): void;

  // --- value movement ------------------------------------------------------------------------
  /**
   * Stores value `i` in the home slot of stack position `dstPos` (≤ i). When `dstPos === i` the
   * entry becomes Mem and its register is freed; otherwise the entry is left as it was.
   */
  storeHome(fc: FunctionCompiler, i: number, dstPos: number): void;
  /** Stores entry `i` in the home slot of `dstPos` without changing the entry (a conditional branch's values). */
  storeCopy(fc: FunctionCompiler, i: number, dstPos: number): void;
  /** Loads value `i` (Const, Mem or Flags) into register `reg` of its class. */
  loadReg(fc: FunctionCompiler, i: number, reg: number): void;
  /** Loads local `index` into entry `i` (just pushed). */
  localGet(fc: FunctionCompiler, index: number, i: number): void;
  /** Stores value `i` into local `index`; the value stays on the stack. */
  localSet(fc: FunctionCompiler, index: number, i: number): void;
  globalGet(fc: FunctionCompiler, slot: number, type: number, i: number): void;
  globalSet(fc: FunctionCompiler, slot: number, i: number): void;

  // --- operations: operands at i (and i+1 ...), result into i ---------------------------------
  unary(fc: FunctionCompiler, op: number, i: number): void;
  binary(fc: FunctionCompiler, op: number, i: number): void;
  /** Leaves an i32 in Flags or a register. */
  compare(fc: FunctionCompiler, op: number, i: number): void;
  eqz(fc: FunctionCompiler, type: number, i: number): void;
  /** Opcodes 0xa7–0xc4, and SAT_BASE + n for 0xfc n (n < 8). */
  convert(fc: FunctionCompiler, op: number, i: number): void;
  load(fc: FunctionCompiler, op: number, i: number, offset: number): void;
  store(fc: FunctionCompiler, op: number, i: number, offset: number): void;
  memorySize(fc: FunctionCompiler, i: number): void;
  /** Every value below `i` is already in memory; grows by value i, result into i. */
  memoryGrow(fc: FunctionCompiler, i: number): void;
  /** memory.copy / memory.fill: operands at i, i+1, i+2, every value already in memory. */
  memoryCopy(fc: FunctionCompiler, i: number): void;
  memoryFill(fc: FunctionCompiler, i: number): void;
  /**
   * memory.init: d, s, n at i, i+1, i+2, every value in memory; copies from the bytes of the data
   * segment whose state is global slot `slot` (FunctionEnv.dataSlot), trapping "out of bounds
   * memory access" before anything is written when s + n passes its current length or d + n the memory.
   */
  memoryInit(fc: FunctionCompiler, i: number, slot: number): void;
  /** data.drop: the segment's current length (low half of global slot `slot`) becomes 0. */
  dataDrop(fc: FunctionCompiler, slot: number): void;
  /** a = i, b = i+1, cond = i+2 → i. */
  select(fc: FunctionCompiler, i: number): void;

  // --- control -------------------------------------------------------------------------------
  /** Unconditional jump; returns the fixup position (patched by `patchJump`), or jumps to a known `target`. */
  jump(fc: FunctionCompiler, target: number): number;
  /**
   * Jumps when value `i` (an i32 in Flags, a register, a constant or memory) is non-zero, or zero
   * when `ifZero`. Consumes value `i`. Returns the fixup position, or -1 when the condition was a
   * constant that never jumps (and -2 when it always jumps: then an unconditional jump was emitted
   * and its fixup position is in `fc.lastFixup`).
   */
  branchIf(fc: FunctionCompiler, i: number, ifZero: boolean, target: number): number;
  patchJump(fc: FunctionCompiler, at: number, target: number): void;
  /** Loop-header suspend check; all values are in memory; records the site. */
  loopCheck(fc: FunctionCompiler, siteIndex: number, wasmOffset: number): void;
  /** Jumps through a table on value `i` (consumed): `targets[k]` for k < count, else `targets[count]`. Returns fixup positions in `out`. */
  branchTable(fc: FunctionCompiler, i: number, count: number, out: Int32Array): void;
  /** Calls the trap stub `trapId` (unreachable). */
  trap(fc: FunctionCompiler, trapId: number): void;

  // --- calls: arguments are the top `nArgs` values, every value is in memory -----------------
  /**
   * Direct call of linked function `func`; pops the arguments, pushes the results (one from the
   * result register, several as Mem entries at the positions the arguments started at); records the site.
   */
  call(fc: FunctionCompiler, func: number, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number): void;
  /**
   * Indirect call through the table whose descriptor is at vmctx + `tableDesc`; the callee index
   * is the top value, above the arguments.
   */
  callIndirect(fc: FunctionCompiler, typeId: number, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number, tableDesc: number): void;

  // --- tables --------------------------------------------------------------------------------
  /**
   * Calls the loader's table routine (vmctx.fnTable, through the `table` stub) for TableOp `op`
   * with immediates `a`, `b` and the operands at i, i+1, ... (every value already in memory);
   * traps "out of bounds table access" when it returns TABLE_OP_TRAP; leaves the result (type
   * `resultType`, 0: none) in a register for entry i.
   */
  tableCall(fc: FunctionCompiler, op: number, a: number, b: number, i: number, resultType: number): void;
}

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
  /** Writes the rel32/abs fixups of a finished text: calls to functions and the function table. */
  patchCall(buf: CodeBuffer, at: number, target: number): void;
}
