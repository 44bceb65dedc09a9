/**
 * A function's pool of 16-byte constants (v128 constants, masks of vector instruction sequences):
 * written after its out-of-line code, 16-byte aligned (so x86-64's legacy SSE instructions may
 * use an entry as a memory operand), and read PC-relatively, so a function's code stays
 * position-independent (docs/ARCHITECTURE.md, "Stubs at the start of text"). Backends add
 * entries and record references as they emit (`add`, `ref`); `emitConstPool` places the pool and
 * has the backend patch each reference. Equal constants share an entry. Typed arrays only: no
 * allocation per constant.
 */
export class ConstPool {
  /** Entries, four little-endian words each (bytes 0–3 first). */
  words = new Int32Array(4 * 16);
  count = 0;
  /** References: (position to patch, position the distance is measured from, entry). */
  refs = new Int32Array(3 * 16);
  refCount = 0;
  /** Open-addressing index of the entries by hash: entry + 1, 0 empty. */
  private index = new Int32Array(64);

  reset(): void {
    if (this.count) this.index.fill(0);
    this.count = 0;
    this.refCount = 0;
  }

  /** The entry holding the 16 bytes w0 … w3, added if new. */
  add(w0: number, w1: number, w2: number, w3: number): number {
    const mask = this.index.length - 1;
    let h = (Math.imul(w0, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f)) >>> 0;
    const w = this.words;
    for (;; h++) {
      const slot = h & mask;
      const e = this.index[slot] - 1;
      if (e < 0) break;
      const k = 4 * e;
      if (w[k] === w0 && w[k + 1] === w1 && w[k + 2] === w2 && w[k + 3] === w3) return e;
    }
    const e = this.count++;
    if (4 * this.count > this.words.length) {
      const n = new Int32Array(this.words.length * 2);
      n.set(this.words);
      this.words = n;
    }
    const k = 4 * e;
    this.words[k] = w0;
    this.words[k + 1] = w1;
    this.words[k + 2] = w2;
    this.words[k + 3] = w3;
    this.index[h & mask] = e + 1;
    if (2 * this.count > this.index.length) this.rehash();
    return e;
  }

  /** The same 4-byte word in every lane. */
  add32(w: number): number {
    return this.add(w, w, w, w);
  }

  /** The same 8-byte value (lo, hi) in both halves. */
  add64(lo: number, hi: number): number {
    return this.add(lo, hi, lo, hi);
  }

  /** A reference at `at` to `entry`, its distance measured from `from` (ConstPatcher.patchConstRef). */
  ref(at: number, from: number, entry: number): void {
    if (3 * this.refCount + 3 > this.refs.length) {
      const n = new Int32Array(this.refs.length * 2);
      n.set(this.refs);
      this.refs = n;
    }
    const k = 3 * this.refCount++;
    this.refs[k] = at;
    this.refs[k + 1] = from;
    this.refs[k + 2] = entry;
  }

  private rehash(): void {
    const index = new Int32Array(this.index.length * 2);
    const mask = index.length - 1;
    const w = this.words;
    for (let e = 0; e < this.count; e++) {
      const k = 4 * e;
      let h = (Math.imul(w[k], 0x9e3779b1) ^ Math.imul(w[k + 1], 0x85ebca6b) ^ Math.imul(w[k + 2], 0xc2b2ae35) ^ Math.imul(w[k + 3], 0x27d4eb2f)) >>> 0;
      while (index[h & mask] !== 0) h++;
      index[h & mask] = e + 1;
    }
    this.index = index;
  }
}
