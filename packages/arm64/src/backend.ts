import type { Backend, FunctionCompiler, StubEmitter } from '@wagc/frontend';
import { GPR_MASK, FPR_MASK } from './regs';
import { A64State } from './state';
import * as move from './move';
import * as frame from './frame';
import * as branch from './branch';
import { binary, compare, eqz } from './binary';
import { unary } from './unary';
import { convert } from './convert';
import * as memory from './memory';
import { tableCall } from './table';
import { emitStubs, emitHostcallStub, patchCall } from './stubs';

/** The ARM64 macro layer (ARMv8.0 base): what the ISA-neutral code generator drives. */
export class A64Backend implements Backend {
  readonly arch = 'arm64' as const;
  readonly gprMask = GPR_MASK;
  readonly fprMask = FPR_MASK;
  readonly usedCpuFeatures = 0;
  /** bl reaches ±128 MiB: the whole text stays within that (a CompileError, not a failed patch). */
  readonly maxCodeSize = 128 * 1024 * 1024;
  private readonly state = new A64State();

  prologue(fc: FunctionCompiler): void {
    fc.backendState = this.state;
    frame.prologue(fc);
  }
  finishFunction = frame.finishFunction;
  emitReturn = frame.emitReturn;
  storeHome = move.storeHome;
  storeCopy = move.storeCopy;
  loadReg = move.loadReg;
  localGet = move.localGet;
  localSet = move.localSet;
  globalGet = move.globalGet;
  globalSet = move.globalSet;
  unary = unary;
  binary = binary;
  compare = compare;
  eqz = eqz;
  convert = convert;
  load = memory.load;
  store = memory.store;
  memorySize = memory.memorySize;
  memoryGrow = memory.memoryGrow;
  memoryCopy = memory.memoryCopy;
  memoryFill = memory.memoryFill;
  memoryInit = memory.memoryInit;
  dataDrop = memory.dataDrop;
  select = branch.select;
  jump = branch.jump;
  branchIf = branch.branchIf;
  patchJump = branch.patchJump;
  loopCheck = frame.loopCheck;
  branchTable = branch.branchTable;
  trap = frame.trap;
  call = frame.call;
  callIndirect = frame.callIndirect;
  tableCall = tableCall;
}

export const a64Stubs: StubEmitter = { emitStubs, emitHostcallStub, patchCall };
