import type { FunctionCompiler } from '@wagc/frontend';
import { OutOfLineState } from '@wagc/frontend';

/** The ARM64 macro layer's per-function state. */
export class A64State extends OutOfLineState {
  /**
   * Forward conditional branches may end up beyond b.cond's ±1 MiB in a large function: then
   * every conditional branch is an inverted b.cond over a b (±128 MiB).
   */
  longBranches = false;
}

export function stateOf(fc: FunctionCompiler): A64State {
  return fc.backendState as A64State;
}
