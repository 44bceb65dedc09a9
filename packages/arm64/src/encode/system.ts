import type { CodeBuffer } from '@wagc/frontend';
import { badOperand } from './core';

/**
 * System registers as the 15-bit o0:op1:CRn:CRm:op2 field of MRS/MSR. FPCR holds the rounding
 * mode (wasm needs round-to-nearest) and FPSR the cumulative exception flags.
 */
export const enum SysReg { NZCV = 0x5a10, FPCR = 0x5a20, FPSR = 0x5a21, CTR_EL0 = 0x5801, TPIDR_EL0 = 0x5e82, CNTVCT_EL0 = 0x5f02 }

/** Barrier domain/type (CRm) for DMB and DSB. */
export const enum Barrier { OSHLD = 1, OSHST = 2, OSH = 3, NSHLD = 5, NSHST = 6, NSH = 7, ISHLD = 9, ISHST = 10, ISH = 11, LD = 13, ST = 14, SY = 15 }

// rt is xzr when 31.

export function mrs(b: CodeBuffer, rt: number, reg: SysReg): void {
  b.emit32(0xd5300000 | (reg << 5) | rt);
}

export function msr(b: CodeBuffer, reg: SysReg, rt: number): void {
  b.emit32(0xd5100000 | (reg << 5) | rt);
}

function imm16(v: number): number {
  if (v < 0 || v > 0xffff) badOperand('imm16', v);
  return v;
}

/** Breakpoint (SIGTRAP). */
export function brk(b: CodeBuffer, imm = 0): void {
  b.emit32(0xd4200000 | (imm16(imm) << 5));
}

/** Permanently undefined (SIGILL); the 16-bit immediate can carry a trap id. */
export function udf(b: CodeBuffer, imm = 0): void {
  b.emit32(imm16(imm));
}

export function svc(b: CodeBuffer, imm = 0): void {
  b.emit32(0xd4000001 | (imm16(imm) << 5));
}

export function nop(b: CodeBuffer): void {
  b.emit32(0xd503201f);
}

export function dmb(b: CodeBuffer, option: Barrier = Barrier.ISH): void {
  b.emit32(0xd50330bf | (option << 8));
}

export function dsb(b: CodeBuffer, option: Barrier = Barrier.ISH): void {
  b.emit32(0xd503309f | (option << 8));
}

export function isb(b: CodeBuffer): void {
  b.emit32(0xd5033fdf);
}

/**
 * Cache maintenance by address, for code written at run time: for each line, DC CVAU (clean data
 * to the point of unification), DSB ISH, IC IVAU (invalidate instruction cache), DSB ISH, ISB.
 * Line sizes come from CTR_EL0.
 */
export function dcCvau(b: CodeBuffer, rt: number): void {
  b.emit32(0xd50b7b20 | rt);
}

export function dcCivac(b: CodeBuffer, rt: number): void {
  b.emit32(0xd50b7e20 | rt);
}

export function icIvau(b: CodeBuffer, rt: number): void {
  b.emit32(0xd50b7520 | rt);
}
