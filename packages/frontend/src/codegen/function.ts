import type { Module, FuncType, GlobalType } from '../module';
import { CompileError } from '../errors';
import { LIMITS, overLimit } from '../limits';
import { importIndex } from '../imports';
import { CodeSizeError } from './codebuf';
import { Reader } from '../decode/reader';
import { Trap, TableOp } from '../runtime/vmctx';
import { declaredFuncs } from '../validate/module';
import type { Backend, StubOffsets } from './backend';
import { CompileOutput, SiteRecord } from './output';
import { ValueStack, Loc, UNKNOWN, isFloat, lowestBit } from './valuestack';
import { Cat, opCat, opIn, opOut, opAlign, opName, opFeature, SAT_BASE, satIn, satOut } from './opcodes';

/** What a function body may refer to, resolved by the linker. */
export interface FunctionEnv {
  module: Module;
  funcType(funcIndex: number): FuncType;
  linkedFunc(funcIndex: number): number;
  /** Canonical id of a type index: structurally equal types get the same id. */
  typeId(typeIndex: number): number;
  globalSlot(globalIndex: number): number;
  globalType(globalIndex: number): GlobalType;
  memoryCount: number;
  tableCount: number;
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

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, FUNCREF = 0x70, EXTERNREF = 0x6f;
const EMPTY = new Uint8Array(0);
const SINGLE: Record<number, Uint8Array> = {
  [I32]: new Uint8Array([I32]), [I64]: new Uint8Array([I64]),
  [F32]: new Uint8Array([F32]), [F64]: new Uint8Array([F64]),
  [FUNCREF]: new Uint8Array([FUNCREF]), [EXTERNREF]: new Uint8Array([EXTERNREF]),
};

function isRef(t: number): boolean {
  return t === FUNCREF || t === EXTERNREF;
}

/** Functions a module's ref.func may name (validation), computed once per module. */
const declaredCache = new WeakMap<Module, Set<number>>();

/** ctlUnreachable bits: the frame saw an unconditional branch; the frame began in dead code. */
const UNREACHABLE = 1, ENTERED_DEAD = 2;
const enum Ctl { Func = 0, Block = 1, Loop = 2, If = 3, Else = 4 }

/** Compiler limits of a function body (all of them: LIMITS, docs/ARCHITECTURE.md). */
export const MAX_LOCALS = LIMITS.locals;
export const MAX_STACK = LIMITS.operandStack;
export const MAX_NESTING = LIMITS.nesting;

/**
 * Validates and compiles one function body in a single pass (DESIGN §1): each opcode is read
 * once, type-checked against the operand stack and emitted through the backend at once.
 * One instance is reused for every function of a link, so its arrays are allocated once.
 */
export class FunctionCompiler {
  readonly stack = new ValueStack();
  out: CompileOutput;
  be: Backend;
  env!: FunctionEnv;
  rd!: Reader;

  funcIndex = 0; // module function index
  linkedIndex = 0;
  nParams = 0;
  nLocals = 0; // declared, without parameters
  localTypes = new Uint8Array(256); // parameters then declared locals
  maxDepth = 0;
  freeGpr = 0;
  freeFpr = 0;
  siteCount = 0;
  /** Set by backends for branchIf's "always" case. */
  lastFixup = -1;
  /** Backend-private per-function state (pending out-of-line code). */
  backendState: unknown = null;
  codeStart = 0;
  frameSize = 0;
  opOffset = 0;

  // control frames
  private ctlKind = new Uint8Array(64);
  private ctlHeight = new Int32Array(64);
  private ctlUnreachable = new Uint8Array(64);
  private ctlLabel = new Int32Array(64); // loop header position
  private ctlFixups = new Int32Array(64); // head of forward-jump list, -1 none
  private ctlElse = new Int32Array(64); // if: fixup of the jump to else, -1 none
  private ctlParams: Uint8Array[] = [];
  private ctlResults: Uint8Array[] = [];
  private ctlDepth = 0;
  // forward-jump lists
  private fixPos = new Int32Array(256);
  private fixNext = new Int32Array(256);
  private fixCount = 0;
  private tableTargets = new Int32Array(64);
  private tableFixups = new Int32Array(64);

  constructor(be: Backend, out: CompileOutput) {
    this.be = be;
    this.out = out;
  }

  // ---------------------------------------------------------------------------------------------
  // errors

  fail(reason: string): never {
    throw new CompileError(reason, this.opOffset, this.funcIndex, 'code');
  }

  /** A compiler limit (LIMITS) passed at the current opcode: `n` where at most `limit` fit. */
  failLimit(what: string, n: number, limit: number): never {
    throw overLimit(what, n, limit, this.opOffset, this.funcIndex, 'code');
  }

  // ---------------------------------------------------------------------------------------------
  // frame geometry (docs/ARCHITECTURE.md "Frames")

  /** Offset from fp of canonical slot `s`. */
  slotOffset(s: number): number {
    return s < this.nParams ? 8 * (this.nParams - s) : -8 * (s - this.nParams + 1);
  }

  /** Offset from fp of operand stack position `pos`. */
  homeOffset(pos: number): number {
    return -8 * (this.nLocals + pos + 1);
  }

  /** fp − rsp at a site whose frame holds `depth` operand values (arguments included). */
  siteFpOffset(depth: number): number {
    return 8 * (this.nLocals + depth);
  }

  addSite(codeOffset: number, site: number, fpOffset: number, slotCount: number, wasmOffset: number): SiteRecord {
    // every site keeps its slot types: bounded for the image as a whole
    const out = this.out;
    if (out.sites.length >= LIMITS.sites) this.failLimit('too many sites (calls, loops and function entries) in the image', out.sites.length + 1, LIMITS.sites);
    out.siteSlots += slotCount;
    if (out.siteSlots > LIMITS.siteSlots) this.failLimit('too many frame slots at the sites of the image', out.siteSlots, LIMITS.siteSlots);
    const types = out.slotTypes(slotCount);
    const nl = this.nParams + this.nLocals;
    for (let s = 0; s < slotCount; s++) {
      types[s] = s < nl ? this.localTypes[s] : this.stack.type[s - nl];
    }
    // checks are recorded before their slow path (and its resume address) exists
    const rec: SiteRecord = { codeOffset, func: this.linkedIndex, site, fpOffset, slotTypes: types, wasmOffset, check: codeOffset === -1 };
    this.out.sites.push(rec);
    return rec;
  }

  // ---------------------------------------------------------------------------------------------
  // registers

  allocReg(type: number): number {
    if (isFloat(type)) {
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
    if (isFloat(type)) this.freeFpr |= 1 << reg;
    else this.freeGpr |= 1 << reg;
  }

  /** Frees the register of value `i`, if it has one. */
  release(i: number): void {
    const s = this.stack;
    if (s.loc[i] === Loc.Reg) this.freeReg(s.type[i], s.reg[i]);
  }

  private spillOldest(float: boolean): void {
    const s = this.stack;
    for (let i = 0; i < s.height; i++) {
      if (s.loc[i] === Loc.Reg && isFloat(s.type[i]) === float) {
        this.be.storeHome(this, i, i);
        return;
      }
    }
    this.fail('internal: no register to spill');
  }

  /** Ensures value `i` is in a register and returns it. */
  regOf(i: number): number {
    const s = this.stack;
    if (s.loc[i] === Loc.Reg) return s.reg[i];
    const r = this.allocReg(s.type[i]);
    this.be.loadReg(this, i, r);
    s.setReg(i, r);
    return r;
  }

  /** Stores every value on the stack to its home: the canonical state of sites and labels. */
  spillAll(): void {
    const s = this.stack;
    for (let i = 0; i < s.height; i++) if (s.loc[i] !== Loc.Mem) this.be.storeHome(this, i, i);
  }

  private resetRegs(): void {
    this.freeGpr = this.be.gprMask;
    this.freeFpr = this.be.fprMask;
  }

  // ---------------------------------------------------------------------------------------------
  // operand stack with validation

  /** No code is emitted: the frame went unreachable, or was entered in dead code. */
  private get dead(): boolean {
    return this.ctlUnreachable[this.ctlDepth - 1] !== 0;
  }

  /** The operand stack is polymorphic: the frame itself saw an unconditional branch (validation). */
  private get polymorphic(): boolean {
    return (this.ctlUnreachable[this.ctlDepth - 1] & UNREACHABLE) !== 0;
  }

  private push(type: number): number {
    const s = this.stack;
    if (s.height >= MAX_STACK) this.failLimit('operand stack too deep', s.height + 1, MAX_STACK);
    const i = s.push(type, Loc.Mem, 0, 0, 0);
    if (s.height > this.maxDepth) this.maxDepth = s.height;
    return i;
  }

  /** Pops a value of type `expect` (0: any) and returns its type; releases its register. */
  private pop(expect: number): number {
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

  /** Checks the top values against `types` without popping (for branches). */
  private checkTop(types: Uint8Array): void {
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

  /** Validation-only pops and pushes in unreachable code. */
  private popN(types: Uint8Array): void {
    for (let k = types.length - 1; k >= 0; k--) this.pop(types[k]);
  }

  // ---------------------------------------------------------------------------------------------
  // control frames

  private pushCtl(kind: Ctl, params: Uint8Array, results: Uint8Array): void {
    const d = this.ctlDepth;
    if (d >= MAX_NESTING) this.failLimit('blocks nested too deeply', d + 1, MAX_NESTING);
    if (d >= this.ctlKind.length) {
      const grow = <T extends Uint8Array | Int32Array>(a: T): T => {
        const n = new (a.constructor as { new (n: number): T })(a.length * 2);
        n.set(a);
        return n;
      };
      this.ctlKind = grow(this.ctlKind);
      this.ctlHeight = grow(this.ctlHeight);
      this.ctlUnreachable = grow(this.ctlUnreachable);
      this.ctlLabel = grow(this.ctlLabel);
      this.ctlFixups = grow(this.ctlFixups);
      this.ctlElse = grow(this.ctlElse);
    }
    this.ctlKind[d] = kind;
    this.ctlHeight[d] = this.stack.height - params.length;
    this.ctlUnreachable[d] = d > 0 && this.ctlUnreachable[d - 1] !== 0 ? ENTERED_DEAD : 0;
    this.ctlLabel[d] = -1;
    this.ctlFixups[d] = -1;
    this.ctlElse[d] = -1;
    this.ctlParams[d] = params;
    this.ctlResults[d] = results;
    this.ctlDepth = d + 1;
  }

  private addFixup(depth: number, pos: number): void {
    if (this.fixCount >= this.fixPos.length) {
      const p = new Int32Array(this.fixPos.length * 2); p.set(this.fixPos); this.fixPos = p;
      const n = new Int32Array(this.fixNext.length * 2); n.set(this.fixNext); this.fixNext = n;
    }
    const k = this.fixCount++;
    this.fixPos[k] = pos;
    this.fixNext[k] = this.ctlFixups[depth];
    this.ctlFixups[depth] = k;
  }

  private bindFixups(depth: number, target: number): void {
    for (let k = this.ctlFixups[depth]; k >= 0; k = this.fixNext[k]) this.be.patchJump(this, this.fixPos[k], target);
    this.ctlFixups[depth] = -1;
  }

  /** Marks the rest of the current block unreachable and drops its values. */
  private setUnreachable(): void {
    const d = this.ctlDepth - 1;
    const s = this.stack;
    while (s.height > this.ctlHeight[d]) {
      s.height--;
      this.release(s.height);
    }
    this.ctlUnreachable[d] |= UNREACHABLE;
  }

  private labelTypes(depth: number): Uint8Array {
    return this.ctlKind[depth] === Ctl.Loop ? this.ctlParams[depth] : this.ctlResults[depth];
  }

  private readLabel(): number {
    const rel = this.rd.u32();
    if (rel >= this.ctlDepth) this.fail('unknown label');
    return this.ctlDepth - 1 - rel;
  }

  /** True when a branch to `depth` must first move values into the label's slots. */
  private movesNeeded(depth: number): boolean {
    const n = this.labelTypes(depth).length;
    const s = this.stack;
    const base = this.ctlHeight[depth];
    for (let k = 0; k < n; k++) {
      const src = s.height - n + k;
      if (src !== base + k || s.loc[src] !== Loc.Mem) return true;
    }
    return false;
  }

  /**
   * Stores a branch's values in the target label's slots, lowest first (a destination is never
   * above its source, so no source is overwritten before it is read). Values whose slot changes
   * keep their entries, still valid on a conditional branch's fall-through path.
   */
  private branchMoves(depth: number, conditional = false): void {
    const n = this.labelTypes(depth).length;
    const s = this.stack;
    const base = this.ctlHeight[depth];
    for (let k = 0; k < n; k++) {
      const src = s.height - n + k;
      if (src === base + k && s.loc[src] === Loc.Mem) continue;
      // on a conditional branch the fall-through path still has the values where they were
      if (conditional) this.be.storeCopy(this, src, base + k);
      else this.be.storeHome(this, src, base + k);
    }
  }

  /** Emits a jump to label `depth` (values already moved). */
  private jumpTo(depth: number): void {
    if (this.ctlKind[depth] === Ctl.Loop) this.be.jump(this, this.ctlLabel[depth]);
    else this.addFixup(depth, this.be.jump(this, -1));
  }

  // ---------------------------------------------------------------------------------------------
  // block types

  private readBlockType(): { params: Uint8Array; results: Uint8Array } {
    const rd = this.rd;
    const b = rd.bytes[rd.pos];
    if (b === 0x40) {
      rd.pos++;
      return BT_EMPTY;
    }
    if (b === I32 || b === I64 || b === F32 || b === F64 || b === FUNCREF || b === EXTERNREF) {
      rd.pos++;
      return BT_SINGLE[b];
    }
    if (b === 0x7b) {
      rd.pos++;
      this.unsupported('simd', `block type 0x${b.toString(16)}`);
    }
    const idx = rd.s33();
    if (idx < 0 || idx >= this.env.module.types.length) this.fail('unknown type');
    return this.env.module.types[idx];
  }

  private unsupported(feature: string, what: string): never {
    this.fail(`unsupported ${feature} (${what})`);
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
    this.nParams = type.params.length;
    let n = this.nParams;
    this.ensureLocals(n);
    this.localTypes.set(type.params, 0);
    const groups = rd.u32();
    for (let g = 0; g < groups; g++) {
      this.opOffset = rd.pos;
      const count = rd.u32();
      const t = rd.u8();
      if (t !== I32 && t !== I64 && t !== F32 && t !== F64 && !isRef(t)) {
        if (t === 0x7b) this.unsupported('simd', 'v128 local');
        this.fail('malformed value type');
      }
      if (n + count > MAX_LOCALS) this.failLimit('too many locals (parameters included)', n + count, MAX_LOCALS);
      this.ensureLocals(n + count);
      this.localTypes.fill(t, n, n + count);
      n += count;
    }
    this.nLocals = n - this.nParams;

    const s = this.stack;
    s.height = 0;
    this.maxDepth = 0;
    this.siteCount = 1;
    this.fixCount = 0;
    this.ctlDepth = 0;
    this.resetRegs();
    this.codeStart = this.out.buf.pos;
    try {
      this.be.prologue(this);
      this.pushCtl(Ctl.Func, EMPTY, type.results);
      this.body();
      this.be.finishFunction(this);
    } catch (e) {
      // the code buffer knows no function: say where the code passed the limit
      if (e instanceof CodeSizeError) throw new CompileError(e.reason, this.opOffset, this.funcIndex, 'code');
      throw e;
    }
  }

  private tableElemType(index: number): number {
    const m = this.env.module;
    if (index >= m.importedTables) return m.tables[index - m.importedTables].elemType;
    return importIndex(m).tables[index]?.elemType ?? 0;
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
    const be = this.be;
    for (;;) {
      if (rd.pos >= rd.end) {
        this.opOffset = rd.pos;
        this.fail('unexpected end of section or function');
      }
      this.opOffset = rd.pos;
      const op = rd.u8();
      // A comparison result lives in the flags only until the next instruction that is not a
      // branch/select consuming it.
      if (s.height > 0 && s.loc[s.height - 1] === Loc.Flags && op !== 0x0d && op !== 0x04 && op !== 0x1b && op !== 0x1c && op !== 0x45) {
        this.regOf(s.height - 1);
      }
      const cat = opCat[op];
      switch (cat) {
        case Cat.Unary:
        case Cat.Convert: {
          this.pop(opIn[op]);
          const i = s.height;
          if (!this.dead) {
            if (cat === Cat.Unary) be.unary(this, op, i);
            else be.convert(this, op, i);
          }
          this.pushed(i, opOut[op]);
          break;
        }
        case Cat.Binary:
        case Cat.Compare: {
          const t = opIn[op];
          this.pop(t);
          this.pop(t);
          const i = s.height;
          if (!this.dead) {
            if (cat === Cat.Binary) be.binary(this, op, i);
            else be.compare(this, op, i);
          }
          this.pushed(i, opOut[op]);
          break;
        }
        case Cat.Test: {
          this.pop(opIn[op]);
          const i = s.height;
          if (!this.dead) be.eqz(this, opIn[op], i);
          this.pushed(i, I32);
          break;
        }
        case Cat.Load: {
          const offset = this.memarg(op);
          this.pop(I32);
          const i = s.height;
          if (!this.dead) be.load(this, op, i, offset);
          this.pushed(i, opOut[op]);
          break;
        }
        case Cat.Store: {
          const offset = this.memarg(op);
          this.pop(opIn[op]);
          this.pop(I32);
          if (!this.dead) be.store(this, op, s.height, offset);
          break;
        }
        case Cat.Special:
          if (this.special(op)) return;
          break;
        case Cat.Unsupported:
          this.unsupported(opFeature[op], `${opName[op]}, opcode 0x${op.toString(16)}`);
        default:
          this.fail(`illegal opcode 0x${op.toString(16)}`);
      }
    }
  }

  /**
   * Popping only moves the height: the popped entries keep their locations and registers, so the
   * backend reads operands at the indices the pops left. Backends call `regOf` for an operand
   * they turn into the result, and `release` for the others.
   */
  private pushed(i: number, type: number): void {
    const s = this.stack;
    s.type[i] = type;
    s.height = i + 1;
    if (this.dead) s.loc[i] = Loc.Mem;
  }

  /** Pushes a value the backend left in register `reg`. */
  pushReg(type: number, reg: number): void {
    const i = this.push(type);
    this.stack.setReg(i, reg);
  }

  /**
   * Pushes the results a call left in memory: the home slots of the positions its arguments
   * started at (docs/ARCHITECTURE.md, "Several results").
   */
  pushResults(results: Uint8Array): void {
    for (let k = 0; k < results.length; k++) this.push(results[k]);
  }

  private memarg(op: number): number {
    const rd = this.rd;
    const align = rd.u32();
    const offset = rd.u32();
    if (this.env.memoryCount === 0) this.fail('unknown memory 0');
    if (align > opAlign[op]) this.fail('alignment must not be larger than natural');
    return offset;
  }

  /** Returns true at the function's final `end`. */
  private special(op: number): boolean {
    const rd = this.rd;
    const s = this.stack;
    const be = this.be;
    const dead = this.dead;
    switch (op) {
      case 0x00: // unreachable
        if (!dead) be.trap(this, Trap.Unreachable);
        this.setUnreachable();
        return false;
      case 0x01:
        return false;
      case 0x02: // block
      case 0x03: { // loop
        const bt = this.readBlockType();
        this.popN(bt.params);
        const h = s.height;
        if (!dead) {
          s.height += bt.params.length;
          this.spillAll();
          s.height = h;
        }
        this.pushTypes(bt.params);
        this.pushCtl(op === 0x02 ? Ctl.Block : Ctl.Loop, bt.params, bt.results);
        if (op === 0x03) {
          const site = this.siteCount++; // numbered by opcode, reachable or not
          if (!dead) {
            this.resetRegs();
            this.ctlLabel[this.ctlDepth - 1] = this.out.buf.pos;
            be.loopCheck(this, site, this.opOffset);
          }
        } else if (!dead) this.resetRegs();
        return false;
      }
      case 0x04: { // if
        const bt = this.readBlockType();
        this.pop(I32);
        const cond = s.height;
        this.popN(bt.params);
        const h = s.height;
        let elseFix = -1;
        if (!dead) {
          // Everything below the condition goes home first; stores leave the flags alone.
          for (let i = 0; i < cond; i++) if (s.loc[i] !== Loc.Mem) be.storeHome(this, i, i);
          const fx = be.branchIf(this, cond, true, -1);
          elseFix = fx === -2 ? this.lastFixup : fx;
        }
        s.height = h;
        this.pushTypes(bt.params);
        this.pushCtl(Ctl.If, bt.params, bt.results);
        this.ctlElse[this.ctlDepth - 1] = elseFix;
        if (!dead) this.resetRegs();
        return false;
      }
      case 0x05: { // else
        const d = this.ctlDepth - 1;
        if (this.ctlKind[d] !== Ctl.If) this.fail('else without if');
        this.endBlockValues(d);
        if (!this.ctlUnreachable[d]) this.addFixup(d, be.jump(this, -1));
        const outerDead = d > 0 && this.ctlUnreachable[d - 1] !== 0;
        if (this.ctlElse[d] >= 0) be.patchJump(this, this.ctlElse[d], this.out.buf.pos);
        // An if entered in dead code has no else jump: its else arm is dead as well.
        this.ctlUnreachable[d] = outerDead ? ENTERED_DEAD : 0;
        this.ctlElse[d] = -1;
        this.ctlKind[d] = Ctl.Else;
        s.height = this.ctlHeight[d];
        this.pushTypes(this.ctlParams[d]);
        this.resetRegs();
        return false;
      }
      case 0x0b: { // end
        const d = this.ctlDepth - 1;
        const kind = this.ctlKind[d];
        if (kind === Ctl.If && !sameTypes(this.ctlParams[d], this.ctlResults[d])) this.fail('type mismatch');
        this.endBlockValues(d);
        if (kind === Ctl.Func) {
          const results = this.ctlResults[d];
          if (this.ctlFixups[d] >= 0) {
            // branches to the function's label: the values meet in their home slots
            if (!this.ctlUnreachable[d]) for (let k = 0; k < results.length; k++) {
              const i = this.ctlHeight[d] + k;
              if (s.loc[i] !== Loc.Mem) be.storeHome(this, i, i);
            }
            this.bindFixups(d, this.out.buf.pos);
            s.height = this.ctlHeight[d];
            this.pushTypes(results);
            this.resetRegs();
            this.ctlUnreachable[d] = 0;
          }
          if (!this.ctlUnreachable[d]) be.emitReturn(this, results);
          if (rd.pos !== rd.end) {
            this.opOffset = rd.pos;
            this.fail('section size mismatch');
          }
          this.ctlDepth = 0;
          return true;
        }
        if (this.ctlElse[d] >= 0) be.patchJump(this, this.ctlElse[d], this.out.buf.pos);
        this.bindFixups(d, this.out.buf.pos);
        this.ctlDepth--;
        s.height = this.ctlHeight[d];
        this.pushTypes(this.ctlResults[d]);
        this.resetRegs();
        return false;
      }
      case 0x0c: { // br
        const depth = this.readLabel();
        this.checkTop(this.labelTypes(depth));
        if (!dead) {
          this.branchMoves(depth);
          this.jumpTo(depth);
        }
        this.setUnreachable();
        return false;
      }
      case 0x0d: { // br_if
        const depth = this.readLabel();
        this.pop(I32);
        const cond = s.height;
        const types = this.labelTypes(depth);
        this.checkTop(types);
        if (!dead) {
          if (!this.movesNeeded(depth)) {
            if (this.ctlKind[depth] === Ctl.Loop) be.branchIf(this, cond, false, this.ctlLabel[depth]);
            else {
              const fx = be.branchIf(this, cond, false, -1);
              if (fx >= 0) this.addFixup(depth, fx);
              else if (fx === -2) this.addFixup(depth, this.lastFixup);
            }
          } else {
            const skip = be.branchIf(this, cond, true, -1);
            if (skip === -2) {
              be.patchJump(this, this.lastFixup, this.out.buf.pos); // condition constant zero: never taken
            } else {
              this.branchMoves(depth, true);
              this.jumpTo(depth);
              if (skip >= 0) be.patchJump(this, skip, this.out.buf.pos);
            }
          }
        }
        // the values left behind have the label's types (pushed anew when the stack is polymorphic)
        const n = types.length;
        const base = this.ctlHeight[this.ctlDepth - 1];
        if (s.height - n < base) {
          while (s.height > base) this.release(--s.height);
          this.pushTypes(types);
        } else for (let k = 0; k < n; k++) s.type[s.height - n + k] = types[k];
        return false;
      }
      case 0x0e: { // br_table
        const count = rd.u32();
        if (count > LIMITS.brTable) this.failLimit('br_table too large', count, LIMITS.brTable);
        if (this.tableTargets.length < count + 1) {
          this.tableTargets = new Int32Array(count + 1);
          this.tableFixups = new Int32Array(count + 1);
        }
        const targets = this.tableTargets;
        for (let k = 0; k <= count; k++) targets[k] = this.readLabel();
        this.pop(I32);
        const idx = s.height;
        const arity = this.labelTypes(targets[count]).length;
        for (let k = 0; k <= count; k++) {
          const types = this.labelTypes(targets[k]);
          if (types.length !== arity) this.fail('type mismatch');
          this.checkTop(types);
        }
        if (!dead) this.emitBrTable(idx, count);
        this.setUnreachable();
        return false;
      }
      case 0x0f: { // return
        const results = this.ctlResults[0];
        this.checkTop(results);
        if (!dead) be.emitReturn(this, results);
        this.setUnreachable();
        return false;
      }
      case 0x10: { // call
        const f = rd.u32();
        const m = this.env.module;
        if (f >= m.importedFuncs + m.functions.length) this.fail('unknown function');
        const type = this.env.funcType(f);
        this.checkCallTypes(type);
        const site = this.siteCount++;
        this.popN(type.params);
        if (dead) {
          this.pushTypes(type.results);
          return false;
        }
        s.height += type.params.length;
        this.spillAll();
        this.resetRegs();
        be.call(this, this.env.linkedFunc(f), type.params.length, type.results, site, this.opOffset);
        return false;
      }
      case 0x11: { // call_indirect
        const typeIndex = rd.u32();
        const tableIndex = rd.u32();
        if (tableIndex >= this.env.tableCount) this.fail('unknown table');
        if (this.tableElemType(tableIndex) !== FUNCREF) this.fail('type mismatch');
        if (typeIndex >= this.env.module.types.length) this.fail('unknown type');
        const type = this.env.module.types[typeIndex];
        this.checkCallTypes(type);
        const site = this.siteCount++;
        this.pop(I32);
        this.popN(type.params);
        if (dead) {
          this.pushTypes(type.results);
          return false;
        }
        s.height += type.params.length + 1; // arguments and the callee index
        this.spillAll();
        this.resetRegs();
        be.callIndirect(this, this.env.typeId(typeIndex), type.params.length, type.results, site, this.opOffset, this.env.tableDesc(tableIndex));
        return false;
      }
      case 0x1a: // drop
        this.pop(0);
        if (!dead) this.release(s.height);
        return false;
      case 0x1b: { // select
        this.pop(I32);
        const t2 = this.pop(0);
        const t1 = this.pop(0);
        if (t1 !== t2 && t1 !== UNKNOWN && t2 !== UNKNOWN) this.fail('type mismatch');
        const t = t1 === UNKNOWN ? t2 : t1;
        if (t === 0x7b || isRef(t)) this.fail('type mismatch');
        const i = s.height;
        if (!dead) be.select(this, i);
        this.pushed(i, t);
        return false;
      }
      case 0x1c: { // select t
        const n = rd.u32();
        if (n !== 1) this.fail('invalid result arity');
        const t = rd.u8();
        if (t !== I32 && t !== I64 && t !== F32 && t !== F64 && !isRef(t)) {
          if (t === 0x7b) this.unsupported('simd', 'v128 select');
          this.fail('malformed value type');
        }
        this.pop(I32);
        this.pop(t);
        this.pop(t);
        const i = s.height;
        if (!dead) be.select(this, i);
        this.pushed(i, t);
        return false;
      }
      case 0x25: { // table.get
        const x = this.tableIndex();
        this.pop(I32);
        this.tableCall(TableOp.Get, this.env.linkedTable(x), 0, 1, this.tableElemType(x));
        return false;
      }
      case 0x26: { // table.set
        const x = this.tableIndex();
        this.pop(this.tableElemType(x));
        this.pop(I32);
        this.tableCall(TableOp.Set, this.env.linkedTable(x), 0, 2, 0);
        return false;
      }
      case 0xd0: { // ref.null
        const at = rd.pos;
        const t = rd.u8();
        if (!isRef(t)) {
          this.opOffset = at;
          this.fail('malformed reference type');
        }
        this.pushConst(t, 0, 0); // null is the word 0 (docs/ARCHITECTURE.md, "References")
        return false;
      }
      case 0xd1: { // ref.is_null
        const t = this.pop(0);
        if (t !== UNKNOWN && !isRef(t)) this.fail('type mismatch');
        const i = s.height;
        if (!dead) {
          s.type[i] = I64; // a reference is a 64-bit word, null is 0
          be.eqz(this, I64, i);
        }
        this.pushed(i, I32);
        return false;
      }
      case 0xd2: { // ref.func
        const f = rd.u32();
        const m = this.env.module;
        if (f >= m.importedFuncs + m.functions.length) this.fail(`unknown function ${f}`);
        let declared = declaredCache.get(m);
        if (!declared) declaredCache.set(m, (declared = declaredFuncs(m)));
        if (!declared.has(f)) this.fail('undeclared function reference');
        // the table entry's word: type id + 1, linked function index (never 0, never ~0)
        this.pushConst(FUNCREF, this.env.funcTypeId(f) + 1, this.env.linkedFunc(f));
        return false;
      }
      case 0x20: { // local.get
        const x = this.localIndex();
        const i = this.push(this.localTypes[x]);
        if (!dead) be.localGet(this, x, i);
        return false;
      }
      case 0x21: // local.set
      case 0x22: { // local.tee
        const x = this.localIndex();
        const t = this.localTypes[x];
        this.pop(t);
        const i = s.height;
        if (!dead) be.localSet(this, x, i);
        if (op === 0x22) this.pushed(i, t);
        else if (!dead) this.release(i);
        return false;
      }
      case 0x23: { // global.get
        const g = rd.u32();
        const m = this.env.module;
        if (g >= m.importedGlobals + m.globals.length) this.fail('unknown global');
        const gt = this.env.globalType(g);
        this.checkValType(gt.type);
        const i = this.push(gt.type);
        if (!dead) be.globalGet(this, this.env.globalSlot(g), gt.type, i);
        return false;
      }
      case 0x24: { // global.set
        const g = rd.u32();
        const m = this.env.module;
        if (g >= m.importedGlobals + m.globals.length) this.fail('unknown global');
        const gt = this.env.globalType(g);
        if (!gt.mutable) this.fail('global is immutable');
        this.pop(gt.type);
        if (!dead) {
          be.globalSet(this, this.env.globalSlot(g), s.height);
          this.release(s.height);
        }
        return false;
      }
      case 0x3f: { // memory.size
        if (rd.u8() !== 0) this.fail('zero byte expected');
        if (this.env.memoryCount === 0) this.fail('unknown memory 0');
        const i = this.push(I32);
        if (!dead) be.memorySize(this, i);
        return false;
      }
      case 0x40: { // memory.grow
        if (rd.u8() !== 0) this.fail('zero byte expected');
        if (this.env.memoryCount === 0) this.fail('unknown memory 0');
        this.pop(I32);
        const i = s.height;
        if (!dead) {
          this.spillOperands(i, 1);
          be.memoryGrow(this, i);
        }
        this.pushed(i, I32);
        return false;
      }
      case 0x41:
        this.pushConst(I32, rd.s32(), 0);
        return false;
      case 0x42:
        rd.s64();
        this.pushConst(I64, rd.lo, rd.hi);
        return false;
      case 0x43:
        this.pushConst(F32, rd.f32bits(), 0);
        return false;
      case 0x44:
        rd.f64bits();
        this.pushConst(F64, rd.lo, rd.hi);
        return false;
      case 0xfc: {
        const sub = rd.u32();
        if (sub < 8) {
          this.pop(satIn[sub]);
          const i = s.height;
          if (!dead) be.convert(this, SAT_BASE + sub, i);
          this.pushed(i, satOut[sub]);
          return false;
        }
        if (sub === 10 || sub === 11) { // memory.copy, memory.fill
          if (rd.u8() !== 0 || (sub === 10 && rd.u8() !== 0)) this.fail('zero byte expected');
          if (this.env.memoryCount === 0) this.fail('unknown memory 0');
          this.pop(I32);
          this.pop(I32);
          this.pop(I32);
          const i = s.height;
          if (!dead) {
            this.spillOperands(i, 3);
            s.height = i + 3; // the height the backend's bounds-check traps have always seen
            if (sub === 10) be.memoryCopy(this, i);
            else be.memoryFill(this, i);
            s.height = i;
          }
          return false;
        }
        if (sub === 8 || sub === 9) { // memory.init, data.drop
          const seg = this.dataIndex();
          if (sub === 9) {
            if (!dead) be.dataDrop(this, this.env.dataSlot(seg));
            return false;
          }
          if (rd.u8() !== 0) this.fail('zero byte expected');
          if (this.env.memoryCount === 0) this.fail('unknown memory 0');
          this.pop(I32);
          this.pop(I32);
          this.pop(I32);
          const i = s.height;
          if (!dead) {
            this.spillOperands(i, 3);
            s.height = i + 3; // as for memory.copy
            be.memoryInit(this, i, this.env.dataSlot(seg));
            s.height = i;
          }
          return false;
        }
        if (sub >= 12 && sub <= 17) {
          this.tableInstr(sub);
          return false;
        }
        this.fail(`illegal opcode 0xfc ${sub}`);
      }
    }
    this.fail(`illegal opcode 0x${op.toString(16)}`);
  }

  private checkCallTypes(type: FuncType): void {
    for (let k = 0; k < type.params.length; k++) this.checkValType(type.params[k]);
    for (let k = 0; k < type.results.length; k++) this.checkValType(type.results[k]);
  }

  private checkValType(t: number): void {
    if (t === 0x7b) this.unsupported('simd', 'v128 value');
  }

  private tableIndex(): number {
    const x = this.rd.u32();
    if (x >= this.env.tableCount) this.fail(`unknown table ${x}`);
    return x;
  }

  private elemIndex(): number {
    const x = this.rd.u32();
    if (x >= this.env.module.elements.length) this.fail(`unknown elem segment ${x}`);
    return x;
  }

  /** 0xfc 12–17: table.init, elem.drop, table.copy, table.grow, table.size, table.fill. */
  private tableInstr(sub: number): void {
    const env = this.env;
    switch (sub) {
      case 12: { // table.init seg table
        const seg = this.elemIndex();
        const x = this.tableIndex();
        if (env.module.elements[seg].elemType !== this.tableElemType(x)) this.fail('type mismatch');
        this.pop(I32); this.pop(I32); this.pop(I32);
        this.tableCall(TableOp.Init, env.linkedTable(x), env.linkedElem(seg), 3, 0);
        return;
      }
      case 13: { // elem.drop
        const seg = this.elemIndex();
        this.tableCall(TableOp.ElemDrop, 0, env.linkedElem(seg), 0, 0);
        return;
      }
      case 14: { // table.copy dst src
        const dst = this.tableIndex();
        const src = this.tableIndex();
        if (this.tableElemType(dst) !== this.tableElemType(src)) this.fail('type mismatch');
        this.pop(I32); this.pop(I32); this.pop(I32);
        this.tableCall(TableOp.Copy, env.linkedTable(dst), env.linkedTable(src), 3, 0);
        return;
      }
      case 15: { // table.grow: (init, n) -> old size
        const x = this.tableIndex();
        this.pop(I32);
        this.pop(this.tableElemType(x));
        this.tableCall(TableOp.Grow, env.linkedTable(x), 0, 2, I32);
        return;
      }
      case 16: { // table.size
        const x = this.tableIndex();
        this.tableCall(TableOp.Size, env.linkedTable(x), 0, 0, I32);
        return;
      }
      case 17: { // table.fill: (index, ref, n)
        const x = this.tableIndex();
        this.pop(I32);
        this.pop(this.tableElemType(x));
        this.pop(I32);
        this.tableCall(TableOp.Fill, env.linkedTable(x), 0, 3, 0);
        return;
      }
    }
  }

  /**
   * Before code that may clobber any register (a loader routine, rep movs): the `n` operands
   * just popped (at index `i`, the stack height) go to their home slots with everything below
   * them, and no register holds a value. The height is `i` again afterwards.
   */
  private spillOperands(i: number, n: number): void {
    this.stack.height = i + n;
    this.spillAll();
    this.resetRegs();
    this.stack.height = i;
  }

  /**
   * A table operation done by the loader's table routine: its `nOperands` operands (already
   * popped, at the stack height) go to their home slots with everything below them, and the
   * result, if any (`resultType` ≠ 0), is pushed.
   */
  private tableCall(op: TableOp, a: number, b: number, nOperands: number, resultType: number): void {
    const s = this.stack;
    const i = s.height;
    if (!this.dead) {
      this.spillOperands(i, nOperands);
      this.be.tableCall(this, op, a, b, i, resultType);
    }
    if (resultType !== 0) this.pushed(i, resultType);
  }

  /** A data segment index: only with a data count section, which bounds it (spec 2.0 §3.4.7). */
  private dataIndex(): number {
    const x = this.rd.u32();
    const count = this.env.module.dataCount;
    if (count === null) this.fail('data count section required');
    if (x >= count) this.fail(`unknown data segment ${x}`);
    return x;
  }

  private localIndex(): number {
    const x = this.rd.u32();
    if (x >= this.nParams + this.nLocals) this.fail('unknown local');
    return x;
  }

  private pushConst(type: number, lo: number, hi: number): void {
    const i = this.push(type);
    if (!this.dead) this.stack.setConst(i, lo, hi);
  }

  private pushTypes(types: Uint8Array): void {
    for (let k = 0; k < types.length; k++) this.push(types[k]);
  }

  /** At else/end: the block's results must be exactly the values above its base, in memory. */
  private endBlockValues(d: number): void {
    const s = this.stack;
    const results = this.ctlResults[d];
    const n = results.length;
    const base = this.ctlHeight[d];
    if (this.ctlUnreachable[d]) {
      for (let k = n - 1; k >= 0; k--) this.pop(results[k]);
      if (s.height !== base) this.fail('type mismatch');
      return;
    }
    if (s.height !== base + n) this.fail('type mismatch');
    for (let k = 0; k < n; k++) if (s.type[base + k] !== results[k]) this.fail('type mismatch');
    if (this.ctlKind[d] === Ctl.Func) return; // the return sequence takes the values from where they are
    for (let k = 0; k < n; k++) if (s.loc[base + k] !== Loc.Mem) this.be.storeHome(this, base + k, base + k);
  }

  private emitBrTable(idx: number, count: number): void {
    const s = this.stack;
    const targets = this.tableTargets;
    const h = s.height;
    this.spillAll(); // below the index; the index entry sits at `idx` = h
    const fix = this.tableFixups;
    this.be.branchTable(this, idx, count, fix);
    this.resetRegs();
    // one trampoline per entry: moves, then the jump to its label
    for (let k = 0; k <= count; k++) {
      this.be.patchJump(this, fix[k], this.out.buf.pos);
      s.height = h;
      this.branchMoves(targets[k]);
      this.jumpTo(targets[k]);
    }
  }
}

const BT_EMPTY = { params: EMPTY, results: EMPTY };
const BT_SINGLE: Record<number, { params: Uint8Array; results: Uint8Array }> = {
  [I32]: { params: EMPTY, results: SINGLE[I32] },
  [I64]: { params: EMPTY, results: SINGLE[I64] },
  [F32]: { params: EMPTY, results: SINGLE[F32] },
  [F64]: { params: EMPTY, results: SINGLE[F64] },
  [FUNCREF]: { params: EMPTY, results: SINGLE[FUNCREF] },
  [EXTERNREF]: { params: EMPTY, results: SINGLE[EXTERNREF] },
};

function sameTypes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

