/**
 * The NEON encoders (src/encode/neon.ts) against capstone: every instruction of each class in
 * every arrangement it has, every register in each field, every lane index, every shift amount.
 * See encode.test.ts for the method; capstone prints the ARM ARM's preferred aliases (mov for
 * orr/umov/ins/dup-scalar, mvn for not), which the texts here spell, and capstone 5's quirks:
 * lane indices in hex from 10 on, sshll/ushll #0 rather than sxtl/uxtl, movi's 2d masks as
 * fourteen hex digits (sixteen zeros for 0).
 */
import { CodeBuffer } from '@wagc/frontend';
import * as n from '../src/encode/neon';
import { Arr, FArr, N3, F3, N2, NAcross, NLong, NShift, NPerm } from '../src/encode/neon';
import { REGS, imm, num, type Case, run, useCapstone, triples, pairs } from './capstone';

useCapstone();

const V = (r: number, arr: string): string => `v${r}.${arr}`;
const ARRS: [Arr, string][] = [[Arr.B8, '8b'], [Arr.B16, '16b'], [Arr.H4, '4h'], [Arr.H8, '8h'], [Arr.S2, '2s'], [Arr.S4, '4s'], [Arr.D1, '1d'], [Arr.D2, '2d']];
const FARRS: [FArr, string][] = [[FArr.S2, '2s'], [FArr.S4, '4s'], [FArr.D2, '2d']];
const LANE = ['b', 'h', 's', 'd'];
/** vN.T[i], the index as capstone prints it. */
const L = (r: number, log2: number, i: number): string => `v${r}.${LANE[log2]}[${num(i)}]`;
const QARR = ['16b', '8h', '4s', '2d'];
const HARR = ['8b', '4h', '2s', '1d'];

/** A few triples and pairs per case (every register in every field), to keep the batch small. */
const TRIPLES = triples().filter((_, k) => k % 31 === 0);
const PAIRS = pairs().filter(([d, s]) => (d * 3 + s) % 11 === 0);

describe('neon', () => {
  test('three registers (integer and logical)', () => {
    // which arrangements each has (no 1d; mul and the saturating doubling ones no 8-bit, no 64-bit)
    const OPS: [N3, string, string[]][] = [
      [N3.SQADD, 'sqadd', ['8b', '16b', '4h', '8h', '2s', '4s', '2d']], [N3.UQADD, 'uqadd', ['16b', '8h', '4s', '2d']],
      [N3.URHADD, 'urhadd', ['8b', '16b', '4h', '8h', '2s', '4s']], [N3.SQSUB, 'sqsub', ['16b', '8h', '2d']], [N3.UQSUB, 'uqsub', ['16b', '4h']],
      [N3.CMGT, 'cmgt', ['16b', '8h', '4s', '2d']], [N3.CMHI, 'cmhi', ['16b', '8h', '4s', '2d']], [N3.CMGE, 'cmge', ['16b', '8h', '4s', '2d']],
      [N3.CMHS, 'cmhs', ['16b', '8h', '4s', '2d']], [N3.SSHL, 'sshl', ['16b', '8h', '4s', '2d']], [N3.USHL, 'ushl', ['16b', '8h', '4s', '2d']],
      [N3.SMAX, 'smax', ['16b', '8h', '4s']], [N3.UMAX, 'umax', ['16b', '8h', '4s']], [N3.SMIN, 'smin', ['16b', '8h', '4s']], [N3.UMIN, 'umin', ['16b', '8h', '4s']],
      [N3.ADD, 'add', ['8b', '16b', '4h', '8h', '2s', '4s', '2d']], [N3.SUB, 'sub', ['16b', '8h', '4s', '2d']], [N3.CMTST, 'cmtst', ['16b', '2d']],
      [N3.CMEQ, 'cmeq', ['16b', '8h', '4s', '2d']], [N3.MUL, 'mul', ['16b', '8h', '4s']], [N3.ADDP, 'addp', ['16b', '8h', '4s', '2d']],
      [N3.SQDMULH, 'sqdmulh', ['8h', '4s']], [N3.SQRDMULH, 'sqrdmulh', ['4h', '8h', '4s']], [N3.UMAXP, 'umaxp', ['16b', '4s']], [N3.UMINP, 'uminp', ['8h', '4s']],
    ];
    const LOGIC: [N3, string][] = [[N3.AND, 'and'], [N3.BIC, 'bic'], [N3.ORN, 'orn'], [N3.EOR, 'eor'], [N3.BSL, 'bsl'], [N3.BIT, 'bit'], [N3.BIF, 'bif']];
    const cases: Case[] = [];
    for (const [op, mn, arrs] of OPS) {
      for (const name of arrs) {
        const arr = ARRS.find((x) => x[1] === name)![0];
        for (const [d, s, m] of TRIPLES) cases.push({ emit: (b) => n.n3(b, op, arr, d, s, m), text: `${mn} ${V(d, name)}, ${V(s, name)}, ${V(m, name)}` });
      }
    }
    for (const [op, mn] of LOGIC) {
      for (const [arr, name] of [[Arr.B8, '8b'], [Arr.B16, '16b']] as [Arr, string][]) {
        for (const [d, s, m] of TRIPLES) cases.push({ emit: (b) => n.n3(b, op, arr, d, s, m), text: `${mn} ${V(d, name)}, ${V(s, name)}, ${V(m, name)}` });
      }
    }
    // orr is mov when both sources are one register
    for (const [d, s, m] of TRIPLES) {
      cases.push({ emit: (b) => n.n3(b, N3.ORR, Arr.B16, d, s, m), text: s === m ? `mov ${V(d, '16b')}, ${V(s, '16b')}` : `orr ${V(d, '16b')}, ${V(s, '16b')}, ${V(m, '16b')}` });
    }
    for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.vmov(b, d, s), text: `mov ${V(d, '16b')}, ${V(s, '16b')}` });
    run('n3', cases);
  });

  test('three registers (float)', () => {
    const OPS: [F3, string][] = [
      [F3.FADD, 'fadd'], [F3.FSUB, 'fsub'], [F3.FMUL, 'fmul'], [F3.FDIV, 'fdiv'], [F3.FMAX, 'fmax'], [F3.FMIN, 'fmin'],
      [F3.FCMEQ, 'fcmeq'], [F3.FCMGE, 'fcmge'], [F3.FCMGT, 'fcmgt'], [F3.FADDP, 'faddp'],
    ];
    const cases: Case[] = [];
    for (const [op, mn] of OPS) {
      for (const [arr, name] of FARRS) {
        for (const [d, s, m] of TRIPLES) cases.push({ emit: (b) => n.f3(b, op, arr, d, s, m), text: `${mn} ${V(d, name)}, ${V(s, name)}, ${V(m, name)}` });
      }
    }
    run('f3', cases);
  });

  test('two registers (misc), across lanes, long', () => {
    const cases: Case[] = [];
    const same: [N2, string, string[]][] = [
      [N2.REV64, 'rev64', ['16b', '8h', '4s']], [N2.CNT, 'cnt', ['8b', '16b']], [N2.ABS, 'abs', ['16b', '8h', '4s', '2d']], [N2.NEG, 'neg', ['16b', '8h', '4s', '2d']],
    ];
    for (const [op, mn, arrs] of same) {
      for (const name of arrs) {
        const arr = ARRS.find((x) => x[1] === name)![0];
        for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.n2(b, op, arr, d, s), text: `${mn} ${V(d, name)}, ${V(s, name)}` });
      }
    }
    for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.n2(b, N2.NOT, Arr.B16, d, s), text: `mvn ${V(d, '16b')}, ${V(s, '16b')}` });
    const zero: [N2, string][] = [[N2.CMGT0, 'cmgt'], [N2.CMEQ0, 'cmeq'], [N2.CMLT0, 'cmlt'], [N2.CMGE0, 'cmge'], [N2.CMLE0, 'cmle']];
    for (const [op, mn] of zero) {
      for (const [arr, name] of [[Arr.B16, '16b'], [Arr.S4, '4s'], [Arr.D2, '2d']] as [Arr, string][]) {
        for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.n2(b, op, arr, d, s), text: `${mn} ${V(d, name)}, ${V(s, name)}, #0` });
      }
    }
    // pairwise long: the result's lanes twice as wide as the arrangement's
    for (const [op, mn] of [[N2.SADDLP, 'saddlp'], [N2.UADDLP, 'uaddlp']] as [N2, string][]) {
      for (let log2 = 0; log2 < 3; log2++) {
        for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.n2(b, op, n.arrOf(log2), d, s), text: `${mn} ${V(d, QARR[log2 + 1])}, ${V(s, QARR[log2])}` });
      }
    }
    // narrowing: the arrangement is the result's (low half; with Q the high half, "2")
    for (const [op, mn] of [[N2.XTN, 'xtn'], [N2.SQXTN, 'sqxtn'], [N2.UQXTN, 'uqxtn'], [N2.SQXTUN, 'sqxtun']] as [N2, string][]) {
      for (let log2 = 0; log2 < 3; log2++) {
        for (const [d, s] of PAIRS) {
          cases.push({ emit: (b) => n.n2(b, op, n.halfArrOf(log2), d, s), text: `${mn} ${V(d, HARR[log2])}, ${V(s, QARR[log2 + 1])}` });
          cases.push({ emit: (b) => n.n2(b, op, n.arrOf(log2), d, s), text: `${mn}2 ${V(d, QARR[log2])}, ${V(s, QARR[log2 + 1])}` });
        }
      }
    }
    for (const [d, s] of PAIRS) {
      cases.push({ emit: (b) => n.n2(b, N2.SHLL, Arr.S2, d, s), text: `shll ${V(d, '2d')}, ${V(s, '2s')}, #32` });
      cases.push({ emit: (b) => n.n2(b, N2.SHLL, Arr.B8, d, s), text: `shll ${V(d, '8h')}, ${V(s, '8b')}, #8` });
      cases.push({ emit: (b) => n.n2(b, N2.FCVTN, FArr.S2, d, s), text: `fcvtn ${V(d, '2s')}, ${V(s, '2d')}` });
      cases.push({ emit: (b) => n.n2(b, N2.FCVTL, FArr.S2, d, s), text: `fcvtl ${V(d, '2d')}, ${V(s, '2s')}` });
    }
    const float: [N2, string][] = [
      [N2.FRINTN, 'frintn'], [N2.FRINTM, 'frintm'], [N2.FRINTP, 'frintp'], [N2.FRINTZ, 'frintz'], [N2.FABS, 'fabs'], [N2.FNEG, 'fneg'], [N2.FSQRT, 'fsqrt'],
      [N2.SCVTF, 'scvtf'], [N2.UCVTF, 'ucvtf'], [N2.FCVTZS, 'fcvtzs'], [N2.FCVTZU, 'fcvtzu'],
    ];
    for (const [op, mn] of float) {
      for (const [arr, name] of FARRS) for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.n2(b, op, arr, d, s), text: `${mn} ${V(d, name)}, ${V(s, name)}` });
    }
    const across: [NAcross, string][] = [[NAcross.ADDV, 'addv'], [NAcross.UMAXV, 'umaxv'], [NAcross.UMINV, 'uminv'], [NAcross.SMAXV, 'smaxv'], [NAcross.SMINV, 'sminv']];
    for (const [op, mn] of across) {
      for (const [arr, name, scalar] of [[Arr.B16, '16b', 'b'], [Arr.H8, '8h', 'h'], [Arr.S4, '4s', 's']] as [Arr, string, string][]) {
        for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.nAcross(b, op, arr, d, s), text: `${mn} ${scalar}${d}, ${V(s, name)}` });
      }
    }
    const long: [NLong, string][] = [[NLong.SMULL, 'smull'], [NLong.UMULL, 'umull'], [NLong.SMLAL, 'smlal'], [NLong.UMLAL, 'umlal']];
    for (const [op, mn] of long) {
      for (let log2 = 0; log2 < 3; log2++) {
        for (const [d, s, m] of TRIPLES) {
          cases.push({ emit: (b) => n.nLong(b, op, n.halfArrOf(log2), d, s, m), text: `${mn} ${V(d, QARR[log2 + 1])}, ${V(s, HARR[log2])}, ${V(m, HARR[log2])}` });
          cases.push({ emit: (b) => n.nLong(b, op, n.arrOf(log2), d, s, m), text: `${mn}2 ${V(d, QARR[log2 + 1])}, ${V(s, QARR[log2])}, ${V(m, QARR[log2])}` });
        }
      }
    }
    for (const [d, s] of PAIRS) cases.push({ emit: (b) => n.addpScalar(b, d, s), text: `addp d${d}, ${V(s, '2d')}` });
    run('n2', cases);
  });

  test('shifts by an immediate, every amount', () => {
    const cases: Case[] = [];
    for (let log2 = 0; log2 < 4; log2++) {
      const bits = 8 << log2;
      for (let s = 0; s <= bits; s++) {
        const r = (s * 7 + log2) & 31, d = (s * 3 + 1) & 31;
        if (s >= 1) {
          cases.push({ emit: (b) => n.nShift(b, NShift.SSHR, true, log2, d, r, s), text: `sshr ${V(d, QARR[log2])}, ${V(r, QARR[log2])}, ${imm(s)}` });
          cases.push({ emit: (b) => n.nShift(b, NShift.USHR, true, log2, d, r, s), text: `ushr ${V(d, QARR[log2])}, ${V(r, QARR[log2])}, ${imm(s)}` });
        }
        if (s < bits) cases.push({ emit: (b) => n.nShift(b, NShift.SHL, true, log2, d, r, s), text: `shl ${V(d, QARR[log2])}, ${V(r, QARR[log2])}, ${imm(s)}` });
        if (s < bits && log2 < 3) {
          // widening (a shift of 0: sxtl, uxtl)
          for (const [op, mn] of [[NShift.SSHLL, 'sshll'], [NShift.USHLL, 'ushll']] as [NShift, string][]) {
            cases.push({
              emit: (b) => n.nShift(b, op, false, log2, d, r, s),
              text: `${mn} ${V(d, QARR[log2 + 1])}, ${V(r, HARR[log2])}, ${imm(s)}`,
            });
            cases.push({
              emit: (b) => n.nShift(b, op, true, log2, d, r, s),
              text: `${mn}2 ${V(d, QARR[log2 + 1])}, ${V(r, QARR[log2])}, ${imm(s)}`,
            });
          }
        }
      }
    }
    run('nShift', cases);
    expect(() => n.nShift(new CodeBuffer(16), NShift.SSHR, true, 0, 0, 0, 0)).toThrow(/vector shift/);
    expect(() => n.nShift(new CodeBuffer(16), NShift.SHL, true, 2, 0, 0, 32)).toThrow(/vector shift/);
  });

  test('lanes: dup, umov, smov, ins, every lane', () => {
    const cases: Case[] = [];
    for (let log2 = 0; log2 < 4; log2++) {
      const lanes = 16 >> log2;
      for (let i = 0; i < lanes; i++) {
        const d = (i * 5 + log2) & 31, s = (i * 11 + 3) & 31, g = (i * 3 + log2) % 31;
        const gr = log2 === 3 ? `x${g}` : `w${g}`;
        cases.push({ emit: (b) => n.dupElement(b, true, log2, d, s, i), text: `dup ${V(d, QARR[log2])}, ${L(s, log2, i)}` });
        cases.push({ emit: (b) => n.dupScalar(b, log2, d, s, i), text: `mov ${LANE[log2]}${d}, ${L(s, log2, i)}` });
        // umov of 32- and 64-bit lanes is printed as mov
        cases.push({ emit: (b) => n.umov(b, log2, g, s, i), text: `${log2 >= 2 ? 'mov' : 'umov'} ${gr}, ${L(s, log2, i)}` });
        if (log2 < 2) cases.push({ emit: (b) => n.smov(b, log2, g, s, i), text: `smov w${g}, ${L(s, log2, i)}` });
        cases.push({ emit: (b) => n.insGeneral(b, log2, d, i, g), text: `mov ${L(d, log2, i)}, ${gr}` });
        const j = (i * 7 + 1) % lanes;
        cases.push({ emit: (b) => n.insElement(b, log2, d, i, s, j), text: `mov ${L(d, log2, i)}, ${L(s, log2, j)}` });
      }
      for (const g of [0, 7, 30]) {
        cases.push({ emit: (b) => n.dupGeneral(b, true, log2, 5, g), text: `dup ${V(5, QARR[log2])}, ${log2 === 3 ? 'x' : 'w'}${g}` });
        if (log2 < 3) cases.push({ emit: (b) => n.dupGeneral(b, false, log2, 6, g), text: `dup ${V(6, HARR[log2])}, w${g}` });
      }
    }
    run('lanes', cases);
    expect(() => n.umov(new CodeBuffer(16), 2, 0, 0, 4)).toThrow(/lane index/);
    expect(() => n.insElement(new CodeBuffer(16), 3, 0, 0, 0, 2)).toThrow(/lane index/);
  });

  test('tbl, permutes, ext, movi', () => {
    const cases: Case[] = [];
    for (const [d, s, m] of TRIPLES) {
      for (let k = 1; k <= 4; k++) {
        const list = Array.from({ length: k }, (_, j) => V((s + j) & 31, '16b')).join(', ');
        cases.push({ emit: (b) => n.tbl(b, d, s, k, m), text: `tbl ${V(d, '16b')}, {${list}}, ${V(m, '16b')}` });
      }
      for (const [op, mn] of [[NPerm.UZP1, 'uzp1'], [NPerm.TRN1, 'trn1'], [NPerm.ZIP1, 'zip1'], [NPerm.UZP2, 'uzp2'], [NPerm.TRN2, 'trn2'], [NPerm.ZIP2, 'zip2']] as [NPerm, string][]) {
        for (const [arr, name] of [[Arr.B16, '16b'], [Arr.H8, '8h'], [Arr.S4, '4s'], [Arr.D2, '2d']] as [Arr, string][]) {
          cases.push({ emit: (b) => n.perm(b, op, arr, d, s, m), text: `${mn} ${V(d, name)}, ${V(s, name)}, ${V(m, name)}` });
        }
      }
      const idx = (d + m) & 15;
      cases.push({ emit: (b) => n.ext(b, d, s, m, idx), text: `ext ${V(d, '16b')}, ${V(s, '16b')}, ${V(m, '16b')}, ${imm(idx)}` });
    }
    for (let v = 0; v < 256; v++) {
      const r = v & 31;
      cases.push({ emit: (b) => n.moviBytes(b, r, v), text: `movi ${V(r, '16b')}, ${imm(v)}` });
      let mask = 0n;
      for (let k = 0; k < 8; k++) if (v & (1 << k)) mask |= 0xffn << BigInt(8 * k);
      cases.push({ emit: (b) => n.moviByteMask(b, r, v), text: `movi ${V(r, '2d')}, ${mask === 0n ? '#0000000000000000' : `#0x${mask.toString(16).padStart(14, '0')}`}` });
    }
    run('permute', cases);
  });

  test('lane loads and stores, ld1r', () => {
    const cases: Case[] = [];
    for (let log2 = 0; log2 < 4; log2++) {
      for (let i = 0; i < 16 >> log2; i++) {
        const t = (i * 3 + log2) & 31, rn = (i * 5 + 2) & 31;
        const base = rn === 31 ? 'sp' : `x${rn}`;
        cases.push({ emit: (b) => n.ldst1Lane(b, true, log2, t, i, rn), text: `ld1 {${V(t, LANE[log2])}}[${num(i)}], [${base}]` });
        cases.push({ emit: (b) => n.ldst1Lane(b, false, log2, t, i, rn), text: `st1 {${V(t, LANE[log2])}}[${num(i)}], [${base}]` });
      }
      for (const r of REGS.filter((k) => k % 5 === 0)) cases.push({ emit: (b) => n.ld1r(b, log2, r, (r + 1) & 31), text: `ld1r {${V(r, QARR[log2])}}, [${((r + 1) & 31) === 31 ? 'sp' : `x${(r + 1) & 31}`}]` });
    }
    run('ldst1', cases);
  });

  test('every exported encoder has cases', () => {
    const covered = ['arrOf', 'halfArrOf', 'n3', 'f3', 'n2', 'nAcross', 'nLong', 'nShift', 'dupElement', 'dupGeneral', 'dupScalar', 'umov', 'smov',
      'insGeneral', 'insElement', 'tbl', 'perm', 'ext', 'moviBytes', 'moviByteMask', 'vmov', 'addpScalar', 'ldst1Lane', 'ld1r'];
    const exported = Object.keys(n).filter((k) => typeof (n as Record<string, unknown>)[k] === 'function').sort();
    expect(exported.filter((k) => !covered.includes(k))).toEqual([]);
  });
});
