import { LIMITS } from '../limits';
import { Trap } from '../runtime/vmctx';
import { Base, Form } from './backend';
import { Loc } from './valuestack';
import { I32 } from './operations';
import { addCheck } from './sites';
import { SLOT_SIZE, slotsOf } from './frame';
import { isValueType, type FunctionCompiler } from './function';
import { typeFeature } from '../features';

/**
 * Control instructions and control frames: blocks, loops, ifs, branches, returns. At every block
 * boundary and branch the values meet in their slots (docs/ARCHITECTURE.md, "Code generator",
 * merges): a block starts with no value in a register, a branch stores the values it carries in
 * the label's slots, and a label's code expects them there.
 */

/** ctlUnreachable bits: the frame saw an unconditional branch; the frame began in dead code. */
export const UNREACHABLE = 1, ENTERED_DEAD = 2;
export const enum Ctl { Func = 0, Block = 1, Loop = 2, If = 3, Else = 4 }

const EMPTY = new Uint8Array(0);
interface BlockType { params: Uint8Array; results: Uint8Array }
const BT_EMPTY: BlockType = { params: EMPTY, results: EMPTY };
const BT_SINGLE: BlockType[] = [];
for (const t of [0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]) BT_SINGLE[t] = { params: EMPTY, results: new Uint8Array([t]) };

// --- the function's entry and return -----------------------------------------------------------

/**
 * Entry: the frame pointer, the entry check (site 0: the frame's lowest address against the stack
 * limit), the frame, the declared locals zeroed, the register locals loaded. Site 0 holds the
 * parameters only: the locals are zeroed after the check, so a frame resumed at site 0 runs this
 * again (and its check saves no register: none holds a local yet).
 */
export function prologue(fc: FunctionCompiler): void {
  const be = fc.be;
  const env = fc.env;
  // with several memories the caller's base may be in the memory register (a resumed entry too)
  if (env.switchMemory && env.memoryDesc >= 0) be.loadMemoryBase(env.memoryDesc);
  be.enterFrame();
  const at = be.entryCheck();
  addCheck(fc, at, 0, -1, fc.frame.paramSlots, fc.opOffset);
  be.frameBottom();
  // the declared locals are zero: in their slots, or in their registers (whose slots are
  // written before anything reads them: the locals start changed). A run of slot locals is one
  // range: from the lowest address of its last local to the top of its first (a v128 has two slots)
  const first = fc.frame.nParams, end = first + fc.frame.nLocals;
  for (let x = first; x < end;) {
    if (fc.localReg[x] >= 0) {
      x++;
      continue;
    }
    let last = x;
    while (last + 1 < end && fc.localReg[last + 1] < 0) last++;
    const low = fc.frame.localOffset(last);
    const high = fc.frame.localOffset(x) + SLOT_SIZE * slotsOf(fc.localTypes[x]);
    be.zeroSlots(low, high - low);
    x = last + 1;
  }
  fc.loadLocalsAtEntry();
}

/**
 * Returns the top `results.length` values: one in the backend's result register, several in
 * memory, result k in the slot of parameter k (docs/ARCHITECTURE.md, "Several results"). In
 * increasing k no store reaches a value still to be read; with more results than parameters one
 * lands on the return address, which the backend reads first.
 */
export function emitReturn(fc: FunctionCompiler, results: Uint8Array): void {
  const be = fc.be;
  const s = fc.stack;
  const m = results.length;
  if (m === 1) fc.copyToReg(s.height - 1, be.resultReg(results[0]));
  const over = m > 1 && fc.frame.topSlots(m) > fc.frame.paramSlots;
  be.beginReturn(over);
  if (m > 1) {
    const first = s.height - m;
    // a result store may land on a local's slot that a later result reads: those are read first
    for (let k = 0; k < m; k++) if (s.loc[first + k] === Loc.LocalSlot) fc.regOf(first + k);
    for (let k = 0; k < m; k++) fc.storeValue(first + k, Base.Frame, fc.frame.resultOffset(m, k));
  }
  be.endReturn(over);
}

// --- control frames ----------------------------------------------------------------------------

export function pushCtl(fc: FunctionCompiler, kind: Ctl, params: Uint8Array, results: Uint8Array): void {
  const d = fc.ctlDepth;
  if (d >= LIMITS.nesting) fc.failLimit('blocks nested too deeply', d + 1, LIMITS.nesting);
  if (d >= fc.ctlKind.length) {
    fc.ctlKind = grown(fc.ctlKind);
    fc.ctlHeight = grown(fc.ctlHeight);
    fc.ctlUnreachable = grown(fc.ctlUnreachable);
    fc.ctlLabel = grown(fc.ctlLabel);
    fc.ctlFixups = grown(fc.ctlFixups);
    fc.ctlElse = grown(fc.ctlElse);
    fc.ctlDirty = grown(fc.ctlDirty);
    fc.ctlElseDirty = grown(fc.ctlElseDirty);
  }
  fc.ctlKind[d] = kind;
  fc.ctlHeight[d] = fc.stack.height - params.length;
  fc.ctlUnreachable[d] = d > 0 && fc.ctlUnreachable[d - 1] !== 0 ? ENTERED_DEAD : 0;
  fc.ctlLabel[d] = -1;
  fc.ctlFixups[d] = -1;
  fc.ctlElse[d] = -1;
  fc.ctlDirty[d] = 0;
  fc.ctlElseDirty[d] = 0;
  fc.ctlParams[d] = params;
  fc.ctlResults[d] = results;
  fc.ctlDepth = d + 1;
}

function grown<T extends Uint8Array | Int32Array>(a: T): T {
  const n = new (a.constructor as { new (n: number): T })(a.length * 2);
  n.set(a);
  return n;
}

function addFixup(fc: FunctionCompiler, depth: number, pos: number): void {
  if (fc.fixCount >= fc.fixPos.length) {
    fc.fixPos = grown(fc.fixPos);
    fc.fixNext = grown(fc.fixNext);
  }
  const k = fc.fixCount++;
  fc.fixPos[k] = pos;
  fc.fixNext[k] = fc.ctlFixups[depth];
  fc.ctlFixups[depth] = k;
}

function bindFixups(fc: FunctionCompiler, depth: number, target: number): void {
  for (let k = fc.ctlFixups[depth]; k >= 0; k = fc.fixNext[k]) fc.be.patchJump(fc.fixPos[k], target);
  fc.ctlFixups[depth] = -1;
}

/** Marks the rest of the current block unreachable and drops its values. */
function setUnreachable(fc: FunctionCompiler): void {
  const d = fc.ctlDepth - 1;
  const s = fc.stack;
  while (s.height > fc.ctlHeight[d]) {
    s.height--;
    fc.release(s.height);
  }
  fc.ctlUnreachable[d] |= UNREACHABLE;
}

function labelTypes(fc: FunctionCompiler, depth: number): Uint8Array {
  return fc.ctlKind[depth] === Ctl.Loop ? fc.ctlParams[depth] : fc.ctlResults[depth];
}

function readLabel(fc: FunctionCompiler): number {
  const rel = fc.rd.u32();
  if (rel >= fc.ctlDepth) fc.fail('unknown label');
  return fc.ctlDepth - 1 - rel;
}

/**
 * Stores a branch's values in label `depth`'s slots (Context.moveToSlots); the register locals it
 * may carry changed join the label's (a loop's are known at its header: CodeGenContext.loopMask).
 */
function branchMoves(fc: FunctionCompiler, depth: number, conditional: boolean): void {
  fc.moveToSlots(fc.ctlHeight[depth], labelTypes(fc, depth).length, conditional);
  fc.ctlDirty[depth] |= fc.dirty;
}

/** Emits a jump to label `depth` (values already moved). */
function jumpTo(fc: FunctionCompiler, depth: number): void {
  if (fc.ctlKind[depth] === Ctl.Loop) fc.be.jump(fc.ctlLabel[depth]);
  else addFixup(fc, depth, fc.be.jump(-1));
}

/**
 * A branch on the i32 value `i` (consumed): taken when it is non-zero, or zero when `ifZero`.
 * Returns the branch's fixup position, or −1 when the value is a constant that never takes it.
 * A constant that always does is an unconditional jump: then `branchAlways` is set.
 */
let branchAlways = false;
function branchOn(fc: FunctionCompiler, i: number, ifZero: boolean, target: number): number {
  const s = fc.stack;
  const be = fc.be;
  branchAlways = false;
  switch (s.loc[i]) {
    case Loc.Const:
      if ((s.lo[i] !== 0) === ifZero) return -1;
      branchAlways = true;
      return be.jump(target);
    case Loc.Flags:
      return be.branchIf(ifZero ? be.invertCond(s.reg[i]) : s.reg[i], target);
    case Loc.Reg: case Loc.Local:
      fc.release(i);
      return be.branchIfZero(ifZero, fc.opA.setReg(I32, s.reg[i]), target);
    case Loc.LocalSlot:
      return be.branchIfZero(ifZero, fc.opA.setSlot(I32, fc.frame.localOffset(s.lo[i])), target);
    default:
      return be.branchIfZero(ifZero, fc.opA.setSlot(I32, fc.frame.homeOffset(i)), target);
  }
}

function readBlockType(fc: FunctionCompiler): BlockType {
  const rd = fc.rd;
  const b = rd.bytes[rd.pos];
  if (b === 0x40) {
    rd.pos++;
    return BT_EMPTY;
  }
  if (isValueType(b)) {
    rd.pos++;
    return BT_SINGLE[b];
  }
  const f = typeFeature(b);
  if (f) fc.unsupported(f[1], `block type: ${f[0]}`);
  const idx = rd.s33();
  if (idx < 0 || idx >= fc.env.module.types.length) fc.fail('unknown type');
  return fc.env.module.types[idx];
}

/** At else/end: the block's results must be exactly the values above its base, in their slots. */
function endBlockValues(fc: FunctionCompiler, d: number): void {
  const s = fc.stack;
  const results = fc.ctlResults[d];
  const n = results.length;
  const base = fc.ctlHeight[d];
  if (fc.ctlUnreachable[d]) {
    for (let k = n - 1; k >= 0; k--) fc.pop(results[k]);
    if (s.height !== base) fc.fail('type mismatch');
    return;
  }
  if (s.height !== base + n) fc.fail('type mismatch');
  for (let k = 0; k < n; k++) if (s.type[base + k] !== results[k]) fc.fail('type mismatch');
  if (fc.ctlKind[d] === Ctl.Func) return; // the return sequence takes the values from where they are
  for (let k = 0; k < n; k++) if (s.loc[base + k] !== Loc.Mem) fc.storeHome(base + k, base + k);
}

function sameTypes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

// --- the instructions --------------------------------------------------------------------------

export function unreachable(fc: FunctionCompiler): void {
  if (!fc.dead) {
    fc.ool.mark(fc.out.buf.pos, fc.opOffset);
    fc.be.callStub(fc.out.stubs.traps[Trap.Unreachable]);
  }
  setUnreachable(fc);
}

export function nop(): void {}

/** block and loop: the parameters (and everything below) go to their slots; no register holds a value. */
function enterBlock(fc: FunctionCompiler, kind: Ctl): BlockType {
  const dead = fc.dead;
  const s = fc.stack;
  const bt = readBlockType(fc);
  fc.popN(bt.params);
  const h = s.height;
  if (!dead) {
    s.height += bt.params.length;
    fc.spillAll();
    s.height = h;
  }
  fc.pushTypes(bt.params);
  pushCtl(fc, kind, bt.params, bt.results);
  return bt;
}

export function block(fc: FunctionCompiler): void {
  enterBlock(fc, Ctl.Block);
  if (!fc.dead) fc.resetRegs();
}

/**
 * The header check is a site, numbered by opcode whether or not the loop is reachable. Its slow
 * path saves the register locals (sites.ts); the locals the loop body writes count as changed
 * from the header on, whatever path comes back to it.
 */
export function loop(fc: FunctionCompiler): void {
  enterBlock(fc, Ctl.Loop);
  const site = fc.siteCount++;
  const ord = fc.loopsSeen++;
  if (fc.dead) return;
  fc.resetRegs();
  fc.dirty |= ord < fc.loopsScanned ? fc.loopMask[ord] : -1;
  fc.ctlLabel[fc.ctlDepth - 1] = fc.out.buf.pos;
  const at = fc.be.loopCheck();
  const depth = fc.stack.height;
  addCheck(fc, at, site, fc.frame.siteFpOffset(depth), fc.frame.siteSlots(depth), fc.opOffset);
}

export function ifOp(fc: FunctionCompiler): void {
  const dead = fc.dead;
  const s = fc.stack;
  const bt = readBlockType(fc);
  fc.pop(I32);
  const cond = s.height;
  fc.popN(bt.params);
  const h = s.height;
  let elseFix = -1;
  if (!dead) {
    // everything below the condition goes home first; stores leave the flags alone
    for (let i = 0; i < cond; i++) if (s.loc[i] !== Loc.Mem) fc.storeHome(i, i);
    fc.localRefLow = cond;
    elseFix = branchOn(fc, cond, true, -1);
  }
  s.height = h;
  fc.pushTypes(bt.params);
  pushCtl(fc, Ctl.If, bt.params, bt.results);
  fc.ctlElse[fc.ctlDepth - 1] = elseFix;
  fc.ctlElseDirty[fc.ctlDepth - 1] = fc.dirty; // the else arm starts with the if's changed locals
  if (!dead) fc.resetRegs();
}

export function elseOp(fc: FunctionCompiler): void {
  const d = fc.ctlDepth - 1;
  const s = fc.stack;
  if (fc.ctlKind[d] !== Ctl.If) fc.fail('else without if');
  endBlockValues(fc, d);
  if (!fc.ctlUnreachable[d]) {
    addFixup(fc, d, fc.be.jump(-1));
    fc.ctlDirty[d] |= fc.dirty;
  }
  fc.dirty = fc.ctlElseDirty[d];
  const outerDead = d > 0 && fc.ctlUnreachable[d - 1] !== 0;
  if (fc.ctlElse[d] >= 0) fc.be.patchJump(fc.ctlElse[d], fc.out.buf.pos);
  // an if entered in dead code has no else jump: its else arm is dead as well
  fc.ctlUnreachable[d] = outerDead ? ENTERED_DEAD : 0;
  fc.ctlElse[d] = -1;
  fc.ctlKind[d] = Ctl.Else;
  s.height = fc.ctlHeight[d];
  fc.pushTypes(fc.ctlParams[d]);
  fc.resetRegs();
}

export function end(fc: FunctionCompiler): void {
  const d = fc.ctlDepth - 1;
  const s = fc.stack;
  const kind = fc.ctlKind[d];
  if (kind === Ctl.If && !sameTypes(fc.ctlParams[d], fc.ctlResults[d])) fc.fail('type mismatch');
  endBlockValues(fc, d);
  if (kind === Ctl.Func) {
    const results = fc.ctlResults[d];
    if (fc.ctlFixups[d] >= 0) {
      // branches to the function's label: the values meet in their home slots
      if (!fc.ctlUnreachable[d]) for (let k = 0; k < results.length; k++) {
        const i = fc.ctlHeight[d] + k;
        if (s.loc[i] !== Loc.Mem) fc.storeHome(i, i);
      }
      bindFixups(fc, d, fc.out.buf.pos);
      s.height = fc.ctlHeight[d];
      fc.pushTypes(results);
      fc.resetRegs();
      fc.ctlUnreachable[d] = 0;
    }
    if (!fc.ctlUnreachable[d]) emitReturn(fc, results);
    const rd = fc.rd;
    if (rd.pos !== rd.end) {
      fc.opOffset = rd.pos;
      fc.fail('section size mismatch');
    }
    fc.ctlDepth = 0;
    return;
  }
  if (fc.ctlElse[d] >= 0) fc.be.patchJump(fc.ctlElse[d], fc.out.buf.pos);
  bindFixups(fc, d, fc.out.buf.pos);
  // the locals changed on any path that reaches the end (an if without else: its false path too)
  fc.dirty = (fc.ctlUnreachable[d] ? 0 : fc.dirty) | fc.ctlDirty[d] | (kind === Ctl.If ? fc.ctlElseDirty[d] : 0);
  fc.ctlDepth--;
  s.height = fc.ctlHeight[d];
  fc.pushTypes(fc.ctlResults[d]);
  fc.resetRegs();
}

export function br(fc: FunctionCompiler): void {
  const depth = readLabel(fc);
  fc.checkTop(labelTypes(fc, depth));
  if (!fc.dead) {
    branchMoves(fc, depth, false);
    jumpTo(fc, depth);
  }
  setUnreachable(fc);
}

export function brIf(fc: FunctionCompiler): void {
  const dead = fc.dead;
  const s = fc.stack;
  const be = fc.be;
  const depth = readLabel(fc);
  fc.pop(I32);
  const cond = s.height;
  const types = labelTypes(fc, depth);
  fc.checkTop(types);
  if (!dead) {
    fc.ctlDirty[depth] |= fc.dirty;
    if (!fc.slotsDiffer(fc.ctlHeight[depth], types.length)) {
      if (fc.ctlKind[depth] === Ctl.Loop) branchOn(fc, cond, false, fc.ctlLabel[depth]);
      else {
        const fx = branchOn(fc, cond, false, -1);
        if (fx >= 0) addFixup(fc, depth, fx);
      }
    } else {
      // moves only on the taken path: a branch around them
      const skip = branchOn(fc, cond, true, -1);
      if (branchAlways) be.patchJump(skip, fc.out.buf.pos); // condition constant zero: never taken
      else {
        branchMoves(fc, depth, true);
        jumpTo(fc, depth);
        if (skip >= 0) be.patchJump(skip, fc.out.buf.pos);
      }
    }
  }
  // the values left behind have the label's types (pushed anew when the stack is polymorphic)
  const n = types.length;
  const base = fc.ctlHeight[fc.ctlDepth - 1];
  if (s.height - n < base) {
    while (s.height > base) fc.release(--s.height);
    fc.pushTypes(types);
  } else for (let k = 0; k < n; k++) s.type[s.height - n + k] = types[k];
}

export function brTable(fc: FunctionCompiler): void {
  const dead = fc.dead;
  const s = fc.stack;
  const count = fc.rd.u32();
  if (count > LIMITS.brTable) fc.failLimit('br_table too large', count, LIMITS.brTable);
  if (fc.tableTargets.length < count + 1) {
    fc.tableTargets = new Int32Array(count + 1);
    fc.tableFixups = new Int32Array(count + 1);
  }
  const targets = fc.tableTargets;
  for (let k = 0; k <= count; k++) targets[k] = readLabel(fc);
  fc.pop(I32);
  const idx = s.height;
  const arity = labelTypes(fc, targets[count]).length;
  for (let k = 0; k <= count; k++) {
    const types = labelTypes(fc, targets[k]);
    if (types.length !== arity) fc.fail('type mismatch');
    fc.checkTop(types);
  }
  if (!dead) {
    // every value below the index in its slot; then one trampoline per entry: moves, the jump
    fc.spillAll();
    const fix = fc.tableFixups;
    fc.be.branchTable(fc.place(idx, Form.AAny, fc.opA), count, fix);
    fc.release(idx);
    fc.resetRegs();
    for (let k = 0; k <= count; k++) {
      fc.be.patchJump(fix[k], fc.out.buf.pos);
      s.height = idx;
      branchMoves(fc, targets[k], false);
      jumpTo(fc, targets[k]);
    }
  }
  setUnreachable(fc);
}

export function returnOp(fc: FunctionCompiler): void {
  const results = fc.ctlResults[0];
  fc.checkTop(results);
  if (!fc.dead) emitReturn(fc, results);
  setUnreachable(fc);
}
