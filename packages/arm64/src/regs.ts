import { Cond } from './encode';

/**
 * docs/ARCHITECTURE.md "Register convention (ARM64)". The wasm stack has its own pointer (x28),
 * so sp stays the loader's C stack (16-byte aligned) and frames mirror x86-64's byte for byte.
 */
export const WSP = 28; // wasm stack pointer: x86-64's rsp
export const FP = 29; // frame pointer: address of the return address slot
export const LR = 30;
export const MEM_BASE = 27;
export const STACK_LIMIT = 26;
export const VMCTX_REG = 25;
/** Scratch registers of the macro layer: never handed to operand-stack values. */
export const SCRATCH = 16;
export const SCRATCH2 = 17;
export const SCRATCH3 = 14;
/** Only for forming addresses inside one macro (frameLdst, memory access): never holds a value. */
export const ADDR = 15;
export const XSCRATCH = 31;
export const XSCRATCH2 = 30;
export const ZR = 31;
export const SP = 31;

/** x0–x13 and x19–x24 (x18 is the platform register; x25–x30 are reserved above). */
export const GPR_MASK = 0x3fff | (0x3f << 19);
/** v0–v29. */
export const FPR_MASK = 0x3fffffff;

export function invert(cc: number): number {
  return cc ^ 1;
}

/** The condition after `cmp a, b` of each IntCmp (operations.ts): Eq Ne LtS LtU GtS GtU LeS LeU GeS GeU. */
export const INT_CC: number[] = [Cond.EQ, Cond.NE, Cond.LT, Cond.LO, Cond.GT, Cond.HI, Cond.LE, Cond.LS, Cond.GE, Cond.HS];

/**
 * The condition after `fcmp a, b` of each FloatCmp: Eq Ne Lt Gt Le Ge. Each is false on unordered
 * (NZCV = 0011) except ne, so each inverse (cc ^ 1) is right for NaN operands too.
 */
export const FLOAT_CC: number[] = [Cond.EQ, Cond.NE, Cond.MI, Cond.GT, Cond.LS, Cond.GE];
