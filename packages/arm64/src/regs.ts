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

/** The condition that holds after swapping a comparison's operands. */
export function swapCond(cc: number): number {
  switch (cc) {
    case Cond.LT: return Cond.GT;
    case Cond.GT: return Cond.LT;
    case Cond.LE: return Cond.GE;
    case Cond.GE: return Cond.LE;
    case Cond.LO: return Cond.HI;
    case Cond.HI: return Cond.LO;
    case Cond.LS: return Cond.HS;
    case Cond.HS: return Cond.LS;
    default: return cc; // EQ, NE
  }
}
