import { CodeBuffer } from './codebuf';
import type { StubOffsets } from './backend';

/**
 * The words of a site row in a SiteTable: the image's site entry (docs/image-format.md, SiteMap:
 * code offset, linked function, site index, fp offset, wasm offset, slot count, offset of its slot
 * types, here in SiteTable.types) and whether it is a check (an entry or loop check, resumable
 * after a suspension) rather than a call.
 */
export const enum SiteWord { CodeOffset = 0, Func = 1, Site = 2, FpOffset = 3, WasmOffset = 4, SlotCount = 5, TypesOff = 6, Check = 7 }
const WORDS = 8;
export const SITE_WORDS = WORDS;

/**
 * Sites as flat rows (docs/ARCHITECTURE.md "Sites"), with the slot types of all of them in one
 * byte array: no object per site (ruby.wasm has 159,000 sites).
 */
export class SiteTable {
  words: Int32Array = new Int32Array(WORDS * 1024);
  count = 0;
  types: Uint8Array = new Uint8Array(1 << 16);
  /** Bytes of `types` used: the slot types of all sites together (LIMITS.siteSlots). */
  typesUsed = 0;

  /** Appends a row; returns its index. */
  add(codeOffset: number, func: number, site: number, fpOffset: number, wasmOffset: number, slotCount: number, typesOff: number, check: number): number {
    if (WORDS * (this.count + 1) > this.words.length) {
      const n = new Int32Array(this.words.length * 2);
      n.set(this.words);
      this.words = n;
    }
    const w = this.words, k = WORDS * this.count;
    w[k] = codeOffset;
    w[k + 1] = func;
    w[k + 2] = site;
    w[k + 3] = fpOffset;
    w[k + 4] = wasmOffset;
    w[k + 5] = slotCount;
    w[k + 6] = typesOff;
    w[k + 7] = check;
    return this.count++;
  }

  /** Room for `rows` rows in all at once (an estimate: past it the table grows as before). */
  reserveRows(rows: number): void {
    if (WORDS * rows <= this.words.length) return;
    const n = new Int32Array(WORDS * rows);
    n.set(this.words.subarray(0, WORDS * this.count));
    this.words = n;
  }

  /** Room for `n` slot types: their offset in `types`. */
  addTypes(n: number): number {
    const at = this.typesUsed;
    if (at + n > this.types.length) {
      let cap = this.types.length * 2;
      while (cap < at + n) cap *= 2;
      const t = new Uint8Array(cap);
      t.set(this.types.subarray(0, at));
      this.types = t;
    }
    this.typesUsed = at + n;
    return at;
  }

  /** Word `field` (SiteWord) of row `k`. */
  get(k: number, field: SiteWord): number {
    return this.words[WORDS * k + field];
  }

  /** The slot types of row `k` (a view). */
  slotTypes(k: number): Uint8Array {
    const at = this.words[WORDS * k + SiteWord.TypesOff];
    return this.types.subarray(at, at + this.words[WORDS * k + SiteWord.SlotCount]);
  }

  clear(): void {
    this.count = 0;
    this.typesUsed = 0;
  }
}

/** A growable list of int32s (fixup positions): no boxed array growing by copies in the old space. */
export class IntList {
  items: Int32Array = new Int32Array(1024);
  length = 0;

  push(v: number): void {
    if (this.length === this.items.length) this.grow();
    this.items[this.length++] = v;
  }

  push2(a: number, b: number): void {
    if (this.length + 2 > this.items.length) this.grow();
    this.items[this.length++] = a;
    this.items[this.length++] = b;
  }

  /** The items (a view). */
  view(): Int32Array {
    return this.items.subarray(0, this.length);
  }

  private grow(): void {
    const n = new Int32Array(this.items.length * 2);
    n.set(this.items);
    this.items = n;
  }
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
  buf: CodeBuffer;
  /** Every site, in code order (sorted by code offset): a function's calls, then its checks. */
  sites = new SiteTable();
  /** Pairs (rel32 position, linked function index) of direct calls. */
  callFixups = new IntList();
  /** rel32 positions that must point at the function table. */
  tableFixups = new IntList();
  /**
   * Pairs (position, stub offset) of every call into the shared stubs (traps, check, grow), which
   * backends patch as they emit them: the linker re-patches them when it moves code compiled in a
   * worker thread into place (linker/src/parallel.ts).
   */
  stubRefs = new IntList();
  stubs!: StubOffsets;

  /** `codeCapacity`: the code buffer's first size (pages not written are never touched). */
  constructor(codeCapacity = 1 << 20) {
    this.buf = new CodeBuffer(codeCapacity);
  }
}
