import type { CodeBuffer } from '@wagc/frontend';

/**
 * A function's constant pool: float constants and 64-bit integers no immediate holds, read by the
 * instructions that use them as a rip-relative memory operand (`addsd xmm0, [rip + c]`) instead of
 * being built in a register each time (`movabs rax, c; movq xmm15, rax`). The pool follows the
 * function's code (its slow paths included), 8-byte aligned, each constant once; every reference is
 * relative to its own instruction, so the function's code stays position-independent (code compiled
 * in worker threads moves as a whole). `finishFrame` places it.
 */
export class ConstPool {
  private lo = new Int32Array(32);
  private hi = new Int32Array(32);
  private count = 0;
  /** disp32 positions and the constant each reads. */
  private refAt = new Int32Array(64);
  private refEntry = new Int32Array(64);
  private refCount = 0;

  reset(): void {
    this.count = 0;
    this.refCount = 0;
  }

  /** The instruction whose disp32 is at `at` reads the 8 bytes (lo, hi) (an f32 or i32: hi 0). */
  use(at: number, lo: number, hi: number): void {
    let k = this.count - 1;
    // the same constant nearby (a function uses few, and often the same ones)
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

  /** Places the constants at the end of the code (int3 up to 8-byte alignment) and patches every reference. */
  emit(b: CodeBuffer): void {
    if (this.count === 0) return;
    b.align(8, 0xcc);
    const base = b.pos;
    for (let k = 0; k < this.count; k++) b.emit64(this.lo[k], this.hi[k]);
    for (let r = 0; r < this.refCount; r++) {
      const at = this.refAt[r];
      b.patch32(at, base + 8 * this.refEntry[r] - (at + 4));
    }
    this.reset();
  }
}

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const n = new Int32Array(a.length * 2);
  n.set(a);
  return n;
}
