import type { Backend, FunctionCompiler, StubEmitter } from '@wagc/frontend';
import { GPR_MASK, FPR_MASK } from './regs';
import { X64State } from './state';
import * as move from './move';
import * as frame from './frame';
import * as branch from './branch';
import { binary, compare, eqz } from './binary';
import { unary } from './unary';
import { convert } from './convert';
import * as memory from './memory';
import { tableCall } from './table';
import { emitStubs, emitHostcallStub, patchCall } from './stubs';

/** The x86-64 macro layer: what the ISA-neutral code generator drives. */
export class X64Backend implements Backend {
  readonly arch = 'x86-64' as const;
  readonly gprMask = GPR_MASK;
  readonly fprMask = FPR_MASK;
  private readonly state = new X64State();

  /** `cpuFeatures`: CPU_FEATURE bits the code may use beyond baseline x86-64. */
  constructor(cpuFeatures = 0) {
    this.state.cpuFeatures = cpuFeatures;
  }

  get usedCpuFeatures(): number {
    return this.state.usedCpuFeatures;
  }

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

export const x64Stubs: StubEmitter = { emitStubs, emitHostcallStub, patchCall };
