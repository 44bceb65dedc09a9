import { Reg, Cond } from './encode';

/** docs/ARCHITECTURE.md "Register convention". */
export const MEM_BASE = Reg.R15;
export const STACK_LIMIT = Reg.R14;
export const VMCTX_REG = Reg.R13;
export const FP = Reg.RBP;
/** Scratch registers of the macro layer: never handed to operand-stack values. */
export const SCRATCH = Reg.RAX;
export const SCRATCH2 = Reg.RCX;
export const SCRATCH3 = Reg.RDX;
export const XSCRATCH = 15;

export const GPR_MASK =
  (1 << Reg.RBX) | (1 << Reg.RSI) | (1 << Reg.RDI) | (1 << Reg.R8) | (1 << Reg.R9) |
  (1 << Reg.R10) | (1 << Reg.R11) | (1 << Reg.R12);
export const FPR_MASK = 0x7fff; // xmm0–xmm14

/** x86 condition codes come in pairs that differ in the low bit. */
export function invert(cc: number): number {
  return cc ^ 1;
}

/** The condition after `cmp a, b` of each IntCmp (operations.ts): Eq Ne LtS LtU GtS GtU LeS LeU GeS GeU. */
export const INT_CC = [Cond.E, Cond.NE, Cond.L, Cond.B, Cond.G, Cond.A, Cond.LE, Cond.BE, Cond.GE, Cond.AE];
