import { CPU_FEATURE, Form, OpClass, OutOfLine, type Backend, type CompileOutput, type CodeBuffer, type StubEmitter, type Operand } from '@wagc/frontend';
import type { IntBinOp, IntUnOp, FloatBinOp, FloatUnOp, IntCmp, FloatCmp, Conv, Shape, VecBinOp, VecUnOp, VecShiftOp, VecTestOp, VecLoad } from '@wagc/frontend';
import { GPR_MASK, FPR_MASK, LOCAL_GPR_MASK, LOCAL_FPR_MASK, invert } from './regs';
import * as move from './move';
import * as frame from './frame';
import * as call from './call';
import * as branch from './branch';
import * as binary from './binary';
import * as compare from './compare';
import * as unary from './unary';
import * as convert from './convert';
import * as memory from './memory';
import { tableCall } from './table';
import * as simd from './simd';
import { emitStubs, emitHostcallStub, emitImportTrapStub, patchCall } from './stubs';
import { ConstPool } from './constants';

/**
 * The x86-64 macro layer: the Backend the ISA-neutral code generator drives (frontend
 * codegen/backend.ts says what each method may assume and must leave). Each method is one file's
 * emitter: move (values between registers, constants and slots), binary, unary, compare, convert,
 * memory, branch, frame (entry, checks, return), call, table. packages/arm64/src mirrors this
 * file for file.
 */
export class X64Backend implements Backend {
  readonly arch = 'x86-64' as const;
  readonly gprMask = GPR_MASK;
  readonly fprMask = FPR_MASK;
  readonly localGprMask = LOCAL_GPR_MASK;
  readonly localFprMask = LOCAL_FPR_MASK;
  out!: CompileOutput;
  buf!: CodeBuffer;
  ool!: OutOfLine;
  /** CPU_FEATURE bits the code may use (a compile option), and those it did use. */
  readonly cpuFeatures: number;
  usedCpuFeatures = 0;
  /** The function's constants, placed after its code (constants.ts). */
  readonly pool = new ConstPool();
  /** Where the frame size is patched in (disp32 fields), once known. */
  framePatches = new Int32Array(64);
  framePatchCount = 0;

  /** `cpuFeatures`: CPU_FEATURE bits the code may use beyond baseline x86-64. */
  constructor(cpuFeatures = 0) {
    this.cpuFeatures = cpuFeatures;
  }

  bind(out: CompileOutput, ool: OutOfLine): void {
    this.out = out;
    this.buf = out.buf;
    this.ool = ool;
  }

  formOf(cls: OpClass, kind: number, _inType: number, _outType: number, shape: Shape): number {
    switch (cls) {
      case OpClass.IntBinary: return binary.intBinaryForm(kind);
      case OpClass.FloatBinary: return binary.floatBinaryForm();
      case OpClass.IntUnary:
      case OpClass.FloatUnary: return Form.AOwn | Form.InPlace;
      case OpClass.IntCompare: return compare.intCompareForm();
      case OpClass.FloatCompare: return compare.floatCompareForm(kind);
      case OpClass.TestZero: return compare.testZeroForm();
      case OpClass.Convert: return convert.convertForm(kind);
      case OpClass.Load: return memory.loadForm();
      case OpClass.Store: return memory.storeForm();
    }
    return simd.vecForm(cls, kind, shape, (this.cpuFeatures & CPU_FEATURE.avx) !== 0);
  }

  beginFunction(_bodyBytes: number): void {
    this.framePatchCount = 0;
    this.pool.reset();
  }
  enterFrame(): void { frame.enterFrame(this); }
  entryCheck(): number { return frame.entryCheck(this); }
  frameBottom(): void { frame.frameBottom(this); }
  zeroSlots(lowest: number, bytes: number): void { frame.zeroSlots(this, lowest, bytes); }
  loopCheck(): number { return frame.loopCheck(this); }
  finishFrame(frameSize: number): void { frame.finishFrame(this, frameSize); }
  beginReturn(over: boolean): void { frame.beginReturn(this, over); }
  endReturn(over: boolean): void { frame.endReturn(this, over); }
  resultReg(type: number): number { return frame.resultReg(type); }
  loadMemoryBase(desc: number): void { frame.loadMemoryBase(this, desc); }
  patchConstRef(at: number, from: number, target: number): void { this.buf.patch32(at, target - from); }

  loadConst(type: number, dst: number, lo: number, hi: number): void { move.loadConst(this, type, dst, lo, hi); }
  loadSlot(type: number, dst: number, base: number, offset: number): void { move.loadSlot(this, type, dst, base, offset); }
  storeSlot(type: number, base: number, offset: number, src: number): void { move.storeSlot(this, type, base, offset, src); }
  storeSlotConst(type: number, base: number, offset: number, lo: number, hi: number): void { move.storeSlotConst(this, type, base, offset, lo, hi); }
  copySlot(base: number, offset: number, from: number): void { move.copySlot(this, base, offset, from); }
  setFromCond(cc: number, dst: number): void { move.setFromCond(this, cc, dst); }
  storeSlotCond(cc: number, base: number, offset: number): void { move.storeSlotCond(this, cc, base, offset); }
  move(type: number, dst: number, src: number): void { move.move(this, type, dst, src); }
  invertCond(cc: number): number { return invert(cc); }

  intBinary(kind: IntBinOp, w: number, dst: number, a: Operand, b: Operand): void { binary.intBinary(this, kind, w, dst, a, b); }
  addShifted(w: number, dst: number, a: Operand, index: number, shift: number): void { binary.addShifted(this, w, dst, a, index, shift); }
  intUnary(kind: IntUnOp, w: number, dst: number, a: number): void { unary.intUnary(this, kind, w, dst, a); }
  floatBinary(kind: FloatBinOp, sz: number, dst: number, a: Operand, b: Operand): void { binary.floatBinary(this, kind, sz, dst, a, b); }
  floatUnary(kind: FloatUnOp, sz: number, dst: number, a: number): void { unary.floatUnary(this, kind, sz, dst, a); }
  intCompare(kind: IntCmp, w: number, _dst: number, a: Operand, b: Operand): number { return compare.intCompare(this, kind, w, a, b); }
  floatCompare(kind: FloatCmp, sz: number, dst: number, a: Operand, b: Operand): number { return compare.floatCompare(this, kind, sz, dst, a, b); }
  testZero(w: number, a: Operand): number { return compare.testZero(this, w, a); }
  convert(kind: Conv, from: number, to: number, dst: number, a: Operand): void { convert.convert(this, kind, from, to, dst, a); }
  select(type: number, dst: number, b: number, cc: number): void { compare.select(this, type, dst, b, cc); }

  memLoad(type: number, bytes: number, signed: boolean, dst: number, addr: Operand, offset: number): void { memory.memLoad(this, type, bytes, signed, dst, addr, offset); }
  memStore(type: number, bytes: number, addr: Operand, offset: number, value: Operand): void { memory.memStore(this, type, bytes, addr, offset, value); }
  memorySize(dst: number, desc: number): void { memory.memorySize(this, dst, desc); }
  memoryGrow(dst: number, delta: number, desc: number): void { memory.memoryGrow(this, dst, delta, desc); }
  memoryCopy(d: number, s: number, n: number, desc: number): void { memory.memoryCopy(this, d, s, n, desc); }
  memoryFill(d: number, val: number, n: number, desc: number): void { memory.memoryFill(this, d, val, n, desc); }
  memoryInit(d: number, s: number, n: number, desc: number, state: number): void { memory.memoryInit(this, d, s, n, desc, state); }
  dataDrop(state: number): void { memory.dataDrop(this, state); }
  tableCall(op: number, a: number, b: number, operands: number, dst: number): void { tableCall(this, op, a, b, operands, dst); }

  jump(target: number): number { return branch.jump(this, target); }
  patchJump(at: number, target: number): void { branch.patchJump(this, at, target); }
  branchIf(cc: number, target: number): number { return branch.branchIf(this, cc, target); }
  branchIfZero(ifZero: boolean, a: Operand, target: number): number { return branch.branchIfZero(this, ifZero, a, target); }
  branchTable(index: Operand, count: number, out: Int32Array): void { branch.branchTable(this, index, count, out); }

  enterCall(fpOffset: number): void { call.enterCall(this, fpOffset); }
  leaveCall(fpOffset: number): void { call.leaveCall(this, fpOffset); }
  callDirect(func: number): void { call.callDirect(this, func); }
  loadIndirectTarget(typeId: number, tableDesc: number, index: Operand): void { call.loadIndirectTarget(this, typeId, tableDesc, index); }
  callIndirect(): void { call.callIndirect(this); }
  callStub(target: number): void { call.callStub(this, target); }

  loadConstV128(dst: number, w0: number, w1: number, w2: number, w3: number): void { simd.loadConstV128(this, dst, w0, w1, w2, w3); }
  vecUnary(kind: VecUnOp, shape: Shape, dst: number, a: Operand, t0: number): void { simd.vecUnary(this, kind, shape, dst, a, t0); }
  vecBinary(kind: VecBinOp, shape: Shape, dst: number, a: Operand, b: Operand, t0: number): void { simd.vecBinary(this, kind, shape, dst, a, b, t0); }
  vecShift(kind: VecShiftOp, shape: Shape, dst: number, a: Operand, count: Operand, t0: number): void { simd.vecShift(this, kind, shape, dst, a, count, t0); }
  vecTest(kind: VecTestOp, shape: Shape, dst: number, a: Operand): void { simd.vecTest(this, kind, shape, dst, a); }
  vecSplat(shape: Shape, dst: number, a: Operand): void { simd.vecSplat(this, shape, dst, a); }
  vecExtractLane(shape: Shape, signed: boolean, lane: number, dst: number, a: Operand): void { simd.vecExtractLane(this, shape, signed, lane, dst, a); }
  vecReplaceLane(shape: Shape, lane: number, dst: number, a: Operand, b: Operand): void { simd.vecReplaceLane(this, shape, lane, dst, a, b); }
  vecShuffle(dst: number, a: Operand, b: Operand, m0: number, m1: number, m2: number, m3: number): void { simd.vecShuffle(this, dst, a, b, m0, m1, m2, m3); }
  vecBitselect(dst: number, a: Operand, b: Operand, c: Operand): void { simd.vecBitselect(this, dst, a, b, c); }
  vecLoad(kind: VecLoad, shape: Shape, dst: number, addr: Operand, offset: number): void { simd.vecLoad(this, kind, shape, dst, addr, offset); }
  vecStore(addr: Operand, offset: number, value: Operand): void { simd.vecStore(this, addr, offset, value); }
  vecLoadLane(log2: number, lane: number, dst: number, addr: Operand, offset: number): void { simd.vecLoadLane(this, log2, lane, dst, addr, offset); }
  vecStoreLane(log2: number, lane: number, addr: Operand, offset: number, value: Operand): void { simd.vecStoreLane(this, log2, lane, addr, offset, value); }
}

export const x64Stubs: StubEmitter = { emitStubs, emitHostcallStub, emitImportTrapStub, patchCall };
