import { CompileError } from '../errors';
import { LIMITS, overLimit } from '../limits';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The spec's reason for reading past the end of the input (its interpreter has only this one). */
export const EOS = 'unexpected end of section or function';

/**
 * A cursor over module bytes with the binary format's primitive readers. Numeric reads allocate
 * nothing: 64-bit values come back as two int32 halves in `lo`/`hi`.
 */
export class Reader {
  bytes: Uint8Array;
  pos: number;
  end: number;
  lo = 0;
  hi = 0;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  fail(reason: string, at = this.pos): never {
    throw new CompileError(reason, at);
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) this.fail(EOS);
    return this.bytes[this.pos++];
  }

  /** Unsigned LEB128, at most 5 bytes, value < 2^32. */
  u32(): number {
    // one byte, the usual case
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p];
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    return this.u32Long();
  }

  private u32Long(): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    for (let k = 0; ; k++) {
      const b = this.u8();
      if (k === 4) {
        // unused bits are checked before the continuation bit, as the spec's decoder does
        if (b & 0x70) this.fail('integer too large', start);
        if (b & 0x80) this.fail('integer representation too long', start);
        return (result | (b << 28)) >>> 0;
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return result >>> 0;
    }
  }

  /** Signed LEB128 of at most 32 bits. */
  s32(): number {
    // one byte, the usual case: bit 6 is the sign
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p];
      if (b < 0x80) {
        this.pos = p + 1;
        return (b << 25) >> 25;
      }
    }
    return this.s32Long();
  }

  private s32Long(): number {
    const start = this.pos;
    let result = 0;
    let shift = 0;
    for (let k = 0; ; k++) {
      const b = this.u8();
      if (k === 4) {
        // the unused bits must repeat the sign bit (bit 3 of this byte)
        const top = b & 0x78;
        if (top !== 0 && top !== 0x78) this.fail('integer too large', start);
        if (b & 0x80) this.fail('integer representation too long', start);
        return result | (b << 28);
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return shift < 32 && b & 0x40 ? result | (-1 << shift) : result;
    }
  }

  /** Signed LEB128 of at most 33 bits (block types), as a JS number. */
  s33(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let k = 0; ; k++) {
      const b = this.u8();
      if (k === 4) {
        // bits 0-3 are value bits 28-31, bit 4 is the sign (bit 32); bits 5-6 must repeat it
        const top = b & 0x70;
        if (top !== 0 && top !== 0x70) this.fail('integer too large', start);
        if (b & 0x80) this.fail('integer representation too long', start);
        result += (b & 0x1f) * mul;
        return b & 0x10 ? result - 2 ** 33 : result;
      }
      result += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return b & 0x40 ? result - mul : result;
    }
  }

  /** Signed LEB128 of at most 64 bits into lo/hi. */
  s64(): void {
    const start = this.pos;
    let lo = 0, hi = 0, shift = 0;
    for (let k = 0; ; k++) {
      const b = this.u8();
      const bits = b & 0x7f;
      if (k === 9) {
        // only bit 0 is used (bit 63); the rest must repeat it
        if (bits !== 0 && bits !== 0x7f) this.fail('integer too large', start);
        if (b & 0x80) this.fail('integer representation too long', start);
        hi |= bits << 31;
        this.lo = lo;
        this.hi = hi;
        return;
      }
      if (shift < 32) {
        lo |= bits << shift;
        if (shift + 7 > 32) hi |= bits >>> (32 - shift);
      } else hi |= bits << (shift - 32);
      shift += 7;
      if ((b & 0x80) === 0) {
        if (b & 0x40) {
          // sign-extend from `shift`
          if (shift < 32) {
            lo |= -1 << shift;
            hi = -1;
          } else if (shift < 64) hi |= -1 << (shift - 32);
        }
        this.lo = lo | 0;
        this.hi = hi | 0;
        return;
      }
    }
  }

  f32bits(): number {
    if (this.pos + 4 > this.end) this.fail(EOS);
    const b = this.bytes, p = this.pos;
    this.pos += 4;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }

  f64bits(): void {
    if (this.pos + 8 > this.end) this.fail(EOS);
    this.lo = this.f32bits();
    this.hi = this.f32bits();
  }

  bytesN(n: number): Uint8Array {
    const at = this.pos;
    this.skip(n);
    return this.bytes.subarray(at, at + n);
  }

  /** Steps over `n` bytes (a data segment's contents: no view made). */
  skip(n: number): void {
    if (n > this.end - this.pos) this.fail(EOS, this.end);
    this.pos += n;
  }

  /**
   * A vector or byte-string length. Like the spec's decoder it is checked against the bytes left
   * counted from the length's own first byte, so "length out of bounds" comes before "unexpected
   * end" only for lengths that cannot possibly fit.
   */
  len32(): number {
    const at = this.pos;
    const n = this.u32();
    if (n > this.end - at) this.fail('length out of bounds', at);
    return n;
  }

  name(): string {
    const lenAt = this.pos;
    const n = this.len32();
    if (n > LIMITS.nameLength) throw overLimit('name too long (bytes)', n, LIMITS.nameLength, lenAt);
    const at = this.pos;
    const v = this.bytesN(n);
    try {
      return utf8.decode(v);
    } catch {
      this.fail('malformed UTF-8 encoding', at);
    }
  }
}
