/**
 * A small seeded PRNG (sfc32) with `fork`: a fork draws a fixed number of values from its parent
 * whatever the child then consumes, so skipping a child's work (while minimising) leaves every
 * later draw of the parent unchanged.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, salt = 0) {
    // splitmix32 over the seed's two 32-bit halves and the salt fills the state
    let s = (Math.floor(seed / 0x100000000) ^ Math.imul(salt, 0x9e3779b1)) >>> 0;
    let t = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s ^ t;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      t = (t + 0x6d2b79f5) | 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix() | 1;
    for (let k = 0; k < 12; k++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x100000000) * n);
  }

  /** Uniform in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x100000000 < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  fork(): Rng {
    const r = new Rng(this.u32() * 0x200000 + (this.u32() >>> 11), 1);
    return r;
  }
}

/** Index into `weights` chosen in proportion to the weights (all ≥ 0, some > 0). */
export function weighted(rng: Rng, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let x = (rng.u32() / 0x100000000) * total;
  for (let k = 0; k < weights.length; k++) {
    if (x < weights[k]) return k;
    x -= weights[k];
  }
  let k = weights.length - 1;
  while (k > 0 && weights[k] === 0) k--;
  return k;
}
