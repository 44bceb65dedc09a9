import type { CodeBuffer } from '@wagc/frontend';
import { sf, badOperand } from './core';
import { Logic, logicReg, logicImm, addSubImm, AddSub, encodeBitmask } from './alu';

/** Move-wide opc bits. */
export const enum MovWide { MOVN = 0, MOVZ = 0x40000000, MOVK = 0x60000000 }

/** rd ← imm16 << shift (MOVZ), ~(imm16 << shift) (MOVN), or that halfword replaced (MOVK). rd 31 is zr. */
export function movWide(b: CodeBuffer, op: MovWide, w: number, rd: number, imm16: number, shift = 0): void {
  if (imm16 < 0 || imm16 > 0xffff) badOperand('imm16', imm16);
  if ((shift & 15) !== 0 || shift < 0 || shift >= w * 8) badOperand('move-wide shift', shift);
  b.emit32(0x12800000 | op | sf(w) | ((shift >>> 4) << 21) | (imm16 << 5) | rd);
}

export function movz(b: CodeBuffer, w: number, rd: number, imm16: number, shift = 0): void {
  movWide(b, MovWide.MOVZ, w, rd, imm16, shift);
}

export function movn(b: CodeBuffer, w: number, rd: number, imm16: number, shift = 0): void {
  movWide(b, MovWide.MOVN, w, rd, imm16, shift);
}

export function movk(b: CodeBuffer, w: number, rd: number, imm16: number, shift = 0): void {
  movWide(b, MovWide.MOVK, w, rd, imm16, shift);
}

/** rd ← rm (ORR rd, zr, rm); 31 is zr. A 32-bit move zero-extends into the x register. */
export function movRR(b: CodeBuffer, w: number, rd: number, rm: number): void {
  logicReg(b, Logic.ORR, w, rd, 31, rm);
}

/** rd ← rn where either may be sp (ADD rd, rn, #0); 31 is sp. */
export function movSP(b: CodeBuffer, w: number, rd: number, rn: number): void {
  addSubImm(b, AddSub.ADD, w, rd, rn, 0);
}

function halfword(lo: number, hi: number, k: number): number {
  return ((k < 2 ? lo : hi) >>> ((k & 1) << 4)) & 0xffff;
}

/** The bitmask field of (lo, hi) with halfword k1 replaced by h1, then k2 by h2, or -1. */
function bitmaskWith(w: number, lo: number, hi: number, k1: number, h1: number, k2: number, h2: number): number {
  const s1 = (k1 & 1) << 4, s2 = (k2 & 1) << 4;
  if (k1 < 2) lo = (lo & ~(0xffff << s1)) | (h1 << s1);
  else hi = (hi & ~(0xffff << s1)) | (h1 << s1);
  if (k2 < 2) lo = (lo & ~(0xffff << s2)) | (h2 << s2);
  else hi = (hi & ~(0xffff << s2)) | (h2 << s2);
  return encodeBitmask(w, lo, hi);
}

/** Places inside a halfword where a bit differs from the next. */
function edges(h: number): number {
  let x = (h ^ (h >>> 1)) & 0x7fff;
  x -= (x >>> 1) & 0x5555;
  x = (x & 0x3333) + ((x >>> 2) & 0x3333);
  x = (x + (x >>> 4)) & 0x0f0f;
  return (x + (x >>> 8)) & 0x1f;
}

/** Filler f for a halfword an ORR pattern may get wrong: 0, 0xffff, or the value of halfword f. */
function filler(lo: number, hi: number, f: number): number {
  return f === -2 ? 0 : f === -1 ? 0xffff : halfword(lo, hi, f);
}

// Plan of movConst, filled by planConst: kind, ORR bitmask, and up to two halfwords the ORR gets wrong.
const PLAN_MOVZ = 0, PLAN_MOVN = 1, PLAN_ORR = 2;
let planKind = 0, planMask = 0, planK1 = -1, planK2 = -1;

function planOrr(mask: number, k1: number, k2: number): number {
  planKind = PLAN_ORR;
  planMask = mask;
  planK1 = k1;
  planK2 = k2;
  return k2 >= 0 ? 3 : 2;
}

/** Chooses how to materialise (lo, hi); returns the instruction count. */
function planConst(w: number, lo: number, hi: number): number {
  const n = w === 8 ? 4 : 2;
  let zeros = 0, ones = 0;
  for (let k = 0; k < n; k++) {
    const h = halfword(lo, hi, k);
    if (h === 0) zeros++;
    else if (h === 0xffff) ones++;
  }
  const byMovz = Math.max(1, n - zeros), byMovn = Math.max(1, n - ones);
  planKind = byMovz <= byMovn ? PLAN_MOVZ : PLAN_MOVN;
  const best = Math.min(byMovz, byMovn);
  planK1 = planK2 = -1;
  if (best === 1) return 1;
  const whole = encodeBitmask(w, lo, hi);
  if (whole >= 0) {
    planKind = PLAN_ORR;
    planMask = whole;
    return 1;
  }
  if (best <= 2) return best;
  // 64-bit with three or four halfwords to write: an ORR pattern right in all but one (then two)
  // halfwords, fixed by MOVKs. A pattern repeats with a period of at most 32 bits, so a halfword
  // it gets wrong is a copy of its twin in the other 32-bit half; or it is one run of ones,
  // whose two edges must then lie in the halfwords kept, and a halfword it gets wrong can be
  // taken as 0, 0xffff or a copy of another. (The test checks the result is the fewest of all
  // such sequences, against every logical immediate.)
  const h0 = halfword(lo, hi, 0), h1 = halfword(lo, hi, 1), h2 = halfword(lo, hi, 2), h3 = halfword(lo, hi, 3);
  const edgesAll = edges(h0) + edges(h1) + edges(h2) + edges(h3);
  for (let k1 = 0; k1 < 4; k1++) {
    const twin = halfword(lo, hi, k1 ^ 2);
    let m = bitmaskWith(w, lo, hi, k1, twin, k1, twin);
    if (m >= 0) return planOrr(m, k1, -1);
    if (edgesAll - edges(halfword(lo, hi, k1)) > 2) continue;
    for (let f1 = -2; f1 < 4; f1++) {
      if (f1 === k1 || f1 === (k1 ^ 2)) continue;
      m = bitmaskWith(w, lo, hi, k1, filler(lo, hi, f1), k1, filler(lo, hi, f1));
      if (m >= 0) return planOrr(m, k1, -1);
    }
  }
  if (best < 4) return best;
  for (let k1 = 0; k1 < 4; k1++) {
    for (let k2 = k1 + 1; k2 < 4; k2++) {
      let m: number;
      if (k2 !== (k1 ^ 2)) {
        m = bitmaskWith(w, lo, hi, k1, halfword(lo, hi, k1 ^ 2), k2, halfword(lo, hi, k2 ^ 2));
        if (m >= 0) return planOrr(m, k1, k2);
      } else if (halfword(lo, hi, k1 ^ 1) === halfword(lo, hi, k1 ^ 3)) {
        // the replaced pair are twins: one value for both, 0, 0xffff or the kept pair's
        const kept = halfword(lo, hi, k1 ^ 1);
        for (let c = 0; c < 3; c++) {
          const h = c === 0 ? 0 : c === 1 ? 0xffff : kept;
          m = bitmaskWith(w, lo, hi, k1, h, k2, h);
          if (m >= 0) return planOrr(m, k1, k2);
        }
      }
      if (edgesAll - edges(halfword(lo, hi, k1)) - edges(halfword(lo, hi, k2)) > 2) continue;
      for (let f1 = -2; f1 < 4; f1++) {
        if (f1 === k1 || f1 === k2) continue;
        for (let f2 = -2; f2 < 4; f2++) {
          if (f2 === k1 || f2 === k2) continue;
          m = bitmaskWith(w, lo, hi, k1, filler(lo, hi, f1), k2, filler(lo, hi, f2));
          if (m >= 0) return planOrr(m, k1, k2);
        }
      }
    }
  }
  return best;
}

/** How many instructions movConst emits for this constant (to weigh an immediate against a register). */
export function movConstCount(w: number, lo: number, hi: number): number {
  return planConst(w, lo | 0, hi | 0);
}

/**
 * rd ← the w-byte constant (lo, hi) in the fewest instructions this finds: one MOVZ or MOVN
 * with MOVKs for the other halfwords (whichever leaves fewer), a single ORR of a logical
 * immediate, or (64-bit) an ORR of a nearby logical immediate patched by one or two MOVKs.
 * `hi` is ignored for w = 4. rd 31 is zr (pointless) — never sp.
 */
export function movConst(b: CodeBuffer, w: number, rd: number, lo: number, hi: number): void {
  lo |= 0;
  hi = w === 8 ? hi | 0 : 0;
  if (hi === 0 && lo >>> 16 === 0) {
    // the common case, as planConst would choose it
    b.emit32(0x52800000 | sf(w) | (lo << 5) | rd);
    return;
  }
  planConst(w, lo, hi);
  const n = w === 8 ? 4 : 2;
  if (planKind === PLAN_ORR) {
    logicImm(b, Logic.ORR, w, rd, 31, planMask);
    if (planK1 >= 0) movk(b, w, rd, halfword(lo, hi, planK1), planK1 << 4);
    if (planK2 >= 0) movk(b, w, rd, halfword(lo, hi, planK2), planK2 << 4);
    return;
  }
  const skip = planKind === PLAN_MOVZ ? 0 : 0xffff;
  let first = true;
  for (let k = 0; k < n; k++) {
    const h = halfword(lo, hi, k);
    if (h === skip) continue;
    if (first) movWide(b, planKind === PLAN_MOVZ ? MovWide.MOVZ : MovWide.MOVN, w, rd, h ^ skip, k << 4);
    else movk(b, w, rd, h, k << 4);
    first = false;
  }
  if (first) movWide(b, planKind === PLAN_MOVZ ? MovWide.MOVZ : MovWide.MOVN, w, rd, 0, 0);
}

/**
 * A constant filled in later (an address or offset known only after layout): MOVZ then MOVKs
 * for `halfwords` halfwords (1–4; at most 2 for w = 4), all zero. Returns the offset of the first
 * word for patchMovConst. Fixed length, unlike movConst, so the code around it need not move.
 */
export function movConstPatchable(b: CodeBuffer, w: number, rd: number, halfwords: number): number {
  if (halfwords < 1 || halfwords > w / 2) badOperand('halfwords', halfwords);
  const at = b.pos;
  movz(b, w, rd, 0, 0);
  for (let k = 1; k < halfwords; k++) movk(b, w, rd, 0, k << 4);
  return at;
}

/**
 * Writes (lo, hi) into the MOVZ/MOVK sequence movConstPatchable emitted at `at`. Throws when the
 * words there are not such a sequence, or the value needs more halfwords than it has.
 */
export function patchMovConst(b: CodeBuffer, at: number, lo: number, hi: number): void {
  const first = b.read32(at);
  if ((first & 0x7f800000) !== 0x52800000 || (first & 0x00600000) !== 0) throw new Error(`arm64: no movz at ${at}`);
  const rd = first & 31, high = first & 0x80000000;
  let k = 1;
  while (k < (high ? 4 : 2) && b.pos >= at + 4 * k + 4) {
    const word = b.read32(at + 4 * k);
    if ((word & 0xffe0001f) !== ((0x72800000 | high | (k << 21) | rd) | 0)) break;
    k++;
  }
  for (let j = k; j < 4; j++) if (halfword(lo, hi, j) !== 0 && (high || j < 2)) badOperand('constant wider than its sequence', j);
  for (let j = 0; j < k; j++) {
    const word = b.read32(at + 4 * j);
    b.patch32(at + 4 * j, (word & ~(0xffff << 5)) | (halfword(lo, hi, j) << 5));
  }
}
