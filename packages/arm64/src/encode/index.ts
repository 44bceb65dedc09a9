/**
 * ARM64 instruction encoders. They know nothing of wasm: each writes one 32-bit little-endian word
 * (popcount and movConst a short fixed sequence) into a CodeBuffer, takes plain numbers, and
 * allocates nothing. Hot code calls them through the frozen object in flat.ts.
 *
 * Conventions, shared by every file here:
 * - Registers are 0–31. 31 is sp or the zero register depending on the operand; each encoder's
 *   comment says which. Register numbers are not range-checked (the allocator hands out 0–30).
 * - `w` is 4 or 8 (w or x registers); a 32-bit result zeroes the upper half of the x register,
 *   so an i32 kept in an x register is always zero-extended. `sz` is 4 or 8 (s or d registers).
 * - Immediates that may not be encodable come with a predicate or an encoder that returns -1:
 *   fitsAddSubImm, encodeBitmask (logical), fitsLdst/fitsLdstImm/fitsLdstUnscaled, fitsPair,
 *   encodeFpImm (fmov), fitsB26/fitsB19/fitsB14/fitsAdr (PC-relative), movConstCount (what a
 *   constant costs). The macro layer asks, then falls back to a scratch register; an encoder given
 *   an operand out of range throws (a bug in the caller, not bad input).
 * - PC-relative forms take the byte offset from the instruction and return the instruction's
 *   offset; forward targets are emitted as 0 and fixed with patchBranch, which reports `false`
 *   when the distance does not fit (B.cond/CBZ ±1 MiB, TBZ ±32 KiB: then branch over a B).
 * - Nothing here traps: SDIV/UDIV give 0 for a zero divisor and INT_MIN for INT_MIN / −1, FCVTZS
 *   and FCVTZU saturate (NaN → 0); the wasm traps are the macro layer's checks.
 *
 * tests/encode*.test.ts check every form against capstone; tests/execute.test.ts runs them under
 * qemu-aarch64 against a reference model.
 */
export * from './core';
export * from './alu';
export * from './move';
export * from './mul';
export * from './shift';
export * from './bit';
export * from './cond';
export * from './branch';
export * from './memory';
export * from './float';
export * from './system';
