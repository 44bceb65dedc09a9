import { SnapshotError } from './errors';

/** Bytes an unsigned LEB128 of `v` (0 ≤ v < 2^32) takes. */
export function uleb32Size(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes unsigned LEB128 `v` at `pos`; returns the position after it. */
export function putUleb32(out: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    out[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

/** Signed LEB128 of a 32-bit integer (`v` is taken modulo 2^32 as an i32). */
export function sleb32Size(v: number): number {
  v |= 0;
  let n = 1;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return n;
    n++;
  }
}

export function putSleb32(out: Uint8Array, pos: number, v: number): number {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out[pos++] = b;
      return pos;
    }
    out[pos++] = b | 0x80;
  }
}

/** A small growable byte writer for the sections that are not memory-sized. */
export class ByteWriter {
  buf = new Uint8Array(64);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u32(v: number): this {
    this.room(5);
    this.pos = putUleb32(this.buf, this.pos, v >>> 0);
    return this;
  }

  s32(v: number): this {
    this.room(5);
    this.pos = putSleb32(this.buf, this.pos, v);
    return this;
  }

  /** Signed LEB128 of a 64-bit pattern. */
  s64(bits: bigint): this {
    let v = BigInt.asIntN(64, bits);
    this.room(10);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.buf[this.pos++] = b;
        return this;
      }
      this.buf[this.pos++] = b | 0x80;
    }
  }

  /** `n` bytes (4, 8 or 16) little endian. */
  fixed(bits: bigint, n: number): this {
    this.room(n);
    let v = BigInt.asUintN(8 * n, bits);
    for (let k = 0; k < n; k++) {
      this.buf[this.pos++] = Number(v & 0xffn);
      v >>= 8n;
    }
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** `vec(byte)`: length then bytes. */
  vecBytes(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }

  name(s: string): this {
    return this.vecBytes(new TextEncoder().encode(s));
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A bounds-checked reader over `[pos, end)`: running past `end` is a SnapshotError naming `what`
 * (the section being read) and the offset.
 */
export class Cursor {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number, readonly what: string) {}

  fail(reason: string, at = this.pos): never {
    throw new SnapshotError(`${this.what}: ${reason} (at offset ${at})`);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) this.fail(`truncated: needs ${n} more byte${n === 1 ? '' : 's'}, ${this.end - this.pos} left`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128 of at most 5 bytes whose value fits in 32 bits. */
  u32(): number {
    const at = this.pos;
    let result = 0;
    let mul = 1;
    for (let k = 0; k < 5; k++) {
      const b = this.u8();
      if (k === 4 && b > 0x0f) this.fail('integer too large (u32)', at);
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return result;
    }
    return this.fail('integer representation too long', at);
  }

  /** 8 bytes little endian. */
  u64le(): bigint {
    this.need(8);
    const b = this.bytes;
    const p = this.pos;
    const lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    const hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
    this.pos += 8;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  bytesN(n: number): Uint8Array {
    this.need(n);
    const r = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** A count of items of at least `minItemSize` bytes each: refused at once when they cannot fit. */
  count(minItemSize: number, of: string): number {
    const at = this.pos;
    const n = this.u32();
    if (n * minItemSize > this.end - this.pos) this.fail(`truncated: ${n} ${of} cannot fit in the ${this.end - this.pos} bytes left`, at);
    return n;
  }

  name(): string {
    const at = this.pos;
    const n = this.u32();
    const b = this.bytesN(n);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail('name is not valid UTF-8', at);
    }
  }
}
