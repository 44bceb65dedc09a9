import type { SiteRecord } from './output';

/**
 * What a backend leaves for a function's end (frame-size patches, trap calls, check slow paths),
 * reused across functions; each backend extends it with its own fields.
 */
export class OutOfLineState {
  /** Where the frame size is patched in once known (a disp32 on x86-64, two subs on ARM64). */
  framePatches = new Int32Array(64);
  framePatchCount = 0;
  /** Pairs (branch position, trap id) of conditional branches to out-of-line trap calls. */
  trapJumps = new Int32Array(128);
  trapJumpCount = 0;
  /** Loop-check slow paths: jump position, resume position, frame depth, site record. */
  checkJumps: number[] = [];
  checkResume: number[] = [];
  checkDepth: number[] = [];
  checkSites: SiteRecord[] = [];
  entryJump = -1;
  entryResume = -1;
  entrySite: SiteRecord | null = null;

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
