import { Loc, isFloat, DESC, VMCTX, Trap, type FunctionCompiler } from '@wagc/frontend';
import { x } from './encode/flat';
import { Reg, Cond, NO_INDEX } from './encode';
import { FP, MEM_BASE, SCRATCH, SCRATCH2, STACK_LIMIT, VMCTX_REG } from './regs';
import { copyToReg, storeValue } from './move';
import { stateOf } from './state';

/** Placeholder that forces a disp32 encoding; patched with −frameSize at the function's end. */
const FRAME_PLACEHOLDER = -0x7fff0000;

/** `lea dst, [rbp − frameSize]`, patched later. */
export function leaFrameBottom(fc: FunctionCompiler, dst: number, base: number): void {
  const b = fc.out.buf;
  x.lea(b, 8, dst, base, NO_INDEX, 1, FRAME_PLACEHOLDER);
  stateOf(fc).addFramePatch(b.pos - 4);
}

/**
 * Entry: frame pointer, the entry check (site 0: compares the frame's lowest address with the
 * stack limit), the frame, zeroed declared locals.
 */
export function prologue(fc: FunctionCompiler): void {
  const st = stateOf(fc);
  st.reset();
  const b = fc.out.buf;
  // with several memories the caller's may be in r15 (a resumed entry re-runs this too)
  if (fc.env.switchMemory && fc.env.memoryDesc >= 0) x.load(b, 8, MEM_BASE, VMCTX_REG, NO_INDEX, 1, fc.env.memoryDesc + DESC.base);
  x.movRR(b, 8, FP, Reg.RSP);
  leaFrameBottom(fc, SCRATCH, Reg.RSP);
  x.aluRR(b, x.Alu.CMP, 8, SCRATCH, STACK_LIMIT);
  st.entryJump = x.jccRel32(b, Cond.B);
  // site 0 holds the parameters only: the locals are zeroed after the check (re-run on resume)
  st.entrySite = fc.addSite(-1, 0, 0, fc.nParams, fc.opOffset);
  st.entryResume = b.pos;
  leaFrameBottom(fc, Reg.RSP, FP);
  const n = fc.nLocals;
  if (n > 0 && n <= 8) {
    for (let j = 0; j < n; j++) x.storeImm(b, 8, FP, NO_INDEX, 1, -8 * (j + 1), 0);
  } else if (n > 8) {
    // rep stosq over [rbp − 8n, rbp)
    x.aluRR(b, x.Alu.XOR, 4, Reg.RAX, Reg.RAX);
    x.lea(b, 8, Reg.RDI, FP, NO_INDEX, 1, -8 * n);
    x.movRI32(b, 4, Reg.RCX, n);
    b.emit8(0xf3);
    b.emit8(0x48);
    b.emit8(0xab);
  }
}

/** Conditional jump to an out-of-line call of trap stub `trap`. */
export function trapIf(fc: FunctionCompiler, cc: number, trap: number): void {
  const at = x.jccRel32(fc.out.buf, cc);
  stateOf(fc).addTrapJump(at, trap);
}

export function trap(fc: FunctionCompiler, trapId: number): void {
  callStub(fc, fc.env.stubs.traps[trapId]);
}

/** A call into a shared stub, recorded in out.stubRefs (code compiled in a worker is moved). */
export function callStub(fc: FunctionCompiler, target: number): void {
  const b = fc.out.buf;
  const at = x.callRel32(b);
  x.patchRel32(b, at, target);
  fc.out.stubRefs.push(at, target);
}

export function emitReturn(fc: FunctionCompiler, results: Uint8Array): void {
  const b = fc.out.buf;
  const m = results.length;
  if (m <= 1) {
    if (m === 1) copyToReg(fc, fc.stack.height - 1, isFloat(results[0]) ? 0 : Reg.RAX);
    x.movRR(b, 8, Reg.RSP, FP);
    x.ret(b);
    return;
  }
  // several results: result k goes to fp + 8·(n − k), where the caller's operand position of
  // argument k is (docs/ARCHITECTURE.md, "Several results"). In increasing k no store reaches a
  // value still to be read; with more results than parameters one lands on the return address.
  const n = fc.nParams;
  const over = m > n;
  if (over) x.load(b, 8, SCRATCH2, FP, NO_INDEX, 1, 0);
  const first = fc.stack.height - m;
  for (let k = 0; k < m; k++) storeValue(fc, first + k, FP, 8 * (n - k));
  if (over) {
    x.lea(b, 8, Reg.RSP, FP, NO_INDEX, 1, 8);
    x.jmpR(b, SCRATCH2);
  } else {
    x.movRR(b, 8, Reg.RSP, FP);
    x.ret(b);
  }
}

export function loopCheck(fc: FunctionCompiler, siteIndex: number, wasmOffset: number): void {
  const b = fc.out.buf;
  const st = stateOf(fc);
  x.aluRR(b, x.Alu.CMP, 8, Reg.RSP, STACK_LIMIT);
  const at = x.jccRel32(b, Cond.B);
  const depth = fc.stack.height;
  const rec = fc.addSite(-1, siteIndex, fc.siteFpOffset(depth), fc.nParams + fc.nLocals + depth, wasmOffset);
  st.checkJumps.push(at);
  st.checkResume.push(b.pos);
  st.checkDepth.push(depth);
  st.checkSites.push(rec);
}

/** Emits the out-of-line paths and fixes the frame size. */
export function finishFunction(fc: FunctionCompiler): void {
  const b = fc.out.buf;
  const st = stateOf(fc);
  const stubs = fc.env.stubs;
  // entry check failed: stack exhausted or suspend requested
  x.patchRel32(b, st.entryJump, b.pos);
  callStub(fc, stubs.check);
  st.entrySite!.codeOffset = b.pos;
  x.patchRel32(b, x.jmpRel32(b), st.entryResume);
  for (let k = 0; k < st.checkJumps.length; k++) {
    x.patchRel32(b, st.checkJumps[k], b.pos);
    x.lea(b, 8, Reg.RSP, FP, NO_INDEX, 1, -fc.siteFpOffset(st.checkDepth[k]));
    callStub(fc, stubs.check);
    st.checkSites[k].codeOffset = b.pos;
    leaFrameBottom(fc, Reg.RSP, FP);
    x.patchRel32(b, x.jmpRel32(b), st.checkResume[k]);
  }
  for (let k = 0; k < st.trapJumpCount; k++) {
    x.patchRel32(b, st.trapJumps[2 * k], b.pos);
    callStub(fc, stubs.traps[st.trapJumps[2 * k + 1]]);
  }
  // frame: declared locals and the deepest operand stack, plus the slot a call's return address takes
  const frameSize = 8 * (fc.nLocals + fc.maxDepth) + 8;
  fc.frameSize = frameSize;
  for (let k = 0; k < st.framePatchCount; k++) b.patch32(st.framePatches[k], -frameSize);
}

/**
 * Calls through rel32 or a register, with rsp at the last argument's slot; records the site;
 * restores the frame pointer and rsp; pushes the result.
 */
function callSequence(fc: FunctionCompiler, emitCall: () => void, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number, calleeMemory: number): void {
  const b = fc.out.buf;
  const env = fc.env;
  const s = fc.stack;
  const depth = s.height;
  const fpOffset = fc.siteFpOffset(depth);
  x.lea(b, 8, Reg.RSP, FP, NO_INDEX, 1, -fpOffset);
  emitCall();
  fc.addSite(b.pos, siteIndex, fpOffset, fc.nParams + fc.nLocals + depth - nArgs, wasmOffset);
  x.lea(b, 8, FP, Reg.RSP, NO_INDEX, 1, fpOffset);
  leaFrameBottom(fc, Reg.RSP, FP);
  // a callee of another memory returns with its base in r15 (calleeMemory −2: not known)
  if (env.switchMemory && env.memoryDesc >= 0 && calleeMemory !== env.memoryDesc) {
    x.load(b, 8, MEM_BASE, VMCTX_REG, NO_INDEX, 1, env.memoryDesc + DESC.base);
  }
  s.height = depth - nArgs;
  if (results.length === 1) {
    const t = results[0];
    const r = fc.allocReg(t);
    if (isFloat(t)) {
      if (r !== 0) x.fmovRR(b, r, 0);
    } else x.movRR(b, 8, r, Reg.RAX);
    fc.pushReg(t, r);
  } else fc.pushResults(results); // in their home slots already
}

export function call(fc: FunctionCompiler, func: number, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number): void {
  const b = fc.out.buf;
  callSequence(fc, () => {
    const at = x.callRel32(b);
    fc.out.callFixups.push(at, func);
  }, nArgs, results, siteIndex, wasmOffset, fc.env.switchMemory ? fc.env.funcMemoryDesc(func) : -2);
}

export function callIndirect(fc: FunctionCompiler, typeId: number, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number, tableDesc: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const idx = s.height - 1;
  copyToReg(fc, idx, SCRATCH2);
  s.height--;
  // table entry: low u32 = type id + 1 (0: null), high u32 = linked function index
  // table descriptor: u64 entries, u32 size (VMCTX.tableBase/tableSize for an ordinary image)
  const table = tableDesc;
  x.aluRM(b, x.Alu.CMP, 4, SCRATCH2, VMCTX_REG, NO_INDEX, 1, table + DESC.size);
  trapIf(fc, Cond.AE, Trap.UndefinedElement);
  x.load(b, 8, SCRATCH, VMCTX_REG, NO_INDEX, 1, table + DESC.base);
  x.load(b, 8, SCRATCH, SCRATCH, SCRATCH2, 8, 0);
  x.testRR(b, 4, SCRATCH, SCRATCH);
  trapIf(fc, Cond.E, Trap.UninitializedElement);
  // whatever the word holds (a snapshot or a bug may have forged it), only a linked function of
  // the expected type is called: its index is bounded by the function table's count, and the
  // type compared is the table's trusted copy, not the word's claim (docs/ARCHITECTURE.md,
  // "References"). The table: u32 count, u32 0, then (u32 code offset, u32 type id + 1) each.
  x.shiftRI(b, x.Shift.SHR, 8, SCRATCH, 32);
  const at = x.leaRip(b, SCRATCH2);
  fc.out.tableFixups.push(at);
  x.aluRM(b, x.Alu.CMP, 4, SCRATCH, SCRATCH2, NO_INDEX, 1, 0);
  trapIf(fc, Cond.AE, Trap.UndefinedElement);
  x.aluMI(b, x.Alu.CMP, 4, SCRATCH2, SCRATCH, 8, 12, typeId + 1);
  trapIf(fc, Cond.NE, Trap.IndirectCallTypeMismatch);
  x.load(b, 4, SCRATCH, SCRATCH2, SCRATCH, 8, 8);
  x.aluRM(b, x.Alu.ADD, 8, SCRATCH, VMCTX_REG, NO_INDEX, 1, VMCTX.textBase);
  callSequence(fc, () => x.callR(b, SCRATCH), nArgs, results, siteIndex, wasmOffset, -2);
}

export { Loc };
