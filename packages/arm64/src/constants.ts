import { CompileError, type CodeBuffer } from '@wagc/frontend';
import { a } from './encode/flat';
import { LiteralOp } from './encode';

/**
 * A function's literal pool (mirrors packages/x86-64/src/constants.ts): float constants `fmov`
 * cannot encode, and 64-bit integers that would take three or more `movz`/`movk`, loaded with one
 * PC-relative `ldr` instead of being built in a register each time. The pool follows the function's
 * code, 8-byte aligned, each constant once; references are relative to their instruction, so the
 * code stays position-independent. `ldr` (literal) reaches ±1 MiB: only functions whose bodies are
 * short enough for b.cond's reach use the pool (A64Backend.longBranches false), the others build
 * their constants as before. `finishFrame` places it.
 */
export class LiteralPool {
  private lo = new Int32Array(32);
  private hi = new Int32Array(32);
  private count = 0;
  private refAt = new Int32Array(64);
  private refEntry = new Int32Array(64);
  private refCount = 0;

  reset(): void {
    this.count = 0;
    this.refCount = 0;
  }

  /** `rt` ← the constant (lo, hi) of `op` (LiteralOp.S/W: lo only) with one `ldr` (literal). */
  load(b: CodeBuffer, op: LiteralOp, rt: number, lo: number, hi: number): void {
    const at = a.ldrLiteral(b, op, rt);
    let k = this.count - 1;
    const stop = Math.max(0, this.count - 64);
    while (k >= stop && (this.lo[k] !== lo || this.hi[k] !== hi)) k--;
    if (k < stop) {
      if (this.count === this.lo.length) {
        this.lo = grown(this.lo);
        this.hi = grown(this.hi);
      }
      k = this.count++;
      this.lo[k] = lo;
      this.hi[k] = hi;
    }
    if (this.refCount === this.refAt.length) {
      this.refAt = grown(this.refAt);
      this.refEntry = grown(this.refEntry);
    }
    this.refAt[this.refCount] = at;
    this.refEntry[this.refCount++] = k;
  }

  /** Places the constants after the code (udf words up to 8-byte alignment) and patches every `ldr`. */
  emit(b: CodeBuffer): void {
    if (this.count === 0) return;
    b.align(8, 0);
    const base = b.pos;
    for (let k = 0; k < this.count; k++) b.emit64(this.lo[k], this.hi[k]);
    for (let r = 0; r < this.refCount; r++) {
      if (!a.patchBranch(b, this.refAt[r], base + 8 * this.refEntry[r])) throw new CompileError('function too large for arm64 literal loads', -1);
    }
    this.reset();
  }
}

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const n = new Int32Array(a.length * 2);
  n.set(a);
  return n;
}
