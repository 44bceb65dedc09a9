/**
 * Shared by the encoder tests: register and immediate spelling as capstone 5 prints it, the
 * aliases it prefers (chosen by the ARM ARM's alias conditions, plus its quirks, listed in
 * encode.test.ts), deterministic random numbers, the enumeration of logical immediates, and
 * `run`, which checks a batch of cases against one disassembly.
 */
import { CodeBuffer } from '@wagc/frontend';
import * as a from '../src/encode';
import { decodeSync, initDisassembler } from '../src/disasm';

// ---------------------------------------------------------------------------------------------
// names and formatting

export const REGS = Array.from({ length: 32 }, (_, k) => k);
export const WIDTHS = [4, 8];
export const COND = ['eq', 'ne', 'hs', 'lo', 'mi', 'pl', 'vs', 'vc', 'hi', 'ls', 'ge', 'lt', 'gt', 'le', 'al', 'nv'];
export const CONDS = Array.from({ length: 16 }, (_, k) => k);

/** General-purpose register, 31 = zero register. */
export const zr = (w: number, r: number): string => (r === 31 ? (w === 8 ? 'xzr' : 'wzr') : `${w === 8 ? 'x' : 'w'}${r}`);
/** General-purpose register, 31 = stack pointer. */
export const sp = (w: number, r: number): string => (r === 31 ? (w === 8 ? 'sp' : 'wsp') : `${w === 8 ? 'x' : 'w'}${r}`);
export const X = (r: number): string => zr(8, r);
export const XSP = (r: number): string => sp(8, r);
/** Float register of size sz. */
export const F = (sz: number, r: number): string => `${sz === 8 ? 'd' : 's'}${r}`;

/**
 * capstone's immediates: decimal up to 9, hex above, sign in front. Its quirk: a magnitude of
 * exactly 2^31 is printed sign-extended to 64 bits (an int32 negation overflowing).
 */
export function num(v: number | bigint): string {
  const n = BigInt(v);
  if (n === -0x80000000n) return '-0xffffffff80000000';
  if (n < 0n) return `-${num(-n)}`;
  return n <= 9n ? `${n}` : `0x${n.toString(16)}`;
}
export const imm = (v: number | bigint): string => `#${num(v)}`;

// deterministic random numbers (xorshift32)
// ENCODE_SEED=n runs the random cases with another seed
let seed = Number(process.env.ENCODE_SEED ?? 0x2545f491) | 0 || 1;
export function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}
export const randInt = (n: number): number => rand() % n;

// ---------------------------------------------------------------------------------------------
// checking

export interface Case {
  emit: (b: CodeBuffer) => void;
  /** Expected text; several instructions joined by ' ; '. A function gets the first word's address. */
  text: string | ((addr: number) => string);
}

/** Far enough from 0 that the most negative B offset still gives a positive address. */
export const BASE = 0x10000000;

export const counts: Record<string, number> = {};

/**
 * Emits every case into one buffer (each must write exactly as many words as its text has
 * instructions), disassembles it once, and compares case by case; all failures reported together.
 */
export function run(name: string, cases: Case[]): void {
  counts[name] = (counts[name] ?? 0) + cases.length;
  const b = new CodeBuffer(cases.length * 4 + 16);
  const spans: [number, number, string][] = [];
  const failures: string[] = [];
  for (const c of cases) {
    const start = b.pos;
    c.emit(b);
    const text = typeof c.text === 'string' ? c.text : c.text(BASE + start);
    spans.push([start, b.pos, text]);
  }
  const insns = decodeSync(b.finish(), BASE);
  const byAddr = new Map(insns.map((i) => [i.address - BASE, i]));
  for (const [start, end, text] of spans) {
    const want = text.split(' ; ');
    const got: string[] = [];
    for (let p = start; p < end; p += 4) {
      const i = byAddr.get(p);
      got.push(i ? `${i.mnemonic} ${i.opStr}`.trim() : '?');
    }
    const words: string[] = [];
    for (let p = start; p < end; p += 4) words.push((b.read32(p) >>> 0).toString(16).padStart(8, '0'));
    if (end - start !== want.length * 4 || got.join(' ; ') !== want.join(' ; ')) {
      failures.push(`${text}: [${words.join(' ')}] decodes as "${got.join(' ; ')}"`);
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (process.env.ENCODE_FAILURES && failures.length) require('fs').appendFileSync(process.env.ENCODE_FAILURES, `${failures.join('\n')}\n`);
  expect({ failed: failures.length, first: failures.slice(0, 20) }).toEqual({ failed: 0, first: [] });
  expect(cases.length).toBeGreaterThan(0);
}

/** Loads capstone before the file's tests; ENCODE_COUNTS=1 prints the cases checked per encoder. */
export function useCapstone(): void {
  beforeAll(() => initDisassembler());
  afterAll(() => {
    const total = Object.values(counts).reduce((x, y) => x + y, 0);
    // eslint-disable-next-line no-console
    if (process.env.ENCODE_COUNTS) console.log(`encoder cases: ${total}\n${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join('\n')}`);
  });
}

/** Every (d, n, m) pair of positions sees every pair of registers: m = d + 3n + 7 mod 32. */
export function triples(): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (const d of REGS) for (const n of REGS) out.push([d, n, (d + 3 * n + 7) & 31]);
  return out;
}

/** All (d, n) pairs. */
export function pairs(): [number, number][] {
  const out: [number, number][] = [];
  for (const d of REGS) for (const n of REGS) out.push([d, n]);
  return out;
}
// ---------------------------------------------------------------------------------------------
// logical immediates, enumerated from the ARM ARM's DecodeBitMasks (BigInt, independent of alu.ts)

export function mask(bits: number): bigint {
  return (1n << BigInt(bits)) - 1n;
}

/** Every logical immediate of a w-byte register → its canonical N:immr:imms (immr < element size). */
export function allBitmasks(w: number): Map<bigint, number> {
  const out = new Map<bigint, number>();
  const regBits = w * 8;
  for (const n of w === 8 ? [0, 1] : [0]) {
    for (let immr = 0; immr < 64; immr++) {
      for (let imms = 0; imms < 64; imms++) {
        const combined = (n << 6) | (~imms & 0x3f);
        if (combined === 0) continue;
        const len = 31 - Math.clz32(combined);
        if (len < 1) continue;
        const esize = 1 << len;
        if (esize > regBits || immr >= esize) continue;
        const s = imms & (esize - 1);
        if (s === esize - 1) continue;
        const elem = mask(s + 1);
        const rotated = ((elem >> BigInt(immr)) | (elem << BigInt(esize - immr))) & mask(esize);
        let v = 0n;
        for (let k = 0; k < regBits; k += esize) v |= rotated << BigInt(k);
        out.set(v, (n << 12) | (immr << 6) | imms);
      }
    }
  }
  return out;
}

export const BITMASKS: Record<number, Map<bigint, number>> = { 4: allBitmasks(4), 8: allBitmasks(8) };
export const halves = (v: bigint): [number, number] => [Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n))];

/** At most one halfword differs from `fill` (0: MOVZ can build it; 0xffff: MOVN can). */
export function oneHalfword(v: bigint, w: number, fill: bigint): boolean {
  let others = 0;
  for (let k = 0; k < w * 8; k += 16) if (((v >> BigInt(k)) & 0xffffn) !== fill) others++;
  return others <= 1;
}
export const moveWidePreferred = (v: bigint, w: number): boolean => oneHalfword(v, w, 0n) || oneHalfword(v, w, 0xffffn);
// ---------------------------------------------------------------------------------------------
// arithmetic and logic

export const SHIFT = ['lsl', 'lsr', 'asr', 'ror'];
export const EXTEND = ['uxtb', 'uxth', 'uxtw', 'uxtx', 'sxtb', 'sxth', 'sxtw', 'sxtx'];
/** Shift amounts are printed in decimal, unlike other immediates. */
export const shiftText = (shift: number, amt: number): string => (shift === 0 && amt === 0 ? '' : `, ${SHIFT[shift]} #${amt}`);
// ---------------------------------------------------------------------------------------------
// moves

/** capstone's text for MOVZ/MOVN/MOVK, with the mov alias where the ARM ARM prefers it. */
export function movWideText(op: a.MovWide, w: number, d: number, imm16: number, shift: number): string {
  const plain = (mn: string): string => `${mn} ${zr(w, d)}, ${imm(imm16)}${shift ? `, lsl #${shift}` : ''}`;
  const bits = w * 8;
  const v = BigInt(imm16) << BigInt(shift);
  if (op === a.MovWide.MOVK) return plain('movk');
  // the mov alias prints the value signed, at the register's width
  if (op === a.MovWide.MOVZ) return imm16 === 0 && shift !== 0 ? plain('movz') : `mov ${zr(w, d)}, ${imm(BigInt.asIntN(bits, v))}`;
  if ((imm16 === 0 && shift !== 0) || (w === 4 && imm16 === 0xffff)) return plain('movn');
  return `mov ${zr(w, d)}, ${imm(BigInt.asIntN(bits, ~v))}`;
}

export const IMM16 = [0, 1, 9, 10, 0x1234, 0x8000, 0xfffe, 0xffff];
// ---------------------------------------------------------------------------------------------
// shifts and bitfields

/** capstone's text for SBFM/BFM/UBFM, with the aliases the ARM ARM prefers. */
export function bitfieldText(op: a.Bitfield, w: number, d: number, n: number, immr: number, imms: number): string {
  const bits = w * 8;
  const R = (r: number): string => zr(w, r);
  if (op === a.Bitfield.UBFM) {
    if (imms === bits - 1) return `lsr ${R(d)}, ${R(n)}, ${imm(immr)}`;
    if (w === 4 && immr === 0 && (imms === 7 || imms === 15)) return `uxt${imms === 7 ? 'b' : 'h'} ${R(d)}, ${zr(4, n)}`;
    if (imms + 1 === immr) return `lsl ${R(d)}, ${R(n)}, ${imm(bits - 1 - imms)}`;
    if (imms < immr) return `ubfiz ${R(d)}, ${R(n)}, ${imm(bits - immr)}, ${imm(imms + 1)}`;
    return `ubfx ${R(d)}, ${R(n)}, ${imm(immr)}, ${imm(imms - immr + 1)}`;
  }
  if (op === a.Bitfield.SBFM) {
    if (imms === bits - 1) return `asr ${R(d)}, ${R(n)}, ${imm(immr)}`;
    if (immr === 0 && (imms === 7 || imms === 15 || imms === 31)) return `sxt${imms === 7 ? 'b' : imms === 15 ? 'h' : 'w'} ${R(d)}, ${zr(4, n)}`;
    if (imms < immr) return `sbfiz ${R(d)}, ${R(n)}, ${imm(bits - immr)}, ${imm(imms + 1)}`;
    return `sbfx ${R(d)}, ${R(n)}, ${imm(immr)}, ${imm(imms - immr + 1)}`;
  }
  // capstone also says bfc for BFM from zr with immr 0 (where bfi and bfxil coincide)
  if (n === 31 && (imms < immr || immr === 0)) return `bfc ${R(d)}, ${imm((bits - immr) & (bits - 1))}, ${imm(imms + 1)}`;
  if (imms < immr) return `bfi ${R(d)}, ${R(n)}, ${imm(bits - immr)}, ${imm(imms + 1)}`;
  return `bfxil ${R(d)}, ${R(n)}, ${imm(immr)}, ${imm(imms - immr + 1)}`;
}

// ---------------------------------------------------------------------------------------------
// conditional select and compare

/** capstone's text for the conditional selects, aliases (cset, cinc, cinv, cneg, …) included. */
export function condSelectText(op: a.CondSel, w: number, d: number, n: number, m: number, cond: number): string {
  const R = (r: number): string => zr(w, r);
  const inv = COND[cond ^ 1];
  const alias = n === m && cond < 14;
  switch (op) {
    case a.CondSel.CSEL: return `csel ${R(d)}, ${R(n)}, ${R(m)}, ${COND[cond]}`;
    case a.CondSel.CSINC: if (alias) return n === 31 ? `cset ${R(d)}, ${inv}` : `cinc ${R(d)}, ${R(n)}, ${inv}`; return `csinc ${R(d)}, ${R(n)}, ${R(m)}, ${COND[cond]}`;
    case a.CondSel.CSINV: if (alias) return n === 31 ? `csetm ${R(d)}, ${inv}` : `cinv ${R(d)}, ${R(n)}, ${inv}`; return `csinv ${R(d)}, ${R(n)}, ${R(m)}, ${COND[cond]}`;
    default: return alias ? `cneg ${R(d)}, ${R(n)}, ${inv}` : `csneg ${R(d)}, ${R(n)}, ${R(m)}, ${COND[cond]}`;
  }
}

