import { CodeBuffer } from './codebuf';
import type { StubOffsets } from './backend';

/** A site as recorded while compiling (docs/ARCHITECTURE.md "Sites"). */
export interface SiteRecord {
  codeOffset: number;
  func: number; // linked function index
  site: number;
  fpOffset: number;
  slotTypes: Uint8Array;
  wasmOffset: number;
  /** An entry or loop check (resumable after a suspension), not a call. */
  check?: boolean;
}

export interface FunctionRecord {
  codeStart: number;
  codeEnd: number;
  frameSize: number;
  paramCount: number;
  wasmOffset: number;
}

/** Everything the functions of all linked modules write, in one place, for the linker. */
export class CompileOutput {
  buf = new CodeBuffer(1 << 20);
  sites: SiteRecord[] = [];
  /** Slot types of all sites together (LIMITS.siteSlots). */
  siteSlots = 0;
  private slotBlock = new Uint8Array(0);
  private slotBlockUsed = 0;

  /**
   * Room for one site's `n` slot types: views of shared 64 KiB blocks, since a buffer per site
   * (a million calls: a million buffers) kept the collector busy for most of the compile.
   */
  slotTypes(n: number): Uint8Array {
    if (this.slotBlockUsed + n > this.slotBlock.length) {
      this.slotBlock = new Uint8Array(Math.max(n, 65536));
      this.slotBlockUsed = 0;
    }
    const at = this.slotBlockUsed;
    this.slotBlockUsed += n;
    return this.slotBlock.subarray(at, at + n);
  }
  /** Pairs (rel32 position, linked function index) of direct calls. */
  callFixups: number[] = [];
  /** rel32 positions that must point at the function table. */
  tableFixups: number[] = [];
  /**
   * Pairs (position, stub offset) of every call into the shared stubs (traps, check, grow), which
   * backends patch as they emit them: the linker re-patches them when it moves code compiled in a
   * worker thread into place (linker/src/parallel.ts).
   */
  stubRefs: number[] = [];
  stubs!: StubOffsets;
}
