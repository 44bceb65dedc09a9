/**
 * The encoders that decide encodability, checked exhaustively: logical (bitmask) immediates against
 * the enumeration of all 5334 64-bit and 1302 32-bit patterns (and capstone on every one), the
 * constant materialiser against an emulation of MOVZ/MOVN/MOVK/ORR and a brute-force minimum
 * over those sequences, and FMOV immediates against all 256 values.
 */
import { CodeBuffer } from '@wagc/frontend';
import * as a from '../src/encode';
import {
  WIDTHS, zr, sp, F, imm, rand, randInt, type Case, run, useCapstone, mask, BITMASKS, halves, moveWidePreferred, movWideText,
} from './capstone';

useCapstone();

describe('bitmask immediates', () => {
  test('the enumeration has 5334 64-bit and 1302 32-bit values', () => {
    expect(BITMASKS[8].size).toBe(5334);
    expect(BITMASKS[4].size).toBe(1302);
  });

  test('encodeBitmask finds the encoding of every logical immediate', () => {
    for (const w of WIDTHS) {
      const bad: string[] = [];
      for (const [v, enc] of BITMASKS[w]) {
        const [lo, hi] = halves(v);
        const got = a.encodeBitmask(w, lo, hi);
        if (got !== enc) bad.push(`${w} 0x${v.toString(16)}: ${got} != ${enc}`);
      }
      expect(bad.slice(0, 10)).toEqual([]);
    }
  });

  test('encodeBitmask refuses everything else', () => {
    const candidates: bigint[] = [0n, mask(64), mask(32), 0x5555n, 0x8000000000000001n, 0x123456789abcdef0n];
    const valids = [...BITMASKS[8].keys()];
    for (let k = 0; k < 200000; k++) {
      const r = (BigInt(rand()) << 32n) | BigInt(rand());
      candidates.push(r);
      // near misses: a valid pattern with one bit flipped, or two
      const valid = valids[k % valids.length];
      candidates.push(valid ^ (1n << BigInt(rand() & 63)));
      candidates.push(valid ^ (1n << BigInt(rand() & 63)) ^ (1n << BigInt(rand() & 63)));
    }
    for (const w of WIDTHS) {
      const bad: string[] = [];
      for (const c of candidates) {
        const v = c & mask(w * 8);
        const [lo, hi] = halves(v);
        const got = a.encodeBitmask(w, lo, w === 8 ? hi : rand() | 0); // hi must not matter for w = 4
        const want = BITMASKS[w].get(v) ?? -1;
        if (got !== want) bad.push(`${w} 0x${v.toString(16)}: ${got} != ${want}`);
      }
      expect(bad.slice(0, 10)).toEqual([]);
    }
  });

  test('logicImm: capstone agrees on every value', () => {
    const OPS: [a.Logic, string][] = [[a.Logic.AND, 'and'], [a.Logic.ORR, 'orr'], [a.Logic.EOR, 'eor'], [a.Logic.ANDS, 'ands']];
    for (const w of WIDTHS) {
      const cases: Case[] = [];
      let k = 0;
      for (const [v, enc] of BITMASKS[w]) {
        k++;
        for (let o = 0; o < OPS.length; o++) {
          const [op, mn] = OPS[o];
          const d = (k * 7 + 3) & 31, n = (k * 13 + o * 5) & 31;
          let text: string;
          // capstone quirk: the mov alias only for w registers, never for 64-bit ORR
          if (op === a.Logic.ORR && n === 31 && w === 4 && !moveWidePreferred(v, w)) text = `mov ${sp(w, d)}, ${imm(BigInt.asIntN(32, v))}`;
          // capstone quirk: 64-bit ANDS (and its tst alias) prints the immediate as signed
          else if (op === a.Logic.ANDS && d === 31) text = `tst ${zr(w, n)}, ${imm(w === 8 ? BigInt.asIntN(64, v) : v)}`;
          else if (op === a.Logic.ANDS) text = `ands ${zr(w, d)}, ${zr(w, n)}, ${imm(w === 8 ? BigInt.asIntN(64, v) : v)}`;
          else text = `${mn} ${sp(w, d)}, ${zr(w, n)}, ${imm(v)}`;
          cases.push({ emit: (b) => a.logicImm(b, op, w, d, n, enc), text });
        }
      }
      run('logicImm', cases);
    }
    const b = new CodeBuffer(16);
    expect(() => a.logicImm(b, a.Logic.BIC, 8, 0, 0, 0)).toThrow(/out of range/);
    expect(() => a.logicImm(b, a.Logic.AND, 4, 0, 0, 0x1000)).toThrow(/out of range/);
    expect(() => a.logicImm(b, a.Logic.AND, 8, 0, 0, -1)).toThrow(/out of range/);
  });
});

describe('movConst', () => {
  const DECODE: Record<number, Map<number, bigint>> = {
    4: new Map([...BITMASKS[4]].map(([v, enc]) => [enc, v])),
    8: new Map([...BITMASKS[8]].map(([v, enc]) => [enc, v])),
  };

  function emulate(words: number[], w: number, rd: number): bigint {
    const bits = w * 8;
    const decode = DECODE[w];
    let r = -1n;
    for (const word of words) {
      if (word >>> 31 !== (w === 8 ? 1 : 0) || (word & 31) !== rd) throw new Error(`wrong width or register in ${word.toString(16)}`);
      if ((word & 0x1f800000) === 0x12800000) {
        const opc = (word >>> 29) & 3;
        const sh = BigInt(((word >>> 21) & 3) * 16);
        const v = BigInt((word >>> 5) & 0xffff) << sh;
        if (opc === 0) r = ~v & mask(bits);
        else if (opc === 2) r = v;
        else if (opc === 3 && r >= 0n) r = (r & ~(0xffffn << sh)) | v;
        else throw new Error(`bad move-wide word ${word.toString(16)}`);
      } else if ((word & 0x7f8003e0) === 0x320003e0) {
        const v = decode.get((word >>> 10) & 0x1fff);
        if (v === undefined) throw new Error(`bad bitmask in ${word.toString(16)}`);
        r = v;
      } else {
        throw new Error(`unexpected word ${word.toString(16)}`);
      }
    }
    return r;
  }

  /** The fewest MOVZ/MOVN/ORR + MOVK instructions for each constant, by brute force over halfwords. */
  function optimalCount(v: bigint, w: number, near: Set<string>[]): number {
    const n = w / 2;
    const hw = Array.from({ length: n }, (_, k) => Number((v >> BigInt(16 * k)) & 0xffffn));
    const byMovz = Math.max(1, hw.filter((h) => h !== 0).length);
    const byMovn = Math.max(1, hw.filter((h) => h !== 0xffff).length);
    let byOrr = 99;
    if (BITMASKS[w].has(v)) byOrr = 1;
    else if (near[0].has(keyWithout(v, [0, 1, 2, 3].slice(0, n), w))) byOrr = 99;
    for (let k = 0; k < n && byOrr > 2; k++) if (near[1].has(keyWithout(v, [k], w))) byOrr = 2;
    for (let k = 0; k < n && byOrr > 3; k++) for (let j = k + 1; j < n; j++) if (near[2].has(keyWithout(v, [k, j], w))) byOrr = 3;
    return Math.min(byMovz, byMovn, byOrr);
  }

  function keyWithout(v: bigint, ks: number[], w: number): string {
    let m = v;
    for (const k of ks) m &= ~(0xffffn << BigInt(16 * k));
    return `${w}:${ks.join(',')}:${m.toString(16)}`;
  }

  /** Bitmask values with one (near[1]) or two (near[2]) halfwords blanked, keyed by which. */
  function nearBitmasks(w: number): Set<string>[] {
    const near = [new Set<string>(), new Set<string>(), new Set<string>()];
    const n = w / 2;
    for (const v of BITMASKS[w].keys()) {
      for (let k = 0; k < n; k++) {
        near[1].add(keyWithout(v, [k], w));
        for (let j = k + 1; j < n; j++) near[2].add(keyWithout(v, [k, j], w));
      }
    }
    return near;
  }

  test('movConst: emulated values, fewest instructions, capstone text', () => {
    for (const w of WIDTHS) {
      const bits = w * 8;
      const near = nearBitmasks(w);
      const values: bigint[] = [0n, 1n, mask(bits), 0xffffn, 0x10000n, 0xffff0000n, 0x12345678n, 0x80000000n, 0x7fffffffn,
        0xffffffffn, 0x100000000n, 0xffffffff00000000n, 0x123456789abcdef0n, 0x8000000000000000n, 0xaaaaaaaaaaaaaaaan,
        0x00ff00ff00ff1234n, 0x00000ffffff01234n, 0x1234ffff5678ffffn, 0xffff1234ffff5678n, 0x0f0f12340f0f5678n];
      const bitmaskList = [...BITMASKS[w].keys()];
      const randHalf = (): bigint => BigInt([0, 0xffff, randInt(0x10000), randInt(0x10000)][randInt(4)]);
      for (let k = 0; k < 15000; k++) {
        let v = 0n;
        switch (k % 4) {
          case 0: v = (BigInt(rand()) << 32n) | BigInt(rand()); break;
          case 1: for (let h = 0; h < 4; h++) v |= randHalf() << BigInt(16 * h); break;
          default: {
            v = bitmaskList[randInt(bitmaskList.length)];
            for (let r = 0; r < (k % 4) - 1; r++) {
              const sh = BigInt(16 * randInt(w / 2));
              v = (v & ~(0xffffn << sh)) | (BigInt(randInt(0x10000)) << sh);
            }
          }
        }
        values.push(v);
      }
      const cases: Case[] = [];
      const bad: string[] = [];
      values.forEach((v0, k) => {
        const v = v0 & mask(bits);
        const [lo, hi] = halves(v);
        const rd = k % 31;
        const b = new CodeBuffer(32);
        a.movConst(b, w, rd, lo, w === 4 ? rand() | 0 : hi); // hi ignored for w = 4
        const words: number[] = [];
        for (let p = 0; p < b.pos; p += 4) words.push(b.read32(p) >>> 0);
        const got = emulate(words, w, rd);
        const best = optimalCount(v, w, near);
        const count = a.movConstCount(w, lo, hi);
        if (got !== v || words.length !== best || count !== best) {
          bad.push(`w${w} 0x${v.toString(16)}: got 0x${got.toString(16)} in ${words.length} (count says ${count}), best ${best}`);
        }
        if (k % 8 === 0) {
          const text = words.map((word) => ((word & 0x1f800000) === 0x12800000
            ? movWideText(((word & 0x60000000) >>> 0) as a.MovWide, w, rd, (word >>> 5) & 0xffff, ((word >>> 21) & 3) * 16)
            : (moveWidePreferred(emulate([word], w, rd), w) || w === 8 ? `orr ${sp(w, rd)}, ${zr(w, 31)}, ${imm(emulate([word], w, rd))}` : `mov ${sp(w, rd)}, ${imm(BigInt.asIntN(32, emulate([word], w, rd)))}`)));
          cases.push({ emit: (bb) => a.movConst(bb, w, rd, lo, hi), text: text.join(' ; ') });
        }
      });
      expect(bad.slice(0, 10)).toEqual([]);
      run('movConst', cases);
    }
  });
});
describe('float immediates', () => {
  const SZ = [4, 8];

  /** The value an FMOV imm8 stands for (ARM ARM VFPExpandImm). */
  function fpImmValue(imm8: number): number {
    const sign = imm8 & 0x80 ? -1 : 1;
    const b6 = (imm8 >> 6) & 1;
    const exp = b6 ? ((imm8 >> 4) & 3) - 3 : ((imm8 >> 4) & 3) + 1;
    return sign * ((16 + (imm8 & 15)) / 16) * 2 ** exp;
  }

  function bitsOf(sz: number, v: number): [number, number] {
    const dv = new DataView(new ArrayBuffer(8));
    if (sz === 4) {
      dv.setFloat32(0, v, true);
      return [dv.getInt32(0, true), 0];
    }
    dv.setFloat64(0, v, true);
    return [dv.getInt32(0, true), dv.getInt32(4, true)];
  }

  test('encodeFpImm: all 256 immediates, and nothing else', () => {
    const values = new Map<number, number>();
    for (let imm8 = 0; imm8 < 256; imm8++) values.set(fpImmValue(imm8), imm8);
    expect(values.size).toBe(256);
    for (const sz of SZ) {
      for (const [v, imm8] of values) {
        const [lo, hi] = bitsOf(sz, v);
        expect(a.encodeFpImm(sz, lo, hi)).toBe(imm8);
      }
      const others = [0, -0, 0.1, 1 / 3, 0.0625, 32, 62, -0.1171875, Infinity, -Infinity, NaN, 1e300, 2 ** -20, 1.03125];
      for (let k = 0; k < 20000; k++) {
        const dv = new DataView(new ArrayBuffer(8));
        dv.setUint32(0, rand(), true);
        dv.setUint32(4, k % 2 ? rand() : rand() & 0xffff0000, true);
        others.push(sz === 4 ? dv.getFloat32(0, true) : dv.getFloat64(0, true));
      }
      const bad: number[] = [];
      for (const v of others) {
        if (values.has(v) && !Object.is(v, -0)) continue;
        const [lo, hi] = bitsOf(sz, v);
        if (a.encodeFpImm(sz, lo, hi) !== -1) bad.push(v);
      }
      expect(bad).toEqual([]);
      // low bits of a double that would otherwise match
      expect(a.encodeFpImm(8, 1, bitsOf(8, 1)[1])).toBe(-1);
    }
  });

  test('fmovImm: capstone agrees on all 256', () => {
    const cases: Case[] = [];
    for (const sz of SZ) for (let imm8 = 0; imm8 < 256; imm8++) {
      const d = (imm8 * 7) & 31;
      cases.push({ emit: (b) => a.fmovImm(b, sz, d, imm8), text: `fmov ${F(sz, d)}, #${fpImmValue(imm8).toFixed(8)}` });
    }
    run('fmovImm', cases);
    expect(() => a.fmovImm(new CodeBuffer(4), 8, 0, 256)).toThrow(/out of range/);
  });
});
