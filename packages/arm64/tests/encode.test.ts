/**
 * Every encoder in src/encode against capstone (ARM64): each case emits one instruction (or a
 * fixed short sequence), capstone must decode exactly those words to the text computed here from
 * the inputs, independently of the encoders: capstone's preferred aliases included (mov, cmp,
 * tst, neg, lsl, cset, cinc, ubfx, …), which the helpers below choose by the ARM ARM's alias
 * conditions. Registers sweep all 32 numbers (31 printed as sp or zr by the form), widths 4 and
 * 8, every condition code, boundary and random immediates.
 *
 * This file: integer forms (alu, move, mul, shift, bit, cond) and the coverage check. Also
 * encode-imm (bitmask immediates against the enumeration of all 5334/1302, the constant
 * materialiser against an emulation and a brute-force minimum, FMOV immediates), encode-mem
 * (branches, patchBranch, loads and stores), encode-float (float, system, the disassembler);
 * helpers and capstone's spelling in capstone.ts. ENCODE_COUNTS=1 prints cases per encoder.
 *
 * capstone 5 quirks, expected as printed: UDF is unknown to it (a `.word`); `lsl #0` comes back
 * as `lsr #0` (same UBFM word); the 64-bit UBFM #0, #7 is `ubfx`, not `uxtb`; BFM from zr with
 * immr 0 is `bfc`; 64-bit ANDS and TST print their immediate signed (AND, ORR, EOR unsigned); the
 * mov aliases print signed values, but ORR from xzr is never shown as mov (only the 32-bit form
 * gets the alias); a magnitude of 2^31 prints sign-extended (`#-0xffffffff80000000`); a negative
 * post-index offset of a single-register load/store prints as 64-bit unsigned; shift amounts are
 * decimal, other immediates hex above 9. UNPREDICTABLE forms (writeback into a data register,
 * LDP of one register twice), which capstone rightly refuses, are refused by the encoders too.
 */
import { CodeBuffer } from '@wagc/frontend';
import * as a from '../src/encode';
import { a as flat } from '../src/encode/flat';
import {
  REGS, WIDTHS, COND, zr, sp, X, imm, rand, randInt, halves, type Case, run, useCapstone, triples, pairs, EXTEND, shiftText, movWideText, IMM16, bitfieldText, condSelectText,
} from './capstone';

useCapstone();

function codeWith(emit: (b: CodeBuffer) => void): CodeBuffer {
  const b = new CodeBuffer(32);
  emit(b);
  return b;
}

// ---------------------------------------------------------------------------------------------
// coverage: a new encoder needs cases here

const COVERED = [
  'invertCond', 'sf', 'fitsSigned', 'fitsUnsigned', 'badOperand',
  'addSubReg', 'addSubExt', 'fitsAddSubImm', 'addSubImm', 'patchAddSubImm', 'logicReg', 'logicImm', 'encodeBitmask',
  'movWide', 'movz', 'movn', 'movk', 'movRR', 'movSP', 'movConst', 'movConstCount', 'movConstPatchable', 'patchMovConst',
  'madd', 'msub', 'mul', 'smulh', 'umulh', 'sdiv', 'udiv',
  'shiftReg', 'bitfield', 'lslImm', 'lsrImm', 'asrImm', 'extr', 'rorImm', 'ubfx', 'sbfx', 'bfi', 'bfxil',
  'sxtb', 'sxth', 'sxtw', 'uxtb', 'uxth',
  'clz', 'rbit', 'rev', 'cnt8b', 'addv8b', 'popcount',
  'condSelect', 'csel', 'csinc', 'csinv', 'csneg', 'cset', 'csetm', 'ccmpReg', 'ccmpImm',
  'fitsB26', 'fitsB19', 'fitsB14', 'fitsAdr', 'branch', 'branchLink', 'branchCond', 'cbz', 'cbnz', 'tbz', 'tbnz', 'adr',
  'br', 'blr', 'ret', 'patchBranch',
  'memScale', 'fitsLdstImm', 'fitsLdstUnscaled', 'fitsLdst', 'ldstImm', 'ldstUnscaled', 'ldst', 'ldstIndexed', 'ldstReg',
  'fitsPair', 'ldp', 'stp', 'ldrLiteral',
  'farith', 'funary', 'fcvt', 'fcmp', 'fcmpZero', 'fcsel', 'fconvInt', 'fmovToFp', 'fmovFromFp', 'encodeFpImm', 'fmovImm',
  'mrs', 'msr', 'brk', 'udf', 'svc', 'nop', 'dmb', 'dsb', 'isb', 'dcCvau', 'dcCivac', 'icIvau',
];

test('every exported encoder has cases, and the flat object holds them all', () => {
  const exported = Object.keys(a).filter((k) => typeof (a as Record<string, unknown>)[k] === 'function').sort();
  expect(exported.filter((k) => !COVERED.includes(k))).toEqual([]);
  expect(Object.keys(flat).sort()).toEqual(Object.keys(a).sort());
});

test('core helpers', () => {
  for (let c = 0; c < 14; c++) expect(COND[a.invertCond(c)]).toBe(COND[c ^ 1]);
  expect(a.sf(8) >>> 0).toBe(0x80000000);
  expect(a.sf(4)).toBe(0);
  expect([a.fitsSigned(-256, 9), a.fitsSigned(255, 9), a.fitsSigned(256, 9), a.fitsSigned(-257, 9), a.fitsSigned(0.5, 9)]).toEqual([true, true, false, false, false]);
  expect([a.fitsUnsigned(0, 12), a.fitsUnsigned(4095, 12), a.fitsUnsigned(4096, 12), a.fitsUnsigned(-1, 12)]).toEqual([true, true, false, false]);
  expect(() => a.badOperand('thing', 7)).toThrow('arm64: thing out of range (7)');
});

describe('alu', () => {
  const ADDSUB: [a.AddSub, string][] = [[a.AddSub.ADD, 'add'], [a.AddSub.ADDS, 'adds'], [a.AddSub.SUB, 'sub'], [a.AddSub.SUBS, 'subs']];

  test('addSubReg', () => {
    const cases: Case[] = [];
    for (const [op, mn] of ADDSUB) for (const w of WIDTHS) {
      triples().forEach(([d, n, m], k) => {
        const shift = k % 3;
        const amt = [0, 1, w * 8 - 1, randInt(w * 8)][(k / 3 | 0) % 4];
        const ops = `${zr(w, m)}${shiftText(shift, amt)}`;
        let text = `${mn} ${zr(w, d)}, ${zr(w, n)}, ${ops}`;
        if (op === a.AddSub.ADDS && d === 31) text = `cmn ${zr(w, n)}, ${ops}`;
        if (op === a.AddSub.SUB && n === 31) text = `neg ${zr(w, d)}, ${ops}`;
        if (op === a.AddSub.SUBS && d === 31) text = `cmp ${zr(w, n)}, ${ops}`;
        else if (op === a.AddSub.SUBS && n === 31) text = `negs ${zr(w, d)}, ${ops}`;
        cases.push({ emit: (b) => a.addSubReg(b, op, w, d, n, m, shift, amt), text });
      });
    }
    run('addSubReg', cases);
    expect(() => a.addSubReg(new CodeBuffer(4), a.AddSub.ADD, 4, 0, 0, 0, 0, 32)).toThrow(/out of range/);
    expect(() => a.addSubReg(new CodeBuffer(4), a.AddSub.ADD, 8, 0, 0, 0, a.Shift.ROR, 1)).toThrow(/out of range/);
  });

  test('addSubExt', () => {
    const cases: Case[] = [];
    for (const [op, mn] of ADDSUB) for (const w of WIDTHS) {
      const flags = op === a.AddSub.ADDS || op === a.AddSub.SUBS;
      triples().forEach(([d, n, m], k) => {
        const ext = k % 8;
        const amt = (k >> 3) % 5;
        const rm = w === 8 && (ext & 3) === 3 ? X(m) : zr(4, m);
        const spForm = n === 31 || (!flags && d === 31);
        const extText = spForm && ext === (w === 8 ? 3 : 2) ? (amt ? `, lsl ${imm(amt)}` : '') : `, ${EXTEND[ext]}${amt ? ` ${imm(amt)}` : ''}`;
        let text = `${mn} ${flags ? zr(w, d) : sp(w, d)}, ${sp(w, n)}, ${rm}${extText}`;
        if (flags && d === 31) text = `${op === a.AddSub.ADDS ? 'cmn' : 'cmp'} ${sp(w, n)}, ${rm}${extText}`;
        cases.push({ emit: (b) => a.addSubExt(b, op, w, d, n, m, ext, amt), text });
      });
    }
    run('addSubExt', cases);
    expect(() => a.addSubExt(new CodeBuffer(4), a.AddSub.ADD, 8, 0, 0, 0, a.Extend.UXTW, 5)).toThrow(/out of range/);
  });

  const ADD_IMMS = [0, 1, 9, 10, 0xfff, 0x1000, 0x2000, 0xfff000, 0x123000, 0x7ff];

  test('fitsAddSubImm', () => {
    for (const v of ADD_IMMS) expect(a.fitsAddSubImm(v)).toBe(true);
    for (const v of [-1, 0x1001, 0xfff001, 0x1000000, 0x1fff, 4095.5]) expect(a.fitsAddSubImm(v)).toBe(false);
    for (let k = 0; k < 10000; k++) {
      const v = randInt(0x2000000);
      expect(a.fitsAddSubImm(v)).toBe(v < 4096 || (v % 4096 === 0 && v / 4096 < 4096));
    }
  });

  test('addSubImm', () => {
    const cases: Case[] = [];
    for (const [op, mn] of ADDSUB) for (const w of WIDTHS) {
      pairs().forEach(([d, n], k) => {
        const v = k % 11 === 10 ? (randInt(2) ? randInt(4096) : randInt(4096) << 12) : ADD_IMMS[k % 11];
        const immText = v > 0xfff ? `${imm(v >>> 12)}, lsl #12` : imm(v);
        const flags = op === a.AddSub.ADDS || op === a.AddSub.SUBS;
        let text = `${mn} ${flags ? zr(w, d) : sp(w, d)}, ${sp(w, n)}, ${immText}`;
        if (op === a.AddSub.ADD && v === 0 && (d === 31 || n === 31)) text = `mov ${sp(w, d)}, ${sp(w, n)}`;
        if (flags && d === 31) text = `${op === a.AddSub.ADDS ? 'cmn' : 'cmp'} ${sp(w, n)}, ${immText}`;
        cases.push({ emit: (b) => a.addSubImm(b, op, w, d, n, v), text });
      });
    }
    run('addSubImm', cases);
    expect(() => a.addSubImm(new CodeBuffer(4), a.AddSub.ADD, 8, 0, 0, 0x1001)).toThrow(/out of range/);
  });

  test('patchAddSubImm', () => {
    const cases: Case[] = [];
    for (const [op, mn] of ADDSUB) for (const w of WIDTHS) {
      for (const [first, v] of [[0x1000, 0x123000], [0x1000, 0xfff000], [0, 0xfff], [0, 0x123], [0x7000, 0x1000], [5, 0]]) {
        const d = 3, n = 4;
        const immText = first > 0xfff ? `${imm(v >>> 12)}, lsl #12` : imm(v);
        const text = `${mn} ${zr(w, d)}, ${zr(w, n)}, ${immText}`;
        cases.push({ emit: (b) => { const at = b.pos; a.addSubImm(b, op, w, d, n, first); expect(a.patchAddSubImm(b, at, v)).toBe(true); }, text });
      }
    }
    run('patchAddSubImm', cases);
    const b = codeWith((bb) => { a.addSubImm(bb, a.AddSub.SUB, 8, 1, 2, 0x1000); a.addSubImm(bb, a.AddSub.SUB, 8, 1, 1, 0); });
    const before = [b.read32(0), b.read32(4)];
    expect([a.patchAddSubImm(b, 0, 0x1001), a.patchAddSubImm(b, 0, 0x1000000), a.patchAddSubImm(b, 4, 0x1000), a.patchAddSubImm(b, 4, -1)]).toEqual([false, false, false, false]);
    expect([b.read32(0), b.read32(4)]).toEqual(before);
    expect(() => a.patchAddSubImm(codeWith((bb) => a.nop(bb)), 0, 1)).toThrow(/no add\/sub immediate/);
  });

  test('logicReg', () => {
    const OPS: [a.Logic, string][] = [
      [a.Logic.AND, 'and'], [a.Logic.BIC, 'bic'], [a.Logic.ORR, 'orr'], [a.Logic.ORN, 'orn'],
      [a.Logic.EOR, 'eor'], [a.Logic.EON, 'eon'], [a.Logic.ANDS, 'ands'], [a.Logic.BICS, 'bics'],
    ];
    const cases: Case[] = [];
    for (const [op, mn] of OPS) for (const w of WIDTHS) {
      triples().forEach(([d, n, m], k) => {
        const shift = k % 4;
        const amt = [0, 1, w * 8 - 1, randInt(w * 8)][(k >> 2) % 4];
        const sh = shiftText(shift, amt);
        let text = `${mn} ${zr(w, d)}, ${zr(w, n)}, ${zr(w, m)}${sh}`;
        if (op === a.Logic.ORR && n === 31 && sh === '') text = `mov ${zr(w, d)}, ${zr(w, m)}`;
        if (op === a.Logic.ORN && n === 31) text = `mvn ${zr(w, d)}, ${zr(w, m)}${sh}`;
        if (op === a.Logic.ANDS && d === 31) text = `tst ${zr(w, n)}, ${zr(w, m)}${sh}`;
        cases.push({ emit: (b) => a.logicReg(b, op, w, d, n, m, shift, amt), text });
      });
    }
    run('logicReg', cases);
  });
});

describe('move', () => {
  test('movWide / movz / movn / movk', () => {
    const OPS: [a.MovWide, (b: CodeBuffer, w: number, d: number, v: number, s: number) => void][] = [
      [a.MovWide.MOVZ, a.movz], [a.MovWide.MOVN, a.movn], [a.MovWide.MOVK, a.movk],
    ];
    const cases: Case[] = [];
    for (const [op, fn] of OPS) for (const w of WIDTHS) for (const d of REGS) {
      for (let shift = 0; shift < w * 8; shift += 16) {
        for (const v of [...IMM16, randInt(0x10000)]) {
          const text = movWideText(op, w, d, v, shift);
          cases.push({ emit: (b) => a.movWide(b, op, w, d, v, shift), text });
          if ((d + v + shift) % 3 === 0) cases.push({ emit: (b) => fn(b, w, d, v, shift), text });
        }
      }
    }
    run('movWide', cases);
    const b = new CodeBuffer(4);
    expect(() => a.movz(b, 4, 0, 1, 32)).toThrow(/out of range/);
    expect(() => a.movz(b, 8, 0, 1, 8)).toThrow(/out of range/);
    expect(() => a.movk(b, 8, 0, 0x10000, 0)).toThrow(/out of range/);
  });

  test('movConstPatchable / patchMovConst', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) for (let n = 1; n <= w / 2; n++) for (const r of [0, 7, 30, 31]) {
      const lo = rand() | 0, hi = rand() | 0;
      const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      const keep = v & ((1n << BigInt(16 * n)) - 1n);
      const [klo, khi] = halves(keep);
      const parts = [];
      for (let k = 0; k < n; k++) {
        const h = Number((keep >> BigInt(16 * k)) & 0xffffn);
        parts.push(k === 0 ? movWideText(a.MovWide.MOVZ, w, r, h, 0) : movWideText(a.MovWide.MOVK, w, r, h, 16 * k));
      }
      cases.push({
        emit: (b) => {
          const at = a.movConstPatchable(b, w, r, n);
          a.patchMovConst(b, at, 0x1234, 0); // patched twice: the second write wins
          a.patchMovConst(b, at, klo, khi);
        },
        text: parts.join(' ; '),
      });
      if (n < w / 2) expect(() => a.patchMovConst(codeWith((b) => a.movConstPatchable(b, w, r, n)), 0, lo | 1, hi | 1)).toThrow(/wider than its sequence/);
    }
    run('movConstPatchable', cases);
    expect(() => a.patchMovConst(codeWith((b) => a.nop(b)), 0, 1, 0)).toThrow(/no movz/);
    expect(() => a.movConstPatchable(new CodeBuffer(16), 4, 0, 3)).toThrow(/out of range/);
    // a MOVK to another register ends the sequence
    const b = codeWith((bb) => { a.movz(bb, 8, 1, 0); a.movk(bb, 8, 2, 0, 16); });
    expect(() => a.patchMovConst(b, 0, 0x10000, 0)).toThrow(/wider/);
  });

  test('movRR / movSP', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) {
      for (const [d, n] of pairs()) {
        cases.push({ emit: (b) => a.movRR(b, w, d, n), text: `mov ${zr(w, d)}, ${zr(w, n)}` });
        cases.push({ emit: (b) => a.movSP(b, w, d, n), text: d === 31 || n === 31 ? `mov ${sp(w, d)}, ${sp(w, n)}` : `add ${zr(w, d)}, ${zr(w, n)}, #0` });
      }
    }
    run('movRR/movSP', cases);
  });

  /** Value left in the register by MOVZ/MOVN/MOVK/ORR-immediate words, emulated. */
});
// ---------------------------------------------------------------------------------------------
// multiply and divide

describe('mul', () => {
  test('madd / msub / mul / smulh / umulh / sdiv / udiv', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) {
      for (const [d, n, m] of triples()) {
        const ra = (d + n + m + 1) & 31;
        const R = (r: number): string => zr(w, r);
        cases.push({ emit: (b) => a.madd(b, w, d, n, m, ra), text: ra === 31 ? `mul ${R(d)}, ${R(n)}, ${R(m)}` : `madd ${R(d)}, ${R(n)}, ${R(m)}, ${R(ra)}` });
        cases.push({ emit: (b) => a.msub(b, w, d, n, m, ra), text: ra === 31 ? `mneg ${R(d)}, ${R(n)}, ${R(m)}` : `msub ${R(d)}, ${R(n)}, ${R(m)}, ${R(ra)}` });
        cases.push({ emit: (b) => a.mul(b, w, d, n, m), text: `mul ${R(d)}, ${R(n)}, ${R(m)}` });
        cases.push({ emit: (b) => a.sdiv(b, w, d, n, m), text: `sdiv ${R(d)}, ${R(n)}, ${R(m)}` });
        cases.push({ emit: (b) => a.udiv(b, w, d, n, m), text: `udiv ${R(d)}, ${R(n)}, ${R(m)}` });
        if (w === 8) {
          cases.push({ emit: (b) => a.smulh(b, d, n, m), text: `smulh ${X(d)}, ${X(n)}, ${X(m)}` });
          cases.push({ emit: (b) => a.umulh(b, d, n, m), text: `umulh ${X(d)}, ${X(n)}, ${X(m)}` });
        }
      }
    }
    run('mul/div', cases);
  });
});

describe('shift', () => {
  test('shiftReg', () => {
    const OPS: [a.ShiftV, string][] = [[a.ShiftV.LSLV, 'lsl'], [a.ShiftV.LSRV, 'lsr'], [a.ShiftV.ASRV, 'asr'], [a.ShiftV.RORV, 'ror']];
    const cases: Case[] = [];
    for (const [op, mn] of OPS) for (const w of WIDTHS) for (const [d, n, m] of triples()) {
      cases.push({ emit: (b) => a.shiftReg(b, op, w, d, n, m), text: `${mn} ${zr(w, d)}, ${zr(w, n)}, ${zr(w, m)}` });
    }
    run('shiftReg', cases);
  });

  test('bitfield: every immr × imms', () => {
    const cases: Case[] = [];
    for (const op of [a.Bitfield.SBFM, a.Bitfield.BFM, a.Bitfield.UBFM]) for (const w of WIDTHS) {
      let k = 0;
      for (let immr = 0; immr < w * 8; immr++) {
        for (let imms = 0; imms < w * 8; imms++) {
          const d = (k * 5) & 31, n = (k * 11 + 3) & 31;
          k++;
          cases.push({ emit: (b) => a.bitfield(b, op, w, d, n, immr, imms), text: bitfieldText(op, w, d, n, immr, imms) });
        }
      }
    }
    run('bitfield', cases);
    expect(() => a.bitfield(new CodeBuffer(4), a.Bitfield.UBFM, 4, 0, 0, 32, 0)).toThrow(/out of range/);
  });

  test('immediate shifts, rotates, extr', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) {
      const bits = w * 8;
      const R = (r: number): string => zr(w, r);
      pairs().forEach(([d, n], k) => {
        const s = k % bits;
        const m = (d + 3 * n + 7) & 31;
        // capstone prints UBFM #0, #width-1 as lsr #0, whichever alias was meant
        cases.push({ emit: (b) => a.lslImm(b, w, d, n, s), text: s === 0 ? `lsr ${R(d)}, ${R(n)}, #0` : `lsl ${R(d)}, ${R(n)}, ${imm(s)}` });
        cases.push({ emit: (b) => a.lsrImm(b, w, d, n, s), text: `lsr ${R(d)}, ${R(n)}, ${imm(s)}` });
        cases.push({ emit: (b) => a.asrImm(b, w, d, n, s), text: `asr ${R(d)}, ${R(n)}, ${imm(s)}` });
        cases.push({ emit: (b) => a.rorImm(b, w, d, n, s), text: `ror ${R(d)}, ${R(n)}, ${imm(s)}` });
        cases.push({ emit: (b) => a.extr(b, w, d, n, m, s), text: n === m ? `ror ${R(d)}, ${R(n)}, ${imm(s)}` : `extr ${R(d)}, ${R(n)}, ${R(m)}, ${imm(s)}` });
      });
    }
    run('shiftImm', cases);
    expect(() => a.lslImm(new CodeBuffer(4), 4, 0, 0, 32)).toThrow(/out of range/);
  });

  test('ubfx / sbfx / bfi / bfxil: every lsb × width', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) {
      const bits = w * 8;
      let k = 0;
      for (let lsb = 0; lsb < bits; lsb++) {
        for (let width = 1; lsb + width <= bits; width++) {
          const d = (k * 7) & 31, n = (k * 3 + 1) & 31;
          k++;
          const immrInsert = (bits - lsb) & (bits - 1);
          cases.push({ emit: (b) => a.ubfx(b, w, d, n, lsb, width), text: bitfieldText(a.Bitfield.UBFM, w, d, n, lsb, lsb + width - 1) });
          cases.push({ emit: (b) => a.sbfx(b, w, d, n, lsb, width), text: bitfieldText(a.Bitfield.SBFM, w, d, n, lsb, lsb + width - 1) });
          cases.push({ emit: (b) => a.bfxil(b, w, d, n, lsb, width), text: bitfieldText(a.Bitfield.BFM, w, d, n, lsb, lsb + width - 1) });
          cases.push({ emit: (b) => a.bfi(b, w, d, n, lsb, width), text: bitfieldText(a.Bitfield.BFM, w, d, n, immrInsert, width - 1) });
        }
      }
    }
    run('bitfield forms', cases);
    expect(() => a.ubfx(new CodeBuffer(4), 4, 0, 0, 30, 3)).toThrow(/out of range/);
  });

  test('sxtb / sxth / sxtw / uxtb / uxth', () => {
    const cases: Case[] = [];
    for (const [d, n] of pairs()) {
      for (const w of WIDTHS) {
        cases.push({ emit: (b) => a.sxtb(b, w, d, n), text: `sxtb ${zr(w, d)}, ${zr(4, n)}` });
        cases.push({ emit: (b) => a.sxth(b, w, d, n), text: `sxth ${zr(w, d)}, ${zr(4, n)}` });
      }
      cases.push({ emit: (b) => a.sxtw(b, d, n), text: `sxtw ${X(d)}, ${zr(4, n)}` });
      cases.push({ emit: (b) => a.uxtb(b, d, n), text: `uxtb ${zr(4, d)}, ${zr(4, n)}` });
      cases.push({ emit: (b) => a.uxth(b, d, n), text: `uxth ${zr(4, d)}, ${zr(4, n)}` });
    }
    run('extend', cases);
  });
});

// ---------------------------------------------------------------------------------------------
// bit counting

describe('bit', () => {
  test('clz / rbit / rev / cnt / addv / popcount', () => {
    const cases: Case[] = [];
    for (const [d, n] of pairs()) {
      for (const w of WIDTHS) {
        cases.push({ emit: (b) => a.clz(b, w, d, n), text: `clz ${zr(w, d)}, ${zr(w, n)}` });
        cases.push({ emit: (b) => a.rbit(b, w, d, n), text: `rbit ${zr(w, d)}, ${zr(w, n)}` });
        cases.push({ emit: (b) => a.rev(b, w, d, n), text: `rev ${zr(w, d)}, ${zr(w, n)}` });
        const v = (d * 7 + n) & 31;
        cases.push({
          emit: (b) => a.popcount(b, w, d, n, v),
          text: `fmov ${w === 8 ? 'd' : 's'}${v}, ${zr(w, n)} ; cnt v${v}.8b, v${v}.8b ; addv b${v}, v${v}.8b ; fmov ${zr(4, d)}, s${v}`,
        });
      }
      cases.push({ emit: (b) => a.cnt8b(b, d, n), text: `cnt v${d}.8b, v${n}.8b` });
      cases.push({ emit: (b) => a.addv8b(b, d, n), text: `addv b${d}, v${n}.8b` });
    }
    run('bit', cases);
  });
});

describe('cond', () => {
  test('condSelect / csel / csinc / csinv / csneg: every condition', () => {
    const OPS: [a.CondSel, (b: CodeBuffer, w: number, d: number, n: number, m: number, c: number) => void][] = [
      [a.CondSel.CSEL, a.csel], [a.CondSel.CSINC, a.csinc], [a.CondSel.CSINV, a.csinv], [a.CondSel.CSNEG, a.csneg],
    ];
    const cases: Case[] = [];
    for (const [op, fn] of OPS) for (const w of WIDTHS) {
      const ops: [number, number, number][] = [...triples(), ...pairs().map(([d, n]): [number, number, number] => [d, n, n])];
      ops.forEach(([d, n, m], k) => {
        const c = k % 16;
        const text = condSelectText(op, w, d, n, m, c);
        cases.push({ emit: (b) => a.condSelect(b, op, w, d, n, m, c), text });
        cases.push({ emit: (b) => fn(b, w, d, n, m, c), text });
      });
    }
    run('condSelect', cases);
  });

  test('cset / csetm', () => {
    const cases: Case[] = [];
    for (const w of WIDTHS) for (const d of REGS) for (let c = 0; c < 14; c++) {
      cases.push({ emit: (b) => a.cset(b, w, d, c), text: `cset ${zr(w, d)}, ${COND[c]}` });
      cases.push({ emit: (b) => a.csetm(b, w, d, c), text: `csetm ${zr(w, d)}, ${COND[c]}` });
    }
    run('cset', cases);
    expect(() => a.cset(new CodeBuffer(4), 4, 0, a.Cond.AL)).toThrow(/out of range/);
    expect(() => a.csetm(new CodeBuffer(4), 4, 0, a.Cond.NV)).toThrow(/out of range/);
  });

  test('ccmpReg / ccmpImm', () => {
    const cases: Case[] = [];
    for (const neg of [false, true]) for (const w of WIDTHS) {
      const mn = neg ? 'ccmn' : 'ccmp';
      pairs().forEach(([n, m], k) => {
        const nzcv = k % 16, c = (k >> 4) % 16, v = (k * 7) % 32;
        cases.push({ emit: (b) => a.ccmpReg(b, neg, w, n, m, nzcv, c), text: `${mn} ${zr(w, n)}, ${zr(w, m)}, ${imm(nzcv)}, ${COND[c]}` });
        cases.push({ emit: (b) => a.ccmpImm(b, neg, w, n, v, nzcv, c), text: `${mn} ${zr(w, n)}, ${imm(v)}, ${imm(nzcv)}, ${COND[c]}` });
      });
    }
    run('ccmp', cases);
    expect(() => a.ccmpImm(new CodeBuffer(4), false, 4, 0, 32, 0, 0)).toThrow(/out of range/);
    expect(() => a.ccmpReg(new CodeBuffer(4), false, 4, 0, 0, 16, 0)).toThrow(/out of range/);
  });
});
