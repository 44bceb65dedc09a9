/** A minimal WebAssembly binary writer: LEB128, IEEE bits, vectors and sections. */
export class Bytes {
  readonly out: number[] = [];

  get length(): number {
    return this.out.length;
  }

  u8(...bs: number[]): this {
    for (const b of bs) this.out.push(b & 0xff);
    return this;
  }

  uleb(n: number): this {
    let v = n >>> 0;
    do {
      const b = v & 0x7f;
      v >>>= 7;
      this.out.push(v ? b | 0x80 : b);
    } while (v);
    return this;
  }

  /** Signed LEB128 of a 32-bit (n | 0) or 64-bit (bigint) value. */
  sleb(n: number | bigint): this {
    let v = typeof n === 'bigint' ? BigInt.asIntN(64, n) : BigInt(n | 0);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && !(b & 0x40)) || (v === -1n && b & 0x40)) {
        this.out.push(b);
        return this;
      }
      this.out.push(b | 0x80);
    }
  }

  f32bits(bits: number): this {
    for (let k = 0; k < 4; k++) this.out.push((bits >>> (8 * k)) & 0xff);
    return this;
  }

  f64bits(bits: bigint): this {
    for (let k = 0n; k < 8n; k++) this.out.push(Number((bits >> (8n * k)) & 0xffn));
    return this;
  }

  name(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.uleb(b.length);
    for (const x of b) this.out.push(x);
    return this;
  }

  append(b: Bytes | readonly number[]): this {
    const xs = b instanceof Bytes ? b.out : b;
    for (const x of xs) this.out.push(x);
    return this;
  }

  /** A section: id, byte size, contents. */
  section(id: number, body: Bytes): this {
    this.u8(id).uleb(body.length);
    return this.append(body);
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}
