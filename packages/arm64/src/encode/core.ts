/**
 * Shared vocabulary of the ARM64 encoders. Every instruction is one 32-bit little-endian word
 * written with CodeBuffer.emit32; encoders take plain numbers and allocate nothing.
 *
 * Registers are numbers 0–31. Register 31 is the stack pointer or the zero register depending
 * on the operand: each encoder's comment says which (`sp` or `zr`). Widths follow the x86-64
 * encoders: `w` is 4 (w registers) or 8 (x registers) for integer operations, `sz` is 4 (single,
 * s registers) or 8 (double, d registers) for floating point.
 */

// register 31 is both, by operand
// eslint-disable-next-line @typescript-eslint/no-duplicate-enum-values
export const enum Reg { FP = 29, LR = 30, SP = 31, ZR = 31 }

/** Condition codes, in encoding order; `cond ^ 1` is the inverse (except AL/NV). */
export const enum Cond { EQ = 0, NE = 1, HS = 2, LO = 3, MI = 4, PL = 5, VS = 6, VC = 7, HI = 8, LS = 9, GE = 10, LT = 11, GT = 12, LE = 13, AL = 14, NV = 15 }

/** Shift applied to the second register of shifted-register forms (ROR only for logical ones). */
export const enum Shift { LSL = 0, LSR = 1, ASR = 2, ROR = 3 }

/**
 * Extend applied to the index register of extended-register forms. UXTX is also the plain
 * 64-bit register (`lsl`) of the load/store register-offset form.
 */
export const enum Extend { UXTB = 0, UXTH = 1, UXTW = 2, UXTX = 3, SXTB = 4, SXTH = 5, SXTW = 6, SXTX = 7 }

export function invertCond(cond: Cond): Cond {
  return cond ^ 1;
}

/** The sf bit (bit 31) selecting 64-bit operation. */
export function sf(w: number): number {
  return w === 8 ? 0x80000000 | 0 : 0;
}

/** Signed range check for a field of `bits` bits. */
export function fitsSigned(v: number, bits: number): boolean {
  const lim = 2 ** (bits - 1);
  return v >= -lim && v < lim && Number.isInteger(v);
}

/** Unsigned range check for a field of `bits` bits. */
export function fitsUnsigned(v: number, bits: number): boolean {
  return v >= 0 && v < 2 ** bits && Number.isInteger(v);
}

/** Throws for operands the caller should have checked: a bug in the macro layer, not bad input. */
export function badOperand(what: string, v: number): never {
  throw new Error(`arm64: ${what} out of range (${v})`);
}
