import type { FunctionCompiler } from '@wagc/frontend';
import { OutOfLineState } from '@wagc/frontend';

/** The x86-64 macro layer's per-function state. */
export class X64State extends OutOfLineState {
  /** CPU_FEATURE bits the backend may use (a compile option), and those it did use. */
  cpuFeatures = 0;
  usedCpuFeatures = 0;
}

export function stateOf(fc: FunctionCompiler): X64State {
  return fc.backendState as X64State;
}
