import type { FuncType, FunctionBody, GlobalType } from '../module';
import { CompileError } from '../errors';
import { LIMITS } from '../limits';
import { CodeSizeError } from './codebuf';
import { Reader } from '../decode/reader';
import type { Backend, StubOffsets } from './backend';
import type { CompileOutput } from './output';
import { CodeGenContext } from './context';
import { Loc, UNKNOWN } from './valuestack';
import { I32, I64, F32, F64, V128, FUNCREF, EXTERNREF } from './operations';
import { H, FC_BASE, FD_BASE, UNSUPPORTED_PREFIX, opHandler, opTakesFlags, opName, opFeature, opSubBase, opSubCount } from './opcodes';
import { notSupported } from '../features';
import { slotsOf } from './frame';
import { emitSlowPaths, emitTrapMap } from './sites';
import { LocalScan, scanBody, assignLocalRegisters } from './localregs';
import * as control from './control';
import { Ctl, UNREACHABLE } from './control';
import * as calls from './calls';
import * as parametric from './parametric';
import * as variables from './variables';
import * as tables from './tables';
import * as memory from './memory';
import * as numeric from './numeric';
import * as simd from './simd';

/**
 * What the code generator reads of a module. A decoded Module has it all; the linker hands worker
 * threads just this (linker/src/env.ts).
 */
export interface CodeModule {
  bytes: Uint8Array;
  types: readonly FuncType[];
  /** Type index of each defined function. */
  functions: ArrayLike<number>;
  elements: readonly { elemType: number }[];
  globals: { readonly length: number };
  bodies: readonly FunctionBody[];
  dataCount: number | null;
  importedFuncs: number;
  importedGlobals: number;
}

/** What a function body may refer to, resolved by the linker. */
export interface FunctionEnv {
  module: CodeModule;
  funcType(funcIndex: number): FuncType;
  linkedFunc(funcIndex: number): number;
  /** Canonical id of a type index: structurally equal types get the same id. */
  typeId(typeIndex: number): number;
  globalSlot(globalIndex: number): number;
  globalType(globalIndex: number): GlobalType;
  memoryCount: number;
  tableCount: number;
  /** The element type of the module's table `tableIndex` (< tableCount). */
  tableElemType(tableIndex: number): number;
  /** Function `funcIndex` may be named by ref.func: an element segment, an export or a global names it. */
  funcDeclared(funcIndex: number): boolean;
  stubs: StubOffsets;
  /**
   * vmctx offsets of the descriptors (u64 base, u32 current size, u32 maximum) of the module's
   * memory 0 and table 0 (VMCTX.memoryBase / VMCTX.tableBase unless the image holds several
   * instances with their own state: docs/ARCHITECTURE.md, "Several instances").
   */
  memoryDesc: number;
  /** vmctx offset of the descriptor of the module's table `tableIndex` (call_indirect reads it). */
  tableDesc(tableIndex: number): number;
  /** The image's index of the module's table `tableIndex` (the loader's table routine takes it). */
  linkedTable(tableIndex: number): number;
  /** The image's index of the module's element segment `segIndex`. */
  linkedElem(segIndex: number): number;
  /** Canonical type id of function `funcIndex` (a funcref's low word is this + 1). */
  funcTypeId(funcIndex: number): number;
  /**
   * The image has more than one linear memory: each function loads its memory base into the
   * memory register on entry, and a caller reloads it after a call that may have changed it.
   */
  switchMemory: boolean;
  /** Memory descriptor offset of the instance a linked function belongs to; -1: none. */
  funcMemoryDesc(linkedFunc: number): number;
  /**
   * Global slot holding data segment `index`'s state (docs/ARCHITECTURE.md, "Data segments"):
   * low u32 its current length (0 once dropped, and for an active one after instantiation), high
   * u32 the text offset of its bytes. Only asked for a module with a data count section.
   */
  dataSlot(index: number): number;
}

/** A handler compiles the instruction of opcode row `row` (opcodes.ts), its opcode already read. */
export type Handler = (fc: FunctionCompiler, row: number) => void;


/** Locals of a function, parameters included (LIMITS, docs/ARCHITECTURE.md "Compiler limits"). */
const MAX_LOCALS = LIMITS.locals;

const EMPTY = new Uint8Array(0);

/**
 * Validates and compiles one function body in a single pass (ARCHITECTURE §1):
 * each opcode is read once, type-checked against the operand stack and emitted through the
 * backend at once. The opcode table (opcodes.ts) picks each instruction's handler; the handlers
 * live in a file per concern (control, calls, parametric, variables, tables, memory, numeric).
 * One instance is reused for every function of a link, so its arrays are allocated once.
 */
export class FunctionCompiler extends CodeGenContext {
  env!: FunctionEnv;
  rd!: Reader;
  siteCount = 0;
  codeStart = 0;
  frameSize = 0;

  // control frames (control.ts)
  ctlKind = new Uint8Array(64);
  ctlHeight = new Int32Array(64);
  ctlUnreachable = new Uint8Array(64);
  ctlLabel = new Int32Array(64); // loop header position
  ctlFixups = new Int32Array(64); // head of forward-jump list, -1 none
  ctlElse = new Int32Array(64); // if: fixup of the jump to else, -1 none
  ctlDirty = new Int32Array(64); // register locals changed on the branches to the label
  ctlElseDirty = new Int32Array(64); // if: those changed when the if began (its else arm's start)
  /** Loops met so far, reachable or not (their index in loopMask). */
  loopsSeen = 0;
  /** The pre-scan's scratch (localregs.ts). */
  readonly scan = new LocalScan();
  ctlParams: Uint8Array[] = [];
  ctlResults: Uint8Array[] = [];
  ctlDepth = 0;
  // forward-jump lists
  fixPos = new Int32Array(256);
  fixNext = new Int32Array(256);
  fixCount = 0;
  tableTargets = new Int32Array(64);
  tableFixups = new Int32Array(64);

  constructor(be: Backend, out: CompileOutput) {
    super(be, out);
  }

  // ---------------------------------------------------------------------------------------------
  // the function

  compile(env: FunctionEnv, funcIndex: number, linkedIndex: number): void {
    this.env = env;
    const m = env.module;
    this.funcIndex = funcIndex;
    this.linkedIndex = linkedIndex;
    const body = m.bodies[funcIndex - m.importedFuncs];
    const type = env.funcType(funcIndex);
    const rd = (this.rd = new Reader(m.bytes, body.start, body.end));
    this.opOffset = body.start;

    // locals
    const nParams = type.params.length;
    let n = nParams;
    this.ensureLocals(n);
    this.localTypes.set(type.params, 0);
    const groups = rd.u32();
    for (let g = 0; g < groups; g++) {
      this.opOffset = rd.pos;
      const count = rd.u32();
      const t = rd.u8();
      if (!isValueType(t)) this.fail('malformed value type');
      if (n + count > MAX_LOCALS) this.failLimit('too many locals (parameters included)', n + count, MAX_LOCALS);
      this.ensureLocals(n + count);
      this.localTypes.fill(t, n, n + count);
      n += count;
    }
    this.frame.reset(this.localTypes, nParams, n - nParams);
    this.vconstCount = 0;
    // which locals live in registers: one look at the body's bytes first (ARCHITECTURE §1)
    scanBody(this.scan, m.bytes, rd.pos, body.end, n);
    assignLocalRegisters(this, this.scan, n);
    this.loopsSeen = 0;
    this.scaledAt = -1;

    this.stack.height = 0;
    this.siteCount = 1;
    this.fixCount = 0;
    this.ctlDepth = 0;
    this.ool.reset();
    this.resetRegs();
    this.codeStart = this.out.buf.pos;
    try {
      this.be.beginFunction(body.end - body.start);
      control.prologue(this);
      control.pushCtl(this, Ctl.Func, EMPTY, type.results);
      this.body();
      emitSlowPaths(this);
      this.frameSize = this.frame.frameSize();
      this.be.finishFrame(this.frameSize);
      emitTrapMap(this, this.codeStart, body.start);
    } catch (e) {
      // the code buffer and the backends know no function: say where it happened
      if (e instanceof CodeSizeError || (e instanceof CompileError && e.offset === -1 && e.funcIndex === -1)) {
        throw new CompileError(e.reason, this.opOffset, this.funcIndex, 'code');
      }
      throw e;
    }
  }

  private ensureLocals(n: number): void {
    if (n <= this.localTypes.length) return;
    let cap = this.localTypes.length;
    while (cap < n) cap *= 2;
    const t = new Uint8Array(cap);
    t.set(this.localTypes);
    this.localTypes = t;
  }

  private body(): void {
    const rd = this.rd;
    const s = this.stack;
    for (;;) {
      if (rd.pos >= rd.end) {
        this.opOffset = rd.pos;
        this.fail('unexpected end of section or function');
      }
      this.opOffset = rd.pos;
      this.ool.opOffset = rd.pos;
      const op = rd.u8();
      // A comparison result lives in the flags only until the next instruction that is not a
      // branch/select consuming it.
      if (s.height > 0 && s.loc[s.height - 1] === Loc.Flags && opTakesFlags[op] === 0) this.regOf(s.height - 1);
      // a shift waiting for an add: computed unless the add (or its other operand's push) comes
      if (this.scaledAt >= 0 && op !== 0x6a && op !== 0x7c && op !== 0x20 && op !== 0x41 && op !== 0x42) this.materializeScaled();
      HANDLERS[opHandler[op]](this, op);
      if (this.ctlDepth === 0) return; // the function's final end
    }
  }

  // ---------------------------------------------------------------------------------------------
  // the operand stack, with validation

  /** No code is emitted: the frame went unreachable, or was entered in dead code. */
  get dead(): boolean {
    return this.ctlUnreachable[this.ctlDepth - 1] !== 0;
  }

  /** The operand stack is polymorphic: the frame itself saw an unconditional branch (validation). */
  get polymorphic(): boolean {
    return (this.ctlUnreachable[this.ctlDepth - 1] & UNREACHABLE) !== 0;
  }

  /**
   * Pops a value of type `expect` (0: any) and returns its type. Popping only moves the height:
   * the entry keeps its location and register, so the handler reads operands at the indices the
   * pops left, and releases their registers once the backend has used them.
   */
  pop(expect: number): number {
    const s = this.stack;
    const base = this.ctlHeight[this.ctlDepth - 1];
    if (s.height === base) {
      if (this.polymorphic) return expect === 0 ? UNKNOWN : expect;
      this.fail('type mismatch');
    }
    const i = --s.height;
    const t = s.type[i];
    if (expect !== 0 && t !== expect && t !== UNKNOWN) this.fail('type mismatch');
    return t === UNKNOWN ? expect : t;
  }

  /** Value `i` (the stack height) is the result of the instruction: of `type`, the height past it. */
  pushed(i: number, type: number): void {
    const s = this.stack;
    s.slot[i] = s.slotAt(i);
    s.type[i] = type;
    s.height = i + 1;
    // a v128 where a one-slot value was reaches a slot further
    if (type === V128) this.frame.noteDepth(s.slot[i] + slotsOf(type));
    if (this.dead) s.loc[i] = Loc.Mem;
  }

  pushConst(type: number, lo: number, hi: number): void {
    const i = this.push(type);
    if (!this.dead) this.stack.setConst(i, lo, hi);
  }

  /** Validation-only pops and pushes in unreachable code. */
  popN(types: Uint8Array): void {
    for (let k = types.length - 1; k >= 0; k--) this.pop(types[k]);
  }

  /** Checks the top values against `types` without popping (for branches). */
  checkTop(types: Uint8Array): void {
    const s = this.stack;
    const base = this.ctlHeight[this.ctlDepth - 1];
    const n = types.length;
    for (let k = 0; k < n; k++) {
      const pos = s.height - n + k;
      if (pos < base) {
        if (this.polymorphic) continue;
        this.fail('type mismatch');
      }
      const t = s.type[pos];
      if (t !== types[k] && t !== UNKNOWN) this.fail('type mismatch');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // immediates

  /** Valid WebAssembly of `proposal`, which the compiler does not implement (features.ts). */
  unsupported(proposal: string, what: string): never {
    throw notSupported(what, proposal, this.opOffset, 'code', undefined, this.funcIndex);
  }

  override peekOpcode(): number {
    const rd = this.rd;
    return rd !== undefined && rd.pos < rd.end ? rd.bytes[rd.pos] : -1;
  }

  /** The local of a local.set/tee that is the next opcode, or −1 (CodeGenContext.resultHint). */
  override nextSetLocal(): number {
    const rd = this.rd;
    const b = rd.bytes;
    let p = rd.pos;
    if (p + 1 >= rd.end || (b[p] !== 0x21 && b[p] !== 0x22)) return -1;
    p++;
    let v = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= rd.end) return -1;
      const c = b[p++];
      v |= (c & 0x7f) << shift;
      if ((c & 0x80) === 0) return v < this.frame.nParams + this.frame.nLocals ? v : -1;
    }
    return -1;
  }

  localIndex(): number {
    const x = this.rd.u32();
    if (x >= this.frame.nParams + this.frame.nLocals) this.fail('unknown local');
    return x;
  }

}

export function isRef(t: number): boolean {
  return t === FUNCREF || t === EXTERNREF;
}

export function isValueType(t: number): boolean {
  return t === I32 || t === I64 || t === F32 || t === F64 || t === V128 || isRef(t);
}

/** An opcode no row describes. */
function illegal(fc: FunctionCompiler, row: number): void {
  if (row >= FD_BASE) fc.fail(`illegal opcode 0xfd ${row - FD_BASE}`);
  fc.fail(row >= FC_BASE ? `illegal opcode 0xfc ${row - FC_BASE}` : `illegal opcode 0x${row.toString(16)}`);
}

/**
 * Valid WebAssembly of a proposal the compiler does not implement: named in the error, a prefixed
 * instruction with its sub-opcode (opcodes.ts, OPCODE_FEATURES).
 */
function unsupportedOp(fc: FunctionCompiler, row: number): void {
  const what = opSubCount[row] === UNSUPPORTED_PREFIX ? `${opName[row]} 0x${row.toString(16)} 0x${fc.rd.u32().toString(16).padStart(2, '0')}` : opName[row];
  fc.unsupported(opFeature[row], what);
}

/** The dispatch: the handler of each `H` (opcodes.ts). */
const HANDLERS: Handler[] = [];
HANDLERS[H.Illegal] = illegal;
HANDLERS[H.Unsupported] = unsupportedOp;
HANDLERS[H.Prefix] = prefix;
HANDLERS[H.Unreachable] = control.unreachable;
HANDLERS[H.Nop] = control.nop;
HANDLERS[H.Block] = control.block;
HANDLERS[H.Loop] = control.loop;
HANDLERS[H.If] = control.ifOp;
HANDLERS[H.Else] = control.elseOp;
HANDLERS[H.End] = control.end;
HANDLERS[H.Br] = control.br;
HANDLERS[H.BrIf] = control.brIf;
HANDLERS[H.BrTable] = control.brTable;
HANDLERS[H.Return] = control.returnOp;
HANDLERS[H.Call] = calls.call;
HANDLERS[H.CallIndirect] = calls.callIndirect;
HANDLERS[H.Drop] = parametric.drop;
HANDLERS[H.Select] = parametric.select;
HANDLERS[H.SelectT] = parametric.selectTyped;
HANDLERS[H.LocalGet] = variables.localGet;
HANDLERS[H.LocalSet] = variables.localSet;
HANDLERS[H.LocalTee] = variables.localSet;
HANDLERS[H.GlobalGet] = variables.globalGet;
HANDLERS[H.GlobalSet] = variables.globalSet;
HANDLERS[H.TableGet] = tables.tableGet;
HANDLERS[H.TableSet] = tables.tableSet;
HANDLERS[H.TableInit] = tables.tableInit;
HANDLERS[H.ElemDrop] = tables.elemDrop;
HANDLERS[H.TableCopy] = tables.tableCopy;
HANDLERS[H.TableGrow] = tables.tableGrow;
HANDLERS[H.TableSize] = tables.tableSize;
HANDLERS[H.TableFill] = tables.tableFill;
HANDLERS[H.RefNull] = tables.refNull;
HANDLERS[H.RefIsNull] = tables.refIsNull;
HANDLERS[H.RefFunc] = tables.refFunc;
HANDLERS[H.Load] = memory.load;
HANDLERS[H.Store] = memory.store;
HANDLERS[H.MemorySize] = memory.memorySize;
HANDLERS[H.MemoryGrow] = memory.memoryGrow;
HANDLERS[H.MemoryInit] = memory.memoryInit;
HANDLERS[H.DataDrop] = memory.dataDrop;
HANDLERS[H.MemoryCopy] = memory.memoryCopy;
HANDLERS[H.MemoryFill] = memory.memoryFill;
HANDLERS[H.Const] = numeric.constant;
HANDLERS[H.Eqz] = numeric.eqz;
HANDLERS[H.IntCompare] = numeric.intCompare;
HANDLERS[H.FloatCompare] = numeric.floatCompare;
HANDLERS[H.IntUnary] = numeric.unary;
HANDLERS[H.IntBinary] = numeric.intBinary;
HANDLERS[H.FloatUnary] = numeric.unary;
HANDLERS[H.FloatBinary] = numeric.floatBinary;
HANDLERS[H.Convert] = numeric.convert;
HANDLERS[H.VecLoad] = simd.load;
HANDLERS[H.VecStore] = simd.store;
HANDLERS[H.LoadLane] = simd.loadLane;
HANDLERS[H.StoreLane] = simd.storeLane;
HANDLERS[H.VecConst] = simd.constant;
HANDLERS[H.Shuffle] = simd.shuffle;
HANDLERS[H.Splat] = simd.splat;
HANDLERS[H.ExtractLane] = simd.extractLane;
HANDLERS[H.ReplaceLane] = simd.replaceLane;
HANDLERS[H.VecUnary] = simd.unary;
HANDLERS[H.VecBinary] = simd.binary;
HANDLERS[H.VecShift] = simd.shift;
HANDLERS[H.VecTest] = simd.test;
HANDLERS[H.Bitselect] = simd.bitselect;
for (let h = 0; h < H.Count; h++) if (!HANDLERS[h]) throw new Error(`opcodes: handler ${h} has no function`);

/** A prefix byte (0xfc, 0xfd): its sub-opcode's row, opSubBase + sub (opcodes.ts). */
function prefix(fc: FunctionCompiler, row: number): void {
  const sub = fc.rd.u32();
  if (sub >= opSubCount[row]) fc.fail(`illegal opcode 0x${row.toString(16)} ${sub}`);
  const r = opSubBase[row] + sub;
  HANDLERS[opHandler[r]](fc, r);
}
