import type { FunctionCompiler, SiteRecord } from '@wagc/frontend';

/** Out-of-line work a function leaves for its end, reused across functions. */
export class A64State {
  /** Positions of 2-instruction `sub rd, rn, #frameSize` sequences patched at the end. */
  framePatches = new Int32Array(64);
  framePatchCount = 0;
  /** Pairs (branch position, trap id) of conditional branches to trap calls. */
  trapJumps = new Int32Array(128);
  trapJumpCount = 0;
  checkJumps: number[] = [];
  checkResume: number[] = [];
  checkDepth: number[] = [];
  checkSites: SiteRecord[] = [];
  entryJump = -1;
  entryResume = -1;
  entrySite: SiteRecord | null = null;
  /**
   * Forward conditional branches may end up beyond b.cond's ±1 MiB in a large function: then
   * every conditional branch is an inverted b.cond over a b (±128 MiB).
   */
  longBranches = false;

  reset(): void {
    this.framePatchCount = 0;
    this.trapJumpCount = 0;
    this.checkJumps.length = 0;
    this.checkResume.length = 0;
    this.checkDepth.length = 0;
    this.checkSites.length = 0;
    this.entryJump = -1;
    this.entrySite = null;
  }

  addFramePatch(at: number): void {
    if (this.framePatchCount >= this.framePatches.length) {
      const n = new Int32Array(this.framePatches.length * 2);
      n.set(this.framePatches);
      this.framePatches = n;
    }
    this.framePatches[this.framePatchCount++] = at;
  }

  addTrapJump(at: number, trap: number): void {
    if (this.trapJumpCount * 2 + 2 > this.trapJumps.length) {
      const n = new Int32Array(this.trapJumps.length * 2);
      n.set(this.trapJumps);
      this.trapJumps = n;
    }
    this.trapJumps[this.trapJumpCount * 2] = at;
    this.trapJumps[this.trapJumpCount * 2 + 1] = trap;
    this.trapJumpCount++;
  }
}

export function stateOf(fc: FunctionCompiler): A64State {
  return fc.backendState as A64State;
}
