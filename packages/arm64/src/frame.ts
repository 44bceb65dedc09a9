import { Loc, Trap, VMCTX, isFloat, CompileError, type FunctionCompiler, type CodeBuffer } from '@wagc/frontend';
import { a } from './encode/flat';
import { AddSub, Cond, Extend, MemOp, Shift } from './encode';
import { ADDR, FP, LR, MEM_BASE, SCRATCH, SCRATCH2, SCRATCH3, STACK_LIMIT, VMCTX_REG, WSP, invert } from './regs';
import { copyToReg, fmovRR, ldstAt, storeValue } from './move';
import { stateOf } from './state';

/**
 * Wasm bodies above this size may produce functions longer than b.cond's ±1 MiB reaches: their
 * conditional branches become an inverted b.cond over a b (±128 MiB). ARM64 code is at most
 * ~100 bytes per wasm byte (the longest macro, a checked float→i64 conversion of a 2-byte op).
 */
const SHORT_BRANCH_BODY = 8 * 1024;

/** Decides the branch forms of the function about to be compiled. */
export function chooseBranchForms(fc: FunctionCompiler): void {
  const m = fc.env.module;
  const body = m.bodies[fc.funcIndex - m.importedFuncs];
  stateOf(fc).longBranches = body.end - body.start > SHORT_BRANCH_BODY;
}

/** rd = rn − imm for 0 ≤ imm < 2^24 in one or two instructions. */
export function subImm(b: CodeBuffer, rd: number, rn: number, imm: number): void {
  if (a.fitsAddSubImm(imm)) a.addSubImm(b, AddSub.SUB, 8, rd, rn, imm);
  else if (imm < 1 << 24) {
    a.addSubImm(b, AddSub.SUB, 8, rd, rn, imm & 0xfff000);
    a.addSubImm(b, AddSub.SUB, 8, rd, rd, imm & 0xfff);
  } else throw new Error(`arm64: subtrahend ${imm} ≥ 16 MiB (frames are smaller by the compiler limits)`);
}

export function addImm(b: CodeBuffer, rd: number, rn: number, imm: number): void {
  if (a.fitsAddSubImm(imm)) a.addSubImm(b, AddSub.ADD, 8, rd, rn, imm);
  else {
    a.addSubImm(b, AddSub.ADD, 8, rd, rn, imm & 0xfff000);
    a.addSubImm(b, AddSub.ADD, 8, rd, rd, imm & 0xfff);
  }
}

/** `rd = base − frameSize` as two patched subs (frameSize is known at the function's end). */
export function frameBottom(fc: FunctionCompiler, rd: number, base: number): void {
  const b = fc.out.buf;
  stateOf(fc).addFramePatch(b.pos);
  a.addSubImm(b, AddSub.SUB, 8, rd, base, 0x1000); // hi part, shifted form
  a.addSubImm(b, AddSub.SUB, 8, rd, rd, 0); // lo part
}

function patchFrameBottom(b: CodeBuffer, at: number, frameSize: number): void {
  const hi = b.read32(at);
  b.patch32(at, (hi & ~(0xfff << 10)) | ((frameSize >>> 12) << 10));
  const lo = b.read32(at + 4);
  b.patch32(at + 4, (lo & ~(0xfff << 10)) | ((frameSize & 0xfff) << 10));
}

/**
 * A conditional branch on `cc` to `target` (≥ 0: known, behind us) or to be patched (−1).
 * Returns the position patchJump takes.
 */
export function condBranch(fc: FunctionCompiler, cc: number, target: number): number {
  const b = fc.out.buf;
  if (target >= 0 ? a.fitsB19(target - b.pos) : !stateOf(fc).longBranches) {
    const at = a.branchCond(b, cc);
    if (target >= 0) a.patchBranch(b, at, target);
    return at;
  }
  a.branchCond(b, invert(cc), 8);
  const at = a.branch(b);
  if (target >= 0) a.patchBranch(b, at, target);
  return at;
}

/** cbz/cbnz (`w` 4 or 8) on register `r`, in the same two forms as condBranch. */
export function compareBranch(fc: FunctionCompiler, ifZero: boolean, w: number, r: number, target: number): number {
  const b = fc.out.buf;
  if (target >= 0 ? a.fitsB19(target - b.pos) : !stateOf(fc).longBranches) {
    const at = ifZero ? a.cbz(b, w, r) : a.cbnz(b, w, r);
    if (target >= 0) a.patchBranch(b, at, target);
    return at;
  }
  if (ifZero) a.cbnz(b, w, r, 8);
  else a.cbz(b, w, r, 8);
  const at = a.branch(b);
  if (target >= 0) a.patchBranch(b, at, target);
  return at;
}

export function patchBranchOrFail(fc: FunctionCompiler, at: number, target: number): void {
  if (!a.patchBranch(fc.out.buf, at, target)) {
    throw new CompileError('function too large for arm64 branches', fc.opOffset, fc.funcIndex, 'code');
  }
}

/**
 * Entry: the return address pushed on the wasm stack (as x86-64's call does), the frame
 * pointer, the entry check (site 0), the frame, zeroed declared locals.
 */
export function prologue(fc: FunctionCompiler): void {
  const st = stateOf(fc);
  st.reset();
  chooseBranchForms(fc);
  const b = fc.out.buf;
  // with several memories the caller's base may be in x27 (a resumed entry re-runs this too)
  if (fc.env.switchMemory && fc.env.memoryDesc >= 0) ldstAt(b, MemOp.LDR_X, MEM_BASE, VMCTX_REG, fc.env.memoryDesc);
  a.ldstIndexed(b, MemOp.STR_X, LR, WSP, -8, true);
  a.movRR(b, 8, FP, WSP);
  frameBottom(fc, SCRATCH, WSP);
  a.addSubReg(b, AddSub.SUBS, 8, 31, SCRATCH, STACK_LIMIT);
  st.entryJump = condBranch(fc, Cond.LO, -1);
  // site 0 holds the parameters only: the locals are zeroed after the check (re-run on resume)
  st.entrySite = fc.addSite(-1, 0, 0, fc.nParams, fc.opOffset);
  st.entryResume = b.pos;
  frameBottom(fc, WSP, FP);
  const n = fc.nLocals;
  if (n > 0 && n <= 8) {
    for (let j = 0; j < n; j++) ldstAt(b, MemOp.STR_X, 31, FP, -8 * (j + 1));
  } else if (n > 8) {
    // x16 from fp − 8n up to fp, 8 bytes at a time
    a.movConst(b, 8, SCRATCH2, n, 0);
    subImm(b, SCRATCH, FP, 8 * n);
    const loop = b.pos;
    a.ldstIndexed(b, MemOp.STR_X, 31, SCRATCH, 8, false);
    a.addSubImm(b, AddSub.SUBS, 8, SCRATCH2, SCRATCH2, 1);
    a.patchBranch(b, a.branchCond(b, Cond.NE), loop);
  }
}

/** Conditional branch to an out-of-line call of trap stub `trap`. */
export function trapIf(fc: FunctionCompiler, cc: number, trap: number): void {
  stateOf(fc).addTrapJump(condBranch(fc, cc, -1), trap);
}

/** cbz/cbnz to an out-of-line call of trap stub `trap`. */
export function trapIfZero(fc: FunctionCompiler, w: number, r: number, trap: number): void {
  stateOf(fc).addTrapJump(compareBranch(fc, true, w, r, -1), trap);
}

export function trap(fc: FunctionCompiler, trapId: number): void {
  callStub(fc, fc.env.stubs.traps[trapId]);
}

/** A bl into a shared stub, recorded in out.stubRefs (code compiled in a worker is moved). */
export function callStub(fc: FunctionCompiler, target: number): void {
  const b = fc.out.buf;
  const at = a.branchLink(b);
  a.patchBranch(b, at, target);
  fc.out.stubRefs.push(at, target);
}

export function emitReturn(fc: FunctionCompiler, results: Uint8Array): void {
  const b = fc.out.buf;
  const m = results.length;
  if (m === 1) copyToReg(fc, fc.stack.height - 1, 0);
  a.movRR(b, 8, WSP, FP);
  a.ldstIndexed(b, MemOp.LDR_X, LR, WSP, 8, false);
  if (m > 1) {
    // several results: result k goes to fp + 8·(n − k), where the caller's operand position of
    // argument k is (docs/ARCHITECTURE.md, "Several results"). In increasing k no store reaches
    // a value still to be read; the return address is in x30 already, as one may land on its slot.
    const first = fc.stack.height - m;
    for (let k = 0; k < m; k++) storeValue(fc, first + k, FP, 8 * (fc.nParams - k));
  }
  a.ret(b);
}

export function loopCheck(fc: FunctionCompiler, siteIndex: number, wasmOffset: number): void {
  const b = fc.out.buf;
  const st = stateOf(fc);
  a.addSubReg(b, AddSub.SUBS, 8, 31, WSP, STACK_LIMIT);
  const at = condBranch(fc, Cond.LO, -1);
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
  // entry check failed: stack exhausted or suspend requested (x28 = fp: the return address slot)
  patchBranchOrFail(fc, st.entryJump, b.pos);
  callStub(fc, stubs.check);
  st.entrySite!.codeOffset = b.pos;
  a.patchBranch(b, a.branch(b), st.entryResume);
  for (let k = 0; k < st.checkJumps.length; k++) {
    patchBranchOrFail(fc, st.checkJumps[k], b.pos);
    subImm(b, WSP, FP, fc.siteFpOffset(st.checkDepth[k]));
    callStub(fc, stubs.check);
    st.checkSites[k].codeOffset = b.pos;
    frameBottom(fc, WSP, FP);
    a.patchBranch(b, a.branch(b), st.checkResume[k]);
  }
  for (let k = 0; k < st.trapJumpCount; k++) {
    patchBranchOrFail(fc, st.trapJumps[2 * k], b.pos);
    callStub(fc, stubs.traps[st.trapJumps[2 * k + 1]]);
  }
  // frame: declared locals and the deepest operand stack, plus the slot a call's return address takes
  const frameSize = 8 * (fc.nLocals + fc.maxDepth) + 8;
  if (frameSize >= 1 << 24) throw new CompileError('frame too large for arm64 (16 MiB)', fc.opOffset, fc.funcIndex, 'code');
  fc.frameSize = frameSize;
  for (let k = 0; k < st.framePatchCount; k++) patchFrameBottom(b, st.framePatches[k], frameSize);
}

/**
 * Calls with x28 at the last argument's slot; records the site; restores the frame pointer and
 * x28; pushes the result.
 */
function callSequence(fc: FunctionCompiler, emitCall: () => void, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number, calleeMemory: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const env = fc.env;
  const depth = s.height;
  const fpOffset = fc.siteFpOffset(depth);
  subImm(b, WSP, FP, fpOffset);
  emitCall();
  fc.addSite(b.pos, siteIndex, fpOffset, fc.nParams + fc.nLocals + depth - nArgs, wasmOffset);
  addImm(b, FP, WSP, fpOffset);
  frameBottom(fc, WSP, FP);
  // a callee of another memory returns with its base in x27 (calleeMemory −2: not known)
  if (env.switchMemory && env.memoryDesc >= 0 && calleeMemory !== env.memoryDesc) {
    ldstAt(b, MemOp.LDR_X, MEM_BASE, VMCTX_REG, env.memoryDesc);
  }
  s.height = depth - nArgs;
  if (results.length === 1) {
    const t = results[0];
    const r = fc.allocReg(t);
    if (isFloat(t)) {
      if (r !== 0) fmovRR(b, r, 0);
    } else if (r !== 0) a.movRR(b, 8, r, 0);
    fc.pushReg(t, r);
  } else fc.pushResults(results); // in their home slots already
}

export function call(fc: FunctionCompiler, func: number, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number): void {
  const b = fc.out.buf;
  callSequence(fc, () => {
    const at = a.branchLink(b);
    fc.out.callFixups.push(at, func);
  }, nArgs, results, siteIndex, wasmOffset, fc.env.switchMemory ? fc.env.funcMemoryDesc(func) : -2);
}

export function callIndirect(fc: FunctionCompiler, typeId: number, nArgs: number, results: Uint8Array, siteIndex: number, wasmOffset: number, tableDesc: number): void {
  const b = fc.out.buf;
  const s = fc.stack;
  const idx = s.height - 1;
  copyToReg(fc, idx, SCRATCH2);
  s.height--;
  // table descriptor: u64 entries, u32 size; entry: low u32 = type id + 1 (0: null), high u32 = linked function
  const table = tableDesc;
  ldstAt(b, MemOp.LDR_W, SCRATCH, VMCTX_REG, table + 8);
  a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH2, SCRATCH);
  trapIf(fc, Cond.HS, Trap.UndefinedElement);
  ldstAt(b, MemOp.LDR_X, SCRATCH, VMCTX_REG, table);
  a.ldstReg(b, MemOp.LDR_X, SCRATCH, SCRATCH, SCRATCH2, Extend.UXTW, true);
  trapIfZero(fc, 4, SCRATCH, Trap.UninitializedElement);
  // whatever the word holds (a snapshot or a bug may have forged it), only a linked function of
  // the expected type is called: its index is bounded by the function table's count, and the
  // type compared is the table's trusted copy, not the word's claim (docs/ARCHITECTURE.md,
  // "References"). The table: u32 count, u32 0, then (u32 code offset, u32 type id + 1) each.
  a.lsrImm(b, 8, SCRATCH, SCRATCH, 32);
  // the function table's text offset, patched by the linker (patchCall sees the movz)
  fc.out.tableFixups.push(b.pos);
  a.movz(b, 8, ADDR, 0, 0);
  a.movk(b, 8, ADDR, 0, 16);
  ldstAt(b, MemOp.LDR_X, SCRATCH2, VMCTX_REG, VMCTX.textBase);
  a.addSubReg(b, AddSub.ADD, 8, ADDR, SCRATCH2, ADDR);
  a.ldst(b, MemOp.LDR_W, SCRATCH3, ADDR, 0);
  a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH, SCRATCH3);
  trapIf(fc, Cond.HS, Trap.UndefinedElement);
  a.addSubReg(b, AddSub.ADD, 8, ADDR, ADDR, SCRATCH, Shift.LSL, 3);
  a.ldst(b, MemOp.LDR_W, SCRATCH3, ADDR, 12);
  if (a.fitsAddSubImm(typeId + 1)) a.addSubImm(b, AddSub.SUBS, 4, 31, SCRATCH3, typeId + 1);
  else {
    a.movConst(b, 4, SCRATCH, typeId + 1, 0);
    a.addSubReg(b, AddSub.SUBS, 4, 31, SCRATCH3, SCRATCH);
  }
  trapIf(fc, Cond.NE, Trap.IndirectCallTypeMismatch);
  a.ldst(b, MemOp.LDR_W, SCRATCH, ADDR, 8);
  a.addSubReg(b, AddSub.ADD, 8, SCRATCH, SCRATCH2, SCRATCH);
  callSequence(fc, () => a.blr(b, SCRATCH), nArgs, results, siteIndex, wasmOffset, -2);
}

export { Loc };
