import { CompileError } from '../errors';
import { LIMITS } from '../limits';

/**
 * The machine code would pass LIMITS.codeSize: the function compiler adds the function and the
 * opcode where it happened.
 */
export class CodeSizeError extends CompileError {
  constructor(limit: number) {
    super(`compiled code too large: more than the compiler limit of ${limit} bytes`, -1);
  }
}

/**
 * Growable machine-code buffer shared by every backend. Backends append bytes through it and patch
 * forward references (branches, calls) in place; nothing else ever rewrites emitted code.
 */
export class CodeBuffer {
  /** The most bytes a new buffer may hold (LIMITS.codeSize; a test may lower it). */
  static maxSize: number = LIMITS.codeSize;
  /** The most bytes this buffer may hold: lower when the arch's calls reach less far. */
  limit = CodeBuffer.maxSize;
  bytes: Uint8Array;
  pos = 0;

  constructor(initialCapacity = 1 << 16) {
    this.bytes = new Uint8Array(initialCapacity);
  }

  /** Makes room for at least `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    if (this.pos + n > this.limit) throw new CodeSizeError(this.limit);
    // doubling while small; a large room asked for at once is given as asked (the linker's
    // estimate of the whole text), and past 16 MiB it grows by half: V8 counts every byte of an
    // ArrayBuffer as external memory, and 64 MiB more of it since the last full collection
    // starts another one
    const len = this.bytes.length;
    const cap = Math.min(Math.max(this.pos + n, len < 16 << 20 ? 2 * len : len + (len >> 1)), this.limit);
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
  }

  emit8(b: number): void {
    if (this.pos >= this.bytes.length) this.reserve(1);
    this.bytes[this.pos++] = b;
  }

  emit16(v: number): void {
    if (this.pos + 2 > this.bytes.length) this.reserve(2);
    this.bytes[this.pos++] = v & 0xff;
    this.bytes[this.pos++] = (v >>> 8) & 0xff;
  }

  emit32(v: number): void {
    if (this.pos + 4 > this.bytes.length) this.reserve(4);
    const b = this.bytes;
    let p = this.pos;
    b[p++] = v & 0xff;
    b[p++] = (v >>> 8) & 0xff;
    b[p++] = (v >>> 16) & 0xff;
    b[p++] = (v >>> 24) & 0xff;
    this.pos = p;
  }

  /** Bytes as they are (passive data segments after the code). */
  emitBytes(src: Uint8Array): void {
    this.reserve(src.length);
    this.bytes.set(src, this.pos);
    this.pos += src.length;
  }

  /** 64-bit value given as two 32-bit halves (keeps the hot path free of BigInt). */
  emit64(lo: number, hi: number): void {
    this.emit32(lo);
    this.emit32(hi);
  }

  patch32(at: number, v: number): void {
    const b = this.bytes;
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
    b[at + 2] = (v >>> 16) & 0xff;
    b[at + 3] = (v >>> 24) & 0xff;
  }

  read32(at: number): number {
    const b = this.bytes;
    return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) | 0;
  }

  /** Pads with `fill` up to a multiple of `alignment`. */
  align(alignment: number, fill: number): void {
    while (this.pos % alignment !== 0) this.emit8(fill);
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.pos);
  }
}
